/* ctl_core.c — dispatch and shared helpers of rvcontrol (ctl_core.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_core.h"
#include "ctl_match.h"
#include "proto/strategy.h"
#include "proto/ticket.h"

int ctl_init(struct ctl *c, const struct ctl_conf *conf, const struct ctl_keys *keys,
             struct ctl_store *st, char *err, size_t errlen)
{
	bool auth = conf->role != CTL_ROLE_LOCATOR, loc = conf->role != CTL_ROLE_AUTH;
	const char *missing = NULL;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	if (auth && !keys->has_sign)
		missing = "auth.key (the ticket signing key)";
	else if (auth && !keys->has_locator_id)
		missing = "locator-id.key (the locator-ID secret)";
	else if (loc && !keys->n_verify)
		missing = "auth.pub (the keys tickets are verified with)";
	else if (loc && !keys->has_kx_sk)
		missing = "locator-kx.key (the locator service's key-agreement key)";
	if (missing) {
		snprintf(err, errlen,
		         "role '%s' needs %s in '%s' (run: rvcontrol keygen --keys %s)",
		         ctl_role_str(conf->role), missing, conf->keys, conf->keys);
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	c->conf = *conf;
	c->keys = *keys;
	c->st = st;
	randombytes_buf(c->nonce_secret, sizeof(c->nonce_secret));
	randombytes_buf(&c->rate_seed, sizeof(c->rate_seed));
	return 0;
}

void ctl_locator_fmt(const uint8_t locator[RV_LOCATOR_LEN], char out[33])
{
	rv_hex_encode(locator, RV_LOCATOR_LEN, out);
}

int ctl_locator_parse(const char *s, uint8_t locator[RV_LOCATOR_LEN])
{
	return rv_hex_decode(s, locator, RV_LOCATOR_LEN);
}

int ctl_reply(const struct ctl_req *r, const struct rv_msg *m, const uint8_t *key, size_t keylen)
{
	uint8_t buf[1500];
	int n = rv_msg_encode(m, buf, sizeof(buf), key, keylen);

	if (n < 0) {
		/* A bug, not the peer's fault: say so rather than go silent. */
		fprintf(stderr, "rvcontrol: cannot encode %s answer: %s\n",
		        rv_method_str(m->method), rv_strerror(n));
		return RV_C_SERVER_ERROR;
	}
	r->sink->send(r->sink->ctx, r->from, buf, (size_t)n);
	return 0;
}

int ctl_reply_error(const struct ctl_req *r, enum rv_code code, const char *reason)
{
	struct rv_msg m;

	rv_msg_init_reply(&m, r->msg, RV_STUN_ERROR);
	rv_msg_set_error(&m, code, reason);
	(void)ctl_reply(r, &m, NULL, 0);
	return (int)code;
}

int ctl_session_auth(const struct ctl_req *r, struct ctl_reg *reg)
{
	if (ctl_store_reg_by_session(r->c->st, r->msg->session, reg) < 0 ||
	    reg->expires_ms <= r->now_ms)
		return RV_C_UNKNOWN_SESSION;
	if (rv_stun_check_integrity_sha256(r->stun, reg->msg_key, sizeof(reg->msg_key)) < 0)
		return RV_C_UNAUTHORIZED;
	return 0;
}

void ctl_push_session(const struct ctl *c, const struct ctl_sink *sink, const struct ctl_reg *g)
{
	struct rv_dpc m = { .type = RV_DPC_SESSION_SET,
		            .session = g->session,
		            .expires_ms = g->expires_ms,
		            .rate_pps = c->conf.probe_rate,
		            .burst = c->conf.probe_burst };

	memcpy(m.key, g->probe_key, sizeof(m.key));
	sink->dataplane(sink->ctx, &m);
}

void ctl_peer_of(const struct ctl_reg *g, const struct ctl_reg *viewer, uint64_t now_ms,
                 struct rv_peer *p)
{
	struct rv_plan plan;

	memset(p, 0, sizeof(*p));
	memcpy(p->locator, g->locator, RV_LOCATOR_LEN);
	if (g->expires_ms <= now_ms)
		return;
	p->status = RV_ONLINE;
	p->nat_type = g->nat.type;
	p->addr = g->addr;
	memcpy(p->nickname, g->nickname, sizeof(p->nickname));
	if (viewer && rv_plan_pick(&viewer->nat, &g->nat, RV_STRAT_AUTO, &plan) == 0)
		p->flags = plan.direct ? RV_PEER_DIRECT : RV_PEER_RELAY;
}

typedef int (*handler_fn)(const struct ctl_req *r);

/* Which role serves each method. */
static const struct {
	handler_fn fn;
	bool auth_role;
} handlers[RV_M_LAST - RV_M_FIRST + 1] = {
	[RV_M_HELLO - RV_M_FIRST] = { ctl_auth_hello, true },
	[RV_M_AUTH - RV_M_FIRST] = { ctl_auth_auth, true },
	[RV_M_REGISTER - RV_M_FIRST] = { ctl_loc_register, false },
	[RV_M_REFRESH - RV_M_FIRST] = { ctl_loc_refresh, false },
	[RV_M_BYE - RV_M_FIRST] = { ctl_loc_bye, false },
	[RV_M_LOOKUP - RV_M_FIRST] = { ctl_loc_lookup, false },
	[RV_M_PRESENCE - RV_M_FIRST] = { ctl_loc_presence, false },
	[RV_M_GROUP - RV_M_FIRST] = { ctl_group_op, false },
	[RV_M_MATCH - RV_M_FIRST] = { ctl_loc_match, false },
	[RV_M_CONNECT - RV_M_FIRST] = { ctl_loc_connect, false },
	[RV_M_REPORT - RV_M_FIRST] = { ctl_loc_report, false },
};

/* A request we cannot decode still gets an answer when its header is a
 * project request: the transaction ID is all we need. */
static void answer_undecodable(struct ctl *c, const uint8_t *buf, size_t len, int rc,
                               const struct ctl_from *from, const struct ctl_sink *sink)
{
	struct rv_stun_msg s;
	struct rv_msg req;
	struct ctl_req r = { c, &req, &s, from, 0, sink };
	enum rv_code code = RV_C_BAD_REQUEST;
	char reason[96];

	if (rv_stun_decode(buf, len, 0, &s) < 0 || s.cls != RV_STUN_REQUEST ||
	    s.method < RV_M_FIRST || s.method > RV_M_LAST)
		return;
	memset(&req, 0, sizeof(req));
	req.method = s.method;
	req.cls = s.cls;
	memcpy(req.txid, rv_stun_txid(&s), RV_STUN_TXID_LEN);
	if (rc == RV_EVERSION)
		code = RV_C_BAD_VERSION;
	else if (rc == RV_EUNKNOWNATTR)
		code = RV_C_UNKNOWN_ATTRIBUTE;
	snprintf(reason, sizeof(reason), "%s", rv_strerror(rc));
	if (code != RV_C_UNKNOWN_ATTRIBUTE) {
		(void)ctl_reply_error(&r, code, reason);
		return;
	}
	/* 420 must list what was not understood (RFC 8489 §14.8), which the
	 * project codec has no field for: build it with the STUN encoder. */
	uint8_t out[256];
	struct rv_stun_enc e;

	rv_stun_enc_init_reply(&e, out, sizeof(out), &s, RV_STUN_ERROR);
	rv_stun_enc_error(&e, 420, "Unknown Attribute");
	rv_stun_enc_unknown(&e, s.unknown,
	                    s.nunknown < RV_STUN_MAX_UNKNOWN ? s.nunknown : RV_STUN_MAX_UNKNOWN);
	rv_stun_enc_fingerprint(&e);
	int n = rv_stun_enc_finish(&e);
	if (n > 0)
		sink->send(sink->ctx, from, out, (size_t)n);
}

void ctl_handle(struct ctl *c, const uint8_t *buf, size_t len, const struct ctl_from *from,
                uint64_t now_ms, const struct ctl_sink *sink)
{
	struct rv_msg req;
	struct rv_stun_msg s;
	struct ctl_req r = { c, &req, &s, from, now_ms, sink };
	unsigned idx;
	int rc, code;

	c->ctr.rx++;
	/* Standalone, this socket is also the STUN server and the relay. */
	if (!from->via_dp && (ctl_relay_forward(c, buf, len, from, now_ms, sink) ||
	                      ctl_stun_answer(c, buf, len, from, now_ms, sink)))
		return;
	rc = rv_msg_decode(buf, len, &req, &s);
	if (rc < 0) {
		c->ctr.rx_bad++;
		answer_undecodable(c, buf, len, rc, from, sink);
		return;
	}
	if (req.cls != RV_STUN_REQUEST || req.method < RV_M_FIRST || req.method > RV_M_LAST) {
		/* Answers to our INSTRUCTs, and stray responses. */
		if (req.cls == RV_STUN_SUCCESS || req.cls == RV_STUN_ERROR)
			ctl_broker_answer(c, &req);
		c->ctr.rx_not_request++;
		return;
	}
	idx = req.method - RV_M_FIRST;
	if (!handlers[idx].fn) {
		code = ctl_reply_error(&r, RV_C_BAD_REQUEST, "method not served here");
	} else if (handlers[idx].auth_role ? c->conf.role == CTL_ROLE_LOCATOR
	                                   : c->conf.role == CTL_ROLE_AUTH) {
		code = ctl_reply_error(&r, RV_C_FORBIDDEN,
		                       handlers[idx].auth_role ? "no auth service here"
		                                               : "no locator service here");
	} else {
		code = handlers[idx].fn(&r);
	}
	if (code)
		c->ctr.err[idx]++;
	else
		c->ctr.ok[idx]++;
	if (c->conf.verbose) {
		char a[RV_ADDR_STRLEN];
		rv_addr_fmt(&from->src, a, sizeof(a));
		if (code)
			fprintf(stderr, "rvcontrol: %s from %s: %d %s\n", rv_method_str(req.method),
			        a, code, rv_code_str(code));
		else
			fprintf(stderr, "rvcontrol: %s from %s: ok\n", rv_method_str(req.method),
			        a);
	}
}

struct sweep_ctx {
	struct ctl *c;
	const struct ctl_sink *sink;
};

static void expired(void *ctx, const struct ctl_reg *g)
{
	struct sweep_ctx *x = ctx;
	struct rv_dpc m = { .type = RV_DPC_SESSION_DEL, .session = g->session };

	x->sink->dataplane(x->sink->ctx, &m);
	x->c->ctr.registrations_expired++;
}

void ctl_tick(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink)
{
	struct sweep_ctx x = { c, sink };

	(void)ctl_store_reg_sweep(c->st, now_ms, CTL_SWEEP_MAX, expired, &x);
	ctl_broker_tick(c, now_ms, sink);
	ctl_relay_tick(c, now_ms, sink);
	(void)ctl_store_nonce_sweep(c->st, now_ms / 1000, CTL_SWEEP_MAX);
}

struct resync_ctx {
	struct ctl *c;
	const struct ctl_sink *sink;
	uint64_t now_ms;
	int pushed;
};

static int resync_one(void *ctx, const struct ctl_reg *g)
{
	struct resync_ctx *x = ctx;

	if (g->expires_ms > x->now_ms) {
		ctl_push_session(x->c, x->sink, g);
		x->pushed++;
	}
	return 0;
}

void ctl_resync_begin(struct ctl *c, struct ctl_resync *r, const struct ctl_sink *sink)
{
	struct rv_dpc flush = { .type = RV_DPC_FLUSH };

	memset(r, 0, sizeof(*r));
	r->active = true;
	sink->dataplane(sink->ctx, &flush);
	ctl_relay_resync(c, sink);
}

int ctl_resync_step(struct ctl *c, struct ctl_resync *r, uint64_t now_ms,
                    const struct ctl_sink *sink)
{
	struct resync_ctx x = { c, sink, now_ms, 0 };
	int n;

	if (!r->active)
		return 0;
	n = ctl_store_reg_page(c->st, r->cursor, r->pages == 0, CTL_RESYNC_PAGE, resync_one, &x);
	r->pages++;
	r->pushed += (uint64_t)x.pushed;
	if (n < 0 || n < CTL_RESYNC_PAGE)
		r->active = false;
	return n < 0 ? n : r->active;
}

int ctl_resync(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink)
{
	struct ctl_resync r;
	int rc;

	ctl_resync_begin(c, &r, sink);
	while ((rc = ctl_resync_step(c, &r, now_ms, sink)) > 0)
		;
	return rc < 0 ? rc : (int)r.pushed;
}
