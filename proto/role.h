/* role.h — who sends bubbles and who replies, from both NAT types.
 *
 * The traversal document names the two roles after the packets: the
 * transmission side sends the bubble (it opens its own NAT towards the other
 * NAT's target port), the reception side sends the replies to every Δ-th
 * port of the detected range (embodiment 1, S102/S312). Which side may take
 * which role depends on both NATs, and on the method:
 *
 *   RV_ROLE_E1  embodiment 1 (Fig. 6, Fig. 17). The caller is the
 *               provisional transmission side. A bubble aimed at the
 *               receiver's server port only gets a reply back through the
 *               sender's NAT if the sender does not filter by port, or the
 *               receiver's NAT reuses that port for the reply (cone
 *               mapping). So the roles are exchanged when the sender is PR
 *               or PS and the receiver AS or PS — the text's refinement of
 *               Fig. 6 (after S207: "only when either one is determined to
 *               be used, transmission and reception may exchanged"); Fig. 6
 *               itself exchanges on any PR sender. PS on both sides cannot
 *               be connected by this method (S206).
 *   RV_ROLE_E4  embodiment 4 (Fig. 29, Fig. 39). The reception side first
 *               sends a low-TTL port-assigning packet (S609) and later its
 *               replies from the same socket, so they must leave through
 *               the same NAT port: its NAT must not be port sensitive. The
 *               caller is the provisional reception side (S503) unless it is
 *               PS; then the callee takes the role unless it is PS too
 *               (S504-S506).
 *
 * RV_NAT_NONE is treated as full cone (embodiment 3: a host without a NAT
 * communicates "as if by way of communication control unit of full cone
 * NAT"). The decisions are a static const table indexed by both types.
 */
#pragma once

#include <stdbool.h>

#include "nat.h"

enum rv_role_method {
	RV_ROLE_E1 = 0, /* embodiment 1: Fig. 6 / Fig. 17 */
	RV_ROLE_E4,     /* embodiment 4: Fig. 29 / Fig. 39 */
	RV_ROLE_METHOD_COUNT
};

/* One of the two parties of a connection. */
enum rv_role_side {
	RV_ROLE_CALLER = 0, /* requested the connection */
	RV_ROLE_CALLEE,     /* was asked for it */
	RV_ROLE_SIDE_COUNT
};

/* The decision. */
struct rv_role {
	enum rv_role_side sender;  /* transmission side: sends the bubbles */
	enum rv_role_side replier; /* reception side: sends the replies (and in
	                            * E4 the port-assigning packet first) */
	/* The method's flowchart exchanged transmission and reception: E1 when
	 * the callee sends (Fig. 6 S204), E4 when the caller sends (Fig. 29
	 * S504-S506; the caller is E4's provisional *reception* side). Relative
	 * to a caller-sends default, the swap is simply sender == CALLEE. */
	bool exchanged;
};

/* Decide the roles for a caller behind `caller` and a callee behind `callee`
 * with method m. Writes *out on success.
 * Returns 0; RV_EIMPOSSIBLE when neither assignment works for this method
 * (PS on both sides, for both methods); -EINVAL when m is unknown or a type
 * is UNKNOWN, BLOCKED or out of range (classify first).  Context: pure. */
int rv_role_decide(enum rv_role_method m, enum rv_nat_type caller, enum rv_nat_type callee,
                   struct rv_role *out);

/* The side that sends bubbles when the method's flowchart does not
 * exchange roles: CALLER for E1, CALLEE for E4 (-EINVAL for an unknown
 * method).  Context: pure. */
int rv_role_default_sender(enum rv_role_method m);

/* Names: "E1", "E4"; "caller", "callee". Never NULL ("?" when out of
 * range).  Context: pure. */
const char *rv_role_method_str(enum rv_role_method m);
const char *rv_role_side_str(enum rv_role_side s);

/* Inverse of rv_role_method_str() (case-sensitive, like nat.h's parsers).
 * Returns the value (>= 0) or -EINVAL.  Context: pure. */
int rv_role_method_parse(const char *s);
