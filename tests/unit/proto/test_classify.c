#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/classify.h"
#include "proto/rv_err.h"

#ifndef RV_SRCDIR
#define RV_SRCDIR "."
#endif

#define N_OF(a)     (sizeof(a) / sizeof((a)[0]))
#define FIXTURE_DIR RV_SRCDIR "/tests/vectors/nat"

/* Every fixture under tests/vectors/nat/ (see its README.md). */
struct fixture {
	char name[96];
};

static const struct fixture fixtures[] = {
	{ "change_ip_port_lost_alone_leaves_filtering_unknown.txt" },
	{ "change_port_lost_alone_is_port_dependent_filtering.txt" },
	{ "cone_across_ips_but_port_dependent_within_one_is_inconsistent.txt" },
	{ "cone_without_filter_is_full_cone.txt" },
	{ "fig30_two_ports_same_nat_port_is_not_port_sensitive.txt" },
	{ "fig30_two_ports_two_nat_ports_is_port_sensitive.txt" },
	{ "fig7_second_server_reply_is_full_cone.txt" },
	{ "fig8_pa_differs_from_pb_is_port_symmetric.txt" },
	{ "fig8_pb_differs_from_pc_is_addr_symmetric.txt" },
	{ "fig9_other_port_arrives_is_restricted.txt" },
	{ "fig9_other_port_lost_is_port_restricted.txt" },
	{ "filtering_reply_without_mapping_reply_is_not_blocked.txt" },
	{ "mapped_ip_changes_is_inconsistent.txt" },
	{ "no_translation_ipv6.txt" },
	{ "no_translation_still_reports_filtering.txt" },
	{ "no_translation_v4_mapped_v6_is_the_same_address.txt" },
	{ "nothing_answers_is_blocked.txt" },
	{ "nothing_tested_is_no_data.txt" },
	{ "port_dependent_on_one_ip_only_is_inconsistent.txt" },
	{ "rfc5780_test_iii_lost_leaves_mapping_unknown.txt" },
	{ "rfc5780_tests_i_ii_equal_is_endpoint_independent.txt" },
	{ "rfc5780_tests_i_ii_iii_address_dependent.txt" },
	{ "rfc5780_tests_i_ii_iii_port_dependent.txt" },
	{ "same_destination_twice_different_ports_is_inconsistent.txt" },
	{ "same_destination_twice_same_port_is_fine.txt" },
	{ "server_index_out_of_range_is_invalid.txt" },
};

struct expect {
	int rc, map, filt, type, port_sensitive;
	bool has_mapped;
	struct rv_addr mapped;
	unsigned seen; /* bit per required expect-* line */
};

enum { X_RC = 1, X_MAP = 2, X_FILT = 4, X_TYPE = 8, X_PS = 16, X_ALL = 31 };

static int parse_rc(const char *s)
{
	static const struct {
		const char *name;
		int rc;
	} codes[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "RV_ENODATA", RV_ENODATA },
		{ "RV_EINCONSISTENT", RV_EINCONSISTENT },
		{ "-EINVAL", -EINVAL },
	};

	for (size_t i = 0; i < N_OF(codes); i++)
		if (strcmp(s, codes[i].name) == 0)
			return codes[i].rc;
	cr_assert_fail("unknown result code '%s'", s);
	return 0;
}

/* "unknown" is 0 in every nat.h enum; the parsers only take real names. */
static int parse_enum(int (*parse)(const char *), const char *s)
{
	int v = strcmp(s, "unknown") == 0 ? 0 : parse(s);

	cr_assert_geq(v, 0, "unknown name '%s'", s);
	return v;
}

static enum rv_seen parse_seen(const char *s)
{
	for (int v = RV_SEEN_UNTESTED; v <= RV_SEEN_YES; v++)
		if (strcmp(s, rv_seen_str(v)) == 0)
			return v;
	cr_assert_fail("bad filtering outcome '%s'", s);
	return RV_SEEN_UNTESTED;
}

static void load(const char *name, struct rv_nat_obs *in, struct expect *ex)
{
	char path[512], line[256];
	unsigned lineno = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	memset(in, 0, sizeof(*in));
	memset(ex, 0, sizeof(*ex));
	while (fgets(line, sizeof(line), f)) {
		char key[32], a[64], b[64], c[64];
		char *hash = strchr(line, '#');
		int n;

		lineno++;
		if (hash)
			*hash = 0;
		n = sscanf(line, "%31s %63s %63s %63s", key, a, b, c);
		if (n <= 0)
			continue;
		if (strcmp(key, "local") == 0 && n == 2) {
			cr_assert_eq(rv_addr_parse(a, 0, &in->local), 0, "%s:%u", name, lineno);
		} else if (strcmp(key, "probe") == 0 && n == 4) {
			struct rv_map_obs *m;

			cr_assert_lt(in->n, RV_NAT_OBS_MAX, "%s:%u: too many probes", name, lineno);
			m = &in->map[in->n++];
			m->ip = (uint8_t)atoi(a);
			m->port = (uint8_t)atoi(b);
			m->answered = strcmp(c, "none") != 0;
			if (m->answered)
				cr_assert_eq(rv_addr_parse(c, 0, &m->mapped), 0, "%s:%u", name,
				             lineno);
		} else if (strcmp(key, "change-ip-port") == 0 && n == 2) {
			in->change_ip_port = parse_seen(a);
		} else if (strcmp(key, "change-port") == 0 && n == 2) {
			in->change_port = parse_seen(a);
		} else if (strcmp(key, "expect-rc") == 0 && n == 2) {
			ex->rc = parse_rc(a);
			ex->seen |= X_RC;
		} else if (strcmp(key, "expect-map") == 0 && n == 2) {
			ex->map = parse_enum(rv_map_parse, a);
			ex->seen |= X_MAP;
		} else if (strcmp(key, "expect-filt") == 0 && n == 2) {
			ex->filt = parse_enum(rv_filt_parse, a);
			ex->seen |= X_FILT;
		} else if (strcmp(key, "expect-type") == 0 && n == 2) {
			ex->type = parse_enum(rv_nat_type_parse, a);
			ex->seen |= X_TYPE;
		} else if (strcmp(key, "expect-port-sensitive") == 0 && n == 2) {
			ex->port_sensitive = parse_rc(a);
			ex->seen |= X_PS;
		} else if (strcmp(key, "expect-mapped") == 0 && n == 2) {
			cr_assert_eq(rv_addr_parse(a, 0, &ex->mapped), 0, "%s:%u", name, lineno);
			ex->has_mapped = true;
		} else {
			cr_assert_fail("%s:%u: cannot read '%s'", name, lineno, line);
		}
	}
	fclose(f);
	cr_assert_eq(ex->seen, X_ALL, "%s: an expect-* line is missing", name);
}

static void check(const char *name, const char *how, const struct rv_nat_obs *in,
                  const struct expect *ex)
{
	struct rv_nat_class out;
	char want[RV_ADDR_STRLEN], got[RV_ADDR_STRLEN];
	int rc = rv_nat_obs_classify(in, &out);

	cr_assert_eq(rc, ex->rc, "%s (%s): rc %d (%s)", name, how, rc, rv_strerror(rc));
	cr_assert_eq(out.map, ex->map, "%s (%s): map %s", name, how, rv_map_str(out.map));
	cr_assert_eq(out.filt, ex->filt, "%s (%s): filt %s", name, how, rv_filt_str(out.filt));
	cr_assert_eq(out.type, ex->type, "%s (%s): type %s", name, how, rv_nat_type_str(out.type));
	if (ex->has_mapped)
		cr_assert(rv_addr_eq(&out.mapped, &ex->mapped), "%s (%s): mapped %s, want %s", name,
		          how, rv_addr_fmt(&out.mapped, got, sizeof(got)),
		          rv_addr_fmt(&ex->mapped, want, sizeof(want)));
	rc = rv_nat_obs_port_sensitive(in);
	cr_assert_eq(rc, ex->port_sensitive, "%s (%s): port sensitive %d", name, how, rc);
}

ParameterizedTestParameters(classify, fixture_gives_the_expected_characteristic)
{
	return cr_make_param_array(struct fixture, (struct fixture *)fixtures, N_OF(fixtures));
}

ParameterizedTest(struct fixture *fx, classify, fixture_gives_the_expected_characteristic)
{
	struct rv_nat_obs in, rev;
	struct expect ex;

	load(fx->name, &in, &ex);
	check(fx->name, "as written", &in, &ex);
	/* The order probes were sent in must not matter. (The mapped address
	 * reported is the first answered one, so skip that check here.) */
	rev = in;
	for (uint32_t i = 0; i < in.n; i++)
		rev.map[i] = in.map[in.n - 1 - i];
	ex.has_mapped = false;
	check(fx->name, "reversed", &rev, &ex);
}

Test(classify, every_fixture_file_is_listed_and_every_listed_file_exists)
{
	DIR *d = opendir(FIXTURE_DIR);
	struct dirent *e;
	size_t found = 0;

	cr_assert_not_null(d, "cannot open %s", FIXTURE_DIR);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), i;

		if (len < 4 || strcmp(e->d_name + len - 4, ".txt") != 0)
			continue;
		for (i = 0; i < N_OF(fixtures); i++)
			if (strcmp(fixtures[i].name, e->d_name) == 0)
				break;
		cr_assert_lt(i, N_OF(fixtures), "%s is not in the fixture list", e->d_name);
		found++;
	}
	closedir(d);
	cr_assert_eq(found, N_OF(fixtures), "a listed fixture file is missing");
}

/* --- API misuse -------------------------------------------------------- */

static struct rv_nat_obs cone(void)
{
	struct rv_nat_obs in = { .local = rv_addr_v4(0xc0a8010a, 5000), .n = 3 };

	for (int i = 0; i < 3; i++) {
		in.map[i].ip = (uint8_t)(i == 2);
		in.map[i].port = (uint8_t)(i == 1);
		in.map[i].answered = true;
		in.map[i].mapped = rv_addr_v4(0xcb007106, 10131);
	}
	in.change_ip_port = RV_SEEN_NO;
	in.change_port = RV_SEEN_YES;
	return in;
}

Test(classify, a_well_formed_cone_is_restricted)
{
	struct rv_nat_obs in = cone();
	struct rv_nat_class out;

	cr_assert_eq(rv_nat_obs_classify(&in, &out), 0);
	cr_assert_eq(out.type, RV_NAT_RESTRICTED);
}

Test(classify, more_probes_than_the_bound_is_invalid_and_out_is_zeroed)
{
	struct rv_nat_obs in = cone();
	struct rv_nat_class out;

	in.n = RV_NAT_OBS_MAX + 1;
	memset(&out, 0xa5, sizeof(out));
	cr_assert_eq(rv_nat_obs_classify(&in, &out), -EINVAL);
	cr_assert_eq(out.type, RV_NAT_UNKNOWN);
	cr_assert_eq(out.map, RV_MAP_UNKNOWN);
	cr_assert_eq(out.filt, RV_FILT_UNKNOWN);
	cr_assert_eq(rv_nat_obs_port_sensitive(&in), -EINVAL);
}

Test(classify, an_answered_probe_without_an_address_is_invalid)
{
	struct rv_nat_obs in = cone();
	struct rv_nat_class out;

	in.map[1].mapped.family = RV_AF_NONE;
	cr_assert_eq(rv_nat_obs_classify(&in, &out), -EINVAL);
	/* Unanswered, its address does not matter. */
	in.map[1].answered = false;
	cr_assert_eq(rv_nat_obs_classify(&in, &out), 0);
}

Test(classify, out_of_range_indexes_and_outcomes_are_invalid)
{
	struct rv_nat_obs in = cone();
	struct rv_nat_class out;

	in.map[0].port = 2;
	cr_assert_eq(rv_nat_obs_classify(&in, &out), -EINVAL);
	in = cone();
	in.change_port = (enum rv_seen)3;
	cr_assert_eq(rv_nat_obs_classify(&in, &out), -EINVAL);
	in = cone();
	in.change_ip_port = (enum rv_seen) - 1;
	cr_assert_eq(rv_nat_obs_classify(&in, &out), -EINVAL);
}

Test(classify, a_family_change_between_probes_is_inconsistent)
{
	struct rv_nat_obs in = cone();
	struct rv_nat_class out;

	cr_assert_eq(rv_addr_parse("[2001:db8::6]:10131", 0, &in.map[2].mapped), 0);
	cr_assert_eq(rv_nat_obs_classify(&in, &out), RV_EINCONSISTENT);
}

Test(classify, seen_names)
{
	cr_assert_str_eq(rv_seen_str(RV_SEEN_UNTESTED), "untested");
	cr_assert_str_eq(rv_seen_str(RV_SEEN_NO), "no");
	cr_assert_str_eq(rv_seen_str(RV_SEEN_YES), "yes");
	cr_assert_str_eq(rv_seen_str((enum rv_seen)3), "?");
}
