/*
 * NAME
 *	ssl_test - unit tests for dane_ssl_apply() and dane_ssl_check()
 *
 * DESCRIPTION
 *	Real TLS handshakes in memory: a client and a server SSL joined by
 *	a BIO pair.  The server presents a leaf certificate (with a chosen
 *	DNS name) and its issuing CA, all generated in the test.  The
 *	client runs with SSL_VERIFY_NONE, as sendmail may, so the outcome
 *	is read only through dane_ssl_check().
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dane.h"
#include "testcert.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BASE "mx.example.com"
#define NEXTHOP "example.com"

static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca;
static char server_sni[256];

static void
setup(void)
{
	ca_key = tc_key();
	leaf_key = tc_key();
	ca = tc_cert(ca_key, NULL, NULL, "Test CA", NULL, 1, 1);
}

static void
teardown(void)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
}

TestSuite(ssl, .init = setup, .fini = teardown);

static int
sni_cb(SSL *s, int *al, void *arg)
{
	const char *name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);

	(void)al;
	(void)arg;
	snprintf(server_sni, sizeof(server_sni), "%s",
	    name != NULL ? name : "");
	return SSL_TLSEXT_ERR_OK;
}

/* A server context presenting leaf (SAN `san`) + CA. */
static SSL_CTX *
server_ctx(const char *san, X509 **leafp)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509 *leaf = tc_cert(leaf_key, ca_key, ca, "leaf", san, 0, 2);

	cr_assert_not_null(ctx);
	cr_assert(SSL_CTX_use_certificate(ctx, leaf) == 1);
	cr_assert(SSL_CTX_use_PrivateKey(ctx, leaf_key) == 1);
	cr_assert(SSL_CTX_add1_chain_cert(ctx, ca) == 1);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	*leafp = leaf;
	return ctx;
}

static int
handshake(SSL *cli, SSL *srv)
{
	BIO *b1, *b2;
	int i, c = 0, s = 0;

	cr_assert(BIO_new_bio_pair(&b1, 0, &b2, 0) == 1);
	SSL_set_bio(cli, b1, b1);
	SSL_set_bio(srv, b2, b2);
	for (i = 0; i < 100 && (c != 1 || s != 1); i++) {
		if (c != 1) {
			c = SSL_connect(cli);
			if (c <= 0 && SSL_get_error(cli, c) !=
			    SSL_ERROR_WANT_READ)
				return 0;
		}
		if (s != 1) {
			s = SSL_accept(srv);
			if (s <= 0 && SSL_get_error(srv, s) !=
			    SSL_ERROR_WANT_READ)
				return 0;
		}
	}
	return c == 1 && s == 1;
}

/* A policy owning its records, as dane_decide() would make it. */
static struct dane_policy *
make_policy(enum dane_level level, const char *names)
{
	struct dane_policy *p = calloc(1, sizeof(*p));
	char buf[256], *s, *tok;

	cr_assert_not_null(p);
	p->level = level;
	p->usable = calloc(8, sizeof(*p->usable));
	cr_assert_not_null(p->usable);
	snprintf(buf, sizeof(buf), "%s", names);
	for (s = buf; (tok = strsep(&s, " ")) != NULL;)
		snprintf(p->refnames[p->refname_count++],
		    sizeof(p->refnames[0]), "%s", tok);
	snprintf(p->base_domain, sizeof(p->base_domain), "%s",
	    p->refnames[0]);
	return p;
}

/* Add u s m over cert's DER (selector 0) or SPKI (1); corrupt if bad. */
static void
add_rr(struct dane_policy *p, uint8_t u, uint8_t sel, uint8_t m, X509 *c,
    int bad)
{
	struct dane_tlsa_rr *rr = &p->usable[p->usable_count++];
	unsigned char *der;
	size_t len;

	der = sel == 0 ? tc_der_cert(c, &len) : tc_der_spki(c, &len);
	rr->usage = u;
	rr->selector = sel;
	rr->mtype = m;
	if (m == 0) {
		rr->data = der;
		rr->len = len;
	} else {
		rr->data = tc_digest(der, len, m, &rr->len);
		free(der);
	}
	if (bad)
		rr->data[0] ^= 0xff;
}

struct result {
	struct dane_auth a;
	enum dane_level applied;
	char sni[256];
};

static void
connect_with(const struct dane_settings *s, struct dane_policy *p,
    SSL_CTX *sctx, struct result *res)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *cli, *srv;
	enum dane_result r;

	cr_assert_not_null(cctx);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	cli = SSL_new(cctx);
	srv = SSL_new(sctx);
	cr_assert(cli != NULL && srv != NULL);
	r = dane_ssl_apply_level(s, p, cli, &res->applied);
	cr_assert_eq(r, DANE_OK, "apply: got %s, want success",
	    dane_strerror(r));
	server_sni[0] = '\0';
	cr_assert(handshake(cli, srv), "handshake failed");
	dane_ssl_check(p, cli, &res->a);
	snprintf(res->sni, sizeof(res->sni), "%s", server_sni);
	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(cctx);
}

struct row {
	const char *name;
	const char *san;		/* leaf DNS name */
	const char *refnames;		/* base first */
	uint8_t usage, selector, mtype;
	int over_ca;			/* record is for the CA, not leaf */
	int bad;			/* corrupt the record */
	int want_auth;
	int want_depth;
};

static void
run(const struct row *rows, size_t n)
{
	struct dane_settings s;
	struct result res;
	size_t i;

	dane_settings_default(&s);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		X509 *leaf;
		SSL_CTX *sctx = server_ctx(r->san, &leaf);
		struct dane_policy *p = make_policy(DANE_LEVEL_AUTH,
		    r->refnames);

		add_rr(p, r->usage, r->selector, r->mtype,
		    r->over_ca ? ca : leaf, r->bad);
		connect_with(&s, p, sctx, &res);
		cr_expect_eq(res.a.authenticated, r->want_auth,
		    "%s: authenticated got %d, want %d (%s)", r->name,
		    res.a.authenticated, r->want_auth, res.a.detail);
		cr_expect_eq(res.a.depth, r->want_depth,
		    "%s: depth got %d, want %d", r->name, res.a.depth,
		    r->want_depth);
		cr_expect_str_eq(res.sni, p->base_domain,
		    "%s: server saw SNI \"%s\", want \"%s\"", r->name,
		    res.sni, p->base_domain);
		if (r->want_auth)
			cr_expect_eq(res.a.matched.data, p->usable[0].data,
			    "%s: got matched data not borrowed from the "
			    "policy, want p->usable[0]", r->name);
		cr_expect(strpbrk(res.a.detail, "\"\\%()") == NULL,
		    "%s: detail got \"%s\", want no unsafe characters",
		    r->name, res.a.detail);
		dane_policy_free(p);
		X509_free(leaf);
		SSL_CTX_free(sctx);
	}
}

Test(ssl, dane_ee_ignores_names)
{
	static const struct row rows[] = {
		{ "3 1 1 unrelated SAN", "unrelated.example.org", BASE,
		  3, 1, 1, 0, 0, 1, 0 },
		{ "3 0 1 unrelated SAN", "unrelated.example.org", BASE,
		  3, 0, 1, 0, 0, 1, 0 },
		{ "3 1 0 full spki", "unrelated.example.org", BASE,
		  3, 1, 0, 0, 0, 1, 0 },
		{ "3 1 2 sha512", NULL, BASE, 3, 1, 2, 0, 0, 1, 0 },
	};

	run(rows, N(rows));
}

Test(ssl, wrong_digest_fails)
{
	static const struct row rows[] = {
		{ "3 1 1 wrong digest", BASE, BASE, 3, 1, 1, 0, 1, 0, -1 },
		{ "3 1 1 over the CA", BASE, BASE, 3, 1, 1, 1, 0, 0, -1 },
		{ "2 0 1 wrong CA digest", BASE, BASE, 2, 0, 1, 1, 1, 0, -1 },
	};

	run(rows, N(rows));
}

Test(ssl, dane_ta_checks_reference_names)
{
	static const struct row rows[] = {
		{ "2 0 1 SAN = base", BASE, BASE " " NEXTHOP,
		  2, 0, 1, 1, 0, 1, 1 },
		{ "2 0 1 SAN = next hop", NEXTHOP, BASE " " NEXTHOP,
		  2, 0, 1, 1, 0, 1, 1 },
		{ "2 0 1 SAN = expanded next hop", "exp.example.net",
		  BASE " " NEXTHOP " exp.example.net", 2, 0, 1, 1, 0, 1, 1 },
		{ "2 1 1 SAN = wildcard", "*.example.com", BASE,
		  2, 1, 1, 1, 0, 1, 1 },
		{ "2 0 1 SAN unrelated", "other.example.net",
		  BASE " " NEXTHOP, 2, 0, 1, 1, 0, 0, -1 },
		{ "2 0 1 next hop not a refname", NEXTHOP, BASE,
		  2, 0, 1, 1, 0, 0, -1 },
		{ "2 0 1 partial wildcard", "m*.example.com", BASE,
		  2, 0, 1, 1, 0, 0, -1 },
	};

	run(rows, N(rows));
}

Test(ssl, failure_detail_names_error_and_peer_key)
{
	struct dane_settings s;
	struct dane_policy *p = make_policy(DANE_LEVEL_AUTH, BASE);
	struct result res;
	unsigned char *spki, *md;
	size_t len, mdlen, i;
	char want[128];
	X509 *leaf;
	SSL_CTX *sctx = server_ctx(BASE, &leaf);

	dane_settings_default(&s);
	add_rr(p, 3, 1, 1, leaf, 1);
	connect_with(&s, p, sctx, &res);
	spki = tc_der_spki(leaf, &len);
	md = tc_digest(spki, len, 1, &mdlen);
	i = (size_t)snprintf(want, sizeof(want), "%s",
	    "no matching DANE TLSA records, peer spki sha256 ");
	for (mdlen = 0; mdlen < 8; mdlen++)
		i += (size_t)snprintf(want + i, sizeof(want) - i, "%02x",
		    md[mdlen]);
	snprintf(want + i, sizeof(want) - i, "...");
	cr_expect_str_eq(res.a.detail, want, "detail got \"%s\", want \"%s\"",
	    res.a.detail, want);
	free(spki);
	free(md);
	dane_policy_free(p);
	X509_free(leaf);
	SSL_CTX_free(sctx);
}

Test(ssl, success_detail_names_record_and_depth)
{
	struct dane_settings s;
	struct dane_policy *p = make_policy(DANE_LEVEL_AUTH, BASE);
	struct result res;
	char rr[64], want[128];
	X509 *leaf;
	SSL_CTX *sctx = server_ctx("x.example", &leaf);

	dane_settings_default(&s);
	add_rr(p, 3, 1, 1, leaf, 0);
	connect_with(&s, p, sctx, &res);
	dane_tlsa_format(&p->usable[0], rr, sizeof(rr));
	snprintf(want, sizeof(want), "%s at depth 0", rr);
	cr_expect_str_eq(res.a.detail, want, "detail got \"%s\", want \"%s\"",
	    res.a.detail, want);
	cr_expect(strncmp(res.a.detail, "3 1 1 ", 6) == 0 &&
	    strstr(res.a.detail, "...") != NULL,
	    "detail got \"%s\", want \"3 1 1 <16 hex>... at depth 0\"",
	    res.a.detail);
	dane_policy_free(p);
	X509_free(leaf);
	SSL_CTX_free(sctx);
}

/* RFC 7671 section 9: the preferred digest hides the weaker one. */
Test(ssl, digest_agility_follows_preference)
{
	static const struct {
		const char *name;
		uint8_t pref0, pref1;
		int bad512, bad256;
		int want_auth;
	} rows[] = {
		{ "{512 good, 256 bad}, prefer 512", 2, 1, 0, 1, 1 },
		{ "{512 bad, 256 good}, prefer 512", 2, 1, 1, 0, 0 },
		{ "{512 bad, 256 good}, prefer 256", 1, 2, 1, 0, 1 },
		{ "{512 good, 256 bad}, prefer 256", 1, 2, 0, 1, 0 },
		{ "{512 bad, 256 good}, only 256 listed", 1, 0, 1, 0, 1 },
	};
	struct dane_settings s;
	struct result res;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		X509 *leaf;
		SSL_CTX *sctx = server_ctx(BASE, &leaf);
		struct dane_policy *p = make_policy(DANE_LEVEL_AUTH, BASE);

		dane_settings_default(&s);
		s.digest_pref[0] = rows[i].pref0;
		s.digest_pref[1] = rows[i].pref1;
		add_rr(p, 3, 1, 2, leaf, rows[i].bad512);
		add_rr(p, 3, 1, 1, leaf, rows[i].bad256);
		connect_with(&s, p, sctx, &res);
		cr_expect_eq(res.a.authenticated, rows[i].want_auth,
		    "%s: authenticated got %d, want %d (%s)", rows[i].name,
		    res.a.authenticated, rows[i].want_auth, res.a.detail);
		dane_policy_free(p);
		X509_free(leaf);
		SSL_CTX_free(sctx);
	}
}

Test(ssl, encrypt_sets_sni_only)
{
	struct dane_settings s;
	struct dane_policy *p = make_policy(DANE_LEVEL_ENCRYPT, BASE);
	struct result res;
	X509 *leaf;
	SSL_CTX *sctx = server_ctx("other.example", &leaf);

	dane_settings_default(&s);
	connect_with(&s, p, sctx, &res);
	cr_expect_str_eq(res.sni, BASE, "SNI got \"%s\", want \"%s\"",
	    res.sni, BASE);
	cr_expect_eq(res.applied, DANE_LEVEL_ENCRYPT,
	    "applied got %s, want encrypt", dane_level_name(res.applied));
	cr_expect_eq(res.a.authenticated, 0,
	    "authenticated got 1, want 0 at level encrypt");
	dane_policy_free(p);
	X509_free(leaf);
	SSL_CTX_free(sctx);
}

Test(ssl, opportunistic_changes_nothing)
{
	struct dane_settings s;
	struct dane_policy *p = make_policy(DANE_LEVEL_OPP, BASE);
	struct result res;
	X509 *leaf;
	SSL_CTX *sctx = server_ctx(BASE, &leaf);

	dane_settings_default(&s);
	add_rr(p, 3, 1, 1, leaf, 0);
	connect_with(&s, p, sctx, &res);
	cr_expect_str_eq(res.sni, "", "SNI got \"%s\", want none", res.sni);
	cr_expect_eq(res.a.authenticated, 0,
	    "authenticated got 1, want 0 at level opportunistic");
	dane_policy_free(p);
	X509_free(leaf);
	SSL_CTX_free(sctx);
}

Test(ssl, auth_without_accepted_records_becomes_encrypt)
{
	struct dane_settings s;
	struct dane_policy *p = make_policy(DANE_LEVEL_AUTH, BASE);
	struct result res;
	X509 *leaf;
	SSL_CTX *sctx = server_ctx(BASE, &leaf);

	dane_settings_default(&s);
	add_rr(p, 3, 1, 1, leaf, 0);
	p->usable[0].len = 20;		/* OpenSSL refuses this one */
	connect_with(&s, p, sctx, &res);
	cr_expect_eq(res.applied, DANE_LEVEL_ENCRYPT,
	    "applied got %s, want encrypt", dane_level_name(res.applied));
	cr_expect_str_eq(res.sni, BASE, "SNI got \"%s\", want \"%s\"",
	    res.sni, BASE);
	cr_expect_eq(res.a.authenticated, 0, "authenticated got 1, want 0");
	dane_policy_free(p);
	X509_free(leaf);
	SSL_CTX_free(sctx);
}

Test(ssl, anonymous_ciphers_are_removed)
{
	static const enum dane_level levels[] = {
		DANE_LEVEL_AUTH, DANE_LEVEL_ENCRYPT
	};
	struct dane_settings s;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	size_t i;
	int j, anon, total;

	dane_settings_default(&s);
	for (i = 0; i < N(levels); i++) {
		struct dane_policy *p = make_policy(levels[i], BASE);
		SSL *cli;
		STACK_OF(SSL_CIPHER) *sk;

		p->usable[0].usage = 3;
		p->usable[0].selector = 1;
		p->usable[0].mtype = 1;
		p->usable[0].len = 32;
		p->usable[0].data = calloc(1, 32);
		p->usable_count = 1;
		cli = SSL_new(cctx);
		cr_assert(SSL_set_cipher_list(cli, "aNULL:ALL:@SECLEVEL=0"));
		cr_assert_eq(dane_ssl_apply(&s, p, cli), DANE_OK);
		sk = SSL_get_ciphers(cli);
		total = sk_SSL_CIPHER_num(sk);
		for (anon = 0, j = 0; j < total; j++)
			if (SSL_CIPHER_get_auth_nid(sk_SSL_CIPHER_value(sk,
			    j)) == NID_auth_null)
				anon++;
		cr_expect_eq(anon, 0, "%s: got %d anonymous suites, want 0",
		    dane_level_name(levels[i]), anon);
		cr_expect_gt(total, 10, "%s: got %d suites, want the rest",
		    dane_level_name(levels[i]), total);
		SSL_free(cli);
		dane_policy_free(p);
	}
	SSL_CTX_free(cctx);
}

Test(ssl, bad_arguments_are_rejected)
{
	struct dane_policy *p = make_policy(DANE_LEVEL_AUTH, BASE);
	struct dane_auth a;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *cli = SSL_new(cctx);

	cr_expect_eq(dane_ssl_apply(NULL, NULL, cli), DANE_ERR_INVAL,
	    "NULL policy: got success, want DANE_ERR_INVAL");
	cr_expect_eq(dane_ssl_apply(NULL, p, NULL), DANE_ERR_INVAL,
	    "NULL ssl: got success, want DANE_ERR_INVAL");
	p->base_domain[0] = '\0';
	cr_expect_eq(dane_ssl_apply(NULL, p, cli), DANE_ERR_INVAL,
	    "empty base: got success, want DANE_ERR_INVAL");
	dane_ssl_check(NULL, cli, &a);
	cr_expect_eq(a.authenticated, 0, "NULL policy: got authenticated");
	SSL_free(cli);
	SSL_CTX_free(cctx);
	dane_policy_free(p);
}
