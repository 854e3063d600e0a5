#include <errno.h>
#include <string.h>

#include "nat.h"

static const char *const map_names[RV_MAP_COUNT] = { "unknown", "EIM", "ADM", "APDM" };
static const char *const filt_names[RV_FILT_COUNT] = { "unknown", "EIF", "ADF", "APDF" };
static const char *const type_names[RV_NAT_TYPE_COUNT] = {
	"unknown",         "none",           "full-cone",      "restricted",
	"port-restricted", "addr-symmetric", "port-symmetric", "blocked",
};
/* The traversal document's abbreviations, accepted on input. */
static const char *const type_abbrev[RV_NAT_TYPE_COUNT] = {
	NULL, "NONE", "FC", "R", "PR", "AS", "PS", NULL,
};
static const char *const alloc_names[RV_ALLOC_COUNT] = { "unknown", "preserving", "sequential",
	                                                 "random" };

static const char *name_of(const char *const *names, unsigned n, unsigned v)
{
	return v < n ? names[v] : "?";
}

static int parse_in(const char *const *names, unsigned n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 1; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

const char *rv_map_str(enum rv_map m)
{
	return name_of(map_names, RV_MAP_COUNT, m);
}

const char *rv_filt_str(enum rv_filt f)
{
	return name_of(filt_names, RV_FILT_COUNT, f);
}

const char *rv_nat_type_str(enum rv_nat_type t)
{
	return name_of(type_names, RV_NAT_TYPE_COUNT, t);
}

const char *rv_alloc_str(enum rv_alloc a)
{
	return name_of(alloc_names, RV_ALLOC_COUNT, a);
}

int rv_map_parse(const char *s)
{
	return parse_in(map_names, RV_MAP_COUNT, s);
}

int rv_filt_parse(const char *s)
{
	return parse_in(filt_names, RV_FILT_COUNT, s);
}

int rv_nat_type_parse(const char *s)
{
	int t = parse_in(type_names, RV_NAT_TYPE_COUNT, s);

	return t > 0 ? t : parse_in(type_abbrev, RV_NAT_TYPE_COUNT, s);
}

int rv_alloc_parse(const char *s)
{
	return parse_in(alloc_names, RV_ALLOC_COUNT, s);
}

enum rv_nat_type rv_nat_type_of(enum rv_map m, enum rv_filt f)
{
	switch (m) {
	case RV_MAP_APD:
		return RV_NAT_PORT_SYMMETRIC;
	case RV_MAP_AD:
		return RV_NAT_ADDR_SYMMETRIC;
	case RV_MAP_EI:
		switch (f) {
		case RV_FILT_EI:
			return RV_NAT_FULL_CONE;
		case RV_FILT_AD:
			return RV_NAT_RESTRICTED;
		case RV_FILT_APD:
			return RV_NAT_PORT_RESTRICTED;
		default:
			return RV_NAT_UNKNOWN;
		}
	default:
		return RV_NAT_UNKNOWN;
	}
}

int rv_nat_type_behaviour(enum rv_nat_type t, enum rv_map *m, enum rv_filt *f)
{
	static const struct {
		enum rv_map m;
		enum rv_filt f;
	} presets[RV_NAT_TYPE_COUNT] = {
		[RV_NAT_NONE] = { RV_MAP_EI, RV_FILT_EI },
		[RV_NAT_FULL_CONE] = { RV_MAP_EI, RV_FILT_EI },
		[RV_NAT_RESTRICTED] = { RV_MAP_EI, RV_FILT_AD },
		[RV_NAT_PORT_RESTRICTED] = { RV_MAP_EI, RV_FILT_APD },
		[RV_NAT_ADDR_SYMMETRIC] = { RV_MAP_AD, RV_FILT_AD },
		[RV_NAT_PORT_SYMMETRIC] = { RV_MAP_APD, RV_FILT_APD },
	};

	if ((unsigned)t >= RV_NAT_TYPE_COUNT || presets[t].m == RV_MAP_UNKNOWN)
		return -EINVAL;
	*m = presets[t].m;
	*f = presets[t].f;
	return 0;
}
