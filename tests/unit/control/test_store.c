/* The store (control/ctl_store.h): every call and error path on a fresh
 * database per test, batches, durability across reopen, read-only
 * connections, damaged files, and acknowledged registrations surviving a
 * real kill -9 of the writer. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "control/ctl_store.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NOW_MS  1700000000000ull
#define NOW_S   1700000000ull

static char dir[64];
static char path[128];
static struct ctl_store *st;

/* Remove every file in dir (the database, -wal, -shm) and dir itself. */
static void rm_dir(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;

	if (!dp)
		return;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(dp), e->d_name, 0);
	closedir(dp);
	rmdir(d);
}

static struct ctl_store *open_store(bool read_only)
{
	char err[256];
	struct ctl_store *s = ctl_store_open(path, read_only, err, sizeof(err));

	cr_assert_not_null(s, "open %s: %s", path, err);
	return s;
}

static void reopen(void)
{
	ctl_store_close(st);
	st = open_store(false);
}

static void setup_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ctl-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rv.db", dir);
}

static void setup(void)
{
	char err[256];

	setup_dir();
	st = ctl_store_open(path, false, err, sizeof(err));
	/* Criterion skips .fini when .init fails: clean up here. */
	if (!st) {
		rm_dir(dir);
		cr_assert_fail("open %s: %s", path, err);
	}
}

static void teardown(void)
{
	ctl_store_close(st);
	st = NULL;
	rm_dir(dir);
}

TestSuite(store_file, .init = setup, .fini = teardown);
TestSuite(store_device, .init = setup, .fini = teardown);
TestSuite(store_nonce, .init = setup, .fini = teardown);
TestSuite(store_reg, .init = setup, .fini = teardown);
TestSuite(store_group, .init = setup, .fini = teardown);
TestSuite(store_stats, .init = setup, .fini = teardown);
TestSuite(store_batch, .init = setup, .fini = teardown);
TestSuite(store_crash, .init = setup_dir, .fini = teardown);

/* --- builders ------------------------------------------------------------------ */

static void make_loc(uint8_t out[RV_LOCATOR_LEN], uint32_t i)
{
	for (int k = 0; k < RV_LOCATOR_LEN; k++)
		out[k] = (uint8_t)(0xa0 + k);
	out[0] = (uint8_t)(i >> 24);
	out[1] = (uint8_t)(i >> 16);
	out[2] = (uint8_t)(i >> 8);
	out[3] = (uint8_t)i;
}

static struct rv_addr v6(uint16_t port, uint8_t last)
{
	struct rv_addr a = { .family = RV_AF_INET6, .port = port };

	a.ip[0] = 0x20; /* 2001:db8::/32, documentation */
	a.ip[1] = 0x01;
	a.ip[2] = 0x0d;
	a.ip[3] = 0xb8;
	for (int k = 4; k < 16; k++)
		a.ip[k] = (uint8_t)(k * 17 + last);
	return a;
}

static struct rv_addr addr_of(uint8_t family, uint16_t port, uint8_t last)
{
	struct rv_addr a = { 0 };

	if (family == RV_AF_INET)
		a = rv_addr_v4(0xc0000200u + last, port); /* 192.0.2.x */
	else if (family == RV_AF_INET6)
		a = v6(port, last);
	return a;
}

/* A small registration: locator i, session 1000 + i, app "game". */
static struct ctl_reg make_reg(uint32_t i, uint64_t expires_ms)
{
	struct ctl_reg r;

	memset(&r, 0, sizeof(r));
	make_loc(r.locator, i);
	r.session = 1000 + i;
	r.addr = rv_addr_v4(0xcb007100u + (i & 0xff), (uint16_t)(40000 + i)); /* 203.0.113.x */
	r.local = rv_addr_v4(0xc6336401u, 3478);                              /* 198.51.100.1 */
	r.nat.type = RV_NAT_PORT_RESTRICTED;
	r.nat.delta = 1;
	strcpy(r.app_id, "game");
	r.community.flags = RV_COMM_SEEKING;
	snprintf(r.nickname, sizeof(r.nickname), "p%u", i);
	r.registered_ms = NOW_MS - 1000;
	r.refreshed_ms = NOW_MS;
	r.expires_ms = expires_ms;
	r.client_time_ms = NOW_MS + i;
	r.ticket_expires_s = (uint32_t)NOW_S + 3600;
	return r;
}

/* Shapes of a registration for the round trip (no pointers: Criterion may
 * run the test in a freshly exec'd process). */
struct reg_shape {
	uint8_t addr_family, local_family;
	uint8_t n_hosts, n_attrs;
	uint8_t app_len, nick_len;
	bool via;
};

/* Every field set, to values chosen to catch truncation, sign and
 * byte-order mistakes. */
static struct ctl_reg full_reg(const struct reg_shape *p)
{
	static const int32_t values[] = { INT32_MIN, -1, 0, 1, INT32_MAX, -123456, 99, -7 };
	struct ctl_reg r;
	size_t k;

	memset(&r, 0, sizeof(r));
	make_loc(r.locator, 0xfeedbeef);
	r.session = 0xfedcba9876543210ull; /* top bit set: survives a signed column */
	for (k = 0; k < sizeof(r.probe_key); k++)
		r.probe_key[k] = (uint8_t)(0xf0 ^ k);
	for (k = 0; k < sizeof(r.msg_key); k++)
		r.msg_key[k] = (uint8_t)(255 - 7 * k);
	r.addr = addr_of(p->addr_family, 65535, 9);
	r.local = addr_of(p->local_family, 3478, 1);
	r.path = (struct rv_dpc_path){ .port = 0xffff,
		                       .queue = 0x8001,
		                       .mac = { 0x02, 0x00, 0x5e, 0x10, 0xfe, 0x01 } };
	r.via_dataplane = p->via;
	r.n_host_addrs = p->n_hosts;
	for (k = 0; k < p->n_hosts; k++)
		r.host_addrs[k] = addr_of(k % 2 ? RV_AF_INET6 : RV_AF_INET,
		                          (uint16_t)(k == 0 ? 0 : 60000 + k), (uint8_t)(100 + k));
	r.nat = (struct rv_nat_info){ .type = RV_NAT_PORT_SYMMETRIC,
		                      .map = 3,
		                      .filt = 3,
		                      .alloc = 2,
		                      .delta = -7,
		                      .hops = 255,
		                      .flags = RV_NAT_FLAG_HAIRPIN | RV_NAT_FLAG_PUBLIC,
		                      .lifetime_s = 65535,
		                      .bg_rate_x10 = 1234 };
	for (k = 0; k < p->app_len; k++)
		r.app_id[k] = (char)('a' + k % 26);
	r.community.flags = 0xff;
	r.community.n = p->n_attrs;
	for (k = 0; k < p->n_attrs; k++)
		r.community.attrs[k] =
		        (struct rv_kv){ (uint16_t)(k == 0 ? 0xffff : k * 0x1111), values[k] };
	/* UTF-8: two-byte characters, then ASCII up to the length. */
	for (k = 0; k + 2 <= p->nick_len; k += 2)
		memcpy(r.nickname + k, "\xc3\xa9", 2);
	if (k < p->nick_len)
		r.nickname[k] = 'x';
	r.registered_ms = NOW_MS;
	r.refreshed_ms = NOW_MS + 1;
	r.expires_ms = INT64_MAX; /* the largest time the store takes */
	r.client_time_ms = INT64_MAX - 1;
	r.ticket_expires_s = UINT32_MAX;
	return r;
}

static void assert_addr_eq(const struct rv_addr *a, const struct rv_addr *b, const char *what)
{
	cr_assert_eq(a->family, b->family, "%s family", what);
	cr_assert_eq(a->port, b->port, "%s port", what);
	cr_assert_arr_eq(a->ip, b->ip, sizeof(a->ip), "%s ip", what);
}

static void assert_reg_eq(const struct ctl_reg *a, const struct ctl_reg *b)
{
	cr_assert_arr_eq(a->locator, b->locator, RV_LOCATOR_LEN);
	cr_assert_eq(a->session, b->session);
	cr_assert_arr_eq(a->probe_key, b->probe_key, sizeof(a->probe_key));
	cr_assert_arr_eq(a->msg_key, b->msg_key, sizeof(a->msg_key));
	assert_addr_eq(&a->addr, &b->addr, "addr");
	assert_addr_eq(&a->local, &b->local, "local");
	cr_assert_eq(a->path.port, b->path.port);
	cr_assert_eq(a->path.queue, b->path.queue);
	cr_assert_arr_eq(a->path.mac, b->path.mac, 6);
	cr_assert_eq(a->via_dataplane, b->via_dataplane);
	cr_assert_eq(a->n_host_addrs, b->n_host_addrs);
	for (int k = 0; k < a->n_host_addrs; k++)
		assert_addr_eq(&a->host_addrs[k], &b->host_addrs[k], "host addr");
	cr_assert_eq(a->nat.type, b->nat.type);
	cr_assert_eq(a->nat.map, b->nat.map);
	cr_assert_eq(a->nat.filt, b->nat.filt);
	cr_assert_eq(a->nat.alloc, b->nat.alloc);
	cr_assert_eq(a->nat.delta, b->nat.delta);
	cr_assert_eq(a->nat.hops, b->nat.hops);
	cr_assert_eq(a->nat.flags, b->nat.flags);
	cr_assert_eq(a->nat.lifetime_s, b->nat.lifetime_s);
	cr_assert_eq(a->nat.bg_rate_x10, b->nat.bg_rate_x10);
	cr_assert_str_eq(a->app_id, b->app_id);
	cr_assert_eq(a->community.flags, b->community.flags);
	cr_assert_eq(a->community.n, b->community.n);
	for (int k = 0; k < a->community.n; k++) {
		cr_assert_eq(a->community.attrs[k].key, b->community.attrs[k].key);
		cr_assert_eq(a->community.attrs[k].value, b->community.attrs[k].value);
	}
	cr_assert_str_eq(a->nickname, b->nickname);
	cr_assert_eq(a->registered_ms, b->registered_ms);
	cr_assert_eq(a->refreshed_ms, b->refreshed_ms);
	cr_assert_eq(a->expires_ms, b->expires_ms);
	cr_assert_eq(a->client_time_ms, b->client_time_ms);
	cr_assert_eq(a->ticket_expires_s, b->ticket_expires_s);
}

static struct ctl_device make_dev(uint8_t id, uint8_t key)
{
	struct ctl_device d;

	memset(&d, 0, sizeof(d));
	d.id_len = 12;
	memcpy(d.id, "SN-000000000", 12);
	d.id[11] = (uint8_t)('0' + id % 10);
	d.id[10] = (uint8_t)('0' + id / 10);
	memset(d.pubkey, key, sizeof(d.pubkey));
	d.added_s = NOW_S + id;
	return d;
}

static int count_cb(void *ctx, const struct ctl_reg *r)
{
	(void)r;
	++*(int *)ctx;
	return 0;
}

static int stat_count_cb(void *ctx, const struct ctl_pair_stat *s)
{
	(void)s;
	++*(int *)ctx;
	return 0;
}

/* --- file: open, schema, durability, read-only, integrity, damage ---------------- */

Test(store_file, a_new_store_is_empty_and_integrity_is_ok)
{
	char err[128];

	cr_assert_eq(ctl_store_device_count(st), 0);
	cr_assert_eq(ctl_store_reg_count(st), 0);
	cr_assert_eq(ctl_store_integrity(st, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(err, "ok");
	cr_assert_eq(ctl_store_checkpoint(st), 0);
}

Test(store_file, everything_written_is_there_after_close_and_reopen)
{
	struct ctl_device d = make_dev(1, 0x11), got;
	struct ctl_reg r = make_reg(7, NOW_MS + 60000), back;
	uint8_t nonce[RV_NONCE_LEN] = { 1, 2, 3 }, loc[RV_LOCATOR_LEN], member[2][RV_LOCATOR_LEN];
	uint32_t total = 0;
	int n = 0;

	make_loc(loc, 7);
	cr_assert_eq(ctl_store_device_import(st, &d, 1), 0);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S + 60), 0);
	cr_assert_eq(ctl_store_locator_revoke(st, loc, NOW_S), 0);
	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_group_create(st, "lobby", loc, 4, NOW_S), 0);
	cr_assert_eq(ctl_store_stats_add(st, 1, 2, RV_STRAT_E1, RV_RES_OK, 10, 3), 0);
	reopen();
	cr_assert_eq(ctl_store_device_get(st, d.id, d.id_len, &got), 0);
	cr_assert_arr_eq(got.pubkey, d.pubkey, 32);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S + 60), -EEXIST);
	cr_assert_eq(ctl_store_locator_revoked(st, loc), 1);
	cr_assert_eq(ctl_store_reg_get(st, r.locator, &back), 0);
	assert_reg_eq(&back, &r);
	cr_assert_eq(ctl_store_group_members(st, "lobby", 0, member, 2, &total), 1);
	cr_assert_eq(total, 1);
	cr_assert_arr_eq(member[0], loc, RV_LOCATOR_LEN);
	cr_assert_eq(ctl_store_stats_each(st, stat_count_cb, &n), 0);
	cr_assert_eq(n, 1);
	/* And after a checkpoint moved the WAL into the database. */
	cr_assert_eq(ctl_store_checkpoint(st), 0);
	reopen();
	cr_assert_eq(ctl_store_reg_count(st), 1);
}

Test(store_file, a_read_only_connection_sees_committed_data_while_the_writer_is_open)
{
	struct ctl_reg a = make_reg(1, NOW_MS + 60000), b = make_reg(2, NOW_MS + 60000), got;
	struct ctl_store *ro;

	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	ro = open_store(true);
	cr_assert_eq(ctl_store_reg_get(ro, a.locator, &got), 0);
	assert_reg_eq(&got, &a);
	/* Uncommitted work stays invisible; it appears at commit. */
	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_reg_put(st, &b), 0);
	cr_assert_eq(ctl_store_reg_get(ro, b.locator, &got), -ENOENT);
	cr_assert_eq(ctl_store_reg_count(ro), 1);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(ctl_store_reg_get(ro, b.locator, &got), 0);
	cr_assert_eq(ctl_store_reg_count(ro), 2);
	ctl_store_close(ro);
}

Test(store_file, a_read_only_connection_refuses_writes)
{
	struct ctl_reg a = make_reg(1, NOW_MS + 60000);
	uint8_t nonce[RV_NONCE_LEN] = { 9 };
	struct ctl_store *ro = open_store(true);

	cr_assert_eq(ctl_store_reg_put(ro, &a), -EROFS);
	cr_assert_eq(ctl_store_nonce_use(ro, nonce, 1), -EROFS);
	cr_assert_eq(ctl_store_begin(ro), -EROFS);
	cr_assert_gt(strlen(ctl_store_error(ro)), 0);
	cr_assert_eq(ctl_store_reg_count(ro), 0);
	ctl_store_close(ro);
}

Test(store_file, read_only_open_of_a_missing_file_is_enoent_and_creates_nothing)
{
	char err[256], missing[160];
	struct stat sb;

	snprintf(missing, sizeof(missing), "%s/none.db", dir);
	errno = 0;
	cr_assert_null(ctl_store_open(missing, true, err, sizeof(err)));
	cr_assert_eq(errno, ENOENT);
	cr_assert_neq(stat(missing, &sb), 0);
}

Test(store_file, read_only_open_works_with_no_writer_running)
{
	struct ctl_reg a = make_reg(3, NOW_MS + 60000), got;
	struct ctl_store *ro;

	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	ctl_store_close(st);
	st = NULL;
	ro = open_store(true);
	cr_assert_eq(ctl_store_reg_get(ro, a.locator, &got), 0);
	ctl_store_close(ro);
}

Test(store_file, a_missing_directory_fails_cleanly)
{
	char err[256];

	errno = 0;
	cr_assert_null(ctl_store_open("/nonexistent-dir/x/rv.db", false, err, sizeof(err)));
	cr_assert_eq(errno, EIO);
	cr_assert_gt(strlen(err), 0);
}

Test(store_file, the_wal_grows_until_the_daemon_checkpoints)
{
	char wal[160], err[128];
	uint8_t loc[RV_LOCATOR_LEN];
	struct stat sb;
	struct ctl_reg got;

	/* ~5 pages per commit: far past SQLite's default autocheckpoint of
	 * 1000 pages, which is off. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	for (uint32_t i = 0; i < 400; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS);

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	cr_assert_eq(stat(wal, &sb), 0);
	/* Frames of 4096 + 24 bytes; autocheckpoint would have kept it near
	 * 1000 of them. */
	cr_assert_gt(sb.st_size, 1100 * (4096 + 24), "WAL of %lld bytes", (long long)sb.st_size);
	cr_assert_eq(ctl_store_checkpoint(st), 0);
	{
		struct ctl_reg r = make_reg(400, NOW_MS);

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	make_loc(loc, 0);
	cr_assert_eq(ctl_store_reg_get(st, loc, &got), 0);
	cr_assert_eq(ctl_store_reg_count(st), 401);
	cr_assert_eq(ctl_store_integrity(st, err, sizeof(err)), 0, "%s", err);
}

/* Patch a big-endian 32-bit field of the database header (closed file:
 * a clean close leaves no WAL behind). */
static void patch_header(size_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, b, 4, (off_t)off), 4);
	cr_assert_eq(close(fd), 0);
}

#define HDR_USER_VERSION 60
#define HDR_APP_ID       68

Test(store_file, a_newer_schema_version_is_refused_with_a_clear_error)
{
	char err[256];

	ctl_store_close(st);
	st = NULL;
	patch_header(HDR_USER_VERSION, 99);
	errno = 0;
	cr_assert_null(ctl_store_open(path, false, err, sizeof(err)));
	cr_assert_eq(errno, ENOTSUP);
	cr_assert(strstr(err, "newer"), "%s", err);
	errno = 0;
	cr_assert_null(ctl_store_open(path, true, err, sizeof(err)));
	cr_assert_eq(errno, ENOTSUP);
}

Test(store_file, another_programs_database_is_refused)
{
	char err[256];

	ctl_store_close(st);
	st = NULL;
	patch_header(HDR_APP_ID, 0x12345678);
	errno = 0;
	cr_assert_null(ctl_store_open(path, false, err, sizeof(err)));
	cr_assert_eq(errno, ENOTSUP);
	cr_assert(strstr(err, "not an rvcontrol database"), "%s", err);
	/* Tables but no version and no application ID: not ours either. */
	patch_header(HDR_APP_ID, 0);
	patch_header(HDR_USER_VERSION, 0);
	errno = 0;
	cr_assert_null(ctl_store_open(path, false, err, sizeof(err)));
	cr_assert_eq(errno, ENOTSUP);
}

/* Ways to damage a closed database file: (offset, length) overwritten
 * with pseudo-random bytes or zeros, or the file truncated. */
struct damage {
	long off; /* negative: from the end */
	long len; /* 0: to the end */
	int kind; /* 0 garbage, 1 zeros, 2 truncate at off */
	char name[24];
};

ParameterizedTestParameters(store_file, a_damaged_file_makes_open_or_integrity_fail_cleanly)
{
	static struct damage d[] = {
		{ 0, 0, 0, "whole file garbage" },   { 0, 16, 0, "magic string" },
		{ 4096, 0, 0, "all but page 1" },    { 4096, 4096, 1, "page 2 zeroed" },
		{ 8192, 4096, 0, "page 3 garbage" }, { -4096, 4096, 0, "last page garbage" },
		{ 6144, 0, 2, "truncated" },         { 100, 200, 0, "page 1 schema" },
	};

	return cr_make_param_array(struct damage, d, N_OF(d));
}

ParameterizedTest(struct damage *d, store_file, a_damaged_file_makes_open_or_integrity_fail_cleanly)
{
	char err[512];
	uint8_t buf[4096];
	uint32_t x = 2463534242u;
	struct stat sb;
	long off, end;
	int fd, rc;

	/* Enough rows to span many pages. */
	cr_assert_eq(ctl_store_begin(st), 0);
	for (uint32_t i = 0; i < 400; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS + i);

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	cr_assert_eq(ctl_store_commit(st), 0);
	ctl_store_close(st);
	st = NULL;

	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &sb), 0);
	cr_assert_gt(sb.st_size, 12 * 4096, "only %lld bytes", (long long)sb.st_size);
	off = d->off < 0 ? sb.st_size + d->off : d->off;
	end = d->len ? off + d->len : sb.st_size;
	if (d->kind == 2) {
		cr_assert_eq(ftruncate(fd, off), 0);
	} else {
		for (long p = off; p < end; p += (long)sizeof(buf)) {
			size_t n =
			        (size_t)(end - p) < sizeof(buf) ? (size_t)(end - p) : sizeof(buf);

			for (size_t k = 0; k < n; k++) {
				x ^= x << 13; /* xorshift32 */
				x ^= x >> 17;
				x ^= x << 5;
				buf[k] = d->kind == 1 ? 0 : (uint8_t)x;
			}
			cr_assert_eq(pwrite(fd, buf, n, p), (ssize_t)n);
		}
	}
	cr_assert_eq(close(fd), 0);

	st = ctl_store_open(path, false, err, sizeof(err));
	if (!st) {
		cr_log_info("%s: open refused: %s", d->name, err);
		cr_assert(errno == EIO || errno == ENOTSUP, "%s: errno %d", d->name, errno);
		cr_assert_gt(strlen(err), 0);
		return;
	}
	rc = ctl_store_integrity(st, err, sizeof(err));
	cr_assert_eq(rc, -EIO, "%s: integrity said ok", d->name);
	cr_assert_str_neq(err, "ok");
	cr_log_info("%s: integrity: %.60s", d->name, err);
	/* Reading on must fail or answer, never crash. */
	(void)ctl_store_reg_count(st);
	{
		int n = 0;

		(void)ctl_store_reg_each(st, count_cb, &n);
	}
}

/* --- devices ------------------------------------------------------------------------- */

Test(store_device, import_then_get_returns_every_field)
{
	struct ctl_device d[3] = { make_dev(1, 0x11), make_dev(2, 0x22), make_dev(3, 0x33) }, got;

	d[1].revoked = true;
	d[2].id_len = RV_DEVICE_ID_MAX;
	memset(d[2].id, 0xee, RV_DEVICE_ID_MAX);
	cr_assert_eq(ctl_store_device_import(st, d, 3), 0);
	cr_assert_eq(ctl_store_device_count(st), 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ctl_store_device_get(st, d[i].id, d[i].id_len, &got), 0);
		cr_assert_eq(got.id_len, d[i].id_len);
		cr_assert_arr_eq(got.id, d[i].id, d[i].id_len);
		cr_assert_arr_eq(got.pubkey, d[i].pubkey, 32);
		cr_assert_eq(got.revoked, d[i].revoked);
		cr_assert_eq(got.added_s, d[i].added_s);
	}
}

Test(store_device, reimporting_a_known_device_with_the_same_key_changes_nothing)
{
	struct ctl_device d = make_dev(1, 0x11), again, both[2], got;

	cr_assert_eq(ctl_store_device_import(st, &d, 1), 0);
	again = d;
	again.added_s += 100;
	again.revoked = true;
	cr_assert_eq(ctl_store_device_import(st, &again, 1), 0);
	both[0] = again;
	both[1] = make_dev(2, 0x22);
	cr_assert_eq(ctl_store_device_import(st, both, 2), 0);
	cr_assert_eq(ctl_store_device_get(st, d.id, d.id_len, &got), 0);
	cr_assert_eq(got.added_s, d.added_s, "left as is");
	cr_assert(!got.revoked, "left as is");
	cr_assert_eq(ctl_store_device_count(st), 2);
}

Test(store_device, a_conflicting_key_in_the_middle_imports_nothing)
{
	struct ctl_device first = make_dev(5, 0x55), batch[5], got;

	cr_assert_eq(ctl_store_device_import(st, &first, 1), 0);
	batch[0] = make_dev(1, 0x11);
	batch[1] = make_dev(2, 0x22);
	batch[2] = make_dev(5, 0x56); /* the maker never changes a key */
	batch[3] = make_dev(3, 0x33);
	batch[4] = make_dev(4, 0x44);
	cr_assert_eq(ctl_store_device_import(st, batch, 5), -EEXIST);
	cr_assert(strstr(ctl_store_error(st), "device 2"), "%s", ctl_store_error(st));
	cr_assert_eq(ctl_store_device_count(st), 1);
	cr_assert_eq(ctl_store_device_get(st, batch[0].id, batch[0].id_len, &got), -ENOENT);
	cr_assert_eq(ctl_store_device_get(st, first.id, first.id_len, &got), 0);
	cr_assert_eq(got.pubkey[0], 0x55);
}

Test(store_device, the_same_id_twice_with_two_keys_in_one_file_imports_nothing)
{
	struct ctl_device batch[3] = { make_dev(1, 0x11), make_dev(2, 0x22), make_dev(1, 0x12) };

	cr_assert_eq(ctl_store_device_import(st, batch, 3), -EEXIST);
	cr_assert_eq(ctl_store_device_count(st), 0);
}

Test(store_device, import_inside_a_batch_is_still_all_or_nothing)
{
	struct ctl_device ok = make_dev(1, 0x11),
	                  batch[2] = { make_dev(2, 0x22), make_dev(1, 0x99) };
	uint8_t nonce[RV_NONCE_LEN] = { 7 };

	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_device_import(st, &ok, 1), 0);
	cr_assert_eq(ctl_store_device_import(st, batch, 2), -EEXIST);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S), 0, "the batch goes on");
	cr_assert_eq(ctl_store_commit(st), 0);
	reopen();
	cr_assert_eq(ctl_store_device_count(st), 1);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S), -EEXIST);
}

Test(store_device, revoke_marks_the_device_and_unknown_ids_are_enoent)
{
	struct ctl_device d = make_dev(1, 0x11), other = make_dev(2, 0x22), got;

	cr_assert_eq(ctl_store_device_import(st, &d, 1), 0);
	cr_assert_eq(ctl_store_device_revoke(st, d.id, d.id_len), 0);
	cr_assert_eq(ctl_store_device_get(st, d.id, d.id_len, &got), 0);
	cr_assert(got.revoked);
	cr_assert_eq(ctl_store_device_revoke(st, d.id, d.id_len), 0, "twice is fine");
	cr_assert_eq(ctl_store_device_revoke(st, other.id, other.id_len), -ENOENT);
	cr_assert_eq(ctl_store_device_get(st, other.id, other.id_len, &got), -ENOENT);
	/* A prefix of a known ID is another ID. */
	cr_assert_eq(ctl_store_device_get(st, d.id, d.id_len - 1u, &got), -ENOENT);
}

Test(store_device, id_lengths_out_of_range_are_einval)
{
	struct ctl_device d = make_dev(1, 0x11), got;

	d.id_len = 0;
	cr_assert_eq(ctl_store_device_import(st, &d, 1), -EINVAL);
	d.id_len = RV_DEVICE_ID_MAX + 1;
	cr_assert_eq(ctl_store_device_import(st, &d, 1), -EINVAL);
	cr_assert_eq(ctl_store_device_get(st, d.id, 0, &got), -EINVAL);
	cr_assert_eq(ctl_store_device_revoke(st, d.id, RV_DEVICE_ID_MAX + 1), -EINVAL);
	cr_assert_eq(ctl_store_device_import(st, NULL, 0), 0, "an empty import is fine");
}

/* --- nonces and revoked locators -------------------------------------------------- */

Test(store_nonce, a_nonce_is_good_once_and_a_replay_is_eexist)
{
	uint8_t a[RV_NONCE_LEN], b[RV_NONCE_LEN];

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xaa, sizeof(b));
	b[RV_NONCE_LEN - 1] = 0xab;
	cr_assert_eq(ctl_store_nonce_use(st, a, NOW_S + 30), 0);
	cr_assert_eq(ctl_store_nonce_use(st, a, NOW_S + 30), -EEXIST);
	cr_assert_eq(ctl_store_nonce_use(st, a, NOW_S + 99), -EEXIST);
	cr_assert_eq(ctl_store_nonce_use(st, b, NOW_S + 30), 0);
	cr_assert_eq(ctl_store_nonce_use(st, b, (uint64_t)INT64_MAX + 1), -EINVAL);
}

Test(store_nonce, sweep_forgets_only_nonces_expired_before_now)
{
	uint8_t n[3][RV_NONCE_LEN] = { { 1 }, { 2 }, { 3 } };

	cr_assert_eq(ctl_store_nonce_use(st, n[0], NOW_S - 1), 0);
	cr_assert_eq(ctl_store_nonce_use(st, n[1], NOW_S), 0);
	cr_assert_eq(ctl_store_nonce_use(st, n[2], NOW_S + 1), 0);
	cr_assert_eq(ctl_store_nonce_sweep(st, NOW_S, 0), 1);
	cr_assert_eq(ctl_store_nonce_use(st, n[1], NOW_S), -EEXIST, "expires == now is kept");
	cr_assert_eq(ctl_store_nonce_use(st, n[0], NOW_S + 5), 0, "forgotten, usable again");
	cr_assert_eq(ctl_store_nonce_sweep(st, UINT64_MAX, 2), 2, "at most the limit");
	cr_assert_eq(ctl_store_nonce_sweep(st, UINT64_MAX, 2), 1);
	cr_assert_eq(ctl_store_nonce_sweep(st, UINT64_MAX, 0), 0);
}

Test(store_nonce, a_revoked_locator_reads_revoked_and_others_do_not)
{
	uint8_t a[RV_LOCATOR_LEN], b[RV_LOCATOR_LEN];

	make_loc(a, 1);
	make_loc(b, 2);
	cr_assert_eq(ctl_store_locator_revoked(st, a), 0);
	cr_assert_eq(ctl_store_locator_revoke(st, a, NOW_S), 0);
	cr_assert_eq(ctl_store_locator_revoke(st, a, NOW_S + 1), 0, "twice is fine");
	cr_assert_eq(ctl_store_locator_revoked(st, a), 1);
	cr_assert_eq(ctl_store_locator_revoked(st, b), 0);
}

/* --- registrations ------------------------------------------------------------------- */

ParameterizedTestParameters(store_reg, a_registration_round_trips_every_field_exactly)
{
	static struct reg_shape s[] = {
		{ RV_AF_INET6, RV_AF_INET, RV_HOST_ADDRS, RV_COMM_ATTRS, RV_APP_ID_MAX, RV_NICK_MAX,
		  true },
		{ RV_AF_INET, RV_AF_INET6, 1, 1, 5, 3, false },
		{ RV_AF_NONE, RV_AF_NONE, 0, 0, 0, 0, false },
		{ RV_AF_INET, RV_AF_INET, RV_HOST_ADDRS, 0, 1, RV_NICK_MAX - 1, true },
	};

	return cr_make_param_array(struct reg_shape, s, N_OF(s));
}

ParameterizedTest(struct reg_shape *p, store_reg, a_registration_round_trips_every_field_exactly)
{
	struct ctl_reg r = full_reg(p), got;

	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_reg_get(st, r.locator, &got), 0);
	assert_reg_eq(&got, &r);
	/* Both built from zeroed memory: not a byte may differ. */
	cr_assert_arr_eq(&got, &r, sizeof(r));
	memset(&got, 0x5a, sizeof(got));
	cr_assert_eq(ctl_store_reg_by_session(st, r.session, &got), 0);
	cr_assert_arr_eq(&got, &r, sizeof(r));
	reopen();
	cr_assert_eq(ctl_store_reg_get(st, r.locator, &got), 0);
	cr_assert_arr_eq(&got, &r, sizeof(r));
}

Test(store_reg, unused_address_bytes_come_back_zero)
{
	struct ctl_reg r = make_reg(1, NOW_MS), got;

	memset(r.addr.ip + 4, 0x77, 12); /* IPv4: only ip[0..3] count */
	r.local.family = RV_AF_NONE;
	memset(r.local.ip, 0x77, 16);
	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_reg_get(st, r.locator, &got), 0);
	cr_assert(rv_addr_eq(&got.addr, &r.addr));
	for (int k = 4; k < 16; k++)
		cr_assert_eq(got.addr.ip[k], 0);
	for (int k = 0; k < 16; k++)
		cr_assert_eq(got.local.ip[k], 0);
}

Test(store_reg, a_put_for_the_same_locator_replaces_the_registration)
{
	struct ctl_reg r = make_reg(1, NOW_MS + 10), again = make_reg(1, NOW_MS + 20000), got;

	again.session = 77777;
	again.addr = v6(5555, 1);
	again.n_host_addrs = 2;
	again.host_addrs[0] = v6(1, 2);
	again.host_addrs[1] = rv_addr_v4(0x0a000001u, 2);
	strcpy(again.nickname, "renamed");
	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_reg_put(st, &again), 0);
	cr_assert_eq(ctl_store_reg_count(st), 1);
	cr_assert_eq(ctl_store_reg_get(st, r.locator, &got), 0);
	assert_reg_eq(&got, &again);
	cr_assert_eq(ctl_store_reg_by_session(st, r.session, &got), -ENOENT, "old session gone");
	cr_assert_eq(ctl_store_reg_by_session(st, 77777, &got), 0);
	cr_assert_arr_eq(got.locator, r.locator, RV_LOCATOR_LEN);
}

Test(store_reg, lookups_of_unknown_locators_and_sessions_are_enoent)
{
	struct ctl_reg r = make_reg(1, NOW_MS), got;
	uint8_t other[RV_LOCATOR_LEN];

	make_loc(other, 2);
	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_reg_get(st, other, &got), -ENOENT);
	cr_assert_eq(ctl_store_reg_by_session(st, r.session + 1, &got), -ENOENT);
	cr_assert_eq(ctl_store_reg_del(st, other), -ENOENT);
}

Test(store_reg, a_session_held_by_another_locator_is_eexist_and_nothing_is_written)
{
	struct ctl_reg a = make_reg(1, NOW_MS), b = make_reg(2, NOW_MS), b2, got;

	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	cr_assert_eq(ctl_store_reg_put(st, &b), 0);
	/* A new locator with a's session. */
	{
		struct ctl_reg c = make_reg(3, NOW_MS);

		c.session = a.session;
		cr_assert_eq(ctl_store_reg_put(st, &c), -EEXIST);
		cr_assert_eq(ctl_store_reg_get(st, c.locator, &got), -ENOENT);
	}
	/* b re-registering with a's session: b's row stays as it was. */
	b2 = b;
	b2.session = a.session;
	strcpy(b2.nickname, "changed");
	cr_assert_eq(ctl_store_reg_put(st, &b2), -EEXIST);
	cr_assert_gt(strlen(ctl_store_error(st)), 0);
	cr_assert_eq(ctl_store_reg_get(st, b.locator, &got), 0);
	assert_reg_eq(&got, &b);
	cr_assert_eq(ctl_store_reg_by_session(st, a.session, &got), 0);
	cr_assert_arr_eq(got.locator, a.locator, RV_LOCATOR_LEN);
	cr_assert_eq(ctl_store_reg_count(st), 2);
}

Test(store_reg, delete_removes_the_registration_once)
{
	struct ctl_reg r = make_reg(1, NOW_MS), got;

	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_reg_del(st, r.locator), 0);
	cr_assert_eq(ctl_store_reg_get(st, r.locator, &got), -ENOENT);
	cr_assert_eq(ctl_store_reg_del(st, r.locator), -ENOENT);
	cr_assert_eq(ctl_store_reg_count(st), 0);
}

Test(store_reg, out_of_range_fields_are_einval_and_write_nothing)
{
	struct ctl_reg good = make_reg(1, NOW_MS), r;

	r = good;
	r.n_host_addrs = RV_HOST_ADDRS + 1;
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	r = good;
	r.community.n = RV_COMM_ATTRS + 1;
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	r = good;
	r.addr.family = 3;
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	r = good;
	r.n_host_addrs = 1;
	r.host_addrs[0].family = 0x11;
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	r = good;
	memset(r.app_id, 'a', sizeof(r.app_id)); /* no terminator */
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	r = good;
	memset(r.nickname, 'n', sizeof(r.nickname));
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	r = good;
	r.expires_ms = UINT64_MAX; /* "never" cannot be ordered by SQLite */
	cr_assert_eq(ctl_store_reg_put(st, &r), -EINVAL);
	cr_assert_eq(ctl_store_reg_count(st), 0);
}

struct collect {
	int n;
	uint32_t ids[16];
	struct ctl_store *st;
	int seen_before_delete;
	int stop_at;
};

static int collect_cb(void *ctx, const struct ctl_reg *r)
{
	struct collect *c = ctx;

	c->ids[c->n++] = (uint32_t)r->locator[3];
	return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

Test(store_reg, each_visits_every_registration_and_stops_when_asked)
{
	struct collect c = { 0 };

	for (uint32_t i = 0; i < 5; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS);

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	cr_assert_eq(ctl_store_reg_each(st, collect_cb, &c), 0);
	cr_assert_eq(c.n, 5);
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	cr_assert_eq(ctl_store_reg_each(st, collect_cb, &c), 42);
	cr_assert_eq(c.n, 2);
	/* The statement was reset: a new walk starts from the beginning. */
	memset(&c, 0, sizeof(c));
	cr_assert_eq(ctl_store_reg_each(st, collect_cb, &c), 0);
	cr_assert_eq(c.n, 5);
}

static int reenter_cb(void *ctx, const struct ctl_reg *r)
{
	struct collect *c = ctx;
	int n = 0;

	(void)r;
	return ctl_store_reg_each(c->st, count_cb, &n);
}

Test(store_reg, each_reentered_from_its_callback_is_ebusy)
{
	struct ctl_reg r = make_reg(1, NOW_MS);
	struct collect c = { .st = st };

	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_reg_each(st, reenter_cb, &c), -EBUSY);
	c.n = 0;
	cr_assert_eq(ctl_store_reg_each(st, count_cb, &c.n), 0, "usable afterwards");
	cr_assert_eq(c.n, 1);
}

static void swept_cb(void *ctx, const struct ctl_reg *r)
{
	struct collect *c = ctx;
	struct ctl_reg still;

	c->ids[c->n++] = (uint32_t)r->locator[3];
	/* Called before the delete: the row is still there to read. */
	if (ctl_store_reg_get(c->st, r->locator, &still) == 0)
		c->seen_before_delete++;
}

Test(store_reg, sweep_removes_expires_at_or_before_now_and_calls_fn_first)
{
	struct collect c = { .st = st };
	struct ctl_reg got;

	for (uint32_t i = 0; i < 4; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS - 1 + i); /* now-1, now, now+1, now+2 */

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS, 0, swept_cb, &c), 2);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.seen_before_delete, 2);
	cr_assert(c.ids[0] + c.ids[1] == 1 && c.ids[0] != c.ids[1], "ids %u %u", c.ids[0],
	          c.ids[1]);
	cr_assert_eq(ctl_store_reg_count(st), 2);
	cr_assert_eq(ctl_store_reg_by_session(st, 1001, &got), -ENOENT, "expires == now swept");
	cr_assert_eq(ctl_store_reg_by_session(st, 1002, &got), 0);
	/* NULL fn, and nothing left to do is 0. */
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS + 1, 0, NULL, NULL), 1);
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS + 1, 0, NULL, NULL), 0);
	cr_assert_eq(ctl_store_reg_count(st), 1);
}

/* The daemon's bounded sweep: the oldest first, exactly the rows the
 * callback saw, unexpired rows untouched, and repeated calls finish. */
Test(store_reg, a_bounded_sweep_takes_the_oldest_and_repeats_to_the_end)
{
	struct collect c = { .st = st };

	for (uint32_t i = 0; i < 7; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS - 10 + i); /* 5 expired at NOW - 6 */

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS - 6, 2, swept_cb, &c), 2);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.seen_before_delete, 2);
	cr_assert(c.ids[0] + c.ids[1] == 1 && c.ids[0] != c.ids[1], "the oldest: ids %u %u",
	          c.ids[0], c.ids[1]);
	cr_assert_eq(ctl_store_reg_count(st), 5);
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS - 6, 2, NULL, NULL), 2);
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS - 6, 2, NULL, NULL), 1);
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS - 6, 2, NULL, NULL), 0);
	cr_assert_eq(ctl_store_reg_count(st), 2, "the unexpired stay");
}

static int count_page(void *ctx, const struct ctl_reg *r)
{
	uint32_t *seen = ctx;

	seen[r->locator[3]]++;
	return 0;
}

static int stop_at_first(void *ctx, const struct ctl_reg *r)
{
	(void)ctx;
	(void)r;
	return 1;
}

/* rvdp's replay: pages of 3 over 10 rows visit each exactly once, in
 * locator order, a row added behind the cursor is not revisited and one
 * added ahead is, and the last page is short. */
Test(store_reg, pages_visit_every_registration_once)
{
	uint8_t cursor[RV_LOCATOR_LEN] = { 0 };
	uint32_t seen[32] = { 0 };
	int n, pages = 0, total = 0;

	for (uint32_t i = 0; i < 10; i++) {
		struct ctl_reg r = make_reg(i * 2, NOW_MS + 1000);

		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	do {
		n = ctl_store_reg_page(st, cursor, pages == 0, 3, count_page, seen);
		cr_assert_geq(n, 0);
		total += n;
		if (++pages == 2) { /* the cursor is at 10 (ids 0, 2, ..., 10 seen) */
			struct ctl_reg behind = make_reg(1, NOW_MS), ahead = make_reg(19, NOW_MS);

			cr_assert_eq(ctl_store_reg_put(st, &behind), 0);
			cr_assert_eq(ctl_store_reg_put(st, &ahead), 0);
		}
	} while (n == 3);
	cr_assert_eq(total, 11);
	cr_assert_eq(pages, 4, "3 + 3 + 3 + 2");
	for (uint32_t i = 0; i < 20; i++)
		cr_assert_eq(seen[i], i % 2 == 0 || i == 19 ? 1u : 0u, "id %u seen %u times", i,
		             seen[i]);
	memset(cursor, 0, sizeof(cursor));
	cr_assert_eq(ctl_store_reg_page(st, cursor, true, 3, stop_at_first, NULL), -ECANCELED);
	cr_assert_eq(ctl_store_reg_page(st, cursor, true, 0, count_page, seen), -EINVAL);
}

Test(store_reg, sweep_inside_a_batch_is_undone_by_rollback)
{
	struct ctl_reg r = make_reg(1, NOW_MS);

	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_reg_sweep(st, NOW_MS, 0, NULL, NULL), 1);
	cr_assert_eq(ctl_store_reg_count(st), 0);
	cr_assert_eq(ctl_store_rollback(st), 0);
	cr_assert_eq(ctl_store_reg_count(st), 1);
}

Test(store_reg, find_app_filters_by_app_flags_self_expiry_and_cap)
{
	struct ctl_reg out[8];
	uint8_t self[RV_LOCATOR_LEN];
	int n;

	/* 0..5 play "game" (2 is the requester, 3 expires now, 4 is not
	 * seeking), 6 plays "chess"; expiry grows with the id. */
	for (uint32_t i = 0; i < 7; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS + 1000 * (i + 1));

		if (i == 3)
			r.expires_ms = NOW_MS;
		if (i == 4)
			r.community.flags = 0;
		if (i == 5)
			r.community.flags = RV_COMM_SEEKING | 0x40;
		if (i == 6)
			strcpy(r.app_id, "chess");
		cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	}
	make_loc(self, 2);
	n = ctl_store_reg_find_app(st, "game", RV_COMM_SEEKING, self, NOW_MS, out, N_OF(out));
	cr_assert_eq(n, 3);
	/* Latest expiry first. */
	cr_assert_eq(out[0].locator[3], 5);
	cr_assert_eq(out[1].locator[3], 1);
	cr_assert_eq(out[2].locator[3], 0);
	{
		struct ctl_reg want = make_reg(1, NOW_MS + 2000);

		assert_reg_eq(&out[1], &want);
	}
	/* Flags 0: any; no self. */
	n = ctl_store_reg_find_app(st, "game", 0, NULL, NOW_MS, out, N_OF(out));
	cr_assert_eq(n, 5);
	/* Every flag asked for must be there. */
	n = ctl_store_reg_find_app(st, "game", RV_COMM_SEEKING | 0x40, self, NOW_MS, out, 8);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0].locator[3], 5);
	/* cap */
	n = ctl_store_reg_find_app(st, "game", 0, NULL, NOW_MS, out, 2);
	cr_assert_eq(n, 2);
	cr_assert_eq(out[0].locator[3], 5);
	cr_assert_eq(out[1].locator[3], 4);
	cr_assert_eq(ctl_store_reg_find_app(st, "game", 0, NULL, NOW_MS, out, 0), 0);
	/* Other apps, unknown apps, everything expired. */
	n = ctl_store_reg_find_app(st, "chess", 0, self, NOW_MS, out, 8);
	cr_assert_eq(n, 1);
	cr_assert_eq(ctl_store_reg_find_app(st, "go", 0, NULL, NOW_MS, out, 8), 0);
	cr_assert_eq(ctl_store_reg_find_app(st, "game", 0, NULL, NOW_MS + 99999, out, 8), 0);
	{
		char long_id[RV_APP_ID_MAX + 2];

		memset(long_id, 'x', sizeof(long_id) - 1);
		long_id[sizeof(long_id) - 1] = 0;
		cr_assert_eq(ctl_store_reg_find_app(st, long_id, 0, NULL, NOW_MS, out, 8), -EINVAL);
	}
}

/* --- groups --------------------------------------------------------------------------- */

static void members_are(const char *g, uint32_t offset, size_t cap, const uint32_t *want,
                        int n_want, uint32_t want_total)
{
	uint8_t out[16][RV_LOCATOR_LEN], loc[RV_LOCATOR_LEN];
	uint32_t total = 0;
	int n = ctl_store_group_members(st, g, offset, out, cap, &total);

	cr_assert_eq(n, n_want, "members of %s from %u: %d", g, offset, n);
	cr_assert_eq(total, want_total);
	for (int i = 0; i < n; i++) {
		make_loc(loc, want[i]);
		cr_assert_arr_eq(out[i], loc, RV_LOCATOR_LEN, "member %d", i);
	}
}

Test(store_group, create_makes_the_owner_a_member_and_twice_is_eexist)
{
	uint8_t owner[RV_LOCATOR_LEN], other[RV_LOCATOR_LEN];
	static const uint32_t want[] = { 1 };

	make_loc(owner, 1);
	make_loc(other, 2);
	cr_assert_eq(ctl_store_group_is_member(st, "g", owner), -ENOENT);
	cr_assert_eq(ctl_store_group_create(st, "g", owner, 0, NOW_S), 0);
	cr_assert_eq(ctl_store_group_is_member(st, "g", owner), 1);
	cr_assert_eq(ctl_store_group_is_member(st, "g", other), 0);
	cr_assert_eq(ctl_store_group_create(st, "g", other, 0, NOW_S), -EEXIST);
	members_are("g", 0, 16, want, 1, 1);
}

Test(store_group, join_and_leave_of_an_unknown_group_are_enoent)
{
	uint8_t a[RV_LOCATOR_LEN];
	uint32_t total = 99;

	make_loc(a, 1);
	cr_assert_eq(ctl_store_group_join(st, "nope", a), -ENOENT);
	cr_assert_eq(ctl_store_group_leave(st, "nope", a), -ENOENT);
	cr_assert_eq(ctl_store_group_members(st, "nope", 0, NULL, 0, &total), -ENOENT);
	cr_assert_eq(total, 99, "untouched");
}

Test(store_group, joining_twice_is_fine_and_keeps_the_join_order)
{
	uint8_t l[RV_LOCATOR_LEN];
	static const uint32_t want[] = { 1, 2, 3 };

	make_loc(l, 1);
	cr_assert_eq(ctl_store_group_create(st, "g", l, 0, NOW_S), 0);
	make_loc(l, 2);
	cr_assert_eq(ctl_store_group_join(st, "g", l), 0);
	make_loc(l, 3);
	cr_assert_eq(ctl_store_group_join(st, "g", l), 0);
	make_loc(l, 2);
	cr_assert_eq(ctl_store_group_join(st, "g", l), 0);
	make_loc(l, 1);
	cr_assert_eq(ctl_store_group_join(st, "g", l), 0);
	members_are("g", 0, 16, want, 3, 3);
}

Test(store_group, a_full_group_refuses_a_new_member_with_enospc)
{
	uint8_t l[RV_LOCATOR_LEN];

	make_loc(l, 1);
	cr_assert_eq(ctl_store_group_create(st, "duo", l, 2, NOW_S), 0);
	make_loc(l, 2);
	cr_assert_eq(ctl_store_group_join(st, "duo", l), 0);
	make_loc(l, 3);
	cr_assert_eq(ctl_store_group_join(st, "duo", l), -ENOSPC);
	cr_assert_eq(ctl_store_group_is_member(st, "duo", l), 0);
	make_loc(l, 2);
	cr_assert_eq(ctl_store_group_join(st, "duo", l), 0, "a member rejoining a full group");
	cr_assert_eq(ctl_store_group_leave(st, "duo", l), 0);
	make_loc(l, 3);
	cr_assert_eq(ctl_store_group_join(st, "duo", l), 0, "room again after a leave");
}

Test(store_group, leaving_removes_the_member_and_a_non_member_is_enoent)
{
	uint8_t a[RV_LOCATOR_LEN], b[RV_LOCATOR_LEN], c[RV_LOCATOR_LEN];
	static const uint32_t want[] = { 2, 1 };

	make_loc(a, 1);
	make_loc(b, 2);
	make_loc(c, 3);
	cr_assert_eq(ctl_store_group_create(st, "g", a, 0, NOW_S), 0);
	cr_assert_eq(ctl_store_group_join(st, "g", b), 0);
	cr_assert_eq(ctl_store_group_leave(st, "g", c), -ENOENT);
	cr_assert_eq(ctl_store_group_leave(st, "g", a), 0, "the owner may leave");
	cr_assert_eq(ctl_store_group_is_member(st, "g", a), 0);
	cr_assert_eq(ctl_store_group_leave(st, "g", a), -ENOENT);
	/* Rejoining goes to the end of the order. */
	cr_assert_eq(ctl_store_group_join(st, "g", a), 0);
	members_are("g", 0, 16, want, 2, 2);
}

Test(store_group, the_last_member_leaving_deletes_the_group)
{
	uint8_t a[RV_LOCATOR_LEN], b[RV_LOCATOR_LEN];
	char err[128];

	make_loc(a, 1);
	make_loc(b, 2);
	cr_assert_eq(ctl_store_group_create(st, "g", a, 1, NOW_S), 0);
	cr_assert_eq(ctl_store_group_leave(st, "g", a), 0);
	cr_assert_eq(ctl_store_group_is_member(st, "g", a), -ENOENT);
	cr_assert_eq(ctl_store_group_join(st, "g", b), -ENOENT);
	cr_assert_eq(ctl_store_group_create(st, "g", b, 0, NOW_S), 0, "the name is free again");
	cr_assert_eq(ctl_store_group_join(st, "g", a), 0, "with the new limit (none)");
	cr_assert_eq(ctl_store_integrity(st, err, sizeof(err)), 0, "%s", err);
}

Test(store_group, members_come_in_join_order_with_offset_cap_and_total)
{
	uint8_t l[RV_LOCATOR_LEN];
	uint32_t order[12], total = 0;

	/* Locator numbers out of their sort order, so join order shows. */
	for (uint32_t i = 0; i < 12; i++) {
		order[i] = (i * 7) % 12 + 100;
		make_loc(l, order[i]);
		if (i == 0)
			cr_assert_eq(ctl_store_group_create(st, "big", l, 0, NOW_S), 0);
		else
			cr_assert_eq(ctl_store_group_join(st, "big", l), 0);
	}
	members_are("big", 0, 16, order, 12, 12);
	members_are("big", 0, 5, order, 5, 12);
	members_are("big", 5, 5, order + 5, 5, 12);
	members_are("big", 10, 5, order + 10, 2, 12);
	members_are("big", 12, 5, order, 0, 12);
	members_are("big", 400, 5, order, 0, 12);
	cr_assert_eq(ctl_store_group_members(st, "big", 0, NULL, 0, &total), 0);
	cr_assert_eq(total, 12);
	cr_assert_eq(ctl_store_group_members(st, "big", 0, NULL, 0, NULL), 0);
}

Test(store_group, group_names_must_be_1_to_32_bytes)
{
	uint8_t a[RV_LOCATOR_LEN];
	char name[RV_GROUP_ID_MAX + 2];

	make_loc(a, 1);
	cr_assert_eq(ctl_store_group_create(st, "", a, 0, NOW_S), -EINVAL);
	memset(name, 'g', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	cr_assert_eq(ctl_store_group_create(st, name, a, 0, NOW_S), -EINVAL);
	cr_assert_eq(ctl_store_group_join(st, name, a), -EINVAL);
	cr_assert_eq(ctl_store_group_leave(st, name, a), -EINVAL);
	cr_assert_eq(ctl_store_group_is_member(st, name, a), -EINVAL);
	name[RV_GROUP_ID_MAX] = 0;
	cr_assert_eq(ctl_store_group_create(st, name, a, 0, NOW_S), 0);
	cr_assert_eq(ctl_store_group_is_member(st, name, a), 1);
}

/* --- statistics ------------------------------------------------------------------- */

struct stat_rows {
	int n;
	struct ctl_pair_stat rows[8];
};

static int stat_cb(void *ctx, const struct ctl_pair_stat *s)
{
	struct stat_rows *r = ctx;

	r->rows[r->n++] = *s;
	return 0;
}

static int stat_stop_cb(void *ctx, const struct ctl_pair_stat *s)
{
	(void)s;
	++*(int *)ctx;
	return -ECANCELED;
}

Test(store_stats, outcomes_accumulate_per_nat_pair_and_strategy)
{
	struct stat_rows r = { 0 };
	const struct ctl_pair_stat *a, *b;
	int n = 0;

	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_FULL_CONE, RV_STRAT_E1,
	                                 RV_RES_OK, 100, 10),
	             0);
	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_FULL_CONE, RV_STRAT_E1,
	                                 RV_RES_OK, 300, 20),
	             0);
	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_FULL_CONE, RV_STRAT_E1,
	                                 RV_RES_TIMEOUT, 5000, 5),
	             0);
	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_FULL_CONE, RV_STRAT_E1,
	                                 RV_RES_RELAYED, 50, 7),
	             0);
	/* Another key: the reverse pair is its own row, and so is a strategy. */
	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_FULL_CONE, RV_NAT_PORT_SYMMETRIC, RV_STRAT_E1,
	                                 RV_RES_NO_PATH, 1, 1),
	             0);
	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_FULL_CONE,
	                                 RV_STRAT_BIRTHDAY, RV_RES_OK, UINT32_MAX, UINT32_MAX),
	             0);
	cr_assert_eq(ctl_store_stats_each(st, stat_cb, &r), 0);
	cr_assert_eq(r.n, 3);
	/* Ordered by (caller, callee, strategy). */
	cr_assert_eq(r.rows[0].caller_nat, RV_NAT_FULL_CONE);
	cr_assert_eq(r.rows[0].failed, 1);
	a = &r.rows[1];
	cr_assert_eq(a->caller_nat, RV_NAT_PORT_SYMMETRIC);
	cr_assert_eq(a->callee_nat, RV_NAT_FULL_CONE);
	cr_assert_eq(a->strategy, RV_STRAT_E1);
	cr_assert_eq(a->attempts, 4);
	cr_assert_eq(a->direct_ok, 2);
	cr_assert_eq(a->relayed, 1);
	cr_assert_eq(a->failed, 1);
	cr_assert_eq(a->total_ms, 400, "only direct successes count time");
	cr_assert_eq(a->packets, 42);
	b = &r.rows[2];
	cr_assert_eq(b->strategy, RV_STRAT_BIRTHDAY);
	cr_assert_eq(b->total_ms, UINT32_MAX);
	cr_assert_eq(b->packets, UINT32_MAX);
	cr_assert_eq(ctl_store_stats_each(st, stat_stop_cb, &n), -ECANCELED);
	cr_assert_eq(n, 1);
}

Test(store_stats, out_of_range_keys_and_results_are_einval)
{
	struct stat_rows r = { 0 };

	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_TYPE_COUNT, 1, 1, RV_RES_OK, 1, 1), -EINVAL);
	cr_assert_eq(ctl_store_stats_add(st, 1, RV_NAT_TYPE_COUNT, 1, RV_RES_OK, 1, 1), -EINVAL);
	cr_assert_eq(ctl_store_stats_add(st, 1, 1, RV_STRAT_COUNT, RV_RES_OK, 1, 1), -EINVAL);
	cr_assert_eq(ctl_store_stats_add(st, 1, 1, 1, RV_RES_COUNT, 1, 1), -EINVAL);
	cr_assert_eq(ctl_store_stats_each(st, stat_cb, &r), 0);
	cr_assert_eq(r.n, 0);
}

/* --- batches ---------------------------------------------------------------------- */

/* One of every kind of write. */
static void write_one_of_each(uint32_t i)
{
	struct ctl_device d = make_dev((uint8_t)i, 0x11);
	struct ctl_reg r = make_reg(i, NOW_MS + 1000);
	uint8_t nonce[RV_NONCE_LEN] = { (uint8_t)i, 1 }, loc[RV_LOCATOR_LEN];

	make_loc(loc, i);
	cr_assert_eq(ctl_store_device_import(st, &d, 1), 0);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S), 0);
	cr_assert_eq(ctl_store_locator_revoke(st, loc, NOW_S), 0);
	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_group_create(st, "team", loc, 0, NOW_S), 0);
	cr_assert_eq(ctl_store_stats_add(st, 1, 1, 1, RV_RES_OK, 1, 1), 0);
}

Test(store_batch, writes_rolled_back_leave_nothing)
{
	uint8_t nonce[RV_NONCE_LEN] = { 3, 1 }, loc[RV_LOCATOR_LEN];
	struct stat_rows r = { 0 };

	make_loc(loc, 3);
	cr_assert_eq(ctl_store_begin(st), 0);
	write_one_of_each(3);
	cr_assert_eq(ctl_store_reg_count(st), 1, "visible inside the batch");
	cr_assert_eq(ctl_store_rollback(st), 0);
	cr_assert_eq(ctl_store_device_count(st), 0);
	cr_assert_eq(ctl_store_reg_count(st), 0);
	cr_assert_eq(ctl_store_locator_revoked(st, loc), 0);
	cr_assert_eq(ctl_store_group_is_member(st, "team", loc), -ENOENT);
	cr_assert_eq(ctl_store_stats_each(st, stat_cb, &r), 0);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S), 0, "never recorded");
}

Test(store_batch, writes_committed_persist_across_reopen)
{
	uint8_t loc[RV_LOCATOR_LEN];

	make_loc(loc, 4);
	cr_assert_eq(ctl_store_begin(st), 0);
	write_one_of_each(4);
	cr_assert_eq(ctl_store_commit(st), 0);
	reopen();
	cr_assert_eq(ctl_store_device_count(st), 1);
	cr_assert_eq(ctl_store_reg_count(st), 1);
	cr_assert_eq(ctl_store_locator_revoked(st, loc), 1);
	cr_assert_eq(ctl_store_group_is_member(st, "team", loc), 1);
}

Test(store_batch, nested_begin_is_ebusy_and_the_outer_batch_goes_on)
{
	struct ctl_reg r = make_reg(1, NOW_MS);

	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_begin(st), -EBUSY);
	cr_assert_eq(ctl_store_reg_put(st, &r), 0);
	cr_assert_eq(ctl_store_checkpoint(st), -EBUSY);
	cr_assert_eq(ctl_store_commit(st), 0);
	cr_assert_eq(ctl_store_reg_count(st), 1);
}

Test(store_batch, commit_or_rollback_without_a_batch_is_einval)
{
	cr_assert_eq(ctl_store_commit(st), -EINVAL);
	cr_assert_eq(ctl_store_rollback(st), -EINVAL);
	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_rollback(st), 0);
	cr_assert_eq(ctl_store_rollback(st), -EINVAL);
}

Test(store_batch, a_refused_write_inside_a_batch_does_not_spoil_it)
{
	struct ctl_reg a = make_reg(1, NOW_MS), b = make_reg(2, NOW_MS), c = make_reg(3, NOW_MS);
	uint8_t nonce[RV_NONCE_LEN] = { 5 }, l[RV_LOCATOR_LEN];

	b.session = a.session;
	make_loc(l, 9);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S), 0);
	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	cr_assert_eq(ctl_store_reg_put(st, &b), -EEXIST);
	cr_assert_eq(ctl_store_nonce_use(st, nonce, NOW_S), -EEXIST);
	cr_assert_eq(ctl_store_group_join(st, "none", l), -ENOENT);
	cr_assert_eq(ctl_store_reg_put(st, &c), 0);
	cr_assert_eq(ctl_store_commit(st), 0);
	reopen();
	cr_assert_eq(ctl_store_reg_count(st), 2);
}

Test(store_batch, closing_with_a_batch_open_drops_it)
{
	struct ctl_reg a = make_reg(1, NOW_MS);

	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	reopen();
	cr_assert_eq(ctl_store_reg_count(st), 0);
}

/* Make any file growth fail (EFBIG), as a full disk would: the WAL cannot
 * take another frame. */
static void freeze_file_sizes(void)
{
	char wal[160];
	struct stat a, b;
	struct rlimit lim;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	cr_assert_eq(stat(path, &a), 0);
	cr_assert_eq(stat(wal, &b), 0);
	cr_assert_neq(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	lim.rlim_cur = (rlim_t)(a.st_size > b.st_size ? a.st_size : b.st_size);
	lim.rlim_max = RLIM_INFINITY;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static void thaw_file_sizes(void)
{
	struct rlimit lim = { RLIM_INFINITY, RLIM_INFINITY };

	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

Test(store_batch, a_commit_that_cannot_reach_the_disk_is_eio_and_leaves_nothing)
{
	struct ctl_reg a = make_reg(1, NOW_MS), b = make_reg(2, NOW_MS), got;
	char err[128];

	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	freeze_file_sizes();
	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_reg_put(st, &b), 0);
	cr_assert_eq(ctl_store_commit(st), -EIO);
	cr_assert_gt(strlen(ctl_store_error(st)), 0);
	cr_log_info("commit failed as expected: %s", ctl_store_error(st));
	/* Autocommit writes fail the same way, and the store stays usable. */
	cr_assert_eq(ctl_store_reg_put(st, &b), -EIO);
	thaw_file_sizes();
	cr_assert_eq(ctl_store_reg_get(st, b.locator, &got), -ENOENT);
	cr_assert_eq(ctl_store_reg_get(st, a.locator, &got), 0);
	cr_assert_eq(ctl_store_begin(st), 0);
	cr_assert_eq(ctl_store_reg_put(st, &b), 0);
	cr_assert_eq(ctl_store_commit(st), 0);
	reopen();
	cr_assert_eq(ctl_store_reg_count(st), 2);
	cr_assert_eq(ctl_store_integrity(st, err, sizeof(err)), 0, "%s", err);
}

Test(store_batch, a_batch_that_fails_midway_fails_whole)
{
	struct ctl_reg a = make_reg(0, NOW_MS);
	uint32_t i;
	int rc = 0;
	char err[128];

	cr_assert_eq(ctl_store_reg_put(st, &a), 0);
	freeze_file_sizes();
	cr_assert_eq(ctl_store_begin(st), 0);
	/* More than the page cache holds: SQLite must spill to the WAL
	 * before the commit, and cannot. */
	for (i = 1; i < 200000 && rc == 0; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS);

		rc = ctl_store_reg_put(st, &r);
	}
	cr_log_info("batch failed after %u puts: %d %s", i - 1, rc, ctl_store_error(st));
	thaw_file_sizes();
	if (rc == 0) {
		cr_assert_eq(ctl_store_commit(st), -EIO);
	} else {
		cr_assert_eq(rc, -EIO);
		/* Whatever SQLite undid, the batch is all or nothing. */
		struct ctl_reg r = make_reg(i + 1, NOW_MS);

		rc = ctl_store_reg_put(st, &r);
		cr_log_info("next put in the batch: %d %s", rc, ctl_store_error(st));
		cr_assert(rc == 0 || rc == -EIO);
		cr_assert_eq(ctl_store_commit(st), -EIO);
	}
	cr_assert_eq(ctl_store_reg_count(st), 1);
	reopen();
	cr_assert_eq(ctl_store_reg_count(st), 1);
	cr_assert_eq(ctl_store_integrity(st, err, sizeof(err)), 0, "%s", err);
}

/* --- crash safety: kill -9 in the middle of a stream of commits ------------------ */

#define CRASH_CYCLES 20

/* The child: one registration per batch, each acknowledged on the pipe
 * only after its commit returned — exactly what the daemon does. */
static void crash_child(int wfd, uint32_t first)
{
	struct ctl_store *s = ctl_store_open(path, false, NULL, 0);

	if (!s)
		_exit(3);
	for (uint32_t i = first;; i++) {
		struct ctl_reg r = make_reg(i, NOW_MS + i);

		if (ctl_store_begin(s) < 0 || ctl_store_reg_put(s, &r) < 0 ||
		    ctl_store_commit(s) < 0)
			_exit(4);
		if (write(wfd, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(5);
	}
}

/* The parent's side of the pipe: acknowledged IDs arrive in order. */
struct acks {
	int fd;
	uint32_t n;    /* how many so far */
	uint32_t last; /* the newest */
	uint8_t part[4];
	size_t have; /* bytes of a split ID (pipes keep 4-byte writes whole, but be safe) */
};

/* Read until at least `want` acknowledgements in all (0: until EOF). */
static void read_acks(struct acks *a, uint32_t want)
{
	uint8_t buf[4096];

	while (want == 0 || a->n < want) {
		ssize_t n = read(a->fd, buf, sizeof(buf));

		if (n == 0)
			break;
		cr_assert_gt(n, 0, "read: %s", strerror(errno));
		for (ssize_t k = 0; k < n; k++) {
			a->part[a->have++] = buf[k];
			if (a->have == 4) {
				memcpy(&a->last, a->part, 4);
				a->have = 0;
				a->n++;
			}
		}
	}
}

Test(store_crash, every_acknowledged_registration_survives_kill_9)
{
	uint32_t next = 0, acked_total = 0;
	unsigned seed = 20240607;
	char err[256];

	for (int cycle = 0; cycle < CRASH_CYCLES; cycle++) {
		uint32_t target = 100 + (uint32_t)(rand_r(&seed) % 200);
		struct acks a = { 0 };
		int fds[2], status;
		pid_t pid;

		cr_assert_eq(pipe(fds), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(fds[1], next);
		}
		close(fds[1]);
		a.fd = fds[0];
		read_acks(&a, target);
		cr_assert_geq(a.n, target, "cycle %d: child stopped early", cycle);
		/* Land the kill anywhere in the next commits. */
		usleep((useconds_t)(rand_r(&seed) % 1500));
		cr_assert_eq(kill(pid, SIGKILL), 0);
		/* Acknowledgements already in the pipe count too. */
		read_acks(&a, 0);
		close(fds[0]);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		          "cycle %d: child exited with %d", cycle, status);
		cr_assert_eq(a.last, next + a.n - 1, "acknowledgements in order");
		acked_total = a.last + 1;

		/* An admin reader first: it must cope with the dead writer's WAL. */
		st = ctl_store_open(path, true, err, sizeof(err));
		cr_assert_not_null(st, "cycle %d: read-only open: %s", cycle, err);
		cr_assert_geq(ctl_store_reg_count(st), (int64_t)acked_total);
		ctl_store_close(st);
		st = ctl_store_open(path, false, err, sizeof(err));
		cr_assert_not_null(st, "cycle %d: reopen: %s", cycle, err);
		cr_assert_eq(ctl_store_integrity(st, err, sizeof(err)), 0, "cycle %d: %s", cycle,
		             err);
		/* Every acknowledged registration of every cycle so far. */
		for (uint32_t i = 0; i < acked_total; i++) {
			struct ctl_reg want = make_reg(i, NOW_MS + i), got;

			cr_assert_eq(ctl_store_reg_get(st, want.locator, &got), 0,
			             "cycle %d: acknowledged registration %u lost", cycle, i);
			cr_assert_eq(got.session, want.session);
			cr_assert_eq(got.expires_ms, want.expires_ms);
		}
		/* At most the one in flight committed without an acknowledgement. */
		cr_assert_leq(ctl_store_reg_count(st), (int64_t)acked_total + 1);
		ctl_store_close(st);
		st = NULL;
		next = acked_total;
	}
	cr_log_info("kill -9: %d cycles, %u acknowledged registrations, none lost", CRASH_CYCLES,
	            acked_total);
}

static int relay_rows(void *ctx, const struct ctl_pair_stat *s)
{
	struct stat_rows *r = ctx;

	if (r->n < 8)
		r->rows[r->n++] = *s;
	return 0;
}

Test(store_stats, relays_add_up_bytes_and_packets_per_nat_pair)
{
	struct stat_rows r = { 0 };

	cr_assert_eq(
	        ctl_store_relay_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_ADDR_SYMMETRIC, 1000, 10), 0);
	cr_assert_eq(ctl_store_relay_add(st, RV_NAT_PORT_SYMMETRIC, RV_NAT_ADDR_SYMMETRIC, 500, 5),
	             0);
	cr_assert_eq(ctl_store_relay_add(st, RV_NAT_TYPE_COUNT, RV_NAT_ADDR_SYMMETRIC, 1, 1),
	             -EINVAL);
	cr_assert_eq(ctl_store_relay_add(st, RV_NAT_FULL_CONE, RV_NAT_FULL_CONE, UINT64_MAX, 1),
	             -EINVAL);
	cr_assert_eq(ctl_store_stats_each(st, relay_rows, &r), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.rows[0].strategy, RV_STRAT_RELAY);
	cr_assert_eq(r.rows[0].relay_bytes, 1500);
	cr_assert_eq(r.rows[0].relay_packets, 15);
	cr_assert_eq(r.rows[0].attempts, 0, "bytes are not attempts");
	reopen();
	r.n = 0;
	cr_assert_eq(ctl_store_stats_each(st, relay_rows, &r), 0);
	cr_assert_eq(r.rows[0].relay_bytes, 1500, "durable");
}

Test(store_file, a_version_1_database_is_migrated_by_the_daemon_and_keeps_its_rows)
{
	struct stat_rows r = { 0 };
	char err[256];
	sqlite3 *db;

	cr_assert_eq(ctl_store_stats_add(st, RV_NAT_FULL_CONE, RV_NAT_PORT_RESTRICTED,
	                                 RV_STRAT_DIRECT, RV_RES_OK, 12, 1),
	             0);
	ctl_store_close(st);
	st = NULL;
	/* Make it what version 1 wrote. */
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
	                          "ALTER TABLE pair_stats DROP COLUMN relay_bytes;"
	                          "ALTER TABLE pair_stats DROP COLUMN relay_packets;"
	                          "PRAGMA user_version=1;",
	                          NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	/* An admin command cannot upgrade it (read-only): it says so. */
	errno = 0;
	cr_assert_null(ctl_store_open(path, true, err, sizeof(err)));
	cr_assert_eq(errno, ENOTSUP);
	cr_assert(strstr(err, "older"), "%s", err);
	/* The daemon's open migrates, and the old row is still there. */
	st = open_store(false);
	cr_assert_eq(ctl_store_stats_each(st, relay_rows, &r), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.rows[0].direct_ok, 1);
	cr_assert_eq(r.rows[0].relay_bytes, 0);
	cr_assert_eq(ctl_store_relay_add(st, RV_NAT_FULL_CONE, RV_NAT_PORT_RESTRICTED, 7, 1), 0);
	reopen();
	struct ctl_store *ro = open_store(true);
	ctl_store_close(ro);
}
