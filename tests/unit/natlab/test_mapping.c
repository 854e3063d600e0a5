/* Mapping and filtering behaviour of each preset (RFC 4787 §4.1, §5). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "proto/rv_buf.h"
#include "helpers.h"

/* Inline strings: Criterion runs each parameter in a fresh process. */
struct behaviour {
	char preset[20];
	/* Same external port as the first (S1:3478) for: */
	bool same_s1_3479, same_s2_3478;
	/* Unsolicited after sending to S1:3478 passes from: */
	bool pass_s1_3479, pass_s2_3478;
	enum nat_reason rule; /* the rule that filters what does not pass */
};

ParameterizedTestParameters(mapping, each_preset_maps_and_filters_as_configured)
{
	static struct behaviour b[] = {
		{ "full-cone", true, true, true, true, NAT_R_NONE },
		{ "restricted", true, true, true, false, NAT_R_ADF },
		{ "port-restricted", true, true, false, false, NAT_R_APDF },
		{ "addr-symmetric", true, false, true, false, NAT_R_ADF },
		{ "port-symmetric", false, false, false, false, NAT_R_APDF },
	};
	return cr_make_param_array(struct behaviour, b, sizeof(b) / sizeof(b[0]));
}

ParameterizedTest(struct behaviour *b, mapping, each_preset_maps_and_filters_as_configured)
{
	const char *kv[] = { "preset", b->preset, NULL };
	struct th t;
	int e1, e2, e3, e4;
	uint32_t to_ip;
	uint16_t to_port;

	th_setup(&t, kv);
	e1 = th_out(&t, H1, 5000, S1, 3478);
	cr_assert_gt(e1, 0);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_CREATE), 1);

	/* Filtering, before any other destination is contacted. */
	cr_assert(th_in(&t, S1, 3478, (uint16_t)e1, &to_ip, &to_port), "%s", b->preset);
	cr_assert_eq(to_ip, H1);
	cr_assert_eq(to_port, 5000);
	cr_assert_eq(th_in(&t, S1, 3479, (uint16_t)e1, NULL, NULL), b->pass_s1_3479, "%s",
	             b->preset);
	if (!b->pass_s1_3479) {
		const struct nat_ev *f = th_ev(&t, NAT_EV_FILTERED, 0);

		cr_assert_not_null(f);
		cr_assert_eq(f->reason, b->rule);
		cr_assert_eq(rv_addr_v4_host(&f->in), H1);
		cr_assert_eq(f->ext.port, e1);
	}
	cr_assert_eq(th_in(&t, S2, 3478, (uint16_t)e1, NULL, NULL), b->pass_s2_3478, "%s",
	             b->preset);
	if (!b->pass_s2_3478)
		cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, b->rule);

	/* Mapping. */
	e2 = th_out(&t, H1, 5000, S1, 3479);
	e3 = th_out(&t, H1, 5000, S2, 3478);
	e4 = th_out(&t, H1, 5000, S2, 3479);
	cr_assert_eq(e2 == e1, b->same_s1_3479, "%s: %d %d", b->preset, e1, e2);
	cr_assert_eq(e3 == e1, b->same_s2_3478, "%s: %d %d", b->preset, e1, e3);
	/* S2's two ports share a mapping unless mapping is port-dependent. */
	cr_assert_eq(e4 == e3, b->same_s1_3479, "%s: %d %d", b->preset, e3, e4);
	th_teardown(&t);
}

Test(mapping, a_port_nobody_mapped_is_filtered_as_no_mapping)
{
	const char *kv[] = { "preset", "full-cone", NULL };
	struct th t;

	th_setup(&t, kv);
	cr_assert(!th_in(&t, S1, 3478, 40000, NULL, NULL));
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_NO_MAPPING);
	th_teardown(&t);
}

Test(mapping, sending_to_a_new_endpoint_opens_the_filter_for_it)
{
	const char *kv[] = { "preset", "port-restricted", NULL };
	struct th t;
	int e;

	th_setup(&t, kv);
	e = th_out(&t, H1, 5000, S1, 3478);
	cr_assert(!th_in(&t, S2, 3479, (uint16_t)e, NULL, NULL));
	cr_assert_eq(th_out(&t, H1, 5000, S2, 3479), e);
	cr_assert(th_in(&t, S2, 3479, (uint16_t)e, NULL, NULL));
	th_teardown(&t);
}

Test(mapping, two_hosts_get_distinct_external_ports)
{
	const char *kv[] = { "preset", "full-cone", NULL };
	struct th t;
	uint32_t to;

	th_setup(&t, kv);
	int e1 = th_out(&t, H1, 5000, S1, 3478);
	int e2 = th_out(&t, H2, 5000, S1, 3478);

	cr_assert_neq(e1, e2);
	cr_assert(th_in(&t, S1, 3478, (uint16_t)e2, &to, NULL));
	cr_assert_eq(to, H2);
	th_teardown(&t);
}

Test(mapping, preset_none_routes_without_translation)
{
	const char *kv[] = { "preset", "none", NULL };
	struct th t;
	uint8_t buf[128];
	size_t len;

	th_setup(&t, kv);
	len = th_udp(buf, H1, 5000, S1, 3478, 64, true);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, len), 1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(t.s.out[0].next_hop, GW);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 12), H1);
	cr_assert_eq(rv_get_u16(t.s.out[0].pkt + 20), 5000);
	cr_assert_eq(t.s.out[0].pkt[8], 63);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_CREATE), 0);
	/* Inbound to a LAN host is routed, unsolicited or not. */
	len = th_udp(buf, S2, 9, H2, 7777, 64, true);
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, buf, len), 1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(t.s.out[0].next_hop, H2);
	cr_assert_eq(rv_get_u16(t.s.out[0].pkt + 22), 7777);
	th_teardown(&t);
}

Test(mapping, a_full_table_drops_new_flows_and_logs_it)
{
	const char *kv[] = { "preset", "PS", "max_mappings", "2", "max_sessions", "2", NULL };
	struct th t;

	th_setup(&t, kv);
	cr_assert_gt(th_out(&t, H1, 5000, S1, 1), 0);
	cr_assert_gt(th_out(&t, H1, 5000, S1, 2), 0);
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3), -1);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_TABLE_FULL);
	/* Existing flows keep working. */
	cr_assert_gt(th_out(&t, H1, 5000, S1, 1), 0);
	cr_assert_eq(nat_core_mappings(t.c), 2);
	th_teardown(&t);
}

Test(mapping, a_full_permission_table_drops_and_logs_it)
{
	const char *kv[] = { "preset", "FC", "max_mappings", "2", "max_sessions", "2", NULL };
	struct th t;

	th_setup(&t, kv);
	cr_assert_gt(th_out(&t, H1, 5000, S1, 1), 0);
	cr_assert_gt(th_out(&t, H1, 5000, S1, 2), 0);
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3), -1);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_TABLE_FULL);
	th_teardown(&t);
}

Test(mapping, an_exhausted_port_range_drops_and_logs_no_port)
{
	const char *kv[] = { "preset", "PS", "port_range", "40000-40001", NULL };
	struct th t;

	th_setup(&t, kv);
	cr_assert_gt(th_out(&t, H1, 5000, S1, 1), 0);
	cr_assert_gt(th_out(&t, H1, 5000, S1, 2), 0);
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3), -1);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_NO_PORT);
	th_teardown(&t);
}

Test(mapping, map_create_event_names_internal_external_and_destination)
{
	const char *kv[] = { "preset", "PR", "alloc", "sequential", "port_start", "40000", NULL };
	struct th t;
	char js[512];

	th_setup(&t, kv);
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3478), 40000);
	cr_assert_gt(nat_ev_json(th_ev(&t, NAT_EV_MAP_CREATE, 0), js, sizeof(js)), 0);
	cr_assert_str_eq(js, "{\"ms\":1000,\"ev\":\"map_create\",\"proto\":\"udp\","
	                     "\"int\":\"10.0.1.2:5000\",\"ext\":\"198.51.100.2:40000\","
	                     "\"dst\":\"192.0.2.1:3478\"}");
	th_in(&t, S2, 1, 40000, NULL, NULL);
	cr_assert_gt(nat_ev_json(th_ev(&t, NAT_EV_FILTERED, 0), js, sizeof(js)), 0);
	cr_assert_str_eq(js, "{\"ms\":1000,\"ev\":\"filtered\",\"proto\":\"udp\",\"rule\":\"APDF\","
	                     "\"src\":\"192.0.2.2:1\",\"ext\":\"198.51.100.2:40000\","
	                     "\"int\":\"10.0.1.2:5000\"}");
	th_teardown(&t);
}
