/* fillstore — an rvcontrol registry of a chosen size, and the clocks to
 * time a restart against it (tests/control/restart-scale.sh).
 *
 *   fillstore fill [options] DB N     N registrations (+ groups, devices)
 *   fillstore profile DB              time what rvcontrol does with the
 *                                     registry before its first answer
 *   fillstore start [options] ADDR -- CMD [ARGS]
 *                                     run CMD (the daemon) and time exec ->
 *                                     its first answer to a STUN Binding
 *
 * Rows go in through ctl_store's own API (reg_put, group_create/join,
 * device_import), so they are byte for byte what the daemon writes, in
 * batches of --batch operations (one fsync each) with a checkpoint after
 * each so the WAL stays small, as the daemon's idle checkpoints keep it.
 * Field values come from a seeded generator: distinct random locators,
 * sessions and keys (uniform, as the daemon's keyed hashes and
 * randombytes are, so the B-trees split as they do in service), public
 * IPv4/IPv6 addresses, private host addresses, a mix of NAT types,
 * allocation behaviours and apps. Exit 0 ok, 1 failed, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_core.h"
#include "control/ctl_store.h"
#include "proto/dpctl.h"
#include "proto/nat.h"

static const char usage_text[] =
        "usage: fillstore fill [options] DB N\n"
        "       fillstore profile DB\n"
        "       fillstore start [--timeout MS] [--log FILE] ADDR -- CMD [ARGS]\n"
        "\n"
        "fill: create or open the rvcontrol database DB and add N registrations\n"
        "through ctl_store's API, as the daemon writes them.\n"
        "  --expired PCT     share of registrations already expired (default 5)\n"
        "  --expiry S        the daemon's --expiry: live rows expire within S (3600)\n"
        "  --groups M        M groups (default 0) ...\n"
        "  --members K       ... of K members each, drawn from the registrations (16)\n"
        "  --group-max G     each group's member cap, as the daemon's --group-max (256)\n"
        "  --no-devices      do not import N makers' devices beside them\n"
        "  --batch B         operations per transaction (default 10000)\n"
        "  --seed S          the generator's seed (default 1): same seed, same rows\n"
        "  --json            one JSON object on stdout\n"
        "\n"
        "profile: on DB (which it changes: expired rows are swept, so use a\n"
        "copy) time each step rvcontrol takes before it answers: open (WAL\n"
        "recovery, schema check), the registration and device counts it logs,\n"
        "the first tick's sweep of expired registrations and nonces, and the\n"
        "push of every live session to rvdp (ctl_resync; into a socket pair).\n"
        "Prints JSON.\n"
        "\n"
        "start: run CMD with stdout and stderr appended to FILE (default\n"
        "/dev/null), send a STUN Binding request to ADDR (IPv4:port) every\n"
        "millisecond, print 'pid=PID ready_ms=MS' at the first answer (MS from\n"
        "fork to answer), then wait for CMD to end: exit 0 when it exited 0,\n"
        "128 + signal when killed, 1 otherwise. Exit 1 (CMD killed) when it exits\n"
        "or stays silent for --timeout MS (default 60000) before answering.\n";

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* splitmix64: fast, seedable, good enough to look like keyed hashes. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rnd_bytes(uint64_t *s, uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = rnd(s);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

static struct rv_addr addr_v6(uint64_t *s, uint16_t port)
{
	struct rv_addr a = { .family = RV_AF_INET6, .port = port };

	a.ip[0] = 0x20;
	a.ip[1] = 0x01;
	a.ip[2] = 0x0d;
	a.ip[3] = 0xb8; /* 2001:db8::/32 */
	rnd_bytes(s, a.ip + 4, 12);
	return a;
}

/* NAT types in roughly the shares field surveys report: mostly cones and
 * port-restricted, a fifth symmetric, some public hosts. */
static void fill_nat(uint64_t *s, struct ctl_reg *r)
{
	static const struct {
		uint8_t type, map, filt, share; /* share in % */
	} mix[] = {
		{ RV_NAT_NONE, RV_MAP_EI, RV_FILT_EI, 8 },
		{ RV_NAT_FULL_CONE, RV_MAP_EI, RV_FILT_EI, 10 },
		{ RV_NAT_RESTRICTED, RV_MAP_EI, RV_FILT_AD, 12 },
		{ RV_NAT_PORT_RESTRICTED, RV_MAP_EI, RV_FILT_APD, 45 },
		{ RV_NAT_ADDR_SYMMETRIC, RV_MAP_AD, RV_FILT_APD, 5 },
		{ RV_NAT_PORT_SYMMETRIC, RV_MAP_APD, RV_FILT_APD, 18 },
		{ RV_NAT_UNKNOWN, RV_MAP_UNKNOWN, RV_FILT_UNKNOWN, 2 },
	};
	unsigned pick = (unsigned)(rnd(s) % 100), i = 0;
	uint64_t v = rnd(s);

	while (i + 1 < sizeof(mix) / sizeof(mix[0]) && pick >= mix[i].share)
		pick -= mix[i++].share;
	r->nat.type = mix[i].type;
	r->nat.map = mix[i].map;
	r->nat.filt = mix[i].filt;
	r->nat.alloc = (uint8_t)(RV_ALLOC_PRESERVING + v % 3);
	if (r->nat.alloc == RV_ALLOC_SEQUENTIAL)
		r->nat.delta = (int16_t)((v >> 8) % 2 ? 1 + (int)((v >> 16) % 4) : -1);
	r->nat.hops = (uint8_t)(1 + (v >> 24) % 4);
	r->nat.lifetime_s = (uint16_t)(30 + (v >> 32) % 270);
	r->nat.bg_rate_x10 = (uint16_t)((v >> 48) % 50);
}

struct fill_opts {
	double expired_pct;
	uint32_t expiry_s;
	uint32_t groups, members, group_max;
	bool devices;
	uint32_t batch;
	uint64_t seed;
	bool json;
};

/* Registration i: what a REGISTER from a terminal leaves in the store. */
static void make_reg(uint64_t *s, unsigned i, const struct fill_opts *o, uint64_t now,
                     struct ctl_reg *r)
{
	static const char *const apps[] = { "chat",       "chat",       "chat",
		                            "cam-viewer", "game-arena", "files" };
	uint64_t expiry = (uint64_t)o->expiry_s * 1000, v = rnd(s);
	bool expired = (double)(rnd(s) % 1000000) < o->expired_pct * 10000.0;
	uint16_t port = (uint16_t)(1024 + v % 64512);

	memset(r, 0, sizeof(*r));
	rnd_bytes(s, r->locator, sizeof(r->locator));
	do
		r->session = rnd(s);
	while (!r->session);
	rnd_bytes(s, r->probe_key, sizeof(r->probe_key));
	rnd_bytes(s, r->msg_key, sizeof(r->msg_key));
	/* One in ten reaches us over IPv6. */
	if ((v >> 16) % 10 == 0)
		r->addr = addr_v6(s, port);
	else
		r->addr = rv_addr_v4(0x0b000000u + (uint32_t)(rnd(s) % 0xb0000000u), port);
	r->local = rv_addr_v4(0xc6336401u, 3478); /* 198.51.100.1: our public side */
	r->n_host_addrs = (uint8_t)(1 + (v >> 24) % 3);
	for (unsigned k = 0; k < r->n_host_addrs; k++) {
		uint64_t h = rnd(s);
		if (k == 2)
			r->host_addrs[k] = addr_v6(s, (uint16_t)(1024 + h % 64512));
		else if (h % 2)
			r->host_addrs[k] = rv_addr_v4(0x0a000000u | (uint32_t)(h >> 8) % 0x1000000u,
			                              (uint16_t)(1024 + (h >> 40) % 64512));
		else
			r->host_addrs[k] = rv_addr_v4(0xc0a80000u | (uint32_t)(h >> 8) % 0x10000u,
			                              (uint16_t)(1024 + (h >> 40) % 64512));
	}
	fill_nat(s, r);
	if (r->nat.type == RV_NAT_NONE) {
		/* What the daemon's cross-check makes of a public host. */
		r->host_addrs[0] = r->addr;
		r->nat.flags |= RV_NAT_FLAG_PUBLIC;
	}
	snprintf(r->app_id, sizeof(r->app_id), "%s", apps[(v >> 32) % 6]);
	if ((v >> 40) % 10 < 3)
		r->community.flags = RV_COMM_SEEKING;
	r->community.n = (uint8_t)((v >> 44) % 4);
	for (unsigned k = 0; k < r->community.n; k++) {
		r->community.attrs[k].key = (uint16_t)(1 + k);
		r->community.attrs[k].value = (int32_t)(rnd(s) % 100);
	}
	snprintf(r->nickname, sizeof(r->nickname), "user%07u", i);
	if (expired) {
		r->expires_ms = now - 1 - rnd(s) % expiry;
		r->refreshed_ms = r->expires_ms - expiry;
	} else {
		/* Refreshed some time within the last half expiry. */
		r->refreshed_ms = now - rnd(s) % (expiry / 2 + 1);
		r->expires_ms = r->refreshed_ms + expiry;
	}
	r->registered_ms = r->refreshed_ms - rnd(s) % 86400000u;
	r->client_time_ms = r->refreshed_ms - rnd(s) % 50;
	r->ticket_expires_s = (uint32_t)(now / 1000 + 60 + rnd(s) % 86400);
}

/* Makers' devices wait here and go in DEV_CHUNK at a time: one import
 * (a savepoint of the batch) per chunk, not per device. */
#define DEV_CHUNK 4096
static struct ctl_device dev_buf[DEV_CHUNK];
static size_t n_devs;

static int flush_devices(struct ctl_store *st)
{
	int rc = n_devs ? ctl_store_device_import(st, dev_buf, n_devs) : 0;

	n_devs = 0;
	return rc;
}

/* Commit the batch and start the next; a checkpoint between keeps the WAL
 * small, as the daemon's idle checkpoints do. */
static int next_batch(struct ctl_store *st, bool again)
{
	int rc = flush_devices(st);

	if (rc == 0)
		rc = ctl_store_commit(st);

	if (rc == 0)
		rc = ctl_store_checkpoint(st);
	if (rc == 0 && again)
		rc = ctl_store_begin(st);
	return rc;
}

static int fail_store(struct ctl_store *st, const char *what, int rc)
{
	fprintf(stderr, "fillstore: %s: %s (%s)\n", what, ctl_store_error(st), strerror(-rc));
	return 1;
}

static int fill(const char *db, unsigned n, const struct fill_opts *o)
{
	struct ctl_store *st;
	uint8_t(*locs)[RV_LOCATOR_LEN] = NULL;
	uint64_t s = o->seed, now = wall_ms();
	unsigned expired = 0, in_batch = 0, collisions = 0;
	uint64_t memberships = 0;
	char err[512];
	double t0 = mono_ms(), t_regs, t_groups;
	int rc;

	st = ctl_store_open(db, false, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "fillstore: %s\n", err);
		return 1;
	}
	if (o->groups && !(locs = calloc(n, sizeof(*locs)))) {
		fprintf(stderr, "fillstore: out of memory\n");
		ctl_store_close(st);
		return 1;
	}
	rc = ctl_store_begin(st);
	if (rc < 0)
		goto store_err;
	for (unsigned i = 0; i < n; i++) {
		struct ctl_reg r;

		make_reg(&s, i, o, now, &r);
		expired += r.expires_ms <= now;
		/* A session another locator holds: a new one, as the daemon does. */
		while ((rc = ctl_store_reg_put(st, &r)) == -EEXIST) {
			r.session = rnd(&s) | 1;
			collisions++;
		}
		if (rc < 0)
			goto store_err;
		if (locs)
			memcpy(locs[i], r.locator, RV_LOCATOR_LEN);
		if (o->devices) {
			struct ctl_device *d = &dev_buf[n_devs++];

			memset(d, 0, sizeof(*d));
			d->id_len = (uint8_t)snprintf((char *)d->id, sizeof(d->id), "fill-%u-%07u",
			                              (unsigned)o->seed, i);
			rnd_bytes(&s, d->pubkey, sizeof(d->pubkey));
			d->added_s = now / 1000 - 86400;
			if (n_devs == DEV_CHUNK && (rc = flush_devices(st)) < 0)
				goto store_err;
		}
		if (++in_batch >= o->batch) {
			in_batch = 0;
			rc = next_batch(st, true);
			if (rc < 0)
				goto store_err;
		}
	}
	t_regs = mono_ms();
	for (unsigned g = 0; g < o->groups; g++) {
		char name[RV_GROUP_ID_MAX + 1];

		snprintf(name, sizeof(name), "fill-%u-g%07u", (unsigned)o->seed, g);
		for (unsigned k = 0; k < o->members; k++) {
			const uint8_t *loc = locs[((uint64_t)g * o->members + k) % n];

			rc = k == 0 ? ctl_store_group_create(st, name, loc, o->group_max,
			                                     now / 1000)
			            : ctl_store_group_join(st, name, loc);
			if (rc < 0 && !(rc == -EEXIST && k == 0))
				goto store_err;
			memberships++;
			if (++in_batch >= o->batch) {
				in_batch = 0;
				rc = next_batch(st, true);
				if (rc < 0)
					goto store_err;
			}
		}
	}
	rc = next_batch(st, false);
	if (rc < 0)
		goto store_err;
	t_groups = mono_ms();
	if (o->json)
		printf("{\"db\": \"%s\", \"registrations\": %u, \"expired\": %u, \"groups\": %u, "
		       "\"memberships\": %" PRIu64 ", \"devices\": %u, \"total\": %" PRId64
		       ", \"session_collisions\": %u, \"fill_ms\": %.0f, \"groups_ms\": %.0f}\n",
		       db, n, expired, o->groups, memberships, o->devices ? n : 0,
		       ctl_store_reg_count(st), collisions, t_regs - t0, t_groups - t_regs);
	else
		printf("fillstore: %s: +%u registrations (%u expired), %u groups, %" PRIu64
		       " memberships, %u devices in %.1f s; %" PRId64 " registrations in all\n",
		       db, n, expired, o->groups, memberships, o->devices ? n : 0,
		       (t_groups - t0) / 1e3, ctl_store_reg_count(st));
	ctl_store_close(st);
	free(locs);
	return 0;
store_err:
	fail_store(st, "filling", rc);
	fprintf(stderr, "fillstore: the current batch is rolled back; earlier ones are in %s\n",
	        db);
	ctl_store_close(st);
	free(locs);
	return 1;
}

static void count_swept(void *ctx, const struct ctl_reg *r)
{
	(void)r;
	(*(uint64_t *)ctx)++;
}

/* The resync's messages go to a socket as ctl_server's dp_write sends
 * them (rvdp's side, applying them, is not timed). */
struct dp_pipe {
	int fd;
	uint64_t sent, failed;
	uint8_t buf[RV_DPC_MAX_MSG];
};

static void dp_send(void *ctx, const struct rv_dpc *m)
{
	struct dp_pipe *p = ctx;
	int n = rv_dpc_encode(m, p->buf, sizeof(p->buf));

	if (n < 0 || send(p->fd, p->buf, (size_t)n, MSG_NOSIGNAL) < 0)
		p->failed++;
	else
		p->sent++;
}

static void no_send(void *ctx, const struct ctl_from *to, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)to, (void)buf, (void)len;
}

/* ctl_resync into a SEQPACKET pair drained by a child, as rvdp drains
 * rvcontrol's socket. Returns the sessions pushed or negative. */
static int time_resync(struct ctl_store *st, struct dp_pipe *p)
{
	static struct ctl c;
	const struct ctl_sink sink = { no_send, dp_send, p };
	int sv[2], rc, status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		char b[RV_DPC_MAX_MSG];

		close(sv[0]);
		while (recv(sv[1], b, sizeof(b), 0) > 0)
			;
		_exit(0);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -errno;
	}
	memset(&c, 0, sizeof(c));
	ctl_conf_defaults(&c.conf);
	c.st = st;
	p->fd = sv[0];
	rc = ctl_resync(&c, wall_ms(), &sink);
	close(sv[0]);
	(void)waitpid(pid, &status, 0);
	return rc;
}

/* The steps of rvcontrol's start that touch the registry, in order:
 * main.c opens the store and logs the counts, ctl_server_run binds the
 * socket, and its first loop turn runs ctl_tick (sweeps) inside the batch
 * that carries the first answers. With rvdp, its HELLO then makes it push
 * every live session (ctl_resync) before the next turn. */
static int profile(const char *db)
{
	static struct dp_pipe pipe;
	struct ctl_store *st;
	char err[512];
	uint64_t swept_cb = 0;
	int64_t regs, devs, swept, nonces;
	double t0 = mono_ms(), t_open, t_regs, t_devs, t_sweep, t_resync;
	int rc, pushed;

	st = ctl_store_open(db, false, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "fillstore: %s\n", err);
		return 1;
	}
	t_open = mono_ms();
	regs = ctl_store_reg_count(st);
	t_regs = mono_ms();
	devs = ctl_store_device_count(st);
	t_devs = mono_ms();
	rc = ctl_store_begin(st);
	if (rc < 0)
		return fail_store(st, "begin", rc);
	swept = ctl_store_reg_sweep(st, wall_ms(), CTL_SWEEP_MAX, count_swept, &swept_cb);
	nonces = ctl_store_nonce_sweep(st, wall_ms() / 1000, CTL_SWEEP_MAX);
	rc = ctl_store_commit(st);
	t_sweep = mono_ms();
	if (regs < 0 || devs < 0 || swept < 0 || nonces < 0 || rc < 0)
		return fail_store(st, "profile", rc < 0 ? rc : -EIO);
	pushed = time_resync(st, &pipe);
	t_resync = mono_ms();
	if (pushed < 0 || pipe.failed)
		return fail_store(st, "resync", pushed < 0 ? pushed : -EIO);
	printf("{\"registrations\": %" PRId64 ", \"devices\": %" PRId64 ", \"swept\": %" PRId64
	       ", \"open_ms\": %.2f, \"reg_count_ms\": %.2f, \"device_count_ms\": %.2f, "
	       "\"first_sweep_ms\": %.2f, \"resync_sessions\": %d, \"resync_ms\": %.2f}\n",
	       regs, devs, swept, t_open - t0, t_regs - t_open, t_devs - t_regs, t_sweep - t_devs,
	       pushed, t_resync - t_sweep);
	ctl_store_close(st);
	return 0;
}

/* A STUN Binding request (RFC 8489 §5): no attributes; txid = tag + seq. */
static void binding_request(uint8_t out[20], uint32_t tag, uint32_t seq)
{
	uint32_t w[5] = { htonl(0x00010000u), htonl(0x2112a442u), htonl(tag), htonl(seq),
		          htonl(0x72766673u) };

	memcpy(out, w, sizeof(w));
}

/* Stay CMD's parent until it ends, so it never lingers as a zombie for
 * whoever adopts orphans: exit 0 when it exited 0, 128 + signal when
 * killed (as a shell reports it), 1 otherwise. */
static int reap(pid_t pid)
{
	int status;

	fflush(stdout);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int start(int argc, char **argv)
{
	static const struct option lopts[] = { { "timeout", required_argument, NULL, 't' },
		                               { "log", required_argument, NULL, 'l' },
		                               { "help", no_argument, NULL, 'h' },
		                               { NULL, 0, NULL, 0 } };
	const char *log = "/dev/null";
	unsigned long timeout_ms = 60000;
	struct rv_addr to;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint32_t tag = (uint32_t)getpid() ^ (uint32_t)wall_ms(), seq = 0;
	double t0, now;
	pid_t pid;
	int fd, c, status, cmd;

	while ((c = getopt_long(argc, argv, "+", lopts, NULL)) != -1) {
		if (c == 't')
			timeout_ms = strtoul(optarg, NULL, 10);
		else if (c == 'l')
			log = optarg;
		else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else
			return 2;
	}
	cmd = optind + 1;
	if (cmd < argc && !strcmp(argv[cmd], "--"))
		cmd++;
	if (cmd >= argc || rv_addr_parse(argv[optind], 0, &to) < 0 || to.family != RV_AF_INET ||
	    !to.port) {
		fprintf(stderr, "fillstore: start needs ADDR (IPv4:port) -- CMD\n");
		return 2;
	}
	sa.sin_port = htons(to.port);
	memcpy(&sa.sin_addr, to.ip, 4);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("fillstore: socket");
		return 1;
	}
	t0 = mono_ms();
	pid = fork();
	if (pid < 0) {
		perror("fillstore: fork");
		return 1;
	}
	if (pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execvp(argv[cmd], argv + cmd);
		_exit(127);
	}
	for (;;) {
		uint8_t req[20], ans[512];
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t len;

		binding_request(req, tag, ++seq);
		(void)send(fd, req, sizeof(req), 0); /* ECONNREFUSED until it binds */
		if (poll(&p, 1, 1) > 0) {
			while ((len = recv(fd, ans, sizeof(ans), 0)) >= 0) {
				uint32_t w[3];

				if (len < 20)
					continue;
				memcpy(w, ans, sizeof(w));
				/* A success answer to one of ours (any seq). */
				if (ntohl(w[0]) >> 16 == 0x0101 && ntohl(w[2]) == tag) {
					now = mono_ms();
					printf("pid=%d ready_ms=%.1f\n", (int)pid, now - t0);
					return reap(pid);
				}
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "fillstore: %s exited (%s %d) before answering (log: %s)\n",
			        argv[cmd], WIFEXITED(status) ? "status" : "signal",
			        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
			return 1;
		}
		if (mono_ms() - t0 > (double)timeout_ms) {
			fprintf(stderr, "fillstore: no answer within %lu ms (log: %s)\n",
			        timeout_ms, log);
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return 1;
		}
	}
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int cmd_fill(int argc, char **argv)
{
	static const struct option lopts[] = { { "expired", required_argument, NULL, 'e' },
		                               { "expiry", required_argument, NULL, 'x' },
		                               { "groups", required_argument, NULL, 'g' },
		                               { "members", required_argument, NULL, 'm' },
		                               { "group-max", required_argument, NULL, 'G' },
		                               { "no-devices", no_argument, NULL, 'D' },
		                               { "batch", required_argument, NULL, 'b' },
		                               { "seed", required_argument, NULL, 's' },
		                               { "json", no_argument, NULL, 'j' },
		                               { "help", no_argument, NULL, 'h' },
		                               { NULL, 0, NULL, 0 } };
	struct fill_opts o = { .expired_pct = 5,
		               .expiry_s = 3600,
		               .members = 16,
		               .group_max = 256,
		               .devices = true,
		               .batch = 10000,
		               .seed = 1 };
	uint32_t n, seed;
	char *end;
	int c, li = 0;
	bool ok = true;

	while ((c = getopt_long(argc, argv, "", lopts, &li)) != -1) {
		switch (c) {
		case 'e':
			o.expired_pct = strtod(optarg, &end);
			ok &= *end == 0 && end != optarg && o.expired_pct >= 0 &&
			      o.expired_pct <= 100;
			break;
		case 'x':
			ok &= parse_u32(optarg, 5, 86400, &o.expiry_s);
			break;
		case 'g':
			ok &= parse_u32(optarg, 0, 100000000, &o.groups);
			break;
		case 'm':
			ok &= parse_u32(optarg, 1, 1000000, &o.members);
			break;
		case 'G':
			ok &= parse_u32(optarg, 0, 1000000, &o.group_max);
			break;
		case 'D':
			o.devices = false;
			break;
		case 'b':
			ok &= parse_u32(optarg, 1, 10000000, &o.batch);
			break;
		case 's':
			ok &= parse_u32(optarg, 0, UINT32_MAX, &seed);
			o.seed = seed;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "fillstore: bad value '%s' for --%s\n", optarg,
			        lopts[li].name);
			return 2;
		}
	}
	if (argc - optind != 2 || !parse_u32(argv[optind + 1], 1, 100000000, &n)) {
		fprintf(stderr, "fillstore: usage: fill [options] DB N (N from 1 to 10^8; "
		                "fillstore --help)\n");
		return 2;
	}
	if (o.groups && o.group_max && o.members > o.group_max) {
		fprintf(stderr, "fillstore: --members %u exceeds --group-max %u\n", o.members,
		        o.group_max);
		return 2;
	}
	if (o.groups && o.members > n) {
		fprintf(stderr, "fillstore: --members %u exceeds N (%u registrations)\n", o.members,
		        n);
		return 2;
	}
	return fill(argv[optind], n, &o);
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "fill"))
		return cmd_fill(argc - 1, argv + 1);
	if (!strcmp(argv[1], "start"))
		return start(argc - 1, argv + 1);
	if (!strcmp(argv[1], "profile")) {
		if (argc == 3 && strcmp(argv[2], "--help") != 0)
			return profile(argv[2]);
		fputs(usage_text, argc == 3 ? stdout : stderr);
		return argc == 3 ? 0 : 2;
	}
	fprintf(stderr, "fillstore: unknown command '%s' (fillstore --help)\n", argv[1]);
	return 2;
}
