/*
 * NAME
 *	health.c - resolver and trust health for sendmail-dane-check
 *
 * SYNOPSIS
 *	#include "health.h"
 *
 * DESCRIPTION
 *	See health.h for the interface.  Lookups that must be validated
 *	go through a libunbound context of this file's own, configured
 *	from the struct dane_resolver_config as libdane configures its
 *	own (options, unbound.conf, trust anchor, upstream), and are
 *	waited for in poll() for at most the per-query timeout and what
 *	is left of the call's budget.  Queries that must reach one
 *	particular server (an upstream address, an authoritative server)
 *	are sent with ldns, one ldns_resolver per server and query, over
 *	UDP and then TCP when the reply is truncated; a reply must carry
 *	the query's ID and question.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <ldns/ldns.h>
#include <unbound.h>

#include "dane.h"
#include "health.h"

#define EDNS_SIZE 1232
#define UPSTREAM_RECURSE "recurse"
#define RESOLV_CONF_DEFAULT "/etc/resolv.conf"
#define S(s) ((s) != NULL ? (s) : "")

/* The IANA root zone's key signing keys (algorithm 8, RSASHA256). */
static const struct {
	uint16_t tag;
	uint8_t alg;
	const char *name;
	int retired;
} root_ksks[] = {
	{ 20326, 8, "KSK-2017", 0 },
	{ 38696, 8, "KSK-2024", 0 },
	{ 19036, 8, "KSK-2010", 1 },	/* retired 2018, revoked 2019 */
};
#define KSK2017 20326

/* A libunbound lookup that timed out but could not be cancelled. */
struct pending {
	int done;
	int err;
	struct ub_result *res;
	struct pending *next;
};

struct hctx {
	const struct dane_resolver_config *rc;
	struct dane_resolver_config none;
	unsigned timeout_ms, budget_ms;
	size_t max_servers;
	uint16_t port;
	const char *bogus_name;
	uint64_t deadline;
	const char *anchor, *resolv_conf, *upstream;	/* upstream NULL: */
	struct ub_ctx *ub;				/* resolv.conf */
	char *ub_error;		/* why there is no ub */
	FILE *ublog;		/* libunbound's messages */
	char ubline[512];
	size_t ublen;
	char *ub_first_error;	/* the first "error:" line of them */
	struct pending *stale;
	int nomem;
};

/* ---- small things ----------------------------------------------------- */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* How long the next query may wait: 0 when the budget is used up. */
static unsigned
wait_ms(const struct hctx *h)
{
	uint64_t now = now_ms();

	if (now >= h->deadline)
		return 0;
	return h->deadline - now < h->timeout_ms ?
	    (unsigned)(h->deadline - now) : h->timeout_ms;
}

static void
sanitize(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; p != NULL && *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static char *
xdup(struct hctx *h, const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		h->nomem = 1;
	sanitize(d);
	return d;
}

static char * __attribute__((format(printf, 2, 3)))
xfmt(struct hctx *h, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->nomem = 1;
		return NULL;
	}
	sanitize(s);
	return s;
}

/* A new zeroed element at the end of *arr (*n elements of size). */
static void *
push(struct hctx *h, void *arr, size_t *n, size_t size)
{
	void **ap = arr;
	char *p;

	if ((p = realloc(*ap, (*n + 1) * size)) == NULL) {
		h->nomem = 1;
		return NULL;
	}
	*ap = p;
	memset(p + *n * size, 0, size);
	return p + (*n)++ * size;
}

static void
push_str(struct hctx *h, char ***arr, size_t *n, char *s)
{
	char **slot;

	if (s == NULL)
		return;
	if ((slot = push(h, arr, n, sizeof(**arr))) == NULL)
		free(s);
	else
		*slot = s;
}

/* Append ", text" (or text) to *s. */
static void __attribute__((format(printf, 4, 5)))
append(struct hctx *h, char **s, const char *sep, const char *fmt, ...)
{
	char *add, *both;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->nomem = 1;
		return;
	}
	if (*s == NULL) {
		*s = add;
		return;
	}
	if (asprintf(&both, "%s%s%s", *s, sep, add) < 0) {
		h->nomem = 1;
		both = NULL;
	}
	free(add);
	free(*s);
	*s = both;
	sanitize(*s);
}

/* Lower case, no trailing dot except for the root; 0 if malformed. */
static int
norm_name(const char *in, char *out, size_t size)
{
	ldns_rdf *d = NULL;
	size_t len, i;

	if (in == NULL || (len = strlen(in)) == 0 || len >= size)
		return 0;
	if (strcmp(in, ".") == 0) {
		snprintf(out, size, ".");
		return 1;
	}
	if (in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '\\' ||
		    (ch == '.' && (i == 0 || in[i - 1] == '.')))
			return 0;
		out[i] = (char)tolower(ch);
	}
	out[len] = '\0';
	if (ldns_str2rdf_dname(&d, out) != LDNS_STATUS_OK || d == NULL)
		return 0;
	ldns_rdf_deep_free(d);
	return 1;
}

/* Presentation form of a dname rdf, normalised as above. */
static char *
rdf_name(struct hctx *h, const ldns_rdf *rdf)
{
	char buf[512], *s;

	if ((s = ldns_rdf2str(rdf)) == NULL) {
		h->nomem = 1;
		return NULL;
	}
	if (!norm_name(s, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return xdup(h, buf);
}

/* "nameserver" text: a v4 or v6 address with an optional "@port". */
static int
split_addr(const char *spec, char *addr, size_t size, uint16_t *port)
{
	unsigned char bin[16];
	const char *at = strrchr(spec, '@');
	size_t len = at != NULL ? (size_t)(at - spec) : strlen(spec);
	unsigned long p = 53;
	char *end;

	if (len == 0 || len >= size)
		return 0;
	memcpy(addr, spec, len);
	addr[len] = '\0';
	if (at != NULL) {
		p = strtoul(at + 1, &end, 10);
		if (*end != '\0' || p == 0 || p > 65535)
			return 0;
	}
	*port = (uint16_t)p;
	return inet_pton(AF_INET, addr, bin) == 1 ||
	    inet_pton(AF_INET6, addr, bin) == 1;
}

static const char *
rcode_name(int rcode, char *buf, size_t size)
{
	const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);

	if (t != NULL && t->name != NULL)
		return t->name;
	snprintf(buf, size, "RCODE %d", rcode);
	return buf;
}

static const char *
type_name(ldns_rr_type t, char *buf, size_t size)
{
	const ldns_rr_descriptor *d = ldns_rr_descript((uint16_t)t);

	if (d != NULL && d->_name != NULL)
		return d->_name;
	snprintf(buf, size, "TYPE%d", (int)t);
	return buf;
}

const char *
health_status_name(enum health_status s)
{
	switch (s) {
	case HEALTH_OK:
		return "ok";
	case HEALTH_WARN:
		return "warn";
	case HEALTH_FAIL:
		return "fail";
	case HEALTH_SKIP:
		return "skip";
	}
	return "?";
}

static enum health_status
worse(enum health_status a, enum health_status b)
{
	if (a == HEALTH_SKIP)
		return b;
	if (b == HEALTH_SKIP)
		return a;
	return a > b ? a : b;
}

/* ---- the context ------------------------------------------------------- */

static void
hctx_init(struct hctx *h, const struct dane_resolver_config *rc,
    const struct health_options *o)
{
	memset(h, 0, sizeof(*h));
	if (rc == NULL)
		rc = &h->none;
	h->rc = rc;
	h->timeout_ms = o != NULL && o->timeout_ms != 0 ? o->timeout_ms :
	    HEALTH_TIMEOUT_MS;
	h->budget_ms = o != NULL && o->budget_ms != 0 ? o->budget_ms :
	    HEALTH_BUDGET_MS;
	h->max_servers = o != NULL && o->max_servers != 0 ? o->max_servers :
	    HEALTH_SERVERS_MAX;
	h->port = o != NULL && o->port != 0 ? o->port : 53;
	h->bogus_name = o != NULL ? o->bogus_name : NULL;
	h->deadline = now_ms() + h->budget_ms;
	h->anchor = rc->trust_anchor != NULL && *rc->trust_anchor != '\0' ?
	    rc->trust_anchor : DANE_TRUST_ANCHOR_DEFAULT;
	h->resolv_conf = rc->resolv_conf != NULL && *rc->resolv_conf != '\0' ?
	    rc->resolv_conf : RESOLV_CONF_DEFAULT;
	h->upstream = rc->upstream != NULL && *rc->upstream != '\0' ?
	    rc->upstream : NULL;
}

static void
hctx_done(struct hctx *h)
{
	struct pending *p;

	if (h->ub != NULL)
		ub_ctx_delete(h->ub);
	h->ub = NULL;
	if (h->ublog != NULL)
		fclose(h->ublog);
	h->ublog = NULL;
	free(h->ub_first_error);
	h->ub_first_error = NULL;
	while ((p = h->stale) != NULL) {
		h->stale = p->next;
		ub_resolve_free(p->res);
		free(p);
	}
	free(h->ub_error);
	h->ub_error = NULL;
}

/*
 * libunbound's messages (it prints errors on stderr otherwise): to the
 * configuration's sink at LOG_DEBUG when rc->verbosity asks for them,
 * the first error kept for the steps' reasons.
 */
static ssize_t
ublog_write(void *cookie, const char *buf, size_t size)
{
	struct hctx *h = cookie;
	const char *text, *e;
	size_t i;

	for (i = 0; i < size; i++) {
		if (buf[i] != '\n') {
			if (h->ublen < sizeof(h->ubline) - 1)
				h->ubline[h->ublen++] = buf[i];
			continue;
		}
		h->ubline[h->ublen] = '\0';
		h->ublen = 0;
		sanitize(h->ubline);
		/* "[time] libunbound[pid:thread] error: text" */
		text = strstr(h->ubline, "] ") != NULL ?
		    strstr(h->ubline, "] ") + 2 : h->ubline;
		if ((e = strstr(text, "error: ")) != NULL &&
		    h->ub_first_error == NULL)
			h->ub_first_error = xdup(h, e + 7);
		if (h->rc->verbosity > 0 && h->rc->log_fn != NULL)
			h->rc->log_fn(h->rc->log_arg, LOG_DEBUG, text);
	}
	return (ssize_t)size;
}

/* As libdane's own context (dns.c), minus the cache sizes. */
static const char *const ub_options[][2] = {
	{ "do-not-query-localhost:", "no" },
	{ "harden-dnssec-stripped:", "yes" },
	{ "val-log-level:", "2" },
	{ "prefetch:", "no" },
	{ "trust-anchor-signaling:", "no" },
};

/* h->ub from the configuration, or h->ub_error saying why not. */
static void
ub_make(struct hctx *h)
{
	char buf[512], *p, *tok;
	struct ub_ctx *ub;
	size_t i;
	FILE *fp;
	int r;

	if ((ub = ub_ctx_create()) == NULL) {
		h->ub_error = xdup(h, "libunbound: cannot create a context");
		return;
	}
	if (h->ublog == NULL) {
		cookie_io_functions_t io = { .write = ublog_write };

		if ((h->ublog = fopencookie(h, "w", io)) != NULL)
			setvbuf(h->ublog, NULL, _IOLBF, 0);
	}
	if (h->ublog != NULL)
		(void)ub_ctx_debugout(ub, h->ublog);
	(void)ub_ctx_debuglevel(ub, h->rc->verbosity > 5 ? 5 :
	    (int)h->rc->verbosity);
	for (i = 0; i < sizeof(ub_options) / sizeof(ub_options[0]); i++)
		if ((r = ub_ctx_set_option(ub, ub_options[i][0],
		    ub_options[i][1])) != 0) {
			h->ub_error = xfmt(h, "libunbound option %s: %s",
			    ub_options[i][0], ub_strerror(r));
			goto fail;
		}
	if (h->rc->unbound_conf != NULL && *h->rc->unbound_conf != '\0') {
		if ((fp = fopen(h->rc->unbound_conf, "r")) == NULL) {
			h->ub_error = xfmt(h, "unbound configuration %s: %s",
			    h->rc->unbound_conf, strerror(errno));
			goto fail;
		}
		fclose(fp);
		if ((r = ub_ctx_config(ub, h->rc->unbound_conf)) != 0) {
			h->ub_error = xfmt(h, "unbound configuration %s: %s",
			    h->rc->unbound_conf, ub_strerror(r));
			goto fail;
		}
	}
	if ((r = ub_ctx_async(ub, 1)) != 0 ||
	    (r = ub_ctx_add_ta_file(ub, h->anchor)) != 0) {
		h->ub_error = xfmt(h, "libunbound: %s", ub_strerror(r));
		goto fail;
	}
	if (h->upstream == NULL) {
		if ((r = ub_ctx_resolvconf(ub, h->resolv_conf)) != 0) {
			h->ub_error = xfmt(h, "upstream from %s: %s",
			    h->resolv_conf, r == UB_READFILE ?
			    strerror(errno) : ub_strerror(r));
			goto fail;
		}
	} else if (strcmp(h->upstream, UPSTREAM_RECURSE) != 0) {
		snprintf(buf, sizeof(buf), "%s", h->upstream);
		for (p = buf; (tok = strsep(&p, " \t,")) != NULL;) {
			if (*tok == '\0' || (r = ub_ctx_set_fwd(ub,
			    tok)) == 0)
				continue;
			h->ub_error = xfmt(h, "upstream address %s: %s", tok,
			    ub_strerror(r));
			goto fail;
		}
	}
	h->ub = ub;
	return;
fail:
	ub_ctx_delete(ub);
}

/* ---- lookups through libunbound ------------------------------------------ */

struct ulook {
	int ok;			/* a result arrived */
	int skipped;		/* not asked: the budget is used up */
	int rcode;
	int secure, bogus;
	char *why;		/* why it failed, NULL if it did not */
	ldns_pkt *pkt;
};

static void
ulook_free(struct ulook *l)
{
	free(l->why);
	ldns_pkt_free(l->pkt);
	memset(l, 0, sizeof(*l));
}

static void
on_result(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = 1;
	p->err = err;
	p->res = res;
}

static void
ub_ask(struct hctx *h, const char *name, ldns_rr_type type, struct ulook *l)
{
	struct pending *p;
	struct ub_result *res;
	uint64_t start, t;
	unsigned limit;
	char rb[32];
	ldns_status st;
	int id, r, fd;

	memset(l, 0, sizeof(*l));
	l->rcode = -1;
	if (h->ub == NULL) {
		l->why = xdup(h, h->ub_error != NULL ? h->ub_error :
		    "no libunbound context");
		return;
	}
	if ((limit = wait_ms(h)) == 0) {
		l->why = xfmt(h, "not asked: the time budget of %u ms is "
		    "used up", h->budget_ms);
		l->skipped = 1;
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		h->nomem = 1;
		return;
	}
	r = ub_resolve_async(h->ub, name, (int)type, LDNS_RR_CLASS_IN, p,
	    on_result, &id);
	if (r != 0) {
		free(p);
		l->why = xfmt(h, "libunbound: %s%s%s", ub_strerror(r),
		    h->ub_first_error != NULL ? ": " : "",
		    S(h->ub_first_error));
		return;
	}
	fd = ub_fd(h->ub);
	start = now_ms();
	while (!p->done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		t = now_ms() - start;
		if (t >= limit)
			break;
		n = poll(&pfd, 1, (int)(limit - t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n > 0 && ub_process(h->ub) != 0)
			break;
	}
	if (!p->done) {
		/* a result already on its way would land in freed memory */
		if (ub_cancel(h->ub, id) != 0) {
			p->next = h->stale;
			h->stale = p;
		} else
			free(p);
		l->why = xfmt(h, "no answer within %u ms", limit);
		return;
	}
	res = p->res;
	r = p->err;
	free(p);
	if (r != 0) {
		l->why = xfmt(h, "libunbound: %s", ub_strerror(r));
		return;
	}
	l->ok = 1;
	l->rcode = res->rcode;
	l->secure = res->secure;
	l->bogus = res->bogus;
	if (res->bogus)
		l->why = xdup(h, res->why_bogus != NULL ? res->why_bogus :
		    "validation failed");
	else if (res->rcode != LDNS_RCODE_NOERROR &&
	    res->rcode != LDNS_RCODE_NXDOMAIN)
		l->why = xdup(h, rcode_name(res->rcode, rb, sizeof(rb)));
	if (res->answer_packet != NULL && res->answer_len > 0) {
		st = ldns_wire2pkt(&l->pkt, res->answer_packet,
		    (size_t)res->answer_len);
		if (st == LDNS_STATUS_MEM_ERR)
			h->nomem = 1;
		if (st != LDNS_STATUS_OK) {
			l->pkt = NULL;
			if (l->why == NULL)
				l->why = xdup(h, "malformed reply");
		}
	} else if (l->why == NULL)
		l->why = xdup(h, "empty reply");
	ub_resolve_free(res);
}

static int
owned_by(const ldns_rr *rr, const ldns_rdf *owner)
{
	return ldns_dname_compare(ldns_rr_owner(rr), owner) == 0;
}

/* Records of type t in section sec owned by owner. */
static size_t
count_at(const ldns_pkt *pkt, ldns_pkt_section sec, const ldns_rdf *owner,
    ldns_rr_type t)
{
	ldns_rr_list *l;
	size_t i, n = 0;

	if (pkt == NULL)
		return 0;
	l = sec == LDNS_SECTION_ANSWER ? ldns_pkt_answer(pkt) :
	    ldns_pkt_authority(pkt);
	for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (ldns_rr_get_type(rr) == t && owned_by(rr, owner))
			n++;
	}
	return n;
}

/*
 * The answer and DNSSEC status, as libdane classifies them: any failure
 * is FAILED (and BOGUS); records of type t at the end of the answer's
 * CNAME chain (or at qname for CNAME) are FOUND.
 */
static void
ulook_class(const struct ulook *l, const ldns_rdf *qname, ldns_rr_type t,
    enum dane_answer *ans, enum dane_dnssec *sec)
{
	const ldns_rdf *owner = qname;
	ldns_rr_list *an;
	size_t i, hop;
	int moved;

	*ans = DANE_ANSWER_FAILED;
	*sec = DANE_DNSSEC_BOGUS;
	if (!l->ok || l->bogus || l->pkt == NULL || (l->rcode !=
	    LDNS_RCODE_NOERROR && l->rcode != LDNS_RCODE_NXDOMAIN))
		return;
	an = ldns_pkt_answer(l->pkt);
	for (hop = 0; t != LDNS_RR_TYPE_CNAME && hop < 16; hop++) {
		moved = 0;
		for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    owned_by(rr, owner) && ldns_rr_rd_count(rr) > 0) {
				owner = ldns_rr_rdf(rr, 0);
				moved = 1;
				break;
			}
		}
		if (!moved)
			break;
	}
	if (count_at(l->pkt, LDNS_SECTION_ANSWER, owner, t) > 0)
		*ans = DANE_ANSWER_FOUND;
	else if (l->rcode == LDNS_RCODE_NXDOMAIN)
		*ans = DANE_ANSWER_NXDOMAIN;
	else
		*ans = DANE_ANSWER_NODATA;
	*sec = l->secure ? DANE_DNSSEC_SECURE : DANE_DNSSEC_INSECURE;
}

/* ---- queries to one server ----------------------------------------------- */

enum { DQ_RD = 1, DQ_CD = 2, DQ_DO = 4 };

struct dq {
	ldns_pkt *reply;	/* NULL: none, why says why */
	int skipped;		/* not sent: the budget is used up */
	int tcp;
	unsigned ms;
	char *why;
};

static void
dq_free(struct dq *d)
{
	ldns_pkt_free(d->reply);
	free(d->why);
	memset(d, 0, sizeof(*d));
}

static ldns_rdf *
addr_rdf(const char *addr)
{
	unsigned char bin[16];

	if (inet_pton(AF_INET, addr, bin) == 1)
		return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, bin);
	if (inet_pton(AF_INET6, addr, bin) == 1)
		return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, bin);
	return NULL;
}

/* The reply answers our query: same ID, a response, same question. */
static int
matches(const ldns_pkt *q, const ldns_pkt *r)
{
	ldns_rr *qq, *rq;

	if (ldns_pkt_id(q) != ldns_pkt_id(r) || !ldns_pkt_qr(r) ||
	    ldns_pkt_qdcount(r) != 1)
		return 0;
	qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	rq = ldns_rr_list_rr(ldns_pkt_question(r), 0);
	return qq != NULL && rq != NULL &&
	    ldns_rr_get_type(qq) == ldns_rr_get_type(rq) &&
	    ldns_rr_get_class(qq) == ldns_rr_get_class(rq) &&
	    ldns_dname_compare(ldns_rr_owner(qq), ldns_rr_owner(rq)) == 0;
}

static void
direct_ask(struct hctx *h, const char *addr, uint16_t port,
    const char *name, ldns_rr_type type, int flags, struct dq *d)
{
	ldns_resolver *res = NULL;
	ldns_rdf *ns, *qname = NULL;
	ldns_pkt *q = NULL, *reply;
	struct timeval tv;
	ldns_status st;
	uint64_t start;
	unsigned limit;
	int attempt;

	memset(d, 0, sizeof(*d));
	if ((ns = addr_rdf(addr)) == NULL) {
		d->why = xfmt(h, "%s is not an IP address", addr);
		return;
	}
	if (ldns_str2rdf_dname(&qname, name) != LDNS_STATUS_OK ||
	    qname == NULL) {
		d->why = xfmt(h, "%s: not a domain name", name);
		goto out;
	}
	q = ldns_pkt_query_new(qname, type, LDNS_RR_CLASS_IN,
	    (flags & DQ_RD) ? LDNS_RD : 0);
	if (q == NULL || (res = ldns_resolver_new()) == NULL ||
	    ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK) {
		if (q == NULL)
			ldns_rdf_deep_free(qname);
		h->nomem = 1;
		goto out;
	}
	ldns_pkt_set_random_id(q);
	ldns_pkt_set_cd(q, (flags & DQ_CD) != 0);
	ldns_pkt_set_edns_udp_size(q, EDNS_SIZE);
	ldns_pkt_set_edns_do(q, (flags & DQ_DO) != 0);
	ldns_resolver_set_port(res, port);
	ldns_resolver_set_retry(res, 1);
	ldns_resolver_set_retrans(res, 0);
	ldns_resolver_set_fallback(res, false);
	ldns_resolver_set_random(res, false);
	for (attempt = 0; attempt < 2; attempt++) {
		if ((limit = wait_ms(h)) == 0) {
			d->why = xfmt(h, "not asked: the time budget of %u ms "
			    "is used up", h->budget_ms);
			d->skipped = attempt == 0;
			break;
		}
		tv.tv_sec = limit / 1000;
		tv.tv_usec = (limit % 1000) * 1000;
		ldns_resolver_set_timeout(res, tv);
		ldns_resolver_set_usevc(res, attempt == 1);
		reply = NULL;
		start = now_ms();
		st = ldns_resolver_send_pkt(&reply, res, q);
		d->ms += (unsigned)(now_ms() - start);
		if (st != LDNS_STATUS_OK || reply == NULL) {
			ldns_pkt_free(reply);
			if (st == LDNS_STATUS_MEM_ERR)
				h->nomem = 1;
			else if (st == LDNS_STATUS_NETWORK_ERR ||
			    st == LDNS_STATUS_RES_NO_NS)
				d->why = xfmt(h, "no reply%s within %u ms",
				    attempt == 1 ? " over TCP" : "", limit);
			else
				d->why = xfmt(h, "%s%s", attempt == 1 ?
				    "over TCP: " : "",
				    ldns_get_errorstr_by_id(st));
			break;
		}
		if (!matches(q, reply)) {
			ldns_pkt_free(reply);
			d->why = xdup(h, "a reply that does not match the "
			    "query (ID or question)");
			break;
		}
		if (!ldns_pkt_tc(reply) || attempt == 1) {
			d->reply = reply;
			d->tcp = attempt == 1;
			break;
		}
		ldns_pkt_free(reply);	/* truncated: again over TCP */
	}
out:
	ldns_pkt_free(q);
	if (res != NULL)
		ldns_resolver_deep_free(res);
	ldns_rdf_deep_free(ns);
}

/* RRSIGs in section sec covering type t (0: any) at owner (NULL: any). */
static size_t
rrsigs(const ldns_pkt *pkt, ldns_pkt_section sec, const ldns_rdf *owner,
    ldns_rr_type t, int *all_expired)
{
	ldns_rr_list *l = sec == LDNS_SECTION_ANSWER ? ldns_pkt_answer(pkt) :
	    ldns_pkt_authority(pkt);
	uint32_t now = (uint32_t)time(NULL);
	size_t i, n = 0, valid = 0;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rdf *cov, *exp, *inc;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    (owner != NULL && !owned_by(rr, owner)) ||
		    (cov = ldns_rr_rrsig_typecovered(rr)) == NULL ||
		    (t != 0 && ldns_rdf2rr_type(cov) != t))
			continue;
		n++;
		exp = ldns_rr_rrsig_expiration(rr);
		inc = ldns_rr_rrsig_inception(rr);
		/* serial number arithmetic (RFC 4034 section 3.1.5) */
		if (exp != NULL && inc != NULL &&
		    (int32_t)(ldns_rdf2native_int32(exp) - now) >= 0 &&
		    (int32_t)(now - ldns_rdf2native_int32(inc)) >= 0)
			valid++;
	}
	if (all_expired != NULL)
		*all_expired = n > 0 && valid == 0;
	return n;
}

/* ---- 1. health_check() --------------------------------------------------- */

static struct health_step *
add_step(struct hctx *h, struct health_report *r, const char *id,
    const char *subject)
{
	struct health_step *s;

	if ((s = push(h, &r->steps, &r->step_count, sizeof(*s))) == NULL)
		return NULL;
	s->id = xdup(h, id);
	s->subject = xdup(h, S(subject));
	s->status = HEALTH_SKIP;
	return s;
}

static void __attribute__((format(printf, 4, 5)))
set_step(struct hctx *h, struct health_report *r, size_t i,
    const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (i >= r->step_count)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->nomem = 1;
		return;
	}
	sanitize(s);
	free(r->steps[i].reason);
	r->steps[i].reason = s;
}

/* A new step with status and reason; returns its index. */
#define STEP(id, subj, st, ...) do {					\
	if (add_step(h, r, (id), (subj)) != NULL) {			\
		r->steps[r->step_count - 1].status = (st);		\
		set_step(h, r, r->step_count - 1, __VA_ARGS__);		\
	}								\
} while (0)

static const char *
known_key(uint16_t tag, uint8_t alg)
{
	size_t i;

	for (i = 0; i < sizeof(root_ksks) / sizeof(root_ksks[0]); i++)
		if (root_ksks[i].tag == tag && root_ksks[i].alg == alg)
			return root_ksks[i].name;
	return NULL;
}

static void
add_key(struct hctx *h, struct health_report *r, const ldns_rr *rr,
    int line)
{
	struct health_key *k;
	ldns_rr *copy;
	ldns_rdf *old, *plain;

	if ((k = push(h, &r->keys, &r->key_count, sizeof(*k))) == NULL)
		return;
	k->owner = rdf_name(h, ldns_rr_owner(rr));
	k->type = (uint16_t)ldns_rr_get_type(rr);
	k->line = line > 0 ? (unsigned)line : 0;
	if (k->type == LDNS_RR_TYPE_DS && ldns_rr_rd_count(rr) >= 3) {
		k->key_tag = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		k->algorithm = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
		k->digest_type = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
	} else if (k->type == LDNS_RR_TYPE_DNSKEY &&
	    ldns_rr_rd_count(rr) >= 4) {
		k->flags = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		k->algorithm = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
		k->revoked = (k->flags & LDNS_KEY_REVOKE_KEY) != 0;
		/* the tag it is known by: with the REVOKE bit clear */
		if ((copy = ldns_rr_clone(rr)) == NULL || (plain =
		    ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
		    (uint16_t)(k->flags & ~LDNS_KEY_REVOKE_KEY))) == NULL) {
			ldns_rr_free(copy);
			h->nomem = 1;
			return;
		}
		old = ldns_rr_set_rdf(copy, plain, 0);
		ldns_rdf_deep_free(old);
		k->key_tag = ldns_calc_keytag(copy);
		ldns_rr_free(copy);
	}
	if (k->owner != NULL && strcmp(k->owner, ".") == 0)
		k->known = known_key(k->key_tag, k->algorithm);
	if (k->known != NULL && k->key_tag == KSK2017 && !k->revoked)
		r->root_ksk2017 = 1;
}

static void
anchor_read(struct hctx *h, struct health_report *r)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	ldns_status st;
	ldns_rr *rr;
	int line = 0, errors = 0, guard;
	FILE *fp;

	r->anchor_path = xdup(h, h->anchor);
	if ((fp = fopen(h->anchor, "r")) == NULL) {
		r->anchor_error = xfmt(h, "%s", strerror(errno));
		return;
	}
	r->anchor_readable = 1;
	for (guard = 0; guard < 100000 && !feof(fp); guard++) {
		int before = line;

		rr = NULL;
		st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_OK) {
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS ||
			    ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY)
				add_key(h, r, rr, line);
			ldns_rr_free(rr);
			continue;
		}
		if (st == LDNS_STATUS_SYNTAX_EMPTY ||
		    st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN || (feof(fp) &&
		    line == before))
			continue;
		if (st == LDNS_STATUS_MEM_ERR)
			h->nomem = 1;
		if (errors++ == 0)
			r->anchor_error = xfmt(h, "line %d: %s", line,
			    ldns_get_errorstr_by_id(st));
	}
	if (ferror(fp) && errors++ == 0)
		r->anchor_error = xfmt(h, "read error: %s", strerror(errno));
	fclose(fp);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (errors == 0 && r->key_count == 0)
		r->anchor_error = xdup(h, "no DS or DNSKEY record");
	r->anchor_parses = errors == 0 && r->key_count > 0;
}

/* "DS 20326 (KSK-2017), DNSKEY 38696 (KSK-2024, revoked)" */
static char *
key_list(struct hctx *h, const struct health_report *r, int root_only)
{
	char *s = NULL;
	size_t i;

	for (i = 0; i < r->key_count; i++) {
		const struct health_key *k = &r->keys[i];
		int root = strcmp(S(k->owner), ".") == 0;

		if (root_only && !root)
			continue;
		append(h, &s, ", ", "%s%s%s %u alg %u%s%s%s%s",
		    root ? "" : S(k->owner), root ? "" : " ",
		    k->type == LDNS_RR_TYPE_DS ? "DS" : "DNSKEY",
		    (unsigned)k->key_tag, (unsigned)k->algorithm,
		    k->known != NULL || k->revoked ? " (" : "",
		    S(k->known), k->known != NULL && k->revoked ? ", " : "",
		    k->revoked ? "revoked)" : k->known != NULL ? ")" : "");
	}
	return s;
}

#define ANCHOR_FIX "unbound-anchor -a FILE, or apt-get install " \
	"--reinstall dns-root-data"

/*
 * The trust-anchor step, once the root's validation is known; untested:
 * the upstream passes no DNSSEC records or the root DNSKEY RRset could
 * not be asked for, so a failed validation says nothing of the anchor.
 */
static void
anchor_step(struct hctx *h, struct health_report *r, size_t i,
    int untested)
{
	size_t k, root = 0, root_live = 0, retired = 0, ksk2024 = 0;
	struct health_step *s = &r->steps[i];
	char *keys;

	if (!r->anchor_readable) {
		s->status = HEALTH_FAIL;
		set_step(h, r, i, "cannot read %s: %s: install dns-root-data "
		    "or name a trust anchor file (confSMDANE_TRUST_ANCHOR); "
		    "every DANE delivery is deferred", h->anchor,
		    S(r->anchor_error));
		return;
	}
	if (!r->anchor_parses) {
		s->status = HEALTH_FAIL;
		set_step(h, r, i, "%s: %s: libunbound cannot use this file, "
		    "every DANE delivery is deferred; restore it (%s)",
		    h->anchor, S(r->anchor_error), ANCHOR_FIX);
		return;
	}
	for (k = 0; k < r->key_count; k++) {
		const struct health_key *key = &r->keys[k];

		if (strcmp(S(key->owner), ".") != 0)
			continue;
		root++;
		if (key->revoked)
			continue;
		root_live++;
		if (key->known != NULL && strcmp(key->known, "KSK-2010") == 0)
			retired++;
		if (key->known != NULL && strcmp(key->known, "KSK-2024") == 0)
			ksk2024++;
	}
	keys = key_list(h, r, root > 0);
	if (root == 0) {
		s->status = r->dnssec_works ? HEALTH_WARN : HEALTH_FAIL;
		set_step(h, r, i, "%s holds no key for the root, only %s: "
		    "only names below them can validate; use the root's "
		    "(%s)", h->anchor, S(keys), ANCHOR_FIX);
	} else if (root_live == 0) {
		s->status = HEALTH_FAIL;
		set_step(h, r, i, "%s holds only revoked root keys (%s): "
		    "update it (%s)", h->anchor, S(keys), ANCHOR_FIX);
	} else if (r->root_ksk2017) {
		s->status = HEALTH_OK;
		set_step(h, r, i, "%s holds the root's KSK-2017 (key tag "
		    "20326): %s", h->anchor, S(keys));
	} else if (retired == root_live) {
		s->status = r->dnssec_works ? HEALTH_WARN : HEALTH_FAIL;
		set_step(h, r, i, "%s holds only the retired root KSK-2010 "
		    "(key tag 19036), not KSK-2017 (20326): update it (%s)",
		    h->anchor, ANCHOR_FIX);
	} else if (ksk2024 > 0) {
		s->status = r->dnssec_works ? HEALTH_OK : HEALTH_FAIL;
		set_step(h, r, i, "%s holds the root's KSK-2024 (38696) but "
		    "not KSK-2017 (20326)%s: %s", h->anchor, r->dnssec_works ?
		    ", and the root validates with it" :
		    ", and the root does not validate: add KSK-2017 ("
		    ANCHOR_FIX ")", S(keys));
	} else if (r->dnssec_works) {
		s->status = HEALTH_OK;
		set_step(h, r, i, "%s holds no IANA root key but %s, and the "
		    "root this upstream serves validates with it (a private "
		    "or test root)", h->anchor, S(keys));
	} else if (untested) {
		s->status = HEALTH_WARN;
		set_step(h, r, i, "%s holds no IANA root key (KSK-2017, key "
		    "tag 20326), only %s; whether the root validates with it "
		    "cannot be told without an upstream that passes DNSSEC "
		    "records", h->anchor, S(keys));
	} else {
		s->status = HEALTH_FAIL;
		set_step(h, r, i, "%s holds no IANA root key (KSK-2017, key "
		    "tag 20326), only %s: use /usr/share/dns/root.key (%s)",
		    h->anchor, S(keys), ANCHOR_FIX);
	}
	free(keys);
}

static void
upstream_read(struct hctx *h, struct health_report *r, char **problem,
    enum health_status *st)
{
	char line[512], addr[128], buf[512], *p, *tok;
	uint16_t port;
	FILE *fp;

	*st = HEALTH_OK;
	if (h->upstream != NULL && strcmp(h->upstream,
	    UPSTREAM_RECURSE) == 0) {
		r->upstream_mode = HEALTH_UPSTREAM_RECURSE;
		r->upstream_source = xdup(h, UPSTREAM_RECURSE);
		return;
	}
	if (h->upstream != NULL) {
		r->upstream_mode = HEALTH_UPSTREAM_LIST;
		r->upstream_source = xdup(h, h->upstream);
		snprintf(buf, sizeof(buf), "%s", h->upstream);
		for (p = buf; (tok = strsep(&p, " \t,")) != NULL;) {
			if (*tok == '\0')
				continue;
			push_str(h, &r->upstreams, &r->upstream_count,
			    xdup(h, tok));
			if (!split_addr(tok, addr, sizeof(addr), &port) &&
			    *st == HEALTH_OK) {
				*st = HEALTH_FAIL;
				*problem = xfmt(h, "\"%s\" is not an address: "
				    "the upstream (confSMDANE_UPSTREAM) takes "
				    "addresses, addr@port, or recurse", tok);
			}
		}
		if (r->upstream_count == 0) {
			*st = HEALTH_FAIL;
			*problem = xdup(h, "the upstream names no address");
		}
		return;
	}
	r->upstream_mode = HEALTH_UPSTREAM_RESOLV_CONF;
	r->upstream_source = xdup(h, h->resolv_conf);
	if ((fp = fopen(h->resolv_conf, "r")) == NULL) {
		*st = HEALTH_FAIL;
		*problem = xfmt(h, "cannot read %s: %s: fix it, or name the "
		    "upstream (confSMDANE_UPSTREAM)", h->resolv_conf,
		    strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, " nameserver %127s", addr) == 1)
			push_str(h, &r->upstreams, &r->upstream_count,
			    xdup(h, addr));
	fclose(fp);
	if (r->upstream_count == 0) {
		/* libunbound, like the stub resolver, then asks 127.0.0.1 */
		push_str(h, &r->upstreams, &r->upstream_count,
		    xdup(h, "127.0.0.1"));
		*st = HEALTH_WARN;
		*problem = xfmt(h, "%s names no nameserver: queries go to "
		    "127.0.0.1", h->resolv_conf);
	}
}

#define UPSTREAM_FIX "use a resolver that passes DNSSEC, e.g. a local " \
	"unbound, or confSMDANE_UPSTREAM recurse"

/* Ask one upstream address directly whether it passes DNSSEC records. */
static void
upstream_dnssec(struct hctx *h, struct health_report *r, const char *spec,
    const char *ds_name)
{
	char addr[128], rb[32];
	ldns_rdf *root = NULL, *dsn = NULL;
	struct dq d;
	uint16_t port;
	int sig_ds, sig_deny;

	if (!split_addr(spec, addr, sizeof(addr), &port)) {
		STEP("upstream-dnssec", spec, HEALTH_FAIL, "%s is not an "
		    "address", spec);
		return;
	}
	if (ldns_str2rdf_dname(&root, ".") != LDNS_STATUS_OK ||
	    (ds_name != NULL && ldns_str2rdf_dname(&dsn, ds_name) !=
	    LDNS_STATUS_OK)) {
		h->nomem = 1;
		goto out;
	}
	direct_ask(h, addr, port, ".", LDNS_RR_TYPE_DNSKEY,
	    DQ_RD | DQ_CD | DQ_DO, &d);
	if (d.skipped) {
		STEP("upstream-dnssec", spec, HEALTH_SKIP, "upstream %s %s",
		    spec, S(d.why));
	} else if (d.reply == NULL) {
		STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream %s: %s "
		    "to the root DNSKEY query: is a resolver running there?",
		    spec, S(d.why));
	} else if (ldns_pkt_get_rcode(d.reply) != LDNS_RCODE_NOERROR) {
		STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream %s "
		    "answers the root DNSKEY query with %s: " UPSTREAM_FIX,
		    spec, rcode_name(ldns_pkt_get_rcode(d.reply), rb,
		    sizeof(rb)));
	} else if (ldns_pkt_edns_udp_size(d.reply) == 0) {
		STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream %s "
		    "ignores EDNS0 (no OPT record in its reply), so no DNSSEC "
		    "record can pass: " UPSTREAM_FIX, spec);
	} else if (count_at(d.reply, LDNS_SECTION_ANSWER, root,
	    LDNS_RR_TYPE_DNSKEY) == 0) {
		STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream %s "
		    "returns no root DNSKEY RRset: " UPSTREAM_FIX, spec);
	} else if (rrsigs(d.reply, LDNS_SECTION_ANSWER, root,
	    LDNS_RR_TYPE_DNSKEY, NULL) == 0) {
		STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream %s "
		    "strips RRSIG records: " UPSTREAM_FIX, spec);
	} else if (ds_name == NULL) {
		STEP("upstream-dnssec", spec, HEALTH_OK, "upstream %s "
		    "passes DNSSEC records (the root DNSKEY RRset with its "
		    "RRSIGs; DS not asked: no signed delegation from the root "
		    "found)%s", spec, d.tcp ? ", over TCP" : "");
	} else {
		dq_free(&d);
		direct_ask(h, addr, port, ds_name, LDNS_RR_TYPE_DS,
		    DQ_RD | DQ_CD | DQ_DO, &d);
		sig_ds = d.reply != NULL && rrsigs(d.reply,
		    LDNS_SECTION_ANSWER, dsn, LDNS_RR_TYPE_DS, NULL) > 0;
		sig_deny = d.reply != NULL && (rrsigs(d.reply,
		    LDNS_SECTION_AUTHORITY, NULL, LDNS_RR_TYPE_NSEC,
		    NULL) > 0 || rrsigs(d.reply, LDNS_SECTION_AUTHORITY, NULL,
		    LDNS_RR_TYPE_NSEC3, NULL) > 0);
		if (d.skipped)
			STEP("upstream-dnssec", spec, HEALTH_SKIP, "upstream "
			    "%s passes the root DNSKEY RRset with its RRSIGs; "
			    "DS %s", spec, S(d.why));
		else if (d.reply == NULL)
			STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream "
			    "%s passes the root DNSKEY RRset with its RRSIGs, "
			    "but %s to a DS query (%s DS): " UPSTREAM_FIX, spec,
			    S(d.why), ds_name);
		else if (!sig_ds && !sig_deny)
			STEP("upstream-dnssec", spec, HEALTH_FAIL, "upstream "
			    "%s answers DS queries without RRSIG or signed "
			    "denial (%s DS: %s): " UPSTREAM_FIX, spec, ds_name,
			    rcode_name(ldns_pkt_get_rcode(d.reply), rb,
			    sizeof(rb)));
		else
			STEP("upstream-dnssec", spec, HEALTH_OK, "upstream "
			    "%s passes DNSSEC records (root DNSKEY RRset and "
			    "%s DS %s, with RRSIGs)%s", spec, ds_name, sig_ds ?
			    "RRset" : "denial", d.tcp ? ", over TCP" : "");
	}
	dq_free(&d);
out:
	ldns_rdf_deep_free(root);
	ldns_rdf_deep_free(dsn);
}

#define DS_HOPS 4

/*
 * A signed delegation from the root, for the DS checks: the name after
 * the apex in the root zone's NSEC chain ("aaa" in the IANA root), or,
 * while the DS query for it is denied, the next name of the NSEC record
 * in the denial (the root's, at that name), at most DS_HOPS names; the
 * last name asked when none has a DS RRset; NULL when the root's NSEC
 * RRset is not available.
 */
static char *
ds_probe_name(struct hctx *h)
{
	char *name = NULL, *next;
	ldns_rdf *q = NULL;
	ldns_rr_list *l2;
	struct ulook l;
	size_t i;
	int hop;

	for (hop = 0; hop <= DS_HOPS; hop++) {
		ldns_rr_type t = hop == 0 ? LDNS_RR_TYPE_NSEC : LDNS_RR_TYPE_DS;

		if (ldns_str2rdf_dname(&q, hop == 0 ? "." : name) !=
		    LDNS_STATUS_OK) {
			h->nomem = 1;
			break;
		}
		ub_ask(h, hop == 0 ? "." : name, t, &l);
		if (hop > 0 && count_at(l.pkt, LDNS_SECTION_ANSWER, q, t) > 0) {
			ulook_free(&l);
			ldns_rdf_deep_free(q);
			return name;	/* a DS RRset */
		}
		/* the root's NSEC at the name: in the answer, or the denial */
		l2 = l.pkt == NULL ? NULL : hop == 0 ? ldns_pkt_answer(l.pkt) :
		    ldns_pkt_authority(l.pkt);
		next = NULL;
		for (i = 0; l2 != NULL && i < ldns_rr_list_rr_count(l2); i++) {
			ldns_rr *rr = ldns_rr_list_rr(l2, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC &&
			    owned_by(rr, q) && ldns_rr_rd_count(rr) > 0 &&
			    ldns_dname_label_count(ldns_rr_rdf(rr, 0)) > 0) {
				next = rdf_name(h, ldns_rr_rdf(rr, 0));
				break;
			}
		}
		ulook_free(&l);
		ldns_rdf_deep_free(q);
		q = NULL;
		if (next == NULL || hop == DS_HOPS) {
			free(next);
			break;	/* the end of the chain, or no NSEC */
		}
		free(name);
		name = next;
	}
	return name;
}

/*
 * One "validate" step; returns 1 when the answer validated secure, 0
 * when it did not, -1 when there was no answer to tell.
 */
static int
validate(struct hctx *h, struct health_report *r, const char *name,
    ldns_rr_type type)
{
	enum dane_answer ans;
	enum dane_dnssec sec;
	char subj[300], tb[16];
	ldns_rdf *q = NULL;
	struct ulook l;
	int ok = 0;

	snprintf(subj, sizeof(subj), "%s/%s", name, type_name(type, tb,
	    sizeof(tb)));
	if (ldns_str2rdf_dname(&q, name) != LDNS_STATUS_OK) {
		STEP("validate", subj, HEALTH_FAIL, "%s is not a domain name",
		    name);
		return 0;
	}
	ub_ask(h, name, type, &l);
	ulook_class(&l, q, type, &ans, &sec);
	if (sec == DANE_DNSSEC_SECURE && (ans == DANE_ANSWER_FOUND ||
	    type == LDNS_RR_TYPE_DS)) {
		ok = 1;
		STEP("validate", subj, HEALTH_OK, "%s %s validates secure",
		    subj, ans == DANE_ANSWER_FOUND ? "RRset" : "denial");
	} else if (sec == DANE_DNSSEC_SECURE) {
		STEP("validate", subj, HEALTH_FAIL, "%s: a secure denial, "
		    "want records", subj);
	} else if (sec == DANE_DNSSEC_INSECURE) {
		STEP("validate", subj, HEALTH_FAIL, "%s is insecure, not "
		    "validated: the trust anchor covers no key of the root",
		    subj);
	} else if (l.bogus) {
		STEP("validate", subj, HEALTH_FAIL, "%s does not validate: "
		    "%s", subj, S(l.why));
	} else {
		ok = -1;
		STEP("validate", subj, l.skipped ? HEALTH_SKIP : HEALTH_FAIL,
		    "%s: %s", subj, l.why != NULL ? l.why : "lookup failed");
	}
	ulook_free(&l);
	ldns_rdf_deep_free(q);
	return ok;
}

/* bogus_name, "name" or "name/TYPE" (default A), must fail validation */
static void
bogus_check(struct hctx *h, struct health_report *r, const char *spec)
{
	char name[300], subj[320];
	const char *slash = strrchr(spec, '/');
	ldns_rr_type type = LDNS_RR_TYPE_A;
	struct ulook l;

	snprintf(name, sizeof(name), "%.*s", slash != NULL ?
	    (int)(slash - spec) : (int)strlen(spec), spec);
	if (slash != NULL && (type = ldns_get_rr_type_by_name(slash + 1)) ==
	    0) {
		STEP("validate", spec, HEALTH_FAIL, "%s: unknown type %s",
		    spec, slash + 1);
		return;
	}
	snprintf(subj, sizeof(subj), "%s/%s", name, slash != NULL ?
	    slash + 1 : "A");
	ub_ask(h, name, type, &l);
	if (l.bogus)
		STEP("validate", subj, HEALTH_OK, "%s fails validation, as "
		    "it must: %s", subj, S(l.why));
	else if (l.ok && l.rcode != LDNS_RCODE_SERVFAIL)
		STEP("validate", subj, HEALTH_FAIL, "%s was accepted (%s), "
		    "but is signed wrongly: validation does not work", subj,
		    l.secure ? "secure" : "insecure");
	else
		STEP("validate", subj, l.skipped ? HEALTH_SKIP : HEALTH_WARN,
		    "%s: %s: cannot tell whether validation rejects it", subj,
		    l.why != NULL ? l.why : "no answer");
	ulook_free(&l);
}

/* libdane's lines, kept for the libdane step's reason. */
struct captured {
	char *err;
	struct hctx *h;
};

static void
capture(void *arg, int prio, const char *line)
{
	struct captured *c = arg;

	if (prio <= LOG_ERR && c->err == NULL)
		c->err = xdup(c->h, line);
}

static void
libdane_step(struct hctx *h, struct health_report *r)
{
	struct dane_resolver_config rc = *h->rc;
	struct captured cap = { NULL, h };
	struct dane_facts *f = NULL;
	struct dane_ctx *c = NULL;
	enum dane_result e;

	unsigned left = wait_ms(h) > 0 ? (unsigned)(h->deadline - now_ms()) :
	    0;

	rc.log_fn = capture;
	rc.log_arg = &cap;
	rc.verbosity = 0;
	/* libdane's own budget, within what is left of ours */
	if (rc.timeout_ms == 0)
		rc.timeout_ms = 15000;
	if (left < h->timeout_ms)
		left = h->timeout_ms;
	if (rc.timeout_ms > left)
		rc.timeout_ms = left;
	if ((e = dane_ctx_new(&rc, &c)) != DANE_OK) {
		if (e == DANE_ERR_NOMEM)
			h->nomem = 1;
		STEP("libdane", "", HEALTH_FAIL, "libdane cannot set up its "
		    "resolver (%s): every DANE delivery is deferred",
		    cap.err != NULL ? cap.err : dane_strerror(e));
		goto out;
	}
	/* "invalid" (RFC 6761): one MX query the root denies */
	if ((e = dane_gather(c, "invalid", "invalid", 25, &f)) != DANE_OK) {
		if (e == DANE_ERR_NOMEM)
			h->nomem = 1;
		STEP("libdane", "", HEALTH_FAIL, "libdane: %s",
		    cap.err != NULL ? cap.err : dane_strerror(e));
	} else if (f->dnssec_unavailable)
		STEP("libdane", "", HEALTH_FAIL, "libdane's root DNSKEY probe "
		    "fails (%s): DNSSEC unavailable, mail through DANE mailers "
		    "is deferred (or, with confSMDANE_NO_DNSSEC opportunistic, "
		    "sent without DANE)", f->fail_why);
	else
		STEP("libdane", "", HEALTH_OK, "libdane's root DNSKEY probe "
		    "passes: the sendmail module can apply DANE");
out:
	free(cap.err);
	dane_facts_free(f);
	dane_ctx_free(c);
}

enum dane_result
health_check(const struct dane_resolver_config *rc, struct health_report *out)
{
	return health_check_opt(rc, NULL, out);
}

/* Where a step goes in the report, whenever it was made. */
static int
step_rank(const char *id)
{
	static const char *const order[] = { "libunbound", "trust-anchor",
	    "upstream", "upstream-dnssec", "validate", "libdane" };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(S(id), order[i]) == 0)
			return (int)i;
	return (int)i;
}

static void
order_steps(struct health_report *r)
{
	struct health_step t;
	size_t i, j;

	/* insertion sort: stable, and there are a dozen steps */
	for (i = 1; i < r->step_count; i++) {
		t = r->steps[i];
		for (j = i; j > 0 && step_rank(r->steps[j - 1].id) >
		    step_rank(t.id); j--)
			r->steps[j] = r->steps[j - 1];
		r->steps[j] = t;
	}
}

enum dane_result
health_check_opt(const struct dane_resolver_config *rc,
    const struct health_options *opt, struct health_report *out)
{
	struct health_report *r = out;
	enum health_status ust;
	char *problem = NULL, *ds_name = NULL, *list = NULL;
	struct hctx hh, *h = &hh;
	size_t i, k, anchor_at, first_up, last_up, first_val, nkind = 0;
	int up_bad = 0, validating, root = -1, kind[3];

	if (out == NULL)
		return DANE_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	hctx_init(h, rc, opt);
	r->unbound_version = xdup(h, ub_version());
	STEP("libunbound", "", HEALTH_OK, "libunbound %s", ub_version());

	anchor_read(h, r);
	anchor_at = r->step_count;
	(void)add_step(h, r, "trust-anchor", h->anchor);

	upstream_read(h, r, &problem, &ust);
	for (i = 0; i < r->upstream_count; i++)
		append(h, &list, " ", "%s", r->upstreams[i]);
	if (ust != HEALTH_OK)
		STEP("upstream", r->upstream_source, ust, "%s", S(problem));
	else if (r->upstream_mode == HEALTH_UPSTREAM_RECURSE)
		STEP("upstream", r->upstream_source, HEALTH_OK, "recursion: "
		    "libunbound asks the root and the authoritative servers "
		    "itself (outbound DNS to the Internet needed)");
	else if (r->upstream_mode == HEALTH_UPSTREAM_LIST)
		STEP("upstream", r->upstream_source, HEALTH_OK, "forwarding "
		    "to %s (the configured upstream)", S(list));
	else
		STEP("upstream", r->upstream_source, HEALTH_OK, "forwarding "
		    "to the nameservers of %s: %s", h->resolv_conf, S(list));
	free(problem);
	free(list);

	/* the root first: later lookups would fail on its failure */
	ub_make(h);
	validating = r->anchor_parses && h->ub != NULL;
	first_val = r->step_count;
	if (!r->anchor_parses)
		STEP("validate", "./DNSKEY", HEALTH_FAIL, "not attempted: the "
		    "trust anchor %s is unusable (see trust-anchor)",
		    h->anchor);
	else if (h->ub == NULL)
		STEP("validate", "./DNSKEY", HEALTH_FAIL, "not attempted: %s",
		    S(h->ub_error));
	else {
		kind[nkind++] = root = validate(h, r, ".",
		    LDNS_RR_TYPE_DNSKEY);
		r->dnssec_works = root == 1;
		kind[nkind++] = validate(h, r, ".", LDNS_RR_TYPE_SOA);
	}
	ds_name = ds_probe_name(h);

	first_up = r->step_count;
	if (r->upstream_mode == HEALTH_UPSTREAM_RECURSE)
		STEP("upstream-dnssec", "", HEALTH_SKIP, "recursion: no "
		    "upstream to pass DNSSEC records");
	else
		for (i = 0; i < r->upstream_count; i++)
			upstream_dnssec(h, r, r->upstreams[i], ds_name);
	last_up = r->step_count;
	for (i = first_up; i < last_up; i++)
		up_bad |= r->steps[i].status == HEALTH_FAIL;

	if (validating && ds_name != NULL)
		kind[nkind++] = validate(h, r, ds_name, LDNS_RR_TYPE_DS);
	else if (validating)
		STEP("validate", "DS", HEALTH_SKIP, "no DS asked for: no "
		    "signed delegation from the root found (its NSEC RRset)");
	/* what a failed validation most likely comes from */
	for (i = first_val, k = 0; validating && k < nkind &&
	    i < r->step_count; i++) {
		if (strcmp(S(r->steps[i].id), "validate") != 0)
			continue;
		if (r->steps[i].status == HEALTH_FAIL)
			append(h, &r->steps[i].reason, "; ", "%s", up_bad ?
			    "see upstream-dnssec" : kind[k] >= 0 ?
			    "check the trust anchor (see trust-anchor) and the "
			    "upstream" : r->upstream_mode ==
			    HEALTH_UPSTREAM_RECURSE ? "can this host reach "
			    "the root and authoritative servers (outbound DNS, "
			    "port 53)?" : "does the upstream answer? (see "
			    "upstream)");
		k++;
	}
	if (validating && h->bogus_name != NULL)
		bogus_check(h, r, h->bogus_name);
	/* without an answer the anchor is untested */
	if (anchor_at < r->step_count)
		anchor_step(h, r, anchor_at, up_bad || root < 0);
	libdane_step(h, r);
	free(ds_name);
	hctx_done(h);
	order_steps(r);

	r->status = HEALTH_SKIP;
	for (i = 0; i < r->step_count; i++)
		r->status = worse(r->status, r->steps[i].status);
	if (h->nomem) {
		health_report_free(r);
		return DANE_ERR_NOMEM;
	}
	return DANE_OK;
}

void
health_report_free(struct health_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->unbound_version);
	free(r->anchor_path);
	free(r->anchor_error);
	for (i = 0; i < r->key_count; i++)
		free(r->keys[i].owner);
	free(r->keys);
	free(r->upstream_source);
	for (i = 0; i < r->upstream_count; i++)
		free(r->upstreams[i]);
	free(r->upstreams);
	for (i = 0; i < r->step_count; i++) {
		free(r->steps[i].id);
		free(r->steps[i].subject);
		free(r->steps[i].reason);
	}
	free(r->steps);
	memset(r, 0, sizeof(*r));
}

/* ---- 2. health_answers() ------------------------------------------------- */

static void
add_answer(struct hctx *h, struct health_answers *a,
    const struct dane_facts *f, const char *what, const char *name,
    const char *expanded, const struct dane_lookup *l, const char *type1,
    const char *type2)
{
	struct health_answer *x;
	char q1[DANE_NAME_MAX + 24], q2[DANE_NAME_MAX + 24];

	if (l->answer == DANE_ANSWER_NOT_QUERIED)
		return;
	if ((x = push(h, &a->items, &a->count, sizeof(*x))) == NULL)
		return;
	x->what = xdup(h, what);
	x->name = xdup(h, name);
	x->expanded = expanded != NULL && *expanded != '\0' ?
	    xdup(h, expanded) : NULL;
	x->answer = l->answer;
	x->dnssec = l->dnssec;
	if (l->answer != DANE_ANSWER_FAILED || f->fail_query[0] == '\0')
		return;
	snprintf(q1, sizeof(q1), "%s/%s", name, type1);
	snprintf(q2, sizeof(q2), "%s/%s", name, S(type2));
	/* the failed query of this RRset (the TLSA one may be at either
	 * base: its name is tlsa_base's) */
	if (strcasecmp(f->fail_query, q1) == 0 || (type2 != NULL &&
	    strcasecmp(f->fail_query, q2) == 0)) {
		x->bogus = f->fail_bogus;
		x->why = xdup(h, f->fail_why);
	}
}

enum dane_result
health_answers(const struct dane_facts *f, struct health_answers *out)
{
	char tlsa[DANE_NAME_MAX + 24];
	struct hctx hh, *h = &hh;

	if (out == NULL)
		return DANE_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (f == NULL)
		return DANE_ERR_INVAL;
	memset(h, 0, sizeof(*h));
	out->dnssec_unavailable = f->dnssec_unavailable;
	if (f->dnssec_unavailable)
		out->unavailable_why = xdup(h, f->fail_why);
	add_answer(h, out, f, "MX", f->nexthop, f->nexthop_expanded, &f->mx,
	    "MX", NULL);
	add_answer(h, out, f, "A/AAAA", f->host, f->host_expanded, &f->addr,
	    "A", "AAAA");
	add_answer(h, out, f, "CNAME", f->host, NULL, &f->host_cname,
	    "CNAME", NULL);
	snprintf(tlsa, sizeof(tlsa), "_%u._tcp.%s", (unsigned)f->port,
	    f->tlsa_base);
	add_answer(h, out, f, "TLSA", tlsa, NULL, &f->tlsa, "TLSA", NULL);
	if (h->nomem) {
		health_answers_free(out);
		return DANE_ERR_NOMEM;
	}
	return DANE_OK;
}

void
health_answers_free(struct health_answers *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->count; i++) {
		free(a->items[i].what);
		free(a->items[i].name);
		free(a->items[i].expanded);
		free(a->items[i].why);
	}
	free(a->items);
	free(a->unavailable_why);
	memset(a, 0, sizeof(*a));
}

/* ---- 3. health_tlsa_consistency() ---------------------------------------- */

static void
rrs_free(struct health_rr *rrs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rrs[i].text);
		free(rrs[i].rdata);
	}
	free(rrs);
}

static int
rr_cmp(const void *a, const void *b)
{
	const struct health_rr *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	/* RFC 4034 section 6.3: octet by octet, the shorter first */
	if (n > 0 && (c = memcmp(x->rdata, y->rdata, n)) != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/*
 * The TLSA and CNAME records at owner in the answer section of pkt, in
 * canonical form and order, without duplicates.
 */
static void
collect_rrs(struct hctx *h, const ldns_pkt *pkt, const ldns_rdf *owner,
    struct health_rr **out, size_t *n)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	ldns_buffer *buf;
	size_t i, j, k;

	if ((buf = ldns_buffer_new(512)) == NULL) {
		h->nomem = 1;
		return;
	}
	for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i), *c;
		ldns_rr_type t = ldns_rr_get_type(rr);
		struct health_rr *x;
		char *text = NULL;

		if ((t != LDNS_RR_TYPE_TLSA && t != LDNS_RR_TYPE_CNAME) ||
		    !owned_by(rr, owner))
			continue;
		if ((c = ldns_rr_clone(rr)) == NULL) {
			h->nomem = 1;
			break;
		}
		ldns_rr2canonical(c);
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, c) != LDNS_STATUS_OK) {
			ldns_rr_free(c);
			h->nomem = 1;
			break;
		}
		for (j = 0; j < ldns_rr_rd_count(c); j++) {
			char *f = ldns_rdf2str(ldns_rr_rdf(c, j));

			if (f == NULL) {
				h->nomem = 1;
				break;
			}
			append(h, &text, " ", "%s", f);
			free(f);
		}
		if ((x = push(h, out, n, sizeof(*x))) != NULL) {
			x->type = (uint16_t)t;
			x->ttl = ldns_rr_ttl(rr);
			x->text = text;
			x->len = ldns_buffer_position(buf);
			text = NULL;
			if ((x->rdata = malloc(x->len > 0 ? x->len : 1)) ==
			    NULL)
				h->nomem = 1;
			else
				memcpy(x->rdata, ldns_buffer_begin(buf),
				    x->len);
		}
		free(text);
		ldns_rr_free(c);
	}
	ldns_buffer_free(buf);
	if (h->nomem || *n == 0)
		return;
	for (i = 0; i < *n; i++)
		if ((*out)[i].rdata == NULL)
			return;
	qsort(*out, *n, sizeof(**out), rr_cmp);
	for (i = 1, k = 1; i < *n; i++) {
		if (rr_cmp(&(*out)[i], &(*out)[k - 1]) == 0) {
			free((*out)[i].text);
			free((*out)[i].rdata);
			continue;
		}
		(*out)[k++] = (*out)[i];
	}
	*n = k;
}

static int
same_rrs(const struct health_rr *a, size_t na, const struct health_rr *b,
    size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (rr_cmp(&a[i], &b[i]) != 0)
			return 0;
	return 1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first upstream address (and port) to forward to; 0 recursing. */
static int
first_upstream(const struct hctx *h, char *addr, size_t size,
    uint16_t *port)
{
	char line[512], spec[256], *p, *tok;
	FILE *fp;
	int found = 0;

	if (h->upstream != NULL && strcmp(h->upstream, UPSTREAM_RECURSE) == 0)
		return 0;
	if (h->upstream != NULL) {
		snprintf(line, sizeof(line), "%s", h->upstream);
		for (p = line; (tok = strsep(&p, " \t,")) != NULL;)
			if (*tok != '\0')
				return split_addr(tok, addr, size, port);
		return 0;
	}
	if ((fp = fopen(h->resolv_conf, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = sscanf(line, " nameserver %255s", spec) == 1;
	fclose(fp);
	return split_addr(found ? spec : "127.0.0.1", addr, size, port);
}

/*
 * name/t through libunbound.  When that fails (bogus, SERVFAIL, no
 * answer) and there is an upstream, it is asked directly with CD=1, so
 * that a zone that does not validate can still be examined: the reply
 * is then unvalidated (*sec BOGUS) and *why says why validation
 * failed.  Returns the reply (the caller frees it), NULL with *ans
 * FAILED when there is none.
 */
static ldns_pkt *
lookup_any(struct hctx *h, const char *name, const ldns_rdf *q,
    ldns_rr_type t, enum dane_answer *ans, enum dane_dnssec *sec,
    char **why)
{
	char addr[128];
	uint16_t port;
	struct ulook l;
	struct dq d;
	ldns_pkt *pkt;
	int rc;

	*why = NULL;
	ub_ask(h, name, t, &l);
	ulook_class(&l, q, t, ans, sec);
	if (*ans != DANE_ANSWER_FAILED) {
		pkt = l.pkt;
		l.pkt = NULL;
		ulook_free(&l);
		return pkt;
	}
	*why = xdup(h, l.why != NULL ? l.why : "failed");
	ulook_free(&l);
	if (!first_upstream(h, addr, sizeof(addr), &port))
		return NULL;
	direct_ask(h, addr, port, name, t, DQ_RD | DQ_CD | DQ_DO, &d);
	pkt = d.reply;
	d.reply = NULL;
	dq_free(&d);
	rc = pkt != NULL ? (int)ldns_pkt_get_rcode(pkt) : -1;
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		ldns_pkt_free(pkt);
		return NULL;
	}
	*ans = count_at(pkt, LDNS_SECTION_ANSWER, q, t) > 0 ?
	    DANE_ANSWER_FOUND : rc == LDNS_RCODE_NXDOMAIN ?
	    DANE_ANSWER_NXDOMAIN : DANE_ANSWER_NODATA;
	*sec = DANE_DNSSEC_BOGUS;
	return pkt;
}

/* The closest enclosing zone of owner and its NS names. */
static void
find_zone(struct hctx *h, struct consistency_report *r)
{
	char name[300], *cut, *why = NULL, *first_why = NULL;
	ldns_pkt *pkt = NULL;
	ldns_rdf *q = NULL;
	enum dane_answer ans;
	enum dane_dnssec sec;
	ldns_rr_list *an;
	size_t i;

	snprintf(name, sizeof(name), "%s", r->owner);
	for (;;) {
		if (ldns_str2rdf_dname(&q, name) != LDNS_STATUS_OK) {
			h->nomem = 1;
			break;
		}
		pkt = lookup_any(h, name, q, LDNS_RR_TYPE_NS, &ans, &sec, &why);
		if (why != NULL && first_why == NULL)
			first_why = xfmt(h, "NS lookup of %s: %s", name, why);
		free(why);
		why = NULL;
		if (ans == DANE_ANSWER_FAILED) {
			r->ns_answer = ans;
			r->ns_dnssec = sec;
			break;
		}
		/* an NS RRset owned by the name itself, not a CNAME's */
		if (ans == DANE_ANSWER_FOUND && count_at(pkt,
		    LDNS_SECTION_ANSWER, q, LDNS_RR_TYPE_NS) > 0) {
			r->ns_answer = ans;
			r->ns_dnssec = first_why != NULL ? DANE_DNSSEC_BOGUS :
			    sec;
			r->zone = xdup(h, name);
			an = ldns_pkt_answer(pkt);
			for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
				ldns_rr *rr = ldns_rr_list_rr(an, i);

				if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
				    owned_by(rr, q) && ldns_rr_rd_count(rr) > 0)
					push_str(h, &r->ns_names, &r->ns_count,
					    rdf_name(h, ldns_rr_rdf(rr, 0)));
			}
			break;
		}
		ldns_pkt_free(pkt);
		pkt = NULL;
		ldns_rdf_deep_free(q);
		q = NULL;
		if (strcmp(name, ".") == 0) {
			append(h, &first_why, "; ", "no NS RRset found up to "
			    "the root");
			break;
		}
		cut = strchr(name, '.');
		if (cut == NULL)
			snprintf(name, sizeof(name), ".");
		else
			memmove(name, cut + 1, strlen(cut + 1) + 1);
	}
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(q);
	if (first_why != NULL && r->zone != NULL)
		r->ns_why = xfmt(h, "%s; the zone and its servers as the "
		    "upstream gives them, unvalidated", first_why);
	else if (first_why != NULL)
		r->ns_why = xdup(h, first_why);
	free(first_why);
	if (r->ns_count > 1)
		qsort(r->ns_names, r->ns_count, sizeof(*r->ns_names), str_cmp);
	/* an NS RRset lists a name once; drop repeats */
	for (i = 1; i < r->ns_count; i++)
		if (strcmp(r->ns_names[i], r->ns_names[i - 1]) == 0) {
			free(r->ns_names[i]);
			memmove(&r->ns_names[i], &r->ns_names[i + 1],
			    (r->ns_count - i - 1) * sizeof(*r->ns_names));
			r->ns_count--;
			i--;
		}
}

static struct health_server *
add_server(struct hctx *h, struct consistency_report *r, const char *name,
    const char *addr)
{
	struct health_server *s;

	if ((s = push(h, &r->servers, &r->server_count, sizeof(*s))) == NULL)
		return NULL;
	s->name = xdup(h, name);
	s->address = xdup(h, addr);
	s->rcode = -1;
	s->state = HEALTH_SERVER_FAILED;
	return s;
}

/* Each NS name's addresses: one server each, up to max_servers. */
static void
find_servers(struct hctx *h, struct consistency_report *r)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A,
	    LDNS_RR_TYPE_AAAA };
	char text[INET6_ADDRSTRLEN], tb[16];
	enum dane_answer ans;
	enum dane_dnssec sec;
	size_t i, j, k, asked = 0;

	for (i = 0; i < r->ns_count; i++) {
		char *why = NULL;
		size_t found = 0;

		for (j = 0; j < 2; j++) {
			char *lwhy = NULL;
			ldns_rdf *q = NULL;
			ldns_rr_list *an;
			ldns_pkt *pkt;

			if (ldns_str2rdf_dname(&q, r->ns_names[i]) !=
			    LDNS_STATUS_OK) {
				append(h, &why, ", ", "not a domain name");
				break;
			}
			/* a zone that does not validate: as the upstream
			 * gives them (lookup_any) */
			pkt = lookup_any(h, r->ns_names[i], q, types[j], &ans,
			    &sec, &lwhy);
			an = pkt != NULL && ans == DANE_ANSWER_FOUND ?
			    ldns_pkt_answer(pkt) : NULL;
			for (k = 0; an != NULL &&
			    k < ldns_rr_list_rr_count(an); k++) {
				ldns_rr *rr = ldns_rr_list_rr(an, k);
				ldns_rdf *a;

				if (ldns_rr_get_type(rr) != types[j] ||
				    ldns_rr_rd_count(rr) < 1)
					continue;
				a = ldns_rr_rdf(rr, 0);
				if (inet_ntop(j == 0 ? AF_INET : AF_INET6,
				    ldns_rdf_data(a), text,
				    sizeof(text)) == NULL)
					continue;
				found++;
				if (asked >= h->max_servers) {
					push_str(h, &r->omitted,
					    &r->omitted_count, xfmt(h, "%s %s",
					    r->ns_names[i], text));
					continue;
				}
				asked++;
				(void)add_server(h, r, r->ns_names[i], text);
			}
			append(h, &why, ", ", "%s: %s", type_name(types[j], tb,
			    sizeof(tb)), ans == DANE_ANSWER_FOUND ? "found" :
			    ans == DANE_ANSWER_NXDOMAIN ? "NXDOMAIN" :
			    ans == DANE_ANSWER_NODATA ? "NODATA" :
			    lwhy != NULL ? lwhy : "failed");
			free(lwhy);
			ldns_pkt_free(pkt);
			ldns_rdf_deep_free(q);
		}
		if (found == 0) {
			struct health_server *s = add_server(h, r,
			    r->ns_names[i], NULL);

			if (s != NULL)
				s->why = xfmt(h, "no address (%s)", S(why));
		}
		free(why);
	}
}

/* The zone's DNSKEY RRset when it validates secure, else NULL. */
static ldns_rr_list *
zone_keys(struct hctx *h, const char *zone, const ldns_rdf *z)
{
	ldns_rr_list *keys = NULL, *an;
	enum dane_answer ans;
	enum dane_dnssec sec;
	struct ulook l;
	size_t i;

	ub_ask(h, zone, LDNS_RR_TYPE_DNSKEY, &l);
	ulook_class(&l, z, LDNS_RR_TYPE_DNSKEY, &ans, &sec);
	if (ans == DANE_ANSWER_FOUND && sec == DANE_DNSSEC_SECURE &&
	    (keys = ldns_rr_list_new()) == NULL)
		h->nomem = 1;
	an = keys != NULL ? ldns_pkt_answer(l.pkt) : NULL;
	for (i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i), *c;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY ||
		    !owned_by(rr, z))
			continue;
		if ((c = ldns_rr_clone(rr)) == NULL ||
		    !ldns_rr_list_push_rr(keys, c)) {
			ldns_rr_free(c);
			h->nomem = 1;
		}
	}
	ulook_free(&l);
	return keys;
}

/* Do the RRSIGs over the RRset of type t at owner verify with keys? */
static void
verify_rrset(struct hctx *h, struct health_server *s, const ldns_pkt *pkt,
    const ldns_rdf *owner, ldns_rr_type t, const ldns_rr_list *keys)
{
	ldns_rr_list *set, *sigs, *an = ldns_pkt_answer(pkt);
	ldns_status st;
	size_t i;

	s->rrsig_verified = -1;
	if (keys == NULL)
		return;
	set = ldns_rr_list_new();
	sigs = ldns_rr_list_new();
	for (i = 0; set != NULL && sigs != NULL &&
	    i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i), *c;
		ldns_rr_type rt = ldns_rr_get_type(rr);
		ldns_rdf *cov;

		if (!owned_by(rr, owner) || (rt != t &&
		    (rt != LDNS_RR_TYPE_RRSIG || (cov =
		    ldns_rr_rrsig_typecovered(rr)) == NULL ||
		    ldns_rdf2rr_type(cov) != t)))
			continue;
		if ((c = ldns_rr_clone(rr)) == NULL ||
		    !ldns_rr_list_push_rr(rt == t ? set : sigs, c)) {
			ldns_rr_free(c);
			h->nomem = 1;
		}
	}
	if (set == NULL || sigs == NULL)
		h->nomem = 1;
	else if (ldns_rr_list_rr_count(set) > 0 &&
	    ldns_rr_list_rr_count(sigs) > 0) {
		st = ldns_verify(set, sigs, keys, NULL);
		s->rrsig_verified = st == LDNS_STATUS_OK;
		if (st != LDNS_STATUS_OK)
			s->rrsig_why = xdup(h, ldns_get_errorstr_by_id(st));
	}
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
}

static void
ask_server(struct hctx *h, struct consistency_report *r,
    struct health_server *s, const ldns_rdf *owner, const ldns_rdf *zone,
    const ldns_rr_list *keys)
{
	char rb[32];
	struct dq d;
	ldns_rr_list *an;
	size_t i;
	int expired = 0;

	direct_ask(h, s->address, h->port, r->owner, LDNS_RR_TYPE_TLSA,
	    DQ_DO, &d);
	s->ms = d.ms;
	s->tcp = d.tcp;
	if (d.reply == NULL) {
		s->state = d.skipped ? HEALTH_SERVER_SKIPPED :
		    HEALTH_SERVER_FAILED;
		s->why = d.why;
		d.why = NULL;
		dq_free(&d);
		return;
	}
	s->rcode = ldns_pkt_get_rcode(d.reply);
	if (s->rcode == LDNS_RCODE_REFUSED || s->rcode == LDNS_RCODE_NOTAUTH) {
		s->state = HEALTH_SERVER_LAME;
		s->why = xfmt(h, "%s: the server does not serve %s",
		    rcode_name(s->rcode, rb, sizeof(rb)), S(r->zone));
	} else if (s->rcode != LDNS_RCODE_NOERROR &&
	    s->rcode != LDNS_RCODE_NXDOMAIN) {
		s->state = HEALTH_SERVER_FAILED;
		s->why = xdup(h, rcode_name(s->rcode, rb, sizeof(rb)));
	} else if (!ldns_pkt_aa(d.reply)) {
		s->state = HEALTH_SERVER_LAME;
		s->why = xfmt(h, "%s", ldns_pkt_ancount(d.reply) == 0 &&
		    ldns_pkt_nscount(d.reply) > 0 ? "a referral, not an "
		    "answer: the server does not serve the zone (lame "
		    "delegation)" : "AA bit clear: not an authoritative "
		    "answer");
	} else {
		s->state = HEALTH_SERVER_ANSWERED;
		s->rrsig_verified = -1;
		collect_rrs(h, d.reply, owner, &s->rrs, &s->rr_count);
		if (s->rr_count > 0) {
			ldns_rr_type t = LDNS_RR_TYPE_TLSA;

			s->rrsig_count = rrsigs(d.reply, LDNS_SECTION_ANSWER,
			    owner, t, &expired);
			if (s->rrsig_count == 0) {
				t = LDNS_RR_TYPE_CNAME;
				s->rrsig_count = rrsigs(d.reply,
				    LDNS_SECTION_ANSWER, owner, t, &expired);
			}
			verify_rrset(h, s, d.reply, owner, t, keys);
		} else
			s->rrsig_count = rrsigs(d.reply,
			    LDNS_SECTION_AUTHORITY, NULL, 0, &expired);
		s->rrsig_expired = expired;
	}
	dq_free(&d);
	if (s->state != HEALTH_SERVER_ANSWERED)
		return;
	direct_ask(h, s->address, h->port, r->zone, LDNS_RR_TYPE_SOA, 0, &d);
	an = d.reply != NULL && ldns_pkt_aa(d.reply) ?
	    ldns_pkt_answer(d.reply) : NULL;
	for (i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    owned_by(rr, zone) && ldns_rr_rd_count(rr) >= 3) {
			s->has_serial = 1;
			s->serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
			break;
		}
	}
	dq_free(&d);
}

/* "2 records" / "no TLSA records" / "1 record (a CNAME)" */
static char *
rrset_text(struct hctx *h, const struct health_rr *rrs, size_t n)
{
	char *s = NULL;
	size_t i;

	if (n == 0)
		return xdup(h, "no TLSA records");
	for (i = 0; i < n; i++)
		append(h, &s, "; ", "%s%s", rrs[i].type == LDNS_RR_TYPE_CNAME ?
		    "CNAME " : "", S(rrs[i].text));
	return s;
}

/* Group the answering servers' RRsets into variants; 0 the reference. */
static void
compare(struct hctx *h, struct consistency_report *r, int have_ref)
{
	size_t i, j, best = 0, best_n = 0, *count, ref = (size_t)-1, nv = 0;
	size_t *first;

	if (r->server_count == 0)
		return;
	first = calloc(r->server_count, sizeof(*first));
	count = calloc(r->server_count, sizeof(*count));
	if (first == NULL || count == NULL) {
		h->nomem = 1;
		goto out;
	}
	/* raw variants by first appearance */
	for (i = 0; i < r->server_count; i++) {
		struct health_server *s = &r->servers[i];

		if (s->state != HEALTH_SERVER_ANSWERED)
			continue;
		for (j = 0; j < nv; j++) {
			struct health_server *t = &r->servers[first[j]];

			if (same_rrs(s->rrs, s->rr_count, t->rrs, t->rr_count))
				break;
		}
		if (j == nv)
			first[nv++] = i;
		s->variant = j;
		count[j]++;
	}
	r->variants = nv;
	if (nv == 0)
		goto out;
	for (j = 0; j < nv; j++) {
		struct health_server *t = &r->servers[first[j]];

		if (have_ref && ref == (size_t)-1 && same_rrs(t->rrs,
		    t->rr_count, r->rrs, r->rr_count))
			ref = j;
		if (count[j] > best_n) {
			best = j;
			best_n = count[j];
		}
	}
	r->matches_validated = !have_ref ? -1 : ref != (size_t)-1;
	if (ref == (size_t)-1)
		ref = best;
	/* renumber: ref becomes 0, the others keep their order */
	for (i = 0; i < r->server_count; i++) {
		struct health_server *s = &r->servers[i];

		if (s->state != HEALTH_SERVER_ANSWERED)
			continue;
		if (s->variant == ref)
			s->variant = 0;
		else if (s->variant < ref)
			s->variant++;
		s->differs = s->variant != 0;
	}
out:
	free(first);
	free(count);
}

static void
judge(struct hctx *h, struct consistency_report *r)
{
	size_t i, answered = 0, differ = 0;
	enum health_status st = HEALTH_OK;
	char *ref = NULL, *s = NULL;
	int serials = 0, serial_differs = 0, signed_zone = 0;
	uint32_t serial = 0;

	if (r->zone == NULL) {
		r->status = HEALTH_FAIL;
		r->summary = xfmt(h, "the zone of %s was not found: %s",
		    r->owner, r->ns_why != NULL ? r->ns_why :
		    "NS lookups failed");
		return;
	}
	for (i = 0; i < r->server_count; i++) {
		const struct health_server *v = &r->servers[i];

		if (v->state != HEALTH_SERVER_ANSWERED)
			continue;
		answered++;
		differ += v->differs;
		if (v->has_serial) {
			if (serials++ > 0 && v->serial != serial)
				serial_differs = 1;
			serial = v->serial;
		}
	}
	if (r->server_count == 0) {
		r->status = HEALTH_FAIL;
		r->summary = xfmt(h, "zone %s: no NS names", r->zone);
		return;
	}
	/* the reference RRset, for the differing servers' lines */
	for (i = 0; i < r->server_count && ref == NULL; i++)
		if (r->servers[i].state == HEALTH_SERVER_ANSWERED &&
		    r->servers[i].variant == 0)
			ref = rrset_text(h, r->servers[i].rrs,
			    r->servers[i].rr_count);
	if (answered == 0) {
		st = HEALTH_FAIL;
		append(h, &s, "; ", "no server of %s answered for %s%s",
		    r->zone, r->owner, h->port == 53 ? " (is outbound DNS "
		    "to port 53 blocked here?)" : "");
	} else if (differ == 0)
		append(h, &s, "; ", "%zu of %zu server%s of %s answered, all "
		    "%s%s%s%s", answered, r->server_count + r->omitted_count,
		    r->server_count + r->omitted_count == 1 ? "" : "s",
		    r->zone, ref != NULL && strcmp(ref, "no TLSA records") ==
		    0 ? "with no TLSA records" : "with the same TLSA RRset (",
		    ref != NULL && strcmp(ref, "no TLSA records") == 0 ? "" :
		    S(ref), ref != NULL && strcmp(ref, "no TLSA records") ==
		    0 ? "" : ")", r->matches_validated == 1 ?
		    ", as validated" : "");
	for (i = 0; i < r->server_count; i++) {
		const struct health_server *v = &r->servers[i];
		char *mine;

		if (v->state != HEALTH_SERVER_ANSWERED || !v->differs)
			continue;
		st = HEALTH_FAIL;
		mine = rrset_text(h, v->rrs, v->rr_count);
		append(h, &s, "; ", "%s (%s) differs: it serves [%s], not "
		    "[%s] (%s)", S(v->name), S(v->address), S(mine), S(ref),
		    r->matches_validated == 1 ? "the validated RRset" :
		    "what most servers serve");
		free(mine);
	}
	/* signed: the TLSA RRset validates, or some server signs it */
	for (i = 0; i < r->server_count && !signed_zone; i++)
		signed_zone = r->dnssec == DANE_DNSSEC_SECURE ||
		    (r->servers[i].state == HEALTH_SERVER_ANSWERED &&
		    r->servers[i].rrsig_count > 0);
	for (i = 0; i < r->server_count; i++) {
		const struct health_server *v = &r->servers[i];

		if (v->state != HEALTH_SERVER_ANSWERED || !signed_zone ||
		    (v->rrsig_count > 0 && !v->rrsig_expired))
			continue;
		st = HEALTH_FAIL;
		append(h, &s, "; ", "%s (%s) serves the %s %s", S(v->name),
		    S(v->address), v->rr_count > 0 ? "RRset" : "denial",
		    v->rrsig_count == 0 ? "without RRSIG records" :
		    "with expired (or not yet valid) RRSIGs");
	}
	for (i = 0; i < r->server_count; i++) {
		const struct health_server *v = &r->servers[i];

		if (v->state != HEALTH_SERVER_ANSWERED ||
		    v->rrsig_verified != 0 || v->rrsig_expired)
			continue;
		st = HEALTH_FAIL;
		append(h, &s, "; ", "%s (%s) serves RRSIGs that do not verify "
		    "with the zone's DNSKEY RRset (%s)", S(v->name),
		    S(v->address), S(v->rrsig_why));
	}
	if (r->answer == DANE_ANSWER_FAILED) {
		st = worse(st, r->bogus ? HEALTH_FAIL : HEALTH_WARN);
		append(h, &s, "; ", "the TLSA RRset %s: %s", r->bogus ?
		    "does not validate" : "lookup failed", S(r->why));
	}
	if (r->ns_why != NULL) {
		st = worse(st, r->ns_dnssec == DANE_DNSSEC_BOGUS ? HEALTH_FAIL :
		    HEALTH_WARN);
		append(h, &s, "; ", "%s", r->ns_why);
	}
	if (answered > 0 && differ == 0 && r->matches_validated == 0) {
		st = worse(st, HEALTH_WARN);
		append(h, &s, "; ", "the servers agree, but the validated "
		    "answer differs (an older RRset still cached?)");
	}
	for (i = 0; i < r->server_count; i++) {
		const struct health_server *v = &r->servers[i];

		if (v->state == HEALTH_SERVER_ANSWERED || answered == 0)
			continue;
		st = worse(st, HEALTH_WARN);
		append(h, &s, "; ", "%s%s%s%s %s: %s", S(v->name),
		    v->address != NULL ? " (" : "", S(v->address),
		    v->address != NULL ? ")" : "",
		    v->state == HEALTH_SERVER_LAME ? "is lame" :
		    v->state == HEALTH_SERVER_SKIPPED ? "was not asked" :
		    "failed", S(v->why));
	}
	if (r->omitted_count > 0) {
		st = worse(st, HEALTH_WARN);
		append(h, &s, "; ", "%zu more address%s not asked (at most "
		    "%zu)", r->omitted_count, r->omitted_count == 1 ? "" :
		    "es", h->max_servers);
	}
	if (serial_differs) {
		st = worse(st, HEALTH_WARN);
		append(h, &s, "; ", "the SOA serials differ:");
		for (i = 0; i < r->server_count; i++)
			if (r->servers[i].has_serial)
				append(h, &s, " ", "%s %u",
				    S(r->servers[i].name),
				    (unsigned)r->servers[i].serial);
	}
	r->consistent = answered > 0 && differ == 0;
	r->status = st;
	r->summary = s;
	free(ref);
}

enum dane_result
health_tlsa_consistency(const char *owner,
    const struct dane_resolver_config *rc, struct consistency_report *out)
{
	return health_tlsa_consistency_opt(owner, rc, NULL, out);
}

enum dane_result
health_tlsa_consistency_opt(const char *owner,
    const struct dane_resolver_config *rc, const struct health_options *opt,
    struct consistency_report *out)
{
	struct consistency_report *r = out;
	struct hctx hh, *h = &hh;
	ldns_rdf *q = NULL, *z = NULL;
	ldns_rr_list *keys = NULL;
	char name[300];
	struct ulook l;
	size_t i;

	if (out == NULL)
		return DANE_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (!norm_name(owner, name, sizeof(name)) || strcmp(name, ".") == 0)
		return DANE_ERR_INVAL;
	hctx_init(h, rc, opt);
	r->owner = xdup(h, name);
	r->timeout_ms = h->timeout_ms;
	r->port = h->port;
	r->matches_validated = -1;
	r->ns_answer = r->answer = DANE_ANSWER_NOT_QUERIED;
	r->ns_dnssec = r->dnssec = DANE_DNSSEC_BOGUS;
	ub_make(h);
	if (ldns_str2rdf_dname(&q, name) != LDNS_STATUS_OK) {
		h->nomem = 1;
		goto out;
	}
	/* the reference: the RRset a validator gets */
	ub_ask(h, name, LDNS_RR_TYPE_TLSA, &l);
	ulook_class(&l, q, LDNS_RR_TYPE_TLSA, &r->answer, &r->dnssec);
	if (r->answer == DANE_ANSWER_FAILED) {
		r->bogus = l.bogus;
		r->why = xdup(h, l.why != NULL ? l.why : "lookup failed");
	}
	else if (l.pkt != NULL)
		collect_rrs(h, l.pkt, q, &r->rrs, &r->rr_count);
	ulook_free(&l);
	find_zone(h, r);
	if (r->zone != NULL) {
		if (ldns_str2rdf_dname(&z, r->zone) != LDNS_STATUS_OK) {
			h->nomem = 1;
			goto out;
		}
		keys = zone_keys(h, r->zone, z);
		find_servers(h, r);
		for (i = 0; i < r->server_count; i++)
			if (r->servers[i].address != NULL)
				ask_server(h, r, &r->servers[i], q, z, keys);
		compare(h, r, r->answer != DANE_ANSWER_FAILED);
	}
	judge(h, r);
out:
	ldns_rr_list_deep_free(keys);
	ldns_rdf_deep_free(q);
	ldns_rdf_deep_free(z);
	hctx_done(h);
	if (h->nomem) {
		consistency_report_free(r);
		return DANE_ERR_NOMEM;
	}
	return DANE_OK;
}

void
consistency_report_free(struct consistency_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->owner);
	free(r->zone);
	free(r->ns_why);
	for (i = 0; i < r->ns_count; i++)
		free(r->ns_names[i]);
	free(r->ns_names);
	free(r->why);
	rrs_free(r->rrs, r->rr_count);
	for (i = 0; i < r->server_count; i++) {
		free(r->servers[i].name);
		free(r->servers[i].address);
		free(r->servers[i].why);
		free(r->servers[i].rrsig_why);
		rrs_free(r->servers[i].rrs, r->servers[i].rr_count);
	}
	free(r->servers);
	for (i = 0; i < r->omitted_count; i++)
		free(r->omitted[i]);
	free(r->omitted);
	free(r->summary);
	memset(r, 0, sizeof(*r));
}
