/* relay.h — relayed peer datagrams (proto/WIRE.md, "Relaying").
 *
 * Framing is TURN's ChannelData (RFC 8656 §12.4): channel (2) | length (2)
 * | data, channel in 0x4000-0x4FFF, no padding over UDP (up to 3 trailing
 * bytes are tolerated, as RFC 8656 allows senders to pad). RFC 7983 tells
 * it from STUN by the first byte (64-79 against 0-3).
 *
 * The quota check is the one per-packet decision both relays make (rvdp on
 * its fast path, a standalone rvcontrol on its socket): each side of a
 * relay keeps its own usage (one writer each: the lcore its 5-tuple hashes
 * to), the byte quota covers both directions, the rate applies per side.
 * Pure: no I/O, no clock of its own.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_RELAY_CH_MIN 0x4000u
#define RV_RELAY_CH_MAX 0x4FFFu
#define RV_RELAY_HDR    4

/* Could this be ChannelData (RFC 7983 first-byte range 64-79)?
 * Context: pure. */
static inline bool rv_relay_is_chdata(const uint8_t *p, size_t len)
{
	return len >= RV_RELAY_HDR && p[0] >= 0x40 && p[0] <= 0x4F;
}

/* Parse a ChannelData header: the channel and the data length. 0,
 * RV_ETRUNC (shorter than the header or its length says), RV_ELEN (more
 * than 3 bytes after the data), RV_ERANGE (channel outside 0x4000-0x4FFF).
 * Context: pure. */
int rv_relay_parse(const uint8_t *p, size_t len, uint16_t *channel, uint16_t *data_len);

/* Write the 4-byte header in front of data_len bytes.  Context: pure. */
void rv_relay_put_hdr(uint8_t *p, uint16_t channel, uint16_t data_len);

/* A grant's limits (0 in a field: no limit of that kind). */
struct rv_relay_quota {
	uint64_t expires_ms; /* the relay ends at this time */
	uint64_t bytes;      /* data bytes, both directions together */
	uint32_t rate_pps;   /* datagrams per second, per side ... */
	uint32_t burst;      /* ... with this burst */
};

/* One side's usage (what it sent through the relay). */
struct rv_relay_use {
	uint64_t packets, bytes;
	uint64_t dropped;      /* refused by the quota */
	uint64_t tokens_milli; /* rate bucket, in thousandths of a datagram */
	uint64_t last_ms;      /* when the bucket was last filled */
	uint64_t seen_ms;      /* last datagram accepted: for idle timeouts */
};

enum rv_relay_verdict {
	RV_RELAY_PASS = 0,
	RV_RELAY_EXPIRED,    /* past expires_ms */
	RV_RELAY_OVER_BYTES, /* the byte quota is spent */
	RV_RELAY_OVER_RATE,  /* faster than rate_pps (beyond the burst) */
};

/* Start a side's usage at now_ms with a full bucket.  Context: pure. */
void rv_relay_use_init(struct rv_relay_use *u, const struct rv_relay_quota *q, uint64_t now_ms);

/* Charge one datagram of len data bytes sent by the side whose usage is u;
 * other_bytes is the other side's byte count (a racy read in rvdp: the
 * byte quota may then be overshot by what is in flight, never more). On
 * PASS u counts it; otherwise u->dropped does.  Context: pure. */
enum rv_relay_verdict rv_relay_charge(const struct rv_relay_quota *q, struct rv_relay_use *u,
                                      uint64_t other_bytes, uint64_t now_ms, uint32_t len);

/* "pass", "expired", "over-bytes", "over-rate" ("?" otherwise).
 * Context: pure. */
const char *rv_relay_verdict_str(enum rv_relay_verdict v);
