/* gen_hist: every percentile within one bucket (1/32) of the exact one. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_hist.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

Test(hist, buckets_are_contiguous_and_hold_their_values)
{
	for (unsigned i = 1; i < GEN_HIST_BUCKETS - 1; i++) {
		uint64_t top = gen_hist_bucket_top(i);

		cr_assert_eq(gen_hist_bucket(top), i, "top of %u", i);
		cr_assert_eq(gen_hist_bucket(top + 1), i + 1, "past the top of %u", i);
	}
	cr_assert_eq(gen_hist_bucket(UINT64_MAX), GEN_HIST_BUCKETS - 1);
	cr_assert_eq(gen_hist_bucket_top(GEN_HIST_BUCKETS - 1), UINT64_MAX);
}

Test(hist, percentiles_are_within_one_thirty_second_above_the_exact_value)
{
	static struct gen_hist h;
	enum { N = 100000 };
	static uint64_t v[N];
	static const double pcts[] = { 1, 50, 90, 99, 99.9, 100 };

	srand(7);
	gen_hist_reset(&h);
	for (int i = 0; i < N; i++) {
		/* Latency-like: a body around 2000 ticks and a long tail. */
		v[i] = 1500 + (uint64_t)(rand() % 1000) +
		       (i % 97 == 0 ? (uint64_t)rand() % 500000 : 0);
		gen_hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	cr_assert_eq(h.n, N);
	cr_assert_eq(h.min, v[0]);
	cr_assert_eq(h.max, v[N - 1]);
	for (unsigned k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		uint64_t rank = (uint64_t)(pcts[k] / 100.0 * N + 0.999999);
		uint64_t exact = v[rank - 1], got = gen_hist_pct(&h, pcts[k]);

		cr_assert(got >= exact && got <= exact + exact / 32, "p%g: %llu, exact %llu",
		          pcts[k], (unsigned long long)got, (unsigned long long)exact);
	}
}

Test(hist, small_values_are_exact_and_empty_is_zero)
{
	static struct gen_hist h;

	gen_hist_reset(&h);
	cr_assert_eq(gen_hist_pct(&h, 50), 0);
	for (uint64_t i = 0; i < 32; i++)
		gen_hist_add(&h, i);
	cr_assert_eq(gen_hist_pct(&h, 50), 15);
	cr_assert_eq(gen_hist_pct(&h, 100), 31);
}

Test(hist, merge_equals_recording_both)
{
	static struct gen_hist a, b, both;

	gen_hist_reset(&a);
	gen_hist_reset(&b);
	gen_hist_reset(&both);
	for (uint64_t i = 1; i < 5000; i++) {
		gen_hist_add(i % 3 ? &a : &b, i * 37);
		gen_hist_add(&both, i * 37);
	}
	gen_hist_merge(&a, &b);
	cr_assert_eq(memcmp(&a, &both, sizeof(a)), 0);
}
