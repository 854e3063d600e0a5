/* nat.h — the NAT model: RFC 4787 behaviours and the traversal document's
 * five types, with their names.
 *
 * The traversal document names NATs by a transmission port assigning rule
 * (cone / address sensitive / port sensitive) and a reception filter rule
 * (none / address sensitive / port sensitive); RFC 4787 calls the same two
 * axes mapping (EIM/ADM/APDM) and filtering (EIF/ADF/APDF). Both views are
 * kept: the behaviours drive the logic, the type names the result.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* RFC 4787 §4.1: how a NAT reuses an external mapping. */
enum rv_map {
	RV_MAP_UNKNOWN = 0,
	RV_MAP_EI,  /* endpoint-independent ("cone") */
	RV_MAP_AD,  /* address-dependent ("address sensitive") */
	RV_MAP_APD, /* address-and-port-dependent ("port sensitive") */
	RV_MAP_COUNT
};

/* RFC 4787 §5: which inbound packets an existing mapping lets through. */
enum rv_filt {
	RV_FILT_UNKNOWN = 0,
	RV_FILT_EI,  /* endpoint-independent ("no filter") */
	RV_FILT_AD,  /* address-dependent */
	RV_FILT_APD, /* address-and-port-dependent */
	RV_FILT_COUNT
};

/* The traversal document's five types, plus "no NAT" and what a
 * classification can also conclude. Order is wire format: append only. */
enum rv_nat_type {
	RV_NAT_UNKNOWN = 0,
	RV_NAT_NONE,            /* public address, no translation */
	RV_NAT_FULL_CONE,       /* EIM + EIF */
	RV_NAT_RESTRICTED,      /* EIM + ADF  ("R NAT") */
	RV_NAT_PORT_RESTRICTED, /* EIM + APDF ("PR NAT") */
	RV_NAT_ADDR_SYMMETRIC,  /* ADM        ("AS NAT") */
	RV_NAT_PORT_SYMMETRIC,  /* APDM       ("PS NAT") */
	RV_NAT_BLOCKED,         /* no UDP response at all */
	RV_NAT_TYPE_COUNT
};

/* External port allocation (RFC 4787 §4.2 port assignment behaviour). */
enum rv_alloc {
	RV_ALLOC_UNKNOWN = 0,
	RV_ALLOC_PRESERVING, /* external port = internal port when free */
	RV_ALLOC_SEQUENTIAL, /* next port = previous + delta (delta may be < 0) */
	RV_ALLOC_RANDOM,     /* no usable pattern */
	RV_ALLOC_COUNT
};

/* Short stable names ("EIM", "APDF", "port-restricted", "sequential") used
 * in logs, JSON and the NAT emulator's config. Never NULL ("?" when out of
 * range).  Context: pure. */
const char *rv_map_str(enum rv_map m);
const char *rv_filt_str(enum rv_filt f);
const char *rv_nat_type_str(enum rv_nat_type t);
const char *rv_alloc_str(enum rv_alloc a);

/* Inverse of the *_str() functions (case-sensitive; rv_nat_type_parse also
 * accepts the document's abbreviations "FC", "R", "PR", "AS", "PS").
 * Return the value (> 0) or -EINVAL.  Context: pure. */
int rv_map_parse(const char *s);
int rv_filt_parse(const char *s);
int rv_nat_type_parse(const char *s);
int rv_alloc_parse(const char *s);

/* The document's type for a mapping x filtering pair. The mapping decides
 * first (ADM -> AS, APDM -> PS, whatever the filter), then, for cone NATs,
 * the filter. Unknown inputs give RV_NAT_UNKNOWN.  Context: pure. */
enum rv_nat_type rv_nat_type_of(enum rv_map m, enum rv_filt f);

/* The canonical behaviours of a type (the presets the NAT emulator uses):
 * FC = EIM+EIF, R = EIM+ADF, PR = EIM+APDF, AS = ADM+ADF, PS = APDM+APDF,
 * NONE = EIM+EIF. Returns 0 or -EINVAL for UNKNOWN/BLOCKED.  Context: pure. */
int rv_nat_type_behaviour(enum rv_nat_type t, enum rv_map *m, enum rv_filt *f);
