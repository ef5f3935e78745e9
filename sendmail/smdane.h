/*
 * NAME
 *	smdane.h - internal interface of the sendmail hook module
 *
 * DESCRIPTION
 *	The hook module is loaded into the stock sendmail binary by the
 *	set-user-ID shim that LD_PRELOAD names (activate.h).  It learns
 *	the mailer's DANE mode from getservbyname(), answers the verdict
 *	channel that FEATURE(`dane') adds to sendmail.cf (TXT lookups of
 *	names under dane-hook.invalid made through res_search()), and
 *	applies the DANE policy to the client SSL object in SSL_connect().
 *
 *	All policy and DNS work is done by libdane; this layer keeps the
 *	per-process state that ties sendmail's calls together.
 */
#ifndef SMDANE_H
#define SMDANE_H

#include <stddef.h>
#include <stdint.h>

#include "activate.h"
#include "dane.h"

/* Mode of the mailer in the current delivery (A= third argument). */
enum smdane_mode {
	SMDANE_MODE_NONE = 0,	/* no DANE: stock behaviour */
	SMDANE_MODE_DANE = 1,	/* opportunistic DANE ("dane") */
	SMDANE_MODE_ONLY = 2,	/* mandatory DANE ("dane-only") */
	SMDANE_MODE_ENCRYPT = 3, /* TLS required, DANE where published */
	/* a listed mailer whose arguments FEATURE(`dane') could not
	 * serve ("dane-unserved", with an m4 error): always refused */
	SMDANE_MODE_UNSERVED = 4,
	/* a query of a delivery that told no mode (its mailer's third
	 * A= argument is a number, so it is no mailer of the feature) */
	SMDANE_MODE_UNKNOWN = 5,
	/* a mailer doing DANE only for destinations a DANE: access entry
	 * names ("dane-optin"); stock behaviour for all others */
	SMDANE_MODE_OPTIN = 6,
	/* facts gathered and sessions authenticated as with "dane", the
	 * verdict only logged, delivery as without DANE ("dane-audit",
	 * or a DANE: entry "audit") */
	SMDANE_MODE_AUDIT = 7
};

/*
 * A DANE: access map value: "none", "may", "encrypt", "dane",
 * "dane-only", "audit": 0, or -1 if unknown.
 */
int smdane_mode_parse(const char *value, enum smdane_mode *mode);
const char *smdane_mode_name(enum smdane_mode mode);
/*
 * The mode for one destination of a delivery through a mailer of mode
 * mailer, when a DANE: access entry was found (found != 0, its value
 * entry) or not: entries apply to the mailers of the feature only, and
 * win over the mailer's mode in both directions; an opt-in mailer does
 * DANE only where an entry says so.  Pure (cf/README, "Mode of a
 * destination").
 */
enum smdane_mode smdane_mode_resolve(enum smdane_mode mailer, int found,
    enum smdane_mode entry);
/*
 * A= service names FEATURE(`dane') gives mailers: "dane", "dane-only",
 * "dane-optin", "dane-audit", with a port "dane-587", "dane-only-587",
 * "dane-optin-587", "dane-audit-587", "smdane-none" and
 * "smdane-none-2525" for the mailers without DANE ("smtp", "smtp-2525"
 * in the cf of the earlier feature), and "dane-unserved" for a listed
 * mailer whose arguments the feature refused.  Returns 0 and sets *mode and *port (25
 * when absent), or -1 if name is not one of them.
 */
int smdane_service_parse(const char *name, enum smdane_mode *mode,
    uint16_t *port);

/* Configuration read from sendmail.cf D{smdane_*} lines. */
struct smdane_config {
	int present;			/* FEATURE(`dane') seen in the cf */
	int version;			/* of the feature's cf lines */
	int error;			/* a setting was invalid */
	char error_text[160];
	/* the feature found the cf unservable (D{smdane_fatal}): every
	 * SMTP delivery is refused, whatever its mailer */
	int fatal;
	char fatal_text[160];
	struct dane_settings settings;
	char upstream[256];		/* "", "recurse" or addresses */
	char resolv_conf[256];		/* "" = /etc/resolv.conf */
	char trust_anchor[256];		/* "" = dns-root-data's root.key */
	char unbound_conf[256];		/* "" = none */
	unsigned dns_timeout_ms;	/* DNS time per delivery, 0 = default */
	char access_db[1024];		/* access map file, "" if none */
	char access_unreadable[16];	/* type of an access map we cannot
					 * read (its DANE: entries are not
					 * seen), "" if none */
	int loglevel;			/* 0 quiet .. 3 debug */
};

/* config.c */
int smdane_config_parse_line(struct smdane_config *c, const char *line);
void smdane_config_init(struct smdane_config *c);
int smdane_config_read(struct smdane_config *c, const char *path);

/* verdict.c: the channel name and its answer. */
/*
 * The label before dane-hook.invalid is longer than 63 octets: such a
 * name cannot be encoded as a DNS query, so glibc fails it locally
 * (NO_RECOVERY) and no resolver can ever answer it.  Without the module
 * the rules therefore defer whatever the resolver would have said.
 */
#define SMDANE_LONG_LABEL \
	"no-resolver-can-answer-this-name-its-label-exceeds-sixty-three-bytes"
#define SMDANE_SUFFIX ".v1." SMDANE_LONG_LABEL ".dane-hook.invalid"

struct smdane_query {
	char phase[16];			/* try_tls, tls_server, tls_rcpt */
	char verify[24];		/* ${verify}, "none" when empty */
	char server[DANE_NAME_MAX];	/* ${server_name} */
	char addr[64];			/* ${server_addr}, "" if unknown */
	char nexthop[DANE_NAME_MAX];	/* $&h without trailing dot */
	char rcpt[DANE_NAME_MAX];	/* recipient domain (tls_rcpt) or "" */
	char certfp[200];		/* ${cert_md5} or ${cert_fp}, hex only */
};

/* 1 if name (with or without final dot) belongs to the channel. */
int smdane_is_channel_name(const char *name);
/* Parse a channel name; 0 on success, -1 if malformed. */
int smdane_query_parse(const char *name, struct smdane_query *q);
/*
 * Build a DNS response carrying one TXT string `text` for question
 * `name` into buf; returns its length or -1 if it does not fit.
 */
int smdane_txt_response(const char *name, const char *text,
    unsigned char *buf, int size);
/* Copy text into dst keeping only characters safe in a cf reply. */
void smdane_sanitize(char *dst, size_t size, const char *text);

/* State of one connection to a server host, as seen through the hooks. */
struct smdane_conn {
	int tls;			/* handshake completed */
	struct dane_auth auth;
	enum dane_level level;		/* policy applied at handshake */
	char nexthop[DANE_NAME_MAX];	/* destination it was set up for */
	char peername[DANE_NAME_MAX];	/* name a DANE-TA check matched */
	uint64_t checked_against;	/* smdane_policy_digest() of the check */
};

/*
 * A digest of what a DANE check depends on besides the certificate: the
 * TCP port, the TLSA base domain and the usable records.  A recorded
 * check counts for another connection only when this is unchanged.
 */
uint64_t smdane_policy_digest(const struct dane_policy *p, uint16_t port);

/*
 * Decide the answer to one verdict query, given the policy for the
 * (nexthop, server) pair, the delivery mode and what is known of the
 * connection.  Writes "OK" or "FAIL <reason>" into out.  Pure.
 */
void smdane_verdict(enum smdane_mode mode, const struct dane_policy *p,
    uint16_t port, const struct smdane_query *q,
    const struct smdane_conn *conn, char *out, size_t size);

/* 1 if the ${verify} value means a TLS session is up. */
int smdane_verify_is_tls(const char *verify);

#endif /* SMDANE_H */
