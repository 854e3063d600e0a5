/* The fast path's FINGERPRINT CRC (rte_net_crc) must equal proto's. */
#include <criterion/criterion.h>
#include <stdlib.h>

#define ALLOW_EXPERIMENTAL_API 1
#include <rte_vect.h>

#include "dpdk-app/dp_app.h"
#include "proto/stun.h"

Test(crc, dpdk_crc_equals_the_reference_crc32_for_every_length)
{
	uint8_t buf[300];

	/* Without EAL the SIMD width defaults to none (scalar CRC); allow
	 * 128 bits so the SSE4.2/PCLMUL path rvdp runs is the one tested. */
	cr_assert_eq(rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_128), 0);
	dp_crc_init();
	srand(5);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t n = 0; n <= sizeof(buf); n++)
		cr_assert_eq(dp_crc32(buf, n), rv_crc32(0, buf, n), "length %zu", n);
	cr_assert_eq(dp_crc32("123456789", 9), 0xcbf43926u);
}
