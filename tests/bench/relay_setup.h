/* relay_setup.h — a kernel-socket relay, set up for rvflood --relay.
 *
 * Each setup ends with two UDP sockets, one per side of one relay, each
 * connected to the relay and knowing the channel its ChannelData (RFC 8656
 * §12.4) must carry to reach the other side. From then on rvflood floods
 * ChannelData both ways with sendmmsg/recvmmsg, as rvgen floods rvdp.
 *   - rvcontrol standalone (no rvdp): two libpeer peers authenticate,
 *     register, and connect with relay_first; the connection's socket and
 *     channel come from libpeer's internals (peer/peer_int.h: the public
 *     API deliberately hides them) — a benchmark-only shortcut;
 *   - coturn: two TURN clients (RFC 8656) Allocate with long-term
 *     credentials and ChannelBind a channel to each other's relayed
 *     address; coturn relays between its own two allocations.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto/rv_addr.h"

struct bench_relay_side {
	int fd;           /* connected to the relay; the caller closes it */
	uint16_t channel; /* what this side's ChannelData carries */
};

/* rvcontrol standalone at srv; key_a, key_b: device key files (rvpeer
 * device-keygen) of two devices it knows. Returns 0 with out[] filled, or a
 * negative code with err filled.  Context: main (runs two threads). */
int bench_relay_rvcontrol(const struct rv_addr *srv, const char *key_a, const char *key_b,
                          uint32_t timeout_ms, struct bench_relay_side out[2], char *err,
                          size_t errlen);

/* coturn at srv with long-term credentials user:pass in realm. Returns 0
 * with out[] filled, or a negative code with err filled.  Context: any. */
int bench_relay_turn(const struct rv_addr *srv, const char *user, const char *pass,
                     const char *realm, uint32_t timeout_ms, struct bench_relay_side out[2],
                     char *err, size_t errlen);
