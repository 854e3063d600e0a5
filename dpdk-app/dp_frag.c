/* dp_frag.c — IPv4 reassembly table and fragmenter (dp_frag.h). */
#include <errno.h>
#include <string.h>

#include "dpdk-app/dp_frag.h"
#include "proto/rv_buf.h"

#define ETH_LEN  14
#define IP_LEN   20
#define HDR_LEN  (ETH_LEN + IP_LEN)
#define IP_MF    0x2000
#define IP_OFF   0x1fff
#define WAYS     4
#define MAX_SIZE 65000

struct dp_frag_slot {
	uint32_t src, dst; /* key, with id */
	uint16_t id;
	bool used;
	bool have_last;
	uint8_t nfrags;
	uint16_t total; /* payload bytes, known once the last piece came */
	uint16_t got;   /* payload bytes held (no overlaps: distinct bytes) */
	uint16_t end;   /* highest end of a piece so far */
	uint64_t t0_ms; /* first piece */
};

struct dp_frag {
	uint32_t nslots, bmask; /* bmask: buckets - 1 */
	uint32_t max_payload, max_frags;
	uint64_t timeout_ms;
	uint64_t k0, k1;
	uint32_t live, cursor;
	size_t words;  /* bitmap words per slot: one bit per 8-byte block */
	size_t stride; /* buffer bytes per slot */
	uint64_t *bits;
	uint8_t *bufs;
	struct dp_frag_slot slot[];
};

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static bool conf_ok(const struct dp_frag_conf *c)
{
	return c->slots >= WAYS && !(c->slots & (c->slots - 1)) && c->max_size >= 576 &&
	       c->max_size <= MAX_SIZE && c->max_frags >= 2 && c->max_frags <= 255 &&
	       c->timeout_ms >= 1;
}

static size_t words_of(const struct dp_frag_conf *c)
{
	return ((c->max_size - IP_LEN) / 8 + 1 + 63) / 64;
}

size_t dp_frag_size(const struct dp_frag_conf *c)
{
	if (!conf_ok(c))
		return 0;
	return align64(sizeof(struct dp_frag) + c->slots * sizeof(struct dp_frag_slot)) +
	       align64(c->slots * words_of(c) * sizeof(uint64_t)) +
	       c->slots * align64(ETH_LEN + c->max_size);
}

int dp_frag_init(struct dp_frag *f, const struct dp_frag_conf *c)
{
	uint8_t *p = (uint8_t *)f;

	if (!conf_ok(c))
		return -EINVAL;
	memset(f, 0, sizeof(*f) + c->slots * sizeof(struct dp_frag_slot));
	f->nslots = c->slots;
	f->bmask = c->slots / WAYS - 1;
	f->max_payload = c->max_size - IP_LEN;
	f->max_frags = c->max_frags;
	f->timeout_ms = c->timeout_ms;
	f->k0 = c->seed ^ 0x736f6d6570736575ull;
	f->k1 = (c->seed << 17 | c->seed >> 47) ^ 0x646f72616e646f6dull;
	f->words = words_of(c);
	f->stride = align64(ETH_LEN + c->max_size);
	p += align64(sizeof(struct dp_frag) + c->slots * sizeof(struct dp_frag_slot));
	f->bits = (uint64_t *)(void *)p;
	p += align64(c->slots * f->words * sizeof(uint64_t));
	f->bufs = p;
	return 0;
}

unsigned dp_frag_live(const struct dp_frag *f)
{
	return f->live;
}

/* --- the table ------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
	x = (x ^ (x >> 32)) * 0xd6e8feb86659fd93ull;
	return x ^ (x >> 32);
}

/* Keyed, so a sender cannot aim its trains at the bucket of someone else's. */
static uint32_t bucket_of(const struct dp_frag *f, uint32_t src, uint32_t dst, uint16_t id)
{
	return (uint32_t)mix64(mix64(((uint64_t)src << 32 | dst) ^ f->k0) ^ id ^ f->k1) & f->bmask;
}

static uint64_t *bits_of(struct dp_frag *f, const struct dp_frag_slot *s)
{
	return f->bits + (size_t)(s - f->slot) * f->words;
}

static uint8_t *buf_of(struct dp_frag *f, const struct dp_frag_slot *s)
{
	return f->bufs + (size_t)(s - f->slot) * f->stride;
}

static void slot_free(struct dp_frag *f, struct dp_frag_slot *s)
{
	s->used = false;
	f->live--;
}

static bool expired(const struct dp_frag *f, const struct dp_frag_slot *s, uint64_t now_ms)
{
	return now_ms - s->t0_ms >= f->timeout_ms;
}

static void slot_take(struct dp_frag *f, struct dp_frag_slot *s, uint32_t src, uint32_t dst,
                      uint16_t id, uint64_t now_ms)
{
	*s = (struct dp_frag_slot){
		.src = src, .dst = dst, .id = id, .used = true, .t0_ms = now_ms
	};
	memset(bits_of(f, s), 0, f->words * sizeof(uint64_t));
	f->live++;
}

/* The train's slot; with create, a new one (a free slot, else an expired
 * one, else the oldest of the bucket, evicted). NULL when absent. */
static struct dp_frag_slot *lookup(struct dp_frag *f, uint32_t src, uint32_t dst, uint16_t id,
                                   uint64_t now_ms, bool create, uint64_t *ctr)
{
	struct dp_frag_slot *b = &f->slot[(size_t)bucket_of(f, src, dst, id) * WAYS];
	struct dp_frag_slot *pick = NULL;

	for (int w = 0; w < WAYS; w++) {
		struct dp_frag_slot *s = &b[w];

		if (s->used && s->src == src && s->dst == dst && s->id == id) {
			if (!expired(f, s, now_ms))
				return s;
			/* Its time is up: what arrives now starts afresh. */
			ctr[DP_C_DROP_FRAG_TIMEOUT]++;
			slot_free(f, s);
			pick = s;
			break;
		}
	}
	if (!create)
		return NULL;
	for (int w = 0; !pick && w < WAYS; w++)
		if (!b[w].used)
			pick = &b[w];
	for (int w = 0; !pick && w < WAYS; w++)
		if (expired(f, &b[w], now_ms)) {
			ctr[DP_C_DROP_FRAG_TIMEOUT]++;
			slot_free(f, &b[w]);
			pick = &b[w];
		}
	if (!pick) {
		pick = &b[0];
		for (int w = 1; w < WAYS; w++)
			if (b[w].t0_ms < pick->t0_ms)
				pick = &b[w];
		ctr[DP_C_DROP_FRAG_EVICTED]++;
		slot_free(f, pick);
	}
	slot_take(f, pick, src, dst, id, now_ms);
	return pick;
}

/* Blocks [lo, hi) already held: 0 none, 1 some, 2 all. */
static int held(const uint64_t *bits, uint32_t lo, uint32_t hi)
{
	uint32_t n = 0;

	for (uint32_t b = lo; b < hi; b++)
		n += (uint32_t)(bits[b / 64] >> (b % 64)) & 1;
	return n == 0 ? 0 : n == hi - lo ? 2 : 1;
}

static void mark(uint64_t *bits, uint32_t lo, uint32_t hi)
{
	for (uint32_t b = lo; b < hi; b++)
		bits[b / 64] |= 1ull << (b % 64);
}

static uint16_t ip_csum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < IP_LEN; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static enum dp_frag_verdict refuse(struct dp_frag *f, struct dp_frag_slot *s, uint64_t *ctr,
                                   enum dp_ctr why)
{
	if (s)
		slot_free(f, s);
	ctr[why]++;
	return DP_FRAG_DROPPED;
}

enum dp_frag_verdict dp_frag_input(struct dp_frag *f, const uint8_t *frame, uint16_t len,
                                   uint64_t now_ms, uint64_t *ctr, struct dp_frag_done *done)
{
	const uint8_t *ip = frame + ETH_LEN;
	uint16_t total, fl, id;
	uint32_t off, plen, end, src, dst;
	bool last;
	struct dp_frag_slot *s;
	uint64_t *bits;
	uint8_t *buf;
	int h;

	/* dp_pkt checked all this; a pure function checks its own input. */
	if (len < HDR_LEN || rv_get_u16(frame + 12) != 0x0800 || ip[0] != 0x45)
		return refuse(f, NULL, ctr, DP_C_DROP_FRAG_BAD);
	total = rv_get_u16(ip + 2);
	if (total < IP_LEN || total > len - ETH_LEN)
		return refuse(f, NULL, ctr, DP_C_DROP_FRAG_BAD);
	if (ip[9] != 17)
		return refuse(f, NULL, ctr, DP_C_DROP_FRAG_PROTO);
	fl = rv_get_u16(ip + 6);
	id = rv_get_u16(ip + 4);
	src = rv_get_u32(ip + 12);
	dst = rv_get_u32(ip + 16);
	off = (uint32_t)(fl & IP_OFF) * 8;
	last = !(fl & IP_MF);
	plen = total - IP_LEN;
	end = off + plen;
	if (plen == 0 || (!last && plen % 8) || (last && off == 0))
		return refuse(f, NULL, ctr, DP_C_DROP_FRAG_BAD);
	if (end > f->max_payload)
		return refuse(f, lookup(f, src, dst, id, now_ms, false, ctr), ctr,
		              DP_C_DROP_FRAG_TOO_BIG);
	s = lookup(f, src, dst, id, now_ms, true, ctr);
	/* A piece that disagrees with where the datagram ends. */
	if (last ? (s->have_last ? end != s->total : end < s->end)
	         : (s->have_last && end > s->total))
		return refuse(f, s, ctr, DP_C_DROP_FRAG_OVERLAP);
	bits = bits_of(f, s);
	h = held(bits, off / 8, (end + 7) / 8);
	if (h == 2) {
		/* Wholly inside what we hold: a duplicate; keep the first copy. */
		ctr[DP_C_DROP_FRAG_DUP]++;
		return DP_FRAG_DROPPED;
	}
	if (h == 1)
		return refuse(f, s, ctr, DP_C_DROP_FRAG_OVERLAP);
	if (s->nfrags >= f->max_frags)
		return refuse(f, s, ctr, DP_C_DROP_FRAG_TOO_MANY);
	buf = buf_of(f, s);
	if (off == 0)
		memcpy(buf, frame, HDR_LEN); /* RFC 791: the first piece's header */
	memcpy(buf + HDR_LEN + off, ip + IP_LEN, plen);
	mark(bits, off / 8, (end + 7) / 8);
	s->nfrags++;
	s->got = (uint16_t)(s->got + plen);
	if (end > s->end)
		s->end = (uint16_t)end;
	if (last) {
		s->have_last = true;
		s->total = (uint16_t)end;
	}
	ctr[DP_C_RX_FRAG]++;
	if (!s->have_last || s->got != s->total)
		return DP_FRAG_HELD;
	/* Every byte once, from 0 to the end: whole. */
	rv_put_u16(buf + ETH_LEN + 2, (uint16_t)(IP_LEN + s->total));
	rv_put_u16(buf + ETH_LEN + 6, 0);
	rv_put_u16(buf + ETH_LEN + 10, 0);
	rv_put_u16(buf + ETH_LEN + 10, ip_csum(buf + ETH_LEN));
	done->frame = buf;
	done->len = (uint16_t)(HDR_LEN + s->total);
	done->cap = (uint16_t)f->stride;
	slot_free(f, s);
	ctr[DP_C_RX_REASSEMBLED]++;
	return DP_FRAG_DONE;
}

unsigned dp_frag_expire(struct dp_frag *f, uint64_t now_ms, unsigned budget, uint64_t *ctr)
{
	unsigned n = 0;

	for (; budget && f->live; budget--) {
		struct dp_frag_slot *s = &f->slot[f->cursor];

		f->cursor = (f->cursor + 1) & (f->nslots - 1);
		if (s->used && expired(f, s, now_ms)) {
			slot_free(f, s);
			ctr[DP_C_DROP_FRAG_TIMEOUT]++;
			n++;
		}
	}
	return n;
}

/* --- out ------------------------------------------------------------------------ */

/* Payload bytes per piece: what fits under the MTU, in 8-byte units. */
static uint32_t chunk_of(uint16_t mtu)
{
	return mtu < IP_LEN + 8 ? 0 : (uint32_t)(mtu - IP_LEN) & ~7u;
}

unsigned dp_frag_count(uint16_t len, uint16_t mtu)
{
	uint32_t chunk = chunk_of(mtu), pl;

	if (!chunk)
		return 0;
	if (len <= ETH_LEN + mtu)
		return 1;
	pl = (uint32_t)len - HDR_LEN;
	return (pl + chunk - 1) / chunk;
}

int dp_frag_split(const uint8_t *frame, uint16_t len, uint16_t mtu, uint16_t id, unsigned i,
                  uint8_t *out, size_t cap)
{
	uint32_t chunk = chunk_of(mtu), off, n;
	unsigned count = dp_frag_count(len, mtu);
	uint8_t *ip = out + ETH_LEN;

	if (len < HDR_LEN || rv_get_u16(frame + 12) != 0x0800 || frame[ETH_LEN] != 0x45 ||
	    count < 2 || i >= count || (out == frame && i != 0))
		return -EINVAL;
	off = i * chunk;
	n = (uint32_t)len - HDR_LEN - off;
	if (n > chunk)
		n = chunk;
	if (HDR_LEN + n > cap)
		return -ENOSPC;
	if (out != frame) {
		memcpy(out, frame, HDR_LEN);
		memcpy(out + HDR_LEN, frame + HDR_LEN + off, n);
	}
	rv_put_u16(ip + 2, (uint16_t)(IP_LEN + n));
	rv_put_u16(ip + 4, id);
	/* DF clear; MF on every piece but the last. */
	rv_put_u16(ip + 6, (uint16_t)(off / 8 | (i + 1 < count ? IP_MF : 0)));
	rv_put_u16(ip + 10, 0);
	rv_put_u16(ip + 10, ip_csum(ip));
	return (int)(HDR_LEN + n);
}
