/* dpctl.c — codec of the rvdp <-> rvcontrol protocol (dpctl.h). */
#include <string.h>

#include "dpctl.h"
#include "relay.h"
#include "rv_buf.h"

static void put_addr(struct rv_wr *w, const struct rv_addr *a)
{
	rv_wr_u8(w, a->family);
	rv_wr_u8(w, 0);
	rv_wr_u16(w, a->port);
	rv_wr_bytes(w, a->ip, 16);
}

static int get_addr(struct rv_rd *r, struct rv_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = rv_rd_u8(r);
	rv_rd_skip(r, 1);
	a->port = rv_rd_u16(r);
	rv_rd_copy(r, a->ip, 16);
	if (r->err)
		return r->err;
	return a->family == RV_AF_INET || a->family == RV_AF_INET6 ? 0 : RV_EFAMILY;
}

static void put_path(struct rv_wr *w, const struct rv_dpc_path *p)
{
	rv_wr_u16(w, p->port);
	rv_wr_u16(w, p->queue);
	rv_wr_bytes(w, p->mac, 6);
	rv_wr_u16(w, 0);
}

static void get_path(struct rv_rd *r, struct rv_dpc_path *p)
{
	p->port = rv_rd_u16(r);
	p->queue = rv_rd_u16(r);
	rv_rd_copy(r, p->mac, 6);
	rv_rd_skip(r, 2);
}

static bool family_ok(const struct rv_addr *a)
{
	return a->family == RV_AF_INET || a->family == RV_AF_INET6;
}

/* A relay side: an unbound one has family 0 and nothing else. */
static void put_side(struct rv_wr *w, const struct rv_dpc_relay_side *s)
{
	if (s->bound.family) {
		put_addr(w, &s->bound);
	} else {
		rv_wr_zero(w, 20);
	}
	rv_wr_u64(w, s->packets);
	rv_wr_u64(w, s->bytes);
	rv_wr_u64(w, s->dropped);
	rv_wr_u64(w, s->seen_ms);
}

static int get_side(struct rv_rd *r, struct rv_dpc_relay_side *s)
{
	int rc = 0;

	if (rv_rd_left(r) >= 1 && r->p[r->off] == 0) {
		memset(&s->bound, 0, sizeof(s->bound));
		rv_rd_skip(r, 20);
	} else {
		rc = get_addr(r, &s->bound);
	}
	s->packets = rv_rd_u64(r);
	s->bytes = rv_rd_u64(r);
	s->dropped = rv_rd_u64(r);
	s->seen_ms = rv_rd_u64(r);
	return rc;
}

int rv_dpc_encode(const struct rv_dpc *m, uint8_t *buf, size_t cap)
{
	struct rv_wr w = rv_wr_make(buf, cap);

	rv_wr_u8(&w, RV_DPC_VERSION);
	rv_wr_u8(&w, m->type);
	rv_wr_u16(&w, 0);
	rv_wr_u32(&w, m->seq);
	switch (m->type) {
	case RV_DPC_HELLO:
		/* ctl->dp carries no addresses: family 0 on both means "empty". */
		if (!m->src.family && !m->dst.family)
			break;
		if (!family_ok(&m->src) || !family_ok(&m->dst))
			return RV_ERANGE;
		put_addr(&w, &m->src);
		put_addr(&w, &m->dst);
		break;
	case RV_DPC_PUNT:
	case RV_DPC_SEND:
		if (!family_ok(&m->src) || !family_ok(&m->dst) ||
		    m->payload_len > RV_DPC_MAX_PAYLOAD)
			return RV_ERANGE;
		put_path(&w, &m->path);
		put_addr(&w, &m->src);
		put_addr(&w, &m->dst);
		rv_wr_bytes(&w, m->payload, m->payload_len);
		break;
	case RV_DPC_SESSION_SET:
		rv_wr_u64(&w, m->session);
		rv_wr_bytes(&w, m->key, 16);
		rv_wr_u64(&w, m->expires_ms);
		rv_wr_u32(&w, m->rate_pps);
		rv_wr_u32(&w, m->burst);
		break;
	case RV_DPC_SESSION_DEL:
	case RV_DPC_OBS_QUERY:
	case RV_DPC_RELAY_DEL:
	case RV_DPC_RELAY_QUERY:
		rv_wr_u64(&w, m->session);
		break;
	case RV_DPC_RELAY_SET:
		if (m->channel < RV_RELAY_CH_MIN || m->channel > RV_RELAY_CH_MAX)
			return RV_ERANGE;
		rv_wr_u64(&w, m->session);
		rv_wr_bytes(&w, m->key, 16);
		rv_wr_u16(&w, m->channel);
		rv_wr_u16(&w, 0);
		rv_wr_u64(&w, m->expires_ms);
		rv_wr_u64(&w, m->quota_bytes);
		rv_wr_u32(&w, m->rate_pps);
		rv_wr_u32(&w, m->burst);
		break;
	case RV_DPC_RELAY_REPLY:
		for (int i = 0; i < 2; i++)
			if (m->side[i].bound.family && !family_ok(&m->side[i].bound))
				return RV_ERANGE;
		rv_wr_u64(&w, m->session);
		rv_wr_u32(&w, (uint32_t)m->status);
		rv_wr_u8(&w, m->relay_flags);
		rv_wr_zero(&w, 3);
		put_side(&w, &m->side[0]);
		put_side(&w, &m->side[1]);
		break;
	case RV_DPC_FLUSH:
		break;
	case RV_DPC_OBS_REPLY:
		if (m->n_obs > RV_DPC_MAX_OBS)
			return RV_ERANGE;
		rv_wr_u64(&w, m->session);
		rv_wr_u32(&w, (uint32_t)m->status);
		rv_wr_u8(&w, m->n_obs);
		rv_wr_zero(&w, 3);
		for (unsigned i = 0; i < m->n_obs; i++) {
			rv_wr_u64(&w, m->obs[i].t_ms);
			rv_wr_u32(&w, m->obs[i].ip);
			rv_wr_u16(&w, m->obs[i].port);
			rv_wr_u16(&w, m->obs[i].seq);
			rv_wr_u8(&w, m->obs[i].kind);
			rv_wr_zero(&w, 3);
		}
		break;
	default:
		return RV_ERANGE;
	}
	return w.err ? w.err : (int)w.off;
}

int rv_dpc_decode(const uint8_t *buf, size_t len, struct rv_dpc *m)
{
	struct rv_rd r = rv_rd_make(buf, len);
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (rv_rd_u8(&r) != RV_DPC_VERSION)
		return r.err ? r.err : RV_EVERSION;
	m->type = rv_rd_u8(&r);
	rv_rd_skip(&r, 2);
	m->seq = rv_rd_u32(&r);
	if (r.err)
		return r.err;
	switch (m->type) {
	case RV_DPC_HELLO:
		if (rv_rd_left(&r) == 0)
			break;
		rc = get_addr(&r, &m->src);
		if (!rc)
			rc = get_addr(&r, &m->dst);
		break;
	case RV_DPC_PUNT:
	case RV_DPC_SEND:
		get_path(&r, &m->path);
		rc = get_addr(&r, &m->src);
		if (!rc)
			rc = get_addr(&r, &m->dst);
		if (rc)
			break;
		if (rv_rd_left(&r) > RV_DPC_MAX_PAYLOAD)
			return RV_ERANGE;
		m->payload_len = (uint16_t)rv_rd_left(&r);
		m->payload = rv_rd_take(&r, m->payload_len);
		break;
	case RV_DPC_SESSION_SET:
		m->session = rv_rd_u64(&r);
		rv_rd_copy(&r, m->key, 16);
		m->expires_ms = rv_rd_u64(&r);
		m->rate_pps = rv_rd_u32(&r);
		m->burst = rv_rd_u32(&r);
		break;
	case RV_DPC_SESSION_DEL:
	case RV_DPC_OBS_QUERY:
	case RV_DPC_RELAY_DEL:
	case RV_DPC_RELAY_QUERY:
		m->session = rv_rd_u64(&r);
		break;
	case RV_DPC_RELAY_SET:
		m->session = rv_rd_u64(&r);
		rv_rd_copy(&r, m->key, 16);
		m->channel = rv_rd_u16(&r);
		rv_rd_skip(&r, 2);
		m->expires_ms = rv_rd_u64(&r);
		m->quota_bytes = rv_rd_u64(&r);
		m->rate_pps = rv_rd_u32(&r);
		m->burst = rv_rd_u32(&r);
		if (!r.err && (m->channel < RV_RELAY_CH_MIN || m->channel > RV_RELAY_CH_MAX))
			return RV_ERANGE;
		break;
	case RV_DPC_RELAY_REPLY:
		m->session = rv_rd_u64(&r);
		m->status = (int32_t)rv_rd_u32(&r);
		m->relay_flags = rv_rd_u8(&r);
		rv_rd_skip(&r, 3);
		rc = get_side(&r, &m->side[0]);
		if (!rc)
			rc = get_side(&r, &m->side[1]);
		break;
	case RV_DPC_FLUSH:
		break;
	case RV_DPC_OBS_REPLY:
		m->session = rv_rd_u64(&r);
		m->status = (int32_t)rv_rd_u32(&r);
		m->n_obs = rv_rd_u8(&r);
		rv_rd_skip(&r, 3);
		if (m->n_obs > RV_DPC_MAX_OBS)
			return RV_ERANGE;
		for (unsigned i = 0; i < m->n_obs; i++) {
			m->obs[i].t_ms = rv_rd_u64(&r);
			m->obs[i].ip = rv_rd_u32(&r);
			m->obs[i].port = rv_rd_u16(&r);
			m->obs[i].seq = rv_rd_u16(&r);
			m->obs[i].kind = rv_rd_u8(&r);
			rv_rd_skip(&r, 3);
		}
		break;
	default:
		return RV_EMETHOD;
	}
	if (rc)
		return rc;
	if (r.err)
		return r.err;
	return rv_rd_left(&r) ? RV_ELEN : 0;
}

const char *rv_dpc_type_str(uint8_t type)
{
	static const char *const names[RV_DPC_TYPE_COUNT] = {
		[RV_DPC_HELLO] = "hello",
		[RV_DPC_PUNT] = "punt",
		[RV_DPC_SEND] = "send",
		[RV_DPC_SESSION_SET] = "session-set",
		[RV_DPC_SESSION_DEL] = "session-del",
		[RV_DPC_FLUSH] = "flush",
		[RV_DPC_OBS_QUERY] = "obs-query",
		[RV_DPC_OBS_REPLY] = "obs-reply",
		[RV_DPC_RELAY_SET] = "relay-set",
		[RV_DPC_RELAY_DEL] = "relay-del",
		[RV_DPC_RELAY_QUERY] = "relay-query",
		[RV_DPC_RELAY_REPLY] = "relay-reply",
	};
	return type < RV_DPC_TYPE_COUNT && names[type] ? names[type] : "?";
}
