/* conf.c — option tables for flags, config files and help (conf.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const struct rv_opt *find(const struct rv_opt *opts, const char *key, size_t keylen)
{
	for (; opts->type != RV_OPT_END; opts++)
		if (strlen(opts->name) == keylen && strncmp(opts->name, key, keylen) == 0)
			return opts;
	return NULL;
}

static const struct rv_opt *find_short(const struct rv_opt *opts, char c)
{
	for (; opts->type != RV_OPT_END; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Store v into an integer field of `size` bytes. */
static void store_int(void *at, uint8_t size, int64_t v)
{
	switch (size) {
	case 1: {
		int8_t x = (int8_t)v;
		memcpy(at, &x, 1);
		break;
	}
	case 2: {
		int16_t x = (int16_t)v;
		memcpy(at, &x, 2);
		break;
	}
	case 4: {
		int32_t x = (int32_t)v;
		memcpy(at, &x, 4);
		break;
	}
	default:
		memcpy(at, &v, 8);
	}
}

static int64_t load_int(const void *at, uint8_t size, bool is_signed)
{
	switch (size) {
	case 1: {
		uint8_t x;
		memcpy(&x, at, 1);
		return is_signed ? (int8_t)x : x;
	}
	case 2: {
		uint16_t x;
		memcpy(&x, at, 2);
		return is_signed ? (int16_t)x : x;
	}
	case 4: {
		uint32_t x;
		memcpy(&x, at, 4);
		return is_signed ? (int32_t)x : (int64_t)x;
	}
	default: {
		int64_t x;
		memcpy(&x, at, 8);
		return x;
	}
	}
}

static int set_one(const struct rv_opt *o, void *obj, const char *val, char *err, size_t errlen)
{
	void *at = (char *)obj + o->off;

	switch (o->type) {
	case RV_OPT_BOOL: {
		bool b;
		if (parse_bool(val, &b) < 0)
			return fail(err, errlen, -EINVAL, "'%s': '%s' is not a boolean", o->name,
			            val);
		memcpy(at, &b, sizeof(b));
		return 0;
	}
	case RV_OPT_INT:
	case RV_OPT_UINT: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(val, &end, 0);
		if (!*val || *end || errno)
			return fail(err, errlen, -EINVAL, "'%s': '%s' is not a number", o->name,
			            val);
		if (v < o->min || v > o->max)
			return fail(err, errlen, -EINVAL,
			            "'%s': %lld is not in %" PRId64 "..%" PRId64, o->name, v,
			            o->min, o->max);
		store_int(at, o->size, v);
		return 0;
	}
	case RV_OPT_STR:
		if (strlen(val) >= o->size)
			return fail(err, errlen, -EINVAL, "'%s': value longer than %u bytes",
			            o->name, o->size - 1u);
		memcpy(at, val, strlen(val) + 1);
		return 0;
	case RV_OPT_ADDR: {
		struct rv_addr a;
		if (rv_addr_parse(val, (uint16_t)o->min, &a) < 0)
			return fail(err, errlen, -EINVAL, "'%s': '%s' is not an IP[:PORT]", o->name,
			            val);
		memcpy(at, &a, sizeof(a));
		return 0;
	}
	case RV_OPT_ENUM:
		for (int i = 0; o->choices && o->choices[i]; i++)
			if (strcmp(o->choices[i], val) == 0) {
				memcpy(at, &i, sizeof(i));
				return 0;
			}
		return fail(err, errlen, -EINVAL, "'%s': '%s' is not one of the choices", o->name,
		            val);
	default:
		return fail(err, errlen, -EINVAL, "'%s' cannot be set here", o->name);
	}
}

int rv_conf_set(const struct rv_opt *opts, void *obj, const char *key, const char *val, char *err,
                size_t errlen)
{
	const struct rv_opt *o = find(opts, key, strlen(key));

	if (!o)
		return fail(err, errlen, -ENOENT, "unknown key '%s'", key);
	return set_one(o, obj, val, err, errlen);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int rv_conf_parse(const struct rv_opt *opts, void *obj, const char *text, size_t len, char *err,
                  size_t errlen)
{
	size_t pos = 0;
	int line = 0;

	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		char key[64], val[512], sub[600];
		size_t k = 0, ke, vs, ve;
		int rc;

		pos += n + (nl ? 1 : 0);
		line++;
		while (k < n && is_space(s[k]))
			k++;
		if (k == n || s[k] == '#' || s[k] == ';' || s[k] == '[')
			continue;
		for (ke = k; ke < n && s[ke] != '=' && !is_space(s[ke]); ke++)
			;
		for (vs = ke; vs < n && is_space(s[vs]); vs++)
			;
		if (vs == n || s[vs] != '=')
			return fail(err, errlen, -EINVAL, "line %d: expected 'key = value'", line);
		for (vs++; vs < n && is_space(s[vs]); vs++)
			;
		for (ve = n; ve > vs && is_space(s[ve - 1]); ve--)
			;
		if (ke - k >= sizeof(key) || ve - vs >= sizeof(val))
			return fail(err, errlen, -EINVAL, "line %d: key or value too long", line);
		if (memchr(s + vs, 0, ve - vs))
			return fail(err, errlen, -EINVAL, "line %d: NUL byte", line);
		memcpy(key, s + k, ke - k);
		key[ke - k] = 0;
		memcpy(val, s + vs, ve - vs);
		val[ve - vs] = 0;
		rc = rv_conf_set(opts, obj, key, val, sub, sizeof(sub));
		if (rc < 0)
			return fail(err, errlen, rc, "line %d: %s", line, sub);
	}
	return 0;
}

/* One flag at argv[*i]: the option and its value (NULL for a bare bool). */
static int flag_at(const struct rv_opt *opts, int argc, char *const argv[], int *i,
                   const struct rv_opt **out, const char **val, char *err, size_t errlen)
{
	const char *a = argv[*i];
	const struct rv_opt *o;
	const char *eq = NULL;

	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		o = find(opts, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
	} else {
		o = a[2] ? NULL : find_short(opts, a[1]);
	}
	if (!o)
		return fail(err, errlen, -ENOENT, "unknown option '%s' (see --help)", a);
	*out = o;
	if (eq) {
		*val = eq + 1;
	} else if (o->type == RV_OPT_BOOL) {
		*val = NULL;
	} else {
		if (*i + 1 >= argc)
			return fail(err, errlen, -EINVAL, "option '%s' needs a value", a);
		*val = argv[++*i];
	}
	return 0;
}

static bool is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int rv_conf_args(const struct rv_opt *opts, void *obj, int argc, char *const argv[],
                 const struct rv_conf_loader *loader, int *first_arg, char *err, size_t errlen)
{
	int i, end = argc, rc;

	/* Pass 1: find the end of the options, --help, and the config file. */
	for (i = 1; i < argc; i++) {
		const struct rv_opt *o;
		const char *val;

		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-' || argv[i][1] == 0) {
			end = i;
			break;
		}
		if (is_help(argv[i]))
			return 1;
		rc = flag_at(opts, argc, argv, &i, &o, &val, err, errlen);
		if (rc < 0)
			return rc;
		if (o->type == RV_OPT_CONFIG) {
			char *buf;
			size_t len;
			char sub[600];

			if (!loader)
				return fail(err, errlen, -EINVAL, "no config loader");
			rc = loader->load(loader->ctx, val, &buf, &len);
			if (rc < 0)
				return fail(err, errlen, rc, "%s: %s", val, strerror(-rc));
			rc = rv_conf_parse(opts, obj, buf, len, sub, sizeof(sub));
			loader->release(loader->ctx, buf);
			if (rc < 0)
				return fail(err, errlen, rc, "%s: %s", val, sub);
		}
	}
	/* Pass 2: every flag, so they override the file. */
	for (i = 1; i < end; i++) {
		const struct rv_opt *o;
		const char *val;

		rc = flag_at(opts, argc, argv, &i, &o, &val, err, errlen);
		if (rc < 0)
			return rc;
		if (o->type == RV_OPT_CONFIG)
			continue;
		rc = set_one(o, obj, val ? val : "true", err, errlen);
		if (rc < 0)
			return rc;
	}
	if (end < argc && strcmp(argv[end], "--") == 0)
		end++;
	*first_arg = end;
	return 0;
}

static size_t current(const struct rv_opt *o, const void *obj, char *buf, size_t cap)
{
	const void *at = (const char *)obj + o->off;

	switch (o->type) {
	case RV_OPT_BOOL: {
		bool b;
		memcpy(&b, at, sizeof(b));
		return (size_t)snprintf(buf, cap, "%s", b ? "on" : "off");
	}
	case RV_OPT_INT:
	case RV_OPT_UINT:
		return (size_t)snprintf(buf, cap, "%" PRId64,
		                        load_int(at, o->size, o->type == RV_OPT_INT));
	case RV_OPT_STR:
		return (size_t)snprintf(buf, cap, "%s", *(const char *)at ? (const char *)at : "");
	case RV_OPT_ADDR: {
		char a[RV_ADDR_STRLEN];
		struct rv_addr v;
		memcpy(&v, at, sizeof(v));
		return (size_t)snprintf(buf, cap, "%s",
		                        v.family ? rv_addr_fmt(&v, a, sizeof(a)) : "");
	}
	case RV_OPT_ENUM: {
		int idx;
		memcpy(&idx, at, sizeof(idx));
		return (size_t)snprintf(buf, cap, "%s", o->choices[idx]);
	}
	default:
		return (size_t)snprintf(buf, cap, "%s", "");
	}
}

size_t rv_conf_help(const struct rv_opt *opts, const void *obj, char *buf, size_t cap)
{
	size_t n = 0;

#define OUT(...)                                                                                  \
	do {                                                                                      \
		int w_ = snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__); \
		n += w_ > 0 ? (size_t)w_ : 0;                                                     \
	} while (0)

	for (const struct rv_opt *o = opts; o->type != RV_OPT_END; o++) {
		char flag[96], def[128];

		if (o->short_name)
			snprintf(flag, sizeof(flag), "-%c, --%s%s%s", o->short_name, o->name,
			         o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(flag, sizeof(flag), "    --%s%s%s", o->name, o->arg ? " " : "",
			         o->arg ? o->arg : "");
		OUT("  %-30s %s", flag, o->help ? o->help : "");
		if (o->type == RV_OPT_ENUM && o->choices) {
			OUT(" (");
			for (int i = 0; o->choices[i]; i++)
				OUT("%s%s", i ? "|" : "", o->choices[i]);
			OUT(")");
		}
		if (o->type != RV_OPT_CONFIG && current(o, obj, def, sizeof(def)) && def[0])
			OUT(" [%s]", def);
		OUT("\n");
	}
#undef OUT
	return n;
}

int rv_conf_args_mixed(const struct rv_opt *opts, void *obj, int argc, char *argv[],
                       const struct rv_conf_loader *loader, char **args, int max, int *nargs,
                       char *err, size_t errlen)
{
	int at = 0, next, rc;

	*nargs = 0;
	for (;;) {
		rc = rv_conf_args(opts, obj, argc - at, argv + at, loader, &next, err, errlen);
		if (rc != 0)
			return rc;
		if (next > 1 && !strcmp(argv[at + next - 1], "--")) {
			for (at += next; at < argc; at++) {
				if (*nargs == max)
					goto many;
				args[(*nargs)++] = argv[at];
			}
			return 0;
		}
		at += next;
		if (at >= argc)
			return 0;
		if (*nargs == max)
			goto many;
		args[(*nargs)++] = argv[at]; /* and it is argv[0] of the next round */
	}
many:
	return fail(err, errlen, -E2BIG, "more than %d arguments", max);
}
