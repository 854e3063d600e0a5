/* dp_relay.c — relays and their forwarding index on cds_lfht (QSBR).
 * See dp_relay.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/dp_lfht.h"
#include "dpdk-app/dp_relay.h"

/* The grant, immutable once published; RELAY_SET publishes a new one. */
struct dp_grant {
	uint8_t key[DP_KEY_LEN];
	uint16_t channel;
	struct rv_relay_quota quota;
	struct rcu_head rcu;
};

/* One side's usage, on its own line: written by the lcore its 5-tuple
 * hashes to, read racily by the other side's lcore and the writer. */
struct dp_side {
	_Alignas(64) struct rv_relay_use use;
	_Atomic uint32_t marks; /* 1 << enum rv_relay_verdict, for each refusal seen */
};

/* The first line is what a bind or a route reads besides the usage:
 * chain link, ID, grant, both bound endpoints, bind bucket. */
struct dp_rnode {
	_Alignas(64) struct cds_lfht_node lfht;
	uint64_t relay;
	_Atomic(struct dp_grant *) grant;
	_Atomic uint64_t ep[2]; /* ip << 32 | port << 16 | 1; 0 = not bound */
	struct dp_bucket binds;
	struct dp_side side[2];
	uint64_t bind_ms[2]; /* the writer's: last bind applied */
	struct rcu_head rcu;
};

/* A forwarding index entry: (ip, port, channel) -> relay and side. It
 * never outlives its relay node: both go through the same grace period. */
struct dp_fwd {
	struct cds_lfht_node lfht;
	uint64_t key; /* ip << 32 | port << 16 | channel */
	struct dp_rnode *relay;
	uint8_t side;
	struct rcu_head rcu;
};

struct dp_relays {
	struct cds_lfht *relays, *index;
	uint64_t seed, seed_index;
	unsigned long buckets, index_buckets, max_buckets; /* dp_lfht_grow */
	uint32_t bind_pps, bind_burst;
	/* Our own counters (one writer): O(1) counts and growth points. */
	_Atomic size_t n_relays, n_index;
};

_Static_assert(offsetof(struct dp_rnode, side) == 64, "the first line holds the routing fields");

static uint64_t ep_word(uint32_t ip, uint16_t port)
{
	return (uint64_t)ip << 32 | (uint64_t)port << 16 | 1;
}

static uint64_t fwd_key(uint64_t ep, uint16_t channel)
{
	return (ep & ~0xffffull) | channel;
}

static int rnode_match(struct cds_lfht_node *ln, const void *key)
{
	return caa_container_of(ln, struct dp_rnode, lfht)->relay == *(const uint64_t *)key;
}

static int fwd_match(struct cds_lfht_node *ln, const void *key)
{
	return caa_container_of(ln, struct dp_fwd, lfht)->key == *(const uint64_t *)key;
}

static struct dp_rnode *rnode_find(struct dp_relays *t, uint64_t relay)
{
	struct cds_lfht_node *ln =
	        dp_lfht_find(t->relays, dp_hash64(t->seed, relay), rnode_match, &relay);

	return ln ? caa_container_of(ln, struct dp_rnode, lfht) : NULL;
}

static struct dp_fwd *fwd_find(struct dp_relays *t, uint64_t key)
{
	struct cds_lfht_node *ln =
	        dp_lfht_find(t->index, dp_hash64(t->seed_index, key), fwd_match, &key);

	return ln ? caa_container_of(ln, struct dp_fwd, lfht) : NULL;
}

/* Pairs with the writer's release store of a new grant. */
static struct dp_grant *grant_of(struct dp_rnode *n)
{
	return atomic_load_explicit(&n->grant, memory_order_acquire);
}

static void free_grant_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct dp_grant, rcu));
}

static void free_fwd_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, struct dp_fwd, rcu));
}

/* The node's current grant goes with it (replaced ones went on their own). */
static void free_rnode(struct dp_rnode *n)
{
	free(atomic_load_explicit(&n->grant, memory_order_relaxed));
	free(n);
}

static void free_rnode_rcu(struct rcu_head *h)
{
	free_rnode(caa_container_of(h, struct dp_rnode, rcu));
}

struct dp_relays *dp_relay_create(uint64_t seed, unsigned long init_buckets,
                                  unsigned long max_buckets, uint32_t bind_pps, uint32_t bind_burst)
{
	struct dp_relays *t;

	if (!dp_lfht_sizes_ok(init_buckets, max_buckets))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->seed = seed;
	t->seed_index = seed * 0x9e3779b97f4a7c15ull + 1;
	t->buckets = t->index_buckets = init_buckets;
	t->max_buckets = max_buckets;
	t->bind_pps = bind_pps;
	t->bind_burst = bind_burst;
	t->relays = cds_lfht_new_flavor(init_buckets, init_buckets, max_buckets, DP_LFHT_FLAGS,
	                                &urcu_qsbr_flavor, NULL);
	t->index = cds_lfht_new_flavor(init_buckets, init_buckets, max_buckets, DP_LFHT_FLAGS,
	                               &urcu_qsbr_flavor, NULL);
	if (!t->relays || !t->index) {
		bool online = dp_offline_begin();

		if (t->relays)
			cds_lfht_destroy(t->relays, NULL);
		if (t->index)
			cds_lfht_destroy(t->index, NULL);
		dp_offline_end(online);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

/* --- the index (writer) ------------------------------------------------------ */

/* Route key to (n, side), replacing whoever had it. */
static int fwd_add(struct dp_relays *t, uint64_t key, struct dp_rnode *n, unsigned side)
{
	struct dp_fwd *f = malloc(sizeof(*f));
	struct cds_lfht_node *old;

	if (!f)
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	f->key = key;
	f->relay = n;
	f->side = (uint8_t)side;
	old = cds_lfht_add_replace(t->index, dp_hash64(t->seed_index, key), fwd_match, &key,
	                           &f->lfht);
	if (old)
		urcu_qsbr_call_rcu(&caa_container_of(old, struct dp_fwd, lfht)->rcu, free_fwd_rcu);
	else
		dp_lfht_added(t->index, &t->n_index, &t->index_buckets, t->max_buckets);
	return 0;
}

/* Remove key's entry if it still routes to (n, side): a later bind of
 * another relay's side at the same endpoint and channel owns it now. */
static void fwd_del(struct dp_relays *t, uint64_t key, struct dp_rnode *n, unsigned side,
                    bool free_now)
{
	struct dp_fwd *f = fwd_find(t, key);

	if (!f || f->relay != n || f->side != side || cds_lfht_del(t->index, &f->lfht) != 0)
		return;
	atomic_fetch_sub_explicit(&t->n_index, 1, memory_order_relaxed);
	if (free_now)
		free(f);
	else
		urcu_qsbr_call_rcu(&f->rcu, free_fwd_rcu);
}

/* --- relays (writer) --------------------------------------------------------- */

static int unlink_relay(struct dp_relays *t, struct dp_rnode *n, bool free_now)
{
	uint16_t ch = grant_of(n)->channel;

	for (unsigned s = 0; s < 2; s++) {
		uint64_t ep = atomic_load_explicit(&n->ep[s], memory_order_relaxed);

		if (ep)
			fwd_del(t, fwd_key(ep, ch), n, s, free_now);
	}
	if (cds_lfht_del(t->relays, &n->lfht) != 0)
		return -ENOENT;
	atomic_fetch_sub_explicit(&t->n_relays, 1, memory_order_relaxed);
	if (free_now)
		free_rnode(n);
	else
		urcu_qsbr_call_rcu(&n->rcu, free_rnode_rcu);
	return 0;
}

/* Expire (all false), flush and destroy: remove every relay (whose expiry
 * plus the linger has come). Deleting the iterator's node is allowed (the
 * iterator already holds the next one). */
static size_t sweep(struct dp_relays *t, uint64_t now_ms, bool all, bool free_now)
{
	struct cds_lfht_iter it;
	struct dp_rnode *n;
	size_t removed = 0;

	cds_lfht_for_each_entry(t->relays, &it, n, lfht)
	{
		uint64_t exp = grant_of(n)->quota.expires_ms;
		bool due = all || (exp && exp <= now_ms && now_ms - exp >= DP_RELAY_LINGER_MS);

		if (due && unlink_relay(t, n, free_now) == 0)
			removed++;
	}
	return removed;
}

void dp_relay_destroy(struct dp_relays *t)
{
	bool online;

	if (!t)
		return;
	sweep(t, 0, true, true);
	online = dp_offline_begin();
	cds_lfht_destroy(t->index, NULL);
	cds_lfht_destroy(t->relays, NULL);
	dp_offline_end(online);
	free(t);
}

/* A new channel moves each bound side's index entry: the new one first, so
 * the side never has none, then the old one (still routing to this side). */
static int rechannel(struct dp_relays *t, struct dp_rnode *n, uint16_t from, uint16_t to)
{
	for (unsigned s = 0; s < 2; s++) {
		uint64_t ep = atomic_load_explicit(&n->ep[s], memory_order_relaxed);
		int rc;

		if (!ep || from == to)
			continue;
		rc = fwd_add(t, fwd_key(ep, to), n, s);
		if (rc < 0)
			return rc;
		fwd_del(t, fwd_key(ep, from), n, s, false);
	}
	return 0;
}

int dp_relay_set(struct dp_relays *t, const struct dp_relay_grant *g, uint64_t now_ms)
{
	struct dp_grant *gr = malloc(sizeof(*gr));
	struct dp_rnode *n;
	int rc;

	if (!gr)
		return -ENOMEM;
	memset(gr, 0, sizeof(*gr));
	memcpy(gr->key, g->key, DP_KEY_LEN);
	gr->channel = g->channel;
	gr->quota = g->quota;
	n = rnode_find(t, g->relay);
	if (n) {
		struct dp_grant *old = grant_of(n);

		rc = rechannel(t, n, old->channel, gr->channel);
		if (rc < 0) {
			free(gr);
			return rc;
		}
		atomic_store_explicit(&n->grant, gr, memory_order_release);
		urcu_qsbr_call_rcu(&old->rcu, free_grant_rcu);
		return 0;
	}
	n = aligned_alloc(_Alignof(struct dp_rnode), sizeof(*n));
	if (!n) {
		free(gr);
		return -ENOMEM;
	}
	memset(n, 0, sizeof(*n));
	n->relay = g->relay;
	atomic_store_explicit(&n->grant, gr, memory_order_relaxed);
	dp_bucket_init(&n->binds, t->bind_pps, t->bind_burst);
	for (unsigned s = 0; s < 2; s++)
		rv_relay_use_init(&n->side[s].use, &gr->quota, now_ms);
	/* add_replace's full barrier orders the stores above before
	 * publication; the lookup found none, and we are the only writer. */
	(void)cds_lfht_add_replace(t->relays, dp_hash64(t->seed, g->relay), rnode_match, &n->relay,
	                           &n->lfht);
	dp_lfht_added(t->relays, &t->n_relays, &t->buckets, t->max_buckets);
	return 0;
}

int dp_relay_del(struct dp_relays *t, uint64_t relay)
{
	struct dp_rnode *n = rnode_find(t, relay);

	return n ? unlink_relay(t, n, false) : -ENOENT;
}

size_t dp_relay_expire(struct dp_relays *t, uint64_t now_ms)
{
	return sweep(t, now_ms, false, false);
}

size_t dp_relay_flush(struct dp_relays *t)
{
	return sweep(t, 0, true, false);
}

int dp_relay_bind(struct dp_relays *t, uint64_t relay, unsigned side, uint32_t ip, uint16_t port,
                  uint64_t now_ms)
{
	struct dp_rnode *n = rnode_find(t, relay);
	uint64_t ep = ep_word(ip, port), old;
	uint16_t ch;
	int rc;

	if (side > 1)
		return -EINVAL;
	if (!n)
		return -ENOENT;
	n->bind_ms[side] = now_ms;
	old = atomic_load_explicit(&n->ep[side], memory_order_relaxed);
	if (old == ep)
		return 0;
	ch = grant_of(n)->channel;
	rc = fwd_add(t, fwd_key(ep, ch), n, side);
	if (rc < 0)
		return rc;
	if (old)
		fwd_del(t, fwd_key(old, ch), n, side, false);
	atomic_store_explicit(&n->ep[side], ep, memory_order_release);
	return 1;
}

/* Another thread's usage: each field is read whole (aligned 64-bit), the
 * set of them may straddle an update. */
static uint64_t racy(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int dp_relay_query(struct dp_relays *t, uint64_t relay, uint64_t now_ms,
                   struct rv_dpc_relay_side side[2], uint8_t *flags)
{
	struct dp_rnode *n = rnode_find(t, relay);
	const struct rv_relay_quota *q;
	uint32_t marks = 0;

	if (!n)
		return -ENOENT;
	q = &grant_of(n)->quota;
	for (unsigned s = 0; s < 2; s++) {
		const struct rv_relay_use *u = &n->side[s].use;
		uint64_t ep = atomic_load_explicit(&n->ep[s], memory_order_relaxed);
		uint64_t seen = racy(&u->seen_ms);

		side[s] = (struct rv_dpc_relay_side){
			.packets = racy(&u->packets),
			.bytes = racy(&u->bytes),
			.dropped = racy(&u->dropped),
			.seen_ms = seen > n->bind_ms[s] ? seen : n->bind_ms[s],
		};
		if (ep)
			side[s].bound = rv_addr_v4((uint32_t)(ep >> 32), (uint16_t)(ep >> 16));
		marks |= atomic_load_explicit(&n->side[s].marks, memory_order_relaxed);
	}
	*flags = 0;
	if ((q->expires_ms && now_ms >= q->expires_ms) || (marks & 1u << RV_RELAY_EXPIRED))
		*flags |= RV_DPC_RELAY_EXPIRED;
	if ((q->bytes && side[0].bytes + side[1].bytes >= q->bytes) ||
	    (marks & 1u << RV_RELAY_OVER_BYTES))
		*flags |= RV_DPC_RELAY_OVER_BYTES;
	if (marks & 1u << RV_RELAY_OVER_RATE)
		*flags |= RV_DPC_RELAY_RATE_DROPS;
	return 0;
}

size_t dp_relay_count(struct dp_relays *t)
{
	return atomic_load_explicit(&t->n_relays, memory_order_relaxed);
}

size_t dp_relay_entry_bytes(void)
{
	return sizeof(struct dp_rnode) + sizeof(struct dp_grant) + 2 * sizeof(struct dp_fwd);
}

/* --- lcores -------------------------------------------------------------------- */

int dp_relay_lookup(struct dp_relays *t, uint64_t relay, uint64_t now_ms, struct dp_relay_ref *out)
{
	/* QSBR: an online lcore is always inside its read-side section. */
	struct dp_rnode *n = rnode_find(t, relay);
	const struct dp_grant *g;

	if (!n)
		return -ENOENT;
	g = grant_of(n);
	if (g->quota.expires_ms && now_ms >= g->quota.expires_ms)
		return -ENOENT;
	memcpy(out->key, g->key, DP_KEY_LEN);
	out->node = n;
	return 0;
}

bool dp_relay_bind_rate(const struct dp_relay_ref *ref, uint64_t now_ms)
{
	return dp_bucket_take(&((struct dp_rnode *)ref->node)->binds, now_ms);
}

enum dp_relay_route dp_relay_route(struct dp_relays *t, uint32_t ip, uint16_t port,
                                   uint16_t channel, uint16_t data_len, uint64_t now_ms,
                                   struct dp_relay_dst *to)
{
	struct dp_fwd *f = fwd_find(t, fwd_key(ep_word(ip, port), channel));
	struct dp_rnode *n;
	struct dp_side *me;
	uint64_t other;
	enum rv_relay_verdict v;

	if (!f)
		return DP_RELAY_NO_ROUTE;
	n = f->relay;
	other = atomic_load_explicit(&n->ep[!f->side], memory_order_acquire);
	if (!other)
		return DP_RELAY_UNBOUND;
	me = &n->side[f->side];
	v = rv_relay_charge(&grant_of(n)->quota, &me->use, racy(&n->side[!f->side].use.bytes),
	                    now_ms, data_len);
	if (v != RV_RELAY_PASS) {
		uint32_t bit = 1u << v;

		if (!(atomic_load_explicit(&me->marks, memory_order_relaxed) & bit))
			atomic_fetch_or_explicit(&me->marks, bit, memory_order_relaxed);
		return v == RV_RELAY_EXPIRED      ? DP_RELAY_EXPIRED
		       : v == RV_RELAY_OVER_BYTES ? DP_RELAY_OVER_BYTES
		                                  : DP_RELAY_OVER_RATE;
	}
	to->ip = (uint32_t)(other >> 32);
	to->port = (uint16_t)(other >> 16);
	return DP_RELAY_PASS;
}
