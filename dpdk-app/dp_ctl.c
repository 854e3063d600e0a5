/* dp_ctl.c — rvdp's control thread on the main lcore (dp_app.h).
 *
 * The only thread that touches sockets and the only table writer: it
 * forwards punted packets to rvcontrol, turns rvcontrol's SENDs into frames
 * for an lcore's TX ring, applies session and relay updates and the relay
 * binds the lcores verified, answers observation and relay queries,
 * expires sessions and relays, and watches --max-idle-ms. It is a QSBR
 * thread, offline while it blocks in poll().
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <urcu-qsbr.h>

#include "dp_app.h"
#include "proto/dpctl.h"
#include "proto/rv_err.h"
#include "proto/rv_buf.h"

#define PUNT_BATCH 64
#define RECV_BATCH 256

static void logf_(const struct dp_app *app, bool always, const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;
	struct tm tm;

	if (!always && !app->conf.verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld rvdp: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	        ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct ctl {
	struct dp_app *app;
	int lfd;  /* listening socket */
	int conn; /* rvcontrol, or -1 */
	uint8_t buf[RV_DPC_MAX_MSG];
};

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A stale socket from a killed rvdp: replace it, but never a file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void send_msg(struct ctl *c, const struct rv_dpc *m)
{
	int n = rv_dpc_encode(m, c->buf, sizeof(c->buf));

	if (n < 0 || c->conn < 0)
		return;
	/* Never block the control loop on a slow rvcontrol: drop instead. */
	if (send(c->conn, c->buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    c->app->conf.verbose)
		logf_(c->app, false, "send %s to rvcontrol: %s", rv_dpc_type_str(m->type),
		      strerror(errno));
}

static void hello(struct ctl *c)
{
	struct rv_dpc m = { .type = RV_DPC_HELLO };
	const struct dp_addrs *a = &c->app->addrs;

	m.src = rv_addr_v4(a->ip[0], a->port[0]);
	m.dst = rv_addr_v4(a->ip[1], a->port[1]);
	send_msg(c, &m);
}

/* Forward a punted frame. It passed dp_pkt_handle, so its headers are a
 * valid Ethernet/IPv4/UDP without options. */
static void punt(struct ctl *c, struct rte_mbuf *mb)
{
	const uint8_t *f = rte_pktmbuf_mtod(mb, const uint8_t *);
	struct rv_dpc m = { .type = RV_DPC_PUNT };

	memcpy(m.path.mac, f + 6, 6);
	m.path.port = mb->port;
	m.path.queue = 0;
	m.src = rv_addr_v4(rv_get_u32(f + 26), rv_get_u16(f + 34));
	m.dst = rv_addr_v4(rv_get_u32(f + 30), rv_get_u16(f + 36));
	m.payload = f + 42;
	m.payload_len = (uint16_t)(rv_get_u16(f + 38) - 8);
	if (c->conn >= 0) {
		send_msg(c, &m);
		c->app->punt_sent++;
	} else {
		c->app->punt_no_control++;
	}
	rte_pktmbuf_free(mb);
}

/* A bind an lcore verified: the side's endpoint and index entry. */
static void relay_bind(struct ctl *c, const struct dp_ctl_msg *b)
{
	struct dp_app *app = c->app;
	int rc = dp_relay_bind(app->relays, b->relay, b->side, b->ip, b->port,
	                       dp_app_ms(app, rte_rdtsc()));
	struct rv_addr at = rv_addr_v4(b->ip, b->port);
	char s[RV_ADDR_STRLEN];

	if (rc == 0) {
		app->relay_rebound++;
		return;
	}
	if (rc == -ENOENT) {
		app->relay_bind_gone++; /* deleted between the check and now */
		return;
	}
	if (rc < 0) {
		logf_(app, true, "relay %016llx: bind: %s", (unsigned long long)b->relay,
		      strerror(-rc));
		return;
	}
	app->relay_bound++;
	logf_(app, false, "relay %016llx: side %u bound at %s", (unsigned long long)b->relay,
	      b->side, rv_addr_fmt(&at, s, sizeof(s)));
}

/* What the lcores handed over: punted frames and relay binds, in order. */
static unsigned drain_punts(struct ctl *c)
{
	struct dp_ctl_msg ms[PUNT_BATCH];
	unsigned n = rte_ring_sc_dequeue_burst_elem(c->app->punt_ring, ms, sizeof(ms[0]),
	                                            PUNT_BATCH, NULL);

	for (unsigned i = 0; i < n; i++) {
		if (ms[i].type == DP_MSG_BIND)
			relay_bind(c, &ms[i]);
		else
			punt(c, ms[i].m);
	}
	return n;
}

static bool ours(const struct dp_addrs *a, const struct rv_addr *src)
{
	uint32_t ip = rv_addr_v4_host(src);

	return src->family == RV_AF_INET && (ip == a->ip[0] || ip == a->ip[1]) &&
	       (src->port == a->port[0] || src->port == a->port[1]);
}

static void do_send(struct ctl *c, const struct rv_dpc *m)
{
	struct dp_app *app = c->app;
	struct rte_mbuf *mb;
	struct dp_lcore *l;
	int n;

	/* rvcontrol may only speak from our public addresses, to IPv4. */
	if (!ours(&app->addrs, &m->src) || m->dst.family != RV_AF_INET) {
		app->send_bad++;
		return;
	}
	mb = rte_pktmbuf_alloc(app->pool);
	if (!mb) {
		app->send_bad++;
		return;
	}
	n = dp_pkt_build_udp(rte_pktmbuf_mtod(mb, uint8_t *), rte_pktmbuf_tailroom(mb),
	                     app->addrs.mac, m->path.mac, &m->src, &m->dst, m->payload,
	                     m->payload_len);
	l = &app->lcores[m->path.queue < app->n_lcores ? m->path.queue : 0];
	if (n < 0 || (size_t)n - 14 > app->conf.mtu || rte_ring_sp_enqueue(l->tx_ring, mb) != 0) {
		rte_pktmbuf_free(mb);
		app->send_bad++;
		return;
	}
	mb->data_len = (uint16_t)n;
	mb->pkt_len = (uint32_t)n;
	app->send_ok++;
}

static void do_obs(struct ctl *c, const struct rv_dpc *q)
{
	struct dp_obs obs[DP_OBS_RING];
	struct rv_dpc r = { .type = RV_DPC_OBS_REPLY, .seq = q->seq, .session = q->session };
	int n = dp_table_obs(c->app->table, q->session, obs, DP_OBS_RING);

	r.status = n < 0 ? n : 0;
	for (int i = 0; i < n && i < RV_DPC_MAX_OBS; i++) {
		r.obs[i] = (struct rv_dpc_obs){ obs[i].t_ms, obs[i].ip, obs[i].port, obs[i].seq,
			                        obs[i].kind };
		r.n_obs++;
	}
	send_msg(c, &r);
}

static void relay_set(struct ctl *c, const struct rv_dpc *m)
{
	struct dp_relay_grant g = { .relay = m->session,
		                    .channel = m->channel,
		                    .quota = { .expires_ms = m->expires_ms,
		                               .bytes = m->quota_bytes,
		                               .rate_pps = m->rate_pps,
		                               .burst = m->burst } };

	memcpy(g.key, m->key, sizeof(g.key));
	if (dp_relay_set(c->app->relays, &g, dp_app_ms(c->app, rte_rdtsc())) < 0)
		logf_(c->app, true, "relay %016llx: out of memory", (unsigned long long)m->session);
	else
		logf_(c->app, false, "relay %016llx: channel %#x, %llu bytes, until %llu",
		      (unsigned long long)m->session, m->channel,
		      (unsigned long long)m->quota_bytes, (unsigned long long)m->expires_ms);
}

static void relay_query(struct ctl *c, const struct rv_dpc *q)
{
	struct rv_dpc r = { .type = RV_DPC_RELAY_REPLY, .seq = q->seq, .session = q->session };

	r.status = dp_relay_query(c->app->relays, q->session, dp_app_ms(c->app, rte_rdtsc()),
	                          r.side, &r.relay_flags);
	send_msg(c, &r);
}

static void handle(struct ctl *c, const uint8_t *buf, size_t len)
{
	struct dp_app *app = c->app;
	struct rv_dpc m;
	int rc = rv_dpc_decode(buf, len, &m);

	app->ctl_msgs++;
	if (rc < 0) {
		app->ctl_bad++;
		logf_(app, true, "bad message from rvcontrol: %s", rv_strerror(rc));
		return;
	}
	switch (m.type) {
	case RV_DPC_SEND:
		do_send(c, &m);
		break;
	case RV_DPC_SESSION_SET:
		if (dp_table_set(app->table, m.session, m.key, m.expires_ms, m.rate_pps, m.burst) <
		    0)
			logf_(app, true, "session %016llx: out of memory",
			      (unsigned long long)m.session);
		break;
	case RV_DPC_SESSION_DEL:
		(void)dp_table_del(app->table, m.session);
		break;
	case RV_DPC_FLUSH: {
		size_t sessions = dp_table_flush(app->table);

		logf_(app, true, "rvcontrol flushed %zu sessions and %zu relays", sessions,
		      dp_relay_flush(app->relays));
		break;
	}
	case RV_DPC_RELAY_SET:
		relay_set(c, &m);
		break;
	case RV_DPC_RELAY_DEL:
		if (dp_relay_del(app->relays, m.session) == 0)
			logf_(app, false, "relay %016llx: deleted", (unsigned long long)m.session);
		break;
	case RV_DPC_RELAY_QUERY:
		relay_query(c, &m);
		break;
	case RV_DPC_OBS_QUERY:
		do_obs(c, &m);
		break;
	case RV_DPC_HELLO:
		logf_(app, true, "rvcontrol says hello");
		break;
	default:
		app->ctl_bad++;
		logf_(app, true, "unexpected %s from rvcontrol", rv_dpc_type_str(m.type));
	}
}

static void read_conn(struct ctl *c)
{
	for (int i = 0; i < RECV_BATCH; i++) {
		ssize_t n = recv(c->conn, c->buf, sizeof(c->buf), MSG_DONTWAIT);

		if (n > 0) {
			handle(c, c->buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		logf_(c->app, true, "rvcontrol disconnected%s%s", n < 0 ? ": " : "",
		      n < 0 ? strerror(errno) : "");
		close(c->conn);
		c->conn = -1;
		return;
	}
}

static void accept_conn(struct ctl *c)
{
	int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (c->conn >= 0) {
		logf_(c->app, true, "a new rvcontrol connection replaces the old one");
		close(c->conn);
	} else {
		logf_(c->app, true, "rvcontrol connected");
	}
	c->conn = fd;
	hello(c);
}

static uint64_t last_rx(const struct dp_app *app)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < app->n_lcores; i++)
		if (app->lcores[i].last_rx_tsc > t)
			t = app->lcores[i].last_rx_tsc;
	return t;
}

int dp_ctl_run(struct dp_app *app)
{
	struct ctl c = { .app = app, .conn = -1 };
	uint64_t next_tick = 0;

	c.lfd = listen_on(app->conf.control);
	if (c.lfd < 0) {
		logf_(app, true, "cannot listen on '%s': %s", app->conf.control, strerror(-c.lfd));
		return c.lfd;
	}
	logf_(app, true, "control socket %s (waiting for rvcontrol; probes are answered meanwhile)",
	      app->conf.control);
	while (!app->quit) {
		struct pollfd pfd[2] = { { c.lfd, POLLIN, 0 }, { c.conn, POLLIN, 0 } };
		unsigned punted = drain_punts(&c);
		uint64_t tsc = rte_rdtsc();

		/* Offline around blocking: QSBR writers never wait on us. */
		urcu_qsbr_thread_offline();
		(void)poll(pfd, c.conn >= 0 ? 2 : 1, punted ? 0 : 1);
		urcu_qsbr_thread_online();
		if (pfd[0].revents & POLLIN)
			accept_conn(&c);
		if (c.conn >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_conn(&c);
		if (tsc >= next_tick) {
			uint64_t now_ms = dp_app_ms(app, tsc);
			size_t gone = dp_table_expire(app->table, now_ms);

			if (gone)
				logf_(app, false, "%zu sessions expired", gone);
			gone = dp_relay_expire(app->relays, now_ms);
			if (gone)
				logf_(app, false, "%zu relays expired", gone);
			if (app->conf.max_idle_ms &&
			    (tsc - last_rx(app)) * 1000 / app->tsc_hz >= app->conf.max_idle_ms) {
				logf_(app, true, "no packet for %u ms: exiting (--max-idle-ms)",
				      app->conf.max_idle_ms);
				app->quit = true;
			}
			next_tick = tsc + app->tsc_hz / 20;
		}
		urcu_qsbr_quiescent_state();
	}
	drain_punts(&c);
	if (c.conn >= 0)
		close(c.conn);
	close(c.lfd);
	unlink(app->conf.control);
	return 0;
}
