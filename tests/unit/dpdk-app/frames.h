/* frames.h — what the packet handler's tests share: an RFC 1071 check
 * written independently of dp_pkt.c's checksum code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The one's complement sum of p[0..n) plus sum is 0xffff: the checksum in
 * it is right. */
static inline bool sum_ok(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* The UDP pseudo header's sum (RFC 768) for the IPv4 header ip. */
static inline uint32_t udp_pseudo_sum(const uint8_t *ip, uint16_t udp_len)
{
	uint32_t s = 17u + udp_len;

	for (int i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	return s;
}
