/* rvp_conn.c — attempts (carrying out peer_punch's actions with sockets)
 * and the paths they establish. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "peer_int.h"
#include "peer_net.h"
#include "proto/delta.h"
#include "proto/keys.h"
#include "proto/relay.h"
#include "proto/strategy.h"
#include "proto/stun.h"

static struct peer_attempt *attempt_find(struct rvp *p, uint64_t id, unsigned *slot)
{
	for (unsigned i = 0; i < PEER_ATTEMPTS; i++)
		if (p->attempts[i].used && p->attempts[i].id == id) {
			if (slot)
				*slot = i;
			return &p->attempts[i];
		}
	return NULL;
}

static struct rvp_conn *conn_find(struct rvp *p, uint64_t id)
{
	for (unsigned i = 0; i < PEER_CONNS; i++)
		if (p->conns[i].used && p->conns[i].attempt == id)
			return &p->conns[i];
	return NULL;
}

static void close_attempt(struct rvp *p, struct peer_attempt *a)
{
	for (unsigned i = 1; i < a->n_fds; i++)
		if (a->fds[i] >= 0) {
			peer_unwatch(p, a->fds[i]);
			close(a->fds[i]);
		}
	a->used = false;
}

/* One peer datagram out of fd; through the relay (ChannelData on its
 * channel) when relay is given. */
static ssize_t pdg_out(int fd, const struct rv_addr *to, const uint8_t *pdg, size_t len,
                       const struct rv_relay_grant *relay, int ttl)
{
	uint8_t buf[RV_RELAY_HDR + RV_PDG_MAX];

	if (!relay)
		return peer_udp_send(fd, to, pdg, len, ttl);
	if (len > RV_PDG_MAX)
		return -EMSGSIZE;
	rv_relay_put_hdr(buf, relay->channel, (uint16_t)len);
	memcpy(buf + RV_RELAY_HDR, pdg, len);
	return peer_udp_send(fd, to, buf, RV_RELAY_HDR + len, ttl);
}

/* The peer datagram inside ChannelData from our relay, or NULL. */
static const uint8_t *pdg_in(const uint8_t *buf, size_t *len, const struct rv_relay_grant *relay)
{
	uint16_t ch, n;

	if (!rv_relay_is_chdata(buf, *len) || rv_relay_parse(buf, *len, &ch, &n) < 0 ||
	    ch != relay->channel)
		return NULL;
	*len = n;
	return buf + RV_RELAY_HDR;
}

/* An authenticated probe (a session's, or a relay binding) out of fd;
 * txid gets its transaction ID. */
static void probe_out(struct rvp *p, int fd, const struct rv_addr *to, const struct rv_probe *pr,
                      const uint8_t key[16], uint8_t txid[RV_STUN_TXID_LEN])
{
	struct rv_msg m;
	uint8_t wire[128];
	int n;

	peer_req(p, &m, RV_M_BINDING);
	m.present = 0; /* a probe carries only RV-PROBE (and FINGERPRINT) */
	m.probe = *pr;
	rv_probe_mac(key, m.txid, &m.probe, NULL, m.probe.mac);
	m.present |= RV_BIT(RV_F_PROBE);
	n = rv_msg_encode(&m, wire, sizeof(wire), NULL, 0);
	if (n < 0)
		return;
	if (txid)
		memcpy(txid, m.txid, RV_STUN_TXID_LEN);
	(void)peer_udp_send(fd, to, wire, (size_t)n, 0);
}

static void conn_bind(struct rvp *p, struct rvp_conn *c)
{
	struct rv_probe pr = { .session = c->relay.relay,
		               .kind = RV_PROBE_RELAY,
		               .flags = c->relay.side ? RV_PROBE_SIDE : 0,
		               .seq = ++c->bind_seq };

	probe_out(p, c->fd, &c->to, &pr, c->relay_key, NULL);
}

static ssize_t conn_out(struct rvp_conn *c, const uint8_t *pdg, size_t len)
{
	return pdg_out(c->fd, &c->to, pdg, len, c->relayed ? &c->relay : NULL, 0);
}

static void punch_datagram(struct rvp *p, unsigned slot, uint16_t sock, const uint8_t *buf,
                           size_t len, const struct rv_addr *from);

/* The attempt ended without a path: remember how, for rvp_connect. */
static void note_failure(struct rvp *p, const struct peer_attempt *a, uint8_t code)
{
	if (a->id == p->connect_attempt)
		p->connect_result = code;
}

/* Keep a peer datagram of an attempt we have no INSTRUCT for yet. */
static void early_keep(struct rvp *p, uint64_t attempt, const uint8_t *buf, size_t len,
                       const struct rv_addr *from)
{
	unsigned i = p->early_next++ % PEER_EARLY;

	if (!attempt || len > sizeof(p->early[i].buf))
		return;
	p->early[i].attempt = attempt;
	p->early[i].at_ms = peer_now_ms();
	p->early[i].from = *from;
	p->early[i].len = (uint16_t)len;
	memcpy(p->early[i].buf, buf, len);
}

/* Its INSTRUCT came: hand it what arrived before (still fresh). */
static void early_replay(struct rvp *p, unsigned slot)
{
	uint64_t now = peer_now_ms();

	for (unsigned i = 0; i < PEER_EARLY && p->attempts[slot].used; i++) {
		if (p->early[i].attempt != p->attempts[slot].id)
			continue;
		p->early[i].attempt = 0;
		if (now - p->early[i].at_ms <= PEER_EARLY_MS)
			punch_datagram(p, slot, 0, p->early[i].buf, p->early[i].len,
			               &p->early[i].from);
	}
}

static void report_result(struct rvp *p, struct peer_attempt *a, uint8_t code)
{
	struct rv_msg m;

	peer_req(p, &m, RV_M_REPORT);
	m.attempt = a->id;
	m.result =
	        (struct rv_result){ code, a->punch.ins.strategy,
		                    (uint32_t)(peer_now_ms() - a->started_ms), a->punch.packets };
	m.present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_RESULT);
	(void)peer_post(p, &m, p->msg_key, sizeof(p->msg_key));
}

/* The attempt succeeded on (sock, to): make it a connection. */
/* The relayed connection with this partner, if any. */
static struct rvp_conn *relayed_with(struct rvp *p, const uint8_t partner[RV_LOCATOR_LEN])
{
	for (unsigned i = 0; i < PEER_CONNS; i++) {
		struct rvp_conn *c = &p->conns[i];
		if (c->used && !c->closed && c->relayed &&
		    !memcmp(c->info.partner_locator, partner, RV_LOCATOR_LEN))
			return c;
	}
	return NULL;
}

/* A direct path to a partner we reach through a relay: the connection
 * moves onto it (same key, same attempt ID on the data, so the partner's
 * connection takes it as is); the relay's socket lingers for what is still
 * in flight, then the relay is released. */
static void upgrade(struct rvp *p, struct peer_attempt *a, const struct peer_act *x,
                    struct rvp_conn *c)
{
	char s[RV_ADDR_STRLEN];

	report_result(p, a, RV_RES_OK);
	c->relay_fd = c->own_fd ? c->fd : -1;
	c->relay_release_ms = peer_now_ms() + PEER_RELAY_LINGER_MS;
	c->fd = a->fds[x->sock];
	c->own_fd = x->sock != 0;
	c->to = x->to;
	c->relayed = c->info.relayed = false;
	c->info.partner = x->to;
	c->info.strategy = a->punch.ins.strategy;
	if (c->own_fd) {
		peer_unwatch(p, c->fd);
		a->fds[x->sock] = -1;
		(void)peer_watch(p, c->fd, TAG(TAG_CONN, (unsigned)(c - p->conns), 0));
	}
	peer_log(p, "upgraded: a direct path to %s (%s); the relay is released in %u ms",
	         rv_addr_fmt(&x->to, s, sizeof(s)), rv_strategy_str(c->info.strategy),
	         PEER_RELAY_LINGER_MS);
	close_attempt(p, a);
}

static void establish(struct rvp *p, unsigned slot, const struct peer_act *x)
{
	struct peer_attempt *a = &p->attempts[slot];
	struct rvp_conn *c = NULL;
	char s[RV_ADDR_STRLEN];

	if (a->punch.ins.strategy != RV_STRAT_RELAY) {
		struct rvp_conn *r = relayed_with(p, a->partner);
		if (r) {
			upgrade(p, a, x, r);
			return;
		}
	}
	for (unsigned i = 0; i < PEER_CONNS && !c; i++)
		if (!p->conns[i].used)
			c = &p->conns[i];
	report_result(p, a, c ? RV_RES_OK : RV_RES_ABORTED);
	if (!c) {
		peer_log(p, "no room for another connection");
		close_attempt(p, a);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->used = true;
	c->attempt = a->id;
	memcpy(c->key, a->key, sizeof(c->key));
	c->to = x->to;
	c->fd = a->fds[x->sock];
	c->own_fd = x->sock != 0;
	c->relay_fd = -1;
	c->last_rx_ms = c->last_tx_ms = peer_now_ms();
	c->info = (struct rvp_info){ .partner = x->to,
		                     .strategy = a->punch.ins.strategy,
		                     .elapsed_ms = (uint32_t)(peer_now_ms() - a->started_ms),
		                     .packets = a->punch.packets,
		                     .caller = a->caller };
	if (a->punch.ins.strategy == RV_STRAT_RELAY) {
		c->relayed = c->info.relayed = true;
		c->relay = a->punch.ins.relay;
		memcpy(c->relay_key, a->relay_key, sizeof(c->relay_key));
		c->upgrade_wait_ms = p->conf.upgrade_ms;
		c->upgrade_next_ms = p->conf.upgrade_ms == UINT32_MAX
		                             ? UINT64_MAX
		                             : peer_now_ms() + p->conf.upgrade_ms;
	}
	memcpy(c->info.partner_locator, a->partner, RV_LOCATOR_LEN);
	if (c->own_fd) {
		/* The socket moves from the attempt to the connection. */
		peer_unwatch(p, c->fd);
		a->fds[x->sock] = -1;
		(void)peer_watch(p, c->fd, TAG(TAG_CONN, (unsigned)(c - p->conns), 0));
	}
	if (c->relayed)
		peer_log(p, "relayed path through %s after %u ms (channel %#x, %llu MB, %u s)",
		         rv_addr_fmt(&x->to, s, sizeof(s)), c->info.elapsed_ms, c->relay.channel,
		         (unsigned long long)(c->relay.quota_bytes >> 20), c->relay.lifetime_s);
	else
		peer_log(p, "direct path to %s after %u ms (%s, %u packets sprayed)",
		         rv_addr_fmt(&x->to, s, sizeof(s)), c->info.elapsed_ms,
		         rv_strategy_str(c->info.strategy), c->info.packets);
	close_attempt(p, a);
}

static int open_socks(struct rvp *p, unsigned slot, uint16_t upto)
{
	struct peer_attempt *a = &p->attempts[slot];
	struct rv_addr bind = p->conf.bind;

	bind.port = 0;
	while (a->n_fds <= upto && a->n_fds < PEER_SOCKS) {
		int fd = peer_udp_open(&bind);
		if (fd < 0)
			return fd;
		a->fds[a->n_fds] = fd;
		(void)peer_watch(p, fd, TAG(TAG_ATTEMPT, slot, a->n_fds));
		a->n_fds++;
	}
	return 0;
}

static void send_probe(struct rvp *p, struct peer_attempt *a, const struct peer_act *x)
{
	bool bind = x->probe_kind == RV_PROBE_RELAY;
	const struct rv_addr *to = bind                                  ? &a->punch.ins.peer_addr
	                           : x->srv && p->conf.server_alt.family ? &p->conf.server_alt
	                                                                 : &p->conf.server;
	struct rv_probe pr = { .session = bind ? a->punch.ins.relay.relay : p->session,
		               .kind = x->probe_kind,
		               .flags = bind && a->punch.ins.relay.side ? RV_PROBE_SIDE : 0,
		               .seq = x->seq };
	char s[RV_ADDR_STRLEN];

	probe_out(p, a->fds[x->sock], to, &pr, bind ? a->relay_key : p->probe_key, a->probe_txid);
	a->probe_sock = x->sock;
	a->probe_kind = x->probe_kind;
	a->probe_seq = x->seq;
	if (bind)
		peer_log(p, "bind socket %u to the relay at %s (channel %#x)", x->sock,
		         rv_addr_fmt(to, s, sizeof(s)), a->punch.ins.relay.channel);
	else
		peer_log(p, "probe %s #%u from socket %u to the %s server address",
		         rv_probe_kind_str(x->probe_kind), x->seq, x->sock,
		         x->srv ? "alternate" : "primary");
}

static void run(struct rvp *p, unsigned slot)
{
	struct peer_attempt *a = &p->attempts[slot];
	struct peer_act acts[64];
	size_t n;
	unsigned sprayed = 0;

	while (a->used && (n = peer_punch_take(&a->punch, acts, 64)) > 0) {
		for (size_t i = 0; i < n && a->used; i++) {
			const struct peer_act *x = &acts[i];
			uint8_t wire[RV_PDG_MIN];
			char s[RV_ADDR_STRLEN];

			switch (x->kind) {
			case PEER_ACT_OPEN:
				if (open_socks(p, slot, x->sock) < 0)
					peer_log(p, "cannot open more sockets");
				peer_punch_opened(&a->punch, a->n_fds, peer_now_ms());
				break;
			case PEER_ACT_PROBE:
				send_probe(p, a, x);
				break;
			case PEER_ACT_SEND: {
				struct rv_pdg d = { .type = x->pdg_type,
					            .attempt = a->id,
					            .seq = x->pdg_seq,
					            .ttl_hint = x->ttl };
				int len = rv_pdg_encode(&d, a->key, wire, sizeof(wire));
				bool relayed = a->punch.ins.strategy == RV_STRAT_RELAY;
				if (len > 0 && x->sock < a->n_fds && a->fds[x->sock] >= 0)
					(void)pdg_out(a->fds[x->sock], &x->to, wire, (size_t)len,
					              relayed ? &a->punch.ins.relay : NULL, x->ttl);
				if (x->pdg_type == RV_PDG_REPLY && x->sock != 0 && sprayed++)
					break;
				/* One line for a spray or a round of assigning
				 * packets, not one per packet. */
				if (x->pdg_type == RV_PDG_ASSIGN && a->assigns_logged++)
					break;
				if (x->pdg_type != RV_PDG_REPLY || sprayed <= 1)
					peer_log(p, "%s from socket %u to %s%s%s",
					         rv_pdg_type_str(x->pdg_type), x->sock,
					         rv_addr_fmt(&x->to, s, sizeof(s)),
					         x->ttl ? " with a short TTL" : "",
					         relayed ? " (through the relay)"
					         : x->pdg_type == RV_PDG_REPLY ? " (spraying...)"
					                                       : "");
				break;
			}
			case PEER_ACT_REPORT: {
				struct rv_msg m;
				peer_req(p, &m, RV_M_REPORT);
				m.attempt = a->id;
				m.present |= RV_BIT(RV_F_ATTEMPT);
				if (a->punch.n_ports) {
					m.n_ports = a->punch.n_ports;
					memcpy(m.ports, a->punch.ports, 2u * a->punch.n_ports);
					m.present |= RV_BIT(RV_F_PORTS);
				}
				(void)peer_post(p, &m, p->msg_key, sizeof(p->msg_key));
				peer_log(p, "report %u observed ports to the server", m.n_ports);
				break;
			}
			case PEER_ACT_DONE:
				establish(p, slot, x);
				break;
			case PEER_ACT_FAIL:
				peer_log(p, "attempt failed: %s", rv_result_str(x->result));
				note_failure(p, a, x->result);
				report_result(p, a, x->result);
				close_attempt(p, a);
				break;
			}
		}
	}
}

void peer_on_attempt_unknown(struct rvp *p, uint64_t attempt)
{
	struct peer_attempt *a = attempt_find(p, attempt, NULL);

	if (!a)
		return;
	peer_log(p, "server: attempt %016llx is unknown to the server (restarted?): ended",
	         (unsigned long long)attempt);
	if (attempt == p->connect_attempt)
		p->connect_final = p->connect_lost = true;
	close_attempt(p, a);
}

void peer_on_instruct(struct rvp *p, const struct rv_msg *m)
{
	struct peer_instruct in = peer_instruct_of(m);
	unsigned slot;
	struct peer_attempt *a = attempt_find(p, m->attempt, &slot);
	uint64_t seed;
	char s[RV_ADDR_STRLEN];

	struct rvp_conn *c = conn_find(p, m->attempt);
	if (c) {
		if ((m->present & RV_BIT(RV_F_RESULT)) && c->relayed && !c->closed) {
			peer_log(p, "server: the relay ended: %s", rv_result_str(m->result.code));
			c->closed = c->ended = true;
			c->info.ended = m->result.code;
		}
		return; /* else an established path: a retransmission */
	}
	if (m->present & RV_BIT(RV_F_RESULT)) {
		if (m->attempt == p->connect_attempt) {
			p->connect_final = true;
			p->connect_result = m->result.code;
		}
		/* The server ended the attempt (the partner never answered it,
		 * or it ended long ago and this peer was late). */
		if (a) {
			peer_log(p, "server: attempt %016llx ended: %s", (unsigned long long)a->id,
			         rv_result_str(m->result.code));
			note_failure(p, a, m->result.code);
			close_attempt(p, a);
		}
		return;
	}
	if (!a) {
		/* A later step of an attempt we do not know — unless it moves a
		 * failed direct try of ours to a relay. */
		if (m->role.step != 0 && !in.has_relay)
			return;
		for (slot = 0; slot < PEER_ATTEMPTS && p->attempts[slot].used; slot++)
			;
		if (slot == PEER_ATTEMPTS) {
			peer_log(p, "too many attempts at once: ignoring one");
			return;
		}
		a = &p->attempts[slot];
		memset(a, 0, sizeof(*a));
		a->used = true;
		a->id = m->attempt;
		a->caller = p->connect_attempt == m->attempt;
		a->started_ms = peer_now_ms();
		rv_key_wrap(p->msg_key, m->attempt, m->key, a->key);
		memcpy(a->partner, m->locator, RV_LOCATOR_LEN);
		if (in.has_relay)
			rv_relay_key(a->key, in.relay.relay, a->relay_key);
		a->fds[0] = p->reg_fd;
		a->n_fds = 1;
		randombytes_buf(&seed, sizeof(seed));
		if (in.has_relay)
			peer_log(p, "server: no direct path: relay at %s for the partner (%s)",
			         rv_addr_fmt(&m->peer_addr, s, sizeof(s)),
			         rv_nat_type_str(m->nat.type));
		else
			peer_log(p, "server: %s attempt, we %s, partner at %s (%s)",
			         rv_strategy_str(in.strategy),
			         in.role == RV_ROLE_SENDER ? "send the bubbles"
			                                   : "spray the replies",
			         rv_addr_fmt(&m->peer_addr, s, sizeof(s)),
			         rv_nat_type_str(m->nat.type));
		if (in.strategy == RV_STRAT_BIRTHDAY) {
			a->hard_socks = in.count;
			if (in.role == RV_ROLE_SENDER)
				peer_log(p,
				         "birthday: %u sockets each send a port-assigning packet "
				         "(TTL %u) to the partner's NAT",
				         in.count, in.ttl);
		}
		peer_punch_start(&a->punch, &in, &p->nat, seed, a->started_ms);
		run(p, slot);
		early_replay(p, slot);
		return;
	} else {
		if (in.step <= a->punch.ins.step)
			return;
		if (in.has_relay) {
			rv_relay_key(a->key, in.relay.relay, a->relay_key);
			peer_log(p, "server: the direct try failed: relay at %s",
			         rv_addr_fmt(&m->peer_addr, s, sizeof(s)));
		} else if (in.has_range)
			peer_log(p, "server: spray %u ports from %u every %d", in.range.count,
			         in.range.first, in.range.step);
		else if (in.has_target)
			peer_log(p, "server: bubble %u ports from %u every %d", in.target.count,
			         in.target.first, in.target.step);
		else if (in.strategy == RV_STRAT_BIRTHDAY && in.count) {
			struct rv_port_space ps = rv_port_space_default();
			uint32_t space = (uint32_t)ps.hi - ps.lo + 1;
			peer_log(p,
			         "birthday: %u random ports against %u mappings of %u: %u%% chance",
			         in.count, a->hard_socks, space,
			         rv_birthday_pct(a->hard_socks, in.count, space));
		}
		peer_punch_instruct(&a->punch, &in, peer_now_ms());
	}
	run(p, slot);
}

static void punch_datagram(struct rvp *p, unsigned slot, uint16_t sock, const uint8_t *buf,
                           size_t len, const struct rv_addr *from)
{
	struct peer_attempt *a = &p->attempts[slot];
	struct rv_pdg d;

	if (rv_pdg_decode(buf, len, a->key, &d) < 0 || d.attempt != a->id)
		return;
	peer_punch_datagram(&a->punch, sock, from, d.type, d.seq, peer_now_ms());
	run(p, slot);
}

void peer_on_attempt_packet(struct rvp *p, unsigned slot, uint16_t sock, const uint8_t *buf,
                            size_t len, const struct rv_addr *from)
{
	struct peer_attempt *a = &p->attempts[slot];
	struct rv_msg m;

	if (!a->used)
		return;
	if (a->punch.ins.strategy == RV_STRAT_RELAY) {
		size_t n = len;
		const uint8_t *in = pdg_in(buf, &n, &a->punch.ins.relay);
		if (in) {
			punch_datagram(p, slot, sock, in, n, from);
			return;
		}
	}
	if (len && buf[0] == RV_PDG_MAGIC) {
		punch_datagram(p, slot, sock, buf, len, from);
		return;
	}
	/* A probe's answer: ours (transaction ID), and the server's word on
	 * where it saw it (reply MAC over the observed address). */
	if (rv_msg_decode(buf, len, &m, NULL) < 0 || m.method != RV_M_BINDING ||
	    m.cls != RV_STUN_SUCCESS || memcmp(m.txid, a->probe_txid, RV_STUN_TXID_LEN) ||
	    !rv_probe_verify(a->probe_kind == RV_PROBE_RELAY ? a->relay_key : p->probe_key, m.txid,
	                     &m.probe, &m.mapped))
		return;
	char s[RV_ADDR_STRLEN];
	peer_log(p, "  seen by the %s at %s", a->probe_kind == RV_PROBE_RELAY ? "relay" : "server",
	         rv_addr_fmt(&m.mapped, s, sizeof(s)));
	peer_punch_probe(&a->punch, a->probe_sock, a->probe_kind, m.probe.seq, m.mapped.port,
	                 peer_now_ms());
	run(p, slot);
}

void peer_on_reg_datagram(struct rvp *p, const uint8_t *buf, size_t len, const struct rv_addr *from)
{
	uint64_t id = rv_pdg_peek_attempt(buf, len);
	unsigned slot;
	struct rvp_conn *c = conn_find(p, id);

	if (c) {
		peer_on_conn_packet(p, c, buf, len, from);
		return;
	}
	if (attempt_find(p, id, &slot))
		punch_datagram(p, slot, 0, buf, len, from);
	else
		early_keep(p, id, buf, len, from);
}

void peer_on_conn_packet(struct rvp *p, struct rvp_conn *c, const uint8_t *buf, size_t len,
                         const struct rv_addr *from)
{
	struct rv_pdg d;

	(void)p;
	if (c->relay.channel && rv_relay_is_chdata(buf, len)) {
		/* Through the relay (also while an upgraded path's relay lingers). */
		buf = pdg_in(buf, &len, &c->relay);
		if (!buf)
			return;
	} else if (c->relayed) {
		return; /* our binding's answer, or noise */
	}
	if (rv_pdg_decode(buf, len, c->key, &d) < 0 || d.attempt != c->attempt)
		return;
	c->last_rx_ms = peer_now_ms();
	/* The partner's NAT may re-bind: follow it, it proved the key (a
	 * relayed path stays with the relay). */
	if (!c->relayed)
		c->to = *from;
	switch (d.type) {
	case RV_PDG_DATA:
		if (c->rx_n < PEER_RXQ) {
			unsigned at = (c->rx_head + c->rx_n) % PEER_RXQ;
			memcpy(c->rx[at], d.payload, d.payload_len);
			c->rx_len[at] = d.payload_len;
			c->rx_n++;
		}
		break;
	case RV_PDG_REPLY: {
		/* The partner is still spraying: it missed our ACK. */
		uint8_t wire[RV_PDG_MIN];
		struct rv_pdg ack = { .type = RV_PDG_ACK, .attempt = c->attempt, .seq = d.seq };
		int n = rv_pdg_encode(&ack, c->key, wire, sizeof(wire));
		if (n > 0)
			(void)conn_out(c, wire, (size_t)n);
		break;
	}
	case RV_PDG_CLOSE:
		c->closed = true;
		break;
	default:
		break;
	}
}

static void upgrade_try(struct rvp *p, struct rvp_conn *c, uint64_t now_ms);
static void relay_release(struct rvp *p, struct rvp_conn *c);

void peer_timers(struct rvp *p, uint64_t now_ms)
{
	for (unsigned i = 0; i < PEER_ATTEMPTS; i++) {
		struct peer_attempt *a = &p->attempts[i];
		if (a->used && now_ms >= peer_punch_next(&a->punch)) {
			/* Still waiting for the server's next step at the deadline:
			 * the server went silent (restarted and lost the attempt). */
			bool waiting = a->punch.phase == PEER_PH_WAIT;

			peer_punch_timer(&a->punch, now_ms);
			run(p, i);
			if (waiting && !a->used && a->id == p->connect_attempt)
				p->connect_lost = true;
		}
	}
	for (unsigned i = 0; i < PEER_CONNS; i++) {
		struct rvp_conn *c = &p->conns[i];
		if (c->used && !c->closed && now_ms - c->last_rx_ms >= p->conf.dead_ms) {
			peer_log(p, "path to the partner silent for %u ms: closed",
			         p->conf.dead_ms);
			c->closed = c->dead = true;
			continue;
		}
		if (c->used && !c->closed && now_ms - c->last_tx_ms >= p->conf.keepalive_ms) {
			uint8_t wire[RV_PDG_MIN];
			struct rv_pdg k = { .type = RV_PDG_KEEPALIVE,
				            .attempt = c->attempt,
				            .seq = ++c->tx_seq };
			int n = rv_pdg_encode(&k, c->key, wire, sizeof(wire));
			if (n > 0)
				(void)conn_out(c, wire, (size_t)n);
			if (c->relayed)
				conn_bind(p, c); /* the NAT may have moved our mapping */
			c->last_tx_ms = now_ms;
		}
		if (c->used && !c->closed && c->relayed && c->info.caller &&
		    now_ms >= c->upgrade_next_ms)
			upgrade_try(p, c, now_ms);
		if (c->used && c->relay_fd >= 0 && now_ms >= c->relay_release_ms)
			relay_release(p, c);
	}
}

/* The caller of a relayed connection asks, now and then, for a direct
 * path to the same partner (and nothing else: no second relay). */
static void upgrade_try(struct rvp *p, struct rvp_conn *c, uint64_t now_ms)
{
	struct rv_msg m;

	peer_req(p, &m, RV_M_CONNECT);
	memcpy(m.locator, c->info.partner_locator, RV_LOCATOR_LEN);
	m.role = (struct rv_role_info){ RV_ROLE_SENDER, RV_STRAT_AUTO, 0, RV_ROLE_NO_RELAY };
	m.present |= RV_BIT(RV_F_LOCATOR) | RV_BIT(RV_F_ROLE);
	(void)peer_post(p, &m, p->msg_key, sizeof(p->msg_key));
	peer_log(p, "relayed: asking for a direct path again (next in %u s)",
	         c->upgrade_wait_ms * 2 / 1000);
	if (c->upgrade_wait_ms < p->conf.upgrade_ms * 8u)
		c->upgrade_wait_ms *= 2;
	c->upgrade_next_ms = now_ms + c->upgrade_wait_ms;
}

/* After an upgrade: nothing more can come through the relay; free it. */
static void relay_release(struct rvp *p, struct rvp_conn *c)
{
	struct rv_msg m;

	peer_unwatch(p, c->relay_fd);
	close(c->relay_fd);
	c->relay_fd = -1;
	peer_req(p, &m, RV_M_REPORT);
	m.attempt = c->attempt;
	m.result = (struct rv_result){ RV_RES_CLOSED, RV_STRAT_RELAY, 0, 0 };
	m.present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_RESULT);
	(void)peer_post(p, &m, p->msg_key, sizeof(p->msg_key));
	peer_log(p, "relay released");
}

uint64_t peer_conn_next(const struct rvp *p)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < PEER_ATTEMPTS; i++)
		if (p->attempts[i].used && peer_punch_next(&p->attempts[i].punch) < next)
			next = peer_punch_next(&p->attempts[i].punch);
	for (unsigned i = 0; i < PEER_CONNS; i++) {
		const struct rvp_conn *c = &p->conns[i];
		if (!c->used || c->closed)
			continue;
		if (c->last_tx_ms + p->conf.keepalive_ms < next)
			next = c->last_tx_ms + p->conf.keepalive_ms;
		if (c->last_rx_ms + p->conf.dead_ms < next)
			next = c->last_rx_ms + p->conf.dead_ms;
		if (c->relayed && c->info.caller && c->upgrade_next_ms < next)
			next = c->upgrade_next_ms;
		if (c->relay_fd >= 0 && c->relay_release_ms < next)
			next = c->relay_release_ms;
	}
	return next;
}

static void pump(struct rvp *p, uint64_t deadline)
{
	uint64_t now = peer_now_ms();

	rvp_process(p, (int)(deadline - now < 100 ? deadline - now : 100));
}

int rvp_connect(struct rvp *p, const uint8_t locator[RV_LOCATOR_LEN], struct rvp_conn **out)
{
	struct rv_msg m, ans;
	bool started = false;
	uint64_t deadline, gone_ms = 0;
	int rc;

	if (!p->registered)
		return RVP_E_STATE;
	peer_req(p, &m, RV_M_CONNECT);
	memcpy(m.locator, locator, RV_LOCATOR_LEN);
	m.present |= RV_BIT(RV_F_LOCATOR);
	if (p->conf.relay_first) {
		m.role = (struct rv_role_info){ RV_ROLE_SENDER, RV_STRAT_RELAY, 0, 0 };
		m.present |= RV_BIT(RV_F_ROLE);
	}
	rc = peer_call(p, &m, p->msg_key, sizeof(p->msg_key), &ans);
	if (rc < 0)
		return rc;
	p->connect_attempt = ans.attempt;
	p->connect_result = RV_RES_TIMEOUT;
	p->connect_final = p->connect_lost = false;
	/* The first INSTRUCT may have arrived before the answer. */
	for (unsigned i = 0; i < PEER_ATTEMPTS; i++)
		if (p->attempts[i].used && p->attempts[i].id == ans.attempt)
			p->attempts[i].caller = true;
	peer_log(p, "server: attempt %016llx, strategy %s", (unsigned long long)ans.attempt,
	         rv_strategy_str(ans.role.strategy));
	deadline = peer_now_ms() + (p->conf.timeout_ms > 20000 ? p->conf.timeout_ms : 20000);
	for (;;) {
		struct rvp_conn *c = conn_find(p, ans.attempt);

		if (c) {
			c->info.caller = true;
			c->handed = true;
			*out = c;
			return 0;
		}
		if (attempt_find(p, ans.attempt, NULL)) {
			started = true;
			gone_ms = 0;
			p->connect_lost = false;
		} else if (started) {
			/* Our direct try ended: the server either moves us to a
			 * relay (the attempt comes back) or says there is none. */
			if (!gone_ms)
				gone_ms = peer_now_ms();
			if (p->connect_final || peer_now_ms() - gone_ms >= PEER_RELAY_GRACE_MS) {
				if (p->connect_lost)
					return RVP_E_LOST;
				return p->connect_result == RV_RES_PEER_GONE ? RVP_E_PARTNER
				                                             : RVP_E_NO_PATH;
			}
		}
		if (peer_now_ms() >= deadline)
			return RVP_E_TIMEOUT;
		pump(p, deadline);
	}
}

int rvp_accept(struct rvp *p, int timeout_ms, struct rvp_conn **out)
{
	uint64_t deadline =
	        peer_now_ms() + (uint64_t)(timeout_ms < 0 ? (int)p->conf.timeout_ms : timeout_ms);

	if (!p->registered)
		return RVP_E_STATE;
	for (;;) {
		for (unsigned i = 0; i < PEER_CONNS; i++) {
			struct rvp_conn *c = &p->conns[i];
			if (c->used && !c->handed && c->attempt != p->connect_attempt) {
				c->handed = true;
				*out = c;
				return 0;
			}
		}
		if (peer_now_ms() >= deadline)
			return RVP_E_TIMEOUT;
		pump(p, deadline);
	}
}

int rvp_send(struct rvp_conn *c, const void *buf, size_t len)
{
	uint8_t wire[RV_PDG_MAX];
	struct rv_pdg d = { .type = RV_PDG_DATA,
		            .attempt = c->attempt,
		            .seq = ++c->tx_seq,
		            .payload = buf,
		            .payload_len = (uint16_t)len };
	int n;

	if (c->closed)
		return c->dead ? -ETIMEDOUT : c->ended ? -ECONNABORTED : -EPIPE;
	if (len > RV_PDG_MAX_PAYLOAD)
		return -EMSGSIZE;
	n = rv_pdg_encode(&d, c->key, wire, sizeof(wire));
	if (n < 0)
		return n;
	c->last_tx_ms = peer_now_ms();
	n = (int)conn_out(c, wire, (size_t)n);
	return n < 0 ? n : (int)len;
}

int rvp_recv(struct rvp_conn *c, void *buf, size_t cap, int timeout_ms)
{
	uint64_t deadline = peer_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int n;

	while (!c->rx_n) {
		uint64_t now = peer_now_ms();
		if (c->closed)
			return c->dead ? -ETIMEDOUT : c->ended ? -ECONNABORTED : -EPIPE;
		if (now >= deadline)
			return RVP_E_TIMEOUT;
		rvp_process(c->p, (int)(deadline - now < 100 ? deadline - now : 100));
	}
	n = c->rx_len[c->rx_head] < cap ? c->rx_len[c->rx_head] : (int)cap;
	memcpy(buf, c->rx[c->rx_head], (size_t)n);
	c->rx_head = (c->rx_head + 1) % PEER_RXQ;
	c->rx_n--;
	return n;
}

void rvp_close(struct rvp_conn *c)
{
	uint8_t wire[RV_PDG_MIN];
	struct rv_pdg d = { .type = RV_PDG_CLOSE, .attempt = c->attempt, .seq = ++c->tx_seq };
	int n = rv_pdg_encode(&d, c->key, wire, sizeof(wire));

	if (n > 0 && !c->closed)
		(void)conn_out(c, wire, (size_t)n);
	if (c->relay_fd >= 0) {
		peer_unwatch(c->p, c->relay_fd);
		close(c->relay_fd);
	}
	if ((c->relayed || c->relay_fd >= 0) && !c->ended) {
		/* Free the relay now rather than at its idle timeout. */
		struct rv_msg m;
		peer_req(c->p, &m, RV_M_REPORT);
		m.attempt = c->attempt;
		m.result = (struct rv_result){ RV_RES_CLOSED, RV_STRAT_RELAY, 0, 0 };
		m.present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_RESULT);
		(void)peer_post(c->p, &m, c->p->msg_key, sizeof(c->p->msg_key));
	}
	if (c->own_fd) {
		peer_unwatch(c->p, c->fd);
		close(c->fd);
	}
	memset(c, 0, sizeof(*c));
}

void rvp_conn_info(const struct rvp_conn *c, struct rvp_info *out)
{
	*out = c->info;
}
