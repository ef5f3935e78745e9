/*
 * NAME
 *	dns_test - dane_gather() against a scripted resolver on loopback
 *
 * DESCRIPTION
 *	A fake validating resolver runs in a thread on 127.0.0.1 (UDP and
 *	TCP, a free port; libdane reaches it through danei_ctx_set_port()).
 *	It answers from a script: per (name, type) the RCODE, the AD bit,
 *	truncation over UDP and the answer RRs, and it records every query
 *	in order.  Each case then checks the queries sent (which names, in
 *	which order, which never), and the policy dane_decide() makes of
 *	the facts.  This proves the lookup rules of RFC 7672 sections 2.1
 *	and 2.2 that a table of facts cannot: CNAME handling (CONFORMANCE
 *	items 21-27, 54, 57), no TLSA query for insecure addresses (18),
 *	RFC order (19), stopping early, TCP after truncation (36), the
 *	validation probe (1).  Unknown queries get SERVFAIL and show up in
 *	the recorded list.
 */
#include <sys/socket.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ldns/ldns.h>

#include "dane.h"
#include "danei.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SPECS_MAX 16
#define LOG_LEN 2048
#define TLSA_HEX \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* flags of a scripted answer */
#define AD 1		/* validated */
#define NX 2		/* NXDOMAIN */
#define SF 4		/* SERVFAIL */
#define TC 8		/* truncated over UDP, full over TCP */
#define MANY 16		/* append 23 more TLSA records */

struct spec {
	const char *qname;
	const char *qtype;
	int flags;
	const char *rrs;	/* '|'-separated RRs; "SHORT owner" = 3-byte TLSA */
};

struct dcase {
	const char *name;
	const char *item;
	const char *nexthop, *host;
	struct spec specs[SPECS_MAX];
	const char *queries;	/* expected, space separated */
	const char *level;
	const char *reason;
	const char *base;	/* NULL: not checked */
	const char *refnames;	/* NULL: not checked */
	int usable;		/* -1: not checked */
	int warned;		/* validation warning expected */
};

static struct {
	int udp, tcp, stop;
	uint16_t port;
	const struct spec *specs;
	char log[LOG_LEN];
	pthread_mutex_t mu;
	pthread_t thr;
} S;

static char warnings[1024];

static void
log_sink(void *arg, int prio, const char *line)
{
	size_t used = strlen(warnings);

	(void)arg;
	(void)prio;
	snprintf(warnings + used, sizeof(warnings) - used, "%s\n", line);
}

static void
note_query(const char *name, const char *type, int tcp)
{
	size_t used;

	pthread_mutex_lock(&S.mu);
	used = strlen(S.log);
	snprintf(S.log + used, sizeof(S.log) - used, "%s%s/%s%s",
	    used > 0 ? " " : "", name, type, tcp ? "+tcp" : "");
	pthread_mutex_unlock(&S.mu);
}

static void
push_rr(ldns_pkt *p, const char *text)
{
	ldns_rr *rr = NULL;
	char owner[256];

	if (sscanf(text, "SHORT %255s", owner) == 1) {
		char full[400];

		snprintf(full, sizeof(full), "%s 300 IN TLSA 3 1 1 00", owner);
		cr_assert(ldns_rr_new_frm_str(&rr, full, 300, NULL, NULL) ==
		    LDNS_STATUS_OK);
		ldns_rdf_deep_free(ldns_rr_pop_rdf(rr));
	} else
		cr_assert(ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL) ==
		    LDNS_STATUS_OK, "bad RR in script: %s", text);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
}

static void
push_many(ldns_pkt *p, const char *owner)
{
	char text[400];
	int i;

	for (i = 0; i < 23; i++) {
		snprintf(text, sizeof(text), "%s 300 IN TLSA 3 1 1 %.62s%02x",
		    owner, TLSA_HEX, i);
		push_rr(p, text);
	}
}

/* Name without the root dot, lower case. */
static void
name_of(const ldns_rdf *rdf, char *buf, size_t size)
{
	char *s = ldns_rdf2str(rdf);
	size_t len;

	snprintf(buf, size, "%s", s != NULL ? s : "?");
	free(s);
	len = strlen(buf);
	if (len > 1 && buf[len - 1] == '.')
		buf[len - 1] = '\0';
}

static ldns_pkt *
respond(const uint8_t *q, size_t qlen, int tcp)
{
	const struct spec *sp = NULL;
	ldns_pkt *qp = NULL, *rp;
	ldns_rr *question;
	char name[256], *type;
	char *rrs, *tok, *cur;
	size_t i;

	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
		return NULL;
	question = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	name_of(ldns_rr_owner(question), name, sizeof(name));
	type = ldns_rr_type2str(ldns_rr_get_type(question));
	note_query(name, type, tcp);
	for (i = 0; i < SPECS_MAX && S.specs[i].qname != NULL; i++)
		if (strcasecmp(S.specs[i].qname, name) == 0 &&
		    strcmp(S.specs[i].qtype, type) == 0)
			sp = &S.specs[i];
	rp = ldns_pkt_new();
	ldns_pkt_set_id(rp, ldns_pkt_id(qp));
	ldns_pkt_set_qr(rp, true);
	ldns_pkt_set_rd(rp, true);
	ldns_pkt_set_ra(rp, true);
	ldns_pkt_push_rr(rp, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
	if (sp == NULL || (sp->flags & SF))
		ldns_pkt_set_rcode(rp, LDNS_RCODE_SERVFAIL);
	else {
		ldns_pkt_set_ad(rp, (sp->flags & AD) != 0);
		if (sp->flags & NX)
			ldns_pkt_set_rcode(rp, LDNS_RCODE_NXDOMAIN);
		if ((sp->flags & TC) && !tcp)
			ldns_pkt_set_tc(rp, true);
		else if (sp->rrs != NULL) {
			rrs = strdup(sp->rrs);
			for (cur = rrs; (tok = strsep(&cur, "|")) != NULL;)
				push_rr(rp, tok);
			free(rrs);
			if (sp->flags & MANY) {
				snprintf(name + strlen(name),
				    sizeof(name) - strlen(name), ".");
				push_many(rp, name);
			}
		}
	}
	free(type);
	ldns_pkt_free(qp);
	return rp;
}

static void
serve_udp(void)
{
	uint8_t buf[4096], *wire = NULL;
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	size_t wlen;
	ldns_pkt *rp;

	n = recvfrom(S.udp, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &flen);
	if (n <= 0 || (rp = respond(buf, (size_t)n, 0)) == NULL)
		return;
	if (ldns_pkt2wire(&wire, rp, &wlen) == LDNS_STATUS_OK)
		(void)sendto(S.udp, wire, wlen, 0, (struct sockaddr *)&from,
		    flen);
	free(wire);
	ldns_pkt_free(rp);
}

static int
read_full(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
serve_tcp(void)
{
	uint8_t hdr[2], buf[65536], *wire = NULL;
	size_t qlen, wlen;
	ldns_pkt *rp;
	int fd;

	if ((fd = accept(S.tcp, NULL, NULL)) < 0)
		return;
	while (read_full(fd, hdr, 2) == 0) {
		qlen = (size_t)hdr[0] << 8 | hdr[1];
		if (read_full(fd, buf, qlen) != 0 ||
		    (rp = respond(buf, qlen, 1)) == NULL)
			break;
		if (ldns_pkt2wire(&wire, rp, &wlen) == LDNS_STATUS_OK) {
			hdr[0] = (uint8_t)(wlen >> 8);
			hdr[1] = (uint8_t)wlen;
			if (write(fd, hdr, 2) != 2 ||
			    write(fd, wire, wlen) != (ssize_t)wlen)
				wlen = 0;
		}
		free(wire);
		wire = NULL;
		ldns_pkt_free(rp);
	}
	close(fd);
}

static void *
server(void *arg)
{
	fd_set rd;
	struct timeval tv;

	(void)arg;
	while (!S.stop) {
		FD_ZERO(&rd);
		FD_SET(S.udp, &rd);
		FD_SET(S.tcp, &rd);
		tv.tv_sec = 0;
		tv.tv_usec = 50000;
		if (select((S.udp > S.tcp ? S.udp : S.tcp) + 1, &rd, NULL,
		    NULL, &tv) <= 0)
			continue;
		if (FD_ISSET(S.udp, &rd))
			serve_udp();
		if (FD_ISSET(S.tcp, &rd))
			serve_tcp();
	}
	return NULL;
}

static void
server_start(const struct spec *specs)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int tries, one = 1;

	memset(&S, 0, sizeof(S));
	pthread_mutex_init(&S.mu, NULL);
	S.specs = specs;
	for (tries = 0; tries < 20; tries++) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		S.udp = socket(AF_INET, SOCK_DGRAM, 0);
		cr_assert(S.udp >= 0);
		cr_assert(bind(S.udp, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		cr_assert(getsockname(S.udp, (struct sockaddr *)&sa, &len) == 0);
		S.tcp = socket(AF_INET, SOCK_STREAM, 0);
		(void)setsockopt(S.tcp, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(S.tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(S.tcp, 4) == 0)
			break;
		close(S.udp);
		close(S.tcp);
	}
	cr_assert_lt(tries, 20, "got no free loopback port, want one");
	S.port = ntohs(sa.sin_port);
	cr_assert(pthread_create(&S.thr, NULL, server, NULL) == 0);
}

static void
server_stop(void)
{
	S.stop = 1;
	pthread_join(S.thr, NULL);
	close(S.udp);
	close(S.tcp);
}

static struct dane_ctx *
new_ctx(void)
{
	static char path[] = "/tmp/dns_test.XXXXXX";
	struct dane_resolver_config rc;
	struct dane_ctx *c = NULL;
	char file[sizeof(path)];
	enum dane_result r;
	int fd;

	memcpy(file, path, sizeof(path));
	cr_assert((fd = mkstemp(file)) >= 0);
	cr_assert(write(fd, "nameserver 127.0.0.1\n", 21) == 21);
	close(fd);
	memset(&rc, 0, sizeof(rc));
	rc.resolv_conf = file;
	rc.timeout_ms = 2000;
	r = dane_ctx_new(&rc, &c);
	unlink(file);
	cr_assert_eq(r, DANE_OK, "ctx: got %s, want success",
	    dane_strerror(r));
	danei_ctx_set_port(c, S.port);
	dane_ctx_set_log(c, log_sink, NULL);
	return c;
}

static const char *const reason_name[] = {
	"NOT_APPLICABLE", "MX_FAILED", "MX_INSECURE", "HOST_NOT_MX",
	"ADDR_FAILED", "ADDR_INSECURE", "ADDR_NOTFOUND", "TLSA_FAILED",
	"TLSA_INSECURE", "TLSA_NONE", "TLSA_UNUSABLE", "TLSA_USABLE",
	"NEXTHOP_FAILED", "CNAME_FAILED", "CNAME_INSECURE"
};

static int
check(const struct dcase *k)
{
	struct dane_ctx *c;
	struct dane_facts *f = NULL;
	struct dane_policy *p = NULL;
	enum dane_result r;
	char names[1024];
	size_t i, used = 0;
	int bad = 0;

	warnings[0] = '\0';
	server_start(k->specs);
	c = new_ctx();
	r = dane_gather(c, k->nexthop, k->host, 25, &f);
	server_stop();
	cr_assert_eq(r, DANE_OK, "item %s, %s: gather got %s, want success",
	    k->item, k->name, dane_strerror(r));
	cr_assert_eq(dane_decide(NULL, f, &p), DANE_OK);
#define EXPECT(what, got, want) do {					\
	if (strcmp((got), (want)) != 0) {				\
		cr_log_error("item %s, %s: %s got \"%s\", want \"%s\"",	\
		    k->item, k->name, (what), (got), (want));		\
		bad++;							\
	}								\
} while (0)
	EXPECT("queries", S.log, k->queries);
	EXPECT("level", dane_level_name(p->level), k->level);
	EXPECT("reason", (size_t)p->reason < N(reason_name) ?
	    reason_name[p->reason] : "?", k->reason);
	if (k->base != NULL)
		EXPECT("base", p->base_domain, k->base);
	names[0] = '\0';
	for (i = 0; i < p->refname_count; i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used,
		    "%s%s", i > 0 ? " " : "", p->refnames[i]);
	if (k->refnames != NULL)
		EXPECT("refnames", names, k->refnames);
	if (k->usable >= 0 && p->usable_count != (size_t)k->usable) {
		cr_log_error("item %s, %s: usable got %zu, want %d", k->item,
		    k->name, p->usable_count, k->usable);
		bad++;
	}
	if ((strstr(warnings, "validation may be unavailable") != NULL) !=
	    k->warned) {
		cr_log_error("item %s, %s: warnings got \"%s\", want %s",
		    k->item, k->name, warnings, k->warned ?
		    "the validation warning" : "none");
		bad++;
	}
#undef EXPECT
	dane_policy_free(p);
	dane_facts_free(f);
	dane_ctx_free(c);
	return bad;
}

static int
run(const struct dcase *cases, size_t n)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++)
		bad += check(&cases[i]);
	return bad;
}

#define TLSA(owner) owner ". 300 IN TLSA 3 1 1 " TLSA_HEX
#define MX_OK { "example.com", "MX", AD, \
	"example.com. 300 IN MX 10 mx.example.com." }
#define ROOT_OK { ".", "NS", AD, ". 300 IN NS a.root-servers.net." }
#define A_OK { "mx.example.com", "A", AD, "mx.example.com. 300 IN A 192.0.2.1" }
#define AAAA_OK { "mx.example.com", "AAAA", AD, NULL }
#define CN_A(f) { "mx.example.com", "A", f, \
	"mx.example.com. 300 IN CNAME mail.provider.net.|" \
	"mail.provider.net. 300 IN A 192.0.2.1" }
#define CN_AAAA(f) { "mx.example.com", "AAAA", f, \
	"mx.example.com. 300 IN CNAME mail.provider.net." }
#define Q_MXA "example.com/MX mx.example.com/A mx.example.com/AAAA"
#define T_ORIG "_25._tcp.mx.example.com"
#define T_EXP "_25._tcp.mail.provider.net"

Test(dns, cname_host_rules_of_rfc7672_2_2_2)
{
	static const struct dcase cases[] = {
		{ "secure CNAME: TLSA at the expanded name", "21",
		  "example.com", "mx.example.com",
		  { MX_OK, CN_A(AD), CN_AAAA(AD),
		    { T_EXP, "TLSA", AD, TLSA(T_EXP) } },
		  Q_MXA " " T_EXP "/TLSA", "dane", "TLSA_USABLE",
		  "mail.provider.net", "mail.provider.net example.com", 1, 0 },
		{ "secure CNAME: original name after a clean not-found",
		  "22,55", "example.com", "mx.example.com",
		  { MX_OK, CN_A(AD), CN_AAAA(AD),
		    { T_EXP, "TLSA", AD | NX, NULL },
		    { T_ORIG, "TLSA", AD, TLSA(T_ORIG) } },
		  Q_MXA " " T_EXP "/TLSA " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com",
		  "mx.example.com example.com", 1, 0 },
		{ "secure CNAME: insecure TLSA at the expansion falls back",
		  "22,31", "example.com", "mx.example.com",
		  { MX_OK, CN_A(AD), CN_AAAA(AD), ROOT_OK,
		    { T_EXP, "TLSA", 0, TLSA(T_EXP) },
		    { T_ORIG, "TLSA", AD, TLSA(T_ORIG) } },
		  Q_MXA " " T_EXP "/TLSA ./NS " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com", NULL, 1, 0 },
		{ "secure CNAME: failure at the expansion, no fallback",
		  "23", "example.com", "mx.example.com",
		  { MX_OK, CN_A(AD), CN_AAAA(AD),
		    { T_EXP, "TLSA", SF, NULL },
		    { T_ORIG, "TLSA", AD, TLSA(T_ORIG) } },
		  Q_MXA " " T_EXP "/TLSA", "skip", "TLSA_FAILED",
		  "mail.provider.net", NULL, 0, 0 },
		{ "insecure address behind a secure first CNAME", "24,9",
		  "example.com", "mx.example.com",
		  { MX_OK, CN_A(0), CN_AAAA(0), ROOT_OK,
		    { "mx.example.com", "CNAME", AD,
		      "mx.example.com. 300 IN CNAME mail.provider.net." },
		    { T_ORIG, "TLSA", AD, TLSA(T_ORIG) },
		    { T_EXP, "TLSA", AD, TLSA(T_EXP) } },
		  "example.com/MX mx.example.com/A ./NS mx.example.com/AAAA "
		  "mx.example.com/CNAME " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com",
		  "mx.example.com example.com", 1, 0 },
		{ "first CNAME insecure: no TLSA query", "25,9",
		  "example.com", "mx.example.com",
		  { MX_OK, CN_A(0), CN_AAAA(0), ROOT_OK,
		    { "mx.example.com", "CNAME", 0,
		      "mx.example.com. 300 IN CNAME mail.provider.net." } },
		  "example.com/MX mx.example.com/A ./NS mx.example.com/AAAA "
		  "mx.example.com/CNAME", "opportunistic", "CNAME_INSECURE",
		  "mx.example.com", NULL, 0, 0 },
		{ "first CNAME status fails: skip", "25",
		  "example.com", "mx.example.com",
		  { MX_OK, CN_A(0), CN_AAAA(0), ROOT_OK,
		    { "mx.example.com", "CNAME", SF, NULL } },
		  "example.com/MX mx.example.com/A ./NS mx.example.com/AAAA "
		  "mx.example.com/CNAME", "skip", "CNAME_FAILED", NULL,
		  NULL, 0, 0 },
		{ "chain a->b->c: TLSA at c then a, never b", "26",
		  "example.com", "mx.example.com",
		  { MX_OK,
		    { "mx.example.com", "A", AD,
		      "mx.example.com. 300 IN CNAME b.provider.net.|"
		      "b.provider.net. 300 IN CNAME c.provider.net.|"
		      "c.provider.net. 300 IN A 192.0.2.1" },
		    { "mx.example.com", "AAAA", AD,
		      "mx.example.com. 300 IN CNAME b.provider.net.|"
		      "b.provider.net. 300 IN CNAME c.provider.net." },
		    { "_25._tcp.c.provider.net", "TLSA", AD | NX, NULL },
		    { "_25._tcp.b.provider.net", "TLSA", AD,
		      TLSA("_25._tcp.b.provider.net") },
		    { T_ORIG, "TLSA", AD, NULL } },
		  Q_MXA " _25._tcp.c.provider.net/TLSA " T_ORIG "/TLSA",
		  "opportunistic", "TLSA_NONE", "mx.example.com",
		  "mx.example.com example.com", 0, 0 },
		{ "DNAME: the synthesized CNAME is followed", "10,21",
		  "example.org", "mx.example.org",
		  { { "example.org", "MX", AD,
		      "example.org. 300 IN MX 10 mx.example.org." },
		    { "mx.example.org", "A", AD,
		      "example.org. 300 IN DNAME example.net.|"
		      "mx.example.org. 300 IN CNAME mx.example.net.|"
		      "mx.example.net. 300 IN A 192.0.2.1" },
		    { "mx.example.org", "AAAA", AD,
		      "example.org. 300 IN DNAME example.net.|"
		      "mx.example.org. 300 IN CNAME mx.example.net." },
		    { "_25._tcp.mx.example.net", "TLSA", AD,
		      TLSA("_25._tcp.mx.example.net") } },
		  "example.org/MX mx.example.org/A mx.example.org/AAAA "
		  "_25._tcp.mx.example.net/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.net", "mx.example.net example.org", 1, 0 },
		{ "insecure address without CNAME: no TLSA query", "18,19",
		  "example.com", "mx.example.com",
		  { MX_OK, ROOT_OK,
		    { "mx.example.com", "A", 0,
		      "mx.example.com. 300 IN A 192.0.2.1" },
		    { "mx.example.com", "AAAA", 0, NULL },
		    { T_ORIG, "TLSA", SF, NULL } },
		  "example.com/MX mx.example.com/A ./NS mx.example.com/AAAA",
		  "opportunistic", "ADDR_INSECURE", "mx.example.com", NULL,
		  0, 0 },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

Test(dns, next_hop_names_and_destinations)
{
	static const struct dcase cases[] = {
		{ "next hop is a CNAME chain: ends are reference ids",
		  "12,54", "exchange.example.org", "mx.example.com",
		  { { "exchange.example.org", "MX", AD,
		      "exchange.example.org. 300 IN CNAME mail.example.org.|"
		      "mail.example.org. 300 IN CNAME example.com.|"
		      "example.com. 300 IN MX 10 mx.example.com." },
		    A_OK, AAAA_OK, { T_ORIG, "TLSA", AD, TLSA(T_ORIG) } },
		  "exchange.example.org/MX mx.example.com/A "
		  "mx.example.com/AAAA " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com",
		  "mx.example.com exchange.example.org example.com", 1, 0 },
		{ "implicit MX, next hop a secure CNAME", "27,57",
		  "example.com", "example.com",
		  { { "example.com", "MX", AD,
		      "example.com. 300 IN CNAME target.example.net." },
		    { "example.com", "A", AD,
		      "example.com. 300 IN CNAME target.example.net.|"
		      "target.example.net. 300 IN A 192.0.2.1" },
		    { "example.com", "AAAA", AD,
		      "example.com. 300 IN CNAME target.example.net." },
		    { "_25._tcp.target.example.net", "TLSA", AD,
		      TLSA("_25._tcp.target.example.net") } },
		  "example.com/MX example.com/A example.com/AAAA "
		  "_25._tcp.target.example.net/TLSA", "dane", "TLSA_USABLE",
		  "target.example.net", "target.example.net example.com", 1,
		  0 },
		{ "MX lookup fails: defer, nothing else asked", "4",
		  "example.com", "mx.example.com",
		  { { "example.com", "MX", SF, NULL }, A_OK },
		  "example.com/MX", "defer", "MX_FAILED", NULL, NULL, 0, 0 },
		{ "MX names an IP address: DANE does not apply", "17",
		  "example.com", "192.0.2.1",
		  { { "example.com", "MX", AD,
		      "example.com. 300 IN MX 10 192.0.2.1." } },
		  "example.com/MX", "opportunistic", "NOT_APPLICABLE", NULL,
		  NULL, 0, 0 },
		{ "address-literal next hop: no lookup at all", "29",
		  "[192.0.2.1]", "192.0.2.1", { MX_OK }, "", "opportunistic",
		  "NOT_APPLICABLE", NULL, NULL, 0, 0 },
		{ "relay: no MX lookup, relay name is the base", "28",
		  "[relay.example.net]", NULL,
		  { { "relay.example.net", "A", AD,
		      "relay.example.net. 300 IN A 192.0.2.1" },
		    { "relay.example.net", "AAAA", AD, NULL },
		    { "_25._tcp.relay.example.net", "TLSA", AD,
		      TLSA("_25._tcp.relay.example.net") } },
		  "relay.example.net/A relay.example.net/AAAA "
		  "_25._tcp.relay.example.net/TLSA", "dane", "TLSA_USABLE",
		  "relay.example.net", "relay.example.net", 1, 0 },
		{ "host not found: skip, no TLSA query", "20",
		  "example.com", "mx.example.com",
		  { MX_OK, { "mx.example.com", "A", AD | NX, NULL },
		    { "mx.example.com", "AAAA", AD | NX, NULL } },
		  Q_MXA, "skip", "ADDR_NOTFOUND", NULL, NULL, 0, 0 },
		{ "address lookup fails: skip", "5",
		  "example.com", "mx.example.com",
		  { MX_OK, { "mx.example.com", "A", SF, NULL }, AAAA_OK },
		  Q_MXA, "skip", "ADDR_FAILED", NULL, NULL, 0, 0 },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

Test(dns, tlsa_rrset_outcomes)
{
	static const struct dcase cases[] = {
		{ "validated TLSA denial is an answer", "8,30",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK, { T_ORIG, "TLSA", AD | NX, NULL } },
		  Q_MXA " " T_ORIG "/TLSA", "opportunistic", "TLSA_NONE",
		  NULL, NULL, 0, 0 },
		{ "TLSA lookup fails: skip", "6",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK, { T_ORIG, "TLSA", SF, NULL } },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED", NULL,
		  NULL, 0, 0 },
		{ "TLSA owner is a secure CNAME: base unchanged", "32",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK,
		    { T_ORIG, "TLSA", AD,
		      T_ORIG ". 300 IN CNAME tlsa201._dane.example.com.|"
		      TLSA("tlsa201._dane.example.com") } },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.com", "mx.example.com example.com", 1, 0 },
		{ "truncated TLSA answer is retried over TCP", "36",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK,
		    { T_ORIG, "TLSA", AD | TC | MANY, TLSA(T_ORIG) } },
		  Q_MXA " " T_ORIG "/TLSA " T_ORIG "/TLSA+tcp", "dane",
		  "TLSA_USABLE", "mx.example.com", NULL, 24, 0 },
		{ "RDATA too short is an unusable record", "33",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK,
		    { T_ORIG, "TLSA", AD,
		      "SHORT " T_ORIG ".|" TLSA(T_ORIG) } },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE", NULL,
		  NULL, 1, 0 },
		{ "only a too-short record: TLS required", "33,34",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK,
		    { T_ORIG, "TLSA", AD, "SHORT " T_ORIG "." } },
		  Q_MXA " " T_ORIG "/TLSA", "encrypt", "TLSA_UNUSABLE", NULL,
		  NULL, 0, 0 },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

Test(dns, non_validating_resolver_is_reported_once)
{
	static const struct dcase cases[] = {
		{ "no AD anywhere, root not validated: warning", "1",
		  "example.com", "mx.example.com",
		  { { "example.com", "MX", 0,
		      "example.com. 300 IN MX 10 mx.example.com." },
		    { ".", "NS", 0, ". 300 IN NS a.root-servers.net." } },
		  "example.com/MX ./NS", "opportunistic", "MX_INSECURE",
		  NULL, NULL, 0, 1 },
		{ "unsigned destination, root validated: no warning", "1,11",
		  "example.com", "mx.example.com",
		  { { "example.com", "MX", 0,
		      "example.com. 300 IN MX 10 mx.example.com." },
		    ROOT_OK },
		  "example.com/MX ./NS", "opportunistic", "MX_INSECURE",
		  NULL, NULL, 0, 0 },
		{ "all secure: no probe at all", "1",
		  "example.com", "mx.example.com",
		  { MX_OK, A_OK, AAAA_OK, { T_ORIG, "TLSA", AD | NX, NULL } },
		  Q_MXA " " T_ORIG "/TLSA", "opportunistic", "TLSA_NONE",
		  NULL, NULL, 0, 0 },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

/*
 * Replies are kept for their TTL (CONFORMANCE item 37): the second host of
 * one destination does not repeat the MX query, a reply with TTL 0 is
 * never reused.
 */
static void
two_hosts(const struct spec *specs, const char *want)
{
	static const char *const hosts[] = { "mx.example.com",
		"mx2.example.com" };
	struct dane_facts *f = NULL;
	struct dane_ctx *c;
	size_t i;

	server_start(specs);
	c = new_ctx();
	for (i = 0; i < N(hosts); i++) {
		cr_assert_eq(dane_gather(c, "example.com", hosts[i], 25, &f),
		    DANE_OK);
		cr_assert(f->host_in_mx, "%s: got not in MX, want in MX",
		    hosts[i]);
		dane_facts_free(f);
	}
	server_stop();
	dane_ctx_free(c);
	cr_expect_str_eq(S.log, want, "item 37: queries got \"%s\", want "
	    "\"%s\"", S.log, want);
}

Test(dns, replies_are_reused_within_their_ttl)
{
	static const struct spec cached[SPECS_MAX] = {
		{ "example.com", "MX", AD, "example.com. 300 IN MX 10 "
		  "mx.example.com.|example.com. 300 IN MX 20 mx2.example.com." },
		A_OK, AAAA_OK, { T_ORIG, "TLSA", AD | NX, NULL },
		{ "mx2.example.com", "A", AD,
		  "mx2.example.com. 300 IN A 192.0.2.2" },
		{ "mx2.example.com", "AAAA", AD, NULL },
		{ "_25._tcp.mx2.example.com", "TLSA", AD | NX, NULL },
	};
	static const struct spec ttl0[SPECS_MAX] = {
		{ "example.com", "MX", AD, "example.com. 0 IN MX 10 "
		  "mx.example.com.|example.com. 0 IN MX 20 mx2.example.com." },
		A_OK, AAAA_OK, { T_ORIG, "TLSA", AD | NX, NULL },
		{ "mx2.example.com", "A", AD,
		  "mx2.example.com. 300 IN A 192.0.2.2" },
		{ "mx2.example.com", "AAAA", AD, NULL },
		{ "_25._tcp.mx2.example.com", "TLSA", AD | NX, NULL },
	};

	two_hosts(cached, Q_MXA " " T_ORIG "/TLSA mx2.example.com/A "
	    "mx2.example.com/AAAA _25._tcp.mx2.example.com/TLSA");
	two_hosts(ttl0, Q_MXA " " T_ORIG "/TLSA example.com/MX "
	    "mx2.example.com/A mx2.example.com/AAAA "
	    "_25._tcp.mx2.example.com/TLSA");
}
