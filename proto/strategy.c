/* strategy.c — picking a connection plan (strategy.h). */
#include <errno.h>

#include "strategy.h"

bool rv_nat_predictable(const struct rv_nat_info *n)
{
	return n->type == RV_NAT_NONE || n->map == RV_MAP_EI || n->type == RV_NAT_FULL_CONE ||
	       n->type == RV_NAT_RESTRICTED || n->type == RV_NAT_PORT_RESTRICTED ||
	       n->alloc == RV_ALLOC_PRESERVING || n->alloc == RV_ALLOC_SEQUENTIAL;
}

bool rv_nat_reachable(const struct rv_nat_info *n)
{
	return n->type == RV_NAT_NONE || n->type == RV_NAT_FULL_CONE ||
	       (n->flags & RV_NAT_FLAG_DIRECT);
}

static bool cone(const struct rv_nat_info *n)
{
	return n->type == RV_NAT_NONE || n->type == RV_NAT_FULL_CONE ||
	       n->type == RV_NAT_RESTRICTED || n->type == RV_NAT_PORT_RESTRICTED;
}

static bool symmetric(const struct rv_nat_info *n)
{
	return n->type == RV_NAT_ADDR_SYMMETRIC || n->type == RV_NAT_PORT_SYMMETRIC;
}

static const struct rv_nat_info *side(const struct rv_nat_info *caller,
                                      const struct rv_nat_info *callee, enum rv_role_side s)
{
	return s == RV_ROLE_CALLER ? caller : callee;
}

/* Whether method m connects `sender` (bubbles) and `replier`, by the
 * behaviours behind the role tables: in E1 the replies leave the replier's
 * NAT from the port the bubble aimed at only when its mapping is
 * endpoint-independent, so a port-filtering sender needs that (Fig. 17);
 * in E4 the replier's mapping must not depend on the port (Fig. 39). On
 * top, the ports range detection must find have to be predictable: the
 * sender's bubble port always, and in E4 the replier's port-assigning one. */
static bool assignment_works(enum rv_role_method m, const struct rv_nat_info *sender,
                             const struct rv_nat_info *replier)
{
	if (!rv_nat_predictable(sender))
		return false;
	if (m == RV_ROLE_E1)
		return sender->filt != RV_FILT_APD || replier->map == RV_MAP_EI;
	return replier->map != RV_MAP_APD && rv_nat_predictable(replier);
}

/* Method m with the role table's assignment when it works, else the other
 * one (the table decides by filtering alone; predictability can make the
 * exchanged roles the only working ones). */
static bool method_works(enum rv_role_method m, const struct rv_nat_info *caller,
                         const struct rv_nat_info *callee, struct rv_plan *out)
{
	struct rv_role r;
	enum rv_role_side order[2];

	if (rv_role_decide(m, caller->type, callee->type, &r) < 0)
		return false;
	order[0] = r.sender;
	order[1] = r.sender == RV_ROLE_CALLER ? RV_ROLE_CALLEE : RV_ROLE_CALLER;
	for (int k = 0; k < 2; k++) {
		const struct rv_nat_info *s = side(caller, callee, order[k]);
		const struct rv_nat_info *rp = side(caller, callee, order[k] ^ 1);

		if (assignment_works(m, s, rp)) {
			out->strategy = m == RV_ROLE_E1 ? RV_STRAT_E1 : RV_STRAT_E4;
			out->sender = order[k];
			out->direct = true;
			return true;
		}
	}
	return false;
}

int rv_plan_pick(const struct rv_nat_info *caller, const struct rv_nat_info *callee,
                 enum rv_strategy prefer, struct rv_plan *out)
{
	const struct rv_nat_info *both[2] = { caller, callee };

	for (int i = 0; i < 2; i++)
		if (both[i]->type == RV_NAT_UNKNOWN || both[i]->type == RV_NAT_BLOCKED ||
		    both[i]->type >= RV_NAT_TYPE_COUNT)
			return -EINVAL;
	if (prefer != RV_STRAT_AUTO && prefer != RV_STRAT_E1 && prefer != RV_STRAT_E4)
		return -EINVAL;

	if (rv_nat_reachable(callee) || rv_nat_reachable(caller)) {
		/* The side that is not reachable sends first; the caller when
		 * both are. */
		*out = (struct rv_plan){ RV_STRAT_DIRECT,
			                 rv_nat_reachable(callee) ? RV_ROLE_CALLER : RV_ROLE_CALLEE,
			                 true };
		return 0;
	}
	if (prefer == RV_STRAT_E4) {
		if (method_works(RV_ROLE_E4, caller, callee, out) ||
		    method_works(RV_ROLE_E1, caller, callee, out))
			return 0;
	} else if (method_works(RV_ROLE_E1, caller, callee, out) ||
	           method_works(RV_ROLE_E4, caller, callee, out)) {
		return 0;
	}
	if (symmetric(caller) && symmetric(callee) && rv_nat_predictable(caller) &&
	    rv_nat_predictable(callee)) {
		*out = (struct rv_plan){ RV_STRAT_PREDICT, RV_ROLE_CALLER, true };
		return 0;
	}
	/* One unpredictable symmetric NAT facing a cone: the hard side opens
	 * many mappings toward the easy side's known one. */
	if (cone(callee) && symmetric(caller) && !rv_nat_predictable(caller)) {
		*out = (struct rv_plan){ RV_STRAT_BIRTHDAY, RV_ROLE_CALLER, true };
		return 0;
	}
	if (cone(caller) && symmetric(callee) && !rv_nat_predictable(callee)) {
		*out = (struct rv_plan){ RV_STRAT_BIRTHDAY, RV_ROLE_CALLEE, true };
		return 0;
	}
	*out = (struct rv_plan){ RV_STRAT_RELAY, RV_ROLE_CALLER, false };
	return 0;
}

unsigned rv_birthday_pct(uint32_t hard, uint32_t probes, uint32_t space)
{
	double miss = 1.0;

	if (!hard || !probes || !space || hard > space)
		return 0;
	if (probes > space - hard)
		return 100;
	/* Probe i misses with (space - hard - i) / (space - i). */
	for (uint32_t i = 0; i < probes; i++)
		miss *= (double)(space - hard - i) / (double)(space - i);
	return (unsigned)((1.0 - miss) * 100.0 + 0.5);
}
