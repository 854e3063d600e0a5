/* ctl_stun.c — without rvdp, the standalone server answers STUN Binding
 * itself (XOR-MAPPED-ADDRESS; no RFC 5780, it has one address) and the
 * project's authenticated probes, so peers can measure Δ and ranges on a
 * development setup with no DPDK. With rvdp these never reach rvcontrol. */
#include <string.h>

#include "ctl_core.h"
#include "proto/stun.h"

bool ctl_stun_answer(struct ctl *c, const uint8_t *buf, size_t len, const struct ctl_from *from,
                     uint64_t now_ms, const struct ctl_sink *sink)
{
	struct rv_stun_msg m;
	struct rv_stun_enc e;
	struct rv_probe pr;
	struct ctl_reg g;
	uint8_t out[256];
	bool probe;
	int n;

	if (rv_stun_decode(buf, len, 0, &m) < 0 || m.cls != RV_STUN_REQUEST ||
	    m.method != RV_STUN_BINDING)
		return false;
	if (m.fp_off && rv_stun_check_fingerprint(&m) < 0)
		return true; /* RFC 8489 §7.3: not STUN; silence */
	probe = m.nattrs && m.attrs[0].type == RV_A_PROBE;
	rv_stun_enc_init_reply(&e, out, sizeof(out), &m, RV_STUN_SUCCESS);
	if (probe) {
		/* Unknown session, bad MAC: dropped without a word, as rvdp does. */
		if (m.attrs[0].len != RV_PROBE_LEN)
			return true;
		rv_probe_read(rv_stun_value(&m, &m.attrs[0]), &pr);
		if (pr.kind == RV_PROBE_RELAY) {
			/* Binding a relay side: the relay's key, not a session's. */
			const uint8_t *key;
			if (!ctl_relay_bind(c, rv_stun_txid(&m), &pr, from, now_ms, &key))
				return true;
			rv_probe_answer(&e, key, &pr, &from->src);
		} else {
			if (pr.flags || ctl_store_reg_by_session(c->st, pr.session, &g) < 0 ||
			    g.expires_ms <= now_ms ||
			    !rv_probe_verify(g.probe_key, rv_stun_txid(&m), &pr, NULL))
				return true;
			rv_probe_answer(&e, g.probe_key, &pr, &from->src);
		}
	} else {
		rv_stun_enc_addr(&e, RV_SA_XOR_MAPPED_ADDRESS, &from->src, true);
	}
	if (probe || m.fp_off)
		rv_stun_enc_fingerprint(&e);
	n = rv_stun_enc_finish(&e);
	if (n > 0)
		sink->send(sink->ctx, from, out, (size_t)n);
	return true;
}
