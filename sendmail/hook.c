/*
 * NAME
 *	hook.c - the module: hooks that wire libdane into the stock sendmail
 *
 * SYNOPSIS
 *	LD_PRELOAD=libsendmail-dane.so sendmail-mta -bd -q10m
 *
 * DESCRIPTION
 *	The set-user-ID shim libsendmail-dane.so (shim.c) interposes the
 *	functions; in sendmail run by root with FEATURE(`dane') it loads
 *	this module, libsendmail-dane-module.so, calls smdane_module_init()
 *	and hands it these calls the sendmail binary makes:
 *
 *	getservbyname()	 sendmail calls it once per delivery with the third
 *			 A= argument of the mailer.  FEATURE(`dane') gives
 *			 DANE mailers "dane" or "dane-only" there, others
 *			 "smtp"; the answer is port 25 and the mode of the
 *			 delivery is remembered.
 *	res_search()	 answers the verdict channel (verdict.c); every
 *			 other query passes through untouched.
 *	SSL_connect()	 on the first call for an SSL object, applies the
 *			 policy of the host being connected (SNI, TLSA
 *			 records, reference names); when the handshake
 *			 completes, records whether DANE authentication
 *			 succeeded.  Refusal happens in the tls_server and
 *			 tls_rcpt rulesets, through the verdict channel.
 *
 *	res_query() and res_querydomain() only show it the CNAMEs of
 *	sendmail's own lookups.  The module survives fork (per-process
 *	resolver); the shim keeps it across the SIGHUP re-exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "smdane.h"

#undef res_search
#undef res_query
#undef res_querydomain
#undef dn_expand
#undef dn_skipname

#define ALIAS_SLOTS 32

/*
 * The policy of one (server, next hop) pair of the delivery in
 * progress.  The list lives for one delivery: it is emptied when the
 * next one starts, so it holds what that delivery touched, and no
 * more, however many MX hosts and next hops that is.
 */
struct policy_slot {
	struct policy_slot *next;
	char server[DANE_NAME_MAX];
	char nexthop[DANE_NAME_MAX];
	char original[DANE_NAME_MAX];	/* nexthop before canonification */
	struct dane_policy *policy;
	enum dane_result error;		/* gather/decide failed */
	int logged;			/* this connection's line is written */
	int rcpt_logged;
};

/* A CNAME sendmail's own lookups met: owner -> target. */
struct alias_slot {
	char owner[DANE_NAME_MAX];
	char target[DANE_NAME_MAX];
	unsigned gen;			/* delivery generation when seen */
};

/*
 * What a completed handshake showed, keyed by server name and the
 * digests of the certificate the server presented.  The rulesets see
 * the certificate digest of the connection they are checking (also on
 * a cached connection), so a result is only ever applied to a session
 * with that same certificate: the peer proved it holds its key.
 *
 * A record belongs to its connection's SSL object (ex_data) and is
 * freed, and taken off the list, when sendmail frees that object: it
 * lives exactly as long as the connection it describes, however many
 * connections are cached.
 */
struct conn_rec {
	struct conn_rec *prev, *next;
	char server[DANE_NAME_MAX];
	char md5[33], sha1[41], sha256[65], sha512[129]; /* lower-case hex */
	int checked;			/* a DANE check was made */
	struct smdane_conn conn;
};

static struct {
	int active;
	int busy;			/* recursion guard */
	struct smdane_config cfg;
	enum smdane_mode mode;		/* of the mailer in this delivery */
	uint16_t port;
	struct dane_access *access;
	pid_t ctx_pid;
	struct dane_ctx *ctx;
	enum dane_result ctx_error;
	struct policy_slot *pols;	/* of the delivery in progress */
	struct conn_rec *conns;		/* of the live SSL objects, newest first */
	int rec_idx;			/* SSL ex_data index of the records */
	struct alias_slot alias[ALIAS_SLOTS];
	size_t alias_next;
	unsigned gen;			/* deliveries started so far */
	int warned_access;
	char pending_server[DANE_NAME_MAX];
	char pending_nexthop[DANE_NAME_MAX];
	enum smdane_mode pending_mode;
	struct smdane_conn handshake;	/* the one in progress */
	int ssl_idx;
} S = { .ssl_idx = -1, .rec_idx = -1 };

/* The real functions, from the shim. */
static struct smdane_fns R;

static void
slog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * confSMDANE_LOGLEVEL: 0 errors, warnings and refusals; 1 (default)
 * also the line of every connection that passed; libdane's lines: at
 * 0 its errors and warnings, at 1 also validation failures and a used
 * up DNS budget, at 2 everything but libunbound's own messages, at 3
 * those too.
 */
static int
hook_logs(int prio)
{
	return prio <= (S.cfg.loglevel >= 1 ? LOG_INFO : LOG_NOTICE);
}

static void
dane_sink(void *arg, int prio, const char *line)
{
	static const int limit[] = { LOG_WARNING, LOG_NOTICE, LOG_INFO,
		LOG_DEBUG };
	int saved = errno;

	(void)arg;
	if (prio <= limit[S.cfg.loglevel & 3])
		syslog(LOG_MAIL | prio, "%s", line);
	errno = saved;
}

static void
slog(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved = errno;

	if (!hook_logs(prio))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(LOG_MAIL | prio, "%s", line);
	errno = saved;
}

/* ---- configuration and activation ---------------------------------- */

static struct servent *hook_getservbyname(const char *, const char *);
static int hook_res_search(const char *, int, int, unsigned char *, int);
static int hook_res_query(const char *, int, int, unsigned char *, int);
static int hook_res_querydomain(const char *, const char *, int, int,
    unsigned char *, int);
static int hook_ssl_connect(void *);

/*
 * Called by the shim's constructor in sendmail run by root with
 * FEATURE(`dane') in its cf (it checked; so does this), before sendmail
 * empties the environment and closes descriptors: read the settings.
 */
__attribute__((visibility("default"))) int
smdane_module_init(int argc, char **argv, const struct smdane_fns *real,
    struct smdane_fns *hooks)
{
	if (real == NULL || hooks == NULL || S.active ||
	    !smdane_is_root_sendmail(argc, argv))
		return -1;
	R = *real;
	smdane_config_init(&S.cfg);
	if (smdane_config_read(&S.cfg, smdane_cf_path(argc, argv)) != 0 ||
	    !S.cfg.present)
		return -1;
	S.active = 1;
	hooks->getservbyname = hook_getservbyname;
	hooks->res_search = hook_res_search;
	hooks->res_query = hook_res_query;
	hooks->res_querydomain = hook_res_querydomain;
	hooks->SSL_connect = hook_ssl_connect;
	return 0;
}

/* ---- per-delivery state -------------------------------------------- */

static void
policies_reset(void)
{
	struct policy_slot *p, *next;

	for (p = S.pols; p != NULL; p = next) {
		next = p->next;
		dane_policy_free(p->policy);
		free(p);
	}
	S.pols = NULL;
}

static struct dane_ctx *
context(void)
{
	struct dane_resolver_config rc;
	pid_t pid = getpid();

	/* libdane gives a forked child its own resolver; a context that
	 * could not be made is tried again once in each new process */
	if (S.ctx != NULL || S.ctx_pid == pid)
		return S.ctx;
	S.ctx_pid = pid;
	memset(&rc, 0, sizeof(rc));
	rc.upstream = S.cfg.upstream;
	rc.resolv_conf = S.cfg.resolv_conf;
	rc.trust_anchor = S.cfg.trust_anchor;
	rc.unbound_conf = S.cfg.unbound_conf;
	rc.log_fn = dane_sink;
	rc.verbosity = S.cfg.loglevel >= 3 ? 2 : 0;
	rc.timeout_ms = S.cfg.dns_timeout_ms;
	S.ctx_error = dane_ctx_new(&rc, &S.ctx);
	if (S.ctx_error != DANE_OK) {
		S.ctx = NULL;
		slog(LOG_ERR, "STARTTLS=client, dane=error, reason=resolver "
		    "unusable: %s", dane_strerror(S.ctx_error));
	}
	return S.ctx;
}

/* ---- CNAMEs met by sendmail's canonification ------------------------ */

static void
lower_nodot(char *name)
{
	size_t n = strlen(name), i;

	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	for (i = 0; i < n; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
}

/*
 * sendmail canonifies a recipient domain that is a CNAME to the target
 * before routing, so $h names the target.  RFC 7672 section 3.2.2 makes
 * the original next-hop domain a reference identifier too: remember the
 * CNAMEs in the answers sendmail receives, to map $h back.
 */
static void
observe_cnames(const unsigned char *pkt, int len)
{
	const unsigned char *p, *end = pkt + len;
	char cur[DANE_NAME_MAX], owner[DANE_NAME_MAX], target[DANE_NAME_MAX];
	unsigned qd, an, type, rdlen, i;
	struct alias_slot *a;
	int n;

	if (len < 12)
		return;
	qd = (unsigned)pkt[4] << 8 | pkt[5];
	an = (unsigned)pkt[6] << 8 | pkt[7];
	p = pkt + 12;
	if (qd != 1 || (n = dn_expand(pkt, end, p, cur, sizeof(cur))) < 0 ||
	    p + n + 4 > end)
		return;
	lower_nodot(cur);
	p += n + 4;
	/* only the chain that starts at the question name */
	for (i = 0; i < an; i++) {
		if ((n = dn_expand(pkt, end, p, owner, sizeof(owner))) < 0 ||
		    p + n + 10 > end)
			return;
		p += n;
		type = (unsigned)p[0] << 8 | p[1];
		rdlen = (unsigned)p[8] << 8 | p[9];
		p += 10;
		if (p + rdlen > end)
			return;
		lower_nodot(owner);
		if (type == ns_t_cname && strcmp(owner, cur) == 0 &&
		    dn_expand(pkt, end, p, target, sizeof(target)) > 0) {
			lower_nodot(target);
			a = &S.alias[S.alias_next];
			S.alias_next = (S.alias_next + 1) % ALIAS_SLOTS;
			snprintf(a->owner, sizeof(a->owner), "%s", owner);
			snprintf(a->target, sizeof(a->target), "%s", target);
			a->gen = S.gen;
			snprintf(cur, sizeof(cur), "%s", target);
		}
		p += rdlen;
	}
}

/*
 * The name whose (most recently seen) CNAME chain ends at name.  Only
 * CNAMEs met since the previous delivery began count: those of the
 * envelope being delivered (its addresses are canonified just before),
 * not of earlier envelopes of a queue run.
 */
static const char *
original_of(const char *name)
{
	const char *cur = name;
	size_t i, k, depth;

	for (depth = 0; depth < 8; depth++) {
		const char *found = NULL;

		for (k = 0; k < ALIAS_SLOTS && found == NULL; k++) {
			i = (S.alias_next + ALIAS_SLOTS - 1 - k) % ALIAS_SLOTS;
			if (S.alias[i].owner[0] != '\0' &&
			    S.alias[i].gen + 1 >= S.gen &&
			    strcmp(S.alias[i].target, cur) == 0 &&
			    strcmp(S.alias[i].owner, name) != 0)
				found = S.alias[i].owner;
		}
		if (found == NULL)
			break;
		cur = found;
	}
	return cur;
}

static struct policy_slot *
policy_for(const char *server, const char *nexthop)
{
	static struct policy_slot no_memory = { .error = DANE_ERR_NOMEM };
	struct dane_facts *facts = NULL;
	struct policy_slot *slot;
	struct dane_ctx *ctx;
	const char *o;

	for (slot = S.pols; slot != NULL; slot = slot->next)
		if (strcmp(slot->server, server) == 0 &&
		    strcmp(slot->nexthop, nexthop) == 0)
			return slot;
	/* no policy: the verdict is "DNS lookups impossible", a deferral */
	if ((slot = calloc(1, sizeof(*slot))) == NULL)
		return &no_memory;
	slot->next = S.pols;
	S.pols = slot;
	snprintf(slot->server, sizeof(slot->server), "%s", server);
	snprintf(slot->nexthop, sizeof(slot->nexthop), "%s", nexthop);
	ctx = context();
	if (ctx == NULL) {
		slot->error = S.ctx_error;
		return slot;
	}
	slot->error = dane_gather(ctx, nexthop, server, S.port, &facts);
	if (slot->error == DANE_OK)
		slot->error = dane_decide(&S.cfg.settings, facts,
		    &slot->policy);
	dane_facts_free(facts);
	facts = NULL;
	/*
	 * An MX destination reached through a CNAME (sendmail canonified
	 * the recipient domain): the original name is a reference
	 * identifier too (RFC 7672 section 3.2.2).  It is added to the
	 * canonical policy only when that authenticates, and when the
	 * original name's own lookup authenticates through that very
	 * canonical name: it can add a name, never change the level or
	 * the records.
	 */
	o = nexthop[0] != '[' ? original_of(nexthop) : nexthop;
	if (slot->policy != NULL && slot->policy->level == DANE_LEVEL_AUTH &&
	    slot->policy->refname_count < DANE_REFNAMES_MAX &&
	    strcmp(o, nexthop) != 0) {
		struct dane_policy *orig = NULL, *p = slot->policy;
		size_t k;
		int via = 0;

		if (dane_gather(ctx, o, server, S.port, &facts) == DANE_OK &&
		    dane_decide(&S.cfg.settings, facts, &orig) == DANE_OK &&
		    orig->level == DANE_LEVEL_AUTH &&
		    strcmp(facts->nexthop_expanded, nexthop) == 0)
			via = 1;
		for (k = 0; k < p->refname_count && via; k++)
			if (strcmp(p->refnames[k], o) == 0)
				via = 0;
		if (via) {
			snprintf(p->refnames[p->refname_count++],
			    sizeof(p->refnames[0]), "%s", o);
			snprintf(slot->original, sizeof(slot->original), "%s",
			    o);
		}
		dane_policy_free(orig);
	}
	dane_facts_free(facts);
	return slot;
}

static int
fp_equal(const char *hex, const char *q)
{
	return hex[0] != '\0' && strcasecmp(hex, q) == 0;
}

static int
rec_matches(const struct conn_rec *c, const char *server, const char *certfp)
{
	return strcmp(c->server, server) == 0 &&
	    (fp_equal(c->md5, certfp) || fp_equal(c->sha1, certfp) ||
	    fp_equal(c->sha256, certfp) || fp_equal(c->sha512, certfp));
}

/*
 * The record of a live session with this server and certificate
 * digest: the newest one with a DANE check if there is one (an
 * unchecked session cannot erase what a check of the same certificate
 * proved), else the newest.
 */
static struct smdane_conn *
conn_find(const char *server, const char *certfp)
{
	struct conn_rec *c, *any = NULL;

	if (certfp[0] == '\0')
		return NULL;
	for (c = S.conns; c != NULL; c = c->next) {
		if (!rec_matches(c, server, certfp))
			continue;
		if (c->checked)
			return &c->conn;
		if (any == NULL)
			any = c;
	}
	return any != NULL ? &any->conn : NULL;
}

static void
hex_digest(X509 *cert, const EVP_MD *md, char *out, size_t size)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (md == NULL || X509_digest(cert, md, d, &n) != 1 ||
	    2 * (size_t)n + 1 > size)
		return;
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ex_data free callback: the SSL object, and so its session, is gone. */
static void
rec_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct conn_rec *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (S.conns == c)
		S.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

/* Record a completed handshake with its SSL object. */
static void
conn_record(const char *server, SSL *ssl, const struct smdane_conn *conn,
    int checked)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	struct conn_rec *c;

	if (peer == NULL)
		return;
	if (S.rec_idx < 0)
		S.rec_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    rec_free);
	if (S.rec_idx >= 0 && SSL_get_ex_data(ssl, S.rec_idx) != NULL)
		return;			/* recorded when it completed */
	if (S.rec_idx < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
		/* no record: the verdicts treat the session as unchecked */
		slog(LOG_ERR, "STARTTLS=client, relay=%s, dane=error, "
		    "reason=cannot record the session", server);
		return;
	}
	snprintf(c->server, sizeof(c->server), "%s", server);
	hex_digest(peer, EVP_md5(), c->md5, sizeof(c->md5));
	hex_digest(peer, EVP_sha1(), c->sha1, sizeof(c->sha1));
	hex_digest(peer, EVP_sha256(), c->sha256, sizeof(c->sha256));
	hex_digest(peer, EVP_sha512(), c->sha512, sizeof(c->sha512));
	c->checked = checked;
	c->conn = *conn;
	if (SSL_set_ex_data(ssl, S.rec_idx, c) != 1) {
		free(c);
		slog(LOG_ERR, "STARTTLS=client, relay=%s, dane=error, "
		    "reason=cannot record the session", server);
		return;
	}
	c->next = S.conns;
	if (S.conns != NULL)
		S.conns->prev = c;
	S.conns = c;
}

/* ---- getservbyname: the mailer's DANE mode ------------------------- */

static struct servent *
hook_getservbyname(const char *name, const char *proto)
{
	static char *no_aliases[] = { NULL };
	static struct servent dane_ent = { .s_aliases = no_aliases };
	struct servent *(*next)(const char *, const char *) = R.getservbyname;
	enum smdane_mode mode;
	uint16_t port;

	if (!S.active || S.busy || name == NULL || proto == NULL ||
	    strcmp(proto, "tcp") != 0)
		return next(name, proto);
	/* only the names FEATURE(`dane') gives mailers mark a delivery;
	 * other lookups (a socket map's port, ...) change nothing */
	if (smdane_service_parse(name, &mode, &port) != 0)
		return next(name, proto);
	/* "smtp" is a marker only in the earlier feature's cf: in a new
	 * one, anybody's lookup of the stock name changes nothing */
	if (S.cfg.version >= 2 && strncmp(name, "smtp", 4) == 0)
		return next(name, proto);
	S.gen++;			/* a delivery begins */
	dane_ctx_budget_reset(S.ctx);
	if (mode == SMDANE_MODE_NONE) {
		S.mode = mode;
		dane_ent.s_name = (char *)name;
		dane_ent.s_proto = (char *)"tcp";
		dane_ent.s_port = htons(port);
		return &dane_ent;
	}
	/* a new delivery: DNS facts are gathered afresh */
	policies_reset();
	S.mode = mode;
	S.port = port;
	dane_ent.s_name = (char *)name;
	dane_ent.s_proto = (char *)"tcp";
	dane_ent.s_port = htons(port);
	return &dane_ent;
}

/* ---- res_search: the verdict channel ------------------------------- */

static void
log_verdict(const struct smdane_query *q, const struct policy_slot *ps,
    enum smdane_mode mode, const struct smdane_conn *conn, const char *answer)
{
	const struct dane_policy *p = ps->policy;
	char tlsa[160] = "", rr[48];
	size_t i, off = 0;

	for (i = 0; i < p->usable_count && off + 1 < sizeof(tlsa); i++) {
		dane_tlsa_format(&p->usable[i], rr, sizeof(rr));
		off += (size_t)snprintf(tlsa + off, sizeof(tlsa) - off,
		    "%s%s", i > 0 ? "; " : "", rr);
	}
	slog(strncmp(answer, "OK", 2) == 0 ? LOG_INFO : LOG_NOTICE,
	    "STARTTLS=client, relay=%s, dane=%s, nexthop=%s%s%s, base=%s, "
	    "mode=%s, reason=%s, tlsa=%zu usable/%zu unusable%s%s%s, "
	    "match=%s, verdict=%s",
	    q->server[0] != '\0' ? q->server : q->nexthop,
	    dane_level_name(mode == SMDANE_MODE_ENCRYPT &&
	    p->level == DANE_LEVEL_OPP ? DANE_LEVEL_ENCRYPT : p->level),
	    ps->original[0] != '\0' ? ps->original : ps->nexthop,
	    strcmp(ps->original, ps->nexthop) != 0 && ps->original[0] != '\0' ?
	    ", canonical=" : "", strcmp(ps->original, ps->nexthop) != 0 &&
	    ps->original[0] != '\0' ? ps->nexthop : "",
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
    enum smdane_mode *mode, char *key, size_t ksize, char *err, size_t esize)
{
	char val[128];
	int r;

	*mode = S.mode;
	key[0] = '\0';
	if (S.mode != SMDANE_MODE_NONE && S.cfg.access_unreadable[0] != '\0' &&
	    !S.warned_access) {
		S.warned_access = 1;
		slog(LOG_WARNING, "STARTTLS=client, dane=warning, reason=access "
		    "map of type %s cannot be read, DANE: entries are ignored",
		    S.cfg.access_unreadable);
	}
	if (S.mode == SMDANE_MODE_NONE || S.cfg.access_db[0] == '\0')
		return 0;
	if (S.access == NULL &&
	    dane_access_new(S.cfg.access_db, &S.access) != DANE_OK) {
		snprintf(err, esize, "DANE: access map path unusable");
		return -1;
	}
	r = dane_access_domain(S.access, "DANE", nexthop, val, sizeof(val),
	    key, ksize);
	if (r == 0 && q->server[0] != '\0')
		r = dane_access_domain(S.access, "DANE", q->server, val,
		    sizeof(val), key, ksize);
	if (r == 0 && q->addr[0] != '\0')
		r = dane_access_addr(S.access, "DANE", q->addr, val,
		    sizeof(val), key, ksize);
	if (r < 0) {
		snprintf(err, esize, "DANE: access map %.150s unreadable",
		    S.cfg.access_db);
		return -1;
	}
	if (r == 0)
		return 0;
	val[strcspn(val, " \t")] = '\0';
	if (smdane_mode_parse(val, mode) != 0) {
		char clean[64], ckey[96];

		smdane_sanitize(clean, sizeof(clean), val);
		smdane_sanitize(ckey, sizeof(ckey), key);
		snprintf(err, esize, "DANE: bad access map entry %s %s", ckey,
		    clean);
		return -1;
	}
	return 0;
}

/* The answer for one (destination, server) pair of a query. */
static void
answer_for(const struct smdane_query *q, const char *nexthop,
    struct smdane_conn *conn, char *answer, size_t size,
    enum smdane_mode *mode_out, struct policy_slot **ps_out)
{
	struct smdane_query qq = *q;
	struct policy_slot *ps;
	enum smdane_mode mode;
	char key[DANE_NAME_MAX + 16], err[200], clean[200];
	const char *server = q->server[0] != '\0' ? q->server : nexthop;

	*ps_out = NULL;
	*mode_out = SMDANE_MODE_NONE;
	if (mode_for(q, nexthop, &mode, key, sizeof(key), err,
	    sizeof(err)) != 0) {
		smdane_sanitize(clean, sizeof(clean), err);
		snprintf(answer, size, "FAIL \"%s\"", clean);
		return;
	}
	*mode_out = mode;
	if (mode == SMDANE_MODE_NONE) {
		snprintf(answer, size, "OK");
		return;
	}
	ps = policy_for(server, nexthop);
	*ps_out = ps;
	if (ps->policy == NULL) {
		snprintf(answer, size, "FAIL \"DANE: DNS lookups impossible: "
		    "%s\"", dane_strerror(ps->error));
		return;
	}
	snprintf(qq.nexthop, sizeof(qq.nexthop), "%s", nexthop);
	smdane_verdict(mode, ps->policy, S.port, &qq, conn, answer, size);
}

static void
verdict(const char *name, char *answer, size_t size)
{
	struct smdane_conn unknown;
	struct smdane_query q;
	struct policy_slot *ps, *ps2;
	struct smdane_conn *conn = NULL;
	enum smdane_mode mode, mode2;
	const char *server;
	char answer2[256];

	if (S.cfg.fatal) {
		/* no delivery's mode can be trusted: refuse them all */
		snprintf(answer, size, "FAIL \"DANE configuration error: %s\"",
		    S.cfg.fatal_text);
		return;
	}
	if (S.mode == SMDANE_MODE_NONE) {
		snprintf(answer, size, "OK");
		return;
	}
	if (S.mode == SMDANE_MODE_UNSERVED) {
		/* the m4 error is in sendmail.cf.errors (Debian's rebuild) */
		snprintf(answer, size, "FAIL \"DANE configuration error: "
		    "mailer arguments FEATURE dane cannot serve, see the m4 "
		    "errors of sendmail.cf\"");
		return;
	}
	if (smdane_query_parse(name, &q) != 0) {
		snprintf(answer, size, "FAIL \"DANE: malformed verdict query\"");
		return;
	}
	if (S.cfg.error) {
		char clean[160];

		smdane_sanitize(clean, sizeof(clean), S.cfg.error_text);
		snprintf(answer, size, "FAIL \"DANE configuration error: %s\"",
		    clean);
		return;
	}
	server = q.server[0] != '\0' ? q.server : q.nexthop;
	if (smdane_verify_is_tls(q.verify)) {
		/* the session being checked, by its certificate; a TLS
		 * session nothing is known of counts as unauthenticated */
		conn = conn_find(server, q.certfp);
		if (conn == NULL) {
			memset(&unknown, 0, sizeof(unknown));
			unknown.tls = 1;
			conn = &unknown;
		}
	}
	answer_for(&q, q.nexthop, conn, answer, size, &mode, &ps);
	if (strcmp(q.phase, "try_tls") == 0) {
		/* a new connection that offers STARTTLS */
		snprintf(S.pending_server, sizeof(S.pending_server), "%s",
		    server);
		snprintf(S.pending_nexthop, sizeof(S.pending_nexthop), "%s",
		    q.nexthop);
		S.pending_mode = mode;
	}
	/*
	 * Recipients of other domains share a transaction when their MX
	 * lists are the same ($h names only the first): each recipient's
	 * own policy must hold on this connection too, unless the server
	 * is not one of its MX hosts (the mail was routed there, e.g. by
	 * the mailertable).
	 */
	if (strcmp(q.phase, "tls_rcpt") == 0 && q.rcpt[0] != '\0' &&
	    strcmp(q.rcpt, q.nexthop) != 0 && q.nexthop[0] != '[' &&
	    strncmp(answer, "OK", 2) == 0) {
		answer_for(&q, q.rcpt, conn, answer2, sizeof(answer2), &mode2,
		    &ps2);
		/* a failed or bogus MX lookup of that domain is a refusal,
		 * not a reason to ride on the first recipient's policy */
		if (strncmp(answer2, "OK", 2) != 0 && !(ps2 != NULL &&
		    ps2->policy != NULL &&
		    ps2->policy->reason == DANE_R_HOST_NOT_MX)) {
			snprintf(answer, size, "%s", answer2);
			if (ps2 != NULL)
				ps = ps2;
		}
	}
	/* one line per connection: at tls_server, or at try_tls when that
	 * already refused; tls_rcpt refusals once per destination */
	if (ps != NULL && ps->policy != NULL) {
		int fail = strncmp(answer, "OK", 2) != 0;

		if (strcmp(q.phase, "try_tls") == 0 && fail) {
			log_verdict(&q, ps, mode, conn, answer);
			ps->logged = 1;
		} else if (strcmp(q.phase, "tls_server") == 0) {
			if (!ps->logged)
				log_verdict(&q, ps, mode, conn, answer);
			ps->logged = 0;
		} else if (strcmp(q.phase, "tls_rcpt") == 0 && fail &&
		    !ps->rcpt_logged) {
			log_verdict(&q, ps, mode, conn, answer);
			ps->rcpt_logged = 1;
		}
	} else if (ps == NULL && strncmp(answer, "OK", 2) != 0 &&
	    strcmp(q.phase, "tls_server") == 0) {
		slog(LOG_ERR, "STARTTLS=client, relay=%s, dane=error, "
		    "nexthop=%s, verdict=%s", server, q.nexthop, answer);
	}
}

static int
hook_res_search(const char *dname, int class, int type, unsigned char *answer,
    int anslen)
{
	char text[256];
	int n;

	if (!S.active || S.busy || dname == NULL ||
	    !smdane_is_channel_name(dname)) {
		n = R.res_search(dname, class, type, answer, anslen);
		if (S.active && !S.busy && n > 0) {
			observe_cnames(answer, n < anslen ? n : anslen);
		}
		return n;
	}
	if (class != ns_c_in || type != ns_t_txt) {
		h_errno = NO_DATA;
		return -1;
	}
	S.busy = 1;
	verdict(dname, text, sizeof(text));
	S.busy = 0;
	n = smdane_txt_response(dname, text, answer, anslen);
	if (n < 0) {
		h_errno = TRY_AGAIN;
		return -1;
	}
	h_errno = NETDB_SUCCESS;
	return n;
}

static int
hook_res_query(const char *dname, int class, int type, unsigned char *answer,
    int anslen)
{
	int n;

	n = R.res_query(dname, class, type, answer, anslen);
	if (S.active && !S.busy && n > 0) {
		observe_cnames(answer, n < anslen ? n : anslen);
	}
	return n;
}

static int
hook_res_querydomain(const char *name, const char *domain, int class,
    int type, unsigned char *answer, int anslen)
{
	int n;

	n = R.res_querydomain(name, domain, class, type, answer, anslen);
	if (S.active && !S.busy && n > 0)
		observe_cnames(answer, n < anslen ? n : anslen);
	return n;
}

/* ---- SSL_connect: apply the policy, record the outcome ------------- */

static int
hook_ssl_connect(void *arg)
{
	SSL *ssl = arg;
	int (*next)(void *) = R.SSL_connect;
	struct policy_slot *ps;
	const struct dane_policy *p;
	struct smdane_conn *hs = &S.handshake;
	int r, err;

	if (!S.active || S.busy || S.mode == SMDANE_MODE_NONE ||
	    S.pending_mode == SMDANE_MODE_NONE || S.pending_server[0] == '\0')
		return next(ssl);
	S.busy = 1;
	ps = policy_for(S.pending_server, S.pending_nexthop);
	p = ps->policy;
	if (S.ssl_idx < 0)
		S.ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (S.ssl_idx >= 0 && SSL_get_ex_data(ssl, S.ssl_idx) == NULL) {
		/* first call for this handshake (the socket is non-blocking:
		 * sendmail calls again until it completes) */
		(void)SSL_set_ex_data(ssl, S.ssl_idx, (void *)&S);
		memset(hs, 0, sizeof(*hs));
		snprintf(hs->nexthop, sizeof(hs->nexthop), "%s",
		    S.pending_nexthop);
		if (p != NULL && dane_ssl_apply_level(&S.cfg.settings, p, ssl,
		    &hs->level) != DANE_OK)
			slog(LOG_ERR, "STARTTLS=client, relay=%s, dane=error, "
			    "reason=cannot enable DANE", S.pending_server);
	}
	S.busy = 0;
	r = next(ssl);
	if (r == 1) {
		int checked = p != NULL && hs->level == DANE_LEVEL_AUTH;

		hs->tls = 1;
		if (checked) {
			dane_ssl_check(p, ssl, &hs->auth);
			hs->auth.matched.data = NULL;
		}
		/* what a check, or OpenSSL's refusal of every record
		 * (AUTH applied as ENCRYPT), was made against */
		if (p != NULL && (checked || (p->level == DANE_LEVEL_AUTH &&
		    hs->level == DANE_LEVEL_ENCRYPT)))
			hs->checked_against = smdane_policy_digest(p, S.port);
		conn_record(S.pending_server, ssl, hs, checked);
	} else {
		err = SSL_get_error(ssl, r);
		/* a failed handshake: sendmail closes only one of its two
		 * descriptors and would wait Timeout.quit on the other */
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE &&
		    p != NULL && dane_level_requires_tls(p->level))
			(void)shutdown(SSL_get_fd(ssl), SHUT_RDWR);
	}
	return r;
}
