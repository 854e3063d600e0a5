/* pdg.c — peer datagram codec (pdg.h). */
#include <string.h>

#include <sodium.h>

#include "pdg.h"
#include "rv_buf.h"

static void mac(const uint8_t key[16], const uint8_t *p, size_t n, uint8_t out[8])
{
	crypto_shorthash_siphash24(out, p, n, key);
}

int rv_pdg_encode(const struct rv_pdg *d, const uint8_t key[16], uint8_t *buf, size_t cap)
{
	size_t n = RV_PDG_MIN + d->payload_len;

	if (d->type == 0 || d->type >= RV_PDG_TYPE_COUNT || d->payload_len > RV_PDG_MAX_PAYLOAD)
		return RV_ERANGE;
	if (cap < n)
		return RV_ENOSPC;
	buf[0] = RV_PDG_MAGIC;
	buf[1] = d->type;
	buf[2] = d->flags;
	buf[3] = d->ttl_hint;
	rv_put_u32(buf + 4, (uint32_t)(d->attempt >> 32));
	rv_put_u32(buf + 8, (uint32_t)d->attempt);
	rv_put_u32(buf + 12, d->seq);
	if (d->payload_len)
		memmove(buf + RV_PDG_HDR, d->payload, d->payload_len);
	mac(key, buf, n - RV_PDG_MAC, buf + n - RV_PDG_MAC);
	return (int)n;
}

int rv_pdg_decode(const uint8_t *buf, size_t len, const uint8_t key[16], struct rv_pdg *d)
{
	uint8_t want[8], diff = 0;

	if (len < 1 || buf[0] != RV_PDG_MAGIC)
		return RV_ENOTSTUN;
	if (len < RV_PDG_MIN)
		return RV_ETRUNC;
	if (len > RV_PDG_MAX || buf[1] == 0 || buf[1] >= RV_PDG_TYPE_COUNT)
		return RV_ERANGE;
	mac(key, buf, len - RV_PDG_MAC, want);
	for (int i = 0; i < RV_PDG_MAC; i++)
		diff |= want[i] ^ buf[len - RV_PDG_MAC + i];
	if (diff)
		return RV_EMAC;
	d->type = buf[1];
	d->flags = buf[2];
	d->ttl_hint = buf[3];
	d->attempt = (uint64_t)rv_get_u32(buf + 4) << 32 | rv_get_u32(buf + 8);
	d->seq = rv_get_u32(buf + 12);
	d->payload = buf + RV_PDG_HDR;
	d->payload_len = (uint16_t)(len - RV_PDG_MIN);
	return 0;
}

uint64_t rv_pdg_peek_attempt(const uint8_t *buf, size_t len)
{
	if (len < RV_PDG_MIN || buf[0] != RV_PDG_MAGIC)
		return 0;
	return (uint64_t)rv_get_u32(buf + 4) << 32 | rv_get_u32(buf + 8);
}

const char *rv_pdg_type_str(uint8_t type)
{
	static const char *const names[RV_PDG_TYPE_COUNT] = {
		NULL, "bubble", "reply", "ack", "assign", "data", "keepalive", "close",
	};
	return type < RV_PDG_TYPE_COUNT && names[type] ? names[type] : "?";
}
