#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_rl.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define SEC 1000000ull /* microseconds */

static struct dp_rl *rl_new(const struct dp_rl_conf *c, uint32_t shares)
{
	struct dp_rl *rl = calloc(1, dp_rl_size(c));

	cr_assert_not_null(rl);
	cr_assert_eq(dp_rl_init(rl, c, shares), 0);
	return rl;
}

static struct rv_addr v4(uint32_t ip)
{
	return rv_addr_v4(ip, 40000);
}

static struct rv_addr parsed(const char *s)
{
	struct rv_addr a;

	cr_assert_eq(rv_addr_parse(s, 40000, &a), 0, "%s", s);
	return a;
}

/* How many of tries responses of resp bytes to req-byte requests from src
 * are allowed at now_us, and the verdict of the last refusal. */
static int allowed(struct dp_rl *rl, struct rv_addr src, uint32_t req, uint32_t resp,
                   uint64_t now_us, int tries, enum dp_rl_verdict *refusal)
{
	int n = 0;

	for (int i = 0; i < tries; i++) {
		enum dp_rl_verdict v = dp_rl_check(rl, &src, req, resp, now_us);

		if (v == DP_RL_OK)
			n++;
		else if (refusal)
			*refusal = v;
	}
	return n;
}

/* A source sending 100-byte requests: plain answers and 60-byte-larger ones. */
#define SAME(rl, src, now, tries)   allowed(rl, src, 100, 100, now, tries, NULL)
#define BIGGER(rl, src, now, tries) allowed(rl, src, 100, 160, now, tries, NULL)

static const struct dp_rl_conf base = {
	.slots = 4096,
	.src_bytes = 1000,
	.src_bytes_rate = 100,
	.src_pkts = 4,
	.src_pkts_rate = 2,
	.glob_bytes = 0,
	.glob_bytes_rate = 0,
	.seed = 0x1234,
};

/* --- per source -------------------------------------------------------- */

Test(rl, a_source_gets_its_packet_burst_then_the_refill_rate)
{
	struct dp_rl *rl = rl_new(&base, 1);
	struct rv_addr a = v4(0xc0000201);
	enum dp_rl_verdict why = DP_RL_OK;

	cr_assert_eq(allowed(rl, a, 100, 100, 10 * SEC, 10, &why), 4);
	cr_assert_eq(why, DP_RL_SRC_PKTS);
	cr_assert_eq(SAME(rl, a, 10 * SEC + SEC / 2 - 1, 10), 0, "half a second minus 1 us");
	cr_assert_eq(SAME(rl, a, 10 * SEC + SEC / 2, 10), 1, "2 pps: one token per 0.5 s");
	/* Touching the bucket every microsecond loses no fraction of a token. */
	for (uint64_t us = 1; us < SEC / 2; us += 997)
		cr_assert_eq(SAME(rl, a, 10 * SEC + SEC / 2 + us, 1), 0);
	cr_assert_eq(SAME(rl, a, 11 * SEC, 10), 1);
	cr_assert_eq(SAME(rl, a, 100 * SEC, 10), 4, "a long idle refills to the burst, no more");
	free(rl);
}

struct len_case {
	uint32_t req, resp;
};

ParameterizedTestParameters(rl, response_no_larger_than_request_never_needs_byte_budget)
{
	static struct len_case cases[] = {
		{ 100, 100 }, { 100, 20 }, { 0, 0 }, { 1500, 1 }, { UINT32_MAX, UINT32_MAX },
	};

	return cr_make_param_array(struct len_case, cases, N_OF(cases));
}

ParameterizedTest(struct len_case *c, rl, response_no_larger_than_request_never_needs_byte_budget)
{
	/* No byte budget at all, per source or global. */
	struct dp_rl_conf conf = { .slots = 64, .glob_bytes = 1, .seed = 1 };
	struct dp_rl *rl = rl_new(&conf, 1);
	struct rv_addr a = v4(0xc0000201);
	enum dp_rl_verdict why = DP_RL_OK;

	cr_assert_eq(allowed(rl, a, c->req, c->resp, 0, 1000, NULL), 1000);
	if (c->req < UINT32_MAX) {
		cr_assert_eq(allowed(rl, a, c->req, c->req + 1, 0, 1, &why), 0);
		cr_assert_eq(why, DP_RL_SRC_BYTES, "one byte more must pay");
	}
	free(rl);
}

Test(rl, the_excess_is_paid_from_the_source_byte_budget_which_refills)
{
	struct dp_rl_conf conf = base;
	struct rv_addr a = v4(0xc0000201);
	struct dp_rl *rl;
	enum dp_rl_verdict why = DP_RL_OK;

	conf.src_pkts = 0;
	conf.src_bytes = 100;
	conf.src_bytes_rate = 10;
	rl = rl_new(&conf, 1);
	cr_assert_eq(allowed(rl, a, 100, 160, 0, 1, NULL), 1);
	cr_assert_eq(allowed(rl, a, 100, 160, 0, 1, &why), 0);
	cr_assert_eq(why, DP_RL_SRC_BYTES);
	cr_assert_eq(allowed(rl, a, 100, 140, 0, 1, NULL), 1, "40 of 100 left");
	cr_assert_eq(allowed(rl, a, 100, 101, 0, 1, NULL), 0);
	cr_assert_eq(SAME(rl, a, 0, 1), 1, "an empty byte budget still allows plain answers");
	cr_assert_eq(allowed(rl, a, 100, 101, SEC / 10 - 1, 1, NULL), 0);
	cr_assert_eq(allowed(rl, a, 100, 101, SEC / 10, 1, NULL), 1, "10 B/s: a byte per 0.1 s");
	free(rl);
}

Test(rl, refused_responses_are_not_charged)
{
	struct dp_rl_conf conf = base;
	struct rv_addr a = v4(0xc0000201), b = v4(0xc0000202);
	struct dp_rl *rl;
	enum dp_rl_verdict why = DP_RL_OK;

	conf.src_pkts = 2;
	conf.src_pkts_rate = 0;
	conf.src_bytes = 200;
	conf.src_bytes_rate = 0;
	conf.glob_bytes = 100;
	rl = rl_new(&conf, 1);
	/* 150 excess passes the source (200) but not the global budget (100). */
	cr_assert_eq(allowed(rl, a, 0, 150, 0, 3, &why), 0);
	cr_assert_eq(why, DP_RL_GLOB_BYTES);
	/* Neither the packet tokens nor the source's bytes were taken. */
	cr_assert_eq(allowed(rl, a, 0, 100, 0, 1, NULL), 1, "source still has >= 100, global 100");
	cr_assert_eq(SAME(rl, a, 0, 5), 1, "two packet tokens in all, one used");
	cr_assert_eq(allowed(rl, b, 0, 300, 0, 2, &why), 0);
	cr_assert_eq(why, DP_RL_SRC_BYTES);
	cr_assert_eq(SAME(rl, b, 0, 5), 2, "a byte refusal takes no packet token");
	free(rl);
}

Test(rl, a_zero_packet_burst_means_no_packet_limit)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;

	conf.src_pkts = 0;
	conf.src_pkts_rate = 0;
	rl = rl_new(&conf, 1);
	cr_assert_eq(SAME(rl, v4(0xc0000201), 0, 100000), 100000);
	free(rl);
}

/* --- the global budget --------------------------------------------------- */

Test(rl, the_global_budget_is_shared_by_all_sources)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;
	enum dp_rl_verdict why = DP_RL_OK;

	conf.src_pkts = 0;
	conf.glob_bytes = 1000;
	conf.glob_bytes_rate = 0;
	rl = rl_new(&conf, 1);
	cr_assert_eq(allowed(rl, v4(0xc0000201), 0, 400, 0, 1, NULL), 1);
	cr_assert_eq(allowed(rl, v4(0xc0000202), 0, 400, 0, 1, NULL), 1);
	cr_assert_eq(allowed(rl, v4(0xc0000203), 0, 400, 0, 1, &why), 0);
	cr_assert_eq(why, DP_RL_GLOB_BYTES,
	             "the third source has its own 1000 but the sum is spent");
	cr_assert_eq(allowed(rl, v4(0xc0000203), 400, 400, 0, 1, NULL), 1);
	cr_assert_eq(allowed(rl, v4(0xc0000201), 0, 200, 0, 1, NULL), 1, "the last 200");
	cr_assert_eq(allowed(rl, v4(0xc0000204), 0, 1, 0, 1, NULL), 0);
	free(rl);
}

ParameterizedTestParameters(rl, each_lcore_gets_its_share_of_the_global_budget)
{
	static uint32_t shares[] = { 1, 2, 3, 4, 8 };

	return cr_make_param_array(uint32_t, shares, N_OF(shares));
}

ParameterizedTest(uint32_t *shares, rl, each_lcore_gets_its_share_of_the_global_budget)
{
	struct dp_rl_conf conf = base;
	struct rv_addr a = v4(0xc0000201);
	struct dp_rl *rl;
	enum dp_rl_verdict why = DP_RL_OK;

	conf.src_pkts = 0;
	conf.src_bytes = UINT32_MAX;
	conf.src_bytes_rate = UINT32_MAX;
	conf.glob_bytes = 1200;
	conf.glob_bytes_rate = 1200;
	rl = rl_new(&conf, *shares);
	cr_assert_eq(allowed(rl, a, 0, 1, SEC, 2000, &why), (int)(1200 / *shares));
	cr_assert_eq(why, DP_RL_GLOB_BYTES);
	cr_assert_eq(allowed(rl, a, 0, 1, SEC + SEC / 2, 2000, NULL), (int)(600 / *shares),
	             "the refill rate is split too");
	free(rl);
}

Test(rl, a_zero_global_budget_means_no_global_limit)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;
	int n = 0;

	conf.slots = 1u << 16; /* 2000 sources, each alone in its set */
	conf.src_pkts = 0;
	conf.glob_bytes = 0;
	conf.glob_bytes_rate = 0;
	rl = rl_new(&conf, 4);
	for (uint32_t i = 0; i < 2000; i++)
		n += allowed(rl, v4(0xc6336400 + i), 0, 1000, 0, 1, NULL);
	cr_assert_eq(n, 2000, "2 MB of excess, every source within its own 1000");
	free(rl);
}

/* --- who is a source -------------------------------------------------- */

Test(rl, an_evicting_source_inherits_the_slots_budget_not_a_fresh_one)
{
	struct dp_rl_conf conf = base;
	struct rv_addr a = v4(0xc0000201), b = v4(0xcb007101);
	struct dp_rl *rl;

	conf.slots = 1; /* every source collides */
	conf.src_pkts_rate = 1;
	rl = rl_new(&conf, 1);
	cr_assert_eq(SAME(rl, a, 0, 10), 4);
	cr_assert_eq(SAME(rl, b, 0, 10), 0, "b took a's slot with its empty bucket");
	cr_assert_eq(SAME(rl, a, 0, 10), 0, "and a coming back gets nothing either");
	cr_assert_eq(SAME(rl, b, 2 * SEC, 10), 2, "the slot refills at the rate");
	free(rl);
}

Test(rl, sources_of_one_set_keep_their_own_budgets_while_it_has_room)
{
	struct dp_rl_conf conf = base;
	struct rv_addr a = v4(0xc0000201), b = v4(0xcb007101), c = v4(0x0a000001);
	struct dp_rl *rl;

	conf.slots = 2; /* one set of two */
	conf.src_pkts_rate = 0;
	rl = rl_new(&conf, 1);
	cr_assert_eq(SAME(rl, a, 0, 10), 4);
	cr_assert_eq(SAME(rl, b, 1, 10), 4, "b has the other slot");
	cr_assert_eq(SAME(rl, a, 2, 10), 0, "a kept its spent bucket");
	cr_assert_eq(SAME(rl, c, 3, 10), 0, "c evicts the least recent (b) and gets its bucket");
	cr_assert_eq(SAME(rl, a, 4, 10), 0, "a was the most recent: still its own, spent");
	free(rl);
	conf.slots = 4; /* one set of four: room for c */
	rl = rl_new(&conf, 1);
	cr_assert_eq(SAME(rl, a, 0, 10), 4);
	cr_assert_eq(SAME(rl, b, 1, 10), 4);
	cr_assert_eq(SAME(rl, c, 2, 10), 4);
	cr_assert_eq(SAME(rl, a, 3, 10) + SAME(rl, b, 3, 10) + SAME(rl, c, 3, 10), 0);
	free(rl);
}

/* However many spoofed sources, the slots bound what they get together;
 * a thousand sources in 64K slots each get exactly their own budget. */
Test(rl, spoofed_sources_draw_no_more_than_the_slots_budgets)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;
	int n = 0;

	conf.slots = 64;
	conf.src_pkts_rate = 0;
	rl = rl_new(&conf, 1);
	for (uint32_t round = 0; round < 3; round++)
		for (uint32_t i = 0; i < 10000; i++)
			n += SAME(rl, v4(0x0a000000 + i), round * 10000 + i, 1);
	cr_assert_eq(n, 64 * 4, "%d answers from 64 slots of 4 packets", n);
	free(rl);

	conf.slots = 1u << 16;
	rl = rl_new(&conf, 1);
	n = 0;
	for (uint32_t round = 0; round < 8; round++)
		for (uint32_t i = 0; i < 1000; i++)
			n += SAME(rl, v4(0x0b000000 + i * 7919), round * 1000 + i, 1);
	cr_assert_eq(n, 1000 * 4, "each of 1000 sources gets its 4 packets, no more (%d)", n);
	free(rl);
}

Test(rl, sources_in_different_slots_keep_their_own_budgets)
{
	struct rv_addr a = v4(0xc0000201), b = v4(0xc0000202);
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;

	conf.src_pkts_rate = 0; /* base's seed puts a and b in different slots */
	rl = rl_new(&conf, 1);
	cr_assert_eq(SAME(rl, a, 0, 10), 4);
	cr_assert_eq(SAME(rl, b, 0, 10), 4);
	cr_assert_eq(SAME(rl, a, 0, 10), 0, "a's bucket survived b");
	free(rl);
}

Test(rl, an_ipv4_mapped_ipv6_source_is_the_ipv4_source)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;

	conf.src_pkts_rate = 0;
	rl = rl_new(&conf, 1);
	cr_assert_eq(SAME(rl, parsed("203.0.113.1"), 0, 3), 3);
	cr_assert_eq(SAME(rl, parsed("[::ffff:203.0.113.1]:5"), 0, 10), 1);
	cr_assert_eq(SAME(rl, parsed("[::ffff:203.0.113.2]:5"), 0, 2), 2);
	cr_assert_eq(SAME(rl, parsed("203.0.113.2"), 0, 10), 2);
	free(rl);
}

Test(rl, the_port_does_not_make_a_new_source)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;
	int n = 0;

	conf.src_pkts_rate = 0;
	rl = rl_new(&conf, 1);
	for (uint16_t port = 1; port <= 100; port++)
		n += SAME(rl, rv_addr_v4(0xc0000201, port), 0, 1);
	cr_assert_eq(n, 4);
	free(rl);
}

Test(rl, ipv6_sources_are_told_apart_by_every_byte_and_by_family)
{
	const char *srcs[] = { "[2001:db8::1]:1", "[2001:db8::2]:1", "[3001:db8::1]:1",
		               "[102:304::]:1", "1.2.3.4:1" };
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;

	conf.slots = 1u << 16;
	conf.src_pkts_rate = 0;
	rl = rl_new(&conf, 1);
	for (size_t i = 0; i < N_OF(srcs); i++)
		cr_assert_eq(SAME(rl, parsed(srcs[i]), 0, 10), 4, "%s", srcs[i]);
	for (size_t i = 0; i < N_OF(srcs); i++)
		cr_assert_eq(SAME(rl, parsed(srcs[i]), 0, 10), 0, "%s kept its own bucket",
		             srcs[i]);
	free(rl);
}

/* --- time ------------------------------------------------------------- */

Test(rl, time_going_backwards_refills_nothing)
{
	struct dp_rl *rl = rl_new(&base, 1);
	struct rv_addr a = v4(0xc0000201);

	cr_assert_eq(SAME(rl, a, 10 * SEC, 10), 4);
	cr_assert_eq(SAME(rl, a, 5 * SEC, 10), 0);
	cr_assert_eq(SAME(rl, a, 0, 10), 0);
	cr_assert_eq(SAME(rl, a, 10 * SEC + SEC / 2 - 1, 10), 0, "no credit for the detour");
	cr_assert_eq(SAME(rl, a, 10 * SEC + SEC / 2, 10), 1);
	free(rl);
}

/* Extreme rates and gaps: after draining at t0, exactly `want` grants at t1
 * (a wrapped product would give too many or too few). */
struct gap_case {
	uint32_t rate;
	uint64_t t0, t1;
	int want;
};

ParameterizedTestParameters(rl, huge_rates_and_gaps_never_overflow)
{
	static struct gap_case cases[] = {
		{ UINT32_MAX, 0, UINT64_MAX, 3 },
		{ 1, 0, UINT64_MAX, 3 },
		{ UINT32_MAX, 5, 6, 3 },
		{ 1, UINT64_MAX - 1, UINT64_MAX, 0 },
		{ 1, UINT64_MAX - SEC, UINT64_MAX, 1 },
		{ 0, 0, UINT64_MAX, 0 },
		{ 1000000, 7, 8, 1 },
		{ 1u << 31, 0, 1ull << 33, 3 }, /* rate * gap is exactly 2^64 */
	};

	return cr_make_param_array(struct gap_case, cases, N_OF(cases));
}

ParameterizedTest(struct gap_case *c, rl, huge_rates_and_gaps_never_overflow)
{
	struct dp_rl_conf conf = {
		.slots = 16,
		.src_pkts = 3,
		.src_pkts_rate = c->rate,
		.src_bytes = UINT32_MAX,
		.src_bytes_rate = c->rate,
		.glob_bytes = UINT64_MAX,
		.glob_bytes_rate = UINT64_MAX,
		.seed = 9,
	};
	struct dp_rl *rl = rl_new(&conf, 1);
	struct rv_addr a = v4(0xc0000201);

	cr_assert_eq(allowed(rl, a, 0, UINT32_MAX, c->t0, 10, NULL), 1, "the whole byte burst");
	cr_assert_eq(SAME(rl, a, c->t0, 10), 2);
	cr_assert_eq(SAME(rl, a, c->t1, 10), c->want);
	free(rl);
}

Test(rl, a_global_budget_larger_than_a_bucket_can_count_saturates)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;
	int n = 0;

	conf.src_pkts = 0;
	conf.src_bytes = UINT32_MAX;
	conf.src_bytes_rate = 0;
	conf.glob_bytes = UINT64_MAX;
	conf.glob_bytes_rate = UINT64_MAX;
	rl = rl_new(&conf, 1);
	for (uint32_t i = 0; i < 64; i++)
		n += allowed(rl, v4(0xc6336400 + i), 0, UINT32_MAX, 1, 1, NULL);
	cr_assert_eq(n, 64, "2^38 bytes of excess is well within a saturated global bucket");
	free(rl);
}

/* --- setup and names --------------------------------------------------- */

struct init_case {
	uint32_t slots, shares;
	int want;
};

ParameterizedTestParameters(rl, init_takes_power_of_two_slots_and_at_least_one_share)
{
	static struct init_case cases[] = {
		{ 0, 1, -EINVAL },    { 3, 1, -EINVAL }, { 1000, 1, -EINVAL },
		{ 1024, 0, -EINVAL }, { 1, 1, 0 },       { 1024, 64, 0 },
	};

	return cr_make_param_array(struct init_case, cases, N_OF(cases));
}

ParameterizedTest(struct init_case *c, rl, init_takes_power_of_two_slots_and_at_least_one_share)
{
	struct dp_rl_conf conf = base;
	struct dp_rl *rl;

	conf.slots = c->slots;
	rl = calloc(1, dp_rl_size(&conf));
	cr_assert_not_null(rl);
	cr_assert_eq(dp_rl_init(rl, &conf, c->shares), c->want);
	free(rl);
}

Test(rl, a_slot_costs_at_most_64_bytes)
{
	struct dp_rl_conf small = base, big = base;

	small.slots = 1024;
	big.slots = 2048;
	cr_assert_leq(dp_rl_size(&big) - dp_rl_size(&small), 1024 * 64);
	cr_assert_gt(dp_rl_size(&big), dp_rl_size(&small));
}

Test(rl, every_verdict_has_a_name)
{
	const struct {
		enum dp_rl_verdict v;
		const char *name;
	} names[] = {
		{ DP_RL_OK, "ok" },
		{ DP_RL_SRC_PKTS, "src_pkts" },
		{ DP_RL_SRC_BYTES, "src_bytes" },
		{ DP_RL_GLOB_BYTES, "glob_bytes" },
		{ (enum dp_rl_verdict)99, "unknown" },
	};

	for (size_t i = 0; i < N_OF(names); i++)
		cr_assert_str_eq(dp_rl_verdict_str(names[i].v), names[i].name);
}
