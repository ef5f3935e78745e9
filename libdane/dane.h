/*
 * NAME
 *	dane.h - opportunistic DANE TLS for SMTP clients (RFC 7672)
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 * DESCRIPTION
 *	libdane turns DNS facts into an SMTP client TLS policy and applies
 *	that policy to an OpenSSL connection.  Work happens in three steps:
 *
 *	1. dane_gather() performs the DNSSEC-aware lookups RFC 7672 asks for
 *	   (MX RRset of the next-hop domain, addresses of the server host,
 *	   TLSA RRset of the TLSA base domain) and fills a struct dane_facts.
 *	2. dane_decide() is a pure function (no I/O, no clock, no globals)
 *	   that turns facts and settings into a struct dane_policy: a level,
 *	   a reason, the TLSA base domain, the reference identifiers and the
 *	   usable TLSA records.
 *	3. dane_ssl_apply() prepares an SSL object before the handshake and
 *	   dane_ssl_check() tells, after it, whether the peer authenticated.
 *
 *	No ldns type appears here.  The library never writes to stderr,
 *	never exits and never aborts; out of memory is a result code.
 *
 * OWNERSHIP
 *	Objects returned through an out-parameter belong to the caller and
 *	are released with the matching *_free() function, which accepts
 *	NULL.  Strings inside the structs are owned by the struct.
 */
#ifndef DANE_H
#define DANE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes: values are fixed, append only, never renumber. */
enum dane_result {
	DANE_OK = 0,
	DANE_ERR_NOMEM = 1,	/* out of memory */
	DANE_ERR_INVAL = 2,	/* bad argument (e.g. malformed name) */
	DANE_ERR_RESOLVER = 3,	/* resolver unusable (no config, no server) */
	DANE_ERR_TLS = 4,	/* OpenSSL refused a DANE call */
	DANE_ERR_CONFIG = 5,	/* bad configuration value */
	DANE_ERR_INTERNAL = 6,	/* should not happen; a bug */
	DANE_ERR_ANCHOR = 7,	/* trust anchor missing or unreadable */
	DANE_ERR_UPSTREAM = 8	/* bad upstream address or resolv.conf */
};

const char *dane_strerror(enum dane_result r);
/* 1 when a retry later may succeed (resolver, memory), else 0. */
int dane_result_is_temporary(enum dane_result r);

/* DNSSEC state of one answer (RFC 4035 section 4.3). */
enum dane_dnssec {
	DANE_DNSSEC_SECURE = 0,		/* validated by libdane itself */
	DANE_DNSSEC_INSECURE = 1,	/* provably unsigned */
	DANE_DNSSEC_BOGUS = 2		/* bogus or indeterminate */
};

/* What a lookup returned; FAILED covers SERVFAIL, timeout, malformed. */
enum dane_answer {
	DANE_ANSWER_FOUND = 0,
	DANE_ANSWER_NXDOMAIN = 1,
	DANE_ANSWER_NODATA = 2,
	DANE_ANSWER_FAILED = 3,
	DANE_ANSWER_NOT_QUERIED = 4	/* lookup skipped on purpose */
};

struct dane_lookup {
	enum dane_answer answer;
	enum dane_dnssec dnssec;
};

/* TLSA code points, RFC 6698 section 7, RFC 7218. */
enum {
	DANE_USAGE_PKIX_TA = 0,
	DANE_USAGE_PKIX_EE = 1,
	DANE_USAGE_DANE_TA = 2,
	DANE_USAGE_DANE_EE = 3
};
enum {
	DANE_SELECTOR_CERT = 0,
	DANE_SELECTOR_SPKI = 1
};
enum {
	DANE_MTYPE_FULL = 0,
	DANE_MTYPE_SHA2_256 = 1,
	DANE_MTYPE_SHA2_512 = 2
};

struct dane_tlsa_rr {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	size_t len;
	unsigned char *data;	/* owned */
};

#define DANE_NAME_MAX 256	/* presentation form, no trailing dot, NUL */
#define DANE_MX_MAX 32
#define DANE_WHY_MAX 512	/* dane_facts.fail_why, with its NUL */

/*
 * Facts about one (next-hop domain, server host) pair, as gathered by
 * dane_gather() or filled by a test.  Names are lower case, without the
 * trailing dot.
 */
struct dane_facts {
	char nexthop[DANE_NAME_MAX];	/* next-hop domain (or relay name) */
	char nexthop_expanded[DANE_NAME_MAX]; /* CNAME target, "" if none */
	int nexthop_is_literal;		/* [192.0.2.1]: DANE does not apply */
	int nexthop_is_relay;		/* [host]: non-MX destination */
	struct dane_lookup mx;		/* MX RRset of the next hop */
	char mx_hosts[DANE_MX_MAX][DANE_NAME_MAX];
	size_t mx_count;
	int host_in_mx;			/* host is one of mx_hosts */
	char host[DANE_NAME_MAX];	/* server host sendmail connects to */
	char host_expanded[DANE_NAME_MAX]; /* CNAME-expanded host, "" if none */
	struct dane_lookup addr;	/* A/AAAA RRsets of host */
	char tlsa_base[DANE_NAME_MAX];	/* owner base of the TLSA RRset */
	uint16_t port;			/* TCP port, 25 by default */
	struct dane_lookup tlsa;	/* TLSA RRset at _port._tcp.base */
	struct dane_tlsa_rr *tlsa_rrs;	/* owned, tlsa_count entries */
	size_t tlsa_count;
	/* Fields below were appended; keep the order above stable. */
	/*
	 * DNSSEC status of the CNAME RRset at `host` itself, looked up
	 * only when the addresses came through a CNAME chain and are
	 * insecure (RFC 7672 section 2.1.3 last paragraph, 2.2.2): a
	 * secure first CNAME means TLSA is looked up at `host` alone.
	 */
	struct dane_lookup host_cname;
	size_t tlsa_malformed;		/* TLSA RRs whose RDATA did not parse */
	int host_is_literal;		/* host is an IP address: no DANE */
	/*
	 * The upstream cannot deliver DNSSEC (the root DNSKEY RRset did
	 * not validate): nothing was looked up, every answer above is
	 * NOT_QUERIED.  dane_decide() follows settings.no_dnssec.
	 */
	int dnssec_unavailable;
	/*
	 * Why the first lookup above that FAILED failed, for diagnostics
	 * (sendmail-dane-check): fail_query is what was asked, as
	 * "name/TYPE" ("_25._tcp.mx.example.com/TLSA"), fail_why the
	 * reason: libunbound's why_bogus text when the answer failed
	 * DNSSEC validation (then fail_bogus is 1), else e.g. "SERVFAIL",
	 * "no answer within the DNS time budget of 15000 ms", "malformed
	 * reply" or "name too long to look up".  With dnssec_unavailable
	 * they describe the root DNSKEY probe ("./DNSKEY").  Both "" when
	 * nothing failed.  Printable ASCII, cut to fit.
	 */
	char fail_query[DANE_NAME_MAX + 16];
	char fail_why[DANE_WHY_MAX];
	int fail_bogus;
};

/* Treatment of PKIX usages 0 and 1 (docs/POLICY.md, usage 0/1 rule). */
enum dane_usage01 {
	/* 1 x y as 3 x y; 0 x 0 as 2 x 0; 0 x 1|2 unusable */
	DANE_USAGE01_DEFAULT = 0,
	/* as DEFAULT, and 0 x 1|2 as 2 x 1|2 */
	DANE_USAGE01_TA_DIGESTS = 1,
	/* every usage 0 or 1 record unusable (RFC 7672 section 3.1.3) */
	DANE_USAGE01_STRICT = 2
};

/*
 * What an upstream that cannot deliver DNSSEC means.  An on-path
 * attacker can cause exactly this symptom, hence the default.
 */
enum dane_no_dnssec {
	DANE_NO_DNSSEC_DEFER = 0,	/* keep the mail queued (4.7.5) */
	DANE_NO_DNSSEC_OPPORTUNISTIC = 1 /* downgrade: DANE does not apply */
};

struct dane_settings {
	enum dane_usage01 usage01;
	/* digest preference, strongest first, e.g. {2, 1}; 0 ends */
	uint8_t digest_pref[4];
	enum dane_no_dnssec no_dnssec;
};

void dane_settings_default(struct dane_settings *s);

/* Security level of a connection, ordered weakest to strongest. */
enum dane_level {
	DANE_LEVEL_OPP = 0,	/* pre-DANE opportunistic TLS, clear allowed */
	DANE_LEVEL_ENCRYPT = 1,	/* TLS required, no authentication */
	DANE_LEVEL_AUTH = 2,	/* TLS required, DANE authentication */
	DANE_LEVEL_SKIP = 3,	/* this host must not be used: try next MX */
	DANE_LEVEL_DEFER = 4	/* no host may be used: keep the mail queued */
};
const char *dane_level_name(enum dane_level l);	/* "opportunistic", ... */
/* 1 when the level forbids delivery without TLS. */
int dane_level_requires_tls(enum dane_level l);
int dane_level_requires_auth(enum dane_level l);

/* Why the level was chosen: fixed values, append only. */
enum dane_reason {
	DANE_R_NOT_APPLICABLE = 0,	/* address literal, DANE not wanted */
	DANE_R_MX_FAILED = 1,		/* MX lookup failed or bogus */
	DANE_R_MX_INSECURE = 2,		/* MX RRset not signed */
	DANE_R_HOST_NOT_MX = 3,		/* host not in the secure MX RRset */
	DANE_R_ADDR_FAILED = 4,		/* address lookup failed or bogus */
	DANE_R_ADDR_INSECURE = 5,	/* host addresses not signed */
	DANE_R_ADDR_NOTFOUND = 6,	/* host has no address */
	DANE_R_TLSA_FAILED = 7,		/* TLSA lookup failed or bogus */
	DANE_R_TLSA_INSECURE = 8,	/* TLSA RRset not signed */
	DANE_R_TLSA_NONE = 9,		/* validated denial of TLSA */
	DANE_R_TLSA_UNUSABLE = 10,	/* TLSA present, none usable */
	DANE_R_TLSA_USABLE = 11,	/* TLSA present, some usable */
	DANE_R_NEXTHOP_FAILED = 12,	/* relay/implicit-MX name lookup failed */
	DANE_R_CNAME_FAILED = 13,	/* DNSSEC status of host CNAME unknown */
	DANE_R_CNAME_INSECURE = 14,	/* host CNAME not signed (first link) */
	DANE_R_DNSSEC_UNAVAILABLE = 15	/* upstream delivers no DNSSEC */
};
#define DANE_R_LAST DANE_R_DNSSEC_UNAVAILABLE	/* highest reason value */
const char *dane_reason_text(enum dane_reason r);

/*
 * Reference identifiers: the base domain, the next hop and their CNAME
 * expansions, and room for names a caller adds (the original names an
 * MTA canonified to the next hop).
 */
#define DANE_REFNAMES_MAX 8

struct dane_policy {
	enum dane_level level;
	enum dane_reason reason;
	char dsn[8];			/* "4.7.5" for SKIP/DEFER, else "" */
	char base_domain[DANE_NAME_MAX]; /* TLSA base domain = SNI */
	/* reference identifiers for DANE-TA name checks, base first */
	char refnames[DANE_REFNAMES_MAX][DANE_NAME_MAX];
	size_t refname_count;
	struct dane_tlsa_rr *usable;	/* owned; after usage 0/1 mapping */
	size_t usable_count;
	size_t unusable_count;		/* records discarded */
};

/*
 * Usability of one record under the settings (RFC 7671 section 9,
 * RFC 6698 section 4.1).  Returns 1 and writes the effective record
 * (usage possibly mapped 1->3, 0->2) into *out (out->data borrows
 * rr->data), or 0 when the record is unusable (unknown code point,
 * wrong digest length, undecodable full data, usage 0/1 rule).
 */
int dane_tlsa_usable(const struct dane_settings *s,
    const struct dane_tlsa_rr *rr, struct dane_tlsa_rr *out);

/*
 * Pure decision (RFC 7672 sections 2.1, 2.2, 3.2.2).  On DANE_OK *out
 * holds a new policy the caller frees with dane_policy_free().
 */
enum dane_result dane_decide(const struct dane_settings *s,
    const struct dane_facts *f, struct dane_policy **out);
void dane_policy_free(struct dane_policy *p);

/*
 * Resolver and lookup context.  Every answer is validated in-process by
 * libunbound against the trust anchor; no resolver's AD bit counts.
 */
typedef void dane_log_fn(void *arg, int priority, const char *line);

#define DANE_TRUST_ANCHOR_DEFAULT "/usr/share/dns/root.key"

struct dane_resolver_config {
	/*
	 * Upstream: NULL or "" forwards to the nameservers of resolv_conf;
	 * "recurse" asks the authoritative servers directly (root hints
	 * compiled into libunbound); otherwise a blank-separated list of
	 * addresses to forward to, each "addr" or "addr@port".
	 */
	const char *upstream;
	const char *resolv_conf;	/* NULL = /etc/resolv.conf */
	/* DS or DNSKEY records in zone-file form; NULL = the default */
	const char *trust_anchor;
	/*
	 * Total time all lookups may take between two calls of
	 * dane_ctx_budget_reset() (one delivery), 0 = 15000 ms.  Once it
	 * is used up every further lookup fails at once.
	 */
	unsigned timeout_ms;
	/*
	 * unbound.conf(5)-style file read after libdane's own settings
	 * (local-zone, stub-zone, further trust anchors...); NULL = none.
	 */
	const char *unbound_conf;
	/* libunbound's own verbosity (0-5; its lines come at LOG_DEBUG) */
	unsigned verbosity;
	/* sink for the context's lines, also those of dane_ctx_new() */
	dane_log_fn *log_fn;		/* NULL = syslog(LOG_MAIL) */
	void *log_arg;
};

/*
 * dane_ctx_new() reads the trust anchor and the upstream at once and
 * fails, with one log line naming the file or address, with
 * DANE_ERR_ANCHOR, DANE_ERR_UPSTREAM or (unbound_conf) DANE_ERR_CONFIG.  It starts no thread and sends
 * nothing: libunbound's resolver thread starts at the first lookup.  A
 * context used after fork() gets a fresh libunbound context in the
 * child (the parent's is never touched from there).  The first lookup
 * in each process validates the root DNSKEY RRset; when that fails,
 * one LOG_ERR line names the upstream and every later dane_gather()
 * of that process reports dnssec_unavailable.
 */
struct dane_ctx;
enum dane_result dane_ctx_new(const struct dane_resolver_config *rc,
    struct dane_ctx **out);
void dane_ctx_free(struct dane_ctx *c);
/* Log sink; default is syslog(LOG_MAIL|priority). */
void dane_ctx_set_log(struct dane_ctx *c, dane_log_fn *fn, void *arg);
/* Start a new DNS time budget (call at the start of each delivery). */
void dane_ctx_budget_reset(struct dane_ctx *c);

/*
 * Gather the facts for delivering to server host `host` for next-hop
 * `nexthop` (sendmail's $h: "example.com", "example.com.", "[relay]",
 * "[192.0.2.1]") on TCP port `port`.  Lookups happen in the order RFC
 * 7672 section 2.2 prescribes and stop where the decision is known
 * (no TLSA query when the host's addresses are insecure, unless they
 * hang off a secure first CNAME: then only at the original name).
 * docs/POLICY.md lists the lookups.  DNS failures
 * are facts, not errors: DANE_OK is returned with FAILED answers.  An
 * error return means the resolver itself was unusable.
 */
enum dane_result dane_gather(struct dane_ctx *c, const char *nexthop,
    const char *host, uint16_t port, struct dane_facts **out);
void dane_facts_free(struct dane_facts *f);

/*
 * Prepare `ssl` (before its first SSL_connect) for the policy: for
 * AUTH, enable DANE with SNI = base domain, add the usable records,
 * set the reference names and DANE_FLAG_NO_DANE_EE_NAMECHECKS; for
 * ENCRYPT, only SNI.  For other levels nothing is done.
 */
enum dane_result dane_ssl_apply(const struct dane_settings *s,
    const struct dane_policy *p, SSL *ssl);
/*
 * As dane_ssl_apply(), and *applied (if non-NULL) receives the level
 * actually put into force: p->level, except that AUTH becomes ENCRYPT
 * when OpenSSL accepted none of the usable records (RFC 7672 section
 * 2.2: TLS is still required, authentication is not possible).
 */
enum dane_result dane_ssl_apply_level(const struct dane_settings *s,
    const struct dane_policy *p, SSL *ssl, enum dane_level *applied);

/* Outcome of a handshake under a policy. */
struct dane_auth {
	int authenticated;		/* 1 if a usable TLSA record matched */
	int depth;			/* chain depth of the match, -1 none */
	struct dane_tlsa_rr matched;	/* borrowed from the policy */
	char detail[256];		/* e.g. "3 1 1 ab12cd..." or error text */
};

/* After a successful handshake, fill *a from the SSL object. */
void dane_ssl_check(const struct dane_policy *p, SSL *ssl,
    struct dane_auth *a);

/* Format "u s m hexprefix" of a record into buf (always NUL-terminated). */
void dane_tlsa_format(const struct dane_tlsa_rr *rr, char *buf,
    size_t size);


/*
 * Per-destination overrides in a sendmail access map (Berkeley DB hash
 * or btree, e.g. /etc/mail/access.db), read only.  Keys are looked up as
 * sendmail does: "<tag>:<name>", then for each parent P of name
 * "<tag>:.P" and "<tag>:P"; addresses "<tag>:a.b.c.d", "<tag>:a.b.c", ...
 * The map is opened lazily, reopened when the file is replaced or
 * rewritten or after fork, and read under a shared flock().
 */
struct dane_access;

/* path of the database file itself (with .db); *out is always set */
enum dane_result dane_access_new(const char *path, struct dane_access **out);
void dane_access_free(struct dane_access *a);

/*
 * Look up tag for a domain name (with or without trailing dot, or
 * "[name]").  Returns 1 and copies the right-hand side into val and the
 * key that matched into key, 0 if nothing matched, -1 if the map could
 * not be read (a temporary failure).
 */
int dane_access_domain(struct dane_access *a, const char *tag,
    const char *name, char *val, size_t vsize, char *key, size_t ksize);
/* As dane_access_domain() for an address (IPv4 dotted or "IPv6:..."). */
int dane_access_addr(struct dane_access *a, const char *tag,
    const char *addr, char *val, size_t vsize, char *key, size_t ksize);


#ifdef __cplusplus
}
#endif
#endif /* DANE_H */
