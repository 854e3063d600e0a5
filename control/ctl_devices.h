/* ctl_devices.h — the manufacturer's device registry file.
 *
 * One device per line: "DEVICE-ID PUBKEY" — the ID as printed on the box
 * (1..64 printable ASCII characters, no spaces) and its Ed25519 public key
 * in 64 hex digits. Blank lines and '#' comments are ignored. The parse is
 * all-or-nothing: any bad line fails the whole file, naming every bad line
 * (up to a limit), so nothing is ever half-imported.
 */
#pragma once

#include <stddef.h>

#include "control/ctl_store.h"

/* Parse text into devs[0..cap). Returns the device count, or -EINVAL with
 * err listing the bad lines ("line 3: ...; line 9: ..."), or -ENOSPC when
 * more than cap devices (or a duplicate ID within the file).
 * Context: pure. */
int ctl_devices_parse(const char *text, size_t len, struct ctl_device *devs, size_t cap, char *err,
                      size_t errlen);
