/*
 * NAME
 *	view.h - sendmail's view of a destination: the live sendmail.cf,
 *	the mailer sendmail -bv picks, its DANE mode and the access map
 *
 * SYNOPSIS
 *	#include "view.h"
 *
 *	void view_init(struct view *v);
 *	int view_read_cf(struct view *v, const char *path);
 *	int view_parse_mailer(const char *line, struct view_mailer *m);
 *	int view_parse_bv(const char *text, char *mailer, size_t msize,
 *	    char *host, size_t hsize, char *err, size_t esize);
 *	int view_route(struct view *v, const char *sendmail,
 *	    const char *dest, const char *mailer, unsigned timeout_s);
 *	size_t view_keys_domain(const char *tag, const char *name,
 *	    struct probe_keys *k);
 *	size_t view_keys_addr(const char *tag, const char *addr,
 *	    struct probe_keys *k);
 *	void view_server_addr(const struct sockaddr *sa, char *out,
 *	    size_t size);
 *	int view_gate(const struct view *v, char *answer, char *would,
 *	    size_t size);
 *	void view_mode_for(struct view *v, const char *nexthop,
 *	    const char *server, struct probe_addr *a);
 *	enum probe_mx view_mx(const char *domain, struct view_mx *mx,
 *	    size_t max, size_t *n, char *err, size_t esize);
 *	void view_free(struct view *v);
 *
 * DESCRIPTION
 *	view_read_cf() reads the D{smdane_*} settings with the module's own
 *	smdane_config_read() (sendmail/config.c, linked into the tool), the
 *	access map from the Kaccess line as config.c finds it, the mailer
 *	definitions (M lines: P=, A=) and the options that change what
 *	sendmail does after a refusal or a failed handshake
 *	(FallbackMXhost, FallBackSmartHost, TLSFallbacktoClear).  It
 *	returns -1 when the file cannot be opened (v->cf_error says why).
 *
 *	view_parse_mailer() parses one mailer definition (continuation
 *	lines joined) into its name, P= and A= and the third argument of
 *	A=, from which smdane_service_parse() gives the mailer's DANE mode
 *	and port; returns -1 if the line is no M line.
 *
 *	view_parse_bv() reads the output of `sendmail -bv address`:
 *	"address... deliverable: mailer esmtp, host example.com., user
 *	address" gives the mailer and the host ($h, "" for mailers without
 *	one); returns 0, or -1 with the line sendmail printed instead in
 *	err.  view_route() runs it (the sendmail binary with -C cf, a clean
 *	environment, at most timeout_s seconds) unless `mailer` names one,
 *	and falls back to the cf's esmtp mailer, saying so, when sendmail
 *	is missing or says nothing usable.  It then fills the mailer's
 *	mode and port (mode none without FEATURE(`dane'), unknown for a
 *	third A= argument the module cannot read) and returns 0, or -1 when
 *	the mailer is no SMTP mailer (v->route_error).
 *
 *	view_keys_domain() and view_keys_addr() append to k the access map
 *	keys a lookup walks, in its order, exactly as libdane's
 *	dane_access_domain() and dane_access_addr() do (sendmail's
 *	LookUpDomain and LookUpAddress): "tag:name", then ".parent" and
 *	"parent" for each parent; "tag:a.b.c.d", "tag:a.b.c", ...;
 *	"tag:IPv6:..." by ':' parts.  view_server_addr() writes an address
 *	the way sendmail puts it into ${server_addr}.
 *
 *	view_gate() is what the hook answers before any policy (glue.c
 *	glue_verdict(): D{smdane_fatal}, a mailer that told no mode, a
 *	mailer without DANE, one the feature could not serve, a bad
 *	setting), or 0 when the mode decides; `would` receives the answer
 *	an audit mailer only logs.  view_mode_for() is glue.c's mode_for()
 *	for one address: the DANE: keys of the next hop, the server name
 *	and the server address with the one that matched, the mode
 *	smdane_mode_resolve() gives, or the refusal of a bad entry or an
 *	unreadable map; and the Try_TLS: and TLS_Clt_Features: entries
 *	sendmail's own rules look up for the server.
 *
 *	view_mx() looks up the MX RRset of domain as sendmail does (the
 *	system resolver, resolv.conf; nothing validated: sendmail routes
 *	with what it gets) and lists the hosts by preference, those of
 *	equal preference in the order of the reply (sendmail shuffles
 *	them per process).  It returns PROBE_MX_FOUND, NODATA (no MX: the
 *	domain itself), NULL (RFC 7505), NXDOMAIN or TEMP (err says why).
 */
#ifndef SMDANE_VIEW_H
#define SMDANE_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "probe.h"
#include "smdane.h"

#define VIEW_SENDMAIL "/usr/sbin/sendmail"
#define VIEW_CF "/etc/mail/sendmail.cf"
#define VIEW_BV_TIMEOUT 60

struct view_mailer {
	char name[32];
	char path[64];			/* P= */
	char args[256];			/* A= */
	char service[64];		/* third argument of A=, "" if none */
	enum smdane_mode mode;
	uint16_t port;
};

struct view {
	char cf[1024];
	int cf_read;
	char cf_error[256];
	struct smdane_config cfg;
	struct view_mailer *mailers;
	size_t mailer_count;
	char fallback_mx[DANE_NAME_MAX];
	char fallback_smarthost[DANE_NAME_MAX];
	int tls_fallback_clear;
	char access_path[1024];		/* "" none */
	char access_from[64];		/* where access_path came from */
	char access_denied[1024];	/* a map this user cannot read (not
					 * looked up; sendmail, as root, can) */
	struct dane_access *access;
	/* the destination's route */
	char address[DANE_NAME_MAX + 16]; /* what -bv was asked about */
	char mailer[32];
	char host[DANE_NAME_MAX];	/* $h as sendmail -bv prints it */
	char route_from[PROBE_TEXT];	/* how the mailer was found */
	char bv_line[PROBE_TEXT];	/* sendmail -bv's answer */
	int bv_failed;
	char route_error[PROBE_TEXT];
	const struct view_mailer *m;
	enum smdane_mode mailer_mode;
	uint16_t port;
};

void view_init(struct view *v);
int view_read_cf(struct view *v, const char *path);
int view_parse_mailer(const char *line, struct view_mailer *m);
int view_parse_bv(const char *text, char *mailer, size_t msize, char *host,
    size_t hsize, char *err, size_t esize);
int view_route(struct view *v, const char *sendmail, const char *dest,
    const char *mailer, unsigned timeout_s);
size_t view_keys_domain(const char *tag, const char *name,
    struct probe_keys *k);
size_t view_keys_addr(const char *tag, const char *addr,
    struct probe_keys *k);
void view_server_addr(const struct sockaddr *sa, char *out, size_t size);
int view_gate(const struct view *v, char *answer, char *would, size_t size);
void view_mode_for(struct view *v, const char *nexthop, const char *server,
    struct probe_addr *a);
struct view_mx {
	char name[DANE_NAME_MAX];
	int pref;
};
enum probe_mx view_mx(const char *domain, struct view_mx *mx, size_t max,
    size_t *n, char *err, size_t esize);
void view_free(struct view *v);

#endif /* SMDANE_VIEW_H */
