/* rvpeer — the peer's command line over libpeer (peer/rvp.h); main.c is glue.
 *
 *   rvpeer [options] COMMAND [options] [ARGS]
 *
 * A subcommand table drives dispatch and --help; one option table serves the
 * flags, the --config file and the help (proto/conf.h). Options go before
 * and after the command name and between its arguments. Human output by
 * default; --json prints one object per command (one per event for listen
 * and connect --chat) on stdout and nothing else there. Errors go to stderr.
 * Exit codes: 0 ok, 1 the operation failed, 2 bad usage or configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "peer/cli.h"
#include "proto/conf.h"
#include "proto/nat.h"
#include "proto/ticket.h"

#define SLOTS       8    /* connections listen serves at once */
#define MEMBERS_MAX 1024 /* group members listed */
#define ARGS_MAX    64

/* --- settings ------------------------------------------------------------ */

#define O(f)  offsetof(struct cli, f)
#define SZ(f) (uint32_t)sizeof(((struct cli *)0)->f)

static const struct rv_opt opts[] = {
	{ "config", 'c', RV_OPT_CONFIG, 0, 0, 0, 0, NULL, "FILE",
	  "read settings from FILE (key = value; flags override it)" },
	{ "server", 's', RV_OPT_ADDR, 0, O(server), 3478, 0, NULL, "IP[:PORT]",
	  "the rendezvous server (every network command needs it)" },
	{ "server-alt", 0, RV_OPT_ADDR, 0, O(server_alt), 3478, 0, NULL, "IP[:PORT]",
	  "its alternate address (otherwise learned by classification)" },
	{ "bind", 'b', RV_OPT_ADDR, 0, O(bind), 0, 0, NULL, "IP[:PORT]",
	  "local address of the registration socket (0.0.0.0:0)" },
	{ "device-key", 'k', RV_OPT_STR, SZ(device_key), O(device_key), 0, 0, NULL, "FILE",
	  "the device's key file (made by device-keygen)" },
	{ "nat", 'n', RV_OPT_STR, SZ(nat), O(nat), 0, 0, NULL, "TYPE",
	  "declare the NAT, skip classification: none|full-cone|restricted|\n"
	  "                                 port-restricted|addr-symmetric|port-symmetric (FC R PR "
	  "AS PS)" },
	{ "alloc", 0, RV_OPT_STR, SZ(alloc), O(alloc), 0, 0, NULL, "MODE",
	  "with --nat: port allocation preserving|sequential|random" },
	{ "delta", 0, RV_OPT_INT, SZ(delta), O(delta), -32767, 32767, NULL, "N",
	  "with --nat: port differential (sequential: 1 unless given)" },
	{ "hops", 0, RV_OPT_UINT, SZ(hops), O(hops), 0, 64, NULL, "N",
	  "with --nat: hop count to the NAT" },
	{ "app-id", 0, RV_OPT_STR, SZ(app_id), O(app_id), 0, 0, NULL, "ID",
	  "application ID given at registration and matching" },
	{ "nickname", 0, RV_OPT_STR, SZ(nickname), O(nickname), 0, 0, NULL, "NAME",
	  "nickname other peers see" },
	{ "group", 'g', RV_OPT_STR, SZ(group), O(group), 0, 0, NULL, "NAME",
	  "join group NAME at registration" },
	{ "attr", 0, RV_OPT_STR, SZ(attr), O(attr), 0, 0, NULL, "KEY=VALUE[,...]",
	  "community attributes (repeatable); KEY: a number or\n"
	  "                                 app-type|level|age-band|region" },
	{ "seeking", 0, RV_OPT_BOOL, SZ(seeking), O(seeking), 0, 0, NULL, NULL,
	  "tell the server this peer wants a partner" },
	{ "timeout", 't', RV_OPT_UINT, SZ(timeout_ms), O(timeout_ms), 100, 3600000, NULL, "MS",
	  "limit of each blocking step" },
	{ "relay-first", 0, RV_OPT_BOOL, SZ(relay_first), O(relay_first), 0, 0, NULL, NULL,
	  "connect: through the server's relay at once, then move to a direct path" },
	{ "upgrade-every", 0, RV_OPT_UINT, SZ(upgrade_s), O(upgrade_s), 1, 86400, NULL, "S",
	  "a relayed connection tries for a direct path after S s, then less often" },
	{ "json", 0, RV_OPT_BOOL, SZ(json), O(json), 0, 0, NULL, NULL,
	  "machine-readable output: one JSON object per result" },
	{ "timeline", 'T', RV_OPT_BOOL, SZ(timeline), O(timeline), 0, 0, NULL, NULL,
	  "print every step the library takes on stderr" },
	{ "verbose", 'v', RV_OPT_BOOL, SZ(verbose), O(verbose), 0, 0, NULL, NULL,
	  "say what rvpeer does on stderr" },
	{ "stay", 0, RV_OPT_UINT, SZ(stay_s), O(stay_s), 0, 1u << 30, NULL, "S",
	  "keep the registration refreshed S seconds, then say bye" },
	{ "echo", 'e', RV_OPT_BOOL, SZ(echo), O(echo), 0, 0, NULL, NULL,
	  "send every datagram back" },
	{ "count", 0, RV_OPT_UINT, SZ(count), O(count), 0, 1000000000, NULL, "N",
	  "serve N connections, then stop (0: forever)" },
	{ "save", 0, RV_OPT_STR, SZ(save), O(save), 0, 0, NULL, "DIR",
	  "accept files into DIR (refused otherwise)" },
	{ "message", 'm', RV_OPT_STR, SZ(message), O(message), 0, 0, NULL, "TEXT",
	  "send TEXT and wait for its echo" },
	{ "chat", 0, RV_OPT_BOOL, SZ(chat), O(chat), 0, 0, NULL, NULL,
	  "send stdin's lines, print what arrives (until EOF or Ctrl-C)" },
	{ "send", 0, RV_OPT_STR, SZ(send), O(send), 0, 0, NULL, "FILE",
	  "send FILE, checked end to end with SHA-256" },
	{ "require", 0, RV_OPT_STR, SZ(require), O(require), 0, 0, NULL, "KEY=MIN..MAX[,...]",
	  "requirements (repeatable; KEY=N for one value); KEY as for --attr" },
	{ "device-id", 0, RV_OPT_STR, SZ(device_id), O(device_id), 0, 0, NULL, "ID",
	  "the new device's ID (1..64 printable characters, no spaces)" },
	{ "out", 'o', RV_OPT_STR, SZ(out_path), O(out_path), 0, 0, NULL, "FILE",
	  "where to write the key (mode 0600; never overwritten)" },
	{ 0 },
};

static void cli_defaults(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 10000;
}

static int load_file(void *ctx, const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	long n;

	(void)ctx;
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
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

static const struct rv_conf_loader loader = { load_file, release_file, NULL };

static int parse_locator(const char *s, uint8_t out[RV_LOCATOR_LEN])
{
	return strlen(s) == 2 * RV_LOCATOR_LEN ? rv_hex_decode(s, out, RV_LOCATOR_LEN) : -EINVAL;
}

static int parse_i32(const char *s, int32_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < INT32_MIN || v > INT32_MAX)
		return -EINVAL;
	*out = (int32_t)v;
	return 0;
}

static const char *const key_names[] = { [RV_KEY_APP_TYPE] = "app-type",
	                                 [RV_KEY_LEVEL] = "level",
	                                 [RV_KEY_AGE_BAND] = "age-band",
	                                 [RV_KEY_REGION] = "region" };

/* One "KEY=A" or "KEY=A..B" item (b = a without a range). */
static int parse_item(const char *text, uint16_t *key, int32_t *a, int32_t *b, bool *range)
{
	char item[64], *eq, *dots;
	int32_t k;

	if ((size_t)snprintf(item, sizeof(item), "%s", text) >= sizeof(item) ||
	    !(eq = strchr(item, '=')))
		return -EINVAL;
	*eq++ = 0;
	*key = 0;
	for (unsigned i = 1; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (!strcmp(item, key_names[i]))
			*key = (uint16_t)i;
	if (!*key && (parse_i32(item, &k) < 0 || k < 1 || k > 65535))
		return -EINVAL;
	if (!*key)
		*key = (uint16_t)k;
	dots = strstr(eq, "..");
	*range = dots != NULL;
	if (dots)
		*dots = 0;
	if (parse_i32(eq, a) < 0 || (dots && parse_i32(dots + 2, b) < 0))
		return -EINVAL;
	if (!dots)
		*b = *a;
	return *a <= *b ? 0 : -EINVAL;
}

/* "--attr level=42,age=3" into the community record. */
static int parse_attrs(const struct cli *c, struct rv_community *out)
{
	char list[sizeof(c->attr)], *save = NULL;

	memset(out, 0, sizeof(*out));
	out->flags = c->seeking ? RV_COMM_SEEKING : 0;
	snprintf(list, sizeof(list), "%s", c->attr);
	for (char *it = strtok_r(list, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		struct rv_kv *x = &out->attrs[out->n];
		int32_t hi;
		bool range;

		if (out->n == RV_COMM_ATTRS)
			return cli_usage_error(c, "--attr: at most %d attributes", RV_COMM_ATTRS);
		if (parse_item(it, &x->key, &x->value, &hi, &range) < 0 || range)
			return cli_usage_error(c, "--attr: '%s' is not KEY=VALUE", it);
		out->n++;
	}
	return 0;
}

/* "--require level=10..50,region=3" into requirements; returns how many. */
static int parse_require(const struct cli *c, struct rv_require *req)
{
	char list[sizeof(c->require)], *save = NULL;
	int n = 0;

	snprintf(list, sizeof(list), "%s", c->require);
	for (char *it = strtok_r(list, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		bool range;

		if (n == RV_REQUIRE_MAX)
			return -cli_usage_error(c, "--require: at most %d requirements",
			                        RV_REQUIRE_MAX);
		if (parse_item(it, &req[n].key, &req[n].min, &req[n].max, &range) < 0)
			return -cli_usage_error(
			        c, "--require: '%s' is not KEY=MIN..MAX (MIN <= MAX)", it);
		n++;
	}
	return n;
}

/* --nat, --alloc, --delta, --hops: the characteristic declared instead of
 * measured (type 0 when --nat is absent). Returns 0 or 2 (bad usage). */
static int nat_declared(const struct cli *c, struct rv_nat_info *n)
{
	enum rv_map m;
	enum rv_filt f;
	int t, a = RV_ALLOC_UNKNOWN;

	memset(n, 0, sizeof(*n));
	if (!c->nat[0])
		return c->alloc[0] ? cli_usage_error(c, "--alloc goes with --nat") : 0;
	t = rv_nat_type_parse(c->nat);
	if (t < 0 || rv_nat_type_behaviour((enum rv_nat_type)t, &m, &f) < 0)
		return cli_usage_error(
		        c,
		        "--nat: '%s' is not none|full-cone|restricted|port-restricted|"
		        "addr-symmetric|port-symmetric (or FC|R|PR|AS|PS)",
		        c->nat);
	if (c->alloc[0] && (a = rv_alloc_parse(c->alloc)) < 0)
		return cli_usage_error(c, "--alloc: '%s' is not preserving|sequential|random",
		                       c->alloc);
	n->type = (uint8_t)t;
	n->map = (uint8_t)m;
	n->filt = (uint8_t)f;
	n->alloc = (uint8_t)a;
	n->delta = c->delta ? c->delta : a == RV_ALLOC_SEQUENTIAL ? 1 : 0;
	n->hops = c->hops;
	if (t == RV_NAT_NONE || t == RV_NAT_FULL_CONE)
		n->flags |= RV_NAT_FLAG_DIRECT;
	return 0;
}

/* --- the session: classify, auth, register ------------------------------- */

enum stage { ST_CREATE, ST_AUTH, ST_REGISTER };

struct session {
	struct rvp *p;
	bool registered;
	bool declared; /* --nat */
};

static void on_timeline(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "timeline %s\n", line);
}

static int classify(struct cli *c, struct rvp *p, struct rv_nat_info *n)
{
	int rc;

	cli_note(c, "classifying the NAT");
	rc = rvp_classify(p, n);
	if (rc == -EPROTONOSUPPORT) {
		fprintf(stderr,
		        "rvpeer %s: classify: the server named no alternate address (give "
		        "--server-alt, or declare the NAT with --nat)\n",
		        c->cmd);
		return 1;
	}
	return rc < 0 ? cli_failed(c, "classify", rc) : 0;
}

/* Create the peer and take it up to `upto`: auth and register (classifying
 * first unless --nat) for every network command. Returns an exit code;
 * session_close() in every case. */
static int session_open(struct cli *c, enum stage upto, struct session *s)
{
	struct rvp_conf conf;
	struct rv_nat_info nat;
	char err[600];
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&conf, 0, sizeof(conf));
	if (c->server.family == RV_AF_NONE)
		return cli_usage_error(c, "needs --server IP[:PORT]");
	if (c->server.family != RV_AF_INET ||
	    (c->server_alt.family && c->server_alt.family != RV_AF_INET) ||
	    (c->bind.family && c->bind.family != RV_AF_INET))
		return cli_usage_error(c, "--server, --server-alt and --bind: IPv4 only");
	if ((rc = nat_declared(c, &conf.nat)) || (rc = parse_attrs(c, &conf.community)))
		return rc;
	if (upto >= ST_AUTH) {
		if (!c->device_key[0])
			return cli_usage_error(
			        c, "needs --device-key FILE (make one: rvpeer device-keygen)");
		rc = rvp_device_load(c->device_key, conf.device_id, sizeof(conf.device_id),
		                     conf.device_sk, err, sizeof(err));
		if (rc < 0) {
			sodium_memzero(&conf, sizeof(conf));
			fprintf(stderr, "rvpeer %s: --device-key %s\n", c->cmd, err);
			return 2;
		}
	} else {
		/* Classification authenticates nothing; rvp_create wants an ID anyway. */
		snprintf(conf.device_id, sizeof(conf.device_id), "rvpeer-classify");
	}
	conf.server = c->server;
	conf.server_alt = c->server_alt;
	conf.bind = c->bind;
	memcpy(conf.app_id, c->app_id, sizeof(conf.app_id));
	memcpy(conf.nickname, c->nickname, sizeof(conf.nickname));
	memcpy(conf.group, c->group, sizeof(conf.group));
	conf.timeout_ms = c->timeout_ms;
	conf.relay_first = c->relay_first;
	conf.upgrade_ms = c->upgrade_s ? c->upgrade_s * 1000u : 0;
	conf.timeline = c->timeline ? on_timeline : NULL;
	s->declared = conf.nat.type != RV_NAT_UNKNOWN;
	s->p = rvp_create(&conf);
	rc = errno;
	sodium_memzero(&conf, sizeof(conf));
	if (!s->p)
		return cli_failed(c, "create", -rc);
	if (upto >= ST_REGISTER && !s->declared && (rc = classify(c, s->p, &nat)))
		return rc;
	if (upto >= ST_AUTH) {
		cli_note(c, "authenticating");
		if ((rc = rvp_auth(s->p)) < 0)
			return cli_failed(c, "auth", rc);
	}
	if (upto >= ST_REGISTER) {
		cli_note(c, "registering");
		if ((rc = rvp_register(s->p)) < 0)
			return cli_failed(c, "register", rc);
		s->registered = true;
	}
	return 0;
}

static void session_close(struct cli *c, struct session *s)
{
	if (s->registered) {
		int rc = rvp_bye(s->p);
		if (rc < 0)
			cli_note(c, "bye: %s", rvp_strerror(rc));
	}
	rvp_free(s->p);
}

/* --- printing ------------------------------------------------------------- */

static void print_registration(struct cli *c, const struct session *s, const char *event)
{
	const struct rv_nat_info *n = rvp_nat(s->p);
	char loc[33], a[RV_ADDR_STRLEN];

	cli_hex_locator(rvp_locator(s->p), loc);
	cli_open(&c->o, NULL, '{');
	if (event)
		cli_kv(&c->o, "event", CLI_STR | CLI_JSON, "%s", event);
	cli_kv(&c->o, "locator", CLI_STR, "%s", loc);
	cli_kv(&c->o, "mapped", CLI_STR, "%s", rv_addr_fmt(rvp_mapped(s->p), a, sizeof(a)));
	cli_kv(&c->o, "nat", CLI_STR, "%s", rv_nat_type_str(n->type));
	cli_kv(&c->o, "alloc", CLI_STR, "%s", rv_alloc_str(n->alloc));
	cli_kv(&c->o, "delta", CLI_RAW, "%d", n->delta);
	cli_kv(&c->o, "nat_source", CLI_STR, "%s", s->declared ? "declared" : "classified");
	cli_close(&c->o, '}');
}

/* --- commands ---------------------------------------------------------------- */

static bool device_id_ok(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return n > 0 && n <= RV_DEVICE_ID_MAX;
}

static int cmd_keygen(struct cli *c, int argc, char **argv)
{
	uint8_t pk[32], sk[64];
	char pkhex[65], skhex[129];
	FILE *f;
	int fd, ok;

	(void)argv;
	if (argc)
		return cli_usage_error(c, "takes no arguments");
	if (!device_id_ok(c->device_id))
		return cli_usage_error(
		        c, "needs --device-id ID (1..64 printable characters, no spaces)");
	if (!c->out_path[0])
		return cli_usage_error(c, "needs --out FILE");
	if (sodium_init() < 0)
		return cli_failed(c, "libsodium", -EIO);
	fd = open(c->out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rvpeer %s: %s: %s%s\n", c->cmd, c->out_path, strerror(errno),
		        errno == EEXIST ? " (a key is never overwritten)" : "");
		return 1;
	}
	crypto_sign_keypair(pk, sk);
	rv_hex_encode(pk, sizeof(pk), pkhex);
	rv_hex_encode(sk, sizeof(sk), skhex);
	f = fdopen(fd, "w");
	ok = f && fprintf(f,
	                  "# rvpeer device key: keep it secret. Its line for the maker's "
	                  "registry:\n# %s %s\ndevice-id %s\nsecret %s\n",
	                  c->device_id, pkhex, c->device_id, skhex) > 0;
	ok = (f ? fclose(f) == 0 : close(fd) == 0) && ok;
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(skhex, sizeof(skhex));
	if (!ok) {
		fprintf(stderr, "rvpeer %s: %s: %s\n", c->cmd, c->out_path, strerror(errno));
		unlink(c->out_path);
		return 1;
	}
	if (!c->o.json) {
		printf("%s %s\n", c->device_id, pkhex);
		return 0;
	}
	cli_open(&c->o, NULL, '{');
	cli_kv(&c->o, "device_id", CLI_STR, "%s", c->device_id);
	cli_kv(&c->o, "pubkey", CLI_STR, "%s", pkhex);
	cli_kv(&c->o, "key_file", CLI_STR, "%s", c->out_path);
	cli_close(&c->o, '}');
	return 0;
}

static int cmd_classify(struct cli *c, int argc, char **argv)
{
	struct session s;
	struct rv_nat_info n;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage_error(c, "takes no arguments");
	rc = session_open(c, ST_CREATE, &s);
	if (rc == 0 && (rc = classify(c, s.p, &n)) == 0) {
		cli_open(&c->o, NULL, '{');
		cli_kv(&c->o, "mapping", CLI_STR, "%s", rv_map_str(n.map));
		cli_kv(&c->o, "filtering", CLI_STR, "%s", rv_filt_str(n.filt));
		cli_kv(&c->o, "type", CLI_STR, "%s", rv_nat_type_str(n.type));
		cli_kv(&c->o, "allocation", CLI_STR, "%s", rv_alloc_str(n.alloc));
		cli_kv(&c->o, "delta", CLI_RAW, "%d", n.delta);
		cli_kv(&c->o, "background_rate", CLI_RAW, "%.1f", n.bg_rate_x10 / 10.0);
		cli_kv(&c->o, "hops", CLI_RAW, "%u", n.hops);
		cli_kv(&c->o, "direct", CLI_RAW, "%s",
		       n.flags & RV_NAT_FLAG_DIRECT ? "true" : "false");
		cli_close(&c->o, '}');
	}
	session_close(c, &s);
	return rc;
}

static int cmd_auth(struct cli *c, int argc, char **argv)
{
	struct session s;
	char loc[33];
	int rc;

	(void)argv;
	if (argc)
		return cli_usage_error(c, "takes no arguments");
	rc = session_open(c, ST_AUTH, &s);
	if (rc == 0) {
		cli_hex_locator(rvp_locator(s.p), loc);
		if (c->o.json)
			printf("{\"locator\": \"%s\"}\n", loc);
		else
			printf("%s\n", loc);
	}
	session_close(c, &s);
	return rc;
}

static int cmd_register(struct cli *c, int argc, char **argv)
{
	struct session s;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage_error(c, "takes no arguments");
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0) {
		uint64_t end = cli_now_ms() + (uint64_t)c->stay_s * 1000, now;

		print_registration(c, &s, NULL);
		if (c->stay_s) {
			cli_catch_signals();
			cli_note(c, "staying registered for %" PRIu32 " s", c->stay_s);
		}
		while (c->stay_s && !cli_quit && (now = cli_now_ms()) < end)
			(void)rvp_process(s.p, (int)(end - now < 1000 ? end - now : 1000));
	}
	session_close(c, &s);
	return rc;
}

static int cmd_lookup(struct cli *c, int argc, char **argv)
{
	uint8_t loc[RV_LOCATOR_LEN];
	struct session s;
	struct rv_peer r;
	int rc;

	if (argc != 1 || parse_locator(argv[0], loc) < 0)
		return cli_usage_error(c, "needs one LOCATOR (32 hex digits)");
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0) {
		int got = rvp_lookup(s.p, loc, &r);

		if (got < 0) {
			rc = cli_failed(c, "lookup", got);
		} else {
			cli_peer_header(&c->o);
			cli_print_peer(&c->o, &r);
		}
	}
	session_close(c, &s);
	return rc;
}

static int cmd_presence(struct cli *c, int argc, char **argv)
{
	uint8_t loc[RV_LOCATORS_MAX][RV_LOCATOR_LEN];
	bool online[RV_LOCATORS_MAX];
	struct session s;
	int rc, got;

	if (argc < 1 || argc > RV_LOCATORS_MAX)
		return cli_usage_error(c, "needs 1..%d LOCATORs", RV_LOCATORS_MAX);
	for (int i = 0; i < argc; i++)
		if (parse_locator(argv[i], loc[i]) < 0)
			return cli_usage_error(c, "'%s' is not a locator (32 hex digits)", argv[i]);
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0 && (got = rvp_presence(s.p, loc, (size_t)argc, online)) < 0) {
		rc = cli_failed(c, "presence", got);
	} else if (rc == 0) {
		cli_open(&c->o, NULL, '{');
		cli_open(&c->o, "presence", '[');
		for (int i = 0; i < argc; i++) {
			if (!c->o.json)
				printf("%s  %s\n", argv[i], online[i] ? "online" : "offline");
			cli_open(&c->o, NULL, '{');
			cli_kv(&c->o, "locator", CLI_STR | CLI_JSON, "%s", argv[i]);
			cli_kv(&c->o, "online", CLI_RAW | CLI_JSON, "%s",
			       online[i] ? "true" : "false");
			cli_close(&c->o, '}');
		}
		cli_close(&c->o, ']');
		cli_close(&c->o, '}');
	}
	session_close(c, &s);
	return rc;
}

static int cmd_group(struct cli *c, int argc, char **argv)
{
	static const char *const ops[] = { NULL, "create", "join", "leave", "list", "query" };
	static const char *const done[] = { NULL, "created", "joined", "left", "", "" };
	static struct rv_peer peers[MEMBERS_MAX];
	struct session s;
	uint32_t total = 0;
	int op = 0, rc, n;

	for (int i = 1; argc == 2 && i <= RV_GROUP_QUERY; i++)
		if (!strcmp(argv[0], ops[i]))
			op = i;
	if (!op)
		return cli_usage_error(c, "needs create|join|leave|list|query NAME");
	if (!argv[1][0] || strlen(argv[1]) > RV_GROUP_ID_MAX)
		return cli_usage_error(c, "a group NAME has 1..%d bytes", RV_GROUP_ID_MAX);
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0 &&
	    (n = rvp_group(s.p, (enum rv_group_op)op, argv[1], peers, MEMBERS_MAX, &total)) < 0) {
		rc = cli_failed(c, ops[op], n);
	} else if (rc == 0) {
		cli_open(&c->o, NULL, '{');
		cli_kv(&c->o, "group", CLI_STR | CLI_JSON, "%s", argv[1]);
		cli_kv(&c->o, "op", CLI_STR | CLI_JSON, "%s", ops[op]);
		if (op == RV_GROUP_LIST || op == RV_GROUP_QUERY) {
			cli_kv(&c->o, "members", CLI_RAW | CLI_JSON, "%" PRIu32, total);
			cli_print_peers(&c->o, peers, (size_t)n);
			if (!c->o.json)
				printf("%d shown, %" PRIu32 " in the group\n", n, total);
		} else if (!c->o.json) {
			printf("%s group %s\n", done[op], argv[1]);
		}
		cli_close(&c->o, '}');
	}
	session_close(c, &s);
	return rc;
}

static int cmd_match(struct cli *c, int argc, char **argv)
{
	struct rv_require req[RV_REQUIRE_MAX];
	struct rv_peer peers[RV_PEERS_MAX];
	uint8_t via[RV_LOCATOR_LEN], zero[RV_LOCATOR_LEN] = { 0 };
	struct session s;
	int n_req, rc, n;

	(void)argv;
	if (argc)
		return cli_usage_error(c, "takes no arguments (requirements go in --require)");
	if ((n_req = parse_require(c, req)) < 0)
		return -n_req;
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0 && (n = rvp_match(s.p, req, (size_t)n_req, peers, RV_PEERS_MAX, via)) < 0) {
		rc = cli_failed(c, "match", n);
	} else if (rc == 0) {
		char loc[33];
		bool has_via = memcmp(via, zero, sizeof(via)) != 0;

		cli_hex_locator(via, loc);
		cli_open(&c->o, NULL, '{');
		cli_print_peers(&c->o, peers, (size_t)n);
		if (has_via)
			cli_kv(&c->o, "via", CLI_STR, "%s", loc);
		else
			cli_kv(&c->o, "via", CLI_RAW | CLI_JSON, "null");
		if (!c->o.json && !n)
			printf("no partner fits\n");
		cli_close(&c->o, '}');
	}
	session_close(c, &s);
	return rc;
}

/* why: cli_serve's result, 0 when we stop. */
static void slot_close(struct cli *c, struct cli_slot *sl, int why)
{
	const char *reason = cli_end_reason(sl->k, why);

	cli_event_open(c, "closed", &sl->info);
	cli_kv(&c->o, "reason", CLI_STR | CLI_JSON, "%s", reason);
	if (!c->o.json) {
		char loc[33];
		cli_hex_locator(sl->info.partner_locator, loc);
		printf("connection with %s closed (%s%s)\n", loc,
		       why == -ECONNABORTED ? "the server ended the relay: " : "", reason);
	}
	cli_close(&c->o, '}');
	cli_rx_abort(&sl->f);
	rvp_close(sl->k);
	sl->k = NULL;
}

static int cmd_listen(struct cli *c, int argc, char **argv)
{
	static struct cli_slot slots[SLOTS];
	struct session s;
	struct stat st;
	unsigned accepted = 0, open = 0;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage_error(c, "takes no arguments");
	if (c->save[0] && (stat(c->save, &st) < 0 || !S_ISDIR(st.st_mode)))
		return cli_usage_error(c, "--save %s: not a directory", c->save);
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0) {
		print_registration(c, &s, "registered");
		cli_catch_signals();
		cli_note(c, "waiting for partners (Ctrl-C stops)");
	}
	while (rc == 0 && !cli_quit && !(c->count && accepted >= c->count && !open)) {
		for (unsigned i = 0; i < SLOTS && (!c->count || accepted < c->count); i++) {
			struct cli_slot *sl = &slots[i];

			if (sl->k || rvp_accept(s.p, 0, &sl->k) < 0)
				continue;
			memset(&sl->f, 0, sizeof(sl->f));
			rvp_conn_info(sl->k, &sl->info);
			accepted++;
			open++;
			cli_event_open(c, "connected", &sl->info);
			cli_print_connected(c, &sl->info);
			cli_close(&c->o, '}');
		}
		for (unsigned i = 0; i < SLOTS; i++) {
			int why = slots[i].k ? cli_serve(c, &slots[i], true) : 0;
			if (why < 0) {
				slot_close(c, &slots[i], why);
				open--;
			}
		}
		(void)rvp_process(s.p, 1000);
	}
	for (unsigned i = 0; i < SLOTS; i++)
		if (slots[i].k)
			slot_close(c, &slots[i], 0);
	session_close(c, &s);
	return rc;
}

static int cmd_connect(struct cli *c, int argc, char **argv)
{
	uint8_t loc[RV_LOCATOR_LEN];
	struct cli_tx t = { .fd = -1 };
	struct session s;
	struct cli_slot sl;
	int rc;

	if (argc != 1 || parse_locator(argv[0], loc) < 0)
		return cli_usage_error(c, "needs one LOCATOR (32 hex digits)");
	if (!!c->message[0] + c->chat + !!c->send[0] > 1)
		return cli_usage_error(c, "--message, --chat and --send go one at a time");
	if (c->send[0] && (rc = cli_tx_prepare(c, &t)))
		goto out;
	memset(&sl, 0, sizeof(sl));
	rc = session_open(c, ST_REGISTER, &s);
	if (rc == 0) {
		cli_note(c, "connecting to %s", argv[0]);
		if ((rc = rvp_connect(s.p, loc, &sl.k)) < 0)
			rc = cli_failed(c, "connect", rc);
	}
	if (rc == 0) {
		rvp_conn_info(sl.k, &sl.info);
		if (c->chat) {
			rc = cli_chat(c, s.p, &sl);
		} else {
			char hello[64];

			cli_open(&c->o, NULL, '{');
			cli_print_connected(c, &sl.info);
			cli_hex_locator(rvp_locator(s.p), hello + 11);
			memcpy(hello, "hello from ", 11);
			rc = c->send[0]      ? cli_tx_send(c, sl.k, &t)
			     : c->message[0] ? cli_echo_check(c, sl.k, c->message)
			                     : cli_echo_check(c, sl.k, hello);
			cli_close(&c->o, '}');
		}
		rvp_close(sl.k);
	}
	session_close(c, &s);
out:
	if (t.fd >= 0)
		close(t.fd);
	return rc;
}

/* --- the command table, help and main ------------------------------------------ */

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	const char *const *opts; /* its own options, for its --help */
	int (*fn)(struct cli *c, int argc, char **argv);
};

static int cmd_help(struct cli *c, int argc, char **argv);

static const char *const o_keygen[] = { "device-id", "out", NULL };
static const char *const o_register[] = { "stay", NULL };
static const char *const o_match[] = { "require", NULL };
static const char *const o_listen[] = { "echo", "count", "save", NULL };
static const char *const o_connect[] = { "message", "chat", "send", NULL };
static const char *const o_none[] = { NULL };

static const struct cmd cmds[] = {
	{ "device-keygen", "--device-id ID --out FILE",
	  "new Ed25519 device key; prints its line for rvcontrol import-devices", o_keygen,
	  cmd_keygen },
	{ "classify", "", "measure the NAT in front of this host (needs --server, no key)", o_none,
	  cmd_classify },
	{ "auth", "", "authenticate the device; prints its locator ID", o_none, cmd_auth },
	{ "register", "[--stay S]",
	  "classify (unless --nat), auth, register; prints how we are seen", o_register,
	  cmd_register },
	{ "lookup", "LOCATOR", "a peer's record: online, address, NAT", o_none, cmd_lookup },
	{ "presence", "LOCATOR...", "which of up to 32 peers are online", o_none, cmd_presence },
	{ "group", "create|join|leave|list|query NAME",
	  "group operations; list/query print members", o_none, cmd_group },
	{ "match", "[--require KEY=MIN..MAX,...]", "partners that fit the requirements", o_match,
	  cmd_match },
	{ "listen", "[--echo] [--count N] [--save DIR]",
	  "accept partners; print (and echo) what they send; receive files", o_listen, cmd_listen },
	{ "connect", "LOCATOR [--message TEXT|--chat|--send FILE]",
	  "open a direct path; default: send 'hello from <locator>', wait for its echo", o_connect,
	  cmd_connect },
	{ "help", "[COMMAND]", "this text, or a command's", o_none, cmd_help },
	{ NULL, NULL, NULL, NULL, NULL },
};

static bool listed(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

static bool is_cmd_opt(const char *name)
{
	for (const struct cmd *k = cmds; k->name; k++)
		if (listed(k->opts, name))
			return true;
	return false;
}

/* Help of the options in names (NULL: every global one). */
static void opts_help(FILE *out, const struct cli *c, const char *const *names)
{
	struct rv_opt sub[sizeof(opts) / sizeof(opts[0])];
	char help[8192];
	size_t n = 0;

	for (const struct rv_opt *o = opts; o->type != RV_OPT_END; o++)
		if (names ? listed(names, o->name) : !is_cmd_opt(o->name))
			sub[n++] = *o;
	memset(&sub[n], 0, sizeof(sub[n]));
	rv_conf_help(sub, c, help, sizeof(help));
	fputs(help, out);
}

static void usage(FILE *out, const struct cli *c)
{
	fprintf(out,
	        "usage: rvpeer [options] COMMAND [options] [ARGS]\n\n"
	        "The rendezvous peer: measures its NAT, authenticates and registers with the\n"
	        "server, finds partners, and opens direct UDP paths to them through both NATs.\n"
	        "\nCommands:\n");
	for (const struct cmd *k = cmds; k->name; k++) {
		char syn[96];
		int n = snprintf(syn, sizeof(syn), "%s %s", k->name, k->args);

		if (n <= 30)
			fprintf(out, "  %-31s%s\n", syn, k->help);
		else
			fprintf(out, "  %s\n  %-31s%s\n", syn, "", k->help);
	}
	fprintf(out, "\nOptions (also keys of the --config file; flags win):\n");
	opts_help(out, c, NULL);
	fprintf(out, "\nA command's own options: rvpeer COMMAND --help.\n"
	             "Exit status: 0 ok, 1 the operation failed, 2 bad usage.\n");
}

static void cmd_usage(FILE *out, const struct cli *c, const struct cmd *k)
{
	fprintf(out, "usage: rvpeer [options] %s %s\n\n%s.\n", k->name, k->args, k->help);
	if (k->opts[0]) {
		fprintf(out, "\nOptions of %s:\n", k->name);
		opts_help(out, c, k->opts);
	}
	fprintf(out, "\nOptions (also keys of the --config file; flags win):\n");
	opts_help(out, c, NULL);
	fprintf(out, "\nExit status: 0 ok, 1 the operation failed, 2 bad usage.\n");
}

static const struct cmd *find_cmd(const char *name)
{
	for (const struct cmd *k = cmds; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

static int cmd_help(struct cli *c, int argc, char **argv)
{
	const struct cmd *k = argc == 1 ? find_cmd(argv[0]) : NULL;

	if (argc > 1 || (argc == 1 && !k))
		return cli_usage_error(c, "unknown command '%s'", argv[0]);
	if (k)
		cmd_usage(stdout, c, k);
	else
		usage(stdout, c);
	return 0;
}

/* rv_conf keeps the last of a repeated flag: --attr and --require gather
 * theirs, comma-separated. */
static int gather(int argc, char **argv, const char *name, char *field, size_t cap)
{
	char all[512] = "";
	size_t len = strlen(name), used = 0;
	int n = 0;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i], *v = NULL;
		const struct rv_opt *o = NULL;

		if (a[0] != '-' || a[1] != '-')
			continue;
		if (!strncmp(a + 2, name, len) && (a[2 + len] == '=' || !a[2 + len]))
			v = a[2 + len] ? a + 3 + len : i + 1 < argc ? argv[++i] : "";
		else
			for (o = opts; o->type != RV_OPT_END && strcmp(o->name, a + 2); o++)
				;
		if (o && o->type != RV_OPT_END && o->type != RV_OPT_BOOL)
			i++; /* skip another option's value */
		if (!v)
			continue;
		used += (size_t)snprintf(all + used, used < sizeof(all) ? sizeof(all) - used : 0,
		                         "%s%s", n++ ? "," : "", v);
	}
	if (n < 2)
		return 0;
	if (used >= cap || used >= sizeof(all))
		return -E2BIG;
	memcpy(field, all, used + 1);
	return 0;
}

int main(int argc, char **argv)
{
	static struct cli c;
	const struct cmd *k;
	char err[700], *args[ARGS_MAX];
	int first, nargs = 0, rc;

	cli_defaults(&c);
	c.cmd = "";
	rc = rv_conf_args(opts, &c, argc, argv, &loader, &first, err, sizeof(err));
	if (rc == 1) {
		usage(stdout, &c);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "rvpeer: %s%s\n", err,
		        strstr(err, "--help") ? "" : " (see rvpeer --help)");
		return 2;
	}
	if (first >= argc) {
		usage(stderr, &c);
		return 2;
	}
	k = find_cmd(argv[first]);
	if (!k) {
		fprintf(stderr, "rvpeer: unknown command '%s' (see rvpeer --help)\n", argv[first]);
		return 2;
	}
	c.cmd = k->name;
	rc = rv_conf_args_mixed(opts, &c, argc - first, argv + first, &loader, args, ARGS_MAX,
	                        &nargs, err, sizeof(err));
	if (rc == 1) {
		cmd_usage(stdout, &c, k);
		return 0;
	}
	if (rc == 0 && (gather(argc, argv, "attr", c.attr, sizeof(c.attr)) < 0 ||
	                gather(argc, argv, "require", c.require, sizeof(c.require)) < 0)) {
		snprintf(err, sizeof(err), "--attr/--require: the values are too long together");
		rc = -E2BIG;
	}
	if (rc < 0) {
		fprintf(stderr, "rvpeer %s: %s", k->name, err);
		if (!strstr(err, "--help"))
			fprintf(stderr, " (see rvpeer %s --help)", k->name);
		fputc('\n', stderr);
		return 2;
	}
	c.o.json = c.json;
	return k->fn(&c, nargs, args);
}
