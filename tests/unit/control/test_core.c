/* rvcontrol's request handling end to end, with a real store, real keys
 * and an injected clock: a device authenticates, registers, refreshes, looks
 * others up, uses groups and leaves; every hostile variant gets its error
 * code and changes nothing. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_core.h"
#include "control/ctl_devices.h"
#include "proto/keys.h"
#include "proto/ticket.h"

#define T0 1795000000000ull /* the injected clock's start, Unix ms */

static char dir[64];
static struct ctl_store *st;
static struct ctl ctl;

/* What the sink saw: every datagram (a ring of the latest), and rvdp's
 * messages by type. */
#define LOG 64
static struct {
	struct ctl_from to;
	size_t len;
	uint8_t buf[1500];
} sent[LOG];
static uint8_t last[2048];
static size_t last_len;
static unsigned n_sent, n_set, n_del, n_flush, n_obsq, n_rset, n_rdel, n_rq;
static uint64_t last_set_session;
static struct rv_dpc last_obsq, last_rset;

static void on_send(void *ctx, const struct ctl_from *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	cr_assert_leq(len, sizeof(last));
	memcpy(last, buf, len);
	last_len = len;
	sent[n_sent % LOG].to = *to;
	sent[n_sent % LOG].len = len;
	memcpy(sent[n_sent % LOG].buf, buf, len);
	n_sent++;
}

static void on_dp(void *ctx, const struct rv_dpc *m)
{
	(void)ctx;
	if (m->type == RV_DPC_SESSION_SET) {
		n_set++;
		last_set_session = m->session;
	} else if (m->type == RV_DPC_SESSION_DEL) {
		n_del++;
	} else if (m->type == RV_DPC_FLUSH) {
		n_flush++;
	} else if (m->type == RV_DPC_OBS_QUERY) {
		n_obsq++;
		last_obsq = *m;
	} else if (m->type == RV_DPC_RELAY_SET) {
		n_rset++;
		last_rset = *m;
	} else if (m->type == RV_DPC_RELAY_DEL) {
		n_rdel++;
	} else if (m->type == RV_DPC_RELAY_QUERY) {
		n_rq++;
	}
}

static const struct ctl_sink sink = { on_send, on_dp, NULL };

/* A device of the maker's registry. */
struct device {
	char id[32];
	uint8_t pk[32], sk[64];
	uint8_t hpk[32], hsk[32]; /* holder key for the ticket */
	uint8_t locator[16];
	uint8_t ticket[RV_TICKET_LEN];
	uint8_t kx_pk[32];
	uint64_t session;
	uint8_t msg_key[32];
	struct ctl_from from;
	uint64_t clock;
};

static struct device dev_a, dev_b;

static void make_device(struct device *d, const char *id, uint8_t seed, const char *addr)
{
	uint8_t s[32];

	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", id);
	memset(s, seed, sizeof(s));
	crypto_sign_seed_keypair(d->pk, d->sk, s);
	rv_kx_keypair(d->hpk, d->hsk);
	cr_assert_eq(rv_addr_parse(addr, 0, &d->from.src), 0);
	cr_assert_eq(rv_addr_parse("192.0.2.1:3478", 0, &d->from.local), 0);
	d->from.via_dp = true;
	d->clock = T0;
}

static void setup(void)
{
	char err[256], path[128], reg[400], hex[65];
	struct ctl_keys keys;
	struct ctl_conf conf;
	struct ctl_device devs[2];

	cr_assert_geq(sodium_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/rvctl-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);
	cr_assert_eq(ctl_keys_generate(path, false, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ctl_keys_load(&keys, path, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/db", dir);
	st = ctl_store_open(path, false, err, sizeof(err));
	cr_assert_not_null(st, "%s", err);
	ctl_conf_defaults(&conf);
	snprintf(conf.keys, sizeof(conf.keys), "%s/keys", dir);
	cr_assert_eq(ctl_init(&ctl, &conf, &keys, st, err, sizeof(err)), 0, "%s", err);

	make_device(&dev_a, "SN-A-0001", 1, "198.51.100.10:40000");
	make_device(&dev_b, "SN-B-0002", 2, "203.0.113.10:50000");
	/* Import through the registry file format, as the admin would. */
	int n = 0;
	struct device *ds[2] = { &dev_a, &dev_b };
	for (int i = 0; i < 2; i++) {
		rv_hex_encode(ds[i]->pk, 32, hex);
		n += snprintf(reg + n, sizeof(reg) - (size_t)n, "%s %s\n", ds[i]->id, hex);
	}
	cr_assert_eq(ctl_devices_parse(reg, (size_t)n, devs, 2, err, sizeof(err)), 2, "%s", err);
	cr_assert_eq(ctl_store_device_import(st, devs, 2), 0);
	n_sent = n_set = n_del = n_flush = n_obsq = n_rset = n_rdel = n_rq = 0;
}

static void teardown(void)
{
	char cmd[128];

	ctl_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Send m from d (signed with key if given) and decode its answer, found by
 * transaction ID among whatever else the request made the server send. */
static void exchange(struct device *d, struct rv_msg *m, const uint8_t *key, size_t keylen,
                     struct rv_msg *ans, struct rv_stun_msg *ans_stun)
{
	uint8_t buf[1500];
	int n = rv_msg_encode(m, buf, sizeof(buf), key, keylen);
	unsigned before = n_sent;

	cr_assert_gt(n, 0, "%s", rv_strerror(n));
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_handle(&ctl, buf, (size_t)n, &d->from, d->clock, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	for (unsigned i = before; i < n_sent; i++) {
		if (rv_msg_decode(sent[i % LOG].buf, sent[i % LOG].len, ans, ans_stun) == 0 &&
		    !memcmp(ans->txid, m->txid, 12)) {
			cr_assert(rv_addr_eq(&sent[i % LOG].to.src, &d->from.src),
			          "the answer goes back to the asker");
			return;
		}
	}
	cr_assert_fail("no answer to %s", rv_method_str(m->method));
}

static void txid(uint8_t t[12])
{
	randombytes_buf(t, 12);
}

static void hello(struct device *d, struct rv_msg *ans)
{
	struct rv_msg m;
	uint8_t t[12];

	txid(t);
	rv_msg_init(&m, RV_M_HELLO, RV_STUN_REQUEST, t);
	m.device_id_len = (uint8_t)strlen(d->id);
	memcpy(m.device_id, d->id, m.device_id_len);
	m.present |= RV_BIT(RV_F_DEVICE_ID);
	exchange(d, &m, NULL, 0, ans, NULL);
	cr_assert_eq(ans->cls, RV_STUN_SUCCESS);
}

static void auth_msg(struct device *d, const uint8_t nonce[32], const uint8_t *sk, struct rv_msg *m)
{
	uint8_t t[12];

	txid(t);
	rv_msg_init(m, RV_M_AUTH, RV_STUN_REQUEST, t);
	m->device_id_len = (uint8_t)strlen(d->id);
	memcpy(m->device_id, d->id, m->device_id_len);
	memcpy(m->nonce, nonce, 32);
	memcpy(m->pubkey, d->hpk, 32);
	cr_assert_eq(
	        rv_auth_proof_sign(sk, nonce, d->hpk, m->device_id, m->device_id_len, m->signature),
	        0);
	m->present |= RV_BIT(RV_F_DEVICE_ID) | RV_BIT(RV_F_NONCE) | RV_BIT(RV_F_PUBKEY) |
	              RV_BIT(RV_F_SIGNATURE);
}

static int authenticate(struct device *d)
{
	struct rv_msg h, m, ans;

	hello(d, &h);
	auth_msg(d, h.nonce, d->sk, &m);
	exchange(d, &m, NULL, 0, &ans, NULL);
	if (ans.cls == RV_STUN_ERROR)
		return ans.error_code;
	memcpy(d->locator, ans.locator, 16);
	cr_assert_eq(ans.ticket_len, RV_TICKET_LEN);
	memcpy(d->ticket, ans.ticket, RV_TICKET_LEN);
	cr_assert(ans.present & RV_BIT(RV_F_PUBKEY));
	memcpy(d->kx_pk, ans.pubkey, 32);
	return 0;
}

static void reg_msg(struct device *d, struct rv_msg *m)
{
	uint8_t t[12];

	txid(t);
	rv_msg_init(m, RV_M_REGISTER, RV_STUN_REQUEST, t);
	memcpy(m->ticket, d->ticket, RV_TICKET_LEN);
	m->ticket_len = RV_TICKET_LEN;
	m->time_ms = d->clock;
	m->nat = (struct rv_nat_info){ .type = RV_NAT_PORT_RESTRICTED,
		                       .map = RV_MAP_EI,
		                       .filt = RV_FILT_APD,
		                       .alloc = RV_ALLOC_SEQUENTIAL,
		                       .delta = 1 };
	m->n_host_addrs = 1;
	cr_assert_eq(rv_addr_parse("10.0.1.2:40000", 0, &m->host_addrs[0]), 0);
	strcpy(m->nickname, d->id);
	m->present |= RV_BIT(RV_F_TICKET) | RV_BIT(RV_F_TIME) | RV_BIT(RV_F_NAT) |
	              RV_BIT(RV_F_HOST_ADDRS) | RV_BIT(RV_F_NICKNAME);
}

/* Register with the key derived from the holder secret, as a peer does. */
static int do_register(struct device *d, const uint8_t *hsk)
{
	struct rv_msg m, ans;
	struct rv_stun_msg s;
	uint8_t root[32], key[32];

	reg_msg(d, &m);
	cr_assert_eq(rv_kx_root(hsk, d->kx_pk, d->hpk, d->kx_pk, root), 0);
	rv_kdf(root, "register", 0, key, 32);
	exchange(d, &m, key, 32, &ans, &s);
	if (ans.cls == RV_STUN_ERROR)
		return ans.error_code;
	cr_assert_eq(rv_stun_check_integrity_sha256(&s, key, 32), 0, "the answer is signed");
	d->session = ans.session;
	rv_kdf(root, "message", d->session, d->msg_key, 32);
	cr_assert(rv_addr_eq(&ans.mapped, &d->from.src), "observed, not claimed");
	cr_assert_eq(ans.lifetime_s, ctl.conf.refresh_s);
	return 0;
}

static void session_msg(struct device *d, enum rv_method method, struct rv_msg *m)
{
	uint8_t t[12];

	txid(t);
	rv_msg_init(m, method, RV_STUN_REQUEST, t);
	m->session = d->session;
	m->present |= RV_BIT(RV_F_SESSION);
}

static int ask(struct device *d, struct rv_msg *m, struct rv_msg *ans)
{
	struct rv_stun_msg s;

	exchange(d, m, d->msg_key, 32, ans, &s);
	if (ans->cls == RV_STUN_ERROR)
		return ans->error_code;
	cr_assert_eq(rv_stun_check_integrity_sha256(&s, d->msg_key, 32), 0);
	return 0;
}

Test(core, a_device_authenticates_registers_and_is_found, .init = setup, .fini = teardown)
{
	struct rv_msg m, ans;
	uint8_t want[16];

	cr_assert_eq(authenticate(&dev_a), 0);
	/* The locator ID is the keyed hash of the device ID, stable. */
	ctl_keys_locator(&ctl.keys, (const uint8_t *)dev_a.id, strlen(dev_a.id), want);
	cr_assert_arr_eq(dev_a.locator, want, 16);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	cr_assert_eq(n_set, 1, "rvdp learns the session");
	cr_assert_eq(last_set_session, dev_a.session);
	cr_assert_eq(ctl_store_reg_count(st), 1);

	cr_assert_eq(authenticate(&dev_b), 0);
	cr_assert_eq(do_register(&dev_b, dev_b.hsk), 0);
	session_msg(&dev_b, RV_M_LOOKUP, &m);
	memcpy(m.locator, dev_a.locator, 16);
	m.present |= RV_BIT(RV_F_LOCATOR);
	cr_assert_eq(ask(&dev_b, &m, &ans), 0);
	cr_assert_eq(ans.n_peers, 1);
	cr_assert_eq(ans.peers[0].status, RV_ONLINE);
	cr_assert(rv_addr_eq(&ans.peers[0].addr, &dev_a.from.src));
	cr_assert_eq(ans.peers[0].nat_type, RV_NAT_PORT_RESTRICTED);
	cr_assert_str_eq(ans.peers[0].nickname, dev_a.id);
	cr_assert_eq(ans.peers[0].flags, RV_PEER_DIRECT, "two PR NATs connect directly");

	session_msg(&dev_b, RV_M_PRESENCE, &m);
	m.n_locators = 3;
	memcpy(m.locators[0], dev_a.locator, 16);
	memset(m.locators[1], 0x77, 16);
	memcpy(m.locators[2], dev_b.locator, 16);
	m.present |= RV_BIT(RV_F_LOCATORS);
	cr_assert_eq(ask(&dev_b, &m, &ans), 0);
	cr_assert_eq(ans.presence, 0x5);
}

Test(core, every_auth_failure_has_its_own_code_and_issues_nothing, .init = setup, .fini = teardown)
{
	struct rv_msg h, m, ans;
	uint8_t other_pk[32], other_sk[64];
	struct device stranger;

	/* Unknown device. */
	make_device(&stranger, "SN-NOT-LISTED", 9, "198.51.100.99:1");
	cr_assert_eq(authenticate(&stranger), RV_C_UNKNOWN_DEVICE);
	/* A proof made with another key. */
	crypto_sign_keypair(other_pk, other_sk);
	hello(&dev_a, &h);
	auth_msg(&dev_a, h.nonce, other_sk, &m);
	exchange(&dev_a, &m, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_BAD_PROOF);
	/* The right proof, then the same message again: a replay. */
	auth_msg(&dev_a, h.nonce, dev_a.sk, &m);
	exchange(&dev_a, &m, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.cls, RV_STUN_SUCCESS);
	exchange(&dev_a, &m, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_REPLAYED_NONCE);
	/* A nonce past its lifetime, or one we never issued. */
	hello(&dev_a, &h);
	auth_msg(&dev_a, h.nonce, dev_a.sk, &m);
	dev_a.clock += (ctl.conf.nonce_lifetime_s + 1) * 1000ull;
	exchange(&dev_a, &m, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_STALE_NONCE);
	h.nonce[20] ^= 1;
	auth_msg(&dev_a, h.nonce, dev_a.sk, &m);
	exchange(&dev_a, &m, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_STALE_NONCE);
	/* A nonce issued to another device ID. */
	hello(&dev_b, &h);
	auth_msg(&dev_a, h.nonce, dev_a.sk, &m);
	exchange(&dev_a, &m, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_STALE_NONCE);
	/* Revoked. */
	cr_assert_eq(ctl_store_device_revoke(st, (const uint8_t *)dev_b.id, strlen(dev_b.id)), 0);
	cr_assert_eq(authenticate(&dev_b), RV_C_REVOKED_DEVICE);
}

Test(core, register_refuses_bad_tickets_strangers_and_replays, .init = setup, .fini = teardown)
{
	uint8_t hpk[32], hsk[32];
	struct device copy;

	cr_assert_eq(authenticate(&dev_a), 0);
	/* Someone who lifted the ticket off the wire lacks the holder secret. */
	rv_kx_keypair(hpk, hsk);
	cr_assert_eq(do_register(&dev_a, hsk), RV_C_UNAUTHORIZED);
	/* A tampered ticket. */
	copy = dev_a;
	copy.ticket[40] ^= 1;
	cr_assert_eq(do_register(&copy, copy.hsk), RV_C_BAD_TICKET);
	/* An expired one (clock a day and more later, beyond the skew). */
	copy = dev_a;
	copy.clock += (ctl.conf.ticket_lifetime_s + ctl.conf.clock_skew_s + 1) * 1000ull;
	cr_assert_eq(do_register(&copy, copy.hsk), RV_C_TICKET_EXPIRED);
	cr_assert_eq(ctl_store_reg_count(st), 0, "nothing registered so far");
	cr_assert_eq(n_set, 0);
	/* A good registration, then the same client time again: a replay. */
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), RV_C_REPLAYED_NONCE);
	/* A revoked device's locator cannot register any more. */
	cr_assert_eq(ctl_store_locator_revoke(st, dev_a.locator, T0 / 1000), 0);
	dev_a.clock += 1000;
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), RV_C_REVOKED_DEVICE);
}

Test(core, refresh_follows_the_nat_and_expiry_removes_and_tells_rvdp, .init = setup,
     .fini = teardown)
{
	struct rv_msg m, ans;
	struct ctl_reg g;

	cr_assert_eq(authenticate(&dev_a), 0);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	/* The NAT re-bound the mapping: refresh comes from a new port. */
	dev_a.clock += 20000;
	dev_a.from.src.port = 40123;
	session_msg(&dev_a, RV_M_REFRESH, &m);
	m.time_ms = dev_a.clock;
	m.present |= RV_BIT(RV_F_TIME);
	cr_assert_eq(ask(&dev_a, &m, &ans), 0);
	cr_assert_eq(ans.mapped.port, 40123);
	cr_assert_eq(ctl_store_reg_get(st, dev_a.locator, &g), 0);
	cr_assert_eq(g.addr.port, 40123);
	cr_assert_eq(g.expires_ms, dev_a.clock + ctl.conf.expiry_s * 1000ull);
	/* The same refresh replayed: refused. */
	exchange(&dev_a, &m, dev_a.msg_key, 32, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_REPLAYED_NONCE);
	/* Signed with another key: refused, nothing moved. */
	uint8_t wrong[32] = { 1 };
	m.time_ms += 1;
	exchange(&dev_a, &m, wrong, 32, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_UNAUTHORIZED);
	/* Not refreshed: the sweeper removes it at the expiry, tells rvdp. */
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_tick(&ctl, g.expires_ms - 1, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(n_del, 0);
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_tick(&ctl, g.expires_ms, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(n_del, 1);
	cr_assert_eq(ctl_store_reg_count(st), 0);
	/* Its session is gone: 466, register again. */
	dev_a.clock = g.expires_ms + 1;
	session_msg(&dev_a, RV_M_LOOKUP, &m);
	memcpy(m.locator, dev_a.locator, 16);
	m.present |= RV_BIT(RV_F_LOCATOR);
	exchange(&dev_a, &m, dev_a.msg_key, 32, &ans, NULL);
	cr_assert_eq(ans.error_code, RV_C_UNKNOWN_SESSION);
}

Test(core, groups_create_join_query_leave, .init = setup, .fini = teardown)
{
	struct rv_msg m, ans;

	cr_assert_eq(authenticate(&dev_a), 0);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	cr_assert_eq(authenticate(&dev_b), 0);
	cr_assert_eq(do_register(&dev_b, dev_b.hsk), 0);

	session_msg(&dev_a, RV_M_GROUP, &m);
	m.group_op = RV_GROUP_CREATE;
	strcpy(m.group_id, "team-blue");
	m.present |= RV_BIT(RV_F_GROUP_OP) | RV_BIT(RV_F_GROUP_ID);
	cr_assert_eq(ask(&dev_a, &m, &ans), 0);
	cr_assert_eq(ask(&dev_a, &m, &ans), RV_C_EXISTS);

	/* B is not a member: it may not see the members. */
	session_msg(&dev_b, RV_M_GROUP, &m);
	m.group_op = RV_GROUP_QUERY;
	strcpy(m.group_id, "team-blue");
	m.present |= RV_BIT(RV_F_GROUP_OP) | RV_BIT(RV_F_GROUP_ID);
	cr_assert_eq(ask(&dev_b, &m, &ans), RV_C_NOT_MEMBER);
	m.group_op = RV_GROUP_JOIN;
	cr_assert_eq(ask(&dev_b, &m, &ans), 0);
	m.group_op = RV_GROUP_QUERY;
	cr_assert_eq(ask(&dev_b, &m, &ans), 0);
	cr_assert_eq(ans.n_peers, 2);
	cr_assert_eq(ans.count, 2);
	cr_assert(rv_addr_eq(&ans.peers[0].addr, &dev_a.from.src), "join order: the owner first");
	cr_assert(rv_addr_eq(&ans.peers[1].addr, &dev_b.from.src));

	m.group_op = RV_GROUP_LEAVE;
	cr_assert_eq(ask(&dev_b, &m, &ans), 0);
	cr_assert_eq(ask(&dev_b, &m, &ans), RV_C_NOT_MEMBER);
	strcpy(m.group_id, "no-such-group");
	m.group_op = RV_GROUP_JOIN;
	cr_assert_eq(ask(&dev_b, &m, &ans), RV_C_NOT_FOUND);
}

Test(core, malformed_and_foreign_input_gets_an_error_or_silence_and_changes_nothing, .init = setup,
     .fini = teardown)
{
	struct rv_msg m;
	uint8_t buf[1500], t[12];
	struct rv_msg ans;
	int n;

	/* Missing a required field: 400 from the header alone. */
	txid(t);
	rv_msg_init(&m, RV_M_REGISTER, RV_STUN_REQUEST, t);
	struct rv_stun_enc e;
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_M_REGISTER, RV_STUN_REQUEST, t);
	rv_stun_enc_u32(&e, RV_A_BASE + RV_F_VERSION, 0x01000000);
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_handle(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(n_sent, 1);
	cr_assert_eq(rv_msg_decode(last, last_len, &ans, NULL), 0);
	cr_assert_eq(ans.error_code, RV_C_BAD_REQUEST);
	/* Another major version: 469 with ours. */
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_M_HELLO, RV_STUN_REQUEST, t);
	rv_stun_enc_u32(&e, RV_A_BASE + RV_F_VERSION, 0x02000000);
	rv_stun_enc_attr(&e, RV_A_BASE + RV_F_DEVICE_ID, "x", 1);
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_handle(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(rv_msg_decode(last, last_len, &ans, NULL), 0);
	cr_assert_eq(ans.error_code, RV_C_BAD_VERSION);
	cr_assert_eq(ans.version_major, RV_VERSION_MAJOR);
	/* Garbage and truncations: never an answer to a non-request, never a
	 * crash, never a write. */
	unsigned before = n_sent;
	for (int i = 0; i < 2000; i++) {
		uint8_t g[200];
		size_t len = (size_t)(i % 200);
		randombytes_buf(g, sizeof(g));
		ctl_handle(&ctl, g, len, &dev_a.from, T0, &sink);
	}
	cr_assert_eq(n_sent, before);
	cr_assert_eq(ctl_store_reg_count(st), 0);
}

Test(core, resync_flushes_rvdp_and_replays_every_live_session, .init = setup, .fini = teardown)
{
	cr_assert_eq(authenticate(&dev_a), 0);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	cr_assert_eq(authenticate(&dev_b), 0);
	cr_assert_eq(do_register(&dev_b, dev_b.hsk), 0);
	n_set = 0;
	cr_assert_eq(ctl_resync(&ctl, T0, &sink), 2, "it says how many it pushed");
	cr_assert_eq(n_flush, 1);
	cr_assert_eq(n_set, 2);
}

/* --- brokering ------------------------------------------------------------ */

/* The INSTRUCT among the datagrams sent since `from` that went to d,
 * decoded and checked with d's message key; its key unwrapped. */
static bool instruct_for(struct device *d, unsigned from, struct rv_msg *m, uint8_t key[16])
{
	for (unsigned i = from; i < n_sent; i++) {
		struct rv_stun_msg s;

		if (!rv_addr_eq(&sent[i % LOG].to.src, &d->from.src))
			continue;
		if (rv_msg_decode(sent[i % LOG].buf, sent[i % LOG].len, m, &s) < 0 ||
		    m->method != RV_M_INSTRUCT)
			continue;
		cr_assert_eq(rv_stun_check_integrity_sha256(&s, d->msg_key, 32), 0,
		             "an INSTRUCT is signed for its peer");
		rv_key_wrap(d->msg_key, m->attempt, m->key, key);
		return true;
	}
	return false;
}

static void set_nat(struct device *d, enum rv_nat_type t, enum rv_alloc a)
{
	struct ctl_reg g;
	enum rv_map mp;
	enum rv_filt f;

	cr_assert_eq(ctl_store_reg_get(st, d->locator, &g), 0);
	cr_assert_eq(rv_nat_type_behaviour(t, &mp, &f), 0);
	g.nat = (struct rv_nat_info){ .type = (uint8_t)t,
		                      .map = (uint8_t)mp,
		                      .filt = (uint8_t)f,
		                      .alloc = (uint8_t)a,
		                      .delta = 1,
		                      .hops = 1 };
	cr_assert_eq(ctl_store_reg_put(st, &g), 0);
}

static void two_registered(void)
{
	cr_assert_eq(authenticate(&dev_a), 0);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	cr_assert_eq(authenticate(&dev_b), 0);
	cr_assert_eq(do_register(&dev_b, dev_b.hsk), 0);
}

static int connect_to(struct device *from, const struct device *to, struct rv_msg *ans)
{
	struct rv_msg m;

	session_msg(from, RV_M_CONNECT, &m);
	memcpy(m.locator, to->locator, 16);
	m.present |= RV_BIT(RV_F_LOCATOR);
	return ask(from, &m, ans);
}

static int report(struct device *d, uint64_t attempt, const uint16_t *ports, unsigned n,
                  const struct rv_result *res)
{
	struct rv_msg m, ans;

	session_msg(d, RV_M_REPORT, &m);
	m.attempt = attempt;
	m.present |= RV_BIT(RV_F_ATTEMPT);
	if (n) {
		m.n_ports = (uint8_t)n;
		memcpy(m.ports, ports, 2 * n);
		m.present |= RV_BIT(RV_F_PORTS);
	}
	if (res) {
		m.result = *res;
		m.present |= RV_BIT(RV_F_RESULT);
	}
	return ask(d, &m, &ans);
}

static int stat_count;
static struct ctl_pair_stat stat_last;
static int count_stats(void *ctx, const struct ctl_pair_stat *s)
{
	(void)ctx;
	stat_count++;
	stat_last = *s;
	return 0;
}

Test(broker, e1_instructs_both_then_forwards_the_senders_range_and_records_the_outcome,
     .init = setup, .fini = teardown)
{
	struct rv_msg ans, ia, ib, i2;
	uint8_t ka[16], kb[16], k2[16];
	unsigned mark;

	two_registered();
	set_nat(&dev_a, RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	mark = n_sent;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	cr_assert_eq(ans.role.strategy, RV_STRAT_E1);
	cr_assert_eq(ans.role.role, RV_ROLE_SENDER, "an AS caller sends the bubbles");
	cr_assert(instruct_for(&dev_a, mark, &ia, ka));
	cr_assert(instruct_for(&dev_b, mark, &ib, kb));
	cr_assert_arr_eq(ka, kb, 16, "both peers get the same attempt key");
	cr_assert_neq(memcmp(ia.key, ib.key, 16), 0, "wrapped differently for each");
	cr_assert_eq(ia.attempt, ans.attempt);
	cr_assert(rv_addr_eq(&ia.peer_addr, &dev_b.from.src));
	cr_assert(rv_addr_eq(&ib.peer_addr, &dev_a.from.src));
	cr_assert(ia.present & RV_BIT(RV_F_TARGET));
	cr_assert_eq(ia.target.first, dev_b.from.src.port, "bubble to B's server port (S302)");
	cr_assert_eq(ib.role.role, RV_ROLE_RECEIVER);
	cr_assert_arr_eq(ib.locator, dev_a.locator, 16);

	/* A's probes: Δ probes 2000, 2002, 2004, 2006; before 2008, after 2014. */
	const uint16_t ports[] = { 2000, 2002, 2004, 2006, 2008, 2014 };
	mark = n_sent;
	cr_assert_eq(report(&dev_a, ans.attempt, ports, 6, NULL), 0);
	cr_assert(instruct_for(&dev_b, mark, &i2, k2));
	cr_assert_arr_eq(k2, kb, 16);
	cr_assert_eq(i2.delta, 2);
	cr_assert_eq(i2.range.first, 2010);
	cr_assert_eq(i2.range.last, 2012);
	cr_assert_eq(i2.range.count, 2);
	cr_assert_eq(i2.role.step, 1);

	struct rv_result ok = { RV_RES_OK, RV_STRAT_E1, 640, 3 };
	cr_assert_eq(report(&dev_a, ans.attempt, NULL, 0, &ok), 0);
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &ok), 0);
	stat_count = 0;
	cr_assert_eq(ctl_store_stats_each(st, count_stats, NULL), 0);
	cr_assert_eq(stat_count, 1);
	cr_assert_eq(stat_last.caller_nat, RV_NAT_ADDR_SYMMETRIC);
	cr_assert_eq(stat_last.callee_nat, RV_NAT_PORT_RESTRICTED);
	cr_assert_eq(stat_last.direct_ok, 1);
	cr_assert_eq(stat_last.packets, 6);
	/* The attempt is gone. */
	cr_assert_eq(report(&dev_a, ans.attempt, NULL, 0, &ok), RV_C_NOT_FOUND);
}

Test(broker, reported_ports_rvdp_did_not_see_are_never_forwarded, .init = setup, .fini = teardown)
{
	struct rv_msg ans, i2;
	uint8_t k[16];
	struct rv_dpc obs = { .type = RV_DPC_OBS_REPLY };
	const uint16_t ports[] = { 2000, 2002, 2004, 2006, 2008, 2014 };
	unsigned mark;

	two_registered();
	set_nat(&dev_a, RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	ctl.dp_connected = true;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	mark = n_sent;
	cr_assert_eq(report(&dev_a, ans.attempt, ports, 6, NULL), 0);
	cr_assert_eq(n_obsq, 1, "the server asks rvdp what it saw");
	cr_assert_eq(last_obsq.session, dev_a.session);
	cr_assert(!instruct_for(&dev_b, mark, &i2, k), "nothing forwarded before the check");
	/* rvdp saw 2014 from another IP: refused, nothing forwarded. */
	obs.seq = last_obsq.seq;
	obs.n_obs = 6;
	for (int i = 0; i < 6; i++)
		obs.obs[i] = (struct rv_dpc_obs){ T0, rv_addr_v4_host(&dev_a.from.src), ports[i],
			                          (uint16_t)i, RV_PROBE_DELTA };
	obs.obs[5].ip ^= 1;
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_broker_obs(&ctl, &obs, T0, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert(!instruct_for(&dev_b, mark, &i2, k));
}

Test(broker, observed_ports_let_the_range_through, .init = setup, .fini = teardown)
{
	struct rv_msg ans, i2;
	uint8_t k[16];
	struct rv_dpc obs = { .type = RV_DPC_OBS_REPLY };
	const uint16_t ports[] = { 2000, 2002, 2004, 2006, 2008, 2014 };
	unsigned mark;

	two_registered();
	set_nat(&dev_a, RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	ctl.dp_connected = true;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	mark = n_sent;
	cr_assert_eq(report(&dev_a, ans.attempt, ports, 6, NULL), 0);
	obs.seq = last_obsq.seq;
	obs.n_obs = 6;
	for (int i = 0; i < 6; i++)
		obs.obs[i] = (struct rv_dpc_obs){ T0, rv_addr_v4_host(&dev_a.from.src), ports[i],
			                          (uint16_t)i, RV_PROBE_DELTA };
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_broker_obs(&ctl, &obs, T0, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert(instruct_for(&dev_b, mark, &i2, k));
	cr_assert_eq(i2.range.first, 2010);
}

/* rvdp's answer to a query for dev's probes: it saw every one of them. */
static void obs_seen(const struct device *d, uint32_t seq, const uint16_t *ports, unsigned n)
{
	struct rv_dpc obs = { .type = RV_DPC_OBS_REPLY, .seq = seq, .n_obs = (uint8_t)n };

	for (unsigned i = 0; i < n; i++)
		obs.obs[i] = (struct rv_dpc_obs){ T0, rv_addr_v4_host(&d->from.src), ports[i],
			                          (uint16_t)i, RV_PROBE_DELTA };
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_broker_obs(&ctl, &obs, T0, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
}

Test(broker, predict_checks_both_reports_at_once_in_any_order, .init = setup, .fini = teardown)
{
	struct rv_msg ans, ia, ib;
	uint8_t k[16];
	const uint16_t pa[] = { 1036, 1037, 1038, 1039, 1040 };
	const uint16_t pb[] = { 2036, 2037, 2038, 2039, 2040 };
	unsigned mark;

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_SEQUENTIAL);
	ctl.dp_connected = true;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	mark = n_sent;
	/* Both report before rvdp answers either query. */
	cr_assert_eq(report(&dev_a, ans.attempt, pa, 5, NULL), 0);
	uint32_t qa = last_obsq.seq;
	cr_assert_eq(report(&dev_b, ans.attempt, pb, 5, NULL), 0);
	uint32_t qb = last_obsq.seq;
	cr_assert_eq(n_obsq, 2, "one query per side");
	cr_assert_neq(qa, qb);
	/* A retransmitted report changes nothing and asks nothing. */
	cr_assert_eq(report(&dev_a, ans.attempt, pa, 5, NULL), 0);
	cr_assert_eq(n_obsq, 2);
	/* The answers come back in the other order. */
	obs_seen(&dev_b, qb, pb, 5);
	cr_assert(!instruct_for(&dev_a, mark, &ia, k), "nothing before both are checked");
	obs_seen(&dev_a, qa, pa, 5);
	cr_assert(instruct_for(&dev_a, mark, &ia, k));
	cr_assert(instruct_for(&dev_b, mark, &ib, k));
	cr_assert_eq(ia.range.first, 2041, "A aims past B's last observed port");
	cr_assert_eq(ib.range.first, 1041, "B aims past A's last observed port");
	cr_assert_eq(ia.delta, 1);
}

Test(broker, offline_impossible_and_too_frequent_connects_are_refused, .init = setup,
     .fini = teardown)
{
	struct rv_msg ans;
	struct device ghost;

	two_registered();
	make_device(&ghost, "SN-GHOST", 7, "198.51.100.77:1");
	memset(ghost.locator, 0x42, 16);
	cr_assert_eq(connect_to(&dev_a, &ghost, &ans), RV_C_OFFLINE);
	cr_assert_eq(connect_to(&dev_a, &dev_a, &ans), RV_C_BAD_REQUEST);
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), RV_C_NO_DIRECT_PATH);
	set_nat(&dev_b, RV_NAT_FULL_CONE, RV_ALLOC_RANDOM);
	/* Refused connects count too (three so far): three more fit in six. */
	ctl.conf.connect_rate = 6;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0, "connect %d", i);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), RV_C_RATE_LIMITED);
}

Test(broker, a_partner_that_never_answers_ends_the_attempt_early_and_the_caller_hears_why,
     .init = setup, .fini = teardown)
{
	struct rv_msg ans, ia;
	uint8_t k[16];
	uint8_t buf[256];
	uint64_t t = T0;
	unsigned mark = 0;
	bool told = false;

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_FULL_CONE, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	/* A acknowledges its INSTRUCT at once; B never does. */
	cr_assert(instruct_for(&dev_a, 0, &ia, k));
	struct rv_msg ok;
	rv_msg_init_reply(&ok, &ia, RV_STUN_SUCCESS);
	ok.attempt = ia.attempt;
	ok.present |= RV_BIT(RV_F_ATTEMPT);
	int n = rv_msg_encode(&ok, buf, sizeof(buf), dev_a.msg_key, 32);
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_handle(&ctl, buf, (size_t)n, &dev_a.from, T0 + 10, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	/* The retries run out well before the attempt's deadline. */
	for (t = T0 + CTL_RETRY_MS; t < T0 + CTL_DEADLINE_MS && !told; t += CTL_RETRY_MS) {
		mark = n_sent;
		cr_assert_eq(ctl_store_begin(st), 0);
		ctl_tick(&ctl, t, &sink);
		cr_assert_eq(ctl_store_commit(st), 0);
		told = instruct_for(&dev_a, mark, &ia, k) && (ia.present & RV_BIT(RV_F_RESULT));
	}
	cr_assert(told, "A is told before the deadline");
	cr_assert_lt(t, T0 + CTL_DEADLINE_MS / 2);
	cr_assert_eq(ia.result.code, RV_RES_PEER_GONE);
	cr_assert_eq(ia.attempt, ans.attempt);
	/* Counted as a failure once A had time to hear it. */
	stat_count = 0;
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_tick(&ctl, t + 2500, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(ctl_store_stats_each(st, count_stats, NULL), 0);
	cr_assert_eq(stat_count, 1);
	cr_assert_eq(stat_last.failed, 1);
}

Test(broker, unanswered_instructs_are_resent_and_a_silent_attempt_ends_at_its_deadline,
     .init = setup, .fini = teardown)
{
	struct rv_msg ans, ia;
	uint8_t k[16];
	unsigned mark;

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_FULL_CONE, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	cr_assert_eq(ans.role.strategy, RV_STRAT_DIRECT);
	mark = n_sent;
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_tick(&ctl, T0 + CTL_RETRY_MS, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert(instruct_for(&dev_a, mark, &ia, k), "resent to A");
	/* A answers: no more resends to A. */
	struct rv_msg ok;
	rv_msg_init_reply(&ok, &ia, RV_STUN_SUCCESS);
	ok.attempt = ia.attempt;
	ok.present |= RV_BIT(RV_F_ATTEMPT);
	uint8_t buf[256];
	int n = rv_msg_encode(&ok, buf, sizeof(buf), dev_a.msg_key, 32);
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_handle(&ctl, buf, (size_t)n, &dev_a.from, T0 + 600, &sink);
	mark = n_sent;
	ctl_tick(&ctl, T0 + 5 * CTL_RETRY_MS, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert(!instruct_for(&dev_a, mark, &ia, k), "A answered: no resend");
	cr_assert(instruct_for(&dev_b, mark, &ia, k), "B did not: resent");
	/* Nobody reports: the deadline ends it as a failure. */
	stat_count = 0;
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_tick(&ctl, T0 + CTL_DEADLINE_MS + 2000, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(ctl_store_stats_each(st, count_stats, NULL), 0);
	cr_assert_eq(stat_count, 1);
	cr_assert_eq(stat_last.failed, 1);
	cr_assert_eq(stat_last.strategy, RV_STRAT_DIRECT);
}

/* --- the standalone STUN responder ------------------------------------------ */

static void peer_probe_msg(struct rv_msg *m, uint64_t session, const uint8_t key[16])
{
	uint8_t t[12];

	randombytes_buf(t, 12);
	rv_msg_init(m, RV_M_BINDING, RV_STUN_REQUEST, t);
	m->probe = (struct rv_probe){ .session = session, .kind = RV_PROBE_DELTA, .seq = 1 };
	rv_probe_mac(key, t, &m->probe, NULL, m->probe.mac);
	m->present |= RV_BIT(RV_F_PROBE);
}

Test(standalone, answers_binding_and_valid_probes_and_nothing_else, .init = setup, .fini = teardown)
{
	uint8_t buf[256], txid[12], root[32], probe_key[16];
	struct rv_stun_enc e;
	struct rv_stun_msg s;
	struct rv_msg m, ans;
	struct rv_addr got;
	int n;

	two_registered();
	dev_a.from.via_dp = false;
	/* A plain Binding: XOR-MAPPED-ADDRESS of the source. */
	randombytes_buf(txid, 12);
	rv_stun_enc_init(&e, buf, sizeof(buf), RV_STUN_BINDING, RV_STUN_REQUEST, txid);
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	unsigned before = n_sent;
	cr_assert(ctl_stun_answer(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink));
	cr_assert_eq(n_sent, before + 1);
	cr_assert_eq(rv_stun_decode(last, last_len, 0, &s), 0);
	cr_assert_eq(rv_stun_get_addr(&s, RV_SA_XOR_MAPPED_ADDRESS, &got), 0);
	cr_assert(rv_addr_eq(&got, &dev_a.from.src));
	cr_assert_eq(rv_stun_check_fingerprint(&s), 0);

	/* A probe with A's session key: answered, the reply MAC verifies. */
	cr_assert_eq(rv_kx_root(dev_a.hsk, dev_a.kx_pk, dev_a.hpk, dev_a.kx_pk, root), 0);
	rv_kdf(root, "probe", dev_a.session, probe_key, 16);
	peer_probe_msg(&m, dev_a.session, probe_key);
	n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert(ctl_stun_answer(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink));
	cr_assert_eq(n_sent, before + 2);
	cr_assert_eq(rv_msg_decode(last, last_len, &ans, NULL), 0);
	cr_assert(rv_probe_verify(probe_key, m.txid, &ans.probe, &dev_a.from.src));
	/* With another key, or an unknown session: silence. */
	probe_key[0] ^= 1;
	peer_probe_msg(&m, dev_a.session, probe_key);
	n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert(ctl_stun_answer(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink));
	peer_probe_msg(&m, 12345, probe_key);
	n = rv_msg_encode(&m, buf, sizeof(buf), NULL, 0);
	cr_assert(ctl_stun_answer(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink));
	cr_assert_eq(n_sent, before + 2);
	/* A project request is not its business. */
	session_msg(&dev_a, RV_M_LOOKUP, &m);
	memcpy(m.locator, dev_b.locator, 16);
	m.present |= RV_BIT(RV_F_LOCATOR);
	n = rv_msg_encode(&m, buf, sizeof(buf), dev_a.msg_key, 32);
	cr_assert(!ctl_stun_answer(&ctl, buf, (size_t)n, &dev_a.from, T0, &sink));
}

/* --- relays ------------------------------------------------------------------ */

/* The relay INSTRUCT each device got since mark, checked: the grant for
 * its side, the relay's address, the attempt key (whose relay key rvdp
 * got in RELAY_SET). */
static void relay_instructs(unsigned mark, uint64_t attempt, struct rv_relay_grant g[2])
{
	struct device *d[2] = { &dev_a, &dev_b };
	struct rv_msg m;
	uint8_t k[16], rk[16];

	for (int s = 0; s < 2; s++) {
		cr_assert(instruct_for(d[s], mark, &m, k), "side %d told", s);
		cr_assert(m.present & RV_BIT(RV_F_RELAY), "side %d: a grant", s);
		cr_assert_eq(m.attempt, attempt);
		cr_assert_eq(m.role.strategy, RV_STRAT_RELAY);
		cr_assert_eq(m.relay.side, s);
		cr_assert_geq(m.relay.channel, RV_RELAY_CH_MIN);
		cr_assert_leq(m.relay.channel, RV_RELAY_CH_MAX);
		cr_assert_eq(m.relay.quota_bytes, (uint64_t)ctl.conf.relay_mb << 20);
		cr_assert(rv_addr_eq(&m.peer_addr, &ctl.dp_primary), "send to rvdp");
		rv_relay_key(k, m.relay.relay, rk);
		cr_assert_eq(last_rset.session, m.relay.relay);
		cr_assert_arr_eq(last_rset.key, rk, 16, "rvdp checks binds with the derived key");
		cr_assert_eq(last_rset.channel, m.relay.channel);
		g[s] = m.relay;
	}
	cr_assert_eq(g[0].relay, g[1].relay);
}

static void relay_setup(void)
{
	setup();
	ctl.dp_connected = true;
	cr_assert_eq(rv_addr_parse("192.0.2.1:3478", 0, &ctl.dp_primary), 0);
}

/* The INSTRUCT {RESULT} a device got since mark, or false. */
static bool result_for(struct device *d, unsigned mark, struct rv_msg *m)
{
	uint8_t k[16];

	for (unsigned from = mark; from < n_sent; from++)
		if (instruct_for(d, from, m, k) && (m->present & RV_BIT(RV_F_RESULT)))
			return true;
	return false;
}

static void tick_at(uint64_t t)
{
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_tick(&ctl, t, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
}

Test(relay, two_random_symmetric_nats_get_a_relay_at_once, .init = relay_setup, .fini = teardown)
{
	struct rv_msg ans;
	struct rv_relay_grant g[2];

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_ADDR_SYMMETRIC, RV_ALLOC_RANDOM);
	unsigned mark = n_sent;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	cr_assert_eq(ans.role.strategy, RV_STRAT_RELAY);
	cr_assert_eq(n_rset, 1, "rvdp is told first");
	relay_instructs(mark, ans.attempt, g);
	/* Both bound and relayed: the outcome counts as relayed. */
	struct rv_result ok = { RV_RES_OK, RV_STRAT_RELAY, 30, 2 };
	cr_assert_eq(report(&dev_a, ans.attempt, NULL, 0, &ok), 0);
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &ok), 0);
	stat_count = 0;
	cr_assert_eq(ctl_store_stats_each(st, count_stats, NULL), 0);
	cr_assert_eq(stat_count, 1);
	cr_assert_eq(stat_last.strategy, RV_STRAT_RELAY);
	cr_assert_eq(stat_last.relayed, 1);
	cr_assert_eq(stat_last.direct_ok, 0);
	/* The attempt is done; the relay lives on. */
	cr_assert_not_null(ctl_relay_of(&ctl, ans.attempt));
}

Test(relay, a_failed_direct_attempt_falls_back_to_a_relay, .init = relay_setup, .fini = teardown)
{
	struct rv_msg ans;
	struct rv_relay_grant g[2];

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	cr_assert_eq(ans.role.strategy, RV_STRAT_E1);
	cr_assert_eq(n_rset, 0, "no relay while a direct path may work");
	unsigned mark = n_sent;
	struct rv_result timeout = { RV_RES_TIMEOUT, RV_STRAT_E1, 5000, 40 };
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &timeout), 0);
	cr_assert_eq(n_rset, 1);
	relay_instructs(mark, ans.attempt, g);
	/* A's late failure report of the direct try changes nothing. */
	cr_assert_eq(report(&dev_a, ans.attempt, NULL, 0, &timeout), 0);
	cr_assert_eq(n_rset, 1);
}

Test(relay, without_relays_both_sides_hear_there_is_no_path, .init = relay_setup, .fini = teardown)
{
	struct rv_msg ans, m;

	ctl.conf.relay_mb = 0;
	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	unsigned mark = n_sent;
	struct rv_result timeout = { RV_RES_TIMEOUT, RV_STRAT_E1, 5000, 40 };
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &timeout), 0);
	cr_assert_eq(n_rset, 0);
	cr_assert(result_for(&dev_a, mark, &m));
	cr_assert_eq(m.result.code, RV_RES_NO_PATH);
	cr_assert(result_for(&dev_b, mark, &m));
	/* And a pair only a relay could join is refused at once. */
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), RV_C_NO_DIRECT_PATH);
}

/* rvdp's account of a relay. */
static void relay_reply(uint64_t id, uint64_t bytes_a, uint64_t bytes_b, uint8_t flags,
                        uint64_t seen_ms, uint64_t now)
{
	struct rv_dpc m = { .type = RV_DPC_RELAY_REPLY, .session = id, .relay_flags = flags };

	m.side[0] =
	        (struct rv_dpc_relay_side){ dev_a.from.src, bytes_a / 100, bytes_a, 0, seen_ms };
	m.side[1] =
	        (struct rv_dpc_relay_side){ dev_b.from.src, bytes_b / 100, bytes_b, 0, seen_ms };
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_relay_reply(&ctl, &m, now, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
}

/* Two peers relayed: granted, both bound and through (their REPORTs). */
static uint64_t relayed_pair(struct rv_relay_grant g[2])
{
	struct rv_msg ans;
	struct rv_result ok = { RV_RES_OK, RV_STRAT_RELAY, 30, 2 };

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	unsigned mark = n_sent;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	relay_instructs(mark, ans.attempt, g);
	cr_assert_eq(report(&dev_a, ans.attempt, NULL, 0, &ok), 0);
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &ok), 0);
	return ans.attempt;
}

Test(relay, a_relay_nobody_got_through_is_freed_with_its_attempt, .init = relay_setup,
     .fini = teardown)
{
	struct rv_msg ans;
	struct rv_relay_grant g[2];

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	unsigned mark = n_sent;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	relay_instructs(mark, ans.attempt, g);
	struct rv_result timeout = { RV_RES_TIMEOUT, RV_STRAT_RELAY, 15000, 40 };
	cr_assert_eq(report(&dev_a, ans.attempt, NULL, 0, &timeout), 0);
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &timeout), 0);
	cr_assert_eq(n_rdel, 1);
	cr_assert_null(ctl_relay_of(&ctl, ans.attempt));
}

Test(relay, the_byte_quota_ends_a_relay_and_both_peers_hear_why, .init = relay_setup,
     .fini = teardown)
{
	struct rv_relay_grant g[2];
	struct rv_msg m;
	uint64_t attempt = relayed_pair(g);
	uint64_t quota = (uint64_t)ctl.conf.relay_mb << 20;

	/* rvdp is asked for its counters every few seconds. */
	tick_at(T0 + CTL_RELAY_POLL_MS);
	cr_assert_geq(n_rq, 1);
	relay_reply(g[0].relay, 1000, 2000, 0, T0 + 1000, T0 + 2100);
	cr_assert_eq(n_rdel, 0, "within its quota: it goes on");
	unsigned mark = n_sent;
	relay_reply(g[0].relay, quota / 2, quota / 2, RV_DPC_RELAY_OVER_BYTES, T0 + 3000,
	            T0 + 4000);
	cr_assert_eq(n_rdel, 1);
	cr_assert(result_for(&dev_a, mark, &m));
	cr_assert_eq(m.result.code, RV_RES_RELAY_BYTES);
	cr_assert_eq(m.attempt, attempt);
	cr_assert(result_for(&dev_b, mark, &m));
	cr_assert_null(ctl_relay_of(&ctl, attempt));
	/* What it carried is in the statistics. */
	stat_count = 0;
	cr_assert_eq(ctl_store_stats_each(st, count_stats, NULL), 0);
	cr_assert_eq(stat_last.relay_bytes, quota);
}

Test(relay, an_idle_relay_ends_and_so_does_an_old_one, .init = relay_setup, .fini = teardown)
{
	struct rv_relay_grant g[2];
	struct rv_msg m;
	uint64_t attempt = relayed_pair(g);

	tick_at(T0 + (uint64_t)ctl.conf.relay_idle_s * 1000 - 100);
	cr_assert_eq(n_rdel, 0);
	unsigned mark = n_sent, q = n_rq;
	tick_at(T0 + (uint64_t)ctl.conf.relay_idle_s * 1000 + 100);
	/* rvdp's final count is asked for first ... */
	cr_assert_eq(n_rq, q + 1);
	cr_assert_eq(n_rdel, 0);
	/* ... and without an answer within a second it ends anyway. */
	tick_at(T0 + (uint64_t)ctl.conf.relay_idle_s * 1000 + 1200);
	cr_assert_eq(n_rdel, 1);
	cr_assert(result_for(&dev_a, mark, &m));
	cr_assert_eq(m.result.code, RV_RES_RELAY_IDLE);
	cr_assert_null(ctl_relay_of(&ctl, attempt));

	/* A busy relay still ends at its time. */
	ctl.conf.relay_idle_s = 1000000;
	ctl.conf.relay_s = 50; /* within the registrations' 90 s */
	dev_a.clock = dev_b.clock = T0 + 200000;
	attempt = relayed_pair(g);
	mark = n_sent;
	tick_at(T0 + 200000 + 50 * 1000);
	tick_at(T0 + 200000 + 51 * 1000 + 100);
	cr_assert(result_for(&dev_b, mark, &m));
	cr_assert_eq(m.result.code, RV_RES_RELAY_TIME);
}

Test(relay, a_peer_closing_ends_its_relay_but_a_stranger_cannot, .init = relay_setup,
     .fini = teardown)
{
	struct rv_relay_grant g[2];
	struct rv_msg m;
	struct rv_result closed = { RV_RES_CLOSED, RV_STRAT_RELAY, 0, 0 };
	uint64_t attempt = relayed_pair(g);

	cr_assert_not_null(ctl_relay_of(&ctl, attempt));
	/* Not its relay: refused, nothing ends. */
	cr_assert_eq(report(&dev_a, attempt ^ 1, NULL, 0, &closed), RV_C_NOT_FOUND);
	cr_assert_eq(n_rdel, 0);
	unsigned mark = n_sent;
	cr_assert_eq(report(&dev_b, attempt, NULL, 0, &closed), 0);
	/* Ended with rvdp's final count: what crossed the relay until the
	 * close is in the statistics, not just what the last poll saw. */
	cr_assert_eq(n_rdel, 0, "not before rvdp's final count");
	relay_reply(g[0].relay, 700, 300, 0, T0 + 100, T0 + 200);
	cr_assert_eq(n_rdel, 1);
	cr_assert(result_for(&dev_a, mark, &m), "the partner hears it");
	cr_assert_eq(m.result.code, RV_RES_CLOSED);
	stat_count = 0;
	cr_assert_eq(ctl_store_stats_each(st, count_stats, NULL), 0);
	cr_assert_eq(stat_last.relay_bytes, 1000);
}

/* A relay-binding probe from d for side `side`, MACed with key. */
static size_t bind_probe(uint8_t *buf, size_t cap, uint64_t relay, int side, const uint8_t key[16])
{
	struct rv_msg m;
	uint8_t t[12];
	int n;

	randombytes_buf(t, 12);
	rv_msg_init(&m, RV_M_BINDING, RV_STUN_REQUEST, t);
	m.probe = (struct rv_probe){
		.session = relay, .kind = RV_PROBE_RELAY, .flags = (uint8_t)side, .seq = 1
	};
	rv_probe_mac(key, t, &m.probe, NULL, m.probe.mac);
	m.present |= RV_BIT(RV_F_PROBE);
	n = rv_msg_encode(&m, buf, cap, NULL, 0);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

static void handle_at(const uint8_t *buf, size_t len, const struct ctl_from *from, uint64_t t)
{
	cr_assert_eq(ctl_store_begin(st), 0);
	ctl_handle(&ctl, buf, len, from, t, &sink);
	cr_assert_eq(ctl_store_commit(st), 0);
}

Test(relay, standalone_binds_sides_with_the_relay_key_and_forwards_only_between_them, .init = setup,
     .fini = teardown)
{
	struct rv_msg ans, m;
	uint8_t buf[256], k[16], rk[16], data[64];
	struct ctl_from stranger;

	cr_assert_eq(rv_addr_parse("192.0.2.1:3478", 0, &ctl.conf.listen), 0);
	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	unsigned mark = n_sent;
	cr_assert_eq(connect_to(&dev_a, &dev_b, &ans), 0);
	cr_assert(instruct_for(&dev_a, mark, &m, k));
	cr_assert(rv_addr_eq(&m.peer_addr, &ctl.conf.listen), "standalone: relay here");
	rv_relay_key(k, m.relay.relay, rk);
	uint16_t ch = m.relay.channel;
	/* The peers relay from fresh sockets, not their registration ones. */
	struct ctl_from a = dev_a.from, b = dev_b.from;
	a.via_dp = b.via_dp = false;
	a.src.port++;
	b.src.port++;
	stranger = a;
	stranger.src.port++;

	/* A bind with a wrong key or for the other side's ID: silence. */
	uint8_t bad[16];
	memcpy(bad, rk, 16);
	bad[0] ^= 1;
	unsigned before = n_sent;
	handle_at(buf, bind_probe(buf, sizeof(buf), m.relay.relay, 0, bad), &a, T0 + 10);
	cr_assert_eq(n_sent, before);
	/* A binds: answered (a probe answer, MAC'd with the relay key). */
	handle_at(buf, bind_probe(buf, sizeof(buf), m.relay.relay, 0, rk), &a, T0 + 10);
	cr_assert_eq(n_sent, before + 1);
	/* Before B binds, A's data goes nowhere. */
	rv_relay_put_hdr(data, ch, 40);
	memset(data + 4, 0x5a, 40);
	before = n_sent;
	handle_at(data, 44, &a, T0 + 20);
	cr_assert_eq(n_sent, before);
	handle_at(buf, bind_probe(buf, sizeof(buf), m.relay.relay, 1, rk), &b, T0 + 30);
	before = n_sent;
	handle_at(data, 44, &a, T0 + 40);
	cr_assert_eq(n_sent, before + 1, "A -> B");
	cr_assert(rv_addr_eq(&sent[(n_sent - 1) % LOG].to.src, &b.src));
	cr_assert_eq(sent[(n_sent - 1) % LOG].len, 44);
	cr_assert_arr_eq(sent[(n_sent - 1) % LOG].buf, data, 44, "ChannelData as sent");
	handle_at(data, 44, &b, T0 + 50);
	cr_assert(rv_addr_eq(&sent[(n_sent - 1) % LOG].to.src, &a.src), "B -> A");
	/* A stranger on the channel, a wrong channel, a broken header: dropped. */
	before = n_sent;
	handle_at(data, 44, &stranger, T0 + 60);
	rv_relay_put_hdr(data, (uint16_t)(ch ^ 1), 40);
	handle_at(data, 44, &a, T0 + 60);
	rv_relay_put_hdr(data, ch, 400);
	handle_at(data, 44, &a, T0 + 60);
	cr_assert_eq(n_sent, before);
	/* The quota: bytes beyond it are dropped. */
	struct ctl_relay *r = ctl_relay_of(&ctl, ans.attempt);
	cr_assert_not_null(r);
	r->quota.bytes = r->use[0].bytes + r->use[1].bytes + 40;
	rv_relay_put_hdr(data, ch, 40);
	handle_at(data, 44, &a, T0 + 70);
	cr_assert_eq(n_sent, before + 1, "exactly the quota");
	handle_at(data, 44, &a, T0 + 80);
	cr_assert_eq(n_sent, before + 1, "one byte more: dropped");
	cr_assert_eq(r->use[0].dropped, 1);
	/* Closed: its channel carries nothing more. */
	r->quota.bytes = UINT64_MAX;
	ctl_relay_close(&ctl, r, RV_RES_CLOSED, T0 + 90, &sink);
	before = n_sent;
	handle_at(data, 44, &a, T0 + 100);
	handle_at(data, 44, &b, T0 + 100);
	cr_assert_eq(n_sent, before);
}

/* 2048 relays opened and closed: their log lines are not the point. */
static void quiet_setup(void)
{
	setup();
	cr_redirect_stderr();
}

Test(relay, every_live_relay_has_a_channel_of_its_own, .init = quiet_setup, .fini = teardown)
{
	static struct ctl_attempt at[CTL_RELAYS];
	static bool used[RV_RELAY_CH_MAX - RV_RELAY_CH_MIN + 1];
	struct ctl_relay *r[CTL_RELAYS];

	cr_assert_eq(rv_addr_parse("192.0.2.1:3478", 0, &ctl.conf.listen), 0);
	/* Full, then half closed and opened again: never two on a channel,
	 * and each channel leads back to its relay. */
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < CTL_RELAYS; i++) {
			if (round && i % 2)
				continue;
			at[i].id = round * CTL_RELAYS + i + 1;
			r[i] = ctl_relay_open(&ctl, &at[i], RV_RES_NO_PATH, T0, &sink);
			cr_assert_not_null(r[i], "relay %u of round %d", i, round);
		}
		cr_assert_null(ctl_relay_open(&ctl, &(struct ctl_attempt){ .id = 99999 },
		                              RV_RES_NO_PATH, T0, &sink),
		               "--relay-max reached");
		memset(used, 0, sizeof(used));
		for (unsigned i = 0; i < CTL_RELAYS; i++) {
			uint16_t ch = r[i]->channel;
			cr_assert(ch >= RV_RELAY_CH_MIN && ch <= RV_RELAY_CH_MAX);
			cr_assert(!used[ch - RV_RELAY_CH_MIN], "channel %#x given twice", ch);
			used[ch - RV_RELAY_CH_MIN] = true;
			cr_assert_eq(ctl.relay_by_ch[ch - RV_RELAY_CH_MIN], r[i] - ctl.relays + 1);
		}
		for (unsigned i = 0; i < CTL_RELAYS; i += 2) {
			uint16_t ch = r[i]->channel;
			ctl_relay_close(&ctl, r[i], RV_RES_CLOSED, T0, &sink);
			cr_assert_eq(ctl.relay_by_ch[ch - RV_RELAY_CH_MIN], 0,
			             "freed with its relay");
		}
	}
}

Test(core, the_auth_and_locator_roles_are_separable, .init = setup, .fini = teardown)
{
	struct ctl_keys k;
	struct ctl_conf conf = ctl.conf;
	static struct ctl other;
	char err[256];

	/* An auth-only process issues tickets and serves nothing else. */
	ctl.conf.role = CTL_ROLE_AUTH;
	cr_assert_eq(authenticate(&dev_a), 0);
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), RV_C_FORBIDDEN, "no locator service there");
	/* A locator-only one takes that ticket, and authenticates nobody. */
	ctl.conf.role = CTL_ROLE_LOCATOR;
	cr_assert_eq(do_register(&dev_a, dev_a.hsk), 0);
	struct rv_msg h, ans;
	uint8_t t[12];
	txid(t);
	rv_msg_init(&h, RV_M_HELLO, RV_STUN_REQUEST, t);
	h.device_id_len = (uint8_t)strlen(dev_b.id);
	memcpy(h.device_id, dev_b.id, h.device_id_len);
	h.present |= RV_BIT(RV_F_DEVICE_ID);
	exchange(&dev_b, &h, NULL, 0, &ans, NULL);
	cr_assert_eq(ans.cls, RV_STUN_ERROR);
	cr_assert_eq(ans.error_code, RV_C_FORBIDDEN, "no auth service there");

	/* A locator-only process needs only the public keys: without the
	 * signing key and the locator-ID secret it starts; without what it
	 * verifies tickets with it refuses, naming the file. */
	k = ctl.keys;
	k.has_sign = false;
	memset(k.sign_sk, 0, sizeof(k.sign_sk));
	k.has_locator_id = false;
	conf.role = CTL_ROLE_LOCATOR;
	cr_assert_eq(ctl_init(&other, &conf, &k, st, err, sizeof(err)), 0, "%s", err);
	k.n_verify = 0;
	cr_assert_eq(ctl_init(&other, &conf, &k, st, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "auth.pub"), "%s", err);
	/* And an auth-only one needs its secrets, not the locator's. */
	k = ctl.keys;
	k.has_kx_sk = false;
	conf.role = CTL_ROLE_AUTH;
	cr_assert_eq(ctl_init(&other, &conf, &k, st, err, sizeof(err)), 0, "%s", err);
	k.has_sign = false;
	cr_assert_eq(ctl_init(&other, &conf, &k, st, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "auth.key"), "%s", err);
}

/* An upgrade try: CONNECT asking for a direct path or nothing. */
static int connect_direct_only(struct device *from, const struct device *to, struct rv_msg *ans)
{
	struct rv_msg m;

	session_msg(from, RV_M_CONNECT, &m);
	memcpy(m.locator, to->locator, 16);
	m.role = (struct rv_role_info){ RV_ROLE_SENDER, RV_STRAT_AUTO, 0, RV_ROLE_NO_RELAY };
	m.present |= RV_BIT(RV_F_LOCATOR) | RV_BIT(RV_F_ROLE);
	return ask(from, &m, ans);
}

Test(relay, an_upgrade_try_never_falls_back_to_a_relay, .init = relay_setup, .fini = teardown)
{
	struct rv_msg ans, m;

	two_registered();
	set_nat(&dev_a, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	set_nat(&dev_b, RV_NAT_PORT_SYMMETRIC, RV_ALLOC_RANDOM);
	cr_assert_eq(connect_direct_only(&dev_a, &dev_b, &ans), RV_C_NO_DIRECT_PATH);
	cr_assert_eq(n_rset, 0);
	set_nat(&dev_a, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	set_nat(&dev_b, RV_NAT_PORT_RESTRICTED, RV_ALLOC_SEQUENTIAL);
	cr_assert_eq(connect_direct_only(&dev_a, &dev_b, &ans), 0);
	unsigned mark = n_sent;
	struct rv_result timeout = { RV_RES_TIMEOUT, RV_STRAT_E1, 5000, 40 };
	cr_assert_eq(report(&dev_b, ans.attempt, NULL, 0, &timeout), 0);
	cr_assert_eq(n_rset, 0, "no relay for an upgrade try");
	cr_assert(result_for(&dev_a, mark, &m));
	cr_assert_eq(m.result.code, RV_RES_NO_PATH);
}
