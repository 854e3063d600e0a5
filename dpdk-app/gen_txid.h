/* gen_txid.h — which template a keyed answer belongs to.
 *
 * A keyed frame (gen_pkt.h: its transaction ID is authenticated, so rvgen
 * cannot stamp it) is timed by its ID: the map finds the template from the
 * 12-byte ID the answer echoes, and the sender keeps each template's last
 * send time. Open addressing, built once before the run, read-only after:
 * a lookup is a hash and a probe or two, no allocation.
 *
 * Honest limit: a template sent again before its previous answer came back
 * is timed from the later send. The scenarios carry far more keyed frames
 * than are ever in flight (README).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dpdk-app/gen_pkt.h"

struct gen_txid_slot {
	uint8_t id[GEN_TXID_LEN];
	uint32_t idx1; /* template index + 1; 0 = empty */
};

struct gen_txid_map {
	struct gen_txid_slot *slots;
	uint32_t mask;
	uint32_t n;
};

/* Room for up to cap IDs (at most 2^30). Returns 0, -EINVAL or -ENOMEM.
 * Context: any (allocates). */
int gen_txid_map_init(struct gen_txid_map *m, uint32_t cap);

/* Release the map; safe on a zeroed one.  Context: any. */
void gen_txid_map_free(struct gen_txid_map *m);

/* Add id -> idx. Returns 0, -EEXIST (the ID is there already: the first
 * template keeps it) or -ENOSPC (cap reached).  Context: pure. */
int gen_txid_map_add(struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN], uint32_t idx);

/* Where id's probe starts: prefetch &m->slots[slot] for a burst of
 * answers, then look each up with gen_txid_map_find_at.  Context: pure. */
uint32_t gen_txid_map_slot(const struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN]);

/* The template index for id (its probe starting at slot), or -1.
 * Context: pure (read-only map). */
int64_t gen_txid_map_find_at(const struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN],
                             uint32_t slot);

/* The template index for id, or -1.  Context: pure (read-only map). */
int64_t gen_txid_map_find(const struct gen_txid_map *m, const uint8_t id[GEN_TXID_LEN]);
