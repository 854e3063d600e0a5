/* Hostile input against the STUN decoder: truncation at every offset, every
 * length field off by one, random and mutated garbage. Each input sits in a
 * heap buffer of exactly its size, so `make asan` turns any read past the end
 * into a failure. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stun.h"
#include "tests/unit/testutil.h"

static const char *const vectors[] = {
	"tests/vectors/rfc5769/2.1-request.hex",
	"tests/vectors/rfc5769/2.2-response-ipv4.hex",
	"tests/vectors/rfc5769/2.3-response-ipv6.hex",
	"tests/vectors/rfc5769/2.4-request-longterm.hex",
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

/* Loaded once: the mutation loops copy them tens of thousands of times. */
static uint8_t vec_bytes[NVEC][256];
static long vec_len[NVEC];

static size_t load_vec(size_t i, uint8_t *buf, size_t cap)
{
	if (!vec_len[i])
		vec_len[i] = rv_test_load_hex(vectors[i], vec_bytes[i], sizeof(vec_bytes[i]));
	cr_assert_gt(vec_len[i], 0);
	cr_assert_leq((size_t)vec_len[i], cap);
	memcpy(buf, vec_bytes[i], (size_t)vec_len[i]);
	return (size_t)vec_len[i];
}

/* Decode a copy of exactly len bytes; on success, exercise every reader so
 * they too run over the hostile bytes. */
static int decode_exact(const uint8_t *src, size_t len, unsigned flags)
{
	uint8_t *p = malloc(len ? len : 1);
	struct rv_stun_msg m;
	int rc;

	cr_assert_not_null(p);
	memcpy(p, src, len);
	rc = rv_stun_decode(p, len, flags, &m);
	if (rc == 0) {
		struct rv_addr a;
		uint32_t f;
		uint16_t port, types[4];
		int code;
		const uint8_t *reason;
		size_t rlen;

		cr_assert_leq(m.nattrs, RV_STUN_MAX_ATTRS);
		cr_assert_eq(m.len, len);
		for (unsigned i = 0; i < m.nattrs; i++) {
			cr_assert_leq((size_t)m.attrs[i].off + m.attrs[i].len, len);
			(void)rv_stun_attr_addr(&m, &m.attrs[i], true, &a);
		}
		(void)rv_stun_get_addr(&m, RV_SA_XOR_MAPPED_ADDRESS, &a);
		(void)rv_stun_get_change_request(&m, &f);
		(void)rv_stun_get_response_port(&m, &port);
		(void)rv_stun_get_error(&m, &code, &reason, &rlen);
		(void)rv_stun_get_unknown_attributes(&m, types, 4);
		(void)rv_stun_check_fingerprint(&m);
		(void)rv_stun_check_integrity(&m, (const uint8_t *)"k", 1);
		(void)rv_stun_check_integrity_sha256(&m, (const uint8_t *)"k", 1);
	}
	free(p);
	return rc;
}

/* A receiver that checks what protects these messages accepts one only if
 * it decodes, its MESSAGE-INTEGRITY verifies, and — where the original
 * carried one — its FINGERPRINT is present and right. */
static bool rejected(const uint8_t *p, size_t len, size_t vec)
{
	static const char *const pw = "VOkJxbRl1RmTxUk/WvJxBt";
	struct rv_stun_msg m;
	uint8_t key[16];
	bool had_fp = vec != 3;

	if (decode_exact(p, len, 0) != 0 || rv_stun_decode(p, len, 0, &m) != 0)
		return true;
	if (had_fp && rv_stun_check_fingerprint(&m) != 0)
		return true;
	if (vec == 3) {
		rv_stun_longterm_key_md5("\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82"
		                         "\xaf\xe3\x82\xb9",
		                         "example.org", "TheMatrIX", key);
		return rv_stun_check_integrity(&m, key, 16) != 0;
	}
	return rv_stun_check_integrity(&m, (const uint8_t *)pw, strlen(pw)) != 0;
}

Test(stun_malformed, truncation_at_every_offset_is_an_error)
{
	for (size_t v = 0; v < NVEC; v++) {
		uint8_t buf[256];
		size_t n = load_vec(v, buf, sizeof(buf));

		for (size_t cut = 0; cut < n; cut++)
			cr_assert_lt(decode_exact(buf, cut, RV_STUN_DEC_CLASSIC_OK), 0,
			             "%s cut at %zu decoded", vectors[v], cut);
		cr_assert_eq(decode_exact(buf, n, 0), 0);
	}
}

Test(stun_malformed, truncation_with_a_matching_header_length_is_an_error_or_fails_checks)
{
	/* The cut also fixes up the header's length, as an attacker would. */
	for (size_t v = 0; v < NVEC; v++) {
		uint8_t buf[256];
		size_t n = load_vec(v, buf, sizeof(buf));

		for (size_t cut = RV_STUN_HDR_LEN; cut < n; cut += 4) {
			uint8_t c[256];
			memcpy(c, buf, cut);
			rv_put_u16(c + 2, (uint16_t)(cut - RV_STUN_HDR_LEN));
			cr_assert(rejected(c, cut, v), "%s cut at %zu accepted", vectors[v], cut);
		}
	}
}

Test(stun_malformed, header_length_off_by_one_to_four_is_an_error)
{
	for (size_t v = 0; v < NVEC; v++) {
		uint8_t buf[256];
		size_t n = load_vec(v, buf, sizeof(buf));
		uint16_t hlen = rv_get_u16(buf + 2);

		for (int d = -4; d <= 4; d++) {
			if (d == 0)
				continue;
			rv_put_u16(buf + 2, (uint16_t)(hlen + d));
			cr_assert_lt(decode_exact(buf, n, 0), 0, "%s length %+d", vectors[v], d);
		}
		rv_put_u16(buf + 2, hlen);
	}
}

Test(stun_malformed, every_attribute_length_off_by_one_is_an_error_or_fails_checks)
{
	for (size_t v = 0; v < NVEC; v++) {
		uint8_t buf[256];
		size_t n = load_vec(v, buf, sizeof(buf));
		struct rv_stun_msg m;

		cr_assert_eq(rv_stun_decode(buf, n, 0, &m), 0);
		for (unsigned i = 0; i < m.nattrs; i++) {
			size_t at = m.attrs[i].off - 2; /* the attribute's length field */
			uint16_t len = rv_get_u16(buf + at);

			for (int d = -1; d <= 1; d += 2) {
				uint8_t c[256];
				memcpy(c, buf, n);
				rv_put_u16(c + at, (uint16_t)(len + d));
				cr_assert(rejected(c, n, v), "%s attr %u len %+d accepted",
				          vectors[v], i, d);
			}
		}
	}
}

Test(stun_malformed, every_single_bit_flip_is_an_error_or_fails_checks)
{
	for (size_t v = 0; v < NVEC; v++) {
		uint8_t buf[256];
		size_t n = load_vec(v, buf, sizeof(buf));

		for (size_t byte = 0; byte < n; byte++)
			for (int bit = 0; bit < 8; bit++) {
				buf[byte] ^= (uint8_t)(1u << bit);
				/* The padding of 2.1's USERNAME and the SOFTWARE padding of
				 * 2.2/2.3 are covered by the checks too. */
				cr_assert(rejected(buf, n, v), "%s byte %zu bit %d", vectors[v],
				          byte, bit);
				buf[byte] ^= (uint8_t)(1u << bit);
			}
	}
}

/* xorshift: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

Test(stun_malformed, random_garbage_with_plausible_headers_never_reads_out_of_bounds)
{
	uint8_t buf[700];
	int decoded = 0;

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = rnd() % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		if (len >= RV_STUN_HDR_LEN && (iter & 1)) {
			/* Get past the header checks most of the time, so the attribute
			 * walk sees the garbage. */
			len &= ~(size_t)3;
			buf[0] &= 0x3f;
			rv_put_u16(buf + 2, (uint16_t)(len - RV_STUN_HDR_LEN));
			rv_put_u32(buf + 4, RV_STUN_MAGIC);
		}
		if (decode_exact(buf, len, RV_STUN_DEC_CLASSIC_OK) == 0)
			decoded++;
	}
	cr_log_info("%d of 20000 random inputs decoded", decoded);
}

Test(stun_malformed, mutated_vectors_never_read_out_of_bounds)
{
	for (int iter = 0; iter < 40000; iter++) {
		uint8_t buf[256];
		size_t v = rnd() % NVEC;
		size_t n = load_vec(v, buf, sizeof(buf));
		int flips = 1 + (int)(rnd() % 4);

		for (int k = 0; k < flips; k++)
			buf[rnd() % n] = (uint8_t)rnd();
		/* Attribute lengths are the interesting bytes: hit them often. */
		if (iter & 1)
			buf[22 + 4 * (rnd() % ((n - 24) / 4))] = (uint8_t)rnd();
		(void)decode_exact(buf, n, RV_STUN_DEC_CLASSIC_OK);
	}
}
