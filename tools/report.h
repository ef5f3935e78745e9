/*
 * NAME
 *	report.h - sendmail-dane-check's report: readable text or JSON
 *
 * SYNOPSIS
 *	#include "report.h"
 *
 *	int report_text(FILE *out, const struct report_info *ri);
 *	int report_json(FILE *out, const struct report_info *ri);
 *	struct json_object *report_json_object(const struct report_info *ri);
 *	void report_policy_line(FILE *out, const char *label,
 *	    const struct dane_policy *p);
 *
 * DESCRIPTION
 *	report_text() writes the readable report of one destination:
 *	sendmail's view (cf, mailer, mode, access map), the MX hosts, for
 *	each host its policy line (the line sendmail-dane-check has always
 *	printed, unindented, so that scripts grepping for it keep working),
 *	its TLSA records and, per address, the SMTP and TLS facts, the
 *	chain, the match and the verdict with the text mailq would show;
 *	then the destination's verdict and the warnings.
 *
 *	report_json_object() builds the one JSON object of a destination;
 *	report_json() writes it (pretty-printed, one object, a newline).
 *	Its members are documented in sendmail-dane-check(8), JSON OUTPUT,
 *	and are stable: members are added, never renamed or retyped
 *	(REPORT_JSON_VERSION counts additions).
 *
 *	report_policy_line() writes "label: level, reason[, 4.7.5][, base
 *	B][, names N...][, tlsa R; R...][, K unusable]", the --no-connect
 *	line.
 *
 *	All functions return 0, or -1 when writing failed or memory ran
 *	out (report_json_object(): NULL).
 */
#ifndef SMDANE_REPORT_H
#define SMDANE_REPORT_H

#include <stdio.h>

#include "probe.h"
#include "view.h"

#define REPORT_JSON_VERSION 1
#define REPORT_NOTES_MAX 12

struct json_object;

struct report_info {
	const struct view *v;
	const struct probe_dest *d;
	const struct probe_opts *o;
	unsigned total_s;		/* destination time limit */
	unsigned dns_s;			/* libunbound budget per destination */
	unsigned warn_days;
	const struct dane_settings *settings;
	char resolver[PROBE_TEXT];	/* upstream, resolv.conf, anchor */
	char ctx_error[PROBE_TEXT];	/* libdane context not made: why */
	char notes[REPORT_NOTES_MAX][PROBE_TEXT];
	size_t note_count;
};

int report_text(FILE *out, const struct report_info *ri);
int report_json(FILE *out, const struct report_info *ri);
struct json_object *report_json_object(const struct report_info *ri);
void report_policy_line(FILE *out, const char *label,
    const struct dane_policy *p);

#endif /* SMDANE_REPORT_H */
