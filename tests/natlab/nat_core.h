/* nat_core.h — the NAT emulator's pure core: IPv4 packets in, translated
 * packets and events out. No I/O, no clock, no randomness of its own.
 *
 * Behaviour (RFC 4787 terms; the traversal document's types are presets):
 * - LAN -> WAN: UDP and ICMP echo get a mapping (EIM/ADM/APDM) on the WAN
 *   address; the external port comes from the allocator; the destination
 *   becomes a filter permission of that mapping.
 * - WAN -> LAN: a packet to the WAN address passes when a live mapping owns
 *   its port and the filter (EIF/ADF/APDF) lets its source through.
 * - TTL (the traversal document's low-TTL port-assigning packet relies on
 *   this): the NAT is one hop. A packet arriving with TTL <= 1 dies here:
 *   it is answered with ICMP time-exceeded from the NAT's address on that
 *   side and creates no mapping; TTL 2 passes (creating the mapping) with
 *   TTL 1. Inbound, the filter runs first: a filtered packet dies silently.
 * - ICMP errors quoting a translated flow are translated both ways
 *   (RFC 5508), so traceroute works through the NAT; an inbound error must
 *   quote a packet the mapping actually sent (its exact destination).
 * - Hairpinning: LAN -> WAN address:port is translated on both sides and
 *   sent back into the LAN (RFC 4787 REQ-9), the target's filter applied.
 * - Mappings expire after lifetime ms without outbound traffic (inbound
 *   too with refresh_inbound). Expiry is checked on every lookup, so it is
 *   exact whatever the tick rate; nat_core_tick sweeps and logs the rest.
 * - Background hosts: a Poisson process of rate lambda, on the caller's
 *   clock and random source, takes ports from the allocator (held for the
 *   mapping lifetime), processed in time order before each packet.
 * - Preset "none": plain routing between the LAN subnet and the WAN, TTL
 *   handled the same way.
 * - ICMP echo identifiers are mapped like ports, in their own port space;
 *   ICMP has no remote port, so for echo APDM/APDF act as ADM/ADF.
 * - IPv4 fragments (UDP and ICMP) arriving on either side are reassembled
 *   first, as Linux's conntrack does, in a bounded table per side
 *   (proto/ipfrag.h: frag_slots trains, frag_max_size, frag_max_frags,
 *   frag_timeout); the whole datagram is then filtered, mapped and
 *   translated like any packet, so a piece alone never creates a mapping.
 *   Refused pieces and trains that die are drop events (frag_bad, frag_dup,
 *   frag_overlap, frag_too_big, frag_too_many, frag_timeout, frag_evicted);
 *   with frag_slots 0 every fragment is dropped as "fragment".
 * - Output above the egress side's MTU (lan_mtu / wan_mtu) leaves as IPv4
 *   fragments, DF clear; with DF set it is dropped (too_big) instead of
 *   answered with ICMP fragmentation-needed (honest shortcut).
 * - TCP and other protocols are dropped with a logged reason.
 * The NAT answers ICMP echo to its own addresses.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nat_alloc.h"
#include "nat_conf.h"
#include "nat_ev.h"

struct nat_core;

/* A core for a finished configuration (nat_conf_finish), with the caller's
 * random source, at time now_ms. Allocates its tables once, here.
 * NULL with errno set on failure.  Context: pure (allocates at creation). */
struct nat_core *nat_core_new(const struct nat_conf *conf, struct nat_rng rng, uint64_t now_ms);

/* Release a core (NULL is fine).  Context: pure. */
void nat_core_free(struct nat_core *c);

/* One IPv4 packet (len bytes, link padding allowed) that arrived on side
 * at now_ms (never earlier than the previous call). Appends the packets
 * (0..2, or up to RV_FRAG_MAX_OUT fragments of one datagram: size s for
 * that) and the events it caused to s. Returns the number of packets
 * appended.  Context: pure. */
int nat_core_input(struct nat_core *c, enum nat_side side, const uint8_t *pkt, size_t len,
                   uint64_t now_ms, struct nat_sink *s);

/* Advance time: background allocations due by now_ms, expiry of idle
 * mappings and of fragment trains past frag_timeout (events to s).
 * Context: pure. */
void nat_core_tick(struct nat_core *c, uint64_t now_ms, struct nat_sink *s);

/* Mappings in use (background ones included).  Context: pure. */
unsigned nat_core_mappings(const struct nat_core *c);

/* The configuration the core runs (read-only).  Context: pure. */
const struct nat_conf *nat_core_conf(const struct nat_core *c);
