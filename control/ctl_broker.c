/* ctl_broker.c — connect, report, and the INSTRUCTs between (ctl_broker.h,
 * proto/WIRE.md "Connecting"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_core.h"
#include "proto/delta.h"
#include "proto/keys.h"
#include "proto/range.h"
#include "proto/strategy.h"

static struct ctl_attempt *find(struct ctl *c, uint64_t id)
{
	for (unsigned i = 0; i < CTL_ATTEMPTS; i++)
		if (c->attempts[i].phase != CTL_PH_FREE && c->attempts[i].id == id)
			return &c->attempts[i];
	return NULL;
}

static int side_of(const struct ctl_attempt *a, const uint8_t locator[RV_LOCATOR_LEN])
{
	for (int s = 0; s < 2; s++)
		if (!memcmp(a->side[s].locator, locator, RV_LOCATOR_LEN))
			return s;
	return -1;
}

/* Connects per locator per minute, in a fixed table keyed by a hash of the
 * locator: a flood of fresh locators evicts, it never grows anything. */
static bool rate_ok(struct ctl *c, const uint8_t locator[RV_LOCATOR_LEN], uint64_t now_ms)
{
	uint64_t key, h;
	unsigned slot;

	memcpy(&key, locator, sizeof(key));
	h = (key ^ c->rate_seed) * 0x9e3779b97f4a7c15ull;
	slot = (unsigned)(h >> 52) % CTL_RATE_SLOTS;
	if (c->rate[slot].key != key || now_ms - c->rate[slot].window_start_ms >= 60000) {
		c->rate[slot].key = key;
		c->rate[slot].window_start_ms = now_ms;
		c->rate[slot].count = 0;
	}
	return ++c->rate[slot].count <= c->conf.connect_rate;
}

/* (Re)send a side's pending INSTRUCT to where its registration is now. */
static void transmit(struct ctl *c, struct ctl_side *sd, uint64_t now_ms,
                     const struct ctl_sink *sink)
{
	struct ctl_reg g;

	sd->tries++;
	/* 0.5 s, then every second: a silent side is known within 4.5 s. */
	sd->next_ms = now_ms + (uint64_t)CTL_RETRY_MS * (sd->tries < 2 ? sd->tries : 2);
	if (ctl_store_reg_get(c->st, sd->locator, &g) < 0)
		return;
	struct ctl_from to = { g.addr, g.local, g.path, g.via_dataplane };
	sink->send(sink->ctx, &to, sd->wire, sd->len);
}

/* Build and send INSTRUCT to side s; extra holds the step's own fields. */
static int instruct(struct ctl *c, struct ctl_attempt *a, int s, struct rv_msg *m, uint64_t now_ms,
                    const struct ctl_sink *sink)
{
	struct ctl_side *sd = &a->side[s], *other = &a->side[!s];
	struct ctl_reg self, peer;
	uint8_t txid[RV_STUN_TXID_LEN];
	int n;

	if (ctl_store_reg_get(c->st, sd->locator, &self) < 0 ||
	    ctl_store_reg_get(c->st, other->locator, &peer) < 0 || self.expires_ms <= now_ms ||
	    peer.expires_ms <= now_ms)
		return -ENOENT;
	randombytes_buf(txid, sizeof(txid));
	/* m carries the step's own fields; the header and common ones here. */
	m->method = RV_M_INSTRUCT;
	m->cls = RV_STUN_REQUEST;
	memcpy(m->txid, txid, sizeof(txid));
	m->version_major = RV_VERSION_MAJOR;
	m->version_minor = RV_VERSION_MINOR;
	m->present |= RV_BIT(RV_F_VERSION);
	m->attempt = a->id;
	m->role.role = s == a->sender ? RV_ROLE_SENDER : RV_ROLE_RECEIVER;
	m->role.strategy = a->strategy;
	m->role.step = a->step;
	m->role.flags = a->sender == 1 ? RV_ROLE_SWAPPED : 0;
	rv_key_wrap(self.msg_key, a->id, a->key, m->key);
	memcpy(m->locator, other->locator, RV_LOCATOR_LEN);
	m->nat = other->nat;
	m->deadline_ms = (uint32_t)(a->deadline_ms > now_ms ? a->deadline_ms - now_ms : 0);
	if (!(m->present & RV_BIT(RV_F_PEER_ADDR)))
		m->peer_addr = peer.addr;
	m->present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_ROLE) | RV_BIT(RV_F_KEY) |
	              RV_BIT(RV_F_LOCATOR) | RV_BIT(RV_F_NAT) | RV_BIT(RV_F_DEADLINE) |
	              RV_BIT(RV_F_PEER_ADDR);
	n = rv_msg_encode(m, sd->wire, sizeof(sd->wire), self.msg_key, sizeof(self.msg_key));
	if (n < 0)
		return n;
	sd->len = (uint16_t)n;
	memcpy(sd->txid, txid, sizeof(txid));
	sd->pending = true;
	sd->tries = 0;
	transmit(c, sd, now_ms, sink);
	return 0;
}

static void finish(struct ctl *c, struct ctl_attempt *a, uint64_t now_ms,
                   const struct ctl_sink *sink)
{
	const struct rv_result *best = NULL;
	uint32_t elapsed = 0, packets = 0;
	uint8_t code = RV_RES_TIMEOUT;

	for (int s = 0; s < 2; s++) {
		if (!a->side[s].done)
			continue;
		packets += a->side[s].result.packets;
		if (a->side[s].result.elapsed_ms > elapsed)
			elapsed = a->side[s].result.elapsed_ms;
		if (!best || a->side[s].result.code == RV_RES_OK)
			best = &a->side[s].result;
	}
	if (best)
		code = best->code;
	if (a->strategy == RV_STRAT_RELAY && code == RV_RES_OK)
		code = RV_RES_RELAYED;
	if (a->strategy == RV_STRAT_RELAY && code != RV_RES_RELAYED) {
		/* Neither side got through the relay: free it now. */
		struct ctl_relay *rl = ctl_relay_of(c, a->id);
		if (rl)
			ctl_relay_close(c, rl, code, now_ms, sink);
	}
	(void)ctl_store_stats_add(c->st, a->side[0].nat.type, a->side[1].nat.type, a->strategy,
	                          code, elapsed, packets);
	if (c->conf.verbose)
		fprintf(stderr, "rvcontrol: attempt %016llx (%s, %s -> %s) ended: %s in %u ms\n",
		        (unsigned long long)a->id, rv_strategy_str(a->strategy),
		        rv_nat_type_str(a->side[0].nat.type), rv_nat_type_str(a->side[1].nat.type),
		        rv_result_str(code), elapsed);
	a->phase = CTL_PH_FREE;
}

/* A range message field from the side's reported probe ports: the last two
 * are the range probes around the packet whose NAT port we want, the rest
 * (with the before-probe) measure Δ. */
static int range_of(const struct ctl *c, const struct ctl_side *sd, bool with_after,
                    struct rv_port_range *out, int16_t *delta_out)
{
	struct rv_port_space ps = rv_port_space_default();
	struct rv_delta d;
	struct rv_range_in in = { .ps = ps, .cap = c->conf.max_spray };
	struct rv_range r;
	unsigned n = sd->n_ports, nd = with_after ? n - 1 : n;
	bool shared = sd->nat.map == RV_MAP_EI || sd->nat.alloc == RV_ALLOC_PRESERVING;
	int rc;

	/* A NAT that keeps its mapping (or the local port) makes the range
	 * probes share the punching socket: only they are reported. */
	if (n < (shared ? (with_after ? 2u : 1u) : (with_after ? 3u : 2u)))
		return RV_ENODATA;
	if (shared) {
		d.gcd = sd->nat.delta ? sd->nat.delta : 1;
	} else {
		rc = rv_delta_detect(&ps, sd->ports, nd, &d);
		if (rc < 0)
			return rc;
	}
	*delta_out = (int16_t)d.gcd;
	if (!with_after) {
		/* PREDICT: the next ports after the before-probe's. */
		int first = rv_port_add(&ps, sd->ports[n - 1], d.gcd);
		uint32_t count =
		        c->conf.max_spray < CTL_PREDICT_N ? c->conf.max_spray : CTL_PREDICT_N;
		if (first < 0)
			return first;
		out->first = (uint16_t)first;
		out->step = (int16_t)d.gcd;
		out->count = (uint16_t)count;
		out->last =
		        (uint16_t)rv_port_add(&ps, (uint16_t)first, d.gcd * (int32_t)(count - 1));
		return 0;
	}
	in.before = sd->ports[n - 2];
	in.after = sd->ports[n - 1];
	in.before_shared = in.after_shared = shared;
	in.delta = d.gcd;
	rc = rv_range_detect(&in, &r);
	if (rc < 0)
		return rc;
	out->first = r.first;
	out->last = r.last;
	out->step = (int16_t)r.step;
	out->count = (uint16_t)r.count;
	return 0;
}

/* What comes after the reports in hand; called when a report passed its
 * check (or needs none). */
static void advance(struct ctl *c, struct ctl_attempt *a, uint64_t now_ms,
                    const struct ctl_sink *sink)
{
	int snd = a->sender, rcv = !a->sender, rc = 0;
	struct rv_msg m;
	int16_t delta;

	memset(&m, 0, sizeof(m));
	a->phase = CTL_PH_PROBING;
	switch (a->strategy) {
	case RV_STRAT_E1:
		if (!a->side[snd].reported)
			return;
		rc = range_of(c, &a->side[snd], true, &m.range, &delta);
		if (rc < 0)
			break;
		m.delta = delta;
		m.present = RV_BIT(RV_F_RANGE) | RV_BIT(RV_F_DELTA);
		a->step = 1;
		rc = instruct(c, a, rcv, &m, now_ms, sink);
		a->phase = CTL_PH_SPRAYING;
		break;
	case RV_STRAT_E4:
		if (a->step == 0 && a->side[rcv].reported) {
			rc = range_of(c, &a->side[rcv], true, &m.target, &delta);
			if (rc < 0)
				break;
			m.delta = delta;
			m.present = RV_BIT(RV_F_TARGET) | RV_BIT(RV_F_DELTA);
			a->step = 1;
			rc = instruct(c, a, snd, &m, now_ms, sink);
		} else if (a->step == 1 && a->side[snd].reported) {
			rc = range_of(c, &a->side[snd], true, &m.range, &delta);
			if (rc < 0)
				break;
			m.delta = delta;
			m.present = RV_BIT(RV_F_RANGE) | RV_BIT(RV_F_DELTA);
			a->step = 2;
			rc = instruct(c, a, rcv, &m, now_ms, sink);
			a->phase = CTL_PH_SPRAYING;
		}
		break;
	case RV_STRAT_PREDICT:
		if (!a->side[0].reported || !a->side[1].reported)
			return;
		a->step = 1;
		for (int s = 0; s < 2 && rc == 0; s++) {
			memset(&m, 0, sizeof(m));
			rc = range_of(c, &a->side[!s], false, &m.range, &delta);
			if (rc < 0)
				break;
			m.delta = delta;
			m.count = m.range.count;
			m.present = RV_BIT(RV_F_RANGE) | RV_BIT(RV_F_DELTA) | RV_BIT(RV_F_COUNT);
			rc = instruct(c, a, s, &m, now_ms, sink);
		}
		a->phase = CTL_PH_SPRAYING;
		break;
	case RV_STRAT_BIRTHDAY:
		if (!a->side[snd].reported)
			return;
		m.count = c->conf.max_spray * 4 < CTL_BIRTHDAY_E ? c->conf.max_spray * 4
		                                                 : CTL_BIRTHDAY_E;
		m.present = RV_BIT(RV_F_COUNT);
		a->step = 1;
		rc = instruct(c, a, rcv, &m, now_ms, sink);
		a->phase = CTL_PH_SPRAYING;
		break;
	default:
		a->phase = CTL_PH_SPRAYING;
		return;
	}
	if (rc < 0) {
		if (c->conf.verbose)
			fprintf(stderr, "rvcontrol: attempt %016llx: cannot go on: %s\n",
			        (unsigned long long)a->id, rv_strerror(rc));
		a->phase = CTL_PH_DONE;
	}
}

/* Open a relay for the attempt and tell both sides: INSTRUCT {RELAY
 * grant, PEER-ADDR = the relay}. Their attempt key (in every INSTRUCT)
 * gives them the relay key. False when no relay can be had. */
static bool relay_start(struct ctl *c, struct ctl_attempt *a, uint8_t why, uint64_t now_ms,
                        const struct ctl_sink *sink)
{
	struct ctl_relay *rl = ctl_relay_open(c, a, why, now_ms, sink);
	struct rv_msg m;
	bool told = false;

	if (!rl)
		return false;
	a->strategy = RV_STRAT_RELAY;
	a->phase = CTL_PH_SPRAYING;
	a->deadline_ms = now_ms + CTL_DEADLINE_MS;
	for (int s = 0; s < 2; s++) {
		a->side[s].done = false;
		memset(&m, 0, sizeof(m));
		ctl_relay_grant(c, rl, s, now_ms, &m.relay);
		m.peer_addr = ctl_relay_addr(c);
		m.present = RV_BIT(RV_F_RELAY) | RV_BIT(RV_F_PEER_ADDR);
		told |= instruct(c, a, s, &m, now_ms, sink) == 0;
	}
	if (!told)
		ctl_relay_close(c, rl, RV_RES_PEER_GONE, now_ms, sink);
	return told;
}

/* The direct attempt failed on one side: a relay if the deployment grants
 * them, else both sides hear that there is no path (INSTRUCT {RESULT}). */
static void fall_back(struct ctl *c, struct ctl_attempt *a, uint8_t why, uint64_t now_ms,
                      const struct ctl_sink *sink)
{
	struct rv_msg m;

	a->step++;
	if (!a->no_relay && relay_start(c, a, why, now_ms, sink))
		return;
	for (int s = 0; s < 2; s++) {
		memset(&m, 0, sizeof(m));
		m.result = (struct rv_result){ RV_RES_NO_PATH, a->strategy, 0, 0 };
		m.present = RV_BIT(RV_F_RESULT);
		(void)instruct(c, a, s, &m, now_ms, sink);
	}
	a->phase = CTL_PH_DONE;
}

/* Check a side's reported ports against what rvdp saw of that session
 * (never forward a range the server did not observe), or go on directly
 * when there is no dataplane to ask. */
static void check_report(struct ctl *c, struct ctl_attempt *a, int s, uint64_t session,
                         uint64_t now_ms, const struct ctl_sink *sink)
{
	if (!c->dp_connected || !a->side[s].n_ports) {
		a->side[s].reported = true;
		advance(c, a, now_ms, sink);
		return;
	}
	struct rv_dpc q = { .type = RV_DPC_OBS_QUERY, .session = session };

	/* Both sides may be checked at once (PREDICT): each its own query. */
	if (++c->obs_seq == 0)
		++c->obs_seq;
	a->side[s].obs_seq = c->obs_seq;
	q.seq = c->obs_seq;
	sink->dataplane(sink->ctx, &q);
}

void ctl_broker_obs(struct ctl *c, const struct rv_dpc *r, uint64_t now_ms,
                    const struct ctl_sink *sink)
{
	struct ctl_attempt *a = NULL;
	struct ctl_side *sd = NULL;
	struct ctl_reg g;

	if (!r->seq)
		return;
	for (unsigned i = 0; i < CTL_ATTEMPTS && !a; i++)
		for (int s = 0; s < 2 && c->attempts[i].phase == CTL_PH_PROBING; s++)
			if (c->attempts[i].side[s].obs_seq == r->seq) {
				a = &c->attempts[i];
				sd = &a->side[s];
				break;
			}
	if (!a)
		return;
	sd->obs_seq = 0;
	if (r->status < 0 || ctl_store_reg_get(c->st, sd->locator, &g) < 0)
		goto refuse;
	for (unsigned k = 0; k < sd->n_ports; k++) {
		bool seen = false;
		for (unsigned j = 0; j < r->n_obs && !seen; j++)
			seen = r->obs[j].port == sd->ports[k] &&
			       r->obs[j].ip == rv_addr_v4_host(&g.addr);
		if (!seen)
			goto refuse;
	}
	sd->reported = true;
	advance(c, a, now_ms, sink);
	return;
refuse:
	fprintf(stderr, "rvcontrol: attempt %016llx: reported ports not seen by rvdp: refused\n",
	        (unsigned long long)a->id);
	a->phase = CTL_PH_DONE;
}

int ctl_loc_connect(const struct ctl_req *r)
{
	struct ctl *c = r->c;
	const struct rv_msg *q = r->msg;
	struct ctl_reg self, peer;
	struct ctl_attempt *a = NULL;
	struct rv_plan plan;
	struct rv_msg m, first[2];
	enum rv_strategy pref = RV_STRAT_AUTO;
	int code = ctl_session_auth(r, &self);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	if (!rate_ok(c, self.locator, r->now_ms))
		return ctl_reply_error(r, RV_C_RATE_LIMITED, "too many connects");
	if (ctl_store_reg_get(c->st, q->locator, &peer) < 0 || peer.expires_ms <= r->now_ms)
		return ctl_reply_error(r, RV_C_OFFLINE, NULL);
	if (!memcmp(peer.locator, self.locator, RV_LOCATOR_LEN))
		return ctl_reply_error(r, RV_C_BAD_REQUEST, "cannot connect to oneself");
	if ((q->present & RV_BIT(RV_F_ROLE)) &&
	    (q->role.strategy == RV_STRAT_E1 || q->role.strategy == RV_STRAT_E4))
		pref = (enum rv_strategy)q->role.strategy;
	if (rv_plan_pick(&self.nat, &peer.nat, pref, &plan) < 0)
		return ctl_reply_error(r, RV_C_BAD_REQUEST, "NAT not classified: classify first");
	/* Relay first (the caller wants connectivity at once and upgrades
	 * later): granted like a pair no punching can join, when relays are. */
	bool relay_first = (q->present & RV_BIT(RV_F_ROLE)) && q->role.strategy == RV_STRAT_RELAY &&
	                   c->conf.relay_mb && ctl_relay_addr(c).family;
	if (relay_first)
		plan.direct = false;
	bool no_relay = (q->present & RV_BIT(RV_F_ROLE)) && (q->role.flags & RV_ROLE_NO_RELAY);
	if (!plan.direct && (no_relay || !c->conf.relay_mb || !ctl_relay_addr(c).family))
		return ctl_reply_error(r, RV_C_NO_DIRECT_PATH,
		                       no_relay ? "no direct path between these NATs"
		                                : "only a relay can connect these NATs, and relays "
		                                  "are off");
	for (unsigned i = 0; i < CTL_ATTEMPTS && !a; i++)
		if (c->attempts[i].phase == CTL_PH_FREE)
			a = &c->attempts[i];
	if (!a)
		return ctl_reply_error(r, RV_C_CAPACITY, "too many attempts in flight");

	memset(a, 0, sizeof(*a));
	do
		randombytes_buf(&a->id, sizeof(a->id));
	while (!a->id || find(c, a->id));
	randombytes_buf(a->key, sizeof(a->key));
	a->strategy = (uint8_t)(plan.direct ? plan.strategy : RV_STRAT_RELAY);
	a->no_relay = no_relay;
	a->sender = plan.sender == RV_ROLE_CALLER ? 0 : 1;
	a->phase = CTL_PH_PROBING;
	a->started_ms = r->now_ms;
	a->deadline_ms = r->now_ms + CTL_DEADLINE_MS;
	memcpy(a->side[0].locator, self.locator, RV_LOCATOR_LEN);
	memcpy(a->side[1].locator, peer.locator, RV_LOCATOR_LEN);
	a->side[0].nat = self.nat;
	a->side[1].nat = peer.nat;

	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	m.attempt = a->id;
	m.role = (struct rv_role_info){ a->sender == 0 ? RV_ROLE_SENDER : RV_ROLE_RECEIVER,
		                        a->strategy, 0, a->sender == 1 ? RV_ROLE_SWAPPED : 0 };
	m.present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_ROLE);
	if (a->strategy == RV_STRAT_RELAY) {
		/* No direct path can exist: the relay is the plan. */
		if (!relay_start(c, a, RV_RES_NO_PATH, r->now_ms, r->sink)) {
			a->phase = CTL_PH_FREE;
			return ctl_reply_error(
			        r, RV_C_NO_DIRECT_PATH,
			        "only a relay can connect these NATs, and none is free");
		}
		return ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));
	}
	code = ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));

	/* INSTRUCT #1 to both: partner, key, and what the first step needs. */
	memset(first, 0, sizeof(first));
	if (a->strategy == RV_STRAT_E1) {
		struct rv_msg *s = &first[a->sender];
		const struct ctl_reg *rcv = a->sender == 0 ? &peer : &self;
		s->target = (struct rv_port_range){ rcv->addr.port, rcv->addr.port, 1, 1 };
		s->present = RV_BIT(RV_F_TARGET);
	}
	for (int s = 0; s < 2; s++) {
		const struct rv_nat_info *own = &a->side[s].nat;
		bool assigns = (a->strategy == RV_STRAT_E4 && s != a->sender) ||
		               (a->strategy == RV_STRAT_BIRTHDAY && s == a->sender);
		if (assigns) {
			/* Through its own NAT, dead before the other. */
			first[s].ttl = (uint8_t)((own->hops ? own->hops : 1) + 1);
			first[s].present |= RV_BIT(RV_F_TTL);
		}
		if (a->strategy == RV_STRAT_BIRTHDAY) {
			/* The hard side opens this many mappings; the easy side
			 * is told too, to know its odds when it sprays. */
			first[s].count = CTL_BIRTHDAY_H;
			first[s].present |= RV_BIT(RV_F_COUNT);
		}
		if (instruct(c, a, s, &first[s], r->now_ms, r->sink) < 0)
			a->phase = CTL_PH_DONE;
	}
	return code;
}

/* A REPORT for an attempt that is over: a relayed connection closing
 * (RESULT closed) ends its relay; anything else is unknown. */
static int relay_report(const struct ctl_req *r, const struct ctl_reg *self)
{
	struct ctl_relay *rl = ctl_relay_of(r->c, r->msg->attempt);
	struct rv_msg m;

	if (!rl || (memcmp(rl->locator[0], self->locator, RV_LOCATOR_LEN) &&
	            memcmp(rl->locator[1], self->locator, RV_LOCATOR_LEN)))
		return ctl_reply_error(r, RV_C_NOT_FOUND, "no such attempt for this session");
	if ((r->msg->present & RV_BIT(RV_F_RESULT)) && r->msg->result.code != RV_RES_OK &&
	    r->msg->result.code != RV_RES_RELAYED)
		ctl_relay_end(r->c, rl, RV_RES_CLOSED, r->now_ms, r->sink);
	rv_msg_init_reply(&m, r->msg, RV_STUN_SUCCESS);
	m.attempt = r->msg->attempt;
	m.present |= RV_BIT(RV_F_ATTEMPT);
	return ctl_reply(r, &m, self->msg_key, sizeof(self->msg_key));
}

int ctl_loc_report(const struct ctl_req *r)
{
	struct ctl *c = r->c;
	const struct rv_msg *q = r->msg;
	struct ctl_reg self;
	struct ctl_attempt *a;
	struct rv_msg m;
	int s, code = ctl_session_auth(r, &self);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	a = find(c, q->attempt);
	s = a ? side_of(a, self.locator) : -1;
	if (s < 0)
		return relay_report(r, &self);
	if (q->present & RV_BIT(RV_F_RESULT)) {
		bool failed = q->result.code != RV_RES_OK && q->result.code != RV_RES_RELAYED;
		a->side[s].done = true;
		a->side[s].result = q->result;
		a->side[s].pending = false;
		/* The first side to give up on a direct path moves both to a
		 * relay (the other may still be punching: the INSTRUCT stops it). */
		if (failed && a->strategy != RV_STRAT_RELAY && a->phase != CTL_PH_DONE)
			fall_back(c, a, q->result.code, r->now_ms, r->sink);
	} else if ((q->present & RV_BIT(RV_F_PORTS)) || a->strategy == RV_STRAT_BIRTHDAY) {
		if (a->side[s].got_report || a->phase != CTL_PH_PROBING) {
			/* A retransmitted report: answer it, change nothing. */
		} else {
			a->side[s].got_report = true;
			a->side[s].n_ports = q->n_ports;
			memcpy(a->side[s].ports, q->ports, sizeof(q->ports[0]) * q->n_ports);
			check_report(c, a, s, self.session, r->now_ms, r->sink);
		}
	}
	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	m.attempt = a->id;
	m.present |= RV_BIT(RV_F_ATTEMPT);
	code = ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));
	if (a->side[0].done && a->side[1].done)
		finish(c, a, r->now_ms, r->sink);
	return code;
}

void ctl_broker_answer(struct ctl *c, const struct rv_msg *m)
{
	struct ctl_attempt *a = find(c, m->attempt);

	if (!a || m->method != RV_M_INSTRUCT)
		return;
	for (int s = 0; s < 2; s++)
		if (a->side[s].pending && !memcmp(a->side[s].txid, m->txid, RV_STUN_TXID_LEN)) {
			a->side[s].pending = false;
			a->side[s].acked = true;
		}
}

/* Side s never answered this attempt's INSTRUCTs (gone without a bye,
 * frozen, its NAT mapping lost): end the attempt now rather than at its
 * deadline, and tell the other side why. */
static void partner_gone(struct ctl *c, struct ctl_attempt *a, int s, uint64_t now_ms,
                         const struct ctl_sink *sink)
{
	struct rv_msg m;

	memset(&m, 0, sizeof(m));
	m.result = (struct rv_result){ RV_RES_PEER_GONE, a->strategy, 0, 0 };
	m.present = RV_BIT(RV_F_RESULT);
	a->step++;
	if (c->conf.verbose)
		fprintf(stderr, "rvcontrol: attempt %016llx: the %s never answered: ended\n",
		        (unsigned long long)a->id, s == 0 ? "caller" : "callee");
	(void)instruct(c, a, !s, &m, now_ms, sink);
	a->side[s].done = true;
	a->side[s].result = m.result;
	a->phase = CTL_PH_DONE;
	/* Finished (and counted) once the other side had time to hear it. */
	a->deadline_ms = now_ms;
}

void ctl_broker_tick(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink)
{
	for (unsigned i = 0; i < CTL_ATTEMPTS; i++) {
		struct ctl_attempt *a = &c->attempts[i];

		if (a->phase == CTL_PH_FREE)
			continue;
		if (now_ms >= a->deadline_ms + 2000) {
			/* Both sides have given up by now: record what we know. */
			finish(c, a, now_ms, sink);
			continue;
		}
		for (int s = 0; s < 2; s++) {
			struct ctl_side *sd = &a->side[s];
			if (sd->pending && now_ms >= sd->next_ms) {
				if (sd->tries < CTL_RETRIES) {
					transmit(c, sd, now_ms, sink);
				} else {
					sd->pending = false;
					if (!sd->acked && a->phase != CTL_PH_DONE) {
						partner_gone(c, a, s, now_ms, sink);
						break;
					}
				}
			}
		}
	}
}
