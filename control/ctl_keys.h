/* ctl_keys.h — rvcontrol's key files.
 *
 * A keys directory holds, one secret per file (mode 0600), text lines
 * "name value" with hex values:
 *   auth.key         key-id N, secret (Ed25519, 64 bytes)   auth role: signs tickets
 *   auth.pub         key N HEX, one line per key in use     locator role: verifies tickets;
 *                    (the previous keys stay listed during a rotation's overlap window)
 *   locator-id.key   secret (32 bytes)                      auth role: derives locator IDs
 *   locator-kx.key   secret (X25519, 32 bytes)              locator role: key agreement
 *   locator-kx.pub   public (32 bytes)                      auth role: handed to peers
 * A locator-only deployment has auth.pub and locator-kx.key and never sees
 * device IDs or the signing key; an auth-only one the other three.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_MAX_VERIFY 8

struct ctl_keys {
	bool has_sign;
	uint32_t sign_id;
	uint8_t sign_sk[64];
	unsigned n_verify;
	struct {
		uint32_t id;
		uint8_t pk[32];
	} verify[CTL_MAX_VERIFY];
	bool has_locator_id;
	uint8_t locator_id_secret[32];
	bool has_kx_sk;
	uint8_t kx_sk[32];
	bool has_kx_pk;
	uint8_t kx_pk[32];
};

/* Parse one key file's text (`file` is its base name, e.g. "auth.pub").
 * err names the file and line. Returns 0 or -EINVAL.  Context: pure. */
int ctl_keys_parse(struct ctl_keys *k, const char *file, const char *text, size_t len, char *err,
                   size_t errlen);

/* Load every key file present in dir. Missing files are fine (the role
 * check says what is needed); unreadable or malformed ones are not.
 * Returns 0 or a negative errno with err filled.  Context: main. */
int ctl_keys_load(struct ctl_keys *k, const char *dir, char *err, size_t errlen);

/* Create the directory and whatever key files are missing. rotate: a new
 * signing key with the next ID, its public key appended to auth.pub (the
 * old ones stay valid until removed by hand after the overlap window).
 * Each file written is reported on log. Returns 0 or a negative errno.
 * Context: main. */
int ctl_keys_generate(const char *dir, bool rotate, FILE *log, char *err, size_t errlen);

/* The verification key with this ID, or NULL.  Context: any. */
const uint8_t *ctl_keys_verify_pk(const struct ctl_keys *k, uint32_t id);

/* Locator ID of a device: BLAKE2b-128 keyed with the locator-ID secret over
 * "rv-locator-v1\0" || device ID — stable per device, one-way.
 * Context: pure. */
void ctl_keys_locator(const struct ctl_keys *k, const uint8_t *device_id, size_t len,
                      uint8_t out[16]);
