/* gen_conf.h — the load generators' settings: one option table per program
 * (proto/conf.h) for its flags, a --config file and --help, plus the checks
 * across keys.
 *
 * What any load run needs (rate, runs, the no-loss search, the report) is
 * struct gen_load, the first member of each program's settings, with its
 * table entries in GEN_LOAD_OPTS: rvgen (DPDK) and rvflood (kernel
 * sockets, tests/bench/) take the same flags with the same meaning.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpdk-app/gen_pkt.h"
#include "proto/conf.h"

#define GEN_MAX_RUNS  64u
#define GEN_MAX_BURST 256u

struct gen_load {
	uint64_t rate; /* offered pps; 0 = as fast as it goes */
	uint32_t duration_ms, runs, warmup_ms, drain_ms;
	uint16_t burst;
	char expect[16]; /* fraction of requests the scenario answers */
	bool search;     /* RFC 2544 no-loss search instead of fixed-rate runs */
	uint64_t search_lo, search_hi;
	char loss[16];       /* loss a search trial may show, fraction */
	char resolution[16]; /* search stops at hi - lo <= resolution x hi */
	uint32_t search_trials;
	uint32_t paced_pct; /* then runs at this % of the median answered rate */
	bool json;
	/* Parsed by gen_load_check. */
	double expect_v, loss_v, resolution_v;
};

#define GEN_LO(field)  offsetof(struct gen_load, field)
#define GEN_LSZ(field) (uint32_t)sizeof(((struct gen_load *)0)->field)

/* Table entries for struct gen_load at offset 0 of the program's settings.
 * (Kept out of clang-format, which cannot lay out a macro of initialisers.) */
/* clang-format off */
#define GEN_LOAD_OPTS \
	{ "rate", 'R', RV_OPT_UINT, GEN_LSZ(rate), GEN_LO(rate), 0, 1000000000, NULL, "PPS", \
	  "offered load in packets per second (0: as fast as it goes)" }, \
	{ "duration-ms", 'd', RV_OPT_UINT, GEN_LSZ(duration_ms), GEN_LO(duration_ms), 10, \
	  3600000, NULL, "N", "length of one run" }, \
	{ "runs", 'n', RV_OPT_UINT, GEN_LSZ(runs), GEN_LO(runs), 1, GEN_MAX_RUNS, NULL, "N", \
	  "runs (the summary is their median, min and max)" }, \
	{ "warmup-ms", 0, RV_OPT_UINT, GEN_LSZ(warmup_ms), GEN_LO(warmup_ms), 0, 60000, NULL, \
	  "N", "unmeasured load before the first run" }, \
	{ "drain-ms", 0, RV_OPT_UINT, GEN_LSZ(drain_ms), GEN_LO(drain_ms), 1, 10000, NULL, "N", \
	  "after a run, how long late answers still count" }, \
	{ "burst", 'b', RV_OPT_UINT, GEN_LSZ(burst), GEN_LO(burst), 1, GEN_MAX_BURST, NULL, "N", \
	  "packets per burst" }, \
	{ "expect", 'e', RV_OPT_STR, GEN_LSZ(expect), GEN_LO(expect), 0, 0, NULL, "FRACTION", \
	  "fraction of requests the scenario answers (loss is counted against it)" }, \
	{ "search", 's', RV_OPT_BOOL, GEN_LSZ(search), GEN_LO(search), 0, 0, NULL, NULL, \
	  "RFC 2544 search for the highest rate without loss (instead of --runs)" }, \
	{ "search-lo", 0, RV_OPT_UINT, GEN_LSZ(search_lo), GEN_LO(search_lo), 0, 1000000000, \
	  NULL, "PPS", "search floor (assumed to pass)" }, \
	{ "search-hi", 0, RV_OPT_UINT, GEN_LSZ(search_hi), GEN_LO(search_hi), 0, 1000000000, \
	  NULL, "PPS", "search ceiling (0: what went out in a full-speed run)" }, \
	{ "loss", 0, RV_OPT_STR, GEN_LSZ(loss), GEN_LO(loss), 0, 0, NULL, "FRACTION", \
	  "loss a search trial may show and still pass (RFC 2544: 0)" }, \
	{ "resolution", 0, RV_OPT_STR, GEN_LSZ(resolution), GEN_LO(resolution), 0, 0, NULL, \
	  "FRACTION", "search stops when the bracket is this narrow, relative" }, \
	{ "search-trials", 0, RV_OPT_UINT, GEN_LSZ(search_trials), GEN_LO(search_trials), 1, \
	  GEN_MAX_RUNS, NULL, "N", "most trials a search runs" }, \
	{ "paced-pct", 0, RV_OPT_UINT, GEN_LSZ(paced_pct), GEN_LO(paced_pct), 0, 100, NULL, \
	  "PCT", "then --runs more at PCT % of their median answered rate (the latency point)" }, \
	{ "json", 'j', RV_OPT_BOOL, GEN_LSZ(json), GEN_LO(json), 0, 0, NULL, NULL, \
	  "print the report as JSON" }
/* clang-format on */

/* Defaults: 3 runs of 2 s after 0.5 s of warm-up, full speed, bursts of
 * 32, 100 % answered, search resolution 1 %, zero loss.  Context: pure. */
void gen_load_defaults(struct gen_load *l);

/* Parse the fractions, check the search bounds. Returns 0 or -EINVAL with
 * err naming the key.  Context: pure. */
int gen_load_check(struct gen_load *l, char *err, size_t errlen);

/* Reads a --config file for rv_conf_args (up to 64 KiB).  Context: any. */
extern const struct rv_conf_loader gen_conf_file_loader;

/* rvgen's settings. */
struct gen_conf {
	struct gen_load load; /* first: GEN_LOAD_OPTS address it at offset 0 */
	char pcap[256];       /* the scenario's frames */
	char prologue[256];   /* frames sent once first, e.g. relay binds ("": none) */
	char scenario[64];    /* label for the report */
	uint16_t ethdev;      /* DPDK port id */
	uint64_t flows;       /* rewrite sources over this many flows (0: keep) */
	char src_net[32];     /* ... from this network */
	char src_ports[16];   /* ... and these ports */
	uint32_t mbufs;
	uint16_t rxd, txd;
	uint32_t link_wait_ms;
	bool linger;        /* after the report, keep the link up until a signal */
	struct gen_src src; /* parsed by gen_conf_check */
};

/* rvgen's option table (ends with RV_OPT_END).  Context: any. */
extern const struct rv_opt gen_conf_opts[];

/* gen_load_defaults plus the benchmark network 198.18.0.0/15, ports
 * 1024-65535, 16383 mbufs, 1024 descriptors, 10 s for the link.
 * Context: pure. */
void gen_conf_defaults(struct gen_conf *c);

/* gen_load_check plus the pcap, the pool and the source range. Returns 0
 * or -EINVAL with err naming the key.  Context: pure. */
int gen_conf_check(struct gen_conf *c, char *err, size_t errlen);
