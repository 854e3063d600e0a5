/* ChannelData framing and the relay quota. */
#include <criterion/criterion.h>
#include <string.h>

#include "proto/relay.h"
#include "proto/rv_err.h"

Test(relay, a_header_round_trips_and_is_told_from_stun)
{
	uint8_t b[16] = { 0 };
	uint16_t ch, n;

	rv_relay_put_hdr(b, 0x4abc, 12);
	cr_assert(rv_relay_is_chdata(b, sizeof(b)));
	cr_assert_eq(rv_relay_parse(b, 16, &ch, &n), 0);
	cr_assert_eq(ch, 0x4abc);
	cr_assert_eq(n, 12);
	/* A STUN header (first byte 0..3) and a peer datagram (0xD7) are not. */
	uint8_t stun[20] = { 0x00, 0x01 }, pdg[24] = { 0xD7 };
	cr_assert_not(rv_relay_is_chdata(stun, sizeof(stun)));
	cr_assert_not(rv_relay_is_chdata(pdg, sizeof(pdg)));
	cr_assert_not(rv_relay_is_chdata(b, 3), "shorter than a header");
}

Test(relay, hostile_headers_are_refused)
{
	uint8_t b[64] = { 0 };
	uint16_t ch = 1, n = 1;

	cr_assert_eq(rv_relay_parse(b, 3, &ch, &n), RV_ETRUNC);
	rv_relay_put_hdr(b, 0x4000, 10);
	cr_assert_eq(rv_relay_parse(b, 13, &ch, &n), RV_ETRUNC, "one byte short");
	cr_assert_eq(rv_relay_parse(b, 14, &ch, &n), 0);
	cr_assert_eq(rv_relay_parse(b, 17, &ch, &n), 0, "3 bytes of padding");
	cr_assert_eq(rv_relay_parse(b, 18, &ch, &n), RV_ELEN, "4 trailing bytes");
	rv_relay_put_hdr(b, 0x5000, 0);
	cr_assert_eq(rv_relay_parse(b, 4, &ch, &n), RV_ERANGE, "0x5000 is not a channel");
	rv_relay_put_hdr(b, 0x3fff, 0);
	cr_assert_eq(rv_relay_parse(b, 4, &ch, &n), RV_ERANGE);
	rv_relay_put_hdr(b, 0x4fff, 0xffff);
	ch = n = 1;
	cr_assert_eq(rv_relay_parse(b, sizeof(b), &ch, &n), RV_ETRUNC, "absurd length");
	cr_assert_eq(ch, 1, "nothing written on failure");
	cr_assert_eq(n, 1);
}

Test(relay, the_byte_quota_covers_both_directions_exactly)
{
	struct rv_relay_quota q = { .bytes = 1000 };
	struct rv_relay_use a, b;

	rv_relay_use_init(&a, &q, 0);
	rv_relay_use_init(&b, &q, 0);
	cr_assert_eq(rv_relay_charge(&q, &a, b.bytes, 1, 600), RV_RELAY_PASS);
	cr_assert_eq(rv_relay_charge(&q, &b, a.bytes, 1, 401), RV_RELAY_OVER_BYTES,
	             "600 + 401 > 1000");
	cr_assert_eq(rv_relay_charge(&q, &b, a.bytes, 1, 400), RV_RELAY_PASS, "exactly 1000");
	cr_assert_eq(rv_relay_charge(&q, &a, b.bytes, 1, 1), RV_RELAY_OVER_BYTES);
	cr_assert_eq(a.packets, 1);
	cr_assert_eq(a.bytes, 600);
	cr_assert_eq(a.dropped, 1);
	cr_assert_eq(b.dropped, 1);
	cr_assert_eq(rv_relay_charge(&q, &a, UINT64_MAX, 1, 1), RV_RELAY_OVER_BYTES,
	             "a wild other side does not wrap around");
}

Test(relay, expiry_ends_the_relay_at_its_millisecond)
{
	struct rv_relay_quota q = { .expires_ms = 5000 };
	struct rv_relay_use u;

	rv_relay_use_init(&u, &q, 0);
	cr_assert_eq(rv_relay_charge(&q, &u, 0, 4999, 100), RV_RELAY_PASS);
	cr_assert_eq(u.seen_ms, 4999);
	cr_assert_eq(rv_relay_charge(&q, &u, 0, 5000, 100), RV_RELAY_EXPIRED);
	cr_assert_str_eq(rv_relay_verdict_str(RV_RELAY_EXPIRED), "expired");
}

Test(relay, the_rate_allows_the_burst_then_the_refill)
{
	struct rv_relay_quota q = { .rate_pps = 100, .burst = 10 };
	struct rv_relay_use u;
	int passed = 0;

	rv_relay_use_init(&u, &q, 1000);
	for (int i = 0; i < 50; i++)
		passed += rv_relay_charge(&q, &u, 0, 1000, 10) == RV_RELAY_PASS;
	cr_assert_eq(passed, 10, "the burst, at one instant");
	/* 100 per second: one more every 10 ms. */
	cr_assert_eq(rv_relay_charge(&q, &u, 0, 1009, 10), RV_RELAY_OVER_RATE);
	cr_assert_eq(rv_relay_charge(&q, &u, 0, 1010, 10), RV_RELAY_PASS);
	cr_assert_eq(rv_relay_charge(&q, &u, 0, 1010, 10), RV_RELAY_OVER_RATE);
	/* A long pause refills to the burst, not beyond. */
	passed = 0;
	for (int i = 0; i < 50; i++)
		passed += rv_relay_charge(&q, &u, 0, 1000000, 10) == RV_RELAY_PASS;
	cr_assert_eq(passed, 10);
	/* A clock that goes backwards adds nothing. */
	cr_assert_eq(rv_relay_charge(&q, &u, 0, 10, 10), RV_RELAY_OVER_RATE);
}

Test(relay, no_limits_means_everything_passes_and_is_counted)
{
	struct rv_relay_quota q = { 0 };
	struct rv_relay_use u;

	rv_relay_use_init(&u, &q, 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(rv_relay_charge(&q, &u, 0, (uint64_t)i, 1200), RV_RELAY_PASS);
	cr_assert_eq(u.packets, 1000);
	cr_assert_eq(u.bytes, 1200000);
}
