/* cli_out.c — rvpeer's output: one JSON object per result, or aligned
 * human lines (cli.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "peer/cli.h"
#include "proto/nat.h"
#include "proto/ticket.h"

/* The one JSON escaper. Bytes that are not UTF-8 become U+FFFD. */
void cli_json_string(const char *s, size_t n)
{
	bool utf8 = rv_utf8_valid((const uint8_t *)s, n);

	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else if (ch >= 0x80 && !utf8)
			fputs("\\ufffd", stdout);
		else
			putchar(ch);
	}
	putchar('"');
}

/* Text for a terminal: control characters shown as '?'. */
const char *cli_tty_safe(const char *s, size_t n, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap; i++)
		buf[i] = (s[i] >= 0 && s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

void cli_key(struct cli_out *o, const char *key)
{
	if (o->more[o->depth])
		fputs(", ", stdout);
	o->more[o->depth] = true;
	if (key) {
		cli_json_string(key, strlen(key));
		fputs(": ", stdout);
	}
}

void cli_open(struct cli_out *o, const char *key, char bracket)
{
	if (o->json) {
		cli_key(o, key);
		putchar(bracket);
	}
	o->more[++o->depth] = false;
}

void cli_close(struct cli_out *o, char bracket)
{
	if (o->json)
		putchar(bracket);
	if (--o->depth == 0) {
		if (o->json)
			putchar('\n');
		o->more[0] = false;
		fflush(stdout);
	}
}

/* A field: "key": value in JSON, "key   value" on its own line for humans
 * (unless CLI_JSON). */
__attribute__((format(printf, 4, 5))) void cli_kv(struct cli_out *o, const char *key, int kind,
                                                  const char *fmt, ...)
{
	char v[2 * CLI_DGRAM_MAX], label[32], safe[2 * CLI_DGRAM_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (o->json) {
		cli_key(o, key);
		if (kind & CLI_RAW)
			fputs(v, stdout);
		else
			cli_json_string(v, strlen(v));
		return;
	}
	if (kind & CLI_JSON)
		return;
	snprintf(label, sizeof(label), "%s", key);
	for (char *u = label; *u; u++)
		if (*u == '_')
			*u = ' ';
	printf("%-16s %s\n", label, cli_tty_safe(v, strlen(v), safe, sizeof(safe)));
}

uint64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of rvp_next_ms() */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3))) void cli_note(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "rvpeer: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) int cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "rvpeer %s: ", c->cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see rvpeer %s --help)\n", c->cmd);
	va_end(ap);
	return 2;
}

/* The operation failed: one line with the library's reason; in JSON the
 * open object (if any) gets it too. Returns the exit code. */
int cli_failed(struct cli *c, const char *what, int err)
{
	fprintf(stderr, "rvpeer %s: %s: %s\n", c->cmd, what, rvp_strerror(err));
	if (c->o.depth)
		cli_kv(&c->o, "error", CLI_STR | CLI_JSON, "%s: %s", what, rvp_strerror(err));
	return 1;
}

const char *cli_end_reason(const struct rvp_conn *k, int err)
{
	struct rvp_info i;

	if (err == -ECONNABORTED) {
		rvp_conn_info(k, &i);
		return rv_result_str(i.ended);
	}
	return err == -EPIPE ? "partner-closed" : err == -ETIMEDOUT ? "partner-silent" : "stopped";
}

int cli_conn_failed(struct cli *c, const struct rvp_conn *k, const char *what, int err)
{
	const char *why = cli_end_reason(k, err);

	if (err != -ECONNABORTED)
		return cli_failed(c, what, err);
	fprintf(stderr, "rvpeer %s: %s: the server ended the relay: %s\n", c->cmd, what, why);
	if (c->o.depth)
		cli_kv(&c->o, "error", CLI_STR | CLI_JSON, "%s: the server ended the relay: %s",
		       what, why);
	return 1;
}

void cli_hex_locator(const uint8_t *l, char out[2 * RV_LOCATOR_LEN + 1])
{
	rv_hex_encode(l, RV_LOCATOR_LEN, out);
}

void cli_peer_header(const struct cli_out *o)
{
	if (!o->json)
		printf("%-32s  %-7s  %-21s  %-15s  %-6s  %s\n", "LOCATOR", "STATUS", "ADDRESS",
		       "NAT", "PATH", "NICKNAME");
}

void cli_print_peer(struct cli_out *o, const struct rv_peer *r)
{
	char loc[33], a[RV_ADDR_STRLEN], nick[64];
	const char *path = r->flags & RV_PEER_DIRECT  ? "direct"
	                   : r->flags & RV_PEER_RELAY ? "relay"
	                                              : "-";

	cli_hex_locator(r->locator, loc);
	rv_addr_fmt(&r->addr, a, sizeof(a));
	if (!o->json) {
		printf("%-32s  %-7s  %-21s  %-15s  %-6s  %s\n", loc,
		       r->status == RV_ONLINE ? "online" : "offline", a,
		       rv_nat_type_str(r->nat_type), path,
		       r->nickname[0]
		               ? cli_tty_safe(r->nickname, strlen(r->nickname), nick, sizeof(nick))
		               : "-");
		return;
	}
	cli_open(o, NULL, '{');
	cli_kv(o, "locator", CLI_STR, "%s", loc);
	cli_kv(o, "online", CLI_RAW, "%s", r->status == RV_ONLINE ? "true" : "false");
	if (r->addr.family)
		cli_kv(o, "address", CLI_STR, "%s", a);
	else
		cli_kv(o, "address", CLI_RAW, "null");
	cli_kv(o, "nat", CLI_STR, "%s", rv_nat_type_str(r->nat_type));
	cli_kv(o, "path", CLI_STR, "%s", path);
	cli_kv(o, "nickname", CLI_STR, "%s", r->nickname);
	cli_close(o, '}');
}

void cli_print_peers(struct cli_out *o, const struct rv_peer *r, size_t n)
{
	cli_peer_header(o);
	cli_open(o, "peers", '[');
	for (size_t i = 0; i < n; i++)
		cli_print_peer(o, &r[i]);
	cli_close(o, ']');
}

/* "connected to ... via ..." (fields of the open object in JSON). */
void cli_print_connected(struct cli *c, const struct rvp_info *i)
{
	char loc[33], a[RV_ADDR_STRLEN];

	cli_hex_locator(i->partner_locator, loc);
	rv_addr_fmt(&i->partner, a, sizeof(a));
	if (!c->o.json) {
		printf("connected to %s at %s via %s in %" PRIu32 " ms (%" PRIu32 " packets)\n",
		       loc, a, rv_strategy_str(i->strategy), i->elapsed_ms, i->packets);
		fflush(stdout);
		return;
	}
	cli_kv(&c->o, "partner", CLI_STR, "%s", loc);
	cli_kv(&c->o, "address", CLI_STR, "%s", a);
	cli_kv(&c->o, "strategy", CLI_STR, "%s", rv_strategy_str(i->strategy));
	cli_kv(&c->o, "elapsed_ms", CLI_RAW, "%" PRIu32, i->elapsed_ms);
	cli_kv(&c->o, "packets", CLI_RAW, "%" PRIu32, i->packets);
	cli_kv(&c->o, "caller", CLI_RAW, "%s", i->caller ? "true" : "false");
}

/* One event of listen / chat: an object of its own in JSON. */
void cli_event_open(struct cli *c, const char *event, const struct rvp_info *i)
{
	char loc[33];

	cli_hex_locator(i->partner_locator, loc);
	cli_open(&c->o, NULL, '{');
	cli_kv(&c->o, "event", CLI_STR | CLI_JSON, "%s", event);
	if (strcmp(event, "connected"))
		cli_kv(&c->o, "partner", CLI_STR | CLI_JSON, "%s", loc);
}

void cli_print_message(struct cli *c, const struct rvp_info *i, const char *buf, size_t n)
{
	bool text = rv_utf8_valid((const uint8_t *)buf, n);
	char loc[33], safe[2 * CLI_DGRAM_MAX];

	cli_hex_locator(i->partner_locator, loc);
	if (!c->o.json) {
		if (text)
			printf("%.8s> %s\n", loc, cli_tty_safe(buf, n, safe, sizeof(safe)));
		else
			printf("%.8s> (%zu bytes, not text)\n", loc, n);
		fflush(stdout);
		return;
	}
	cli_event_open(c, "message", i);
	if (text) {
		cli_key(&c->o, "text");
		cli_json_string(buf, n);
	}
	cli_kv(&c->o, "bytes", CLI_RAW, "%zu", n);
	cli_close(&c->o, '}');
}
