/* rvp.c — the peer object, its loop and its transactions with the server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <sodium.h>

#include "peer_int.h"
#include "peer_net.h"
#include "proto/stun.h"

void peer_log(struct rvp *p, const char *fmt, ...)
{
	char line[512];
	int n;
	va_list ap;

	if (!p->conf.timeline)
		return;
	n = snprintf(line, sizeof(line), "+%6llu ms  ",
	             (unsigned long long)(peer_now_ms() - p->t0));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	p->conf.timeline(p->conf.timeline_ctx, line);
}

int peer_watch(struct rvp *p, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void peer_unwatch(struct rvp *p, int fd)
{
	(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, NULL);
}

struct rvp *rvp_create(const struct rvp_conf *conf)
{
	struct rvp *p;
	int rc;

	if (sodium_init() < 0) {
		errno = EIO;
		return NULL;
	}
	if (conf->server.family != RV_AF_INET || !conf->device_id[0]) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->conf = *conf;
	if (!p->conf.timeout_ms)
		p->conf.timeout_ms = 10000;
	if (!p->conf.keepalive_ms)
		p->conf.keepalive_ms = 10000;
	if (!p->conf.dead_ms)
		p->conf.dead_ms = 35000;
	if (!p->conf.upgrade_ms)
		p->conf.upgrade_ms = 30000;
	if (p->conf.dead_ms < 2 * p->conf.keepalive_ms)
		p->conf.dead_ms = 2 * p->conf.keepalive_ms;
	p->t0 = peer_now_ms();
	p->nat = conf->nat;
	p->classified = conf->nat.type != RV_NAT_UNKNOWN;
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->reg_fd = peer_udp_open(&conf->bind);
	if (p->ep < 0 || p->reg_fd < 0) {
		rc = p->ep < 0 ? errno : -p->reg_fd;
		rvp_free(p);
		errno = rc;
		return NULL;
	}
	/* Our address toward the server (an unbound socket's IP resolved by
	 * the route): the server compares it with what it observes to tell a
	 * peer without NAT from one behind a NAT. */
	if (peer_udp_source(p->reg_fd, &conf->server, &p->reg_local) < 0)
		memset(&p->reg_local, 0, sizeof(p->reg_local));
	rc = peer_watch(p, p->reg_fd, TAG(TAG_REG, 0, 0));
	if (rc < 0) {
		rvp_free(p);
		errno = -rc;
		return NULL;
	}
	return p;
}

void rvp_free(struct rvp *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < PEER_CONNS; i++)
		if (p->conns[i].used)
			rvp_close(&p->conns[i]);
	for (unsigned a = 0; a < PEER_ATTEMPTS; a++)
		for (unsigned i = 1; i < p->attempts[a].n_fds; i++)
			if (p->attempts[a].used && p->attempts[a].fds[i] >= 0)
				close(p->attempts[a].fds[i]);
	if (p->reg_fd >= 0)
		close(p->reg_fd);
	if (p->ep >= 0)
		close(p->ep);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

void peer_req(struct rvp *p, struct rv_msg *m, enum rv_method method)
{
	uint8_t txid[RV_STUN_TXID_LEN];

	randombytes_buf(txid, sizeof(txid));
	rv_msg_init(m, method, RV_STUN_REQUEST, txid);
	if (p->registered && method != RV_M_REGISTER) {
		m->session = p->session;
		m->present |= RV_BIT(RV_F_SESSION);
	}
}

static struct peer_txn *txn_new(struct rvp *p)
{
	for (unsigned i = 0; i < PEER_TXNS; i++)
		if (!p->txns[i].used) {
			memset(&p->txns[i], 0, sizeof(p->txns[i]));
			p->txns[i].used = true;
			return &p->txns[i];
		}
	/* Full: reuse the oldest finished or the first (fire-and-forget ones). */
	for (unsigned i = 0; i < PEER_TXNS; i++)
		if (p->txns[i].done) {
			memset(&p->txns[i], 0, sizeof(p->txns[i]));
			p->txns[i].used = true;
			return &p->txns[i];
		}
	return NULL;
}

static void txn_send(struct rvp *p, struct peer_txn *t, uint64_t now)
{
	ssize_t n = peer_udp_send(t->fd, &t->to, t->wire, t->len, 0);

	if (n < 0)
		peer_log(p, "send %s: %s", rv_method_str(t->method), rv_strerror((int)n));
	t->next_ms = now + ((uint64_t)PEER_RTO_MS << t->tries);
	t->tries++;
}

static struct peer_txn *txn_start(struct rvp *p, struct rv_msg *req, const uint8_t *key,
                                  size_t keylen, int *rc)
{
	struct peer_txn *t = txn_new(p);
	int n;

	if (!t) {
		*rc = -EBUSY;
		return NULL;
	}
	n = rv_msg_encode(req, t->wire, sizeof(t->wire), key, keylen);
	if (n < 0) {
		t->used = false;
		*rc = n;
		return NULL;
	}
	t->len = (uint16_t)n;
	memcpy(t->txid, req->txid, sizeof(t->txid));
	t->method = req->method;
	t->attempt = req->present & RV_BIT(RV_F_ATTEMPT) ? req->attempt : 0;
	t->fd = p->reg_fd;
	t->to = p->conf.server;
	t->key = key;
	t->keylen = keylen;
	txn_send(p, t, peer_now_ms());
	*rc = 0;
	return t;
}

int peer_post(struct rvp *p, struct rv_msg *req, const uint8_t *key, size_t keylen)
{
	int rc;
	struct peer_txn *t = txn_start(p, req, key, keylen, &rc);

	if (t)
		t->done = false; /* retransmitted until answered, nobody waits */
	return rc;
}

int peer_call(struct rvp *p, struct rv_msg *req, const uint8_t *key, size_t keylen,
              struct rv_msg *ans)
{
	int rc;
	struct peer_txn *t = txn_start(p, req, key, keylen, &rc);
	uint64_t deadline = peer_now_ms() + p->conf.timeout_ms;

	if (!t)
		return rc;
	while (!t->done) {
		uint64_t now = peer_now_ms();
		if (now >= deadline || t->tries > PEER_RTX) {
			t->used = false;
			return RVP_E_TIMEOUT;
		}
		rvp_process(p, (int)(deadline - now < 50 ? deadline - now : 50));
	}
	rc = t->rc;
	if (ans)
		*ans = t->ans;
	t->used = false;
	return rc;
}

/* An answer from the server: to the transaction that asked. */
static void on_answer(struct rvp *p, const struct rv_msg *m, const struct rv_stun_msg *s)
{
	for (unsigned i = 0; i < PEER_TXNS; i++) {
		struct peer_txn *t = &p->txns[i];

		if (!t->used || t->done || memcmp(t->txid, m->txid, RV_STUN_TXID_LEN))
			continue;
		/* A success must prove the key; an error cannot (the server may
		 * not know us any more), but it only ever ends our own request. */
		if (m->cls == RV_STUN_SUCCESS && t->key &&
		    rv_stun_check_integrity_sha256(s, t->key, t->keylen) < 0) {
			peer_log(p, "answer to %s with a bad signature: ignored",
			         rv_method_str(t->method));
			return;
		}
		t->ans = *m;
		t->rc = m->cls == RV_STUN_ERROR ? RVP_E_SERVER - m->error_code : 0;
		t->done = true;
		if (t->method == RV_M_REPORT && t->attempt && m->cls == RV_STUN_ERROR &&
		    m->error_code == RV_C_NOT_FOUND)
			peer_on_attempt_unknown(p, t->attempt);
		return;
	}
}

static void on_reg_packet(struct rvp *p, const uint8_t *buf, size_t len, const struct rv_addr *from)
{
	struct rv_msg m;
	struct rv_stun_msg s;

	if (len && buf[0] == RV_PDG_MAGIC) {
		peer_on_reg_datagram(p, buf, len, from);
		return;
	}
	if (rv_msg_decode(buf, len, &m, &s) < 0)
		return;
	if (m.cls == RV_STUN_SUCCESS || m.cls == RV_STUN_ERROR) {
		on_answer(p, &m, &s);
		return;
	}
	if (m.cls == RV_STUN_REQUEST && m.method == RV_M_INSTRUCT) {
		struct rv_msg ok;
		uint8_t wire[256];
		int n;

		/* Only our server, with our session's key, instructs us. */
		if (!p->registered || rv_stun_check_integrity_sha256(&s, p->msg_key, 32) < 0) {
			peer_log(p, "an INSTRUCT not signed for us: ignored");
			return;
		}
		rv_msg_init_reply(&ok, &m, RV_STUN_SUCCESS);
		ok.attempt = m.attempt;
		ok.present |= RV_BIT(RV_F_ATTEMPT);
		n = rv_msg_encode(&ok, wire, sizeof(wire), p->msg_key, 32);
		if (n > 0)
			(void)peer_udp_send(p->reg_fd, from, wire, (size_t)n, 0);
		peer_on_instruct(p, &m);
	}
}

int rvp_process(struct rvp *p, int timeout_ms)
{
	struct epoll_event ev[32];
	uint64_t next = rvp_next_ms(p), now = peer_now_ms();
	int n;

	if (next <= now)
		timeout_ms = 0;
	else if (timeout_ms < 0 || next - now < (uint64_t)timeout_ms)
		timeout_ms = (int)(next - now);
	n = epoll_wait(p->ep, ev, 32, timeout_ms);
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		unsigned kind = (unsigned)(tag >> 56), slot = (unsigned)(tag >> 32 & 0xffffff);
		uint16_t idx = (uint16_t)tag;
		int fd;

		if (kind == TAG_REG)
			fd = p->reg_fd;
		else if (kind == TAG_ATTEMPT)
			fd = p->attempts[slot].fds[idx];
		else if (kind == TAG_CONN)
			fd = p->conns[slot].fd;
		else
			continue;
		for (int burst = 0; burst < 64; burst++) {
			uint8_t buf[2048];
			struct rv_addr from;
			ssize_t len = peer_udp_recv(fd, buf, sizeof(buf), &from);

			if (len < 0) {
				/* Drain ICMP errors too, or the fd stays readable. */
				struct rv_addr off;
				uint8_t t, c;
				if (len != -EAGAIN || peer_udp_icmp(fd, &off, &t, &c) <= 0)
					break;
				continue;
			}
			if (kind == TAG_REG)
				on_reg_packet(p, buf, (size_t)len, &from);
			else if (kind == TAG_ATTEMPT)
				peer_on_attempt_packet(p, slot, idx, buf, (size_t)len, &from);
			else
				peer_on_conn_packet(p, &p->conns[slot], buf, (size_t)len, &from);
			if (kind == TAG_ATTEMPT && !p->attempts[slot].used)
				break; /* the attempt ended and closed its sockets */
		}
	}
	now = peer_now_ms();
	for (unsigned i = 0; i < PEER_TXNS; i++) {
		struct peer_txn *t = &p->txns[i];
		if (t->used && !t->done && now >= t->next_ms) {
			if (t->tries > PEER_RTX) {
				t->done = true; /* gave up; a caller waiting sees the timeout */
				t->rc = RVP_E_TIMEOUT;
			} else {
				txn_send(p, t, now);
			}
		}
	}
	peer_refresh_tick(p, now);
	peer_timers(p, now);
	return n < 0 ? -errno : n;
}

uint64_t rvp_next_ms(const struct rvp *p)
{
	uint64_t next = peer_conn_next(p);

	for (unsigned i = 0; i < PEER_TXNS; i++)
		if (p->txns[i].used && !p->txns[i].done && p->txns[i].next_ms < next)
			next = p->txns[i].next_ms;
	if (p->registered && p->next_refresh_ms < next)
		next = p->next_refresh_ms;
	return next;
}

int rvp_fd(const struct rvp *p)
{
	return p->ep;
}

const uint8_t *rvp_locator(const struct rvp *p)
{
	return p->authed ? p->locator : NULL;
}

const struct rv_addr *rvp_mapped(const struct rvp *p)
{
	return &p->mapped;
}

const struct rv_nat_info *rvp_nat(const struct rvp *p)
{
	return &p->nat;
}

const char *rvp_strerror(int err)
{
	static __thread char buf[96];

	if (err <= RVP_E_SERVER + 0 && err > RVP_E_SERVER - 700) {
		int code = RVP_E_SERVER - err;
		snprintf(buf, sizeof(buf), "server: %d %s", code, rv_code_str(code));
		return buf;
	}
	if (err == RVP_E_TIMEOUT)
		return "no answer in time";
	if (err == RVP_E_STATE)
		return "authenticate and register first";
	if (err == RVP_E_NO_PATH)
		return "no direct path was found in time";
	if (err == RVP_E_PARTNER)
		return "the partner did not answer the server (gone or frozen)";
	if (err == RVP_E_LOST)
		return "the server dropped the attempt (restarted, or unreachable): connect again";
	return rv_strerror(err);
}
