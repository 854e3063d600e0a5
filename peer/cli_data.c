/* cli_data.c — what flows on an established path: the echo check, the
 * chat, serving a connection (listen), and the file transfer (cli.h).
 *
 * File transfer — an application protocol on an established path. One
 * message per datagram; UDP is lossy, so it is stop-and-wait:
 *   sender                              receiver
 *   FILE <name> <size> <sha256hex>  ->  ACK 0 | DONE refused <why>
 *   DATA <seq>\n<1..1000 bytes>     ->  ACK <seq>       (seq = 1, 2, ...)
 *   END                             ->  DONE ok | DONE bad-checksum
 * Any request may also be answered "DONE error <why>" (the receiver gave
 * up). The sender repeats a request after 300 ms without its answer, up to
 * 10 times; the receiver answers a repeat again without acting twice. Names
 * are plain file names (no '/', no leading '.', no spaces: the sender
 * replaces those); the receiver writes DIR/.NAME.part and renames it to
 * DIR/NAME once the SHA-256 (libsodium) matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer/cli.h"
#include "proto/ticket.h"

#define CHUNK       1000
#define XFER_RTO_MS 300
#define XFER_TRIES  10
#define FILE_MAX    (1ull << 40)

volatile sig_atomic_t cli_quit;

static void on_signal(int sig)
{
	(void)sig;
	cli_quit = 1;
}

/* Only the serving loops stop on a signal (bye first); elsewhere the
 * default action ends the blocking call at once. */
void cli_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* --- file transfer: the receiving side (listen --save) --------------------- */

__attribute__((format(printf, 2, 3))) static void reply(struct cli_slot *sl, const char *fmt, ...)
{
	char msg[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)rvp_send(sl->k, msg, (size_t)n);
}

static bool name_ok(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s == '/' || *s == 0x7f)
			return false;
	return true;
}

void cli_rx_abort(struct cli_rx *f)
{
	if (f->active) {
		close(f->fd);
		unlink(f->tmp);
	}
	f->active = false;
}

static void rx_done(struct cli_slot *sl, const char *verdict)
{
	snprintf(sl->f.verdict, sizeof(sl->f.verdict), "DONE %s", verdict);
	reply(sl, "%s", sl->f.verdict);
}

static void rx_begin(struct cli *c, struct cli_slot *sl, const char *msg, size_t n)
{
	struct cli_rx *f = &sl->f;
	char name[256], hex[65];
	uint8_t want[32];
	uint64_t size;
	int used = 0;

	if (sscanf(msg, "FILE %255s %" SCNu64 " %64s%n", name, &size, hex, &used) != 3 ||
	    (size_t)used != n || !name_ok(name) || size > FILE_MAX ||
	    rv_hex_decode(hex, want, sizeof(want)) < 0) {
		rx_done(sl, "refused bad-header");
		return;
	}
	if (f->active && !strcmp(f->name, name) && f->size == size &&
	    !memcmp(f->want, want, sizeof(want)) && f->seq == 0) {
		reply(sl, "ACK 0"); /* our ACK was lost */
		return;
	}
	cli_rx_abort(f);
	if (!c->save[0]) {
		cli_note(c, "refused file '%s': no --save directory", name);
		rx_done(sl, "refused not-accepting-files");
		return;
	}
	if ((size_t)snprintf(f->tmp, sizeof(f->tmp), "%s/.%s.part", c->save, name) >=
	            sizeof(f->tmp) ||
	    (size_t)snprintf(f->path, sizeof(f->path), "%s/%s", c->save, name) >= sizeof(f->path)) {
		rx_done(sl, "refused name-too-long");
		return;
	}
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f->fd < 0) {
		reply(sl, "DONE error %s", strerror(errno));
		return;
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	memcpy(f->want, want, sizeof(want));
	f->size = size;
	f->got = 0;
	f->seq = 0;
	f->bad = false;
	f->verdict[0] = 0;
	f->t0 = cli_now_ms();
	f->active = true;
	crypto_hash_sha256_init(&f->h);
	cli_note(c, "receiving '%s' (%" PRIu64 " bytes)", name, size);
	reply(sl, "ACK 0");
}

static void rx_data(struct cli_slot *sl, const char *buf, size_t n)
{
	struct cli_rx *f = &sl->f;
	const char *nl = memchr(buf, '\n', n < 16 ? n : 16);
	char *end;
	unsigned long seq = strtoul(buf + 5, &end, 10);
	size_t len, off = 0;

	if (!nl || end != nl || buf[5] < '0' || buf[5] > '9')
		return;
	if (!f->active) {
		reply(sl, "%s", f->verdict); /* we gave up or finished: say so again */
		return;
	}
	if (seq <= f->seq) {
		reply(sl, "ACK %lu", seq); /* a repeat: our ACK was lost */
		return;
	}
	if (seq != f->seq + 1ul)
		return;
	len = n - (size_t)(nl + 1 - buf);
	if (f->got + len > f->size)
		f->bad = true;
	while (!f->bad && off < len) {
		ssize_t w = write(f->fd, nl + 1 + off, len - off);
		if (w < 0) {
			char why[64];
			snprintf(why, sizeof(why), "error %s", strerror(errno));
			cli_rx_abort(f);
			rx_done(sl, why);
			return;
		}
		off += (size_t)w;
	}
	crypto_hash_sha256_update(&f->h, (const uint8_t *)nl + 1, len);
	f->got += len;
	f->seq = (uint32_t)seq;
	reply(sl, "ACK %lu", seq);
}

static void rx_end(struct cli *c, struct cli_slot *sl)
{
	struct cli_rx *f = &sl->f;
	uint8_t got[32];
	char hex[65];
	bool ok;

	if (!f->active) {
		reply(sl, "%s", f->verdict); /* a repeated END */
		return;
	}
	crypto_hash_sha256_final(&f->h, got);
	ok = !f->bad && f->got == f->size && !memcmp(got, f->want, sizeof(got));
	close(f->fd);
	f->active = false;
	if (ok && rename(f->tmp, f->path) < 0) {
		char why[64];
		snprintf(why, sizeof(why), "error %s", strerror(errno));
		ok = false;
		unlink(f->tmp);
		rx_done(sl, why);
	} else {
		if (!ok)
			unlink(f->tmp);
		rx_done(sl, ok ? "ok" : "bad-checksum");
	}
	rv_hex_encode(got, sizeof(got), hex);
	if (c->o.json) {
		cli_event_open(c, "file", &sl->info);
		cli_kv(&c->o, "name", CLI_STR, "%s", f->name);
		cli_kv(&c->o, "bytes", CLI_RAW, "%" PRIu64, f->got);
		cli_kv(&c->o, "transfer_ms", CLI_RAW, "%" PRIu64, cli_now_ms() - f->t0);
		cli_kv(&c->o, "sha256", CLI_STR, "%s", hex);
		cli_kv(&c->o, "verdict", CLI_STR, "%s", f->verdict + 5);
		cli_kv(&c->o, "path", CLI_STR, "%s", ok ? f->path : "");
		cli_close(&c->o, '}');
	} else {
		char loc[33];
		cli_hex_locator(sl->info.partner_locator, loc);
		printf("received %s from %.8s: %" PRIu64 " bytes in %" PRIu64 " ms, %s%s%s\n",
		       f->name, loc, f->got, cli_now_ms() - f->t0, f->verdict + 5, ok ? " -> " : "",
		       ok ? f->path : "");
		fflush(stdout);
	}
}

/* Everything queued on one connection. Returns -EPIPE once the partner
 * closed it, -ETIMEDOUT once it went silent, -ECONNABORTED once the server
 * ended its relay, else 0. */
int cli_serve(struct cli *c, struct cli_slot *sl, bool server)
{
	char buf[CLI_DGRAM_MAX + 1];
	int n;

	while ((n = rvp_recv(sl->k, buf, CLI_DGRAM_MAX, 0)) >= 0) {
		bool file = server && (sl->f.active || sl->f.verdict[0]);

		buf[n] = 0;
		if (server && n > 5 && !memcmp(buf, "FILE ", 5)) {
			rx_begin(c, sl, buf, (size_t)n);
		} else if (file && n > 5 && !memcmp(buf, "DATA ", 5)) {
			rx_data(sl, buf, (size_t)n);
		} else if (file && n == 3 && !memcmp(buf, "END", 3)) {
			rx_end(c, sl);
		} else {
			cli_print_message(c, &sl->info, buf, (size_t)n);
			if (server && c->echo)
				(void)rvp_send(sl->k, buf, (size_t)n);
		}
	}
	return n == -EPIPE || n == -ETIMEDOUT || n == -ECONNABORTED ? n : 0;
}

/* --- file transfer: the sending side (connect --send) ---------------------- */

/* Open and hash the file before anything goes on the network. */
int cli_tx_prepare(const struct cli *c, struct cli_tx *t)
{
	crypto_hash_sha256_state h;
	uint8_t buf[65536], sum[32];
	const char *base = strrchr(c->send, '/');
	struct stat st;
	ssize_t n;

	t->fd = open(c->send, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0 || fstat(t->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return cli_usage_error(c, "--send %s: %s", c->send,
		                       t->fd < 0 ? strerror(errno) : "not a regular file");
	snprintf(t->name, sizeof(t->name), "%s", base ? base + 1 : c->send);
	if (strlen(t->name) > 200)
		t->name[200] = 0;
	for (char *s = t->name; *s; s++)
		if (*s <= ' ' || *s == 0x7f || (s == t->name && *s == '.'))
			*s = '_';
	crypto_hash_sha256_init(&h);
	while ((n = read(t->fd, buf, sizeof(buf))) > 0)
		crypto_hash_sha256_update(&h, buf, (size_t)n);
	if (n < 0 || lseek(t->fd, 0, SEEK_SET) < 0)
		return cli_usage_error(c, "--send %s: %s", c->send, strerror(errno));
	crypto_hash_sha256_final(&h, sum);
	rv_hex_encode(sum, sizeof(sum), t->sha);
	t->size = (uint64_t)st.st_size;
	return 0;
}

/* Send msg until "ACK seq" (seq >= 0) or any "DONE ..." comes back.
 * Returns 0 for the ACK, 1 for a DONE (its verdict in done), or a
 * negative code. */
static int tx_exchange(struct rvp_conn *k, const void *msg, size_t len, long seq, char *done,
                       size_t cap)
{
	char buf[CLI_DGRAM_MAX + 1], ack[32];
	int n = snprintf(ack, sizeof(ack), "ACK %ld", seq);

	for (int t = 0; t < XFER_TRIES; t++) {
		uint64_t until = cli_now_ms() + XFER_RTO_MS, now;
		int rc = rvp_send(k, msg, len);

		if (rc < 0)
			return rc;
		while ((now = cli_now_ms()) < until) {
			int got = rvp_recv(k, buf, CLI_DGRAM_MAX, (int)(until - now));

			if (got == RVP_E_TIMEOUT)
				break;
			if (got < 0)
				return got;
			buf[got] = 0;
			if (got > 5 && !memcmp(buf, "DONE ", 5)) {
				snprintf(done, cap, "%s", buf + 5);
				return 1;
			}
			if (seq >= 0 && got == n && !memcmp(buf, ack, (size_t)n))
				return 0;
		}
	}
	return RVP_E_TIMEOUT;
}

int cli_tx_send(struct cli *c, struct rvp_conn *k, struct cli_tx *t)
{
	char msg[CLI_DGRAM_MAX], done[CLI_DGRAM_MAX] = "";
	uint64_t t0 = cli_now_ms(), sent = 0, ms;
	uint32_t seq = 0;
	bool checked;
	int n = snprintf(msg, sizeof(msg), "FILE %s %" PRIu64 " %s", t->name, t->size, t->sha);
	int rc = tx_exchange(k, msg, (size_t)n, 0, done, sizeof(done));

	while (rc == 0) {
		int hdr = snprintf(msg, sizeof(msg), "DATA %" PRIu32 "\n", seq + 1);
		ssize_t got = 0, r = 1;

		while (got < CHUNK && (r = read(t->fd, msg + hdr + got, (size_t)(CHUNK - got))) > 0)
			got += r;
		if (r < 0)
			return cli_failed(c, "read", -errno);
		if (got == 0)
			break;
		rc = tx_exchange(k, msg, (size_t)(hdr + got), ++seq, done, sizeof(done));
		sent += (uint64_t)got;
	}
	if (rc == 0)
		rc = tx_exchange(k, "END", 3, -1, done, sizeof(done));
	if (rc == -ECONNABORTED)
		return cli_conn_failed(c, k, "send", rc);
	if (rc < 0)
		return cli_failed(c, seq ? "send: no answer from the receiver" : "send FILE", rc);
	ms = cli_now_ms() - t0;
	cli_kv(&c->o, "file", CLI_STR | CLI_JSON, "%s", t->name);
	cli_kv(&c->o, "bytes", CLI_RAW | CLI_JSON, "%" PRIu64, sent);
	cli_kv(&c->o, "transfer_ms", CLI_RAW | CLI_JSON, "%" PRIu64, ms);
	cli_kv(&c->o, "bytes_per_s", CLI_RAW | CLI_JSON, "%" PRIu64, sent * 1000 / (ms ? ms : 1));
	cli_kv(&c->o, "sha256", CLI_STR | CLI_JSON, "%s", t->sha);
	cli_kv(&c->o, "verdict", CLI_STR | CLI_JSON, "%s", done);
	checked = !strcmp(done, "ok") || !strcmp(done, "bad-checksum");
	if (!c->o.json && checked)
		printf("sent %s: %" PRIu64 " bytes in %" PRIu64 " ms (%.1f KiB/s), checksum %s\n",
		       t->name, sent, ms, (double)sent * 1000.0 / 1024.0 / (double)(ms ? ms : 1),
		       done);
	if (strcmp(done, "ok"))
		fprintf(stderr, "rvpeer %s: %s: the receiver says %s\n", c->cmd, t->name, done);
	return strcmp(done, "ok") ? 1 : 0;
}

/* --- connect: the echo check and the chat --------------------------------- */

/* Send text (again each second) until it comes back or the timeout. */
int cli_echo_check(struct cli *c, struct rvp_conn *k, const char *text)
{
	size_t len = strlen(text);
	uint64_t end = cli_now_ms() + c->timeout_ms, next = 0, sent = 0, now;
	char buf[CLI_DGRAM_MAX + 1], safe[2 * CLI_DGRAM_MAX];

	cli_kv(&c->o, "sent", CLI_STR | CLI_JSON, "%s", text);
	while ((now = cli_now_ms()) < end) {
		int n, rc;

		if (now >= next) {
			if ((rc = rvp_send(k, text, len)) < 0)
				return cli_conn_failed(c, k, "send", rc);
			sent = now;
			next = now + 1000;
		}
		n = rvp_recv(k, buf, CLI_DGRAM_MAX, (int)((next < end ? next : end) - now));
		if (n == RVP_E_TIMEOUT)
			continue;
		if (n < 0)
			return cli_conn_failed(c, k, "receive", n);
		if ((size_t)n == len && !memcmp(buf, text, len)) {
			cli_kv(&c->o, "echo", CLI_STR | CLI_JSON, "%s", text);
			cli_kv(&c->o, "rtt_ms", CLI_RAW | CLI_JSON, "%" PRIu64,
			       cli_now_ms() - sent);
			if (!c->o.json)
				printf("echo: %s (%" PRIu64 " ms)\n",
				       cli_tty_safe(buf, len, safe, sizeof(safe)),
				       cli_now_ms() - sent);
			return 0;
		}
	}
	cli_kv(&c->o, "echo", CLI_RAW | CLI_JSON, "null");
	fprintf(stderr,
	        "rvpeer %s: no echo within %" PRIu32 " ms (is the partner running "
	        "'rvpeer listen --echo'?)\n",
	        c->cmd, c->timeout_ms);
	return 1;
}

/* Complete lines of buf[0..*have) go out as datagrams (all of it at EOF, and
 * a full buffer as it is). */
static int send_lines(struct rvp_conn *k, char *buf, size_t *have, size_t cap, bool eof)
{
	char *nl;
	int rc = 0;

	while (rc >= 0 && (nl = memchr(buf, '\n', *have))) {
		size_t len = (size_t)(nl - buf);
		rc = rvp_send(k, buf, len);
		memmove(buf, nl + 1, *have - len - 1);
		*have -= len + 1;
	}
	if (rc >= 0 && *have && (eof || *have == cap)) {
		rc = rvp_send(k, buf, *have);
		*have = 0;
	}
	return rc < 0 ? rc : 0;
}

/* stdin lines out, datagrams in: one poll over stdin and the library's fd,
 * no threads. After EOF it lingers a second for the last answers. */
int cli_chat(struct cli *c, struct rvp *p, struct cli_slot *sl)
{
	char line[CLI_DGRAM_MAX];
	size_t have = 0;
	uint64_t stop = UINT64_MAX;
	int rc = 0;

	cli_event_open(c, "connected", &sl->info);
	cli_print_connected(c, &sl->info);
	cli_close(&c->o, '}');
	cli_catch_signals();
	cli_note(c, "type lines to send them; Ctrl-D or Ctrl-C ends");
	while (!cli_quit && cli_now_ms() < stop) {
		struct pollfd pf[2] = { { .fd = stop == UINT64_MAX ? 0 : -1, .events = POLLIN },
			                { .fd = rvp_fd(p), .events = POLLIN } };
		uint64_t next = rvp_next_ms(p), now = cli_now_ms();
		uint64_t wait = next <= now ? 0 : next - now;

		if (stop - now < wait)
			wait = stop - now;
		(void)poll(pf, 2, (int)(wait < 1000 ? wait : 1000));
		if (pf[0].revents) {
			ssize_t n = read(0, line + have, sizeof(line) - have);

			if (n > 0)
				have += (size_t)n;
			else
				stop = cli_now_ms() + 1000;
			rc = send_lines(sl->k, line, &have, sizeof(line), n <= 0);
			if (rc < 0)
				return cli_conn_failed(c, sl->k, "send", rc);
		}
		(void)rvp_process(p, 0);
		rc = cli_serve(c, sl, false);
		if (rc == -ECONNABORTED)
			return cli_conn_failed(c, sl->k, "chat", rc);
		if (rc < 0) {
			cli_note(c, rc == -EPIPE ? "the partner closed the connection"
			                         : "the partner went silent: path closed");
			break;
		}
	}
	return 0;
}
