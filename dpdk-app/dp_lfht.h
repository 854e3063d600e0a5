/* dp_lfht.h — what rvdp's two RCU table files share: the keyed hash, the
 * writer's offline section around waits for a grace period, the resize
 * backstop, and the one-word token bucket.
 *
 * Internal to the table files (dp_table.c: sessions, dp_relay.c: relays and
 * their forwarding index): they, and only they, include liburcu's
 * rculfhash.h, through this header. Every table is made with
 * DP_LFHT_FLAGS and grown with dp_lfht_grow (see there why).
 */
#pragma once

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

/* Keyed multiply-xorshift (splitmix64 finalizer over id ^ seed). IDs come
 * from the control plane, endpoints from the wire: the seed keeps an
 * attacker from choosing which chain a negative lookup walks.
 * Context: pure. */
static inline unsigned long dp_hash64(uint64_t seed, uint64_t id)
{
	uint64_t x = id ^ seed;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return (unsigned long)(x ^ (x >> 31));
}

/* The node of ht whose key matches, or NULL.  Context: RCU reader (the
 * writer is one too). */
static inline struct cds_lfht_node *dp_lfht_find(struct cds_lfht *ht, unsigned long hash,
                                                 cds_lfht_match_fct match, const void *key)
{
	struct cds_lfht_iter it;

	cds_lfht_lookup(ht, hash, match, key, &it);
	return cds_lfht_iter_get_node(&it);
}

/* cds_lfht_destroy and cds_lfht_resize wait for grace periods (a resize's
 * own, or a queued one's): an online QSBR caller would wait for itself.
 * The writer holds no node across these.  Context: dp writer thread. */
static inline bool dp_offline_begin(void)
{
	bool online = urcu_qsbr_read_ongoing();

	if (online)
		urcu_qsbr_thread_offline();
	return online;
}

static inline void dp_offline_end(bool online)
{
	if (online)
		urcu_qsbr_thread_online();
}

/* The writer sizes its tables itself, one bucket per entry, doubling each
 * time the count (just raised to `count`) passes the size: amortised O(1),
 * and negative lookups (attacker IDs walk a whole chain) stay short. The
 * tables are made without CDS_LFHT_AUTO_RESIZE, for two reasons seen here
 * with liburcu 0.13: its lazy resize can lose a wake-up (the worker may
 * clear resize_initiated before the launcher sets it, which leaves
 * auto-resize dead for the table's life: 64 buckets for 200k sessions),
 * and its worker registers as an online QSBR reader before it takes the
 * resize mutex, so a writer resizing meanwhile (offline, waiting for a
 * grace period with that mutex held) waits for it forever (the relay
 * tables' concurrency test hung one run in two). Tables never shrink (a
 * flush is followed by a refill).  Context: dp writer thread, holding no
 * node. */
#define DP_LFHT_FLAGS 0

/* Bucket counts a table may be created with: powers of two, init <= max.
 * false with errno EINVAL otherwise.  Context: pure. */
static inline bool dp_lfht_sizes_ok(unsigned long init_buckets, unsigned long max_buckets)
{
	bool ok = init_buckets && !(init_buckets & (init_buckets - 1)) && max_buckets &&
	          !(max_buckets & (max_buckets - 1)) && init_buckets <= max_buckets;

	if (!ok)
		errno = EINVAL;
	return ok;
}

static inline void dp_lfht_grow(struct cds_lfht *ht, unsigned long *buckets, size_t count,
                                unsigned long max_buckets)
{
	unsigned long want = *buckets;
	bool online;

	if (count <= want || want >= max_buckets)
		return;
	while (want < count && want < max_buckets)
		want <<= 1;
	online = dp_offline_begin();
	cds_lfht_resize(ht, want);
	dp_offline_end(online);
	*buckets = want;
}

/* One entry more in ht (not a replacement): count it and grow ht.
 * Context: dp writer thread, holding no node. */
static inline void dp_lfht_added(struct cds_lfht *ht, _Atomic size_t *count, unsigned long *buckets,
                                 unsigned long max_buckets)
{
	dp_lfht_grow(ht, buckets, atomic_fetch_add_explicit(count, 1, memory_order_relaxed) + 1,
	             max_buckets);
}

/* A token bucket in one word so a reader never pairs tokens with a
 * timestamp from another update: milli-tokens << 32 | low 32 bits of the
 * last refill in ms. cap_mt 0 = unlimited. A take costs DP_MT; 1 per
 * second over 1 ms is exactly 1 mt, so refills are exact however often the
 * bucket is touched. */
#define DP_MT        1000u
#define DP_BURST_MAX (UINT32_MAX / DP_MT)

struct dp_bucket {
	_Atomic uint64_t word;
	uint32_t rate_pps;
	uint32_t cap_mt;
};

/* Full, with an arbitrary last-refill time: the first take either clamps
 * the refill to the cap or re-bases the clock. rate_pps or burst 0:
 * unlimited; burst is capped at DP_BURST_MAX.  Context: pure (before
 * publication). */
static inline void dp_bucket_init(struct dp_bucket *b, uint32_t rate_pps, uint32_t burst)
{
	b->rate_pps = rate_pps && burst ? rate_pps : 0;
	b->cap_mt = rate_pps && burst ? (burst < DP_BURST_MAX ? burst : DP_BURST_MAX) * DP_MT : 0;
	atomic_store_explicit(&b->word, (uint64_t)b->cap_mt << 32, memory_order_relaxed);
}

/* Take one token: true when allowed. Racing lcores may each spend the same
 * token (last store wins); never blocks.  Context: lcore (RCU reader). */
static inline bool dp_bucket_take(struct dp_bucket *b, uint64_t now_ms)
{
	uint64_t w, tok, nw;
	uint32_t now32 = (uint32_t)now_ms;
	int32_t dt;
	bool ok;

	if (!b->cap_mt)
		return true;
	w = atomic_load_explicit(&b->word, memory_order_relaxed);
	tok = w >> 32;
	/* Signed 32-bit ms difference: a clock step backwards refills nothing,
	 * it only re-bases. Honest shortcut: an idle gap over 24.8 days looks
	 * like a step back too, so it re-bases instead of refilling once. */
	dt = (int32_t)(now32 - (uint32_t)w);
	if (dt > 0) {
		tok += (uint64_t)dt * b->rate_pps; /* < 2^63: no overflow */
		if (tok > b->cap_mt)
			tok = b->cap_mt;
	}
	ok = tok >= DP_MT;
	if (ok)
		tok -= DP_MT;
	nw = tok << 32 | now32;
	if (nw != w)
		atomic_store_explicit(&b->word, nw, memory_order_relaxed);
	return ok;
}
