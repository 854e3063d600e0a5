/* ctl_store.h — rvcontrol's durable state behind one interface.
 *
 * SQLite (only ctl_store.c includes sqlite3.h) in WAL mode with
 * synchronous=FULL: a write is on disk when its transaction commits, and
 * rvcontrol acknowledges a request only after that. One writer connection,
 * on the daemon's thread; admin commands may open read-only connections
 * alongside (WAL readers never block the writer). Automatic checkpoints are
 * off: the daemon calls ctl_store_checkpoint() when it is idle, so a
 * checkpoint never lands in the middle of a burst of registrations.
 *
 * Batching: the daemon wraps everything it handles in one event-loop turn in
 * ctl_store_begin()/ctl_store_commit() and sends the answers after the
 * commit — one fsync per turn, not per request, and nothing acknowledged is
 * lost. Outside a batch each call commits on its own.
 *
 * The interface is deliberately narrow so a shared server database can
 * back several edge nodes later without touching the callers.
 *
 * Errors: negative errno (-ENOENT absent, -EEXIST duplicate, -ENOSPC full,
 * -EIO database error with the reason in ctl_store_error()); also -EINVAL
 * for an argument out of bounds (lengths, counts, address families, times
 * above INT64_MAX, which SQLite cannot order), -EROFS for a write on a
 * read-only connection, -EBUSY for a nested begin or a callback re-entering
 * the iteration that called it. After a database error inside a batch that
 * SQLite had to abort as a whole, every call fails with -EIO until the
 * batch is committed (-EIO) or rolled back.
 *
 * Stored values come back exactly as given, except that the unused bytes
 * of an address (ip[4..15] of IPv4, all of ip for RV_AF_NONE) come back 0.
 *
 * Context: ctl loop (the thread that opened it), unless said otherwise.
 * Callbacks (reg_each, reg_sweep, stats_each) may read the store but must
 * not write to it or begin/commit: they run inside the iteration.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/dpctl.h"
#include "proto/msg.h"
#include "proto/rv_addr.h"

struct ctl_store;

/* A device from the manufacturer's registry. */
struct ctl_device {
	uint8_t id[RV_DEVICE_ID_MAX];
	uint8_t id_len;
	uint8_t pubkey[32]; /* Ed25519 */
	bool revoked;
	uint64_t added_s;
};

/* A registration: what the locator service knows of one online terminal. */
struct ctl_reg {
	uint8_t locator[RV_LOCATOR_LEN];
	uint64_t session;
	uint8_t probe_key[16];
	uint8_t msg_key[32];
	struct rv_addr addr;     /* the public address rvdp / the socket observed */
	struct rv_addr local;    /* our public address it reached (answers leave from it) */
	struct rv_dpc_path path; /* rvdp's way back to it (zero when standalone) */
	bool via_dataplane;
	uint8_t n_host_addrs;
	struct rv_addr host_addrs[RV_HOST_ADDRS];
	struct rv_nat_info nat;
	char app_id[RV_APP_ID_MAX + 1];
	struct rv_community community;
	char nickname[RV_NICK_MAX + 1];
	uint64_t registered_ms;
	uint64_t refreshed_ms;
	uint64_t expires_ms;
	uint64_t client_time_ms; /* newest client clock seen: replays must be newer */
	uint32_t ticket_expires_s;
};

/* One row of per-NAT-pair outcome statistics. */
struct ctl_pair_stat {
	uint8_t caller_nat, callee_nat; /* enum rv_nat_type */
	uint8_t strategy;               /* enum rv_strategy */
	uint64_t attempts;
	uint64_t direct_ok;
	uint64_t relayed;
	uint64_t failed;
	uint64_t total_ms;                   /* sum of time to connect over direct successes */
	uint64_t packets;                    /* sum of packets sprayed */
	uint64_t relay_bytes, relay_packets; /* carried by relays (strategy RELAY) */
};

/* Open (creating the schema when new) or fail with err filled. read_only
 * opens for admin commands without creating anything. NULL + errno on
 * failure: ENOENT (read-only and no such database), ENOTSUP (not an
 * rvcontrol database, or a schema version newer than this build), EIO
 * (unreadable, corrupt), ENOMEM. */
struct ctl_store *ctl_store_open(const char *path, bool read_only, char *err, size_t errlen);
/* Close; a batch still open is rolled back (never acknowledged). NULL is
 * fine. */
void ctl_store_close(struct ctl_store *st);

/* Text of the last database error.  Context: any. */
const char *ctl_store_error(const struct ctl_store *st);

/* Batch the following calls into one transaction; commit makes them
 * durable (fsync) or, on failure, rolls all of them back and returns -EIO.
 * Nesting is not allowed (-EBUSY); commit or rollback without a batch is
 * -EINVAL. */
int ctl_store_begin(struct ctl_store *st);
int ctl_store_commit(struct ctl_store *st);
int ctl_store_rollback(struct ctl_store *st);

/* Move the WAL into the database (PASSIVE: never waits on readers).
 * Returns 0, -EBUSY inside a batch, or -EIO. */
int ctl_store_checkpoint(struct ctl_store *st);

/* PRAGMA integrity_check and foreign_key_check: 0 when both are clean,
 * -EIO otherwise (err filled with the first problems). */
int ctl_store_integrity(struct ctl_store *st, char *err, size_t errlen);

/* --- devices (auth role) ------------------------------------------------- */

/* Import devices all-or-nothing (one transaction). A device already known
 * with the same key is left as is; with another key it is -EEXIST (and
 * nothing is imported): the maker's registry does not change keys.
 * Returns 0. Inside a batch it is a savepoint of it: still
 * all-or-nothing. The error text names the index of a conflicting device. */
int ctl_store_device_import(struct ctl_store *st, const struct ctl_device *devs, size_t n);
int ctl_store_device_get(struct ctl_store *st, const uint8_t *id, size_t id_len,
                         struct ctl_device *out);
int ctl_store_device_revoke(struct ctl_store *st, const uint8_t *id, size_t id_len);
/* Number of devices (revoked included). */
int64_t ctl_store_device_count(struct ctl_store *st);

/* --- single-use nonces (auth role) ---------------------------------------- */

/* Record a nonce as used until expires_s: 0 the first time, -EEXIST on
 * any later use (a replay). */
int ctl_store_nonce_use(struct ctl_store *st, const uint8_t nonce[RV_NONCE_LEN],
                        uint64_t expires_s);
/* Forget nonces that expired before now_s (expires_s < now_s), at most
 * limit of them (0: all). Returns how many. */
int64_t ctl_store_nonce_sweep(struct ctl_store *st, uint64_t now_s, size_t limit);

/* --- revoked locators (read by the locator role) --------------------------- */

int ctl_store_locator_revoke(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN],
                             uint64_t now_s);
/* 1 revoked, 0 not, negative on error. */
int ctl_store_locator_revoked(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN]);

/* --- registrations (locator role) ----------------------------------------- */

/* Insert or replace the registration of r->locator (a new session for the
 * same locator replaces the old one). Session IDs are unique: -EEXIST if
 * another locator holds r->session. */
int ctl_store_reg_put(struct ctl_store *st, const struct ctl_reg *r);
int ctl_store_reg_get(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN],
                      struct ctl_reg *out);
int ctl_store_reg_by_session(struct ctl_store *st, uint64_t session, struct ctl_reg *out);
int ctl_store_reg_del(struct ctl_store *st, const uint8_t locator[RV_LOCATOR_LEN]);
/* Call fn for every registration (stops early when fn returns non-zero;
 * that value is returned). Order unspecified. */
int ctl_store_reg_each(struct ctl_store *st, int (*fn)(void *ctx, const struct ctl_reg *r),
                       void *ctx);
/* One page of every registration in locator order: at most limit of those
 * after *cursor (first: from the start), fn called for each (a non-zero
 * return stops it: -ECANCELED); *cursor is left at the last one visited.
 * Returns how many were visited: fewer than limit means the end. Pages
 * see rows added or removed between calls as a live walk would (each row
 * present throughout is visited exactly once). */
int ctl_store_reg_page(struct ctl_store *st, uint8_t cursor[RV_LOCATOR_LEN], bool first,
                       size_t limit, int (*fn)(void *ctx, const struct ctl_reg *r), void *ctx);
/* Registrations with this app ID whose community flags include `flags`
 * (0: any), at most cap, unexpired at now_ms (expires_ms > now_ms),
 * excluding `self` (may be NULL), latest expiry (freshest) first. Returns
 * how many were written. */
int ctl_store_reg_find_app(struct ctl_store *st, const char *app_id, uint8_t flags,
                           const uint8_t self[RV_LOCATOR_LEN], uint64_t now_ms, struct ctl_reg *out,
                           size_t cap);
/* Delete the registrations with expires_ms <= now_ms, the oldest first
 * and at most limit of them (0: all), calling fn (may be NULL) for each
 * first, all in one transaction (a savepoint of the batch when inside one).
 * Returns how many. The daemon sweeps a bounded number per tick: after an
 * outage every row may have expired, and deleting a million in one batch
 * held the first answers for 20 s (every read already treats an expired
 * row as offline, so deleting it later changes nothing anyone sees). */
int64_t ctl_store_reg_sweep(struct ctl_store *st, uint64_t now_ms, size_t limit,
                            void (*fn)(void *ctx, const struct ctl_reg *r), void *ctx);
int64_t ctl_store_reg_count(struct ctl_store *st);

/* --- groups (second embodiment) -------------------------------------------- */

/* -EEXIST when the group exists. max_members 0 = unlimited. The owner
 * joins it. */
int ctl_store_group_create(struct ctl_store *st, const char *group,
                           const uint8_t owner[RV_LOCATOR_LEN], uint32_t max_members,
                           uint64_t now_s);
/* Joining twice is fine (0, the join order is kept). -ENOENT no such
 * group, -ENOSPC full. */
int ctl_store_group_join(struct ctl_store *st, const char *group,
                         const uint8_t locator[RV_LOCATOR_LEN]);
/* -ENOENT no such group or not a member. A group left empty is deleted
 * (whoever its owner was). */
int ctl_store_group_leave(struct ctl_store *st, const char *group,
                          const uint8_t locator[RV_LOCATOR_LEN]);
/* 1 member, 0 not, -ENOENT no such group. */
int ctl_store_group_is_member(struct ctl_store *st, const char *group,
                              const uint8_t locator[RV_LOCATOR_LEN]);
/* Members in join order from `offset`, at most cap, into out; *total (may
 * be NULL) gets the group's size. Returns how many were written or
 * -ENOENT. */
int ctl_store_group_members(struct ctl_store *st, const char *group, uint32_t offset,
                            uint8_t (*out)[RV_LOCATOR_LEN], size_t cap, uint32_t *total);

/* --- per-NAT-pair outcome statistics ---------------------------------------- */

/* Add one finished attempt. result: enum rv_result_code; RV_RES_OK counts
 * as direct_ok (and adds elapsed_ms to total_ms), RV_RES_RELAYED as
 * relayed, anything else as failed. -EINVAL for a NAT type, strategy or
 * result out of its enum. */
int ctl_store_stats_add(struct ctl_store *st, uint8_t caller_nat, uint8_t callee_nat,
                        uint8_t strategy, uint8_t result, uint32_t elapsed_ms, uint32_t packets);
/* Add what a relay carried between this NAT pair (row strategy RELAY).
 * -EINVAL for a NAT type out of its enum or a count beyond INT64_MAX. */
int ctl_store_relay_add(struct ctl_store *st, uint8_t caller_nat, uint8_t callee_nat,
                        uint64_t bytes, uint64_t packets);
/* Every row, ordered by (caller_nat, callee_nat, strategy); stops early
 * like reg_each. */
int ctl_store_stats_each(struct ctl_store *st, int (*fn)(void *ctx, const struct ctl_pair_stat *s),
                         void *ctx);
