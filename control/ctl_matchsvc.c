/* ctl_matchsvc.c — the match request (third embodiment): partners for the
 * requester's application that fit its requirements, direct paths first,
 * and a third party when the best partner cannot be reached directly. The
 * ranking itself is ctl_match.c's; this file is the I/O around it. */
#include <string.h>

#include "ctl_core.h"
#include "ctl_match.h"

#define CANDIDATES    64 /* read from the store per request */
#define DEFAULT_COUNT 5

int ctl_loc_match(const struct ctl_req *r)
{
	static struct ctl_reg cands[CANDIDATES];
	struct ctl_match_result res[RV_PEERS_MAX];
	const struct rv_msg *q = r->msg;
	struct ctl_reg self;
	struct rv_msg m;
	const char *app;
	size_t count;
	int n, found, code = ctl_session_auth(r, &self);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	app = (q->present & RV_BIT(RV_F_APP_ID)) ? q->app_id : self.app_id;
	if (!app[0])
		return ctl_reply_error(r, RV_C_BAD_REQUEST, "no application ID to match for");
	count = (q->present & RV_BIT(RV_F_COUNT)) && q->count ? q->count : DEFAULT_COUNT;
	n = ctl_store_reg_find_app(r->c->st, app, RV_COMM_SEEKING, self.locator, r->now_ms, cands,
	                           CANDIDATES);
	if (n < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "registry unavailable");
	found = ctl_match_find(&self, q->require, q->n_require, count, cands, (size_t)n, r->now_ms,
	                       res);
	if (found < 0)
		return ctl_reply_error(r, RV_C_BAD_REQUEST, "bad requirements");

	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	m.n_peers = (uint8_t)found;
	for (int i = 0; i < found; i++)
		ctl_match_peer(&res[i], &cands[res[i].index], &m.peers[i]);
	m.count = (uint32_t)found;
	m.present |= RV_BIT(RV_F_PEERS) | RV_BIT(RV_F_COUNT);
	if (found && !res[0].direct) {
		int via = ctl_match_third_party(&self, &cands[res[0].index], cands, (size_t)n,
		                                r->now_ms);
		if (via >= 0) {
			memcpy(m.via, cands[via].locator, RV_LOCATOR_LEN);
			m.present |= RV_BIT(RV_F_VIA);
		}
	}
	return ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));
}
