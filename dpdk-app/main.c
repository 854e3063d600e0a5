/* rvdp — the rendezvous dataplane: main.c is glue only (DESIGN §2.1).
 *
 *   rvdp [EAL options] -- [app options]
 *
 * Exit codes: 0 clean stop (signal or --max-idle-ms), 1 runtime failure,
 * 2 bad options or configuration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>
#include <urcu-qsbr.h>

#include "dp_app.h"

/* Relay tables start this small: relays are few next to sessions. */
#define DP_RELAY_BUCKETS 64ul

static struct dp_app app;

static void on_signal(int sig)
{
	(void)sig;
	app.quit = true;
}

static int load_file(void *ctx, const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	long n;

	(void)ctx;
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -EFBIG;
	}
	*buf = malloc((size_t)n + 1);
	if (!*buf) {
		fclose(f);
		return -ENOMEM;
	}
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return 0;
}

static void release_file(void *ctx, char *buf)
{
	(void)ctx;
	free(buf);
}

static void usage(FILE *out)
{
	struct dp_conf def;
	char help[8192];

	dp_conf_defaults(&def);
	rv_conf_help(dp_conf_opts, &def, help, sizeof(help));
	fprintf(out,
	        "usage: rvdp [EAL options] -- --addr IP --alt-addr IP [options]\n\n"
	        "The rendezvous dataplane: answers STUN (RFC 8489, RFC 5780 and RFC 3489\n"
	        "clients) and the project's authenticated NAT-traversal probes at line rate,\n"
	        "relays ChannelData between the two bound sides of each relay rvcontrol\n"
	        "grants, and hands control messages to rvcontrol over a local socket.\n\n"
	        "Options (also keys of the --config file; flags win):\n%s\n"
	        "EAL options (before --), for example:\n"
	        "  -l 0-1 --no-huge -m 512 --no-pci --file-prefix rvdp \\\n"
	        "    --vdev net_af_packet0,iface=veth0      a Linux interface\n"
	        "    --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap\n"
	        "    --vdev net_tap0,iface=rvdp0 / --vdev net_memif0,role=server\n"
	        "  The first lcore runs the control thread, the others poll (one per queue).\n"
	        "  See dpdk-testpmd --help or the DPDK EAL guide for the rest.\n\n"
	        "Counters: DPDK telemetry /rvdp/stats (dpdk-telemetry.py -f PREFIX), and on "
	        "exit.\n"
	        "Memory: a session costs %zu bytes, a relay %zu (both sides bound).\n"
	        "Relaying (proto/WIRE.md): a peer binds its side with a probe of kind relay\n"
	        "MACed with the relay key (tx_relay_bind; drop_bind_no_relay, _bad_mac,\n"
	        "_flags, _rate), then sends ChannelData to --addr:--port, forwarded in place\n"
	        "to the other side's bound endpoint (tx_relay, relay_bytes; drop_relay_addr,\n"
	        "_malformed, _no_route, _unbound, _expired, _over_bytes, _over_rate).\n",
	        help, dp_table_node_bytes(), dp_relay_entry_bytes());
}

/* --help is answered before EAL, which would otherwise want devices. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int setup(char *err, size_t errlen)
{
	unsigned id, n = 0;
	struct timespec ts;
	uint64_t seed;

	RTE_LCORE_FOREACH_WORKER(id)
	{
		if (n == DP_MAX_LCORES)
			break;
		app.lcores[n].app = &app;
		app.lcores[n++].lcore_id = id;
	}
	if (!n) {
		snprintf(err, errlen,
		         "needs at least two lcores (EAL -l 0-1): one control, one datapath");
		return -EINVAL;
	}
	app.n_lcores = n;
	app.addrs.ip[0] = rv_addr_v4_host(&app.conf.addr);
	app.addrs.ip[1] = rv_addr_v4_host(&app.conf.alt_addr);
	app.addrs.port[0] = app.conf.port;
	app.addrs.port[1] = app.conf.alt_port;
	app.tsc_hz = rte_get_tsc_hz();
	app.tsc0 = rte_rdtsc();
	clock_gettime(CLOCK_REALTIME, &ts);
	app.unix_ms0 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	dp_crc_init();
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = app.tsc0 ^ app.unix_ms0;
	app.table = dp_table_create(seed, app.conf.table_buckets, app.conf.table_max);
	if (!app.table) {
		snprintf(err, errlen, "sessions table: %s", strerror(errno));
		return -ENOMEM;
	}
	app.relays = dp_relay_create(seed * 0xc2b2ae3d27d4eb4full + 3,
	                             RTE_MIN(DP_RELAY_BUCKETS, (unsigned long)app.conf.table_max),
	                             app.conf.table_max, app.conf.relay_bind_rate,
	                             app.conf.relay_bind_burst);
	if (!app.relays) {
		snprintf(err, errlen, "relay tables: %s", strerror(errno));
		return -ENOMEM;
	}
	int rc = dp_port_setup(&app, err, errlen);
	if (rc < 0)
		return rc;
	if (!app.conf.rl_off) {
		struct dp_rl_conf rc_conf = {
			.slots = app.conf.rl_slots,
			.src_bytes = app.conf.rl_src_bytes,
			.src_bytes_rate = app.conf.rl_src_bytes_rate,
			.src_pkts = app.conf.rl_src_pkts,
			.src_pkts_rate = app.conf.rl_src_pkts_rate,
			.glob_bytes = app.conf.rl_glob_bytes,
			.glob_bytes_rate = app.conf.rl_glob_bytes_rate,
			.seed = seed * 0x9e3779b97f4a7c15ull,
		};
		for (unsigned i = 0; i < app.n_lcores; i++) {
			struct dp_lcore *l = &app.lcores[i];

			l->rl = rte_zmalloc_socket("rvdp_rl", dp_rl_size(&rc_conf),
			                           RTE_CACHE_LINE_SIZE,
			                           (int)rte_lcore_to_socket_id(l->lcore_id));
			if (!l->rl || dp_rl_init(l->rl, &rc_conf, app.n_lcores) < 0) {
				snprintf(err, errlen,
				         "rate limiter: out of memory (try --rl-slots)");
				return -ENOMEM;
			}
		}
	}
	if (app.conf.frag_slots) {
		struct rv_frag_conf fc = dp_frag_conf(&app.conf, 0);

		for (unsigned i = 0; i < app.n_lcores; i++) {
			struct dp_lcore *l = &app.lcores[i];

			fc.seed = seed * 0xbf58476d1ce4e5b9ull + i;
			l->ip_id = (uint16_t)(fc.seed >> 32);
			l->frag = rte_zmalloc_socket("rvdp_frag", rv_frag_size(&fc),
			                             RTE_CACHE_LINE_SIZE,
			                             (int)rte_lcore_to_socket_id(l->lcore_id));
			if (!l->frag || rv_frag_init(l->frag, &fc) < 0) {
				snprintf(err, errlen,
				         "reassembly table: out of memory (try a larger -m, or "
				         "--frag-slots / --frag-max-size)");
				return -ENOMEM;
			}
		}
	}
	return 0;
}

static void banner(void)
{
	char a[RV_ADDR_STRLEN], b[RV_ADDR_STRLEN];
	struct rv_addr p = rv_addr_v4(app.addrs.ip[0], app.addrs.port[0]);
	struct rv_addr q = rv_addr_v4(app.addrs.ip[1], app.addrs.port[1]);
	const uint8_t *m = app.addrs.mac;

	fprintf(stderr,
	        "rvdp: serving %s and %s on port %u (%02x:%02x:%02x:%02x:%02x:%02x), %u queue(s), "
	        "%u datapath lcore(s)%s\n",
	        rv_addr_fmt(&p, a, sizeof(a)), rv_addr_fmt(&q, b, sizeof(b)), app.port, m[0], m[1],
	        m[2], m[3], m[4], m[5], app.nb_queues, app.n_lcores,
	        app.conf.rl_off ? ", NO rate limits" : "");
}

int main(int argc, char **argv)
{
	struct rv_conf_loader loader = { load_file, release_file, NULL };
	char err[512];
	int rc, first;

	if (wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "rvdp: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argc -= rc;
	argv += rc;
	dp_conf_defaults(&app.conf);
	rc = rv_conf_args(dp_conf_opts, &app.conf, argc, argv, &loader, &first, err, sizeof(err));
	if (rc == 0 && first < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[first]);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = dp_conf_check(&app.conf, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "rvdp: %s (see rvdp --help)\n", err);
		rte_eal_cleanup();
		return 2;
	}

	urcu_qsbr_register_thread();
	rc = setup(err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "rvdp: %s\n", err);
		urcu_qsbr_unregister_thread();
		rte_eal_cleanup();
		return rc == -EINVAL ? 2 : 1;
	}
	/* Lets dpdk-dumpcap capture where secondary processes can attach. */
	(void)rte_pdump_init();
	if (dp_stats_register(&app) < 0)
		fprintf(stderr, "rvdp: telemetry unavailable (/rvdp/stats)\n");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < app.n_lcores; i++) {
		/* Set before launch: --max-idle-ms counts from here. */
		app.lcores[i].last_rx_tsc = rte_rdtsc();
		rte_eal_remote_launch(dp_lcore_main, &app.lcores[i], app.lcores[i].lcore_id);
	}
	banner();

	rc = dp_ctl_run(&app);

	app.quit = true;
	rte_eal_mp_wait_lcore();
	urcu_qsbr_barrier();
	dp_stats_print(&app, stdout, app.conf.json);
	dp_table_destroy(app.table);
	dp_relay_destroy(app.relays);
	(void)rte_pdump_uninit();
	dp_port_close(&app);
	for (unsigned i = 0; i < app.n_lcores; i++) {
		rte_free(app.lcores[i].rl);
		rte_free(app.lcores[i].frag);
	}
	urcu_qsbr_unregister_thread();
	rte_eal_cleanup();
	return rc < 0 ? 1 : 0;
}
