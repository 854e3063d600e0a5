/* stun.h — STUN message codec: RFC 8489, RFC 5780, and RFC 3489 ("classic").
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |0 0|     STUN Message Type     |         Message Length        |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                         Magic Cookie                          |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                     Transaction ID (96 bits)                  |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     Message Type: M11..M7 C1 M6..M4 C0 M3..M0   (RFC 8489 §5)
 *
 *     attribute: Type (16) | Length (16) | Value, padded to 4 bytes
 *
 * Decoding never copies: struct rv_stun_msg indexes the attributes of a
 * caller-owned buffer, which must outlive it. Every length is checked
 * against the datagram; the struct is small and only the touched part is
 * written, so the dataplane can decode per packet.
 *
 * RFC 3489 messages have no magic cookie: bytes 4..19 are a 128-bit
 * transaction ID. They decode with RV_STUN_DEC_CLASSIC_OK, and `classic` is
 * set; a responder echoes bytes 4..19 verbatim in both cases.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv_addr.h"
#include "rv_buf.h"

#define RV_STUN_HDR_LEN     20
#define RV_STUN_MAGIC       0x2112A442u
#define RV_STUN_FP_XOR      0x5354554eu /* FINGERPRINT = CRC-32 ^ this */
#define RV_STUN_TXID_LEN    12
#define RV_STUN_MAX_LEN     65535 /* largest datagram we accept or build */
#define RV_STUN_MAX_ATTRS   48    /* attributes indexed per message */
#define RV_STUN_MAX_UNKNOWN 8     /* unknown comprehension-required types kept */
#define RV_STUN_MI_LEN      20    /* HMAC-SHA1 */
#define RV_STUN_MI256_LEN   32    /* HMAC-SHA256, untruncated */

enum rv_stun_class {
	RV_STUN_REQUEST = 0,
	RV_STUN_INDICATION = 1,
	RV_STUN_SUCCESS = 2,
	RV_STUN_ERROR = 3,
};

#define RV_STUN_BINDING 0x001

/* Attribute types the codec knows (RFC 8489 §18.3, RFC 5780 §7, RFC 3489). */
enum rv_stun_attr_type {
	RV_SA_MAPPED_ADDRESS = 0x0001,
	RV_SA_RESPONSE_ADDRESS = 0x0002, /* RFC 3489; never honoured (reflection) */
	RV_SA_CHANGE_REQUEST = 0x0003,
	RV_SA_SOURCE_ADDRESS = 0x0004,  /* RFC 3489 ancestor of RESPONSE-ORIGIN */
	RV_SA_CHANGED_ADDRESS = 0x0005, /* RFC 3489 ancestor of OTHER-ADDRESS */
	RV_SA_USERNAME = 0x0006,
	RV_SA_MESSAGE_INTEGRITY = 0x0008,
	RV_SA_ERROR_CODE = 0x0009,
	RV_SA_UNKNOWN_ATTRIBUTES = 0x000A,
	RV_SA_REALM = 0x0014,
	RV_SA_NONCE = 0x0015,
	RV_SA_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	RV_SA_PASSWORD_ALGORITHM = 0x001D,
	RV_SA_USERHASH = 0x001E,
	RV_SA_XOR_MAPPED_ADDRESS = 0x0020,
	RV_SA_PADDING = 0x0026,
	RV_SA_RESPONSE_PORT = 0x0027,
	RV_SA_PASSWORD_ALGORITHMS = 0x8002,
	RV_SA_ALTERNATE_DOMAIN = 0x8003,
	RV_SA_SOFTWARE = 0x8022,
	RV_SA_ALTERNATE_SERVER = 0x8023,
	RV_SA_CACHE_TIMEOUT = 0x8027,
	RV_SA_FINGERPRINT = 0x8028,
	RV_SA_RESPONSE_ORIGIN = 0x802B,
	RV_SA_OTHER_ADDRESS = 0x802C,
};

/* CHANGE-REQUEST flags (RFC 5780 §7.2). */
#define RV_STUN_CHANGE_IP   0x4u
#define RV_STUN_CHANGE_PORT 0x2u

/* Slots for O(1) lookup of the attributes a server touches per packet. */
enum rv_stun_slot {
	RV_SK_MAPPED,
	RV_SK_XOR_MAPPED,
	RV_SK_CHANGE_REQUEST,
	RV_SK_RESPONSE_PORT,
	RV_SK_PADDING,
	RV_SK_USERNAME,
	RV_SK_MI,
	RV_SK_MI256,
	RV_SK_FINGERPRINT,
	RV_SK_ERROR_CODE,
	RV_SK_UNKNOWN_ATTRIBUTES,
	RV_SK_SOFTWARE,
	RV_SK_RESPONSE_ORIGIN,
	RV_SK_OTHER_ADDRESS,
	RV_SK_COUNT
};

struct rv_stun_attr {
	uint16_t type;
	uint16_t len; /* value length, without padding */
	uint32_t off; /* value offset from the first header byte */
};

struct rv_stun_msg {
	const uint8_t *buf; /* the whole message; not owned */
	uint32_t len;       /* RV_STUN_HDR_LEN + header length field */
	uint16_t method;
	uint8_t cls;  /* enum rv_stun_class */
	bool classic; /* RFC 3489: no magic cookie */
	uint8_t nattrs;
	uint8_t nunknown;          /* unknown comprehension-required attributes seen */
	uint8_t slot[RV_SK_COUNT]; /* 1 + index into attrs; 0 = absent */
	uint32_t mi_off;           /* offset of MESSAGE-INTEGRITY's header, 0 = none */
	uint32_t mi256_off;
	uint32_t fp_off;
	uint16_t unknown[RV_STUN_MAX_UNKNOWN];
	struct rv_stun_attr attrs[RV_STUN_MAX_ATTRS];
};

/* Decoder flags. */
#define RV_STUN_DEC_CLASSIC_OK 0x1u /* accept RFC 3489 messages (no cookie) */

/* Decode one datagram. Errors (each with nothing read out of bounds):
 * RV_ETRUNC shorter than a header / an attribute runs past the end;
 * RV_ENOTSTUN top two bits set or no magic cookie (unless CLASSIC_OK);
 * RV_ELEN length field not a multiple of 4, datagram longer or shorter than
 * the header says, or > RV_STUN_MAX_LEN; RV_EDUP a known attribute twice;
 * RV_EAFTERFP anything after FINGERPRINT; RV_EATTR a known attribute whose
 * length is wrong for its type (FINGERPRINT 4, MESSAGE-INTEGRITY 20, ...);
 * RV_ETOOMANY more than RV_STUN_MAX_ATTRS attributes.
 * Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT are bounds-checked and then ignored (RFC 8489 §14.5); after
 * MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts. Unknown
 * comprehension-required types (< 0x8000) are listed in m->unknown (first
 * RV_STUN_MAX_UNKNOWN) and counted in m->nunknown: decoding still succeeds so
 * a server can answer 420; rv_stun_decode never judges integrity.
 * Returns 0 or a negative code.  Context: pure. */
int rv_stun_decode(const uint8_t *buf, size_t len, unsigned flags, struct rv_stun_msg *m);

/* Cheap pre-check for demultiplexing: could these bytes be STUN (top bits
 * zero, length consistent, cookie present unless classic_ok)?
 * Context: pure. */
bool rv_stun_is_stun(const uint8_t *buf, size_t len, bool classic_ok);

/* The 12 transaction-ID bytes (RFC 8489) — bytes 8..19. For a classic
 * message the full 128-bit ID is bytes 4..19.  Context: pure. */
static inline const uint8_t *rv_stun_txid(const struct rv_stun_msg *m)
{
	return m->buf + 8;
}

/* First attribute of the type, or NULL. O(1) for slotted types.
 * Context: pure. */
const struct rv_stun_attr *rv_stun_find(const struct rv_stun_msg *m, uint16_t type);

static inline const uint8_t *rv_stun_value(const struct rv_stun_msg *m,
                                           const struct rv_stun_attr *a)
{
	return m->buf + a->off;
}

/* Typed readers. Each returns 0, RV_EMISSING when the attribute is absent,
 * or RV_EATTR / RV_EFAMILY when its value is malformed.  Context: pure. */

/* An address attribute; xor selects the XOR-MAPPED-ADDRESS encoding
 * (RFC 8489 §14.2), which needs the message's transaction ID. */
int rv_stun_attr_addr(const struct rv_stun_msg *m, const struct rv_stun_attr *a, bool xor,
                      struct rv_addr *out);
/* Apply (or undo: it is an involution) the XOR-MAPPED-ADDRESS mask of a
 * message whose header starts at hdr (bytes 4..19 are the mask). */
void rv_stun_addr_xor(const uint8_t *hdr, struct rv_addr *a);
/* Find + decode; XOR encoding is chosen by the type (XOR-MAPPED-ADDRESS). */
int rv_stun_get_addr(const struct rv_stun_msg *m, uint16_t type, struct rv_addr *out);
/* CHANGE-REQUEST flags (RV_STUN_CHANGE_IP | RV_STUN_CHANGE_PORT). */
int rv_stun_get_change_request(const struct rv_stun_msg *m, uint32_t *flags);
/* RESPONSE-PORT (RFC 5780 §7.5). */
int rv_stun_get_response_port(const struct rv_stun_msg *m, uint16_t *port);
/* ERROR-CODE: code = class * 100 + number (300..699); reason points into the
 * message (not NUL-terminated). */
int rv_stun_get_error(const struct rv_stun_msg *m, int *code, const uint8_t **reason,
                      size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: up to cap types copied; returns the count in the
 * attribute (which may exceed cap). */
int rv_stun_get_unknown_attributes(const struct rv_stun_msg *m, uint16_t *types, size_t cap);

/* --- integrity ------------------------------------------------------------ */

/* CRC-32 (ISO-HDLC, the zlib/Ethernet polynomial) of p[0..n). Incremental:
 * pass the previous result as crc (0 to start).  Context: pure. */
uint32_t rv_crc32(uint32_t crc, const void *p, size_t n);

/* FINGERPRINT (RFC 8489 §14.7): 0 when present and right, RV_EMISSING when
 * absent, RV_EFINGERPRINT when wrong.  Context: pure. */
int rv_stun_check_fingerprint(const struct rv_stun_msg *m);
/* The same with the caller's CRC-32 (a hardware one, say: rvdp passes
 * rte_net_crc); crc(p, n) must equal rv_crc32(0, p, n).  Context: pure. */
int rv_stun_check_fingerprint_with(const struct rv_stun_msg *m,
                                   uint32_t (*crc)(const void *p, size_t n));

/* MESSAGE-INTEGRITY (HMAC-SHA1, §14.5) and MESSAGE-INTEGRITY-SHA256 (§14.6,
 * possibly truncated to 16..32 bytes) verified with a key: the short-term
 * password, or the long-term key from rv_stun_longterm_key*. 0 when right,
 * RV_ENOINTEGRITY when absent, RV_EINTEGRITY when wrong. Comparison is
 * constant-time.  Context: pure. */
int rv_stun_check_integrity(const struct rv_stun_msg *m, const uint8_t *key, size_t keylen);
int rv_stun_check_integrity_sha256(const struct rv_stun_msg *m, const uint8_t *key, size_t keylen);

/* Long-term credential keys (RFC 8489 §9.2.2): MD5 or SHA-256 of
 * "username:realm:password". Inputs must already be OpaqueString-prepared
 * (SASLprep is the caller's job).  Context: pure. */
void rv_stun_longterm_key_md5(const char *user, const char *realm, const char *pass,
                              uint8_t out[16]);
void rv_stun_longterm_key_sha256(const char *user, const char *realm, const char *pass,
                                 uint8_t out[32]);

/* --- encoding ------------------------------------------------------------- */

/* A message being written into a caller buffer. The header's length field
 * is kept current after every attribute, so the bytes are a valid message
 * at every step. Errors stick in e->w.err (RV_ENOSPC, RV_ERANGE for bad
 * arguments); rv_stun_enc_finish reports them once. */
struct rv_stun_enc {
	struct rv_wr w;
};

/* Start a message with the given 12-byte transaction ID (RFC 8489 header).
 * Context: pure. */
void rv_stun_enc_init(struct rv_stun_enc *e, void *buf, size_t cap, uint16_t method,
                      enum rv_stun_class cls, const uint8_t txid[RV_STUN_TXID_LEN]);
/* Start a message whose bytes 4..19 (cookie + 96-bit ID, or a 128-bit
 * RFC 3489 ID) are given as is; id may point into buf itself.
 * Context: pure. */
void rv_stun_enc_init_id(struct rv_stun_enc *e, void *buf, size_t cap, uint16_t method,
                         enum rv_stun_class cls, const uint8_t id[16]);
/* Start a message echoing a request's bytes 4..19 (cookie + txid, or the
 * 128-bit RFC 3489 ID) so one call serves both generations.
 * Context: pure. */
void rv_stun_enc_init_reply(struct rv_stun_enc *e, void *buf, size_t cap,
                            const struct rv_stun_msg *req, enum rv_stun_class cls);

/* Append an attribute; value copied and zero-padded. */
void rv_stun_enc_attr(struct rv_stun_enc *e, uint16_t type, const void *val, size_t len);
/* Append an attribute and return its value's bytes for the caller to fill
 * (padding already zeroed), or NULL on error. */
uint8_t *rv_stun_enc_attr_reserve(struct rv_stun_enc *e, uint16_t type, size_t len);
void rv_stun_enc_u32(struct rv_stun_enc *e, uint16_t type, uint32_t v);
/* Address attribute; xor as in rv_stun_attr_addr. */
void rv_stun_enc_addr(struct rv_stun_enc *e, uint16_t type, const struct rv_addr *a, bool xor);
/* ERROR-CODE with code 300..699 and a short reason (may be NULL). */
void rv_stun_enc_error(struct rv_stun_enc *e, int code, const char *reason);
/* UNKNOWN-ATTRIBUTES listing n types. */
void rv_stun_enc_unknown(struct rv_stun_enc *e, const uint16_t *types, size_t n);
/* MESSAGE-INTEGRITY over everything so far (length field adjusted per
 * §14.5), MESSAGE-INTEGRITY-SHA256 (truncated to len 16..32, multiple of 4),
 * and FINGERPRINT. Call them last, in this order. */
void rv_stun_enc_integrity(struct rv_stun_enc *e, const uint8_t *key, size_t keylen);
void rv_stun_enc_integrity_sha256(struct rv_stun_enc *e, const uint8_t *key, size_t keylen,
                                  size_t len);
void rv_stun_enc_fingerprint(struct rv_stun_enc *e);

/* Total message length, or the first error.  Context: pure. */
int rv_stun_enc_finish(const struct rv_stun_enc *e);

/* Encode the message type field from method and class.  Context: pure. */
static inline uint16_t rv_stun_type(uint16_t method, enum rv_stun_class cls)
{
	return (uint16_t)((method & 0x000f) | (method & 0x0070) << 1 | (method & 0x0f80) << 2 |
	                  (cls & 1) << 4 | (cls & 2) << 7);
}
