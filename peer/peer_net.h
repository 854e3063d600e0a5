/* peer_net.h — the peer's UDP sockets: plain BSD sockets, non-blocking,
 * with the two extras NAT traversal needs: a per-packet IP TTL (the
 * port-assigning packet must die past our own NAT) and the ICMP errors
 * the kernel queues (time-exceeded tells how far away the NAT is).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/rv_addr.h"

/* A UDP socket bound to bind (IPv4; port 0 = any), non-blocking, close-on-
 * exec, with IP_RECVERR. Returns the fd or a negative errno.
 * Context: any. */
int peer_udp_open(const struct rv_addr *bind);

/* Local ports a series of fresh sockets has had. */
#define PEER_PORTS_MAX 16
struct peer_ports {
	uint16_t port[PEER_PORTS_MAX];
	unsigned n;
};

/* A socket as peer_udp_open() gives for bind with port 0, on a local port
 * none in used has had; the port then joins used (while there is room).
 * The kernel hands a closed socket's port out again now and then, and the
 * NAT may still hold a mapping for it: a probe from there would meet the
 * old public port, and a sequential NAT would look random (after 5 tries,
 * or when no other port is left, it takes what it got). Returns the fd or a negative errno.
 * Context: any. */
int peer_udp_open_fresh(const struct rv_addr *bind, struct peer_ports *used);

/* The socket's local address (after bind), or a negative errno. */
int peer_udp_local(int fd, struct rv_addr *out);

/* The local address a datagram from fd to `to` leaves with: the socket's
 * own, with an unbound (0.0.0.0) IP replaced by the one the kernel's
 * route picks. Sends nothing. Returns 0 or a negative errno. */
int peer_udp_source(int fd, const struct rv_addr *to, struct rv_addr *out);

/* Send one datagram; ttl 0 keeps the socket's default. Returns the bytes
 * sent or a negative errno (-EAGAIN when the buffer is full). */
ssize_t peer_udp_send(int fd, const struct rv_addr *to, const void *buf, size_t len, int ttl);

/* Receive one datagram (non-blocking): bytes, or -EAGAIN when none. */
ssize_t peer_udp_recv(int fd, void *buf, size_t cap, struct rv_addr *from);

/* One queued ICMP error, if any: 1 with the router that sent it (offender)
 * and the ICMP type/code, 0 when the queue is empty, or a negative errno.
 */
int peer_udp_icmp(int fd, struct rv_addr *offender, uint8_t *type, uint8_t *code);

/* Milliseconds of a monotonic clock. */
uint64_t peer_now_ms(void);
