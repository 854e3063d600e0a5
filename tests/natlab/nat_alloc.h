/* nat_alloc.h — external port allocation (RFC 4787 §4.2) and the Poisson
 * clock of the invisible hosts.
 *
 * One allocator per port space (UDP ports, ICMP echo identifiers). Modes:
 * - preserving: the internal port when it is in range and free, else the
 *   sequential fallback;
 * - sequential: the cursor, then cursor + delta, ... wrapping around inside
 *   [lo, hi]; a busy candidate is skipped by further steps of delta (then
 *   by single ports when delta's cycle is exhausted), so the traversal
 *   document's port-number differential shows as long as ports are free;
 * - random: uniform in [lo, hi], a busy draw redrawn.
 * A fixed bitmap of 65536 bits records ports in use: no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proto/nat.h"

/* The caller's random source: 32 uniformly random bits per call. Tests pass
 * a deterministic one.  Context: whatever the caller's source allows. */
struct nat_rng {
	uint32_t (*next)(void *ctx);
	void *ctx;
};

struct nat_alloc {
	enum rv_alloc mode;
	int32_t delta;
	uint16_t lo, hi;
	uint16_t cursor; /* the next sequential candidate */
	uint32_t in_use;
	uint8_t used[65536 / 8];
};

/* Set up an allocator; start is the first sequential candidate (in range).
 * Returns 0 or -EINVAL.  Context: pure. */
int nat_alloc_init(struct nat_alloc *a, enum rv_alloc mode, int32_t delta, uint16_t lo, uint16_t hi,
                   uint16_t start);

/* Take a port for a flow whose internal port is want (used by preserving).
 * Returns the port (> 0) or -EADDRNOTAVAIL when the range is exhausted.
 * Context: pure. */
int nat_alloc_get(struct nat_alloc *a, uint16_t want, struct nat_rng *rng);

/* Return a port taken with nat_alloc_get (others are ignored).
 * Context: pure. */
void nat_alloc_put(struct nat_alloc *a, uint16_t port);

/* True when port is taken.  Context: pure. */
bool nat_alloc_busy(const struct nat_alloc *a, uint16_t port);

/* The step in the cyclic order of [lo, hi]: (p - lo + k) mod n, + lo.
 * Context: pure. */
uint16_t nat_alloc_step(const struct nat_alloc *a, uint16_t p, int64_t k);

/* Milliseconds until the next event of a Poisson process with rate lambda
 * per second (exponential inter-arrival, inverse transform of one draw).
 * lambda must be > 0.  Context: pure. */
double nat_poisson_gap_ms(double lambda, struct nat_rng *rng);
