#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/nat.h"
#include "proto/role.h"
#include "proto/rv_err.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The figures' five types, in their order. */
static const enum rv_nat_type fig_types[] = {
	RV_NAT_FULL_CONE,      RV_NAT_RESTRICTED,     RV_NAT_PORT_RESTRICTED,
	RV_NAT_ADDR_SYMMETRIC, RV_NAT_PORT_SYMMETRIC,
};

/* Every type the table decides on. */
static const enum rv_nat_type all_types[] = {
	RV_NAT_NONE,           RV_NAT_FULL_CONE,      RV_NAT_RESTRICTED, RV_NAT_PORT_RESTRICTED,
	RV_NAT_ADDR_SYMMETRIC, RV_NAT_PORT_SYMMETRIC,
};

/* --- (a) the document's figures, regenerated from the table ------------- */

/* One cell of Fig. 17 / Fig. 39: rows are the provisional transmission side,
 * columns the provisional reception side. "O" connects as is, "△" connects
 * by exchanging transmission and reception, "X" does not connect. Which
 * party is provisionally which comes from the method (E1: the caller
 * transmits, Fig. 6; E4: the caller receives, Fig. 29). */
static const char *mark(enum rv_role_method m, enum rv_nat_type tx, enum rv_nat_type rx)
{
	bool caller_tx = rv_role_default_sender(m) == RV_ROLE_CALLER;
	enum rv_nat_type caller = caller_tx ? tx : rx, callee = caller_tx ? rx : tx;
	enum rv_role_side tx_side = caller_tx ? RV_ROLE_CALLER : RV_ROLE_CALLEE;
	struct rv_role r;
	int rc = rv_role_decide(m, caller, callee, &r);

	if (rc == RV_EIMPOSSIBLE)
		return "X";
	cr_assert_eq(rc, 0);
	/* "exchanged" and "who sends" must tell the same story. */
	cr_assert_eq(r.exchanged, r.sender != tx_side);
	cr_assert_neq(r.sender, r.replier);
	return r.exchanged ? "△" : "O";
}

static void grid(enum rv_role_method m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < N_OF(fig_types); i++) {
		for (size_t j = 0; j < N_OF(fig_types); j++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", j ? " " : "",
			                        mark(m, fig_types[i], fig_types[j]));
		off += (size_t)snprintf(buf + off, len - off, "\n");
	}
}

Test(role, table_regenerates_fig_17)
{
	/* Embodiment 1 text: PS -> AS, PR -> AS and PR -> PS connect only by
	 * exchanging (S101, cases (1) and (2) after Fig. 17); PS on both sides
	 * cannot connect by this method (S206); everything else connects.
	 * Rows: transmission side; columns: reception side; FC R PR AS PS. */
	const char *want = "O O O O O\n"  /* FC */
	                   "O O O O O\n"  /* R  */
	                   "O O O △ △\n"  /* PR */
	                   "O O O O O\n"  /* AS */
	                   "O O O △ X\n"; /* PS */
	char got[256];

	grid(RV_ROLE_E1, got, sizeof(got));
	cr_assert_str_eq(got, want, "Fig. 17 regenerated:\n%s", got);
}

Test(role, table_regenerates_fig_39)
{
	/* Embodiment 4 text: the reception side must not be PS (Fig. 29);
	 * no exchange is needed for PR on either side, unlike Fig. 17;
	 * PS on both sides is S505's error.
	 * Rows: transmission side; columns: reception side; FC R PR AS PS. */
	const char *want = "O O O O △\n"  /* FC */
	                   "O O O O △\n"  /* R  */
	                   "O O O O △\n"  /* PR */
	                   "O O O O △\n"  /* AS */
	                   "O O O O X\n"; /* PS */
	char got[256];

	grid(RV_ROLE_E4, got, sizeof(got));
	cr_assert_str_eq(got, want, "Fig. 39 regenerated:\n%s", got);
}

/* --- the document's worked examples ------------------------------------- */

static struct rv_role decide(enum rv_role_method m, enum rv_nat_type a, enum rv_nat_type b)
{
	struct rv_role r;

	cr_assert_eq(rv_role_decide(m, a, b, &r), 0, "%s: %s -> %s", rv_role_method_str(m),
	             rv_nat_type_str(a), rv_nat_type_str(b));
	return r;
}

Test(role, e1_examples_1_to_4_keep_or_exchange_as_the_text_says)
{
	struct rv_role r;

	/* Example 1: AS calls PS, no exchange (S202, S203). */
	r = decide(RV_ROLE_E1, RV_NAT_ADDR_SYMMETRIC, RV_NAT_PORT_SYMMETRIC);
	cr_assert_eq(r.sender, RV_ROLE_CALLER);
	cr_assert_not(r.exchanged);
	/* Example 2: PS calls AS, exchanged (S207 -> S204). */
	r = decide(RV_ROLE_E1, RV_NAT_PORT_SYMMETRIC, RV_NAT_ADDR_SYMMETRIC);
	cr_assert_eq(r.sender, RV_ROLE_CALLEE);
	cr_assert_eq(r.replier, RV_ROLE_CALLER);
	cr_assert(r.exchanged);
	/* Example 3: PS calls PR, no exchange. */
	r = decide(RV_ROLE_E1, RV_NAT_PORT_SYMMETRIC, RV_NAT_PORT_RESTRICTED);
	cr_assert_eq(r.sender, RV_ROLE_CALLER);
	cr_assert_not(r.exchanged);
	/* Example 4: full cone both sides, no exchange. */
	r = decide(RV_ROLE_E1, RV_NAT_FULL_CONE, RV_NAT_FULL_CONE);
	cr_assert_eq(r.sender, RV_ROLE_CALLER);
	cr_assert_not(r.exchanged);
}

Test(role, e1_keeps_a_port_restricted_caller_sending_to_a_cone_callee)
{
	/* Fig. 6 S203 alone would exchange here; the text after S207 allows
	 * checking the callee first, and a cone callee needs no exchange. */
	struct rv_role r = decide(RV_ROLE_E1, RV_NAT_PORT_RESTRICTED, RV_NAT_FULL_CONE);

	cr_assert_eq(r.sender, RV_ROLE_CALLER);
	cr_assert_not(r.exchanged);
}

Test(role, e4_caller_replies_unless_it_is_port_symmetric)
{
	struct rv_role r;

	/* E4 example 1: the calling side is not PS, it becomes the reception
	 * side (S503) and sends the port-assigning packet. */
	r = decide(RV_ROLE_E4, RV_NAT_PORT_RESTRICTED, RV_NAT_PORT_SYMMETRIC);
	cr_assert_eq(r.replier, RV_ROLE_CALLER);
	cr_assert_eq(r.sender, RV_ROLE_CALLEE);
	cr_assert_not(r.exchanged);
	/* E4 example 2: the calling side is PS, the called side is not: the
	 * called side receives (S506). */
	r = decide(RV_ROLE_E4, RV_NAT_PORT_SYMMETRIC, RV_NAT_ADDR_SYMMETRIC);
	cr_assert_eq(r.replier, RV_ROLE_CALLEE);
	cr_assert_eq(r.sender, RV_ROLE_CALLER);
	cr_assert(r.exchanged);
}

Test(role, port_symmetric_on_both_sides_is_impossible_for_both_methods)
{
	struct rv_role r;

	cr_assert_eq(rv_role_decide(RV_ROLE_E1, RV_NAT_PORT_SYMMETRIC, RV_NAT_PORT_SYMMETRIC, &r),
	             RV_EIMPOSSIBLE);
	cr_assert_eq(rv_role_decide(RV_ROLE_E4, RV_NAT_PORT_SYMMETRIC, RV_NAT_PORT_SYMMETRIC, &r),
	             RV_EIMPOSSIBLE);
}

Test(role, no_nat_behaves_like_full_cone_in_every_row_and_column)
{
	/* Embodiment 3: a host without a NAT is "as if by way of ... full cone
	 * NAT". */
	for (int m = 0; m < RV_ROLE_METHOD_COUNT; m++) {
		for (size_t i = 0; i < N_OF(all_types); i++) {
			enum rv_nat_type t = all_types[i];
			struct rv_role a, b;
			int ra = rv_role_decide(m, RV_NAT_NONE, t, &a);
			int rb = rv_role_decide(m, RV_NAT_FULL_CONE, t, &b);

			cr_assert_eq(ra, rb);
			cr_assert(ra || (a.sender == b.sender && a.exchanged == b.exchanged));
			ra = rv_role_decide(m, t, RV_NAT_NONE, &a);
			rb = rv_role_decide(m, t, RV_NAT_FULL_CONE, &b);
			cr_assert_eq(ra, rb);
			cr_assert(ra || (a.sender == b.sender && a.exchanged == b.exchanged));
		}
	}
}

Test(role, unknown_or_blocked_types_and_bad_methods_are_invalid)
{
	const int bad_types[] = { RV_NAT_UNKNOWN, RV_NAT_BLOCKED, RV_NAT_TYPE_COUNT, -1, 99 };
	struct rv_role r;

	for (size_t i = 0; i < N_OF(bad_types); i++) {
		cr_assert_eq(rv_role_decide(RV_ROLE_E1, bad_types[i], RV_NAT_FULL_CONE, &r),
		             -EINVAL);
		cr_assert_eq(rv_role_decide(RV_ROLE_E4, RV_NAT_FULL_CONE, bad_types[i], &r),
		             -EINVAL);
	}
	cr_assert_eq(rv_role_decide(RV_ROLE_METHOD_COUNT, RV_NAT_FULL_CONE, RV_NAT_FULL_CONE, &r),
	             -EINVAL);
	cr_assert_eq(
	        rv_role_decide((enum rv_role_method) - 1, RV_NAT_FULL_CONE, RV_NAT_FULL_CONE, &r),
	        -EINVAL);
	cr_assert_eq(rv_role_default_sender(RV_ROLE_METHOD_COUNT), -EINVAL);
}

Test(role, names_round_trip_and_out_of_range_is_a_question_mark)
{
	cr_assert_str_eq(rv_role_method_str(RV_ROLE_E1), "E1");
	cr_assert_str_eq(rv_role_method_str(RV_ROLE_E4), "E4");
	cr_assert_str_eq(rv_role_method_str(RV_ROLE_METHOD_COUNT), "?");
	cr_assert_str_eq(rv_role_side_str(RV_ROLE_CALLER), "caller");
	cr_assert_str_eq(rv_role_side_str(RV_ROLE_CALLEE), "callee");
	cr_assert_str_eq(rv_role_side_str(RV_ROLE_SIDE_COUNT), "?");
	for (int m = 0; m < RV_ROLE_METHOD_COUNT; m++)
		cr_assert_eq(rv_role_method_parse(rv_role_method_str(m)), m);
	cr_assert_eq(rv_role_method_parse("E2"), -EINVAL);
	cr_assert_eq(rv_role_method_parse(""), -EINVAL);
	cr_assert_eq(rv_role_method_parse(NULL), -EINVAL);
	cr_assert_eq(rv_role_default_sender(RV_ROLE_E1), RV_ROLE_CALLER);
	cr_assert_eq(rv_role_default_sender(RV_ROLE_E4), RV_ROLE_CALLEE);
}

/* --- (b) a model of why the methods work, independent of the table ------ */

/* E1: the receiver replies from the socket it talks to the server with,
 * towards the sender's NAT port that the bubble opened. The reply gets in
 * if the sender's NAT does not filter by port, or if the receiver's NAT
 * sends it from the very port the bubble was aimed at — which only a cone
 * mapping does (Fig. 12-14, cases (1) and (2) after Fig. 17). */
static bool e1_works(enum rv_nat_type sender, enum rv_nat_type receiver)
{
	enum rv_map sm, rm;
	enum rv_filt sf, rf;

	cr_assert_eq(rv_nat_type_behaviour(sender, &sm, &sf), 0);
	cr_assert_eq(rv_nat_type_behaviour(receiver, &rm, &rf), 0);
	return sf != RV_FILT_APD || rm == RV_MAP_EI;
}

/* E4: the reception side's port-assigning packet and its later replies
 * must leave through one NAT port; only a port-sensitive mapping gives the
 * replies (sent to other ports) new ones (explanation after Fig. 38). */
static bool e4_works(enum rv_nat_type sender, enum rv_nat_type receiver)
{
	enum rv_map rm;
	enum rv_filt rf;

	(void)sender;
	cr_assert_eq(rv_nat_type_behaviour(receiver, &rm, &rf), 0);
	return rm != RV_MAP_APD;
}

static bool model_works(enum rv_role_method m, enum rv_nat_type sender, enum rv_nat_type receiver)
{
	return m == RV_ROLE_E1 ? e1_works(sender, receiver) : e4_works(sender, receiver);
}

struct pair_case {
	int method;
	int a, b;
};

ParameterizedTestParameters(role, every_pair)
{
	static struct pair_case cases[RV_ROLE_METHOD_COUNT * N_OF(all_types) * N_OF(all_types)];
	size_t n = 0;

	for (int m = 0; m < RV_ROLE_METHOD_COUNT; m++)
		for (size_t i = 0; i < N_OF(all_types); i++)
			for (size_t j = 0; j < N_OF(all_types); j++)
				cases[n++] = (struct pair_case){ m, all_types[i], all_types[j] };
	return cr_make_param_array(struct pair_case, cases, n);
}

ParameterizedTest(struct pair_case *c, role, every_pair)
{
	enum rv_nat_type caller = c->a, callee = c->b;
	enum rv_role_method m = c->method;
	struct rv_role r, mirror;
	int rc = rv_role_decide(m, caller, callee, &r);
	int rc_mirror = rv_role_decide(m, callee, caller, &mirror);
	bool caller_sends_works = model_works(m, caller, callee);
	bool callee_sends_works = model_works(m, callee, caller);

	cr_assert(rc == 0 || rc == RV_EIMPOSSIBLE, "rc %d", rc);
	/* (b) Every assignment the table makes works in the model, and the
	 * table gives up exactly when no assignment would. */
	if (rc == 0) {
		enum rv_nat_type s = r.sender == RV_ROLE_CALLER ? caller : callee;
		enum rv_nat_type t = r.sender == RV_ROLE_CALLER ? callee : caller;

		cr_assert(model_works(m, s, t), "%s: table has %s send to %s",
		          rv_role_method_str(m), rv_nat_type_str(s), rv_nat_type_str(t));
		cr_assert_neq(r.sender, r.replier);
		/* ... and exchanges only when the flowchart's start fails. */
		if (model_works(m, rv_role_default_sender(m) == RV_ROLE_CALLER ? caller : callee,
		                rv_role_default_sender(m) == RV_ROLE_CALLER ? callee : caller))
			cr_assert_not(r.exchanged);
	} else {
		cr_assert_not(caller_sends_works || callee_sends_works,
		              "%s: %s/%s is connectable in the model", rv_role_method_str(m),
		              rv_nat_type_str(caller), rv_nat_type_str(callee));
	}
	/* (c) Connectability does not depend on who calls. */
	cr_assert_eq(rc == 0, rc_mirror == 0, "%s: %s/%s not symmetric", rv_role_method_str(m),
	             rv_nat_type_str(caller), rv_nat_type_str(callee));
}
