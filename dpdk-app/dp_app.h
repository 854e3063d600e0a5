/* dp_app.h — rvdp's running state, shared by the lcore loop, the control
 * thread and main.c. The tree says which thread touches what:
 *   - struct dp_lcore: owned by its lcore; counters read (racily, they are
 *     monotonic u64) by the control and telemetry threads;
 *   - struct dp_app: written by main.c before the lcores start, read-only
 *     afterwards except `quit`, the rings, the tables (RCU) and the control
 *     thread's own counters.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dpdk-app/dp_conf.h"
#include "dpdk-app/dp_frag.h"
#include "dpdk-app/dp_pkt.h"
#include "dpdk-app/dp_relay.h"
#include "dpdk-app/dp_rl.h"
#include "dpdk-app/dp_table.h"

#define DP_MAX_LCORES 64

/* One element of the lcore -> control thread ring (MP/SC, 16 bytes): a
 * punted frame, or a relay bind an lcore verified, carried whole so the
 * lcore allocates nothing for it. */
enum dp_ctl_msg_type {
	DP_MSG_PUNT = 1, /* m: the frame (dp_pkt_handle said DP_PUNT) */
	DP_MSG_BIND,     /* relay's side is at ip:port (DP_BIND) */
};

struct dp_ctl_msg {
	uint8_t type;
	uint8_t side;
	uint16_t port;
	uint32_t ip; /* IPv4, host byte order */
	union {
		struct rte_mbuf *m;
		uint64_t relay;
	};
};
_Static_assert(sizeof(struct dp_ctl_msg) == 16, "a ring element is 16 bytes");

struct dp_app;

struct dp_lcore {
	struct dp_app *app;
	unsigned lcore_id;
	uint16_t port;
	uint16_t queue;
	struct dp_rl *rl;
	struct rv_frag *frag;          /* reassembly table (NULL: --frag-slots 0) */
	uint16_t ip_id;                /* IP ID of the next fragmented answer */
	struct rte_ring *tx_ring;      /* control thread -> this lcore (SP/SC) */
	volatile uint64_t last_rx_tsc; /* for --max-idle-ms */
	uint64_t ctr[DP_C_COUNT] __rte_cache_aligned;
} __rte_cache_aligned;

struct dp_app {
	struct dp_conf conf;
	struct dp_addrs addrs;
	uint16_t port;
	uint16_t nb_queues;
	struct rte_mempool *pool;
	struct rte_ring *punt_ring; /* lcores -> control thread (MP/SC), dp_ctl_msg */
	struct dp_table *table;
	struct dp_relays *relays;
	unsigned n_lcores;
	struct dp_lcore lcores[DP_MAX_LCORES];
	uint64_t tsc_hz;
	uint64_t tsc0;     /* rte_rdtsc() at start */
	uint64_t unix_ms0; /* wall clock at tsc0 */
	volatile bool quit;
	/* Control-thread counters (not per lcore). */
	uint64_t punt_sent, punt_no_control, send_ok, send_bad, ctl_msgs, ctl_bad;
	uint64_t relay_bound, relay_rebound, relay_bind_gone; /* binds applied / too late */
};

/* Milliseconds of wall clock for a TSC reading (no syscall).
 * Context: any. */
static inline uint64_t dp_app_ms(const struct dp_app *app, uint64_t tsc)
{
	return app->unix_ms0 + (tsc - app->tsc0) * 1000 / app->tsc_hz;
}

/* Microseconds since start for a TSC reading.  Context: any. */
static inline uint64_t dp_app_us(const struct dp_app *app, uint64_t tsc)
{
	return (tsc - app->tsc0) * 1000000 / app->tsc_hz;
}

/* Configure and start the ethdev with one RX/TX queue pair per datapath
 * lcore (RSS when several), the mempool and the rings. Returns 0 or a
 * negative errno with err filled.  Context: main, before the lcores. */
int dp_port_setup(struct dp_app *app, char *err, size_t errlen);

/* Stop and close the port.  Context: main, after the lcores stopped. */
void dp_port_close(struct dp_app *app);

/* The datapath poll loop (rte_eal_remote_launch entry); arg is the
 * struct dp_lcore.  Context: lcore. */
int dp_lcore_main(void *arg);

/* The control loop on the main lcore: rvcontrol's socket, punted packets
 * and relay binds, table writes, expiry, --max-idle-ms. Returns when app->quit is set.
 * Context: main lcore (registered QSBR thread). */
int dp_ctl_run(struct dp_app *app);

/* Sum of one counter over every lcore.  Context: any. */
uint64_t dp_app_counter(const struct dp_app *app, enum dp_ctr c);

/* CRC-32 for FINGERPRINT on the fast path: rte_net_crc (PCLMUL/SSE4.2),
 * the same polynomial as proto's rv_crc32. dp_crc_init() picks the
 * implementation once.  Context: any. */
void dp_crc_init(void);
uint32_t dp_crc32(const void *p, size_t n);

/* Register /rvdp/stats with DPDK telemetry.  Context: main, at start. */
int dp_stats_register(struct dp_app *app);

/* The exit report: every non-zero counter, human or JSON.  Context: main. */
void dp_stats_print(const struct dp_app *app, FILE *out, bool json);
