/* keys.c — X25519 root and key derivation (keys.h). */
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "rv_buf.h"
#include "rv_err.h"

void rv_kx_keypair(uint8_t pk[RV_KX_LEN], uint8_t sk[RV_KX_LEN])
{
	randombytes_buf(sk, RV_KX_LEN);
	crypto_scalarmult_base(pk, sk);
}

void rv_kx_public(const uint8_t sk[RV_KX_LEN], uint8_t pk[RV_KX_LEN])
{
	crypto_scalarmult_base(pk, sk);
}

int rv_kx_root(const uint8_t own_sk[RV_KX_LEN], const uint8_t other_pk[RV_KX_LEN],
               const uint8_t holder_pk[RV_KX_LEN], const uint8_t locator_pk[RV_KX_LEN],
               uint8_t root[RV_ROOT_LEN])
{
	static const uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = "rv-root-v1";
	uint8_t in[3 * RV_KX_LEN];
	int rc;

	/* libsodium refuses an all-zero result (a low-order peer key). */
	if (crypto_scalarmult(in, own_sk, other_pk) != 0)
		return RV_ESIGNATURE;
	memcpy(in + RV_KX_LEN, holder_pk, RV_KX_LEN);
	memcpy(in + 2 * RV_KX_LEN, locator_pk, RV_KX_LEN);
	rc = crypto_generichash_blake2b_salt_personal(root, RV_ROOT_LEN, in, sizeof(in), NULL, 0,
	                                              NULL, personal);
	sodium_memzero(in, sizeof(in));
	return rc == 0 ? 0 : RV_ESIGNATURE;
}

/* BLAKE2b keyed with key over label || NUL || id (big-endian). */
static void kdf(const uint8_t *key, size_t keylen, const char *label, uint64_t id, uint8_t *out,
                size_t outlen)
{
	crypto_generichash_state st;
	uint8_t s[8];

	rv_put_u64(s, id);
	crypto_generichash_init(&st, key, keylen, outlen);
	/* The label's NUL ends it, so "ab"+"c..." never equals "a"+"bc...". */
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label) + 1);
	crypto_generichash_update(&st, s, sizeof(s));
	crypto_generichash_final(&st, out, outlen);
}

void rv_kdf(const uint8_t root[RV_ROOT_LEN], const char *label, uint64_t session, uint8_t *out,
            size_t outlen)
{
	kdf(root, RV_ROOT_LEN, label, session, out, outlen);
}

void rv_relay_key(const uint8_t attempt_key[16], uint64_t relay, uint8_t out[16])
{
	kdf(attempt_key, 16, "relay", relay, out, 16);
}

void rv_key_wrap(const uint8_t msg_key[RV_ROOT_LEN], uint64_t attempt, const uint8_t in[16],
                 uint8_t out[16])
{
	uint8_t mask[16];

	rv_kdf(msg_key, "attempt", attempt, mask, sizeof(mask));
	for (int i = 0; i < 16; i++)
		out[i] = in[i] ^ mask[i];
}
