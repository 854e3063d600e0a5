/* relay.c — ChannelData framing and the per-packet quota (relay.h). */
#include "relay.h"

#include "rv_buf.h"
#include "rv_err.h"

int rv_relay_parse(const uint8_t *p, size_t len, uint16_t *channel, uint16_t *data_len)
{
	uint16_t ch, n;

	if (len < RV_RELAY_HDR)
		return RV_ETRUNC;
	ch = rv_get_u16(p);
	n = rv_get_u16(p + 2);
	if (ch < RV_RELAY_CH_MIN || ch > RV_RELAY_CH_MAX)
		return RV_ERANGE;
	if (len - RV_RELAY_HDR < n)
		return RV_ETRUNC;
	if (len - RV_RELAY_HDR - n > 3)
		return RV_ELEN;
	*channel = ch;
	*data_len = n;
	return 0;
}

void rv_relay_put_hdr(uint8_t *p, uint16_t channel, uint16_t data_len)
{
	rv_put_u16(p, channel);
	rv_put_u16(p + 2, data_len);
}

void rv_relay_use_init(struct rv_relay_use *u, const struct rv_relay_quota *q, uint64_t now_ms)
{
	*u = (struct rv_relay_use){ .tokens_milli = (uint64_t)q->burst * 1000,
		                    .last_ms = now_ms,
		                    .seen_ms = now_ms };
}

static bool rate_ok(const struct rv_relay_quota *q, struct rv_relay_use *u, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)(q->burst ? q->burst : 1) * 1000;

	if (!q->rate_pps)
		return true;
	if (now_ms > u->last_ms) {
		/* rate_pps datagrams per 1000 ms = rate_pps thousandths per ms.
		 * Compared by division: (now - last) * rate_pps wraps 64 bits
		 * after a long enough pause at a high enough rate. */
		uint64_t dt = now_ms - u->last_ms;
		uint64_t room = u->tokens_milli < cap ? cap - u->tokens_milli : 0;
		u->tokens_milli =
		        dt > room / q->rate_pps ? cap : u->tokens_milli + dt * q->rate_pps;
		u->last_ms = now_ms;
	}
	if (u->tokens_milli < 1000)
		return false;
	u->tokens_milli -= 1000;
	return true;
}

/* len more bytes fit in quota after used + other, without overflow. */
static bool bytes_left(uint64_t quota, uint64_t used, uint64_t other, uint32_t len)
{
	if (other >= quota || used >= quota - other)
		return false;
	return len <= quota - other - used;
}

enum rv_relay_verdict rv_relay_charge(const struct rv_relay_quota *q, struct rv_relay_use *u,
                                      uint64_t other_bytes, uint64_t now_ms, uint32_t len)
{
	enum rv_relay_verdict v = RV_RELAY_PASS;

	if (q->expires_ms && now_ms >= q->expires_ms)
		v = RV_RELAY_EXPIRED;
	else if (q->bytes && !bytes_left(q->bytes, u->bytes, other_bytes, len))
		v = RV_RELAY_OVER_BYTES;
	else if (!rate_ok(q, u, now_ms))
		v = RV_RELAY_OVER_RATE;
	if (v != RV_RELAY_PASS) {
		u->dropped++;
		return v;
	}
	u->packets++;
	u->bytes += len;
	u->seen_ms = now_ms;
	return RV_RELAY_PASS;
}

const char *rv_relay_verdict_str(enum rv_relay_verdict v)
{
	switch (v) {
	case RV_RELAY_PASS:
		return "pass";
	case RV_RELAY_EXPIRED:
		return "expired";
	case RV_RELAY_OVER_BYTES:
		return "over-bytes";
	case RV_RELAY_OVER_RATE:
		return "over-rate";
	}
	return "?";
}
