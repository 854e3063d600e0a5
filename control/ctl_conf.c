/* ctl_conf.c — rvcontrol's option table and checks (ctl_conf.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl_conf.h"
#include "ctl_relay.h"

#define O(field)  offsetof(struct ctl_conf, field)
#define SZ(field) (uint32_t)sizeof(((struct ctl_conf *)0)->field)

static const char *const roles[] = { "both", "auth", "locator", NULL };

const struct rv_opt ctl_conf_opts[] = {
	{ "config", 'c', RV_OPT_CONFIG, 0, 0, 0, 0, NULL, "FILE",
	  "read settings from FILE (key = value; flags override it)" },
	{ "role", 'r', RV_OPT_ENUM, 0, O(role), 0, 0, roles, "ROLE",
	  "which services this process runs" },
	{ "db", 'd', RV_OPT_STR, SZ(db), O(db), 0, 0, NULL, "PATH", "SQLite database" },
	{ "keys", 'k', RV_OPT_STR, SZ(keys), O(keys), 0, 0, NULL, "DIR",
	  "directory of key files (see: rvcontrol keygen)" },
	{ "dataplane", 'D', RV_OPT_STR, SZ(dataplane), O(dataplane), 0, 0, NULL, "PATH",
	  "rvdp's control socket (work behind the dataplane)" },
	{ "listen", 'l', RV_OPT_ADDR, 0, O(listen), 3478, 0, NULL, "IP[:PORT]",
	  "plain UDP socket (work without the dataplane)" },
	{ "public-addr", 0, RV_OPT_ADDR, 0, O(public_addr), 3478, 0, NULL, "IP[:PORT]",
	  "the address peers reach the UDP socket at, if not --listen's" },
	{ "ticket-lifetime", 0, RV_OPT_UINT, SZ(ticket_lifetime_s), O(ticket_lifetime_s), 60,
	  30 * 86400, NULL, "S", "tickets are valid this many seconds" },
	{ "expiry", 0, RV_OPT_UINT, SZ(expiry_s), O(expiry_s), 5, 86400, NULL, "S",
	  "registrations not refreshed for S seconds are removed" },
	{ "refresh", 0, RV_OPT_UINT, SZ(refresh_s), O(refresh_s), 1, 86400, NULL, "S",
	  "refresh interval told to peers (also keeps their NAT mapping)" },
	{ "nonce-lifetime", 0, RV_OPT_UINT, SZ(nonce_lifetime_s), O(nonce_lifetime_s), 5, 3600,
	  NULL, "S", "an auth nonce is valid this many seconds" },
	{ "clock-skew", 0, RV_OPT_UINT, SZ(clock_skew_s), O(clock_skew_s), 0, 86400, NULL, "S",
	  "tolerated clock difference for tickets" },
	{ "max-spray", 0, RV_OPT_UINT, SZ(max_spray), O(max_spray), 1, 65535, NULL, "N",
	  "most ports a peer is told to spray" },
	{ "connect-rate", 0, RV_OPT_UINT, SZ(connect_rate), O(connect_rate), 1, 100000, NULL, "N",
	  "connect requests per locator per minute" },
	{ "probe-rate", 0, RV_OPT_UINT, SZ(probe_rate), O(probe_rate), 0, 1000000, NULL, "N",
	  "authenticated probes per session per second (0: no limit)" },
	{ "probe-burst", 0, RV_OPT_UINT, SZ(probe_burst), O(probe_burst), 0, 1000000, NULL, "N",
	  "... burst" },
	{ "group-max", 0, RV_OPT_UINT, SZ(group_max), O(group_max), 0, 1000000, NULL, "N",
	  "members per group (0: unlimited)" },
	{ "relay-mb", 0, RV_OPT_UINT, SZ(relay_mb), O(relay_mb), 0, 1000000, NULL, "MB",
	  "data a relay may carry, both ways (0: grant no relays)" },
	{ "relay-seconds", 0, RV_OPT_UINT, SZ(relay_s), O(relay_s), 10, 7 * 86400, NULL, "S",
	  "a relay's longest life" },
	{ "relay-pps", 0, RV_OPT_UINT, SZ(relay_pps), O(relay_pps), 1, 10000000, NULL, "N",
	  "datagrams per second each side may relay" },
	{ "relay-burst", 0, RV_OPT_UINT, SZ(relay_burst), O(relay_burst), 1, 10000000, NULL, "N",
	  "... burst" },
	{ "relay-idle", 0, RV_OPT_UINT, SZ(relay_idle_s), O(relay_idle_s), 5, 86400, NULL, "S",
	  "a relay nothing crossed for S seconds ends" },
	{ "relay-max", 0, RV_OPT_UINT, SZ(relay_max), O(relay_max), 1, CTL_RELAYS, NULL, "N",
	  "relays at once" },
	{ "verbose", 'v', RV_OPT_BOOL, SZ(verbose), O(verbose), 0, 0, NULL, NULL,
	  "log every request" },
	{ "json", 0, RV_OPT_BOOL, SZ(json), O(json), 0, 0, NULL, NULL,
	  "machine-readable output for admin commands" },
	{ "rotate", 0, RV_OPT_BOOL, SZ(rotate), O(rotate), 0, 0, NULL, NULL,
	  "keygen: add a new ticket signing key (old ones stay valid)" },
	{ 0 },
};

void ctl_conf_defaults(struct ctl_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->role = CTL_ROLE_BOTH;
	snprintf(c->db, sizeof(c->db), "rvcontrol.db");
	snprintf(c->keys, sizeof(c->keys), "keys");
	c->ticket_lifetime_s = 86400;
	c->expiry_s = 90;
	c->refresh_s = 25;
	c->nonce_lifetime_s = 60;
	c->clock_skew_s = 300;
	c->max_spray = 256;
	c->connect_rate = 60;
	/* Δ and range probes of a few attempts a second, with room to retry. */
	c->probe_rate = 50;
	c->probe_burst = 100;
	c->group_max = 256;
	/* A video call's worth an hour, at a pace no flood would enjoy. */
	c->relay_mb = 1024;
	c->relay_s = 3600;
	c->relay_pps = 2000;
	c->relay_burst = 500;
	c->relay_idle_s = 60;
	c->relay_max = CTL_RELAYS;
}

int ctl_conf_check(const struct ctl_conf *c, bool daemon, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (daemon && !c->dataplane[0] && c->listen.family == RV_AF_NONE)
		bad = "give 'dataplane' (behind rvdp) or 'listen' (standalone UDP), or both";
	else if (c->refresh_s >= c->expiry_s)
		bad = "'refresh' must be shorter than 'expiry'";
	else if (!c->db[0])
		bad = "'db' must name a file";
	if (!bad)
		return 0;
	snprintf(err, errlen, "%s", bad);
	return -EINVAL;
}

const char *ctl_role_str(int role)
{
	return role >= 0 && role <= CTL_ROLE_LOCATOR ? roles[role] : "?";
}
