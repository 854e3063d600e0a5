/* ticket.c — ticket codec, signatures, device proof (ticket.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "rv_buf.h"
#include "ticket.h"

static const char ticket_domain[] = "rv-ticket-v1"; /* signed with its NUL */
static const char auth_domain[] = "rv-auth-v1";

void rv_ticket_encode(const struct rv_ticket *t, uint8_t out[RV_TICKET_LEN])
{
	out[0] = t->version;
	out[1] = t->flags;
	out[2] = out[3] = 0;
	rv_put_u32(out + 4, t->key_id);
	memcpy(out + 8, t->locator, 16);
	rv_put_u32(out + 24, t->issued_s);
	rv_put_u32(out + 28, t->expires_s);
	memcpy(out + 32, t->holder, 32);
	memcpy(out + 64, t->sig, 64);
}

int rv_ticket_decode(const uint8_t *buf, size_t len, struct rv_ticket *t)
{
	if (len != RV_TICKET_LEN)
		return RV_ELEN;
	if (buf[0] != RV_TICKET_VERSION)
		return RV_EVERSION;
	if (buf[2] || buf[3])
		return RV_EATTR;
	t->version = buf[0];
	t->flags = buf[1];
	t->key_id = rv_get_u32(buf + 4);
	memcpy(t->locator, buf + 8, 16);
	t->issued_s = rv_get_u32(buf + 24);
	t->expires_s = rv_get_u32(buf + 28);
	memcpy(t->holder, buf + 32, 32);
	memcpy(t->sig, buf + 64, 64);
	return t->expires_s > t->issued_s ? 0 : RV_EATTR;
}

/* domain || body: what the signature covers. */
static size_t signed_bytes(const struct rv_ticket *t, uint8_t out[sizeof(ticket_domain) + 64])
{
	uint8_t enc[RV_TICKET_LEN];

	rv_ticket_encode(t, enc);
	memcpy(out, ticket_domain, sizeof(ticket_domain));
	memcpy(out + sizeof(ticket_domain), enc, RV_TICKET_BODY);
	return sizeof(ticket_domain) + RV_TICKET_BODY;
}

void rv_ticket_sign(struct rv_ticket *t, const uint8_t sk[RV_SIGN_SK_LEN])
{
	uint8_t msg[sizeof(ticket_domain) + RV_TICKET_BODY];
	size_t n = signed_bytes(t, msg);

	crypto_sign_detached(t->sig, NULL, msg, n, sk);
}

int rv_ticket_verify(const struct rv_ticket *t, const uint8_t pk[RV_SIGN_PK_LEN], uint32_t now_s,
                     uint32_t skew_s)
{
	uint8_t msg[sizeof(ticket_domain) + RV_TICKET_BODY];
	size_t n = signed_bytes(t, msg);

	if (crypto_sign_verify_detached(t->sig, msg, n, pk) != 0)
		return RV_ESIGNATURE;
	/* 64-bit sums: no wrap near the end of the 32-bit epoch. */
	if ((uint64_t)t->issued_s > (uint64_t)now_s + skew_s)
		return RV_EEXPIRED;
	if ((uint64_t)now_s >= (uint64_t)t->expires_s + skew_s)
		return RV_EEXPIRED;
	return 0;
}

#define PROOF_MAX (sizeof(auth_domain) + 32 + 32 + 64)

static size_t proof_bytes(const uint8_t nonce[32], const uint8_t holder[32],
                          const uint8_t *device_id, size_t id_len, uint8_t out[PROOF_MAX])
{
	memcpy(out, auth_domain, sizeof(auth_domain));
	memcpy(out + sizeof(auth_domain), nonce, 32);
	memcpy(out + sizeof(auth_domain) + 32, holder, 32);
	memcpy(out + sizeof(auth_domain) + 64, device_id, id_len);
	return sizeof(auth_domain) + 64 + id_len;
}

int rv_auth_proof_sign(const uint8_t sk[RV_SIGN_SK_LEN], const uint8_t nonce[32],
                       const uint8_t holder[32], const uint8_t *device_id, size_t id_len,
                       uint8_t sig[64])
{
	uint8_t msg[PROOF_MAX];

	if (id_len > 64)
		return RV_ERANGE;
	crypto_sign_detached(sig, NULL, msg, proof_bytes(nonce, holder, device_id, id_len, msg),
	                     sk);
	return 0;
}

int rv_auth_proof_verify(const uint8_t pk[RV_SIGN_PK_LEN], const uint8_t nonce[32],
                         const uint8_t holder[32], const uint8_t *device_id, size_t id_len,
                         const uint8_t sig[64])
{
	uint8_t msg[PROOF_MAX];
	size_t n;

	if (id_len > 64)
		return RV_ESIGNATURE;
	n = proof_bytes(nonce, holder, device_id, id_len, msg);
	return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? 0 : RV_ESIGNATURE;
}

void rv_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rv_hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
