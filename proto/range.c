#include <errno.h>
#include <string.h>

#include "range.h"
#include "rv_err.h"

static int32_t iabs32(int32_t v)
{
	return v < 0 ? -v : v;
}

int rv_range_detect(const struct rv_range_in *in, struct rv_range *out)
{
	int64_t size = rv_port_space_size(&in->ps), a = iabs32(in->delta);
	int64_t sign = in->delta < 0 ? -1 : 1, fwd, lo_off, hi_off, full;
	int32_t d;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!size || in->delta == 0 || in->cap == 0)
		return -EINVAL;
	if (2 * a >= size)
		return RV_ERANGE;
	if ((rc = rv_port_dist(&in->ps, in->before, in->after, &d)))
		return rc;
	/* How far after is ahead of before, counted the way the NAT
	 * allocates. Behind and "more than half round" look the same in a
	 * wrapping space; both mean the probes do not bracket one bubble. */
	fwd = d * sign;
	if (fwd < 0 || 2 * (int64_t)iabs32(d) >= size)
		return RV_EINCONSISTENT;
	lo_off = in->before_shared ? 0 : a;
	hi_off = in->after_shared ? fwd : fwd - a;
	if (hi_off < lo_off)
		return RV_EINCONSISTENT;
	full = (hi_off - lo_off) / a + 1;

	out->ps = in->ps;
	out->step = in->delta;
	out->count = (uint32_t)(full > in->cap ? in->cap : full);
	out->clamped = full > in->cap;
	out->misaligned = fwd % a != 0;
	out->first = (uint16_t)rv_port_add(&in->ps, in->before, (int32_t)(sign * lo_off));
	out->last = (uint16_t)rv_port_add(&in->ps, out->first,
	                                  (int32_t)((int64_t)(out->count - 1) * in->delta));
	return 0;
}

/* A range that did not come from rv_range_detect (zeroed, step 0) would
 * divide by zero below; refuse it instead. */
static bool range_ok(const struct rv_range *r)
{
	return r->step != 0 && r->count >= 1 && rv_port_space_size(&r->ps) != 0;
}

int rv_range_at(const struct rv_range *r, uint32_t i)
{
	int64_t size = rv_port_space_size(&r->ps);

	if (!range_ok(r))
		return -EINVAL;
	if (i >= r->count)
		return RV_ERANGE;
	return rv_port_add(&r->ps, r->first, (int32_t)((int64_t)i * r->step % size));
}

int rv_range_list(const struct rv_range *r, uint32_t from, uint16_t *out, size_t cap)
{
	size_t n;

	if (!range_ok(r))
		return -EINVAL;
	if (from > r->count)
		return RV_ERANGE;
	n = r->count - from < cap ? r->count - from : cap;
	for (size_t j = 0; j < n; j++)
		out[j] = (uint16_t)rv_range_at(r, from + (uint32_t)j);
	return (int)n;
}

int rv_range_index(const struct rv_range *r, uint16_t port)
{
	int64_t a = iabs32(r->step), f;
	int32_t d;

	if (!range_ok(r))
		return -EINVAL;
	/* A detected range spans less than half the space, so the shorter
	 * way from first is the allocation way for every port inside it. */
	if (rv_port_dist(&r->ps, r->first, port, &d))
		return RV_ERANGE;
	f = r->step < 0 ? -(int64_t)d : d;
	if (f < 0 || f % a || f / a >= r->count)
		return RV_ERANGE;
	return (int)(f / a);
}

bool rv_range_contains(const struct rv_range *r, uint16_t port)
{
	return rv_range_index(r, port) >= 0;
}
