/* dp_slab.h: huge-page chunks and the fixed-size object slab the session
 * table's nodes and index live in. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_slab.h"

Test(slab, huge_memory_is_aligned_to_a_huge_page_and_zeroed)
{
	size_t sizes[] = { 1, 4096, DP_HUGE_PAGE, DP_HUGE_PAGE + 1, 3 * DP_HUGE_PAGE };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = dp_huge_alloc(sizes[i]);

		cr_assert_not_null(p, "%zu bytes", sizes[i]);
		cr_assert_eq((uintptr_t)p % DP_HUGE_PAGE, 0);
		for (size_t k = 0; k < sizes[i]; k += 4093)
			cr_assert_eq(p[k], 0);
		cr_assert_eq(p[sizes[i] - 1], 0);
		memset(p, 0xa5, sizes[i]); /* all of it is ours */
		dp_huge_free(p, sizes[i]);
	}
	errno = 0;
	cr_assert_null(dp_huge_alloc(0));
	cr_assert_eq(errno, EINVAL);
	dp_huge_free(NULL, 10);
}

Test(slab, bad_sizes_and_alignments_are_refused)
{
	cr_assert_null(dp_slab_create(64, 48));
	cr_assert_null(dp_slab_create(64, 8192));
	cr_assert_null(dp_slab_create(0, 64));
	cr_assert_null(dp_slab_create(DP_HUGE_PAGE, 64));
	cr_assert_eq(errno, EINVAL);
}

/* Three chunks' worth of 320-byte, 64-aligned objects (the session node's
 * shape): each aligned, none overlapping (a pattern per object survives
 * every other write), and the slab maps whole chunks only. */
Test(slab, objects_are_aligned_and_apart_across_chunks)
{
	struct dp_slab *s = dp_slab_create(300, 64);
	size_t n = 3 * (DP_HUGE_PAGE / 320) + 5;
	uint8_t **p = calloc(n, sizeof(*p));

	cr_assert_not_null(s);
	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++) {
		p[i] = dp_slab_alloc(s);
		cr_assert_not_null(p[i]);
		cr_assert_eq((uintptr_t)p[i] % 64, 0);
		memset(p[i], (int)(i & 0xff), 300);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 300; k += 37)
			cr_assert_eq(p[i][k], (uint8_t)(i & 0xff), "object %zu was overwritten", i);
	cr_assert_eq(dp_slab_mapped(s), 4 * DP_HUGE_PAGE);
	free(p);
	dp_slab_destroy(s);
}

Test(slab, freed_objects_are_reused_before_new_memory)
{
	struct dp_slab *s = dp_slab_create(64, 64);
	void *a, *b, *c;

	cr_assert_not_null(s);
	a = dp_slab_alloc(s);
	b = dp_slab_alloc(s);
	cr_assert_neq(a, b);
	dp_slab_free(s, a);
	c = dp_slab_alloc(s);
	cr_assert_eq(c, a);
	dp_slab_free(s, NULL);
	cr_assert_eq(dp_slab_mapped(s), DP_HUGE_PAGE);
	dp_slab_destroy(s);
	dp_slab_destroy(NULL);
}

/* The table's writer allocates while liburcu's call_rcu thread frees: two
 * threads churning never get one object twice. */
#define CHURN_LIVE 512
#define CHURN_OPS  200000

static void *churn(void *arg)
{
	struct dp_slab *s = arg;
	uint64_t *live[CHURN_LIVE] = { 0 };
	uint64_t tag = (uint64_t)(uintptr_t)live, rng = tag;

	for (unsigned i = 0; i < CHURN_OPS; i++) {
		unsigned k;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		k = (unsigned)(rng >> 33) % CHURN_LIVE;
		if (live[k]) {
			if (*live[k] != (tag ^ k))
				return "an object this thread held was changed";
			dp_slab_free(s, live[k]);
			live[k] = NULL;
		} else {
			live[k] = dp_slab_alloc(s);
			if (!live[k])
				return "out of memory";
			*live[k] = tag ^ k;
		}
	}
	for (unsigned k = 0; k < CHURN_LIVE; k++)
		dp_slab_free(s, live[k]);
	return NULL;
}

Test(slab, two_threads_churning_never_share_an_object, .timeout = 30)
{
	struct dp_slab *s = dp_slab_create(64, 64);
	pthread_t t[2];
	void *err[2];

	cr_assert_not_null(s);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn, s), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pthread_join(t[i], &err[i]), 0);
		cr_assert_null(err[i], "%s", (const char *)err[i]);
	}
	cr_assert_eq(dp_slab_mapped(s), DP_HUGE_PAGE, "1024 live objects fit one chunk");
	dp_slab_destroy(s);
}

static void count_marked(void *obj, void *arg)
{
	size_t *n = arg;

	*n += *((uint8_t *)obj + 8) == 0x5a;
}

/* The walk visits every object ever handed out, across chunks, returned
 * ones included (their own mark tells them apart). */
Test(slab, the_walk_visits_every_object_handed_out)
{
	struct dp_slab *s = dp_slab_create(320, 64);
	size_t n = 2 * (DP_HUGE_PAGE / 320) + 7, seen = 0;
	uint8_t **p = calloc(n, sizeof(*p));

	cr_assert_not_null(s);
	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++) {
		p[i] = dp_slab_alloc(s);
		p[i][8] = 0x5a;
	}
	for (size_t i = 0; i < n; i += 3) {
		p[i][8] = 0;
		dp_slab_free(s, p[i]);
	}
	dp_slab_walk(s, count_marked, &seen);
	cr_assert_eq(seen, n - (n + 2) / 3);
	free(p);
	dp_slab_destroy(s);
}
