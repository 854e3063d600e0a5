/* rvcontrol — the rendezvous control plane; main.c is glue only.
 *
 *   rvcontrol [options] [COMMAND [ARGS]]     (no command: run the daemon)
 *
 * A subcommand table drives dispatch and --help. Exit codes: 0 ok, 1 the
 * command failed, 2 bad options or configuration.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_conf.h"
#include "ctl_core.h"
#include "ctl_devices.h"
#include "ctl_keys.h"
#include "ctl_server.h"
#include "ctl_store.h"
#include "proto/ticket.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int load_file(void *ctx, const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	long n;

	(void)ctx;
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (64 << 20) ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -EFBIG;
	}
	*buf = malloc((size_t)n + 1);
	if (!*buf) {
		fclose(f);
		return -ENOMEM;
	}
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return 0;
}

static void release_file(void *ctx, char *buf)
{
	(void)ctx;
	free(buf);
}

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(struct ctl_conf *conf, int argc, char **argv);
};

static const struct cmd cmds[];

static void usage(FILE *out)
{
	struct ctl_conf def;
	char help[8192];

	ctl_conf_defaults(&def);
	rv_conf_help(ctl_conf_opts, &def, help, sizeof(help));
	fprintf(out, "usage: rvcontrol [options] [COMMAND [ARGS]]\n\n"
	             "The rendezvous control plane: device authentication and tickets, the\n"
	             "locator/presence registry, groups, matching and connection brokering.\n"
	             "Without a command it runs the daemon (behind rvdp with --dataplane, or\n"
	             "standalone with --listen).\n\nCommands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(out, "  %-16s %-14s %s\n", c->name, c->args, c->help);
	fprintf(out, "\nOptions (also keys of the --config file; flags win):\n%s", help);
}

static struct ctl_store *open_store(const struct ctl_conf *conf, bool ro)
{
	char err[256];
	struct ctl_store *st = ctl_store_open(conf->db, ro, err, sizeof(err));

	if (!st)
		fprintf(stderr, "rvcontrol: %s: %s\n", conf->db, err);
	return st;
}

static int cmd_run(struct ctl_conf *conf, int argc, char **argv)
{
	static struct ctl c;
	struct ctl_keys keys;
	struct ctl_store *st;
	char err[512];
	int rc;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "rvcontrol: run takes no arguments\n");
		return 2;
	}
	if (ctl_conf_check(conf, true, err, sizeof(err)) < 0 ||
	    ctl_keys_load(&keys, conf->keys, err, sizeof(err)) < 0) {
		fprintf(stderr, "rvcontrol: %s\n", err);
		return 2;
	}
	st = open_store(conf, false);
	if (!st)
		return 1;
	if (ctl_init(&c, conf, &keys, st, err, sizeof(err)) < 0) {
		fprintf(stderr, "rvcontrol: %s\n", err);
		ctl_store_close(st);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr,
	        "rvcontrol: role %s, %" PRId64 " registrations and %" PRId64 " devices in %s\n",
	        ctl_role_str(conf->role), ctl_store_reg_count(st), ctl_store_device_count(st),
	        conf->db);
	rc = ctl_server_run(&c, &quit, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "rvcontrol: %s\n", err);
	else
		fprintf(stderr,
		        "rvcontrol: stopped (%" PRIu64 " requests, %" PRIu64 " malformed)\n",
		        c.ctr.rx, c.ctr.rx_bad);
	(void)ctl_store_checkpoint(st);
	ctl_store_close(st);
	return rc < 0 ? 1 : 0;
}

static int cmd_keygen(struct ctl_conf *conf, int argc, char **argv)
{
	char err[512];

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "rvcontrol: keygen takes no arguments (only --keys, --rotate)\n");
		return 2;
	}
	if (ctl_keys_generate(conf->keys, conf->rotate, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "rvcontrol: keygen: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_import(struct ctl_conf *conf, int argc, char **argv)
{
	struct ctl_device *devs;
	struct ctl_store *st;
	char *text, err[2048];
	size_t len;
	int n, rc;
	enum { MAX_DEVICES = 1000000 };

	if (argc != 1) {
		fprintf(stderr, "rvcontrol: usage: import-devices FILE\n");
		return 2;
	}
	rc = load_file(NULL, argv[0], &text, &len);
	if (rc < 0) {
		fprintf(stderr, "rvcontrol: %s: %s\n", argv[0], strerror(-rc));
		return 1;
	}
	devs = calloc(MAX_DEVICES, sizeof(*devs));
	if (!devs) {
		free(text);
		return 1;
	}
	n = ctl_devices_parse(text, len, devs, MAX_DEVICES, err, sizeof(err));
	free(text);
	if (n < 0) {
		fprintf(stderr, "rvcontrol: %s: nothing imported: %s\n", argv[0],
		        n == -ENOSPC ? "more than a million devices" : err);
		free(devs);
		return 1;
	}
	st = open_store(conf, false);
	rc = st ? ctl_store_device_import(st, devs, (size_t)n) : -EIO;
	if (rc == -EEXIST)
		fprintf(stderr, "rvcontrol: %s: nothing imported: %s\n", argv[0],
		        ctl_store_error(st));
	else if (rc < 0 && st)
		fprintf(stderr, "rvcontrol: %s: nothing imported: %s\n", argv[0],
		        ctl_store_error(st));
	else if (rc >= 0)
		printf("imported %d devices (%" PRId64 " in the registry)\n", n,
		       ctl_store_device_count(st));
	if (st)
		ctl_store_close(st);
	free(devs);
	return rc < 0 ? 1 : 0;
}

static int cmd_revoke(struct ctl_conf *conf, int argc, char **argv)
{
	struct ctl_keys keys;
	struct ctl_store *st;
	uint8_t loc[RV_LOCATOR_LEN];
	char err[512], hex[33];
	size_t len;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "rvcontrol: usage: revoke DEVICE-ID\n");
		return 2;
	}
	len = strlen(argv[0]);
	if (ctl_keys_load(&keys, conf->keys, err, sizeof(err)) < 0 || !keys.has_locator_id) {
		fprintf(stderr, "rvcontrol: revoke needs the locator-ID secret (%s)\n",
		        keys.has_locator_id ? err : "locator-id.key");
		return 2;
	}
	st = open_store(conf, false);
	if (!st)
		return 1;
	rc = ctl_store_device_revoke(st, (const uint8_t *)argv[0], len);
	if (rc == 0) {
		/* Tickets already issued are refused from the next refresh on. */
		ctl_keys_locator(&keys, (const uint8_t *)argv[0], len, loc);
		rc = ctl_store_locator_revoke(st, loc, now_ms() / 1000);
	}
	if (rc == -ENOENT)
		fprintf(stderr, "rvcontrol: no device '%s'\n", argv[0]);
	else if (rc < 0)
		fprintf(stderr, "rvcontrol: %s\n", ctl_store_error(st));
	else
		printf("revoked %s (locator %s)\n", argv[0], (ctl_locator_fmt(loc, hex), hex));
	ctl_store_close(st);
	return rc < 0 ? 1 : 0;
}

static void print_reg(const struct ctl_reg *g, uint64_t now, bool json)
{
	char loc[33], a[RV_ADDR_STRLEN];

	ctl_locator_fmt(g->locator, loc);
	rv_addr_fmt(&g->addr, a, sizeof(a));
	if (json)
		printf("{\"locator\": \"%s\", \"session\": \"%016" PRIx64
		       "\", \"address\": \"%s\", "
		       "\"nat\": \"%s\", \"alloc\": \"%s\", \"delta\": %d, \"nickname\": \"%s\", "
		       "\"app\": \"%s\", \"online\": %s, \"expires_in_ms\": %" PRId64 "}\n",
		       loc, g->session, a, rv_nat_type_str(g->nat.type), rv_alloc_str(g->nat.alloc),
		       g->nat.delta, g->nickname, g->app_id, g->expires_ms > now ? "true" : "false",
		       (int64_t)g->expires_ms - (int64_t)now);
	else
		printf("%s  %-22s %-16s %-10s %-12s %s\n", loc, a, rv_nat_type_str(g->nat.type),
		       rv_alloc_str(g->nat.alloc), g->nickname[0] ? g->nickname : "-",
		       g->expires_ms > now ? "online" : "expired");
}

struct list_ctx {
	uint64_t now;
	bool json;
	unsigned n;
};

static int list_one(void *ctx, const struct ctl_reg *g)
{
	struct list_ctx *x = ctx;

	if (g->expires_ms > x->now) {
		print_reg(g, x->now, x->json);
		x->n++;
	}
	return 0;
}

static int cmd_sessions(struct ctl_conf *conf, int argc, char **argv)
{
	struct ctl_store *st;
	struct list_ctx x = { now_ms(), conf->json, 0 };

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "rvcontrol: this command takes no arguments\n");
		return 2;
	}
	st = open_store(conf, true);
	if (!st)
		return 1;
	if (!x.json)
		printf("%-32s  %-22s %-16s %-10s %-12s %s\n", "LOCATOR", "ADDRESS", "NAT", "ALLOC",
		       "NICKNAME", "STATE");
	(void)ctl_store_reg_each(st, list_one, &x);
	if (!x.json)
		printf("%u online\n", x.n);
	ctl_store_close(st);
	return 0;
}

static int cmd_lookup(struct ctl_conf *conf, int argc, char **argv)
{
	uint8_t loc[RV_LOCATOR_LEN];
	struct ctl_store *st;
	struct ctl_reg g;
	uint64_t now = now_ms();
	int rc;

	if (argc != 1 || ctl_locator_parse(argv[0], loc) < 0) {
		fprintf(stderr, "rvcontrol: usage: lookup LOCATOR-ID (32 hex digits)\n");
		return 2;
	}
	st = open_store(conf, true);
	if (!st)
		return 1;
	rc = ctl_store_reg_get(st, loc, &g);
	if (rc == 0 && g.expires_ms > now)
		print_reg(&g, now, conf->json);
	else if (conf->json)
		printf("{\"locator\": \"%s\", \"online\": false}\n", argv[0]);
	else
		printf("%s offline\n", argv[0]);
	ctl_store_close(st);
	return 0;
}

/* Every member of a group, in join order, a page at a time. */
static int cmd_group(struct ctl_conf *conf, int argc, char **argv)
{
	uint8_t page[256][RV_LOCATOR_LEN];
	struct ctl_store *st;
	uint32_t total = 0, at = 0;
	int n;

	if (argc != 1 || !argv[0][0] || strlen(argv[0]) > RV_GROUP_ID_MAX) {
		fprintf(stderr, "rvcontrol: usage: group NAME (1 to %d bytes)\n", RV_GROUP_ID_MAX);
		return 2;
	}
	st = open_store(conf, true);
	if (!st)
		return 1;
	do {
		n = ctl_store_group_members(st, argv[0], at, page, 256, &total);
		if (n < 0) {
			fprintf(stderr, "rvcontrol: group %s: %s\n", argv[0],
			        n == -ENOENT ? "no such group" : ctl_store_error(st));
			ctl_store_close(st);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			char hex[2 * RV_LOCATOR_LEN + 1];
			rv_hex_encode(page[i], RV_LOCATOR_LEN, hex);
			printf(conf->json ? "{\"group\": \"%s\", \"locator\": \"%s\"}\n"
			                  : "%s %s\n",
			       argv[0], hex);
		}
		at += (uint32_t)n;
	} while (n > 0 && at < total);
	if (!conf->json)
		printf("%u members\n", total);
	ctl_store_close(st);
	return 0;
}

static int print_stat(void *ctx, const struct ctl_pair_stat *s)
{
	bool json = *(bool *)ctx;
	uint64_t ok = s->direct_ok + s->relayed;

	if (json)
		printf("{\"caller\": \"%s\", \"callee\": \"%s\", \"strategy\": \"%s\", "
		       "\"attempts\": %" PRIu64 ", \"direct\": %" PRIu64 ", \"relayed\": %" PRIu64
		       ", \"failed\": %" PRIu64 ", \"mean_ms\": %" PRIu64 ", \"packets\": %" PRIu64
		       ", \"relay_bytes\": %" PRIu64 ", \"relay_packets\": %" PRIu64 "}\n",
		       rv_nat_type_str(s->caller_nat), rv_nat_type_str(s->callee_nat),
		       rv_strategy_str(s->strategy), s->attempts, s->direct_ok, s->relayed,
		       s->failed, ok ? s->total_ms / ok : 0, s->packets, s->relay_bytes,
		       s->relay_packets);
	else
		printf("%-16s %-16s %-9s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
		       " %9" PRIu64 " %12" PRIu64 "\n",
		       rv_nat_type_str(s->caller_nat), rv_nat_type_str(s->callee_nat),
		       rv_strategy_str(s->strategy), s->attempts, s->direct_ok, s->relayed,
		       s->failed, ok ? s->total_ms / ok : 0, s->relay_bytes);
	return 0;
}

static int cmd_stats(struct ctl_conf *conf, int argc, char **argv)
{
	struct ctl_store *st;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "rvcontrol: this command takes no arguments\n");
		return 2;
	}
	st = open_store(conf, true);
	if (!st)
		return 1;
	if (conf->json)
		printf("{\"devices\": %" PRId64 ", \"registrations\": %" PRId64 "}\n",
		       ctl_store_device_count(st), ctl_store_reg_count(st));
	else
		printf("devices %" PRId64 ", registrations %" PRId64 "\n\n%-16s %-16s %-9s %8s "
		       "%8s %8s %8s %9s %12s\n",
		       ctl_store_device_count(st), ctl_store_reg_count(st), "CALLER", "CALLEE",
		       "STRATEGY", "ATTEMPTS", "DIRECT", "RELAYED", "FAILED", "MEAN(ms)",
		       "RELAY-BYTES");
	(void)ctl_store_stats_each(st, print_stat, &conf->json);
	ctl_store_close(st);
	return 0;
}

static int cmd_check(struct ctl_conf *conf, int argc, char **argv)
{
	struct ctl_store *st;
	char err[256];
	int rc;

	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "rvcontrol: this command takes no arguments\n");
		return 2;
	}
	st = open_store(conf, true);
	if (!st)
		return 1;
	rc = ctl_store_integrity(st, err, sizeof(err));
	printf("%s: %s\n", conf->db, rc == 0 ? "ok" : err);
	ctl_store_close(st);
	return rc < 0 ? 1 : 0;
}

static const struct cmd cmds[] = {
	{ "run", "", "run the daemon (the default)", cmd_run },
	{ "keygen", "[--rotate]", "create missing key files in --keys (rotate: new signing key)",
	  cmd_keygen },
	{ "import-devices", "FILE", "import the maker's registry: 'DEVICE-ID PUBKEY-HEX' lines",
	  cmd_import },
	{ "revoke", "DEVICE-ID", "revoke a device (refused at its next refresh)", cmd_revoke },
	{ "sessions", "", "list online registrations", cmd_sessions },
	{ "lookup", "LOCATOR", "show one registration", cmd_lookup },
	{ "group", "NAME", "list a group's members", cmd_group },
	{ "stats", "", "registry sizes and per-NAT-pair connection outcomes", cmd_stats },
	{ "check", "", "PRAGMA integrity_check on the database", cmd_check },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	struct rv_conf_loader loader = { load_file, release_file, NULL };
	struct ctl_conf conf;
	char err[512];
	int first, rc;

	ctl_conf_defaults(&conf);
	rc = rv_conf_args(ctl_conf_opts, &conf, argc, argv, &loader, &first, err, sizeof(err));
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "rvcontrol: %s (see rvcontrol --help)\n", err);
		return 2;
	}
	if (first >= argc)
		return cmd_run(&conf, 0, argv + argc);
	for (const struct cmd *c = cmds; c->name; c++) {

		if (strcmp(argv[first], c->name) != 0)
			continue;
		/* Options may follow the command, before or after its
		 * arguments: "rvcontrol group NAME --json". */
		char *args[8];
		int nargs;
		rc = rv_conf_args_mixed(ctl_conf_opts, &conf, argc - first, argv + first, &loader,
		                        args, 8, &nargs, err, sizeof(err));
		if (rc == 1) {
			usage(stdout);
			return 0;
		}
		if (rc < 0) {
			fprintf(stderr, "rvcontrol %s: %s\n", c->name, err);
			return 2;
		}
		return c->fn(&conf, nargs, args);
	}
	fprintf(stderr, "rvcontrol: unknown command '%s' (see rvcontrol --help)\n", argv[first]);
	return 2;
}
