/* dp_relay.h — relays on rvdp's fast path (proto/WIRE.md, "Relaying").
 *
 * Two liburcu QSBR hash tables (cds_lfht), used like the sessions table
 * (dp_table.h):
 *   - relays, by relay ID: the grant (probe key, channel, quota: one
 *     immutable block, replaced whole by RCU when RELAY_SET comes again),
 *     the bind rate bucket, and per side (0 caller, 1 callee) the bound
 *     public endpoint and the usage (proto/relay.h struct rv_relay_use);
 *   - the forwarding index, by (source IPv4, source port, channel): the
 *     relay and side a ChannelData datagram comes from. The destination is
 *     the other side's bound endpoint: it comes from the table, never from
 *     the packet, so a peer reaches only its partner.
 *
 * Threads:
 *   - lcores (RCU readers, online while polling, one quiescent state per
 *     loop) look relays up to check binding probes (dp_relay_lookup,
 *     dp_relay_bind_rate) and route ChannelData (dp_relay_route), which
 *     charges the sending side's usage with rv_relay_charge. A struct
 *     dp_relay_ref is valid only until the caller's next quiescent state.
 *   - one writer, rvdp's control thread, applies RELAY_SET / RELAY_DEL /
 *     FLUSH, the expiry sweep, and the binds the lcores verified (they
 *     hand them over the punt ring: the index is the writer's alone); it
 *     reads usage for RELAY_QUERY. Removed nodes are freed with call_rcu.
 *
 * One writer per side's usage: a side's ChannelData is one 5-tuple (its
 * bound endpoint to our primary address and port), and RSS keeps a
 * 5-tuple on one queue, so one lcore charges each side; the other side's
 * byte count is read racily (rv_relay_charge may then overshoot the byte
 * quota by what is in flight, never more). Two writers on one side are
 * possible only at the edges: while a side rebinds from a new endpoint
 * (the old 5-tuple's last packets on another queue), or with ChannelData
 * that arrives in IPv4 fragments (RSS hashes fragments on the addresses
 * alone). Then a lost update undercounts a packet or a token; the usage is
 * never torn. Atomic adds would not fix that cheaply: rv_relay_charge's
 * token bucket is a read-modify-write of two fields (it would need a CAS
 * loop or a lock per packet) and the plain adds keep the one pure
 * function that the standalone relay shares, so the shortcut is
 * documented rather than paid for on every packet.
 *
 * A relay stays DP_RELAY_LINGER_MS past its expiry, refusing traffic and
 * binds, so rvcontrol's next RELAY_QUERY still reads its last counters and
 * the EXPIRED flag; then the sweep removes it. dp_relay_entry_bytes() is
 * the memory one relay costs with both sides bound.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpdk-app/dp_table.h"
#include "proto/dpctl.h"
#include "proto/relay.h"

#define DP_RELAY_LINGER_MS 30000

/* A relay grant (RELAY_SET). */
struct dp_relay_grant {
	uint64_t relay;
	uint8_t key[DP_KEY_LEN]; /* rv_relay_key: binding probes are MACed with it */
	uint16_t channel;        /* 0x4000-0x4FFF, one for both directions */
	struct rv_relay_quota quota;
};

/* What a lookup copies out for a binding probe, plus a handle for the bind
 * rate. Valid until the caller's next quiescent state. */
struct dp_relay_ref {
	uint8_t key[DP_KEY_LEN];
	void *node; /* opaque; for dp_relay_bind_rate */
};

/* A ChannelData datagram's fate (dp_relay_route). */
enum dp_relay_route {
	DP_RELAY_PASS = 0,   /* charged: forward it to *to */
	DP_RELAY_NO_ROUTE,   /* no bound side at that endpoint with that channel */
	DP_RELAY_UNBOUND,    /* the other side has not bound yet */
	DP_RELAY_EXPIRED,    /* rv_relay_charge's verdicts ... */
	DP_RELAY_OVER_BYTES, /* ... */
	DP_RELAY_OVER_RATE,  /* ... */
};

/* Where a routed datagram goes: the other side's bound endpoint. */
struct dp_relay_dst {
	uint32_t ip; /* IPv4, host byte order */
	uint16_t port;
};

struct dp_relays;

/* Create empty tables (bucket counts powers of two, init <= max; both
 * tables grow between them). seed keys the hashes. bind_pps/bind_burst
 * bound each relay's binding probes, both sides together (either 0:
 * unlimited). Returns NULL and sets errno.
 * Context: dp writer thread (before lcores start or while they run). */
struct dp_relays *dp_relay_create(uint64_t seed, unsigned long init_buckets,
                                  unsigned long max_buckets, uint32_t bind_pps,
                                  uint32_t bind_burst);

/* Free everything. Call only after lcores stopped reading and
 * urcu_qsbr_barrier() ran.  Context: dp writer thread, at shutdown. */
void dp_relay_destroy(struct dp_relays *t);

/* Add a relay with both sides unbound and fresh usage (rv_relay_use_init
 * at now_ms), or, when the ID exists, replace its grant and keep its bound
 * sides, usage and bind bucket (a new channel moves the sides' index
 * entries). Returns 0 or -ENOMEM.  Context: dp writer thread. */
int dp_relay_set(struct dp_relays *t, const struct dp_relay_grant *g, uint64_t now_ms);

/* Remove a relay and its index entries. Returns 0 or -ENOENT.
 * Context: dp writer thread. */
int dp_relay_del(struct dp_relays *t, uint64_t relay);

/* Remove every relay DP_RELAY_LINGER_MS past its expiry (expires_ms 0:
 * never). Returns how many.  Context: dp writer thread. */
size_t dp_relay_expire(struct dp_relays *t, uint64_t now_ms);

/* Remove every relay (rvcontrol restarted). Returns how many.
 * Context: dp writer thread. */
size_t dp_relay_flush(struct dp_relays *t);

/* Record a verified bind: side (0 or 1) of the relay is at ip:port. A side
 * that moves to a new endpoint loses its old index entry; an endpoint and
 * channel route to one side only, the latest bind's. Returns 1 when the
 * side's endpoint changed, 0 when it was already there (a renewal),
 * -ENOENT (the relay is gone), -EINVAL (side) or -ENOMEM.
 * Context: dp writer thread. */
int dp_relay_bind(struct dp_relays *t, uint64_t relay, unsigned side, uint32_t ip, uint16_t port,
                  uint64_t now_ms);

/* RELAY_QUERY: both sides (bound endpoint or family 0, packets, bytes and
 * dropped as rv_relay_charge counted them, seen_ms = the later of the
 * last datagram forwarded and the last bind) and *flags (RV_DPC_RELAY_*:
 * past its expiry, byte quota spent, datagrams refused for the rate).
 * Returns 0 or -ENOENT.  Context: dp writer thread. */
int dp_relay_query(struct dp_relays *t, uint64_t relay, uint64_t now_ms,
                   struct rv_dpc_relay_side side[2], uint8_t *flags);

/* Relays in the table.  Context: any registered QSBR thread. */
size_t dp_relay_count(struct dp_relays *t);

/* Bytes one relay costs with both sides bound: its node, its grant and
 * two index entries.  Context: any. */
size_t dp_relay_entry_bytes(void);

/* Look a relay up for a binding probe: 0 with *out filled, -ENOENT when
 * absent or past its expiry.  Context: lcore (RCU reader, online). */
int dp_relay_lookup(struct dp_relays *t, uint64_t relay, uint64_t now_ms, struct dp_relay_ref *out);

/* Take one token from the relay's bind bucket (lock-free, approximate
 * under racing lcores, as dp_table_rate).  Context: lcore (RCU reader),
 * same read-side section as the lookup. */
bool dp_relay_bind_rate(const struct dp_relay_ref *ref, uint64_t now_ms);

/* Route a ChannelData datagram of data_len data bytes from ip:port on
 * channel: find the side it comes from, check the other side is bound,
 * charge the sender's usage (rv_relay_charge: expiry, byte quota over both
 * sides, the sender's rate) and, on DP_RELAY_PASS, fill *to. A refused
 * datagram marks the side with its verdict (RELAY_REPLY's flags).
 * Context: lcore (RCU reader, online); the one writer of that side's
 * usage (see above). */
enum dp_relay_route dp_relay_route(struct dp_relays *t, uint32_t ip, uint16_t port,
                                   uint16_t channel, uint16_t data_len, uint64_t now_ms,
                                   struct dp_relay_dst *to);
