#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "role.h"
#include "rv_err.h"

/* Table cells: who sends the bubbles. 0 marks types that cannot be decided
 * on (UNKNOWN, BLOCKED), so a zeroed cell is never a decision. */
enum { BAD = 0, CR, CE, NO };

/* [method][caller type][callee type]; columns in enum rv_nat_type order:
 *                   unknown none FC  R   PR  AS  PS  blocked */
static const uint8_t role_table[RV_ROLE_METHOD_COUNT][RV_NAT_TYPE_COUNT][RV_NAT_TYPE_COUNT] = {
	/* E1, Fig. 6 as refined after S207: the caller sends, unless it
	 * filters by port (PR, PS) and the callee's mapping is not cone
	 * (AS, PS); PS-PS is S206's error. */
	[RV_ROLE_E1] = {
		[RV_NAT_NONE]            = { BAD, CR, CR, CR, CR, CR, CR, BAD },
		[RV_NAT_FULL_CONE]       = { BAD, CR, CR, CR, CR, CR, CR, BAD },
		[RV_NAT_RESTRICTED]      = { BAD, CR, CR, CR, CR, CR, CR, BAD },
		[RV_NAT_PORT_RESTRICTED] = { BAD, CR, CR, CR, CR, CE, CE, BAD },
		[RV_NAT_ADDR_SYMMETRIC]  = { BAD, CR, CR, CR, CR, CR, CR, BAD },
		[RV_NAT_PORT_SYMMETRIC]  = { BAD, CR, CR, CR, CR, CE, NO, BAD },
	},
	/* E4, Fig. 29: the caller replies (so the callee sends) unless the
	 * caller is PS (S502 -> S503); then the callee replies unless it is
	 * PS too (S505 -> S506, else error). */
	[RV_ROLE_E4] = {
		[RV_NAT_NONE]            = { BAD, CE, CE, CE, CE, CE, CE, BAD },
		[RV_NAT_FULL_CONE]       = { BAD, CE, CE, CE, CE, CE, CE, BAD },
		[RV_NAT_RESTRICTED]      = { BAD, CE, CE, CE, CE, CE, CE, BAD },
		[RV_NAT_PORT_RESTRICTED] = { BAD, CE, CE, CE, CE, CE, CE, BAD },
		[RV_NAT_ADDR_SYMMETRIC]  = { BAD, CE, CE, CE, CE, CE, CE, BAD },
		[RV_NAT_PORT_SYMMETRIC]  = { BAD, CR, CR, CR, CR, CR, NO, BAD },
	},
};

/* The side each flowchart starts from as the bubble sender. */
static const uint8_t default_sender[RV_ROLE_METHOD_COUNT] = {
	[RV_ROLE_E1] = RV_ROLE_CALLER, /* Fig. 6: the calling side transmits */
	[RV_ROLE_E4] = RV_ROLE_CALLEE, /* Fig. 29 S503: the calling side receives */
};

int rv_role_decide(enum rv_role_method m, enum rv_nat_type caller, enum rv_nat_type callee,
                   struct rv_role *out)
{
	uint8_t cell;

	if ((unsigned)m >= RV_ROLE_METHOD_COUNT || (unsigned)caller >= RV_NAT_TYPE_COUNT ||
	    (unsigned)callee >= RV_NAT_TYPE_COUNT)
		return -EINVAL;
	cell = role_table[m][caller][callee];
	if (cell == BAD)
		return -EINVAL;
	if (cell == NO)
		return RV_EIMPOSSIBLE;
	out->sender = cell == CR ? RV_ROLE_CALLER : RV_ROLE_CALLEE;
	out->replier = cell == CR ? RV_ROLE_CALLEE : RV_ROLE_CALLER;
	out->exchanged = out->sender != default_sender[m];
	return 0;
}

int rv_role_default_sender(enum rv_role_method m)
{
	return (unsigned)m < RV_ROLE_METHOD_COUNT ? default_sender[m] : -EINVAL;
}

static const char *const method_names[RV_ROLE_METHOD_COUNT] = { "E1", "E4" };
static const char *const side_names[RV_ROLE_SIDE_COUNT] = { "caller", "callee" };

const char *rv_role_method_str(enum rv_role_method m)
{
	return (unsigned)m < RV_ROLE_METHOD_COUNT ? method_names[m] : "?";
}

const char *rv_role_side_str(enum rv_role_side s)
{
	return (unsigned)s < RV_ROLE_SIDE_COUNT ? side_names[s] : "?";
}

int rv_role_method_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < RV_ROLE_METHOD_COUNT; i++)
		if (strcmp(s, method_names[i]) == 0)
			return i;
	return -EINVAL;
}
