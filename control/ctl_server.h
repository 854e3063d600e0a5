/* ctl_server.h — rvcontrol's event loop: the transports around ctl_core.
 *
 * One thread. Each turn: read what is waiting on the UDP socket and on
 * rvdp's control socket (at most a batch), handle it inside one store
 * transaction, commit, and only then send the answers — so an answer is
 * never sent for a write that did not reach the disk. rvdp is reconnected
 * whenever it goes away, and repopulated (FLUSH + every live session) each
 * time it comes back. The store is checkpointed when the loop is idle.
 */
#pragma once

#include <signal.h>

#include "control/ctl_core.h"

/* Run until *quit is set (SIGTERM/SIGINT). Returns 0 after a clean stop,
 * or a negative errno when a socket cannot be set up (err filled).
 * Context: main thread. */
int ctl_server_run(struct ctl *c, volatile sig_atomic_t *quit, char *err, size_t errlen);
