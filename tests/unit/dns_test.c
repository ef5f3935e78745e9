/*
 * NAME
 *	dns_test - dane_gather() against a fake upstream with real DNSSEC
 *
 * DESCRIPTION
 *	Each case builds a small DNS tree (fakeup.h): a signed root whose
 *	DS RRset is the trust anchor, signed zones with a DS RRset in
 *	their parent, unsigned zones whose missing DS the parent's NSEC
 *	proves.  The fake upstream serves it on a loopback port the way a
 *	recursive resolver answers a forwarding validator, and misbehaves
 *	on request: wrong IDs, forgeries from another port or for another
 *	question, AD set on unsigned or wrongly signed data, signatures
 *	stripped everywhere, SERVFAIL, truncation, silence, no listener.
 *	libdane validates every answer itself with libunbound; the AD bit
 *	of the upstream counts for nothing.
 *
 *	Every case checks the lookups libdane asked libunbound for, in
 *	order (the root DNSKEY probe and libunbound's DNSKEY and DS
 *	queries left out), recorded where libdane calls
 *	ub_resolve_async(); the queries that must never reach the
 *	upstream; the level, reason, TLSA base domain, reference names
 *	and usable records dane_decide() makes of the facts; that no
 *	forged record ever becomes usable; that the gathering returns
 *	within its DNS time budget; and which LOG_ERR lines were logged.
 *	What reaches the upstream differs from what libdane asks:
 *	libunbound answers from its cache (a CNAME learnt with the A
 *	RRset, NSEC ranges, RFC 8198) and asks for CNAME targets itself.
 *
 *	This proves the lookup rules of RFC 7672 sections 2.1 and 2.2
 *	that a table of facts cannot: CNAME handling (CONFORMANCE items
 *	21-27, 54, 57), no TLSA query for insecure addresses (18), RFC
 *	order (19), stopping early, TCP after truncation (36), and that
 *	DNSSEC state comes from validation, never from the upstream (1).
 *
 *	Out of memory is simulated with a malloc() interposer in this
 *	program: while armed (in the calling thread only), the Nth
 *	allocation made by libdane itself, or by libdane or ldns, and
 *	every later one fail; each N in turn, in a child process.
 *	libunbound's allocations are left alone: it is not ours to fix.
 */
#define _GNU_SOURCE
#include <sys/time.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <ldns/ldns.h>
#include <unbound.h>

#include "dane.h"
#include "fakeup.h"

/* a case names only the fields it needs; the rest are 0 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ZONES_MAX 6
#define FAULTS_MAX 4		/* the last one stays empty: the end */
#define LOG_LEN 8192
#define BUDGET_MS 4000		/* per case unless given */
#define SLACK_MS 1500		/* what a gathering may overrun its budget */

#define TLSA_HEX \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct dcase {
	const char *name;
	const char *item;		/* CONFORMANCE item(s) */
	const char *nexthop, *host;
	struct fu_zone zones[ZONES_MAX];
	const char *asked;		/* expected, blank separated */
	const char *level;
	const char *reason;
	const char *base;		/* NULL: not checked */
	const char *refnames;		/* NULL: not checked */
	int usable;			/* -1: not checked */
	/* rarely needed, given by name */
	struct fu_fault faults[FAULTS_MAX];
	int server;			/* FU_STRIP_ALL, FU_CLOSED */
	const char *absent;		/* never sent; "*": nothing sent */
	const char *sent;		/* appears in what was sent */
	unsigned timeout_ms;		/* 0: BUDGET_MS */
	int downgrade;			/* no_dnssec = OPPORTUNISTIC */
	int logged;			/* a LOG_ERR line names the upstream */
	const char *pause;		/* "name/TYPE": wait before asking */
};

/* ---- what libdane asks libunbound for ------------------------------------ */

static char asked[LOG_LEN];
static const char *pause_before;	/* "name/TYPE" */

#define PAUSE_MS 1100		/* TTL 0 answers are stale after this */

static void
note_asked(const char *name, int type)
{
	const ldns_rr_descriptor *d = ldns_rr_descript((uint16_t)type);
	size_t used = strlen(asked);
	char t[16];

	/* no allocation here: this runs while allocations may fail */
	if (d != NULL && d->_name != NULL)
		snprintf(t, sizeof(t), "%s", d->_name);
	else
		snprintf(t, sizeof(t), "TYPE%d", type);
	snprintf(asked + used, sizeof(asked) - used, "%s%s/%s",
	    used > 0 ? " " : "", name, t);
}

/* This definition takes the place of libunbound's for libdane. */
int
ub_resolve_async(struct ub_ctx *ctx, const char *name, int rrtype,
    int rrclass, void *mydata, ub_callback_type callback, int *async_id)
{
	static int (*next)(struct ub_ctx *, const char *, int, int, void *,
	    ub_callback_type, int *);

	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "ub_resolve_async");
	note_asked(name, rrtype);
	if (pause_before != NULL && strlen(asked) >= strlen(pause_before) &&
	    strcmp(asked + strlen(asked) - strlen(pause_before),
	    pause_before) == 0)
		usleep(PAUSE_MS * 1000);
	return next(ctx, name, rrtype, rrclass, mydata, callback, async_id);
}

int
ub_resolve(struct ub_ctx *ctx, const char *name, int rrtype, int rrclass,
    struct ub_result **result)
{
	static int (*next)(struct ub_ctx *, const char *, int, int,
	    struct ub_result **);

	if (next == NULL)
		*(void **)&next = dlsym(RTLD_NEXT, "ub_resolve");
	note_asked(name, rrtype);
	return next(ctx, name, rrtype, rrclass, result);
}

/* The lookups asked for, without DNSKEY and DS ones. */
static void
asked_lookups(char *out, size_t size)
{
	char copy[LOG_LEN], *cur, *tok;
	size_t used = 0;

	out[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", asked);
	for (cur = copy; (tok = strsep(&cur, " ")) != NULL;) {
		const char *slash = strrchr(tok, '/');

		if (*tok == '\0' || (slash != NULL &&
		    (strcmp(slash, "/DNSKEY") == 0 ||
		    strcmp(slash, "/DS") == 0)))
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s",
		    used > 0 ? " " : "", tok);
		if (used >= size)
			break;
	}
}

/* ---- out of memory on demand --------------------------------------------- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern char __executable_start[], etext[];

/* Whose allocations fail: libdane's own, and those of ldns too. */
enum { OOM_LIBDANE = 1, OOM_LDNS = 2 };

static __thread struct {
	int armed;
	int whose;
	long count, at;
} oom;
static struct {
	uintptr_t lo, hi;
} ldns_text[4];
static int ldns_segs;

static int
find_ldns(struct dl_phdr_info *info, size_t size, void *arg)
{
	int i;

	(void)size;
	(void)arg;
	if (strstr(info->dlpi_name, "libldns") == NULL)
		return 0;
	for (i = 0; i < info->dlpi_phnum && ldns_segs < (int)N(ldns_text);
	    i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD &&
		    (info->dlpi_phdr[i].p_flags & PF_X)) {
			ldns_text[ldns_segs].lo = info->dlpi_addr +
			    info->dlpi_phdr[i].p_vaddr;
			ldns_text[ldns_segs].hi = ldns_text[ldns_segs].lo +
			    info->dlpi_phdr[i].p_memsz;
			ldns_segs++;
		}
	return 1;
}

/* libdane is linked into this program, ldns and libunbound are not. */
static int
oom_counts(const void *caller)
{
	uintptr_t pc = (uintptr_t)caller;
	int i;

	if ((const char *)caller >= __executable_start &&
	    (const char *)caller < etext)
		return 1;
	for (i = 0; (oom.whose & OOM_LDNS) && i < ldns_segs; i++)
		if (pc >= ldns_text[i].lo && pc < ldns_text[i].hi)
			return 1;
	return 0;
}

static int
oom_now(const void *caller)
{
	if (!oom.armed || !oom_counts(caller))
		return 0;
	if (++oom.count < oom.at || oom.at <= 0)
		return 0;
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t size)
{
	return oom_now(__builtin_return_address(0)) ? NULL :
	    __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	return oom_now(__builtin_return_address(0)) ? NULL :
	    __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	return oom_now(__builtin_return_address(0)) ? NULL :
	    __libc_realloc(p, size);
}

char *
strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if (oom_now(__builtin_return_address(0)) ||
	    (p = __libc_malloc(len)) == NULL)
		return NULL;
	return memcpy(p, s, len);
}

/* From now on, allocation `at` (1 is the next) and all later fail. */
static void
oom_arm(int whose, long at)
{
	if (ldns_segs == 0)
		(void)dl_iterate_phdr(find_ldns, NULL);
	oom.count = 0;
	oom.at = at;
	oom.whose = whose;
	oom.armed = 1;
}

/* Disarm; how many allocations were counted. */
static long
oom_disarm(void)
{
	oom.armed = 0;
	return oom.count;
}

/* ---- log lines ----------------------------------------------------------- */

static char logged[LOG_LEN];
static int err_lines;

static void
log_sink(void *arg, int prio, const char *line)
{
	size_t used = strlen(logged);

	(void)arg;
	if (prio <= LOG_ERR)
		err_lines++;
	snprintf(logged + used, sizeof(logged) - used, "%s%s\n",
	    prio <= LOG_ERR ? "ERR " : "", line);
}

static void
log_reset(void)
{
	logged[0] = '\0';
	err_lines = 0;
}

/* ---- running a case ------------------------------------------------------ */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static enum dane_result
ctx_new(struct fakeup *u, unsigned timeout_ms, struct dane_ctx **c)
{
	struct dane_resolver_config rc;

	memset(&rc, 0, sizeof(rc));
	rc.upstream = fu_upstream(u);
	rc.trust_anchor = fu_anchor(u);
	rc.timeout_ms = timeout_ms != 0 ? timeout_ms : BUDGET_MS;
	rc.log_fn = log_sink;
	return dane_ctx_new(&rc, c);
}

static struct dane_ctx *
new_ctx(struct fakeup *u, unsigned timeout_ms)
{
	struct dane_ctx *c = NULL;
	enum dane_result r;

	r = ctx_new(u, timeout_ms, &c);
	cr_assert_eq(r, DANE_OK, "ctx: got %s, want success (%s)",
	    dane_strerror(r), logged);
	return c;
}

static const char *const reason_name[] = {
	"NOT_APPLICABLE", "MX_FAILED", "MX_INSECURE", "HOST_NOT_MX",
	"ADDR_FAILED", "ADDR_INSECURE", "ADDR_NOTFOUND", "TLSA_FAILED",
	"TLSA_INSECURE", "TLSA_NONE", "TLSA_UNUSABLE", "TLSA_USABLE",
	"NEXTHOP_FAILED", "CNAME_FAILED", "CNAME_INSECURE",
	"DNSSEC_UNAVAILABLE"
};

static const char *
reason_of(enum dane_reason r)
{
	return (size_t)r < N(reason_name) ? reason_name[r] : "?";
}

static int
is_attacker(const struct dane_tlsa_rr *rr)
{
	char hex[2 * 32 + 1];
	size_t i;

	if (rr->len != 32)
		return 0;
	for (i = 0; i < rr->len; i++)
		snprintf(hex + 2 * i, 3, "%02x", rr->data[i]);
	return strcmp(hex, FU_ATTACKER_HEX) == 0;
}

/* Is word (a "name/TYPE") among the blank-separated words of list? */
static int
has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)) != NULL; p++)
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == ' ' || p[len] == '\0'))
			return 1;
	return 0;
}

#define EXPECT(what, got, want) do {					\
	if (strcmp((got), (want)) != 0) {				\
		cr_log_error("item %s, %s: %s got \"%s\", want \"%s\"",	\
		    k->item, k->name, (what), (got), (want));		\
		bad++;							\
	}								\
} while (0)

static int
check_sent(const struct dcase *k, struct fakeup *u)
{
	char sent[LOG_LEN], all[LOG_LEN], copy[1024], *cur, *tok;
	int i, bad = 0;

	fu_queries(u, 0, sent, sizeof(sent));
	fu_queries(u, 1, all, sizeof(all));
	if (k->absent != NULL && strcmp(k->absent, "*") == 0)
		EXPECT("sent to the upstream", sent, "");
	else if (k->absent != NULL) {
		snprintf(copy, sizeof(copy), "%s", k->absent);
		for (cur = copy; (tok = strsep(&cur, " ")) != NULL;)
			if (*tok != '\0' && has_word(all, tok)) {
				cr_log_error("item %s, %s: sent got \"%s\", "
				    "want no %s", k->item, k->name, all, tok);
				bad++;
			}
	}
	/* a fault the upstream never had occasion to commit tests nothing */
	for (i = 0; i < FAULTS_MAX && k->faults[i].qname != NULL; i++) {
		snprintf(copy, sizeof(copy), "%s/%s", k->faults[i].qname,
		    k->faults[i].qtype);
		if (!has_word(all, copy)) {
			cr_log_error("item %s, %s: sent got \"%s\", want %s "
			    "(the fault)", k->item, k->name, all, copy);
			bad++;
		}
	}
	if (k->sent != NULL && strstr(sent, k->sent) == NULL) {
		cr_log_error("item %s, %s: sent got \"%s\", want \"%s\" in it",
		    k->item, k->name, sent, k->sent);
		bad++;
	}
	return bad;
}

static int
check_policy(const struct dcase *k, const struct dane_facts *f,
    const struct dane_policy *p)
{
	char names[1024];
	size_t i, used = 0;
	int want, bad = 0;

	EXPECT("level", dane_level_name(p->level), k->level);
	EXPECT("reason", reason_of(p->reason), k->reason);
	if (k->base != NULL)
		EXPECT("base", p->base_domain, k->base);
	names[0] = '\0';
	for (i = 0; i < p->refname_count; i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used,
		    "%s%s", i > 0 ? " " : "", p->refnames[i]);
	if (k->refnames != NULL)
		EXPECT("refnames", names, k->refnames);
	if (k->usable >= 0 && p->usable_count != (size_t)k->usable) {
		cr_log_error("item %s, %s: usable got %zu, want %d", k->item,
		    k->name, p->usable_count, k->usable);
		bad++;
	}
	for (i = 0; i < f->tlsa_count; i++)
		if (is_attacker(&f->tlsa_rrs[i])) {
			cr_log_error("item %s, %s: TLSA got the forged "
			    "record, want only real ones", k->item, k->name);
			bad++;
		}
	want = strcmp(k->reason, "DNSSEC_UNAVAILABLE") == 0;
	if (f->dnssec_unavailable != want) {
		cr_log_error("item %s, %s: dnssec_unavailable got %d, want %d",
		    k->item, k->name, f->dnssec_unavailable, want);
		bad++;
	}
	return bad;
}

static int
check_log(const struct dcase *k, struct fakeup *u)
{
	int bad = 0;

	if (k->logged && (err_lines != 1 ||
	    strstr(logged, fu_upstream(u)) == NULL)) {
		cr_log_error("item %s, %s: log got \"%s\", want one LOG_ERR "
		    "line naming %s", k->item, k->name, logged,
		    fu_upstream(u));
		bad++;
	}
	if (!k->logged && err_lines != 0) {
		cr_log_error("item %s, %s: log got \"%s\", want no LOG_ERR "
		    "line", k->item, k->name, logged);
		bad++;
	}
	return bad;
}

static int
check(const struct dcase *k)
{
	struct dane_settings s;
	struct dane_facts *f = NULL;
	struct dane_policy *p = NULL;
	struct dane_ctx *c;
	struct fakeup *u;
	enum dane_result r;
	char got[LOG_LEN];
	uint64_t start, took, limit;
	int bad = 0;

	log_reset();
	asked[0] = '\0';
	pause_before = k->pause;
	u = fu_start(k->zones, k->faults, k->server);
	c = new_ctx(u, k->timeout_ms);
	start = now_ms();
	r = dane_gather(c, k->nexthop, k->host, 25, &f);
	took = now_ms() - start;
	cr_assert_eq(r, DANE_OK, "item %s, %s: gather got %s, want success",
	    k->item, k->name, dane_strerror(r));
	dane_settings_default(&s);
	if (k->downgrade)
		s.no_dnssec = DANE_NO_DNSSEC_OPPORTUNISTIC;
	cr_assert_eq(dane_decide(&s, f, &p), DANE_OK);
	asked_lookups(got, sizeof(got));
	EXPECT("asked", got, k->asked);
	bad += check_policy(k, f, p);
	bad += check_sent(k, u);
	bad += check_log(k, u);
	limit = (k->timeout_ms != 0 ? k->timeout_ms : BUDGET_MS) + SLACK_MS;
	if (took >= limit) {
		cr_log_error("item %s, %s: gathering took %llu ms, want less "
		    "than %llu", k->item, k->name, (unsigned long long)took,
		    (unsigned long long)limit);
		bad++;
	}
	dane_policy_free(p);
	dane_facts_free(f);
	dane_ctx_free(c);
	fu_stop(u);
	return bad;
}

static int
run(const struct dcase *cases, size_t n)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++)
		bad += check(&cases[i]);
	return bad;
}

#define SIGNED 1
#define UNSIGNED 0
#define TLSA(owner) owner " TLSA 3 1 1 " TLSA_HEX
#define TLSA_X(owner, x) owner " TLSA 3 1 1 " \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd" x
#define TLSA_SHORT(owner) owner " TLSA \\# 3 030101"
/* the owner's RRset does not fit in 1232 bytes */
#define TLSA24(o) TLSA(o) "|" TLSA_X(o, "00") "|" TLSA_X(o, "01") "|" \
	TLSA_X(o, "02") "|" TLSA_X(o, "03") "|" TLSA_X(o, "04") "|" \
	TLSA_X(o, "05") "|" TLSA_X(o, "06") "|" TLSA_X(o, "07") "|" \
	TLSA_X(o, "08") "|" TLSA_X(o, "09") "|" TLSA_X(o, "0a") "|" \
	TLSA_X(o, "0b") "|" TLSA_X(o, "0c") "|" TLSA_X(o, "0d") "|" \
	TLSA_X(o, "0e") "|" TLSA_X(o, "0f") "|" TLSA_X(o, "10") "|" \
	TLSA_X(o, "11") "|" TLSA_X(o, "12") "|" TLSA_X(o, "13") "|" \
	TLSA_X(o, "14") "|" TLSA_X(o, "15") "|" TLSA_X(o, "16")
#define A_MX "mx A 192.0.2.1"
#define CNAME_MX "mx CNAME mail.provider.net."
/* example.com, signed, MX 10 mx.example.com */
#define EXAMPLE(rrs) { "example.com", SIGNED, "@ MX 10 mx|" rrs }
#define PROVIDER(sig, rrs) { "provider.net", sig, "mail A 192.0.2.1|" rrs }
#define Q_MXA "example.com/MX mx.example.com/A mx.example.com/AAAA"
#define T_ORIG "_25._tcp.mx.example.com"
#define T_EXP "_25._tcp.mail.provider.net"

Test(dns, cname_host_rules_of_rfc7672_2_2_2)
{
	static const struct dcase cases[] = {
		{ "secure CNAME: TLSA at the expanded name", "21",
		  "example.com", "mx.example.com",
		  { EXAMPLE(CNAME_MX "|" TLSA("_25._tcp.mx")),
		    PROVIDER(SIGNED, TLSA("_25._tcp.mail")) },
		  Q_MXA " " T_EXP "/TLSA", "dane", "TLSA_USABLE",
		  "mail.provider.net", "mail.provider.net example.com", 1,
		  .absent = T_ORIG "/TLSA" },
		{ "secure CNAME: original name after a clean not-found",
		  "22,55", "example.com", "mx.example.com",
		  { EXAMPLE(CNAME_MX "|" TLSA("_25._tcp.mx")),
		    PROVIDER(SIGNED, "") },
		  Q_MXA " " T_EXP "/TLSA " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com",
		  "mx.example.com example.com", 1 },
		{ "secure CNAME: insecure TLSA at the expansion falls back",
		  "22,31", "example.com", "mx.example.com",
		  { EXAMPLE(CNAME_MX "|" TLSA("_25._tcp.mx")),
		    PROVIDER(SIGNED, ""),
		    { "_tcp.mail.provider.net", UNSIGNED, TLSA("_25") } },
		  Q_MXA " " T_EXP "/TLSA " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com", NULL, 1 },
		{ "secure CNAME: failure at the expansion, no fallback",
		  "23", "example.com", "mx.example.com",
		  { EXAMPLE(CNAME_MX "|" TLSA("_25._tcp.mx")),
		    PROVIDER(SIGNED, TLSA("_25._tcp.mail")) },
		  Q_MXA " " T_EXP "/TLSA", "skip", "TLSA_FAILED",
		  "mail.provider.net", NULL, 0,
		  .faults = { { T_EXP, "TLSA", FU_SERVFAIL } },
		  .absent = T_ORIG "/TLSA" },
		{ "insecure address behind a secure first CNAME", "24,9",
		  "example.com", "mx.example.com",
		  { EXAMPLE(CNAME_MX "|" TLSA("_25._tcp.mx")),
		    PROVIDER(UNSIGNED, TLSA("_25._tcp.mail")) },
		  Q_MXA " mx.example.com/CNAME " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com",
		  "mx.example.com example.com", 1,
		  .absent = T_EXP "/TLSA" },
		{ "first CNAME insecure: no TLSA query", "25,9",
		  "example.com", "mx.lab.example.com",
		  { { "example.com", SIGNED, "@ MX 10 mx.lab" },
		    { "lab.example.com", UNSIGNED,
		      CNAME_MX "|" TLSA("_25._tcp.mx") },
		    PROVIDER(UNSIGNED, TLSA("_25._tcp.mail")) },
		  "example.com/MX mx.lab.example.com/A "
		  "mx.lab.example.com/AAAA mx.lab.example.com/CNAME",
		  "opportunistic", "CNAME_INSECURE", "mx.lab.example.com",
		  NULL, 0,
		  .absent = "_25._tcp.mx.lab.example.com/TLSA " T_EXP "/TLSA" },
		/*
		 * libunbound knows the CNAME from the A lookup; with TTL 0
		 * and a pause it has to ask the upstream again.
		 */
		{ "first CNAME status fails: skip", "25",
		  "example.com", "mx.example.com",
		  { EXAMPLE("mx 0 CNAME mail.provider.net.|"
		      TLSA("_25._tcp.mx")),
		    PROVIDER(UNSIGNED, "") },
		  Q_MXA " mx.example.com/CNAME", "skip", "CNAME_FAILED",
		  NULL, NULL, 0,
		  .faults = { { "mx.example.com", "CNAME", FU_SERVFAIL } },
		  .pause = "mx.example.com/CNAME",
		  .sent = "mx.example.com/CNAME", .absent = T_ORIG "/TLSA" },
		{ "chain a->b->c: TLSA at c then a, never b", "26",
		  "example.com", "mx.example.com",
		  { EXAMPLE("mx CNAME b.provider.net."),
		    { "provider.net", SIGNED, "b CNAME c|c A 192.0.2.1|"
		      TLSA("_25._tcp.b") } },
		  Q_MXA " _25._tcp.c.provider.net/TLSA " T_ORIG "/TLSA",
		  "opportunistic", "TLSA_NONE", "mx.example.com",
		  "mx.example.com example.com", 0,
		  .absent = "_25._tcp.b.provider.net/TLSA" },
		{ "DNAME: the synthesized CNAME is followed", "10,21",
		  "example.org", "mx.example.org",
		  { { "example.org", SIGNED,
		      "@ MX 10 mx|@ DNAME example.net." },
		    { "example.net", SIGNED, "mx A 192.0.2.1|"
		      TLSA("_25._tcp.mx") } },
		  "example.org/MX mx.example.org/A mx.example.org/AAAA "
		  "_25._tcp.mx.example.net/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.net", "mx.example.net example.org", 1 },
		{ "insecure address without CNAME: no TLSA query", "18,19",
		  "example.com", "mx.example.com",
		  { EXAMPLE(""),
		    { "mx.example.com", UNSIGNED, "@ A 192.0.2.1|"
		      TLSA("_25._tcp") } },
		  Q_MXA, "opportunistic", "ADDR_INSECURE", "mx.example.com",
		  NULL, 0, .absent = T_ORIG "/TLSA" },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

Test(dns, next_hop_names_and_destinations)
{
	static const struct dcase cases[] = {
		{ "next hop is a CNAME chain: ends are reference ids",
		  "12,54", "exchange.example.org", "mx.example.com",
		  { { "example.org", SIGNED,
		      "exchange CNAME mail|mail CNAME example.com." },
		    EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) },
		  "exchange.example.org/MX mx.example.com/A "
		  "mx.example.com/AAAA " T_ORIG "/TLSA", "dane",
		  "TLSA_USABLE", "mx.example.com",
		  "mx.example.com exchange.example.org example.com", 1 },
		{ "implicit MX, next hop a secure CNAME", "27,57",
		  "example.com", "example.com",
		  { { "com", SIGNED, "example CNAME target.example.net." },
		    { "example.net", SIGNED, "target A 192.0.2.1|"
		      TLSA("_25._tcp.target") } },
		  "example.com/MX example.com/A example.com/AAAA "
		  "_25._tcp.target.example.net/TLSA", "dane", "TLSA_USABLE",
		  "target.example.net", "target.example.net example.com", 1 },
		{ "MX lookup fails: defer, nothing else asked", "4",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX) },
		  "example.com/MX", "defer", "MX_FAILED", NULL, NULL, 0,
		  .faults = { { "example.com", "MX", FU_SERVFAIL } },
		  .absent = "mx.example.com/A mx.example.com/AAAA" },
		{ "MX names an IP address: DANE does not apply", "17",
		  "example.com", "192.0.2.1",
		  { { "example.com", SIGNED, "@ MX 10 192.0.2.1." } },
		  "example.com/MX", "opportunistic", "NOT_APPLICABLE", NULL,
		  NULL, 0, .absent = "192.0.2.1/A" },
		{ "address-literal next hop: no lookup at all", "29",
		  "[192.0.2.1]", "192.0.2.1", { EXAMPLE(A_MX) }, "",
		  "opportunistic", "NOT_APPLICABLE", NULL, NULL, 0,
		  .absent = "*" },
		{ "relay: no MX lookup, relay name is the base", "28",
		  "[relay.example.net]", NULL,
		  { { "example.net", SIGNED, "relay A 192.0.2.1|"
		      TLSA("_25._tcp.relay") } },
		  "relay.example.net/A relay.example.net/AAAA "
		  "_25._tcp.relay.example.net/TLSA", "dane", "TLSA_USABLE",
		  "relay.example.net", "relay.example.net", 1,
		  .absent = "relay.example.net/MX" },
		{ "host not found: skip, no TLSA query", "20",
		  "example.com", "mx.example.com",
		  { EXAMPLE(TLSA("_25._tcp.mx")) },
		  Q_MXA, "skip", "ADDR_NOTFOUND", NULL, NULL, 0,
		  .absent = T_ORIG "/TLSA" },
		{ "address lookup fails: skip", "5",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) },
		  Q_MXA, "skip", "ADDR_FAILED", NULL, NULL, 0,
		  .faults = { { "mx.example.com", "A", FU_SERVFAIL } },
		  .absent = T_ORIG "/TLSA" },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

Test(dns, tlsa_rrset_outcomes)
{
	static const struct dcase cases[] = {
		{ "validated TLSA denial is an answer", "8,30",
		  "example.com", "mx.example.com", { EXAMPLE(A_MX) },
		  Q_MXA " " T_ORIG "/TLSA", "opportunistic", "TLSA_NONE",
		  NULL, NULL, 0 },
		{ "TLSA lookup fails: skip", "6",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED", NULL,
		  NULL, 0,
		  .faults = { { T_ORIG, "TLSA", FU_SERVFAIL } } },
		{ "TLSA owner is a secure CNAME: base unchanged", "32",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|_25._tcp.mx CNAME tlsa201._dane|"
		      TLSA("tlsa201._dane")) },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.com", "mx.example.com example.com", 1 },
		{ "truncated TLSA answer is retried over TCP", "36",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA24("_25._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.com", NULL, 24,
		  .faults = { { T_ORIG, "TLSA", FU_TC } },
		  .sent = T_ORIG "/TLSA " T_ORIG "/TLSA+tcp" },
		{ "truncated TLSA answer, TCP refused: skip", "36",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED",
		  "mx.example.com", NULL, 0,
		  .faults = { { T_ORIG, "TLSA", FU_TC_NOTCP } },
		  .sent = T_ORIG "/TLSA " T_ORIG "/TLSA+tcp" },
		{ "RDATA too short is an unusable record", "33",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA_SHORT("_25._tcp.mx") "|"
		      TLSA("_25._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE", NULL,
		  NULL, 1 },
		{ "only a too-short record: TLS required", "33,34",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA_SHORT("_25._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "encrypt", "TLSA_UNUSABLE", NULL,
		  NULL, 0 },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

/*
 * The AD bit counts for nothing and nobody but the upstream itself is
 * heard: answers with a wrong ID, from another port, for another
 * question are dropped, unsigned or wrongly signed data in a signed
 * zone is bogus whatever its AD bit says.
 */
Test(dns, forged_and_unsigned_answers_are_not_believed)
{
#define REAL EXAMPLE(A_MX "|" TLSA("_25._tcp.mx"))
	static const struct dcase cases[] = {
		{ "forgery with a wrong ID first: the real answer counts",
		  "1", "example.com", "mx.example.com", { REAL },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.com", NULL, 1,
		  .faults = { { T_ORIG, "TLSA", FU_WRONG_ID } } },
		{ "forgery with AD from another port first: not believed",
		  "1", "example.com", "mx.example.com", { REAL },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.com", NULL, 1,
		  .faults = { { T_ORIG, "TLSA", FU_OTHER_PORT } } },
		{ "only a forgery from another port: the lookup fails",
		  "1", "example.com", "mx.example.com", { REAL },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED",
		  "mx.example.com", NULL, 0,
		  .faults = { { T_ORIG, "TLSA",
		      FU_OTHER_PORT | FU_FORGED_ONLY } },
		  .timeout_ms = 1500 },
		{ "answer to another question first: not believed", "1",
		  "example.com", "mx.example.com", { REAL },
		  Q_MXA " " T_ORIG "/TLSA", "dane", "TLSA_USABLE",
		  "mx.example.com", NULL, 1,
		  .faults = { { T_ORIG, "TLSA", FU_WRONG_QUESTION } } },
		{ "AD on TLSA stripped of its RRSIGs: bogus, skip", "1,6",
		  "example.com", "mx.example.com", { REAL },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED", NULL,
		  NULL, 0,
		  .faults = { { T_ORIG, "TLSA", FU_AD_UNSIGNED } } },
		{ "AD on TLSA with a corrupted RRSIG: bogus, skip", "1,6",
		  "example.com", "mx.example.com", { REAL },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED", NULL,
		  NULL, 0,
		  .faults = { { T_ORIG, "TLSA", FU_AD_BADSIG } } },
		/* _24 keeps libunbound from proving the denial itself */
		{ "AD on a TLSA denial without signatures: bogus, skip",
		  "1,6", "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_24._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED", NULL,
		  NULL, 0,
		  .faults = { { T_ORIG, "TLSA", FU_AD_UNSIGNED } } },
		{ "AD on an MX RRset stripped of its RRSIGs: defer", "1,4",
		  "example.com", "mx.example.com", { REAL },
		  "example.com/MX", "defer", "MX_FAILED", NULL, NULL, 0,
		  .faults = { { "example.com", "MX", FU_AD_UNSIGNED } },
		  .absent = "mx.example.com/A" },
		{ "AD on an A RRset with a corrupted RRSIG: skip", "1,5",
		  "example.com", "mx.example.com", { REAL },
		  Q_MXA, "skip", "ADDR_FAILED", NULL, NULL, 0,
		  .faults = { { "mx.example.com", "A", FU_AD_BADSIG } },
		  .absent = T_ORIG "/TLSA" },
	};
#undef REAL

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

Test(dns, dnssec_must_be_available_from_the_upstream)
{
	static const struct dcase cases[] = {
		{ "upstream strips every RRSIG: DNSSEC unavailable, defer",
		  "1", "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) }, "", "defer",
		  "DNSSEC_UNAVAILABLE", NULL, NULL, 0,
		  .server = FU_STRIP_ALL, .absent = "*", .logged = 1 },
		{ "upstream strips every RRSIG, downgrade configured", "1",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) }, "",
		  "opportunistic", "DNSSEC_UNAVAILABLE", NULL, NULL, 0,
		  .server = FU_STRIP_ALL, .absent = "*", .logged = 1,
		  .downgrade = 1 },
		{ "nothing listens at the upstream: defer", "1",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX) }, "", "defer", "DNSSEC_UNAVAILABLE", NULL,
		  NULL, 0, .server = FU_CLOSED, .logged = 1,
		  .timeout_ms = 1500 },
		{ "unsigned destination, root validated: DNSSEC available",
		  "1,11", "example.com", "mx.example.com",
		  { { "example.com", UNSIGNED, "@ MX 10 mx|" A_MX } },
		  "example.com/MX", "opportunistic", "MX_INSECURE", NULL,
		  NULL, 0, .absent = "mx.example.com/A" },
		{ "all secure: DNSSEC available", "1",
		  "example.com", "mx.example.com", { EXAMPLE(A_MX) },
		  Q_MXA " " T_ORIG "/TLSA", "opportunistic", "TLSA_NONE",
		  NULL, NULL, 0 },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

#define L63(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
/* 248 characters: "_25._tcp." in front makes 257, over 253 */
#define LONG_HOST L63("a") "." L63("b") "." L63("c") ".dddddddddddd" \
	"dddddddddddddddddddddddddddddddd.example.com"

Test(dns, upstream_failures_fail_closed)
{
	static const struct dcase cases[] = {
		{ "TLSA never answered: fail within the budget", "6",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) },
		  Q_MXA " " T_ORIG "/TLSA", "skip", "TLSA_FAILED", NULL,
		  NULL, 0,
		  .faults = { { T_ORIG, "TLSA", FU_DROP } },
		  .timeout_ms = 1500 },
		{ "TLSA name over 253 characters: fail, never asked", "6",
		  "example.com", LONG_HOST,
		  { { "example.com", SIGNED, "@ MX 10 " LONG_HOST ".|"
		      LONG_HOST ". A 192.0.2.1" } },
		  "example.com/MX " LONG_HOST "/A " LONG_HOST "/AAAA",
		  "skip", "TLSA_FAILED", NULL, NULL, 0 },
		{ "SERVFAIL for the AAAA RRset: skip", "5",
		  "example.com", "mx.example.com",
		  { EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")) },
		  Q_MXA, "skip", "ADDR_FAILED", NULL, NULL, 0,
		  .faults = { { "mx.example.com", "AAAA", FU_SERVFAIL } },
		  .absent = T_ORIG "/TLSA" },
	};

	cr_expect_eq(run(cases, N(cases)), 0, "got failing cases, want none "
	    "(see the messages above)");
}

/*
 * The facts name the first lookup that failed and why (fail_query,
 * fail_why): libunbound's why_bogus for a bogus answer, the RCODE, the
 * budget, the root DNSKEY probe; nothing when no lookup failed.
 */
struct failcase {
	const char *name;
	struct fu_fault faults[FAULTS_MAX];
	int server;
	unsigned timeout_ms;
	const char *query;		/* fail_query */
	const char *why;		/* in fail_why; "" = empty */
	int bogus;
};

Test(dns, the_first_failed_lookup_is_named_with_its_reason)
{
	static const struct fu_zone zones[] = {
		EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")), { NULL, 0, NULL }
	};
	static const struct failcase cases[] = {
		{ "all secure", { { NULL } }, 0, 0, "", "", 0 },
		{ "TLSA with a corrupted RRSIG",
		  { { T_ORIG, "TLSA", FU_AD_BADSIG } }, 0, 0,
		  T_ORIG "/TLSA", "validation failure", 1 },
		{ "A RRset stripped of its RRSIGs",
		  { { "mx.example.com", "A", FU_AD_UNSIGNED } }, 0, 0,
		  "mx.example.com/A", "validation failure", 1 },
		{ "SERVFAIL for the AAAA RRset",
		  { { "mx.example.com", "AAAA", FU_SERVFAIL } }, 0, 0,
		  "mx.example.com/AAAA", "SERVFAIL", 0 },
		{ "TLSA never answered", { { T_ORIG, "TLSA", FU_DROP } }, 0,
		  1500, T_ORIG "/TLSA", "time budget of 1500 ms", 0 },
		{ "upstream strips every RRSIG: the probe", { { NULL } },
		  FU_STRIP_ALL, 0, "./DNSKEY", "validation failure", 1 },
	};
	struct dane_facts *f;
	struct dane_ctx *c;
	struct fakeup *u;
	enum dane_result r;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		const struct failcase *k = &cases[i];

		u = fu_start(zones, k->faults, k->server);
		c = new_ctx(u, k->timeout_ms);
		f = NULL;
		r = dane_gather(c, "example.com", "mx.example.com", 25, &f);
		cr_assert_eq(r, DANE_OK, "%s: gather got %s, want success",
		    k->name, dane_strerror(r));
		cr_expect_str_eq(f->fail_query, k->query, "%s: fail_query got "
		    "\"%s\", want \"%s\"", k->name, f->fail_query, k->query);
		if (k->why[0] == '\0')
			cr_expect_str_empty(f->fail_why, "%s: fail_why got "
			    "\"%s\", want \"\"", k->name, f->fail_why);
		else
			cr_expect_not_null(strstr(f->fail_why, k->why),
			    "%s: fail_why got \"%s\", want \"%s\" in it",
			    k->name, f->fail_why, k->why);
		cr_expect_eq(f->fail_bogus, k->bogus, "%s: fail_bogus got %d, "
		    "want %d", k->name, f->fail_bogus, k->bogus);
		dane_facts_free(f);
		dane_ctx_free(c);
		fu_stop(u);
	}
}

static struct dane_policy *
gather_decide(struct dane_ctx *c, const char *nexthop, const char *host,
    uint64_t *took)
{
	struct dane_facts *f = NULL;
	struct dane_policy *p = NULL;
	uint64_t start = now_ms();
	enum dane_result r;

	r = dane_gather(c, nexthop, host, 25, &f);
	*took = now_ms() - start;
	cr_assert_eq(r, DANE_OK, "%s: gather got %s, want success", nexthop,
	    dane_strerror(r));
	cr_assert_eq(dane_decide(NULL, f, &p), DANE_OK);
	dane_facts_free(f);
	return p;
}

Test(dns, used_up_budget_fails_later_lookups_at_once)
{
	static const struct fu_zone zones[] = {
		EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")),
		{ "example.net", SIGNED, "@ MX 10 mx|mx A 192.0.2.2|"
		  TLSA("_25._tcp.mx") },
		{ NULL, 0, NULL }
	};
	static const struct fu_fault faults[] = {
		{ T_ORIG, "TLSA", FU_DROP }, { NULL, NULL, 0 }
	};
	struct fakeup *u = fu_start(zones, faults, 0);
	struct dane_ctx *c = new_ctx(u, 1500);
	struct dane_policy *p;
	uint64_t took;

	p = gather_decide(c, "example.com", "mx.example.com", &took);
	cr_expect_eq(p->reason, DANE_R_TLSA_FAILED, "first: got %s, want "
	    "TLSA_FAILED", reason_of(p->reason));
	cr_expect(took >= 1400 && took < 3000, "first: took %llu ms, want "
	    "the budget of 1500", (unsigned long long)took);
	dane_policy_free(p);

	asked[0] = '\0';
	p = gather_decide(c, "example.net", "mx.example.net", &took);
	cr_expect_eq(p->reason, DANE_R_MX_FAILED, "second: got %s, want "
	    "MX_FAILED", reason_of(p->reason));
	cr_expect_eq(p->level, DANE_LEVEL_DEFER, "second: got %s, want defer",
	    dane_level_name(p->level));
	cr_expect_lt(took, 100, "second: took %llu ms, want at once",
	    (unsigned long long)took);
	cr_expect_str_empty(asked, "second: asked got \"%s\", want nothing",
	    asked);
	dane_policy_free(p);

	dane_ctx_budget_reset(c);
	p = gather_decide(c, "example.net", "mx.example.net", &took);
	cr_expect_eq(p->reason, DANE_R_TLSA_USABLE, "after reset: got %s, "
	    "want TLSA_USABLE", reason_of(p->reason));
	dane_policy_free(p);
	dane_ctx_free(c);
	fu_stop(u);
}

static int
count_fds(void)
{
	char path[32];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

/*
 * After fork() the child must not use the parent's libunbound context
 * (its resolver thread lives in the parent only): libdane gives the
 * child its own, and the parent's keeps working.
 */
Test(dns, forked_child_gets_its_own_resolver)
{
	static const struct fu_zone zones[] = {
		EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")),
		{ "example.net", SIGNED, "@ MX 10 mx|mx A 192.0.2.2|"
		  TLSA("_25._tcp.mx") },
		{ NULL, 0, NULL }
	};
	struct fakeup *u = fu_start(zones, NULL, 0);
	int before = count_fds();
	struct dane_ctx *c = new_ctx(u, 5000);
	struct dane_policy *p;
	uint64_t took;
	int status;
	pid_t pid;

	p = gather_decide(c, "example.com", "mx.example.com", &took);
	cr_assert_eq(p->level, DANE_LEVEL_AUTH, "parent before: got %s, "
	    "want dane", dane_level_name(p->level));
	dane_policy_free(p);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct dane_facts *f = NULL;
		struct dane_policy *q = NULL;
		int ok = dane_gather(c, "example.net", "mx.example.net", 25,
		    &f) == DANE_OK && dane_decide(NULL, f, &q) == DANE_OK &&
		    q->level == DANE_LEVEL_AUTH;

		dane_policy_free(q);
		dane_facts_free(f);
		/* the parent's descriptors are closed, the child's own too */
		dane_ctx_free(c);
		_exit(!ok ? 1 : count_fds() > before ? 2 : 0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: got "
	    "status %#x, want 0 (1: no AUTH, 2: descriptors left open)",
	    status);
	p = gather_decide(c, "example.net", "mx.example.net", &took);
	cr_expect_eq(p->level, DANE_LEVEL_AUTH, "parent after: got %s, want "
	    "dane", dane_level_name(p->level));
	dane_policy_free(p);
	dane_ctx_free(c);
	fu_stop(u);
}

static volatile sig_atomic_t ticks;

static void
tick(int sig)
{
	(void)sig;
	ticks++;
}

/* A signal interrupts poll(): that is no lookup failure (EINTR). */
Test(dns, signals_during_a_lookup_are_not_failures)
{
	static const struct fu_zone zones[] = {
		EXAMPLE(A_MX "|" TLSA("_25._tcp.mx")),
		{ NULL, 0, NULL }
	};
	static const struct fu_fault faults[] = {
		{ T_ORIG, "TLSA", FU_DELAY }, { NULL, NULL, 0 }
	};
	struct itimerval every = { { 0, 5000 }, { 0, 5000 } }, off;
	struct sigaction sa;
	struct fakeup *u = fu_start(zones, faults, 0);
	struct dane_ctx *c = new_ctx(u, 5000);
	struct dane_policy *p;
	uint64_t took;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tick;		/* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	ticks = 0;
	setitimer(ITIMER_REAL, &every, NULL);
	p = gather_decide(c, "example.com", "mx.example.com", &took);
	memset(&off, 0, sizeof(off));
	setitimer(ITIMER_REAL, &off, NULL);
	cr_expect_eq(p->reason, DANE_R_TLSA_USABLE, "got %s, want "
	    "TLSA_USABLE", reason_of(p->reason));
	cr_expect_eq(p->level, DANE_LEVEL_AUTH, "got %s, want dane",
	    dane_level_name(p->level));
	cr_expect_geq(took, 250, "took %llu ms, want the 250 ms delay",
	    (unsigned long long)took);
	cr_expect_gt(ticks, 10, "got %d signals, want more than 10",
	    (int)ticks);
	dane_policy_free(p);
	dane_ctx_free(c);
	fu_stop(u);
}

Test(dns, first_lookup_validates_the_root_dnskey_rrset)
{
	static const struct fu_zone zones[] = {
		EXAMPLE(A_MX "|mx2 A 192.0.2.2"), { NULL, 0, NULL }
	};
	struct fakeup *u = fu_start(zones, NULL, 0);
	struct dane_ctx *c = new_ctx(u, 0);
	struct dane_policy *p;
	uint64_t took;

	asked[0] = '\0';
	p = gather_decide(c, "example.com", "mx.example.com", &took);
	dane_policy_free(p);
	cr_expect_eq(strncmp(asked, "./DNSKEY ", 9), 0, "asked got \"%s\", "
	    "want ./DNSKEY first", asked);
	asked[0] = '\0';
	p = gather_decide(c, "example.com", "mx2.example.com", &took);
	dane_policy_free(p);
	cr_expect_null(strstr(asked, "./DNSKEY"), "second gathering: asked "
	    "got \"%s\", want no new probe", asked);
	dane_ctx_free(c);
	fu_stop(u);
}

/*
 * libunbound keeps answers for their TTL (CONFORMANCE item 37): the
 * second host of one destination does not bring a second MX query to
 * the upstream; an RRset with TTL 0 is asked for again.
 */
static void
two_hosts(const char *mx, int want)
{
	char zone[256], sent[LOG_LEN], *p;
	struct fu_zone zones[] = {
		{ "example.com", SIGNED, zone }, { NULL, 0, NULL }
	};
	struct dane_policy *pol;
	struct dane_ctx *c;
	struct fakeup *u;
	uint64_t took;
	int n = 0;

	snprintf(zone, sizeof(zone), "%s|" A_MX "|mx2 A 192.0.2.2", mx);
	u = fu_start(zones, NULL, 0);
	c = new_ctx(u, 0);
	pol = gather_decide(c, "example.com", "mx.example.com", &took);
	dane_policy_free(pol);
	pol = gather_decide(c, "example.com", "mx2.example.com", &took);
	cr_expect_eq(pol->reason, DANE_R_TLSA_NONE, "mx2: got %s, want "
	    "TLSA_NONE", reason_of(pol->reason));
	dane_policy_free(pol);
	fu_queries(u, 1, sent, sizeof(sent));
	for (p = sent; (p = strstr(p, "example.com/MX")) != NULL; p++)
		if (p == sent || p[-1] == ' ')
			n++;
	cr_expect_eq(n, want, "item 37, %s: MX queries sent got %d (%s), "
	    "want %d", mx, n, sent, want);
	dane_ctx_free(c);
	fu_stop(u);
}

Test(dns, replies_are_reused_within_their_ttl)
{
	two_hosts("@ 300 MX 10 mx|@ 300 MX 20 mx2", 1);
	two_hosts("@ 0 MX 10 mx|@ 0 MX 20 mx2", 2);
}

/* ---- context errors ------------------------------------------------------ */

static enum dane_result
ctx_with(const char *upstream, const char *anchor, struct dane_ctx **c)
{
	struct dane_resolver_config rc;

	memset(&rc, 0, sizeof(rc));
	rc.upstream = upstream;
	rc.trust_anchor = anchor;
	rc.log_fn = log_sink;
	log_reset();
	return dane_ctx_new(&rc, c);
}

Test(dns, bad_trust_anchor_is_reported_by_name)
{
	static const char *const missing = "/nonexistent/dns_test-anchor.key";
	char junk[] = "/tmp/dns_test-junk.XXXXXX";
	struct dane_ctx *c;
	enum dane_result r;
	int fd;

	r = ctx_with("127.0.0.1@53", missing, &c);
	cr_expect_eq(r, DANE_ERR_ANCHOR, "missing: got %s, want %s",
	    dane_strerror(r), dane_strerror(DANE_ERR_ANCHOR));
	cr_expect_null(c, "missing: got a context, want none");
	cr_expect(err_lines == 1 && strstr(logged, missing) != NULL,
	    "missing: log got \"%s\", want one LOG_ERR line naming %s",
	    logged, missing);

	cr_assert((fd = mkstemp(junk)) >= 0);
	cr_assert_eq(write(fd, "not a trust anchor\n", 19), 19);
	close(fd);
	r = ctx_with("127.0.0.1@53", junk, &c);
	unlink(junk);
	cr_expect_eq(r, DANE_ERR_ANCHOR, "no DS or DNSKEY: got %s, want %s",
	    dane_strerror(r), dane_strerror(DANE_ERR_ANCHOR));
	cr_expect(err_lines == 1 && strstr(logged, junk) != NULL,
	    "no DS or DNSKEY: log got \"%s\", want one LOG_ERR line naming "
	    "%s", logged, junk);
	dane_ctx_free(c);
}

Test(dns, bad_upstream_is_reported_by_address)
{
	static const struct {
		const char *upstream, *culprit;
	} bad[] = {
		{ "not-an-address", "not-an-address" },
		{ "127.0.0.1 300.1.2.3", "300.1.2.3" },
	};
	struct fakeup *u = fu_start(NULL, NULL, FU_CLOSED);
	struct dane_ctx *c;
	enum dane_result r;
	size_t i;

	for (i = 0; i < N(bad); i++) {
		r = ctx_with(bad[i].upstream, fu_anchor(u), &c);
		cr_expect_eq(r, DANE_ERR_UPSTREAM, "\"%s\": got %s, want %s",
		    bad[i].upstream, dane_strerror(r),
		    dane_strerror(DANE_ERR_UPSTREAM));
		cr_expect_null(c, "\"%s\": got a context, want none",
		    bad[i].upstream);
		cr_expect(err_lines == 1 &&
		    strstr(logged, bad[i].culprit) != NULL, "\"%s\": log got "
		    "\"%s\", want one LOG_ERR line naming %s", bad[i].upstream,
		    logged, bad[i].culprit);
		dane_ctx_free(c);
	}
	fu_stop(u);
}

/* ---- out of memory ------------------------------------------------------- */

enum { OOM_OK = 0, OOM_NOMEM = 1, OOM_UNSAFE = 2, OOM_ERROR = 10 };

/*
 * Create a context, or gather the facts, with allocation `at` and all
 * later ones failing.  Fine: DANE_ERR_NOMEM, or facts that keep the
 * mail at least as safe as with memory (dane, skip or defer).  Runs in
 * a child process; no Criterion assertion here.
 */
static int
oom_run(struct fakeup *u, int whose, long at, int ctx_only, long *count)
{
	struct dane_facts *f = NULL;
	struct dane_policy *p = NULL;
	struct dane_ctx *c = NULL;
	enum dane_result r;
	int out = OOM_OK;

	if (!ctx_only && ctx_new(u, 0, &c) != DANE_OK)
		return OOM_ERROR;
	oom_arm(whose, at);
	if (ctx_only)
		r = ctx_new(u, 0, &c);
	else
		r = dane_gather(c, "example.com", "mx.example.com", 25, &f);
	*count = oom_disarm();
	if (r == DANE_ERR_NOMEM)
		out = OOM_NOMEM;
	else if (r != DANE_OK || (ctx_only && c == NULL))
		out = OOM_ERROR + (int)r;
	else if (!ctx_only && (dane_decide(NULL, f, &p) != DANE_OK ||
	    (p->level != DANE_LEVEL_AUTH && p->level != DANE_LEVEL_SKIP &&
	    p->level != DANE_LEVEL_DEFER)))
		out = OOM_UNSAFE;
	dane_policy_free(p);
	dane_facts_free(f);
	dane_ctx_free(c);
	return out;
}

/* Every allocation point in turn, each in a child process. */
static int
oom_sweep(struct fakeup *u, int whose, int ctx_only)
{
	const char *what = ctx_only ? "dane_ctx_new" : "dane_gather";
	const char *of = whose & OOM_LDNS ? "libdane's and ldns's" :
	    "libdane's";
	long at, total, n;
	int st, bad = 0;
	pid_t pid;

	cr_assert_eq(oom_run(u, whose, 0, ctx_only, &total), OOM_OK,
	    "%s with memory: got a failure, want success", what);
	cr_assert_gt(total, 0, "%s: got no allocation of %s counted, want "
	    "some", what, of);
	for (at = 1; at <= total; at++) {
		cr_assert((pid = fork()) >= 0);
		if (pid == 0)
			_exit(oom_run(u, whose, at, ctx_only, &n));
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		if (WIFEXITED(st) && (WEXITSTATUS(st) == OOM_OK ||
		    WEXITSTATUS(st) == OOM_NOMEM))
			continue;
		bad++;
		if (WIFSIGNALED(st))
			cr_log_error("%s, allocation %ld of %ld of %s fails: "
			    "got signal %d, want %s%s", what, at, total, of,
			    WTERMSIG(st), dane_strerror(DANE_ERR_NOMEM),
			    ctx_only ? "" : " or a failed lookup");
		else if (WEXITSTATUS(st) == OOM_UNSAFE)
			cr_log_error("%s, allocation %ld of %ld of %s fails: "
			    "got a level below dane, want dane, skip or "
			    "defer", what, at, total, of);
		else
			cr_log_error("%s, allocation %ld of %ld of %s fails: "
			    "got %s, want %s", what, at, total, of,
			    dane_strerror((enum dane_result)(WEXITSTATUS(st) -
			    OOM_ERROR)), dane_strerror(DANE_ERR_NOMEM));
	}
	return bad;
}

static void
oom_test(int whose)
{
	static const struct fu_zone zones[] = {
		EXAMPLE(A_MX "|" TLSA("_25._tcp.mx") "|"
		    TLSA_X("_25._tcp.mx", "00")), { NULL, 0, NULL }
	};
	/* through a pointer: GCC assumes malloc() leaves `oom` alone */
	void *(*volatile alloc)(size_t) = malloc;
	struct fakeup *u;
	int bad = 0;

	oom_arm(OOM_LIBDANE, 0);
	free(alloc(1));
	if (oom_disarm() != 1)
		cr_skip_test("malloc() is not this program's (valgrind?)");
	u = fu_start(zones, NULL, 0);
	bad += oom_sweep(u, whose, 1);
	bad += oom_sweep(u, whose, 0);
	fu_stop(u);
	cr_expect_eq(bad, 0, "got %d failing allocation points, want none "
	    "(see the messages above)", bad);
}

Test(dns, out_of_memory_in_libdane_is_a_result_not_a_crash)
{
	oom_test(OOM_LIBDANE);
}

Test(dns, out_of_memory_in_ldns_is_a_result_not_a_crash)
{
	oom_test(OOM_LIBDANE | OOM_LDNS);
}
