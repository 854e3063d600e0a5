#include <criterion/criterion.h>
#include <string.h>

#include "proto/rv_buf.h"
#include "helpers.h"

uint32_t th_rng(void *ctx)
{
	uint64_t *s = ctx, z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

void th_setup(struct th *t, const char *const *kv)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	nat_conf_defaults(&t->conf);
	cr_assert_eq(nat_conf_set(&t->conf, "lan_ip", "10.0.1.1/24", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_set(&t->conf, "wan_ip", "198.51.100.2/24", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_set(&t->conf, "gateway", "198.51.100.1", err, sizeof(err)), 0);
	for (; kv && kv[0]; kv += 2)
		cr_assert_eq(nat_conf_set(&t->conf, kv[0], kv[1], err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nat_conf_finish(&t->conf, err, sizeof(err)), 0, "%s", err);
	t->seed = 42;
	t->now = 1000;
	t->c = nat_core_new(&t->conf, (struct nat_rng){ th_rng, &t->seed }, t->now);
	cr_assert_not_null(t->c);
	t->s = nat_sink_make(t->out, sizeof(t->out) / sizeof(t->out[0]), t->ev, 1024);
}

void th_teardown(struct th *t)
{
	nat_core_free(t->c);
	t->c = NULL;
}

static void ip_header(uint8_t *q, uint16_t tot, uint8_t proto, uint32_t src, uint32_t dst,
                      uint8_t ttl)
{
	memset(q, 0, 20);
	q[0] = 0x45;
	rv_put_u16(q + 2, tot);
	rv_put_u16(q + 4, 0x1234);
	q[8] = ttl;
	q[9] = proto;
	rv_put_u32(q + 12, src);
	rv_put_u32(q + 16, dst);
	nat_ip_csum_set(q, 20);
}

size_t th_udp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t ttl,
              bool with_csum)
{
	static const char payload[] = "hello, nat";
	size_t ulen = 8 + sizeof(payload);
	struct nat_ip ip;

	ip_header(buf, (uint16_t)(20 + ulen), NAT_IPPROTO_UDP, src, dst, ttl);
	rv_put_u16(buf + 20, sport);
	rv_put_u16(buf + 22, dport);
	rv_put_u16(buf + 24, (uint16_t)ulen);
	rv_put_u16(buf + 26, 0);
	memcpy(buf + 28, payload, sizeof(payload));
	if (with_csum) {
		cr_assert_eq(nat_ip_parse(buf, 20 + ulen, &ip), 0);
		rv_put_u16(buf + 26, nat_udp_csum(buf, &ip));
	}
	return 20 + ulen;
}

size_t th_echo(uint8_t *buf, uint8_t type, uint32_t src, uint32_t dst, uint16_t id, uint8_t ttl)
{
	ip_header(buf, 20 + 16, NAT_IPPROTO_ICMP, src, dst, ttl);
	memset(buf + 20, 0, 16);
	buf[20] = type;
	rv_put_u16(buf + 24, id);
	rv_put_u16(buf + 26, 7);
	memcpy(buf + 28, "pingpong", 8);
	rv_put_u16(buf + 22, nat_csum_fold(nat_csum_add(0, buf + 20, 16)));
	return 36;
}

size_t th_icmp_err(uint8_t *buf, uint8_t type, uint8_t code, uint32_t router, uint32_t dst,
                   const uint8_t *orig, size_t orig_len)
{
	size_t q = orig_len < 28 ? orig_len : 28;

	ip_header(buf, (uint16_t)(28 + q), NAT_IPPROTO_ICMP, router, dst, 64);
	memset(buf + 20, 0, 8);
	buf[20] = type;
	buf[21] = code;
	memcpy(buf + 28, orig, q);
	rv_put_u16(buf + 22, nat_csum_fold(nat_csum_add(0, buf + 20, 8 + q)));
	return 28 + q;
}

bool th_csums_ok(const uint8_t *p, size_t len)
{
	struct nat_ip ip;

	/* nat_ip_parse checks the header and ICMP checksums itself. */
	if (nat_ip_parse(p, len, &ip) != 0)
		return false;
	if (ip.proto == NAT_IPPROTO_UDP && ip.l4 && !(ip.frag & (NAT_IP_MF | NAT_IP_OFFMASK)) &&
	    rv_get_u16(p + ip.hlen + 6) != 0) {
		uint8_t ph[12];
		uint32_t s;

		rv_put_u32(ph, ip.src);
		rv_put_u32(ph + 4, ip.dst);
		ph[8] = 0;
		ph[9] = NAT_IPPROTO_UDP;
		rv_put_u16(ph + 10, rv_get_u16(p + ip.hlen + 4));
		s = nat_csum_add(0, ph, 12);
		s = nat_csum_add(s, p + ip.hlen, rv_get_u16(p + ip.hlen + 4));
		return nat_csum_fold(s) == 0;
	}
	return true;
}

int th_feed(struct th *t, enum nat_side side, const uint8_t *pkt, size_t len)
{
	int n;

	nat_sink_reset(&t->s);
	n = nat_core_input(t->c, side, pkt, len, t->now, &t->s);
	cr_assert_eq((unsigned)n, t->s.n_out);
	for (unsigned i = 0; i < t->s.n_out; i++)
		cr_assert(th_csums_ok(t->s.out[i].pkt, t->s.out[i].len),
		          "bad checksum in output %u", i);
	return n;
}

int th_out(struct th *t, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	uint8_t buf[128];
	size_t len = th_udp(buf, src, sport, dst, dport, 64, true);

	if (th_feed(t, NAT_SIDE_LAN, buf, len) != 1 || t->s.out[0].side != NAT_SIDE_WAN)
		return -1;
	cr_assert_eq(rv_get_u32(t->s.out[0].pkt + 12), WAN_IP);
	cr_assert_eq(rv_get_u32(t->s.out[0].pkt + 16), dst);
	cr_assert_eq(rv_get_u16(t->s.out[0].pkt + 22), dport);
	cr_assert_eq(t->s.out[0].pkt[8], 63);
	return rv_get_u16(t->s.out[0].pkt + 20);
}

bool th_in(struct th *t, uint32_t src, uint16_t sport, uint16_t ext, uint32_t *to_ip,
           uint16_t *to_port)
{
	uint8_t buf[128];
	size_t len = th_udp(buf, src, sport, WAN_IP, ext, 64, true);

	if (th_feed(t, NAT_SIDE_WAN, buf, len) != 1)
		return false;
	cr_assert_eq(t->s.out[0].side, NAT_SIDE_LAN);
	cr_assert_eq(rv_get_u32(t->s.out[0].pkt + 12), src);
	cr_assert_eq(rv_get_u16(t->s.out[0].pkt + 20), sport);
	if (to_ip)
		*to_ip = rv_get_u32(t->s.out[0].pkt + 16);
	if (to_port)
		*to_port = rv_get_u16(t->s.out[0].pkt + 22);
	return true;
}

const struct nat_ev *th_ev(const struct th *t, enum nat_ev_type type, unsigned n)
{
	for (unsigned i = 0; i < t->s.n_ev; i++)
		if (t->s.ev[i].type == type && n-- == 0)
			return &t->s.ev[i];
	return NULL;
}

unsigned th_count(const struct th *t, enum nat_ev_type type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->s.n_ev; i++)
		n += t->s.ev[i].type == type;
	return n;
}
