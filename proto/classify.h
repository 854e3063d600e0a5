/* classify.h — NAT characteristic from probe observations.
 *
 * The probing itself (sockets, retransmissions, timeouts) belongs to the
 * peer or the server; this file only judges what came back. It serves both
 * probe orders in use:
 *   - the traversal document's (embodiment 1, Fig. 7-9): Fig. 7 asks for a
 *     response from the second server (other IP and port: full cone when it
 *     arrives); Fig. 8 probes P101 and P103 on the first server and P102 on
 *     the second (Pa != Pb -> PS; else Pb != Pc -> AS); Fig. 9 asks for a
 *     response from the first server's other port (R when it arrives, else
 *     PR). Embodiment 4 (Fig. 30) only needs "port sensitive or not": two
 *     probes from one local port to two ports of one server;
 *   - RFC 5780 §4.3/§4.4: mapping tests I (primary IP, primary port),
 *     II (alternate IP, primary port), III (alternate IP, alternate port);
 *     filtering tests II (CHANGE-REQUEST change IP and port) and III
 *     (change port).
 * Server addresses are named by index: ip 0/1 = primary/alternate IP,
 * port 0/1 = primary/alternate port (RFC 5780 OTHER-ADDRESS).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nat.h"
#include "rv_addr.h"

/* Most mapping observations one classification takes. Four distinct
 * server addresses exist; the rest leaves room for repeats. */
#define RV_NAT_OBS_MAX 8

/* Outcome of one filtering test. */
enum rv_seen {
	RV_SEEN_UNTESTED = 0, /* not run (or not judged yet) */
	RV_SEEN_NO,           /* run, and no response arrived */
	RV_SEEN_YES,          /* the response arrived */
};

/* One Binding request from the probing socket and what came back. */
struct rv_map_obs {
	uint8_t ip;            /* server IP probed: 0 primary, 1 alternate */
	uint8_t port;          /* server port probed: 0 primary, 1 alternate */
	bool answered;         /* false: no response */
	struct rv_addr mapped; /* the address the server saw (when answered) */
};

/* Everything one classification looks at. All probes leave from one local
 * socket (`local`); the filtering tests too. */
struct rv_nat_obs {
	struct rv_addr local; /* the probing socket's own address */
	uint32_t n;           /* entries used in map[] */
	struct rv_map_obs map[RV_NAT_OBS_MAX];
	enum rv_seen change_ip_port; /* Fig. 7 / RFC 5780 filtering test II */
	enum rv_seen change_port;    /* Fig. 9 / RFC 5780 filtering test III */
};

/* Result of rv_nat_obs_classify(). */
struct rv_nat_class {
	enum rv_map map;       /* RV_MAP_UNKNOWN when no pair decides */
	enum rv_filt filt;     /* RV_FILT_UNKNOWN when the tests do not decide */
	enum rv_nat_type type; /* the document's five types, NONE, BLOCKED */
	struct rv_addr mapped; /* first answered mapped address (family 0 if none) */
};

/* Classify the NAT in front of the probing socket.
 *
 * Blocked: no probe answered and no filtering response arrived.
 * None: every answered probe reports the local address itself (no
 * translation; map = EIM, the filtering is still reported — a firewall).
 * Mapping, from every pair of answered probes to different server
 * addresses (RFC 4787 §4.1):
 *   same IP, other port, other mapped port  -> APDM (Fig. 8: Pa != Pb);
 *   same IP, other port, same mapped port   -> not APDM;
 *   other IP, same mapped port              -> EIM (Fig. 8: Pa = Pb = Pc);
 *   other IP, other mapped port             -> not EIM.
 * ADM needs both "not APDM" and "not EIM" (Fig. 8 judges Pb against Pc only
 * once Pa == Pb): with tests I and II alone a changed port could be either,
 * and map stays UNKNOWN rather than guessing.
 * Filtering (RFC 4787 §5): a response from the other IP and port -> EIF;
 * else one from the other port of the same IP -> ADF; a change-port test
 * that got nothing -> APDF (EIF and ADF would both have let it in). A
 * response that arrived outweighs one that did not (loss is normal, a
 * forged arrival is not).
 * Type: rv_nat_type_of(map, filt); besides, Fig. 7 calls a NAT full cone
 * on the filtering test alone, and so does this when the filtering is EIF
 * and the mapping UNKNOWN without any "not EIM" evidence (only full cone
 * lacks a filter in the document's taxonomy).
 *
 * Returns 0 (the out fields may still be UNKNOWN where the data do not
 * decide); RV_ENODATA when nothing at all could be concluded;
 * RV_EINCONSISTENT when observations contradict: one server address
 * probed twice with different mapped ports, the mapped IP (or family)
 * changing between probes (RFC 4787 §4.1 "paired" pooling is assumed), or
 * mapping evidence pointing both ways (e.g. EIM across an IP change but
 * APDM within one IP);
 * -EINVAL when n > RV_NAT_OBS_MAX, an index is not 0/1, an answered probe
 * has no address, or an enum is out of range. *out is always written
 * (all UNKNOWN on error).  Context: pure. */
int rv_nat_obs_classify(const struct rv_nat_obs *in, struct rv_nat_class *out);

/* Whether the NAT is port sensitive — what embodiment 4 needs (Fig. 29
 * S502/S505, Fig. 30): two probes from one local port to two ports of one
 * server got different NAT ports. Also decided by a probe pair across an
 * IP change that kept the port (EIM is not port sensitive) and by "no
 * translation". Uses the same evidence as rv_nat_obs_classify().
 * Returns 1 (port sensitive), 0 (not), RV_ENODATA (no pair decides),
 * RV_EINCONSISTENT or -EINVAL as rv_nat_obs_classify().  Context: pure. */
int rv_nat_obs_port_sensitive(const struct rv_nat_obs *in);

/* Short names for enum rv_seen: "untested", "no", "yes" ("?" when out of
 * range).  Context: pure. */
const char *rv_seen_str(enum rv_seen s);
