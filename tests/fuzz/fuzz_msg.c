/* fuzz_msg.c — every project message (proto/msg.c, msg_names.c, probe.c).
 *
 * Input: one selector byte, then bytes.
 *   bit 0 clear: the bytes are a datagram. What rv_msg_decode accepts must
 *     encode (rv_msg_encode), decode again to the same struct rv_msg, and
 *     encode again to the same bytes (decode -> encode -> decode).
 *   bit 0 set: the bytes are laid over a struct rv_msg (method, class and
 *     the present mask taken from the first bytes). Whatever rv_msg_encode
 *     accepts must decode, and encode again to the same bytes.
 *   bit 1: sign with MESSAGE-INTEGRITY-SHA256, which must then verify.
 * Every name function runs on the decoded fields, and the probe MAC is
 * computed and checked over a decoded RV-PROBE.
 */
#include "proto/msg.h"
#include "proto/rv_err.h"
#include "tests/fuzz/fuzz.h"

static const uint8_t key[32] = "fuzz-message-integrity-key-32byt";
static uint8_t out[RV_STUN_MAX_LEN], out2[RV_STUN_MAX_LEN];

static void names(const struct rv_msg *m)
{
	size_t n = strlen(rv_method_str(m->method)) + strlen(rv_code_str(m->error_code)) +
	           strlen(rv_strategy_str((enum rv_strategy)m->role.strategy)) +
	           strlen(rv_probe_kind_str((enum rv_probe_kind)m->probe.kind)) +
	           strlen(rv_result_str((enum rv_result_code)m->result.code));

	for (int f = 0; f < RV_F_COUNT_ALL; f++)
		n += strlen(rv_field_str((enum rv_field)f));
	FZ_CHECK(n > 0);
}

/* m encodes; its bytes decode to m2 and encode again to the same bytes. */
static void round_trip(const struct rv_msg *m, bool sign, bool same_struct)
{
	struct rv_msg m2;
	struct rv_stun_msg s;
	int n, n2;

	n = rv_msg_encode(m, out, sizeof(out), sign ? key : NULL, sizeof(key));
	if (!same_struct && n < 0)
		return; /* a struct the encoder refuses: fine, it said why */
	FZ_CHECK(n > 0);
	FZ_CHECK(rv_msg_is_project(out, (size_t)n)); /* rvdp's demux relies on it */
	n2 = rv_msg_decode(out, (size_t)n, &m2, &s);
	/* The encoder writes any version it is given; only a decoder judges. */
	if (n2 == RV_EVERSION && !same_struct && m->version_major != RV_VERSION_MAJOR)
		return;
	if (n2 != 0)
		fprintf(stderr, "decode of an encoded message: %s\n", rv_strerror(n2));
	FZ_CHECK(n2 == 0);
	if (sign)
		FZ_CHECK(rv_stun_check_integrity_sha256(&s, key, sizeof(key)) == 0);
	if (same_struct)
		FZ_CHECK(memcmp(m, &m2, sizeof(m2)) == 0);
	n2 = rv_msg_encode(&m2, out2, sizeof(out2), sign ? key : NULL, sizeof(key));
	FZ_CHECK(n2 == n && memcmp(out, out2, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	bool sign = sel & 2;
	struct rv_msg m;
	struct rv_stun_msg s;

	if (sel & 1) {
		/* A struct from the fuzzer: only the header fields are steered. */
		size_t got;
		const uint8_t *b;

		memset(&m, 0, sizeof(m));
		m.method = fz_u16(&f) & 0xfff;
		m.cls = fz_u8(&f) & 3;
		m.present = fz_u64(&f) & (RV_BIT(RV_F_COUNT_ALL) - 1);
		b = fz_take(&f, sizeof(m) - offsetof(struct rv_msg, version_major), &got);
		memcpy((uint8_t *)&m + offsetof(struct rv_msg, version_major), b, got);
		names(&m);
		round_trip(&m, sign, false);
		return 0;
	}
	uint8_t *buf = fz_dup(f.p, f.n);
	(void)rv_msg_is_project(buf, f.n);
	int rc = rv_msg_decode(buf, f.n, &m, &s);
	FZ_CHECK(rc <= 0);
	if (rc == 0) {
		names(&m);
		(void)rv_stun_check_integrity_sha256(&s, key, sizeof(key));
		if (m.present & RV_BIT(RV_F_PROBE)) {
			uint8_t mac[8];
			rv_probe_mac(key, m.txid, &m.probe, &m.mapped, mac);
			(void)rv_probe_verify(key, m.txid, &m.probe,
			                      m.present & RV_BIT(RV_F_MAPPED) ? &m.mapped : NULL);
		}
		round_trip(&m, sign, true);
	}
	free(buf);
	return 0;
}
