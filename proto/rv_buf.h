/* rv_buf.h — bounded read and write cursors with a sticky error.
 *
 * Every parser in the project reads untrusted bytes through struct rv_rd:
 * each read checks the bound, a failed read returns zeros and sets err once
 * (RV_ETRUNC); later reads keep failing, so a parser can do many reads and
 * check err once at the end. No packed structs are ever laid over input.
 * struct rv_wr is the mirror for encoders (RV_ENOSPC).
 *
 * All functions are static inline: they sit on the dataplane's fast path.
 * Context: pure (any thread, no shared state).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rv_err.h"

struct rv_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

struct rv_wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	int err;
};

static inline struct rv_rd rv_rd_make(const void *p, size_t len)
{
	struct rv_rd r = { .p = (const uint8_t *)p, .len = len, .off = 0, .err = 0 };
	return r;
}

static inline size_t rv_rd_left(const struct rv_rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* Pointer to the next n bytes and advance, or NULL (and err set). */
static inline const uint8_t *rv_rd_take(struct rv_rd *r, size_t n)
{
	const uint8_t *q;

	if (r->err || n > r->len - r->off) {
		r->err = r->err ? r->err : RV_ETRUNC;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static inline void rv_rd_skip(struct rv_rd *r, size_t n)
{
	(void)rv_rd_take(r, n);
}

static inline uint8_t rv_rd_u8(struct rv_rd *r)
{
	const uint8_t *q = rv_rd_take(r, 1);
	return q ? q[0] : 0;
}

static inline uint16_t rv_rd_u16(struct rv_rd *r)
{
	const uint8_t *q = rv_rd_take(r, 2);
	return q ? (uint16_t)(q[0] << 8 | q[1]) : 0;
}

static inline uint32_t rv_rd_u32(struct rv_rd *r)
{
	const uint8_t *q = rv_rd_take(r, 4);
	return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3] : 0;
}

static inline uint64_t rv_rd_u64(struct rv_rd *r)
{
	uint64_t hi = rv_rd_u32(r);
	return hi << 32 | rv_rd_u32(r);
}

/* Copy n bytes out; on failure dst is zero-filled. */
static inline void rv_rd_copy(struct rv_rd *r, void *dst, size_t n)
{
	const uint8_t *q = rv_rd_take(r, n);

	if (q)
		memcpy(dst, q, n);
	else
		memset(dst, 0, n);
}

static inline struct rv_wr rv_wr_make(void *p, size_t cap)
{
	struct rv_wr w = { .p = (uint8_t *)p, .cap = cap, .off = 0, .err = 0 };
	return w;
}

/* Pointer to the next n writable bytes and advance, or NULL (err set). */
static inline uint8_t *rv_wr_take(struct rv_wr *w, size_t n)
{
	uint8_t *q;

	if (w->err || n > w->cap - w->off) {
		w->err = w->err ? w->err : RV_ENOSPC;
		return NULL;
	}
	q = w->p + w->off;
	w->off += n;
	return q;
}

static inline void rv_wr_u8(struct rv_wr *w, uint8_t v)
{
	uint8_t *q = rv_wr_take(w, 1);
	if (q)
		q[0] = v;
}

static inline void rv_put_u16(uint8_t *q, uint16_t v)
{
	q[0] = (uint8_t)(v >> 8);
	q[1] = (uint8_t)v;
}

static inline void rv_put_u32(uint8_t *q, uint32_t v)
{
	q[0] = (uint8_t)(v >> 24);
	q[1] = (uint8_t)(v >> 16);
	q[2] = (uint8_t)(v >> 8);
	q[3] = (uint8_t)v;
}

static inline void rv_put_u64(uint8_t *q, uint64_t v)
{
	rv_put_u32(q, (uint32_t)(v >> 32));
	rv_put_u32(q + 4, (uint32_t)v);
}

static inline uint16_t rv_get_u16(const uint8_t *q)
{
	return (uint16_t)(q[0] << 8 | q[1]);
}

static inline uint32_t rv_get_u32(const uint8_t *q)
{
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

static inline uint64_t rv_get_u64(const uint8_t *q)
{
	return (uint64_t)rv_get_u32(q) << 32 | rv_get_u32(q + 4);
}

static inline void rv_wr_u16(struct rv_wr *w, uint16_t v)
{
	uint8_t *q = rv_wr_take(w, 2);
	if (q)
		rv_put_u16(q, v);
}

static inline void rv_wr_u32(struct rv_wr *w, uint32_t v)
{
	uint8_t *q = rv_wr_take(w, 4);
	if (q)
		rv_put_u32(q, v);
}

static inline void rv_wr_u64(struct rv_wr *w, uint64_t v)
{
	rv_wr_u32(w, (uint32_t)(v >> 32));
	rv_wr_u32(w, (uint32_t)v);
}

static inline void rv_wr_bytes(struct rv_wr *w, const void *src, size_t n)
{
	uint8_t *q = rv_wr_take(w, n);
	if (q && n)
		memcpy(q, src, n);
}

static inline void rv_wr_zero(struct rv_wr *w, size_t n)
{
	uint8_t *q = rv_wr_take(w, n);
	if (q && n)
		memset(q, 0, n);
}
