/* fuzz_conf.c — the option-table parser (proto/conf.c) behind every
 * program's flags and config file, with rvdp's own table (dpdk-app/
 * dp_conf.c: its cross-key check and MAC parser too) or a table holding
 * one option of every type and integer size.
 *
 * Input: selector byte (bit 0: rvdp's table), a 16-bit-length config text
 * (what the --config loader returns), then NUL-separated arguments. Runs
 * rv_conf_parse on the text, rv_conf_args and rv_conf_args_mixed on the
 * arguments (a --config among them reads the text), rv_conf_set and
 * rv_conf_help (into a buffer too small and one large enough, which must
 * agree). Properties: error messages are NUL-terminated within their
 * buffer, every STR option stays NUL-terminated, help's length is the
 * same whatever the buffer.
 */
#include <errno.h>

#include "dpdk-app/dp_conf.h"
#include "proto/conf.h"
#include "tests/fuzz/fuzz.h"

struct all {
	bool b;
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	char s[12];
	struct rv_addr a;
	int e;
};

static const char *const colours[] = { "red", "green", "blue", NULL };

#define O(n, sh, t, f, lo, hi)                                                                \
	{                                                                                     \
		.name = n, .short_name = sh, .type = t, .size = sizeof(((struct all *)0)->f), \
		.off = offsetof(struct all, f), .min = lo, .max = hi, .arg = "X", .help = n   \
	}

static const struct rv_opt all_opts[] = {
	O("flag", 'f', RV_OPT_BOOL, b, 0, 0),
	O("i8", 0, RV_OPT_INT, i8, -128, 127),
	O("i16", 0, RV_OPT_INT, i16, -300, 300),
	O("i32", 'i', RV_OPT_INT, i32, INT32_MIN, INT32_MAX),
	O("i64", 0, RV_OPT_INT, i64, INT64_MIN, INT64_MAX),
	O("u8", 0, RV_OPT_UINT, u8, 1, 255),
	O("port", 'p', RV_OPT_UINT, u16, 1, 65535),
	O("u32", 0, RV_OPT_UINT, u32, 0, UINT32_MAX),
	O("u64", 0, RV_OPT_UINT, u64, 0, INT64_MAX),
	O("name", 'n', RV_OPT_STR, s, 0, 0),
	O("addr", 'a', RV_OPT_ADDR, a, 3478, 0),
	{ .name = "colour",
	  .type = RV_OPT_ENUM,
	  .size = sizeof(int),
	  .off = offsetof(struct all, e),
	  .choices = colours,
	  .help = "a colour" },
	{ .name = "config", .short_name = 'c', .type = RV_OPT_CONFIG, .arg = "PATH" },
	{ .type = RV_OPT_END },
};

static const uint8_t *text;
static size_t text_len;

static int load(void *ctx, const char *path, char **buf, size_t *len)
{
	(void)ctx;
	if (strcmp(path, "missing") == 0)
		return -ENOENT;
	*buf = (char *)fz_dup(text, text_len);
	*len = text_len;
	return 0;
}

static void release(void *ctx, char *buf)
{
	(void)ctx;
	free(buf);
}

static const struct rv_conf_loader loader = { load, release, NULL };

static void check_err(const char *err, size_t cap)
{
	FZ_CHECK(memchr(err, 0, cap) != NULL);
}

static void check_obj(bool dp, const void *obj)
{
	if (dp) {
		const struct dp_conf *c = obj;
		FZ_CHECK(memchr(c->control, 0, sizeof(c->control)) != NULL);
		FZ_CHECK(memchr(c->mac, 0, sizeof(c->mac)) != NULL);
	} else {
		const struct all *a = obj;
		FZ_CHECK(memchr(a->s, 0, sizeof(a->s)) != NULL);
		FZ_CHECK(a->e >= 0 && a->e < 3);
	}
}

static void help(const struct rv_opt *opts, const void *obj)
{
	static char big[16384];
	char small[7];
	size_t n1 = rv_conf_help(opts, obj, small, sizeof(small));
	size_t n2 = rv_conf_help(opts, obj, big, sizeof(big));

	FZ_CHECK(n1 == n2);
	FZ_CHECK(strlen(small) < sizeof(small));
	FZ_CHECK(n2 >= sizeof(big) || strlen(big) == n2);
}

/* Fresh object for the chosen table. */
static void reset(bool dp, struct dp_conf *dc, struct all *a)
{
	if (dp)
		dp_conf_defaults(dc);
	memset(a, 0, sizeof(*a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	bool dp = sel & 1;
	const struct rv_opt *opts = dp ? dp_conf_opts : all_opts;
	struct dp_conf dc;
	struct all a;
	void *obj = dp ? (void *)&dc : (void *)&a;
	char err[96], *argv[34], *args[4], *strs;
	int argc = 1, first, nargs, rc;
	uint8_t mac[6];

	text = fz_chunk(&f, &text_len);
	/* Arguments: the rest, split at NULs (argv[0] is the program). */
	strs = malloc(f.n + 1);
	if (!strs)
		abort();
	memcpy(strs, f.p, f.n);
	strs[f.n] = 0;
	argv[0] = "prog";
	for (size_t i = 0; i <= f.n && argc < 33;) {
		argv[argc++] = strs + i;
		i += strlen(strs + i) + 1;
	}
	argv[argc] = NULL;

	reset(dp, &dc, &a);
	memset(err, 'x', sizeof(err));
	rc = rv_conf_parse(opts, obj, (const char *)text, text_len, err, sizeof(err));
	if (rc < 0)
		check_err(err, sizeof(err));
	check_obj(dp, obj);
	if (dp) {
		(void)dp_conf_check(&dc, err, sizeof(err));
		(void)dp_conf_mac(dc.mac, mac);
	}
	help(opts, obj);

	reset(dp, &dc, &a);
	memset(err, 'x', sizeof(err));
	rc = rv_conf_args(opts, obj, argc, argv, &loader, &first, err, sizeof(err));
	if (rc == 0)
		FZ_CHECK(first >= 1 && first <= argc);
	if (rc < 0)
		check_err(err, sizeof(err));
	check_obj(dp, obj);
	help(opts, obj);

	reset(dp, &dc, &a);
	memset(err, 'x', sizeof(err));
	rc = rv_conf_args_mixed(opts, obj, argc - 1, argv + 1, &loader, args, 4, &nargs, err,
	                        sizeof(err));
	if (rc == 0)
		FZ_CHECK(nargs >= 0 && nargs <= 4);
	if (rc < 0)
		check_err(err, sizeof(err));
	check_obj(dp, obj);

	/* One key, one value: the first two arguments. */
	if (argc >= 3) {
		reset(dp, &dc, &a);
		memset(err, 'x', sizeof(err));
		if (rv_conf_set(opts, obj, argv[1], argv[2], err, sizeof(err)) < 0)
			check_err(err, sizeof(err));
		check_obj(dp, obj);
	}
	free(strs);
	return 0;
}
