#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipfrag.h"
#include "proto/rv_err.h"
#include "nat_conf.h"
#include "nat_ev.h"

void nat_conf_defaults(struct nat_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->alloc = RV_ALLOC_PRESERVING;
	c->delta = 1;
	c->port_lo = 1024;
	c->port_hi = 65535;
	c->lifetime_ms = 60000;
	c->hairpin = true;
	c->max_mappings = 4096;
	c->max_sessions = 16384;
	c->frag_slots = 64;
	c->frag_max_size = 65000;
	c->frag_max_frags = 64;
	c->frag_timeout_ms = 30000;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

static int parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

/* "a.b.c.d/len" with 1 <= len <= 30 (a subnet with room for two hosts),
 * the address neither the network nor the broadcast address. */
static int parse_cidr(const char *s, uint32_t *ip, uint8_t *plen)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	long len;
	uint32_t mask;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (parse_ip(buf, ip) || parse_long(slash + 1, 1, 30, &len))
		return -EINVAL;
	mask = ~0u << (32 - len);
	if ((*ip & ~mask) == 0 || (*ip & ~mask) == ~mask)
		return -EINVAL;
	*plen = (uint8_t)len;
	return 0;
}

static int parse_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	const char *dash = strchr(s, '-');
	long a, b;

	if (!dash || (size_t)(dash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (parse_long(buf, 1, 65535, &a) || parse_long(dash + 1, 1, 65535, &b) || a > b)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

/* RFC 4787 names are upper case; accept any case on input. */
static int parse_upper(const char *s, int (*parse)(const char *))
{
	char buf[8];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof(buf); i++)
		buf[i] = (char)toupper((unsigned char)s[i]);
	if (s[i])
		return -EINVAL;
	buf[i] = '\0';
	return parse(buf);
}

static int set_lan_if(struct nat_conf *c, const char *v)
{
	return copy_str(c->lan_if, sizeof(c->lan_if), v);
}
static int set_wan_if(struct nat_conf *c, const char *v)
{
	return copy_str(c->wan_if, sizeof(c->wan_if), v);
}
static int set_lan_ip(struct nat_conf *c, const char *v)
{
	return parse_cidr(v, &c->lan_ip, &c->lan_plen);
}
static int set_wan_ip(struct nat_conf *c, const char *v)
{
	return parse_cidr(v, &c->wan_ip, &c->wan_plen);
}
static int set_gateway(struct nat_conf *c, const char *v)
{
	return parse_ip(v, &c->gateway);
}
static int set_preset(struct nat_conf *c, const char *v)
{
	int t = rv_nat_type_parse(v);

	if (t < 0 || t == RV_NAT_BLOCKED)
		return -EINVAL;
	c->preset = (enum rv_nat_type)t;
	return 0;
}
static int set_mapping(struct nat_conf *c, const char *v)
{
	int m = parse_upper(v, rv_map_parse);

	if (m < 0)
		return m;
	c->map = (enum rv_map)m;
	return 0;
}
static int set_filtering(struct nat_conf *c, const char *v)
{
	int f = parse_upper(v, rv_filt_parse);

	if (f < 0)
		return f;
	c->filt = (enum rv_filt)f;
	return 0;
}
static int set_alloc(struct nat_conf *c, const char *v)
{
	int a = rv_alloc_parse(v);

	if (a < 0)
		return a;
	c->alloc = (enum rv_alloc)a;
	return 0;
}
static int set_delta(struct nat_conf *c, const char *v)
{
	long d;

	if (parse_long(v, -65534, 65534, &d) || d == 0)
		return -EINVAL;
	c->delta = (int32_t)d;
	return 0;
}
static int set_port_range(struct nat_conf *c, const char *v)
{
	return parse_range(v, &c->port_lo, &c->port_hi);
}
static int set_port_start(struct nat_conf *c, const char *v)
{
	long p;

	if (parse_long(v, 1, 65535, &p))
		return -EINVAL;
	c->port_start = (uint16_t)p;
	return 0;
}
static int set_lambda(struct nat_conf *c, const char *v)
{
	return parse_double(v, 0, 10000, &c->lambda);
}
static int set_lifetime(struct nat_conf *c, const char *v)
{
	double s;

	if (parse_double(v, 0.001, 7 * 86400, &s))
		return -EINVAL;
	c->lifetime_ms = (uint32_t)llround(s * 1000);
	return 0;
}
static int set_refresh_inbound(struct nat_conf *c, const char *v)
{
	return parse_bool(v, &c->refresh_inbound);
}
static int set_hairpin(struct nat_conf *c, const char *v)
{
	return parse_bool(v, &c->hairpin);
}
static int set_max_mappings(struct nat_conf *c, const char *v)
{
	long n;

	if (parse_long(v, 1, 65535, &n))
		return -EINVAL;
	c->max_mappings = (uint32_t)n;
	return 0;
}
static int set_max_sessions(struct nat_conf *c, const char *v)
{
	long n;

	if (parse_long(v, 1, 1 << 20, &n))
		return -EINVAL;
	c->max_sessions = (uint32_t)n;
	return 0;
}
static int set_seed(struct nat_conf *c, const char *v)
{
	char *end;

	if (!*v || *v == '-' || isspace((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	c->seed = strtoull(v, &end, 0);
	if (errno || *end)
		return -EINVAL;
	c->seed_set = true;
	return 0;
}
static int set_log(struct nat_conf *c, const char *v)
{
	return copy_str(c->log_path, sizeof(c->log_path), v);
}
static int set_mtu(struct nat_conf *c, const char *v)
{
	long n;

	if (parse_long(v, 68, NAT_IP_MAX, &n))
		return -EINVAL;
	c->lan_mtu = c->wan_mtu = (uint16_t)n;
	return 0;
}
static int set_frag_slots(struct nat_conf *c, const char *v)
{
	long n;

	if (parse_long(v, 0, 4096, &n) || (n && (n < 4 || (n & (n - 1)))))
		return -EINVAL;
	c->frag_slots = (uint32_t)n;
	return 0;
}
static int set_frag_max_size(struct nat_conf *c, const char *v)
{
	long n;

	if (parse_long(v, 576, RV_FRAG_MAX_SIZE, &n))
		return -EINVAL;
	c->frag_max_size = (uint32_t)n;
	return 0;
}
static int set_frag_max_frags(struct nat_conf *c, const char *v)
{
	long n;

	if (parse_long(v, 2, 255, &n))
		return -EINVAL;
	c->frag_max_frags = (uint32_t)n;
	return 0;
}
static int set_frag_timeout(struct nat_conf *c, const char *v)
{
	double s;

	if (parse_double(v, 0.001, 3600, &s))
		return -EINVAL;
	c->frag_timeout_ms = (uint32_t)llround(s * 1000);
	return 0;
}

static const struct {
	const char *key;
	int (*set)(struct nat_conf *c, const char *v);
	const char *expects;
} keys[] = {
	{ "lan_if", set_lan_if, "an interface name" },
	{ "wan_if", set_wan_if, "an interface name" },
	{ "lan_ip", set_lan_ip, "the NAT's LAN address with prefix, e.g. 10.0.1.1/24" },
	{ "wan_ip", set_wan_ip, "the NAT's WAN address with prefix, e.g. 198.51.100.2/24" },
	{ "gateway", set_gateway, "an IPv4 address" },
	{ "preset", set_preset,
	  "none, full-cone, restricted, port-restricted, addr-symmetric, port-symmetric "
	  "(or FC, R, PR, AS, PS)" },
	{ "mapping", set_mapping, "EIM, ADM or APDM" },
	{ "filtering", set_filtering, "EIF, ADF or APDF" },
	{ "alloc", set_alloc, "preserving, sequential or random" },
	{ "delta", set_delta, "a non-zero integer between -65534 and 65534" },
	{ "port_range", set_port_range, "LO-HI with 1 <= LO <= HI <= 65535" },
	{ "port_start", set_port_start, "a port 1-65535" },
	{ "lambda", set_lambda, "allocations per second, 0-10000" },
	{ "lifetime", set_lifetime, "seconds > 0 (decimals allowed)" },
	{ "refresh_inbound", set_refresh_inbound, "on or off" },
	{ "hairpin", set_hairpin, "on or off" },
	{ "max_mappings", set_max_mappings, "1-65535" },
	{ "max_sessions", set_max_sessions, "1-1048576" },
	{ "seed", set_seed, "an unsigned integer" },
	{ "log", set_log, "a file path" },
	{ "mtu", set_mtu, "68-1984 bytes" },
	{ "frag_slots", set_frag_slots, "0 (no reassembly) or a power of two 4-4096" },
	{ "frag_max_size", set_frag_max_size, "576-65000 bytes" },
	{ "frag_max_frags", set_frag_max_frags, "2-255" },
	{ "frag_timeout", set_frag_timeout, "seconds, 0.001-3600 (decimals allowed)" },
};

int nat_conf_set(struct nat_conf *c, const char *key, const char *val, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].key, key) != 0)
			continue;
		if (keys[i].set(c, val) == 0)
			return 0;
		snprintf(err, errlen, "%s: bad value '%s' (expected %s)", key, val,
		         keys[i].expects);
		return -EINVAL;
	}
	snprintf(err, errlen, "unknown key '%s'", key);
	return -ENOENT;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int nat_conf_line(struct nat_conf *c, const char *line, char *err, size_t errlen)
{
	char buf[512], *s, *eq, *hash;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errlen, "line too long");
		return -EINVAL;
	}
	strcpy(buf, line);
	hash = strchr(buf, '#');
	if (hash)
		*hash = '\0';
	s = trim(buf);
	if (!*s)
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, errlen, "expected key = value, got '%s'", s);
		return -EINVAL;
	}
	*eq = '\0';
	return nat_conf_set(c, trim(s), trim(eq + 1), err, errlen);
}

static uint32_t mask_of(uint8_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

int nat_conf_finish(struct nat_conf *c, char *err, size_t errlen)
{
	enum rv_map pm = RV_MAP_UNKNOWN;
	enum rv_filt pf = RV_FILT_UNKNOWN;
	uint32_t lm = mask_of(c->lan_plen), wm = mask_of(c->wan_plen), n;

	if (c->preset == RV_NAT_UNKNOWN)
		c->preset = RV_NAT_PORT_RESTRICTED;
	c->translate = c->preset != RV_NAT_NONE;
	if (!c->translate && (c->map || c->filt)) {
		snprintf(err, errlen,
		         "mapping/filtering: not allowed with preset none "
		         "(plain routing)");
		return -EINVAL;
	}
	if (rv_nat_type_behaviour(c->preset, &pm, &pf) < 0) {
		snprintf(err, errlen, "preset: no behaviour for '%s'", rv_nat_type_str(c->preset));
		return -EINVAL;
	}
	if (!c->map)
		c->map = pm;
	if (!c->filt)
		c->filt = pf;
	if (!c->lan_ip || !c->wan_ip || !c->gateway) {
		snprintf(err, errlen, "%s: required",
		         !c->lan_ip   ? "lan_ip"
		         : !c->wan_ip ? "wan_ip"
		                      : "gateway");
		return -EINVAL;
	}
	if ((c->gateway & wm) != (c->wan_ip & wm) || c->gateway == c->wan_ip) {
		snprintf(err, errlen, "gateway: must be another address in wan_ip's subnet");
		return -EINVAL;
	}
	if ((c->lan_ip & (lm & wm)) == (c->wan_ip & (lm & wm))) {
		snprintf(err, errlen, "lan_ip: its subnet overlaps wan_ip's");
		return -EINVAL;
	}
	n = (uint32_t)c->port_hi - c->port_lo + 1;
	if ((uint32_t)abs(c->delta) >= n && n > 1) {
		snprintf(err, errlen, "delta: |%d| must be smaller than the port range (%u ports)",
		         c->delta, n);
		return -EINVAL;
	}
	if (c->port_start && (c->port_start < c->port_lo || c->port_start > c->port_hi)) {
		snprintf(err, errlen, "port_start: %u is outside port_range %u-%u", c->port_start,
		         c->port_lo, c->port_hi);
		return -EINVAL;
	}
	if (!c->port_start)
		c->port_start = c->delta < 0 ? c->port_hi : c->port_lo;
	if (c->max_sessions < c->max_mappings) {
		snprintf(err, errlen, "max_sessions: must be at least max_mappings (%u)",
		         c->max_mappings);
		return -EINVAL;
	}
	return 0;
}

enum rv_nat_type nat_conf_type(const struct nat_conf *c)
{
	return c->translate ? rv_nat_type_of(c->map, c->filt) : RV_NAT_NONE;
}

int nat_conf_json(const struct nat_conf *c, char *buf, size_t len)
{
	char lan[INET_ADDRSTRLEN], wan[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct in_addr a;
	int n;

	a.s_addr = htonl(c->lan_ip);
	inet_ntop(AF_INET, &a, lan, sizeof(lan));
	a.s_addr = htonl(c->wan_ip);
	inet_ntop(AF_INET, &a, wan, sizeof(wan));
	a.s_addr = htonl(c->gateway);
	inet_ntop(AF_INET, &a, gw, sizeof(gw));
	n = snprintf(buf, len,
	             "\"type\":\"%s\",\"translate\":%s,\"mapping\":\"%s\",\"filtering\":\"%s\","
	             "\"alloc\":\"%s\",\"delta\":%d,\"port_range\":\"%u-%u\",\"port_start\":%u,"
	             "\"lambda\":%g,\"lifetime_ms\":%u,\"refresh_inbound\":%s,\"hairpin\":%s,"
	             "\"max_mappings\":%u,\"max_sessions\":%u,\"seed\":%" PRIu64 ","
	             "\"lan\":\"%s/%u\",\"wan\":\"%s/%u\",\"gateway\":\"%s\","
	             "\"lan_mtu\":%u,\"wan_mtu\":%u,\"frag_slots\":%u,\"frag_max_size\":%u,"
	             "\"frag_max_frags\":%u,\"frag_timeout_ms\":%u",
	             rv_nat_type_str(nat_conf_type(c)), c->translate ? "true" : "false",
	             rv_map_str(c->map), rv_filt_str(c->filt), rv_alloc_str(c->alloc), c->delta,
	             c->port_lo, c->port_hi, c->port_start, c->lambda, c->lifetime_ms,
	             c->refresh_inbound ? "true" : "false", c->hairpin ? "true" : "false",
	             c->max_mappings, c->max_sessions, c->seed, lan, c->lan_plen, wan, c->wan_plen,
	             gw, c->lan_mtu, c->wan_mtu, c->frag_slots, c->frag_max_size, c->frag_max_frags,
	             c->frag_timeout_ms);
	if (n < 0 || (size_t)n >= len)
		return RV_ENOSPC;
	return n;
}
