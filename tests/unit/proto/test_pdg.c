/* Peer datagrams: round trip, MAC, every truncation and forgery refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pdg.h"
#include "proto/rv_err.h"

static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

Test(pdg, every_type_round_trips_with_its_payload)
{
	for (uint8_t t = 1; t < RV_PDG_TYPE_COUNT; t++) {
		uint8_t buf[RV_PDG_MAX], payload[100];
		struct rv_pdg in = { .type = t,
			             .flags = 3,
			             .ttl_hint = 2,
			             .attempt = 0x1122334455667788ull,
			             .seq = 77,
			             .payload = payload,
			             .payload_len = t * 10 },
		              out;

		memset(payload, t, sizeof(payload));
		int n = rv_pdg_encode(&in, key, buf, sizeof(buf));
		cr_assert_eq(n, RV_PDG_MIN + t * 10);
		cr_assert_eq(rv_pdg_decode(buf, (size_t)n, key, &out), 0);
		cr_assert_eq(out.type, t);
		cr_assert_eq(out.flags, 3);
		cr_assert_eq(out.ttl_hint, 2);
		cr_assert_eq(out.attempt, in.attempt);
		cr_assert_eq(out.seq, 77);
		cr_assert_eq(out.payload_len, in.payload_len);
		cr_assert_arr_eq(out.payload, payload, in.payload_len);
		cr_assert_eq(rv_pdg_peek_attempt(buf, (size_t)n), in.attempt);
		cr_assert_str_neq(rv_pdg_type_str(t), "?");
	}
}

Test(pdg, a_wrong_key_any_flipped_bit_and_any_truncation_are_refused)
{
	uint8_t buf[RV_PDG_MAX], other[16] = { 0 };
	struct rv_pdg in = { .type = RV_PDG_REPLY, .attempt = 5, .seq = 1 }, out;
	int n = rv_pdg_encode(&in, key, buf, sizeof(buf));

	cr_assert_eq(rv_pdg_decode(buf, (size_t)n, other, &out), RV_EMAC);
	for (int i = 1; i < n; i++)
		for (int b = 0; b < 8; b++) {
			buf[i] ^= (uint8_t)(1 << b);
			cr_assert_lt(rv_pdg_decode(buf, (size_t)n, key, &out), 0, "byte %d bit %d",
			             i, b);
			buf[i] ^= (uint8_t)(1 << b);
		}
	for (int cut = 0; cut < n; cut++) {
		uint8_t *p = malloc((size_t)cut + 1);
		memcpy(p, buf, (size_t)cut);
		cr_assert_lt(rv_pdg_decode(p, (size_t)cut, key, &out), 0);
		cr_assert_eq(rv_pdg_peek_attempt(p, (size_t)cut), 0);
		free(p);
	}
}

Test(pdg, stun_and_channel_data_are_told_apart_by_the_first_byte)
{
	const uint8_t stun[24] = { 0x00, 0x01 }, chan[24] = { 0x40, 0x00 };
	struct rv_pdg out;

	cr_assert_eq(rv_pdg_decode(stun, sizeof(stun), key, &out), RV_ENOTSTUN);
	cr_assert_eq(rv_pdg_decode(chan, sizeof(chan), key, &out), RV_ENOTSTUN);
}

Test(pdg, bad_type_and_sizes_are_refused_both_ways)
{
	uint8_t buf[RV_PDG_MAX + 8], big[RV_PDG_MAX_PAYLOAD + 1] = { 0 };
	struct rv_pdg in = { .type = 0 }, out;

	cr_assert_eq(rv_pdg_encode(&in, key, buf, sizeof(buf)), RV_ERANGE);
	in.type = RV_PDG_TYPE_COUNT;
	cr_assert_eq(rv_pdg_encode(&in, key, buf, sizeof(buf)), RV_ERANGE);
	in.type = RV_PDG_DATA;
	in.payload = big;
	in.payload_len = sizeof(big);
	cr_assert_eq(rv_pdg_encode(&in, key, buf, sizeof(buf)), RV_ERANGE);
	in.payload_len = 10;
	cr_assert_eq(rv_pdg_encode(&in, key, buf, 20), RV_ENOSPC);
	memset(buf, 0, sizeof(buf));
	buf[0] = RV_PDG_MAGIC;
	buf[1] = 9;
	cr_assert_eq(rv_pdg_decode(buf, RV_PDG_MIN, key, &out), RV_ERANGE);
	buf[1] = 1;
	cr_assert_eq(rv_pdg_decode(buf, RV_PDG_MAX + 1, key, &out), RV_ERANGE);
}
