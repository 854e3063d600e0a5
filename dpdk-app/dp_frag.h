/* dp_frag.h — IPv4 fragments in and out, below the mbuf boundary.
 *
 * RFC 5780 §7.6 PADDING exists to make Binding requests and answers
 * fragment (turnutils_natdiscovery -P pads 1500 bytes): the request arrives
 * in pieces, and the mirrored answer must leave in pieces.
 *
 * In: a reassembly table per lcore, never shared. Each slot owns a buffer
 * for one whole frame (Ethernet + max_size bytes of IPv4): a fragment is
 * copied into place as it arrives, so the caller frees its mbuf at once (a
 * fragment flood holds no mbufs, and no memory beyond the table), and the
 * datagram is linear when its last piece lands (dp_pkt_handle_reassembled
 * reads it like any frame). Trains are keyed by (source, destination, IP
 * ID), UDP only; 4-way buckets under a keyed hash; a new train in a full
 * bucket evicts the oldest. Hostile trains, each with its counter:
 *   - not UDP: drop_frag_proto; empty, or a middle piece not a multiple of
 *     8 bytes (RFC 791): drop_frag_bad;
 *   - wholly inside data held (a network duplicate): drop_frag_dup, the
 *     piece alone; a partial overlap, or a piece disagreeing with the
 *     datagram's known end: drop_frag_overlap and the whole train (RFC
 *     5722's rule, as Linux applies it to IPv4 since FragmentSmack);
 *   - ending past max_size: drop_frag_too_big; more than max_frags pieces:
 *     drop_frag_too_many; both drop the train;
 *   - not whole timeout_ms after its first piece: drop_frag_timeout (per
 *     train, by dp_frag_expire or when its slot is wanted); evicted by a
 *     newer train: drop_frag_evicted (per train).
 * Other pieces count rx_frag; a completed datagram also rx_reassembled,
 * then its own outcome in dp_pkt.
 *
 * Out: dp_frag_split cuts an answer frame into fragments within the MTU:
 * MF and offsets, DF clear, one IP ID, each header checksummed; the UDP
 * checksum, computed over the whole datagram before the cut, rides in the
 * first piece.
 *
 * Pure: no DPDK, no allocation (the caller provides dp_frag_size bytes),
 * time is a parameter (tests/unit/dpdk-app/test_frag.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpdk-app/dp_pkt.h"

/* Most fragments one answer is cut into (65000-byte answer, 576-byte MTU:
 * 118). */
#define DP_FRAG_MAX_OUT 128

struct dp_frag_conf {
	uint32_t slots;      /* trains held at once: a power of two, >= 4 */
	uint32_t max_size;   /* largest IPv4 datagram reassembled: 576..65000 */
	uint32_t max_frags;  /* most pieces per datagram: 2..255 */
	uint32_t timeout_ms; /* a train's life from its first piece: >= 1 */
	uint64_t seed;       /* hash key (random: sources are attacker-chosen) */
};

struct dp_frag;

/* Bytes a struct dp_frag needs for conf (the caller allocates: rte_zmalloc
 * on the lcore's socket in rvdp, calloc in tests; slots x (max_size + ~200)
 * bytes).  Context: any. */
size_t dp_frag_size(const struct dp_frag_conf *conf);

/* Initialise f (dp_frag_size bytes) for conf. Returns 0 or -EINVAL (a bound
 * above not met).  Context: any, before use. */
int dp_frag_init(struct dp_frag *f, const struct dp_frag_conf *conf);

enum dp_frag_verdict {
	DP_FRAG_HELD = 0, /* kept, waiting for the rest: the caller frees the frame */
	DP_FRAG_DROPPED,  /* refused (counted): the caller frees the frame */
	DP_FRAG_DONE,     /* the datagram is complete: see struct dp_frag_done */
};

/* A completed datagram: a whole Ethernet/IPv4 frame (the first piece's
 * Ethernet and IP headers, total length set, fragment bits and checksum
 * redone) in the table's own buffer, writable up to cap bytes so the answer
 * can be built in place. Valid until the next dp_frag_input on the table. */
struct dp_frag_done {
	uint8_t *frame;
	uint16_t len;
	uint16_t cap;
};

/* Take one fragment: frame[0..len) is an Ethernet/IPv4 frame for which
 * dp_pkt_handle returned DP_FRAG (header valid, no options, for us). The
 * bytes are copied; frame is not kept. now_ms is any monotonic clock.
 * Counts exactly one per-frame counter in ctr (rx_frag or a drop_frag_*),
 * plus per-train ones (rx_reassembled, drop_frag_timeout/evicted).
 * Context: lcore (its own table).  Pure. */
enum dp_frag_verdict dp_frag_input(struct dp_frag *f, const uint8_t *frame, uint16_t len,
                                   uint64_t now_ms, uint64_t *ctr, struct dp_frag_done *done);

/* Drop the trains older than the timeout among the next `budget` slots (a
 * cursor walks the table, so calling it once per poll loop sweeps it all);
 * counts drop_frag_timeout per train. Returns the trains dropped.
 * Context: lcore (its own table).  Pure. */
unsigned dp_frag_expire(struct dp_frag *f, uint64_t now_ms, unsigned budget, uint64_t *ctr);

/* Trains currently held (0: dp_frag_expire has nothing to do).
 * Context: lcore (its own table). */
unsigned dp_frag_live(const struct dp_frag *f);

/* How many frames an Ethernet/IPv4 frame of len bytes takes under mtu (the
 * largest IP packet): 1 when it fits, else the number of fragments; 0 when
 * mtu is below 28.  Context: pure. */
unsigned dp_frag_count(uint16_t len, uint16_t mtu);

/* Write fragment i (0 <= i < dp_frag_count > 1) of frame[0..len), an
 * Ethernet/IPv4 frame without options, into out (room cap), with IP ID id.
 * out may be frame itself for i == 0 only (the first piece is a prefix:
 * cut in place, after the others were copied out). Returns the fragment's
 * frame length, -EINVAL (not IPv4 without options, bad i or mtu) or
 * -ENOSPC.  Context: pure. */
int dp_frag_split(const uint8_t *frame, uint16_t len, uint16_t mtu, uint16_t id, unsigned i,
                  uint8_t *out, size_t cap);
