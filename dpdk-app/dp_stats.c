/* dp_stats.c — counters: DPDK telemetry (/rvdp/stats) and the exit report. */
#include <inttypes.h>
#include <stdio.h>

#include <rte_telemetry.h>

#include "dp_app.h"

/* Telemetry callbacks carry no user pointer. */
static const struct dp_app *stats_app;

uint64_t dp_app_counter(const struct dp_app *app, enum dp_ctr c)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < app->n_lcores; i++)
		sum += app->lcores[i].ctr[c];
	return sum;
}

static int stats_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp_app *app = stats_app;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (int c = 0; c < DP_C_COUNT; c++)
		rte_tel_data_add_dict_u64(d, dp_ctr_name((enum dp_ctr)c),
		                          dp_app_counter(app, (enum dp_ctr)c));
	rte_tel_data_add_dict_u64(d, "sessions", dp_table_count(app->table));
	rte_tel_data_add_dict_u64(d, "relays", dp_relay_count(app->relays));
	rte_tel_data_add_dict_u64(d, "relay_bound", app->relay_bound);
	rte_tel_data_add_dict_u64(d, "relay_rebound", app->relay_rebound);
	rte_tel_data_add_dict_u64(d, "relay_bind_gone", app->relay_bind_gone);
	rte_tel_data_add_dict_u64(d, "punt_sent", app->punt_sent);
	rte_tel_data_add_dict_u64(d, "punt_no_control", app->punt_no_control);
	rte_tel_data_add_dict_u64(d, "ctl_send_ok", app->send_ok);
	rte_tel_data_add_dict_u64(d, "ctl_send_bad", app->send_bad);
	return 0;
}

int dp_stats_register(struct dp_app *app)
{
	stats_app = app;
	return rte_telemetry_register_cmd("/rvdp/stats", stats_cb,
	                                  "rvdp counters summed over lcores. Takes no parameters");
}

void dp_stats_print(const struct dp_app *app, FILE *out, bool json)
{
	const char *sep = "";

	if (json)
		fprintf(out, "{\"counters\": {");
	else
		fprintf(out, "rvdp counters (non-zero):\n");
	for (int c = 0; c < DP_C_COUNT; c++) {
		uint64_t v = dp_app_counter(app, (enum dp_ctr)c);

		if (json) {
			fprintf(out, "%s\"%s\": %" PRIu64, sep, dp_ctr_name((enum dp_ctr)c), v);
			sep = ", ";
		} else if (v) {
			fprintf(out, "  %-24s %" PRIu64 "\n", dp_ctr_name((enum dp_ctr)c), v);
		}
	}
	if (json)
		fprintf(out,
		        "}, \"punt_sent\": %" PRIu64 ", \"punt_no_control\": %" PRIu64
		        ", \"ctl_send_ok\": %" PRIu64 ", \"ctl_send_bad\": %" PRIu64
		        ", \"relay_bound\": %" PRIu64 ", \"relay_rebound\": %" PRIu64
		        ", \"relay_bind_gone\": %" PRIu64
		        ", \"session_bytes\": %zu, \"relay_entry_bytes\": %zu}\n",
		        app->punt_sent, app->punt_no_control, app->send_ok, app->send_bad,
		        app->relay_bound, app->relay_rebound, app->relay_bind_gone,
		        dp_table_node_bytes(), dp_relay_entry_bytes());
	else
		fprintf(out,
		        "  punted to rvcontrol %" PRIu64 ", dropped for want of it %" PRIu64
		        ", control sends %" PRIu64 " ok / %" PRIu64 " refused\n"
		        "  relay binds applied %" PRIu64 " (%" PRIu64
		        " renewals), for relays already gone %" PRIu64 "\n",
		        app->punt_sent, app->punt_no_control, app->send_ok, app->send_bad,
		        app->relay_bound + app->relay_rebound, app->relay_rebound,
		        app->relay_bind_gone);
}
