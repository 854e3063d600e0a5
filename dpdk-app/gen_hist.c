/* gen_hist.c — log-linear latency histogram (gen_hist.h). */
#include <math.h>
#include <string.h>

#include "dpdk-app/gen_hist.h"

void gen_hist_reset(struct gen_hist *h)
{
	memset(h, 0, sizeof(*h));
}

uint64_t gen_hist_bucket_top(unsigned i)
{
	unsigned e, sub;

	if (i < GEN_HIST_SUB)
		return i;
	e = i / GEN_HIST_SUB + GEN_HIST_SUB_BITS - 1u;
	sub = i % GEN_HIST_SUB;
	/* [ (SUB + sub) << s, (SUB + sub + 1) << s ), s = e - SUB_BITS */
	return (((uint64_t)(GEN_HIST_SUB + sub) + 1u) << (e - GEN_HIST_SUB_BITS)) - 1u;
}

uint64_t gen_hist_pct(const struct gen_hist *h, double p)
{
	uint64_t rank, seen = 0;

	if (!h->n || !(p > 0))
		return 0;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (rank < 1)
		rank = 1;
	if (rank > h->n)
		rank = h->n;
	for (unsigned i = 0; i < GEN_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = gen_hist_bucket_top(i);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

void gen_hist_merge(struct gen_hist *dst, const struct gen_hist *src)
{
	if (!src->n)
		return;
	for (unsigned i = 0; i < GEN_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	if (!dst->n || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->n += src->n;
}
