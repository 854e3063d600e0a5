/* ctl_relay.c — the table of live relays (ctl_relay.h). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_core.h"
#include "proto/keys.h"
#include "proto/strategy.h"

struct rv_addr ctl_relay_addr(const struct ctl *c)
{
	if (c->dp_primary.family)
		return c->dp_primary;
	return c->conf.public_addr.family ? c->conf.public_addr : c->conf.listen;
}

static unsigned live(const struct ctl *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CTL_RELAYS; i++)
		n += c->relays[i].id != 0;
	return n;
}

static struct ctl_relay *by_id(struct ctl *c, uint64_t id)
{
	for (unsigned i = 0; i < CTL_RELAYS && id; i++)
		if (c->relays[i].id == id)
			return &c->relays[i];
	return NULL;
}

_Static_assert(CTL_RELAYS < RV_RELAY_CH_MAX - RV_RELAY_CH_MIN + 1,
               "a channel of its own for every relay");

static uint16_t *by_ch(struct ctl *c, uint16_t channel)
{
	return &c->relay_by_ch[channel - RV_RELAY_CH_MIN];
}

struct ctl_relay *ctl_relay_of(struct ctl *c, uint64_t attempt)
{
	for (unsigned i = 0; i < CTL_RELAYS && attempt; i++)
		if (c->relays[i].id && c->relays[i].attempt == attempt)
			return &c->relays[i];
	return NULL;
}

static void push(struct ctl *c, const struct ctl_relay *r, const struct ctl_sink *sink)
{
	struct rv_dpc m = { .type = RV_DPC_RELAY_SET,
		            .session = r->id,
		            .channel = r->channel,
		            .expires_ms = r->quota.expires_ms,
		            .quota_bytes = r->quota.bytes,
		            .rate_pps = r->quota.rate_pps,
		            .burst = r->quota.burst };

	if (!c->dp_connected)
		return;
	memcpy(m.key, r->key, sizeof(m.key));
	sink->dataplane(sink->ctx, &m);
}

struct ctl_relay *ctl_relay_open(struct ctl *c, const struct ctl_attempt *a, uint8_t why,
                                 uint64_t now_ms, const struct ctl_sink *sink)
{
	struct ctl_relay *r = NULL;

	if (!c->conf.relay_mb || !ctl_relay_addr(c).family || live(c) >= c->conf.relay_max)
		return NULL;
	r = ctl_relay_of(c, a->id);
	if (r)
		return r; /* asked twice: the same relay */
	for (unsigned i = 0; i < CTL_RELAYS && !r; i++)
		if (!c->relays[i].id)
			r = &c->relays[i];
	if (!r)
		return NULL;
	uint64_t id;
	do
		randombytes_buf(&id, sizeof(id));
	while (!id || by_id(c, id));
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->attempt = a->id;
	rv_relay_key(a->key, r->id, r->key);
	/* A random channel no live relay has (rvdp would not mind a shared
	 * one, as it keys by peer endpoint and channel, but the standalone
	 * relay finds a datagram's relay by its channel alone). There are 4
	 * channels to a slot, so a free one is found in a try or two. */
	do
		r->channel = (uint16_t)(RV_RELAY_CH_MIN +
		                        randombytes_uniform(RV_RELAY_CH_MAX - RV_RELAY_CH_MIN + 1));
	while (*by_ch(c, r->channel));
	*by_ch(c, r->channel) = (uint16_t)(r - c->relays + 1);
	for (int s = 0; s < 2; s++) {
		memcpy(r->locator[s], a->side[s].locator, RV_LOCATOR_LEN);
		r->nat[s] = a->side[s].nat.type;
	}
	r->quota = (struct rv_relay_quota){ .expires_ms = now_ms + (uint64_t)c->conf.relay_s * 1000,
		                            .bytes = (uint64_t)c->conf.relay_mb << 20,
		                            .rate_pps = c->conf.relay_pps,
		                            .burst = c->conf.relay_burst };
	for (int s = 0; s < 2; s++)
		rv_relay_use_init(&r->use[s], &r->quota, now_ms);
	r->opened_ms = now_ms;
	r->next_poll_ms = now_ms + CTL_RELAY_POLL_MS;
	r->why = why;
	push(c, r, sink);
	fprintf(stderr,
	        "rvcontrol: relay %016llx for attempt %016llx (%s -> %s): %s; channel %#x, "
	        "%u MB, %u s\n",
	        (unsigned long long)r->id, (unsigned long long)r->attempt,
	        rv_nat_type_str(r->nat[0]), rv_nat_type_str(r->nat[1]),
	        why == RV_RES_NO_PATH ? "no direct path possible" : rv_result_str(why), r->channel,
	        c->conf.relay_mb, c->conf.relay_s);
	return r;
}

void ctl_relay_grant(const struct ctl *c, const struct ctl_relay *r, int side, uint64_t now_ms,
                     struct rv_relay_grant *out)
{
	(void)c;
	*out = (struct rv_relay_grant){
		.relay = r->id,
		.channel = r->channel,
		.side = (uint8_t)side,
		.quota_bytes = r->quota.bytes,
		.lifetime_s = (uint32_t)(r->quota.expires_ms > now_ms
		                                 ? (r->quota.expires_ms - now_ms) / 1000
		                                 : 0),
		.rate_pps = r->quota.rate_pps,
	};
}

/* Tell one peer the relay is over (best effort: twice, no retransmission
 * state — a peer that misses it finds the relay silent and gives up). */
static void notify(struct ctl *c, const struct ctl_relay *r, int s, uint8_t code, uint64_t now_ms,
                   const struct ctl_sink *sink)
{
	struct ctl_reg g;
	struct rv_msg m;
	uint8_t txid[RV_STUN_TXID_LEN], wire[256];
	int n;

	if (ctl_store_reg_get(c->st, r->locator[s], &g) < 0 || g.expires_ms <= now_ms)
		return;
	randombytes_buf(txid, sizeof(txid));
	rv_msg_init(&m, RV_M_INSTRUCT, RV_STUN_REQUEST, txid);
	m.attempt = r->attempt;
	m.role = (struct rv_role_info){ .role = s == 0 ? RV_ROLE_SENDER : RV_ROLE_RECEIVER,
		                        .strategy = RV_STRAT_RELAY,
		                        .step = 0xff };
	m.result = (struct rv_result){ code, RV_STRAT_RELAY, (uint32_t)(now_ms - r->opened_ms),
		                       (uint32_t)r->use[s].packets };
	m.present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_ROLE) | RV_BIT(RV_F_RESULT);
	n = rv_msg_encode(&m, wire, sizeof(wire), g.msg_key, sizeof(g.msg_key));
	if (n < 0)
		return;
	struct ctl_from to = { g.addr, g.local, g.path, g.via_dataplane };
	sink->send(sink->ctx, &to, wire, (size_t)n);
	sink->send(sink->ctx, &to, wire, (size_t)n);
}

void ctl_relay_close(struct ctl *c, struct ctl_relay *r, uint8_t code, uint64_t now_ms,
                     const struct ctl_sink *sink)
{
	struct rv_dpc del = { .type = RV_DPC_RELAY_DEL, .session = r->id };
	uint64_t bytes = r->use[0].bytes + r->use[1].bytes;
	uint64_t packets = r->use[0].packets + r->use[1].packets;

	if (c->dp_connected)
		sink->dataplane(sink->ctx, &del);
	for (int s = 0; s < 2; s++)
		notify(c, r, s, code, now_ms, sink);
	(void)ctl_store_relay_add(c->st, r->nat[0], r->nat[1], bytes, packets);
	fprintf(stderr,
	        "rvcontrol: relay %016llx ended (%s) after %llu s: %llu bytes in %llu packets\n",
	        (unsigned long long)r->id, rv_result_str(code),
	        (unsigned long long)((now_ms - r->opened_ms) / 1000), (unsigned long long)bytes,
	        (unsigned long long)packets);
	*by_ch(c, r->channel) = 0;
	memset(r, 0, sizeof(*r));
}

void ctl_relay_end(struct ctl *c, struct ctl_relay *r, uint8_t code, uint64_t now_ms,
                   const struct ctl_sink *sink)
{
	struct rv_dpc q = { .type = RV_DPC_RELAY_QUERY, .session = r->id };

	if (!c->dp_connected) {
		ctl_relay_close(c, r, code, now_ms, sink);
		return;
	}
	if (r->closing)
		return;
	r->closing = code;
	r->close_by_ms = now_ms + 1000;
	sink->dataplane(sink->ctx, &q);
}

/* Why a relay must end now, or 0. */
static uint8_t verdict(const struct ctl *c, const struct ctl_relay *r, uint64_t now_ms)
{
	uint64_t seen =
	        r->use[0].seen_ms > r->use[1].seen_ms ? r->use[0].seen_ms : r->use[1].seen_ms;

	if (now_ms >= r->quota.expires_ms || (r->flags & RV_DPC_RELAY_EXPIRED))
		return RV_RES_RELAY_TIME;
	if ((r->flags & RV_DPC_RELAY_OVER_BYTES) ||
	    r->use[0].bytes + r->use[1].bytes >= r->quota.bytes)
		return RV_RES_RELAY_BYTES;
	if (now_ms - (seen > r->opened_ms ? seen : r->opened_ms) >=
	    (uint64_t)c->conf.relay_idle_s * 1000)
		return RV_RES_RELAY_IDLE;
	return 0;
}

void ctl_relay_reply(struct ctl *c, const struct rv_dpc *m, uint64_t now_ms,
                     const struct ctl_sink *sink)
{
	struct ctl_relay *r = by_id(c, m->session);
	uint8_t why;

	if (!r || m->status < 0)
		return;
	for (int s = 0; s < 2; s++) {
		r->bound[s] = m->side[s].bound;
		r->use[s].packets = m->side[s].packets;
		r->use[s].bytes = m->side[s].bytes;
		r->use[s].dropped = m->side[s].dropped;
		if (m->side[s].seen_ms > r->use[s].seen_ms)
			r->use[s].seen_ms = m->side[s].seen_ms;
	}
	r->flags = m->relay_flags;
	why = r->closing ? r->closing : verdict(c, r, now_ms);
	if (why)
		ctl_relay_close(c, r, why, now_ms, sink);
}

void ctl_relay_tick(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink)
{
	for (unsigned i = 0; i < CTL_RELAYS; i++) {
		struct ctl_relay *r = &c->relays[i];
		uint8_t why;

		if (!r->id)
			continue;
		if (r->closing) {
			if (now_ms >= r->close_by_ms) /* rvdp did not answer */
				ctl_relay_close(c, r, r->closing, now_ms, sink);
			continue;
		}
		why = verdict(c, r, now_ms);
		if (why) {
			ctl_relay_end(c, r, why, now_ms, sink);
			continue;
		}
		if (c->dp_connected && now_ms >= r->next_poll_ms) {
			struct rv_dpc q = { .type = RV_DPC_RELAY_QUERY, .session = r->id };
			sink->dataplane(sink->ctx, &q);
			r->next_poll_ms = now_ms + CTL_RELAY_POLL_MS;
		}
	}
}

void ctl_relay_resync(struct ctl *c, const struct ctl_sink *sink)
{
	for (unsigned i = 0; i < CTL_RELAYS; i++)
		if (c->relays[i].id)
			push(c, &c->relays[i], sink);
}

bool ctl_relay_bind(struct ctl *c, const uint8_t txid[12], const struct rv_probe *pr,
                    const struct ctl_from *from, uint64_t now_ms, const uint8_t **key)
{
	struct ctl_relay *r = by_id(c, pr->session);
	int side = pr->flags & RV_PROBE_SIDE;

	if (!r || (pr->flags & ~RV_PROBE_SIDE) || now_ms >= r->quota.expires_ms ||
	    !rv_probe_verify(r->key, txid, pr, NULL))
		return false;
	r->bound[side] = from->src;
	r->use[side].seen_ms = now_ms;
	*key = r->key;
	return true;
}

bool ctl_relay_forward(struct ctl *c, const uint8_t *buf, size_t len, const struct ctl_from *from,
                       uint64_t now_ms, const struct ctl_sink *sink)
{
	uint16_t ch, n, slot;
	struct ctl_relay *r;
	int s;

	if (!rv_relay_is_chdata(buf, len))
		return false;
	/* A broken header or nobody's channel: dropped. */
	if (rv_relay_parse(buf, len, &ch, &n) < 0 || ch < RV_RELAY_CH_MIN || ch > RV_RELAY_CH_MAX ||
	    !(slot = *by_ch(c, ch)))
		return true;
	r = &c->relays[slot - 1];
	if (rv_addr_eq(&r->bound[0], &from->src))
		s = 0;
	else if (rv_addr_eq(&r->bound[1], &from->src))
		s = 1;
	else
		return true; /* a stranger on the channel */
	/* The destination comes from the table, never the packet. */
	if (!r->bound[!s].family ||
	    rv_relay_charge(&r->quota, &r->use[s], r->use[!s].bytes, now_ms, n) != RV_RELAY_PASS)
		return true;
	struct ctl_from to = { r->bound[!s], from->local, from->path, false };
	sink->send(sink->ctx, &to, buf, RV_RELAY_HDR + (size_t)n);
	return true;
}
