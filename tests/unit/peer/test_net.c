/* The peer's sockets: fresh ones never on a port the series already had.
 *
 * Deterministic only with a tiny ephemeral range: each test runs in a
 * network namespace of its own (Criterion forks a process per test) whose
 * ip_local_port_range is two ports, so the kernel has one other port to
 * give and gives the just-closed one back about half the time. Needs root
 * (CAP_SYS_ADMIN): skipped without it. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "peer/peer_net.h"

#define LO 40000
#define HI 40001

static void two_port_netns(void)
{
	FILE *f;

	if (unshare(CLONE_NEWNET) < 0)
		cr_skip_test("no network namespace of our own (needs root)");
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");
	cr_assert_not_null(f);
	cr_assert_gt(fprintf(f, "%d %d\n", LO, HI), 0);
	cr_assert_eq(fclose(f), 0);
}

static uint16_t port_of(int fd)
{
	struct rv_addr a;

	cr_assert_eq(peer_udp_local(fd, &a), 0);
	return a.port;
}

Test(net, a_fresh_socket_never_gets_a_port_the_series_had)
{
	struct rv_addr any = { 0 };
	unsigned plain_reused = 0;

	two_port_netns();
	/* What the kernel does by itself: the closed port comes back. */
	for (int i = 0; i < 40; i++) {
		int a = peer_udp_open(&any), b;
		cr_assert_geq(a, 0);
		uint16_t pa = port_of(a);
		close(a);
		b = peer_udp_open(&any);
		cr_assert_geq(b, 0);
		plain_reused += port_of(b) == pa;
		close(b);
	}
	cr_assert_gt(plain_reused, 0, "the premise: ports are handed out again");
	/* With the series' ports remembered, the other port every time. */
	for (int i = 0; i < 40; i++) {
		struct peer_ports used = { .n = 0 };
		int a = peer_udp_open_fresh(&any, &used), b;
		cr_assert_geq(a, 0);
		uint16_t pa = port_of(a);
		cr_assert_eq(used.n, 1);
		cr_assert_eq(used.port[0], pa);
		close(a);
		b = peer_udp_open_fresh(&any, &used);
		cr_assert_geq(b, 0);
		cr_assert_neq(port_of(b), pa, "round %d: the closed port again", i);
		cr_assert_eq(used.n, 2);
		close(b);
	}
}

Test(net, with_every_port_used_it_still_gives_a_socket_and_holds_none_back)
{
	struct rv_addr any = { 0 };
	struct peer_ports used = { { LO, HI }, 2 };
	int fd;

	two_port_netns();
	fd = peer_udp_open_fresh(&any, &used);
	cr_assert_geq(fd, 0, "no port is new: the last try is taken");
	cr_assert_eq(used.n, 2, "and not added twice");
	close(fd);
	/* The sockets it held while trying are closed: both ports free. */
	int a = peer_udp_open(&any), b = peer_udp_open(&any);
	cr_assert_geq(a, 0);
	cr_assert_geq(b, 0);
	close(a);
	close(b);
}
