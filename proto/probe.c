/* probe.c — the authenticated probe attribute (RV-PROBE) and its MAC. */
#include <string.h>

#include <sodium.h>

#include "msg.h"

void rv_probe_write(uint8_t out[RV_PROBE_LEN], const struct rv_probe *p)
{
	rv_put_u32(out, (uint32_t)(p->session >> 32));
	rv_put_u32(out + 4, (uint32_t)p->session);
	out[8] = p->kind;
	out[9] = p->flags;
	rv_put_u16(out + 10, p->seq);
	memcpy(out + 12, p->mac, 8);
}

void rv_probe_read(const uint8_t in[RV_PROBE_LEN], struct rv_probe *p)
{
	p->session = (uint64_t)rv_get_u32(in) << 32 | rv_get_u32(in + 4);
	p->kind = in[8];
	p->flags = in[9];
	p->seq = rv_get_u16(in + 10);
	memcpy(p->mac, in + 12, 8);
}

void rv_probe_mac(const uint8_t key[RV_PROBE_KEY_LEN], const uint8_t txid[RV_STUN_TXID_LEN],
                  const struct rv_probe *p, const struct rv_addr *observed, uint8_t out[8])
{
	/* txid(12) session(8) kind flags seq(2) [family port(2) ip(16)] */
	uint8_t in[12 + 12 + 19];
	size_t n = 24;

	memcpy(in, txid, 12);
	rv_probe_write(in + 12, p); /* the first 12 bytes of the attribute */
	if (p->flags & RV_PROBE_REPLY) {
		in[24] = observed ? observed->family : 0;
		rv_put_u16(in + 25, observed ? observed->port : 0);
		memset(in + 27, 0, 16);
		if (observed)
			memcpy(in + 27, observed->ip, rv_addr_iplen(observed));
		n += 19;
	}
	crypto_shorthash_siphash24(out, in, n, key);
}

bool rv_probe_verify(const uint8_t key[RV_PROBE_KEY_LEN], const uint8_t txid[RV_STUN_TXID_LEN],
                     const struct rv_probe *p, const struct rv_addr *observed)
{
	uint8_t want[8], d = 0;

	rv_probe_mac(key, txid, p, observed, want);
	for (int i = 0; i < 8; i++)
		d |= want[i] ^ p->mac[i];
	return d == 0;
}

void rv_probe_answer(struct rv_stun_enc *e, const uint8_t key[RV_PROBE_KEY_LEN],
                     const struct rv_probe *req, const struct rv_addr *observed)
{
	struct rv_probe r = *req;
	uint8_t *v;

	r.flags = RV_PROBE_REPLY;
	/* The transaction ID is already in the header: bytes 8..19. */
	rv_probe_mac(key, e->w.p + 8, &r, observed, r.mac);
	rv_stun_enc_addr(e, RV_SA_XOR_MAPPED_ADDRESS, observed, true);
	v = rv_stun_enc_attr_reserve(e, RV_A_PROBE, RV_PROBE_LEN);
	if (v)
		rv_probe_write(v, &r);
}
