/* peer_net.c — UDP sockets for the peer (peer_net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer_net.h"

static void to_sa(const struct rv_addr *a, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(a->port);
	memcpy(&sa->sin_addr, a->ip, 4);
}

static void from_sa(const struct sockaddr_in *sa, struct rv_addr *a)
{
	*a = rv_addr_v4(ntohl(sa->sin_addr.s_addr), ntohs(sa->sin_port));
}

int peer_udp_open(const struct rv_addr *bind_to)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (bind_to && bind_to->family && bind_to->family != RV_AF_INET)
		return -EAFNOSUPPORT;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind_to && bind_to->family)
		to_sa(bind_to, &sa);
	else
		memset(&sa, 0, sizeof(sa)), sa.sin_family = AF_INET;
	if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static bool ports_have(const struct peer_ports *u, uint16_t port)
{
	for (unsigned i = 0; i < u->n; i++)
		if (u->port[i] == port)
			return true;
	return false;
}

int peer_udp_open_fresh(const struct rv_addr *bind, struct peer_ports *used)
{
	struct rv_addr b = *bind, local;
	int held[4], nh = 0, fd;

	b.port = 0;
	for (;;) {
		fd = peer_udp_open(&b);
		if (fd < 0 && nh) { /* our own held sockets took the last ports */
			fd = held[--nh];
			(void)peer_udp_local(fd, &local);
			break;
		}
		if (fd < 0)
			break;
		if (peer_udp_local(fd, &local) < 0) {
			close(fd);
			fd = -EIO;
			break;
		}
		if (!ports_have(used, local.port) || nh == (int)(sizeof(held) / sizeof(held[0])))
			break;
		held[nh++] = fd; /* open meanwhile: the next try gets another port */
	}
	while (nh)
		close(held[--nh]);
	if (fd >= 0 && used->n < PEER_PORTS_MAX && !ports_have(used, local.port))
		used->port[used->n++] = local.port;
	return fd;
}

int peer_udp_local(int fd, struct rv_addr *out)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	from_sa(&sa, out);
	return 0;
}

int peer_udp_source(int fd, const struct rv_addr *to, struct rv_addr *out)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int rc = peer_udp_local(fd, out), probe;

	if (rc < 0 || rv_addr_v4_host(out) != 0)
		return rc;
	/* connect(2) on a throwaway socket asks the routing table without
	 * sending anything. */
	probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	to_sa(to, &sa);
	if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(probe, (struct sockaddr *)&sa, &len) < 0) {
		rc = -errno;
		close(probe);
		return rc;
	}
	close(probe);
	memcpy(out->ip, &sa.sin_addr, 4);
	return 0;
}

ssize_t peer_udp_send(int fd, const struct rv_addr *to, const void *buf, size_t len, int ttl)
{
	struct sockaddr_in sa;
	int def = 64;
	socklen_t dl = sizeof(def);
	ssize_t n;

	if (to->family != RV_AF_INET)
		return -EAFNOSUPPORT;
	to_sa(to, &sa);
	if (ttl > 0) {
		(void)getsockopt(fd, IPPROTO_IP, IP_TTL, &def, &dl);
		if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0)
			return -errno;
	}
	n = sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
	if (n < 0)
		n = -errno;
	if (ttl > 0)
		(void)setsockopt(fd, IPPROTO_IP, IP_TTL, &def, sizeof(def));
	return n;
}

ssize_t peer_udp_recv(int fd, void *buf, size_t cap, struct rv_addr *from)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&sa, &len);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (sa.sin_family != AF_INET)
		return -EAGAIN;
	from_sa(&sa, from);
	return n;
}

int peer_udp_icmp(int fd, struct rv_addr *offender, uint8_t *type, uint8_t *code)
{
	uint8_t data[64], ctl[256];
	struct sockaddr_in sa;
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_name = &sa,
		             .msg_namelen = sizeof(sa),
		             .msg_iov = &iov,
		             .msg_iovlen = 1,
		             .msg_control = ctl,
		             .msg_controllen = sizeof(ctl) };

	if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		struct sock_extended_err *ee;

		if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR)
			continue;
		ee = (struct sock_extended_err *)(void *)CMSG_DATA(c);
		if (ee->ee_origin != SO_EE_ORIGIN_ICMP)
			continue;
		*type = ee->ee_type;
		*code = ee->ee_code;
		from_sa((const struct sockaddr_in *)(const void *)SO_EE_OFFENDER(ee), offender);
		return 1;
	}
	return 0;
}

uint64_t peer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
