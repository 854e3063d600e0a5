/* dp_conf.h — rvdp's settings: one option table for flags, the config
 * file and --help (proto/conf.h), plus the checks that need several keys.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proto/conf.h"
#include "proto/rv_addr.h"

struct dp_conf {
	struct rv_addr addr;     /* primary public IPv4 (port ignored) */
	struct rv_addr alt_addr; /* alternate public IPv4 (RFC 5780) */
	uint16_t port, alt_port; /* STUN ports: 3478 / 3479 */
	char control[108];       /* Unix socket rvcontrol connects to */
	char mac[18];            /* answer as this MAC instead of the port's */
	uint16_t ethdev;         /* DPDK port id */
	uint32_t max_idle_ms;    /* exit after this long without a packet (0: never) */
	uint32_t idle_sleep_us;  /* sleep this long when idle (0: busy poll) */
	uint16_t mtu;
	uint16_t burst;
	uint16_t rxd, txd;
	uint32_t mbufs;
	uint32_t punt_ring;     /* lcore -> control thread ring size */
	uint32_t table_buckets; /* sessions table: initial buckets */
	uint32_t table_max;     /* ... maximum buckets (the relay tables' too) */
	uint32_t relay_bind_rate, relay_bind_burst; /* binding probes per relay */
	bool rl_off; /* no anti-amplification budgets (benchmarks only) */
	uint32_t rl_slots;
	uint32_t rl_src_bytes, rl_src_bytes_rate;
	uint32_t rl_src_pkts, rl_src_pkts_rate;
	uint64_t rl_glob_bytes, rl_glob_bytes_rate;
	uint32_t frag_slots;      /* reassembly trains per lcore (0: drop fragments) */
	uint32_t frag_max_size;   /* largest datagram reassembled or answer fragmented */
	uint32_t frag_max_frags;  /* most pieces per datagram */
	uint32_t frag_timeout_ms; /* a train's life from its first piece */

	bool json; /* exit report as JSON */
	bool verbose;
};

/* The option table (ends with RV_OPT_END).  Context: any. */
extern const struct rv_opt dp_conf_opts[];

/* Defaults: ports 3478/3479, control socket /run/rvdp.sock, MTU 1500,
 * bursts of 32, budgets sized for a public edge, 256 reassembly trains of
 * up to 9000 bytes per lcore.  Context: pure. */
void dp_conf_defaults(struct dp_conf *c);

/* Checks across keys after parsing: both addresses set, IPv4, distinct,
 * ports distinct, power-of-two sizes (frag-slots: 0 or >= 4). err names
 * the key. Returns 0 or -EINVAL.  Context: pure. */
int dp_conf_check(const struct dp_conf *c, char *err, size_t errlen);

/* Parse "02:00:00:00:00:01". Returns 0 or -EINVAL.  Context: pure. */
int dp_conf_mac(const char *s, uint8_t mac[6]);
