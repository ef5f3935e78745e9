/*
 * NAME
 *	delivery.c - the delivery in progress
 *
 * DESCRIPTION
 *	sendmail calls getservbyname() with the mailer's third A= argument
 *	once per delivery; FEATURE(`dane') gives every smtp-family mailer
 *	a name of its own there, so that call begins a delivery here: its
 *	mode and port, the policies of the (server, next hop) pairs it
 *	touches (gathered on first use, freed when the next delivery
 *	begins), and the connection being set up.  All of it is reset by
 *	the start of the next delivery and cannot leak into it.
 *
 *	A delivery's mode holds for its own next hop ($h, the same in all
 *	its queries) and its own port.  A query about another next hop, or
 *	a connection to another port, with no delivery begun in between,
 *	belongs to a delivery that told nothing (a mailer whose third A=
 *	argument is a number, which FEATURE(`dane') never gives a mailer
 *	of its own): its mode is unknown, never the previous delivery's.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "module.h"

#define ORIGINALS_MAX 16		/* names looked at per next hop */

static const struct smdane_config *cfg;
static struct {
	int begun;			/* a delivery told its mode */
	enum smdane_mode mode;
	uint16_t port;
	char bound[DANE_NAME_MAX];	/* its next hop, once queried */
	int mismatch;			/* a connection to another port */
	struct dlv_policy *pols;
	char pending_server[DANE_NAME_MAX];
	char pending_nexthop[DANE_NAME_MAX];
	enum smdane_mode pending_mode;
} D;

static struct {
	pid_t pid;
	struct dane_ctx *ctx;
	enum dane_result error;
} X;

static dlv_gather_fn gather_fn;

void
dlv_setup(const struct smdane_config *c)
{
	cfg = c;
}

void
dlv_set_gather(dlv_gather_fn fn)
{
	gather_fn = fn;
}

static void
policies_free(void)
{
	struct dlv_policy *p, *next;

	for (p = D.pols; p != NULL; p = next) {
		next = p->next;
		dane_policy_free(p->policy);
		free(p);
	}
	D.pols = NULL;
}

void
dlv_begin(enum smdane_mode mode, uint16_t port)
{
	policies_free();
	D.begun = 1;
	D.mode = mode;
	D.port = port;
	D.bound[0] = '\0';
	D.mismatch = 0;
	D.pending_server[0] = D.pending_nexthop[0] = '\0';
	D.pending_mode = SMDANE_MODE_NONE;
	if (X.ctx != NULL)
		dane_ctx_budget_reset(X.ctx);
}

enum smdane_mode
dlv_mode(const char *nexthop)
{
	if (!D.begun || D.mismatch)
		return SMDANE_MODE_UNKNOWN;
	if (nexthop == NULL)
		return D.mode;		/* without binding it */
	if (D.bound[0] == '\0') {
		snprintf(D.bound, sizeof(D.bound), "%s", nexthop);
		return D.mode;
	}
	return strcmp(D.bound, nexthop) == 0 ? D.mode : SMDANE_MODE_UNKNOWN;
}

void
dlv_port_mismatch(void)
{
	D.mismatch = 1;
}

uint16_t
dlv_port(void)
{
	return D.port;
}

/* The resolver of this process; a context that could not be made is
 * tried again once in each new process (libdane gives a forked child
 * its own resolver). */
static struct dane_ctx *
context(void)
{
	struct dane_resolver_config rc;
	pid_t pid = getpid();

	if (X.ctx != NULL || X.pid == pid)
		return X.ctx;
	X.pid = pid;
	memset(&rc, 0, sizeof(rc));
	rc.upstream = cfg->upstream;
	rc.resolv_conf = cfg->resolv_conf;
	rc.trust_anchor = cfg->trust_anchor;
	rc.unbound_conf = cfg->unbound_conf;
	rc.log_fn = smdane_log_dane;
	rc.verbosity = cfg->loglevel >= 3 ? 2 : 0;
	rc.timeout_ms = cfg->dns_timeout_ms;
	X.error = dane_ctx_new(&rc, &X.ctx);
	if (X.error != DANE_OK) {
		X.ctx = NULL;
		smdane_log(LOG_ERR, "STARTTLS=client, dane=error, reason="
		    "resolver unusable: %s", dane_strerror(X.error));
	}
	return X.ctx;
}

static enum dane_result
gather(const char *nexthop, const char *server, struct dane_facts **out)
{
	struct dane_ctx *ctx;

	*out = NULL;
	if (gather_fn != NULL)
		return gather_fn(nexthop, server, D.port, out);
	if ((ctx = context()) == NULL)
		return X.error != DANE_OK ? X.error : DANE_ERR_RESOLVER;
	return dane_gather(ctx, nexthop, server, D.port, out);
}

/*
 * Does the original name o lead, by its own DNSSEC-validated lookup,
 * to the canonical next hop with an authenticated policy?  Then it is
 * a reference identifier of that next hop's recipients that came
 * through it (RFC 7672 section 3.2.2).
 */
static int
original_authenticates(const char *o, const char *server, const char *nexthop)
{
	struct dane_facts *facts = NULL;
	struct dane_policy *p = NULL;
	int ok;

	ok = gather(o, server, &facts) == DANE_OK &&
	    dane_decide(&cfg->settings, facts, &p) == DANE_OK &&
	    p->level == DANE_LEVEL_AUTH &&
	    strcmp(facts->nexthop_expanded, nexthop) == 0;
	dane_policy_free(p);
	dane_facts_free(facts);
	return ok;
}

/*
 * An MX destination reached through CNAMEs (sendmail canonified the
 * recipient domain): every name that led there and authenticates on
 * its own is added to the canonical policy's reference names, so that
 * a DANE-TA certificate naming it can match.  It can add names, never
 * change the level or the records.  Which recipient came through which
 * name sendmail does not tell; glue.c therefore accepts a match of such
 * a name only when it is the one secure identity of the next hop.
 */
static void
add_originals(struct dlv_policy *slot, const char *server)
{
	const char *found[ORIGINALS_MAX];
	char names[ORIGINALS_MAX][DANE_NAME_MAX];
	struct dane_policy *p = slot->policy;
	size_t n, i, k;

	slot->own_refnames = p->refname_count;
	slot->identities = seen_self(slot->nexthop) ? 1 : 0;
	/* copied: seen.c's pointers hold only until its next call */
	n = seen_originals(slot->nexthop, found, ORIGINALS_MAX);
	for (i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "%s", found[i]);
	for (i = 0; i < n; i++) {
		const char *o = names[i];

		for (k = 0; k < p->refname_count; k++)
			if (strcmp(p->refnames[k], o) == 0)
				break;
		if (k < p->refname_count)
			continue;	/* already one of its names */
		if (!original_authenticates(o, server, slot->nexthop))
			continue;	/* an insecure alias: no identity */
		slot->identities++;
		if (p->refname_count >= DANE_REFNAMES_MAX) {
			/* no room: a certificate naming only it cannot
			 * match, a refusal, never a wrong acceptance */
			smdane_log(LOG_NOTICE, "STARTTLS=client, relay=%s, "
			    "dane=warning, nexthop=%s, reason=too many names "
			    "lead to it, %s is no reference identifier",
			    server, slot->nexthop, o);
			continue;
		}
		snprintf(p->refnames[p->refname_count++],
		    sizeof(p->refnames[0]), "%.*s", DANE_NAME_MAX - 1, o);
		if (slot->original[0] == '\0')
			snprintf(slot->original, sizeof(slot->original),
			    "%.*s", DANE_NAME_MAX - 1, o);
	}
	if (slot->identities == 0)
		slot->identities = 1;
}

struct dlv_policy *
dlv_policy(const char *server, const char *nexthop)
{
	static struct dlv_policy no_memory = { .error = DANE_ERR_NOMEM };
	struct dane_facts *facts = NULL;
	struct dlv_policy *slot;

	for (slot = D.pols; slot != NULL; slot = slot->next)
		if (strcmp(slot->server, server) == 0 &&
		    strcmp(slot->nexthop, nexthop) == 0)
			return slot;
	/* no policy: the verdict is "DNS lookups impossible", a deferral */
	if ((slot = calloc(1, sizeof(*slot))) == NULL)
		return &no_memory;
	slot->next = D.pols;
	D.pols = slot;
	snprintf(slot->server, sizeof(slot->server), "%s", server);
	snprintf(slot->nexthop, sizeof(slot->nexthop), "%s", nexthop);
	slot->error = gather(nexthop, server, &facts);
	if (slot->error == DANE_OK)
		slot->error = dane_decide(&cfg->settings, facts,
		    &slot->policy);
	dane_facts_free(facts);
	if (slot->policy != NULL) {
		slot->own_refnames = slot->policy->refname_count;
		slot->identities = 1;
		if (slot->policy->level == DANE_LEVEL_AUTH &&
		    nexthop[0] != '[')
			add_originals(slot, server);
	}
	return slot;
}

size_t
dlv_policy_count(void)
{
	struct dlv_policy *p;
	size_t n = 0;

	for (p = D.pols; p != NULL; p = p->next)
		n++;
	return n;
}

void
dlv_pending(const char *server, const char *nexthop, enum smdane_mode mode)
{
	snprintf(D.pending_server, sizeof(D.pending_server), "%s", server);
	snprintf(D.pending_nexthop, sizeof(D.pending_nexthop), "%s", nexthop);
	D.pending_mode = mode;
}

int
dlv_pending_get(const char **server, const char **nexthop)
{
	*server = D.pending_server;
	*nexthop = D.pending_nexthop;
	return D.pending_server[0] != '\0' &&
	    D.pending_mode != SMDANE_MODE_NONE &&
	    D.pending_mode != SMDANE_MODE_UNKNOWN;
}

/* The TCP port of the socket's peer, 0 if it has none. */
static uint16_t
peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/*
 * Audit: the session was checked with the TLSA records, but sendmail's
 * own rules (TLS_Srv: VERIFY, ...) must see the verification stock
 * sendmail would have made: the peer chain against sendmail's CA store,
 * without DANE and without names.  That result replaces the DANE one.
 */
static void
stock_verify_result(SSL *ssl)
{
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	X509_STORE_CTX *xs;
	long result = X509_V_ERR_UNSPECIFIED;

	if (leaf != NULL && store != NULL &&
	    (xs = X509_STORE_CTX_new()) != NULL) {
		if (X509_STORE_CTX_init(xs, store, leaf,
		    SSL_get_peer_cert_chain(ssl)) == 1 &&
		    X509_STORE_CTX_set_default(xs, "ssl_server") == 1) {
			if (X509_verify_cert(xs) == 1)
				result = X509_V_OK;
			else if ((result = X509_STORE_CTX_get_error(xs)) ==
			    X509_V_OK)
				result = X509_V_ERR_UNSPECIFIED;
		}
		X509_STORE_CTX_free(xs);
	}
	SSL_set_verify_result(ssl, result);
}

/*
 * SSL_connect() of the pending connection: on the first call for an
 * SSL object apply the policy (SNI, TLSA records, reference names);
 * when the handshake completes, record what it showed.
 */
int
dlv_connect(SSL *ssl, int (*next)(void *))
{
	static int ssl_idx = -1;
	static struct smdane_conn hs;	/* the handshake in progress */
	const struct dane_policy *p;
	struct dlv_policy *ps;
	const char *server, *nexthop;
	uint16_t port;
	int r, err;

	if (!dlv_pending_get(&server, &nexthop) || D.mismatch)
		return next(ssl);
	if (ssl_idx < 0)
		ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ssl_idx >= 0 && SSL_get_ex_data(ssl, ssl_idx) == NULL) {
		/* first call for this handshake (the socket is non-blocking:
		 * sendmail calls again until it completes) */
		port = peer_port(SSL_get_fd(ssl));
		if (port != 0 && port != D.port) {
			/* not this delivery's connection: a mailer that
			 * told no mode (numeric port) */
			dlv_port_mismatch();
			return next(ssl);
		}
		(void)SSL_set_ex_data(ssl, ssl_idx, (void *)&D);
		memset(&hs, 0, sizeof(hs));
		snprintf(hs.nexthop, sizeof(hs.nexthop), "%s", nexthop);
		ps = dlv_policy(server, nexthop);
		if (ps->policy != NULL && dane_ssl_apply_level(&cfg->settings,
		    ps->policy, ssl, &hs.level) != DANE_OK)
			smdane_log(LOG_ERR, "STARTTLS=client, relay=%s, "
			    "dane=error, reason=cannot enable DANE", server);
	}
	ps = dlv_policy(server, nexthop);
	p = ps->policy;
	r = next(ssl);
	if (r == 1) {
		int checked = p != NULL && hs.level == DANE_LEVEL_AUTH;
		const char *peer;

		hs.tls = 1;
		if (checked) {
			dane_ssl_check(p, ssl, &hs.auth);
			hs.auth.matched.data = NULL;
			peer = SSL_get0_peername(ssl);
			snprintf(hs.peername, sizeof(hs.peername), "%s",
			    peer != NULL ? peer : "");
		}
		/* what a check, or OpenSSL's refusal of every record
		 * (AUTH applied as ENCRYPT), was made against */
		if (p != NULL && (checked || (p->level == DANE_LEVEL_AUTH &&
		    hs.level == DANE_LEVEL_ENCRYPT)))
			hs.checked_against = smdane_policy_digest(p, D.port);
		if (conns_record(ssl, SSL_get0_peer_certificate(ssl), server,
		    &hs, checked) != 0)
			/* no record: the verdicts treat it as unchecked */
			smdane_log(LOG_ERR, "STARTTLS=client, relay=%s, "
			    "dane=error, reason=cannot record the session",
			    server);
		if (D.pending_mode == SMDANE_MODE_AUDIT)
			stock_verify_result(ssl);
	} else {
		err = SSL_get_error(ssl, r);
		/* a failed handshake: sendmail closes only one of its two
		 * descriptors and would wait Timeout.quit on the other (in
		 * audit mode sendmail goes on as without DANE) */
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE &&
		    p != NULL && dane_level_requires_tls(p->level) &&
		    D.pending_mode != SMDANE_MODE_AUDIT)
			(void)shutdown(SSL_get_fd(ssl), SHUT_RDWR);
	}
	return r;
}
