/* gen_search.h — RFC 2544 §26.1 throughput: the highest offered rate the
 * system under test answers without loss, by binary search.
 *
 * The caller runs trials; this decides the next rate from the last
 * outcome. A trial passes when its loss (the answers missing against the
 * answers expected, gen_search_loss) is at most loss_max; RFC 2544 wants
 * zero, a shared machine may want a few parts per million (stated in the
 * output). The search starts at the ceiling hi (a pass ends it there),
 * then halves [lo, hi) until hi - lo <= resolution x hi or max_trials.
 * The result is the highest rate that passed (0: none did).
 *
 * Pure: no clock, no I/O; the tests drive it with simulated devices.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct gen_search {
	double lo, hi;     /* highest passed (or the floor) / lowest failed (or the ceiling) */
	double resolution; /* relative: stop when hi - lo <= resolution * hi */
	double loss_max;   /* a trial passes with loss <= loss_max */
	unsigned max_trials;
	unsigned trials;
	double next; /* the rate of the trial to run now */
	double best; /* highest rate that passed; 0 = none */
	bool done;
};

/* Start a search between lo (assumed to pass, may be 0) and hi (> lo).
 * Returns 0 or -EINVAL (hi <= lo, lo < 0, resolution not in (0, 1),
 * loss_max not in [0, 1), max_trials 0).  Context: pure. */
int gen_search_init(struct gen_search *s, double lo, double hi, double resolution, double loss_max,
                    unsigned max_trials);

/* Loss of a trial: 1 - answered / (offered x expect), at least 0; expect
 * is the fraction of requests the scenario answers (1 for a Binding
 * flood). 1 when nothing was offered.  Context: pure. */
double gen_search_loss(uint64_t offered, uint64_t answered, double expect);

/* Record the outcome of the trial at s->next (its loss); sets s->next to
 * the next rate, or s->done. Returns !s->done.  Context: pure. */
bool gen_search_feed(struct gen_search *s, double loss);
