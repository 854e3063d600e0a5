/* dp_crc.c — FINGERPRINT's CRC-32 via DPDK's accelerated rte_net_crc. */
#include <rte_net_crc.h>

#include "dp_app.h"

void dp_crc_init(void)
{
	/* Falls back by itself when the CPU lacks the instructions. */
	rte_net_crc_set_alg(RTE_NET_CRC_SSE42);
}

uint32_t dp_crc32(const void *p, size_t n)
{
	return rte_net_crc_calc(p, (uint32_t)n, RTE_NET_CRC32_ETH);
}
