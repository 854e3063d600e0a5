/* gen_drive.h — the runs of a load test, whatever sends the packets.
 *
 * A load generator provides one trial (offer `rate` pps for `secs`, keep
 * receiving `drain` more, fill a gen_result and a latency histogram); this
 * drives them: a warm-up and --runs trials at the set rate, or an RFC 2544
 * search (gen_search.h) from a ceiling down. rvgen's trial is an ethdev
 * loop, rvflood's a kernel socket loop; both are driven alike.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "dpdk-app/gen_conf.h"
#include "dpdk-app/gen_hist.h"
#include "dpdk-app/gen_report.h"
#include "dpdk-app/gen_search.h"

/* One trial. Returns 0, or a negative errno (-EINTR: stopped early). */
typedef int (*gen_trial_fn)(void *ctx, double rate, double secs, double drain, struct gen_result *r,
                            struct gen_hist *h);

/* Run l's plan: res[0..*n) get the measured runs (GEN_MAX_RUNS room; the
 * warm-up and a search's ceiling probe are not kept). With l->search, *s
 * holds the search and its result. Returns 0, the trial's negative code
 * (the runs before it are in res), or -EINVAL with err filled.
 * Context: whatever the trial needs (the caller's thread). */
int gen_drive(const struct gen_load *l, gen_trial_fn trial, void *ctx, struct gen_result *res,
              unsigned *n, struct gen_hist *h, struct gen_search *s, char *err, size_t errlen);

/* With l->paced_pct: l->runs more trials, no warm-up, at paced_pct % of the
 * median answered rate of runs[0..n) (at least 1000 pps), into res[0..*n2).
 * Returns 0 (nothing to do: *n2 = 0) or the trial's negative code.
 * Context: as gen_drive. */
int gen_drive_paced(const struct gen_load *l, gen_trial_fn trial, void *ctx,
                    const struct gen_result *runs, unsigned n, struct gen_result *res, unsigned *n2,
                    struct gen_hist *h);

/* The whole plan of a load generator's main: gen_drive, then
 * gen_drive_paced, printing each with gen_report_print to out (the paced
 * runs labelled "SCENARIO@PCT%", a second JSON line with --json). Runs that
 * completed are printed even when a later one failed or was interrupted
 * (a note goes to stderr). Returns 0, -EINTR, or a negative errno with err
 * filled.  Context: as gen_drive (allocates its result arrays). */
int gen_drive_all(const struct gen_load *l, gen_trial_fn trial, void *ctx,
                  const struct gen_report_info *info, FILE *out, char *err, size_t errlen);
