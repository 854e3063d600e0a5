/* Tickets and device proofs: format pinned by vectors signed with PyNaCl,
 * tampering, wrong keys, and the validity window at its boundaries. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "proto/ticket.h"
#include "tests/unit/testutil.h"

static uint8_t pk[32], sk[64];

static void keys(void)
{
	uint8_t seed[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

static struct rv_ticket sample(void)
{
	struct rv_ticket t = { .version = RV_TICKET_VERSION,
		               .key_id = 7,
		               .issued_s = 1795000000,
		               .expires_s = 1795003600 };

	memcpy(t.locator, "LOCATOR-16-BYTES", 16);
	for (int i = 0; i < 32; i++)
		t.holder[i] = (uint8_t)(0x40 + i);
	return t;
}

Test(ticket, matches_the_vector_signed_by_an_independent_implementation)
{
	uint8_t want[RV_TICKET_LEN], got[RV_TICKET_LEN], vpk[32];
	struct rv_ticket t = sample(), d;

	keys();
	cr_assert_eq(rv_test_load_hex("tests/vectors/ticket/signing-pk.hex", vpk, 32), 32);
	cr_assert_arr_eq(vpk, pk, 32);
	cr_assert_eq(rv_test_load_hex("tests/vectors/ticket/golden-ticket.hex", want, sizeof(want)),
	             RV_TICKET_LEN);
	rv_ticket_sign(&t, sk);
	rv_ticket_encode(&t, got);
	cr_assert_arr_eq(got, want, RV_TICKET_LEN);
	cr_assert_eq(rv_ticket_decode(want, RV_TICKET_LEN, &d), 0);
	cr_assert_eq(d.key_id, 7);
	cr_assert_eq(d.expires_s, 1795003600);
	cr_assert_eq(rv_ticket_verify(&d, pk, 1795000001, 0), 0);
}

Test(ticket, any_tampered_byte_is_refused)
{
	uint8_t buf[RV_TICKET_LEN];
	struct rv_ticket t = sample(), d;

	keys();
	rv_ticket_sign(&t, sk);
	rv_ticket_encode(&t, buf);
	for (int i = 0; i < RV_TICKET_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			int rc = rv_ticket_decode(buf, sizeof(buf), &d);
			if (rc == 0)
				rc = rv_ticket_verify(&d, pk, 1795000001, 0);
			cr_assert_lt(rc, 0, "byte %d bit %d accepted", i, bit);
			buf[i] ^= (uint8_t)(1 << bit);
		}
}

Test(ticket, another_signing_key_is_refused)
{
	uint8_t pk2[32], sk2[64];
	struct rv_ticket t = sample();

	keys();
	crypto_sign_keypair(pk2, sk2);
	rv_ticket_sign(&t, sk2);
	cr_assert_eq(rv_ticket_verify(&t, pk, 1795000001, 0), RV_ESIGNATURE);
	cr_assert_eq(rv_ticket_verify(&t, pk2, 1795000001, 0), 0);
}

struct window_case {
	int64_t now_minus_issued;
	uint32_t skew;
	int want;
};

/* issued 1795000000, expires one hour later. */
ParameterizedTestParameters(ticket, validity_window_boundaries)
{
	static struct window_case c[] = {
		{ 0, 0, 0 },
		{ 3599, 0, 0 },
		{ 3600, 0, RV_EEXPIRED },
		{ -1, 0, RV_EEXPIRED },
		{ -30, 30, 0 },
		{ -31, 30, RV_EEXPIRED },
		{ 3629, 30, 0 },
		{ 3630, 30, RV_EEXPIRED },
		{ 100000, 300, RV_EEXPIRED },
	};
	return cr_make_param_array(struct window_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct window_case *c, ticket, validity_window_boundaries)
{
	struct rv_ticket t = sample();

	keys();
	rv_ticket_sign(&t, sk);
	cr_assert_eq(
	        rv_ticket_verify(&t, pk, (uint32_t)(1795000000 + c->now_minus_issued), c->skew),
	        c->want, "now = issued %+lld, skew %u", (long long)c->now_minus_issued, c->skew);
}

Test(ticket, window_math_does_not_wrap_at_the_end_of_the_epoch)
{
	struct rv_ticket t = sample();

	keys();
	t.issued_s = 0xfffffff0u;
	t.expires_s = 0xffffffffu;
	rv_ticket_sign(&t, sk);
	cr_assert_eq(rv_ticket_verify(&t, pk, 0xfffffff5u, 0x100), 0);
	cr_assert_eq(rv_ticket_verify(&t, pk, 5, 0x100), RV_EEXPIRED);
}

Test(ticket, decode_refuses_bad_length_version_and_window)
{
	uint8_t buf[RV_TICKET_LEN + 1];
	struct rv_ticket t = sample(), d;

	keys();
	rv_ticket_sign(&t, sk);
	rv_ticket_encode(&t, buf);
	cr_assert_eq(rv_ticket_decode(buf, RV_TICKET_LEN - 1, &d), RV_ELEN);
	cr_assert_eq(rv_ticket_decode(buf, RV_TICKET_LEN + 1, &d), RV_ELEN);
	buf[0] = 2;
	cr_assert_eq(rv_ticket_decode(buf, RV_TICKET_LEN, &d), RV_EVERSION);
	buf[0] = 1;
	buf[3] = 1;
	cr_assert_eq(rv_ticket_decode(buf, RV_TICKET_LEN, &d), RV_EATTR);
	buf[3] = 0;
	t.expires_s = t.issued_s;
	rv_ticket_encode(&t, buf);
	cr_assert_eq(rv_ticket_decode(buf, RV_TICKET_LEN, &d), RV_EATTR);
}

Test(auth_proof, matches_the_independent_vector_and_binds_every_input)
{
	uint8_t nonce[32], holder[32], sig[64], want[64];
	const uint8_t dev[] = "SN-0042-ABCDE";

	keys();
	memset(nonce, 0xa5, 32);
	for (int i = 0; i < 32; i++)
		holder[i] = (uint8_t)(0x40 + i);
	cr_assert_eq(rv_test_load_hex("tests/vectors/ticket/golden-proof.hex", want, 64), 64);
	cr_assert_eq(rv_auth_proof_sign(sk, nonce, holder, dev, 13, sig), 0);
	cr_assert_arr_eq(sig, want, 64);
	cr_assert_eq(rv_auth_proof_verify(pk, nonce, holder, dev, 13, sig), 0);
	nonce[0] ^= 1;
	cr_assert_eq(rv_auth_proof_verify(pk, nonce, holder, dev, 13, sig), RV_ESIGNATURE);
	nonce[0] ^= 1;
	holder[31] ^= 1;
	cr_assert_eq(rv_auth_proof_verify(pk, nonce, holder, dev, 13, sig), RV_ESIGNATURE);
	holder[31] ^= 1;
	cr_assert_eq(rv_auth_proof_verify(pk, nonce, holder, dev, 12, sig), RV_ESIGNATURE);
	cr_assert_eq(
	        rv_auth_proof_verify(pk, nonce, holder, (const uint8_t *)"SN-0042-ABCDF", 13, sig),
	        RV_ESIGNATURE);
	uint8_t long_id[65] = { 0 };
	cr_assert_eq(rv_auth_proof_sign(sk, nonce, holder, long_id, 65, sig), RV_ERANGE);
	cr_assert_eq(rv_auth_proof_verify(pk, nonce, holder, long_id, 65, sig), RV_ESIGNATURE);
}

Test(hex, round_trips_and_refuses_bad_input)
{
	const uint8_t in[4] = { 0x00, 0xab, 0x7f, 0xff };
	uint8_t out[4];
	char s[9];

	rv_hex_encode(in, 4, s);
	cr_assert_str_eq(s, "00ab7fff");
	cr_assert_eq(rv_hex_decode("00AB7fff", out, 4), 0);
	cr_assert_arr_eq(out, in, 4);
	cr_assert_eq(rv_hex_decode("00ab7ff", out, 4), -EINVAL);
	cr_assert_eq(rv_hex_decode("00ab7fffx", out, 4), -EINVAL);
	cr_assert_eq(rv_hex_decode("00ag7fff", out, 4), -EINVAL);
}
