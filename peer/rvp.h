/* rvp.h — libpeer: the rendezvous client.
 *
 * A peer authenticates with the ID and key of its device, registers where
 * it can be reached, classifies its NAT, finds partners (lookup, presence,
 * groups, matching), and opens direct UDP paths to them through both NATs —
 * the server only brokers (proto/WIRE.md). Plain BSD sockets, no threads:
 * one poll loop drives everything. Use the blocking calls, or poll rvp_fd()
 * and call rvp_process() when it is readable or rvp_next_ms() has passed.
 *
 * Every call returns >= 0 or a negative code; rvp_strerror() says what it
 * means (proto error codes, negative errno, and the server's STUN error
 * codes as RVP_E_SERVER - code).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"
#include "proto/rv_addr.h"

#define RVP_E_SERVER  (-20000) /* RVP_E_SERVER - 460 = the server said 460 */
#define RVP_E_TIMEOUT (-19999)
#define RVP_E_STATE   (-19998) /* not authenticated / registered yet */
#define RVP_E_NO_PATH (-19997) /* the attempt ended without a path (see timeline) */
#define RVP_E_PARTNER (-19996) /* the partner did not take part (gone, frozen) */
#define RVP_E_LOST    (-19995) /* the server dropped the attempt (restarted): connect again */

struct rvp;
struct rvp_conn;

struct rvp_conf {
	struct rv_addr server;     /* rvdp's (or rvcontrol's) primary address */
	struct rv_addr server_alt; /* the alternate one; 0: learned by classify */
	struct rv_addr bind;       /* local address of the registration socket */
	char device_id[RV_DEVICE_ID_MAX + 1];
	uint8_t device_sk[64]; /* Ed25519 secret key of the device */
	char app_id[RV_APP_ID_MAX + 1];
	char nickname[RV_NICK_MAX + 1];
	char group[RV_GROUP_ID_MAX + 1]; /* join at registration (optional) */
	struct rv_community community;
	struct rv_nat_info nat; /* known characteristic (type 0: classify) */
	uint32_t timeout_ms;    /* per blocking call (default 10000) */
	/* An established path: a keepalive after keepalive_ms without sending
	 * (default 10000, under common NAT UDP timeouts), and the path is dead
	 * after dead_ms without hearing the partner (default 35000). */
	uint32_t keepalive_ms, dead_ms;
	/* A relayed path (the caller's side) tries for a direct one after
	 * upgrade_ms (default 30000), then at doubling intervals up to 8x;
	 * UINT32_MAX: never. Traffic moves over once one is found. */
	uint32_t upgrade_ms;
	/* rvp_connect: through the relay at once (connectivity first), then
	 * upgrade as above. */
	bool relay_first;
	/* Each step of what the peer does, as a line of text (may be NULL). */
	void (*timeline)(void *ctx, const char *line);
	void *timeline_ctx;
};

/* Create a peer: opens the registration socket. NULL + errno on failure.
 * Context: any (one thread per struct rvp). */
struct rvp *rvp_create(const struct rvp_conf *conf);
void rvp_free(struct rvp *p);

/* Measure the NAT in front of us against the server's two addresses and
 * ports (RFC 5780 / the document's Fig. 7-9): mapping, filtering, type,
 * allocation (Δ), background allocation rate, hop count to the NAT.
 * The result is used at registration. */
int rvp_classify(struct rvp *p, struct rv_nat_info *out);

/* Authenticate (hello + auth): locator ID and ticket. */
int rvp_auth(struct rvp *p);
/* Register (after auth); refreshes run by themselves from then on. */
int rvp_register(struct rvp *p);
/* Unregister. */
int rvp_bye(struct rvp *p);

/* This peer's locator ID (after auth) and its public address as the
 * server sees it (after register). */
const uint8_t *rvp_locator(const struct rvp *p);
const struct rv_addr *rvp_mapped(const struct rvp *p);
const struct rv_nat_info *rvp_nat(const struct rvp *p);

int rvp_lookup(struct rvp *p, const uint8_t locator[RV_LOCATOR_LEN], struct rv_peer *out);
/* online[i] for each of n (<= 32) locators. */
int rvp_presence(struct rvp *p, const uint8_t (*locators)[RV_LOCATOR_LEN], size_t n, bool *online);
/* Group operation; for list/query fills peers (up to cap), returns how many,
 * and *total the group's size. */
int rvp_group(struct rvp *p, enum rv_group_op op, const char *group, struct rv_peer *peers,
              size_t cap, uint32_t *total);
/* Partners fitting req[0..n_req); returns how many (<= cap); via gets a
 * third party's locator when one is named (zero otherwise). */
int rvp_match(struct rvp *p, const struct rv_require *req, size_t n_req, struct rv_peer *peers,
              size_t cap, uint8_t via[RV_LOCATOR_LEN]);

/* Open a direct path to a registered partner (blocks up to the timeout). */
int rvp_connect(struct rvp *p, const uint8_t locator[RV_LOCATOR_LEN], struct rvp_conn **out);
/* Wait for a partner the server says is coming (up to timeout_ms; -1:
 * the configured timeout). */
int rvp_accept(struct rvp *p, int timeout_ms, struct rvp_conn **out);

/* Datagrams on an established path (authenticated with the attempt key). */
int rvp_send(struct rvp_conn *c, const void *buf, size_t len);
/* Receive one datagram (up to timeout_ms; 0: don't wait): its length,
 * RVP_E_TIMEOUT, -EPIPE once the partner closed the path, -ETIMEDOUT
 * once it went silent for dead_ms, or -ECONNABORTED once the server ended
 * its relay (quota, time, idleness: rvp_info's ended says which). The path
 * is then closed; send fails the same way. */
int rvp_recv(struct rvp_conn *c, void *buf, size_t cap, int timeout_ms);
void rvp_close(struct rvp_conn *c);

/* What the path is: the partner's address, the strategy that opened it,
 * how long it took and how many packets were sprayed. */
struct rvp_info {
	struct rv_addr partner;
	uint8_t partner_locator[RV_LOCATOR_LEN];
	uint8_t strategy; /* enum rv_strategy */
	uint32_t elapsed_ms;
	uint32_t packets;
	bool caller;
	bool relayed;  /* through the server's relay (partner: the relay's address) */
	uint8_t ended; /* why the server ended the relay (enum rv_result_code:
	                * relay-bytes, relay-time, relay-idle), 0 while it has not */
};
void rvp_conn_info(const struct rvp_conn *c, struct rvp_info *out);

/* Event-loop integration: an fd that becomes readable when there is work,
 * the time (monotonic ms) of the next timer, and one turn of the loop. */
int rvp_fd(const struct rvp *p);
uint64_t rvp_next_ms(const struct rvp *p);
int rvp_process(struct rvp *p, int timeout_ms);

const char *rvp_strerror(int err);

/* Device key files: "device-id ID" and "secret HEX(64 bytes)" lines.
 * Returns 0 or a negative errno with err filled. */
int rvp_device_load(const char *path, char *id, size_t idcap, uint8_t sk[64], char *err,
                    size_t errlen);
