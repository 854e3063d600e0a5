/* msg_names.c — names of the protocol's enums, for logs and --json. */
#include "msg.h"

#define NAME(tab, v) ((size_t)(v) < sizeof(tab) / sizeof(tab[0]) && tab[v] ? tab[v] : "?")

const char *rv_method_str(uint16_t method)
{
	static const char *const names[] = {
		[RV_M_HELLO - RV_M_FIRST] = "hello",       [RV_M_AUTH - RV_M_FIRST] = "auth",
		[RV_M_REGISTER - RV_M_FIRST] = "register", [RV_M_REFRESH - RV_M_FIRST] = "refresh",
		[RV_M_BYE - RV_M_FIRST] = "bye",           [RV_M_LOOKUP - RV_M_FIRST] = "lookup",
		[RV_M_PRESENCE - RV_M_FIRST] = "presence", [RV_M_GROUP - RV_M_FIRST] = "group",
		[RV_M_MATCH - RV_M_FIRST] = "match",       [RV_M_CONNECT - RV_M_FIRST] = "connect",
		[RV_M_INSTRUCT - RV_M_FIRST] = "instruct", [RV_M_REPORT - RV_M_FIRST] = "report",
	};

	if (method == RV_M_BINDING)
		return "binding";
	if (method < RV_M_FIRST)
		return "?";
	return NAME(names, method - RV_M_FIRST);
}

const char *rv_code_str(int code)
{
	switch (code) {
	case RV_C_BAD_REQUEST:
		return "Bad Request";
	case RV_C_UNAUTHORIZED:
		return "Unauthorized";
	case RV_C_FORBIDDEN:
		return "Forbidden";
	case RV_C_UNKNOWN_ATTRIBUTE:
		return "Unknown Attribute";
	case RV_C_STALE_NONCE:
		return "Stale Nonce";
	case RV_C_UNKNOWN_DEVICE:
		return "Unknown Device";
	case RV_C_BAD_PROOF:
		return "Bad Proof";
	case RV_C_REPLAYED_NONCE:
		return "Replayed Nonce";
	case RV_C_REVOKED_DEVICE:
		return "Revoked Device";
	case RV_C_TICKET_EXPIRED:
		return "Ticket Expired";
	case RV_C_BAD_TICKET:
		return "Bad Ticket";
	case RV_C_UNKNOWN_SESSION:
		return "Unknown Session";
	case RV_C_RATE_LIMITED:
		return "Rate Limited";
	case RV_C_OFFLINE:
		return "Offline";
	case RV_C_BAD_VERSION:
		return "Unsupported Version";
	case RV_C_NO_DIRECT_PATH:
		return "No Direct Path";
	case RV_C_QUOTA:
		return "Quota Exceeded";
	case RV_C_NOT_FOUND:
		return "Not Found";
	case RV_C_EXISTS:
		return "Already Exists";
	case RV_C_FULL:
		return "Full";
	case RV_C_NOT_MEMBER:
		return "Not a Member";
	case RV_C_SERVER_ERROR:
		return "Server Error";
	case RV_C_CAPACITY:
		return "Insufficient Capacity";
	default:
		return "Error";
	}
}

const char *rv_field_str(enum rv_field f)
{
	static const char *const names[RV_F_COUNT_ALL] = {
		[RV_F_VERSION] = "RV-VERSION",
		[RV_F_DEVICE_ID] = "RV-DEVICE-ID",
		[RV_F_NONCE] = "RV-NONCE",
		[RV_F_SIGNATURE] = "RV-SIGNATURE",
		[RV_F_PUBKEY] = "RV-PUBKEY",
		[RV_F_TICKET] = "RV-TICKET",
		[RV_F_LOCATOR] = "RV-LOCATOR",
		[RV_F_SESSION] = "RV-SESSION",
		[RV_F_LIFETIME] = "RV-LIFETIME",
		[RV_F_TIME] = "RV-TIME",
		[RV_F_HOST_ADDRS] = "RV-HOST-ADDRS",
		[RV_F_NAT] = "RV-NAT",
		[RV_F_APP_ID] = "RV-APP-ID",
		[RV_F_COMMUNITY] = "RV-COMMUNITY",
		[RV_F_NICKNAME] = "RV-NICKNAME",
		[RV_F_REQUIRE] = "RV-REQUIRE",
		[RV_F_COUNT] = "RV-COUNT",
		[RV_F_OFFSET] = "RV-OFFSET",
		[RV_F_LOCATORS] = "RV-LOCATORS",
		[RV_F_PRESENCE] = "RV-PRESENCE",
		[RV_F_GROUP_OP] = "RV-GROUP-OP",
		[RV_F_GROUP_ID] = "RV-GROUP-ID",
		[RV_F_PEERS] = "RV-PEERS",
		[RV_F_VIA] = "RV-VIA",
		[RV_F_ATTEMPT] = "RV-ATTEMPT",
		[RV_F_ROLE] = "RV-ROLE",
		[RV_F_PEER_ADDR] = "RV-PEER-ADDR",
		[RV_F_TARGET] = "RV-TARGET",
		[RV_F_RANGE] = "RV-RANGE",
		[RV_F_DELTA] = "RV-DELTA",
		[RV_F_TTL] = "RV-TTL",
		[RV_F_PORTS] = "RV-PORTS",
		[RV_F_RESULT] = "RV-RESULT",
		[RV_F_DEADLINE] = "RV-DEADLINE",
		[RV_F_PROBE] = "RV-PROBE",
		[RV_F_KEY] = "RV-KEY",
		[RV_F_RELAY] = "RV-RELAY",
		[RV_F_MAPPED] = "XOR-MAPPED-ADDRESS",
		[RV_F_ERROR] = "ERROR-CODE",
	};
	return NAME(names, f);
}

const char *rv_strategy_str(enum rv_strategy s)
{
	static const char *const names[RV_STRAT_COUNT] = {
		"auto", "direct", "e1", "e2", "e4", "predict", "birthday", "relay",
	};
	return NAME(names, s);
}

const char *rv_probe_kind_str(enum rv_probe_kind k)
{
	static const char *const names[RV_PROBE_KIND_COUNT] = {
		NULL,        "delta", "range-before", "range-after", "characteristic",
		"keepalive", "relay",
	};
	return NAME(names, k);
}

const char *rv_result_str(enum rv_result_code r)
{
	static const char *const names[RV_RES_COUNT] = {
		"ok",      "timeout",     "no-path",    "aborted",    "peer-gone",
		"relayed", "relay-bytes", "relay-time", "relay-idle", "closed",
	};
	return NAME(names, r);
}
