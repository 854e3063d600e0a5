/* The peer's punching state machine, driven by hand: each strategy's
 * sequence of probes, packets, reports and its end. */
#include <criterion/criterion.h>
#include <string.h>

#include "peer/peer_punch.h"
#include "proto/pdg.h"

#define T0 1000000ull

static struct peer_punch p;
static struct peer_act acts[PEER_ACTS];
static size_t n;

static void take(void)
{
	n = peer_punch_take(&p, acts, PEER_ACTS);
}

static struct rv_addr addr(const char *s)
{
	struct rv_addr a;
	cr_assert_eq(rv_addr_parse(s, 0, &a), 0);
	return a;
}

static struct rv_nat_info nat(enum rv_nat_type t, enum rv_alloc al, int16_t delta)
{
	struct rv_nat_info x = {
		.type = (uint8_t)t, .alloc = (uint8_t)al, .delta = delta, .hops = 1
	};
	enum rv_map m;
	enum rv_filt f;

	cr_assert_eq(rv_nat_type_behaviour(t, &m, &f), 0);
	x.map = (uint8_t)m;
	x.filt = (uint8_t)f;
	return x;
}

/* Answer the single PROBE in acts with observed port `port`. */
static void answer_probe(uint8_t kind, uint16_t sock, uint8_t srv, uint16_t port, uint64_t now)
{
	cr_assert_eq(n, 1, "one probe at a time, got %zu actions", n);
	cr_assert_eq(acts[0].kind, PEER_ACT_PROBE);
	cr_assert_eq(acts[0].probe_kind, kind, "probe kind %d, want %d", acts[0].probe_kind, kind);
	cr_assert_eq(acts[0].sock, sock, "probe from socket %u, want %u", acts[0].sock, sock);
	cr_assert_eq(acts[0].srv, srv);
	peer_punch_probe(&p, acts[0].sock, acts[0].probe_kind, acts[0].seq, port, now);
	take();
}

Test(punch, e1_sender_probes_bubbles_reports_and_acks_the_first_reply)
{
	struct peer_instruct in = { .role = RV_ROLE_SENDER,
		                    .strategy = RV_STRAT_E1,
		                    .peer_addr = addr("203.0.113.10:50000"),
		                    .has_target = true,
		                    .target = { 50000, 50000, 1, 1 },
		                    .deadline_ms = 10000 };
	struct rv_nat_info own = nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL, 2);
	struct rv_addr from = addr("203.0.113.10:50000");

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	cr_assert_eq(n, 1);
	cr_assert_eq(acts[0].kind, PEER_ACT_OPEN, "fresh sockets first");
	cr_assert_eq(acts[0].sock, 7, "registration, L, 4 Δ probes, 2 range probes");
	peer_punch_opened(&p, 8, T0);
	take();
	for (int i = 0; i < PEER_DELTA_N; i++)
		answer_probe(RV_PROBE_DELTA, (uint16_t)(2 + i), 0, (uint16_t)(2000 + 2 * i), T0);
	answer_probe(RV_PROBE_RANGE_BEFORE, 6, 0, 2008, T0);
	/* The bubble from L to the target, then the range-after probe to the
	 * alternate server address (S306, S307). */
	cr_assert_eq(n, 2);
	cr_assert_eq(acts[0].kind, PEER_ACT_SEND);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_BUBBLE);
	cr_assert_eq(acts[0].sock, 1);
	cr_assert(rv_addr_eq(&acts[0].to, &from));
	memmove(acts, acts + 1, sizeof(acts[0]));
	n = 1;
	answer_probe(RV_PROBE_RANGE_AFTER, 7, 1, 2014, T0);
	cr_assert_eq(n, 1);
	cr_assert_eq(acts[0].kind, PEER_ACT_REPORT);
	cr_assert_eq(p.n_ports, 6);
	const uint16_t want[] = { 2000, 2002, 2004, 2006, 2008, 2014 };
	cr_assert_arr_eq(p.ports, want, sizeof(want));
	/* A reply reaches L: acknowledged on the same path, done. */
	peer_punch_datagram(&p, 1, &from, RV_PDG_REPLY, 9, T0 + 100);
	take();
	cr_assert_eq(n, 2);
	cr_assert_eq(acts[0].kind, PEER_ACT_SEND);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_ACK);
	cr_assert_eq(acts[0].pdg_seq, 9);
	cr_assert_eq(acts[1].kind, PEER_ACT_DONE);
	cr_assert_eq(acts[1].sock, 1);
	cr_assert_eq(p.phase, PEER_PH_DONE);
}

Test(punch, a_cone_sender_pins_its_port_with_range_probes_from_l_itself)
{
	struct peer_instruct in = { .role = RV_ROLE_SENDER,
		                    .strategy = RV_STRAT_E1,
		                    .peer_addr = addr("203.0.113.10:50000"),
		                    .has_target = true,
		                    .target = { 50000, 50000, 1, 1 } };
	struct rv_nat_info own = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_RANDOM, 0);

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	cr_assert_eq(acts[0].kind, PEER_ACT_OPEN);
	cr_assert_eq(acts[0].sock, 1, "only L: no Δ probes needed");
	peer_punch_opened(&p, 2, T0);
	take();
	answer_probe(RV_PROBE_RANGE_BEFORE, 1, 0, 40000, T0);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_BUBBLE);
	memmove(acts, acts + 1, sizeof(acts[0]));
	n = 1;
	answer_probe(RV_PROBE_RANGE_AFTER, 1, 1, 40000, T0);
	cr_assert_eq(acts[0].kind, PEER_ACT_REPORT);
	cr_assert_eq(p.n_ports, 2);
}

Test(punch, e1_receiver_sprays_the_range_then_retries_with_each_divisor)
{
	struct peer_instruct in = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_E1,
		                    .peer_addr = addr("198.51.100.10:40000"),
		                    .deadline_ms = 20000 },
	                     step = in;
	struct rv_nat_info own = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL, 1);
	uint64_t now = T0;
	uint16_t ports[64];
	unsigned np = 0;

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	cr_assert_eq(n, 0, "the receiver waits for the range");
	step.step = 1;
	step.has_range = true;
	step.range = (struct rv_port_range){ 10135, 10145, 5, 3 };
	step.delta = 5;
	peer_punch_instruct(&p, &step, now);
	/* Run the clock until the first sweep with step 5 twice and the
	 * divisor sweep (step 1) have gone out. */
	for (int t = 0; t < 400 && np < 3 + 3 + 11; t++, now += PEER_TICK_MS) {
		peer_punch_timer(&p, now);
		take();
		for (size_t i = 0; i < n; i++) {
			cr_assert_eq(acts[i].kind, PEER_ACT_SEND);
			cr_assert_eq(acts[i].pdg_type, RV_PDG_REPLY);
			cr_assert_eq(acts[i].sock, 0, "from the registration socket (S312)");
			cr_assert_eq(rv_addr_v4_host(&acts[i].to), 0xc633640a);
			ports[np++] = acts[i].to.port;
		}
	}
	const uint16_t want[] = { 10135, 10140, 10145, 10135, 10140, 10145, 10135, 10136, 10137,
		                  10138, 10139, 10140, 10141, 10142, 10143, 10144, 10145 };
	cr_assert_eq(np, sizeof(want) / sizeof(want[0]));
	cr_assert_arr_eq(ports, want, sizeof(want), "Δ 5 twice, then its divisor 1");
	/* An ACK from the sender ends it. */
	struct rv_addr from = addr("198.51.100.10:10140");
	peer_punch_datagram(&p, 0, &from, RV_PDG_ACK, 2, now);
	take();
	cr_assert_eq(acts[n - 1].kind, PEER_ACT_DONE);
	cr_assert(rv_addr_eq(&p.path_to, &from));
}

Test(punch, e4_receiver_sends_the_low_ttl_assigning_packet_between_its_range_probes)
{
	struct peer_instruct in = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_E4,
		                    .peer_addr = addr("203.0.113.10:50000"),
		                    .ttl = 2 };
	struct rv_nat_info own = nat(RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL, 1);

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	peer_punch_opened(&p, 8, T0);
	take();
	for (int i = 0; i < PEER_DELTA_N; i++)
		answer_probe(RV_PROBE_DELTA, (uint16_t)(2 + i), 0, (uint16_t)(3000 + i), T0);
	answer_probe(RV_PROBE_RANGE_BEFORE, 6, 0, 3004, T0);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_ASSIGN);
	cr_assert_eq(acts[0].ttl, 2, "dies past its own NAT (S609)");
	cr_assert_eq(acts[0].sock, 1);
	memmove(acts, acts + 1, sizeof(acts[0]));
	n = 1;
	answer_probe(RV_PROBE_RANGE_AFTER, 7, 1, 3007, T0);
	cr_assert_eq(acts[0].kind, PEER_ACT_REPORT);
	cr_assert_eq(p.phase, PEER_PH_WAIT, "then waits for the sender's bubble range");
	struct peer_instruct step = in;
	step.step = 2;
	step.has_range = true;
	step.range = (struct rv_port_range){ 61000, 61000, 1, 1 };
	step.delta = 1;
	peer_punch_instruct(&p, &step, T0);
	peer_punch_timer(&p, T0 + 1);
	take();
	cr_assert_eq(acts[0].pdg_type, RV_PDG_REPLY);
	cr_assert_eq(acts[0].sock, 1, "replies from L, through the assigned port (S631)");
	cr_assert_eq(acts[0].to.port, 61000);
}

Test(punch, birthday_hard_side_opens_many_sockets_each_sending_low_ttl_packets_twice)
{
	struct peer_instruct in = { .role = RV_ROLE_SENDER,
		                    .strategy = RV_STRAT_BIRTHDAY,
		                    .peer_addr = addr("203.0.113.10:50000"),
		                    .ttl = 2,
		                    .count = 256 };
	struct rv_nat_info own = nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM, 0);
	bool seen[258] = { false };

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	cr_assert_eq(acts[0].kind, PEER_ACT_OPEN);
	cr_assert_eq(acts[0].sock, 257);
	peer_punch_opened(&p, 258, T0);
	take();
	cr_assert_eq(n, 257);
	for (size_t i = 0; i < 256; i++) {
		cr_assert_eq(acts[i].pdg_type, RV_PDG_ASSIGN);
		cr_assert_eq(acts[i].ttl, 2);
		cr_assert_eq(acts[i].to.port, 50000);
		cr_assert(!seen[acts[i].sock], "one packet per socket");
		seen[acts[i].sock] = true;
	}
	cr_assert_eq(acts[256].kind, PEER_ACT_REPORT);

	/* Once more after a pause, for assigning packets lost on the way. */
	peer_punch_timer(&p, T0 + PEER_SWEEP_MS - 1);
	take();
	cr_assert_eq(n, 0, "nothing before the pause is over");
	memset(seen, 0, sizeof(seen));
	unsigned again = 0;
	for (uint64_t now = T0 + PEER_SWEEP_MS; now < T0 + 2 * PEER_SWEEP_MS; now += PEER_TICK_MS) {
		peer_punch_timer(&p, now);
		take();
		for (size_t i = 0; i < n; i++, again++) {
			cr_assert_eq(acts[i].kind, PEER_ACT_SEND);
			cr_assert_eq(acts[i].pdg_type, RV_PDG_ASSIGN);
			cr_assert_eq(acts[i].ttl, 2);
			cr_assert(acts[i].sock >= 2 && acts[i].sock < 258 && !seen[acts[i].sock]);
			seen[acts[i].sock] = true;
		}
	}
	cr_assert_eq(again, 256, "each socket's packet sent a second time");
	cr_assert_eq(p.phase, PEER_PH_LISTEN, "then it listens");
	peer_punch_timer(&p, T0 + 5000);
	take();
	cr_assert_eq(n, 0, "and sends nothing more");
}

Test(punch, birthday_easy_side_probes_random_ports_of_the_hard_nat)
{
	struct peer_instruct in = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_BIRTHDAY,
		                    .peer_addr = addr("198.51.100.10:40000") };
	struct rv_nat_info own = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_RANDOM, 0);
	unsigned sent = 0, distinct = 0;
	static bool hit[65536];
	uint64_t now = T0;

	peer_punch_start(&p, &in, &own, 42, T0);
	struct peer_instruct step = in;
	step.step = 1;
	step.count = 1024;
	peer_punch_instruct(&p, &step, now);
	for (int t = 0; t < 200 && sent < 1024; t++, now += PEER_TICK_MS) {
		peer_punch_timer(&p, now);
		take();
		for (size_t i = 0; i < n; i++, sent++) {
			cr_assert_geq(acts[i].to.port, 1024);
			if (!hit[acts[i].to.port]) {
				hit[acts[i].to.port] = true;
				distinct++;
			}
		}
	}
	cr_assert_eq(sent, 1024);
	cr_assert_gt(distinct, 1000, "random ports, few repeats");
}

Test(punch, an_unanswered_probe_is_retried_then_the_attempt_fails)
{
	struct peer_instruct in = { .role = RV_ROLE_SENDER,
		                    .strategy = RV_STRAT_E1,
		                    .peer_addr = addr("203.0.113.10:50000"),
		                    .has_target = true,
		                    .target = { 50000, 50000, 1, 1 } };
	struct rv_nat_info own = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_RANDOM, 0);
	unsigned probes = 0;
	uint64_t now = T0;

	peer_punch_start(&p, &in, &own, 1, T0);
	peer_punch_opened(&p, 2, T0);
	for (int t = 0; t < 50 && p.phase != PEER_PH_FAILED; t++, now += 100) {
		peer_punch_timer(&p, now);
		take();
		for (size_t i = 0; i < n; i++)
			probes += acts[i].kind == PEER_ACT_PROBE;
	}
	cr_assert_eq(p.phase, PEER_PH_FAILED);
	cr_assert_eq(probes, PEER_PROBE_TRY, "the first and its retries");
	cr_assert_eq(acts[n - 1].kind, PEER_ACT_FAIL);
	cr_assert_eq(acts[n - 1].result, RV_RES_TIMEOUT);
}

Test(punch, the_deadline_ends_a_silent_attempt_and_late_packets_change_nothing)
{
	struct peer_instruct in = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_DIRECT,
		                    .peer_addr = addr("203.0.113.10:50000"),
		                    .deadline_ms = 1000 };
	struct rv_nat_info own = nat(RV_NAT_FULL_CONE, RV_ALLOC_RANDOM, 0);
	struct rv_addr from = addr("203.0.113.10:50000");

	peer_punch_start(&p, &in, &own, 1, T0);
	peer_punch_timer(&p, T0 + 999);
	take();
	cr_assert_eq(n, 0);
	peer_punch_timer(&p, T0 + 1000);
	take();
	cr_assert_eq(acts[0].kind, PEER_ACT_FAIL);
	peer_punch_datagram(&p, 0, &from, RV_PDG_REPLY, 1, T0 + 1001);
	take();
	cr_assert_eq(n, 0);
	cr_assert_eq(peer_punch_next(&p), UINT64_MAX);
}

Test(punch, a_planned_relay_binds_l_then_knocks_through_the_relay_until_the_partner_answers)
{
	struct rv_addr relay = addr("192.0.2.1:3478");
	struct peer_instruct in = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_RELAY,
		                    .peer_addr = relay,
		                    .has_relay = true,
		                    .relay = { 77, 0x4123, 1, 1 << 20, 600, 2000 },
		                    .deadline_ms = 10000 };
	struct rv_nat_info own = nat(RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM, 0);

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	cr_assert_eq(n, 1);
	cr_assert_eq(acts[0].kind, PEER_ACT_OPEN);
	cr_assert_eq(acts[0].sock, 1, "L only");
	peer_punch_opened(&p, 2, T0);
	take();
	/* Unanswered, the bind is retried; then answered. */
	cr_assert_eq(n, 1);
	peer_punch_timer(&p, T0 + PEER_PROBE_MS);
	take();
	answer_probe(RV_PROBE_RELAY, 1, 0, 40000, T0 + PEER_PROBE_MS);
	/* Bound: REPLYs to the relay, from L, until one comes back. */
	cr_assert_eq(n, 1);
	cr_assert_eq(acts[0].kind, PEER_ACT_SEND);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_REPLY);
	cr_assert_eq(acts[0].sock, 1);
	cr_assert(rv_addr_eq(&acts[0].to, &relay));
	for (int i = 1; i <= 3; i++) {
		peer_punch_timer(&p, T0 + PEER_PROBE_MS + (uint64_t)i * PEER_SWEEP_MS);
		take();
		cr_assert_eq(n, 1, "one knock per sweep");
	}
	peer_punch_datagram(&p, 1, &relay, RV_PDG_REPLY, 9, T0 + 2000);
	take();
	cr_assert_eq(n, 2);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_ACK);
	cr_assert(rv_addr_eq(&acts[0].to, &relay));
	cr_assert_eq(acts[1].kind, PEER_ACT_DONE);
	cr_assert_eq(acts[1].sock, 1);
	cr_assert_eq(p.ins.strategy, RV_STRAT_RELAY);
}

Test(punch, a_relay_instruct_takes_over_a_failing_direct_try)
{
	struct peer_instruct in = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_E1,
		                    .peer_addr = addr("198.51.100.2:40000"),
		                    .deadline_ms = 10000 };
	struct rv_nat_info own = nat(RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL, 1);
	struct rv_addr relay = addr("192.0.2.1:3478");

	peer_punch_start(&p, &in, &own, 1, T0);
	take();
	struct peer_instruct mv = { .role = RV_ROLE_RECEIVER,
		                    .strategy = RV_STRAT_RELAY,
		                    .step = 2,
		                    .peer_addr = relay,
		                    .has_relay = true,
		                    .relay = { 78, 0x4001, 1, 1 << 20, 600, 2000 },
		                    .deadline_ms = 10000 };
	peer_punch_instruct(&p, &mv, T0 + 5000);
	take();
	cr_assert_eq(p.ins.strategy, RV_STRAT_RELAY);
	cr_assert_eq(n, 1);
	cr_assert_eq(acts[0].kind, PEER_ACT_OPEN);
	peer_punch_opened(&p, 2, T0 + 5000);
	take();
	answer_probe(RV_PROBE_RELAY, 1, 0, 40000, T0 + 5000);
	cr_assert_eq(acts[0].pdg_type, RV_PDG_REPLY);
	/* The relay gets its own deadline: it does not die with the direct try's. */
	peer_punch_timer(&p, T0 + 11000);
	take();
	cr_assert_neq(p.phase, PEER_PH_FAILED);
	peer_punch_datagram(&p, 1, &relay, RV_PDG_ACK, 1, T0 + 11500);
	take();
	cr_assert_eq(acts[n - 1].kind, PEER_ACT_DONE);
}
