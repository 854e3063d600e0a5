/* Key agreement: both sides reach the same root and keys; anything else
 * reaches a different one. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "proto/keys.h"
#include "proto/rv_err.h"

Test(keys, holder_and_locator_derive_the_same_root_and_keys)
{
	uint8_t hpk[32], hsk[32], lpk[32], lsk[32], r1[32], r2[32], k1[32], k2[32];

	cr_assert_eq(sodium_init() >= 0, 1);
	rv_kx_keypair(hpk, hsk);
	rv_kx_keypair(lpk, lsk);
	cr_assert_eq(rv_kx_root(hsk, lpk, hpk, lpk, r1), 0);
	cr_assert_eq(rv_kx_root(lsk, hpk, hpk, lpk, r2), 0);
	cr_assert_arr_eq(r1, r2, 32);
	rv_kdf(r1, "probe", 7, k1, 16);
	rv_kdf(r2, "probe", 7, k2, 16);
	cr_assert_arr_eq(k1, k2, 16);
	uint8_t pk[32];
	rv_kx_public(hsk, pk);
	cr_assert_arr_eq(pk, hpk, 32);
}

Test(keys, labels_sessions_and_lengths_separate_keys)
{
	uint8_t root[32], a[32], b[32];

	memset(root, 9, 32);
	rv_kdf(root, "probe", 1, a, 32);
	rv_kdf(root, "probe", 2, b, 32);
	cr_assert_neq(memcmp(a, b, 32), 0, "session");
	rv_kdf(root, "message", 1, b, 32);
	cr_assert_neq(memcmp(a, b, 32), 0, "label");
	rv_kdf(root, "probe", 1, b, 16);
	cr_assert_neq(memcmp(a, b, 16), 0, "BLAKE2b's output length is part of the hash");
	rv_kdf(root, "probe", 1, b, 32);
	cr_assert_arr_eq(a, b, 32, "deterministic");
}

Test(keys, a_third_party_or_swapped_roles_get_another_root)
{
	uint8_t hpk[32], hsk[32], lpk[32], lsk[32], xpk[32], xsk[32], r1[32], r2[32];

	rv_kx_keypair(hpk, hsk);
	rv_kx_keypair(lpk, lsk);
	rv_kx_keypair(xpk, xsk);
	cr_assert_eq(rv_kx_root(hsk, lpk, hpk, lpk, r1), 0);
	cr_assert_eq(rv_kx_root(xsk, lpk, hpk, lpk, r2), 0, "attacker with the ticket only");
	cr_assert_neq(memcmp(r1, r2, 32), 0);
	cr_assert_eq(rv_kx_root(lsk, hpk, lpk, hpk, r2), 0, "order of the public keys matters");
	cr_assert_neq(memcmp(r1, r2, 32), 0);
}

Test(keys, low_order_peer_key_is_refused)
{
	uint8_t sk[32], zero[32] = { 0 }, root[32], pk[32];

	rv_kx_keypair(pk, sk);
	cr_assert_eq(rv_kx_root(sk, zero, pk, zero, root), RV_ESIGNATURE);
}

Test(keys, attempt_key_wrap_is_its_own_inverse_and_depends_on_key_and_attempt)
{
	uint8_t mk[32], other[32], key[16], w[16], back[16], w2[16];

	memset(mk, 1, 32);
	memset(other, 2, 32);
	memset(key, 0x5a, 16);
	rv_key_wrap(mk, 9, key, w);
	cr_assert_neq(memcmp(w, key, 16), 0, "masked on the wire");
	rv_key_wrap(mk, 9, w, back);
	cr_assert_arr_eq(back, key, 16);
	rv_key_wrap(other, 9, key, w2);
	cr_assert_neq(memcmp(w, w2, 16), 0, "another peer's mask differs");
	rv_key_wrap(mk, 10, key, w2);
	cr_assert_neq(memcmp(w, w2, 16), 0, "another attempt's mask differs");
}

Test(keys, a_relay_key_depends_on_the_attempt_key_and_the_relay_and_is_not_the_attempt_key)
{
	uint8_t ak[16], ak2[16], r1[16], r1b[16], r2[16], r3[16];

	memset(ak, 0x21, sizeof(ak));
	memset(ak2, 0x21, sizeof(ak2));
	ak2[15] ^= 1;
	rv_relay_key(ak, 1, r1);
	rv_relay_key(ak, 1, r1b);
	rv_relay_key(ak, 2, r2);
	rv_relay_key(ak2, 1, r3);
	cr_assert_arr_eq(r1, r1b, 16, "deterministic: both peers and the server agree");
	cr_assert(memcmp(r1, r2, 16) != 0);
	cr_assert(memcmp(r1, r3, 16) != 0);
	cr_assert(memcmp(r1, ak, 16) != 0);
}
