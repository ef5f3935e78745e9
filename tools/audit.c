/*
 * NAME
 *	audit.c - what the module's log lines say, per destination
 *
 * DESCRIPTION
 *	See audit.h.  The module logs one line per connection through a
 *	DANE mailer (sendmail/glue.c, log_verdict()):
 *
 *	    STARTTLS=client, relay=R, dane=L, nexthop=N[, canonical=C],
 *	    base=B, mode=M, reason=T, tlsa=n usable/m unusable[ [rr; ...]],
 *	    match=D, verdict=OK | verdict=FAIL "why"
 *
 *	and one per refusal made before any policy (log_refusal()):
 *
 *	    STARTTLS=client, relay=R, dane=error, nexthop=N, verdict=FAIL "why"
 *
 *	R, N, C and B are names a destination's DNS chose, D and why may
 *	carry names from a certificate; only L, M, T, the TLSA list and
 *	the verdict's form are the module's own.  The parser therefore
 *	anchors on what the module alone writes: the fields in their
 *	order, each ending at the first ", key=" that follows it (a name
 *	from DNS cannot contain a blank: resolvers print it escaped), and
 *	the verdict read from the end of the line (its text is sanitised
 *	of double quotes, sendmail/verdict.c), so that the match detail
 *	in between may hold anything.  A line cut short (the module's
 *	1024-byte line buffer, a syslog limit) has no verdict at its end:
 *	it is INCOMPLETE if its mode was read, else MALFORMED, and is
 *	never counted as a pass or a deferral.
 *
 *	The tables are hash tables with a random SipHash key (names chosen
 *	by a destination cannot be made to collide) over arrays that keep
 *	the order of insertion.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <zlib.h>

#include "audit.h"

/* --- allocation ----------------------------------------------------- */

static long fail_after = -1;

void
audit_fail_alloc_after(long n)
{
	fail_after = n;
}

static int
alloc_fails(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

static void *
a_malloc(size_t n)
{
	return alloc_fails() ? NULL : malloc(n > 0 ? n : 1);
}

static void *
a_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : calloc(n > 0 ? n : 1, size > 0 ? size : 1);
}

static void *
a_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : realloc(p, n > 0 ? n : 1);
}

/*
 * Grow the array *pp points to (a pointer to elements of size bytes,
 * *cap of them) to hold need.  The pointer is read and written with
 * memcpy, so that any element type can be grown.
 */
static int
grow(void *pp, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	void *arr, *p;

	if (need <= c)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			return AUDIT_NOMEM;
		c = c == 0 ? 8 : c * 2;
	}
	memcpy(&arr, pp, sizeof(arr));
	if ((p = a_realloc(arr, c * size)) == NULL)
		return AUDIT_NOMEM;
	memcpy(pp, &p, sizeof(p));
	*cap = c;
	return 0;
}

/*
 * A copy of p[0..n) with every byte outside printable ASCII as \xHH;
 * lower: in lower case; name: without one trailing dot.
 */
static char *
clean(const char *p, size_t n, int lower, int name)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, m = 0;
	char *s, *o;

	if (name && n > 1 && p[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		m += ch >= 0x20 && ch <= 0x7e ? 1 : 4;
	}
	if ((s = a_malloc(m + 1)) == NULL)
		return NULL;
	for (i = 0, o = s; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch >= 0x20 && ch <= 0x7e)
			*o++ = lower ? (char)tolower(ch) : (char)ch;
		else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return s;
}

static char *
a_strdup(const char *s)
{
	size_t n = strlen(s);
	char *d = a_malloc(n + 1);

	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

/* --- the line parser ------------------------------------------------ */

static size_t
slen(const char *s)
{
	return strlen(s);
}

/* first occurrence of s in [p, e) */
static const char *
find(const char *p, const char *e, const char *s)
{
	size_t n = slen(s);

	if (p == NULL || e < p || (size_t)(e - p) < n)
		return NULL;
	return memmem(p, (size_t)(e - p), s, n);
}

static int
starts(const char *p, const char *e, const char *s)
{
	size_t n = slen(s);

	return (size_t)(e - p) >= n && memcmp(p, s, n) == 0;
}

static int
ends(const char *p, const char *e, const char *s)
{
	size_t n = slen(s);

	return (size_t)(e - p) >= n && memcmp(e - n, s, n) == 0;
}

static struct audit_str
slice(const char *p, const char *e)
{
	struct audit_str s = { p, (size_t)(e - p) };

	return s;
}

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at p (within e), their value in *v */
static int
num(const char *p, const char *e, size_t n, int *v)
{
	size_t i;

	if ((size_t)(e - p) < n)
		return -1;
	for (*v = 0, i = 0; i < n; i++) {
		if (!isdig(p[i]))
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* 2026-12-03T11:52:33[.frac][Z|+hh:mm|+hhmm] followed by a blank */
static const char *
parse_iso(const char *p, const char *e, struct audit_rec *r)
{
	const char *s = p;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, k = 0;
	long usec = 0;

	if (num(p, e, 4, &y) || e - p < 19 || p[4] != '-' ||
	    num(p + 5, e, 2, &mo) || p[7] != '-' || num(p + 8, e, 2, &d) ||
	    p[10] != 'T' || num(p + 11, e, 2, &h) || p[13] != ':' ||
	    num(p + 14, e, 2, &mi) || p[16] != ':' || num(p + 17, e, 2, &sec))
		return NULL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return NULL;
	p += 19;
	if (p < e && *p == '.') {
		for (p++; p < e && isdig(*p); p++, k++) {
			if (k >= 12)
				return NULL;
			if (k < 6)
				usec = usec * 10 + (*p - '0');
		}
		if (k == 0)
			return NULL;
		for (; k < 6; k++)
			usec *= 10;
	}
	if (p < e && *p == 'Z')
		p++;
	else if (p < e && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (num(p, e, 2, &oh))
			return NULL;
		p += 2;
		if (p < e && *p == ':')
			p++;
		if (num(p, e, 2, &om) || oh > 23 || om > 59)
			return NULL;
		p += 2;
	}
	if (p >= e || *p != ' ')
		return NULL;
	r->stamp = slice(s, p);
	r->has_year = 1;
	memcpy(r->wall, s, 19);
	r->wall[19] = '\0';
	r->has_instant = 1;
	r->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    (long long)sign * (oh * 3600 + om * 60);
	r->usec = usec;
	return p;
}

/* Dec  3 11:52:33 (or Dec 13, Dec 3) followed by a blank */
static const char *
parse_trad(const char *p, const char *e)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i, v;

	if (e - p < 3)
		return NULL;
	for (i = 0; i < 12; i++)
		if (memcmp(p, months + 3 * i, 3) == 0)
			break;
	if (i == 12)
		return NULL;
	p += 3;
	if (p >= e || *p != ' ')
		return NULL;
	p++;
	if (p < e && *p == ' ')
		p++;
	if (p < e && isdig(*p) && p + 1 < e && isdig(p[1]))
		p += 2;
	else if (p < e && isdig(*p))
		p++;
	else
		return NULL;
	if (p >= e || *p != ' ')
		return NULL;
	p++;
	if (num(p, e, 2, &v) || v > 23 || p + 2 >= e || p[2] != ':' ||
	    num(p + 3, e, 2, &v) || v > 59 || p + 5 >= e || p[5] != ':' ||
	    num(p + 6, e, 2, &v) || v > 60)
		return NULL;
	p += 8;
	if (p >= e || *p != ' ')
		return NULL;
	return p;
}

/* the tag of sendmail's lines: name, or name[pid], and the colon */
static int
is_sendmail_tag(const char *p, const char *e, struct audit_str *tag)
{
	static const char *const names[] = { "sendmail", "sendmail-mta",
		"sm-mta", "sm-msp-queue" };
	const char *b = memchr(p, '[', (size_t)(e - p)), *q;
	size_t i, n;

	if (b != NULL) {
		if (e - b < 3 || e[-1] != ']')
			return 0;
		for (q = b + 1; q < e - 1; q++)
			if (!isdig(*q))
				return 0;
	} else
		b = e;
	n = (size_t)(b - p);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (n == slen(names[i]) && memcmp(p, names[i], n) == 0) {
			*tag = slice(p, b);
			return 1;
		}
	return 0;
}

static const struct {
	const char *name;
	enum audit_level level;
} levels[] = {
	{ "dane", AUDIT_L_DANE }, { "encrypt", AUDIT_L_ENCRYPT },
	{ "opportunistic", AUDIT_L_OPP }, { "skip", AUDIT_L_SKIP },
	{ "defer", AUDIT_L_DEFER }, { "error", AUDIT_L_ERROR },
};

static const struct {
	const char *name;
	unsigned mode;
} modes[] = {
	{ "dane", AUDIT_M_DANE }, { "dane-only", AUDIT_M_ONLY },
	{ "encrypt", AUDIT_M_ENCRYPT }, { "audit", AUDIT_M_AUDIT },
	{ "none", AUDIT_M_NONE }, { "unknown", AUDIT_M_UNKNOWN },
	{ "unserved", AUDIT_M_UNSERVED },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
audit_mode_name(unsigned mode)
{
	size_t i;

	for (i = 0; i < NELEM(modes); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "?";
}

static unsigned
mode_of(const char *p, const char *e)
{
	size_t i, n = (size_t)(e - p);

	for (i = 0; i < NELEM(modes); i++)
		if (n == slen(modes[i].name) && memcmp(p, modes[i].name, n) == 0)
			return modes[i].mode;
	return 0;
}

/* the verdict at the end of [p, e): where its ", verdict=" begins */
static const char *
parse_verdict(const char *p, const char *e, struct audit_rec *r)
{
	static const char ok[] = ", verdict=OK", fail[] = ", verdict=FAIL \"";
	const size_t nf = sizeof(fail) - 1;
	const char *q;

	if (ends(p, e, ok)) {
		r->ok = 1;
		return e - (sizeof(ok) - 1);
	}
	if (e - p < 2 || e[-1] != '"')
		return NULL;
	q = memrchr(p, '"', (size_t)(e - 1 - p));
	if (q == NULL || (size_t)(q + 1 - p) < nf ||
	    memcmp(q + 1 - nf, fail, nf) != 0)
		return NULL;
	r->ok = 0;
	r->why = slice(q + 1, e - 1);
	return q + 1 - nf;
}

/* "n usable/m unusable": at most 19 digits each */
static const char *
parse_counts(const char *p, const char *e)
{
	int pass, k;

	for (pass = 0; pass < 2; pass++) {
		for (k = 0; p < e && isdig(*p); p++)
			if (++k > 19)
				return NULL;
		if (k == 0)
			return NULL;
		if (!starts(p, e, pass == 0 ? " usable/" : " unusable"))
			return NULL;
		p += pass == 0 ? 8 : 9;
	}
	return p;
}

static enum audit_kind
parse_error_line(const char *p, const char *e, struct audit_rec *r)
{
	const char *v = parse_verdict(p, e, r), *m;

	if (v == NULL || r->ok != 0)
		return AUDIT_MALFORMED;
	if ((m = find(p, v, ", mode=")) != NULL) {
		if ((r->mode = mode_of(m + 7, v)) == 0)
			return AUDIT_MALFORMED;
		v = m;
	}
	r->nexthop = slice(p, v);
	if (r->nexthop.n == 0)
		return AUDIT_MALFORMED;
	return AUDIT_ERROR;
}

static enum audit_kind
parse_message(const char *p, const char *e, struct audit_rec *r)
{
	static const char pfx[] = "STARTTLS=client, relay=";
	const char *q, *w, *v;
	size_t i;

	if (!starts(p, e, pfx))
		return AUDIT_IGNORED;
	p += sizeof(pfx) - 1;
	/* sendmail's own STARTTLS=client lines have no dane= */
	if ((q = find(p, e, ", dane=")) == NULL)
		return AUDIT_IGNORED;
	r->relay = slice(p, q);
	for (w = p = q + 7; p < e && *p >= 'a' && *p <= 'z'; p++)
		;
	if ((size_t)(p - w) == 4 && memcmp(w, "none", 4) == 0)
		return AUDIT_IGNORED;	/* the debug line of a mailer without DANE */
	for (i = 0; i < NELEM(levels); i++)
		if ((size_t)(p - w) == slen(levels[i].name) &&
		    memcmp(w, levels[i].name, (size_t)(p - w)) == 0)
			r->level = levels[i].level;
	if (r->level == AUDIT_L_NONE || r->relay.n == 0 ||
	    !starts(p, e, ", nexthop="))
		return AUDIT_MALFORMED;
	p += 10;
	if (r->level == AUDIT_L_ERROR)
		return parse_error_line(p, e, r);

	if ((q = find(p, e, ", base=")) == NULL)
		return AUDIT_MALFORMED;
	if ((w = find(p, q, ", canonical=")) != NULL) {
		r->nexthop = slice(p, w);
		r->canonical = slice(w + 12, q);
	} else
		r->nexthop = slice(p, q);
	if (r->nexthop.n == 0 || (r->canonical.p != NULL &&
	    r->canonical.n == 0))
		return AUDIT_MALFORMED;
	p = q + 7;
	if ((q = find(p, e, ", mode=")) == NULL)
		return AUDIT_MALFORMED;
	r->base = slice(p, q);
	for (w = p = q + 7; p < e && ((*p >= 'a' && *p <= 'z') || *p == '-');
	    p++)
		;
	/* a mode word is whole only when a comma follows it */
	if ((r->mode = mode_of(w, p)) == 0 || p >= e || *p != ',')
		return AUDIT_MALFORMED;

	/* from here on the line is the module's: without a verdict at its
	 * end it was cut short; with one, anything else wrong is malformed */
	if ((v = parse_verdict(p, e, r)) == NULL) {
		r->ok = -1;
		r->why.p = NULL;
		r->why.n = 0;
		return AUDIT_INCOMPLETE;
	}
	if (!starts(p, v, ", reason="))
		return AUDIT_MALFORMED;
	p += 9;
	if ((q = find(p, v, ", tlsa=")) == NULL)
		return AUDIT_MALFORMED;
	r->reason = slice(p, q);
	if ((p = parse_counts(q + 7, v)) == NULL)
		return AUDIT_MALFORMED;
	if (starts(p, v, " [")) {
		p += 2;
		if ((q = memchr(p, ']', (size_t)(v - p))) == NULL)
			return AUDIT_MALFORMED;
		r->tlsa = slice(p, q);
		p = q + 1;
	}
	if (!starts(p, v, ", match="))
		return AUDIT_MALFORMED;
	p += 8;
	r->match = slice(p, v);
	/* a host skipped or a deferral never passes */
	if (r->ok == 1 && (r->level == AUDIT_L_SKIP ||
	    r->level == AUDIT_L_DEFER))
		return AUDIT_MALFORMED;
	return AUDIT_POLICY;
}

enum audit_kind
audit_parse(const char *line, size_t len, struct audit_rec *r)
{
	const char *p = line, *e, *t;
	struct audit_rec z = { 0 };
	int i;

	*r = z;
	r->ok = -1;
	if (line == NULL)
		return r->kind = AUDIT_IGNORED;
	e = line + len;
	/* trailing line end, blanks, NULs */
	while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
	    e[-1] == '\0'))
		e--;
	if ((t = parse_iso(p, e, r)) == NULL) {
		if ((t = parse_trad(p, e)) == NULL)
			return r->kind = AUDIT_IGNORED;
		r->stamp = slice(p, t);
	}
	p = t;
	/* the host name (none in the test world's lines, which have the
	 * facility.severity and the sender's own timestamp instead), then
	 * the tag: the first word ending in a colon */
	for (i = 0;; i++) {
		while (p < e && *p == ' ')
			p++;
		if (p >= e || i >= 8)
			return r->kind = AUDIT_IGNORED;
		for (t = p; p < e && *p != ' '; p++)
			;
		if (p - t >= 2 && p[-1] == ':')
			break;
	}
	if (!is_sendmail_tag(t, p - 1, &r->tag))
		return r->kind = AUDIT_IGNORED;
	if (p >= e)
		return r->kind = AUDIT_IGNORED;
	p++;	/* the blank after the tag */
	r->kind = parse_message(p, e, r);
	if (r->kind == AUDIT_IGNORED || r->kind == AUDIT_MALFORMED) {
		/* keep the timestamp and tag, nothing of the message */
		struct audit_rec k = *r;

		*r = z;
		r->kind = k.kind;
		r->stamp = k.stamp;
		r->has_year = k.has_year;
		memcpy(r->wall, k.wall, sizeof(r->wall));
		r->has_instant = k.has_instant;
		r->sec = k.sec;
		r->usec = k.usec;
		r->tag = k.tag;
		r->ok = -1;
	}
	return r->kind;
}

/* --- hash tables ---------------------------------------------------- */

static uint64_t sip_k0, sip_k1;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 */
static uint64_t
siphash(const char *s, size_t n)
{
	const unsigned char *m = (const unsigned char *)s;
	uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ sip_k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0;
	uint64_t v3 = 0x7465646279746573ULL ^ sip_k1;
	uint64_t b = (uint64_t)n << 56, w;
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, m + i, 8);	/* the host's byte order: another
					   value, as good a hash */
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	for (w = 0; left > 0; left--)
		w |= (uint64_t)m[i + left - 1] << (8 * (left - 1));
	b |= w;
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct aent {
	char *key;
	uint64_t h;
	void *val;
};

struct amap {
	struct aent *ents;	/* in the order of insertion */
	size_t n, cap;
	size_t *slot;		/* index + 1 into ents, 0: empty */
	size_t nslot;		/* a power of two, or 0 */
};

static struct aent *
amap_find(const struct amap *m, const char *key)
{
	uint64_t h;
	size_t i, j;

	if (m->nslot == 0)
		return NULL;
	h = siphash(key, strlen(key));
	for (i = (size_t)h & (m->nslot - 1);; i = (i + 1) & (m->nslot - 1)) {
		if ((j = m->slot[i]) == 0)
			return NULL;
		if (m->ents[j - 1].h == h && strcmp(m->ents[j - 1].key, key) == 0)
			return &m->ents[j - 1];
	}
}

static int
amap_rehash(struct amap *m, size_t nslot)
{
	size_t *s = a_calloc(nslot, sizeof(*s)), i, k;

	if (s == NULL)
		return AUDIT_NOMEM;
	for (k = 0; k < m->n; k++) {
		for (i = (size_t)m->ents[k].h & (nslot - 1); s[i] != 0;
		    i = (i + 1) & (nslot - 1))
			;
		s[i] = k + 1;
	}
	free(m->slot);
	m->slot = s;
	m->nslot = nslot;
	return 0;
}

/* add key (a copy is made) with val; the key must not be there yet */
static struct aent *
amap_add(struct amap *m, const char *key, void *val)
{
	struct aent *en;
	size_t i;

	if ((m->n + 1) * 2 > m->nslot) {
		if (m->nslot > SIZE_MAX / 4 ||
		    amap_rehash(m, m->nslot == 0 ? 16 : m->nslot * 2) != 0)
			return NULL;
	}
	if (grow(&m->ents, &m->cap, m->n + 1, sizeof(*m->ents)) != 0)
		return NULL;
	en = &m->ents[m->n];
	if ((en->key = a_strdup(key)) == NULL)
		return NULL;
	en->h = siphash(key, strlen(key));
	en->val = val;
	for (i = (size_t)en->h & (m->nslot - 1); m->slot[i] != 0;
	    i = (i + 1) & (m->nslot - 1))
		;
	m->slot[i] = ++m->n;
	return en;
}

static void
amap_free(struct amap *m, void (*fn)(void *))
{
	size_t k;

	for (k = 0; k < m->n; k++) {
		if (fn != NULL)
			fn(m->ents[k].val);
		free(m->ents[k].key);
	}
	free(m->ents);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* --- the audit ------------------------------------------------------ */

struct astamp {
	char *text;
	int has_instant;
	long long sec;
	long usec;
};

struct areason {
	char *text;
	unsigned long long count;
	struct amap tlsa;	/* the records of its lines, first seen first */
	char *match;		/* the match detail of its last line, or NULL */
};

struct arow {
	char *name, *canonical;	/* canonical: domain rows, NULL if none */
	struct audit_counts c;
	struct astamp seq_first, seq_last; /* in the order read */
	struct astamp min, max;	/* by instant */
	unsigned long long no_instant; /* lines without one */
	unsigned modes;
	struct amap deferrals;	/* FAIL verdicts: text -> areason */
	struct amap errors;	/* dane=error lines: text -> areason */
	struct amap hosts;	/* domain rows: relay -> arow */
};

struct audit {
	struct audit_opts o;
	char *domain;
	struct amap domains;	/* "nexthop\ncanonical" -> arow */
	unsigned long long read, counted, unparsed;
	char **files;
	size_t nfiles, cfiles;
	int nomem;
};

static void
reason_free(void *v)
{
	struct areason *r = v;

	if (r == NULL)
		return;
	free(r->text);
	free(r->match);
	amap_free(&r->tlsa, NULL);
	free(r);
}

static void
row_free(void *v)
{
	struct arow *w = v;

	if (w == NULL)
		return;
	free(w->name);
	free(w->canonical);
	free(w->seq_first.text);
	free(w->seq_last.text);
	free(w->min.text);
	free(w->max.text);
	amap_free(&w->deferrals, reason_free);
	amap_free(&w->errors, reason_free);
	amap_free(&w->hosts, row_free);
	free(w);
}

struct audit *
audit_new(const struct audit_opts *o)
{
	struct audit *a = a_calloc(1, sizeof(*a));
	uint64_t k[2];

	if (a == NULL)
		return NULL;
	if (o != NULL)
		a->o = *o;
	a->o.domain = NULL;
	a->o.since[AUDIT_SINCE_LEN - 1] = '\0';
	if (o != NULL && o->domain != NULL && o->domain[0] != '\0') {
		a->domain = clean(o->domain, strlen(o->domain), 1, 1);
		if (a->domain == NULL) {
			free(a);
			return NULL;
		}
	}
	if (sip_k0 == 0 && sip_k1 == 0) {
		if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
			k[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
			k[1] = (uint64_t)(uintptr_t)a ^ 0x9e3779b97f4a7c15ULL;
		}
		sip_k0 = k[0];
		sip_k1 = k[1] | 1;
	}
	return a;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	amap_free(&a->domains, row_free);
	audit_files_free(a->files, a->nfiles);
	free(a->domain);
	free(a);
}

/* name is the filter's domain or one of its subdomains */
static int
in_domain(const char *name, const char *d)
{
	size_t n = strlen(name), m = strlen(d);

	if (n == m)
		return strcmp(name, d) == 0;
	return n > m && name[n - m - 1] == '.' && strcmp(name + n - m, d) == 0;
}

static int
set_stamp(struct astamp *s, const char *text, const struct audit_rec *r)
{
	char *t = a_strdup(text);

	if (t == NULL)
		return AUDIT_NOMEM;
	free(s->text);
	s->text = t;
	s->has_instant = r->has_instant;
	s->sec = r->sec;
	s->usec = r->usec;
	return 0;
}

static int
before(const struct audit_rec *r, const struct astamp *s)
{
	return r->sec < s->sec || (r->sec == s->sec && r->usec < s->usec);
}

/*
 * First and last seen: the earliest and latest instant when every line
 * of the row has one (a date with a year), else the first and the last
 * line in the order read (the logs are read oldest first).
 */
static int
stamps(struct arow *w, const char *text, const struct audit_rec *r)
{
	if (!r->has_instant)
		w->no_instant++;
	if ((w->seq_first.text == NULL &&
	    set_stamp(&w->seq_first, text, r) != 0) ||
	    set_stamp(&w->seq_last, text, r) != 0)
		return AUDIT_NOMEM;
	if (!r->has_instant)
		return 0;
	if ((w->min.text == NULL || before(r, &w->min)) &&
	    set_stamp(&w->min, text, r) != 0)
		return AUDIT_NOMEM;
	if ((w->max.text == NULL || !before(r, &w->max)) &&
	    set_stamp(&w->max, text, r) != 0)
		return AUDIT_NOMEM;
	return 0;
}

static const char *
first_seen(const struct arow *w)
{
	return w->no_instant == 0 && w->min.text != NULL ? w->min.text :
	    w->seq_first.text;
}

static const char *
last_seen(const struct arow *w)
{
	return w->no_instant == 0 && w->max.text != NULL ? w->max.text :
	    w->seq_last.text;
}

/* what one line adds beyond its counts, cleaned once for both rows */
struct line_texts {
	char *stamp, *why, *match;
	char **tlsa;
	size_t ntlsa, ctlsa;
};

static void
texts_free(struct line_texts *t)
{
	size_t i;

	free(t->stamp);
	free(t->why);
	free(t->match);
	for (i = 0; i < t->ntlsa; i++)
		free(t->tlsa[i]);
	free(t->tlsa);
}

static int
texts_of(const struct audit_rec *r, struct line_texts *t)
{
	const char *p, *e, *q;

	memset(t, 0, sizeof(*t));
	if ((t->stamp = clean(r->stamp.p, r->stamp.n, 0, 0)) == NULL)
		return AUDIT_NOMEM;
	if (r->kind == AUDIT_INCOMPLETE)
		return 0;
	if ((t->why = clean(r->why.p, r->why.n, 0, 0)) == NULL)
		return AUDIT_NOMEM;
	if (r->kind != AUDIT_POLICY || r->ok)
		return 0;
	if (!(r->match.n == 1 && r->match.p[0] == '-') &&
	    (t->match = clean(r->match.p, r->match.n, 0, 0)) == NULL)
		return AUDIT_NOMEM;
	/* "u s m hex...; u s m hex..." (the last possibly cut short) */
	p = r->tlsa.p;
	e = p != NULL ? p + r->tlsa.n : NULL;
	while (p != NULL && p < e) {
		if ((q = find(p, e, "; ")) == NULL)
			q = e;
		if (q > p) {
			if (grow(&t->tlsa, &t->ctlsa, t->ntlsa + 1,
			    sizeof(*t->tlsa)) != 0 ||
			    (t->tlsa[t->ntlsa] = clean(p, (size_t)(q - p), 0,
			    0)) == NULL)
				return AUDIT_NOMEM;
			t->ntlsa++;
		}
		p = q < e ? q + 2 : e;
	}
	return 0;
}

static int
add_reason(struct amap *m, const struct line_texts *t, int with_records)
{
	struct aent *en = amap_find(m, t->why);
	struct areason *r;
	size_t i;

	if (en == NULL) {
		if ((r = a_calloc(1, sizeof(*r))) == NULL)
			return AUDIT_NOMEM;
		if ((r->text = a_strdup(t->why)) == NULL ||
		    amap_add(m, t->why, r) == NULL) {
			reason_free(r);
			return AUDIT_NOMEM;
		}
	} else
		r = en->val;
	r->count++;
	if (!with_records)
		return 0;
	for (i = 0; i < t->ntlsa; i++)
		if (amap_find(&r->tlsa, t->tlsa[i]) == NULL &&
		    amap_add(&r->tlsa, t->tlsa[i], NULL) == NULL)
			return AUDIT_NOMEM;
	free(r->match);
	r->match = NULL;
	if (t->match != NULL && (r->match = a_strdup(t->match)) == NULL)
		return AUDIT_NOMEM;
	return 0;
}

static int
count(struct arow *w, const struct audit_rec *r, const struct line_texts *t)
{
	if (stamps(w, t->stamp, r) != 0)
		return AUDIT_NOMEM;
	w->modes |= r->mode;
	switch (r->kind) {
	case AUDIT_INCOMPLETE:
		w->c.incomplete++;
		return 0;
	case AUDIT_ERROR:
		w->c.errors++;
		return add_reason(&w->errors, t, 0);
	default:
		break;
	}
	if (!r->ok) {
		w->c.deferred++;
		return add_reason(&w->deferrals, t, 1);
	}
	switch (r->level) {
	case AUDIT_L_DANE:
		w->c.authenticated++;
		break;
	case AUDIT_L_ENCRYPT:
		w->c.encrypted++;
		break;
	default:
		w->c.opportunistic++;
		break;
	}
	return 0;
}

static struct arow *
row_get(struct amap *m, const char *key, const char *name,
    const char *canonical)
{
	struct aent *en = amap_find(m, key);
	struct arow *w;

	if (en != NULL)
		return en->val;
	if ((w = a_calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->name = a_strdup(name)) == NULL || (canonical != NULL &&
	    (w->canonical = a_strdup(canonical)) == NULL) ||
	    amap_add(m, key, w) == NULL) {
		row_free(w);
		return NULL;
	}
	return w;
}

static int
add_rec(struct audit *a, const struct audit_rec *r)
{
	char *nexthop = NULL, *canon = NULL, *relay = NULL, *key = NULL;
	struct line_texts t;
	struct arow *d, *h;
	size_t n;
	int rc = AUDIT_NOMEM;

	memset(&t, 0, sizeof(t));
	if ((nexthop = clean(r->nexthop.p, r->nexthop.n, 1, 1)) == NULL ||
	    (r->canonical.p != NULL && (canon = clean(r->canonical.p,
	    r->canonical.n, 1, 1)) == NULL) ||
	    (relay = clean(r->relay.p, r->relay.n, 1, 1)) == NULL)
		goto out;
	if (a->domain != NULL && !in_domain(nexthop, a->domain) &&
	    (canon == NULL || !in_domain(canon, a->domain))) {
		rc = 0;
		goto out;
	}
	n = strlen(nexthop) + (canon != NULL ? strlen(canon) : 0) + 2;
	if ((key = a_malloc(n)) == NULL)
		goto out;
	/* a cleaned name holds no newline */
	snprintf(key, n, "%s\n%s", nexthop, canon != NULL ? canon : "");
	if (texts_of(r, &t) != 0 ||
	    (d = row_get(&a->domains, key, nexthop, canon)) == NULL ||
	    (h = row_get(&d->hosts, relay, relay, NULL)) == NULL ||
	    count(d, r, &t) != 0 || count(h, r, &t) != 0)
		goto out;
	a->counted++;
	rc = 0;
out:
	texts_free(&t);
	free(key);
	free(nexthop);
	free(canon);
	free(relay);
	return rc;
}

int
audit_feed(struct audit *a, const char *line, size_t len)
{
	struct audit_rec r;
	size_t n;

	if (a->nomem)
		return AUDIT_NOMEM;
	a->read++;
	switch (audit_parse(line, len, &r)) {
	case AUDIT_IGNORED:
		return 0;
	case AUDIT_MALFORMED:
		a->unparsed++;
		return 0;
	default:
		break;
	}
	/* only the audit mode's lines, but refusals that name no mode */
	if (!a->o.all && r.mode != AUDIT_M_AUDIT &&
	    !(r.kind == AUDIT_ERROR && r.mode == 0))
		return 0;
	n = strlen(a->o.since);
	if (n > 0 && r.has_year && strncmp(r.wall, a->o.since, n) < 0)
		return 0;
	if (add_rec(a, &r) != 0) {
		a->nomem = 1;
		return AUDIT_NOMEM;
	}
	return 0;
}

/* --- reading -------------------------------------------------------- */

static int
add_file(struct audit *a, const char *name)
{
	if (grow(&a->files, &a->cfiles, a->nfiles + 1,
	    sizeof(*a->files)) != 0 ||
	    (a->files[a->nfiles] = clean(name, strlen(name), 0, 0)) == NULL) {
		a->nomem = 1;
		return AUDIT_NOMEM;
	}
	a->nfiles++;
	return 0;
}

int
audit_read_fd(struct audit *a, int fd, const char *name, char *err,
    size_t esize)
{
	char chunk[65536], *line = NULL;
	size_t len = 0, cap = 0;
	int fd2, n, rc = 0, skipping = 0, zerr;
	const char *msg;
	gzFile g;

	if (a->nomem || add_file(a, name) != 0)
		return AUDIT_NOMEM;
	if ((fd2 = dup(fd)) < 0) {
		snprintf(err, esize, "%s: %s", name, strerror(errno));
		return AUDIT_IOERR;
	}
	if (alloc_fails() || (g = gzdopen(fd2, "rb")) == NULL) {
		close(fd2);
		a->nomem = 1;
		return AUDIT_NOMEM;
	}
	while (rc == 0 && (n = gzread(g, chunk, sizeof(chunk))) > 0) {
		const char *p = chunk, *e = chunk + n, *nl;

		while (rc == 0 && p < e) {
			size_t k;

			nl = memchr(p, '\n', (size_t)(e - p));
			k = (size_t)((nl != NULL ? nl : e) - p);
			if (!skipping && len + k > AUDIT_LINE_MAX) {
				/* not the module's: read past it */
				skipping = 1;
				len = 0;
			}
			if (!skipping) {
				if (grow(&line, &cap, len + k + 1, 1)
				    != 0) {
					a->nomem = 1;
					rc = AUDIT_NOMEM;
					break;
				}
				memcpy(line + len, p, k);
				len += k;
			}
			if (nl == NULL)
				break;
			if (skipping)
				a->read++;
			else
				rc = audit_feed(a, line, len);
			skipping = 0;
			len = 0;
			p = nl + 1;
		}
	}
	msg = gzerror(g, &zerr);
	if (rc == 0 && zerr != Z_OK && zerr != Z_STREAM_END) {
		snprintf(err, esize, "%s: %s", name, zerr == Z_ERRNO ?
		    strerror(errno) : zerr == Z_MEM_ERROR ? "out of memory" :
		    msg);
		rc = zerr == Z_MEM_ERROR ? AUDIT_NOMEM : AUDIT_IOERR;
		if (rc == AUDIT_NOMEM)
			a->nomem = 1;
	}
	if (rc == 0 && (len > 0 || skipping)) {
		/* the last line, without its newline */
		if (skipping)
			a->read++;
		else
			rc = audit_feed(a, line, len);
	}
	free(line);
	gzclose_r(g);
	return rc;
}

int
audit_read_file(struct audit *a, const char *path, char *err, size_t esize)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, esize, "%s: %s", path, strerror(errno));
		return AUDIT_IOERR;
	}
	rc = audit_read_fd(a, fd, path, err, esize);
	close(fd);
	return rc;
}

/* --- results -------------------------------------------------------- */

unsigned long long
audit_lines_read(const struct audit *a)
{
	return a->read;
}

unsigned long long
audit_lines_counted(const struct audit *a)
{
	return a->counted;
}

unsigned long long
audit_lines_unparsed(const struct audit *a)
{
	return a->unparsed;
}

size_t
audit_domain_count(const struct audit *a)
{
	return a->domains.n;
}

static const char *
advice(const struct audit_counts *c)
{
	if (c->deferred > 0 || c->errors > 0 || c->incomplete > 0)
		return "check";
	if (c->authenticated == 0 && c->encrypted == 0)
		return "none-needed";
	return "enforce";
}

static struct arow *
domain_row(const struct audit *a, const char *domain, const char *canonical)
{
	size_t n = strlen(domain) + (canonical != NULL ? strlen(canonical) : 0)
	    + 2;
	struct aent *en;
	char *key = malloc(n);

	if (key == NULL)
		return NULL;
	snprintf(key, n, "%s\n%s", domain, canonical != NULL ? canonical : "");
	en = amap_find(&a->domains, key);
	free(key);
	return en != NULL ? en->val : NULL;
}

int
audit_domain_counts(const struct audit *a, const char *domain,
    const char *canonical, struct audit_counts *c, const char **adv)
{
	struct arow *w = domain_row(a, domain, canonical);

	if (w == NULL)
		return -1;
	*c = w->c;
	if (adv != NULL)
		*adv = advice(&w->c);
	return 0;
}

int
audit_host_counts(const struct audit *a, const char *domain,
    const char *canonical, const char *host, struct audit_counts *c)
{
	struct arow *w = domain_row(a, domain, canonical);
	struct aent *en;

	if (w == NULL || (en = amap_find(&w->hosts, host)) == NULL)
		return -1;
	*c = ((struct arow *)en->val)->c;
	return 0;
}

static int
row_cmp(const void *x, const void *y)
{
	const struct arow *a = *(struct arow *const *)x;
	const struct arow *b = *(struct arow *const *)y;
	int c = strcmp(a->name, b->name);

	if (c != 0)
		return c;
	if (a->canonical == NULL || b->canonical == NULL)
		return (a->canonical != NULL) - (b->canonical != NULL);
	return strcmp(a->canonical, b->canonical);
}

static int
reason_cmp(const void *x, const void *y)
{
	const struct areason *a = *(struct areason *const *)x;
	const struct areason *b = *(struct areason *const *)y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->text, b->text);
}

/* the values of m, sorted with cmp (NULL: none, or out of memory) */
static void **
sorted(const struct amap *m, int (*cmp)(const void *, const void *))
{
	void **v = a_calloc(m->n + 1, sizeof(*v));
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < m->n; i++)
		v[i] = m->ents[i].val;
	qsort(v, m->n, sizeof(*v), cmp);
	return v;
}


static void
modes_text(unsigned set, char *buf, size_t size)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < NELEM(modes); i++)
		if ((set & modes[i].mode) && off + 1 < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%s",
			    off > 0 ? "," : "", modes[i].name);
	if (buf[0] == '\0')
		snprintf(buf, size, "-");
}

static unsigned long long
total(const struct audit_counts *c)
{
	return c->authenticated + c->deferred + c->encrypted +
	    c->opportunistic + c->errors + c->incomplete;
}

/* --- the table ------------------------------------------------------ */

struct layout {
	int name;		/* width of the first column */
	int all;		/* with a MODES column */
};

static void
table_row(FILE *out, const struct layout *l, const struct arow *w,
    int indent, const char *adv)
{
	char modes_buf[96];
	int n;

	n = fprintf(out, "%*s%s", indent, "", w->name);
	if (w->canonical != NULL)
		n += fprintf(out, " (canonical %s)", w->canonical);
	if (n > l->name)
		fprintf(out, "\n%*s", l->name, "");
	else
		fprintf(out, "%*s", l->name - n, "");
	fprintf(out, " %6llu %6llu %6llu %6llu %6llu  %-11s",
	    w->c.authenticated, w->c.deferred, w->c.encrypted,
	    w->c.opportunistic, w->c.errors, adv);
	if (l->all) {
		modes_text(w->modes, modes_buf, sizeof(modes_buf));
		fprintf(out, "  %-16s", modes_buf);
	}
	fprintf(out, "  %s .. %s\n", first_seen(w), last_seen(w));
}

static int
table_reasons(FILE *out, const struct amap *m, const char *what)
{
	struct areason **v = (struct areason **)sorted(m, reason_cmp);
	size_t i, k;

	if (v == NULL)
		return AUDIT_NOMEM;
	for (i = 0; i < m->n; i++) {
		fprintf(out, "      %s %llux: %s\n", what, v[i]->count,
		    v[i]->text);
		for (k = 0; k < v[i]->tlsa.n; k++)
			fprintf(out, "%s%s", k == 0 ? "        tlsa: " : "; ",
			    v[i]->tlsa.ents[k].key);
		if (v[i]->tlsa.n > 0)
			fprintf(out, "\n");
		if (v[i]->match != NULL)
			fprintf(out, "        match: %s\n", v[i]->match);
	}
	free(v);
	return 0;
}

int
audit_print_table(const struct audit *a, FILE *out)
{
	struct layout l = { 24, a->o.all };
	struct arow **d;
	size_t i, j;
	int rc = 0;

	fprintf(out, "sendmail-dane-audit: %llu line%s of the module counted "
	    "(%s) of %llu read", a->counted, a->counted == 1 ? "" : "s",
	    a->o.all ? "every mode" : "mode=audit", a->read);
	if (a->o.since[0] != '\0')
		fprintf(out, ", since %s", a->o.since);
	if (a->domain != NULL)
		fprintf(out, ", domain %s", a->domain);
	for (i = 0; i < a->nfiles; i++)
		fprintf(out, "%s%s", i == 0 ? ", from " : ", ", a->files[i]);
	fprintf(out, "\n");
	if (a->domains.n == 0) {
		fprintf(out, "no %sline of the module found\n",
		    a->o.all ? "" : "mode=audit ");
		goto tail;
	}
	if ((d = (struct arow **)sorted(&a->domains, row_cmp)) == NULL)
		return AUDIT_NOMEM;
	for (i = 0; i < a->domains.n; i++) {
		int n = (int)strlen(d[i]->name) + (d[i]->canonical != NULL ?
		    (int)strlen(d[i]->canonical) + 13 : 0);

		if (n > l.name)
			l.name = n;
		for (j = 0; j < d[i]->hosts.n; j++) {
			n = 2 + (int)strlen(d[i]->hosts.ents[j].key);
			if (n > l.name)
				l.name = n;
		}
	}
	if (l.name > 40)
		l.name = 40;
	fprintf(out, "\n%-*s %6s %6s %6s %6s %6s  %-11s", l.name,
	    "DESTINATION / server", "AUTH", "DEFER", "TLS", "OPP", "ERR",
	    "ADVICE");
	if (l.all)
		fprintf(out, "  %-16s", "MODES");
	fprintf(out, "  FIRST .. LAST\n");
	for (i = 0; i < a->domains.n && rc == 0; i++) {
		struct arow **h;

		table_row(out, &l, d[i], 0, advice(&d[i]->c));
		if ((h = (struct arow **)sorted(&d[i]->hosts, row_cmp)) ==
		    NULL) {
			rc = AUDIT_NOMEM;
			break;
		}
		for (j = 0; j < d[i]->hosts.n && rc == 0; j++) {
			table_row(out, &l, h[j], 2, "");
			if (h[j]->c.incomplete > 0)
				fprintf(out, "      cut short %llux: the line "
				    "ends before its verdict\n",
				    h[j]->c.incomplete);
			rc = table_reasons(out, &h[j]->deferrals, "deferred");
			if (rc == 0)
				rc = table_reasons(out, &h[j]->errors, "error");
		}
		free(h);
	}
	free(d);
	if (rc != 0)
		return rc;
	fprintf(out, "\nAUTH authenticated, DEFER %s deferred, TLS TLS without "
	    "authentication,\nOPP opportunistic, ERR refused before any "
	    "policy (configuration, DNS).\nADVICE: enforce: every attempt "
	    "passed; check: some %s deferred (reasons\nunder the server); "
	    "none-needed: opportunistic only, DANE never applied.\n",
	    a->o.all ? "deferred or would be" : "would be",
	    a->o.all ? "were or would be" : "would be");
tail:
	if (a->unparsed > 0)
		fprintf(out, "%llu line%s looked like the module's but could "
		    "not be read (not counted)\n", a->unparsed,
		    a->unparsed == 1 ? "" : "s");
	if (fflush(out) != 0 || ferror(out))
		return AUDIT_IOERR;
	return 0;
}

/* --- JSON ----------------------------------------------------------- */

static void
jset(json_object *o, const char *k, json_object *v, int *bad)
{
	if (v == NULL) {
		*bad = 1;
		return;
	}
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		*bad = 1;
	}
}

static void
jpush(json_object *arr, json_object *v, int *bad)
{
	if (v == NULL) {
		*bad = 1;
		return;
	}
	if (json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		*bad = 1;
	}
}

/* a string, or null for NULL */
static void
jstr(json_object *o, const char *k, const char *s, int *bad)
{
	if (s == NULL) {
		if (json_object_object_add(o, k, NULL) != 0)
			*bad = 1;
	} else
		jset(o, k, json_object_new_string(s), bad);
}

static json_object *
json_counts(const struct audit_counts *c, int *bad)
{
	json_object *o = json_object_new_object();

	if (o == NULL) {
		*bad = 1;
		return NULL;
	}
	jset(o, "authenticated", json_object_new_int64((int64_t)c->authenticated), bad);
	jset(o, "deferred", json_object_new_int64((int64_t)c->deferred), bad);
	jset(o, "encrypted", json_object_new_int64((int64_t)c->encrypted), bad);
	jset(o, "opportunistic", json_object_new_int64((int64_t)c->opportunistic), bad);
	jset(o, "errors", json_object_new_int64((int64_t)c->errors), bad);
	jset(o, "incomplete", json_object_new_int64((int64_t)c->incomplete), bad);
	return o;
}

static json_object *
json_reasons(const struct amap *m, int records, int *bad)
{
	json_object *arr = json_object_new_array();
	struct areason **v = (struct areason **)sorted(m, reason_cmp);
	size_t i, k;

	if (arr == NULL || v == NULL) {
		json_object_put(arr);
		free(v);
		*bad = 1;
		return NULL;
	}
	for (i = 0; i < m->n; i++) {
		json_object *o = json_object_new_object(), *t;

		if (o == NULL) {
			*bad = 1;
			break;
		}
		jstr(o, "reason", v[i]->text, bad);
		jset(o, "count", json_object_new_int64((int64_t)v[i]->count), bad);
		if (records) {
			if ((t = json_object_new_array()) != NULL)
				for (k = 0; k < v[i]->tlsa.n; k++)
					jpush(t, json_object_new_string(
					    v[i]->tlsa.ents[k].key), bad);
			jset(o, "tlsa", t, bad);
			jstr(o, "match", v[i]->match, bad);
		}
		jpush(arr, o, bad);
	}
	free(v);
	return arr;
}

static json_object *
json_row(const struct arow *w, int domain, int *bad)
{
	json_object *o = json_object_new_object(), *m, *hosts;
	struct arow **h;
	size_t i;

	if (o == NULL) {
		*bad = 1;
		return NULL;
	}
	jstr(o, domain ? "domain" : "host", w->name, bad);
	if (domain)
		jstr(o, "canonical", w->canonical, bad);
	jstr(o, "first", first_seen(w), bad);
	jstr(o, "last", last_seen(w), bad);
	if ((m = json_object_new_array()) != NULL)
		for (i = 0; i < NELEM(modes); i++)
			if (w->modes & modes[i].mode)
				jpush(m, json_object_new_string(modes[i].name),
				    bad);
	jset(o, "modes", m, bad);
	jset(o, "counts", json_counts(&w->c, bad), bad);
	if (domain)
		jstr(o, "advice", advice(&w->c), bad);
	jset(o, "deferrals", json_reasons(&w->deferrals, 1, bad), bad);
	jset(o, "error_reasons", json_reasons(&w->errors, 0, bad), bad);
	if (!domain)
		return o;
	hosts = json_object_new_array();
	h = (struct arow **)sorted(&w->hosts, row_cmp);
	if (hosts != NULL && h != NULL)
		for (i = 0; i < w->hosts.n && !*bad; i++)
			jpush(hosts, json_row(h[i], 0, bad), bad);
	else
		*bad = 1;
	free(h);
	jset(o, "hosts", hosts, bad);
	return o;
}

int
audit_print_json(const struct audit *a, FILE *out)
{
	json_object *top = json_object_new_object(), *files, *doms;
	struct arow **d = NULL;
	const char *text;
	int bad = top == NULL;
	size_t i;

	if (!bad) {
		if ((files = json_object_new_array()) != NULL)
			for (i = 0; i < a->nfiles; i++)
				jpush(files, json_object_new_string(a->files[i]),
				    &bad);
		jset(top, "files", files, &bad);
		jset(top, "lines", json_object_new_int64((int64_t)a->counted),
		    &bad);
		jset(top, "read", json_object_new_int64((int64_t)a->read),
		    &bad);
		jset(top, "unparsed",
		    json_object_new_int64((int64_t)a->unparsed), &bad);
		jset(top, "all", json_object_new_boolean(a->o.all), &bad);
		jstr(top, "since", a->o.since[0] != '\0' ? a->o.since : NULL,
		    &bad);
		jstr(top, "domain", a->domain, &bad);
		doms = json_object_new_array();
		d = (struct arow **)sorted(&a->domains, row_cmp);
		if (doms != NULL && d != NULL)
			for (i = 0; i < a->domains.n && !bad; i++)
				jpush(doms, json_row(d[i], 1, &bad), &bad);
		else
			bad = 1;
		jset(top, "domains", doms, &bad);
	}
	free(d);
	text = bad ? NULL : json_object_to_json_string_ext(top,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL) {
		json_object_put(top);
		return AUDIT_NOMEM;
	}
	fprintf(out, "%s\n", text);
	json_object_put(top);
	if (fflush(out) != 0 || ferror(out))
		return AUDIT_IOERR;
	return 0;
}

/* --- consistency (for the tests and the fuzz target) ---------------- */

static int
row_check(const struct arow *w)
{
	unsigned long long sum = 0;
	size_t i;

	for (i = 0; i < w->deferrals.n; i++)
		sum += ((struct areason *)w->deferrals.ents[i].val)->count;
	if (sum != w->c.deferred)
		return -1;
	for (sum = 0, i = 0; i < w->errors.n; i++)
		sum += ((struct areason *)w->errors.ents[i].val)->count;
	if (sum != w->c.errors)
		return -1;
	if (total(&w->c) == 0 || first_seen(w) == NULL || last_seen(w) == NULL)
		return -1;
	return 0;
}

int
audit_selfcheck(const struct audit *a)
{
	unsigned long long sum = 0;
	size_t i, j;

	for (i = 0; i < a->domains.n; i++) {
		const struct arow *d = a->domains.ents[i].val;
		struct audit_counts c = { 0 };

		if (row_check(d) != 0)
			return -1;
		for (j = 0; j < d->hosts.n; j++) {
			const struct arow *h = d->hosts.ents[j].val;

			if (row_check(h) != 0)
				return -1;
			c.authenticated += h->c.authenticated;
			c.deferred += h->c.deferred;
			c.encrypted += h->c.encrypted;
			c.opportunistic += h->c.opportunistic;
			c.errors += h->c.errors;
			c.incomplete += h->c.incomplete;
		}
		if (memcmp(&c, &d->c, sizeof(c)) != 0)
			return -1;
		sum += total(&d->c);
	}
	return sum == a->counted ? 0 : -1;
}

/* --- arguments ------------------------------------------------------ */

struct rot {
	char *path;
	unsigned long n;
	int numbered;
};

static int
rot_cmp(const void *x, const void *y)
{
	const struct rot *a = x, *b = y;

	/* numbered ones by number, highest (oldest) first, then the rest */
	if (a->numbered != b->numbered)
		return b->numbered - a->numbered;
	if (a->numbered && a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->path, b->path);
}

void
audit_files_free(char **files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

int
audit_default_files(const char *log, char ***files, size_t *n)
{
	size_t len = strlen(log), i, k = 0, cap = 0;
	char *pat = a_malloc(len + 6), **out = NULL;
	struct rot *r = NULL;
	glob_t g;
	int rc;

	*files = NULL;
	*n = 0;
	if (pat == NULL)
		return AUDIT_NOMEM;
	snprintf(pat, len + 6, "%s.*.gz", log);
	memset(&g, 0, sizeof(g));
	rc = glob(pat, 0, NULL, &g);
	free(pat);
	if (rc == GLOB_NOSPACE)
		return AUDIT_NOMEM;
	if (rc == 0 && (r = a_calloc(g.gl_pathc, sizeof(*r))) == NULL) {
		globfree(&g);
		return AUDIT_NOMEM;
	}
	for (i = 0; rc == 0 && i < g.gl_pathc; i++) {
		const char *mid = g.gl_pathv[i] + len + 1;
		char *end;

		r[i].path = g.gl_pathv[i];
		r[i].n = strtoul(mid, &end, 10);
		r[i].numbered = end != mid && isdig(*mid) &&
		    strcmp(end, ".gz") == 0;
	}
	if (rc == 0)
		qsort(r, g.gl_pathc, sizeof(*r), rot_cmp);
	if (grow(&out, &cap, (rc == 0 ? g.gl_pathc : 0) + 2,
	    sizeof(*out)) != 0)
		goto nomem;
	for (i = 0; rc == 0 && i < g.gl_pathc; i++)
		if ((out[k++] = a_strdup(r[i].path)) == NULL)
			goto nomem;
	if ((out[k] = a_malloc(len + 3)) == NULL)
		goto nomem;
	snprintf(out[k], len + 3, "%s.1", log);
	if (access(out[k], F_OK) == 0)
		k++;
	else
		free(out[k]);
	if ((out[k++] = a_strdup(log)) == NULL) {
		k--;
		goto nomem;
	}
	free(r);
	if (rc == 0)
		globfree(&g);
	*files = out;
	*n = k;
	return 0;
nomem:
	audit_files_free(out, k);
	free(r);
	if (rc == 0)
		globfree(&g);
	return AUDIT_NOMEM;
}

int
audit_parse_since(const char *arg, char out[AUDIT_SINCE_LEN])
{
	size_t n = strlen(arg);
	int y, mo, d, h, mi;
	const char *e = arg + n;

	if ((n != 10 && n != 16) || num(arg, e, 4, &y) || arg[4] != '-' ||
	    num(arg + 5, e, 2, &mo) || arg[7] != '-' ||
	    num(arg + 8, e, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	(void)y;
	if (n == 16 && ((arg[10] != 'T' && arg[10] != ' ') ||
	    num(arg + 11, e, 2, &h) || arg[13] != ':' ||
	    num(arg + 14, e, 2, &mi) || h > 23 || mi > 59))
		return -1;
	memcpy(out, arg, n);
	out[n] = '\0';
	if (n == 16)
		out[10] = 'T';
	return 0;
}
