/* ctl_store.c — rvcontrol's durable state on SQLite (see ctl_store.h).
 *
 * Every statement is prepared once at open and reset after each use, so a
 * call allocates nothing of its own. Structured fields are small BLOBs in a
 * fixed big-endian layout (see the enc_* / dec_* helpers): deterministic,
 * compact, and checked on the way back so a damaged row reads as -EIO,
 * never as garbage.
 */
#include "control/ctl_store.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define CTL_STORE_APP_ID  1381385044 /* 0x52564354 "RVCT": another program's database is refused */
#define CTL_STORE_VERSION 2
#define CTL_STORE_BUSY_MS 2000 /* admin readers wait out the writer's brief locks */
/* The writer only meets a lock held by another process (WAL recovery, a
 * misconfigured second daemon): wait briefly, never stall the loop long. */
#define CTL_STORE_WRITER_BUSY_MS 250
#define CTL_STORE_WAL_LIMIT      67108864 /* 64 MiB: WAL truncated back to this after a reset */

/* Schema version 1. Times are INTEGER Unix ms or s; keys and locators are
 * BLOBs with their length checked; structured fields are BLOBs (layouts at
 * enc_addr, enc_nat, enc_path, enc_attrs). */
static const char schema_sql[] =
        "CREATE TABLE devices("
        " id BLOB PRIMARY KEY CHECK(length(id) BETWEEN 1 AND 64),"
        " pubkey BLOB NOT NULL CHECK(length(pubkey) = 32),"
        " revoked INTEGER NOT NULL DEFAULT 0,"
        " added_s INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE nonces("
        " nonce BLOB PRIMARY KEY CHECK(length(nonce) = 32),"
        " expires_s INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX nonces_expires ON nonces(expires_s);"
        "CREATE TABLE revoked_locators("
        " locator BLOB PRIMARY KEY CHECK(length(locator) = 16),"
        " revoked_s INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE registrations("
        " locator BLOB PRIMARY KEY CHECK(length(locator) = 16),"
        " session INTEGER NOT NULL UNIQUE,"
        " probe_key BLOB NOT NULL CHECK(length(probe_key) = 16),"
        " msg_key BLOB NOT NULL CHECK(length(msg_key) = 32),"
        " addr BLOB NOT NULL,"
        " local_addr BLOB NOT NULL,"
        " path BLOB NOT NULL,"
        " via_dataplane INTEGER NOT NULL,"
        " host_addrs BLOB NOT NULL,"
        " nat BLOB NOT NULL,"
        " app_id TEXT NOT NULL,"
        " comm_flags INTEGER NOT NULL,"
        " comm_attrs BLOB NOT NULL,"
        " nickname TEXT NOT NULL,"
        " registered_ms INTEGER NOT NULL,"
        " refreshed_ms INTEGER NOT NULL,"
        " expires_ms INTEGER NOT NULL,"
        " client_time_ms INTEGER NOT NULL,"
        " ticket_expires_s INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX registrations_expires ON registrations(expires_ms);"
        /* Matching scans one app's unexpired entries, freshest first. */
        "CREATE INDEX registrations_app ON registrations(app_id, expires_ms);"
        "CREATE TABLE groups("
        " name TEXT PRIMARY KEY CHECK(length(CAST(name AS BLOB)) BETWEEN 1 AND 32),"
        " owner BLOB NOT NULL CHECK(length(owner) = 16),"
        " max_members INTEGER NOT NULL,"
        " created_s INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE group_members("
        " grp TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,"
        " locator BLOB NOT NULL CHECK(length(locator) = 16),"
        " joined INTEGER NOT NULL,"
        " PRIMARY KEY(grp, locator)) WITHOUT ROWID;"
        /* Join order, and the next order number as max + 1. */
        "CREATE UNIQUE INDEX group_members_order ON group_members(grp, joined);"
        "CREATE TABLE pair_stats("
        " caller_nat INTEGER NOT NULL,"
        " callee_nat INTEGER NOT NULL,"
        " strategy INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL,"
        " direct_ok INTEGER NOT NULL,"
        " relayed INTEGER NOT NULL,"
        " failed INTEGER NOT NULL,"
        " total_ms INTEGER NOT NULL,"
        " packets INTEGER NOT NULL,"
        " relay_bytes INTEGER NOT NULL DEFAULT 0,"
        " relay_packets INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY(caller_nat, callee_nat, strategy)) WITHOUT ROWID;";

/* Each step from version N to N + 1, applied in order inside the schema
 * transaction; [0] is unused (version 0 is a new file: schema_sql). */
static const char *const migrations[] = {
	NULL,
	/* 1 -> 2: what relays carried, per NAT pair. */
	"ALTER TABLE pair_stats ADD COLUMN relay_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE pair_stats ADD COLUMN relay_packets INTEGER NOT NULL DEFAULT 0;",
};

#define STR_(x) #x
#define STR(x)  STR_(x)

#define REG_COLS                                                                        \
	"locator, session, probe_key, msg_key, addr, local_addr, path, via_dataplane, " \
	"host_addrs, nat, app_id, comm_flags, comm_attrs, nickname, registered_ms, "    \
	"refreshed_ms, expires_ms, client_time_ms, ticket_expires_s"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_INTEGRITY,
	S_FK_CHECK,
	S_DEV_INSERT,
	S_DEV_KEY,
	S_DEV_GET,
	S_DEV_REVOKE,
	S_DEV_COUNT,
	S_NONCE_INSERT,
	S_NONCE_SWEEP,
	S_LOC_REVOKE,
	S_LOC_REVOKED,
	S_REG_PUT,
	S_REG_GET,
	S_REG_BY_SESSION,
	S_REG_DEL,
	S_REG_EACH,
	S_REG_PAGE,
	S_REG_FIND_APP,
	S_REG_EXPIRED,
	S_REG_SWEEP,
	S_REG_COUNT,
	S_GRP_INSERT,
	S_GRP_MAX,
	S_MEM_IS,
	S_MEM_COUNT,
	S_MEM_INSERT,
	S_MEM_DELETE,
	S_GRP_DELETE_EMPTY,
	S_GRP_TOTAL,
	S_MEM_PAGE,
	S_STATS_ADD,
	S_STATS_EACH,
	S_RELAY_ADD,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT op",
	[S_RELEASE] = "RELEASE op",
	[S_ROLLBACK_TO] = "ROLLBACK TO op",
	[S_INTEGRITY] = "PRAGMA integrity_check(8)",
	[S_FK_CHECK] = "PRAGMA foreign_key_check",
	[S_DEV_INSERT] = "INSERT INTO devices(id, pubkey, revoked, added_s) VALUES(?1, ?2, ?3, ?4)"
	                 " ON CONFLICT(id) DO NOTHING",
	[S_DEV_KEY] = "SELECT pubkey FROM devices WHERE id = ?1",
	[S_DEV_GET] = "SELECT pubkey, revoked, added_s FROM devices WHERE id = ?1",
	[S_DEV_REVOKE] = "UPDATE devices SET revoked = 1 WHERE id = ?1",
	[S_DEV_COUNT] = "SELECT count(*) FROM devices",
	[S_NONCE_INSERT] = "INSERT INTO nonces(nonce, expires_s) VALUES(?1, ?2)",
	[S_NONCE_SWEEP] = "DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces"
	                  " WHERE expires_s < ?1 LIMIT ?2)",
	[S_LOC_REVOKE] = "INSERT INTO revoked_locators(locator, revoked_s) VALUES(?1, ?2)"
	                 " ON CONFLICT(locator) DO NOTHING",
	[S_LOC_REVOKED] = "SELECT 1 FROM revoked_locators WHERE locator = ?1",
	/* An upsert, not INSERT OR REPLACE: REPLACE would silently delete
	 * another locator's row holding the same session. */
	[S_REG_PUT] = "INSERT INTO registrations(" REG_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	              " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
	              " ON CONFLICT(locator) DO UPDATE SET session = excluded.session,"
	              " probe_key = excluded.probe_key, msg_key = excluded.msg_key,"
	              " addr = excluded.addr, local_addr = excluded.local_addr,"
	              " path = excluded.path, via_dataplane = excluded.via_dataplane,"
	              " host_addrs = excluded.host_addrs, nat = excluded.nat,"
	              " app_id = excluded.app_id, comm_flags = excluded.comm_flags,"
	              " comm_attrs = excluded.comm_attrs, nickname = excluded.nickname,"
	              " registered_ms = excluded.registered_ms,"
	              " refreshed_ms = excluded.refreshed_ms, expires_ms = excluded.expires_ms,"
	              " client_time_ms = excluded.client_time_ms,"
	              " ticket_expires_s = excluded.ticket_expires_s",
	[S_REG_GET] = "SELECT " REG_COLS " FROM registrations WHERE locator = ?1",
	[S_REG_BY_SESSION] = "SELECT " REG_COLS " FROM registrations WHERE session = ?1",
	[S_REG_DEL] = "DELETE FROM registrations WHERE locator = ?1",
	[S_REG_EACH] = "SELECT " REG_COLS " FROM registrations",
	[S_REG_PAGE] = "SELECT " REG_COLS " FROM registrations WHERE locator > ?1"
	               " ORDER BY locator LIMIT ?2",
	[S_REG_FIND_APP] = "SELECT " REG_COLS " FROM registrations WHERE app_id = ?1"
	                   " AND expires_ms > ?4 AND (comm_flags & ?2) = ?2"
	                   " AND locator IS NOT ?3 ORDER BY expires_ms DESC LIMIT ?5",
	/* The oldest first, in the index's own order (expiry, then the key),
	 * so the SELECT and the DELETE of one sweep name the same rows. */
	[S_REG_EXPIRED] = "SELECT " REG_COLS " FROM registrations WHERE expires_ms <= ?1"
	                  " ORDER BY expires_ms, locator LIMIT ?2",
	[S_REG_SWEEP] = "DELETE FROM registrations WHERE locator IN (SELECT locator"
	                " FROM registrations WHERE expires_ms <= ?1"
	                " ORDER BY expires_ms, locator LIMIT ?2)",
	[S_REG_COUNT] = "SELECT count(*) FROM registrations",
	[S_GRP_INSERT] = "INSERT INTO groups(name, owner, max_members, created_s)"
	                 " VALUES(?1, ?2, ?3, ?4)",
	[S_GRP_MAX] = "SELECT max_members FROM groups WHERE name = ?1",
	[S_MEM_IS] = "SELECT (SELECT 1 FROM group_members WHERE grp = ?1 AND locator = ?2)"
	             " FROM groups WHERE name = ?1",
	[S_MEM_COUNT] = "SELECT count(*) FROM group_members WHERE grp = ?1",
	[S_MEM_INSERT] = "INSERT INTO group_members(grp, locator, joined)"
	                 " SELECT ?1, ?2, coalesce(max(joined), 0) + 1 FROM group_members"
	                 " WHERE grp = ?1",
	[S_MEM_DELETE] = "DELETE FROM group_members WHERE grp = ?1 AND locator = ?2",
	[S_GRP_DELETE_EMPTY] = "DELETE FROM groups WHERE name = ?1 AND NOT EXISTS"
	                       " (SELECT 1 FROM group_members WHERE grp = ?1)",
	[S_GRP_TOTAL] = "SELECT (SELECT count(*) FROM group_members WHERE grp = ?1)"
	                " FROM groups WHERE name = ?1",
	[S_MEM_PAGE] = "SELECT locator FROM group_members WHERE grp = ?1 ORDER BY joined"
	               " LIMIT ?3 OFFSET ?2",
	[S_STATS_ADD] = "INSERT INTO pair_stats(caller_nat, callee_nat, strategy, attempts,"
	                " direct_ok, relayed, failed, total_ms, packets)"
	                " VALUES(?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)"
	                " ON CONFLICT(caller_nat, callee_nat, strategy) DO UPDATE SET"
	                " attempts = attempts + 1, direct_ok = direct_ok + excluded.direct_ok,"
	                " relayed = relayed + excluded.relayed, failed = failed + excluded.failed,"
	                " total_ms = total_ms + excluded.total_ms,"
	                " packets = packets + excluded.packets",
	[S_STATS_EACH] = "SELECT caller_nat, callee_nat, strategy, attempts, direct_ok, relayed,"
	                 " failed, total_ms, packets, relay_bytes, relay_packets FROM pair_stats"
	                 " ORDER BY caller_nat, callee_nat, strategy",
	[S_RELAY_ADD] = "INSERT INTO pair_stats(caller_nat, callee_nat, strategy, attempts,"
	                " direct_ok, relayed, failed, total_ms, packets, relay_bytes,"
	                " relay_packets) VALUES(?1, ?2, ?3, 0, 0, 0, 0, 0, 0, ?4, ?5)"
	                " ON CONFLICT(caller_nat, callee_nat, strategy) DO UPDATE SET"
	                " relay_bytes = relay_bytes + excluded.relay_bytes,"
	                " relay_packets = relay_packets + excluded.relay_packets",
};

enum batch_state {
	BATCH_NONE,
	BATCH_OPEN,
	BATCH_FAILED, /* SQLite rolled the whole transaction back under us */
};

struct ctl_store {
	sqlite3 *db;
	bool read_only;
	enum batch_state batch;
	int bind_rc; /* first failed bind since the last step: sticky, checked once */
	sqlite3_stmt *stmt[S_COUNT];
	char err[256];
};

/* --- errors ------------------------------------------------------------------ */

static void set_err(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void set_err(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* A non-SQLite failure: keep a reason for ctl_store_error() and return e. */
static int st_err(struct ctl_store *st, int e, const char *what)
{
	set_err(st->err, sizeof(st->err), "%s", what);
	return e;
}

/* A SQLite failure: keep its message, notice a batch SQLite aborted, and
 * map the code to the header's errno. */
static int db_err(struct ctl_store *st, int rc)
{
	const char *msg = sqlite3_errmsg(st->db);

	/* errmsg describes the connection's last error; a failed bind leaves
	 * it untouched, so fall back to the code's own text. */
	if (sqlite3_errcode(st->db) != rc)
		msg = sqlite3_errstr(rc);
	set_err(st->err, sizeof(st->err), "%s", msg);
	if (st->batch == BATCH_OPEN && sqlite3_get_autocommit(st->db))
		st->batch = BATCH_FAILED;
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return -EEXIST;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* --- statements ---------------------------------------------------------------- */

static void bind_check(struct ctl_store *st, int rc)
{
	if (rc != SQLITE_OK && st->bind_rc == SQLITE_OK)
		st->bind_rc = rc;
}

/* Blobs and text are bound SQLITE_STATIC: no copy; the bindings are
 * cleared before the caller's buffers can go away. */
static void bind_blob(struct ctl_store *st, sqlite3_stmt *s, int i, const void *p, size_t n)
{
	bind_check(st, sqlite3_bind_blob(s, i, p, (int)n, SQLITE_STATIC));
}

static void bind_text(struct ctl_store *st, sqlite3_stmt *s, int i, const char *p, size_t n)
{
	bind_check(st, sqlite3_bind_text(s, i, p, (int)n, SQLITE_STATIC));
}

static void bind_i64(struct ctl_store *st, sqlite3_stmt *s, int i, int64_t v)
{
	bind_check(st, sqlite3_bind_int64(s, i, v));
}

static void bind_null(struct ctl_store *st, sqlite3_stmt *s, int i)
{
	bind_check(st, sqlite3_bind_null(s, i));
}

/* A query bound (now, cap) from unsigned arguments: beyond INT64_MAX
 * means "everything", which INT64_MAX already is (stored times never
 * exceed it). */
static int64_t clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Done with s: reset it and drop the bindings (which may point into the
 * caller's memory). Returns 0 or the error of a failed reset. */
static int finish(struct ctl_store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_reset(s);

	/* clear_bindings only fails on a NULL statement. */
	(void)sqlite3_clear_bindings(s);
	return rc == SQLITE_OK ? 0 : db_err(st, rc);
}

/* Step s: 1 a row (the caller reads it, then steps on or finishes), 0 done
 * (already finished), negative on error (already finished). */
static int step(struct ctl_store *st, sqlite3_stmt *s)
{
	int rc, e;

	if (st->bind_rc != SQLITE_OK) {
		e = db_err(st, st->bind_rc);
		st->bind_rc = SQLITE_OK;
		/* The statement never ran: the reset has nothing to report. */
		(void)finish(st, s);
		return e;
	}
	if (st->batch == BATCH_FAILED && s != st->stmt[S_ROLLBACK]) {
		(void)finish(st, s);
		return st_err(st, -EIO, "batch aborted by an earlier database error: roll it back");
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return finish(st, s);
	e = db_err(st, rc);
	/* reset repeats the step's error, already recorded above. */
	(void)finish(st, s);
	return e;
}

/* Run a statement that returns no rows (or whose rows do not matter). */
static int run(struct ctl_store *st, sqlite3_stmt *s)
{
	int rc = step(st, s);

	if (rc == 1)
		rc = finish(st, s);
	return rc;
}

static int run_id(struct ctl_store *st, enum stmt_id id)
{
	return run(st, st->stmt[id]);
}

/* A single integer answer; -ENOENT when there is no row. */
static int query_i64(struct ctl_store *st, sqlite3_stmt *s, int64_t *out)
{
	int rc = step(st, s);

	if (rc == 0)
		return -ENOENT;
	if (rc < 0)
		return rc;
	*out = sqlite3_column_int64(s, 0);
	return finish(st, s);
}

/* --- transactions ---------------------------------------------------------------- */

/* An operation of several statements is atomic on its own: its own
 * transaction outside a batch (IMMEDIATE for writes, so it never has to
 * upgrade a read lock and meet SQLITE_BUSY halfway), a savepoint inside one
 * (or inside a sweep's transaction, for a callback) so a failure undoes
 * only this operation and the batch goes on. *sp says which, for op_end. */
static int op_begin(struct ctl_store *st, bool write, bool *sp)
{
	*sp = !write || !sqlite3_get_autocommit(st->db);
	return run_id(st, *sp ? S_SAVEPOINT : S_BEGIN);
}

/* Commit the operation when rc >= 0, undo it otherwise. Returns rc, or the
 * commit's error. */
static int op_end(struct ctl_store *st, bool sp, int rc)
{
	int e;

	if (rc >= 0) {
		e = run_id(st, sp ? S_RELEASE : S_COMMIT);
		if (e == 0)
			return rc;
		rc = e;
	}
	/* An I/O or memory error may already have rolled everything back:
	 * then there is nothing left to undo (and no savepoint to name). */
	if (sqlite3_get_autocommit(st->db))
		return rc;
	if (sp) {
		if (run_id(st, S_ROLLBACK_TO) == 0)
			(void)run_id(st, S_RELEASE);
	} else {
		(void)run_id(st, S_ROLLBACK);
	}
	/* Those are best effort; the operation's own error is the answer. */
	return rc;
}

int ctl_store_begin(struct ctl_store *st)
{
	int rc;

	if (st->batch != BATCH_NONE)
		return st_err(st, -EBUSY, "a batch is already open");
	/* SQLite would take the write lock for a reader too: refuse early. */
	if (st->read_only)
		return st_err(st, -EROFS, "read-only connection");
	rc = run_id(st, S_BEGIN);
	if (rc < 0)
		return rc == -EROFS ? rc : -EIO;
	st->batch = BATCH_OPEN;
	return 0;
}

int ctl_store_commit(struct ctl_store *st)
{
	int rc;

	if (st->batch == BATCH_NONE)
		return st_err(st, -EINVAL, "commit without a batch");
	if (st->batch == BATCH_FAILED) {
		st->batch = BATCH_NONE;
		if (!sqlite3_get_autocommit(st->db))
			(void)run_id(st, S_ROLLBACK);
		return st_err(st, -EIO, "batch aborted by an earlier database error");
	}
	rc = run_id(st, S_COMMIT);
	if (rc < 0) {
		/* db_err may have marked the batch failed: commit ends it. */
		st->batch = BATCH_NONE;
		/* Keep the commit's reason, not the rollback's. */
		if (!sqlite3_get_autocommit(st->db))
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	st->batch = BATCH_NONE;
	return 0;
}

int ctl_store_rollback(struct ctl_store *st)
{
	int rc = 0;

	if (st->batch == BATCH_NONE)
		return st_err(st, -EINVAL, "rollback without a batch");
	if (!sqlite3_get_autocommit(st->db))
		rc = run_id(st, S_ROLLBACK);
	st->batch = BATCH_NONE;
	return rc < 0 ? -EIO : 0;
}

int ctl_store_checkpoint(struct ctl_store *st)
{
	int rc;

	if (st->batch != BATCH_NONE)
		return st_err(st, -EBUSY, "checkpoint inside a batch");
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc) == -EROFS ? -EROFS : -EIO;
	return 0;
}

int ctl_store_integrity(struct ctl_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->stmt[S_INTEGRITY];
	size_t used = 0;
	int rc, bad = 0;

	set_err(err, errlen, "ok");
	while ((rc = step(st, s)) == 1) {
		const char *row = (const char *)sqlite3_column_text(s, 0);

		if (row && strcmp(row, "ok") == 0)
			continue;
		/* Join the first problems, "; "-separated, as far as they fit. */
		if (err && used < errlen) {
			int n = snprintf(err + used, errlen - used, "%s%s", bad ? "; " : "",
			                 row ? row : "?");
			used += n > 0 ? (size_t)n : 0;
		}
		bad++;
	}
	if (rc < 0) {
		set_err(err, errlen, "integrity_check: %s", st->err);
		return -EIO;
	}
	if (bad)
		return st_err(st, -EIO, "integrity check failed");
	s = st->stmt[S_FK_CHECK];
	rc = step(st, s);
	if (rc == 1) {
		const char *table = (const char *)sqlite3_column_text(s, 0);

		set_err(err, errlen, "foreign key violation in %s", table ? table : "?");
		(void)finish(st, s);
		return st_err(st, -EIO, "foreign key check failed");
	}
	if (rc < 0) {
		set_err(err, errlen, "foreign_key_check: %s", st->err);
		return -EIO;
	}
	return 0;
}

/* --- open / close ------------------------------------------------------------------ */

/* One-off statements at open (pragmas, schema checks): prepared here,
 * finalized at once. Copies the first column of the first row into out. */
static int pragma(struct ctl_store *st, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return db_err(st, rc);
	if (out)
		out[0] = 0;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && out) {
		const char *v = (const char *)sqlite3_column_text(s, 0);

		snprintf(out, outlen, "%s", v ? v : "");
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_OK;
	else
		rc = db_err(st, rc);
	/* finalize repeats the step's error, recorded above. */
	(void)sqlite3_finalize(s);
	return rc;
}

static int pragma_i64(struct ctl_store *st, const char *sql, int64_t *out)
{
	char buf[32];
	int rc = pragma(st, sql, buf, sizeof(buf));

	if (rc == 0)
		*out = strtoll(buf, NULL, 10);
	return rc;
}

/* Settings that hold per connection; each read back, since SQLite ignores
 * a pragma it cannot honour instead of failing it. */
static int configure(struct ctl_store *st, char *err, size_t errlen)
{
	char mode[16];
	int64_t v = 0;
	int rc;

	/* Extended codes tell a duplicate key from other constraint failures. */
	rc = sqlite3_extended_result_codes(st->db, 1);
	/* Defensive mode: no writable_schema tricks, even by mistake. */
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(st->db, st->read_only ? CTL_STORE_BUSY_MS
		                                                : CTL_STORE_WRITER_BUSY_MS);
	/* The daemon checkpoints when idle (ctl_store_checkpoint). */
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_autocheckpoint(st->db, 0);
	if (rc != SQLITE_OK) {
		(void)db_err(st, rc); /* keeps the message for the fail label */
		goto fail;
	}
	if (!st->read_only) {
		/* The first read of the file: a non-database fails here. */
		if (pragma(st, "PRAGMA journal_mode=WAL", mode, sizeof(mode)) < 0)
			goto fail;
		if (strcmp(mode, "wal") != 0) {
			set_err(err, errlen, "%s: cannot use WAL (journal mode is %s)",
			        sqlite3_db_filename(st->db, "main"), mode);
			return -EIO;
		}
		if (pragma(st, "PRAGMA synchronous=FULL", NULL, 0) < 0 ||
		    pragma_i64(st, "PRAGMA synchronous", &v) < 0)
			goto fail;
		if (v != 2) {
			set_err(err, errlen, "synchronous=FULL did not take (%lld)", (long long)v);
			return -EIO;
		}
		if (pragma(st, "PRAGMA journal_size_limit=" STR(CTL_STORE_WAL_LIMIT), NULL, 0) < 0)
			goto fail;
	} else {
		if (pragma(st, "PRAGMA journal_mode", mode, sizeof(mode)) < 0)
			goto fail;
	}
	if (pragma(st, "PRAGMA foreign_keys=ON", NULL, 0) < 0 ||
	    pragma_i64(st, "PRAGMA foreign_keys", &v) < 0)
		goto fail;
	if (v != 1) {
		set_err(err, errlen, "this SQLite has no foreign key support");
		return -EIO;
	}
	/* Catch damaged pages as errors as early as possible. */
	if (pragma(st, "PRAGMA cell_size_check=ON", NULL, 0) < 0)
		goto fail;
	return 0;
fail:
	set_err(err, errlen, "%s: %s", sqlite3_db_filename(st->db, "main"), st->err);
	return -EIO;
}

/* Create the schema on a new file, or check the version of an existing
 * one. In one IMMEDIATE transaction, so two first opens cannot both create
 * it and a crash leaves either nothing or everything. */
static int schema(struct ctl_store *st, char *err, size_t errlen)
{
	const char *file = sqlite3_db_filename(st->db, "main");
	int64_t version = 0, app = 0, tables = 0;
	bool tx = !st->read_only;
	int rc, e = -EIO;

	if (tx && pragma(st, "BEGIN IMMEDIATE", NULL, 0) < 0)
		goto dberr;
	if (pragma_i64(st, "PRAGMA user_version", &version) < 0 ||
	    pragma_i64(st, "PRAGMA application_id", &app) < 0 ||
	    pragma_i64(st, "SELECT count(*) FROM sqlite_master", &tables) < 0)
		goto dberr;
	if (app != 0 && app != CTL_STORE_APP_ID) {
		set_err(err, errlen, "%s: not an rvcontrol database (application_id %#llx)", file,
		        (unsigned long long)app);
		e = -ENOTSUP;
		goto out;
	}
	if (version > CTL_STORE_VERSION) {
		set_err(err, errlen,
		        "%s: schema version %lld is newer than this rvcontrol's %d: upgrade "
		        "rvcontrol",
		        file, (long long)version, CTL_STORE_VERSION);
		e = -ENOTSUP;
		goto out;
	}
	if (version == 0 && tables != 0) {
		set_err(err, errlen, "%s: not an rvcontrol database (tables but no version)", file);
		e = -ENOTSUP;
		goto out;
	}
	if (version == 0 && st->read_only) {
		set_err(err, errlen, "%s: no rvcontrol schema yet (open it read-write once)", file);
		e = -ENOENT;
		goto out;
	}
	if (version == 0) {
		rc = sqlite3_exec(st->db, schema_sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			(void)db_err(st, rc); /* keeps the message for dberr */
			goto dberr;
		}
		if (pragma(st, "PRAGMA user_version=" STR(CTL_STORE_VERSION), NULL, 0) < 0 ||
		    pragma(st, "PRAGMA application_id=" STR(CTL_STORE_APP_ID), NULL, 0) < 0)
			goto dberr;
	}
	if (version > 0 && version < CTL_STORE_VERSION && st->read_only) {
		set_err(err, errlen,
		        "%s: schema version %lld is older than this rvcontrol's %d: run the "
		        "daemon once to upgrade it",
		        file, (long long)version, CTL_STORE_VERSION);
		e = -ENOTSUP;
		goto out;
	}
	for (int64_t v = version ? version : CTL_STORE_VERSION; v < CTL_STORE_VERSION; v++) {
		rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			(void)db_err(st, rc);
			goto dberr;
		}
	}
	if (version > 0 && version < CTL_STORE_VERSION &&
	    pragma(st, "PRAGMA user_version=" STR(CTL_STORE_VERSION), NULL, 0) < 0)
		goto dberr;
	if (tx && pragma(st, "COMMIT", NULL, 0) < 0)
		goto dberr;
	return 0;
dberr:
	set_err(err, errlen, "%s: %s", file, st->err);
	e = -EIO;
out:
	if (tx && !sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return e;
}

struct ctl_store *ctl_store_open(const char *path, bool read_only, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_NOMUTEX; /* one thread per connection: no mutexes needed */
	struct ctl_store *st;
	struct stat sb;
	int rc, e = EIO;

	set_err(err, errlen, "ok");
	if (read_only && stat(path, &sb) != 0) {
		e = errno;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	st->read_only = read_only;
	flags |= read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", path,
		        st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		e = rc == SQLITE_NOMEM ? ENOMEM : EIO;
		goto fail;
	}
	rc = configure(st, err, errlen);
	if (rc == 0)
		rc = schema(st, err, errlen);
	if (rc < 0) {
		e = -rc;
		goto fail;
	}
	for (int i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			set_err(err, errlen, "%s: preparing statement %d: %s", path, i,
			        sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	return st;
fail:
	ctl_store_close(st);
	errno = e;
	return NULL;
}

void ctl_store_close(struct ctl_store *st)
{
	if (!st)
		return;
	/* An open batch was never acknowledged: drop it. */
	if (st->db && !sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < S_COUNT; i++)
		(void)sqlite3_finalize(st->stmt[i]); /* NULL is a no-op */
	/* With every statement finalized close cannot be busy; close_v2 would
	 * only defer the same work. Nothing to report to a void caller. */
	(void)sqlite3_close(st->db);
	free(st);
}

const char *ctl_store_error(const struct ctl_store *st)
{
	return st ? st->err : "no store";
}

/* --- encodings ------------------------------------------------------------------ */

/* addr = family(1) | port(2, BE) | ip (4 for IPv4, 16 for IPv6, 0 else) */
#define ADDR_ENC_MAX 19
/* nat  = type map filt alloc | delta(2, BE, two's complement) | hops flags |
 *        lifetime_s(2, BE) | bg_rate_x10(2, BE): RV-NAT's own layout */
#define NAT_ENC_LEN 12
/* path = port(2, BE) | queue(2, BE) | mac(6) */
#define PATH_ENC_LEN 10
/* attrs = n x [key(2, BE) | value(4, BE, two's complement)] */
#define ATTR_ENC_LEN 6

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static bool addr_ok(const struct rv_addr *a)
{
	return a->family == RV_AF_NONE || a->family == RV_AF_INET || a->family == RV_AF_INET6;
}

static size_t enc_addr(uint8_t *p, const struct rv_addr *a)
{
	size_t n = rv_addr_iplen(a);

	p[0] = a->family;
	put16(p + 1, a->port);
	memcpy(p + 3, a->ip, n);
	return 3 + n;
}

/* Decode one address from p[0..len); returns the bytes used, 0 if bad. */
static size_t dec_addr(const uint8_t *p, size_t len, struct rv_addr *a)
{
	size_t n;

	memset(a, 0, sizeof(*a));
	if (len < 3)
		return 0;
	a->family = p[0];
	if (!addr_ok(a))
		return 0;
	n = rv_addr_iplen(a);
	if (len < 3 + n)
		return 0;
	a->port = get16(p + 1);
	memcpy(a->ip, p + 3, n);
	return 3 + n;
}

static void enc_nat(uint8_t p[NAT_ENC_LEN], const struct rv_nat_info *n)
{
	p[0] = n->type;
	p[1] = n->map;
	p[2] = n->filt;
	p[3] = n->alloc;
	put16(p + 4, (uint16_t)n->delta);
	p[6] = n->hops;
	p[7] = n->flags;
	put16(p + 8, n->lifetime_s);
	put16(p + 10, n->bg_rate_x10);
}

static void dec_nat(const uint8_t p[NAT_ENC_LEN], struct rv_nat_info *n)
{
	n->type = p[0];
	n->map = p[1];
	n->filt = p[2];
	n->alloc = p[3];
	n->delta = (int16_t)get16(p + 4);
	n->hops = p[6];
	n->flags = p[7];
	n->lifetime_s = get16(p + 8);
	n->bg_rate_x10 = get16(p + 10);
}

static void enc_path(uint8_t p[PATH_ENC_LEN], const struct rv_dpc_path *d)
{
	put16(p, d->port);
	put16(p + 2, d->queue);
	memcpy(p + 4, d->mac, 6);
}

static void dec_path(const uint8_t p[PATH_ENC_LEN], struct rv_dpc_path *d)
{
	d->port = get16(p);
	d->queue = get16(p + 2);
	memcpy(d->mac, p + 4, 6);
}

static size_t enc_attrs(uint8_t *p, const struct rv_community *c)
{
	for (size_t i = 0; i < c->n; i++) {
		put16(p + i * ATTR_ENC_LEN, c->attrs[i].key);
		put32(p + i * ATTR_ENC_LEN + 2, (uint32_t)c->attrs[i].value);
	}
	return (size_t)c->n * ATTR_ENC_LEN;
}

/* A column of exactly len bytes (len 0: any up to max, length in *got). */
static const uint8_t *col_blob(sqlite3_stmt *s, int i, size_t want, size_t max, size_t *got)
{
	const uint8_t *p = sqlite3_column_blob(s, i);
	size_t n = (size_t)sqlite3_column_bytes(s, i);
	static const uint8_t empty[1];

	if (want ? n != want : n > max)
		return NULL;
	if (got)
		*got = n;
	/* A zero-length blob comes back as NULL: not an error. */
	return p ? p : n == 0 ? empty : NULL;
}

static bool col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(s, i);
	size_t n = (size_t)sqlite3_column_bytes(s, i);

	if (n >= cap || (!p && n))
		return false;
	memcpy(out, p ? (const char *)p : "", n);
	out[n] = 0;
	return true;
}

static bool col_u64(sqlite3_stmt *s, int i, uint64_t *out)
{
	int64_t v = sqlite3_column_int64(s, i);

	*out = (uint64_t)v;
	return v >= 0;
}

/* --- devices ---------------------------------------------------------------------- */

static bool dev_id_ok(size_t id_len)
{
	return id_len >= 1 && id_len <= RV_DEVICE_ID_MAX;
}

int ctl_store_device_import(struct ctl_store *st, const struct ctl_device *devs, size_t n)
{
	sqlite3_stmt *ins = st->stmt[S_DEV_INSERT], *key = st->stmt[S_DEV_KEY];
	bool sp;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (!dev_id_ok(devs[i].id_len) || devs[i].added_s > INT64_MAX)
			return st_err(st, -EINVAL, "device ID length or time out of range");
	rc = op_begin(st, true, &sp);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		const struct ctl_device *d = &devs[i];
		const uint8_t *old;
		int f;

		bind_blob(st, ins, 1, d->id, d->id_len);
		bind_blob(st, ins, 2, d->pubkey, sizeof(d->pubkey));
		bind_i64(st, ins, 3, d->revoked);
		bind_i64(st, ins, 4, (int64_t)d->added_s);
		rc = run(st, ins);
		if (rc < 0)
			break;
		if (sqlite3_changes(st->db) == 1)
			continue;
		/* Known already: fine with the same key, a conflict otherwise. */
		bind_blob(st, key, 1, d->id, d->id_len);
		rc = step(st, key);
		if (rc == 1) {
			old = col_blob(key, 0, sizeof(d->pubkey), 0, NULL);
			rc = old && memcmp(old, d->pubkey, sizeof(d->pubkey)) == 0 ? 0 : -EEXIST;
			f = finish(st, key);
			if (rc == -EEXIST)
				set_err(st->err, sizeof(st->err),
				        "device %zu (from 0) is already known with another key", i);
			else if (f < 0)
				rc = f;
		} else if (rc == 0) {
			rc = st_err(st, -EIO, "device neither inserted nor found");
		}
	}
	return op_end(st, sp, rc < 0 ? rc : 0);
}

int ctl_store_device_get(struct ctl_store *st, const uint8_t *id, size_t id_len,
                         struct ctl_device *out)
{
	sqlite3_stmt *s = st->stmt[S_DEV_GET];
	const uint8_t *key;
	int rc;

	if (!dev_id_ok(id_len))
		return st_err(st, -EINVAL, "device ID length out of range");
	bind_blob(st, s, 1, id, id_len);
	rc = step(st, s);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	memset(out, 0, sizeof(*out));
	memcpy(out->id, id, id_len);
	out->id_len = (uint8_t)id_len;
	key = col_blob(s, 0, sizeof(out->pubkey), 0, NULL);
	if (key)
		memcpy(out->pubkey, key, sizeof(out->pubkey));
	out->revoked = sqlite3_column_int64(s, 1) != 0;
	if (!col_u64(s, 2, &out->added_s) || !key) {
		(void)finish(st, s);
		return st_err(st, -EIO, "damaged device row");
	}
	return finish(st, s);
}

int ctl_store_device_revoke(struct ctl_store *st, const uint8_t *id, size_t id_len)
{
	sqlite3_stmt *s = st->stmt[S_DEV_REVOKE];
	int rc;

	if (!dev_id_ok(id_len))
		return st_err(st, -EINVAL, "device ID length out of range");
	bind_blob(st, s, 1, id, id_len);
	rc = run(st, s);
	if (rc < 0)
		return rc;
	return sqlite3_changes(st->db) ? 0 : st_err(st, -ENOENT, "no such device");
}

int64_t ctl_store_device_count(struct ctl_store *st)
{
	int64_t n = 0;
	int rc = query_i64(st, st->stmt[S_DEV_COUNT], &n);

	return rc < 0 ? rc : n;
}

/* --- nonces ------------------------------------------------------------------------- */

int ctl_store_nonce_use(struct ctl_store *st, const uint8_t nonce[RV_NONCE_LEN], uint64_t expires_s)
{
	sqlite3_stmt *s = st->stmt[S_NONCE_INSERT];

	if (expires_s > INT64_MAX)
		return st_err(st, -EINVAL, "nonce expiry out of range");
	bind_blob(st, s, 1, nonce, RV_NONCE_LEN);
	bind_i64(st, s, 2, (int64_t)expires_s);
	return run(st, s);
}

/* SQLite's LIMIT: negative is none. */
static int64_t sweep_limit(size_t limit)
{
	return limit && limit <= INT64_MAX ? (int64_t)limit : -1;
}

int64_t ctl_store_nonce_sweep(struct ctl_store *st, uint64_t now_s, size_t limit)
{
	sqlite3_stmt *s = st->stmt[S_NONCE_SWEEP];
	int rc;

	bind_i64(st, s, 1, clamp_i64(now_s));
	bind_i64(st, s, 2, sweep_limit(limit));
	rc = run(st, s);
	return rc < 0 ? rc : sqlite3_changes(st->db);
}

/* --- revoked locators ---------------------------------------------------------------- */

int ctl_store_locator_revoke(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN],
                             uint64_t now_s)
{
	sqlite3_stmt *s = st->stmt[S_LOC_REVOKE];

	if (now_s > INT64_MAX)
		return st_err(st, -EINVAL, "time out of range");
	bind_blob(st, s, 1, locator, RV_LOCATOR_LEN);
	bind_i64(st, s, 2, (int64_t)now_s);
	return run(st, s);
}

int ctl_store_locator_revoked(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN])
{
	sqlite3_stmt *s = st->stmt[S_LOC_REVOKED];
	int rc;

	bind_blob(st, s, 1, locator, RV_LOCATOR_LEN);
	rc = step(st, s);
	if (rc == 1)
		rc = finish(st, s) < 0 ? -EIO : 1;
	return rc;
}

/* --- registrations ------------------------------------------------------------------- */

static bool str_fits(const char *s, size_t max)
{
	return strnlen(s, max + 1) <= max;
}

static int reg_check(const struct ctl_reg *r)
{
	if (!addr_ok(&r->addr) || !addr_ok(&r->local) || r->n_host_addrs > RV_HOST_ADDRS ||
	    r->community.n > RV_COMM_ATTRS || !str_fits(r->app_id, RV_APP_ID_MAX) ||
	    !str_fits(r->nickname, RV_NICK_MAX))
		return -EINVAL;
	for (size_t i = 0; i < r->n_host_addrs; i++)
		if (!addr_ok(&r->host_addrs[i]))
			return -EINVAL;
	if (r->registered_ms > INT64_MAX || r->refreshed_ms > INT64_MAX ||
	    r->expires_ms > INT64_MAX || r->client_time_ms > INT64_MAX)
		return -EINVAL;
	return 0;
}

/* Columns in REG_COLS order, from index 0 of a row (or 1 of a binding). */
enum reg_col {
	RC_LOCATOR,
	RC_SESSION,
	RC_PROBE_KEY,
	RC_MSG_KEY,
	RC_ADDR,
	RC_LOCAL,
	RC_PATH,
	RC_VIA,
	RC_HOST_ADDRS,
	RC_NAT,
	RC_APP_ID,
	RC_COMM_FLAGS,
	RC_COMM_ATTRS,
	RC_NICKNAME,
	RC_REGISTERED,
	RC_REFRESHED,
	RC_EXPIRES,
	RC_CLIENT_TIME,
	RC_TICKET_EXPIRES,
};

/* Decode the current row of s into out; -EIO when it is damaged. */
static int reg_row(struct ctl_store *st, sqlite3_stmt *s, struct ctl_reg *out)
{
	const uint8_t *p;
	size_t n, used;
	int64_t v = 0;
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if ((p = col_blob(s, RC_LOCATOR, RV_LOCATOR_LEN, 0, NULL)))
		memcpy(out->locator, p, RV_LOCATOR_LEN);
	ok &= p != NULL;
	out->session = (uint64_t)sqlite3_column_int64(s, RC_SESSION);
	if ((p = col_blob(s, RC_PROBE_KEY, sizeof(out->probe_key), 0, NULL)))
		memcpy(out->probe_key, p, sizeof(out->probe_key));
	ok &= p != NULL;
	if ((p = col_blob(s, RC_MSG_KEY, sizeof(out->msg_key), 0, NULL)))
		memcpy(out->msg_key, p, sizeof(out->msg_key));
	ok &= p != NULL;
	p = col_blob(s, RC_ADDR, 0, ADDR_ENC_MAX, &n);
	ok &= p && dec_addr(p, n, &out->addr) == n;
	p = col_blob(s, RC_LOCAL, 0, ADDR_ENC_MAX, &n);
	ok &= p && dec_addr(p, n, &out->local) == n;
	if ((p = col_blob(s, RC_PATH, PATH_ENC_LEN, 0, NULL)))
		dec_path(p, &out->path);
	ok &= p != NULL;
	out->via_dataplane = sqlite3_column_int64(s, RC_VIA) != 0;
	p = col_blob(s, RC_HOST_ADDRS, 0, RV_HOST_ADDRS * ADDR_ENC_MAX, &n);
	ok &= p != NULL;
	for (size_t off = 0; p && off < n; off += used) {
		if (out->n_host_addrs == RV_HOST_ADDRS) {
			ok = false;
			break;
		}
		used = dec_addr(p + off, n - off, &out->host_addrs[out->n_host_addrs++]);
		if (used == 0) {
			ok = false;
			break;
		}
	}
	if ((p = col_blob(s, RC_NAT, NAT_ENC_LEN, 0, NULL)))
		dec_nat(p, &out->nat);
	ok &= p != NULL;
	ok &= col_text(s, RC_APP_ID, out->app_id, sizeof(out->app_id));
	v = sqlite3_column_int64(s, RC_COMM_FLAGS);
	ok &= v >= 0 && v <= UINT8_MAX;
	out->community.flags = (uint8_t)v;
	p = col_blob(s, RC_COMM_ATTRS, 0, RV_COMM_ATTRS * ATTR_ENC_LEN, &n);
	ok &= p && n % ATTR_ENC_LEN == 0;
	if (p && n % ATTR_ENC_LEN == 0) {
		out->community.n = (uint8_t)(n / ATTR_ENC_LEN);
		for (size_t i = 0; i < out->community.n; i++) {
			out->community.attrs[i].key = get16(p + i * ATTR_ENC_LEN);
			out->community.attrs[i].value = (int32_t)get32(p + i * ATTR_ENC_LEN + 2);
		}
	}
	ok &= col_text(s, RC_NICKNAME, out->nickname, sizeof(out->nickname));
	ok &= col_u64(s, RC_REGISTERED, &out->registered_ms);
	ok &= col_u64(s, RC_REFRESHED, &out->refreshed_ms);
	ok &= col_u64(s, RC_EXPIRES, &out->expires_ms);
	ok &= col_u64(s, RC_CLIENT_TIME, &out->client_time_ms);
	v = sqlite3_column_int64(s, RC_TICKET_EXPIRES);
	ok &= v >= 0 && v <= UINT32_MAX;
	out->ticket_expires_s = (uint32_t)v;
	return ok ? 0 : st_err(st, -EIO, "damaged registration row");
}

int ctl_store_reg_put(struct ctl_store *st, const struct ctl_reg *r)
{
	sqlite3_stmt *s = st->stmt[S_REG_PUT];
	uint8_t addr[ADDR_ENC_MAX], local[ADDR_ENC_MAX], hosts[RV_HOST_ADDRS * ADDR_ENC_MAX];
	uint8_t nat[NAT_ENC_LEN], path[PATH_ENC_LEN], attrs[RV_COMM_ATTRS * ATTR_ENC_LEN];
	size_t n_addr, n_local, n_hosts = 0, n_attrs;
	int rc;

	if (reg_check(r) < 0)
		return st_err(st, -EINVAL, "registration field out of range");
	n_addr = enc_addr(addr, &r->addr);
	n_local = enc_addr(local, &r->local);
	for (size_t i = 0; i < r->n_host_addrs; i++)
		n_hosts += enc_addr(hosts + n_hosts, &r->host_addrs[i]);
	enc_nat(nat, &r->nat);
	enc_path(path, &r->path);
	n_attrs = enc_attrs(attrs, &r->community);

	bind_blob(st, s, 1 + RC_LOCATOR, r->locator, RV_LOCATOR_LEN);
	bind_i64(st, s, 1 + RC_SESSION, (int64_t)r->session); /* identity only: bits kept */
	bind_blob(st, s, 1 + RC_PROBE_KEY, r->probe_key, sizeof(r->probe_key));
	bind_blob(st, s, 1 + RC_MSG_KEY, r->msg_key, sizeof(r->msg_key));
	bind_blob(st, s, 1 + RC_ADDR, addr, n_addr);
	bind_blob(st, s, 1 + RC_LOCAL, local, n_local);
	bind_blob(st, s, 1 + RC_PATH, path, sizeof(path));
	bind_i64(st, s, 1 + RC_VIA, r->via_dataplane);
	bind_blob(st, s, 1 + RC_HOST_ADDRS, hosts, n_hosts);
	bind_blob(st, s, 1 + RC_NAT, nat, sizeof(nat));
	bind_text(st, s, 1 + RC_APP_ID, r->app_id, strlen(r->app_id));
	bind_i64(st, s, 1 + RC_COMM_FLAGS, r->community.flags);
	bind_blob(st, s, 1 + RC_COMM_ATTRS, attrs, n_attrs);
	bind_text(st, s, 1 + RC_NICKNAME, r->nickname, strlen(r->nickname));
	bind_i64(st, s, 1 + RC_REGISTERED, (int64_t)r->registered_ms);
	bind_i64(st, s, 1 + RC_REFRESHED, (int64_t)r->refreshed_ms);
	bind_i64(st, s, 1 + RC_EXPIRES, (int64_t)r->expires_ms);
	bind_i64(st, s, 1 + RC_CLIENT_TIME, (int64_t)r->client_time_ms);
	bind_i64(st, s, 1 + RC_TICKET_EXPIRES, r->ticket_expires_s);
	/* One statement: a session held by another locator fails it whole
	 * (UNIQUE), leaving nothing written. */
	rc = run(st, s);
	if (rc == -EEXIST)
		set_err(st->err, sizeof(st->err), "session held by another locator");
	return rc;
}

/* One registration by the key bound to s; -ENOENT when none. */
static int reg_one(struct ctl_store *st, sqlite3_stmt *s, struct ctl_reg *out)
{
	int rc = step(st, s), f;

	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	rc = reg_row(st, s, out);
	f = finish(st, s);
	return rc < 0 ? rc : f;
}

int ctl_store_reg_get(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN],
                      struct ctl_reg *out)
{
	sqlite3_stmt *s = st->stmt[S_REG_GET];

	bind_blob(st, s, 1, locator, RV_LOCATOR_LEN);
	return reg_one(st, s, out);
}

int ctl_store_reg_by_session(struct ctl_store *st, uint64_t session, struct ctl_reg *out)
{
	sqlite3_stmt *s = st->stmt[S_REG_BY_SESSION];

	bind_i64(st, s, 1, (int64_t)session);
	return reg_one(st, s, out);
}

int ctl_store_reg_del(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN])
{
	sqlite3_stmt *s = st->stmt[S_REG_DEL];
	int rc;

	bind_blob(st, s, 1, locator, RV_LOCATOR_LEN);
	rc = run(st, s);
	if (rc < 0)
		return rc;
	return sqlite3_changes(st->db) ? 0 : st_err(st, -ENOENT, "no such registration");
}

/* Step s to the end, calling fn per row; stops at fn's first non-zero. */
static int reg_iter(struct ctl_store *st, sqlite3_stmt *s,
                    int (*fn)(void *ctx, const struct ctl_reg *r), void *ctx)
{
	struct ctl_reg r;
	int rc;

	while ((rc = step(st, s)) == 1) {
		rc = reg_row(st, s, &r);
		if (rc == 0)
			rc = fn(ctx, &r);
		if (rc != 0) {
			int f = finish(st, s);
			return f < 0 ? f : rc;
		}
	}
	return rc;
}

int ctl_store_reg_each(struct ctl_store *st, int (*fn)(void *ctx, const struct ctl_reg *r),
                       void *ctx)
{
	sqlite3_stmt *s = st->stmt[S_REG_EACH];

	if (sqlite3_stmt_busy(s))
		return st_err(st, -EBUSY, "reg_each re-entered from its callback");
	return reg_iter(st, s, fn, ctx);
}

struct page_ctx {
	int (*fn)(void *ctx, const struct ctl_reg *r);
	void *ctx;
	uint8_t *last;
	int n;
};

static int page_one(void *ctx, const struct ctl_reg *r)
{
	struct page_ctx *p = ctx;

	memcpy(p->last, r->locator, RV_LOCATOR_LEN);
	p->n++;
	return p->fn(p->ctx, r);
}

int ctl_store_reg_page(struct ctl_store *st, uint8_t cursor[RV_LOCATOR_LEN], bool first,
                       size_t limit, int (*fn)(void *ctx, const struct ctl_reg *r), void *ctx)
{
	sqlite3_stmt *s = st->stmt[S_REG_PAGE];
	struct page_ctx p = { fn, ctx, cursor, 0 };
	uint8_t from[RV_LOCATOR_LEN]; /* bound while the cursor moves */
	int rc;

	if (sqlite3_stmt_busy(s))
		return st_err(st, -EBUSY, "reg_page re-entered from its callback");
	if (!limit || limit > INT_MAX)
		return st_err(st, -EINVAL, "page size out of range");
	/* A zero-length blob sorts before every locator. */
	memcpy(from, cursor, RV_LOCATOR_LEN);
	bind_blob(st, s, 1, from, first ? 0 : RV_LOCATOR_LEN);
	bind_i64(st, s, 2, (int64_t)limit);
	rc = reg_iter(st, s, page_one, &p);
	return rc < 0 ? rc : rc > 0 ? -ECANCELED : p.n;
}

int ctl_store_reg_find_app(struct ctl_store *st, const char *app_id, uint8_t flags,
                           const uint8_t self[RV_LOCATOR_LEN], uint64_t now_ms, struct ctl_reg *out,
                           size_t cap)
{
	sqlite3_stmt *s = st->stmt[S_REG_FIND_APP];
	int rc, n = 0;

	if (!str_fits(app_id, RV_APP_ID_MAX))
		return st_err(st, -EINVAL, "app ID too long");
	if (cap == 0)
		return 0;
	if (cap > INT_MAX)
		cap = INT_MAX;
	bind_text(st, s, 1, app_id, strlen(app_id));
	bind_i64(st, s, 2, flags);
	if (self)
		bind_blob(st, s, 3, self, RV_LOCATOR_LEN);
	else
		bind_null(st, s, 3);
	bind_i64(st, s, 4, clamp_i64(now_ms));
	bind_i64(st, s, 5, (int64_t)cap);
	while ((rc = step(st, s)) == 1) {
		rc = reg_row(st, s, &out[n]);
		if (rc < 0) {
			(void)finish(st, s);
			return rc;
		}
		n++;
	}
	return rc < 0 ? rc : n;
}

int64_t ctl_store_reg_sweep(struct ctl_store *st, uint64_t now_ms, size_t limit,
                            void (*fn)(void *ctx, const struct ctl_reg *r), void *ctx)
{
	sqlite3_stmt *sel = st->stmt[S_REG_EXPIRED], *del = st->stmt[S_REG_SWEEP];
	int64_t now = clamp_i64(now_ms);
	struct ctl_reg r;
	bool sp;
	int rc;

	if (sqlite3_stmt_busy(sel))
		return st_err(st, -EBUSY, "reg_sweep re-entered from its callback");
	rc = op_begin(st, true, &sp);
	if (rc < 0)
		return rc;
	/* Tell the caller about every row first, then delete them with the
	 * same bound in the same transaction: the same set, and no list of
	 * them to hold in memory. */
	if (fn) {
		bind_i64(st, sel, 1, now);
		bind_i64(st, sel, 2, sweep_limit(limit));
		while ((rc = step(st, sel)) == 1) {
			rc = reg_row(st, sel, &r);
			if (rc < 0) {
				(void)finish(st, sel);
				break;
			}
			fn(ctx, &r);
		}
	}
	if (rc >= 0) {
		bind_i64(st, del, 1, now);
		bind_i64(st, del, 2, sweep_limit(limit));
		rc = run(st, del);
	}
	if (rc >= 0)
		rc = sqlite3_changes(st->db);
	return op_end(st, sp, rc);
}

int64_t ctl_store_reg_count(struct ctl_store *st)
{
	int64_t n = 0;
	int rc = query_i64(st, st->stmt[S_REG_COUNT], &n);

	return rc < 0 ? rc : n;
}

/* --- groups ------------------------------------------------------------------------- */

static int group_check(struct ctl_store *st, const char *group)
{
	size_t n = strnlen(group, RV_GROUP_ID_MAX + 1);

	if (n == 0 || n > RV_GROUP_ID_MAX)
		return st_err(st, -EINVAL, "group name empty or too long");
	return (int)n;
}

int ctl_store_group_create(struct ctl_store *st, const char *group,
                           const uint8_t owner[RV_LOCATOR_LEN], uint32_t max_members,
                           uint64_t now_s)
{
	sqlite3_stmt *g = st->stmt[S_GRP_INSERT], *m = st->stmt[S_MEM_INSERT];
	int len = group_check(st, group), rc;
	bool sp;

	if (len < 0)
		return len;
	if (now_s > INT64_MAX)
		return st_err(st, -EINVAL, "time out of range");
	rc = op_begin(st, true, &sp);
	if (rc < 0)
		return rc;
	bind_text(st, g, 1, group, (size_t)len);
	bind_blob(st, g, 2, owner, RV_LOCATOR_LEN);
	bind_i64(st, g, 3, max_members);
	bind_i64(st, g, 4, (int64_t)now_s);
	rc = run(st, g);
	if (rc == -EEXIST)
		set_err(st->err, sizeof(st->err), "group exists");
	if (rc == 0) {
		bind_text(st, m, 1, group, (size_t)len);
		bind_blob(st, m, 2, owner, RV_LOCATOR_LEN);
		rc = run(st, m);
	}
	return op_end(st, sp, rc);
}

int ctl_store_group_join(struct ctl_store *st, const char *group,
                         const uint8_t locator[RV_LOCATOR_LEN])
{
	sqlite3_stmt *s;
	int len = group_check(st, group), rc;
	int64_t max = 0, member = 0, count = 0;
	bool sp;

	if (len < 0)
		return len;
	rc = op_begin(st, true, &sp);
	if (rc < 0)
		return rc;
	s = st->stmt[S_GRP_MAX];
	bind_text(st, s, 1, group, (size_t)len);
	rc = query_i64(st, s, &max);
	if (rc == -ENOENT)
		rc = st_err(st, -ENOENT, "no such group");
	if (rc == 0) {
		s = st->stmt[S_MEM_IS];
		bind_text(st, s, 1, group, (size_t)len);
		bind_blob(st, s, 2, locator, RV_LOCATOR_LEN);
		rc = query_i64(st, s, &member);
	}
	if (rc == 0 && !member && max > 0) {
		s = st->stmt[S_MEM_COUNT];
		bind_text(st, s, 1, group, (size_t)len);
		rc = query_i64(st, s, &count);
		if (rc == 0 && count >= max)
			rc = st_err(st, -ENOSPC, "group full");
	}
	if (rc == 0 && !member) {
		s = st->stmt[S_MEM_INSERT];
		bind_text(st, s, 1, group, (size_t)len);
		bind_blob(st, s, 2, locator, RV_LOCATOR_LEN);
		rc = run(st, s);
	}
	return op_end(st, sp, rc);
}

int ctl_store_group_leave(struct ctl_store *st, const char *group,
                          const uint8_t locator[RV_LOCATOR_LEN])
{
	sqlite3_stmt *del = st->stmt[S_MEM_DELETE], *empty = st->stmt[S_GRP_DELETE_EMPTY];
	int len = group_check(st, group), rc;
	bool sp;

	if (len < 0)
		return len;
	rc = op_begin(st, true, &sp);
	if (rc < 0)
		return rc;
	bind_text(st, del, 1, group, (size_t)len);
	bind_blob(st, del, 2, locator, RV_LOCATOR_LEN);
	rc = run(st, del);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = st_err(st, -ENOENT, "no such group or not a member");
	if (rc == 0) {
		bind_text(st, empty, 1, group, (size_t)len);
		rc = run(st, empty);
	}
	return op_end(st, sp, rc);
}

int ctl_store_group_is_member(struct ctl_store *st, const char *group,
                              const uint8_t locator[RV_LOCATOR_LEN])
{
	sqlite3_stmt *s = st->stmt[S_MEM_IS];
	int len = group_check(st, group), rc;
	int64_t member = 0;

	if (len < 0)
		return len;
	bind_text(st, s, 1, group, (size_t)len);
	bind_blob(st, s, 2, locator, RV_LOCATOR_LEN);
	rc = query_i64(st, s, &member);
	if (rc < 0)
		return rc == -ENOENT ? st_err(st, -ENOENT, "no such group") : rc;
	return member ? 1 : 0;
}

int ctl_store_group_members(struct ctl_store *st, const char *group, uint32_t offset,
                            uint8_t (*out)[RV_LOCATOR_LEN], size_t cap, uint32_t *total)
{
	sqlite3_stmt *s = st->stmt[S_GRP_TOTAL];
	int len = group_check(st, group), rc, n = 0;
	int64_t count = 0;
	bool sp;

	if (len < 0)
		return len;
	if (cap > INT_MAX)
		cap = INT_MAX;
	/* A read transaction: the total and the page from one snapshot. */
	rc = op_begin(st, false, &sp);
	if (rc < 0)
		return rc;
	bind_text(st, s, 1, group, (size_t)len);
	rc = query_i64(st, s, &count);
	if (rc == -ENOENT)
		rc = st_err(st, -ENOENT, "no such group");
	if (rc == 0 && total)
		*total = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
	if (rc == 0 && cap > 0) {
		s = st->stmt[S_MEM_PAGE];
		bind_text(st, s, 1, group, (size_t)len);
		bind_i64(st, s, 2, offset);
		bind_i64(st, s, 3, (int64_t)cap);
		while ((rc = step(st, s)) == 1) {
			const uint8_t *p = col_blob(s, 0, RV_LOCATOR_LEN, 0, NULL);

			if (!p) {
				(void)finish(st, s);
				rc = st_err(st, -EIO, "damaged group member row");
				break;
			}
			memcpy(out[n++], p, RV_LOCATOR_LEN);
		}
	}
	return op_end(st, sp, rc < 0 ? rc : n);
}

/* --- statistics --------------------------------------------------------------------- */

int ctl_store_stats_add(struct ctl_store *st, uint8_t caller_nat, uint8_t callee_nat,
                        uint8_t strategy, uint8_t result, uint32_t elapsed_ms, uint32_t packets)
{
	sqlite3_stmt *s = st->stmt[S_STATS_ADD];
	bool ok = result == RV_RES_OK, relayed = result == RV_RES_RELAYED;

	if (caller_nat >= RV_NAT_TYPE_COUNT || callee_nat >= RV_NAT_TYPE_COUNT ||
	    strategy >= RV_STRAT_COUNT || result >= RV_RES_COUNT)
		return st_err(st, -EINVAL, "NAT type, strategy or result out of range");
	bind_i64(st, s, 1, caller_nat);
	bind_i64(st, s, 2, callee_nat);
	bind_i64(st, s, 3, strategy);
	bind_i64(st, s, 4, ok);
	bind_i64(st, s, 5, relayed);
	bind_i64(st, s, 6, !ok && !relayed);
	bind_i64(st, s, 7, ok ? elapsed_ms : 0);
	bind_i64(st, s, 8, packets);
	return run(st, s);
}

int ctl_store_relay_add(struct ctl_store *st, uint8_t caller_nat, uint8_t callee_nat,
                        uint64_t bytes, uint64_t packets)
{
	sqlite3_stmt *s = st->stmt[S_RELAY_ADD];

	if (caller_nat >= RV_NAT_TYPE_COUNT || callee_nat >= RV_NAT_TYPE_COUNT ||
	    bytes > INT64_MAX || packets > INT64_MAX)
		return st_err(st, -EINVAL, "NAT type or count out of range");
	bind_i64(st, s, 1, caller_nat);
	bind_i64(st, s, 2, callee_nat);
	bind_i64(st, s, 3, RV_STRAT_RELAY);
	bind_i64(st, s, 4, (int64_t)bytes);
	bind_i64(st, s, 5, (int64_t)packets);
	return run(st, s);
}

int ctl_store_stats_each(struct ctl_store *st, int (*fn)(void *ctx, const struct ctl_pair_stat *s),
                         void *ctx)
{
	sqlite3_stmt *s = st->stmt[S_STATS_EACH];
	struct ctl_pair_stat p;
	int rc;

	if (sqlite3_stmt_busy(s))
		return st_err(st, -EBUSY, "stats_each re-entered from its callback");
	while ((rc = step(st, s)) == 1) {
		memset(&p, 0, sizeof(p));
		p.caller_nat = (uint8_t)sqlite3_column_int(s, 0);
		p.callee_nat = (uint8_t)sqlite3_column_int(s, 1);
		p.strategy = (uint8_t)sqlite3_column_int(s, 2);
		p.attempts = (uint64_t)sqlite3_column_int64(s, 3);
		p.direct_ok = (uint64_t)sqlite3_column_int64(s, 4);
		p.relayed = (uint64_t)sqlite3_column_int64(s, 5);
		p.failed = (uint64_t)sqlite3_column_int64(s, 6);
		p.total_ms = (uint64_t)sqlite3_column_int64(s, 7);
		p.packets = (uint64_t)sqlite3_column_int64(s, 8);
		p.relay_bytes = (uint64_t)sqlite3_column_int64(s, 9);
		p.relay_packets = (uint64_t)sqlite3_column_int64(s, 10);
		rc = fn(ctx, &p);
		if (rc != 0) {
			int f = finish(st, s);
			return f < 0 ? f : rc;
		}
	}
	return rc;
}
