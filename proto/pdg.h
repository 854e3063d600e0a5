/* pdg.h — datagrams between peers: bubbles, replies, acknowledgements,
 * keepalives and data on a punched path.
 *
 *    0  magic 0xD7 | type (1) | flags (1) | ttl_hint (1)
 *    4  attempt (8)
 *   12  seq (4)
 *   16  payload (0..RV_PDG_MAX_PAYLOAD)
 *  end  mac (8) = SipHash-2-4(attempt key, every byte before it)
 *
 * The first byte's top bits are 11, so a peer socket that also talks STUN
 * (top bits 00) and TURN ChannelData (01) tells them apart at once. The
 * attempt key comes from the server (RV-KEY), so nobody off the path can
 * forge a reply or inject data; the MAC is also what makes a sprayed
 * reply hitting a stranger's port recognisably ours, and nothing else.
 * Pure codec.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_PDG_MAGIC       0xD7
#define RV_PDG_HDR         16
#define RV_PDG_MAC         8
#define RV_PDG_MIN         (RV_PDG_HDR + RV_PDG_MAC)
#define RV_PDG_MAX_PAYLOAD 1200
#define RV_PDG_MAX         (RV_PDG_MIN + RV_PDG_MAX_PAYLOAD)

enum rv_pdg_type {
	RV_PDG_BUBBLE = 1, /* opens the sender's NAT toward the other (no answer) */
	RV_PDG_REPLY = 2,  /* sprayed by the replier; the first one through wins */
	RV_PDG_ACK = 3,    /* answers a REPLY (seq = the reply's): path confirmed */
	RV_PDG_ASSIGN = 4, /* low-TTL port-assigning packet (embodiment 4) */
	RV_PDG_DATA = 5,   /* application datagram on an established path */
	RV_PDG_KEEPALIVE = 6,
	RV_PDG_CLOSE = 7,
	RV_PDG_TYPE_COUNT
};

struct rv_pdg {
	uint8_t type;
	uint8_t flags;
	uint8_t ttl_hint;
	uint64_t attempt;
	uint32_t seq;
	const uint8_t *payload; /* into the decoded buffer */
	uint16_t payload_len;
};

/* Encode with the MAC. Returns the length, RV_ENOSPC or RV_ERANGE (type,
 * payload size).  Context: pure. */
int rv_pdg_encode(const struct rv_pdg *d, const uint8_t key[16], uint8_t *buf, size_t cap);

/* Decode and check the MAC: 0, RV_ENOTSTUN (not a peer datagram at all:
 * magic), RV_ETRUNC, RV_ERANGE (type or size), RV_EMAC (not ours).
 * Context: pure. */
int rv_pdg_decode(const uint8_t *buf, size_t len, const uint8_t key[16], struct rv_pdg *d);

/* Attempt ID of a datagram without checking it (to find its key), or 0.
 * Context: pure. */
uint64_t rv_pdg_peek_attempt(const uint8_t *buf, size_t len);

const char *rv_pdg_type_str(uint8_t type);
