/* rvflood — a kernel-socket STUN Binding flood: what an operator's STUN
 * server (coturn) faces, measured the way rvgen measures rvdp; or a
 * ChannelData flood through a kernel-socket relay.
 *
 *   rvflood --server 127.0.0.1:3478 [--sockets N] [load options]
 *   rvflood --server IP:PORT --relay rvcontrol --peer-keys A,B [--data-bytes N]
 *   rvflood --server IP:PORT --relay turn --turn-user U:P --turn-realm R [...]
 *
 * Minimum-size Binding requests (20 bytes, as pktgen-scenarios'
 * binding-flood) in bursts with sendmmsg over N connected UDP sockets, the
 * answers drained with recvmmsg; each request carries its due time in the
 * transaction ID (gen_pkt.h's stamp), so the answers time themselves.
 * With --relay, the two sockets are the two sides of one relay
 * (relay_setup.h) and each sends ChannelData of --data-bytes to the other,
 * in turn (both directions, as the relay scenarios send to rvdp); the
 * stamp is in the first 12 data bytes, and what the other side receives
 * is the answer. The runs, the RFC 2544 search and the report are rvgen's
 * (gen_drive.h, gen_report.h): the same flags, the same JSON.
 * Exit: 0 done, 1 failure (no server, socket error), 2 bad options.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "dpdk-app/gen_conf.h"
#include "dpdk-app/gen_drive.h"
#include "dpdk-app/gen_pkt.h"
#include "proto/relay.h"
#include "proto/rv_addr.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/relay_setup.h"

#define MAX_SOCKETS 64
#define RX_BATCH    64
#define REQ_LEN     20
#define DATA_MAX    1400
#define TMPL_MAX    (RV_RELAY_HDR + DATA_MAX)
#define RX_LEN      2048

struct flood_conf {
	struct gen_load load; /* first: GEN_LOAD_OPTS address it at offset 0 */
	char server[64];
	uint32_t sockets;
	char relay[16]; /* "": STUN Binding; "rvcontrol" or "turn" */
	uint32_t data_bytes;
	char peer_keys[512]; /* rvcontrol: two device key files, A,B */
	char turn_user[128]; /* turn: USER:PASS */
	char turn_realm[128];
};

#define O(field)  offsetof(struct flood_conf, field)
#define SZ(field) (uint32_t)sizeof(((struct flood_conf *)0)->field)

static const struct rv_opt opts[] = {
	{ "config", 'c', RV_OPT_CONFIG, 0, 0, 0, 0, NULL, "FILE",
	  "read settings from FILE (key = value; flags override it)" },
	{ "server", 'S', RV_OPT_STR, SZ(server), O(server), 0, 0, NULL, "IP:PORT",
	  "the STUN server (IPv4)" },
	{ "sockets", 0, RV_OPT_UINT, SZ(sockets), O(sockets), 1, MAX_SOCKETS, NULL, "N",
	  "UDP sockets (source ports) to send from, in turn" },
	{ "relay", 0, RV_OPT_STR, SZ(relay), O(relay), 0, 0, NULL, "KIND",
	  "flood ChannelData through a relay instead: rvcontrol (standalone) or turn (coturn)" },
	{ "data-bytes", 0, RV_OPT_UINT, SZ(data_bytes), O(data_bytes), 12, DATA_MAX, NULL, "N",
	  "--relay: ChannelData data bytes (the stamp takes 12)" },
	{ "peer-keys", 0, RV_OPT_STR, SZ(peer_keys), O(peer_keys), 0, 0, NULL, "A,B",
	  "--relay rvcontrol: the two sides' device key files (rvpeer device-keygen)" },
	{ "turn-user", 0, RV_OPT_STR, SZ(turn_user), O(turn_user), 0, 0, NULL, "USER:PASS",
	  "--relay turn: long-term credentials" },
	{ "turn-realm", 0, RV_OPT_STR, SZ(turn_realm), O(turn_realm), 0, 0, NULL, "REALM",
	  "--relay turn: the server's realm" },
	GEN_LOAD_OPTS,
	{ 0 },
};

struct flood {
	int fd[MAX_SOCKETS];
	unsigned n_fd, next;
	uint16_t burst;
	/* What socket s sends, and where in it the stamp goes. */
	uint8_t tmpl[MAX_SOCKETS][TMPL_MAX];
	uint16_t tmpl_len[MAX_SOCKETS], stamp_off;
	uint8_t req[GEN_MAX_BURST][TMPL_MAX];
	struct iovec tx_iov[GEN_MAX_BURST];
	struct mmsghdr tx[GEN_MAX_BURST];
	uint8_t rx_buf[RX_BATCH][RX_LEN];
	struct iovec rx_iov[RX_BATCH];
	struct mmsghdr rx[RX_BATCH];
};

/* The message vectors over req[] and rx_buf[]. */
static void init_vectors(struct flood *f)
{
	for (unsigned i = 0; i < GEN_MAX_BURST; i++) {
		f->tx_iov[i] = (struct iovec){ f->req[i], REQ_LEN };
		f->tx[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &f->tx_iov[i],
			                                  .msg_iovlen = 1 } };
	}
	for (unsigned i = 0; i < RX_BATCH; i++) {
		f->rx_iov[i] = (struct iovec){ f->rx_buf[i], RX_LEN };
		f->rx[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &f->rx_iov[i],
			                                  .msg_iovlen = 1 } };
	}
}

static int open_sockets(struct flood *f, const struct rv_addr *srv, unsigned n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(srv->port) };
	int big = 8 << 20;

	memcpy(&sa.sin_addr, srv->ip, 4);
	for (f->n_fd = 0; f->n_fd < n; f->n_fd++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		uint8_t *q = f->tmpl[f->n_fd];

		if (fd < 0)
			return -errno;
		f->fd[f->n_fd] = fd;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
		memset(q, 0, REQ_LEN); /* Binding request, no attributes */
		q[1] = 0x01;
		q[4] = 0x21, q[5] = 0x12, q[6] = 0xa4, q[7] = 0x42;
		f->tmpl_len[f->n_fd] = REQ_LEN;
	}
	f->stamp_off = 8; /* the transaction ID */
	return 0;
}

/* The two sides of one relay: each sends ChannelData of n data bytes on
 * its channel (zeros but for the stamp: the relay does not read them). */
static int open_relay(struct flood *f, const struct flood_conf *c, const struct rv_addr *srv,
                      char *err, size_t errlen)
{
	struct bench_relay_side side[2];
	char keys[sizeof(c->peer_keys)], *pass;
	char user[sizeof(c->turn_user)];
	int rc;

	if (!strcmp(c->relay, "rvcontrol")) {
		char *b;

		memcpy(keys, c->peer_keys, sizeof(keys));
		b = strchr(keys, ',');
		if (!b) {
			snprintf(err, errlen, "'peer-keys': want A,B (two device key files)");
			return -EINVAL;
		}
		*b++ = 0;
		rc = bench_relay_rvcontrol(srv, keys, b, 10000, side, err, errlen);
	} else if (!strcmp(c->relay, "turn")) {
		memcpy(user, c->turn_user, sizeof(user));
		pass = strchr(user, ':');
		if (!pass || !c->turn_realm[0]) {
			snprintf(err, errlen, "'turn-user' USER:PASS and 'turn-realm' are needed");
			return -EINVAL;
		}
		*pass++ = 0;
		rc = bench_relay_turn(srv, user, pass, c->turn_realm, 10000, side, err, errlen);
	} else {
		snprintf(err, errlen, "'relay': '%s' is not rvcontrol or turn", c->relay);
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	for (f->n_fd = 0; f->n_fd < 2; f->n_fd++) {
		f->fd[f->n_fd] = side[f->n_fd].fd;
		memset(f->tmpl[f->n_fd], 0, TMPL_MAX);
		rv_relay_put_hdr(f->tmpl[f->n_fd], side[f->n_fd].channel, (uint16_t)c->data_bytes);
		f->tmpl_len[f->n_fd] = (uint16_t)(RV_RELAY_HDR + c->data_bytes);
	}
	f->stamp_off = RV_RELAY_HDR;
	return 0;
}

/* Drain every socket once; a refused send comes back here as ECONNREFUSED
 * (ICMP port unreachable: nobody listens). */
static int receive(struct flood *f, struct gen_result *r, struct gen_hist *h)
{
	for (unsigned s = 0; s < f->n_fd; s++) {
		int n = recvmmsg(f->fd[s], f->rx, RX_BATCH, MSG_DONTWAIT, NULL);
		uint64_t now, t;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		now = bench_now_ns();
		for (int i = 0; i < n; i++) {
			const uint8_t *id = gen_payload_id(f->rx_buf[i], f->rx[i].msg_len);

			r->rx_bytes += f->rx[i].msg_len;
			if (id && gen_txid_stamp(id, &t))
				gen_hist_add(h, now > t ? now - t : 0);
		}
		r->answered += (uint64_t)n;
	}
	return 0;
}

/* want copies of the next socket's template, stamped with their due
 * times (t, then every ns_per_pkt), in one sendmmsg. */
static int send_burst(struct flood *f, unsigned want, uint64_t t, double ns_per_pkt)
{
	unsigned s = f->next;

	for (unsigned i = 0; i < want; i++) {
		memcpy(f->req[i], f->tmpl[s], f->tmpl_len[s]);
		f->tx_iov[i].iov_len = f->tmpl_len[s];
		gen_stamp_write(f->req[i] + f->stamp_off, t + (uint64_t)((double)i * ns_per_pkt));
	}
	return sendmmsg(f->fd[s], f->tx, want, MSG_DONTWAIT);
}

static int trial(void *ctx, double rate, double secs, double drain, struct gen_result *r,
                 struct gen_hist *h)
{
	struct flood *f = ctx;
	uint64_t t0 = bench_now_ns(), now = t0, end = t0 + (uint64_t)(secs * 1e9);
	double ns_per_pkt = rate > 0 ? 1e9 / rate : 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	gen_hist_reset(h);
	r->rate = rate;
	while (now < end && rc == 0) {
		unsigned want = f->burst;
		int n;

		if (bench_quit)
			return -EINTR;
		if (rate > 0) {
			uint64_t due = (uint64_t)((double)(now - t0) / ns_per_pkt);

			want = due > r->offered
			               ? (unsigned)(due - r->offered < f->burst ? due - r->offered
			                                                        : f->burst)
			               : 0;
		}
		if (want) {
			n = send_burst(f, want,
			               rate > 0 ? t0 + (uint64_t)((double)r->offered * ns_per_pkt)
			                        : now,
			               ns_per_pkt);
			if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
				rc = -errno;
			r->offered += want;
			r->sent += n > 0 ? (uint64_t)n : 0;
			r->tx_bytes += n > 0 ? (uint64_t)n * f->tmpl_len[f->next] : 0;
			f->next = (f->next + 1) % f->n_fd;
		}
		if (rc == 0)
			rc = receive(f, r, h);
		now = bench_now_ns();
	}
	r->secs = (double)(now - t0) / 1e9;
	end = now + (uint64_t)(drain * 1e9);
	while (rc == 0 && bench_now_ns() < end && !bench_quit)
		rc = receive(f, r, h);
	gen_result_latency(r, h, 1e9);
	return rc;
}

static void usage(const struct flood_conf *def)
{
	char help[8192];

	rv_conf_help(opts, def, help, sizeof(help));
	printf("usage: rvflood --server IP:PORT [options]\n\n"
	       "A kernel-socket STUN Binding flood (sendmmsg/recvmmsg): loads a STUN server\n"
	       "such as coturn the way rvgen loads rvdp — or, with --relay, a ChannelData\n"
	       "flood both ways through one relay of a standalone rvcontrol or of coturn\n"
	       "(TURN) — and reports the same figures —\n"
	       "offered / sent / answered pps, loss, latency p50 / p99 / p99.9, each the\n"
	       "median [min..max] of --runs — or the RFC 2544 no-loss rate with --search.\n\n"
	       "Options (also keys of the --config file; flags win):\n%s",
	       help);
}

int main(int argc, char **argv)
{
	static struct flood f;
	struct flood_conf c = { .sockets = 4, .data_bytes = 16 };
	struct rv_addr srv;
	char err[256] = "";
	int rc, first;

	gen_load_defaults(&c.load);
	snprintf(c.server, sizeof(c.server), "127.0.0.1:3478");
	rc = rv_conf_args(opts, &c, argc, argv, &gen_conf_file_loader, &first, err, sizeof(err));
	if (rc == 1) {
		usage(&c);
		return 0;
	}
	if (rc == 0 && first < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[first]);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = gen_load_check(&c.load, err, sizeof(err));
	if (rc == 0 && (rv_addr_parse(c.server, 3478, &srv) < 0 || srv.family != RV_AF_INET)) {
		snprintf(err, sizeof(err), "'server': '%s' is not IPv4:PORT", c.server);
		rc = -EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "rvflood: %s (see rvflood --help)\n", err);
		return 2;
	}
	bench_signals();
	f.burst = c.load.burst;
	init_vectors(&f);
	if (c.relay[0]) {
		rc = open_relay(&f, &c, &srv, err, sizeof(err));
	} else {
		rc = open_sockets(&f, &srv, c.sockets);
		if (rc < 0)
			snprintf(err, sizeof(err), "sockets to %s: %s", c.server, strerror(-rc));
	}
	if (rc == 0) {
		struct gen_report_info info = { .tool = "rvflood",
			                        .scenario = c.relay[0] ? "relay" : "binding-flood",
			                        .target = c.server,
			                        .expect = c.load.expect_v,
			                        .frames = 1,
			                        .stamped = 1 };

		rc = gen_drive_all(&c.load, trial, &f, &info, stdout, err, sizeof(err));
	}
	if (rc < 0 && rc != -EINTR)
		fprintf(stderr, "rvflood: %s\n", err);
	for (unsigned i = 0; i < f.n_fd; i++)
		close(f.fd[i]);
	return rc < 0 && rc != -EINTR ? 1 : 0;
}
