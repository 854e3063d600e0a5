/* nat_table.h — the NAT's mapping table and filter permissions.
 *
 * A mapping binds an internal endpoint (and, for address- or
 * address-and-port-dependent mapping, the remote endpoint that keys it) to
 * an external port; each mapping keeps the remote endpoints its internal
 * host has sent to ("sessions"), which is what address(-and-port)
 * dependent filtering and ICMP error validation check. Both tables are
 * sized once at creation and never grow: a full table refuses new entries.
 *
 * Lookups: by external port in O(1) (one index per port space); by internal
 * endpoint by a linear scan of the mappings — an honest shortcut that is
 * plenty for a lab emulator at thousands of packets per second.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proto/nat.h"

/* Port spaces: UDP ports and ICMP echo identifiers. */
enum nat_space { NAT_SPACE_UDP = 0, NAT_SPACE_ICMP = 1, NAT_SPACE_COUNT };

struct nat_map {
	bool used, bg;     /* bg: held by an invisible host */
	uint8_t space;     /* enum nat_space */
	uint32_t int_ip;   /* host order; 0 for background entries */
	uint16_t int_port; /* UDP port or echo identifier */
	uint16_t ext_port; /* on the NAT's WAN address */
	uint32_t key_ip;   /* ADM/APDM: the remote that keys the mapping */
	uint16_t key_port; /* APDM only */
	uint32_t dst_ip;   /* the destination whose packet created it */
	uint16_t dst_port;
	uint64_t created_ms, last_ms;
	int32_t sess_head; /* first permission, -1 when none */
};

struct nat_table;

/* A table of max_maps mappings (<= 65535) and max_sess permissions,
 * allocated here once. NULL with errno set on failure; free with
 * nat_table_free.  Context: pure (allocation at creation only). */
struct nat_table *nat_table_new(uint32_t max_maps, uint32_t max_sess);
void nat_table_free(struct nat_table *t);

/* Capacity and the number of mappings in use.  Context: pure. */
uint32_t nat_table_cap(const struct nat_table *t);
uint32_t nat_table_count(const struct nat_table *t);

/* The mapping at index i (0 <= i < cap), used or not.  Context: pure. */
struct nat_map *nat_table_at(struct nat_table *t, uint32_t i);

/* The mapping an outbound packet from int_ip:int_port to
 * dst_ip:dst_port uses under mapping behaviour m, or -1.  Context: pure. */
int nat_table_find_out(const struct nat_table *t, enum nat_space sp, enum rv_map m, uint32_t int_ip,
                       uint16_t int_port, uint32_t dst_ip, uint16_t dst_port);

/* The mapping that owns external port ext, or -1.  Context: pure. */
int nat_table_find_ext(const struct nat_table *t, enum nat_space sp, uint16_t ext);

/* Insert a mapping (copied from *m, which must have used set and an
 * ext_port no other mapping of its space holds). Returns its index or
 * -ENOSPC when the table is full.  Context: pure. */
int nat_table_add(struct nat_table *t, const struct nat_map *m);

/* Remove mapping i and its permissions.  Context: pure. */
void nat_table_del(struct nat_table *t, uint32_t i);

/* Record that mapping i's host sent to ip:port (no-op when known).
 * Returns 0 or -ENOSPC when the permission table is full.  Context: pure. */
int nat_table_permit(struct nat_table *t, uint32_t i, uint32_t ip, uint16_t port);

/* True when mapping i's host has sent to ip (and port, when with_port).
 * Context: pure. */
bool nat_table_permitted(const struct nat_table *t, uint32_t i, uint32_t ip, uint16_t port,
                         bool with_port);
