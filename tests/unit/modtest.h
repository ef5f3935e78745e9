/*
 * NAME
 *	modtest.h - what the unit tests of the module's parts share
 *
 * SYNOPSIS
 *	#include "modtest.h"
 *
 * DESCRIPTION
 *	Included by exactly one file of each test program of a module part
 *	(seen_test, conns_test, delivery_test, glue_test, hook_test).
 *
 *	mt_reply() and mt_rr_*() build a DNS reply by hand: a question,
 *	then CNAME, A and TXT records with their TTLs (an owner of NULL is
 *	a compression pointer to the question name).
 *
 *	mt_query() builds a verdict channel name as the SMDANE_Ask rule of
 *	cf/feature/dane.m4 does: empty fields "none", no trailing dot in
 *	the next hop and the recipient domain, SMDANE_SUFFIX and the final
 *	dot of the map lookup.
 *
 *	mt_facts() builds the dane_facts of one (next hop, server) pair
 *	for a wanted level, as policy_test.c does; mt_dest() and
 *	mt_gather(), given to dlv_set_gather(), make delivery.c use them
 *	instead of DNS, and count the lookups of each pair.
 *
 *	syslog() is replaced: the module's lines are kept in mt_log[]
 *	instead of reaching the system log.
 *
 *	mt_clock() is a clock the tests set (mt_now) for seen_set_clock().
 */
#ifndef MODTEST_H
#define MODTEST_H

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "module.h"

#define MT_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- DNS replies ------------------------------------------------------ */

struct mt_pkt {
	unsigned char buf[8192];
	int len;
};

static inline void
mt_put8(struct mt_pkt *p, unsigned v)
{
	cr_assert_lt(p->len + 1, (int)sizeof(p->buf), "test reply too long");
	p->buf[p->len++] = (unsigned char)v;
}

static inline void
mt_put16(struct mt_pkt *p, unsigned v)
{
	mt_put8(p, (v >> 8) & 0xff);
	mt_put8(p, v & 0xff);
}

static inline void
mt_put32(struct mt_pkt *p, unsigned long v)
{
	mt_put16(p, (unsigned)(v >> 16) & 0xffff);
	mt_put16(p, (unsigned)v & 0xffff);
}

/* A name in wire form, uncompressed; NULL: a pointer to the question. */
static inline void
mt_put_name(struct mt_pkt *p, const char *name)
{
	const char *label = name, *dot;
	size_t l;

	if (name == NULL) {
		mt_put16(p, 0xc00c);
		return;
	}
	while (*label != '\0') {
		dot = strchr(label, '.');
		l = dot != NULL ? (size_t)(dot - label) : strlen(label);
		cr_assert(l > 0 && l <= 63, "test name %s: bad label", name);
		mt_put8(p, (unsigned)l);
		while (l-- > 0)
			mt_put8(p, (unsigned char)*label++);
		if (dot == NULL)
			break;
		label = dot + 1;
	}
	mt_put8(p, 0);
}

static inline void
mt_ancount_inc(struct mt_pkt *p)
{
	unsigned an = (unsigned)p->buf[6] << 8 | p->buf[7];

	an++;
	p->buf[6] = (unsigned char)(an >> 8);
	p->buf[7] = (unsigned char)an;
}

/* A NOERROR reply to "qname IN qtype" with no records yet. */
static inline void
mt_reply(struct mt_pkt *p, const char *qname, unsigned qtype)
{
	memset(p, 0, sizeof(*p));
	mt_put16(p, 0x4d54);		/* ID */
	mt_put16(p, 0x8180);		/* QR RD RA, NOERROR */
	mt_put16(p, 1);			/* QDCOUNT */
	mt_put16(p, 0);			/* ANCOUNT */
	mt_put16(p, 0);			/* NSCOUNT */
	mt_put16(p, 0);			/* ARCOUNT */
	mt_put_name(p, qname);
	mt_put16(p, qtype);
	mt_put16(p, ns_c_in);
}

static inline void
mt_rcode(struct mt_pkt *p, unsigned rcode)
{
	p->buf[3] = (unsigned char)((p->buf[3] & 0xf0) | (rcode & 0x0f));
}

static inline void
mt_rr_head(struct mt_pkt *p, const char *owner, unsigned type,
    unsigned long ttl)
{
	mt_put_name(p, owner);
	mt_put16(p, type);
	mt_put16(p, ns_c_in);
	mt_put32(p, ttl);
	mt_ancount_inc(p);
}

static inline void
mt_rr_cname(struct mt_pkt *p, const char *owner, const char *target,
    unsigned long ttl)
{
	int at;

	mt_rr_head(p, owner, ns_t_cname, ttl);
	at = p->len;
	mt_put16(p, 0);
	mt_put_name(p, target);
	p->buf[at] = (unsigned char)((p->len - at - 2) >> 8);
	p->buf[at + 1] = (unsigned char)(p->len - at - 2);
}

static inline void
mt_rr_a(struct mt_pkt *p, const char *owner, unsigned long ttl,
    const char *addr)
{
	unsigned char a[4];
	size_t i;

	cr_assert_eq(inet_pton(AF_INET, addr, a), 1, "test address %s", addr);
	mt_rr_head(p, owner, ns_t_a, ttl);
	mt_put16(p, 4);
	for (i = 0; i < 4; i++)
		mt_put8(p, a[i]);
}

static inline void
mt_rr_txt(struct mt_pkt *p, const char *owner, unsigned long ttl,
    const char *text)
{
	size_t n = strlen(text), i;

	cr_assert_lt(n, 256);
	mt_rr_head(p, owner, ns_t_txt, ttl);
	mt_put16(p, (unsigned)n + 1);
	mt_put8(p, (unsigned)n);
	for (i = 0; i < n; i++)
		mt_put8(p, (unsigned char)text[i]);
}

/* ---- channel query names --------------------------------------------- */

static inline const char *
mt_field(const char *v, char *tmp, size_t size, int nodot)
{
	size_t n;

	if (v == NULL || v[0] == '\0')
		return "none";
	snprintf(tmp, size, "%s", v);
	n = strlen(tmp);
	if (nodot && n > 0 && tmp[n - 1] == '.')
		tmp[n - 1] = '\0';
	return tmp;
}

/*
 * _p.<phase>._v.<verify>._s.<server>._a.<addr>._h.<nexthop>._r.<rcpt>
 * ._c.<fp> SMDANE_SUFFIX "."
 */
static inline const char *
mt_query(char *buf, size_t size, const char *phase, const char *verify,
    const char *server, const char *addr, const char *nexthop,
    const char *rcpt, const char *fp)
{
	char t[7][DANE_NAME_MAX];
	int n;

	n = snprintf(buf, size, "_p.%s._v.%s._s.%s._a.%s._h.%s._r.%s._c.%s"
	    SMDANE_SUFFIX ".",
	    mt_field(phase, t[0], sizeof(t[0]), 0),
	    mt_field(verify, t[1], sizeof(t[1]), 0),
	    mt_field(server, t[2], sizeof(t[2]), 1),
	    mt_field(addr, t[3], sizeof(t[3]), 0),
	    mt_field(nexthop, t[4], sizeof(t[4]), 1),
	    mt_field(rcpt, t[5], sizeof(t[5]), 1),
	    mt_field(fp, t[6], sizeof(t[6]), 0));
	cr_assert(n > 0 && (size_t)n < size, "test query name too long");
	return buf;
}

/* ---- certificates ------------------------------------------------------ */

/* Hex digest of a certificate, as ${cert_md5} / ${cert_fp} carry it. */
static inline const char *
mt_cert_hex(X509 *cert, const EVP_MD *md, int upper, char *out,
    size_t size)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	cr_assert(X509_digest(cert, md, d, &n) == 1);
	cr_assert_lt(2 * (size_t)n, size);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", d[i]);
	return out;
}

/* ---- facts and the gather seam --------------------------------------- */

enum mt_level {
	MT_AUTH,			/* secure, usable TLSA records */
	MT_ENCRYPT,			/* secure, no usable TLSA record */
	MT_OPP,				/* insecure MX RRset */
	MT_SKIP,			/* TLSA lookup failed */
	MT_DEFER,			/* MX lookup failed */
	MT_NOT_MX			/* server not in the secure MX RRset */
};

/*
 * Facts about (nexthop, server) that dane_decide() turns into the
 * level; expanded is the next hop's CNAME target ("" if none), usage
 * that of the one TLSA record (at the server's name).
 */
static inline struct dane_facts *
mt_facts(const char *nexthop, const char *expanded, const char *server,
    uint16_t port, enum mt_level level, uint8_t usage)
{
	static const struct dane_lookup sec = { DANE_ANSWER_FOUND,
		DANE_DNSSEC_SECURE };
	struct dane_facts *f = calloc(1, sizeof(*f));
	struct dane_tlsa_rr *rr;

	cr_assert_not_null(f);
	snprintf(f->nexthop, sizeof(f->nexthop), "%s", nexthop);
	snprintf(f->nexthop_expanded, sizeof(f->nexthop_expanded), "%s",
	    expanded != NULL ? expanded : "");
	snprintf(f->host, sizeof(f->host), "%s", server);
	snprintf(f->tlsa_base, sizeof(f->tlsa_base), "%s", server);
	f->port = port;
	f->mx = sec;
	f->host_in_mx = 1;
	f->mx_count = 1;
	snprintf(f->mx_hosts[0], sizeof(f->mx_hosts[0]), "%s", server);
	f->addr = sec;
	f->tlsa = sec;
	f->host_cname.answer = DANE_ANSWER_NOT_QUERIED;
	switch (level) {
	case MT_OPP:
		f->mx.dnssec = DANE_DNSSEC_INSECURE;
		return f;
	case MT_DEFER:
		f->mx.answer = DANE_ANSWER_FAILED;
		f->mx.dnssec = DANE_DNSSEC_BOGUS;
		return f;
	case MT_SKIP:
		f->tlsa.answer = DANE_ANSWER_FAILED;
		f->tlsa.dnssec = DANE_DNSSEC_BOGUS;
		return f;
	case MT_NOT_MX:
		f->host_in_mx = 0;
		snprintf(f->mx_hosts[0], sizeof(f->mx_hosts[0]), "other.%s",
		    server);
		return f;
	case MT_AUTH:
	case MT_ENCRYPT:
		break;
	}
	f->tlsa_rrs = calloc(1, sizeof(*f->tlsa_rrs));
	cr_assert_not_null(f->tlsa_rrs);
	rr = &f->tlsa_rrs[0];
	f->tlsa_count = 1;
	rr->usage = usage;
	rr->selector = DANE_SELECTOR_SPKI;
	rr->mtype = DANE_MTYPE_SHA2_256;
	/* a SHA-256 digest of the wrong length is unusable */
	rr->len = level == MT_AUTH ? 32 : 7;
	rr->data = malloc(32);
	cr_assert_not_null(rr->data);
	memset(rr->data, 0x5a, 32);
	return f;
}

struct mt_dest {
	char nexthop[DANE_NAME_MAX];
	char expanded[DANE_NAME_MAX];
	enum mt_level level;
	uint8_t usage;
	enum dane_result error;
};

static struct mt_dest mt_dests[64];
static size_t mt_ndests;

static struct {
	char nexthop[DANE_NAME_MAX];
	char server[DANE_NAME_MAX];
	uint16_t port;
} mt_calls[256];
static size_t mt_ncalls;

/* What mt_gather() answers for nexthop (whatever the server). */
static inline struct mt_dest *
mt_dest(const char *nexthop, const char *expanded, enum mt_level level,
    uint8_t usage)
{
	struct mt_dest *d;

	cr_assert_lt(mt_ndests, MT_N(mt_dests));
	d = &mt_dests[mt_ndests++];
	memset(d, 0, sizeof(*d));
	snprintf(d->nexthop, sizeof(d->nexthop), "%s", nexthop);
	snprintf(d->expanded, sizeof(d->expanded), "%s",
	    expanded != NULL ? expanded : "");
	d->level = level;
	d->usage = usage;
	return d;
}

/* The resolver fails for nexthop. */
static inline void
mt_dest_error(const char *nexthop, enum dane_result error)
{
	mt_dest(nexthop, "", MT_OPP, 0)->error = error;
}

static inline enum dane_result
mt_gather(const char *nexthop, const char *server, uint16_t port,
    struct dane_facts **out)
{
	size_t i;

	*out = NULL;
	if (mt_ncalls < MT_N(mt_calls)) {
		snprintf(mt_calls[mt_ncalls].nexthop,
		    sizeof(mt_calls[0].nexthop), "%s", nexthop);
		snprintf(mt_calls[mt_ncalls].server,
		    sizeof(mt_calls[0].server), "%s", server);
		mt_calls[mt_ncalls].port = port;
	}
	mt_ncalls++;
	for (i = 0; i < mt_ndests; i++) {
		const struct mt_dest *d = &mt_dests[i];

		if (strcmp(d->nexthop, nexthop) != 0)
			continue;
		if (d->error != DANE_OK)
			return d->error;
		*out = mt_facts(nexthop, d->expanded, server, port, d->level,
		    d->usage);
		return DANE_OK;
	}
	/* a destination the test did not describe */
	return DANE_ERR_INTERNAL;
}

/* Lookups mt_gather() made for the pair. */
static inline size_t
mt_calls_for(const char *nexthop, const char *server)
{
	size_t i, n = 0;

	for (i = 0; i < mt_ncalls && i < MT_N(mt_calls); i++)
		n += strcmp(mt_calls[i].nexthop, nexthop) == 0 &&
		    strcmp(mt_calls[i].server, server) == 0;
	return n;
}

/* ---- clock ------------------------------------------------------------- */

static time_t mt_now = 1700000000;

static inline time_t
mt_clock(time_t *t)
{
	if (t != NULL)
		*t = mt_now;
	return mt_now;
}

/* ---- syslog ------------------------------------------------------------ */

static char mt_log[64][1024];
static size_t mt_nlog;

static inline void
mt_vlog(int prio, const char *fmt, va_list ap)
{
	(void)prio;
	vsnprintf(mt_log[mt_nlog % MT_N(mt_log)], sizeof(mt_log[0]), fmt, ap);
	mt_nlog++;
}

/* The executable's definitions interpose libc's. */
void
syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mt_vlog(prio, fmt, ap);
	va_end(ap);
}

void __syslog_chk(int prio, int flag, const char *fmt, ...);

void
__syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	mt_vlog(prio, fmt, ap);
	va_end(ap);
}

/* Lines kept that contain text. */
static inline size_t
mt_logged(const char *text)
{
	size_t i, n = 0;

	for (i = 0; i < mt_nlog && i < MT_N(mt_log); i++)
		n += strstr(mt_log[i], text) != NULL;
	return n;
}

/* sendmail's canonification of alias, a CNAME to target (canon reply). */
static inline void
mt_alias_reply(const char *alias, const char *target)
{
	struct mt_pkt p;

	mt_reply(&p, alias, ns_t_a);
	mt_rr_cname(&p, NULL, target, 3000);
	mt_rr_a(&p, target, 3000, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
}

/* sendmail's canonification of a name that is no alias. */
static inline void
mt_self_reply(const char *name)
{
	struct mt_pkt p;

	mt_reply(&p, name, ns_t_a);
	mt_rr_a(&p, NULL, 3000, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
}

#endif /* MODTEST_H */
