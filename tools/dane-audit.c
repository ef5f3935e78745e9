/*
 * NAME
 *	sendmail-dane-audit - what DANE would have done, from the mail log
 *
 * SYNOPSIS
 *	sendmail-dane-audit [--json] [--all] [--since YYYY-MM-DD[THH:MM]]
 *	    [--domain domain] [file... | -]
 *
 * DESCRIPTION
 *	Reads sendmail's log (default /var/log/mail.log and its rotations,
 *	oldest first; "-" is standard input, e.g. journalctl -t sendmail
 *	-o short-iso) and summarises the module's line of each connection
 *	per destination and per server: authenticated, would be deferred
 *	(with each reason, the TLSA records and the match detail), TLS
 *	only, opportunistic, refused before any policy; first and last
 *	seen; and an advice (enforce, check, none-needed).  By default only
 *	lines of the audit mode count (mode=audit); --all counts every
 *	mode.  The parsing and counting are tools/audit.c's.
 *
 * DIAGNOSTICS
 *	Exit status 0 when every file could be read, 1 when one could not
 *	(named on standard error; the others are still summarised) or
 *	memory ran out, 2 on usage errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

#define PROG "sendmail-dane-audit"
#define MAIL_LOG "/var/log/mail.log"

static void
usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--json] [--all] "
	    "[--since YYYY-MM-DD[THH:MM]] [--domain domain] [file... | -]\n"
	    "  default files: " MAIL_LOG " and its rotations, oldest first "
	    "(" MAIL_LOG ".N.gz ... " MAIL_LOG ".1 " MAIL_LOG ")\n"
	    "  -: standard input, e.g. journalctl -t sendmail -o short-iso "
	    "| " PROG " -\n");
}

static int
nomem(struct audit *a, char **files, size_t n)
{
	fprintf(stderr, PROG ": out of memory: the summary would be "
	    "incomplete, none printed\n");
	audit_free(a);
	audit_files_free(files, n);
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "since", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct audit_opts o;
	struct audit *a;
	char **files = NULL, err[512];
	size_t nfiles = 0, i;
	int c, json = 0, status = 0, rc;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "jas:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'a':
			o.all = 1;
			break;
		case 's':
			if (audit_parse_since(optarg, o.since) != 0) {
				fprintf(stderr, PROG ": --since %s: not "
				    "YYYY-MM-DD or YYYY-MM-DDTHH:MM\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'd':
			if (optarg[0] == '\0' || strcmp(optarg, ".") == 0 ||
			    strchr(optarg, ' ') != NULL) {
				fprintf(stderr, PROG ": --domain: not a domain "
				    "name\n");
				usage(stderr);
				return 2;
			}
			o.domain = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (argv[i][0] == '\0') {
			fprintf(stderr, PROG ": empty file name\n");
			usage(stderr);
			return 2;
		}
	if ((a = audit_new(&o)) == NULL)
		return nomem(NULL, NULL, 0);
	if (optind >= argc &&
	    audit_default_files(MAIL_LOG, &files, &nfiles) != 0)
		return nomem(a, NULL, 0);
	for (i = 0; i < (optind < argc ? (size_t)(argc - optind) : nfiles);
	    i++) {
		const char *f = optind < argc ? argv[optind + (int)i] :
		    files[i];

		err[0] = '\0';
		if (strcmp(f, "-") == 0)
			rc = audit_read_fd(a, 0, "-", err, sizeof(err));
		else
			rc = audit_read_file(a, f, err, sizeof(err));
		if (rc == AUDIT_NOMEM)
			return nomem(a, files, nfiles);
		if (rc != 0) {
			fprintf(stderr, PROG ": cannot read %s\n", err);
			status = 1;
		}
	}
	rc = json ? audit_print_json(a, stdout) :
	    audit_print_table(a, stdout);
	if (rc == AUDIT_NOMEM)
		return nomem(a, files, nfiles);
	if (rc != 0) {
		fprintf(stderr, PROG ": write error on standard output\n");
		status = 1;
	}
	audit_free(a);
	audit_files_free(files, nfiles);
	return status;
}
