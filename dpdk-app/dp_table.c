/* dp_table.c — the sessions table on cds_lfht (QSBR). See dp_table.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_lfht.h"
#include "dpdk-app/dp_table.h"

/* One observation slot. The stamp is written last (release) and read before
 * and after the copy (seqlock), so a reader never returns a mix of two
 * records. It holds (index + 1) << 8 | kind: the index tells the reader which
 * record the slot holds (a lapped slot is skipped, not misordered) and 56 bits
 * never wrap. The fields are atomics only so the racy copy is defined C; on
 * x86 they are plain moves. */
struct dp_slot {
	_Atomic uint64_t stamp;
	_Atomic uint64_t t_ms;
	_Atomic uint64_t ep; /* ip << 32 | port << 16 | seq */
};

#define DP_STAMP_BUSY UINT64_MAX /* 0 = never written */

/* The first cache line is everything a probe touches on the lookup path:
 * chain link, ID, key, expiry, rate bucket. The ring and the rcu_head live
 * on the lines after it. */
struct dp_node {
	_Alignas(64) struct cds_lfht_node lfht;
	uint64_t session;
	uint8_t key[DP_KEY_LEN];
	uint64_t expires_ms;
	struct dp_bucket rate;     /* probes (dp_lfht.h) */
	_Atomic uint64_t obs_head; /* records ever claimed */
	struct dp_slot ring[DP_OBS_RING];
	struct rcu_head rcu;
};

struct dp_table {
	struct cds_lfht *ht;
	uint64_t seed;
	unsigned long buckets, max_buckets; /* now, and at most (dp_lfht_grow) */
	/* Our own counter (one writer) so dp_table_count is O(1);
	 * cds_lfht_count_nodes walks the whole table. */
	_Atomic size_t count;
	/* dp_table_expire's place: the session it visits next (a key, not a
	 * node, which would not outlive a quiescent state). */
	bool cursor_set;
	uint64_t cursor;
};

#define DP_RING_MASK (DP_OBS_RING - 1)
_Static_assert((DP_OBS_RING & DP_RING_MASK) == 0, "DP_OBS_RING must be a power of two");

static int dp_match(struct cds_lfht_node *ln, const void *key)
{
	return caa_container_of(ln, struct dp_node, lfht)->session == *(const uint64_t *)key;
}

static struct dp_node *dp_find(struct dp_table *t, uint64_t session)
{
	struct cds_lfht_node *ln =
	        dp_lfht_find(t->ht, dp_hash64(t->seed, session), dp_match, &session);

	return ln ? caa_container_of(ln, struct dp_node, lfht) : NULL;
}

static void dp_node_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct dp_node, rcu));
}

/* Unlink n; lcores may still hold it until their next quiescent state, so it
 * is freed after a grace period, except at destroy when none can. */
static int dp_unlink(struct dp_table *t, struct dp_node *n, bool free_now)
{
	if (cds_lfht_del(t->ht, &n->lfht) != 0)
		return -ENOENT;
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
	if (free_now)
		free(n);
	else
		urcu_qsbr_call_rcu(&n->rcu, dp_node_free_rcu);
	return 0;
}

/* Expire, flush and destroy: remove every node with expires_ms <= now_ms.
 * cds_lfht allows deleting the iterator's node, and the iterator already
 * holds the next one, so destroy may even free it on the spot. */
static size_t dp_sweep(struct dp_table *t, uint64_t now_ms, bool free_now)
{
	struct cds_lfht_iter it;
	struct dp_node *n;
	size_t removed = 0;

	cds_lfht_for_each_entry(t->ht, &it, n, lfht)
	{
		if (n->expires_ms <= now_ms && dp_unlink(t, n, free_now) == 0)
			removed++;
	}
	return removed;
}

static bool is_pow2(unsigned long v)
{
	return v && !(v & (v - 1));
}

struct dp_table *dp_table_create(uint64_t seed, unsigned long init_buckets,
                                 unsigned long max_buckets)
{
	struct dp_table *t;

	if (!is_pow2(init_buckets) || !is_pow2(max_buckets) || max_buckets < init_buckets) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->seed = seed;
	t->buckets = init_buckets;
	t->max_buckets = max_buckets;
	/* min = init, and nothing shrinks it (dp_lfht_grow): a table drained
	 * by a flush keeps its size for rvcontrol's refill. */
	t->ht = cds_lfht_new_flavor(init_buckets, init_buckets, max_buckets, DP_LFHT_FLAGS,
	                            &urcu_qsbr_flavor, NULL);
	if (!t->ht) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void dp_table_destroy(struct dp_table *t)
{
	bool online;

	if (!t)
		return;
	dp_sweep(t, UINT64_MAX, true);
	online = dp_offline_begin();
	cds_lfht_destroy(t->ht, NULL);
	dp_offline_end(online);
	free(t);
}

int dp_table_set(struct dp_table *t, uint64_t session, const uint8_t key[DP_KEY_LEN],
                 uint64_t expires_ms, uint32_t rate_pps, uint32_t burst)
{
	struct cds_lfht_node *old;
	struct dp_node *n = aligned_alloc(_Alignof(struct dp_node), sizeof(*n));

	if (!n)
		return -ENOMEM;
	memset(n, 0, sizeof(*n));
	n->session = session;
	memcpy(n->key, key, DP_KEY_LEN);
	n->expires_ms = expires_ms;
	dp_bucket_init(&n->rate, rate_pps, burst);
	/* add_replace orders the stores above before publication (full
	 * barrier), and a lookup never sees zero or two nodes for the ID. */
	old = cds_lfht_add_replace(t->ht, dp_hash64(t->seed, session), dp_match, &session,
	                           &n->lfht);
	if (old)
		urcu_qsbr_call_rcu(&caa_container_of(old, struct dp_node, lfht)->rcu,
		                   dp_node_free_rcu);
	else
		dp_lfht_added(t->ht, &t->count, &t->buckets, t->max_buckets);
	return 0;
}

int dp_table_del(struct dp_table *t, uint64_t session)
{
	struct dp_node *n = dp_find(t, session);

	return n ? dp_unlink(t, n, false) : -ENOENT;
}

size_t dp_table_expire(struct dp_table *t, uint64_t now_ms)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *ln = NULL;
	size_t removed = 0;

	if (t->cursor_set) {
		cds_lfht_lookup(t->ht, dp_hash64(t->seed, t->cursor), dp_match, &t->cursor, &it);
		ln = cds_lfht_iter_get_node(&it);
	}
	if (!ln) /* a new round, or the cursor's session went meanwhile */
		cds_lfht_first(t->ht, &it);
	for (unsigned i = 0; i < DP_SWEEP_BUDGET && (ln = cds_lfht_iter_get_node(&it)); i++) {
		struct dp_node *n = caa_container_of(ln, struct dp_node, lfht);

		cds_lfht_next(t->ht, &it);
		if (n->expires_ms <= now_ms && dp_unlink(t, n, false) == 0)
			removed++;
	}
	ln = cds_lfht_iter_get_node(&it);
	t->cursor_set = ln != NULL;
	if (ln)
		t->cursor = caa_container_of(ln, struct dp_node, lfht)->session;
	return removed;
}

size_t dp_table_flush(struct dp_table *t)
{
	return dp_sweep(t, UINT64_MAX, false);
}

size_t dp_table_count(struct dp_table *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}

size_t dp_table_node_bytes(void)
{
	return sizeof(struct dp_node);
}

/* Copy slot i if it still holds record idx; false when it was never written,
 * is being written, or was overwritten by a later record meanwhile. */
static bool dp_slot_read(struct dp_slot *s, uint64_t idx, struct dp_obs *o)
{
	uint64_t st = atomic_load_explicit(&s->stamp, memory_order_acquire), ep;

	if (st == DP_STAMP_BUSY || st >> 8 != idx + 1)
		return false;
	o->t_ms = atomic_load_explicit(&s->t_ms, memory_order_relaxed);
	ep = atomic_load_explicit(&s->ep, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->stamp, memory_order_relaxed) != st)
		return false;
	o->ip = (uint32_t)(ep >> 32);
	o->port = (uint16_t)(ep >> 16);
	o->seq = (uint16_t)ep;
	o->kind = (uint8_t)st;
	return true;
}

int dp_table_obs(struct dp_table *t, uint64_t session, struct dp_obs *out, size_t cap)
{
	struct dp_node *n = dp_find(t, session);
	uint64_t head, idx;
	size_t k = 0;

	if (!n)
		return -ENOENT;
	head = atomic_load_explicit(&n->obs_head, memory_order_acquire);
	idx = head > DP_OBS_RING ? head - DP_OBS_RING : 0;
	if (head - idx > cap)
		idx = head - cap;
	for (; idx < head; idx++)
		k += dp_slot_read(&n->ring[idx & DP_RING_MASK], idx, &out[k]);
	return (int)k;
}

int dp_table_lookup(struct dp_table *t, uint64_t session, uint64_t now_ms, struct dp_ref *out)
{
	/* QSBR: an online lcore is always inside its read-side section. */
	struct dp_node *n = dp_find(t, session);

	if (!n || n->expires_ms <= now_ms)
		return -ENOENT;
	memcpy(out->key, n->key, DP_KEY_LEN);
	out->expires_ms = n->expires_ms;
	out->node = n;
	return 0;
}

bool dp_table_rate(const struct dp_ref *ref, uint64_t now_ms)
{
	return dp_bucket_take(&((struct dp_node *)ref->node)->rate, now_ms);
}

/* Several lcores may record into one node: each claims an index, then the
 * slot, by CAS to BUSY, only from an older record, so two writers never mix
 * fields in one slot and an older record never overwrites a newer one. A
 * record that loses that race is dropped (the ring is a sample). */
void dp_table_record(const struct dp_ref *ref, const struct dp_obs *o)
{
	struct dp_node *n = ref->node;
	uint64_t idx = atomic_fetch_add_explicit(&n->obs_head, 1, memory_order_relaxed);
	struct dp_slot *s = &n->ring[idx & DP_RING_MASK];
	uint64_t prev = atomic_load_explicit(&s->stamp, memory_order_relaxed);

	do {
		if (prev == DP_STAMP_BUSY || prev >> 8 > idx)
			return;
	} while (!atomic_compare_exchange_weak_explicit(
	        &s->stamp, &prev, DP_STAMP_BUSY, memory_order_relaxed, memory_order_relaxed));
	/* BUSY must be visible before any field changes (seqlock writer). */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->t_ms, o->t_ms, memory_order_relaxed);
	atomic_store_explicit(&s->ep, (uint64_t)o->ip << 32 | (uint32_t)o->port << 16 | o->seq,
	                      memory_order_relaxed);
	atomic_store_explicit(&s->stamp, (idx + 1) << 8 | o->kind, memory_order_release);
}
