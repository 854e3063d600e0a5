/* conf.h — one option table drives a program's flags, its config file and
 * its --help.
 *
 * A program describes each setting once (struct rv_opt: name, type, where it
 * lives in the program's config struct, bounds, help). The same table then
 * parses `key = value` lines of a config file (INI style: '#' or ';'
 * comments, [section] headers accepted and ignored) and `--key value` /
 * `--key=value` / `-k value` flags, and renders the help text. Flags win over
 * the file because the caller applies them second (rv_conf_args does both
 * in that order).
 *
 * Pure: the caller reads the file (rv_conf_args takes a loader callback);
 * errors come back as text naming the key and line. (wireguard-tools style:
 * a line-by-line parser that is easy to fuzz.)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv_addr.h"

enum rv_opt_type {
	RV_OPT_END = 0, /* terminates a table */
	RV_OPT_BOOL,    /* bool; flag form takes no value; file: true/false/yes/no/on/off/1/0 */
	RV_OPT_INT,     /* signed integer of `size` bytes (1, 2, 4, 8), within min..max */
	RV_OPT_UINT,    /* unsigned integer of `size` bytes, within min..max */
	RV_OPT_STR,     /* char[size], NUL-terminated; longer values are an error */
	RV_OPT_ADDR,    /* struct rv_addr; "IP[:PORT]" with port default min */
	RV_OPT_ENUM,    /* int; value must be one of `choices` (index stored) */
	RV_OPT_CONFIG,  /* the --config flag itself: handled by rv_conf_args */
};

struct rv_opt {
	const char *name;           /* "max-idle-ms": flag --max-idle-ms, key max-idle-ms */
	char short_name;            /* 0 for none */
	uint8_t type;               /* enum rv_opt_type */
	uint32_t size;              /* bytes of the target (INT/UINT/STR) */
	size_t off;                 /* offsetof(config struct, field) */
	int64_t min, max;           /* INT/UINT bounds; ADDR: min = default port */
	const char *const *choices; /* ENUM: NULL-terminated names */
	const char *arg;            /* placeholder in help: "N", "IP", "PATH" */
	const char *help;
};

/* Apply one key/value to obj. err gets "unknown key 'x'", "'port': 70000 is
 * not in 1..65535", ... Returns 0, -ENOENT (unknown key) or -EINVAL.
 * Context: pure. */
int rv_conf_set(const struct rv_opt *opts, void *obj, const char *key, const char *val, char *err,
                size_t errlen);

/* Parse a config text (need not be NUL-terminated). Stops at the first bad
 * line: err gets "line N: ...". Returns 0 or a negative errno.
 * Context: pure. */
int rv_conf_parse(const struct rv_opt *opts, void *obj, const char *text, size_t len, char *err,
                  size_t errlen);

/* Reads a whole file for rv_conf_args: returns 0 and fills buf/len (the
 * callee owns *buf until free_fn) or a negative errno. */
struct rv_conf_loader {
	int (*load)(void *ctx, const char *path, char **buf, size_t *len);
	void (*release)(void *ctx, char *buf);
	void *ctx;
};

/* Parse argv[1..argc): first the file named by an RV_OPT_CONFIG option (if
 * any, via loader), then every flag, so flags win. Stops at "--" or at the
 * first non-option argument; *first_arg gets its index (argc if none), so
 * programs with subcommands or positional arguments continue from there.
 * "--help"/"-h" returns 1 (caller prints rv_conf_help). Returns 0, 1, or a
 * negative errno with err naming the flag or the file and line.
 * Context: pure (all I/O through loader). */
int rv_conf_args(const struct rv_opt *opts, void *obj, int argc, char *const argv[],
                 const struct rv_conf_loader *loader, int *first_arg, char *err, size_t errlen);

/* The same for a subcommand's tail, argv[0] being the command: options and
 * positional arguments in any order ("--" ends the options, what follows
 * is positional). The positional ones go to args (at most max), *nargs
 * says how many. Returns 0, 1 (--help), -E2BIG (too many arguments) or
 * another negative errno with err filled.  Context: pure. */
int rv_conf_args_mixed(const struct rv_opt *opts, void *obj, int argc, char *argv[],
                       const struct rv_conf_loader *loader, char **args, int max, int *nargs,
                       char *err, size_t errlen);

/* Render the options' help ("  -p, --port N   UDP port (3478)") into buf,
 * showing each option's current value in obj as its default. Returns the
 * length it needed (snprintf-style).  Context: pure. */
size_t rv_conf_help(const struct rv_opt *opts, const void *obj, char *buf, size_t cap);
