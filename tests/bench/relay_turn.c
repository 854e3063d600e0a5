/* relay_turn.c — two TURN allocations bound to each other on a coturn
 * server (relay_setup.h; RFC 8656 §7 Allocate, §12 ChannelBind). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <sodium.h>

#include "proto/stun.h"
#include "tests/bench/relay_setup.h"

#define M_ALLOCATE     0x003
#define M_CHANNEL_BIND 0x009
#define A_CHANNEL      0x000C
#define A_LIFETIME     0x000D
#define A_PEER         0x0012
#define A_RELAYED      0x0016
#define A_TRANSPORT    0x0019
#define TURN_CHANNEL   0x4000u

struct turn {
	int fd;
	const char *user, *realm;
	uint8_t key[16]; /* MD5(user:realm:pass), RFC 8489 §9.2.2 */
	char nonce[128];
	uint32_t timeout_ms;
};

/* What a request carries besides its auth: the relayed peer for a bind. */
struct turn_req {
	uint16_t method;
	const struct rv_addr *peer; /* ChannelBind */
};

static int encode(const struct turn *t, const struct turn_req *q, uint8_t *buf, size_t cap)
{
	uint8_t txid[RV_STUN_TXID_LEN];
	struct rv_stun_enc e;

	randombytes_buf(txid, sizeof(txid));
	rv_stun_enc_init(&e, buf, cap, q->method, RV_STUN_REQUEST, txid);
	if (q->method == M_ALLOCATE) {
		rv_stun_enc_u32(&e, A_TRANSPORT, 17u << 24); /* UDP */
		rv_stun_enc_u32(&e, A_LIFETIME, 3600);
	} else {
		rv_stun_enc_u32(&e, A_CHANNEL, TURN_CHANNEL << 16);
		rv_stun_enc_addr(&e, A_PEER, q->peer, true);
	}
	if (t->nonce[0]) { /* the long-term mechanism, once the server named a nonce */
		rv_stun_enc_attr(&e, RV_SA_USERNAME, t->user, strlen(t->user));
		rv_stun_enc_attr(&e, RV_SA_REALM, t->realm, strlen(t->realm));
		rv_stun_enc_attr(&e, RV_SA_NONCE, t->nonce, strlen(t->nonce));
		rv_stun_enc_integrity(&e, t->key, sizeof(t->key));
	}
	return rv_stun_enc_finish(&e);
}

/* Send q and wait for its answer (any STUN message on the socket).
 * Returns the answer's length or a negative code. */
static int exchange(struct turn *t, const struct turn_req *q, uint8_t *rx, size_t cap,
                    struct rv_stun_msg *m)
{
	uint8_t tx[512];
	struct pollfd p = { t->fd, POLLIN, 0 };
	int n = encode(t, q, tx, sizeof(tx));
	ssize_t got;

	if (n < 0)
		return n;
	if (send(t->fd, tx, (size_t)n, 0) < 0)
		return -errno;
	n = poll(&p, 1, (int)t->timeout_ms);
	if (n <= 0)
		return n < 0 ? -errno : -ETIMEDOUT;
	got = recv(t->fd, rx, cap, 0);
	if (got < 0)
		return -errno;
	n = rv_stun_decode(rx, (size_t)got, 0, m);
	return n < 0 ? n : (int)got;
}

/* A request with the long-term mechanism: the first try learns the nonce
 * from a 401 (or a 438 stale nonce), the second carries it. */
static int request(struct turn *t, const struct turn_req *q, struct rv_stun_msg *m, uint8_t *rx,
                   size_t cap, char *err, size_t errlen)
{
	for (int tries = 0; tries < 3; tries++) {
		const struct rv_stun_attr *a;
		int code = 0, rc = exchange(t, q, rx, cap, m);
		const uint8_t *why;
		size_t why_len;

		if (rc < 0) {
			snprintf(err, errlen, "TURN method %#x: %s", q->method, strerror(-rc));
			return rc;
		}
		if (m->cls == RV_STUN_SUCCESS)
			return 0;
		(void)rv_stun_get_error(m, &code, &why, &why_len);
		a = rv_stun_find(m, RV_SA_NONCE);
		if ((code != 401 && code != 438) || !a || a->len >= sizeof(t->nonce)) {
			snprintf(err, errlen, "TURN method %#x: error %d", q->method, code);
			return -EACCES;
		}
		memcpy(t->nonce, rv_stun_value(m, a), a->len);
		t->nonce[a->len] = 0;
	}
	snprintf(err, errlen, "TURN method %#x: the credentials are refused", q->method);
	return -EACCES;
}

static int turn_open(struct turn *t, const struct rv_addr *srv, struct rv_addr *relayed, char *err,
                     size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(srv->port) };
	struct turn_req q = { .method = M_ALLOCATE };
	struct rv_stun_msg m;
	uint8_t rx[1500];
	int big = 8 << 20, rc;

	memcpy(&sa.sin_addr, srv->ip, 4);
	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "socket to coturn: %s", strerror(errno));
		return -errno;
	}
	(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	rc = request(t, &q, &m, rx, sizeof(rx), err, errlen);
	if (rc == 0 && (!rv_stun_find(&m, A_RELAYED) ||
	                rv_stun_attr_addr(&m, rv_stun_find(&m, A_RELAYED), true, relayed) < 0)) {
		snprintf(err, errlen, "Allocate: no XOR-RELAYED-ADDRESS");
		rc = -EPROTO;
	}
	return rc;
}

int bench_relay_turn(const struct rv_addr *srv, const char *user, const char *pass,
                     const char *realm, uint32_t timeout_ms, struct bench_relay_side out[2],
                     char *err, size_t errlen)
{
	struct turn t[2];
	struct rv_addr relayed[2];
	struct rv_stun_msg m;
	uint8_t rx[1500];
	int rc = 0;

	for (int s = 0; s < 2; s++) {
		t[s] = (struct turn){
			.fd = -1, .user = user, .realm = realm, .timeout_ms = timeout_ms
		};
		rv_stun_longterm_key_md5(user, realm, pass, t[s].key);
	}
	for (int s = 0; s < 2 && rc == 0; s++)
		rc = turn_open(&t[s], srv, &relayed[s], err, errlen);
	/* Each side's channel leads to the other side's relayed address. */
	for (int s = 0; s < 2 && rc == 0; s++) {
		struct turn_req q = { .method = M_CHANNEL_BIND, .peer = &relayed[!s] };

		rc = request(&t[s], &q, &m, rx, sizeof(rx), err, errlen);
		out[s] = (struct bench_relay_side){ .fd = t[s].fd, .channel = TURN_CHANNEL };
	}
	if (rc < 0)
		for (int s = 0; s < 2; s++)
			if (t[s].fd >= 0)
				close(t[s].fd);
	return rc;
}
