/*
 * NAME
 *	policy.c - turn DNS facts into a TLS policy
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	enum dane_result dane_decide(const struct dane_settings *s,
 *	    const struct dane_facts *f, struct dane_policy **out);
 *	void dane_policy_free(struct dane_policy *p);
 *
 * DESCRIPTION
 *	dane_decide() is a pure function: no I/O, no clock, no global
 *	state.  The rules, first match wins (docs/POLICY.md holds the same
 *	table):
 *
 *	1. address-literal next hop: OPP, DANE does not apply (RFC 7672
 *	   section 2.2).  An upstream that delivers no DNSSEC (nothing
 *	   was looked up): DEFER, or OPP when the settings accept that
 *	   downgrade (no_dnssec).
 *	2. MX destination: MX failed or bogus: DEFER (2.1.2); MX or its
 *	   denial insecure: OPP (2.2.1); secure MX not naming the host, or
 *	   secure denial (implicit MX) with a host other than the next
 *	   hop: SKIP.
 *	3. host is an IP address (MX pointing at a literal): OPP, DANE
 *	   does not apply (2.2).
 *	4. host addresses failed or bogus: SKIP; not found: SKIP;
 *	   insecure without a CNAME chain: OPP, no TLSA lookup (2.2.2);
 *	   insecure behind a CNAME chain: the CNAME RRset at the host
 *	   decides (2.1.3): failed or gone: SKIP; insecure: OPP; secure:
 *	   go on with the TLSA RRset of the original name alone.
 *	5. TLSA RRset at a name that cannot be a base domain (neither the
 *	   host nor, with secure addresses, its expansion; 2.2.3 "never an
 *	   intermediate name"): SKIP, the facts are inconsistent.
 *	6. TLSA failed or bogus: SKIP (2.1.2); insecure (records or
 *	   denial): OPP; secure denial: OPP (2.2).
 *	7. secure TLSA RRset: AUTH when at least one record is usable,
 *	   else ENCRYPT (2.2, "MUST be made via TLS").  Records whose
 *	   RDATA did not even parse count as unusable.
 *
 *	The reference identifiers (3.2.2) are the TLSA base domain, then,
 *	for a secure MX destination, an implicit MX or a relay, the
 *	next-hop domain and its CNAME expansion.  Intermediate CNAME names
 *	are never reference identifiers.  With an insecure MX RRset DANE
 *	is not used at all (the RFC's MAY is not taken), so the "MX host
 *	name only" rule of 3.2.2 never comes into play.
 *
 * DIAGNOSTICS
 *	DANE_ERR_INVAL for NULL arguments, DANE_ERR_NOMEM.  On DANE_OK the
 *	caller owns *out and releases it with dane_policy_free().
 */
#include <stdlib.h>
#include <string.h>

#include "danei.h"

#define DSN_TEMPFAIL "4.7.5"

static int
is_denial(enum dane_answer a)
{
	return a == DANE_ANSWER_NXDOMAIN || a == DANE_ANSWER_NODATA;
}

static int
is_failure(const struct dane_lookup *l)
{
	return l->answer == DANE_ANSWER_FAILED ||
	    l->answer == DANE_ANSWER_NOT_QUERIED ||
	    l->dnssec == DANE_DNSSEC_BOGUS;
}

static int
set_level(struct dane_policy *p, enum dane_level l, enum dane_reason r)
{
	p->level = l;
	p->reason = r;
	return 1;
}

/* Step 2; returns 1 when the decision is made. */
static int
decide_mx(const struct dane_facts *f, struct dane_policy *p)
{
	if (f->nexthop_is_relay)
		return 0;
	if (is_failure(&f->mx))
		return set_level(p, DANE_LEVEL_DEFER, DANE_R_MX_FAILED);
	if (f->mx.dnssec != DANE_DNSSEC_SECURE)
		return set_level(p, DANE_LEVEL_OPP, DANE_R_MX_INSECURE);
	/* Secure MX RRset, or secure denial: implicit MX (RFC 5321 5.1). */
	if (!f->host_in_mx)
		return set_level(p, DANE_LEVEL_SKIP, DANE_R_HOST_NOT_MX);
	return 0;
}

/* Step 3. */
static int
decide_host(const struct dane_facts *f, struct dane_policy *p)
{
	if (f->host_is_literal)
		return set_level(p, DANE_LEVEL_OPP, DANE_R_NOT_APPLICABLE);
	return 0;
}

/* Step 4. */
static int
decide_addr(const struct dane_facts *f, struct dane_policy *p)
{
	if (is_failure(&f->addr))
		return set_level(p, DANE_LEVEL_SKIP, DANE_R_ADDR_FAILED);
	if (is_denial(f->addr.answer))
		return set_level(p, DANE_LEVEL_SKIP, DANE_R_ADDR_NOTFOUND);
	if (f->addr.dnssec == DANE_DNSSEC_SECURE)
		return 0;
	if (f->host_expanded[0] == '\0')
		return set_level(p, DANE_LEVEL_OPP, DANE_R_ADDR_INSECURE);
	/* A CNAME that is no longer there is a failed lookup too. */
	if (is_failure(&f->host_cname) ||
	    f->host_cname.answer != DANE_ANSWER_FOUND)
		return set_level(p, DANE_LEVEL_SKIP, DANE_R_CNAME_FAILED);
	if (f->host_cname.dnssec != DANE_DNSSEC_SECURE)
		return set_level(p, DANE_LEVEL_OPP, DANE_R_CNAME_INSECURE);
	return 0;
}

/*
 * Step 5: the expanded name is a candidate only when the addresses
 * are secure; an empty base means the TLSA RRset was not looked up.
 */
static int
base_allowed(const struct dane_facts *f)
{
	if (f->tlsa_base[0] == '\0' || strcmp(f->tlsa_base, f->host) == 0)
		return 1;
	return f->addr.dnssec == DANE_DNSSEC_SECURE &&
	    f->host_expanded[0] != '\0' &&
	    strcmp(f->tlsa_base, f->host_expanded) == 0;
}

/* Steps 5 and 6. */
static int
decide_tlsa(const struct dane_facts *f, struct dane_policy *p)
{
	if (!base_allowed(f))
		return set_level(p, DANE_LEVEL_SKIP, DANE_R_TLSA_FAILED);
	if (is_failure(&f->tlsa))
		return set_level(p, DANE_LEVEL_SKIP, DANE_R_TLSA_FAILED);
	if (f->tlsa.dnssec != DANE_DNSSEC_SECURE)
		return set_level(p, DANE_LEVEL_OPP, DANE_R_TLSA_INSECURE);
	if (is_denial(f->tlsa.answer))
		return set_level(p, DANE_LEVEL_OPP, DANE_R_TLSA_NONE);
	return 0;
}

/* Step 7: copy the usable records, after usage 0/1 mapping. */
static enum dane_result
decide_records(const struct dane_settings *s, const struct dane_facts *f,
    struct dane_policy *p)
{
	struct dane_tlsa_rr eff;
	size_t i;

	if (f->tlsa_count > 0 && f->tlsa_rrs == NULL)
		return DANE_ERR_INVAL;
	if (f->tlsa_count > 0) {
		p->usable = calloc(f->tlsa_count, sizeof(*p->usable));
		if (p->usable == NULL)
			return DANE_ERR_NOMEM;
	}
	for (i = 0; i < f->tlsa_count; i++) {
		struct dane_tlsa_rr *u;

		if (!dane_tlsa_usable(s, &f->tlsa_rrs[i], &eff)) {
			p->unusable_count++;
			continue;
		}
		u = &p->usable[p->usable_count];
		*u = eff;
		u->data = malloc(eff.len > 0 ? eff.len : 1);
		if (u->data == NULL)
			return DANE_ERR_NOMEM;
		if (eff.len > 0)
			memcpy(u->data, eff.data, eff.len);
		p->usable_count++;
	}
	p->unusable_count += f->tlsa_malformed;
	if (p->usable_count > 0)
		set_level(p, DANE_LEVEL_AUTH, DANE_R_TLSA_USABLE);
	else
		set_level(p, DANE_LEVEL_ENCRYPT, DANE_R_TLSA_UNUSABLE);
	return DANE_OK;
}

static void
add_refname(struct dane_policy *p, const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0' ||
	    p->refname_count >= DANE_REFNAMES_MAX)
		return;
	for (i = 0; i < p->refname_count; i++)
		if (strcmp(p->refnames[i], name) == 0)
			return;
	danei_strlcpy(p->refnames[p->refname_count++], name,
	    sizeof(p->refnames[0]));
}

/*
 * RFC 7672 section 3.2.2: the base domain, and for a secure MX
 * destination (implicit MX and relays included) the next-hop domain
 * and its CNAME expansion.  With an insecure MX the MX host alone
 * would count, but such destinations never reach AUTH here.
 */
static void
set_names(const struct dane_facts *f, struct dane_policy *p)
{
	const char *base;

	base = f->tlsa_base[0] != '\0' ? f->tlsa_base : f->host;
	danei_strlcpy(p->base_domain, base, sizeof(p->base_domain));
	add_refname(p, p->base_domain);
	if (f->nexthop_is_literal)
		return;
	if (f->nexthop_is_relay || f->mx.dnssec == DANE_DNSSEC_SECURE) {
		add_refname(p, f->nexthop);
		add_refname(p, f->nexthop_expanded);
	}
}

enum dane_result
dane_decide(const struct dane_settings *s, const struct dane_facts *f,
    struct dane_policy **out)
{
	struct dane_settings defaults;
	struct dane_policy *p;
	enum dane_result r = DANE_OK;

	if (out == NULL)
		return DANE_ERR_INVAL;
	*out = NULL;
	if (f == NULL)
		return DANE_ERR_INVAL;
	if (s == NULL) {
		dane_settings_default(&defaults);
		s = &defaults;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DANE_ERR_NOMEM;

	if (f->nexthop_is_literal)
		set_level(p, DANE_LEVEL_OPP, DANE_R_NOT_APPLICABLE);
	else if (f->dnssec_unavailable)
		set_level(p, s->no_dnssec == DANE_NO_DNSSEC_OPPORTUNISTIC ?
		    DANE_LEVEL_OPP : DANE_LEVEL_DEFER,
		    DANE_R_DNSSEC_UNAVAILABLE);
	else if (!decide_mx(f, p) && !decide_host(f, p) &&
	    !decide_addr(f, p) && !decide_tlsa(f, p))
		r = decide_records(s, f, p);
	if (r != DANE_OK) {
		dane_policy_free(p);
		return r;
	}
	if (p->level == DANE_LEVEL_SKIP || p->level == DANE_LEVEL_DEFER)
		danei_strlcpy(p->dsn, DSN_TEMPFAIL, sizeof(p->dsn));
	set_names(f, p);
	*out = p;
	return DANE_OK;
}

void
dane_policy_free(struct dane_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->usable_count; i++)
		free(p->usable[i].data);
	free(p->usable);
	free(p);
}
