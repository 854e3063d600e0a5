/* delta.h — port-space arithmetic, the port-number differential (Δ), and
 * the NAT's port allocation pattern.
 *
 * The traversal document assumes a NAT hands out external ports "so that the
 * port numbers may increase or decrease in every specified port number
 * differential" (embodiment 1, Fig. 11, step S304). Ports live in a bounded
 * space that wraps (a NAT allocating upwards goes from its top port back to
 * its bottom one), so every gap here is computed in that space, never as a
 * plain uint16_t subtraction.
 *
 * Δ is signed: positive when the NAT allocates upwards, negative downwards.
 * All functions are pure: inputs are parameters, outputs go to the caller's
 * structs, nothing is allocated or logged.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat.h"

/* The external ports a NAT allocates from: lo..hi inclusive, 1 <= lo <= hi.
 * Plain value type; callers usually take rv_port_space_default(). */
struct rv_port_space {
	uint16_t lo;
	uint16_t hi;
};

/* 1024..65535: what common NATs (Linux MASQUERADE, most CPE) hand out; the
 * well-known ports are never allocated.  Context: pure. */
static inline struct rv_port_space rv_port_space_default(void)
{
	struct rv_port_space ps = { .lo = 1024, .hi = 65535 };
	return ps;
}

/* 0 when ps is usable (1 <= lo <= hi), -EINVAL otherwise.  Context: pure. */
int rv_port_space_check(const struct rv_port_space *ps);

/* Number of ports in ps (hi - lo + 1); 0 for an invalid space.
 * Context: pure. */
uint32_t rv_port_space_size(const struct rv_port_space *ps);

/* True when ps is valid and lo <= port <= hi.  Context: pure. */
bool rv_port_space_contains(const struct rv_port_space *ps, uint16_t port);

/* The port k allocation steps of one away from port, wrapping inside ps
 * (with 1024..65535: 65535 + 1 = 1024, 1024 - 1 = 65535). Any k is allowed;
 * it is reduced modulo the space size.
 * Returns the port (> 0), -EINVAL for an invalid ps, RV_ERANGE when port is
 * outside ps.  Context: pure. */
int rv_port_add(const struct rv_port_space *ps, uint16_t port, int32_t k);

/* Signed distance from `from` to `to` in ps, taking the shorter way round
 * (with 1024..65535: 65535 -> 1024 is +1, 1024 -> 65535 is -1). When both
 * ways are equally long (exactly half an even-sized space) the positive
 * distance is given. Writes *dist on success.
 * Returns 0, -EINVAL for an invalid ps, RV_ERANGE when a port is outside ps.
 * Context: pure. */
int rv_port_dist(const struct rv_port_space *ps, uint16_t from, uint16_t to, int32_t *dist);

/* Result of rv_delta_detect(). */
struct rv_delta {
	int32_t smallest;  /* signed smallest in-direction gap (S304, first method) */
	int32_t gcd;       /* signed robust GCD of the gaps (S304, second method) */
	uint32_t used;     /* in-direction non-zero gaps both estimates rest on */
	uint32_t zeros;    /* zero gaps ignored (same NAT port twice) */
	uint32_t outliers; /* opposite-direction gaps ignored */
	uint32_t off_gcd;  /* used gaps that are not a multiple of gcd */
};

/* Port-number differential from the NAT ports seen by the server for
 * consecutive probes sent from fresh local ports (Fig. 11, S303/S304;
 * embodiment 4 S605/S620). ports[0..n-1] are in sending order.
 *
 * Gaps are signed and wrap (rv_port_dist). The allocation direction is the
 * sign most gaps have; zero gaps (E4 S605: "if the difference of port P8 and
 * port P7 is zero" it is left out) and gaps the other way are ignored and
 * counted. Of the remaining gaps the document offers two estimates, and both
 * are reported:
 *   - smallest: the smallest gap (12, 6, 18 -> 6);
 *   - gcd: the largest divisor d of the smallest gap such that at least 75%
 *     of the used gaps are multiples of d (12, 6, 9 -> 3). When every gap is
 *     a multiple of it (off_gcd == 0) it is exactly the plain GCD; with 3
 *     gaps or fewer 75% means all of them, from 4 gaps on one gap in four may
 *     be off — other hosts' traffic or a lost probe — without dragging Δ to 1.
 * Both carry the direction's sign.
 * Returns 0; RV_ENODATA when n < 2 or no gap is non-zero; RV_EINCONSISTENT
 * when as many gaps go up as down; RV_ERANGE when a port is outside ps;
 * -EINVAL for an invalid ps. On error *out is zeroed.  Context: pure. */
int rv_delta_detect(const struct rv_port_space *ps, const uint16_t *ports, size_t n,
                    struct rv_delta *out);

/* Enough room for every divisor of any |Δ| <= 65535 (55440 has 120). */
#define RV_DELTA_MAX_DIVISORS 128

/* The fallback order for a Δ that did not work: every divisor of |delta|
 * from |delta| down to 1, with delta's sign (12 -> 12, 6, 4, 3, 2, 1;
 * -4 -> -4, -2, -1). The document (after S313) retries "the common measures
 * from the greatest common measure to 1" when no reply gets through: a true
 * Δ always divides the measured one, so one of these is it.
 * Writes out[0..count-1]. Returns the count; -EINVAL when delta is 0,
 * RV_ERANGE when |delta| > 65535, RV_ENOSPC when cap is too small (use
 * RV_DELTA_MAX_DIVISORS).  Context: pure. */
int rv_delta_divisors(int32_t delta, int32_t *out, size_t cap);

/* One fresh-socket probe: the host's local port and the NAT port the
 * server saw. */
struct rv_port_pair {
	uint16_t local;
	uint16_t mapped;
};

/* Gaps larger than this many Δ make a run RANDOM (rv_alloc_classify). */
#define RV_ALLOC_MAX_STEPS_DEFAULT 64

/* Result of rv_alloc_classify(). */
struct rv_alloc_result {
	enum rv_alloc alloc;
	int32_t delta;       /* SEQUENTIAL: the Δ (plain GCD of the gaps); else 0 */
	uint32_t background; /* SEQUENTIAL: ports other hosts took between probes */
	double per_second;   /* background / elapsed seconds; 0 when elapsed is 0 */
};

/* Port allocation pattern (RFC 4787 §4.2) from n consecutive fresh-socket
 * probes (pairs[] in sending order) and the milliseconds between the first
 * and the last one (the caller's clock; this function reads none).
 *   PRESERVING  mapped == local for every pair (no exception tolerated);
 *   SEQUENTIAL  one Δ explains every gap: all gaps go one way, none is zero,
 *               all are multiples of Δ, and none exceeds max_steps x |Δ|
 *               (0 means RV_ALLOC_MAX_STEPS_DEFAULT). The cap is what tells a
 *               busy sequential NAT from a random one whose gaps happen to
 *               share a divisor: other hosts behind the NAT take a few ports
 *               between our probes (Fig. 12: P5, P7, P8 are not consecutive),
 *               not thousands;
 *   RANDOM      anything else.
 * For SEQUENTIAL, background = sum over gaps of (|gap| / |Δ| - 1): the ports
 * the NAT gave to others meanwhile — how wide the range between two range
 * probes will be (S305-S308) — and per_second its rate.
 * Returns 0; RV_ENODATA when n < 2, or when the ports are not preserved and
 * fewer than 3 pairs leave one gap to judge by; RV_ERANGE when a mapped
 * port is outside ps; -EINVAL for an invalid ps. *out is always written
 * (alloc = RV_ALLOC_UNKNOWN on error).  Context: pure. */
int rv_alloc_classify(const struct rv_port_space *ps, const struct rv_port_pair *pairs, size_t n,
                      uint32_t elapsed_ms, uint32_t max_steps, struct rv_alloc_result *out);
