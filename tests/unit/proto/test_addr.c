#include <criterion/criterion.h>
#include <errno.h>

#include "proto/rv_addr.h"
#include "proto/rv_buf.h"
#include "proto/rv_err.h"

Test(addr, parses_and_formats_ipv4_with_port)
{
	struct rv_addr a;
	char buf[RV_ADDR_STRLEN];

	cr_assert_eq(rv_addr_parse("192.0.2.7:3478", 0, &a), 0);
	cr_assert_eq(a.family, RV_AF_INET);
	cr_assert_eq(a.port, 3478);
	cr_assert_eq(rv_addr_v4_host(&a), 0xc0000207u);
	cr_assert_str_eq(rv_addr_fmt(&a, buf, sizeof(buf)), "192.0.2.7:3478");
}

Test(addr, parses_bracketed_and_bare_ipv6)
{
	struct rv_addr a, b;
	char buf[RV_ADDR_STRLEN];

	cr_assert_eq(rv_addr_parse("[2001:db8::1]:9", 0, &a), 0);
	cr_assert_eq(a.family, RV_AF_INET6);
	cr_assert_eq(a.port, 9);
	cr_assert_str_eq(rv_addr_fmt(&a, buf, sizeof(buf)), "[2001:db8::1]:9");
	cr_assert_eq(rv_addr_parse("2001:db8::1", 9, &b), 0);
	cr_assert(rv_addr_eq(&a, &b));
}

Test(addr, default_port_applies_when_absent)
{
	struct rv_addr a;

	cr_assert_eq(rv_addr_parse("198.51.100.1", 3479, &a), 0);
	cr_assert_eq(a.port, 3479);
}

Test(addr, rejects_garbage)
{
	struct rv_addr a;
	const char *bad[] = { "",           "1.2.3",       "1.2.3.4:", "1.2.3.4:65536",
		              "1.2.3.4:-1", "[::1",        "[::1]x",   "[::1]:a",
		              "host:80",    "1.2.3.4:80x", NULL };

	for (int i = 0; bad[i]; i++)
		cr_assert_eq(rv_addr_parse(bad[i], 1, &a), -EINVAL, "accepted '%s'", bad[i]);
	cr_assert_eq(rv_addr_parse(NULL, 1, &a), -EINVAL);
}

Test(addr, normalize_turns_v4_mapped_v6_into_v4)
{
	struct rv_addr a, b = rv_addr_v4(0xcb007101u, 5);

	cr_assert_eq(rv_addr_parse("[::ffff:203.0.113.1]:5", 0, &a), 0);
	cr_assert_eq(a.family, RV_AF_INET6);
	rv_addr_normalize(&a);
	cr_assert(rv_addr_eq(&a, &b));
	/* A plain v6 address is left alone. */
	cr_assert_eq(rv_addr_parse("[2001:db8::ffff:1]:5", 0, &a), 0);
	rv_addr_normalize(&a);
	cr_assert_eq(a.family, RV_AF_INET6);
}

Test(addr, equality_distinguishes_port_and_family)
{
	struct rv_addr a = rv_addr_v4(0x01020304, 1), b = rv_addr_v4(0x01020304, 2);

	cr_assert(!rv_addr_eq(&a, &b));
	cr_assert(rv_addr_ip_eq(&a, &b));
	b.family = RV_AF_INET6;
	cr_assert(!rv_addr_ip_eq(&a, &b));
}

Test(buf, read_error_sticks_and_reads_return_zero)
{
	const uint8_t in[3] = { 1, 2, 3 };
	struct rv_rd r = rv_rd_make(in, sizeof(in));

	cr_assert_eq(rv_rd_u16(&r), 0x0102);
	cr_assert_eq(rv_rd_u16(&r), 0);
	cr_assert_eq(r.err, RV_ETRUNC);
	/* A read that would fit now still fails: the error sticks. */
	cr_assert_eq(rv_rd_u8(&r), 0);
	cr_assert_eq(rv_rd_left(&r), 0);
}

Test(buf, write_error_sticks_and_nothing_is_written_past_cap)
{
	uint8_t out[6] = { 0 };
	struct rv_wr w = rv_wr_make(out, 5);

	rv_wr_u32(&w, 0xa1a2a3a4);
	rv_wr_u16(&w, 0xb1b2);
	cr_assert_eq(w.err, RV_ENOSPC);
	rv_wr_u8(&w, 0xcc);
	cr_assert_eq(w.off, 4);
	cr_assert_eq(out[4], 0);
	cr_assert_eq(out[5], 0);
}

Test(err, strerror_names_domain_codes_and_errno)
{
	cr_assert_str_eq(rv_strerror(RV_ETRUNC), "truncated input");
	cr_assert_str_eq(rv_strerror(0), "success");
	cr_assert_str_eq(rv_strerror(-ENOMEM), strerror(ENOMEM));
	for (int e = RV_EBASE; e < RV_ELAST; e++)
		cr_assert_not_null(rv_strerror(e));
	cr_assert_str_eq(rv_strerror(-100000), "unknown error");
}
