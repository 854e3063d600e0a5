/* dp_frag.c — rvdp's counters around proto/ipfrag (dp_frag.h). */
#include "dpdk-app/dp_frag.h"
#include "dpdk-app/dp_pkt.h"
#include "proto/rv_buf.h"

#define ETH_LEN 14

static const uint8_t ctr_of[RV_FRAG_WHY_COUNT] = {
	[RV_FRAG_KEPT] = DP_C_RX_FRAG,
	[RV_FRAG_PROTO] = DP_C_DROP_FRAG_PROTO,
	[RV_FRAG_BAD] = DP_C_DROP_FRAG_BAD,
	[RV_FRAG_DUP] = DP_C_DROP_FRAG_DUP,
	[RV_FRAG_OVERLAP] = DP_C_DROP_FRAG_OVERLAP,
	[RV_FRAG_TOO_BIG] = DP_C_DROP_FRAG_TOO_BIG,
	[RV_FRAG_TOO_MANY] = DP_C_DROP_FRAG_TOO_MANY,
	[RV_FRAG_TIMEOUT] = DP_C_DROP_FRAG_TIMEOUT,
	[RV_FRAG_EVICTED] = DP_C_DROP_FRAG_EVICTED,
};

struct rv_frag_conf dp_frag_conf(const struct dp_conf *c, uint64_t seed)
{
	return (struct rv_frag_conf){ .slots = c->frag_slots,
		                      .max_size = c->frag_max_size,
		                      .max_frags = c->frag_max_frags,
		                      .timeout_ms = c->frag_timeout_ms,
		                      .seed = seed,
		                      .l2_len = ETH_LEN,
		                      .protos = { 17 } };
}

enum rv_frag_verdict dp_frag_input(struct rv_frag *f, const uint8_t *frame, uint16_t len,
                                   uint64_t now_ms, uint64_t *ctr, struct rv_frag_res *res)
{
	enum rv_frag_verdict v;

	/* dp_pkt checked all this; the table does not look at Ethernet. */
	if (len < ETH_LEN || rv_get_u16(frame + 12) != 0x0800) {
		ctr[DP_C_DROP_FRAG_BAD]++;
		return RV_FRAG_DROPPED;
	}
	v = rv_frag_input(f, frame, len, now_ms, res);
	if (res->gone.why)
		ctr[ctr_of[res->gone.why]]++;
	ctr[ctr_of[res->why]]++;
	if (v == RV_FRAG_DONE)
		ctr[DP_C_RX_REASSEMBLED]++;
	return v;
}

unsigned dp_frag_expire(struct rv_frag *f, uint64_t now_ms, unsigned budget, uint64_t *ctr)
{
	unsigned n = rv_frag_expire(f, now_ms, budget, NULL);

	ctr[DP_C_DROP_FRAG_TIMEOUT] += n;
	return n;
}
