#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nat_alloc.h"

int nat_alloc_init(struct nat_alloc *a, enum rv_alloc mode, int32_t delta, uint16_t lo, uint16_t hi,
                   uint16_t start)
{
	if (mode <= RV_ALLOC_UNKNOWN || mode >= RV_ALLOC_COUNT || delta == 0 || lo == 0 ||
	    lo > hi || start < lo || start > hi)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->delta = delta;
	a->lo = lo;
	a->hi = hi;
	a->cursor = start;
	return 0;
}

bool nat_alloc_busy(const struct nat_alloc *a, uint16_t port)
{
	return a->used[port >> 3] & (1u << (port & 7));
}

static void mark(struct nat_alloc *a, uint16_t port)
{
	a->used[port >> 3] |= (uint8_t)(1u << (port & 7));
	a->in_use++;
}

void nat_alloc_put(struct nat_alloc *a, uint16_t port)
{
	if (!nat_alloc_busy(a, port))
		return;
	a->used[port >> 3] &= (uint8_t) ~(1u << (port & 7));
	a->in_use--;
}

uint16_t nat_alloc_step(const struct nat_alloc *a, uint16_t p, int64_t k)
{
	int64_t n = (int64_t)a->hi - a->lo + 1;
	int64_t off = ((int64_t)p - a->lo + k % n) % n;

	if (off < 0)
		off += n;
	return (uint16_t)(a->lo + off);
}

static int64_t gcd(int64_t x, int64_t y)
{
	while (y) {
		int64_t t = x % y;
		x = y;
		y = t;
	}
	return x;
}

/* The first free port from p on in steps of k (at most count steps). */
static int scan(const struct nat_alloc *a, uint16_t p, int64_t k, int64_t count)
{
	for (int64_t i = 0; i < count; i++, p = nat_alloc_step(a, p, k))
		if (!nat_alloc_busy(a, p))
			return p;
	return -EADDRNOTAVAIL;
}

static int sequential(struct nat_alloc *a)
{
	int64_t n = (int64_t)a->hi - a->lo + 1;
	int64_t cycle = n / gcd(n, llabs((int64_t)a->delta) % n ? llabs((int64_t)a->delta) % n : n);
	int p = scan(a, a->cursor, a->delta, cycle);

	/* Delta's cycle does not reach every port when gcd(n, delta) > 1. */
	if (p < 0)
		p = scan(a, a->cursor, 1, n);
	if (p > 0)
		a->cursor = nat_alloc_step(a, (uint16_t)p, a->delta);
	return p;
}

static int random_port(struct nat_alloc *a, struct nat_rng *rng)
{
	uint32_t n = (uint32_t)a->hi - a->lo + 1;
	uint16_t p = a->lo;

	for (int i = 0; i < 32; i++) {
		p = (uint16_t)(a->lo + rng->next(rng->ctx) % n);
		if (!nat_alloc_busy(a, p))
			return p;
	}
	return scan(a, p, 1, n); /* nearly full: the first free after a draw */
}

int nat_alloc_get(struct nat_alloc *a, uint16_t want, struct nat_rng *rng)
{
	int p;

	if (a->in_use >= (uint32_t)a->hi - a->lo + 1)
		return -EADDRNOTAVAIL;
	switch (a->mode) {
	case RV_ALLOC_PRESERVING:
		if (want >= a->lo && want <= a->hi && !nat_alloc_busy(a, want)) {
			p = want;
			break;
		}
		p = sequential(a);
		break;
	case RV_ALLOC_RANDOM:
		p = random_port(a, rng);
		break;
	default:
		p = sequential(a);
		break;
	}
	if (p > 0)
		mark(a, (uint16_t)p);
	return p;
}

double nat_poisson_gap_ms(double lambda, struct nat_rng *rng)
{
	/* u in (0, 1]: never log(0). */
	double u = ((double)rng->next(rng->ctx) + 1.0) / 4294967296.0;

	return -log(u) * 1000.0 / lambda;
}
