/* gen_pcap: classic pcap in, templates out; anything else refused with
 * the record and offset. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_pcap.h"

struct img {
	uint8_t *p;
	size_t n;
};

static void put32(struct img *m, uint32_t v, bool swap)
{
	if (swap)
		v = __builtin_bswap32(v);
	m->p = realloc(m->p, m->n + 4);
	memcpy(m->p + m->n, &v, 4);
	m->n += 4;
}

static void put_bytes(struct img *m, const void *b, size_t n)
{
	m->p = realloc(m->p, m->n + n);
	memcpy(m->p + m->n, b, n);
	m->n += n;
}

/* A pcap header (magic in the given order), then frames of the given sizes. */
static struct img image(uint32_t magic, bool swap, uint32_t link, const uint32_t *sizes, unsigned n)
{
	struct img m = { NULL, 0 };
	static uint8_t frame[9100];

	put32(&m, magic, swap);
	put32(&m, 2 | 4u << 16, swap); /* version 2.4 (byte order not checked) */
	put32(&m, 0, swap);
	put32(&m, 0, swap);
	put32(&m, 65535, swap);
	put32(&m, link, swap);
	for (unsigned i = 0; i < n; i++) {
		memset(frame, (int)i + 1, sizeof(frame));
		put32(&m, 1000 + i, swap);
		put32(&m, 0, swap);
		put32(&m, sizes[i], swap);
		put32(&m, sizes[i], swap);
		put_bytes(&m, frame, sizes[i]);
	}
	return m;
}

static int parse(struct img m, struct gen_pcap *out, char *err)
{
	return gen_pcap_parse(m.p, m.n, 1518, out, err, 256);
}

Test(pcap, reads_every_frame_in_order_in_both_byte_orders_and_ns_stamps)
{
	static const uint32_t sizes[] = { 60, 1514, 14, 98 };
	static const uint32_t magics[] = { 0xa1b2c3d4u, 0xa1b23c4du };

	for (int swap = 0; swap < 2; swap++)
		for (int k = 0; k < 2; k++) {
			struct gen_pcap p;
			char err[256] = "";

			cr_assert_eq(parse(image(magics[k], swap, 1, sizes, 4), &p, err), 0, "%s",
			             err);
			cr_assert_eq(p.n, 4);
			cr_assert_eq(p.frame_bytes, 60 + 1514 + 14 + 98);
			for (unsigned i = 0; i < 4; i++) {
				cr_assert_eq(p.len[i], sizes[i]);
				cr_assert_eq(p.buf[p.off[i]], i + 1);
				cr_assert_eq(p.buf[p.off[i] + p.len[i] - 1], i + 1);
			}
			gen_pcap_free(&p);
		}
}

static void refused(struct img m, int rc, const char *needle)
{
	struct gen_pcap p;
	char err[256] = "";

	cr_assert_eq(parse(m, &p, err), rc, "rc for '%s' (err: %s)", needle, err);
	cr_assert(strstr(err, needle), "'%s' does not say '%s'", err, needle);
	cr_assert_null(p.buf);
	cr_assert_null(p.off);
}

Test(pcap, refuses_what_it_cannot_replay_and_says_where)
{
	static const uint32_t ok[] = { 60, 60 };
	static const uint32_t runt[] = { 60, 13 };
	static const uint32_t jumbo[] = { 9000 };
	struct img m;

	refused(image(0x0a0d0d0a, false, 1, ok, 2), -EINVAL, "pcapng");
	refused(image(0x12345678, false, 1, ok, 2), -EINVAL, "not a pcap");
	refused(image(0xa1b2c3d4, false, 105, ok, 2), -EINVAL, "link type 105");
	refused(image(0xa1b2c3d4, false, 1, ok, 0), -EINVAL, "no records");
	refused(image(0xa1b2c3d4, false, 1, runt, 2), -EINVAL, "record 1 at byte 100");
	refused(image(0xa1b2c3d4, false, 1, jumbo, 1), -EINVAL, "9000-byte frame");
	m = image(0xa1b2c3d4, false, 1, ok, 2);
	m.n -= 1; /* the last frame loses a byte */
	refused(m, -EINVAL, "60 bytes announced, 59 left");
	m = image(0xa1b2c3d4, false, 1, ok, 2);
	m.n = 24 + 76 + 10; /* the second record header cut */
	refused(m, -EINVAL, "truncated record header");
	m = image(0xa1b2c3d4, false, 1, ok, 2);
	m.p[24 + 12] = 61; /* wire length 61, captured 60 */
	refused(m, -EINVAL, "cut to 60 of 61");
	m = image(0xa1b2c3d4, false, 1, ok, 2);
	m.n = 23;
	refused(m, -EINVAL, "shorter than a pcap header");
}

Test(pcap, load_names_the_file_and_the_missing_one)
{
	struct gen_pcap p;
	char err[256] = "";

	cr_assert_eq(gen_pcap_load("/nonexistent/x.pcap", 1518, &p, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/nonexistent/x.pcap: "), "%s", err);
	cr_assert_eq(gen_pcap_load(RV_SRCDIR "/README.md", 1518, &p, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "README.md: not a pcap file"), "%s", err);
}
