/* ipfrag.h — IPv4 fragments in and out (RFC 791), pure: a bounded
 * reassembly table and a fragmenter, shared by rvdp (dpdk-app/dp_frag.h adds
 * its counters) and the NAT lab's natbox (tests/natlab/nat_core.c logs each
 * outcome).
 *
 * In: each slot owns a buffer for one whole datagram (l2_len bytes of link
 * header + max_size bytes of IPv4): a piece is copied into place as it
 * arrives, so the caller keeps nothing (a fragment flood holds no buffers
 * of the caller's, and no memory beyond the table), and the datagram is
 * linear when its last piece lands. Trains are keyed by (source,
 * destination, protocol, IP ID) as RFC 791 says; 4-way buckets under a
 * keyed hash; a new train in a full bucket evicts the oldest. Each piece
 * gets exactly one outcome (enum rv_frag_why):
 *   - a protocol the table does not take (conf.protos): RV_FRAG_PROTO;
 *     not IPv4 without options, lengths that lie, empty, a middle piece not
 *     a multiple of 8 bytes (RFC 791), a "last" piece at offset 0 (no
 *     fragment at all): RV_FRAG_BAD;
 *   - wholly inside data held (a network duplicate): RV_FRAG_DUP, the piece
 *     alone; a partial overlap, or a piece disagreeing with the datagram's
 *     known end: RV_FRAG_OVERLAP and the whole train (RFC 5722's rule, as
 *     Linux applies it to IPv4 since FragmentSmack);
 *   - ending past max_size: RV_FRAG_TOO_BIG; more than max_frags pieces:
 *     RV_FRAG_TOO_MANY; both drop the train;
 *   - else RV_FRAG_KEPT (held, or it completed the datagram).
 * Trains die on their own too: not whole timeout_ms after their first
 * piece (RV_FRAG_TIMEOUT: by rv_frag_expire, or when their slot or key is
 * wanted), or evicted by a newer train (RV_FRAG_EVICTED); each such train
 * is reported once (struct rv_frag_train).
 *
 * Out: rv_frag_split cuts a datagram into fragments within an MTU: MF and
 * offsets, DF clear, one IP ID, each header checksummed; the transport
 * checksum, computed over the whole datagram before the cut, rides in the
 * first piece. IP options are not supported either way (honest shortcut:
 * neither rvdp nor the lab's hosts send them).
 *
 * No allocation (the caller provides rv_frag_size bytes), no I/O, time is a
 * parameter (tests/unit/proto/test_ipfrag.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most fragments one datagram is cut into (65000 bytes at a 576-byte MTU:
 * 118). */
#define RV_FRAG_MAX_OUT 128
/* Largest datagram reassembled (IPv4 allows 65535; the slack keeps a slot's
 * link header + datagram below 65535). */
#define RV_FRAG_MAX_SIZE 65000
/* Most link-header bytes kept in front of the datagram. */
#define RV_FRAG_MAX_L2 64

struct rv_frag_conf {
	uint32_t slots;      /* trains held at once: a power of two, >= 4 */
	uint32_t max_size;   /* largest IPv4 datagram reassembled: 576..RV_FRAG_MAX_SIZE */
	uint32_t max_frags;  /* most pieces per datagram: 2..255 */
	uint32_t timeout_ms; /* a train's life from its first piece: >= 1 */
	uint64_t seed;       /* hash key (random: sources are attacker-chosen) */
	uint16_t l2_len;     /* link header before the IP header (Ethernet: 14; 0 for bare IP) */
	uint8_t protos[4];   /* IP protocols reassembled (0 entries unused; at least one) */
};

struct rv_frag;

/* What became of a piece, or of a train that died without completing. */
enum rv_frag_why {
	RV_FRAG_KEPT = 0, /* piece held or completing (as a train's why: none) */
	RV_FRAG_PROTO,    /* piece: a protocol not in conf.protos */
	RV_FRAG_BAD,      /* piece: malformed (see above) */
	RV_FRAG_DUP,      /* piece: wholly inside data held; its train lives */
	RV_FRAG_OVERLAP,  /* piece and its train */
	RV_FRAG_TOO_BIG,  /* piece and its train: past max_size */
	RV_FRAG_TOO_MANY, /* piece and its train: past max_frags */
	RV_FRAG_TIMEOUT,  /* train: not whole timeout_ms after its first piece */
	RV_FRAG_EVICTED,  /* train: its slot went to a newer train */
	RV_FRAG_WHY_COUNT
};

/* "kept", "proto", "bad", "dup", "overlap", "too_big", "too_many",
 * "timeout", "evicted"; "?" otherwise.  Context: pure. */
const char *rv_frag_why_str(enum rv_frag_why w);

/* A train let go without completing (timeout or eviction), as the caller
 * may want to log it. */
struct rv_frag_train {
	uint8_t why; /* enum rv_frag_why; RV_FRAG_KEPT (0): no train */
	uint8_t proto;
	uint8_t nfrags;    /* pieces it held */
	bool has_head;     /* it held the first 8 bytes of the payload: head */
	uint32_t src, dst; /* host order */
	uint16_t id;
	uint16_t got;    /* payload bytes it held */
	uint32_t age_ms; /* since its first piece */
	uint8_t head[8]; /* the transport header's start (ports for UDP) */
};

enum rv_frag_verdict {
	RV_FRAG_HELD = 0, /* kept, waiting for the rest */
	RV_FRAG_DROPPED,  /* refused: res->why says why */
	RV_FRAG_DONE,     /* the datagram is complete: res->pkt */
};

/* What rv_frag_input did. On RV_FRAG_DONE pkt[0..len) is the whole
 * datagram behind the first piece's l2_len bytes of link header (the first
 * piece's IP header, total length set, fragment bits, DF included, cleared,
 * checksum redone), in the table's own buffer, writable up to cap bytes
 * (an answer can be built in place); valid until the next rv_frag_input
 * on the table. */
struct rv_frag_res {
	uint8_t why;               /* enum rv_frag_why: the piece's outcome */
	bool train_dropped;        /* the piece's own train went with it */
	struct rv_frag_train gone; /* another train let go by this call (why 0: none) */
	uint8_t *pkt;
	uint16_t len, cap;
};

/* Bytes a struct rv_frag needs for conf, 0 when conf is out of bounds (the
 * caller allocates: rte_zmalloc on the lcore's socket in rvdp, calloc
 * elsewhere; about slots x (l2_len + max_size + 200) bytes).
 * Context: pure. */
size_t rv_frag_size(const struct rv_frag_conf *conf);

/* Initialise f (rv_frag_size bytes) for conf. Returns 0 or -EINVAL (a bound
 * above not met).  Context: any, before use. */
int rv_frag_init(struct rv_frag *f, const struct rv_frag_conf *conf);

/* Take one fragment: pkt[0..len) is conf.l2_len bytes of link header (not
 * looked at) then an IPv4 packet with MF set or a non-zero offset (link
 * padding past its total length is ignored). The bytes are copied; pkt is
 * not kept. now_ms is any monotonic clock. Fills *res (always).
 * Context: the table's one owner (no locking inside).  Pure. */
enum rv_frag_verdict rv_frag_input(struct rv_frag *f, const uint8_t *pkt, size_t len,
                                   uint64_t now_ms, struct rv_frag_res *res);

/* Drop the trains older than the timeout among the next `budget` slots (a
 * cursor walks the table, so a budget per poll loop sweeps it all, and
 * budget = slots sweeps it at once). Returns the trains dropped; each is
 * described in gone[] when gone is not NULL (room for budget entries).
 * Context: the table's one owner.  Pure. */
unsigned rv_frag_expire(struct rv_frag *f, uint64_t now_ms, unsigned budget,
                        struct rv_frag_train *gone);

/* Trains currently held (0: rv_frag_expire has nothing to do).
 * Context: the table's one owner. */
unsigned rv_frag_live(const struct rv_frag *f);

/* How many packets a datagram of len bytes (l2_len of them link header)
 * takes under mtu (the largest IP packet): 1 when it fits, else the number
 * of fragments; 0 when mtu is below 28 (no room for 8 bytes).
 * Context: pure. */
unsigned rv_frag_count(size_t len, size_t l2_len, uint16_t mtu);

/* Write fragment i (0 <= i < rv_frag_count > 1) of pkt[0..len) — l2_len
 * bytes of link header, copied into every piece, then IPv4 without options
 * — into out (room cap), with IP ID id. out may be pkt itself for i == 0
 * only (the first piece is a prefix: cut in place, after the others were
 * copied out). Returns the piece's length (link header included), -EINVAL
 * (not IPv4 without options, its total length not len - l2_len, bad i or
 * mtu) or -ENOSPC.  Context: pure. */
int rv_frag_split(const uint8_t *pkt, size_t len, size_t l2_len, uint16_t mtu, uint16_t id,
                  unsigned i, uint8_t *out, size_t cap);
