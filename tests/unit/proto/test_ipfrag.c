/* IPv4 fragments in and out (proto/ipfrag.h): the fragmenter's every header
 * field, reassembly in any order behind any link header, each hostile piece
 * with its outcome, the trains that die and how they are reported, the
 * table's bounds under a flood. rvdp's counters over the same table:
 * tests/unit/dpdk-app/test_frag.c; natbox's use: tests/unit/natlab/. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipfrag.h"
#include "proto/rv_buf.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MAXP           40 /* pieces a test cuts */
#define N_OF(a)        (sizeof(a) / sizeof((a)[0]))

/* RFC 1071 one's-complement sum, and the checksum to store for it. */
static uint32_t add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool sum_ok(const uint8_t *p, size_t n)
{
	return fold(add(0, p, n)) == 0;
}

/* l2 bytes of link header (a pattern), then a UDP datagram of plen payload
 * bytes (a counting pattern) from 198.51.100.10:40000 to 192.0.2.1:3478,
 * TTL 61, both checksums right. Returns the whole length. */
static uint16_t datagram(uint8_t *f, size_t cap, size_t l2, size_t plen, uint8_t seed)
{
	uint8_t *ip = f + l2, *udp = ip + 20, ph[12];
	uint16_t tot = (uint16_t)(28 + plen);

	cr_assert_leq(l2 + tot, cap);
	for (size_t i = 0; i < l2; i++)
		f[i] = (uint8_t)(0xa0 + i);
	memset(ip, 0, 28);
	ip[0] = 0x45;
	rv_put_u16(ip + 2, tot);
	rv_put_u16(ip + 4, 0x1111);
	rv_put_u16(ip + 6, 0x4000); /* DF, as a whole datagram would have it */
	ip[8] = 61;
	ip[9] = 17;
	rv_put_u32(ip + 12, IP(198, 51, 100, 10));
	rv_put_u32(ip + 16, IP(192, 0, 2, 1));
	rv_put_u16(ip + 10, fold(add(0, ip, 20)));
	rv_put_u16(udp, 40000);
	rv_put_u16(udp + 2, 3478);
	rv_put_u16(udp + 4, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(i * 7 + seed);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	rv_put_u16(ph + 10, (uint16_t)(8 + plen));
	rv_put_u16(udp + 6, fold(add(add(0, ph, 12), udp, 8 + plen)));
	return (uint16_t)(l2 + tot);
}

struct pieces {
	unsigned n;
	uint8_t f[MAXP][1600];
	uint16_t len[MAXP];
};

static void cut(const uint8_t *pkt, uint16_t len, size_t l2, uint16_t mtu, uint16_t id,
                struct pieces *p)
{
	p->n = rv_frag_count(len, l2, mtu);
	cr_assert(p->n >= 2 && p->n <= MAXP, "%u pieces", p->n);
	for (unsigned i = 0; i < p->n; i++) {
		int n = rv_frag_split(pkt, len, l2, mtu, id, i, p->f[i], sizeof(p->f[i]));
		cr_assert_gt(n, 0, "piece %u: %d", i, n);
		p->len[i] = (uint16_t)n;
	}
}

static struct rv_frag *table_l2(uint32_t slots, uint32_t max_size, uint32_t max_frags,
                                uint32_t timeout_ms, uint16_t l2)
{
	struct rv_frag_conf c = { .slots = slots,
		                  .max_size = max_size,
		                  .max_frags = max_frags,
		                  .timeout_ms = timeout_ms,
		                  .seed = 42,
		                  .l2_len = l2,
		                  .protos = { 17 } };
	size_t sz = rv_frag_size(&c);
	struct rv_frag *f;

	cr_assert_gt(sz, 0);
	f = calloc(1, sz);
	cr_assert_eq(rv_frag_init(f, &c), 0);
	return f;
}

/* The common case here: bare IP, as natbox has it. */
static struct rv_frag *table(uint32_t slots, uint32_t max_size, uint32_t max_frags,
                             uint32_t timeout_ms)
{
	return table_l2(slots, max_size, max_frags, timeout_ms, 0);
}

static enum rv_frag_verdict feed(struct rv_frag *t, const struct pieces *p, unsigned i,
                                 uint64_t now, struct rv_frag_res *r)
{
	return rv_frag_input(t, p->f[i], p->len[i], now, r);
}

Test(names, every_outcome_has_a_stable_name)
{
	static const char *const want[] = { "kept",    "proto",    "bad",     "dup",    "overlap",
		                            "too_big", "too_many", "timeout", "evicted" };

	cr_assert_eq(N_OF(want), RV_FRAG_WHY_COUNT);
	for (unsigned w = 0; w < RV_FRAG_WHY_COUNT; w++)
		cr_assert_str_eq(rv_frag_why_str((enum rv_frag_why)w), want[w]);
	cr_assert_str_eq(rv_frag_why_str(RV_FRAG_WHY_COUNT), "?");
}

/* --- out: the fragmenter --------------------------------------------------------- */

struct split_case {
	uint16_t plen; /* UDP payload */
	uint16_t mtu;
	uint8_t l2;
};

ParameterizedTestParameters(split, every_piece_fits_the_mtu_and_they_add_up_to_the_datagram)
{
	static struct split_case c[] = {
		{ 1473, 1500, 14 }, { 1556, 1500, 14 }, { 2960, 1500, 14 }, { 2961, 1500, 14 },
		{ 8972, 1500, 14 }, { 1000, 576, 14 },  { 4000, 576, 14 },  { 1500, 1280, 14 },
		{ 1252, 1279, 14 }, { 100, 60, 14 },    { 2972, 1500, 0 },  { 8000, 1500, 0 },
		{ 3000, 576, 0 },   { 2000, 1500, 64 },
	};
	return cr_make_param_array(struct split_case, c, N_OF(c));
}

ParameterizedTest(struct split_case *sc, split,
                  every_piece_fits_the_mtu_and_they_add_up_to_the_datagram)
{
	static uint8_t f[10000], back[10000];
	static struct pieces p;
	size_t l2 = sc->l2, h = l2 + 20;
	uint16_t len = datagram(f, sizeof(f), l2, sc->plen, 3);
	uint32_t at = 0, chunk = (uint32_t)(sc->mtu - 20) & ~7u;

	cut(f, len, l2, sc->mtu, 0xbeef, &p);
	cr_assert_eq(p.n, (len - h + chunk - 1) / chunk);
	for (unsigned i = 0; i < p.n; i++) {
		const uint8_t *ip = p.f[i] + l2;
		uint16_t fl = rv_get_u16(ip + 6), tot = rv_get_u16(ip + 2);

		cr_assert_arr_eq(p.f[i], f, l2, "link header copied");
		cr_assert_eq(ip[0], 0x45);
		cr_assert_leq(tot, sc->mtu, "piece %u: %u bytes > MTU %u", i, tot, sc->mtu);
		cr_assert_eq(tot, p.len[i] - l2);
		cr_assert_eq(rv_get_u16(ip + 4), 0xbeef, "one IP ID");
		cr_assert_eq(fl & 0x4000, 0, "DF clear");
		cr_assert_eq(!!(fl & 0x2000), i + 1 < p.n, "MF on all but the last");
		cr_assert_eq((uint32_t)(fl & 0x1fff) * 8, at, "offset of piece %u", i);
		if (i + 1 < p.n)
			cr_assert_eq((tot - 20) % 8, 0);
		cr_assert_eq(ip[8], 61, "TTL");
		cr_assert_eq(ip[9], 17);
		cr_assert_arr_eq(ip + 12, f + l2 + 12, 8, "addresses");
		cr_assert(sum_ok(ip, 20), "IP checksum of piece %u", i);
		memcpy(back + at, ip + 20, tot - 20u);
		at += tot - 20u;
	}
	cr_assert_eq(at, len - h);
	/* The UDP header and its whole-datagram checksum ride in piece 0. */
	cr_assert_arr_eq(back, f + h, at);
	cr_assert_arr_eq(p.f[0] + h, f + h, 8);
}

Test(split, the_first_piece_can_be_cut_in_place_after_the_others)
{
	static uint8_t f[4000], ref[4000];
	static struct pieces p, q;
	uint16_t len = datagram(f, sizeof(f), 14, 3000, 9);
	int n;

	memcpy(ref, f, len);
	cut(ref, len, 14, 1500, 7, &p);
	/* As rvdp's lcore does: pieces 1.. copied out, then 0 in place. */
	for (unsigned i = 1; i < p.n; i++) {
		n = rv_frag_split(f, len, 14, 1500, 7, i, q.f[i], sizeof(q.f[i]));
		cr_assert_eq(n, p.len[i]);
		cr_assert_arr_eq(q.f[i], p.f[i], (size_t)n);
	}
	n = rv_frag_split(f, len, 14, 1500, 7, 0, f, sizeof(f));
	cr_assert_eq(n, p.len[0]);
	cr_assert_arr_eq(f, p.f[0], (size_t)n);
}

Test(split, refuses_what_it_cannot_cut)
{
	static uint8_t f[4000], out[2000];
	uint16_t len = datagram(f, sizeof(f), 14, 3000, 1);

	cr_assert_eq(rv_frag_count(len, 14, 1500), 3);
	cr_assert_eq(rv_frag_count(1514, 14, 1500), 1, "fits: one frame");
	cr_assert_eq(rv_frag_count(1500, 0, 1500), 1, "fits: one packet");
	cr_assert_eq(rv_frag_count(1501, 0, 1500), 2);
	cr_assert_eq(rv_frag_count(len, 14, 27), 0, "no room for 8 bytes");
	cr_assert_eq(rv_frag_split(f, len, 14, 1500, 1, 3, out, sizeof(out)), -EINVAL,
	             "no piece 3");
	cr_assert_eq(rv_frag_split(f, len, 14, 1500, 1, 1, f, sizeof(f)), -EINVAL,
	             "in place: 0 only");
	cr_assert_eq(rv_frag_split(f, len, 14, 1500, 1, 0, out, 1000), -ENOSPC);
	cr_assert_eq(rv_frag_split(f, 1514, 14, 1500, 1, 0, out, sizeof(out)), -EINVAL, "fits");
	cr_assert_eq(rv_frag_split(f, len - 1u, 14, 1500, 1, 0, out, sizeof(out)), -EINVAL,
	             "total length is not the length given");
	cr_assert_eq(rv_frag_split(f, len, 14, 1500, 1, 0, out, sizeof(out)), 1514);
	f[14] = 0x46;
	cr_assert_eq(rv_frag_split(f, len, 14, 1500, 1, 0, out, sizeof(out)), -EINVAL, "options");
	f[14] = 0x45;
	cr_assert_eq(rv_frag_split(f, len, 0, 1500, 1, 0, out, sizeof(out)), -EINVAL,
	             "the link header is not IPv4");
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

struct order_case {
	int how;
	uint8_t l2;
};

ParameterizedTestParameters(reasm, pieces_in_any_order_give_back_the_datagram)
{
	static struct order_case c[] = { { 0, 0 },  { 1, 0 },  { 2, 0 },  { 3, 0 },
		                         { 0, 14 }, { 1, 14 }, { 2, 14 }, { 3, 14 } };
	return cr_make_param_array(struct order_case, c, N_OF(c));
}

ParameterizedTest(struct order_case *oc, reasm, pieces_in_any_order_give_back_the_datagram)
{
	static uint8_t f[9100];
	static struct pieces p;
	size_t l2 = oc->l2, h = l2 + 20;
	struct rv_frag *t = table_l2(16, 9000, 32, 1000, oc->l2);
	uint16_t len = datagram(f, sizeof(f), l2, 8000, 5); /* 6 pieces at 1500 */
	struct rv_frag_res r;

	cut(f, len, l2, 1500, 0x1234, &p);
	cr_assert_eq(p.n, 6);
	for (unsigned k = 0; k < p.n; k++) {
		enum rv_frag_verdict v = feed(t, &p, order(oc->how, p.n, k), 100 + k, &r);

		cr_assert_eq(v, k + 1 < p.n ? RV_FRAG_HELD : RV_FRAG_DONE, "piece #%u", k);
		cr_assert_eq(r.why, RV_FRAG_KEPT);
		cr_assert_eq(r.gone.why, 0);
	}
	cr_assert_eq(r.len, len);
	cr_assert_geq(r.cap, l2 + 9000);
	cr_assert_arr_eq(r.pkt, f, l2, "link header");
	cr_assert_eq(rv_get_u16(r.pkt + l2 + 2), len - l2, "total length");
	cr_assert_eq(rv_get_u16(r.pkt + l2 + 6), 0, "no fragment bits left");
	cr_assert_eq(rv_get_u16(r.pkt + l2 + 4), 0x1234, "the pieces' ID");
	cr_assert_eq(r.pkt[l2 + 8], 61, "the first piece's TTL");
	cr_assert(sum_ok(r.pkt + l2, 20), "IP checksum redone");
	cr_assert_arr_eq(r.pkt + h, f + h, len - h, "payload, UDP header included");
	cr_assert_eq(rv_frag_live(t), 0);
	free(t);
}

Test(reasm, interleaved_trains_from_two_sources_do_not_mix)
{
	static uint8_t f[2][4000];
	static struct pieces p[2];
	struct rv_frag *t = table(16, 9000, 32, 1000);
	struct rv_frag_res r;
	uint16_t len[2];

	for (int s = 0; s < 2; s++) {
		len[s] = datagram(f[s], sizeof(f[s]), 0, 3000, (uint8_t)(s * 100));
		/* Same ID, other source: another train. */
		rv_put_u32(f[s] + 12, IP(198, 51, 100, 10 + s));
		cut(f[s], len[s], 0, 1500, 99, &p[s]);
	}
	cr_assert_eq(feed(t, &p[0], 0, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p[1], 2, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p[0], 1, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p[1], 0, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(rv_frag_live(t), 2);
	cr_assert_eq(feed(t, &p[1], 1, 1, &r), RV_FRAG_DONE);
	cr_assert_arr_eq(r.pkt + 20, f[1] + 20, len[1] - 20u);
	cr_assert_eq(feed(t, &p[0], 2, 1, &r), RV_FRAG_DONE);
	cr_assert_arr_eq(r.pkt + 20, f[0] + 20, len[0] - 20u);
	free(t);
}

Test(reasm, the_protocol_is_part_of_the_key_and_must_be_listed)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct rv_frag_conf c = { .slots = 16,
		                  .max_size = 9000,
		                  .max_frags = 32,
		                  .timeout_ms = 1000,
		                  .protos = { 17, 1 } };
	struct rv_frag *t = calloc(1, rv_frag_size(&c));
	struct rv_frag_res r;
	uint16_t len = datagram(f, sizeof(f), 0, 3000, 2);

	cr_assert_eq(rv_frag_init(t, &c), 0);
	cut(f, len, 0, 1500, 5, &p);
	cr_assert_eq(feed(t, &p, 0, 1, &r), RV_FRAG_HELD);
	/* The same source, destination and ID as ICMP (header checksum left
	 * stale: the table does not check it, the caller did). */
	p.f[1][9] = 1;
	cr_assert_eq(feed(t, &p, 1, 1, &r), RV_FRAG_HELD, "ICMP: another train");
	cr_assert_eq(rv_frag_live(t), 2);
	p.f[2][9] = 6;
	cr_assert_eq(feed(t, &p, 2, 1, &r), RV_FRAG_DROPPED);
	cr_assert_eq(r.why, RV_FRAG_PROTO, "TCP is not listed");
	cr_assert_not(r.train_dropped);
	p.f[2][9] = 17;
	p.f[1][9] = 17;
	cr_assert_eq(feed(t, &p, 2, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 1, 1, &r), RV_FRAG_DONE);
	cr_assert_arr_eq(r.pkt + 20, f + 20, len - 20u);
	free(t);
}

Test(reasm, a_duplicate_piece_is_dropped_alone_and_the_train_completes)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct rv_frag *t = table(16, 9000, 32, 1000);
	struct rv_frag_res r;
	uint16_t len = datagram(f, sizeof(f), 0, 3000, 2);

	cut(f, len, 0, 1500, 5, &p);
	cr_assert_eq(feed(t, &p, 0, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 0, 1, &r), RV_FRAG_DROPPED);
	cr_assert_eq(r.why, RV_FRAG_DUP);
	cr_assert_not(r.train_dropped);
	cr_assert_eq(feed(t, &p, 2, 1, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 2, 1, &r), RV_FRAG_DROPPED, "the last piece twice");
	cr_assert_eq(r.why, RV_FRAG_DUP);
	cr_assert_eq(feed(t, &p, 1, 1, &r), RV_FRAG_DONE);
	cr_assert_arr_eq(r.pkt + 20, f + 20, len - 20u);
	free(t);
}

/* A hand-made piece of the datagram f (bare IP): payload bytes
 * [off, off + n). */
static uint16_t piece(const uint8_t *f, uint32_t off, uint32_t n, bool more, uint8_t *out)
{
	memcpy(out, f, 20);
	memcpy(out + 20, f + 20 + off, n);
	rv_put_u16(out + 2, (uint16_t)(20 + n));
	rv_put_u16(out + 4, 77);
	rv_put_u16(out + 6, (uint16_t)(off / 8 | (more ? 0x2000 : 0)));
	return (uint16_t)(20 + n);
}

struct bad_case {
	char name[48];
	/* up to 3 pieces: offset, length, more; the last one is refused */
	uint32_t off[3], n[3];
	bool more[3];
	int npieces;
	enum rv_frag_why want;
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
		  RV_FRAG_OVERLAP,
		  true },
		{ "overlap across two pieces",
		  { 0, 1600, 800 },
		  { 800, 400, 1200 },
		  { 1, 1, 1 },
		  3,
		  RV_FRAG_OVERLAP,
		  true },
		{ "a second last piece ending elsewhere",
		  { 1480, 1600 },
		  { 100, 80 },
		  { 0, 0 },
		  2,
		  RV_FRAG_OVERLAP,
		  true },
		{ "a middle piece past the known end",
		  { 1480, 1600 },
		  { 100, 80 },
		  { 0, 1 },
		  2,
		  RV_FRAG_OVERLAP,
		  true },
		{ "a last piece short of data held",
		  { 0, 800 },
		  { 1480, 100 },
		  { 1, 0 },
		  2,
		  RV_FRAG_OVERLAP,
		  true },
		{ "a middle piece of 100 bytes (not 8 x n)",
		  { 0 },
		  { 100 },
		  { 1 },
		  1,
		  RV_FRAG_BAD,
		  false },
		{ "a last piece at offset 0 (no fragment)",
		  { 0 },
		  { 100 },
		  { 0 },
		  1,
		  RV_FRAG_BAD,
		  false },
		{ "ending past max_size",
		  { 0, 8976 },
		  { 1480, 8 },
		  { 1, 0 },
		  2,
		  RV_FRAG_TOO_BIG,
		  true },
		{ "third piece past max_frags 2",
		  { 0, 8, 16 },
		  { 8, 8, 8 },
		  { 1, 1, 0 },
		  3,
		  RV_FRAG_TOO_MANY,
		  true },
	};
	return cr_make_param_array(struct bad_case, c, N_OF(c));
}

ParameterizedTest(struct bad_case *bc, reasm, each_hostile_piece_is_dropped_with_its_reason)
{
	static uint8_t f[9100], out[2000];
	struct rv_frag *t = table(16, 9000, 2, 1000);
	struct rv_frag_res r;
	uint16_t n;

	(void)datagram(f, sizeof(f), 0, 8000, 4);
	for (int i = 0; i < bc->npieces; i++) {
		n = piece(f, bc->off[i], bc->n[i], bc->more[i], out);
		enum rv_frag_verdict v = rv_frag_input(t, out, n, 10, &r);
		cr_assert_eq(v, i + 1 < bc->npieces ? RV_FRAG_HELD : RV_FRAG_DROPPED,
		             "%s: piece %d", bc->name, i);
	}
	cr_assert_eq(r.why, bc->want, "%s: %s", bc->name, rv_frag_why_str(r.why));
	cr_assert_eq(r.train_dropped, bc->train_dies, "%s", bc->name);
	cr_assert_eq(r.gone.why, 0, "%s: no other train", bc->name);
	cr_assert_eq(rv_frag_live(t), bc->train_dies ? 0u : (unsigned)bc->npieces - 1, "%s",
	             bc->name);
	free(t);
}

Test(reasm, empty_unlisted_and_lying_pieces_are_refused)
{
	static uint8_t f[4000], out[2000];
	struct rv_frag *t = table(16, 9000, 32, 1000);
	struct rv_frag_res r;
	uint16_t n;

	(void)datagram(f, sizeof(f), 0, 3000, 4);
	n = piece(f, 0, 1480, true, out);
	out[9] = 1; /* ICMP: not in this table's list */
	cr_assert_eq(rv_frag_input(t, out, n, 1, &r), RV_FRAG_DROPPED);
	cr_assert_eq(r.why, RV_FRAG_PROTO);
	n = piece(f, 8, 0, true, out);
	cr_assert_eq(rv_frag_input(t, out, n, 1, &r), RV_FRAG_DROPPED, "empty");
	cr_assert_eq(r.why, RV_FRAG_BAD);
	n = piece(f, 0, 1480, true, out);
	cr_assert_eq(rv_frag_input(t, out, n - 1u, 1, &r), RV_FRAG_DROPPED,
	             "IP length past the packet");
	cr_assert_eq(r.why, RV_FRAG_BAD);
	cr_assert_eq(rv_frag_input(t, out, 19, 1, &r), RV_FRAG_DROPPED, "runt");
	cr_assert_eq(r.why, RV_FRAG_BAD);
	out[0] = 0x46;
	cr_assert_eq(rv_frag_input(t, out, n, 1, &r), RV_FRAG_DROPPED, "options");
	cr_assert_eq(r.why, RV_FRAG_BAD);
	out[0] = 0x65;
	cr_assert_eq(rv_frag_input(t, out, n, 1, &r), RV_FRAG_DROPPED, "IPv6");
	cr_assert_eq(r.why, RV_FRAG_BAD);
	cr_assert_eq(rv_frag_live(t), 0);
	/* Link padding past the total length is not payload. */
	out[0] = 0x45;
	cr_assert_eq(rv_frag_input(t, out, n + 10u, 1, &r), RV_FRAG_HELD);
	free(t);
}

Test(reasm, an_incomplete_train_times_out_and_is_described)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct rv_frag *t = table(16, 9000, 32, 500);
	struct rv_frag_train gone[16];
	struct rv_frag_res r;
	uint16_t len = datagram(f, sizeof(f), 0, 3000, 8);

	cut(f, len, 0, 1500, 3, &p);
	cr_assert_eq(feed(t, &p, 0, 1000, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 1, 1400, &r), RV_FRAG_HELD);
	cr_assert_eq(rv_frag_expire(t, 1499, 16, gone), 0, "499 ms after the first piece");
	cr_assert_eq(rv_frag_expire(t, 1500, 16, gone), 1, "500 ms: gone");
	cr_assert_eq(gone[0].why, RV_FRAG_TIMEOUT);
	cr_assert_eq(gone[0].proto, 17);
	cr_assert_eq(gone[0].src, IP(198, 51, 100, 10));
	cr_assert_eq(gone[0].dst, IP(192, 0, 2, 1));
	cr_assert_eq(gone[0].id, 3);
	cr_assert_eq(gone[0].nfrags, 2);
	cr_assert_eq(gone[0].got, 2960);
	cr_assert_eq(gone[0].age_ms, 500);
	cr_assert(gone[0].has_head, "it held the first piece");
	cr_assert_eq(rv_get_u16(gone[0].head), 40000, "source port");
	cr_assert_eq(rv_get_u16(gone[0].head + 2), 3478, "destination port");
	cr_assert_eq(rv_frag_live(t), 0);
	/* The last piece, late: a new train, which never completes. */
	cr_assert_eq(feed(t, &p, 2, 1600, &r), RV_FRAG_HELD);
	/* Retransmitted whole train after the timeout: the stale one is
	 * reported when its key comes back, the new one completes. */
	cr_assert_eq(feed(t, &p, 0, 2200, &r), RV_FRAG_HELD);
	cr_assert_eq(r.gone.why, RV_FRAG_TIMEOUT);
	cr_assert_not(r.gone.has_head, "it held the last piece only");
	cr_assert_eq(r.gone.got, len - 20u - 2960u);
	cr_assert_eq(r.gone.age_ms, 600);
	cr_assert_eq(feed(t, &p, 1, 2200, &r), RV_FRAG_HELD);
	cr_assert_eq(feed(t, &p, 2, 2200, &r), RV_FRAG_DONE);
	free(t);
}

Test(reasm, the_sweep_walks_the_whole_table_a_budget_at_a_time)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct rv_frag *t = table(64, 9000, 32, 10);
	struct rv_frag_res r;
	unsigned gone = 0, evicted = 0;
	uint16_t len = datagram(f, sizeof(f), 0, 3000, 8);

	cut(f, len, 0, 1500, 0, &p);
	for (uint16_t id = 0; id < 40; id++) {
		rv_put_u16(p.f[0] + 4, id);
		(void)feed(t, &p, 0, 0, &r);
		evicted += r.gone.why == RV_FRAG_EVICTED;
	}
	cr_assert_leq(rv_frag_live(t), 40);
	cr_assert_geq(rv_frag_live(t), 30, "4-way buckets hold most of 40 in 64 slots");
	for (int loop = 0; loop < 8; loop++)
		gone += rv_frag_expire(t, 100, 8, NULL);
	cr_assert_eq(rv_frag_live(t), 0, "8 loops of 8 cover 64 slots");
	cr_assert_eq(gone + evicted, 40);
	free(t);
}

Test(reasm, a_full_bucket_evicts_its_oldest_train)
{
	static uint8_t f[4000];
	static struct pieces p;
	struct rv_frag *t = table(4, 9000, 32, 1000); /* one bucket of 4 */
	struct rv_frag_res r;
	uint16_t len = datagram(f, sizeof(f), 0, 3000, 8);

	cut(f, len, 0, 1500, 0, &p);
	for (uint16_t id = 0; id < 5; id++) {
		rv_put_u16(p.f[0] + 4, id);
		cr_assert_eq(feed(t, &p, 0, 10 + id, &r), RV_FRAG_HELD);
		cr_assert_eq(r.gone.why, id < 4 ? RV_FRAG_KEPT : RV_FRAG_EVICTED);
	}
	cr_assert_eq(r.gone.id, 0, "the oldest");
	cr_assert_eq(r.gone.age_ms, 4);
	cr_assert(r.gone.has_head);
	cr_assert_eq(rv_frag_live(t), 4);
	/* Train 0 (the oldest) is gone: its rest starts anew; 4 completes. */
	for (unsigned i = 1; i < p.n; i++) {
		rv_put_u16(p.f[i] + 4, 4);
		cr_assert_eq(feed(t, &p, i, 20, &r), i + 1 < p.n ? RV_FRAG_HELD : RV_FRAG_DONE);
	}
	for (unsigned i = 1; i < p.n; i++) {
		rv_put_u16(p.f[i] + 4, 0);
		cr_assert_eq(feed(t, &p, i, 21, &r), RV_FRAG_HELD, "train 0 lost its first piece");
	}
	free(t);
}

/* Random pieces, random IDs, lengths and offsets from a few sources, with
 * the clock running: every piece gets exactly one outcome, the table never
 * holds more than its slots, nothing reads or writes out of bounds (run
 * under `make asan`), and it still reassembles afterwards. */
Test(reasm, a_flood_of_random_pieces_is_bounded_and_each_piece_has_one_outcome)
{
	static uint8_t f[9100], out[2000];
	static struct pieces p;
	struct rv_frag *t = table(32, 9000, 8, 50);
	struct rv_frag_res r;
	uint64_t seed = 0x9e3779b97f4a7c15ull, why[RV_FRAG_WHY_COUNT] = { 0 };
	uint64_t drops = 0, per_piece = 0;
	const int N = 200000;

	(void)datagram(f, sizeof(f), 0, 8900, 1);
	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t x = (uint32_t)(seed >> 33);
		uint32_t off = (x % 1113) * 8, n = 8 * (1 + (x >> 12) % 200);
		uint16_t len;
		enum rv_frag_verdict v;

		if (off + n > 8908)
			n = 8908 - off;
		len = piece(f, off, n, (x >> 20) & 1, out);
		rv_put_u16(out + 4, (uint16_t)(x >> 22) % 64);
		rv_put_u32(out + 12, IP(203, 0, 113, (x >> 28) & 3));
		if ((x & 0xff) == 0)
			out[9] = 6;
		v = rv_frag_input(t, out, len, (uint64_t)i / 100, &r);
		cr_assert_lt(r.why, RV_FRAG_TIMEOUT, "a piece's own outcome");
		cr_assert_eq(v == RV_FRAG_DROPPED, r.why != RV_FRAG_KEPT);
		why[r.why]++;
		if (r.gone.why)
			why[r.gone.why]++;
		cr_assert_leq(rv_frag_live(t), 32);
		if ((i & 255) == 0)
			drops += rv_frag_expire(t, (uint64_t)i / 100, 8, NULL);
	}
	for (int w = RV_FRAG_KEPT; w < RV_FRAG_TIMEOUT; w++)
		per_piece += why[w];
	cr_assert_eq(per_piece, (uint64_t)N);
	cr_assert_gt(why[RV_FRAG_OVERLAP], 0);
	cr_assert_gt(why[RV_FRAG_PROTO], 0);
	cr_assert_gt(why[RV_FRAG_EVICTED] + why[RV_FRAG_TIMEOUT] + drops, 0);
	/* A real train still gets through. */
	uint16_t len = datagram(f, sizeof(f), 0, 3000, 1);
	cut(f, len, 0, 1500, 0xaaaa, &p);
	for (unsigned i = 0; i < p.n; i++)
		cr_assert_eq(feed(t, &p, i, 5000, &r), i + 1 < p.n ? RV_FRAG_HELD : RV_FRAG_DONE);
	free(t);
}

Test(reasm, bad_configurations_are_refused)
{
	struct rv_frag_conf c = {
		.slots = 16, .max_size = 9000, .max_frags = 8, .timeout_ms = 1, .protos = { 17 }
	};
	uint64_t mem[512];

	cr_assert_gt(rv_frag_size(&c), 16 * 9000u);
	c.slots = 2;
	cr_assert_eq(rv_frag_size(&c), 0, "fewer slots than a bucket");
	cr_assert_eq(rv_frag_init((struct rv_frag *)(void *)mem, &c), -EINVAL);
	c.slots = 24;
	cr_assert_eq(rv_frag_size(&c), 0, "not a power of two");
	c.slots = 16;
	c.max_size = RV_FRAG_MAX_SIZE + 1;
	cr_assert_eq(rv_frag_size(&c), 0);
	c.max_size = 575;
	cr_assert_eq(rv_frag_size(&c), 0);
	c.max_size = 9000;
	c.max_frags = 1;
	cr_assert_eq(rv_frag_size(&c), 0);
	c.max_frags = 256;
	cr_assert_eq(rv_frag_size(&c), 0);
	c.max_frags = 8;
	c.timeout_ms = 0;
	cr_assert_eq(rv_frag_size(&c), 0);
	c.timeout_ms = 1;
	c.l2_len = RV_FRAG_MAX_L2 + 1;
	cr_assert_eq(rv_frag_size(&c), 0);
	c.l2_len = 14;
	c.protos[0] = 0;
	cr_assert_eq(rv_frag_size(&c), 0, "no protocol");
	c.protos[3] = 1;
	cr_assert_gt(rv_frag_size(&c), 16 * (9000u + 14));
}
