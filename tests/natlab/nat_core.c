#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipfrag.h"
#include "proto/rv_buf.h"
#include "proto/rv_err.h"
#include "nat_core.h"
#include "nat_pkt.h"
#include "nat_table.h"

/* Linux's default ephemeral range: where invisible hosts' sockets live. */
#define BG_PORT_LO 32768
#define BG_PORT_N  28232
/* Background events processed per call before the clock is resynced. */
#define BG_BUDGET 4096
/* The packet being built for output: up to the largest IPv4 packet. */
#define STAGE_MAX 65535
/* Without a link to ask (unit tests): Ethernet's MTU. */
#define DEFAULT_MTU 1500
#define NAT_IP_DF   0x4000

struct nat_core {
	struct nat_conf conf;
	struct nat_rng rng;
	struct nat_table *tab;
	struct nat_alloc alloc[NAT_SPACE_COUNT];
	uint32_t lan_mask, wan_mask;
	double next_bg_ms;
	uint64_t now;
	struct rv_frag *frag[2]; /* reassembly per side (NULL: frag_slots 0) */
	uint16_t mtu[2];
	uint8_t *stage; /* STAGE_MAX bytes: the packet emit() sends */
};

static uint32_t mask_of(uint8_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

/* The reassembly tables: a fragment train per slot, bare IP, UDP and ICMP
 * (what the NAT translates; other protocols' pieces are dropped as the
 * whole packets would be). The hash key comes from the seed: no draw from
 * the port allocator's random sequence. */
static int frag_new(struct nat_core *c)
{
	struct rv_frag_conf fc = { .slots = c->conf.frag_slots,
		                   .max_size = c->conf.frag_max_size,
		                   .max_frags = c->conf.frag_max_frags,
		                   .timeout_ms = c->conf.frag_timeout_ms,
		                   .protos = { NAT_IPPROTO_UDP, NAT_IPPROTO_ICMP } };
	size_t sz = rv_frag_size(&fc);

	if (!c->conf.frag_slots)
		return 0;
	if (!sz)
		return -EINVAL;
	for (int side = 0; side < 2; side++) {
		fc.seed = (c->conf.seed + (uint64_t)side) * 0x9e3779b97f4a7c15ull;
		c->frag[side] = calloc(1, sz);
		if (!c->frag[side])
			return -ENOMEM;
		if (rv_frag_init(c->frag[side], &fc) < 0)
			return -EINVAL;
	}
	return 0;
}

struct nat_core *nat_core_new(const struct nat_conf *conf, struct nat_rng rng, uint64_t now_ms)
{
	struct nat_core *c;
	int err;

	if (!rng.next || !conf->lan_ip || !conf->wan_ip) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conf = *conf;
	c->mtu[NAT_SIDE_LAN] = conf->lan_mtu ? conf->lan_mtu : DEFAULT_MTU;
	c->mtu[NAT_SIDE_WAN] = conf->wan_mtu ? conf->wan_mtu : DEFAULT_MTU;
	c->rng = rng;
	c->now = now_ms;
	c->lan_mask = mask_of(conf->lan_plen);
	c->wan_mask = mask_of(conf->wan_plen);
	for (int sp = 0; sp < NAT_SPACE_COUNT; sp++) {
		if (nat_alloc_init(&c->alloc[sp], conf->alloc, conf->delta, conf->port_lo,
		                   conf->port_hi, conf->port_start) < 0) {
			free(c);
			errno = EINVAL;
			return NULL;
		}
	}
	c->tab = nat_table_new(conf->max_mappings, conf->max_sessions);
	if (!c->tab) {
		int e = errno;

		free(c);
		errno = e;
		return NULL;
	}
	c->stage = malloc(STAGE_MAX);
	err = c->stage ? frag_new(c) : -ENOMEM;
	if (err < 0) {
		nat_core_free(c);
		errno = -err;
		return NULL;
	}
	if (conf->lambda > 0)
		c->next_bg_ms = (double)now_ms + nat_poisson_gap_ms(conf->lambda, &c->rng);
	return c;
}

void nat_core_free(struct nat_core *c)
{
	if (!c)
		return;
	nat_table_free(c->tab);
	free(c->frag[NAT_SIDE_LAN]);
	free(c->frag[NAT_SIDE_WAN]);
	free(c->stage);
	free(c);
}

unsigned nat_core_mappings(const struct nat_core *c)
{
	return nat_table_count(c->tab);
}

const struct nat_conf *nat_core_conf(const struct nat_core *c)
{
	return &c->conf;
}

/* --- addresses ------------------------------------------------------------ */

static bool in_lan(const struct nat_core *c, uint32_t ip)
{
	return (ip & c->lan_mask) == (c->conf.lan_ip & c->lan_mask);
}

static bool in_wan(const struct nat_core *c, uint32_t ip)
{
	return (ip & c->wan_mask) == (c->conf.wan_ip & c->wan_mask);
}

/* A LAN address a host can have: not the network or broadcast address. */
static bool lan_host(const struct nat_core *c, uint32_t ip)
{
	uint32_t host = ip & ~c->lan_mask;

	return in_lan(c, ip) && host != 0 && host != ~c->lan_mask;
}

/* Never a unicast source or destination (RFC 1812 §5.3.7): 0/8, 127/8,
 * multicast and 240/4 (which includes limited broadcast). */
static bool martian(uint32_t ip)
{
	return (ip >> 24) == 0 || (ip >> 24) == 127 || (ip >> 28) >= 0xe;
}

static uint32_t next_hop(const struct nat_core *c, enum nat_side side, uint32_t dst)
{
	if (side == NAT_SIDE_LAN || in_wan(c, dst))
		return dst;
	return c->conf.gateway;
}

static uint32_t own_ip(const struct nat_core *c, enum nat_side side)
{
	return side == NAT_SIDE_LAN ? c->conf.lan_ip : c->conf.wan_ip;
}

/* --- events ----------------------------------------------------------------- */

static int drop(struct nat_core *c, struct nat_sink *s, enum nat_side side, enum nat_reason r,
                const struct nat_ip *ip)
{
	struct nat_ev *e = nat_sink_ev(s, NAT_EV_DROP, c->now);

	e->side = (uint8_t)side;
	e->reason = (uint8_t)r;
	if (ip) {
		e->proto = ip->proto;
		e->remote = nat_addr(ip->src, ip->l4 ? ip->sport : 0);
		e->other = nat_addr(ip->dst, ip->l4 ? ip->dport : 0);
	}
	return 0;
}

static int filtered(struct nat_core *c, struct nat_sink *s, enum nat_reason r, uint8_t proto,
                    uint32_t src, uint16_t sport, uint16_t ext, int map)
{
	struct nat_ev *e = nat_sink_ev(s, NAT_EV_FILTERED, c->now);

	e->reason = (uint8_t)r;
	e->proto = proto;
	e->remote = nat_addr(src, sport);
	e->ext = nat_addr(c->conf.wan_ip, ext);
	if (map >= 0) {
		struct nat_map *m = nat_table_at(c->tab, (uint32_t)map);

		if (!m->bg)
			e->in = nat_addr(m->int_ip, m->int_port);
	}
	return 0;
}

static uint8_t proto_of(enum nat_space sp)
{
	return sp == NAT_SPACE_ICMP ? NAT_IPPROTO_ICMP : NAT_IPPROTO_UDP;
}

/* --- the table -------------------------------------------------------------- */

static bool expired(const struct nat_core *c, const struct nat_map *m)
{
	return c->now >= m->last_ms && c->now - m->last_ms >= c->conf.lifetime_ms;
}

static void expire(struct nat_core *c, uint32_t i, struct nat_sink *s)
{
	struct nat_map *m = nat_table_at(c->tab, i);
	struct nat_ev *e = nat_sink_ev(s, NAT_EV_MAP_EXPIRE, c->now);

	e->proto = proto_of((enum nat_space)m->space);
	e->bg = m->bg;
	if (!m->bg) {
		e->in = nat_addr(m->int_ip, m->int_port);
		e->remote = nat_addr(m->dst_ip, m->dst_port);
	}
	e->ext = nat_addr(c->conf.wan_ip, m->ext_port);
	e->idle_ms = (uint32_t)(c->now - m->last_ms);
	e->age_ms = (uint32_t)(c->now - m->created_ms);
	nat_alloc_put(&c->alloc[m->space], m->ext_port);
	nat_table_del(c->tab, i);
}

static void sweep(struct nat_core *c, struct nat_sink *s)
{
	for (uint32_t i = 0; i < nat_table_cap(c->tab); i++) {
		struct nat_map *m = nat_table_at(c->tab, i);

		if (m->used && expired(c, m))
			expire(c, i, s);
	}
}

/* The live mapping owning an external port, or -1 (expiring it if due). */
static int live_ext(struct nat_core *c, enum nat_space sp, uint16_t ext, struct nat_sink *s)
{
	int i = nat_table_find_ext(c->tab, sp, ext);

	if (i >= 0 && expired(c, nat_table_at(c->tab, (uint32_t)i))) {
		expire(c, (uint32_t)i, s);
		return -1;
	}
	return i;
}

/* A port from the allocator and a table entry for it; both or neither. */
static int map_insert(struct nat_core *c, struct nat_map *nm, struct nat_sink *s)
{
	int port, i;

	if (nat_table_count(c->tab) >= nat_table_cap(c->tab))
		sweep(c, s);
	if (nat_table_count(c->tab) >= nat_table_cap(c->tab))
		return -ENOSPC;
	port = nat_alloc_get(&c->alloc[nm->space], nm->int_port, &c->rng);
	if (port < 0)
		return port;
	nm->used = true;
	nm->ext_port = (uint16_t)port;
	i = nat_table_add(c->tab, nm);
	if (i < 0)
		nat_alloc_put(&c->alloc[nm->space], (uint16_t)port);
	return i;
}

/* The mapping an outbound packet uses, created when absent; records the
 * destination as a filter permission and refreshes the mapping. */
static int map_out(struct nat_core *c, enum nat_space sp, const struct nat_ip *ip, uint16_t dport,
                   uint32_t dst, struct nat_sink *s)
{
	int i = nat_table_find_out(c->tab, sp, c->conf.map, ip->src, ip->sport, dst, dport);
	struct nat_map *m;

	if (i >= 0 && expired(c, nat_table_at(c->tab, (uint32_t)i))) {
		expire(c, (uint32_t)i, s);
		i = -1;
	}
	if (i < 0) {
		struct nat_map nm;
		struct nat_ev *e;

		memset(&nm, 0, sizeof(nm));
		nm.space = (uint8_t)sp;
		nm.int_ip = ip->src;
		nm.int_port = ip->sport;
		nm.key_ip = c->conf.map != RV_MAP_EI ? dst : 0;
		nm.key_port = c->conf.map == RV_MAP_APD ? dport : 0;
		nm.dst_ip = dst;
		nm.dst_port = dport;
		nm.created_ms = nm.last_ms = c->now;
		i = map_insert(c, &nm, s);
		if (i < 0) {
			drop(c, s, NAT_SIDE_LAN, i == -ENOSPC ? NAT_R_TABLE_FULL : NAT_R_NO_PORT,
			     ip);
			return -1;
		}
		m = nat_table_at(c->tab, (uint32_t)i);
		e = nat_sink_ev(s, NAT_EV_MAP_CREATE, c->now);
		e->proto = ip->proto;
		e->in = nat_addr(m->int_ip, m->int_port);
		e->ext = nat_addr(c->conf.wan_ip, m->ext_port);
		e->remote = nat_addr(dst, dport);
	}
	if (nat_table_permit(c->tab, (uint32_t)i, dst, dport) < 0) {
		drop(c, s, NAT_SIDE_LAN, NAT_R_TABLE_FULL, ip);
		return -1;
	}
	nat_table_at(c->tab, (uint32_t)i)->last_ms = c->now;
	return i;
}

/* The filter rule that stops remote ip:port at mapping i, or NAT_R_NONE. */
static enum nat_reason filter(const struct nat_core *c, int i, uint32_t ip, uint16_t port)
{
	switch (c->conf.filt) {
	case RV_FILT_AD:
		return nat_table_permitted(c->tab, (uint32_t)i, ip, port, false) ? NAT_R_NONE
		                                                                 : NAT_R_ADF;
	case RV_FILT_APD:
		return nat_table_permitted(c->tab, (uint32_t)i, ip, port, true) ? NAT_R_NONE
		                                                                : NAT_R_APDF;
	default:
		return NAT_R_NONE;
	}
}

/* --- background hosts -------------------------------------------------------- */

static void background_one(struct nat_core *c, uint64_t at, struct nat_sink *s)
{
	struct nat_map nm;
	struct nat_ev *e;
	uint64_t now = c->now;
	int i;

	memset(&nm, 0, sizeof(nm));
	nm.bg = true;
	nm.space = NAT_SPACE_UDP;
	/* Preserving NATs keep an invisible host's port too: give it one. */
	nm.int_port = (uint16_t)(BG_PORT_LO + c->rng.next(c->rng.ctx) % BG_PORT_N);
	nm.created_ms = nm.last_ms = at;
	c->now = at; /* expiry decisions as of the event's own time */
	i = map_insert(c, &nm, s);
	c->now = now;
	if (i < 0) {
		struct nat_ev *d = nat_sink_ev(s, NAT_EV_DROP, at);

		d->side = NAT_SIDE_LAN;
		d->reason = i == -ENOSPC ? NAT_R_TABLE_FULL : NAT_R_NO_PORT;
		d->proto = NAT_IPPROTO_UDP;
		d->bg = 1;
		return;
	}
	e = nat_sink_ev(s, NAT_EV_BG_ALLOC, at);
	e->proto = NAT_IPPROTO_UDP;
	e->ext = nat_addr(c->conf.wan_ip, nat_table_at(c->tab, (uint32_t)i)->ext_port);
}

static void background(struct nat_core *c, struct nat_sink *s)
{
	unsigned budget = BG_BUDGET;

	if (c->conf.lambda <= 0 || !c->conf.translate)
		return;
	while (c->next_bg_ms <= (double)c->now) {
		if (!budget--) {
			/* A clock jump: do not replay an unbounded past. */
			c->next_bg_ms =
			        (double)c->now + nat_poisson_gap_ms(c->conf.lambda, &c->rng);
			break;
		}
		background_one(c, (uint64_t)c->next_bg_ms, s);
		c->next_bg_ms += nat_poisson_gap_ms(c->conf.lambda, &c->rng);
	}
}

static void advance(struct nat_core *c, uint64_t now_ms, struct nat_sink *s)
{
	if (now_ms > c->now)
		c->now = now_ms;
	background(c, s);
}

/* --- packets the NAT sends --------------------------------------------------- */

/* A copy of the packet in c->stage, to be rewritten there and sent by
 * emit(). */
static uint8_t *stage(struct nat_core *c, const uint8_t *pkt, const struct nat_ip *ip)
{
	memcpy(c->stage, pkt, ip->tot);
	return c->stage;
}

/* Send the len bytes in c->stage on side towards next hop nh: as they are
 * when they fit the side's MTU, else cut into fragments as a router does
 * (DF clear, the datagram's own IP ID; proto/ipfrag.h). With DF set (or IP
 * options) it is dropped as too_big (honest shortcut: a router would
 * answer ICMP fragmentation-needed; the lab's links share one MTU, so only
 * reassembled datagrams, which never carry DF, get here). ip names the
 * packet in a drop event. Returns the packets appended. */
static int emit(struct nat_core *c, struct nat_sink *s, enum nat_side side, uint32_t nh, size_t len,
                const struct nat_ip *ip)
{
	const uint8_t *p = c->stage;
	unsigned k = rv_frag_count(len, 0, c->mtu[side]);
	struct nat_out *o;

	if (k == 1) {
		o = nat_sink_out(s, side, nh);
		if (!o)
			return 0;
		memcpy(o->pkt, p, len);
		o->len = (uint16_t)len;
		return 1;
	}
	if ((rv_get_u16(p + 6) & NAT_IP_DF) || p[0] != 0x45 || k > RV_FRAG_MAX_OUT)
		return drop(c, s, side, NAT_R_TOO_BIG, ip);
	if (s->out_cap - s->n_out < k) {
		s->out_lost += k;
		return drop(c, s, side, NAT_R_SINK_FULL, ip);
	}
	for (unsigned i = 0; i < k; i++) {
		int n;

		o = nat_sink_out(s, side, nh);
		n = rv_frag_split(p, len, 0, c->mtu[side], rv_get_u16(p + 4), i, o->pkt,
		                  sizeof(o->pkt));
		if (n < 0) { /* not reached: checked above */
			s->n_out -= i + 1;
			return drop(c, s, side, NAT_R_TOO_BIG, ip);
		}
		o->len = (uint16_t)n;
	}
	return (int)k;
}

static int ttl_expire(struct nat_core *c, enum nat_side side, const uint8_t *pkt,
                      const struct nat_ip *ip, struct nat_sink *s)
{
	struct nat_ev *e = nat_sink_ev(s, NAT_EV_TTL_EXPIRED, c->now);
	struct nat_out *o;
	int n;

	e->side = (uint8_t)side;
	e->proto = ip->proto;
	e->ttl = ip->ttl;
	e->remote = nat_addr(ip->src, ip->l4 ? ip->sport : 0);
	e->other = nat_addr(ip->dst, ip->l4 ? ip->dport : 0);
	/* Never an error about an error (RFC 1812 §4.3.2.7). */
	if (ip->proto == NAT_IPPROTO_ICMP && (!ip->l4 || nat_icmp_is_error(ip->icmp_type)))
		return 0;
	o = nat_sink_out(s, side, next_hop(c, side, ip->src));
	if (!o)
		return 0;
	n = nat_pkt_icmp_error(o->pkt, sizeof(o->pkt), own_ip(c, side), pkt, ip,
	                       NAT_ICMP_TIME_EXCEEDED, 0);
	if (n < 0) {
		nat_sink_unout(s);
		return 0;
	}
	o->len = (uint16_t)n;
	return 1;
}

static int echo_self(struct nat_core *c, enum nat_side side, const uint8_t *pkt,
                     const struct nat_ip *ip, struct nat_sink *s)
{
	int n = nat_pkt_echo_reply(c->stage, STAGE_MAX, pkt, ip);

	if (n < 0)
		return 0;
	return emit(c, s, side, next_hop(c, side, ip->src), (size_t)n, ip);
}

static bool is_echo(const struct nat_ip *ip)
{
	return ip->proto == NAT_IPPROTO_ICMP && ip->l4 && ip->icmp_type == NAT_ICMP_ECHO;
}

/* Plain routing (preset none): forward with TTL - 1. */
static int route(struct nat_core *c, enum nat_side to, const uint8_t *pkt, const struct nat_ip *ip,
                 struct nat_sink *s)
{
	nat_pkt_ttl_dec(stage(c, pkt, ip), ip);
	return emit(c, s, to, next_hop(c, to, ip->dst), ip->tot, ip);
}

/* --- LAN -> WAN ---------------------------------------------------------------- */

static int lan_map(struct nat_core *c, enum nat_space sp, const uint8_t *pkt,
                   const struct nat_ip *ip, struct nat_sink *s)
{
	uint16_t dport = sp == NAT_SPACE_UDP ? ip->dport : 0;
	int i = map_out(c, sp, ip, dport, ip->dst, s);
	uint8_t *p;

	if (i < 0)
		return 0;
	p = stage(c, pkt, ip);
	nat_pkt_set_ports(p, ip, nat_table_at(c->tab, (uint32_t)i)->ext_port, ip->dport);
	nat_pkt_set_addrs(p, ip, c->conf.wan_ip, ip->dst);
	nat_pkt_ttl_dec(p, ip);
	return emit(c, s, NAT_SIDE_WAN, next_hop(c, NAT_SIDE_WAN, ip->dst), ip->tot, ip);
}

/* A host's ICMP error about a packet it received through a mapping
 * (RFC 5508 §4.2): the quoted destination becomes the external endpoint. */
static int lan_icmp_error(struct nat_core *c, const uint8_t *pkt, const struct nat_ip *ip,
                          struct nat_sink *s)
{
	const uint8_t *q = pkt + ip->hlen + 8;
	struct nat_ip in;
	struct nat_map *m;
	struct nat_ev *e;
	uint8_t *p;
	int i, n;

	if (nat_ip_parse_quoted(q, (size_t)ip->tot - ip->hlen - 8, &in) < 0 || in.dst != ip->src ||
	    in.proto != NAT_IPPROTO_UDP)
		return drop(c, s, NAT_SIDE_LAN, NAT_R_ICMP_QUOTE, ip);
	i = nat_table_find_out(c->tab, NAT_SPACE_UDP, c->conf.map, in.dst, in.dport, in.src,
	                       in.sport);
	if (i >= 0 && expired(c, nat_table_at(c->tab, (uint32_t)i))) {
		expire(c, (uint32_t)i, s);
		i = -1;
	}
	if (i < 0)
		return drop(c, s, NAT_SIDE_LAN, NAT_R_ICMP_QUOTE, ip);
	m = nat_table_at(c->tab, (uint32_t)i);
	p = stage(c, pkt, ip);
	nat_pkt_set_ports(p + ip->hlen + 8, &in, in.sport, m->ext_port);
	nat_pkt_set_addrs(p + ip->hlen + 8, &in, in.src, c->conf.wan_ip);
	nat_pkt_set_addrs(p, ip, c->conf.wan_ip, ip->dst);
	nat_icmp_csum_set(p, ip);
	nat_pkt_ttl_dec(p, ip);
	n = emit(c, s, NAT_SIDE_WAN, next_hop(c, NAT_SIDE_WAN, ip->dst), ip->tot, ip);
	if (!n)
		return 0;
	e = nat_sink_ev(s, NAT_EV_ICMP_XLATE, c->now);
	e->side = NAT_SIDE_LAN;
	e->icmp_type = ip->icmp_type;
	e->icmp_code = ip->icmp_code;
	e->proto = NAT_IPPROTO_UDP;
	e->other = nat_addr(ip->src, 0);
	e->in = nat_addr(m->int_ip, m->int_port);
	e->ext = nat_addr(c->conf.wan_ip, m->ext_port);
	e->remote = nat_addr(in.src, in.sport);
	return n;
}

/* LAN -> the NAT's own WAN address: translate both ways and send it back
 * into the LAN, as an outsider would see it (RFC 4787 §6, REQ-9). */
static int hairpin(struct nat_core *c, const uint8_t *pkt, const struct nat_ip *ip,
                   struct nat_sink *s)
{
	struct nat_map *src, *dst;
	struct nat_ev *e;
	enum nat_reason r;
	uint8_t *p;
	int i, j, n;

	if (!c->conf.hairpin)
		return filtered(c, s, NAT_R_HAIRPIN_OFF, ip->proto, ip->src, ip->sport, ip->dport,
		                -1);
	if (ip->ttl <= 1)
		return ttl_expire(c, NAT_SIDE_LAN, pkt, ip, s);
	i = map_out(c, NAT_SPACE_UDP, ip, ip->dport, ip->dst, s);
	if (i < 0)
		return 0;
	src = nat_table_at(c->tab, (uint32_t)i);
	j = live_ext(c, NAT_SPACE_UDP, ip->dport, s);
	if (j < 0)
		return filtered(c, s, NAT_R_NO_MAPPING, ip->proto, c->conf.wan_ip, src->ext_port,
		                ip->dport, -1);
	dst = nat_table_at(c->tab, (uint32_t)j);
	if (dst->bg)
		return filtered(c, s, NAT_R_BACKGROUND, ip->proto, c->conf.wan_ip, src->ext_port,
		                ip->dport, j);
	r = filter(c, j, c->conf.wan_ip, src->ext_port);
	if (r != NAT_R_NONE)
		return filtered(c, s, r, ip->proto, c->conf.wan_ip, src->ext_port, ip->dport, j);
	if (c->conf.refresh_inbound)
		dst->last_ms = c->now;
	p = stage(c, pkt, ip);
	nat_pkt_set_ports(p, ip, src->ext_port, dst->int_port);
	nat_pkt_set_addrs(p, ip, c->conf.wan_ip, dst->int_ip);
	nat_pkt_ttl_dec(p, ip);
	n = emit(c, s, NAT_SIDE_LAN, dst->int_ip, ip->tot, ip);
	if (!n)
		return 0;
	e = nat_sink_ev(s, NAT_EV_HAIRPIN, c->now);
	e->proto = ip->proto;
	e->in = nat_addr(src->int_ip, src->int_port);
	e->ext = nat_addr(c->conf.wan_ip, src->ext_port);
	e->remote = nat_addr(ip->dst, ip->dport);
	e->other = nat_addr(dst->int_ip, dst->int_port);
	return n;
}

static int lan_input(struct nat_core *c, const uint8_t *pkt, const struct nat_ip *ip,
                     struct nat_sink *s)
{
	if (!lan_host(c, ip->src) || ip->src == c->conf.lan_ip)
		return drop(c, s, NAT_SIDE_LAN, NAT_R_BAD_SOURCE, ip);
	if (ip->dst == c->conf.lan_ip || ip->dst == c->conf.wan_ip) {
		if (is_echo(ip))
			return echo_self(c, NAT_SIDE_LAN, pkt, ip, s);
		if (ip->dst == c->conf.wan_ip && c->conf.translate && ip->proto == NAT_IPPROTO_UDP)
			return hairpin(c, pkt, ip, s);
		return drop(c, s, NAT_SIDE_LAN, NAT_R_TO_SELF, ip);
	}
	if (martian(ip->dst) || in_lan(c, ip->dst))
		return drop(c, s, NAT_SIDE_LAN, NAT_R_BAD_DEST, ip);
	/* TTL first: a dying packet must not create a mapping. */
	if (ip->ttl <= 1)
		return ttl_expire(c, NAT_SIDE_LAN, pkt, ip, s);
	if (!c->conf.translate)
		return route(c, NAT_SIDE_WAN, pkt, ip, s);
	switch (ip->proto) {
	case NAT_IPPROTO_UDP:
		return lan_map(c, NAT_SPACE_UDP, pkt, ip, s);
	case NAT_IPPROTO_ICMP:
		if (ip->icmp_type == NAT_ICMP_ECHO)
			return lan_map(c, NAT_SPACE_ICMP, pkt, ip, s);
		if (nat_icmp_is_error(ip->icmp_type))
			return lan_icmp_error(c, pkt, ip, s);
		return drop(c, s, NAT_SIDE_LAN, NAT_R_ICMP_TYPE, ip);
	case NAT_IPPROTO_TCP:
		return drop(c, s, NAT_SIDE_LAN, NAT_R_TCP, ip);
	default:
		return drop(c, s, NAT_SIDE_LAN, NAT_R_PROTO, ip);
	}
}

/* --- WAN -> LAN ---------------------------------------------------------------- */

/* UDP or an echo reply to the WAN address: mapping, filter, TTL, translate. */
static int wan_map(struct nat_core *c, enum nat_space sp, const uint8_t *pkt,
                   const struct nat_ip *ip, struct nat_sink *s)
{
	uint16_t rport = sp == NAT_SPACE_UDP ? ip->sport : 0;
	int i = live_ext(c, sp, ip->dport, s);
	struct nat_map *m;
	enum nat_reason r;
	uint8_t *p;

	if (i < 0)
		return filtered(c, s, NAT_R_NO_MAPPING, ip->proto, ip->src, ip->sport, ip->dport,
		                -1);
	m = nat_table_at(c->tab, (uint32_t)i);
	if (m->bg)
		return filtered(c, s, NAT_R_BACKGROUND, ip->proto, ip->src, ip->sport, ip->dport,
		                i);
	r = filter(c, i, ip->src, rport);
	if (r != NAT_R_NONE)
		return filtered(c, s, r, ip->proto, ip->src, ip->sport, ip->dport, i);
	if (ip->ttl <= 1)
		return ttl_expire(c, NAT_SIDE_WAN, pkt, ip, s);
	if (c->conf.refresh_inbound)
		m->last_ms = c->now;
	p = stage(c, pkt, ip);
	if (sp == NAT_SPACE_UDP)
		nat_pkt_set_ports(p, ip, ip->sport, m->int_port);
	else
		nat_pkt_set_ports(p, ip, m->int_port, 0);
	nat_pkt_set_addrs(p, ip, ip->src, m->int_ip);
	nat_pkt_ttl_dec(p, ip);
	return emit(c, s, NAT_SIDE_LAN, m->int_ip, ip->tot, ip);
}

/* An ICMP error about a packet the NAT translated (RFC 5508 §4.2): back to
 * the internal host, the quote rewritten to what the host sent. */
static int wan_icmp_error(struct nat_core *c, const uint8_t *pkt, const struct nat_ip *ip,
                          struct nat_sink *s)
{
	const uint8_t *q = pkt + ip->hlen + 8;
	enum nat_space sp;
	struct nat_ip in;
	struct nat_map *m;
	struct nat_ev *e;
	uint16_t rport;
	uint8_t *p;
	int i, n;

	if (nat_ip_parse_quoted(q, (size_t)ip->tot - ip->hlen - 8, &in) < 0 ||
	    in.src != c->conf.wan_ip)
		return drop(c, s, NAT_SIDE_WAN, NAT_R_ICMP_QUOTE, ip);
	if (in.proto == NAT_IPPROTO_UDP)
		sp = NAT_SPACE_UDP;
	else if (in.proto == NAT_IPPROTO_ICMP && in.icmp_type == NAT_ICMP_ECHO)
		sp = NAT_SPACE_ICMP;
	else
		return drop(c, s, NAT_SIDE_WAN, NAT_R_ICMP_QUOTE, ip);
	rport = sp == NAT_SPACE_UDP ? in.dport : 0;
	i = live_ext(c, sp, in.sport, s);
	if (i < 0)
		return filtered(c, s, NAT_R_NO_MAPPING, in.proto, ip->src, 0, in.sport, -1);
	m = nat_table_at(c->tab, (uint32_t)i);
	if (m->bg)
		return filtered(c, s, NAT_R_BACKGROUND, in.proto, ip->src, 0, in.sport, i);
	if (!nat_table_permitted(c->tab, (uint32_t)i, in.dst, rport, true))
		return filtered(c, s, NAT_R_ICMP_NO_SESSION, in.proto, ip->src, 0, in.sport, i);
	if (ip->ttl <= 1)
		return drop(c, s, NAT_SIDE_WAN, NAT_R_TTL, ip);
	p = stage(c, pkt, ip);
	nat_pkt_set_ports(p + ip->hlen + 8, &in, m->int_port, in.dport);
	nat_pkt_set_addrs(p + ip->hlen + 8, &in, m->int_ip, in.dst);
	nat_pkt_set_addrs(p, ip, ip->src, m->int_ip);
	nat_icmp_csum_set(p, ip);
	nat_pkt_ttl_dec(p, ip);
	n = emit(c, s, NAT_SIDE_LAN, m->int_ip, ip->tot, ip);
	if (!n)
		return 0;
	e = nat_sink_ev(s, NAT_EV_ICMP_XLATE, c->now);
	e->side = NAT_SIDE_WAN;
	e->icmp_type = ip->icmp_type;
	e->icmp_code = ip->icmp_code;
	e->proto = in.proto;
	e->other = nat_addr(ip->src, 0);
	e->in = nat_addr(m->int_ip, m->int_port);
	e->ext = nat_addr(c->conf.wan_ip, m->ext_port);
	e->remote = nat_addr(in.dst, rport);
	return n;
}

static int wan_input(struct nat_core *c, const uint8_t *pkt, const struct nat_ip *ip,
                     struct nat_sink *s)
{
	if (martian(ip->src) || in_lan(c, ip->src) || ip->src == c->conf.wan_ip)
		return drop(c, s, NAT_SIDE_WAN, NAT_R_BAD_SOURCE, ip);
	if (ip->dst == c->conf.wan_ip || ip->dst == c->conf.lan_ip) {
		if (is_echo(ip))
			return echo_self(c, NAT_SIDE_WAN, pkt, ip, s);
		if (!c->conf.translate || ip->dst == c->conf.lan_ip)
			return drop(c, s, NAT_SIDE_WAN, NAT_R_TO_SELF, ip);
		switch (ip->proto) {
		case NAT_IPPROTO_UDP:
			return wan_map(c, NAT_SPACE_UDP, pkt, ip, s);
		case NAT_IPPROTO_ICMP:
			if (ip->icmp_type == NAT_ICMP_ECHO_REPLY)
				return wan_map(c, NAT_SPACE_ICMP, pkt, ip, s);
			if (nat_icmp_is_error(ip->icmp_type))
				return wan_icmp_error(c, pkt, ip, s);
			return drop(c, s, NAT_SIDE_WAN, NAT_R_ICMP_TYPE, ip);
		case NAT_IPPROTO_TCP:
			return drop(c, s, NAT_SIDE_WAN, NAT_R_TCP, ip);
		default:
			return drop(c, s, NAT_SIDE_WAN, NAT_R_PROTO, ip);
		}
	}
	if (!c->conf.translate && lan_host(c, ip->dst)) {
		if (ip->ttl <= 1)
			return ttl_expire(c, NAT_SIDE_WAN, pkt, ip, s);
		return route(c, NAT_SIDE_LAN, pkt, ip, s);
	}
	return drop(c, s, NAT_SIDE_WAN, NAT_R_NOT_FOR_US, ip);
}

static enum nat_reason reason_of(int err)
{
	switch (err) {
	case RV_ETRUNC:
		return NAT_R_TRUNCATED;
	case RV_EVERSION:
		return NAT_R_NOT_IPV4;
	case -EBADMSG:
		return NAT_R_BAD_CHECKSUM;
	default:
		return NAT_R_BAD_LENGTH;
	}
}

/* --- fragments ------------------------------------------------------------------ */

static enum nat_reason frag_reason(enum rv_frag_why w, uint8_t proto)
{
	switch (w) {
	case RV_FRAG_PROTO:
		return proto == NAT_IPPROTO_TCP ? NAT_R_TCP : NAT_R_PROTO;
	case RV_FRAG_DUP:
		return NAT_R_FRAG_DUP;
	case RV_FRAG_OVERLAP:
		return NAT_R_FRAG_OVERLAP;
	case RV_FRAG_TOO_BIG:
		return NAT_R_FRAG_TOO_BIG;
	case RV_FRAG_TOO_MANY:
		return NAT_R_FRAG_TOO_MANY;
	case RV_FRAG_TIMEOUT:
		return NAT_R_FRAG_TIMEOUT;
	case RV_FRAG_EVICTED:
		return NAT_R_FRAG_EVICTED;
	default:
		return NAT_R_FRAG_BAD;
	}
}

/* A train that died without completing: one drop event, its ports (the
 * echo identifier for ICMP) when it held its first piece. */
static void frag_gone(struct nat_core *c, struct nat_sink *s, enum nat_side side,
                      const struct rv_frag_train *t)
{
	struct nat_ev *e = nat_sink_ev(s, NAT_EV_DROP, c->now);
	uint16_t sport = 0, dport = 0;

	if (t->has_head && t->proto == NAT_IPPROTO_UDP) {
		sport = rv_get_u16(t->head);
		dport = rv_get_u16(t->head + 2);
	} else if (t->has_head && t->proto == NAT_IPPROTO_ICMP) {
		sport = dport = rv_get_u16(t->head + 4);
	}
	e->side = (uint8_t)side;
	e->reason = (uint8_t)frag_reason((enum rv_frag_why)t->why, t->proto);
	e->proto = t->proto;
	e->remote = nat_addr(t->src, sport);
	e->other = nat_addr(t->dst, dport);
}

/* A fragment into its side's table. Returns the whole datagram (in the
 * table's buffer, *ip parsed anew) when this piece completes it, else NULL:
 * held, or dropped with a logged reason. The datagram then goes through
 * the NAT like any packet: filtering, mappings (none from a lone piece),
 * TTL (the first piece's), translation, and fragments again on output. */
static const uint8_t *reassemble(struct nat_core *c, enum nat_side side, const uint8_t *pkt,
                                 struct nat_ip *ip, struct nat_sink *s)
{
	struct rv_frag_res r;
	enum rv_frag_verdict v;
	int err;

	if (!c->frag[side]) {
		drop(c, s, side, NAT_R_FRAGMENT, ip);
		return NULL;
	}
	v = rv_frag_input(c->frag[side], pkt, ip->tot, c->now, &r);
	if (r.gone.why)
		frag_gone(c, s, side, &r.gone);
	if (v == RV_FRAG_DROPPED)
		drop(c, s, side, frag_reason((enum rv_frag_why)r.why, ip->proto), ip);
	if (v != RV_FRAG_DONE)
		return NULL;
	err = nat_ip_parse(r.pkt, r.len, ip);
	if (err) { /* e.g. a UDP length or ICMP checksum that the whole belies */
		drop(c, s, side, reason_of(err), ip->hlen ? ip : NULL);
		return NULL;
	}
	return r.pkt;
}

static void frag_expire(struct nat_core *c, struct nat_sink *s)
{
	struct rv_frag_train gone[16];

	for (int side = 0; side < 2; side++) {
		struct rv_frag *f = c->frag[side];

		/* The cursor walks on: slots / 16 calls cover the table. */
		for (uint32_t left = c->conf.frag_slots; f && rv_frag_live(f) && left;) {
			unsigned step = left < 16 ? left : 16;
			unsigned n = rv_frag_expire(f, c->now, step, gone);

			for (unsigned i = 0; i < n; i++)
				frag_gone(c, s, (enum nat_side)side, &gone[i]);
			left -= step;
		}
	}
}

void nat_core_tick(struct nat_core *c, uint64_t now_ms, struct nat_sink *s)
{
	advance(c, now_ms, s);
	sweep(c, s);
	frag_expire(c, s);
}

int nat_core_input(struct nat_core *c, enum nat_side side, const uint8_t *pkt, size_t len,
                   uint64_t now_ms, struct nat_sink *s)
{
	unsigned before = s->n_out;
	struct nat_ip ip;
	int err;

	advance(c, now_ms, s);
	err = nat_ip_parse(pkt, len, &ip);
	if (err)
		return drop(c, s, side, reason_of(err), ip.hlen ? &ip : NULL);
	/* Defragmented first, as Linux's conntrack does: then translated whole. */
	if (ip.frag & (NAT_IP_MF | NAT_IP_OFFMASK)) {
		pkt = reassemble(c, side, pkt, &ip, s);
		if (!pkt)
			return (int)(s->n_out - before);
	}
	if (side == NAT_SIDE_LAN)
		lan_input(c, pkt, &ip, s);
	else
		wan_input(c, pkt, &ip, s);
	return (int)(s->n_out - before);
}
