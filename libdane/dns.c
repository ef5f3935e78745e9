/*
 * NAME
 *	dns.c - DNSSEC-aware lookups that gather DANE facts
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	enum dane_result dane_ctx_new(const struct dane_resolver_config *rc,
 *	    struct dane_ctx **out);
 *	void dane_ctx_free(struct dane_ctx *c);
 *	void dane_ctx_set_log(struct dane_ctx *c, dane_log_fn *fn, void *arg);
 *	enum dane_result dane_gather(struct dane_ctx *c, const char *nexthop,
 *	    const char *host, uint16_t port, struct dane_facts **out);
 *	void dane_facts_free(struct dane_facts *f);
 *
 * DESCRIPTION
 *	A context holds one ldns resolver configured from a resolv.conf
 *	file: recursion desired, DNSSEC OK, checking enabled (CD clear),
 *	an EDNS buffer of 1232 bytes, TCP on truncation, no search list.
 *
 *	The AD bit is the only DNSSEC signal (RFC 7672 section 2.1.1), and
 *	it is believed only when every nameserver of the resolver is a
 *	trusted address (default: 127.0.0.0/8 and ::1).  Otherwise every
 *	answer counts as insecure, so DANE never applies, and a warning is
 *	logged once per context.
 *
 *	dane_gather() queries, in the order RFC 7672 section 2.2 requires,
 *	the MX RRset of the next hop, the A and AAAA RRsets of the host
 *	and the TLSA RRset of the TLSA base domain, stopping as soon as
 *	the decision is known.  A failing lookup (SERVFAIL, REFUSED,
 *	timeout, malformed reply, a reply still truncated after the retry
 *	over TCP) is FAILED with BOGUS security; NXDOMAIN and NODATA are
 *	answers.  A TLSA RR whose RDATA is too short to hold usage,
 *	selector and matching type is counted in tlsa_malformed (an
 *	unusable record, RFC 7671 section 9), not dropped.  CNAME chains are followed as the resolver
 *	returns them; only the end of a chain is recorded, so intermediate
 *	names never become a TLSA base or a reference identifier (2.2.3).
 *	TLSA base domains for a host reached through a CNAME chain:
 *
 *	- addresses secure: the expanded name, then the original name
 *	  only when the expanded name gave no secure TLSA RRset (a denial
 *	  or an insecure answer), never after a failure (2.2.3);
 *	- addresses insecure: one more query, of type CNAME at the host,
 *	  tells whether the first link of the chain is secure (2.1.3 last
 *	  paragraph); if it is, the TLSA RRset is looked up at the
 *	  original name alone (2.2.2), otherwise not at all;
 *	- no chain, addresses insecure: no TLSA query (2.2.2).
 *
 *	A host that is an IP address (an MX pointing at a literal) gets no
 *	address or TLSA lookup: DANE does not apply to it (2.2).
 *
 *	The first answer without AD from a trusted resolver triggers, once
 *	per context, a probe of the root NS RRset; when that is not
 *	validated either, a warning says DNSSEC validation may be off
 *	(RFC 7672 section 2.1.1; Postfix's dnssec_probe).
 *
 *	Successful replies (NOERROR or NXDOMAIN, not truncated) are kept
 *	in the context for the smallest TTL they carry, at most 300
 *	seconds, in a few slots: the next host of the same destination, or
 *	the next delivery in the same process (a queue run), does not ask
 *	again.  A reply with TTL 0 is not kept.  dane_ctx_seed() adds a
 *	reply the caller got from the same resolver (sendmail's own MX
 *	lookup), but only one carrying AD.
 *
 *	The context is not thread-safe; one context serves any number of
 *	sequential dane_gather() calls.
 *
 * DIAGNOSTICS
 *	DANE_ERR_INVAL for a malformed name or NULL argument;
 *	DANE_ERR_RESOLVER when the resolver configuration is unusable;
 *	DANE_ERR_CONFIG for a bad trusted-address list; DANE_ERR_NOMEM.
 *	DNS failures are facts, not errors.  On DANE_OK the caller owns
 *	*out and releases it with dane_facts_free().
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <ldns/ldns.h>

#include "danei.h"

#define DEFAULT_TIMEOUT_MS 5000
#define EDNS_BUFSIZE 1232		/* DNS flag day 2020 */
#define CNAME_HOPS_MAX 16
#define DEFAULT_TRUSTED "127.0.0.0/8 ::1"
#define TLSA_PORT_DEFAULT 25

#define CACHE_SLOTS 8
#define CACHE_TTL_MAX 300		/* seconds */

/* A reply kept for at most its TTL (RFC 7672 sections 2.1, 3.4). */
struct cached {
	ldns_rdf *qname;
	ldns_rr_type type;
	ldns_pkt *pkt;
	time_t expires;
};

struct dane_ctx {
	ldns_resolver *res;
	struct cached cache[CACHE_SLOTS];
	size_t cache_next;
	int trusted;			/* AD may be believed */
	int warned;			/* untrusted-resolver warning logged */
	int probed;			/* validation probe done */
	dane_log_fn *log_fn;
	void *log_arg;
};

/* One answer: the reply, its security and the end of its CNAME chain. */
struct answer {
	struct dane_lookup l;
	ldns_rr_type type;
	ldns_pkt *pkt;
	ldns_rdf *qname;
	const ldns_rdf *owner;		/* qname or the last CNAME target */
};

enum dane_result
danei_name_norm(const char *in, char *out, size_t size)
{
	size_t len, i, label = 0;

	if (in == NULL || size == 0)
		return DANE_ERR_INVAL;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= size)
		return DANE_ERR_INVAL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '\\')
			return DANE_ERR_INVAL;
		if (ch == '.') {
			if (label == 0)
				return DANE_ERR_INVAL;
			label = 0;
		} else if (++label > 63)
			return DANE_ERR_INVAL;
		out[i] = (char)tolower(ch);
	}
	out[len] = '\0';
	return DANE_OK;
}

/* Does `addr` (4 or 16 bytes) fall in the "addr[/len]" entry `spec`? */
static int
addr_in(const unsigned char *addr, size_t alen, const char *spec, int *bad)
{
	unsigned char net[16];
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	long bits;
	size_t i;
	int af;

	if (danei_strlcpy(buf, spec, sizeof(buf)) >= sizeof(buf))
		return *bad = 1, 0;
	bits = alen * 8;
	if ((slash = strchr(buf, '/')) != NULL) {
		char *end;

		*slash++ = '\0';
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits < 0)
			return *bad = 1, 0;
	}
	af = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, buf, net) != 1 ||
	    bits > (af == AF_INET6 ? 128 : 32))
		return *bad = 1, 0;
	if ((af == AF_INET6) != (alen == 16))
		return 0;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (addr[i] != net[i])
			return 0;
	if (bits > 0) {
		unsigned char mask = (unsigned char)(0xff << (8 - bits));

		if ((addr[i] & mask) != (net[i] & mask))
			return 0;
	}
	return 1;
}

static int
addr_trusted(const ldns_rdf *ns, const char *list, int *bad)
{
	char buf[1024], *p, *tok;
	size_t alen = ldns_rdf_size(ns);
	int hit = 0;

	if (alen != 4 && alen != 16)
		return 0;
	if (danei_strlcpy(buf, list, sizeof(buf)) >= sizeof(buf))
		return *bad = 1, 0;
	for (p = buf; (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (addr_in(ldns_rdf_data(ns), alen, tok, bad))
			hit = 1;
	}
	return hit;
}

static enum dane_result
check_trust(struct dane_ctx *c, const char *list)
{
	ldns_rdf **ns = ldns_resolver_nameservers(c->res);
	size_t i, n = ldns_resolver_nameserver_count(c->res);
	int bad = 0;

	c->trusted = n > 0;
	for (i = 0; i < n; i++)
		if (!addr_trusted(ns[i], list, &bad))
			c->trusted = 0;
	return bad ? DANE_ERR_CONFIG : DANE_OK;
}

enum dane_result
dane_ctx_new(const struct dane_resolver_config *rc, struct dane_ctx **out)
{
	const char *path = "/etc/resolv.conf", *trusted = DEFAULT_TRUSTED;
	unsigned ms = DEFAULT_TIMEOUT_MS;
	struct dane_ctx *c;
	struct timeval tv;
	enum dane_result r;

	if (out == NULL)
		return DANE_ERR_INVAL;
	*out = NULL;
	if (rc != NULL) {
		if (rc->resolv_conf != NULL)
			path = rc->resolv_conf;
		if (rc->trusted != NULL)
			trusted = rc->trusted;
		if (rc->timeout_ms != 0)
			ms = rc->timeout_ms;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DANE_ERR_NOMEM;
	if (ldns_resolver_new_frm_file(&c->res, path) != LDNS_STATUS_OK ||
	    c->res == NULL || ldns_resolver_nameserver_count(c->res) == 0) {
		dane_ctx_free(c);
		return DANE_ERR_RESOLVER;
	}
	ldns_resolver_set_recursive(c->res, true);
	ldns_resolver_set_dnssec(c->res, true);
	ldns_resolver_set_dnssec_cd(c->res, false);
	ldns_resolver_set_edns_udp_size(c->res, EDNS_BUFSIZE);
	ldns_resolver_set_fallback(c->res, true);
	ldns_resolver_set_igntc(c->res, false);
	ldns_resolver_set_usevc(c->res, false);
	ldns_resolver_set_defnames(c->res, false);
	ldns_resolver_set_dnsrch(c->res, false);
	ldns_resolver_set_retry(c->res, 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	ldns_resolver_set_timeout(c->res, tv);
	if ((r = check_trust(c, trusted)) != DANE_OK) {
		dane_ctx_free(c);
		return r;
	}
	*out = c;
	return DANE_OK;
}

static void
cache_clear(struct cached *e)
{
	ldns_rdf_deep_free(e->qname);
	ldns_pkt_free(e->pkt);
	memset(e, 0, sizeof(*e));
}

/* A copy of a still valid reply to (qname, type), or NULL. */
static ldns_pkt *
cache_get(struct dane_ctx *c, const ldns_rdf *qname, ldns_rr_type type)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++) {
		struct cached *e = &c->cache[i];

		if (e->pkt == NULL || e->type != type ||
		    ldns_dname_compare(e->qname, qname) != 0)
			continue;
		if (now >= e->expires) {
			cache_clear(e);
			return NULL;
		}
		return ldns_pkt_clone(e->pkt);
	}
	return NULL;
}

static uint32_t
min_ttl(const ldns_rr_list *l, uint32_t ttl)
{
	size_t i;

	for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_ttl(ldns_rr_list_rr(l, i)) < ttl)
			ttl = ldns_rr_ttl(ldns_rr_list_rr(l, i));
	return ttl;
}

/* Keep a reply for the smallest TTL in it (denials: the SOA's). */
static void
cache_put(struct dane_ctx *c, const ldns_rdf *qname, ldns_rr_type type,
    const ldns_pkt *pkt, unsigned age)
{
	struct cached *e;
	uint32_t ttl;

	ttl = min_ttl(ldns_pkt_answer(pkt), CACHE_TTL_MAX);
	ttl = min_ttl(ldns_pkt_authority(pkt), ttl);
	if (ttl <= age)
		return;
	ttl -= age;
	e = &c->cache[c->cache_next];
	c->cache_next = (c->cache_next + 1) % CACHE_SLOTS;
	cache_clear(e);
	if ((e->qname = ldns_rdf_clone(qname)) == NULL ||
	    (e->pkt = ldns_pkt_clone(pkt)) == NULL) {
		cache_clear(e);
		return;
	}
	e->type = type;
	e->expires = time(NULL) + (time_t)ttl;
}

enum dane_result
dane_ctx_seed(struct dane_ctx *c, const unsigned char *wire, size_t len,
    unsigned age)
{
	ldns_pkt *pkt = NULL;
	ldns_rr *q;
	ldns_status st;

	if (c == NULL || wire == NULL)
		return DANE_OK;
	st = ldns_wire2pkt(&pkt, wire, len);
	if (st == LDNS_STATUS_MEM_ERR)
		return DANE_ERR_NOMEM;
	if (st != LDNS_STATUS_OK || pkt == NULL)
		return DANE_OK;
	if (ldns_pkt_ad(pkt) && !ldns_pkt_tc(pkt) && ldns_pkt_qr(pkt) &&
	    ldns_pkt_qdcount(pkt) == 1 &&
	    (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NOERROR ||
	    ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) &&
	    (q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0)) != NULL &&
	    ldns_rr_get_class(q) == LDNS_RR_CLASS_IN)
		cache_put(c, ldns_rr_owner(q), ldns_rr_get_type(q), pkt, age);
	ldns_pkt_free(pkt);
	return DANE_OK;
}

void
dane_ctx_free(struct dane_ctx *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		cache_clear(&c->cache[i]);
	if (c->res != NULL)
		ldns_resolver_deep_free(c->res);
	free(c);
}

void
dane_ctx_set_log(struct dane_ctx *c, dane_log_fn *fn, void *arg)
{
	if (c == NULL)
		return;
	c->log_fn = fn;
	c->log_arg = arg;
}

void
danei_ctx_set_port(struct dane_ctx *c, uint16_t port)
{
	if (c != NULL && c->res != NULL)
		ldns_resolver_set_port(c->res, port);
}

static void
warn_untrusted(struct dane_ctx *c)
{
	if (c->trusted || c->warned)
		return;
	c->warned = 1;
	danei_log(c->log_fn, c->log_arg, LOG_WARNING,
	    "dane: resolver is not a trusted local validator, "
	    "all DNS answers count as insecure and DANE will not apply");
}

static void
answer_free(struct answer *a)
{
	ldns_pkt_free(a->pkt);
	ldns_rdf_deep_free(a->qname);
	memset(a, 0, sizeof(*a));
}

static int
rr_at(const ldns_rr *rr, ldns_rr_type t, const ldns_rdf *owner)
{
	return ldns_rr_get_type(rr) == t &&
	    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0;
}

/* Follow the CNAME chain of the answer section from the query name. */
static void
follow_chain(struct answer *a)
{
	ldns_rr_list *an = ldns_pkt_answer(a->pkt);
	size_t i, n = ldns_rr_list_rr_count(an);
	int hop, moved;

	a->owner = a->qname;
	if (a->type == LDNS_RR_TYPE_CNAME)
		return;
	for (hop = 0; hop < CNAME_HOPS_MAX; hop++) {
		moved = 0;
		for (i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (rr_at(rr, LDNS_RR_TYPE_CNAME, a->owner) &&
			    ldns_rr_rd_count(rr) >= 1) {
				a->owner = ldns_rr_rdf(rr, 0);
				moved = 1;
				break;
			}
		}
		if (!moved)
			return;
	}
}

static int
count_at_owner(const struct answer *a)
{
	ldns_rr_list *an = ldns_pkt_answer(a->pkt);
	size_t i, n = ldns_rr_list_rr_count(an);
	int found = 0;

	for (i = 0; i < n; i++)
		if (rr_at(ldns_rr_list_rr(an, i), a->type, a->owner))
			found++;
	return found;
}

static void
set_failed(struct dane_lookup *l)
{
	l->answer = DANE_ANSWER_FAILED;
	l->dnssec = DANE_DNSSEC_BOGUS;
}

/*
 * RFC 7672 section 2.1.1: a resolver that does not validate makes every
 * answer insecure and DANE silently never applies.  The root zone is
 * signed, so an unvalidated root NS RRset says validation is off.
 */
static void
probe_validation(struct dane_ctx *c)
{
	ldns_rdf *root;
	ldns_pkt *pkt = NULL;
	ldns_status st;

	if (!c->trusted || c->probed)
		return;
	c->probed = 1;
	if ((root = ldns_dname_new_frm_str(".")) == NULL)
		return;
	st = ldns_resolver_send(&pkt, c->res, root, LDNS_RR_TYPE_NS,
	    LDNS_RR_CLASS_IN, LDNS_RD);
	if (st == LDNS_STATUS_OK && pkt != NULL && !ldns_pkt_ad(pkt))
		danei_log(c->log_fn, c->log_arg, LOG_WARNING,
		    "dane: DNSSEC validation may be unavailable: the "
		    "resolver did not validate the root NS RRset, "
		    "DANE will not apply");
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(root);
}

/* One query; only out-of-memory and bad names are errors. */
static enum dane_result
lookup(struct dane_ctx *c, const char *name, ldns_rr_type type,
    struct answer *a)
{
	ldns_status st;

	memset(a, 0, sizeof(*a));
	a->type = type;
	set_failed(&a->l);
	if ((a->qname = ldns_dname_new_frm_str(name)) == NULL)
		return DANE_ERR_INVAL;
	a->owner = a->qname;		/* until a chain is followed */
	if ((a->pkt = cache_get(c, a->qname, type)) == NULL) {
		st = ldns_resolver_send(&a->pkt, c->res, a->qname, type,
		    LDNS_RR_CLASS_IN, LDNS_RD);
		if (st == LDNS_STATUS_MEM_ERR)
			return DANE_ERR_NOMEM;
		if (st != LDNS_STATUS_OK || a->pkt == NULL)
			return DANE_OK;
		switch (ldns_pkt_get_rcode(a->pkt)) {
		case LDNS_RCODE_NOERROR:
		case LDNS_RCODE_NXDOMAIN:
			if (!ldns_pkt_tc(a->pkt))
				cache_put(c, a->qname, type, a->pkt, 0);
			break;
		default:
			break;
		}
	}
	switch (ldns_pkt_get_rcode(a->pkt)) {
	case LDNS_RCODE_NOERROR:
	case LDNS_RCODE_NXDOMAIN:
		break;
	default:
		return DANE_OK;		/* SERVFAIL, REFUSED, ...: failure */
	}
	/* Still truncated after the TCP retry: not an answer (2.1.2). */
	if (ldns_pkt_tc(a->pkt))
		return DANE_OK;
	follow_chain(a);
	if (count_at_owner(a) > 0)
		a->l.answer = DANE_ANSWER_FOUND;
	else if (ldns_pkt_get_rcode(a->pkt) == LDNS_RCODE_NXDOMAIN)
		a->l.answer = DANE_ANSWER_NXDOMAIN;
	else
		a->l.answer = DANE_ANSWER_NODATA;
	a->l.dnssec = c->trusted && ldns_pkt_ad(a->pkt) ?
	    DANE_DNSSEC_SECURE : DANE_DNSSEC_INSECURE;
	if (a->l.dnssec == DANE_DNSSEC_INSECURE)
		probe_validation(c);
	return DANE_OK;
}

/* Canonical text form of a domain-name rdf; DANE_ERR_INVAL if odd. */
static enum dane_result
rdf_name(const ldns_rdf *rdf, char *out, size_t size)
{
	enum dane_result r;
	char *s;

	if ((s = ldns_rdf2str(rdf)) == NULL)
		return DANE_ERR_NOMEM;
	r = danei_name_norm(s, out, size);
	free(s);
	return r;
}

/* Record the CNAME expansion of a query name, if any. */
static enum dane_result
expansion(const struct answer *a, char *out, size_t size)
{
	enum dane_result r;

	out[0] = '\0';
	if (a->pkt == NULL || a->owner == NULL || a->owner == a->qname ||
	    a->l.answer == DANE_ANSWER_FAILED)
		return DANE_OK;
	r = rdf_name(a->owner, out, size);
	if (r == DANE_ERR_INVAL)
		out[0] = '\0';
	return r == DANE_ERR_NOMEM ? r : DANE_OK;
}

/* RFC 7672 section 2.2.1: the MX RRset of the next-hop domain. */
static enum dane_result
gather_mx(struct dane_ctx *c, struct dane_facts *f)
{
	char name[DANE_NAME_MAX];
	struct answer a;
	ldns_rr_list *an;
	enum dane_result r;
	size_t i, n;

	if ((r = lookup(c, f->nexthop, LDNS_RR_TYPE_MX, &a)) != DANE_OK)
		goto out;
	f->mx = a.l;
	if ((r = expansion(&a, f->nexthop_expanded,
	    sizeof(f->nexthop_expanded))) != DANE_OK)
		goto out;
	if (a.l.answer != DANE_ANSWER_FOUND) {
		/* Implicit MX (RFC 5321 section 5.1). */
		f->host_in_mx = strcmp(f->host, f->nexthop) == 0 ||
		    strcmp(f->host, f->nexthop_expanded) == 0;
		goto out;
	}
	an = ldns_pkt_answer(a.pkt);
	n = ldns_rr_list_rr_count(an);
	for (i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!rr_at(rr, LDNS_RR_TYPE_MX, a.owner) ||
		    ldns_rr_rd_count(rr) < 2)
			continue;
		r = rdf_name(ldns_rr_rdf(rr, 1), name, sizeof(name));
		if (r == DANE_ERR_NOMEM)
			goto out;
		if (r != DANE_OK) {
			r = DANE_OK;
			continue;	/* null MX (RFC 7505) or odd name */
		}
		if (strcmp(name, f->host) == 0)
			f->host_in_mx = 1;
		if (f->mx_count < DANE_MX_MAX)
			danei_strlcpy(f->mx_hosts[f->mx_count++], name,
			    sizeof(f->mx_hosts[0]));
	}
out:
	answer_free(&a);
	return r;
}

static enum dane_dnssec
weakest(enum dane_dnssec x, enum dane_dnssec y)
{
	return x > y ? x : y;		/* SECURE < INSECURE < BOGUS */
}

/* RFC 7672 section 2.2.2: the address RRsets of the host. */
static enum dane_result
gather_addr(struct dane_ctx *c, struct dane_facts *f)
{
	struct answer a4, a6;
	enum dane_result r;
	struct dane_lookup *l = &f->addr;

	memset(&a6, 0, sizeof(a6));
	if ((r = lookup(c, f->host, LDNS_RR_TYPE_A, &a4)) != DANE_OK ||
	    (r = lookup(c, f->host, LDNS_RR_TYPE_AAAA, &a6)) != DANE_OK)
		goto out;
	if (a4.l.answer == DANE_ANSWER_FAILED ||
	    a6.l.answer == DANE_ANSWER_FAILED) {
		set_failed(l);
		goto out;
	}
	l->dnssec = weakest(a4.l.dnssec, a6.l.dnssec);
	if (a4.l.answer == DANE_ANSWER_FOUND ||
	    a6.l.answer == DANE_ANSWER_FOUND)
		l->answer = DANE_ANSWER_FOUND;
	else if (a4.l.answer == DANE_ANSWER_NXDOMAIN &&
	    a6.l.answer == DANE_ANSWER_NXDOMAIN)
		l->answer = DANE_ANSWER_NXDOMAIN;
	else
		l->answer = DANE_ANSWER_NODATA;
	r = expansion(a4.owner != a4.qname ? &a4 : &a6, f->host_expanded,
	    sizeof(f->host_expanded));
	if (strcmp(f->host_expanded, f->host) == 0)
		f->host_expanded[0] = '\0';
out:
	answer_free(&a4);
	answer_free(&a6);
	return r;
}

static enum dane_result
add_tlsa(struct dane_facts *f, const ldns_rr *rr)
{
	const ldns_rdf *d;
	struct dane_tlsa_rr *t;
	size_t i;

	/* RFC 6698 section 2.1: three octets and data; else unusable. */
	if (ldns_rr_rd_count(rr) < 4) {
		f->tlsa_malformed++;
		return DANE_OK;
	}
	for (i = 0; i < 3; i++)
		if (ldns_rdf_size(ldns_rr_rdf(rr, i)) != 1) {
			f->tlsa_malformed++;
			return DANE_OK;
		}
	t = &f->tlsa_rrs[f->tlsa_count];
	memset(t, 0, sizeof(*t));
	t->usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
	t->selector = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
	t->mtype = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
	d = ldns_rr_rdf(rr, 3);
	t->len = d != NULL ? ldns_rdf_size(d) : 0;
	if (t->len > 0) {
		if ((t->data = malloc(t->len)) == NULL)
			return DANE_ERR_NOMEM;
		memcpy(t->data, ldns_rdf_data(d), t->len);
	}
	f->tlsa_count++;
	return DANE_OK;
}

static enum dane_result
parse_tlsa(struct dane_facts *f, const struct answer *a)
{
	ldns_rr_list *an = ldns_pkt_answer(a->pkt);
	size_t i, n = ldns_rr_list_rr_count(an);
	enum dane_result r;

	if (a->l.answer != DANE_ANSWER_FOUND)
		return DANE_OK;
	if ((f->tlsa_rrs = calloc(n, sizeof(*f->tlsa_rrs))) == NULL)
		return DANE_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!rr_at(rr, LDNS_RR_TYPE_TLSA, a->owner))
			continue;
		if ((r = add_tlsa(f, rr)) != DANE_OK)
			return r;
	}
	return DANE_OK;
}

static enum dane_result
tlsa_query(struct dane_ctx *c, struct dane_facts *f, const char *base,
    struct answer *a)
{
	char qname[DANE_NAME_MAX + 16];
	int n;

	n = snprintf(qname, sizeof(qname), "_%u._tcp.%s",
	    (unsigned)f->port, base);
	if (n < 0 || n > 253) {
		/* No such name can be looked up: fail closed. */
		memset(a, 0, sizeof(*a));
		set_failed(&a->l);
		return DANE_OK;
	}
	return lookup(c, qname, LDNS_RR_TYPE_TLSA, a);
}

/* A secure RRset of records, or something else at this base? */
static int
tlsa_found_secure(const struct dane_lookup *l)
{
	return l->answer == DANE_ANSWER_FOUND &&
	    l->dnssec == DANE_DNSSEC_SECURE;
}

/*
 * RFC 7672 section 2.2.3: the TLSA RRset of the base domain.  With
 * `original_only` (insecure addresses behind a secure first CNAME,
 * section 2.2.2) the expanded name is not a candidate.
 */
static enum dane_result
gather_tlsa(struct dane_ctx *c, struct dane_facts *f, int original_only)
{
	const char *base;
	struct answer a;
	enum dane_result r;

	base = f->host_expanded[0] != '\0' && !original_only ?
	    f->host_expanded : f->host;
	if ((r = tlsa_query(c, f, base, &a)) != DANE_OK)
		goto out;
	/*
	 * Only a clean "not found" (a denial, or an insecure answer that
	 * counts as none) allows the original name; after a failure the
	 * host is unusable (Postfix: "If the rname lookup fails we don't
	 * try the qname").
	 */
	if (base != f->host && a.l.answer != DANE_ANSWER_FAILED &&
	    !tlsa_found_secure(&a.l)) {
		answer_free(&a);
		base = f->host;
		if ((r = tlsa_query(c, f, base, &a)) != DANE_OK)
			goto out;
	}
	danei_strlcpy(f->tlsa_base, base, sizeof(f->tlsa_base));
	f->tlsa = a.l;
	r = parse_tlsa(f, &a);
out:
	answer_free(&a);
	return r;
}

/* RFC 7672 section 2.1.3: is the CNAME RRset at the host secure? */
static enum dane_result
gather_host_cname(struct dane_ctx *c, struct dane_facts *f)
{
	struct answer a;
	enum dane_result r;

	if ((r = lookup(c, f->host, LDNS_RR_TYPE_CNAME, &a)) == DANE_OK)
		f->host_cname = a.l;
	answer_free(&a);
	return r;
}

/* "[...]" next hops: an address literal or an administrator relay. */
static enum dane_result
parse_bracket(const char *nexthop, struct dane_facts *f)
{
	char inner[DANE_NAME_MAX];
	unsigned char bin[16];
	size_t len = strlen(nexthop);
	size_t i;

	if (len > 0 && nexthop[len - 1] == '.')
		len--;			/* "$&h" may end in a dot */
	if (len < 3 || nexthop[len - 1] != ']' || len - 2 >= sizeof(inner))
		return DANE_ERR_INVAL;
	memcpy(inner, nexthop + 1, len - 2);
	inner[len - 2] = '\0';
	if (strncasecmp(inner, "ipv6:", 5) == 0 ||
	    inet_pton(AF_INET, inner, bin) == 1) {
		f->nexthop_is_literal = 1;
		for (i = 0; inner[i] != '\0'; i++)
			inner[i] = (char)tolower((unsigned char)inner[i]);
		danei_sanitize(inner, DANEI_TEXT_UNSAFE);
		danei_strlcpy(f->nexthop, inner, sizeof(f->nexthop));
		return DANE_OK;
	}
	f->nexthop_is_relay = 1;
	return danei_name_norm(inner, f->nexthop, sizeof(f->nexthop));
}

static int
is_address(const char *name)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, name, bin) == 1 ||
	    inet_pton(AF_INET6, name, bin) == 1;
}

static enum dane_result
setup_facts(struct dane_facts *f, const char *nexthop, const char *host,
    uint16_t port)
{
	enum dane_result r;

	f->port = port != 0 ? port : TLSA_PORT_DEFAULT;
	f->mx.answer = f->addr.answer = f->tlsa.answer =
	    f->host_cname.answer = DANE_ANSWER_NOT_QUERIED;
	f->mx.dnssec = f->addr.dnssec = f->tlsa.dnssec =
	    f->host_cname.dnssec = DANE_DNSSEC_INSECURE;
	if (nexthop[0] == '[')
		r = parse_bracket(nexthop, f);
	else
		r = danei_name_norm(nexthop, f->nexthop, sizeof(f->nexthop));
	if (r != DANE_OK)
		return r;
	if (f->nexthop_is_literal) {
		/* No lookups: the host is kept for logging only. */
		if (host != NULL && danei_name_norm(host, f->host,
		    sizeof(f->host)) != DANE_OK)
			danei_strlcpy(f->host, f->nexthop, sizeof(f->host));
		return DANE_OK;
	}
	if (f->nexthop_is_relay && (host == NULL || *host == '\0'))
		host = f->nexthop;
	if (host == NULL)
		return DANE_ERR_INVAL;
	if ((r = danei_name_norm(host, f->host, sizeof(f->host))) != DANE_OK)
		return r;
	f->host_is_literal = is_address(f->host);
	if (f->nexthop_is_relay)
		f->host_in_mx = strcmp(f->host, f->nexthop) == 0;
	return DANE_OK;
}

static enum dane_result
gather(struct dane_ctx *c, struct dane_facts *f)
{
	enum dane_result r;

	if (!f->nexthop_is_relay) {
		if ((r = gather_mx(c, f)) != DANE_OK)
			return r;
		if (f->mx.answer == DANE_ANSWER_FAILED ||
		    f->mx.dnssec != DANE_DNSSEC_SECURE || !f->host_in_mx)
			return DANE_OK;
	}
	/* An MX naming an IP address: DANE does not apply (2.2). */
	if (f->host_is_literal)
		return DANE_OK;
	if ((r = gather_addr(c, f)) != DANE_OK)
		return r;
	if (f->addr.answer != DANE_ANSWER_FOUND ||
	    f->addr.dnssec == DANE_DNSSEC_BOGUS)
		return DANE_OK;
	if (f->addr.dnssec == DANE_DNSSEC_SECURE)
		return gather_tlsa(c, f, 0);
	/* "SHOULD NOT" query TLSA for insecure addresses (2.2.2) ... */
	if (f->host_expanded[0] == '\0')
		return DANE_OK;
	/* ... unless they hang off a secure first CNAME (2.1.3). */
	if ((r = gather_host_cname(c, f)) != DANE_OK)
		return r;
	if (f->host_cname.answer != DANE_ANSWER_FOUND ||
	    f->host_cname.dnssec != DANE_DNSSEC_SECURE)
		return DANE_OK;
	return gather_tlsa(c, f, 1);
}

enum dane_result
dane_gather(struct dane_ctx *c, const char *nexthop, const char *host,
    uint16_t port, struct dane_facts **out)
{
	struct dane_facts *f;
	enum dane_result r;

	if (out == NULL)
		return DANE_ERR_INVAL;
	*out = NULL;
	if (c == NULL || c->res == NULL || nexthop == NULL)
		return DANE_ERR_INVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return DANE_ERR_NOMEM;
	r = setup_facts(f, nexthop, host, port);
	if (r == DANE_OK && !f->nexthop_is_literal) {
		warn_untrusted(c);
		r = gather(c, f);
	}
	if (r != DANE_OK) {
		dane_facts_free(f);
		return r;
	}
	*out = f;
	return DANE_OK;
}

void
dane_facts_free(struct dane_facts *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->tlsa_count; i++)
		free(f->tlsa_rrs[i].data);
	free(f->tlsa_rrs);
	free(f);
}
