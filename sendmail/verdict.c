/*
 * NAME
 *	verdict.c - the verdict channel between sendmail.cf rules and the hook
 *
 * DESCRIPTION
 *	FEATURE(`dane') makes the rulesets try_tls, tls_server and tls_rcpt
 *	look up, through a `dns' map of type TXT, a name of the form
 *
 *	    _p.<phase>._v.<verify>._s.<server_name>._a.<server_addr>
 *	    ._h.<next hop>._r.<recipient domain>._c.<certificate digest>
 *	    .v1.<a label of 68 octets>.dane-hook.invalid.
 *
 *	(one name; empty fields are "none").
 *
 *	The hook answers such names itself from its res_search() interposer;
 *	the names never reach a resolver while the module is loaded.  When
 *	it is not loaded, glibc cannot even encode the name (a label longer
 *	than 63 octets) and fails the lookup without sending anything, so
 *	the rules defer whatever any resolver would answer: the channel
 *	fails closed without help from DNS.  The reply the hook builds
 *	carries the root name as its question for the same reason.
 *
 *	The answer is "OK" or FAIL "<reason>".  sendmail re-tokenises the
 *	text, so reasons are quoted and limited to characters that survive
 *	that: printable ASCII without double quotes, backslashes, percent
 *	signs and parentheses, at most SMDANE_REASON_MAX characters.
 */
#include <arpa/nameser.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smdane.h"

#define SMDANE_REASON_MAX 230

int
smdane_is_channel_name(const char *name)
{
	size_t n = strlen(name), s = sizeof(SMDANE_SUFFIX) - 1;

	if (n > 0 && name[n - 1] == '.')
		n--;
	return n > s && strncasecmp(name + n - s, SMDANE_SUFFIX, s) == 0;
}

static int
copy_field(char *dst, size_t size, const char *from, const char *to)
{
	size_t n = (size_t)(to - from), i;

	if (to < from || n >= size)
		return -1;
	for (i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)from[i]);
	dst[n] = '\0';
	return 0;
}

int
smdane_query_parse(const char *name, struct smdane_query *q)
{
	static const char *const marks[] = { "._v.", "._s.", "._a.", "._h.",
		"._r.", "._c." };
	char *const fields[] = { q->phase, q->verify, q->server, q->addr,
		q->nexthop, q->rcpt, q->certfp };
	const size_t sizes[] = { sizeof(q->phase), sizeof(q->verify),
		sizeof(q->server), sizeof(q->addr), sizeof(q->nexthop),
		sizeof(q->rcpt), sizeof(q->certfp) };
	const size_t nf = sizeof(fields) / sizeof(fields[0]);
	const char *at[8], *end, *m;
	size_t n = strlen(name), i, j, k;

	memset(q, 0, sizeof(*q));
	if (!smdane_is_channel_name(name) || strncasecmp(name, "_p.", 3) != 0)
		return -1;
	if (name[n - 1] == '.')
		n--;
	end = name + n - (sizeof(SMDANE_SUFFIX) - 1);
	/* every marker exactly once: a field (a host name chosen by the
	 * destination) must not be able to shift the others */
	for (i = 0; i < nf - 1; i++) {
		for (k = 0, m = name; (m = strstr(m, marks[i])) != NULL &&
		    m < end; m += 4)
			k++;
		if (k != 1)
			return -1;
	}
	at[0] = name + 3;
	for (i = 0; i < nf - 1; i++) {
		m = strstr(at[i], marks[i]);
		if (m == NULL || m > end)
			return -1;
		at[i + 1] = m + 4;
	}
	for (i = 0; i < nf; i++) {
		const char *stop = i < nf - 1 ? at[i + 1] - 4 : end;

		if (copy_field(fields[i], sizes[i], at[i], stop) != 0 ||
		    fields[i][0] == '\0')
			return -1;
		if (i >= 2 && strcmp(fields[i], "none") == 0)
			fields[i][0] = '\0';
	}
	/* keep only the hex digits of the fingerprint */
	for (i = j = 0; q->certfp[i] != '\0'; i++)
		if (isxdigit((unsigned char)q->certfp[i]))
			q->certfp[j++] = q->certfp[i];
	q->certfp[j] = '\0';
	if (q->nexthop[0] == '\0')
		return -1;
	return 0;
}

/* Encode name in wire form; the root name if it cannot be encoded. */
static int
put_name(const char *name, unsigned char *p, int size)
{
	const char *label = name, *dot;
	int len = 0;
	size_t l;

	while (*label != '\0') {
		dot = strchr(label, '.');
		l = dot != NULL ? (size_t)(dot - label) : strlen(label);
		if (l == 0 || l > 63 || len + (int)l + 2 > 255 ||
		    len + (int)l + 2 > size)
			goto root;
		p[len++] = (unsigned char)l;
		memcpy(p + len, label, l);
		len += (int)l;
		if (dot == NULL)
			break;
		label = dot + 1;
	}
	if (len + 1 > size)
		return -1;
	p[len++] = 0;
	return len;
root:
	if (size < 1)
		return -1;
	p[0] = 0;
	return 1;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

int
smdane_txt_response(const char *name, const char *text, unsigned char *buf,
    int size)
{
	size_t tlen = strlen(text);
	int len, n;

	if (tlen > 255)
		tlen = 255;
	if (size < 12)
		return -1;
	memset(buf, 0, 12);
	buf[2] = 0x85;		/* QR, AA, RD */
	buf[3] = 0x80;		/* RA, NOERROR */
	put16(buf + 4, 1);	/* QDCOUNT */
	put16(buf + 6, 1);	/* ANCOUNT */
	len = 12;
	n = put_name(name, buf + len, size - len);
	if (n < 0 || len + n + 4 + 12 + 1 + (int)tlen > size)
		return -1;
	len += n;
	put16(buf + len, ns_t_txt);
	put16(buf + len + 2, ns_c_in);
	len += 4;
	put16(buf + len, 0xc00c);	/* owner: the question name */
	put16(buf + len + 2, ns_t_txt);
	put16(buf + len + 4, ns_c_in);
	memset(buf + len + 6, 0, 4);	/* TTL 0 */
	put16(buf + len + 10, (unsigned)tlen + 1);
	len += 12;
	buf[len++] = (unsigned char)tlen;
	memcpy(buf + len, text, tlen);
	return len + (int)tlen;
}

void
smdane_sanitize(char *dst, size_t size, const char *text)
{
	size_t i = 0;

	if (size == 0)
		return;
	for (; *text != '\0' && i + 1 < size; text++) {
		unsigned char ch = (unsigned char)*text;

		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ||
		    ch == '%' || ch == '(' || ch == ')')
			ch = '?';
		dst[i++] = (char)ch;
	}
	dst[i] = '\0';
}

int
smdane_verify_is_tls(const char *verify)
{
	/* tls_get_info(): OK, NO (no certificate), FAIL (not verified) */
	return strcasecmp(verify, "ok") == 0 || strcasecmp(verify, "fail") == 0 ||
	    strcasecmp(verify, "no") == 0 || strcasecmp(verify, "trusted") == 0;
}

static void
fail(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(char *out, size_t size, const char *fmt, ...)
{
	char reason[SMDANE_REASON_MAX + 1], clean[SMDANE_REASON_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	smdane_sanitize(clean, sizeof(clean), reason);
	snprintf(out, size, "FAIL \"%s\"", clean);
}

/* FNV-1a, 64 bits: an identity check, not a security boundary. */
static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
smdane_policy_digest(const struct dane_policy *p, uint16_t port)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	h = fnv(h, &port, sizeof(port));
	h = fnv(h, p->base_domain, strlen(p->base_domain) + 1);
	for (i = 0; i < p->usable_count; i++) {
		const struct dane_tlsa_rr *rr = &p->usable[i];
		unsigned char head[3] = { rr->usage, rr->selector, rr->mtype };

		h = fnv(h, head, sizeof(head));
		h = fnv(h, &rr->len, sizeof(rr->len));
		if (rr->data != NULL)
			h = fnv(h, rr->data, rr->len);
	}
	return h;
}

void
smdane_verdict(enum smdane_mode mode, const struct dane_policy *p,
    uint16_t port, const struct smdane_query *q,
    const struct smdane_conn *conn, char *out, size_t size)
{
	const char *why = dane_reason_text(p->reason);
	const char *host = q->server[0] != '\0' ? q->server : q->nexthop;
	const char *need;
	enum dane_level level = p->level;
	int tls;

	if (mode == SMDANE_MODE_NONE) {
		snprintf(out, size, "OK");
		return;
	}
	if (level == DANE_LEVEL_SKIP || level == DANE_LEVEL_DEFER) {
		/* name the TLSA base when it is not the host (CNAME target) */
		int other = p->reason == DANE_R_TLSA_FAILED &&
		    p->base_domain[0] != '\0' &&
		    strcasecmp(p->base_domain, host) != 0;

		fail(out, size, "DANE: %s for %s%s%s", why, host,
		    other ? " at " : "", other ? p->base_domain : "");
		return;
	}
	if (mode == SMDANE_MODE_ONLY && level != DANE_LEVEL_AUTH) {
		fail(out, size, "DANE required but %s for %s", why, host);
		return;
	}
	need = "its TLSA records require TLS";
	if (mode == SMDANE_MODE_ENCRYPT && level == DANE_LEVEL_OPP) {
		level = DANE_LEVEL_ENCRYPT;
		need = "the access map requires TLS";
	}
	if (strcmp(q->phase, "try_tls") == 0 || level == DANE_LEVEL_OPP) {
		snprintf(out, size, "OK");
		return;
	}
	tls = smdane_verify_is_tls(q->verify) && conn != NULL && conn->tls;
	/* OpenSSL accepted none of these usable records when this
	 * connection was set up: TLS without authentication (RFC 7672
	 * section 2.2); only for the records and port it was set up with */
	if (tls && level == DANE_LEVEL_AUTH &&
	    conn->level == DANE_LEVEL_ENCRYPT &&
	    conn->checked_against == smdane_policy_digest(p, port))
		level = DANE_LEVEL_ENCRYPT;
	if (!tls) {
		if (strcasecmp(q->verify, "none") == 0)
			fail(out, size, "DANE: no STARTTLS with %s, %s", host,
			    need);
		else
			fail(out, size, "DANE: TLS with %s failed, verify=%s, "
			    "%s", host, q->verify, need);
		return;
	}
	if (level == DANE_LEVEL_ENCRYPT) {
		snprintf(out, size, "OK");
		return;
	}
	if (!conn->auth.authenticated && conn->auth.detail[0] == '\0') {
		/* a cached connection opened under a weaker policy */
		fail(out, size, "DANE: connection to %s was opened without "
		    "DANE authentication, not used for %s", host, q->nexthop);
		return;
	}
	if (!conn->auth.authenticated) {
		fail(out, size, "DANE: no TLSA record of %s matched "
		    "the certificate: %s", host, conn->auth.detail);
		return;
	}
	if (conn->checked_against != smdane_policy_digest(p, port)) {
		fail(out, size, "DANE: connection to %s was checked against "
		    "other TLSA records or another port", host);
		return;
	}
	if (conn->auth.matched.usage == DANE_USAGE_DANE_TA &&
	    strcmp(conn->nexthop, q->nexthop) != 0) {
		fail(out, size, "DANE: cached connection to %s was "
		    "authenticated for %s", host, conn->nexthop);
		return;
	}
	snprintf(out, size, "OK");
}
