/* helpers.h — a harness around the NAT core for the unit tests: the lab's
 * addresses, packet builders, a deterministic random source, and checks
 * that every packet the core emits has correct checksums.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/natlab/nat_core.h"
#include "tests/natlab/nat_pkt.h"

/* Site a of the lab, and the server's two public addresses. */
#define LAN_IP 0x0a000101u /* 10.0.1.1 */
#define H1     0x0a000102u /* 10.0.1.2 */
#define H2     0x0a000103u /* 10.0.1.3 */
#define WAN_IP 0xc6336402u /* 198.51.100.2 */
#define GW     0xc6336401u /* 198.51.100.1 */
#define S1     0xc0000201u /* 192.0.2.1 */
#define S2     0xc0000202u /* 192.0.2.2 */

struct th {
	struct nat_core *c;
	struct nat_conf conf;
	uint64_t seed, now;
	struct nat_out out[64]; /* a datagram's fragments (65000 bytes at 1500: 45) */
	struct nat_ev ev[1024];
	struct nat_sink s;
};

/* Deterministic splitmix64 for struct nat_rng.  Context: the test. */
uint32_t th_rng(void *ctx);

/* A core for site a configured with NULL-terminated key, value pairs
 * (e.g. "preset", "PS", "alloc", "sequential", NULL); asserts success. */
void th_setup(struct th *t, const char *const *kv);
void th_teardown(struct th *t);

/* Builders: the packet's length. Checksums are correct (UDP's optional:
 * with_csum false leaves 0). */
size_t th_udp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t ttl,
              bool with_csum);
size_t th_echo(uint8_t *buf, uint8_t type, uint32_t src, uint32_t dst, uint16_t id, uint8_t ttl);
/* An ICMP error from router about the packet orig (header + 8 bytes). */
size_t th_icmp_err(uint8_t *buf, uint8_t type, uint8_t code, uint32_t router, uint32_t dst,
                   const uint8_t *orig, size_t orig_len);

/* Feed one packet at t->now (sink reset first); returns packets out, and
 * asserts every emitted packet parses with correct checksums. */
int th_feed(struct th *t, enum nat_side side, const uint8_t *pkt, size_t len);

/* Send UDP from LAN host src:sport to dst:dport (TTL 64). Returns the
 * external port the WAN side saw, or -1 when nothing left. */
int th_out(struct th *t, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport);

/* Send UDP from remote src:sport to the WAN address:ext. Returns true when
 * it came out on the LAN (then *to_ip / *to_port when non-NULL). */
bool th_in(struct th *t, uint32_t src, uint16_t sport, uint16_t ext, uint32_t *to_ip,
           uint16_t *to_port);

/* The n-th (0-based) event of type in the sink since the last feed, or
 * NULL; th_count counts them. */
const struct nat_ev *th_ev(const struct th *t, enum nat_ev_type type, unsigned n);
unsigned th_count(const struct th *t, enum nat_ev_type type);

/* True when the packet's IPv4 header checksum and (UDP/ICMP) transport
 * checksum verify. */
bool th_csums_ok(const uint8_t *p, size_t len);
