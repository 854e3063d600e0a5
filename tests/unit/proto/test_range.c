#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/theories.h>
#include <errno.h>
#include <string.h>

#include "proto/range.h"
#include "proto/rv_err.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct rv_port_space dflt = { 1024, 65535 };

/* The test's own wrapping arithmetic, independent of rv_port_add. */
static uint16_t wrap(uint16_t port, long k)
{
	long size = 65535 - 1024 + 1;

	return (uint16_t)(1024 + (((port - 1024 + k) % size) + size) % size);
}

static struct rv_range_in mk(uint16_t before, uint16_t after, bool bs, bool as, int32_t delta,
                             uint32_t cap)
{
	struct rv_range_in in = { .ps = dflt,
		                  .before = before,
		                  .after = after,
		                  .before_shared = bs,
		                  .after_shared = as,
		                  .delta = delta,
		                  .cap = cap };
	return in;
}

static struct rv_range detect(struct rv_range_in in, int want_rc)
{
	struct rv_range r;

	cr_assert_eq(rv_range_detect(&in, &r), want_rc, "rc for %u..%u delta %d", in.before,
	             in.after, in.delta);
	return r;
}

/* --- the document's example (E1 example 1, Fig. 12-14) ----------------- */

Test(range, probes_on_10135_and_10145_with_delta_1_give_11_ports)
{
	struct rv_range r = detect(mk(10135, 10145, true, true, 1, 1000), 0);
	uint16_t ports[16];

	cr_assert_eq(r.first, 10135);
	cr_assert_eq(r.last, 10145);
	cr_assert_eq(r.step, 1);
	cr_assert_eq(r.count, 11);
	cr_assert_not(r.clamped);
	cr_assert_not(r.misaligned);
	cr_assert_eq(rv_range_list(&r, 0, ports, N_OF(ports)), 11);
	for (int i = 0; i < 11; i++)
		cr_assert_eq(ports[i], 10135 + i);
	cr_assert(rv_range_contains(&r, 10142), "the bubble's port P7");
}

Test(range, with_delta_5_and_the_bubble_on_10140_three_ports_suffice)
{
	struct rv_range r = detect(mk(10135, 10145, true, true, 5, 1000), 0);
	uint16_t ports[8];

	cr_assert_eq(r.count, 3);
	cr_assert_eq(rv_range_list(&r, 0, ports, N_OF(ports)), 3);
	cr_assert_eq(ports[0], 10135);
	cr_assert_eq(ports[1], 10140);
	cr_assert_eq(ports[2], 10145);
	cr_assert(rv_range_contains(&r, 10140));
	cr_assert_not(rv_range_contains(&r, 10142), "off the 5-grid");
}

/* --- which ends belong to the range ------------------------------------ */

Test(range, a_cone_nat_reusing_one_port_gives_a_single_port)
{
	/* Fig. 15: P5 = P7 = P8. */
	struct rv_range r = detect(mk(20000, 20000, true, true, 1, 10), 0);

	cr_assert_eq(r.count, 1);
	cr_assert_eq(r.first, 20000);
	cr_assert_eq(r.last, 20000);
}

Test(range, an_after_probe_from_another_socket_ends_one_delta_before_it)
{
	/* E4 S613/S628: "from P13 to the port assigned one port before P16". */
	struct rv_range r = detect(mk(20000, 20010, true, false, 2, 100), 0);

	cr_assert_eq(r.first, 20000);
	cr_assert_eq(r.last, 20008);
	cr_assert_eq(r.count, 5);
	cr_assert_not(rv_range_contains(&r, 20010));
}

Test(range, a_before_probe_from_another_socket_starts_one_delta_after_it)
{
	/* After Fig. 38: "from the port assigned next to port P8 to port P10". */
	struct rv_range r = detect(mk(20000, 20010, false, true, 2, 100), 0);

	cr_assert_eq(r.first, 20002);
	cr_assert_eq(r.last, 20010);
	cr_assert_eq(r.count, 5);
	cr_assert_not(rv_range_contains(&r, 20000));
}

Test(range, with_no_end_shared_both_ends_are_excluded)
{
	struct rv_range r = detect(mk(20000, 20010, false, false, 2, 100), 0);

	cr_assert_eq(r.first, 20002);
	cr_assert_eq(r.last, 20008);
	cr_assert_eq(r.count, 4);
}

Test(range, decreasing_allocation_runs_downwards)
{
	struct rv_range r = detect(mk(10145, 10135, true, false, -5, 100), 0);
	uint16_t ports[4];

	cr_assert_eq(r.first, 10145);
	cr_assert_eq(r.last, 10140);
	cr_assert_eq(r.step, -5);
	cr_assert_eq(rv_range_list(&r, 0, ports, N_OF(ports)), 2);
	cr_assert_eq(ports[0], 10145);
	cr_assert_eq(ports[1], 10140);
}

Test(range, runs_across_65535_to_1024)
{
	struct rv_range r = detect(mk(65530, 1030, true, true, 4, 100), 0);
	uint16_t ports[8];

	cr_assert_eq(r.count, 4);
	cr_assert_eq(rv_range_list(&r, 0, ports, N_OF(ports)), 4);
	cr_assert_eq(ports[0], 65530);
	cr_assert_eq(ports[1], 65534);
	cr_assert_eq(ports[2], 1026);
	cr_assert_eq(ports[3], 1030);
	cr_assert_eq(r.last, 1030);
	cr_assert(rv_range_contains(&r, 1026));
	cr_assert_not(rv_range_contains(&r, 1024));
}

/* --- the server's cap --------------------------------------------------- */

Test(range, more_ports_than_the_cap_keeps_those_nearest_the_before_probe)
{
	struct rv_range r = detect(mk(10135, 10145, true, true, 1, 4), 0);

	cr_assert(r.clamped);
	cr_assert_eq(r.count, 4);
	cr_assert_eq(r.first, 10135);
	cr_assert_eq(r.last, 10138);
	cr_assert_not(rv_range_contains(&r, 10139));
}

Test(range, exactly_cap_ports_is_not_clamped)
{
	struct rv_range r = detect(mk(10135, 10145, true, true, 1, 11), 0);

	cr_assert_not(r.clamped);
	cr_assert_eq(r.count, 11);
}

/* --- what cannot be a range -------------------------------------------- */

Test(range, an_after_probe_behind_the_before_probe_is_inconsistent)
{
	detect(mk(10145, 10135, true, true, 1, 100), RV_EINCONSISTENT);
	detect(mk(10135, 10145, true, true, -1, 100), RV_EINCONSISTENT);
}

Test(range, half_the_space_or_more_apart_is_inconsistent)
{
	/* 64512 ports: 32256 ahead is exactly half. */
	detect(mk(2000, 2000 + 32255, true, true, 1, 100000), 0);
	detect(mk(2000, 2000 + 32256, true, true, 1, 100000), RV_EINCONSISTENT);
	detect(mk(2000, 2000 + 40000, true, true, 1, 100000), RV_EINCONSISTENT);
}

Test(range, a_range_with_no_port_left_for_the_bubble_is_inconsistent)
{
	detect(mk(20000, 20001, false, false, 1, 100), RV_EINCONSISTENT);
	detect(mk(20000, 20000, true, false, 1, 100), RV_EINCONSISTENT);
	detect(mk(20000, 20000, false, true, 1, 100), RV_EINCONSISTENT);
	/* One port between them is a range of one. */
	cr_assert_eq(detect(mk(20000, 20002, false, false, 1, 100), 0).first, 20001);
}

Test(range, an_after_port_off_the_delta_grid_is_flagged_and_rounded_back)
{
	struct rv_range r = detect(mk(10135, 10146, true, true, 5, 100), 0);

	cr_assert(r.misaligned);
	cr_assert_eq(r.count, 3);
	cr_assert_eq(r.last, 10145);
}

Test(range, bad_inputs_are_rejected_and_out_is_zeroed)
{
	struct rv_range_in in = mk(10135, 10145, true, true, 1, 100);
	struct rv_range r;

	in.delta = 0;
	memset(&r, 0xa5, sizeof(r));
	cr_assert_eq(rv_range_detect(&in, &r), -EINVAL);
	cr_assert_eq(r.count, 0);
	cr_assert_eq(r.step, 0);
	in = mk(10135, 10145, true, true, 1, 0);
	cr_assert_eq(rv_range_detect(&in, &r), -EINVAL, "cap 0");
	in = mk(10135, 10145, true, true, 1, 100);
	in.ps.lo = 0;
	cr_assert_eq(rv_range_detect(&in, &r), -EINVAL, "bad space");
	detect(mk(80, 10145, true, true, 1, 100), RV_ERANGE);
	detect(mk(10135, 1000, true, true, 1, 100), RV_ERANGE);
	detect(mk(10135, 10145, true, true, 32256, 100), RV_ERANGE);
	detect(mk(10135, 10145, true, true, -40000, 100), RV_ERANGE);
}

/* --- listing, indexing -------------------------------------------------- */

Test(range, listing_in_batches_gives_every_port_once)
{
	struct rv_range r = detect(mk(30000, 30021, true, true, 3, 100), 0);
	uint16_t ports[3];
	uint32_t from = 0, seen = 0;
	int n;

	cr_assert_eq(r.count, 8);
	while ((n = rv_range_list(&r, from, ports, N_OF(ports))) > 0) {
		for (int i = 0; i < n; i++)
			cr_assert_eq(ports[i], 30000 + 3 * (from + (uint32_t)i));
		from += (uint32_t)n;
		seen += (uint32_t)n;
	}
	cr_assert_eq(n, 0);
	cr_assert_eq(seen, 8);
	cr_assert_eq(rv_range_list(&r, 9, ports, N_OF(ports)), RV_ERANGE);
	cr_assert_eq(rv_range_list(&r, 8, ports, 0), 0);
}

Test(range, at_and_index_are_inverse)
{
	struct rv_range r = detect(mk(65500, 1100, true, false, 7, 100), 0);

	for (uint32_t i = 0; i < r.count; i++) {
		int p = rv_range_at(&r, i);

		cr_assert_gt(p, 0);
		cr_assert_eq(rv_range_index(&r, (uint16_t)p), (int)i);
	}
	cr_assert_eq(rv_range_at(&r, r.count), RV_ERANGE);
	cr_assert_eq(rv_range_index(&r, 80), RV_ERANGE, "outside the space");
	cr_assert_eq(rv_range_index(&r, 65499), RV_ERANGE, "just before first");
	cr_assert_eq(rv_range_index(&r, wrap(r.last, 7)), RV_ERANGE, "just past last");
}

Test(range, a_range_not_from_detect_is_refused)
{
	struct rv_range r;
	uint16_t ports[2];

	memset(&r, 0, sizeof(r));
	cr_assert_eq(rv_range_at(&r, 0), -EINVAL);
	cr_assert_eq(rv_range_list(&r, 0, ports, N_OF(ports)), -EINVAL);
	cr_assert_eq(rv_range_index(&r, 2000), -EINVAL);
	cr_assert_not(rv_range_contains(&r, 2000));
}

/* --- properties --------------------------------------------------------- */

/* Build the probes for a bubble range of `count` ports starting at the
 * expected first port, detect, and check everything that must follow. */
static void check_round_trip(uint16_t before, int32_t delta, uint32_t count, uint32_t cap, bool bs,
                             bool as, uint32_t k)
{
	uint16_t first = bs ? before : wrap(before, delta);
	uint16_t after =
	        as ? wrap(first, (long)(count - 1) * delta) : wrap(first, (long)count * delta);
	uint16_t bubble = wrap(first, (long)k * delta), ports[256];
	uint32_t want = count < cap ? count : cap;
	struct rv_range r = detect(mk(before, after, bs, as, delta, cap), 0);

	cr_assert_eq(r.first, first);
	cr_assert_eq(r.count, want);
	cr_assert_eq(r.clamped, count > cap);
	cr_assert_eq(r.step, delta);
	cr_assert_not(r.misaligned);
	cr_assert_eq(r.last, wrap(first, (long)(want - 1) * delta));
	cr_assert_eq(rv_range_list(&r, 0, ports, N_OF(ports)), (int)want);
	for (uint32_t i = 0; i < want; i++) {
		cr_assert_eq(ports[i], wrap(first, (long)i * delta));
		cr_assert_eq(rv_range_index(&r, ports[i]), (int)i);
	}
	if (k < want) {
		cr_assert(rv_range_contains(&r, bubble), "bubble %u", bubble);
		cr_assert_eq(ports[k], bubble);
	}
	cr_assert_eq(rv_range_contains(&r, before), bs);
	if (!r.clamped)
		cr_assert_eq(rv_range_contains(&r, after), as);
	cr_assert_not(rv_range_contains(&r, wrap(r.last, delta)));
	if (delta > 1 || delta < -1)
		cr_assert_not(rv_range_contains(&r, wrap(first, delta > 0 ? 1 : -1)));
}

TheoryDataPoints(range, listed_ports_round_trip_and_hold_the_bubble) = {
	DataPoints(int, 1024, 1025, 10135, 40000, 65500, 65530, 65535),
	DataPoints(int, -12, -5, -1, 1, 2, 5, 7),
	DataPoints(int, 1, 2, 3, 11, 64),
	DataPoints(int, 0, 1, 3, 10, 63),
	DataPoints(int, 0, 1, 2, 3),
};

Theory((int before, int delta, int count, int k, int shared), range,
       listed_ports_round_trip_and_hold_the_bubble)
{
	cr_assume(k < count);
	check_round_trip((uint16_t)before, delta, (uint32_t)count, 1000, shared & 1, shared & 2,
	                 (uint32_t)k);
}

struct range_case {
	uint16_t before;
	int32_t delta;
	uint32_t count;
	uint32_t cap;
	uint32_t k;
	bool bs, as;
};

ParameterizedTestParameters(range, random_ranges_round_trip_and_respect_the_cap)
{
	static struct range_case cases[256];
	uint32_t x = 0x2545f491u;

	/* A fixed xorshift stream: the same cases on every run. */
	for (size_t i = 0; i < N_OF(cases); i++) {
		uint32_t r[6];

		for (int j = 0; j < 6; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			r[j] = x;
		}
		cases[i].before = (uint16_t)(1024 + r[0] % 64512);
		cases[i].delta = (int32_t)(r[1] % 40 + 1) * (r[1] & 0x100 ? -1 : 1);
		cases[i].count = 1 + r[2] % 200;
		cases[i].cap = 1 + r[3] % 250;
		cases[i].k = r[4] % cases[i].count;
		cases[i].bs = r[5] & 1;
		cases[i].as = r[5] & 2;
	}
	return cr_make_param_array(struct range_case, cases, N_OF(cases));
}

ParameterizedTest(struct range_case *c, range, random_ranges_round_trip_and_respect_the_cap)
{
	check_round_trip(c->before, c->delta, c->count, c->cap, c->bs, c->as, c->k);
}
