/* msg.c — the table-driven codec for the project's messages (msg.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "relay.h"

/* How a field is carried. The generic kinds serve many fields through
 * offsets into struct rv_msg; structured ones have one case each. */
enum kind {
	K_FIXED,  /* exactly `max` bytes */
	K_VAR8,   /* min..max bytes, uint8_t length at len_off */
	K_VAR16,  /* min..max bytes, uint16_t length at len_off */
	K_STR,    /* min..max bytes of UTF-8, stored NUL-terminated */
	K_U8,     /* uint8_t in a 4-byte value (3 reserved), within min..max */
	K_I16,    /* int16_t in a 4-byte value (2 reserved), nonzero */
	K_U32,    /* uint32_t */
	K_U64,    /* uint64_t */
	K_XADDR,  /* struct rv_addr, XOR-MAPPED-ADDRESS encoding */
	K_PRANGE, /* struct rv_port_range */
	K_VERSION,
	K_HOSTS,
	K_NAT,
	K_COMMUNITY,
	K_REQUIRE,
	K_LOCATORS,
	K_PEERS,
	K_ROLE,
	K_PORTS,
	K_RESULT,
	K_PROBE,
	K_RELAY,
	K_ERROR,
};

struct fdesc {
	uint16_t type;
	uint8_t kind;
	uint16_t off, len_off;
	uint16_t min, max;
};

#define AT(field)              offsetof(struct rv_msg, field)
#define PROJ(f)                (uint16_t)(RV_A_BASE + (f))
#define F(f, k, o, lo, mn, mx) [f] = { PROJ(f), k, o, lo, mn, mx }

static const struct fdesc fields[RV_F_COUNT_ALL] = {
	F(RV_F_VERSION, K_VERSION, 0, 0, 0, 0),
	F(RV_F_DEVICE_ID, K_VAR8, AT(device_id), AT(device_id_len), 1, RV_DEVICE_ID_MAX),
	F(RV_F_NONCE, K_FIXED, AT(nonce), 0, RV_NONCE_LEN, RV_NONCE_LEN),
	F(RV_F_SIGNATURE, K_FIXED, AT(signature), 0, RV_SIG_LEN, RV_SIG_LEN),
	F(RV_F_PUBKEY, K_FIXED, AT(pubkey), 0, RV_KEY_LEN, RV_KEY_LEN),
	F(RV_F_TICKET, K_VAR16, AT(ticket), AT(ticket_len), 1, RV_TICKET_MAX),
	F(RV_F_LOCATOR, K_FIXED, AT(locator), 0, RV_LOCATOR_LEN, RV_LOCATOR_LEN),
	F(RV_F_SESSION, K_U64, AT(session), 0, 0, 0),
	F(RV_F_LIFETIME, K_U32, AT(lifetime_s), 0, 0, 0),
	F(RV_F_TIME, K_U64, AT(time_ms), 0, 0, 0),
	F(RV_F_HOST_ADDRS, K_HOSTS, 0, 0, 1, RV_HOST_ADDRS),
	F(RV_F_NAT, K_NAT, 0, 0, 0, 0),
	F(RV_F_APP_ID, K_STR, AT(app_id), 0, 1, RV_APP_ID_MAX),
	F(RV_F_COMMUNITY, K_COMMUNITY, 0, 0, 0, RV_COMM_ATTRS),
	F(RV_F_NICKNAME, K_STR, AT(nickname), 0, 1, RV_NICK_MAX),
	F(RV_F_REQUIRE, K_REQUIRE, 0, 0, 1, RV_REQUIRE_MAX),
	F(RV_F_COUNT, K_U32, AT(count), 0, 0, 0),
	F(RV_F_OFFSET, K_U32, AT(offset), 0, 0, 0),
	F(RV_F_LOCATORS, K_LOCATORS, 0, 0, 1, RV_LOCATORS_MAX),
	F(RV_F_PRESENCE, K_U32, AT(presence), 0, 0, 0),
	F(RV_F_GROUP_OP, K_U8, AT(group_op), 0, RV_GROUP_CREATE, RV_GROUP_QUERY),
	F(RV_F_GROUP_ID, K_STR, AT(group_id), 0, 1, RV_GROUP_ID_MAX),
	F(RV_F_PEERS, K_PEERS, 0, 0, 0, RV_PEERS_MAX),
	F(RV_F_VIA, K_FIXED, AT(via), 0, RV_LOCATOR_LEN, RV_LOCATOR_LEN),
	F(RV_F_ATTEMPT, K_U64, AT(attempt), 0, 0, 0),
	F(RV_F_ROLE, K_ROLE, 0, 0, 0, 0),
	F(RV_F_PEER_ADDR, K_XADDR, AT(peer_addr), 0, 0, 0),
	F(RV_F_TARGET, K_PRANGE, AT(target), 0, 0, 0),
	F(RV_F_RANGE, K_PRANGE, AT(range), 0, 0, 0),
	F(RV_F_DELTA, K_I16, AT(delta), 0, 0, 0),
	F(RV_F_TTL, K_U8, AT(ttl), 0, 1, 255),
	F(RV_F_PORTS, K_PORTS, 0, 0, 1, RV_PORTS_MAX),
	F(RV_F_RESULT, K_RESULT, 0, 0, 0, 0),
	F(RV_F_DEADLINE, K_U32, AT(deadline_ms), 0, 0, 0),
	F(RV_F_PROBE, K_PROBE, 0, 0, 0, 0),
	F(RV_F_KEY, K_FIXED, AT(key), 0, 16, 16),
	F(RV_F_RELAY, K_RELAY, 0, 0, 0, 0),
	[RV_F_MAPPED] = { RV_SA_XOR_MAPPED_ADDRESS, K_XADDR, AT(mapped), 0, 0, 0 },
	[RV_F_ERROR] = { RV_SA_ERROR_CODE, K_ERROR, 0, 0, 0, 0 },
};

/* --- per-method rules -------------------------------------------------------- */

#define B(f)    RV_BIT(RV_F_##f)
#define PROFILE (B(HOST_ADDRS) | B(NAT) | B(APP_ID) | B(COMMUNITY) | B(NICKNAME))

struct rule {
	uint16_t method;
	uint8_t cls;
	uint64_t req, opt;
};

static const struct rule rules[] = {
	{ RV_M_BINDING, RV_STUN_REQUEST, B(PROBE), 0 },
	{ RV_M_BINDING, RV_STUN_SUCCESS, B(PROBE) | B(MAPPED), 0 },
	{ RV_M_HELLO, RV_STUN_REQUEST, B(VERSION) | B(DEVICE_ID), 0 },
	{ RV_M_HELLO, RV_STUN_SUCCESS, B(VERSION) | B(NONCE) | B(TIME), 0 },
	{ RV_M_AUTH, RV_STUN_REQUEST,
	  B(VERSION) | B(DEVICE_ID) | B(NONCE) | B(PUBKEY) | B(SIGNATURE), 0 },
	/* PUBKEY in the answer: the locator service's key-exchange key. */
	{ RV_M_AUTH, RV_STUN_SUCCESS, B(VERSION) | B(LOCATOR) | B(TICKET) | B(LIFETIME),
	  B(PUBKEY) | B(TIME) },
	{ RV_M_REGISTER, RV_STUN_REQUEST, B(VERSION) | B(TICKET) | B(TIME), PROFILE | B(GROUP_ID) },
	{ RV_M_REGISTER, RV_STUN_SUCCESS, B(VERSION) | B(SESSION) | B(LIFETIME) | B(MAPPED),
	  B(TIME) },
	{ RV_M_REFRESH, RV_STUN_REQUEST, B(VERSION) | B(SESSION) | B(TIME), PROFILE },
	{ RV_M_REFRESH, RV_STUN_SUCCESS, B(VERSION) | B(LIFETIME) | B(MAPPED), B(TIME) },
	{ RV_M_BYE, RV_STUN_REQUEST, B(VERSION) | B(SESSION), 0 },
	{ RV_M_BYE, RV_STUN_SUCCESS, B(VERSION), 0 },
	{ RV_M_LOOKUP, RV_STUN_REQUEST, B(VERSION) | B(SESSION) | B(LOCATOR), 0 },
	{ RV_M_LOOKUP, RV_STUN_SUCCESS, B(VERSION) | B(PEERS), 0 },
	{ RV_M_PRESENCE, RV_STUN_REQUEST, B(VERSION) | B(SESSION) | B(LOCATORS), 0 },
	{ RV_M_PRESENCE, RV_STUN_SUCCESS, B(VERSION) | B(PRESENCE), 0 },
	{ RV_M_GROUP, RV_STUN_REQUEST, B(VERSION) | B(SESSION) | B(GROUP_OP) | B(GROUP_ID),
	  B(OFFSET) },
	{ RV_M_GROUP, RV_STUN_SUCCESS, B(VERSION), B(GROUP_ID) | B(PEERS) | B(COUNT) | B(OFFSET) },
	{ RV_M_MATCH, RV_STUN_REQUEST, B(VERSION) | B(SESSION), B(REQUIRE) | B(APP_ID) | B(COUNT) },
	{ RV_M_MATCH, RV_STUN_SUCCESS, B(VERSION) | B(PEERS), B(VIA) | B(COUNT) },
	{ RV_M_CONNECT, RV_STUN_REQUEST, B(VERSION) | B(SESSION) | B(LOCATOR), B(ROLE) },
	{ RV_M_CONNECT, RV_STUN_SUCCESS, B(VERSION) | B(ATTEMPT), B(ROLE) },
	{ RV_M_INSTRUCT, RV_STUN_REQUEST, B(VERSION) | B(ATTEMPT) | B(ROLE),
	  B(KEY) | B(LOCATOR) | B(PEER_ADDR) | B(NAT) | B(TARGET) | B(RANGE) | B(DELTA) | B(TTL) |
	          B(DEADLINE) | B(PORTS) | B(COUNT) | B(RELAY) | B(RESULT) },
	{ RV_M_INSTRUCT, RV_STUN_SUCCESS, B(VERSION) | B(ATTEMPT), 0 },
	{ RV_M_REPORT, RV_STUN_REQUEST, B(VERSION) | B(SESSION) | B(ATTEMPT),
	  B(PORTS) | B(TARGET) | B(RANGE) | B(DELTA) | B(RESULT) | B(NAT) },
	{ RV_M_REPORT, RV_STUN_SUCCESS, B(VERSION) | B(ATTEMPT), 0 },
};

bool rv_msg_rules(uint16_t method, uint8_t cls, uint64_t *required, uint64_t *allowed)
{
	if (method != RV_M_BINDING && (method < RV_M_FIRST || method > RV_M_LAST))
		return false;
	if (cls == RV_STUN_ERROR) {
		/* A fresh nonce (438), the server's version (469), retry-after. */
		*required = B(ERROR);
		*allowed = B(ERROR) | B(VERSION) | B(NONCE) | B(TIME) | B(LIFETIME);
		return true;
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].method == method && rules[i].cls == cls) {
			*required = rules[i].req;
			*allowed = rules[i].req | rules[i].opt;
			return true;
		}
	return false;
}

static int check_rules(uint16_t method, uint8_t cls, uint64_t present)
{
	uint64_t req, allowed;

	if (!rv_msg_rules(method, cls, &req, &allowed))
		return RV_EMETHOD;
	if (req & ~present)
		return RV_EMISSING;
	if (present & ~allowed)
		return RV_EUNEXPECTED;
	return 0;
}

/* --- UTF-8 ------------------------------------------------------------------- */

bool rv_utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t need;
		uint32_t cp, min;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (need > n - i - 1)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* --- shared validity checks (encode and decode agree by construction) ------- */

static bool nat_ok(const struct rv_nat_info *n)
{
	return n->type < RV_NAT_TYPE_COUNT && n->map < RV_MAP_COUNT && n->filt < RV_FILT_COUNT &&
	       n->alloc < RV_ALLOC_COUNT;
}

static bool role_ok(const struct rv_role_info *r)
{
	return (r->role == RV_ROLE_SENDER || r->role == RV_ROLE_RECEIVER) &&
	       r->strategy < RV_STRAT_COUNT;
}

static bool prange_ok(const struct rv_port_range *r)
{
	return r->count >= 1 && (r->count == 1 || r->step != 0) && r->first != 0 && r->last != 0;
}

static bool require_ok(const struct rv_require *q)
{
	return q->key != 0 && q->min <= q->max;
}

static bool probe_ok(const struct rv_probe *p)
{
	return p->kind >= RV_PROBE_DELTA && p->kind < RV_PROBE_KIND_COUNT;
}

static bool relay_ok(const struct rv_relay_grant *g)
{
	return g->channel >= RV_RELAY_CH_MIN && g->channel <= RV_RELAY_CH_MAX && g->side <= 1 &&
	       g->relay != 0;
}

static bool addr_ok(const struct rv_addr *a)
{
	return a->family == RV_AF_INET || a->family == RV_AF_INET6;
}

/* A fixed 20-byte address slot: reserved(8) family(8) port(16) ip(128),
 * XOR'd like XOR-MAPPED-ADDRESS so NAT ALGs leave it alone. */
static void put_addr20(uint8_t *q, const uint8_t *hdr, const struct rv_addr *a)
{
	struct rv_addr x = *a;

	rv_stun_addr_xor(hdr, &x);
	memset(q, 0, 20);
	q[1] = x.family;
	rv_put_u16(q + 2, x.port);
	memcpy(q + 4, x.ip, rv_addr_iplen(&x));
}

static bool get_addr20(const uint8_t *q, const uint8_t *hdr, struct rv_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = q[1];
	a->port = rv_get_u16(q + 2);
	if (!addr_ok(a))
		return false;
	memcpy(a->ip, q + 4, rv_addr_iplen(a));
	rv_stun_addr_xor(hdr, a);
	return true;
}

#define PEER_REC 64

/* --- encoding ---------------------------------------------------------------- */

static int enc_field(const struct rv_msg *m, enum rv_field f, struct rv_stun_enc *e)
{
	const struct fdesc *d = &fields[f];
	const uint8_t *base = (const uint8_t *)m;
	const void *at = base + d->off;
	uint8_t *q;
	size_t n;

	switch (d->kind) {
	case K_FIXED:
		rv_stun_enc_attr(e, d->type, at, d->max);
		return 0;
	case K_VAR8:
	case K_VAR16:
		if (d->kind == K_VAR8) {
			n = base[d->len_off];
		} else {
			uint16_t l16;
			memcpy(&l16, base + d->len_off, sizeof(l16));
			n = l16;
		}
		if (n < d->min || n > d->max)
			return RV_ERANGE;
		rv_stun_enc_attr(e, d->type, at, n);
		return 0;
	case K_STR:
		n = strnlen(at, (size_t)d->max + 1);
		if (n < d->min || n > d->max)
			return RV_ERANGE;
		if (!rv_utf8_valid(at, n))
			return RV_ESTRING;
		rv_stun_enc_attr(e, d->type, at, n);
		return 0;
	case K_U8: {
		uint8_t v = *(const uint8_t *)at;
		if (v < d->min || v > d->max)
			return RV_ERANGE;
		rv_stun_enc_u32(e, d->type, (uint32_t)v << 24);
		return 0;
	}
	case K_I16: {
		int16_t v;
		memcpy(&v, at, sizeof(v));
		if (v == 0)
			return RV_ERANGE;
		rv_stun_enc_u32(e, d->type, (uint32_t)(uint16_t)v << 16);
		return 0;
	}
	case K_U32: {
		uint32_t v;
		memcpy(&v, at, sizeof(v));
		rv_stun_enc_u32(e, d->type, v);
		return 0;
	}
	case K_U64: {
		uint64_t v;
		memcpy(&v, at, sizeof(v));
		q = rv_stun_enc_attr_reserve(e, d->type, 8);
		if (q)
			rv_put_u64(q, v);
		return 0;
	}
	case K_XADDR:
		if (!addr_ok(at))
			return RV_EFAMILY;
		rv_stun_enc_addr(e, d->type, at, true);
		return 0;
	case K_PRANGE: {
		const struct rv_port_range *r = at;
		if (!prange_ok(r))
			return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, 8);
		if (q) {
			rv_put_u16(q, r->first);
			rv_put_u16(q + 2, r->last);
			rv_put_u16(q + 4, (uint16_t)r->step);
			rv_put_u16(q + 6, r->count);
		}
		return 0;
	}
	case K_VERSION:
		rv_stun_enc_u32(e, d->type,
		                (uint32_t)m->version_major << 24 | (uint32_t)m->version_minor
		                                                           << 16);
		return 0;
	case K_HOSTS:
		if (m->n_host_addrs < d->min || m->n_host_addrs > d->max)
			return RV_ETOOMANY;
		for (unsigned i = 0; i < m->n_host_addrs; i++)
			if (!addr_ok(&m->host_addrs[i]))
				return RV_EFAMILY;
		q = rv_stun_enc_attr_reserve(e, d->type, 20u * m->n_host_addrs);
		for (unsigned i = 0; q && i < m->n_host_addrs; i++)
			put_addr20(q + 20 * i, e->w.p, &m->host_addrs[i]);
		return 0;
	case K_NAT:
		if (!nat_ok(&m->nat))
			return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, 12);
		if (q) {
			q[0] = m->nat.type;
			q[1] = m->nat.map;
			q[2] = m->nat.filt;
			q[3] = m->nat.alloc;
			rv_put_u16(q + 4, (uint16_t)m->nat.delta);
			q[6] = m->nat.hops;
			q[7] = m->nat.flags;
			rv_put_u16(q + 8, m->nat.lifetime_s);
			rv_put_u16(q + 10, m->nat.bg_rate_x10);
		}
		return 0;
	case K_COMMUNITY:
		if (m->community.n > d->max)
			return RV_ETOOMANY;
		q = rv_stun_enc_attr_reserve(e, d->type, 4 + 8u * m->community.n);
		if (q) {
			memset(q, 0, 4);
			q[0] = m->community.flags;
			for (unsigned i = 0; i < m->community.n; i++) {
				rv_put_u16(q + 4 + 8 * i, m->community.attrs[i].key);
				rv_put_u16(q + 6 + 8 * i, 0);
				rv_put_u32(q + 8 + 8 * i, (uint32_t)m->community.attrs[i].value);
			}
		}
		return 0;
	case K_REQUIRE:
		if (m->n_require < d->min || m->n_require > d->max)
			return RV_ETOOMANY;
		for (unsigned i = 0; i < m->n_require; i++)
			if (!require_ok(&m->require[i]))
				return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, 12u * m->n_require);
		for (unsigned i = 0; q && i < m->n_require; i++) {
			rv_put_u16(q + 12 * i, m->require[i].key);
			rv_put_u16(q + 12 * i + 2, 0);
			rv_put_u32(q + 12 * i + 4, (uint32_t)m->require[i].min);
			rv_put_u32(q + 12 * i + 8, (uint32_t)m->require[i].max);
		}
		return 0;
	case K_LOCATORS:
		if (m->n_locators < d->min || m->n_locators > d->max)
			return RV_ETOOMANY;
		rv_stun_enc_attr(e, d->type, m->locators, (size_t)RV_LOCATOR_LEN * m->n_locators);
		return 0;
	case K_PEERS:
		if (m->n_peers > d->max)
			return RV_ETOOMANY;
		for (unsigned i = 0; i < m->n_peers; i++) {
			const struct rv_peer *p = &m->peers[i];
			n = strnlen(p->nickname, sizeof(p->nickname));
			if (p->status > RV_ONLINE || p->nat_type >= RV_NAT_TYPE_COUNT ||
			    n > RV_NICK_MAX || (p->addr.family && !addr_ok(&p->addr)))
				return RV_ERANGE;
			if (!rv_utf8_valid((const uint8_t *)p->nickname, n))
				return RV_ESTRING;
		}
		q = rv_stun_enc_attr_reserve(e, d->type, (size_t)PEER_REC * m->n_peers);
		for (unsigned i = 0; q && i < m->n_peers; i++) {
			const struct rv_peer *p = &m->peers[i];
			uint8_t *r = q + PEER_REC * i;
			memcpy(r, p->locator, RV_LOCATOR_LEN);
			if (p->addr.family) {
				put_addr20(r + 16, e->w.p, &p->addr);
			} else {
				memset(r + 16, 0, 20);
			}
			/* The address slot's reserved first byte carries status. */
			r[16] = p->status;
			r[36] = p->flags;
			r[37] = p->nat_type;
			r[38] = r[39] = 0;
			memset(r + 40, 0, 24);
			memcpy(r + 40, p->nickname, strnlen(p->nickname, RV_NICK_MAX));
		}
		return 0;
	case K_ROLE:
		if (!role_ok(&m->role))
			return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, 4);
		if (q) {
			q[0] = m->role.role;
			q[1] = m->role.strategy;
			q[2] = m->role.step;
			q[3] = m->role.flags;
		}
		return 0;
	case K_PORTS:
		if (m->n_ports < d->min || m->n_ports > d->max)
			return RV_ETOOMANY;
		q = rv_stun_enc_attr_reserve(e, d->type, 2u * m->n_ports);
		for (unsigned i = 0; q && i < m->n_ports; i++)
			rv_put_u16(q + 2 * i, m->ports[i]);
		return 0;
	case K_RESULT:
		if (m->result.code >= RV_RES_COUNT || m->result.strategy >= RV_STRAT_COUNT)
			return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, 12);
		if (q) {
			q[0] = m->result.code;
			q[1] = m->result.strategy;
			q[2] = q[3] = 0;
			rv_put_u32(q + 4, m->result.elapsed_ms);
			rv_put_u32(q + 8, m->result.packets);
		}
		return 0;
	case K_PROBE:
		if (!probe_ok(&m->probe))
			return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, RV_PROBE_LEN);
		if (q)
			rv_probe_write(q, &m->probe);
		return 0;
	case K_RELAY:
		if (!relay_ok(&m->relay))
			return RV_ERANGE;
		q = rv_stun_enc_attr_reserve(e, d->type, 28);
		if (q) {
			rv_put_u64(q, m->relay.relay);
			rv_put_u16(q + 8, m->relay.channel);
			q[10] = m->relay.side;
			q[11] = 0;
			rv_put_u64(q + 12, m->relay.quota_bytes);
			rv_put_u32(q + 20, m->relay.lifetime_s);
			rv_put_u32(q + 24, m->relay.rate_pps);
		}
		return 0;
	case K_ERROR:
		if (m->error_code < 300 || m->error_code > 699)
			return RV_ERANGE;
		n = strnlen(m->error_reason, sizeof(m->error_reason));
		if (n == sizeof(m->error_reason) ||
		    !rv_utf8_valid((const uint8_t *)m->error_reason, n))
			return RV_ESTRING;
		rv_stun_enc_error(e, m->error_code, m->error_reason);
		return 0;
	}
	return RV_EATTR;
}

int rv_msg_encode(const struct rv_msg *m, uint8_t *buf, size_t cap, const uint8_t *key,
                  size_t keylen)
{
	struct rv_stun_enc e;
	int rc = check_rules(m->method, m->cls, m->present);

	if (rc < 0)
		return rc;
	rv_stun_enc_init(&e, buf, cap, m->method, m->cls, m->txid);
	for (int f = 0; f < RV_F_COUNT_ALL; f++) {
		if (!(m->present & RV_BIT(f)))
			continue;
		rc = enc_field(m, (enum rv_field)f, &e);
		if (rc < 0)
			return rc;
	}
	if (key)
		rv_stun_enc_integrity_sha256(&e, key, keylen, RV_STUN_MI256_LEN);
	rv_stun_enc_fingerprint(&e);
	return rv_stun_enc_finish(&e);
}

/* --- decoding ---------------------------------------------------------------- */

static int dec_field(struct rv_msg *m, enum rv_field f, const struct rv_stun_msg *s,
                     const struct rv_stun_attr *a)
{
	const struct fdesc *d = &fields[f];
	uint8_t *base = (uint8_t *)m;
	void *at = base + d->off;
	const uint8_t *v = rv_stun_value(s, a);
	size_t len = a->len;

	switch (d->kind) {
	case K_FIXED:
		if (len != d->max)
			return RV_EATTR;
		memcpy(at, v, len);
		return 0;
	case K_VAR8:
	case K_VAR16:
		if (len < d->min || len > d->max)
			return RV_EATTR;
		memcpy(at, v, len);
		if (d->kind == K_VAR8) {
			base[d->len_off] = (uint8_t)len;
		} else {
			uint16_t l16 = (uint16_t)len;
			memcpy(base + d->len_off, &l16, sizeof(l16));
		}
		return 0;
	case K_STR:
		if (len < d->min || len > d->max)
			return RV_EATTR;
		if (!rv_utf8_valid(v, len))
			return RV_ESTRING;
		memcpy(at, v, len);
		((char *)at)[len] = 0;
		return 0;
	case K_U8:
		if (len != 4 || v[0] < d->min || v[0] > d->max)
			return RV_EATTR;
		*(uint8_t *)at = v[0];
		return 0;
	case K_I16: {
		int16_t i16;
		if (len != 4)
			return RV_EATTR;
		i16 = (int16_t)rv_get_u16(v);
		if (i16 == 0)
			return RV_EATTR;
		memcpy(at, &i16, sizeof(i16));
		return 0;
	}
	case K_U32: {
		uint32_t u32;
		if (len != 4)
			return RV_EATTR;
		u32 = rv_get_u32(v);
		memcpy(at, &u32, sizeof(u32));
		return 0;
	}
	case K_U64: {
		uint64_t u64;
		if (len != 8)
			return RV_EATTR;
		u64 = rv_get_u64(v);
		memcpy(at, &u64, sizeof(u64));
		return 0;
	}
	case K_XADDR:
		return rv_stun_attr_addr(s, a, true, at);
	case K_PRANGE: {
		struct rv_port_range *r = at;
		if (len != 8)
			return RV_EATTR;
		r->first = rv_get_u16(v);
		r->last = rv_get_u16(v + 2);
		r->step = (int16_t)rv_get_u16(v + 4);
		r->count = rv_get_u16(v + 6);
		return prange_ok(r) ? 0 : RV_EATTR;
	}
	case K_VERSION:
		if (len != 4)
			return RV_EATTR;
		m->version_major = v[0];
		m->version_minor = v[1];
		return 0;
	case K_HOSTS:
		if (len % 20 || len / 20 < d->min || len / 20 > d->max)
			return len % 20 ? RV_EATTR : RV_ETOOMANY;
		m->n_host_addrs = (uint8_t)(len / 20);
		for (unsigned i = 0; i < m->n_host_addrs; i++)
			if (!get_addr20(v + 20 * i, s->buf, &m->host_addrs[i]))
				return RV_EFAMILY;
		return 0;
	case K_NAT:
		if (len != 12)
			return RV_EATTR;
		m->nat.type = v[0];
		m->nat.map = v[1];
		m->nat.filt = v[2];
		m->nat.alloc = v[3];
		m->nat.delta = (int16_t)rv_get_u16(v + 4);
		m->nat.hops = v[6];
		m->nat.flags = v[7];
		m->nat.lifetime_s = rv_get_u16(v + 8);
		m->nat.bg_rate_x10 = rv_get_u16(v + 10);
		return nat_ok(&m->nat) ? 0 : RV_EATTR;
	case K_COMMUNITY:
		if (len < 4 || (len - 4) % 8)
			return RV_EATTR;
		if ((len - 4) / 8 > d->max)
			return RV_ETOOMANY;
		m->community.flags = v[0];
		m->community.n = (uint8_t)((len - 4) / 8);
		for (unsigned i = 0; i < m->community.n; i++) {
			m->community.attrs[i].key = rv_get_u16(v + 4 + 8 * i);
			m->community.attrs[i].value = (int32_t)rv_get_u32(v + 8 + 8 * i);
		}
		return 0;
	case K_REQUIRE:
		if (len % 12)
			return RV_EATTR;
		if (len / 12 < d->min || len / 12 > d->max)
			return RV_ETOOMANY;
		m->n_require = (uint8_t)(len / 12);
		for (unsigned i = 0; i < m->n_require; i++) {
			struct rv_require *q = &m->require[i];
			q->key = rv_get_u16(v + 12 * i);
			q->min = (int32_t)rv_get_u32(v + 12 * i + 4);
			q->max = (int32_t)rv_get_u32(v + 12 * i + 8);
			if (!require_ok(q))
				return RV_EATTR;
		}
		return 0;
	case K_LOCATORS:
		if (len % RV_LOCATOR_LEN)
			return RV_EATTR;
		if (len / RV_LOCATOR_LEN < d->min || len / RV_LOCATOR_LEN > d->max)
			return RV_ETOOMANY;
		m->n_locators = (uint8_t)(len / RV_LOCATOR_LEN);
		memcpy(m->locators, v, len);
		return 0;
	case K_PEERS:
		if (len % PEER_REC)
			return RV_EATTR;
		if (len / PEER_REC > d->max)
			return RV_ETOOMANY;
		m->n_peers = (uint8_t)(len / PEER_REC);
		for (unsigned i = 0; i < m->n_peers; i++) {
			const uint8_t *r = v + PEER_REC * i;
			struct rv_peer *p = &m->peers[i];
			size_t nick = strnlen((const char *)r + 40, 24);

			memcpy(p->locator, r, RV_LOCATOR_LEN);
			p->status = r[16];
			p->flags = r[36];
			p->nat_type = r[37];
			if (p->status > RV_ONLINE || p->nat_type >= RV_NAT_TYPE_COUNT ||
			    nick > RV_NICK_MAX)
				return RV_EATTR;
			if (r[17] == 0)
				memset(&p->addr, 0, sizeof(p->addr));
			else if (!get_addr20(r + 16, s->buf, &p->addr))
				return RV_EFAMILY;
			if (!rv_utf8_valid(r + 40, nick))
				return RV_ESTRING;
			memcpy(p->nickname, r + 40, nick);
			p->nickname[nick] = 0;
		}
		return 0;
	case K_ROLE:
		if (len != 4)
			return RV_EATTR;
		m->role.role = v[0];
		m->role.strategy = v[1];
		m->role.step = v[2];
		m->role.flags = v[3];
		return role_ok(&m->role) ? 0 : RV_EATTR;
	case K_PORTS:
		if (len % 2)
			return RV_EATTR;
		if (len / 2 < d->min || len / 2 > d->max)
			return RV_ETOOMANY;
		m->n_ports = (uint8_t)(len / 2);
		for (unsigned i = 0; i < m->n_ports; i++)
			m->ports[i] = rv_get_u16(v + 2 * i);
		return 0;
	case K_RESULT:
		if (len != 12)
			return RV_EATTR;
		m->result.code = v[0];
		m->result.strategy = v[1];
		m->result.elapsed_ms = rv_get_u32(v + 4);
		m->result.packets = rv_get_u32(v + 8);
		return m->result.code < RV_RES_COUNT && m->result.strategy < RV_STRAT_COUNT
		               ? 0
		               : RV_EATTR;
	case K_PROBE:
		if (len != RV_PROBE_LEN)
			return RV_EATTR;
		rv_probe_read(v, &m->probe);
		return probe_ok(&m->probe) ? 0 : RV_EATTR;
	case K_RELAY:
		if (len != 28 || v[11])
			return RV_EATTR;
		m->relay.relay = rv_get_u64(v);
		m->relay.channel = rv_get_u16(v + 8);
		m->relay.side = v[10];
		m->relay.quota_bytes = rv_get_u64(v + 12);
		m->relay.lifetime_s = rv_get_u32(v + 20);
		m->relay.rate_pps = rv_get_u32(v + 24);
		return relay_ok(&m->relay) ? 0 : RV_EATTR;
	case K_ERROR: {
		int code;
		const uint8_t *reason;
		size_t rlen;
		int rc = rv_stun_get_error(s, &code, &reason, &rlen);

		if (rc < 0)
			return rc;
		if (rlen >= sizeof(m->error_reason))
			rlen = sizeof(m->error_reason) - 1;
		if (!rv_utf8_valid(reason, rlen))
			return RV_ESTRING;
		m->error_code = (uint16_t)code;
		memcpy(m->error_reason, reason, rlen);
		m->error_reason[rlen] = 0;
		return 0;
	}
	}
	return RV_EATTR;
}

/* Which field an attribute type carries, or -1 for one we skip. */
static int field_of(uint16_t type)
{
	if (type >= RV_A_BASE && type < RV_A_BASE + RV_F_STD_FIRST)
		return type - RV_A_BASE;
	if (type == RV_SA_XOR_MAPPED_ADDRESS)
		return RV_F_MAPPED;
	if (type == RV_SA_ERROR_CODE)
		return RV_F_ERROR;
	return -1;
}

int rv_msg_decode(const uint8_t *buf, size_t len, struct rv_msg *m, struct rv_stun_msg *stun)
{
	struct rv_stun_msg local;
	struct rv_stun_msg *s = stun ? stun : &local;
	int rc;

	rc = rv_stun_decode(buf, len, 0, s);
	if (rc < 0)
		return rc;
	rc = rv_stun_check_fingerprint(s);
	if (rc < 0)
		return rc;
	if (s->nunknown)
		return RV_EUNKNOWNATTR;
	memset(m, 0, sizeof(*m));
	m->method = s->method;
	m->cls = s->cls;
	memcpy(m->txid, rv_stun_txid(s), RV_STUN_TXID_LEN);
	for (unsigned i = 0; i < s->nattrs; i++) {
		int f = field_of(s->attrs[i].type);

		if (f < 0)
			continue;
		rc = dec_field(m, (enum rv_field)f, s, &s->attrs[i]);
		if (rc < 0)
			return rc;
		m->present |= RV_BIT(f);
	}
	rc = check_rules(m->method, m->cls, m->present);
	if (rc < 0)
		return rc;
	if ((m->present & RV_BIT(RV_F_VERSION)) && m->version_major != RV_VERSION_MAJOR)
		return RV_EVERSION;
	return 0;
}

bool rv_msg_is_project(const uint8_t *buf, size_t len)
{
	uint16_t type, method;

	if (!rv_stun_is_stun(buf, len, false))
		return false;
	type = rv_get_u16(buf);
	method = (uint16_t)((type & 0x000f) | (type >> 1 & 0x0070) | (type >> 2 & 0x0f80));
	if (method >= RV_M_FIRST && method <= RV_M_LAST)
		return true;
	/* A probe: RV-PROBE is always a Binding's first attribute. */
	return method == RV_M_BINDING && len >= RV_STUN_HDR_LEN + 4 + RV_PROBE_LEN &&
	       rv_get_u16(buf + RV_STUN_HDR_LEN) == RV_A_PROBE;
}

/* --- construction helpers ---------------------------------------------------- */

void rv_msg_init(struct rv_msg *m, enum rv_method method, enum rv_stun_class cls,
                 const uint8_t txid[RV_STUN_TXID_LEN])
{
	memset(m, 0, sizeof(*m));
	m->method = (uint16_t)method;
	m->cls = (uint8_t)cls;
	memcpy(m->txid, txid, RV_STUN_TXID_LEN);
	if (method != RV_M_BINDING) {
		m->version_major = RV_VERSION_MAJOR;
		m->version_minor = RV_VERSION_MINOR;
		m->present = RV_BIT(RV_F_VERSION);
	}
}

void rv_msg_init_reply(struct rv_msg *m, const struct rv_msg *req, enum rv_stun_class cls)
{
	uint8_t txid[RV_STUN_TXID_LEN];

	memcpy(txid, req->txid, sizeof(txid)); /* req may alias m */
	rv_msg_init(m, (enum rv_method)req->method, cls, txid);
}

void rv_msg_set_error(struct rv_msg *m, enum rv_code code, const char *reason)
{
	m->error_code = (uint16_t)code;
	snprintf(m->error_reason, sizeof(m->error_reason), "%s",
	         reason ? reason : rv_code_str(code));
	m->present |= RV_BIT(RV_F_ERROR);
}
