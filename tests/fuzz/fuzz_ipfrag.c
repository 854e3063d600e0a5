/* fuzz_ipfrag.c — the IPv4 reassembly table and fragmenter
 * (proto/ipfrag.c), shared by rvdp and natbox.
 *
 * Input: a configuration (slots 4..32, link header 0 or 14 bytes, largest
 * datagram 576/1500/9000/65000, pieces per datagram, timeout, protocols),
 * then operations until the input ends:
 *   0  a piece as raw bytes (16-bit length, then the bytes)
 *   1  a piece built from fields: source (one of four), IP ID, offset, MF,
 *      length, protocol (so the fuzzer reaches trains without guessing
 *      lengths and checksums)
 *   2  time passes (16 bits of ms, or 32 with the high bit of the op)
 *   3  rv_frag_expire over a budget of slots
 * Properties: a completed datagram is well-formed (total length, no
 * fragment bits, header checksum, within the slot) and is exactly the
 * pieces' payloads; cut again with rv_frag_split at a fuzzed MTU (the
 * first piece in place) and fed in either order to a second table, it
 * comes back identical; rv_frag_live never exceeds the slots; each piece
 * has one outcome, with a train reported only when one really went.
 */
#include "proto/ipfrag.h"
#include "proto/rv_buf.h"
#include "tests/fuzz/fuzz.h"

#define SLOTS_MAX 32
#define MEM1      (SLOTS_MAX * (64 + 65088) + 4 * 1024 * 1024 / 8)
static uint64_t mem1[MEM1 / 8], mem2[(4 * 65088 + 256 * 1024) / 8];
static uint8_t pieces[RV_FRAG_MAX_OUT][1536], whole[65536], piece[65536 + 64];
static int piece_len[RV_FRAG_MAX_OUT];

static const uint16_t sizes[] = { 576, 1500, 9000, 65000 };
static const uint32_t srcs[] = { 0xc6336401u, 0xc6336402u, 0xcb007101u, 0x0a000102u };

static bool ip_sum_ok(const uint8_t *ip)
{
	return fz_csum(fz_sum(0, ip, 20)) == 0;
}

/* Cut a completed datagram and put it back together in a second table. */
static void split_and_join(const uint8_t *pkt, size_t len, uint16_t l2, uint16_t mtu, bool reverse)
{
	struct rv_frag_conf c = { .slots = 4,
		                  .max_size = RV_FRAG_MAX_SIZE,
		                  .max_frags = 255,
		                  .timeout_ms = 1000,
		                  .seed = 7,
		                  .l2_len = l2,
		                  .protos = { pkt[l2 + 9] } };
	struct rv_frag *t = (struct rv_frag *)(void *)mem2;
	unsigned count = rv_frag_count(len, l2, mtu);
	struct rv_frag_res res;

	FZ_CHECK(rv_frag_size(&c) <= sizeof(mem2));
	if (count < 2 || count > RV_FRAG_MAX_OUT || mtu > 1500 || !c.protos[0])
		return;
	FZ_CHECK(rv_frag_init(t, &c) == 0);
	memcpy(whole, pkt, len);
	for (unsigned i = 1; i < count; i++) {
		piece_len[i] =
		        rv_frag_split(whole, len, l2, mtu, 0x5151, i, pieces[i], sizeof(pieces[i]));
		FZ_CHECK(piece_len[i] > 0 && (size_t)piece_len[i] <= l2 + (size_t)mtu);
	}
	/* The first piece is cut in place: it is a prefix of the datagram. */
	piece_len[0] = rv_frag_split(whole, len, l2, mtu, 0x5151, 0, whole, len);
	FZ_CHECK(piece_len[0] > 0 && (size_t)piece_len[0] <= l2 + (size_t)mtu);
	memcpy(pieces[0], whole, (size_t)piece_len[0]);
	for (unsigned k = 0; k < count; k++) {
		unsigned i = reverse ? count - 1 - k : k;
		const uint8_t *ip = pieces[i] + l2;
		enum rv_frag_verdict v;

		FZ_CHECK(ip_sum_ok(ip) && rv_get_u16(ip + 2) == piece_len[i] - l2);
		v = rv_frag_input(t, pieces[i], (size_t)piece_len[i], 5, &res);
		if (k + 1 < count) {
			FZ_CHECK(v == RV_FRAG_HELD);
			continue;
		}
		FZ_CHECK(v == RV_FRAG_DONE && res.len == len);
		/* Identical but for the IP ID, the fragment bits and the checksum. */
		FZ_CHECK(memcmp(res.pkt, pkt, l2 + 4u) == 0);
		FZ_CHECK(memcmp(res.pkt + l2 + 8, pkt + l2 + 8, 2) == 0);
		FZ_CHECK(memcmp(res.pkt + l2 + 12, pkt + l2 + 12, len - l2 - 12) == 0);
	}
}

static void check_done(const struct rv_frag_res *res, uint16_t l2, uint32_t max_size, uint16_t mtu,
                       bool reverse)
{
	const uint8_t *ip = res->pkt + l2;

	FZ_CHECK(res->len <= res->cap);
	FZ_CHECK(res->len >= l2 + 20u + 1u && res->len - l2 <= (int64_t)max_size);
	FZ_CHECK(rv_get_u16(ip + 2) == res->len - l2);
	FZ_CHECK(rv_get_u16(ip + 6) == 0);
	FZ_CHECK(ip[0] == 0x45 && ip_sum_ok(ip));
	split_and_join(res->pkt, res->len, l2, mtu, reverse);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t a = fz_u8(&f), b = fz_u8(&f);
	struct rv_frag_conf c = { .slots = 4u << (a & 3),
		                  .max_size = sizes[a >> 3 & 3],
		                  .max_frags = b < 2 ? 2 : b,
		                  .timeout_ms = 1u + fz_u16(&f),
		                  .seed = fz_u64(&f),
		                  .l2_len = a & 4 ? 14 : 0,
		                  .protos = { 17, (uint8_t)(a & 0x20 ? 1 : 0), 0, 0 } };
	struct rv_frag *t = (struct rv_frag *)(void *)mem1;
	uint16_t mtu = (uint16_t)(68 + fz_u16(&f) % (1500 - 67));
	uint64_t now = fz_u32(&f);
	struct rv_frag_res res;
	struct rv_frag_train gone[256];

	FZ_CHECK(rv_frag_size(&c) > 0 && rv_frag_size(&c) <= sizeof(mem1));
	FZ_CHECK(rv_frag_init(t, &c) == 0);
	while (f.n) {
		uint8_t op = fz_u8(&f);
		enum rv_frag_verdict v;
		size_t len = 0;

		switch (op & 3) {
		case 0: {
			const uint8_t *p = fz_chunk(&f, &len);
			memcpy(piece, p, len);
			break;
		}
		case 1: {
			uint8_t who = fz_u8(&f);
			uint16_t id = fz_u8(&f), fl = fz_u16(&f), plen = fz_u16(&f);
			uint8_t *ip = piece + c.l2_len;

			plen = (uint16_t)(op & 0x80 ? plen : plen % 1500);
			if ((size_t)plen + 20 > 0xffff)
				plen = 0xffff - 20;
			len = c.l2_len + 20u + plen;
			memset(piece, 0xee, c.l2_len);
			memset(ip, 0, 20);
			ip[0] = 0x45;
			rv_put_u16(ip + 2, (uint16_t)(20 + plen));
			rv_put_u16(ip + 4, id);
			rv_put_u16(ip + 6, fl & 0x3fff);
			ip[8] = 64;
			ip[9] = who & 4 ? 1 : who & 8 ? 6 : 17;
			rv_put_u32(ip + 12, srcs[who & 3]);
			rv_put_u32(ip + 16, 0xc0000201u);
			for (size_t i = 0; i < plen; i++)
				ip[20 + i] = (uint8_t)(i * 31 + (fl & 0x1fff) * 8 * 31 + id);
			fz_fix_ipv4(ip, len - c.l2_len);
			break;
		}
		case 2:
			now += op & 0x80 ? fz_u32(&f) : fz_u16(&f);
			continue;
		default: {
			unsigned budget = fz_u8(&f), live = rv_frag_live(t);
			unsigned n = rv_frag_expire(t, now, budget, op & 0x80 ? NULL : gone);
			FZ_CHECK(n <= budget && n <= live && rv_frag_live(t) == live - n);
			for (unsigned i = 0; !(op & 0x80) && i < n; i++)
				FZ_CHECK(gone[i].why == RV_FRAG_TIMEOUT &&
				         strcmp(rv_frag_why_str((enum rv_frag_why)gone[i].why),
				                "timeout") == 0);
			continue;
		}
		}
		uint8_t *copy = fz_dup(piece, len);
		v = rv_frag_input(t, copy, len, now, &res);
		free(copy);
		FZ_CHECK(rv_frag_live(t) <= c.slots);
		FZ_CHECK(res.why < RV_FRAG_WHY_COUNT);
		FZ_CHECK(res.gone.why == RV_FRAG_KEPT || res.gone.why == RV_FRAG_TIMEOUT ||
		         res.gone.why == RV_FRAG_EVICTED);
		switch (v) {
		case RV_FRAG_HELD:
			FZ_CHECK(res.why == RV_FRAG_KEPT && !res.train_dropped);
			break;
		case RV_FRAG_DROPPED:
			FZ_CHECK(res.why != RV_FRAG_KEPT);
			break;
		case RV_FRAG_DONE:
			FZ_CHECK(res.why == RV_FRAG_KEPT);
			check_done(&res, c.l2_len, c.max_size, mtu, op & 0x40);
			break;
		}
	}
	return 0;
}
