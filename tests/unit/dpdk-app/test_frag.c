/* IPv4 fragments in and out (dp_frag.h): the fragmenter's every header
 * field, reassembly in any order, each hostile train with its counter, the
 * table's bounds; and the whole path a PADDING test takes through rvdp —
 * request in pieces, answer above the MTU, answer out in pieces — without
 * EAL. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_conf.h"
#include "dpdk-app/dp_frag.h"
#include "dpdk-app/dp_pkt.h"
#include "proto/rv_buf.h"
#include "proto/stun.h"

#define SRV_MAC        "\x02\x00\x00\x00\x00\x01"
#define CLI_MAC        "\x02\x00\x00\x00\x00\x02"
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MAXP           40 /* pieces a test cuts */

static uint64_t ctr[DP_C_COUNT];

static bool sum_ok(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

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
	p->n = dp_frag_count(len, mtu);
	cr_assert(p->n >= 2 && p->n <= MAXP, "%u pieces", p->n);
	for (unsigned i = 0; i < p->n; i++) {
		int n = dp_frag_split(frame, len, mtu, id, i, p->f[i], sizeof(p->f[i]));
		cr_assert_gt(n, 0, "piece %u: %d", i, n);
		p->len[i] = (uint16_t)n;
	}
}

static struct dp_frag *table(uint32_t slots, uint32_t max_size, uint32_t max_frags,
                             uint32_t timeout_ms)
{
	struct dp_frag_conf c = { .slots = slots,
		                  .max_size = max_size,
		                  .max_frags = max_frags,
		                  .timeout_ms = timeout_ms,
		                  .seed = 42 };
	size_t sz = dp_frag_size(&c);
	struct dp_frag *f;

	cr_assert_gt(sz, 0);
	f = calloc(1, sz);
	cr_assert_eq(dp_frag_init(f, &c), 0);
	memset(ctr, 0, sizeof(ctr));
	return f;
}

static enum dp_frag_verdict feed(struct dp_frag *t, const struct pieces *p, unsigned i,
                                 uint64_t now, struct dp_frag_done *d)
{
	return dp_frag_input(t, p->f[i], p->len[i], now, ctr, d);
}

/* --- out: the fragmenter --------------------------------------------------------- */

struct split_case {
	uint16_t plen; /* UDP payload */
	uint16_t mtu;
};

ParameterizedTestParameters(split, every_piece_fits_the_mtu_and_they_add_up_to_the_datagram)
{
	static struct split_case c[] = {
		{ 1473, 1500 }, { 1556, 1500 }, { 2960, 1500 }, { 2961, 1500 }, { 8972, 1500 },
		{ 1000, 576 },  { 4000, 576 },  { 1500, 1280 }, { 1252, 1279 }, { 100, 60 },
	};
	return cr_make_param_array(struct split_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct split_case *sc, split,
                  every_piece_fits_the_mtu_and_they_add_up_to_the_datagram)
{
	static uint8_t f[10000], back[10000];
	static struct pieces p;
	uint16_t len = datagram(f, sizeof(f), sc->plen, 3);
	uint32_t at = 0, chunk = (uint32_t)(sc->mtu - 20) & ~7u;

	cut(f, len, sc->mtu, 0xbeef, &p);
	cr_assert_eq(p.n, (len - 34 + chunk - 1) / chunk);
	for (unsigned i = 0; i < p.n; i++) {
		const uint8_t *ip = p.f[i] + 14;
		uint16_t fl = rv_get_u16(ip + 6), tot = rv_get_u16(ip + 2);

		cr_assert_arr_eq(p.f[i], f, 14, "Ethernet header copied");
		cr_assert_eq(ip[0], 0x45);
		cr_assert_leq(tot, sc->mtu, "piece %u: %u bytes > MTU %u", i, tot, sc->mtu);
		cr_assert_eq(tot, p.len[i] - 14);
		cr_assert_eq(rv_get_u16(ip + 4), 0xbeef, "one IP ID");
		cr_assert_eq(fl & 0x4000, 0, "DF clear");
		cr_assert_eq(!!(fl & 0x2000), i + 1 < p.n, "MF on all but the last");
		cr_assert_eq((uint32_t)(fl & 0x1fff) * 8, at, "offset of piece %u", i);
		if (i + 1 < p.n)
			cr_assert_eq((tot - 20) % 8, 0);
		cr_assert_eq(ip[8], f[22], "TTL");
		cr_assert_eq(ip[9], 17);
		cr_assert_arr_eq(ip + 12, f + 26, 8, "addresses");
		cr_assert(sum_ok(ip, 20, 0), "IP checksum of piece %u", i);
		memcpy(back + at, ip + 20, tot - 20u);
		at += tot - 20u;
	}
	cr_assert_eq(at, len - 34u);
	/* The UDP header and its whole-datagram checksum ride in piece 0. */
	cr_assert_arr_eq(back, f + 34, at);
	cr_assert_arr_eq(p.f[0] + 34, f + 34, 8);
}

Test(split, the_first_piece_can_be_cut_in_place_after_the_others)
{
	static uint8_t f[4000], ref[4000];
	static struct pieces p, q;
	uint16_t len = datagram(f, sizeof(f), 3000, 9);
	int n;

	memcpy(ref, f, len);
	cut(ref, len, 1500, 7, &p);
	/* As rvdp's lcore does: pieces 1.. copied out, then 0 in place. */
	for (unsigned i = 1; i < p.n; i++) {
		n = dp_frag_split(f, len, 1500, 7, i, q.f[i], sizeof(q.f[i]));
		cr_assert_eq(n, p.len[i]);
		cr_assert_arr_eq(q.f[i], p.f[i], (size_t)n);
	}
	n = dp_frag_split(f, len, 1500, 7, 0, f, sizeof(f));
	cr_assert_eq(n, p.len[0]);
	cr_assert_arr_eq(f, p.f[0], (size_t)n);
}

Test(split, refuses_what_it_cannot_cut)
{
	static uint8_t f[4000], out[2000];
	uint16_t len = datagram(f, sizeof(f), 3000, 1);

	cr_assert_eq(dp_frag_count(len, 1500), 3);
	cr_assert_eq(dp_frag_count(1514, 1500), 1, "fits: one frame");
	cr_assert_eq(dp_frag_count(len, 27), 0, "no room for 8 bytes");
	cr_assert_eq(dp_frag_split(f, len, 1500, 1, 3, out, sizeof(out)), -EINVAL, "no piece 3");
	cr_assert_eq(dp_frag_split(f, len, 1500, 1, 1, f, sizeof(f)), -EINVAL, "in place: 0 only");
	cr_assert_eq(dp_frag_split(f, len, 1500, 1, 0, out, 1000), -ENOSPC);
	cr_assert_eq(dp_frag_split(f, 1514, 1500, 1, 0, out, sizeof(out)), -EINVAL, "fits");
	f[14] = 0x46;
	cr_assert_eq(dp_frag_split(f, len, 1500, 1, 0, out, sizeof(out)), -EINVAL, "options");
	f[14] = 0x45;
	rv_put_u16(f + 12, 0x0806);
	cr_assert_eq(dp_frag_split(f, len, 1500, 1, 0, out, sizeof(out)), -EINVAL, "ARP");
}

/* --- in: reassembly ------------------------------------------------------------------ */

/* Orders pieces arrive in: as sent, reversed, last first then the rest,
 * a fixed shuffle. */
static unsigned order(int how, unsigned n, unsigned k)
{
	switch (how) {
	case 0:
		return k;
	case 1:
		return n - 1 - k;
	case 2:
		return k == 0 ? n - 1 : k - 1;
	default:
		return (k * 5 + 3) % n; /* n coprime with 5 below */
	}
}

ParameterizedTestParameters(reasm, pieces_in_any_order_give_back_the_datagram)
{
	static int how[] = { 0, 1, 2, 3 };
	return cr_make_param_array(int, how, 4);
}

ParameterizedTest(int *how, reasm, pieces_in_any_order_give_back_the_datagram)
{
	static uint8_t f[9100];
	static struct pieces p;
	struct dp_frag *t = table(16, 9000, 32, 1000);
	uint16_t len = datagram(f, sizeof(f), 8000, 5); /* 6 pieces at 1500 */
	struct dp_frag_done d;

	cut(f, len, 1500, 0x1234, &p);
	cr_assert_eq(p.n, 6);
	for (unsigned k = 0; k < p.n; k++) {
		enum dp_frag_verdict v = feed(t, &p, order(*how, p.n, k), 100 + k, &d);

		cr_assert_eq(v, k + 1 < p.n ? DP_FRAG_HELD : DP_FRAG_DONE, "piece #%u", k);
	}
	cr_assert_eq(d.len, len);
	cr_assert_geq(d.cap, 14 + 9000);
	cr_assert_arr_eq(d.frame, f, 14, "Ethernet header");
	cr_assert_eq(rv_get_u16(d.frame + 16), len - 14, "total length");
	cr_assert_eq(rv_get_u16(d.frame + 20), 0, "no fragment bits left");
	cr_assert_eq(rv_get_u16(d.frame + 18), 0x1234, "the pieces' ID");
	cr_assert(sum_ok(d.frame + 14, 20, 0), "IP checksum redone");
	cr_assert_arr_eq(d.frame + 34, f + 34, len - 34u, "payload, UDP header included");
	cr_assert_eq(ctr[DP_C_RX_FRAG], 6);
	cr_assert_eq(ctr[DP_C_RX_REASSEMBLED], 1);
	cr_assert_eq(dp_frag_live(t), 0);
	free(t);
}

Test(reasm, interleaved_trains_from_two_sources_do_not_mix)
{
	static uint8_t f[2][4000];
	static struct pieces p[2];
	struct dp_frag *t = table(16, 9000, 32, 1000);
	struct dp_frag_done d;
	uint16_t len[2];

	for (int s = 0; s < 2; s++) {
		len[s] = datagram(f[s], sizeof(f[s]), 3000, (uint8_t)(s * 100));
		/* Same ID, other source: another train. */
		rv_put_u32(f[s] + 26, IP(198, 51, 100, 10 + s));
		cut(f[s], len[s], 1500, 99, &p[s]);
	}
	cr_assert_eq(feed(t, &p[0], 0, 1, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p[1], 2, 1, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p[0], 1, 1, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p[1], 0, 1, &d), DP_FRAG_HELD);
	cr_assert_eq(dp_frag_live(t), 2);
	cr_assert_eq(feed(t, &p[1], 1, 1, &d), DP_FRAG_DONE);
	cr_assert_arr_eq(d.frame + 34, f[1] + 34, len[1] - 34u);
	cr_assert_eq(feed(t, &p[0], 2, 1, &d), DP_FRAG_DONE);
	cr_assert_arr_eq(d.frame + 34, f[0] + 34, len[0] - 34u);
	free(t);
}

Test(reasm, a_duplicate_piece_is_dropped_alone_and_the_train_completes)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct dp_frag *t = table(16, 9000, 32, 1000);
	struct dp_frag_done d;
	uint16_t len = datagram(f, sizeof(f), 3000, 2);

	cut(f, len, 1500, 5, &p);
	cr_assert_eq(feed(t, &p, 0, 1, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 0, 1, &d), DP_FRAG_DROPPED);
	cr_assert_eq(feed(t, &p, 2, 1, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 2, 1, &d), DP_FRAG_DROPPED, "the last piece twice");
	cr_assert_eq(ctr[DP_C_DROP_FRAG_DUP], 2);
	cr_assert_eq(feed(t, &p, 1, 1, &d), DP_FRAG_DONE);
	cr_assert_arr_eq(d.frame + 34, f + 34, len - 34u);
	free(t);
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

struct bad_case {
	char name[48];
	/* up to 3 pieces: offset, length, more; the last one is refused */
	uint32_t off[3], n[3];
	bool more[3];
	int npieces;
	enum dp_ctr want;
	bool train_dies; /* the held pieces go too */
};

ParameterizedTestParameters(reasm, each_hostile_piece_is_dropped_with_its_reason)
{
	static struct bad_case c[] = {
		{ "partial overlap",
		  { 0, 1472 },
		  { 1480, 100 },
		  { 1, 0 },
		  2,
		  DP_C_DROP_FRAG_OVERLAP,
		  true },
		{ "overlap across two pieces",
		  { 0, 1600, 800 },
		  { 800, 400, 1200 },
		  { 1, 1, 1 },
		  3,
		  DP_C_DROP_FRAG_OVERLAP,
		  true },
		{ "a second last piece ending elsewhere",
		  { 1480, 1600 },
		  { 100, 80 },
		  { 0, 0 },
		  2,
		  DP_C_DROP_FRAG_OVERLAP,
		  true },
		{ "a middle piece past the known end",
		  { 1480, 1600 },
		  { 100, 80 },
		  { 0, 1 },
		  2,
		  DP_C_DROP_FRAG_OVERLAP,
		  true },
		{ "a last piece short of data held",
		  { 0, 800 },
		  { 1480, 100 },
		  { 1, 0 },
		  2,
		  DP_C_DROP_FRAG_OVERLAP,
		  true },
		{ "a middle piece of 100 bytes (not 8 x n)",
		  { 0 },
		  { 100 },
		  { 1 },
		  1,
		  DP_C_DROP_FRAG_BAD,
		  false },
		{ "ending past --frag-max-size",
		  { 0, 8976 },
		  { 1480, 8 },
		  { 1, 0 },
		  2,
		  DP_C_DROP_FRAG_TOO_BIG,
		  true },
		{ "third piece past --frag-max-frags 2",
		  { 0, 8, 16 },
		  { 8, 8, 8 },
		  { 1, 1, 0 },
		  3,
		  DP_C_DROP_FRAG_TOO_MANY,
		  true },
	};
	return cr_make_param_array(struct bad_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct bad_case *bc, reasm, each_hostile_piece_is_dropped_with_its_reason)
{
	static uint8_t f[9100], out[2000];
	struct dp_frag *t = table(16, 9000, 2, 1000);
	struct dp_frag_done d;
	uint16_t n;

	(void)datagram(f, sizeof(f), 8000, 4);
	for (int i = 0; i < bc->npieces; i++) {
		n = piece(f, bc->off[i], bc->n[i], bc->more[i], out);
		enum dp_frag_verdict v = dp_frag_input(t, out, n, 10, ctr, &d);
		cr_assert_eq(v, i + 1 < bc->npieces ? DP_FRAG_HELD : DP_FRAG_DROPPED,
		             "%s: piece %d", bc->name, i);
	}
	cr_assert_eq(ctr[bc->want], 1, "%s counted as %s", bc->name, dp_ctr_name(bc->want));
	cr_assert_eq(dp_frag_live(t), bc->train_dies ? 0u : (unsigned)bc->npieces - 1, "%s",
	             bc->name);
	free(t);
}

Test(reasm, empty_non_udp_and_lying_pieces_are_refused)
{
	static uint8_t f[4000], out[2000];
	struct dp_frag *t = table(16, 9000, 32, 1000);
	struct dp_frag_done d;
	uint16_t n;

	(void)datagram(f, sizeof(f), 3000, 4);
	n = piece(f, 0, 1480, true, out);
	out[23] = 1; /* ICMP */
	cr_assert_eq(dp_frag_input(t, out, n, 1, ctr, &d), DP_FRAG_DROPPED);
	cr_assert_eq(ctr[DP_C_DROP_FRAG_PROTO], 1);
	n = piece(f, 8, 0, true, out);
	cr_assert_eq(dp_frag_input(t, out, n, 1, ctr, &d), DP_FRAG_DROPPED, "empty");
	n = piece(f, 0, 1480, true, out);
	cr_assert_eq(dp_frag_input(t, out, (uint16_t)(n - 1), 1, ctr, &d), DP_FRAG_DROPPED,
	             "IP length past the frame");
	cr_assert_eq(dp_frag_input(t, out, 20, 1, ctr, &d), DP_FRAG_DROPPED, "runt");
	cr_assert_eq(ctr[DP_C_DROP_FRAG_BAD], 3);
	cr_assert_eq(dp_frag_live(t), 0);
	free(t);
}

Test(reasm, an_incomplete_train_times_out_and_its_slot_returns)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct dp_frag *t = table(16, 9000, 32, 500);
	struct dp_frag_done d;
	uint16_t len = datagram(f, sizeof(f), 3000, 8);

	cut(f, len, 1500, 3, &p);
	cr_assert_eq(feed(t, &p, 0, 1000, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 1, 1400, &d), DP_FRAG_HELD);
	cr_assert_eq(dp_frag_expire(t, 1499, 16, ctr), 0, "499 ms after the first piece");
	cr_assert_eq(dp_frag_expire(t, 1500, 16, ctr), 1, "500 ms: gone");
	cr_assert_eq(ctr[DP_C_DROP_FRAG_TIMEOUT], 1);
	cr_assert_eq(dp_frag_live(t), 0);
	/* The last piece, late: a new train, which never completes. */
	cr_assert_eq(feed(t, &p, 2, 1600, &d), DP_FRAG_HELD);
	/* Retransmitted whole train after the timeout: the stale one is
	 * counted when the key comes back, the new one completes. */
	cr_assert_eq(feed(t, &p, 0, 2200, &d), DP_FRAG_HELD);
	cr_assert_eq(ctr[DP_C_DROP_FRAG_TIMEOUT], 2);
	cr_assert_eq(feed(t, &p, 1, 2200, &d), DP_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 2, 2200, &d), DP_FRAG_DONE);
	free(t);
}

Test(reasm, the_sweep_walks_the_whole_table_a_budget_at_a_time)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct dp_frag *t = table(64, 9000, 32, 10);
	struct dp_frag_done d;
	unsigned gone = 0;
	uint16_t len = datagram(f, sizeof(f), 3000, 8);

	cut(f, len, 1500, 0, &p);
	for (uint16_t id = 0; id < 40; id++) {
		rv_put_u16(p.f[0] + 18, id);
		(void)feed(t, &p, 0, 0, &d);
	}
	cr_assert_leq(dp_frag_live(t), 40);
	cr_assert_geq(dp_frag_live(t), 30, "4-way buckets hold most of 40 in 64 slots");
	for (int loop = 0; loop < 8; loop++)
		gone += dp_frag_expire(t, 100, 8, ctr);
	cr_assert_eq(dp_frag_live(t), 0, "8 loops of 8 cover 64 slots");
	cr_assert_eq(gone + ctr[DP_C_DROP_FRAG_EVICTED], 40);
	free(t);
}

Test(reasm, a_full_bucket_evicts_its_oldest_train)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct dp_frag *t = table(4, 9000, 32, 1000); /* one bucket of 4 */
	struct dp_frag_done d;
	uint16_t len = datagram(f, sizeof(f), 3000, 8);

	cut(f, len, 1500, 0, &p);
	for (uint16_t id = 0; id < 5; id++) {
		rv_put_u16(p.f[0] + 18, id);
		cr_assert_eq(feed(t, &p, 0, 10 + id, &d), DP_FRAG_HELD);
	}
	cr_assert_eq(ctr[DP_C_DROP_FRAG_EVICTED], 1);
	cr_assert_eq(dp_frag_live(t), 4);
	/* Train 0 (the oldest) is gone: its rest starts anew; 4 completes. */
	for (unsigned i = 1; i < p.n; i++) {
		rv_put_u16(p.f[i] + 18, 4);
		cr_assert_eq(feed(t, &p, i, 20, &d), i + 1 < p.n ? DP_FRAG_HELD : DP_FRAG_DONE);
	}
	for (unsigned i = 1; i < p.n; i++) {
		rv_put_u16(p.f[i] + 18, 0);
		cr_assert_eq(feed(t, &p, i, 21, &d), DP_FRAG_HELD, "train 0 lost its first piece");
	}
	free(t);
}

/* Random pieces, random IDs, lengths and offsets from a few sources, with
 * the clock running: every frame counts exactly one per-frame counter,
 * the table never holds more than its slots, nothing reads or writes out of
 * bounds (run under `make asan`), and it still reassembles afterwards. */
Test(reasm, a_flood_of_random_pieces_is_bounded_and_counted)
{
	static uint8_t f[9100], out[2000];
	static struct pieces p;
	struct dp_frag *t = table(32, 9000, 8, 50);
	struct dp_frag_done d;
	uint64_t seed = 0x9e3779b97f4a7c15ull, per_frame = 0;
	const int N = 200000;

	(void)datagram(f, sizeof(f), 8900, 1);
	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t r = (uint32_t)(seed >> 33);
		uint32_t off = (r % 1113) * 8, n = 8 * (1 + (r >> 12) % 200);
		uint16_t len;

		if (off + n > 8908)
			n = 8908 - off;
		len = piece(f, off, n, (r >> 20) & 1, out);
		rv_put_u16(out + 18, (uint16_t)(r >> 22) % 64);
		rv_put_u32(out + 26, IP(203, 0, 113, (r >> 28) & 3));
		if ((r & 0xff) == 0)
			out[23] = 6;
		(void)dp_frag_input(t, out, len, (uint64_t)i / 100, ctr, &d);
		cr_assert_leq(dp_frag_live(t), 32);
		if ((i & 255) == 0)
			(void)dp_frag_expire(t, (uint64_t)i / 100, 8, ctr);
	}
	per_frame = ctr[DP_C_RX_FRAG] + ctr[DP_C_DROP_FRAG_PROTO] + ctr[DP_C_DROP_FRAG_BAD] +
	            ctr[DP_C_DROP_FRAG_DUP] + ctr[DP_C_DROP_FRAG_OVERLAP] +
	            ctr[DP_C_DROP_FRAG_TOO_BIG] + ctr[DP_C_DROP_FRAG_TOO_MANY];
	cr_assert_eq(per_frame, (uint64_t)N);
	cr_assert_gt(ctr[DP_C_DROP_FRAG_OVERLAP], 0);
	cr_assert_gt(ctr[DP_C_DROP_FRAG_EVICTED] + ctr[DP_C_DROP_FRAG_TIMEOUT], 0);
	/* A real train still gets through. */
	uint16_t len = datagram(f, sizeof(f), 3000, 1);
	cut(f, len, 1500, 0xaaaa, &p);
	for (unsigned i = 0; i < p.n; i++)
		cr_assert_eq(feed(t, &p, i, 5000, &d), i + 1 < p.n ? DP_FRAG_HELD : DP_FRAG_DONE);
	free(t);
}

Test(reasm, bad_configurations_are_refused)
{
	struct dp_frag_conf c = { .slots = 16, .max_size = 9000, .max_frags = 8, .timeout_ms = 1 };

	cr_assert_gt(dp_frag_size(&c), 16 * 9000u);
	c.slots = 2;
	cr_assert_eq(dp_frag_size(&c), 0, "fewer slots than a bucket");
	c.slots = 24;
	cr_assert_eq(dp_frag_size(&c), 0, "not a power of two");
	c.slots = 16;
	c.max_size = 65001;
	cr_assert_eq(dp_frag_size(&c), 0);
	c.max_size = 9000;
	c.max_frags = 1;
	cr_assert_eq(dp_frag_size(&c), 0);
	c.max_frags = 8;
	c.timeout_ms = 0;
	cr_assert_eq(dp_frag_size(&c), 0);
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
	struct dp_frag *t = table(16, 9000, 32, 1000), *back = table(16, 9000, 32, 1000);
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
	struct dp_frag_done d = { 0 };
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
	cr_assert_eq(dp_pkt_handle_reassembled(&c, d.frame, &d.len, d.cap, &pi), DP_TX);
	cr_assert_eq(ctr[DP_C_RX], 2, "the datagram is not a third frame");
	cr_assert_eq(ctr[DP_C_TX_BINDING_CHANGED], 1);
	cr_assert_gt(d.len, 14 + 1500, "above the MTU");
	cr_assert_eq(d.len - len, 36 - 8, "three address attributes, less CHANGE-REQUEST");
	cut(d.frame, d.len, 1500, 0x77, &out);
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
		const uint8_t *ip = d.frame + 14, *udp = ip + 20;
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
