/* gen_search and gen_drive: the RFC 2544 search against simulated devices,
 * and the runs a load test is made of. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "dpdk-app/gen_drive.h"
#include "dpdk-app/gen_search.h"

/* A device answering min(offered, capacity) of a 100-second trial. */
static double loss_at(double rate, double capacity)
{
	uint64_t offered = (uint64_t)(rate * 100);

	return gen_search_loss(offered, (uint64_t)((rate < capacity ? rate : capacity) * 100), 1);
}

static double search(double lo, double hi, double capacity, unsigned *trials)
{
	struct gen_search s;

	cr_assert_eq(gen_search_init(&s, lo, hi, 0.01, 0, 32), 0);
	while (gen_search_feed(&s, loss_at(s.next, capacity)))
		;
	*trials = s.trials;
	return s.best;
}

ParameterizedTestParameters(search, finds_the_capacity_within_the_resolution)
{
	static double caps[] = { 50000, 123456, 3.3e6, 9.99e6 };

	return cr_make_param_array(double, caps, sizeof(caps) / sizeof(caps[0]));
}

ParameterizedTest(double *cap, search, finds_the_capacity_within_the_resolution)
{
	unsigned trials;
	double best = search(0, 1e7, *cap, &trials);

	cr_assert(best <= *cap, "%g passed above the capacity %g", best, *cap);
	cr_assert(best >= *cap - 0.01 * 1e7 || best >= *cap * 0.99 - 0.01 * 1e7,
	          "%g too far below %g", best, *cap);
	cr_assert(trials <= 32);
}

Test(search, a_pass_at_the_ceiling_ends_it_in_one_trial)
{
	unsigned trials;

	cr_assert_eq(search(0, 5e6, 1e9, &trials), 5e6);
	cr_assert_eq(trials, 1);
}

Test(search, nothing_passing_gives_zero)
{
	unsigned trials;

	cr_assert_eq(search(0, 5e6, 0, &trials), 0);
}

Test(search, loss_counts_against_the_answers_expected)
{
	cr_assert_float_eq(gen_search_loss(1000, 700, 0.7), 0, 1e-12);
	cr_assert_float_eq(gen_search_loss(1000, 350, 0.7), 0.5, 1e-12);
	cr_assert_float_eq(gen_search_loss(1000, 1200, 1), 0, 1e-12, "more than expected");
	cr_assert_float_eq(gen_search_loss(0, 0, 1), 1, 1e-12, "nothing offered");
}

Test(search, bad_brackets_are_refused)
{
	struct gen_search s;

	cr_assert_eq(gen_search_init(&s, 5, 5, 0.01, 0, 8), -EINVAL);
	cr_assert_eq(gen_search_init(&s, -1, 5, 0.01, 0, 8), -EINVAL);
	cr_assert_eq(gen_search_init(&s, 0, 5, 0, 0, 8), -EINVAL);
	cr_assert_eq(gen_search_init(&s, 0, 5, 0.01, 1, 8), -EINVAL);
	cr_assert_eq(gen_search_init(&s, 0, 5, 0.01, 0, 0), -EINVAL);
}

/* gen_drive with a simulated device of 2 M pps behind a 3 M pps link. */
struct sim {
	unsigned calls;
	double rates[80];
	int fail_at; /* call number that returns -EINTR (0: never) */
};

static int sim_trial(void *ctx, double rate, double secs, double drain, struct gen_result *r,
                     struct gen_hist *h)
{
	struct sim *s = ctx;
	double sent = rate > 0 ? rate * secs : 3e6 * secs;

	(void)drain;
	s->rates[s->calls] = rate;
	if (++s->calls == (unsigned)s->fail_at)
		return -EINTR;
	memset(r, 0, sizeof(*r));
	gen_hist_reset(h);
	r->secs = secs;
	r->rate = rate;
	r->offered = r->sent = (uint64_t)sent;
	r->answered = (uint64_t)(sent < 2e6 * secs ? sent : 2e6 * secs);
	return 0;
}

static struct gen_load load(bool search)
{
	struct gen_load l;
	char err[128];

	gen_load_defaults(&l);
	l.search = search;
	l.duration_ms = 1000;
	cr_assert_eq(gen_load_check(&l, err, sizeof(err)), 0, "%s", err);
	return l;
}

/* Drive the simulated device; res and the search stay for the asserts. */
static struct gen_result res[GEN_MAX_RUNS];
static struct gen_search srch;

static int drive(bool search, unsigned runs, struct sim *sim, unsigned *n)
{
	static struct gen_hist h;
	struct gen_load l = load(search);
	char err[128];

	l.runs = runs;
	return gen_drive(&l, sim_trial, sim, res, n, &h, &srch, err, sizeof(err));
}

Test(drive, warms_up_then_keeps_every_run)
{
	struct sim sim = { 0 };
	unsigned n;

	cr_assert_eq(drive(false, 5, &sim, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(sim.calls, 6, "one warm-up, five runs");
	cr_assert_eq(res[4].answered, 2000000);
}

Test(drive, an_interrupted_run_keeps_the_runs_before_it)
{
	struct sim sim = { .fail_at = 4 };
	unsigned n;

	cr_assert_eq(drive(false, 5, &sim, &n), -EINTR);
	cr_assert_eq(n, 2);
}

Test(drive, searches_down_from_what_the_link_took)
{
	struct sim sim = { 0 };
	unsigned n;

	cr_assert_eq(drive(true, 1, &sim, &n), 0);
	cr_assert_eq(sim.rates[2], 3e6, "warm-up, full speed for the ceiling, then the ceiling");
	cr_assert(srch.best <= 2e6 && srch.best >= 2e6 - 0.01 * 3e6, "best %g", srch.best);
	cr_assert_eq(n, srch.trials);
}

Test(drive, paced_runs_follow_at_a_share_of_the_median_answered_rate)
{
	static struct gen_result paced[GEN_MAX_RUNS];
	static struct gen_hist h;
	struct gen_load l = load(false);
	struct sim sim = { 0 };
	unsigned n, n2;

	l.runs = 3;
	l.paced_pct = 80;
	cr_assert_eq(drive(false, 3, &sim, &n), 0);
	cr_assert_eq(gen_drive_paced(&l, sim_trial, &sim, res, n, paced, &n2, &h), 0);
	cr_assert_eq(n2, 3);
	cr_assert_eq(sim.rates[sim.calls - 1], 1.6e6, "80 %% of the 2 M answered");
	cr_assert_eq(paced[2].answered, 1600000);
	l.paced_pct = 0;
	cr_assert_eq(gen_drive_paced(&l, sim_trial, &sim, res, n, paced, &n2, &h), 0);
	cr_assert_eq(n2, 0, "nothing asked");
}
