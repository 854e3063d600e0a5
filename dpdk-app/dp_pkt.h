/* dp_pkt.h — rvdp's per-packet handler, below the mbuf boundary.
 *
 * One frame in, one verdict out: answer in place (ARP, ICMP echo, STUN
 * Binding incl. RFC 5780 and RFC 3489, authenticated probes, relay binds,
 * STUN errors), forward in place (ChannelData between the two bound sides
 * of a relay, proto/WIRE.md "Relaying"), punt (the project's control
 * messages, for rvcontrol), or drop with a named reason. Works on plain
 * bytes, so the unit tests drive it without EAL; the lcore loop calls it
 * per packet of a burst, the table lookups (sessions, relays) being the
 * only shared-state access (RCU read side).
 *
 * No syscalls, locks, allocation or logging: every outcome is a counter.
 * IPv4 only (rvdp owns two public IPv4 addresses, DESIGN §2.1); IP options
 * are dropped (no STUN client sends them). Fragments for us go to the
 * caller's bounded reassembly table (dp_frag.h) when it has one, and the
 * whole datagram comes back through dp_pkt_handle_reassembled; answers may
 * then exceed the MTU (ctx->max_answer) and the caller cuts them into
 * fragments (RFC 5780 §7.6 PADDING makes both happen on purpose).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpdk-app/dp_relay.h"
#include "dpdk-app/dp_rl.h"
#include "dpdk-app/dp_table.h"
#include "proto/rv_addr.h"

/* Every outcome, counted per lcore. Order is the telemetry order. Each
 * frame counts exactly one outcome; RX, BYTES_*, RELAY_BYTES,
 * RX_REASSEMBLED, TX_FRAGMENTED, DROP_FRAG_TIMEOUT and DROP_FRAG_EVICTED
 * are counted besides it (per frame, per datagram or per train). */
#define DP_COUNTERS(X)                                                                 \
	X(RX, "rx")                                                                    \
	X(TX_BINDING, "tx_binding")                 /* plain Binding success */        \
	X(TX_BINDING_CHANGED, "tx_binding_changed") /* from alt IP and/or port */      \
	X(TX_BINDING_CLASSIC, "tx_binding_classic") /* RFC 3489 client */              \
	X(TX_PROBE, "tx_probe")                     /* authenticated probe answered */ \
	X(TX_ERROR_400, "tx_error_400")                                                \
	X(TX_ERROR_420, "tx_error_420")                                                \
	X(TX_ARP, "tx_arp")                                                            \
	X(TX_ICMP, "tx_icmp_echo")                                                     \
	X(PUNT, "punt")                                                                \
	X(DROP_SHORT, "drop_short") /* runt frame / truncated header */                \
	X(DROP_NOT_OURS_MAC, "drop_not_ours_mac")                                      \
	X(DROP_ETHERTYPE, "drop_ethertype")                                            \
	X(DROP_ARP_OTHER, "drop_arp_other")                                            \
	X(DROP_IPV6, "drop_ipv6")                                                      \
	X(DROP_IP_BAD, "drop_ip_bad") /* version, length, checksum */                  \
	X(DROP_IP_OPTIONS, "drop_ip_options")                                          \
	X(DROP_IP_FRAG, "drop_ip_frag") /* no reassembly */                            \
	X(DROP_NOT_OURS_IP, "drop_not_ours_ip")                                        \
	X(DROP_PROTO, "drop_proto") /* not UDP or ICMP */                              \
	X(DROP_ICMP_OTHER, "drop_icmp_other")                                          \
	X(DROP_UDP_BAD, "drop_udp_bad") /* length or checksum */                       \
	X(DROP_NOT_OURS_PORT, "drop_not_ours_port")                                    \
	X(DROP_NOT_STUN, "drop_not_stun")                                              \
	X(DROP_STUN_MALFORMED, "drop_stun_malformed")                                  \
	X(DROP_STUN_NOT_REQUEST, "drop_stun_not_request")                              \
	X(DROP_PROBE_MALFORMED, "drop_probe_malformed")                                \
	X(DROP_PROBE_NO_SESSION, "drop_probe_no_session")                              \
	X(DROP_PROBE_BAD_MAC, "drop_probe_bad_mac")                                    \
	X(DROP_PROBE_RATE, "drop_probe_rate")                                          \
	X(TX_RELAY_BIND, "tx_relay_bind")           /* relay side bound */             \
	X(TX_RELAY, "tx_relay")                     /* ChannelData forwarded */        \
	X(DROP_BIND_NO_RELAY, "drop_bind_no_relay") /* unknown or expired */           \
	X(DROP_BIND_BAD_MAC, "drop_bind_bad_mac")                                      \
	X(DROP_BIND_FLAGS, "drop_bind_flags") /* not just RV_PROBE_SIDE */             \
	X(DROP_BIND_RATE, "drop_bind_rate")                                            \
	X(DROP_RELAY_ADDR, "drop_relay_addr")           /* not at the primary */       \
	X(DROP_RELAY_MALFORMED, "drop_relay_malformed") /* truncated */                \
	X(DROP_RELAY_NO_ROUTE, "drop_relay_no_route")   /* endpoint/channel */         \
	X(DROP_RELAY_UNBOUND, "drop_relay_unbound")     /* partner unbound */          \
	X(DROP_RELAY_EXPIRED, "drop_relay_expired")                                    \
	X(DROP_RELAY_OVER_BYTES, "drop_relay_over_bytes")                              \
	X(DROP_RELAY_OVER_RATE, "drop_relay_over_rate")                                \
	X(DROP_RL_SRC_PKTS, "drop_rl_src_pkts")                                        \
	X(DROP_RL_SRC_BYTES, "drop_rl_src_bytes")                                      \
	X(DROP_RL_GLOB_BYTES, "drop_rl_glob_bytes")                                    \
	X(DROP_TOO_BIG, "drop_too_big")             /* answer would not fit / MTU */   \
	X(DROP_PUNT_FULL, "drop_punt_full")         /* set by the lcore loop */        \
	X(DROP_TX_FULL, "drop_tx_full")             /* set by the lcore loop */        \
	X(DROP_NO_MBUF, "drop_no_mbuf")             /* for fragments; lcore */         \
	X(RX_FRAG, "rx_frag")                       /* kept for reassembly */          \
	X(RX_REASSEMBLED, "rx_reassembled")         /* per datagram */                 \
	X(TX_FRAGMENTED, "tx_fragmented")           /* answer cut; lcore */            \
	X(DROP_FRAG_PROTO, "drop_frag_proto")       /* not UDP */                      \
	X(DROP_FRAG_BAD, "drop_frag_bad")           /* empty, not 8 x n */             \
	X(DROP_FRAG_DUP, "drop_frag_dup")           /* piece only */                   \
	X(DROP_FRAG_OVERLAP, "drop_frag_overlap")   /* and the train */                \
	X(DROP_FRAG_TOO_BIG, "drop_frag_too_big")   /* --frag-max-size */              \
	X(DROP_FRAG_TOO_MANY, "drop_frag_too_many") /* --frag-max-frags */             \
	X(DROP_FRAG_TIMEOUT, "drop_frag_timeout")   /* per train */                    \
	X(DROP_FRAG_EVICTED, "drop_frag_evicted")   /* per train */                    \
	X(BYTES_IN, "bytes_in")                                                        \
	X(BYTES_OUT, "bytes_out")                                                      \
	X(RELAY_BYTES, "relay_bytes") /* ChannelData data bytes forwarded */

enum dp_ctr {
#define DP_CTR_ENUM(id, name) DP_C_##id,
	DP_COUNTERS(DP_CTR_ENUM)
#undef DP_CTR_ENUM
	        DP_C_COUNT
};

/* Counter name for telemetry and the exit report.  Context: pure. */
const char *dp_ctr_name(enum dp_ctr c);

/* The dataplane's identity on its segment. Index 0 is the primary address
 * or port, 1 the alternate (RFC 5780 §4.1: two IPs x two ports). */
struct dp_addrs {
	uint8_t mac[6];
	uint32_t ip[2];   /* host byte order */
	uint16_t port[2]; /* host byte order */
};

/* What one lcore needs to handle a packet. */
struct dp_pkt_ctx {
	const struct dp_addrs *addrs;
	struct dp_rl *rl;         /* this lcore's budgets (may be NULL: no limits) */
	struct dp_table *table;   /* sessions (may be NULL: probes find nothing) */
	struct dp_relays *relays; /* (may be NULL: no relays) */
	uint64_t now_us;          /* monotonic, for the budgets */
	uint64_t now_ms;          /* Unix ms, for session expiry and observations */
	uint16_t mtu;             /* largest IP packet to send (1500) */
	uint16_t max_answer;      /* caller fragments answers up to this (0: mtu) */
	bool reassembly;          /* fragments for us: DP_FRAG, else drop_ip_frag */
	bool l4_csum_ok;          /* the NIC verified the UDP checksum */
	/* CRC-32 for FINGERPRINT: rte_net_crc in rvdp, rv_crc32 in tests. */
	uint32_t (*crc32)(const void *p, size_t n);
	uint64_t *ctr; /* DP_C_COUNT counters of this lcore */
};

enum dp_verdict {
	DP_DROP = 0,
	DP_TX,   /* frame rewritten in place: send it back out the same port */
	DP_PUNT, /* hand to the control thread; frame unchanged */
	DP_FRAG, /* an IPv4 fragment for us: give it to dp_frag_input */
	DP_BIND, /* a relay bind answered in place: send it as DP_TX once the
	          * bind (punt->src, relay, side) reached the control thread;
	          * else drop it (the peer binds again) */
};

/* For a punted frame: what the control thread needs without re-parsing. */
struct dp_punt_info {
	struct rv_addr src; /* observed source (the NAT's public side) */
	struct rv_addr dst; /* our public address/port it arrived on */
	uint8_t src_mac[6];
	uint16_t payload_off; /* UDP payload offset in the frame */
	uint16_t payload_len;
	/* DP_BIND: the relay side that src (IPv4) bound, verified. */
	uint64_t relay;
	uint8_t side;
};

/* Handle the frame frame[0..*len) in place; cap is the writable room
 * (data length + tailroom), since answers may be longer than requests.
 * Returns the verdict; on DP_TX *len is the answer's length (above
 * ETH + mtu only up to ctx->max_answer, which says the caller cuts such
 * answers into fragments; budgets apply as to any answer) or the forwarded
 * datagram's (never above ETH + mtu, never longer than it came), on
 * DP_PUNT *punt is filled, on DP_BIND both (punt->src, relay and side
 * only). Counts exactly one outcome
 * counter (plus RX and bytes), except for DP_FRAG (only with
 * ctx->reassembly), whose outcome dp_frag_input counts.
 * Context: lcore (RCU reader when ctx->table or ctx->relays is set). */
enum dp_verdict dp_pkt_handle(const struct dp_pkt_ctx *ctx, uint8_t *frame, uint16_t *len,
                              uint16_t cap, struct dp_punt_info *punt);

/* dp_pkt_handle for a datagram dp_frag_input completed (in the table's
 * buffer, cap its room): the same checks and answers, never DP_FRAG; the
 * UDP checksum is always verified (ctx->l4_csum_ok is about the last
 * piece only); counts its outcome but not RX/BYTES_IN (its pieces did).
 * Context: lcore (RCU reader when ctx->table or ctx->relays is set). */
enum dp_verdict dp_pkt_handle_reassembled(const struct dp_pkt_ctx *ctx, uint8_t *frame,
                                          uint16_t *len, uint16_t cap, struct dp_punt_info *punt);

/* The session an authenticated probe in frame names, so the lcore can
 * prefetch its lookup for the whole burst first (dp_table_pf_line): true
 * when frame looks like one at the fixed offsets a probe has (IPv4 without
 * options, UDP, a STUN request whose first attribute is RV-PROBE, not a
 * relay bind). Nothing is validated: dp_pkt_handle decides.
 * Context: pure. */
bool dp_pkt_probe_session(const uint8_t *frame, uint16_t len, uint64_t *session);

/* Build an Ethernet/IPv4/UDP frame around payload for the control
 * thread's SEND: src/dst are IPv4 rv_addrs, dst_mac the next hop. Returns
 * the frame length or -ENOSPC / -EAFNOSUPPORT.  Context: pure. */
int dp_pkt_build_udp(uint8_t *frame, size_t cap, const uint8_t src_mac[6], const uint8_t dst_mac[6],
                     const struct rv_addr *src, const struct rv_addr *dst, const uint8_t *payload,
                     size_t payload_len);
