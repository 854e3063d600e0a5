/* peer_punch.h — the peer's side of one brokered attempt, as a pure state
 * machine: INSTRUCTs, probe answers, datagrams and time go in; actions
 * (probe, send, report, done) come out. The socket code carries the
 * actions out and feeds back what happened, so every strategy of
 * proto/WIRE.md "Connecting" is unit-tested without a socket.
 *
 * Sockets are named by index into the attempt's table:
 *   0  the registration socket (its NAT mapping is the one the server knows)
 *   1  L, the punching socket (bubbles, or the port-assigning packet)
 *   2+ fresh sockets for Δ probes, range probes, and the birthday sockets
 * An OPEN action asks the caller to create sockets up to an index.
 *
 * RELAY (planned, or an INSTRUCT that moves a failing attempt over): L
 * binds to the relay with a RELAY probe (to the relay's address, signed
 * with the relay key), then both sides send REPLYs through the relay until
 * one comes back — so neither application datagram leaves before both
 * sides are bound. Every SEND of a RELAY attempt goes through the relay
 * (the caller wraps it in ChannelData); its DONE names L and the relay.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

#define PEER_SOCKS     (2 + 8 + 256) /* registration, L, probes, birthday */
#define PEER_DELTA_N   4             /* Δ probes per measurement */
#define PEER_PROBE_MS  300           /* a probe's answer is awaited this long */
#define PEER_PROBE_TRY 4
#define PEER_SWEEP_MS  300 /* pause between sweeps of a spray */
#define PEER_BATCH     32  /* datagrams per tick while spraying */
#define PEER_TICK_MS   5
#define PEER_ACTS      640 /* actions queued at most (a birthday burst) */
#define PEER_RELAY_TRY 40  /* REPLYs through the relay, PEER_SWEEP_MS apart */

enum peer_act_kind {
	PEER_ACT_OPEN = 1, /* create sockets so that index `sock` exists */
	PEER_ACT_PROBE,    /* authenticated probe (probe_kind, seq) from sock to server[srv];
	                    * RV_PROBE_RELAY: the relay binding, to the relay */
	PEER_ACT_SEND,     /* peer datagram (pdg_type, pdg_seq) from sock to `to`, IP TTL ttl */
	PEER_ACT_REPORT,   /* report ports[0..n_ports) to the server (no RESULT) */
	PEER_ACT_DONE,     /* established: sock <-> to; report RESULT ok */
	PEER_ACT_FAIL,     /* gave up: report RESULT result */
};

struct peer_act {
	uint8_t kind;
	uint16_t sock;
	uint8_t srv;        /* PROBE: 0 primary, 1 alternate server address */
	uint8_t probe_kind; /* enum rv_probe_kind */
	uint16_t seq;
	uint8_t pdg_type; /* enum rv_pdg_type */
	uint32_t pdg_seq;
	uint8_t ttl; /* 0: the socket's default */
	struct rv_addr to;
	uint8_t result; /* FAIL: enum rv_result_code */
};

/* What an INSTRUCT told us (the common fields plus the step's). */
struct peer_instruct {
	uint8_t role;     /* enum rv_role_kind */
	uint8_t strategy; /* enum rv_strategy */
	uint8_t step;
	struct rv_addr peer_addr;
	struct rv_nat_info peer_nat;
	bool has_target, has_range;
	struct rv_port_range target, range;
	int16_t delta;
	uint8_t ttl;
	uint32_t count;
	uint32_t deadline_ms;
	/* RELAY: the grant; peer_addr is then the relay's address. */
	bool has_relay;
	struct rv_relay_grant relay;
};

/* The INSTRUCT fields of a decoded message.  Context: pure. */
struct peer_instruct peer_instruct_of(const struct rv_msg *m);

enum peer_phase {
	PEER_PH_IDLE = 0,
	PEER_PH_WAIT,   /* for the next INSTRUCT */
	PEER_PH_PROBE,  /* Δ and range probes, bubbles */
	PEER_PH_SPRAY,  /* sending replies / predicted packets / birthday probes */
	PEER_PH_LISTEN, /* waiting for a reply or an ack */
	PEER_PH_DONE,
	PEER_PH_FAILED,
};

struct peer_punch {
	uint8_t phase;
	struct peer_instruct ins;
	struct rv_nat_info own;
	uint64_t start_ms, deadline_ms, next_ms;
	uint64_t rng; /* xorshift state for birthday ports (seeded by the caller) */

	/* The probe sequence being run: what to send, what came back. */
	uint8_t n_plan, plan_at;
	struct {
		uint8_t kind; /* probe kind, or 0 for "send the bubbles/assign here" */
		uint16_t sock;
		uint8_t srv;
	} plan[12];
	uint8_t tries;
	uint16_t seq;
	uint8_t n_ports;
	uint16_t ports[RV_PORTS_MAX];

	/* The spray being run. */
	uint16_t spray_sock;
	uint32_t spray_i, spray_n; /* next index, total per sweep */
	uint8_t sweeps, max_sweeps;
	int32_t spray_step; /* current step (Δ, or a divisor of it) */
	uint16_t spray_first;
	uint8_t divisor_at;
	uint8_t spray_type; /* BUBBLE / REPLY / ASSIGN */
	uint8_t spray_ttl;
	bool spray_random;
	uint16_t n_socks; /* sockets the caller has opened */

	/* Outcome. */
	uint16_t path_sock;
	struct rv_addr path_to;
	uint32_t packets;
	uint32_t pdg_seq;
	bool reported;

	uint16_t n_acts;
	struct peer_act acts[PEER_ACTS];
};

/* Start an attempt from its first INSTRUCT. own: this peer's NAT. seed
 * for birthday ports. Context: pure. */
void peer_punch_start(struct peer_punch *p, const struct peer_instruct *in,
                      const struct rv_nat_info *own, uint64_t seed, uint64_t now_ms);

/* A later INSTRUCT (step > the current one). Context: pure. */
void peer_punch_instruct(struct peer_punch *p, const struct peer_instruct *in, uint64_t now_ms);

/* The server answered probe (kind, seq) sent from sock: it saw it on
 * observed_port. Context: pure. */
void peer_punch_probe(struct peer_punch *p, uint16_t sock, uint8_t kind, uint16_t seq,
                      uint16_t observed_port, uint64_t now_ms);

/* A peer datagram (already MAC-checked) arrived on sock from `from`.
 * Context: pure. */
void peer_punch_datagram(struct peer_punch *p, uint16_t sock, const struct rv_addr *from,
                         uint8_t type, uint32_t seq, uint64_t now_ms);

/* The caller opened sockets: indices [0, n) exist. Context: pure. */
void peer_punch_opened(struct peer_punch *p, uint16_t n, uint64_t now_ms);

/* Time passed. Context: pure. */
void peer_punch_timer(struct peer_punch *p, uint64_t now_ms);

/* When peer_punch_timer wants to run next. Context: pure. */
uint64_t peer_punch_next(const struct peer_punch *p);

/* Move queued actions to out (at most cap), oldest first; returns how
 * many. Context: pure. */
size_t peer_punch_take(struct peer_punch *p, struct peer_act *out, size_t cap);

const char *peer_phase_str(uint8_t phase);
