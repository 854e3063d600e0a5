/* gen_search.c — RFC 2544 binary search for the no-loss rate (gen_search.h). */
#include <errno.h>

#include "dpdk-app/gen_search.h"

int gen_search_init(struct gen_search *s, double lo, double hi, double resolution, double loss_max,
                    unsigned max_trials)
{
	if (!(lo >= 0) || !(hi > lo) || !(resolution > 0 && resolution < 1) ||
	    !(loss_max >= 0 && loss_max < 1) || !max_trials)
		return -EINVAL;
	*s = (struct gen_search){ .lo = lo,
		                  .hi = hi,
		                  .resolution = resolution,
		                  .loss_max = loss_max,
		                  .max_trials = max_trials,
		                  .next = hi };
	return 0;
}

double gen_search_loss(uint64_t offered, uint64_t answered, double expect)
{
	double want = (double)offered * expect;

	if (!offered || !(want > 0))
		return 1;
	if ((double)answered >= want)
		return 0;
	return 1 - (double)answered / want;
}

bool gen_search_feed(struct gen_search *s, double loss)
{
	if (s->done)
		return false;
	s->trials++;
	if (loss <= s->loss_max) {
		s->lo = s->next;
		s->best = s->next;
	} else {
		s->hi = s->next;
	}
	/* A pass at the ceiling ends it: nothing above was asked for. */
	if (s->best >= s->hi || s->hi - s->lo <= s->resolution * s->hi ||
	    s->trials >= s->max_trials) {
		s->done = true;
		return false;
	}
	s->next = s->lo + (s->hi - s->lo) / 2;
	return true;
}
