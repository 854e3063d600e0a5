/* msg.h — the project's own messages, framed as STUN (see proto/WIRE.md).
 *
 * Every control message is a STUN message with a project method
 * (0xE01..0xE0F, STUN's Designated-Expert range) whose attributes sit in the
 * comprehension-optional range 0xC700..0xC7FF, ending in FINGERPRINT so a
 * shared port can tell them from anything else. The authenticated probe is
 * a plain Binding request with one RV-PROBE attribute: a standard server
 * answers it as a Binding, rvdp also verifies and records it.
 *
 * One table-driven codec serves every message: struct rv_msg holds every
 * field a message can carry (fixed-size storage, no allocation) plus a
 * `present` bitmask; a static table says, per method and class, which
 * fields are required and which allowed. Decode checks both, so a decoded
 * message is structurally complete for its method.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat.h"
#include "rv_addr.h"
#include "stun.h"

#define RV_VERSION_MAJOR 1
#define RV_VERSION_MINOR 0

/* Methods. Order and values are wire format: append only. */
enum rv_method {
	RV_M_BINDING = RV_STUN_BINDING, /* + RV-PROBE: authenticated probe */
	RV_M_HELLO = 0xE01,             /* auth challenge: get a server nonce */
	RV_M_AUTH = 0xE02,              /* device proof -> locator ID + ticket */
	RV_M_REGISTER = 0xE03,          /* ticket -> session, observed address */
	RV_M_REFRESH = 0xE04,           /* keep the registration (and NAT) alive */
	RV_M_BYE = 0xE05,               /* unregister */
	RV_M_LOOKUP = 0xE06,            /* locator ID -> address, NAT, online */
	RV_M_PRESENCE = 0xE07,          /* locator IDs -> online bitmap */
	RV_M_GROUP = 0xE08,             /* create / join / leave / list / query */
	RV_M_MATCH = 0xE09,             /* requirements -> partners */
	RV_M_CONNECT = 0xE0A,           /* caller asks the server to broker */
	RV_M_INSTRUCT = 0xE0B,          /* server tells a peer its part */
	RV_M_REPORT = 0xE0C,            /* peer reports observations / result */
	RV_M_FIRST = RV_M_HELLO,
	RV_M_LAST = RV_M_REPORT,
};

/* Fields of struct rv_msg. Project attribute type = RV_A_BASE + field for
 * fields below RV_F_STD_FIRST; the rest are standard STUN attributes. */
enum rv_field {
	RV_F_VERSION,
	RV_F_DEVICE_ID,
	RV_F_NONCE,
	RV_F_SIGNATURE,
	RV_F_PUBKEY,
	RV_F_TICKET,
	RV_F_LOCATOR,
	RV_F_SESSION,
	RV_F_LIFETIME,
	RV_F_TIME,
	RV_F_HOST_ADDRS,
	RV_F_NAT,
	RV_F_APP_ID,
	RV_F_COMMUNITY,
	RV_F_NICKNAME,
	RV_F_REQUIRE,
	RV_F_COUNT,
	RV_F_OFFSET,
	RV_F_LOCATORS,
	RV_F_PRESENCE,
	RV_F_GROUP_OP,
	RV_F_GROUP_ID,
	RV_F_PEERS,
	RV_F_VIA,
	RV_F_ATTEMPT,
	RV_F_ROLE,
	RV_F_PEER_ADDR,
	RV_F_TARGET,
	RV_F_RANGE,
	RV_F_DELTA,
	RV_F_TTL,
	RV_F_PORTS,
	RV_F_RESULT,
	RV_F_DEADLINE,
	RV_F_PROBE,
	RV_F_KEY,   /* an attempt's key, wrapped (proto/keys.h rv_key_wrap) */
	RV_F_RELAY, /* a relay grant (struct rv_relay_grant) */
	RV_F_STD_FIRST,
	RV_F_MAPPED = RV_F_STD_FIRST, /* XOR-MAPPED-ADDRESS */
	RV_F_ERROR,                   /* ERROR-CODE */
	RV_F_COUNT_ALL
};

#define RV_A_BASE  0xC700u
#define RV_A_PROBE (RV_A_BASE + RV_F_PROBE)
#define RV_BIT(f)  (1ull << (f))

/* Bounds of the fixed storage; larger inputs are RV_ETOOMANY / RV_EATTR. */
#define RV_DEVICE_ID_MAX 64
#define RV_NONCE_LEN     32
#define RV_SIG_LEN       64
#define RV_KEY_LEN       32
#define RV_TICKET_MAX    192
#define RV_LOCATOR_LEN   16
#define RV_HOST_ADDRS    8
#define RV_APP_ID_MAX    64
#define RV_NICK_MAX      23 /* bytes of UTF-8, fits a peer record */
#define RV_GROUP_ID_MAX  32
#define RV_REQUIRE_MAX   8
#define RV_COMM_ATTRS    8
#define RV_LOCATORS_MAX  32
#define RV_PEERS_MAX     12
#define RV_PORTS_MAX     32

/* STUN ERROR-CODE values: RFC 8489 ones plus the project's 46x/47x. */
enum rv_code {
	RV_C_BAD_REQUEST = 400,
	RV_C_UNAUTHORIZED = 401, /* missing or wrong message integrity */
	RV_C_FORBIDDEN = 403,
	RV_C_UNKNOWN_ATTRIBUTE = 420,
	RV_C_STALE_NONCE = 438, /* nonce expired: HELLO again */
	RV_C_UNKNOWN_DEVICE = 460,
	RV_C_BAD_PROOF = 461,
	RV_C_REPLAYED_NONCE = 462,
	RV_C_REVOKED_DEVICE = 463,
	RV_C_TICKET_EXPIRED = 464,
	RV_C_BAD_TICKET = 465,
	RV_C_UNKNOWN_SESSION = 466, /* register again */
	RV_C_RATE_LIMITED = 467,
	RV_C_OFFLINE = 468,
	RV_C_BAD_VERSION = 469,
	RV_C_NO_DIRECT_PATH = 470,
	RV_C_QUOTA = 471,
	RV_C_NOT_FOUND = 472, /* group or attempt unknown */
	RV_C_EXISTS = 473,    /* group already exists */
	RV_C_FULL = 474,      /* group full */
	RV_C_NOT_MEMBER = 475,
	RV_C_SERVER_ERROR = 500,
	RV_C_CAPACITY = 508,
};

/* Presence status in a peer record. */
enum rv_status { RV_OFFLINE = 0, RV_ONLINE = 1 };

/* RV-NAT: the characteristic a peer measured (and the server observed).
 *   type(8) map(8) filt(8) alloc(8) | delta(16, signed) hops(8) flags(8) |
 *   lifetime_s(16) bg_rate_x10(16)                              = 12 bytes */
#define RV_NAT_FLAG_HAIRPIN 0x01u
#define RV_NAT_FLAG_DIRECT  0x02u /* reachable without punching (no NAT, EIF) */
#define RV_NAT_FLAG_PUBLIC  0x04u /* host address == mapped address */
struct rv_nat_info {
	uint8_t type;  /* enum rv_nat_type */
	uint8_t map;   /* enum rv_map */
	uint8_t filt;  /* enum rv_filt */
	uint8_t alloc; /* enum rv_alloc */
	int16_t delta; /* port-number differential; 0 = unknown */
	uint8_t hops;  /* hop count to the NAT (for the port-assigning TTL) */
	uint8_t flags;
	uint16_t lifetime_s;  /* mapping lifetime, 0 = unknown */
	uint16_t bg_rate_x10; /* background allocations per second x 10 */
};

/* RV-COMMUNITY (third embodiment): the user's own attributes, free for the
 * service provider. flags(8) reserved(24) then n x [key(16) pad(16) val(32)]. */
#define RV_COMM_SEEKING 0x01u /* wants a partner */
struct rv_kv {
	uint16_t key;
	int32_t value;
};
struct rv_community {
	uint8_t flags;
	uint8_t n;
	struct rv_kv attrs[RV_COMM_ATTRS];
};

/* RV-REQUIRE: n x [key(16) pad(16) min(32) max(32)], min <= max. */
struct rv_require {
	uint16_t key;
	int32_t min, max;
};

/* Well-known community keys; >= 256 are the service provider's. */
enum rv_key { RV_KEY_APP_TYPE = 1, RV_KEY_LEVEL = 2, RV_KEY_AGE_BAND = 3, RV_KEY_REGION = 4 };

/* RV-PEERS: n x 64-byte records:
 *    0  locator (16)
 *   16  status (1) | family (1) | port ^ 0x2112 (2)       family 0: no address
 *   20  ip ^ (cookie || txid) (16; IPv4 in the first 4)
 *   36  flags (1) | nat_type (1) | reserved (2)
 *   40  nickname (24, UTF-8, NUL-padded)                                    */
#define RV_PEER_DIRECT 0x01u /* direct path expected with the requester */
#define RV_PEER_RELAY  0x02u /* needs the relay */
struct rv_peer {
	uint8_t locator[RV_LOCATOR_LEN];
	uint8_t status; /* enum rv_status */
	uint8_t flags;
	uint8_t nat_type;
	struct rv_addr addr; /* public address; family 0 when offline */
	char nickname[RV_NICK_MAX + 1];
};

/* RV-GROUP-OP */
enum rv_group_op {
	RV_GROUP_CREATE = 1,
	RV_GROUP_JOIN = 2,
	RV_GROUP_LEAVE = 3,
	RV_GROUP_LIST = 4,  /* every member */
	RV_GROUP_QUERY = 5, /* online members with addresses */
};

/* RV-ROLE: role(8) strategy(8) method(8) flags(8) */
enum rv_role_kind {
	RV_ROLE_SENDER = 1,   /* sends bubbles (transmission side) */
	RV_ROLE_RECEIVER = 2, /* sprays replies (reception side) */
};
enum rv_strategy {
	RV_STRAT_AUTO = 0,
	RV_STRAT_DIRECT = 1,   /* one side reachable as is */
	RV_STRAT_E1 = 2,       /* embodiment 1: server-side detection */
	RV_STRAT_E2 = 3,       /* embodiment 2: peer-side detection */
	RV_STRAT_E4 = 4,       /* embodiment 4: port-assigning packet */
	RV_STRAT_PREDICT = 5,  /* both symmetric, sequential: predict both */
	RV_STRAT_BIRTHDAY = 6, /* random allocation: many-port probing */
	RV_STRAT_RELAY = 7,
	RV_STRAT_COUNT
};
#define RV_ROLE_SWAPPED  0x01u /* roles exchanged relative to the caller */
#define RV_ROLE_NO_RELAY 0x02u /* CONNECT: a direct path or nothing (an upgrade try) */
struct rv_role_info {
	uint8_t role;     /* enum rv_role_kind */
	uint8_t strategy; /* enum rv_strategy */
	uint8_t step;     /* Δ-divisor fallback step, 0 first */
	uint8_t flags;
};

/* RV-TARGET / RV-RANGE: first(16) last(16) step(16, signed) count(16).
 * The ports are first, first+step, ... (count of them, wrapping in the
 * port space), ending at last. */
struct rv_port_range {
	uint16_t first, last;
	int16_t step;
	uint16_t count;
};

/* RV-RESULT: code(8) strategy(8) reserved(16) elapsed_ms(32) packets(32) */
enum rv_result_code {
	RV_RES_OK = 0,
	RV_RES_TIMEOUT = 1,
	RV_RES_NO_PATH = 2,
	RV_RES_ABORTED = 3,
	RV_RES_PEER_GONE = 4,
	RV_RES_RELAYED = 5,
	/* A relay ended (INSTRUCT from the server, or a peer's REPORT): */
	RV_RES_RELAY_BYTES = 6, /* its byte quota is spent */
	RV_RES_RELAY_TIME = 7,  /* its time is up */
	RV_RES_RELAY_IDLE = 8,  /* nothing crossed it for too long */
	RV_RES_CLOSED = 9,      /* a peer closed the connection */
	RV_RES_COUNT
};
struct rv_result {
	uint8_t code;
	uint8_t strategy;
	uint32_t elapsed_ms;
	uint32_t packets;
};

/* RV-PROBE (20 bytes): session(64) kind(8) flags(8) seq(16) mac(64). */
enum rv_probe_kind {
	RV_PROBE_DELTA = 1,          /* port-number differential probe */
	RV_PROBE_RANGE_BEFORE = 2,   /* range detection, before the bubble */
	RV_PROBE_RANGE_AFTER = 3,    /* range detection, after the bubble */
	RV_PROBE_CHARACTERISTIC = 4, /* NAT classification */
	RV_PROBE_KEEPALIVE = 5,
	RV_PROBE_RELAY = 6, /* binds a relay side: session = relay ID, flags = side */
	RV_PROBE_KIND_COUNT
};
#define RV_PROBE_REPLY 0x80u /* set in server responses */
#define RV_PROBE_SIDE  0x01u /* RELAY: the callee's side (clear: the caller's) */
#define RV_PROBE_LEN   20
struct rv_probe {
	uint64_t session;
	uint8_t kind;
	uint8_t flags;
	uint16_t seq;
	uint8_t mac[8];
};

/* RV-RELAY (28 bytes): relay(64) channel(16) side(8) reserved(8)
 * quota_bytes(64) lifetime_s(32) rate_pps(32) — WIRE.md "Relaying". */
struct rv_relay_grant {
	uint64_t relay;
	uint16_t channel; /* 0x4000-0x4FFF */
	uint8_t side;     /* 0 caller, 1 callee */
	uint64_t quota_bytes;
	uint32_t lifetime_s;
	uint32_t rate_pps;
};

struct rv_msg {
	uint16_t method; /* enum rv_method */
	uint8_t cls;     /* enum rv_stun_class */
	uint8_t txid[RV_STUN_TXID_LEN];
	uint64_t present; /* RV_BIT(field) set for each field carried */

	uint8_t version_major, version_minor;
	uint8_t device_id_len;
	uint8_t device_id[RV_DEVICE_ID_MAX];
	uint8_t nonce[RV_NONCE_LEN];
	uint8_t signature[RV_SIG_LEN];
	uint8_t pubkey[RV_KEY_LEN];
	uint16_t ticket_len;
	uint8_t ticket[RV_TICKET_MAX];
	uint8_t locator[RV_LOCATOR_LEN];
	uint64_t session;
	uint32_t lifetime_s;
	uint64_t time_ms; /* sender's clock, Unix ms */
	uint8_t n_host_addrs;
	struct rv_addr host_addrs[RV_HOST_ADDRS];
	struct rv_nat_info nat;
	char app_id[RV_APP_ID_MAX + 1];
	struct rv_community community;
	char nickname[RV_NICK_MAX + 1];
	uint8_t n_require;
	struct rv_require require[RV_REQUIRE_MAX];
	uint32_t count;
	uint32_t offset;
	uint8_t n_locators;
	uint8_t locators[RV_LOCATORS_MAX][RV_LOCATOR_LEN];
	uint32_t presence; /* bit i = locators[i] online */
	uint8_t group_op;  /* enum rv_group_op */
	char group_id[RV_GROUP_ID_MAX + 1];
	uint8_t n_peers;
	struct rv_peer peers[RV_PEERS_MAX];
	uint8_t via[RV_LOCATOR_LEN];
	uint64_t attempt;
	struct rv_role_info role;
	struct rv_addr peer_addr;
	struct rv_port_range target;
	struct rv_port_range range;
	int16_t delta;
	uint8_t ttl;
	uint8_t n_ports;
	uint16_t ports[RV_PORTS_MAX];
	struct rv_result result;
	uint32_t deadline_ms;
	struct rv_probe probe;
	struct rv_relay_grant relay;
	uint8_t key[16];
	struct rv_addr mapped;
	uint16_t error_code;
	char error_reason[128];
};

/* Start a message: zero it, set method, class and transaction ID, and the
 * version field for project methods.  Context: pure. */
void rv_msg_init(struct rv_msg *m, enum rv_method method, enum rv_stun_class cls,
                 const uint8_t txid[RV_STUN_TXID_LEN]);

/* Start the response (success or error) to a request: same method and
 * transaction ID.  Context: pure. */
void rv_msg_init_reply(struct rv_msg *m, const struct rv_msg *req, enum rv_stun_class cls);

/* Set an error response's code and reason (reason may be NULL: the code's
 * standard phrase is used).  Context: pure. */
void rv_msg_set_error(struct rv_msg *m, enum rv_code code, const char *reason);

/* Encode every present field, then MESSAGE-INTEGRITY-SHA256 when key is
 * non-NULL, then FINGERPRINT. Checks the message against its method's rules
 * first (RV_EMISSING / RV_EUNEXPECTED) and each field's bounds (RV_ERANGE,
 * RV_ETOOMANY, RV_ESTRING). Returns the length written or a negative code.
 * Context: pure. */
int rv_msg_encode(const struct rv_msg *m, uint8_t *buf, size_t cap, const uint8_t *key,
                  size_t keylen);

/* Decode a datagram: STUN decode, FINGERPRINT required and checked, method
 * known, every known attribute parsed and bounded, the method's rules
 * enforced, major version checked (RV_EVERSION). Unknown
 * comprehension-optional attributes are ignored (forward compatibility).
 * Integrity is not judged here: the key depends on the session the message
 * names; when stun is non-NULL it receives the STUN view so the caller can
 * call rv_stun_check_integrity_sha256() with the right key. On error *m may
 * be partially written. Returns 0 or a negative code.  Context: pure. */
int rv_msg_decode(const uint8_t *buf, size_t len, struct rv_msg *m, struct rv_stun_msg *stun);

/* Whether a datagram is a project message or probe (cheap demux for the
 * dataplane: STUN header, cookie, and a project method or a Binding with
 * an RV-PROBE).  Context: pure. */
bool rv_msg_is_project(const uint8_t *buf, size_t len);

/* Names for logs and --json ("register", "Bad Ticket", ...); never NULL.
 * Context: pure. */
const char *rv_method_str(uint16_t method);
const char *rv_code_str(int code);
const char *rv_field_str(enum rv_field f);
const char *rv_strategy_str(enum rv_strategy s);
const char *rv_probe_kind_str(enum rv_probe_kind k);
const char *rv_result_str(enum rv_result_code r);

/* Required / allowed field masks for a method and class (error responses
 * of every method share one rule). Returns false for an unknown pair.
 * Context: pure. */
bool rv_msg_rules(uint16_t method, uint8_t cls, uint64_t *required, uint64_t *allowed);

/* Strict UTF-8 check (no overlongs, surrogates or NUL).  Context: pure. */
bool rv_utf8_valid(const uint8_t *p, size_t n);

/* --- RV-PROBE: the MAC and the 20-byte attribute ----------------------------
 * MAC = SipHash-2-4(session probe key, txid(12) || session(8) || kind(1) ||
 * flags(1) || seq(2)) for requests; a reply (flags has RV_PROBE_REPLY)
 * appends the observed address family(1) || port(2) || ip(16), so the peer
 * can trust the echoed observation. 8-byte tag: probes are short-lived,
 * rate-limited per session, and the key is per session (DESIGN §3: SipHash
 * fits the per-packet budget where HMAC does not). */
#define RV_PROBE_KEY_LEN 16
void rv_probe_mac(const uint8_t key[RV_PROBE_KEY_LEN], const uint8_t txid[RV_STUN_TXID_LEN],
                  const struct rv_probe *p, const struct rv_addr *observed, uint8_t out[8]);
/* Constant-time check of p->mac; observed must be given for replies. */
bool rv_probe_verify(const uint8_t key[RV_PROBE_KEY_LEN], const uint8_t txid[RV_STUN_TXID_LEN],
                     const struct rv_probe *p, const struct rv_addr *observed);
/* The body of a probe's answer, after the header e already has: the
 * observed address (XOR-MAPPED-ADDRESS) and RV-PROBE echoing req with the
 * reply flag and the reply MAC. The caller adds FINGERPRINT (rvdp with its
 * own CRC). One function for rvdp and the standalone server.  Context: pure. */
void rv_probe_answer(struct rv_stun_enc *e, const uint8_t key[RV_PROBE_KEY_LEN],
                     const struct rv_probe *req, const struct rv_addr *observed);
/* The attribute value, for callers building messages by hand (rvdp). */
void rv_probe_write(uint8_t out[RV_PROBE_LEN], const struct rv_probe *p);
void rv_probe_read(const uint8_t in[RV_PROBE_LEN], struct rv_probe *p);
