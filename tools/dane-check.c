/*
 * NAME
 *	sendmail-dane-check - show the DANE policy for a destination
 *
 * SYNOPSIS
 *	sendmail-dane-check [-r resolv.conf] [-u upstream] [-a anchor]
 *	    [-c unbound.conf] [-t seconds] [-o] [-p port]
 *	    [-s strict|ta-digests] [-v] destination [host...]
 *
 * DESCRIPTION
 *	Looks up, as the sendmail module does, the facts for delivering to
 *	destination (a domain, "[relay.host]" or "[192.0.2.1]") and prints
 *	one line per server host: the level (dane, encrypt, opportunistic,
 *	skip, defer), the reason, the TLSA base domain, the reference names
 *	and the usable TLSA records.  Without host arguments the hosts are
 *	the destination's MX hosts in the order the MX RRset lists them
 *	(or the destination itself).  It uses libdane directly, so it shows
 *	what the module would decide, without sendmail.  DNSSEC is
 *	validated in-process against the trust anchor (-a, default
 *	/usr/share/dns/root.key) with lookups forwarded to the nameservers
 *	of resolv.conf (-r), to the addresses given with -u, or, with
 *	-u recurse, sent to the authoritative servers; -c reads further
 *	libunbound settings from an unbound.conf(5)-style file.  -t sets the DNS
 *	time budget per destination; -o treats an upstream that delivers
 *	no DNSSEC as "DANE does not apply" instead of "defer".  Log lines
 *	(the upstream check, validation failures) go to standard error,
 *	with -v also libunbound's own messages.
 *
 * DIAGNOSTICS
 *	Exit status 0 when every host could be evaluated, 1 when the
 *	resolver is unusable or an argument is invalid, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "dane.h"

static int verbose;

static void
to_stderr(void *arg, int prio, const char *line)
{
	(void)arg;
	if (prio < LOG_DEBUG || verbose)
		fprintf(stderr, "sendmail-dane-check: %s\n", line);
}

static void
show(const char *host, const struct dane_policy *p)
{
	char rr[64];
	size_t i;

	printf("%s: %s, %s", host, dane_level_name(p->level),
	    dane_reason_text(p->reason));
	if (p->dsn[0] != '\0')
		printf(", %s", p->dsn);
	if (p->base_domain[0] != '\0')
		printf(", base %s", p->base_domain);
	for (i = 0; i < p->refname_count; i++)
		printf("%s%s", i == 0 ? ", names " : " ", p->refnames[i]);
	for (i = 0; i < p->usable_count; i++) {
		dane_tlsa_format(&p->usable[i], rr, sizeof(rr));
		printf("%s%s", i == 0 ? ", tlsa " : "; ", rr);
	}
	if (p->unusable_count > 0)
		printf(", %zu unusable", p->unusable_count);
	printf("\n");
}

static int
check(struct dane_ctx *ctx, const struct dane_settings *s, const char *dest,
    const char *host, unsigned port)
{
	struct dane_facts *f = NULL;
	struct dane_policy *p = NULL;
	enum dane_result r;

	dane_ctx_budget_reset(ctx);
	r = dane_gather(ctx, dest, host, (uint16_t)port, &f);
	if (r == DANE_OK)
		r = dane_decide(s, f, &p);
	if (r != DANE_OK) {
		printf("%s: error: %s\n", host, dane_strerror(r));
		dane_facts_free(f);
		return 1;
	}
	show(host[0] != '\0' ? host : dest, p);
	dane_policy_free(p);
	dane_facts_free(f);
	return 0;
}

int
main(int argc, char **argv)
{
	struct dane_resolver_config rc;
	struct dane_settings s;
	struct dane_facts *f = NULL;
	struct dane_ctx *ctx = NULL;
	enum dane_result r;
	unsigned port = 25;
	int c, bad = 0, i;
	size_t k;

	memset(&rc, 0, sizeof(rc));
	rc.log_fn = to_stderr;
	dane_settings_default(&s);
	while ((c = getopt(argc, argv, "r:u:a:c:t:op:s:v")) != -1) {
		switch (c) {
		case 'r':
			rc.resolv_conf = optarg;
			break;
		case 'u':
			rc.upstream = optarg;
			break;
		case 'a':
			rc.trust_anchor = optarg;
			break;
		case 'c':
			rc.unbound_conf = optarg;
			break;
		case 't':
			rc.timeout_ms = (unsigned)strtoul(optarg, NULL, 10) *
			    1000;
			if (rc.timeout_ms == 0 || rc.timeout_ms > 600000)
				goto usage;
			break;
		case 'o':
			s.no_dnssec = DANE_NO_DNSSEC_OPPORTUNISTIC;
			break;
		case 'v':
			verbose = 1;
			rc.verbosity = 2;
			break;
		case 'p':
			port = (unsigned)strtoul(optarg, NULL, 10);
			if (port == 0 || port > 65535)
				goto usage;
			break;
		case 's':
			if (strcmp(optarg, "strict") == 0)
				s.usage01 = DANE_USAGE01_STRICT;
			else if (strcmp(optarg, "ta-digests") == 0)
				s.usage01 = DANE_USAGE01_TA_DIGESTS;
			else
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	if ((r = dane_ctx_new(&rc, &ctx)) != DANE_OK) {
		fprintf(stderr, "sendmail-dane-check: resolver: %s\n",
		    dane_strerror(r));
		return 1;
	}
	if (optind + 1 < argc) {
		for (i = optind + 1; i < argc; i++)
			bad |= check(ctx, &s, argv[optind], argv[i], port);
	} else if (argv[optind][0] == '[') {
		/* a relay or an address literal: the host itself */
		bad |= check(ctx, &s, argv[optind], "", port);
	} else {
		/* the MX hosts (in the order the RRset lists them, not by
		 * preference), learned from a first gathering */
		dane_ctx_budget_reset(ctx);
		r = dane_gather(ctx, argv[optind], argv[optind],
		    (uint16_t)port, &f);
		if (r != DANE_OK) {
			fprintf(stderr, "sendmail-dane-check: %s: %s\n",
			    argv[optind], dane_strerror(r));
			dane_ctx_free(ctx);
			return 1;
		}
		if (f->mx_count == 0)
			bad |= check(ctx, &s, argv[optind], argv[optind],
			    port);
		for (k = 0; k < f->mx_count; k++)
			bad |= check(ctx, &s, argv[optind], f->mx_hosts[k],
			    port);
		dane_facts_free(f);
	}
	dane_ctx_free(ctx);
	return bad;
usage:
	fprintf(stderr, "usage: sendmail-dane-check [-r resolv.conf] "
	    "[-u upstream] [-a anchor] [-c unbound.conf] [-t seconds] [-o] [-p port] "
	    "[-s strict|ta-digests] [-v] destination [host...]\n");
	return 2;
}
