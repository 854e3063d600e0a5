/* rvdp's packet handler, driven with crafted frames: every answer checked
 * field by field, every drop by its reason. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "dpdk-app/dp_pkt.h"
#include "frames.h"
#include "proto/msg.h"
#include "proto/stun.h"

#define SRV_MAC        "\x02\x00\x00\x00\x00\x01"
#define CLI_MAC        "\x02\x00\x00\x00\x00\x02"
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct dp_addrs addrs = {
	.mac = { 2, 0, 0, 0, 0, 1 },
	.ip = { IP(192, 0, 2, 1), IP(192, 0, 2, 2) },
	.port = { 3478, 3479 },
};

static uint64_t ctr[DP_C_COUNT];

static uint32_t crc(const void *p, size_t n)
{
	return rv_crc32(0, p, n);
}

static struct dp_pkt_ctx ctx_plain(void)
{
	struct dp_pkt_ctx c = { .addrs = &addrs,
		                .now_us = 1000000,
		                .now_ms = 1795000000000ull,
		                .mtu = 1500,
		                .crc32 = crc,
		                .ctr = ctr };
	memset(ctr, 0, sizeof(ctr));
	return c;
}

static const uint8_t txid[12] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
	                          0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac };

/* A frame from 198.51.100.10:40000 to dst, carrying payload. */
static uint16_t frame_to(uint8_t *f, size_t cap, const char *dst, const uint8_t *payload,
                         size_t plen)
{
	struct rv_addr s, d;

	cr_assert_eq(rv_addr_parse("198.51.100.10:40000", 0, &s), 0);
	cr_assert_eq(rv_addr_parse(dst, 0, &d), 0);
	int n = dp_pkt_build_udp(f, cap, (const uint8_t *)CLI_MAC, (const uint8_t *)SRV_MAC, &s, &d,
	                         payload, plen);
	cr_assert_gt(n, 0);
	return (uint16_t)n;
}

/* Checks every header of an answer and decodes its STUN body. */
static void assert_answer(const uint8_t *f, uint16_t len, const char *from, const char *to,
                          struct rv_stun_msg *m)
{
	struct rv_addr src, dst;
	const uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t ulen;
	uint32_t pseudo;

	cr_assert_eq(rv_addr_parse(from, 0, &src), 0);
	cr_assert_eq(rv_addr_parse(to, 0, &dst), 0);
	cr_assert_arr_eq(f, CLI_MAC, 6, "dst MAC");
	cr_assert_arr_eq(f + 6, SRV_MAC, 6, "src MAC");
	cr_assert_eq(rv_get_u16(f + 12), 0x0800);
	cr_assert_eq(ip[0], 0x45);
	cr_assert_eq(rv_get_u16(ip + 2), len - 14);
	cr_assert_eq(ip[9], 17);
	cr_assert(sum_ok(ip, 20, 0), "IP checksum");
	cr_assert_eq(rv_get_u32(ip + 12), rv_addr_v4_host(&src), "IP src");
	cr_assert_eq(rv_get_u32(ip + 16), rv_addr_v4_host(&dst), "IP dst");
	cr_assert_eq(rv_get_u16(udp), src.port, "UDP sport");
	cr_assert_eq(rv_get_u16(udp + 2), dst.port, "UDP dport");
	ulen = rv_get_u16(udp + 4);
	cr_assert_eq(ulen, len - 34);
	pseudo = udp_pseudo_sum(ip, ulen);
	cr_assert_neq(rv_get_u16(udp + 6), 0);
	cr_assert(sum_ok(udp, ulen, pseudo), "UDP checksum");
	cr_assert_eq(rv_stun_decode(udp + 8, ulen - 8u, RV_STUN_DEC_CLASSIC_OK, m), 0);
}

static void assert_addr_attr(const struct rv_stun_msg *m, uint16_t type, const char *want)
{
	struct rv_addr got, w;
	char buf[RV_ADDR_STRLEN];

	cr_assert_eq(rv_stun_get_addr(m, type, &got), 0, "attribute 0x%04x", type);
	cr_assert_eq(rv_addr_parse(want, 0, &w), 0);
	cr_assert(rv_addr_eq(&got, &w), "0x%04x is %s, want %s", type,
	          rv_addr_fmt(&got, buf, sizeof(buf)), want);
}

static uint16_t binding(uint8_t *buf, size_t cap, void (*add)(struct rv_stun_enc *e), bool fp)
{
	struct rv_stun_enc e;

	rv_stun_enc_init(&e, buf, cap, RV_STUN_BINDING, RV_STUN_REQUEST, txid);
	if (add)
		add(&e);
	if (fp)
		rv_stun_enc_fingerprint(&e);
	int n = rv_stun_enc_finish(&e);
	cr_assert_gt(n, 0);
	return (uint16_t)n;
}

static enum dp_verdict run(struct dp_pkt_ctx *c, uint8_t *f, uint16_t *len)
{
	struct dp_punt_info p;
	return dp_pkt_handle(c, f, len, 2048, &p);
}

Test(pkt, plain_binding_gets_xor_mapped_origin_and_other_address)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 128, NULL, 0));
	struct rv_stun_msg m;

	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(m.cls, RV_STUN_SUCCESS);
	cr_assert_eq(m.method, RV_STUN_BINDING);
	cr_assert_arr_eq(rv_stun_txid(&m), txid, 12);
	assert_addr_attr(&m, RV_SA_XOR_MAPPED_ADDRESS, "198.51.100.10:40000");
	assert_addr_attr(&m, RV_SA_RESPONSE_ORIGIN, "192.0.2.1:3478");
	assert_addr_attr(&m, RV_SA_OTHER_ADDRESS, "192.0.2.2:3479");
	cr_assert_null(rv_stun_find(&m, RV_SA_MAPPED_ADDRESS), "MAPPED only for RFC 3489");
	cr_assert_null(rv_stun_find(&m, RV_SA_FINGERPRINT), "no FINGERPRINT unless asked");
	cr_assert_eq(ctr[DP_C_TX_BINDING], 1);
	cr_assert_eq(ctr[DP_C_RX], 1);
}

Test(pkt, fingerprint_in_the_request_gets_a_valid_one_back)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 128, NULL, 1));
	struct rv_stun_msg m;

	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
}

/* Parameters are copied into the test process by value (Criterion may
 * exec a fresh process): no pointers in them. */
struct change_case {
	char to[24];
	uint32_t flags;
	char from[24];
	char other[24];
};

ParameterizedTestParameters(pkt, change_request_answers_from_the_alternate_address_and_port)
{
	static struct change_case c[] = {
		{ "192.0.2.1:3478", 0, "192.0.2.1:3478", "192.0.2.2:3479" },
		{ "192.0.2.1:3478", RV_STUN_CHANGE_IP, "192.0.2.2:3478", "192.0.2.2:3479" },
		{ "192.0.2.1:3478", RV_STUN_CHANGE_PORT, "192.0.2.1:3479", "192.0.2.2:3479" },
		{ "192.0.2.1:3478", RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT, "192.0.2.2:3479",
		  "192.0.2.2:3479" },
		/* From the alternate IP, OTHER-ADDRESS keeps that IP (as coturn):
		 * turnutils_natdiscovery's mapping test III goes there. */
		{ "192.0.2.2:3479", 0, "192.0.2.2:3479", "192.0.2.2:3478" },
		{ "192.0.2.2:3479", RV_STUN_CHANGE_IP, "192.0.2.1:3479", "192.0.2.2:3478" },
		{ "192.0.2.2:3478", RV_STUN_CHANGE_PORT, "192.0.2.2:3479", "192.0.2.2:3479" },
		{ "192.0.2.2:3478", 0, "192.0.2.2:3478", "192.0.2.2:3479" },
	};
	return cr_make_param_array(struct change_case, c, sizeof(c) / sizeof(c[0]));
}

static uint32_t change_flags;
static void add_change(struct rv_stun_enc *e)
{
	rv_stun_enc_u32(e, RV_SA_CHANGE_REQUEST, change_flags);
}

ParameterizedTest(struct change_case *cc, pkt,
                  change_request_answers_from_the_alternate_address_and_port)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;

	change_flags = cc->flags;
	uint16_t len = frame_to(f, sizeof(f), cc->to, stun, binding(stun, 128, add_change, 1));
	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, cc->from, "198.51.100.10:40000", &m);
	assert_addr_attr(&m, RV_SA_RESPONSE_ORIGIN, cc->from);
	assert_addr_attr(&m, RV_SA_OTHER_ADDRESS, cc->other);
	cr_assert_eq(ctr[cc->flags ? DP_C_TX_BINDING_CHANGED : DP_C_TX_BINDING], 1);
}

static void add_response_port(struct rv_stun_enc *e)
{
	const uint8_t v[4] = { 0x1f, 0x90, 0, 0 }; /* 8080 */
	rv_stun_enc_attr(e, RV_SA_RESPONSE_PORT, v, 4);
}

static void add_padding(struct rv_stun_enc *e)
{
	uint8_t pad[100] = { 0 };
	rv_stun_enc_attr(e, RV_SA_PADDING, pad, sizeof(pad));
}

static void add_software(struct rv_stun_enc *e)
{
	char sw[100];
	memset(sw, 'x', sizeof(sw));
	rv_stun_enc_attr(e, RV_SA_SOFTWARE, sw, sizeof(sw));
}

static void add_response_port_and_padding(struct rv_stun_enc *e)
{
	add_response_port(e);
	add_padding(e);
}

Test(pkt, response_port_redirects_the_answer_to_the_same_ip)
{
	uint8_t stun[256], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun,
	                        binding(stun, 256, add_response_port, 1));

	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:8080", &m);
	assert_addr_attr(&m, RV_SA_XOR_MAPPED_ADDRESS, "198.51.100.10:40000");
}

Test(pkt, padding_is_mirrored_and_with_response_port_is_refused)
{
	uint8_t stun[256], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	int code;
	const uint8_t *reason;
	size_t rlen;
	uint16_t len =
	        frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 256, add_padding, 1));

	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(rv_stun_find(&m, RV_SA_PADDING)->len, 100);

	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun,
	               binding(stun, 256, add_response_port_and_padding, 1));
	cr_assert_eq(run(&c, f, &len), DP_TX);
	/* RFC 5780 §10: refused, and answered to the source port, not 8080. */
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(m.cls, RV_STUN_ERROR);
	cr_assert_eq(rv_stun_get_error(&m, &code, &reason, &rlen), 0);
	cr_assert_eq(code, 400);
	cr_assert_eq(ctr[DP_C_TX_ERROR_400], 1);
}

Test(pkt, rfc3489_client_gets_mapped_source_and_changed_address_only)
{
	/* No magic cookie: a 128-bit transaction ID; CHANGE-REQUEST port. */
	uint8_t stun[28] = {
		0x00, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 1,    2,    3, 4, 5, 6,
		7,    8,    9,    10,   11,   12,   0x00, 0x03, 0x00, 0x04, 0, 0, 0, 2
	};
	uint8_t f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, sizeof(stun));

	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3479", "198.51.100.10:40000", &m);
	cr_assert(m.classic);
	cr_assert_arr_eq(f + 42 + 4, stun + 4, 16, "the 128-bit ID is echoed");
	assert_addr_attr(&m, RV_SA_MAPPED_ADDRESS, "198.51.100.10:40000");
	assert_addr_attr(&m, RV_SA_SOURCE_ADDRESS, "192.0.2.1:3479");
	assert_addr_attr(&m, RV_SA_CHANGED_ADDRESS, "192.0.2.2:3479");
	cr_assert_null(rv_stun_find(&m, RV_SA_XOR_MAPPED_ADDRESS));
	cr_assert_null(rv_stun_find(&m, RV_SA_OTHER_ADDRESS));
	cr_assert_eq(ctr[DP_C_TX_BINDING_CLASSIC], 1);
}

static void add_unknown_required(struct rv_stun_enc *e)
{
	rv_stun_enc_attr(e, 0x0024, "\x6e\x00\x01\xff", 4); /* ICE PRIORITY */
	rv_stun_enc_attr(e, 0x7777, "x", 1);
}

Test(pkt, unknown_comprehension_required_attributes_get_420_listing_them)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	uint16_t types[4];
	int code;
	const uint8_t *reason;
	size_t rlen;
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun,
	                        binding(stun, 128, add_unknown_required, 1));

	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(m.cls, RV_STUN_ERROR);
	cr_assert_eq(rv_stun_get_error(&m, &code, &reason, &rlen), 0);
	cr_assert_eq(code, 420);
	cr_assert_eq(rv_stun_get_unknown_attributes(&m, types, 4), 2);
	cr_assert_eq(types[0], 0x0024);
	cr_assert_eq(types[1], 0x7777);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	cr_assert_eq(ctr[DP_C_TX_ERROR_420], 1);
}

Test(pkt, unknown_method_and_unparsable_request_get_400_other_junk_is_dropped)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	struct rv_stun_enc e;
	int code, n;
	const uint8_t *reason;
	size_t rlen;
	uint16_t len;

	rv_stun_enc_init(&e, stun, sizeof(stun), 0x003, RV_STUN_REQUEST, txid); /* Allocate */
	n = rv_stun_enc_finish(&e);
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, (size_t)n);
	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(m.method, 0x003);
	cr_assert_eq(rv_stun_get_error(&m, &code, &reason, &rlen), 0);
	cr_assert_eq(code, 400);

	/* A request whose CHANGE-REQUEST has length 3: unparsable -> 400. */
	n = binding(stun, 128, add_change, 0);
	stun[23] = 3;
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, (size_t)n);
	cr_assert_eq(run(&c, f, &len), DP_TX);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(m.cls, RV_STUN_ERROR);

	/* The same but a success response: dropped. */
	stun[1] = 0x01;
	stun[0] = 0x01;
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, (size_t)n);
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_STUN_MALFORMED], 1);

	/* A well-formed response or indication: dropped. */
	rv_stun_enc_init(&e, stun, sizeof(stun), RV_STUN_BINDING, RV_STUN_INDICATION, txid);
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, (size_t)rv_stun_enc_finish(&e));
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_STUN_NOT_REQUEST], 1);

	/* A wrong FINGERPRINT: not STUN (RFC 8489 §7.3), silence. */
	n = binding(stun, 128, NULL, 1);
	stun[n - 1] ^= 1;
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, (size_t)n);
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_STUN_MALFORMED], 2);
}

Test(pkt, project_control_messages_are_punted_with_where_they_came_from)
{
	struct rv_msg msg;
	uint8_t stun[256], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct dp_punt_info p;
	char a[RV_ADDR_STRLEN], b[RV_ADDR_STRLEN];

	rv_msg_init(&msg, RV_M_HELLO, RV_STUN_REQUEST, txid);
	msg.device_id_len = 4;
	memcpy(msg.device_id, "dev1", 4);
	msg.present |= RV_BIT(RV_F_DEVICE_ID);
	int n = rv_msg_encode(&msg, stun, sizeof(stun), NULL, 0);
	cr_assert_gt(n, 0);
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.2:3479", stun, (size_t)n);
	uint8_t copy[2048];
	memcpy(copy, f, len);
	cr_assert_eq(dp_pkt_handle(&c, f, &len, sizeof(f), &p), DP_PUNT);
	cr_assert_arr_eq(f, copy, len, "a punted frame is untouched");
	cr_assert_str_eq(rv_addr_fmt(&p.src, a, sizeof(a)), "198.51.100.10:40000");
	cr_assert_str_eq(rv_addr_fmt(&p.dst, b, sizeof(b)), "192.0.2.2:3479");
	cr_assert_arr_eq(p.src_mac, CLI_MAC, 6);
	cr_assert_eq(p.payload_off, 42);
	cr_assert_eq(p.payload_len, n);
	cr_assert_eq(ctr[DP_C_PUNT], 1);
}

struct drop_case {
	char name[24];
	int mutate;
	enum dp_ctr want;
};

enum {
	M_MAC,
	M_ETHERTYPE,
	M_IPV6,
	M_IPVER,
	M_OPTIONS,
	M_TOTAL_LONG,
	M_FRAG_MF,
	M_FRAG_OFF,
	M_IPSUM,
	M_DST,
	M_MARTIAN,
	M_PROTO,
	M_UDPLEN,
	M_UDPSUM,
	M_PORT,
	M_SPORT0,
	M_NOTSTUN,
};

ParameterizedTestParameters(pkt, each_malformed_header_is_dropped_with_its_reason)
{
	static struct drop_case c[] = {
		{ "other MAC", M_MAC, DP_C_DROP_NOT_OURS_MAC },
		{ "ethertype", M_ETHERTYPE, DP_C_DROP_ETHERTYPE },
		{ "ipv6", M_IPV6, DP_C_DROP_IPV6 },
		{ "ip version", M_IPVER, DP_C_DROP_IP_BAD },
		{ "ip options", M_OPTIONS, DP_C_DROP_IP_OPTIONS },
		{ "ip total too long", M_TOTAL_LONG, DP_C_DROP_IP_BAD },
		{ "more fragments", M_FRAG_MF, DP_C_DROP_IP_FRAG },
		{ "fragment offset", M_FRAG_OFF, DP_C_DROP_IP_FRAG },
		{ "ip checksum", M_IPSUM, DP_C_DROP_IP_BAD },
		{ "other dst ip", M_DST, DP_C_DROP_NOT_OURS_IP },
		{ "martian source", M_MARTIAN, DP_C_DROP_IP_BAD },
		{ "tcp", M_PROTO, DP_C_DROP_PROTO },
		{ "udp length", M_UDPLEN, DP_C_DROP_UDP_BAD },
		{ "udp checksum", M_UDPSUM, DP_C_DROP_UDP_BAD },
		{ "other port", M_PORT, DP_C_DROP_NOT_OURS_PORT },
		{ "source port 0", M_SPORT0, DP_C_DROP_UDP_BAD },
		{ "not stun", M_NOTSTUN, DP_C_DROP_NOT_STUN },
	};
	return cr_make_param_array(struct drop_case, c, sizeof(c) / sizeof(c[0]));
}

static void fix_ip_sum(uint8_t *f)
{
	uint32_t s = 0;
	rv_put_u16(f + 24, 0);
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(f[14 + i] << 8 | f[15 + i]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	rv_put_u16(f + 24, (uint16_t)~s);
}

ParameterizedTest(struct drop_case *dc, pkt, each_malformed_header_is_dropped_with_its_reason)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 128, NULL, 1));

	switch (dc->mutate) {
	case M_MAC:
		f[5] = 9;
		break;
	case M_ETHERTYPE:
		rv_put_u16(f + 12, 0x8100);
		break;
	case M_IPV6:
		rv_put_u16(f + 12, 0x86dd);
		break;
	case M_IPVER:
		f[14] = 0x65;
		break;
	case M_OPTIONS:
		f[14] = 0x46;
		break;
	case M_TOTAL_LONG:
		rv_put_u16(f + 16, (uint16_t)(len - 14 + 1));
		fix_ip_sum(f);
		break;
	case M_FRAG_MF:
		rv_put_u16(f + 20, 0x2000);
		fix_ip_sum(f);
		break;
	case M_FRAG_OFF:
		rv_put_u16(f + 20, 0x0001);
		fix_ip_sum(f);
		break;
	case M_IPSUM:
		f[24] ^= 1;
		break;
	case M_DST:
		f[33] = 3;
		fix_ip_sum(f);
		break;
	case M_MARTIAN:
		rv_put_u32(f + 26, IP(127, 0, 0, 1));
		fix_ip_sum(f);
		break;
	case M_PROTO:
		f[23] = 6;
		fix_ip_sum(f);
		break;
	case M_UDPLEN:
		rv_put_u16(f + 38, (uint16_t)(rv_get_u16(f + 38) + 1));
		break;
	case M_UDPSUM:
		f[40] ^= 0x55;
		break;
	case M_PORT:
		rv_put_u16(f + 36, 3480);
		rv_put_u16(f + 40, 0); /* no checksum: the port check decides */
		break;
	case M_SPORT0:
		rv_put_u16(f + 34, 0);
		rv_put_u16(f + 40, 0);
		break;
	case M_NOTSTUN:
		f[42] = 0x80;
		rv_put_u16(f + 40, 0);
		break;
	}
	cr_assert_eq(run(&c, f, &len), DP_DROP, "%s", dc->name);
	cr_assert_eq(ctr[dc->want], 1, "%s counted as %s", dc->name, dp_ctr_name(dc->want));
}

Test(pkt, truncation_at_every_offset_never_answers_or_reads_past_the_end)
{
	uint8_t stun[256], f[2048];
	uint16_t full =
	        frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 256, add_padding, 1));

	for (uint16_t cut = 0; cut < full; cut++) {
		struct dp_pkt_ctx c = ctx_plain();
		uint8_t *p = malloc(cut ? cut : 1);
		uint16_t len = cut;
		struct dp_punt_info pi;

		memcpy(p, f, cut);
		/* cap == len: no room to answer even if it wanted to. */
		cr_assert_eq(dp_pkt_handle(&c, p, &len, cut, &pi), DP_DROP, "cut at %u", cut);
		free(p);
	}
}

Test(pkt, an_answer_that_does_not_fit_the_buffer_is_dropped)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct dp_punt_info p;
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 128, NULL, 0));

	cr_assert_eq(dp_pkt_handle(&c, f, &len, len, &p), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_TOO_BIG], 1);
}

/* --- fragments and answers above the MTU (dp_frag.h does the cutting) ------------ */

static size_t pad_len;
static void add_padding_n(struct rv_stun_enc *e)
{
	static uint8_t pad[9000];
	rv_stun_enc_attr(e, RV_SA_PADDING, pad, pad_len);
}

/* A Binding with pad_len bytes of PADDING, in a frame of up to 9100. */
static uint16_t padded(uint8_t *f, size_t cap, size_t plen, bool fp)
{
	static uint8_t stun[9100];
	pad_len = plen;
	return frame_to(f, cap, "192.0.2.1:3478", stun,
	                binding(stun, sizeof(stun), add_padding_n, fp));
}

Test(pkt, a_fragment_for_us_goes_to_reassembly_and_counts_no_outcome_yet)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct dp_punt_info p;
	uint16_t len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 128, NULL, 1));
	uint64_t outcomes = 0;

	c.reassembly = true;
	rv_put_u16(f + 20, 0x2000); /* MF */
	fix_ip_sum(f);
	cr_assert_eq(dp_pkt_handle(&c, f, &len, sizeof(f), &p), DP_FRAG);
	for (int k = 0; k < DP_C_COUNT; k++)
		if (k != DP_C_RX && k != DP_C_BYTES_IN)
			outcomes += ctr[k];
	cr_assert_eq(ctr[DP_C_RX], 1);
	cr_assert_eq(outcomes, 0, "dp_frag_input counts it");
	/* Still checked like any frame first; never handed on twice. */
	f[33] = 3;
	fix_ip_sum(f);
	cr_assert_eq(dp_pkt_handle(&c, f, &len, sizeof(f), &p), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_NOT_OURS_IP], 1);
	f[33] = 1;
	fix_ip_sum(f);
	cr_assert_eq(dp_pkt_handle_reassembled(&c, f, &len, sizeof(f), &p), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_IP_FRAG], 1);
}

Test(pkt, answers_pass_the_mtu_only_when_the_caller_fragments)
{
	static uint8_t f[4096];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	uint16_t len = padded(f, sizeof(f), 1460, true), req = len;

	cr_assert_eq(run(&c, f, &len), DP_DROP, "1548-byte answer, MTU 1500");
	cr_assert_eq(ctr[DP_C_DROP_TOO_BIG], 1);
	c.max_answer = 9000;
	len = padded(f, sizeof(f), 1460, true);
	cr_assert_eq(run(&c, f, &len), DP_TX);
	cr_assert_eq(len, req + 36);
	cr_assert_gt(len, 14 + 1500);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(rv_stun_find(&m, RV_SA_PADDING)->len, 1460);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	cr_assert_eq(rv_get_u16(f + 20), 0x4000, "whole, DF: rv_frag_split cuts and clears it");
	/* Never past the caller's buffer, whatever max_answer says. */
	len = padded(f, sizeof(f), 1460, true);
	cr_assert_eq(dp_pkt_handle(&c, f, &len, (uint16_t)(len + 20), &(struct dp_punt_info){ 0 }),
	             DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_TOO_BIG], 2);
}

ParameterizedTestParameters(pkt, padding_is_mirrored_at_its_length_and_never_adds_excess)
{
	static size_t sizes[] = { 1, 4, 100, 1400, 1460, 1500, 2900, 4000, 8000 };
	return cr_make_param_array(size_t, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

/* RFC 5780 §7.6 pads answers; mirroring at the request's length means a
 * padded answer exceeds its request by the same 36 bytes (the three address
 * attributes) as an unpadded one: PADDING itself never amplifies. */
ParameterizedTest(size_t *size, pkt, padding_is_mirrored_at_its_length_and_never_adds_excess)
{
	static uint8_t f[9100];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	struct dp_punt_info p;
	uint16_t len = padded(f, sizeof(f), *size, false), req = len;

	c.max_answer = 9000;
	cr_assert_eq(dp_pkt_handle_reassembled(&c, f, &len, sizeof(f), &p), DP_TX);
	cr_assert_eq(len - req, 36, "PADDING %zu: %u-byte answer to %u", *size, len, req);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	cr_assert_eq(rv_stun_find(&m, RV_SA_PADDING)->len, *size);
}

Test(pkt, padding_beyond_the_answer_cap_is_dropped_not_answered)
{
	static uint8_t f[9100];
	struct dp_pkt_ctx c = ctx_plain();
	struct dp_punt_info p;
	uint16_t len = padded(f, sizeof(f), 8940, false);

	c.max_answer = 9000;
	cr_assert_eq(len - 14, 8992, "a request within 9000 bytes...");
	cr_assert_eq(dp_pkt_handle_reassembled(&c, f, &len, sizeof(f), &p), DP_DROP,
	             "...whose answer is not");
	cr_assert_eq(ctr[DP_C_DROP_TOO_BIG], 1);
}

Test(pkt, a_reassembled_datagram_is_checked_whole_and_not_counted_as_a_frame)
{
	static uint8_t f[4096];
	struct dp_pkt_ctx c = ctx_plain();
	struct dp_punt_info p;
	uint16_t len = padded(f, sizeof(f), 1500, true);

	c.max_answer = 9000;
	c.l4_csum_ok = true; /* about the last piece only: ignored */
	f[40] ^= 0x55;
	cr_assert_eq(dp_pkt_handle_reassembled(&c, f, &len, sizeof(f), &p), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_UDP_BAD], 1);
	cr_assert_eq(ctr[DP_C_RX], 0);
	cr_assert_eq(ctr[DP_C_BYTES_IN], 0);
}

Test(pkt, arp_for_either_address_is_answered_and_others_ignored)
{
	uint8_t f[60] = { 0 };
	struct dp_pkt_ctx c = ctx_plain();
	uint16_t len = 42;
	const uint8_t req[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0,   2, 8, 6,
		                  0,    1,    8,    0,    6,    4,    0, 1, 2, 0, 0,   0, 0, 2,
		                  198,  51,   100,  254,  0,    0,    0, 0, 0, 0, 192, 0, 2, 2 };

	memcpy(f, req, 42);
	cr_assert_eq(run(&c, f, &len), DP_TX);
	cr_assert_eq(len, 42);
	cr_assert_arr_eq(f, CLI_MAC, 6);
	cr_assert_arr_eq(f + 6, SRV_MAC, 6);
	cr_assert_eq(rv_get_u16(f + 20), 2, "reply");
	cr_assert_arr_eq(f + 22, SRV_MAC, 6, "sha");
	cr_assert_eq(rv_get_u32(f + 28), IP(192, 0, 2, 2), "spa");
	cr_assert_arr_eq(f + 32, CLI_MAC, 6, "tha");
	cr_assert_eq(rv_get_u32(f + 38), IP(198, 51, 100, 254), "tpa");
	memcpy(f, req, 42);
	f[41] = 3;
	len = 42;
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_ARP_OTHER], 1);
}

/* An ICMP message of the given type from the usual client: a UDP frame
 * turned into ICMP, both checksums right. */
static uint16_t icmp_frame(uint8_t *f, size_t cap, uint8_t type)
{
	uint8_t icmp[16] = { type, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g', 1, 2, 3, 4 };
	uint32_t s = 0;

	(void)frame_to(f, cap, "192.0.2.1:1", icmp, 0);
	for (int i = 0; i < 16; i += 2)
		s += (uint32_t)(icmp[i] << 8 | icmp[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	rv_put_u16(icmp + 2, (uint16_t)~s);
	memcpy(f + 34, icmp, 16);
	f[23] = 1;
	rv_put_u16(f + 16, 20 + 16);
	fix_ip_sum(f);
	return 14 + 20 + 16;
}

Test(pkt, icmp_echo_is_answered_with_valid_checksums)
{
	uint8_t f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	uint16_t len = icmp_frame(f, sizeof(f), 8);

	cr_assert_eq(run(&c, f, &len), DP_TX);
	cr_assert_eq(f[34], 0, "echo reply");
	cr_assert(sum_ok(f + 34, 16, 0), "ICMP checksum");
	cr_assert(sum_ok(f + 14, 20, 0), "IP checksum");
	cr_assert_eq(rv_get_u32(f + 26), IP(192, 0, 2, 1));
	cr_assert_eq(rv_get_u32(f + 30), IP(198, 51, 100, 10));
	cr_assert_arr_eq(f + 42, "ping", 4);
	/* A timestamp request (type 13) is not ours to answer. */
	len = icmp_frame(f, sizeof(f), 13);
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_ICMP_OTHER], 1);
}

/* --- authenticated probes against the real RCU table ----------------------------- */

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static uint16_t probe_req(uint8_t *buf, size_t cap, uint64_t session, uint16_t seq,
                          const uint8_t *k)
{
	struct rv_msg m;

	rv_msg_init(&m, RV_M_BINDING, RV_STUN_REQUEST, txid);
	m.probe =
	        (struct rv_probe){ .session = session, .kind = RV_PROBE_RANGE_BEFORE, .seq = seq };
	rv_probe_mac(k, txid, &m.probe, NULL, m.probe.mac);
	m.present |= RV_BIT(RV_F_PROBE);
	int n = rv_msg_encode(&m, buf, cap, NULL, 0);
	cr_assert_gt(n, 0);
	return (uint16_t)n;
}

static struct dp_table *table;

static void table_setup(void)
{
	urcu_qsbr_register_thread();
	table = dp_table_create(42, 64, 1024);
	cr_assert_not_null(table);
	cr_assert_eq(dp_table_set(table, 77, key, 1795000000000ull + 60000, 0, 0), 0);
	cr_assert_eq(dp_table_set(table, 78, key, 1795000000000ull + 60000, 1, 2), 0);
}

static void table_teardown(void)
{
	urcu_qsbr_quiescent_state();
	urcu_qsbr_barrier();
	dp_table_destroy(table);
	urcu_qsbr_unregister_thread();
}

Test(probe, valid_probe_is_recorded_and_answered_with_a_verifiable_echo, .init = table_setup,
     .fini = table_teardown)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct rv_stun_msg m;
	struct rv_msg reply;
	struct dp_obs obs[DP_OBS_RING];
	struct rv_addr seen;

	c.table = table;
	uint16_t len =
	        frame_to(f, sizeof(f), "192.0.2.1:3478", stun, probe_req(stun, 128, 77, 5, key));
	cr_assert_eq(run(&c, f, &len), DP_TX);
	cr_assert_eq(ctr[DP_C_TX_PROBE], 1);
	assert_answer(f, len, "192.0.2.1:3478", "198.51.100.10:40000", &m);
	/* The answer is a project message the peer's codec accepts. */
	cr_assert_eq(rv_msg_decode(f + 42, len - 42u, &reply, NULL), 0);
	cr_assert_eq(reply.probe.flags, RV_PROBE_REPLY);
	cr_assert_eq(reply.probe.seq, 5);
	cr_assert_eq(rv_addr_parse("198.51.100.10:40000", 0, &seen), 0);
	cr_assert(rv_addr_eq(&reply.mapped, &seen));
	cr_assert(rv_probe_verify(key, txid, &reply.probe, &seen), "reply MAC binds what we saw");
	cr_assert_eq(dp_table_obs(table, 77, obs, DP_OBS_RING), 1);
	cr_assert_eq(obs[0].ip, IP(198, 51, 100, 10));
	cr_assert_eq(obs[0].port, 40000);
	cr_assert_eq(obs[0].seq, 5);
	cr_assert_eq(obs[0].kind, RV_PROBE_RANGE_BEFORE);
	cr_assert_eq(obs[0].t_ms, c.now_ms);
}

Test(probe, bad_mac_unknown_session_and_rate_are_dropped_silently, .init = table_setup,
     .fini = table_teardown)
{
	uint8_t stun[128], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	struct dp_obs obs[DP_OBS_RING];
	const uint8_t wrong[16] = { 0 };
	uint16_t len;

	c.table = table;
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, probe_req(stun, 128, 77, 1, wrong));
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_PROBE_BAD_MAC], 1);
	cr_assert_eq(dp_table_obs(table, 77, obs, DP_OBS_RING), 0, "nothing recorded");

	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, probe_req(stun, 128, 999, 1, key));
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_PROBE_NO_SESSION], 1);

	/* Session 78: burst 2 at 1/s. */
	for (int i = 0; i < 3; i++) {
		len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun,
		               probe_req(stun, 128, 78, (uint16_t)i, key));
		cr_assert_eq(run(&c, f, &len), i < 2 ? DP_TX : DP_DROP, "probe %d", i);
	}
	cr_assert_eq(ctr[DP_C_DROP_PROBE_RATE], 1);

	/* Expired sessions find nothing (expiry is inclusive). */
	c.now_ms += 60000;
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, probe_req(stun, 128, 77, 1, key));
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	cr_assert_eq(ctr[DP_C_DROP_PROBE_NO_SESSION], 2);
}

/* --- budgets ---------------------------------------------------------------------- */

Test(budget, spoofed_source_gets_no_more_than_its_excess_bytes_then_nothing_larger)
{
	struct dp_rl_conf conf = { .slots = 64,
		                   .src_bytes = 100,
		                   .src_bytes_rate = 1,
		                   .src_pkts = 0,
		                   .glob_bytes = 0,
		                   .seed = 7 };
	struct dp_rl *rl = calloc(1, dp_rl_size(&conf));
	uint8_t stun[256], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	int answered = 0;

	cr_assert_eq(dp_rl_init(rl, &conf, 1), 0);
	c.rl = rl;
	/* A 20-byte request gets a 56-byte answer: 36 excess bytes each. */
	for (int i = 0; i < 10; i++) {
		uint16_t len =
		        frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 256, NULL, 0));
		if (run(&c, f, &len) == DP_TX)
			answered++;
	}
	cr_assert_eq(answered, 2, "100 bytes of budget pay for two 36-byte excesses");
	cr_assert_eq(ctr[DP_C_DROP_RL_SRC_BYTES], 8);
	/* A request larger than its answer cannot amplify: still answered. */
	uint16_t len =
	        frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 256, add_software, 0));
	cr_assert_eq(run(&c, f, &len), DP_TX);
	/* A padded one mirrors its padding, so it still amplifies: refused. */
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun, binding(stun, 256, add_padding, 0));
	cr_assert_eq(run(&c, f, &len), DP_DROP);
	free(rl);
}

Test(budget, padded_answers_above_the_mtu_pay_like_any_other)
{
	struct dp_rl_conf conf = { .slots = 64, .src_bytes = 100, .src_bytes_rate = 1, .seed = 7 };
	struct dp_rl *rl = calloc(1, dp_rl_size(&conf));
	static uint8_t f[4096];
	struct dp_pkt_ctx c = ctx_plain();
	int answered = 0;

	cr_assert_eq(dp_rl_init(rl, &conf, 1), 0);
	c.rl = rl;
	c.max_answer = 9000;
	for (int i = 0; i < 5; i++) {
		uint16_t len = padded(f, sizeof(f), 1500, false);
		if (run(&c, f, &len) == DP_TX)
			answered++;
	}
	cr_assert_eq(answered, 2, "36 excess bytes each, 1500 of PADDING or not");
	cr_assert_eq(ctr[DP_C_DROP_RL_SRC_BYTES], 3);
	free(rl);
}

Test(counters, every_packet_is_counted_exactly_once)
{
	uint8_t stun[256], f[2048];
	struct dp_pkt_ctx c = ctx_plain();
	uint64_t outcomes = 0;
	int sent = 0;

	for (int i = 0; i < 200; i++, sent++) {
		uint16_t len =
		        frame_to(f, sizeof(f), i % 3 ? "192.0.2.1:3478" : "192.0.2.9:3478", stun,
		                 binding(stun, 256, i % 2 ? add_padding : NULL, i & 4));
		if (i % 5 == 0)
			f[42 + (i % 40)] ^= 0xff;
		(void)run(&c, f, &len);
	}
	for (int k = 0; k < DP_C_COUNT; k++)
		if (k != DP_C_RX && k != DP_C_BYTES_IN && k != DP_C_BYTES_OUT &&
		    k != DP_C_RELAY_BYTES)
			outcomes += ctr[k];
	cr_assert_eq(ctr[DP_C_RX], (uint64_t)sent);
	cr_assert_eq(outcomes, (uint64_t)sent);
	for (int k = 0; k < DP_C_COUNT; k++)
		cr_assert_str_neq(dp_ctr_name((enum dp_ctr)k), "?");
}

/* The burst prefetch's look at a frame: the session of a probe, nothing for
 * anything else (it validates nothing; the handler does). */
Test(probe, the_prefetch_peek_names_a_probes_session_and_nothing_else)
{
	uint8_t stun[128], f[2048], g[2048];
	uint16_t len =
	        frame_to(f, sizeof(f), "192.0.2.1:3478", stun, probe_req(stun, 128, 77, 1, key));
	uint64_t sid = 0;

	cr_assert(dp_pkt_probe_session(f, len, &sid));
	cr_assert_eq(sid, 77);
	cr_assert(dp_pkt_probe_session(f, 42 + 24 + RV_PROBE_LEN, &sid));
	cr_assert_not(dp_pkt_probe_session(f, 42 + 24 + RV_PROBE_LEN - 1, &sid), "truncated");
	memcpy(g, f, len);
	g[42 + 24 + 8] = RV_PROBE_RELAY; /* a relay bind looks elsewhere */
	cr_assert_not(dp_pkt_probe_session(g, len, &sid));
	memcpy(g, f, len);
	g[42 + 1] |= 0x10; /* an indication, not a request */
	cr_assert_not(dp_pkt_probe_session(g, len, &sid));
	memcpy(g, f, len);
	g[14] = 0x46; /* IP options move everything */
	cr_assert_not(dp_pkt_probe_session(g, len, &sid));
	len = frame_to(f, sizeof(f), "192.0.2.1:3478", stun,
	               binding(stun, sizeof(stun), NULL, false));
	cr_assert_not(dp_pkt_probe_session(f, len, &sid), "a plain Binding");
}
