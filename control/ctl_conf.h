/* ctl_conf.h — rvcontrol's settings: one option table for flags, the config
 * file and --help (proto/conf.h), and the checks across keys.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/conf.h"
#include "proto/rv_addr.h"

enum ctl_role { CTL_ROLE_BOTH = 0, CTL_ROLE_AUTH, CTL_ROLE_LOCATOR };

struct ctl_conf {
	int role;                   /* enum ctl_role */
	char db[256];               /* SQLite database */
	char keys[256];             /* directory of key files (keygen writes there) */
	char dataplane[108];        /* rvdp's control socket; "" = no dataplane */
	struct rv_addr listen;      /* plain UDP socket; family 0 = none */
	struct rv_addr public_addr; /* what peers see when standalone (default: listen) */
	uint32_t ticket_lifetime_s;
	uint32_t expiry_s;  /* a registration not refreshed this long is removed */
	uint32_t refresh_s; /* refresh interval told to peers */
	uint32_t nonce_lifetime_s;
	uint32_t clock_skew_s;
	uint32_t max_spray;    /* most ports a peer is told to spray */
	uint32_t connect_rate; /* connect requests per locator per minute */
	uint32_t probe_rate;   /* authenticated probes per session per second */
	uint32_t probe_burst;
	uint32_t group_max; /* default members per group (0 = unlimited) */
	/* Relays (when no direct path exists); relay_mb 0 = none granted. */
	uint32_t relay_mb;     /* data per relay, both directions, megabytes */
	uint32_t relay_s;      /* a relay's longest life */
	uint32_t relay_pps;    /* datagrams per second, per side ... */
	uint32_t relay_burst;  /* ... with this burst */
	uint32_t relay_idle_s; /* ended after this long without traffic */
	uint32_t relay_max;    /* relays at once */
	bool verbose;
	bool json;
	bool rotate; /* keygen: start a new signing key */
};

extern const struct rv_opt ctl_conf_opts[];

/* Defaults: role both, ./rvcontrol.db, keys in ./keys, tickets for a day,
 * registrations expire after 90 s and are refreshed every 25 s.
 * Context: pure. */
void ctl_conf_defaults(struct ctl_conf *c);

/* Cross-key checks: a transport (dataplane or listen) for the daemon,
 * refresh shorter than expiry, sane bounds. Returns 0 or -EINVAL with err
 * naming the key.  Context: pure. */
int ctl_conf_check(const struct ctl_conf *c, bool daemon, char *err, size_t errlen);

const char *ctl_role_str(int role);
