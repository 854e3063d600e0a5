/* gen_hist.h — a latency histogram cheap enough for every answer.
 *
 * Log-linear buckets (HdrHistogram's idea, fixed size): values below 32
 * exactly, above that 32 buckets per power of two, so any percentile is
 * within 1/32 (3.1 %) of the truth, from 0 to 2^64. Recording is a
 * count-leading-zeros and an increment; no allocation, no division. Units
 * are the caller's (rvgen: TSC ticks, converted once at the report).
 */
#pragma once

#include <stdint.h>

#define GEN_HIST_SUB_BITS 5u
#define GEN_HIST_SUB      (1u << GEN_HIST_SUB_BITS)
#define GEN_HIST_BUCKETS  ((64u - GEN_HIST_SUB_BITS + 1u) * GEN_HIST_SUB)

struct gen_hist {
	uint64_t n, min, max;
	uint64_t b[GEN_HIST_BUCKETS];
};

/* Empty the histogram.  Context: pure. */
void gen_hist_reset(struct gen_hist *h);

/* Bucket of a value.  Context: pure. */
static inline unsigned gen_hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < GEN_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= GEN_HIST_SUB_BITS */
	return (e - GEN_HIST_SUB_BITS + 1u) * GEN_HIST_SUB +
	       (unsigned)((v >> (e - GEN_HIST_SUB_BITS)) & (GEN_HIST_SUB - 1u));
}

/* Record one value.  Context: pure. */
static inline void gen_hist_add(struct gen_hist *h, uint64_t v)
{
	h->b[gen_hist_bucket(v)]++;
	if (!h->n || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
}

/* The highest value bucket i holds.  Context: pure. */
uint64_t gen_hist_bucket_top(unsigned i);

/* The value at percentile p (0 < p <= 100): the top of the bucket holding
 * the ceil(p% x n)-th smallest value, capped at the maximum seen; 0 when
 * empty.  Context: pure. */
uint64_t gen_hist_pct(const struct gen_hist *h, double p);

/* dst += src.  Context: pure. */
void gen_hist_merge(struct gen_hist *dst, const struct gen_hist *src);
