/* range.h — range detection: which NAT ports the bubble may have used, and
 * the ports to spray replies (or, in embodiment 4, bubbles) at.
 *
 * The sending side sends a range probe, then the bubble, then another range
 * probe (embodiment 1 S305-S307; embodiment 4 S606/S609/S610 and
 * S621/S624/S625). The server sees the NAT port of each probe; other hosts
 * behind the same NAT take ports meanwhile, so the bubble's port is known
 * only to lie between the two (S308), on the grid before + kΔ the NAT
 * allocates on. The receiving side then sends one packet per grid port
 * (S312: "at every port number differential").
 *
 * Document example (E1 example 1, Fig. 12-14): probes on 10135 and 10145,
 * Δ = 1 -> 11 ports; with Δ = 5 (bubble on 10140) -> 10135, 10140, 10145.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delta.h"

/* What the server saw for the two range probes around the bubble. */
struct rv_range_in {
	struct rv_port_space ps;
	uint16_t before; /* NAT port of the probe sent just before the bubble */
	uint16_t after;  /* NAT port of the probe sent just after it */
	/* The probe left from the bubble's own local port. Then its NAT port
	 * may be the bubble's (a cone NAT reuses the mapping: Fig. 15, P5 = P7
	 * = P8) and that end is part of the range. Otherwise the probe took a
	 * port of its own, so the range stops one Δ short of it (E4 S613:
	 * "to the port position to be assigned one port before port P10";
	 * and the variants after Fig. 38: "from the port assigned next to
	 * port P8"). Embodiment 1 example 1 sends all three from one local
	 * port: both ends shared. */
	bool before_shared;
	bool after_shared;
	int32_t delta; /* signed Δ of this NAT (rv_delta_detect) */
	uint32_t cap;  /* most ports the server lets one range hold (>= 1) */
};

/* A detected range: count ports first, first + step, ... (wrapping in ps).
 * Plain value; it carries its port space so the functions below need
 * nothing else. */
struct rv_range {
	struct rv_port_space ps;
	uint16_t first; /* the end nearest the before-probe */
	uint16_t last;  /* first + (count - 1) * step */
	int32_t step;   /* signed Δ */
	uint32_t count; /* >= 1 */
	/* The probes spanned more than cap ports: kept the cap ports nearest
	 * the before-probe, since the bubble left right after it. */
	bool clamped;
	/* after is not on the before + kΔ grid: Δ is likely wrong (the caller
	 * may retry with rv_delta_divisors). */
	bool misaligned;
};

/* Detect the range (S308 / S613 / S628) from in.
 * first = before (shared) or before + Δ; the far end is after (shared) or
 * after - Δ, rounded back onto the before + kΔ grid (misaligned is set when
 * rounding was needed). Ranges longer than cap keep their first cap ports.
 * Returns 0; -EINVAL for an invalid ps, delta == 0 or cap == 0;
 * RV_ERANGE when before/after is outside ps or |delta| is half the space
 * or more; RV_EINCONSISTENT when after lies behind before in the direction
 * of allocation, half the space or more ahead (the two cannot be told
 * apart in a wrapping space), or leaves no port for the bubble (e.g.
 * neither end shared and after == before + Δ). *out is zeroed on error.
 * Context: pure. */
int rv_range_detect(const struct rv_range_in *in, struct rv_range *out);

/* The i-th port of r (0 <= i < count). Returns it (> 0), RV_ERANGE when
 * i >= count, -EINVAL when r did not come from rv_range_detect() (step 0,
 * count 0 or an invalid space — this holds for every function below).
 * Context: pure. */
int rv_range_at(const struct rv_range *r, uint32_t i);

/* Write the ports from index `from` on into out[0..cap-1], in allocation
 * order, so a sender can pace the spray in batches (nothing is written past
 * cap). Returns how many were written (0 once from == count), RV_ERANGE
 * when from > count, -EINVAL for a malformed r.  Context: pure. */
int rv_range_list(const struct rv_range *r, uint32_t from, uint16_t *out, size_t cap);

/* Where port sits on r's grid: k such that port == first + k * step with
 * k < count; RV_ERANGE when port is outside the range (or the space) or
 * between two grid ports; -EINVAL for a malformed r. This is the alignment
 * test: a port the NAT could have given the bubble is always before + kΔ.
 * Context: pure. */
int rv_range_index(const struct rv_range *r, uint16_t port);

/* rv_range_index(r, port) >= 0 (false for a malformed r).  Context: pure. */
bool rv_range_contains(const struct rv_range *r, uint16_t port);
