/*
 * NAME
 *	fuzz_audit - libFuzzer target: sendmail-dane-audit's reader of the
 *	mail log (tools/audit.c)
 *
 * DESCRIPTION
 *	Input: a flags byte (bit 0: every mode, as --all; bit 1: only
 *	example and its subdomains, as --domain; bit 2: --since
 *	2026-12-01) followed by log lines, as the mail log holds them:
 *	partly chosen by whoever controls a destination's DNS or
 *	certificate, or by any local user who can write to syslog.  The
 *	whole rest is parsed as one line, then each line is parsed and
 *	counted, each from a copy of its own so that reads past it are
 *	caught; then the table and the JSON document are written.
 *	Nothing may crash, read out of bounds or leak; every slice the
 *	parser gives must lie within its line; the counts must add up
 *	(audit_selfcheck()); the JSON must parse back.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "audit.h"

static void
within(const struct audit_rec *r, const char *line, size_t len)
{
	const struct audit_str *s[] = { &r->stamp, &r->tag, &r->relay,
		&r->nexthop, &r->canonical, &r->base, &r->reason, &r->tlsa,
		&r->match, &r->why };
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i]->p != NULL && (s[i]->p < line ||
		    s[i]->p + s[i]->n > line + len))
			abort();
}

static void
parse_copy(const uint8_t *p, size_t n, struct audit *a)
{
	char *line = malloc(n > 0 ? n : 1);
	struct audit_rec r;

	if (line == NULL)
		return;
	memcpy(line, p, n);
	audit_parse(line, n, &r);
	within(&r, line, n);
	if (a != NULL && audit_feed(a, line, n) != 0)
		abort();	/* no allocation fails here */
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_opts o = { 0 };
	struct audit *a;
	const uint8_t *p, *e, *nl;
	char *buf = NULL;
	size_t bsize = 0;
	json_object *j;
	FILE *f;

	if (size < 1)
		return 0;
	o.all = data[0] & 1;
	o.domain = data[0] & 2 ? "example" : NULL;
	if (data[0] & 4)
		audit_parse_since("2026-12-01", o.since);
	parse_copy(data + 1, size - 1, NULL);
	if ((a = audit_new(&o)) == NULL)
		return 0;
	for (p = data + 1, e = data + size; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		parse_copy(p, (size_t)(nl - p), a);
	}
	if (audit_selfcheck(a) != 0)
		abort();
	if ((f = open_memstream(&buf, &bsize)) != NULL) {
		if (audit_print_table(a, f) != 0)
			abort();
		fclose(f);
		free(buf);
	}
	buf = NULL;
	if ((f = open_memstream(&buf, &bsize)) != NULL) {
		if (audit_print_json(a, f) != 0)
			abort();
		fclose(f);
		if ((j = json_tokener_parse(buf)) == NULL)
			abort();
		json_object_put(j);
		free(buf);
	}
	audit_free(a);
	return 0;
}
