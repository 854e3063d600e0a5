/* gen_pkt: classification, source rewriting and stamps against frames
 * built by an independent implementation (pktgen-scenarios/scenlib.py). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dpdk-app/gen_pkt.h"
#include "tests/bench/sessions.h"

/* Written by pktgen-scenarios/scenlib.py (tests/dp/dplib.py's checksums and
 * STUN encoder): an implementation independent of gen_pkt.c. */
static const uint8_t BIND[] = "\x02\x00\x00\x00\x00\x01\x02\xc0\xc6\x12\x00\x00\x08\x00\x45\x00"
                              "\x00\x30\x00\x00\x40\x00\x40\x11\xb2\xa9\xc6\x12\x00\x00\xc0\x00"
                              "\x02\x01\x04\x00\x0d\x96\x00\x1c\x7c\x8c\x00\x01\x00\x00\x21\x12"
                              "\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c";
static const uint8_t BIND_MOVED[] =
        "\x02\x00\x00\x00\x00\x01\x02\xc0\xc6\x12\x00\x00\x08\x00\x45\x00"
        "\x00\x30\x00\x00\x40\x00\x40\x11\xb4\xa4\xc6\x13\xfe\x03\xc0\x00"
        "\x02\x01\xfd\xe8\x0d\x96\x00\x1c\x84\x9e\x00\x01\x00\x00\x21\x12"
        "\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c";
static const uint8_t BIND_STAMPED[] =
        "\x02\x00\x00\x00\x00\x01\x02\xc0\xc6\x12\x00\x00\x08\x00\x45\x00"
        "\x00\x30\x00\x00\x40\x00\x40\x11\xb4\xa4\xc6\x13\xfe\x03\xc0\x00"
        "\x02\x01\xfd\xe8\x0d\x96\x00\x1c\x71\x4b\x00\x01\x00\x00\x21\x12"
        "\xa4\x42\x52\x56\x47\x01\x01\x23\x45\x67\x89\xab\xcd\xef";
static const uint8_t BIND_FP[] = "\x02\x00\x00\x00\x00\x01\x02\xc0\xc6\x12\x00\x00\x08\x00\x45\x00"
                                 "\x00\x38\x00\x00\x40\x00\x40\x11\xb2\xa1\xc6\x12\x00\x00\xc0\x00"
                                 "\x02\x01\x04\x00\x0d\x96\x00\x24\xa7\x5a\x00\x01\x00\x08\x21\x12"
                                 "\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x80\x28"
                                 "\x00\x04\x5b\x20\xf9\xcc";
static const uint8_t PROBE[] = "\x02\x00\x00\x00\x00\x01\x02\xc0\xc6\x12\x00\x00\x08\x00\x45\x00"
                               "\x00\x50\x00\x00\x40\x00\x40\x11\xb2\x89\xc6\x12\x00\x00\xc0\x00"
                               "\x02\x01\x04\x00\x0d\x96\x00\x3c\x57\x43\x00\x01\x00\x20\x21\x12"
                               "\xa4\x42\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\xc7\x22"
                               "\x00\x14\x63\xcb\x88\x39\x18\xa4\xe0\xe9\x01\x00\x00\x05\x5c\xbc"
                               "\x4a\xd3\x8c\x8a\x94\x32\x80\x28\x00\x04\xaa\xc5\x83\xdb";
static const uint8_t CLASSIC[] = "\x02\x00\x00\x00\x00\x01\x02\xc0\xc6\x12\x00\x00\x08\x00\x45\x00"
                                 "\x00\x30\x00\x00\x40\x00\x40\x11\xb2\xa9\xc6\x12\x00\x00\xc0\x00"
                                 "\x02\x01\x04\x00\x0d\x96\x00\x1c\x2d\xcb\x00\x01\x00\x00\x00\x01"
                                 "\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f";

#define LEN(a) (uint16_t)(sizeof(a) - 1)

static void inspect(const uint8_t *f, uint16_t len, struct gen_frame_info *fi, uint8_t *copy)
{
	memcpy(copy, f, len);
	gen_frame_inspect(copy, len, fi);
}

Test(pkt, tells_stamped_keyed_and_other_frames_apart)
{
	uint8_t buf[256];
	struct gen_frame_info fi;

	inspect(BIND, LEN(BIND), &fi, buf);
	cr_assert_eq(fi.kind, GEN_K_STAMP);
	cr_assert_eq(fi.l3, 14);
	cr_assert_eq(fi.l4, 34);
	cr_assert_eq(fi.stun, 42);
	inspect(BIND_FP, LEN(BIND_FP), &fi, buf);
	cr_assert_eq(fi.kind, GEN_K_KEYED, "FINGERPRINT covers the ID");
	inspect(PROBE, LEN(PROBE), &fi, buf);
	cr_assert_eq(fi.kind, GEN_K_KEYED, "the probe MAC covers the ID");
	inspect(CLASSIC, LEN(CLASSIC), &fi, buf);
	cr_assert_eq(fi.kind, GEN_K_OTHER, "RFC 3489: no cookie");
	cr_assert_eq(fi.l4, 34, "still rewritable");
	inspect(BIND, LEN(BIND), &fi, buf);
	buf[20] = 0x20; /* more fragments */
	gen_frame_inspect(buf, LEN(BIND), &fi);
	cr_assert_eq(fi.l4, 0);
	cr_assert_eq(fi.kind, GEN_K_OTHER);
	inspect(BIND, LEN(BIND), &fi, buf);
	buf[45] = 8; /* STUN length past the datagram */
	gen_frame_inspect(buf, LEN(BIND), &fi);
	cr_assert_eq(fi.kind, GEN_K_OTHER);
	cr_assert_eq(fi.stun, 0);
	gen_frame_inspect(BIND, 13, &fi);
	cr_assert_eq(fi.l3, 0);
}

Test(pkt, sees_through_one_vlan_tag)
{
	uint8_t buf[256];
	struct gen_frame_info fi;

	memcpy(buf, BIND, 12);
	memcpy(buf + 12, "\x81\x00\x00\x07", 4);
	memcpy(buf + 16, BIND + 12, LEN(BIND) - 12);
	gen_frame_inspect(buf, LEN(BIND) + 4, &fi);
	cr_assert_eq(fi.kind, GEN_K_STAMP);
	cr_assert_eq(fi.l3, 18);
	cr_assert_eq(fi.stun, 46);
}

Test(pkt, rewritten_source_and_stamp_give_the_independent_frames_byte_for_byte)
{
	uint8_t buf[256];
	struct gen_frame_info fi;
	const uint32_t ip = 198u << 24 | 19u << 16 | 254u << 8 | 3u;

	inspect(BIND, LEN(BIND), &fi, buf);
	gen_frame_set_src(buf, &fi, ip, 65000);
	cr_assert_arr_eq(buf, BIND_MOVED, LEN(BIND));
	gen_frame_stamp(buf, &fi, 0x0123456789abcdefull);
	cr_assert_arr_eq(buf, BIND_STAMPED, LEN(BIND));
	cr_assert_eq(gen_csum(buf + 14, 20), 0, "IPv4 header checksum");
	cr_assert_eq(buf[40] << 8 | buf[41], gen_udp_csum(buf, &fi));
}

Test(pkt, rewriting_keeps_checksums_right_over_many_sources)
{
	uint8_t buf[256];
	struct gen_frame_info fi;
	struct gen_src src;
	struct gen_src_it it = { 0 };
	char err[128];

	cr_assert_eq(gen_src_parse("198.18.0.0/15", "1-65535", 300000, &src, err, sizeof(err)), 0);
	inspect(PROBE, LEN(PROBE), &fi, buf);
	for (int i = 0; i < 300000; i += 1) {
		uint32_t ip;
		uint16_t port;

		gen_src_next(&src, &it, &ip, &port);
		gen_frame_set_src(buf, &fi, ip, port);
		if (i % 997)
			continue;
		cr_assert_eq(gen_csum(buf + 14, 20), 0, "IPv4 checksum at flow %d", i);
		cr_assert_eq(buf[40] << 8 | buf[41], gen_udp_csum(buf, &fi), "UDP at flow %d", i);
	}
}

Test(pkt, no_udp_checksum_stays_none)
{
	uint8_t buf[256];
	struct gen_frame_info fi;

	inspect(BIND, LEN(BIND), &fi, buf);
	buf[40] = buf[41] = 0;
	gen_frame_set_src(buf, &fi, 0xc6120001, 5000);
	gen_frame_stamp(buf, &fi, 42);
	cr_assert_eq(buf[40] | buf[41], 0);
	cr_assert_eq(gen_csum(buf + 14, 20), 0);
}

Test(pkt, answers_give_back_their_id_and_stamp)
{
	uint8_t buf[256], stun[20] = { 0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	const uint8_t *id;
	uint64_t t;

	id = gen_frame_txid(BIND_STAMPED, LEN(BIND_STAMPED));
	cr_assert_eq(id, BIND_STAMPED + 50);
	cr_assert(gen_txid_stamp(id, &t));
	cr_assert_eq(t, 0x0123456789abcdefull);
	id = gen_frame_txid(BIND, LEN(BIND));
	cr_assert_not_null(id);
	cr_assert_not(gen_txid_stamp(id, &t), "a random ID is no stamp");
	cr_assert_null(gen_frame_txid(CLASSIC, LEN(CLASSIC)));
	memcpy(buf, BIND, LEN(BIND));
	buf[23] = 6; /* TCP */
	cr_assert_null(gen_frame_txid(buf, LEN(BIND)));
	gen_stun_stamp(stun, 77);
	cr_assert(gen_txid_stamp(gen_stun_txid(stun, sizeof(stun)), &t));
	cr_assert_eq(t, 77);
	cr_assert_null(gen_stun_txid(stun, 19));
}

Test(pkt, channeldata_carries_its_stamp_in_the_data_a_relay_forwards)
{
	uint8_t buf[256];
	struct gen_frame_info fi;
	uint64_t t;

	inspect(BIND, LEN(BIND), &fi, buf);
	/* The same 20-byte payload as ChannelData: channel 0x4001, 16 data bytes. */
	memcpy(buf + 42, "\x40\x01\x00\x10", 4);
	buf[40] = buf[41] = 0;
	t = gen_udp_csum(buf, &fi);
	buf[40] = (uint8_t)(t >> 8), buf[41] = (uint8_t)t;
	gen_frame_inspect(buf, LEN(BIND), &fi);
	cr_assert_eq(fi.kind, GEN_K_STAMP);
	cr_assert_eq(fi.stamp, 46, "after the 4-byte ChannelData header");
	gen_frame_stamp(buf, &fi, 99);
	cr_assert_eq(buf[40] << 8 | buf[41], gen_udp_csum(buf, &fi));
	cr_assert_eq(gen_frame_txid(buf, LEN(BIND)), buf + 46);
	cr_assert(gen_txid_stamp(buf + 46, &t));
	cr_assert_eq(t, 99);
	buf[45] = 11; /* too short for a stamp: not timed */
	gen_frame_inspect(buf, LEN(BIND), &fi);
	cr_assert_eq(fi.kind, GEN_K_OTHER);
	cr_assert_null(gen_payload_id(buf + 42, 15));
}

Test(pkt, flows_walk_every_source_then_wrap)
{
	struct gen_src s;
	struct gen_src_it it = { 0 };
	uint32_t ip;
	uint16_t port;
	char err[128];

	cr_assert_eq(gen_src_parse("10.1.2.3/31", "100-102", 5, &s, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(s.ip_base, 0x0a010202u, "the network, not the address given");
	static const uint32_t ips[] = { 0, 0, 0, 1, 1, 0 };
	static const uint16_t ports[] = { 100, 101, 102, 100, 101, 100 };
	for (int i = 0; i < 6; i++) {
		gen_src_next(&s, &it, &ip, &port);
		cr_assert_eq(ip, 0x0a010202u + ips[i], "flow %d", i);
		cr_assert_eq(port, ports[i], "flow %d", i);
	}
}

Test(pkt, source_ranges_that_cannot_be_are_refused)
{
	struct gen_src s;
	char err[128];

	cr_assert_eq(gen_src_parse("10.0.0.0/31", "1-2", 5, &s, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "do not fit"), "%s", err);
	cr_assert_eq(gen_src_parse("10.0.0.0/7", "1-2", 1, &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gen_src_parse("10.0.0/8", "1-2", 1, &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gen_src_parse("10.0.0.0/8", "0-2", 1, &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gen_src_parse("10.0.0.0/8", "9-2", 1, &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gen_src_parse("10.0.0.0/8", "1-65536", 1, &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(gen_src_parse("10.0.0.1/32", "53", 1, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.n_ips * s.n_ports, 1);
}

Test(pkt, bench_sessions_match_the_python_scenarios)
{
	static const uint8_t want[16] = { 0xd7, 0xc3, 0xe7, 0x56, 0x57, 0xeb, 0x71, 0x1c,
		                          0x67, 0xc4, 0x55, 0x76, 0xf9, 0x46, 0x52, 0xd4 };
	uint8_t key[16];
	uint64_t id;

	bench_session(7, 0, &id, key);
	cr_assert_eq(id, 0x63cb883918a4e0e9ull, "scenlib.session(7, 0)");
	cr_assert_arr_eq(key, want, 16);
}
