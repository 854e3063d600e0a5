/* peer_classify.c — rvp_classify(): what kind of NAT is in front of us.
 *
 * Against the server's two addresses and two ports (RFC 5780 §4.3-4.4 and
 * the traversal document's Fig. 7-9, 30), with plain Binding requests so
 * any RFC 5780 server will do:
 *   mapping    one socket probes all four server addresses (Fig. 8);
 *   filtering  a second socket, which has only talked to the primary
 *              address, asks for answers from the other IP and port (Fig. 7)
 *              and from the other port (Fig. 9);
 *   allocation consecutive fresh sockets: preserving, sequential with Δ,
 *              random; and the ports other hosts took meanwhile;
 *   hops       TTL-limited requests: the first router answering from a
 *              public address is past our NAT, which is one hop before.
 * Every socket is on a local port of its own (peer_udp_open_fresh): one on
 * a port an earlier test used would meet that test's mapping.
 * The judging is proto's (classify.h, delta.h); this file only probes.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "peer_int.h"
#include "peer_net.h"
#include "proto/classify.h"
#include "proto/delta.h"
#include "proto/stun.h"

#define WAIT_MS   400
#define TRIES     3
#define ALLOC_N   6 /* the last one after BG_GAP_MS */
#define BG_GAP_MS 500
#define MAX_HOPS  8
#define SOFTWARE  "rvpeer (request padded to its answer's size)"

enum { ANSWERED = 1, SILENT = 0, EXPIRED = 2 };

struct answer {
	struct rv_addr mapped, other, origin, from, icmp_from;
};

/* One Binding transaction on fd. */
static int binding(int fd, const struct rv_addr *to, uint32_t change, int ttl, int tries,
                   struct answer *out)
{
	uint8_t req[128], buf[1500], txid[RV_STUN_TXID_LEN];
	struct rv_stun_enc e;
	int n;

	randombytes_buf(txid, sizeof(txid));
	rv_stun_enc_init(&e, req, sizeof(req), RV_STUN_BINDING, RV_STUN_REQUEST, txid);
	if (change)
		rv_stun_enc_u32(&e, RV_SA_CHANGE_REQUEST, change);
	/* As large as the answer (XOR-MAPPED, RESPONSE-ORIGIN, OTHER-ADDRESS,
	 * FINGERPRINT: 64 bytes), so a server's anti-amplification budget
	 * never holds our answers back — many devices behind one carrier NAT
	 * classify at once. */
	uint8_t *sw = rv_stun_enc_attr_reserve(&e, RV_SA_SOFTWARE, sizeof(SOFTWARE) - 1);
	if (sw)
		memcpy(sw, SOFTWARE, sizeof(SOFTWARE) - 1);
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	if (n < 0)
		return n;
	for (int t = 0; t < tries; t++) {
		uint64_t until = peer_now_ms() + WAIT_MS;

		if (peer_udp_send(fd, to, req, (size_t)n, ttl) < 0)
			return -errno;
		for (uint64_t now = peer_now_ms(); now < until; now = peer_now_ms()) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			struct rv_stun_msg m;
			struct rv_addr from;
			uint8_t type, code;
			ssize_t len;

			if (poll(&pfd, 1, (int)(until - now)) <= 0)
				continue;
			if (peer_udp_icmp(fd, &out->icmp_from, &type, &code) == 1) {
				if (type == 11) /* time exceeded */
					return EXPIRED;
				continue;
			}
			len = peer_udp_recv(fd, buf, sizeof(buf), &from);
			if (len < 0 || rv_stun_decode(buf, (size_t)len, 0, &m) < 0 ||
			    m.cls != RV_STUN_SUCCESS ||
			    memcmp(rv_stun_txid(&m), txid, sizeof(txid)))
				continue;
			if (rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &out->mapped) < 0)
				continue;
			out->from = from;
			if (rv_stun_get_addr(&m, RV_SA_OTHER_ADDRESS, &out->other) < 0)
				memset(&out->other, 0, sizeof(out->other));
			if (rv_stun_get_addr(&m, RV_SA_RESPONSE_ORIGIN, &out->origin) < 0)
				out->origin = from;
			return ANSWERED;
		}
	}
	return SILENT;
}

static bool private_ip(const struct rv_addr *a)
{
	uint32_t ip = rv_addr_v4_host(a);

	return (ip >> 24) == 10 || (ip >> 20) == 0xac1 || (ip >> 16) == 0xc0a8 ||
	       (ip >> 22) == (100u << 2 | 1) || (ip >> 16) == 0xa9fe || (ip >> 24) == 127;
}

/* Every socket of one classification on a port of its own (peer_net.h). */
static int fresh(struct rvp *p, struct peer_ports *used)
{
	return peer_udp_open_fresh(&p->conf.bind, used);
}

/* Fig. 8 / RFC 5780 mapping tests from one socket. */
static int mapping(struct rvp *p, struct peer_ports *used, struct rv_nat_obs *obs,
                   struct rv_addr srv[2][2])
{
	int fd = fresh(p, used), rc;
	struct answer a;

	if (fd < 0)
		return fd;
	/* The address we send from, to tell "no NAT" from a translation. */
	rc = peer_udp_source(fd, &srv[0][0], &obs->local);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	memset(&a, 0, sizeof(a));
	rc = binding(fd, &srv[0][0], 0, 0, TRIES, &a);
	obs->map[obs->n++] = (struct rv_map_obs){ 0, 0, rc == ANSWERED, a.mapped };
	if (rc != ANSWERED) {
		close(fd);
		return rc < 0 ? rc : 0;
	}
	if (!p->conf.server_alt.family && a.other.family == RV_AF_INET)
		p->conf.server_alt = a.other;
	if (!p->conf.server_alt.family) {
		close(fd);
		return -EPROTONOSUPPORT; /* not an RFC 5780 server */
	}
	srv[1][1] = p->conf.server_alt;
	srv[0][1] = srv[0][0];
	srv[0][1].port = srv[1][1].port;
	srv[1][0] = srv[1][1];
	srv[1][0].port = srv[0][0].port;
	for (int ip = 0; ip < 2; ip++)
		for (int port = 0; port < 2; port++) {
			if (!ip && !port)
				continue;
			memset(&a, 0, sizeof(a));
			rc = binding(fd, &srv[ip][port], 0, 0, TRIES, &a);
			obs->map[obs->n++] = (struct rv_map_obs){ (uint8_t)ip, (uint8_t)port,
				                                  rc == ANSWERED, a.mapped };
		}
	close(fd);
	return 1;
}

/* One filtering test: did an answer come from where we asked it to? A
 * server that ignores CHANGE-REQUEST answers from the primary, which
 * every NAT lets through, and tells nothing about the filter. */
static enum rv_seen change_test(int fd, struct rv_addr srv[2][2], uint32_t change)
{
	const struct rv_addr *want =
	        &srv[(change & RV_STUN_CHANGE_IP) ? 1 : 0][(change & RV_STUN_CHANGE_PORT) ? 1 : 0];
	struct answer a;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = binding(fd, &srv[0][0], change, 0, 2, &a);
	if (rc != ANSWERED)
		return RV_SEEN_NO;
	return rv_addr_eq(&a.from, want) ? RV_SEEN_YES : RV_SEEN_UNTESTED;
}

/* Fig. 7 and Fig. 9 from a socket that has only talked to the primary. */
static int filtering(struct rvp *p, struct peer_ports *used, struct rv_nat_obs *obs,
                     struct rv_addr srv[2][2])
{
	int fd = fresh(p, used), rc;
	struct answer a;

	if (fd < 0)
		return fd;
	rc = binding(fd, &srv[0][0], 0, 0, TRIES, &a);
	if (rc == ANSWERED) {
		obs->change_ip_port = change_test(fd, srv, RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT);
		obs->change_port = change_test(fd, srv, RV_STUN_CHANGE_PORT);
		if (obs->change_ip_port == RV_SEEN_UNTESTED || obs->change_port == RV_SEEN_UNTESTED)
			peer_log(p, "classify: the server answers CHANGE-REQUEST from the "
			            "wrong address: filtering unknown");
	}
	close(fd);
	return rc < 0 ? rc : 0;
}

static int allocation(struct rvp *p, struct peer_ports *used, const struct rv_addr *srv,
                      struct rv_alloc_result *out)
{
	struct rv_port_pair pairs[ALLOC_N];
	struct rv_port_space ps = rv_port_space_default();
	uint64_t t0 = peer_now_ms();
	size_t n = 0;

	for (int i = 0; i < ALLOC_N; i++) {
		int fd, rc;
		struct rv_addr local;
		struct answer a;

		/* Back-to-back probes show Δ cleanly; one more after a pause
		 * shows how many ports other hosts took meanwhile. */
		if (i == ALLOC_N - 1)
			(void)poll(NULL, 0, BG_GAP_MS);
		fd = fresh(p, used);

		if (fd < 0)
			return fd;
		(void)peer_udp_local(fd, &local);
		rc = binding(fd, srv, 0, 0, TRIES, &a);
		close(fd);
		if (rc == ANSWERED)
			pairs[n++] = (struct rv_port_pair){ local.port, a.mapped.port };
	}
	return rv_alloc_classify(&ps, pairs, n, (uint32_t)(peer_now_ms() - t0), 0, out);
}

/* TTL 1, 2, ...: the first time-exceeded from a public address comes from
 * the router just past our NAT. */
static int hops(struct rvp *p, struct peer_ports *used, const struct rv_addr *srv)
{
	int fd = fresh(p, used), found = 0;

	if (fd < 0)
		return 0;
	for (int ttl = 1; ttl <= MAX_HOPS && !found; ttl++) {
		struct answer a;
		int rc;

		memset(&a, 0, sizeof(a));
		rc = binding(fd, srv, 0, ttl, 1, &a);
		if (rc == ANSWERED || (rc == EXPIRED && !private_ip(&a.icmp_from)))
			found = ttl - 1 > 0 ? ttl - 1 : 1;
	}
	close(fd);
	return found;
}

int rvp_classify(struct rvp *p, struct rv_nat_info *out)
{
	struct rv_nat_obs obs;
	struct rv_nat_class cls;
	struct rv_alloc_result alloc;
	struct rv_addr srv[2][2];
	struct peer_ports used = { .n = 0 };
	int rc;

	memset(&obs, 0, sizeof(obs));
	memset(srv, 0, sizeof(srv));
	srv[0][0] = p->conf.server;
	peer_log(p, "classify: mapping tests against the server's two addresses and ports");
	rc = mapping(p, &used, &obs, srv);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		peer_log(p, "classify: filtering tests (answers from the other address/port)");
		rc = filtering(p, &used, &obs, srv);
		if (rc < 0)
			return rc;
	}
	rc = rv_nat_obs_classify(&obs, &cls);
	if (rc < 0 && rc != RV_ENODATA)
		return rc;
	memset(out, 0, sizeof(*out));
	out->type = (uint8_t)cls.type;
	out->map = (uint8_t)cls.map;
	out->filt = (uint8_t)cls.filt;
	if (cls.type == RV_NAT_BLOCKED) {
		p->nat = *out;
		return 0;
	}
	peer_log(p, "classify: allocation (%d fresh sockets)", ALLOC_N);
	if (allocation(p, &used, &srv[0][0], &alloc) == 0) {
		out->alloc = (uint8_t)alloc.alloc;
		out->delta = (int16_t)alloc.delta;
		out->bg_rate_x10 =
		        (uint16_t)(alloc.per_second * 10 > 65535 ? 65535 : alloc.per_second * 10);
	}
	out->hops = (uint8_t)(cls.type == RV_NAT_NONE ? 0 : hops(p, &used, &srv[0][0]));
	if (out->type == RV_NAT_NONE || out->type == RV_NAT_FULL_CONE)
		out->flags |= RV_NAT_FLAG_DIRECT;
	p->nat = *out;
	p->classified = true;
	peer_log(p,
	         "classify: %s (%s, %s), %s allocation, delta %d, other hosts %u.%u ports/s, "
	         "%u hop(s) to the NAT",
	         rv_nat_type_str(out->type), rv_map_str(out->map), rv_filt_str(out->filt),
	         rv_alloc_str(out->alloc), out->delta, out->bg_rate_x10 / 10, out->bg_rate_x10 % 10,
	         out->hops);
	return 0;
}
