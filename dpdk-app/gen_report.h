/* gen_report.h — what a load run measured, summarised and printed.
 *
 * One struct per run (a trial at one rate); the summary is the median of
 * the runs with their min and max, because one run on a shared machine
 * proves little. Human output by default, one JSON object with --json
 * (the same keys bench.sh reads). Shared by rvgen and the kernel-socket
 * flood client, so both report alike.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dpdk-app/gen_hist.h"
#include "dpdk-app/gen_search.h"

struct gen_result {
	double secs;       /* the sending window */
	double rate;       /* target pps; 0 = as fast as it goes */
	uint64_t offered;  /* frames the pacing wanted out (sent + refused) */
	uint64_t sent;     /* frames the link took */
	uint64_t refused;  /* tx attempts the link refused (full ring: the peer lags) */
	uint64_t answered; /* frames that came back */
	uint64_t tx_bytes, rx_bytes;
	uint64_t no_mbuf; /* sends skipped: the pool was empty */
	uint64_t timed;   /* answers with a latency (stamped or keyed) */
	double p50_us, p99_us, p999_us, max_us;
};

/* Fill the latency fields from a histogram in ticks of hz.
 * Context: pure. */
void gen_result_latency(struct gen_result *r, const struct gen_hist *h, double hz);

/* Median, min and max of n values (n >= 1; 0s when n == 0).  Context: pure. */
struct gen_mmm {
	double med, min, max;
};
struct gen_mmm gen_mmm_of(const double *v, unsigned n);

struct gen_report_info {
	const char *tool;     /* "rvgen", "rvflood" */
	const char *scenario; /* label, or "" */
	const char *target;   /* the pcap, or the server address */
	double expect;        /* fraction of requests the scenario answers */
	uint64_t frames;      /* templates (pcap records) */
	uint64_t stamped, keyed;
	uint64_t flows; /* distinct sources rewritten in; 0 = as in the pcap */
};

/* Print every run and the summary (median [min..max] of offered, sent and
 * answered pps, loss, latency percentiles), then the search when given.
 * Context: any (writes out). */
void gen_report_print(FILE *out, bool json, const struct gen_report_info *info,
                      const struct gen_result *runs, unsigned n, const struct gen_search *search);
