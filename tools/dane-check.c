/*
 * NAME
 *	sendmail-dane-check - what sendmail with the DANE module would do
 *	with a message to a destination, found by asking its servers
 *
 * SYNOPSIS
 *	sendmail-dane-check [-r resolv.conf] [-u upstream] [-a anchor]
 *	    [-c unbound.conf] [-t seconds] [-o] [-p port]
 *	    [-s default|strict|ta-digests] [-v] [--json] [--no-connect]
 *	    [--cf file] [--access file] [--mailer name] [--sendmail path]
 *	    [--ehlo name] [--timeout seconds] [--max-time seconds]
 *	    [--warn-days days] destination [host...]
 *
 * DESCRIPTION
 *	sendmail-dane-check(8) has the whole story.  In short: the
 *	destination's mailer and next hop come from `sendmail -bv` with
 *	the live sendmail.cf, its mode from the mailer's A= argument and
 *	the DANE: entries of the access map (view.c); the MX hosts from
 *	the system resolver in sendmail's order; the policy of each host
 *	from libdane (dane_gather(), dane_decide()) with the cf's
 *	D{smdane_*} settings, which the options override; each address is
 *	probed with SMTP and STARTTLS, the SSL object set up as the module
 *	sets it up (probe.c); the module's answer is smdane_verdict()'s
 *	(sendmail/verdict.c, linked in) and the destination's verdict the
 *	first host that would accept the message (report.c prints it).
 *
 * DIAGNOSTICS
 *	Exit status 0 when the message would be delivered (authenticated,
 *	encrypted, opportunistic), 1 when it would stay queued (deferred)
 *	or be returned (bounced), 2 on usage and local errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "health.h"
#include "probe.h"
#include "report.h"
#include "view.h"

#define PROG "sendmail-dane-check"

static int verbose;

static void
to_stderr(void *arg, int prio, const char *line)
{
	(void)arg;
	if (prio < LOG_DEBUG || verbose)
		fprintf(stderr, PROG ": %s\n", line);
}

enum {
	OPT_JSON = 256, OPT_PORT, OPT_TIMEOUT, OPT_NO_CONNECT, OPT_CF,
	OPT_ACCESS, OPT_MAILER, OPT_EHLO, OPT_WARN_DAYS, OPT_SENDMAIL,
	OPT_MAX_TIME, OPT_HEALTH, OPT_HELP
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "max-time", required_argument, NULL, OPT_MAX_TIME },
	{ "no-connect", no_argument, NULL, OPT_NO_CONNECT },
	{ "cf", required_argument, NULL, OPT_CF },
	{ "access", required_argument, NULL, OPT_ACCESS },
	{ "mailer", required_argument, NULL, OPT_MAILER },
	{ "ehlo", required_argument, NULL, OPT_EHLO },
	{ "warn-days", required_argument, NULL, OPT_WARN_DAYS },
	{ "sendmail", required_argument, NULL, OPT_SENDMAIL },
	{ "health", no_argument, NULL, OPT_HEALTH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

struct cli {
	struct dane_resolver_config rc;
	struct dane_settings s;
	int s_set, o_set;
	enum dane_usage01 usage01;
	unsigned port;			/* 0: the mailer's */
	int json, no_connect, health;
	const char *cf, *access, *mailer, *ehlo, *sendmail;
	int cf_given;
	unsigned timeout_s, total_s, warn_days;
	const char *dest;
	char **hosts;
	int nhosts;
};

static int
number(const char *arg, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || arg[0] == '\0' || arg[0] == '-' ||
	    v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [-r resolv.conf] [-u upstream] "
	    "[-a anchor] [-c unbound.conf] [-t seconds] [-o] [-p port] "
	    "[-s default|strict|ta-digests] [-v] [--json] [--no-connect] "
	    "[--cf file] [--access file] [--mailer name] [--sendmail path] "
	    "[--ehlo name] [--timeout seconds] [--max-time seconds] "
	    "[--warn-days days] destination [host...]\n");
}

/* A destination: domain, user@domain, [host], [address], [IPv6:...]. */
static int
dest_ok(const char *d)
{
	size_t i, n = strlen(d);

	if (n == 0 || n >= DANE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (ch <= 0x20 || ch >= 0x7f || strchr("\"'\\`$;|&<>()", ch))
			return 0;
	}
	return 1;
}

static void
note(struct report_info *ri, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct report_info *ri, const char *fmt, ...)
{
	va_list ap;

	if (ri->note_count >= REPORT_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(ri->notes[ri->note_count++], sizeof(ri->notes[0]), fmt, ap);
	va_end(ap);
}

static struct probe_host *
add_host(struct probe_dest *d, const char *name, int pref, const char *role)
{
	struct probe_host *h;
	size_t i;

	for (i = 0; i < d->host_count; i++)
		if (strcasecmp(d->hosts[i].name, name) == 0)
			return NULL;	/* listed once, as sendmail does */
	h = realloc(d->hosts, (d->host_count + 1) * sizeof(*h));
	if (h == NULL)
		return NULL;
	d->hosts = h;
	h = &d->hosts[d->host_count++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->preference = pref;
	h->role = role;
	return h;
}

/* "[name]" -> "name" for a fallback host given with brackets */
static void
unbracket(const char *in, char *out, size_t size)
{
	size_t n;

	if (in[0] == '[')
		in++;
	snprintf(out, size, "%s", in);
	n = strlen(out);
	if (n > 0 && out[n - 1] == ']')
		out[n - 1] = '\0';
	n = strlen(out);
	if (n > 0 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static int
is_literal(const char *inner)
{
	unsigned char bin[16];

	return strncasecmp(inner, "ipv6:", 5) == 0 ||
	    inet_pton(AF_INET, inner, bin) == 1;
}

/* The hosts sendmail would try, in its order. */
static void
list_hosts(struct probe_dest *d, const struct view *v, struct cli *c,
    struct report_info *ri)
{
	struct view_mx mx[DANE_MX_MAX];
	char inner[DANE_NAME_MAX];
	size_t n = 0, i;
	int k;

	if (c->nhosts > 0) {
		for (k = 0; k < c->nhosts; k++)
			(void)add_host(d, c->hosts[k], -1, "given");
		d->mx = d->nexthop[0] == '[' ? (is_literal(d->nexthop + 1) ?
		    PROBE_MX_LITERAL : PROBE_MX_RELAY) : PROBE_MX_FOUND;
		snprintf(d->mx_text, sizeof(d->mx_text), "hosts given on the "
		    "command line, no MX lookup");
		return;
	}
	if (d->nexthop[0] == '[') {
		unbracket(d->nexthop, inner, sizeof(inner));
		d->mx = is_literal(inner) ? PROBE_MX_LITERAL : PROBE_MX_RELAY;
		(void)add_host(d, inner, -1, d->mx == PROBE_MX_LITERAL ?
		    "literal" : "relay");
		snprintf(d->mx_text, sizeof(d->mx_text), "%s: no MX lookup "
		    "(sendmail connects to %s itself)", d->nexthop, inner);
		return;
	}
	d->mx = view_mx(d->nexthop, mx, DANE_MX_MAX, &n, d->mx_text,
	    sizeof(d->mx_text));
	switch (d->mx) {
	case PROBE_MX_FOUND:
		for (i = 0; i < n; i++) {
			if (i > 0 && mx[i].pref == mx[i - 1].pref)
				d->mx_equal = 1;
			(void)add_host(d, mx[i].name, mx[i].pref, "mx");
		}
		break;
	case PROBE_MX_NODATA:
		(void)add_host(d, d->nexthop, -1, "implicit");
		snprintf(d->mx_text, sizeof(d->mx_text), "no MX RRset: "
		    "sendmail delivers to %s itself (implicit MX)", d->nexthop);
		break;
	case PROBE_MX_NULL:
		snprintf(d->mx_text, sizeof(d->mx_text), "null MX (MX 0 .): "
		    "%s accepts no mail (RFC 7505)", d->nexthop);
		return;
	case PROBE_MX_NXDOMAIN:
		snprintf(d->mx_text, sizeof(d->mx_text), "%s: no such domain "
		    "(NXDOMAIN)", d->nexthop);
		return;
	default:
		return;
	}
	if (d->mx_equal)
		note(ri, "MX hosts of equal preference are listed in the order "
		    "of the DNS reply; sendmail shuffles them (per process), so "
		    "it may try them in another order");
	if (v->fallback_mx[0] != '\0') {
		unbracket(v->fallback_mx, inner, sizeof(inner));
		(void)add_host(d, inner, -1, "fallback");
		note(ri, "FallbackMXhost %s is tried after the MX hosts",
		    v->fallback_mx);
	}
	if (v->fallback_smarthost[0] != '\0') {
		unbracket(v->fallback_smarthost, inner, sizeof(inner));
		(void)add_host(d, inner, -1, "smarthost");
		note(ri, "FallBackSmartHost %s is tried last",
		    v->fallback_smarthost);
	}
}

static void
list_addresses(struct probe_host *h, uint16_t port)
{
	static const int families[] = { AF_INET6, AF_INET };
	size_t f;
	int temp = 0;

	if (strcmp(h->role, "literal") == 0) {
		struct sockaddr_in *s4;
		struct sockaddr_in6 *s6;
		const char *a = h->name;

		if ((h->addrs = calloc(1, sizeof(*h->addrs))) == NULL)
			return;
		if (strncasecmp(a, "ipv6:", 5) == 0) {
			s6 = (struct sockaddr_in6 *)&h->addrs[0].sa;
			if (inet_pton(AF_INET6, a + 5, &s6->sin6_addr) != 1)
				goto bad;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			h->addrs[0].salen = sizeof(*s6);
			h->addrs[0].family = AF_INET6;
			snprintf(h->addrs[0].addr, sizeof(h->addrs[0].addr),
			    "%.63s", a + 5);
		} else {
			s4 = (struct sockaddr_in *)&h->addrs[0].sa;
			if (inet_pton(AF_INET, a, &s4->sin_addr) != 1)
				goto bad;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			h->addrs[0].salen = sizeof(*s4);
			h->addrs[0].family = AF_INET;
			snprintf(h->addrs[0].addr, sizeof(h->addrs[0].addr),
			    "%.63s", a);
		}
		view_server_addr((struct sockaddr *)&h->addrs[0].sa,
		    h->addrs[0].server_addr, sizeof(h->addrs[0].server_addr));
		h->addr_count = 1;
		return;
bad:
		free(h->addrs);
		h->addrs = NULL;
		h->addr_failed = 2;
		snprintf(h->addr_error, sizeof(h->addr_error), "553 5.1.2 "
		    "Invalid numeric domain spec \"[%s]\"", a);
		return;
	}
	/* sendmail 8.17 with IPv6: gethostbyname2() for AF_INET6, then
	 * for AF_INET (its getipnodebyname() on glibc); h_errno tells a
	 * temporary failure from a name without addresses */
	for (f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		struct hostent he, *res = NULL;
		char buf[16384];
		int herr = 0;
		size_t k;
		char **ap;

		if (gethostbyname2_r(h->name, families[f], &he, buf,
		    sizeof(buf), &res, &herr) != 0 || res == NULL) {
			if (herr == TRY_AGAIN || herr == NO_RECOVERY)
				temp = 1;
			continue;
		}
		for (ap = res->h_addr_list; *ap != NULL; ap++) {
			struct probe_addr *na, *a;

			na = realloc(h->addrs, (h->addr_count + 1) *
			    sizeof(*na));
			if (na == NULL)
				break;
			h->addrs = na;
			a = &h->addrs[h->addr_count];
			memset(a, 0, sizeof(*a));
			a->family = families[f];
			if (families[f] == AF_INET) {
				struct sockaddr_in *s4 =
				    (struct sockaddr_in *)&a->sa;

				s4->sin_family = AF_INET;
				s4->sin_port = htons(port);
				memcpy(&s4->sin_addr, *ap, sizeof(s4->sin_addr));
				a->salen = sizeof(*s4);
			} else {
				struct sockaddr_in6 *s6 =
				    (struct sockaddr_in6 *)&a->sa;

				s6->sin6_family = AF_INET6;
				s6->sin6_port = htons(port);
				memcpy(&s6->sin6_addr, *ap,
				    sizeof(s6->sin6_addr));
				a->salen = sizeof(*s6);
			}
			view_server_addr((struct sockaddr *)&a->sa,
			    a->server_addr, sizeof(a->server_addr));
			snprintf(a->addr, sizeof(a->addr), "%.63s",
			    strncmp(a->server_addr, "IPv6:", 5) == 0 ?
			    a->server_addr + 5 : a->server_addr);
			for (k = 0; k < h->addr_count; k++)
				if (strcmp(h->addrs[k].addr, a->addr) == 0)
					break;
			if (k == h->addr_count)
				h->addr_count++;
		}
	}
	if (h->addr_count > 0)
		return;
	h->addr_failed = temp ? 1 : 2;
	if (temp)
		snprintf(h->addr_error, sizeof(h->addr_error), "Name server: "
		    "%s.: host name lookup failure", h->name);
	else
		snprintf(h->addr_error, sizeof(h->addr_error), "Host unknown "
		    "(Name server: %s: host not found)", h->name);
}

/* RFC 7672 section 3.2.2, as delivery.c add_originals() does for the one
 * name a probe knows sendmail canonified: the destination as given. */
static void
add_original(struct dane_ctx *ctx, const struct dane_settings *s,
    struct probe_host *h, const char *original, const char *nexthop,
    uint16_t port)
{
	struct dane_facts *f = NULL;
	struct dane_policy *p = NULL;
	struct dane_policy *hp = h->policy;
	size_t k;

	if (hp == NULL || hp->level != DANE_LEVEL_AUTH || nexthop[0] == '[' ||
	    strcasecmp(original, nexthop) == 0)
		return;
	for (k = 0; k < hp->refname_count; k++)
		if (strcasecmp(hp->refnames[k], original) == 0)
			return;
	if (dane_gather(ctx, original, h->name, port, &f) == DANE_OK &&
	    dane_decide(s, f, &p) == DANE_OK && p->level == DANE_LEVEL_AUTH &&
	    strcmp(f->nexthop_expanded, nexthop) == 0 &&
	    hp->refname_count < DANE_REFNAMES_MAX) {
		snprintf(hp->refnames[hp->refname_count++],
		    sizeof(hp->refnames[0]), "%s", original);
		snprintf(h->original, sizeof(h->original), "%s", original);
	}
	dane_policy_free(p);
	dane_facts_free(f);
}

static void
probe_address(const struct cli *c, struct view *v, struct probe_dest *d,
    struct probe_host *h, struct probe_addr *a, const struct probe_opts *o,
    const struct dane_settings *s)
{
	struct probe_tls_opts t = { .starttls = 1 };
	char gate[PROBE_TEXT], gwould[PROBE_TEXT], tt[PROBE_TEXT];
	const struct dane_policy *p = NULL;
	struct probe_session *pol = NULL;	/* the session DANE was
						 * applied to */
	const char *verify;
	int gated;
	size_t k;

	gated = view_gate(v, gate, gwould, sizeof(gate));
	view_mode_for(v, d->nexthop, h->name, a);
	if (gated) {
		/* glue.c answers before any policy: nothing is applied */
		if (v->mailer_mode != SMDANE_MODE_NONE &&
		    v->mailer_mode != SMDANE_MODE_UNKNOWN)
			a->mode = v->mailer_mode;
	} else if (a->mode_error[0] != '\0') {
		a->mode = SMDANE_MODE_NONE;
	} else if (a->mode != SMDANE_MODE_NONE)
		p = h->policy;
	if (a->trytls_no)
		t.starttls = 0;
	/* the hook's try_tls answer: a refusal there means no STARTTLS */
	if (!gated && a->mode_error[0] == '\0') {
		probe_answer(a->mode, h, d->nexthop, d->port, "try_tls", NULL,
		    "none", tt, sizeof(tt));
		a->module_no_starttls = strncmp(tt, "OK", 2) != 0 &&
		    a->mode != SMDANE_MODE_AUDIT;
	}
	if (d->no_connect) {
		if (gated)
			snprintf(a->answer, sizeof(a->answer), "%s", gate);
		else if (a->mode_error[0] != '\0')
			snprintf(a->answer, sizeof(a->answer), "FAIL \"%.380s\"",
			    a->mode_error);
		else if (a->mode == SMDANE_MODE_AUDIT) {
			snprintf(a->would, sizeof(a->would), "%s", tt);
			a->has_would = 1;
			snprintf(a->answer, sizeof(a->answer), "OK");
		} else
			snprintf(a->answer, sizeof(a->answer), "%s",
			    a->mode == SMDANE_MODE_NONE ? "OK" : tt);
		probe_predict_address(h, a);
		return;
	}
	d->connected = 1;
	(void)probe_session(o, h->name, (struct sockaddr *)&a->sa, a->salen,
	    s, p, &t, &a->main);
	if (!a->main.connected || a->main.greeting_code / 100 != 2) {
		/* sendmail gives up on this address before any rule set */
		probe_decide_address(h, a);
		return;
	}
	if (p != NULL)
		pol = &a->main;
	verify = a->main.verify;
	if (strcmp(verify, "SOFTWARE") == 0 && a->fallback_clear)
		verify = "CLEAR";	/* sendmail retries in clear text */
	if (gated) {
		snprintf(a->answer, sizeof(a->answer), "%s", gate);
		if (gwould[0] != '\0') {
			snprintf(a->would, sizeof(a->would), "%s", gwould);
			a->has_would = 1;
		}
	} else if (a->mode_error[0] != '\0')
		snprintf(a->answer, sizeof(a->answer), "FAIL \"%.380s\"",
		    a->mode_error);
	else {
		probe_answer(a->mode, h, d->nexthop, d->port, "tls_server",
		    &a->main, verify, a->answer, sizeof(a->answer));
		if (a->mode == SMDANE_MODE_AUDIT) {
			/* logged, not enforced: sendmail goes on */
			snprintf(a->would, sizeof(a->would), "%s", a->answer);
			a->has_would = 1;
			snprintf(a->answer, sizeof(a->answer), "OK");
		}
	}
	/* mode none: what mode dane would have made of this host */
	if (a->mode == SMDANE_MODE_NONE && h->policy != NULL &&
	    a->mode_error[0] == '\0' &&
	    (gated ? v->mailer_mode == SMDANE_MODE_NONE : 1)) {
		const struct probe_session *w = &a->main;
		const char *wv = verify;

		if ((h->policy->level == DANE_LEVEL_AUTH ||
		    h->policy->level == DANE_LEVEL_ENCRYPT) &&
		    a->main.starttls_offered && t.starttls) {
			(void)probe_session(o, h->name,
			    (struct sockaddr *)&a->sa, a->salen, s, h->policy,
			    &t, &a->dane);
			w = &a->dane;
			wv = a->dane.verify;
			pol = &a->dane;
		}
		probe_answer(SMDANE_MODE_DANE, h, d->nexthop, d->port,
		    "tls_server", w, wv, a->would, sizeof(a->would));
		a->has_would = 1;
	}
	/* the same policy for RSA and for ECDSA clients */
	if (pol != NULL && pol->tls && pol->applied == DANE_LEVEL_AUTH) {
		for (k = 0; k < PROBE_KEYTYPES; k++) {
			struct probe_tls_opts kt = t;

			kt.sigalgs = probe_keytypes[k].sigalgs;
			kt.ciphers = probe_keytypes[k].ciphers;
			(void)probe_session(o, h->name,
			    (struct sockaddr *)&a->sa, a->salen, s, h->policy,
			    &kt, &a->kt[k]);
			probe_explain(h->policy, h->rrs, h->rr_count,
			    &a->kt[k]);
		}
	}
	if (pol != NULL) {
		probe_explain(h->policy, h->rrs, h->rr_count, pol);
		a->warn_count = probe_rollover(h->policy, h->rrs, h->rr_count,
		    pol, a->kt, PROBE_KEYTYPES, time(NULL), c->warn_days,
		    a->warn, sizeof(a->warn) / sizeof(a->warn[0]));
	}
	probe_decide_address(h, a);
}

/*
 * Where a TLSA RRset was found (or its lookup failed, e.g. bogus): does
 * every authoritative server of its
 * zone give the same one (tools/health.h)?  Servers that differ make
 * DANE fail for some deliveries and not others.
 */
static void
tlsa_servers(const struct cli *c, struct probe_host *h, uint16_t port)
{
	char owner[DANE_NAME_MAX + 16];

	if (c->no_connect || h->facts == NULL ||
	    h->facts->tlsa_base[0] == '\0' ||
	    (h->facts->tlsa.answer != DANE_ANSWER_FOUND &&
	    h->facts->tlsa.answer != DANE_ANSWER_FAILED))
		return;
	snprintf(owner, sizeof(owner), "_%u._tcp.%s", port,
	    h->facts->tlsa_base);
	if (health_tlsa_consistency(owner, &c->rc, &h->tlsa_servers) ==
	    DANE_OK)
		h->tlsa_servers_done = 1;
}

/*
 * --health: tools/health.c's steps, one line each (text), or one JSON
 * object {"health": {"status", "steps": [{id, subject, status,
 * reason}]}} when there is no destination.  Returns 1 when a step
 * failed.
 */
static int
show_health(const struct cli *c)
{
	struct health_report h;
	size_t i;
	int failed;

	if (health_check(&c->rc, &h) != DANE_OK) {
		fprintf(stderr, PROG ": health check: out of memory\n");
		return 1;
	}
	failed = h.status == HEALTH_FAIL;
	if (c->json && c->dest == NULL) {
		json_object *o = json_object_new_object(), *a, *st, *e;

		a = json_object_new_array();
		for (i = 0; i < h.step_count; i++) {
			e = json_object_new_object();
			json_object_object_add(e, "id",
			    json_object_new_string(h.steps[i].id));
			json_object_object_add(e, "subject",
			    json_object_new_string(h.steps[i].subject));
			json_object_object_add(e, "status", json_object_new_string(
			    health_status_name(h.steps[i].status)));
			json_object_object_add(e, "reason",
			    json_object_new_string(h.steps[i].reason));
			json_object_array_add(a, e);
		}
		st = json_object_new_object();
		json_object_object_add(st, "status",
		    json_object_new_string(health_status_name(h.status)));
		json_object_object_add(st, "steps", a);
		json_object_object_add(o, "health", st);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (!c->json) {
		for (i = 0; i < h.step_count; i++)
			printf("health %-4s %s%s%s: %s\n",
			    health_status_name(h.steps[i].status),
			    h.steps[i].id, h.steps[i].subject[0] != '\0' ?
			    " " : "", h.steps[i].subject, h.steps[i].reason);
		printf("health: %s\n", health_status_name(h.status));
	}
	health_report_free(&h);
	return failed;
}

static int
run(struct cli *c)
{
	struct report_info ri;
	struct view v;
	struct probe_dest d;
	struct probe_opts o;
	struct dane_ctx *ctx = NULL;
	struct dane_settings s;
	enum dane_result r;
	char gather_nexthop[DANE_NAME_MAX + 2], upstream[PROBE_TEXT];
	const char *domain;
	size_t i, k;
	int rc;

	memset(&ri, 0, sizeof(ri));
	memset(&d, 0, sizeof(d));
	view_init(&v);
	if (view_read_cf(&v, c->cf) != 0) {
		if (c->cf_given) {
			fprintf(stderr, PROG ": cannot read %s\n", v.cf_error);
			return 2;
		}
		note(&ri, "no sendmail.cf (%s): the module's defaults and a "
		    "mailer with DANE (mode dane) are assumed", v.cf_error);
	}
	if (c->access != NULL) {
		size_t n = strlen(c->access);

		snprintf(v.access_path, sizeof(v.access_path), "%s%s",
		    c->access, n > 3 && strcmp(c->access + n - 3, ".db") == 0 ?
		    "" : ".db");
		snprintf(v.access_from, sizeof(v.access_from), "--access");
		if (v.access_path[0] != '/') {
			fprintf(stderr, PROG ": --access %s: not an absolute "
			    "path\n", c->access);
			return 2;
		}
	}
	if (v.access_path[0] != '\0' && access(v.access_path, R_OK) != 0 &&
	    errno == EACCES) {
		/* sendmail reads it as root; a refusal here would be ours */
		snprintf(v.access_denied, sizeof(v.access_denied), "%s",
		    v.access_path);
		v.access_path[0] = '\0';
		note(&ri, "the access map %s cannot be read by this user (%s): "
		    "its DANE:, Try_TLS: and TLS_Clt_Features: entries are "
		    "not considered; run as root for sendmail's whole view",
		    v.access_denied, strerror(errno));
	}
	/* the cf's settings, the options over them */
	s = v.cfg.settings;
	if (c->s_set)
		s.usage01 = c->usage01;
	if (c->o_set)
		s.no_dnssec = DANE_NO_DNSSEC_OPPORTUNISTIC;
	if (c->rc.upstream == NULL && v.cfg.upstream[0] != '\0')
		c->rc.upstream = v.cfg.upstream;
	if (c->rc.resolv_conf == NULL && v.cfg.resolv_conf[0] != '\0')
		c->rc.resolv_conf = v.cfg.resolv_conf;
	if (c->rc.trust_anchor == NULL && v.cfg.trust_anchor[0] != '\0')
		c->rc.trust_anchor = v.cfg.trust_anchor;
	if (c->rc.unbound_conf == NULL && v.cfg.unbound_conf[0] != '\0')
		c->rc.unbound_conf = v.cfg.unbound_conf;
	if (c->rc.timeout_ms == 0)
		c->rc.timeout_ms = v.cfg.dns_timeout_ms;
	/* files sendmail (root) reads that this user cannot: a verdict
	 * made without them would be the tool's, not sendmail's */
	{
		const char *files[] = { c->rc.trust_anchor != NULL ?
		    c->rc.trust_anchor : DANE_TRUST_ANCHOR_DEFAULT,
		    c->rc.unbound_conf, c->rc.resolv_conf != NULL ?
		    c->rc.resolv_conf : "/etc/resolv.conf" };

		for (k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			if (files[k] != NULL && access(files[k], R_OK) != 0 &&
			    errno == EACCES) {
				fprintf(stderr, PROG ": %s: %s (sendmail reads "
				    "it as root; run as root)\n", files[k],
				    strerror(errno));
				view_free(&v);
				return 2;
			}
	}
	/* resolver and trust health, with sendmail's settings, before the
	 * destination (or alone) */
	if (c->health) {
		int failed = show_health(c);

		if (c->dest == NULL) {
			view_free(&v);
			return failed ? 1 : 0;
		}
	}
	if (view_route(&v, c->sendmail, c->dest, c->mailer,
	    VIEW_BV_TIMEOUT) != 0) {
		fprintf(stderr, PROG ": %s\n", v.route_error);
		view_free(&v);
		return 2;
	}
	if (c->port != 0)
		v.port = (uint16_t)c->port;
	domain = strrchr(c->dest, '@') != NULL ? strrchr(c->dest, '@') + 1 :
	    c->dest;
	snprintf(d.input, sizeof(d.input), "%s", domain);
	snprintf(d.nexthop, sizeof(d.nexthop), "%s", v.host);
	k = strlen(d.nexthop);
	d.canonified = (k > 0 && d.nexthop[k - 1] == '.') ||
	    d.nexthop[0] == '[';
	if (k > 0 && d.nexthop[k - 1] == '.')
		d.nexthop[k - 1] = '\0';
	for (k = 0; d.nexthop[0] != '[' && d.nexthop[k] != '\0'; k++)
		d.nexthop[k] = (char)tolower((unsigned char)d.nexthop[k]);
	d.port = v.port;
	d.no_connect = c->no_connect;
	ri.v = &v;
	ri.d = &d;
	ri.o = &o;
	ri.settings = &s;
	ri.warn_days = c->warn_days;
	ri.total_s = c->total_s;
	ri.dns_s = (c->rc.timeout_ms != 0 ? c->rc.timeout_ms : 15000) / 1000;
	snprintf(upstream, sizeof(upstream), "%s", c->rc.upstream != NULL &&
	    c->rc.upstream[0] != '\0' ? c->rc.upstream : "");
	snprintf(ri.resolver, sizeof(ri.resolver), "%s%.200s%s, trust anchor %.120s%s%.120s",
	    upstream[0] != '\0' ? "upstream " : "nameservers of ",
	    upstream[0] != '\0' ? upstream : c->rc.resolv_conf != NULL ?
	    c->rc.resolv_conf : "/etc/resolv.conf", "",
	    c->rc.trust_anchor != NULL ? c->rc.trust_anchor :
	    DANE_TRUST_ANCHOR_DEFAULT, c->rc.unbound_conf != NULL ?
	    ", unbound.conf " : "", c->rc.unbound_conf != NULL ?
	    c->rc.unbound_conf : "");
	memset(&o, 0, sizeof(o));
	/* --timeout: every step of a connection gets that much */
	o.connect_s = c->timeout_s != 0 ? c->timeout_s : PROBE_CONNECT_S;
	o.reply_s = c->timeout_s != 0 ? c->timeout_s : PROBE_REPLY_S;
	o.handshake_s = c->timeout_s != 0 ? c->timeout_s : PROBE_HANDSHAKE_S;
	clock_gettime(CLOCK_MONOTONIC, &o.deadline);
	o.deadline.tv_sec += c->total_s;
	if (c->ehlo != NULL)
		snprintf(o.ehlo, sizeof(o.ehlo), "%s", c->ehlo);
	else if (gethostname(o.ehlo, sizeof(o.ehlo) - 1) != 0 ||
	    o.ehlo[0] == '\0')
		snprintf(o.ehlo, sizeof(o.ehlo), "localhost");

	if ((r = dane_ctx_new(&c->rc, &ctx)) != DANE_OK) {
		ctx = NULL;
		snprintf(ri.ctx_error, sizeof(ri.ctx_error), "%s",
		    dane_strerror(r));
	}
	list_hosts(&d, &v, c, &ri);
	if (ctx != NULL)
		dane_ctx_budget_reset(ctx);	/* one delivery's budget */
	snprintf(gather_nexthop, sizeof(gather_nexthop), "%s", d.nexthop);
	for (i = 0; i < d.host_count; i++) {
		struct probe_host *h = &d.hosts[i];

		h->error = r;
		if (ctx != NULL) {
			h->error = dane_gather(ctx, gather_nexthop,
			    strcmp(h->role, "literal") == 0 ? "" : h->name,
			    d.port, &h->facts);
			if (h->error == DANE_OK)
				h->error = dane_decide(&s, h->facts, &h->policy);
			if (h->error == DANE_OK)
				add_original(ctx, &s, h, d.input, d.nexthop,
				    d.port);
			h->rr_count = probe_rr_classify(&s, h->facts, &h->rrs);
			if (h->facts != NULL)
				(void)health_answers(h->facts, &h->answers);
			tlsa_servers(c, h, d.port);
		}
		list_addresses(h, d.port);
		for (k = 0; k < h->addr_count; k++)
			probe_address(c, &v, &d, h, &h->addrs[k], &o, &s);
	}
	if (d.host_count == 0) {
		/* what libdane says of the next hop itself (the MX lookup
		 * failed, a null MX, NXDOMAIN): the line this tool has
		 * always printed for it */
		struct dane_facts *f = NULL;

		d.policy_error = r;
		if (ctx != NULL &&
		    (d.policy_error = dane_gather(ctx, gather_nexthop,
		    gather_nexthop, d.port, &f)) == DANE_OK)
			d.policy_error = dane_decide(&s, f, &d.policy);
		dane_facts_free(f);
	}
	probe_decide_destination(&d);
	if (c->json)
		rc = report_json(stdout, &ri);
	else
		rc = report_text(stdout, &ri);
	if (fflush(stdout) != 0 || rc != 0) {
		fprintf(stderr, PROG ": cannot write the report\n");
		rc = 2;
	} else
		rc = probe_exit_status(d.verdict);
	probe_dest_free(&d);
	dane_ctx_free(ctx);
	view_free(&v);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c;
	unsigned n;
	int ch;

	memset(&c, 0, sizeof(c));
	c.rc.log_fn = to_stderr;
	c.cf = VIEW_CF;
	c.sendmail = VIEW_SENDMAIL;
	c.warn_days = 30;
	c.total_s = PROBE_TOTAL_S;
	while ((ch = getopt_long(argc, argv, "r:u:a:c:t:op:s:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'r':
			c.rc.resolv_conf = optarg;
			break;
		case 'u':
			c.rc.upstream = optarg;
			break;
		case 'a':
			c.rc.trust_anchor = optarg;
			break;
		case 'c':
			c.rc.unbound_conf = optarg;
			break;
		case 't':
			if (number(optarg, 1, 600, &n) != 0)
				goto bad;
			c.rc.timeout_ms = n * 1000;
			break;
		case 'o':
			c.o_set = 1;
			break;
		case 'v':
			verbose = 1;
			c.rc.verbosity = 2;
			break;
		case 'p':
		case OPT_PORT:
			if (number(optarg, 1, 65535, &c.port) != 0)
				goto bad;
			break;
		case 's':
			c.s_set = 1;
			if (strcmp(optarg, "strict") == 0)
				c.usage01 = DANE_USAGE01_STRICT;
			else if (strcmp(optarg, "ta-digests") == 0)
				c.usage01 = DANE_USAGE01_TA_DIGESTS;
			else if (strcmp(optarg, "default") == 0)
				c.usage01 = DANE_USAGE01_DEFAULT;
			else
				goto bad;
			break;
		case OPT_JSON:
			c.json = 1;
			break;
		case OPT_NO_CONNECT:
			c.no_connect = 1;
			break;
		case OPT_TIMEOUT:
			if (number(optarg, 1, 600, &c.timeout_s) != 0)
				goto bad;
			break;
		case OPT_MAX_TIME:
			if (number(optarg, 1, 3600, &c.total_s) != 0)
				goto bad;
			break;
		case OPT_CF:
			c.cf = optarg;
			c.cf_given = 1;
			break;
		case OPT_ACCESS:
			c.access = optarg;
			break;
		case OPT_MAILER:
			c.mailer = optarg;
			break;
		case OPT_EHLO:
			if (!dest_ok(optarg))
				goto bad;
			c.ehlo = optarg;
			break;
		case OPT_WARN_DAYS:
			if (number(optarg, 0, 3650, &c.warn_days) != 0)
				goto bad;
			break;
		case OPT_SENDMAIL:
			c.sendmail = optarg;
			break;
		case OPT_HEALTH:
			c.health = 1;
			break;
		case OPT_HELP:
			usage();
			return 0;
		default:
			goto bad;
		}
	}
	if (optind >= argc && c.health) {
		(void)signal(SIGPIPE, SIG_IGN);
		return run(&c);		/* the health check alone */
	}
	if (optind >= argc || !dest_ok(argv[optind]))
		goto bad;
	c.dest = argv[optind];
	c.hosts = argv + optind + 1;
	c.nhosts = argc - optind - 1;
	for (ch = 0; ch < c.nhosts; ch++)
		if (!dest_ok(c.hosts[ch]))
			goto bad;
	(void)signal(SIGPIPE, SIG_IGN);
	return run(&c);
bad:
	usage();
	return 2;
}
