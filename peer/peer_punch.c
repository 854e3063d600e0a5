/* peer_punch.c — one attempt's state machine (peer_punch.h). */
#include <string.h>

#include "peer_punch.h"
#include "proto/delta.h"
#include "proto/pdg.h"

static void act(struct peer_punch *p, struct peer_act a)
{
	if (p->n_acts < PEER_ACTS)
		p->acts[p->n_acts++] = a;
}

struct peer_instruct peer_instruct_of(const struct rv_msg *m)
{
	return (struct peer_instruct){ .role = m->role.role,
		                       .strategy = m->role.strategy,
		                       .step = m->role.step,
		                       .peer_addr = m->peer_addr,
		                       .peer_nat = m->nat,
		                       .has_target = m->present & RV_BIT(RV_F_TARGET),
		                       .has_range = m->present & RV_BIT(RV_F_RANGE),
		                       .target = m->target,
		                       .range = m->range,
		                       .delta = m->delta,
		                       .ttl = m->ttl,
		                       .count = m->count,
		                       .deadline_ms = m->deadline_ms,
		                       .has_relay = m->present & RV_BIT(RV_F_RELAY),
		                       .relay = m->relay };
}
/* This NAT keeps one mapping per socket (or keeps the local port), so the
 * range probes go out of the punching socket itself and pin its port. */
static bool shared(const struct rv_nat_info *n)
{
	return n->map == RV_MAP_EI || n->alloc == RV_ALLOC_PRESERVING || n->type == RV_NAT_NONE ||
	       n->type == RV_NAT_FULL_CONE || n->type == RV_NAT_RESTRICTED ||
	       n->type == RV_NAT_PORT_RESTRICTED;
}

static void fail(struct peer_punch *p, uint8_t why)
{
	if (p->phase == PEER_PH_DONE || p->phase == PEER_PH_FAILED)
		return;
	p->phase = PEER_PH_FAILED;
	act(p, (struct peer_act){ .kind = PEER_ACT_FAIL, .result = why });
}

static void done(struct peer_punch *p, uint16_t sock, const struct rv_addr *to)
{
	if (p->phase == PEER_PH_DONE || p->phase == PEER_PH_FAILED)
		return;
	p->phase = PEER_PH_DONE;
	p->path_sock = sock;
	p->path_to = *to;
	act(p, (struct peer_act){ .kind = PEER_ACT_DONE, .sock = sock, .to = *to });
}

static void need_socks(struct peer_punch *p, uint16_t upto)
{
	if (upto > p->n_socks)
		act(p, (struct peer_act){ .kind = PEER_ACT_OPEN, .sock = (uint16_t)(upto - 1) });
}

static void send_probe(struct peer_punch *p, uint64_t now_ms)
{
	act(p, (struct peer_act){ .kind = PEER_ACT_PROBE,
	                          .sock = p->plan[p->plan_at].sock,
	                          .srv = p->plan[p->plan_at].srv,
	                          .probe_kind = p->plan[p->plan_at].kind,
	                          .seq = p->seq });
	p->next_ms = now_ms + PEER_PROBE_MS;
}

/* Sprays: a list of ports (a range, or random ones) gets one datagram each,
 * PEER_BATCH per tick, max_sweeps times. */
static void spray_begin(struct peer_punch *p, uint8_t type, uint16_t sock, uint16_t first,
                        int32_t step, uint32_t n, uint8_t sweeps, bool random, uint64_t now_ms)
{
	p->spray_type = type;
	p->spray_sock = sock;
	p->spray_first = first;
	p->spray_step = step ? step : 1;
	p->spray_n = n ? n : 1;
	p->spray_i = 0;
	p->sweeps = 0;
	p->max_sweeps = sweeps;
	p->spray_random = random;
	p->next_ms = now_ms;
}

static uint16_t random_port(struct peer_punch *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return (uint16_t)(1024 + p->rng % 64512);
}

static bool birthday_hard(const struct peer_punch *p)
{
	return p->ins.strategy == RV_STRAT_BIRTHDAY && p->ins.role == RV_ROLE_SENDER;
}

/* One tick of a spray; true when the current sweep is complete. */
static bool spray_tick(struct peer_punch *p)
{
	struct rv_port_space ps = rv_port_space_default();

	for (unsigned k = 0; k < PEER_BATCH && p->spray_i < p->spray_n; k++, p->spray_i++) {
		struct peer_act a = { .kind = PEER_ACT_SEND,
			              .sock = p->spray_sock,
			              .pdg_type = p->spray_type,
			              .pdg_seq = ++p->pdg_seq,
			              .ttl = p->spray_ttl,
			              .to = p->ins.peer_addr };
		if (birthday_hard(p)) {
			/* One port-assigning packet from each of the many sockets. */
			a.sock = (uint16_t)(2 + p->spray_i);
		} else if (p->spray_random) {
			a.to.port = random_port(p);
		} else {
			int port = rv_port_add(&ps, p->spray_first,
			                       p->spray_step * (int32_t)p->spray_i);
			if (port < 0)
				continue;
			a.to.port = (uint16_t)port;
		}
		act(p, a);
		p->packets++;
	}
	return p->spray_i >= p->spray_n;
}

/* --- the probe plans -------------------------------------------------------- */

static void plan_add(struct peer_punch *p, uint8_t kind, uint16_t sock, uint8_t srv)
{
	p->plan[p->n_plan].kind = kind;
	p->plan[p->n_plan].sock = sock;
	p->plan[p->n_plan].srv = srv;
	p->n_plan++;
}

/* Δ probes from fresh sockets, a range probe, the packet whose port is
 * wanted (kind 0: bubbles or the assigning packet, from L), and a range
 * probe to the alternate server (S303-S307 / S602-S612). */
static void plan_around_l(struct peer_punch *p, bool with_packet)
{
	uint16_t fresh = 2;

	p->n_plan = p->plan_at = 0;
	if (!shared(&p->own)) {
		for (int i = 0; i < PEER_DELTA_N; i++)
			plan_add(p, RV_PROBE_DELTA, fresh++, 0);
		plan_add(p, RV_PROBE_RANGE_BEFORE, fresh++, 0);
	} else {
		plan_add(p, RV_PROBE_RANGE_BEFORE, 1, 0);
	}
	if (!with_packet)
		return;
	plan_add(p, 0, 1, 0);
	plan_add(p, RV_PROBE_RANGE_AFTER, shared(&p->own) ? 1 : fresh++, 1);
}

static void plan_step(struct peer_punch *p, uint64_t now_ms);

static void run_plan(struct peer_punch *p, uint64_t now_ms)
{
	uint16_t top = 2;

	for (unsigned i = 0; i < p->n_plan; i++)
		if (p->plan[i].sock + 1u > top)
			top = (uint16_t)(p->plan[i].sock + 1u);
	need_socks(p, top);
	p->phase = PEER_PH_PROBE;
	p->n_ports = 0;
	p->tries = 0;
	if (p->n_socks >= top)
		plan_step(p, now_ms);
}

/* The packet of a plan: E1 sender's bubble, E4 sender's bubbles to the
 * target range, E4 receiver's low-TTL assigning packet. */
static void plan_packet(struct peer_punch *p, uint64_t now_ms)
{
	const struct peer_instruct *in = &p->ins;

	if (in->strategy == RV_STRAT_E4 && in->role == RV_ROLE_RECEIVER) {
		p->spray_ttl = in->ttl;
		spray_begin(p, RV_PDG_ASSIGN, 1, in->peer_addr.port, 1, 1, 1, false, now_ms);
	} else if (in->has_target) {
		p->spray_ttl = 0;
		spray_begin(p, RV_PDG_BUBBLE, 1, in->target.first, in->target.step,
		            in->target.count, 1, false, now_ms);
	} else {
		p->spray_ttl = 0;
		spray_begin(p, RV_PDG_BUBBLE, 1, in->peer_addr.port, 1, 1, 1, false, now_ms);
	}
	while (!spray_tick(p))
		;
}

static void after_plan(struct peer_punch *p, uint64_t now_ms)
{
	const struct peer_instruct *in = &p->ins;

	if (in->strategy == RV_STRAT_RELAY) {
		/* Bound: knock through the relay until the partner answers. */
		spray_begin(p, RV_PDG_REPLY, 1, in->peer_addr.port, 1, 1, PEER_RELAY_TRY, false,
		            now_ms);
		p->phase = PEER_PH_SPRAY;
		/* The first knock now, the next ones a sweep apart. */
		(void)spray_tick(p);
		p->sweeps = 1;
		p->spray_i = 0;
		p->next_ms = now_ms + PEER_SWEEP_MS;
		return;
	}
	act(p, (struct peer_act){ .kind = PEER_ACT_REPORT });
	p->reported = true;
	if (in->strategy == RV_STRAT_E4 && in->role == RV_ROLE_RECEIVER)
		p->phase = PEER_PH_WAIT; /* for the sender's bubble range */
	else if (in->strategy == RV_STRAT_PREDICT)
		p->phase = PEER_PH_WAIT; /* for the partner's predicted ports */
	else
		p->phase = PEER_PH_LISTEN; /* our bubbles are out: replies come to L */
	p->next_ms = now_ms + PEER_SWEEP_MS;
}

static void plan_step(struct peer_punch *p, uint64_t now_ms)
{
	while (p->plan_at < p->n_plan && p->plan[p->plan_at].kind == 0) {
		plan_packet(p, now_ms);
		p->plan_at++;
	}
	if (p->plan_at == p->n_plan) {
		after_plan(p, now_ms);
		return;
	}
	p->seq++;
	p->tries = 1;
	send_probe(p, now_ms);
}

/* --- relaying ----------------------------------------------------------------- */

/* Bind L to the relay (one RELAY probe, retried like any probe), then the
 * handshake through it (after_plan). */
static void relay_begin(struct peer_punch *p, const struct peer_instruct *in, uint64_t now_ms)
{
	p->ins.strategy = RV_STRAT_RELAY;
	p->ins.has_relay = true;
	p->ins.relay = in->relay;
	p->ins.peer_addr = in->peer_addr;
	p->ins.has_target = p->ins.has_range = false;
	p->n_acts = 0; /* whatever the direct try still had queued */
	p->n_plan = p->plan_at = 0;
	plan_add(p, RV_PROBE_RELAY, 1, 0);
	run_plan(p, now_ms);
}

/* --- spraying replies --------------------------------------------------------- */

/* The receiver's spray over a range (E1, E4 step 2), retried with each
 * divisor of Δ in turn (the document's fallback after S313). */
static void spray_range(struct peer_punch *p, uint16_t sock, uint64_t now_ms)
{
	const struct rv_port_range *r = &p->ins.range;
	int32_t divs[RV_DELTA_MAX_DIVISORS];
	int n = rv_delta_divisors(r->step ? r->step : 1, divs, RV_DELTA_MAX_DIVISORS);
	int32_t step = n > p->divisor_at ? divs[p->divisor_at] : 1;
	uint32_t span = (uint32_t)(r->count - 1) * (uint32_t)(r->step < 0 ? -r->step : r->step);
	uint32_t count = span / (uint32_t)(step < 0 ? -step : step) + 1;

	spray_begin(p, RV_PDG_REPLY, sock, r->first, step, count, 2, false, now_ms);
	p->phase = PEER_PH_SPRAY;
}

static void begin_spray_for_step(struct peer_punch *p, uint64_t now_ms)
{
	const struct peer_instruct *in = &p->ins;

	p->spray_ttl = 0;
	p->divisor_at = 0;
	switch (in->strategy) {
	case RV_STRAT_E1:
		spray_range(p, 0, now_ms); /* from the registration socket (S312) */
		break;
	case RV_STRAT_E4:
		spray_range(p, 1, now_ms); /* from L, through the assigned port (S631) */
		break;
	case RV_STRAT_PREDICT:
		spray_begin(p, RV_PDG_REPLY, 1, in->range.first, in->range.step, in->range.count, 3,
		            false, now_ms);
		p->phase = PEER_PH_SPRAY;
		break;
	case RV_STRAT_BIRTHDAY:
		spray_begin(p, RV_PDG_REPLY, 0, 0, 1, in->count, 2, true, now_ms);
		p->phase = PEER_PH_SPRAY;
		break;
	default:
		break;
	}
}

/* --- entry points ------------------------------------------------------------------ */

void peer_punch_start(struct peer_punch *p, const struct peer_instruct *in,
                      const struct rv_nat_info *own, uint64_t seed, uint64_t now_ms)
{
	memset(p, 0, sizeof(*p));
	p->ins = *in;
	p->own = *own;
	p->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	p->start_ms = now_ms;
	p->deadline_ms = now_ms + (in->deadline_ms ? in->deadline_ms : 15000);
	p->n_socks = 1; /* the registration socket always exists */
	p->phase = PEER_PH_WAIT;

	switch (in->strategy) {
	case RV_STRAT_DIRECT:
		if (in->role == RV_ROLE_SENDER) {
			/* Knock on the reachable side's door until it answers. */
			spray_begin(p, RV_PDG_REPLY, 0, in->peer_addr.port, 1, 1, 255, false,
			            now_ms);
			p->phase = PEER_PH_SPRAY;
		} else {
			p->phase = PEER_PH_LISTEN;
		}
		break;
	case RV_STRAT_E1:
		if (in->role == RV_ROLE_SENDER) {
			plan_around_l(p, true);
			run_plan(p, now_ms);
		}
		break;
	case RV_STRAT_E4:
		if (in->role == RV_ROLE_RECEIVER) {
			plan_around_l(p, true);
			run_plan(p, now_ms);
		}
		break;
	case RV_STRAT_PREDICT:
		plan_around_l(p, false);
		run_plan(p, now_ms);
		break;
	case RV_STRAT_RELAY:
		relay_begin(p, in, now_ms);
		break;
	case RV_STRAT_BIRTHDAY:
		if (in->role == RV_ROLE_SENDER) {
			uint32_t n = in->count ? in->count : 1;
			if (n > PEER_SOCKS - 2)
				n = PEER_SOCKS - 2;
			p->ins.count = n;
			p->spray_ttl = in->ttl;
			/* Two sweeps: an assigning packet lost on the way to
			 * the NAT is a mapping the easy side can never hit, and
			 * sending one again costs nothing (it dies before the
			 * partner, and an open mapping is only refreshed). */
			spray_begin(p, RV_PDG_ASSIGN, 2, in->peer_addr.port, 1, n, 2, false,
			            now_ms);
			need_socks(p, (uint16_t)(2 + n));
			p->phase = PEER_PH_PROBE; /* until the sockets exist */
		}
		break;
	default:
		fail(p, RV_RES_ABORTED);
	}
}

void peer_punch_instruct(struct peer_punch *p, const struct peer_instruct *in, uint64_t now_ms)
{
	if (p->phase == PEER_PH_DONE || p->phase == PEER_PH_FAILED || in->step <= p->ins.step)
		return;
	p->ins.step = in->step;
	if (in->strategy == RV_STRAT_RELAY && in->has_relay) {
		/* The direct try is over: the server moves us to a relay. */
		p->deadline_ms = now_ms + (in->deadline_ms ? in->deadline_ms : 15000);
		relay_begin(p, in, now_ms);
		return;
	}
	/* BIRTHDAY's hard side has no later step (rvcontrol instructs only the
	 * easy side again): its assigning packets are out, L listens. Taking
	 * a count here would spray REPLYs from sockets 2.. count, never opened. */
	if (birthday_hard(p))
		return;
	p->ins.has_target = in->has_target;
	p->ins.has_range = in->has_range;
	p->ins.target = in->target;
	p->ins.range = in->range;
	p->ins.delta = in->delta;
	if (in->count)
		p->ins.count = in->count;
	/* The partner's NAT address for the spray (its port is per packet). */
	p->ins.peer_addr = in->peer_addr;
	if (in->strategy == RV_STRAT_E4 && in->role == RV_ROLE_SENDER && in->has_target) {
		plan_around_l(p, true);
		run_plan(p, now_ms);
	} else {
		begin_spray_for_step(p, now_ms);
	}
}

void peer_punch_opened(struct peer_punch *p, uint16_t n, uint64_t now_ms)
{
	if (n <= p->n_socks)
		return;
	p->n_socks = n;
	if (p->phase != PEER_PH_PROBE)
		return;
	if (birthday_hard(p)) {
		if (n >= 2 + p->ins.count) {
			/* The first sweep at once, so the report (which starts
			 * the easy side) follows the mappings it needs; the
			 * second on the timer. */
			while (!spray_tick(p))
				;
			act(p, (struct peer_act){ .kind = PEER_ACT_REPORT });
			p->reported = true;
			p->sweeps = 1;
			p->spray_i = 0;
			p->phase = PEER_PH_SPRAY;
			p->next_ms = now_ms + PEER_SWEEP_MS;
		}
		return;
	}
	if (p->tries == 0 && p->plan_at == 0)
		plan_step(p, now_ms);
}

void peer_punch_probe(struct peer_punch *p, uint16_t sock, uint8_t kind, uint16_t seq,
                      uint16_t observed_port, uint64_t now_ms)
{
	if (p->phase != PEER_PH_PROBE || p->plan_at >= p->n_plan || seq != p->seq ||
	    kind != p->plan[p->plan_at].kind || sock != p->plan[p->plan_at].sock)
		return; /* late, duplicate or foreign: ignore */
	if (p->n_ports < RV_PORTS_MAX)
		p->ports[p->n_ports++] = observed_port;
	p->plan_at++;
	plan_step(p, now_ms);
}

void peer_punch_datagram(struct peer_punch *p, uint16_t sock, const struct rv_addr *from,
                         uint8_t type, uint32_t seq, uint64_t now_ms)
{
	(void)now_ms;
	if (p->phase == PEER_PH_DONE || p->phase == PEER_PH_FAILED)
		return;
	switch (type) {
	case RV_PDG_REPLY:
		/* The first reply through (S313): acknowledge it on the same path. */
		act(p, (struct peer_act){ .kind = PEER_ACT_SEND,
		                          .sock = sock,
		                          .pdg_type = RV_PDG_ACK,
		                          .pdg_seq = seq,
		                          .to = *from });
		done(p, sock, from);
		break;
	case RV_PDG_ACK:
		done(p, sock, from);
		break;
	case RV_PDG_BUBBLE:
		/* Our NAT let a bubble in (a cone on this side): answer it
		 * directly, the sender's NAT is open toward us now. */
		act(p, (struct peer_act){ .kind = PEER_ACT_SEND,
		                          .sock = sock,
		                          .pdg_type = RV_PDG_REPLY,
		                          .pdg_seq = ++p->pdg_seq,
		                          .to = *from });
		p->packets++;
		break;
	default:
		break;
	}
}

void peer_punch_timer(struct peer_punch *p, uint64_t now_ms)
{
	if (p->phase == PEER_PH_DONE || p->phase == PEER_PH_FAILED)
		return;
	if (now_ms >= p->deadline_ms) {
		fail(p, RV_RES_TIMEOUT);
		return;
	}
	if (now_ms < p->next_ms)
		return;
	switch (p->phase) {
	case PEER_PH_PROBE:
		if (p->plan_at >= p->n_plan || p->tries == 0)
			break;
		if (p->tries >= PEER_PROBE_TRY) {
			fail(p, RV_RES_TIMEOUT);
			break;
		}
		p->tries++;
		send_probe(p, now_ms);
		break;
	case PEER_PH_SPRAY:
		if (!spray_tick(p)) {
			p->next_ms = now_ms + PEER_TICK_MS;
			break;
		}
		if (++p->sweeps < p->max_sweeps) {
			p->spray_i = 0;
			p->next_ms = now_ms + PEER_SWEEP_MS;
			break;
		}
		if ((p->ins.strategy == RV_STRAT_E1 || p->ins.strategy == RV_STRAT_E4) &&
		    p->spray_step != 1 && p->spray_step != -1) {
			/* Nothing came back: maybe Δ was a multiple of the real one. */
			p->divisor_at++;
			spray_range(p, p->spray_sock, now_ms + PEER_SWEEP_MS);
			p->next_ms = now_ms + PEER_SWEEP_MS;
			break;
		}
		p->phase = PEER_PH_LISTEN;
		p->next_ms = p->deadline_ms;
		break;
	default:
		p->next_ms = p->deadline_ms;
		break;
	}
}

uint64_t peer_punch_next(const struct peer_punch *p)
{
	if (p->phase == PEER_PH_DONE || p->phase == PEER_PH_FAILED)
		return UINT64_MAX;
	return p->next_ms < p->deadline_ms ? p->next_ms : p->deadline_ms;
}

size_t peer_punch_take(struct peer_punch *p, struct peer_act *out, size_t cap)
{
	size_t n = p->n_acts < cap ? p->n_acts : cap;

	memcpy(out, p->acts, n * sizeof(*out));
	memmove(p->acts, p->acts + n, (p->n_acts - n) * sizeof(*out));
	p->n_acts = (uint16_t)(p->n_acts - n);
	return n;
}

const char *peer_phase_str(uint8_t phase)
{
	static const char *const names[] = { "idle",   "wait", "probe", "spray",
		                             "listen", "done", "failed" };
	return phase < sizeof(names) / sizeof(names[0]) ? names[phase] : "?";
}
