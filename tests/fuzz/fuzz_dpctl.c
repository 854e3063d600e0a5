/* fuzz_dpctl.c — the rvdp <-> rvcontrol protocol (proto/dpctl.c).
 *
 * Input: selector byte, then bytes.
 *   bit 0 clear: a datagram from the socket. What decodes must encode, and
 *     decode again to the same message (decode -> encode -> decode); the
 *     second encoding is byte for byte the first.
 *   bit 0 set: the bytes are laid over a struct rv_dpc (the payload, when
 *     a PUNT/SEND, taken from the input's end). What encodes must decode
 *     and encode again to the same bytes.
 */
#include "proto/dpctl.h"
#include "proto/rv_err.h"
#include "tests/fuzz/fuzz.h"

static uint8_t out[RV_DPC_MAX_MSG], out2[RV_DPC_MAX_MSG];

/* Two decoded messages are the same: every field, the payload by value. */
static void same(const struct rv_dpc *a, const struct rv_dpc *b)
{
	struct rv_dpc x = *a, y = *b;

	FZ_CHECK(x.payload_len == y.payload_len);
	if (x.payload_len)
		FZ_CHECK(memcmp(x.payload, y.payload, x.payload_len) == 0);
	x.payload = y.payload = NULL;
	FZ_CHECK(memcmp(&x, &y, sizeof(x)) == 0);
}

static void encodes_stably(const struct rv_dpc *m, bool must)
{
	struct rv_dpc m2;
	int n = rv_dpc_encode(m, out, sizeof(out)), n2;

	FZ_CHECK(n <= (int)sizeof(out));
	if (n < 0) {
		FZ_CHECK(!must);
		return;
	}
	n2 = rv_dpc_decode(out, (size_t)n, &m2);
	if (n2 != 0)
		fprintf(stderr, "decode of an encoded %s: %s\n", rv_dpc_type_str(m->type),
		        rv_strerror(n2));
	FZ_CHECK(n2 == 0);
	if (must)
		same(m, &m2);
	FZ_CHECK(m2.type == m->type && m2.seq == m->seq);
	n2 = rv_dpc_encode(&m2, out2, sizeof(out2));
	FZ_CHECK(n2 == n && memcmp(out, out2, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	struct rv_dpc m;

	if (sel & 1) {
		size_t got;
		const uint8_t *b = fz_take(&f, sizeof(m), &got);

		memset(&m, 0, sizeof(m));
		memcpy(&m, b, got);
		m.payload = f.p;
		m.payload_len = (uint16_t)(f.n < m.payload_len ? f.n : m.payload_len);
		(void)rv_dpc_type_str(m.type);
		encodes_stably(&m, false);
		return 0;
	}
	uint8_t *buf = fz_dup(f.p, f.n);
	int rc = rv_dpc_decode(buf, f.n, &m);
	FZ_CHECK(rc <= 0);
	if (rc == 0) {
		FZ_CHECK(m.payload_len == 0 ||
		         (m.payload >= buf && m.payload + m.payload_len <= buf + f.n));
		(void)rv_dpc_type_str(m.type);
		encodes_stably(&m, true);
	}
	free(buf);
	return 0;
}
