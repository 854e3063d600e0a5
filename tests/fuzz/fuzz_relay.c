/* fuzz_relay.c — ChannelData framing and the relay's per-datagram quota
 * (proto/relay.c).
 *
 * Input: selector byte, a 16-bit-length datagram for rv_relay_parse, then
 * a quota (expiry offset, bytes, rate, burst) and a sequence of charges
 * (time step, data length, the other side's byte count). Properties: a
 * parsed header is within the datagram and writes back the same; each
 * charge is counted once (packets + dropped); a passed datagram stays
 * within the byte quota and never before the expiry; the bucket never
 * holds more than its burst, and refills to it after a long enough pause.
 */
#include "proto/relay.h"
#include "proto/rv_err.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	size_t got;
	const uint8_t *p = fz_chunk(&f, &got);
	uint8_t *buf = fz_dup(p, got), hdr[RV_RELAY_HDR];
	uint16_t ch, n;
	struct rv_relay_quota q;
	struct rv_relay_use u;
	uint64_t now, calls = 0;

	(void)rv_relay_is_chdata(buf, got);
	if (rv_relay_parse(buf, got, &ch, &n) == 0) {
		FZ_CHECK(ch >= RV_RELAY_CH_MIN && ch <= RV_RELAY_CH_MAX);
		FZ_CHECK(RV_RELAY_HDR + (size_t)n <= got && got <= RV_RELAY_HDR + (size_t)n + 3);
		rv_relay_put_hdr(hdr, ch, n);
		FZ_CHECK(memcmp(hdr, buf, RV_RELAY_HDR) == 0);
		FZ_CHECK(rv_relay_is_chdata(buf, got));
	}
	free(buf);

	now = fz_u64(&f);
	if (sel & 1)
		now &= 0xffffffffffull; /* the fuzzer also gets clocks near zero */
	q.expires_ms = sel & 2 ? 0 : now + fz_u32(&f);
	q.bytes = sel & 4 ? fz_u64(&f) : fz_u32(&f);
	q.rate_pps = sel & 8 ? fz_u32(&f) : fz_u16(&f);
	q.burst = sel & 16 ? fz_u32(&f) : fz_u8(&f);
	rv_relay_use_init(&u, &q, now);
	while (f.n) {
		uint64_t step = sel & 32 ? fz_u64(&f) : fz_u16(&f);
		uint32_t len = sel & 64 ? fz_u32(&f) : fz_u16(&f);
		uint64_t other = sel & 128 ? fz_u64(&f) : fz_u32(&f);
		uint64_t cap = (uint64_t)(q.burst ? q.burst : 1) * 1000;
		uint64_t before = u.bytes, last = u.last_ms;
		enum rv_relay_verdict v;

		if (step > UINT64_MAX - now)
			break;
		now += step;
		v = rv_relay_charge(&q, &u, other, now, len);
		calls++;
		FZ_CHECK(u.packets + u.dropped == calls);
		FZ_CHECK(strlen(rv_relay_verdict_str(v)) > 1);
		if (v == RV_RELAY_PASS) {
			FZ_CHECK(!q.expires_ms || now < q.expires_ms);
			FZ_CHECK(u.bytes == before + len);
			if (q.bytes)
				FZ_CHECK(other <= q.bytes && u.bytes <= q.bytes - other);
			FZ_CHECK(u.seen_ms == now);
		} else {
			FZ_CHECK(u.bytes == before);
		}
		if (q.rate_pps) {
			FZ_CHECK(u.tokens_milli <= cap);
			/* A pause long enough for a full bucket fills it (minus
			 * this datagram, if it passed). */
			if (v != RV_RELAY_EXPIRED && v != RV_RELAY_OVER_BYTES && now > last &&
			    (now - last) >= (cap + q.rate_pps - 1) / q.rate_pps)
				FZ_CHECK(u.tokens_milli == (v == RV_RELAY_PASS ? cap - 1000 : cap));
		}
	}
	return 0;
}
