/* fuzz_dp.c — rvdp's packet handler below the mbuf boundary
 * (dpdk-app/dp_pkt.c, with dp_frag.c, dp_rl.c and the real RCU tables of
 * dp_table.c and dp_relay.c), driven as the lcore drives it, without EAL.
 *
 * Setup (once): the sessions and relays of tests/dp/gen_pcap.py's IDs, one
 * probe key for every session (KEY_S) and one relay key (KEY_R), relay
 * sides bound to fixed endpoints (the table is not changed per input, so
 * runs stay reproducible; binds are verified, not applied).
 *
 * Input: a context byte (bit 0 reassembly, 1 NIC-verified UDP checksum,
 * 2 amplification budgets on, 3 repair IP/UDP/ICMP checksums, 4 re-sign
 * RV-PROBE with the right key and redo FINGERPRINT, 5-6 the MTU), the
 * largest answer the caller fragments, a clock offset, then frames: 16-bit
 * length, tailroom (x 8 bytes), the bytes. Fragments go to a per-input
 * reassembly table and a completed datagram back through
 * dp_pkt_handle_reassembled, as in dp_lcore.c.
 *
 * Properties (dp_pkt.h's contract): every frame counts exactly one
 * outcome (none for DP_FRAG); what is sent fits the buffer, has right IP
 * and UDP/ICMP checksums and lengths, goes back to the MAC it came from,
 * and stays within ETH + MTU unless the caller fragments (then within
 * max_answer); a STUN answer decodes and its FINGERPRINT verifies; a
 * forwarded ChannelData is never longer than it came; a punt points at a
 * project message inside the frame.
 */
#include <urcu-qsbr.h>

#include "dpdk-app/dp_frag.h"
#include "dpdk-app/dp_pkt.h"
#include "dpdk-app/dp_relay.h"
#include "dpdk-app/dp_rl.h"
#include "dpdk-app/dp_table.h"
#include "proto/msg.h"
#include "proto/rv_buf.h"
#include "proto/stun.h"
#include "tests/fuzz/fuzz.h"

#define T0             1795000000000ull
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct dp_addrs addrs = {
	.mac = { 2, 0, 0, 0, 0, 1 },
	.ip = { IP(192, 0, 2, 1), IP(192, 0, 2, 2) },
	.port = { 3478, 3479 },
};
static const uint8_t KEY_S[16] = "fuzz-session-key";
static const uint8_t KEY_R[16] = "fuzz-relay---key";

static struct dp_table *table;
static struct dp_relays *relays;
static uint64_t ctr[DP_C_COUNT];
static uint64_t frag_mem[(4 * (14 + 9000 + 64) + 8192) / 8];

/* Counters besides the outcome (dp_pkt.h). */
static bool extra(int c)
{
	return c == DP_C_RX || c == DP_C_BYTES_IN || c == DP_C_BYTES_OUT || c == DP_C_RELAY_BYTES ||
	       c == DP_C_RX_REASSEMBLED || c == DP_C_TX_FRAGMENTED || c == DP_C_DROP_FRAG_TIMEOUT ||
	       c == DP_C_DROP_FRAG_EVICTED;
}

static uint64_t outcomes(void)
{
	uint64_t n = 0;

	for (int c = 0; c < DP_C_COUNT; c++)
		if (!extra(c))
			n += ctr[c];
	return n;
}

static uint32_t crc(const void *p, size_t n)
{
	return rv_crc32(0, p, n);
}

static void relay(uint64_t id, uint16_t ch, uint64_t expires, uint64_t bytes, uint32_t pps,
                  uint32_t burst, uint32_t ip0, uint16_t port0, uint32_t ip1, uint16_t port1)
{
	struct dp_relay_grant g = { .relay = id, .channel = ch };

	memcpy(g.key, KEY_R, 16);
	g.quota = (struct rv_relay_quota){ expires, bytes, pps, burst };
	if (dp_relay_set(relays, &g, T0 - 1000) != 0)
		abort();
	if (ip0 && dp_relay_bind(relays, id, 0, ip0, port0, T0 - 1000) < 0)
		abort();
	if (ip1 && dp_relay_bind(relays, id, 1, ip1, port1, T0 - 1000) < 0)
		abort();
}

/* At exit, as rvdp shuts down: liburcu keeps the tables' buckets where
 * LeakSanitizer does not look, so the nodes would read as leaked. */
static void teardown(void)
{
	urcu_qsbr_quiescent_state();
	urcu_qsbr_barrier();
	dp_relay_destroy(relays);
	dp_table_destroy(table);
	urcu_qsbr_unregister_thread();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	urcu_qsbr_register_thread();
	atexit(teardown);
	table = dp_table_create(42, 64, 1024);
	relays = dp_relay_create(99, 64, 1024, 0, 0);
	if (!table || !relays)
		abort();
	if (dp_table_set(table, 0x5A17000000000001ull, KEY_S, T0 + 3600000, 0, 0) ||
	    dp_table_set(table, 0x5A17000000000002ull, KEY_S, T0 + 3600000, 1, 2) ||
	    dp_table_set(table, 0x5A17000000000003ull, KEY_S, T0 - 60000, 0, 0))
		abort();
	relay(0x7E1A000000000001ull, 0x4123, T0 + 3600000, 0, 0, 0, IP(198, 51, 100, 10), 40000,
	      IP(203, 0, 113, 7), 50000);
	relay(0x7E1A000000000002ull, 0x4456, T0 + 3600000, 0, 0, 0, IP(198, 51, 100, 11), 40001, 0,
	      0);
	relay(0x7E1A000000000003ull, 0x4789, T0 + 3600000, 100, 0, 0, IP(198, 51, 100, 12), 40002,
	      IP(203, 0, 113, 8), 50002);
	relay(0x7E1A000000000004ull, 0x4ABC, T0 + 3600000, 0, 1, 1, IP(198, 51, 100, 13), 40003,
	      IP(203, 0, 113, 9), 50003);
	relay(0x7E1A000000000005ull, 0x4DEF, T0 - 5000, 0, 0, 0, IP(198, 51, 100, 14), 40004,
	      IP(203, 0, 113, 10), 50004);
	urcu_qsbr_quiescent_state();
	return 0;
}

/* Sign an RV-PROBE as its session's (or relay's) owner would, then redo
 * FINGERPRINT and the UDP checksum: the fuzzer cannot forge SipHash, the
 * harness can. */
static void resign(uint8_t *frame, size_t len)
{
	struct rv_stun_msg m;
	struct rv_probe pr;
	uint8_t *stun = frame + 42, *v;

	if (len < 42 + 20 || rv_get_u16(frame + 12) != 0x0800 || frame[14] != 0x45 ||
	    frame[23] != 17)
		return;
	if (rv_stun_decode(stun, len - 42, 0, &m) < 0 || !m.nattrs ||
	    m.attrs[0].type != RV_A_PROBE || m.attrs[0].len != RV_PROBE_LEN)
		return;
	v = stun + m.attrs[0].off;
	rv_probe_read(v, &pr);
	rv_probe_mac(pr.kind == RV_PROBE_RELAY ? KEY_R : KEY_S, stun + 8, &pr, NULL, pr.mac);
	rv_probe_write(v, &pr);
	if (m.fp_off)
		rv_put_u32(stun + m.fp_off + 4, rv_crc32(0, stun, m.fp_off) ^ RV_STUN_FP_XOR);
	fz_fix_ipv4(frame + 14, len - 14); /* the UDP checksum covers what changed */
}

/* What dp_pkt sent is well-formed (see the header comment). */
static void check_tx(const struct dp_pkt_ctx *c, const uint8_t *f, uint16_t len, uint16_t cap,
                     uint16_t in_len, const uint8_t src_mac[6], bool relayed, bool whole)
{
	const uint8_t *ip = f + 14;
	uint16_t tot;

	FZ_CHECK(len <= cap && len >= 14);
	FZ_CHECK(memcmp(f, src_mac, 6) == 0 && memcmp(f + 6, addrs.mac, 6) == 0);
	if (rv_get_u16(f + 12) == 0x0806) {
		FZ_CHECK(len == in_len);
		return;
	}
	FZ_CHECK(len >= 14 + 20 + 8 && ip[0] == 0x45);
	tot = rv_get_u16(ip + 2);
	FZ_CHECK(tot == len - 14u);
	FZ_CHECK(fz_csum(fz_sum(0, ip, 20)) == 0);
	if (relayed)
		FZ_CHECK(len <= in_len && len <= 14u + c->mtu);
	else if (len > 14u + c->mtu)
		FZ_CHECK(c->max_answer > c->mtu && len <= 14u + c->max_answer);
	if (ip[9] == 1) {
		FZ_CHECK(fz_csum(fz_sum(0, ip + 20, tot - 20u)) == 0);
		return;
	}
	FZ_CHECK(ip[9] == 17);
	const uint8_t *u = ip + 20;
	uint16_t ulen = rv_get_u16(u + 4);
	uint8_t ph[12];
	FZ_CHECK(ulen == tot - 20u);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	rv_put_u16(ph + 10, ulen);
	FZ_CHECK(rv_get_u16(u + 6) != 0);
	/* Relayed, the checksum is updated, not redone: right when it came
	 * right, which dp_pkt checked unless the NIC said it did. */
	if (!relayed || whole || !c->l4_csum_ok)
		FZ_CHECK(fz_csum(fz_sum(fz_sum(0, ph, 12), u, ulen)) == 0);
	if (!relayed) {
		struct rv_stun_msg m;
		FZ_CHECK(rv_stun_decode(u + 8, ulen - 8u, RV_STUN_DEC_CLASSIC_OK, &m) == 0);
		FZ_CHECK(m.cls == RV_STUN_SUCCESS || m.cls == RV_STUN_ERROR);
		FZ_CHECK(!m.fp_off || rv_stun_check_fingerprint(&m) == 0);
	}
}

/* One frame (or reassembled datagram) through the handler. */
static enum dp_verdict one(const struct dp_pkt_ctx *c, uint8_t *f, uint16_t *len, uint16_t cap,
                           bool whole)
{
	struct dp_punt_info punt;
	uint8_t src_mac[6];
	uint64_t before = outcomes();
	uint16_t in_len = *len;
	enum dp_verdict v;

	memcpy(src_mac, *len >= 12 ? f + 6 : (const uint8_t *)"\0\0\0\0\0\0", 6);
	memset(&punt, 0xa5, sizeof(punt));
	v = whole ? dp_pkt_handle_reassembled(c, f, len, cap, &punt)
	          : dp_pkt_handle(c, f, len, cap, &punt);
	FZ_CHECK(outcomes() == before + (v == DP_FRAG ? 0 : 1));
	switch (v) {
	case DP_TX:
	case DP_BIND:
		check_tx(c, f, *len, cap, in_len, src_mac, ctr[DP_C_TX_RELAY] != 0, whole);
		if (v == DP_BIND)
			FZ_CHECK(punt.side <= 1 && punt.src.family == RV_AF_INET);
		break;
	case DP_PUNT:
		FZ_CHECK(*len == in_len);
		FZ_CHECK((size_t)punt.payload_off + punt.payload_len <= *len);
		FZ_CHECK(rv_msg_is_project(f + punt.payload_off, punt.payload_len));
		break;
	case DP_FRAG:
		FZ_CHECK(!whole && c->reassembly);
		break;
	case DP_DROP:
		break;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t mtus[] = { 1500, 576, 1280, 9000 };
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f), ma = fz_u8(&f);
	struct dp_rl_conf rlc = { .slots = 16,
		                  .src_bytes = 1024,
		                  .src_bytes_rate = 256,
		                  .src_pkts = 8,
		                  .src_pkts_rate = 4,
		                  .glob_bytes = 4096,
		                  .glob_bytes_rate = 1024,
		                  .seed = 5 };
	struct dp_conf dc;
	struct rv_frag_conf fc;
	struct rv_frag *frag = (struct rv_frag *)(void *)frag_mem;
	struct dp_rl *rl = NULL;
	struct dp_pkt_ctx c = {
		.addrs = &addrs,
		.table = table,
		.relays = relays,
		.now_us = 1000000,
		.now_ms = T0 - 60000 + (uint64_t)fz_u16(&f) * 100,
		.mtu = mtus[sel >> 5 & 3],
		.max_answer = (uint16_t)(ma & 0x80   ? 9000
		                         : ma & 0x40 ? 1400
		                                     : 0),
		.reassembly = sel & 1,
		.l4_csum_ok = sel & 2,
		.crc32 = crc,
		.ctr = ctr,
	};

	/* rvdp's own --frag-* path, with a small table. */
	dp_conf_defaults(&dc);
	dc.frag_slots = 4;
	dc.frag_max_size = 9000;
	dc.frag_max_frags = 16;
	dc.frag_timeout_ms = 2000;
	fc = dp_frag_conf(&dc, 3);
	FZ_CHECK(rv_frag_size(&fc) <= sizeof(frag_mem) && rv_frag_init(frag, &fc) == 0);
	if (sel & 4) {
		rl = calloc(1, dp_rl_size(&rlc));
		if (!rl || dp_rl_init(rl, &rlc, 2) != 0)
			abort();
		c.rl = rl;
	}
	memset(ctr, 0, sizeof(ctr));
	while (f.n) {
		size_t len;
		const uint8_t *p = fz_chunk(&f, &len);
		size_t room = len + fz_u8(&f) * 8u;
		uint16_t cap = (uint16_t)(room < 0xffff ? room : 0xffff);
		uint8_t *frame;
		uint16_t n;
		enum dp_verdict v;
		struct rv_frag_res res;

		if (cap < len)
			cap = (uint16_t)len;
		frame = malloc(cap ? cap : 1);
		if (!frame)
			abort();
		memcpy(frame, p, len);
		if (sel & 16)
			resign(frame, len);
		if ((sel & 8) && len >= 14 && rv_get_u16(frame + 12) == 0x0800)
			fz_fix_ipv4(frame + 14, len - 14);
		n = (uint16_t)len;
		c.now_us += 1000;
		c.now_ms += 1;
		memset(ctr, 0, sizeof(ctr));
		v = one(&c, frame, &n, cap, false);
		if (v == DP_FRAG &&
		    dp_frag_input(frag, frame, n, c.now_ms, ctr, &res) == RV_FRAG_DONE) {
			uint16_t l = res.len;
			one(&c, res.pkt, &l, res.cap, true);
		}
		free(frame);
		urcu_qsbr_quiescent_state();
	}
	(void)dp_frag_expire(frag, c.now_ms + 10000, 4, ctr);
	free(rl);
	return 0;
}
