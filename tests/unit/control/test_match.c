/* Matching (third embodiment): requirements, exclusions, NAT-aware ranking,
 * closeness, fairness, bounds, third parties, the peer record. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "control/ctl_match.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NOW     1000000u

/* Lab presets: a type with an allocation mode, behaviours from the type. */
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

/* A seeking registration, online until well after NOW. id names it (first
 * locator byte) and orders it among equals; registered_ms = NOW - wait_ms. */
static struct ctl_reg reg(uint8_t id, struct rv_nat_info n, uint64_t wait_ms)
{
	struct ctl_reg r = { .nat = n };

	r.locator[0] = id;
	r.community.flags = RV_COMM_SEEKING;
	r.registered_ms = NOW - wait_ms;
	r.refreshed_ms = NOW - 1;
	r.expires_ms = NOW + 60000;
	r.addr = rv_addr_v4(0xC0000200u + id, (uint16_t)(40000 + id)); /* 192.0.2.x */
	return r;
}

static void attr(struct ctl_reg *r, uint16_t key, int32_t value)
{
	cr_assert_lt(r->community.n, RV_COMM_ATTRS);
	r->community.attrs[r->community.n++] = (struct rv_kv){ key, value };
}

static struct rv_nat_info fc(void)
{
	return nat(RV_NAT_FULL_CONE, RV_ALLOC_SEQUENTIAL);
}

/* Locator ids of the results, in order, as a string ("\x03\x01..."). */
static void ids(const struct ctl_match_result *out, int n, const struct ctl_reg *c, char *s)
{
	for (int i = 0; i < n; i++)
		s[i] = (char)c[out[i].index].locator[0];
	s[n] = 0;
}

/* --- requirement filtering ------------------------------------------------ */

struct fit_case {
	bool has;      /* the candidate carries the key at all */
	uint16_t key;  /* the key it carries */
	int32_t value; /* its value */
	bool fits;
};

ParameterizedTestParameters(match, a_candidate_fits_only_with_the_key_inside_min_max)
{
	static struct fit_case cases[] = {
		{ true, RV_KEY_LEVEL, 29, false },    /* below */
		{ true, RV_KEY_LEVEL, 30, true },     /* min, inclusive */
		{ true, RV_KEY_LEVEL, 40, true },     /* inside */
		{ true, RV_KEY_LEVEL, 50, true },     /* max, inclusive */
		{ true, RV_KEY_LEVEL, 51, false },    /* above */
		{ true, RV_KEY_AGE_BAND, 40, false }, /* a value in range under another key */
		{ false, 0, 0, false },               /* no attribute at all */
		{ true, RV_KEY_LEVEL, INT32_MIN, false },
		{ true, RV_KEY_LEVEL, INT32_MAX, false },
	};

	return cr_make_param_array(struct fit_case, cases, N_OF(cases));
}

ParameterizedTest(struct fit_case *fc_, match, a_candidate_fits_only_with_the_key_inside_min_max)
{
	struct ctl_reg self = reg(1, fc(), 0), cand = reg(2, fc(), 0);
	struct rv_require req = { RV_KEY_LEVEL, 30, 50 };
	struct ctl_match_result out[1];

	if (fc_->has)
		attr(&cand, fc_->key, fc_->value);
	cr_assert_eq(ctl_match_find(&self, &req, 1, 1, &cand, 1, NOW, out), fc_->fits ? 1 : 0,
	             "key %u value %d", fc_->key, fc_->value);
	if (fc_->fits)
		cr_assert_eq(out[0].index, 0);
}

Test(match, every_requirement_must_hold_not_just_one)
{
	struct ctl_reg self = reg(1, fc(), 0), c[3];
	struct rv_require req[] = { { RV_KEY_APP_TYPE, 7, 7 }, { RV_KEY_LEVEL, 30, 50 } };
	struct ctl_match_result out[3];
	char got[4];

	c[0] = reg(10, fc(), 0); /* both hold */
	attr(&c[0], RV_KEY_LEVEL, 35);
	attr(&c[0], RV_KEY_APP_TYPE, 7);
	c[1] = reg(11, fc(), 0); /* another application type */
	attr(&c[1], RV_KEY_APP_TYPE, 8);
	attr(&c[1], RV_KEY_LEVEL, 35);
	c[2] = reg(12, fc(), 0); /* the right type, no level */
	attr(&c[2], RV_KEY_APP_TYPE, 7);
	cr_assert_eq(ctl_match_find(&self, req, 2, 3, c, 3, NOW, out), 1);
	ids(out, 1, c, got);
	cr_assert_str_eq(got, "\x0a");
}

Test(match, a_key_listed_twice_fits_when_one_value_is_inside_and_the_closer_counts)
{
	struct ctl_reg self = reg(1, fc(), 0), cand = reg(2, fc(), 0);
	struct rv_require req = { RV_KEY_LEVEL, 30, 50 };
	struct ctl_match_result out[1];

	attr(&self, RV_KEY_LEVEL, 42);
	attr(&cand, RV_KEY_LEVEL, 90); /* outside: ignored */
	attr(&cand, RV_KEY_LEVEL, 31);
	attr(&cand, RV_KEY_LEVEL, 44);
	cr_assert_eq(ctl_match_find(&self, &req, 1, 1, &cand, 1, NOW, out), 1);
	cr_assert_eq(out[0].score, 4, "|2*44 - 2*42|, not the 31's 22");
}

Test(match, without_requirements_every_seeking_candidate_fits_with_score_zero)
{
	struct ctl_reg self = reg(1, fc(), 0), c[2] = { reg(2, fc(), 5), reg(3, fc(), 9) };
	struct ctl_match_result out[2];

	attr(&c[0], RV_KEY_LEVEL, 3);
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 2, c, 2, NOW, out), 2);
	cr_assert_eq(out[0].score, 0);
	cr_assert_eq(out[1].score, 0);
}

Test(match, an_attribute_count_beyond_the_array_reads_only_the_array)
{
	struct ctl_reg self = reg(1, fc(), 0), cand = reg(2, fc(), 0);
	struct rv_require req = { RV_KEY_LEVEL, 1, 1 };
	struct ctl_match_result out[1];
	const uint16_t key = RV_KEY_LEVEL;
	const int32_t one = 1;

	/* What would be attrs[RV_COMM_ATTRS] is the nickname that follows:
	 * make it a fitting level, so a read past the array is seen. */
	cr_assert_eq(offsetof(struct ctl_reg, nickname),
	             offsetof(struct ctl_reg, community) + sizeof(struct rv_community),
	             "the layout this test relies on");
	memcpy(cand.nickname + offsetof(struct rv_kv, key), &key, sizeof(key));
	memcpy(cand.nickname + offsetof(struct rv_kv, value), &one, sizeof(one));
	for (int i = 0; i < RV_COMM_ATTRS; i++)
		attr(&cand, 300, 0);
	cand.community.n = RV_COMM_ATTRS + 1; /* corrupt */
	self.community.n = RV_COMM_ATTRS + 1;
	cr_assert_eq(ctl_match_find(&self, &req, 1, 1, &cand, 1, NOW, out), 0);
}

/* --- exclusions --------------------------------------------------------------- */

Test(match, self_non_seeking_and_expired_candidates_are_never_answered)
{
	struct ctl_reg self = reg(1, fc(), 0), c[6];
	struct ctl_match_result out[6];
	char got[8];

	c[0] = self;            /* the requester, listed by the store */
	c[1] = reg(2, fc(), 0); /* not seeking */
	c[1].community.flags = 0;
	c[2] = reg(3, fc(), 0); /* expired exactly now (the sweeper's <=) */
	c[2].expires_ms = NOW;
	c[3] = reg(4, fc(), 0); /* expired long ago */
	c[3].expires_ms = 1;
	c[4] = reg(5, fc(), 50); /* online one more millisecond */
	c[4].expires_ms = NOW + 1;
	c[5] = reg(6, fc(), 10); /* seeking, other flags too */
	c[5].community.flags = RV_COMM_SEEKING | 0x80;
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 6, c, 6, NOW, out), 2);
	ids(out, 2, c, got);
	cr_assert_str_eq(got, "\x05\x06");
}

Test(match, self_is_recognised_by_locator_not_by_array_position_or_address)
{
	struct ctl_reg self = reg(1, fc(), 0), c[2];
	struct ctl_match_result out[2];

	c[0] = reg(2, fc(), 0);
	c[1] = reg(3, fc(), 0);
	c[0].addr = self.addr; /* same NAT address: another host */
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 2, c, 2, NOW, out), 2);
	c[1].locator[0] = 1;
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 2, c, 2, NOW, out), 1);
	cr_assert_eq(out[0].index, 0);
}

/* --- direct-first ranking ----------------------------------------------------- */

/* The twelve lab presets (RV_PEERS_MAX of them: one answer holds them all). */
static const uint8_t preset_type[] = { RV_NAT_NONE,           RV_NAT_FULL_CONE,
	                               RV_NAT_RESTRICTED,     RV_NAT_PORT_RESTRICTED,
	                               RV_NAT_ADDR_SYMMETRIC, RV_NAT_PORT_SYMMETRIC };
static const uint8_t preset_alloc[] = { RV_ALLOC_SEQUENTIAL, RV_ALLOC_RANDOM };

/* The pairs the lab cannot connect without the relay: an unpredictable
 * symmetric NAT against another symmetric NAT that it cannot predict or be
 * predicted by — written out here, independent of strategy.c. */
static bool needs_relay(const struct rv_nat_info *x, const struct rv_nat_info *y)
{
	bool xr = (x->type == RV_NAT_ADDR_SYMMETRIC || x->type == RV_NAT_PORT_SYMMETRIC) &&
	          x->alloc == RV_ALLOC_RANDOM;
	bool yr = (y->type == RV_NAT_ADDR_SYMMETRIC || y->type == RV_NAT_PORT_SYMMETRIC) &&
	          y->alloc == RV_ALLOC_RANDOM;
	bool xps = x->type == RV_NAT_PORT_SYMMETRIC && x->alloc == RV_ALLOC_SEQUENTIAL;
	bool yps = y->type == RV_NAT_PORT_SYMMETRIC && y->alloc == RV_ALLOC_SEQUENTIAL;

	return (xr && yr) || (xr && yps) || (xps && yr);
}

struct preset {
	uint8_t type, alloc;
};

ParameterizedTestParameters(match, partners_with_a_direct_path_come_before_relayed_ones)
{
	static struct preset p[N_OF(preset_type) * N_OF(preset_alloc)];

	for (size_t i = 0; i < N_OF(p); i++)
		p[i] = (struct preset){ preset_type[i / 2], preset_alloc[i % 2] };
	return cr_make_param_array(struct preset, p, N_OF(p));
}

ParameterizedTest(struct preset *p, match, partners_with_a_direct_path_come_before_relayed_ones)
{
	struct ctl_reg self = reg(200, nat(p->type, p->alloc), 0), c[RV_PEERS_MAX];
	struct ctl_match_result out[RV_PEERS_MAX];
	struct rv_require req = { RV_KEY_LEVEL, 0, 100 };
	size_t n_relay = 0;

	attr(&self, RV_KEY_LEVEL, 50);
	/* Relayed candidates get the perfect level and the longest wait, so
	 * only the NAT preference can put them last. */
	for (size_t i = 0; i < RV_PEERS_MAX; i++) {
		struct rv_nat_info n = nat(preset_type[i / 2], preset_alloc[i % 2]);
		bool relay = needs_relay(&self.nat, &n);

		c[i] = reg((uint8_t)(i + 1), n, relay ? 1000 + i : i);
		attr(&c[i], RV_KEY_LEVEL, relay ? 50 : (int32_t)(60 + i));
		n_relay += relay;
	}
	cr_assert_eq(ctl_match_find(&self, &req, 1, RV_PEERS_MAX, c, RV_PEERS_MAX, NOW, out),
	             RV_PEERS_MAX);
	for (size_t k = 0; k < RV_PEERS_MAX; k++) {
		const struct ctl_reg *r = &c[out[k].index];
		bool relay = needs_relay(&self.nat, &r->nat);

		cr_assert_eq(relay, k >= RV_PEERS_MAX - n_relay, "%s/%s -> %s/%s at rank %zu",
		             rv_nat_type_str(self.nat.type), rv_alloc_str(self.nat.alloc),
		             rv_nat_type_str(r->nat.type), rv_alloc_str(r->nat.alloc), k);
		cr_assert_eq(out[k].direct, !relay);
		cr_assert_eq(out[k].strategy == RV_STRAT_RELAY, relay);
	}
}

Test(match, a_random_symmetric_requester_gets_the_cone_partner_before_a_perfect_symmetric_one)
{
	struct ctl_reg self = reg(1, nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM), 0), c[3];
	struct rv_require req = { RV_KEY_LEVEL, 30, 50 };
	struct ctl_match_result out[3];
	char got[4];

	attr(&self, RV_KEY_LEVEL, 42);
	c[0] = reg(2, nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM), 9000);
	attr(&c[0], RV_KEY_LEVEL, 42); /* perfect, oldest, but relay only */
	c[1] = reg(3, nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_RANDOM), 10);
	attr(&c[1], RV_KEY_LEVEL, 30); /* birthday */
	c[2] = reg(4, nat(RV_NAT_FULL_CONE, RV_ALLOC_RANDOM), 10);
	attr(&c[2], RV_KEY_LEVEL, 50); /* direct as is */
	cr_assert_eq(ctl_match_find(&self, &req, 1, 3, c, 3, NOW, out), 3);
	ids(out, 3, c, got);
	/* Within the direct tier closeness still decides: 50 is 8 from 42,
	 * 30 is 12; the plan's cost does not. */
	cr_assert_str_eq(got, "\x04\x03\x02");
	cr_assert_eq(out[0].strategy, RV_STRAT_DIRECT);
	cr_assert_eq(out[1].strategy, RV_STRAT_BIRTHDAY);
	cr_assert_eq(out[2].strategy, RV_STRAT_RELAY);
	cr_assert(out[1].direct);
	cr_assert_not(out[2].direct);
}

Test(match, an_unclassified_nat_is_answered_but_not_as_direct)
{
	struct ctl_reg self = reg(1, nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL), 0), c[2];
	struct ctl_match_result out[2];

	c[0] = reg(2, (struct rv_nat_info){ .type = RV_NAT_UNKNOWN }, 5000);
	c[1] = reg(3, nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM), 1); /* birthday */
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 2, c, 2, NOW, out), 2);
	cr_assert_eq(out[0].index, 1);
	cr_assert_eq(out[1].index, 0);
	cr_assert_not(out[1].direct);
	cr_assert_eq(out[1].strategy, RV_STRAT_AUTO, "no plan, not a relay verdict");

	/* An unclassified requester: nothing is known direct, all answered. */
	self.nat = (struct rv_nat_info){ .type = RV_NAT_BLOCKED };
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 2, c, 2, NOW, out), 2);
	cr_assert_not(out[0].direct);
	cr_assert_not(out[1].direct);
	cr_assert_eq(out[0].index, 0, "then the longest waiting first");
}

/* --- closeness ------------------------------------------------------------------ */

Test(match, a_level_42_asking_30_to_50_prefers_41_over_31)
{
	struct ctl_reg self = reg(1, fc(), 0), c[5];
	struct rv_require req = { RV_KEY_LEVEL, 30, 50 };
	struct ctl_match_result out[5];
	const int32_t level[] = { 31, 50, 41, 45, 42 };
	char got[6];

	attr(&self, RV_KEY_LEVEL, 42);
	for (size_t i = 0; i < N_OF(level); i++) {
		c[i] = reg((uint8_t)(10 + i), fc(), 1000 - i * 100); /* 31 waited longest */
		attr(&c[i], RV_KEY_LEVEL, level[i]);
	}
	cr_assert_eq(ctl_match_find(&self, &req, 1, 5, c, 5, NOW, out), 5);
	ids(out, 5, c, got);
	cr_assert_str_eq(got, "\x0e\x0c\x0d\x0b\x0a", "42, 41, 45, 50, 31");
	cr_assert_eq(out[0].score, 0);
	cr_assert_eq(out[1].score, 2);
	cr_assert_eq(out[4].score, 22);
}

Test(match, without_an_own_value_the_middle_of_the_range_is_the_target)
{
	struct ctl_reg self = reg(1, fc(), 0), c[3];
	struct rv_require req = { RV_KEY_AGE_BAND, 20, 30 };
	struct ctl_match_result out[3];
	const int32_t band[] = { 20, 24, 29 };
	char got[4];

	attr(&self, RV_KEY_LEVEL, 21); /* another key: not a target for age */
	for (size_t i = 0; i < N_OF(band); i++) {
		c[i] = reg((uint8_t)(10 + i), fc(), 100 - i);
		attr(&c[i], RV_KEY_AGE_BAND, band[i]);
	}
	cr_assert_eq(ctl_match_find(&self, &req, 1, 3, c, 3, NOW, out), 3);
	ids(out, 3, c, got);
	cr_assert_str_eq(got, "\x0b\x0c\x0a", "24 (1 from 25), 29 (4), 20 (5)");
}

Test(match, the_middle_of_an_even_width_range_is_exact_so_its_neighbours_tie)
{
	struct ctl_reg self = reg(1, fc(), 0), c[2];
	struct rv_require req = { RV_KEY_LEVEL, 30, 51 }; /* middle 40.5 */
	struct ctl_match_result out[2];

	c[0] = reg(2, fc(), 10);
	attr(&c[0], RV_KEY_LEVEL, 41);
	c[1] = reg(3, fc(), 20);
	attr(&c[1], RV_KEY_LEVEL, 40);
	cr_assert_eq(ctl_match_find(&self, &req, 1, 2, c, 2, NOW, out), 2);
	cr_assert_eq(out[0].score, 1);
	cr_assert_eq(out[1].score, 1);
	cr_assert_eq(out[0].index, 1, "a tie: the longer wait decides");
	c[0].registered_ms -= 100;
	cr_assert_eq(ctl_match_find(&self, &req, 1, 2, c, 2, NOW, out), 2);
	cr_assert_eq(out[0].index, 0);
}

Test(match, closeness_adds_up_over_the_requirements)
{
	struct ctl_reg self = reg(1, fc(), 0), c[2];
	struct rv_require req[] = { { RV_KEY_LEVEL, 0, 100 }, { RV_KEY_AGE_BAND, 0, 10 } };
	struct ctl_match_result out[2];

	attr(&self, RV_KEY_LEVEL, 50);
	attr(&self, RV_KEY_AGE_BAND, 3);
	c[0] = reg(2, fc(), 100); /* level exact, age 6 away: 0 + 12 */
	attr(&c[0], RV_KEY_LEVEL, 50);
	attr(&c[0], RV_KEY_AGE_BAND, 9);
	c[1] = reg(3, fc(), 0); /* both 2 away: 4 + 4 */
	attr(&c[1], RV_KEY_AGE_BAND, 5);
	attr(&c[1], RV_KEY_LEVEL, 52);
	cr_assert_eq(ctl_match_find(&self, req, 2, 2, c, 2, NOW, out), 2);
	cr_assert_eq(out[0].index, 1);
	cr_assert_eq(out[0].score, 8);
	cr_assert_eq(out[1].score, 12);
}

Test(match, extreme_values_do_not_overflow_the_score)
{
	struct ctl_reg self = reg(1, fc(), 0), c[2];
	struct rv_require req = { RV_KEY_LEVEL, INT32_MIN, INT32_MAX };
	struct ctl_match_result out[2];

	attr(&self, RV_KEY_LEVEL, INT32_MIN);
	c[0] = reg(2, fc(), 0);
	attr(&c[0], RV_KEY_LEVEL, INT32_MAX);
	c[1] = reg(3, fc(), 0);
	attr(&c[1], RV_KEY_LEVEL, 0);
	cr_assert_eq(ctl_match_find(&self, &req, 1, 2, c, 2, NOW, out), 2);
	cr_assert_eq(out[0].index, 1);
	cr_assert_eq(out[1].score, 2 * (uint64_t)((int64_t)INT32_MAX - INT32_MIN));
}

/* --- fairness and determinism --------------------------------------------------- */

Test(match, equal_partners_come_longest_waiting_first_whatever_the_array_order)
{
	/* Four equal candidates: waits 30, 10, 20 and 20 (the last two tie:
	 * the locator decides). Every permutation gives one answer. */
	const struct ctl_reg base[4] = { reg(7, fc(), 30), reg(5, fc(), 10), reg(9, fc(), 20),
		                         reg(3, fc(), 20) };
	struct ctl_reg self = reg(1, fc(), 0);
	int perm[4] = { 0, 1, 2, 3 };
	int rounds = 0;

	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 4; c++)
				for (int d = 0; d < 4; d++) {
					struct ctl_reg arr[4];
					struct ctl_match_result out[4];
					char got[5];

					if (a == b || a == c || a == d || b == c || b == d ||
					    c == d)
						continue;
					perm[0] = a, perm[1] = b, perm[2] = c, perm[3] = d;
					for (int k = 0; k < 4; k++)
						arr[k] = base[perm[k]];
					cr_assert_eq(
					        ctl_match_find(&self, NULL, 0, 4, arr, 4, NOW, out),
					        4);
					ids(out, 4, arr, got);
					cr_assert_str_eq(got, "\x07\x03\x09\x05");
					rounds++;
				}
	cr_assert_eq(rounds, 24);
}

Test(match, the_same_input_gives_the_same_answer_twice)
{
	struct ctl_reg self = reg(1, nat(RV_NAT_RESTRICTED, RV_ALLOC_RANDOM), 0), c[20];
	struct ctl_match_result x[RV_PEERS_MAX], y[RV_PEERS_MAX];
	int nx, ny;

	for (uint8_t i = 0; i < 20; i++)
		c[i] = reg((uint8_t)(i + 2), nat(preset_type[i % 6], preset_alloc[i % 2]), i % 3);
	nx = ctl_match_find(&self, NULL, 0, RV_PEERS_MAX, c, 20, NOW, x);
	ny = ctl_match_find(&self, NULL, 0, RV_PEERS_MAX, c, 20, NOW, y);
	cr_assert_eq(nx, RV_PEERS_MAX);
	cr_assert_eq(nx, ny);
	for (int k = 0; k < nx; k++) {
		cr_assert_eq(x[k].index, y[k].index);
		cr_assert_eq(x[k].direct, y[k].direct);
		cr_assert_eq(x[k].strategy, y[k].strategy);
		cr_assert_eq(x[k].score, y[k].score);
	}
}

/* --- count -------------------------------------------------------------------- */

Test(match, count_keeps_the_best_even_when_they_come_last)
{
	struct ctl_reg self = reg(1, fc(), 0), c[6];
	struct rv_require req = { RV_KEY_LEVEL, 0, 100 };
	struct ctl_match_result out[2];
	char got[3];

	attr(&self, RV_KEY_LEVEL, 60);
	for (size_t i = 0; i < 6; i++) { /* 10, 20, ... 60: the last is the best */
		c[i] = reg((uint8_t)(10 + i), fc(), 0);
		attr(&c[i], RV_KEY_LEVEL, (int32_t)(10 * (i + 1)));
	}
	cr_assert_eq(ctl_match_find(&self, &req, 1, 2, c, 6, NOW, out), 2);
	ids(out, 2, c, got);
	cr_assert_str_eq(got, "\x0f\x0e", "60 then 50");
	cr_assert_eq(ctl_match_find(&self, &req, 1, 1, c, 6, NOW, out), 1);
	cr_assert_eq(out[0].index, 5);
}

Test(match, an_answer_never_holds_more_than_one_peers_attribute)
{
	struct ctl_reg self = reg(1, fc(), 0), c[30];
	struct ctl_match_result out[RV_PEERS_MAX + 1];

	for (size_t i = 0; i < 30; i++)
		c[i] = reg((uint8_t)(10 + i), fc(), i);
	memset(out, 0xA5, sizeof(out));
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 1000, c, 30, NOW, out), RV_PEERS_MAX);
	cr_assert_eq(out[0].index, 29, "the longest waiting");
	cr_assert_eq(out[RV_PEERS_MAX - 1].index, 29 - (RV_PEERS_MAX - 1));
	for (size_t b = 0; b < sizeof(out[0]); b++)
		cr_assert_eq(((const uint8_t *)&out[RV_PEERS_MAX])[b], 0xA5,
		             "wrote past min(count, RV_PEERS_MAX)");
}

Test(match, fewer_fitting_than_asked_answers_what_there_is)
{
	struct ctl_reg self = reg(1, fc(), 0), c[2] = { reg(2, fc(), 0), reg(3, fc(), 0) };
	struct ctl_match_result out[5];

	c[1].community.flags = 0;
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 5, c, 2, NOW, out), 1);
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 5, NULL, 0, NOW, out), 0);
}

/* --- third party ------------------------------------------------------------------ */

static struct rv_nat_info ps_random(void)
{
	return nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
}

Test(match, two_random_symmetric_parties_get_the_full_cone_third_party)
{
	struct ctl_reg a = reg(1, ps_random(), 0), b = reg(2, ps_random(), 0), c[5];
	struct rv_plan p;

	cr_assert_eq(rv_plan_pick(&a.nat, &b.nat, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_RELAY, "precondition: a and b cannot meet");
	c[0] = a;
	c[1] = reg(3, nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM), 9000); /* relay with both */
	c[2] = reg(4, fc(), 9000);                                        /* expired */
	c[2].expires_ms = NOW;
	c[3] = reg(5, fc(), 10);
	c[4] = b;
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 5, NOW), 3);
}

Test(match, no_third_party_when_nobody_reaches_both)
{
	struct ctl_reg a = reg(1, ps_random(), 0), b = reg(2, ps_random(), 0), c[4];

	c[0] = reg(3, nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM), 0);
	c[1] = reg(4, ps_random(), 0);
	c[2] = reg(5, (struct rv_nat_info){ .type = RV_NAT_UNKNOWN }, 0);
	c[3] = reg(6, fc(), 0);
	c[3].expires_ms = NOW - 1;
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 4, NOW), -ENOENT);
	cr_assert_eq(ctl_match_third_party(&a, &b, NULL, 0, NOW), -ENOENT);
	/* a and b themselves are never their own third party. */
	a.nat = b.nat = fc();
	c[0] = a;
	c[1] = b;
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 2, NOW), -ENOENT);
}

Test(match, a_third_party_only_one_side_reaches_is_refused)
{
	/* Random AS and sequential PS cannot meet; a sequential PS third party
	 * is predicted by the PS side (PREDICT) but the random AS side gets
	 * only the relay to it. */
	struct ctl_reg a = reg(1, nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM), 0);
	struct ctl_reg b = reg(2, nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL), 0);
	struct ctl_reg c = reg(3, nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL), 0);
	struct rv_plan p;

	cr_assert_eq(rv_plan_pick(&a.nat, &b.nat, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_RELAY);
	cr_assert_eq(rv_plan_pick(&b.nat, &c.nat, RV_STRAT_AUTO, &p), 0);
	cr_assert(p.direct, "b reaches c");
	cr_assert_eq(ctl_match_third_party(&a, &b, &c, 1, NOW), -ENOENT);
	cr_assert_eq(ctl_match_third_party(&b, &a, &c, 1, NOW), -ENOENT);
}

Test(match, a_third_party_reachable_without_punching_beats_one_that_needs_it)
{
	struct ctl_reg a = reg(1, ps_random(), 0), b = reg(2, ps_random(), 0), c[3];

	c[0] = reg(3, nat(RV_NAT_RESTRICTED, RV_ALLOC_SEQUENTIAL), 9000); /* E1 for both */
	c[1] = reg(4, nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL), 5000);
	c[1].nat.flags = RV_NAT_FLAG_DIRECT; /* said reachable: port forwarded */
	c[2] = reg(5, fc(), 0);
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 3, NOW), 1,
	             "the flag counts, and among the reachable the longer wait");
	c[1].nat.flags = 0;
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 3, NOW), 2);
}

Test(match, a_reachable_third_party_comes_first_even_when_every_plan_is_direct)
{
	/* a and b reachable themselves (the caller decides when to ask): every
	 * candidate gets DIRECT plans, yet one others can reach as well is the
	 * better relay point. */
	struct ctl_reg a = reg(1, fc(), 0), b = reg(2, fc(), 0), c[2];

	c[0] = reg(3, nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL), 9000);
	c[1] = reg(4, nat(RV_NAT_NONE, RV_ALLOC_SEQUENTIAL), 0);
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 2, NOW), 1);
}

Test(match, a_third_party_needing_less_spraying_is_preferred)
{
	/* Random AS and sequential PS. A sequential PR third party costs the
	 * AS side a birthday; a sequential R one only E1 for both. */
	struct ctl_reg a = reg(1, nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM), 0);
	struct ctl_reg b = reg(2, nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL), 0);
	struct ctl_reg c[3];
	struct rv_plan p;

	c[0] = reg(3, nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL), 9000);
	c[1] = reg(4, nat(RV_NAT_RESTRICTED, RV_ALLOC_SEQUENTIAL), 10);
	c[2] = reg(5, nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL), 20);
	cr_assert_eq(rv_plan_pick(&a.nat, &c[0].nat, RV_STRAT_AUTO, &p), 0);
	cr_assert_eq(p.strategy, RV_STRAT_BIRTHDAY, "precondition");
	/* R and AS-sequential both cost E1 on each side: the longer wait. */
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 3, NOW), 2);
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 2, NOW), 1);
	cr_assert_eq(ctl_match_third_party(&a, &b, c, 1, NOW), 0, "a birthday still beats none");
	/* Either side's spraying counts: the same answers with a and b swapped
	 * (for the PS side alone every candidate is E1). */
	cr_assert_eq(ctl_match_third_party(&b, &a, c, 3, NOW), 2);
	cr_assert_eq(ctl_match_third_party(&b, &a, c, 2, NOW), 1);
}

/* --- the peer record ------------------------------------------------------------- */

Test(match, a_result_becomes_a_peer_record_in_one_call)
{
	struct ctl_reg r = reg(9, nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_RANDOM), 0);
	struct ctl_match_result m = { .index = 0, .direct = true, .strategy = RV_STRAT_E1 };
	struct rv_peer p;

	r.locator[RV_LOCATOR_LEN - 1] = 0x77;
	strcpy(r.nickname, "kaede");
	memset(&p, 0xEE, sizeof(p));
	ctl_match_peer(&m, &r, &p);
	cr_assert_arr_eq(p.locator, r.locator, RV_LOCATOR_LEN);
	cr_assert_eq(p.status, RV_ONLINE);
	cr_assert_eq(p.flags, RV_PEER_DIRECT);
	cr_assert_eq(p.nat_type, RV_NAT_PORT_RESTRICTED);
	cr_assert(rv_addr_eq(&p.addr, &r.addr));
	cr_assert_str_eq(p.nickname, "kaede");
	for (size_t i = strlen("kaede"); i < sizeof(p.nickname); i++)
		cr_assert_eq(p.nickname[i], 0, "NUL-padded for the wire record");

	m = (struct ctl_match_result){ .strategy = RV_STRAT_RELAY };
	ctl_match_peer(&m, &r, &p);
	cr_assert_eq(p.flags, RV_PEER_RELAY);
	m = (struct ctl_match_result){ .strategy = RV_STRAT_AUTO };
	ctl_match_peer(&m, &r, &p);
	cr_assert_eq(p.flags, 0, "no plan: neither claim");
}

Test(match, an_unterminated_nickname_is_cut_at_the_record_size)
{
	struct ctl_reg r = reg(9, fc(), 0);
	struct ctl_match_result m = { .direct = true, .strategy = RV_STRAT_DIRECT };
	struct rv_peer p;

	memset(r.nickname, 'x', sizeof(r.nickname));
	ctl_match_peer(&m, &r, &p);
	cr_assert_eq(strlen(p.nickname), RV_NICK_MAX);
}

Test(match, the_server_fills_an_answer_from_find_and_peer)
{
	struct ctl_reg self = reg(1, ps_random(), 0), c[2];
	struct ctl_match_result out[2];
	struct rv_peer peers[2];
	int n;

	c[0] = reg(2, ps_random(), 100);
	c[1] = reg(3, fc(), 0);
	strcpy(c[1].nickname, "near");
	n = ctl_match_find(&self, NULL, 0, 2, c, 2, NOW, out);
	cr_assert_eq(n, 2);
	for (int k = 0; k < n; k++)
		ctl_match_peer(&out[k], &c[out[k].index], &peers[k]);
	cr_assert_eq(peers[0].locator[0], 3);
	cr_assert_eq(peers[0].flags, RV_PEER_DIRECT);
	cr_assert_str_eq(peers[0].nickname, "near");
	cr_assert_eq(peers[1].flags, RV_PEER_RELAY);
}

/* --- invalid input ------------------------------------------------------------------ */

Test(match, every_invalid_input_is_refused_with_einval)
{
	struct ctl_reg self = reg(1, fc(), 0), c = reg(2, fc(), 0);
	struct rv_require req[RV_REQUIRE_MAX + 1];
	struct ctl_match_result out[RV_PEERS_MAX];

	for (size_t i = 0; i < N_OF(req); i++)
		req[i] = (struct rv_require){ (uint16_t)(100 + i), -5, 5 };
	for (size_t i = 0; i < RV_REQUIRE_MAX; i++) /* fits all but the ninth */
		attr(&c, (uint16_t)(100 + i), 0);
	cr_assert_eq(ctl_match_find(NULL, NULL, 0, 1, &c, 1, NOW, out), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 1, &c, 1, NOW, NULL), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 1, NULL, 1, NOW, out), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, NULL, 1, 1, &c, 1, NOW, out), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, NULL, 0, 0, &c, 1, NOW, out), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, req, RV_REQUIRE_MAX + 1, 1, &c, 1, NOW, out), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, req, RV_REQUIRE_MAX, 1, &c, 1, NOW, out), 1,
	             "the bound itself is fine");
	req[3] = (struct rv_require){ RV_KEY_LEVEL, 10, 9 };
	cr_assert_eq(ctl_match_find(&self, req, RV_REQUIRE_MAX, 1, &c, 1, NOW, out), -EINVAL);
	cr_assert_eq(ctl_match_find(&self, &req[3], 1, 1, NULL, 0, NOW, out), -EINVAL,
	             "checked even with no candidates");
	req[3] = (struct rv_require){ RV_KEY_LEVEL, 9, 9 };
	cr_assert_eq(ctl_match_find(&self, &req[3], 1, 1, NULL, 0, NOW, out), 0, "min == max");

	cr_assert_eq(ctl_match_third_party(NULL, &self, &c, 1, NOW), -EINVAL);
	cr_assert_eq(ctl_match_third_party(&self, NULL, &c, 1, NOW), -EINVAL);
	cr_assert_eq(ctl_match_third_party(&self, &c, NULL, 1, NOW), -EINVAL);
}
