/*
 * Unit tests of sendmail-dane-check's parts (tools/probe.c, view.c,
 * report.c): the rollover warnings (a DANE-TA chain about to expire, a
 * single full-certificate digest, different RSA and ECDSA certificates
 * of which one matched) with certificates made by testcert.h; the
 * diagnosis of a failed match; the records' usability texts; the
 * decision per address and per destination; the JSON object (parsed
 * back with json-c: required members and their types, the verdict
 * vocabulary, the exit status); the parser of `sendmail -bv` output and
 * of mailer lines; the access map keys a lookup walks, checked against
 * libdane's own walk on real Berkeley DB maps.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ctype.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <openssl/x509.h>

#include "probe.h"
#include "report.h"
#include "testcert.h"
#include "view.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400L

static X509 *
cert_days(EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca, const char *cn,
    const char *san, int is_ca, long serial, long days)
{
	X509 *c = tc_cert(key, ca_key, ca, cn, san, is_ca, serial);

	X509_gmtime_adj(X509_getm_notAfter(c), days * DAY);
	cr_assert(X509_sign(c, ca_key != NULL ? ca_key : key,
	    EVP_sha256()) > 0);
	return c;
}

static STACK_OF(X509) *
chain2(X509 *leaf, X509 *ca)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	cr_assert_not_null(sk);
	cr_assert(sk_X509_push(sk, leaf) > 0);
	if (ca != NULL)
		cr_assert(sk_X509_push(sk, ca) > 0);
	return sk;
}

/* A record over a certificate: selector 0 (certificate) or 1 (SPKI). */
static void
rr_of(struct dane_tlsa_rr *rr, uint8_t usage, uint8_t selector, X509 *c)
{
	size_t len, dlen;
	unsigned char *der = selector == 0 ? tc_der_cert(c, &len) :
	    tc_der_spki(c, &len);

	rr->usage = usage;
	rr->selector = selector;
	rr->mtype = 1;
	rr->data = tc_digest(der, len, 1, &dlen);
	rr->len = dlen;
	free(der);
}

static struct dane_policy *
policy_with(const struct dane_tlsa_rr *rrs, size_t n)
{
	struct dane_policy *p = calloc(1, sizeof(*p));

	cr_assert_not_null(p);
	p->level = DANE_LEVEL_AUTH;
	p->reason = DANE_R_TLSA_USABLE;
	snprintf(p->base_domain, sizeof(p->base_domain), "mx.example.com");
	snprintf(p->refnames[0], sizeof(p->refnames[0]), "mx.example.com");
	snprintf(p->refnames[1], sizeof(p->refnames[1]), "example.com");
	p->refname_count = 2;
	p->usable = calloc(n, sizeof(*p->usable));
	cr_assert_not_null(p->usable);
	memcpy(p->usable, rrs, n * sizeof(*rrs));
	p->usable_count = n;
	return p;
}

/* A completed, checked session that presented `chain`. */
static void
session_with(struct probe_session *ss, const struct dane_policy *p,
    STACK_OF(X509) *chain, int authenticated, size_t matched, int depth)
{
	memset(ss, 0, sizeof(*ss));
	ss->tried = ss->connected = ss->tls = 1;
	ss->greeting_code = 220;
	ss->starttls_offered = ss->starttls_sent = 1;
	ss->policy_applied = 1;
	ss->applied = DANE_LEVEL_AUTH;
	ss->verify = authenticated ? "OK" : "FAIL";
	ss->checked = 1;
	ss->auth.depth = authenticated ? depth : -1;
	ss->auth.authenticated = authenticated;
	if (authenticated) {
		ss->auth.matched = p->usable[matched];
		ss->auth.matched.data = NULL;
		dane_tlsa_format(&p->usable[matched], ss->auth.detail,
		    sizeof(ss->auth.detail));
	} else {
		ss->verify_result = X509_V_ERR_DANE_NO_MATCH;
		snprintf(ss->auth.detail, sizeof(ss->auth.detail),
		    "no matching DANE TLSA records");
	}
	probe_session_set_chain(ss, chain);
	probe_match_chain(p, ss);
}

static size_t
count_code(const struct probe_warning *w, size_t n, const char *code)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += strcmp(w[i].code, code) == 0;
	return k;
}

/* --- rollover ----------------------------------------------------------- */

Test(rollover, dane_ta_chain_expiring_within_the_warning_days)
{
	EVP_PKEY *cak = tc_key(), *lk = tc_key();
	X509 *ca = cert_days(cak, NULL, NULL, "CA", NULL, 1, 1, 365);
	X509 *leaf = cert_days(lk, cak, ca, "mx", "mx.example.com", 0, 2, 10);
	STACK_OF(X509) *sk = chain2(leaf, ca);
	struct dane_tlsa_rr rr;
	struct dane_policy *p;
	struct probe_session ss;
	struct probe_warning w[8];
	size_t n;

	rr_of(&rr, DANE_USAGE_DANE_TA, 0, ca);
	p = policy_with(&rr, 1);
	session_with(&ss, p, sk, 1, 0, 1);
	cr_assert_eq(ss.rr_match[0], 2u, "the CA record matches depth 1");
	n = probe_rollover(p, NULL, 0, &ss, NULL, 0, time(NULL), 30, w, N(w));
	cr_assert_eq(count_code(w, n, "expiry"), 1, "%zu warnings", n);
	cr_assert(strstr(w[0].text, "depth 0") != NULL, "%s", w[0].text);
	cr_assert(strstr(w[0].text, "CN=mx") != NULL, "%s", w[0].text);
	/* 10 days left, warned at 5: nothing */
	n = probe_rollover(p, NULL, 0, &ss, NULL, 0, time(NULL), 5, w, N(w));
	cr_assert_eq(count_code(w, n, "expiry"), 0);
	probe_session_clear(&ss);
	dane_policy_free(p);
	sk_X509_free(sk);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(cak);
}

Test(rollover, dane_ee_ignores_expiry)
{
	EVP_PKEY *cak = tc_key(), *lk = tc_key();
	X509 *ca = tc_cert(cak, NULL, NULL, "CA", NULL, 1, 1);
	X509 *leaf = cert_days(lk, cak, ca, "mx", "mx.example.com", 0, 2, 3);
	STACK_OF(X509) *sk = chain2(leaf, ca);
	struct dane_tlsa_rr rr;
	struct dane_policy *p;
	struct probe_session ss;
	struct probe_warning w[8];
	size_t n;

	rr_of(&rr, DANE_USAGE_DANE_EE, 1, leaf);
	p = policy_with(&rr, 1);
	session_with(&ss, p, sk, 1, 0, 0);
	n = probe_rollover(p, NULL, 0, &ss, NULL, 0, time(NULL), 30, w, N(w));
	cr_assert_eq(n, 0, "DANE-EE checks no dates: %s", n ? w[0].text : "");
	probe_session_clear(&ss);
	dane_policy_free(p);
	sk_X509_free(sk);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(cak);
}

Test(rollover, single_full_certificate_digest)
{
	EVP_PKEY *cak = tc_key(), *lk = tc_key();
	X509 *ca = tc_cert(cak, NULL, NULL, "CA", NULL, 1, 1);
	X509 *leaf = tc_cert(lk, cak, ca, "mx", "mx.example.com", 0, 2);
	STACK_OF(X509) *sk = chain2(leaf, ca);
	struct dane_tlsa_rr rrs[2];
	struct dane_policy *p;
	struct probe_session ss;
	struct probe_warning w[8];
	size_t n;

	/* 3 0 1 alone */
	rr_of(&rrs[0], DANE_USAGE_DANE_EE, 0, leaf);
	p = policy_with(rrs, 1);
	session_with(&ss, p, sk, 1, 0, 0);
	n = probe_rollover(p, NULL, 0, &ss, NULL, 0, time(NULL), 30, w, N(w));
	cr_assert_eq(count_code(w, n, "single-301"), 1, "%zu", n);
	cr_assert(strstr(w[0].text, "3 0 1 ") != NULL, "%s", w[0].text);
	probe_session_clear(&ss);
	dane_policy_free(p);
	/* 3 0 1 and 3 1 1 of the same leaf: two matches, no warning */
	rr_of(&rrs[0], DANE_USAGE_DANE_EE, 0, leaf);
	rr_of(&rrs[1], DANE_USAGE_DANE_EE, 1, leaf);
	p = policy_with(rrs, 2);
	session_with(&ss, p, sk, 1, 0, 0);
	n = probe_rollover(p, NULL, 0, &ss, NULL, 0, time(NULL), 30, w, N(w));
	cr_assert_eq(count_code(w, n, "single-301"), 0);
	probe_session_clear(&ss);
	dane_policy_free(p);
	/* 3 1 1 alone survives a renewal with the same key */
	rr_of(&rrs[0], DANE_USAGE_DANE_EE, 1, leaf);
	p = policy_with(rrs, 1);
	session_with(&ss, p, sk, 1, 0, 0);
	n = probe_rollover(p, NULL, 0, &ss, NULL, 0, time(NULL), 30, w, N(w));
	cr_assert_eq(n, 0);
	probe_session_clear(&ss);
	dane_policy_free(p);
	sk_X509_free(sk);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(cak);
}

Test(rollover, rsa_and_ecdsa_certificates_one_matched)
{
	EVP_PKEY *cak = tc_key(), *eck = tc_key();
	EVP_PKEY *rsak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *ca, *ecleaf, *rsaleaf;
	STACK_OF(X509) *eck_sk, *rsa_sk;
	struct dane_tlsa_rr rr;
	struct dane_policy *p;
	struct probe_session ss, kt[PROBE_KEYTYPES];
	struct probe_warning w[8];
	size_t n;

	cr_assert_not_null(rsak);
	ca = tc_cert(cak, NULL, NULL, "CA", NULL, 1, 1);
	ecleaf = tc_cert(eck, cak, ca, "mx", "mx.example.com", 0, 2);
	rsaleaf = tc_cert(rsak, cak, ca, "mx", "mx.example.com", 0, 3);
	eck_sk = chain2(ecleaf, ca);
	rsa_sk = chain2(rsaleaf, ca);
	rr_of(&rr, DANE_USAGE_DANE_EE, 1, ecleaf);
	p = policy_with(&rr, 1);
	session_with(&ss, p, eck_sk, 1, 0, 0);		/* the default */
	session_with(&kt[0], p, rsa_sk, 0, 0, 0);	/* RSA: no match */
	session_with(&kt[1], p, eck_sk, 1, 0, 0);	/* ECDSA */
	cr_assert_str_eq(ss.chain[0].key, "EC P-256");
	cr_assert(strncmp(kt[0].chain[0].key, "RSA 2048", 8) == 0, "%s",
	    kt[0].chain[0].key);
	n = probe_rollover(p, NULL, 0, &ss, kt, PROBE_KEYTYPES, time(NULL),
	    30, w, N(w));
	cr_assert_eq(count_code(w, n, "keytype"), 1, "%zu", n);
	cr_assert(strstr(w[0].text, "ECDSA certificate that matches") != NULL,
	    "%s", w[0].text);
	cr_assert(strstr(w[0].text, "RSA certificate that matches no") != NULL,
	    "%s", w[0].text);
	probe_session_clear(&kt[0]);
	/* the RSA handshake failed (no RSA certificate): no warning */
	memset(&kt[0], 0, sizeof(kt[0]));
	kt[0].tried = 1;
	n = probe_rollover(p, NULL, 0, &ss, kt, PROBE_KEYTYPES, time(NULL),
	    30, w, N(w));
	cr_assert_eq(count_code(w, n, "keytype"), 0);
	/* both key types matched: no warning */
	rr_of(&rr, DANE_USAGE_DANE_TA, 1, ca);
	probe_session_clear(&ss);
	probe_session_clear(&kt[1]);
	dane_policy_free(p);
	p = policy_with(&rr, 1);
	session_with(&ss, p, eck_sk, 1, 0, 1);
	session_with(&kt[0], p, rsa_sk, 1, 0, 1);
	session_with(&kt[1], p, eck_sk, 1, 0, 1);
	n = probe_rollover(p, NULL, 0, &ss, kt, PROBE_KEYTYPES, time(NULL),
	    30, w, N(w));
	cr_assert_eq(count_code(w, n, "keytype"), 0);
	probe_session_clear(&ss);
	probe_session_clear(&kt[0]);
	probe_session_clear(&kt[1]);
	dane_policy_free(p);
	sk_X509_free(eck_sk);
	sk_X509_free(rsa_sk);
	X509_free(ecleaf);
	X509_free(rsaleaf);
	X509_free(ca);
	EVP_PKEY_free(rsak);
	EVP_PKEY_free(eck);
	EVP_PKEY_free(cak);
}

Test(rollover, nothing_without_an_authenticating_policy)
{
	struct probe_session ss;
	struct probe_warning w[4];

	memset(&ss, 0, sizeof(ss));
	cr_assert_eq(probe_rollover(NULL, NULL, 0, &ss, NULL, 0, time(NULL),
	    30, w, N(w)), 0);
}

/* --- diagnosis ---------------------------------------------------------- */

Test(explain, dane_ta_over_the_leaf_and_ee_over_the_issuer)
{
	EVP_PKEY *cak = tc_key(), *lk = tc_key();
	X509 *ca = tc_cert(cak, NULL, NULL, "CA", NULL, 1, 1);
	X509 *leaf = tc_cert(lk, cak, ca, "mx", "mx.example.com", 0, 2);
	STACK_OF(X509) *sk = chain2(leaf, ca);
	struct dane_tlsa_rr rr;
	struct dane_policy *p;
	struct probe_session ss;

	rr_of(&rr, DANE_USAGE_DANE_TA, 0, leaf);
	p = policy_with(&rr, 1);
	session_with(&ss, p, sk, 0, 0, 0);
	probe_explain(p, NULL, 0, &ss);
	cr_assert_str_eq(ss.failure, "digest");
	cr_assert(strstr(ss.explain, "must match an issuer") != NULL, "%s",
	    ss.explain);
	probe_session_clear(&ss);
	dane_policy_free(p);
	rr_of(&rr, DANE_USAGE_DANE_EE, 1, ca);
	p = policy_with(&rr, 1);
	session_with(&ss, p, sk, 0, 0, 0);
	probe_explain(p, NULL, 0, &ss);
	cr_assert(strstr(ss.explain, "must match the leaf") != NULL, "%s",
	    ss.explain);
	/* a name check that failed, an expired chain */
	ss.verify_result = X509_V_ERR_HOSTNAME_MISMATCH;
	probe_explain(p, NULL, 0, &ss);
	cr_assert_str_eq(ss.failure, "name");
	cr_assert(strstr(ss.explain, "mx.example.com example.com") != NULL,
	    "%s", ss.explain);
	ss.verify_result = X509_V_ERR_CERT_HAS_EXPIRED;
	probe_explain(p, NULL, 0, &ss);
	cr_assert_str_eq(ss.failure, "expired");
	probe_session_clear(&ss);
	dane_policy_free(p);
	sk_X509_free(sk);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(cak);
}

Test(records, usability_and_agility_texts)
{
	static unsigned char d32[32], d64[64], d31[31];
	struct dane_tlsa_rr rrs[] = {
		{ 3, 1, 1, sizeof(d32), d32 },	/* outranked by 3 1 2 */
		{ 3, 1, 2, sizeof(d64), d64 },
		{ 3, 1, 1, sizeof(d31), d31 },	/* short digest */
		{ 4, 1, 1, sizeof(d32), d32 },	/* unknown usage */
		{ 0, 0, 1, sizeof(d32), d32 },	/* PKIX-TA digest */
		{ 1, 1, 1, sizeof(d32), d32 },	/* as 3 1 1 */
	};
	struct dane_facts f;
	struct dane_settings s;
	struct probe_rr *out;
	size_t n;

	memset(&f, 0, sizeof(f));
	f.tlsa_rrs = rrs;
	f.tlsa_count = N(rrs);
	dane_settings_default(&s);
	n = probe_rr_classify(&s, &f, &out);
	cr_assert_eq(n, N(rrs));
	cr_assert_eq(out[0].state, PROBE_RR_IGNORED, "%s", out[0].why);
	cr_assert(strstr(out[0].why, "3 1 2") != NULL);
	cr_assert_eq(out[1].state, PROBE_RR_USABLE);
	cr_assert_eq(out[1].usable_index, 1);
	cr_assert_eq(out[2].state, PROBE_RR_UNUSABLE);
	cr_assert(strstr(out[2].why, "31 bytes") != NULL, "%s", out[2].why);
	cr_assert(strstr(out[3].why, "unknown usage 4") != NULL);
	cr_assert(strstr(out[4].why, "ta-digests") != NULL, "%s", out[4].why);
	cr_assert_eq(out[5].eff_usage, 3);
	/* 1 1 1 counts as 3 1 1, so 3 1 2 outranks it too */
	cr_assert_eq(out[5].state, PROBE_RR_IGNORED, "%s", out[5].why);
	free(out);
	s.usage01 = DANE_USAGE01_STRICT;
	n = probe_rr_classify(&s, &f, &out);
	cr_assert(strstr(out[5].why, "strict") != NULL, "%s", out[5].why);
	free(out);
}

/* --- decisions ---------------------------------------------------------- */

static struct probe_host *
host(struct probe_dest *d, const char *name, int pref, enum dane_level l,
    enum dane_reason r)
{
	struct probe_host *h;

	d->hosts = realloc(d->hosts, (d->host_count + 1) * sizeof(*h));
	cr_assert_not_null(d->hosts);
	h = &d->hosts[d->host_count++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->preference = pref;
	h->role = "mx";
	h->policy = calloc(1, sizeof(*h->policy));
	cr_assert_not_null(h->policy);
	h->policy->level = l;
	h->policy->reason = r;
	snprintf(h->policy->base_domain, sizeof(h->policy->base_domain), "%s",
	    name);
	return h;
}

static struct probe_addr *
addr(struct probe_host *h, const char *a, enum smdane_mode mode)
{
	struct probe_addr *pa;

	h->addrs = realloc(h->addrs, (h->addr_count + 1) * sizeof(*pa));
	cr_assert_not_null(h->addrs);
	pa = &h->addrs[h->addr_count++];
	memset(pa, 0, sizeof(*pa));
	snprintf(pa->addr, sizeof(pa->addr), "%s", a);
	snprintf(pa->server_addr, sizeof(pa->server_addr), "%s", a);
	pa->mode = mode;
	pa->main.tried = 1;
	pa->main.verify = "NONE";
	pa->main.auth.depth = -1;
	return pa;
}

static void
connected(struct probe_addr *a, int starttls, int tls)
{
	a->main.connected = 1;
	a->main.greeting_code = 220;
	snprintf(a->main.greeting, sizeof(a->main.greeting), "220 mx ESMTP");
	a->main.ehlo_code = 250;
	a->main.starttls_offered = starttls;
	a->main.starttls_sent = starttls;
	a->main.tls = tls;
	a->main.verify = tls ? "FAIL" : starttls ? "SOFTWARE" : "NONE";
	if (tls) {
		snprintf(a->main.version, sizeof(a->main.version), "TLSv1.3");
		snprintf(a->main.cipher, sizeof(a->main.cipher),
		    "TLS_AES_256_GCM_SHA384");
	}
}

static void
answer(struct probe_dest *d, struct probe_host *h, struct probe_addr *a)
{
	probe_answer(a->mode, h, d->nexthop, d->port, "tls_server", &a->main,
	    a->main.verify, a->answer, sizeof(a->answer));
	probe_decide_address(h, a);
}

Test(decide, refused_host_then_authenticated_one)
{
	struct probe_dest d;
	struct probe_host *h1, *h2;
	struct probe_addr *a1, *a2;

	memset(&d, 0, sizeof(d));
	snprintf(d.nexthop, sizeof(d.nexthop), "example.com");
	d.port = 25;
	h1 = host(&d, "mx1.example.com", 10, DANE_LEVEL_SKIP,
	    DANE_R_TLSA_FAILED);
	a1 = addr(h1, "192.0.2.1", SMDANE_MODE_DANE);
	connected(a1, 1, 1);
	answer(&d, h1, a1);
	cr_assert_str_eq(a1->answer, "FAIL \"DANE: TLSA lookup failed for "
	    "mx1.example.com\"");
	cr_assert_eq(a1->level, PROBE_SKIP);
	cr_assert_str_eq(a1->reason, "454 4.7.5 DANE: TLSA lookup failed for "
	    "mx1.example.com");
	h2 = host(&d, "mx2.example.com", 20, DANE_LEVEL_AUTH,
	    DANE_R_TLSA_USABLE);
	a2 = addr(h2, "192.0.2.2", SMDANE_MODE_DANE);
	connected(a2, 1, 1);
	a2->main.policy_applied = 1;
	a2->main.applied = DANE_LEVEL_AUTH;
	a2->main.checked = 1;
	a2->main.auth.authenticated = 1;
	a2->main.auth.depth = 0;
	a2->main.verify = "OK";
	snprintf(a2->main.auth.detail, sizeof(a2->main.auth.detail),
	    "3 1 1 0123456789abcdef... at depth 0");
	answer(&d, h2, a2);
	cr_assert_str_eq(a2->answer, "OK");
	cr_assert_eq(a2->level, PROBE_AUTHENTICATED);
	probe_decide_destination(&d);
	cr_assert_eq(d.verdict, PROBE_V_AUTHENTICATED);
	cr_assert_eq(d.by_host, 1);
	cr_assert_eq(probe_exit_status(d.verdict), 0);
	probe_dest_free(&d);
}

Test(decide, all_refused_is_deferred_with_the_last_text)
{
	struct probe_dest d;
	struct probe_host *h;
	struct probe_addr *a;

	memset(&d, 0, sizeof(d));
	snprintf(d.nexthop, sizeof(d.nexthop), "example.com");
	d.port = 25;
	h = host(&d, "mx1.example.com", 10, DANE_LEVEL_AUTH,
	    DANE_R_TLSA_USABLE);
	a = addr(h, "192.0.2.1", SMDANE_MODE_DANE);	/* refused */
	probe_connect_text(ECONNREFUSED, h->name, a->main.error,
	    sizeof(a->main.error));
	answer(&d, h, a);
	a = addr(h, "192.0.2.9", SMDANE_MODE_DANE);	/* no STARTTLS */
	connected(a, 0, 0);
	answer(&d, h, a);
	cr_assert_str_eq(a->reason, "454 4.7.5 DANE: no STARTTLS with "
	    "mx1.example.com, its TLSA records require TLS");
	probe_decide_destination(&d);
	cr_assert_eq(d.verdict, PROBE_V_DEFERRED);
	cr_assert_str_eq(d.status, "Deferred: 454 4.7.5 DANE: no STARTTLS "
	    "with mx1.example.com, its TLSA records require TLS");
	cr_assert_eq(probe_exit_status(d.verdict), 1);
	probe_dest_free(&d);
}

Test(decide, stock_rules_after_the_module)
{
	struct probe_dest d;
	struct probe_host *h;
	struct probe_addr *a;

	memset(&d, 0, sizeof(d));
	snprintf(d.nexthop, sizeof(d.nexthop), "example.com");
	d.port = 25;
	h = host(&d, "mx.example.com", 10, DANE_LEVEL_OPP,
	    DANE_R_TLSA_NONE);
	/* a failed handshake: sendmail's own rules refuse the host */
	a = addr(h, "192.0.2.1", SMDANE_MODE_NONE);
	connected(a, 1, 0);
	answer(&d, h, a);
	cr_assert_str_eq(a->answer, "OK");
	cr_assert_str_eq(a->reason, "454 4.7.0 TLS handshake failed.");
	/* with TLSFallbacktoClear it goes out in clear */
	a->fallback_clear = 1;
	probe_decide_address(h, a);
	cr_assert_eq(a->accepted, 1);
	cr_assert_eq(a->level, PROBE_OPPORTUNISTIC);
	/* audit: a would-be refusal delivers as without DANE */
	h->policy->level = DANE_LEVEL_AUTH;
	a = addr(h, "192.0.2.2", SMDANE_MODE_AUDIT);
	connected(a, 0, 0);
	probe_answer(SMDANE_MODE_AUDIT, h, d.nexthop, d.port, "tls_server",
	    &a->main, "NONE", a->would, sizeof(a->would));
	a->has_would = 1;
	snprintf(a->answer, sizeof(a->answer), "OK");
	probe_decide_address(h, a);
	cr_assert_eq(a->level, PROBE_OPPORTUNISTIC);
	cr_assert_eq(a->would_level, PROBE_SKIP);
	cr_assert(strstr(a->would, "no STARTTLS") != NULL, "%s", a->would);
	probe_dest_free(&d);
}

Test(decide, null_mx_nxdomain_and_lookup_failures)
{
	struct probe_dest d;

	memset(&d, 0, sizeof(d));
	snprintf(d.nexthop, sizeof(d.nexthop), "example.com");
	d.mx = PROBE_MX_NULL;
	probe_decide_destination(&d);
	cr_assert_eq(d.verdict, PROBE_V_BOUNCED);
	cr_assert_eq(probe_exit_status(d.verdict), 1);
	d.mx = PROBE_MX_NXDOMAIN;
	probe_decide_destination(&d);
	cr_assert_eq(d.verdict, PROBE_V_BOUNCED);
	cr_assert(strstr(d.status, "Host unknown") != NULL);
	d.mx = PROBE_MX_TEMP;
	d.canonified = 0;
	probe_decide_destination(&d);
	cr_assert_eq(d.verdict, PROBE_V_DEFERRED);
	cr_assert_str_eq(d.status, "host map: lookup (example.com): deferred");
	d.canonified = 1;
	probe_decide_destination(&d);
	cr_assert_str_eq(d.status, "Deferred: Name server: example.com.: host "
	    "name lookup failure");
}

Test(decide, exit_status_and_vocabulary)
{
	static const char *const words[] = { "authenticated", "encrypted",
		"opportunistic", "deferred", "bounced" };
	static const int status[] = { 0, 0, 0, 1, 1 };
	size_t i;

	for (i = 0; i < N(words); i++) {
		cr_assert_str_eq(probe_verdict_name((enum probe_verdict)i),
		    words[i]);
		cr_assert_eq(probe_exit_status((enum probe_verdict)i),
		    status[i]);
	}
	cr_assert_str_eq(probe_level_name(PROBE_SKIP), "skip");
	cr_assert_str_eq(probe_level_name(PROBE_DEFER), "defer");
}

/* --- JSON --------------------------------------------------------------- */

static json_object *
member(json_object *o, const char *k, json_type t)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, k, &v), "no member %s", k);
	cr_assert(json_object_is_type(v, t), "member %s: type %d, want %d", k,
	    json_object_get_type(v), t);
	return v;
}

static void
nullable(json_object *o, const char *k, json_type t)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, k, &v), "no member %s", k);
	cr_assert(v == NULL || json_object_is_type(v, t), "member %s", k);
}

Test(json, shape_of_a_destination)
{
	EVP_PKEY *cak = tc_key(), *lk = tc_key();
	X509 *ca = tc_cert(cak, NULL, NULL, "CA", NULL, 1, 1);
	X509 *leaf = tc_cert(lk, cak, ca, "mx", "mx2.example.com", 0, 2);
	STACK_OF(X509) *sk = chain2(leaf, ca);
	struct dane_tlsa_rr rr;
	struct dane_settings s;
	struct report_info ri;
	struct probe_opts o;
	struct probe_dest d;
	struct view v;
	struct probe_host *h1, *h2;
	struct probe_addr *a1, *a2;
	json_object *top, *hosts, *e, *x;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *mem;
	const char *verdict;

	view_init(&v);
	snprintf(v.address, sizeof(v.address), "postmaster@example.com");
	snprintf(v.mailer, sizeof(v.mailer), "esmtp");
	snprintf(v.host, sizeof(v.host), "example.com.");
	v.mailer_mode = SMDANE_MODE_DANE;
	dane_settings_default(&s);
	memset(&o, 0, sizeof(o));
	o.connect_s = 10;
	o.reply_s = o.handshake_s = 30;
	memset(&d, 0, sizeof(d));
	snprintf(d.input, sizeof(d.input), "example.com");
	snprintf(d.nexthop, sizeof(d.nexthop), "example.com");
	d.port = 25;
	h1 = host(&d, "mx1.example.com", 10, DANE_LEVEL_SKIP,
	    DANE_R_TLSA_FAILED);
	a1 = addr(h1, "192.0.2.1", SMDANE_MODE_DANE);
	connected(a1, 0, 0);
	answer(&d, h1, a1);
	h2 = host(&d, "mx2.example.com", 20, DANE_LEVEL_AUTH,
	    DANE_R_TLSA_USABLE);
	dane_policy_free(h2->policy);
	rr_of(&rr, DANE_USAGE_DANE_EE, 1, leaf);
	h2->policy = policy_with(&rr, 1);
	a2 = addr(h2, "192.0.2.2", SMDANE_MODE_DANE);
	probe_session_clear(&a2->main);
	session_with(&a2->main, h2->policy, sk, 1, 0, 0);
	answer(&d, h2, a2);
	probe_decide_destination(&d);
	memset(&ri, 0, sizeof(ri));
	ri.v = &v;
	ri.d = &d;
	ri.o = &o;
	ri.settings = &s;
	ri.total_s = 300;
	ri.dns_s = 15;
	ri.warn_days = 30;

	mem = open_memstream(&buf, &len);
	cr_assert_not_null(mem);
	cr_assert_eq(report_json(mem, &ri), 0);
	fclose(mem);
	top = json_tokener_parse(buf);
	cr_assert_not_null(top, "not JSON: %s", buf);
	cr_assert_eq(json_object_get_int(member(top, "version",
	    json_type_int)), REPORT_JSON_VERSION);
	cr_assert_str_eq(json_object_get_string(member(top, "destination",
	    json_type_string)), "example.com");
	verdict = json_object_get_string(member(top, "verdict",
	    json_type_string));
	cr_assert_str_eq(verdict, "authenticated");
	cr_assert_eq(json_object_get_int(member(top, "exit", json_type_int)),
	    0);
	member(top, "reason", json_type_string);
	nullable(top, "status", json_type_string);
	x = member(top, "by", json_type_object);
	cr_assert_str_eq(json_object_get_string(member(x, "name",
	    json_type_string)), "mx2.example.com");
	member(top, "sendmail", json_type_object);
	x = member(member(top, "mx", json_type_object), "hosts",
	    json_type_array);
	cr_assert_gt(json_object_array_length(x), 0);
	for (i = 0; i < json_object_array_length(x); i++) {
		e = json_object_array_get_idx(x, i);
		member(e, "dnssec", json_type_array);
		/* no TLSA lookup was made in this test: null */
		nullable(e, "tlsa_servers", json_type_object);
	}
	member(top, "timeouts", json_type_object);
	member(top, "warnings", json_type_array);
	hosts = member(top, "hosts", json_type_array);
	cr_assert_eq(json_object_array_length(hosts), 2);
	for (i = 0; i < 2; i++) {
		e = json_object_array_get_idx(hosts, i);
		member(e, "name", json_type_string);
		member(e, "address", json_type_string);
		member(e, "level", json_type_string);
		member(e, "reason", json_type_string);
		member(e, "tlsa", json_type_array);
		member(e, "match", json_type_object);
		member(e, "chain", json_type_array);
		member(e, "policy", json_type_object);
		member(e, "accepted", json_type_boolean);
	}
	e = json_object_array_get_idx(hosts, 0);
	cr_assert_str_eq(json_object_get_string(member(e, "level",
	    json_type_string)), "skip");
	e = json_object_array_get_idx(hosts, 1);
	cr_assert_str_eq(json_object_get_string(member(e, "level",
	    json_type_string)), "authenticated");
	x = member(e, "match", json_type_object);
	cr_assert(json_object_get_boolean(member(x, "authenticated",
	    json_type_boolean)));
	cr_assert_eq(json_object_get_int(member(x, "depth", json_type_int)), 0);
	x = member(e, "chain", json_type_array);
	cr_assert_eq(json_object_array_length(x), 2);
	x = json_object_array_get_idx(x, 0);
	cr_assert_eq(strlen(json_object_get_string(member(x, "spki_sha256",
	    json_type_string))), 64);
	member(x, "not_after", json_type_string);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    member(x, "names", json_type_array), 0)), "mx2.example.com");
	member(x, "days_left", json_type_int);
	json_object_put(top);
	free(buf);

	/* every verdict of the vocabulary, its exit status alongside */
	for (i = 0; i <= PROBE_V_BOUNCED; i++) {
		d.verdict = (enum probe_verdict)i;
		d.by_host = -1;
		top = report_json_object(&ri);
		cr_assert_not_null(top);
		cr_assert_str_eq(json_object_get_string(member(top, "verdict",
		    json_type_string)), probe_verdict_name(d.verdict));
		cr_assert_eq(json_object_get_int(member(top, "exit",
		    json_type_int)), probe_exit_status(d.verdict));
		json_object_put(top);
	}
	probe_dest_free(&d);
	view_free(&v);
	sk_X509_free(sk);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(cak);
}

/* --- sendmail's view ---------------------------------------------------- */

Test(view, bv_output)
{
	char m[32], h[256], e[256];

	cr_assert_eq(view_parse_bv("Warning: Cannot use HostStatusDirectory = "
	    "/var/lib/sendmail/host_status: No such file or directory\n"
	    "postmaster@s311.dane.test... deliverable: mailer esmtp, host "
	    "s311.dane.test., user postmaster@s311.dane.test\n", m, sizeof(m),
	    h, sizeof(h), e, sizeof(e)), 0);
	cr_assert_str_eq(m, "esmtp");
	cr_assert_str_eq(h, "s311.dane.test.");
	cr_assert_eq(view_parse_bv("postmaster@relay.test... deliverable: "
	    "mailer relay, host [mx.example.net], user postmaster@relay.test",
	    m, sizeof(m), h, sizeof(h), e, sizeof(e)), 0);
	cr_assert_str_eq(m, "relay");
	cr_assert_str_eq(h, "[mx.example.net]");
	cr_assert_eq(view_parse_bv("postmaster@localhost... deliverable: "
	    "mailer local, user postmaster\n", m, sizeof(m), h, sizeof(h), e,
	    sizeof(e)), 0);
	cr_assert_str_eq(m, "local");
	cr_assert_str_eq(h, "");
	cr_assert_eq(view_parse_bv("x@bad... User unknown\n", m, sizeof(m), h,
	    sizeof(h), e, sizeof(e)), -1);
	cr_assert_str_eq(e, "User unknown");
	cr_assert_eq(view_parse_bv("", m, sizeof(m), h, sizeof(h), e,
	    sizeof(e)), -1);
	cr_assert_eq(view_parse_bv("can not chdir(/var/spool/mqueue/): "
	    "Permission denied\nProgram mode requires special privileges, "
	    "e.g., root or TrustedUser.\n", m, sizeof(m), h, sizeof(h), e,
	    sizeof(e)), -1);
	cr_assert_str_eq(e, "Program mode requires special privileges, e.g., "
	    "root or TrustedUser.");
}

Test(view, mailer_lines)
{
	struct view_mailer m;

	cr_assert_eq(view_parse_mailer("Mesmtp, P=[IPC], F=mDFMuXa, "
	    "S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990, "
	    "T=DNS/RFC822/SMTP, A=TCP $h dane-only-587", &m), 0);
	cr_assert_str_eq(m.name, "esmtp");
	cr_assert_str_eq(m.path, "[IPC]");
	cr_assert_str_eq(m.args, "TCP $h dane-only-587");
	cr_assert_str_eq(m.service, "dane-only-587");
	cr_assert_eq(view_parse_mailer("Mlocal, P=/usr/lib/sm.bin/mail.local, "
	    "A=mail.local -l", &m), 0);
	cr_assert_str_eq(m.service, "");
	cr_assert_eq(view_parse_mailer("O Timeout.queuereturn=5d", &m), -1);
}

Test(view, access_keys_in_lookup_order)
{
	static const char *const dom[] = { "DANE:mail.example.com",
		"DANE:.example.com", "DANE:example.com", "DANE:.com",
		"DANE:com" };
	static const char *const v4[] = { "DANE:192.0.2.25", "DANE:192.0.2",
		"DANE:192.0", "DANE:192" };
	static const char *const v6[] = { "DANE:IPv6:2001:db8::25",
		"DANE:IPv6:2001:db8:", "DANE:IPv6:2001:db8", "DANE:IPv6:2001" };
	struct probe_keys k;
	size_t i;

	memset(&k, 0, sizeof(k));
	cr_assert_eq(view_keys_domain("DANE", "[Mail.Example.COM.]", &k),
	    N(dom));
	for (i = 0; i < N(dom); i++)
		cr_assert_str_eq(k.key[i], dom[i]);
	memset(&k, 0, sizeof(k));
	cr_assert_eq(view_keys_addr("DANE", "192.0.2.25", &k), N(v4));
	for (i = 0; i < N(v4); i++)
		cr_assert_str_eq(k.key[i], v4[i]);
	memset(&k, 0, sizeof(k));
	cr_assert_eq(view_keys_addr("DANE", "IPv6:2001:db8::25", &k), N(v6));
	for (i = 0; i < N(v6); i++)
		cr_assert_str_eq(k.key[i], v6[i]);
}

/* A hash map holding exactly the given lower-case keys (as makemap). */
static void
make_map(const char *path, const char *const *keys, const char *const *vals,
    size_t n)
{
	DB *db;
	size_t i;

	unlink(path);
	cr_assert_eq(db_create(&db, NULL, 0), 0);
	cr_assert_eq(db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE, 0600),
	    0);
	for (i = 0; i < n; i++) {
		DBT k, v;

		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = (void *)keys[i];
		k.size = (u_int32_t)strlen(keys[i]);
		v.data = (void *)vals[i];
		v.size = (u_int32_t)strlen(vals[i]);
		cr_assert_eq(db->put(db, NULL, &k, &v, 0), 0);
	}
	cr_assert_eq(db->close(db, 0), 0);
}

Test(view, listed_keys_are_libdane_walk)
{
	char path[] = "/tmp/probe_test.XXXXXX", map[64], val[64], key[300];
	struct probe_keys k;
	size_t i;

	cr_assert_not_null(mkdtemp(path));
	snprintf(map, sizeof(map), "%s/access.db", path);
	memset(&k, 0, sizeof(k));
	view_keys_domain("DANE", "a.b.example.com", &k);
	view_keys_addr("DANE", "IPv6:2001:db8::25", &k);
	for (i = 0; i < k.n; i++) {
		struct dane_access *a = NULL;
		char lower[300];
		const char *kk = lower, *vv = "none";
		size_t j;
		int r;

		for (j = 0; k.key[i][j] != '\0'; j++)
			lower[j] = (char)tolower((unsigned char)k.key[i][j]);
		lower[j] = '\0';
		make_map(map, &kk, &vv, 1);
		cr_assert_eq(dane_access_new(map, &a), DANE_OK);
		r = strstr(lower, "ipv6") != NULL ?
		    dane_access_addr(a, "DANE", "IPv6:2001:db8::25", val,
		    sizeof(val), key, sizeof(key)) :
		    dane_access_domain(a, "DANE", "a.b.example.com", val,
		    sizeof(val), key, sizeof(key));
		cr_assert_eq(r, 1, "libdane does not look up %s", k.key[i]);
		cr_assert_str_eq(key, lower);
		dane_access_free(a);
	}
	unlink(map);
	rmdir(path);
}

Test(view, mode_for_an_address)
{
	static const char *const keys[] = { "dane:mx.example.com",
		"dane:.example.com", "try_tls:mx.example.com",
		"dane:bad.example" };
	static const char *const vals[] = { "dane-only", "none", "NO",
		"secure" };
	char path[] = "/tmp/probe_test.XXXXXX";
	struct probe_addr a;
	struct view v;

	cr_assert_not_null(mkdtemp(path));
	view_init(&v);
	snprintf(v.access_path, sizeof(v.access_path), "%s/access.db", path);
	make_map(v.access_path, keys, vals, N(keys));
	v.mailer_mode = SMDANE_MODE_DANE;
	v.cfg.present = 1;
	v.cfg.version = 2;
	memset(&a, 0, sizeof(a));
	snprintf(a.server_addr, sizeof(a.server_addr), "192.0.2.25");
	/* the next hop's parent entry wins over the MX host's own */
	view_mode_for(&v, "sub.example.com", "mx.example.com", &a);
	cr_assert_eq(a.mode, SMDANE_MODE_NONE);
	cr_assert_eq(a.access.matched, 1);
	cr_assert_str_eq(a.access.key[1], "DANE:.example.com");
	cr_assert_eq(a.trytls_no, 1);
	/* no entry for the next hop: the MX host's */
	view_mode_for(&v, "other.test", "mx.example.com", &a);
	cr_assert_eq(a.mode, SMDANE_MODE_ONLY);
	cr_assert_str_eq(a.access.key[a.access.matched],
	    "DANE:mx.example.com");
	/* an unknown value refuses, naming the key */
	view_mode_for(&v, "bad.example", "mx.bad.example", &a);
	cr_assert_str_eq(a.mode_error, "DANE: bad access map entry "
	    "dane:bad.example secure");
	/* the map is not consulted for a mailer without DANE */
	v.mailer_mode = SMDANE_MODE_NONE;
	view_mode_for(&v, "example.com", "mx.example.com", &a);
	cr_assert_eq(a.mode, SMDANE_MODE_NONE);
	cr_assert_eq(a.access.n, 0);
	/* an opt-in mailer: DANE only where an entry says so */
	v.mailer_mode = SMDANE_MODE_OPTIN;
	view_mode_for(&v, "other.test", "mx.other.test", &a);
	cr_assert_eq(a.mode, SMDANE_MODE_NONE);
	view_free(&v);
	unlink(v.access_path);
	rmdir(path);
}

Test(view, gate_before_any_policy)
{
	struct view v;
	char ans[400], would[400];

	view_init(&v);
	v.cfg.present = 1;
	v.cfg.version = 2;
	v.mailer_mode = SMDANE_MODE_UNKNOWN;
	cr_assert_eq(view_gate(&v, ans, would, sizeof(ans)), 1);
	cr_assert_str_eq(ans, "OK");
	v.mailer_mode = SMDANE_MODE_UNSERVED;
	view_gate(&v, ans, would, sizeof(ans));
	cr_assert(strncmp(ans, "FAIL \"DANE configuration error: mailer "
	    "arguments", 40) == 0, "%s", ans);
	v.mailer_mode = SMDANE_MODE_AUDIT;
	v.cfg.error = 1;
	snprintf(v.cfg.error_text, sizeof(v.cfg.error_text),
	    "bad value for smdane_usage01: bogus");
	view_gate(&v, ans, would, sizeof(ans));
	cr_assert_str_eq(ans, "OK");
	cr_assert_str_eq(would, "FAIL \"DANE configuration error: bad value "
	    "for smdane_usage01: bogus\"");
	v.mailer_mode = SMDANE_MODE_DANE;
	v.cfg.error = 0;
	cr_assert_eq(view_gate(&v, ans, would, sizeof(ans)), 0);
	v.cfg.fatal = 1;
	snprintf(v.cfg.fatal_text, sizeof(v.cfg.fatal_text), "x was set "
	    "after the dane feature");
	view_gate(&v, ans, would, sizeof(ans));
	cr_assert_str_eq(ans, "FAIL \"DANE configuration error: x was set "
	    "after the dane feature\"");
	view_free(&v);
}
