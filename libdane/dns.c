/*
 * NAME
 *	dns.c - DNSSEC-validated lookups that gather DANE facts
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	enum dane_result dane_ctx_new(const struct dane_resolver_config *rc,
 *	    struct dane_ctx **out);
 *	void dane_ctx_free(struct dane_ctx *c);
 *	void dane_ctx_set_log(struct dane_ctx *c, dane_log_fn *fn, void *arg);
 *	void dane_ctx_budget_reset(struct dane_ctx *c);
 *	enum dane_result dane_gather(struct dane_ctx *c, const char *nexthop,
 *	    const char *host, uint16_t port, struct dane_facts **out);
 *	void dane_facts_free(struct dane_facts *f);
 *
 * DESCRIPTION
 *	A context owns one libunbound context that validates every answer
 *	itself against the configured trust anchor (RFC 4035 section 5):
 *	secure, insecure and bogus come from libunbound's validator, never
 *	from the AD bit of an upstream resolver.  libunbound forwards to
 *	the nameservers of resolv.conf, to a configured list, or recurses;
 *	it matches every reply to its query (ID, source address and port,
 *	question), so a datagram sent by a third party changes nothing.
 *	ldns only parses the validated reply libunbound hands back.
 *
 *	Lookups run asynchronously in libunbound's resolver thread, which
 *	is started with every signal blocked, so that sendmail's signal
 *	handlers only ever run in sendmail's own thread.  The caller waits
 *	in poll() for at most what is left of the context's DNS time budget
 *	(all lookups since dane_ctx_budget_reset()); an interrupted poll()
 *	is resumed, a lookup that outlives the budget is cancelled and is a
 *	failure.  After fork() the child deletes its copy of the parent's
 *	libunbound context (libunbound knows that the resolver thread is
 *	not its own) and starts its own at its next lookup.
 *
 *	The first lookup in each process validates the root DNSKEY RRset.
 *	If that fails, the upstream cannot deliver DNSSEC (it strips
 *	signatures, does not answer DNSKEY queries, or an on-path attacker
 *	does this): one LOG_ERR line names the upstream, every gathering
 *	reports dnssec_unavailable without further lookups, and the probe
 *	is repeated at most once a minute.
 *
 *	dane_gather() queries, in the order RFC 7672 section 2.2 requires,
 *	the MX RRset of the next hop, the A and AAAA RRsets of the host
 *	and the TLSA RRset of the TLSA base domain, stopping as soon as
 *	the decision is known.  A failing lookup (SERVFAIL, bogus, timeout,
 *	network error, malformed reply, a name too long to ask for) is
 *	FAILED with BOGUS security; NXDOMAIN and NODATA are answers.  The
 *	first lookup that fails is named in the facts' fail_query, with
 *	its reason (libunbound's why_bogus for a bogus answer) in
 *	fail_why, for diagnostics only.  A TLSA RR whose RDATA is too
 *	short to hold usage, selector and matching type is counted in
 *	tlsa_malformed (an unusable record, RFC 7671 section 9), not
 *	dropped.  CNAME chains are followed as the
 *	answer carries them; only the end of a chain is recorded, so
 *	intermediate names never become a TLSA base or a reference
 *	identifier (2.2.3).  The security of an answer through a CNAME
 *	chain is that of its weakest link.  TLSA base domains for a host
 *	reached through a CNAME chain:
 *
 *	- addresses secure: the expanded name, then the original name
 *	  only when the expanded name gave no secure TLSA RRset (a denial
 *	  or an insecure answer), never after a failure (2.2.3);
 *	- addresses insecure: one more query, of type CNAME at the host,
 *	  tells whether the first link of the chain is secure (2.1.3 last
 *	  paragraph); if it is, the TLSA RRset is looked up at the
 *	  original name alone (2.2.2), otherwise not at all;
 *	- no chain, addresses insecure: no TLSA query (2.2.2).
 *
 *	A host that is an IP address (an MX pointing at a literal) gets no
 *	address or TLSA lookup: DANE does not apply to it (2.2).
 *
 *	Answers are cached by libunbound for their TTL (denials for the
 *	SOA-derived negative TTL, RFC 2308), bogus answers only as
 *	failures; the cache is kept small (about 1 MiB in all).
 *
 *	The context is not thread-safe; one context serves any number of
 *	sequential dane_gather() calls.
 *
 * DIAGNOSTICS
 *	DANE_ERR_INVAL for a malformed name or NULL argument;
 *	DANE_ERR_ANCHOR when the trust anchor file is missing, unreadable
 *	or holds no DS or DNSKEY record; DANE_ERR_UPSTREAM for a bad
 *	upstream address or an unreadable resolv.conf; DANE_ERR_RESOLVER
 *	when libunbound cannot be set up; DANE_ERR_NOMEM.  Each of the
 *	first three is also logged, naming the file or address.  DNS
 *	failures are facts, not errors.  On DANE_OK the caller owns *out
 *	and releases it with dane_facts_free().
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <unbound.h>

#include "danei.h"

#define DEFAULT_BUDGET_MS 15000
#define CNAME_HOPS_MAX 16
#define TLSA_PORT_DEFAULT 25
#define PROBE_RETRY 60			/* seconds after a failed probe */
#define UPSTREAM_RECURSE "recurse"

/*
 * A descriptor of the resolver thread's event base (its epoll instance
 * and libevent's notification pipe), with what /proc/self/fd showed for
 * it.  libunbound cannot close them in a forked child (ub_ctx_delete()
 * there must leave the parent's event base alone), so libdane does,
 * where the descriptor still is what it was.
 */
#define WORKER_FDS_MAX 8
struct worker_fd {
	int fd;
	char link[64];
};

struct dane_ctx {
	struct ub_ctx *ub;
	pid_t pid;			/* process ub belongs to */
	char *upstream;			/* NULL: resolv_conf's nameservers */
	char *resolv_conf;
	char *anchor;
	char *unbound_conf;		/* NULL: none */
	char upstream_text[256];	/* for log lines */
	unsigned budget_ms;
	uint64_t spent_ms;		/* since the last budget reset */
	int probe;			/* 0 not done, 1 passed, -1 failed */
	time_t probe_when;
	FILE *ublog;			/* libunbound's messages, to the sink */
	int verbosity;			/* libunbound's */
	char ubline[512];
	size_t ublen;
	pthread_mutex_t ubmu;		/* libunbound logs from its thread */
	dane_log_fn *log_fn;
	void *log_arg;
	struct worker_fd worker_fds[WORKER_FDS_MAX];
	size_t worker_nfds;		/* of the resolver thread's event base */
	int worker_started;		/* in this process, for ub */
	danei_reply_fn *reply_fn;	/* fuzz seam: replies without DNS */
	void *reply_arg;
	struct dane_facts *facts;	/* being gathered: its first failure */
	char probe_why[256];		/* why the last probe failed */
	int probe_bogus;		/* ... it failed validation */
};

static void ub_forget(struct dane_ctx *c);

/* One answer: the reply, its security and the end of its CNAME chain. */
struct answer {
	struct dane_lookup l;
	ldns_rr_type type;
	ldns_pkt *pkt;
	ldns_rdf *qname;
	const ldns_rdf *owner;		/* qname or the last CNAME target */
};

enum dane_result
danei_name_norm(const char *in, char *out, size_t size)
{
	size_t len, i, label = 0;

	if (in == NULL || size == 0)
		return DANE_ERR_INVAL;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= size)
		return DANE_ERR_INVAL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '\\')
			return DANE_ERR_INVAL;
		if (ch == '.') {
			if (label == 0)
				return DANE_ERR_INVAL;
			label = 0;
		} else if (++label > 63)
			return DANE_ERR_INVAL;
		out[i] = (char)tolower(ch);
	}
	if (label == 0)
		return DANE_ERR_INVAL;	/* "example.com..": an empty label */
	out[len] = '\0';
	return DANE_OK;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- libunbound's own messages go to the context's sink ------------- */

static ssize_t
ublog_write(void *cookie, const char *buf, size_t size)
{
	struct dane_ctx *c = cookie;
	size_t i;

	pthread_mutex_lock(&c->ubmu);
	for (i = 0; i < size; i++) {
		if (buf[i] != '\n' && c->ublen < sizeof(c->ubline) - 1) {
			c->ubline[c->ublen++] = buf[i];
			continue;
		}
		if (buf[i] != '\n')
			continue;	/* overlong line: cut */
		c->ubline[c->ublen] = '\0';
		c->ublen = 0;
		/* "[time] libunbound[pid:thread] error: text"; what matters
		 * reaches the sink as libdane's own lines */
		danei_log(c->log_fn, c->log_arg, LOG_DEBUG,
		    "dane: libunbound: %s", strstr(c->ubline, "] ") != NULL ?
		    strstr(c->ubline, "] ") + 2 : c->ubline);
	}
	pthread_mutex_unlock(&c->ubmu);
	return (ssize_t)size;
}

/* ---- configuration ----------------------------------------------------- */

/* Small caches: the process lives for one queue run or one session. */
static const char *const ub_options[][2] = {
	{ "msg-cache-size:", "262144" },
	{ "msg-cache-slabs:", "1" },
	{ "rrset-cache-size:", "524288" },
	{ "rrset-cache-slabs:", "1" },
	{ "key-cache-size:", "262144" },
	{ "key-cache-slabs:", "1" },
	{ "neg-cache-size:", "131072" },
	{ "infra-cache-slabs:", "1" },
	{ "infra-cache-numhosts:", "256" },
	{ "outgoing-range:", "64" },
	{ "num-queries-per-thread:", "32" },
	{ "do-not-query-localhost:", "no" },
	{ "harden-dnssec-stripped:", "yes" },
	{ "val-log-level:", "2" },
	{ "prefetch:", "no" },
	/* no RFC 8145 key tag queries: one query less per process */
	{ "trust-anchor-signaling:", "no" },
};

/*
 * A trust anchor file must hold at least one DS or DNSKEY record;
 * libunbound itself reads the file only at the first lookup, too late
 * for a clear message.  The check is textual (owner, optional TTL and
 * class, then the type): ldns's record parser aborts when memory runs
 * out, and libunbound parses the records anyway.  A file that passes
 * here but does not parse makes every lookup fail: mail is deferred.
 */
static int
anchor_line(char *line)
{
	char *tok, *p = line;
	int n = 0;

	if (line[0] == ';' || line[0] == '$')
		return 0;
	while ((tok = strsep(&p, " \t\r\n")) != NULL && n < 4) {
		if (*tok == '\0')
			continue;
		if (n++ == 0)
			continue;	/* owner */
		if (strcasecmp(tok, "DS") == 0 ||
		    strcasecmp(tok, "DNSKEY") == 0)
			return 1;
		if (strcasecmp(tok, "IN") != 0 &&
		    strspn(tok, "0123456789") != strlen(tok))
			return 0;
	}
	return 0;
}

static enum dane_result
check_anchor(struct dane_ctx *c)
{
	char line[4096];
	FILE *fp;
	int found = 0;

	if ((fp = fopen(c->anchor, "r")) == NULL) {
		danei_log(c->log_fn, c->log_arg, LOG_ERR,
		    "dane: trust anchor %s: %s", c->anchor, strerror(errno));
		return DANE_ERR_ANCHOR;
	}
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = anchor_line(line);
	fclose(fp);
	if (!found) {
		danei_log(c->log_fn, c->log_arg, LOG_ERR,
		    "dane: trust anchor %s: no DS or DNSKEY record", c->anchor);
		return DANE_ERR_ANCHOR;
	}
	return DANE_OK;
}

/* The nameservers of a resolv.conf file, for log lines. */
static void
describe_resolv_conf(struct dane_ctx *c)
{
	char line[512], addr[128];
	size_t n = 0;
	FILE *fp;

	snprintf(c->upstream_text, sizeof(c->upstream_text), "%s:",
	    c->resolv_conf);
	if ((fp = fopen(c->resolv_conf, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t len = strlen(c->upstream_text);

		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		snprintf(c->upstream_text + len,
		    sizeof(c->upstream_text) - len, " %s", addr);
		n++;
	}
	fclose(fp);
	if (n == 0) {
		size_t len = strlen(c->upstream_text);

		/* libunbound, like the stub resolver, then asks 127.0.0.1 */
		snprintf(c->upstream_text + len,
		    sizeof(c->upstream_text) - len, " 127.0.0.1");
	}
}

/* Point ub at the upstream; DANE_ERR_UPSTREAM names what is wrong. */
static enum dane_result
set_upstream(struct dane_ctx *c, struct ub_ctx *ub, int quiet)
{
	char buf[256], *p, *tok;
	int r;

	if (c->upstream == NULL) {
		if ((r = ub_ctx_resolvconf(ub, c->resolv_conf)) == 0)
			return DANE_OK;
		if (!quiet)
			danei_log(c->log_fn, c->log_arg, LOG_ERR,
			    "dane: upstream from %s: %s", c->resolv_conf,
			    r == UB_READFILE ? strerror(errno) :
			    ub_strerror(r));
		return r == UB_NOMEM ? DANE_ERR_NOMEM : DANE_ERR_UPSTREAM;
	}
	if (strcmp(c->upstream, UPSTREAM_RECURSE) == 0)
		return DANE_OK;
	if (danei_strlcpy(buf, c->upstream, sizeof(buf)) >= sizeof(buf))
		return DANE_ERR_UPSTREAM;
	for (p = buf; (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if ((r = ub_ctx_set_fwd(ub, tok)) != 0) {
			if (!quiet)
				danei_log(c->log_fn, c->log_arg, LOG_ERR,
				    "dane: upstream address %s: %s", tok,
				    ub_strerror(r));
			return r == UB_NOMEM ? DANE_ERR_NOMEM :
			    DANE_ERR_UPSTREAM;
		}
	}
	return DANE_OK;
}

/*
 * The administrator's unbound.conf lines, after ours.  libunbound says
 * "syntax error" for a file it cannot open, and prints the details of
 * a real syntax error on standard error: name the file here.
 */
static enum dane_result
read_unbound_conf(struct dane_ctx *c, struct ub_ctx *ub, int quiet)
{
	FILE *fp;
	int r;

	if ((fp = fopen(c->unbound_conf, "r")) == NULL) {
		if (!quiet)
			danei_log(c->log_fn, c->log_arg, LOG_ERR,
			    "dane: unbound configuration %s: %s",
			    c->unbound_conf, strerror(errno));
		return DANE_ERR_CONFIG;
	}
	fclose(fp);
	if ((r = ub_ctx_config(ub, c->unbound_conf)) == 0)
		return DANE_OK;
	if (!quiet)
		danei_log(c->log_fn, c->log_arg, LOG_ERR,
		    "dane: unbound configuration %s: %s", c->unbound_conf,
		    r == UB_SYNTAX ? "not valid unbound.conf syntax" :
		    ub_strerror(r));
	return r == UB_NOMEM ? DANE_ERR_NOMEM : DANE_ERR_CONFIG;
}

/* A libunbound context for this process, configured; NULL on error. */
static enum dane_result
ub_new(struct dane_ctx *c, int quiet)
{
	struct ub_ctx *ub;
	enum dane_result r;
	size_t i;

	if ((ub = ub_ctx_create()) == NULL)
		return DANE_ERR_RESOLVER;
	if (c->ublog != NULL)
		(void)ub_ctx_debugout(ub, c->ublog);
	(void)ub_ctx_debuglevel(ub, c->verbosity);
	for (i = 0; i < sizeof(ub_options) / sizeof(ub_options[0]); i++)
		if (ub_ctx_set_option(ub, ub_options[i][0],
		    ub_options[i][1]) != 0) {
			ub_ctx_delete(ub);
			return DANE_ERR_RESOLVER;
		}
	if (c->unbound_conf != NULL && (r = read_unbound_conf(c, ub,
	    quiet)) != DANE_OK) {
		ub_ctx_delete(ub);
		return r;
	}
	if (ub_ctx_async(ub, 1) != 0 ||
	    ub_ctx_add_ta_file(ub, c->anchor) != 0) {
		ub_ctx_delete(ub);
		return DANE_ERR_RESOLVER;
	}
	if ((r = set_upstream(c, ub, quiet)) != DANE_OK) {
		ub_ctx_delete(ub);
		return r;
	}
	c->ub = ub;
	c->pid = getpid();
	c->probe = 0;
	c->worker_started = 0;
	c->worker_nfds = 0;
	return DANE_OK;
}

/* *out = a copy of s, or of dflt when s is empty (NULL when both are);
 * -1 when memory ran out. */
static int
dup_opt(const char *s, const char *dflt, char **out)
{
	if (s == NULL || *s == '\0')
		s = dflt;
	*out = s != NULL ? strdup(s) : NULL;
	return s != NULL && *out == NULL ? -1 : 0;
}

enum dane_result
dane_ctx_new(const struct dane_resolver_config *rc, struct dane_ctx **out)
{
	cookie_io_functions_t io = { .write = ublog_write };
	struct dane_resolver_config none;
	struct dane_ctx *c;
	enum dane_result r;

	if (out == NULL)
		return DANE_ERR_INVAL;
	*out = NULL;
	if (rc == NULL) {
		memset(&none, 0, sizeof(none));
		rc = &none;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DANE_ERR_NOMEM;
	pthread_mutex_init(&c->ubmu, NULL);
	c->log_fn = rc->log_fn;
	c->log_arg = rc->log_arg;
	c->verbosity = rc->verbosity > 5 ? 5 : (int)rc->verbosity;
	c->budget_ms = rc->timeout_ms != 0 ? rc->timeout_ms :
	    DEFAULT_BUDGET_MS;
	if (dup_opt(rc->resolv_conf, "/etc/resolv.conf", &c->resolv_conf) ||
	    dup_opt(rc->trust_anchor, DANE_TRUST_ANCHOR_DEFAULT,
	    &c->anchor) || dup_opt(rc->upstream, NULL, &c->upstream) ||
	    dup_opt(rc->unbound_conf, NULL, &c->unbound_conf)) {
		dane_ctx_free(c);
		return DANE_ERR_NOMEM;
	}
	if (c->upstream == NULL)
		describe_resolv_conf(c);
	else
		snprintf(c->upstream_text, sizeof(c->upstream_text), "%s",
		    c->upstream);
	if ((c->ublog = fopencookie(c, "w", io)) != NULL)
		setvbuf(c->ublog, NULL, _IOLBF, 0);
	if ((r = check_anchor(c)) != DANE_OK || (r = ub_new(c, 0)) != DANE_OK) {
		dane_ctx_free(c);
		return r;
	}
	*out = c;
	return DANE_OK;
}

void
dane_ctx_free(struct dane_ctx *c)
{
	if (c == NULL)
		return;
	/* in a forked child, libunbound leaves the parent's thread be */
	if (c->ub != NULL && c->pid != getpid())
		ub_forget(c);
	else if (c->ub != NULL)
		ub_ctx_delete(c->ub);
	if (c->ublog != NULL)
		fclose(c->ublog);
	pthread_mutex_destroy(&c->ubmu);
	free(c->upstream);
	free(c->resolv_conf);
	free(c->anchor);
	free(c->unbound_conf);
	free(c);
}

void
dane_ctx_set_log(struct dane_ctx *c, dane_log_fn *fn, void *arg)
{
	if (c == NULL)
		return;
	c->log_fn = fn;
	c->log_arg = arg;
}

void
dane_ctx_budget_reset(struct dane_ctx *c)
{
	if (c != NULL)
		c->spent_ms = 0;
}

static int
fd_link(int fd, char *buf, size_t size)
{
	char path[40];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((n = readlink(path, buf, size - 1)) < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The open descriptors below `max`, as a bitmap; 0 if /proc is absent. */
static int
fd_snapshot(unsigned char *map, int max)
{
	char link[64];
	int fd, any = 0;

	memset(map, 0, (size_t)(max + 7) / 8);
	for (fd = 0; fd < max; fd++)
		if (fd_link(fd, link, sizeof(link)) == 0) {
			map[fd / 8] |= (unsigned char)(1 << (fd % 8));
			any = 1;
		}
	return any;
}

#define FD_SCAN 1024

/*
 * Around the call that starts the resolver thread: the pipes and the
 * epoll instance that appeared are its event base's.  Sockets are left
 * out: the thread may already have opened one for its first query.
 */
static void
note_worker_fds(struct dane_ctx *c, const unsigned char *before)
{
	unsigned char after[FD_SCAN / 8];
	int fd;

	c->worker_nfds = 0;
	if (!fd_snapshot(after, FD_SCAN))
		return;
	for (fd = 0; fd < FD_SCAN && c->worker_nfds < WORKER_FDS_MAX; fd++) {
		struct worker_fd *w = &c->worker_fds[c->worker_nfds];
		unsigned char bit = (unsigned char)(1 << (fd % 8));

		if ((before[fd / 8] & bit) || !(after[fd / 8] & bit) ||
		    fd_link(fd, w->link, sizeof(w->link)) != 0)
			continue;
		if (strncmp(w->link, "pipe:", 5) == 0 ||
		    strcmp(w->link, "anon_inode:[eventpoll]") == 0) {
			w->fd = fd;
			c->worker_nfds++;
		}
	}
}

/* In a forked child: close the parent's event base descriptors. */
static void
close_worker_fds(struct dane_ctx *c)
{
	char link[64];
	size_t i;

	for (i = 0; i < c->worker_nfds; i++)
		if (fd_link(c->worker_fds[i].fd, link, sizeof(link)) == 0 &&
		    strcmp(link, c->worker_fds[i].link) == 0)
			(void)close(c->worker_fds[i].fd);
	c->worker_nfds = 0;
}

/* Drop a libunbound context that belongs to another process. */
static void
ub_forget(struct dane_ctx *c)
{
	ub_ctx_delete(c->ub);
	c->ub = NULL;
	close_worker_fds(c);
}

/* The context of this process: a forked child makes its own. */
static enum dane_result
ctx_ready(struct dane_ctx *c)
{
	if (c->ub != NULL && c->pid == getpid())
		return DANE_OK;
	if (c->ub != NULL)
		ub_forget(c);
	return ub_new(c, 1);
}

/* ---- one lookup ---------------------------------------------------------- */

struct pending {
	int done;
	int err;
	struct ub_result *res;
};

static void
on_result(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = 1;
	p->err = err;
	p->res = res;
}

void
danei_ctx_set_replies(struct dane_ctx *c, danei_reply_fn *fn, void *arg)
{
	c->reply_fn = fn;
	c->reply_arg = arg;
}

/* A reply from the seam, in the shape libunbound gives one. */
static enum dane_result
scripted(struct dane_ctx *c, const char *name, int type,
    struct ub_result **res)
{
	struct danei_reply rep;
	struct ub_result *u;

	memset(&rep, 0, sizeof(rep));
	if (c->reply_fn(c->reply_arg, name, type, &rep) != 0)
		return DANE_OK;		/* no reply: a failed lookup */
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return DANE_ERR_NOMEM;
	u->rcode = rep.rcode;
	u->secure = rep.secure;
	u->bogus = rep.bogus;
	u->havedata = rep.len > 0;
	if (rep.len > 0) {
		if ((u->answer_packet = malloc(rep.len)) == NULL) {
			free(u);
			return DANE_ERR_NOMEM;
		}
		memcpy(u->answer_packet, rep.wire, rep.len);
		u->answer_len = (int)rep.len;
	}
	*res = u;
	return DANE_OK;
}

/*
 * Resolve (name, type) within what is left of the budget.  Returns
 * DANE_OK with *res set (the caller frees it), DANE_OK with *res NULL
 * for a failed lookup (timeout, network, libunbound error), or
 * DANE_ERR_NOMEM.
 */
static enum dane_result
resolve(struct dane_ctx *c, const char *name, int type,
    struct ub_result **res)
{
	struct pending p = { 0, 0, NULL };
	unsigned char before[FD_SCAN / 8];
	sigset_t all, old;
	int snap;
	uint64_t start = now_ms(), left, t;
	int id, r, fd;

	*res = NULL;
	if (c->reply_fn != NULL)
		return scripted(c, name, type, res);
	if (c->spent_ms >= c->budget_ms)
		return DANE_OK;
	left = c->budget_ms - c->spent_ms;
	/* the resolver thread, if this starts it, takes no signal */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* the first call starts the thread: note its event base's fds */
	snap = !c->worker_started && fd_snapshot(before, FD_SCAN);
	r = ub_resolve_async(c->ub, name, type, LDNS_RR_CLASS_IN, &p,
	    on_result, &id);
	if (r == 0 && !c->worker_started) {
		c->worker_started = 1;
		if (snap)
			note_worker_fds(c, before);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return r == UB_NOMEM ? DANE_ERR_NOMEM : DANE_OK;
	fd = ub_fd(c->ub);
	while (!p.done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		t = now_ms() - start;
		if (t >= left)
			break;
		n = poll(&pfd, 1, (int)(left - t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n > 0 && ub_process(c->ub) != 0)
			break;
	}
	c->spent_ms += now_ms() - start;
	if (!p.done) {
		(void)ub_cancel(c->ub, id);
		if (c->spent_ms >= c->budget_ms)
			danei_log(c->log_fn, c->log_arg, LOG_NOTICE,
			    "dane: DNS time budget of %u ms used up at %s "
			    "type %d", c->budget_ms, name, type);
		return DANE_OK;
	}
	if (p.err != 0)
		return p.err == UB_NOMEM ? DANE_ERR_NOMEM : DANE_OK;
	*res = p.res;
	return DANE_OK;
}

/*
 * Can the upstream deliver DNSSEC?  The root DNSKEY RRset is signed
 * and covered by the trust anchor: it validates, or nothing will.
 */
static int
upstream_validates(struct dane_ctx *c)
{
	struct ub_result *res = NULL;
	time_t now = time(NULL);
	const char *why;

	if (c->probe > 0)
		return 1;
	if (c->probe < 0 && now - c->probe_when < PROBE_RETRY)
		return 0;
	if (c->spent_ms >= c->budget_ms)
		return 1;	/* not probed; every lookup fails anyway */
	if (resolve(c, ".", LDNS_RR_TYPE_DNSKEY, &res) != DANE_OK)
		return 1;	/* out of memory: lookups fail too */
	if (res != NULL && res->secure && res->havedata) {
		c->probe = 1;
		ub_resolve_free(res);
		return 1;
	}
	if (res == NULL)
		why = "no answer";
	else if (res->bogus)
		why = res->why_bogus != NULL ? res->why_bogus :
		    "validation failed";
	else if (res->rcode != LDNS_RCODE_NOERROR)
		why = "error reply";
	else
		why = "not validated";
	c->probe = -1;
	c->probe_when = now;
	danei_strlcpy(c->probe_why, why, sizeof(c->probe_why));
	c->probe_bogus = res != NULL && res->bogus;
	danei_log(c->log_fn, c->log_arg, LOG_ERR,
	    "dane: upstream %s cannot deliver DNSSEC (root DNSKEY RRset: "
	    "%s); DNSSEC unavailable, DANE cannot be applied",
	    c->upstream_text, why);
	ub_resolve_free(res);
	return 0;
}

static void
answer_free(struct answer *a)
{
	ldns_pkt_free(a->pkt);
	ldns_rdf_deep_free(a->qname);
	memset(a, 0, sizeof(*a));
}

static int
rr_at(const ldns_rr *rr, ldns_rr_type t, const ldns_rdf *owner)
{
	return ldns_rr_get_type(rr) == t &&
	    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0;
}

/* Follow the CNAME chain of the answer section from the query name. */
static void
follow_chain(struct answer *a)
{
	ldns_rr_list *an = ldns_pkt_answer(a->pkt);
	size_t i, n = ldns_rr_list_rr_count(an);
	int hop, moved;

	a->owner = a->qname;
	if (a->type == LDNS_RR_TYPE_CNAME)
		return;
	for (hop = 0; hop < CNAME_HOPS_MAX; hop++) {
		moved = 0;
		for (i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (rr_at(rr, LDNS_RR_TYPE_CNAME, a->owner) &&
			    ldns_rr_rd_count(rr) >= 1) {
				a->owner = ldns_rr_rdf(rr, 0);
				moved = 1;
				break;
			}
		}
		if (!moved)
			return;
	}
}

static int
count_at_owner(const struct answer *a)
{
	ldns_rr_list *an = ldns_pkt_answer(a->pkt);
	size_t i, n = ldns_rr_list_rr_count(an);
	int found = 0;

	for (i = 0; i < n; i++)
		if (rr_at(ldns_rr_list_rr(an, i), a->type, a->owner))
			found++;
	return found;
}

static void
set_failed(struct dane_lookup *l)
{
	l->answer = DANE_ANSWER_FAILED;
	l->dnssec = DANE_DNSSEC_BOGUS;
}

/*
 * Note why a lookup of the gathering in progress failed, if it is the
 * first to fail (dane_facts.fail_query).  Allocates nothing.
 */
static void __attribute__((format(printf, 5, 6)))
note_failure(struct dane_ctx *c, const char *name, int type, int bogus,
    const char *fmt, ...)
{
	const ldns_rr_descriptor *d = ldns_rr_descript((uint16_t)type);
	struct dane_facts *f = c->facts;
	va_list ap;

	if (f == NULL || f->fail_query[0] != '\0')
		return;
	if (d != NULL && d->_name != NULL)
		snprintf(f->fail_query, sizeof(f->fail_query), "%s/%s", name,
		    d->_name);
	else
		snprintf(f->fail_query, sizeof(f->fail_query), "%s/TYPE%d",
		    name, type);
	va_start(ap, fmt);
	vsnprintf(f->fail_why, sizeof(f->fail_why), fmt, ap);
	va_end(ap);
	danei_sanitize(f->fail_query, NULL);
	danei_sanitize(f->fail_why, NULL);
	f->fail_bogus = bogus;
}

/* Turn a validated result into an answer; failures stay FAILED. */
static enum dane_result
classify(struct dane_ctx *c, const char *name, struct ub_result *res,
    struct answer *a)
{
	const ldns_lookup_table *rc;
	ldns_status st;

	if (res->bogus) {
		danei_log(c->log_fn, c->log_arg, LOG_NOTICE,
		    "dane: DNSSEC validation failed for %s type %d: %s", name,
		    (int)a->type, res->why_bogus != NULL ? res->why_bogus :
		    "bogus");
		note_failure(c, name, (int)a->type, 1, "%s",
		    res->why_bogus != NULL ? res->why_bogus : "bogus");
		return DANE_OK;
	}
	if (res->rcode != LDNS_RCODE_NOERROR &&
	    res->rcode != LDNS_RCODE_NXDOMAIN) {
		/* SERVFAIL, REFUSED, ...: failure */
		rc = ldns_lookup_by_id(ldns_rcodes, res->rcode);
		if (rc != NULL && rc->name != NULL)
			note_failure(c, name, (int)a->type, 0, "%s", rc->name);
		else
			note_failure(c, name, (int)a->type, 0, "RCODE %d",
			    res->rcode);
		return DANE_OK;
	}
	if (res->answer_packet == NULL || res->answer_len <= 0) {
		note_failure(c, name, (int)a->type, 0, "empty reply");
		return DANE_OK;
	}
	st = ldns_wire2pkt(&a->pkt, res->answer_packet,
	    (size_t)res->answer_len);
	if (st == LDNS_STATUS_MEM_ERR)
		return DANE_ERR_NOMEM;
	if (st != LDNS_STATUS_OK || a->pkt == NULL || ldns_pkt_tc(a->pkt)) {
		note_failure(c, name, (int)a->type, 0, "%s",
		    st != LDNS_STATUS_OK || a->pkt == NULL ?
		    "malformed reply" : "truncated reply");
		ldns_pkt_free(a->pkt);
		a->pkt = NULL;
		return DANE_OK;
	}
	follow_chain(a);
	if (count_at_owner(a) > 0)
		a->l.answer = DANE_ANSWER_FOUND;
	else if (res->rcode == LDNS_RCODE_NXDOMAIN)
		a->l.answer = DANE_ANSWER_NXDOMAIN;
	else
		a->l.answer = DANE_ANSWER_NODATA;
	a->l.dnssec = res->secure ? DANE_DNSSEC_SECURE : DANE_DNSSEC_INSECURE;
	return DANE_OK;
}

/* One query; only out-of-memory and bad names are errors. */
static enum dane_result
lookup(struct dane_ctx *c, const char *name, ldns_rr_type type,
    struct answer *a)
{
	struct ub_result *res = NULL;
	enum dane_result r;

	ldns_status st;

	memset(a, 0, sizeof(*a));
	a->type = type;
	set_failed(&a->l);
	/* ldns_dname_new_frm_str() aborts when memory runs out */
	st = ldns_str2rdf_dname(&a->qname, name);
	if (st == LDNS_STATUS_MEM_ERR)
		return DANE_ERR_NOMEM;
	if (st != LDNS_STATUS_OK || a->qname == NULL)
		return st == LDNS_STATUS_OK ? DANE_ERR_NOMEM : DANE_ERR_INVAL;
	a->owner = a->qname;		/* until a chain is followed */
	if ((r = resolve(c, name, (int)type, &res)) != DANE_OK)
		return r;
	if (res == NULL) {
		if (c->spent_ms >= c->budget_ms)
			note_failure(c, name, (int)type, 0, "no answer within "
			    "the DNS time budget of %u ms", c->budget_ms);
		else
			note_failure(c, name, (int)type, 0, "no answer "
			    "(network or resolver error)");
		return DANE_OK;
	}
	r = classify(c, name, res, a);
	ub_resolve_free(res);
	return r;
}

/* Canonical text form of a domain-name rdf; DANE_ERR_INVAL if odd. */
static enum dane_result
rdf_name(const ldns_rdf *rdf, char *out, size_t size)
{
	enum dane_result r;
	char *s;

	if ((s = ldns_rdf2str(rdf)) == NULL)
		return DANE_ERR_NOMEM;
	r = danei_name_norm(s, out, size);
	free(s);
	return r;
}

/* Record the CNAME expansion of a query name, if any. */
static enum dane_result
expansion(const struct answer *a, char *out, size_t size)
{
	enum dane_result r;

	out[0] = '\0';
	if (a->pkt == NULL || a->owner == NULL || a->owner == a->qname ||
	    a->l.answer == DANE_ANSWER_FAILED)
		return DANE_OK;
	r = rdf_name(a->owner, out, size);
	if (r == DANE_ERR_INVAL)
		out[0] = '\0';
	return r == DANE_ERR_NOMEM ? r : DANE_OK;
}

/* RFC 7672 section 2.2.1: the MX RRset of the next-hop domain. */
static enum dane_result
gather_mx(struct dane_ctx *c, struct dane_facts *f)
{
	char name[DANE_NAME_MAX];
	struct answer a;
	ldns_rr_list *an;
	enum dane_result r;
	size_t i, n;

	if ((r = lookup(c, f->nexthop, LDNS_RR_TYPE_MX, &a)) != DANE_OK)
		goto out;
	f->mx = a.l;
	if ((r = expansion(&a, f->nexthop_expanded,
	    sizeof(f->nexthop_expanded))) != DANE_OK)
		goto out;
	if (a.l.answer != DANE_ANSWER_FOUND) {
		/* Implicit MX (RFC 5321 section 5.1). */
		f->host_in_mx = strcmp(f->host, f->nexthop) == 0 ||
		    strcmp(f->host, f->nexthop_expanded) == 0;
		goto out;
	}
	an = ldns_pkt_answer(a.pkt);
	n = ldns_rr_list_rr_count(an);
	for (i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!rr_at(rr, LDNS_RR_TYPE_MX, a.owner) ||
		    ldns_rr_rd_count(rr) < 2)
			continue;
		r = rdf_name(ldns_rr_rdf(rr, 1), name, sizeof(name));
		if (r == DANE_ERR_NOMEM)
			goto out;
		if (r != DANE_OK) {
			r = DANE_OK;
			continue;	/* null MX (RFC 7505) or odd name */
		}
		if (strcmp(name, f->host) == 0)
			f->host_in_mx = 1;
		if (f->mx_count < DANE_MX_MAX)
			danei_strlcpy(f->mx_hosts[f->mx_count++], name,
			    sizeof(f->mx_hosts[0]));
	}
out:
	answer_free(&a);
	return r;
}

static enum dane_dnssec
weakest(enum dane_dnssec x, enum dane_dnssec y)
{
	return x > y ? x : y;		/* SECURE < INSECURE < BOGUS */
}

/* RFC 7672 section 2.2.2: the address RRsets of the host. */
static enum dane_result
gather_addr(struct dane_ctx *c, struct dane_facts *f)
{
	struct answer a4, a6;
	enum dane_result r;
	struct dane_lookup *l = &f->addr;

	memset(&a6, 0, sizeof(a6));
	if ((r = lookup(c, f->host, LDNS_RR_TYPE_A, &a4)) != DANE_OK ||
	    (r = lookup(c, f->host, LDNS_RR_TYPE_AAAA, &a6)) != DANE_OK)
		goto out;
	if (a4.l.answer == DANE_ANSWER_FAILED ||
	    a6.l.answer == DANE_ANSWER_FAILED) {
		set_failed(l);
		goto out;
	}
	l->dnssec = weakest(a4.l.dnssec, a6.l.dnssec);
	if (a4.l.answer == DANE_ANSWER_FOUND ||
	    a6.l.answer == DANE_ANSWER_FOUND)
		l->answer = DANE_ANSWER_FOUND;
	else if (a4.l.answer == DANE_ANSWER_NXDOMAIN &&
	    a6.l.answer == DANE_ANSWER_NXDOMAIN)
		l->answer = DANE_ANSWER_NXDOMAIN;
	else
		l->answer = DANE_ANSWER_NODATA;
	r = expansion(a4.owner != a4.qname ? &a4 : &a6, f->host_expanded,
	    sizeof(f->host_expanded));
	if (strcmp(f->host_expanded, f->host) == 0)
		f->host_expanded[0] = '\0';
out:
	answer_free(&a4);
	answer_free(&a6);
	return r;
}

static enum dane_result
add_tlsa(struct dane_facts *f, const ldns_rr *rr)
{
	const ldns_rdf *d;
	struct dane_tlsa_rr *t;
	size_t i;

	/* RFC 6698 section 2.1: three octets and data; else unusable. */
	if (ldns_rr_rd_count(rr) < 4) {
		f->tlsa_malformed++;
		return DANE_OK;
	}
	for (i = 0; i < 3; i++)
		if (ldns_rdf_size(ldns_rr_rdf(rr, i)) != 1) {
			f->tlsa_malformed++;
			return DANE_OK;
		}
	t = &f->tlsa_rrs[f->tlsa_count];
	memset(t, 0, sizeof(*t));
	t->usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
	t->selector = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
	t->mtype = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
	d = ldns_rr_rdf(rr, 3);
	t->len = d != NULL ? ldns_rdf_size(d) : 0;
	if (t->len > 0) {
		if ((t->data = malloc(t->len)) == NULL)
			return DANE_ERR_NOMEM;
		memcpy(t->data, ldns_rdf_data(d), t->len);
	}
	f->tlsa_count++;
	return DANE_OK;
}

static enum dane_result
parse_tlsa(struct dane_facts *f, const struct answer *a)
{
	ldns_rr_list *an;
	size_t i, n;
	enum dane_result r;

	/* a failed lookup (timeout, name too long) has no reply at all */
	if (a->l.answer != DANE_ANSWER_FOUND || a->pkt == NULL)
		return DANE_OK;
	an = ldns_pkt_answer(a->pkt);
	n = ldns_rr_list_rr_count(an);
	if ((f->tlsa_rrs = calloc(n, sizeof(*f->tlsa_rrs))) == NULL)
		return DANE_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!rr_at(rr, LDNS_RR_TYPE_TLSA, a->owner))
			continue;
		if ((r = add_tlsa(f, rr)) != DANE_OK)
			return r;
	}
	return DANE_OK;
}

static enum dane_result
tlsa_query(struct dane_ctx *c, struct dane_facts *f, const char *base,
    struct answer *a)
{
	char qname[DANE_NAME_MAX + 16];
	int n;

	n = snprintf(qname, sizeof(qname), "_%u._tcp.%s",
	    (unsigned)f->port, base);
	if (n < 0 || n > 253) {
		/* No such name can be looked up: fail closed. */
		memset(a, 0, sizeof(*a));
		set_failed(&a->l);
		note_failure(c, qname, LDNS_RR_TYPE_TLSA, 0, "name too long "
		    "to look up");
		return DANE_OK;
	}
	return lookup(c, qname, LDNS_RR_TYPE_TLSA, a);
}

/* A secure RRset of records, or something else at this base? */
static int
tlsa_found_secure(const struct dane_lookup *l)
{
	return l->answer == DANE_ANSWER_FOUND &&
	    l->dnssec == DANE_DNSSEC_SECURE;
}

/*
 * RFC 7672 section 2.2.3: the TLSA RRset of the base domain.  With
 * `original_only` (insecure addresses behind a secure first CNAME,
 * section 2.2.2) the expanded name is not a candidate.
 */
static enum dane_result
gather_tlsa(struct dane_ctx *c, struct dane_facts *f, int original_only)
{
	const char *base;
	struct answer a;
	enum dane_result r;

	base = f->host_expanded[0] != '\0' && !original_only ?
	    f->host_expanded : f->host;
	if ((r = tlsa_query(c, f, base, &a)) != DANE_OK)
		goto out;
	/*
	 * Only a clean "not found" (a denial, or an insecure answer that
	 * counts as none) allows the original name; after a failure the
	 * host is unusable (Postfix: "If the rname lookup fails we don't
	 * try the qname").
	 */
	if (base != f->host && a.l.answer != DANE_ANSWER_FAILED &&
	    !tlsa_found_secure(&a.l)) {
		answer_free(&a);
		base = f->host;
		if ((r = tlsa_query(c, f, base, &a)) != DANE_OK)
			goto out;
	}
	danei_strlcpy(f->tlsa_base, base, sizeof(f->tlsa_base));
	f->tlsa = a.l;
	r = parse_tlsa(f, &a);
out:
	answer_free(&a);
	return r;
}

/* RFC 7672 section 2.1.3: is the CNAME RRset at the host secure? */
static enum dane_result
gather_host_cname(struct dane_ctx *c, struct dane_facts *f)
{
	struct answer a;
	enum dane_result r;

	if ((r = lookup(c, f->host, LDNS_RR_TYPE_CNAME, &a)) == DANE_OK)
		f->host_cname = a.l;
	answer_free(&a);
	return r;
}

/* "[...]" next hops: an address literal or an administrator relay. */
static enum dane_result
parse_bracket(const char *nexthop, struct dane_facts *f)
{
	char inner[DANE_NAME_MAX];
	unsigned char bin[16];
	size_t len = strlen(nexthop);
	size_t i;

	if (len > 0 && nexthop[len - 1] == '.')
		len--;			/* "$&h" may end in a dot */
	if (len < 3 || nexthop[len - 1] != ']' || len - 2 >= sizeof(inner))
		return DANE_ERR_INVAL;
	memcpy(inner, nexthop + 1, len - 2);
	inner[len - 2] = '\0';
	if (strncasecmp(inner, "ipv6:", 5) == 0 ||
	    inet_pton(AF_INET, inner, bin) == 1) {
		f->nexthop_is_literal = 1;
		for (i = 0; inner[i] != '\0'; i++)
			inner[i] = (char)tolower((unsigned char)inner[i]);
		danei_sanitize(inner, DANEI_TEXT_UNSAFE);
		danei_strlcpy(f->nexthop, inner, sizeof(f->nexthop));
		return DANE_OK;
	}
	f->nexthop_is_relay = 1;
	return danei_name_norm(inner, f->nexthop, sizeof(f->nexthop));
}

static int
is_address(const char *name)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, name, bin) == 1 ||
	    inet_pton(AF_INET6, name, bin) == 1;
}

static enum dane_result
setup_facts(struct dane_facts *f, const char *nexthop, const char *host,
    uint16_t port)
{
	enum dane_result r;

	f->port = port != 0 ? port : TLSA_PORT_DEFAULT;
	f->mx.answer = f->addr.answer = f->tlsa.answer =
	    f->host_cname.answer = DANE_ANSWER_NOT_QUERIED;
	f->mx.dnssec = f->addr.dnssec = f->tlsa.dnssec =
	    f->host_cname.dnssec = DANE_DNSSEC_INSECURE;
	if (nexthop[0] == '[')
		r = parse_bracket(nexthop, f);
	else
		r = danei_name_norm(nexthop, f->nexthop, sizeof(f->nexthop));
	if (r != DANE_OK)
		return r;
	if (f->nexthop_is_literal) {
		/* No lookups: the host is kept for logging only. */
		if (host != NULL && danei_name_norm(host, f->host,
		    sizeof(f->host)) != DANE_OK)
			danei_strlcpy(f->host, f->nexthop, sizeof(f->host));
		return DANE_OK;
	}
	if (f->nexthop_is_relay && (host == NULL || *host == '\0'))
		host = f->nexthop;
	if (host == NULL)
		return DANE_ERR_INVAL;
	if ((r = danei_name_norm(host, f->host, sizeof(f->host))) != DANE_OK)
		return r;
	f->host_is_literal = is_address(f->host);
	if (f->nexthop_is_relay)
		f->host_in_mx = strcmp(f->host, f->nexthop) == 0;
	return DANE_OK;
}

static enum dane_result
gather(struct dane_ctx *c, struct dane_facts *f)
{
	enum dane_result r;

	if (!f->nexthop_is_relay) {
		if ((r = gather_mx(c, f)) != DANE_OK)
			return r;
		if (f->mx.answer == DANE_ANSWER_FAILED ||
		    f->mx.dnssec != DANE_DNSSEC_SECURE || !f->host_in_mx)
			return DANE_OK;
	}
	/* An MX naming an IP address: DANE does not apply (2.2). */
	if (f->host_is_literal)
		return DANE_OK;
	if ((r = gather_addr(c, f)) != DANE_OK)
		return r;
	if (f->addr.answer != DANE_ANSWER_FOUND ||
	    f->addr.dnssec == DANE_DNSSEC_BOGUS)
		return DANE_OK;
	if (f->addr.dnssec == DANE_DNSSEC_SECURE)
		return gather_tlsa(c, f, 0);
	/* "SHOULD NOT" query TLSA for insecure addresses (2.2.2) ... */
	if (f->host_expanded[0] == '\0')
		return DANE_OK;
	/* ... unless they hang off a secure first CNAME (2.1.3). */
	if ((r = gather_host_cname(c, f)) != DANE_OK)
		return r;
	if (f->host_cname.answer != DANE_ANSWER_FOUND ||
	    f->host_cname.dnssec != DANE_DNSSEC_SECURE)
		return DANE_OK;
	return gather_tlsa(c, f, 1);
}

enum dane_result
dane_gather(struct dane_ctx *c, const char *nexthop, const char *host,
    uint16_t port, struct dane_facts **out)
{
	struct dane_facts *f;
	enum dane_result r;

	if (out == NULL)
		return DANE_ERR_INVAL;
	*out = NULL;
	if (c == NULL || nexthop == NULL)
		return DANE_ERR_INVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return DANE_ERR_NOMEM;
	r = setup_facts(f, nexthop, host, port);
	if (r == DANE_OK && !f->nexthop_is_literal &&
	    (r = ctx_ready(c)) == DANE_OK) {
		if (upstream_validates(c)) {
			c->facts = f;
			r = gather(c, f);
			c->facts = NULL;
		} else {
			f->dnssec_unavailable = 1;
			danei_strlcpy(f->fail_query, "./DNSKEY",
			    sizeof(f->fail_query));
			danei_strlcpy(f->fail_why, c->probe_why,
			    sizeof(f->fail_why));
			danei_sanitize(f->fail_why, NULL);
			f->fail_bogus = c->probe_bogus;
		}
	}
	if (r != DANE_OK) {
		dane_facts_free(f);
		return r;
	}
	*out = f;
	return DANE_OK;
}

void
dane_facts_free(struct dane_facts *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->tlsa_count; i++)
		free(f->tlsa_rrs[i].data);
	free(f->tlsa_rrs);
	free(f);
}
