/* Option tables: config files, flags overriding them, help, and every kind
 * of bad input naming the key. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto/conf.h"

struct cfg {
	bool verbose;
	uint16_t port;
	int32_t offset;
	uint64_t big;
	char path[16];
	struct rv_addr addr;
	int mode;
};

static const char *const modes[] = { "fast", "safe", NULL };

static const struct rv_opt opts[] = {
	{ "config", 'c', RV_OPT_CONFIG, 0, 0, 0, 0, NULL, "FILE", "read settings from FILE" },
	{ "verbose", 'v', RV_OPT_BOOL, 1, offsetof(struct cfg, verbose), 0, 0, NULL, NULL,
	  "log more" },
	{ "port", 'p', RV_OPT_UINT, 2, offsetof(struct cfg, port), 1, 65535, NULL, "N",
	  "UDP port" },
	{ "offset", 0, RV_OPT_INT, 4, offsetof(struct cfg, offset), -100, 100, NULL, "N",
	  "signed" },
	{ "big", 0, RV_OPT_UINT, 8, offsetof(struct cfg, big), 0, INT64_MAX, NULL, "N", "wide" },
	{ "path", 0, RV_OPT_STR, 16, offsetof(struct cfg, path), 0, 0, NULL, "PATH", "a path" },
	{ "addr", 0, RV_OPT_ADDR, 0, offsetof(struct cfg, addr), 3478, 0, NULL, "IP[:PORT]",
	  "an address" },
	{ "mode", 'm', RV_OPT_ENUM, 0, offsetof(struct cfg, mode), 0, 0, modes, "MODE", "mode" },
	{ 0 },
};

static struct cfg defaults(void)
{
	struct cfg c = { .port = 3478, .offset = -1 };
	strcpy(c.path, "/run/x");
	return c;
}

Test(conf, parses_a_config_file_with_comments_sections_and_spaces)
{
	struct cfg c = defaults();
	char err[128];
	const char text[] = "# comment\n"
	                    "; another\n"
	                    "[server]\n"
	                    "  port = 4000 \r\n"
	                    "verbose=yes\n"
	                    "offset = -7\n"
	                    "big = 0x10000000000\n"
	                    "path = /tmp/a b\n"
	                    "addr = 192.0.2.1\n"
	                    "mode = safe\n"
	                    "\n";

	cr_assert_eq(rv_conf_parse(opts, &c, text, sizeof(text) - 1, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(c.port, 4000);
	cr_assert(c.verbose);
	cr_assert_eq(c.offset, -7);
	cr_assert_eq(c.big, 0x10000000000ull);
	cr_assert_str_eq(c.path, "/tmp/a b");
	cr_assert_eq(c.addr.port, 3478, "default port comes from min");
	cr_assert_eq(c.mode, 1);
}

Test(conf, bad_lines_name_the_line_and_key_and_stop)
{
	struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "port = 70000\n", "line 1: 'port': 70000 is not in 1..65535" },
		{ "\n\nnope = 1\n", "line 3: unknown key 'nope'" },
		{ "port 4000\n", "line 1: expected 'key = value'" },
		{ "verbose = maybe\n", "line 1: 'verbose': 'maybe' is not a boolean" },
		{ "port = 12ab\n", "line 1: 'port': '12ab' is not a number" },
		{ "port =\n", "line 1: 'port': '' is not a number" },
		{ "path = 0123456789abcdef\n", "line 1: 'path': value longer than 15 bytes" },
		{ "addr = example.com\n", "line 1: 'addr': 'example.com' is not an IP[:PORT]" },
		{ "mode = slow\n", "line 1: 'mode': 'slow' is not one of the choices" },
		{ "offset = -101\n", "line 1: 'offset': -101 is not in -100..100" },
		{ "big = -1\n", "line 1: 'big': -1 is not in 0..9223372036854775807" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg c = defaults();
		char err[128] = "";
		cr_assert_lt(rv_conf_parse(opts, &c, cases[i].text, strlen(cases[i].text), err,
		                           sizeof(err)),
		             0, "case %zu", i);
		cr_assert_str_eq(err, cases[i].want);
		cr_assert_eq(c.port, 3478, "a bad file changes nothing before it");
	}
}

Test(conf, a_nul_byte_or_overlong_line_is_an_error)
{
	struct cfg c = defaults();
	char err[128];
	const char nul[] = "path = a\0b\n";
	char longline[700];

	cr_assert_lt(rv_conf_parse(opts, &c, nul, sizeof(nul) - 1, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "line 1: NUL byte");
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "path = ", 7);
	cr_assert_lt(rv_conf_parse(opts, &c, longline, sizeof(longline), err, sizeof(err)), 0);
	cr_assert_str_eq(err, "line 1: key or value too long");
}

struct files {
	const char *path, *text;
	int loads, releases;
};

static int load(void *ctx, const char *path, char **buf, size_t *len)
{
	struct files *f = ctx;

	if (strcmp(path, f->path) != 0)
		return -ENOENT;
	f->loads++;
	*buf = strdup(f->text);
	*len = strlen(f->text);
	return 0;
}

static void release(void *ctx, char *buf)
{
	((struct files *)ctx)->releases++;
	free(buf);
}

Test(conf, flags_override_the_config_file_in_any_order)
{
	struct cfg c = defaults();
	struct files f = { "/etc/x.conf", "port = 4000\npath = /from/file\nverbose = on\n", 0, 0 };
	struct rv_conf_loader l = { load, release, &f };
	char *argv[] = { "prog", "--port=5000", "-c", "/etc/x.conf", "--mode", "safe",
		         "sub",  "--port",      "1" };
	int first = 0;
	char err[128];

	cr_assert_eq(rv_conf_args(opts, &c, 9, argv, &l, &first, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.port, 5000, "the flag wins even though it came first");
	cr_assert_str_eq(c.path, "/from/file");
	cr_assert(c.verbose);
	cr_assert_eq(c.mode, 1);
	cr_assert_eq(first, 6, "stops at the first non-option");
	cr_assert_eq(f.loads, 1);
	cr_assert_eq(f.releases, 1);
}

Test(conf, flag_errors_name_the_flag)
{
	struct cfg c = defaults();
	struct files f = { "/etc/x.conf", "bogus = 1\n", 0, 0 };
	struct rv_conf_loader l = { load, release, &f };
	int first;
	char err[128];
	char *a1[] = { "prog", "--nope" };
	char *a2[] = { "prog", "--port" };
	char *a3[] = { "prog", "-p", "0" };
	char *a4[] = { "prog", "--config", "/etc/x.conf" };
	char *a5[] = { "prog", "--config", "/missing" };
	char *a6[] = { "prog", "-vp", "1" };

	cr_assert_eq(rv_conf_args(opts, &c, 2, a1, &l, &first, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "unknown option '--nope' (see --help)");
	cr_assert_eq(rv_conf_args(opts, &c, 2, a2, &l, &first, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "option '--port' needs a value");
	cr_assert_eq(rv_conf_args(opts, &c, 3, a3, &l, &first, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "'port': 0 is not in 1..65535");
	cr_assert_lt(rv_conf_args(opts, &c, 3, a4, &l, &first, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "/etc/x.conf: line 1: unknown key 'bogus'");
	cr_assert_eq(rv_conf_args(opts, &c, 3, a5, &l, &first, err, sizeof(err)), -ENOENT);
	cr_assert_eq(rv_conf_args(opts, &c, 3, a6, &l, &first, err, sizeof(err)), -ENOENT);
}

Test(conf, help_is_detected_and_double_dash_ends_options)
{
	struct cfg c = defaults();
	int first = 0;
	char err[64];
	char *a1[] = { "prog", "-v", "--help" };
	char *a2[] = { "prog", "-v", "--", "-p", "9" };

	cr_assert_eq(rv_conf_args(opts, &c, 3, a1, NULL, &first, err, sizeof(err)), 1);
	cr_assert_eq(rv_conf_args(opts, &c, 5, a2, NULL, &first, err, sizeof(err)), 0);
	cr_assert_eq(first, 3);
	cr_assert_eq(c.port, 3478);
}

Test(conf, help_lists_every_option_with_its_current_value)
{
	struct cfg c = defaults();
	char buf[2048];
	size_t n = rv_conf_help(opts, &c, buf, sizeof(buf));

	cr_assert_lt(n, sizeof(buf));
	cr_assert_not_null(strstr(buf, "-p, --port N"));
	cr_assert_not_null(strstr(buf, "UDP port [3478]"));
	cr_assert_not_null(strstr(buf, "--path PATH"));
	cr_assert_not_null(strstr(buf, "[/run/x]"));
	cr_assert_not_null(strstr(buf, "(fast|safe) [fast]"));
	cr_assert_not_null(strstr(buf, "signed [-1]"));
	/* A short buffer reports the size it needed and stays terminated. */
	char small[16];
	cr_assert_eq(rv_conf_help(opts, &c, small, sizeof(small)), n);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
}

Test(conf, a_subcommand_takes_options_and_arguments_in_any_order)
{
	struct cfg c = defaults();
	char err[64], *args[4];
	int n = -1;
	char *a[] = { "group", "-v", "name", "--port", "9", "extra", "--", "-p", "x" };

	cr_assert_eq(rv_conf_args_mixed(opts, &c, 9, a, NULL, args, 4, &n, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert(c.verbose);
	cr_assert_eq(c.port, 9, "an option after an argument still counts");
	cr_assert_eq(n, 4);
	cr_assert_str_eq(args[0], "name");
	cr_assert_str_eq(args[1], "extra");
	cr_assert_str_eq(args[2], "-p", "after --, options are arguments");
	cr_assert_eq(rv_conf_args_mixed(opts, &c, 9, a, NULL, args, 2, &n, err, sizeof(err)),
	             -E2BIG);
	char *h[] = { "group", "name", "--help" };
	cr_assert_eq(rv_conf_args_mixed(opts, &c, 3, h, NULL, args, 3, &n, err, sizeof(err)), 1);
	char *bad[] = { "group", "name", "--nope" };
	cr_assert_lt(rv_conf_args_mixed(opts, &c, 3, bad, NULL, args, 3, &n, err, sizeof(err)), 0);
	cr_assert(strstr(err, "nope"), "%s", err);
}
