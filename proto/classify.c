#include <errno.h>
#include <string.h>

#include "classify.h"
#include "rv_err.h"

/* What the answered probes say, pair by pair (RFC 4787 §4.1 terms). */
struct evidence {
	uint32_t answered;
	bool untranslated; /* every answered probe saw the local address */
	bool apd;          /* same IP, other port, other mapped port */
	bool port_indep;   /* same IP, other port, same mapped port */
	bool eim;          /* other IP, same mapped port */
	bool ip_dep;       /* other IP, other mapped port */
	struct rv_addr first;
};

static bool valid_input(const struct rv_nat_obs *in)
{
	if (in->n > RV_NAT_OBS_MAX || (unsigned)in->change_ip_port > RV_SEEN_YES ||
	    (unsigned)in->change_port > RV_SEEN_YES)
		return false;
	for (uint32_t i = 0; i < in->n; i++) {
		const struct rv_map_obs *m = &in->map[i];

		if (m->ip > 1 || m->port > 1 || (m->answered && !rv_addr_iplen(&m->mapped)))
			return false;
	}
	return true;
}

static int collect(const struct rv_nat_obs *in, struct evidence *ev)
{
	struct rv_addr local = in->local, mapped[RV_NAT_OBS_MAX];
	const struct rv_map_obs *m = in->map;

	memset(ev, 0, sizeof(*ev));
	if (!valid_input(in))
		return -EINVAL;
	rv_addr_normalize(&local);
	ev->untranslated = true;
	for (uint32_t i = 0; i < in->n; i++) {
		if (!m[i].answered)
			continue;
		mapped[i] = m[i].mapped;
		rv_addr_normalize(&mapped[i]);
		if (!ev->answered++)
			ev->first = mapped[i];
		/* One NAT, one public IP: a second IP means a pool without
		 * pairing or a confused server, either way nothing to judge. */
		if (!rv_addr_ip_eq(&ev->first, &mapped[i]))
			return RV_EINCONSISTENT;
		ev->untranslated = ev->untranslated && rv_addr_eq(&local, &mapped[i]);
	}
	ev->untranslated = ev->untranslated && ev->answered;

	for (uint32_t i = 0; i < in->n; i++) {
		for (uint32_t j = i + 1; j < in->n; j++) {
			bool same_port;

			if (!m[i].answered || !m[j].answered)
				continue;
			same_port = mapped[i].port == mapped[j].port;
			if (m[i].ip == m[j].ip && m[i].port == m[j].port) {
				/* An existing mapping is reused for the same
				 * destination under every RFC 4787 behaviour. */
				if (!same_port)
					return RV_EINCONSISTENT;
			} else if (m[i].ip == m[j].ip) {
				ev->apd |= !same_port;
				ev->port_indep |= same_port;
			} else {
				ev->eim |= same_port;
				ev->ip_dep |= !same_port;
			}
		}
	}
	/* EIM means one port for every destination; APDM on one IP and not
	 * on another fits no behaviour either. */
	if ((ev->eim && (ev->apd || ev->ip_dep)) || (ev->apd && ev->port_indep))
		return RV_EINCONSISTENT;
	return 0;
}

static enum rv_map map_of(const struct evidence *ev)
{
	if (ev->untranslated)
		return RV_MAP_EI;
	if (ev->apd)
		return RV_MAP_APD;
	if (ev->port_indep && ev->ip_dep)
		return RV_MAP_AD;
	if (ev->eim)
		return RV_MAP_EI;
	return RV_MAP_UNKNOWN;
}

static enum rv_filt filt_of(const struct rv_nat_obs *in)
{
	if (in->change_ip_port == RV_SEEN_YES)
		return RV_FILT_EI;
	if (in->change_port == RV_SEEN_YES)
		return RV_FILT_AD;
	if (in->change_port == RV_SEEN_NO)
		return RV_FILT_APD;
	return RV_FILT_UNKNOWN;
}

int rv_nat_obs_classify(const struct rv_nat_obs *in, struct rv_nat_class *out)
{
	struct evidence ev;
	bool any_yes, any_sent;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = collect(in, &ev)))
		return rc;
	any_yes = in->change_ip_port == RV_SEEN_YES || in->change_port == RV_SEEN_YES;
	any_sent = in->n || in->change_ip_port || in->change_port;
	if (!ev.answered && !any_yes) {
		if (!any_sent)
			return RV_ENODATA;
		out->type = RV_NAT_BLOCKED;
		return 0;
	}

	out->map = map_of(&ev);
	out->filt = filt_of(in);
	out->mapped = ev.first;
	if (ev.untranslated)
		out->type = RV_NAT_NONE;
	else
		out->type = rv_nat_type_of(out->map, out->filt);
	/* Fig. 7: a response from the second server alone means full cone. */
	if (out->type == RV_NAT_UNKNOWN && out->map == RV_MAP_UNKNOWN && out->filt == RV_FILT_EI &&
	    !ev.apd && !ev.ip_dep)
		out->type = RV_NAT_FULL_CONE;
	if (out->map == RV_MAP_UNKNOWN && out->filt == RV_FILT_UNKNOWN &&
	    out->type == RV_NAT_UNKNOWN)
		return RV_ENODATA;
	return 0;
}

int rv_nat_obs_port_sensitive(const struct rv_nat_obs *in)
{
	struct evidence ev;
	int rc;

	if ((rc = collect(in, &ev)))
		return rc;
	if (ev.apd)
		return 1;
	if (ev.untranslated || ev.port_indep || ev.eim)
		return 0;
	return RV_ENODATA;
}

const char *rv_seen_str(enum rv_seen s)
{
	static const char *const names[] = { "untested", "no", "yes" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
