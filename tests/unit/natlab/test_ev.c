/* The JSON log is an interface: every event type formats, within the
 * documented 512 bytes, as one object the lab's tests can parse. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/natlab/nat_ev.h"
#include "helpers.h"

Test(ev, every_event_type_formats_as_one_json_object_in_512_bytes)
{
	struct nat_ev e;
	char js[512];

	for (int t = 0; t < NAT_EV_COUNT; t++) {
		for (int r = 0; r < NAT_R_COUNT; r++) {
			memset(&e, 0, sizeof(e));
			e.type = (uint8_t)t;
			e.reason = (uint8_t)r;
			e.ms = UINT64_MAX;
			e.proto = 255;
			e.side = NAT_SIDE_WAN;
			e.icmp_type = e.icmp_code = e.ttl = 255;
			e.bg = 1;
			e.idle_ms = e.age_ms = UINT32_MAX;
			e.in = e.ext = e.remote = e.other = rv_addr_v4(0xffffffffu, 65535);
			int n = nat_ev_json(&e, js, sizeof(js));

			cr_assert_gt(n, 0, "type %d reason %d", t, r);
			cr_assert_eq((size_t)n, strlen(js));
			cr_assert_eq(js[0], '{');
			cr_assert_eq(js[n - 1], '}');
			cr_assert_null(strchr(js, '\n'));
			cr_assert_neq(strcmp(nat_reason_str((enum nat_reason)r), "?"), 0);
		}
		cr_assert_neq(strcmp(nat_ev_type_str((enum nat_ev_type)t), "?"), 0);
	}
}

Test(ev, a_small_buffer_is_refused_not_overrun)
{
	struct nat_ev e;
	char js[16];

	memset(&e, 0, sizeof(e));
	e.type = NAT_EV_MAP_CREATE;
	memset(js, 'x', sizeof(js));
	cr_assert_lt(nat_ev_json(&e, js, 8), 0);
	cr_assert_eq(js[8], 'x');
	cr_assert_lt(nat_ev_json(&e, js, 0), 0);
}

Test(ev, a_full_event_sink_counts_what_it_lost)
{
	struct nat_ev ev[2];
	struct nat_sink s = nat_sink_make(NULL, 0, ev, 2);

	for (int i = 0; i < 5; i++)
		cr_assert_not_null(nat_sink_ev(&s, NAT_EV_DROP, (uint64_t)i));
	cr_assert_eq(s.n_ev, 2);
	cr_assert_eq(s.ev_lost, 3);
	cr_assert_null(nat_sink_out(&s, NAT_SIDE_LAN, 0));
	cr_assert_eq(s.out_lost, 1);
}
