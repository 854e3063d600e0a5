/* ctl_group.c — groups (the device-ID document's second embodiment):
 * create, join, leave, list every member, query the online ones with
 * their addresses. Listings page by RV_PEERS_MAX with RV-OFFSET, and carry
 * the group's size in RV-COUNT.
 */
#include <errno.h>
#include <string.h>

#include "ctl_core.h"

static int members(const struct ctl_req *r, const struct ctl_reg *self, bool online_only,
                   struct rv_msg *m)
{
	struct ctl *c = r->c;
	uint8_t batch[RV_PEERS_MAX][RV_LOCATOR_LEN];
	uint32_t offset = (r->msg->present & RV_BIT(RV_F_OFFSET)) ? r->msg->offset : 0, total = 0;
	int n;

	/* Query pages over online members: read ahead until a page fills. */
	for (;;) {
		n = ctl_store_group_members(c->st, r->msg->group_id, offset, batch, RV_PEERS_MAX,
		                            &total);
		if (n < 0)
			return n;
		for (int i = 0; i < n && m->n_peers < RV_PEERS_MAX; i++) {
			struct ctl_reg g;
			struct rv_peer *p = &m->peers[m->n_peers];

			if (ctl_store_reg_get(c->st, batch[i], &g) == 0) {
				ctl_peer_of(&g, self, r->now_ms, p);
			} else {
				memset(p, 0, sizeof(*p));
				memcpy(p->locator, batch[i], RV_LOCATOR_LEN);
			}
			if (!online_only || p->status == RV_ONLINE)
				m->n_peers++;
		}
		offset += (uint32_t)n;
		if (!online_only || n < RV_PEERS_MAX || m->n_peers == RV_PEERS_MAX)
			break;
	}
	m->count = total;
	m->offset = offset;
	m->present |= RV_BIT(RV_F_PEERS) | RV_BIT(RV_F_COUNT) | RV_BIT(RV_F_OFFSET) |
	              RV_BIT(RV_F_GROUP_ID);
	return 0;
}

int ctl_group_op(const struct ctl_req *r)
{
	struct ctl *c = r->c;
	const struct rv_msg *q = r->msg;
	struct ctl_reg self;
	struct rv_msg m;
	int rc, code = ctl_session_auth(r, &self);

	if (code)
		return ctl_reply_error(r, (enum rv_code)code, NULL);
	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	memcpy(m.group_id, q->group_id, sizeof(m.group_id));
	switch (q->group_op) {
	case RV_GROUP_CREATE:
		rc = ctl_store_group_create(c->st, q->group_id, self.locator, c->conf.group_max,
		                            r->now_ms / 1000);
		break;
	case RV_GROUP_JOIN:
		rc = ctl_store_group_join(c->st, q->group_id, self.locator);
		break;
	case RV_GROUP_LEAVE:
		rc = ctl_store_group_leave(c->st, q->group_id, self.locator);
		if (rc == -ENOENT)
			return ctl_reply_error(r, RV_C_NOT_MEMBER, NULL);
		break;
	case RV_GROUP_LIST:
	case RV_GROUP_QUERY:
		/* Only members see who else is in a group. */
		rc = ctl_store_group_is_member(c->st, q->group_id, self.locator);
		if (rc == 0)
			return ctl_reply_error(r, RV_C_NOT_MEMBER, NULL);
		if (rc > 0)
			rc = members(r, &self, q->group_op == RV_GROUP_QUERY, &m);
		break;
	default:
		return ctl_reply_error(r, RV_C_BAD_REQUEST, "unknown group operation");
	}
	if (rc == -EEXIST)
		return ctl_reply_error(r, RV_C_EXISTS, NULL);
	if (rc == -ENOENT)
		return ctl_reply_error(r, RV_C_NOT_FOUND, "no such group");
	if (rc == -ENOSPC)
		return ctl_reply_error(r, RV_C_FULL, NULL);
	if (rc < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "group store unavailable");
	m.present |= RV_BIT(RV_F_GROUP_ID);
	return ctl_reply(r, &m, self.msg_key, sizeof(self.msg_key));
}
