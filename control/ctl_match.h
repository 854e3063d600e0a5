/* ctl_match.h — matching partners (device-ID document, third embodiment;
 * DESIGN §1.1 "Matching").
 *
 * A registration may carry a community record (struct rv_community: the
 * RV_COMM_SEEKING flag plus key/value attributes such as application type,
 * level, age band) and the network mode (its NAT characteristic). match()
 * answers partners that fit the requester's requirements, preferring pairs
 * that can connect directly given both NATs, and, when two parties cannot
 * reach each other, can name a third party both reach directly (the
 * document: "another user from outside who can directly communicate is
 * searched").
 *
 * Pure: the store does the I/O (ctl_store_reg_find_app() filters by app ID
 * and SEEKING); this module only filters, ranks and picks over arrays the
 * caller owns, with the clock as a parameter. No allocation, no logging.
 *
 * Requirements: a candidate fits when, for every struct rv_require, it has
 * an attribute with that key whose value lies in [min, max] (inclusive).
 * Keys carry no meaning here: RV_KEY_LEVEL is just a number.
 *
 * Ranking of candidates that fit (first criterion that differs decides):
 *   1. a direct path is expected (rv_plan_pick(requester, candidate) is not
 *      RELAY) before one that is not, or is unknown (unclassified NAT);
 *   2. closeness: the sum over the requirements of the distance from the
 *      candidate's value to a target — the requester's own value for that
 *      key when it has one (a level-42 player asking 30..50 prefers 41 over
 *      31), else the middle of [min, max];
 *   3. fairness: the longest-registered candidate first (earliest
 *      registered_ms), so the same early arrivals are not always passed
 *      over by newcomers listed first;
 *   4. the locator (bytewise), so the answer never depends on the order the
 *      store returned rows in. (Shortcut: registered_ms stands in for "seeking
 *      since", which the store does not record.)
 *   Array order decides only between identical locators (a caller bug).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_store.h"
#include "proto/msg.h"
#include "proto/strategy.h"

/* One partner found by ctl_match_find(). */
struct ctl_match_result {
	size_t index;              /* into the candidate array */
	bool direct;               /* a direct path is expected with the requester */
	enum rv_strategy strategy; /* rv_plan_pick(requester, candidate); RV_STRAT_AUTO
	                            * when either NAT is unclassified (no plan) */
	uint64_t score;            /* closeness, lower is closer: the sum over the
	                            * requirements of |2*value - 2*target| (doubled
	                            * so the middle of a range stays an integer);
	                            * 0 with no requirements */
};

/* Find up to `count` partners for the requester `self` (its locator, NAT
 * and community attributes are read) among cands[0..n): those that fit
 * every requirement of req[0..n_req), carry RV_COMM_SEEKING, are not self
 * (same locator) and have not expired (expires_ms > now_ms). Results go to
 * out[] best first (ranking above); out must hold min(count, RV_PEERS_MAX)
 * entries. A count above RV_PEERS_MAX is clamped (one RV-PEERS answer holds
 * no more), not refused. Nothing is retained.
 * Returns the number of results (0 when nothing fits), or -EINVAL for: self
 * or out NULL, cands NULL with n > 0, req NULL with n_req > 0, n_req above
 * RV_REQUIRE_MAX, count 0, a requirement with min > max.
 * Context: pure. */
int ctl_match_find(const struct ctl_reg *self, const struct rv_require *req, size_t n_req,
                   size_t count, const struct ctl_reg *cands, size_t n, uint64_t now_ms,
                   struct ctl_match_result *out);

/* A third party for two registrations a and b that cannot reach each other
 * directly: a candidate c, not a or b (by locator) and unexpired at now_ms,
 * such that rv_plan_pick(a, c) and rv_plan_pick(b, c) both give a direct
 * plan. Preferred, in order: c reachable without punching (rv_nat_reachable:
 * no NAT, full cone, RV_NAT_FLAG_DIRECT); the least spraying over both
 * plans, each costing DIRECT 0 < E1/E2/E4 1 < PREDICT 2 < BIRTHDAY 3 (with
 * the lab's presets the worse plan and the sum never disagree); the
 * earliest registered; the lowest locator. The caller chooses the pool
 * (e.g. the same app, seeking); a and b are not checked against each
 * other (only their locators and NATs are read). Returns the index into cands, -ENOENT when no
 * candidate suits both, -EINVAL for a or b NULL, cands NULL with n > 0, or
 * n above INT_MAX.
 * Context: pure. */
int ctl_match_third_party(const struct ctl_reg *a, const struct ctl_reg *b,
                          const struct ctl_reg *cands, size_t n, uint64_t now_ms);

/* Fill one RV-PEERS record from a result and the registration it indexes:
 * locator, status online, RV_PEER_DIRECT when r->direct, RV_PEER_RELAY when
 * the plan is RELAY, neither when no plan exists (unclassified NAT: the
 * broker will decide), NAT type, the observed public address, nickname
 * (truncated to RV_NICK_MAX bytes, NUL-terminated). *out is overwritten.
 * Context: pure. */
void ctl_match_peer(const struct ctl_match_result *r, const struct ctl_reg *reg,
                    struct rv_peer *out);
