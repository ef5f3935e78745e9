/*
 * NAME
 *	glue.c - the verdict channel's answers
 *
 * DESCRIPTION
 *	One query of the channel (verdict.c describes its name) is
 *	answered from the delivery's mode (delivery.c), a DANE: entry of
 *	the access map, the policy of the (server, next hop) pair, the
 *	record of the connection being checked (conns.c) and the pure
 *	decision of smdane_verdict().  One line per connection is logged:
 *	at tls_server, or at try_tls when that already refused; tls_rcpt
 *	refusals once per destination.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "module.h"

static const struct smdane_config *cfg;
static struct dane_access *access_map;
static int warned_access;

void
glue_setup(const struct smdane_config *c)
{
	cfg = c;
}

static int
is_ok(const char *answer)
{
	return strncmp(answer, "OK", 2) == 0;
}

static void
log_verdict(const struct smdane_query *q, const struct dlv_policy *ps,
    enum smdane_mode mode, const struct smdane_conn *conn, const char *answer)
{
	const struct dane_policy *p = ps->policy;
	const char *orig = ps->original;
	char tlsa[160] = "", rr[48];
	size_t i, off = 0;
	int canon = ps->original[0] != '\0';

	/* the name canonified to the next hop that the certificate matched */
	for (i = ps->own_refnames; conn != NULL && i < p->refname_count; i++)
		if (strcasecmp(p->refnames[i], conn->peername) == 0)
			orig = p->refnames[i];

	for (i = 0; i < p->usable_count && off + 1 < sizeof(tlsa); i++) {
		dane_tlsa_format(&p->usable[i], rr, sizeof(rr));
		off += (size_t)snprintf(tlsa + off, sizeof(tlsa) - off,
		    "%s%s", i > 0 ? "; " : "", rr);
	}
	smdane_log(is_ok(answer) ? LOG_INFO : LOG_NOTICE,
	    "STARTTLS=client, relay=%s, dane=%s, nexthop=%s%s%s, base=%s, "
	    "mode=%s, reason=%s, tlsa=%zu usable/%zu unusable%s%s%s, "
	    "match=%s, verdict=%s",
	    q->server[0] != '\0' ? q->server : q->nexthop,
	    dane_level_name(mode == SMDANE_MODE_ENCRYPT &&
	    p->level == DANE_LEVEL_OPP ? DANE_LEVEL_ENCRYPT : p->level),
	    canon ? orig : ps->nexthop, canon ? ", canonical=" : "",
	    canon ? ps->nexthop : "",
	    p->base_domain[0] != '\0' ? p->base_domain : "-",
	    smdane_mode_name(mode),
	    dane_reason_text(p->reason), p->usable_count, p->unusable_count,
	    tlsa[0] != '\0' ? " [" : "", tlsa, tlsa[0] != '\0' ? "]" : "",
	    conn != NULL && conn->auth.detail[0] != '\0' ?
	    conn->auth.detail : "-", answer);
}

/*
 * The mode for one destination: a DANE: entry of the access map for the
 * next hop, the server name or the server address, in that order, else
 * the mailer's.  Only DANE mailers consult the map.  Returns -1 (and a
 * reason in err) when the map cannot be read or an entry is invalid.
 */
static int
mode_for(const struct smdane_query *q, const char *nexthop,
    enum smdane_mode mailer, enum smdane_mode *mode, char *err, size_t esize)
{
	char val[128], key[DANE_NAME_MAX + 16];
	enum smdane_mode entry = SMDANE_MODE_NONE;
	int r;

	*mode = smdane_mode_resolve(mailer, 0, entry);
	key[0] = '\0';
	if (mailer == SMDANE_MODE_NONE)
		return 0;
	if (cfg->access_unreadable[0] != '\0' && !warned_access) {
		warned_access = 1;
		smdane_log(LOG_WARNING, "STARTTLS=client, dane=warning, "
		    "reason=access map of type %s cannot be read, DANE: "
		    "entries are ignored", cfg->access_unreadable);
	}
	if (cfg->access_db[0] == '\0')
		return 0;
	if (access_map == NULL &&
	    dane_access_new(cfg->access_db, &access_map) != DANE_OK) {
		snprintf(err, esize, "DANE: access map path unusable");
		return -1;
	}
	r = dane_access_domain(access_map, "DANE", nexthop, val, sizeof(val),
	    key, sizeof(key));
	if (r == 0 && q->server[0] != '\0')
		r = dane_access_domain(access_map, "DANE", q->server, val,
		    sizeof(val), key, sizeof(key));
	if (r == 0 && q->addr[0] != '\0')
		r = dane_access_addr(access_map, "DANE", q->addr, val,
		    sizeof(val), key, sizeof(key));
	if (r < 0) {
		snprintf(err, esize, "DANE: access map %.150s unreadable",
		    cfg->access_db);
		return -1;
	}
	if (r == 0)
		return 0;
	val[strcspn(val, " \t")] = '\0';
	if (smdane_mode_parse(val, &entry) != 0) {
		char clean[64], ckey[96];

		smdane_sanitize(clean, sizeof(clean), val);
		smdane_sanitize(ckey, sizeof(ckey), key);
		snprintf(err, esize, "DANE: bad access map entry %s %s", ckey,
		    clean);
		return -1;
	}
	*mode = smdane_mode_resolve(mailer, 1, entry);
	return 0;
}

/*
 * A DANE-TA match of a name sendmail canonified to the next hop holds
 * for the recipients that came through that name; sendmail does not say
 * which those are.  When the next hop is reached by other secure names
 * too (another alias, or addresses at the next hop itself), the match
 * cannot be applied to all of them: refuse rather than widen.
 */
static void
alias_match_check(const struct dlv_policy *ps, const struct smdane_conn *conn,
    const char *host, char *answer, size_t size)
{
	const struct dane_policy *p = ps->policy;
	size_t k;

	if (!is_ok(answer) || conn == NULL || !conn->auth.authenticated ||
	    conn->auth.matched.usage != DANE_USAGE_DANE_TA ||
	    conn->peername[0] == '\0' || ps->identities <= 1)
		return;
	for (k = ps->own_refnames; k < p->refname_count; k++)
		if (strcasecmp(p->refnames[k], conn->peername) == 0) {
			char why[3 * DANE_NAME_MAX + 80], clean[232];

			snprintf(why, sizeof(why), "DANE: certificate of %s "
			    "names only %s, one of several names that lead "
			    "to %s", host, conn->peername, ps->nexthop);
			smdane_sanitize(clean, sizeof(clean), why);
			snprintf(answer, size, "FAIL \"%s\"", clean);
			return;
		}
}

/* The answer for one (destination, server) pair of a query. */
static void
answer_for(const struct smdane_query *q, const char *nexthop,
    enum smdane_mode mailer, struct smdane_conn *conn, char *answer,
    size_t size, enum smdane_mode *mode_out, struct dlv_policy **ps_out)
{
	struct smdane_query qq = *q;
	struct dlv_policy *ps;
	enum smdane_mode mode;
	char err[200], clean[200];
	const char *server = q->server[0] != '\0' ? q->server : nexthop;

	*ps_out = NULL;
	*mode_out = SMDANE_MODE_NONE;
	if (mode_for(q, nexthop, mailer, &mode, err, sizeof(err)) != 0) {
		smdane_sanitize(clean, sizeof(clean), err);
		snprintf(answer, size, "FAIL \"%s\"", clean);
		return;
	}
	*mode_out = mode;
	if (mode == SMDANE_MODE_NONE) {
		snprintf(answer, size, "OK");
		return;
	}
	ps = dlv_policy(server, nexthop);
	*ps_out = ps;
	if (ps->policy == NULL) {
		snprintf(answer, size, "FAIL \"DANE: DNS lookups impossible: "
		    "%s\"", dane_strerror(ps->error));
		return;
	}
	snprintf(qq.nexthop, sizeof(qq.nexthop), "%s", nexthop);
	/* audit: what "dane" would decide */
	smdane_verdict(mode == SMDANE_MODE_AUDIT ? SMDANE_MODE_DANE : mode,
	    ps->policy, dlv_port(), &qq, conn, answer, size);
	if (strcmp(q->phase, "try_tls") != 0)
		alias_match_check(ps, conn, server, answer, size);
}

/* A query whose delivery told no mode. */
static void
unknown_mode(const struct smdane_query *q, char *answer, size_t size)
{
	if (cfg->version >= 2) {
		/* the feature gives each of its mailers a service name and
		 * checks that nothing replaced it: a delivery without one
		 * is of a mailer without DANE (a numeric port) */
		if (strcmp(q->phase, "tls_server") == 0)
			smdane_log(LOG_DEBUG, "STARTTLS=client, relay=%s, "
			    "dane=none, nexthop=%s, reason=its mailer names no "
			    "DANE mode", q->server[0] != '\0' ? q->server :
			    q->nexthop, q->nexthop);
		snprintf(answer, size, "OK");
		return;
	}
	snprintf(answer, size, "FAIL \"DANE configuration error: the "
	    "delivery named no DANE mode, rebuild sendmail.cf with the "
	    "current FEATURE dane\"");
}

/*
 * A refusal the configuration makes, before any policy: one line per
 * connection, at tls_server (also for an unparsable query).  In audit
 * mode it is only what would have happened.
 */
static void
log_refusal(const struct smdane_query *q, enum smdane_mode mode,
    const char *answer)
{
	if (q != NULL && strcmp(q->phase, "tls_server") != 0)
		return;
	smdane_log(mode == SMDANE_MODE_AUDIT ? LOG_NOTICE : LOG_ERR,
	    "STARTTLS=client, relay=%s, dane=error, nexthop=%s, %sverdict=%s",
	    q == NULL ? "-" : q->server[0] != '\0' ? q->server : q->nexthop,
	    q == NULL ? "-" : q->nexthop,
	    mode == SMDANE_MODE_AUDIT ? "mode=audit, " : "", answer);
}

void
glue_verdict(const char *name, char *answer, size_t size)
{
	struct smdane_conn unknown;
	struct smdane_query q;
	struct dlv_policy *ps, *ps2;
	struct smdane_conn *conn = NULL;
	enum smdane_mode mailer, mode, mode2;
	const char *server;
	char answer2[256];
	int audit, parsed = smdane_query_parse(name, &q) == 0;

	if (cfg->fatal) {
		/* no delivery's mode can be trusted: refuse them all */
		snprintf(answer, size, "FAIL \"DANE configuration error: %s\"",
		    cfg->fatal_text);
		log_refusal(parsed ? &q : NULL, SMDANE_MODE_NONE, answer);
		return;
	}
	if (!parsed) {
		/* a delivery without DANE keeps its stock behaviour */
		mailer = dlv_mode(NULL);
		if (mailer == SMDANE_MODE_NONE || (mailer ==
		    SMDANE_MODE_UNKNOWN && cfg->version >= 2))
			snprintf(answer, size, "OK");
		else {
			snprintf(answer, size, "FAIL \"DANE: malformed "
			    "verdict query\"");
			log_refusal(NULL, mailer, answer);
			if (mailer == SMDANE_MODE_AUDIT)
				snprintf(answer, size, "OK");
		}
		return;
	}
	mailer = dlv_mode(q.nexthop);
	if (mailer == SMDANE_MODE_UNKNOWN) {
		unknown_mode(&q, answer, size);
		if (!is_ok(answer))
			log_refusal(&q, mailer, answer);
		return;
	}
	if (mailer == SMDANE_MODE_NONE) {
		snprintf(answer, size, "OK");
		return;
	}
	if (mailer == SMDANE_MODE_UNSERVED) {
		/* the m4 error is in sendmail.cf.errors (Debian's rebuild) */
		snprintf(answer, size, "FAIL \"DANE configuration error: "
		    "mailer arguments FEATURE dane cannot serve, see the m4 "
		    "errors of sendmail.cf\"");
		log_refusal(&q, mailer, answer);
		return;
	}
	if (cfg->error) {
		char clean[160];

		smdane_sanitize(clean, sizeof(clean), cfg->error_text);
		snprintf(answer, size, "FAIL \"DANE configuration error: %s\"",
		    clean);
		log_refusal(&q, mailer, answer);
		/* a mailer that only audits delivers as without DANE */
		if (mailer == SMDANE_MODE_AUDIT)
			snprintf(answer, size, "OK");
		return;
	}
	server = q.server[0] != '\0' ? q.server : q.nexthop;
	if (smdane_verify_is_tls(q.verify)) {
		/* the session being checked, by its certificate; a TLS
		 * session nothing is known of counts as unauthenticated */
		conn = conns_find(server, q.certfp);
		if (conn == NULL) {
			memset(&unknown, 0, sizeof(unknown));
			unknown.tls = 1;
			conn = &unknown;
		}
	}
	answer_for(&q, q.nexthop, mailer, conn, answer, size, &mode, &ps);
	if (strcmp(q.phase, "try_tls") == 0)
		/* a new connection that offers STARTTLS */
		dlv_pending(server, q.nexthop, mode);
	/*
	 * Recipients of other domains share a transaction when their MX
	 * lists are the same ($h names only the first): each recipient's
	 * own policy must hold on this connection too, unless the server
	 * is not one of its MX hosts (the mail was routed there, e.g. by
	 * the mailertable).
	 */
	if (strcmp(q.phase, "tls_rcpt") == 0 && q.rcpt[0] != '\0' &&
	    strcmp(q.rcpt, q.nexthop) != 0 && q.nexthop[0] != '[' &&
	    (is_ok(answer) || mode == SMDANE_MODE_AUDIT)) {
		answer_for(&q, q.rcpt, mailer, conn, answer2, sizeof(answer2),
		    &mode2, &ps2);
		/* a failed or bogus MX lookup of that domain is a refusal,
		 * not a reason to ride on the first recipient's policy; an
		 * audited first recipient's would-be refusal none at all */
		if (!is_ok(answer2) && !(ps2 != NULL &&
		    ps2->policy != NULL &&
		    ps2->policy->reason == DANE_R_HOST_NOT_MX)) {
			snprintf(answer, size, "%s", answer2);
			mode = mode2;
			if (ps2 != NULL)
				ps = ps2;
		}
	}
	audit = mode == SMDANE_MODE_AUDIT;
	if (ps != NULL && ps->policy != NULL) {
		int fail = !is_ok(answer);

		/* audit: try_tls never refuses, tls_server logs the line */
		if (strcmp(q.phase, "try_tls") == 0 && fail && !audit) {
			log_verdict(&q, ps, mode, conn, answer);
			ps->logged = 1;
		} else if (strcmp(q.phase, "tls_server") == 0) {
			if (!ps->logged)
				log_verdict(&q, ps, mode, conn, answer);
			ps->logged = 0;
			/* audit goes on to tls_rcpt, which would say the same
			 * of this destination again */
			ps->rcpt_logged |= audit && fail;
		} else if (strcmp(q.phase, "tls_rcpt") == 0 && fail &&
		    !ps->rcpt_logged) {
			log_verdict(&q, ps, mode, conn, answer);
			ps->rcpt_logged = 1;
		}
	} else if (!is_ok(answer))
		/* no policy: an access map or DNS failure */
		log_refusal(&q, mode, answer);
	/* what sendmail does without DANE: the would-be verdict is logged */
	if (audit)
		snprintf(answer, size, "OK");
}
