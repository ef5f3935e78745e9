/*
 * NAME
 *	fakeup.c - a fake upstream resolver serving signed zones
 *
 * DESCRIPTION
 *	See fakeup.h.  The zones are built and signed with ldns (one
 *	ECDSA P-256 key per signed zone, flags 257, NSEC denial) when the
 *	server starts; answers are then assembled per query from the
 *	signed RR lists, the way a recursive resolver that has every zone
 *	in its cache would assemble them.  Names are compared in DNSSEC
 *	canonical order (ldns_dname_compare()).
 */
#include <sys/socket.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ldns/ldns.h>

#include "fakeup.h"

#define ZONES_MAX 16
#define FAULTS_MAX 16
#define CONNS_MAX 8
#define CHAIN_MAX 16
#define QLOG_MAX 512
#define TTL 300
#define EDNS_SIZE 1232
#define WIRE_MAX 65535

struct zone {
	ldns_rdf *origin;
	int is_signed;
	struct zone *parent;
	ldns_key_list *keys;
	int keys_borrowed;	/* another instance's (fu_start_at like) */
	ldns_rr *ds;
	ldns_rr_list *rrs;	/* SOA first; with RRSIG and NSEC if signed */
};

struct conn {
	int fd;
	size_t len;
	uint8_t buf[2 + WIRE_MAX];
};

struct qrec {
	char name[256];
	char type[16];
	int tcp;
};

/* Where a reply goes: the query's peer, from our socket or another. */
struct peer {
	int tcp;
	int fd;
	struct sockaddr_in addr;
	socklen_t alen;
};

struct fakeup {
	struct zone zones[ZONES_MAX];
	size_t nzones;
	struct fu_fault faults[FAULTS_MAX];
	int hits[FAULTS_MAX];
	int flags;
	int udp, tcp, other;
	struct conn *conns[CONNS_MAX];
	uint16_t port;
	char upstream[32];
	char anchor[64];
	pthread_t thr;
	int running;
	volatile int stop;
	pthread_mutex_t mu;
	struct qrec log[QLOG_MAX];
	size_t nlog;
};

/* ---- zones --------------------------------------------------------------- */

static ldns_rdf *
dname(const char *s)
{
	ldns_rdf *d = ldns_dname_new_frm_str(s);

	cr_assert_not_null(d, "name \"%s\": got no name, want one", s);
	return d;
}

static int
name_eq(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_dname_compare(a, b) == 0;
}

/* a == b or a below b */
static int
name_under(const ldns_rdf *a, const ldns_rdf *b)
{
	return name_eq(a, b) || ldns_dname_is_subdomain(a, b);
}

static void
push_text(ldns_rr_list *l, const char *text, const ldns_rdf *origin)
{
	ldns_status st;
	ldns_rr *rr = NULL;

	st = ldns_rr_new_frm_str(&rr, text, TTL, origin, NULL);
	cr_assert_eq(st, LDNS_STATUS_OK, "zone record \"%s\": got %s, want "
	    "a record", text, ldns_get_errorstr_by_id(st));
	ldns_rr_list_push_rr(l, rr);
}

static void
push_records(struct zone *z, const char *rrs)
{
	char *copy, *cur, *tok;

	if (rrs == NULL)
		return;
	cr_assert_not_null(copy = strdup(rrs));
	for (cur = copy; (tok = strsep(&cur, "|")) != NULL;)
		if (tok[strspn(tok, " ")] != '\0')
			push_text(z->rrs, tok, z->origin);
	free(copy);
}

static struct zone *
zone_add(struct fakeup *u, const char *origin, int is_signed)
{
	struct zone *z;
	ldns_rdf *o = dname(origin);
	size_t i;

	for (i = 0; i < u->nzones; i++)
		if (name_eq(u->zones[i].origin, o)) {
			ldns_rdf_deep_free(o);
			return &u->zones[i];
		}
	cr_assert_lt(u->nzones, ZONES_MAX, "got more than %d zones, want "
	    "fewer", ZONES_MAX);
	z = &u->zones[u->nzones++];
	z->origin = o;
	z->is_signed = is_signed;
	cr_assert_not_null(z->rrs = ldns_rr_list_new());
	return z;
}

/* The SOA first (the zone's own or ours), and an apex NS RRset. */
static void
finish_apex(struct zone *z)
{
	ldns_rr_list *all;
	ldns_rr *soa = NULL, *rr;
	size_t i, n = ldns_rr_list_rr_count(z->rrs);
	int has_ns = 0;

	cr_assert_not_null(all = ldns_rr_list_new());
	for (i = 0; i < n; i++) {
		rr = ldns_rr_list_rr(z->rrs, i);
		if (!name_eq(ldns_rr_owner(rr), z->origin))
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && soa == NULL)
			soa = rr;
		has_ns |= ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS;
	}
	if (soa == NULL)
		push_text(all, "@ SOA ns.invalid. hostmaster.invalid. "
		    "1 3600 600 86400 300", z->origin);
	else
		ldns_rr_list_push_rr(all, soa);
	for (i = 0; i < n; i++)
		if ((rr = ldns_rr_list_rr(z->rrs, i)) != soa)
			ldns_rr_list_push_rr(all, rr);
	if (!has_ns)
		push_text(all, "@ NS ns.invalid.", z->origin);
	ldns_rr_list_free(z->rrs);	/* the records are now all's */
	z->rrs = all;
}

static void
link_parents(struct fakeup *u)
{
	size_t i, j;

	for (i = 1; i < u->nzones; i++) {
		struct zone *z = &u->zones[i], *best = &u->zones[0];

		for (j = 1; j < u->nzones; j++) {
			struct zone *p = &u->zones[j];

			if (p != z && ldns_dname_is_subdomain(z->origin,
			    p->origin) && ldns_dname_label_count(p->origin) >
			    ldns_dname_label_count(best->origin))
				best = p;
		}
		z->parent = best;
	}
}

/* The key of the same zone in another instance, or NULL. */
static ldns_key_list *
keys_of(const struct fakeup *like, const struct zone *z)
{
	size_t i;

	for (i = 0; like != NULL && i < like->nzones; i++)
		if (name_eq(like->zones[i].origin, z->origin) &&
		    like->zones[i].keys != NULL)
			return like->zones[i].keys;
	return NULL;
}

static void
make_key(struct zone *z, const struct fakeup *like)
{
	time_t now = time(NULL);
	ldns_key_list *shared = keys_of(like, z);
	ldns_rr *dnskey;
	ldns_key *k;

	if (shared != NULL) {
		/* one zone, several servers: one key */
		z->keys = shared;
		z->keys_borrowed = 1;
		k = ldns_key_list_key(shared, 0);
		cr_assert_not_null(dnskey = ldns_key2rr(k));
		ldns_rr_set_ttl(dnskey, TTL);
		cr_assert_not_null(z->ds = ldns_key_rr2ds(dnskey, LDNS_SHA256));
		ldns_rr_set_ttl(z->ds, TTL);
		ldns_rr_list_push_rr(z->rrs, dnskey);
		return;
	}
	k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	cr_assert_not_null(k, "key: got none, want an ECDSA P-256 key");
	ldns_key_set_pubkey_owner(k, ldns_rdf_clone(z->origin));
	ldns_key_set_flags(k, LDNS_KEY_ZONE_KEY | LDNS_KEY_SEP_KEY);
	ldns_key_set_inception(k, (uint32_t)(now - 3600));
	ldns_key_set_expiration(k, (uint32_t)(now + 7 * 86400));
	cr_assert_not_null(dnskey = ldns_key2rr(k));
	ldns_rr_set_ttl(dnskey, TTL);
	ldns_key_set_keytag(k, ldns_calc_keytag(dnskey));
	cr_assert_not_null(z->ds = ldns_key_rr2ds(dnskey, LDNS_SHA256));
	ldns_rr_set_ttl(z->ds, TTL);
	ldns_rr_list_push_rr(z->rrs, dnskey);
	cr_assert_not_null(z->keys = ldns_key_list_new());
	ldns_key_list_push_key(z->keys, k);
}

static void
sign_zone(struct zone *z)
{
	ldns_zone *plain, *sig;
	ldns_rr_list *all;
	size_t i;

	/* ldns keeps the SOA apart from the other records */
	cr_assert_not_null(plain = ldns_zone_new());
	ldns_zone_set_soa(plain, ldns_rr_list_rr(z->rrs, 0));
	for (i = 1; i < ldns_rr_list_rr_count(z->rrs); i++)
		ldns_zone_push_rr(plain, ldns_rr_list_rr(z->rrs, i));
	sig = ldns_zone_sign(plain, z->keys);
	cr_assert_not_null(sig, "signing: got nothing, want a signed zone");
	cr_assert_not_null(all = ldns_rr_list_new());
	ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_zone_soa(sig)));
	for (i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(sig)); i++)
		ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_rr_list_rr(
		    ldns_zone_rrs(sig), i)));
	ldns_zone_deep_free(sig);
	ldns_zone_free(plain);		/* the records are still z's */
	ldns_rr_list_deep_free(z->rrs);
	z->rrs = all;
}

static void
build(struct fakeup *u, const struct fu_zone *zones,
    const struct fakeup *like)
{
	size_t i;

	zone_add(u, ".", 1);
	for (i = 0; zones != NULL && zones[i].origin != NULL; i++)
		zone_add(u, zones[i].origin, zones[i].is_signed);
	for (i = 0; zones != NULL && zones[i].origin != NULL; i++) {
		ldns_rdf *o = dname(zones[i].origin);
		size_t j;

		for (j = 0; j < u->nzones; j++)
			if (name_eq(u->zones[j].origin, o))
				push_records(&u->zones[j], zones[i].rrs);
		ldns_rdf_deep_free(o);
	}
	for (i = 0; i < u->nzones; i++)
		finish_apex(&u->zones[i]);
	link_parents(u);
	for (i = 0; i < u->nzones; i++)
		if (u->zones[i].is_signed)
			make_key(&u->zones[i], like);
	for (i = 1; i < u->nzones; i++) {
		struct zone *z = &u->zones[i];
		ldns_rr *ns = NULL;

		cr_assert_eq(ldns_rr_new_frm_str(&ns, "@ NS ns.invalid.", TTL,
		    z->origin, NULL), LDNS_STATUS_OK);
		ldns_rr_list_push_rr(z->parent->rrs, ns);
		if (z->ds != NULL)
			ldns_rr_list_push_rr(z->parent->rrs,
			    ldns_rr_clone(z->ds));
	}
	for (i = 0; i < u->nzones; i++)
		if (u->zones[i].is_signed)
			sign_zone(&u->zones[i]);
}

static void
write_anchor(struct fakeup *u)
{
	char *text;
	int fd;

	snprintf(u->anchor, sizeof(u->anchor), "/tmp/fakeup-ta.XXXXXX");
	cr_assert((fd = mkstemp(u->anchor)) >= 0);
	cr_assert_not_null(text = ldns_rr2str(u->zones[0].ds));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	free(text);
	close(fd);
}

/* ---- answers ------------------------------------------------------------- */

static struct zone *
zone_for(struct fakeup *u, const ldns_rdf *name, ldns_rr_type type)
{
	struct zone *best = &u->zones[0];
	size_t i;

	for (i = 1; i < u->nzones; i++)
		if (name_under(name, u->zones[i].origin) &&
		    ldns_dname_label_count(u->zones[i].origin) >
		    ldns_dname_label_count(best->origin))
			best = &u->zones[i];
	/* the DS RRset of a zone lives in its parent */
	if (type == LDNS_RR_TYPE_DS && best->parent != NULL &&
	    name_eq(name, best->origin))
		best = best->parent;
	return best;
}

static int
covers(const ldns_rr *sig, ldns_rr_type t)
{
	return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)) == t;
}

static void
push_unique(ldns_pkt *p, ldns_pkt_section s, const ldns_rr *rr)
{
	ldns_rr_list *l = s == LDNS_SECTION_ANSWER ? ldns_pkt_answer(p) :
	    ldns_pkt_authority(p);

	if (!ldns_rr_list_contains_rr(l, rr))
		ldns_pkt_push_rr(p, s, ldns_rr_clone(rr));
}

/* The RRset (owner, t) and, with dnssec, its RRSIGs; how many RRs. */
static size_t
add_set(ldns_pkt *p, ldns_pkt_section s, const struct zone *z,
    const ldns_rdf *owner, ldns_rr_type t, int dnssec)
{
	size_t i, n = 0, count = ldns_rr_list_rr_count(z->rrs);

	for (i = 0; i < count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) == t &&
		    name_eq(ldns_rr_owner(rr), owner)) {
			push_unique(p, s, rr);
			n++;
		}
	}
	for (i = 0; n > 0 && dnssec && i < count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
		    name_eq(ldns_rr_owner(rr), owner) && covers(rr, t))
			push_unique(p, s, rr);
	}
	return n;
}

static ldns_rr *
first_of(const struct zone *z, const ldns_rdf *owner, ldns_rr_type t)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) == t &&
		    name_eq(ldns_rr_owner(rr), owner))
			return rr;
	}
	return NULL;
}

/* Does the name own records, or is it an empty non-terminal? */
static int
exists(const struct zone *z, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(z->rrs); i++)
		if (name_under(ldns_rr_owner(ldns_rr_list_rr(z->rrs, i)),
		    name))
			return 1;
	return 0;
}

/* The NSEC whose span holds name (RFC 4034 section 4.1.1). */
static ldns_rr *
nsec_cover(const struct zone *z, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		const ldns_rdf *o = ldns_rr_owner(rr), *next;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC)
			continue;
		next = ldns_rr_rdf(rr, 0);
		if (ldns_dname_compare(o, name) < 0 &&
		    (ldns_dname_compare(name, next) < 0 ||
		    ldns_dname_compare(next, o) <= 0))
			return rr;
	}
	return NULL;
}

static void
add_nsec(ldns_pkt *p, const struct zone *z, const ldns_rr *nsec)
{
	if (nsec != NULL)
		(void)add_set(p, LDNS_SECTION_AUTHORITY, z, ldns_rr_owner(nsec),
		    LDNS_RR_TYPE_NSEC, 1);
}

/* NODATA or NXDOMAIN for name in z (RFC 4035 section 3.1.3). */
static void
deny(ldns_pkt *p, const struct zone *z, const ldns_rdf *name, int dnssec)
{
	ldns_rdf *ce, *star, *wild;
	ldns_rr *nsec;

	(void)add_set(p, LDNS_SECTION_AUTHORITY, z, z->origin,
	    LDNS_RR_TYPE_SOA, dnssec);
	if (exists(z, name)) {
		if (dnssec && z->is_signed) {
			nsec = first_of(z, name, LDNS_RR_TYPE_NSEC);
			add_nsec(p, z, nsec != NULL ? nsec : nsec_cover(z,
			    name));
		}
		return;
	}
	ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
	if (!dnssec || !z->is_signed)
		return;
	add_nsec(p, z, nsec_cover(z, name));
	ce = ldns_dname_left_chop(name);
	while (!exists(z, ce) && !name_eq(ce, z->origin)) {
		ldns_rdf *up = ldns_dname_left_chop(ce);

		ldns_rdf_deep_free(ce);
		ce = up;
	}
	star = dname("*");
	wild = ldns_dname_cat_clone(star, ce);
	add_nsec(p, z, nsec_cover(z, wild));
	ldns_rdf_deep_free(star);
	ldns_rdf_deep_free(wild);
	ldns_rdf_deep_free(ce);
}

/* A DNAME above name in z: add it, synthesize the CNAME (RFC 6672). */
static ldns_rdf *
dname_step(ldns_pkt *p, const struct zone *z, const ldns_rdf *name,
    int dnssec)
{
	char *n, *o, *t, text[1024];
	ldns_rr *cname = NULL;
	ldns_rdf *target;
	size_t i, nl, ol;

	for (i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME ||
		    !ldns_dname_is_subdomain(name, ldns_rr_owner(rr)))
			continue;
		(void)add_set(p, LDNS_SECTION_ANSWER, z, ldns_rr_owner(rr),
		    LDNS_RR_TYPE_DNAME, dnssec);
		n = ldns_rdf2str(name);
		o = ldns_rdf2str(ldns_rr_owner(rr));
		t = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		nl = strlen(n);
		ol = strlen(o);
		snprintf(text, sizeof(text), "%s %u IN CNAME %.*s%s", n,
		    (unsigned)ldns_rr_ttl(rr), (int)(nl - ol), n, t);
		free(n);
		free(o);
		free(t);
		cr_assert_eq(ldns_rr_new_frm_str(&cname, text, TTL, NULL, NULL),
		    LDNS_STATUS_OK, "synthesized \"%s\": got no record", text);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, cname);
		target = ldns_rdf_clone(ldns_rr_rdf(cname, 0));
		return target;
	}
	return NULL;
}

/* The full answer a recursive resolver gives, CNAMEs followed. */
static int
resolve(struct fakeup *u, const ldns_rdf *qname, ldns_rr_type qtype,
    int dnssec, ldns_pkt *p)
{
	ldns_rdf *name = ldns_rdf_clone(qname), *next;
	int hop, all_signed = 1;

	for (hop = 0; hop < CHAIN_MAX; hop++) {
		struct zone *z = zone_for(u, name, qtype);
		ldns_rr *cn;

		all_signed &= z->is_signed;
		if ((next = dname_step(p, z, name, dnssec)) != NULL) {
			ldns_rdf_deep_free(name);
			name = next;
			continue;
		}
		if (qtype != LDNS_RR_TYPE_CNAME &&
		    (cn = first_of(z, name, LDNS_RR_TYPE_CNAME)) != NULL) {
			(void)add_set(p, LDNS_SECTION_ANSWER, z, name,
			    LDNS_RR_TYPE_CNAME, dnssec);
			ldns_rdf_deep_free(name);
			name = ldns_rdf_clone(ldns_rr_rdf(cn, 0));
			continue;
		}
		if (add_set(p, LDNS_SECTION_ANSWER, z, name, qtype,
		    dnssec) == 0)
			deny(p, z, name, dnssec);
		break;
	}
	ldns_rdf_deep_free(name);
	return all_signed;
}

/* ---- misbehaviour -------------------------------------------------------- */

static void
strip(ldns_pkt *p, int nsec_too)
{
	ldns_rr_list *keep, *l;
	int s;

	for (s = 0; s < 2; s++) {
		l = s == 0 ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
		cr_assert_not_null(keep = ldns_rr_list_new());
		while (ldns_rr_list_rr_count(l) > 0) {
			ldns_rr *rr = ldns_rr_list_pop_rr(l);
			ldns_rr_type t = ldns_rr_get_type(rr);

			if (t == LDNS_RR_TYPE_RRSIG ||
			    (nsec_too && t == LDNS_RR_TYPE_NSEC))
				ldns_rr_free(rr);
			else
				ldns_rr_list_push_rr(keep, rr);
		}
		while (ldns_rr_list_rr_count(keep) > 0)
			ldns_rr_list_push_rr(l, ldns_rr_list_pop_rr(keep));
		ldns_rr_list_free(keep);
	}
	ldns_pkt_set_ancount(p, (uint16_t)ldns_rr_list_rr_count(
	    ldns_pkt_answer(p)));
	ldns_pkt_set_nscount(p, (uint16_t)ldns_rr_list_rr_count(
	    ldns_pkt_authority(p)));
}

/* Flip bits in the signature field of every answer RRSIG. */
static void
corrupt(ldns_pkt *p)
{
	ldns_rr_list *l = ldns_pkt_answer(p);
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rdf *sig;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    (sig = ldns_rr_rrsig_sig(rr)) == NULL ||
		    ldns_rdf_size(sig) == 0)
			continue;
		ldns_rdf_data(sig)[ldns_rdf_size(sig) / 2] ^= 0x55;
	}
}

static ldns_pkt *
reply_new(const ldns_pkt *q)
{
	ldns_pkt *p;

	cr_assert_not_null(p = ldns_pkt_new());
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, ldns_pkt_rd(q));
	ldns_pkt_set_cd(p, ldns_pkt_cd(q));
	ldns_pkt_set_ra(p, true);
	/* asked without recursion: answer as an authoritative server */
	ldns_pkt_set_aa(p, !ldns_pkt_rd(q));
	if (ldns_pkt_edns_udp_size(q) > 0) {
		ldns_pkt_set_edns_udp_size(p, EDNS_SIZE);
		ldns_pkt_set_edns_do(p, ldns_pkt_edns_do(q));
	}
	return p;
}

/* What an attacker would like the validator to believe. */
static ldns_pkt *
forgery(const ldns_pkt *q, const ldns_rr *question, int other_name)
{
	ldns_pkt *p = reply_new(q);
	ldns_rr *qq = ldns_rr_clone(question), *rr = NULL;
	char *owner = ldns_rdf2str(ldns_rr_owner(question)), text[600];
	const char *data;

	switch (ldns_rr_get_type(question)) {
	case LDNS_RR_TYPE_TLSA:
		data = "TLSA 3 1 1 " FU_ATTACKER_HEX;
		break;
	case LDNS_RR_TYPE_A:
		data = "A 203.0.113.66";
		break;
	case LDNS_RR_TYPE_AAAA:
		data = "AAAA 2001:db8::666";
		break;
	default:
		data = "MX 10 attacker.invalid.";
		break;
	}
	snprintf(text, sizeof(text), "%s %d IN %s", owner, TTL, data);
	free(owner);
	cr_assert_eq(ldns_rr_new_frm_str(&rr, text, TTL, NULL, NULL),
	    LDNS_STATUS_OK);
	if (other_name) {
		ldns_rdf_deep_free(ldns_rr_owner(qq));
		ldns_rr_set_owner(qq, dname("attacker.invalid."));
	}
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qq);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	ldns_pkt_set_ad(p, true);
	return p;
}

static int
fault_of(struct fakeup *u, const char *name, const char *type)
{
	int i;

	for (i = 0; i < FAULTS_MAX && u->faults[i].qname != NULL; i++)
		if (strcasecmp(u->faults[i].qname, name) == 0 &&
		    strcasecmp(u->faults[i].qtype, type) == 0)
			return i;
	return -1;
}

/* ---- the wire ------------------------------------------------------------ */

static void
send_pkt(const struct peer *to, int fd, ldns_pkt *p)
{
	uint8_t *wire = NULL, hdr[2];
	size_t len;

	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		return;
	if (to->tcp) {
		hdr[0] = (uint8_t)(len >> 8);
		hdr[1] = (uint8_t)len;
		if (write(to->fd, hdr, 2) == 2)
			(void)!write(to->fd, wire, len);
	} else
		(void)sendto(fd, wire, len, 0,
		    (const struct sockaddr *)&to->addr, to->alen);
	free(wire);
}

static size_t
wire_len(ldns_pkt *p)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		len = 0;
	free(wire);
	return len;
}

/* Header and question only, TC set (RFC 2181 section 9). */
static void
truncate_pkt(ldns_pkt *p)
{
	ldns_rr_list_deep_free(ldns_pkt_answer(p));
	ldns_rr_list_deep_free(ldns_pkt_authority(p));
	ldns_rr_list_deep_free(ldns_pkt_additional(p));
	ldns_pkt_set_answer(p, ldns_rr_list_new());
	ldns_pkt_set_authority(p, ldns_rr_list_new());
	ldns_pkt_set_additional(p, ldns_rr_list_new());
	ldns_pkt_set_ancount(p, 0);
	ldns_pkt_set_nscount(p, 0);
	ldns_pkt_set_arcount(p, 0);
	ldns_pkt_set_tc(p, true);
}

/* Record the query; *r gets its name (lower case, no root dot), type. */
static void
note(struct fakeup *u, const ldns_rr *question, int tcp, struct qrec *r)
{
	char *s = ldns_rdf2str(ldns_rr_owner(question));
	char *t = ldns_rr_type2str(ldns_rr_get_type(question));
	size_t len, i;

	snprintf(r->name, sizeof(r->name), "%s", s != NULL ? s : "?");
	snprintf(r->type, sizeof(r->type), "%s", t != NULL ? t : "?");
	free(s);
	free(t);
	len = strlen(r->name);
	if (len > 1 && r->name[len - 1] == '.')
		r->name[len - 1] = '\0';
	for (i = 0; r->name[i] != '\0'; i++)
		r->name[i] = (char)tolower((unsigned char)r->name[i]);
	r->tcp = tcp;
	pthread_mutex_lock(&u->mu);
	if (u->nlog < QLOG_MAX)
		u->log[u->nlog++] = *r;
	pthread_mutex_unlock(&u->mu);
}

/* Answer one query; returns -1 when a TCP connection is to close. */
static int
handle(struct fakeup *u, const uint8_t *q, size_t qlen,
    const struct peer *to)
{
	struct qrec r;
	ldns_pkt *qp = NULL, *p, *f;
	ldns_rr *question;
	size_t limit;
	int fi, flags = 0, first = 0, secure;

	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK ||
	    ldns_pkt_qdcount(qp) != 1) {
		ldns_pkt_free(qp);
		return 0;
	}
	question = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	note(u, question, to->tcp, &r);
	if ((fi = fault_of(u, r.name, r.type)) >= 0) {
		flags = u->faults[fi].flags;
		first = u->hits[fi]++ == 0;
	}

	if (flags & FU_DROP)
		goto out;
	if (flags & FU_DELAY)
		usleep(250000);
	if (to->tcp && (flags & FU_TC_NOTCP)) {
		ldns_pkt_free(qp);
		return -1;
	}
	p = reply_new(qp);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
	if (flags & FU_SERVFAIL)
		ldns_pkt_set_rcode(p, LDNS_RCODE_SERVFAIL);
	else {
		secure = resolve(u, ldns_rr_owner(question),
		    ldns_rr_get_type(question), ldns_pkt_edns_do(qp), p);
		ldns_pkt_set_ad(p, secure && ldns_pkt_edns_do(qp));
	}
	if (u->flags & FU_STRIP_ALL) {
		strip(p, 1);
		ldns_pkt_set_ad(p, false);
	}
	if (flags & FU_AD_UNSIGNED) {
		strip(p, 0);
		ldns_pkt_set_ad(p, true);
	}
	if (flags & FU_AD_BADSIG) {
		corrupt(p);
		ldns_pkt_set_ad(p, true);
	}
	limit = ldns_pkt_edns_udp_size(qp) >= 512 ?
	    ldns_pkt_edns_udp_size(qp) : 512;
	if (!to->tcp && ((flags & (FU_TC | FU_TC_NOTCP)) ||
	    wire_len(p) > limit))
		truncate_pkt(p);

	if ((flags & FU_WRONG_QUESTION) && first) {
		f = forgery(qp, question, 1);
		send_pkt(to, to->fd, f);
		ldns_pkt_free(f);
	} else if ((flags & FU_OTHER_PORT) && !to->tcp) {
		f = forgery(qp, question, 0);
		send_pkt(to, u->other, f);
		ldns_pkt_free(f);
		if (!(flags & FU_FORGED_ONLY))
			send_pkt(to, to->fd, p);
	} else {
		if (flags & FU_WRONG_ID) {
			f = forgery(qp, question, 0);
			ldns_pkt_set_id(f, ldns_pkt_id(qp) ^ 0x5a5a);
			send_pkt(to, to->fd, f);
			ldns_pkt_free(f);
		}
		send_pkt(to, to->fd, p);
	}
	ldns_pkt_free(p);
out:
	ldns_pkt_free(qp);
	return 0;
}

static void
serve_udp(struct fakeup *u)
{
	uint8_t buf[WIRE_MAX];
	struct peer to;
	ssize_t n;

	memset(&to, 0, sizeof(to));
	to.fd = u->udp;
	to.alen = sizeof(to.addr);
	n = recvfrom(u->udp, buf, sizeof(buf), 0, (struct sockaddr *)&to.addr,
	    &to.alen);
	if (n > 0)
		(void)handle(u, buf, (size_t)n, &to);
}

static void
conn_close(struct fakeup *u, int i)
{
	close(u->conns[i]->fd);
	free(u->conns[i]);
	u->conns[i] = NULL;
}

static void
serve_conn(struct fakeup *u, int i)
{
	struct conn *c = u->conns[i];
	struct peer to;
	size_t mlen;
	ssize_t n;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		conn_close(u, i);
		return;
	}
	c->len += (size_t)n;
	memset(&to, 0, sizeof(to));
	to.tcp = 1;
	to.fd = c->fd;
	while (c->len >= 2 &&
	    c->len >= 2 + (mlen = (size_t)c->buf[0] << 8 | c->buf[1])) {
		if (handle(u, c->buf + 2, mlen, &to) < 0) {
			conn_close(u, i);
			return;
		}
		memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
		c->len -= 2 + mlen;
	}
}

static void
serve_accept(struct fakeup *u)
{
	int fd, i;

	if ((fd = accept(u->tcp, NULL, NULL)) < 0)
		return;
	for (i = 0; i < CONNS_MAX; i++)
		if (u->conns[i] == NULL)
			break;
	if (i == CONNS_MAX || (u->conns[i] = calloc(1,
	    sizeof(*u->conns[i]))) == NULL) {
		close(fd);
		return;
	}
	u->conns[i]->fd = fd;
}

static void *
server(void *arg)
{
	struct fakeup *u = arg;
	struct timeval tv;
	fd_set rd;
	int i, max;

	while (!u->stop) {
		FD_ZERO(&rd);
		FD_SET(u->udp, &rd);
		FD_SET(u->tcp, &rd);
		max = u->udp > u->tcp ? u->udp : u->tcp;
		for (i = 0; i < CONNS_MAX; i++)
			if (u->conns[i] != NULL) {
				FD_SET(u->conns[i]->fd, &rd);
				if (u->conns[i]->fd > max)
					max = u->conns[i]->fd;
			}
		tv.tv_sec = 0;
		tv.tv_usec = 20000;
		if (select(max + 1, &rd, NULL, NULL, &tv) <= 0)
			continue;
		if (FD_ISSET(u->udp, &rd))
			serve_udp(u);
		if (FD_ISSET(u->tcp, &rd))
			serve_accept(u);
		for (i = 0; i < CONNS_MAX; i++)
			if (u->conns[i] != NULL &&
			    FD_ISSET(u->conns[i]->fd, &rd))
				serve_conn(u, i);
	}
	return NULL;
}

static int
udp_socket(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd;

	cr_assert((fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

/* UDP and TCP on one port of addr (a free one for port 0). */
static void
listen_port(struct fakeup *u, const char *addr, unsigned port)
{
	struct sockaddr_in sa;
	int tries, one = 1;

	for (tries = 0; tries < 20; tries++) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1,
		    "address \"%s\": got none, want an IPv4 address", addr);
		sa.sin_port = htons((uint16_t)port);
		u->udp = udp_socket(&sa);
		cr_assert((u->tcp = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		(void)setsockopt(u->tcp, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(u->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(u->tcp, 8) == 0)
			break;
		close(u->udp);
		close(u->tcp);
	}
	cr_assert_lt(tries, 20, "got no free port on %s, want one", addr);
	u->port = ntohs(sa.sin_port);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u->other = udp_socket(&sa);
}

struct fakeup *
fu_start(const struct fu_zone *zones, const struct fu_fault *faults,
    int flags)
{
	return fu_start_at(zones, faults, flags, "127.0.0.1", 0, NULL);
}

struct fakeup *
fu_start_at(const struct fu_zone *zones, const struct fu_fault *faults,
    int flags, const char *addr, unsigned port, const struct fakeup *like)
{
	struct fakeup *u;
	size_t i;

	cr_assert_not_null(u = calloc(1, sizeof(*u)));
	pthread_mutex_init(&u->mu, NULL);
	u->flags = flags;
	for (i = 0; faults != NULL && faults[i].qname != NULL; i++) {
		cr_assert_lt(i, FAULTS_MAX - 1, "got too many faults");
		u->faults[i] = faults[i];
	}
	build(u, zones, like);
	write_anchor(u);
	listen_port(u, addr, port);
	snprintf(u->upstream, sizeof(u->upstream), "%s@%u", addr,
	    (unsigned)u->port);
	if (flags & FU_CLOSED) {
		close(u->udp);
		close(u->tcp);
		close(u->other);
		u->udp = u->tcp = u->other = -1;
		return u;
	}
	cr_assert_eq(pthread_create(&u->thr, NULL, server, u), 0);
	u->running = 1;
	return u;
}

const char *
fu_upstream(const struct fakeup *u)
{
	return u->upstream;
}

unsigned
fu_port(const struct fakeup *u)
{
	return u->port;
}

const char *
fu_anchor(const struct fakeup *u)
{
	return u->anchor;
}

void
fu_queries(struct fakeup *u, int all, char *buf, size_t size)
{
	const struct qrec *prev = NULL;
	size_t i, used = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&u->mu);
	for (i = 0; i < u->nlog; i++) {
		const struct qrec *r = &u->log[i];
		int n;

		/* the validator's own: keys, DS, key tags (RFC 8145) */
		if (!all && (strcmp(r->type, "DNSKEY") == 0 ||
		    strcmp(r->type, "DS") == 0 ||
		    strncmp(r->name, "_ta-", 4) == 0))
			continue;
		if (!all && prev != NULL && strcmp(prev->name, r->name) == 0 &&
		    strcmp(prev->type, r->type) == 0 && prev->tcp == r->tcp)
			continue;
		prev = r;
		n = snprintf(buf + used, size - used, "%s%s/%s%s",
		    used > 0 ? " " : "", r->name, r->type, r->tcp ? "+tcp" :
		    "");
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	pthread_mutex_unlock(&u->mu);
}

void
fu_stop(struct fakeup *u)
{
	size_t i;

	if (u == NULL)
		return;
	if (u->running) {
		u->stop = 1;
		pthread_join(u->thr, NULL);
		close(u->udp);
		close(u->tcp);
		close(u->other);
		for (i = 0; i < CONNS_MAX; i++)
			if (u->conns[i] != NULL)
				conn_close(u, (int)i);
	}
	unlink(u->anchor);
	for (i = 0; i < u->nzones; i++) {
		ldns_rdf_deep_free(u->zones[i].origin);
		ldns_rr_list_deep_free(u->zones[i].rrs);
		ldns_rr_free(u->zones[i].ds);
		if (u->zones[i].keys != NULL && !u->zones[i].keys_borrowed)
			ldns_key_list_free(u->zones[i].keys);
	}
	pthread_mutex_destroy(&u->mu);
	free(u);
}
