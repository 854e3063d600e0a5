/* gen_report.c — run results, median [min..max], human and JSON (gen_report.h). */
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_report.h"

void gen_result_latency(struct gen_result *r, const struct gen_hist *h, double hz)
{
	double us = 1e6 / hz;

	r->timed = h->n;
	r->p50_us = (double)gen_hist_pct(h, 50) * us;
	r->p99_us = (double)gen_hist_pct(h, 99) * us;
	r->p999_us = (double)gen_hist_pct(h, 99.9) * us;
	r->max_us = (double)h->max * us;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct gen_mmm gen_mmm_of(const double *v, unsigned n)
{
	double s[64];
	struct gen_mmm m = { 0, 0, 0 };

	if (!n)
		return m;
	if (n > 64)
		n = 64; /* the runs option caps at 64 */
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	m.min = s[0];
	m.max = s[n - 1];
	m.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return m;
}

/* The per-run figures the summary takes medians of. */
enum metric { M_OFFERED, M_SENT, M_ANSWERED, M_LOSS, M_P50, M_P99, M_P999, M_COUNT };
static const char *const metric_key[M_COUNT] = { "offered_pps", "sent_pps", "answered_pps", "loss",
	                                         "p50_us",      "p99_us",   "p999_us" };

static double metric(const struct gen_result *r, enum metric m, double expect)
{
	double s = r->secs > 0 ? r->secs : 1;

	switch (m) {
	case M_OFFERED:
		return (double)r->offered / s;
	case M_SENT:
		return (double)r->sent / s;
	case M_ANSWERED:
		return (double)r->answered / s;
	case M_LOSS:
		return gen_search_loss(r->offered, r->answered, expect);
	case M_P50:
		return r->p50_us;
	case M_P99:
		return r->p99_us;
	case M_P999:
		return r->p999_us;
	default:
		return 0;
	}
}

static struct gen_mmm summary(const struct gen_result *runs, unsigned n, enum metric m,
                              double expect)
{
	double v[64];
	unsigned k = n < 64 ? n : 64;

	for (unsigned i = 0; i < k; i++)
		v[i] = metric(&runs[i], m, expect);
	return gen_mmm_of(v, k);
}

/* A JSON string: the label comes from the command line. */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_run(FILE *out, const struct gen_result *r, double expect)
{
	fprintf(out,
	        "{\"secs\":%.6f,\"rate_pps\":%.0f,\"offered\":%llu,\"sent\":%llu,"
	        "\"refused\":%llu,\"answered\":%llu,\"tx_bytes\":%llu,\"rx_bytes\":%llu,"
	        "\"no_mbuf\":%llu,\"timed\":%llu,\"max_us\":%.3f",
	        r->secs, r->rate, (unsigned long long)r->offered, (unsigned long long)r->sent,
	        (unsigned long long)r->refused, (unsigned long long)r->answered,
	        (unsigned long long)r->tx_bytes, (unsigned long long)r->rx_bytes,
	        (unsigned long long)r->no_mbuf, (unsigned long long)r->timed, r->max_us);
	for (unsigned m = 0; m < M_COUNT; m++)
		fprintf(out, ",\"%s\":%.6g", metric_key[m], metric(r, m, expect));
	fputc('}', out);
}

static void print_json(FILE *out, const struct gen_report_info *in, const struct gen_result *runs,
                       unsigned n, const struct gen_search *s)
{
	fprintf(out, "{\"tool\":");
	json_str(out, in->tool);
	fprintf(out, ",\"scenario\":");
	json_str(out, in->scenario);
	fprintf(out, ",\"target\":");
	json_str(out, in->target);
	fprintf(out,
	        ",\"expect\":%.6g,\"frames\":%llu,\"stamped\":%llu,\"keyed\":%llu,\"flows\":%llu,"
	        "\"runs\":[",
	        in->expect, (unsigned long long)in->frames, (unsigned long long)in->stamped,
	        (unsigned long long)in->keyed, (unsigned long long)in->flows);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		json_run(out, &runs[i], in->expect);
	}
	fputc(']', out);
	if (s) {
		fprintf(out,
		        ",\"search\":{\"rate_pps\":%.0f,\"trials\":%u,\"loss_max\":%.9g,"
		        "\"resolution\":%.6g,\"lo\":%.0f,\"hi\":%.0f}",
		        s->best, s->trials, s->loss_max, s->resolution, s->lo, s->hi);
	} else {
		fprintf(out, ",\"summary\":{");
		for (unsigned m = 0; m < M_COUNT; m++) {
			struct gen_mmm v = summary(runs, n, m, in->expect);

			fprintf(out, "%s\"%s\":{\"median\":%.6g,\"min\":%.6g,\"max\":%.6g}",
			        m ? "," : "", metric_key[m], v.med, v.min, v.max);
		}
		fputc('}', out);
	}
	fprintf(out, "}\n");
}

static void print_human(FILE *out, const struct gen_report_info *in, const struct gen_result *runs,
                        unsigned n, const struct gen_search *s)
{
	fprintf(out, "%s: %s%s%s — %llu frames (%llu stamped, %llu keyed)", in->tool,
	        in->scenario[0] ? in->scenario : "", in->scenario[0] ? " on " : "", in->target,
	        (unsigned long long)in->frames, (unsigned long long)in->stamped,
	        (unsigned long long)in->keyed);
	if (in->flows)
		fprintf(out, ", sources rewritten over %llu flows", (unsigned long long)in->flows);
	fprintf(out, "\n  %-4s %10s %12s %12s %12s %8s %9s %9s %9s\n", "run", "rate", "offered/s",
	        "sent/s", "answered/s", "loss", "p50 us", "p99 us", "p99.9 us");
	for (unsigned i = 0; i < n; i++) {
		const struct gen_result *r = &runs[i];
		char rate[24];

		if (r->rate > 0)
			snprintf(rate, sizeof(rate), "%.0f", r->rate);
		else
			snprintf(rate, sizeof(rate), "full");
		fprintf(out, "  %-4u %10s %12.0f %12.0f %12.0f %7.3f%% %9.1f %9.1f %9.1f\n", i + 1,
		        rate, metric(r, M_OFFERED, 0), metric(r, M_SENT, 0),
		        metric(r, M_ANSWERED, 0), 100 * metric(r, M_LOSS, in->expect), r->p50_us,
		        r->p99_us, r->p999_us);
	}
	if (s) {
		fprintf(out,
		        "  no-loss rate (RFC 2544, loss <= %.4g%%): %.0f pps after %u trials "
		        "(resolution %.3g%%)\n",
		        100 * s->loss_max, s->best, s->trials, 100 * s->resolution);
		return;
	}
	fprintf(out, "  median [min..max] of %u run(s):\n", n);
	for (unsigned m = 0; m < M_COUNT; m++) {
		struct gen_mmm v = summary(runs, n, m, in->expect);

		if (m == M_LOSS)
			fprintf(out, "    %-13s %12.4f [%.4f..%.4f] %%\n", metric_key[m],
			        100 * v.med, 100 * v.min, 100 * v.max);
		else if (m < M_LOSS)
			fprintf(out, "    %-13s %12.0f [%.0f..%.0f]\n", metric_key[m], v.med, v.min,
			        v.max);
		else
			fprintf(out, "    %-13s %12.1f [%.1f..%.1f]\n", metric_key[m], v.med, v.min,
			        v.max);
	}
}

void gen_report_print(FILE *out, bool json, const struct gen_report_info *info,
                      const struct gen_result *runs, unsigned n, const struct gen_search *search)
{
	if (json)
		print_json(out, info, runs, n, search);
	else
		print_human(out, info, runs, n, search);
}
