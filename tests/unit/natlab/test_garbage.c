/* The emulator never crashes on any packet: truncations at every offset,
 * random bytes, lying lengths, IHL and fragment oddities — on both sides,
 * in every mode. Run under `make asan` this is the out-of-bounds proof. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rv_buf.h"
#include "tests/natlab/nat_l2.h"
#include "helpers.h"

static const char *const presets[] = { "none", "FC", "R", "PR", "AS", "PS" };

/* Feed a copy of exactly len bytes (heap, so ASan sees any overread). */
static void feed_exact(struct th *t, enum nat_side side, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct nat_ip ip;
	bool in_ok;

	cr_assert_not_null(copy);
	memcpy(copy, p, len);
	in_ok = th_csums_ok(copy, len);
	nat_sink_reset(&t->s);
	nat_core_input(t->c, side, copy, len, t->now, &t->s);
	/* Whatever leaves is well-formed; a UDP checksum that was wrong on
	 * the way in stays wrong (a NAT updates, it does not repair). */
	for (unsigned i = 0; i < t->s.n_out; i++) {
		cr_assert_eq(nat_ip_parse(t->s.out[i].pkt, t->s.out[i].len, &ip), 0);
		if (in_ok)
			cr_assert(th_csums_ok(t->s.out[i].pkt, t->s.out[i].len));
	}
	free(copy);
}

/* A set of valid packets worth truncating, for a core with a mapping. */
static size_t samples(struct th *t, uint8_t pk[][128], size_t *len, enum nat_side *side)
{
	size_t n = 0, wl;
	uint16_t ext = 1024;
	uint8_t wan[128];

	/* th_out would insist on translation: "none" routes instead. */
	wl = th_udp(wan, H1, 5000, S1, 3478, 64, true);
	if (th_feed(t, NAT_SIDE_LAN, wan, wl) == 1)
		ext = rv_get_u16(t->s.out[0].pkt + 20);
	wl = th_udp(wan, WAN_IP, ext, S1, 3478, 1, true);

	len[n] = th_udp(pk[n], H1, 5000, S1, 3478, 64, true), side[n++] = NAT_SIDE_LAN;
	len[n] = th_udp(pk[n], H1, 5000, S1, 3478, 1, true), side[n++] = NAT_SIDE_LAN;
	len[n] = th_udp(pk[n], S1, 3478, WAN_IP, ext, 64, true), side[n++] = NAT_SIDE_WAN;
	len[n] = th_echo(pk[n], NAT_ICMP_ECHO, H1, S1, 9, 64), side[n++] = NAT_SIDE_LAN;
	len[n] = th_echo(pk[n], NAT_ICMP_ECHO_REPLY, S1, WAN_IP, ext, 64), side[n++] = NAT_SIDE_WAN;
	len[n] = th_icmp_err(pk[n], NAT_ICMP_TIME_EXCEEDED, 0, GW, WAN_IP, wan, wl);
	side[n++] = NAT_SIDE_WAN;
	len[n] = th_icmp_err(pk[n], NAT_ICMP_UNREACH, 3, H1, S1, pk[2], len[2]);
	side[n++] = NAT_SIDE_LAN;
	len[n] = th_udp(pk[n], H2, 7, WAN_IP, ext, 64, true), side[n++] = NAT_SIDE_LAN;
	return n;
}

Test(garbage, every_truncation_of_every_valid_packet_is_survived)
{
	for (size_t p = 0; p < sizeof(presets) / sizeof(presets[0]); p++) {
		const char *kv[] = { "preset", presets[p], NULL };
		uint8_t pk[8][128];
		size_t len[8];
		enum nat_side side[8];
		struct th t;

		th_setup(&t, kv);
		size_t n = samples(&t, pk, len, side);

		for (size_t i = 0; i < n; i++) {
			for (size_t cut = 0; cut <= len[i]; cut++)
				feed_exact(&t, side[i], pk[i], cut);
			/* The other side gets it too. */
			for (size_t cut = 0; cut <= len[i]; cut++)
				feed_exact(&t, (enum nat_side) !side[i], pk[i], cut);
		}
		th_teardown(&t);
	}
}

Test(garbage, random_bytes_and_mutations_are_survived)
{
	uint64_t seed = 12345;

	for (size_t p = 0; p < sizeof(presets) / sizeof(presets[0]); p++) {
		const char *kv[] = { "preset", presets[p], "max_mappings", "64", NULL };
		uint8_t pk[8][128], buf[256];
		size_t len[8];
		enum nat_side side[8];
		struct th t;

		th_setup(&t, kv);
		size_t n = samples(&t, pk, len, side);

		for (int i = 0; i < 20000; i++) {
			uint32_t r = th_rng(&seed);
			size_t l;

			if (r & 1) {
				/* Pure noise, sometimes dressed as IPv4. */
				l = th_rng(&seed) % sizeof(buf);
				for (size_t k = 0; k < l; k++)
					buf[k] = (uint8_t)th_rng(&seed);
				if (l >= 20 && (r & 2)) {
					buf[0] = (uint8_t)(0x40 | (th_rng(&seed) & 15));
					nat_ip_csum_set(buf, 20);
				}
			} else {
				/* A valid packet with a few bytes flipped, then its
				 * header checksum fixed so the flips get past it. */
				size_t s = (r >> 1) % n;

				l = len[s];
				memcpy(buf, pk[s], l);
				for (int k = 0; k < 1 + (int)(r >> 8) % 4; k++)
					buf[th_rng(&seed) % l] = (uint8_t)th_rng(&seed);
				if ((r & 4) && (buf[0] & 15) >= 5 && (size_t)(buf[0] & 15) * 4 <= l)
					nat_ip_csum_set(buf, (uint16_t)((buf[0] & 15) * 4));
			}
			t.now += r % 3;
			feed_exact(&t, (r >> 4) & 1 ? NAT_SIDE_WAN : NAT_SIDE_LAN, buf, l);
		}
		th_teardown(&t);
	}
}

/* Header fields that lie, one at a time, with the header checksum made
 * right so that the lie is what gets tested. */
Test(garbage, lying_header_fields_are_dropped_with_a_reason)
{
	static const struct {
		size_t off;
		int width; /* bytes written big-endian at off */
		uint32_t val;
		enum nat_reason why;
	} lies[] = {
		{ 0, 1, 0x44, NAT_R_BAD_LENGTH },        /* IHL 4 */
		{ 0, 1, 0x4f, NAT_R_BAD_LENGTH },        /* IHL 15 > total length */
		{ 0, 1, 0x65, NAT_R_NOT_IPV4 },          /* version 6 */
		{ 2, 2, 19, NAT_R_BAD_LENGTH },          /* total < header */
		{ 2, 2, 200, NAT_R_TRUNCATED },          /* total > buffer */
		{ 2, 2, 24, NAT_R_TRUNCATED },           /* no room for UDP */
		{ 6, 2, 0x2000, NAT_R_FRAG_BAD },        /* MF, 18 bytes: not 8 x n */
		{ 6, 2, 0x2010, NAT_R_FRAG_BAD },        /* a middle piece, the same */
		{ 24, 2, 4, NAT_R_BAD_LENGTH },          /* UDP length < 8 */
		{ 24, 2, 1000, NAT_R_BAD_LENGTH },       /* UDP length > payload */
		{ 9, 1, 6, NAT_R_TCP },                  /* TCP */
		{ 9, 1, 47, NAT_R_PROTO },               /* GRE */
		{ 12, 4, 0x7f000001, NAT_R_BAD_SOURCE }, /* loopback source */
		{ 12, 4, 0x0a0001ff, NAT_R_BAD_SOURCE }, /* the LAN broadcast */
		{ 12, 4, 0x0a000201, NAT_R_BAD_SOURCE }, /* not from the LAN */
		{ 16, 4, 0xe0000001, NAT_R_BAD_DEST },   /* multicast */
		{ 16, 4, 0xffffffff, NAT_R_BAD_DEST },   /* limited broadcast */
		{ 16, 4, 0x0a000105, NAT_R_BAD_DEST },   /* LAN to LAN via the NAT */
		{ 16, 4, LAN_IP, NAT_R_TO_SELF },        /* UDP to the gateway */
	};
	struct th t;
	uint8_t buf[128];

	th_setup(&t, NULL);
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		size_t len = th_udp(buf, H1, 5000, S1, 3478, 64, true);

		for (int k = 0; k < lies[i].width; k++)
			buf[lies[i].off + (size_t)k] =
			        (uint8_t)(lies[i].val >> (8 * (lies[i].width - 1 - k)));
		if ((buf[0] & 15) >= 5)
			nat_ip_csum_set(buf, (uint16_t)((buf[0] & 15) * 4));
		else
			nat_ip_csum_set(buf, 20);
		feed_exact(&t, NAT_SIDE_LAN, buf, len);
		cr_assert_eq(t.s.n_out, 0, "lie %zu went through", i);
		cr_assert_eq(th_count(&t, NAT_EV_DROP), 1, "lie %zu", i);
		cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, lies[i].why, "lie %zu: %s", i,
		             nat_reason_str((enum nat_reason)th_ev(&t, NAT_EV_DROP, 0)->reason));
	}
	/* A bad header checksum. */
	size_t len = th_udp(buf, H1, 5000, S1, 3478, 64, true);

	buf[10] ^= 0xff;
	feed_exact(&t, NAT_SIDE_LAN, buf, len);
	cr_assert_eq(th_ev(&t, NAT_EV_DROP, 0)->reason, NAT_R_BAD_CHECKSUM);
	th_teardown(&t);
}

Test(garbage, options_in_the_header_are_carried_through)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t buf[128], opt[128];
	struct th t;
	size_t len;

	th_setup(&t, kv);
	len = th_udp(buf, H1, 5000, S1, 3478, 64, true);
	/* Insert 4 bytes of options (NOPs) after the base header. */
	memcpy(opt, buf, 20);
	memset(opt + 20, 1, 4);
	memcpy(opt + 24, buf + 20, len - 20);
	opt[0] = 0x46;
	rv_put_u16(opt + 2, (uint16_t)(len + 4));
	nat_ip_csum_set(opt, 24);
	feed_exact(&t, NAT_SIDE_LAN, opt, len + 4);
	cr_assert_eq(t.s.n_out, 1);
	cr_assert_eq(rv_get_u32(t.s.out[0].pkt + 12), WAN_IP);
	cr_assert_eq(rv_get_u16(t.s.out[0].pkt + 26), 3478);
	th_teardown(&t);
}

Test(garbage, link_padding_after_the_packet_is_not_forwarded)
{
	const char *kv[] = { "preset", "FC", NULL };
	uint8_t buf[128];
	struct th t;
	size_t len;

	th_setup(&t, kv);
	len = th_udp(buf, H1, 5000, S1, 3478, 64, true);
	memset(buf + len, 0xee, 20);
	feed_exact(&t, NAT_SIDE_LAN, buf, len + 20);
	cr_assert_eq(t.s.n_out, 1);
	cr_assert_eq(t.s.out[0].len, len);
	th_teardown(&t);
}

Test(garbage, a_full_output_sink_loses_packets_without_overrunning)
{
	struct nat_out one[1];
	struct nat_ev ev[4];
	struct nat_sink s = nat_sink_make(one, 1, ev, 4);
	struct th t;
	uint8_t buf[128];
	size_t len;

	th_setup(&t, NULL);
	len = th_udp(buf, H1, 5000, S1, 3478, 64, true);
	cr_assert_eq(nat_core_input(t.c, NAT_SIDE_LAN, buf, len, t.now, &s), 1);
	cr_assert_eq(nat_core_input(t.c, NAT_SIDE_LAN, buf, len, t.now, &s), 0);
	cr_assert_eq(s.out_lost, 1);
	th_teardown(&t);
}

Test(garbage, the_arp_layer_survives_noise_and_truncation)
{
	static const uint8_t mac_l[6] = { 2, 0, 0, 0, 0, 1 }, mac_w[6] = { 2, 0, 0, 0, 0, 2 };
	struct nat_l2 *l = nat_l2_new(mac_l, LAN_IP, mac_w, WAN_IP);
	struct nat_out out[64];
	struct nat_ev ev[64];
	struct nat_sink s = nat_sink_make(out, 64, ev, 64);
	uint64_t seed = 5;
	uint8_t f[128];

	cr_assert_not_null(l);
	/* A valid request for our LAN address, cut everywhere. */
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	rv_put_u16(f + 12, 0x0806);
	rv_put_u16(f + 14, 1);
	rv_put_u16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	rv_put_u16(f + 20, 1);
	memcpy(f + 22, f + 6, 6);
	rv_put_u32(f + 28, H1);
	memset(f + 32, 0, 6);
	rv_put_u32(f + 38, LAN_IP);
	for (size_t cut = 0; cut <= 42; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		const uint8_t *ip;
		size_t iplen;

		memcpy(copy, f, cut);
		nat_sink_reset(&s);
		cr_assert_eq(nat_l2_input(l, NAT_SIDE_LAN, copy, cut, 0, &s, &ip, &iplen), 0);
		cr_assert_eq(s.n_out, cut == 42 ? 1u : 0u, "cut %zu", cut);
		free(copy);
	}
	for (int i = 0; i < 50000; i++) {
		size_t len = th_rng(&seed) % sizeof(f);
		const uint8_t *ip;
		size_t iplen;

		for (size_t k = 0; k < len; k++)
			f[k] = (uint8_t)th_rng(&seed);
		if (i & 1 && len >= 14)
			rv_put_u16(f + 12, i & 2 ? 0x0806 : 0x0800);
		if (i & 4 && len >= 6)
			memcpy(f, mac_w, 6);
		nat_sink_reset(&s);
		if (nat_l2_input(l, NAT_SIDE_WAN, f, len, (uint64_t)i, &s, &ip, &iplen) == 1)
			cr_assert(ip == f + 14 && iplen == len - 14);
		nat_l2_tick(l, (uint64_t)i, &s);
	}
	nat_l2_free(l);
}
