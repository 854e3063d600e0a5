/* dp_slab.c — fixed-size objects on transparent huge pages. See dp_slab.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "dpdk-app/dp_slab.h"

static size_t huge_round(size_t bytes)
{
	return (bytes + DP_HUGE_PAGE - 1) & ~(DP_HUGE_PAGE - 1);
}

void *dp_huge_alloc(size_t bytes)
{
	size_t len, lead;
	uint8_t *raw, *p;

	if (!bytes || bytes > SIZE_MAX / 2) {
		errno = EINVAL;
		return NULL;
	}
	len = huge_round(bytes);
	/* Over-map by a page so an aligned range fits, then trim both ends. */
	raw = mmap(NULL, len + DP_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	           -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	lead = (DP_HUGE_PAGE - (uintptr_t)raw % DP_HUGE_PAGE) % DP_HUGE_PAGE;
	p = raw + lead;
	if (lead)
		munmap(raw, lead);
	if (DP_HUGE_PAGE - lead)
		munmap(p + len, DP_HUGE_PAGE - lead);
	/* Advice only: a kernel without THP maps plain pages, same memory. */
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

void dp_huge_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, huge_round(bytes));
}

/* A chunk starts with the link to the previous one, in a header of its own
 * alignment unit so objects keep theirs. */
struct dp_chunk {
	struct dp_chunk *prev;
};

struct dp_free {
	struct dp_free *next;
};

struct dp_slab {
	pthread_mutex_t mu;
	size_t size, header;  /* object stride; bytes before the first object */
	struct dp_chunk *top; /* newest chunk: objects are cut from it */
	size_t cut;           /* bytes of top handed out or skipped */
	struct dp_free *free; /* returned objects */
	_Atomic size_t mapped;
};

struct dp_slab *dp_slab_create(size_t size, size_t align)
{
	struct dp_slab *s;

	if (!align || (align & (align - 1)) || align > 4096 || !size || size > DP_HUGE_PAGE / 2) {
		errno = EINVAL;
		return NULL;
	}
	if (size < sizeof(struct dp_free))
		size = sizeof(struct dp_free);
	if (align < _Alignof(struct dp_free))
		align = _Alignof(struct dp_free);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->size = (size + align - 1) & ~(align - 1);
	s->header = (sizeof(struct dp_chunk) + align - 1) & ~(align - 1);
	s->cut = DP_HUGE_PAGE; /* no chunk yet: the first alloc maps one */
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void *dp_slab_alloc(struct dp_slab *s)
{
	void *p = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->free) {
		p = s->free;
		s->free = s->free->next;
	} else {
		if (s->cut + s->size > DP_HUGE_PAGE) {
			struct dp_chunk *c = dp_huge_alloc(DP_HUGE_PAGE);

			if (!c)
				goto out;
			c->prev = s->top;
			s->top = c;
			s->cut = s->header;
			atomic_fetch_add_explicit(&s->mapped, DP_HUGE_PAGE, memory_order_relaxed);
		}
		p = (uint8_t *)s->top + s->cut;
		s->cut += s->size;
	}
out:
	pthread_mutex_unlock(&s->mu);
	return p;
}

void dp_slab_free(struct dp_slab *s, void *p)
{
	struct dp_free *f = p;

	if (!p)
		return;
	pthread_mutex_lock(&s->mu);
	f->next = s->free;
	s->free = f;
	pthread_mutex_unlock(&s->mu);
}

void dp_slab_walk(struct dp_slab *s, void (*fn)(void *obj, void *arg), void *arg)
{
	size_t limit;

	pthread_mutex_lock(&s->mu);
	limit = s->cut;
	for (struct dp_chunk *c = s->top; c; c = c->prev, limit = DP_HUGE_PAGE)
		for (size_t off = s->header; off + s->size <= limit; off += s->size)
			fn((uint8_t *)c + off, arg);
	pthread_mutex_unlock(&s->mu);
}

size_t dp_slab_mapped(struct dp_slab *s)
{
	return atomic_load_explicit(&s->mapped, memory_order_relaxed);
}

void dp_slab_destroy(struct dp_slab *s)
{
	if (!s)
		return;
	while (s->top) {
		struct dp_chunk *prev = s->top->prev;

		dp_huge_free(s->top, DP_HUGE_PAGE);
		s->top = prev;
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}
