#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>

#include "tests/natlab/nat_alloc.h"
#include "helpers.h"

static uint64_t seed = 7;
static struct nat_rng rng = { th_rng, &seed };

Test(alloc, sequential_steps_by_a_positive_delta)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, 2, 1024, 65535, 40000), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(nat_alloc_get(&a, 5000, &rng), 40000 + 2 * i);
}

Test(alloc, sequential_steps_by_a_negative_delta)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, -3, 1024, 65535, 50000), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(nat_alloc_get(&a, 5000, &rng), 50000 - 3 * i);
}

Test(alloc, sequential_wraps_around_the_range_both_ways)
{
	struct nat_alloc up, down;
	static const int want_up[] = { 40008, 40002, 40006, 40000, 40004 };
	static const int want_down[] = { 40001, 40009, 40007 };

	cr_assert_eq(nat_alloc_init(&up, RV_ALLOC_SEQUENTIAL, 4, 40000, 40009, 40008), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(nat_alloc_get(&up, 0, &rng), want_up[i]);
	cr_assert_eq(nat_alloc_init(&down, RV_ALLOC_SEQUENTIAL, -2, 40000, 40009, 40001), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(nat_alloc_get(&down, 0, &rng), want_down[i]);
}

Test(alloc, sequential_skips_busy_ports_by_further_deltas)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, 2, 40000, 40009, 40000), 0);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40000);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40002);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40004);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40006);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40008);
	/* The even cycle is full and 40000 busy: single steps find 40001. */
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40001);
	nat_alloc_put(&a, 40004);
	/* The cursor moved on from 40001 by delta: 40003 is next. */
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 40003);
}

Test(alloc, exhaustion_is_reported_and_a_put_port_comes_back)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_RANDOM, 1, 100, 103, 100), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_gt(nat_alloc_get(&a, 0, &rng), 0);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), -EADDRNOTAVAIL);
	nat_alloc_put(&a, 102);
	cr_assert_eq(nat_alloc_get(&a, 0, &rng), 102);
}

Test(alloc, preserving_keeps_the_port_and_falls_back_to_sequential_on_collision)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_PRESERVING, 1, 1024, 65535, 30000), 0);
	cr_assert_eq(nat_alloc_get(&a, 5000, &rng), 5000);
	cr_assert_eq(nat_alloc_get(&a, 5001, &rng), 5001);
	cr_assert_eq(nat_alloc_get(&a, 5000, &rng), 30000);
	cr_assert_eq(nat_alloc_get(&a, 5000, &rng), 30001);
	/* Out of range (a privileged port) cannot be preserved either. */
	cr_assert_eq(nat_alloc_get(&a, 53, &rng), 30002);
}

Test(alloc, random_stays_in_range_and_does_not_repeat_while_held)
{
	struct nat_alloc a;
	int prev = -1, steps_equal = 0, last_gap = 0;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_RANDOM, 1, 20000, 20999, 20000), 0);
	for (int i = 0; i < 1000; i++) {
		int p = nat_alloc_get(&a, 0, &rng);

		cr_assert(p >= 20000 && p <= 20999, "port %d", p);
		if (prev >= 0) {
			steps_equal += p - prev == last_gap;
			last_gap = p - prev;
		}
		prev = p;
	}
	/* Every port of the range, each once: */
	for (int p = 20000; p <= 20999; p++)
		cr_assert(nat_alloc_busy(&a, (uint16_t)p));
	/* and no sequential pattern. */
	cr_assert_lt(steps_equal, 50);
}

Test(alloc, poisson_gaps_average_one_over_lambda)
{
	double sum = 0;
	const int n = 20000;

	for (int i = 0; i < n; i++) {
		double g = nat_poisson_gap_ms(5.0, &rng);

		cr_assert_geq(g, 0);
		sum += g;
	}
	/* Mean 200 ms; the sample mean's sd is 200/sqrt(n) ~ 1.4 ms. */
	cr_assert_float_eq(sum / n, 200.0, 10.0);
}

Test(alloc, step_is_cyclic_in_the_range)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, 1, 10, 19, 10), 0);
	cr_assert_eq(nat_alloc_step(&a, 19, 1), 10);
	cr_assert_eq(nat_alloc_step(&a, 10, -1), 19);
	cr_assert_eq(nat_alloc_step(&a, 15, 25), 10);
	cr_assert_eq(nat_alloc_step(&a, 15, -25), 10);
}

Test(alloc, init_rejects_nonsense)
{
	struct nat_alloc a;

	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_UNKNOWN, 1, 1, 2, 1), -EINVAL);
	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, 0, 1, 2, 1), -EINVAL);
	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, 1, 5, 2, 5), -EINVAL);
	cr_assert_eq(nat_alloc_init(&a, RV_ALLOC_SEQUENTIAL, 1, 5, 9, 10), -EINVAL);
}
