/* dp_frag.h — rvdp's IPv4 fragments: the shared reassembly table and
 * fragmenter (proto/ipfrag.h) with rvdp's counters.
 *
 * RFC 5780 §7.6 PADDING exists to make Binding requests and answers
 * fragment (turnutils_natdiscovery -P pads 1500 bytes): the request arrives
 * in pieces, and the mirrored answer must leave in pieces.
 *
 * In: a table per lcore, never shared, made with dp_frag_conf (Ethernet
 * frames, UDP only). A fragment is copied into it and its mbuf freed at
 * once; the datagram is linear when its last piece lands
 * (dp_pkt_handle_reassembled reads it like any frame). Each piece counts
 * one of rx_frag, drop_frag_proto/bad/dup/overlap/too_big/too_many (the
 * outcomes of ipfrag.h, same names); a completed datagram also
 * rx_reassembled, then its own outcome in dp_pkt; a train that dies
 * drop_frag_timeout or drop_frag_evicted.
 *
 * Out: the lcore calls rv_frag_count / rv_frag_split (l2_len 14) itself.
 */
#pragma once

#include <stdint.h>

#include "dpdk-app/dp_conf.h"
#include "proto/ipfrag.h"

/* The table conf for rvdp's --frag-* options (slots may be 0: no table)
 * and hash seed.  Context: any. */
struct rv_frag_conf dp_frag_conf(const struct dp_conf *c, uint64_t seed);

/* rv_frag_input on the Ethernet frame frame[0..len) (one for which
 * dp_pkt_handle returned DP_FRAG), counting its outcome in ctr (DP_C_COUNT
 * counters) as said above. On RV_FRAG_DONE res->pkt is the whole frame.
 * Context: lcore (its own table).  Pure. */
enum rv_frag_verdict dp_frag_input(struct rv_frag *f, const uint8_t *frame, uint16_t len,
                                   uint64_t now_ms, uint64_t *ctr, struct rv_frag_res *res);

/* rv_frag_expire over the next budget slots, counting drop_frag_timeout per
 * train. Returns the trains dropped.  Context: lcore (its own table). */
unsigned dp_frag_expire(struct rv_frag *f, uint64_t now_ms, unsigned budget, uint64_t *ctr);
