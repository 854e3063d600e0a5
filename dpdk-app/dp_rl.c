/* dp_rl.c — per-lcore anti-amplification budgets. See dp_rl.h. */
#include <errno.h>
#include <string.h>

#include "dpdk-app/dp_rl.h"

/* Buckets count micro-units (token * 10^6): a rate in units per second then
 * refills exactly rate micro-units per microsecond, with no division and no
 * rounding on the fast path. */
#define DP_RL_MICRO 1000000u

struct dp_rl_bucket {
	uint64_t tok;  /* micro-units */
	uint64_t cap;  /* micro-units */
	uint64_t rate; /* units per second = micro-units per microsecond */
};

/* The source's host, normalised and zero-padded, for the hash. The port is
 * not part of it: a spoofer choosing ports must not get a fresh budget per
 * port. */
struct dp_rl_key {
	uint8_t ip[16];
	uint8_t family;
};

/* A slot holds one source, named by the keyed 64-bit hash of its host
 * (odd, so 0 marks a slot never used): two hosts with one hash would share
 * a budget, which only ever gives them less. */
struct dp_rl_slot {
	uint64_t id;
	uint64_t last_us;
	uint64_t pkts;  /* micro-packets */
	uint64_t bytes; /* micro-bytes */
};

/* Slots per set: a source may sit in any slot of its set (two cache lines),
 * so sources hashing alike keep their own budgets instead of evicting each
 * other: with 1000 sources in 64 K slots, the odds that five share a set
 * are about 1 in 10^4 (two ways: one in seven). */
#define DP_RL_WAYS 4u

struct dp_rl {
	uint64_t k0, k1; /* hash keys */
	uint32_t mask;   /* sets - 1 */
	uint32_t ways;   /* DP_RL_WAYS, or fewer for a smaller table */
	bool pkt_limited, glob_limited;
	struct dp_rl_bucket src_pkts, src_bytes; /* caps and rates; tok unused */
	struct dp_rl_bucket glob;
	uint64_t glob_last_us;
	struct dp_rl_slot slot[];
};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
	x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
	return x ^ (x >> 32);
}

/* Keyed mix of the two address words. Sources are attacker-chosen (spoofed),
 * so the keys keep them from aiming at a victim's set; filling a set only
 * ever shares its slots' budgets, never renews them. */
static uint64_t dp_rl_hash(const struct dp_rl *rl, const struct dp_rl_key *k)
{
	uint64_t w0, w1;

	memcpy(&w0, k->ip, 8);
	memcpy(&w1, k->ip + 8, 8);
	return mix64(mix64(w0 ^ rl->k0) ^ w1 ^ rl->k1 ^ k->family);
}

/* Tokens after elapsed_us, clamped at the cap. The multiplication is checked,
 * so no gap and no rate can wrap the count. */
static uint64_t dp_rl_refill(uint64_t tok, const struct dp_rl_bucket *b, uint64_t elapsed_us)
{
	uint64_t add;

	if (tok >= b->cap)
		return b->cap;
	if (__builtin_mul_overflow(elapsed_us, b->rate, &add) || add >= b->cap - tok)
		return b->cap;
	return tok + add;
}

/* units * 10^6, saturating at what a bucket can hold. */
static uint64_t dp_rl_micro(uint64_t units)
{
	return units > UINT64_MAX / DP_RL_MICRO ? UINT64_MAX : units * DP_RL_MICRO;
}

size_t dp_rl_size(const struct dp_rl_conf *conf)
{
	return sizeof(struct dp_rl) + (size_t)conf->slots * sizeof(struct dp_rl_slot);
}

int dp_rl_init(struct dp_rl *rl, const struct dp_rl_conf *conf, uint32_t shares)
{
	uint64_t seed = conf->seed;

	if (!conf->slots || (conf->slots & (conf->slots - 1)) || !shares)
		return -EINVAL;
	memset(rl, 0, dp_rl_size(conf));
	rl->k0 = splitmix64(&seed);
	rl->k1 = splitmix64(&seed);
	rl->ways = conf->slots < DP_RL_WAYS ? conf->slots : DP_RL_WAYS;
	rl->mask = conf->slots / rl->ways - 1;
	rl->pkt_limited = conf->src_pkts != 0;
	rl->src_pkts = (struct dp_rl_bucket){ .cap = dp_rl_micro(conf->src_pkts),
		                              .rate = conf->src_pkts_rate };
	rl->src_bytes = (struct dp_rl_bucket){ .cap = dp_rl_micro(conf->src_bytes),
		                               .rate = conf->src_bytes_rate };
	/* This lcore's share; the remainders (< shares bytes, < shares B/s) are
	 * dropped, erring on the side of sending less. */
	rl->glob_limited = conf->glob_bytes != 0;
	rl->glob = (struct dp_rl_bucket){ .cap = dp_rl_micro(conf->glob_bytes / shares),
		                          .rate = conf->glob_bytes_rate / shares };
	rl->glob.tok = rl->glob.cap;
	return 0;
}

static struct dp_rl_slot *dp_rl_slot_get(struct dp_rl *rl, const struct rv_addr *src,
                                         uint64_t now_us)
{
	struct rv_addr a = *src;
	struct dp_rl_key k = { 0 };
	struct dp_rl_slot *set, *s;
	uint64_t h;

	rv_addr_normalize(&a);
	k.family = a.family;
	memcpy(k.ip, a.ip, rv_addr_iplen(&a));
	h = dp_rl_hash(rl, &k);
	set = &rl->slot[(h >> 1 & rl->mask) * rl->ways];
	s = set;
	for (uint32_t w = 0; w < rl->ways; w++) {
		if (set[w].id == (h | 1))
			return &set[w];
		/* The victim: a slot never used, else the least recently used. */
		if (s->id && (!set[w].id || set[w].last_us < s->last_us))
			s = &set[w];
	}
	if (!s->id) {
		s->last_us = now_us;
		s->pkts = rl->src_pkts.cap;
		s->bytes = rl->src_bytes.cap;
	}
	/* An evicted slot keeps its buckets (refilled as time passed): the
	 * newcomer never gets a fresh budget, so no number of spoofed sources
	 * draws more than the slots' budgets between them. */
	s->id = h | 1;
	return s;
}

/* Time that went backwards refills nothing and leaves the mark where it was,
 * so it cannot be replayed into extra tokens. */
static uint64_t dp_rl_elapsed(uint64_t *last_us, uint64_t now_us)
{
	uint64_t dt = now_us > *last_us ? now_us - *last_us : 0;

	if (dt)
		*last_us = now_us;
	return dt;
}

enum dp_rl_verdict dp_rl_check(struct dp_rl *rl, const struct rv_addr *src, uint32_t req_len,
                               uint32_t resp_len, uint64_t now_us)
{
	struct dp_rl_slot *s = dp_rl_slot_get(rl, src, now_us);
	uint64_t dt = dp_rl_elapsed(&s->last_us, now_us), excess;

	/* Refilling is not charging: store it whatever the verdict. */
	s->pkts = dp_rl_refill(s->pkts, &rl->src_pkts, dt);
	s->bytes = dp_rl_refill(s->bytes, &rl->src_bytes, dt);
	if (rl->pkt_limited && s->pkts < DP_RL_MICRO)
		return DP_RL_SRC_PKTS;
	if (resp_len > req_len) {
		excess = (uint64_t)(resp_len - req_len) * DP_RL_MICRO;
		if (s->bytes < excess)
			return DP_RL_SRC_BYTES;
		if (rl->glob_limited) {
			dt = dp_rl_elapsed(&rl->glob_last_us, now_us);
			rl->glob.tok = dp_rl_refill(rl->glob.tok, &rl->glob, dt);
			if (rl->glob.tok < excess)
				return DP_RL_GLOB_BYTES;
			rl->glob.tok -= excess;
		}
		s->bytes -= excess;
	}
	if (rl->pkt_limited)
		s->pkts -= DP_RL_MICRO;
	return DP_RL_OK;
}

const char *dp_rl_verdict_str(enum dp_rl_verdict v)
{
	switch (v) {
	case DP_RL_OK:
		return "ok";
	case DP_RL_SRC_PKTS:
		return "src_pkts";
	case DP_RL_SRC_BYTES:
		return "src_bytes";
	case DP_RL_GLOB_BYTES:
		return "glob_bytes";
	}
	return "unknown";
}
