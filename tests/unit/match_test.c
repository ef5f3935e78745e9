/*
 * NAME
 *	match_test - TLSA matching cases from tests/unit/match.in
 *
 * DESCRIPTION
 *	Network-free certificate matching in the spirit of OpenSSL's
 *	test/danetest.in.  tests/unit/gen-match.sh writes match.in: named
 *	certificates (PEM) and cases, each with the chain a server would
 *	present, the TLSA records DNS would carry, the TLSA base domain, the
 *	next-hop names, the settings and the expected outcome.
 *
 *	Each case goes through libdane exactly as a delivery does: facts of
 *	a secure MX destination holding the records, dane_decide(), then
 *	dane_ssl_apply_level() on a fresh client SSL.  The chain is then
 *	verified as the handshake would, with X509_verify_cert() on a store
 *	context that shares the SSL's DANE state
 *	(X509_STORE_CTX_set0_dane(ctx, SSL_get0_dane(ssl)), the SSL ex_data
 *	index, the SSL's verify parameters), and dane_ssl_check() reads the
 *	outcome.  The store holds no trust anchors: only DANE can make a
 *	chain trusted.
 *
 *	Expected outcomes: "auth DEPTH U S M" (authenticated, matched at
 *	DEPTH by the effective record U S M), "fail CODE NAME" (not
 *	authenticated, X509 error CODE), "encrypt" (no usable record: the
 *	policy requires TLS without authentication).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dane.h"
#include "testdata.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DATA "tests/unit/match.in"
#define CERTS_MAX 32
#define CASES_MAX 128
#define RRS_MAX 64
#define CHAIN_MAX 8

enum want { WANT_AUTH, WANT_FAIL, WANT_ENCRYPT };

struct mcase {
	char name[96];
	char item[32];
	char base[DANE_NAME_MAX];
	char nexthop[DANE_NAME_MAX];
	char nexthop_cname[DANE_NAME_MAX];
	enum dane_usage01 usage01;
	uint8_t digests[4];
	char chain[CHAIN_MAX][32];
	size_t chain_len;
	struct dane_tlsa_rr rrs[RRS_MAX];
	size_t rr_count;
	enum want want;
	int depth, u, s, m;		/* WANT_AUTH */
	long code;			/* WANT_FAIL */
	int line;
};

static struct {
	char name[32];
	X509 *x;
} certs[CERTS_MAX];
static size_t ncerts;
static struct mcase cases[CASES_MAX];
static size_t ncases;

static X509 *
cert_named(const struct mcase *c, const char *name)
{
	size_t i;

	for (i = 0; i < ncerts; i++)
		if (strcmp(certs[i].name, name) == 0)
			return certs[i].x;
	cr_assert_fail("%s line %d: case %s: got certificate \"%s\", want "
	    "one defined by a cert line", DATA, c->line, c->name, name);
	return NULL;
}

static int
hexval(int ch)
{
	if (isdigit(ch))
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static void
parse_tlsa(struct mcase *c, const char *arg)
{
	struct dane_tlsa_rr *rr;
	char hex[4096];
	unsigned u, s, m;
	size_t i, len;

	cr_assert(c->rr_count < RRS_MAX, "%s line %d: got more than %d "
	    "records, want fewer", DATA, c->line, RRS_MAX);
	cr_assert(sscanf(arg, "%u %u %u %4095s", &u, &s, &m, hex) == 4,
	    "%s line %d: got \"tlsa %s\", want \"tlsa U S M HEX\"", DATA,
	    c->line, arg);
	rr = &c->rrs[c->rr_count++];
	rr->usage = (uint8_t)u;
	rr->selector = (uint8_t)s;
	rr->mtype = (uint8_t)m;
	len = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
	cr_assert(len % 2 == 0, "%s line %d: got odd hex length, want "
	    "whole bytes", DATA, c->line);
	rr->len = len / 2;
	rr->data = len > 0 ? malloc(len / 2) : NULL;
	for (i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		cr_assert(hi >= 0 && lo >= 0, "%s line %d: got a non-hex "
		    "digit, want hex", DATA, c->line);
		rr->data[i] = (unsigned char)(hi << 4 | lo);
	}
}

static void
parse_expect(struct mcase *c, const char *arg)
{
	char word[16];

	cr_assert(sscanf(arg, "%15s", word) == 1, "%s line %d: empty "
	    "expect", DATA, c->line);
	if (strcmp(word, "auth") == 0) {
		c->want = WANT_AUTH;
		cr_assert(sscanf(arg, "auth %d %d %d %d", &c->depth, &c->u,
		    &c->s, &c->m) == 4, "%s line %d: got \"expect %s\", want "
		    "\"expect auth DEPTH U S M\"", DATA, c->line, arg);
	} else if (strcmp(word, "fail") == 0) {
		c->want = WANT_FAIL;
		cr_assert(sscanf(arg, "fail %ld", &c->code) == 1, "%s line "
		    "%d: got \"expect %s\", want \"expect fail CODE NAME\"",
		    DATA, c->line, arg);
	} else if (strcmp(word, "encrypt") == 0)
		c->want = WANT_ENCRYPT;
	else
		cr_assert_fail("%s line %d: got \"expect %s\", want auth, "
		    "fail or encrypt", DATA, c->line, arg);
}

static void
parse_chain(struct mcase *c, char *arg)
{
	char *tok;

	while ((tok = strsep(&arg, " ")) != NULL) {
		if (*tok == '\0')
			continue;
		cr_assert(c->chain_len < CHAIN_MAX, "%s line %d: chain too "
		    "long", DATA, c->line);
		snprintf(c->chain[c->chain_len++], sizeof(c->chain[0]), "%s",
		    tok);
	}
}

/* One "keyword argument" line inside a case. */
static void
parse_case_line(struct mcase *c, char *kw, char *arg)
{
	if (strcmp(kw, "item") == 0)
		snprintf(c->item, sizeof(c->item), "%s", arg);
	else if (strcmp(kw, "base") == 0)
		snprintf(c->base, sizeof(c->base), "%s", arg);
	else if (strcmp(kw, "nexthop") == 0)
		snprintf(c->nexthop, sizeof(c->nexthop), "%s",
		    strcmp(arg, "-") == 0 ? "" : arg);
	else if (strcmp(kw, "nexthop-cname") == 0)
		snprintf(c->nexthop_cname, sizeof(c->nexthop_cname), "%s", arg);
	else if (strcmp(kw, "usage01") == 0)
		c->usage01 = strcmp(arg, "strict") == 0 ? DANE_USAGE01_STRICT :
		    strcmp(arg, "ta-digests") == 0 ? DANE_USAGE01_TA_DIGESTS :
		    DANE_USAGE01_DEFAULT;
	else if (strcmp(kw, "digests") == 0) {
		unsigned a = 0, b = 0;

		cr_assert(sscanf(arg, "%u %u", &a, &b) >= 1, "%s line %d: "
		    "bad digests", DATA, c->line);
		c->digests[0] = (uint8_t)a;
		c->digests[1] = (uint8_t)b;
	} else if (strcmp(kw, "chain") == 0)
		parse_chain(c, arg);
	else if (strcmp(kw, "tlsa") == 0)
		parse_tlsa(c, arg);
	else if (strcmp(kw, "expect") == 0)
		parse_expect(c, arg);
	else
		cr_assert_fail("%s line %d: got keyword \"%s\", want item, "
		    "base, nexthop, nexthop-cname, usage01, digests, chain, "
		    "tlsa, expect or end", DATA, c->line, kw);
}

static void
load(void)
{
	FILE *fp = open_src(DATA);
	char line[8192], *kw, *arg;
	struct mcase *c = NULL;
	int lineno = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		arg = line;
		kw = strsep(&arg, " ");
		if (arg == NULL)
			arg = (char *)"";
		if (strcmp(kw, "cert") == 0) {
			cr_assert(c == NULL && ncerts < CERTS_MAX, "%s line %d: "
			    "cert inside a case or too many certs", DATA,
			    lineno);
			snprintf(certs[ncerts].name, sizeof(certs[0].name),
			    "%s", arg);
			certs[ncerts].x = PEM_read_X509(fp, NULL, NULL, NULL);
			cr_assert_not_null(certs[ncerts].x, "%s line %d: cert "
			    "%s: got no PEM certificate, want one", DATA,
			    lineno, arg);
			ncerts++;
			continue;
		}
		if (strcmp(kw, "case") == 0) {
			cr_assert(c == NULL && ncases < CASES_MAX, "%s line %d: "
			    "case inside a case or too many", DATA, lineno);
			c = &cases[ncases++];
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%s", arg);
			c->want = -1;
			c->line = lineno;
			continue;
		}
		cr_assert_not_null(c, "%s line %d: got \"%s\" outside a case",
		    DATA, lineno, kw);
		if (strcmp(kw, "end") == 0) {
			cr_assert((int)c->want >= 0 && c->base[0] != '\0' &&
			    c->chain_len > 0 && c->item[0] != '\0',
			    "%s: case %s: want item, base, chain and expect",
			    DATA, c->name);
			c = NULL;
			continue;
		}
		c->line = lineno;
		parse_case_line(c, kw, arg);
	}
	fclose(fp);
	cr_assert_null(c, "%s: got a case without end", DATA);
	cr_assert_gt(ncases, 0, "%s: got no cases, want some", DATA);
}

static void
setup(void)
{
	load();
}

static void
teardown(void)
{
	size_t i, j;

	for (i = 0; i < ncases; i++)
		for (j = 0; j < cases[i].rr_count; j++)
			free(cases[i].rrs[j].data);
	for (i = 0; i < ncerts; i++)
		X509_free(certs[i].x);
}

TestSuite(match, .init = setup, .fini = teardown);

/* Facts of a secure MX destination whose TLSA RRset holds the records. */
static struct dane_facts *
make_facts(const struct mcase *c)
{
	struct dane_facts *f = calloc(1, sizeof(*f));
	size_t i;

	cr_assert_not_null(f);
	snprintf(f->nexthop, sizeof(f->nexthop), "%s",
	    c->nexthop[0] != '\0' ? c->nexthop : c->base);
	snprintf(f->nexthop_expanded, sizeof(f->nexthop_expanded), "%s",
	    c->nexthop_cname);
	snprintf(f->host, sizeof(f->host), "%s", c->base);
	snprintf(f->tlsa_base, sizeof(f->tlsa_base), "%s", c->base);
	snprintf(f->mx_hosts[0], sizeof(f->mx_hosts[0]), "%s", c->base);
	f->mx_count = 1;
	f->host_in_mx = 1;
	f->port = 25;
	f->mx.answer = f->addr.answer = f->tlsa.answer = DANE_ANSWER_FOUND;
	f->mx.dnssec = f->addr.dnssec = f->tlsa.dnssec = DANE_DNSSEC_SECURE;
	f->host_cname.answer = DANE_ANSWER_NOT_QUERIED;
	f->host_cname.dnssec = DANE_DNSSEC_INSECURE;
	f->tlsa_rrs = calloc(c->rr_count + 1, sizeof(*f->tlsa_rrs));
	cr_assert_not_null(f->tlsa_rrs);
	for (i = 0; i < c->rr_count; i++) {
		f->tlsa_rrs[i] = c->rrs[i];
		f->tlsa_rrs[i].data = malloc(c->rrs[i].len + 1);
		cr_assert_not_null(f->tlsa_rrs[i].data);
		if (c->rrs[i].len > 0)
			memcpy(f->tlsa_rrs[i].data, c->rrs[i].data,
			    c->rrs[i].len);
	}
	f->tlsa_count = c->rr_count;
	return f;
}

/* As OpenSSL's test/danetest.c verify_chain(): the handshake's check. */
static long
verify_chain(const struct mcase *c, SSL *ssl)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	long err;
	size_t i;

	cr_assert(chain != NULL && sctx != NULL && store != NULL);
	for (i = 0; i < c->chain_len; i++)
		cr_assert(sk_X509_push(chain, cert_named(c, c->chain[i])) > 0);
	cr_assert(X509_STORE_CTX_init(sctx, store, sk_X509_value(chain, 0),
	    chain) == 1);
	cr_assert(X509_STORE_CTX_set_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx(), ssl) == 1);
	X509_STORE_CTX_set_default(sctx, "ssl_server");
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sctx),
	    SSL_get0_param(ssl));
	X509_STORE_CTX_set0_dane(sctx, SSL_get0_dane(ssl));
	(void)X509_verify_cert(sctx);
	err = X509_STORE_CTX_get_error(sctx);
	SSL_set_verify_result(ssl, err);
	X509_STORE_CTX_free(sctx);
	sk_X509_free(chain);
	return err;
}

/* Run one case; returns the number of mismatches, each logged. */
static int
run_case(SSL_CTX *ctx, const struct mcase *c)
{
	struct dane_settings s;
	struct dane_policy *p = NULL;
	struct dane_facts *f = make_facts(c);
	struct dane_auth a;
	enum dane_level applied;
	enum dane_result r;
	SSL *ssl;
	long err;
	int bad = 0;

	dane_settings_default(&s);
	s.usage01 = c->usage01;
	if (c->digests[0] != 0)
		memcpy(s.digest_pref, c->digests, sizeof(s.digest_pref));
	r = dane_decide(&s, f, &p);
	cr_assert_eq(r, DANE_OK, "item %s, %s: decide got %s, want success",
	    c->item, c->name, dane_strerror(r));
	cr_assert_not_null(ssl = SSL_new(ctx));
	r = dane_ssl_apply_level(&s, p, ssl, &applied);
	cr_assert_eq(r, DANE_OK, "item %s, %s: apply got %s, want success",
	    c->item, c->name, dane_strerror(r));
	if (c->want == WANT_ENCRYPT) {
		if (applied != DANE_LEVEL_ENCRYPT) {
			cr_log_error("item %s, %s (%s line %d): level got %s, "
			    "want encrypt", c->item, c->name, DATA, c->line,
			    dane_level_name(applied));
			bad++;
		}
		goto out;
	}
	if (applied != DANE_LEVEL_AUTH) {
		cr_log_error("item %s, %s (%s line %d): level got %s, want "
		    "dane", c->item, c->name, DATA, c->line,
		    dane_level_name(applied));
		bad++;
		goto out;
	}
	err = verify_chain(c, ssl);
	dane_ssl_check(p, ssl, &a);
	if (c->want == WANT_FAIL) {
		if (a.authenticated || err != c->code) {
			cr_log_error("item %s, %s (%s line %d): got %s "
			    "(error %ld, %s), want failure with error %ld, %s",
			    c->item, c->name, DATA, c->line,
			    a.authenticated ? "authenticated" : "failure", err,
			    X509_verify_cert_error_string(err), c->code,
			    X509_verify_cert_error_string(c->code));
			bad++;
		}
		goto out;
	}
	if (!a.authenticated || a.depth != c->depth ||
	    a.matched.usage != c->u || a.matched.selector != c->s ||
	    a.matched.mtype != c->m) {
		cr_log_error("item %s, %s (%s line %d): got %s depth %d "
		    "record %u %u %u (%s), want authenticated depth %d record "
		    "%d %d %d", c->item, c->name, DATA, c->line,
		    a.authenticated ? "authenticated" : "failure", a.depth,
		    a.matched.usage, a.matched.selector, a.matched.mtype,
		    a.detail, c->depth, c->u, c->s, c->m);
		bad++;
	}
out:
	SSL_free(ssl);
	dane_policy_free(p);
	dane_facts_free(f);
	return bad;
}

Test(match, every_case_of_match_in_holds)
{
	/* No default verify paths: nothing but DANE can anchor a chain. */
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	size_t i;
	int bad = 0;

	cr_assert_not_null(ctx);
	for (i = 0; i < ncases; i++)
		bad += run_case(ctx, &cases[i]);
	SSL_CTX_free(ctx);
	cr_expect_eq(bad, 0, "got %d failing cases of %zu in %s, want 0 "
	    "(see the messages above)", bad, ncases, DATA);
}

/* The data must prove these CONFORMANCE.md items (issue 4). */
Test(match, cases_cover_the_matching_items)
{
	static const char *const items[] = {
		"33", "34", "35", "36", "44", "45", "46", "47", "48", "49",
		"50", "51", "52", "53", "54", "58", "59", "60"
	};
	char list[40], *tok, *p;
	size_t i, j;
	int seen;

	for (i = 0; i < N(items); i++) {
		for (seen = 0, j = 0; j < ncases && !seen; j++) {
			snprintf(list, sizeof(list), "%s", cases[j].item);
			for (p = list; (tok = strsep(&p, ",")) != NULL;)
				seen |= strcmp(tok, items[i]) == 0;
		}
		cr_expect(seen, "item %s: got no case in %s, want one",
		    items[i], DATA);
	}
}

/* Each case names a distinct behaviour. */
Test(match, case_names_are_unique)
{
	size_t i, j;

	for (i = 0; i < ncases; i++)
		for (j = i + 1; j < ncases; j++)
			cr_expect_str_neq(cases[i].name, cases[j].name,
			    "case name %s: got it twice, want it once",
			    cases[i].name);
}
