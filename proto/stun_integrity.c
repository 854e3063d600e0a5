/* stun_integrity.c — FINGERPRINT, MESSAGE-INTEGRITY(-SHA256), long-term keys.
 *
 * The HMACs (RFC 8489 §14.5, §14.6) cover the message up to the integrity
 * attribute, with the header's length field rewritten to end just after
 * that attribute — so any attribute allowed to follow (MI-SHA256,
 * FINGERPRINT) can be added afterwards without invalidating it.
 */
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>

#include "stun.h"

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* The header with its length field covering up to `end`. */
static void header_upto(const uint8_t *msg, size_t end, uint8_t hdr[RV_STUN_HDR_LEN])
{
	memcpy(hdr, msg, RV_STUN_HDR_LEN);
	rv_put_u16(hdr + 2, (uint16_t)(end - RV_STUN_HDR_LEN));
}

static void hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t attr_off,
                      size_t end, uint8_t out[SHA1_DIGEST_SIZE])
{
	struct hmac_sha1_ctx ctx;
	uint8_t hdr[RV_STUN_HDR_LEN];

	header_upto(msg, end, hdr);
	hmac_sha1_set_key(&ctx, keylen, key);
	hmac_sha1_update(&ctx, sizeof(hdr), hdr);
	hmac_sha1_update(&ctx, attr_off - RV_STUN_HDR_LEN, msg + RV_STUN_HDR_LEN);
	hmac_sha1_digest(&ctx, SHA1_DIGEST_SIZE, out);
}

static void hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t attr_off,
                        size_t end, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx ctx;
	uint8_t hdr[RV_STUN_HDR_LEN];

	header_upto(msg, end, hdr);
	hmac_sha256_set_key(&ctx, keylen, key);
	hmac_sha256_update(&ctx, sizeof(hdr), hdr);
	hmac_sha256_update(&ctx, attr_off - RV_STUN_HDR_LEN, msg + RV_STUN_HDR_LEN);
	hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

int rv_stun_check_fingerprint_with(const struct rv_stun_msg *m,
                                   uint32_t (*crc)(const void *p, size_t n))
{
	uint32_t want;

	if (!m->fp_off)
		return RV_EMISSING;
	/* FINGERPRINT is last (the decoder enforces it), so the length field
	 * already ends with it. */
	want = crc(m->buf, m->fp_off) ^ RV_STUN_FP_XOR;
	return rv_get_u32(m->buf + m->fp_off + 4) == want ? 0 : RV_EFINGERPRINT;
}

static uint32_t table_crc(const void *p, size_t n)
{
	return rv_crc32(0, p, n);
}

int rv_stun_check_fingerprint(const struct rv_stun_msg *m)
{
	return rv_stun_check_fingerprint_with(m, table_crc);
}

int rv_stun_check_integrity(const struct rv_stun_msg *m, const uint8_t *key, size_t keylen)
{
	uint8_t mac[SHA1_DIGEST_SIZE];

	if (!m->mi_off)
		return RV_ENOINTEGRITY;
	hmac_sha1(key, keylen, m->buf, m->mi_off, m->mi_off + 4 + RV_STUN_MI_LEN, mac);
	return ct_equal(mac, m->buf + m->mi_off + 4, RV_STUN_MI_LEN) ? 0 : RV_EINTEGRITY;
}

int rv_stun_check_integrity_sha256(const struct rv_stun_msg *m, const uint8_t *key, size_t keylen)
{
	uint8_t mac[SHA256_DIGEST_SIZE];
	size_t len;

	if (!m->mi256_off)
		return RV_ENOINTEGRITY;
	len = rv_get_u16(m->buf + m->mi256_off + 2);
	hmac_sha256(key, keylen, m->buf, m->mi256_off, m->mi256_off + 4 + len, mac);
	return ct_equal(mac, m->buf + m->mi256_off + 4, len) ? 0 : RV_EINTEGRITY;
}

void rv_stun_longterm_key_md5(const char *user, const char *realm, const char *pass,
                              uint8_t out[16])
{
	struct md5_ctx ctx;

	md5_init(&ctx);
	md5_update(&ctx, strlen(user), (const uint8_t *)user);
	md5_update(&ctx, 1, (const uint8_t *)":");
	md5_update(&ctx, strlen(realm), (const uint8_t *)realm);
	md5_update(&ctx, 1, (const uint8_t *)":");
	md5_update(&ctx, strlen(pass), (const uint8_t *)pass);
	md5_digest(&ctx, MD5_DIGEST_SIZE, out);
}

void rv_stun_longterm_key_sha256(const char *user, const char *realm, const char *pass,
                                 uint8_t out[32])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, strlen(user), (const uint8_t *)user);
	sha256_update(&ctx, 1, (const uint8_t *)":");
	sha256_update(&ctx, strlen(realm), (const uint8_t *)realm);
	sha256_update(&ctx, 1, (const uint8_t *)":");
	sha256_update(&ctx, strlen(pass), (const uint8_t *)pass);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

void rv_stun_enc_integrity(struct rv_stun_enc *e, const uint8_t *key, size_t keylen)
{
	size_t at = e->w.off;
	uint8_t *q = rv_stun_enc_attr_reserve(e, RV_SA_MESSAGE_INTEGRITY, RV_STUN_MI_LEN);

	if (q)
		hmac_sha1(key, keylen, e->w.p, at, e->w.off, q);
}

void rv_stun_enc_integrity_sha256(struct rv_stun_enc *e, const uint8_t *key, size_t keylen,
                                  size_t len)
{
	uint8_t mac[SHA256_DIGEST_SIZE];
	size_t at = e->w.off;
	uint8_t *q;

	if (len < 16 || len > 32 || (len & 3)) {
		e->w.err = e->w.err ? e->w.err : RV_ERANGE;
		return;
	}
	q = rv_stun_enc_attr_reserve(e, RV_SA_MESSAGE_INTEGRITY_SHA256, len);
	if (!q)
		return;
	hmac_sha256(key, keylen, e->w.p, at, e->w.off, mac);
	memcpy(q, mac, len);
}

void rv_stun_enc_fingerprint(struct rv_stun_enc *e)
{
	size_t at = e->w.off;
	uint8_t *q = rv_stun_enc_attr_reserve(e, RV_SA_FINGERPRINT, 4);

	if (q)
		rv_put_u32(q, rv_crc32(0, e->w.p, at) ^ RV_STUN_FP_XOR);
}
