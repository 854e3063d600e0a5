#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/rv_err.h"
#include "nat_ev.h"
#include "nat_pkt.h"

static const char *const type_names[NAT_EV_COUNT] = {
	[NAT_EV_NONE] = "none",
	[NAT_EV_MAP_CREATE] = "map_create",
	[NAT_EV_MAP_EXPIRE] = "map_expire",
	[NAT_EV_BG_ALLOC] = "bg_alloc",
	[NAT_EV_FILTERED] = "filtered",
	[NAT_EV_TTL_EXPIRED] = "ttl_expired",
	[NAT_EV_HAIRPIN] = "hairpin",
	[NAT_EV_ICMP_XLATE] = "icmp_xlate",
	[NAT_EV_DROP] = "drop",
	[NAT_EV_ARP_FAIL] = "arp_fail",
};

static const char *const reason_names[NAT_R_COUNT] = {
	[NAT_R_NONE] = "none",
	[NAT_R_NO_MAPPING] = "no_mapping",
	[NAT_R_ADF] = "ADF",
	[NAT_R_APDF] = "APDF",
	[NAT_R_BACKGROUND] = "background",
	[NAT_R_ICMP_NO_SESSION] = "icmp_no_session",
	[NAT_R_HAIRPIN_OFF] = "hairpin_off",
	[NAT_R_TRUNCATED] = "truncated",
	[NAT_R_BAD_LENGTH] = "bad_length",
	[NAT_R_NOT_IPV4] = "not_ipv4",
	[NAT_R_BAD_CHECKSUM] = "bad_checksum",
	[NAT_R_FRAGMENT] = "fragment",
	[NAT_R_TCP] = "tcp",
	[NAT_R_PROTO] = "proto",
	[NAT_R_ICMP_TYPE] = "icmp_type",
	[NAT_R_ICMP_QUOTE] = "icmp_quote",
	[NAT_R_BAD_SOURCE] = "bad_source",
	[NAT_R_BAD_DEST] = "bad_destination",
	[NAT_R_NOT_FOR_US] = "not_for_us",
	[NAT_R_TO_SELF] = "to_self",
	[NAT_R_TABLE_FULL] = "table_full",
	[NAT_R_NO_PORT] = "no_port",
	[NAT_R_TTL] = "ttl",
	[NAT_R_SINK_FULL] = "sink_full",
	[NAT_R_TOO_BIG] = "too_big",
	[NAT_R_ARP_QUEUE] = "arp_queue_full",
	[NAT_R_FRAG_BAD] = "frag_bad",
	[NAT_R_FRAG_DUP] = "frag_dup",
	[NAT_R_FRAG_OVERLAP] = "frag_overlap",
	[NAT_R_FRAG_TOO_BIG] = "frag_too_big",
	[NAT_R_FRAG_TOO_MANY] = "frag_too_many",
	[NAT_R_FRAG_TIMEOUT] = "frag_timeout",
	[NAT_R_FRAG_EVICTED] = "frag_evicted",
};

const char *nat_ev_type_str(enum nat_ev_type t)
{
	return (unsigned)t < NAT_EV_COUNT && type_names[t] ? type_names[t] : "?";
}

const char *nat_reason_str(enum nat_reason r)
{
	return (unsigned)r < NAT_R_COUNT && reason_names[r] ? reason_names[r] : "?";
}

const char *nat_side_str(enum nat_side s)
{
	return s == NAT_SIDE_LAN ? "lan" : s == NAT_SIDE_WAN ? "wan" : "?";
}

const char *nat_proto_str(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case NAT_IPPROTO_UDP:
		return "udp";
	case NAT_IPPROTO_ICMP:
		return "icmp";
	case NAT_IPPROTO_TCP:
		return "tcp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

struct nat_sink nat_sink_make(struct nat_out *out, unsigned out_cap, struct nat_ev *ev,
                              unsigned ev_cap)
{
	struct nat_sink s;

	memset(&s, 0, sizeof(s));
	s.out = out;
	s.out_cap = out_cap;
	s.ev = ev;
	s.ev_cap = ev_cap;
	return s;
}

struct nat_ev *nat_sink_ev(struct nat_sink *s, enum nat_ev_type t, uint64_t ms)
{
	struct nat_ev *e;

	if (s->n_ev < s->ev_cap) {
		e = &s->ev[s->n_ev++];
	} else {
		s->ev_lost++;
		e = &s->spare;
	}
	memset(e, 0, sizeof(*e));
	e->type = (uint8_t)t;
	e->ms = ms;
	return e;
}

struct nat_out *nat_sink_out(struct nat_sink *s, enum nat_side side, uint32_t next_hop)
{
	struct nat_out *o;

	if (s->n_out >= s->out_cap) {
		s->out_lost++;
		return NULL;
	}
	o = &s->out[s->n_out++];
	o->side = (uint8_t)side;
	o->next_hop = next_hop;
	o->len = 0;
	return o;
}

void nat_sink_unout(struct nat_sink *s)
{
	if (s->n_out)
		s->n_out--;
}

void nat_sink_reset(struct nat_sink *s)
{
	s->n_out = 0;
	s->n_ev = 0;
}

/* Bounded appends: the first failure sticks, like the read cursor. */
struct jbuf {
	char *p;
	size_t len, off;
	int err;
};

__attribute__((format(printf, 2, 3))) static void jput(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->p + j->off, j->len - j->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->len - j->off) {
		j->err = RV_ENOSPC;
		return;
	}
	j->off += (size_t)n;
}

static void jaddr(struct jbuf *j, const char *key, const struct rv_addr *a)
{
	char buf[RV_ADDR_STRLEN];

	if (a->family == RV_AF_NONE)
		jput(j, ",\"%s\":null", key);
	else
		jput(j, ",\"%s\":\"%s\"", key, rv_addr_fmt(a, buf, sizeof(buf)));
}

/* An address without its port ("ip" fields, ARP targets). */
static void jip(struct jbuf *j, const char *key, const struct rv_addr *a)
{
	char buf[RV_ADDR_STRLEN], *colon;

	rv_addr_fmt(a, buf, sizeof(buf));
	colon = strrchr(buf, ':');
	if (colon)
		*colon = '\0';
	jput(j, ",\"%s\":\"%s\"", key, buf);
}

int nat_ev_json(const struct nat_ev *e, char *buf, size_t len)
{
	struct jbuf j = { .p = buf, .len = len };
	char pb[8];
	const char *proto = nat_proto_str(e->proto, pb, sizeof(pb));

	if (len == 0)
		return RV_ENOSPC;
	jput(&j, "{\"ms\":%" PRIu64 ",\"ev\":\"%s\"", e->ms,
	     nat_ev_type_str((enum nat_ev_type)e->type));
	switch (e->type) {
	case NAT_EV_MAP_CREATE:
		jput(&j, ",\"proto\":\"%s\"", proto);
		jaddr(&j, "int", &e->in);
		jaddr(&j, "ext", &e->ext);
		jaddr(&j, "dst", &e->remote);
		break;
	case NAT_EV_MAP_EXPIRE:
		jput(&j, ",\"proto\":\"%s\"", proto);
		jaddr(&j, "int", &e->in);
		jaddr(&j, "ext", &e->ext);
		jaddr(&j, "dst", &e->remote);
		jput(&j, ",\"idle_ms\":%u,\"age_ms\":%u,\"bg\":%s", e->idle_ms, e->age_ms,
		     e->bg ? "true" : "false");
		break;
	case NAT_EV_BG_ALLOC:
		jput(&j, ",\"proto\":\"%s\"", proto);
		jaddr(&j, "ext", &e->ext);
		break;
	case NAT_EV_FILTERED:
		jput(&j, ",\"proto\":\"%s\",\"rule\":\"%s\"", proto,
		     nat_reason_str((enum nat_reason)e->reason));
		jaddr(&j, "src", &e->remote);
		jaddr(&j, "ext", &e->ext);
		jaddr(&j, "int", &e->in);
		break;
	case NAT_EV_TTL_EXPIRED:
		jput(&j, ",\"side\":\"%s\",\"proto\":\"%s\",\"ttl\":%u",
		     nat_side_str((enum nat_side)e->side), proto, e->ttl);
		jaddr(&j, "src", &e->remote);
		jaddr(&j, "dst", &e->other);
		break;
	case NAT_EV_HAIRPIN:
		jput(&j, ",\"proto\":\"%s\"", proto);
		jaddr(&j, "int", &e->in);
		jaddr(&j, "ext", &e->ext);
		jaddr(&j, "dst", &e->remote);
		jaddr(&j, "to", &e->other);
		break;
	case NAT_EV_ICMP_XLATE:
		jput(&j, ",\"dir\":\"%s\",\"type\":%u,\"code\":%u,\"proto\":\"%s\"",
		     e->side == NAT_SIDE_WAN ? "in" : "out", e->icmp_type, e->icmp_code, proto);
		jip(&j, "from", &e->other);
		jaddr(&j, "int", &e->in);
		jaddr(&j, "ext", &e->ext);
		jaddr(&j, "remote", &e->remote);
		break;
	case NAT_EV_DROP:
		jput(&j, ",\"side\":\"%s\",\"reason\":\"%s\",\"proto\":\"%s\"",
		     nat_side_str((enum nat_side)e->side),
		     nat_reason_str((enum nat_reason)e->reason), proto);
		jaddr(&j, "src", &e->remote);
		jaddr(&j, "dst", &e->other);
		if (e->bg)
			jput(&j, ",\"bg\":true");
		break;
	case NAT_EV_ARP_FAIL:
		jput(&j, ",\"side\":\"%s\"", nat_side_str((enum nat_side)e->side));
		jip(&j, "ip", &e->other);
		break;
	default:
		break;
	}
	jput(&j, "}");
	return j.err ? j.err : (int)j.off;
}
