/*
 * NAME
 *	report.c - sendmail-dane-check's report (see report.h)
 *
 * DESCRIPTION
 *	Both forms say the same things.  Every text comes from the probe,
 *	the view or libdane and is printable ASCII already (the probe
 *	replaces anything else); json-c escapes what JSON needs escaped.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "report.h"

/* --- shared ------------------------------------------------------------- */

static const char *
mx_name(enum probe_mx m)
{
	static const char *const names[] = { "found", "nodata", "null",
		"nxdomain", "failed", "relay", "literal" };

	return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

static const char *
rr_state_name(enum probe_rr_state s)
{
	return s == PROBE_RR_USABLE ? "usable" : s == PROBE_RR_IGNORED ?
	    "ignored" : "unusable";
}

static const char *
usage01_name(enum dane_usage01 u)
{
	return u == DANE_USAGE01_STRICT ? "strict" :
	    u == DANE_USAGE01_TA_DIGESTS ? "ta-digests" : "default";
}

static void
digests_text(const struct dane_settings *s, char *out, size_t size)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(s->digest_pref) && s->digest_pref[i] != 0; i++)
		off += (size_t)snprintf(out + off, off < size ? size - off : 0,
		    "%s%s", i ? " " : "", s->digest_pref[i] ==
		    DANE_MTYPE_SHA2_512 ? "sha512" : "sha256");
	if (out[0] == '\0')
		snprintf(out, size, "sha512 sha256");
}

static void
rr_hex(const struct dane_tlsa_rr *rr, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < rr->len && o + 3 < size; i++) {
		out[o++] = digits[rr->data[i] >> 4];
		out[o++] = digits[rr->data[i] & 15];
	}
	out[o] = '\0';
	if (i < rr->len && size > 4)
		snprintf(out + (o > 3 ? o - 3 : 0), 4, "...");
}

/* The session DANE was applied to for this address, if any. */
static const struct probe_session *
dane_session(const struct probe_addr *a)
{
	if (a->dane.tried)
		return &a->dane;
	return a->main.tried ? &a->main : NULL;
}

static int
is_mode_enforcing(enum smdane_mode m)
{
	return m == SMDANE_MODE_DANE || m == SMDANE_MODE_ONLY ||
	    m == SMDANE_MODE_ENCRYPT;
}

static const char *
mode_word(enum smdane_mode m)
{
	return smdane_mode_name(m);
}

void
report_policy_line(FILE *out, const char *label, const struct dane_policy *p)
{
	char rr[64];
	size_t i;

	fprintf(out, "%s: %s, %s", label, dane_level_name(p->level),
	    dane_reason_text(p->reason));
	if (p->dsn[0] != '\0')
		fprintf(out, ", %s", p->dsn);
	if (p->base_domain[0] != '\0')
		fprintf(out, ", base %s", p->base_domain);
	for (i = 0; i < p->refname_count; i++)
		fprintf(out, "%s%s", i == 0 ? ", names " : " ", p->refnames[i]);
	for (i = 0; i < p->usable_count; i++) {
		dane_tlsa_format(&p->usable[i], rr, sizeof(rr));
		fprintf(out, "%s%s", i == 0 ? ", tlsa " : "; ", rr);
	}
	if (p->unusable_count > 0)
		fprintf(out, ", %zu unusable", p->unusable_count);
	fprintf(out, "\n");
}

static const char *
host_label(const struct probe_dest *d, const struct probe_host *h)
{
	/* a relay or literal next hop has always been shown as given */
	if (strcmp(h->role, "relay") == 0 || strcmp(h->role, "literal") == 0)
		return d->nexthop;
	return h->name;
}

static void
keys_text(FILE *out, const struct probe_keys *k, const char *what)
{
	size_t i, n = k->matched >= 0 ? (size_t)k->matched + 1 : k->n;

	if (k->n == 0)
		return;
	fprintf(out, "      %s keys tried:", what);
	for (i = 0; i < n; i++)
		fprintf(out, " %s", k->key[i]);
	if (k->matched >= 0)
		fprintf(out, "; matched %s %s\n", k->key[k->matched], k->value);
	else if (k->error)
		fprintf(out, "; the map could not be read\n");
	else
		fprintf(out, "; none matched\n");
}

/* --- text --------------------------------------------------------------- */

static void
text_session(FILE *out, const struct probe_host *h,
    const struct probe_session *ss, const char *label, int chain)
{
	const struct dane_policy *p = h->policy;
	time_t now = time(NULL);
	char rr[64];
	size_t i, k;

	if (!ss->tried)
		return;
	if (label != NULL)
		fprintf(out, "    %s\n", label);
	if (!ss->connected) {
		fprintf(out, "    connect   %s (%.1f s)\n", ss->error,
		    ss->seconds);
		return;
	}
	fprintf(out, "    SMTP      %s", ss->greeting);
	if (ss->greeting_code / 100 == 2)
		fprintf(out, "; EHLO %d%s", ss->ehlo_code,
		    ss->starttls_offered ? ", STARTTLS offered" :
		    ", no STARTTLS offered");
	if (ss->starttls_sent)
		fprintf(out, "; STARTTLS %d", ss->starttls_code);
	fprintf(out, " (%.1f s)\n", ss->seconds);
	if (ss->error[0] != '\0' && ss->tls)
		fprintf(out, "    note      %s\n", ss->error);
	if (!ss->tls) {
		if (ss->tls_error[0] != '\0')
			fprintf(out, "    TLS       none: %s\n", ss->tls_error);
		else if (ss->error[0] != '\0')
			fprintf(out, "    session   %s\n", ss->error);
		fprintf(out, "    ${verify} %s\n", ss->verify);
		return;
	}
	fprintf(out, "    TLS       %s %s, SNI %s, ${verify} %s\n", ss->version,
	    ss->cipher, ss->sni[0] != '\0' ? ss->sni : "none", ss->verify);
	for (i = 0; chain && i < ss->chain_len; i++) {
		const struct probe_cert *c = &ss->chain[i];
		double days = difftime(c->not_after_t, now) / 86400.0;

		fprintf(out, "    %s %zu %s\n", i == 0 ? "chain    " :
		    "         ", i, c->subject);
		fprintf(out, "                issuer %s; %s\n", c->issuer,
		    c->key);
		if (c->names[0] != '\0')
			fprintf(out, "                names %s\n", c->names);
		fprintf(out, "                valid %s to %s (%s%.0f days)\n",
		    c->not_before, c->not_after, days < 0 ? "expired " : "",
		    days < 0 ? -days : days);
		fprintf(out, "                SPKI SHA-256 %s\n", c->spki_sha256);
		fprintf(out, "                cert SHA-256 %s\n", c->cert_sha256);
		for (k = 0; p != NULL && k < ss->rr_count; k++)
			if (ss->rr_match[k] & (1u << i)) {
				dane_tlsa_format(&p->usable[k], rr, sizeof(rr));
				fprintf(out, "                matched by the data "
				    "of %s\n", rr);
			}
	}
	if (ss->policy_applied && ss->applied == DANE_LEVEL_AUTH) {
		if (ss->auth.authenticated)
			fprintf(out, "    match     %s\n", ss->auth.detail);
		else {
			fprintf(out, "    match     none (%s): %s\n",
			    ss->failure[0] ? ss->failure : "?", ss->explain);
			fprintf(out, "              OpenSSL: %s\n",
			    ss->auth.detail);
		}
	} else if (ss->policy_applied && p != NULL &&
	    p->level == DANE_LEVEL_AUTH && ss->applied == DANE_LEVEL_ENCRYPT)
		fprintf(out, "    match     OpenSSL accepted none of the usable "
		    "records: TLS without authentication\n");
}

static void
text_address(FILE *out, const struct view *v, const struct probe_dest *d,
    const struct probe_host *h, const struct probe_addr *a)
{
	char why[PROBE_TEXT];
	size_t i;

	fprintf(out, "  %s port %u: mode %s%s\n", a->addr, d->port,
	    mode_word(a->mode), a->mode == SMDANE_MODE_AUDIT ?
	    " (audited, not enforced)" : is_mode_enforcing(a->mode) ?
	    " (enforcing)" : a->mode == SMDANE_MODE_NONE ?
	    " (no DANE: stock sendmail)" : "");
	keys_text(out, &a->access, "DANE:");
	if (a->mode_error[0] != '\0')
		fprintf(out, "      %s\n", a->mode_error);
	if (a->trytls.n > 0 && a->trytls.matched >= 0)
		keys_text(out, &a->trytls, "Try_TLS:");
	if (a->trytls_no)
		fprintf(out, "      Try_TLS says NO: sendmail sends no "
		    "STARTTLS to %s\n", h->name);
	if (a->module_no_starttls)
		fprintf(out, "      the module refuses this host before "
		    "STARTTLS (try_tls): sendmail would not start TLS; the "
		    "probe did, to show the certificate\n");
	if (a->fallback_clear)
		fprintf(out, "      a failed handshake is retried in clear text "
		    "(TLSFallbacktoClear or TLS_Clt_Features flag C)\n");
	if (d->no_connect)
		fprintf(out, "    (not connected: --no-connect)\n");
	/* the chain once: of the session DANE was applied to, if any */
	text_session(out, h, &a->main, NULL, !a->dane.tried);
	if (a->dane.tried)
		text_session(out, h, &a->dane, "with DANE applied (what mode "
		    "dane would do):", 1);
	for (i = 0; i < PROBE_KEYTYPES; i++) {
		const struct probe_session *k = &a->kt[i];

		if (!k->tried)
			continue;
		if (!k->tls)
			fprintf(out, "    %-9s no %s certificate (%s)\n",
			    probe_keytypes[i].name, probe_keytypes[i].name,
			    k->tls_error[0] ? k->tls_error : k->error);
		else
			fprintf(out, "    %-9s %s, SPKI SHA-256 %.16s...: %s\n",
			    probe_keytypes[i].name, k->chain_len ?
			    k->chain[0].key : "?", k->chain_len ?
			    k->chain[0].spki_sha256 : "", k->auth.authenticated ?
			    k->auth.detail : k->explain[0] ? k->explain :
			    k->auth.detail);
	}
	if (a->answer[0] != '\0')
		fprintf(out, "    answer    %s\n", a->answer);
	if (a->has_would) {
		probe_answer_reason(a->would, why, sizeof(why));
		fprintf(out, "    would be  %s%s%s (mode dane%s)\n",
		    probe_level_name(a->would_level), why[0] ? ": " : "", why,
		    a->mode == SMDANE_MODE_AUDIT ? ", logged with mode=audit" :
		    "");
	}
	fprintf(out, "    verdict   %s: %s\n", probe_level_name(a->level),
	    a->reason);
	for (i = 0; i < a->warn_count; i++)
		fprintf(out, "    WARNING   %s: %s\n", a->warn[i].code,
		    a->warn[i].text);
	(void)v;
}

/* --no-connect: the policy lines, as the tool printed them before */
static const char *
answer_word(enum dane_answer a)
{
	static const char *const w[] = { "found", "NXDOMAIN", "no records",
		"lookup failed", "not looked up" };

	return (unsigned)a < sizeof(w) / sizeof(w[0]) ? w[a] : "?";
}

static const char *
dnssec_word(enum dane_dnssec s)
{
	return s == DANE_DNSSEC_SECURE ? "secure" : s ==
	    DANE_DNSSEC_INSECURE ? "insecure" : "bogus";
}

/* The DNSSEC status of each answer, and the TLSA RRset per server. */
static void
text_answers(FILE *out, const struct probe_host *h)
{
	const struct consistency_report *c = &h->tlsa_servers;
	size_t i;

	for (i = 0; i < h->answers.count; i++) {
		const struct health_answer *a = &h->answers.items[i];

		fprintf(out, "  DNSSEC    %s %s%s%s: %s, %s%s%s\n", a->what,
		    a->name, a->expanded != NULL ? " -> " : "",
		    a->expanded != NULL ? a->expanded : "",
		    answer_word(a->answer), dnssec_word(a->dnssec),
		    a->why != NULL ? ": " : "", a->why != NULL ? a->why : "");
	}
	if (!h->tlsa_servers_done)
		return;
	fprintf(out, "  servers   %s: %s\n", health_status_name(c->status),
	    c->summary != NULL ? c->summary : "");
	for (i = 0; i < c->server_count; i++) {
		const struct health_server *sv = &c->servers[i];

		if (sv->state == HEALTH_SERVER_ANSWERED && !sv->differs)
			continue;
		fprintf(out, "    %s %s: %s%s%s\n", sv->name,
		    sv->address != NULL ? sv->address : "(no address)",
		    sv->differs ? "another TLSA RRset" :
		    sv->state == HEALTH_SERVER_LAME ? "lame" :
		    sv->state == HEALTH_SERVER_FAILED ? "failed" : "not asked",
		    sv->why != NULL ? ", " : "", sv->why != NULL ? sv->why : "");
	}
}

static int
text_policy_only(FILE *out, const struct probe_dest *d)
{
	size_t i;

	if (d->host_count == 0) {
		if (d->policy != NULL)
			report_policy_line(out, d->nexthop, d->policy);
		else
			fprintf(out, "%s: error: %s\n", d->nexthop,
			    dane_strerror(d->policy_error));
	}
	for (i = 0; i < d->host_count; i++) {
		const struct probe_host *h = &d->hosts[i];

		if (h->policy != NULL)
			report_policy_line(out, host_label(d, h), h->policy);
		else
			fprintf(out, "%s: error: %s\n", host_label(d, h),
			    dane_strerror(h->error));
	}
	return ferror(out) ? -1 : 0;
}

int
report_text(FILE *out, const struct report_info *ri)
{
	const struct view *v = ri->v;
	const struct probe_dest *d = ri->d;
	const struct probe_opts *o = ri->o;
	char dg[64], hexd[160];
	size_t i, k, nw = 0;

	if (d->no_connect)
		return text_policy_only(out, d);

	fprintf(out, "%s, port %u\n", d->input, d->port);
	fprintf(out, "  probe timeouts: connect %u s, each SMTP reply %u s, "
	    "TLS handshake %u s, this destination %u s; DNS %u s (libunbound, "
	    "as the module)\n", o->connect_s, o->reply_s, o->handshake_s,
	    ri->total_s, ri->dns_s);
	fprintf(out, "\nsendmail's view\n");
	if (v->cf_read)
		fprintf(out, "  cf          %s: %s", v->cf, v->cfg.present ?
		    "FEATURE(dane)" : "no FEATURE(dane): stock sendmail, the "
		    "module is not loaded");
	else
		fprintf(out, "  cf          none read (%s)", v->cf_error);
	if (v->cfg.present)
		fprintf(out, " version %d", v->cfg.version);
	fprintf(out, "\n");
	if (v->cfg.fatal)
		fprintf(out, "              D{smdane_fatal}: %s\n",
		    v->cfg.fatal_text);
	if (v->cfg.error)
		fprintf(out, "              configuration error: %s\n",
		    v->cfg.error_text);
	fprintf(out, "  route       %s: %s\n", v->address, v->bv_line[0] ?
	    v->bv_line : "-");
	fprintf(out, "              (%s)\n", v->route_from);
	fprintf(out, "  next hop    %s\n", d->nexthop);
	if (v->m != NULL)
		fprintf(out, "  mailer      %s: A=%s: mode %s, port %u%s\n",
		    v->m->name, v->m->args, mode_word(v->mailer_mode),
		    d->port, v->mailer_mode == SMDANE_MODE_AUDIT ?
		    " (audit: logged, not enforced)" :
		    v->mailer_mode == SMDANE_MODE_OPTIN ? " (DANE only where "
		    "a DANE: entry says so)" : "");
	if (v->access_denied[0] != '\0')
		fprintf(out, "  access map  %s: not readable by this user, not "
		    "looked up\n", v->access_denied);
	else
		fprintf(out, "  access map  %s%s%s%s\n", v->access_path[0] ?
		    v->access_path : "none", v->access_path[0] ? " (" : "",
		    v->access_from, v->access_path[0] ? ")" : "");
	if (v->cfg.access_unreadable[0] != '\0')
		fprintf(out, "              a map of type %s: its DANE: entries "
		    "are not seen by the module\n", v->cfg.access_unreadable);
	digests_text(ri->settings, dg, sizeof(dg));
	fprintf(out, "  settings    usage01 %s, digests %s, no-dnssec %s\n",
	    usage01_name(ri->settings->usage01), dg,
	    ri->settings->no_dnssec == DANE_NO_DNSSEC_OPPORTUNISTIC ?
	    "opportunistic" : "defer");
	fprintf(out, "  resolver    %s\n", ri->resolver);
	if (ri->ctx_error[0] != '\0')
		fprintf(out, "              cannot be used: %s\n", ri->ctx_error);
	fprintf(out, "  MX          %s", mx_name(d->mx));
	for (i = 0; i < d->host_count; i++) {
		const struct probe_host *h = &d->hosts[i];

		if (h->preference >= 0)
			fprintf(out, "%s %d %s", i ? "," : ":", h->preference,
			    h->name);
		else
			fprintf(out, "%s %s (%s)", i ? "," : ":", h->name,
			    h->role);
	}
	if (d->mx_text[0] != '\0')
		fprintf(out, "; %s", d->mx_text);
	fprintf(out, "\n");
	for (i = 0; i < ri->note_count; i++)
		fprintf(out, "  note        %s\n", ri->notes[i]);

	if (d->host_count == 0) {
		fprintf(out, "\n");
		if (d->policy != NULL)
			report_policy_line(out, d->nexthop, d->policy);
		else
			fprintf(out, "%s: error: %s\n", d->nexthop,
			    dane_strerror(d->policy_error));
	}
	for (i = 0; i < d->host_count; i++) {
		const struct probe_host *h = &d->hosts[i];

		fprintf(out, "\n");
		if (h->policy != NULL)
			report_policy_line(out, host_label(d, h), h->policy);
		else
			fprintf(out, "%s: error: %s\n", host_label(d, h),
			    dane_strerror(h->error));
		fprintf(out, "  %s%s", h->preference >= 0 ? "MX " : h->role,
		    "");
		if (h->preference >= 0)
			fprintf(out, "%d", h->preference);
		if (h->original[0] != '\0')
			fprintf(out, "; %s, which sendmail canonified to %s, is "
			    "a reference name too", h->original, d->nexthop);
		if (!h->reached)
			fprintf(out, "; sendmail would not get here (an earlier "
			    "host accepts the message)");
		fprintf(out, "\n");
		if (h->facts != NULL && h->facts->tlsa_base[0] != '\0' &&
		    h->facts->tlsa.answer != DANE_ANSWER_NOT_QUERIED) {
			fprintf(out, "  TLSA _%u._tcp.%s: %s%s\n", d->port,
			    h->facts->tlsa_base,
			    h->facts->tlsa.answer == DANE_ANSWER_FOUND ?
			    "found" : h->facts->tlsa.answer ==
			    DANE_ANSWER_NXDOMAIN ? "NXDOMAIN" :
			    h->facts->tlsa.answer == DANE_ANSWER_NODATA ?
			    "no records" : "lookup failed",
			    h->facts->tlsa.dnssec == DANE_DNSSEC_SECURE ?
			    ", secure" : h->facts->tlsa.dnssec ==
			    DANE_DNSSEC_INSECURE ? ", insecure" : ", bogus");
			if (h->facts->tlsa_malformed > 0)
				fprintf(out, "    %zu malformed record(s): "
				    "unusable\n", h->facts->tlsa_malformed);
		}
		text_answers(out, h);
		for (k = 0; k < h->rr_count; k++) {
			const struct probe_rr *r = &h->rrs[k];

			rr_hex(&r->rr, hexd, sizeof(hexd));
			fprintf(out, "    %u %u %u %s\n      %s\n", r->rr.usage,
			    r->rr.selector, r->rr.mtype, hexd, r->why);
		}
		if (h->addr_count == 0)
			fprintf(out, "  no address: %s\n    verdict   skip: %s\n",
			    h->addr_error, h->addr_error);
		for (k = 0; k < h->addr_count; k++)
			text_address(out, v, d, h, &h->addrs[k]);
	}
	fprintf(out, "\nverdict: %s", probe_verdict_name(d->verdict));
	if (d->by_host >= 0) {
		const struct probe_host *h = &d->hosts[d->by_host];

		fprintf(out, ", delivered to %s [%s]", h->name,
		    h->addrs[d->by_addr].addr);
		if (h->preference >= 0)
			fprintf(out, " (MX %d)", h->preference);
		if (d->by_host > 0)
			fprintf(out, " after %d refused host%s", d->by_host,
			    d->by_host > 1 ? "s" : "");
	}
	fprintf(out, "\n  %s\n", d->reason);
	if (d->status[0] != '\0' && d->verdict == PROBE_V_BOUNCED)
		fprintf(out, "  sendmail: stat=%s, returned to the sender\n",
		    d->status);
	else if (d->status[0] != '\0')
		fprintf(out, "  mailq: (%s)\n", d->status);
	if (d->no_connect)
		fprintf(out, "  (predicted from the DNS alone: --no-connect)\n");
	for (i = 0; i < d->host_count; i++)
		for (k = 0; k < d->hosts[i].addr_count; k++)
			nw += d->hosts[i].addrs[k].warn_count;
	if (nw > 0)
		fprintf(out, "  %zu rollover warning%s above\n", nw,
		    nw > 1 ? "s" : "");
	return ferror(out) ? -1 : 0;
}

/* --- JSON --------------------------------------------------------------- */

struct jb {
	int bad;
};

static void
jset(struct jb *b, json_object *o, const char *k, json_object *v)
{
	if (o == NULL || (v == NULL && b->bad)) {
		json_object_put(v);
		b->bad = 1;
		return;
	}
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		b->bad = 1;
	}
}

static void
jstr(struct jb *b, json_object *o, const char *k, const char *s)
{
	if (s == NULL) {
		jset(b, o, k, NULL);
		return;
	}
	json_object *v = json_object_new_string(s);

	if (v == NULL)
		b->bad = 1;
	jset(b, o, k, v);
}

static void
jstr_or_null(struct jb *b, json_object *o, const char *k, const char *s)
{
	jstr(b, o, k, s != NULL && s[0] != '\0' ? s : NULL);
}

static void
jint(struct jb *b, json_object *o, const char *k, int64_t n)
{
	json_object *v = json_object_new_int64(n);

	if (v == NULL)
		b->bad = 1;
	jset(b, o, k, v);
}

static void
jbool(struct jb *b, json_object *o, const char *k, int t)
{
	json_object *v = json_object_new_boolean(t != 0);

	if (v == NULL)
		b->bad = 1;
	jset(b, o, k, v);
}

static json_object *
jobj(struct jb *b)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		b->bad = 1;
	return o;
}

static json_object *
jarr(struct jb *b)
{
	json_object *o = json_object_new_array();

	if (o == NULL)
		b->bad = 1;
	return o;
}

static void
jpush(struct jb *b, json_object *a, json_object *v)
{
	if (a == NULL || v == NULL || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		b->bad = 1;
	}
}

/* "dnssec": the answers; "tlsa_servers": per authoritative server. */
static void
json_answers(struct jb *b, json_object *e, const struct probe_host *h)
{
	const struct consistency_report *c = &h->tlsa_servers;
	json_object *arr = jarr(b), *ts, *svs;
	size_t i;

	for (i = 0; i < h->answers.count; i++) {
		const struct health_answer *a = &h->answers.items[i];
		json_object *o = jobj(b);

		jstr(b, o, "what", a->what);
		jstr(b, o, "name", a->name);
		jstr_or_null(b, o, "expanded", a->expanded);
		jstr(b, o, "answer", answer_word(a->answer));
		jstr(b, o, "dnssec", dnssec_word(a->dnssec));
		jstr_or_null(b, o, "why", a->why);
		jpush(b, arr, o);
	}
	jset(b, e, "dnssec", arr);
	if (!h->tlsa_servers_done) {
		jstr(b, e, "tlsa_servers", NULL);
		return;
	}
	ts = jobj(b);
	svs = jarr(b);
	jstr(b, ts, "owner", c->owner);
	jstr_or_null(b, ts, "zone", c->zone);
	jstr(b, ts, "status", health_status_name(c->status));
	jstr_or_null(b, ts, "summary", c->summary);
	jbool(b, ts, "consistent", c->consistent);
	for (i = 0; i < c->server_count; i++) {
		const struct health_server *sv = &c->servers[i];
		json_object *o = jobj(b);
		static const char *const st[] = { "answered", "lame",
			"failed", "skipped" };

		jstr(b, o, "name", sv->name);
		jstr_or_null(b, o, "address", sv->address);
		jstr(b, o, "state", (unsigned)sv->state < 4 ?
		    st[sv->state] : "?");
		jbool(b, o, "differs", sv->differs);
		jstr_or_null(b, o, "why", sv->why);
		jpush(b, svs, o);
	}
	jset(b, ts, "servers", svs);
	jset(b, e, "tlsa_servers", ts);
}

static json_object *
j_keys(struct jb *b, const struct probe_keys *k)
{
	json_object *o = jobj(b), *arr = jarr(b);
	size_t i, n = k->matched >= 0 ? (size_t)k->matched + 1 : k->n;

	for (i = 0; i < n; i++) {
		json_object *s = json_object_new_string(k->key[i]);

		if (s == NULL)
			b->bad = 1;
		jpush(b, arr, s);
	}
	jset(b, o, "tried", arr);
	jstr_or_null(b, o, "matched", k->matched >= 0 ? k->key[k->matched] :
	    NULL);
	jstr_or_null(b, o, "value", k->matched >= 0 ? k->value : NULL);
	jbool(b, o, "unreadable", k->error);
	return o;
}

static json_object *
j_rr(const struct dane_tlsa_rr *rr)
{
	char hexd[2 * 1024 + 8], text[2 * 1024 + 32];

	rr_hex(rr, hexd, sizeof(hexd));
	snprintf(text, sizeof(text), "%u %u %u %s", rr->usage, rr->selector,
	    rr->mtype, hexd);
	return json_object_new_string(text);
}

static json_object *
j_tlsa(struct jb *b, const struct probe_host *h,
    const struct probe_session *ss)
{
	json_object *arr = jarr(b);
	size_t i, d;

	for (i = 0; i < h->rr_count; i++) {
		const struct probe_rr *r = &h->rrs[i];
		json_object *o = jobj(b), *depths = jarr(b), *rec = j_rr(&r->rr);

		if (rec == NULL)
			b->bad = 1;
		jset(b, o, "record", rec);
		jint(b, o, "usage", r->rr.usage);
		jint(b, o, "selector", r->rr.selector);
		jint(b, o, "mtype", r->rr.mtype);
		jbool(b, o, "usable", r->state == PROBE_RR_USABLE);
		jstr(b, o, "state", rr_state_name(r->state));
		jstr(b, o, "why", r->why);
		if (ss != NULL && r->usable_index >= 0 &&
		    (size_t)r->usable_index < ss->rr_count)
			for (d = 0; d < ss->chain_len; d++)
				if (ss->rr_match[r->usable_index] & (1u << d))
					jpush(b, depths,
					    json_object_new_int((int)d));
		jset(b, o, "matches_depths", depths);
		jpush(b, arr, o);
	}
	return arr;
}

/* "a b c" as ["a", "b", "c"] */
static json_object *
j_words(struct jb *b, const char *s)
{
	json_object *arr = jarr(b);
	size_t n;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		if ((n = strcspn(s, " ")) == 0)
			break;
		jpush(b, arr, json_object_new_string_len(s, (int)n));
		s += n;
	}
	return arr;
}

static json_object *
j_chain(struct jb *b, const struct probe_session *ss, time_t now)
{
	json_object *arr = jarr(b);
	size_t i;

	for (i = 0; ss != NULL && i < ss->chain_len; i++) {
		const struct probe_cert *c = &ss->chain[i];
		json_object *o = jobj(b);

		jint(b, o, "depth", (int64_t)i);
		jstr(b, o, "subject", c->subject);
		jstr(b, o, "issuer", c->issuer);
		jset(b, o, "names", j_words(b, c->names));
		jstr(b, o, "key", c->key);
		jstr(b, o, "not_before", c->not_before);
		jstr(b, o, "not_after", c->not_after);
		jint(b, o, "days_left", (int64_t)(difftime(c->not_after_t,
		    now) / 86400.0));
		jstr(b, o, "spki_sha256", c->spki_sha256);
		jstr(b, o, "cert_sha256", c->cert_sha256);
		jpush(b, arr, o);
	}
	return arr;
}

static json_object *
j_match(struct jb *b, const struct probe_host *h,
    const struct probe_session *ss)
{
	json_object *o = jobj(b);
	int checked = ss != NULL && ss->tls && ss->policy_applied &&
	    ss->applied == DANE_LEVEL_AUTH;
	char text[200];

	jbool(b, o, "checked", checked);
	jbool(b, o, "authenticated", checked && ss->auth.authenticated);
	if (checked && ss->auth.authenticated) {
		snprintf(text, sizeof(text), "%u %u %u %s",
		    ss->auth.matched.usage, ss->auth.matched.selector,
		    ss->auth.matched.mtype, ss->matched_hex);
		jstr(b, o, "record", text);
		jint(b, o, "depth", ss->auth.depth);
	} else {
		jstr(b, o, "record", NULL);
		jstr(b, o, "depth", NULL);
	}
	jstr_or_null(b, o, "failure", checked ? ss->failure : NULL);
	jstr_or_null(b, o, "explanation", checked ? ss->explain : NULL);
	jstr_or_null(b, o, "detail", checked ? ss->auth.detail : NULL);
	(void)h;
	return o;
}

static json_object *
j_session(struct jb *b, const struct probe_session *ss)
{
	json_object *o = jobj(b);

	jbool(b, o, "connected", ss->connected);
	jstr_or_null(b, o, "error", ss->error);
	jint(b, o, "greeting_code", ss->greeting_code);
	jstr_or_null(b, o, "greeting", ss->greeting);
	jbool(b, o, "starttls_offered", ss->starttls_offered);
	jbool(b, o, "starttls_sent", ss->starttls_sent);
	jint(b, o, "starttls_code", ss->starttls_code);
	jbool(b, o, "tls", ss->tls);
	jstr_or_null(b, o, "tls_error", ss->tls_error);
	jstr_or_null(b, o, "version", ss->tls ? ss->version : NULL);
	jstr_or_null(b, o, "cipher", ss->tls ? ss->cipher : NULL);
	jstr_or_null(b, o, "sni", ss->sni);
	jstr(b, o, "verify", ss->verify != NULL ? ss->verify : "NONE");
	jstr(b, o, "applied", ss->policy_applied ?
	    dane_level_name(ss->applied) : NULL);
	jint(b, o, "milliseconds", (int64_t)(ss->seconds * 1000));
	return o;
}

static json_object *
j_policy(struct jb *b, const struct dane_policy *p, enum dane_result error,
    const struct dane_facts *facts, uint16_t port)
{
	json_object *o = jobj(b), *names = jarr(b);
	size_t i;
	char tlsa[DANE_NAME_MAX + 16];

	if (p == NULL) {
		jstr(b, o, "level", NULL);
		jstr(b, o, "reason", NULL);
		jstr(b, o, "error", dane_strerror(error));
		json_object_put(names);
		return o;
	}
	jstr(b, o, "level", dane_level_name(p->level));
	jstr(b, o, "reason", dane_reason_text(p->reason));
	jstr_or_null(b, o, "dsn", p->dsn);
	jstr_or_null(b, o, "base", p->base_domain);
	for (i = 0; i < p->refname_count; i++)
		jpush(b, names, json_object_new_string(p->refnames[i]));
	jset(b, o, "names", names);
	jint(b, o, "usable", (int64_t)p->usable_count);
	jint(b, o, "unusable", (int64_t)p->unusable_count);
	if (facts != NULL && facts->tlsa_base[0] != '\0') {
		snprintf(tlsa, sizeof(tlsa), "_%u._tcp.%s", port,
		    facts->tlsa_base);
		jstr(b, o, "tlsa_name", tlsa);
	} else
		jstr(b, o, "tlsa_name", NULL);
	jstr(b, o, "error", NULL);
	return o;
}

static json_object *
j_address(struct jb *b, const struct probe_dest *d, const struct probe_host *h,
    const struct probe_addr *a, time_t now)
{
	json_object *o = jobj(b), *w = jarr(b), *kts = jarr(b);
	const struct probe_session *ds = a != NULL ? dane_session(a) : NULL;
	char why[PROBE_TEXT];
	size_t i;

	jstr(b, o, "name", h->name);
	jstr(b, o, "role", h->role);
	if (h->preference >= 0)
		jint(b, o, "preference", h->preference);
	else
		jstr(b, o, "preference", NULL);
	jstr_or_null(b, o, "address", a != NULL ? a->addr : NULL);
	jint(b, o, "port", d->port);
	jstr(b, o, "mode", a != NULL ? smdane_mode_name(a->mode) :
	    smdane_mode_name(SMDANE_MODE_NONE));
	jstr(b, o, "level", probe_level_name(a != NULL ? a->level :
	    PROBE_SKIP));
	jstr(b, o, "reason", a != NULL ? a->reason : h->addr_error);
	jbool(b, o, "accepted", a != NULL && a->accepted);
	jbool(b, o, "reached", h->reached);
	jbool(b, o, "decides", a != NULL && d->by_host >= 0 &&
	    &d->hosts[d->by_host] == h &&
	    &h->addrs[d->by_addr] == a);
	jstr_or_null(b, o, "answer", a != NULL ? a->answer : NULL);
	if (a != NULL && a->has_would) {
		json_object *wb = jobj(b);

		probe_answer_reason(a->would, why, sizeof(why));
		jstr(b, wb, "level", probe_level_name(a->would_level));
		jstr(b, wb, "answer", a->would);
		jstr_or_null(b, wb, "reason", why);
		jset(b, o, "would_be", wb);
	} else
		jstr(b, o, "would_be", NULL);
	jset(b, o, "policy", j_policy(b, h->policy, h->error, h->facts,
	    d->port));
	jstr_or_null(b, o, "original", h->original);
	jset(b, o, "tlsa", j_tlsa(b, h, ds));
	jset(b, o, "match", j_match(b, h, ds));
	jset(b, o, "chain", j_chain(b, ds, now));
	if (a != NULL && a->main.tried)
		jset(b, o, "smtp", j_session(b, &a->main));
	else
		jstr(b, o, "smtp", NULL);
	if (a != NULL && a->dane.tried)
		jset(b, o, "dane_session", j_session(b, &a->dane));
	else
		jstr(b, o, "dane_session", NULL);
	for (i = 0; a != NULL && i < PROBE_KEYTYPES; i++) {
		const struct probe_session *k = &a->kt[i];
		json_object *ko;

		if (!k->tried)
			continue;
		ko = jobj(b);
		jstr(b, ko, "keytype", probe_keytypes[i].name);
		jbool(b, ko, "tls", k->tls);
		jstr_or_null(b, ko, "key", k->chain_len ? k->chain[0].key :
		    NULL);
		jstr_or_null(b, ko, "spki_sha256", k->chain_len ?
		    k->chain[0].spki_sha256 : NULL);
		jbool(b, ko, "authenticated", k->auth.authenticated);
		jstr_or_null(b, ko, "detail", k->tls ? k->auth.detail :
		    k->tls_error[0] ? k->tls_error : k->error);
		jpush(b, kts, ko);
	}
	jset(b, o, "keytypes", kts);
	if (a != NULL) {
		jset(b, o, "access", j_keys(b, &a->access));
		jset(b, o, "try_tls", j_keys(b, &a->trytls));
		jbool(b, o, "try_tls_no", a->trytls_no);
		jbool(b, o, "module_no_starttls", a->module_no_starttls);
		jbool(b, o, "fallback_clear", a->fallback_clear);
		jstr_or_null(b, o, "mode_error", a->mode_error);
	}
	for (i = 0; a != NULL && i < a->warn_count; i++) {
		json_object *wo = jobj(b);

		jstr(b, wo, "code", a->warn[i].code);
		jstr(b, wo, "text", a->warn[i].text);
		jpush(b, w, wo);
	}
	jset(b, o, "warnings", w);
	return o;
}

struct json_object *
report_json_object(const struct report_info *ri)
{
	const struct view *v = ri->v;
	const struct probe_dest *d = ri->d;
	const struct probe_opts *o = ri->o;
	struct jb b = { 0 };
	json_object *top = jobj(&b), *sv = jobj(&b), *mx = jobj(&b),
	    *hosts = jarr(&b), *to = jobj(&b), *notes = jarr(&b),
	    *warns = jarr(&b), *mxh = jarr(&b), *st = jobj(&b);
	time_t now = time(NULL);
	char dg[64];
	size_t i, k;

	jint(&b, top, "version", REPORT_JSON_VERSION);
	jstr(&b, top, "destination", d->input);
	jstr(&b, top, "nexthop", d->nexthop);
	jint(&b, top, "port", d->port);
	jstr(&b, top, "verdict", probe_verdict_name(d->verdict));
	jint(&b, top, "exit", probe_exit_status(d->verdict));
	jstr(&b, top, "reason", d->reason);
	jstr_or_null(&b, top, "status", d->status);
	if (d->by_host >= 0) {
		json_object *by = jobj(&b);

		jstr(&b, by, "name", d->hosts[d->by_host].name);
		jstr(&b, by, "address",
		    d->hosts[d->by_host].addrs[d->by_addr].addr);
		jset(&b, top, "by", by);
	} else
		jstr(&b, top, "by", NULL);
	jstr(&b, top, "mode", smdane_mode_name(v->mailer_mode));
	jbool(&b, top, "enforcing", v->cfg.present &&
	    v->mailer_mode != SMDANE_MODE_AUDIT &&
	    v->mailer_mode != SMDANE_MODE_NONE &&
	    v->mailer_mode != SMDANE_MODE_UNKNOWN);
	jbool(&b, top, "connected", !d->no_connect);

	jstr_or_null(&b, sv, "cf", v->cf_read ? v->cf : NULL);
	jstr_or_null(&b, sv, "cf_error", v->cf_read ? NULL : v->cf_error);
	jbool(&b, sv, "feature", v->cfg.present);
	jint(&b, sv, "feature_version", v->cfg.version);
	jstr_or_null(&b, sv, "config_error", v->cfg.error ?
	    v->cfg.error_text : NULL);
	jstr_or_null(&b, sv, "fatal", v->cfg.fatal ? v->cfg.fatal_text : NULL);
	jstr(&b, sv, "address", v->address);
	jstr(&b, sv, "mailer", v->m != NULL ? v->m->name : v->mailer);
	jstr_or_null(&b, sv, "mailer_args", v->m != NULL ? v->m->args : NULL);
	jstr(&b, sv, "mailer_mode", smdane_mode_name(v->mailer_mode));
	jstr(&b, sv, "host", v->host);
	jstr(&b, sv, "route_from", v->route_from);
	jbool(&b, sv, "bv_failed", v->bv_failed);
	jstr_or_null(&b, sv, "access_map", v->access_path);
	jstr_or_null(&b, sv, "access_map_unreadable", v->access_denied);
	jstr_or_null(&b, sv, "fallback_mx", v->fallback_mx);
	jstr_or_null(&b, sv, "fallback_smarthost", v->fallback_smarthost);
	jbool(&b, sv, "tls_fallback_clear", v->tls_fallback_clear);
	digests_text(ri->settings, dg, sizeof(dg));
	jstr(&b, st, "usage01", usage01_name(ri->settings->usage01));
	jstr(&b, st, "digests", dg);
	jstr(&b, st, "no_dnssec", ri->settings->no_dnssec ==
	    DANE_NO_DNSSEC_OPPORTUNISTIC ? "opportunistic" : "defer");
	jstr(&b, st, "resolver", ri->resolver);
	jstr_or_null(&b, st, "resolver_error", ri->ctx_error);
	jset(&b, sv, "settings", st);
	jset(&b, top, "sendmail", sv);

	jstr(&b, mx, "lookup", mx_name(d->mx));
	jstr_or_null(&b, mx, "text", d->mx_text);
	jbool(&b, mx, "equal_preferences", d->mx_equal);
	for (i = 0; i < d->host_count; i++) {
		json_object *e = jobj(&b);

		jstr(&b, e, "name", d->hosts[i].name);
		if (d->hosts[i].preference >= 0)
			jint(&b, e, "preference", d->hosts[i].preference);
		else
			jstr(&b, e, "preference", NULL);
		jstr(&b, e, "role", d->hosts[i].role);
		json_answers(&b, e, &d->hosts[i]);
		jpush(&b, mxh, e);
	}
	jset(&b, mx, "hosts", mxh);
	jset(&b, top, "mx", mx);

	for (i = 0; i < d->host_count; i++) {
		const struct probe_host *h = &d->hosts[i];

		if (h->addr_count == 0)
			jpush(&b, hosts, j_address(&b, d, h, NULL, now));
		for (k = 0; k < h->addr_count; k++) {
			const struct probe_addr *a = &h->addrs[k];
			size_t w;

			jpush(&b, hosts, j_address(&b, d, h, a, now));
			for (w = 0; w < a->warn_count; w++) {
				json_object *wo = jobj(&b);

				jstr(&b, wo, "host", h->name);
				jstr(&b, wo, "address", a->addr);
				jstr(&b, wo, "code", a->warn[w].code);
				jstr(&b, wo, "text", a->warn[w].text);
				jpush(&b, warns, wo);
			}
		}
	}
	jset(&b, top, "hosts", hosts);
	if (d->host_count == 0)
		jset(&b, top, "policy", j_policy(&b, d->policy, d->policy_error,
		    NULL, d->port));
	else
		jstr(&b, top, "policy", NULL);
	jset(&b, top, "warnings", warns);
	jint(&b, to, "connect", o->connect_s);
	jint(&b, to, "reply", o->reply_s);
	jint(&b, to, "handshake", o->handshake_s);
	jint(&b, to, "destination", ri->total_s);
	jint(&b, to, "dns", ri->dns_s);
	jset(&b, top, "timeouts", to);
	jint(&b, top, "warn_days", ri->warn_days);
	for (i = 0; i < ri->note_count; i++)
		jpush(&b, notes, json_object_new_string(ri->notes[i]));
	jset(&b, top, "notes", notes);
	if (b.bad) {
		json_object_put(top);
		return NULL;
	}
	return top;
}

int
report_json(FILE *out, const struct report_info *ri)
{
	json_object *o = report_json_object(ri);
	const char *s;

	if (o == NULL)
		return -1;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL) {
		json_object_put(o);
		return -1;
	}
	fprintf(out, "%s\n", s);
	json_object_put(o);
	return ferror(out) ? -1 : 0;
}
