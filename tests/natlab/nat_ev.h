/* nat_ev.h — what the NAT emulator did: events, their reasons, and the sink
 * the pure parts write packets and events into.
 *
 * The core never logs: it appends events to the caller's sink and natbox
 * writes them as JSON lines (the lab's tests assert on that log, so the
 * names here are an interface: append, never rename).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto/rv_addr.h"

enum nat_side {
	NAT_SIDE_LAN = 0,
	NAT_SIDE_WAN = 1,
};

enum nat_ev_type {
	NAT_EV_NONE = 0,
	NAT_EV_MAP_CREATE,  /* proto, in -> ext, created by a packet to remote */
	NAT_EV_MAP_EXPIRE,  /* proto, in, ext, remote, idle_ms, age_ms, bg */
	NAT_EV_BG_ALLOC,    /* ext: a port taken by an invisible host */
	NAT_EV_FILTERED,    /* inbound remote -> ext dropped by reason (the rule) */
	NAT_EV_TTL_EXPIRED, /* side, proto, remote (src) -> other (dst), ttl */
	NAT_EV_HAIRPIN,     /* in/ext (sender) -> remote (WAN:port) -> other (target) */
	NAT_EV_ICMP_XLATE,  /* RFC 5508: an ICMP error about a mapped flow, translated */
	NAT_EV_DROP,        /* side, reason, proto, remote (src) -> other (dst) */
	NAT_EV_ARP_FAIL,    /* side, other: a next hop that never answered ARP */
	NAT_EV_COUNT
};

enum nat_reason {
	NAT_R_NONE = 0,
	/* filtering rules (NAT_EV_FILTERED) */
	NAT_R_NO_MAPPING,      /* no mapping owns the destination port */
	NAT_R_ADF,             /* address-dependent filter */
	NAT_R_APDF,            /* address-and-port-dependent filter */
	NAT_R_BACKGROUND,      /* the port belongs to an invisible host */
	NAT_R_ICMP_NO_SESSION, /* an ICMP error quoting a packet never sent */
	NAT_R_HAIRPIN_OFF,     /* hairpinning disabled */
	/* drops (NAT_EV_DROP) */
	NAT_R_TRUNCATED,
	NAT_R_BAD_LENGTH,
	NAT_R_NOT_IPV4,
	NAT_R_BAD_CHECKSUM,
	NAT_R_FRAGMENT,   /* a fragment while reassembly is off (frag_slots 0) */
	NAT_R_TCP,        /* TCP is not translated */
	NAT_R_PROTO,      /* another IP protocol */
	NAT_R_ICMP_TYPE,  /* an ICMP type the NAT does not translate */
	NAT_R_ICMP_QUOTE, /* an ICMP error whose quote matches nothing */
	NAT_R_BAD_SOURCE, /* spoofed or martian source for that side */
	NAT_R_BAD_DEST,   /* martian destination, or LAN-to-LAN via the NAT */
	NAT_R_NOT_FOR_US, /* inbound to an address the NAT does not own */
	NAT_R_TO_SELF,    /* to the NAT's own address, not echo */
	NAT_R_TABLE_FULL, /* mapping or session table full: new flow dropped */
	NAT_R_NO_PORT,    /* the allocator found no free port */
	NAT_R_TTL,        /* an ICMP error whose TTL ran out (no error about it) */
	NAT_R_SINK_FULL,  /* more output than the caller made room for */
	NAT_R_TOO_BIG,    /* above the egress MTU with DF set (or options), or NAT_PKT_MAX */
	NAT_R_ARP_QUEUE,  /* no room to wait for a next hop's ARP answer */
	/* fragments (proto/ipfrag.h's outcomes): the piece, or a whole train */
	NAT_R_FRAG_BAD,      /* malformed piece (not 8 x n, empty, options, ...) */
	NAT_R_FRAG_DUP,      /* a piece already held; the train lives */
	NAT_R_FRAG_OVERLAP,  /* a piece overlapping held data: the train dies */
	NAT_R_FRAG_TOO_BIG,  /* past frag_max_size: the train dies */
	NAT_R_FRAG_TOO_MANY, /* past frag_max_frags: the train dies */
	NAT_R_FRAG_TIMEOUT,  /* a train not whole within frag_timeout */
	NAT_R_FRAG_EVICTED,  /* a train pushed out by a newer one (table full) */
	NAT_R_COUNT
};

struct nat_ev {
	uint64_t ms;
	uint8_t type;   /* enum nat_ev_type */
	uint8_t reason; /* enum nat_reason */
	uint8_t proto;  /* IP protocol number */
	uint8_t side;   /* enum nat_side */
	uint8_t icmp_type, icmp_code, ttl;
	uint8_t bg; /* the mapping belonged to an invisible host */
	uint32_t idle_ms, age_ms;
	struct rv_addr in, ext, remote, other;
};

/* One packet out: an IPv4 packet for the core (next_hop says where it goes
 * on that side), an Ethernet frame for the L2 layer. */
#define NAT_PKT_MAX 2048
/* The longest IPv4 packet in one nat_out (room for a link header): the
 * largest MTU; longer datagrams leave as fragments. */
#define NAT_IP_MAX (NAT_PKT_MAX - 64)
struct nat_out {
	uint8_t side; /* enum nat_side */
	uint32_t next_hop;
	uint16_t len;
	uint8_t pkt[NAT_PKT_MAX];
};

/* Caller-owned output arrays. Producers append; when an array is full the
 * packet is dropped (counted in out_lost) or the event lost (ev_lost). */
struct nat_sink {
	struct nat_out *out;
	unsigned out_cap, n_out, out_lost;
	struct nat_ev *ev;
	unsigned ev_cap, n_ev, ev_lost;
	struct nat_ev spare; /* written to when ev is full, then discarded */
};

/* A sink over the given arrays, empty.  Context: pure. */
struct nat_sink nat_sink_make(struct nat_out *out, unsigned out_cap, struct nat_ev *ev,
                              unsigned ev_cap);

/* A zeroed event of type t at ms appended to s (or s->spare when full):
 * never NULL.  Context: pure. */
struct nat_ev *nat_sink_ev(struct nat_sink *s, enum nat_ev_type t, uint64_t ms);

/* The next free packet slot (side and next_hop set, len 0), or NULL when
 * full (out_lost counted).  Context: pure. */
struct nat_out *nat_sink_out(struct nat_sink *s, enum nat_side side, uint32_t next_hop);

/* Give back the last slot nat_sink_out returned (the packet was not sent
 * after all).  Context: pure. */
void nat_sink_unout(struct nat_sink *s);

/* Empty both arrays (the counters of lost items stay).  Context: pure. */
void nat_sink_reset(struct nat_sink *s);

/* Stable names used in the JSON log. Never NULL.  Context: pure. */
const char *nat_ev_type_str(enum nat_ev_type t);
const char *nat_reason_str(enum nat_reason r);
const char *nat_side_str(enum nat_side s);
const char *nat_proto_str(uint8_t proto, char *buf, size_t len);

/* The event as one JSON object (no newline) in buf. Returns the length, or
 * RV_ENOSPC when buf is too small (512 bytes always suffice).
 * Context: pure. */
int nat_ev_json(const struct nat_ev *e, char *buf, size_t len);

/* An IPv4 rv_addr from host-order ip and port.  Context: pure. */
static inline struct rv_addr nat_addr(uint32_t ip, uint16_t port)
{
	return rv_addr_v4(ip, port);
}
