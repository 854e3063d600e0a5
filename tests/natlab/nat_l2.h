/* nat_l2.h — Ethernet and ARP for natbox (RFC 826), pure.
 *
 * The NAT's namespace carries no kernel IP addresses, so nothing answers
 * ARP for the NAT but this: it answers requests for its LAN gateway
 * address and its WAN address, resolves next hops with its own cache, and
 * queues a few packets per side while a next hop resolves (requests are
 * retried, then the queued packets are dropped with an arp_fail event).
 * Frames out go to the sink as nat_out entries (len = frame length).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nat_ev.h"

#define NAT_L2_CACHE     32    /* next hops remembered */
#define NAT_L2_QUEUE     16    /* packets waiting for resolution */
#define NAT_ARP_RETRY_MS 250   /* between requests for an unresolved hop */
#define NAT_ARP_TRIES    4     /* requests before giving up */
#define NAT_ARP_STALE_MS 30000 /* a resolved entry is re-asked after this */

struct nat_l2;

/* Ethernet + ARP state for the two sides: their MAC and IPv4 address
 * (host order). NULL with errno set on failure.  Context: pure. */
struct nat_l2 *nat_l2_new(const uint8_t lan_mac[6], uint32_t lan_ip, const uint8_t wan_mac[6],
                          uint32_t wan_ip);
void nat_l2_free(struct nat_l2 *l);

/* A frame received on side. ARP is handled here (replies and flushed
 * packets appended to s). Returns 1 with *ip / *iplen pointing into f when
 * it carries an IPv4 packet unicast to the NAT's MAC, else 0 (consumed or
 * ignored: other ethertypes, other MACs, malformed frames).  Context: pure. */
int nat_l2_input(struct nat_l2 *l, enum nat_side side, const uint8_t *f, size_t len,
                 uint64_t now_ms, struct nat_sink *s, const uint8_t **ip, size_t *iplen);

/* Send IPv4 packet pkt towards next_hop on side: a frame appended to s, or
 * the packet queued and an ARP request appended. Returns 0, or RV_ENOSPC
 * when the packet had to be dropped (queue full or too long; a drop event
 * "arp_queue_full" / "too_big" is appended).  Context: pure. */
int nat_l2_output(struct nat_l2 *l, enum nat_side side, uint32_t next_hop, const uint8_t *pkt,
                  size_t len, uint64_t now_ms, struct nat_sink *s);

/* Retry or give up pending resolutions, refresh stale entries.
 * Context: pure. */
void nat_l2_tick(struct nat_l2 *l, uint64_t now_ms, struct nat_sink *s);

/* Gratuitous ARP for both addresses (at start, so neighbours learn the
 * NAT's MACs at once).  Context: pure. */
void nat_l2_announce(struct nat_l2 *l, struct nat_sink *s);
