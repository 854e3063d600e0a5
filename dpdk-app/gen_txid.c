/* gen_txid.c — transaction ID -> template index (gen_txid.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_txid.h"

static uint32_t hash(const uint8_t id[GEN_TXID_LEN])
{
	uint64_t a, x;
	uint32_t b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 4);
	/* splitmix64's finalizer over both halves. */
	x = a ^ ((uint64_t)b << 32 | b);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(x ^ (x >> 31));
}

int gen_txid_map_init(struct gen_txid_map *m, uint32_t cap)
{
	uint32_t size = 16;

	memset(m, 0, sizeof(*m));
	if (cap > (1u << 30))
		return -EINVAL;
	while (size < 2ull * cap) /* at most half full: short probes */
		size <<= 1;
	m->slots = calloc(size, sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->mask = size - 1;
	return 0;
}

void gen_txid_map_free(struct gen_txid_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

int gen_txid_map_add(struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN], uint32_t idx)
{
	uint32_t i = hash(id) & m->mask;

	if (!m->slots || m->n >= (m->mask + 1) / 2)
		return -ENOSPC;
	for (;; i = (i + 1) & m->mask) {
		struct gen_txid_slot *s = &m->slots[i];

		if (!s->idx1) {
			memcpy(s->id, id, GEN_TXID_LEN);
			s->idx1 = idx + 1;
			m->n++;
			return 0;
		}
		if (!memcmp(s->id, id, GEN_TXID_LEN))
			return -EEXIST;
	}
}

uint32_t gen_txid_map_slot(const struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN])
{
	return hash(id) & m->mask;
}

int64_t gen_txid_map_find(const struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN])
{
	return gen_txid_map_find_at(m, id, gen_txid_map_slot(m, id));
}

int64_t gen_txid_map_find_at(const struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN],
                             uint32_t slot)
{
	if (!m->n)
		return -1;
	for (uint32_t i = slot & m->mask;; i = (i + 1) & m->mask) {
		const struct gen_txid_slot *s = &m->slots[i];

		if (!s->idx1)
			return -1;
		if (!memcmp(s->id, id, GEN_TXID_LEN))
			return (int64_t)s->idx1 - 1;
	}
}
