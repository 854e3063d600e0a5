/* gen_eth.c — rvgen's port and trial loop (gen_eth.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "dpdk-app/gen_conf.h"
#include "dpdk-app/gen_eth.h"

#define RX_BURST 64

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, rte_strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -rc;
}

/* Start the port and wait up to a second (or until) for its link. */
static bool link_up(struct gen_eth *g, uint16_t port, uint64_t until, char *err, size_t errlen)
{
	uint64_t hz = rte_get_timer_hz(), t;
	struct rte_eth_link link;
	int rc;

	rc = rte_eth_dev_start(port);
	if (rc < 0) {
		fail(err, errlen, rc, "rte_eth_dev_start (is the other side up?)");
		rte_delay_us_sleep(50000);
		return false;
	}
	g->started = true;
	rc = rte_eth_promiscuous_enable(port);
	if (rc < 0 && rc != -ENOTSUP) {
		fail(err, errlen, rc, "rte_eth_promiscuous_enable");
		return false;
	}
	t = RTE_MIN(rte_get_timer_cycles() + hz, until);
	do {
		if (rte_eth_link_get_nowait(port, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return true;
		rte_delay_us_sleep(10000);
	} while (rte_get_timer_cycles() < t && !*g->quit);
	snprintf(err, errlen,
	         "port %u: link down (is the other side — rvdp, dpdk-testpmd — running on the "
	         "same link?)",
	         port);
	return false;
}

int gen_eth_port(struct gen_eth *g, uint16_t port, uint32_t mbufs, uint16_t rxd, uint16_t txd,
                 uint32_t link_wait_ms, char *err, size_t errlen)
{
	struct rte_eth_conf pconf;
	uint64_t until;
	int socket, rc;

	if (!rte_eth_dev_is_valid_port(port)) {
		snprintf(err, errlen, "no DPDK port %u (give one with --vdev, e.g. net_memif0)",
		         port);
		return -ENODEV;
	}
	g->port = port;
	socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	g->pool = rte_pktmbuf_pool_create("rvgen_pool", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
	                                  socket);
	if (!g->pool)
		return fail(err, errlen, rte_errno, "mbuf pool (try a larger -m or fewer --mbufs)");
	memset(&pconf, 0, sizeof(pconf));
	rc = rte_eth_dev_configure(port, 1, 1, &pconf);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_dev_configure");
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_dev_adjust_nb_rx_tx_desc");
	rc = rte_eth_rx_queue_setup(port, 0, rxd, (unsigned)socket, NULL, g->pool);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_rx_queue_setup");
	rc = rte_eth_tx_queue_setup(port, 0, txd, (unsigned)socket, NULL);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_tx_queue_setup");
	until = rte_get_timer_cycles() + link_wait_ms * rte_get_timer_hz() / 1000;
	/* A memif server not ready when the client connects leaves the link
	 * down for good: start again after a second without a link. */
	while (!link_up(g, port, until, err, errlen)) {
		if (rte_get_timer_cycles() >= until || *g->quit)
			return g->started ? -ENOLINK : -EIO;
		if (g->started)
			(void)rte_eth_dev_stop(port);
		g->started = false;
	}
	return 0;
}

int gen_eth_templates(struct gen_eth *g, const struct gen_pcap *pcap, const struct gen_src *src)
{
	uint32_t n_keyed = 0;

	g->pcap = pcap;
	g->src = src;
	g->info = calloc(pcap->n, sizeof(*g->info));
	g->last_tx = calloc(pcap->n, sizeof(*g->last_tx));
	if (!g->info || !g->last_tx)
		return -ENOMEM;
	for (uint32_t i = 0; i < pcap->n; i++) {
		gen_frame_inspect(pcap->buf + pcap->off[i], pcap->len[i], &g->info[i]);
		n_keyed += g->info[i].kind == GEN_K_KEYED;
		g->stamped += g->info[i].kind == GEN_K_STAMP;
	}
	if (gen_txid_map_init(&g->keyed, n_keyed) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < pcap->n; i++) {
		const struct gen_frame_info *fi = &g->info[i];

		/* A repeated ID stays with its first template: counted, not timed. */
		if (fi->kind == GEN_K_KEYED &&
		    gen_txid_map_add(&g->keyed, pcap->buf + pcap->off[i] + fi->stun + 8, i) == 0)
			g->n_keyed++;
	}
	return 0;
}

/* Copy k templates into fresh mbufs at m[]; packet j of the trial is due
 * at due(j). Returns how many it made (0 when the pool is empty). */
static unsigned make(struct gen_eth *g, struct rte_mbuf **m, unsigned k, uint64_t first,
                     uint64_t t0, double ticks_per_pkt, uint64_t now)
{
	const struct gen_pcap *p = g->pcap;

	if (rte_pktmbuf_alloc_bulk(g->pool, m, k) != 0)
		return 0;
	for (unsigned i = 0; i < k; i++) {
		uint32_t idx = g->next;
		const struct gen_frame_info *fi = &g->info[idx];
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);
		uint64_t due = ticks_per_pkt > 0
		                       ? t0 + (uint64_t)((double)(first + i) * ticks_per_pkt)
		                       : now;

		g->next = idx + 1 == p->n ? 0 : idx + 1;
		rte_memcpy(d, p->buf + p->off[idx], p->len[idx]);
		m[i]->data_len = p->len[idx];
		m[i]->pkt_len = p->len[idx];
		if (g->src->flows && fi->l4) {
			uint32_t ip;
			uint16_t port;

			gen_src_next(g->src, &g->src_it, &ip, &port);
			gen_frame_set_src(d, fi, ip, port);
		}
		if (fi->kind == GEN_K_STAMP)
			gen_frame_stamp(d, fi, due);
		else if (fi->kind == GEN_K_KEYED)
			g->last_tx[idx] = due;
	}
	return k;
}

/* Receive one burst: count, time what carries a stamp or a keyed ID. The
 * keyed lookups miss the caches (a scenario has 100 Ks of IDs), so they go
 * in three passes that prefetch the map slot, then the send time. */
static void receive(struct gen_eth *g, struct gen_result *r, struct gen_hist *h)
{
	struct rte_mbuf *rx[RX_BURST];
	const uint8_t *id[RX_BURST];
	uint32_t slot[RX_BURST];
	int64_t idx[RX_BURST];
	uint16_t n = rte_eth_rx_burst(g->port, 0, rx, RX_BURST);
	uint64_t now, t;

	if (!n)
		return;
	now = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
		r->rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
		id[i] = gen_frame_txid(rte_pktmbuf_mtod(rx[i], const uint8_t *),
		                       rte_pktmbuf_data_len(rx[i]));
		idx[i] = -1;
		if (id[i] && gen_txid_stamp(id[i], &t)) {
			gen_hist_add(h, now > t ? now - t : 0);
			id[i] = NULL;
		} else if (id[i]) {
			slot[i] = gen_txid_map_slot(&g->keyed, id[i]);
			rte_prefetch0(&g->keyed.slots[slot[i]]);
		}
	}
	for (uint16_t i = 0; i < n; i++)
		if (id[i] && (idx[i] = gen_txid_map_find_at(&g->keyed, id[i], slot[i])) >= 0)
			rte_prefetch0(&g->last_tx[idx[i]]);
	for (uint16_t i = 0; i < n; i++)
		if (idx[i] >= 0)
			gen_hist_add(h, now - g->last_tx[idx[i]]);
	r->answered += n;
	rte_pktmbuf_free_bulk(rx, n);
}

int gen_eth_trial(struct gen_eth *g, double rate, double secs, double drain_secs,
                  struct gen_result *r, struct gen_hist *h)
{
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc(), now = t0;
	uint64_t end = t0 + (uint64_t)(secs * (double)hz);
	double per_tick = rate / (double)hz, ticks_per_pkt = rate > 0 ? (double)hz / rate : 0;
	struct rte_mbuf *tx[GEN_MAX_BURST];
	unsigned pending = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	gen_hist_reset(h);
	r->rate = rate;
	while (now < end) {
		unsigned want = g->burst, made, sent;

		if (*g->quit) {
			rc = -EINTR;
			break;
		}
		if (rate > 0) {
			uint64_t due = (uint64_t)((double)(now - t0) * per_tick);

			want = due > r->offered ? (unsigned)RTE_MIN(due - r->offered, g->burst) : 0;
		}
		if (want > pending) {
			made = make(g, tx + pending, want - pending, r->offered, t0, ticks_per_pkt,
			            now);
			if (!made)
				r->no_mbuf += want - pending;
			r->offered += made;
			pending += made;
		}
		if (pending) {
			sent = rte_eth_tx_burst(g->port, 0, tx, (uint16_t)pending);
			for (unsigned i = 0; i < sent; i++)
				r->tx_bytes += rte_pktmbuf_pkt_len(tx[i]);
			r->sent += sent;
			pending -= sent;
			r->refused += pending; /* the link pushed back */
			if (pending && rate > 0) {
				rte_pktmbuf_free_bulk(tx + sent, pending);
				pending = 0;
			} else if (pending) {
				memmove(tx, tx + sent, pending * sizeof(*tx));
			}
		}
		receive(g, r, h);
		now = rte_rdtsc();
	}
	if (pending) {
		r->offered -= pending; /* made, never offered to the link */
		rte_pktmbuf_free_bulk(tx, pending);
	}
	r->secs = (double)(now - t0) / (double)hz;
	end = now + (uint64_t)(drain_secs * (double)hz);
	while (rte_rdtsc() < end && !*g->quit)
		receive(g, r, h);
	gen_result_latency(r, h, (double)hz);
	return rc;
}

/* Receive and free whatever came back; how many. */
static uint64_t rx_count(struct gen_eth *g)
{
	struct rte_mbuf *rx[RX_BURST];
	uint16_t n = rte_eth_rx_burst(g->port, 0, rx, RX_BURST);

	rte_pktmbuf_free_bulk(rx, n);
	return n;
}

/* One pass over pro: a burst a millisecond (rvdp hands binds to its
 * control thread over a bounded ring), receiving meanwhile. */
static uint64_t prologue_pass(struct gen_eth *g, const struct gen_pcap *pro)
{
	uint64_t ms = rte_get_tsc_hz() / 1000, answered = 0;
	struct rte_mbuf *tx[GEN_MAX_BURST];

	for (uint32_t i = 0; i < pro->n && !*g->quit;) {
		unsigned k = RTE_MIN(g->burst, pro->n - i), sent = 0;
		uint64_t next = rte_rdtsc() + ms;

		if (rte_pktmbuf_alloc_bulk(g->pool, tx, k) != 0)
			break;
		for (unsigned j = 0; j < k; j++) {
			rte_memcpy(rte_pktmbuf_mtod(tx[j], uint8_t *), pro->buf + pro->off[i + j],
			           pro->len[i + j]);
			tx[j]->data_len = tx[j]->pkt_len = pro->len[i + j];
		}
		while (sent < k && !*g->quit) {
			sent += rte_eth_tx_burst(g->port, 0, tx + sent, (uint16_t)(k - sent));
			answered += rx_count(g);
		}
		if (sent < k)
			rte_pktmbuf_free_bulk(tx + sent, k - sent);
		i += k;
		while (rte_rdtsc() < next)
			answered += rx_count(g);
	}
	return answered;
}

uint64_t gen_eth_prologue(struct gen_eth *g, const struct gen_pcap *pro)
{
	uint64_t hz = rte_get_tsc_hz(), answered = 0, end;

	for (int pass = 0; pass < 3 && answered < pro->n && !*g->quit; pass++) {
		answered += prologue_pass(g, pro);
		end = rte_rdtsc() + hz / 2;
		while (answered < pro->n && rte_rdtsc() < end && !*g->quit)
			answered += rx_count(g);
	}
	end = rte_rdtsc() + hz / 10;
	while (rte_rdtsc() < end && !*g->quit)
		answered += rx_count(g);
	return answered;
}

void gen_eth_close(struct gen_eth *g)
{
	if (g->started)
		(void)rte_eth_dev_stop(g->port);
	if (g->pool)
		(void)rte_eth_dev_close(g->port);
	gen_txid_map_free(&g->keyed);
	free(g->info);
	free(g->last_tx);
	g->info = NULL;
	g->last_tx = NULL;
}
