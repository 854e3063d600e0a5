/* gen_conf and gen_txid: rvgen's options, the keyed-answer map. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dpdk-app/gen_conf.h"
#include "dpdk-app/gen_txid.h"

static int parse(struct gen_conf *c, char *err, int argc, char **argv)
{
	int first, rc;

	gen_conf_defaults(c);
	rc = rv_conf_args(gen_conf_opts, c, argc, argv, NULL, &first, err, 256);
	return rc ? rc : gen_conf_check(c, err, 256);
}

#define ARGS(...)                    \
	(char *[])                   \
	{                            \
		"rvgen", __VA_ARGS__ \
	}
#define NARGS(...)         (int)(sizeof((char *[]){ "rvgen", __VA_ARGS__ }) / sizeof(char *))
#define PARSE(c, err, ...) parse(c, err, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__))

Test(conf, takes_a_scenario_with_its_flows_and_fractions)
{
	struct gen_conf c;
	char err[256] = "";

	cr_assert_eq(PARSE(&c, err, "--pcap", "x.pcap", "--flows", "1000000", "--expect", "0.7",
	                   "--rate", "5000000", "--runs", "5", "--json"),
	             0, "%s", err);
	cr_assert_eq(c.src.flows, 1000000);
	cr_assert_eq(c.src.ip_base, 198u << 24 | 18u << 16);
	cr_assert_float_eq(c.load.expect_v, 0.7, 1e-12);
	cr_assert_eq(c.load.rate, 5000000);
	cr_assert(c.load.json);
}

Test(conf, absurd_settings_are_refused_by_name)
{
	static const struct {
		const char *flag, *value, *says;
	} bad[] = {
		{ "--expect", "0", "'expect'" },
		{ "--expect", "1.5", "'expect'" },
		{ "--expect", "lots", "'expect'" },
		{ "--loss", "0.9", "'loss'" },
		{ "--resolution", "0", "'resolution'" },
		{ "--flows", "99999999999", "flows" },
		{ "--runs", "0", "runs" },
		{ "--runs", "65", "runs" },
		{ "--burst", "1000", "burst" },
		{ "--mbufs", "1024", "'mbufs'" },
		{ "--src-net", "1.2.3/8", "'flows'" },
		{ "--duration-ms", "5", "duration-ms" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gen_conf c;
		char err[256] = "";

		cr_assert_lt(PARSE(&c, err, "--pcap", "x.pcap", "--flows", "1", (char *)bad[i].flag,
		                   (char *)bad[i].value),
		             0, "%s %s accepted", bad[i].flag, bad[i].value);
		cr_assert(strstr(err, bad[i].says), "%s %s: '%s'", bad[i].flag, bad[i].value, err);
	}
}

Test(conf, needs_a_pcap_and_one_of_rate_or_search)
{
	struct gen_conf c;
	char err[256] = "";

	cr_assert_eq(PARSE(&c, err, "--runs", "2"), -EINVAL);
	cr_assert(strstr(err, "'pcap' is required"), "%s", err);
	cr_assert_eq(PARSE(&c, err, "--pcap", "x", "--search", "--rate", "5"), -EINVAL);
	cr_assert(strstr(err, "exclude"), "%s", err);
	cr_assert_eq(PARSE(&c, err, "--pcap", "x", "--paced-pct", "80", "--rate", "5"), -EINVAL);
	cr_assert(strstr(err, "'paced-pct'"), "%s", err);
	cr_assert_eq(
	        PARSE(&c, err, "--pcap", "x", "--search", "--search-lo", "9", "--search-hi", "9"),
	        -EINVAL);
}

Test(txid, finds_every_id_it_holds_and_nothing_else)
{
	struct gen_txid_map m;
	uint8_t id[GEN_TXID_LEN] = { 0 };

	cr_assert_eq(gen_txid_map_init(&m, 5000), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(id, &i, 4);
		id[11] = 0x5a;
		cr_assert_eq(gen_txid_map_add(&m, id, i * 3), 0);
	}
	cr_assert_eq(gen_txid_map_add(&m, id, 1), -EEXIST, "the first template keeps its ID");
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(id, &i, 4);
		cr_assert_eq(gen_txid_map_find(&m, id), (int64_t)i * 3);
	}
	id[11] = 0x5b;
	cr_assert_eq(gen_txid_map_find(&m, id), -1);
	gen_txid_map_free(&m);
	cr_assert_eq(gen_txid_map_find(&m, id), -1, "an empty map finds nothing");
}

Test(txid, refuses_beyond_its_capacity)
{
	struct gen_txid_map m;
	uint8_t id[GEN_TXID_LEN] = { 0 };
	int rc = 0;
	uint32_t i;

	cr_assert_eq(gen_txid_map_init(&m, 10), 0);
	for (i = 0; i < 100 && rc == 0; i++) {
		memcpy(id, &i, 4);
		rc = gen_txid_map_add(&m, id, i);
	}
	cr_assert_eq(rc, -ENOSPC);
	cr_assert_geq(i, 11);
	gen_txid_map_free(&m);
}
