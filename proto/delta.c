#include <errno.h>
#include <string.h>

#include "delta.h"
#include "rv_err.h"

int rv_port_space_check(const struct rv_port_space *ps)
{
	return ps->lo >= 1 && ps->lo <= ps->hi ? 0 : -EINVAL;
}

uint32_t rv_port_space_size(const struct rv_port_space *ps)
{
	return rv_port_space_check(ps) ? 0 : (uint32_t)ps->hi - ps->lo + 1;
}

bool rv_port_space_contains(const struct rv_port_space *ps, uint16_t port)
{
	return rv_port_space_check(ps) == 0 && port >= ps->lo && port <= ps->hi;
}

int rv_port_add(const struct rv_port_space *ps, uint16_t port, int32_t k)
{
	int64_t size = rv_port_space_size(ps), r;

	if (!size)
		return -EINVAL;
	if (!rv_port_space_contains(ps, port))
		return RV_ERANGE;
	r = ((int64_t)(port - ps->lo) + k % size + size) % size;
	return (int)(ps->lo + r);
}

int rv_port_dist(const struct rv_port_space *ps, uint16_t from, uint16_t to, int32_t *dist)
{
	int64_t size = rv_port_space_size(ps), d;

	if (!size)
		return -EINVAL;
	if (!rv_port_space_contains(ps, from) || !rv_port_space_contains(ps, to))
		return RV_ERANGE;
	d = ((int64_t)to - from + size) % size;
	/* The shorter way; a tie (2d == size) stays positive. */
	*dist = (int32_t)(2 * d > size ? d - size : d);
	return 0;
}

/* The ports come either as a plain array or as a field of an array of
 * structs (rv_alloc_classify), so one strided reader serves both and the
 * detection exists once. */
struct port_run {
	const unsigned char *base;
	size_t stride;
	size_t n;
};

static uint16_t run_port(const struct port_run *run, size_t i)
{
	uint16_t p;

	memcpy(&p, run->base + i * run->stride, sizeof(p));
	return p;
}

/* Gap i (between port i and port i + 1). */
static int run_gap(const struct rv_port_space *ps, const struct port_run *run, size_t i,
                   int32_t *gap)
{
	return rv_port_dist(ps, run_port(run, i), run_port(run, i + 1), gap);
}

static int32_t iabs32(int32_t v)
{
	return v < 0 ? -v : v;
}

static int delta_detect_run(const struct rv_port_space *ps, const struct port_run *run,
                            struct rv_delta *out)
{
	uint32_t up = 0, down = 0, zeros = 0, used, mult = 0;
	int32_t sign, smallest = INT32_MAX, d, g;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rv_port_space_check(ps)))
		return rc;
	if (run->n < 2)
		return RV_ENODATA;
	for (size_t i = 0; i + 1 < run->n; i++) {
		if ((rc = run_gap(ps, run, i, &g)))
			return rc;
		up += g > 0;
		down += g < 0;
		zeros += g == 0;
	}
	if (up + down == 0)
		return RV_ENODATA;
	if (up == down)
		return RV_EINCONSISTENT;
	sign = up > down ? 1 : -1;
	used = up > down ? up : down;

	for (size_t i = 0; i + 1 < run->n; i++) {
		run_gap(ps, run, i, &g);
		if (g * sign > 0 && iabs32(g) < smallest)
			smallest = iabs32(g);
	}
	/* Largest divisor of the smallest gap that 75% of the gaps share;
	 * d = 1 always qualifies, so the loop ends with an answer. */
	for (d = smallest; d > 1; d--) {
		if (smallest % d)
			continue;
		mult = 0;
		for (size_t i = 0; i + 1 < run->n; i++) {
			run_gap(ps, run, i, &g);
			mult += g * sign > 0 && g % d == 0;
		}
		if (4 * mult >= 3 * used)
			break;
	}
	if (d == 1)
		mult = used;

	out->smallest = sign * smallest;
	out->gcd = sign * d;
	out->used = used;
	out->zeros = zeros;
	out->outliers = up > down ? down : up;
	out->off_gcd = used - mult;
	return 0;
}

int rv_delta_detect(const struct rv_port_space *ps, const uint16_t *ports, size_t n,
                    struct rv_delta *out)
{
	struct port_run run = { (const unsigned char *)ports, sizeof(*ports), n };

	return delta_detect_run(ps, &run, out);
}

int rv_delta_divisors(int32_t delta, int32_t *out, size_t cap)
{
	int32_t a = iabs32(delta), sign = delta < 0 ? -1 : 1;
	size_t count = 0;

	if (delta == 0)
		return -EINVAL;
	if (a > 65535)
		return RV_ERANGE;
	for (int32_t d = a; d >= 1; d--) {
		if (a % d)
			continue;
		if (count == cap)
			return RV_ENOSPC;
		out[count++] = sign * d;
	}
	return (int)count;
}

int rv_alloc_classify(const struct rv_port_space *ps, const struct rv_port_pair *pairs, size_t n,
                      uint32_t elapsed_ms, uint32_t max_steps, struct rv_alloc_result *out)
{
	struct port_run run = { (const unsigned char *)&pairs->mapped, sizeof(*pairs), n };
	struct rv_delta dl;
	bool preserved = true;
	uint64_t cap, bg = 0;
	int32_t g;
	int rc;

	memset(out, 0, sizeof(*out));
	out->alloc = RV_ALLOC_UNKNOWN;
	if ((rc = rv_port_space_check(ps)))
		return rc;
	if (n < 2)
		return RV_ENODATA;
	for (size_t i = 0; i < n; i++) {
		if (!rv_port_space_contains(ps, pairs[i].mapped))
			return RV_ERANGE;
		preserved = preserved && pairs[i].mapped == pairs[i].local;
	}
	if (preserved) {
		out->alloc = RV_ALLOC_PRESERVING;
		return 0;
	}
	if (n < 3)
		return RV_ENODATA;

	out->alloc = RV_ALLOC_RANDOM;
	rc = delta_detect_run(ps, &run, &dl);
	/* No direction, or the same port for every fresh socket: no pattern. */
	if (rc == RV_EINCONSISTENT || rc == RV_ENODATA)
		return 0;
	if (rc)
		return rc;
	if (dl.zeros || dl.outliers || dl.off_gcd)
		return 0;
	cap = (uint64_t)(max_steps ? max_steps : RV_ALLOC_MAX_STEPS_DEFAULT) * iabs32(dl.gcd);
	for (size_t i = 0; i + 1 < n; i++) {
		run_gap(ps, &run, i, &g);
		if ((uint64_t)iabs32(g) > cap)
			return 0;
		bg += (uint64_t)(iabs32(g) / iabs32(dl.gcd) - 1);
	}
	out->alloc = RV_ALLOC_SEQUENTIAL;
	out->delta = dl.gcd;
	out->background = (uint32_t)bg;
	out->per_second = elapsed_ms ? (double)bg * 1000.0 / elapsed_ms : 0.0;
	return 0;
}
