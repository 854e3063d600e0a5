/* strategy.h — how two peers should connect, from both NAT characteristics.
 *
 * The role tables (role.h) answer the traversal document's question: who
 * sends bubbles, who replies, for its two methods. This picks among every
 * way the project knows, most direct first:
 *
 *   DIRECT    one side does not filter its public mapping (no NAT, full
 *             cone): the other just sends to it.
 *   E1        embodiment 1 (role.h E1). The receiver sprays from the mapping
 *             it already has with the server, so only the sender's bubble
 *             port must be found: its NAT must reuse mappings (EIM) or
 *             allocate predictably (preserving / sequential Δ).
 *   E4        embodiment 4 (role.h E4): the replier's port-assigning mapping
 *             and the sender's bubble mapping are both found by range
 *             detection, so both NATs must be predictable.
 *   PREDICT   beyond the document: both port-sensitive symmetric with
 *             predictable allocation — predict both NATs' next ports.
 *   BIRTHDAY  beyond the document: a random-allocation symmetric NAT
 *             against a cone NAT — the hard side opens many mappings
 *             toward the easy side's, the easy side probes random ports.
 *   RELAY     nothing direct can work (two unpredictable symmetric NATs).
 *
 * Pure: a table of predicates over rv_nat_info, unit-tested on every pair.
 */
#pragma once

#include <stdbool.h>

#include "msg.h"
#include "role.h"

struct rv_plan {
	enum rv_strategy strategy;
	/* Who sends first: the bubbles (E1/E4/PREDICT), the many low-TTL
	 * packets (BIRTHDAY), the first datagram (DIRECT). */
	enum rv_role_side sender;
	bool direct; /* false only for RELAY */
};

/* A NAT's new mappings can be found by the server's range detection:
 * endpoint-independent mapping, or preserving / sequential allocation.
 * Context: pure. */
bool rv_nat_predictable(const struct rv_nat_info *n);

/* Nothing filters this side's public mapping (no NAT, full cone, or the
 * peer said it is directly reachable).  Context: pure. */
bool rv_nat_reachable(const struct rv_nat_info *n);

/* The best plan for caller -> callee. prefer may force E1 or E4 where both
 * work (RV_STRAT_AUTO: E1, the document's main embodiment, then E4).
 * Returns 0; -EINVAL when a type is UNKNOWN or BLOCKED (classify first) or
 * prefer is out of range.  Context: pure. */
int rv_plan_pick(const struct rv_nat_info *caller, const struct rv_nat_info *callee,
                 enum rv_strategy prefer, struct rv_plan *out);

/* The chance, in percent, that a birthday attempt meets: `probes` distinct
 * random ports out of `space` hit at least one of the `hard` mappings the
 * hard side opened: 1 - C(space - hard, probes) / C(space, probes).
 * 0 when an argument is 0 or hard > space.  Context: pure. */
unsigned rv_birthday_pct(uint32_t hard, uint32_t probes, uint32_t space);
