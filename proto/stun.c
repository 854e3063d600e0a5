/* stun.c — STUN decoding and encoding (see stun.h). */
#include <errno.h>
#include <string.h>

#include "stun.h"

/* Attribute kinds for validation at decode time. */
enum kind {
	K_UNKNOWN,
	K_ADDR,   /* family-tagged address: 8 (IPv4) or 20 (IPv6) bytes */
	K_FIX4,   /* exactly 4 bytes */
	K_TEXT,   /* 0..763 bytes (RFC 8489: < 128 characters) */
	K_USER,   /* USERNAME: < 513 bytes */
	K_ERROR,  /* 4..767 bytes */
	K_LIST16, /* list of 16-bit values: even length */
	K_MI,     /* 20 bytes */
	K_MI256,  /* 16..32 bytes, multiple of 4 */
	K_HASH32, /* 32 bytes */
	K_ANY,    /* any length (PADDING, PASSWORD-ALGORITHM(S)) */
};

struct known {
	uint8_t kind;
	int8_t slot; /* enum rv_stun_slot, or -1 */
};

static struct known known_attr(uint16_t t)
{
	switch (t) {
	case RV_SA_MAPPED_ADDRESS:
		return (struct known){ K_ADDR, RV_SK_MAPPED };
	case RV_SA_XOR_MAPPED_ADDRESS:
		return (struct known){ K_ADDR, RV_SK_XOR_MAPPED };
	case RV_SA_RESPONSE_ORIGIN:
		return (struct known){ K_ADDR, RV_SK_RESPONSE_ORIGIN };
	case RV_SA_OTHER_ADDRESS:
		return (struct known){ K_ADDR, RV_SK_OTHER_ADDRESS };
	case RV_SA_RESPONSE_ADDRESS:
	case RV_SA_SOURCE_ADDRESS:
	case RV_SA_CHANGED_ADDRESS:
	case RV_SA_ALTERNATE_SERVER:
		return (struct known){ K_ADDR, -1 };
	case RV_SA_CHANGE_REQUEST:
		return (struct known){ K_FIX4, RV_SK_CHANGE_REQUEST };
	case RV_SA_RESPONSE_PORT:
		return (struct known){ K_FIX4, RV_SK_RESPONSE_PORT };
	case RV_SA_CACHE_TIMEOUT:
		return (struct known){ K_FIX4, -1 };
	case RV_SA_PADDING:
		return (struct known){ K_ANY, RV_SK_PADDING };
	case RV_SA_PASSWORD_ALGORITHM:
	case RV_SA_PASSWORD_ALGORITHMS:
		return (struct known){ K_ANY, -1 };
	case RV_SA_USERNAME:
		return (struct known){ K_USER, RV_SK_USERNAME };
	case RV_SA_SOFTWARE:
		return (struct known){ K_TEXT, RV_SK_SOFTWARE };
	case RV_SA_REALM:
	case RV_SA_NONCE:
	case RV_SA_ALTERNATE_DOMAIN:
		return (struct known){ K_TEXT, -1 };
	case RV_SA_ERROR_CODE:
		return (struct known){ K_ERROR, RV_SK_ERROR_CODE };
	case RV_SA_UNKNOWN_ATTRIBUTES:
		return (struct known){ K_LIST16, RV_SK_UNKNOWN_ATTRIBUTES };
	case RV_SA_MESSAGE_INTEGRITY:
		return (struct known){ K_MI, RV_SK_MI };
	case RV_SA_MESSAGE_INTEGRITY_SHA256:
		return (struct known){ K_MI256, RV_SK_MI256 };
	case RV_SA_USERHASH:
		return (struct known){ K_HASH32, -1 };
	case RV_SA_FINGERPRINT:
		return (struct known){ K_FIX4, RV_SK_FINGERPRINT };
	default:
		return (struct known){ K_UNKNOWN, -1 };
	}
}

static bool length_ok(uint8_t kind, uint16_t len)
{
	switch (kind) {
	case K_ADDR:
		return len == 8 || len == 20;
	case K_FIX4:
		return len == 4;
	case K_TEXT:
		return len <= 763;
	case K_USER:
		return len < 513;
	case K_ERROR:
		return len >= 4 && len <= 4 + 763;
	case K_LIST16:
		return (len & 1) == 0;
	case K_MI:
		return len == RV_STUN_MI_LEN;
	case K_MI256:
		return len >= 16 && len <= 32 && (len & 3) == 0;
	case K_HASH32:
		return len == 32;
	default:
		return true;
	}
}

bool rv_stun_is_stun(const uint8_t *buf, size_t len, bool classic_ok)
{
	if (len < RV_STUN_HDR_LEN || len > RV_STUN_MAX_LEN || (buf[0] & 0xc0))
		return false;
	if ((size_t)rv_get_u16(buf + 2) + RV_STUN_HDR_LEN != len || (buf[3] & 3))
		return false;
	return classic_ok || rv_get_u32(buf + 4) == RV_STUN_MAGIC;
}

/* Where attributes still count: RFC 8489 §14.5/§14.6 — after
 * MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, after
 * MESSAGE-INTEGRITY-SHA256 only FINGERPRINT, after FINGERPRINT nothing. */
enum { ST_OPEN, ST_AFTER_MI, ST_AFTER_MI256, ST_AFTER_FP };

static bool counts(int state, uint16_t t)
{
	switch (state) {
	case ST_OPEN:
		return true;
	case ST_AFTER_MI:
		return t == RV_SA_MESSAGE_INTEGRITY_SHA256 || t == RV_SA_FINGERPRINT;
	case ST_AFTER_MI256:
		return t == RV_SA_FINGERPRINT;
	default:
		return false;
	}
}

static bool seen_before(const struct rv_stun_msg *m, uint16_t t)
{
	for (unsigned i = 0; i < m->nattrs; i++)
		if (m->attrs[i].type == t)
			return true;
	return false;
}

int rv_stun_decode(const uint8_t *buf, size_t len, unsigned flags, struct rv_stun_msg *m)
{
	uint16_t type, hlen;
	size_t off;
	int state = ST_OPEN;
	uint64_t seen = 0; /* Bloom bit per type: the duplicate scan runs only on a hit. */

	if (len < RV_STUN_HDR_LEN)
		return RV_ETRUNC;
	if (len > RV_STUN_MAX_LEN)
		return RV_ELEN;
	if (buf[0] & 0xc0)
		return RV_ENOTSTUN;
	type = rv_get_u16(buf);
	hlen = rv_get_u16(buf + 2);
	m->classic = rv_get_u32(buf + 4) != RV_STUN_MAGIC;
	if (m->classic && !(flags & RV_STUN_DEC_CLASSIC_OK))
		return RV_ENOTSTUN;
	if (hlen & 3)
		return RV_ELEN;
	if ((size_t)hlen + RV_STUN_HDR_LEN > len)
		return RV_ETRUNC;
	if ((size_t)hlen + RV_STUN_HDR_LEN < len)
		return RV_ELEN;

	m->buf = buf;
	m->len = (uint32_t)len;
	m->cls = (uint8_t)((type >> 4 & 1) | (type >> 7 & 2));
	m->method = (uint16_t)((type & 0x000f) | (type >> 1 & 0x0070) | (type >> 2 & 0x0f80));
	m->nattrs = 0;
	m->nunknown = 0;
	m->mi_off = m->mi256_off = m->fp_off = 0;
	memset(m->slot, 0, sizeof(m->slot));

	for (off = RV_STUN_HDR_LEN; off < len;) {
		uint16_t t, alen;
		size_t padded;
		struct known k;
		uint64_t bit;

		if (len - off < 4)
			return RV_ETRUNC;
		t = rv_get_u16(buf + off);
		alen = rv_get_u16(buf + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return RV_ETRUNC;
		if (state == ST_AFTER_FP)
			return RV_EAFTERFP;
		if (!counts(state, t)) {
			off += 4 + padded;
			continue;
		}
		k = known_attr(t);
		if (!length_ok(k.kind, alen))
			return RV_EATTR;
		bit = 1ull << ((t * 0x9e37u) >> 10 & 63);
		if ((seen & bit) && seen_before(m, t))
			return RV_EDUP;
		seen |= bit;
		if (m->nattrs == RV_STUN_MAX_ATTRS)
			return RV_ETOOMANY;
		if (k.kind == K_UNKNOWN && t < 0x8000) {
			if (m->nunknown < RV_STUN_MAX_UNKNOWN)
				m->unknown[m->nunknown] = t;
			if (m->nunknown < UINT8_MAX)
				m->nunknown++;
		}
		if (k.slot >= 0)
			m->slot[k.slot] = (uint8_t)(m->nattrs + 1);
		m->attrs[m->nattrs].type = t;
		m->attrs[m->nattrs].len = alen;
		m->attrs[m->nattrs].off = (uint32_t)(off + 4);
		m->nattrs++;
		if (t == RV_SA_MESSAGE_INTEGRITY) {
			m->mi_off = (uint32_t)off;
			state = ST_AFTER_MI;
		} else if (t == RV_SA_MESSAGE_INTEGRITY_SHA256) {
			m->mi256_off = (uint32_t)off;
			state = ST_AFTER_MI256;
		} else if (t == RV_SA_FINGERPRINT) {
			m->fp_off = (uint32_t)off;
			state = ST_AFTER_FP;
		}
		off += 4 + padded;
	}
	return 0;
}

const struct rv_stun_attr *rv_stun_find(const struct rv_stun_msg *m, uint16_t type)
{
	struct known k = known_attr(type);

	if (k.slot >= 0)
		return m->slot[k.slot] ? &m->attrs[m->slot[k.slot] - 1] : NULL;
	for (unsigned i = 0; i < m->nattrs; i++)
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	return NULL;
}

/* XOR mask for addresses (RFC 8489 §14.2): the port with the cookie's top
 * half, the address with cookie || transaction ID — which are exactly
 * bytes 4..19 of the header, for classic and current messages alike. */
void rv_stun_addr_xor(const uint8_t *hdr, struct rv_addr *a)
{
	a->port ^= rv_get_u16(hdr + 4);
	for (size_t i = 0; i < rv_addr_iplen(a); i++)
		a->ip[i] ^= hdr[4 + i];
}

int rv_stun_attr_addr(const struct rv_stun_msg *m, const struct rv_stun_attr *a, bool xor,
                      struct rv_addr *out)
{
	const uint8_t *v;
	struct rv_addr r = { 0 };

	if (!a)
		return RV_EMISSING;
	if (a->len < 4)
		return RV_EATTR;
	v = rv_stun_value(m, a);
	r.family = v[1];
	r.port = rv_get_u16(v + 2);
	if (r.family != RV_AF_INET && r.family != RV_AF_INET6)
		return RV_EFAMILY;
	if (a->len != 4 + rv_addr_iplen(&r))
		return RV_EATTR;
	memcpy(r.ip, v + 4, rv_addr_iplen(&r));
	if (xor)
		rv_stun_addr_xor(m->buf, &r);
	*out = r;
	return 0;
}

int rv_stun_get_addr(const struct rv_stun_msg *m, uint16_t type, struct rv_addr *out)
{
	return rv_stun_attr_addr(m, rv_stun_find(m, type), type == RV_SA_XOR_MAPPED_ADDRESS, out);
}

static const uint8_t *fixed_value(const struct rv_stun_msg *m, uint16_t type, uint16_t len,
                                  int *err)
{
	const struct rv_stun_attr *a = rv_stun_find(m, type);

	*err = !a ? RV_EMISSING : a->len != len ? RV_EATTR : 0;
	return *err ? NULL : rv_stun_value(m, a);
}

int rv_stun_get_change_request(const struct rv_stun_msg *m, uint32_t *flags)
{
	int err;
	const uint8_t *v = fixed_value(m, RV_SA_CHANGE_REQUEST, 4, &err);

	if (v)
		*flags = rv_get_u32(v) & (RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT);
	return err;
}

int rv_stun_get_response_port(const struct rv_stun_msg *m, uint16_t *port)
{
	int err;
	const uint8_t *v = fixed_value(m, RV_SA_RESPONSE_PORT, 4, &err);

	if (v)
		*port = rv_get_u16(v);
	return err;
}

int rv_stun_get_error(const struct rv_stun_msg *m, int *code, const uint8_t **reason,
                      size_t *reason_len)
{
	const struct rv_stun_attr *a = rv_stun_find(m, RV_SA_ERROR_CODE);
	const uint8_t *v;
	int cls, num;

	if (!a)
		return RV_EMISSING;
	if (a->len < 4)
		return RV_EATTR;
	v = rv_stun_value(m, a);
	cls = v[2] & 0x7;
	num = v[3];
	if (cls < 3 || cls > 6 || num > 99)
		return RV_EATTR;
	*code = cls * 100 + num;
	*reason = v + 4;
	*reason_len = a->len - 4u;
	return 0;
}

int rv_stun_get_unknown_attributes(const struct rv_stun_msg *m, uint16_t *types, size_t cap)
{
	const struct rv_stun_attr *a = rv_stun_find(m, RV_SA_UNKNOWN_ATTRIBUTES);
	const uint8_t *v;
	size_t n;

	if (!a)
		return RV_EMISSING;
	if (a->len & 1)
		return RV_EATTR;
	v = rv_stun_value(m, a);
	n = a->len / 2u;
	for (size_t i = 0; i < n && i < cap; i++)
		types[i] = rv_get_u16(v + 2 * i);
	return (int)n;
}

/* --- encoding ------------------------------------------------------------- */

void rv_stun_enc_init_id(struct rv_stun_enc *e, void *buf, size_t cap, uint16_t method,
                         enum rv_stun_class cls, const uint8_t id[16])
{
	uint8_t *h;

	e->w = rv_wr_make(buf, cap > RV_STUN_MAX_LEN ? RV_STUN_MAX_LEN : cap);
	h = rv_wr_take(&e->w, RV_STUN_HDR_LEN);
	if (!h)
		return;
	rv_put_u16(h, rv_stun_type(method, cls));
	rv_put_u16(h + 2, 0);
	memmove(h + 4, id, 16); /* id may already sit there (in-place replies) */
}

void rv_stun_enc_init(struct rv_stun_enc *e, void *buf, size_t cap, uint16_t method,
                      enum rv_stun_class cls, const uint8_t txid[RV_STUN_TXID_LEN])
{
	uint8_t id[16];

	rv_put_u32(id, RV_STUN_MAGIC);
	memcpy(id + 4, txid, RV_STUN_TXID_LEN);
	rv_stun_enc_init_id(e, buf, cap, method, cls, id);
}

void rv_stun_enc_init_reply(struct rv_stun_enc *e, void *buf, size_t cap,
                            const struct rv_stun_msg *req, enum rv_stun_class cls)
{
	uint8_t id[16];

	/* Copy first: the reply may be built over the request's own buffer. */
	memcpy(id, req->buf + 4, 16);
	rv_stun_enc_init_id(e, buf, cap, req->method, cls, id);
}

uint8_t *rv_stun_enc_attr_reserve(struct rv_stun_enc *e, uint16_t type, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint8_t *q;

	if (len > 0xffff) {
		e->w.err = e->w.err ? e->w.err : RV_ERANGE;
		return NULL;
	}
	q = rv_wr_take(&e->w, 4 + padded);
	if (!q)
		return NULL;
	rv_put_u16(q, type);
	rv_put_u16(q + 2, (uint16_t)len);
	memset(q + 4 + len, 0, padded - len);
	rv_put_u16(e->w.p + 2, (uint16_t)(e->w.off - RV_STUN_HDR_LEN));
	return q + 4;
}

void rv_stun_enc_attr(struct rv_stun_enc *e, uint16_t type, const void *val, size_t len)
{
	uint8_t *q = rv_stun_enc_attr_reserve(e, type, len);

	if (q && len)
		memcpy(q, val, len);
}

void rv_stun_enc_u32(struct rv_stun_enc *e, uint16_t type, uint32_t v)
{
	uint8_t *q = rv_stun_enc_attr_reserve(e, type, 4);

	if (q)
		rv_put_u32(q, v);
}

void rv_stun_enc_addr(struct rv_stun_enc *e, uint16_t type, const struct rv_addr *a, bool xor)
{
	struct rv_addr x = *a;
	size_t iplen = rv_addr_iplen(a);
	uint8_t *q;

	if (!iplen) {
		e->w.err = e->w.err ? e->w.err : RV_EFAMILY;
		return;
	}
	q = rv_stun_enc_attr_reserve(e, type, 4 + iplen);
	if (!q)
		return;
	if (xor)
		rv_stun_addr_xor(e->w.p, &x);
	q[0] = 0;
	q[1] = x.family;
	rv_put_u16(q + 2, x.port);
	memcpy(q + 4, x.ip, iplen);
}

void rv_stun_enc_error(struct rv_stun_enc *e, int code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	uint8_t *q;

	if (code < 300 || code > 699) {
		e->w.err = e->w.err ? e->w.err : RV_ERANGE;
		return;
	}
	if (rlen > 763)
		rlen = 763;
	q = rv_stun_enc_attr_reserve(e, RV_SA_ERROR_CODE, 4 + rlen);
	if (!q)
		return;
	q[0] = q[1] = 0;
	q[2] = (uint8_t)(code / 100);
	q[3] = (uint8_t)(code % 100);
	if (rlen)
		memcpy(q + 4, reason, rlen);
}

void rv_stun_enc_unknown(struct rv_stun_enc *e, const uint16_t *types, size_t n)
{
	uint8_t *q = rv_stun_enc_attr_reserve(e, RV_SA_UNKNOWN_ATTRIBUTES, 2 * n);

	for (size_t i = 0; q && i < n; i++)
		rv_put_u16(q + 2 * i, types[i]);
}

int rv_stun_enc_finish(const struct rv_stun_enc *e)
{
	return e->w.err ? e->w.err : (int)e->w.off;
}
