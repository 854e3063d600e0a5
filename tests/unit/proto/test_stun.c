/* STUN codec: RFC 5769 vectors, encoder round trips, and every defined
 * error. The malformed-input suite lives in test_stun_malformed.c. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "proto/stun.h"
#include "tests/unit/testutil.h"

static const char *const short_term_pw = "VOkJxbRl1RmTxUk/WvJxBt";

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
	char rel[256];
	long n;

	snprintf(rel, sizeof(rel), "tests/vectors/rfc5769/%s", name);
	n = rv_test_load_hex(rel, buf, cap);
	cr_assert_gt(n, 0, "cannot load %s", rel);
	return (size_t)n;
}

static void decode_ok(const uint8_t *buf, size_t len, struct rv_stun_msg *m)
{
	int rc = rv_stun_decode(buf, len, 0, m);
	cr_assert_eq(rc, 0, "decode: %s", rv_strerror(rc));
}

static void assert_text(const struct rv_stun_msg *m, uint16_t type, const char *want)
{
	const struct rv_stun_attr *a = rv_stun_find(m, type);

	cr_assert_not_null(a, "attribute 0x%04x missing", type);
	cr_assert_eq(a->len, strlen(want));
	cr_assert_arr_eq(rv_stun_value(m, a), want, a->len);
}

static const uint8_t rfc_txid[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	                              0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };

Test(stun_rfc5769, sample_request_parses_and_verifies)
{
	uint8_t buf[256];
	size_t n = load("2.1-request.hex", buf, sizeof(buf));
	struct rv_stun_msg m;

	cr_assert_eq(n, 108);
	decode_ok(buf, n, &m);
	cr_assert_eq(m.cls, RV_STUN_REQUEST);
	cr_assert_eq(m.method, RV_STUN_BINDING);
	cr_assert(!m.classic);
	cr_assert_arr_eq(rv_stun_txid(&m), rfc_txid, 12);
	assert_text(&m, RV_SA_SOFTWARE, "STUN test client");
	/* The padding of USERNAME is spaces: the value must still be 9 bytes. */
	assert_text(&m, RV_SA_USERNAME, "evtj:h6vY");
	/* PRIORITY (0x0024) is ICE's and comprehension-required: reported. */
	cr_assert_eq(m.nunknown, 1);
	cr_assert_eq(m.unknown[0], 0x0024);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	cr_assert_eq(
	        rv_stun_check_integrity(&m, (const uint8_t *)short_term_pw, strlen(short_term_pw)),
	        0);
	cr_assert_eq(rv_stun_check_integrity(&m, (const uint8_t *)"wrong", 5), RV_EINTEGRITY);
	cr_assert_eq(rv_stun_check_integrity_sha256(&m, (const uint8_t *)"x", 1), RV_ENOINTEGRITY);
}

Test(stun_rfc5769, ipv4_response_gives_192_0_2_1_port_32853)
{
	uint8_t buf[256];
	size_t n = load("2.2-response-ipv4.hex", buf, sizeof(buf));
	struct rv_stun_msg m;
	struct rv_addr a, want;

	decode_ok(buf, n, &m);
	cr_assert_eq(m.cls, RV_STUN_SUCCESS);
	cr_assert_eq(m.method, RV_STUN_BINDING);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &a), 0);
	cr_assert_eq(rv_addr_parse("192.0.2.1:32853", 0, &want), 0);
	cr_assert(rv_addr_eq(&a, &want));
	assert_text(&m, RV_SA_SOFTWARE, "test vector");
	cr_assert_eq(m.nunknown, 0);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	cr_assert_eq(
	        rv_stun_check_integrity(&m, (const uint8_t *)short_term_pw, strlen(short_term_pw)),
	        0);
}

Test(stun_rfc5769, ipv6_response_gives_the_documented_address)
{
	uint8_t buf[256];
	size_t n = load("2.3-response-ipv6.hex", buf, sizeof(buf));
	struct rv_stun_msg m;
	struct rv_addr a, want;

	decode_ok(buf, n, &m);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &a), 0);
	cr_assert_eq(rv_addr_parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853", 0, &want), 0);
	cr_assert(rv_addr_eq(&a, &want));
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	cr_assert_eq(
	        rv_stun_check_integrity(&m, (const uint8_t *)short_term_pw, strlen(short_term_pw)),
	        0);
}

static const char user_utf8[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                "\xe3\x82\xb9";

Test(stun_rfc5769, long_term_request_verifies_with_md5_key)
{
	uint8_t buf[256], key[16];
	size_t n = load("2.4-request-longterm.hex", buf, sizeof(buf));
	struct rv_stun_msg m;

	decode_ok(buf, n, &m);
	assert_text(&m, RV_SA_USERNAME, user_utf8);
	assert_text(&m, RV_SA_REALM, "example.org");
	assert_text(&m, RV_SA_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
	rv_stun_longterm_key_md5(user_utf8, "example.org", "TheMatrIX", key);
	cr_assert_eq(rv_stun_check_integrity(&m, key, sizeof(key)), 0);
	key[0] ^= 1;
	cr_assert_eq(rv_stun_check_integrity(&m, key, sizeof(key)), RV_EINTEGRITY);
	cr_assert_eq(rv_stun_check_fingerprint(&m), RV_EMISSING);
}

/* RFC 5769 pads SOFTWARE in 2.2/2.3 (and USERNAME in 2.1) with a space on
 * purpose; filling that byte through the reserve API, the encoder must
 * rebuild the responses byte for byte. */
Test(stun_rfc5769, encoder_rebuilds_the_ipv4_and_ipv6_responses_exactly)
{
	const char *files[] = { "2.2-response-ipv4.hex", "2.3-response-ipv6.hex" };

	for (int i = 0; i < 2; i++) {
		uint8_t vec[256], out[256];
		size_t n = load(files[i], vec, sizeof(vec));
		struct rv_stun_msg m;
		struct rv_stun_enc e;
		struct rv_addr a;

		decode_ok(vec, n, &m);
		cr_assert_eq(rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &a), 0);
		rv_stun_enc_init(&e, out, sizeof(out), RV_STUN_BINDING, RV_STUN_SUCCESS, rfc_txid);
		uint8_t *sw = rv_stun_enc_attr_reserve(&e, RV_SA_SOFTWARE, 11);
		cr_assert_not_null(sw);
		memcpy(sw, "test vector", 11);
		cr_assert_eq(sw[11], 0, "the encoder pads with zero");
		sw[11] = ' ';
		rv_stun_enc_addr(&e, RV_SA_XOR_MAPPED_ADDRESS, &a, true);
		rv_stun_enc_integrity(&e, (const uint8_t *)short_term_pw, strlen(short_term_pw));
		rv_stun_enc_fingerprint(&e);
		cr_assert_eq(rv_stun_enc_finish(&e), (int)n);
		cr_assert_arr_eq(out, vec, n, "%s differs", files[i]);
	}
}

Test(stun_rfc5769, encoder_rebuilds_the_long_term_request_exactly)
{
	uint8_t vec[256], out[256], key[16];
	size_t n = load("2.4-request-longterm.hex", vec, sizeof(vec));
	const uint8_t txid[12] = { 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
		                   0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e };
	struct rv_stun_enc e;

	rv_stun_longterm_key_md5(user_utf8, "example.org", "TheMatrIX", key);
	rv_stun_enc_init(&e, out, sizeof(out), RV_STUN_BINDING, RV_STUN_REQUEST, txid);
	rv_stun_enc_attr(&e, RV_SA_USERNAME, user_utf8, strlen(user_utf8));
	rv_stun_enc_attr(&e, RV_SA_NONCE, "f//499k954d6OL34oL9FSTvy64sA", 28);
	rv_stun_enc_attr(&e, RV_SA_REALM, "example.org", 11);
	rv_stun_enc_integrity(&e, key, sizeof(key));
	cr_assert_eq(rv_stun_enc_finish(&e), (int)n);
	cr_assert_arr_eq(out, vec, n);
}

Test(stun_crc, crc32_of_123456789_is_the_check_value)
{
	cr_assert_eq(rv_crc32(0, "123456789", 9), 0xcbf43926u);
	/* Incremental use gives the same result. */
	cr_assert_eq(rv_crc32(rv_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

/* --- message type packing ------------------------------------------------- */

struct type_case {
	uint16_t method;
	enum rv_stun_class cls;
	uint16_t wire;
};

ParameterizedTestParameters(stun_type, packs_method_and_class_per_rfc8489)
{
	static struct type_case cases[] = {
		{ 0x001, RV_STUN_REQUEST, 0x0001 }, { 0x001, RV_STUN_SUCCESS, 0x0101 },
		{ 0x001, RV_STUN_ERROR, 0x0111 },   { 0x001, RV_STUN_INDICATION, 0x0011 },
		{ 0x003, RV_STUN_REQUEST, 0x0003 }, { 0xfff, RV_STUN_ERROR, 0x3fff },
		{ 0x080, RV_STUN_SUCCESS, 0x0300 }, { 0xe01, RV_STUN_REQUEST, 0x3801 },
	};
	return cr_make_param_array(struct type_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct type_case *c, stun_type, packs_method_and_class_per_rfc8489)
{
	uint8_t buf[20];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	const uint8_t txid[12] = { 0 };

	cr_assert_eq(rv_stun_type(c->method, c->cls), c->wire);
	rv_stun_enc_init(&e, buf, sizeof(buf), c->method, c->cls, txid);
	cr_assert_eq(rv_stun_enc_finish(&e), 20);
	decode_ok(buf, 20, &m);
	cr_assert_eq(m.method, c->method);
	cr_assert_eq(m.cls, c->cls);
}

Test(stun_type, every_method_and_class_round_trips)
{
	const uint8_t txid[12] = { 1, 2, 3 };

	for (unsigned method = 0; method < 0x1000; method++)
		for (int cls = 0; cls < 4; cls++) {
			uint8_t buf[20];
			struct rv_stun_enc e;
			struct rv_stun_msg m;

			rv_stun_enc_init(&e, buf, sizeof(buf), (uint16_t)method, cls, txid);
			cr_assert_eq(rv_stun_decode(buf, 20, 0, &m), 0);
			cr_assert_eq(m.method, method);
			cr_assert_eq(m.cls, cls);
		}
}

/* --- attributes ----------------------------------------------------------- */

static const uint8_t txid0[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xaa, 0x55 };

Test(stun_attr, xor_and_plain_addresses_round_trip_for_both_families)
{
	const char *addrs[] = { "203.0.113.9:47800", "[2001:db8::42]:1", "0.0.0.0:0",
		                "[::ffff:198.51.100.7]:65535" };

	for (int i = 0; i < 4; i++) {
		uint8_t buf[128];
		struct rv_stun_enc e;
		struct rv_stun_msg m;
		struct rv_addr in, x, p;

		cr_assert_eq(rv_addr_parse(addrs[i], 0, &in), 0);
		rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_SUCCESS, txid0);
		rv_stun_enc_addr(&e, RV_SA_XOR_MAPPED_ADDRESS, &in, true);
		rv_stun_enc_addr(&e, RV_SA_MAPPED_ADDRESS, &in, false);
		rv_stun_enc_addr(&e, RV_SA_OTHER_ADDRESS, &in, false);
		int n = rv_stun_enc_finish(&e);
		cr_assert_gt(n, 0);
		decode_ok(buf, (size_t)n, &m);
		cr_assert_eq(rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &x), 0);
		cr_assert_eq(rv_stun_get_addr(&m, RV_SA_MAPPED_ADDRESS, &p), 0);
		cr_assert(rv_addr_eq(&x, &in), "%s xor", addrs[i]);
		cr_assert(rv_addr_eq(&p, &in), "%s plain", addrs[i]);
		/* The XOR form on the wire differs from the plain one. */
		const struct rv_stun_attr *xa = rv_stun_find(&m, RV_SA_XOR_MAPPED_ADDRESS);
		const struct rv_stun_attr *pa = rv_stun_find(&m, RV_SA_MAPPED_ADDRESS);
		cr_assert_neq(memcmp(rv_stun_value(&m, xa), rv_stun_value(&m, pa), xa->len), 0);
		cr_assert_eq(rv_stun_get_addr(&m, RV_SA_RESPONSE_ORIGIN, &p), RV_EMISSING);
	}
}

static int decode_single_attr(uint16_t type, const uint8_t *val, uint16_t len,
                              struct rv_stun_msg *m, uint8_t *buf, size_t cap)
{
	struct rv_stun_enc e;

	rv_stun_enc_init(&e, buf, cap, RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_attr(&e, type, val, len);
	int n = rv_stun_enc_finish(&e);
	cr_assert_gt(n, 0);
	return rv_stun_decode(buf, (size_t)n, 0, m);
}

Test(stun_attr, address_with_unknown_family_or_wrong_length_is_rejected)
{
	uint8_t buf[64];
	struct rv_stun_msg m;
	struct rv_addr a;
	const uint8_t fam3[8] = { 0, 3, 0, 1, 1, 2, 3, 4 };
	const uint8_t v4_in_20[20] = { 0, 1, 0, 1 };
	const uint8_t v6_in_8[8] = { 0, 2, 0, 1 };

	cr_assert_eq(decode_single_attr(RV_SA_MAPPED_ADDRESS, fam3, 8, &m, buf, sizeof(buf)), 0);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_MAPPED_ADDRESS, &a), RV_EFAMILY);
	cr_assert_eq(decode_single_attr(RV_SA_MAPPED_ADDRESS, v4_in_20, 20, &m, buf, sizeof(buf)),
	             0);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_MAPPED_ADDRESS, &a), RV_EATTR);
	cr_assert_eq(decode_single_attr(RV_SA_XOR_MAPPED_ADDRESS, v6_in_8, 8, &m, buf, sizeof(buf)),
	             0);
	cr_assert_eq(rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &a), RV_EATTR);
	/* A length neither 8 nor 20 is rejected by the decoder itself. */
	cr_assert_eq(decode_single_attr(RV_SA_MAPPED_ADDRESS, fam3, 7, &m, buf, sizeof(buf)),
	             RV_EATTR);
	/* The encoder refuses an address without a family. */
	struct rv_stun_enc e;
	struct rv_addr none = { 0 };
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_addr(&e, RV_SA_MAPPED_ADDRESS, &none, false);
	cr_assert_eq(rv_stun_enc_finish(&e), RV_EFAMILY);
}

Test(stun_attr, change_request_and_response_port_decode)
{
	uint8_t buf[64];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	uint32_t flags = 0;
	uint16_t port = 0;
	const uint8_t rp[4] = { 0x12, 0x34, 0, 0 };

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	/* Undefined flag bits are masked off. */
	rv_stun_enc_u32(&e, RV_SA_CHANGE_REQUEST, RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT | 0x81);
	rv_stun_enc_attr(&e, RV_SA_RESPONSE_PORT, rp, 4);
	decode_ok(buf, (size_t)rv_stun_enc_finish(&e), &m);
	cr_assert_eq(rv_stun_get_change_request(&m, &flags), 0);
	cr_assert_eq(flags, RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT);
	cr_assert_eq(rv_stun_get_response_port(&m, &port), 0);
	cr_assert_eq(port, 0x1234);
	/* Wrong lengths are refused at decode. */
	cr_assert_eq(decode_single_attr(RV_SA_CHANGE_REQUEST, rp, 3, &m, buf, sizeof(buf)),
	             RV_EATTR);
	cr_assert_eq(decode_single_attr(RV_SA_RESPONSE_PORT, rp, 2, &m, buf, sizeof(buf)),
	             RV_EATTR);
	cr_assert_eq(decode_single_attr(RV_SA_SOFTWARE, rp, 4, &m, buf, sizeof(buf)), 0);
	cr_assert_eq(rv_stun_get_change_request(&m, &flags), RV_EMISSING);
}

Test(stun_attr, error_code_and_unknown_attributes_round_trip)
{
	uint8_t buf[128];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	const uint16_t types[3] = { 0x0024, 0x7001, 0x0031 };
	uint16_t got[8];
	int code;
	const uint8_t *reason;
	size_t rlen;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_ERROR, txid0);
	rv_stun_enc_error(&e, 420, "Unknown Attribute");
	rv_stun_enc_unknown(&e, types, 3);
	decode_ok(buf, (size_t)rv_stun_enc_finish(&e), &m);
	cr_assert_eq(rv_stun_get_error(&m, &code, &reason, &rlen), 0);
	cr_assert_eq(code, 420);
	cr_assert_eq(rlen, 17);
	cr_assert_arr_eq(reason, "Unknown Attribute", rlen);
	/* Three types: 6 bytes, padded to 8 on the wire. */
	cr_assert_eq(rv_stun_find(&m, RV_SA_UNKNOWN_ATTRIBUTES)->len, 6);
	cr_assert_eq(rv_stun_get_unknown_attributes(&m, got, 8), 3);
	cr_assert_arr_eq(got, types, sizeof(types));
	/* A caller array smaller than the list gets the count anyway. */
	cr_assert_eq(rv_stun_get_unknown_attributes(&m, got, 1), 3);
}

Test(stun_attr, error_code_outside_300_699_is_refused_both_ways)
{
	uint8_t buf[64];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	const uint8_t cls2[4] = { 0, 0, 2, 0 };
	const uint8_t num100[4] = { 0, 0, 4, 100 };
	int code;
	const uint8_t *reason;
	size_t rlen;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_ERROR, txid0);
	rv_stun_enc_error(&e, 299, NULL);
	cr_assert_eq(rv_stun_enc_finish(&e), RV_ERANGE);
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_ERROR, txid0);
	rv_stun_enc_error(&e, 700, NULL);
	cr_assert_eq(rv_stun_enc_finish(&e), RV_ERANGE);
	cr_assert_eq(decode_single_attr(RV_SA_ERROR_CODE, cls2, 4, &m, buf, sizeof(buf)), 0);
	cr_assert_eq(rv_stun_get_error(&m, &code, &reason, &rlen), RV_EATTR);
	cr_assert_eq(decode_single_attr(RV_SA_ERROR_CODE, num100, 4, &m, buf, sizeof(buf)), 0);
	cr_assert_eq(rv_stun_get_error(&m, &code, &reason, &rlen), RV_EATTR);
	cr_assert_eq(decode_single_attr(RV_SA_ERROR_CODE, cls2, 3, &m, buf, sizeof(buf)), RV_EATTR);
}

/* --- integrity and fingerprint ---------------------------------------------- */

Test(stun_integrity, sha1_sha256_and_fingerprint_stack_and_each_verifies)
{
	const uint8_t key[] = "session-key";
	for (size_t len = 16; len <= 32; len += 4) {
		uint8_t buf[256];
		struct rv_stun_enc e;
		struct rv_stun_msg m;

		rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
		rv_stun_enc_attr(&e, RV_SA_USERNAME, "alice", 5);
		rv_stun_enc_integrity(&e, key, sizeof(key) - 1);
		rv_stun_enc_integrity_sha256(&e, key, sizeof(key) - 1, len);
		rv_stun_enc_fingerprint(&e);
		int n = rv_stun_enc_finish(&e);
		cr_assert_gt(n, 0);
		decode_ok(buf, (size_t)n, &m);
		cr_assert_eq(rv_stun_check_integrity(&m, key, sizeof(key) - 1), 0);
		cr_assert_eq(rv_stun_check_integrity_sha256(&m, key, sizeof(key) - 1), 0, "len %zu",
		             len);
		cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
		cr_assert_eq(rv_stun_check_integrity_sha256(&m, key, 3), RV_EINTEGRITY);
		/* One flipped bit in the covered part breaks all three. */
		buf[24] ^= 0x20;
		decode_ok(buf, (size_t)n, &m);
		cr_assert_eq(rv_stun_check_integrity(&m, key, sizeof(key) - 1), RV_EINTEGRITY);
		cr_assert_eq(rv_stun_check_integrity_sha256(&m, key, sizeof(key) - 1),
		             RV_EINTEGRITY);
		cr_assert_eq(rv_stun_check_fingerprint(&m), RV_EFINGERPRINT);
	}
}

Test(stun_integrity, sha256_truncation_outside_16_32_or_unaligned_is_refused)
{
	const size_t bad[] = { 0, 12, 18, 33, 36 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[128];
		struct rv_stun_enc e;

		rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
		rv_stun_enc_integrity_sha256(&e, (const uint8_t *)"k", 1, bad[i]);
		cr_assert_eq(rv_stun_enc_finish(&e), RV_ERANGE);
	}
}

Test(stun_integrity, sha256_long_term_key_is_sha256_of_user_realm_pass)
{
	uint8_t a[32], b[32];

	rv_stun_longterm_key_sha256("user", "realm", "pass", a);
	rv_stun_longterm_key_sha256("user", "realm", "pass2", b);
	cr_assert_neq(memcmp(a, b, 32), 0);
	/* sha256("user:realm:pass"), computed independently. */
	const uint8_t want[32] = { 0x07, 0xe9, 0x34, 0x11, 0x7a, 0xbd, 0x40, 0x83, 0x6e, 0x7c, 0x63,
		                   0x29, 0xb5, 0x47, 0x31, 0xb2, 0xb2, 0xd2, 0xa5, 0xf9, 0xa7, 0x1f,
		                   0x54, 0x49, 0x22, 0xd7, 0x5e, 0x07, 0x30, 0xd8, 0x25, 0x1b };
	cr_assert_arr_eq(a, want, 32);
}

/* --- structural errors ---------------------------------------------------- */

Test(stun_decode, duplicate_known_attribute_is_an_error)
{
	uint8_t buf[64];
	struct rv_stun_enc e;
	struct rv_stun_msg m;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_u32(&e, RV_SA_CHANGE_REQUEST, 0);
	rv_stun_enc_attr(&e, RV_SA_SOFTWARE, "x", 1);
	rv_stun_enc_u32(&e, RV_SA_CHANGE_REQUEST, 4);
	cr_assert_eq(rv_stun_decode(buf, (size_t)rv_stun_enc_finish(&e), 0, &m), RV_EDUP);
	/* Unknown types are duplicates too. */
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_attr(&e, 0xC123, "a", 1);
	rv_stun_enc_attr(&e, 0xC123, "b", 1);
	cr_assert_eq(rv_stun_decode(buf, (size_t)rv_stun_enc_finish(&e), 0, &m), RV_EDUP);
}

Test(stun_decode, attribute_after_fingerprint_is_an_error)
{
	uint8_t buf[64];
	struct rv_stun_enc e;
	struct rv_stun_msg m;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_fingerprint(&e);
	rv_stun_enc_attr(&e, RV_SA_SOFTWARE, "x", 1);
	cr_assert_eq(rv_stun_decode(buf, (size_t)rv_stun_enc_finish(&e), 0, &m), RV_EAFTERFP);
}

Test(stun_decode, attributes_after_message_integrity_are_ignored)
{
	uint8_t buf[128];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	const uint8_t key[] = "k";

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_integrity(&e, key, 1);
	rv_stun_enc_attr(&e, RV_SA_SOFTWARE, "ignored", 7);
	rv_stun_enc_attr(&e, 0x0031, "ignored", 7); /* would be unknown-required */
	rv_stun_enc_fingerprint(&e);
	decode_ok(buf, (size_t)rv_stun_enc_finish(&e), &m);
	cr_assert_null(rv_stun_find(&m, RV_SA_SOFTWARE));
	cr_assert_eq(m.nunknown, 0);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
	/* The HMAC was taken before the ignored attributes were appended. */
	cr_assert_eq(rv_stun_check_integrity(&m, key, 1), 0);
}

Test(stun_decode, unknown_comprehension_required_types_are_listed_and_counted)
{
	uint8_t buf[256];
	struct rv_stun_enc e;
	struct rv_stun_msg m;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	for (uint16_t t = 0x0040; t < 0x0040 + RV_STUN_MAX_UNKNOWN + 3; t++)
		rv_stun_enc_attr(&e, t, NULL, 0);
	rv_stun_enc_attr(&e, 0x8fff, NULL, 0); /* optional: not listed */
	decode_ok(buf, (size_t)rv_stun_enc_finish(&e), &m);
	cr_assert_eq(m.nunknown, RV_STUN_MAX_UNKNOWN + 3);
	for (int i = 0; i < RV_STUN_MAX_UNKNOWN; i++)
		cr_assert_eq(m.unknown[i], 0x0040 + i);
}

Test(stun_decode, header_errors_are_distinct)
{
	uint8_t buf[64];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	int n;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_attr(&e, RV_SA_SOFTWARE, "abcd", 4);
	n = rv_stun_enc_finish(&e);
	cr_assert_eq(rv_stun_decode(buf, 19, 0, &m), RV_ETRUNC);
	cr_assert_eq(rv_stun_decode(buf, (size_t)n - 4, 0, &m), RV_ETRUNC);
	buf[0] |= 0x40;
	cr_assert_eq(rv_stun_decode(buf, (size_t)n, 0, &m), RV_ENOTSTUN);
	buf[0] &= 0x3f;
	buf[3] += 1; /* length not a multiple of 4 */
	cr_assert_eq(rv_stun_decode(buf, (size_t)n, 0, &m), RV_ELEN);
	buf[3] -= 1;
	buf[n] = 0; /* one trailing byte beyond the declared length */
	cr_assert_eq(rv_stun_decode(buf, (size_t)n + 1, 0, &m), RV_ELEN);
	cr_assert_eq(rv_stun_decode(buf, 70000, 0, &m), RV_ELEN);
	buf[4] ^= 0xff; /* no magic cookie */
	cr_assert_eq(rv_stun_decode(buf, (size_t)n, 0, &m), RV_ENOTSTUN);
	cr_assert(!rv_stun_is_stun(buf, (size_t)n, false));
	cr_assert(rv_stun_is_stun(buf, (size_t)n, true));
}

Test(stun_decode, classic_rfc3489_message_is_accepted_only_when_asked)
{
	/* RFC 3489 Binding Request with CHANGE-REQUEST: a 128-bit ID, no cookie. */
	uint8_t req[28] = {
		0x00, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 1,    2,    3, 4, 5, 6,
		7,    8,    9,    10,   11,   12,   0x00, 0x03, 0x00, 0x04, 0, 0, 0, 6
	};
	uint8_t out[128];
	struct rv_stun_msg m, r;
	struct rv_stun_enc e;
	uint32_t flags;

	cr_assert_eq(rv_stun_decode(req, sizeof(req), 0, &m), RV_ENOTSTUN);
	cr_assert_eq(rv_stun_decode(req, sizeof(req), RV_STUN_DEC_CLASSIC_OK, &m), 0);
	cr_assert(m.classic);
	cr_assert_eq(rv_stun_get_change_request(&m, &flags), 0);
	cr_assert_eq(flags, RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT);
	/* A reply echoes all 16 ID bytes. */
	rv_stun_enc_init_reply(&e, out, sizeof(out), &m, RV_STUN_SUCCESS);
	struct rv_addr a = rv_addr_v4(0xc6336401, 4000);
	rv_stun_enc_addr(&e, RV_SA_MAPPED_ADDRESS, &a, false);
	int n = rv_stun_enc_finish(&e);
	cr_assert_eq(rv_stun_decode(out, (size_t)n, RV_STUN_DEC_CLASSIC_OK, &r), 0);
	cr_assert_arr_eq(out + 4, req + 4, 16);
	cr_assert_eq(r.cls, RV_STUN_SUCCESS);
	struct rv_addr got;
	cr_assert_eq(rv_stun_get_addr(&r, RV_SA_MAPPED_ADDRESS, &got), 0);
	cr_assert(rv_addr_eq(&got, &a));
}

Test(stun_decode, more_attributes_than_the_index_holds_is_an_error)
{
	uint8_t buf[1024];
	struct rv_stun_enc e;
	struct rv_stun_msg m;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	for (unsigned i = 0; i <= RV_STUN_MAX_ATTRS; i++)
		rv_stun_enc_attr(&e, (uint16_t)(0x9000 + i), NULL, 0);
	cr_assert_eq(rv_stun_decode(buf, (size_t)rv_stun_enc_finish(&e), 0, &m), RV_ETOOMANY);
}

Test(stun_encode, reply_can_be_built_over_the_request_buffer)
{
	uint8_t buf[128];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	uint8_t id[16];

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_fingerprint(&e);
	decode_ok(buf, (size_t)rv_stun_enc_finish(&e), &m);
	memcpy(id, buf + 4, 16);
	rv_stun_enc_init_reply(&e, buf, sizeof(buf), &m, RV_STUN_SUCCESS);
	rv_stun_enc_fingerprint(&e);
	decode_ok(buf, (size_t)rv_stun_enc_finish(&e), &m);
	cr_assert_arr_eq(buf + 4, id, 16);
	cr_assert_eq(m.cls, RV_STUN_SUCCESS);
	cr_assert_eq(rv_stun_check_fingerprint(&m), 0);
}

Test(stun_encode, running_out_of_space_sticks_and_writes_nothing_past_cap)
{
	uint8_t buf[40];
	struct rv_stun_enc e;

	memset(buf, 0xee, sizeof(buf));
	rv_stun_enc_init(&e, buf, 30, RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	rv_stun_enc_attr(&e, RV_SA_SOFTWARE, "0123456789", 10); /* needs 16 */
	rv_stun_enc_u32(&e, RV_SA_CHANGE_REQUEST, 0);           /* would fit in 8 */
	cr_assert_eq(rv_stun_enc_finish(&e), RV_ENOSPC);
	for (int i = 30; i < 40; i++)
		cr_assert_eq(buf[i], 0xee);
	/* The header still describes a valid, empty message. */
	cr_assert_eq(rv_get_u16(buf + 2), 0);
	rv_stun_enc_init(&e, buf, 10, RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	cr_assert_eq(rv_stun_enc_finish(&e), RV_ENOSPC);
}

Test(stun_encode, header_length_tracks_each_attribute)
{
	uint8_t buf[64];
	struct rv_stun_enc e;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid0);
	cr_assert_eq(rv_get_u16(buf + 2), 0);
	rv_stun_enc_attr(&e, RV_SA_SOFTWARE, "abcde", 5);
	cr_assert_eq(rv_get_u16(buf + 2), 12);
	cr_assert_eq(buf[20 + 4 + 5], 0, "padding must be zero");
	uint8_t *v = rv_stun_enc_attr_reserve(&e, RV_SA_PADDING, 3);
	cr_assert_not_null(v);
	cr_assert_eq(rv_get_u16(buf + 2), 20);
	cr_assert_eq(rv_stun_enc_finish(&e), 40);
}
