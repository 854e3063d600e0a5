/* fuzz_pdg.c — datagrams between peers (proto/pdg.c).
 *
 * Input: selector byte, then bytes.
 *   bit 0 clear: a datagram as it arrives, decoded under the attempt key
 *     (and peeked for its attempt ID). What decodes must encode back to
 *     the same bytes.
 *   bit 0 set: type, flags, TTL hint, attempt, seq, a byte to flip and a
 *     payload: what rv_pdg_encode accepts must decode to the same fields,
 *     and with any one bit flipped must not decode (the MAC covers it all).
 */
#include "proto/pdg.h"
#include "proto/rv_err.h"
#include "tests/fuzz/fuzz.h"

static const uint8_t key[16] = "fuzz-attempt-key";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[RV_PDG_MAX + 16];
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	struct rv_pdg d, e;
	int n;

	if (sel & 1) {
		size_t got;
		uint16_t flip;

		d.type = fz_u8(&f);
		d.flags = fz_u8(&f);
		d.ttl_hint = fz_u8(&f);
		d.attempt = fz_u64(&f);
		d.seq = fz_u32(&f);
		flip = fz_u16(&f);
		d.payload = fz_take(&f, f.n, &got);
		d.payload_len = (uint16_t)(got > 0xffff ? 0xffff : got);
		(void)rv_pdg_type_str(d.type);
		n = rv_pdg_encode(&d, key, out, (size_t)(sel >> 1) * 16);
		FZ_CHECK(n < 0 || n <= (sel >> 1) * 16);
		n = rv_pdg_encode(&d, key, out, sizeof(out));
		if (n < 0)
			return 0;
		FZ_CHECK(n == RV_PDG_MIN + d.payload_len);
		FZ_CHECK(rv_pdg_peek_attempt(out, (size_t)n) == d.attempt);
		FZ_CHECK(rv_pdg_decode(out, (size_t)n, key, &e) == 0);
		FZ_CHECK(e.type == d.type && e.flags == d.flags && e.ttl_hint == d.ttl_hint &&
		         e.attempt == d.attempt && e.seq == d.seq &&
		         e.payload_len == d.payload_len);
		FZ_CHECK(memcmp(e.payload, d.payload, d.payload_len) == 0);
		out[(flip >> 3) % n] ^= (uint8_t)(1u << (flip & 7));
		FZ_CHECK(rv_pdg_decode(out, (size_t)n, key, &e) < 0);
		return 0;
	}
	uint8_t *buf = fz_dup(f.p, f.n);
	(void)rv_pdg_peek_attempt(buf, f.n);
	if (rv_pdg_decode(buf, f.n, key, &d) == 0) {
		FZ_CHECK(d.payload + d.payload_len + RV_PDG_MAC == buf + f.n);
		n = rv_pdg_encode(&d, key, out, sizeof(out));
		FZ_CHECK(n == (int)f.n && memcmp(out, buf, f.n) == 0);
	}
	free(buf);
	return 0;
}
