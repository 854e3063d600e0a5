/* ipfrag.c — IPv4 reassembly table and fragmenter (ipfrag.h). */
#include <errno.h>
#include <string.h>

#include "ipfrag.h"
#include "rv_buf.h"

#define IP_LEN 20
#define IP_MF  0x2000
#define IP_OFF 0x1fff
#define WAYS   4

struct rv_frag_slot {
	uint32_t src, dst; /* key, with proto and id */
	uint16_t id;
	uint8_t proto;
	bool used;
	bool have_last;
	uint8_t nfrags;
	uint16_t total; /* payload bytes, known once the last piece came */
	uint16_t got;   /* payload bytes held (no overlaps: distinct bytes) */
	uint16_t end;   /* highest end of a piece so far */
	uint64_t t0_ms; /* first piece */
};

struct rv_frag {
	uint32_t nslots, bmask; /* bmask: buckets - 1 */
	uint32_t max_payload, max_frags;
	uint64_t timeout_ms;
	uint64_t k0, k1;
	uint32_t live, cursor;
	uint16_t l2;
	uint8_t protos[4];
	size_t words;  /* bitmap words per slot: one bit per 8-byte block */
	size_t stride; /* buffer bytes per slot */
	uint64_t *bits;
	uint8_t *bufs;
	struct rv_frag_slot slot[];
};

static const char *const why_names[RV_FRAG_WHY_COUNT] = {
	[RV_FRAG_KEPT] = "kept",         [RV_FRAG_PROTO] = "proto",
	[RV_FRAG_BAD] = "bad",           [RV_FRAG_DUP] = "dup",
	[RV_FRAG_OVERLAP] = "overlap",   [RV_FRAG_TOO_BIG] = "too_big",
	[RV_FRAG_TOO_MANY] = "too_many", [RV_FRAG_TIMEOUT] = "timeout",
	[RV_FRAG_EVICTED] = "evicted",
};

const char *rv_frag_why_str(enum rv_frag_why w)
{
	return (unsigned)w < RV_FRAG_WHY_COUNT ? why_names[w] : "?";
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static bool conf_ok(const struct rv_frag_conf *c)
{
	bool any = false;

	for (int i = 0; i < 4; i++)
		any |= c->protos[i] != 0;
	return any && c->slots >= WAYS && !(c->slots & (c->slots - 1)) && c->max_size >= 576 &&
	       c->max_size <= RV_FRAG_MAX_SIZE && c->max_frags >= 2 && c->max_frags <= 255 &&
	       c->timeout_ms >= 1 && c->l2_len <= RV_FRAG_MAX_L2;
}

static size_t words_of(const struct rv_frag_conf *c)
{
	return ((c->max_size - IP_LEN) / 8 + 1 + 63) / 64;
}

size_t rv_frag_size(const struct rv_frag_conf *c)
{
	if (!conf_ok(c))
		return 0;
	return align64(sizeof(struct rv_frag) + c->slots * sizeof(struct rv_frag_slot)) +
	       align64(c->slots * words_of(c) * sizeof(uint64_t)) +
	       c->slots * align64((size_t)c->l2_len + c->max_size);
}

int rv_frag_init(struct rv_frag *f, const struct rv_frag_conf *c)
{
	uint8_t *p = (uint8_t *)f;

	if (!conf_ok(c))
		return -EINVAL;
	memset(f, 0, sizeof(*f) + c->slots * sizeof(struct rv_frag_slot));
	f->nslots = c->slots;
	f->bmask = c->slots / WAYS - 1;
	f->max_payload = c->max_size - IP_LEN;
	f->max_frags = c->max_frags;
	f->timeout_ms = c->timeout_ms;
	f->k0 = c->seed ^ 0x736f6d6570736575ull;
	f->k1 = (c->seed << 17 | c->seed >> 47) ^ 0x646f72616e646f6dull;
	f->l2 = c->l2_len;
	memcpy(f->protos, c->protos, sizeof(f->protos));
	f->words = words_of(c);
	f->stride = align64((size_t)c->l2_len + c->max_size);
	p += align64(sizeof(struct rv_frag) + c->slots * sizeof(struct rv_frag_slot));
	f->bits = (uint64_t *)(void *)p;
	p += align64(c->slots * f->words * sizeof(uint64_t));
	f->bufs = p;
	return 0;
}

unsigned rv_frag_live(const struct rv_frag *f)
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
static uint32_t bucket_of(const struct rv_frag *f, uint32_t src, uint32_t dst, uint8_t proto,
                          uint16_t id)
{
	uint64_t k = mix64(((uint64_t)src << 32 | dst) ^ f->k0);

	return (uint32_t)mix64(k ^ ((uint64_t)proto << 16 | id) ^ f->k1) & f->bmask;
}

static uint64_t *bits_of(struct rv_frag *f, const struct rv_frag_slot *s)
{
	return f->bits + (size_t)(s - f->slot) * f->words;
}

static uint8_t *buf_of(struct rv_frag *f, const struct rv_frag_slot *s)
{
	return f->bufs + (size_t)(s - f->slot) * f->stride;
}

static bool expired(const struct rv_frag *f, const struct rv_frag_slot *s, uint64_t now_ms)
{
	return now_ms - s->t0_ms >= f->timeout_ms;
}

static void slot_free(struct rv_frag *f, struct rv_frag_slot *s)
{
	s->used = false;
	f->live--;
}

/* Let a train go without completing it, described in *t when t is set. */
static void slot_drop(struct rv_frag *f, struct rv_frag_slot *s, enum rv_frag_why why,
                      uint64_t now_ms, struct rv_frag_train *t)
{
	if (t) {
		*t = (struct rv_frag_train){ .why = (uint8_t)why,
			                     .proto = s->proto,
			                     .nfrags = s->nfrags,
			                     .has_head = bits_of(f, s)[0] & 1,
			                     .src = s->src,
			                     .dst = s->dst,
			                     .id = s->id,
			                     .got = s->got,
			                     .age_ms = (uint32_t)(now_ms - s->t0_ms) };
		/* Block 0 is held only whole: a first piece is a middle one. */
		if (t->has_head)
			memcpy(t->head, buf_of(f, s) + f->l2 + IP_LEN, sizeof(t->head));
	}
	slot_free(f, s);
}

static void slot_take(struct rv_frag *f, struct rv_frag_slot *s, uint32_t src, uint32_t dst,
                      uint8_t proto, uint16_t id, uint64_t now_ms)
{
	*s = (struct rv_frag_slot){
		.src = src, .dst = dst, .id = id, .proto = proto, .used = true, .t0_ms = now_ms
	};
	memset(bits_of(f, s), 0, f->words * sizeof(uint64_t));
	f->live++;
}

/* The train's slot; with create, a new one (a free slot, else an expired
 * one, else the oldest of the bucket, evicted). NULL when absent. A train
 * let go on the way is described in *gone. */
static struct rv_frag_slot *lookup(struct rv_frag *f, uint32_t src, uint32_t dst, uint8_t proto,
                                   uint16_t id, uint64_t now_ms, bool create,
                                   struct rv_frag_train *gone)
{
	struct rv_frag_slot *b = &f->slot[(size_t)bucket_of(f, src, dst, proto, id) * WAYS];
	struct rv_frag_slot *pick = NULL;

	for (int w = 0; w < WAYS; w++) {
		struct rv_frag_slot *s = &b[w];

		if (s->used && s->src == src && s->dst == dst && s->proto == proto && s->id == id) {
			if (!expired(f, s, now_ms))
				return s;
			/* Its time is up: what arrives now starts afresh. */
			slot_drop(f, s, RV_FRAG_TIMEOUT, now_ms, gone);
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
			slot_drop(f, &b[w], RV_FRAG_TIMEOUT, now_ms, gone);
			pick = &b[w];
		}
	if (!pick) {
		pick = &b[0];
		for (int w = 1; w < WAYS; w++)
			if (b[w].t0_ms < pick->t0_ms)
				pick = &b[w];
		slot_drop(f, pick, RV_FRAG_EVICTED, now_ms, gone);
	}
	slot_take(f, pick, src, dst, proto, id, now_ms);
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

static void ip_csum_set(uint8_t *ip)
{
	uint32_t sum = 0;

	rv_put_u16(ip + 10, 0);
	for (int i = 0; i < IP_LEN; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	rv_put_u16(ip + 10, (uint16_t)~sum);
}

static enum rv_frag_verdict refuse(struct rv_frag *f, struct rv_frag_slot *s,
                                   struct rv_frag_res *res, enum rv_frag_why why)
{
	if (s) {
		slot_free(f, s);
		res->train_dropped = true;
	}
	res->why = (uint8_t)why;
	return RV_FRAG_DROPPED;
}

static bool proto_ok(const struct rv_frag *f, uint8_t proto)
{
	for (int i = 0; i < 4; i++)
		if (f->protos[i] && f->protos[i] == proto)
			return true;
	return false;
}

enum rv_frag_verdict rv_frag_input(struct rv_frag *f, const uint8_t *pkt, size_t len,
                                   uint64_t now_ms, struct rv_frag_res *res)
{
	const uint8_t *ip = pkt + f->l2;
	uint16_t total, fl, id;
	uint32_t off, plen, end, src, dst;
	bool last;
	struct rv_frag_slot *s;
	uint64_t *bits;
	uint8_t *buf;
	int h;

	memset(res, 0, sizeof(*res));
	if (len < (size_t)f->l2 + IP_LEN || ip[0] != 0x45)
		return refuse(f, NULL, res, RV_FRAG_BAD);
	total = rv_get_u16(ip + 2);
	if (total < IP_LEN || total > len - f->l2)
		return refuse(f, NULL, res, RV_FRAG_BAD);
	if (!proto_ok(f, ip[9]))
		return refuse(f, NULL, res, RV_FRAG_PROTO);
	fl = rv_get_u16(ip + 6);
	id = rv_get_u16(ip + 4);
	src = rv_get_u32(ip + 12);
	dst = rv_get_u32(ip + 16);
	off = (uint32_t)(fl & IP_OFF) * 8;
	last = !(fl & IP_MF);
	plen = total - IP_LEN;
	end = off + plen;
	if (plen == 0 || (!last && plen % 8) || (last && off == 0))
		return refuse(f, NULL, res, RV_FRAG_BAD);
	if (end > f->max_payload)
		return refuse(f, lookup(f, src, dst, ip[9], id, now_ms, false, &res->gone), res,
		              RV_FRAG_TOO_BIG);
	s = lookup(f, src, dst, ip[9], id, now_ms, true, &res->gone);
	/* A piece that disagrees with where the datagram ends. */
	if (last ? (s->have_last ? end != s->total : end < s->end)
	         : (s->have_last && end > s->total))
		return refuse(f, s, res, RV_FRAG_OVERLAP);
	bits = bits_of(f, s);
	h = held(bits, off / 8, (end + 7) / 8);
	if (h == 2) {
		/* Wholly inside what we hold: a duplicate; keep the first copy. */
		res->why = RV_FRAG_DUP;
		return RV_FRAG_DROPPED;
	}
	if (h == 1)
		return refuse(f, s, res, RV_FRAG_OVERLAP);
	if (s->nfrags >= f->max_frags)
		return refuse(f, s, res, RV_FRAG_TOO_MANY);
	buf = buf_of(f, s);
	if (off == 0)
		memcpy(buf, pkt, (size_t)f->l2 + IP_LEN); /* RFC 791: the first piece's header */
	memcpy(buf + f->l2 + IP_LEN + off, ip + IP_LEN, plen);
	mark(bits, off / 8, (end + 7) / 8);
	s->nfrags++;
	s->got = (uint16_t)(s->got + plen);
	if (end > s->end)
		s->end = (uint16_t)end;
	if (last) {
		s->have_last = true;
		s->total = (uint16_t)end;
	}
	if (!s->have_last || s->got != s->total)
		return RV_FRAG_HELD;
	/* Every byte once, from 0 to the end: whole. */
	rv_put_u16(buf + f->l2 + 2, (uint16_t)(IP_LEN + s->total));
	rv_put_u16(buf + f->l2 + 6, 0);
	ip_csum_set(buf + f->l2);
	res->pkt = buf;
	res->len = (uint16_t)(f->l2 + IP_LEN + s->total);
	res->cap = (uint16_t)f->stride;
	slot_free(f, s);
	return RV_FRAG_DONE;
}

unsigned rv_frag_expire(struct rv_frag *f, uint64_t now_ms, unsigned budget,
                        struct rv_frag_train *gone)
{
	unsigned n = 0;

	for (; budget && f->live; budget--) {
		struct rv_frag_slot *s = &f->slot[f->cursor];

		f->cursor = (f->cursor + 1) & (f->nslots - 1);
		if (s->used && expired(f, s, now_ms)) {
			slot_drop(f, s, RV_FRAG_TIMEOUT, now_ms, gone ? &gone[n] : NULL);
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

unsigned rv_frag_count(size_t len, size_t l2_len, uint16_t mtu)
{
	uint32_t chunk = chunk_of(mtu);

	if (!chunk)
		return 0;
	if (len <= l2_len + mtu)
		return 1;
	return (unsigned)((len - l2_len - IP_LEN + chunk - 1) / chunk);
}

int rv_frag_split(const uint8_t *pkt, size_t len, size_t l2_len, uint16_t mtu, uint16_t id,
                  unsigned i, uint8_t *out, size_t cap)
{
	size_t hdr = l2_len + IP_LEN;
	uint32_t chunk = chunk_of(mtu), off, n;
	unsigned count = rv_frag_count(len, l2_len, mtu);
	uint8_t *ip = out + l2_len;

	if (len < hdr || len - l2_len > 0xffff || pkt[l2_len] != 0x45 ||
	    rv_get_u16(pkt + l2_len + 2) != len - l2_len || count < 2 || i >= count ||
	    (out == pkt && i != 0))
		return -EINVAL;
	off = i * chunk;
	n = (uint32_t)(len - hdr - off);
	if (n > chunk)
		n = chunk;
	if (hdr + n > cap)
		return -ENOSPC;
	if (out != pkt) {
		memcpy(out, pkt, hdr);
		memcpy(out + hdr, pkt + hdr + off, n);
	}
	rv_put_u16(ip + 2, (uint16_t)(IP_LEN + n));
	rv_put_u16(ip + 4, id);
	/* DF clear; MF on every piece but the last. */
	rv_put_u16(ip + 6, (uint16_t)(off / 8 | (i + 1 < count ? IP_MF : 0)));
	ip_csum_set(ip);
	return (int)(hdr + n);
}
