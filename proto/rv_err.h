/* rv_err.h — the project's single error space.
 *
 * Convention (Knot DNS style): functions returning int give >= 0 on success
 * and a negative code on failure. A code is either a negated errno value
 * (-EINVAL, -ENOMEM, ...) or one of the domain codes below, which sit far
 * below any errno so the two never collide. rv_strerror() names both.
 */
#pragma once

enum rv_err {
	RV_OK = 0,
	RV_EBASE = -1000,
	RV_ETRUNC = RV_EBASE, /* input ends before a length field says it should */
	RV_ELEN,          /* a length field is inconsistent (not /4, past end, trailing bytes) */
	RV_ENOTSTUN,      /* not a STUN message (top bits, magic cookie) */
	RV_EDUP,          /* a known attribute appears twice */
	RV_EAFTERFP,      /* an attribute follows FINGERPRINT */
	RV_EFINGERPRINT,  /* FINGERPRINT does not match the message */
	RV_EINTEGRITY,    /* MESSAGE-INTEGRITY(-SHA256) does not match */
	RV_ENOINTEGRITY,  /* integrity required but absent */
	RV_EATTR,         /* an attribute's value is malformed for its type */
	RV_EFAMILY,       /* unknown address family */
	RV_EUNKNOWNATTR,  /* comprehension-required attribute not understood */
	RV_ETOOMANY,      /* more attributes / list entries than the fixed bound */
	RV_ENOSPC,        /* output buffer too small */
	RV_EMISSING,      /* a required attribute is absent */
	RV_EUNEXPECTED,   /* an attribute not allowed in this message */
	RV_EVERSION,      /* unsupported protocol version */
	RV_EMETHOD,       /* unknown method or class for this context */
	RV_ERANGE,        /* a value is outside its allowed range */
	RV_ENODATA,       /* not enough observations to decide */
	RV_EINCONSISTENT, /* observations contradict each other */
	RV_ETOOBIG,       /* a computed range exceeds the enforced cap */
	RV_EIMPOSSIBLE,   /* no role assignment can connect this pair */
	RV_EMAC,          /* probe MAC does not verify */
	RV_ESIGNATURE,    /* signature does not verify */
	RV_EEXPIRED,      /* ticket or session expired */
	RV_ESTRING,       /* text field not valid UTF-8 or contains NUL */
	RV_ELAST          /* one past the last domain code */
};

/* Human-readable name of any rv code or negated errno. Never NULL; the
 * returned string is static.  Context: any (thread-safe). */
const char *rv_strerror(int err);
