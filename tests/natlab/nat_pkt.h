/* nat_pkt.h — IPv4 / UDP / ICMP for the NAT emulator: header parsing over
 * the bounded cursor, Internet checksums (RFC 1071, incremental per
 * RFC 1624), in-place rewrites, and the two packets the NAT writes itself
 * (ICMP errors per RFC 792 and echo replies).
 *
 * Everything works on caller buffers in network byte order; addresses and
 * ports in the structs are host order. No packed structs over input.
 * Context: pure (any thread).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAT_IPPROTO_ICMP 1
#define NAT_IPPROTO_TCP  6
#define NAT_IPPROTO_UDP  17

#define NAT_ICMP_ECHO_REPLY    0
#define NAT_ICMP_UNREACH       3
#define NAT_ICMP_SOURCE_QUENCH 4
#define NAT_ICMP_REDIRECT      5
#define NAT_ICMP_ECHO          8
#define NAT_ICMP_TIME_EXCEEDED 11
#define NAT_ICMP_PARAM_PROBLEM 12

#define NAT_IP_MF      0x2000 /* more fragments */
#define NAT_IP_OFFMASK 0x1fff
#define NAT_TTL_OWN    64 /* TTL of the packets the NAT originates */

/* An IPv4 packet as the NAT sees it. Offsets are from the start of the IP
 * header; the L4 fields are valid only when l4 is true. */
struct nat_ip {
	uint32_t src, dst; /* host order */
	uint16_t hlen;     /* header length in bytes (IHL * 4) */
	uint16_t tot;      /* total length; <= the buffer for outer packets */
	uint16_t frag;     /* flags + fragment offset */
	uint8_t ttl, proto;
	bool l4;        /* the first 8 bytes of the transport header exist */
	uint16_t sport; /* UDP source port; ICMP echo/reply: the identifier */
	uint16_t dport; /* UDP destination port; ICMP echo/reply: the identifier */
	uint8_t icmp_type, icmp_code;
};

/* Parse an outer IPv4 packet of len bytes (trailing link padding beyond the
 * total length is allowed and ignored). Checks version, IHL, total length
 * and the header checksum, then, for first fragments of UDP and ICMP, the
 * 8-byte transport header (UDP length within the payload; ICMP checksum
 * over the whole message). Returns 0, RV_ETRUNC, RV_ELEN (an inconsistent
 * length), RV_EVERSION (not IPv4) or -EBADMSG (a bad checksum).
 * Context: pure. */
int nat_ip_parse(const uint8_t *p, size_t len, struct nat_ip *ip);

/* Parse the IPv4 header quoted inside an ICMP error (RFC 792: header + 8
 * bytes, total length may exceed what is quoted). Requires the quoted
 * header and 8 bytes of transport header. Returns 0 or a negative code as
 * nat_ip_parse (no checksums are checked: the quote is evidence, not
 * traffic).  Context: pure. */
int nat_ip_parse_quoted(const uint8_t *p, size_t len, struct nat_ip *ip);

/* True for ICMP types that are errors (3, 4, 5, 11, 12): never answered with
 * another error (RFC 1812 §4.3.2.7).  Context: pure. */
bool nat_icmp_is_error(uint8_t type);

/* One's-complement sum of len bytes as big-endian 16-bit words (an odd last
 * byte is padded with zero), added to sum.  Context: pure. */
uint32_t nat_csum_add(uint32_t sum, const uint8_t *p, size_t len);

/* Fold a sum to 16 bits and complement it: the checksum to store.
 * Context: pure. */
uint16_t nat_csum_fold(uint32_t sum);

/* RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old to
 * new.  Context: pure. */
uint16_t nat_csum_update16(uint16_t csum, uint16_t old, uint16_t new_);

/* The same for a 32-bit field (an IPv4 address).  Context: pure. */
uint16_t nat_csum_update32(uint16_t csum, uint32_t old, uint32_t new_);

/* Recompute the IPv4 header checksum of the header at p (hlen bytes).
 * Context: pure. */
void nat_ip_csum_set(uint8_t *p, uint16_t hlen);

/* UDP checksum of a whole datagram (pseudo header included) as it should be
 * stored (0 is sent as 0xffff, RFC 768).  Context: pure. */
uint16_t nat_udp_csum(const uint8_t *p, const struct nat_ip *ip);

/* Complete a transport checksum the sending kernel left to "hardware"
 * (a frame the packet socket marked TP_STATUS_CSUMNOTREADY): recompute the
 * UDP checksum from scratch. Returns 0 or a negative code when the packet
 * is not a parseable UDP first fragment (then it is left alone).
 * Context: pure. */
int nat_l4_csum_fill(uint8_t *p, size_t len);

/* Rewrite the IP source and destination of the packet at p in place: the
 * UDP checksum (when not 0) follows the pseudo header, the IP header
 * checksum is recomputed. Works on quoted packets too (needs only the
 * header and 8 bytes of transport).  Context: pure. */
void nat_pkt_set_addrs(uint8_t *p, const struct nat_ip *ip, uint32_t src, uint32_t dst);

/* Rewrite the transport "ports" in place: UDP source/destination ports, or
 * for ICMP echo/reply the identifier (sport; dport is ignored), adjusting
 * the transport checksum incrementally (a UDP checksum of 0 stays 0).
 * Context: pure. */
void nat_pkt_set_ports(uint8_t *p, const struct nat_ip *ip, uint16_t sport, uint16_t dport);

/* Decrement the TTL and recompute the header checksum. The caller has
 * checked ttl > 1.  Context: pure. */
void nat_pkt_ttl_dec(uint8_t *p, const struct nat_ip *ip);

/* Recompute the ICMP checksum over the whole message of an outer packet.
 * Context: pure. */
void nat_icmp_csum_set(uint8_t *p, const struct nat_ip *ip);

/* Build an ICMP error (type, code) from src to the sender of the packet
 * orig/oip, quoting its header + 8 bytes (RFC 792), TTL NAT_TTL_OWN.
 * Returns its length, or RV_ENOSPC when cap is too small.  Context: pure. */
int nat_pkt_icmp_error(uint8_t *out, size_t cap, uint32_t src, const uint8_t *orig,
                       const struct nat_ip *oip, uint8_t type, uint8_t code);

/* Build the echo reply to the echo request req/ip (same identifier,
 * sequence and data; from the address it was sent to). Returns its length
 * or RV_ENOSPC.  Context: pure. */
int nat_pkt_echo_reply(uint8_t *out, size_t cap, const uint8_t *req, const struct nat_ip *ip);
