/* ctl_broker.h — connection brokering (the traversal document's server).
 *
 * One attempt per connect: the plan (proto/strategy.h), both sides'
 * reported probe ports, the INSTRUCTs sent and not yet answered, and each
 * side's result. The message sequence is proto/WIRE.md "Connecting".
 * Attempts live in a fixed table inside struct ctl (flat under floods) and
 * end at their deadline at the latest, when the outcome is recorded per
 * NAT pair and strategy.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "proto/msg.h"

#define CTL_ATTEMPTS    1024
#define CTL_DEADLINE_MS 15000
#define CTL_RETRY_MS    500
#define CTL_RETRIES     5
#define CTL_PREDICT_N   32   /* ports each side sweeps in PREDICT */
#define CTL_BIRTHDAY_H  256  /* sockets the hard side opens */
#define CTL_BIRTHDAY_E  1024 /* random ports the easy side probes */

enum ctl_phase {
	CTL_PH_FREE = 0,
	CTL_PH_PROBING,  /* waiting for the (checked) reports the plan needs next */
	CTL_PH_SPRAYING, /* the last instruction is out: waiting for results */
	CTL_PH_DONE,
};

struct ctl_side {
	uint8_t locator[RV_LOCATOR_LEN];
	struct rv_nat_info nat;
	bool got_report;  /* its probe ports are in ... */
	bool reported;    /* ... and rvdp saw them (or there is no rvdp to ask) */
	uint32_t obs_seq; /* the rvdp query checking them, 0: none out */
	uint8_t n_ports;
	uint16_t ports[RV_PORTS_MAX];
	bool done; /* its RESULT is in */
	struct rv_result result;
	/* The INSTRUCT not yet answered, resent every CTL_RETRY_MS. */
	bool acked; /* it answered one of this attempt's INSTRUCTs */
	bool pending;
	uint8_t tries;
	uint64_t next_ms;
	uint8_t txid[RV_STUN_TXID_LEN];
	uint16_t len;
	uint8_t wire[640];
};

struct ctl_attempt {
	uint64_t id;
	uint8_t key[16];
	uint8_t strategy; /* enum rv_strategy */
	uint8_t sender;   /* 0 caller, 1 callee: who sends bubbles */
	uint8_t phase;    /* enum ctl_phase */
	uint8_t step;     /* which instruction comes next */
	bool no_relay;    /* the caller asked for a direct path or nothing */
	uint64_t started_ms, deadline_ms;
	struct ctl_side side[2]; /* [0] caller, [1] callee */
};
