/* ctl_relay.h — relays, when no direct path exists (proto/WIRE.md,
 * "Relaying").
 *
 * The broker opens a relay for an attempt that is planned impossible or
 * that failed; this module keeps the table of live relays, tells the relay
 * (rvdp over RELAY_SET, or this process itself when standalone) what to
 * forward, fills the RV-RELAY grant of each side's INSTRUCT, watches the
 * usage (RELAY_QUERY every few seconds, or its own counters), and closes a
 * relay on its quota, time, idleness or a peer's word — telling both peers
 * why and adding what it carried to the per-NAT-pair statistics.
 *
 * Relays live in memory only: a restarted rvcontrol has none, and the
 * peers of a lost relay start over (FLUSH tells rvdp to forget them too).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/dpctl.h"
#include "proto/msg.h"
#include "proto/relay.h"

#define CTL_RELAYS        1024 /* relays at once, at most (--relay-max) */
#define CTL_RELAY_POLL_MS 2000 /* how often rvdp's counters are read */

struct ctl;
struct ctl_sink;
struct ctl_from;
struct ctl_attempt;

struct ctl_relay {
	uint64_t id; /* 0: a free slot */
	uint64_t attempt;
	uint8_t key[16]; /* rv_relay_key(attempt key, id): what rvdp checks binds with */
	uint16_t channel;
	uint8_t locator[2][RV_LOCATOR_LEN]; /* [0] caller, [1] callee */
	uint8_t nat[2];                     /* their NAT types, for the statistics */
	struct rv_relay_quota quota;
	struct rv_relay_use use[2]; /* what each side sent (rvdp's count when behind it) */
	struct rv_addr bound[2];    /* each side's bound endpoint; family 0: not yet */
	uint8_t flags;              /* RV_DPC_RELAY_*: why the relay refuses traffic */
	uint64_t opened_ms;
	uint64_t next_poll_ms;
	uint8_t why;          /* rv_result_code of the direct attempt, NO_PATH when planned */
	uint8_t closing;      /* ending for this reason, once rvdp's final count is in */
	uint64_t close_by_ms; /* ... or at this time without it */
};

/* Open a relay for attempt a (both sides' locators, NATs and the attempt
 * key): a free slot, a random ID and channel, the deployment's quotas, and
 * RELAY_SET to rvdp (standalone: nothing to tell). NULL when relays are off
 * (--relay-mb 0) or --relay-max are open.  Context: ctl loop. */
struct ctl_relay *ctl_relay_open(struct ctl *c, const struct ctl_attempt *a, uint8_t why,
                                 uint64_t now_ms, const struct ctl_sink *sink);

/* The grant for side s's INSTRUCT.  Context: any. */
void ctl_relay_grant(const struct ctl *c, const struct ctl_relay *r, int side, uint64_t now_ms,
                     struct rv_relay_grant *out);

/* Where peers send relayed datagrams: rvdp's primary address, or the
 * standalone socket's public one (family 0 when neither is known). */
struct rv_addr ctl_relay_addr(const struct ctl *c);

/* The live relay of an attempt, or NULL. */
struct ctl_relay *ctl_relay_of(struct ctl *c, uint64_t attempt);

/* End it: RELAY_DEL, an INSTRUCT {RESULT = code} to both peers, usage into
 * the statistics, the slot freed. code: RV_RES_RELAY_BYTES, _TIME, _IDLE,
 * RV_RES_CLOSED (a peer closed) ...  Context: ctl loop, in a store batch. */
void ctl_relay_close(struct ctl *c, struct ctl_relay *r, uint8_t code, uint64_t now_ms,
                     const struct ctl_sink *sink);

/* End it with rvdp's final count: RELAY_QUERY, then ctl_relay_close when
 * the answer comes (or after a second without one). Standalone, at once.
 * Context: ctl loop, in a store batch. */
void ctl_relay_end(struct ctl *c, struct ctl_relay *r, uint8_t code, uint64_t now_ms,
                   const struct ctl_sink *sink);

/* rvdp's RELAY_REPLY: usage, bound sides, exhausted quotas. */
void ctl_relay_reply(struct ctl *c, const struct rv_dpc *m, uint64_t now_ms,
                     const struct ctl_sink *sink);

/* Periodic: poll rvdp, end relays whose time, bytes or idleness ran out. */
void ctl_relay_tick(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink);

/* rvdp (re)connected after a FLUSH: RELAY_SET for every live relay. */
void ctl_relay_resync(struct ctl *c, const struct ctl_sink *sink);

/* Standalone, a RELAY binding probe (kind RV_PROBE_RELAY): the key to check
 * it with, and on success (*verified) records the side's endpoint. Returns
 * false when no relay has that ID (the probe is then dropped). */
bool ctl_relay_bind(struct ctl *c, const uint8_t txid[12], const struct rv_probe *pr,
                    const struct ctl_from *from, uint64_t now_ms, const uint8_t **key);

/* Standalone, a datagram that may be ChannelData for a relay: forwarded to
 * the other side (through sink) when it comes from a bound side and the
 * quota allows. Returns false when it is not ChannelData at all. */
bool ctl_relay_forward(struct ctl *c, const uint8_t *buf, size_t len, const struct ctl_from *from,
                       uint64_t now_ms, const struct ctl_sink *sink);
