/* fuzz_peer.c — the peer's handling of server and partner messages: the
 * decoding libpeer does on receive (rv_msg_decode + integrity for the
 * server's INSTRUCTs, probe answers verified as rvp_conn.c does, ChannelData
 * and peer datagrams under the attempt key) feeding the pure punching state
 * machine (peer/peer_punch.c), whose actions are carried out as
 * rvp_conn.c's run() would (OPEN opens, up to PEER_SOCKS).
 *
 * Input: this peer's NAT (type, mapping, filtering, allocation), a seed,
 * then events until the input ends (op & 7; the high bits are the op's
 * options):
 *   0  a datagram from the server, raw (16-bit length, bytes)
 *   1  an INSTRUCT built from fields (role, strategy, step, addresses,
 *      ranges, Δ, TTL, count, deadline, relay grant, result), encoded and
 *      signed with the session key, then received like 0
 *   2  the server's answer to the last probe (its transaction ID, the
 *      probe echoed and MACed; seq, key or observed port may be off)
 *   3  a probe answer, raw
 *   4  a peer datagram from fields (socket, source, type, seq, attempt),
 *      MACed with the attempt key, in ChannelData when relayed
 *   5  a datagram on an attempt socket, raw
 *   6  time passes (16 bits of ms, 24 with the high bit)
 *   7  the caller reports sockets opened (any count)
 * Properties, after every event: each action is one of the kinds with
 * fields the caller can act on safely — a PROBE or DONE names a socket
 * that exists (rvp_conn.c indexes its fds with it unchecked), an OPEN or
 * SEND one the attempt can have (< PEER_SOCKS), a REPORT at most
 * RV_PORTS_MAX ports; the queue never overflows; and once the deadline has
 * passed a timer ends the attempt (done or failed): bounded time.
 */
#include "peer/peer_punch.h"
#include "proto/keys.h"
#include "proto/msg.h"
#include "proto/pdg.h"
#include "proto/relay.h"
#include "proto/rv_err.h"
#include "tests/fuzz/fuzz.h"

#define T0 1795000000000ull

static const uint8_t msg_key[32] = "fuzz-peer-session-message-key-32";
static const uint8_t probe_key[16] = "fuzz-probe-key-1";
static const uint8_t wrapped[16] = "fuzz-attempt-key"; /* RV-KEY as sent */
static const uint64_t ATTEMPT = 0xA77E000000000001ull;

static struct peer_punch P;
static struct {
	bool started;
	uint64_t now;
	uint16_t n_socks;
	uint8_t key[16], relay_key[16];
	/* The probe in flight (peer_attempt's probe_*). */
	uint8_t probe_txid[RV_STUN_TXID_LEN];
	uint16_t probe_sock;
	uint8_t probe_kind;
	uint16_t probe_seq;
	uint32_t txid_ctr;
} S;

static void check_act(const struct peer_act *a)
{
	FZ_CHECK(a->kind >= PEER_ACT_OPEN && a->kind <= PEER_ACT_FAIL);
	switch (a->kind) {
	case PEER_ACT_OPEN:
		FZ_CHECK(a->sock < PEER_SOCKS);
		break;
	case PEER_ACT_PROBE:
		FZ_CHECK(a->sock < S.n_socks);
		FZ_CHECK(a->probe_kind >= RV_PROBE_DELTA && a->probe_kind < RV_PROBE_KIND_COUNT);
		FZ_CHECK(a->srv <= 1);
		break;
	case PEER_ACT_SEND:
		FZ_CHECK(a->sock < PEER_SOCKS);
		FZ_CHECK(a->pdg_type >= RV_PDG_BUBBLE && a->pdg_type < RV_PDG_TYPE_COUNT);
		break;
	case PEER_ACT_REPORT:
		FZ_CHECK(P.n_ports <= RV_PORTS_MAX);
		break;
	case PEER_ACT_DONE:
		FZ_CHECK(a->sock < S.n_socks);
		FZ_CHECK(P.phase == PEER_PH_DONE);
		break;
	case PEER_ACT_FAIL:
		FZ_CHECK(a->result < RV_RES_COUNT);
		break;
	}
}

/* rvp_conn.c's run(): carry the actions out (OPEN opens what it can). */
static void run(uint8_t cap)
{
	static struct peer_act acts[PEER_ACTS];
	size_t n, take = cap % 64 + 1;

	FZ_CHECK(P.n_acts <= PEER_ACTS);
	while ((n = peer_punch_take(&P, acts, take)) > 0) {
		for (size_t i = 0; i < n; i++) {
			const struct peer_act *a = &acts[i];

			check_act(a);
			if (a->kind == PEER_ACT_OPEN) {
				while (S.n_socks <= a->sock && S.n_socks < PEER_SOCKS)
					S.n_socks++;
				peer_punch_opened(&P, S.n_socks, S.now);
			} else if (a->kind == PEER_ACT_PROBE) {
				S.probe_sock = a->sock;
				S.probe_kind = a->probe_kind;
				S.probe_seq = a->seq;
				memset(S.probe_txid, 0, sizeof(S.probe_txid));
				rv_put_u32(S.probe_txid, ++S.txid_ctr);
			}
		}
	}
	FZ_CHECK(P.phase <= PEER_PH_FAILED);
}

/* peer_on_instruct, for one attempt. */
static void on_instruct(const struct rv_msg *m, const struct rv_nat_info *own, uint64_t seed)
{
	struct peer_instruct in = peer_instruct_of(m);

	if (m->present & RV_BIT(RV_F_RESULT)) {
		S.started = false; /* the server ended the attempt */
		return;
	}
	if (!S.started) {
		if (m->role.step != 0 && !in.has_relay)
			return;
		memset(&S.key, 0, sizeof(S.key));
		rv_key_wrap(msg_key, m->attempt, m->key, S.key);
		if (in.has_relay)
			rv_relay_key(S.key, in.relay.relay, S.relay_key);
		S.n_socks = 1;
		S.started = true;
		peer_punch_start(&P, &in, own, seed, S.now);
		return;
	}
	if (in.step <= P.ins.step)
		return;
	if (in.has_relay)
		rv_relay_key(S.key, in.relay.relay, S.relay_key);
	peer_punch_instruct(&P, &in, S.now);
}

/* on_reg_packet: a server datagram. */
static void from_server(const uint8_t *buf, size_t len, bool trust, const struct rv_nat_info *own,
                        uint64_t seed)
{
	struct rv_msg m;
	struct rv_stun_msg s;

	if (rv_msg_decode(buf, len, &m, &s) < 0)
		return;
	if (m.cls != RV_STUN_REQUEST || m.method != RV_M_INSTRUCT)
		return;
	if (rv_stun_check_integrity_sha256(&s, msg_key, sizeof(msg_key)) < 0 && !trust)
		return;
	on_instruct(&m, own, seed);
}

/* peer_on_attempt_packet: ChannelData (relayed), a peer datagram, or a
 * probe's answer. */
static void on_attempt_packet(uint16_t sock, const uint8_t *buf, size_t len,
                              const struct rv_addr *from)
{
	struct rv_msg m;
	struct rv_pdg d;
	uint16_t ch, n;

	if (!S.started)
		return;
	if (P.ins.strategy == RV_STRAT_RELAY && rv_relay_is_chdata(buf, len) &&
	    rv_relay_parse(buf, len, &ch, &n) == 0 && ch == P.ins.relay.channel) {
		buf += RV_RELAY_HDR;
		len = n;
	}
	if (len && buf[0] == RV_PDG_MAGIC) {
		if (rv_pdg_decode(buf, len, S.key, &d) == 0 && d.attempt == ATTEMPT)
			peer_punch_datagram(&P, sock, from, d.type, d.seq, S.now);
		return;
	}
	if (rv_msg_decode(buf, len, &m, NULL) < 0 || m.method != RV_M_BINDING ||
	    m.cls != RV_STUN_SUCCESS || memcmp(m.txid, S.probe_txid, RV_STUN_TXID_LEN) ||
	    !rv_probe_verify(S.probe_kind == RV_PROBE_RELAY ? S.relay_key : probe_key, m.txid,
	                     &m.probe, &m.mapped))
		return;
	peer_punch_probe(&P, S.probe_sock, S.probe_kind, m.probe.seq, m.mapped.port, S.now);
}

static struct rv_addr fz_addr(struct fz *f)
{
	struct rv_addr a = rv_addr_v4(fz_u32(f), fz_u16(f));

	if (a.ip[0] & 1) /* some IPv6 too */
		a.family = RV_AF_INET6;
	return a;
}

static struct rv_port_range fz_range(struct fz *f)
{
	struct rv_port_range r = { fz_u16(f), fz_u16(f), (int16_t)fz_u16(f), fz_u16(f) };

	return r;
}

/* Op 1: an INSTRUCT as the server would send it. */
static void instruct(struct fz *f, uint8_t op, const struct rv_nat_info *own, uint64_t seed)
{
	static uint8_t wire[2048];
	struct rv_msg m;
	uint32_t which = fz_u32(f);
	int n;

	rv_msg_init(&m, RV_M_INSTRUCT, RV_STUN_REQUEST, (const uint8_t *)"fuzz-txid-12");
	m.attempt = ATTEMPT;
	m.role.role = fz_u8(f) % 3;
	m.role.strategy = fz_u8(f) % (RV_STRAT_COUNT + 1);
	m.role.step = fz_u8(f) & 7;
	m.present |= RV_BIT(RV_F_ATTEMPT) | RV_BIT(RV_F_ROLE) | RV_BIT(RV_F_KEY);
	memcpy(m.key, wrapped, 16);
	m.peer_addr = fz_addr(f);
	m.nat = (struct rv_nat_info){ .type = fz_u8(f) % RV_NAT_TYPE_COUNT,
		                      .alloc = fz_u8(f) % RV_ALLOC_COUNT,
		                      .delta = (int16_t)fz_u16(f) };
	m.target = fz_range(f);
	m.range = fz_range(f);
	m.delta = (int16_t)fz_u16(f);
	m.ttl = fz_u8(f);
	m.count = which & 0x10000 ? fz_u32(f) : fz_u16(f);
	m.deadline_ms = which & 0x20000 ? fz_u32(f) : fz_u16(f);
	m.n_ports = fz_u8(f) % (RV_PORTS_MAX + 1);
	for (unsigned i = 0; i < m.n_ports; i++)
		m.ports[i] = fz_u16(f);
	m.relay = (struct rv_relay_grant){ .relay = fz_u64(f),
		                           .channel =
		                                   (uint16_t)(RV_RELAY_CH_MIN + fz_u16(f) % 0x1000),
		                           .side = fz_u8(f) & 1,
		                           .quota_bytes = fz_u32(f),
		                           .lifetime_s = fz_u16(f),
		                           .rate_pps = fz_u16(f) };
	m.result.code = fz_u8(f) % RV_RES_COUNT;
	/* Which optional fields ride along: one bit each. */
	static const enum rv_field opt[] = { RV_F_PEER_ADDR, RV_F_NAT,   RV_F_TARGET, RV_F_RANGE,
		                             RV_F_DELTA,     RV_F_TTL,   RV_F_COUNT,  RV_F_DEADLINE,
		                             RV_F_PORTS,     RV_F_RELAY, RV_F_RESULT };
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if (which & (1u << i))
			m.present |= RV_BIT(opt[i]);
	n = rv_msg_encode(&m, wire, sizeof(wire), msg_key, sizeof(msg_key));
	if (n > 0)
		from_server(wire, (size_t)n, op & 0x80, own, seed);
}

/* Op 2: the server answers the probe in flight. */
static void probe_answer(struct fz *f, uint8_t op)
{
	uint8_t wire[256];
	struct rv_stun_enc e;
	struct rv_probe pr = { .session = 1, .kind = S.probe_kind, .seq = S.probe_seq };
	struct rv_addr seen = rv_addr_v4(0xcb007105u, fz_u16(f));
	uint16_t sock = S.probe_sock;
	int n;

	if (op & 0x80)
		pr.seq = fz_u16(f);
	if (op & 0x40)
		pr.kind = fz_u8(f);
	if (op & 0x20)
		sock = (uint16_t)(fz_u16(f) % (S.n_socks ? S.n_socks : 1));
	rv_stun_enc_init(&e, wire, sizeof(wire), RV_STUN_BINDING, RV_STUN_SUCCESS, S.probe_txid);
	rv_probe_answer(&e,
	                op & 0x10                        ? probe_key
	                : S.probe_kind == RV_PROBE_RELAY ? S.relay_key
	                                                 : probe_key,
	                &pr, &seen);
	rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	if (n > 0)
		on_attempt_packet(sock, wire, (size_t)n, &seen);
}

/* Op 4: a datagram from the partner. */
static void partner(struct fz *f, uint8_t op)
{
	uint8_t wire[RV_RELAY_HDR + RV_PDG_MAX];
	struct rv_pdg d = { .type = fz_u8(f) % (RV_PDG_TYPE_COUNT + 1),
		            .flags = fz_u8(f),
		            .attempt = op & 0x80 ? fz_u64(f) : ATTEMPT,
		            .seq = fz_u32(f) };
	uint16_t sock = (uint16_t)(fz_u16(f) % (S.n_socks ? S.n_socks : 1));
	struct rv_addr from = fz_addr(f);
	int n = rv_pdg_encode(&d, S.key, wire + RV_RELAY_HDR, sizeof(wire) - RV_RELAY_HDR);

	if (n < 0)
		return;
	if (op & 0x40) {
		rv_relay_put_hdr(wire, P.ins.relay.channel, (uint16_t)n);
		on_attempt_packet(sock, wire, RV_RELAY_HDR + (size_t)n, &from);
	} else {
		on_attempt_packet(sock, wire + RV_RELAY_HDR, (size_t)n, &from);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct rv_nat_info own = { .type = fz_u8(&f) % RV_NAT_TYPE_COUNT,
		                   .map = fz_u8(&f) % RV_MAP_COUNT,
		                   .filt = fz_u8(&f) % RV_FILT_COUNT,
		                   .alloc = fz_u8(&f) % RV_ALLOC_COUNT };
	uint64_t seed = fz_u64(&f);
	unsigned events = 0;

	memset(&S, 0, sizeof(S));
	memset(&P, 0, sizeof(P));
	S.now = T0;
	while (f.n && events++ < 256) {
		uint8_t op = fz_u8(&f);
		size_t len;
		const uint8_t *p;
		uint8_t *copy;

		switch (op & 7) {
		case 0:
		case 3:
		case 5:
			p = fz_chunk(&f, &len);
			copy = fz_dup(p, len);
			if ((op & 7) == 0) {
				from_server(copy, len, op & 0x80, &own, seed);
			} else {
				struct rv_addr from = rv_addr_v4(0xcb007105u, 3478);
				on_attempt_packet((uint16_t)(op >> 3) % (S.n_socks ? S.n_socks : 1),
				                  copy, len, &from);
			}
			free(copy);
			break;
		case 1:
			instruct(&f, op, &own, seed);
			break;
		case 2:
			if (S.started)
				probe_answer(&f, op);
			break;
		case 4:
			if (S.started)
				partner(&f, op);
			break;
		case 6:
			if (op & 0x80) {
				uint32_t hi = fz_u16(&f);
				S.now += hi << 8 | fz_u8(&f);
			} else {
				S.now += fz_u16(&f);
			}
			if (S.started && S.now >= peer_punch_next(&P)) {
				peer_punch_timer(&P, S.now);
				if (S.now >= P.deadline_ms)
					FZ_CHECK(P.phase == PEER_PH_DONE ||
					         P.phase == PEER_PH_FAILED);
			}
			break;
		default: {
			uint16_t n = fz_u16(&f) % (PEER_SOCKS + 1);
			if (S.started && n > S.n_socks) {
				S.n_socks = n;
				peer_punch_opened(&P, n, S.now);
			}
			break;
		}
		}
		if (S.started)
			run(op);
		(void)peer_phase_str(P.phase);
	}
	return 0;
}
