/*
 * NAME
 *	fakeup.h - a fake upstream resolver serving signed zones
 *
 * SYNOPSIS
 *	#include "fakeup.h"
 *
 *	struct fakeup *fu_start(const struct fu_zone *zones,
 *	    const struct fu_fault *faults, int flags);
 *	struct fakeup *fu_start_at(const struct fu_zone *zones,
 *	    const struct fu_fault *faults, int flags, const char *addr,
 *	    unsigned port, const struct fakeup *like);
 *	const char *fu_upstream(const struct fakeup *u);
 *	unsigned fu_port(const struct fakeup *u);
 *	const char *fu_anchor(const struct fakeup *u);
 *	void fu_queries(struct fakeup *u, int all, char *buf, size_t size);
 *	void fu_stop(struct fakeup *u);
 *
 * DESCRIPTION
 *	fu_start() builds a small DNS tree with real DNSSEC data and
 *	serves it on 127.0.0.1 (UDP and TCP, a free port) from a thread,
 *	answering as a recursive resolver answers a forwarding validator:
 *	whole CNAME chains (across zones too), RRSIGs when the query had
 *	DO, NSEC, RRSIG and SOA for NXDOMAIN and NODATA in signed zones,
 *	DS queries from the parent zone.
 *
 *	The root zone "." always exists and is signed with an ECDSA
 *	P-256 key; its DS RRset is written to a temporary trust anchor
 *	file (fu_anchor()).  `zones` (ended by a NULL origin) adds zones:
 *	each is delegated from the closest enclosing zone, with a DS
 *	RRset when it is signed, without one (the parent's NSEC at the
 *	delegation proves that) when it is not.  Records are given in
 *	zone-file syntax, '|'-separated, names relative to the origin,
 *	TTL 300 unless given; an SOA (serial 1) and an apex NS RRset
 *	(ns.invalid.) are added unless the records hold their own.  A
 *	query without RD is answered with AA set, as by an authoritative
 *	server.
 *
 *	`faults` (ended by a NULL qname, may be NULL) makes the server
 *	misbehave for one query name and type; `flags` applies to the
 *	whole server.  Every query received is recorded.
 *
 *	fu_start_at() is fu_start() listening on the IPv4 address addr
 *	(e.g. another loopback address, 127.0.0.2) and port (0: a free
 *	one); several instances with the same port on different addresses
 *	play the authoritative servers of one zone, each with its own
 *	records.  With `like` (NULL: none), a signed zone that `like` also
 *	has is signed with like's key, as a zone's servers share its key;
 *	stop the instance before `like`.
 *
 *	fu_upstream() is the address for ub_ctx_set_fwd(), as
 *	"127.0.0.1@PORT", fu_port() that port.  fu_queries() writes the
 *	queries received so far, in order, as "name/TYPE" ("+tcp" over
 *	TCP), blank separated, names without the root dot; with all == 0
 *	the validator's own queries (DNSKEY, DS, RFC 8145 key tags) are
 *	left out and repeats of one query in a row count once.  fu_stop()
 *	stops the server and removes the trust anchor file.
 *
 * DIAGNOSTICS
 *	Setup failures are Criterion assertion failures.
 */
#ifndef FAKEUP_H
#define FAKEUP_H

#include <stddef.h>

struct fu_zone {
	const char *origin;	/* "example.com" */
	int is_signed;
	const char *rrs;	/* "@ MX 10 mx|mx A 192.0.2.1" */
};

/* Misbehaviour for one (name, type). */
enum {
	FU_SERVFAIL = 1 << 0,
	FU_TC = 1 << 1,		/* truncated over UDP, answered over TCP */
	FU_TC_NOTCP = 1 << 2,	/* truncated over UDP, TCP closed unanswered */
	FU_DROP = 1 << 3,	/* never answered */
	FU_WRONG_ID = 1 << 4,	/* a forgery with a wrong ID first */
	FU_OTHER_PORT = 1 << 5,	/* a forgery from another port first */
	FU_FORGED_ONLY = 1 << 6, /* with FU_OTHER_PORT: no real answer */
	FU_WRONG_QUESTION = 1 << 7, /* first a forgery for another name */
	FU_AD_UNSIGNED = 1 << 8, /* RRSIGs stripped, AD set */
	FU_AD_BADSIG = 1 << 9,	/* signatures corrupted, AD set */
	FU_DELAY = 1 << 10	/* answered after 250 ms */
};

/* Flags of the whole server. */
enum {
	FU_STRIP_ALL = 1 << 0,	/* no RRSIG or NSEC anywhere */
	FU_CLOSED = 1 << 1	/* nothing listens on the port */
};

struct fu_fault {
	const char *qname;	/* without the root dot */
	const char *qtype;	/* "TLSA" */
	int flags;
};

/* What forgeries carry (usage 3, selector 1, matching type 1). */
#define FU_ATTACKER_HEX \
	"666666666666666666666666666666666666666666666666666666666666666f"

struct fakeup;

struct fakeup *fu_start(const struct fu_zone *zones,
    const struct fu_fault *faults, int flags);
struct fakeup *fu_start_at(const struct fu_zone *zones,
    const struct fu_fault *faults, int flags, const char *addr,
    unsigned port, const struct fakeup *like);
const char *fu_upstream(const struct fakeup *u);
unsigned fu_port(const struct fakeup *u);
const char *fu_anchor(const struct fakeup *u);
void fu_queries(struct fakeup *u, int all, char *buf, size_t size);
void fu_stop(struct fakeup *u);

#endif /* FAKEUP_H */
