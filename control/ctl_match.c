/* ctl_match.c — matching partners (ctl_match.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ctl_match.h"

static bool same_locator(const struct ctl_reg *x, const struct ctl_reg *y)
{
	return memcmp(x->locator, y->locator, RV_LOCATOR_LEN) == 0;
}

/* A corrupt n must not read past attrs[]. */
static size_t attr_count(const struct rv_community *c)
{
	return c->n < RV_COMM_ATTRS ? c->n : RV_COMM_ATTRS;
}

static uint64_t dist(int64_t x, int64_t y)
{
	return x > y ? (uint64_t)(x - y) : (uint64_t)(y - x);
}

/* Whether cand fits every requirement; *score gets the closeness sum.
 * Doubled values keep the middle of [min, max] exact; int64 holds
 * 2 * INT32_MAX and a sum of eight distances with room to spare. */
static bool fits(const struct rv_community *self, const struct rv_community *cand,
                 const struct rv_require *req, size_t n_req, uint64_t *score)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n_req; i++) {
		int64_t target = (int64_t)req[i].min + req[i].max;
		uint64_t best = UINT64_MAX;

		for (size_t k = 0; k < attr_count(self); k++)
			if (self->attrs[k].key == req[i].key) {
				target = 2 * (int64_t)self->attrs[k].value;
				break;
			}
		/* A candidate may list a key twice; its closest fitting value
		 * counts. */
		for (size_t k = 0; k < attr_count(cand); k++) {
			const struct rv_kv *kv = &cand->attrs[k];
			uint64_t d;

			if (kv->key != req[i].key || kv->value < req[i].min ||
			    kv->value > req[i].max)
				continue;
			d = dist(2 * (int64_t)kv->value, target);
			if (d < best)
				best = d;
		}
		if (best == UINT64_MAX)
			return false;
		sum += best;
	}
	*score = sum;
	return true;
}

/* Fairness then determinism (ctl_match.h, ranking 3 and 4). A full tie
 * (identical locators) keeps array order: both callers insert stably. */
static int cmp_fair(const struct ctl_reg *x, const struct ctl_reg *y)
{
	if (x->registered_ms != y->registered_ms)
		return x->registered_ms < y->registered_ms ? -1 : 1;
	return memcmp(x->locator, y->locator, RV_LOCATOR_LEN);
}

/* Negative when x ranks before y. */
static int cmp_result(const struct ctl_match_result *x, const struct ctl_match_result *y,
                      const struct ctl_reg *cands)
{
	if (x->direct != y->direct)
		return x->direct ? -1 : 1;
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return cmp_fair(&cands[x->index], &cands[y->index]);
}

int ctl_match_find(const struct ctl_reg *self, const struct rv_require *req, size_t n_req,
                   size_t count, const struct ctl_reg *cands, size_t n, uint64_t now_ms,
                   struct ctl_match_result *out)
{
	size_t have = 0;

	if (!self || !out || (!cands && n) || (!req && n_req) || n_req > RV_REQUIRE_MAX ||
	    count == 0)
		return -EINVAL;
	for (size_t i = 0; i < n_req; i++)
		if (req[i].min > req[i].max)
			return -EINVAL;
	if (count > RV_PEERS_MAX)
		count = RV_PEERS_MAX;

	/* Keep the best `count` in out[], sorted, by insertion: count is at
	 * most RV_PEERS_MAX, so O(n * 12) and no scratch memory. */
	for (size_t i = 0; i < n; i++) {
		const struct ctl_reg *c = &cands[i];
		struct ctl_match_result r = { .index = i, .strategy = RV_STRAT_AUTO };
		struct rv_plan plan;
		size_t pos;

		if (same_locator(c, self) || !(c->community.flags & RV_COMM_SEEKING) ||
		    c->expires_ms <= now_ms)
			continue;
		if (!fits(&self->community, &c->community, req, n_req, &r.score))
			continue;
		/* -EINVAL: a NAT not classified yet; no plan, so not known
		 * direct, and it ranks with the relayed ones. */
		if (rv_plan_pick(&self->nat, &c->nat, RV_STRAT_AUTO, &plan) == 0) {
			r.strategy = plan.strategy;
			r.direct = plan.strategy != RV_STRAT_RELAY;
		}

		pos = have;
		while (pos > 0 && cmp_result(&r, &out[pos - 1], cands) < 0)
			pos--;
		if (pos >= count)
			continue;
		if (have < count)
			have++;
		memmove(&out[pos + 1], &out[pos], (have - 1 - pos) * sizeof(*out));
		out[pos] = r;
	}
	return (int)have;
}

/* How much spraying a plan takes (ctl_match.h's order for third parties):
 * DIRECT none, the document's methods one detected range, PREDICT two
 * predicted ones, BIRTHDAY many random ports. */
static int spray_cost(enum rv_strategy s)
{
	switch (s) {
	case RV_STRAT_DIRECT:
		return 0;
	case RV_STRAT_E1:
	case RV_STRAT_E2:
	case RV_STRAT_E4:
		return 1;
	case RV_STRAT_PREDICT:
		return 2;
	default:
		return 3;
	}
}

struct third {
	size_t index;
	bool reachable;
	int cost; /* both plans' */
};

static int cmp_third(const struct third *x, const struct third *y, const struct ctl_reg *cands)
{
	if (x->reachable != y->reachable)
		return x->reachable ? -1 : 1;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return cmp_fair(&cands[x->index], &cands[y->index]);
}

int ctl_match_third_party(const struct ctl_reg *a, const struct ctl_reg *b,
                          const struct ctl_reg *cands, size_t n, uint64_t now_ms)
{
	struct third best = { 0 };
	bool found = false;

	if (!a || !b || (!cands && n) || n > INT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct ctl_reg *c = &cands[i];
		struct rv_plan pa, pb;
		struct third t;

		if (same_locator(c, a) || same_locator(c, b) || c->expires_ms <= now_ms)
			continue;
		if (rv_plan_pick(&a->nat, &c->nat, RV_STRAT_AUTO, &pa) < 0 || !pa.direct ||
		    rv_plan_pick(&b->nat, &c->nat, RV_STRAT_AUTO, &pb) < 0 || !pb.direct)
			continue;
		t = (struct third){ i, rv_nat_reachable(&c->nat),
			            spray_cost(pa.strategy) + spray_cost(pb.strategy) };
		if (!found || cmp_third(&t, &best, cands) < 0) {
			best = t;
			found = true;
		}
	}
	return found ? (int)best.index : -ENOENT;
}

void ctl_match_peer(const struct ctl_match_result *r, const struct ctl_reg *reg,
                    struct rv_peer *out)
{
	size_t len = strnlen(reg->nickname, RV_NICK_MAX);

	memset(out, 0, sizeof(*out));
	memcpy(out->locator, reg->locator, RV_LOCATOR_LEN);
	out->status = RV_ONLINE;
	if (r->direct)
		out->flags = RV_PEER_DIRECT;
	else if (r->strategy == RV_STRAT_RELAY)
		out->flags = RV_PEER_RELAY;
	out->nat_type = reg->nat.type;
	out->addr = reg->addr;
	memcpy(out->nickname, reg->nickname, len);
}
