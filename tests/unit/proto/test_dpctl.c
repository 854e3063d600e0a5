/* The rvdp <-> rvcontrol protocol: every type round-trips, every truncation
 * and malformed header is refused. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dpctl.h"
#include "proto/rv_err.h"

static const uint8_t payload[] = "a punted STUN message";

static struct rv_dpc sample(uint8_t type)
{
	struct rv_dpc m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = 0xdeadbeef;
	switch (type) {
	case RV_DPC_HELLO:
	case RV_DPC_PUNT:
	case RV_DPC_SEND:
		cr_assert_eq(rv_addr_parse("198.51.100.10:40000", 0, &m.src), 0);
		cr_assert_eq(rv_addr_parse("[2001:db8::1]:3479", 0, &m.dst), 0);
		if (type == RV_DPC_HELLO)
			break;
		m.path = (struct rv_dpc_path){ 1, 2, { 2, 0, 0, 0, 0, 9 } };
		m.payload = payload;
		m.payload_len = sizeof(payload);
		break;
	case RV_DPC_SESSION_SET:
		m.session = 0x0102030405060708ull;
		memset(m.key, 0x3c, 16);
		m.expires_ms = 1795000000000ull;
		m.rate_pps = 50;
		m.burst = 20;
		break;
	case RV_DPC_SESSION_DEL:
	case RV_DPC_OBS_QUERY:
	case RV_DPC_RELAY_DEL:
	case RV_DPC_RELAY_QUERY:
		m.session = 99;
		break;
	case RV_DPC_RELAY_SET:
		m.session = 0x1122334455667788ull;
		memset(m.key, 0x5a, 16);
		m.channel = 0x4abc;
		m.expires_ms = 1795000000000ull;
		m.quota_bytes = 1ull << 33;
		m.rate_pps = 2000;
		m.burst = 400;
		break;
	case RV_DPC_RELAY_REPLY:
		m.session = 7;
		m.status = 0;
		m.relay_flags = 0x05;
		cr_assert_eq(rv_addr_parse("203.0.113.2:1041", 0, &m.side[0].bound), 0);
		m.side[0] = (struct rv_dpc_relay_side){ m.side[0].bound, 10, 12000, 3,
			                                1795000000001ull };
		m.side[1].packets = 0; /* the callee has not bound yet */
		break;
	case RV_DPC_OBS_REPLY:
		m.session = 99;
		m.status = -2;
		m.n_obs = RV_DPC_MAX_OBS;
		for (int i = 0; i < RV_DPC_MAX_OBS; i++)
			m.obs[i] = (struct rv_dpc_obs){ 1000u + (uint64_t)i, 0xc633640a,
				                        (uint16_t)(10135 + i), (uint16_t)i,
				                        (uint8_t)(1 + i % 4) };
		break;
	}
	return m;
}

static void assert_same(const struct rv_dpc *a, const struct rv_dpc *b)
{
	cr_assert_eq(a->type, b->type);
	cr_assert_eq(a->seq, b->seq);
	cr_assert_eq(a->session, b->session);
	cr_assert_arr_eq(a->key, b->key, 16);
	cr_assert_eq(a->expires_ms, b->expires_ms);
	cr_assert_eq(a->rate_pps, b->rate_pps);
	cr_assert_eq(a->burst, b->burst);
	cr_assert_eq(a->status, b->status);
	cr_assert_eq(a->channel, b->channel);
	cr_assert_eq(a->quota_bytes, b->quota_bytes);
	cr_assert_eq(a->relay_flags, b->relay_flags);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(a->side[i].bound.family, b->side[i].bound.family);
		if (a->side[i].bound.family)
			cr_assert(rv_addr_eq(&a->side[i].bound, &b->side[i].bound));
		cr_assert_eq(a->side[i].packets, b->side[i].packets);
		cr_assert_eq(a->side[i].bytes, b->side[i].bytes);
		cr_assert_eq(a->side[i].dropped, b->side[i].dropped);
		cr_assert_eq(a->side[i].seen_ms, b->side[i].seen_ms);
	}
	cr_assert_eq(a->n_obs, b->n_obs);
	for (int i = 0; i < a->n_obs; i++) {
		cr_assert_eq(a->obs[i].t_ms, b->obs[i].t_ms);
		cr_assert_eq(a->obs[i].ip, b->obs[i].ip);
		cr_assert_eq(a->obs[i].port, b->obs[i].port);
		cr_assert_eq(a->obs[i].seq, b->obs[i].seq);
		cr_assert_eq(a->obs[i].kind, b->obs[i].kind);
	}
	cr_assert_eq(a->src.family, b->src.family);
	if (a->src.family) {
		cr_assert(rv_addr_eq(&a->src, &b->src));
		cr_assert(rv_addr_eq(&a->dst, &b->dst));
	}
	cr_assert_eq(a->payload_len, b->payload_len);
	if (a->payload_len)
		cr_assert_arr_eq(a->payload, b->payload, a->payload_len);
	if (a->type == RV_DPC_PUNT || a->type == RV_DPC_SEND) {
		cr_assert_eq(a->path.port, b->path.port);
		cr_assert_eq(a->path.queue, b->path.queue);
		cr_assert_arr_eq(a->path.mac, b->path.mac, 6);
	}
}

ParameterizedTestParameters(dpctl, every_type_round_trips_and_every_truncation_fails)
{
	static uint8_t types[RV_DPC_TYPE_COUNT - 1];
	for (int i = 0; i < RV_DPC_TYPE_COUNT - 1; i++)
		types[i] = (uint8_t)(i + 1);
	return cr_make_param_array(uint8_t, types, RV_DPC_TYPE_COUNT - 1);
}

ParameterizedTest(uint8_t *type, dpctl, every_type_round_trips_and_every_truncation_fails)
{
	struct rv_dpc in = sample(*type), out;
	uint8_t buf[RV_DPC_MAX_MSG];
	int n = rv_dpc_encode(&in, buf, sizeof(buf));

	cr_assert_gt(n, 0, "%s: %s", rv_dpc_type_str(*type), rv_strerror(n));
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), 0);
	assert_same(&in, &out);
	cr_assert_str_neq(rv_dpc_type_str(*type), "?");
	/* Messages with a fixed body refuse every shorter length; variable
	 * ones (payload, optional HELLO addresses) refuse any cut inside a
	 * fixed field. Each copy is exactly sized for ASan. */
	for (int cut = 0; cut < n; cut++) {
		uint8_t *p = malloc((size_t)cut + 1);
		memcpy(p, buf, (size_t)cut);
		int rc = rv_dpc_decode(p, (size_t)cut, &out);
		bool variable_tail = (*type == RV_DPC_PUNT || *type == RV_DPC_SEND) &&
		                     cut >= n - (int)sizeof(payload);
		bool empty_hello = *type == RV_DPC_HELLO && cut == RV_DPC_HDR;
		if (!variable_tail && !empty_hello)
			cr_assert_lt(rc, 0, "%s cut at %d accepted", rv_dpc_type_str(*type), cut);
		free(p);
	}
	/* One trailing byte is refused (except where a payload absorbs it). */
	buf[n] = 0;
	if (*type != RV_DPC_PUNT && *type != RV_DPC_SEND)
		cr_assert_eq(rv_dpc_decode(buf, (size_t)n + 1, &out), RV_ELEN);
}

Test(dpctl, bad_version_type_family_and_sizes_are_refused)
{
	struct rv_dpc m = sample(RV_DPC_PUNT), out;
	uint8_t buf[RV_DPC_MAX_MSG + 8];
	int n = rv_dpc_encode(&m, buf, sizeof(buf));

	buf[0] = 2;
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), RV_EVERSION);
	buf[0] = 1;
	buf[1] = 0;
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), RV_EMETHOD);
	buf[1] = RV_DPC_TYPE_COUNT;
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), RV_EMETHOD);
	buf[1] = RV_DPC_PUNT;
	buf[8 + 12] = 7; /* src family */
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), RV_EFAMILY);

	m.payload_len = RV_DPC_MAX_PAYLOAD + 1;
	cr_assert_eq(rv_dpc_encode(&m, buf, sizeof(buf)), RV_ERANGE);
	m = sample(RV_DPC_SEND);
	m.dst.family = 0;
	cr_assert_eq(rv_dpc_encode(&m, buf, sizeof(buf)), RV_ERANGE);
	m = sample(RV_DPC_OBS_REPLY);
	m.n_obs = RV_DPC_MAX_OBS + 1;
	cr_assert_eq(rv_dpc_encode(&m, buf, sizeof(buf)), RV_ERANGE);
	m = sample(RV_DPC_SESSION_SET);
	cr_assert_eq(rv_dpc_encode(&m, buf, 20), RV_ENOSPC);
	m.type = 0;
	cr_assert_eq(rv_dpc_encode(&m, buf, sizeof(buf)), RV_ERANGE);

	/* A hostile OBS_REPLY claiming more entries than fit. */
	m = sample(RV_DPC_OBS_REPLY);
	n = rv_dpc_encode(&m, buf, sizeof(buf));
	buf[8 + 12] = RV_DPC_MAX_OBS + 1;
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), RV_ERANGE);
}

Test(dpctl, ctl_hello_without_addresses_round_trips)
{
	struct rv_dpc m = { .type = RV_DPC_HELLO, .seq = 1 }, out;
	uint8_t buf[64];
	int n = rv_dpc_encode(&m, buf, sizeof(buf));

	cr_assert_eq(n, RV_DPC_HDR);
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), 0);
	cr_assert_eq(out.src.family, 0);
}

Test(dpctl, a_relay_channel_outside_the_turn_range_is_refused_both_ways)
{
	struct rv_dpc m = sample(RV_DPC_RELAY_SET), out;
	uint8_t buf[RV_DPC_MAX_MSG];
	int n;

	m.channel = 0x3fff;
	cr_assert_eq(rv_dpc_encode(&m, buf, sizeof(buf)), RV_ERANGE);
	m.channel = 0x4fff;
	n = rv_dpc_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	buf[RV_DPC_HDR + 8 + 16] = 0x50; /* channel 0x50ff on the wire */
	cr_assert_eq(rv_dpc_decode(buf, (size_t)n, &out), RV_ERANGE);
}
