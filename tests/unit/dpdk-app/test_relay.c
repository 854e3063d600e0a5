/* rvdp's relay tables (dp_relay.h) with the real liburcu: grants, binds,
 * the forwarding index, quotas, queries, expiry, and lcores routing while
 * the writer changes everything under them. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <urcu-qsbr.h>

#include "dpdk-app/dp_relay.h"
#include "stress.h"

#define N_OF(a)        (sizeof(a) / sizeof((a)[0]))
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define T0             1795000000000ull /* a Unix ms the tests start at */
#define HOUR           3600000ull

/* The test thread is the dp writer thread (registered, online) and, in
 * most tests, the lcore too; torn down the way rvdp does it. */
static struct dp_relays *t;

static void setup(void)
{
	urcu_qsbr_register_thread();
	t = dp_relay_create(0x5eed, 16, 1ul << 16, 2, 3);
	cr_assert_not_null(t);
}

static void teardown(void)
{
	urcu_qsbr_barrier();
	dp_relay_destroy(t);
	urcu_qsbr_unregister_thread();
}

TestSuite(relay, .init = setup, .fini = teardown);

static struct dp_relay_grant grant(uint64_t id, uint16_t ch, struct rv_relay_quota q)
{
	struct dp_relay_grant g = { .relay = id, .channel = ch, .quota = q };

	for (int i = 0; i < DP_KEY_LEN; i++)
		g.key[i] = (uint8_t)(id * 7 + (uint64_t)i);
	return g;
}

static void set(uint64_t id, uint16_t ch, struct rv_relay_quota q)
{
	struct dp_relay_grant g = grant(id, ch, q);

	cr_assert_eq(dp_relay_set(t, &g, T0), 0);
}

static const struct rv_relay_quota open_q = { .expires_ms = T0 + HOUR };

/* Caller at 198.51.100.7:40000, callee at 203.0.113.9:50000. */
#define A_IP   IP(198, 51, 100, 7)
#define A_PORT 40000
#define B_IP   IP(203, 0, 113, 9)
#define B_PORT 50000

static void bind_both(uint64_t id)
{
	cr_assert_eq(dp_relay_bind(t, id, 0, A_IP, A_PORT, T0), 1);
	cr_assert_eq(dp_relay_bind(t, id, 1, B_IP, B_PORT, T0), 1);
}

static enum dp_relay_route route(uint32_t ip, uint16_t port, uint16_t ch, uint16_t len,
                                 uint64_t now, struct dp_relay_dst *to)
{
	return dp_relay_route(t, ip, port, ch, len, now, to);
}

/* --- grants and lookups ------------------------------------------------- */

Test(relay, a_granted_relay_is_found_with_its_key_until_it_expires)
{
	struct dp_relay_ref ref;
	struct dp_relay_grant g = grant(7, 0x4001, open_q);

	set(7, 0x4001, open_q);
	cr_assert_eq(dp_relay_lookup(t, 7, T0, &ref), 0);
	cr_assert_arr_eq(ref.key, g.key, DP_KEY_LEN);
	cr_assert_eq(dp_relay_lookup(t, 8, T0, &ref), -ENOENT, "never granted");
	cr_assert_eq(dp_relay_lookup(t, 7, T0 + HOUR - 1, &ref), 0);
	cr_assert_eq(dp_relay_lookup(t, 7, T0 + HOUR, &ref), -ENOENT, "expiry is inclusive");
	cr_assert_eq(dp_relay_count(t), 1);
}

Test(relay, a_relay_without_an_expiry_never_expires)
{
	struct dp_relay_ref ref;

	set(9, 0x4002, (struct rv_relay_quota){ 0 });
	cr_assert_eq(dp_relay_lookup(t, 9, UINT64_MAX - 1, &ref), 0);
	cr_assert_eq(dp_relay_expire(t, UINT64_MAX - 1), 0);
}

Test(relay, deleting_forgets_the_relay_and_its_routes)
{
	struct dp_relay_ref ref;
	struct dp_relay_dst to;

	set(7, 0x4001, open_q);
	bind_both(7);
	cr_assert_eq(dp_relay_del(t, 7), 0);
	cr_assert_eq(dp_relay_del(t, 7), -ENOENT);
	cr_assert_eq(dp_relay_lookup(t, 7, T0, &ref), -ENOENT);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0, &to), DP_RELAY_NO_ROUTE);
	cr_assert_eq(route(B_IP, B_PORT, 0x4001, 10, T0, &to), DP_RELAY_NO_ROUTE);
	cr_assert_eq(dp_relay_bind(t, 7, 0, A_IP, A_PORT, T0), -ENOENT, "a late bind finds none");
	cr_assert_eq(dp_relay_count(t), 0);
}

Test(relay, flush_forgets_every_relay_and_says_how_many)
{
	struct dp_relay_dst to;

	for (uint64_t id = 1; id <= 5; id++)
		set(id, (uint16_t)(0x4000 + id), open_q);
	bind_both(3);
	cr_assert_eq(dp_relay_flush(t), 5);
	cr_assert_eq(dp_relay_count(t), 0);
	cr_assert_eq(route(A_IP, A_PORT, 0x4003, 10, T0, &to), DP_RELAY_NO_ROUTE);
}

Test(relay, expiry_removes_a_relay_only_after_it_lingered_for_the_last_query)
{
	struct rv_dpc_relay_side side[2];
	uint8_t flags;

	set(1, 0x4001, (struct rv_relay_quota){ .expires_ms = T0 + 1000 });
	set(2, 0x4002, open_q);
	cr_assert_eq(dp_relay_expire(t, T0 + 1000), 0, "expired, still readable");
	cr_assert_eq(dp_relay_query(t, 1, T0 + 1000, side, &flags), 0);
	cr_assert_eq(flags, RV_DPC_RELAY_EXPIRED);
	cr_assert_eq(dp_relay_expire(t, T0 + 1000 + DP_RELAY_LINGER_MS - 1), 0);
	cr_assert_eq(dp_relay_expire(t, T0 + 1000 + DP_RELAY_LINGER_MS), 1);
	cr_assert_eq(dp_relay_query(t, 1, T0, side, &flags), -ENOENT);
	cr_assert_eq(dp_relay_query(t, 2, T0, side, &flags), 0, "the other stays");
}

/* --- binds and routes ------------------------------------------------------ */

Test(relay, each_bound_side_reaches_the_other_and_nothing_else_routes)
{
	struct dp_relay_dst to;

	set(7, 0x4abc, open_q);
	cr_assert_eq(route(A_IP, A_PORT, 0x4abc, 10, T0, &to), DP_RELAY_NO_ROUTE, "nobody bound");
	cr_assert_eq(dp_relay_bind(t, 7, 0, A_IP, A_PORT, T0), 1);
	cr_assert_eq(route(A_IP, A_PORT, 0x4abc, 10, T0, &to), DP_RELAY_UNBOUND,
	             "the callee has not bound");
	cr_assert_eq(dp_relay_bind(t, 7, 1, B_IP, B_PORT, T0), 1);
	cr_assert_eq(route(A_IP, A_PORT, 0x4abc, 10, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(to.ip, B_IP);
	cr_assert_eq(to.port, B_PORT);
	cr_assert_eq(route(B_IP, B_PORT, 0x4abc, 10, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(to.ip, A_IP);
	cr_assert_eq(to.port, A_PORT);
	/* A stranger, another port of the same NAT, another channel. */
	cr_assert_eq(route(IP(192, 0, 2, 77), A_PORT, 0x4abc, 10, T0, &to), DP_RELAY_NO_ROUTE);
	cr_assert_eq(route(A_IP, A_PORT + 1, 0x4abc, 10, T0, &to), DP_RELAY_NO_ROUTE);
	cr_assert_eq(route(A_IP, A_PORT, 0x4abd, 10, T0, &to), DP_RELAY_NO_ROUTE);
}

Test(relay, a_bind_renewal_from_the_same_endpoint_changes_nothing)
{
	struct dp_relay_dst to;

	set(7, 0x4001, open_q);
	bind_both(7);
	cr_assert_eq(dp_relay_bind(t, 7, 0, A_IP, A_PORT, T0 + 5), 0);
	cr_assert_eq(route(B_IP, B_PORT, 0x4001, 10, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(to.port, A_PORT);
}

Test(relay, a_side_that_rebinds_elsewhere_loses_its_old_route)
{
	struct dp_relay_dst to;

	set(7, 0x4001, open_q);
	bind_both(7);
	cr_assert_eq(dp_relay_bind(t, 7, 0, A_IP, A_PORT + 2, T0), 1, "the NAT moved the mapping");
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0, &to), DP_RELAY_NO_ROUTE);
	cr_assert_eq(route(A_IP, A_PORT + 2, 0x4001, 10, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(route(B_IP, B_PORT, 0x4001, 10, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(to.port, A_PORT + 2, "the callee reaches the new mapping");
}

Test(relay, a_bind_names_side_0_or_1_only)
{
	set(7, 0x4001, open_q);
	cr_assert_eq(dp_relay_bind(t, 7, 2, A_IP, A_PORT, T0), -EINVAL);
}

Test(relay, an_endpoint_and_channel_route_to_the_latest_bind_and_survive_the_old_owner)
{
	struct dp_relay_dst to;

	set(1, 0x4001, open_q);
	set(2, 0x4001, open_q);
	bind_both(1);
	cr_assert_eq(dp_relay_bind(t, 2, 1, IP(192, 0, 2, 50), 6000, T0), 1);
	cr_assert_eq(dp_relay_bind(t, 2, 0, A_IP, A_PORT, T0), 1, "relay 2 takes A's route");
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(to.ip, IP(192, 0, 2, 50));
	cr_assert_eq(dp_relay_del(t, 1), 0);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0, &to), DP_RELAY_PASS,
	             "deleting relay 1 leaves relay 2's route alone");
	cr_assert_eq(to.ip, IP(192, 0, 2, 50));
}

Test(relay, a_replaced_grant_keeps_bound_sides_and_usage_and_moves_the_routes_to_its_channel)
{
	struct rv_dpc_relay_side side[2];
	struct dp_relay_dst to;
	struct dp_relay_ref ref;
	struct dp_relay_grant g2 = grant(7, 0x4002, open_q);
	uint8_t flags;

	set(7, 0x4001, open_q);
	bind_both(7);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 100, T0, &to), DP_RELAY_PASS);
	g2.key[0] ^= 0xff;
	cr_assert_eq(dp_relay_set(t, &g2, T0 + 10), 0);
	cr_assert_eq(dp_relay_count(t), 1);
	cr_assert_eq(dp_relay_lookup(t, 7, T0, &ref), 0);
	cr_assert_arr_eq(ref.key, g2.key, DP_KEY_LEN, "the new key checks binds");
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 100, T0, &to), DP_RELAY_NO_ROUTE, "old channel");
	cr_assert_eq(route(A_IP, A_PORT, 0x4002, 100, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(to.ip, B_IP);
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(side[0].packets, 2);
	cr_assert_eq(side[0].bytes, 200);
	cr_assert_eq(side[1].bound.port, B_PORT);
}

/* --- quotas ----------------------------------------------------------------------- */

Test(relay, the_byte_quota_covers_both_directions_and_marks_the_relay)
{
	struct rv_dpc_relay_side side[2];
	struct dp_relay_dst to;
	uint8_t flags;

	set(7, 0x4001, (struct rv_relay_quota){ .expires_ms = T0 + HOUR, .bytes = 250 });
	bind_both(7);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 100, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(route(B_IP, B_PORT, 0x4001, 100, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(flags, 0, "50 bytes left");
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 51, T0, &to), DP_RELAY_OVER_BYTES);
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(flags, RV_DPC_RELAY_OVER_BYTES, "a refusal marks it");
	cr_assert_eq(route(B_IP, B_PORT, 0x4001, 50, T0, &to), DP_RELAY_PASS, "what fits passes");
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(side[0].bytes + side[1].bytes, 250);
	cr_assert_eq(side[0].dropped, 1);
	cr_assert_eq(side[1].dropped, 0);
}

Test(relay, a_spent_byte_quota_flags_the_relay_without_a_refusal)
{
	struct rv_dpc_relay_side side[2];
	struct dp_relay_dst to;
	uint8_t flags;

	set(7, 0x4001, (struct rv_relay_quota){ .expires_ms = T0 + HOUR, .bytes = 100 });
	bind_both(7);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 100, T0, &to), DP_RELAY_PASS);
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(flags, RV_DPC_RELAY_OVER_BYTES);
}

Test(relay, the_rate_applies_per_side_with_its_burst)
{
	struct rv_dpc_relay_side side[2];
	struct dp_relay_dst to;
	uint8_t flags;

	set(7, 0x4001,
	    (struct rv_relay_quota){ .expires_ms = T0 + HOUR, .rate_pps = 10, .burst = 3 });
	bind_both(7);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0, &to), DP_RELAY_PASS, "#%d", i);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0, &to), DP_RELAY_OVER_RATE);
	cr_assert_eq(route(B_IP, B_PORT, 0x4001, 10, T0, &to), DP_RELAY_PASS, "B has its own");
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0 + 100, &to), DP_RELAY_PASS,
	             "10/s: one more after 100 ms");
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(flags, RV_DPC_RELAY_RATE_DROPS);
	cr_assert_eq(side[0].dropped, 1);
}

Test(relay, past_its_expiry_a_relay_forwards_nothing_and_says_so)
{
	struct rv_dpc_relay_side side[2];
	struct dp_relay_dst to;
	uint8_t flags;

	set(7, 0x4001, (struct rv_relay_quota){ .expires_ms = T0 + 1000 });
	bind_both(7);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0 + 999, &to), DP_RELAY_PASS);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 10, T0 + 1000, &to), DP_RELAY_EXPIRED);
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(flags, RV_DPC_RELAY_EXPIRED, "marked even when asked before the expiry");
}

Test(relay, a_query_reports_both_sides_and_the_later_of_bind_and_traffic)
{
	struct rv_dpc_relay_side side[2];
	struct dp_relay_dst to;
	uint8_t flags = 0xff;
	char buf[RV_ADDR_STRLEN];

	set(7, 0x4001, open_q);
	cr_assert_eq(dp_relay_query(t, 7, T0, side, &flags), 0);
	cr_assert_eq(side[0].bound.family, RV_AF_NONE, "not bound: family 0");
	cr_assert_eq(side[1].bound.family, RV_AF_NONE);
	cr_assert_eq(flags, 0);
	cr_assert_eq(dp_relay_bind(t, 7, 0, A_IP, A_PORT, T0 + 100), 1);
	cr_assert_eq(dp_relay_bind(t, 7, 1, B_IP, B_PORT, T0 + 200), 1);
	cr_assert_eq(route(A_IP, A_PORT, 0x4001, 33, T0 + 300, &to), DP_RELAY_PASS);
	cr_assert_eq(dp_relay_query(t, 7, T0 + 400, side, &flags), 0);
	cr_assert_str_eq(rv_addr_fmt(&side[0].bound, buf, sizeof(buf)), "198.51.100.7:40000");
	cr_assert_str_eq(rv_addr_fmt(&side[1].bound, buf, sizeof(buf)), "203.0.113.9:50000");
	cr_assert_eq(side[0].packets, 1);
	cr_assert_eq(side[0].bytes, 33);
	cr_assert_eq(side[0].seen_ms, T0 + 300, "its datagram");
	cr_assert_eq(side[1].packets, 0);
	cr_assert_eq(side[1].seen_ms, T0 + 200, "its bind");
	cr_assert_eq(dp_relay_query(t, 8, T0, side, &flags), -ENOENT);
}

Test(relay, binds_are_rate_limited_per_relay)
{
	struct dp_relay_ref ref;
	int ok = 0;

	set(7, 0x4001, open_q);
	set(8, 0x4002, open_q);
	cr_assert_eq(dp_relay_lookup(t, 7, T0, &ref), 0);
	for (int i = 0; i < 10; i++)
		ok += dp_relay_bind_rate(&ref, T0);
	cr_assert_eq(ok, 3, "burst 3 (the suite's table)");
	cr_assert(dp_relay_bind_rate(&ref, T0 + 500), "2/s: one more after 500 ms");
	cr_assert_eq(dp_relay_lookup(t, 8, T0, &ref), 0);
	cr_assert(dp_relay_bind_rate(&ref, T0), "relay 8 has its own bucket");
}

Test(relay, a_relay_costs_at_most_eight_cache_lines)
{
	size_t b = dp_relay_entry_bytes();

	cr_log_info("per-relay bytes (both sides bound): %zu", b);
	cr_assert_leq(b, 8 * 64);
}

Test(relay_create, rejects_bucket_counts_that_are_not_powers_of_two)
{
	const unsigned long bad[][2] = { { 0, 16 }, { 3, 16 }, { 16, 0 }, { 32, 16 } };

	for (size_t i = 0; i < N_OF(bad); i++) {
		errno = 0;
		cr_assert_null(dp_relay_create(1, bad[i][0], bad[i][1], 0, 0));
		cr_assert_eq(errno, EINVAL);
	}
}

Test(relay, ten_thousand_relays_bound_both_ways_stay_routable, .timeout = 20)
{
	const uint64_t n = 10000;
	struct dp_relay_dst to;

	for (uint64_t id = 1; id <= n; id++) {
		set(id, (uint16_t)(0x4000 + id % 0x1000), open_q);
		cr_assert_eq(dp_relay_bind(t, id, 0, A_IP, (uint16_t)id, T0), 1);
		cr_assert_eq(dp_relay_bind(t, id, 1, B_IP, (uint16_t)id, T0), 1);
		if (id % 256 == 0)
			urcu_qsbr_quiescent_state(); /* resizes wait for grace periods */
	}
	for (uint64_t id = 1; id <= n; id++) {
		cr_assert_eq(
		        route(A_IP, (uint16_t)id, (uint16_t)(0x4000 + id % 0x1000), 1, T0, &to),
		        DP_RELAY_PASS);
		cr_assert_eq(to.ip, B_IP);
		cr_assert_eq(to.port, (uint16_t)id);
	}
	cr_assert_eq(dp_relay_flush(t), n);
}

/* --- concurrency: lcores routing while the writer changes everything --------- */

#define CC_RELAYS  12
#define CC_READERS 3
#define CC_RUN_NS  1000000000ll

/* Side s of relay r binds at 10.r.s.k:(1000 + 4r + 2s + k), k = 0 or 1: a
 * destination names the relay and the side it belongs to. */
static uint32_t cc_ip(uint64_t r, unsigned s, unsigned k)
{
	return IP(10, r, s, k);
}

static uint16_t cc_port(uint64_t r, unsigned s, unsigned k)
{
	return (uint16_t)(1000 + 4 * r + 2 * s + k);
}

static uint16_t cc_channel(uint64_t r, unsigned gen)
{
	return (uint16_t)(0x4000 + 2 * r + gen % 2);
}

struct cc {
	atomic_bool stop;
	atomic_ulong passes;
	struct stress_fail fail;
};

struct cc_reader {
	struct cc *cc;
	unsigned no;
	pthread_t th;
};

/* An lcore: routes its own relays' sides (one writer per side, as RSS
 * gives rvdp), checks every destination is the partner side's. */
static void *cc_lcore(void *arg)
{
	struct cc_reader *rd = arg;
	struct cc *cc = rd->cc;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (rd->no + 1);

	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&cc->stop, memory_order_relaxed)) {
		for (int i = 0; i < 32; i++) {
			uint64_t x = stress_rand(&rng);
			uint64_t r = 1 + (x % (CC_RELAYS / CC_READERS)) * CC_READERS + rd->no;
			unsigned s = x >> 8 & 1, k = x >> 9 & 1, gen = x >> 10 & 1;
			struct dp_relay_dst to;
			enum dp_relay_route v = dp_relay_route(t, cc_ip(r, s, k), cc_port(r, s, k),
			                                       cc_channel(r, gen), 100, T0, &to);

			if (v != DP_RELAY_PASS)
				continue;
			if (to.ip >> 16 != (IP(10, r, 0, 0) >> 16) || (to.ip >> 8 & 0xff) != !s)
				stress_fail(&cc->fail, "routed to a stranger", r, to.ip);
			else if (to.port != cc_port(r, !s, to.ip & 1))
				stress_fail(&cc->fail, "a torn endpoint", r, to.port);
			atomic_fetch_add_explicit(&cc->passes, 1, memory_order_relaxed);
		}
		urcu_qsbr_quiescent_state();
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

Test(relay, concurrent_lcores_route_only_to_the_partner_while_the_writer_rebinds_and_replaces)
{
	static struct cc cc = { .fail.have_msg = ATOMIC_FLAG_INIT };
	struct cc_reader rd[CC_READERS];
	unsigned gen[CC_RELAYS + 1] = { 0 };
	uint64_t rng = 777, ops = 0;
	int64_t end;

	for (int i = 0; i < CC_READERS; i++) {
		rd[i] = (struct cc_reader){ .cc = &cc, .no = (unsigned)i };
		cr_assert_eq(pthread_create(&rd[i].th, NULL, cc_lcore, &rd[i]), 0);
	}
	end = stress_now_ns() + CC_RUN_NS;
	while (stress_now_ns() < end) {
		uint64_t x = stress_rand(&rng), r = 1 + (x >> 8) % CC_RELAYS;
		unsigned s = x >> 16 & 1, k = x >> 17 & 1;
		struct dp_relay_grant g;
		struct rv_dpc_relay_side side[2];
		uint8_t flags;

		switch (x % 8) {
		case 0:
		case 1:
			g = grant(r, cc_channel(r, ++gen[r]), open_q);
			if (dp_relay_set(t, &g, T0) != 0)
				stress_fail(&cc.fail, "set failed", r, gen[r]);
			break;
		case 2:
			dp_relay_del(t, r);
			break;
		case 3:
			(void)dp_relay_query(t, r, T0, side, &flags);
			break;
		default:
			(void)dp_relay_bind(t, r, s, cc_ip(r, s, k), cc_port(r, s, k), T0);
		}
		ops++;
		urcu_qsbr_quiescent_state();
	}
	atomic_store(&cc.stop, true);
	for (int i = 0; i < CC_READERS; i++)
		pthread_join(rd[i].th, NULL);
	cr_log_info("writer ops %llu, datagrams routed %lu", (unsigned long long)ops,
	            atomic_load(&cc.passes));
	cr_assert_eq(atomic_load(&cc.fail.n), 0, "%s", cc.fail.msg);
	cr_assert_gt(atomic_load(&cc.passes), 1000, "the lcores did route against the writer");
	cr_assert_gt(ops, 1000);
}
