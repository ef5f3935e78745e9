/*
 * NAME
 *	health_test - sendmail-dane-check's resolver and trust health
 *
 * DESCRIPTION
 *	tools/health.h against the fake upstream (fakeup.h), which serves
 *	a signed root whose DS RRset is the trust anchor:
 *
 *	- health_check(): trust anchor files that are good, missing,
 *	  garbage, hold only the retired KSK-2010, only revoked keys, the
 *	  IANA root's KSK-2017 (as a DNSKEY, with unbound-anchor's
 *	  comments); an upstream that strips every RRSIG (fail, naming the
 *	  upstream and what to do); a working upstream (every step ok),
 *	  with a wrongly signed name that must fail validation.
 *	- health_answers(): the DNSSEC status of each answer a gathering
 *	  used, with libunbound's why_bogus for the bogus one; the root
 *	  probe's reason when DNSSEC is unavailable; lookups not made are
 *	  left out.
 *	- health_tlsa_consistency(): the zone's NS RRset through the fake
 *	  upstream names ns1 and ns2 (and ns3, ns4), whose addresses
 *	  127.0.0.2, 127.0.0.3 (127.0.0.4) are further fake servers on one
 *	  port, each with its own records signed with the zone's key: the
 *	  same TLSA RRset (ok), a different one with another SOA serial
 *	  (the server named), one that does not answer and one without an
 *	  address (named as failed), more servers than asked (listed), a
 *	  truncated UDP reply (TCP), a server without RRSIGs and one with a
 *	  corrupted RRSIG (named), an NS RRset that does not validate (the
 *	  servers as the upstream gives them, the reason said).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dane.h"
#include "fakeup.h"
#include "health.h"

/* a case names only the fields it needs; the rest are 0 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SIGNED 1
#define TLSA_HEX \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER_HEX \
	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define TLSA(owner, hex) owner " TLSA 3 1 1 " hex

/* The IANA root's keys, as /usr/share/dns/root.key and root.ds hold them */
#define KSK2017_KEY "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3" \
	"+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuC" \
	"aSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb" \
	"9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXx" \
	"uOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8sub" \
	"X2Nn6UwNR1AkUTV74bU="
#define KSK2010_DS ". IN DS 19036 8 2 " \
	"49AAC11D7B6F6446702E54A1607371607A1A41855200FD2CE1CDDE32F24E8FB5\n"

static struct health_options
options(void)
{
	struct health_options o;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 1000;
	o.budget_ms = 15000;
	return o;
}

static struct dane_resolver_config
config(struct fakeup *u, const char *anchor)
{
	struct dane_resolver_config rc;

	memset(&rc, 0, sizeof(rc));
	rc.upstream = fu_upstream(u);
	rc.trust_anchor = anchor != NULL ? anchor : fu_anchor(u);
	rc.timeout_ms = 4000;
	return rc;
}

/* The first step with this id (and subject, when not NULL). */
static const struct health_step *
step(const struct health_report *r, const char *id, const char *subject)
{
	size_t i;

	for (i = 0; i < r->step_count; i++)
		if (strcmp(r->steps[i].id, id) == 0 && (subject == NULL ||
		    strcmp(r->steps[i].subject, subject) == 0))
			return &r->steps[i];
	cr_assert_fail("step %s %s: got none, want one", id, subject != NULL ?
	    subject : "");
	return NULL;
}

static void
expect_step(const struct health_report *r, const char *id,
    const char *subject, enum health_status want, const char *text)
{
	const struct health_step *s = step(r, id, subject);

	cr_expect_eq(s->status, want, "step %s %s: got %s (%s), want %s", id,
	    s->subject, health_status_name(s->status), s->reason,
	    health_status_name(want));
	if (text != NULL)
		cr_expect_not_null(strstr(s->reason, text), "step %s %s: "
		    "reason got \"%s\", want \"%s\" in it", id, s->subject,
		    s->reason, text);
}

static void
dump(const struct health_report *r)
{
	size_t i;

	for (i = 0; i < r->step_count; i++)
		cr_log_info("%s %s: %s: %s", r->steps[i].id,
		    r->steps[i].subject, health_status_name(r->steps[i].status),
		    r->steps[i].reason);
}

static char *
temp_file(const char *text)
{
	char *path = strdup("/tmp/health_test-anchor.XXXXXX");
	int fd;

	cr_assert_not_null(path);
	cr_assert((fd = mkstemp(path)) >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const struct fu_zone example[] = {
	{ "example.com", SIGNED, "@ MX 10 mx|mx A 192.0.2.1|bad A 192.0.2.9|"
	  TLSA("_25._tcp.mx", TLSA_HEX) },
	{ NULL, 0, NULL }
};

/* ---- health_check() ------------------------------------------------------ */

Test(health, working_upstream_every_step_ok)
{
	static const struct fu_fault faults[] = {
		{ "bad.example.com", "A", FU_AD_BADSIG }, { NULL, NULL, 0 }
	};
	struct fakeup *u = fu_start(example, faults, 0);
	struct dane_resolver_config rc = config(u, NULL);
	struct health_options o = options();
	struct health_report r;

	o.bogus_name = "bad.example.com";
	cr_assert_eq(health_check_opt(&rc, &o, &r), DANE_OK);
	dump(&r);
	cr_expect_eq(r.status, HEALTH_OK, "status: got %s, want ok",
	    health_status_name(r.status));
	cr_expect_str_eq(r.steps[0].id, "libunbound");
	cr_expect_not_null(r.unbound_version);
	expect_step(&r, "libunbound", NULL, HEALTH_OK, r.unbound_version);
	expect_step(&r, "trust-anchor", fu_anchor(u), HEALTH_OK,
	    "private or test root");
	expect_step(&r, "upstream", fu_upstream(u), HEALTH_OK,
	    "forwarding to");
	expect_step(&r, "upstream-dnssec", fu_upstream(u), HEALTH_OK,
	    "passes DNSSEC records");
	expect_step(&r, "validate", "./DNSKEY", HEALTH_OK, "validates secure");
	expect_step(&r, "validate", "./SOA", HEALTH_OK, "validates secure");
	/* the root's first delegation, after its NSEC */
	expect_step(&r, "validate", "example.com/DS", HEALTH_OK,
	    "validates secure");
	expect_step(&r, "validate", "bad.example.com/A", HEALTH_OK,
	    "fails validation, as it must");
	expect_step(&r, "libdane", NULL, HEALTH_OK, "probe passes");
	cr_expect_eq(r.dnssec_works, 1);
	cr_expect_eq(r.upstream_mode, HEALTH_UPSTREAM_LIST);
	cr_expect_eq(r.upstream_count, 1);
	cr_expect_str_eq(r.upstreams[0], fu_upstream(u));
	cr_expect(r.anchor_readable && r.anchor_parses);
	cr_expect_null(r.anchor_error);
	cr_expect_eq(r.key_count, 1);
	cr_expect_str_eq(r.keys[0].owner, ".");
	cr_expect_eq(r.keys[0].type, 43, "key type: got %u, want DS",
	    (unsigned)r.keys[0].type);
	cr_expect_null(r.keys[0].known);
	cr_expect_eq(r.root_ksk2017, 0);
	health_report_free(&r);
	cr_expect_eq(r.step_count, 0, "freed report: got steps, want none");
	fu_stop(u);
}

Test(health, upstream_stripping_rrsigs_fails_with_what_to_do)
{
	struct fakeup *u = fu_start(example, NULL, FU_STRIP_ALL);
	struct dane_resolver_config rc = config(u, NULL);
	struct health_options o = options();
	struct health_report r;
	char want[128];

	cr_assert_eq(health_check_opt(&rc, &o, &r), DANE_OK);
	dump(&r);
	cr_expect_eq(r.status, HEALTH_FAIL, "status: got %s, want fail",
	    health_status_name(r.status));
	snprintf(want, sizeof(want), "upstream %s strips RRSIG records: use "
	    "a resolver that passes DNSSEC", fu_upstream(u));
	expect_step(&r, "upstream-dnssec", fu_upstream(u), HEALTH_FAIL, want);
	expect_step(&r, "upstream-dnssec", fu_upstream(u), HEALTH_FAIL,
	    "confSMDANE_UPSTREAM recurse");
	expect_step(&r, "upstream", NULL, HEALTH_OK, NULL);
	expect_step(&r, "validate", "./DNSKEY", HEALTH_FAIL,
	    "see upstream-dnssec");
	expect_step(&r, "libdane", NULL, HEALTH_FAIL, "DNSSEC unavailable");
	/* a private root and a stripping upstream: the anchor is untested */
	expect_step(&r, "trust-anchor", NULL, HEALTH_WARN, "cannot be told");
	cr_expect_eq(r.dnssec_works, 0);
	health_report_free(&r);
	fu_stop(u);
}

Test(health, upstream_not_answering_fails)
{
	struct fakeup *u = fu_start(NULL, NULL, FU_CLOSED);
	struct dane_resolver_config rc = config(u, NULL);
	struct health_options o = options();
	struct health_report r;

	rc.timeout_ms = 1500;
	cr_assert_eq(health_check_opt(&rc, &o, &r), DANE_OK);
	dump(&r);
	cr_expect_eq(r.status, HEALTH_FAIL);
	expect_step(&r, "upstream-dnssec", fu_upstream(u), HEALTH_FAIL,
	    "no reply within 1000 ms");
	expect_step(&r, "validate", "./DNSKEY", HEALTH_FAIL, NULL);
	expect_step(&r, "libdane", NULL, HEALTH_FAIL, NULL);
	health_report_free(&r);
	fu_stop(u);
}

struct anchor_case {
	const char *name;
	const char *text;		/* file contents; NULL: missing */
	enum health_status want;
	const char *reason;		/* in the trust-anchor step's */
	int readable, parses, ksk2017;
	const char *known;		/* of the first key, "": none */
	int revoked;
	unsigned tag;			/* of the first key, 0: any */
	int validates;			/* the fake root validates */
};

static void
anchor_case(struct fakeup *u, const struct anchor_case *k)
{
	struct dane_resolver_config rc;
	struct health_options o = options();
	struct health_report r;
	char *path = k->text != NULL ? temp_file(k->text) :
	    strdup("/nonexistent/health_test-anchor.key");

	rc = config(u, path);
	cr_assert_eq(health_check_opt(&rc, &o, &r), DANE_OK);
	dump(&r);
	expect_step(&r, "trust-anchor", path, k->want, k->reason);
	cr_expect_str_eq(r.anchor_path, path);
	cr_expect_eq(r.anchor_readable, k->readable, "%s: readable got %d",
	    k->name, r.anchor_readable);
	cr_expect_eq(r.anchor_parses, k->parses, "%s: parses got %d",
	    k->name, r.anchor_parses);
	cr_expect_eq(r.root_ksk2017, k->ksk2017, "%s: root_ksk2017 got %d",
	    k->name, r.root_ksk2017);
	if (k->known != NULL) {
		cr_assert_gt(r.key_count, 0, "%s: got no key, want one",
		    k->name);
		cr_expect_str_eq(r.keys[0].known != NULL ? r.keys[0].known :
		    "", k->known, "%s: known got %s, want %s", k->name,
		    r.keys[0].known, k->known);
		cr_expect_eq(r.keys[0].revoked, k->revoked);
		if (k->tag != 0)
			cr_expect_eq(r.keys[0].key_tag, k->tag, "%s: key tag "
			    "got %u, want %u", k->name,
			    (unsigned)r.keys[0].key_tag, k->tag);
	}
	if (k->validates) {
		cr_expect_eq(r.dnssec_works, 1);
		expect_step(&r, "validate", "./DNSKEY", HEALTH_OK, NULL);
	} else {
		cr_expect_eq(r.dnssec_works, 0);
		expect_step(&r, "validate", "./DNSKEY", HEALTH_FAIL, NULL);
		expect_step(&r, "libdane", NULL, HEALTH_FAIL, NULL);
		cr_expect_eq(r.status, HEALTH_FAIL);
	}
	health_report_free(&r);
	if (k->text != NULL)
		unlink(path);
	free(path);
}

Test(health, trust_anchor_files)
{
	static const struct anchor_case cases[] = {
		{ "missing", NULL, HEALTH_FAIL, "No such file or directory",
		  0, 0, 0, NULL, 0, 0 },
		{ "garbage", "not a trust anchor\n", HEALTH_FAIL, "line 1: ",
		  1, 0, 0, NULL, 0, 0 },
		{ "only comments", "; nothing here\n\n", HEALTH_FAIL,
		  "no DS or DNSKEY record", 1, 0, 0, NULL, 0, 0 },
		{ "only the retired KSK-2010", KSK2010_DS, HEALTH_FAIL,
		  "retired root KSK-2010", 1, 1, 0, "KSK-2010", 0, 19036 },
		{ "KSK-2017 as unbound-anchor writes it",
		  "; autotrust trust anchor file\n;;id: . 1\n"
		  ".\t172800\tIN\tDNSKEY\t257 3 8 " KSK2017_KEY " ;{id = "
		  "20326 (ksk), size = 2048b} ;;state=2 [  VALID  ] "
		  ";;count=0 ;;lastchange=1502007348 ;;Sun Aug  6 08:15:48 "
		  "2017\n", HEALTH_OK, "KSK-2017 (key tag 20326)", 1, 1, 1,
		  "KSK-2017", 0, 20326 },
		{ "KSK-2017 revoked", ". IN DNSKEY 385 3 8 " KSK2017_KEY "\n",
		  HEALTH_FAIL, "only revoked root keys", 1, 1, 0, "KSK-2017",
		  1, 20326 },
		{ "a key for another zone only", "example.org. IN DS 12345 13 "
		  "2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237"
		  "C7F8EC8D\n", HEALTH_FAIL, "no key for the root", 1, 1, 0,
		  "", 0, 12345 },
	};
	struct fakeup *u = fu_start(example, NULL, 0);
	size_t i;

	for (i = 0; i < N(cases); i++)
		anchor_case(u, &cases[i]);
	fu_stop(u);
}

Test(health, good_trust_anchor)
{
	struct fakeup *u = fu_start(example, NULL, 0);
	struct anchor_case good = { "the fake root's DS", "", HEALTH_OK,
	    "validates with it", 1, 1, 0, "", 0, 0, 1 };
	FILE *fp = fopen(fu_anchor(u), "r");
	char text[1024];
	size_t n;

	cr_assert_not_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	good.text = text;
	anchor_case(u, &good);
	fu_stop(u);
}

Test(health, resolv_conf_upstream)
{
	struct fakeup *u = fu_start(example, NULL, 0);
	struct dane_resolver_config rc = config(u, NULL);
	struct health_options o = options();
	struct health_report r;
	char *conf = temp_file("# nothing\noptions edns0\n");

	rc.upstream = NULL;
	rc.resolv_conf = conf;
	rc.timeout_ms = 1000;
	o.budget_ms = 3000;
	cr_assert_eq(health_check_opt(&rc, &o, &r), DANE_OK);
	dump(&r);
	cr_expect_eq(r.upstream_mode, HEALTH_UPSTREAM_RESOLV_CONF);
	expect_step(&r, "upstream", conf, HEALTH_WARN, "names no nameserver");
	health_report_free(&r);
	unlink(conf);
	rc.resolv_conf = "/nonexistent/health_test-resolv.conf";
	cr_assert_eq(health_check_opt(&rc, &o, &r), DANE_OK);
	dump(&r);
	expect_step(&r, "upstream", rc.resolv_conf, HEALTH_FAIL,
	    "cannot read /nonexistent/health_test-resolv.conf");
	cr_expect_eq(r.status, HEALTH_FAIL);
	health_report_free(&r);
	free(conf);
	fu_stop(u);
}

/* ---- health_answers() ---------------------------------------------------- */

static void
quiet(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	(void)line;
}

Test(health, answers_of_a_gathering)
{
	static const struct fu_fault faults[] = {
		{ "_25._tcp.mx.example.com", "TLSA", FU_AD_BADSIG },
		{ NULL, NULL, 0 }
	};
	struct fakeup *u = fu_start(example, faults, 0);
	struct dane_resolver_config rc = config(u, NULL);
	struct dane_facts *f = NULL;
	struct dane_ctx *c = NULL;
	struct health_answers a;

	rc.log_fn = quiet;
	cr_assert_eq(dane_ctx_new(&rc, &c), DANE_OK);
	cr_assert_eq(dane_gather(c, "example.com", "mx.example.com", 25, &f),
	    DANE_OK);
	cr_assert_eq(health_answers(f, &a), DANE_OK);
	cr_assert_eq(a.count, 3, "answers: got %zu, want MX, A/AAAA, TLSA",
	    a.count);
	cr_expect_str_eq(a.items[0].what, "MX");
	cr_expect_str_eq(a.items[0].name, "example.com");
	cr_expect_eq(a.items[0].answer, DANE_ANSWER_FOUND);
	cr_expect_eq(a.items[0].dnssec, DANE_DNSSEC_SECURE);
	cr_expect_null(a.items[0].why);
	cr_expect_str_eq(a.items[1].what, "A/AAAA");
	cr_expect_str_eq(a.items[1].name, "mx.example.com");
	cr_expect_eq(a.items[1].dnssec, DANE_DNSSEC_SECURE);
	cr_expect_str_eq(a.items[2].what, "TLSA");
	cr_expect_str_eq(a.items[2].name, "_25._tcp.mx.example.com");
	cr_expect_eq(a.items[2].answer, DANE_ANSWER_FAILED);
	cr_expect_eq(a.items[2].dnssec, DANE_DNSSEC_BOGUS);
	cr_expect_eq(a.items[2].bogus, 1);
	cr_assert_not_null(a.items[2].why);
	cr_expect_not_null(strstr(a.items[2].why, "validation failure"),
	    "TLSA why: got \"%s\", want libunbound's why_bogus",
	    a.items[2].why);
	cr_expect_eq(a.dnssec_unavailable, 0);
	health_answers_free(&a);
	cr_expect_eq(a.count, 0);
	dane_facts_free(f);
	dane_ctx_free(c);
	fu_stop(u);

	/* DNSSEC unavailable: nothing looked up, the probe's reason */
	u = fu_start(example, NULL, FU_STRIP_ALL);
	rc = config(u, NULL);
	rc.log_fn = quiet;
	cr_assert_eq(dane_ctx_new(&rc, &c), DANE_OK);
	cr_assert_eq(dane_gather(c, "example.com", "mx.example.com", 25, &f),
	    DANE_OK);
	cr_assert_eq(health_answers(f, &a), DANE_OK);
	cr_expect_eq(a.count, 0, "answers: got %zu, want none", a.count);
	cr_expect_eq(a.dnssec_unavailable, 1);
	cr_expect_not_null(a.unavailable_why);
	cr_expect_not_null(strstr(a.unavailable_why, "no signatures"),
	    "why: got \"%s\", want \"no signatures\" in it",
	    a.unavailable_why);
	health_answers_free(&a);
	dane_facts_free(f);
	dane_ctx_free(c);
	fu_stop(u);
}

Test(health, answers_without_io)
{
	struct dane_facts *f = calloc(1, sizeof(*f));
	struct health_answers a;

	cr_assert_not_null(f);
	strcpy(f->nexthop, "example.net");
	strcpy(f->host, "mx.example.net");
	f->port = 25;
	f->mx.answer = DANE_ANSWER_FOUND;
	f->mx.dnssec = DANE_DNSSEC_INSECURE;
	f->addr.answer = f->tlsa.answer = f->host_cname.answer =
	    DANE_ANSWER_NOT_QUERIED;
	cr_assert_eq(health_answers(f, &a), DANE_OK);
	cr_expect_eq(a.count, 1, "answers: got %zu, want the MX only",
	    a.count);
	cr_expect_eq(a.items[0].dnssec, DANE_DNSSEC_INSECURE);
	health_answers_free(&a);

	f->mx.dnssec = DANE_DNSSEC_SECURE;
	f->addr.answer = DANE_ANSWER_FAILED;
	f->addr.dnssec = DANE_DNSSEC_BOGUS;
	strcpy(f->fail_query, "mx.example.net/AAAA");
	strcpy(f->fail_why, "SERVFAIL");
	cr_assert_eq(health_answers(f, &a), DANE_OK);
	cr_assert_eq(a.count, 2);
	cr_expect_str_eq(a.items[1].why, "SERVFAIL");
	cr_expect_eq(a.items[1].bogus, 0);
	health_answers_free(&a);
	cr_expect_eq(health_answers(NULL, &a), DANE_ERR_INVAL);
	free(f);
}

/* ---- health_tlsa_consistency() ------------------------------------------- */

#define OWNER "_25._tcp.mx.example.com"
#define DELEGATION "@ NS ns1|@ NS ns2|ns1 A 127.0.0.2|ns2 A 127.0.0.3"
#define SOA(serial) "@ SOA ns1 hostmaster " serial " 3600 600 86400 300"

struct world {
	struct fakeup *up, *ns1, *ns2;
	struct dane_resolver_config rc;
	struct health_options o;
};

/* The upstream's zone lists the servers; each server has its own. */
static void
world_start3(struct world *w, const char *extra_ns, const char *ns1_rrs,
    const char *ns2_rrs, int ns2_signed, const struct fu_fault *ns2_faults,
    const struct fu_fault *up_faults)
{
	char up_rrs[512];
	struct fu_zone up[] = {
		{ "example.com", SIGNED, up_rrs }, { NULL, 0, NULL }
	};
	struct fu_zone z1[] = {
		{ "example.com", SIGNED, ns1_rrs }, { NULL, 0, NULL }
	};
	struct fu_zone z2[] = {
		{ "example.com", ns2_signed, ns2_rrs }, { NULL, 0, NULL }
	};

	snprintf(up_rrs, sizeof(up_rrs), "%s|%s%s|" TLSA(OWNER ".",
	    TLSA_HEX), DELEGATION, extra_ns != NULL ? "|" : "",
	    extra_ns != NULL ? extra_ns : "");
	w->up = fu_start(up, up_faults, 0);
	w->ns1 = fu_start_at(z1, NULL, 0, "127.0.0.2", 0, w->up);
	w->ns2 = fu_start_at(z2, ns2_faults, 0, "127.0.0.3", fu_port(w->ns1),
	    w->up);
	w->rc = config(w->up, NULL);
	w->o = options();
	w->o.port = (uint16_t)fu_port(w->ns1);
}

static void
world_start2(struct world *w, const char *extra_ns, const char *ns1_rrs,
    const char *ns2_rrs, int ns2_signed, const struct fu_fault *ns2_faults)
{
	world_start3(w, extra_ns, ns1_rrs, ns2_rrs, ns2_signed, ns2_faults,
	    NULL);
}

static void
world_start(struct world *w, const char *extra_ns, const char *ns1_rrs,
    const char *ns2_rrs)
{
	world_start2(w, extra_ns, ns1_rrs, ns2_rrs, SIGNED, NULL);
}

static void
world_stop(struct world *w)
{
	fu_stop(w->ns1);
	fu_stop(w->ns2);
	fu_stop(w->up);		/* last: its keys are theirs too */
}

static void
dump_consistency(const struct consistency_report *r)
{
	size_t i;

	cr_log_info("%s: %s: %s", r->owner, health_status_name(r->status),
	    r->summary);
	for (i = 0; i < r->server_count; i++)
		cr_log_info("  %s %s: state %d, %zu rrs, %zu rrsigs, variant "
		    "%zu, serial %u, why %s", r->servers[i].name,
		    r->servers[i].address != NULL ? r->servers[i].address :
		    "-", (int)r->servers[i].state, r->servers[i].rr_count,
		    r->servers[i].rrsig_count, r->servers[i].variant,
		    (unsigned)r->servers[i].serial, r->servers[i].why != NULL ?
		    r->servers[i].why : "-");
}

#define ZONE_AT(rrs) DELEGATION "|" rrs

Test(health, consistency_same_rrset_everywhere)
{
	struct world w;
	struct consistency_report r;
	size_t i;

	world_start(&w, NULL, ZONE_AT(SOA("7") "|" TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(SOA("7") "|" TLSA(OWNER ".", TLSA_HEX)));
	cr_assert_eq(health_tlsa_consistency_opt(OWNER ".", &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_OK, "status: got %s (%s), want ok",
	    health_status_name(r.status), r.summary);
	cr_expect_str_eq(r.owner, OWNER);
	cr_assert_not_null(r.zone);
	cr_expect_str_eq(r.zone, "example.com");
	cr_expect_eq(r.ns_dnssec, DANE_DNSSEC_SECURE);
	cr_assert_eq(r.ns_count, 2);
	cr_expect_str_eq(r.ns_names[0], "ns1.example.com");
	cr_expect_str_eq(r.ns_names[1], "ns2.example.com");
	cr_expect_eq(r.dnssec, DANE_DNSSEC_SECURE);
	cr_expect_eq(r.rr_count, 1);
	cr_expect_eq(r.consistent, 1);
	cr_expect_eq(r.variants, 1);
	cr_expect_eq(r.matches_validated, 1);
	cr_expect_eq(r.omitted_count, 0);
	cr_assert_eq(r.server_count, 2);
	for (i = 0; i < 2; i++) {
		cr_expect_eq(r.servers[i].state, HEALTH_SERVER_ANSWERED,
		    "server %zu: state got %d", i, (int)r.servers[i].state);
		cr_expect_eq(r.servers[i].rr_count, 1);
		cr_expect_gt(r.servers[i].rrsig_count, 0);
		cr_expect_eq(r.servers[i].rrsig_expired, 0);
		cr_expect_eq(r.servers[i].rrsig_verified, 1, "server %zu: "
		    "rrsig_verified got %d (%s), want 1", i,
		    r.servers[i].rrsig_verified, r.servers[i].rrsig_why);
		cr_expect_eq(r.servers[i].has_serial, 1);
		cr_expect_eq(r.servers[i].serial, 7);
		cr_expect_eq(r.servers[i].differs, 0);
	}
	cr_expect_str_eq(r.servers[0].address, "127.0.0.2");
	cr_expect_str_eq(r.servers[1].address, "127.0.0.3");
	cr_expect_str_eq(r.rrs[0].text, "3 1 1 " TLSA_HEX);
	cr_expect_not_null(strstr(r.summary, "2 of 2 servers of example.com "
	    "answered, all with the same TLSA RRset (3 1 1 " TLSA_HEX "), as "
	    "validated"), "summary: got \"%s\"", r.summary);
	consistency_report_free(&r);

	/* at most one server: the other is listed, not asked */
	w.o.max_servers = 1;
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.server_count, 1);
	cr_assert_eq(r.omitted_count, 1);
	cr_expect_str_eq(r.omitted[0], "ns2.example.com 127.0.0.3");
	cr_expect_eq(r.status, HEALTH_WARN);
	cr_expect_not_null(strstr(r.summary, "1 more address not asked"),
	    "summary: got \"%s\"", r.summary);
	consistency_report_free(&r);
	world_stop(&w);
}

Test(health, consistency_names_the_server_that_differs)
{
	struct world w;
	struct consistency_report r;

	world_start(&w, NULL, ZONE_AT(SOA("7") "|" TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(SOA("6") "|" TLSA(OWNER ".", OTHER_HEX)));
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_FAIL, "status: got %s (%s), want fail",
	    health_status_name(r.status), r.summary);
	cr_expect_eq(r.consistent, 0);
	cr_expect_eq(r.variants, 2);
	cr_expect_eq(r.matches_validated, 1);
	cr_assert_eq(r.server_count, 2);
	cr_expect_eq(r.servers[0].differs, 0);
	cr_expect_eq(r.servers[1].differs, 1);
	cr_expect_eq(r.servers[1].variant, 1);
	cr_expect_str_eq(r.servers[1].rrs[0].text, "3 1 1 " OTHER_HEX);
	cr_expect_not_null(strstr(r.summary, "ns2.example.com (127.0.0.3) "
	    "differs"), "summary: got \"%s\"", r.summary);
	cr_expect_not_null(strstr(r.summary, "the validated RRset"),
	    "summary: got \"%s\"", r.summary);
	cr_expect_not_null(strstr(r.summary, "serials differ"),
	    "summary: got \"%s\"", r.summary);
	cr_expect_eq(r.servers[1].serial, 6);
	consistency_report_free(&r);
	world_stop(&w);
}

Test(health, consistency_reports_a_server_that_does_not_answer)
{
	struct world w;
	struct consistency_report r;

	/* ns3 at 127.0.0.4, where nothing listens; ns4 has no address */
	world_start(&w, "@ NS ns3|ns3 A 127.0.0.4|@ NS ns4",
	    ZONE_AT(TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(TLSA(OWNER ".", TLSA_HEX)));
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_WARN, "status: got %s (%s), want warn",
	    health_status_name(r.status), r.summary);
	cr_expect_eq(r.consistent, 1);
	cr_assert_eq(r.server_count, 4);
	cr_expect_str_eq(r.servers[2].name, "ns3.example.com");
	cr_expect_eq(r.servers[2].state, HEALTH_SERVER_FAILED);
	cr_expect_not_null(strstr(r.servers[2].why, "no reply within 1000 "
	    "ms"), "ns3 why: got \"%s\"", r.servers[2].why);
	cr_expect_str_eq(r.servers[3].name, "ns4.example.com");
	cr_expect_null(r.servers[3].address);
	cr_expect_not_null(strstr(r.servers[3].why, "no address"),
	    "ns4 why: got \"%s\"", r.servers[3].why);
	cr_expect_not_null(strstr(r.summary, "ns3.example.com (127.0.0.4) "
	    "failed: no reply"), "summary: got \"%s\"", r.summary);
	consistency_report_free(&r);
	world_stop(&w);
}

Test(health, consistency_bad_arguments)
{
	struct consistency_report r;

	cr_expect_eq(health_tlsa_consistency("", NULL, &r), DANE_ERR_INVAL);
	cr_expect_eq(health_tlsa_consistency("a..b", NULL, &r),
	    DANE_ERR_INVAL);
	cr_expect_eq(health_tlsa_consistency(OWNER, NULL, NULL),
	    DANE_ERR_INVAL);
	cr_expect_eq(health_check(NULL, NULL), DANE_ERR_INVAL);
}

Test(health, consistency_over_tcp_and_without_signatures)
{
	static const struct fu_fault tc[] = {
		{ OWNER, "TLSA", FU_TC }, { NULL, NULL, 0 }
	};
	struct world w;
	struct consistency_report r;

	/* ns2's UDP reply is truncated: the TCP answer counts */
	world_start2(&w, NULL, ZONE_AT(TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(TLSA(OWNER ".", TLSA_HEX)), SIGNED, tc);
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_OK, "status: got %s (%s), want ok",
	    health_status_name(r.status), r.summary);
	cr_assert_eq(r.server_count, 2);
	cr_expect_eq(r.servers[0].tcp, 0);
	cr_expect_eq(r.servers[1].tcp, 1, "ns2: got no TCP, want TCP after "
	    "the truncated reply");
	cr_expect_eq(r.servers[1].state, HEALTH_SERVER_ANSWERED);
	consistency_report_free(&r);
	world_stop(&w);

	/* ns2 serves the zone unsigned: same records, no RRSIG */
	world_start2(&w, NULL, ZONE_AT(TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(TLSA(OWNER ".", TLSA_HEX)), 0, NULL);
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_FAIL, "status: got %s (%s), want fail",
	    health_status_name(r.status), r.summary);
	cr_expect_eq(r.consistent, 1);
	cr_expect_eq(r.servers[1].rrsig_count, 0);
	cr_expect_not_null(strstr(r.summary, "ns2.example.com (127.0.0.3) "
	    "serves the RRset without RRSIG records"), "summary: got \"%s\"",
	    r.summary);
	consistency_report_free(&r);
	world_stop(&w);
}

Test(health, consistency_names_a_server_with_bad_signatures)
{
	static const struct fu_fault bad[] = {
		{ OWNER, "TLSA", FU_AD_BADSIG }, { NULL, NULL, 0 }
	};
	struct world w;
	struct consistency_report r;

	world_start2(&w, NULL, ZONE_AT(TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(TLSA(OWNER ".", TLSA_HEX)), SIGNED, bad);
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_FAIL, "status: got %s (%s), want fail",
	    health_status_name(r.status), r.summary);
	cr_expect_eq(r.consistent, 1);
	cr_assert_eq(r.server_count, 2);
	cr_expect_eq(r.servers[0].rrsig_verified, 1);
	cr_expect_eq(r.servers[1].rrsig_verified, 0);
	cr_expect_not_null(r.servers[1].rrsig_why);
	cr_expect_not_null(strstr(r.summary, "ns2.example.com (127.0.0.3) "
	    "serves RRSIGs that do not verify"), "summary: got \"%s\"",
	    r.summary);
	consistency_report_free(&r);
	world_stop(&w);
}

/* The NS RRset does not validate: the servers as the upstream says */
Test(health, consistency_of_a_zone_whose_ns_rrset_is_bogus)
{
	static const struct fu_fault bad_ns[] = {
		{ "example.com", "NS", FU_AD_BADSIG }, { NULL, NULL, 0 }
	};
	struct world w;
	struct consistency_report r;

	world_start3(&w, NULL, ZONE_AT(TLSA(OWNER ".", TLSA_HEX)),
	    ZONE_AT(TLSA(OWNER ".", TLSA_HEX)), SIGNED, NULL, bad_ns);
	cr_assert_eq(health_tlsa_consistency_opt(OWNER, &w.rc, &w.o, &r),
	    DANE_OK);
	dump_consistency(&r);
	cr_expect_eq(r.status, HEALTH_FAIL, "status: got %s (%s), want fail",
	    health_status_name(r.status), r.summary);
	cr_assert_not_null(r.zone);
	cr_expect_str_eq(r.zone, "example.com");
	cr_expect_eq(r.ns_dnssec, DANE_DNSSEC_BOGUS);
	cr_assert_not_null(r.ns_why);
	cr_expect_not_null(strstr(r.ns_why, "NS lookup of example.com: "
	    "validation failure"), "ns_why: got \"%s\"", r.ns_why);
	cr_expect_eq(r.server_count, 2);
	cr_expect_eq(r.consistent, 1);
	consistency_report_free(&r);
	world_stop(&w);
}
