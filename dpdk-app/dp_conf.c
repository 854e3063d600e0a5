/* dp_conf.c — rvdp's option table and cross-key checks (dp_conf.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dp_conf.h"

#define O(field)  offsetof(struct dp_conf, field)
#define SZ(field) (uint32_t)sizeof(((struct dp_conf *)0)->field)

const struct rv_opt dp_conf_opts[] = {
	{ "config", 'c', RV_OPT_CONFIG, 0, 0, 0, 0, NULL, "FILE",
	  "read settings from FILE (key = value; flags override it)" },
	{ "addr", 'a', RV_OPT_ADDR, 0, O(addr), 0, 0, NULL, "IP", "primary public IPv4 address" },
	{ "alt-addr", 'A', RV_OPT_ADDR, 0, O(alt_addr), 0, 0, NULL, "IP",
	  "alternate public IPv4 address (RFC 5780 CHANGE-REQUEST)" },
	{ "port", 'p', RV_OPT_UINT, SZ(port), O(port), 1, 65535, NULL, "N", "primary STUN port" },
	{ "alt-port", 'P', RV_OPT_UINT, SZ(alt_port), O(alt_port), 1, 65535, NULL, "N",
	  "alternate STUN port" },
	{ "control", 's', RV_OPT_STR, SZ(control), O(control), 0, 0, NULL, "PATH",
	  "Unix socket rvcontrol connects to" },
	{ "mac", 0, RV_OPT_STR, SZ(mac), O(mac), 0, 0, NULL, "MAC",
	  "answer as this MAC address instead of the port's own" },
	{ "ethdev", 0, RV_OPT_UINT, SZ(ethdev), O(ethdev), 0, 1023, NULL, "N",
	  "DPDK port id to serve" },
	{ "max-idle-ms", 0, RV_OPT_UINT, SZ(max_idle_ms), O(max_idle_ms), 0, UINT32_MAX, NULL, "N",
	  "exit cleanly after N ms without a packet (0: never)" },
	{ "idle-sleep-us", 0, RV_OPT_UINT, SZ(idle_sleep_us), O(idle_sleep_us), 0, 1000000, NULL,
	  "N", "when idle, go RCU-offline and sleep N us between polls (0: busy poll)" },
	{ "mtu", 0, RV_OPT_UINT, SZ(mtu), O(mtu), 576, 9000, NULL, "N",
	  "largest IP packet to send" },
	{ "burst", 0, RV_OPT_UINT, SZ(burst), O(burst), 1, 256, NULL, "N", "packets per burst" },
	{ "rxd", 0, RV_OPT_UINT, SZ(rxd), O(rxd), 64, 16384, NULL, "N", "RX descriptors" },
	{ "txd", 0, RV_OPT_UINT, SZ(txd), O(txd), 64, 16384, NULL, "N", "TX descriptors" },
	{ "mbufs", 0, RV_OPT_UINT, SZ(mbufs), O(mbufs), 1024, 16777216, NULL, "N",
	  "packet buffers in the pool" },
	{ "punt-ring", 0, RV_OPT_UINT, SZ(punt_ring), O(punt_ring), 64, 1048576, NULL, "N",
	  "lcore -> control thread ring size (power of two)" },
	{ "table-buckets", 0, RV_OPT_UINT, SZ(table_buckets), O(table_buckets), 1, 1u << 30, NULL,
	  "N", "sessions table: initial buckets (power of two)" },
	{ "table-max", 0, RV_OPT_UINT, SZ(table_max), O(table_max), 1, 1u << 30, NULL, "N",
	  "sessions table: most buckets (power of two)" },
	{ "relay-bind-rate", 0, RV_OPT_UINT, SZ(relay_bind_rate), O(relay_bind_rate), 0, UINT32_MAX,
	  NULL, "N", "relay binding probes per second per relay (0: no limit)" },
	{ "relay-bind-burst", 0, RV_OPT_UINT, SZ(relay_bind_burst), O(relay_bind_burst), 0,
	  UINT32_MAX, NULL, "N", "... burst" },
	{ "no-rate-limit", 0, RV_OPT_BOOL, SZ(rl_off), O(rl_off), 0, 0, NULL, NULL,
	  "no anti-amplification budgets (benchmarks on a closed link only)" },
	{ "rl-slots", 0, RV_OPT_UINT, SZ(rl_slots), O(rl_slots), 1, 1u << 26, NULL, "N",
	  "sources tracked per lcore (power of two)" },
	{ "rl-src-bytes", 0, RV_OPT_UINT, SZ(rl_src_bytes), O(rl_src_bytes), 0, UINT32_MAX, NULL,
	  "N", "per-source budget of answer bytes beyond the request size (burst)" },
	{ "rl-src-bytes-rate", 0, RV_OPT_UINT, SZ(rl_src_bytes_rate), O(rl_src_bytes_rate), 0,
	  UINT32_MAX, NULL, "N", "... refill, bytes per second" },
	{ "rl-src-pkts", 0, RV_OPT_UINT, SZ(rl_src_pkts), O(rl_src_pkts), 0, UINT32_MAX, NULL, "N",
	  "per-source answers (burst; 0: no packet limit)" },
	{ "rl-src-pkts-rate", 0, RV_OPT_UINT, SZ(rl_src_pkts_rate), O(rl_src_pkts_rate), 0,
	  UINT32_MAX, NULL, "N", "... refill, answers per second" },
	{ "rl-global-bytes", 0, RV_OPT_UINT, SZ(rl_glob_bytes), O(rl_glob_bytes), 0, INT64_MAX,
	  NULL, "N", "global budget of excess answer bytes (burst; 0: none)" },
	{ "rl-global-bytes-rate", 0, RV_OPT_UINT, SZ(rl_glob_bytes_rate), O(rl_glob_bytes_rate), 0,
	  INT64_MAX, NULL, "N", "... refill, bytes per second" },
	{ "frag-slots", 0, RV_OPT_UINT, SZ(frag_slots), O(frag_slots), 0, 1u << 20, NULL, "N",
	  "datagrams reassembled at once per lcore (power of two >= 4; 0: none)" },
	{ "frag-max-size", 0, RV_OPT_UINT, SZ(frag_max_size), O(frag_max_size), 576, 65000, NULL,
	  "N", "largest IPv4 datagram reassembled or answer sent in fragments" },
	{ "frag-max-frags", 0, RV_OPT_UINT, SZ(frag_max_frags), O(frag_max_frags), 2, 255, NULL,
	  "N", "most fragments per datagram" },
	{ "frag-timeout-ms", 0, RV_OPT_UINT, SZ(frag_timeout_ms), O(frag_timeout_ms), 1, 60000,
	  NULL, "N", "drop a datagram still incomplete N ms after its first fragment" },
	{ "json", 0, RV_OPT_BOOL, SZ(json), O(json), 0, 0, NULL, NULL,
	  "print the exit report as JSON" },
	{ "verbose", 'v', RV_OPT_BOOL, SZ(verbose), O(verbose), 0, 0, NULL, NULL,
	  "log control-plane events" },
	{ 0 },
};

void dp_conf_defaults(struct dp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 3478;
	c->alt_port = 3479;
	snprintf(c->control, sizeof(c->control), "/run/rvdp.sock");
	c->mtu = 1500;
	c->burst = 32;
	c->rxd = 1024;
	c->txd = 1024;
	c->mbufs = 16383;
	c->punt_ring = 4096;
	c->table_buckets = 1024;
	c->table_max = 1u << 24;
	/* Peers bind each side a few times at the start (every 300 ms until
	 * answered) and renew with their keepalives: 10/s per relay, both
	 * sides together, is ample and bounds what a relay's key can draw. */
	c->relay_bind_rate = 10;
	c->relay_bind_burst = 20;
	c->rl_slots = 1u << 16;
	/* One source IP (maybe a carrier NAT with many users) may draw ~28
	 * full RFC 5780 answers at once and ~7 a second beyond their request
	 * size; past that only answers no larger than the request go out.
	 * The edge as a whole: 8 MB/s of excess bytes. */
	c->rl_src_bytes = 1024;
	c->rl_src_bytes_rate = 256;
	c->rl_src_pkts = 256;
	c->rl_src_pkts_rate = 128;
	c->rl_glob_bytes = 8u << 20;
	c->rl_glob_bytes_rate = 8u << 20;
	/* RFC 5780 PADDING tests send ~1.5 KB requests in two fragments,
	 * retransmitted after 500 ms (RFC 8489 RTO): a train not whole within
	 * a second is dead. 256 x 9 KB = 2.3 MB per lcore. */
	c->frag_slots = 256;
	c->frag_max_size = 9000;
	c->frag_max_frags = 32;
	c->frag_timeout_ms = 1000;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int dp_conf_check(const struct dp_conf *c, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (c->addr.family == RV_AF_NONE)
		bad = "'addr' is required (the primary public IPv4 address)";
	else if (c->alt_addr.family == RV_AF_NONE)
		bad = "'alt-addr' is required (the alternate public IPv4 address)";
	else if (c->addr.family != RV_AF_INET || c->alt_addr.family != RV_AF_INET)
		bad = "'addr' and 'alt-addr' must be IPv4";
	else if (rv_addr_ip_eq(&c->addr, &c->alt_addr))
		bad = "'addr' and 'alt-addr' must differ";
	else if (c->port == c->alt_port)
		bad = "'port' and 'alt-port' must differ";
	else if (!c->control[0])
		bad = "'control' must name a socket path";
	else if (!pow2(c->punt_ring))
		bad = "'punt-ring' must be a power of two";
	else if (!pow2(c->table_buckets) || !pow2(c->table_max) || c->table_buckets > c->table_max)
		bad = "'table-buckets' and 'table-max' must be powers of two, buckets <= max";
	else if (!pow2(c->rl_slots))
		bad = "'rl-slots' must be a power of two";
	else if (c->frag_slots && (!pow2(c->frag_slots) || c->frag_slots < 4))
		bad = "'frag-slots' must be 0 or a power of two >= 4";
	else if (c->mac[0]) {
		uint8_t mac[6];
		if (dp_conf_mac(c->mac, mac) < 0)
			bad = "'mac' must look like 02:00:00:00:00:01";
	}
	if (!bad)
		return 0;
	snprintf(err, errlen, "%s", bad);
	return -EINVAL;
}

int dp_conf_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	           &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}
