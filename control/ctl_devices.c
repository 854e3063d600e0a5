/* ctl_devices.c — device registry file parser (ctl_devices.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ctl_devices.h"
#include "proto/ticket.h"

/* Append "line N: why" to err (";"-separated), at most ~10 of them. */
static void complain(char *err, size_t errlen, int *bad, int line, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (++*bad > 10 || used + 2 >= errlen)
		return;
	used += (size_t)snprintf(err + used, errlen - used, "%sline %d: ", used ? "; " : "", line);
	if (used >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

static bool id_ok(const char *s, size_t n)
{
	if (n == 0 || n > RV_DEVICE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

int ctl_devices_parse(const char *text, size_t len, struct ctl_device *devs, size_t cap, char *err,
                      size_t errlen)
{
	size_t pos = 0, n = 0;
	int line = 0, bad = 0;

	if (errlen)
		err[0] = 0;
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos, a = 0, idlen, b;
		char hex[65];

		pos += l + (nl ? 1 : 0);
		line++;
		while (l && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
			l--;
		while (a < l && (s[a] == ' ' || s[a] == '\t'))
			a++;
		if (a == l || s[a] == '#')
			continue;
		for (idlen = 0; a + idlen < l && s[a + idlen] != ' ' && s[a + idlen] != '\t';
		     idlen++)
			;
		for (b = a + idlen; b < l && (s[b] == ' ' || s[b] == '\t'); b++)
			;
		if (b == l) {
			complain(err, errlen, &bad, line, "expected 'DEVICE-ID PUBKEY'");
			continue;
		}
		if (!id_ok(s + a, idlen)) {
			complain(err, errlen, &bad, line,
			         "device ID must be 1..64 printable characters without spaces");
			continue;
		}
		if (l - b != 64) {
			complain(err, errlen, &bad, line, "public key must be 64 hex digits");
			continue;
		}
		memcpy(hex, s + b, 64);
		hex[64] = 0;
		if (n == cap)
			return -ENOSPC;
		memset(&devs[n], 0, sizeof(devs[n]));
		if (rv_hex_decode(hex, devs[n].pubkey, 32) < 0) {
			complain(err, errlen, &bad, line, "public key must be 64 hex digits");
			continue;
		}
		if (!crypto_core_ed25519_is_valid_point(devs[n].pubkey)) {
			complain(err, errlen, &bad, line, "not a valid Ed25519 public key");
			continue;
		}
		memcpy(devs[n].id, s + a, idlen);
		devs[n].id_len = (uint8_t)idlen;
		for (size_t k = 0; k < n; k++)
			if (devs[k].id_len == idlen && !memcmp(devs[k].id, s + a, idlen)) {
				complain(err, errlen, &bad, line, "device ID listed twice");
				break;
			}
		n++;
	}
	if (bad)
		return -EINVAL;
	return (int)n;
}
