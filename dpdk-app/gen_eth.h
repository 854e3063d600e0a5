/* gen_eth.h — rvgen on an ethdev: the port, the templates, and one trial.
 *
 * One lcore does everything (the machine gives the generator one core):
 * each loop copies a burst of templates into mbufs, rewrites their sources
 * and stamps them, one tx_burst, then one rx_burst of answers timed and
 * freed. No syscalls, locks, allocation or logs in the loop; the pacing
 * is by TSC. Stamps carry the time a packet was due, not when the loop got
 * to it, so a late loop shows as latency (no coordinated omission).
 *
 * At full speed a burst the link refuses waits for the next loop (memif
 * pushes back instead of dropping); at a set rate it is counted as offered
 * and not sent, like a frame a NIC's full ring drops.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "dpdk-app/gen_hist.h"
#include "dpdk-app/gen_pcap.h"
#include "dpdk-app/gen_pkt.h"
#include "dpdk-app/gen_report.h"
#include "dpdk-app/gen_txid.h"

struct gen_eth {
	uint16_t port;
	uint16_t burst;
	struct rte_mempool *pool;
	const struct gen_pcap *pcap;
	struct gen_frame_info *info; /* per template */
	uint64_t *last_tx;           /* per template: last send (keyed timing) */
	struct gen_txid_map keyed;
	uint64_t stamped, n_keyed; /* template counts */
	const struct gen_src *src;
	struct gen_src_it src_it;
	uint32_t next; /* next template */
	bool started;
	volatile bool *quit;
};

/* Configure and start port with one queue pair and a pool of mbufs, in
 * promiscuous mode (answers go to the clients' MACs), then wait up to
 * link_wait_ms for the link. Returns 0 or a negative errno with err
 * filled.  Context: main, after EAL init. */
int gen_eth_port(struct gen_eth *g, uint16_t port, uint32_t mbufs, uint16_t rxd, uint16_t txd,
                 uint32_t link_wait_ms, char *err, size_t errlen);

/* Classify every template and index the keyed ones. Returns 0 or
 * -ENOMEM.  Context: main. */
int gen_eth_templates(struct gen_eth *g, const struct gen_pcap *pcap, const struct gen_src *src);

/* One trial: rate pps (0: full speed) for secs, then drain_secs more of
 * receiving. Fills r (latencies from h, which it resets). Returns 0, or
 * -EINTR when *quit was set (r holds what ran).  Context: the main lcore. */
int gen_eth_trial(struct gen_eth *g, double rate, double secs, double drain_secs,
                  struct gen_result *r, struct gen_hist *h);

/* Send every frame of pro once, as it is (no source rewrite, no stamp),
 * and wait for their answers: up to three passes until as many answers as
 * frames came back, then 100 ms more for what the frames set up (a relay
 * bind is applied by rvdp's control thread after it is answered). Returns
 * the answers received (the caller judges them).  Context: the main lcore,
 * after gen_eth_port and before the trials. */
uint64_t gen_eth_prologue(struct gen_eth *g, const struct gen_pcap *pro);

/* Stop and close the port, free the templates' index.  Context: main. */
void gen_eth_close(struct gen_eth *g);
