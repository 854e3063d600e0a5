/* fuzz_nat.c — the NAT emulator's packet path (tests/natlab/nat_core.c,
 * nat_pkt.c, nat_table.c, nat_alloc.c; nat_l2.c for Ethernet/ARP; its
 * config parser nat_conf.c), driven as tests/unit/natlab drives it:
 * packets in, packets and events out, the clock and the random source the
 * caller's.
 *
 * Input: a 16-bit-length config text (nat_conf_line per line, over site
 * a's addresses; sizes then clamped so an input stays small: 256
 * mappings, 1024 sessions, 16 reassembly trains, 50 background hosts/s),
 * a seed, then events (op & 3; side = bit 2):
 *   0  an IPv4 packet, raw (bit 3: repair its checksums first)
 *   1  an Ethernet frame through nat_l2 first (bit 3: repair checksums)
 *   2  time passes (16 bits of ms), nat_core_tick and nat_l2_tick
 *   3  a UDP or ICMP packet from fields (source and destination among the
 *      lab's hosts, ports, TTL, protocol, length, fragment bits)
 * Every packet out also goes through nat_l2_output. Properties: what
 * leaves parses as IPv4 (nat_ip_parse), has right checksums when what came
 * in had, fits the side's MTU and NAT_PKT_MAX; no more mappings than the
 * table holds; every event and reason is a known one.
 */
#include "proto/ipfrag.h"
#include "proto/rv_buf.h"
#include "tests/fuzz/fuzz.h"
#include "tests/natlab/nat_conf.h"
#include "tests/natlab/nat_core.h"
#include "tests/natlab/nat_l2.h"
#include "tests/natlab/nat_pkt.h"

#define LAN_IP 0x0a000101u /* 10.0.1.1 */
#define WAN_IP 0xc6336402u /* 198.51.100.2 */

static const uint32_t hosts[] = {
	0x0a000102u, 0x0a000103u, WAN_IP, 0xc6336401u,
	0xc0000201u, 0xc0000202u, LAN_IP, 0xcb007101u,
};
static struct nat_out out[RV_FRAG_MAX_OUT + 8], frames[RV_FRAG_MAX_OUT + 8];
static struct nat_ev ev[1024];
static uint8_t pkt[65536 + 64];

static uint32_t rng(void *ctx)
{
	uint64_t *s = ctx, z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* th_csums_ok of tests/unit/natlab/helpers.c. */
static bool csums_ok(const uint8_t *p, size_t len)
{
	struct nat_ip ip;

	if (nat_ip_parse(p, len, &ip) != 0)
		return false;
	if (ip.proto == NAT_IPPROTO_UDP && ip.l4 && !(ip.frag & (NAT_IP_MF | NAT_IP_OFFMASK)) &&
	    rv_get_u16(p + ip.hlen + 6) != 0) {
		uint8_t ph[12];

		rv_put_u32(ph, ip.src);
		rv_put_u32(ph + 4, ip.dst);
		ph[8] = 0;
		ph[9] = NAT_IPPROTO_UDP;
		rv_put_u16(ph + 10, rv_get_u16(p + ip.hlen + 4));
		return fz_csum(fz_sum(fz_sum(0, ph, 12), p + ip.hlen,
		                      rv_get_u16(p + ip.hlen + 4))) == 0;
	}
	return true;
}

static void check_events(const struct nat_sink *s)
{
	for (unsigned i = 0; i < s->n_ev; i++) {
		FZ_CHECK(s->ev[i].type > NAT_EV_NONE && s->ev[i].type < NAT_EV_COUNT);
		FZ_CHECK(s->ev[i].reason < NAT_R_COUNT);
	}
}

/* The packets of one nat_core call: well-formed, then out through L2. */
static void check_out(const struct nat_conf *conf, struct nat_l2 *l2, const struct nat_sink *s,
                      bool in_ok, uint64_t now)
{
	struct nat_sink fs = nat_sink_make(frames, sizeof(frames) / sizeof(frames[0]), ev, 1024);

	check_events(s);
	for (unsigned i = 0; i < s->n_out; i++) {
		const struct nat_out *o = &s->out[i];
		uint16_t mtu = o->side == NAT_SIDE_LAN ? conf->lan_mtu : conf->wan_mtu;
		struct nat_ip ip;

		FZ_CHECK(o->side <= NAT_SIDE_WAN && o->len <= NAT_PKT_MAX);
		FZ_CHECK(o->len <= (mtu ? mtu : 1500));
		FZ_CHECK(nat_ip_parse(o->pkt, o->len, &ip) == 0);
		if (in_ok)
			FZ_CHECK(csums_ok(o->pkt, o->len));
		(void)nat_l2_output(l2, (enum nat_side)o->side, o->next_hop, o->pkt, o->len, now,
		                    &fs);
	}
	for (unsigned i = 0; i < fs.n_out; i++)
		FZ_CHECK(fs.out[i].len >= 14 && fs.out[i].len <= NAT_PKT_MAX);
}

/* A packet from fields (op 3). */
static size_t build(struct fz *f, uint8_t op)
{
	uint8_t who = fz_u8(f), proto = fz_u8(f) % 3;
	uint16_t sport = fz_u16(f), dport = fz_u16(f), fl = fz_u16(f);
	size_t plen = fz_u16(f) % (op & 0x80 ? 9000 : 64), len;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	len = 20 + 8 + plen;
	rv_put_u16(pkt + 2, (uint16_t)len);
	rv_put_u16(pkt + 4, fz_u16(f));
	rv_put_u16(pkt + 6, op & 0x40 ? fl : 0);
	pkt[8] = fz_u8(f);
	pkt[9] = proto == 0 ? NAT_IPPROTO_UDP : proto == 1 ? NAT_IPPROTO_ICMP : NAT_IPPROTO_TCP;
	rv_put_u32(pkt + 12, hosts[who & 7]);
	rv_put_u32(pkt + 16, hosts[who >> 3 & 7]);
	if (pkt[9] == NAT_IPPROTO_ICMP) {
		pkt[20] = (uint8_t)(sport >> 8) % 13; /* type */
		pkt[21] = (uint8_t)sport;
		rv_put_u16(pkt + 24, dport);
	} else {
		rv_put_u16(pkt + 20, sport);
		rv_put_u16(pkt + 22, dport);
		rv_put_u16(pkt + 24, (uint16_t)(8 + plen));
		pkt[26] = who & 0x40 ? 0 : 1; /* with or without a UDP checksum */
	}
	for (size_t i = 0; i < plen; i++)
		pkt[28 + i] = (uint8_t)(i * 7 + who);
	/* An ICMP error quoting a packet: the payload's start is that packet. */
	if (pkt[9] == NAT_IPPROTO_ICMP && pkt[20] != 0 && pkt[20] != 8 && plen >= 28) {
		pkt[28] = 0x45;
		rv_put_u16(pkt + 30, (uint16_t)(28 + fz_u8(f)));
		pkt[36] = 64;
		pkt[37] = NAT_IPPROTO_UDP;
		rv_put_u32(pkt + 40, hosts[fz_u8(f) & 7]);
		rv_put_u32(pkt + 44, hosts[fz_u8(f) & 7]);
		rv_put_u16(pkt + 48, fz_u16(f));
		rv_put_u16(pkt + 50, fz_u16(f));
	}
	fz_fix_ipv4(pkt, len);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct nat_conf conf;
	char err[256], line[256], json[2048];
	size_t tlen;
	const uint8_t *text = fz_chunk(&f, &tlen);
	uint64_t seed = fz_u64(&f), now = 1000;
	struct nat_core *c;
	struct nat_l2 *l2;
	struct nat_sink s;
	unsigned events = 0;
	bool all_ok = true; /* every packet so far had right checksums */

	nat_conf_defaults(&conf);
	if (nat_conf_set(&conf, "lan_ip", "10.0.1.1/24", err, sizeof(err)) ||
	    nat_conf_set(&conf, "wan_ip", "198.51.100.2/24", err, sizeof(err)) ||
	    nat_conf_set(&conf, "gateway", "198.51.100.1", err, sizeof(err)))
		abort();
	for (size_t at = 0; at < tlen;) {
		const uint8_t *nl = memchr(text + at, '\n', tlen - at);
		size_t n = nl ? (size_t)(nl - text - at) : tlen - at;

		if (n < sizeof(line)) {
			memcpy(line, text + at, n);
			line[n] = 0;
			(void)nat_conf_line(&conf, line, err, sizeof(err));
		}
		at += n + 1;
	}
	/* Bounded work per input. */
	if (conf.max_mappings > 256)
		conf.max_mappings = 256;
	if (conf.max_sessions > 1024)
		conf.max_sessions = 1024;
	if (conf.frag_slots > 16)
		conf.frag_slots = 16;
	if (conf.lambda > 50)
		conf.lambda = 50;
	conf.seed = seed;
	if (nat_conf_finish(&conf, err, sizeof(err)) < 0)
		return 0;
	(void)nat_conf_type(&conf);
	FZ_CHECK(nat_conf_json(&conf, json, sizeof(json)) > 0);
	c = nat_core_new(&conf, (struct nat_rng){ rng, &seed }, now);
	l2 = nat_l2_new((const uint8_t *)"\x02\x00\x00\x00\x0a\x01", LAN_IP,
	                (const uint8_t *)"\x02\x00\x00\x00\x0b\x01", WAN_IP);
	FZ_CHECK(c && l2);
	s = nat_sink_make(out, sizeof(out) / sizeof(out[0]), ev, 1024);
	nat_l2_announce(l2, &s);
	while (f.n && events++ < 256) {
		uint8_t op = fz_u8(&f);
		enum nat_side side = op & 4 ? NAT_SIDE_WAN : NAT_SIDE_LAN;
		const uint8_t *p = NULL;
		size_t len = 0;
		bool in_ok;

		nat_sink_reset(&s);
		switch (op & 3) {
		case 0:
		case 1:
			p = fz_chunk(&f, &len);
			memcpy(pkt, p, len);
			if (op & 8) {
				size_t l2len = (op & 3) == 1 ? 14 : 0;
				if (len > l2len)
					fz_fix_ipv4(pkt + l2len, len - l2len);
			}
			break;
		case 2:
			now += fz_u16(&f);
			nat_core_tick(c, now, &s);
			nat_l2_tick(l2, now, &s);
			check_events(&s);
			FZ_CHECK(nat_core_mappings(c) <= conf.max_mappings);
			continue;
		default:
			len = build(&f, op);
			break;
		}
		uint8_t *copy = fz_dup(pkt, len);
		const uint8_t *ip = copy;
		size_t iplen = len;
		if ((op & 3) == 1 && nat_l2_input(l2, side, copy, len, now, &s, &ip, &iplen) != 1) {
			check_events(&s);
			free(copy);
			continue;
		}
		/* Sticky: a reassembled datagram is its earlier pieces too. */
		in_ok = all_ok = all_ok && csums_ok(ip, iplen);
		int n = nat_core_input(c, side, ip, iplen, now, &s);
		FZ_CHECK(n >= 0 && (unsigned)n <= s.n_out);
		check_out(&conf, l2, &s, in_ok, now);
		FZ_CHECK(nat_core_mappings(c) <= conf.max_mappings);
		free(copy);
	}
	nat_l2_free(l2);
	nat_core_free(c);
	return 0;
}
