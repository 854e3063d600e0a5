/* rvdp's packet handler on relays (proto/WIRE.md "Relaying"), with the real
 * relay tables: binds answered and handed over, ChannelData rewritten in
 * place and checked field by field, every refusal by its reason. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "dpdk-app/dp_pkt.h"
#include "frames.h"
#include "proto/msg.h"
#include "proto/relay.h"
#include "proto/stun.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define NOW            1795000000000ull

static const uint8_t srv_mac[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t gw_a[6] = { 2, 0, 0, 0, 0, 0xa };  /* the router A's traffic comes through */
static const uint8_t gw_b[6] = { 2, 0, 0, 0, 0, 0xb };  /* ... and B's */
static const uint8_t gw_x[6] = { 2, 0, 0, 0, 0, 0x99 }; /* a stranger's */

static const struct dp_addrs addrs = {
	.mac = { 2, 0, 0, 0, 0, 1 },
	.ip = { IP(192, 0, 2, 1), IP(192, 0, 2, 2) },
	.port = { 3478, 3479 },
};

#define SRV  "192.0.2.1:3478"
#define A    "198.51.100.7:40000" /* the caller's NAT */
#define B    "203.0.113.9:50000"  /* the callee's NAT */
#define X    "192.0.2.66:40000"   /* someone else */
#define RID  0x7e1a7000000000a1ull
#define RID2 0x7e1a7000000000a2ull
#define CH   0x4321
#define CH2  0x4abc

static const uint8_t rkey[16] = { 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xaf };
static const uint8_t rkey2[16] = { 0xb0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xbf };
static const uint8_t txid[12] = { 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
	                          0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc };

static uint64_t ctr[DP_C_COUNT];
static struct dp_relays *rt;

static uint32_t crc(const void *p, size_t n)
{
	return rv_crc32(0, p, n);
}

static struct dp_pkt_ctx ctx(void)
{
	struct dp_pkt_ctx c = { .addrs = &addrs,
		                .relays = rt,
		                .now_us = 1000000,
		                .now_ms = NOW,
		                .mtu = 1500,
		                .crc32 = crc,
		                .ctr = ctr };
	memset(ctr, 0, sizeof(ctr));
	return c;
}

static void grant(uint64_t id, const uint8_t *key, uint16_t ch, struct rv_relay_quota q)
{
	struct dp_relay_grant g = { .relay = id, .channel = ch, .quota = q };

	memcpy(g.key, key, 16);
	cr_assert_eq(dp_relay_set(rt, &g, NOW), 0);
}

/* Relay RID on channel CH (no limits but an hour), binds 3/s burst 3;
 * relay RID2 on CH2, a third party's. */
static void setup(void)
{
	urcu_qsbr_register_thread();
	rt = dp_relay_create(99, 16, 1024, 3, 3);
	cr_assert_not_null(rt);
	grant(RID, rkey, CH, (struct rv_relay_quota){ .expires_ms = NOW + 3600000 });
	grant(RID2, rkey2, CH2, (struct rv_relay_quota){ .expires_ms = NOW + 3600000 });
}

static void teardown(void)
{
	urcu_qsbr_quiescent_state();
	urcu_qsbr_barrier();
	dp_relay_destroy(rt);
	urcu_qsbr_unregister_thread();
}

TestSuite(bind, .init = setup, .fini = teardown);
TestSuite(chdata, .init = setup, .fini = teardown);

static struct rv_addr addr(const char *s)
{
	struct rv_addr a;

	cr_assert_eq(rv_addr_parse(s, 0, &a), 0, "%s", s);
	return a;
}

/* A UDP frame from src (behind router mac) to dst. */
static uint16_t udp(uint8_t *f, size_t cap, const char *src, const uint8_t *mac, const char *dst,
                    const uint8_t *payload, size_t n)
{
	struct rv_addr s = addr(src), d = addr(dst);
	int len = dp_pkt_build_udp(f, cap, mac, srv_mac, &s, &d, payload, n);

	cr_assert_gt(len, 0);
	return (uint16_t)len;
}

/* A binding probe: RV-PROBE {relay, kind RELAY, flags, seq} under key. */
static size_t bind_req(uint8_t *buf, size_t cap, uint64_t relay, uint8_t flags, const uint8_t *key)
{
	struct rv_msg m;
	int n;

	rv_msg_init(&m, RV_M_BINDING, RV_STUN_REQUEST, txid);
	m.probe = (struct rv_probe){
		.session = relay, .kind = RV_PROBE_RELAY, .flags = flags, .seq = 9
	};
	rv_probe_mac(key, txid, &m.probe, NULL, m.probe.mac);
	m.present |= RV_BIT(RV_F_PROBE);
	n = rv_msg_encode(&m, buf, cap, NULL, 0);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

/* ChannelData on ch carrying n bytes of a recognisable pattern. */
static size_t chdata(uint8_t *buf, uint16_t ch, uint16_t n)
{
	rv_relay_put_hdr(buf, ch, n);
	for (uint16_t i = 0; i < n; i++)
		buf[RV_RELAY_HDR + i] = (uint8_t)(i * 7 + 3);
	return RV_RELAY_HDR + (size_t)n;
}

static enum dp_verdict run(struct dp_pkt_ctx *c, uint8_t *f, uint16_t *len, struct dp_punt_info *p)
{
	return dp_pkt_handle(c, f, len, 2048, p);
}

/* What rvdp's control thread does with a DP_BIND. */
static void apply(const struct dp_punt_info *p)
{
	cr_assert_geq(
	        dp_relay_bind(rt, p->relay, p->side, rv_addr_v4_host(&p->src), p->src.port, NOW),
	        0);
}

/* Side `side` of relay id binds from src through mac; the answer is
 * checked like a session probe's. */
static void bind_from(const char *src, const uint8_t *mac, uint64_t id, const uint8_t *key,
                      unsigned side)
{
	uint8_t pl[128], f[2048];
	struct dp_pkt_ctx c = ctx();
	struct dp_punt_info p;
	struct rv_addr seen = addr(src);
	struct rv_msg reply;
	uint16_t len = udp(f, sizeof(f), src, mac, SRV, pl,
	                   bind_req(pl, sizeof(pl), id, side ? RV_PROBE_SIDE : 0, key));

	cr_assert_eq(run(&c, f, &len, &p), DP_BIND);
	cr_assert_eq(ctr[DP_C_TX_RELAY_BIND], 1);
	cr_assert_eq(ctr[DP_C_TX_PROBE], 0, "a bind is not a session probe");
	cr_assert(rv_addr_eq(&p.src, &seen), "the observed endpoint is handed over");
	cr_assert_eq(p.relay, id);
	cr_assert_eq(p.side, side);
	/* The answer: to the sender's router, from our primary address. */
	cr_assert_arr_eq(f, mac, 6);
	cr_assert_arr_eq(f + 6, srv_mac, 6);
	cr_assert_eq(rv_get_u32(f + 26), IP(192, 0, 2, 1));
	cr_assert_eq(rv_get_u32(f + 30), rv_addr_v4_host(&seen));
	cr_assert_eq(rv_get_u16(f + 34), 3478);
	cr_assert_eq(rv_get_u16(f + 36), seen.port);
	cr_assert(sum_ok(f + 14, 20, 0), "IP checksum");
	cr_assert(sum_ok(f + 34, len - 34u, udp_pseudo_sum(f + 14, (uint16_t)(len - 34))),
	          "UDP checksum");
	cr_assert_eq(rv_msg_decode(f + 42, len - 42u, &reply, NULL), 0);
	cr_assert_eq(reply.cls, RV_STUN_SUCCESS);
	cr_assert_eq(reply.probe.flags, RV_PROBE_REPLY);
	cr_assert_eq(reply.probe.kind, RV_PROBE_RELAY);
	cr_assert_eq(reply.probe.session, id);
	cr_assert(rv_addr_eq(&reply.mapped, &seen));
	cr_assert(rv_probe_verify(key, txid, &reply.probe, &seen),
	          "the reply MAC, under the relay key, binds what we saw");
	apply(&p);
}

static void bind_both(void)
{
	bind_from(A, gw_a, RID, rkey, 0);
	bind_from(B, gw_b, RID, rkey, 1);
}

/* --- binds -------------------------------------------------------------------- */

Test(bind, each_side_binds_with_the_relay_key_and_is_answered_like_a_probe)
{
	struct rv_dpc_relay_side side[2];
	uint8_t flags;
	char buf[RV_ADDR_STRLEN];

	bind_both();
	cr_assert_eq(dp_relay_query(rt, RID, NOW, side, &flags), 0);
	cr_assert_str_eq(rv_addr_fmt(&side[0].bound, buf, sizeof(buf)), A);
	cr_assert_str_eq(rv_addr_fmt(&side[1].bound, buf, sizeof(buf)), B);
}

struct bind_case {
	char name[48];
	char src[24], dst[24];
	uint64_t relay;
	uint8_t flags;
	int wrong_key;
	uint64_t later_ms;
	char counter[24];
};

ParameterizedTestParameters(bind, a_bad_bind_is_dropped_with_its_reason_and_never_answered)
{
	static struct bind_case c[] = {
		{ "MAC under another key", A, SRV, RID, 0, 1, 0, "drop_bind_bad_mac" },
		{ "MAC under the session-like zero key", A, SRV, RID, 0, 2, 0,
		  "drop_bind_bad_mac" },
		{ "unknown relay", A, SRV, 0x1234, 0, 0, 0, "drop_bind_no_relay" },
		{ "expired relay", A, SRV, RID, 0, 0, 3600000, "drop_bind_no_relay" },
		{ "flags 0x02", A, SRV, RID, 0x02, 0, 0, "drop_bind_flags" },
		{ "flags 0x81 (reply bit)", A, SRV, RID, 0x81, 0, 0, "drop_bind_flags" },
		{ "to the alternate address", A, "192.0.2.2:3478", RID, 0, 0, 0,
		  "drop_relay_addr" },
		{ "to the alternate port", A, "192.0.2.1:3479", RID, 0, 0, 0, "drop_relay_addr" },
	};
	return cr_make_param_array(struct bind_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct bind_case *bc, bind,
                  a_bad_bind_is_dropped_with_its_reason_and_never_answered)
{
	static const uint8_t zero[16] = { 0 };
	uint8_t pl[128], f[2048], before[2048];
	struct dp_pkt_ctx c = ctx();
	struct dp_punt_info p;
	struct rv_dpc_relay_side side[2];
	uint8_t flags;
	const uint8_t *key = bc->wrong_key == 1 ? rkey2 : bc->wrong_key == 2 ? zero : rkey;
	uint16_t len = udp(f, sizeof(f), bc->src, gw_a, bc->dst, pl,
	                   bind_req(pl, sizeof(pl), bc->relay, bc->flags, key));
	uint64_t hits = 0;

	memcpy(before, f, len);
	c.now_ms += bc->later_ms;
	cr_assert_eq(run(&c, f, &len, &p), DP_DROP, "%s", bc->name);
	cr_assert_arr_eq(f, before, len, "%s: the frame is not rewritten", bc->name);
	for (int k = 0; k < DP_C_COUNT; k++)
		if (!strcmp(dp_ctr_name((enum dp_ctr)k), bc->counter))
			hits = ctr[k];
	cr_assert_eq(hits, 1, "%s: counted as %s", bc->name, bc->counter);
	cr_assert_eq(ctr[DP_C_TX_RELAY_BIND] + ctr[DP_C_TX_PROBE] + ctr[DP_C_BYTES_OUT], 0);
	cr_assert_eq(dp_relay_query(rt, RID, NOW, side, &flags), 0);
	cr_assert_eq(side[0].bound.family, RV_AF_NONE, "%s: nothing bound", bc->name);
}

Test(bind, binds_are_limited_per_relay_and_not_by_the_source_budget)
{
	uint8_t pl[128], f[2048];
	struct dp_pkt_ctx c = ctx();
	struct dp_punt_info p;
	int answered = 0;

	for (int i = 0; i < 5; i++) {
		uint16_t len =
		        udp(f, sizeof(f), A, gw_a, SRV, pl, bind_req(pl, sizeof(pl), RID, 0, rkey));
		answered += run(&c, f, &len, &p) == DP_BIND;
	}
	cr_assert_eq(answered, 3, "burst 3");
	cr_assert_eq(ctr[DP_C_DROP_BIND_RATE], 2);
	c.now_ms += 334; /* 3/s: one token */
	uint16_t len = udp(f, sizeof(f), B, gw_b, SRV, pl,
	                   bind_req(pl, sizeof(pl), RID, RV_PROBE_SIDE, rkey));
	cr_assert_eq(run(&c, f, &len, &p), DP_BIND, "both sides share the relay's bucket");
}

Test(bind, without_relay_tables_a_bind_finds_no_relay)
{
	uint8_t pl[128], f[2048];
	struct dp_pkt_ctx c = ctx();
	struct dp_punt_info p;
	uint16_t len = udp(f, sizeof(f), A, gw_a, SRV, pl, bind_req(pl, sizeof(pl), RID, 0, rkey));

	c.relays = NULL;
	cr_assert_eq(run(&c, f, &len, &p), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_BIND_NO_RELAY], 1);
}

/* --- ChannelData ------------------------------------------------------------------ */

/* The forwarded frame, field by field: from our primary address and port
 * to `to`, through the router the datagram came from, payload as sent. */
static void assert_forwarded(const uint8_t *f, uint16_t len, const uint8_t *next_hop,
                             const char *to, const uint8_t *payload, size_t n)
{
	const uint8_t *ip = f + 14, *u = f + 34;
	struct rv_addr d = addr(to);

	cr_assert_eq(len, 42 + n, "nothing added, nothing cut");
	cr_assert_arr_eq(f, next_hop, 6, "Ethernet destination: the router it came from");
	cr_assert_arr_eq(f + 6, srv_mac, 6, "Ethernet source: ours");
	cr_assert_eq(rv_get_u16(f + 12), 0x0800);
	cr_assert_eq(ip[0], 0x45);
	cr_assert_eq(rv_get_u16(ip + 2), 28 + n, "IP total length");
	cr_assert_eq(rv_get_u16(ip + 6) & 0x3fff, 0, "not a fragment");
	cr_assert_gt(ip[8], 0, "TTL");
	cr_assert_eq(ip[9], 17);
	cr_assert(sum_ok(ip, 20, 0), "IP header checksum");
	cr_assert_eq(rv_get_u32(ip + 12), IP(192, 0, 2, 1), "IP source: our primary address");
	cr_assert_eq(rv_get_u32(ip + 16), rv_addr_v4_host(&d), "IP destination: the partner");
	cr_assert_eq(rv_get_u16(u), 3478, "UDP source: our primary port");
	cr_assert_eq(rv_get_u16(u + 2), d.port, "UDP destination: the partner's port");
	cr_assert_eq(rv_get_u16(u + 4), 8 + n, "UDP length");
	cr_assert_neq(rv_get_u16(u + 6), 0, "a UDP checksum");
	cr_assert(sum_ok(u, 8 + n, udp_pseudo_sum(ip, (uint16_t)(8 + n))), "UDP checksum");
	cr_assert_arr_eq(f + 42, payload, n, "ChannelData byte for byte");
}

Test(chdata, each_bound_side_reaches_the_other_rewritten_in_place)
{
	uint8_t pl[1300], f[2048];
	struct dp_pkt_ctx c = ctx();
	struct dp_punt_info p;
	struct rv_dpc_relay_side side[2];
	uint8_t flags;
	size_t n = chdata(pl, CH, 1200);
	uint16_t len;

	bind_both();
	c = ctx();
	len = udp(f, sizeof(f), A, gw_a, SRV, pl, n);
	cr_assert_eq(run(&c, f, &len, &p), DP_TX);
	assert_forwarded(f, len, gw_a, B, pl, n);
	len = udp(f, sizeof(f), B, gw_b, SRV, pl, chdata(pl, CH, 17));
	cr_assert_eq(run(&c, f, &len, &p), DP_TX);
	assert_forwarded(f, len, gw_b, A, pl, RV_RELAY_HDR + 17);
	cr_assert_eq(ctr[DP_C_TX_RELAY], 2);
	cr_assert_eq(ctr[DP_C_RELAY_BYTES], 1217, "data bytes, as the quota counts them");
	cr_assert_eq(ctr[DP_C_BYTES_OUT], ctr[DP_C_BYTES_IN], "never more out than in");
	cr_assert_eq(dp_relay_query(rt, RID, NOW, side, &flags), 0);
	cr_assert_eq(side[0].packets, 1);
	cr_assert_eq(side[0].bytes, 1200);
	cr_assert_eq(side[1].packets, 1);
	cr_assert_eq(side[1].bytes, 17);
	cr_assert_eq(side[0].seen_ms, NOW);
}

Test(chdata, checksums_stay_right_for_every_length_and_port)
{
	uint8_t pl[1300], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	char src[32];

	bind_from(B, gw_b, RID, rkey, 1);
	for (unsigned i = 0; i < 256; i++) {
		uint16_t port = (uint16_t)(1 + i * 257 % 65535), n = (uint16_t)(i * 19 % 1225);
		struct rv_addr a;

		snprintf(src, sizeof(src), "198.51.%u.%u:%u", 100 + i % 3, 1 + i % 250, port);
		a = addr(src);
		/* Side 0 moves (binds straight into the table: dp_pkt's part of
		 * a bind is tested above, and its bucket holds 3). */
		cr_assert_eq(dp_relay_bind(rt, RID, 0, rv_addr_v4_host(&a), a.port, NOW), 1);
		c = ctx();
		uint16_t len = udp(f, sizeof(f), src, gw_a, SRV, pl, chdata(pl, CH, n));
		cr_assert_eq(run(&c, f, &len, &p), DP_TX, "%s, %u bytes", src, n);
		assert_forwarded(f, len, gw_a, B, pl, RV_RELAY_HDR + (size_t)n);
		len = udp(f, sizeof(f), B, gw_b, SRV, pl, chdata(pl, CH, n));
		cr_assert_eq(run(&c, f, &len, &p), DP_TX);
		assert_forwarded(f, len, gw_b, src, pl, RV_RELAY_HDR + (size_t)n);
		urcu_qsbr_quiescent_state();
	}
}

Test(chdata, a_datagram_sent_without_a_checksum_leaves_with_one)
{
	uint8_t pl[64], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	size_t n = chdata(pl, CH, 31);

	bind_both();
	c = ctx();
	uint16_t len = udp(f, sizeof(f), A, gw_a, SRV, pl, n);
	rv_put_u16(f + 40, 0);
	cr_assert_eq(run(&c, f, &len, &p), DP_TX);
	assert_forwarded(f, len, gw_a, B, pl, n);
}

Test(chdata, padding_is_kept_and_an_ethernet_trailer_is_not)
{
	uint8_t pl[64], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	size_t n = chdata(pl, CH, 5) + 3; /* 5 data bytes, 3 of padding (RFC 8656 12.5) */

	pl[n - 3] = pl[n - 2] = pl[n - 1] = 0;
	bind_both();
	c = ctx();
	uint16_t len = udp(f, sizeof(f), A, gw_a, SRV, pl, n);
	memset(f + len, 0xee, 10);
	len = (uint16_t)(len + 10); /* the NIC's frame is longer than its IP packet */
	cr_assert_eq(run(&c, f, &len, &p), DP_TX);
	assert_forwarded(f, len, gw_a, B, pl, n);
	cr_assert_eq(ctr[DP_C_RELAY_BYTES], 5, "the quota counts data, not padding");
	cr_assert_lt(ctr[DP_C_BYTES_OUT], ctr[DP_C_BYTES_IN]);
}

struct drop_case {
	char name[56];
	char src[24], dst[24];
	uint16_t channel, data, cut;
	uint8_t pad;
	int bound; /* 0: neither side, 1: A only, 2: both */
	struct rv_relay_quota q;
	uint64_t later_ms;
	uint16_t mtu;
	char counter[24];
};

ParameterizedTestParameters(chdata, everything_else_is_dropped_with_its_reason_and_never_answered)
{
	static struct drop_case c[] = {
		{ "a stranger", X, SRV, CH, 10, 0, 0, 2, { 0 }, 0, 0, "drop_relay_no_route" },
		{ "A on a third party's channel",
		  A,
		  SRV,
		  CH2,
		  10,
		  0,
		  0,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_relay_no_route" },
		{ "A from another port",
		  "198.51.100.7:40001",
		  SRV,
		  CH,
		  10,
		  0,
		  0,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_relay_no_route" },
		{ "nobody bound", A, SRV, CH, 10, 0, 0, 0, { 0 }, 0, 0, "drop_relay_no_route" },
		{ "B has not bound", A, SRV, CH, 10, 0, 0, 1, { 0 }, 0, 0, "drop_relay_unbound" },
		{ "over the byte quota",
		  A,
		  SRV,
		  CH,
		  101,
		  0,
		  0,
		  2,
		  { .bytes = 100 },
		  0,
		  0,
		  "drop_relay_over_bytes" },
		{ "past the expiry",
		  A,
		  SRV,
		  CH,
		  10,
		  0,
		  0,
		  2,
		  { .expires_ms = NOW + 1000 },
		  1000,
		  0,
		  "drop_relay_expired" },
		{ "over the rate (burst 0 at 1/s: the first waits)",
		  A,
		  SRV,
		  CH,
		  10,
		  0,
		  0,
		  2,
		  { .rate_pps = 1 },
		  0,
		  0,
		  "drop_relay_over_rate" },
		{ "length past the datagram",
		  A,
		  SRV,
		  CH,
		  10,
		  1,
		  0,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_relay_malformed" },
		{ "only a header's first 3 bytes",
		  A,
		  SRV,
		  CH,
		  0,
		  1,
		  0,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_not_stun" },
		{ "4 bytes after the data",
		  A,
		  SRV,
		  CH,
		  10,
		  0,
		  4,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_relay_malformed" },
		{ "to the alternate address",
		  A,
		  "192.0.2.2:3478",
		  CH,
		  10,
		  0,
		  0,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_relay_addr" },
		{ "to the alternate port",
		  A,
		  "192.0.2.1:3479",
		  CH,
		  10,
		  0,
		  0,
		  2,
		  { 0 },
		  0,
		  0,
		  "drop_relay_addr" },
		{ "larger than --mtu", A, SRV, CH, 600, 0, 0, 2, { 0 }, 0, 576, "drop_too_big" },
	};
	return cr_make_param_array(struct drop_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct drop_case *dc, chdata,
                  everything_else_is_dropped_with_its_reason_and_never_answered)
{
	uint8_t pl[1300], f[2048], before[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	struct rv_dpc_relay_side side[2];
	uint8_t flags;
	uint64_t hits = 0;
	size_t n;
	uint16_t len;

	if (dc->q.bytes || dc->q.expires_ms || dc->q.rate_pps)
		grant(RID, rkey, CH, dc->q);
	if (dc->bound >= 1)
		bind_from(A, gw_a, RID, rkey, 0);
	if (dc->bound >= 2)
		bind_from(B, gw_b, RID, rkey, 1);
	bind_from("192.0.2.77:7000", gw_x, RID2, rkey2, 0); /* the third party's relay */
	bind_from("192.0.2.78:7000", gw_x, RID2, rkey2, 1);
	n = chdata(pl, dc->channel, dc->data);
	memset(pl + n, 0, dc->pad);
	n += dc->pad;
	n -= dc->cut;
	c = ctx();
	if (dc->mtu)
		c.mtu = dc->mtu;
	c.now_ms += dc->later_ms;
	len = udp(f, sizeof(f), dc->src, gw_a, dc->dst, pl, n);
	memcpy(before, f, len);
	cr_assert_eq(run(&c, f, &len, &p), DP_DROP, "%s", dc->name);
	cr_assert_arr_eq(f, before, len, "%s: the frame is not rewritten", dc->name);
	for (int k = 0; k < DP_C_COUNT; k++)
		if (!strcmp(dp_ctr_name((enum dp_ctr)k), dc->counter))
			hits = ctr[k];
	cr_assert_eq(hits, 1, "%s: counted as %s", dc->name, dc->counter);
	cr_assert_eq(ctr[DP_C_TX_RELAY] + ctr[DP_C_RELAY_BYTES] + ctr[DP_C_BYTES_OUT], 0);
	cr_assert_eq(dp_relay_query(rt, RID, NOW, side, &flags), 0);
	cr_assert_eq(side[0].packets + side[1].packets + side[0].bytes + side[1].bytes, 0,
	             "%s: nothing charged", dc->name);
}

Test(chdata, a_refused_datagram_marks_the_relay_for_its_query)
{
	uint8_t pl[256], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	struct rv_dpc_relay_side side[2];
	uint8_t flags;

	grant(RID, rkey, CH, (struct rv_relay_quota){ .expires_ms = NOW + 3600000, .bytes = 150 });
	bind_both();
	c = ctx();
	uint16_t len = udp(f, sizeof(f), A, gw_a, SRV, pl, chdata(pl, CH, 100));
	cr_assert_eq(run(&c, f, &len, &p), DP_TX);
	len = udp(f, sizeof(f), B, gw_b, SRV, pl, chdata(pl, CH, 100));
	cr_assert_eq(run(&c, f, &len, &p), DP_DROP, "both directions share the quota");
	cr_assert_eq(ctr[DP_C_DROP_RELAY_OVER_BYTES], 1);
	cr_assert_eq(dp_relay_query(rt, RID, NOW, side, &flags), 0);
	cr_assert_eq(flags, RV_DPC_RELAY_OVER_BYTES);
	cr_assert_eq(side[1].dropped, 1);
}

Test(chdata, a_deleted_relay_forwards_nothing_more)
{
	uint8_t pl[64], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;

	bind_both();
	cr_assert_eq(dp_relay_del(rt, RID), 0);
	c = ctx();
	uint16_t len = udp(f, sizeof(f), A, gw_a, SRV, pl, chdata(pl, CH, 10));
	cr_assert_eq(run(&c, f, &len, &p), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_RELAY_NO_ROUTE], 1);
}

Test(chdata, each_frame_counts_exactly_one_outcome)
{
	uint8_t pl[1300], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	const char *from[] = { A, B, X, "198.51.100.7:1" };
	uint64_t outcomes = 0;

	bind_both();
	c = ctx();
	for (unsigned i = 0; i < 200; i++) {
		uint16_t len = udp(f, sizeof(f), from[i % 4], gw_a, i % 7 ? SRV : "192.0.2.2:3478",
		                   pl, chdata(pl, i % 3 ? CH : CH2, (uint16_t)(i * 5)));
		if (i % 11 == 0)
			len = (uint16_t)(len - 1);
		(void)run(&c, f, &len, &p);
	}
	for (int k = 0; k < DP_C_COUNT; k++)
		if (k != DP_C_RX && k != DP_C_BYTES_IN && k != DP_C_BYTES_OUT &&
		    k != DP_C_RELAY_BYTES)
			outcomes += ctr[k];
	cr_assert_eq(ctr[DP_C_RX], 200);
	cr_assert_eq(outcomes, 200);
	cr_assert_gt(ctr[DP_C_TX_RELAY], 0);
	cr_assert_leq(ctr[DP_C_BYTES_OUT], ctr[DP_C_BYTES_IN]);
}

/* A relay does not read the data: a datagram corrupted on the way in
 * leaves with its checksum still wrong by the same amount, so the
 * partner's stack drops it (as behind any router). */
Test(chdata, a_corrupted_datagram_leaves_still_failing_its_checksum)
{
	uint8_t pl[600], f[2048];
	struct dp_pkt_ctx c;
	struct dp_punt_info p;
	size_t n = chdata(pl, CH, 512);
	const uint8_t *u = f + 34;
	uint16_t len;

	bind_both();
	c = ctx();
	len = udp(f, sizeof(f), A, gw_a, SRV, pl, n);
	f[42 + 100] ^= 0x40; /* flipped in transit, after the sender summed it */
	cr_assert_eq(run(&c, f, &len, &p), DP_TX);
	cr_assert_eq(ctr[DP_C_TX_RELAY], 1);
	cr_assert_not(sum_ok(u, 8 + n, udp_pseudo_sum(f + 14, (uint16_t)(8 + n))),
	              "the partner sees a bad checksum");
	f[42 + 100] ^= 0x40;
	cr_assert(sum_ok(u, 8 + n, udp_pseudo_sum(f + 14, (uint16_t)(8 + n))),
	          "and only because of the flipped bit");
}
