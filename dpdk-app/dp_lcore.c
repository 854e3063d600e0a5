/* dp_lcore.c — the datapath poll loop (STYLE.md, "The dataplane loop"):
 * burst in, handle each packet in place, one tx_burst, free the unsent,
 * one quiescent state per loop. No syscalls, locks, allocation or logs. */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <urcu-qsbr.h>

#include "dp_app.h"
#include "proto/stun.h"

#define MAX_BURST 256
/* Empty polls before an idle lcore starts sleeping (--idle-sleep-us). */
#define IDLE_POLLS 64

int dp_lcore_main(void *arg)
{
	struct dp_lcore *l = arg;
	struct dp_app *app = l->app;
	struct rte_mbuf *rx[MAX_BURST], *txq[MAX_BURST * 2], *drops[MAX_BURST];
	struct dp_pkt_ctx ctx = { .addrs = &app->addrs,
		                  .rl = l->rl,
		                  .table = app->table,
		                  .mtu = app->conf.mtu,
		                  .crc32 = dp_crc32,
		                  .ctr = l->ctr };
	uint16_t burst = app->conf.burst;
	unsigned idle = 0;

	urcu_qsbr_register_thread();
	while (!app->quit) {
		uint16_t n = rte_eth_rx_burst(l->port, l->queue, rx, burst);
		unsigned ntx = 0, ndrop = 0, sent;

		if (n) {
			uint64_t tsc = rte_rdtsc();

			ctx.now_us = dp_app_us(app, tsc);
			ctx.now_ms = dp_app_ms(app, tsc);
			l->last_rx_tsc = tsc;
			idle = 0;
		}
		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *m = rx[i];
			struct dp_punt_info punt;
			uint16_t len = rte_pktmbuf_data_len(m);
			uint16_t cap = (uint16_t)(len + rte_pktmbuf_tailroom(m));
			enum dp_verdict v;

			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
			/* Chained mbufs (jumbo) are never STUN we answer. */
			if (m->nb_segs != 1) {
				l->ctr[DP_C_RX]++;
				l->ctr[DP_C_BYTES_IN] += rte_pktmbuf_pkt_len(m);
				l->ctr[DP_C_DROP_TOO_BIG]++;
				drops[ndrop++] = m;
				continue;
			}
			ctx.l4_csum_ok = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
			                 RTE_MBUF_F_RX_L4_CKSUM_GOOD;
			v = dp_pkt_handle(&ctx, rte_pktmbuf_mtod(m, uint8_t *), &len, cap, &punt);
			if (v == DP_TX) {
				m->data_len = len;
				m->pkt_len = len;
				m->ol_flags = 0;
				txq[ntx++] = m;
			} else if (v == DP_PUNT) {
				if (rte_ring_mp_enqueue(app->punt_ring, m) != 0) {
					/* Re-file the outcome: it did not get punted. */
					l->ctr[DP_C_PUNT]--;
					l->ctr[DP_C_DROP_PUNT_FULL]++;
					drops[ndrop++] = m;
				}
			} else {
				drops[ndrop++] = m;
			}
		}
		/* Frames the control thread built (rvcontrol's SENDs). */
		ntx += rte_ring_sc_dequeue_burst(l->tx_ring, (void **)&txq[ntx], MAX_BURST, NULL);
		if (ntx) {
			sent = rte_eth_tx_burst(l->port, l->queue, txq, (uint16_t)ntx);
			if (sent < ntx) {
				l->ctr[DP_C_DROP_TX_FULL] += ntx - sent;
				rte_pktmbuf_free_bulk(&txq[sent], ntx - sent);
			}
		}
		if (ndrop)
			rte_pktmbuf_free_bulk(drops, ndrop);
		urcu_qsbr_quiescent_state();
		if (!n && app->conf.idle_sleep_us && ++idle > IDLE_POLLS) {
			/* Offline before blocking: the writer must not wait on us. */
			urcu_qsbr_thread_offline();
			rte_delay_us_sleep(app->conf.idle_sleep_us);
			urcu_qsbr_thread_online();
		}
	}
	urcu_qsbr_unregister_thread();
	return 0;
}
