/* ctl_server.c — rvcontrol's event loop (ctl_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "proto/dpctl.h"

#define BATCH    256  /* datagrams handled per transaction */
#define OUT_MAX  1024 /* answers queued until the commit */
#define TICK_MS  1000
#define RETRY_MS 1000
#define CKPT_MS  2000 /* most time between checkpoints under load */

struct pending {
	struct ctl_from to;
	uint16_t len;
	uint8_t buf[1500];
};

struct srv {
	struct ctl *c;
	int udp, dp;
	bool dp_waiting_logged;
	uint64_t dp_retry_ms;
	unsigned n_out;
	struct pending out[OUT_MAX];
	uint8_t dpbuf[RV_DPC_MAX_MSG];
	uint64_t dropped_out;
	struct ctl_resync rs; /* rvdp's tables being refilled, page by page */
	uint64_t rs_start_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void logmsg(const char *msg, const char *detail)
{
	fprintf(stderr, "rvcontrol: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
}

static void dp_write(struct srv *s, const struct rv_dpc *m)
{
	int n;

	if (s->dp < 0)
		return;
	n = rv_dpc_encode(m, s->dpbuf, sizeof(s->dpbuf));
	if (n < 0 || send(s->dp, s->dpbuf, (size_t)n, MSG_NOSIGNAL) < 0) {
		logmsg("lost the dataplane", n < 0 ? rv_strerror(n) : strerror(errno));
		close(s->dp);
		s->dp = -1;
		s->c->dp_connected = false;
	}
}

/* Sink: answers wait for the commit; messages for rvdp go straight out
 * (they acknowledge nothing to a peer). */
static void sink_send(void *ctx, const struct ctl_from *to, const uint8_t *buf, size_t len)
{
	struct srv *s = ctx;
	struct pending *p;

	if (s->n_out == OUT_MAX || len > sizeof(p->buf)) {
		s->dropped_out++;
		return;
	}
	p = &s->out[s->n_out++];
	p->to = *to;
	p->len = (uint16_t)len;
	memcpy(p->buf, buf, len);
}

static void sink_dp(void *ctx, const struct rv_dpc *m)
{
	dp_write(ctx, m);
}

static void flush_out(struct srv *s)
{
	for (unsigned i = 0; i < s->n_out; i++) {
		struct pending *p = &s->out[i];

		if (p->to.via_dp) {
			struct rv_dpc m = { .type = RV_DPC_SEND,
				            .path = p->to.path,
				            .src = p->to.local,
				            .dst = p->to.src,
				            .payload = p->buf,
				            .payload_len = p->len };
			dp_write(s, &m);
		} else if (s->udp >= 0 && p->to.src.family == RV_AF_INET) {
			struct sockaddr_in sa = { .sin_family = AF_INET,
				                  .sin_port = htons(p->to.src.port) };
			memcpy(&sa.sin_addr, p->to.src.ip, 4);
			(void)sendto(s->udp, p->buf, p->len, MSG_DONTWAIT, (struct sockaddr *)&sa,
			             sizeof(sa));
		}
	}
	s->n_out = 0;
}

static int open_udp(const struct ctl_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(conf->listen.port) };
	int fd, one = 1;

	if (conf->listen.family != RV_AF_INET) {
		snprintf(err, errlen, "'listen' must be an IPv4 address");
		return -EINVAL;
	}
	memcpy(&sa.sin_addr, conf->listen.ip, 4);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		char a[RV_ADDR_STRLEN];
		snprintf(err, errlen, "cannot listen on %s: %s",
		         rv_addr_fmt(&conf->listen, a, sizeof(a)), strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static void try_dataplane(struct srv *s, uint64_t now)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = s->c->conf.dataplane;
	int fd;

	if (!path[0] || s->dp >= 0 || now < s->dp_retry_ms)
		return;
	s->dp_retry_ms = now + RETRY_MS;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (!s->dp_waiting_logged)
			logmsg("waiting for rvdp", path);
		s->dp_waiting_logged = true;
		close(fd);
		return;
	}
	s->dp = fd;
	s->c->dp_connected = true;
	s->dp_waiting_logged = false;
	logmsg("connected to rvdp", path);
}

/* rvdp said hello (a new dataplane or a restarted one): tell it everything. */
/* rvdp said HELLO: answer, flush its tables, and start the replay. */
static void resync_begin(struct srv *s, uint64_t now)
{
	const struct ctl_sink sink = { sink_send, sink_dp, s };
	struct rv_dpc hello = { .type = RV_DPC_HELLO };

	dp_write(s, &hello);
	ctl_resync_begin(s->c, &s->rs, &sink);
	s->rs_start_ms = now;
}

/* One page of the replay per loop turn, between batches of answers. */
static void resync_step(struct srv *s, uint64_t now)
{
	const struct ctl_sink sink = { sink_send, sink_dp, s };
	char n[96];
	int rc;

	if (!s->rs.active)
		return;
	if (s->dp < 0) { /* gone again: its next HELLO starts over */
		s->rs.active = false;
		return;
	}
	rc = ctl_resync_step(s->c, &s->rs, now, &sink);
	if (rc < 0) {
		logmsg("could not repopulate rvdp", ctl_store_error(s->c->st));
	} else if (rc == 0) {
		snprintf(n, sizeof(n), "%" PRIu64 " live sessions in %" PRIu64 " ms", s->rs.pushed,
		         now_ms() - s->rs_start_ms);
		logmsg("rvdp repopulated", n);
	}
}

static unsigned read_udp(struct srv *s, uint64_t now, const struct ctl_sink *sink, unsigned max)
{
	const struct ctl_conf *conf = &s->c->conf;
	unsigned n = 0;

	while (n < max) {
		uint8_t buf[2048];
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t len = recvfrom(s->udp, buf, sizeof(buf), MSG_DONTWAIT,
		                       (struct sockaddr *)&sa, &sl);
		struct ctl_from from = { .via_dp = false };

		if (len < 0)
			break;
		n++;
		if (sa.sin_family != AF_INET)
			continue;
		from.src = rv_addr_v4(ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port));
		from.local = conf->public_addr.family ? conf->public_addr : conf->listen;
		ctl_handle(s->c, buf, (size_t)len, &from, now, sink);
	}
	return n;
}

static unsigned read_dp(struct srv *s, uint64_t now, const struct ctl_sink *sink, unsigned max,
                        bool *hello)
{
	unsigned n = 0;

	while (s->dp >= 0 && n < max) {
		uint8_t buf[RV_DPC_MAX_MSG];
		ssize_t len = recv(s->dp, buf, sizeof(buf), MSG_DONTWAIT);
		struct rv_dpc m;

		if (len == 0 || (len < 0 && errno != EAGAIN && errno != EINTR)) {
			logmsg("rvdp went away", len ? strerror(errno) : NULL);
			close(s->dp);
			s->dp = -1;
			s->c->dp_connected = false;
			break;
		}
		if (len < 0)
			break;
		n++;
		if (rv_dpc_decode(buf, (size_t)len, &m) < 0)
			continue;
		if (m.type == RV_DPC_HELLO) {
			*hello = true;
			s->c->dp_primary = m.src;
		} else if (m.type == RV_DPC_OBS_REPLY) {
			ctl_broker_obs(s->c, &m, now, sink);
		} else if (m.type == RV_DPC_RELAY_REPLY) {
			ctl_relay_reply(s->c, &m, now, sink);
		} else if (m.type == RV_DPC_PUNT) {
			struct ctl_from from = {
				.src = m.src, .local = m.dst, .path = m.path, .via_dp = true
			};
			ctl_handle(s->c, m.payload, m.payload_len, &from, now, sink);
		}
	}
	return n;
}

/* How long the loop may sleep: until the next tick, at most 200 ms, and not
 * at all while rvdp is being refilled. */
static int poll_ms(const struct srv *s, uint64_t next_tick, uint64_t now)
{
	if (s->rs.active || next_tick <= now)
		return 0;
	return next_tick - now < 200 ? (int)(next_tick - now) : 200;
}

int ctl_server_run(struct ctl *c, volatile sig_atomic_t *quit, char *err, size_t errlen)
{
	static struct srv s;
	const struct ctl_sink sink = { sink_send, sink_dp, &s };
	uint64_t next_tick = 0, idle_since = now_ms(), ckpt_at = idle_since;
	bool checkpointed = true;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.udp = s.dp = -1;
	if (c->conf.listen.family) {
		s.udp = open_udp(&c->conf, err, errlen);
		if (s.udp < 0)
			return s.udp;
	}
	while (!*quit) {
		struct pollfd pfd[2] = { { s.udp, POLLIN, 0 }, { s.dp, POLLIN, 0 } };
		uint64_t now = now_ms();
		bool hello = false;
		unsigned got;
		int rc;

		try_dataplane(&s, now);
		pfd[1].fd = s.dp;
		(void)poll(pfd, 2, poll_ms(&s, next_tick, now));
		now = now_ms();
		rc = ctl_store_begin(c->st);
		if (rc < 0) {
			logmsg("store unavailable", ctl_store_error(c->st));
			continue;
		}
		got = read_udp(&s, now, &sink, s.udp >= 0 ? BATCH : 0);
		got += read_dp(&s, now, &sink, BATCH, &hello);
		if (now >= next_tick) {
			ctl_tick(c, now, &sink);
			next_tick = now + TICK_MS;
		}
		if (ctl_store_commit(c->st) < 0) {
			/* Nothing of this batch is acknowledged: peers retransmit. */
			logmsg("commit failed, answers withheld", ctl_store_error(c->st));
			s.n_out = 0;
			continue;
		}
		flush_out(&s);
		if (hello)
			resync_begin(&s, now);
		resync_step(&s, now);
		if (got) {
			idle_since = now;
			checkpointed = false;
		}
		/* Checkpoint after a second of quiet, and at least every
		 * CKPT_MS under load: a server that is never idle (a million
		 * peers refreshing) would otherwise grow its WAL, and the
		 * recovery after a kill -9, without bound. */
		if (!checkpointed && (now - idle_since >= 1000 || now - ckpt_at >= CKPT_MS)) {
			(void)ctl_store_checkpoint(c->st);
			checkpointed = true;
			ckpt_at = now;
		}
	}
	if (s.udp >= 0)
		close(s.udp);
	if (s.dp >= 0)
		close(s.dp);
	return 0;
}
