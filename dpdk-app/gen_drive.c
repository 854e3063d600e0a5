/* gen_drive.c — warm-up, runs, or the RFC 2544 search (gen_drive.h). */
#include <errno.h>
#include <stdio.h>

#include "dpdk-app/gen_drive.h"

static int runs(const struct gen_load *l, gen_trial_fn trial, void *ctx, struct gen_result *res,
                unsigned *n, struct gen_hist *h)
{
	double secs = l->duration_ms / 1000.0, drain = l->drain_ms / 1000.0;
	int rc = 0;

	if (l->warmup_ms)
		rc = trial(ctx, (double)l->rate, l->warmup_ms / 1000.0, drain, &res[0], h);
	while (rc == 0 && *n < l->runs && *n < GEN_MAX_RUNS) {
		rc = trial(ctx, (double)l->rate, secs, drain, &res[*n], h);
		if (rc == 0)
			(*n)++;
	}
	return rc;
}

static int search(const struct gen_load *l, gen_trial_fn trial, void *ctx, struct gen_result *res,
                  unsigned *n, struct gen_hist *h, struct gen_search *s, char *err, size_t errlen)
{
	double secs = l->duration_ms / 1000.0, drain = l->drain_ms / 1000.0;
	double hi = (double)l->search_hi;
	int rc;

	if (l->warmup_ms && (rc = trial(ctx, 0, l->warmup_ms / 1000.0, drain, &res[0], h)) < 0)
		return rc;
	if (!hi) { /* the ceiling: what went out at full speed */
		rc = trial(ctx, 0, secs, drain, &res[0], h);
		if (rc < 0)
			return rc;
		hi = (double)res[0].sent / (res[0].secs > 0 ? res[0].secs : 1);
	}
	if (gen_search_init(s, (double)l->search_lo, hi, l->resolution_v, l->loss_v,
	                    l->search_trials) < 0) {
		snprintf(err, errlen, "search: ceiling %.0f pps is not above the floor %llu", hi,
		         (unsigned long long)l->search_lo);
		return -EINVAL;
	}
	for (;;) {
		struct gen_result *r = &res[*n];

		rc = trial(ctx, s->next, secs, drain, r, h);
		if (rc < 0)
			return rc;
		(*n)++;
		if (!gen_search_feed(s, gen_search_loss(r->offered, r->answered, l->expect_v)) ||
		    *n == GEN_MAX_RUNS)
			return 0;
	}
}

int gen_drive(const struct gen_load *l, gen_trial_fn trial, void *ctx, struct gen_result *res,
              unsigned *n, struct gen_hist *h, struct gen_search *s, char *err, size_t errlen)
{
	*n = 0;
	return l->search ? search(l, trial, ctx, res, n, h, s, err, errlen)
	                 : runs(l, trial, ctx, res, n, h);
}
