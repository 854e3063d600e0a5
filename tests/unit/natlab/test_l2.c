/* Ethernet and ARP: the NAT answers for its own addresses and resolves its
 * next hops itself (its namespace has no kernel addresses). */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/rv_buf.h"
#include "tests/natlab/nat_l2.h"
#include "helpers.h"

static const uint8_t mac_l[6] = { 2, 0, 0, 0, 0, 1 }, mac_w[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t mac_h1[6] = { 2, 0, 0, 0, 1, 2 }, mac_gw[6] = { 2, 0, 0, 0, 9, 9 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static size_t arp(uint8_t *f, const uint8_t dst[6], uint16_t op, const uint8_t sha[6], uint32_t spa,
                  uint32_t tpa)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, sha, 6);
	rv_put_u16(f + 12, 0x0806);
	rv_put_u16(f + 14, 1);
	rv_put_u16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	rv_put_u16(f + 20, op);
	memcpy(f + 22, sha, 6);
	rv_put_u32(f + 28, spa);
	memset(f + 32, 0, 6);
	rv_put_u32(f + 38, tpa);
	return 42;
}

struct l2t {
	struct nat_l2 *l;
	struct nat_out out[16];
	struct nat_ev ev[16];
	struct nat_sink s;
};

static void setup(struct l2t *t)
{
	t->l = nat_l2_new(mac_l, LAN_IP, mac_w, WAN_IP);
	cr_assert_not_null(t->l);
	t->s = nat_sink_make(t->out, 16, t->ev, 16);
}

Test(l2, answers_arp_for_its_own_address_only)
{
	struct l2t t;
	uint8_t f[64];
	const uint8_t *ip;
	size_t iplen;

	setup(&t);
	cr_assert_eq(nat_l2_input(t.l, NAT_SIDE_LAN, f, arp(f, bcast, 1, mac_h1, H1, LAN_IP), 0,
	                          &t.s, &ip, &iplen),
	             0);
	cr_assert_eq(t.s.n_out, 1);
	const uint8_t *r = t.s.out[0].pkt;

	cr_assert(memcmp(r, mac_h1, 6) == 0);
	cr_assert(memcmp(r + 6, mac_l, 6) == 0);
	cr_assert_eq(rv_get_u16(r + 20), 2);
	cr_assert(memcmp(r + 22, mac_l, 6) == 0);
	cr_assert_eq(rv_get_u32(r + 28), LAN_IP);
	cr_assert_eq(rv_get_u32(r + 38), H1);
	cr_assert_eq(t.s.out[0].len, 60);
	/* Not for the WAN address on the LAN side, nor for other hosts. */
	nat_sink_reset(&t.s);
	nat_l2_input(t.l, NAT_SIDE_LAN, f, arp(f, bcast, 1, mac_h1, H1, WAN_IP), 0, &t.s, &ip,
	             &iplen);
	nat_l2_input(t.l, NAT_SIDE_LAN, f, arp(f, bcast, 1, mac_h1, H1, H2), 0, &t.s, &ip, &iplen);
	cr_assert_eq(t.s.n_out, 0);
	nat_l2_free(t.l);
}

Test(l2, resolves_a_next_hop_and_sends_what_waited)
{
	struct l2t t;
	uint8_t f[64], pkt[128];
	const uint8_t *ip;
	size_t iplen, len = th_udp(pkt, WAN_IP, 40000, S1, 3478, 63, true);

	setup(&t);
	cr_assert_eq(nat_l2_output(t.l, NAT_SIDE_WAN, GW, pkt, len, 0, &t.s), 0);
	cr_assert_eq(nat_l2_output(t.l, NAT_SIDE_WAN, GW, pkt, len, 1, &t.s), 0);
	/* One broadcast request, nothing else yet. */
	cr_assert_eq(t.s.n_out, 1);
	cr_assert(memcmp(t.s.out[0].pkt, bcast, 6) == 0);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 38), GW);
	nat_sink_reset(&t.s);
	nat_l2_input(t.l, NAT_SIDE_WAN, f, arp(f, mac_w, 2, mac_gw, GW, WAN_IP), 5, &t.s, &ip,
	             &iplen);
	cr_assert_eq(t.s.n_out, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert(memcmp(t.s.out[i].pkt, mac_gw, 6) == 0);
		cr_assert(memcmp(t.s.out[i].pkt + 6, mac_w, 6) == 0);
		cr_assert_eq(rv_get_u16(t.s.out[i].pkt + 12), 0x0800);
		cr_assert(memcmp(t.s.out[i].pkt + 14, pkt, len) == 0);
	}
	/* Resolved: straight out. */
	nat_sink_reset(&t.s);
	cr_assert_eq(nat_l2_output(t.l, NAT_SIDE_WAN, GW, pkt, len, 6, &t.s), 0);
	cr_assert_eq(t.s.n_out, 1);
	cr_assert(memcmp(t.s.out[0].pkt, mac_gw, 6) == 0);
	nat_l2_free(t.l);
}

Test(l2, retries_then_gives_up_and_logs_arp_fail)
{
	struct l2t t;
	uint8_t pkt[128];
	size_t len = th_udp(pkt, LAN_IP, 1, H2, 2, 63, true);
	unsigned requests = 1;

	setup(&t);
	cr_assert_eq(nat_l2_output(t.l, NAT_SIDE_LAN, H2, pkt, len, 0, &t.s), 0);
	for (uint64_t now = 0; now <= 5000; now += 50) {
		nat_sink_reset(&t.s);
		nat_l2_tick(t.l, now, &t.s);
		requests += t.s.n_out;
		if (t.s.n_ev) {
			cr_assert_eq(t.s.ev[0].type, NAT_EV_ARP_FAIL);
			cr_assert_eq(rv_addr_v4_host(&t.s.ev[0].other), H2);
			break;
		}
	}
	cr_assert_eq(requests, NAT_ARP_TRIES);
	nat_l2_free(t.l);
}

Test(l2, passes_up_ipv4_unicast_to_its_mac_only)
{
	struct l2t t;
	uint8_t f[256];
	const uint8_t *ip = NULL;
	size_t iplen = 0, len;

	setup(&t);
	memcpy(f, mac_l, 6);
	memcpy(f + 6, mac_h1, 6);
	rv_put_u16(f + 12, 0x0800);
	len = 14 + th_udp(f + 14, H1, 5000, S1, 3478, 64, true);
	cr_assert_eq(nat_l2_input(t.l, NAT_SIDE_LAN, f, len, 0, &t.s, &ip, &iplen), 1);
	cr_assert_eq(ip, f + 14);
	cr_assert_eq(iplen, len - 14);
	/* Another MAC, broadcast, the other side's MAC, IPv6: ignored. */
	memcpy(f, mac_w, 6);
	cr_assert_eq(nat_l2_input(t.l, NAT_SIDE_LAN, f, len, 0, &t.s, &ip, &iplen), 0);
	memcpy(f, bcast, 6);
	cr_assert_eq(nat_l2_input(t.l, NAT_SIDE_LAN, f, len, 0, &t.s, &ip, &iplen), 0);
	memcpy(f, mac_l, 6);
	rv_put_u16(f + 12, 0x86dd);
	cr_assert_eq(nat_l2_input(t.l, NAT_SIDE_LAN, f, len, 0, &t.s, &ip, &iplen), 0);
	nat_l2_free(t.l);
}

Test(l2, announces_both_addresses_at_start)
{
	struct l2t t;

	setup(&t);
	nat_l2_announce(t.l, &t.s);
	cr_assert_eq(t.s.n_out, 2);
	cr_assert_eq(t.s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 28), LAN_IP);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 38), LAN_IP);
	cr_assert_eq(rv_get_u32(t.s.out[1].pkt + 28), WAN_IP);
	nat_l2_free(t.l);
}

Test(l2, a_full_queue_drops_and_logs)
{
	struct l2t t;
	uint8_t pkt[128];
	size_t len = th_udp(pkt, WAN_IP, 1, S1, 2, 63, true);
	int drops = 0;

	setup(&t);
	for (int i = 0; i < NAT_L2_QUEUE + 3; i++)
		drops += nat_l2_output(t.l, NAT_SIDE_WAN, GW, pkt, len, 0, &t.s) < 0;
	cr_assert_eq(drops, 3);
	cr_assert_eq(t.s.n_ev, 3);
	cr_assert_eq(t.s.ev[0].reason, NAT_R_ARP_QUEUE);
	nat_l2_free(t.l);
}
