/* rvdp's IPv4 fragments (dp_frag.h): every outcome of the shared table
 * (proto/ipfrag.h, tested on its own in tests/unit/proto/test_ipfrag.c)
 * lands in its rvdp counter, one per frame; the --frag-* settings; and the
 * whole path a PADDING test takes through rvdp — request in pieces, answer
 * above the MTU, answer out in pieces — without EAL. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_conf.h"
#include "dpdk-app/dp_frag.h"
#include "dpdk-app/dp_pkt.h"
#include "frames.h"
#include "proto/rv_buf.h"
#include "proto/stun.h"

#define SRV_MAC        "\x02\x00\x00\x00\x00\x01"
#define CLI_MAC        "\x02\x00\x00\x00\x00\x02"
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MAXP           8 /* pieces a test cuts */

static uint64_t ctr[DP_C_COUNT];

/* A UDP datagram of plen payload bytes (a counting pattern) from
 * 198.51.100.10:40000 to 192.0.2.1:3478, as dp_pkt builds them. */
static uint16_t datagram(uint8_t *f, size_t cap, size_t plen, uint8_t seed)
{
	uint8_t *p = malloc(plen + 1);
	struct rv_addr s, d;
	int n;

	for (size_t i = 0; i < plen; i++)
		p[i] = (uint8_t)(i * 7 + seed);
	cr_assert_eq(rv_addr_parse("198.51.100.10:40000", 0, &s), 0);
	cr_assert_eq(rv_addr_parse("192.0.2.1:3478", 0, &d), 0);
	n = dp_pkt_build_udp(f, cap, (const uint8_t *)CLI_MAC, (const uint8_t *)SRV_MAC, &s, &d, p,
	                     plen);
	free(p);
	cr_assert_gt(n, 0);
	return (uint16_t)n;
}

struct pieces {
	unsigned n;
	uint8_t f[MAXP][1600];
	uint16_t len[MAXP];
};

static void cut(const uint8_t *frame, uint16_t len, uint16_t mtu, uint16_t id, struct pieces *p)
{
	p->n = rv_frag_count(len, 14, mtu);
	cr_assert(p->n >= 2 && p->n <= MAXP, "%u pieces", p->n);
	for (unsigned i = 0; i < p->n; i++) {
		int n = rv_frag_split(frame, len, 14, mtu, id, i, p->f[i], sizeof(p->f[i]));
		cr_assert_gt(n, 0, "piece %u: %d", i, n);
		p->len[i] = (uint16_t)n;
	}
}

static struct rv_frag *table(uint32_t slots, uint32_t max_size, uint32_t max_frags,
                             uint32_t timeout_ms)
{
	struct dp_conf dc;
	struct rv_frag_conf c;
	struct rv_frag *f;

	dp_conf_defaults(&dc);
	dc.frag_slots = slots;
	dc.frag_max_size = max_size;
	dc.frag_max_frags = max_frags;
	dc.frag_timeout_ms = timeout_ms;
	c = dp_frag_conf(&dc, 42);
	cr_assert_eq(c.l2_len, 14, "Ethernet frames");
	f = calloc(1, rv_frag_size(&c));
	cr_assert_eq(rv_frag_init(f, &c), 0);
	memset(ctr, 0, sizeof(ctr));
	return f;
}

/* The per-frame outcome counters: exactly one of them per frame. */
static const enum dp_ctr per_frame[] = {
	DP_C_RX_FRAG,           DP_C_DROP_FRAG_PROTO,   DP_C_DROP_FRAG_BAD,      DP_C_DROP_FRAG_DUP,
	DP_C_DROP_FRAG_OVERLAP, DP_C_DROP_FRAG_TOO_BIG, DP_C_DROP_FRAG_TOO_MANY,
};

static uint64_t frames_counted(void)
{
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(per_frame) / sizeof(per_frame[0]); i++)
		n += ctr[per_frame[i]];
	return n;
}

/* One frame into the table; asserts it counted exactly one per-frame
 * outcome, and that it was want. */
static enum rv_frag_verdict one(struct rv_frag *t, const uint8_t *f, uint16_t len, uint64_t now,
                                enum dp_ctr want, struct rv_frag_res *r)
{
	uint64_t before = frames_counted(), had = ctr[want];
	enum rv_frag_verdict v = dp_frag_input(t, f, len, now, ctr, r);

	cr_assert_eq(frames_counted(), before + 1, "one outcome per frame");
	cr_assert_eq(ctr[want], had + 1, "counted as %s", dp_ctr_name(want));
	return v;
}

/* A hand-made piece of the train of f: payload bytes [off, off + n). */
static uint16_t piece(const uint8_t *f, uint32_t off, uint32_t n, bool more, uint8_t *out)
{
	memcpy(out, f, 34);
	memcpy(out + 34, f + 34 + off, n);
	rv_put_u16(out + 16, (uint16_t)(20 + n));
	rv_put_u16(out + 18, 77);
	rv_put_u16(out + 20, (uint16_t)(off / 8 | (more ? 0x2000 : 0)));
	return (uint16_t)(34 + n);
}

Test(counters, every_outcome_of_the_shared_table_lands_in_its_rvdp_counter)
{
	static uint8_t f[9100], out[2000];
	static struct pieces p;
	struct rv_frag *t = table(4, 9000, 3, 500); /* one bucket of 4 */
	struct rv_frag_res r;
	uint16_t len = datagram(f, sizeof(f), 3000, 6), n;

	cut(f, len, 1500, 9, &p);
	/* Kept, then complete: rx_frag each, rx_reassembled once. */
	cr_assert_eq(one(t, p.f[2], p.len[2], 1, DP_C_RX_FRAG, &r), RV_FRAG_HELD);
	cr_assert_eq(one(t, p.f[2], p.len[2], 1, DP_C_DROP_FRAG_DUP, &r), RV_FRAG_DROPPED);
	cr_assert_eq(one(t, p.f[0], p.len[0], 1, DP_C_RX_FRAG, &r), RV_FRAG_HELD);
	cr_assert_eq(one(t, p.f[1], p.len[1], 1, DP_C_RX_FRAG, &r), RV_FRAG_DONE);
	cr_assert_eq(ctr[DP_C_RX_REASSEMBLED], 1);
	cr_assert_eq(r.len, len);
	cr_assert_arr_eq(r.pkt, f, 14, "the Ethernet header");
	cr_assert_arr_eq(r.pkt + 34, f + 34, len - 34u);
	/* Refused pieces. */
	n = piece(f, 0, 1480, true, out);
	out[23] = 1;
	cr_assert_eq(one(t, out, n, 2, DP_C_DROP_FRAG_PROTO, &r), RV_FRAG_DROPPED, "ICMP");
	out[23] = 17;
	rv_put_u16(out + 12, 0x86dd);
	cr_assert_eq(one(t, out, n, 2, DP_C_DROP_FRAG_BAD, &r), RV_FRAG_DROPPED, "not IPv4");
	cr_assert_eq(one(t, out, 13, 2, DP_C_DROP_FRAG_BAD, &r), RV_FRAG_DROPPED, "runt");
	rv_put_u16(out + 12, 0x0800);
	n = piece(f, 0, 100, true, out);
	cr_assert_eq(one(t, out, n, 2, DP_C_DROP_FRAG_BAD, &r), RV_FRAG_DROPPED, "not 8 x n");
	n = piece(f, 0, 1480, true, out);
	cr_assert_eq(one(t, out, n, 2, DP_C_RX_FRAG, &r), RV_FRAG_HELD);
	n = piece(f, 1472, 100, false, out);
	cr_assert_eq(one(t, out, n, 2, DP_C_DROP_FRAG_OVERLAP, &r), RV_FRAG_DROPPED);
	n = piece(f, 8976, 8, false, out);
	cr_assert_eq(one(t, out, n, 2, DP_C_DROP_FRAG_TOO_BIG, &r), RV_FRAG_DROPPED);
	for (uint32_t k = 0; k < 3; k++) {
		n = piece(f, k * 8, 8, true, out);
		cr_assert_eq(one(t, out, n, 2, DP_C_RX_FRAG, &r), RV_FRAG_HELD);
	}
	n = piece(f, 24, 8, true, out);
	cr_assert_eq(one(t, out, n, 2, DP_C_DROP_FRAG_TOO_MANY, &r), RV_FRAG_DROPPED);
	cr_assert_eq(rv_frag_live(t), 0);
	cr_assert_eq(ctr[DP_C_DROP_FRAG_TIMEOUT] + ctr[DP_C_DROP_FRAG_EVICTED], 0);
	/* Trains that die: five in a bucket of four evicts one; a key coming
	 * back after the timeout and the sweep count the rest. */
	for (uint16_t id = 0; id < 5; id++) {
		rv_put_u16(p.f[0] + 18, id);
		cr_assert_eq(one(t, p.f[0], p.len[0], 10 + id, DP_C_RX_FRAG, &r), RV_FRAG_HELD);
	}
	cr_assert_eq(ctr[DP_C_DROP_FRAG_EVICTED], 1);
	rv_put_u16(p.f[0] + 18, 4);
	cr_assert_eq(one(t, p.f[0], p.len[0], 513, DP_C_DROP_FRAG_DUP, &r), RV_FRAG_DROPPED,
	             "499 ms: still held");
	cr_assert_eq(one(t, p.f[0], p.len[0], 514, DP_C_RX_FRAG, &r), RV_FRAG_HELD,
	             "500 ms: the old train times out, a new one starts");
	cr_assert_eq(ctr[DP_C_DROP_FRAG_TIMEOUT], 1);
	cr_assert_eq(dp_frag_expire(t, 2000, 4, ctr), 4);
	cr_assert_eq(ctr[DP_C_DROP_FRAG_TIMEOUT], 5);
	cr_assert_eq(ctr[DP_C_RX_REASSEMBLED], 1);
	free(t);
}

Test(conf, fragment_settings_come_from_flags_or_file_and_are_checked)
{
	static const char text[] = "addr = 192.0.2.1\nalt-addr = 192.0.2.2\nfrag-slots = 64\n"
	                           "frag-max-size = 1500\nfrag-max-frags = 4\n"
	                           "frag-timeout-ms = 250\n";
	struct dp_conf c;
	char err[256];

	dp_conf_defaults(&c);
	cr_assert_eq(c.frag_slots, 256);
	cr_assert_eq(c.frag_max_size, 9000);
	cr_assert_eq(rv_conf_parse(dp_conf_opts, &c, text, strlen(text), err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(c.frag_slots, 64);
	cr_assert_eq(c.frag_max_size, 1500);
	cr_assert_eq(c.frag_max_frags, 4);
	cr_assert_eq(c.frag_timeout_ms, 250);
	cr_assert_eq(dp_conf_check(&c, err, sizeof(err)), 0, "%s", err);
	c.frag_slots = 0;
	cr_assert_eq(dp_conf_check(&c, err, sizeof(err)), 0, "0: no reassembly");
	c.frag_slots = 2;
	cr_assert_eq(dp_conf_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "frag-slots"), "%s", err);
	cr_assert_lt(rv_conf_set(dp_conf_opts, &c, "frag-max-size", "65001", err, sizeof(err)), 0);
	cr_assert_lt(rv_conf_set(dp_conf_opts, &c, "frag-timeout-ms", "0", err, sizeof(err)), 0);
	cr_assert_lt(rv_conf_set(dp_conf_opts, &c, "frag-max-frags", "1", err, sizeof(err)), 0);
}

/* --- the whole path: RFC 5780 PADDING through rvdp ----------------------------------- */

static const struct dp_addrs addrs = {
	.mac = { 2, 0, 0, 0, 0, 1 },
	.ip = { IP(192, 0, 2, 1), IP(192, 0, 2, 2) },
	.port = { 3478, 3479 },
};

static uint32_t crc(const void *p, size_t n)
{
	return rv_crc32(0, p, n);
}

/* What turnutils_natdiscovery -P sends: a Binding with 1500 bytes of
 * PADDING and CHANGE-REQUEST flags, 1568 IP bytes: two pieces at 1500. The
 * answer (XOR-MAPPED, RESPONSE-ORIGIN, OTHER-ADDRESS, PADDING 1500,
 * FINGERPRINT) leaves in two pieces that reassemble into a valid answer. */
Test(path, a_padded_binding_in_pieces_is_answered_in_pieces)
{
	static uint8_t stun[2000], f[2000], pad[1500];
	static struct pieces in, out;
	static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct rv_frag *t = table(16, 9000, 32, 1000), *back = table(16, 9000, 32, 1000);
	struct dp_pkt_ctx c = { .addrs = &addrs,
		                .now_us = 1000000,
		                .now_ms = 1795000000000ull,
		                .mtu = 1500,
		                .max_answer = 9000,
		                .reassembly = true,
		                .crc32 = crc,
		                .ctr = ctr };
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	struct rv_frag_res d = { 0 };
	struct dp_punt_info pi;
	struct rv_addr a;
	uint16_t len;
	int n;

	rv_stun_enc_init(&e, stun, sizeof(stun), RV_STUN_BINDING, RV_STUN_REQUEST, txid);
	rv_stun_enc_u32(&e, RV_SA_CHANGE_REQUEST, RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT);
	rv_stun_enc_attr(&e, RV_SA_PADDING, pad, sizeof(pad));
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	cr_assert_gt(n, 0);
	{
		struct rv_addr s, dst;
		rv_addr_parse("198.51.100.10:40000", 0, &s);
		rv_addr_parse("192.0.2.1:3478", 0, &dst);
		len = (uint16_t)dp_pkt_build_udp(f, sizeof(f), (const uint8_t *)CLI_MAC,
		                                 (const uint8_t *)SRV_MAC, &s, &dst, stun,
		                                 (size_t)n);
	}
	cr_assert_eq(len - 14, 1568);
	cut(f, len, 1500, 0x4242, &in);
	cr_assert_eq(in.n, 2);
	/* Reversed, as some stacks send them. */
	for (int i = 1; i >= 0; i--) {
		uint16_t l = in.len[i];
		cr_assert_eq(dp_pkt_handle(&c, in.f[i], &l, sizeof(in.f[i]), &pi), DP_FRAG);
		(void)dp_frag_input(t, in.f[i], l, 1000, ctr, &d);
	}
	cr_assert_eq(ctr[DP_C_RX], 2);
	cr_assert_eq(ctr[DP_C_RX_REASSEMBLED], 1);
	cr_assert_eq(dp_pkt_handle_reassembled(&c, d.pkt, &d.len, d.cap, &pi), DP_TX);
	cr_assert_eq(ctr[DP_C_RX], 2, "the datagram is not a third frame");
	cr_assert_eq(ctr[DP_C_TX_BINDING_CHANGED], 1);
	cr_assert_gt(d.len, 14 + 1500, "above the MTU");
	cr_assert_eq(d.len - len, 36 - 8, "three address attributes, less CHANGE-REQUEST");
	cut(d.pkt, d.len, 1500, 0x77, &out);
	cr_assert_eq(out.n, 2);
	for (unsigned i = 0; i < out.n; i++) {
		cr_assert_leq(out.len[i], 1514);
		cr_assert_arr_eq(out.f[i], CLI_MAC, 6);
		cr_assert_eq(rv_get_u32(out.f[i] + 26), IP(192, 0, 2, 2), "changed IP");
		cr_assert_eq(rv_get_u32(out.f[i] + 30), IP(198, 51, 100, 10));
		(void)dp_frag_input(back, out.f[i], out.len[i], 1, ctr, &d);
	}
	/* The client's view: UDP checksum over the whole, then the STUN body. */
	{
		const uint8_t *ip = d.pkt + 14, *udp = ip + 20;
		uint16_t ulen = rv_get_u16(udp + 4);
		uint32_t ps = (uint32_t)rv_get_u16(ip + 12) + rv_get_u16(ip + 14) +
		              rv_get_u16(ip + 16) + rv_get_u16(ip + 18) + 17 + ulen;

		cr_assert_eq(rv_get_u16(udp), 3479, "changed port");
		cr_assert_eq(rv_get_u16(udp + 2), 40000);
		cr_assert(sum_ok(udp, ulen, ps), "UDP checksum over the whole datagram");
		cr_assert_eq(rv_stun_decode(udp + 8, ulen - 8u, 0, &m), 0);
	}
	cr_assert_eq(m.cls, RV_STUN_SUCCESS);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &a), 0);
	cr_assert_eq(rv_addr_v4_host(&a), IP(198, 51, 100, 10));
	cr_assert_eq(a.port, 40000);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_RESPONSE_ORIGIN, &a), 0);
	cr_assert_eq(rv_addr_v4_host(&a), IP(192, 0, 2, 2));
	cr_assert_eq(a.port, 3479);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_OTHER_ADDRESS, &a), 0);
	cr_assert_eq(rv_addr_v4_host(&a), IP(192, 0, 2, 2));
	cr_assert_eq(rv_stun_find(&m, RV_SA_PADDING)->len, 1500, "PADDING mirrored");
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	free(t);
	free(back);
}
