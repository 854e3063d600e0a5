/* rvbenchctl — the benchmark's stand-in for rvcontrol on rvdp's --control
 * socket (proto/dpctl.h): fills the sessions table fast, installs relays,
 * then may stay connected and count what rvdp punts.
 *
 *   rvbenchctl --control PATH [--sessions N] [--relays K] [--seed S]
 *              [--hold-ms N] [--json]
 *
 * 1. connects (waiting for rvdp to listen) and reads its HELLO;
 * 2. sends SESSION_SET for sessions 0..N-1 of --seed (sessions.h: the
 *    probe scenarios sign with the same ones), sendmmsg in batches; then
 *    RELAY_SET for relays 0..K-1: relay r is session r's ID and key (the
 *    relay scenario binds with them), channel 0x4000 + r % 4096, no
 *    quota but the expiry — binding is the scenario's job (its probes
 *    come from the endpoints rvdp must see);
 * 3. fences with an OBS_QUERY: rvdp handles messages in order, so its
 *    OBS_REPLY means every session is in the table;
 * 4. with --hold-ms, stays until then (or SIGINT/SIGTERM) counting PUNTs:
 *    the control-trickle scenario checks the punt path keeps up.
 * Exit: 0 done, 1 failure (rvdp gone, socket error), 2 bad options.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dpdk-app/gen_conf.h"
#include "proto/dpctl.h"
#include "proto/rv_err.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/sessions.h"

#define BATCH   256
#define MSG_MAX 64 /* a SESSION_SET is 48 bytes, a RELAY_SET 60 */

struct ctl_conf {
	char control[108];
	uint64_t sessions, relays, seed, first;
	uint32_t expires_s, hold_ms, wait_ms;
	bool json;
};

#define O(field)  offsetof(struct ctl_conf, field)
#define SZ(field) (uint32_t)sizeof(((struct ctl_conf *)0)->field)

static const struct rv_opt opts[] = {
	{ "control", 's', RV_OPT_STR, SZ(control), O(control), 0, 0, NULL, "PATH",
	  "rvdp's --control socket (required)" },
	{ "sessions", 'n', RV_OPT_UINT, SZ(sessions), O(sessions), 0, 100000000, NULL, "N",
	  "sessions to install" },
	{ "relays", 'r', RV_OPT_UINT, SZ(relays), O(relays), 0, 1000000, NULL, "K",
	  "relays to install (RELAY_SET, unbound)" },
	{ "seed", 0, RV_OPT_UINT, SZ(seed), O(seed), 0, UINT32_MAX, NULL, "S",
	  "which sessions (pktgen-scenarios use 7)" },
	{ "first", 0, RV_OPT_UINT, SZ(first), O(first), 0, 100000000, NULL, "I",
	  "index of the first session" },
	{ "expires-s", 0, RV_OPT_UINT, SZ(expires_s), O(expires_s), 1, 30 * 86400, NULL, "N",
	  "sessions live this long" },
	{ "hold-ms", 0, RV_OPT_UINT, SZ(hold_ms), O(hold_ms), 0, UINT32_MAX, NULL, "N",
	  "then stay this long (or until SIGTERM) counting PUNTs" },
	{ "wait-ms", 0, RV_OPT_UINT, SZ(wait_ms), O(wait_ms), 0, 600000, NULL, "N",
	  "wait this long for rvdp's socket, and for each answer" },
	{ "json", 'j', RV_OPT_BOOL, SZ(json), O(json), 0, 0, NULL, NULL, "print JSON" },
	{ 0 },
};

struct tally {
	uint64_t sent; /* SESSION_SETs and RELAY_SETs rvdp took */
	double fill_s;
	uint64_t punts, punt_bytes, other;
	double held_s;
};

static double now_s(void)
{
	return (double)bench_now_ns() / 1e9;
}

static int connect_to(const char *path, uint32_t wait_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double until = now_s() + wait_ms / 1000.0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), e;

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED) || now_s() >= until || bench_quit)
			return -e;
		usleep(20000);
	}
}

/* One message from rvdp, decoded; PUNTs and others met on the way to a
 * wanted type are tallied. Returns 0, -ETIMEDOUT, -EPIPE or a decode error. */
static int recv_msg(int fd, int timeout_ms, struct rv_dpc *m, struct tally *t)
{
	static uint8_t buf[RV_DPC_MAX_MSG];
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;
	int rc = poll(&p, 1, timeout_ms);

	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	rc = rv_dpc_decode(buf, (size_t)n, m);
	if (rc < 0)
		return rc;
	if (m->type == RV_DPC_PUNT) {
		t->punts++;
		t->punt_bytes += m->payload_len;
	} else if (m->type != RV_DPC_HELLO && m->type != RV_DPC_OBS_REPLY) {
		t->other++;
	}
	return 0;
}

/* Wait for a message of type (and seq, when non-zero). */
static int expect(int fd, uint8_t type, uint32_t seq, int timeout_ms, struct tally *t)
{
	struct rv_dpc m;
	int rc;

	do {
		rc = recv_msg(fd, timeout_ms, &m, t);
	} while (rc == 0 && (m.type != type || (seq && m.seq != seq)));
	return rc;
}

/* Message i of a fill: a session or a relay of c->seed. */
typedef void (*fill_msg_fn)(const struct ctl_conf *c, uint64_t i, struct rv_dpc *m);

static void session_msg(const struct ctl_conf *c, uint64_t i, struct rv_dpc *m)
{
	m->type = RV_DPC_SESSION_SET;
	bench_session(c->seed, c->first + i, &m->session, m->key);
}

static void relay_msg(const struct ctl_conf *c, uint64_t i, struct rv_dpc *m)
{
	m->type = RV_DPC_RELAY_SET;
	bench_session(c->seed, c->first + i, &m->session, m->key);
	m->channel = (uint16_t)(0x4000u + (c->first + i) % 4096u);
}

static int fill(int fd, const struct ctl_conf *c, uint64_t n, fill_msg_fn msg, uint64_t expires_ms,
                uint32_t *seq, struct tally *t)
{
	static uint8_t bufs[BATCH][MSG_MAX];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	uint64_t i = 0;

	while (i < n && !bench_quit) {
		unsigned k = 0, sent = 0;

		for (; k < BATCH && i < n; k++, i++) {
			struct rv_dpc m = { .seq = ++*seq, .expires_ms = expires_ms };
			int len;

			msg(c, i, &m);
			len = rv_dpc_encode(&m, bufs[k], MSG_MAX);
			if (len < 0)
				return len;
			iov[k] = (struct iovec){ bufs[k], (size_t)len };
			mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k],
				                               .msg_iovlen = 1 } };
		}
		while (sent < k) { /* blocking: rvdp reads at its own pace */
			int n_sent = sendmmsg(fd, mm + sent, k - sent, 0);

			if (n_sent < 0 && errno != EINTR)
				return -errno;
			if (n_sent > 0) {
				sent += (unsigned)n_sent;
				t->sent += (unsigned)n_sent;
			}
			if (bench_quit)
				return -EINTR;
		}
	}
	return bench_quit ? -EINTR : 0;
}

static int fence(int fd, uint32_t *seq, uint32_t wait_ms, struct tally *t)
{
	uint8_t buf[RV_DPC_MAX_MSG];
	struct rv_dpc q = { .type = RV_DPC_OBS_QUERY, .seq = ++*seq, .session = 1 };
	int len = rv_dpc_encode(&q, buf, sizeof(buf));

	if (len < 0)
		return len;
	if (send(fd, buf, (size_t)len, 0) < 0)
		return -errno;
	return expect(fd, RV_DPC_OBS_REPLY, q.seq, (int)wait_ms, t);
}

static int hold(int fd, uint32_t hold_ms, struct tally *t)
{
	double t0 = now_s(), until = t0 + hold_ms / 1000.0;
	struct rv_dpc m;
	int rc = 0;

	while (!bench_quit && now_s() < until) {
		rc = recv_msg(fd, 50, &m, t);
		if (rc == -ETIMEDOUT || rc == -EINTR)
			rc = 0;
		else if (rc < 0)
			break;
	}
	t->held_s = now_s() - t0;
	return rc;
}

static void report(const struct ctl_conf *c, const struct tally *t, bool fenced)
{
	double rate = t->fill_s > 0 ? (double)t->sent / t->fill_s : 0;

	if (c->json) {
		printf("{\"tool\":\"rvbenchctl\",\"sessions\":%llu,\"relays\":%llu,"
		       "\"sent\":%llu,\"seed\":%llu,"
		       "\"fenced\":%s,"
		       "\"fill_s\":%.3f,\"fill_per_s\":%.0f,\"held_s\":%.3f,\"punts\":%llu,"
		       "\"punt_bytes\":%llu,\"other\":%llu}\n",
		       (unsigned long long)c->sessions, (unsigned long long)c->relays,
		       (unsigned long long)t->sent, (unsigned long long)c->seed,
		       fenced ? "true" : "false", t->fill_s, rate, t->held_s,
		       (unsigned long long)t->punts, (unsigned long long)t->punt_bytes,
		       (unsigned long long)t->other);
		return;
	}
	printf("rvbenchctl: %llu of %llu sessions + %llu relays (seed %llu) sent, %s, in %.2f s "
	       "(%.0f/s)\n",
	       (unsigned long long)t->sent, (unsigned long long)c->sessions,
	       (unsigned long long)c->relays, (unsigned long long)c->seed,
	       fenced ? "all in rvdp's table" : "NOT confirmed", t->fill_s, rate);
	if (c->hold_ms)
		printf("rvbenchctl: held %.2f s: %llu PUNTs (%llu payload bytes), %llu other\n",
		       t->held_s, (unsigned long long)t->punts, (unsigned long long)t->punt_bytes,
		       (unsigned long long)t->other);
}

int main(int argc, char **argv)
{
	struct ctl_conf c = { .expires_s = 86400, .wait_ms = 30000, .seed = 7 };
	struct tally t = { 0 };
	struct timespec wall;
	uint32_t seq = 0;
	uint64_t expires_ms;
	bool fenced = false;
	char err[256], help[4096];
	int fd, rc, first;
	double t0;

	rc = rv_conf_args(opts, &c, argc, argv, &gen_conf_file_loader, &first, err, sizeof(err));
	if (rc == 1) {
		rv_conf_help(opts, &c, help, sizeof(help));
		printf("usage: rvbenchctl --control PATH [options]\n\n"
		       "Stands in for rvcontrol on rvdp's control socket for the benchmark: "
		       "installs\n"
		       "sessions 0..N-1 of --seed (the probe scenarios' sessions) and relays\n"
		       "0..K-1 (the relay scenarios'), confirms them,\n"
		       "then may stay and count the control messages rvdp punts.\n\n%s",
		       help);
		return 0;
	}
	if (rc == 0 && first < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[first]);
		rc = -EINVAL;
	}
	if (rc == 0 && !c.control[0]) {
		snprintf(err, sizeof(err), "'control' is required");
		rc = -EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "rvbenchctl: %s (see rvbenchctl --help)\n", err);
		return 2;
	}
	bench_signals();
	fd = connect_to(c.control, c.wait_ms);
	if (fd < 0) {
		fprintf(stderr, "rvbenchctl: %s: %s\n", c.control, strerror(-fd));
		return 1;
	}
	rc = expect(fd, RV_DPC_HELLO, 0, (int)c.wait_ms, &t);
	clock_gettime(CLOCK_REALTIME, &wall);
	t0 = now_s();
	expires_ms = (uint64_t)wall.tv_sec * 1000 + (uint64_t)c.expires_s * 1000 +
	             (uint64_t)wall.tv_nsec / 1000000;
	if (rc == 0)
		rc = fill(fd, &c, c.sessions, session_msg, expires_ms, &seq, &t);
	if (rc == 0)
		rc = fill(fd, &c, c.relays, relay_msg, expires_ms, &seq, &t);
	if (rc == 0)
		rc = fence(fd, &seq, c.wait_ms, &t);
	fenced = rc == 0;
	t.fill_s = now_s() - t0;
	if (rc == 0 && c.hold_ms)
		rc = hold(fd, c.hold_ms, &t);
	report(&c, &t, fenced);
	close(fd);
	if (rc < 0 && rc != -EINTR) {
		fprintf(stderr, "rvbenchctl: %s\n",
		        rc == -EPIPE ? "rvdp closed the socket" : rv_strerror(rc));
		return 1;
	}
	return 0;
}
