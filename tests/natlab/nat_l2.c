#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/rv_buf.h"
#include "proto/rv_err.h"
#include "nat_l2.h"

#define ETH_HLEN      14
#define ETHERTYPE_IP  0x0800
#define ETHERTYPE_ARP 0x0806
#define ARP_REQUEST   1
#define ARP_REPLY     2

enum { E_FREE = 0, E_PENDING, E_RESOLVED };

struct entry {
	uint8_t state, side, tries;
	uint32_t ip;
	uint8_t mac[6];
	uint64_t t_ms;   /* resolved: when learnt; pending: last request */
	uint64_t ask_ms; /* last refresh request of a resolved entry */
};

struct queued {
	bool used;
	uint8_t side;
	uint32_t nh;
	uint16_t len;
	uint8_t pkt[NAT_PKT_MAX];
};

struct nat_l2 {
	uint8_t mac[2][6];
	uint32_t ip[2];
	struct entry cache[NAT_L2_CACHE];
	struct queued queue[NAT_L2_QUEUE];
};

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct nat_l2 *nat_l2_new(const uint8_t lan_mac[6], uint32_t lan_ip, const uint8_t wan_mac[6],
                          uint32_t wan_ip)
{
	struct nat_l2 *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	memcpy(l->mac[NAT_SIDE_LAN], lan_mac, 6);
	memcpy(l->mac[NAT_SIDE_WAN], wan_mac, 6);
	l->ip[NAT_SIDE_LAN] = lan_ip;
	l->ip[NAT_SIDE_WAN] = wan_ip;
	return l;
}

void nat_l2_free(struct nat_l2 *l)
{
	free(l);
}

static struct entry *lookup(struct nat_l2 *l, enum nat_side side, uint32_t ip)
{
	for (int i = 0; i < NAT_L2_CACHE; i++)
		if (l->cache[i].state != E_FREE && l->cache[i].side == side && l->cache[i].ip == ip)
			return &l->cache[i];
	return NULL;
}

/* A free entry, else the oldest resolved one (pending ones hold packets). */
static struct entry *claim(struct nat_l2 *l)
{
	struct entry *old = NULL;

	for (int i = 0; i < NAT_L2_CACHE; i++) {
		struct entry *e = &l->cache[i];

		if (e->state == E_FREE)
			return e;
		if (e->state == E_RESOLVED && (!old || e->t_ms < old->t_ms))
			old = e;
	}
	return old;
}

static void put_eth(uint8_t *q, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(q, dst, 6);
	memcpy(q + 6, src, 6);
	rv_put_u16(q + 12, type);
}

static void arp_frame(struct nat_l2 *l, enum nat_side side, uint16_t op, const uint8_t eth_dst[6],
                      const uint8_t tha[6], uint32_t tpa, struct nat_sink *s)
{
	struct nat_out *o = nat_sink_out(s, side, tpa);
	uint8_t *q;

	if (!o)
		return;
	q = o->pkt;
	put_eth(q, eth_dst, l->mac[side], ETHERTYPE_ARP);
	rv_put_u16(q + 14, 1);            /* Ethernet */
	rv_put_u16(q + 16, ETHERTYPE_IP); /* IPv4 */
	q[18] = 6;
	q[19] = 4;
	rv_put_u16(q + 20, op);
	memcpy(q + 22, l->mac[side], 6);
	rv_put_u32(q + 28, l->ip[side]);
	memcpy(q + 32, tha, 6);
	rv_put_u32(q + 38, tpa);
	/* Pad to the 60-byte Ethernet minimum. */
	memset(q + 42, 0, 18);
	o->len = 60;
}

static void arp_request(struct nat_l2 *l, enum nat_side side, uint32_t ip, struct nat_sink *s)
{
	static const uint8_t zero[6];

	arp_frame(l, side, ARP_REQUEST, bcast, zero, ip, s);
}

static void frame_out(struct nat_l2 *l, enum nat_side side, const uint8_t mac[6], uint32_t nh,
                      const uint8_t *pkt, size_t len, struct nat_sink *s)
{
	struct nat_out *o = nat_sink_out(s, side, nh);

	if (!o)
		return;
	put_eth(o->pkt, mac, l->mac[side], ETHERTYPE_IP);
	memcpy(o->pkt + ETH_HLEN, pkt, len);
	o->len = (uint16_t)(ETH_HLEN + len);
}

/* Send what waited for e's address. */
static void flush(struct nat_l2 *l, const struct entry *e, struct nat_sink *s)
{
	for (int i = 0; i < NAT_L2_QUEUE; i++) {
		struct queued *q = &l->queue[i];

		if (!q->used || q->side != e->side || q->nh != e->ip)
			continue;
		frame_out(l, (enum nat_side)q->side, e->mac, q->nh, q->pkt, q->len, s);
		q->used = false;
	}
}

static void learn(struct nat_l2 *l, enum nat_side side, uint32_t ip, const uint8_t mac[6],
                  bool create, uint64_t now, struct nat_sink *s)
{
	struct entry *e = lookup(l, side, ip);

	if (!e && create)
		e = claim(l);
	if (!e)
		return;
	if (e->state == E_FREE || e->ip != ip || e->side != side) {
		memset(e, 0, sizeof(*e));
		e->side = (uint8_t)side;
		e->ip = ip;
	}
	memcpy(e->mac, mac, 6);
	e->state = E_RESOLVED;
	e->t_ms = now;
	e->tries = 0;
	flush(l, e, s);
}

static void arp_input(struct nat_l2 *l, enum nat_side side, struct rv_rd *r, uint64_t now,
                      struct nat_sink *s)
{
	uint16_t htype = rv_rd_u16(r), ptype = rv_rd_u16(r);
	uint8_t hlen = rv_rd_u8(r), plen = rv_rd_u8(r);
	uint16_t op = rv_rd_u16(r);
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
	bool for_us;

	rv_rd_copy(r, sha, 6);
	spa = rv_rd_u32(r);
	rv_rd_copy(r, tha, 6);
	tpa = rv_rd_u32(r);
	if (r->err || htype != 1 || ptype != ETHERTYPE_IP || hlen != 6 || plen != 4)
		return;
	if (sha[0] & 1) /* a multicast sender is never a neighbour */
		return;
	for_us = tpa == l->ip[side];
	/* RFC 826: update a known sender; add it when the packet is for us. */
	if (spa != 0 && spa != l->ip[side])
		learn(l, side, spa, sha, for_us, now, s);
	if (op == ARP_REQUEST && for_us)
		arp_frame(l, side, ARP_REPLY, sha, sha, spa, s);
}

int nat_l2_input(struct nat_l2 *l, enum nat_side side, const uint8_t *f, size_t len,
                 uint64_t now_ms, struct nat_sink *s, const uint8_t **ip, size_t *iplen)
{
	struct rv_rd r = rv_rd_make(f, len);
	uint8_t dst[6];
	uint16_t type;

	rv_rd_copy(&r, dst, 6);
	rv_rd_skip(&r, 6);
	type = rv_rd_u16(&r);
	if (r.err)
		return 0;
	if (type == ETHERTYPE_ARP) {
		if (memcmp(dst, bcast, 6) == 0 || memcmp(dst, l->mac[side], 6) == 0)
			arp_input(l, side, &r, now_ms, s);
		return 0;
	}
	if (type != ETHERTYPE_IP || memcmp(dst, l->mac[side], 6) != 0)
		return 0;
	*ip = f + ETH_HLEN;
	*iplen = len - ETH_HLEN;
	return 1;
}

static int dropped(enum nat_side side, uint32_t nh, enum nat_reason r, uint64_t now,
                   struct nat_sink *s)
{
	struct nat_ev *ev = nat_sink_ev(s, NAT_EV_DROP, now);

	ev->side = (uint8_t)side;
	ev->reason = (uint8_t)r;
	ev->other = nat_addr(nh, 0);
	return RV_ENOSPC;
}

int nat_l2_output(struct nat_l2 *l, enum nat_side side, uint32_t next_hop, const uint8_t *pkt,
                  size_t len, uint64_t now_ms, struct nat_sink *s)
{
	struct entry *e = lookup(l, side, next_hop);
	struct queued *q = NULL;

	if (len + ETH_HLEN > NAT_PKT_MAX)
		return dropped(side, next_hop, NAT_R_TOO_BIG, now_ms, s);
	if (e && e->state == E_RESOLVED) {
		frame_out(l, side, e->mac, next_hop, pkt, len, s);
		return 0;
	}
	for (int i = 0; i < NAT_L2_QUEUE && !q; i++)
		if (!l->queue[i].used)
			q = &l->queue[i];
	if (!q)
		return dropped(side, next_hop, NAT_R_ARP_QUEUE, now_ms, s);
	if (!e) {
		e = claim(l);
		if (!e) /* every entry is pending */
			return dropped(side, next_hop, NAT_R_ARP_QUEUE, now_ms, s);
		memset(e, 0, sizeof(*e));
		e->state = E_PENDING;
		e->side = (uint8_t)side;
		e->ip = next_hop;
		e->t_ms = now_ms;
		e->tries = 1;
		arp_request(l, side, next_hop, s);
	}
	q->used = true;
	q->side = (uint8_t)side;
	q->nh = next_hop;
	q->len = (uint16_t)len;
	memcpy(q->pkt, pkt, len);
	return 0;
}

static void give_up(struct nat_l2 *l, struct entry *e, uint64_t now, struct nat_sink *s)
{
	struct nat_ev *ev = nat_sink_ev(s, NAT_EV_ARP_FAIL, now);

	ev->side = e->side;
	ev->other = nat_addr(e->ip, 0);
	for (int i = 0; i < NAT_L2_QUEUE; i++)
		if (l->queue[i].used && l->queue[i].side == e->side && l->queue[i].nh == e->ip)
			l->queue[i].used = false;
	memset(e, 0, sizeof(*e));
}

void nat_l2_tick(struct nat_l2 *l, uint64_t now_ms, struct nat_sink *s)
{
	for (int i = 0; i < NAT_L2_CACHE; i++) {
		struct entry *e = &l->cache[i];

		if (e->state == E_PENDING && now_ms - e->t_ms >= NAT_ARP_RETRY_MS) {
			if (e->tries >= NAT_ARP_TRIES) {
				give_up(l, e, now_ms, s);
				continue;
			}
			e->tries++;
			e->t_ms = now_ms;
			arp_request(l, (enum nat_side)e->side, e->ip, s);
		} else if (e->state == E_RESOLVED && now_ms - e->t_ms >= NAT_ARP_STALE_MS &&
		           now_ms - e->ask_ms >= NAT_ARP_RETRY_MS * NAT_ARP_TRIES) {
			/* Keep using the old MAC; a reply refreshes it. */
			e->ask_ms = now_ms;
			arp_request(l, (enum nat_side)e->side, e->ip, s);
		}
	}
}

void nat_l2_announce(struct nat_l2 *l, struct nat_sink *s)
{
	static const uint8_t zero[6];

	/* RFC 5227 §3: an ARP request with sender = target = our address. */
	for (int side = 0; side < 2; side++)
		arp_frame(l, (enum nat_side)side, ARP_REQUEST, bcast, zero, l->ip[side], s);
}
