/* rvgen — the load generator: replays a scenario's pcap on a DPDK port,
 * receives the answers, and reports offered, sent and answered pps, loss
 * and latency percentiles; or searches the no-loss rate (RFC 2544).
 *
 *   rvgen [EAL options] -- --pcap FILE [options]
 *
 * Glue only: options, EAL, the templates, the port; the loop is gen_eth.c,
 * the runs gen_drive.c, everything they compute the pure gen_*.c.
 * Exit codes: 0 done (also when interrupted: the complete runs are
 * reported), 1 runtime failure, 2 bad options or input.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "dpdk-app/gen_conf.h"
#include "dpdk-app/gen_drive.h"
#include "dpdk-app/gen_eth.h"

static volatile bool quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = true;
}

static void usage(FILE *out)
{
	struct gen_conf def;
	char help[8192];

	gen_conf_defaults(&def);
	rv_conf_help(gen_conf_opts, &def, help, sizeof(help));
	fprintf(out,
	        "usage: rvgen [EAL options] -- --pcap FILE [options]\n\n"
	        "The load generator: replays a scenario's pcap (pktgen-scenarios/) on a DPDK\n"
	        "port at full speed or a given rate, rewriting sources over --flows, and\n"
	        "reports offered / sent / answered pps, loss against --expect, and latency\n"
	        "p50 / p99 / p99.9 (stamped in the STUN transaction ID, or found by it when\n"
	        "a MAC covers it). Each figure: median [min..max] of --runs. --search finds\n"
	        "the highest rate without loss (RFC 2544).\n\n"
	        "Options (also keys of the --config file; flags win):\n%s\n"
	        "EAL options (before --); one lcore does everything, for example:\n"
	        "  -l 0 --no-huge -m 512 --no-pci --file-prefix rvgen \\\n"
	        "    --vdev net_memif0,role=client,socket=/run/rvbench.sock\n"
	        "against rvdp ... --vdev net_memif0,role=server,socket=/run/rvbench.sock\n"
	        "on the same machine (scripts/bench.sh does all of it: make bench).\n",
	        help);
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int trial(void *ctx, double rate, double secs, double drain, struct gen_result *r,
                 struct gen_hist *h)
{
	return gen_eth_trial(ctx, rate, secs, drain, r, h);
}

/* --prologue: say how it went; unanswered frames are the scenario's
 * business (its loss will show), not a reason to stop. */
static void prologue(struct gen_eth *g, const struct gen_pcap *pro)
{
	uint64_t answered = gen_eth_prologue(g, pro);

	fprintf(stderr, "rvgen: prologue: %u frames sent, %llu answers%s\n", pro->n,
	        (unsigned long long)answered, answered < pro->n ? " (some unanswered)" : "");
}

/* --linger: after the report, keep the link up (not polling) until a
 * signal. A memif server may crash if its client leaves while it polls
 * (DPDK 22.11): bench.sh stops the server first, then rvgen. */
static void linger(void)
{
	while (!quit)
		rte_delay_us_sleep(10000);
}

int main(int argc, char **argv)
{
	struct gen_conf c;
	struct gen_eth g = { .quit = &quit };
	struct gen_pcap pcap = { 0 }, pro = { 0 };
	char err[512] = "";
	int rc, first;

	if (wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "rvgen: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argc -= rc;
	argv += rc;
	gen_conf_defaults(&c);
	rc = rv_conf_args(gen_conf_opts, &c, argc, argv, &gen_conf_file_loader, &first, err,
	                  sizeof(err));
	if (rc == 0 && first < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[first]);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = gen_conf_check(&c, err, sizeof(err));
	if (rc == 0)
		rc = gen_pcap_load(c.pcap, RTE_MBUF_DEFAULT_DATAROOM, &pcap, err, sizeof(err));
	if (rc == 0 && c.prologue[0])
		rc = gen_pcap_load(c.prologue, RTE_MBUF_DEFAULT_DATAROOM, &pro, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "rvgen: %s (see rvgen --help)\n", err);
		rte_eal_cleanup();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	g.burst = c.load.burst;
	rc = gen_eth_templates(&g, &pcap, &c.src);
	if (rc < 0)
		snprintf(err, sizeof(err), "templates: %s", strerror(-rc));
	else
		rc = gen_eth_port(&g, c.ethdev, c.mbufs, c.rxd, c.txd, c.link_wait_ms, err,
		                  sizeof(err));
	if (rc == 0 && pro.n)
		prologue(&g, &pro);
	if (rc == 0) {
		struct gen_report_info info = { .tool = "rvgen",
			                        .scenario = c.scenario,
			                        .target = c.pcap,
			                        .expect = c.load.expect_v,
			                        .frames = pcap.n,
			                        .stamped = g.stamped,
			                        .keyed = g.n_keyed,
			                        .flows = c.src.flows };

		rc = gen_drive_all(&c.load, trial, &g, &info, stdout, err, sizeof(err));
	}
	if (rc < 0 && rc != -EINTR)
		fprintf(stderr, "rvgen: %s\n", err);
	if (c.linger && g.started)
		linger();
	gen_eth_close(&g);
	gen_pcap_free(&pcap);
	gen_pcap_free(&pro);
	rte_eal_cleanup();
	return rc < 0 && rc != -EINTR ? 1 : 0;
}
