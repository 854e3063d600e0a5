/* Port allocation as the outside sees it, background hosts, lifetimes. */
#include <criterion/criterion.h>

#include "proto/rv_buf.h"
#include "helpers.h"

Test(alloc_core, symmetric_nat_with_delta_2_steps_by_2_per_destination)
{
	const char *kv[] = { "preset", "PS",         "alloc", "sequential", "delta",
		             "2",      "port_start", "40000", NULL };
	struct th t;

	th_setup(&t, kv);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(th_out(&t, H1, 5000, S1, (uint16_t)(3478 + i)), 40000 + 2 * i);
	th_teardown(&t);
}

Test(alloc_core, cone_nat_with_negative_delta_steps_down_per_source_port)
{
	const char *kv[] = { "preset", "PR", "alloc", "sequential", "delta", "-5", NULL };
	struct th t;

	th_setup(&t, kv);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(th_out(&t, H1, (uint16_t)(6000 + i), S1, 3478), 65535 - 5 * i);
	/* Same source again: the same mapping, no allocation. */
	cr_assert_eq(th_out(&t, H1, 6000, S2, 3479), 65535);
	cr_assert_eq(th_out(&t, H1, 6100, S1, 3478), 65535 - 20);
	th_teardown(&t);
}

Test(alloc_core, sequential_wraps_around_a_small_range)
{
	const char *kv[] = { "preset",     "PS",          "alloc",      "sequential", "delta", "3",
		             "port_range", "40000-40004", "port_start", "40003",      NULL };
	static const int want[] = { 40003, 40001, 40004, 40002, 40000 };
	struct th t;

	th_setup(&t, kv);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(th_out(&t, H1, 5000, S1, (uint16_t)(1 + i)), want[i]);
	th_teardown(&t);
}

Test(alloc_core, preserving_keeps_ports_and_a_collision_falls_back_to_sequential)
{
	const char *kv[] = { "preset", "FC", "alloc", "preserving", "port_start", "30000", NULL };
	struct th t;

	th_setup(&t, kv);
	cr_assert_eq(th_out(&t, H1, 45678, S1, 3478), 45678);
	cr_assert_eq(th_out(&t, H2, 45679, S1, 3478), 45679);
	cr_assert_eq(th_out(&t, H2, 45678, S1, 3478), 30000);
	cr_assert_eq(th_out(&t, H1, 45679, S1, 3478), 30001);
	th_teardown(&t);
}

Test(alloc_core, random_is_reproducible_from_the_seed_and_in_range)
{
	const char *kv[] = { "preset", "PS", "alloc", "random", "port_range", "50000-59999", NULL };
	struct th a, b;
	int same_gap = 0, prev = 0, gap = 0;

	th_setup(&a, kv);
	th_setup(&b, kv);
	for (int i = 0; i < 50; i++) {
		int pa = th_out(&a, H1, 5000, S1, (uint16_t)(1 + i));

		cr_assert_eq(pa, th_out(&b, H1, 5000, S1, (uint16_t)(1 + i)));
		cr_assert(pa >= 50000 && pa <= 59999);
		if (i > 0) {
			same_gap += pa - prev == gap;
			gap = pa - prev;
		}
		prev = pa;
	}
	cr_assert_lt(same_gap, 5);
	th_teardown(&a);
	th_teardown(&b);
}

/* With background hosts, allocations in event order (theirs and ours)
 * are still exactly sequential: the gaps the outside sees are theirs. */
Test(alloc_core, background_hosts_consume_ports_in_time_order)
{
	const char *kv[] = { "preset", "PS", "alloc",      "sequential", "delta", "2",
		             "lambda", "20", "port_start", "20000",      NULL };
	struct th t;
	unsigned bg = 0, ours = 0;
	int expect = 20000, last_seen = 0;

	th_setup(&t, kv);
	for (int i = 0; i < 100; i++) {
		t.now += 50;
		int p = th_out(&t, H1, 5000, S1, (uint16_t)(1 + i));

		for (unsigned e = 0; e < t.s.n_ev; e++) {
			const struct nat_ev *ev = &t.s.ev[e];

			if (ev->type != NAT_EV_BG_ALLOC && ev->type != NAT_EV_MAP_CREATE)
				continue;
			cr_assert_eq(ev->ext.port, expect, "event %u of packet %d", e, i);
			expect += 2;
			if (ev->type == NAT_EV_BG_ALLOC) {
				bg++;
				cr_assert_leq(ev->ms, t.now);
			} else {
				ours++;
			}
		}
		cr_assert_gt(p, last_seen);
		last_seen = p;
	}
	cr_assert_eq(ours, 100);
	/* 5 s at 20/s: Poisson mean 100, sd 10. */
	cr_assert(bg >= 60 && bg <= 140, "%u background allocations", bg);
	th_teardown(&t);
}

Test(alloc_core, background_ports_are_never_delivered_to)
{
	const char *kv[] = { "preset", "FC", "alloc", "sequential", "lambda", "1000", NULL };
	struct th t;

	th_setup(&t, kv);
	t.now += 100;
	nat_sink_reset(&t.s);
	nat_core_tick(t.c, t.now, &t.s);
	cr_assert_gt(th_count(&t, NAT_EV_BG_ALLOC), 10);
	uint16_t p = th_ev(&t, NAT_EV_BG_ALLOC, 0)->ext.port;

	cr_assert(!th_in(&t, S1, 3478, p, NULL, NULL));
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_BACKGROUND);
	th_teardown(&t);
}

Test(alloc_core, mappings_expire_after_the_idle_lifetime)
{
	const char *kv[] = { "preset", "PR", "alloc", "sequential", "lifetime", "2", NULL };
	struct th t;

	th_setup(&t, kv);
	int e = th_out(&t, H1, 5000, S1, 3478);

	/* Outbound refreshes: 1.9 s apart, three times, still the same. */
	for (int i = 0; i < 3; i++) {
		t.now += 1900;
		cr_assert_eq(th_out(&t, H1, 5000, S1, 3478), e);
	}
	/* Idle 1.999 s: alive; the tick expires it at exactly 2 s. */
	t.now += 1999;
	nat_sink_reset(&t.s);
	nat_core_tick(t.c, t.now, &t.s);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_EXPIRE), 0);
	t.now += 1;
	nat_sink_reset(&t.s);
	nat_core_tick(t.c, t.now, &t.s);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_EXPIRE), 1);
	cr_assert_eq(th_ev(&t, NAT_EV_MAP_EXPIRE, 0)->idle_ms, 2000);
	cr_assert_eq(th_ev(&t, NAT_EV_MAP_EXPIRE, 0)->age_ms, 3 * 1900 + 2000);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	cr_assert(!th_in(&t, S1, 3478, (uint16_t)e, NULL, NULL));
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_NO_MAPPING);
	/* A new packet gets a new mapping (the next sequential port). */
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3478), e + 1);
	th_teardown(&t);
}

Test(alloc_core, expiry_is_exact_on_lookup_without_a_tick)
{
	const char *kv[] = { "preset", "FC", "lifetime", "1", NULL };
	struct th t;

	th_setup(&t, kv);
	int e = th_out(&t, H1, 5000, S1, 3478);

	t.now += 999;
	cr_assert(th_in(&t, S2, 1, (uint16_t)e, NULL, NULL));
	t.now += 1;
	cr_assert(!th_in(&t, S2, 1, (uint16_t)e, NULL, NULL));
	cr_assert_eq(th_count(&t, NAT_EV_MAP_EXPIRE), 1);
	th_teardown(&t);
}

Test(alloc_core, inbound_traffic_refreshes_only_when_configured)
{
	const char *off[] = { "preset", "FC", "lifetime", "1", NULL };
	const char *on[] = { "preset", "FC", "lifetime", "1", "refresh_inbound", "on", NULL };
	struct th t;

	th_setup(&t, off);
	int e = th_out(&t, H1, 5000, S1, 3478);

	t.now += 600;
	cr_assert(th_in(&t, S1, 3478, (uint16_t)e, NULL, NULL));
	t.now += 600;
	cr_assert(!th_in(&t, S1, 3478, (uint16_t)e, NULL, NULL));
	th_teardown(&t);

	th_setup(&t, on);
	e = th_out(&t, H1, 5000, S1, 3478);
	t.now += 600;
	cr_assert(th_in(&t, S1, 3478, (uint16_t)e, NULL, NULL));
	t.now += 600;
	cr_assert(th_in(&t, S1, 3478, (uint16_t)e, NULL, NULL));
	th_teardown(&t);
}

Test(alloc_core, a_mass_expiry_larger_than_the_sink_is_counted_not_overrun)
{
	const char *kv[] = { "preset", "PS", "lifetime", "1", NULL };
	struct nat_ev few[4];
	struct nat_sink s;
	struct th t;

	th_setup(&t, kv);
	for (int i = 0; i < 20; i++)
		cr_assert_gt(th_out(&t, H1, 5000, S1, (uint16_t)(1 + i)), 0);
	s = nat_sink_make(t.out, 8, few, 4);
	nat_core_tick(t.c, t.now + 5000, &s);
	cr_assert_eq(s.n_ev, 4);
	cr_assert_eq(s.ev_lost, 16);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	th_teardown(&t);
}
