/* stress.h — what the tables' concurrency tests share: a fast PRNG, a
 * monotonic clock, and a place where any thread records the first failure
 * (Criterion asserts only from the test's own thread).
 */
#pragma once

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct stress_fail {
	atomic_ulong n;
	atomic_flag have_msg; /* initialise with ATOMIC_FLAG_INIT */
	char msg[160];
};

/* Count a failure; the first one's words are kept for the report. */
static inline void stress_fail(struct stress_fail *f, const char *what, uint64_t id, uint64_t x)
{
	atomic_fetch_add(&f->n, 1);
	if (!atomic_flag_test_and_set(&f->have_msg))
		snprintf(f->msg, sizeof(f->msg), "%s (id %llu, %#llx)", what,
		         (unsigned long long)id, (unsigned long long)x);
}

static inline uint64_t stress_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline int64_t stress_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}
