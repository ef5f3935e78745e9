/*
 * Unit tests of glue.c: the answers of the verdict channel, with the
 * real delivery, connection and seen parts, and DNS work through the
 * gather seam (modtest.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "modtest.h"
#include "testcert.h"

#define MX "mx.example"
#define ADDR "192.0.2.25"

static struct smdane_config cfg;
static SSL_CTX *ctx;
static EVP_PKEY *key;
static X509 *cert;
static char fp[200];			/* ${cert_fp} of cert */

static void
setup(void)
{
	smdane_config_init(&cfg);
	cfg.present = 1;
	cfg.version = 2;
	dlv_setup(&cfg);
	glue_setup(&cfg);
	dlv_set_gather(mt_gather);
	seen_set_clock(mt_clock);
	seen_forget();
	mt_ndests = mt_ncalls = mt_nlog = 0;
	ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(ctx);
	key = tc_key();
	cert = tc_cert(key, NULL, NULL, MX, MX, 0, 25);
	mt_cert_hex(cert, EVP_sha256(), 1, fp, sizeof(fp));
}

static void
teardown(void)
{
	X509_free(cert);
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
}

TestSuite(glue, .init = setup, .fini = teardown);

static char answer[256];

/* The answer to the query the cf rules would make. */
static const char *
ask(const char *phase, const char *verify, const char *nexthop,
    const char *rcpt, const char *certfp)
{
	char name[1024];

	mt_query(name, sizeof(name), phase, verify, MX, ADDR, nexthop, rcpt,
	    certfp);
	memset(answer, 'x', sizeof(answer));
	glue_verdict(name, answer, sizeof(answer));
	return answer;
}

static const char *
ask_name(const char *name)
{
	memset(answer, 'x', sizeof(answer));
	glue_verdict(name, answer, sizeof(answer));
	return answer;
}

#define MALFORMED "_p.tls_server._v.OK" SMDANE_SUFFIX "."
#define NO_NEXTHOP "_p.tls_server._v.OK._s.mx.example._a.none._h.._r.none" \
	"._c.none" SMDANE_SUFFIX "."

/*
 * What dlv_connect() records for an authenticated handshake with MX for
 * nexthop under the pair's policy (try_tls gathered it).
 */
static SSL *
authenticated(const char *nexthop, int usage, const char *peername)
{
	struct dlv_policy *ps = dlv_policy(MX, nexthop);
	struct smdane_conn c;
	SSL *ssl = SSL_new(ctx);

	cr_assert_not_null(ps->policy, "no policy for %s", nexthop);
	cr_assert_not_null(ssl);
	memset(&c, 0, sizeof(c));
	c.tls = 1;
	c.level = DANE_LEVEL_AUTH;
	c.auth.authenticated = 1;
	c.auth.depth = usage == DANE_USAGE_DANE_TA ? 1 : 0;
	c.auth.matched.usage = (uint8_t)usage;
	c.auth.matched.selector = DANE_SELECTOR_SPKI;
	c.auth.matched.mtype = DANE_MTYPE_SHA2_256;
	snprintf(c.auth.detail, sizeof(c.auth.detail), "%d 1 1 5a5a5a5a "
	    "at depth %d", usage, c.auth.depth);
	c.checked_against = smdane_policy_digest(ps->policy, 25);
	snprintf(c.nexthop, sizeof(c.nexthop), "%s", nexthop);
	snprintf(c.peername, sizeof(c.peername), "%s",
	    peername != NULL ? peername : "");
	cr_assert_eq(conns_record(ssl, cert, MX, &c, 1), 0);
	return ssl;
}

/* ---- the mode ------------------------------------------------------------ */

Test(glue, fatal_refuses_everything)
{
	static const char want[] = "FAIL \"DANE configuration error: "
	    "SMTP_MAILER_ARGS was set after the dane feature\"";
	static const enum smdane_mode modes[] = { SMDANE_MODE_NONE,
		SMDANE_MODE_DANE, SMDANE_MODE_ONLY, SMDANE_MODE_UNKNOWN };
	size_t i;

	cr_assert_eq(smdane_config_parse_line(&cfg, "D{smdane_fatal}"
	    "SMTP_MAILER_ARGS was set after the dane feature\n"), 1);
	cr_assert(cfg.fatal);
	mt_dest("example.com", "", MT_OPP, 3);
	cr_assert_str_eq(ask("tls_server", "OK", "example.com", NULL, fp),
	    want, "before any delivery: got %s", answer);
	for (i = 0; i < MT_N(modes); i++) {
		if (modes[i] != SMDANE_MODE_UNKNOWN)
			dlv_begin(modes[i], 25);
		cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL,
		    NULL), want, "mode %d: got %s", modes[i], answer);
		cr_assert_str_eq(ask("tls_rcpt", "none", "example.com",
		    "example.com", NULL), want, "mode %d: got %s", modes[i],
		    answer);
		cr_assert_str_eq(ask_name(MALFORMED), want, "mode %d, "
		    "malformed: got %s", modes[i], answer);
	}
	cr_assert_eq(mt_ncalls, 0, "a refused delivery looked DNS up");
	/* one line per refused connection: at tls_server, parsed or not */
	cr_assert_eq(mt_nlog, 1 + MT_N(modes), "got %zu log lines",
	    mt_nlog);
	cr_assert_eq(mt_logged("dane=error, nexthop=example.com, verdict=" ),
	    1, "got %s", mt_log[0]);
}

Test(glue, unknown_mode_with_current_cf_keeps_stock_behaviour)
{
	mt_dest("example.com", "", MT_AUTH, 3);
	mt_dest("other.example", "", MT_AUTH, 3);
	/* no delivery told its mode yet */
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert_str_eq(ask_name(MALFORMED), "OK");
	/* a delivery of another next hop with no mode of its own */
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert_str_eq(ask("tls_server", "none", "other.example", NULL,
	    NULL), "OK");
	cr_assert_eq(mt_calls_for("other.example", MX), 0);
	/* ... while the delivery's own next hop keeps its mode */
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL, NULL),
	    "FAIL \"DANE: no STARTTLS with mx.example, its TLSA records "
	    "require TLS\"");
}

Test(glue, unknown_mode_with_earlier_cf_is_refused)
{
	static const char want[] = "FAIL \"DANE configuration error: the "
	    "delivery named no DANE mode, rebuild sendmail.cf with the "
	    "current FEATURE dane\"";

	cfg.version = 1;
	mt_dest("example.com", "", MT_OPP, 3);
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL, NULL),
	    want, "before any delivery: got %s", answer);
	cr_assert_str_eq(ask_name(MALFORMED), "FAIL \"DANE: malformed "
	    "verdict query\"");
	dlv_begin(SMDANE_MODE_NONE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert_str_eq(ask("try_tls", "none", "other.example", NULL, NULL),
	    want, "another next hop: got %s", answer);
	dlv_port_mismatch();
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL, NULL),
	    want, "another port: got %s", answer);
}

Test(glue, no_dane_mailer_is_never_refused)
{
	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_NONE, 25);
	cr_assert_str_eq(ask_name(MALFORMED), "OK");
	cr_assert_str_eq(ask_name(NO_NEXTHOP), "OK");
	cr_assert_str_eq(ask_name("garbage" SMDANE_SUFFIX), "OK");
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert_str_eq(ask("tls_rcpt", "none", "example.com", "example.com",
	    NULL), "OK");
	cr_assert_eq(mt_ncalls, 0, "a delivery without DANE looked DNS up");
	cr_assert_eq(mt_nlog, 0);
}

Test(glue, dane_mailer_refuses_malformed_query)
{
	static const char want[] = "FAIL \"DANE: malformed verdict query\"";

	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask_name(MALFORMED), want);
	cr_assert_str_eq(ask_name(NO_NEXTHOP), want);
	cr_assert_str_eq(ask_name("garbage" SMDANE_SUFFIX), want);
	dlv_begin(SMDANE_MODE_ONLY, 25);
	cr_assert_str_eq(ask_name(MALFORMED), want);
}

Test(glue, unserved_mailer_is_refused)
{
	static const char want[] = "FAIL \"DANE configuration error: mailer "
	    "arguments FEATURE dane cannot serve, see the m4 errors of "
	    "sendmail.cf\"";

	mt_dest("example.com", "", MT_OPP, 3);
	dlv_begin(SMDANE_MODE_UNSERVED, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    want);
	cr_assert_str_eq(ask("tls_server", "OK", "example.com", NULL, fp),
	    want);
	cr_assert_eq(mt_ncalls, 0);
}

Test(glue, bad_setting_defers_dane_deliveries)
{
	mt_dest("example.com", "", MT_OPP, 3);
	smdane_config_parse_line(&cfg, "D{smdane_usage01}pkix\n");
	cr_assert(cfg.error);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "FAIL \"DANE configuration error: bad value for smdane_usage01: "
	    "pkix\"");
	dlv_begin(SMDANE_MODE_NONE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
}

/* ---- DANE deliveries ----------------------------------------------------- */

Test(glue, authenticated_connection)
{
	const char *server, *nexthop;
	SSL *ssl;

	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert(dlv_pending_get(&server, &nexthop), "try_tls set up no "
	    "connection");
	cr_assert_str_eq(server, MX);
	cr_assert_str_eq(nexthop, "example.com");
	ssl = authenticated("example.com", DANE_USAGE_DANE_EE, NULL);
	cr_assert_str_eq(ask("tls_server", "OK", "example.com", NULL, fp),
	    "OK");
	cr_assert_str_eq(ask("tls_rcpt", "OK", "example.com", "example.com",
	    fp), "OK");
	cr_assert_str_eq(ask("tls_rcpt", "OK", "example.com", NULL, fp), "OK");
	cr_assert_eq(mt_calls_for("example.com", MX), 1);
	/* one line for the connection, at tls_server */
	cr_assert_eq(mt_nlog, 1, "got %zu log lines, want 1", mt_nlog);
	cr_assert_eq(mt_logged("STARTTLS=client, relay=mx.example, dane=dane, "
	    "nexthop=example.com, base=mx.example, mode=dane, reason=usable "
	    "TLSA records, tlsa=1 usable/0 unusable [3 1 1 5a5a5a5a5a5a5a5a"
	    "...], match=3 1 1 5a5a5a5a at depth 0, verdict=OK"), 1,
	    "got %s", mt_log[0]);
	SSL_free(ssl);
}

/* ${cert_md5} as sendmail gives it: upper case, colons. */
Test(glue, found_by_cert_md5)
{
	char md5[64], colons[128];
	size_t i, k = 0;
	SSL *ssl;

	mt_cert_hex(cert, EVP_md5(), 1, md5, sizeof(md5));
	for (i = 0; md5[i] != '\0'; i++) {
		if (i > 0 && i % 2 == 0)
			colons[k++] = ':';
		colons[k++] = md5[i];
	}
	colons[k] = '\0';
	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ssl = authenticated("example.com", DANE_USAGE_DANE_EE, NULL);
	cr_assert_str_eq(ask("tls_server", "OK", "example.com", NULL, colons),
	    "OK", "%s: got %s", colons, answer);
	SSL_free(ssl);
	/* gone with its SSL object */
	cr_assert_str_eq(ask("tls_rcpt", "OK", "example.com", NULL, colons),
	    "FAIL \"DANE: connection to mx.example was opened without DANE "
	    "authentication, not used for example.com\"");
}

Test(glue, no_starttls)
{
	SSL *ssl;

	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ssl = authenticated("example.com", DANE_USAGE_DANE_EE, NULL);
	cr_assert_str_eq(ask("tls_server", "NONE", "example.com", NULL, fp),
	    "FAIL \"DANE: no STARTTLS with mx.example, its TLSA records "
	    "require TLS\"");
	cr_assert_str_eq(ask("tls_server", "SOFTWARE", "example.com", NULL,
	    NULL), "FAIL \"DANE: TLS with mx.example failed, verify=software, "
	    "its TLSA records require TLS\"");
	SSL_free(ssl);
}

Test(glue, session_nothing_is_known_of)
{
	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("tls_server", "OK", "example.com", NULL, fp),
	    "FAIL \"DANE: connection to mx.example was opened without DANE "
	    "authentication, not used for example.com\"");
}

Test(glue, dns_failure_defers)
{
	mt_dest_error("example.com", DANE_ERR_RESOLVER);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "FAIL \"DANE: DNS lookups impossible: resolver unusable\"");
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL, NULL),
	    "FAIL \"DANE: DNS lookups impossible: resolver unusable\"");
	cr_assert_eq(mt_calls_for("example.com", MX), 1);
	/* the refusal's one log line, at tls_server */
	cr_assert_eq(mt_nlog, 1, "got %zu log lines", mt_nlog);
	cr_assert_eq(mt_logged("STARTTLS=client, relay=mx.example, dane=error, "
	    "nexthop=example.com, verdict=FAIL \"DANE: DNS lookups impossible: "
	    "resolver unusable\""), 1, "got %s", mt_log[0]);
}

Test(glue, opportunistic_and_skipped_destinations)
{
	mt_dest("opp.example", "", MT_OPP, 3);
	mt_dest("skip.example", "", MT_SKIP, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("tls_server", "none", "opp.example", NULL, NULL),
	    "OK");
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "skip.example", NULL, NULL),
	    "FAIL \"DANE: TLSA lookup failed for mx.example\"");
	dlv_begin(SMDANE_MODE_ONLY, 25);
	cr_assert_str_eq(ask("tls_server", "OK", "opp.example", NULL, fp),
	    "FAIL \"DANE required but MX RRset not DNSSEC signed for "
	    "mx.example\"");
}

/* Another recipient domain of the transaction: its own policy holds. */
Test(glue, other_recipient_domain)
{
	SSL *ssl;

	mt_dest("example.com", "", MT_AUTH, 3);
	mt_dest("same.example", "", MT_AUTH, 3);
	mt_dest("failed.example", "", MT_DEFER, 3);
	mt_dest("routed.example", "", MT_NOT_MX, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	ssl = authenticated("example.com", DANE_USAGE_DANE_EE, NULL);
	cr_assert_str_eq(ask("tls_rcpt", "OK", "example.com", "same.example",
	    fp), "OK");
	cr_assert_str_eq(ask("tls_rcpt", "OK", "example.com",
	    "failed.example", fp), "FAIL \"DANE: MX lookup failed for "
	    "mx.example\"");
	/* not one of its MX hosts: routed there, the first policy holds */
	cr_assert_str_eq(ask("tls_rcpt", "OK", "example.com",
	    "routed.example", fp), "OK");
	cr_assert_eq(mt_calls_for("failed.example", MX), 1);
	SSL_free(ssl);
}

/* ---- names canonified to the next hop ------------------------------------ */

/* alias.example CNAME t.example, both secure; self: addresses at
 * t.example too. */
static void
canonified(int self)
{
	if (self)
		mt_self_reply("t.example");
	mt_alias_reply("alias.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, DANE_USAGE_DANE_TA);
	mt_dest("alias.example", "t.example", MT_AUTH, DANE_USAGE_DANE_TA);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "t.example", NULL, NULL),
	    "OK");
	cr_assert_eq(dlv_policy(MX, "t.example")->identities, self ? 2 : 1);
}

#define SEVERAL "FAIL \"DANE: certificate of mx.example names only " \
	"alias.example, one of several names that lead to t.example\""

Test(glue, alias_match_of_the_one_identity)
{
	SSL *ssl;

	canonified(0);
	ssl = authenticated("t.example", DANE_USAGE_DANE_TA, "alias.example");
	cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL, fp), "OK");
	cr_assert_str_eq(ask("tls_rcpt", "OK", "t.example", "t.example", fp),
	    "OK");
	cr_assert_eq(mt_logged("nexthop=alias.example, canonical=t.example, "
	    "base=mx.example"), 1, "got %s", mt_log[0]);
	SSL_free(ssl);
}

Test(glue, alias_match_of_one_of_several_identities)
{
	SSL *ssl;

	canonified(1);
	ssl = authenticated("t.example", DANE_USAGE_DANE_TA, "alias.example");
	cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL, fp),
	    SEVERAL);
	cr_assert_str_eq(ask("tls_rcpt", "OK", "t.example", "t.example", fp),
	    SEVERAL);
	cr_assert_eq(mt_logged("verdict=" SEVERAL), 2, "got %zu lines",
	    mt_logged("verdict=" SEVERAL));
	SSL_free(ssl);
}

Test(glue, alias_match_with_upper_case_peername)
{
	SSL *ssl;

	canonified(1);
	ssl = authenticated("t.example", DANE_USAGE_DANE_TA, "Alias.Example");
	cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL, fp),
	    "FAIL \"DANE: certificate of mx.example names only Alias.Example, "
	    "one of several names that lead to t.example\"");
	SSL_free(ssl);
}

Test(glue, own_name_match_holds_for_all)
{
	static const char *const own[] = { "t.example", MX };
	size_t i;

	for (i = 0; i < MT_N(own); i++) {
		SSL *ssl;

		seen_forget();
		mt_ndests = 0;
		canonified(1);
		ssl = authenticated("t.example", DANE_USAGE_DANE_TA, own[i]);
		cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL,
		    fp), "OK", "peer name %s: got %s", own[i], answer);
		SSL_free(ssl);
	}
}

Test(glue, dane_ee_match_holds_for_all)
{
	SSL *ssl;

	canonified(1);
	ssl = authenticated("t.example", DANE_USAGE_DANE_EE, "alias.example");
	cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL, fp), "OK");
	SSL_free(ssl);
}

/* An alias whose own lookup is insecure is no identity: the next hop's
 * own addresses are its one, and a match of the alias is none. */
Test(glue, insecure_alias_adds_nothing)
{
	SSL *ssl;

	mt_self_reply("t.example");
	mt_alias_reply("opp.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, DANE_USAGE_DANE_TA);
	mt_dest("opp.example", "t.example", MT_OPP, DANE_USAGE_DANE_TA);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "t.example", NULL, NULL),
	    "OK");
	cr_assert_eq(dlv_policy(MX, "t.example")->identities, 1);
	ssl = authenticated("t.example", DANE_USAGE_DANE_TA, "t.example");
	cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL, fp), "OK");
	SSL_free(ssl);
}

/* The log names the alias the certificate matched. */
Test(glue, log_names_the_matched_alias)
{
	struct dlv_policy *ps;
	const char *other;
	char want[256];
	SSL *ssl;

	mt_alias_reply("one.example", "t.example");
	mt_alias_reply("two.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, DANE_USAGE_DANE_TA);
	mt_dest("one.example", "t.example", MT_AUTH, DANE_USAGE_DANE_TA);
	mt_dest("two.example", "t.example", MT_AUTH, DANE_USAGE_DANE_TA);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_str_eq(ask("try_tls", "none", "t.example", NULL, NULL),
	    "OK");
	ps = dlv_policy(MX, "t.example");
	cr_assert_eq(ps->identities, 2);
	/* the one that is not the first name added */
	other = strcmp(ps->original, "one.example") == 0 ? "two.example" :
	    "one.example";
	ssl = authenticated("t.example", DANE_USAGE_DANE_TA, other);
	snprintf(want, sizeof(want), "FAIL \"DANE: certificate of mx.example "
	    "names only %s, one of several names that lead to t.example\"",
	    other);
	cr_assert_str_eq(ask("tls_server", "OK", "t.example", NULL, fp), want);
	snprintf(want, sizeof(want), "nexthop=%s, canonical=t.example, ",
	    other);
	cr_assert_eq(mt_logged(want), 1, "got %s", mt_log[0]);
	SSL_free(ssl);
}

/* One line per connection: at tls_server, or at try_tls when that
 * already refused; a destination's tls_rcpt refusals once. */
Test(glue, one_log_line_per_connection)
{
	int i;

	mt_dest("skip.example", "", MT_SKIP, 3);
	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	for (i = 1; i <= 3; i++) {
		cr_assert_str_eq(ask("try_tls", "none", "skip.example", NULL,
		    NULL), "FAIL \"DANE: TLSA lookup failed for mx.example\"");
		cr_assert_eq(mt_nlog, (size_t)i, "connection %d, try_tls: got "
		    "%zu lines", i, mt_nlog);
		ask("tls_server", "none", "skip.example", NULL, NULL);
		cr_assert_eq(mt_nlog, (size_t)i, "connection %d, tls_server: "
		    "got %zu lines", i, mt_nlog);
	}
	cr_assert_eq(mt_logged("dane=skip, nexthop=skip.example, "
	    "base=mx.example, mode=dane, reason=TLSA lookup failed"), 3);
	mt_nlog = 0;
	dlv_begin(SMDANE_MODE_DANE, 25);
	/* the first connection: tls_server, then the destination's first
	 * tls_rcpt refusal */
	ask("try_tls", "none", "example.com", NULL, NULL);
	cr_assert_eq(mt_nlog, 0, "try_tls that passed: got %zu lines",
	    mt_nlog);
	ask("tls_server", "none", "example.com", NULL, NULL);
	cr_assert_eq(mt_nlog, 1, "tls_server: got %zu lines", mt_nlog);
	ask("tls_rcpt", "none", "example.com", "example.com", NULL);
	ask("tls_rcpt", "none", "example.com", "example.com", NULL);
	cr_assert_eq(mt_nlog, 2, "tls_rcpt: got %zu lines", mt_nlog);
	/* the second: its tls_server only */
	ask("try_tls", "none", "example.com", NULL, NULL);
	ask("tls_server", "none", "example.com", NULL, NULL);
	ask("tls_rcpt", "none", "example.com", "example.com", NULL);
	cr_assert_eq(mt_nlog, 3, "second connection: got %zu lines", mt_nlog);
	cr_assert_eq(mt_logged("verdict=FAIL \"DANE: no STARTTLS with "
	    "mx.example, its TLSA records require TLS\""), 3);
}

/* ---- audit and opt-in ---------------------------------------------------- */

#include <db.h>
#include <stdlib.h>
#include <unistd.h>

static char access_path[64];

/* An access map as makemap hash writes it: lower-case keys, no NUL. */
static void
access_map(const char *const *kv)
{
	DB *db;
	int fd;

	snprintf(access_path, sizeof(access_path), "/tmp/smdane-acc-XXXXXX");
	fd = mkstemp(access_path);
	cr_assert(fd >= 0);
	close(fd);
	unlink(access_path);
	cr_assert_eq(db_create(&db, NULL, 0), 0);
	cr_assert_eq(db->open(db, NULL, access_path, NULL, DB_HASH, DB_CREATE,
	    0600), 0, "cannot create %s", access_path);
	for (; kv[0] != NULL; kv += 2) {
		DBT k, v;

		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = (void *)kv[0];
		k.size = (u_int32_t)strlen(kv[0]);
		v.data = (void *)kv[1];
		v.size = (u_int32_t)strlen(kv[1]);
		cr_assert_eq(db->put(db, NULL, &k, &v, 0), 0);
	}
	cr_assert_eq(db->close(db, 0), 0);
	snprintf(cfg.access_db, sizeof(cfg.access_db), "%s", access_path);
}

/*
 * An audited destination whose certificate matches no TLSA record: the
 * facts are gathered and the session checked as with "dane", the
 * would-be refusal is logged once (mode=audit), sendmail is told OK.
 */
Test(glue, audit_logs_the_refusal_and_lets_the_mail_go)
{
	SSL *ssl = SSL_new(ctx);
	struct smdane_conn c;
	const char *server, *nexthop;

	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_AUDIT, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert(dlv_pending_get(&server, &nexthop), "an audited connection "
	    "gets the policy applied");
	memset(&c, 0, sizeof(c));
	c.tls = 1;
	c.level = DANE_LEVEL_AUTH;
	snprintf(c.auth.detail, sizeof(c.auth.detail), "no matching DANE "
	    "TLSA records");
	c.checked_against = smdane_policy_digest(dlv_policy(MX,
	    "example.com")->policy, 25);
	cr_assert_eq(conns_record(ssl, cert, MX, &c, 1), 0);
	cr_assert_str_eq(ask("tls_server", "FAIL", "example.com", NULL, fp),
	    "OK");
	cr_assert_str_eq(ask("tls_rcpt", "FAIL", "example.com",
	    "example.com", fp), "OK");
	/* once, at tls_server: tls_rcpt would say the same again */
	cr_assert_eq(mt_nlog, 1, "got %zu lines", mt_nlog);
	cr_assert_eq(mt_logged("dane=dane, nexthop=example.com, "
	    "base=mx.example, mode=audit, reason=usable TLSA records"), 1,
	    "got %zu lines: %s", mt_nlog, mt_log[0]);
	cr_assert_eq(mt_logged("verdict=FAIL \"DANE: no TLSA record of "
	    "mx.example matched the certificate: no matching DANE TLSA "
	    "records\""), 1, "got %s", mt_log[0]);
	SSL_free(ssl);
}

/* Audit never refuses, not even where "dane" would skip the host or
 * defer for a DNS failure, and not without STARTTLS. */
Test(glue, audit_never_refuses)
{
	mt_dest("skip.example", "", MT_SKIP, 3);
	mt_dest_error("dnsfail.example", DANE_ERR_RESOLVER);
	mt_dest("example.com", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_AUDIT, 25);
	cr_assert_str_eq(ask("try_tls", "none", "skip.example", NULL, NULL),
	    "OK");
	cr_assert_eq(mt_nlog, 0, "try_tls logged in audit mode");
	cr_assert_str_eq(ask("tls_server", "FAIL", "skip.example", NULL, fp),
	    "OK");
	cr_assert_eq(mt_logged("mode=audit"), 1, "got %s", mt_log[0]);
	dlv_begin(SMDANE_MODE_AUDIT, 25);
	cr_assert_str_eq(ask("tls_server", "none", "dnsfail.example", NULL,
	    NULL), "OK");
	cr_assert_eq(mt_logged("dane=error, nexthop=dnsfail.example, "
	    "mode=audit, verdict=FAIL \"DANE: DNS lookups impossible"), 1,
	    "got %s", mt_log[mt_nlog - 1]);
	dlv_begin(SMDANE_MODE_AUDIT, 25);
	cr_assert_str_eq(ask("tls_server", "none", "example.com", NULL,
	    NULL), "OK");
	cr_assert_eq(mt_logged("verdict=FAIL \"DANE: no STARTTLS with "
	    "mx.example"), 1, "got %s", mt_log[mt_nlog - 1]);
}

/* A configuration error defers every DANE delivery, but an audit
 * mailer's only logs it. */
Test(glue, audit_mailer_with_bad_setting)
{
	mt_dest("example.com", "", MT_AUTH, 3);
	smdane_config_parse_line(&cfg, "D{smdane_usage01}pkix\n");
	dlv_begin(SMDANE_MODE_AUDIT, 25);
	cr_assert_str_eq(ask("tls_server", "OK", "example.com", NULL, fp),
	    "OK");
	cr_assert_eq(mt_logged("mode=audit, verdict=FAIL \"DANE configuration "
	    "error: bad value for smdane_usage01: pkix\""), 1, "got %s",
	    mt_log[0]);
}

/*
 * Opt-in: DANE only for destinations a DANE: entry names; for all others
 * no DNS, no policy applied, no log line, OK.
 */
Test(glue, optin_only_where_an_entry_says)
{
	static const char *const kv[] = {
		"dane:example.com", "dane",
		"dane:only.example", "dane-only",
		"dane:audited.example", "audit",
		"dane:bad.example", "secure",
		NULL, NULL,
	};
	const char *server, *nexthop;

	access_map(kv);
	mt_dest("example.com", "", MT_AUTH, 3);
	mt_dest("only.example", "", MT_OPP, 3);
	mt_dest("other.example", "", MT_SKIP, 3);
	mt_dest("audited.example", "", MT_SKIP, 3);
	dlv_begin(SMDANE_MODE_OPTIN, 25);
	/* no entry: stock */
	cr_assert_str_eq(ask("try_tls", "none", "other.example", NULL, NULL),
	    "OK");
	cr_assert(!dlv_pending_get(&server, &nexthop), "policy applied to a "
	    "destination without an entry");
	cr_assert_str_eq(ask("tls_server", "FAIL", "other.example", NULL, fp),
	    "OK");
	cr_assert_eq(mt_calls_for("other.example", MX), 0, "DNS looked up "
	    "for a destination without an entry");
	cr_assert_eq(mt_nlog, 0);
	/* DANE: example.com dane: enforced */
	dlv_begin(SMDANE_MODE_OPTIN, 25);
	cr_assert_str_eq(ask("try_tls", "none", "example.com", NULL, NULL),
	    "OK");
	cr_assert(dlv_pending_get(&server, &nexthop));
	cr_assert_str_eq(ask("tls_server", "NONE", "example.com", NULL, NULL),
	    "FAIL \"DANE: no STARTTLS with mx.example, its TLSA records "
	    "require TLS\"");
	/* DANE: only.example dane-only */
	dlv_begin(SMDANE_MODE_OPTIN, 25);
	cr_assert_str_eq(ask("tls_server", "OK", "only.example", NULL, fp),
	    "FAIL \"DANE required but MX RRset not DNSSEC signed for "
	    "mx.example\"");
	/* DANE: audited.example audit */
	dlv_begin(SMDANE_MODE_OPTIN, 25);
	cr_assert_str_eq(ask("tls_server", "OK", "audited.example", NULL, fp),
	    "OK");
	cr_assert_eq(mt_logged("nexthop=audited.example, base=mx.example, "
	    "mode=audit"), 1, "got %s", mt_log[mt_nlog - 1]);
	/* a bad value defers, naming the key */
	dlv_begin(SMDANE_MODE_OPTIN, 25);
	cr_assert_str_eq(ask("tls_server", "OK", "bad.example", NULL, fp),
	    "FAIL \"DANE: bad access map entry dane:bad.example secure\"");
	unlink(access_path);
}

/* A DANE: entry "audit" for one destination of an enforcing mailer. */
Test(glue, audit_entry_in_an_enforcing_mailer)
{
	static const char *const kv[] = { "dane:audited.example", "audit",
		NULL, NULL };

	access_map(kv);
	mt_dest("audited.example", "", MT_SKIP, 3);
	mt_dest("skip.example", "", MT_SKIP, 3);
	dlv_begin(SMDANE_MODE_ONLY, 25);
	cr_assert_str_eq(ask("try_tls", "none", "audited.example", NULL, NULL),
	    "OK");
	cr_assert_str_eq(ask("tls_server", "OK", "audited.example", NULL, fp),
	    "OK");
	dlv_begin(SMDANE_MODE_ONLY, 25);
	cr_assert_str_neq(ask("try_tls", "none", "skip.example", NULL, NULL),
	    "OK");
	unlink(access_path);
}
