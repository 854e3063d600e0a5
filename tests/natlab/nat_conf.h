/* nat_conf.h — the NAT emulator's configuration: defaults, one key=value
 * setter shared by the config file and the command line, a pure line
 * parser, and the final cross-field check.
 *
 * Keys (a flag is the key with '-' for '_': --port-range = port_range):
 *   lan_if, wan_if       interface names (natbox only)
 *   lan_ip, wan_ip       the NAT's own addresses with prefix: 10.0.1.1/24
 *   gateway              the WAN side's default gateway (the internet router)
 *   preset               none | full-cone | restricted | port-restricted |
 *                        addr-symmetric | port-symmetric (or FC R PR AS PS);
 *                        "none" routes without translation
 *   mapping, filtering   EIM|ADM|APDM, EIF|ADF|APDF: override the preset
 *   alloc                preserving | sequential | random
 *   delta                sequential step, non-zero, may be negative (also the
 *                        preserving fallback's step)
 *   port_range           lo-hi (default 1024-65535), wraps around
 *   port_start           first sequential port (default lo, or hi when delta<0)
 *   lambda               background allocations per second (Poisson)
 *   lifetime             mapping idle timeout in seconds (decimals allowed)
 *   refresh_inbound      on|off: inbound traffic refreshes a mapping too
 *   hairpin              on|off
 *   max_mappings         table size (1..65535)
 *   max_sessions         filter-permission table size
 *   seed                 random seed (default: from the kernel)
 *   log                  JSON-lines log path (natbox only)
 *   mtu                  largest IP packet sent on either side, 68..1984;
 *                        0 (default): natbox asks each interface (the pure
 *                        core takes 1500); larger datagrams leave as
 *                        fragments
 *   frag_slots           IPv4 reassembly trains held per side: 0 (fragments
 *                        dropped) or a power of two 4..4096 (default 64)
 *   frag_max_size        largest datagram reassembled, 576..65000 (65000)
 *   frag_max_frags       most pieces per datagram, 2..255 (default 64)
 *   frag_timeout         seconds a train may take from its first piece
 *                        (decimals allowed; default 30, as Linux's ipfrag_time)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/nat.h"

#define NAT_IFNAMSIZ 16
#define NAT_PATH_MAX 256

struct nat_conf {
	char lan_if[NAT_IFNAMSIZ], wan_if[NAT_IFNAMSIZ];
	uint32_t lan_ip, wan_ip, gateway; /* host order */
	uint8_t lan_plen, wan_plen;
	enum rv_nat_type preset; /* RV_NAT_UNKNOWN until set */
	enum rv_map map;         /* RV_MAP_UNKNOWN: from the preset */
	enum rv_filt filt;
	bool translate; /* false for preset "none" (set by nat_conf_finish) */
	enum rv_alloc alloc;
	int32_t delta;
	uint16_t port_lo, port_hi, port_start; /* port_start 0: default */
	double lambda;
	uint32_t lifetime_ms;
	bool refresh_inbound, hairpin;
	uint32_t max_mappings, max_sessions;
	uint64_t seed;
	bool seed_set;
	char log_path[NAT_PATH_MAX];
	uint16_t lan_mtu, wan_mtu; /* 0: the interface's (natbox), 1500 (core) */
	uint32_t frag_slots, frag_max_size, frag_max_frags, frag_timeout_ms;
};

/* Defaults: port-restricted cone, preserving, delta 1, ports 1024-65535,
 * lambda 0, lifetime 60 s, outbound-only refresh, hairpin on, 4096
 * mappings, 16384 sessions; the links' MTU; reassembly of 64 trains per
 * side up to 65000 bytes in 64 pieces within 30 s.  Context: pure. */
void nat_conf_defaults(struct nat_conf *c);

/* Set one key. On error returns -EINVAL (unknown key: -ENOENT) and writes a
 * message naming the key and what it expects into err.  Context: pure. */
int nat_conf_set(struct nat_conf *c, const char *key, const char *val, char *err, size_t errlen);

/* One line of a config file: "key = value", blank lines and '#' comments
 * ignored, surrounding blanks trimmed. Returns as nat_conf_set.
 * Context: pure. */
int nat_conf_line(struct nat_conf *c, const char *line, char *err, size_t errlen);

/* Resolve the preset into mapping/filtering and check the whole: required
 * addresses present, gateway inside the WAN subnet, subnets disjoint,
 * start within the range, delta smaller than the range. Returns 0 or
 * -EINVAL with a message naming the key.  Context: pure. */
int nat_conf_finish(struct nat_conf *c, char *err, size_t errlen);

/* The type the configuration amounts to (RV_NAT_NONE when not translating).
 * Context: pure. */
enum rv_nat_type nat_conf_type(const struct nat_conf *c);

/* The finished configuration as the JSON fields of the log's "config"
 * event (no braces): "type":"...","mapping":... Returns the length or
 * RV_ENOSPC.  Context: pure. */
int nat_conf_json(const struct nat_conf *c, char *buf, size_t len);
