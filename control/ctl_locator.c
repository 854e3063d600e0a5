/* ctl_locator.c — the locator service: register, refresh, bye, lookup,
 * presence (the device-ID document's locator/management server).
 *
 * A registration binds a ticket's locator ID to the address the server
 * *observed* (the NAT's public side), never to one the peer claims; the
 * peer's host addresses and NAT classification are kept beside it, the
 * latter cross-checked with what was observed. Register proves the holder
 * key (MESSAGE-INTEGRITY-SHA256 keyed from the X25519 root, proto/keys.h);
 * every later message proves the session's message key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_core.h"
#include "proto/keys.h"
#include "proto/ticket.h"

/* Copy the profile fields a REGISTER or REFRESH may carry. */
static void take_profile(struct ctl_reg *g, const struct rv_msg *q)
{
	if (q->present & RV_BIT(RV_F_HOST_ADDRS)) {
		g->n_host_addrs = q->n_host_addrs;
		memcpy(g->host_addrs, q->host_addrs, sizeof(g->host_addrs));
	}
	if (q->present & RV_BIT(RV_F_NAT))
		g->nat = q->nat;
	if (q->present & RV_BIT(RV_F_APP_ID))
		memcpy(g->app_id, q->app_id, sizeof(g->app_id));
	if (q->present & RV_BIT(RV_F_COMMUNITY))
		g->community = q->community;
	if (q->present & RV_BIT(RV_F_NICKNAME))
		memcpy(g->nickname, q->nickname, sizeof(g->nickname));
}

/* The classification is the peer's; what we saw decides "public or not":
 * a peer whose observed address is one of its own host addresses has no
 * NAT whatever it says, and one claiming "none" behind a translation is
 * not believed. */
static void cross_check(struct ctl_reg *g)
{
	bool public_addr = false;

	for (unsigned i = 0; i < g->n_host_addrs; i++)
		if (rv_addr_eq(&g->host_addrs[i], &g->addr))
			public_addr = true;
	if (public_addr) {
		g->nat.flags |= RV_NAT_FLAG_PUBLIC;
		g->nat.type = RV_NAT_NONE;
		g->nat.map = RV_MAP_EI;
	} else {
		g->nat.flags &= (uint8_t)~RV_NAT_FLAG_PUBLIC;
		if (g->nat.type == RV_NAT_NONE)
			g->nat.type = RV_NAT_UNKNOWN;
	}
}

static void take_path(struct ctl_reg *g, const struct ctl_from *f)
{
	g->addr = f->src;
	g->local = f->local;
	g->path = f->path;
	g->via_dataplane = f->via_dp;
}

static int verify_ticket(const struct ctl_req *r, struct rv_ticket *t)
{
	const struct ctl *c = r->c;
	const uint8_t *pk;
	int rc;

	if (rv_ticket_decode(r->msg->ticket, r->msg->ticket_len, t) < 0)
		return RV_C_BAD_TICKET;
	pk = ctl_keys_verify_pk(&c->keys, t->key_id);
	if (!pk)
		return RV_C_BAD_TICKET;
	rc = rv_ticket_verify(t, pk, (uint32_t)(r->now_ms / 1000), c->conf.clock_skew_s);
	if (rc == RV_EEXPIRED)
		return RV_C_TICKET_EXPIRED;
	if (rc < 0)
		return RV_C_BAD_TICKET;
	rc = ctl_store_locator_revoked(c->st, t->locator);
	if (rc < 0)
		return RV_C_SERVER_ERROR;
	return rc ? RV_C_REVOKED_DEVICE : 0;
}

int ctl_loc_register(const struct ctl_req *r)
{
	struct ctl *c = r->c;
	const struct rv_msg *q = r->msg;
	struct rv_ticket t;
	struct ctl_reg g, old;
	uint8_t root[RV_ROOT_LEN], reg_key[32];
	struct rv_msg m;
	int code, rc = -EEXIST;

	code = verify_ticket(r, &t);
	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	/* Only the holder of the ticket's key reaches the same root. */
	if (rv_kx_root(c->keys.kx_sk, t.holder, t.holder, c->keys.kx_pk, root) < 0)
		return ctl_reply_error(r, RV_C_BAD_TICKET, "unusable holder key");
	rv_kdf(root, "register", 0, reg_key, sizeof(reg_key));
	if (rv_stun_check_integrity_sha256(r->stun, reg_key, sizeof(reg_key)) < 0)
		return ctl_reply_error(r, RV_C_UNAUTHORIZED, "not signed with the ticket's key");
	/* A register replayed from elsewhere must not move the locator. */
	if (ctl_store_reg_get(c->st, t.locator, &old) == 0 && q->time_ms <= old.client_time_ms)
		return ctl_reply_error(r, RV_C_REPLAYED_NONCE, "registration older than the last");

	memset(&g, 0, sizeof(g));
	memcpy(g.locator, t.locator, RV_LOCATOR_LEN);
	take_path(&g, r->from);
	take_profile(&g, q);
	cross_check(&g);
	g.registered_ms = g.refreshed_ms = r->now_ms;
	g.expires_ms = r->now_ms + (uint64_t)c->conf.expiry_s * 1000;
	g.client_time_ms = q->time_ms;
	g.ticket_expires_s = t.expires_s;
	for (int tries = 0; tries < 4 && rc == -EEXIST; tries++) {
		do
			randombytes_buf(&g.session, sizeof(g.session));
		while (!g.session);
		rv_kdf(root, "probe", g.session, g.probe_key, sizeof(g.probe_key));
		rv_kdf(root, "message", g.session, g.msg_key, sizeof(g.msg_key));
		rc = ctl_store_reg_put(c->st, &g);
	}
	sodium_memzero(root, sizeof(root));
	if (rc < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "registry unavailable");
	if (q->present & RV_BIT(RV_F_GROUP_ID)) {
		rc = ctl_store_group_join(c->st, q->group_id, g.locator);
		if (rc == -ENOENT)
			rc = ctl_store_group_create(c->st, q->group_id, g.locator,
			                            c->conf.group_max, r->now_ms / 1000);
		/* A full group does not fail the registration itself. */
	}
	ctl_push_session(c, r->sink, &g);

	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	m.session = g.session;
	m.lifetime_s = c->conf.refresh_s;
	m.mapped = g.addr;
	m.time_ms = r->now_ms;
	m.present |= RV_BIT(RV_F_SESSION) | RV_BIT(RV_F_LIFETIME) | RV_BIT(RV_F_MAPPED) |
	             RV_BIT(RV_F_TIME);
	return ctl_reply(r, &m, reg_key, sizeof(reg_key));
}

int ctl_loc_refresh(const struct ctl_req *r)
{
	struct ctl *c = r->c;
	const struct rv_msg *q = r->msg;
	struct ctl_reg g;
	struct rv_msg m;
	int code = ctl_session_auth(r, &g);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	if (q->time_ms <= g.client_time_ms)
		return ctl_reply_error(r, RV_C_REPLAYED_NONCE, "refresh older than the last");
	if (g.ticket_expires_s + (uint64_t)c->conf.clock_skew_s <= r->now_ms / 1000)
		return ctl_reply_error(r, RV_C_TICKET_EXPIRED, "authenticate again");
	if (ctl_store_locator_revoked(c->st, g.locator) == 1) {
		(void)ctl_store_reg_del(c->st, g.locator);
		struct rv_dpc del = { .type = RV_DPC_SESSION_DEL, .session = g.session };
		r->sink->dataplane(r->sink->ctx, &del);
		return ctl_reply_error(r, RV_C_REVOKED_DEVICE, NULL);
	}
	/* The NAT may have re-bound the mapping: follow the observed source. */
	take_path(&g, r->from);
	take_profile(&g, q);
	cross_check(&g);
	g.refreshed_ms = r->now_ms;
	g.expires_ms = r->now_ms + (uint64_t)c->conf.expiry_s * 1000;
	g.client_time_ms = q->time_ms;
	if (ctl_store_reg_put(c->st, &g) < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "registry unavailable");
	ctl_push_session(c, r->sink, &g);

	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	m.lifetime_s = c->conf.refresh_s;
	m.mapped = g.addr;
	m.time_ms = r->now_ms;
	m.present |= RV_BIT(RV_F_LIFETIME) | RV_BIT(RV_F_MAPPED) | RV_BIT(RV_F_TIME);
	return ctl_reply(r, &m, g.msg_key, sizeof(g.msg_key));
}

int ctl_loc_bye(const struct ctl_req *r)
{
	struct ctl_reg g;
	struct rv_msg m;
	struct rv_dpc del = { .type = RV_DPC_SESSION_DEL };
	int code = ctl_session_auth(r, &g);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	if (ctl_store_reg_del(r->c->st, g.locator) < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "registry unavailable");
	del.session = g.session;
	r->sink->dataplane(r->sink->ctx, &del);
	rv_msg_init_reply(&m, r->msg, RV_STUN_SUCCESS);
	return ctl_reply(r, &m, g.msg_key, sizeof(g.msg_key));
}

int ctl_loc_lookup(const struct ctl_req *r)
{
	struct ctl_reg self, g;
	struct rv_msg m;
	int code = ctl_session_auth(r, &self);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	rv_msg_init_reply(&m, r->msg, RV_STUN_SUCCESS);
	m.n_peers = 1;
	m.present |= RV_BIT(RV_F_PEERS);
	if (ctl_store_reg_get(r->c->st, r->msg->locator, &g) == 0) {
		ctl_peer_of(&g, &self, r->now_ms, &m.peers[0]);
	} else {
		/* Offline is an answer, not an error. */
		memset(&m.peers[0], 0, sizeof(m.peers[0]));
		memcpy(m.peers[0].locator, r->msg->locator, RV_LOCATOR_LEN);
	}
	return ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));
}

int ctl_loc_presence(const struct ctl_req *r)
{
	struct ctl_reg self, g;
	struct rv_msg m;
	int code = ctl_session_auth(r, &self);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	rv_msg_init_reply(&m, r->msg, RV_STUN_SUCCESS);
	m.present |= RV_BIT(RV_F_PRESENCE);
	for (unsigned i = 0; i < r->msg->n_locators; i++)
		if (ctl_store_reg_get(r->c->st, r->msg->locators[i], &g) == 0 &&
		    g.expires_ms > r->now_ms)
			m.presence |= 1u << i;
	return ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));
}
