/*
 * NAME
 *	seen.c - what sendmail's own lookups showed: the CNAMEs of its
 *	canonification
 *
 * DESCRIPTION
 *	sendmail canonifies a recipient domain that is a CNAME to the
 *	target before routing, so $h names the target.  RFC 7672 section
 *	3.2.2 makes the original next-hop domain a reference identifier
 *	too; sendmail gives no macro for it, so the module remembers, from
 *	the replies sendmail receives, which names led to which target.
 *
 *	A record of a reply to res_querydomain(), which sendmail's $[ $]
 *	uses, says what an address's name was: "owner -> target" (the
 *	whole chain of the reply, from its question name: an alias) or
 *	"target -> target" (no CNAME: an address at the target itself).
 *	The lookups sendmail makes of the names after a CNAME, to follow
 *	it, are links of that chain and say neither.  Replies to
 *	res_search() and res_query() add aliases only.
 *
 *	A record lives as long as sendmail's own cache of that
 *	canonification: the chain's smallest TTL, at most SEEN_TTL_MAX
 *	(sendmail's SM_DEFAULT_TTL, also its value for TTL 0), and at
 *	least SEEN_TTL_MIN so that it covers the delivery of the envelope
 *	that was canonified with it.  One record per (owner, target,
 *	kind); seeing it again renews it.  Expired records are dropped on
 *	every use, so the list holds the names sendmail could still route
 *	with, and no more.  A record that cannot be allocated is not
 *	known: a name can only be missing (a refusal), never wrongly
 *	present.
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module.h"

#undef dn_expand

#define SEEN_TTL_MAX 3600
#define SEEN_TTL_MIN 600
#define SEEN_DEPTH 10			/* sendmail's MAXCNAMEDEPTH */

/* What a record says of its owner. */
enum rec_kind {
	REC_ALIAS,			/* an address's name led to target */
	REC_SELF,			/* an address's name was target */
	REC_LINK			/* a name sendmail met on a chain */
};

struct seen_rec {
	struct seen_rec *next;
	time_t expires;
	enum rec_kind kind;
	char owner[DANE_NAME_MAX];
	char target[DANE_NAME_MAX];
};

static struct seen_rec *recs;
static size_t count;
static time_t (*now_fn)(time_t *) = time;

void
seen_set_clock(time_t (*fn)(time_t *))
{
	now_fn = fn != NULL ? fn : time;
}

static void
lower_nodot(char *name)
{
	size_t n = strlen(name), i;

	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	for (i = 0; i < n; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
}

static void
expire(time_t now)
{
	struct seen_rec **pp = &recs, *r;

	while ((r = *pp) != NULL) {
		if (r->expires <= now) {
			*pp = r->next;
			free(r);
			count--;
		} else
			pp = &r->next;
	}
}

static void
remember(const char *owner, const char *target, enum rec_kind kind,
    unsigned ttl)
{
	time_t now = now_fn(NULL);
	struct seen_rec *r;

	if (ttl == 0 || ttl > SEEN_TTL_MAX)
		ttl = SEEN_TTL_MAX;
	if (ttl < SEEN_TTL_MIN)
		ttl = SEEN_TTL_MIN;
	expire(now);
	for (r = recs; r != NULL; r = r->next)
		if (r->kind == kind && strcmp(r->owner, owner) == 0 &&
		    strcmp(r->target, target) == 0) {
			r->expires = now + (time_t)ttl;
			return;
		}
	/* without memory the name is simply not known: an original can
	 * only be missing (a refusal for it), never wrongly present */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	snprintf(r->target, sizeof(r->target), "%s", target);
	r->kind = kind;
	r->expires = now + (time_t)ttl;
	r->next = recs;
	recs = r;
	count++;
}

/*
 * sendmail's canonification, on meeting a CNAME, looks the target up
 * again (and so each name after it on the chain): those lookups are no
 * canonification of their own.  Each name of the last chain is taken
 * as such a continuation once; a later lookup of it without a chain in
 * between is an address at that name.
 */
static char pending[SEEN_DEPTH][DANE_NAME_MAX];
static size_t pending_count;

static void
follow(char chain[][DANE_NAME_MAX], size_t n)
{
	size_t i;

	for (i = 0; i < n && i < SEEN_DEPTH; i++)
		snprintf(pending[i], sizeof(pending[0]), "%s", chain[i]);
	pending_count = i;
}

static int
continued(const char *qname)
{
	size_t i;

	for (i = 0; i < pending_count; i++)
		if (strcmp(pending[i], qname) == 0) {
			/* it, and the names before it, are done */
			memmove(pending, pending + i + 1,
			    (pending_count - i - 1) * sizeof(pending[0]));
			pending_count -= i + 1;
			return 1;
		}
	pending_count = 0;		/* another canonification began */
	return 0;
}

void
seen_reply(const unsigned char *pkt, int len, int canon)
{
	const unsigned char *p, *end = pkt + len;
	char qname[DANE_NAME_MAX], cur[DANE_NAME_MAX], owner[DANE_NAME_MAX],
	    target[DANE_NAME_MAX], chain[SEEN_DEPTH][DANE_NAME_MAX];
	unsigned qd, an, type, rdlen, i, ttl, minttl = 0;
	int n, links = 0, answered = 0;

	if (pkt == NULL || len < 12 || (pkt[3] & 0x0f) != 0)
		return;
	qd = (unsigned)pkt[4] << 8 | pkt[5];
	an = (unsigned)pkt[6] << 8 | pkt[7];
	p = pkt + 12;
	if (qd != 1 || (n = dn_expand(pkt, end, p, qname, sizeof(qname))) < 0 ||
	    p + n + 4 > end)
		return;
	lower_nodot(qname);
	if (qname[0] == '\0')
		return;
	snprintf(cur, sizeof(cur), "%s", qname);
	p += n + 4;
	/* only the chain that starts at the question name */
	for (i = 0; i < an; i++) {
		if ((n = dn_expand(pkt, end, p, owner, sizeof(owner))) < 0 ||
		    p + n + 10 > end)
			break;
		p += n;
		type = (unsigned)p[0] << 8 | p[1];
		ttl = (unsigned)p[4] << 24 | (unsigned)p[5] << 16 |
		    (unsigned)p[6] << 8 | p[7];
		rdlen = (unsigned)p[8] << 8 | p[9];
		p += 10;
		if (p + rdlen > end)
			break;
		lower_nodot(owner);
		if (strcmp(owner, cur) == 0) {
			if (minttl == 0 || (ttl > 0 && ttl < minttl))
				minttl = ttl;
			if (type == ns_t_cname && links < SEEN_DEPTH &&
			    dn_expand(pkt, end, p, target, sizeof(target)) > 0) {
				lower_nodot(target);
				snprintf(cur, sizeof(cur), "%s", target);
				snprintf(chain[links], sizeof(chain[0]), "%s",
				    target);
				links++;
			} else if (type != ns_t_cname)
				answered = 1;
		}
		p += rdlen;
	}
	if (canon && continued(qname)) {
		/* sendmail following a chain: a link of it, no address */
		if (links > 0 && strcmp(cur, qname) != 0) {
			remember(qname, cur, REC_LINK, minttl);
			follow(chain, (size_t)links);
		}
		return;
	}
	if (links > 0 && strcmp(cur, qname) != 0) {
		remember(qname, cur, REC_ALIAS, minttl);
		if (canon)
			follow(chain, (size_t)links);
	} else if (links == 0 && answered && canon)
		remember(qname, qname, REC_SELF, minttl);
}

/*
 * The names of addresses sendmail canonified to target through CNAMEs,
 * directly or through links it met on the way: at most max, each once,
 * target excluded.
 */
size_t
seen_originals(const char *target, const char *list[], size_t max)
{
	const char *todo[4 * SEEN_DEPTH];
	struct seen_rec *r;
	size_t n = 0, nt = 1, i, k;

	expire(now_fn(NULL));
	todo[0] = target;
	for (i = 0; i < nt; i++) {
		for (r = recs; r != NULL; r = r->next) {
			if (r->kind == REC_SELF ||
			    strcmp(r->target, todo[i]) != 0 ||
			    strcmp(r->owner, target) == 0)
				continue;
			if (r->kind == REC_LINK) {
				for (k = 0; k < nt &&
				    strcmp(todo[k], r->owner) != 0; k++)
					;
				if (k == nt && nt < sizeof(todo) /
				    sizeof(todo[0]))
					todo[nt++] = r->owner;
				continue;
			}
			for (k = 0; k < n && strcmp(list[k], r->owner) != 0;
			    k++)
				;
			if (k == n && n < max)
				list[n++] = r->owner;
		}
	}
	return n;
}

int
seen_self(const char *target)
{
	struct seen_rec *r;

	expire(now_fn(NULL));
	for (r = recs; r != NULL; r = r->next)
		if (r->kind == REC_SELF && strcmp(r->target, target) == 0)
			return 1;
	return 0;
}

size_t
seen_count(void)
{
	return count;
}

void
seen_forget(void)
{
	struct seen_rec *r, *next;

	for (r = recs; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	recs = NULL;
	count = 0;
	pending_count = 0;
}
