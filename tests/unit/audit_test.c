/*
 * Unit tests of tools/audit.c: the parser of the module's log lines in
 * every log format, hostile and cut short lines, the counts per
 * destination and server, the JSON document (parsed back with json-c),
 * the table, plain, gzip-compressed and piped input, the default list
 * of rotated logs, running out of memory, and the program's exit codes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json.h>
#include <zlib.h>

#include "audit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* the module's lines, as log_verdict() and log_refusal() write them */
#define M_AUTH "STARTTLS=client, relay=mx1.example.com, dane=dane, " \
	"nexthop=example.com, base=mx1.example.com, mode=audit, " \
	"reason=usable TLSA records, tlsa=1 usable/0 unusable " \
	"[3 1 1 81abbd0cd46bfc54...], match=3 1 1 81abbd0cd46bfc54... at " \
	"depth 0, verdict=OK"
#define M_FAIL "STARTTLS=client, relay=mx.broken.example, dane=dane, " \
	"nexthop=broken.example, base=mx.broken.example, mode=audit, " \
	"reason=usable TLSA records, tlsa=2 usable/1 unusable " \
	"[3 1 1 0123456789abcdef...; 2 1 1 fedcba9876543210...], " \
	"match=no TLSA record matched, peer spki sha256 9f86d081884c7d65..., " \
	"verdict=FAIL \"DANE: no TLSA record of mx.broken.example matched " \
	"the certificate: no TLSA record matched, peer spki sha256 " \
	"9f86d081884c7d65...\""
#define M_SKIP "STARTTLS=client, relay=mx2.broken.example, dane=skip, " \
	"nexthop=broken.example, base=-, mode=audit, reason=TLSA lookup " \
	"failed, tlsa=0 usable/0 unusable, match=-, verdict=FAIL \"DANE: " \
	"TLSA lookup failed for mx2.broken.example\""
#define M_OPP "STARTTLS=client, relay=mail.plain.example, " \
	"dane=opportunistic, nexthop=plain.example, base=-, mode=audit, " \
	"reason=MX RRset not DNSSEC signed, tlsa=0 usable/0 unusable, " \
	"match=-, verdict=OK"
#define M_ENC "STARTTLS=client, relay=mx.partner.example, dane=encrypt, " \
	"nexthop=partner.example, base=mx.partner.example, mode=audit, " \
	"reason=all TLSA records unusable, tlsa=0 usable/2 unusable, " \
	"match=-, verdict=OK"
#define M_CANON "STARTTLS=client, relay=mx.target.example, dane=dane, " \
	"nexthop=alias.example, canonical=target.example, " \
	"base=mx.target.example, mode=audit, reason=usable TLSA records, " \
	"tlsa=1 usable/0 unusable [3 1 1 5555555555555555...], " \
	"match=3 1 1 5555555555555555... at depth 0, verdict=OK"
#define M_ERR "STARTTLS=client, relay=mx.lame.example, dane=error, " \
	"nexthop=lame.example, verdict=FAIL \"DANE: DNS lookups impossible: " \
	"trust anchor missing or unreadable\""

#define TRAD "Dec  3 11:52:33 mx sendmail[123]: "
#define RFC "2026-12-03T11:52:33.439812+00:00 mx sendmail[123]: "
#define WORLD "2026-12-03T11:52:33.439Z mail.info Dec  3 11:52:33 sendmail[159]: "

static int
str_is(struct audit_str s, const char *want)
{
	return s.p != NULL && s.n == strlen(want) &&
	    memcmp(s.p, want, s.n) == 0;
}

#define assert_str(s, want) \
	cr_assert(str_is((s), (want)), "got \"%.*s\", want \"%s\"", \
	    (int)(s).n, (s).p != NULL ? (s).p : "", (want))

static enum audit_kind
parse(const char *line, struct audit_rec *r)
{
	return audit_parse(line, strlen(line), r);
}

/* --- the parser, per log format -------------------------------------- */

Test(parse, traditional_syslog_line)
{
	struct audit_rec r;

	cr_assert_eq(parse(TRAD M_AUTH, &r), AUDIT_POLICY);
	assert_str(r.stamp, "Dec  3 11:52:33");
	cr_assert_eq(r.has_year, 0);
	cr_assert_eq(r.has_instant, 0);
	assert_str(r.tag, "sendmail");
	assert_str(r.relay, "mx1.example.com");
	cr_assert_eq(r.level, AUDIT_L_DANE);
	assert_str(r.nexthop, "example.com");
	cr_assert_null(r.canonical.p);
	assert_str(r.base, "mx1.example.com");
	cr_assert_eq(r.mode, AUDIT_M_AUDIT);
	assert_str(r.reason, "usable TLSA records");
	assert_str(r.tlsa, "3 1 1 81abbd0cd46bfc54...");
	assert_str(r.match, "3 1 1 81abbd0cd46bfc54... at depth 0");
	cr_assert_eq(r.ok, 1);
	cr_assert_null(r.why.p);

	/* a two-digit day, and a single blank */
	cr_assert_eq(parse("Dec 13 01:02:03 mx sendmail[1]: " M_AUTH, &r),
	    AUDIT_POLICY);
	assert_str(r.stamp, "Dec 13 01:02:03");
	cr_assert_eq(parse("Dec 3 01:02:03 mx sendmail[1]: " M_AUTH, &r),
	    AUDIT_POLICY);
	assert_str(r.stamp, "Dec 3 01:02:03");
}

Test(parse, rfc3339_rsyslog_line)
{
	struct audit_rec r;

	cr_assert_eq(parse(RFC M_AUTH, &r), AUDIT_POLICY);
	assert_str(r.stamp, "2026-12-03T11:52:33.439812+00:00");
	cr_assert_eq(r.has_year, 1);
	cr_assert_str_eq(r.wall, "2026-12-03T11:52:33");
	cr_assert_eq(r.has_instant, 1);
	cr_assert_eq(r.sec, 1796298753LL, "sec %lld", r.sec);
	cr_assert_eq(r.usec, 439812);
	assert_str(r.relay, "mx1.example.com");

	/* the offset counts for the instant, not for the wall clock */
	cr_assert_eq(parse("2026-12-03T12:52:33.5+01:00 mx sm-mta[9]: "
	    M_AUTH, &r), AUDIT_POLICY);
	cr_assert_eq(r.sec, 1796298753LL);
	cr_assert_eq(r.usec, 500000);
	cr_assert_str_eq(r.wall, "2026-12-03T12:52:33");
	cr_assert_eq(parse("2026-12-03T06:22:33-05:30 mx sm-mta[9]: "
	    M_AUTH, &r), AUDIT_POLICY);
	cr_assert_eq(r.sec, 1796298753LL);
}

Test(parse, journalctl_short_iso)
{
	struct audit_rec r;

	cr_assert_eq(parse("2026-12-03T12:52:33+0100 mx sendmail[123]: "
	    M_FAIL, &r), AUDIT_POLICY);
	assert_str(r.stamp, "2026-12-03T12:52:33+0100");
	cr_assert_eq(r.sec, 1796298753LL);
	cr_assert_eq(r.usec, 0);
	cr_assert_eq(r.ok, 0);
	/* journalctl's own lines */
	cr_assert_eq(parse("-- Boot 0123456789abcdef0123456789abcdef --",
	    &r), AUDIT_IGNORED);
	cr_assert_eq(parse("-- No entries --", &r), AUDIT_IGNORED);
	cr_assert_eq(parse("-- Journal begins at Mon 2026-11-30 00:00:01 "
	    "UTC, ends at Thu 2026-12-03 12:00:00 UTC. --", &r),
	    AUDIT_IGNORED);
}

Test(parse, test_world_line)
{
	struct audit_rec r;

	cr_assert_eq(parse(WORLD M_SKIP, &r), AUDIT_POLICY);
	assert_str(r.stamp, "2026-12-03T11:52:33.439Z");
	cr_assert_eq(r.has_year, 1);
	cr_assert_eq(r.sec, 1796298753LL);
	cr_assert_eq(r.usec, 439000);
	assert_str(r.tag, "sendmail");
	cr_assert_eq(r.level, AUDIT_L_SKIP);
	cr_assert_eq(r.ok, 0);
	assert_str(r.why, "DANE: TLSA lookup failed for mx2.broken.example");
	assert_str(r.match, "-");
	cr_assert_null(r.tlsa.p);
	/* "-" for an undecoded priority */
	cr_assert_eq(parse("2026-12-03T11:52:33.439Z - Dec  3 11:52:33 "
	    "sm-mta[159]: " M_AUTH, &r), AUDIT_POLICY);
}

Test(parse, process_names)
{
	static const char *const yes[] = { "sendmail[1]:", "sendmail:",
		"sm-mta[22]:", "sendmail-mta[333]:", "sm-msp-queue[4]:" };
	static const char *const no[] = { "postfix/smtp[1]:", "sendmailx[1]:",
		"sendmail[12a]:", "sendmail[]:", "exim[2]:", "xsm-mta[1]:",
		"sendmail[1]", "Sendmail[1]:" };
	struct audit_rec r;
	char line[1024];
	size_t i;

	for (i = 0; i < N(yes); i++) {
		snprintf(line, sizeof(line), "Dec  3 11:52:33 mx %s %s",
		    yes[i], M_AUTH);
		cr_assert_eq(parse(line, &r), AUDIT_POLICY, "%s", yes[i]);
	}
	for (i = 0; i < N(no); i++) {
		snprintf(line, sizeof(line), "Dec  3 11:52:33 mx %s %s",
		    no[i], M_AUTH);
		cr_assert_eq(parse(line, &r), AUDIT_IGNORED, "%s", no[i]);
	}
	/* a program of another name that logs what looks like sendmail's
	 * line: its own tag comes first */
	cr_assert_eq(parse("Dec  3 11:52:33 mx evil: sendmail[1]: " M_AUTH,
	    &r), AUDIT_IGNORED);
}

Test(parse, canonical_name)
{
	struct audit_rec r;

	cr_assert_eq(parse(RFC M_CANON, &r), AUDIT_POLICY);
	assert_str(r.nexthop, "alias.example");
	assert_str(r.canonical, "target.example");
	assert_str(r.base, "mx.target.example");
}

Test(parse, levels_and_modes)
{
	struct audit_rec r;

	cr_assert_eq(parse(RFC M_OPP, &r), AUDIT_POLICY);
	cr_assert_eq(r.level, AUDIT_L_OPP);
	cr_assert_eq(parse(RFC M_ENC, &r), AUDIT_POLICY);
	cr_assert_eq(r.level, AUDIT_L_ENCRYPT);
	cr_assert_eq(parse(RFC "STARTTLS=client, relay=mx, dane=defer, "
	    "nexthop=d.example, base=-, mode=dane-only, reason=MX lookup "
	    "failed, tlsa=0 usable/0 unusable, match=-, verdict=FAIL \"DANE: "
	    "MX lookup failed for mx\"", &r), AUDIT_POLICY);
	cr_assert_eq(r.level, AUDIT_L_DEFER);
	cr_assert_eq(r.mode, AUDIT_M_ONLY);
	cr_assert_str_eq(audit_mode_name(r.mode), "dane-only");
	cr_assert_eq(parse(RFC "STARTTLS=client, relay=mx, dane=opportunistic, "
	    "nexthop=d.example, base=-, mode=encrypt, reason=no TLSA records, "
	    "tlsa=0 usable/0 unusable, match=-, verdict=OK", &r),
	    AUDIT_POLICY);
	cr_assert_eq(r.mode, AUDIT_M_ENCRYPT);
}

Test(parse, texts_with_commas_and_keys)
{
	struct audit_rec r;

	/* the match detail and the reason may hold anything but a quote */
	cr_assert_eq(parse(RFC "STARTTLS=client, relay=mx.x.example, "
	    "dane=dane, nexthop=x.example, base=mx.x.example, mode=audit, "
	    "reason=usable TLSA records, tlsa=1 usable/0 unusable [3 1 1 aa], "
	    "match=a, verdict=OK, b, match=c, verdict=FAIL "
	    "\"DANE: x, verdict=OK, match=y\"", &r), AUDIT_POLICY);
	assert_str(r.match, "a, verdict=OK, b, match=c");
	assert_str(r.why, "DANE: x, verdict=OK, match=y");
	cr_assert_eq(r.ok, 0);
	/* an empty reason */
	cr_assert_eq(parse(RFC "STARTTLS=client, relay=m, dane=dane, "
	    "nexthop=x.example, base=m, mode=audit, reason=r, "
	    "tlsa=0 usable/0 unusable, match=-, verdict=FAIL \"\"", &r),
	    AUDIT_POLICY);
	assert_str(r.why, "");
}

Test(parse, tlsa_list_cut_by_the_module)
{
	struct audit_rec r;

	/* log_verdict() keeps at most 159 bytes of records */
	cr_assert_eq(parse(RFC "STARTTLS=client, relay=m, dane=dane, "
	    "nexthop=x.example, base=m, mode=audit, reason=usable TLSA "
	    "records, tlsa=9 usable/0 unusable [3 1 1 0000000000000000...; "
	    "3 1 1 1111111111111111...; 3 1 1 22222], match=-, verdict=FAIL "
	    "\"DANE: TLS with m failed, verify=NO, its TLSA records require "
	    "TLS\"", &r), AUDIT_POLICY);
	assert_str(r.tlsa, "3 1 1 0000000000000000...; "
	    "3 1 1 1111111111111111...; 3 1 1 22222");
}

Test(parse, error_lines)
{
	struct audit_rec r;

	cr_assert_eq(parse(TRAD M_ERR, &r), AUDIT_ERROR);
	cr_assert_eq(r.level, AUDIT_L_ERROR);
	assert_str(r.relay, "mx.lame.example");
	assert_str(r.nexthop, "lame.example");
	cr_assert_eq(r.mode, 0);
	cr_assert_eq(r.ok, 0);
	assert_str(r.why, "DANE: DNS lookups impossible: trust anchor "
	    "missing or unreadable");
	/* an unparsable query */
	cr_assert_eq(parse(TRAD "STARTTLS=client, relay=-, dane=error, "
	    "nexthop=-, verdict=FAIL \"DANE: malformed verdict query\"", &r),
	    AUDIT_ERROR);
	assert_str(r.nexthop, "-");
	/* one that names its mode */
	cr_assert_eq(parse(TRAD "STARTTLS=client, relay=m, dane=error, "
	    "nexthop=x.example, mode=audit, verdict=FAIL \"DANE: access map "
	    "path unusable\"", &r), AUDIT_ERROR);
	assert_str(r.nexthop, "x.example");
	cr_assert_eq(r.mode, AUDIT_M_AUDIT);
	/* an error never passes */
	cr_assert_eq(parse(TRAD "STARTTLS=client, relay=m, dane=error, "
	    "nexthop=x.example, verdict=OK", &r), AUDIT_MALFORMED);
}

Test(parse, other_lines_ignored)
{
	static const char *const lines[] = {
		/* sendmail's own */
		TRAD "4B3BqX1a000123: STARTTLS=client, relay=mx1.example.com., "
		"version=TLSv1.3, verify=FAIL, cipher=TLS_AES_256_GCM_SHA384, "
		"bits=256/256",
		TRAD "STARTTLS=client, relay=mx1.example.com., version=TLSv1.3, "
		"verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256",
		TRAD "4B3BqX1a000123: to=<a@example.com>, delay=00:00:01, "
		"mailer=esmtp, stat=Sent",
		/* the module's other lines */
		TRAD "STARTTLS=client, relay=mx, dane=none, nexthop=x.example, "
		"reason=its mailer names no DANE mode",
		TRAD "STARTTLS=client, dane=warning, reason=access map of type "
		"ldap cannot be read, DANE: entries are ignored",
		TRAD "dane: upstream /etc/resolv.conf: 127.0.0.1 cannot deliver "
		"DNSSEC",
		/* no timestamp, no tag */
		M_AUTH,
		"Dec  3 11:52:33 " M_AUTH,
		"Dex  3 11:52:33 mx sendmail[1]: " M_AUTH,
		"Dec  3 25:52:33 mx sendmail[1]: " M_AUTH,
		"2026-13-03T11:52:33Z mx sendmail[1]: " M_AUTH,
		"2026-12-03 11:52:33 mx sendmail[1]: " M_AUTH,
		"2026-12-03T11:52:33+1 mx sendmail[1]: " M_AUTH,
		"2026-12-03T11:52:33. mx sendmail[1]: " M_AUTH,
		"",
		" ",
		"Dec",
		"Dec  3 11:52:33",
		"Dec  3 11:52:33 mx",
		"Dec  3 11:52:33 mx sendmail[1]:",
		"Dec  3 11:52:33 a b c d e f g h i sendmail[1]: " M_AUTH,
	};
	struct audit_rec r;
	size_t i;

	for (i = 0; i < N(lines); i++)
		cr_assert_eq(parse(lines[i], &r), AUDIT_IGNORED, "%s",
		    lines[i]);
	cr_assert_eq(audit_parse(NULL, 0, &r), AUDIT_IGNORED);
}

Test(parse, malformed_lines)
{
	static const char *const lines[] = {
		TRAD "STARTTLS=client, relay=m, dane=bogus, nexthop=x",
		TRAD "STARTTLS=client, relay=, dane=dane, nexthop=x.example, "
		"base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
		"match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=, base=m, "
		"mode=audit, reason=r, tlsa=0 usable/0 unusable, match=-, "
		"verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
		"base=m, mode=sometimes, reason=r, tlsa=0 usable/0 unusable, "
		"match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
		"base=m, mode=audit, reason=r, tlsa=99999999999999999999 "
		"usable/0 unusable, match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
		"base=m, mode=audit, reason=r, tlsa=1 usable/0 unusable [3 1 1 "
		"aa, match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
		"base=m, mode=audit, reason=r, tlsa=x usable/0 unusable, "
		"match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
		"base=m, mode=audit, tlsa=0 usable/0 unusable, match=-, "
		"verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=skip, nexthop=x.example, "
		"base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
		"match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=defer, nexthop=x.example, "
		"base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
		"match=-, verdict=OK",
		TRAD "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
		"canonical=, base=m, mode=audit, reason=r, tlsa=0 usable/0 "
		"unusable, match=-, verdict=OK",
	};
	struct audit_rec r;
	size_t i;

	for (i = 0; i < N(lines); i++)
		cr_assert_eq(parse(lines[i], &r), AUDIT_MALFORMED, "%s",
		    lines[i]);
}

/* every slice of r within [line, line + len) */
static void
assert_within(const struct audit_rec *r, const char *line, size_t len)
{
	const struct audit_str *s[] = { &r->stamp, &r->tag, &r->relay,
		&r->nexthop, &r->canonical, &r->base, &r->reason, &r->tlsa,
		&r->match, &r->why };
	size_t i;

	for (i = 0; i < N(s); i++) {
		if (s[i]->p == NULL) {
			cr_assert_eq(s[i]->n, 0);
			continue;
		}
		cr_assert(s[i]->p >= line && s[i]->p + s[i]->n <= line + len,
		    "slice %zu outside the line", i);
	}
}

Test(parse, every_cut_of_a_line)
{
	const char *full = RFC M_FAIL;
	size_t len = strlen(full), n, mode_end;
	struct audit_rec r;

	mode_end = (size_t)(strstr(full, "mode=audit") - full) + 10;
	for (n = 0; n <= len; n++) {
		/* a buffer of exactly n bytes, no NUL after it */
		char *b = malloc(n > 0 ? n : 1);
		enum audit_kind k;

		cr_assert_not_null(b);
		memcpy(b, full, n);
		k = audit_parse(b, n, &r);
		assert_within(&r, b, n);
		if (n == len)
			cr_assert_eq(k, AUDIT_POLICY);
		else if (n > mode_end)
			cr_assert_eq(k, AUDIT_INCOMPLETE, "cut at %zu: %d", n,
			    k);
		else
			cr_assert(k == AUDIT_IGNORED || k == AUDIT_MALFORMED,
			    "cut at %zu: %d", n, k);
		if (k == AUDIT_INCOMPLETE) {
			assert_str(r.nexthop, "broken.example");
			cr_assert_eq(r.mode, AUDIT_M_AUDIT);
			cr_assert_eq(r.ok, -1);
		}
		free(b);
	}
}

Test(parse, hostile_bytes)
{
	struct audit_rec r;
	char line[600];
	size_t n;

	/* NUL and control bytes in a name: read by length, kept */
	n = (size_t)snprintf(line, sizeof(line), RFC "STARTTLS=client, "
	    "relay=mx%c\x01\x1b[2J.evil, dane=dane, nexthop=evil.example, "
	    "base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
	    "match=\xff\xfe, verdict=OK", 0);
	cr_assert_eq(audit_parse(line, n, &r), AUDIT_POLICY);
	cr_assert_eq(r.relay.n, 13);
	assert_str(r.nexthop, "evil.example");
	assert_within(&r, line, n);
	/* trailing CR, blanks and NULs */
	n = (size_t)snprintf(line, sizeof(line), "%s\r \n", RFC M_AUTH);
	line[n++] = '\0';
	cr_assert_eq(audit_parse(line, n, &r), AUDIT_POLICY);
	cr_assert_eq(r.ok, 1);
}

Test(parse, long_lines)
{
	size_t big = 3 * 1024 * 1024, i, n;
	char *line = malloc(big + 1024);
	struct audit_rec r;

	cr_assert_not_null(line);
	/* a relay of 3 MiB */
	n = (size_t)sprintf(line, RFC "STARTTLS=client, relay=");
	memset(line + n, 'a', big);
	n += big;
	n += (size_t)sprintf(line + n, ", dane=dane, nexthop=x.example, "
	    "base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
	    "match=-, verdict=OK");
	cr_assert_eq(audit_parse(line, n, &r), AUDIT_POLICY);
	cr_assert_eq(r.relay.n, big);
	/* ", dane=" over and over: linear, and not the module's */
	n = (size_t)sprintf(line, RFC "STARTTLS=client, relay=m");
	for (i = 0; n + 16 < big; i++)
		n += (size_t)sprintf(line + n, ", dane=");
	cr_assert_eq(audit_parse(line, n, &r), AUDIT_MALFORMED);
	/* quotes over and over */
	n = (size_t)sprintf(line, RFC "STARTTLS=client, relay=m, dane=dane, "
	    "nexthop=x.example, base=m, mode=audit, ");
	memset(line + n, '"', big);
	n += big;
	cr_assert_eq(audit_parse(line, n, &r), AUDIT_INCOMPLETE);
	free(line);
}

/* --- counting ---------------------------------------------------------- */

static struct audit *
audit_of(const struct audit_opts *o, const char *const *lines, size_t n)
{
	struct audit *a = audit_new(o);
	size_t i;

	cr_assert_not_null(a);
	for (i = 0; i < n; i++)
		cr_assert_eq(audit_feed(a, lines[i], strlen(lines[i])), 0);
	cr_assert_eq(audit_selfcheck(a), 0);
	return a;
}

static struct audit_counts
counts(const struct audit *a, const char *d, const char *canon,
    const char **adv)
{
	struct audit_counts c;

	cr_assert_eq(audit_domain_counts(a, d, canon, &c, adv), 0,
	    "no row for %s", d);
	return c;
}

static const char *const sample[] = {
	"Dec  1 08:00:01 mx sm-mta[1201]: 4B18001a001201: from=<a@local>, "
	"size=312, class=0, nrcpts=1, relay=root@localhost",
	"Dec  1 08:00:02 mx sm-mta[1202]: " M_AUTH,
	RFC M_AUTH,
	RFC "STARTTLS=client, relay=mx2.example.com, dane=dane, "
	"nexthop=example.com, base=mx2.example.com, mode=audit, "
	"reason=usable TLSA records, tlsa=1 usable/0 unusable "
	"[2 1 1 aabbccddeeff0011...], match=2 1 1 aabbccddeeff0011... at "
	"depth 1, verdict=OK",
	RFC M_FAIL,
	RFC M_FAIL,
	RFC M_SKIP,
	RFC M_OPP,
	RFC M_ENC,
	RFC M_CANON,
	RFC M_ERR,
	/* not counted by default: another mode */
	RFC "STARTTLS=client, relay=mx1.example.com, dane=dane, "
	"nexthop=example.com, base=mx1.example.com, mode=dane, "
	"reason=usable TLSA records, tlsa=1 usable/0 unusable "
	"[3 1 1 81abbd0cd46bfc54...], match=-, verdict=FAIL \"DANE: no "
	"TLSA record of mx1.example.com matched the certificate: x\"",
	RFC "STARTTLS=client, relay=mx.other.example, dane=opportunistic, "
	"nexthop=other.example, base=-, mode=dane, reason=no TLSA records, "
	"tlsa=0 usable/0 unusable, match=-, verdict=OK",
	/* never counted */
	"Dec  3 11:52:33 mx postfix/smtp[9]: " M_AUTH,
	RFC "STARTTLS=client, relay=m, dane=dane, nexthop=x.example, "
	"base=m, mode=audit, reason=r, tlsa=x usable/0 unusable, match=-, "
	"verdict=OK",
};

Test(count, audit_mode_only_by_default)
{
	struct audit_opts o = { 0 };
	struct audit *a = audit_of(&o, sample, N(sample));
	struct audit_counts c;
	const char *adv;

	cr_assert_eq(audit_lines_read(a), N(sample));
	cr_assert_eq(audit_lines_counted(a), 10);
	cr_assert_eq(audit_lines_unparsed(a), 1);
	cr_assert_eq(audit_domain_count(a), 6);

	c = counts(a, "example.com", NULL, &adv);
	cr_assert_eq(c.authenticated, 3);
	cr_assert_eq(c.deferred, 0);
	cr_assert_str_eq(adv, "enforce");
	cr_assert_eq(audit_host_counts(a, "example.com", NULL,
	    "mx1.example.com", &c), 0);
	cr_assert_eq(c.authenticated, 2);
	cr_assert_eq(audit_host_counts(a, "example.com", NULL,
	    "mx2.example.com", &c), 0);
	cr_assert_eq(c.authenticated, 1);

	c = counts(a, "broken.example", NULL, &adv);
	cr_assert_eq(c.deferred, 3);
	cr_assert_eq(c.authenticated, 0);
	cr_assert_str_eq(adv, "check");
	cr_assert_eq(audit_host_counts(a, "broken.example", NULL,
	    "mx2.broken.example", &c), 0);
	cr_assert_eq(c.deferred, 1);

	c = counts(a, "plain.example", NULL, &adv);
	cr_assert_eq(c.opportunistic, 1);
	cr_assert_str_eq(adv, "none-needed");
	c = counts(a, "partner.example", NULL, &adv);
	cr_assert_eq(c.encrypted, 1);
	cr_assert_str_eq(adv, "enforce");
	c = counts(a, "alias.example", "target.example", &adv);
	cr_assert_eq(c.authenticated, 1);
	cr_assert_eq(audit_domain_counts(a, "alias.example", NULL, &c, NULL),
	    -1);
	/* refusals that name no mode count in every run */
	c = counts(a, "lame.example", NULL, &adv);
	cr_assert_eq(c.errors, 1);
	cr_assert_str_eq(adv, "check");
	cr_assert_eq(audit_domain_counts(a, "other.example", NULL, &c, NULL),
	    -1);
	audit_free(a);
}

Test(count, every_mode_with_all)
{
	struct audit_opts o = { .all = 1 };
	struct audit *a = audit_of(&o, sample, N(sample));
	struct audit_counts c;
	const char *adv;

	cr_assert_eq(audit_lines_counted(a), 12);
	c = counts(a, "example.com", NULL, &adv);
	cr_assert_eq(c.authenticated, 3);
	cr_assert_eq(c.deferred, 1);
	cr_assert_str_eq(adv, "check");
	c = counts(a, "other.example", NULL, &adv);
	cr_assert_eq(c.opportunistic, 1);
	cr_assert_str_eq(adv, "none-needed");
	audit_free(a);
}

Test(count, error_lines_with_a_mode_follow_the_filter)
{
	static const char *const lines[] = {
		TRAD "STARTTLS=client, relay=m, dane=error, nexthop=x.example, "
		"mode=dane, verdict=FAIL \"DANE: access map path unusable\"",
		TRAD "STARTTLS=client, relay=m, dane=error, nexthop=y.example, "
		"mode=audit, verdict=FAIL \"DANE: access map path unusable\"",
	};
	struct audit_opts o = { 0 };
	struct audit *a = audit_of(&o, lines, N(lines));
	struct audit_counts c;

	cr_assert_eq(audit_lines_counted(a), 1);
	cr_assert_eq(counts(a, "y.example", NULL, NULL).errors, 1);
	cr_assert_eq(audit_domain_counts(a, "x.example", NULL, &c, NULL), -1);
	audit_free(a);
}

Test(count, domain_filter_takes_subdomains)
{
	static const char *const lines[] = {
		RFC "STARTTLS=client, relay=m, dane=dane, nexthop=example.com, "
		"base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
		"match=-, verdict=OK",
		RFC "STARTTLS=client, relay=m, dane=dane, "
		"nexthop=sub.example.com, base=m, mode=audit, reason=r, "
		"tlsa=0 usable/0 unusable, match=-, verdict=OK",
		RFC "STARTTLS=client, relay=m, dane=dane, "
		"nexthop=badexample.com, base=m, mode=audit, reason=r, "
		"tlsa=0 usable/0 unusable, match=-, verdict=OK",
		RFC "STARTTLS=client, relay=m, dane=dane, nexthop=alias.net, "
		"canonical=mail.example.com, base=m, mode=audit, reason=r, "
		"tlsa=0 usable/0 unusable, match=-, verdict=OK",
		RFC "STARTTLS=client, relay=m, dane=dane, nexthop=com, base=m, "
		"mode=audit, reason=r, tlsa=0 usable/0 unusable, match=-, "
		"verdict=OK",
	};
	struct audit_opts o = { .domain = "Example.COM." };
	struct audit *a = audit_of(&o, lines, N(lines));
	struct audit_counts c;

	cr_assert_eq(audit_lines_counted(a), 3);
	cr_assert_eq(counts(a, "example.com", NULL, NULL).authenticated, 1);
	cr_assert_eq(counts(a, "sub.example.com", NULL, NULL).authenticated,
	    1);
	cr_assert_eq(counts(a, "alias.net", "mail.example.com", NULL)
	    .authenticated, 1);
	cr_assert_eq(audit_domain_counts(a, "badexample.com", NULL, &c, NULL),
	    -1);
	audit_free(a);
}

Test(count, since_skips_earlier_dated_lines)
{
	static const char *const lines[] = {
		"2026-11-30T23:59:59.999999+00:00 mx sm-mta[1]: " M_AUTH,
		"2026-12-01T00:00:00+00:00 mx sm-mta[1]: " M_AUTH,
		"2026-12-01T10:29:59Z mx sm-mta[1]: " M_AUTH,
		"2026-12-01T10:30:00Z mx sm-mta[1]: " M_AUTH,
		"Nov 30 10:00:00 mx sm-mta[1]: " M_AUTH,
	};
	struct audit_opts o = { 0 };
	struct audit *a;

	cr_assert_eq(audit_parse_since("2026-12-01", o.since), 0);
	a = audit_of(&o, lines, N(lines));
	/* lines without a year are kept */
	cr_assert_eq(counts(a, "example.com", NULL, NULL).authenticated, 4);
	audit_free(a);
	cr_assert_eq(audit_parse_since("2026-12-01T10:30", o.since), 0);
	a = audit_of(&o, lines, N(lines));
	cr_assert_eq(counts(a, "example.com", NULL, NULL).authenticated, 2);
	audit_free(a);
	cr_assert_eq(audit_parse_since("2026-12-01 10:30", o.since), 0);
	cr_assert_str_eq(o.since, "2026-12-01T10:30");

	cr_assert_eq(audit_parse_since("2026-12-1", o.since), -1);
	cr_assert_eq(audit_parse_since("2026-13-01", o.since), -1);
	cr_assert_eq(audit_parse_since("2026-12-01T24:00", o.since), -1);
	cr_assert_eq(audit_parse_since("2026-12-01T10", o.since), -1);
	cr_assert_eq(audit_parse_since("", o.since), -1);
	cr_assert_eq(audit_parse_since("yesterday", o.since), -1);
}

Test(count, incomplete_lines_ask_for_a_check)
{
	char cut[400];
	const char *lines[1] = { cut };
	struct audit_opts o = { 0 };
	struct audit *a;
	struct audit_counts c;
	const char *adv;

	snprintf(cut, sizeof(cut), "%.*s", (int)(strlen(RFC M_AUTH) - 20),
	    RFC M_AUTH);
	a = audit_of(&o, lines, 1);
	c = counts(a, "example.com", NULL, &adv);
	cr_assert_eq(c.incomplete, 1);
	cr_assert_eq(c.authenticated, 0);
	cr_assert_str_eq(adv, "check");
	audit_free(a);
}

Test(count, names_in_one_case_without_the_root_dot)
{
	static const char *const lines[] = {
		RFC "STARTTLS=client, relay=MX1.Example.COM., dane=dane, "
		"nexthop=Example.COM., base=m, mode=audit, reason=r, "
		"tlsa=0 usable/0 unusable, match=-, verdict=OK",
		RFC M_AUTH,
	};
	struct audit_opts o = { 0 };
	struct audit *a = audit_of(&o, lines, N(lines));
	struct audit_counts c;

	cr_assert_eq(audit_domain_count(a), 1);
	cr_assert_eq(audit_host_counts(a, "example.com", NULL,
	    "mx1.example.com", &c), 0);
	cr_assert_eq(c.authenticated, 2);
	audit_free(a);
}

Test(count, many_destinations)
{
	struct audit_opts o = { .all = 1 };
	struct audit *a = audit_new(&o);
	struct audit_counts c;
	char line[512];
	int i;

	cr_assert_not_null(a);
	for (i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), RFC "STARTTLS=client, "
		    "relay=mx%d.d%d.example, dane=%s, nexthop=d%d.example, "
		    "base=-, mode=dane, reason=r, tlsa=0 usable/0 unusable, "
		    "match=-, verdict=OK", i % 7, i % 5000,
		    i % 3 ? "dane" : "opportunistic", i % 5000);

		cr_assert_eq(audit_feed(a, line, (size_t)n), 0);
	}
	cr_assert_eq(audit_domain_count(a), 5000);
	cr_assert_eq(audit_lines_counted(a), 20000);
	cr_assert_eq(audit_selfcheck(a), 0);
	cr_assert_eq(audit_domain_counts(a, "d0.example", NULL, &c, NULL), 0);
	cr_assert_eq(c.authenticated + c.opportunistic, 4);
	audit_free(a);
}

/* --- output ------------------------------------------------------------ */

static char *
output(const struct audit *a, int json)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	cr_assert_not_null(f);
	cr_assert_eq(json ? audit_print_json(a, f) : audit_print_table(a, f),
	    0);
	fclose(f);
	return buf;
}

static json_object *
member(json_object *o, const char *key, json_type type)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	cr_assert_eq(json_object_get_type(v), type, "\"%s\" has type %s",
	    key, json_type_to_name(json_object_get_type(v)));
	return v;
}

static json_object *
find_domain(json_object *doms, const char *name)
{
	size_t i;

	for (i = 0; i < json_object_array_length(doms); i++) {
		json_object *d = json_object_array_get_idx(doms, i);

		if (strcmp(json_object_get_string(member(d, "domain",
		    json_type_string)), name) == 0)
			return d;
	}
	cr_assert_fail("no domain %s", name);
	return NULL;
}

static long long
count_of(json_object *o, const char *key)
{
	return (long long)json_object_get_int64(member(member(o, "counts",
	    json_type_object), key, json_type_int));
}

Test(output, json_document_shape)
{
	static const char *const keys[] = { "authenticated", "deferred",
		"encrypted", "opportunistic", "errors", "incomplete" };
	struct audit_opts o = { 0 };
	struct audit *a = audit_of(&o, sample, N(sample));
	char *text = output(a, 1);
	json_object *top = json_tokener_parse(text), *doms, *d, *h, *df, *t;
	size_t i, k;
	const char *prev = "";

	cr_assert_not_null(top, "not JSON: %s", text);
	cr_assert_eq(json_object_get_type(top), json_type_object);
	member(top, "files", json_type_array);
	cr_assert_eq(json_object_get_int64(member(top, "lines",
	    json_type_int)), 10);
	cr_assert_eq(json_object_get_int64(member(top, "unparsed",
	    json_type_int)), 1);
	doms = member(top, "domains", json_type_array);
	cr_assert_eq(json_object_array_length(doms), 6);
	for (i = 0; i < json_object_array_length(doms); i++) {
		const char *name;

		d = json_object_array_get_idx(doms, i);
		name = json_object_get_string(member(d, "domain",
		    json_type_string));
		cr_assert(strcmp(prev, name) < 0, "%s after %s", name, prev);
		prev = name;
		cr_assert(json_object_object_get_ex(d, "canonical", NULL));
		member(d, "first", json_type_string);
		member(d, "last", json_type_string);
		member(d, "advice", json_type_string);
		member(d, "deferrals", json_type_array);
		for (k = 0; k < N(keys); k++)
			count_of(d, keys[k]);
		h = member(d, "hosts", json_type_array);
		cr_assert_gt(json_object_array_length(h), 0);
		for (k = 0; k < json_object_array_length(h); k++) {
			json_object *x = json_object_array_get_idx(h, k);

			member(x, "host", json_type_string);
			member(x, "first", json_type_string);
			member(x, "last", json_type_string);
			member(x, "counts", json_type_object);
			member(x, "deferrals", json_type_array);
		}
	}

	d = find_domain(doms, "alias.example");
	cr_assert_str_eq(json_object_get_string(member(d, "canonical",
	    json_type_string)), "target.example");
	d = find_domain(doms, "example.com");
	cr_assert_null(json_object_object_get(d, "canonical"));
	cr_assert_eq(count_of(d, "authenticated"), 3);
	cr_assert_str_eq(json_object_get_string(member(d, "advice",
	    json_type_string)), "enforce");
	cr_assert_str_eq(json_object_get_string(member(d, "first",
	    json_type_string)), "Dec  1 08:00:02");
	h = member(d, "hosts", json_type_array);
	cr_assert_eq(json_object_array_length(h), 2);
	cr_assert_str_eq(json_object_get_string(member(
	    json_object_array_get_idx(h, 0), "host", json_type_string)),
	    "mx1.example.com");

	d = find_domain(doms, "broken.example");
	cr_assert_eq(count_of(d, "deferred"), 3);
	cr_assert_str_eq(json_object_get_string(member(d, "advice",
	    json_type_string)), "check");
	df = member(d, "deferrals", json_type_array);
	cr_assert_eq(json_object_array_length(df), 2);
	/* the most frequent reason first, with its records and match */
	t = json_object_array_get_idx(df, 0);
	cr_assert_eq(json_object_get_int64(member(t, "count",
	    json_type_int)), 2);
	cr_assert(strstr(json_object_get_string(member(t, "reason",
	    json_type_string)), "no TLSA record of mx.broken.example") != NULL);
	cr_assert_str_eq(json_object_get_string(member(t, "match",
	    json_type_string)), "no TLSA record matched, peer spki sha256 "
	    "9f86d081884c7d65...");
	t = member(t, "tlsa", json_type_array);
	cr_assert_eq(json_object_array_length(t), 2);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(t,
	    0)), "3 1 1 0123456789abcdef...");
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(t,
	    1)), "2 1 1 fedcba9876543210...");
	t = json_object_array_get_idx(df, 1);
	cr_assert_null(json_object_object_get(t, "match"));
	cr_assert_eq(json_object_array_length(member(t, "tlsa",
	    json_type_array)), 0);

	d = find_domain(doms, "plain.example");
	cr_assert_str_eq(json_object_get_string(member(d, "advice",
	    json_type_string)), "none-needed");
	d = find_domain(doms, "lame.example");
	cr_assert_eq(count_of(d, "errors"), 1);
	t = member(d, "error_reasons", json_type_array);
	cr_assert_eq(json_object_array_length(t), 1);

	json_object_put(top);
	free(text);
	audit_free(a);
}

Test(output, json_stays_valid_with_hostile_bytes)
{
	char line[512], *text;
	struct audit_opts o = { 0 };
	struct audit *a = audit_new(&o);
	json_object *top, *d;
	int n;

	cr_assert_not_null(a);
	n = snprintf(line, sizeof(line), RFC "STARTTLS=client, "
	    "relay=m\x01\"\\\xff, dane=dane, nexthop=e\xc3\x28.example, "
	    "base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
	    "match=\x1b[31m, verdict=FAIL \"DANE: \x7f\"");
	cr_assert_eq(audit_feed(a, line, (size_t)n), 0);
	text = output(a, 1);
	top = json_tokener_parse(text);
	cr_assert_not_null(top, "not JSON: %s", text);
	d = json_object_array_get_idx(member(top, "domains",
	    json_type_array), 0);
	cr_assert_str_eq(json_object_get_string(member(d, "domain",
	    json_type_string)), "e\\xc3(.example");
	cr_assert_str_eq(json_object_get_string(member(
	    json_object_array_get_idx(member(d, "hosts", json_type_array), 0),
	    "host", json_type_string)), "m\\x01\"\\\\xff");
	json_object_put(top);
	free(text);
	text = output(a, 0);
	for (n = 0; text[n] != '\0'; n++)
		cr_assert(text[n] == '\n' || (text[n] >= 0x20 &&
		    text[n] <= 0x7e), "byte %#x in the table",
		    (unsigned char)text[n]);
	free(text);
	audit_free(a);
}

Test(output, json_of_nothing)
{
	struct audit_opts o = { 0 };
	struct audit *a = audit_new(&o);
	char *text = output(a, 1);
	json_object *top = json_tokener_parse(text);

	cr_assert_not_null(top);
	cr_assert_eq(json_object_array_length(member(top, "domains",
	    json_type_array)), 0);
	cr_assert_eq(json_object_get_int64(member(top, "lines",
	    json_type_int)), 0);
	json_object_put(top);
	free(text);
	audit_free(a);
}

Test(output, table)
{
	struct audit_opts o = { 0 };
	struct audit *a = audit_of(&o, sample, N(sample));
	char *text = output(a, 0), *p, *q;

	/* domains sorted, servers indented under them, reasons below */
	p = strstr(text, "\nalias.example (canonical target.example) ");
	cr_assert_not_null(p, "%s", text);
	q = strstr(p, "\nbroken.example ");
	cr_assert_not_null(q, "%s", text);
	cr_assert(strstr(p, "\n  mx.target.example ") < q);
	p = strstr(q, "\n  mx.broken.example ");
	cr_assert_not_null(p, "%s", text);
	p = strstr(p, "\n      deferred 2x: DANE: no TLSA record of "
	    "mx.broken.example matched");
	cr_assert_not_null(p, "%s", text);
	cr_assert_not_null(strstr(p, "\n        tlsa: 3 1 1 "
	    "0123456789abcdef...; 2 1 1 fedcba9876543210...\n"));
	cr_assert_not_null(strstr(p, "\n        match: no TLSA record "
	    "matched"));
	cr_assert_not_null(strstr(text, "\n      error 1x: DANE: DNS lookups "
	    "impossible"));
	p = strstr(text, "\nbroken.example ");
	cr_assert_not_null(strstr(p, " check "));
	cr_assert_not_null(strstr(text, "\nplain.example"));
	cr_assert_not_null(strstr(strstr(text, "\nplain.example"),
	    " none-needed "));
	cr_assert_not_null(strstr(text, "1 line looked like the module's"));
	free(text);
	audit_free(a);

	/* --all shows the modes of each row */
	o.all = 1;
	a = audit_of(&o, sample, N(sample));
	text = output(a, 0);
	cr_assert_not_null(strstr(text, " MODES "), "%s", text);
	p = strstr(text, "\nexample.com ");
	cr_assert_not_null(p);
	cr_assert_not_null(strstr(p, " dane,audit "), "%s", p);
	free(text);
	audit_free(a);
}

/* --- reading ----------------------------------------------------------- */

static char tmpdir[64];

static void
mkdirs(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/smdane-audit-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rmdirs(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (tmpdir[0] != '\0')
		cr_assert_eq(system(cmd), 0);
}

TestSuite(read, .init = mkdirs, .fini = rmdirs);

static void
path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void
write_file(const char *name, const char *text, size_t len)
{
	char path[128];
	FILE *f;

	path_of(path, sizeof(path), name);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void
write_gz(const char *name, const char *mode, const char *text)
{
	char path[128];
	gzFile g;

	path_of(path, sizeof(path), name);
	cr_assert_not_null(g = gzopen(path, mode));
	cr_assert_eq(gzputs(g, text), (int)strlen(text));
	cr_assert_eq(gzclose(g), Z_OK);
}

static struct audit *
read_one(const char *name, int want)
{
	struct audit_opts o = { 0 };
	struct audit *a = audit_new(&o);
	char path[128], err[256] = "";

	path_of(path, sizeof(path), name);
	cr_assert_not_null(a);
	cr_assert_eq(audit_read_file(a, path, err, sizeof(err)), want,
	    "%s: %s", name, err);
	if (want == AUDIT_IOERR)
		cr_assert(strstr(err, path) == err, "message %s", err);
	return a;
}

Test(read, gzip_files)
{
	struct audit *a;

	/* two gzip members, as zcat reads them */
	write_gz("mail.log.2.gz", "wb", RFC M_AUTH "\n" RFC M_FAIL "\n");
	write_gz("mail.log.2.gz", "ab", WORLD M_SKIP "\n" TRAD M_OPP "\n");
	a = read_one("mail.log.2.gz", 0);
	cr_assert_eq(audit_lines_read(a), 4);
	cr_assert_eq(audit_lines_counted(a), 4);
	cr_assert_eq(counts(a, "broken.example", NULL, NULL).deferred, 2);
	cr_assert_eq(audit_selfcheck(a), 0);
	audit_free(a);
}

Test(read, plain_files_and_line_ends)
{
	static const char text[] = RFC M_AUTH "\r\n" "\n" TRAD M_ERR "\n"
	    WORLD M_OPP;	/* the last line without its newline */
	struct audit *a;

	write_file("mail.log", text, sizeof(text) - 1);
	a = read_one("mail.log", 0);
	cr_assert_eq(audit_lines_read(a), 4);
	cr_assert_eq(audit_lines_counted(a), 3);
	audit_free(a);
	write_file("empty", "", 0);
	a = read_one("empty", 0);
	cr_assert_eq(audit_lines_read(a), 0);
	audit_free(a);
}

Test(read, lines_past_the_limit_are_skipped)
{
	size_t n = AUDIT_LINE_MAX + 100, k;
	char *text = malloc(n + 2 * 1024);
	struct audit *a;

	cr_assert_not_null(text);
	k = (size_t)sprintf(text, "%s", RFC "STARTTLS=client, relay=");
	memset(text + k, 'a', n - k);
	k = n;
	k += (size_t)sprintf(text + k, ", dane=dane, nexthop=x.example, "
	    "base=m, mode=audit, reason=r, tlsa=0 usable/0 unusable, "
	    "match=-, verdict=OK\n%s\n", RFC M_AUTH);
	write_file("long", text, k);
	a = read_one("long", 0);
	cr_assert_eq(audit_lines_read(a), 2);
	cr_assert_eq(audit_lines_counted(a), 1);
	cr_assert_eq(counts(a, "example.com", NULL, NULL).authenticated, 1);
	audit_free(a);
	free(text);
}

Test(read, unreadable_files_are_named)
{
	char path[128];
	struct audit *a;
	FILE *f;
	long size;

	audit_free(read_one("missing", AUDIT_IOERR));
	path_of(path, sizeof(path), "dir");
	cr_assert_eq(mkdir(path, 0700), 0);
	audit_free(read_one("dir", AUDIT_IOERR));
	/* a gzip file cut short (being rotated): what was read counts */
	write_gz("cut.gz", "wb", RFC M_AUTH "\n" RFC M_AUTH "\n" RFC M_FAIL
	    "\n");
	path_of(path, sizeof(path), "cut.gz");
	cr_assert_not_null(f = fopen(path, "r+"));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	cr_assert_eq(ftruncate(fileno(f), size - 12), 0);
	fclose(f);
	a = read_one("cut.gz", AUDIT_IOERR);
	cr_assert_eq(audit_selfcheck(a), 0);
	audit_free(a);
}

Test(read, from_a_pipe)
{
	static const char text[] = RFC M_AUTH "\n" RFC M_FAIL "\n";
	struct audit_opts o = { 0 };
	struct audit *a = audit_new(&o);
	char err[128];
	int fd[2];

	cr_assert_eq(pipe(fd), 0);
	cr_assert_eq(write(fd[1], text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd[1]);
	cr_assert_eq(audit_read_fd(a, fd[0], "-", err, sizeof(err)), 0);
	close(fd[0]);
	cr_assert_eq(audit_lines_counted(a), 2);
	audit_free(a);
}

Test(read, default_files_oldest_first)
{
	static const char *const names[] = { "mail.log", "mail.log.1",
		"mail.log.2.gz", "mail.log.10.gz", "mail.log.3.gz",
		"mail.logx", "mail.log.old.gz" };
	static const char *const want[] = { "mail.log.10.gz", "mail.log.3.gz",
		"mail.log.2.gz", "mail.log.old.gz", "mail.log.1", "mail.log" };
	char log[128], **files;
	size_t i, n;

	for (i = 0; i < N(names); i++)
		write_file(names[i], "", 0);
	path_of(log, sizeof(log), "mail.log");
	cr_assert_eq(audit_default_files(log, &files, &n), 0);
	cr_assert_eq(n, N(want));
	for (i = 0; i < n; i++)
		cr_assert_str_eq(strrchr(files[i], '/') + 1, want[i]);
	audit_files_free(files, n);

	/* no rotations, no log: the log is still named (and cannot be
	 * read then) */
	path_of(log, sizeof(log), "none.log");
	cr_assert_eq(audit_default_files(log, &files, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(files[0], log);
	audit_files_free(files, n);
}

/* --- memory ------------------------------------------------------------ */

Test(memory, every_allocation_may_fail)
{
	long n;
	int failed = 0, passed = 0;

	for (n = 0; n < 400; n++) {
		struct audit_opts o = { 0 };
		struct audit *a;
		char *buf = NULL;
		size_t size = 0, i;
		FILE *f;
		int rc = 0;

		audit_fail_alloc_after(n);
		if ((a = audit_new(&o)) == NULL) {
			audit_fail_alloc_after(-1);
			failed++;
			continue;
		}
		for (i = 0; i < N(sample) && rc == 0; i++)
			rc = audit_feed(a, sample[i], strlen(sample[i]));
		cr_assert(rc == 0 || rc == AUDIT_NOMEM);
		if (rc == 0) {
			cr_assert_not_null(f = open_memstream(&buf, &size));
			rc = audit_print_table(a, f);
			cr_assert(rc == 0 || rc == AUDIT_NOMEM);
			if (rc == 0)
				rc = audit_print_json(a, f);
			fclose(f);
			free(buf);
		} else
			/* once out of memory, it says so to every caller */
			cr_assert_eq(audit_feed(a, sample[0],
			    strlen(sample[0])), AUDIT_NOMEM);
		audit_fail_alloc_after(-1);
		if (rc == 0) {
			cr_assert_eq(audit_selfcheck(a), 0);
			passed++;
		} else
			failed++;
		audit_free(a);
	}
	cr_assert_gt(failed, 0);
	cr_assert_gt(passed, 0, "never enough allocations in 400");
}

/* --- the program ------------------------------------------------------- */

static char prog[512];

static void
find_prog(void)
{
	const char *b = getenv("top_builddir");
	char cwd[256];

	/* make check exports top_builddir; else run from the build tree */
	if (b == NULL)
		b = getcwd(cwd, sizeof(cwd));
	snprintf(prog, sizeof(prog), "%s/tools/sendmail-dane-audit",
	    b != NULL ? b : ".");
	mkdirs();
}

TestSuite(program, .init = find_prog, .fini = rmdirs);

/* exit status of sh -c cmd, its standard output in out */
static int
run(const char *cmd, char *out, size_t size)
{
	char full[8192];
	FILE *p;
	size_t n;
	int st;

	if (access(prog, X_OK) != 0)
		cr_skip_test("%s not built", prog);
	snprintf(full, sizeof(full), "cd '%s' && %s 2>&1", tmpdir, cmd);
	cr_assert_not_null(p = popen(full, "r"));
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	st = pclose(p);
	cr_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

Test(program, exit_codes)
{
	char cmd[4096], out[65536];

	write_file("mail.log", RFC M_AUTH "\n", strlen(RFC M_AUTH) + 1);
	snprintf(cmd, sizeof(cmd), "'%s' mail.log", prog);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\nexample.com "), "%s", out);

	snprintf(cmd, sizeof(cmd), "'%s' --bogus", prog);
	cr_assert_eq(run(cmd, out, sizeof(out)), 2);
	cr_assert_not_null(strstr(out, "usage: sendmail-dane-audit"));
	snprintf(cmd, sizeof(cmd), "'%s' --since 2026-12", prog);
	cr_assert_eq(run(cmd, out, sizeof(out)), 2);
	cr_assert_not_null(strstr(out, "usage:"));
	snprintf(cmd, sizeof(cmd), "'%s' --domain '' mail.log", prog);
	cr_assert_eq(run(cmd, out, sizeof(out)), 2);

	/* a file that cannot be read is named; the others still count */
	snprintf(cmd, sizeof(cmd), "'%s' nosuch.log mail.log", prog);
	cr_assert_eq(run(cmd, out, sizeof(out)), 1);
	cr_assert_not_null(strstr(out, "cannot read nosuch.log: No such "
	    "file or directory"), "%s", out);
	cr_assert_not_null(strstr(out, "\nexample.com "), "%s", out);
}

Test(program, json_from_standard_input)
{
	char cmd[4096], out[65536];
	json_object *top;

	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' '%s' | '%s' --json "
	    "--all -", "2026-12-03T11:52:33+0100 mx sendmail[1]: " M_AUTH,
	    WORLD M_OPP, prog);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
	top = json_tokener_parse(out);
	cr_assert_not_null(top, "%s", out);
	cr_assert_eq(json_object_get_int64(member(top, "lines",
	    json_type_int)), 2);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    member(top, "files", json_type_array), 0)), "-");
	json_object_put(top);
}
