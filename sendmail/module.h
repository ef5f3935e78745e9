/*
 * NAME
 *	module.h - the parts of the hook module and what they share
 *
 * DESCRIPTION
 *	The module (libsendmail-dane-module.so) is made of small parts,
 *	each holding one kind of state for exactly as long as what it
 *	describes, each with a unit test program of its own:
 *
 *	hook.c	   the interposers: bind sendmail's calls to the parts
 *		   below and forward them; no state of their own
 *	log.c	   the module's syslog lines and confSMDANE_LOGLEVEL
 *	delivery.c the delivery in progress: its mailer's mode and port,
 *		   bound to its next hop, the policies of the (server,
 *		   next hop) pairs it touched, the connection being set up
 *	conns.c	   what each completed handshake showed, kept with its
 *		   SSL object and gone when sendmail frees it
 *	seen.c	   the CNAMEs sendmail's own lookups met, for the
 *		   deliveries they belong to
 *	glue.c	   the verdict channel's answers: mode per destination
 *		   (access map), policy, connection, verdict.c's decision,
 *		   one log line per connection
 */
#ifndef SMDANE_MODULE_H
#define SMDANE_MODULE_H

#include <time.h>

#include <openssl/ssl.h>

#include "smdane.h"

/* ---- log.c ---------------------------------------------------------- */

/* confSMDANE_LOGLEVEL (0..3) for the lines below. */
void smdane_log_level(int level);
/* 1 if a line of this priority is written at the current level. */
int smdane_log_wanted(int prio);
/* One LOG_MAIL line, if wanted; errno is preserved. */
void smdane_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* libdane's log callback (struct dane_resolver_config.log_fn). */
void smdane_log_dane(void *arg, int prio, const char *line);

/* ---- seen.c --------------------------------------------------------- */

/*
 * A reply sendmail received for its own lookup; canon is 1 when it
 * came through res_querydomain(), which sendmail uses to canonify
 * addresses ($[ $]), 0 for res_search()/res_query().
 */
void seen_reply(const unsigned char *pkt, int len, int canon);
/*
 * The names sendmail canonified to target through CNAMEs, as far as
 * its cache of them can still be in use: at most max, into list
 * (pointers valid until the next seen_ call).
 */
size_t seen_originals(const char *target, const char *list[], size_t max);
/* 1 if sendmail canonified target as itself (no alias led there). */
int seen_self(const char *target);
/* Records held; forget them all (tests). */
size_t seen_count(void);
void seen_forget(void);
void seen_set_clock(time_t (*fn)(time_t *));

/* ---- conns.c -------------------------------------------------------- */

/*
 * Record what the completed handshake of ssl showed (the server's
 * certificate peer): 0, or -1 if it could not be recorded (the session
 * then counts as unchecked).  A second call for the same SSL object
 * changes nothing.
 */
int conns_record(SSL *ssl, X509 *peer, const char *server,
    const struct smdane_conn *conn, int checked);
/*
 * The record of a live session with this server whose certificate has
 * this digest (MD5, SHA-1, SHA-256 or SHA-512, hex): the newest
 * checked one, else the newest; NULL if none.
 */
struct smdane_conn *conns_find(const char *server, const char *certfp);
/* Records of live sessions. */
size_t conns_count(void);

/* ---- delivery.c ----------------------------------------------------- */

/* The policy of one (server, next hop) pair of the delivery. */
struct dlv_policy {
	struct dlv_policy *next;
	char server[DANE_NAME_MAX];
	char nexthop[DANE_NAME_MAX];
	char original[DANE_NAME_MAX];	/* first name canonified to it */
	struct dane_policy *policy;
	size_t own_refnames;		/* policy->refnames[] of the next
					 * hop itself; the rest are names
					 * canonified to it */
	size_t identities;		/* secure names it is reached by */
	enum dane_result error;		/* gather/decide failed */
	int logged;			/* this connection's line is written */
	int rcpt_logged;
};

/* Settings for the whole process (the caller keeps cfg alive). */
void dlv_setup(const struct smdane_config *cfg);
/* A delivery begins (getservbyname of a mailer's service name). */
void dlv_begin(enum smdane_mode mode, uint16_t port);
/*
 * The mailer's mode for a query about next hop nexthop.  A delivery's
 * mode holds for its own next hop only ($h is the same for all its
 * queries): the first query binds it; a query about another next hop
 * without a new delivery in between came from a delivery that said
 * nothing (a mailer with a numeric port), and gets
 * SMDANE_MODE_UNKNOWN, as does every query before the first delivery.
 * With nexthop NULL: the mode, without binding it.
 */
enum smdane_mode dlv_mode(const char *nexthop);
/* The connection being set up is not on the delivery's port. */
void dlv_port_mismatch(void);
uint16_t dlv_port(void);
/*
 * The policy of (server, nexthop), gathered on first use in this
 * delivery; never NULL (a failure is in ->error, ->policy NULL).
 */
struct dlv_policy *dlv_policy(const char *server, const char *nexthop);
/* Policies held (tests). */
size_t dlv_policy_count(void);
/* try_tls of a new connection: what SSL_connect will apply. */
void dlv_pending(const char *server, const char *nexthop,
    enum smdane_mode mode);
/* The pending connection; 0 if none or it has no DANE mode. */
int dlv_pending_get(const char **server, const char **nexthop);

/*
 * SSL_connect() of the pending connection (next is the real one): the
 * policy applied on the first call, the outcome recorded (conns.c).
 */
int dlv_connect(SSL *ssl, int (*next)(void *));

/* Tests: DNS work without a resolver. */
typedef enum dane_result (*dlv_gather_fn)(const char *nexthop,
    const char *server, uint16_t port, struct dane_facts **out);
void dlv_set_gather(dlv_gather_fn fn);

/* ---- glue.c --------------------------------------------------------- */

/* The answer ("OK" or FAIL "<reason>") to one channel query name. */
void glue_verdict(const char *name, char *answer, size_t size);
/* Settings (the caller keeps cfg alive). */
void glue_setup(const struct smdane_config *cfg);

#endif /* SMDANE_MODULE_H */
