/* ctl_core.h — rvcontrol's request handling, independent of transport.
 *
 * A datagram comes in with where it came from (struct ctl_from: observed
 * source, the public address it reached, and rvdp's path back when it was
 * punted); answers and side effects go out through a struct ctl_sink. The
 * same code serves rvdp's punts and the standalone UDP socket, and the unit
 * tests drive it directly with an injected clock and a real store.
 *
 * The caller brackets a batch of ctl_handle() calls with the store's
 * begin/commit and must deliver what the sink collected only after the
 * commit succeeded: nothing is acknowledged before it is durable.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/ctl_broker.h"
#include "control/ctl_conf.h"
#include "control/ctl_keys.h"
#include "control/ctl_relay.h"
#include "control/ctl_store.h"
#include "proto/dpctl.h"
#include "proto/msg.h"

struct ctl_from {
	struct rv_addr src;      /* the peer as observed (its NAT's public side) */
	struct rv_addr local;    /* our public address it reached */
	struct rv_dpc_path path; /* rvdp's way back (via_dp) */
	bool via_dp;
};

struct ctl_sink {
	/* A datagram for `to.src`, leaving from `to.local`. */
	void (*send)(void *ctx, const struct ctl_from *to, const uint8_t *buf, size_t len);
	/* A message for rvdp (SESSION_SET / SESSION_DEL / OBS_QUERY). */
	void (*dataplane)(void *ctx, const struct rv_dpc *m);
	void *ctx;
};

/* What rvcontrol counts, for `rvcontrol stats` and logs. */
struct ctl_counters {
	uint64_t rx, rx_bad, rx_not_request;
	uint64_t ok[RV_M_LAST - RV_M_FIRST + 1];
	uint64_t err[RV_M_LAST - RV_M_FIRST + 1];
	uint64_t registrations_expired;
};

#define CTL_RATE_SLOTS 4096

struct ctl {
	struct ctl_conf conf;
	struct ctl_keys keys;
	struct ctl_store *st;
	uint8_t nonce_secret[32]; /* new at every start: old nonces become stale */
	struct ctl_counters ctr;
	/* connect requests per locator: a fixed table, flat under floods */
	struct {
		uint64_t key;
		uint64_t window_start_ms;
		uint32_t count;
	} rate[CTL_RATE_SLOTS];
	uint64_t rate_seed;
	bool dp_connected;         /* rvdp is there to ask for observations */
	struct rv_addr dp_primary; /* rvdp's primary public address (its HELLO) */
	uint32_t obs_seq;
	struct ctl_attempt attempts[CTL_ATTEMPTS];
	struct ctl_relay relays[CTL_RELAYS];
	/* Channel -> its relay's slot + 1 (0: none): every live relay has its
	 * own channel, so a relayed datagram finds its relay in one step. */
	uint16_t relay_by_ch[RV_RELAY_CH_MAX - RV_RELAY_CH_MIN + 1];
};

/* Set up with loaded keys and an open store (both owned by the caller).
 * Checks that the keys the roles need are there: err says which file is
 * missing. Returns 0 or -EINVAL.  Context: main. */
int ctl_init(struct ctl *c, const struct ctl_conf *conf, const struct ctl_keys *keys,
             struct ctl_store *st, char *err, size_t errlen);

/* Handle one datagram. Context: ctl loop, inside a store batch. */
void ctl_handle(struct ctl *c, const uint8_t *buf, size_t len, const struct ctl_from *from,
                uint64_t now_ms, const struct ctl_sink *sink);

/* Standalone (not via rvdp): answer a STUN Binding request or an
 * authenticated probe. Returns false when buf is neither (then it is a
 * control message for ctl_handle).  Context: ctl loop. */
bool ctl_stun_answer(struct ctl *c, const uint8_t *buf, size_t len, const struct ctl_from *from,
                     uint64_t now_ms, const struct ctl_sink *sink);

/* Periodic work: expire registrations (telling rvdp), forget old nonces,
 * at most CTL_SWEEP_MAX rows of each per call, so a tick costs tens of
 * milliseconds even when an outage left every row expired (a million rows
 * then take some minutes to go; nothing reads an expired row meanwhile).
 * Context: ctl loop, inside a store batch. */
#define CTL_SWEEP_MAX 2000
void ctl_tick(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink);

/* rvdp (re)connected: FLUSH and the relays at once (ctl_resync_begin),
 * then SESSION_SET for every live registration, CTL_RESYNC_PAGE per
 * ctl_resync_step, so the loop goes on answering between pages: a million
 * sessions took seconds to replay in one go, and rvdp takes them no
 * faster than it can insert them (the socket blocks). Registrations made,
 * refreshed or expired meanwhile reach rvdp on their own path; a page that
 * reads them again only repeats what rvdp has. A step returns 1 while
 * pages remain, 0 when done (also for a resync not active), or a negative
 * error (the resync stops). Context: ctl loop, outside a store batch. */
#define CTL_RESYNC_PAGE 2000
struct ctl_resync {
	uint8_t cursor[RV_LOCATOR_LEN];
	uint64_t pages, pushed;
	bool active;
};
void ctl_resync_begin(struct ctl *c, struct ctl_resync *r, const struct ctl_sink *sink);
int ctl_resync_step(struct ctl *c, struct ctl_resync *r, uint64_t now_ms,
                    const struct ctl_sink *sink);
/* All pages at once (tests, tools): how many sessions were pushed, or a
 * negative error. */
int ctl_resync(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink);

/* The locator ID text form (32 hex digits) and back.  Context: pure. */
void ctl_locator_fmt(const uint8_t locator[RV_LOCATOR_LEN], char out[33]);
int ctl_locator_parse(const char *s, uint8_t locator[RV_LOCATOR_LEN]);

/* --- handlers, one file each (ctl_auth.c, ctl_locator.c, ctl_group.c) ---------
 * Each answers req (already decoded, its STUN view in s) and returns the
 * STUN error code it answered with, or 0 on success.  Context: ctl loop. */
struct ctl_req {
	struct ctl *c;
	const struct rv_msg *msg;
	const struct rv_stun_msg *stun;
	const struct ctl_from *from;
	uint64_t now_ms;
	const struct ctl_sink *sink;
};

int ctl_auth_hello(const struct ctl_req *r);
int ctl_auth_auth(const struct ctl_req *r);
int ctl_loc_register(const struct ctl_req *r);
int ctl_loc_refresh(const struct ctl_req *r);
int ctl_loc_bye(const struct ctl_req *r);
int ctl_loc_lookup(const struct ctl_req *r);
int ctl_loc_presence(const struct ctl_req *r);
int ctl_loc_match(const struct ctl_req *r);
int ctl_group_op(const struct ctl_req *r);
int ctl_loc_connect(const struct ctl_req *r);
int ctl_loc_report(const struct ctl_req *r);

/* The broker's other inputs (ctl_broker.c): a peer's answer to an
 * INSTRUCT, rvdp's observations, and time (retransmissions, deadlines).
 * Context: ctl loop. */
void ctl_broker_answer(struct ctl *c, const struct rv_msg *m);
void ctl_broker_obs(struct ctl *c, const struct rv_dpc *r, uint64_t now_ms,
                    const struct ctl_sink *sink);
void ctl_broker_tick(struct ctl *c, uint64_t now_ms, const struct ctl_sink *sink);

/* --- helpers the handlers share (ctl_core.c) -------------------------------- */

/* Encode and send an answer to r's sender; key (may be NULL) adds
 * MESSAGE-INTEGRITY-SHA256. Returns 0 (the code for success). */
int ctl_reply(const struct ctl_req *r, const struct rv_msg *m, const uint8_t *key, size_t keylen);

/* Answer r with an error: returns code. */
int ctl_reply_error(const struct ctl_req *r, enum rv_code code, const char *reason);

/* Authenticate a request that names a session: the registration exists,
 * is live, and MESSAGE-INTEGRITY-SHA256 verifies with its message key.
 * 0 with *reg filled, or the error code to answer (466, 401). */
int ctl_session_auth(const struct ctl_req *r, struct ctl_reg *reg);

/* Emit SESSION_SET for a registration to rvdp. */
void ctl_push_session(const struct ctl *c, const struct ctl_sink *sink, const struct ctl_reg *g);

/* A peer record (proto/msg.h) for a registration, as seen by `viewer`
 * (NULL: no direct-path flag). */
void ctl_peer_of(const struct ctl_reg *g, const struct ctl_reg *viewer, uint64_t now_ms,
                 struct rv_peer *p);
