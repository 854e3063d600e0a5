/* rv_addr.h — the project's own transport address type.
 *
 * One small value type for IPv4/IPv6 + UDP port, independent of sockets and
 * mbufs, so the same codec and traversal code serves the dataplane (which
 * reads addresses out of packet headers) and the peer (which gets them from
 * recvfrom). Family codes are STUN's (RFC 8489 §14.1): 0x01 IPv4, 0x02 IPv6.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rv_family {
	RV_AF_NONE = 0,
	RV_AF_INET = 0x01,
	RV_AF_INET6 = 0x02,
};

struct rv_addr {
	uint8_t family; /* enum rv_family */
	uint16_t port;  /* host byte order */
	uint8_t ip[16]; /* network byte order; IPv4 uses ip[0..3] */
};

/* Longest text form: "[" + 45 + "]:" + 5 + NUL. */
#define RV_ADDR_STRLEN 56

/* IPv4 address from a host-order uint32 and port.  Context: pure. */
static inline struct rv_addr rv_addr_v4(uint32_t ip_host, uint16_t port)
{
	struct rv_addr a = { .family = RV_AF_INET, .port = port };
	a.ip[0] = (uint8_t)(ip_host >> 24);
	a.ip[1] = (uint8_t)(ip_host >> 16);
	a.ip[2] = (uint8_t)(ip_host >> 8);
	a.ip[3] = (uint8_t)ip_host;
	return a;
}

/* IPv4 address as a host-order uint32 (0 when not IPv4).  Context: pure. */
static inline uint32_t rv_addr_v4_host(const struct rv_addr *a)
{
	if (a->family != RV_AF_INET)
		return 0;
	return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 |
	       a->ip[3];
}

/* Length of the IP part for the family: 4, 16, or 0 when unknown.
 * Context: pure. */
static inline size_t rv_addr_iplen(const struct rv_addr *a)
{
	return a->family == RV_AF_INET ? 4 : a->family == RV_AF_INET6 ? 16 : 0;
}

/* True when family, IP and port are all equal.  Context: pure. */
bool rv_addr_eq(const struct rv_addr *a, const struct rv_addr *b);

/* True when family and IP are equal (port ignored).  Context: pure. */
bool rv_addr_ip_eq(const struct rv_addr *a, const struct rv_addr *b);

/* If a is an IPv4-mapped IPv6 address (::ffff:a.b.c.d), rewrite it as
 * plain IPv4, so one source is one key in rate limiters and tables.
 * Context: pure. */
void rv_addr_normalize(struct rv_addr *a);

/* Format as "1.2.3.4:5" or "[::1]:5" into buf (RV_ADDR_STRLEN bytes is
 * always enough). Returns buf; "-" for an empty/unknown address.
 * Context: pure. */
char *rv_addr_fmt(const struct rv_addr *a, char *buf, size_t len);

/* Parse "1.2.3.4:5", "1.2.3.4" (port = default_port), "[::1]:5" or "::1".
 * Returns 0 or -EINVAL.  Context: pure. */
int rv_addr_parse(const char *s, uint16_t default_port, struct rv_addr *out);
