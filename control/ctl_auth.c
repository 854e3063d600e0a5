/* ctl_auth.c — the auth service (the device-ID document's authentication
 * server): a nonce, then a device's proof of possession, then a locator ID
 * and a signed ticket. The device ID alone never authenticates.
 *
 * Nonces are stateless until used: t (8) || random (8) || HMAC-SHA256(
 * nonce secret, t || random || device ID) (16). The secret is new at every
 * start, so a restart makes outstanding nonces stale (438: HELLO again);
 * a nonce is recorded as used (durably) only once it authenticated someone,
 * so replays fail (462) without letting strangers burn nonces.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "ctl_core.h"
#include "proto/rv_buf.h"
#include "proto/ticket.h"

static void nonce_mac(const struct ctl *c, const uint8_t nonce16[16], const uint8_t *dev,
                      size_t dev_len, uint8_t mac[16])
{
	crypto_auth_hmacsha256_state st;
	uint8_t full[32];

	crypto_auth_hmacsha256_init(&st, c->nonce_secret, sizeof(c->nonce_secret));
	crypto_auth_hmacsha256_update(&st, nonce16, 16);
	crypto_auth_hmacsha256_update(&st, dev, dev_len);
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(mac, full, 16);
}

int ctl_auth_hello(const struct ctl_req *r)
{
	const struct rv_msg *q = r->msg;
	struct rv_msg m;
	uint64_t t = r->now_ms / 1000;

	/* Every device ID gets a nonce: answering "unknown" here would let
	 * anyone enumerate the registry. */
	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	rv_put_u32(m.nonce, (uint32_t)(t >> 32));
	rv_put_u32(m.nonce + 4, (uint32_t)t);
	randombytes_buf(m.nonce + 8, 8);
	nonce_mac(r->c, m.nonce, q->device_id, q->device_id_len, m.nonce + 16);
	m.time_ms = r->now_ms;
	m.present |= RV_BIT(RV_F_NONCE) | RV_BIT(RV_F_TIME);
	return ctl_reply(r, &m, NULL, 0);
}

int ctl_auth_auth(const struct ctl_req *r)
{
	struct ctl *c = r->c;
	const struct rv_msg *q = r->msg;
	struct ctl_device dev;
	struct rv_ticket t;
	struct rv_msg m;
	uint8_t mac[16];
	uint64_t issued = (uint64_t)rv_get_u32(q->nonce) << 32 | rv_get_u32(q->nonce + 4);
	uint64_t now_s = r->now_ms / 1000;
	int rc;

	nonce_mac(c, q->nonce, q->device_id, q->device_id_len, mac);
	if (sodium_memcmp(mac, q->nonce + 16, 16) != 0 || issued > now_s ||
	    now_s - issued > c->conf.nonce_lifetime_s)
		return ctl_reply_error(r, RV_C_STALE_NONCE,
		                       "nonce unknown or expired: hello again");
	rc = ctl_store_device_get(c->st, q->device_id, q->device_id_len, &dev);
	if (rc == -ENOENT)
		return ctl_reply_error(r, RV_C_UNKNOWN_DEVICE, NULL);
	if (rc < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "device registry unavailable");
	if (dev.revoked)
		return ctl_reply_error(r, RV_C_REVOKED_DEVICE, NULL);
	if (rv_auth_proof_verify(dev.pubkey, q->nonce, q->pubkey, q->device_id, q->device_id_len,
	                         q->signature) < 0)
		return ctl_reply_error(r, RV_C_BAD_PROOF, NULL);
	rc = ctl_store_nonce_use(c->st, q->nonce, issued + c->conf.nonce_lifetime_s + 1);
	if (rc == -EEXIST)
		return ctl_reply_error(r, RV_C_REPLAYED_NONCE, NULL);
	if (rc < 0)
		return ctl_reply_error(r, RV_C_SERVER_ERROR, "nonce store unavailable");

	memset(&t, 0, sizeof(t));
	t.version = RV_TICKET_VERSION;
	t.key_id = c->keys.sign_id;
	ctl_keys_locator(&c->keys, q->device_id, q->device_id_len, t.locator);
	t.issued_s = (uint32_t)now_s;
	t.expires_s = (uint32_t)(now_s + c->conf.ticket_lifetime_s);
	memcpy(t.holder, q->pubkey, sizeof(t.holder));
	rv_ticket_sign(&t, c->keys.sign_sk);

	rv_msg_init_reply(&m, q, RV_STUN_SUCCESS);
	memcpy(m.locator, t.locator, RV_LOCATOR_LEN);
	rv_ticket_encode(&t, m.ticket);
	m.ticket_len = RV_TICKET_LEN;
	m.lifetime_s = c->conf.ticket_lifetime_s;
	m.time_ms = r->now_ms;
	m.present |= RV_BIT(RV_F_LOCATOR) | RV_BIT(RV_F_TICKET) | RV_BIT(RV_F_LIFETIME) |
	             RV_BIT(RV_F_TIME);
	if (c->keys.has_kx_pk) {
		memcpy(m.pubkey, c->keys.kx_pk, RV_KEY_LEN);
		m.present |= RV_BIT(RV_F_PUBKEY);
	}
	return ctl_reply(r, &m, NULL, 0);
}
