#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv_addr.h"

bool rv_addr_ip_eq(const struct rv_addr *a, const struct rv_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, rv_addr_iplen(a)) == 0;
}

bool rv_addr_eq(const struct rv_addr *a, const struct rv_addr *b)
{
	return a->port == b->port && rv_addr_ip_eq(a, b);
}

void rv_addr_normalize(struct rv_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family != RV_AF_INET6 || memcmp(a->ip, mapped, sizeof(mapped)) != 0)
		return;
	memmove(a->ip, a->ip + 12, 4);
	memset(a->ip + 4, 0, 12);
	a->family = RV_AF_INET;
}

char *rv_addr_fmt(const struct rv_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (a->family == RV_AF_INET && inet_ntop(AF_INET, a->ip, ip, sizeof(ip)))
		snprintf(buf, len, "%s:%u", ip, a->port);
	else if (a->family == RV_AF_INET6 && inet_ntop(AF_INET6, a->ip, ip, sizeof(ip)))
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "-");
	return buf;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int rv_addr_parse(const char *s, uint16_t default_port, struct rv_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_s = NULL;
	size_t hlen;
	struct rv_addr a = { .port = default_port };

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return -EINVAL;
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] != 0)
			return -EINVAL;
	} else {
		colon = strchr(s, ':');
		/* A single colon separates IPv4 and port; several mean bare IPv6. */
		if (colon && !strchr(colon + 1, ':')) {
			hlen = (size_t)(colon - s);
			port_s = colon + 1;
		} else {
			hlen = strlen(s);
		}
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = 0;
	}
	if (port_s && parse_port(port_s, &a.port) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, a.ip) == 1)
		a.family = RV_AF_INET;
	else if (inet_pton(AF_INET6, host, a.ip) == 1)
		a.family = RV_AF_INET6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}
