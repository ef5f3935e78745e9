/*
 * NAME
 *	probe.h - connect to a destination's servers as sendmail with the
 *	module would, and decide what sendmail would do with a message
 *
 * SYNOPSIS
 *	#include "probe.h"
 *
 *	int probe_session(const struct probe_opts *o, const char *server,
 *	    const struct sockaddr *sa, socklen_t salen,
 *	    const struct dane_settings *s, const struct dane_policy *p,
 *	    const struct probe_tls_opts *t, struct probe_session *out);
 *	void probe_session_clear(struct probe_session *ss);
 *	void probe_session_set_chain(struct probe_session *ss,
 *	    STACK_OF(X509) *chain);
 *	void probe_match_chain(const struct dane_policy *p,
 *	    struct probe_session *ss);
 *	void probe_explain(const struct dane_policy *p,
 *	    const struct probe_rr *rrs, size_t nrr,
 *	    struct probe_session *ss);
 *
 *	size_t probe_rr_classify(const struct dane_settings *s,
 *	    const struct dane_facts *f, struct probe_rr **out);
 *
 *	size_t probe_rollover(const struct dane_policy *p,
 *	    const struct probe_rr *rrs, size_t nrr,
 *	    const struct probe_session *main,
 *	    const struct probe_session *kt, size_t nkt,
 *	    time_t now, unsigned warn_days,
 *	    struct probe_warning *w, size_t max);
 *
 *	void probe_decide_address(struct probe_addr *a, ...);
 *	void probe_decide_destination(struct probe_dest *d);
 *	int probe_exit_status(enum probe_verdict v);
 *
 * DESCRIPTION
 *	probe_session() makes one SMTP connection: TCP connect, the
 *	greeting, EHLO, and, unless t->starttls is 0 or the server does not
 *	offer it, STARTTLS and the TLS handshake with the SSL object set up
 *	by dane_ssl_apply_level() exactly as sendmail/delivery.c does (SNI,
 *	TLSA records, reference names; nothing for levels below ENCRYPT or
 *	without a policy).  A completed handshake is read with
 *	dane_ssl_check() and gives the certificate chain the server sent;
 *	then QUIT.  Every wait is a poll() bounded by the step's timeout
 *	(connect, each SMTP reply, the handshake) and by the destination's
 *	deadline, whichever comes first; the socket is non-blocking and no
 *	signal is used.  What happened is in *out, which the caller clears
 *	with probe_session_clear().  The return value is 0, or -1 when the
 *	probe itself could not be set up (memory, OpenSSL): out->error says
 *	which.
 *
 *	${verify} (out->verify) is what sendmail would put into that macro:
 *	NONE (no STARTTLS: not offered, or not tried), TEMP (STARTTLS
 *	answered 4xx), PROTOCOL (5xx), SOFTWARE (the handshake failed), OK
 *	or FAIL (a session is up; sendmail's own certificate check, which
 *	plays no part in DANE).
 *
 *	probe_rr_classify() lists the TLSA records as published, each with
 *	its state: usable (as the module would add it to the SSL object,
 *	with the usage 0/1 mapping), unusable and why (RFC 7671 section 9,
 *	the usage 0/1 setting), or ignored through digest agility (a
 *	stronger digest of the same usage and selector is published:
 *	OpenSSL then uses only that one, RFC 7671 section 9).  The k-th
 *	usable record is the policy's usable[k] (dane_decide() keeps the
 *	order).
 *
 *	probe_match_chain() sets, for each usable record of the policy, the
 *	chain depths whose certificate or SPKI the record's data matches
 *	(a bit mask), regardless of what the usage allows: the diagnosis of
 *	a failed match, never the verdict, which is OpenSSL's
 *	(dane_ssl_check()).  probe_explain() turns the verify result and
 *	the masks into a failure class (name, expired, not-yet-valid,
 *	digest, other) and one sentence.
 *
 *	probe_rollover() writes the rollover warnings for one address
 *	(warn_days ahead of now): a certificate of a DANE-TA chain (depth 0
 *	up to the matching trust anchor) that expires within warn_days; a
 *	single usable record matching the chain that is a full-certificate
 *	digest of the leaf (3 0 x: it breaks at the next renewal even with
 *	the same key); a server that presents different leaf keys to RSA
 *	and ECDSA clients (kt: one session per key type) of which only one
 *	matched.  It returns the number of warnings written.
 *
 *	probe_decide_address() turns one connection and the module's
 *	answer into the level sendmail's delivery gets at that address;
 *	probe_decide_destination() walks the hosts in sendmail's order
 *	(first accepting host decides; a refused host is skipped and the
 *	next one tried; all refused: deferred) and probe_exit_status()
 *	maps the destination's verdict to the exit status (0 delivered,
 *	1 deferred or bounced).
 */
#ifndef SMDANE_PROBE_H
#define SMDANE_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dane.h"
#include "health.h"
#include "smdane.h"

#define PROBE_CHAIN_MAX 10
#define PROBE_TEXT 400
#define PROBE_KEYTYPES 2		/* RSA and ECDSA */

/* Default timeouts in seconds (sendmail-dane-check(8), TIMEOUTS). */
#define PROBE_CONNECT_S 10
#define PROBE_REPLY_S 30
#define PROBE_HANDSHAKE_S 30
#define PROBE_TOTAL_S 300

struct probe_opts {
	unsigned connect_s;		/* TCP connect */
	unsigned reply_s;		/* each SMTP reply */
	unsigned handshake_s;		/* the TLS handshake */
	struct timespec deadline;	/* CLOCK_MONOTONIC, whole destination */
	char ehlo[256];			/* EHLO argument */
};

/* What a handshake is set up with besides the policy. */
struct probe_tls_opts {
	int starttls;			/* 0: never send STARTTLS */
	const char *sigalgs;		/* NULL, or only these (key types) */
	const char *ciphers;		/* NULL, or TLS 1.2 suites to offer */
};

struct probe_cert {
	int depth;
	char subject[256];
	char issuer[256];
	char names[512];		/* DNS subjectAltNames, blank separated */
	char key[32];			/* "EC P-256", "RSA 2048" */
	char not_before[24];		/* 2026-01-31T12:00:00Z */
	char not_after[24];
	time_t not_before_t, not_after_t;
	char spki_sha256[65];
	char cert_sha256[65];
	unsigned char *der;		/* owned: the certificate */
	size_t der_len;
	unsigned char *spki;		/* owned: its SubjectPublicKeyInfo */
	size_t spki_len;
};

/* One SMTP connection. */
struct probe_session {
	int tried;			/* a connection was attempted */
	int connected;
	char error[PROBE_TEXT];		/* why the session ended early */
	int greeting_code;
	char greeting[256];
	int ehlo_code;
	int starttls_offered;
	int starttls_sent;
	int starttls_code;
	char starttls_reply[256];
	int tls;			/* handshake completed */
	char tls_error[PROBE_TEXT];
	char version[16];
	char cipher[64];
	char sni[DANE_NAME_MAX];	/* "" when none was sent */
	const char *verify;		/* ${verify} as sendmail sets it */
	int policy_applied;		/* dane_ssl_apply_level() was called */
	enum dane_level applied;	/* the level it put into force */
	long verify_result;		/* SSL_get_verify_result() */
	struct dane_auth auth;		/* dane_ssl_check(); matched.data NULL */
	char matched_hex[2 * 64 + 1];	/* the matched record's data (sha512) */
	int checked;			/* a DANE check was made (delivery.c
					 * records smdane_policy_digest()) */
	struct probe_cert chain[PROBE_CHAIN_MAX];
	size_t chain_len;		/* as the server sent it, leaf first */
	uint32_t *rr_match;		/* per usable record: depths matching */
	size_t rr_count;
	char failure[16];		/* name, expired, not-yet-valid, digest,
					 * other; "" when authenticated/none */
	char explain[PROBE_TEXT];	/* one sentence on a failed match */
	double seconds;
};

enum probe_rr_state {
	PROBE_RR_USABLE = 0,
	PROBE_RR_UNUSABLE = 1,
	PROBE_RR_IGNORED = 2		/* usable, but outranked (agility) */
};

/* A TLSA record as published, with what the module makes of it. */
struct probe_rr {
	struct dane_tlsa_rr rr;		/* data borrowed from the facts */
	enum probe_rr_state state;
	int usable_index;		/* index into policy->usable, or -1 */
	uint8_t eff_usage;		/* usage after the 0/1 mapping */
	char why[160];
};

struct probe_warning {
	char code[16];			/* expiry, single-301, keytype */
	char text[PROBE_TEXT];
};

/* Levels of a host and verdicts of a destination, as reported. */
enum probe_level {
	PROBE_AUTHENTICATED = 0,
	PROBE_ENCRYPTED = 1,
	PROBE_OPPORTUNISTIC = 2,
	PROBE_SKIP = 3,			/* this host is not used: next MX */
	PROBE_DEFER = 4			/* no host may be used */
};
const char *probe_level_name(enum probe_level l);

enum probe_verdict {
	PROBE_V_AUTHENTICATED = 0,
	PROBE_V_ENCRYPTED = 1,
	PROBE_V_OPPORTUNISTIC = 2,
	PROBE_V_DEFERRED = 3,
	PROBE_V_BOUNCED = 4
};
const char *probe_verdict_name(enum probe_verdict v);
/* 0 authenticated/encrypted/opportunistic, 1 deferred or bounced */
int probe_exit_status(enum probe_verdict v);

/* The access map keys one lookup walked, in order (view.c fills it). */
#define PROBE_KEYS_MAX 80
struct probe_keys {
	char key[PROBE_KEYS_MAX][DANE_NAME_MAX + 16];
	size_t n;
	int matched;			/* index of the key that matched, -1 */
	char value[128];		/* its right-hand side */
	int error;			/* the map could not be read */
};

/* One address of one host: the connection and sendmail's answer. */
struct probe_addr {
	char addr[64];			/* numeric */
	char server_addr[80];		/* ${server_addr}: a.b.c.d, IPv6:... */
	int family;
	struct sockaddr_storage sa;
	socklen_t salen;
	/* the mode for this (next hop, server, address): glue.c mode_for */
	enum smdane_mode mode;
	char mode_error[PROBE_TEXT];	/* an access map failure: refused */
	struct probe_keys access;	/* DANE: keys tried */
	struct probe_keys trytls;	/* Try_TLS: keys tried */
	int trytls_no;			/* Try_TLS: ... NO: no STARTTLS */
	int fallback_clear;		/* TLSFallbacktoClear or flag C */
	int module_no_starttls;		/* the hook refuses at try_tls:
					 * sendmail sends no STARTTLS */
	struct probe_session main;	/* as sendmail with the module */
	struct probe_session dane;	/* mode none: as mode dane would */
	struct probe_session kt[PROBE_KEYTYPES];
	/* what the module answers at tls_server: "OK", FAIL "..." */
	char answer[PROBE_TEXT];
	char would[PROBE_TEXT];		/* audit and none: mode dane's answer */
	enum probe_level would_level;
	int has_would;
	enum probe_level level;
	char reason[PROBE_TEXT];	/* mailq text when refused, else why */
	int accepted;			/* sendmail would deliver here */
	struct probe_warning warn[8];
	size_t warn_count;
};

/* One MX host (or the relay, the implicit MX, a fallback host). */
struct probe_host {
	char name[DANE_NAME_MAX];
	int preference;			/* MX preference, -1 when none */
	const char *role;		/* mx, implicit, relay, literal,
					 * fallback, given */
	struct dane_facts *facts;	/* owned */
	struct dane_policy *policy;	/* owned; NULL: error */
	enum dane_result error;
	char original[DANE_NAME_MAX];	/* a name canonified to the next hop
					 * that was added as reference name */
	struct probe_rr *rrs;		/* owned, rr_count entries */
	size_t rr_count;
	int addr_failed;		/* 1 temporary failure, 2 no address */
	char addr_error[PROBE_TEXT];
	struct probe_addr *addrs;	/* owned */
	size_t addr_count;
	int decides;			/* the host sendmail would deliver to */
	int reached;			/* sendmail would try it (no host
					 * before it accepted) */
	/* the DNSSEC status of each answer the facts were made of */
	struct health_answers answers;	/* owned */
	/* the TLSA RRset as each authoritative server of its zone gives
	 * it (only where a TLSA RRset was found) */
	struct consistency_report tlsa_servers;	/* owned */
	int tlsa_servers_done;
};

enum probe_mx {
	PROBE_MX_FOUND = 0,
	PROBE_MX_NODATA = 1,		/* no MX: the domain itself */
	PROBE_MX_NULL = 2,		/* RFC 7505 null MX: bounced */
	PROBE_MX_NXDOMAIN = 3,		/* bounced */
	PROBE_MX_TEMP = 4,		/* lookup failed: deferred */
	PROBE_MX_RELAY = 5,		/* [host]: no MX lookup */
	PROBE_MX_LITERAL = 6		/* [address] */
};

struct probe_dest {
	char input[DANE_NAME_MAX];	/* as given */
	char nexthop[DANE_NAME_MAX];	/* $h, no trailing dot */
	int canonified;			/* sendmail's canonification ended in
					 * a dot (it found the name) */
	uint16_t port;
	enum probe_mx mx;
	char mx_text[PROBE_TEXT];
	int mx_equal;			/* equal preferences seen */
	struct probe_host *hosts;	/* owned */
	size_t host_count;
	enum probe_verdict verdict;
	char status[PROBE_TEXT];	/* mailq text: Deferred: ... */
	char reason[PROBE_TEXT];
	int by_host, by_addr;		/* the deciding address, -1 */
	struct dane_policy *policy;	/* owned: libdane's policy for the
					 * next hop itself, when sendmail
					 * finds no host to try */
	enum dane_result policy_error;
	int connected;			/* a probe connection was made */
	int no_connect;			/* --no-connect: DNS only */
};

int probe_session(const struct probe_opts *o, const char *server,
    const struct sockaddr *sa, socklen_t salen,
    const struct dane_settings *s, const struct dane_policy *p,
    const struct probe_tls_opts *t, struct probe_session *out);
void probe_session_clear(struct probe_session *ss);
void probe_session_set_chain(struct probe_session *ss, STACK_OF(X509) *chain);
void probe_match_chain(const struct dane_policy *p, struct probe_session *ss);
void probe_explain(const struct dane_policy *p, const struct probe_rr *rrs,
    size_t nrr, struct probe_session *ss);

size_t probe_rr_classify(const struct dane_settings *s,
    const struct dane_facts *f, struct probe_rr **out);

size_t probe_rollover(const struct dane_policy *p, const struct probe_rr *rrs,
    size_t nrr, const struct probe_session *main,
    const struct probe_session *kt, size_t nkt, time_t now,
    unsigned warn_days, struct probe_warning *w, size_t max);

/* The key types probe_rollover() compares and how a client asks for them. */
struct probe_keytype {
	const char *name;		/* "RSA", "ECDSA" */
	const char *sigalgs;
	const char *ciphers;		/* TLS 1.2 */
};
extern const struct probe_keytype probe_keytypes[PROBE_KEYTYPES];

/*
 * What the hook answers in `phase` (try_tls, tls_server) for mode `mode`
 * on this session,
 * as glue.c does once the mode is known: smdane_verdict() with a struct
 * smdane_conn filled as delivery.c fills it, "DNS lookups impossible"
 * without a policy.  Writes "OK" or FAIL "<reason>".
 */
void probe_answer(enum smdane_mode mode, const struct probe_host *h,
    const char *nexthop, uint16_t port, const char *phase,
    const struct probe_session *ss, const char *verify, char *out,
    size_t size);

/*
 * The level of one address from its session, the module's answer
 * (a->answer, already set) and the mode: refused (skip/defer, with the
 * text mailq would show) or accepted (authenticated, encrypted,
 * opportunistic).  Sets a->level, a->reason, a->accepted.
 */
void probe_decide_address(const struct probe_host *h, struct probe_addr *a);
/*
 * --no-connect: the level the DNS alone predicts for an address whose
 * a->answer was taken at try_tls (policy refusals only): refused as
 * above, else the policy's level assuming TLS works and, at level dane,
 * a matching certificate.
 */
void probe_predict_address(const struct probe_host *h, struct probe_addr *a);
void probe_decide_destination(struct probe_dest *d);

void probe_host_free(struct probe_host *h);
void probe_dest_free(struct probe_dest *d);

/* "Connection refused by host." and the like, as sendmail says it. */
void probe_connect_text(int err, const char *host, char *out, size_t size);

/* The FAIL "..." text without its quotes (the reason); "" for OK. */
void probe_answer_reason(const char *answer, char *out, size_t size);

#endif /* SMDANE_PROBE_H */
