/* peer_int.h — libpeer's internals, shared by its files (not installed).
 *
 *   rvp.c           the object, the loop, transactions with the server
 *   rvp_ops.c       auth, register, refresh, lookup, presence, group, match
 *   rvp_conn.c      attempts (driving peer_punch) and established paths
 *   peer_classify.c NAT classification
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "peer/peer_punch.h"
#include "peer/rvp.h"
#include "proto/msg.h"
#include "proto/pdg.h"

#define PEER_TXNS     8
#define PEER_ATTEMPTS 4
#define PEER_CONNS    8
#define PEER_RXQ      64 /* datagrams queued per connection */
#define PEER_RTO_MS   300
#define PEER_RTX      5 /* 300, 600, 1200, 2400, 4800 ms */

/* epoll tags: kind in the top byte, then slot and socket index. */
enum { TAG_REG = 1, TAG_ATTEMPT, TAG_CONN, TAG_CLASSIFY };
#define TAG(kind, slot, idx) ((uint64_t)(kind) << 56 | (uint64_t)(slot) << 32 | (uint32_t)(idx))

struct peer_txn {
	bool used, done;
	uint8_t txid[RV_STUN_TXID_LEN];
	uint16_t method;
	uint64_t attempt; /* a REPORT's: a 472 answer means the server lost it */
	int fd;
	struct rv_addr to;
	uint16_t len;
	uint8_t wire[1500];
	const uint8_t *key; /* the answer's MESSAGE-INTEGRITY-SHA256 key, or NULL */
	size_t keylen;
	uint8_t tries;
	uint64_t next_ms;
	int rc; /* 0, or the error the answer carried */
	struct rv_msg ans;
};

struct peer_attempt {
	bool used;
	bool caller;
	bool reported_result;
	uint64_t id;
	uint8_t key[16];
	uint8_t partner[RV_LOCATOR_LEN];
	uint64_t started_ms;
	uint32_t hard_socks; /* BIRTHDAY: the mappings the hard side opens */
	uint32_t assigns_logged;
	struct peer_punch punch;
	uint16_t n_fds;
	int fds[PEER_SOCKS];   /* fds[0] is the registration socket: not ours */
	uint8_t relay_key[16]; /* RELAY: rv_relay_key(key, grant's relay) */
	/* The probe in flight. */
	uint8_t probe_txid[RV_STUN_TXID_LEN];
	uint16_t probe_sock;
	uint8_t probe_kind;
	uint16_t probe_seq;
};

#define PEER_EARLY           8
#define PEER_RELAY_GRACE_MS  3000 /* a relay INSTRUCT may follow a failed try */
#define PEER_RELAY_LINGER_MS 2000 /* an upgraded path keeps the relay this long */
#define PEER_EARLY_MS        2000

struct rvp_conn {
	struct rvp *p;
	bool used, closed, dead; /* dead: went silent (closed too) */
	bool ended;              /* the server ended its relay (closed too) */
	bool handed;             /* given to the application by connect or accept */
	uint64_t attempt;
	uint8_t key[16];
	int fd; /* an attempt socket handed over, or the registration one */
	bool own_fd;
	struct rv_addr to;
	struct rvp_info info;
	uint32_t tx_seq;
	uint64_t last_rx_ms, last_tx_ms;
	/* Relayed: datagrams go to the relay in ChannelData, and the binding
	 * is renewed with each keepalive (the NAT may move the mapping). */
	bool relayed;
	struct rv_relay_grant relay;
	uint8_t relay_key[16];
	uint16_t bind_seq;
	/* Upgrade: the next direct try, its interval; once moved to a direct
	 * path the relay's socket lingers (in-flight datagrams still arrive
	 * through it) and the relay is released after PEER_RELAY_LINGER_MS. */
	uint64_t upgrade_next_ms;
	uint32_t upgrade_wait_ms;
	int relay_fd; /* -1: none */
	uint64_t relay_release_ms;
	unsigned rx_head, rx_n;
	uint16_t rx_len[PEER_RXQ];
	uint8_t rx[PEER_RXQ][RV_PDG_MAX_PAYLOAD];
};

struct rvp {
	struct rvp_conf conf;
	int ep;     /* epoll: the pollable handle */
	int reg_fd; /* the registration socket */
	struct rv_addr reg_local;
	uint64_t t0; /* for the timeline */

	/* Identity and registration. */
	bool authed, registered;
	uint8_t locator[RV_LOCATOR_LEN];
	uint8_t ticket[RV_TICKET_MAX];
	uint16_t ticket_len;
	uint8_t hpk[32], hsk[32]; /* the ticket's holder key */
	uint8_t kx_pk[32];        /* the locator service's */
	bool have_kx;
	uint8_t reg_key[32];
	uint64_t session;
	uint8_t probe_key[16];
	uint8_t msg_key[32];
	struct rv_addr mapped;
	uint32_t refresh_s;
	uint64_t next_refresh_ms;
	uint64_t client_time_ms; /* monotonic stamps for register/refresh */
	struct rv_nat_info nat;
	bool classified;

	struct peer_txn txns[PEER_TXNS];
	struct peer_attempt attempts[PEER_ATTEMPTS];
	struct rvp_conn conns[PEER_CONNS];
	uint64_t connect_attempt; /* the attempt rvp_connect waits for */
	bool connect_final;       /* the server said how it ended (no relay follows) */
	uint8_t connect_result;   /* how it ended without a path (rv_result_code) */
	bool connect_lost;        /* the server lost it (restarted): RVP_E_LOST */
	/* Peer datagrams that came before their attempt's first INSTRUCT (the
	 * partner was quicker than the server's message to us): replayed
	 * when it arrives, forgotten after PEER_EARLY_MS. */
	struct {
		uint64_t attempt, at_ms;
		struct rv_addr from;
		uint16_t len;
		uint8_t buf[RV_PDG_MIN + 8];
	} early[PEER_EARLY];
	unsigned early_next;
};

/* Timeline line, "+123 ms <text>" (no-op without a timeline callback). */
void peer_log(struct rvp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Send a request to the server and run the loop until its answer (or the
 * timeout): 0 with *ans filled, RVP_E_SERVER - code for an error answer,
 * RVP_E_TIMEOUT, or a negative errno. key verifies the answer's integrity
 * and signs the request (NULL: neither). */
int peer_call(struct rvp *p, struct rv_msg *req, const uint8_t *key, size_t keylen,
              struct rv_msg *ans);
/* The same without waiting (reports, answers to INSTRUCTs). */
int peer_post(struct rvp *p, struct rv_msg *req, const uint8_t *key, size_t keylen);

/* Fill a fresh request of method with a random transaction ID (and the
 * session, when registered). */
void peer_req(struct rvp *p, struct rv_msg *m, enum rv_method method);

/* Register an fd with the loop under tag / remove it. */
int peer_watch(struct rvp *p, int fd, uint64_t tag);
void peer_unwatch(struct rvp *p, int fd);

/* rvp_conn.c: an INSTRUCT from the server; a datagram on an attempt or
 * connection socket; the attempt/connection timers. */
void peer_on_instruct(struct rvp *p, const struct rv_msg *m);
/* The server answered a REPORT of attempt with 472: it does not know the
 * attempt (it restarted and lost it): end it now, not at its deadline. */
void peer_on_attempt_unknown(struct rvp *p, uint64_t attempt);
void peer_on_attempt_packet(struct rvp *p, unsigned slot, uint16_t sock, const uint8_t *buf,
                            size_t len, const struct rv_addr *from);
void peer_on_conn_packet(struct rvp *p, struct rvp_conn *c, const uint8_t *buf, size_t len,
                         const struct rv_addr *from);
void peer_on_reg_datagram(struct rvp *p, const uint8_t *buf, size_t len,
                          const struct rv_addr *from);
void peer_timers(struct rvp *p, uint64_t now_ms);
uint64_t peer_conn_next(const struct rvp *p);

/* rvp_ops.c: refresh when due. */
void peer_refresh_tick(struct rvp *p, uint64_t now_ms);
