/*
 * NAME
 *	health.h - resolver and trust health for sendmail-dane-check
 *
 * SYNOPSIS
 *	#include "dane.h"
 *	#include "health.h"
 *
 *	enum dane_result health_check(const struct dane_resolver_config *rc,
 *	    struct health_report *out);
 *	enum dane_result health_answers(const struct dane_facts *f,
 *	    struct health_answers *out);
 *	enum dane_result health_tlsa_consistency(const char *owner,
 *	    const struct dane_resolver_config *rc,
 *	    struct consistency_report *out);
 *
 * DESCRIPTION
 *	Three diagnostics for an administrator, each filling a plain C
 *	struct that the caller prints (text or JSON) and releases with
 *	the matching *_free() function:
 *
 *	1. health_check(): does DNSSEC validation work on this host?  The
 *	   trust anchor file, the upstream, whether the upstream passes
 *	   DNSSEC records, whether a known-signed name validates end to
 *	   end, and whether libdane itself (as the sendmail module uses
 *	   it) finds DNSSEC available.  A list of steps, each ok, warn,
 *	   fail or skip with a one-line reason an administrator can act
 *	   on.
 *	2. health_answers(): the validation status of each answer a
 *	   dane_gather() used (MX, addresses, CNAME, TLSA), with the
 *	   reason of a failed one.  No I/O.
 *	3. health_tlsa_consistency(): does every authoritative server of
 *	   the zone return the same TLSA RRset?  A server that differs
 *	   makes DANE fail for some deliveries and not for others.
 *
 *	The *_opt() variants take a struct health_options (NULL: the
 *	defaults): time limits, the number of servers asked, the port of
 *	the authoritative servers.  Every lookup through libunbound uses
 *	a libunbound context of its own made from rc as libdane makes its
 *	own (the same upstream, trust anchor and unbound.conf), validating
 *	in-process; libdane's context is used only for the "libdane" step.
 *
 * BOUNDS
 *	Each query waits at most timeout_ms (default 3000 ms; one sent to
 *	a particular server that many ms over UDP and, after a truncated
 *	reply, for the TCP connection and for each read); all queries of
 *	one call together at most budget_ms (default 30000 ms), after
 *	which the remaining steps are reported as skipped and the
 *	remaining servers as not asked, with that reason.  The "libdane"
 *	step runs within libdane's own DNS time budget (rc->timeout_ms,
 *	default 15000 ms), cut to what is left of budget_ms but at least
 *	timeout_ms: health_check() takes at most about budget_ms +
 *	timeout_ms in all.  health_tlsa_consistency() asks at most
 *	max_servers (default 16) addresses; the others are listed in
 *	`omitted`.  No list is cut short: every array is allocated to
 *	its length.
 *
 * OWNERSHIP
 *	Every string and array in the structs is owned by the struct and
 *	released by its *_free() function, which accepts NULL and a
 *	zeroed struct, and leaves the struct zeroed.  Strings are
 *	printable ASCII (DNS-derived bytes outside it are shown as '?').
 *
 * DIAGNOSTICS
 *	The functions return DANE_OK when the report was filled (problems
 *	found are in the report, not in the return value), DANE_ERR_INVAL
 *	for a NULL out or a malformed owner name, DANE_ERR_NOMEM when
 *	memory ran out (the struct is then zeroed).
 */
#ifndef HEALTH_H
#define HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "dane.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outcome of one step or check.  OK < WARN < FAIL; SKIP is neither. */
enum health_status {
	HEALTH_OK = 0,
	HEALTH_WARN = 1,	/* works, but something needs attention */
	HEALTH_FAIL = 2,	/* DANE cannot work like this */
	HEALTH_SKIP = 3		/* not applicable, or not done */
};
/* "ok", "warn", "fail", "skip" */
const char *health_status_name(enum health_status s);

#define HEALTH_TIMEOUT_MS 3000	/* per query */
#define HEALTH_BUDGET_MS 30000	/* all queries of one call */
#define HEALTH_SERVERS_MAX 16	/* addresses asked for the TLSA RRset */

struct health_options {
	unsigned timeout_ms;	/* per query; 0 = HEALTH_TIMEOUT_MS */
	unsigned budget_ms;	/* a call's queries; 0 = HEALTH_BUDGET_MS */
	size_t max_servers;	/* consistency; 0 = HEALTH_SERVERS_MAX */
	/* consistency: UDP/TCP port of the authoritative servers, 0 = 53 */
	uint16_t port;
	/*
	 * health_check(): "name" or "name/TYPE" (default A) whose answer
	 * must fail validation (a test zone with a broken signature), to
	 * show that validation rejects what it must; NULL: no such step.
	 */
	const char *bogus_name;
};

/* ---- 1. health_check() --------------------------------------------------- */

/*
 * One step of the check.  id is one of (in this order in the report):
 *	"libunbound"	 the version (always ok)
 *	"trust-anchor"	 the file: readable, parses, which keys; for the
 *			 root whether it holds KSK-2017 (key tag 20326)
 *	"upstream"	 where queries go: resolv.conf's nameservers, the
 *			 configured addresses, or recursion
 *	"upstream-dnssec" per upstream address (subject): asked directly
 *			 (RD=1, DO=1, CD=1), does it return the root DNSKEY
 *			 RRset with its RRSIGs, and the DS RRset of NAME (or
 *			 a signed denial) with RRSIGs; skip when recursing
 *	"validate"	 per query (subject "./DNSKEY", "./SOA", "NAME/DS"):
 *			 validated through libunbound against the trust
 *			 anchor; secure is ok.  NAME is the first signed
 *			 delegation in the root zone's NSEC chain (at most 4
 *			 NSEC queries; "aaa" in the IANA root), the DS check
 *			 skipped when there is none.  With bogus_name also
 *			 that name, whose answer must be bogus
 *	"libdane"	 libdane's own context and root DNSKEY probe, as the
 *			 sendmail module runs them (dnssec_unavailable)
 * subject is the file, address or "name/TYPE" concerned, or "".
 */
struct health_step {
	char *id;
	char *subject;
	enum health_status status;
	char *reason;		/* one line: what is wrong, what to do */
};

/* A DS or DNSKEY record of the trust anchor file. */
struct health_key {
	char *owner;		/* "." for the root, no trailing dot else */
	uint16_t type;		/* 43 (DS) or 48 (DNSKEY) */
	/*
	 * DS: as given; DNSKEY: computed (RFC 4034 appendix B) with the
	 * REVOKE bit cleared, i.e. the tag the key is known by.
	 */
	uint16_t key_tag;
	uint8_t algorithm;
	uint8_t digest_type;	/* DS only, else 0 */
	uint16_t flags;		/* DNSKEY only, else 0 */
	int revoked;		/* DNSKEY with the REVOKE flag (RFC 5011) */
	unsigned line;		/* line in the file */
	/* "KSK-2017", "KSK-2024", "KSK-2010" for the IANA root's keys,
	 * else NULL (a static string) */
	const char *known;
};

enum health_upstream_mode {
	HEALTH_UPSTREAM_RESOLV_CONF = 0,	/* rc->upstream NULL or "" */
	HEALTH_UPSTREAM_LIST = 1,		/* addresses to forward to */
	HEALTH_UPSTREAM_RECURSE = 2		/* "recurse" */
};

struct health_report {
	enum health_status status;	/* the worst step (SKIP: none ran) */
	char *unbound_version;		/* ub_version() */
	/* the trust anchor file */
	char *anchor_path;
	int anchor_readable;
	/* every record parsed and at least one is a DS or DNSKEY */
	int anchor_parses;
	char *anchor_error;		/* why not: "line 3: ..."; or NULL */
	struct health_key *keys;
	size_t key_count;
	int root_ksk2017;		/* holds key tag 20326, not revoked */
	/* the upstream */
	enum health_upstream_mode upstream_mode;
	char *upstream_source;		/* resolv.conf, list, "recurse" */
	char **upstreams;		/* "addr", "addr@port"; or none */
	size_t upstream_count;
	int dnssec_works;		/* the root DNSKEY RRset validated */
	struct health_step *steps;
	size_t step_count;
};

/*
 * Check the resolver and trust health for the configuration rc (NULL:
 * libdane's defaults: /etc/resolv.conf, /usr/share/dns/root.key).
 * Sends queries to the upstream (or, recursing, to the root servers).
 * Returns DANE_OK with *out filled, also when steps fail.
 */
enum dane_result health_check(const struct dane_resolver_config *rc,
    struct health_report *out);
enum dane_result health_check_opt(const struct dane_resolver_config *rc,
    const struct health_options *opt, struct health_report *out);
void health_report_free(struct health_report *r);

/* ---- 2. health_answers() ------------------------------------------------- */

/* One answer dane_gather() used. */
struct health_answer {
	char *what;		/* "MX", "A/AAAA", "CNAME", "TLSA" */
	char *name;		/* asked: next hop, host, TLSA owner */
	char *expanded;		/* the end of a CNAME chain, or NULL */
	enum dane_answer answer;
	enum dane_dnssec dnssec;
	int bogus;		/* the answer failed DNSSEC validation */
	/*
	 * For a FAILED answer, why, when the facts say (fail_why:
	 * libunbound's why_bogus for a bogus one, "SERVFAIL", "no answer
	 * within the DNS time budget ..."); else NULL.
	 */
	char *why;
};

struct health_answers {
	struct health_answer *items;	/* in lookup order */
	size_t count;
	int dnssec_unavailable;		/* nothing looked up: see why */
	char *unavailable_why;		/* the root DNSKEY probe's why */
};

/*
 * The answers the facts f (from dane_gather()) were made of, in lookup
 * order: the MX RRset, the address RRsets, the CNAME RRset at the host
 * (only when it was looked up), the TLSA RRset; lookups that were not
 * made (NOT_QUERIED) are left out.  No I/O: call it after dane_gather()
 * for each host.
 */
enum dane_result health_answers(const struct dane_facts *f,
    struct health_answers *out);
void health_answers_free(struct health_answers *a);

/* ---- 3. health_tlsa_consistency() ---------------------------------------- */

/* One record of a TLSA RRset (or the CNAME at its owner). */
struct health_rr {
	uint16_t type;		/* 52 (TLSA) or 5 (CNAME) */
	uint32_t ttl;
	char *text;		/* RDATA as text, "3 1 1 0123..." */
	unsigned char *rdata;	/* canonical wire form of the RDATA */
	size_t len;
};

enum health_server_state {
	HEALTH_SERVER_ANSWERED = 0,	/* an authoritative (AA) answer */
	HEALTH_SERVER_LAME = 1,		/* a reply, not authoritative */
	HEALTH_SERVER_FAILED = 2,	/* no usable reply, or no address */
	HEALTH_SERVER_SKIPPED = 3	/* not asked: time budget used up */
};

struct health_server {
	char *name;		/* NS host name */
	char *address;		/* NULL: the name has no address */
	enum health_server_state state;
	/* for LAME, FAILED, SKIPPED: why ("no reply within 3000 ms",
	 * "REFUSED", "AA bit clear"); for ANSWERED: NULL */
	char *why;
	int rcode;		/* of the reply, -1 without one */
	int tcp;		/* answered over TCP (UDP reply truncated) */
	unsigned ms;		/* time the query took */
	/* the RRset at the owner: TLSA (and CNAME) records, sorted in
	 * canonical order, duplicates removed; none for a denial */
	struct health_rr *rrs;
	size_t rr_count;
	size_t rrsig_count;	/* RRSIGs over the RRset, or the denial */
	int rrsig_expired;	/* all of them outside their validity */
	/*
	 * The RRset's RRSIGs checked with the zone's DNSKEY RRset (as
	 * validated through libunbound): 1 one of them verifies now, 0
	 * none does (rrsig_why says why, e.g. "Bogus DNSSEC signature"),
	 * -1 not checked (no RRSIG, a denial, no secure DNSKEY RRset).
	 */
	int rrsig_verified;
	char *rrsig_why;
	int has_serial;		/* serial: the SOA serial it serves */
	uint32_t serial;
	/* ANSWERED only: which distinct RRset (report.variants); 0 is the
	 * validated one when a server has it, else the most common */
	size_t variant;
	int differs;		/* ANSWERED and variant != 0 */
};

struct consistency_report {
	char *owner;		/* "_25._tcp.mx.example.com" */
	char *zone;		/* closest enclosing zone; NULL: not found */
	/* the zone's NS RRset through libunbound */
	enum dane_answer ns_answer;
	enum dane_dnssec ns_dnssec;
	/*
	 * Why the zone was not found, or why its NS RRset did not validate
	 * (then, forwarding, the NS RRset and the servers' addresses are
	 * as the upstream gives them when asked with CD=1, and ns_dnssec
	 * is BOGUS); NULL when all went well.
	 */
	char *ns_why;
	char **ns_names;	/* sorted */
	size_t ns_count;
	/* the TLSA RRset validated through libunbound (the reference) */
	enum dane_answer answer;
	enum dane_dnssec dnssec;
	int bogus;		/* it failed DNSSEC validation */
	char *why;		/* libunbound's why_bogus or failure, NULL */
	struct health_rr *rrs;
	size_t rr_count;
	/* each (NS name, address), NS names sorted, A before AAAA */
	struct health_server *servers;
	size_t server_count;
	char **omitted;		/* "name address" beyond max_servers */
	size_t omitted_count;
	size_t variants;	/* distinct RRsets among ANSWERED servers */
	/* variant 0 equals the validated RRset: 1 yes, 0 no, -1 no
	 * validated answer to compare with */
	int matches_validated;
	int consistent;		/* 1: all ANSWERED servers: variant 0 */
	unsigned timeout_ms;	/* per query, as used */
	uint16_t port;		/* of the authoritative servers */
	/*
	 * ok: every server answered alike (and as validated); warn: those
	 * that answered agree, some failed, were lame or were not asked,
	 * serials differ, or the validated lookup failed without being
	 * bogus; fail: servers differ, a server of a signed zone gave no
	 * RRSIG, only expired ones or ones that do not verify, the TLSA
	 * RRset is bogus, no server answered or the zone was not found.
	 * summary says which servers, in one line.
	 */
	enum health_status status;
	char *summary;
};

/*
 * Find the zone of owner (a TLSA owner name, "_25._tcp.mx.example.com",
 * with or without the trailing dot): the closest enclosing name with
 * an NS RRset, through libunbound (validated; its DNSSEC status is
 * reported), resolve each NS name's A and AAAA RRsets, ask each
 * address directly (RD=0, DO=1, EDNS 1232, UDP and TCP after a
 * truncated reply; the reply must match the query's ID and question)
 * for the TLSA RRset at owner and for the zone's SOA serial, and
 * compare the RRsets (RDATA in canonical form, TTLs aside) with each
 * other and with the validated RRset.  Each server's RRSIGs over the
 * RRset are verified with the zone's DNSKEY RRset when that validates.
 * When the NS RRset or an NS name's addresses do not validate, they are
 * asked from the (first) upstream directly with CD=1, so that a zone
 * that does not validate can still be examined; ns_why says so.
 */
enum dane_result health_tlsa_consistency(const char *owner,
    const struct dane_resolver_config *rc, struct consistency_report *out);
enum dane_result health_tlsa_consistency_opt(const char *owner,
    const struct dane_resolver_config *rc, const struct health_options *opt,
    struct consistency_report *out);
void consistency_report_free(struct consistency_report *r);

#ifdef __cplusplus
}
#endif
#endif /* HEALTH_H */
