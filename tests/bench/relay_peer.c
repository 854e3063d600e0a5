/* relay_peer.c — one relay of a standalone rvcontrol, through libpeer
 * (relay_setup.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "peer/peer_int.h"
#include "tests/bench/relay_setup.h"

struct accept_job {
	struct rvp *p;
	uint32_t timeout_ms;
	struct rvp_conn *conn;
	int rc;
};

static void *accept_thread(void *arg)
{
	struct accept_job *j = arg;

	j->rc = rvp_accept(j->p, (int)j->timeout_ms, &j->conn);
	return NULL;
}

/* A peer with no NAT (loopback), authenticated and registered. */
static int peer_up(const struct rv_addr *srv, const char *key, uint32_t timeout_ms,
                   struct rvp **out, char *err, size_t errlen)
{
	struct rvp_conf conf = { .server = *srv,
		                 .timeout_ms = timeout_ms,
		                 .relay_first = true,
		                 .upgrade_ms = UINT32_MAX,
		                 .nat = { .type = RV_NAT_NONE, .flags = RV_NAT_FLAG_DIRECT } };
	int rc = rvp_device_load(key, conf.device_id, sizeof(conf.device_id), conf.device_sk, err,
	                         errlen);

	if (rc < 0)
		return rc;
	*out = rvp_create(&conf);
	if (!*out) {
		snprintf(err, errlen, "rvp_create: %s", strerror(errno));
		return -errno;
	}
	rc = rvp_auth(*out);
	if (rc >= 0)
		rc = rvp_register(*out);
	if (rc < 0)
		snprintf(err, errlen, "%s: auth/register: %s", key, rvp_strerror(rc));
	return rc < 0 ? rc : 0;
}

/* The connection's socket, taken over: connected to the relay, big buffers. */
static int take(const struct rvp_conn *c, struct bench_relay_side *out, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->to.port) };
	int big = 8 << 20;

	if (!c->relayed || c->to.family != RV_AF_INET) {
		snprintf(err, errlen, "the connection is not relayed (rvcontrol --relay-mb 0?)");
		return -EPROTO;
	}
	memcpy(&sa.sin_addr, c->to.ip, 4);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "connect to the relay: %s", strerror(errno));
		return -errno;
	}
	out->fd = c->fd;
	out->channel = c->relay.channel;
	return 0;
}

int bench_relay_rvcontrol(const struct rv_addr *srv, const char *key_a, const char *key_b,
                          uint32_t timeout_ms, struct bench_relay_side out[2], char *err,
                          size_t errlen)
{
	/* Never freed: rvp_free would close the sockets rvflood now owns. */
	static struct rvp *a, *b;
	struct accept_job j = { .timeout_ms = timeout_ms };
	struct rvp_conn *ca = NULL;
	pthread_t t;
	int rc;

	rc = peer_up(srv, key_a, timeout_ms, &a, err, errlen);
	if (rc == 0)
		rc = peer_up(srv, key_b, timeout_ms, &b, err, errlen);
	if (rc < 0)
		return rc;
	j.p = b;
	rc = -pthread_create(&t, NULL, accept_thread, &j);
	if (rc < 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(-rc));
		return rc;
	}
	rc = rvp_connect(a, rvp_locator(b), &ca);
	pthread_join(t, NULL);
	if (rc < 0 || j.rc < 0) {
		snprintf(err, errlen, "relayed connect: %s / accept: %s", rvp_strerror(rc),
		         rvp_strerror(j.rc));
		return rc < 0 ? rc : j.rc;
	}
	rc = take(ca, &out[0], err, errlen);
	return rc < 0 ? rc : take(j.conn, &out[1], err, errlen);
}
