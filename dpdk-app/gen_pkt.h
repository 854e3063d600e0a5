/* gen_pkt.h — what rvgen does to a template frame on its way out, and how
 * it recognises the answer that comes back.
 *
 * Out: the template is copied into an mbuf, then
 *   - its source IPv4 address and UDP port may be rewritten (the scenario's
 *     flows: one source per flow, e.g. 1 M distinct sources from one
 *     template), and
 *   - a STUN request whose transaction ID nothing authenticates carries the
 *     send time in it (a "stamp"): the answer echoes the ID (RFC 8489 §6.3),
 *     so the latency comes back with it. TURN ChannelData (RFC 8656 §12.4)
 *     with at least 12 data bytes carries it in the first 12: a relay
 *     forwards the data untouched, so the stamp comes back with the
 *     forwarded datagram.
 * Both fix the IPv4 and UDP checksums incrementally (RFC 1624), so the
 * system under test verifies real checksums, as it would on the wire.
 *
 * Frames whose ID is authenticated (RV-PROBE, FINGERPRINT, MESSAGE-
 * INTEGRITY: the MAC or CRC covers it) keep their ID; their answers are
 * found by the ID instead (gen_txid.h), "keyed". Everything else is sent
 * as it is and its answers, if any, are counted but not timed.
 *
 * Pure: plain bytes in, plain bytes out.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_TXID_LEN 12u

enum gen_kind {
	GEN_K_OTHER = 0, /* sent as is; answers counted, not timed */
	GEN_K_STAMP,     /* Binding request with an unauthenticated ID, or ChannelData */
	GEN_K_KEYED,     /* STUN message whose ID something authenticates */
};

/* Where things are in one template (offsets from the frame start). */
struct gen_frame_info {
	uint16_t l3;    /* IPv4 header (0: not IPv4) */
	uint16_t l4;    /* UDP header (0: not an unfragmented IPv4/UDP datagram) */
	uint16_t stun;  /* STUN header (0: none) */
	uint16_t stamp; /* GEN_K_STAMP: where the 12-byte stamp goes */
	uint8_t kind;   /* enum gen_kind */
};

/* Classify a frame: Ethernet II (one 802.1Q tag allowed) / IPv4 / UDP /
 * STUN or ChannelData. Never fails: what it does not understand is GEN_K_OTHER with the
 * offsets it found. Context: pure. */
void gen_frame_inspect(const uint8_t *f, uint16_t len, struct gen_frame_info *out);

/* Sources for the scenario's flows: flow k (0 <= k < flows) sends from
 * ip_base + k / n_ports, port port_lo + k % n_ports. */
struct gen_src {
	uint32_t ip_base; /* host byte order */
	uint32_t n_ips;
	uint16_t port_lo;
	uint32_t n_ports;
	uint64_t flows; /* 0: keep the template's source */
};

/* Parse "198.18.0.0/15" and "1024-65535" for flows flows. Rejects flows
 * beyond n_ips x n_ports, prefixes shorter than /8, empty ranges. Returns 0
 * or -EINVAL with err filled.  Context: pure. */
int gen_src_parse(const char *net, const char *ports, uint64_t flows, struct gen_src *out,
                  char *err, size_t errlen);

/* A walk over the flows without a division per packet. */
struct gen_src_it {
	uint64_t k;
	uint32_t ip_i, port_i;
};

/* Flow it->k's source; then step to the next flow (wrapping at flows).
 * Context: pure. */
static inline void gen_src_next(const struct gen_src *s, struct gen_src_it *it, uint32_t *ip,
                                uint16_t *port)
{
	*ip = s->ip_base + it->ip_i;
	*port = (uint16_t)(s->port_lo + it->port_i);
	if (++it->k == s->flows) {
		it->k = 0;
		it->ip_i = it->port_i = 0;
	} else if (++it->port_i == s->n_ports) {
		it->port_i = 0;
		it->ip_i++;
	}
}

/* Rewrite the source of an IPv4/UDP frame (fi->l4 != 0) to ip:port (host
 * byte order), fixing both checksums. A zero UDP checksum (none, RFC 768)
 * stays zero.  Context: pure. */
void gen_frame_set_src(uint8_t *f, const struct gen_frame_info *fi, uint32_t ip, uint16_t port);

/* Write a stamp (marker + t) into a GEN_K_STAMP frame's transaction ID,
 * fixing the UDP checksum.  Context: pure. */
void gen_frame_stamp(uint8_t *f, const struct gen_frame_info *fi, uint64_t t);

/* The same on a bare STUN message (kernel-socket clients): no checksum.
 * Context: pure. */
void gen_stun_stamp(uint8_t *stun, uint64_t t);

/* A stamp (marker + t) into any 12-byte slot, e.g. the data of a bare
 * ChannelData message.  Context: pure. */
void gen_stamp_write(uint8_t id[GEN_TXID_LEN], uint64_t t);

/* The ID slot of a received frame (IPv4/UDP, any port): the transaction
 * ID of a STUN message with the magic cookie, or the first 12 data bytes
 * of ChannelData; a pointer into f, or NULL.  Context: pure. */
const uint8_t *gen_frame_txid(const uint8_t *f, uint16_t len);

/* The STUN transaction ID of a bare STUN payload, or NULL.  Context: pure. */
const uint8_t *gen_stun_txid(const uint8_t *p, size_t len);

/* The ID slot of a bare UDP payload, STUN or ChannelData (as
 * gen_frame_txid), or NULL.  Context: pure. */
const uint8_t *gen_payload_id(const uint8_t *p, size_t len);

/* True when the ID holds a stamp; *t gets its time.  Context: pure. */
bool gen_txid_stamp(const uint8_t *txid, uint64_t *t);

/* RFC 1071 one's-complement sum helpers, exposed for the tests: the
 * checksum field value over data (as a header checksum with its own field
 * zeroed), and the UDP checksum of an IPv4/UDP frame computed afresh.
 * Context: pure. */
uint16_t gen_csum(const uint8_t *data, size_t len);
uint16_t gen_udp_csum(const uint8_t *f, const struct gen_frame_info *fi);
