/* dp_port.c — ethdev, mempool and rings for rvdp (dp_app.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp_app.h"

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, rte_strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -rc;
}

int dp_port_setup(struct dp_app *app, char *err, size_t errlen)
{
	struct rte_eth_conf pconf;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t port = app->conf.ethdev, q, rxd = app->conf.rxd, txd = app->conf.txd;
	int socket, rc;

	if (!rte_eth_dev_is_valid_port(port)) {
		snprintf(err, errlen,
		         "'ethdev': no DPDK port %u (give one with --vdev or a PCI device)", port);
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port, &info);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_dev_info_get");
	app->port = port;
	/* One queue pair per datapath lcore, as far as the device goes. */
	q = RTE_MIN(info.max_rx_queues, info.max_tx_queues);
	app->nb_queues = (uint16_t)RTE_MIN(app->n_lcores, (unsigned)q);
	if (app->nb_queues == 0) {
		snprintf(err, errlen, "port %u has no queues", port);
		return -ENODEV;
	}
	/* A queue is polled by exactly one lcore: extra lcores stay idle. */
	app->n_lcores = app->nb_queues;
	memset(&pconf, 0, sizeof(pconf));
	if (app->nb_queues > 1) {
		pconf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pconf.rx_adv_conf.rss_conf.rss_hf =
		        (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		pconf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	rc = rte_eth_dev_configure(port, app->nb_queues, app->nb_queues, &pconf);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_dev_configure");
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_dev_adjust_nb_rx_tx_desc");
	socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	app->pool = rte_pktmbuf_pool_create("rvdp_pool", app->conf.mbufs, 256, 0,
	                                    RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!app->pool)
		return fail(err, errlen, rte_errno, "mbuf pool (try a larger -m or fewer --mbufs)");
	for (q = 0; q < app->nb_queues; q++) {
		struct rte_eth_txconf txc = info.default_txconf;

		txc.offloads = pconf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(port, q, rxd, (unsigned)socket, NULL, app->pool);
		if (rc < 0)
			return fail(err, errlen, rc, "rte_eth_rx_queue_setup");
		rc = rte_eth_tx_queue_setup(port, q, txd, (unsigned)socket, &txc);
		if (rc < 0)
			return fail(err, errlen, rc, "rte_eth_tx_queue_setup");
	}
	if (app->conf.mac[0]) {
		dp_conf_mac(app->conf.mac, app->addrs.mac);
		/* Best effort: taps and NICs take it, pcap/af_packet may not. */
		memcpy(mac.addr_bytes, app->addrs.mac, 6);
		(void)rte_eth_dev_default_mac_addr_set(port, &mac);
	} else {
		rc = rte_eth_macaddr_get(port, &mac);
		if (rc < 0)
			return fail(err, errlen, rc, "rte_eth_macaddr_get");
		memcpy(app->addrs.mac, mac.addr_bytes, 6);
	}
	app->punt_ring = rte_ring_create_elem("rvdp_punt", sizeof(struct dp_ctl_msg),
	                                      app->conf.punt_ring, socket, RING_F_SC_DEQ);
	if (!app->punt_ring)
		return fail(err, errlen, rte_errno, "punt ring");
	for (unsigned i = 0; i < app->n_lcores; i++) {
		struct dp_lcore *l = &app->lcores[i];
		char name[RTE_RING_NAMESIZE];

		l->port = port;
		l->queue = (uint16_t)i;
		snprintf(name, sizeof(name), "rvdp_tx%u", i);
		l->tx_ring = rte_ring_create(name, 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!l->tx_ring)
			return fail(err, errlen, rte_errno, "tx ring");
	}
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		return fail(err, errlen, rc, "rte_eth_dev_start");
	return 0;
}

void dp_port_close(struct dp_app *app)
{
	(void)rte_eth_dev_stop(app->port);
	(void)rte_eth_dev_close(app->port);
}
