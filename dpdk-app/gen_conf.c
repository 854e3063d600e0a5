/* gen_conf.c — the load options and rvgen's table (gen_conf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_conf.h"

#define O(field)  offsetof(struct gen_conf, field)
#define SZ(field) (uint32_t)sizeof(((struct gen_conf *)0)->field)

const struct rv_opt gen_conf_opts[] = {
	{ "config", 'c', RV_OPT_CONFIG, 0, 0, 0, 0, NULL, "FILE",
	  "read settings from FILE (key = value; flags override it)" },
	{ "pcap", 'r', RV_OPT_STR, SZ(pcap), O(pcap), 0, 0, NULL, "FILE",
	  "the scenario's frames, replayed in order, round and round (required)" },
	{ "prologue", 0, RV_OPT_STR, SZ(prologue), O(prologue), 0, 0, NULL, "FILE",
	  "frames sent once, sources as they are, before the warm-up (relay binds)" },
	{ "scenario", 0, RV_OPT_STR, SZ(scenario), O(scenario), 0, 0, NULL, "NAME",
	  "label for the report" },
	{ "ethdev", 0, RV_OPT_UINT, SZ(ethdev), O(ethdev), 0, 1023, NULL, "N",
	  "DPDK port id to send on" },
	GEN_LOAD_OPTS,
	{ "flows", 'f', RV_OPT_UINT, SZ(flows), O(flows), 0, 1ull << 32, NULL, "N",
	  "rewrite IPv4/UDP sources over N distinct flows (0: as in the pcap)" },
	{ "src-net", 0, RV_OPT_STR, SZ(src_net), O(src_net), 0, 0, NULL, "CIDR",
	  "source addresses for --flows (RFC 2544's benchmarking range)" },
	{ "src-ports", 0, RV_OPT_STR, SZ(src_ports), O(src_ports), 0, 0, NULL, "LO-HI",
	  "source ports for --flows" },
	{ "mbufs", 0, RV_OPT_UINT, SZ(mbufs), O(mbufs), 1024, 1048576, NULL, "N",
	  "packet buffers in the pool" },
	{ "rxd", 0, RV_OPT_UINT, SZ(rxd), O(rxd), 64, 16384, NULL, "N", "RX descriptors" },
	{ "txd", 0, RV_OPT_UINT, SZ(txd), O(txd), 64, 16384, NULL, "N", "TX descriptors" },
	{ "link-wait-ms", 0, RV_OPT_UINT, SZ(link_wait_ms), O(link_wait_ms), 0, 600000, NULL, "N",
	  "wait this long for the link (the peer) to come up" },
	{ "linger", 0, RV_OPT_BOOL, SZ(linger), O(linger), 0, 0, NULL, NULL,
	  "after the report, keep the link up until SIGINT/SIGTERM (stop a memif peer first)" },
	{ 0 },
};

static int load_file(void *ctx, const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, n;

	(void)ctx;
	if (!f)
		return -errno;
	*buf = malloc(cap);
	if (!*buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(*buf, 1, cap, f);
	fclose(f);
	if (n == cap) {
		free(*buf);
		return -EFBIG;
	}
	*len = n;
	return 0;
}

static void release_file(void *ctx, char *buf)
{
	(void)ctx;
	free(buf);
}

const struct rv_conf_loader gen_conf_file_loader = { load_file, release_file, NULL };

void gen_load_defaults(struct gen_load *l)
{
	memset(l, 0, sizeof(*l));
	l->duration_ms = 2000;
	l->runs = 3;
	l->warmup_ms = 500;
	l->drain_ms = 100;
	l->burst = 32;
	snprintf(l->expect, sizeof(l->expect), "1");
	snprintf(l->loss, sizeof(l->loss), "0");
	snprintf(l->resolution, sizeof(l->resolution), "0.01");
	l->search_trials = 16;
}

void gen_conf_defaults(struct gen_conf *c)
{
	memset(c, 0, sizeof(*c));
	gen_load_defaults(&c->load);
	snprintf(c->src_net, sizeof(c->src_net), "198.18.0.0/15");
	snprintf(c->src_ports, sizeof(c->src_ports), "1024-65535");
	c->mbufs = 16383;
	c->rxd = 1024;
	c->txd = 1024;
	c->link_wait_ms = 10000;
}

/* A fraction in [lo, hi], or (lo, hi] when open_lo. */
static int fraction(const char *key, const char *s, double lo, double hi, bool open_lo, double *v,
                    char *err, size_t errlen)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v >= lo && *v <= hi) || (open_lo && !(*v > lo))) {
		snprintf(err, errlen, "'%s': '%s' is not a number in %s%g..%g]", key, s,
		         open_lo ? "(" : "[", lo, hi);
		return -EINVAL;
	}
	return 0;
}

int gen_load_check(struct gen_load *l, char *err, size_t errlen)
{
	if (fraction("expect", l->expect, 0, 1, true, &l->expect_v, err, errlen) < 0 ||
	    fraction("loss", l->loss, 0, 0.5, false, &l->loss_v, err, errlen) < 0 ||
	    fraction("resolution", l->resolution, 0, 0.5, true, &l->resolution_v, err, errlen) < 0)
		return -EINVAL;
	if (l->search && l->search_hi && l->search_hi <= l->search_lo) {
		snprintf(err, errlen, "'search-hi' must be above 'search-lo'");
		return -EINVAL;
	}
	if (l->paced_pct && (l->search || l->rate)) {
		snprintf(err, errlen,
		         "'paced-pct' follows full-speed runs (no 'rate', no 'search')");
		return -EINVAL;
	}
	if (l->search && l->rate) {
		snprintf(err, errlen,
		         "'rate' and 'search' exclude each other (the search sets it)");
		return -EINVAL;
	}
	return 0;
}

int gen_conf_check(struct gen_conf *c, char *err, size_t errlen)
{
	char why[160];

	if (gen_load_check(&c->load, err, errlen) < 0)
		return -EINVAL;
	if (!c->pcap[0]) {
		snprintf(err, errlen, "'pcap' is required (a scenario from pktgen-scenarios/)");
		return -EINVAL;
	}
	if (c->mbufs < 4u * (c->rxd + c->txd)) {
		snprintf(err, errlen, "'mbufs' (%u) must be at least 4 x (rxd + txd) = %u",
		         c->mbufs, 4u * (c->rxd + c->txd));
		return -EINVAL;
	}
	if (gen_src_parse(c->src_net, c->src_ports, c->flows, &c->src, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "'flows': %s", why);
		return -EINVAL;
	}
	return 0;
}
