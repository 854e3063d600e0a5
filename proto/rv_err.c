#include <string.h>

#include "rv_err.h"

static const char *const rv_err_names[] = {
	[RV_ETRUNC - RV_EBASE] = "truncated input",
	[RV_ELEN - RV_EBASE] = "inconsistent length field",
	[RV_ENOTSTUN - RV_EBASE] = "not a STUN message",
	[RV_EDUP - RV_EBASE] = "duplicate attribute",
	[RV_EAFTERFP - RV_EBASE] = "attribute after FINGERPRINT",
	[RV_EFINGERPRINT - RV_EBASE] = "FINGERPRINT mismatch",
	[RV_EINTEGRITY - RV_EBASE] = "MESSAGE-INTEGRITY mismatch",
	[RV_ENOINTEGRITY - RV_EBASE] = "MESSAGE-INTEGRITY missing",
	[RV_EATTR - RV_EBASE] = "malformed attribute value",
	[RV_EFAMILY - RV_EBASE] = "unknown address family",
	[RV_EUNKNOWNATTR - RV_EBASE] = "unknown comprehension-required attribute",
	[RV_ETOOMANY - RV_EBASE] = "too many attributes or entries",
	[RV_ENOSPC - RV_EBASE] = "output buffer too small",
	[RV_EMISSING - RV_EBASE] = "required attribute missing",
	[RV_EUNEXPECTED - RV_EBASE] = "attribute not allowed in this message",
	[RV_EVERSION - RV_EBASE] = "unsupported protocol version",
	[RV_EMETHOD - RV_EBASE] = "unknown method or class",
	[RV_ERANGE - RV_EBASE] = "value out of range",
	[RV_ENODATA - RV_EBASE] = "not enough observations",
	[RV_EINCONSISTENT - RV_EBASE] = "inconsistent observations",
	[RV_ETOOBIG - RV_EBASE] = "range exceeds the cap",
	[RV_EIMPOSSIBLE - RV_EBASE] = "no role assignment connects this NAT pair",
	[RV_EMAC - RV_EBASE] = "probe MAC does not verify",
	[RV_ESIGNATURE - RV_EBASE] = "signature does not verify",
	[RV_EEXPIRED - RV_EBASE] = "expired",
	[RV_ESTRING - RV_EBASE] = "invalid text field",
};

const char *rv_strerror(int err)
{
	if (err >= 0)
		return "success";
	if (err >= RV_EBASE && err < RV_ELAST)
		return rv_err_names[err - RV_EBASE];
	if (err > -4096)
		return strerror(-err);
	return "unknown error";
}
