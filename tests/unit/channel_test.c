/*
 * Unit tests of the hook module's pure parts: the cf settings, the
 * verdict channel name and answer, and the verdict decision.
 */
#include <arpa/nameser.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smdane.h"

#define CHANNEL SMDANE_SUFFIX

Test(config, reads_settings)
{
	struct smdane_config c;

	smdane_config_init(&c);
	cr_assert_eq(smdane_config_parse_line(&c, "D{smdane_version}1\n"), 1);
	smdane_config_parse_line(&c, "D{smdane_usage01}strict\n");
	smdane_config_parse_line(&c, "D{smdane_digests}sha256 sha512\n");
	smdane_config_parse_line(&c, "D{smdane_loglevel}2\n");
	cr_assert(c.present);
	cr_assert(!c.error, "got error %s, want none", c.error_text);
	cr_assert_eq(c.settings.usage01, DANE_USAGE01_STRICT);
	cr_assert_eq(c.settings.digest_pref[0], DANE_MTYPE_SHA2_256);
	cr_assert_eq(c.settings.digest_pref[1], DANE_MTYPE_SHA2_512);
	cr_assert_eq(c.loglevel, 2);
}

/* The feature's verdict on the cf itself: every delivery is refused. */
Test(config, fatal_line)
{
	struct smdane_config c;

	smdane_config_init(&c);
	smdane_config_parse_line(&c, "D{smdane_fatal}SMTP_MAILER_ARGS was set "
	    "after the dane feature\n");
	cr_assert(c.fatal);
	cr_assert(!c.error, "got a setting error, want none");
	cr_assert_str_eq(c.fatal_text, "SMTP_MAILER_ARGS was set after the "
	    "dane feature");
}

Test(config, ignores_other_lines)
{
	struct smdane_config c;

	smdane_config_init(&c);
	cr_assert_eq(smdane_config_parse_line(&c, "DSmailhub\n"), 0);
	cr_assert(!c.fatal);
	cr_assert_eq(smdane_config_parse_line(&c, "D{daemon_flags}x\n"), 0);
	cr_assert(!c.present);
}

static const struct {
	const char *line;
} bad_lines[] = {
	{ "D{smdane_usage01}pkix\n" },
	{ "D{smdane_digests}md5\n" },
	{ "D{smdane_digests}sha256 sha256\n" },
	{ "D{smdane_loglevel}9\n" },
	{ "D{smdane_resolv_conf}relative/path\n" },
	{ "D{smdane_version}3\n" },
	{ "D{smdane_typo}1\n" },
};

Test(config, rejects_bad_values)
{
	size_t i;

	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		struct smdane_config c;

		smdane_config_init(&c);
		smdane_config_parse_line(&c, bad_lines[i].line);
		cr_expect(c.error, "line %s: got no error, want one",
		    bad_lines[i].line);
	}
}

Test(config, cf_path_from_argv)
{
	char *a1[] = { "sendmail", "-Am", "-bd", NULL };
	char *a2[] = { "sendmail", "-C/x/y.cf", NULL };
	char *a3[] = { "sendmail", "-C", "/x/z.cf", NULL };
	char *a4[] = { "sendmail", "-Ac", "-q", NULL };

	cr_assert_str_eq(smdane_cf_path(3, a1), "/etc/mail/sendmail.cf");
	cr_assert_str_eq(smdane_cf_path(2, a2), "/x/y.cf");
	cr_assert_str_eq(smdane_cf_path(3, a3), "/x/z.cf");
	cr_assert_str_eq(smdane_cf_path(3, a4), "/etc/mail/submit.cf");
}

Test(channel, parses_query_name)
{
	struct smdane_query q;

	cr_assert_eq(smdane_query_parse("_p.tls_server._v.OK._s.mx1.example."
	    "com._a.127.0.0.1._h.example.com._r.none._c.AB:cd:01"
	    CHANNEL ".", &q), 0);
	cr_assert_str_eq(q.certfp, "abcd01");
	cr_assert_str_eq(q.phase, "tls_server");
	cr_assert_str_eq(q.verify, "ok");
	cr_assert_str_eq(q.server, "mx1.example.com");
	cr_assert_str_eq(q.addr, "127.0.0.1");
	cr_assert_str_eq(q.nexthop, "example.com");
	cr_assert_str_eq(q.rcpt, "");
	cr_assert_eq(smdane_query_parse("_p.tls_rcpt._v.none._s.none._a."
	    "IPv6:2001:db8:0:0:0:0:0:1._h.[relay.example]._r.Other.Example"
	    "._c.none" CHANNEL, &q), 0);
	cr_assert_str_eq(q.certfp, "");
	cr_assert_str_eq(q.server, "");
	cr_assert_str_eq(q.addr, "ipv6:2001:db8:0:0:0:0:0:1");
	cr_assert_str_eq(q.nexthop, "[relay.example]");
	cr_assert_str_eq(q.rcpt, "other.example");
}

Test(channel, rejects_other_names)
{
	struct smdane_query q;

	cr_assert(!smdane_is_channel_name("example.com."));
	cr_assert(!smdane_is_channel_name("dane-hook.invalid."));
	/* the short form a resolver could answer is not the channel */
	cr_assert(!smdane_is_channel_name("_p.x._v.y._s.z._a.none._h.d._r."
	    "none._c.none.v1.dane-hook.invalid."));
	cr_assert_neq(smdane_query_parse("_p.x._v.y" CHANNEL ".",
	    &q), 0);
	/* fields out of order, or an empty next hop */
	cr_assert_neq(smdane_query_parse("_p.x._v.y._a.z._s.w._h.d._r.none"
	    CHANNEL ".", &q), 0);
	cr_assert_neq(smdane_query_parse("_p.x._v.y._s.z._a.none._h.._r."
	    "none._c.none" CHANNEL ".", &q), 0);
	/* a server name carrying a marker cannot shift the fields */
	cr_assert_neq(smdane_query_parse("_p.tls_rcpt._v.ok._s.a._a.b._h.c._r."
	    "d._a.none._h.example.com._r.none._c.none" CHANNEL ".",
	    &q), 0);
}

Test(config, service_names)
{
	static const struct {
		const char *name;
		int ok;
		enum smdane_mode mode;
		uint16_t port;
	} t[] = {
		{ "dane", 0, SMDANE_MODE_DANE, 25 },
		{ "dane-only", 0, SMDANE_MODE_ONLY, 25 },
		{ "dane-587", 0, SMDANE_MODE_DANE, 587 },
		{ "dane-only-2525", 0, SMDANE_MODE_ONLY, 2525 },
		{ "smtp", 0, SMDANE_MODE_NONE, 25 },
		{ "auth", -1, 0, 0 },
		{ "smtp-2525", 0, SMDANE_MODE_NONE, 2525 },
		{ "smtp-x", -1, 0, 0 },
		{ "dane-", -1, 0, 0 },
		{ "dane-0", -1, 0, 0 },
		{ "dane-70000", -1, 0, 0 },
		{ "dane-only-x", -1, 0, 0 },
		{ "danger", -1, 0, 0 },
		{ "dane-unserved", 0, SMDANE_MODE_UNSERVED, 25 },
		{ "smdane-none", 0, SMDANE_MODE_NONE, 25 },
		{ "smdane-none-2525", 0, SMDANE_MODE_NONE, 2525 },
		{ "smdane-none-", -1, 0, 0 },
		{ "smdane-nonex", -1, 0, 0 },
		{ "dane-unserved-25", -1, 0, 0 },
		{ "dane-optin", 0, SMDANE_MODE_OPTIN, 25 },
		{ "dane-optin-587", 0, SMDANE_MODE_OPTIN, 587 },
		{ "dane-audit", 0, SMDANE_MODE_AUDIT, 25 },
		{ "dane-audit-2525", 0, SMDANE_MODE_AUDIT, 2525 },
		{ "dane-optinx", -1, 0, 0 },
		{ "dane-audit-", -1, 0, 0 },
		{ "dane-only-audit", -1, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum smdane_mode m = SMDANE_MODE_NONE;
		uint16_t port = 0;
		int r = smdane_service_parse(t[i].name, &m, &port);

		cr_expect_eq(r, t[i].ok, "%s: got %d, want %d", t[i].name, r,
		    t[i].ok);
		if (r == 0 && t[i].ok == 0) {
			cr_expect_eq(m, t[i].mode, "%s: got mode %d, want %d",
			    t[i].name, m, t[i].mode);
			cr_expect_eq(port, t[i].port, "%s: got port %u, want %u",
			    t[i].name, port, t[i].port);
		}
	}
}

Test(config, access_values)
{
	enum smdane_mode m;

	cr_assert_eq(smdane_mode_parse("none", &m), 0);
	cr_assert_eq(m, SMDANE_MODE_NONE);
	cr_assert_eq(smdane_mode_parse("may", &m), 0);
	cr_assert_eq(m, SMDANE_MODE_NONE);
	cr_assert_eq(smdane_mode_parse("ENCRYPT", &m), 0);
	cr_assert_eq(m, SMDANE_MODE_ENCRYPT);
	cr_assert_eq(smdane_mode_parse("dane", &m), 0);
	cr_assert_eq(m, SMDANE_MODE_DANE);
	cr_assert_eq(smdane_mode_parse("dane-only", &m), 0);
	cr_assert_eq(m, SMDANE_MODE_ONLY);
	cr_assert_eq(smdane_mode_parse("Audit", &m), 0);
	cr_assert_eq(m, SMDANE_MODE_AUDIT);
	/* opt-in is a mailer's mode, not a destination's */
	cr_assert_neq(smdane_mode_parse("optin", &m), 0);
	cr_assert_neq(smdane_mode_parse("dane-optin", &m), 0);
	cr_assert_neq(smdane_mode_parse("secure", &m), 0);
	cr_assert_neq(smdane_mode_parse("", &m), 0);
}

/*
 * The mode of a destination: mailer mode x DANE: entry (none found, or
 * its value).  The same table is in cf/README ("Mode of a destination").
 */
Test(config, mode_resolution_table)
{
#define N SMDANE_MODE_NONE
#define D SMDANE_MODE_DANE
#define O SMDANE_MODE_ONLY
#define E SMDANE_MODE_ENCRYPT
#define I SMDANE_MODE_OPTIN
#define A SMDANE_MODE_AUDIT
#define U SMDANE_MODE_UNSERVED
#define K SMDANE_MODE_UNKNOWN
	static const enum smdane_mode mailers[] = { N, D, O, I, A, U, K };
	/* columns: no entry, then the entries none, encrypt, dane,
	 * dane-only, audit */
	static const enum smdane_mode entries[] = { N, E, D, O, A };
	static const enum smdane_mode want[][6] = {
		/* N */ { N, N, N, N, N, N },
		/* D */ { D, N, E, D, O, A },
		/* O */ { O, N, E, D, O, A },
		/* I */ { N, N, E, D, O, A },
		/* A */ { A, N, E, D, O, A },
		/* U */ { U, U, U, U, U, U },
		/* K */ { K, K, K, K, K, K },
	};
	size_t i, j;

	for (i = 0; i < sizeof(mailers) / sizeof(mailers[0]); i++) {
		enum smdane_mode got = smdane_mode_resolve(mailers[i], 0, N);

		cr_expect_eq(got, want[i][0], "mailer %s, no entry: got %s, "
		    "want %s", smdane_mode_name(mailers[i]),
		    smdane_mode_name(got), smdane_mode_name(want[i][0]));
		for (j = 0; j < sizeof(entries) / sizeof(entries[0]); j++) {
			got = smdane_mode_resolve(mailers[i], 1, entries[j]);
			cr_expect_eq(got, want[i][j + 1], "mailer %s, entry %s: "
			    "got %s, want %s", smdane_mode_name(mailers[i]),
			    smdane_mode_name(entries[j]),
			    smdane_mode_name(got),
			    smdane_mode_name(want[i][j + 1]));
		}
	}
	/* the encrypt mode only comes from entries: as a mailer mode it
	 * keeps them too */
	cr_expect_eq(smdane_mode_resolve(E, 0, N), E);
	cr_expect_eq(smdane_mode_resolve(E, 1, D), D);
#undef N
#undef D
#undef O
#undef E
#undef I
#undef A
#undef U
#undef K
}

Test(config, access_map_from_cf_line)
{
	struct smdane_config c;
	char path[] = "/tmp/smdane-cf-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");

	fputs("Kaccess hash -T<TMPF> /etc/mail/access\nD{smdane_version}1\n",
	    fp);
	fclose(fp);
	smdane_config_init(&c);
	cr_assert_eq(smdane_config_read(&c, path), 0);
	unlink(path);
	cr_assert_str_eq(c.access_db, "/etc/mail/access.db");
	cr_assert(c.present);
}

Test(channel, builds_txt_response)
{
	unsigned char buf[512];
	ns_msg msg;
	ns_rr rr;
	int n;

	n = smdane_txt_response("_p.a._v.b._s.c._h.d" CHANNEL ".",
	    "OK", buf, sizeof(buf));
	cr_assert_gt(n, 0);
	/* the channel name cannot be encoded: the question is the root */
	cr_assert_eq(buf[12], 0, "got question label length %u, want 0",
	    buf[12]);
	cr_assert_eq(ns_initparse(buf, n, &msg), 0);
	cr_assert_eq(ns_msg_count(msg, ns_s_an), 1);
	cr_assert_eq(ns_parserr(&msg, ns_s_an, 0, &rr), 0);
	cr_assert_eq(ns_rr_type(rr), ns_t_txt);
	cr_assert_eq(ns_rr_rdata(rr)[0], 2);
	cr_assert_eq(memcmp(ns_rr_rdata(rr) + 1, "OK", 2), 0);
	cr_assert_lt(smdane_txt_response("x.invalid", "OK", buf, 20), 0);
}

Test(channel, sanitizes_reason)
{
	char out[64];

	smdane_sanitize(out, sizeof(out), "a\"b\\c%d(e)f\tg\xc3");
	cr_assert_str_eq(out, "a?b?c?d?e?f?g?");
}

/* Verdict table: mode, level, phase, verify, tls, authenticated. */
static const struct vcase {
	const char *name;
	enum smdane_mode mode;
	enum dane_level level;
	const char *phase, *verify;
	int tls, auth;
	const char *want;	/* the whole answer */
} vcases[] = {
	{ "no dane mailer", SMDANE_MODE_NONE, DANE_LEVEL_DEFER,
	    "tls_server", "none", 0, 0,
	    "OK" },
	{ "opportunistic clear", SMDANE_MODE_DANE, DANE_LEVEL_OPP,
	    "tls_server", "none", 0, 0,
	    "OK" },
	{ "skip at try_tls", SMDANE_MODE_DANE, DANE_LEVEL_SKIP,
	    "try_tls", "none", 0, 0,
	    "FAIL \"DANE: TLSA lookup failed for mx\"" },
	{ "defer at rcpt", SMDANE_MODE_DANE, DANE_LEVEL_DEFER,
	    "tls_rcpt", "ok", 1, 1,
	    "FAIL \"DANE: MX lookup failed for mx\"" },
	{ "auth try_tls", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "try_tls", "none", 0, 0,
	    "OK" },
	{ "auth without starttls", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "tls_server", "none", 0, 0,
	    "FAIL \"DANE: no STARTTLS with mx, its TLSA records require TLS\"" },
	{ "auth clear retry", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "tls_server", "clear", 0, 0,
	    "FAIL \"DANE: TLS with mx failed, verify=clear, its TLSA records "
	    "require TLS\"" },
	{ "auth handshake failed", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "tls_server", "software", 0, 0,
	    "FAIL \"DANE: TLS with mx failed, verify=software, its TLSA "
	    "records require TLS\"" },
	{ "auth mismatch", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "tls_server", "fail", 1, 0,
	    "FAIL \"DANE: no TLSA record of mx matched the certificate: no "
	    "matching DANE TLSA records\"" },
	{ "auth verify ok but no handshake seen", SMDANE_MODE_DANE,
	    DANE_LEVEL_AUTH,
	    "tls_server", "ok", 0, 0,
	    "FAIL \"DANE: TLS with mx failed, verify=ok, its TLSA records "
	    "require TLS\"" },
	{ "auth match", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "tls_server", "ok", 1, 1,
	    "OK" },
	{ "auth match rcpt", SMDANE_MODE_DANE, DANE_LEVEL_AUTH,
	    "tls_rcpt", "ok", 1, 1,
	    "OK" },
	{ "encrypt tls", SMDANE_MODE_DANE, DANE_LEVEL_ENCRYPT,
	    "tls_server", "fail", 1, 0,
	    "OK" },
	{ "encrypt clear", SMDANE_MODE_DANE, DANE_LEVEL_ENCRYPT,
	    "tls_server", "none", 0, 0,
	    "FAIL \"DANE: no STARTTLS with mx, its TLSA records require TLS\"" },
	{ "dane-only opportunistic", SMDANE_MODE_ONLY, DANE_LEVEL_OPP,
	    "tls_server", "ok", 1, 0,
	    "FAIL \"DANE required but no TLSA records for mx\"" },
	{ "dane-only encrypt", SMDANE_MODE_ONLY, DANE_LEVEL_ENCRYPT,
	    "tls_server", "ok", 1, 0,
	    "FAIL \"DANE required but all TLSA records unusable for mx\"" },
	{ "dane-only auth", SMDANE_MODE_ONLY, DANE_LEVEL_AUTH,
	    "tls_server", "ok", 1, 1,
	    "OK" },
	{ "encrypt mode, no TLSA, clear", SMDANE_MODE_ENCRYPT, DANE_LEVEL_OPP,
	    "tls_server", "none", 0, 0,
	    "FAIL \"DANE: no STARTTLS with mx, the access map requires TLS\"" },
	{ "encrypt mode, no TLSA, TLS", SMDANE_MODE_ENCRYPT, DANE_LEVEL_OPP,
	    "tls_server", "fail", 1, 0,
	    "OK" },
	{ "encrypt mode keeps DANE", SMDANE_MODE_ENCRYPT, DANE_LEVEL_AUTH,
	    "tls_server", "fail", 1, 0,
	    "FAIL \"DANE: no TLSA record of mx matched the certificate: no "
	    "matching DANE TLSA records\"" },
	{ "cached connection opened without DANE", SMDANE_MODE_DANE,
	    DANE_LEVEL_AUTH,
	    "tls_rcpt", "ok", 2, 0,
	    "FAIL \"DANE: connection to mx was opened without DANE "
	    "authentication, not used for example.com\"" },
};

/* A reason that goes with each level, as dane_decide() would give. */
static enum dane_reason
reason_for(enum dane_level l)
{
	switch (l) {
	case DANE_LEVEL_SKIP:
		return DANE_R_TLSA_FAILED;
	case DANE_LEVEL_DEFER:
		return DANE_R_MX_FAILED;
	case DANE_LEVEL_OPP:
		return DANE_R_TLSA_NONE;
	case DANE_LEVEL_ENCRYPT:
		return DANE_R_TLSA_UNUSABLE;
	default:
		return DANE_R_TLSA_USABLE;
	}
}

Test(verdict, table)
{
	size_t i;

	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *v = &vcases[i];
		struct dane_policy p;
		struct smdane_query q;
		struct smdane_conn conn;
		char out[256];

		memset(&p, 0, sizeof(p));
		memset(&q, 0, sizeof(q));
		memset(&conn, 0, sizeof(conn));
		p.level = v->level;
		p.reason = reason_for(v->level);
		snprintf(q.phase, sizeof(q.phase), "%s", v->phase);
		snprintf(q.verify, sizeof(q.verify), "%s", v->verify);
		snprintf(q.server, sizeof(q.server), "mx");
		snprintf(q.nexthop, sizeof(q.nexthop), "example.com");
		conn.tls = v->tls != 0;
		conn.auth.authenticated = v->auth;
		if (v->tls == 1)
			snprintf(conn.auth.detail, sizeof(conn.auth.detail),
			    "%s", v->auth ? "3 1 1 ab at depth 0" :
			    "no matching DANE TLSA records");
		snprintf(conn.nexthop, sizeof(conn.nexthop), "example.com");
		conn.checked_against = smdane_policy_digest(&p, 25);
		smdane_verdict(v->mode, &p, 25, &q, &conn, out, sizeof(out));
		cr_expect_str_eq(out, v->want, "%s: got %s, want %s", v->name,
		    out, v->want);
	}
}

/* An authenticated session on a cached connection, asked at tls_rcpt. */
static void
cached_session(struct dane_policy *p, struct smdane_query *q,
    struct smdane_conn *conn, const char *server, const char *nexthop,
    int usage)
{
	memset(p, 0, sizeof(*p));
	memset(q, 0, sizeof(*q));
	memset(conn, 0, sizeof(*conn));
	p->level = DANE_LEVEL_AUTH;
	snprintf(q->phase, sizeof(q->phase), "tls_rcpt");
	snprintf(q->verify, sizeof(q->verify), "ok");
	snprintf(q->server, sizeof(q->server), "%s", server);
	snprintf(q->nexthop, sizeof(q->nexthop), "%s", nexthop);
	conn->tls = conn->auth.authenticated = 1;
	conn->auth.matched.usage = (uint8_t)usage;
	snprintf(conn->nexthop, sizeof(conn->nexthop), "example.com");
}

Test(verdict, dane_ta_cached_connection_other_destination)
{
	struct dane_policy p;
	struct smdane_query q;
	struct smdane_conn conn;
	char out[256];

	cached_session(&p, &q, &conn, "mx", "other.example",
	    DANE_USAGE_DANE_TA);
	conn.checked_against = smdane_policy_digest(&p, 25);
	smdane_verdict(SMDANE_MODE_DANE, &p, 25, &q, &conn, out, sizeof(out));
	cr_assert(strncmp(out, "FAIL", 4) == 0, "got %s, want FAIL", out);
}

static unsigned char rec1[32] = { 1 }, rec2[32] = { 2 };
static struct dane_tlsa_rr r1 = { 3, 1, 1, sizeof(rec1), rec1 };
static struct dane_tlsa_rr r2 = { 3, 1, 1, sizeof(rec2), rec2 };

/* A session to mx.example.com set up or checked against r1, port 25. */
static void
session_for_r1(struct dane_policy *p, struct smdane_query *q,
    struct smdane_conn *conn)
{
	cached_session(p, q, conn, "mx.example.com", "example.com",
	    DANE_USAGE_DANE_EE);
	p->usable = &r1;
	p->usable_count = 1;
	snprintf(p->base_domain, sizeof(p->base_domain), "mx.example.com");
	conn->checked_against = smdane_policy_digest(p, 25);
}

/* AUTH applied as ENCRYPT (OpenSSL took none of the records) counts
 * only for the records that connection was set up with. */
Test(verdict, encrypt_downgrade_is_bound_to_records)
{
	struct dane_policy p;
	struct smdane_query q;
	struct smdane_conn conn;
	char out[256];

	session_for_r1(&p, &q, &conn);
	conn.level = DANE_LEVEL_ENCRYPT;
	conn.auth.authenticated = 0;
	conn.auth.detail[0] = '\0';
	smdane_verdict(SMDANE_MODE_DANE, &p, 25, &q, &conn, out, sizeof(out));
	cr_assert_str_eq(out, "OK", "same records: got %s, want OK", out);
	p.usable = &r2;
	smdane_verdict(SMDANE_MODE_DANE, &p, 25, &q, &conn, out, sizeof(out));
	cr_assert(strncmp(out, "FAIL", 4) == 0, "other records: got %s, want "
	    "FAIL", out);
}

/* A check made for other TLSA records, base domain or port does not
 * count for this connection. */
Test(verdict, check_is_bound_to_records_and_port)
{
	struct dane_policy p;
	struct smdane_query q;
	struct smdane_conn conn;
	char out[256];

	session_for_r1(&p, &q, &conn);
	smdane_verdict(SMDANE_MODE_DANE, &p, 25, &q, &conn, out, sizeof(out));
	cr_assert_str_eq(out, "OK");
	smdane_verdict(SMDANE_MODE_DANE, &p, 587, &q, &conn, out, sizeof(out));
	cr_assert(strncmp(out, "FAIL", 4) == 0, "port: got %s, want FAIL", out);
	p.usable = &r2;
	smdane_verdict(SMDANE_MODE_DANE, &p, 25, &q, &conn, out, sizeof(out));
	cr_assert(strncmp(out, "FAIL", 4) == 0, "records: got %s, want FAIL",
	    out);
}
