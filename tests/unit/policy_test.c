/*
 * NAME
 *	policy_test - unit tests for dane_decide()
 *
 * DESCRIPTION
 *	Each row describes a set of facts (starting from a fully secure
 *	MX destination with one usable 3 1 1 record) and the policy
 *	expected: level, reason, DSN code, base domain, reference names
 *	and number of usable records.  docs/POLICY.md holds the same rows.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dane.h"
#include "testcert.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Answers and security in one word, for compact rows. */
enum st {
	KEEP = 0,	/* leave the base fact unchanged */
	F_S,		/* FOUND, secure */
	F_I,		/* FOUND, insecure */
	F_B,		/* FOUND, bogus */
	NX_S, NX_I, ND_S, ND_I,
	FAIL,		/* FAILED, bogus */
	NQ		/* NOT_QUERIED */
};

struct row {
	const char *name;
	int literal, relay;
	enum st mx, addr, tlsa;
	int not_in_mx;
	const char *nexthop;		/* NULL: "example.com" */
	const char *nexthop_exp;
	const char *host;		/* NULL: "mx.example.com" */
	const char *host_exp;
	const char *tlsa_base;		/* NULL: the host (or "" if "-") */
	const char *recs;		/* "u s m[/len],..." NULL: "3 1 1" */
	enum dane_usage01 mode;
	/* expectations */
	enum dane_level level;
	enum dane_reason reason;
	const char *base;		/* NULL: don't check */
	const char *refnames;		/* space separated; NULL: skip */
	int usable;			/* -1: don't check */
};

static unsigned char *cert_der, *spki_der;
static size_t cert_len, spki_len;

static void
setup(void)
{
	EVP_PKEY *k = tc_key();
	X509 *c = tc_cert(k, NULL, NULL, "p.test", "p.test", 0, 7);

	cert_der = tc_der_cert(c, &cert_len);
	spki_der = tc_der_spki(c, &spki_len);
	X509_free(c);
	EVP_PKEY_free(k);
}

static void
teardown(void)
{
	free(cert_der);
	free(spki_der);
}

TestSuite(policy, .init = setup, .fini = teardown);

static void
set_lookup(struct dane_lookup *l, enum st st)
{
	static const struct dane_lookup map[] = {
		[F_S] = { DANE_ANSWER_FOUND, DANE_DNSSEC_SECURE },
		[F_I] = { DANE_ANSWER_FOUND, DANE_DNSSEC_INSECURE },
		[F_B] = { DANE_ANSWER_FOUND, DANE_DNSSEC_BOGUS },
		[NX_S] = { DANE_ANSWER_NXDOMAIN, DANE_DNSSEC_SECURE },
		[NX_I] = { DANE_ANSWER_NXDOMAIN, DANE_DNSSEC_INSECURE },
		[ND_S] = { DANE_ANSWER_NODATA, DANE_DNSSEC_SECURE },
		[ND_I] = { DANE_ANSWER_NODATA, DANE_DNSSEC_INSECURE },
		[FAIL] = { DANE_ANSWER_FAILED, DANE_DNSSEC_BOGUS },
		[NQ] = { DANE_ANSWER_NOT_QUERIED, DANE_DNSSEC_INSECURE },
	};

	if (st != KEEP)
		*l = map[st];
}

/* Build records from "u s m[/len],..."; data has the right shape. */
static void
add_records(struct dane_facts *f, const char *spec)
{
	char buf[256], *p, *tok;
	unsigned u, s, m;
	size_t len;

	snprintf(buf, sizeof(buf), "%s", spec);
	f->tlsa_rrs = calloc(16, sizeof(*f->tlsa_rrs));
	cr_assert_not_null(f->tlsa_rrs);
	for (p = buf; (tok = strsep(&p, ",")) != NULL;) {
		struct dane_tlsa_rr *rr = &f->tlsa_rrs[f->tlsa_count++];
		int n = sscanf(tok, "%u %u %u/%zu", &u, &s, &m, &len);

		cr_assert(n >= 3, "bad record spec %s", tok);
		rr->usage = (uint8_t)u;
		rr->selector = (uint8_t)s;
		rr->mtype = (uint8_t)m;
		if (n < 4)
			len = m == 1 ? 32 : m == 2 ? 64 :
			    s == 0 ? cert_len : spki_len;
		rr->len = len;
		rr->data = malloc(len + 1);
		cr_assert_not_null(rr->data);
		if (m == 0 && n < 4)
			memcpy(rr->data, s == 0 ? cert_der : spki_der, len);
		else
			memset(rr->data, 0x5a, len);
	}
}

static struct dane_facts *
make_facts(const struct row *r)
{
	struct dane_facts *f = calloc(1, sizeof(*f));
	const char *host = r->host != NULL ? r->host : "mx.example.com";

	cr_assert_not_null(f);
	snprintf(f->nexthop, sizeof(f->nexthop), "%s",
	    r->nexthop != NULL ? r->nexthop : "example.com");
	snprintf(f->nexthop_expanded, sizeof(f->nexthop_expanded), "%s",
	    r->nexthop_exp != NULL ? r->nexthop_exp : "");
	snprintf(f->host, sizeof(f->host), "%s", host);
	snprintf(f->host_expanded, sizeof(f->host_expanded), "%s",
	    r->host_exp != NULL ? r->host_exp : "");
	f->nexthop_is_literal = r->literal;
	f->nexthop_is_relay = r->relay;
	set_lookup(&f->mx, F_S);
	set_lookup(&f->addr, F_S);
	set_lookup(&f->tlsa, F_S);
	if (r->relay)
		set_lookup(&f->mx, NQ);
	set_lookup(&f->mx, r->mx);
	set_lookup(&f->addr, r->addr);
	set_lookup(&f->tlsa, r->tlsa);
	f->mx_count = 1;
	snprintf(f->mx_hosts[0], sizeof(f->mx_hosts[0]), "%s",
	    "mx.example.com");
	f->host_in_mx = !r->not_in_mx;
	if (r->tlsa_base == NULL)
		snprintf(f->tlsa_base, sizeof(f->tlsa_base), "%s", host);
	else if (strcmp(r->tlsa_base, "-") != 0)
		snprintf(f->tlsa_base, sizeof(f->tlsa_base), "%s",
		    r->tlsa_base);
	f->port = 25;
	if (f->tlsa.answer == DANE_ANSWER_FOUND)
		add_records(f, r->recs != NULL ? r->recs : "3 1 1");
	return f;
}

static void
join_refnames(const struct dane_policy *p, char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < p->refname_count && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    i > 0 ? " " : "", p->refnames[i]);
}

static void
run(const struct row *rows, size_t n)
{
	struct dane_settings s;
	struct dane_policy *p;
	struct dane_facts *f;
	enum dane_result res;
	const char *want_dsn;
	char names[1024];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		dane_settings_default(&s);
		s.usage01 = r->mode;
		f = make_facts(r);
		p = NULL;
		res = dane_decide(&s, f, &p);
		cr_assert_eq(res, DANE_OK, "%s: result got %d, want %d",
		    r->name, res, DANE_OK);
		cr_assert_not_null(p);
		cr_expect_eq(p->level, r->level, "%s: level got %s, want %s",
		    r->name, dane_level_name(p->level),
		    dane_level_name(r->level));
		cr_expect_eq(p->reason, r->reason,
		    "%s: reason got %s, want %s", r->name,
		    dane_reason_text(p->reason), dane_reason_text(r->reason));
		want_dsn = r->level == DANE_LEVEL_SKIP ||
		    r->level == DANE_LEVEL_DEFER ? "4.7.5" : "";
		cr_expect_str_eq(p->dsn, want_dsn,
		    "%s: dsn got \"%s\", want \"%s\"", r->name, p->dsn,
		    want_dsn);
		if (r->base != NULL)
			cr_expect_str_eq(p->base_domain, r->base,
			    "%s: base got %s, want %s", r->name,
			    p->base_domain, r->base);
		if (r->refnames != NULL) {
			join_refnames(p, names, sizeof(names));
			cr_expect_str_eq(names, r->refnames,
			    "%s: refnames got \"%s\", want \"%s\"", r->name,
			    names, r->refnames);
		}
		if (r->usable >= 0)
			cr_expect_eq(p->usable_count, (size_t)r->usable,
			    "%s: usable got %zu, want %d", r->name,
			    p->usable_count, r->usable);
		dane_policy_free(p);
		dane_facts_free(f);
	}
}

/* Shorthands for expectations. */
#define OPP DANE_LEVEL_OPP
#define ENC DANE_LEVEL_ENCRYPT
#define AUTH DANE_LEVEL_AUTH
#define SKIP DANE_LEVEL_SKIP
#define DEFER DANE_LEVEL_DEFER
#define DEF DANE_USAGE01_DEFAULT
#define TAD DANE_USAGE01_TA_DIGESTS
#define STR DANE_USAGE01_STRICT

Test(policy, literal_nexthop_is_not_applicable)
{
	static const struct row rows[] = {
		{ .name = "literal, everything else secure", .literal = 1,
		  .level = OPP, .reason = DANE_R_NOT_APPLICABLE,
		  .usable = -1 },
		{ .name = "literal wins over a failed MX", .literal = 1,
		  .mx = FAIL, .level = OPP, .reason = DANE_R_NOT_APPLICABLE,
		  .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, mx_failure_defers)
{
	static const struct row rows[] = {
		{ .name = "MX servfail", .mx = FAIL, .level = DEFER,
		  .reason = DANE_R_MX_FAILED, .usable = -1 },
		{ .name = "MX bogus", .mx = F_B, .level = DEFER,
		  .reason = DANE_R_MX_FAILED, .usable = -1 },
		{ .name = "MX not queried", .mx = NQ, .level = DEFER,
		  .reason = DANE_R_MX_FAILED, .usable = -1 },
		{ .name = "MX bogus, host not in MX", .mx = F_B,
		  .not_in_mx = 1, .level = DEFER,
		  .reason = DANE_R_MX_FAILED, .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, insecure_mx_is_opportunistic)
{
	static const struct row rows[] = {
		{ .name = "MX insecure", .mx = F_I, .level = OPP,
		  .reason = DANE_R_MX_INSECURE, .usable = -1 },
		{ .name = "MX insecure NODATA", .mx = ND_I, .level = OPP,
		  .reason = DANE_R_MX_INSECURE, .usable = -1 },
		{ .name = "MX insecure NXDOMAIN", .mx = NX_I, .level = OPP,
		  .reason = DANE_R_MX_INSECURE, .usable = -1 },
		{ .name = "MX insecure, host not in MX", .mx = F_I,
		  .not_in_mx = 1, .level = OPP,
		  .reason = DANE_R_MX_INSECURE, .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, host_not_in_secure_mx_is_skipped)
{
	static const struct row rows[] = {
		{ .name = "secure MX without host", .not_in_mx = 1,
		  .level = SKIP, .reason = DANE_R_HOST_NOT_MX,
		  .usable = -1 },
		{ .name = "implicit MX, other host", .mx = ND_S,
		  .not_in_mx = 1, .level = SKIP,
		  .reason = DANE_R_HOST_NOT_MX, .usable = -1 },
		{ .name = "secure NXDOMAIN, other host", .mx = NX_S,
		  .not_in_mx = 1, .level = SKIP,
		  .reason = DANE_R_HOST_NOT_MX, .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, implicit_mx_secure_continues)
{
	static const struct row rows[] = {
		{ .name = "implicit MX, TLSA usable", .mx = ND_S,
		  .host = "example.com", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .base = "example.com",
		  .refnames = "example.com", .usable = 1 },
		{ .name = "implicit MX, CNAME-expanded host", .mx = ND_S,
		  .host = "example.com", .host_exp = "mail.provider.net",
		  .tlsa_base = "mail.provider.net", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .base = "mail.provider.net",
		  .refnames = "mail.provider.net example.com", .usable = 1 },
		{ .name = "implicit MX, address insecure", .mx = ND_S,
		  .host = "example.com", .addr = F_I, .level = OPP,
		  .reason = DANE_R_ADDR_INSECURE, .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, address_state_decides_before_tlsa)
{
	static const struct row rows[] = {
		{ .name = "addr servfail", .addr = FAIL, .level = SKIP,
		  .reason = DANE_R_ADDR_FAILED, .usable = -1 },
		{ .name = "addr bogus", .addr = F_B, .level = SKIP,
		  .reason = DANE_R_ADDR_FAILED, .usable = -1 },
		{ .name = "addr NXDOMAIN", .addr = NX_S, .level = SKIP,
		  .reason = DANE_R_ADDR_NOTFOUND, .usable = -1 },
		{ .name = "addr NODATA insecure", .addr = ND_I,
		  .level = SKIP, .reason = DANE_R_ADDR_NOTFOUND,
		  .usable = -1 },
		{ .name = "addr insecure", .addr = F_I, .tlsa = NQ,
		  .level = OPP, .reason = DANE_R_ADDR_INSECURE,
		  .base = "mx.example.com", .usable = -1 },
		{ .name = "addr not queried", .addr = NQ, .level = SKIP,
		  .reason = DANE_R_ADDR_FAILED, .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, tlsa_lookup_outcomes)
{
	static const struct row rows[] = {
		{ .name = "TLSA servfail", .tlsa = FAIL, .level = SKIP,
		  .reason = DANE_R_TLSA_FAILED, .usable = -1 },
		{ .name = "TLSA bogus", .tlsa = F_B, .level = SKIP,
		  .reason = DANE_R_TLSA_FAILED, .usable = -1 },
		{ .name = "TLSA not queried", .tlsa = NQ, .level = SKIP,
		  .reason = DANE_R_TLSA_FAILED, .usable = -1 },
		{ .name = "TLSA NODATA secure", .tlsa = ND_S, .level = OPP,
		  .reason = DANE_R_TLSA_NONE, .usable = 0 },
		{ .name = "TLSA NXDOMAIN secure", .tlsa = NX_S,
		  .level = OPP, .reason = DANE_R_TLSA_NONE, .usable = 0 },
		{ .name = "TLSA insecure", .tlsa = F_I, .level = OPP,
		  .reason = DANE_R_TLSA_INSECURE, .usable = 0 },
		{ .name = "TLSA NXDOMAIN insecure", .tlsa = NX_I,
		  .level = OPP, .reason = DANE_R_TLSA_INSECURE,
		  .usable = 0 },
	};

	run(rows, N(rows));
}

Test(policy, all_unusable_requires_tls)
{
	static const struct row rows[] = {
		{ .name = "only 0 0 1", .recs = "0 0 1", .level = ENC,
		  .reason = DANE_R_TLSA_UNUSABLE, .usable = 0 },
		{ .name = "only malformed", .recs = "3 1 1/31,3 1 2/32,4 0 1",
		  .level = ENC, .reason = DANE_R_TLSA_UNUSABLE,
		  .usable = 0 },
		{ .name = "garbage full cert", .recs = "3 0 0/20",
		  .level = ENC, .reason = DANE_R_TLSA_UNUSABLE,
		  .usable = 0 },
	};

	run(rows, N(rows));
}

Test(policy, one_usable_record_authenticates)
{
	static const struct row rows[] = {
		{ .name = "one usable among unusable",
		  .recs = "0 0 1,3 1 1/33,2 0 1,4 1 1", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .usable = 1 },
		{ .name = "mixed 2 and 3, full data",
		  .recs = "3 1 1,2 0 0,3 1 0,2 1 2", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .usable = 4 },
	};

	run(rows, N(rows));
}

Test(policy, reference_names_follow_rfc7672_3_2_2)
{
	static const struct row rows[] = {
		{ .name = "secure MX: base then nexthop", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .base = "mx.example.com",
		  .refnames = "mx.example.com example.com", .usable = 1 },
		{ .name = "CNAME-expanded host base",
		  .host_exp = "mail.provider.net",
		  .tlsa_base = "mail.provider.net", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .base = "mail.provider.net",
		  .refnames = "mail.provider.net example.com",
		  .usable = 1 },
		{ .name = "TLSA fallback to original host",
		  .host_exp = "mail.provider.net",
		  .tlsa_base = "mx.example.com", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .base = "mx.example.com",
		  .refnames = "mx.example.com example.com", .usable = 1 },
		{ .name = "CNAME-expanded next hop",
		  .nexthop = "exchange.example.org",
		  .nexthop_exp = "example.com", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE, .base = "mx.example.com",
		  .refnames =
		  "mx.example.com exchange.example.org example.com",
		  .usable = 1 },
		{ .name = "next hop equals expansion",
		  .nexthop_exp = "example.com", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE,
		  .refnames = "mx.example.com example.com", .usable = 1 },
		{ .name = "relay with expanded host", .relay = 1,
		  .nexthop = "relay.example.net",
		  .host = "relay.example.net",
		  .host_exp = "smtp.hoster.example",
		  .tlsa_base = "smtp.hoster.example", .level = AUTH,
		  .reason = DANE_R_TLSA_USABLE,
		  .base = "smtp.hoster.example",
		  .refnames = "smtp.hoster.example relay.example.net",
		  .usable = 1 },
		{ .name = "relay ignores MX facts", .relay = 1,
		  .nexthop = "relay.example.net",
		  .host = "relay.example.net", .not_in_mx = 1,
		  .level = AUTH, .reason = DANE_R_TLSA_USABLE,
		  .base = "relay.example.net",
		  .refnames = "relay.example.net", .usable = 1 },
		{ .name = "no TLSA lookup: base is the host",
		  .addr = F_I, .tlsa = NQ, .tlsa_base = "-", .level = OPP,
		  .reason = DANE_R_ADDR_INSECURE, .base = "mx.example.com",
		  .usable = -1 },
	};

	run(rows, N(rows));
}

Test(policy, usage01_setting_controls_pkix_records)
{
	static const struct row rows[] = {
		{ .name = "1 1 1 default", .recs = "1 1 1", .mode = DEF,
		  .level = AUTH, .reason = DANE_R_TLSA_USABLE, .usable = 1 },
		{ .name = "0 0 0 default", .recs = "0 0 0", .mode = DEF,
		  .level = AUTH, .reason = DANE_R_TLSA_USABLE, .usable = 1 },
		{ .name = "0 0 1 default", .recs = "0 0 1", .mode = DEF,
		  .level = ENC, .reason = DANE_R_TLSA_UNUSABLE,
		  .usable = 0 },
		{ .name = "0 0 1 ta digests", .recs = "0 0 1", .mode = TAD,
		  .level = AUTH, .reason = DANE_R_TLSA_USABLE, .usable = 1 },
		{ .name = "1 1 1 strict", .recs = "1 1 1", .mode = STR,
		  .level = ENC, .reason = DANE_R_TLSA_UNUSABLE,
		  .usable = 0 },
		{ .name = "0 0 0 strict", .recs = "0 0 0", .mode = STR,
		  .level = ENC, .reason = DANE_R_TLSA_UNUSABLE,
		  .usable = 0 },
		{ .name = "strict keeps 3 1 1", .recs = "1 1 1,3 1 1",
		  .mode = STR, .level = AUTH, .reason = DANE_R_TLSA_USABLE,
		  .usable = 1 },
	};

	run(rows, N(rows));
}

Test(policy, usable_records_are_mapped_copies)
{
	static const struct row r = { .name = "copy", .recs = "1 1 1,0 0 1" };
	struct dane_settings s;
	struct dane_policy *p = NULL;
	struct dane_facts *f = make_facts(&r);

	dane_settings_default(&s);
	cr_assert_eq(dane_decide(&s, f, &p), DANE_OK);
	cr_assert_eq(p->usable_count, 1, "usable got %zu, want 1",
	    p->usable_count);
	cr_expect_eq(p->unusable_count, 1, "unusable got %zu, want 1",
	    p->unusable_count);
	cr_expect_eq(p->usable[0].usage, DANE_USAGE_DANE_EE,
	    "usage got %u, want 3", (unsigned)p->usable[0].usage);
	cr_expect_neq(p->usable[0].data, f->tlsa_rrs[0].data,
	    "got data shared with the facts, want a copy");
	cr_expect(p->usable[0].len == 32 &&
	    memcmp(p->usable[0].data, f->tlsa_rrs[0].data, 32) == 0,
	    "got different data, want the record's data");
	dane_facts_free(f);
	/* The policy must outlive the facts. */
	cr_expect_eq(p->usable[0].data[31], 0x5a, "got %#x, want 0x5a",
	    p->usable[0].data[31]);
	dane_policy_free(p);
}

Test(policy, bad_arguments_are_rejected)
{
	struct dane_facts f;
	struct dane_policy *p = (struct dane_policy *)&f;

	memset(&f, 0, sizeof(f));
	cr_expect_eq(dane_decide(NULL, NULL, &p), DANE_ERR_INVAL,
	    "NULL facts: got success, want DANE_ERR_INVAL");
	cr_expect_null(p, "NULL facts: got a policy, want NULL");
	cr_expect_eq(dane_decide(NULL, &f, NULL), DANE_ERR_INVAL,
	    "NULL out: got success, want DANE_ERR_INVAL");
	dane_policy_free(NULL);
}

Test(policy, strings_are_safe_for_sendmail)
{
	char what[64];
	const char *s;
	int i;

	for (i = 0; i <= DANE_R_NEXTHOP_FAILED + 6; i++) {
		if (i <= DANE_R_NEXTHOP_FAILED)
			s = dane_reason_text((enum dane_reason)i);
		else if (i <= DANE_R_NEXTHOP_FAILED + 5)
			s = dane_level_name((enum dane_level)
			    (i - DANE_R_NEXTHOP_FAILED - 1));
		else
			s = dane_strerror(DANE_ERR_TLS);
		snprintf(what, sizeof(what), "string %d", i);
		cr_assert_not_null(s, "%s: got NULL, want text", what);
		cr_expect(strpbrk(s, "\"\\%()") == NULL,
		    "%s: got \"%s\", want no quote, backslash, %% or "
		    "parentheses", what, s);
	}
	cr_expect_str_eq(dane_level_name(DANE_LEVEL_AUTH), "dane",
	    "got %s, want dane", dane_level_name(DANE_LEVEL_AUTH));
	cr_expect(dane_level_requires_tls(DANE_LEVEL_ENCRYPT) &&
	    !dane_level_requires_auth(DANE_LEVEL_ENCRYPT) &&
	    dane_level_requires_auth(DANE_LEVEL_AUTH) &&
	    !dane_level_requires_tls(DANE_LEVEL_OPP),
	    "got wrong level predicates");
	cr_expect(dane_result_is_temporary(DANE_ERR_RESOLVER) &&
	    !dane_result_is_temporary(DANE_ERR_INVAL),
	    "got wrong temporary classification");
}
