/*
 * NAME
 *	policy_test - unit tests for dane_decide()
 *
 * DESCRIPTION
 *	The decision table lives in tests/unit/policy_table.tsv: one row
 *	per rule, with the facts (DNS states, names, TLSA records, usage
 *	0/1 setting), the policy expected (level, reason, DSN, base
 *	domain, reference names, usable records, action) and the
 *	CONFORMANCE.md item numbers.  docs/POLICY.md repeats the rows
 *	verbatim; decision_table_matches_policy_md checks that it does.
 *	Failure messages carry the item number and the row name.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dane.h"
#include "testdata.h"
#include "danei.h"
#include "testcert.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TABLE "tests/unit/policy_table.tsv"
#define POLICY_MD "docs/POLICY.md"
#define MD_BEGIN "<!-- BEGIN " TABLE " -->"
#define MD_END "<!-- END " TABLE " -->"
#define LINE_MAX_LEN 4096
#define ROWS_MAX 256

enum col {
	C_ITEM, C_RFC, C_NAME, C_NEXTHOP, C_NEXTHOP_CNAME, C_MX, C_IN_MX,
	C_HOST, C_HOST_CNAME, C_ADDR, C_CNAME, C_TLSA_BASE, C_TLSA,
	C_RECORDS, C_USAGE01, C_LEVEL, C_REASON, C_DSN, C_BASE, C_REFNAMES,
	C_USABLE, C_ACTION, NCOL
};

static const char *const col_name[NCOL] = {
	"item", "rfc", "name", "nexthop", "nexthop_cname", "mx", "in_mx",
	"host", "host_cname", "addr", "cname", "tlsa_base", "tlsa",
	"records", "usage01", "level", "reason", "dsn", "base", "refnames",
	"usable", "action"
};

/* Enum suffixes of enum dane_reason, indexed by value. */
static const char *const reason_name[] = {
	"NOT_APPLICABLE", "MX_FAILED", "MX_INSECURE", "HOST_NOT_MX",
	"ADDR_FAILED", "ADDR_INSECURE", "ADDR_NOTFOUND", "TLSA_FAILED",
	"TLSA_INSECURE", "TLSA_NONE", "TLSA_UNUSABLE", "TLSA_USABLE",
	"NEXTHOP_FAILED", "CNAME_FAILED", "CNAME_INSECURE",
	"DNSSEC_UNAVAILABLE"
};

/* What each level means for delivery; the table's action column. */
static const char *const level_action[] = {
	[DANE_LEVEL_OPP] = "TLS if offered, clear text allowed",
	[DANE_LEVEL_ENCRYPT] = "TLS required, no authentication; else next MX",
	[DANE_LEVEL_AUTH] = "TLS + DANE authentication; else next MX",
	[DANE_LEVEL_SKIP] = "do not use this host; next MX",
	[DANE_LEVEL_DEFER] = "no delivery; keep queued",
};

struct trow {
	char buf[LINE_MAX_LEN];
	char *c[NCOL];
	int line;
};

static struct trow rows[ROWS_MAX];
static size_t nrows;
static unsigned char *cert_der, *spki_der;
static size_t cert_len, spki_len;

static void
chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* Split on tabs into exactly NCOL fields. */
static void
split_row(struct trow *r)
{
	char *p = r->buf, *tok;
	size_t n = 0;

	while ((tok = strsep(&p, "\t")) != NULL) {
		cr_assert(n < NCOL, "%s line %d: got more than %d columns, "
		    "want %d", TABLE, r->line, NCOL, NCOL);
		r->c[n++] = tok;
	}
	cr_assert_eq(n, NCOL, "%s line %d: got %zu columns, want %d", TABLE,
	    r->line, n, NCOL);
}

static void
load_table(void)
{
	FILE *fp = open_src(TABLE);
	struct trow hdr;
	int line = 0, have_hdr = 0;
	size_t i;

	nrows = 0;
	while (fgets(hdr.buf, sizeof(hdr.buf), fp) != NULL) {
		line++;
		chomp(hdr.buf);
		if (hdr.buf[0] == '#' || hdr.buf[0] == '\0')
			continue;
		hdr.line = line;
		if (!have_hdr) {
			split_row(&hdr);
			for (i = 0; i < NCOL; i++)
				cr_assert_str_eq(hdr.c[i], col_name[i],
				    "%s header column %zu: got %s, want %s",
				    TABLE, i + 1, hdr.c[i], col_name[i]);
			have_hdr = 1;
			continue;
		}
		cr_assert(nrows < ROWS_MAX, "got more than %d rows", ROWS_MAX);
		rows[nrows] = hdr;
		split_row(&rows[nrows]);
		nrows++;
	}
	fclose(fp);
	cr_assert_gt(nrows, 0, "%s: got no rows, want the table", TABLE);
}

static void
setup(void)
{
	EVP_PKEY *k = tc_key();
	X509 *c = tc_cert(k, NULL, NULL, "p.test", "p.test", 0, 7);

	cert_der = tc_der_cert(c, &cert_len);
	spki_der = tc_der_spki(c, &spki_len);
	X509_free(c);
	EVP_PKEY_free(k);
	load_table();
}

static void
teardown(void)
{
	free(cert_der);
	free(spki_der);
}

TestSuite(policy, .init = setup, .fini = teardown);

/* "S", "NX-I", "-", ...: the CONFORMANCE.md notation. */
static void
set_lookup(const struct trow *r, struct dane_lookup *l, const char *st)
{
	static const struct {
		const char *name;
		struct dane_lookup l;
	} map[] = {
		{ "S", { DANE_ANSWER_FOUND, DANE_DNSSEC_SECURE } },
		{ "I", { DANE_ANSWER_FOUND, DANE_DNSSEC_INSECURE } },
		{ "B", { DANE_ANSWER_FOUND, DANE_DNSSEC_BOGUS } },
		{ "NX-S", { DANE_ANSWER_NXDOMAIN, DANE_DNSSEC_SECURE } },
		{ "NX-I", { DANE_ANSWER_NXDOMAIN, DANE_DNSSEC_INSECURE } },
		{ "ND-S", { DANE_ANSWER_NODATA, DANE_DNSSEC_SECURE } },
		{ "ND-I", { DANE_ANSWER_NODATA, DANE_DNSSEC_INSECURE } },
		{ "F", { DANE_ANSWER_FAILED, DANE_DNSSEC_BOGUS } },
		{ "-", { DANE_ANSWER_NOT_QUERIED, DANE_DNSSEC_INSECURE } },
	};
	size_t i;

	for (i = 0; i < N(map); i++)
		if (strcmp(st, map[i].name) == 0) {
			*l = map[i].l;
			return;
		}
	cr_assert_fail("%s line %d: got DNS state \"%s\", want S, I, B, F, "
	    "NX-S, NX-I, ND-S, ND-I or -", TABLE, r->line, st);
}

static void
set_name(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", strcmp(src, "-") == 0 ? "" : src);
}

static int
is_address(const char *s)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, s, bin) == 1 ||
	    inet_pton(AF_INET6, s, bin) == 1;
}

/* Records from "u s m[/len]; ...; bad-rdata". */
static void
add_records(const struct trow *r, struct dane_facts *f, const char *spec)
{
	char buf[LINE_MAX_LEN], *p, *tok;
	unsigned u, s, m;
	size_t len, n = 1;

	if (strcmp(spec, "-") == 0)
		return;
	for (p = (char *)spec; *p != '\0'; p++)
		n += *p == ';';
	f->tlsa_rrs = calloc(n, sizeof(*f->tlsa_rrs));
	cr_assert_not_null(f->tlsa_rrs);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (p = buf; (tok = strsep(&p, ";")) != NULL;) {
		struct dane_tlsa_rr *rr;
		int k;

		tok += strspn(tok, " ");
		if (strcmp(tok, "bad-rdata") == 0) {
			f->tlsa_malformed++;
			continue;
		}
		k = sscanf(tok, "%u %u %u/%zu", &u, &s, &m, &len);
		cr_assert(k >= 3, "%s line %d: got record \"%s\", want "
		    "\"u s m[/len]\"", TABLE, r->line, tok);
		rr = &f->tlsa_rrs[f->tlsa_count++];
		rr->usage = (uint8_t)u;
		rr->selector = (uint8_t)s;
		rr->mtype = (uint8_t)m;
		if (k < 4)
			len = m == 1 ? 32 : m == 2 ? 64 :
			    s == 0 ? cert_len : spki_len;
		rr->len = len;
		rr->data = malloc(len + 1);
		cr_assert_not_null(rr->data);
		if (k < 4 && m != 1 && m != 2)
			memcpy(rr->data, s == 0 ? cert_der : spki_der, len);
		else
			memset(rr->data, 0x5a, len);
	}
}

static struct dane_facts *
make_facts(const struct trow *r)
{
	struct dane_facts *f = calloc(1, sizeof(*f));
	const char *nh = r->c[C_NEXTHOP];
	char inner[DANE_NAME_MAX];

	cr_assert_not_null(f);
	if (nh[0] == '[') {
		snprintf(inner, sizeof(inner), "%s", nh + 1);
		inner[strcspn(inner, "]")] = '\0';
		f->nexthop_is_literal = is_address(inner);
		f->nexthop_is_relay = !f->nexthop_is_literal;
		nh = inner;
	}
	set_name(f->nexthop, sizeof(f->nexthop), nh);
	set_name(f->nexthop_expanded, sizeof(f->nexthop_expanded),
	    r->c[C_NEXTHOP_CNAME]);
	/* "U": the upstream delivers no DNSSEC, nothing was looked up */
	f->dnssec_unavailable = strcmp(r->c[C_MX], "U") == 0;
	set_lookup(r, &f->mx, f->dnssec_unavailable ? "-" : r->c[C_MX]);
	f->host_in_mx = strcmp(r->c[C_IN_MX], "yes") == 0;
	set_name(f->host, sizeof(f->host), r->c[C_HOST]);
	f->host_is_literal = is_address(f->host);
	set_name(f->host_expanded, sizeof(f->host_expanded),
	    r->c[C_HOST_CNAME]);
	set_lookup(r, &f->addr, r->c[C_ADDR]);
	set_lookup(r, &f->host_cname, r->c[C_CNAME]);
	set_name(f->tlsa_base, sizeof(f->tlsa_base), r->c[C_TLSA_BASE]);
	set_lookup(r, &f->tlsa, r->c[C_TLSA]);
	f->port = 25;
	if (f->tlsa.answer == DANE_ANSWER_FOUND)
		add_records(r, f, r->c[C_RECORDS]);
	if (f->host_in_mx) {
		f->mx_count = 1;
		snprintf(f->mx_hosts[0], sizeof(f->mx_hosts[0]), "%s",
		    f->host);
	}
	return f;
}

static void
settings_for(const struct trow *r, struct dane_settings *s)
{
	char m[32], *opt;

	/* "usage01[,no-dnssec-opportunistic]" */
	snprintf(m, sizeof(m), "%s", r->c[C_USAGE01]);
	dane_settings_default(s);
	if ((opt = strchr(m, ',')) != NULL) {
		*opt++ = '\0';
		if (strcmp(opt, "no-dnssec-opportunistic") == 0)
			s->no_dnssec = DANE_NO_DNSSEC_OPPORTUNISTIC;
		else
			cr_assert_fail("%s line %d: got setting \"%s\", want "
			    "no-dnssec-opportunistic", TABLE, r->line, opt);
	}
	if (strcmp(m, "default") == 0)
		s->usage01 = DANE_USAGE01_DEFAULT;
	else if (strcmp(m, "ta-digests") == 0)
		s->usage01 = DANE_USAGE01_TA_DIGESTS;
	else if (strcmp(m, "strict") == 0)
		s->usage01 = DANE_USAGE01_STRICT;
	else
		cr_assert_fail("%s line %d: got usage01 \"%s\", want default, "
		    "ta-digests or strict", TABLE, r->line, m);
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

static const char *
reason_id(enum dane_reason r)
{
	return (size_t)r < N(reason_name) ? reason_name[r] : "?";
}

/* Check one row; returns the number of mismatches. */
static int
check_row(const struct trow *r)
{
	struct dane_settings s;
	struct dane_policy *p = NULL;
	struct dane_facts *f = make_facts(r);
	const char *item = r->c[C_ITEM], *name = r->c[C_NAME];
	char names[1024], usable[16];
	enum dane_result res;
	enum dane_level i;
	int bad = 0;

	settings_for(r, &s);
	res = dane_decide(&s, f, &p);
	cr_assert_eq(res, DANE_OK, "item %s, %s: result got %s, want success",
	    item, name, dane_strerror(res));
#define EXPECT_STR(what, got, want) do {				\
	if (strcmp((got), (want)) != 0) {				\
		cr_log_error("item %s, %s (%s line %d): %s got "	\
		    "\"%s\", want \"%s\"", item, name, TABLE, r->line,	\
		    (what), (got), (want));				\
		bad++;							\
	}								\
} while (0)
	EXPECT_STR("level", dane_level_name(p->level), r->c[C_LEVEL]);
	EXPECT_STR("reason", reason_id(p->reason), r->c[C_REASON]);
	EXPECT_STR("dsn", p->dsn[0] != '\0' ? p->dsn : "-", r->c[C_DSN]);
	EXPECT_STR("base", p->base_domain, r->c[C_BASE]);
	join_refnames(p, names, sizeof(names));
	EXPECT_STR("refnames", names, r->c[C_REFNAMES]);
	snprintf(usable, sizeof(usable), "%zu", p->usable_count);
	EXPECT_STR("usable", usable, r->c[C_USABLE]);
	/* The action column must say what the row's level means. */
	for (i = 0; i < N(level_action); i++)
		if (strcmp(r->c[C_LEVEL], dane_level_name(i)) == 0)
			EXPECT_STR("action column", r->c[C_ACTION],
			    level_action[i]);
#undef EXPECT_STR
	dane_policy_free(p);
	dane_facts_free(f);
	return bad;
}

Test(policy, decision_table_rows_hold)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < nrows; i++)
		bad += check_row(&rows[i]);
	cr_expect_eq(bad, 0, "got %d mismatches in %zu rows of %s, want 0 "
	    "(see the messages above)", bad, nrows, TABLE);
}

/* Every level and every reason dane_decide() can give has a row. */
Test(policy, decision_table_covers_every_outcome)
{
	size_t i, j;
	int seen;

	for (i = 0; i < N(level_action); i++) {
		for (seen = 0, j = 0; j < nrows; j++)
			seen |= strcmp(rows[j].c[C_LEVEL],
			    dane_level_name((enum dane_level)i)) == 0;
		cr_expect(seen, "level %s: got no row, want one",
		    dane_level_name((enum dane_level)i));
	}
	for (i = 0; i < N(reason_name); i++) {
		if (i == DANE_R_NEXTHOP_FAILED)
			continue;	/* reserved: not produced */
		for (seen = 0, j = 0; j < nrows; j++)
			seen |= strcmp(rows[j].c[C_REASON], reason_name[i]) == 0;
		cr_expect(seen, "reason %s: got no row, want one",
		    reason_name[i]);
	}
	cr_expect_eq(N(reason_name), (size_t)DANE_R_LAST + 1,
	    "reason names: got %zu, want %d", N(reason_name), DANE_R_LAST + 1);
}

/* Split a Markdown table row "| a | b |" into trimmed cells. */
static size_t
md_cells(char *line, char **cell, size_t max)
{
	char *p = line, *tok, *end;
	size_t n = 0;

	p += strspn(p, " ");
	if (*p != '|')
		return 0;
	p++;
	while ((tok = strsep(&p, "|")) != NULL && n < max) {
		if (p == NULL && *tok == '\0')
			break;		/* after the closing bar */
		tok += strspn(tok, " ");
		end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		cell[n++] = tok;
	}
	return n;
}

Test(policy, decision_table_matches_policy_md)
{
	FILE *fp = open_src(POLICY_MD);
	char line[LINE_MAX_LEN], *cell[NCOL + 2];
	size_t n, i, row = 0, tline = 0;
	int inside = 0, done = 0;

	while (!done && fgets(line, sizeof(line), fp) != NULL) {
		chomp(line);
		if (!inside) {
			inside = strcmp(line, MD_BEGIN) == 0;
			continue;
		}
		if (strcmp(line, MD_END) == 0) {
			done = 1;
			continue;
		}
		if ((n = md_cells(line, cell, N(cell))) == 0)
			continue;
		if (tline++ < 2)
			continue;	/* header and --- */
		cr_assert(row < nrows, "%s: got more than %zu rows, want "
		    "the rows of %s", POLICY_MD, nrows, TABLE);
		cr_expect_eq(n, NCOL, "%s row %zu: got %zu cells, want %d",
		    POLICY_MD, row + 1, n, NCOL);
		for (i = 0; i < n && i < NCOL; i++)
			cr_expect_str_eq(cell[i], rows[row].c[i], "%s row %zu "
			    "(item %s) column %s: got \"%s\", want \"%s\" as "
			    "in %s line %d", POLICY_MD, row + 1,
			    rows[row].c[C_ITEM], col_name[i], cell[i],
			    rows[row].c[i], TABLE, rows[row].line);
		row++;
	}
	fclose(fp);
	cr_expect(done, "%s: got no \"%s\" ... \"%s\" block, want the table",
	    POLICY_MD, MD_BEGIN, MD_END);
	cr_expect_eq(row, nrows, "%s: got %zu rows, want %zu as in %s",
	    POLICY_MD, row, nrows, TABLE);
}

/* Item 60: names are compared in one canonical A-label form. */
Test(policy, names_are_lower_case_a_labels_without_root_dot)
{
	static const struct {
		const char *in, *want;	/* want NULL: rejected */
	} rows_[] = {
		{ "MX.Example.COM.", "mx.example.com" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "b\xc3\xbc" "cher.example", NULL },	/* U-label */
		{ "a..example", NULL },
		{ "example.com..", NULL },
		{ ".example.com", NULL },
		{ ".", NULL },
		{ "", NULL },
		{ "a b.example", NULL },
	};
	char out[DANE_NAME_MAX];
	size_t i;
	enum dane_result r;

	for (i = 0; i < N(rows_); i++) {
		r = danei_name_norm(rows_[i].in, out, sizeof(out));
		if (rows_[i].want == NULL) {
			cr_expect_eq(r, DANE_ERR_INVAL, "item 60, \"%s\": got "
			    "%s, want rejection", rows_[i].in,
			    r == DANE_OK ? out : dane_strerror(r));
			continue;
		}
		cr_expect_eq(r, DANE_OK, "item 60, \"%s\": got %s, want %s",
		    rows_[i].in, dane_strerror(r), rows_[i].want);
		if (r == DANE_OK)
			cr_expect_str_eq(out, rows_[i].want, "item 60, \"%s\": "
			    "got %s, want %s", rows_[i].in, out, rows_[i].want);
	}
}

Test(policy, usable_records_are_mapped_copies)
{
	struct trow r;
	struct dane_settings s;
	struct dane_policy *p = NULL;
	struct dane_facts *f;

	memset(&r, 0, sizeof(r));
	snprintf(r.buf, sizeof(r.buf), "35\t-\tcopy\texample.com\t-\tS\tyes\t"
	    "mx.example.com\t-\tS\t-\tmx.example.com\tS\t1 1 1; 0 0 1\t"
	    "default\tdane\tTLSA_USABLE\t-\tmx.example.com\t-\t1\t-");
	split_row(&r);
	f = make_facts(&r);
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

	for (i = 0; i <= DANE_R_LAST + 6; i++) {
		if (i <= DANE_R_LAST)
			s = dane_reason_text((enum dane_reason)i);
		else if (i <= DANE_R_LAST + 5)
			s = dane_level_name((enum dane_level)
			    (i - DANE_R_LAST - 1));
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
