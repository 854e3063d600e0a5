/* The project's messages: every method/class round-trips with every field it
 * may carry, the rules are enforced both ways, and hostile encodings fail. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"

static const uint8_t txid[12] = { 0x10, 0x21, 0x32, 0x43, 0x54, 0x65,
	                          0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb };

static struct rv_addr addr(const char *s)
{
	struct rv_addr a;
	cr_assert_eq(rv_addr_parse(s, 0, &a), 0, "%s", s);
	return a;
}

/* Give field f a distinctive, valid value. */
static void fill(struct rv_msg *m, enum rv_field f)
{
	switch (f) {
	case RV_F_VERSION:
		m->version_major = RV_VERSION_MAJOR;
		m->version_minor = 7;
		break;
	case RV_F_DEVICE_ID:
		m->device_id_len = 13;
		memcpy(m->device_id, "SN-0042-ABCDE", 13);
		break;
	case RV_F_NONCE:
		memset(m->nonce, 0xa5, RV_NONCE_LEN);
		m->nonce[31] = 1;
		break;
	case RV_F_SIGNATURE:
		for (int i = 0; i < RV_SIG_LEN; i++)
			m->signature[i] = (uint8_t)(i * 7);
		break;
	case RV_F_PUBKEY:
		for (int i = 0; i < RV_KEY_LEN; i++)
			m->pubkey[i] = (uint8_t)(255 - i);
		break;
	case RV_F_TICKET:
		m->ticket_len = 129; /* odd: exercises padding */
		for (int i = 0; i < 129; i++)
			m->ticket[i] = (uint8_t)(i ^ 0x5a);
		break;
	case RV_F_LOCATOR:
		memcpy(m->locator, "LOCATOR-16-BYTES", 16);
		break;
	case RV_F_SESSION:
		m->session = 0x0123456789abcdefull;
		break;
	case RV_F_LIFETIME:
		m->lifetime_s = 300;
		break;
	case RV_F_TIME:
		m->time_ms = 1795000000123ull;
		break;
	case RV_F_HOST_ADDRS:
		m->n_host_addrs = 3;
		m->host_addrs[0] = addr("10.0.1.2:40000");
		m->host_addrs[1] = addr("[fd00::2]:40000");
		m->host_addrs[2] = addr("192.168.7.9:1");
		break;
	case RV_F_NAT:
		m->nat = (struct rv_nat_info){ .type = RV_NAT_PORT_SYMMETRIC,
			                       .map = RV_MAP_APD,
			                       .filt = RV_FILT_APD,
			                       .alloc = RV_ALLOC_SEQUENTIAL,
			                       .delta = -2,
			                       .hops = 1,
			                       .flags = RV_NAT_FLAG_HAIRPIN,
			                       .lifetime_s = 120,
			                       .bg_rate_x10 = 55 };
		break;
	case RV_F_APP_ID:
		strcpy(m->app_id, "game:kart-racer/2");
		break;
	case RV_F_COMMUNITY:
		m->community.flags = RV_COMM_SEEKING;
		m->community.n = 2;
		m->community.attrs[0] = (struct rv_kv){ RV_KEY_LEVEL, 42 };
		m->community.attrs[1] = (struct rv_kv){ 300, -5 };
		break;
	case RV_F_NICKNAME:
		strcpy(m->nickname, "\xe3\x83\x9e\xe3\x83\x88 kart");
		break;
	case RV_F_REQUIRE:
		m->n_require = 2;
		m->require[0] = (struct rv_require){ RV_KEY_LEVEL, 30, 50 };
		m->require[1] = (struct rv_require){ RV_KEY_AGE_BAND, -1, -1 };
		break;
	case RV_F_COUNT:
		m->count = 5;
		break;
	case RV_F_OFFSET:
		m->offset = 24;
		break;
	case RV_F_LOCATORS:
		m->n_locators = 3;
		for (int i = 0; i < 3; i++)
			memset(m->locators[i], 'a' + i, RV_LOCATOR_LEN);
		break;
	case RV_F_PRESENCE:
		m->presence = 0x5;
		break;
	case RV_F_GROUP_OP:
		m->group_op = RV_GROUP_QUERY;
		break;
	case RV_F_GROUP_ID:
		strcpy(m->group_id, "team-blue");
		break;
	case RV_F_PEERS:
		m->n_peers = 2;
		memset(m->peers[0].locator, 'p', 16);
		m->peers[0].status = RV_ONLINE;
		m->peers[0].flags = RV_PEER_DIRECT;
		m->peers[0].nat_type = RV_NAT_RESTRICTED;
		m->peers[0].addr = addr("203.0.113.10:50000");
		strcpy(m->peers[0].nickname, "exactly-23-bytes-long!!");
		memset(m->peers[1].locator, 'q', 16);
		m->peers[1].status = RV_OFFLINE;
		break;
	case RV_F_VIA:
		memset(m->via, 'v', RV_LOCATOR_LEN);
		break;
	case RV_F_ATTEMPT:
		m->attempt = 77;
		break;
	case RV_F_ROLE:
		m->role =
		        (struct rv_role_info){ RV_ROLE_RECEIVER, RV_STRAT_E4, 2, RV_ROLE_SWAPPED };
		break;
	case RV_F_PEER_ADDR:
		m->peer_addr = addr("198.51.100.10:61000");
		break;
	case RV_F_TARGET:
		m->target = (struct rv_port_range){ 65530, 1030, 2, 9 };
		break;
	case RV_F_RANGE:
		m->range = (struct rv_port_range){ 10145, 10135, -5, 3 };
		break;
	case RV_F_DELTA:
		m->delta = -3;
		break;
	case RV_F_TTL:
		m->ttl = 2;
		break;
	case RV_F_PORTS:
		m->n_ports = 4;
		m->ports[0] = 1024, m->ports[1] = 1036, m->ports[2] = 1042, m->ports[3] = 65535;
		break;
	case RV_F_RESULT:
		m->result = (struct rv_result){ RV_RES_OK, RV_STRAT_E1, 812, 23 };
		break;
	case RV_F_DEADLINE:
		m->deadline_ms = 5000;
		break;
	case RV_F_PROBE:
		m->probe = (struct rv_probe){ 0xfeedface00112233ull,
			                      RV_PROBE_RANGE_AFTER,
			                      0,
			                      9,
			                      { 1, 2, 3, 4, 5, 6, 7, 8 } };
		break;
	case RV_F_KEY:
		memset(m->key, 0x6b, 16);
		break;
	case RV_F_RELAY:
		m->relay = (struct rv_relay_grant){ 0x0102030405060708ull, 0x4123, 1,
			                            50000000ull,           600,    2000 };
		break;
	case RV_F_MAPPED:
		m->mapped = addr("[2001:db8::77]:3478");
		break;
	case RV_F_ERROR:
		rv_msg_set_error(m, RV_C_BAD_TICKET, NULL);
		break;
	default:
		cr_assert_fail("no filler for field %d", f);
	}
	m->present |= RV_BIT(f);
}

static void assert_peer_eq(const struct rv_peer *a, const struct rv_peer *b)
{
	cr_assert_arr_eq(a->locator, b->locator, RV_LOCATOR_LEN);
	cr_assert_eq(a->status, b->status);
	cr_assert_eq(a->flags, b->flags);
	cr_assert_eq(a->nat_type, b->nat_type);
	cr_assert_eq(a->addr.family, b->addr.family);
	if (a->addr.family)
		cr_assert(rv_addr_eq(&a->addr, &b->addr));
	cr_assert_str_eq(a->nickname, b->nickname);
}

/* Field-by-field equality of everything present. */
static void assert_msg_eq(const struct rv_msg *a, const struct rv_msg *b)
{
	cr_assert_eq(a->method, b->method);
	cr_assert_eq(a->cls, b->cls);
	cr_assert_arr_eq(a->txid, b->txid, 12);
	cr_assert_eq(a->present, b->present, "present %llx vs %llx", (unsigned long long)a->present,
	             (unsigned long long)b->present);
	for (int f = 0; f < RV_F_COUNT_ALL; f++) {
		if (!(a->present & RV_BIT(f)))
			continue;
		switch (f) {
		case RV_F_VERSION:
			cr_assert_eq(a->version_major, b->version_major);
			cr_assert_eq(a->version_minor, b->version_minor);
			break;
		case RV_F_DEVICE_ID:
			cr_assert_eq(a->device_id_len, b->device_id_len);
			cr_assert_arr_eq(a->device_id, b->device_id, a->device_id_len);
			break;
		case RV_F_NONCE:
			cr_assert_arr_eq(a->nonce, b->nonce, RV_NONCE_LEN);
			break;
		case RV_F_SIGNATURE:
			cr_assert_arr_eq(a->signature, b->signature, RV_SIG_LEN);
			break;
		case RV_F_PUBKEY:
			cr_assert_arr_eq(a->pubkey, b->pubkey, RV_KEY_LEN);
			break;
		case RV_F_TICKET:
			cr_assert_eq(a->ticket_len, b->ticket_len);
			cr_assert_arr_eq(a->ticket, b->ticket, a->ticket_len);
			break;
		case RV_F_LOCATOR:
			cr_assert_arr_eq(a->locator, b->locator, RV_LOCATOR_LEN);
			break;
		case RV_F_SESSION:
			cr_assert_eq(a->session, b->session);
			break;
		case RV_F_LIFETIME:
			cr_assert_eq(a->lifetime_s, b->lifetime_s);
			break;
		case RV_F_TIME:
			cr_assert_eq(a->time_ms, b->time_ms);
			break;
		case RV_F_HOST_ADDRS:
			cr_assert_eq(a->n_host_addrs, b->n_host_addrs);
			for (int i = 0; i < a->n_host_addrs; i++)
				cr_assert(rv_addr_eq(&a->host_addrs[i], &b->host_addrs[i]));
			break;
		case RV_F_NAT:
			cr_assert_eq(a->nat.type, b->nat.type);
			cr_assert_eq(a->nat.map, b->nat.map);
			cr_assert_eq(a->nat.filt, b->nat.filt);
			cr_assert_eq(a->nat.alloc, b->nat.alloc);
			cr_assert_eq(a->nat.delta, b->nat.delta);
			cr_assert_eq(a->nat.hops, b->nat.hops);
			cr_assert_eq(a->nat.flags, b->nat.flags);
			cr_assert_eq(a->nat.lifetime_s, b->nat.lifetime_s);
			cr_assert_eq(a->nat.bg_rate_x10, b->nat.bg_rate_x10);
			break;
		case RV_F_APP_ID:
			cr_assert_str_eq(a->app_id, b->app_id);
			break;
		case RV_F_COMMUNITY:
			cr_assert_eq(a->community.flags, b->community.flags);
			cr_assert_eq(a->community.n, b->community.n);
			for (int i = 0; i < a->community.n; i++) {
				cr_assert_eq(a->community.attrs[i].key, b->community.attrs[i].key);
				cr_assert_eq(a->community.attrs[i].value,
				             b->community.attrs[i].value);
			}
			break;
		case RV_F_NICKNAME:
			cr_assert_str_eq(a->nickname, b->nickname);
			break;
		case RV_F_REQUIRE:
			cr_assert_eq(a->n_require, b->n_require);
			for (int i = 0; i < a->n_require; i++) {
				cr_assert_eq(a->require[i].key, b->require[i].key);
				cr_assert_eq(a->require[i].min, b->require[i].min);
				cr_assert_eq(a->require[i].max, b->require[i].max);
			}
			break;
		case RV_F_COUNT:
			cr_assert_eq(a->count, b->count);
			break;
		case RV_F_OFFSET:
			cr_assert_eq(a->offset, b->offset);
			break;
		case RV_F_LOCATORS:
			cr_assert_eq(a->n_locators, b->n_locators);
			cr_assert_arr_eq(a->locators, b->locators, 16u * a->n_locators);
			break;
		case RV_F_PRESENCE:
			cr_assert_eq(a->presence, b->presence);
			break;
		case RV_F_GROUP_OP:
			cr_assert_eq(a->group_op, b->group_op);
			break;
		case RV_F_GROUP_ID:
			cr_assert_str_eq(a->group_id, b->group_id);
			break;
		case RV_F_PEERS:
			cr_assert_eq(a->n_peers, b->n_peers);
			for (int i = 0; i < a->n_peers; i++)
				assert_peer_eq(&a->peers[i], &b->peers[i]);
			break;
		case RV_F_VIA:
			cr_assert_arr_eq(a->via, b->via, RV_LOCATOR_LEN);
			break;
		case RV_F_ATTEMPT:
			cr_assert_eq(a->attempt, b->attempt);
			break;
		case RV_F_ROLE:
			cr_assert_eq(a->role.role, b->role.role);
			cr_assert_eq(a->role.strategy, b->role.strategy);
			cr_assert_eq(a->role.step, b->role.step);
			cr_assert_eq(a->role.flags, b->role.flags);
			break;
		case RV_F_PEER_ADDR:
			cr_assert(rv_addr_eq(&a->peer_addr, &b->peer_addr));
			break;
		case RV_F_TARGET:
		case RV_F_RANGE: {
			const struct rv_port_range *x = f == RV_F_TARGET ? &a->target : &a->range;
			const struct rv_port_range *y = f == RV_F_TARGET ? &b->target : &b->range;
			cr_assert_eq(x->first, y->first);
			cr_assert_eq(x->last, y->last);
			cr_assert_eq(x->step, y->step);
			cr_assert_eq(x->count, y->count);
			break;
		}
		case RV_F_DELTA:
			cr_assert_eq(a->delta, b->delta);
			break;
		case RV_F_TTL:
			cr_assert_eq(a->ttl, b->ttl);
			break;
		case RV_F_PORTS:
			cr_assert_eq(a->n_ports, b->n_ports);
			cr_assert_arr_eq(a->ports, b->ports, 2u * a->n_ports);
			break;
		case RV_F_RESULT:
			cr_assert_eq(a->result.code, b->result.code);
			cr_assert_eq(a->result.strategy, b->result.strategy);
			cr_assert_eq(a->result.elapsed_ms, b->result.elapsed_ms);
			cr_assert_eq(a->result.packets, b->result.packets);
			break;
		case RV_F_DEADLINE:
			cr_assert_eq(a->deadline_ms, b->deadline_ms);
			break;
		case RV_F_PROBE:
			cr_assert_eq(a->probe.session, b->probe.session);
			cr_assert_eq(a->probe.kind, b->probe.kind);
			cr_assert_eq(a->probe.flags, b->probe.flags);
			cr_assert_eq(a->probe.seq, b->probe.seq);
			cr_assert_arr_eq(a->probe.mac, b->probe.mac, 8);
			break;
		case RV_F_KEY:
			cr_assert_arr_eq(a->key, b->key, 16);
			break;
		case RV_F_RELAY:
			cr_assert_eq(a->relay.relay, b->relay.relay);
			cr_assert_eq(a->relay.channel, b->relay.channel);
			cr_assert_eq(a->relay.side, b->relay.side);
			cr_assert_eq(a->relay.quota_bytes, b->relay.quota_bytes);
			cr_assert_eq(a->relay.lifetime_s, b->relay.lifetime_s);
			cr_assert_eq(a->relay.rate_pps, b->relay.rate_pps);
			break;
		case RV_F_MAPPED:
			cr_assert(rv_addr_eq(&a->mapped, &b->mapped));
			break;
		case RV_F_ERROR:
			cr_assert_eq(a->error_code, b->error_code);
			cr_assert_str_eq(a->error_reason, b->error_reason);
			break;
		default:
			cr_assert_fail("field %d not compared", f);
		}
	}
}

struct kind {
	uint16_t method;
	uint8_t cls;
};

/* Every method in both classes, plus the error class of each. */
ParameterizedTestParameters(msg, every_message_round_trips_with_every_field_it_may_carry)
{
	static struct kind kinds[3 * (RV_M_LAST - RV_M_FIRST + 2)];
	static size_t n;
	uint16_t methods[RV_M_LAST - RV_M_FIRST + 2];
	size_t nm = 0;

	if (!n) {
		methods[nm++] = RV_M_BINDING;
		for (uint16_t mth = RV_M_FIRST; mth <= RV_M_LAST; mth++)
			methods[nm++] = mth;
		for (size_t i = 0; i < nm; i++) {
			kinds[n++] = (struct kind){ methods[i], RV_STUN_REQUEST };
			kinds[n++] = (struct kind){ methods[i], RV_STUN_SUCCESS };
			kinds[n++] = (struct kind){ methods[i], RV_STUN_ERROR };
		}
	}
	return cr_make_param_array(struct kind, kinds, n);
}

static void fill_all(struct rv_msg *m, uint16_t method, uint8_t cls, bool optional)
{
	uint64_t req, allowed;

	cr_assert(rv_msg_rules(method, cls, &req, &allowed), "no rule for %s/%d",
	          rv_method_str(method), cls);
	rv_msg_init(m, (enum rv_method)method, cls, txid);
	m->present = 0;
	for (int f = 0; f < RV_F_COUNT_ALL; f++)
		if ((optional ? allowed : req) & RV_BIT(f))
			fill(m, (enum rv_field)f);
}

ParameterizedTest(struct kind *k, msg, every_message_round_trips_with_every_field_it_may_carry)
{
	for (int optional = 0; optional < 2; optional++) {
		struct rv_msg in, out;
		uint8_t buf[2048];
		int n;

		fill_all(&in, k->method, k->cls, optional);
		n = rv_msg_encode(&in, buf, sizeof(buf), NULL, 0);
		cr_assert_gt(n, 0, "%s/%d encode: %s", rv_method_str(k->method), k->cls,
		             rv_strerror(n));
		cr_assert_lt(n, 1200, "%s/%d is %d bytes: keep under a safe MTU",
		             rv_method_str(k->method), k->cls, n);
		int rc = rv_msg_decode(buf, (size_t)n, &out, NULL);
		cr_assert_eq(rc, 0, "%s/%d decode: %s", rv_method_str(k->method), k->cls,
		             rv_strerror(rc));
		assert_msg_eq(&in, &out);

		/* Decode -> encode reproduces the same bytes. */
		uint8_t again[2048];
		cr_assert_eq(rv_msg_encode(&out, again, sizeof(again), NULL, 0), n);
		cr_assert_arr_eq(again, buf, (size_t)n);

		/* Every single-bit flip is caught (FINGERPRINT is mandatory). */
		for (int byte = 0; byte < n; byte++) {
			buf[byte] ^= 0x10;
			cr_assert_lt(rv_msg_decode(buf, (size_t)n, &out, NULL), 0, "%s/%d byte %d",
			             rv_method_str(k->method), k->cls, byte);
			buf[byte] ^= 0x10;
		}
		/* Truncation at every offset, in an exact-size heap copy. */
		for (int cut = 0; cut < n; cut++) {
			uint8_t *p = malloc((size_t)cut + 1);
			memcpy(p, buf, (size_t)cut);
			cr_assert_lt(rv_msg_decode(p, (size_t)cut, &out, NULL), 0);
			free(p);
		}
	}
}

Test(msg, encode_refuses_missing_and_unexpected_fields)
{
	struct rv_msg m;
	uint8_t buf[1024];

	rv_msg_init(&m, RV_M_REGISTER, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_TICKET);
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_EMISSING); /* TIME */
	fill(&m, RV_F_TIME);
	cr_assert_gt(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), 0);
	fill(&m, RV_F_PROBE);
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_EUNEXPECTED);
	rv_msg_init(&m, 0xE0F, RV_STUN_REQUEST, txid);
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_EMETHOD);
}

/* Build a message attribute by attribute, bypassing rv_msg_encode's checks,
 * to see what the decoder does with what a hostile sender can write. */
struct raw {
	uint16_t type;
	const void *val;
	size_t len;
};

static int decode_raw(uint16_t method, uint8_t cls, const struct raw *attrs, size_t n,
                      struct rv_msg *out)
{
	uint8_t buf[2048];
	struct rv_stun_enc e;

	rv_stun_enc_init(&e, buf, sizeof(buf), method, cls, txid);
	for (size_t i = 0; i < n; i++)
		rv_stun_enc_attr(&e, attrs[i].type, attrs[i].val, attrs[i].len);
	rv_stun_enc_fingerprint(&e);
	int len = rv_stun_enc_finish(&e);
	cr_assert_gt(len, 0);
	return rv_msg_decode(buf, (size_t)len, out, NULL);
}

#define T(f) (uint16_t)(RV_A_BASE + (f))
static const uint8_t ver1[4] = { RV_VERSION_MAJOR, 0, 0, 0 };
static const uint8_t dev[5] = "dev-1";

Test(msg, decode_enforces_rules_version_and_unknown_attributes)
{
	struct rv_msg m;
	const uint8_t ver2[4] = { 2, 0, 0, 0 };
	const uint8_t sess[8] = { 1 };

	struct raw ok[] = { { T(RV_F_VERSION), ver1, 4 }, { T(RV_F_DEVICE_ID), dev, 5 } };
	cr_assert_eq(decode_raw(RV_M_HELLO, RV_STUN_REQUEST, ok, 2, &m), 0);
	cr_assert_eq(m.device_id_len, 5);

	struct raw missing[] = { { T(RV_F_VERSION), ver1, 4 } };
	cr_assert_eq(decode_raw(RV_M_HELLO, RV_STUN_REQUEST, missing, 1, &m), RV_EMISSING);

	struct raw extra[] = { { T(RV_F_VERSION), ver1, 4 },
		               { T(RV_F_DEVICE_ID), dev, 5 },
		               { T(RV_F_SESSION), sess, 8 } };
	cr_assert_eq(decode_raw(RV_M_HELLO, RV_STUN_REQUEST, extra, 3, &m), RV_EUNEXPECTED);

	struct raw v2[] = { { T(RV_F_VERSION), ver2, 4 }, { T(RV_F_DEVICE_ID), dev, 5 } };
	cr_assert_eq(decode_raw(RV_M_HELLO, RV_STUN_REQUEST, v2, 2, &m), RV_EVERSION);

	/* A newer minor version's optional attribute is ignored... */
	struct raw newer[] = { { T(RV_F_VERSION), ver1, 4 },
		               { T(RV_F_DEVICE_ID), dev, 5 },
		               { 0xC7F0, "future", 6 } };
	cr_assert_eq(decode_raw(RV_M_HELLO, RV_STUN_REQUEST, newer, 3, &m), 0);
	/* ...but an unknown comprehension-required one is refused. */
	struct raw req[] = { { T(RV_F_VERSION), ver1, 4 },
		             { T(RV_F_DEVICE_ID), dev, 5 },
		             { 0x0031, "x", 1 } };
	cr_assert_eq(decode_raw(RV_M_HELLO, RV_STUN_REQUEST, req, 3, &m), RV_EUNKNOWNATTR);

	/* Unknown project method, and a plain Binding without a probe. */
	cr_assert_eq(decode_raw(0xE0F, RV_STUN_REQUEST, ok, 2, &m), RV_EMETHOD);
	cr_assert_eq(decode_raw(RV_M_BINDING, RV_STUN_REQUEST, NULL, 0, &m), RV_EMISSING);
}

Test(msg, decode_refuses_out_of_bound_field_values)
{
	struct rv_msg m;
	uint8_t big[200] = { 0 };
	const uint8_t bad_utf8[3] = { 'a', 0xc0, 0x80 };
	const uint8_t op9[4] = { 9, 0, 0, 0 };
	const uint8_t nat_bad[12] = { RV_NAT_TYPE_COUNT };
	const uint8_t zero_delta[4] = { 0 };
	const uint8_t sess[8] = { 1 };
	/* RV-RELAY: id 1, channel 0x4001, side 0 — then each field broken. */
	const uint8_t relay_ch[28] = { 0, 0, 0, 0, 0, 0, 0, 1, 0x50, 0x01 };
	const uint8_t relay_side[28] = { 0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0x01, 2 };
	const uint8_t relay_rsv[28] = { 0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0x01, 0, 1 };
	const uint8_t relay_id0[28] = { 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x01 };
	struct {
		uint16_t method;
		struct raw attr;
		int want;
	} cases[] = {
		{ RV_M_HELLO, { T(RV_F_DEVICE_ID), big, 0 }, RV_EATTR },
		{ RV_M_HELLO, { T(RV_F_DEVICE_ID), big, 65 }, RV_EATTR },
		{ RV_M_GROUP, { T(RV_F_GROUP_ID), big, 33 }, RV_EATTR },
		{ RV_M_GROUP, { T(RV_F_GROUP_ID), bad_utf8, 3 }, RV_ESTRING },
		{ RV_M_GROUP, { T(RV_F_GROUP_OP), op9, 4 }, RV_EATTR },
		{ RV_M_REPORT, { T(RV_F_NAT), nat_bad, 12 }, RV_EATTR },
		{ RV_M_REPORT, { T(RV_F_NAT), nat_bad, 8 }, RV_EATTR },
		{ RV_M_REPORT, { T(RV_F_DELTA), zero_delta, 4 }, RV_EATTR },
		{ RV_M_REPORT, { T(RV_F_PORTS), big, 66 }, RV_ETOOMANY },
		{ RV_M_REPORT, { T(RV_F_PORTS), big, 3 }, RV_EATTR },
		{ RV_M_REPORT, { T(RV_F_RANGE), big, 8 }, RV_EATTR }, /* count 0 */
		{ RV_M_PRESENCE, { T(RV_F_LOCATORS), big, 17 }, RV_EATTR },
		{ RV_M_PRESENCE, { T(RV_F_LOCATORS), big, 0 }, RV_ETOOMANY },
		{ RV_M_REGISTER, { T(RV_F_TICKET), big, 193 }, RV_EATTR },
		{ RV_M_REGISTER, { T(RV_F_HOST_ADDRS), big, 20 }, RV_EFAMILY },
		{ RV_M_REGISTER, { T(RV_F_HOST_ADDRS), big, 21 }, RV_EATTR },
		{ RV_M_REGISTER, { T(RV_F_SESSION), sess, 7 }, RV_EATTR },
		{ RV_M_INSTRUCT, { T(RV_F_RELAY), relay_ch, 28 }, RV_EATTR },
		{ RV_M_INSTRUCT, { T(RV_F_RELAY), relay_side, 28 }, RV_EATTR },
		{ RV_M_INSTRUCT, { T(RV_F_RELAY), relay_rsv, 28 }, RV_EATTR },
		{ RV_M_INSTRUCT, { T(RV_F_RELAY), relay_id0, 28 }, RV_EATTR },
		{ RV_M_INSTRUCT, { T(RV_F_RELAY), relay_ch, 24 }, RV_EATTR },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw attrs[2] = { { T(RV_F_VERSION), ver1, 4 }, cases[i].attr };
		cr_assert_eq(
		        decode_raw(cases[i].method, RV_STUN_REQUEST, attrs, 2, &m), cases[i].want,
		        "case %zu: got %s", i,
		        rv_strerror(decode_raw(cases[i].method, RV_STUN_REQUEST, attrs, 2, &m)));
	}
}

Test(msg, encode_refuses_out_of_bound_field_values)
{
	struct rv_msg m;
	uint8_t buf[2048];

	rv_msg_init(&m, RV_M_HELLO, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_DEVICE_ID);
	m.device_id_len = 0;
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_ERANGE);
	m.device_id_len = RV_DEVICE_ID_MAX + 1;
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_ERANGE);

	rv_msg_init(&m, RV_M_REGISTER, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_TICKET);
	fill(&m, RV_F_TIME);
	fill(&m, RV_F_NICKNAME);
	strcpy(m.nickname, "bad \xff utf8");
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_ESTRING);
	strcpy(m.nickname, "ok");
	m.n_host_addrs = RV_HOST_ADDRS + 1;
	m.present |= RV_BIT(RV_F_HOST_ADDRS);
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_ETOOMANY);

	rv_msg_init(&m, RV_M_INSTRUCT, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_ATTEMPT);
	fill(&m, RV_F_ROLE);
	m.role.role = 9;
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_ERANGE);
	fill(&m, RV_F_ROLE);
	fill(&m, RV_F_RANGE);
	m.range.count = 0;
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_ERANGE);
	fill(&m, RV_F_RANGE);
	fill(&m, RV_F_PEER_ADDR);
	m.peer_addr.family = 0;
	cr_assert_eq(rv_msg_encode(&m, buf, sizeof(buf), NULL, 0), RV_EFAMILY);

	/* Too small a buffer. */
	rv_msg_init(&m, RV_M_HELLO, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_DEVICE_ID);
	cr_assert_eq(rv_msg_encode(&m, buf, 30, NULL, 0), RV_ENOSPC);
}

Test(msg, integrity_sha256_is_added_and_checkable_with_the_session_key)
{
	struct rv_msg m, out;
	struct rv_stun_msg s;
	uint8_t buf[512];
	const uint8_t key[32] = { 1, 2, 3 };
	int n;

	rv_msg_init(&m, RV_M_REFRESH, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_SESSION);
	fill(&m, RV_F_TIME);
	n = rv_msg_encode(&m, buf, sizeof(buf), key, sizeof(key));
	cr_assert_gt(n, 0);
	cr_assert_eq(rv_msg_decode(buf, (size_t)n, &out, &s), 0);
	cr_assert_eq(rv_stun_check_integrity_sha256(&s, key, sizeof(key)), 0);
	/* HMAC zero-pads short keys, so change a byte, not the length. */
	const uint8_t other[32] = { 1, 2, 4 };
	cr_assert_eq(rv_stun_check_integrity_sha256(&s, other, sizeof(other)), RV_EINTEGRITY);
	n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert_eq(rv_msg_decode(buf, (size_t)n, &out, &s), 0);
	cr_assert_eq(rv_stun_check_integrity_sha256(&s, key, sizeof(key)), RV_ENOINTEGRITY);
}

Test(msg, fingerprint_is_mandatory)
{
	uint8_t buf[128];
	struct rv_stun_enc e;
	struct rv_msg m;

	rv_stun_enc_init(&e, buf, sizeof(buf), RV_M_HELLO, RV_STUN_REQUEST, txid);
	rv_stun_enc_attr(&e, T(RV_F_VERSION), ver1, 4);
	rv_stun_enc_attr(&e, T(RV_F_DEVICE_ID), dev, 5);
	cr_assert_eq(rv_msg_decode(buf, (size_t)rv_stun_enc_finish(&e), &m, NULL), RV_EMISSING);
}

Test(msg, error_reply_carries_code_and_standard_phrase)
{
	struct rv_msg req, m, out;
	uint8_t buf[256];

	rv_msg_init(&req, RV_M_AUTH, RV_STUN_REQUEST, txid);
	rv_msg_init_reply(&m, &req, RV_STUN_ERROR);
	rv_msg_set_error(&m, RV_C_REPLAYED_NONCE, NULL);
	int n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert_gt(n, 0);
	cr_assert_eq(rv_msg_decode(buf, (size_t)n, &out, NULL), 0);
	cr_assert_eq(out.method, RV_M_AUTH);
	cr_assert_eq(out.cls, RV_STUN_ERROR);
	cr_assert_arr_eq(out.txid, txid, 12);
	cr_assert_eq(out.error_code, 462);
	cr_assert_str_eq(out.error_reason, "Replayed Nonce");
}

Test(msg, demux_tells_project_messages_and_probes_from_plain_stun)
{
	struct rv_msg m;
	uint8_t buf[256];
	struct rv_stun_enc e;
	int n;

	rv_msg_init(&m, RV_M_HELLO, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_DEVICE_ID);
	n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert(rv_msg_is_project(buf, (size_t)n));
	rv_msg_init(&m, RV_M_BINDING, RV_STUN_REQUEST, txid);
	fill(&m, RV_F_PROBE);
	n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert(rv_msg_is_project(buf, (size_t)n));
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid);
	rv_stun_enc_fingerprint(&e);
	cr_assert(!rv_msg_is_project(buf, (size_t)rv_stun_enc_finish(&e)));
	cr_assert(!rv_msg_is_project((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18));
}

Test(msg, every_enum_has_a_name)
{
	for (uint16_t mth = RV_M_FIRST; mth <= RV_M_LAST; mth++)
		cr_assert_str_neq(rv_method_str(mth), "?");
	cr_assert_str_eq(rv_method_str(RV_M_BINDING), "binding");
	cr_assert_str_eq(rv_method_str(0xE0F), "?");
	for (int f = 0; f < RV_F_COUNT_ALL; f++)
		cr_assert_str_neq(rv_field_str((enum rv_field)f), "?");
	for (int s = 0; s < RV_STRAT_COUNT; s++)
		cr_assert_str_neq(rv_strategy_str((enum rv_strategy)s), "?");
	for (int k = RV_PROBE_DELTA; k < RV_PROBE_KIND_COUNT; k++)
		cr_assert_str_neq(rv_probe_kind_str((enum rv_probe_kind)k), "?");
	for (int r = 0; r < RV_RES_COUNT; r++)
		cr_assert_str_neq(rv_result_str((enum rv_result_code)r), "?");
	const int codes[] = { 400, 401, 403, 420, 438, 460, 461, 462, 463, 464, 465, 466,
		              467, 468, 469, 470, 471, 472, 473, 474, 475, 500, 508 };
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		cr_assert_str_neq(rv_code_str(codes[i]), "Error", "code %d", codes[i]);
}

Test(utf8, accepts_valid_and_refuses_overlong_surrogate_nul_and_truncated)
{
	struct {
		const char *s;
		size_t n;
		bool ok;
	} cases[] = {
		{ "plain", 5, true },
		{ "\xe3\x83\x9e", 3, true },     /* U+30DE */
		{ "\xf0\x9f\x98\x80", 4, true }, /* U+1F600 */
		{ "\xc2\xa0", 2, true },         /* U+00A0 */
		{ "", 0, true },
		{ "\xc0\x80", 2, false },         /* overlong NUL */
		{ "\xe0\x80\xaf", 3, false },     /* overlong '/' */
		{ "\xed\xa0\x80", 3, false },     /* surrogate */
		{ "\xf4\x90\x80\x80", 4, false }, /* > U+10FFFF */
		{ "\xe3\x83", 2, false },         /* truncated */
		{ "a\0b", 3, false },             /* NUL */
		{ "\x80", 1, false },             /* lone continuation */
		{ "\xff", 1, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(rv_utf8_valid((const uint8_t *)cases[i].s, cases[i].n), cases[i].ok,
		             "case %zu", i);
}

Test(probe, mac_verifies_and_any_change_breaks_it)
{
	const uint8_t key[16] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
		                  0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0 };
	struct rv_probe p = { .session = 42, .kind = RV_PROBE_DELTA, .seq = 3 };
	uint8_t t[12];

	memcpy(t, txid, 12);
	rv_probe_mac(key, t, &p, NULL, p.mac);
	cr_assert(rv_probe_verify(key, t, &p, NULL));
	t[11] ^= 1;
	cr_assert(!rv_probe_verify(key, t, &p, NULL), "txid is covered");
	t[11] ^= 1;
	p.seq++;
	cr_assert(!rv_probe_verify(key, t, &p, NULL), "seq is covered");
	p.seq--;
	p.kind = RV_PROBE_RANGE_BEFORE;
	cr_assert(!rv_probe_verify(key, t, &p, NULL), "kind is covered");
	p.kind = RV_PROBE_DELTA;
	p.session++;
	cr_assert(!rv_probe_verify(key, t, &p, NULL), "session is covered");
	p.session--;
	uint8_t other[16] = { 0 };
	cr_assert(!rv_probe_verify(other, t, &p, NULL), "key matters");
	cr_assert(rv_probe_verify(key, t, &p, NULL));
}

Test(probe, reply_mac_binds_the_observed_address)
{
	const uint8_t key[16] = { 7 };
	struct rv_probe p = {
		.session = 1, .kind = RV_PROBE_RANGE_AFTER, .seq = 1, .flags = RV_PROBE_REPLY
	};
	struct rv_addr obs = addr("198.51.100.10:10140"), other = obs;

	rv_probe_mac(key, txid, &p, &obs, p.mac);
	cr_assert(rv_probe_verify(key, txid, &p, &obs));
	other.port++;
	cr_assert(!rv_probe_verify(key, txid, &p, &other));
	other = addr("198.51.100.11:10140");
	cr_assert(!rv_probe_verify(key, txid, &p, &other));
	/* The request MAC (no reply flag) differs from the reply MAC. */
	struct rv_probe req = p;
	req.flags = 0;
	rv_probe_mac(key, txid, &req, NULL, req.mac);
	cr_assert_neq(memcmp(req.mac, p.mac, 8), 0);
}

Test(probe, attribute_bytes_round_trip)
{
	struct rv_probe p = { 0x0102030405060708ull,
		              RV_PROBE_CHARACTERISTIC,
		              RV_PROBE_REPLY,
		              0xbeef,
		              { 9, 8, 7, 6, 5, 4, 3, 2 } },
	                q;
	uint8_t raw[RV_PROBE_LEN];
	const uint8_t want[RV_PROBE_LEN] = { 1,    2,    3, 4, 5, 6, 7, 8, 4, 0x80,
		                             0xbe, 0xef, 9, 8, 7, 6, 5, 4, 3, 2 };

	rv_probe_write(raw, &p);
	cr_assert_arr_eq(raw, want, RV_PROBE_LEN);
	rv_probe_read(raw, &q);
	cr_assert_eq(q.session, p.session);
	cr_assert_eq(q.kind, p.kind);
	cr_assert_eq(q.flags, p.flags);
	cr_assert_eq(q.seq, p.seq);
	cr_assert_arr_eq(q.mac, p.mac, 8);
}
