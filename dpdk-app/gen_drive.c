/* gen_drive.c — warm-up, runs, or the RFC 2544 search (gen_drive.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int gen_drive_paced(const struct gen_load *l, gen_trial_fn trial, void *ctx,
                    const struct gen_result *runs, unsigned n, struct gen_result *res, unsigned *n2,
                    struct gen_hist *h)
{
	double v[GEN_MAX_RUNS];
	struct gen_load p = *l;

	*n2 = 0;
	if (!l->paced_pct || l->search || !n)
		return 0;
	for (unsigned i = 0; i < n && i < GEN_MAX_RUNS; i++)
		v[i] = runs[i].secs > 0 ? (double)runs[i].answered / runs[i].secs : 0;
	p.rate = (uint64_t)(gen_mmm_of(v, n < GEN_MAX_RUNS ? n : GEN_MAX_RUNS).med * l->paced_pct /
	                    100);
	if (p.rate < 1000)
		p.rate = 1000;
	p.warmup_ms = 0;
	p.paced_pct = 0;
	return gen_drive(&p, trial, ctx, res, n2, h, NULL, NULL, 0);
}

int gen_drive_all(const struct gen_load *l, gen_trial_fn trial, void *ctx,
                  const struct gen_report_info *info, FILE *out, char *err, size_t errlen)
{
	struct gen_result *res = calloc(2 * GEN_MAX_RUNS, sizeof(*res));
	struct gen_hist *h = malloc(sizeof(*h));
	struct gen_report_info paced = *info;
	struct gen_search s;
	char label[96];
	unsigned n = 0, n2 = 0;
	int rc;

	if (!res || !h) {
		free(res);
		free(h);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = gen_drive(l, trial, ctx, res, &n, h, &s, err, errlen);
	if (rc == 0)
		rc = gen_drive_paced(l, trial, ctx, res, n, res + GEN_MAX_RUNS, &n2, h);
	if (rc == -EINTR)
		fprintf(stderr, "%s: interrupted: reporting the complete runs\n", info->tool);
	if (n)
		gen_report_print(out, l->json, info, res, n, l->search && rc == 0 ? &s : NULL);
	if (n2) {
		snprintf(label, sizeof(label), "%s@%u%%", info->scenario, l->paced_pct);
		paced.scenario = label;
		gen_report_print(out, l->json, &paced, res + GEN_MAX_RUNS, n2, NULL);
	}
	fflush(out);
	if (rc < 0 && rc != -EINTR && !err[0])
		snprintf(err, errlen, "%s", strerror(-rc));
	free(res);
	free(h);
	return rc;
}
