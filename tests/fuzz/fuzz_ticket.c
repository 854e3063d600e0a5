/* fuzz_ticket.c — tickets and device proofs (proto/ticket.c).
 *
 * Input: selector byte, then bytes: a ticket (decoded; what decodes must
 * encode to the very bytes, and is verified against the vectors' signing
 * key at a fuzzed time and skew), a device proof checked over a fuzzed
 * device ID of any length, and a hex string (what rv_hex_decode accepts
 * re-encodes to the same digits, lower-cased).
 */
#include <ctype.h>

#include "proto/rv_err.h"
#include "proto/ticket.h"
#include "tests/fuzz/fuzz.h"

/* tests/vectors/ticket/signing-pk.hex: Ed25519 for seed 00 01 .. 1f. */
static const uint8_t pk[32] = { 0x03, 0xa1, 0x07, 0xbf, 0xf3, 0xce, 0x10, 0xbe, 0x1d, 0x70, 0xdd,
	                        0x18, 0xe7, 0x4b, 0xc0, 0x99, 0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5,
	                        0x0d, 0x5f, 0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f), enc[RV_TICKET_LEN], out[64], nonce[32], holder[32], sig[64];
	uint32_t now = fz_u32(&f), skew = fz_u32(&f);
	size_t got, id_len;
	const uint8_t *p = fz_take(&f, sel & 1 ? RV_TICKET_LEN : fz_u8(&f), &got);
	uint8_t *buf = fz_dup(p, got);
	struct rv_ticket t;
	char *hex, back[2 * sizeof(out) + 1];

	if (rv_ticket_decode(buf, got, &t) == 0) {
		FZ_CHECK(got == RV_TICKET_LEN && t.expires_s > t.issued_s);
		rv_ticket_encode(&t, enc);
		FZ_CHECK(memcmp(enc, buf, RV_TICKET_LEN) == 0);
		if (sel & 2) {
			int rc = rv_ticket_verify(&t, pk, now, skew);
			FZ_CHECK(rc == 0 || rc == RV_ESIGNATURE || rc == RV_EEXPIRED);
		}
	}
	free(buf);

	p = fz_take(&f, 32, &got);
	memset(nonce, 0, 32);
	memcpy(nonce, p, got);
	p = fz_take(&f, 32, &got);
	memset(holder, 0, 32);
	memcpy(holder, p, got);
	p = fz_take(&f, 64, &got);
	memset(sig, 0, 64);
	memcpy(sig, p, got);
	p = fz_take(&f, fz_u8(&f), &id_len);
	if (sel & 4)
		FZ_CHECK(rv_auth_proof_verify(pk, nonce, holder, p, id_len, sig) == RV_ESIGNATURE ||
		         id_len <= 64);

	/* The rest as a hex string of the length it implies. */
	hex = malloc(f.n + 1);
	if (!hex)
		abort();
	memcpy(hex, f.p, f.n);
	hex[f.n] = 0;
	size_t want = strlen(hex) / 2;
	if (want <= sizeof(out) && rv_hex_decode(hex, out, want) == 0) {
		rv_hex_encode(out, want, back);
		for (size_t i = 0; i < 2 * want; i++)
			FZ_CHECK(back[i] == tolower((unsigned char)hex[i]));
	}
	free(hex);
	return 0;
}
