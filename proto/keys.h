/* keys.h — key agreement between a ticket's holder and the locator service.
 *
 * The device picks an X25519 key pair per ticket (the "holder" key, bound
 * into the ticket by the auth service). The locator service has a static
 * X25519 key pair whose public half the peer learns with its ticket. Both
 * sides compute the same root:
 *
 *   root = BLAKE2b-256(X25519(own secret, other public) || holder_pk ||
 *                      locator_pk), personal "rv-root-v1"
 *
 * and derive every symmetric key from it with rv_kdf():
 *   "register" (32 bytes): MESSAGE-INTEGRITY-SHA256 of REGISTER and its
 *       answer — proves the registrant holds the ticket's holder secret;
 *   "probe"    (16 bytes, per session): the SipHash key of RV-PROBE;
 *   "message"  (32 bytes, per session): MESSAGE-INTEGRITY-SHA256 of every
 *       later control message.
 * Pure (libsodium primitives only).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define RV_KX_LEN   32 /* X25519 public and secret keys */
#define RV_ROOT_LEN 32

/* A fresh X25519 key pair.  Context: any (uses the system RNG). */
void rv_kx_keypair(uint8_t pk[RV_KX_LEN], uint8_t sk[RV_KX_LEN]);

/* The public half of a secret key.  Context: pure. */
void rv_kx_public(const uint8_t sk[RV_KX_LEN], uint8_t pk[RV_KX_LEN]);

/* The shared root (see above). own_sk is this side's secret, other_pk the
 * other side's public key; holder_pk and locator_pk fix the order so both
 * sides hash the same bytes. Returns 0, or RV_ESIGNATURE when the other
 * key is a low-order point (the exchange would be predictable).
 * Context: pure. */
int rv_kx_root(const uint8_t own_sk[RV_KX_LEN], const uint8_t other_pk[RV_KX_LEN],
               const uint8_t holder_pk[RV_KX_LEN], const uint8_t locator_pk[RV_KX_LEN],
               uint8_t root[RV_ROOT_LEN]);

/* out[0..outlen) = BLAKE2b(key = root, label || session (8 bytes BE)),
 * outlen 16..64. Distinct labels or sessions give independent keys.
 * Context: pure. */
void rv_kdf(const uint8_t root[RV_ROOT_LEN], const char *label, uint64_t session, uint8_t *out,
            size_t outlen);

/* A relay's key (rvdp checks the peers' binding probes with it), derived
 * from the attempt's key so both peers and the server know it without
 * another key on the wire; rvdp gets it, never the attempt key itself:
 * BLAKE2b-128 keyed with the attempt key over "relay" || relay ID.
 * Context: pure. */
void rv_relay_key(const uint8_t attempt_key[16], uint64_t relay, uint8_t out[16]);

/* An attempt's 16-byte key travels to each peer masked with a mask only
 * that peer can compute from its session's message key:
 * out = in XOR rv_kdf(msg_key, "attempt", attempt, 16). Its own inverse.
 * Context: pure. */
void rv_key_wrap(const uint8_t msg_key[RV_ROOT_LEN], uint64_t attempt, const uint8_t in[16],
                 uint8_t out[16]);
