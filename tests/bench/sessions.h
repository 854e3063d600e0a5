/* sessions.h — the benchmark's sessions, derived from a seed.
 *
 * rvbenchctl fills rvdp's table with sessions 0..N-1 of a seed; the probe
 * scenarios (pktgen-scenarios/scenlib.py, session()) sign their probes with
 * the same sessions. Both compute, for session i:
 *   base = seed * 0x100000001b3 + 3 * i          (mod 2^64)
 *   id   = splitmix64(base), or 1 when that is 0
 *   key  = splitmix64(base + 1) || splitmix64(base + 2), little-endian
 * so a pcap of probes for a million sessions needs no file of keys.
 */
#pragma once

#include <stdint.h>
#include <string.h>

static inline uint64_t bench_splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Session i of seed: its ID and 16-byte probe key.  Context: pure. */
static inline void bench_session(uint64_t seed, uint64_t i, uint64_t *id, uint8_t key[16])
{
	uint64_t base = seed * 0x100000001b3ull + 3u * i;
	uint64_t k[2] = { bench_splitmix64(base + 1), bench_splitmix64(base + 2) };

	*id = bench_splitmix64(base);
	if (!*id)
		*id = 1;
	for (int w = 0; w < 2; w++)
		for (int b = 0; b < 8; b++)
			key[8 * w + b] = (uint8_t)(k[w] >> (8 * b));
}
