#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>

#include "proto/delta.h"
#include "proto/rv_err.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct rv_port_space dflt = { 1024, 65535 };

/* Ports of consecutive probes starting at `start` with the given signed
 * gaps, wrapping in ps (the test's own arithmetic, not rv_port_add). */
static size_t ports_from_gaps(const struct rv_port_space *ps, uint16_t start, const int *gaps,
                              size_t ngaps, uint16_t *out)
{
	long size = (long)ps->hi - ps->lo + 1, p = start - ps->lo;

	out[0] = start;
	for (size_t i = 0; i < ngaps; i++) {
		p = ((p + gaps[i]) % size + size) % size;
		out[i + 1] = (uint16_t)(ps->lo + p);
	}
	return ngaps + 1;
}

/* --- port space ------------------------------------------------------- */

Test(port_space, default_is_1024_to_65535)
{
	struct rv_port_space ps = rv_port_space_default();

	cr_assert_eq(ps.lo, 1024);
	cr_assert_eq(ps.hi, 65535);
	cr_assert_eq(rv_port_space_check(&ps), 0);
	cr_assert_eq(rv_port_space_size(&ps), 64512);
}

Test(port_space, rejects_port_zero_and_inverted_bounds)
{
	struct rv_port_space zero = { 0, 10 }, inverted = { 20, 10 }, one = { 7, 7 };

	cr_assert_eq(rv_port_space_check(&zero), -EINVAL);
	cr_assert_eq(rv_port_space_check(&inverted), -EINVAL);
	cr_assert_eq(rv_port_space_size(&inverted), 0);
	cr_assert_not(rv_port_space_contains(&inverted, 15));
	cr_assert_eq(rv_port_space_check(&one), 0);
	cr_assert_eq(rv_port_space_size(&one), 1);
}

Test(port_space, contains_exactly_its_bounds)
{
	cr_assert(rv_port_space_contains(&dflt, 1024));
	cr_assert(rv_port_space_contains(&dflt, 65535));
	cr_assert_not(rv_port_space_contains(&dflt, 1023));
	cr_assert_not(rv_port_space_contains(&dflt, 0));
}

Test(port_add, wraps_from_65535_to_1024_and_back)
{
	cr_assert_eq(rv_port_add(&dflt, 65535, 1), 1024);
	cr_assert_eq(rv_port_add(&dflt, 1024, -1), 65535);
	cr_assert_eq(rv_port_add(&dflt, 65530, 12), 1030);
	cr_assert_eq(rv_port_add(&dflt, 2000, 0), 2000);
	cr_assert_eq(rv_port_add(&dflt, 2000, 5), 2005);
	cr_assert_eq(rv_port_add(&dflt, 2000, -5), 1995);
}

Test(port_add, whole_turns_come_back_to_the_same_port)
{
	cr_assert_eq(rv_port_add(&dflt, 3000, 64512), 3000);
	cr_assert_eq(rv_port_add(&dflt, 3000, -3 * 64512), 3000);
	/* Extreme k do not overflow: INT32_MAX = 33288 * 64512 + 8191. */
	cr_assert_eq(rv_port_add(&dflt, 3000, INT32_MAX), 3000 + 8191);
	cr_assert_eq(rv_port_add(&dflt, 3000, INT32_MIN), 3000 - 8192 + 64512);
}

Test(port_add, works_in_a_tiny_space)
{
	struct rv_port_space ps = { 10, 14 };

	cr_assert_eq(rv_port_add(&ps, 14, 1), 10);
	cr_assert_eq(rv_port_add(&ps, 10, -2), 13);
	cr_assert_eq(rv_port_add(&ps, 12, 7), 14);
}

Test(port_add, rejects_ports_outside_the_space_and_bad_spaces)
{
	struct rv_port_space bad = { 5, 4 };

	cr_assert_eq(rv_port_add(&dflt, 80, 1), RV_ERANGE);
	cr_assert_eq(rv_port_add(&bad, 5, 1), -EINVAL);
}

Test(port_dist, takes_the_short_way_across_the_wrap)
{
	int32_t d;

	cr_assert_eq(rv_port_dist(&dflt, 65535, 1024, &d), 0);
	cr_assert_eq(d, 1);
	cr_assert_eq(rv_port_dist(&dflt, 1024, 65535, &d), 0);
	cr_assert_eq(d, -1);
	cr_assert_eq(rv_port_dist(&dflt, 10135, 10145, &d), 0);
	cr_assert_eq(d, 10);
	cr_assert_eq(rv_port_dist(&dflt, 10145, 10135, &d), 0);
	cr_assert_eq(d, -10);
	cr_assert_eq(rv_port_dist(&dflt, 4000, 4000, &d), 0);
	cr_assert_eq(d, 0);
}

Test(port_dist, a_tie_at_half_the_space_is_positive)
{
	struct rv_port_space even = { 1, 10 }, odd = { 1, 11 };
	int32_t d;

	cr_assert_eq(rv_port_dist(&even, 1, 6, &d), 0);
	cr_assert_eq(d, 5);
	cr_assert_eq(rv_port_dist(&even, 6, 1, &d), 0);
	cr_assert_eq(d, 5);
	cr_assert_eq(rv_port_dist(&odd, 1, 7, &d), 0);
	cr_assert_eq(d, -5);
}

Test(port_dist, round_trips_with_port_add)
{
	int32_t d;

	for (int32_t k = -32000; k <= 32000; k += 997) {
		int p = rv_port_add(&dflt, 1100, k);

		cr_assert_gt(p, 0);
		cr_assert_eq(rv_port_dist(&dflt, 1100, (uint16_t)p, &d), 0);
		cr_assert_eq(d, k, "k=%d d=%d", k, d);
	}
}

Test(port_dist, rejects_ports_outside_the_space)
{
	struct rv_port_space bad = { 0, 4 };
	int32_t d = 77;

	cr_assert_eq(rv_port_dist(&dflt, 1023, 2000, &d), RV_ERANGE);
	cr_assert_eq(rv_port_dist(&dflt, 2000, 0, &d), RV_ERANGE);
	cr_assert_eq(rv_port_dist(&bad, 1, 2, &d), -EINVAL);
	cr_assert_eq(d, 77);
}

/* --- Δ detection (Fig. 11, S304) ---------------------------------------- */

static struct rv_delta detect_gaps(uint16_t start, const int *gaps, size_t ngaps, int want_rc)
{
	uint16_t ports[32];
	struct rv_delta dl;
	size_t n = ports_from_gaps(&dflt, start, gaps, ngaps, ports);

	cr_assert_eq(rv_delta_detect(&dflt, ports, n, &dl), want_rc);
	return dl;
}

Test(delta, smallest_of_12_6_18_is_6_and_so_is_the_gcd)
{
	const int gaps[] = { 12, 6, 18 };
	struct rv_delta dl = detect_gaps(5000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.smallest, 6);
	cr_assert_eq(dl.gcd, 6);
	cr_assert_eq(dl.used, 3);
	cr_assert_eq(dl.off_gcd, 0);
}

Test(delta, gcd_of_12_6_9_is_3)
{
	const int gaps[] = { 12, 6, 9 };
	struct rv_delta dl = detect_gaps(5000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.smallest, 6);
	cr_assert_eq(dl.gcd, 3);
	cr_assert_eq(dl.off_gcd, 0);
}

Test(delta, decreasing_allocation_gives_a_negative_delta)
{
	const int gaps[] = { -12, -6, -9 };
	struct rv_delta dl = detect_gaps(30000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.smallest, -6);
	cr_assert_eq(dl.gcd, -3);
}

Test(delta, a_run_across_65535_to_1024_works)
{
	/* 65531, 65533, 65535, 1025, 1027: the step 65535 -> 1025 is +2. */
	const uint16_t ports[] = { 65531, 65533, 65535, 1025, 1027 };
	const uint16_t down[] = { 1027, 1025, 65535, 65533 };
	struct rv_delta dl;

	cr_assert_eq(rv_delta_detect(&dflt, ports, N_OF(ports), &dl), 0);
	cr_assert_eq(dl.smallest, 2);
	cr_assert_eq(dl.gcd, 2);
	cr_assert_eq(dl.used, 4);
	cr_assert_eq(rv_delta_detect(&dflt, down, N_OF(down), &dl), 0);
	cr_assert_eq(dl.gcd, -2);
}

Test(delta, from_65535_to_1024_is_a_gap_of_one)
{
	const uint16_t ports[] = { 65534, 65535, 1024, 1025 };
	struct rv_delta dl;

	cr_assert_eq(rv_delta_detect(&dflt, ports, N_OF(ports), &dl), 0);
	cr_assert_eq(dl.smallest, 1);
	cr_assert_eq(dl.gcd, 1);
	cr_assert_eq(dl.outliers, 0);
}

Test(delta, zero_gaps_are_ignored_and_counted)
{
	/* E4 S605: P8 - P7 == 0 when the NAT is not port sensitive. */
	const int gaps[] = { 4, 0, 8, 4 };
	struct rv_delta dl = detect_gaps(7000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.gcd, 4);
	cr_assert_eq(dl.smallest, 4);
	cr_assert_eq(dl.zeros, 1);
	cr_assert_eq(dl.used, 3);
}

Test(delta, a_backwards_gap_is_an_outlier_not_the_direction)
{
	const int gaps[] = { 6, 12, -3, 6 };
	struct rv_delta dl = detect_gaps(7000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.smallest, 6);
	cr_assert_eq(dl.gcd, 6);
	cr_assert_eq(dl.outliers, 1);
	cr_assert_eq(dl.used, 3);
}

Test(delta, robust_gcd_survives_one_odd_gap_in_five)
{
	const int gaps[] = { 6, 12, 6, 7, 18 };
	struct rv_delta dl = detect_gaps(7000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.smallest, 6);
	cr_assert_eq(dl.gcd, 6);
	cr_assert_eq(dl.off_gcd, 1);
}

Test(delta, with_three_gaps_one_odd_gap_drags_the_gcd_down)
{
	/* 75% of 3 is all 3: the robust GCD is the plain one. */
	const int gaps[] = { 6, 12, 7 };
	struct rv_delta dl = detect_gaps(7000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.gcd, 1);
	cr_assert_eq(dl.off_gcd, 0);
}

Test(delta, two_ports_give_their_gap)
{
	const int gaps[] = { -5 };
	struct rv_delta dl = detect_gaps(7000, gaps, N_OF(gaps), 0);

	cr_assert_eq(dl.smallest, -5);
	cr_assert_eq(dl.gcd, -5);
}

Test(delta, fewer_than_two_ports_is_no_data)
{
	const uint16_t ports[] = { 5000 };
	struct rv_delta dl;

	cr_assert_eq(rv_delta_detect(&dflt, ports, 1, &dl), RV_ENODATA);
	cr_assert_eq(rv_delta_detect(&dflt, ports, 0, &dl), RV_ENODATA);
}

Test(delta, only_zero_gaps_is_no_data)
{
	const uint16_t ports[] = { 5000, 5000, 5000 };
	struct rv_delta dl;

	cr_assert_eq(rv_delta_detect(&dflt, ports, N_OF(ports), &dl), RV_ENODATA);
}

Test(delta, as_many_gaps_up_as_down_is_inconsistent)
{
	const int gaps[] = { 5, -5, 7, -2 };

	detect_gaps(7000, gaps, N_OF(gaps), RV_EINCONSISTENT);
}

Test(delta, ports_outside_the_space_are_rejected_and_out_is_zeroed)
{
	const uint16_t ports[] = { 5000, 80, 5002 };
	struct rv_delta dl;
	struct rv_port_space bad = { 9, 8 };

	memset(&dl, 0xa5, sizeof(dl));
	cr_assert_eq(rv_delta_detect(&dflt, ports, N_OF(ports), &dl), RV_ERANGE);
	cr_assert_eq(dl.gcd, 0);
	cr_assert_eq(dl.smallest, 0);
	cr_assert_eq(rv_delta_detect(&bad, ports, N_OF(ports), &dl), -EINVAL);
}

/* Property: a run whose steps are multiples of Δ with coprime multipliers
 * (one of them 1) gives back Δ by both methods, for either sign and across
 * the wrap. */
struct delta_case {
	int32_t delta;
	uint16_t start;
};

ParameterizedTestParameters(delta, recovers_delta_from_runs_with_other_hosts_interleaved)
{
	static struct delta_case cases[] = {
		{ 1, 1024 },   { 1, 65530 },   { 2, 65533 },   { 3, 40000 },   { 4, 65500 },
		{ 5, 10135 },  { 7, 2000 },    { 12, 64000 },  { 100, 60000 }, { -1, 1030 },
		{ -2, 1027 },  { -5, 10145 },  { -12, 2000 },  { -7, 65535 },  { 31, 1024 },
		{ -31, 1024 }, { 250, 65000 }, { -250, 1100 },
	};

	return cr_make_param_array(struct delta_case, cases, N_OF(cases));
}

ParameterizedTest(struct delta_case *c, delta,
                  recovers_delta_from_runs_with_other_hosts_interleaved)
{
	const int mult[] = { 3, 1, 2, 5, 1, 4 };
	int gaps[N_OF(mult)];
	uint16_t ports[N_OF(mult) + 1];
	struct rv_delta dl;
	size_t n;

	for (size_t i = 0; i < N_OF(mult); i++)
		gaps[i] = mult[i] * c->delta;
	n = ports_from_gaps(&dflt, c->start, gaps, N_OF(gaps), ports);
	cr_assert_eq(rv_delta_detect(&dflt, ports, n, &dl), 0);
	cr_assert_eq(dl.smallest, c->delta);
	cr_assert_eq(dl.gcd, c->delta);
	cr_assert_eq(dl.used, N_OF(mult));
	cr_assert_eq(dl.off_gcd + dl.zeros + dl.outliers, 0);
}

/* --- the fallback sequence ---------------------------------------------- */

Test(delta, fallback_for_12_is_12_6_4_3_2_1)
{
	int32_t out[RV_DELTA_MAX_DIVISORS];
	const int32_t want[] = { 12, 6, 4, 3, 2, 1 };

	cr_assert_eq(rv_delta_divisors(12, out, N_OF(out)), (int)N_OF(want));
	for (size_t i = 0; i < N_OF(want); i++)
		cr_assert_eq(out[i], want[i]);
}

Test(delta, fallback_for_4_tries_4_then_2_then_1)
{
	/* The document: "8 or 4 -> 4 ... then 2 ... then 1" (the GCD of the
	 * gaps 8 and 4 is 4). */
	const int gaps[] = { 8, 4 };
	struct rv_delta dl = detect_gaps(3000, gaps, N_OF(gaps), 0);
	int32_t out[RV_DELTA_MAX_DIVISORS];

	cr_assert_eq(dl.gcd, 4);
	cr_assert_eq(rv_delta_divisors(dl.gcd, out, N_OF(out)), 3);
	cr_assert_eq(out[0], 4);
	cr_assert_eq(out[1], 2);
	cr_assert_eq(out[2], 1);
}

Test(delta, fallback_keeps_the_sign)
{
	int32_t out[8];

	cr_assert_eq(rv_delta_divisors(-4, out, N_OF(out)), 3);
	cr_assert_eq(out[0], -4);
	cr_assert_eq(out[1], -2);
	cr_assert_eq(out[2], -1);
	cr_assert_eq(rv_delta_divisors(-1, out, N_OF(out)), 1);
	cr_assert_eq(out[0], -1);
}

Test(delta, fallback_rejects_zero_huge_and_short_buffers)
{
	int32_t out[RV_DELTA_MAX_DIVISORS];

	cr_assert_eq(rv_delta_divisors(0, out, N_OF(out)), -EINVAL);
	cr_assert_eq(rv_delta_divisors(65536, out, N_OF(out)), RV_ERANGE);
	cr_assert_eq(rv_delta_divisors(-65536, out, N_OF(out)), RV_ERANGE);
	cr_assert_eq(rv_delta_divisors(12, out, 5), RV_ENOSPC);
	cr_assert_eq(rv_delta_divisors(12, out, 0), RV_ENOSPC);
}

Test(delta, the_most_divisible_delta_fits_the_documented_bound)
{
	int32_t out[RV_DELTA_MAX_DIVISORS];

	cr_assert_eq(rv_delta_divisors(55440, out, N_OF(out)), 120);
	cr_assert_eq(rv_delta_divisors(65535, out, N_OF(out)), 16); /* 3 * 5 * 17 * 257 */
}

ParameterizedTestParameters(delta, every_fallback_divides_delta_in_decreasing_order)
{
	static int32_t deltas[] = {
		1, 2, 6, 8, 12, 30, 64, 97, 360, 1000, 5040, -1, -9, -60, -720
	};

	return cr_make_param_array(int32_t, deltas, N_OF(deltas));
}

ParameterizedTest(int32_t *delta, delta, every_fallback_divides_delta_in_decreasing_order)
{
	int32_t out[RV_DELTA_MAX_DIVISORS], a = abs(*delta);
	int n = rv_delta_divisors(*delta, out, N_OF(out)), brute = 0;

	for (int32_t d = 1; d <= a; d++)
		brute += a % d == 0;
	cr_assert_eq(n, brute);
	cr_assert_eq(out[0], *delta);
	cr_assert_eq(out[n - 1], *delta < 0 ? -1 : 1);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(*delta % out[i], 0);
		cr_assert((out[i] < 0) == (*delta < 0));
		if (i)
			cr_assert_lt(abs(out[i]), abs(out[i - 1]));
	}
}

/* --- allocation pattern ------------------------------------------------- */

static struct rv_alloc_result classify(const struct rv_port_pair *p, size_t n, uint32_t ms,
                                       uint32_t max_steps, int want_rc)
{
	struct rv_alloc_result r;

	cr_assert_eq(rv_alloc_classify(&dflt, p, n, ms, max_steps, &r), want_rc);
	return r;
}

Test(alloc, same_port_outside_as_inside_is_preserving)
{
	const struct rv_port_pair p[] = { { 40001, 40001 }, { 40777, 40777 }, { 52000, 52000 } };
	struct rv_alloc_result r = classify(p, N_OF(p), 100, 0, 0);

	cr_assert_eq(r.alloc, RV_ALLOC_PRESERVING);
	cr_assert_eq(r.delta, 0);
}

Test(alloc, one_unpreserved_port_is_not_preserving)
{
	const struct rv_port_pair p[] = { { 40001, 40001 }, { 40777, 40778 }, { 52000, 52000 } };

	cr_assert_neq(classify(p, N_OF(p), 100, 0, 0).alloc, RV_ALLOC_PRESERVING);
}

Test(alloc, steady_steps_are_sequential_and_count_other_hosts)
{
	/* Δ 1: gaps 1, 2, 3 -> 0 + 1 + 2 = 3 ports taken by others in 1.5 s. */
	const struct rv_port_pair p[] = {
		{ 50000, 10000 }, { 50007, 10001 }, { 50100, 10003 }, { 51000, 10006 }
	};
	struct rv_alloc_result r = classify(p, N_OF(p), 1500, 0, 0);

	cr_assert_eq(r.alloc, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(r.delta, 1);
	cr_assert_eq(r.background, 3);
	cr_assert_float_eq(r.per_second, 2.0, 1e-9);
}

Test(alloc, sequential_with_delta_2_downwards_across_the_wrap)
{
	const struct rv_port_pair p[] = {
		{ 50000, 1028 }, { 50001, 1026 }, { 50002, 1024 }, { 50003, 65532 }
	};
	struct rv_alloc_result r = classify(p, N_OF(p), 0, 0, 0);

	cr_assert_eq(r.alloc, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(r.delta, -2);
	cr_assert_eq(r.background, 1);
	cr_assert_float_eq(r.per_second, 0.0, 1e-12, "elapsed 0 gives no rate");
}

Test(alloc, scattered_ports_are_random)
{
	const struct rv_port_pair p[] = {
		{ 50000, 40211 }, { 50001, 12007 }, { 50002, 53119 }, { 50003, 30001 }
	};
	struct rv_alloc_result r = classify(p, N_OF(p), 100, 0, 0);

	cr_assert_eq(r.alloc, RV_ALLOC_RANDOM);
	cr_assert_eq(r.delta, 0);
	cr_assert_eq(r.background, 0);
}

Test(alloc, gaps_beyond_the_cap_are_random_until_the_cap_is_raised)
{
	/* Δ 1 with a gap of 65: just past the default 64 x |Δ|. */
	const struct rv_port_pair p[] = { { 1, 20000 }, { 2, 20001 }, { 3, 20066 } };

	cr_assert_eq(classify(p, N_OF(p), 100, 0, 0).alloc, RV_ALLOC_RANDOM);
	cr_assert_eq(classify(p, N_OF(p), 100, 64, 0).alloc, RV_ALLOC_RANDOM);
	cr_assert_eq(classify(p, N_OF(p), 100, 65, 0).alloc, RV_ALLOC_SEQUENTIAL);
}

Test(alloc, a_gap_off_the_delta_grid_is_random)
{
	/* Gaps 4, 8, 6 are all multiples of 2: sequential with Δ 2. Gaps
	 * 4, 4, 4, 5, 4 give a robust Δ of 4 with one gap off it: random. */
	const struct rv_port_pair ok[] = { { 1, 20000 }, { 2, 20004 }, { 3, 20012 }, { 4, 20018 } };
	const struct rv_port_pair odd[] = { { 1, 20000 }, { 2, 20004 }, { 3, 20008 },
		                            { 4, 20012 }, { 5, 20017 }, { 6, 20021 } };

	cr_assert_eq(classify(ok, N_OF(ok), 0, 0, 0).delta, 2);
	cr_assert_eq(classify(odd, N_OF(odd), 0, 0, 0).alloc, RV_ALLOC_RANDOM);
}

Test(alloc, a_repeated_or_backwards_port_is_random)
{
	const struct rv_port_pair rep[] = {
		{ 1, 20000 }, { 2, 20001 }, { 3, 20001 }, { 4, 20002 }
	};
	const struct rv_port_pair back[] = {
		{ 1, 20000 }, { 2, 20001 }, { 3, 19990 }, { 4, 19991 }, { 5, 19992 }
	};
	const struct rv_port_pair same[] = { { 1, 20000 }, { 2, 20000 }, { 3, 20000 } };

	cr_assert_eq(classify(rep, N_OF(rep), 0, 0, 0).alloc, RV_ALLOC_RANDOM);
	cr_assert_eq(classify(back, N_OF(back), 0, 0, 0).alloc, RV_ALLOC_RANDOM);
	cr_assert_eq(classify(same, N_OF(same), 0, 0, 0).alloc, RV_ALLOC_RANDOM);
}

Test(alloc, too_few_probes_is_no_data)
{
	const struct rv_port_pair p[] = { { 1, 20000 }, { 2, 20001 } };

	cr_assert_eq(classify(p, 0, 0, 0, RV_ENODATA).alloc, RV_ALLOC_UNKNOWN);
	cr_assert_eq(classify(p, 1, 0, 0, RV_ENODATA).alloc, RV_ALLOC_UNKNOWN);
	cr_assert_eq(classify(p, 2, 0, 0, RV_ENODATA).alloc, RV_ALLOC_UNKNOWN);
}

Test(alloc, two_preserved_ports_are_enough_for_preserving)
{
	const struct rv_port_pair p[] = { { 20000, 20000 }, { 30000, 30000 } };

	cr_assert_eq(classify(p, N_OF(p), 0, 0, 0).alloc, RV_ALLOC_PRESERVING);
}

Test(alloc, mapped_ports_outside_the_space_and_bad_spaces_are_rejected)
{
	const struct rv_port_pair p[] = { { 1, 20000 }, { 2, 80 }, { 3, 20002 } };
	struct rv_port_space bad = { 0, 0 };
	struct rv_alloc_result r;

	cr_assert_eq(classify(p, N_OF(p), 0, 0, RV_ERANGE).alloc, RV_ALLOC_UNKNOWN);
	cr_assert_eq(rv_alloc_classify(&bad, p, N_OF(p), 0, 0, &r), -EINVAL);
}
