/*
 * NAME
 *	audit.h - what the module's log lines say, per destination
 *
 * SYNOPSIS
 *	#include "audit.h"
 *
 *	enum audit_kind audit_parse(const char *line, size_t len,
 *	    struct audit_rec *r);
 *
 *	struct audit *audit_new(const struct audit_opts *o);
 *	int audit_feed(struct audit *a, const char *line, size_t len);
 *	int audit_read_fd(struct audit *a, int fd, const char *name,
 *	    char *err, size_t esize);
 *	int audit_read_file(struct audit *a, const char *path, char *err,
 *	    size_t esize);
 *	int audit_print_table(const struct audit *a, FILE *out);
 *	int audit_print_json(const struct audit *a, FILE *out);
 *	void audit_free(struct audit *a);
 *
 *	int audit_default_files(const char *log, char ***files, size_t *n);
 *	int audit_parse_since(const char *arg, char out[AUDIT_SINCE_LEN]);
 *
 * DESCRIPTION
 *	audit_parse() reads one line of a mail log (a traditional syslog
 *	or RFC 3339 rsyslog file, journalctl -o short-iso output, or the
 *	test world's log) and, when it is the module's line of one
 *	connection, gives its fields as slices of the line.  It reads
 *	exactly len bytes (NUL bytes included), keeps no state and copies
 *	nothing: whatever the line holds, every slice lies within it.
 *
 *	An audit gathers parsed lines per destination (the next hop, with
 *	its canonical name if the line has one) and, under it, per server
 *	(relay): counts of each outcome, the first and last time seen, the
 *	distinct reasons of FAIL verdicts with the TLSA records and match
 *	detail of their lines.  Every table is dynamic: nothing is evicted
 *	or capped.  Names and texts are stored with every byte outside
 *	printable ASCII written as \xHH, so neither output can carry
 *	control characters or invalid UTF-8.
 *
 *	audit_read_fd() and audit_read_file() read a whole log, plain or
 *	gzip-compressed (zlib reads both), and feed each line.
 *
 *	audit_default_files() lists log and its rotations that exist,
 *	oldest first: log.N.gz ... log.2.gz, log.1, log.
 *
 * DIAGNOSTICS
 *	Functions returning int return 0 on success and AUDIT_NOMEM when
 *	memory ran out (the audit is then incomplete: the caller must say
 *	so, not print it as a result); audit_read_*() return AUDIT_IOERR
 *	with a message naming the file in err when it cannot be read.
 *	audit_new() returns NULL when out of memory.
 */
#ifndef SMDANE_AUDIT_H
#define SMDANE_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#define AUDIT_NOMEM (-1)
#define AUDIT_IOERR (-2)

/* "YYYY-MM-DDTHH:MM" and its NUL */
#define AUDIT_SINCE_LEN 17

/* A line longer than this cannot be the module's (it logs at most 1023
 * bytes, which syslog's escapes can at most quadruple): it is skipped
 * without being kept in memory. */
#define AUDIT_LINE_MAX (1024 * 1024)

struct audit_str {
	const char *p;
	size_t n;
};

enum audit_kind {
	AUDIT_IGNORED,	  /* not a line of the module's: another program's,
			     sendmail's own, a line of the module's of
			     another kind */
	AUDIT_POLICY,	  /* a connection's line with its policy */
	AUDIT_ERROR,	  /* dane=error: refused before any policy */
	AUDIT_INCOMPLETE, /* a connection's line cut short after its mode,
			     before its verdict */
	AUDIT_MALFORMED,  /* starts as the module's, does not parse */
};

enum audit_level {
	AUDIT_L_NONE,
	AUDIT_L_DANE,	  /* authenticated */
	AUDIT_L_ENCRYPT,  /* TLS required, no authentication */
	AUDIT_L_OPP,	  /* opportunistic */
	AUDIT_L_SKIP,
	AUDIT_L_DEFER,
	AUDIT_L_ERROR,
};

/* the modes a line can name, as bits of a set */
enum audit_mode {
	AUDIT_M_DANE = 1 << 0,
	AUDIT_M_ONLY = 1 << 1,	  /* dane-only */
	AUDIT_M_ENCRYPT = 1 << 2,
	AUDIT_M_AUDIT = 1 << 3,
	AUDIT_M_NONE = 1 << 4,
	AUDIT_M_UNKNOWN = 1 << 5, /* "unknown" */
	AUDIT_M_UNSERVED = 1 << 6,
};

struct audit_rec {
	enum audit_kind kind;
	struct audit_str stamp;	   /* the timestamp as printed */
	int has_year;		   /* stamp carries a date with a year */
	char wall[20];		   /* then "YYYY-MM-DDTHH:MM:SS" as printed */
	int has_instant;	   /* and its instant, with its UTC offset */
	long long sec;		   /* (none given: read as UTC) */
	long usec;
	struct audit_str tag;	   /* sendmail, sm-mta, sendmail-mta, ... */
	struct audit_str relay, nexthop, canonical, base, reason, tlsa,
	    match, why;		   /* canonical.p NULL when absent; tlsa the
				      text within [...] (p NULL if none);
				      why: the text of FAIL "..." */
	enum audit_level level;
	unsigned mode;		   /* one AUDIT_M_* bit, 0 if none given */
	int ok;			   /* verdict: 1 OK, 0 FAIL, -1 none */
};

struct audit_opts {
	int all;		   /* count every mode, not only audit */
	const char *domain;	   /* only it and its subdomains, or NULL */
	char since[AUDIT_SINCE_LEN]; /* "" or skip lines with a year before */
};

struct audit_counts {
	unsigned long long authenticated, deferred, encrypted, opportunistic,
	    errors, incomplete;
};

struct audit;

enum audit_kind audit_parse(const char *line, size_t len,
    struct audit_rec *r);
const char *audit_mode_name(unsigned mode);

struct audit *audit_new(const struct audit_opts *o);
void audit_free(struct audit *a);
int audit_feed(struct audit *a, const char *line, size_t len);
int audit_read_fd(struct audit *a, int fd, const char *name, char *err,
    size_t esize);
int audit_read_file(struct audit *a, const char *path, char *err,
    size_t esize);
int audit_print_table(const struct audit *a, FILE *out);
int audit_print_json(const struct audit *a, FILE *out);

/* what the audit read and counted */
unsigned long long audit_lines_read(const struct audit *a);
unsigned long long audit_lines_counted(const struct audit *a);
unsigned long long audit_lines_unparsed(const struct audit *a);
size_t audit_domain_count(const struct audit *a);
/* the counts and advice of one destination; NULL canonical: none */
int audit_domain_counts(const struct audit *a, const char *domain,
    const char *canonical, struct audit_counts *c, const char **advice);
int audit_host_counts(const struct audit *a, const char *domain,
    const char *canonical, const char *host, struct audit_counts *c);
/* 0 when every sum agrees: domains' counts with the lines counted,
 * hosts' with their domain's, reasons' with the deferrals and errors */
int audit_selfcheck(const struct audit *a);

int audit_default_files(const char *log, char ***files, size_t *n);
void audit_files_free(char **files, size_t n);
int audit_parse_since(const char *arg, char out[AUDIT_SINCE_LEN]);

/* for the unit tests: the n-th allocation from now on fails (-1: none) */
void audit_fail_alloc_after(long n);

#endif
