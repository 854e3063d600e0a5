/* fuzz_stun.c — the STUN codec (proto/stun.c, stun_integrity.c).
 *
 * Input: one flags byte (bit 0: RFC 3489 messages allowed; bits 1-7 pick
 * the MESSAGE-INTEGRITY-SHA256 length and the reason length of the answer
 * built below), then the datagram. Every reader runs on what decodes:
 * rv_stun_find for each type, the typed getters, FINGERPRINT (against a
 * bitwise CRC-32 written here), both integrity checks. Properties:
 *   - rv_stun_is_stun agrees with a successful decode;
 *   - decode -> encode (header and every indexed attribute) -> decode gives
 *     the same message, and encoding that again gives the same bytes;
 *   - an answer built with every encoder from what was read decodes, and
 *     its integrity and FINGERPRINT verify.
 */
#include "proto/rv_err.h"
#include "proto/stun.h"
#include "tests/fuzz/fuzz.h"

/* RFC 5769's short-term password: the vectors' integrity then verifies. */
static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
#define KEYLEN (sizeof(key) - 1)

static const uint16_t types[] = {
	RV_SA_MAPPED_ADDRESS,
	RV_SA_RESPONSE_ADDRESS,
	RV_SA_CHANGE_REQUEST,
	RV_SA_SOURCE_ADDRESS,
	RV_SA_CHANGED_ADDRESS,
	RV_SA_USERNAME,
	RV_SA_MESSAGE_INTEGRITY,
	RV_SA_ERROR_CODE,
	RV_SA_UNKNOWN_ATTRIBUTES,
	RV_SA_REALM,
	RV_SA_NONCE,
	RV_SA_MESSAGE_INTEGRITY_SHA256,
	RV_SA_PASSWORD_ALGORITHM,
	RV_SA_USERHASH,
	RV_SA_XOR_MAPPED_ADDRESS,
	RV_SA_PADDING,
	RV_SA_RESPONSE_PORT,
	RV_SA_PASSWORD_ALGORITHMS,
	RV_SA_ALTERNATE_DOMAIN,
	RV_SA_SOFTWARE,
	RV_SA_ALTERNATE_SERVER,
	RV_SA_CACHE_TIMEOUT,
	RV_SA_FINGERPRINT,
	RV_SA_RESPONSE_ORIGIN,
	RV_SA_OTHER_ADDRESS,
	0x0024 /* PRIORITY: unknown */,
	0xC001,
};

/* CRC-32 bit by bit: independent of crc32.c's table. */
static uint32_t slow_crc(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= b[i];
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* Header and every indexed attribute again, in order. */
static int reencode(const struct rv_stun_msg *m, uint8_t *out, size_t cap)
{
	struct rv_stun_enc e;

	rv_stun_enc_init_id(&e, out, cap, m->method, (enum rv_stun_class)m->cls, m->buf + 4);
	for (unsigned i = 0; i < m->nattrs; i++)
		rv_stun_enc_attr(&e, m->attrs[i].type, rv_stun_value(m, &m->attrs[i]),
		                 m->attrs[i].len);
	return rv_stun_enc_finish(&e);
}

static void same_message(const struct rv_stun_msg *a, const struct rv_stun_msg *b)
{
	FZ_CHECK(a->method == b->method && a->cls == b->cls && a->classic == b->classic);
	FZ_CHECK(memcmp(a->buf + 4, b->buf + 4, 16) == 0);
	FZ_CHECK(a->nattrs == b->nattrs && a->nunknown == b->nunknown);
	FZ_CHECK(memcmp(a->slot, b->slot, sizeof(a->slot)) == 0);
	FZ_CHECK(!a->mi_off == !b->mi_off && !a->mi256_off == !b->mi256_off &&
	         !a->fp_off == !b->fp_off);
	for (unsigned i = 0; i < a->nunknown && i < RV_STUN_MAX_UNKNOWN; i++)
		FZ_CHECK(a->unknown[i] == b->unknown[i]);
	for (unsigned i = 0; i < a->nattrs; i++) {
		FZ_CHECK(a->attrs[i].type == b->attrs[i].type);
		FZ_CHECK(a->attrs[i].len == b->attrs[i].len);
		FZ_CHECK(memcmp(rv_stun_value(a, &a->attrs[i]), rv_stun_value(b, &b->attrs[i]),
		                a->attrs[i].len) == 0);
	}
}

/* Every reader; returns the pieces the answer is built from. */
struct seen {
	struct rv_addr addr[8];
	unsigned naddr;
	int code;
	char reason[800];
	uint16_t unknown[64];
	int nunknown;
};

static void read_all(const struct rv_stun_msg *m, struct seen *s)
{
	uint32_t flags;
	uint16_t port;
	const uint8_t *reason;
	size_t rlen;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct rv_stun_attr *a = rv_stun_find(m, types[i]);
		struct rv_addr ad;

		if (a) {
			FZ_CHECK(a->type == types[i]);
			FZ_CHECK(a->off + a->len <= m->len);
		}
		if (rv_stun_get_addr(m, types[i], &ad) == 0) {
			FZ_CHECK(rv_addr_iplen(&ad) != 0);
			if (s->naddr < 8)
				s->addr[s->naddr++] = ad;
		}
	}
	(void)rv_stun_get_change_request(m, &flags);
	(void)rv_stun_get_response_port(m, &port);
	if (rv_stun_get_error(m, &s->code, &reason, &rlen) == 0) {
		FZ_CHECK(s->code >= 300 && s->code <= 699);
		rlen = rlen < sizeof(s->reason) - 1 ? rlen : sizeof(s->reason) - 1;
		memcpy(s->reason, reason, rlen);
		s->reason[rlen] = 0;
	} else {
		s->code = 0;
	}
	s->nunknown = rv_stun_get_unknown_attributes(m, s->unknown, 64);
	(void)rv_stun_get_unknown_attributes(m, s->unknown, 1);
	FZ_CHECK(rv_stun_check_fingerprint(m) == rv_stun_check_fingerprint_with(m, slow_crc));
	(void)rv_stun_check_integrity(m, key, KEYLEN);
	(void)rv_stun_check_integrity_sha256(m, key, KEYLEN);
}

/* An answer built by every encoder must decode and verify. */
static void answer(const struct rv_stun_msg *req, const struct seen *s, uint8_t sel)
{
	static uint8_t out[RV_STUN_MAX_LEN];
	struct rv_stun_enc e;
	struct rv_stun_msg m;
	size_t mi256 = 16 + 4 * (sel >> 1 & 3);
	int n;

	rv_stun_enc_init_reply(&e, out, sizeof(out), req,
	                       s->code ? RV_STUN_ERROR : RV_STUN_SUCCESS);
	if (s->naddr > 0)
		rv_stun_enc_addr(&e, RV_SA_XOR_MAPPED_ADDRESS, &s->addr[0], true);
	if (s->naddr > 1)
		rv_stun_enc_addr(&e, RV_SA_OTHER_ADDRESS, &s->addr[s->naddr - 1], false);
	if (s->code)
		rv_stun_enc_error(&e, s->code, sel & 8 ? NULL : s->reason);
	if (s->nunknown > 0)
		rv_stun_enc_unknown(&e, s->unknown, (size_t)(s->nunknown < 64 ? s->nunknown : 64));
	rv_stun_enc_integrity(&e, key, KEYLEN);
	rv_stun_enc_integrity_sha256(&e, key, KEYLEN, mi256);
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	FZ_CHECK(n > 0);
	FZ_CHECK(rv_stun_decode(out, (size_t)n, RV_STUN_DEC_CLASSIC_OK, &m) == 0);
	FZ_CHECK(rv_stun_check_fingerprint(&m) == 0);
	FZ_CHECK(rv_stun_check_integrity(&m, key, KEYLEN) == 0);
	FZ_CHECK(rv_stun_check_integrity_sha256(&m, key, KEYLEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t re[RV_STUN_MAX_LEN], re2[RV_STUN_MAX_LEN];
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	unsigned flags = sel & 1 ? RV_STUN_DEC_CLASSIC_OK : 0;
	uint8_t *buf = fz_dup(f.p, f.n);
	struct rv_stun_msg m, m2, m3;
	struct seen s;
	int rc, n, n2;

	rc = rv_stun_decode(buf, f.n, flags, &m);
	FZ_CHECK(rc <= 0 && (rc == 0 || (rc >= RV_EBASE && rc < RV_ELAST)));
	if (rc == 0) {
		FZ_CHECK(rv_stun_is_stun(buf, f.n, flags != 0));
		read_all(&m, &s);
		n = reencode(&m, re, sizeof(re));
		FZ_CHECK(n > 0 && (size_t)n <= f.n);
		FZ_CHECK(rv_stun_decode(re, (size_t)n, flags, &m2) == 0);
		same_message(&m, &m2);
		n2 = reencode(&m2, re2, sizeof(re2));
		FZ_CHECK(n2 == n && memcmp(re, re2, (size_t)n) == 0);
		FZ_CHECK(rv_stun_decode(re2, (size_t)n2, flags, &m3) == 0);
		same_message(&m2, &m3);
		answer(&m, &s, sel);
	}
	free(buf);
	return 0;
}
