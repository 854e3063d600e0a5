/* gen_pkt.c — template classification, source rewriting, stamps (gen_pkt.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dpdk-app/gen_pkt.h"
#include "proto/relay.h"

#define STUN_MAGIC   0x2112A442u
#define ETH_IPV4     0x0800u
#define ETH_VLAN     0x8100u
#define IPPROTO_UDP_ 17u

/* The stamp: a marker no random ID is likely to start with, then the time. */
static const uint8_t STAMP_MARK[4] = { 'R', 'V', 'G', 1 };

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet (+ one VLAN tag) / IPv4 / unfragmented UDP: the offsets, each 0
 * when the frame stops being what the next layer needs. *plen is the UDP
 * payload length. Shared by the template inspection and the answer path. */
static void locate(const uint8_t *f, uint16_t len, struct gen_frame_info *o, uint16_t *plen)
{
	uint16_t off = 14, et, ihl, tot, ulen;

	memset(o, 0, sizeof(*o));
	*plen = 0;
	if (len < 14)
		return;
	et = be16(f + 12);
	if (et == ETH_VLAN && len >= 18) {
		et = be16(f + 16);
		off = 18;
	}
	if (et != ETH_IPV4 || len < off + 20u || (f[off] >> 4) != 4)
		return;
	ihl = (uint16_t)((f[off] & 15u) * 4u);
	tot = be16(f + off + 2);
	if (ihl < 20 || tot < ihl || off + tot > len)
		return;
	o->l3 = off;
	if ((be16(f + off + 6) & 0x3fffu) || f[off + 9] != IPPROTO_UDP_ || tot - ihl < 8)
		return;
	ulen = be16(f + off + ihl + 4);
	if (ulen < 8 || ulen > tot - ihl)
		return;
	o->l4 = (uint16_t)(off + ihl);
	*plen = (uint16_t)(ulen - 8);
}

/* A STUN header with the magic cookie at p (RFC 8489 §5); RFC 3489
 * messages (no cookie) are not timed. */
static bool stun_at(const uint8_t *p, size_t plen)
{
	return plen >= 20 && !(p[0] & 0xc0) && be32(p + 4) == STUN_MAGIC;
}

/* Whether an attribute authenticates the header, and so the ID: the
 * probe MAC (proto/WIRE.md), MESSAGE-INTEGRITY(-SHA256), FINGERPRINT. */
static bool covers_id(uint16_t type)
{
	return type == 0x0008 || type == 0x001c || type == 0x8028 || type == 0xc722;
}

/* ChannelData (RFC 8656 §12.4) whose data can hold a stamp: a relay
 * forwards the data untouched, so its first bytes come back as they went. */
static bool chdata_at(const uint8_t *p, size_t plen)
{
	uint16_t ch, n;

	return rv_relay_is_chdata(p, plen) && rv_relay_parse(p, plen, &ch, &n) == 0 &&
	       n >= GEN_TXID_LEN;
}

void gen_frame_inspect(const uint8_t *f, uint16_t len, struct gen_frame_info *out)
{
	uint16_t plen, type, mlen, cls, method;
	const uint8_t *p;
	bool auth = false;

	locate(f, len, out, &plen);
	if (!out->l4)
		return;
	p = f + out->l4 + 8;
	if (chdata_at(p, plen)) {
		out->kind = GEN_K_STAMP;
		out->stamp = (uint16_t)(out->l4 + 8 + RV_RELAY_HDR);
		return;
	}
	if (!stun_at(p, plen))
		return;
	mlen = be16(p + 2);
	if ((mlen & 3) || mlen + 20u > plen)
		return; /* malformed: the system under test drops it */
	out->stun = (uint16_t)(out->l4 + 8);
	for (uint32_t a = 20; a + 4 <= 20u + mlen;) {
		uint16_t alen = be16(p + a + 2);

		auth |= covers_id(be16(p + a));
		a += 4 + ((alen + 3u) & ~3u);
	}
	type = be16(p);
	cls = (uint16_t)((type >> 4 & 1) | (type >> 7 & 2));
	method = (uint16_t)((type & 0xf) | (type >> 1 & 0x70) | (type >> 2 & 0xf80));
	out->kind = (cls == 0 && method == 1 && !auth) ? GEN_K_STAMP : GEN_K_KEYED;
	if (out->kind == GEN_K_STAMP)
		out->stamp = (uint16_t)(out->stun + 8);
}

int gen_src_parse(const char *net, const char *ports, uint64_t flows, struct gen_src *out,
                  char *err, size_t errlen)
{
	unsigned a, b, c, d, plen, lo, hi;
	char tail;

	memset(out, 0, sizeof(*out));
	if (sscanf(net, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &plen, &tail) != 5 || a > 255 ||
	    b > 255 || c > 255 || d > 255 || plen < 8 || plen > 32) {
		snprintf(err, errlen, "source network '%s': want A.B.C.D/LEN with LEN 8..32", net);
		return -EINVAL;
	}
	if (sscanf(ports, "%u-%u%c", &lo, &hi, &tail) != 2) {
		if (sscanf(ports, "%u%c", &lo, &tail) != 1) {
			snprintf(err, errlen, "source ports '%s': want LO-HI or N", ports);
			return -EINVAL;
		}
		hi = lo;
	}
	if (lo < 1 || hi > 65535 || lo > hi) {
		snprintf(err, errlen, "source ports '%s': want 1 <= LO <= HI <= 65535", ports);
		return -EINVAL;
	}
	out->n_ips = plen == 32 ? 1u : 1u << (32 - plen);
	out->ip_base = (a << 24 | b << 16 | c << 8 | d) & ~(out->n_ips - 1u);
	out->port_lo = (uint16_t)lo;
	out->n_ports = hi - lo + 1;
	if (flows > (uint64_t)out->n_ips * out->n_ports) {
		snprintf(err, errlen, "%llu flows do not fit %s x ports %s (%llu sources)",
		         (unsigned long long)flows, net, ports,
		         (unsigned long long)out->n_ips * out->n_ports);
		return -EINVAL;
	}
	out->flows = flows;
	return 0;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over the 16-bit words of a
 * field changing from old to new (n even, at an even offset). */
static uint16_t csum_replace(uint16_t hc, const uint8_t *old, const uint8_t *new, size_t n)
{
	uint32_t s = (uint16_t)~hc;

	for (size_t i = 0; i < n; i += 2)
		s += (uint16_t)~be16(old + i) + (uint32_t)be16(new + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Put n new bytes at f + at, fixing the checksum field at f + csum; a UDP
 * checksum of 0 means none (and a computed 0 is sent as 0xffff). */
static void replace(uint8_t *f, uint16_t at, const uint8_t *new, size_t n, uint16_t csum, bool udp)
{
	uint16_t hc = be16(f + csum);

	if (!udp || hc) {
		hc = csum_replace(hc, f + at, new, n);
		put16(f + csum, udp && !hc ? 0xffff : hc);
	}
	memcpy(f + at, new, n);
}

void gen_frame_set_src(uint8_t *f, const struct gen_frame_info *fi, uint32_t ip, uint16_t port)
{
	uint8_t a[4] = { (uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8),
		         (uint8_t)ip };
	uint8_t p[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	uint16_t udp_csum = (uint16_t)(fi->l4 + 6);

	/* The UDP checksum first: its pseudo-header reads the old address. */
	if (be16(f + udp_csum)) {
		uint16_t hc = csum_replace(be16(f + udp_csum), f + fi->l3 + 12, a, 4);

		put16(f + udp_csum, hc ? hc : 0xffff);
	}
	replace(f, (uint16_t)(fi->l3 + 12), a, 4, (uint16_t)(fi->l3 + 10), false);
	replace(f, fi->l4, p, 2, udp_csum, true);
}

void gen_stamp_write(uint8_t id[GEN_TXID_LEN], uint64_t t)
{
	memcpy(id, STAMP_MARK, 4);
	for (int i = 0; i < 8; i++)
		id[4 + i] = (uint8_t)(t >> (56 - 8 * i));
}

void gen_frame_stamp(uint8_t *f, const struct gen_frame_info *fi, uint64_t t)
{
	uint8_t id[GEN_TXID_LEN];

	gen_stamp_write(id, t);
	replace(f, fi->stamp, id, GEN_TXID_LEN, (uint16_t)(fi->l4 + 6), true);
}

void gen_stun_stamp(uint8_t *stun, uint64_t t)
{
	gen_stamp_write(stun + 8, t);
}

const uint8_t *gen_stun_txid(const uint8_t *p, size_t len)
{
	return stun_at(p, len) ? p + 8 : NULL;
}

const uint8_t *gen_payload_id(const uint8_t *p, size_t len)
{
	return chdata_at(p, len) ? p + RV_RELAY_HDR : gen_stun_txid(p, len);
}

const uint8_t *gen_frame_txid(const uint8_t *f, uint16_t len)
{
	struct gen_frame_info fi;
	uint16_t plen;

	locate(f, len, &fi, &plen);
	return fi.l4 ? gen_payload_id(f + fi.l4 + 8, plen) : NULL;
}

bool gen_txid_stamp(const uint8_t *txid, uint64_t *t)
{
	uint64_t v = 0;

	if (memcmp(txid, STAMP_MARK, 4))
		return false;
	for (int i = 0; i < 8; i++)
		v = v << 8 | txid[4 + i];
	*t = v;
	return true;
}

static uint32_t sum16(const uint8_t *d, size_t len, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += be16(d + i);
	if (i < len)
		s += (uint32_t)d[i] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

uint16_t gen_csum(const uint8_t *data, size_t len)
{
	return fold(sum16(data, len, 0));
}

uint16_t gen_udp_csum(const uint8_t *f, const struct gen_frame_info *fi)
{
	uint16_t ulen = be16(f + fi->l4 + 4);
	/* Pseudo-header: source, destination, protocol, UDP length. */
	uint32_t s = sum16(f + fi->l3 + 12, 8, IPPROTO_UDP_ + ulen);
	uint16_t c;

	s = sum16(f + fi->l4, 6, s); /* the header without its checksum field */
	s = sum16(f + fi->l4 + 8, ulen - 8u, s);
	c = fold(s);
	return c ? c : 0xffff;
}
