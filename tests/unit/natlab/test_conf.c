#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "tests/natlab/nat_conf.h"

static void base(struct nat_conf *c)
{
	char err[256];

	nat_conf_defaults(c);
	cr_assert_eq(nat_conf_line(c, "lan_ip = 10.0.1.1/24", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(c, "wan_ip = 198.51.100.2/24", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(c, "gateway = 198.51.100.1", err, sizeof(err)), 0);
}

/* Inline strings: Criterion runs each parameter in a fresh process. */
struct preset_case {
	char name[20];
	enum rv_map m;
	enum rv_filt f;
	bool translate;
};

ParameterizedTestParameters(conf, preset_sets_mapping_and_filtering)
{
	static struct preset_case cases[] = {
		{ "none", RV_MAP_EI, RV_FILT_EI, false },
		{ "full-cone", RV_MAP_EI, RV_FILT_EI, true },
		{ "FC", RV_MAP_EI, RV_FILT_EI, true },
		{ "restricted", RV_MAP_EI, RV_FILT_AD, true },
		{ "R", RV_MAP_EI, RV_FILT_AD, true },
		{ "port-restricted", RV_MAP_EI, RV_FILT_APD, true },
		{ "PR", RV_MAP_EI, RV_FILT_APD, true },
		{ "addr-symmetric", RV_MAP_AD, RV_FILT_AD, true },
		{ "AS", RV_MAP_AD, RV_FILT_AD, true },
		{ "port-symmetric", RV_MAP_APD, RV_FILT_APD, true },
		{ "PS", RV_MAP_APD, RV_FILT_APD, true },
	};
	return cr_make_param_array(struct preset_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct preset_case *pc, conf, preset_sets_mapping_and_filtering)
{
	struct nat_conf c;
	char err[256];

	base(&c);
	cr_assert_eq(nat_conf_set(&c, "preset", pc->name, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.map, pc->m, "%s", pc->name);
	cr_assert_eq(c.filt, pc->f, "%s", pc->name);
	cr_assert_eq(c.translate, pc->translate);
}

Test(conf, defaults_are_port_restricted_preserving_with_a_minute_lifetime)
{
	struct nat_conf c;
	char err[256];

	base(&c);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nat_conf_type(&c), RV_NAT_PORT_RESTRICTED);
	cr_assert_eq(c.alloc, RV_ALLOC_PRESERVING);
	cr_assert_eq(c.port_lo, 1024);
	cr_assert_eq(c.port_hi, 65535);
	cr_assert_eq(c.port_start, 1024);
	cr_assert_eq(c.lifetime_ms, 60000);
	cr_assert(c.hairpin);
	cr_assert(!c.refresh_inbound);
}

Test(conf, explicit_mapping_overrides_the_preset_in_any_order)
{
	struct nat_conf c;
	char err[256];

	base(&c);
	cr_assert_eq(nat_conf_line(&c, "filtering = eif", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "preset = PS", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.map, RV_MAP_APD);
	cr_assert_eq(c.filt, RV_FILT_EI);
}

Test(conf, negative_delta_starts_at_the_top_of_the_range)
{
	struct nat_conf c;
	char err[256];

	base(&c);
	cr_assert_eq(nat_conf_set(&c, "delta", "-3", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_set(&c, "port_range", "20000-29999", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.delta, -3);
	cr_assert_eq(c.port_start, 29999);
}

Test(conf, lines_allow_blanks_comments_and_spaces)
{
	struct nat_conf c;
	char err[256];

	base(&c);
	cr_assert_eq(nat_conf_line(&c, "", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "   # a comment", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "\tlifetime=2.5   # seconds", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "lambda =  7.5", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "hairpin = off", err, sizeof(err)), 0);
	cr_assert_eq(c.lifetime_ms, 2500);
	cr_assert_float_eq(c.lambda, 7.5, 1e-9);
	cr_assert(!c.hairpin);
}

Test(conf, unknown_keys_and_bad_values_name_the_key)
{
	struct nat_conf c;
	char err[256];

	base(&c);
	cr_assert_eq(nat_conf_line(&c, "colour = blue", err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "colour"), "%s", err);
	cr_assert_eq(nat_conf_line(&c, "delta = 0", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "delta"), "%s", err);
	cr_assert_eq(nat_conf_line(&c, "just words", err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "key = value"), "%s", err);

	static const char *const bad[][2] = {
		{ "preset", "blocked" },
		{ "preset", "cone" },
		{ "mapping", "EIF" },
		{ "filtering", "XYZ" },
		{ "alloc", "linear" },
		{ "delta", "1.5" },
		{ "port_range", "9-8" },
		{ "port_range", "0-10" },
		{ "port_start", "70000" },
		{ "lambda", "-1" },
		{ "lambda", "nan" },
		{ "lifetime", "0" },
		{ "hairpin", "maybe" },
		{ "max_mappings", "0" },
		{ "max_mappings", "65536" },
		{ "lan_ip", "10.0.1.0/24" },
		{ "lan_ip", "10.0.1.1" },
		{ "wan_ip", "1.2.3.4/31" },
		{ "gateway", "300.1.1.1" },
		{ "seed", "-5" },
		{ "lan_if", "" },
		{ "lan_if", "a-name-far-too-long-for-linux" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(nat_conf_set(&c, bad[i][0], bad[i][1], err, sizeof(err)), -EINVAL,
		             "accepted %s=%s", bad[i][0], bad[i][1]);
		cr_assert(strncmp(err, bad[i][0], strlen(bad[i][0])) == 0, "%s", err);
	}
}

Test(conf, finish_rejects_inconsistent_settings_naming_the_key)
{
	static const struct {
		const char *line, *key;
	} cases[] = {
		{ "gateway = 203.0.113.1", "gateway" },
		{ "lan_ip = 198.51.100.77/24", "lan_ip" },
		{ "port_start = 80", "port_start" },
		{ "delta = 65000", "delta" },
		{ "mapping = APDM", NULL }, /* with preset none below */
	};
	struct nat_conf c;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base(&c);
		cr_assert_eq(nat_conf_line(&c, cases[i].line, err, sizeof(err)), 0, "%s", err);
		if (!cases[i].key)
			cr_assert_eq(nat_conf_line(&c, "preset = none", err, sizeof(err)), 0);
		cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), -EINVAL, "accepted %s",
		             cases[i].line);
		cr_assert(strstr(err, cases[i].key ? cases[i].key : "mapping"), "%s", err);
	}
	nat_conf_defaults(&c);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "lan_ip"), "%s", err);
}

Test(conf, json_names_the_resulting_type)
{
	struct nat_conf c;
	char err[256], js[1024];

	base(&c);
	cr_assert_eq(nat_conf_line(&c, "preset = AS", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_line(&c, "alloc = sequential", err, sizeof(err)), 0);
	cr_assert_eq(nat_conf_finish(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(nat_conf_json(&c, js, sizeof(js)), 0);
	cr_assert(strstr(js, "\"type\":\"addr-symmetric\""), "%s", js);
	cr_assert(strstr(js, "\"mapping\":\"ADM\",\"filtering\":\"ADF\""), "%s", js);
	cr_assert(strstr(js, "\"alloc\":\"sequential\""), "%s", js);
	cr_assert_lt(nat_conf_json(&c, js, 10), 0);
}
