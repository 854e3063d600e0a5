/* ticket.h — the auth service's signed ticket and the device's proof.
 *
 * Ticket (the device-ID document's "certificate", 128 bytes):
 *
 *    0  version (1) = 1 | flags (1) | reserved (2)
 *    4  key_id (4)         which signing key (rotation with overlap)
 *    8  locator (16)       the locator ID it vouches for
 *   24  issued_s (4)       Unix seconds
 *   28  expires_s (4)      Unix seconds, > issued_s
 *   32  holder (32)        X25519 public key the bearer must prove it holds
 *   64  signature (64)     Ed25519 over "rv-ticket-v1\0" || bytes 0..63
 *
 * Verifiable with the auth service's public key alone: a locator-only
 * deployment never sees device IDs or the signing key. The holder key binds
 * the ticket to the device that asked for it, so a ticket lifted off the
 * wire is useless without the matching secret (see proto/WIRE.md).
 *
 * Device proof: Ed25519 by the device key over
 *   "rv-auth-v1\0" || server nonce (32) || holder (32) || device ID.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv_err.h"

#define RV_TICKET_VERSION 1
#define RV_TICKET_LEN     128
#define RV_TICKET_BODY    64
#define RV_SIGN_PK_LEN    32 /* Ed25519 public key */
#define RV_SIGN_SK_LEN    64 /* Ed25519 secret key (libsodium layout) */

struct rv_ticket {
	uint8_t version;
	uint8_t flags;
	uint32_t key_id;
	uint8_t locator[16];
	uint32_t issued_s;
	uint32_t expires_s;
	uint8_t holder[32];
	uint8_t sig[64];
};

/* Serialize (body and signature as they are).  Context: pure. */
void rv_ticket_encode(const struct rv_ticket *t, uint8_t out[RV_TICKET_LEN]);

/* Parse without judging the signature: RV_ELEN unless exactly
 * RV_TICKET_LEN bytes, RV_EVERSION for another version, RV_EATTR when
 * expires_s <= issued_s or reserved bytes are set.  Context: pure. */
int rv_ticket_decode(const uint8_t *buf, size_t len, struct rv_ticket *t);

/* Fill t->sig with the signing key.  Context: pure. */
void rv_ticket_sign(struct rv_ticket *t, const uint8_t sk[RV_SIGN_SK_LEN]);

/* Verify signature and validity window at now_s, allowing skew_s of clock
 * difference either way: valid when issued_s <= now_s + skew_s and
 * now_s < expires_s + skew_s. RV_ESIGNATURE, RV_EEXPIRED (expired, or issued
 * in the future beyond the skew), or 0. The caller picks pk by t->key_id.
 * Context: pure. */
int rv_ticket_verify(const struct rv_ticket *t, const uint8_t pk[RV_SIGN_PK_LEN], uint32_t now_s,
                     uint32_t skew_s);

/* The device's proof of possession (see above). 0, or RV_ERANGE when
 * id_len exceeds the wire bound (64).  Context: pure. */
int rv_auth_proof_sign(const uint8_t sk[RV_SIGN_SK_LEN], const uint8_t nonce[32],
                       const uint8_t holder[32], const uint8_t *device_id, size_t id_len,
                       uint8_t sig[64]);
/* 0 or RV_ESIGNATURE (also for id_len > 64).  Context: pure. */
int rv_auth_proof_verify(const uint8_t pk[RV_SIGN_PK_LEN], const uint8_t nonce[32],
                         const uint8_t holder[32], const uint8_t *device_id, size_t id_len,
                         const uint8_t sig[64]);

/* Lower-case hex of n bytes into out (2n + 1 bytes).  Context: pure. */
void rv_hex_encode(const uint8_t *p, size_t n, char *out);
/* Exactly 2n hex digits into n bytes: 0 or -EINVAL.  Context: pure. */
int rv_hex_decode(const char *s, uint8_t *out, size_t n);
