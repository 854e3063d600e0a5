/* natbox's IPv4 fragments: pieces arriving on either side are reassembled
 * (proto/ipfrag.h), the whole datagram is filtered, mapped and translated
 * as usual, and leaves in pieces within the egress MTU; a piece alone maps
 * nothing; every refused piece and every train that dies is a drop event
 * with its reason. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipfrag.h"
#include "proto/rv_buf.h"
#include "helpers.h"

#define BIG 3000 /* UDP payload of the test datagrams: 3 pieces at 1500 */

struct pieces {
	unsigned n;
	uint8_t p[RV_FRAG_MAX_OUT][1500];
	uint16_t len[RV_FRAG_MAX_OUT];
};

/* A 20-byte IPv4 header and 8 zero bytes after it: ID 0x4242, DF clear,
 * TTL 64, header checksum right. */
static void ip_head(uint8_t *b, size_t tot, uint8_t proto, uint32_t src, uint32_t dst)
{
	memset(b, 0, 28);
	b[0] = 0x45;
	rv_put_u16(b + 2, (uint16_t)tot);
	rv_put_u16(b + 4, 0x4242);
	b[8] = 64;
	b[9] = proto;
	rv_put_u32(b + 12, src);
	rv_put_u32(b + 16, dst);
	nat_ip_csum_set(b, 20);
}

/* A whole UDP datagram of plen payload bytes (a pattern from seed), both
 * checksums right. Returns its length. */
static size_t big_udp(uint8_t *b, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                      size_t plen, uint8_t seed)
{
	struct nat_ip ip;
	size_t tot = 28 + plen;

	ip_head(b, tot, NAT_IPPROTO_UDP, src, dst);
	rv_put_u16(b + 20, sport);
	rv_put_u16(b + 22, dport);
	rv_put_u16(b + 24, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		b[28 + i] = (uint8_t)(i * 13 + seed);
	cr_assert_eq(nat_ip_parse(b, tot, &ip), 0);
	rv_put_u16(b + 26, nat_udp_csum(b, &ip));
	return tot;
}

static void cut(const uint8_t *b, size_t len, uint16_t mtu, struct pieces *p)
{
	p->n = rv_frag_count(len, 0, mtu);
	cr_assert(p->n >= 2 && p->n <= RV_FRAG_MAX_OUT);
	for (unsigned i = 0; i < p->n; i++) {
		int n = rv_frag_split(b, len, 0, mtu, rv_get_u16(b + 4), i, p->p[i],
		                      sizeof(p->p[i]));
		cr_assert_gt(n, 0);
		p->len[i] = (uint16_t)n;
	}
}

/* The core's output since the last feed, all on side, as fragments of one
 * datagram within mtu (in order, DF clear, one ID): the datagram joined in
 * out. Returns its length. */
static size_t join(const struct th *t, enum nat_side side, uint16_t mtu, uint8_t *out)
{
	size_t at = 0;

	cr_assert_geq(t->s.n_out, 2, "in pieces");
	for (unsigned i = 0; i < t->s.n_out; i++) {
		const uint8_t *p = t->s.out[i].pkt;
		uint16_t tot = rv_get_u16(p + 2), fl = rv_get_u16(p + 6);

		cr_assert_eq(t->s.out[i].side, side);
		cr_assert_eq(t->s.out[i].len, tot);
		cr_assert_leq(tot, mtu, "piece %u: %u bytes", i, tot);
		cr_assert_eq(fl & 0x4000, 0, "DF clear");
		cr_assert_eq(!!(fl & NAT_IP_MF), i + 1 < t->s.n_out, "MF on all but the last");
		cr_assert_eq((size_t)(fl & NAT_IP_OFFMASK) * 8, at, "piece %u in order", i);
		cr_assert_eq(rv_get_u16(p + 4), rv_get_u16(t->s.out[0].pkt + 4), "one IP ID");
		if (i == 0)
			memcpy(out, p, 20);
		memcpy(out + 20 + at, p + 20, tot - 20u);
		at += tot - 20u;
	}
	rv_put_u16(out + 2, (uint16_t)(20 + at));
	rv_put_u16(out + 6, 0);
	nat_ip_csum_set(out, 20);
	cr_assert(th_csums_ok(out, 20 + at), "the joined datagram's checksums");
	return 20 + at;
}

/* Feed pieces in the order given (indices), expecting nothing out until
 * the last; returns what the last one emitted. */
static int feed_pieces(struct th *t, enum nat_side side, const struct pieces *p,
                       const unsigned *order)
{
	for (unsigned k = 0; k + 1 < p->n; k++) {
		unsigned i = order ? order[k] : k;

		cr_assert_eq(th_feed(t, side, p->p[i], p->len[i]), 0, "piece %u held", i);
		cr_assert_eq(th_count(t, NAT_EV_MAP_CREATE), 0, "a piece maps nothing");
		cr_assert_eq(th_count(t, NAT_EV_DROP) + th_count(t, NAT_EV_FILTERED), 0);
	}
	return th_feed(t, side, p->p[order ? order[p->n - 1] : p->n - 1],
	               p->len[order ? order[p->n - 1] : p->n - 1]);
}

Test(frag, a_big_datagram_from_the_lan_is_translated_whole_and_leaves_in_pieces)
{
	const char *kv[] = { "preset", "PS", NULL };
	static uint8_t b[4000], back[4000];
	static struct pieces p;
	static const unsigned rev[] = { 2, 1, 0 };
	struct th t;
	struct nat_ip ip;
	size_t len = big_udp(b, H1, 5000, S1, 3478, BIG, 1), n;
	uint16_t ext;

	th_setup(&t, kv);
	cut(b, len, 1500, &p);
	cr_assert_eq(p.n, 3);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_LAN, &p, rev), 3, "reversed: 3 pieces out");
	cr_assert_eq(th_count(&t, NAT_EV_MAP_CREATE), 1, "the whole datagram maps");
	n = join(&t, NAT_SIDE_WAN, 1500, back);
	cr_assert_eq(n, len);
	cr_assert_eq(t.s.out[0].next_hop, GW);
	cr_assert_eq(nat_ip_parse(back, n, &ip), 0);
	cr_assert_eq(ip.src, WAN_IP);
	cr_assert_eq(ip.dst, S1);
	cr_assert_eq(ip.ttl, 63);
	cr_assert_eq(ip.dport, 3478);
	ext = ip.sport;
	cr_assert_eq(ext, th_ev(&t, NAT_EV_MAP_CREATE, 0)->ext.port);
	cr_assert_arr_eq(back + 28, b + 28, BIG, "payload intact");
	/* The whole datagram's IP ID stays (a router's fragments keep it). */
	cr_assert_eq(rv_get_u16(back + 4), 0x4242);
	/* A small packet on the same flow uses the same mapping. */
	cr_assert_eq(th_out(&t, H1, 5000, S1, 3478), ext);
	th_teardown(&t);
}

Test(frag, a_big_answer_from_the_wan_comes_back_in_pieces_to_the_host)
{
	const char *kv[] = { "preset", "PR", NULL };
	static uint8_t b[4000], back[4000];
	static struct pieces p;
	static const unsigned shuffled[] = { 1, 2, 0 };
	struct th t;
	struct nat_ip ip;
	size_t len, n;
	int ext;

	th_setup(&t, kv);
	ext = th_out(&t, H1, 5000, S1, 3478);
	cr_assert_gt(ext, 0);
	len = big_udp(b, S1, 3478, WAN_IP, (uint16_t)ext, BIG, 7);
	cut(b, len, 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_WAN, &p, shuffled), 3);
	n = join(&t, NAT_SIDE_LAN, 1500, back);
	cr_assert_eq(t.s.out[0].next_hop, H1);
	cr_assert_eq(nat_ip_parse(back, n, &ip), 0);
	cr_assert_eq(ip.src, S1);
	cr_assert_eq(ip.sport, 3478);
	cr_assert_eq(ip.dst, H1);
	cr_assert_eq(ip.dport, 5000);
	cr_assert_arr_eq(back + 28, b + 28, BIG);
	th_teardown(&t);
}

Test(frag, filtering_judges_the_reassembled_datagram)
{
	const char *kv[] = { "preset", "PR", NULL };
	static uint8_t b[4000];
	static struct pieces p;
	struct th t;
	int ext;

	th_setup(&t, kv);
	ext = th_out(&t, H1, 5000, S1, 3478);
	/* From the other port of the same server: APDF stops it, once, when
	 * it is whole (the pieces before say nothing). */
	cut(b, big_udp(b, S1, 3479, WAN_IP, (uint16_t)ext, BIG, 3), 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_WAN, &p, NULL), 0);
	cr_assert_eq(th_count(&t, NAT_EV_FILTERED), 1);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_APDF);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->remote.port, 3479);
	/* To a port nobody mapped: no_mapping. */
	cut(b, big_udp(b, S1, 3478, WAN_IP, 40000, BIG, 3), 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_WAN, &p, NULL), 0);
	cr_assert_eq(th_ev(&t, NAT_EV_FILTERED, 0)->reason, NAT_R_NO_MAPPING);
	th_teardown(&t);
}

Test(frag, pieces_that_never_complete_map_nothing_and_time_out_with_a_logged_reason)
{
	const char *kv[] = { "preset", "FC", "frag_timeout", "0.5", NULL };
	static uint8_t b[4000];
	static struct pieces p;
	const struct nat_ev *e;
	struct th t;

	th_setup(&t, kv);
	cut(b, big_udp(b, H1, 5000, S1, 3478, BIG, 1), 1500, &p);
	/* Everything but the first piece: no transport header, no mapping. */
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[1], p.len[1]), 0);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[2], p.len[2]), 0);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	cr_assert_eq(t.s.n_ev, 0);
	/* Another train: the first piece only (its ports are known). */
	rv_put_u16(p.p[0] + 4, 0x4343);
	nat_ip_csum_set(p.p[0], 20);
	t.now += 100;
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[0], p.len[0]), 0);
	cr_assert_eq(nat_core_mappings(t.c), 0, "a first piece maps nothing either");
	cr_assert_eq(t.s.n_ev, 0);
	nat_sink_reset(&t.s);
	nat_core_tick(t.c, t.now + 400, &t.s);
	cr_assert_eq(th_count(&t, NAT_EV_DROP), 1, "the first train: 500 ms");
	e = th_ev(&t, NAT_EV_DROP, 0);
	cr_assert_eq(e->reason, NAT_R_FRAG_TIMEOUT);
	cr_assert_eq(e->side, NAT_SIDE_LAN);
	cr_assert_eq(e->proto, NAT_IPPROTO_UDP);
	cr_assert_eq(rv_addr_v4_host(&e->remote), H1);
	cr_assert_eq(e->remote.port, 0, "its ports never came");
	cr_assert_eq(rv_addr_v4_host(&e->other), S1);
	nat_sink_reset(&t.s);
	nat_core_tick(t.c, t.now + 500, &t.s);
	cr_assert_eq(th_count(&t, NAT_EV_DROP), 1, "the second train");
	e = th_ev(&t, NAT_EV_DROP, 0);
	cr_assert_eq(e->reason, NAT_R_FRAG_TIMEOUT);
	cr_assert_eq(e->remote.port, 5000);
	cr_assert_eq(e->other.port, 3478);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	th_teardown(&t);
}

Test(frag, each_hostile_piece_is_dropped_and_logged_with_its_reason)
{
	const char *kv[] = { "preset", "FC", "frag_max_frags", "4", "frag_max_size", "2000", NULL };
	static uint8_t b[4000], q[1600];
	static struct pieces p;
	struct th t;
	size_t len;

	th_setup(&t, kv);
	len = big_udp(b, H1, 5000, S1, 3478, 1800, 1); /* 2 pieces at 1500 */
	cut(b, len, 1500, &p);
#define LAST_DROP(why)                                                                            \
	do {                                                                                      \
		cr_assert_eq(th_count(&t, NAT_EV_DROP), 1);                                       \
		cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, why, "%s",                        \
		             nat_reason_str((enum nat_reason)th_ev(&t, NAT_EV_DROP, 0)->reason)); \
	} while (0)
	/* A duplicate: the piece alone; the train completes. */
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[0], p.len[0]), 0);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[0], p.len[0]), 0);
	LAST_DROP(NAT_R_FRAG_DUP);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->remote.port, 5000, "a first piece has ports");
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[1], p.len[1]), 2);
	/* An overlap: the whole train goes. */
	memcpy(q, p.p[1], p.len[1]);
	rv_put_u16(q + 6, (uint16_t)((1480 - 8) / 8));
	nat_ip_csum_set(q, 20);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[0], p.len[0]), 0);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, q, p.len[1]), 0);
	LAST_DROP(NAT_R_FRAG_OVERLAP);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->remote.port, 0, "a later piece has none");
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[1], p.len[1]), 0, "the train is gone");
	/* Past frag_max_size (2000). */
	memcpy(q, p.p[1], p.len[1]);
	rv_put_u16(q + 4, 0x5151);
	rv_put_u16(q + 6, 2000 / 8);
	nat_ip_csum_set(q, 20);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, q, p.len[1]), 0);
	LAST_DROP(NAT_R_FRAG_TOO_BIG);
	/* A fifth piece (frag_max_frags 4). */
	for (unsigned k = 0; k < 5; k++) {
		memcpy(q, p.p[0], 20 + 8);
		rv_put_u16(q + 2, 28);
		rv_put_u16(q + 4, 0x6161);
		rv_put_u16(q + 6, (uint16_t)(NAT_IP_MF | k));
		nat_ip_csum_set(q, 20);
		cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, q, 28), 0);
		cr_assert_eq(th_count(&t, NAT_EV_DROP), k < 4 ? 0u : 1u);
	}
	LAST_DROP(NAT_R_FRAG_TOO_MANY);
	/* Malformed: a middle piece of 12 bytes (not 8 x n). */
	rv_put_u16(q + 2, 32);
	nat_ip_csum_set(q, 20);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, q, 32), 0);
	LAST_DROP(NAT_R_FRAG_BAD);
	/* Protocols the NAT does not translate: their own reasons. */
	q[9] = NAT_IPPROTO_TCP;
	rv_put_u16(q + 2, 28);
	nat_ip_csum_set(q, 20);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, q, 28), 0);
	LAST_DROP(NAT_R_TCP);
	q[9] = 47;
	nat_ip_csum_set(q, 20);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, q, 28), 0);
	LAST_DROP(NAT_R_PROTO);
#undef LAST_DROP
	cr_assert_eq(nat_core_mappings(t.c), 1, "only the one whole datagram mapped");
	th_teardown(&t);
}

Test(frag, a_full_table_evicts_its_oldest_train_and_says_so)
{
	const char *kv[] = { "preset", "FC", "frag_slots", "4", NULL };
	static uint8_t b[4000];
	static struct pieces p;
	struct th t;

	th_setup(&t, kv);
	cut(b, big_udp(b, H1, 5000, S1, 3478, BIG, 1), 1500, &p);
	for (uint16_t id = 0; id < 5; id++) {
		rv_put_u16(p.p[0] + 4, id);
		nat_ip_csum_set(p.p[0], 20);
		t.now++;
		cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[0], p.len[0]), 0);
		cr_assert_eq(th_count(&t, NAT_EV_DROP), id < 4 ? 0u : 1u);
	}
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_FRAG_EVICTED);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->remote.port, 5000);
	th_teardown(&t);
}

Test(frag, with_reassembly_off_every_fragment_is_dropped_as_before)
{
	const char *kv[] = { "preset", "FC", "frag_slots", "0", NULL };
	static uint8_t b[4000];
	static struct pieces p;
	struct th t;

	th_setup(&t, kv);
	cut(b, big_udp(b, H1, 5000, S1, 3478, BIG, 1), 1500, &p);
	for (unsigned i = 0; i < p.n; i++) {
		cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, p.p[i], p.len[i]), 0);
		cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_FRAGMENT);
	}
	cr_assert_eq(nat_core_mappings(t.c), 0);
	th_teardown(&t);
}

Test(frag, a_whole_packet_above_the_egress_mtu_is_cut_unless_df_is_set)
{
	const char *kv[] = { "preset", "FC", "mtu", "1280", NULL };
	static uint8_t b[2000], back[2000];
	struct th t;
	size_t len;

	th_setup(&t, kv);
	/* 1500 bytes arrive whole (the LAN side's MTU is the host's business);
	 * the WAN side takes 1280. */
	len = big_udp(b, H1, 5000, S1, 3478, 1472, 2);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, b, len), 2);
	cr_assert_eq(join(&t, NAT_SIDE_WAN, 1280, back), len);
	cr_assert_arr_eq(back + 28, b + 28, 1472);
	rv_put_u16(b + 6, 0x4000);
	nat_ip_csum_set(b, 20);
	cr_assert_eq(th_feed(&t, NAT_SIDE_LAN, b, len), 0, "DF: dropped");
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_TOO_BIG);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->side, NAT_SIDE_WAN, "the egress side");
	th_teardown(&t);
}

Test(frag, a_big_ping_through_the_nat_and_to_the_nat_itself)
{
	const char *kv[] = { "preset", "PS", NULL };
	static uint8_t b[4000], back[4000];
	static struct pieces p;
	struct th t;
	struct nat_ip ip;
	size_t len = 20 + 8 + BIG, n;

	th_setup(&t, kv);
	ip_head(b, len, NAT_IPPROTO_ICMP, H1, S1);
	b[20] = NAT_ICMP_ECHO;
	rv_put_u16(b + 24, 0x0abc); /* identifier */
	rv_put_u16(b + 26, 1);
	for (size_t i = 28; i < len; i++)
		b[i] = (uint8_t)i;
	rv_put_u16(b + 22, nat_csum_fold(nat_csum_add(0, b + 20, len - 20)));
	cut(b, len, 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_LAN, &p, NULL), 3);
	n = join(&t, NAT_SIDE_WAN, 1500, back);
	cr_assert_eq(nat_ip_parse(back, n, &ip), 0, "the ICMP checksum over the whole holds");
	cr_assert_eq(ip.src, WAN_IP);
	cr_assert_eq(th_count(&t, NAT_EV_MAP_CREATE), 1);
	cr_assert_eq(th_ev(&t, NAT_EV_MAP_CREATE, 0)->proto, NAT_IPPROTO_ICMP);
	/* To the NAT's own LAN address: the reply leaves in pieces too. */
	rv_put_u32(b + 16, LAN_IP);
	rv_put_u16(b + 4, 0x4243);
	nat_ip_csum_set(b, 20);
	cut(b, len, 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_LAN, &p, NULL), 3);
	n = join(&t, NAT_SIDE_LAN, 1500, back);
	cr_assert_eq(nat_ip_parse(back, n, &ip), 0);
	cr_assert_eq(back[20], NAT_ICMP_ECHO_REPLY);
	cr_assert_eq(ip.src, LAN_IP);
	cr_assert_eq(ip.dst, H1);
	cr_assert_arr_eq(back + 24, b + 24, len - 24);
	th_teardown(&t);
}

Test(frag, a_reassembled_datagram_whose_udp_length_lies_is_dropped_whole)
{
	const char *kv[] = { "preset", "FC", NULL };
	static uint8_t b[4000];
	static struct pieces p;
	struct th t;
	size_t len = big_udp(b, H1, 5000, S1, 3478, BIG, 1);

	th_setup(&t, kv);
	rv_put_u16(b + 24, BIG + 100); /* more than the datagram carries */
	cut(b, len, 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_LAN, &p, NULL), 0);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_BAD_LENGTH);
	cr_assert_eq(nat_core_mappings(t.c), 0);
	th_teardown(&t);
}

Test(frag, hairpinned_big_datagrams_are_reassembled_and_cut_again)
{
	const char *kv[] = { "preset", "FC", NULL };
	static uint8_t b[4000], back[4000];
	static struct pieces p;
	struct th t;
	struct nat_ip ip;
	int e1, e2;

	th_setup(&t, kv);
	e1 = th_out(&t, H1, 5000, S1, 3478);
	e2 = th_out(&t, H2, 6000, S1, 3478);
	cut(b, big_udp(b, H2, 6000, WAN_IP, (uint16_t)e1, BIG, 9), 1500, &p);
	cr_assert_eq(feed_pieces(&t, NAT_SIDE_LAN, &p, NULL), 3);
	cr_assert_eq(th_count(&t, NAT_EV_HAIRPIN), 1);
	cr_assert_eq(nat_ip_parse(back, join(&t, NAT_SIDE_LAN, 1500, back), &ip), 0);
	cr_assert_eq(ip.src, WAN_IP);
	cr_assert_eq(ip.sport, e2);
	cr_assert_eq(ip.dst, H1);
	cr_assert_eq(ip.dport, 5000);
	th_teardown(&t);
}

/* Drop events in the sink, by reason; what leaves fits the MTU. */
static void tally(const struct th *t, uint64_t *why)
{
	for (unsigned k = 0; k < t->s.n_out; k++)
		cr_assert_leq(t->s.out[k].len, 1500);
	for (unsigned k = 0; k < t->s.n_ev; k++)
		if (t->s.ev[k].type == NAT_EV_DROP)
			why[t->s.ev[k].reason]++;
}

/* Random pieces on both sides with the clock running, through a small
 * table: whatever leaves parses and fits the MTU, every drop has a reason,
 * nothing reads or writes out of bounds (run under `make asan`). */
Test(frag, a_flood_of_random_pieces_is_bounded_and_every_drop_has_a_reason)
{
	const char *kv[] = { "preset", "PR", "frag_slots", "8", "frag_max_frags", "8", NULL };
	static uint8_t dg[2][9000], q[1600];
	struct th t;
	uint64_t seed = 77, outs = 0, clean = 0, why[NAT_R_COUNT] = { 0 };
	size_t len;
	int ext;

	th_setup(&t, kv);
	ext = th_out(&t, H1, 5000, S1, 3478);
	/* Whatever completes is a piece of the right datagram for its side. */
	len = big_udp(dg[NAT_SIDE_LAN], H1, 5000, S1, 3478, 8000, 4);
	(void)big_udp(dg[NAT_SIDE_WAN], S1, 3478, WAN_IP, (uint16_t)ext, 8000, 4);
	for (int i = 0; i < 20000; i++) {
		uint32_t r = th_rng(&seed);
		uint32_t off = (r % 1000) * 8, n = 8u << ((r >> 10) % 8);
		enum nat_side side = (r >> 20) & 1 ? NAT_SIDE_LAN : NAT_SIDE_WAN;
		const uint8_t *b = dg[side];

		if (off + n > len - 20)
			n = (uint32_t)(len - 20 - off) & ~7u;
		if (!n)
			continue;
		memcpy(q, b, 20);
		memcpy(q + 20, b + 20 + off, n);
		rv_put_u16(q + 2, (uint16_t)(20 + n));
		rv_put_u16(q + 4, (uint16_t)((r >> 22) % 8));
		rv_put_u16(q + 6, (uint16_t)(off / 8 | ((r >> 26) & 1 ? NAT_IP_MF : 0)));
		nat_ip_csum_set(q, 20);
		t.now += r % 3;
		th_feed(&t, side, q, 20 + n);
		tally(&t, why);
		outs += t.s.n_out;
		if (!(i & 127)) {
			nat_sink_reset(&t.s);
			nat_core_tick(t.c, t.now, &t.s);
			tally(&t, why);
		}
		if (!(i & 63)) { /* a clean train among them still gets through */
			static struct pieces p;

			rv_put_u16(dg[NAT_SIDE_WAN] + 4, (uint16_t)(1000 + i));
			nat_ip_csum_set(dg[NAT_SIDE_WAN], 20);
			cut(dg[NAT_SIDE_WAN], len, 1500, &p);
			for (unsigned k = 0; k < p.n; k++) {
				cr_assert_eq(th_feed(&t, NAT_SIDE_WAN, p.p[k], p.len[k]),
				             k + 1 < p.n ? 0 : 6);
				tally(&t, why);
			}
			clean++;
		}
	}
	cr_log_info("random pieces: %lu packets out; overlap %lu dup %lu too_many %lu evicted %lu "
	            "timeout %lu "
	            "bad_length %lu",
	            (unsigned long)outs, (unsigned long)why[NAT_R_FRAG_OVERLAP],
	            (unsigned long)why[NAT_R_FRAG_DUP], (unsigned long)why[NAT_R_FRAG_TOO_MANY],
	            (unsigned long)why[NAT_R_FRAG_EVICTED], (unsigned long)why[NAT_R_FRAG_TIMEOUT],
	            (unsigned long)why[NAT_R_BAD_LENGTH]);
	cr_assert_eq(why[NAT_R_NONE], 0, "every drop has a reason");
	cr_assert_gt(why[NAT_R_FRAG_OVERLAP], 0);
	cr_assert_gt(why[NAT_R_FRAG_TOO_MANY], 0);
	cr_assert_gt(why[NAT_R_FRAG_EVICTED] + why[NAT_R_FRAG_TIMEOUT], 0);
	cr_assert_gt(clean, 300);
	th_teardown(&t);
}

Test(frag, the_settings_are_checked_and_logged)
{
	struct nat_conf c;
	char err[256], js[1024];

	nat_conf_defaults(&c);
	cr_assert_eq(c.frag_slots, 64);
	cr_assert_eq(c.frag_max_size, 65000);
	cr_assert_eq(c.frag_max_frags, 64);
	cr_assert_eq(c.frag_timeout_ms, 30000);
	cr_assert_eq(c.lan_mtu, 0, "the link's");
	cr_assert_eq(nat_conf_line(&c, "mtu = 1400", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.lan_mtu, 1400);
	cr_assert_eq(c.wan_mtu, 1400);
	cr_assert_eq(nat_conf_set(&c, "frag_timeout", "2.5", err, sizeof(err)), 0);
	cr_assert_eq(c.frag_timeout_ms, 2500);
	cr_assert_eq(nat_conf_set(&c, "frag_slots", "0", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_set(&c, "frag_slots", "16", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_set(&c, "frag_slots", "12", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "frag_slots"), "%s", err);
	cr_assert_eq(nat_conf_set(&c, "frag_slots", "2", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "frag_slots", "8192", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "frag_max_size", "575", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "frag_max_size", "65001", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "frag_max_frags", "1", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "frag_max_frags", "256", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "frag_timeout", "0", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "mtu", "67", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_set(&c, "mtu", "1985", err, sizeof(err)), -EINVAL);
	cr_assert_eq(nat_conf_line(&c, "lan_ip = 10.0.1.1/24", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "wan_ip = 198.51.100.2/24", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "gateway = 198.51.100.1", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(nat_conf_json(&c, js, sizeof(js)), 0);
	cr_assert(strstr(js, "\"lan_mtu\":1400,\"wan_mtu\":1400,\"frag_slots\":16,"
	                     "\"frag_max_size\":65000,\"frag_max_frags\":64,"
	                     "\"frag_timeout_ms\":2500"),
	          "%s", js);
}
