/* dpctl.h — the local protocol between rvdp and rvcontrol.
 *
 * One SOCK_SEQPACKET Unix socket: rvdp listens (--control PATH), rvcontrol
 * connects (--dataplane PATH). Each datagram is one message:
 *
 *    0  version (1) = 1 | type (1) | reserved (2) | seq (4)
 *    8  body, by type (big-endian):
 *
 *   HELLO       dp->ctl: primary addr20 | alternate addr20 (the public
 *               IP:ports rvdp answers on); ctl->dp: empty
 *   PUNT        dp->ctl: path (12) | src addr20 | dst addr20 | payload
 *               a control message as it arrived: observed source, and the
 *               public address/port it hit
 *   SEND        ctl->dp: path (12) | src addr20 | dst addr20 | payload
 *               leave from public src to dst; path echoes a PUNT's
 *   SESSION_SET ctl->dp: session (8) | key (16) | expires_ms (8) |
 *               rate_pps (4) | burst (4)
 *   SESSION_DEL ctl->dp: session (8)
 *   FLUSH       ctl->dp: empty — forget every session (rvcontrol restarted)
 *   OBS_QUERY   ctl->dp: session (8)
 *   OBS_REPLY   dp->ctl: session (8) | status (4, signed: 0 or -errno) |
 *               n (1) | reserved (3) | n x obs (20)
 *               obs = t_ms (8) | ip (4) | port (2) | seq (2) | kind (1) | 0 (3)
 *   RELAY_SET   ctl->dp: relay (8) | key (16) | channel (2) | reserved (2) |
 *               expires_ms (8) | quota_bytes (8) | rate_pps (4) | burst (4)
 *               a relay grant (WIRE.md "Relaying"); replaces one with the
 *               same ID, keeping its bound sides and usage
 *   RELAY_DEL   ctl->dp: relay (8)
 *   RELAY_QUERY ctl->dp: relay (8)
 *   RELAY_REPLY dp->ctl: relay (8) | status (4, signed) | flags (1) |
 *               reserved (3) | 2 x side
 *               side = bound addr20 (family 0: not bound) | packets (8) |
 *               bytes (8) | dropped (8) | seen_ms (8)
 *               flags: RV_DPC_RELAY_* (why it refuses traffic, if it does)
 *
 *   addr20 = family (1) | reserved (1) | port (2) | ip (16)
 *   path   = port id (2) | queue (2) | next-hop MAC (6) | reserved (2):
 *            opaque to rvcontrol, which stores it with a registration and
 *            echoes it so rvdp can send without resolving anything.
 *
 * Replies to queries carry the query's seq. Pure codec, shared by both
 * programs (and fuzzable): no sockets here.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rv_addr.h"

#define RV_DPC_VERSION     1
#define RV_DPC_HDR         8
#define RV_DPC_MAX_PAYLOAD 2048
#define RV_DPC_MAX_OBS     16
#define RV_DPC_MAX_MSG     (RV_DPC_HDR + 12 + 20 + 20 + RV_DPC_MAX_PAYLOAD)
/* (the largest fixed-size body, RELAY_REPLY's 136 bytes, is far below) */

enum rv_dpc_type {
	RV_DPC_HELLO = 1,
	RV_DPC_PUNT,
	RV_DPC_SEND,
	RV_DPC_SESSION_SET,
	RV_DPC_SESSION_DEL,
	RV_DPC_FLUSH,
	RV_DPC_OBS_QUERY,
	RV_DPC_OBS_REPLY,
	RV_DPC_RELAY_SET,
	RV_DPC_RELAY_DEL,
	RV_DPC_RELAY_QUERY,
	RV_DPC_RELAY_REPLY,
	RV_DPC_TYPE_COUNT
};

struct rv_dpc_path {
	uint16_t port;
	uint16_t queue;
	uint8_t mac[6];
};

struct rv_dpc_obs {
	uint64_t t_ms;
	uint32_t ip; /* IPv4, host byte order */
	uint16_t port;
	uint16_t seq;
	uint8_t kind; /* enum rv_probe_kind */
};

#define RV_DPC_RELAY_EXPIRED    0x01u /* past expires_ms */
#define RV_DPC_RELAY_OVER_BYTES 0x02u /* the byte quota is spent */
#define RV_DPC_RELAY_RATE_DROPS 0x04u /* datagrams were refused for the rate */

/* One side of a relay as rvdp sees it. */
struct rv_dpc_relay_side {
	struct rv_addr bound; /* family 0: that peer has not bound yet */
	uint64_t packets, bytes, dropped;
	uint64_t seen_ms; /* last datagram forwarded from it (or bind) */
};

/* One message; which fields count depends on type (see above). */
struct rv_dpc {
	uint8_t type;
	uint32_t seq;
	struct rv_dpc_path path;
	struct rv_addr src, dst; /* PUNT/SEND; HELLO: primary, alternate */
	const uint8_t *payload;  /* PUNT/SEND: points into the decoded buffer */
	uint16_t payload_len;
	uint64_t session; /* SESSION_*, OBS_*; RELAY_*: the relay ID */
	uint8_t key[16];
	uint64_t expires_ms;
	uint32_t rate_pps, burst;
	int32_t status;                   /* OBS_REPLY, RELAY_REPLY */
	uint16_t channel;                 /* RELAY_SET */
	uint64_t quota_bytes;             /* RELAY_SET */
	uint8_t relay_flags;              /* RELAY_REPLY */
	struct rv_dpc_relay_side side[2]; /* RELAY_REPLY: [0] caller, [1] callee */
	uint8_t n_obs;
	struct rv_dpc_obs obs[RV_DPC_MAX_OBS];
};

/* Encode into buf (RV_DPC_MAX_MSG always suffices). Returns the length,
 * RV_ENOSPC, or RV_ERANGE (payload too long, too many observations, bad
 * type or address family).  Context: pure. */
int rv_dpc_encode(const struct rv_dpc *m, uint8_t *buf, size_t cap);

/* Decode one message; m->payload points into buf. Returns 0, RV_ETRUNC,
 * RV_ELEN (trailing bytes), RV_EVERSION, RV_EMETHOD (unknown type),
 * RV_EFAMILY or RV_ERANGE.  Context: pure. */
int rv_dpc_decode(const uint8_t *buf, size_t len, struct rv_dpc *m);

/* "punt", "send", ... ("?" when unknown).  Context: pure. */
const char *rv_dpc_type_str(uint8_t type);
