/* TTL semantics (the port-assigning packet), ICMP echo through the NAT,
 * ICMP error translation (RFC 5508) and hairpinning. */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/rv_buf.h"
#include "helpers.h"

Test(ttl, a_packet_arriving_with_ttl_1_dies_at_the_nat_and_maps_nothing)
{
	const char *kv[] = { "preset", "PS", NULL };
	uint8_t buf[128];
	struct th t;
	size_t len;
	const uint8_t *o;

	th_setup(&t, kv);
	len = th_udp(buf, H1, 5000, S1, 3478, 1, true);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, len), 1);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_CREATE), 0);
	cr_assert_eq(th_count(&t, NAT_EV_TTL_EXPIRED), 1);
	cr_assert_eq(th_ev(&t, NAT_EV_TTL_EXPIRED, 0)->side, NAT_SIDE_LAN);
	/* Time exceeded in transit, from the NAT's LAN address to the host,
	 * quoting the original header and 8 bytes. */
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(t.s.out[0].next_hop, H1);
	o = t.s.out[0].pkt;
	cr_assert_eq(t.s.out[0].len, 20 + 8 + 28);
	cr_assert_eq(rv_get_u32(o + 12), LAN_IP);
	cr_assert_eq(rv_get_u32(o + 16), H1);
	cr_assert_eq(o[9], NAT_IPPROTO_ICMP);
	cr_assert_eq(o[20], NAT_ICMP_TIME_EXCEEDED);
	cr_assert_eq(o[21], 0);
	cr_assert(memcmp(o + 28, buf, 28) == 0);
	th_teardown(&t);
}

Test(ttl, a_packet_arriving_with_ttl_2_maps_and_leaves_with_ttl_1)
{
	const char *kv[] = { "preset", "PS", NULL };
	uint8_t buf[128];
	struct th t;
	size_t len;

	th_setup(&t, kv);
	len = th_udp(buf, H1, 5000, S1, 3478, 2, true);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, len), 1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(t.s.out[0].pkt[8], 1);
	cr_assert_eq(nat_core_mappings(t.c), 1);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_CREATE), 1);
	th_teardown(&t);
}

Test(ttl, ttl_0_dies_too)
{
	uint8_t buf[128];
	struct th t;

	th_setup(&t, NULL);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, th_udp(buf, H1, 5000, S1, 3478, 0, true)), 1);
	cr_assert_eq(t.s.out[0].pkt[20], NAT_ICMP_TIME_EXCEEDED);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	th_teardown(&t);
}

Test(ttl, an_inbound_packet_with_ttl_1_that_passes_the_filter_is_answered_from_the_wan)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t buf[128];
	struct th t;
	int e;

	th_setup(&t, kv);
	e = th_out(&t, H1, 5000, S1, 3478);
	cr_assert_eq(
	        th_feed(&t, NAT_SIDE_WAN, buf, th_udp(buf, S2, 9, WAN_IP, (uint16_t)e, 1, true)),
	        1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(t.s.out[0].next_hop, GW);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 12), WAN_IP);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 16), S2);
	cr_assert_eq(t.s.out[0].pkt[20], NAT_ICMP_TIME_EXCEEDED);
	th_teardown(&t);
}

Test(ttl, an_inbound_packet_that_is_filtered_dies_silently_whatever_its_ttl)
{
	const char *kv[] = { "preset", "PR", NULL };
	uint8_t buf[128];
	struct th t;
	int e;

	th_setup(&t, kv);
	e = th_out(&t, H1, 5000, S1, 3478);
	cr_assert_eq(
	        th_feed(&t, NAT_SIDE_WAN, buf, th_udp(buf, S2, 9, WAN_IP, (uint16_t)e, 1, true)),
	        0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_APDF);
	th_teardown(&t);
}

Test(ttl, preset_none_also_kills_ttl_1)
{
	const char *kv[] = { "preset", "none", NULL };
	uint8_t buf[128];
	struct th t;

	th_setup(&t, kv);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, th_udp(buf, H1, 5000, S1, 3478, 1, true)), 1);
	cr_assert_eq(t.s.out[0].pkt[20], NAT_ICMP_TIME_EXCEEDED);
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, buf, th_udp(buf, S1, 5000, H1, 3478, 1, true)), 1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 12), WAN_IP);
	th_teardown(&t);
}

Test(icmp, echo_through_the_nat_maps_the_identifier_like_a_port)
{
	const char *kv[] = { "preset", "PS", "alloc", "sequential", "port_start", "7000", NULL };
	uint8_t buf[128];
	struct th t;
	const uint8_t *o;

	th_setup(&t, kv);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, th_echo(buf, NAT_ICMP_ECHO, H1, S1, 777, 64)),
	             1);
	o = t.s.out[0].pkt;
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(rv_get_u32(o + 12), WAN_IP);
	cr_assert_eq(rv_get_u16(o + 24), 7000);
	cr_assert_eq(th_ev(&t, NAT_EV_MAP_CREATE, 0)->proto, NAT_IPPROTO_ICMP);
	/* The reply comes back to the host with its own identifier. */
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, buf,
	                     th_echo(buf, NAT_ICMP_ECHO_REPLY, S1, WAN_IP, 7000, 60)),
	             1);
	o = t.s.out[0].pkt;
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(rv_get_u32(o + 16), H1);
	cr_assert_eq(rv_get_u16(o + 24), 777);
	cr_assert_eq(o[8], 59);
	/* A reply from another address is filtered (ADF for echo). */
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, buf,
	                     th_echo(buf, NAT_ICMP_ECHO_REPLY, S2, WAN_IP, 7000, 60)),
	             0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->proto, NAT_IPPROTO_ICMP);
	/* UDP and ICMP are separate spaces: UDP starts at 7000 too. */
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3478), 7000);
	th_teardown(&t);
}

Test(icmp, the_nat_answers_pings_to_its_own_addresses)
{
	uint8_t buf[128];
	struct th t;

	th_setup(&t, NULL);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, th_echo(buf, NAT_ICMP_ECHO, H1, LAN_IP, 1, 64)),
	             1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 12), LAN_IP);
	cr_assert_eq(t.s.out[0].pkt[20], NAT_ICMP_ECHO_REPLY);
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, buf, th_echo(buf, NAT_ICMP_ECHO, S1, WAN_IP, 1, 64)),
	             1);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(t.s.out[0].next_hop, GW);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 16), S1);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	th_teardown(&t);
}

/* The router after the NAT answers the TTL-2 probe: the error must reach
 * the host as if the NAT were not there (traceroute through it). */
Test(icmp, a_time_exceeded_quoting_a_translated_packet_is_translated_back)
{
	const char *kv[] = { "preset", "PS", NULL };
	uint8_t orig[128], wan[128], err[128];
	struct th t;
	size_t olen, elen;
	const uint8_t *o;

	th_setup(&t, kv);
	olen = th_udp(orig, H1, 5000, S1, 3478, 2, true);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, orig, olen), 1);
	memcpy(wan, t.s.out[0].pkt, t.s.out[0].len);
	uint16_t ext = rv_get_u16(wan + 20);

	elen = th_icmp_err(err, NAT_ICMP_TIME_EXCEEDED, 0, GW, WAN_IP, wan, t.s.out[0].len);
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, err, elen), 1);
	o = t.s.out[0].pkt;
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(t.s.out[0].next_hop, H1);
	cr_assert_eq(rv_get_u32(o + 12), GW);
	cr_assert_eq(rv_get_u32(o + 16), H1);
	cr_assert_eq(o[20], NAT_ICMP_TIME_EXCEEDED);
	/* The quote is what the host sent: addresses, ports, UDP checksum. */
	cr_assert_eq(rv_get_u32(o + 28 + 12), H1);
	cr_assert_eq(rv_get_u32(o + 28 + 16), S1);
	cr_assert_eq(rv_get_u16(o + 48), 5000);
	cr_assert_eq(rv_get_u16(o + 50), 3478);
	cr_assert_eq(rv_get_u16(o + 54), rv_get_u16(orig + 26));
	cr_assert_eq(nat_csum_fold(nat_csum_add(0, o + 28, 20)), 0, "quoted header checksum");
	const struct nat_ev *x = th_ev(&t, NAT_EV_ICMP_XLATE, 0);

	cr_assert_not_null(x);
	cr_assert_eq(x->side, NAT_SIDE_WAN);
	cr_assert_eq(x->ext.port, ext);
	cr_assert_eq(rv_addr_v4_host(&x->other), GW);
	th_teardown(&t);
}

Test(icmp, a_port_unreachable_about_an_echo_request_is_translated_back)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t req[128], wan[128], err[128];
	struct th t;
	size_t elen;

	th_setup(&t, kv);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, req, th_echo(req, NAT_ICMP_ECHO, H1, S1, 4242, 64)),
	             1);
	memcpy(wan, t.s.out[0].pkt, t.s.out[0].len);
	elen = th_icmp_err(err, NAT_ICMP_UNREACH, 1, GW, WAN_IP, wan, t.s.out[0].len);
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, err, elen), 1);
	cr_assert_eq(rv_get_u16(t.s.out[0].pkt + 28 + 24), 4242);
	th_teardown(&t);
}

Test(icmp, an_error_quoting_a_packet_the_mapping_never_sent_is_filtered)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t fake[128], err[128];
	struct th t;
	int e;

	th_setup(&t, kv);
	e = th_out(&t, H1, 5000, S1, 3478);
	/* Claims we sent to S2:53: we did not. */
	size_t flen = th_udp(fake, WAN_IP, (uint16_t)e, S2, 53, 1, true);

	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, err,
	                     th_icmp_err(err, NAT_ICMP_UNREACH, 3, S2, WAN_IP, fake, flen)),
	             0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_ICMP_NO_SESSION);
	/* Quoting a port nobody holds. */
	flen = th_udp(fake, WAN_IP, (uint16_t)(e + 1), S1, 3478, 1, true);
	cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, err,
	                     th_icmp_err(err, NAT_ICMP_UNREACH, 3, S1, WAN_IP, fake, flen)),
	             0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_NO_MAPPING);
	th_teardown(&t);
}

Test(icmp, a_hosts_port_unreachable_leaves_with_the_external_endpoint)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t in[128], err[128];
	struct th t;
	int e;
	const uint8_t *o;

	th_setup(&t, kv);
	e = th_out(&t, H1, 5000, S1, 3478);
	cr_assert(th_in(&t, S2, 9, (uint16_t)e, NULL, NULL));
	memcpy(in, t.s.out[0].pkt, t.s.out[0].len);
	/* The host has no socket: its kernel answers port unreachable. */
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, err,
	                     th_icmp_err(err, NAT_ICMP_UNREACH, 3, H1, S2, in, t.s.out[0].len)),
	             1);
	o = t.s.out[0].pkt;
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_WAN);
	cr_assert_eq(rv_get_u32(o + 12), WAN_IP);
	cr_assert_eq(rv_get_u32(o + 16), S2);
	cr_assert_eq(rv_get_u32(o + 28 + 16), WAN_IP);
	cr_assert_eq(rv_get_u16(o + 50), e);
	cr_assert_eq(th_ev(&t, NAT_EV_ICMP_XLATE, 0)->side, NAT_SIDE_LAN);
	th_teardown(&t);
}

Test(hairpin, a_host_reaches_another_through_the_external_address)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t buf[128];
	struct th t;
	int e1, e2;
	const uint8_t *o;

	th_setup(&t, kv);
	e1 = th_out(&t, H1, 5000, S1, 3478);
	e2 = th_out(&t, H2, 6000, S1, 3478);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf,
	                     th_udp(buf, H2, 6000, WAN_IP, (uint16_t)e1, 64, true)),
	             1);
	o = t.s.out[0].pkt;
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(t.s.out[0].next_hop, H1);
	/* As an outsider sees it: from H2's external endpoint (REQ-9). */
	cr_assert_eq(rv_get_u32(o + 12), WAN_IP);
	cr_assert_eq(rv_get_u16(o + 20), e2);
	cr_assert_eq(rv_get_u32(o + 16), H1);
	cr_assert_eq(rv_get_u16(o + 22), 5000);
	cr_assert_eq(o[8], 63);
	cr_assert_eq(th_count(&t, NAT_EV_HAIRPIN), 1);
	th_teardown(&t);
}

Test(hairpin, the_targets_filter_applies)
{
	const char *kv[] = { "preset", "PR", NULL };
	uint8_t buf[128];
	struct th t;
	int e1, e2;

	th_setup(&t, kv);
	e1 = th_out(&t, H1, 5000, S1, 3478);
	e2 = th_out(&t, H2, 6000, S1, 3478);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf,
	                     th_udp(buf, H2, 6000, WAN_IP, (uint16_t)e1, 64, true)),
	             0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_APDF);
	/* H1 opens its filter towards H2's external endpoint, by hairpin. */
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf,
	                     th_udp(buf, H1, 5000, WAN_IP, (uint16_t)e2, 64, true)),
	             1);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf,
	                     th_udp(buf, H2, 6000, WAN_IP, (uint16_t)e1, 64, true)),
	             1);
	th_teardown(&t);
}

Test(hairpin, off_means_dropped_and_logged)
{
	const char *kv[] = { "preset", "FC", "hairpin", "off", NULL };
	uint8_t buf[128];
	struct th t;
	int e1;

	th_setup(&t, kv);
	e1 = th_out(&t, H1, 5000, S1, 3478);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf,
	                     th_udp(buf, H2, 6000, WAN_IP, (uint16_t)e1, 64, true)),
	             0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_HAIRPIN_OFF);
	th_teardown(&t);
}

Test(checksum, a_udp_checksum_of_zero_stays_zero_through_translation)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t buf[128];
	struct th t;

	th_setup(&t, kv);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, buf, th_udp(buf, H1, 5000, S1, 3478, 64, false)), 1);
	cr_assert_eq(rv_get_u16(t.s.out[0].pkt + 26), 0);
	th_teardown(&t);
}

Test(checksum, incremental_updates_match_a_full_recompute)
{
	uint64_t seed = 99;
	uint8_t buf[128];

	for (int i = 0; i < 5000; i++) {
		uint32_t src = th_rng(&seed), dst = th_rng(&seed), r = th_rng(&seed);
		size_t len = th_udp(buf, src, (uint16_t)r, dst, (uint16_t)(r >> 16), 64, true);
		struct nat_ip ip;

		cr_assert_eq(nat_ip_parse(buf, len, &ip), 0);
		nat_pkt_set_ports(buf, &ip, (uint16_t)th_rng(&seed), (uint16_t)th_rng(&seed));
		nat_pkt_set_addrs(buf, &ip, th_rng(&seed), th_rng(&seed));
		cr_assert(th_csums_ok(buf, len), "iteration %d", i);
		cr_assert_neq(rv_get_u16(buf + 26), 0);
	}
}

Test(checksum, a_partial_checksum_is_completed_from_scratch)
{
	uint8_t buf[128];
	size_t len = th_udp(buf, H1, 5000, S1, 3478, 64, true);
	uint16_t good = rv_get_u16(buf + 26);

	rv_put_u16(buf + 26, 0x1234); /* what a veth leaves: a partial sum */
	cr_assert_eq(nat_l4_csum_fill(buf, len), 0);
	cr_assert_eq(rv_get_u16(buf + 26), good);
}
