/* dp_pkt.c — rvdp's per-packet handler (dp_pkt.h). */
#include <errno.h>
#include <string.h>

#include "dp_pkt.h"
#include "proto/msg.h"
#include "proto/relay.h"
#include "proto/rv_buf.h"
#include "proto/stun.h"

#define ETH_LEN     14
#define IP_LEN      20
#define UDP_LEN     8
#define L4_OFF      (ETH_LEN + IP_LEN)
#define PAYLOAD_OFF (ETH_LEN + IP_LEN + UDP_LEN)
#define ETH_P_IP    0x0800
#define ETH_P_ARP   0x0806
#define ETH_P_IPV6  0x86dd
#define TTL_OUT     64

static const char *const ctr_names[DP_C_COUNT] = {
#define DP_CTR_NAME(id, name) [DP_C_##id] = name,
	DP_COUNTERS(DP_CTR_NAME)
#undef DP_CTR_NAME
};

const char *dp_ctr_name(enum dp_ctr c)
{
	return (unsigned)c < DP_C_COUNT ? ctr_names[c] : "?";
}

static enum dp_verdict drop(const struct dp_pkt_ctx *ctx, enum dp_ctr why)
{
	ctx->ctr[why]++;
	return DP_DROP;
}

/* --- checksums (RFC 1071) ---------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sum of the UDP pseudo header (RFC 768) for IPv4. */
static uint32_t udp_pseudo(const uint8_t *ip, uint16_t udp_len)
{
	return csum_add(0, ip + 12, 8) + 17 + udp_len;
}

static void ip_finish(uint8_t *ip, uint16_t total, uint32_t src, uint32_t dst)
{
	ip[0] = 0x45;
	ip[1] = 0;
	rv_put_u16(ip + 2, total);
	rv_put_u16(ip + 4, 0);
	rv_put_u16(ip + 6, 0x4000); /* DF: only the caller's rv_frag_split cuts */
	ip[8] = TTL_OUT;
	rv_put_u32(ip + 12, src);
	rv_put_u32(ip + 16, dst);
	rv_put_u16(ip + 10, 0);
	rv_put_u16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, IP_LEN)));
}

static void udp_finish(uint8_t *ip, uint16_t sport, uint16_t dport, uint16_t payload_len)
{
	uint8_t *udp = ip + IP_LEN;
	uint16_t ulen = (uint16_t)(UDP_LEN + payload_len);
	uint16_t sum;

	rv_put_u16(udp, sport);
	rv_put_u16(udp + 2, dport);
	rv_put_u16(udp + 4, ulen);
	rv_put_u16(udp + 6, 0);
	sum = (uint16_t)~csum_fold(udp_pseudo(ip, ulen) + csum_add(0, udp, ulen));
	rv_put_u16(udp + 6, sum ? sum : 0xffff); /* 0 means "no checksum" */
}

static void eth_reply(uint8_t *frame, const uint8_t *our_mac)
{
	memcpy(frame, frame + 6, 6);
	memcpy(frame + 6, our_mac, 6);
}

static int our_ip(const struct dp_addrs *a, uint32_t ip)
{
	return ip == a->ip[0] ? 0 : ip == a->ip[1] ? 1 : -1;
}

static int our_port(const struct dp_addrs *a, uint16_t port)
{
	return port == a->port[0] ? 0 : port == a->port[1] ? 1 : -1;
}

/* Sources we never answer: they would reflect our answer somewhere it does
 * not belong (RFC 1812 §5.3.7 martians). */
static bool martian(const struct dp_addrs *a, uint32_t ip)
{
	uint8_t top = (uint8_t)(ip >> 24);

	return top == 0 || top == 127 || top >= 224 || our_ip(a, ip) >= 0;
}

/* Per-source budgets; NULL rl means no limits (tests, benchmarks). */
static bool budget_ok(const struct dp_pkt_ctx *ctx, uint32_t src_ip, uint32_t req, uint32_t resp)
{
	struct rv_addr src;
	enum dp_rl_verdict v;

	if (!ctx->rl)
		return true;
	src = rv_addr_v4(src_ip, 0);
	v = dp_rl_check(ctx->rl, &src, req, resp, ctx->now_us);
	switch (v) {
	case DP_RL_OK:
		return true;
	case DP_RL_SRC_PKTS:
		ctx->ctr[DP_C_DROP_RL_SRC_PKTS]++;
		return false;
	case DP_RL_SRC_BYTES:
		ctx->ctr[DP_C_DROP_RL_SRC_BYTES]++;
		return false;
	default:
		ctx->ctr[DP_C_DROP_RL_GLOB_BYTES]++;
		return false;
	}
}

static enum dp_verdict tx(const struct dp_pkt_ctx *ctx, enum dp_ctr what, uint16_t *len, uint16_t n)
{
	ctx->ctr[what]++;
	ctx->ctr[DP_C_BYTES_OUT] += n;
	*len = n;
	return DP_TX;
}

/* --- ARP and ICMP ------------------------------------------------------------ */

static enum dp_verdict arp(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len)
{
	uint8_t *a = frame + ETH_LEN;
	uint32_t tpa, spa;

	if (*len < ETH_LEN + 28)
		return drop(ctx, DP_C_DROP_SHORT);
	tpa = rv_get_u32(a + 24);
	spa = rv_get_u32(a + 14);
	if (rv_get_u16(a) != 1 || rv_get_u16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 ||
	    rv_get_u16(a + 6) != 1 || our_ip(ctx->addrs, tpa) < 0)
		return drop(ctx, DP_C_DROP_ARP_OTHER);
	if (!budget_ok(ctx, spa, 1, 1))
		return DP_DROP;
	eth_reply(frame, ctx->addrs->mac);
	rv_put_u16(a + 6, 2);
	memcpy(a + 18, a + 8, 6); /* tha = sha */
	rv_put_u32(a + 24, spa);
	memcpy(a + 8, ctx->addrs->mac, 6);
	rv_put_u32(a + 14, tpa);
	return tx(ctx, DP_C_TX_ARP, len, *len);
}

static enum dp_verdict icmp(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                            uint16_t ip_total, uint32_t src, uint32_t dst)
{
	uint8_t *ip = frame + ETH_LEN, *ic = ip + IP_LEN;
	uint16_t ilen = (uint16_t)(ip_total - IP_LEN);

	if (ilen < 8 || ic[0] != 8 || ic[1] != 0)
		return drop(ctx, DP_C_DROP_ICMP_OTHER);
	if (csum_fold(csum_add(0, ic, ilen)) != 0xffff)
		return drop(ctx, DP_C_DROP_IP_BAD);
	if (!budget_ok(ctx, src, ip_total, ip_total))
		return DP_DROP;
	ic[0] = 0;
	rv_put_u16(ic + 2, 0);
	rv_put_u16(ic + 2, (uint16_t)~csum_fold(csum_add(0, ic, ilen)));
	ip_finish(ip, ip_total, dst, src);
	eth_reply(frame, ctx->addrs->mac);
	return tx(ctx, DP_C_TX_ICMP, len, (uint16_t)(ETH_LEN + ip_total));
}

/* --- STUN answers ------------------------------------------------------------ */

/* Everything an answer needs from its request, copied out first because the
 * answer is written over the request. */
struct ask {
	uint8_t id[16]; /* bytes 4..19: cookie + txid, or RFC 3489's 128-bit ID */
	uint16_t method;
	bool classic;
	bool fingerprint; /* the request had one: so does the answer */
	uint8_t ip_idx;   /* our address / port it arrived on */
	uint8_t port_idx;
	uint32_t src_ip;
	uint16_t src_port;
	uint16_t dst_port; /* where the answer goes (RESPONSE-PORT) */
	uint32_t change;   /* CHANGE-REQUEST flags */
	uint16_t padding;  /* PADDING length to mirror, 0 = none */
	int error;         /* 0, 400 or 420 */
	uint8_t n_unknown;
	uint16_t unknown[RV_STUN_MAX_UNKNOWN];
	bool probe;
	bool bind; /* a relay bind (probe kind RELAY) */
	struct rv_probe pr;
	uint8_t key[DP_KEY_LEN];
};

static void put_fingerprint(const struct dp_pkt_ctx *ctx, struct rv_stun_enc *e)
{
	size_t at = e->w.off;
	uint8_t *q = rv_stun_enc_attr_reserve(e, RV_SA_FINGERPRINT, 4);

	if (q)
		rv_put_u32(q, ctx->crc32(e->w.p, at) ^ RV_STUN_FP_XOR);
}

/* Write the STUN answer at frame + PAYLOAD_OFF; returns its length or < 0. */
static int build_stun(const struct dp_pkt_ctx *ctx, const struct ask *q, uint8_t *frame,
                      uint16_t cap)
{
	const struct dp_addrs *a = ctx->addrs;
	uint8_t ip_idx = q->ip_idx ^ ((q->change & RV_STUN_CHANGE_IP) ? 1 : 0);
	uint8_t port_idx = q->port_idx ^ ((q->change & RV_STUN_CHANGE_PORT) ? 1 : 0);
	struct rv_addr mapped = rv_addr_v4(q->src_ip, q->src_port);
	struct rv_addr origin = rv_addr_v4(a->ip[ip_idx], a->port[port_idx]);
	struct rv_addr changed = rv_addr_v4(a->ip[q->ip_idx ^ 1], a->port[q->port_idx ^ 1]);
	/* OTHER-ADDRESS always names the alternate IP with the other port, as
	 * coturn does: RFC 5780 clients (turnutils_natdiscovery) send mapping
	 * test III to test II's OTHER-ADDRESS, which must then be
	 * (alternate IP, alternate port) or address-dependent mapping reads
	 * as port-dependent. From the primary IP this is also RFC 5780's
	 * "change IP and port" source, which the other clients use. */
	struct rv_addr other = rv_addr_v4(a->ip[1], a->port[q->port_idx ^ 1]);
	size_t room = (size_t)cap - PAYLOAD_OFF;
	size_t ip_max = ctx->max_answer > ctx->mtu ? ctx->max_answer : ctx->mtu;
	struct rv_stun_enc e;

	/* Past the MTU only when the caller fragments; PADDING is mirrored at
	 * its request length, never more, so a padded answer exceeds its
	 * request by the same few attributes as an unpadded one. */
	if (room > ip_max - IP_LEN - UDP_LEN)
		room = ip_max - IP_LEN - UDP_LEN;
	rv_stun_enc_init_id(&e, frame + PAYLOAD_OFF, room, q->method,
	                    q->error ? RV_STUN_ERROR : RV_STUN_SUCCESS, q->id);
	if (q->error) {
		rv_stun_enc_error(&e, q->error,
		                  q->error == 420 ? "Unknown Attribute" : "Bad Request");
		if (q->n_unknown)
			rv_stun_enc_unknown(&e, q->unknown, q->n_unknown);
	} else if (q->probe) {
		rv_probe_answer(&e, q->key, &q->pr, &mapped);
	} else if (q->classic) {
		/* RFC 3489 §11.2: a client discards answers with attributes it
		 * does not know below 0x7fff, so only the classic three. */
		rv_stun_enc_addr(&e, RV_SA_MAPPED_ADDRESS, &mapped, false);
		rv_stun_enc_addr(&e, RV_SA_SOURCE_ADDRESS, &origin, false);
		rv_stun_enc_addr(&e, RV_SA_CHANGED_ADDRESS, &changed, false);
	} else {
		rv_stun_enc_addr(&e, RV_SA_XOR_MAPPED_ADDRESS, &mapped, true);
		rv_stun_enc_addr(&e, RV_SA_RESPONSE_ORIGIN, &origin, false);
		rv_stun_enc_addr(&e, RV_SA_OTHER_ADDRESS, &other, false);
		if (q->padding) {
			uint8_t *v = rv_stun_enc_attr_reserve(&e, RV_SA_PADDING, q->padding);
			if (v)
				memset(v, 0, q->padding);
		}
	}
	if (q->fingerprint || q->probe)
		put_fingerprint(ctx, &e);
	return rv_stun_enc_finish(&e);
}

static enum dp_verdict answer(const struct dp_pkt_ctx *ctx, const struct ask *q, uint8_t *frame,
                              uint16_t *len, uint16_t cap, uint16_t req_len)
{
	const struct dp_addrs *a = ctx->addrs;
	uint8_t ip_idx = q->ip_idx ^ ((q->change & RV_STUN_CHANGE_IP) ? 1 : 0);
	uint8_t port_idx = q->port_idx ^ ((q->change & RV_STUN_CHANGE_PORT) ? 1 : 0);
	uint8_t *ip = frame + ETH_LEN;
	enum dp_ctr what;
	int n = build_stun(ctx, q, frame, cap);

	if (n < 0)
		return drop(ctx, DP_C_DROP_TOO_BIG);
	/* Authenticated probes are limited per session (binds per relay). */
	if (!q->probe && !budget_ok(ctx, q->src_ip, req_len, (uint32_t)n))
		return DP_DROP;
	/* IP first: the UDP checksum covers the pseudo header's addresses. */
	ip_finish(ip, (uint16_t)(IP_LEN + UDP_LEN + n), a->ip[ip_idx], q->src_ip);
	udp_finish(ip, a->port[port_idx], q->dst_port, (uint16_t)n);
	eth_reply(frame, a->mac);
	if (q->error)
		what = q->error == 420 ? DP_C_TX_ERROR_420 : DP_C_TX_ERROR_400;
	else if (q->bind)
		what = DP_C_TX_RELAY_BIND;
	else if (q->probe)
		what = DP_C_TX_PROBE;
	else if (q->classic)
		what = DP_C_TX_BINDING_CLASSIC;
	else if (q->change)
		what = DP_C_TX_BINDING_CHANGED;
	else
		what = DP_C_TX_BINDING;
	return tx(ctx, what, len, (uint16_t)(PAYLOAD_OFF + n));
}

/* A relay bind (WIRE.md "Relaying"): RV-PROBE {session = relay ID, kind
 * RELAY, flags = side} MACed with the relay key, at the primary address
 * and port (where the side's ChannelData will come from the same NAT
 * mapping). Answered like a session probe; the caller hands the side's
 * observed endpoint to the control thread, the index's only writer. */
static enum dp_verdict relay_bind(const struct dp_pkt_ctx *ctx, const struct rv_stun_msg *m,
                                  struct ask *q)
{
	struct dp_relay_ref ref;

	if (q->pr.flags & ~RV_PROBE_SIDE)
		return drop(ctx, DP_C_DROP_BIND_FLAGS);
	if (q->ip_idx != 0 || q->port_idx != 0)
		return drop(ctx, DP_C_DROP_RELAY_ADDR);
	if (!ctx->relays || dp_relay_lookup(ctx->relays, q->pr.session, ctx->now_ms, &ref) < 0)
		return drop(ctx, DP_C_DROP_BIND_NO_RELAY);
	if (!rv_probe_verify(ref.key, rv_stun_txid(m), &q->pr, NULL))
		return drop(ctx, DP_C_DROP_BIND_BAD_MAC);
	if (!dp_relay_bind_rate(&ref, ctx->now_ms))
		return drop(ctx, DP_C_DROP_BIND_RATE);
	memcpy(q->key, ref.key, DP_KEY_LEN);
	q->probe = q->bind = true;
	return DP_TX; /* the caller answers */
}

/* The authenticated probe: session, MAC, rate; then record what we saw. */
static enum dp_verdict probe(const struct dp_pkt_ctx *ctx, const struct rv_stun_msg *m,
                             struct ask *q)
{
	const struct rv_stun_attr *a = &m->attrs[0];
	struct dp_ref ref;
	struct dp_obs o;

	if (a->len != RV_PROBE_LEN)
		return drop(ctx, DP_C_DROP_PROBE_MALFORMED);
	rv_probe_read(rv_stun_value(m, a), &q->pr);
	if (q->pr.kind == RV_PROBE_RELAY)
		return relay_bind(ctx, m, q);
	if (q->pr.kind < RV_PROBE_DELTA || q->pr.kind >= RV_PROBE_RELAY || q->pr.flags)
		return drop(ctx, DP_C_DROP_PROBE_MALFORMED);
	if (!ctx->table || dp_table_lookup(ctx->table, q->pr.session, ctx->now_ms, &ref) < 0)
		return drop(ctx, DP_C_DROP_PROBE_NO_SESSION);
	if (!rv_probe_verify(ref.key, rv_stun_txid(m), &q->pr, NULL))
		return drop(ctx, DP_C_DROP_PROBE_BAD_MAC);
	if (!dp_table_rate(&ref, ctx->now_ms))
		return drop(ctx, DP_C_DROP_PROBE_RATE);
	o.t_ms = ctx->now_ms;
	o.ip = q->src_ip;
	o.port = q->src_port;
	o.seq = q->pr.seq;
	o.kind = q->pr.kind;
	dp_table_record(&ref, &o);
	memcpy(q->key, ref.key, DP_KEY_LEN);
	q->probe = true;
	return DP_TX; /* the caller answers */
}

static uint16_t stun_method(const uint8_t *stun_hdr)
{
	uint16_t type = rv_get_u16(stun_hdr);

	return (uint16_t)((type & 0x000f) | (type >> 1 & 0x0070) | (type >> 2 & 0x0f80));
}

static enum dp_verdict stun(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                            uint16_t cap, struct ask *q, const uint8_t *payload, uint16_t plen)
{
	struct rv_stun_msg m;
	uint16_t type = rv_get_u16(payload);
	uint16_t rport;
	int rc;

	memcpy(q->id, payload + 4, 16);
	q->method = stun_method(payload);
	q->classic = rv_get_u32(payload + 4) != RV_STUN_MAGIC;
	rc = rv_stun_decode(payload, plen, RV_STUN_DEC_CLASSIC_OK, &m);
	if (rc < 0) {
		/* A request we cannot parse still gets its 400 (RFC 8489 §6.3.1),
		 * under the budget; anything else malformed is only counted. */
		if ((type & 0x0110) != 0)
			return drop(ctx, DP_C_DROP_STUN_MALFORMED);
		q->error = 400;
		return answer(ctx, q, frame, len, cap, plen);
	}
	if (m.cls != RV_STUN_REQUEST)
		return drop(ctx, DP_C_DROP_STUN_NOT_REQUEST);
	q->fingerprint = m.fp_off != 0;
	/* RFC 8489 §7.3: a wrong FINGERPRINT means "not STUN": silence, even
	 * where the message would otherwise earn a 420. */
	if (q->fingerprint && rv_stun_check_fingerprint_with(&m, ctx->crc32) < 0)
		return drop(ctx, DP_C_DROP_STUN_MALFORMED);
	if (m.nunknown) {
		q->error = 420;
		q->n_unknown = m.nunknown < RV_STUN_MAX_UNKNOWN ? m.nunknown : RV_STUN_MAX_UNKNOWN;
		memcpy(q->unknown, m.unknown, q->n_unknown * sizeof(q->unknown[0]));
		return answer(ctx, q, frame, len, cap, plen);
	}
	if (m.method != RV_STUN_BINDING) {
		q->error = 400;
		return answer(ctx, q, frame, len, cap, plen);
	}
	(void)rv_stun_get_change_request(&m, &q->change);
	if (rv_stun_get_response_port(&m, &rport) == 0) {
		/* RFC 5780 §10: RESPONSE-PORT with PADDING could aim fragments. */
		if (rport == 0 || rv_stun_find(&m, RV_SA_PADDING)) {
			q->error = 400;
			q->change = 0;
			return answer(ctx, q, frame, len, cap, plen);
		}
		q->dst_port = rport;
	}
	if (m.slot[RV_SK_PADDING])
		q->padding = m.attrs[m.slot[RV_SK_PADDING] - 1].len;
	if (m.nattrs && m.attrs[0].type == RV_A_PROBE && !q->classic) {
		if (probe(ctx, &m, q) != DP_TX)
			return DP_DROP;
	}
	return answer(ctx, q, frame, len, cap, plen);
}

/* --- relaying ------------------------------------------------------------------ */

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for each 16-bit word m that
 * became m'. Only the addresses and ports change, so a valid checksum
 * stays valid without reading the payload. */
static uint16_t csum_update(uint16_t hc, const uint16_t *from, const uint16_t *to, int n)
{
	uint32_t sum = (uint16_t)~hc;

	for (int i = 0; i < n; i++)
		sum += (uint16_t)~from[i] + (uint32_t)to[i];
	return (uint16_t)~csum_fold(sum);
}

/* ChannelData (RFC 8656 §12.4) at our primary address and port: from a
 * bound side, its quota permitting, rewritten in place for the other side
 * — source our primary address and port, destination the other side's
 * bound endpoint, the payload as it came (same channel: one per relay;
 * any padding kept), checksums updated, and to the next hop it came from
 * (on a routed segment the frame's source MAC is the router's). Nothing
 * else is ever answered; the output is never longer than the input. */
static enum dp_verdict relay(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                             uint32_t src, uint16_t sport, int ip_idx, int port_idx, uint16_t plen)
{
	uint8_t *ip = frame + ETH_LEN, *u = ip + IP_LEN;
	const struct dp_addrs *a = ctx->addrs;
	struct dp_relay_dst to;
	uint16_t ch, n, from[6], now[6], sum;

	if (ip_idx != 0 || port_idx != 0)
		return drop(ctx, DP_C_DROP_RELAY_ADDR);
	if (rv_relay_parse(u + UDP_LEN, plen, &ch, &n) < 0)
		return drop(ctx, DP_C_DROP_RELAY_MALFORMED);
	if (IP_LEN + UDP_LEN + plen > ctx->mtu)
		return drop(ctx, DP_C_DROP_TOO_BIG); /* reassembled: never cut again */
	if (!ctx->relays)
		return drop(ctx, DP_C_DROP_RELAY_NO_ROUTE);
	switch (dp_relay_route(ctx->relays, src, sport, ch, n, ctx->now_ms, &to)) {
	case DP_RELAY_PASS:
		break;
	case DP_RELAY_NO_ROUTE:
		return drop(ctx, DP_C_DROP_RELAY_NO_ROUTE);
	case DP_RELAY_UNBOUND:
		return drop(ctx, DP_C_DROP_RELAY_UNBOUND);
	case DP_RELAY_EXPIRED:
		return drop(ctx, DP_C_DROP_RELAY_EXPIRED);
	case DP_RELAY_OVER_BYTES:
		return drop(ctx, DP_C_DROP_RELAY_OVER_BYTES);
	default:
		return drop(ctx, DP_C_DROP_RELAY_OVER_RATE);
	}
	for (int i = 0; i < 6; i++)
		from[i] = rv_get_u16(ip + 12 + 2 * i); /* src, dst, then sport, dport */
	ip_finish(ip, (uint16_t)(IP_LEN + UDP_LEN + plen), a->ip[0], to.ip);
	rv_put_u16(u, a->port[0]);
	rv_put_u16(u + 2, to.port);
	for (int i = 0; i < 6; i++)
		now[i] = rv_get_u16(ip + 12 + 2 * i);
	if (rv_get_u16(u + 6) == 0) {
		/* It came without a checksum: give it one (reads the payload). */
		udp_finish(ip, a->port[0], to.port, plen);
	} else {
		sum = csum_update(rv_get_u16(u + 6), from, now, 6);
		rv_put_u16(u + 6, sum ? sum : 0xffff);
	}
	eth_reply(frame, a->mac);
	ctx->ctr[DP_C_RELAY_BYTES] += n;
	return tx(ctx, DP_C_TX_RELAY, len, (uint16_t)(PAYLOAD_OFF + plen));
}

/* --- IPv4 / UDP ---------------------------------------------------------------- */

static enum dp_verdict udp(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                           uint16_t cap, uint16_t ip_total, uint32_t src, int ip_idx, bool csum_ok,
                           struct dp_punt_info *punt)
{
	uint8_t *ip = frame + ETH_LEN, *u = ip + IP_LEN;
	uint16_t ulen, sport, plen;
	const uint8_t *payload;
	int port_idx;
	struct ask q;

	if (ip_total < IP_LEN + UDP_LEN)
		return drop(ctx, DP_C_DROP_UDP_BAD);
	ulen = rv_get_u16(u + 4);
	if (ulen < UDP_LEN || ulen > ip_total - IP_LEN)
		return drop(ctx, DP_C_DROP_UDP_BAD);
	port_idx = our_port(ctx->addrs, rv_get_u16(u + 2));
	if (port_idx < 0)
		return drop(ctx, DP_C_DROP_NOT_OURS_PORT);
	sport = rv_get_u16(u);
	if (sport == 0)
		return drop(ctx, DP_C_DROP_UDP_BAD);
	payload = u + UDP_LEN;
	plen = (uint16_t)(ulen - UDP_LEN);
	/* RFC 7983: first byte 64-79 is ChannelData, 0-3 STUN. A relay
	 * forwards like a router: it never reads the data, and its checksum
	 * update (RFC 1624) carries a corrupted datagram's error to the
	 * receiver, whose stack drops it — so only what we answer is summed
	 * here (software summing of 512-byte data halved the relay's rate). */
	if (rv_relay_is_chdata(payload, plen))
		return relay(ctx, frame, len, src, sport, ip_idx, port_idx, plen);
	if (rv_get_u16(u + 6) != 0 && !csum_ok &&
	    csum_fold(udp_pseudo(ip, ulen) + csum_add(0, u, ulen)) != 0xffff)
		return drop(ctx, DP_C_DROP_UDP_BAD);
	if (!rv_stun_is_stun(payload, plen, true))
		return drop(ctx, DP_C_DROP_NOT_STUN);

	/* Project methods go to rvcontrol, whatever their class; everything
	 * else, probes included, is the Binding responder's. */
	if (rv_msg_is_project(payload, plen) && stun_method(payload) >= RV_M_FIRST) {
		if (!budget_ok(ctx, src, plen, plen))
			return DP_DROP;
		punt->src = rv_addr_v4(src, sport);
		punt->dst = rv_addr_v4(ctx->addrs->ip[ip_idx], ctx->addrs->port[port_idx]);
		memcpy(punt->src_mac, frame + 6, 6);
		punt->payload_off = PAYLOAD_OFF;
		punt->payload_len = plen;
		ctx->ctr[DP_C_PUNT]++;
		return DP_PUNT;
	}

	q = (struct ask){ .ip_idx = (uint8_t)ip_idx,
		          .port_idx = (uint8_t)port_idx,
		          .src_ip = src,
		          .src_port = sport,
		          .dst_port = sport };
	if (stun(ctx, frame, len, cap, &q, payload, plen) != DP_TX)
		return DP_DROP;
	if (!q.bind)
		return DP_TX;
	punt->src = rv_addr_v4(src, sport);
	punt->relay = q.pr.session;
	punt->side = q.pr.flags & RV_PROBE_SIDE;
	return DP_BIND;
}

/* whole: a datagram dp_frag reassembled (already counted in RX). */
static enum dp_verdict handle(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                              uint16_t cap, struct dp_punt_info *punt, bool whole)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint16_t n = *len, etype, total, frag;
	uint8_t *ip;
	uint32_t src, dst;
	int ip_idx;

	if (!whole) {
		ctx->ctr[DP_C_RX]++;
		ctx->ctr[DP_C_BYTES_IN] += n;
	}
	if (n < ETH_LEN)
		return drop(ctx, DP_C_DROP_SHORT);
	if (memcmp(frame, ctx->addrs->mac, 6) != 0 && memcmp(frame, bcast, 6) != 0)
		return drop(ctx, DP_C_DROP_NOT_OURS_MAC);
	etype = rv_get_u16(frame + 12);
	if (etype == ETH_P_ARP)
		return arp(ctx, frame, len);
	if (etype == ETH_P_IPV6)
		return drop(ctx, DP_C_DROP_IPV6);
	if (etype != ETH_P_IP)
		return drop(ctx, DP_C_DROP_ETHERTYPE);
	if (n < ETH_LEN + IP_LEN)
		return drop(ctx, DP_C_DROP_SHORT);
	ip = frame + ETH_LEN;
	if (ip[0] >> 4 != 4 || (ip[0] & 15) < 5)
		return drop(ctx, DP_C_DROP_IP_BAD);
	if ((ip[0] & 15) != 5)
		return drop(ctx, DP_C_DROP_IP_OPTIONS);
	total = rv_get_u16(ip + 2);
	if (total < IP_LEN || total > n - ETH_LEN)
		return drop(ctx, DP_C_DROP_IP_BAD);
	frag = rv_get_u16(ip + 6) & 0x3fff; /* MF or an offset */
	if (csum_fold(csum_add(0, ip, IP_LEN)) != 0xffff)
		return drop(ctx, DP_C_DROP_IP_BAD);
	src = rv_get_u32(ip + 12);
	dst = rv_get_u32(ip + 16);
	ip_idx = our_ip(ctx->addrs, dst);
	if (ip_idx < 0)
		return drop(ctx, DP_C_DROP_NOT_OURS_IP);
	if (martian(ctx->addrs, src))
		return drop(ctx, DP_C_DROP_IP_BAD);
	if (frag) {
		/* dp_frag_input counts its outcome (reassembly keeps no mbuf). */
		if (ctx->reassembly && !whole)
			return DP_FRAG;
		return drop(ctx, DP_C_DROP_IP_FRAG);
	}
	switch (ip[9]) {
	case 17:
		return udp(ctx, frame, len, cap, total, src, ip_idx, ctx->l4_csum_ok && !whole,
		           punt);
	case 1:
		return icmp(ctx, frame, len, total, src, dst);
	default:
		return drop(ctx, DP_C_DROP_PROTO);
	}
}

enum dp_verdict dp_pkt_handle(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                              uint16_t cap, struct dp_punt_info *punt)
{
	return handle(ctx, frame, len, cap, punt, false);
}

enum dp_verdict dp_pkt_handle_reassembled(const struct dp_pkt_ctx *ctx, uint8_t *frame,
                                          uint16_t *len, uint16_t cap, struct dp_punt_info *punt)
{
	return handle(ctx, frame, len, cap, punt, true);
}

bool dp_pkt_probe_session(const uint8_t *frame, uint16_t len, uint64_t *session)
{
	const uint8_t *stun = frame + PAYLOAD_OFF, *v = stun + RV_STUN_HDR_LEN + 4;

	if (len < PAYLOAD_OFF + RV_STUN_HDR_LEN + 4 + RV_PROBE_LEN ||
	    rv_get_u16(frame + 12) != ETH_P_IP || frame[ETH_LEN] != 0x45 ||
	    frame[ETH_LEN + 9] != 17 || (stun[0] & 0xc1) != 0 || (stun[1] & 0x10) != 0 ||
	    rv_get_u32(stun + 4) != RV_STUN_MAGIC ||
	    rv_get_u16(stun + RV_STUN_HDR_LEN) != RV_A_PROBE || v[8] == RV_PROBE_RELAY)
		return false;
	*session = rv_get_u64(v);
	return true;
}

int dp_pkt_build_udp(uint8_t *frame, size_t cap, const uint8_t src_mac[6], const uint8_t dst_mac[6],
                     const struct rv_addr *src, const struct rv_addr *dst, const uint8_t *payload,
                     size_t payload_len)
{
	if (src->family != RV_AF_INET || dst->family != RV_AF_INET)
		return -EAFNOSUPPORT;
	if (payload_len > 0xffff - IP_LEN - UDP_LEN || PAYLOAD_OFF + payload_len > cap)
		return -ENOSPC;
	memcpy(frame, dst_mac, 6);
	memcpy(frame + 6, src_mac, 6);
	rv_put_u16(frame + 12, ETH_P_IP);
	memmove(frame + PAYLOAD_OFF, payload, payload_len);
	frame[ETH_LEN + 9] = 17;
	ip_finish(frame + ETH_LEN, (uint16_t)(IP_LEN + UDP_LEN + payload_len), rv_addr_v4_host(src),
	          rv_addr_v4_host(dst));
	udp_finish(frame + ETH_LEN, src->port, dst->port, (uint16_t)payload_len);
	return (int)(PAYLOAD_OFF + payload_len);
}
