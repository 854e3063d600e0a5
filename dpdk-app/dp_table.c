/* dp_table.c — the sessions table on cds_lfht (QSBR). See dp_table.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_lfht.h"
#include "dpdk-app/dp_slab.h"
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
	struct dp_slab *slab; /* where it goes back after its grace period */
	bool linked;          /* in the table (writer's mark, for dp_slab_walk) */
};

/* The hint index: a front for lookups that a burst can prefetch. cds_lfht
 * keeps its buckets to itself, so a lookup is two or three dependent cache
 * misses (bucket, chain, node) that nothing can start early; with millions
 * of sessions every probe pays them in series. Here a session's hash picks
 * one 64-byte line of DP_HINT_WAYS words, each a node pointer tagged with
 * the hash's top 16 bits: the lcore prefetches that line for every probe
 * of a burst, then each probe's node, then handles the burst with both in
 * cache (dp_table_prefetch). The index is only a cache of the table: a
 * session missing from it (its line was full, or its pointer does not fit
 * 48 bits) is found by cds_lfht as before, and the writer drops a node's
 * word before the node's grace period starts, so a pointer read from here
 * is as safe as one from the table. One line per eight table buckets:
 * 8 bytes a bucket, at most 8 ways per 8 sessions. */
#define DP_HINT_WAYS 8
#define DP_HINT_PTR  ((UINT64_C(1) << 48) - 1)

struct dp_hint_line {
	_Alignas(64) _Atomic uint64_t way[DP_HINT_WAYS];
};

struct dp_hints {
	unsigned long mask; /* lines - 1 */
	size_t bytes;       /* mapped (dp_huge_alloc) */
	struct rcu_head rcu;
	struct dp_hint_line line[];
};

struct dp_table {
	struct cds_lfht *ht;
	struct dp_slab *nodes;          /* on huge pages: see dp_slab.h */
	struct dp_hints *_Atomic hints; /* replaced when the table grows */
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

/* --- the hint index (see struct dp_hints) --- */

static struct dp_hints *dp_hints_new(unsigned long table_buckets)
{
	unsigned long lines = table_buckets / DP_HINT_WAYS ? table_buckets / DP_HINT_WAYS : 1;
	size_t bytes = sizeof(struct dp_hints) + lines * sizeof(struct dp_hint_line);
	struct dp_hints *hs = dp_huge_alloc(bytes); /* zeroed: every word free */

	if (!hs)
		return NULL;
	hs->mask = lines - 1;
	hs->bytes = bytes;
	return hs;
}

static void dp_hints_free(struct dp_hints *hs)
{
	if (hs)
		dp_huge_free(hs, hs->bytes);
}

static void dp_hints_free_rcu(struct rcu_head *head)
{
	dp_hints_free(caa_container_of(head, struct dp_hints, rcu));
}

static struct dp_hint_line *dp_hint_line(const struct dp_hints *hs, unsigned long h)
{
	return (struct dp_hint_line *)&hs->line[h & hs->mask];
}

/* The word for n under hash h; 0 when its pointer does not fit. */
static uint64_t dp_hint_word(unsigned long h, const struct dp_node *n)
{
	uint64_t p = (uint64_t)(uintptr_t)n;

	return p & ~DP_HINT_PTR ? 0 : ((uint64_t)h & ~DP_HINT_PTR) | p;
}

static struct dp_node *dp_hint_node(uint64_t w)
{
	return (struct dp_node *)(uintptr_t)(w & DP_HINT_PTR);
}

/* Forget n (writer; before n's grace period starts). */
static void dp_hint_drop(struct dp_hints *hs, unsigned long h, const struct dp_node *n)
{
	struct dp_hint_line *l = dp_hint_line(hs, h);

	for (unsigned w = 0; w < DP_HINT_WAYS; w++)
		if (dp_hint_node(atomic_load_explicit(&l->way[w], memory_order_relaxed)) == n)
			atomic_store_explicit(&l->way[w], 0, memory_order_relaxed);
}

/* Index n, in old's word when n replaced old, else in a free one, else in
 * place of one chosen by the hash (that node is still in the table). The
 * release store publishes n's fields with the word (writer). */
static void dp_hint_put(struct dp_hints *hs, unsigned long h, const struct dp_node *n,
                        const struct dp_node *old)
{
	struct dp_hint_line *l = dp_hint_line(hs, h);
	uint64_t word = dp_hint_word(h, n);
	int at = -1, free_way = -1;

	for (unsigned w = 0; w < DP_HINT_WAYS; w++) {
		uint64_t v = atomic_load_explicit(&l->way[w], memory_order_relaxed);

		if (old && dp_hint_node(v) == old)
			at = (int)w;
		else if (!v && free_way < 0)
			free_way = (int)w;
	}
	if (!word) {
		if (at >= 0)
			atomic_store_explicit(&l->way[at], 0, memory_order_relaxed);
		return;
	}
	if (at < 0)
		at = free_way >= 0 ? free_way : (int)(h >> 40 & (DP_HINT_WAYS - 1));
	atomic_store_explicit(&l->way[at], word, memory_order_release);
}

/* The indexed node for session, or NULL (then ask the table). With check
 * false, the first node whose tag matches, unchecked (for prefetching: it
 * does not wait for the node). */
static struct dp_node *dp_hint_find(struct dp_table *t, unsigned long h, uint64_t session,
                                    bool check)
{
	const struct dp_hints *hs = atomic_load_explicit(&t->hints, memory_order_acquire);
	struct dp_hint_line *l = dp_hint_line(hs, h);
	uint64_t tag = (uint64_t)h & ~DP_HINT_PTR;

	for (unsigned w = 0; w < DP_HINT_WAYS; w++) {
		uint64_t v = atomic_load_explicit(&l->way[w], memory_order_acquire);

		if (v && (v & ~DP_HINT_PTR) == tag &&
		    (!check || dp_hint_node(v)->session == session))
			return dp_hint_node(v);
	}
	return NULL;
}

/* The table grew: a bigger index with every node, published for readers;
 * the old one goes after a grace period. On ENOMEM the old one stays (it
 * still works, only fuller). Writer, holding no node. */
struct dp_regrow {
	struct dp_table *t;
	struct dp_hints *hs;
};

static void dp_hint_regrow_one(void *obj, void *arg)
{
	struct dp_node *n = obj;
	struct dp_regrow *r = arg;

	if (n->linked)
		dp_hint_put(r->hs, dp_hash64(r->t->seed, n->session), n, NULL);
}

/* The nodes are found by sweeping their slab, not by walking cds_lfht: the
 * list's order is the hash's, a cache miss per node (and per bucket node
 * between them), and growing to 10 M sessions walks 10 M nodes. */
static void dp_hints_regrow(struct dp_table *t)
{
	struct dp_hints *hs = dp_hints_new(t->buckets), *old = t->hints;
	struct dp_regrow r = { t, hs };

	if (!hs)
		return;
	dp_slab_walk(t->nodes, dp_hint_regrow_one, &r);
	atomic_store_explicit(&t->hints, hs, memory_order_release);
	urcu_qsbr_call_rcu(&old->rcu, dp_hints_free_rcu);
}

static struct dp_node *dp_find(struct dp_table *t, uint64_t session)
{
	unsigned long h = dp_hash64(t->seed, session);
	struct dp_node *n = dp_hint_find(t, h, session, true);
	struct cds_lfht_node *ln;

	if (n)
		return n;
	ln = dp_lfht_find(t->ht, h, dp_match, &session);
	return ln ? caa_container_of(ln, struct dp_node, lfht) : NULL;
}

static void dp_node_free_rcu(struct rcu_head *head)
{
	struct dp_node *n = caa_container_of(head, struct dp_node, rcu);

	dp_slab_free(n->slab, n);
}

/* Unlink n; lcores may still hold it until their next quiescent state, so it
 * goes back to the slab after a grace period. */
static int dp_unlink(struct dp_table *t, struct dp_node *n)
{
	if (cds_lfht_del(t->ht, &n->lfht) != 0)
		return -ENOENT;
	n->linked = false;
	dp_hint_drop(t->hints, dp_hash64(t->seed, n->session), n);
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
	urcu_qsbr_call_rcu(&n->rcu, dp_node_free_rcu);
	return 0;
}

/* Flush and destroy visit the nodes by a sweep of their slab, in memory
 * order, not by a walk of cds_lfht's hash-ordered list (a miss per node). */
struct dp_visit {
	struct dp_table *t;
	size_t n;
};

static void dp_flush_one(void *obj, void *arg)
{
	struct dp_visit *v = arg;
	struct dp_node *n = obj;

	if (n->linked && dp_unlink(v->t, n) == 0)
		v->n++;
}

/* Destroy: unlink only; the memory goes with the slab, all at once. */
static void dp_destroy_one(void *obj, void *arg)
{
	struct dp_visit *v = arg;
	struct dp_node *n = obj;

	if (n->linked && cds_lfht_del(v->t->ht, &n->lfht) == 0)
		n->linked = false;
}

struct dp_table *dp_table_create(uint64_t seed, unsigned long init_buckets,
                                 unsigned long max_buckets)
{
	struct dp_table *t;

	if (!dp_lfht_sizes_ok(init_buckets, max_buckets))
		return NULL;
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
	t->hints = dp_hints_new(init_buckets);
	t->nodes = dp_slab_create(sizeof(struct dp_node), _Alignof(struct dp_node));
	if (!t->ht || !t->hints || !t->nodes) {
		if (t->ht)
			cds_lfht_destroy(t->ht, NULL);
		dp_hints_free(t->hints);
		dp_slab_destroy(t->nodes);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void dp_table_destroy(struct dp_table *t)
{
	struct dp_visit v = { t, 0 };
	bool online;

	if (!t)
		return;
	dp_slab_walk(t->nodes, dp_destroy_one, &v); /* cds_lfht_destroy wants it empty */
	online = dp_offline_begin();
	cds_lfht_destroy(t->ht, NULL);
	dp_offline_end(online);
	dp_hints_free(t->hints);
	dp_slab_destroy(t->nodes);
	free(t);
}

int dp_table_set(struct dp_table *t, uint64_t session, const uint8_t key[DP_KEY_LEN],
                 uint64_t expires_ms, uint32_t rate_pps, uint32_t burst)
{
	unsigned long h = dp_hash64(t->seed, session), buckets = t->buckets;
	struct cds_lfht_node *ln;
	struct dp_node *n = dp_slab_alloc(t->nodes), *old;

	if (!n)
		return -ENOMEM;
	memset(n, 0, sizeof(*n));
	n->slab = t->nodes;
	n->session = session;
	memcpy(n->key, key, DP_KEY_LEN);
	n->expires_ms = expires_ms;
	dp_bucket_init(&n->rate, rate_pps, burst);
	/* add_replace orders the stores above before publication (full
	 * barrier), and a lookup never sees zero or two nodes for the ID. */
	ln = cds_lfht_add_replace(t->ht, h, dp_match, &session, &n->lfht);
	old = ln ? caa_container_of(ln, struct dp_node, lfht) : NULL;
	n->linked = true;
	if (old)
		old->linked = false;
	dp_hint_put(t->hints, h, n, old);
	if (old) {
		urcu_qsbr_call_rcu(&old->rcu, dp_node_free_rcu);
		return 0;
	}
	dp_lfht_added(t->ht, &t->count, &t->buckets, t->max_buckets);
	if (t->buckets != buckets)
		dp_hints_regrow(t);
	return 0;
}

int dp_table_del(struct dp_table *t, uint64_t session)
{
	struct dp_node *n = dp_find(t, session);

	return n ? dp_unlink(t, n) : -ENOENT;
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
		if (n->expires_ms <= now_ms && dp_unlink(t, n) == 0)
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
	struct dp_visit v = { t, 0 };

	dp_slab_walk(t->nodes, dp_flush_one, &v);
	return v.n;
}

size_t dp_table_count(struct dp_table *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}

size_t dp_table_indexed(struct dp_table *t)
{
	const struct dp_hints *hs = t->hints;
	size_t n = 0;

	for (unsigned long l = 0; l <= hs->mask; l++)
		for (unsigned w = 0; w < DP_HINT_WAYS; w++)
			n += atomic_load_explicit(&hs->line[l].way[w], memory_order_relaxed) != 0;
	return n;
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

void dp_table_pf_line(struct dp_table *t, uint64_t session, struct dp_pf *pf)
{
	const struct dp_hints *hs = atomic_load_explicit(&t->hints, memory_order_acquire);

	pf->hash = dp_hash64(t->seed, session);
	pf->node = NULL;
	__builtin_prefetch(dp_hint_line(hs, pf->hash), 0, 3);
}

void dp_table_pf_node(struct dp_table *t, uint64_t session, struct dp_pf *pf)
{
	struct dp_node *n = dp_hint_find(t, pf->hash, session, false);

	pf->node = n;
	if (n) { /* for writing: the rate bucket, then obs_head */
		__builtin_prefetch(n, 1, 3);
		__builtin_prefetch((const char *)n + 64, 1, 3);
	}
}

void dp_table_pf_ring(const struct dp_pf *pf)
{
	struct dp_node *n = pf->node;

	if (n)
		__builtin_prefetch(
		        &n->ring[atomic_load_explicit(&n->obs_head, memory_order_relaxed) &
		                 DP_RING_MASK],
		        1, 3);
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
