/* dp_lcore.c — the datapath poll loop (STYLE.md, "The dataplane loop"):
 * burst in, handle each packet in place, one tx_burst, free the unsent,
 * one quiescent state per loop. No syscalls, locks, allocation or logs.
 *
 * IPv4 fragments (dp_frag.h) are copied into this lcore's reassembly table
 * and their mbufs freed at once; a completed datagram is handled in the
 * table's buffer and its answer copied out. An answer above the MTU leaves
 * as several frames: the request's mbuf carries the first, the others come
 * from the pool (mempool cache, no lock).
 *
 * Punted frames and verified relay binds go to the control thread over
 * one ring of 16-byte messages (dp_ctl_msg): a bind is copied into its
 * element, never allocated. ChannelData is forwarded like an answer: the
 * frame dp_pkt rewrote leaves on this lcore's queue.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <urcu-qsbr.h>

#include "dp_app.h"
#include "proto/stun.h"

#define MAX_BURST 256
/* Room for a burst of answers, a ring's worth of SENDs and one answer's
 * fragments; fuller than TXQ_SIZE - MAX_BURST, the queue goes out early. */
#define TXQ_SIZE (MAX_BURST * 2 + RV_FRAG_MAX_OUT)
/* Empty polls before an idle lcore starts sleeping (--idle-sleep-us). */
#define IDLE_POLLS 64
/* Reassembly slots checked for expiry per loop. */
#define EXPIRE_PER_LOOP 8
#define ETH_LEN         14

struct txq {
	struct rte_mbuf *m[TXQ_SIZE];
	unsigned n;
};

static void txq_flush(struct dp_lcore *l, struct txq *q)
{
	unsigned sent;

	if (!q->n)
		return;
	sent = rte_eth_tx_burst(l->port, l->queue, q->m, (uint16_t)q->n);
	if (sent < q->n) {
		l->ctr[DP_C_DROP_TX_FULL] += q->n - sent;
		rte_pktmbuf_free_bulk(&q->m[sent], q->n - sent);
	}
	q->n = 0;
}

static void set_len(struct rte_mbuf *m, uint16_t len)
{
	m->data_len = len;
	m->pkt_len = len;
	m->ol_flags = 0;
}

/* Send the answer frame[0..len) (m's own data, or a reassembly buffer) as
 * one frame, or cut into fragments when it exceeds mtu. m is reused for
 * the first frame; on failure it is freed. dp_pkt counted len in BYTES_OUT;
 * the fragments' extra headers are added here. */
static void send_answer(struct dp_lcore *l, struct txq *q, struct rte_mbuf *m, const uint8_t *frame,
                        uint16_t len, uint16_t mtu)
{
	uint8_t *data = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t room = (uint16_t)(m->buf_len - m->data_off);
	unsigned k = rv_frag_count(len, ETH_LEN, mtu);
	struct rte_mbuf *more[RV_FRAG_MAX_OUT];
	uint64_t bytes = 0;
	int n;

	if (q->n + (k ? k : 1) > TXQ_SIZE - MAX_BURST)
		txq_flush(l, q);
	if (k == 1 && len <= room) {
		if (frame != data)
			memcpy(data, frame, len);
		set_len(m, len);
		q->m[q->n++] = m;
		return;
	}
	if (k < 2 || k > RV_FRAG_MAX_OUT) {
		l->ctr[DP_C_DROP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (rte_pktmbuf_alloc_bulk(l->app->pool, more, k - 1) != 0) {
		l->ctr[DP_C_DROP_NO_MBUF]++;
		rte_pktmbuf_free(m);
		return;
	}
	/* The others first: the first piece may be cut from frame in place. */
	for (unsigned i = 1; i < k; i++) {
		struct rte_mbuf *f = more[i - 1];

		n = rv_frag_split(frame, len, ETH_LEN, mtu, l->ip_id, i,
		                  rte_pktmbuf_mtod(f, uint8_t *), rte_pktmbuf_tailroom(f));
		if (n < 0)
			goto fail;
		set_len(f, (uint16_t)n);
		bytes += (uint64_t)n;
	}
	n = rv_frag_split(frame, len, ETH_LEN, mtu, l->ip_id, 0, data, room);
	if (n < 0)
		goto fail;
	set_len(m, (uint16_t)n);
	bytes += (uint64_t)n;
	q->m[q->n++] = m;
	for (unsigned i = 1; i < k; i++)
		q->m[q->n++] = more[i - 1];
	l->ip_id++;
	l->ctr[DP_C_TX_FRAGMENTED]++;
	l->ctr[DP_C_BYTES_OUT] += bytes - len;
	return;
fail:
	/* Not reached with dp_pkt's frames; counted, never a leak. */
	l->ctr[DP_C_DROP_TOO_BIG]++;
	rte_pktmbuf_free_bulk(more, k - 1);
	rte_pktmbuf_free(m);
}

static bool to_ctl(struct dp_app *app, struct dp_ctl_msg *msg)
{
	return rte_ring_mp_enqueue_elem(app->punt_ring, msg, sizeof(*msg)) == 0;
}

/* A frame for rvcontrol; on a full ring, its outcome is re-filed. */
static bool punt_frame(struct dp_lcore *l, struct rte_mbuf *m)
{
	struct dp_ctl_msg msg = { .type = DP_MSG_PUNT, .m = m };

	if (to_ctl(l->app, &msg))
		return true;
	l->ctr[DP_C_PUNT]--;
	l->ctr[DP_C_DROP_PUNT_FULL]++;
	return false;
}

/* A verified relay bind goes to the control thread before its answer
 * leaves: with the ring full, neither happens (the outcome is re-filed,
 * the peer binds again). Returns the verdict to carry out. */
static enum dp_verdict hand_bind(struct dp_lcore *l, const struct dp_punt_info *p, uint16_t len)
{
	struct dp_ctl_msg msg = { .type = DP_MSG_BIND,
		                  .side = p->side,
		                  .port = p->src.port,
		                  .ip = rv_addr_v4_host(&p->src),
		                  .relay = p->relay };

	if (to_ctl(l->app, &msg))
		return DP_TX;
	l->ctr[DP_C_TX_RELAY_BIND]--;
	l->ctr[DP_C_BYTES_OUT] -= len;
	l->ctr[DP_C_DROP_PUNT_FULL]++;
	return DP_DROP;
}

/* A fragment: into the table; when it completes the datagram, handle that
 * and send or punt the outcome with m. Frees m otherwise. */
static void fragment(struct dp_lcore *l, const struct dp_pkt_ctx *ctx, struct txq *q,
                     struct rte_mbuf *m, uint16_t len, uint16_t mtu, struct rte_mbuf **drops,
                     unsigned *ndrop)
{
	struct rv_frag_res dg;
	struct dp_punt_info punt;
	enum dp_verdict v;

	if (dp_frag_input(l->frag, rte_pktmbuf_mtod(m, uint8_t *), len, ctx->now_us / 1000, l->ctr,
	                  &dg) != RV_FRAG_DONE) {
		drops[(*ndrop)++] = m;
		return;
	}
	v = dp_pkt_handle_reassembled(ctx, dg.pkt, &dg.len, dg.cap, &punt);
	if (v == DP_BIND)
		v = hand_bind(l, &punt, dg.len);
	if (v == DP_TX) {
		send_answer(l, q, m, dg.pkt, dg.len, mtu);
		return;
	}
	if (v == DP_PUNT) {
		if (dg.len <= m->buf_len - m->data_off) {
			memcpy(rte_pktmbuf_mtod(m, uint8_t *), dg.pkt, dg.len);
			set_len(m, dg.len);
			if (punt_frame(l, m))
				return;
		} else {
			l->ctr[DP_C_PUNT]--; /* re-filed: it did not get punted */
			l->ctr[DP_C_DROP_TOO_BIG]++;
		}
	}
	drops[(*ndrop)++] = m;
}

/* Before a burst is handled, its probes' session lookups run in steps
 * across the whole burst (dp_table.h, "Prefetching"), so their cache
 * misses overlap instead of stalling one probe after another. */
static void prefetch_probes(struct dp_table *t, struct rte_mbuf **rx, uint16_t n)
{
	uint64_t sid[MAX_BURST];
	struct dp_pf pf[MAX_BURST];
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (rx[i]->nb_segs == 1 &&
		    dp_pkt_probe_session(rte_pktmbuf_mtod(rx[i], const uint8_t *),
		                         rte_pktmbuf_data_len(rx[i]), &sid[k])) {
			dp_table_pf_line(t, sid[k], &pf[k]);
			k++;
		}
	}
	for (uint16_t i = 0; i < k; i++)
		dp_table_pf_node(t, sid[i], &pf[i]);
	for (uint16_t i = 0; i < k; i++)
		dp_table_pf_ring(&pf[i]);
}

int dp_lcore_main(void *arg)
{
	struct dp_lcore *l = arg;
	struct dp_app *app = l->app;
	struct rte_mbuf *rx[MAX_BURST], *drops[MAX_BURST];
	struct txq q = { .n = 0 };
	/* An answer frame must fit one mbuf: past that, fragment sooner. */
	uint16_t mtu =
	        (uint16_t)RTE_MIN((unsigned)app->conf.mtu, rte_pktmbuf_data_room_size(app->pool) -
	                                                           RTE_PKTMBUF_HEADROOM - 14u);
	struct dp_pkt_ctx ctx = { .addrs = &app->addrs,
		                  .rl = l->rl,
		                  .table = app->table,
		                  .relays = app->relays,
		                  .mtu = mtu,
		                  .max_answer = (uint16_t)app->conf.frag_max_size,
		                  .reassembly = l->frag != NULL,
		                  .crc32 = dp_crc32,
		                  .ctr = l->ctr };
	uint16_t burst = app->conf.burst;
	unsigned idle = 0;

	urcu_qsbr_register_thread();
	while (!app->quit) {
		uint16_t n = rte_eth_rx_burst(l->port, l->queue, rx, burst);
		unsigned ndrop = 0;

		if (n) {
			uint64_t tsc = rte_rdtsc();

			ctx.now_us = dp_app_us(app, tsc);
			ctx.now_ms = dp_app_ms(app, tsc);
			l->last_rx_tsc = tsc;
			idle = 0;
			if (app->table)
				prefetch_probes(app->table, rx, n);
		}
		for (uint16_t i = 0; i < n; i++) {
			struct rte_mbuf *m = rx[i];
			struct dp_punt_info punt;
			uint16_t len = rte_pktmbuf_data_len(m);
			uint16_t cap = (uint16_t)(len + rte_pktmbuf_tailroom(m));
			uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
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
			v = dp_pkt_handle(&ctx, frame, &len, cap, &punt);
			if (v == DP_BIND)
				v = hand_bind(l, &punt, len);
			if (v == DP_TX) {
				send_answer(l, &q, m, frame, len, mtu);
			} else if (v == DP_FRAG) {
				fragment(l, &ctx, &q, m, len, mtu, drops, &ndrop);
			} else if (v == DP_PUNT) {
				if (!punt_frame(l, m))
					drops[ndrop++] = m;
			} else {
				drops[ndrop++] = m;
			}
		}
		/* Frames the control thread built (rvcontrol's SENDs). */
		q.n += rte_ring_sc_dequeue_burst(l->tx_ring, (void **)&q.m[q.n], MAX_BURST, NULL);
		txq_flush(l, &q);
		if (ndrop)
			rte_pktmbuf_free_bulk(drops, ndrop);
		if (l->frag && rv_frag_live(l->frag))
			dp_frag_expire(l->frag, dp_app_us(app, rte_rdtsc()) / 1000, EXPIRE_PER_LOOP,
			               l->ctr);
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
