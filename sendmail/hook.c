/*
 * NAME
 *	hook.c - the module's interposers: bind sendmail's calls, forward
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
 *	getservbyname()	 once per delivery, with the third A= argument of
 *			 the mailer.  FEATURE(`dane') gives its mailers
 *			 names of their own there ("dane", "dane-only",
 *			 "smdane-none", with a port "dane-587", ...): the
 *			 answer is their port and a delivery begins
 *			 (delivery.c).  Other names pass through.
 *	res_search()	 answers the verdict channel (glue.c); every other
 *			 query passes through, its reply shown to seen.c.
 *	res_query(), res_querydomain()
 *			 pass through, their replies shown to seen.c.
 *	SSL_connect()	 delivery.c applies the policy of the host being
 *			 connected and records the outcome (conns.c).
 *			 Refusal happens in the tls_server and tls_rcpt
 *			 rulesets, through the verdict channel.
 *
 *	module.h lists the parts.  Nothing here keeps state but the
 *	settings and a recursion guard: libdane's own lookups, made while
 *	a hook runs, go straight to the real functions.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

#include "module.h"

#undef res_search
#undef res_query
#undef res_querydomain

static struct {
	int active;
	int busy;			/* recursion guard */
	struct smdane_config cfg;
} S;

/* The real functions, from the shim. */
static struct smdane_fns R;

static struct servent *
hook_getservbyname(const char *name, const char *proto)
{
	static char *no_aliases[] = { NULL };
	static struct servent ent = { .s_aliases = no_aliases };
	enum smdane_mode mode;
	uint16_t port;

	if (!S.active || S.busy || name == NULL || proto == NULL ||
	    strcmp(proto, "tcp") != 0 ||
	    smdane_service_parse(name, &mode, &port) != 0)
		return R.getservbyname(name, proto);
	/* "smtp" is a marker only in the earlier feature's cf: in a new
	 * one, anybody's lookup of the stock name changes nothing */
	if (S.cfg.version >= 2 && strncmp(name, "smtp", 4) == 0)
		return R.getservbyname(name, proto);
	dlv_begin(mode, port);
	ent.s_name = (char *)name;
	ent.s_proto = (char *)"tcp";
	ent.s_port = htons(port);
	return &ent;
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
		if (S.active && !S.busy && n > 0)
			seen_reply(answer, n < anslen ? n : anslen, 0);
		return n;
	}
	if (class != ns_c_in || type != ns_t_txt) {
		h_errno = NO_DATA;
		return -1;
	}
	S.busy = 1;
	glue_verdict(dname, text, sizeof(text));
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
	int n = R.res_query(dname, class, type, answer, anslen);

	if (S.active && !S.busy && n > 0)
		seen_reply(answer, n < anslen ? n : anslen, 0);
	return n;
}

static int
hook_res_querydomain(const char *name, const char *domain, int class,
    int type, unsigned char *answer, int anslen)
{
	int n = R.res_querydomain(name, domain, class, type, answer, anslen);

	if (S.active && !S.busy && n > 0)
		seen_reply(answer, n < anslen ? n : anslen, 1);
	return n;
}

static int
hook_ssl_connect(void *ssl)
{
	int r;

	if (!S.active || S.busy)
		return R.SSL_connect(ssl);
	S.busy = 1;
	r = dlv_connect(ssl, R.SSL_connect);
	S.busy = 0;
	return r;
}

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
	smdane_log_level(S.cfg.loglevel);
	dlv_setup(&S.cfg);
	glue_setup(&S.cfg);
	S.active = 1;
	hooks->getservbyname = hook_getservbyname;
	hooks->res_search = hook_res_search;
	hooks->res_query = hook_res_query;
	hooks->res_querydomain = hook_res_querydomain;
	hooks->SSL_connect = hook_ssl_connect;
	return 0;
}
