/* Connection plans over every NAT pair of the lab's matrix. */
#include <criterion/criterion.h>
#include <errno.h>

#include "proto/strategy.h"

/* Lab presets: each type with each allocation mode. */
static struct rv_nat_info nat(enum rv_nat_type t, enum rv_alloc a)
{
	struct rv_nat_info n = { .type = (uint8_t)t, .alloc = (uint8_t)a };
	enum rv_map m;
	enum rv_filt f;

	cr_assert_eq(rv_nat_type_behaviour(t, &m, &f), 0);
	n.map = (uint8_t)m;
	n.filt = (uint8_t)f;
	n.delta = a == RV_ALLOC_SEQUENTIAL ? 1 : 0;
	return n;
}

static const enum rv_nat_type types[] = { RV_NAT_NONE,           RV_NAT_FULL_CONE,
	                                  RV_NAT_RESTRICTED,     RV_NAT_PORT_RESTRICTED,
	                                  RV_NAT_ADDR_SYMMETRIC, RV_NAT_PORT_SYMMETRIC };
static const enum rv_alloc allocs[] = { RV_ALLOC_SEQUENTIAL, RV_ALLOC_RANDOM };

static bool is_random_sym(const struct rv_nat_info *n)
{
	return (n->type == RV_NAT_ADDR_SYMMETRIC || n->type == RV_NAT_PORT_SYMMETRIC) &&
	       n->alloc == RV_ALLOC_RANDOM;
}

/* The lab's matrix: both NATs of a cell allocate the same way. */
Test(strategy, every_pair_gets_a_plan_and_only_two_random_symmetric_nats_need_the_relay)
{
	for (size_t i = 0; i < 6; i++)
		for (size_t j = 0; j < 6; j++)
			for (size_t a = 0; a < 2; a++)
				for (size_t b = a; b == a; b++) {
					struct rv_nat_info x = nat(types[i], allocs[a]);
					struct rv_nat_info y = nat(types[j], allocs[b]);
					struct rv_plan p;

					cr_assert_eq(rv_plan_pick(&x, &y, RV_STRAT_AUTO, &p), 0);
					bool relay = is_random_sym(&x) && is_random_sym(&y);
					cr_assert_eq(p.strategy == RV_STRAT_RELAY, relay,
					             "%s/%s -> %s/%s: %s", rv_nat_type_str(x.type),
					             rv_alloc_str(x.alloc), rv_nat_type_str(y.type),
					             rv_alloc_str(y.alloc),
					             rv_strategy_str(p.strategy));
					cr_assert_eq(p.direct, !relay);
				}
}

Test(strategy, a_full_cone_or_public_side_is_reached_directly_by_the_other)
{
	struct rv_nat_info fc = nat(RV_NAT_FULL_CONE, RV_ALLOC_RANDOM);
	struct rv_nat_info ps = nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	struct rv_plan p;

	cr_assert_eq(rv_plan_pick(&ps, &fc, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_DIRECT);
	cr_assert_eq(p.sender, RV_ROLE_CALLER);
	cr_assert_eq(rv_plan_pick(&fc, &ps, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.sender, RV_ROLE_CALLEE, "the unreachable side sends first");
	ps.flags = RV_NAT_FLAG_DIRECT;
	cr_assert(rv_nat_reachable(&ps));
}

Test(strategy, document_pairs_use_its_methods_with_the_fig6_swap)
{
	struct rv_nat_info pr = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	struct rv_nat_info as = nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	struct rv_nat_info ps = nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	struct rv_plan p;

	/* PR caller to AS callee: E1 exchanges roles (Fig. 6 S204). */
	cr_assert_eq(rv_plan_pick(&pr, &as, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_E1);
	cr_assert_eq(p.sender, RV_ROLE_CALLEE);
	/* ...while E4 needs no exchange: the PR caller replies. */
	cr_assert_eq(rv_plan_pick(&pr, &as, RV_STRAT_E4, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_E4);
	cr_assert_eq(p.sender, RV_ROLE_CALLEE);
	/* PS to PS: impossible for the document, predicted by us. */
	cr_assert_eq(rv_plan_pick(&ps, &ps, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_PREDICT);
}

Test(strategy, random_symmetric_against_a_cone_is_a_birthday_with_the_hard_side_first)
{
	struct rv_nat_info pr = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_RANDOM);
	struct rv_nat_info ps = nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	struct rv_nat_info as = nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM);
	struct rv_plan p;

	cr_assert_eq(rv_plan_pick(&ps, &pr, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_BIRTHDAY);
	cr_assert_eq(p.sender, RV_ROLE_CALLER);
	cr_assert_eq(rv_plan_pick(&pr, &as, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_BIRTHDAY);
	cr_assert_eq(p.sender, RV_ROLE_CALLEE);
}

Test(strategy, e1_and_e4_need_the_ports_they_must_find_to_be_predictable)
{
	/* An AS NAT with random allocation cannot send the bubbles, so E1 runs
	 * with the roles exchanged: the cone side sends, the AS side sprays
	 * (its address filter lets any port of the cone NAT in). */
	struct rv_nat_info as = nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM);
	struct rv_nat_info r = nat(RV_NAT_RESTRICTED, RV_ALLOC_RANDOM);
	struct rv_nat_info ps = nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	struct rv_plan p;

	cr_assert(!rv_nat_predictable(&as));
	cr_assert(rv_nat_predictable(&r), "a cone NAT reuses its mapping");
	cr_assert_eq(rv_plan_pick(&as, &r, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_E1);
	cr_assert_eq(p.sender, RV_ROLE_CALLEE);
	/* Random AS against sequential PS: the PS sender filters by port and
	 * the AS replier's mapping is address-dependent; the AS sender is
	 * unpredictable; no plan but the relay. */
	cr_assert_eq(rv_plan_pick(&as, &ps, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_RELAY);
}

Test(strategy, unclassified_nats_and_bad_preferences_are_refused)
{
	struct rv_nat_info unknown = { 0 }, pr = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	struct rv_nat_info blocked = { .type = RV_NAT_BLOCKED };
	struct rv_plan p;

	cr_assert_eq(rv_plan_pick(&unknown, &pr, RV_STRAT_AUTO, &p), -EINVAL);
	cr_assert_eq(rv_plan_pick(&pr, &blocked, RV_STRAT_AUTO, &p), -EINVAL);
	cr_assert_eq(rv_plan_pick(&pr, &pr, RV_STRAT_BIRTHDAY, &p), -EINVAL);
}

Test(strategy, birthday_odds)
{
	/* 256 hard mappings, 1024 random probes over 64512 ports: 1 - (1 - 256/64512)^1024
	 * is about 98.3 %. */
	cr_assert_eq(rv_birthday_pct(256, 1024, 64512), 98);
	cr_assert_eq(rv_birthday_pct(1, 1, 100), 1);
	cr_assert_eq(rv_birthday_pct(50, 1, 100), 50);
	cr_assert_eq(rv_birthday_pct(10, 95, 100), 100, "more probes than misses: certain");
	cr_assert_eq(rv_birthday_pct(0, 10, 100), 0);
	cr_assert_eq(rv_birthday_pct(10, 0, 100), 0);
	cr_assert_eq(rv_birthday_pct(200, 10, 100), 0, "absurd input");
}
