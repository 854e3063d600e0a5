#include <errno.h>
#include <string.h>

#include "proto/rv_buf.h"
#include "proto/rv_err.h"
#include "nat_pkt.h"

bool nat_icmp_is_error(uint8_t type)
{
	return type == NAT_ICMP_UNREACH || type == NAT_ICMP_SOURCE_QUENCH ||
	       type == NAT_ICMP_REDIRECT || type == NAT_ICMP_TIME_EXCEEDED ||
	       type == NAT_ICMP_PARAM_PROBLEM;
}

uint32_t nat_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t nat_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t nat_csum_update16(uint16_t csum, uint16_t old, uint16_t nv)
{
	/* HC' = ~(~HC + ~m + m') */
	uint32_t s = (uint16_t)~csum + (uint32_t)(uint16_t)~old + nv;

	return nat_csum_fold(s);
}

uint16_t nat_csum_update32(uint16_t csum, uint32_t old, uint32_t nv)
{
	csum = nat_csum_update16(csum, (uint16_t)(old >> 16), (uint16_t)(nv >> 16));
	return nat_csum_update16(csum, (uint16_t)old, (uint16_t)nv);
}

void nat_ip_csum_set(uint8_t *p, uint16_t hlen)
{
	rv_put_u16(p + 10, 0);
	rv_put_u16(p + 10, nat_csum_fold(nat_csum_add(0, p, hlen)));
}

/* The part both parsers share: version, IHL, and the fixed fields. */
static int parse_header(struct rv_rd *r, struct nat_ip *ip)
{
	uint8_t vihl = rv_rd_u8(r);

	rv_rd_skip(r, 1); /* TOS */
	ip->tot = rv_rd_u16(r);
	rv_rd_skip(r, 2); /* identification */
	ip->frag = rv_rd_u16(r);
	ip->ttl = rv_rd_u8(r);
	ip->proto = rv_rd_u8(r);
	rv_rd_skip(r, 2); /* header checksum */
	ip->src = rv_rd_u32(r);
	ip->dst = rv_rd_u32(r);
	if (r->err)
		return r->err;
	if (vihl >> 4 != 4)
		return RV_EVERSION;
	ip->hlen = (uint16_t)((vihl & 0x0f) * 4);
	if (ip->hlen < 20)
		return RV_ELEN;
	return 0;
}

/* Transport header fields from the 8 bytes at l4 (room already checked). */
static void parse_l4(const uint8_t *l4, struct nat_ip *ip)
{
	ip->l4 = true;
	if (ip->proto == NAT_IPPROTO_ICMP) {
		ip->icmp_type = l4[0];
		ip->icmp_code = l4[1];
		/* Echo identifiers play the role of ports (RFC 5508 §3.1). */
		ip->sport = ip->dport = rv_get_u16(l4 + 4);
	} else {
		ip->sport = rv_get_u16(l4);
		ip->dport = rv_get_u16(l4 + 2);
	}
}

int nat_ip_parse(const uint8_t *p, size_t len, struct nat_ip *ip)
{
	struct rv_rd r = rv_rd_make(p, len);
	int err;

	memset(ip, 0, sizeof(*ip));
	err = parse_header(&r, ip);
	if (err)
		return err;
	if (ip->tot > len)
		return RV_ETRUNC;
	if (ip->tot < ip->hlen)
		return RV_ELEN;
	if (nat_csum_fold(nat_csum_add(0, p, ip->hlen)) != 0)
		return -EBADMSG;
	if (ip->frag & NAT_IP_OFFMASK)
		return 0; /* a later fragment carries no transport header */
	if (ip->proto == NAT_IPPROTO_UDP || ip->proto == NAT_IPPROTO_ICMP ||
	    ip->proto == NAT_IPPROTO_TCP) {
		size_t pl = (size_t)ip->tot - ip->hlen;

		if (pl < 8)
			return RV_ETRUNC;
		if (ip->proto == NAT_IPPROTO_UDP) {
			uint16_t ulen = rv_get_u16(p + ip->hlen + 4);

			/* A fragmented datagram's length covers all fragments. */
			if (ulen < 8 || (!(ip->frag & NAT_IP_MF) && ulen > pl))
				return RV_ELEN;
		}
		if (ip->proto == NAT_IPPROTO_ICMP && !(ip->frag & NAT_IP_MF) &&
		    nat_csum_fold(nat_csum_add(0, p + ip->hlen, pl)) != 0)
			return -EBADMSG;
		parse_l4(p + ip->hlen, ip);
	}
	return 0;
}

int nat_ip_parse_quoted(const uint8_t *p, size_t len, struct nat_ip *ip)
{
	struct rv_rd r = rv_rd_make(p, len);
	int err;

	memset(ip, 0, sizeof(*ip));
	err = parse_header(&r, ip);
	if (err)
		return err;
	if ((size_t)ip->hlen + 8 > len)
		return RV_ETRUNC;
	if (ip->tot < ip->hlen + 8)
		return RV_ELEN;
	if (ip->frag & NAT_IP_OFFMASK)
		return RV_ELEN; /* the quote must show the transport header */
	parse_l4(p + ip->hlen, ip);
	return 0;
}

uint16_t nat_udp_csum(const uint8_t *p, const struct nat_ip *ip)
{
	uint16_t ulen = rv_get_u16(p + ip->hlen + 4);
	uint8_t ph[12];
	uint32_t s;
	uint16_t c;

	rv_put_u32(ph, ip->src);
	rv_put_u32(ph + 4, ip->dst);
	ph[8] = 0;
	ph[9] = NAT_IPPROTO_UDP;
	rv_put_u16(ph + 10, ulen);
	s = nat_csum_add(0, ph, sizeof(ph));
	/* Sum the datagram with its checksum field taken as zero. */
	s = nat_csum_add(s, p + ip->hlen, 6);
	s = nat_csum_add(s, p + ip->hlen + 8, (size_t)ulen - 8);
	c = nat_csum_fold(s);
	return c ? c : 0xffff;
}

int nat_l4_csum_fill(uint8_t *p, size_t len)
{
	struct nat_ip ip;
	int err = nat_ip_parse(p, len, &ip);

	if (err)
		return err;
	if (ip.proto != NAT_IPPROTO_UDP || !ip.l4 || (ip.frag & (NAT_IP_MF | NAT_IP_OFFMASK)))
		return -EPROTONOSUPPORT;
	rv_put_u16(p + ip.hlen + 6, nat_udp_csum(p, &ip));
	return 0;
}

void nat_pkt_set_addrs(uint8_t *p, const struct nat_ip *ip, uint32_t src, uint32_t dst)
{
	uint8_t *l4 = p + ip->hlen;

	if (ip->proto == NAT_IPPROTO_UDP && ip->l4 && !(ip->frag & NAT_IP_OFFMASK)) {
		uint16_t c = rv_get_u16(l4 + 6);

		if (c) { /* 0 means "no checksum" and must stay so (RFC 768) */
			c = nat_csum_update32(c, ip->src, src);
			c = nat_csum_update32(c, ip->dst, dst);
			rv_put_u16(l4 + 6, c ? c : 0xffff);
		}
	}
	rv_put_u32(p + 12, src);
	rv_put_u32(p + 16, dst);
	nat_ip_csum_set(p, ip->hlen);
}

void nat_pkt_set_ports(uint8_t *p, const struct nat_ip *ip, uint16_t sport, uint16_t dport)
{
	uint8_t *l4 = p + ip->hlen;
	uint16_t c;

	if (!ip->l4)
		return;
	if (ip->proto == NAT_IPPROTO_UDP) {
		c = rv_get_u16(l4 + 6);
		if (c) {
			c = nat_csum_update16(c, rv_get_u16(l4), sport);
			c = nat_csum_update16(c, rv_get_u16(l4 + 2), dport);
			rv_put_u16(l4 + 6, c ? c : 0xffff);
		}
		rv_put_u16(l4, sport);
		rv_put_u16(l4 + 2, dport);
	} else if (ip->proto == NAT_IPPROTO_ICMP) {
		c = nat_csum_update16(rv_get_u16(l4 + 2), rv_get_u16(l4 + 4), sport);
		rv_put_u16(l4 + 2, c);
		rv_put_u16(l4 + 4, sport);
	}
}

void nat_pkt_ttl_dec(uint8_t *p, const struct nat_ip *ip)
{
	p[8] = (uint8_t)(p[8] - 1);
	nat_ip_csum_set(p, ip->hlen);
}

void nat_icmp_csum_set(uint8_t *p, const struct nat_ip *ip)
{
	uint8_t *icmp = p + ip->hlen;
	size_t n = (size_t)ip->tot - ip->hlen;

	rv_put_u16(icmp + 2, 0);
	rv_put_u16(icmp + 2, nat_csum_fold(nat_csum_add(0, icmp, n)));
}

/* A 20-byte IPv4 header without options. */
static void put_ip_header(uint8_t *q, uint16_t tot, uint8_t proto, uint32_t src, uint32_t dst)
{
	memset(q, 0, 20);
	q[0] = 0x45;
	rv_put_u16(q + 2, tot);
	q[8] = NAT_TTL_OWN;
	q[9] = proto;
	rv_put_u32(q + 12, src);
	rv_put_u32(q + 16, dst);
	nat_ip_csum_set(q, 20);
}

int nat_pkt_icmp_error(uint8_t *out, size_t cap, uint32_t src, const uint8_t *orig,
                       const struct nat_ip *oip, uint8_t type, uint8_t code)
{
	size_t quote = (size_t)oip->hlen + 8;
	size_t tot;

	if (quote > oip->tot)
		quote = oip->tot;
	tot = 20 + 8 + quote;
	if (tot > cap)
		return RV_ENOSPC;
	put_ip_header(out, (uint16_t)tot, NAT_IPPROTO_ICMP, src, oip->src);
	memset(out + 20, 0, 8);
	out[20] = type;
	out[21] = code;
	memcpy(out + 28, orig, quote);
	rv_put_u16(out + 22, nat_csum_fold(nat_csum_add(0, out + 20, 8 + quote)));
	return (int)tot;
}

int nat_pkt_echo_reply(uint8_t *out, size_t cap, const uint8_t *req, const struct nat_ip *ip)
{
	size_t n = (size_t)ip->tot - ip->hlen; /* the ICMP message */
	size_t tot = 20 + n;

	if (tot > cap)
		return RV_ENOSPC;
	put_ip_header(out, (uint16_t)tot, NAT_IPPROTO_ICMP, ip->dst, ip->src);
	memcpy(out + 20, req + ip->hlen, n);
	out[20] = NAT_ICMP_ECHO_REPLY;
	out[21] = 0;
	rv_put_u16(out + 22, 0);
	rv_put_u16(out + 22, nat_csum_fold(nat_csum_add(0, out + 20, n)));
	return (int)tot;
}
