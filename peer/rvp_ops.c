/* rvp_ops.c — the peer's requests: auth, register and its refreshes,
 * lookup, presence, groups, matching; device key files. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "peer_int.h"
#include "peer_net.h"
#include "proto/keys.h"
#include "proto/ticket.h"

/* Client clock for register/refresh: strictly increasing, so the server
 * can tell a replay from a retransmission's successor. */
static uint64_t stamp(struct rvp *p)
{
	struct timespec ts;
	uint64_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (t <= p->client_time_ms)
		t = p->client_time_ms + 1;
	p->client_time_ms = t;
	return t;
}

int rvp_auth(struct rvp *p)
{
	struct rv_msg m, ans;
	size_t idlen = strlen(p->conf.device_id);
	int rc;

	peer_req(p, &m, RV_M_HELLO);
	m.device_id_len = (uint8_t)idlen;
	memcpy(m.device_id, p->conf.device_id, idlen);
	m.present |= RV_BIT(RV_F_DEVICE_ID);
	rc = peer_call(p, &m, NULL, 0, &ans);
	if (rc < 0)
		return rc;
	peer_log(p, "hello: got a nonce");

	/* A fresh holder key per ticket: only we can use what we are issued. */
	rv_kx_keypair(p->hpk, p->hsk);
	peer_req(p, &m, RV_M_AUTH);
	m.device_id_len = (uint8_t)idlen;
	memcpy(m.device_id, p->conf.device_id, idlen);
	memcpy(m.nonce, ans.nonce, RV_NONCE_LEN);
	memcpy(m.pubkey, p->hpk, 32);
	rc = rv_auth_proof_sign(p->conf.device_sk, m.nonce, p->hpk, m.device_id, idlen,
	                        m.signature);
	if (rc < 0)
		return rc;
	m.present |= RV_BIT(RV_F_DEVICE_ID) | RV_BIT(RV_F_NONCE) | RV_BIT(RV_F_PUBKEY) |
	             RV_BIT(RV_F_SIGNATURE);
	rc = peer_call(p, &m, NULL, 0, &ans);
	if (rc < 0)
		return rc;
	memcpy(p->locator, ans.locator, RV_LOCATOR_LEN);
	memcpy(p->ticket, ans.ticket, ans.ticket_len);
	p->ticket_len = ans.ticket_len;
	p->have_kx = ans.present & RV_BIT(RV_F_PUBKEY);
	if (p->have_kx)
		memcpy(p->kx_pk, ans.pubkey, 32);
	p->authed = true;
	char hex[33];
	rv_hex_encode(p->locator, RV_LOCATOR_LEN, hex);
	peer_log(p, "auth: locator %s, ticket for %u s", hex, ans.lifetime_s);
	return 0;
}

static void profile(struct rvp *p, struct rv_msg *m)
{
	m->nat = p->nat;
	m->present |= RV_BIT(RV_F_NAT);
	if (p->reg_local.family) {
		m->n_host_addrs = 1;
		m->host_addrs[0] = p->reg_local;
		m->present |= RV_BIT(RV_F_HOST_ADDRS);
	}
	if (p->conf.app_id[0]) {
		memcpy(m->app_id, p->conf.app_id, sizeof(m->app_id));
		m->present |= RV_BIT(RV_F_APP_ID);
	}
	if (p->conf.nickname[0]) {
		memcpy(m->nickname, p->conf.nickname, sizeof(m->nickname));
		m->present |= RV_BIT(RV_F_NICKNAME);
	}
	if (p->conf.community.flags || p->conf.community.n) {
		m->community = p->conf.community;
		m->present |= RV_BIT(RV_F_COMMUNITY);
	}
}

int rvp_register(struct rvp *p)
{
	struct rv_msg m, ans;
	uint8_t root[32];
	int rc;

	if (!p->authed)
		return RVP_E_STATE;
	if (!p->have_kx)
		return -ENOKEY;
	rc = rv_kx_root(p->hsk, p->kx_pk, p->hpk, p->kx_pk, root);
	if (rc < 0)
		return rc;
	rv_kdf(root, "register", 0, p->reg_key, sizeof(p->reg_key));
	p->registered = false;
	peer_req(p, &m, RV_M_REGISTER);
	memcpy(m.ticket, p->ticket, p->ticket_len);
	m.ticket_len = p->ticket_len;
	m.time_ms = stamp(p);
	m.present |= RV_BIT(RV_F_TICKET) | RV_BIT(RV_F_TIME);
	profile(p, &m);
	if (p->conf.group[0]) {
		memcpy(m.group_id, p->conf.group, sizeof(m.group_id));
		m.present |= RV_BIT(RV_F_GROUP_ID);
	}
	rc = peer_call(p, &m, p->reg_key, sizeof(p->reg_key), &ans);
	if (rc < 0) {
		sodium_memzero(root, sizeof(root));
		return rc;
	}
	p->session = ans.session;
	rv_kdf(root, "probe", p->session, p->probe_key, sizeof(p->probe_key));
	rv_kdf(root, "message", p->session, p->msg_key, sizeof(p->msg_key));
	sodium_memzero(root, sizeof(root));
	p->mapped = ans.mapped;
	p->refresh_s = ans.lifetime_s ? ans.lifetime_s : 25;
	p->next_refresh_ms = peer_now_ms() + (uint64_t)p->refresh_s * 1000;
	p->registered = true;
	char a[RV_ADDR_STRLEN];
	peer_log(p, "register: reachable at %s (as the server sees us), refresh every %u s",
	         rv_addr_fmt(&p->mapped, a, sizeof(a)), p->refresh_s);
	return 0;
}

void peer_refresh_tick(struct rvp *p, uint64_t now_ms)
{
	struct rv_msg m;

	if (!p->registered || now_ms < p->next_refresh_ms)
		return;
	/* Fire and forget: the answer updates nothing we rely on, and the
	 * datagram itself keeps our NAT mapping alive. */
	peer_req(p, &m, RV_M_REFRESH);
	m.time_ms = stamp(p);
	m.present |= RV_BIT(RV_F_TIME);
	(void)peer_post(p, &m, p->msg_key, sizeof(p->msg_key));
	p->next_refresh_ms = now_ms + (uint64_t)p->refresh_s * 1000;
}

int rvp_bye(struct rvp *p)
{
	struct rv_msg m;
	int rc;

	if (!p->registered)
		return RVP_E_STATE;
	peer_req(p, &m, RV_M_BYE);
	rc = peer_call(p, &m, p->msg_key, sizeof(p->msg_key), NULL);
	p->registered = false;
	return rc;
}

int rvp_lookup(struct rvp *p, const uint8_t locator[RV_LOCATOR_LEN], struct rv_peer *out)
{
	struct rv_msg m, ans;
	int rc;

	if (!p->registered)
		return RVP_E_STATE;
	peer_req(p, &m, RV_M_LOOKUP);
	memcpy(m.locator, locator, RV_LOCATOR_LEN);
	m.present |= RV_BIT(RV_F_LOCATOR);
	rc = peer_call(p, &m, p->msg_key, sizeof(p->msg_key), &ans);
	if (rc < 0)
		return rc;
	if (ans.n_peers != 1)
		return RV_EMISSING;
	*out = ans.peers[0];
	return 0;
}

int rvp_presence(struct rvp *p, const uint8_t (*locators)[RV_LOCATOR_LEN], size_t n, bool *online)
{
	struct rv_msg m, ans;
	int rc;

	if (!p->registered)
		return RVP_E_STATE;
	if (n == 0 || n > RV_LOCATORS_MAX)
		return -EINVAL;
	peer_req(p, &m, RV_M_PRESENCE);
	m.n_locators = (uint8_t)n;
	memcpy(m.locators, locators, n * RV_LOCATOR_LEN);
	m.present |= RV_BIT(RV_F_LOCATORS);
	rc = peer_call(p, &m, p->msg_key, sizeof(p->msg_key), &ans);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		online[i] = ans.presence >> i & 1;
	return 0;
}

int rvp_group(struct rvp *p, enum rv_group_op op, const char *group, struct rv_peer *peers,
              size_t cap, uint32_t *total)
{
	struct rv_msg m, ans;
	uint32_t offset = 0;
	size_t got = 0;
	int rc;

	if (!p->registered)
		return RVP_E_STATE;
	if (strlen(group) == 0 || strlen(group) > RV_GROUP_ID_MAX)
		return -EINVAL;
	/* Listings come a page at a time: follow RV-OFFSET until full. */
	do {
		peer_req(p, &m, RV_M_GROUP);
		m.group_op = (uint8_t)op;
		snprintf(m.group_id, sizeof(m.group_id), "%s", group);
		m.offset = offset;
		m.present |= RV_BIT(RV_F_GROUP_OP) | RV_BIT(RV_F_GROUP_ID) | RV_BIT(RV_F_OFFSET);
		rc = peer_call(p, &m, p->msg_key, sizeof(p->msg_key), &ans);
		if (rc < 0)
			return rc;
		for (unsigned i = 0; i < ans.n_peers && got < cap; i++)
			peers[got++] = ans.peers[i];
		if (total)
			*total = ans.count;
		if (!(ans.present & RV_BIT(RV_F_OFFSET)) || ans.offset <= offset)
			break;
		offset = ans.offset;
	} while ((op == RV_GROUP_LIST || op == RV_GROUP_QUERY) && got < cap && offset < ans.count);
	return (int)got;
}

int rvp_match(struct rvp *p, const struct rv_require *req, size_t n_req, struct rv_peer *peers,
              size_t cap, uint8_t via[RV_LOCATOR_LEN])
{
	struct rv_msg m, ans;
	int rc;

	if (!p->registered)
		return RVP_E_STATE;
	if (n_req > RV_REQUIRE_MAX)
		return -EINVAL;
	peer_req(p, &m, RV_M_MATCH);
	if (n_req) {
		m.n_require = (uint8_t)n_req;
		memcpy(m.require, req, n_req * sizeof(*req));
		m.present |= RV_BIT(RV_F_REQUIRE);
	}
	if (p->conf.app_id[0]) {
		memcpy(m.app_id, p->conf.app_id, sizeof(m.app_id));
		m.present |= RV_BIT(RV_F_APP_ID);
	}
	m.count = (uint32_t)(cap < RV_PEERS_MAX ? cap : RV_PEERS_MAX);
	m.present |= RV_BIT(RV_F_COUNT);
	rc = peer_call(p, &m, p->msg_key, sizeof(p->msg_key), &ans);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < ans.n_peers && i < cap; i++)
		peers[i] = ans.peers[i];
	if (via) {
		memset(via, 0, RV_LOCATOR_LEN);
		if (ans.present & RV_BIT(RV_F_VIA))
			memcpy(via, ans.via, RV_LOCATOR_LEN);
	}
	return ans.n_peers < cap ? ans.n_peers : (int)cap;
}

int rvp_device_load(const char *path, char *id, size_t idcap, uint8_t sk[64], char *err,
                    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[256];
	bool have_id = false, have_sk = false;
	int n = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *v, *nl = strchr(line, '\n');

		n++;
		if (nl)
			*nl = 0;
		if (!line[0] || line[0] == '#')
			continue;
		v = strchr(line, ' ');
		if (!v)
			goto bad;
		*v++ = 0;
		if (!strcmp(line, "device-id") && strlen(v) > 0 && strlen(v) < idcap &&
		    strlen(v) <= RV_DEVICE_ID_MAX) {
			strcpy(id, v);
			have_id = true;
		} else if (!strcmp(line, "secret") && rv_hex_decode(v, sk, 64) == 0) {
			have_sk = true;
		} else {
			goto bad;
		}
	}
	fclose(f);
	if (!have_id || !have_sk) {
		snprintf(err, errlen, "%s: needs 'device-id ID' and 'secret HEX' lines", path);
		return -EINVAL;
	}
	return 0;
bad:
	fclose(f);
	snprintf(err, errlen, "%s: line %d: expected 'device-id ID' or 'secret HEX(128)'", path, n);
	return -EINVAL;
}
