/* gen_report: median [min..max], and the JSON bench.sh reads. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpdk-app/gen_report.h"

Test(report, median_of_odd_and_even_counts_with_min_and_max)
{
	double odd[] = { 5, 1, 9 }, even[] = { 4, 1, 3, 10 };
	struct gen_mmm m = gen_mmm_of(odd, 3);

	cr_assert_eq(m.med, 5);
	cr_assert_eq(m.min, 1);
	cr_assert_eq(m.max, 9);
	m = gen_mmm_of(even, 4);
	cr_assert_eq(m.med, 3.5);
	cr_assert_eq(m.min, 1);
	cr_assert_eq(m.max, 10);
	m = gen_mmm_of(even, 0);
	cr_assert_eq(m.med, 0);
}

static char *print(bool json, const char *scenario)
{
	struct gen_result runs[3] = {
		{ .secs = 2, .offered = 2000, .sent = 2000, .answered = 1000, .p99_us = 10 },
		{ .secs = 2, .offered = 4000, .sent = 4000, .answered = 4000, .p99_us = 30 },
		{ .secs = 2, .offered = 6000, .sent = 6000, .answered = 6000, .p99_us = 20 },
	};
	struct gen_report_info in = {
		.tool = "rvgen", .scenario = scenario, .target = "t.pcap", .expect = 1, .frames = 3
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	gen_report_print(f, json, &in, runs, 3, NULL);
	fclose(f);
	return buf;
}

Test(report, json_carries_the_summary_medians)
{
	char *s = print(true, "binding \"flood\"\n");

	cr_assert(strstr(s, "\"scenario\":\"binding \\\"flood\\\"\\u000a\""), "%s", s);
	cr_assert(strstr(s, "\"answered_pps\":{\"median\":2000,\"min\":500,\"max\":3000}"), "%s",
	          s);
	cr_assert(strstr(s, "\"p99_us\":{\"median\":20,\"min\":10,\"max\":30}"), "%s", s);
	cr_assert(strstr(s, "\"loss\":{\"median\":0,\"min\":0,\"max\":0.5}"), "%s", s);
	cr_assert_eq(s[strlen(s) - 2], '}');
	free(s);
}

Test(report, human_output_shows_every_run_and_the_summary)
{
	char *s = print(false, "x");

	cr_assert(strstr(s, "median [min..max] of 3 run(s)"), "%s", s);
	cr_assert(strstr(s, "50.000%"), "the first run's loss: %s", s);
	free(s);
}
