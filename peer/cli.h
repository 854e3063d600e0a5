/* cli.h — the rvpeer command line's shared parts (not libpeer: the CLI
 * uses only rvp.h's API).
 *
 *   main.c      options, the session (classify/auth/register), commands
 *   cli_out.c   output: one JSON object per result, or aligned human lines
 *   cli_data.c  what flows on an established path: echo, chat, serving,
 *               the file transfer protocol (described there)
 *
 * Context of everything here: the CLI's one thread.
 */
#pragma once

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "peer/rvp.h"
#include "proto/msg.h"
#include "proto/pdg.h"

#define CLI_DGRAM_MAX RV_PDG_MAX_PAYLOAD /* what rvp_send carries */

/* --- output (cli_out.c) ---------------------------------------------------- */

struct cli_out {
	bool json;
	int depth;    /* open objects/arrays; 0: between results */
	bool more[8]; /* a value was written at this depth: the next needs a comma */
};

/* Kinds of cli_kv() values. */
enum { CLI_STR = 0, CLI_RAW = 1 /* number, bool, null */, CLI_JSON = 2 /* JSON only */ };

/* Every setting: the option table in main.c points into it. */
struct cli {
	struct rv_addr server, server_alt, bind;
	char device_key[512];
	char nat[24], alloc[16];
	int16_t delta;
	uint8_t hops;
	char app_id[RV_APP_ID_MAX + 1];
	char nickname[RV_NICK_MAX + 1];
	char group[RV_GROUP_ID_MAX + 1];
	char attr[400];
	bool seeking, json, timeline, verbose;
	uint32_t timeout_ms;
	bool relay_first;
	uint32_t upgrade_s;
	/* Options of one command (listed by the command table). */
	uint32_t stay_s, count;
	bool echo, chat;
	char save[512], send[512], message[CLI_DGRAM_MAX + 1], require[400];
	char device_id[RV_DEVICE_ID_MAX + 1], out_path[512];
	/* Not options. */
	const char *cmd; /* for messages: "rvpeer <cmd>: ..." */
	struct cli_out o;
};

/* The one JSON escaper: s[0..n) as a JSON string on stdout (bytes that are
 * not UTF-8 become U+FFFD). */
void cli_json_string(const char *s, size_t n);
/* s[0..n) for a terminal, control characters shown as '?'; returns buf. */
const char *cli_tty_safe(const char *s, size_t n, char *buf, size_t cap);

/* JSON structure (no-ops for humans, but depth is kept): a key (NULL in
 * arrays), an object '{' or array '[' under a key, its end. Ending a
 * top-level value ends the line and flushes stdout. */
void cli_key(struct cli_out *o, const char *key);
void cli_open(struct cli_out *o, const char *key, char bracket);
void cli_close(struct cli_out *o, char bracket);
/* A field: "key": value in JSON; a "key   value" line for humans (unless
 * CLI_JSON), underscores in the key shown as spaces. */
void cli_kv(struct cli_out *o, const char *key, int kind, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Messages on stderr: progress (--verbose only); bad usage (returns 2);
 * the operation failed with the library's reason (returns 1; also an
 * "error" field of the open JSON object). */
void cli_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_error(const struct cli *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int cli_failed(struct cli *c, const char *what, int err);
/* cli_failed for an error of an established path: -ECONNABORTED says why
 * the server ended the relay ("the server ended the relay: relay-time"). */
int cli_conn_failed(struct cli *c, const struct rvp_conn *k, const char *what, int err);
/* Why a connection ended, from cli_serve's result (0: we stopped it):
 * partner-closed, partner-silent, stopped, or the server's reason. */
const char *cli_end_reason(const struct rvp_conn *k, int err);

uint64_t cli_now_ms(void); /* CLOCK_MONOTONIC, rvp_next_ms()'s clock */
void cli_hex_locator(const uint8_t *l, char out[2 * RV_LOCATOR_LEN + 1]);

/* Peer records: the human table's header, one record (an object in JSON),
 * a list of them (header + rows, or a "peers" array). */
void cli_peer_header(const struct cli_out *o);
void cli_print_peer(struct cli_out *o, const struct rv_peer *r);
void cli_print_peers(struct cli_out *o, const struct rv_peer *r, size_t n);
/* "connected to L at A via S in N ms (P packets)", or its fields in the
 * open JSON object. */
void cli_print_connected(struct cli *c, const struct rvp_info *i);
/* Open an event object of listen / chat: {"event": E, "partner": L, ... */
void cli_event_open(struct cli *c, const char *event, const struct rvp_info *i);
/* A datagram from the partner: text, or its size when not text. */
void cli_print_message(struct cli *c, const struct rvp_info *i, const char *buf, size_t n);

/* --- on an established path (cli_data.c) ------------------------------------ */

/* A file being received. */
struct cli_rx {
	bool active, bad;
	int fd;
	char name[NAME_MAX + 1], tmp[PATH_MAX], path[PATH_MAX];
	uint64_t size, got, t0;
	uint32_t seq;
	uint8_t want[32];
	crypto_hash_sha256_state h;
	char verdict[80]; /* the DONE sent, repeated for a repeated END */
};

/* One connection served by listen (or chat). */
struct cli_slot {
	struct rvp_conn *k;
	struct rvp_info info;
	struct cli_rx f;
};

/* A file to send, opened and hashed before anything goes on the network. */
struct cli_tx {
	int fd;
	char name[512], sha[65];
	uint64_t size;
};

/* Set by SIGINT/SIGTERM once cli_catch_signals() ran (serving loops only:
 * elsewhere the default action ends a blocking call at once). */
extern volatile sig_atomic_t cli_quit;
void cli_catch_signals(void);

/* Everything queued on a connection: protocol messages handled (server:
 * files received and --echo), the rest printed. Returns -EPIPE once the
 * partner closed, else 0. */
int cli_serve(struct cli *c, struct cli_slot *sl, bool server);
/* Drop a half-received file. */
void cli_rx_abort(struct cli_rx *f);

/* --send FILE: open and hash it (returns 0, or 2 with the reason said);
 * then send it (returns the exit code; fields in the open JSON object). */
int cli_tx_prepare(const struct cli *c, struct cli_tx *t);
int cli_tx_send(struct cli *c, struct rvp_conn *k, struct cli_tx *t);

/* Send text (again each second) until it comes back, up to --timeout.
 * Returns the exit code. */
int cli_echo_check(struct cli *c, struct rvp_conn *k, const char *text);
/* stdin lines out, datagrams in, until EOF (plus a second) or a signal. */
int cli_chat(struct cli *c, struct rvp *p, struct cli_slot *sl);
