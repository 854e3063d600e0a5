/* natbox — the NAT lab's userspace NAT emulator: the socket loop around
 * nat_core (translation) and nat_l2 (Ethernet/ARP).
 *
 * Runs inside the NAT's network namespace, where the LAN and WAN interfaces
 * carry no kernel addresses: natbox owns both links through AF_PACKET
 * sockets, so the kernel never forwards, answers or sends port-unreachables
 * there. Every decision is logged as one JSON object per line (flushed per
 * line) for the lab's tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/ipfrag.h"
#include "proto/nat.h"
#include "nat_conf.h"
#include "nat_core.h"
#include "nat_l2.h"
#include "nat_pkt.h"

#define TICK_MS   20
#define BURST     64
#define FRAME_BUF 65536

static volatile sig_atomic_t quit_signal;

static void on_signal(int sig)
{
	quit_signal = sig;
}

static const char usage[] =
        "usage: natbox --lan-if IF --wan-if IF --lan-ip A.B.C.D/N --wan-ip A.B.C.D/N\n"
        "              --gateway A.B.C.D [options]\n"
        "\n"
        "A userspace NAT between two interfaces that carry no kernel addresses\n"
        "(AF_PACKET on both; run it inside the NAT's network namespace).\n"
        "\n"
        "  --config FILE         key = value lines (keys as below without '--',\n"
        "                        '-' or '_'); command-line flags win\n"
        "  --preset TYPE         none | full-cone | restricted | port-restricted |\n"
        "                        addr-symmetric | port-symmetric  (or FC R PR AS PS)\n"
        "                        default port-restricted; none = plain routing\n"
        "  --mapping M           EIM | ADM | APDM      (overrides the preset)\n"
        "  --filtering F         EIF | ADF | APDF      (overrides the preset)\n"
        "  --alloc A             preserving | sequential | random (default preserving)\n"
        "  --delta N             sequential step, may be negative (default 1)\n"
        "  --port-range LO-HI    external ports (default 1024-65535), wraps around\n"
        "  --port-start P        first sequential port (default LO, HI when delta<0)\n"
        "  --lambda L            background allocations per second (default 0)\n"
        "  --lifetime S          mapping idle timeout, seconds (default 60)\n"
        "  --refresh-inbound B   on|off: inbound traffic also refreshes (default off)\n"
        "  --hairpin B           on|off (default on)\n"
        "  --max-mappings N      mapping table size (default 4096)\n"
        "  --max-sessions N      filter permission table size (default 16384)\n"
        "  --seed N              random seed (default: from the kernel)\n"
        "  --mtu N               largest IP packet sent, 68-1984 (default: each\n"
        "                        interface's); larger datagrams leave as fragments\n"
        "  --frag-slots N        IPv4 reassembly trains per side: 0 (drop fragments)\n"
        "                        or a power of two 4-4096 (default 64)\n"
        "  --frag-max-size N     largest datagram reassembled (default 65000)\n"
        "  --frag-max-frags N    most fragments per datagram (default 64)\n"
        "  --frag-timeout S      seconds to complete a datagram (default 30)\n"
        "  --log FILE            JSON-lines event log (default: stdout)\n"
        "  --help                this text\n"
        "\n"
        "Exit status: 0 after SIGINT/SIGTERM, 2 for a bad configuration, 1 for a\n"
        "runtime failure.\n";

__attribute__((format(printf, 1, 2), noreturn)) static void die_conf(const char *fmt, ...)
{
	va_list ap;

	fputs("natbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see natbox --help)\n", stderr);
	exit(2);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("natbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	exit(1);
}

/* --- configuration --------------------------------------------------------- */

static void load_file(struct nat_conf *c, const char *path)
{
	char line[1024], err[256];
	FILE *f = fopen(path, "r");
	unsigned n = 0;

	if (!f)
		die_conf("--config: cannot open '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		n++;
		line[strcspn(line, "\n")] = '\0';
		if (nat_conf_line(c, line, err, sizeof(err)) < 0)
			die_conf("%s:%u: %s", path, n, err);
	}
	if (ferror(f))
		die_conf("--config: cannot read '%s'", path);
	fclose(f);
}

static void parse_args(struct nat_conf *c, int argc, char **argv)
{
	char key[64], err[256];

	/* The file first, whatever its position: flags override it. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				die_conf("--config: missing file name");
			load_file(c, argv[++i]);
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			load_file(c, argv[i] + 9);
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val, *eq;
		size_t n;
		int rc;

		if (strncmp(a, "--", 2) != 0)
			die_conf("unexpected argument '%s'", a);
		a += 2;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		if (n == 0 || n >= sizeof(key))
			die_conf("bad option '%s'", argv[i]);
		memcpy(key, a, n);
		key[n] = '\0';
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (eq) {
			val = eq + 1;
		} else {
			if (i + 1 >= argc)
				die_conf("--%s: missing value", a);
			val = argv[++i];
		}
		if (strcmp(key, "config") == 0)
			continue;
		rc = nat_conf_set(c, key, val, err, sizeof(err));
		if (rc == -ENOENT)
			die_conf("unknown option '--%.*s'", (int)n, a);
		/* The message starts with the key: name the flag instead. */
		if (rc < 0)
			die_conf("--%.*s%s", (int)n, a, err + strlen(key));
	}
	if (nat_conf_finish(c, err, sizeof(err)) < 0)
		die_conf("%s", err);
	if (!c->lan_if[0] || !c->wan_if[0])
		die_conf("--%s: required", !c->lan_if[0] ? "lan-if" : "wan-if");
	if (strcmp(c->lan_if, c->wan_if) == 0)
		die_conf("--lan-if and --wan-if: must differ");
}

/* --- log ----------------------------------------------------------------------- */

static FILE *logf_;

__attribute__((format(printf, 1, 2))) static void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logf_, fmt, ap);
	va_end(ap);
	fputc('\n', logf_);
	if (fflush(logf_) != 0 || ferror(logf_))
		die("writing the log");
}

static void log_events(const struct nat_sink *s)
{
	char buf[768];

	for (unsigned i = 0; i < s->n_ev; i++)
		if (nat_ev_json(&s->ev[i], buf, sizeof(buf)) > 0)
			log_line("%s", buf);
}

/* --- random and time ----------------------------------------------------------- */

static uint32_t rng_next(void *ctx)
{
	/* splitmix64: small, seedable, good enough for port draws. */
	uint64_t *s = ctx, z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- packet sockets ------------------------------------------------------------ */

static int open_link(const char *flag, const char *ifname, uint8_t mac[6], uint16_t *mtu)
{
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int one = 1, rcvbuf = 4 << 20;
	unsigned idx = if_nametoindex(ifname);
	int fd;

	if (!idx)
		die_conf("%s: no interface '%s' in this network namespace", flag, ifname);
	/* Protocol 0 until bound: no frames from other interfaces sneak in. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket(AF_PACKET) (needs CAP_NET_RAW)");
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind to '%s'", ifname);
	/* The checksum state of each frame (veth hands over partial ones). */
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0)
		die("PACKET_AUXDATA on '%s'", ifname);
	/* Our own transmissions are also filtered by pkttype below; this
	 * only saves the copies (Linux >= 4.20). */
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* Bursts (many-port probing) must not overflow the default buffer;
	 * FORCE passes rmem_max as root, plain SO_RCVBUF is the fallback. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		die("SO_RCVBUF on '%s'", ifname);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR on '%s'", ifname);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	/* The link's MTU unless --mtu said otherwise (above NAT_IP_MAX, the
	 * core's packets could not carry it: fragments stay within that). */
	if (!*mtu) {
		if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
			die("SIOCGIFMTU on '%s'", ifname);
		if (ifr.ifr_mtu < 68)
			die_conf("%s: '%s' has an MTU of %d", flag, ifname, ifr.ifr_mtu);
		*mtu = (uint16_t)(ifr.ifr_mtu < NAT_IP_MAX ? ifr.ifr_mtu : NAT_IP_MAX);
	}
	return fd;
}

struct box {
	struct nat_core *core;
	struct nat_l2 *l2;
	int fd[2];
	uint64_t t0;
	unsigned long send_errors;
	/* Room for a datagram's fragments, and their frames plus ARP. */
	struct nat_out pkts[RV_FRAG_MAX_OUT + 8], frames[RV_FRAG_MAX_OUT + 32];
	struct nat_ev core_ev[256], l2_ev[RV_FRAG_MAX_OUT + 16];
	struct nat_sink cs, ls;
};

static uint64_t now_ms(const struct box *b)
{
	return mono_ms() - b->t0;
}

/* Carry out what the pure parts produced: packets through L2, frames to
 * the wire, events to the log. */
static void flush(struct box *b, uint64_t now)
{
	for (unsigned i = 0; i < b->cs.n_out; i++) {
		struct nat_out *o = &b->cs.out[i];

		/* A failure is a logged drop event: nothing more to do. */
		(void)nat_l2_output(b->l2, (enum nat_side)o->side, o->next_hop, o->pkt, o->len, now,
		                    &b->ls);
	}
	/* The log first: whoever sees a packet can find its events. */
	log_events(&b->cs);
	log_events(&b->ls);
	if (b->cs.ev_lost || b->ls.ev_lost || b->cs.out_lost || b->ls.out_lost)
		log_line("{\"ms\":%" PRIu64 ",\"ev\":\"lost\",\"events\":%u,\"packets\":%u}", now,
		         b->cs.ev_lost + b->ls.ev_lost, b->cs.out_lost + b->ls.out_lost);
	for (unsigned i = 0; i < b->ls.n_out; i++) {
		struct nat_out *f = &b->ls.out[i];

		/* The first failure is logged; a dead link shows in ppoll. */
		if (send(b->fd[f->side], f->pkt, f->len, 0) < 0 && b->send_errors++ == 0)
			log_line("{\"ms\":%" PRIu64 ",\"ev\":\"send_error\",\"side\":\"%s\","
			         "\"error\":\"%s\"}",
			         now, nat_side_str((enum nat_side)f->side), strerror(errno));
	}
	nat_sink_reset(&b->cs);
	nat_sink_reset(&b->ls);
	b->cs.ev_lost = b->ls.ev_lost = b->cs.out_lost = b->ls.out_lost = 0;
}

/* Read up to BURST frames from one side. */
static void drain(struct box *b, enum nat_side side, uint8_t *buf)
{
	for (int n = 0; n < BURST; n++) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} ctl;
		struct sockaddr_ll from;
		struct iovec iov = { .iov_base = buf, .iov_len = FRAME_BUF };
		struct msghdr msg = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = &ctl,
			.msg_controllen = sizeof(ctl),
		};
		const struct tpacket_auxdata *aux = NULL;
		const uint8_t *ip;
		size_t iplen;
		ssize_t len = recvmsg(b->fd[side], &msg, MSG_DONTWAIT | MSG_TRUNC);
		uint64_t now;

		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENETDOWN)
				return;
			die("recvmsg on the %s side", nat_side_str(side));
		}
		if (from.sll_pkttype == PACKET_OUTGOING || (size_t)len > FRAME_BUF)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA)
				aux = (const struct tpacket_auxdata *)CMSG_DATA(c);
		if (aux && (aux->tp_status & TP_STATUS_VLAN_VALID))
			continue; /* the lab has no VLANs */
		now = now_ms(b);
		if (nat_l2_input(b->l2, side, buf, (size_t)len, now, &b->ls, &ip, &iplen) == 1) {
			/* A local sender left the transport checksum to the
			 * "hardware" (veth): complete it before translating. */
			if (aux && (aux->tp_status & TP_STATUS_CSUMNOTREADY))
				(void)nat_l4_csum_fill((uint8_t *)ip,
				                       iplen); /* non-UDP: untouched */
			/* Its packets and events are in the sink. */
			(void)nat_core_input(b->core, side, ip, iplen, now, &b->cs);
		}
		flush(b, now);
	}
}

static void run(struct box *b)
{
	static uint8_t buf[FRAME_BUF];
	struct pollfd pfd[2] = { { .fd = b->fd[0], .events = POLLIN },
		                 { .fd = b->fd[1], .events = POLLIN } };
	sigset_t open_mask;
	uint64_t last_tick = 0;

	sigemptyset(&open_mask);
	while (!quit_signal) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = TICK_MS * 1000000L };
		uint64_t now;
		int n = ppoll(pfd, 2, &ts, &open_mask);

		if (n < 0 && errno != EINTR)
			die("ppoll");
		if (n > 0) {
			for (int side = 0; side < 2; side++) {
				if (pfd[side].revents & (POLLERR | POLLHUP | POLLNVAL))
					die("the %s link failed",
					    nat_side_str((enum nat_side)side));
				if (pfd[side].revents & POLLIN)
					drain(b, (enum nat_side)side, buf);
			}
		}
		now = now_ms(b);
		if (now - last_tick >= TICK_MS) {
			last_tick = now;
			nat_core_tick(b->core, now, &b->cs);
			nat_l2_tick(b->l2, now, &b->ls);
			flush(b, now);
		}
	}
}

static void fmt_mac(const uint8_t m[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int main(int argc, char **argv)
{
	static struct box b;
	struct nat_conf conf;
	struct sigaction sa;
	sigset_t block;
	uint8_t mac[2][6];
	char cj[1024], lm[24], wm[24];
	static uint64_t seed_state;

	nat_conf_defaults(&conf);
	parse_args(&conf, argc, argv);
	if (!conf.seed_set) {
		if (getrandom(&conf.seed, sizeof(conf.seed), 0) != sizeof(conf.seed))
			die("getrandom");
	}
	seed_state = conf.seed;

	/* Signals stay blocked except inside ppoll: no lost wake-up. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);

	b.fd[NAT_SIDE_LAN] = open_link("--lan-if", conf.lan_if, mac[NAT_SIDE_LAN], &conf.lan_mtu);
	b.fd[NAT_SIDE_WAN] = open_link("--wan-if", conf.wan_if, mac[NAT_SIDE_WAN], &conf.wan_mtu);
	logf_ = stdout;
	if (conf.log_path[0]) {
		logf_ = fopen(conf.log_path, "we");
		if (!logf_)
			die("cannot open the log '%s'", conf.log_path);
	}
	b.t0 = mono_ms();
	b.core = nat_core_new(&conf, (struct nat_rng){ rng_next, &seed_state }, 0);
	if (!b.core)
		die("creating the NAT core");
	b.l2 = nat_l2_new(mac[NAT_SIDE_LAN], conf.lan_ip, mac[NAT_SIDE_WAN], conf.wan_ip);
	if (!b.l2)
		die("creating the ARP layer");
	b.cs = nat_sink_make(b.pkts, sizeof(b.pkts) / sizeof(b.pkts[0]), b.core_ev, 256);
	b.ls = nat_sink_make(b.frames, sizeof(b.frames) / sizeof(b.frames[0]), b.l2_ev,
	                     sizeof(b.l2_ev) / sizeof(b.l2_ev[0]));

	if (nat_conf_json(&conf, cj, sizeof(cj)) < 0) {
		errno = ENOSPC;
		die("formatting the configuration");
	}
	fmt_mac(mac[NAT_SIDE_LAN], lm, sizeof(lm));
	fmt_mac(mac[NAT_SIDE_WAN], wm, sizeof(wm));
	log_line("{\"ms\":0,\"ev\":\"config\",%s,\"lan_if\":\"%s\",\"wan_if\":\"%s\","
	         "\"lan_mac\":\"%s\",\"wan_mac\":\"%s\",\"pid\":%ld}",
	         cj, conf.lan_if, conf.wan_if, lm, wm, (long)getpid());

	nat_l2_announce(b.l2, &b.ls);
	flush(&b, 0);
	log_line("{\"ms\":%" PRIu64 ",\"ev\":\"ready\"}", now_ms(&b));

	run(&b);

	log_line("{\"ms\":%" PRIu64 ",\"ev\":\"exit\",\"signal\":\"%s\",\"mappings\":%u}",
	         now_ms(&b), strsignal(quit_signal), nat_core_mappings(b.core));
	nat_core_free(b.core);
	nat_l2_free(b.l2);
	close(b.fd[0]);
	close(b.fd[1]);
	if (logf_ != stdout && fclose(logf_) != 0)
		die("closing the log");
	return 0;
}
