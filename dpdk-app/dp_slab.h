/* dp_slab.h — fixed-size objects on transparent huge pages, for the tables'
 * nodes and indexes.
 *
 * With millions of sessions every probe touches a node nobody touched for a
 * while: on 4 KB pages that is a TLB miss (a page walk, itself missing the
 * cache) on top of the data miss, and the burst prefetch cannot hide a walk
 * the way it hides a line. rvdp runs without hugetlbfs (`--no-huge` works
 * everywhere), so the tables' memory asks for transparent huge pages
 * instead: 2 MB-aligned chunks mapped anonymously and advised
 * MADV_HUGEPAGE (honoured when /sys/kernel/mm/transparent_hugepage/enabled
 * is "always" or "madvise", the Debian default; elsewhere plain pages, same
 * behaviour).
 *
 * A slab hands out objects of one size from such chunks, keeps freed ones
 * for reuse and returns memory to the system only when destroyed (a table's
 * high-water mark stays mapped). Allocation and free take a mutex: they run
 * on rvdp's control thread and liburcu's call_rcu thread, never on an
 * lcore's fast path.
 */
#pragma once

#include <stddef.h>

/* Bytes and alignment of a huge page, the chunk unit. */
#define DP_HUGE_PAGE ((size_t)2 << 20)

/* bytes of zeroed memory aligned to DP_HUGE_PAGE, advised onto huge pages
 * (rounded up to a whole number of them). NULL and errno on failure.
 * Context: control thread. */
void *dp_huge_alloc(size_t bytes);

/* Give back what dp_huge_alloc(bytes) returned (NULL: nothing).
 * Context: any. */
void dp_huge_free(void *p, size_t bytes);

struct dp_slab;

/* A slab of objects of size bytes, each aligned to align (a power of two up
 * to 4096; size is rounded up to it). NULL and errno on failure.
 * Context: control thread. */
struct dp_slab *dp_slab_create(size_t size, size_t align);

/* An object (uninitialised), or NULL when memory is exhausted.
 * Context: any thread but an lcore's fast path (takes a mutex). */
void *dp_slab_alloc(struct dp_slab *s);

/* Return p (from dp_slab_alloc on s) for reuse.  Context: as alloc. */
void dp_slab_free(struct dp_slab *s, void *p);

/* Call fn(obj, arg) for every object s ever handed out, in memory order,
 * live or returned: the caller tells its live ones by a mark of its own (a
 * returned object keeps its bytes but the first pointer's worth). A
 * sequential sweep, so far faster than a pointer chase over the same
 * objects. Holds the slab's mutex throughout: fn must not call the slab.
 * Context: the thread that allocates (so nothing is cut meanwhile). */
void dp_slab_walk(struct dp_slab *s, void (*fn)(void *obj, void *arg), void *arg);

/* Bytes the slab has mapped (its chunks), for sizing reports.
 * Context: any. */
size_t dp_slab_mapped(struct dp_slab *s);

/* Unmap every chunk and free s; every object is gone. Call only when no
 * thread can still use one (after urcu_qsbr_barrier() for RCU tables).
 * Context: control thread. */
void dp_slab_destroy(struct dp_slab *s);
