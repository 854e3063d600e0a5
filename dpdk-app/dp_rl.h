/* dp_rl.h — anti-amplification budgets for unauthenticated responses.
 *
 * "Never be a weapon": a response larger than its request carries excess
 * bytes; those are paid from a per-source byte bucket and from a global one.
 * When either is empty, only responses no larger than their request go out
 * (they cannot amplify). Every response also takes a token from the
 * source's packet bucket, so a reflected flood is bounded in packets too.
 *
 * One struct dp_rl per lcore, never shared: no atomics on the fast path.
 * Sources hash (keyed) into a fixed-size table of four-slot sets, so memory
 * is flat under spoofed floods from any number of sources. A new source
 * takes a free slot of its set, else the least recently used one together
 * with its buckets as they are (refilled since): nobody gets a fresh budget
 * by evicting someone, so whatever the number of sources the table's slots
 * bound what they draw between them (each slot at most one source's
 * budget), besides the global budget. A source alone in its set (the rule
 * below a few thousand sources) has exactly its own budget. IPv4-mapped IPv6 sources are normalised first
 * (rv_addr_normalize), so one host is one key.
 *
 * Time is a parameter (microseconds, any monotonic origin): pure logic,
 * unit-tested directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/rv_addr.h"

struct dp_rl_conf {
	uint32_t slots;           /* per-lcore table size, power of two */
	uint32_t src_bytes;       /* per-source excess-byte bucket: burst */
	uint32_t src_bytes_rate;  /* ... refill, bytes per second */
	uint32_t src_pkts;        /* per-source packet bucket: burst (0 = no limit) */
	uint32_t src_pkts_rate;   /* ... refill, packets per second */
	uint64_t glob_bytes;      /* global excess-byte bucket: burst (0 = no limit) */
	uint64_t glob_bytes_rate; /* ... refill, bytes per second */
	uint64_t seed;            /* hash key for sources */
};

enum dp_rl_verdict {
	DP_RL_OK = 0,
	DP_RL_SRC_PKTS,   /* source's packet rate exhausted: drop */
	DP_RL_SRC_BYTES,  /* source's excess-byte budget exhausted: only resp <= req */
	DP_RL_GLOB_BYTES, /* global excess-byte budget exhausted: only resp <= req */
};

struct dp_rl;

/* Bytes a struct dp_rl needs for conf (the caller allocates: rte_zmalloc on
 * the lcore's socket in rvdp, calloc in tests).  Context: any. */
size_t dp_rl_size(const struct dp_rl_conf *conf);

/* Initialise rl (size from dp_rl_size) for an lcore that gets 1/shares of
 * the global budget (shares = number of lcores, >= 1). Returns 0 or -EINVAL
 * (slots not a power of two, shares 0).  Context: any, before use. */
int dp_rl_init(struct dp_rl *rl, const struct dp_rl_conf *conf, uint32_t shares);

/* May a response of resp_len bytes answer a req_len-byte request from src
 * at now_us? Charges the buckets only when the verdict is DP_RL_OK. A
 * response with resp_len <= req_len costs no byte budget; otherwise the
 * excess (resp_len - req_len) must fit both the source's and the global
 * byte budgets.  Context: lcore (its own rl).  Pure. */
enum dp_rl_verdict dp_rl_check(struct dp_rl *rl, const struct rv_addr *src, uint32_t req_len,
                               uint32_t resp_len, uint64_t now_us);

/* Name of a verdict for counters and logs.  Context: pure. */
const char *dp_rl_verdict_str(enum dp_rl_verdict v);
