/*
 * NAME
 *	probe.c - one SMTP/STARTTLS probe per address, set up as the module
 *	sets up sendmail's SSL object, and what sendmail would do with it
 *
 * DESCRIPTION
 *	See probe.h.  The network part uses one non-blocking socket per
 *	session and poll() for every wait; nothing here installs a signal
 *	handler or uses alarm().  The TLS part is OpenSSL with the policy
 *	put into force by dane_ssl_apply_level() and read back with
 *	dane_ssl_check(), the calls sendmail/delivery.c makes in sendmail.
 *	The diagnosis (which record matches which certificate, why none
 *	did) only explains; the verdict is OpenSSL's and the module's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "probe.h"

const struct probe_keytype probe_keytypes[PROBE_KEYTYPES] = {
	{ "RSA", "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
	    "rsa_pss_rsae_sha512:rsa_pss_pss_sha256:rsa_pss_pss_sha384:"
	    "rsa_pss_pss_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512",
	    "aRSA:!aNULL" },
	{ "ECDSA", "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448",
	    "aECDSA:!aNULL" },
};

const char *
probe_level_name(enum probe_level l)
{
	static const char *const names[] = { "authenticated", "encrypted",
		"opportunistic", "skip", "defer" };

	return (unsigned)l < sizeof(names) / sizeof(names[0]) ? names[l] : "?";
}

const char *
probe_verdict_name(enum probe_verdict v)
{
	static const char *const names[] = { "authenticated", "encrypted",
		"opportunistic", "deferred", "bounced" };

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

int
probe_exit_status(enum probe_verdict v)
{
	switch (v) {
	case PROBE_V_AUTHENTICATED:
	case PROBE_V_ENCRYPTED:
	case PROBE_V_OPPORTUNISTIC:
		return 0;
	default:
		return 1;
	}
}

/* --- time and I/O ------------------------------------------------------ */

static double
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Milliseconds left of a step of `step_s` seconds begun at `start`, never
 * beyond the deadline; 0 when nothing is left. */
static int
left_ms(double start, unsigned step_s, const struct timespec *deadline)
{
	double now = mono(), end = start + step_s;
	double dl = (double)deadline->tv_sec + (double)deadline->tv_nsec / 1e9;

	if (deadline->tv_sec != 0 && dl < end)
		end = dl;
	if (end <= now)
		return 0;
	return (int)((end - now) * 1000) + 1;
}

/* 1 ready, 0 out of time, -1 error (errno). */
static int
wait_fd(int fd, short events, double start, unsigned step_s,
    const struct timespec *deadline)
{
	struct pollfd pfd;
	int ms, r;

	for (;;) {
		if ((ms = left_ms(start, step_s, deadline)) <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 1;
		if (r == 0)
			continue;	/* left_ms() ends it */
		if (errno != EINTR)
			return -1;
	}
}

struct line_reader {
	int fd;
	char buf[16384];
	size_t len;
};

static int
send_all(int fd, const char *s, const struct probe_opts *o)
{
	size_t n = strlen(s), off = 0;
	double start = mono();
	ssize_t w;

	while (off < n) {
		w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (wait_fd(fd, POLLOUT, start, o->reply_s, &o->deadline) <= 0)
			return -1;
	}
	return 0;
}

/*
 * One SMTP reply (all its lines).  Returns the code, 0 when the time ran
 * out, -1 when the connection closed or failed.  `first` receives the
 * first line; *starttls (if non-NULL) is set when a line offers STARTTLS.
 */
static int
read_reply(struct line_reader *r, const struct probe_opts *o, char *first,
    size_t fsize, int *starttls)
{
	double start = mono();
	int code = -1, lines = 0;

	if (first != NULL && fsize > 0)
		first[0] = '\0';
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);

		if (nl != NULL) {
			size_t l = (size_t)(nl - r->buf);
			char line[1024];
			size_t k = l < sizeof(line) - 1 ? l : sizeof(line) - 1;

			memcpy(line, r->buf, k);
			line[k] = '\0';
			if (k > 0 && line[k - 1] == '\r')
				line[--k] = '\0';
			memmove(r->buf, nl + 1, r->len - l - 1);
			r->len -= l + 1;
			if (k < 3 || !isdigit((unsigned char)line[0]) ||
			    !isdigit((unsigned char)line[1]) ||
			    !isdigit((unsigned char)line[2]))
				return -1;
			for (size_t i = 0; i < k; i++)
				if ((unsigned char)line[i] < 0x20 ||
				    (unsigned char)line[i] > 0x7e)
					line[i] = '?';
			if (lines++ == 0 && first != NULL) {
				size_t c = k < fsize - 1 ? k : fsize - 1;

				memcpy(first, line, c);
				first[c] = '\0';
			}
			if (starttls != NULL && k >= 12 &&
			    strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
			    (line[12] == '\0' || line[12] == ' '))
				*starttls = 1;
			code = atoi(line);
			if (line[3] != '-')
				return code;
			if (lines > 200)
				return -1;
			continue;
		}
		if (r->len >= sizeof(r->buf) - 1)
			return -1;
		{
			ssize_t n = recv(r->fd, r->buf + r->len,
			    sizeof(r->buf) - 1 - r->len, 0);

			if (n > 0) {
				r->len += (size_t)n;
				continue;
			}
			if (n == 0)
				return -1;
			if (errno != EAGAIN && errno != EINTR)
				return -1;
		}
		switch (wait_fd(r->fd, POLLIN, start, o->reply_s, &o->deadline)) {
		case 1:
			continue;
		case 0:
			return 0;
		default:
			return -1;
		}
	}
}

void
probe_connect_text(int err, const char *host, char *out, size_t size)
{
	if (err == ECONNREFUSED)
		snprintf(out, size, "Connection refused by %s.", host);
	else if (err == ETIMEDOUT)
		snprintf(out, size, "Connection timed out with %s.", host);
	else
		snprintf(out, size, "%s with %s.", strerror(err), host);
}

/* --- certificates ------------------------------------------------------- */

static void
hex(const unsigned char *d, size_t n, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < size; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * i] = '\0';
}

static void
sha256_hex(const unsigned char *d, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (EVP_Digest(d, n, md, &len, EVP_sha256(), NULL) == 1)
		hex(md, len, out, 65);
}

static void
name_text(const X509_NAME *name, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 &
	    ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_read(b, out, (int)size - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

static void
time_text(const ASN1_TIME *t, char *out, size_t size, time_t *tt)
{
	struct tm tm;

	out[0] = '\0';
	*tt = 0;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return;
	*tt = timegm(&tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
key_text(X509 *c, char *out, size_t size)
{
	EVP_PKEY *k = X509_get0_pubkey(c);
	char group[64];
	size_t glen = 0;

	out[0] = '\0';
	if (k == NULL)
		return;
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		snprintf(out, size, "RSA %d", EVP_PKEY_get_bits(k));
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(k, group, sizeof(group),
		    &glen) == 1)
			snprintf(out, size, "EC %.24s", strcmp(group,
			    "prime256v1") == 0 ? "P-256" : strcmp(group,
			    "secp384r1") == 0 ? "P-384" : strcmp(group,
			    "secp521r1") == 0 ? "P-521" : group);
		else
			snprintf(out, size, "EC");
		break;
	case EVP_PKEY_ED25519:
		snprintf(out, size, "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(out, size, "Ed448");
		break;
	default:
		snprintf(out, size, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
	}
}

static void
san_text(X509 *c, char *out, size_t size)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(c, NID_subject_alt_name, NULL,
	    NULL);
	size_t off = 0;
	int i;

	out[0] = '\0';
	if (gens == NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int n, k;

		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		n = ASN1_STRING_length(g->d.dNSName);
		if (off + (size_t)n + 2 >= size)
			break;
		if (off > 0)
			out[off++] = ' ';
		for (k = 0; k < n; k++)
			out[off++] = d[k] >= 0x21 && d[k] <= 0x7e ?
			    (char)d[k] : '?';
		out[off] = '\0';
	}
	GENERAL_NAMES_free(gens);
}

static void
cert_fill(struct probe_cert *pc, X509 *c, int depth)
{
	unsigned char *der = NULL;
	int n;

	memset(pc, 0, sizeof(*pc));
	pc->depth = depth;
	name_text(X509_get_subject_name(c), pc->subject, sizeof(pc->subject));
	name_text(X509_get_issuer_name(c), pc->issuer, sizeof(pc->issuer));
	san_text(c, pc->names, sizeof(pc->names));
	key_text(c, pc->key, sizeof(pc->key));
	time_text(X509_get0_notBefore(c), pc->not_before,
	    sizeof(pc->not_before), &pc->not_before_t);
	time_text(X509_get0_notAfter(c), pc->not_after,
	    sizeof(pc->not_after), &pc->not_after_t);
	if ((n = i2d_X509(c, &der)) > 0 && (pc->der = malloc((size_t)n))) {
		memcpy(pc->der, der, (size_t)n);
		pc->der_len = (size_t)n;
		sha256_hex(pc->der, pc->der_len, pc->cert_sha256);
	}
	OPENSSL_free(der);
	der = NULL;
	if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der)) > 0 &&
	    (pc->spki = malloc((size_t)n))) {
		memcpy(pc->spki, der, (size_t)n);
		pc->spki_len = (size_t)n;
		sha256_hex(pc->spki, pc->spki_len, pc->spki_sha256);
	}
	OPENSSL_free(der);
}

void
probe_session_set_chain(struct probe_session *ss, STACK_OF(X509) *chain)
{
	int i, n = chain != NULL ? sk_X509_num(chain) : 0;

	for (i = 0; i < n && i < PROBE_CHAIN_MAX; i++)
		cert_fill(&ss->chain[i], sk_X509_value(chain, i), i);
	ss->chain_len = (size_t)i;
}

void
probe_session_clear(struct probe_session *ss)
{
	size_t i;

	for (i = 0; i < ss->chain_len; i++) {
		free(ss->chain[i].der);
		free(ss->chain[i].spki);
	}
	free(ss->rr_match);
	memset(ss, 0, sizeof(*ss));
}

/* --- records ------------------------------------------------------------ */

static int
digest_ord(const struct dane_settings *s, uint8_t mtype)
{
	static const uint8_t fallback[] = { DANE_MTYPE_SHA2_512,
		DANE_MTYPE_SHA2_256, 0, 0 };
	const uint8_t *pref = s->digest_pref[0] != 0 ? s->digest_pref :
	    fallback;
	size_t n, i;

	for (n = 0; n < sizeof(s->digest_pref) && pref[n] != 0; n++)
		;
	for (i = 0; i < n; i++)		/* as ssl.c set_digest_order() */
		if (pref[i] == mtype)
			return (int)(n - i);
	return 0;
}

static void
unusable_why(const struct dane_settings *s, const struct dane_tlsa_rr *rr,
    char *why, size_t size)
{
	if (rr->usage > DANE_USAGE_DANE_EE)
		snprintf(why, size, "unusable: unknown usage %u", rr->usage);
	else if (rr->selector > DANE_SELECTOR_SPKI)
		snprintf(why, size, "unusable: unknown selector %u",
		    rr->selector);
	else if (rr->mtype > DANE_MTYPE_SHA2_512)
		snprintf(why, size, "unusable: unknown matching type %u",
		    rr->mtype);
	else if (rr->mtype == DANE_MTYPE_SHA2_256 && rr->len != 32)
		snprintf(why, size, "unusable: a SHA-256 digest of %zu "
		    "bytes, not 32", rr->len);
	else if (rr->mtype == DANE_MTYPE_SHA2_512 && rr->len != 64)
		snprintf(why, size, "unusable: a SHA-512 digest of %zu "
		    "bytes, not 64", rr->len);
	else if (rr->mtype == DANE_MTYPE_FULL && (rr->usage > 1 ||
	    s->usage01 != DANE_USAGE01_STRICT))
		snprintf(why, size, "unusable: the full data is not a DER %s",
		    rr->selector == 0 ? "certificate" : "public key");
	else if (s->usage01 == DANE_USAGE01_STRICT)
		snprintf(why, size, "unusable: usage %u (PKIX) with "
		    "confSMDANE_USAGE01 strict (RFC 7672 section 3.1.3)",
		    rr->usage);
	else if (rr->usage == DANE_USAGE_PKIX_TA)
		snprintf(why, size, "unusable: a digest of a PKIX-TA trust "
		    "anchor the server need not send (confSMDANE_USAGE01 "
		    "ta-digests uses it as 2 %u %u)", rr->selector, rr->mtype);
	else
		snprintf(why, size, "unusable");
}

size_t
probe_rr_classify(const struct dane_settings *s, const struct dane_facts *f,
    struct probe_rr **out)
{
	struct probe_rr *v;
	struct dane_tlsa_rr eff;
	size_t i, j, k = 0;

	*out = NULL;
	if (f == NULL || f->tlsa_count == 0 || f->tlsa_rrs == NULL)
		return 0;
	if ((v = calloc(f->tlsa_count, sizeof(*v))) == NULL)
		return 0;
	for (i = 0; i < f->tlsa_count; i++) {
		v[i].rr = f->tlsa_rrs[i];
		v[i].usable_index = -1;
		v[i].eff_usage = v[i].rr.usage;
		if (!dane_tlsa_usable(s, &f->tlsa_rrs[i], &eff)) {
			v[i].state = PROBE_RR_UNUSABLE;
			unusable_why(s, &v[i].rr, v[i].why, sizeof(v[i].why));
			continue;
		}
		v[i].state = PROBE_RR_USABLE;
		v[i].usable_index = (int)k++;
		v[i].eff_usage = eff.usage;
		if (eff.usage != v[i].rr.usage)
			snprintf(v[i].why, sizeof(v[i].why), "usable as %u %u "
			    "%u (%s)", eff.usage, eff.selector, eff.mtype,
			    eff.usage == DANE_USAGE_DANE_EE ? "PKIX-EE used as "
			    "DANE-EE" : "PKIX-TA used as DANE-TA");
		else
			snprintf(v[i].why, sizeof(v[i].why), "usable");
	}
	/* digest agility: OpenSSL uses only the strongest digest of each
	 * usage and selector (full data plays no part) */
	for (i = 0; i < f->tlsa_count; i++) {
		if (v[i].state != PROBE_RR_USABLE ||
		    v[i].rr.mtype == DANE_MTYPE_FULL)
			continue;
		for (j = 0; j < f->tlsa_count; j++)
			if (j != i && v[j].state != PROBE_RR_UNUSABLE &&
			    v[j].eff_usage == v[i].eff_usage &&
			    v[j].rr.selector == v[i].rr.selector &&
			    v[j].rr.mtype != DANE_MTYPE_FULL &&
			    digest_ord(s, v[j].rr.mtype) >
			    digest_ord(s, v[i].rr.mtype))
				break;
		if (j < f->tlsa_count) {
			v[i].state = PROBE_RR_IGNORED;
			snprintf(v[i].why, sizeof(v[i].why), "ignored: %u %u %u "
			    "is published too and outranks it "
			    "(confSMDANE_DIGESTS, RFC 7671 section 9)",
			    v[j].eff_usage, v[j].rr.selector, v[j].rr.mtype);
		}
	}
	*out = v;
	return f->tlsa_count;
}

static int
rr_matches(const struct dane_tlsa_rr *rr, const struct probe_cert *c)
{
	const unsigned char *d = rr->selector == DANE_SELECTOR_CERT ? c->der :
	    c->spki;
	size_t n = rr->selector == DANE_SELECTOR_CERT ? c->der_len :
	    c->spki_len;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (d == NULL || rr->data == NULL)
		return 0;
	switch (rr->mtype) {
	case DANE_MTYPE_FULL:
		return n == rr->len && memcmp(d, rr->data, n) == 0;
	case DANE_MTYPE_SHA2_256:
	case DANE_MTYPE_SHA2_512:
		if (EVP_Digest(d, n, md, &len, rr->mtype == DANE_MTYPE_SHA2_256 ?
		    EVP_sha256() : EVP_sha512(), NULL) != 1)
			return 0;
		return len == rr->len && memcmp(md, rr->data, len) == 0;
	default:
		return 0;
	}
}

void
probe_match_chain(const struct dane_policy *p, struct probe_session *ss)
{
	size_t k, d;

	free(ss->rr_match);
	ss->rr_match = NULL;
	ss->rr_count = 0;
	if (p == NULL || p->usable_count == 0)
		return;
	if ((ss->rr_match = calloc(p->usable_count, sizeof(uint32_t))) == NULL)
		return;
	ss->rr_count = p->usable_count;
	for (k = 0; k < p->usable_count; k++)
		for (d = 0; d < ss->chain_len && d < 32; d++)
			if (rr_matches(&p->usable[k], &ss->chain[d]))
				ss->rr_match[k] |= 1u << d;
}

/* A usable record's match counts (usage 3 at depth 0, usage 2 above). */
static int
match_counts(uint8_t usage, uint32_t mask)
{
	return usage == DANE_USAGE_DANE_EE ? (mask & 1u) != 0 :
	    (mask & ~1u) != 0;
}

static int
lowest_depth(uint32_t mask, int from)
{
	int d;

	for (d = from; d < 32; d++)
		if (mask & (1u << d))
			return d;
	return -1;
}

static const struct probe_rr *
published(const struct probe_rr *rrs, size_t nrr, size_t k)
{
	size_t i;

	for (i = 0; i < nrr; i++)
		if (rrs[i].usable_index == (int)k)
			return &rrs[i];
	return NULL;
}

void
probe_explain(const struct dane_policy *p, const struct probe_rr *rrs,
    size_t nrr, struct probe_session *ss)
{
	char rr[64], names[600];
	size_t k, i, off;
	long vr = ss->verify_result;

	ss->failure[0] = ss->explain[0] = '\0';
	if (p == NULL || !ss->tls || ss->applied != DANE_LEVEL_AUTH ||
	    ss->auth.authenticated)
		return;
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH) {
		int depth = -1;

		for (k = 0; k < ss->rr_count; k++)
			if (p->usable[k].usage == DANE_USAGE_DANE_TA &&
			    (depth = lowest_depth(ss->rr_match[k], 1)) >= 0)
				break;
		off = 0;
		names[0] = '\0';
		for (i = 0; i < p->refname_count; i++)
			off += (size_t)snprintf(names + off, off < sizeof(names) ?
			    sizeof(names) - off : 0, "%s%s", i ? " " : "",
			    p->refnames[i]);
		snprintf(ss->failure, sizeof(ss->failure), "name");
		if (depth >= 0)
			snprintf(ss->explain, sizeof(ss->explain), "a DANE-TA "
			    "record matches the issuer at depth %d, but the "
			    "server's certificate (names: %.120s) names none of "
			    "the reference names (%.120s)", depth,
			    ss->chain_len > 0 && ss->chain[0].names[0] ?
			    ss->chain[0].names : ss->chain_len > 0 ?
			    ss->chain[0].subject : "-", names);
		else
			snprintf(ss->explain, sizeof(ss->explain), "the "
			    "server's certificate names none of the reference "
			    "names (%.300s)", names);
		return;
	}
	if (vr == X509_V_ERR_CERT_HAS_EXPIRED ||
	    vr == X509_V_ERR_CERT_NOT_YET_VALID) {
		int late = vr == X509_V_ERR_CERT_HAS_EXPIRED;
		time_t now = time(NULL);

		snprintf(ss->failure, sizeof(ss->failure), "%s",
		    late ? "expired" : "not-yet-valid");
		for (i = 0; i < ss->chain_len; i++)
			if (late ? ss->chain[i].not_after_t < now :
			    ss->chain[i].not_before_t > now)
				break;
		if (i < ss->chain_len)
			snprintf(ss->explain, sizeof(ss->explain), "the "
			    "certificate at depth %zu (%s) %s %s; a DANE-TA "
			    "chain must be valid now", i, ss->chain[i].subject,
			    late ? "expired on" : "is valid only from",
			    late ? ss->chain[i].not_after :
			    ss->chain[i].not_before);
		else
			snprintf(ss->explain, sizeof(ss->explain), "%s",
			    X509_verify_cert_error_string(vr));
		return;
	}
	if (vr != X509_V_OK && vr != X509_V_ERR_DANE_NO_MATCH) {
		snprintf(ss->failure, sizeof(ss->failure), "other");
		snprintf(ss->explain, sizeof(ss->explain), "%s",
		    X509_verify_cert_error_string(vr));
		return;
	}
	snprintf(ss->failure, sizeof(ss->failure), "digest");
	/* the closest miss first */
	for (k = 0; k < ss->rr_count; k++) {
		const struct probe_rr *pub = published(rrs, nrr, k);

		dane_tlsa_format(&p->usable[k], rr, sizeof(rr));
		if (pub != NULL && pub->state == PROBE_RR_IGNORED &&
		    match_counts(p->usable[k].usage, ss->rr_match[k])) {
			snprintf(ss->explain, sizeof(ss->explain), "only %s "
			    "matches, and it is %s", rr, pub->why);
			return;
		}
	}
	for (k = 0; k < ss->rr_count; k++) {
		uint32_t m = ss->rr_match[k];

		dane_tlsa_format(&p->usable[k], rr, sizeof(rr));
		if (p->usable[k].usage == DANE_USAGE_DANE_TA && (m & 1u)) {
			snprintf(ss->explain, sizeof(ss->explain), "%s matches "
			    "the server's own certificate (depth 0): a DANE-TA "
			    "record must match an issuer, depth 1 or more", rr);
			return;
		}
		if (p->usable[k].usage == DANE_USAGE_DANE_EE && (m & ~1u)) {
			snprintf(ss->explain, sizeof(ss->explain), "%s matches "
			    "the issuer at depth %d, not the server's "
			    "certificate: a DANE-EE record must match the leaf",
			    rr, lowest_depth(m, 1));
			return;
		}
	}
	for (k = 0; k < ss->rr_count; k++)
		if (p->usable[k].usage == DANE_USAGE_DANE_TA &&
		    ss->chain_len == 1) {
			snprintf(ss->explain, sizeof(ss->explain), "the server "
			    "sent its own certificate only: the trust anchor a "
			    "DANE-TA record names must be in the chain it "
			    "sends");
			return;
		}
	snprintf(ss->explain, sizeof(ss->explain), "no usable record's data "
	    "matches a certificate the server sent (its key: SPKI SHA-256 "
	    "%s)", ss->chain_len > 0 ? ss->chain[0].spki_sha256 : "-");
}

/* --- rollover ----------------------------------------------------------- */

static void
warn(struct probe_warning *w, size_t max, size_t *n, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
warn(struct probe_warning *w, size_t max, size_t *n, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	if (*n >= max)
		return;
	snprintf(w[*n].code, sizeof(w[*n].code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(w[*n].text, sizeof(w[*n].text), fmt, ap);
	va_end(ap);
	(*n)++;
}

static const char *
keytype_of(const struct probe_session *ss)
{
	if (ss->chain_len == 0)
		return "?";
	if (strncmp(ss->chain[0].key, "RSA", 3) == 0)
		return "RSA";
	if (strncmp(ss->chain[0].key, "EC", 2) == 0)
		return "ECDSA";
	return ss->chain[0].key;
}

size_t
probe_rollover(const struct dane_policy *p, const struct probe_rr *rrs,
    size_t nrr, const struct probe_session *main,
    const struct probe_session *kt, size_t nkt, time_t now,
    unsigned warn_days, struct probe_warning *w, size_t max)
{
	const struct probe_session *all[1 + PROBE_KEYTYPES];
	size_t n = 0, k, i, j, count = 0, one = 0, nall = 0;
	char rr[64];

	if (p == NULL || main == NULL || !main->tls ||
	    main->applied != DANE_LEVEL_AUTH)
		return 0;
	/* 1. a DANE-TA chain about to expire (validity is checked there) */
	if (main->auth.authenticated &&
	    main->auth.matched.usage == DANE_USAGE_DANE_TA) {
		size_t top = main->auth.depth >= 0 ?
		    (size_t)main->auth.depth : 0;

		for (i = 0; i <= top && i < main->chain_len; i++) {
			const struct probe_cert *c = &main->chain[i];
			double days = difftime(c->not_after_t, now) / 86400.0;

			if (c->not_after_t != 0 &&
			    days < (double)warn_days)
				warn(w, max, &n, "expiry", "the certificate at "
				    "depth %zu (%s) of the DANE-TA chain expires "
				    "%s, in %.0f days (warning at %u): DANE-TA "
				    "checks validity, renew it in time",
				    i, c->subject, c->not_after,
				    days < 0 ? 0 : days, warn_days);
		}
	}
	/* 2. one matching record, a digest of the whole leaf certificate */
	for (k = 0; k < main->rr_count && k < p->usable_count; k++) {
		const struct probe_rr *pub = published(rrs, nrr, k);

		if (pub != NULL && pub->state == PROBE_RR_IGNORED)
			continue;
		if (match_counts(p->usable[k].usage, main->rr_match[k])) {
			count++;
			one = k;
		}
	}
	if (count == 1 && p->usable[one].usage == DANE_USAGE_DANE_EE &&
	    p->usable[one].selector == DANE_SELECTOR_CERT) {
		dane_tlsa_format(&p->usable[one], rr, sizeof(rr));
		warn(w, max, &n, "single-301", "only one record matches, %s, "
		    "a digest of the whole certificate: it breaks at the next "
		    "renewal even with the same key; publish a 3 1 1 record "
		    "of the key as well", rr);
	}
	/* 3. different keys for RSA and ECDSA clients, only one matched */
	all[nall++] = main;
	for (i = 0; i < nkt && nall < sizeof(all) / sizeof(all[0]); i++)
		if (kt[i].tls && kt[i].chain_len > 0 &&
		    kt[i].applied == DANE_LEVEL_AUTH)
			all[nall++] = &kt[i];
	for (i = 0; i < nall; i++)
		for (j = i + 1; j < nall; j++) {
			const struct probe_session *a = all[i], *b = all[j];

			if (a->chain_len == 0 || b->chain_len == 0 ||
			    strcmp(a->chain[0].spki_sha256,
			    b->chain[0].spki_sha256) == 0 ||
			    a->auth.authenticated == b->auth.authenticated)
				continue;
			if (!a->auth.authenticated) {
				const struct probe_session *t = a;

				a = b;
				b = t;
			}
			warn(w, max, &n, "keytype", "the server presents an %s "
			    "certificate that matches (%s) and an %s "
			    "certificate that matches no record (SPKI SHA-256 "
			    "%.16s...): clients that prefer %s are refused; "
			    "publish a record for that key too", keytype_of(a),
			    a->auth.detail, keytype_of(b),
			    b->chain[0].spki_sha256, keytype_of(b));
			i = j = nall;	/* once */
		}
	return n;
}

/* --- one session -------------------------------------------------------- */

static SSL_CTX *
client_ctx(void)
{
	static SSL_CTX *ctx;

	if (ctx == NULL && (ctx = SSL_CTX_new(TLS_client_method())) != NULL)
		/* as sendmail may: the outcome is read, not enforced, by
		 * OpenSSL; dane_ssl_check() says whether DANE matched */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void
ssl_error_text(char *out, size_t size, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(out, size, "%s: %s", what, buf);
	} else
		snprintf(out, size, "%s", what);
	ERR_clear_error();
}

static int
do_handshake(SSL *ssl, int fd, const struct probe_opts *o,
    struct probe_session *out)
{
	double start = mono();
	int r, e;

	for (;;) {
		ERR_clear_error();
		r = SSL_connect(ssl);
		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			int w = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, start, o->handshake_s, &o->deadline);

			if (w == 1)
				continue;
			snprintf(out->tls_error, sizeof(out->tls_error),
			    w == 0 ? "TLS handshake timed out after %u s" :
			    "TLS handshake: poll failed", o->handshake_s);
			return -1;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			snprintf(out->tls_error, sizeof(out->tls_error),
			    "TLS handshake failed: %s", errno != 0 ?
			    strerror(errno) : "connection closed");
		else
			ssl_error_text(out->tls_error, sizeof(out->tls_error),
			    "TLS handshake failed");
		return -1;
	}
}

static void
tls_session(int fd, const struct probe_opts *o, const char *server,
    const struct dane_settings *s, const struct dane_policy *p,
    const struct probe_tls_opts *t, struct probe_session *out)
{
	SSL_CTX *ctx = client_ctx();
	SSL *ssl;
	const char *sni;
	int checked;

	(void)server;
	out->verify = "SOFTWARE";
	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL) {
		ssl_error_text(out->tls_error, sizeof(out->tls_error),
		    "cannot set up TLS");
		return;
	}
	if (t->sigalgs != NULL)
		(void)SSL_set1_sigalgs_list(ssl, t->sigalgs);
	if (t->ciphers != NULL)
		(void)SSL_set_cipher_list(ssl, t->ciphers);
	/* delivery.c: the policy, when there is one, before the first
	 * SSL_connect(); a failure is logged there and the handshake
	 * goes on with the level dane_ssl_apply_level() set */
	if (p != NULL) {
		out->policy_applied = 1;
		if (dane_ssl_apply_level(s, p, ssl, &out->applied) != DANE_OK)
			ssl_error_text(out->error, sizeof(out->error),
			    "cannot enable DANE");
	}
	(void)SSL_set_fd(ssl, fd);
	if (do_handshake(ssl, fd, o, out) != 0) {
		SSL_free(ssl);
		return;
	}
	out->tls = 1;
	snprintf(out->version, sizeof(out->version), "%s",
	    SSL_get_version(ssl));
	snprintf(out->cipher, sizeof(out->cipher), "%s",
	    SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(out->sni, sizeof(out->sni), "%s", sni != NULL ? sni : "");
	out->verify_result = SSL_get_verify_result(ssl);
	out->verify = out->verify_result == X509_V_OK ? "OK" : "FAIL";
	if (SSL_get0_peer_certificate(ssl) == NULL)
		out->verify = "NO";
	checked = p != NULL && out->policy_applied &&
	    out->applied == DANE_LEVEL_AUTH;
	if (checked) {
		dane_ssl_check(p, ssl, &out->auth);
		if (out->auth.authenticated && out->auth.matched.data != NULL)
			hex(out->auth.matched.data, out->auth.matched.len >
			    64 ? 64 : out->auth.matched.len, out->matched_hex,
			    sizeof(out->matched_hex));
		out->auth.matched.data = NULL;
	} else {
		out->auth.depth = -1;
		if (p != NULL)
			snprintf(out->auth.detail, sizeof(out->auth.detail),
			    "-");
	}
	if (p != NULL && (checked || (p->level == DANE_LEVEL_AUTH &&
	    out->applied == DANE_LEVEL_ENCRYPT)))
		out->checked = 1;
	probe_session_set_chain(out, SSL_get_peer_cert_chain(ssl));
	probe_match_chain(p, out);
	/* QUIT, without waiting for the answer */
	(void)SSL_write(ssl, "QUIT\r\n", 6);
	SSL_free(ssl);
}

int
probe_session(const struct probe_opts *o, const char *server,
    const struct sockaddr *sa, socklen_t salen,
    const struct dane_settings *s, const struct dane_policy *p,
    const struct probe_tls_opts *t, struct probe_session *out)
{
	struct line_reader *r;
	char line[512], cmd[300];
	double t0 = mono();
	int fd, code, err = 0, w;
	socklen_t len = sizeof(err);

	memset(out, 0, sizeof(*out));
	out->tried = 1;
	out->verify = "NONE";
	out->auth.depth = -1;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		probe_connect_text(errno, server, out->error,
		    sizeof(out->error));
		goto done;
	}
	r->fd = fd;
	if (connect(fd, sa, salen) != 0) {
		if (errno != EINPROGRESS) {
			probe_connect_text(errno, server, out->error,
			    sizeof(out->error));
			goto done;
		}
		w = wait_fd(fd, POLLOUT, t0, o->connect_s, &o->deadline);
		if (w <= 0) {
			probe_connect_text(w == 0 ? ETIMEDOUT : errno, server,
			    out->error, sizeof(out->error));
			goto done;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			probe_connect_text(err, server, out->error,
			    sizeof(out->error));
			goto done;
		}
	}
	out->connected = 1;
	code = read_reply(r, o, out->greeting, sizeof(out->greeting), NULL);
	out->greeting_code = code > 0 ? code : 0;
	if (code <= 0) {
		if (code == 0)
			snprintf(out->error, sizeof(out->error), "no greeting "
			    "from %s within %u s", server, o->reply_s);
		else
			snprintf(out->error, sizeof(out->error), "connection "
			    "closed by %s before its greeting", server);
		goto done;
	}
	if (code / 100 != 2) {
		snprintf(out->error, sizeof(out->error), "%s", out->greeting);
		goto quit;
	}
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", o->ehlo);
	if (send_all(fd, cmd, o) != 0 ||
	    (code = read_reply(r, o, line, sizeof(line),
	    &out->starttls_offered)) <= 0) {
		snprintf(out->error, sizeof(out->error), "no answer to EHLO "
		    "from %s", server);
		goto done;
	}
	out->ehlo_code = code;
	if (code / 100 != 2) {
		/* sendmail falls back to HELO: no extensions, no STARTTLS */
		out->starttls_offered = 0;
		snprintf(cmd, sizeof(cmd), "HELO %s\r\n", o->ehlo);
		if (send_all(fd, cmd, o) != 0 ||
		    read_reply(r, o, line, sizeof(line), NULL) <= 0) {
			snprintf(out->error, sizeof(out->error), "no answer to "
			    "HELO from %s", server);
			goto done;
		}
	}
	if (!out->starttls_offered || !t->starttls)
		goto quit;
	out->starttls_sent = 1;
	if (send_all(fd, "STARTTLS\r\n", o) != 0 ||
	    (code = read_reply(r, o, out->starttls_reply,
	    sizeof(out->starttls_reply), NULL)) <= 0) {
		out->verify = "TEMP";
		snprintf(out->tls_error, sizeof(out->tls_error), "no answer to "
		    "STARTTLS from %s", server);
		goto done;
	}
	out->starttls_code = code;
	if (code / 100 == 4) {
		out->verify = "TEMP";
		snprintf(out->tls_error, sizeof(out->tls_error), "STARTTLS "
		    "refused: %s", out->starttls_reply);
		goto quit;
	}
	if (code / 100 != 2) {
		out->verify = "PROTOCOL";
		snprintf(out->tls_error, sizeof(out->tls_error), "STARTTLS "
		    "refused: %s", out->starttls_reply);
		goto quit;
	}
	if (r->len > 0) {
		snprintf(out->tls_error, sizeof(out->tls_error), "%s sent data "
		    "before the TLS handshake", server);
		out->verify = "SOFTWARE";
		goto done;
	}
	tls_session(fd, o, server, s, p, t, out);
	goto done;
quit:
	(void)send_all(fd, "QUIT\r\n", o);
done:
	if (fd >= 0)
		close(fd);
	free(r);
	out->seconds = mono() - t0;
	return 0;
}

/* --- sendmail's decision ------------------------------------------------ */

void
probe_answer_reason(const char *answer, char *out, size_t size)
{
	const char *q;
	size_t n;

	out[0] = '\0';
	if (strncmp(answer, "FAIL", 4) != 0)
		return;
	if ((q = strchr(answer, '"')) == NULL) {
		snprintf(out, size, "%s", answer + 4);
		return;
	}
	q++;
	n = strlen(q);
	if (n > 0 && q[n - 1] == '"')
		n--;
	snprintf(out, size, "%.*s", (int)n, q);
}

void
probe_answer(enum smdane_mode mode, const struct probe_host *h,
    const char *nexthop, uint16_t port, const char *phase,
    const struct probe_session *ss, const char *verify, char *out,
    size_t size)
{
	struct smdane_query q;
	struct smdane_conn conn;
	size_t i;

	if (mode == SMDANE_MODE_NONE || mode == SMDANE_MODE_UNKNOWN) {
		snprintf(out, size, "OK");
		return;
	}
	if (h->policy == NULL) {
		snprintf(out, size, "FAIL \"DANE: DNS lookups impossible: %s\"",
		    dane_strerror(h->error));
		return;
	}
	memset(&q, 0, sizeof(q));
	snprintf(q.phase, sizeof(q.phase), "%s", phase);
	/* the channel's fields are lower case (verdict.c copy_field) */
	for (i = 0; verify[i] != '\0' && i + 1 < sizeof(q.verify); i++)
		q.verify[i] = (char)tolower((unsigned char)verify[i]);
	snprintf(q.server, sizeof(q.server), "%s", h->name);
	snprintf(q.nexthop, sizeof(q.nexthop), "%s", nexthop);
	memset(&conn, 0, sizeof(conn));
	if (ss != NULL) {
		conn.tls = ss->tls;
		conn.auth = ss->auth;
		conn.level = ss->applied;
		snprintf(conn.nexthop, sizeof(conn.nexthop), "%s", nexthop);
		/* the check was made against these records on this port */
		conn.checked_against = ss->checked ?
		    smdane_policy_digest(h->policy, port) : 0;
	}
	smdane_verdict(mode == SMDANE_MODE_AUDIT ? SMDANE_MODE_DANE : mode,
	    h->policy, port, &q, smdane_verify_is_tls(q.verify) ? &conn : NULL,
	    out, size);
}

static int
tls_required(const struct probe_host *h, enum smdane_mode mode,
    const struct probe_session *ss)
{
	if (mode == SMDANE_MODE_ENCRYPT)
		return 1;
	return h->policy != NULL && (h->policy->level == DANE_LEVEL_AUTH ||
	    h->policy->level == DANE_LEVEL_ENCRYPT) && ss->tls;
}

/* The level of an accepted delivery with DANE in force (mode dane,
 * dane-only, encrypt, or audit with an OK would-be answer). */
static enum probe_level
dane_level_of(const struct probe_host *h, enum smdane_mode mode,
    const struct probe_session *ss)
{
	if (ss->tls && ss->applied == DANE_LEVEL_AUTH &&
	    ss->auth.authenticated)
		return PROBE_AUTHENTICATED;
	if (ss->tls && tls_required(h, mode, ss))
		return PROBE_ENCRYPTED;
	return PROBE_OPPORTUNISTIC;
}

void
probe_decide_address(const struct probe_host *h, struct probe_addr *a)
{
	const struct probe_session *ss = &a->main;
	enum smdane_mode mode = a->mode;
	char why[PROBE_TEXT];

	a->accepted = 0;
	if (a->has_would) {
		const struct probe_session *w = a->dane.tried ? &a->dane : ss;

		a->would_level = strncmp(a->would, "OK", 2) == 0 ?
		    dane_level_of(h, SMDANE_MODE_DANE, w) : h->policy != NULL &&
		    h->policy->level == DANE_LEVEL_DEFER ? PROBE_DEFER :
		    PROBE_SKIP;
	}
	if (!ss->connected) {
		a->level = PROBE_SKIP;
		snprintf(a->reason, sizeof(a->reason), "%s", ss->error);
		return;
	}
	if (ss->greeting_code / 100 != 2) {
		a->level = PROBE_SKIP;
		snprintf(a->reason, sizeof(a->reason), "%s", ss->error[0] ?
		    ss->error : ss->greeting);
		return;
	}
	if (strncmp(a->answer, "OK", 2) != 0) {
		a->level = h->policy != NULL &&
		    h->policy->level == DANE_LEVEL_DEFER ? PROBE_DEFER :
		    PROBE_SKIP;
		probe_answer_reason(a->answer, why, sizeof(why));
		snprintf(a->reason, sizeof(a->reason), "454 4.7.5 %.380s", why);
		return;
	}
	/* the module said OK: sendmail's own tls_server rules */
	if (strcmp(ss->verify, "SOFTWARE") == 0 && !a->fallback_clear) {
		a->level = PROBE_SKIP;
		snprintf(a->reason, sizeof(a->reason),
		    "454 4.7.0 TLS handshake failed.");
		return;
	}
	if (strcmp(ss->verify, "PROTOCOL") == 0) {
		a->level = PROBE_SKIP;
		snprintf(a->reason, sizeof(a->reason),
		    "454 4.7.0 STARTTLS failed.");
		return;
	}
	a->accepted = 1;
	if (mode == SMDANE_MODE_DANE || mode == SMDANE_MODE_ONLY ||
	    mode == SMDANE_MODE_ENCRYPT)
		a->level = dane_level_of(h, mode, ss);
	else if (mode == SMDANE_MODE_AUDIT && a->has_would &&
	    strncmp(a->would, "OK", 2) == 0)
		a->level = dane_level_of(h, SMDANE_MODE_DANE, ss);
	else
		a->level = PROBE_OPPORTUNISTIC;
	switch (a->level) {
	case PROBE_AUTHENTICATED:
		snprintf(a->reason, sizeof(a->reason), "DANE authenticated: "
		    "%s", ss->auth.detail);
		break;
	case PROBE_ENCRYPTED:
		snprintf(a->reason, sizeof(a->reason), "TLS required, not "
		    "authenticated: %s", mode == SMDANE_MODE_ENCRYPT &&
		    (h->policy == NULL || h->policy->level == DANE_LEVEL_OPP) ?
		    "the access map requires TLS" : h->policy->level ==
		    DANE_LEVEL_AUTH ? "OpenSSL accepted none of the usable "
		    "records" : dane_reason_text(h->policy->reason));
		break;
	default:
		if (strcmp(ss->verify, "SOFTWARE") == 0)
			snprintf(a->reason, sizeof(a->reason), "TLS handshake "
			    "failed; sent in clear text after it "
			    "(TLSFallbacktoClear)");
		else if (!ss->tls)
			snprintf(a->reason, sizeof(a->reason), "clear text: %.380s",
			    !ss->starttls_offered ? "no STARTTLS offered" :
			    a->trytls_no ? "Try_TLS says NO" : ss->tls_error[0] ?
			    ss->tls_error : "STARTTLS not used");
		else
			snprintf(a->reason, sizeof(a->reason), "opportunistic "
			    "TLS (%s)", mode == SMDANE_MODE_AUDIT ? "audit: "
			    "delivered as without DANE" : mode ==
			    SMDANE_MODE_NONE || mode == SMDANE_MODE_UNKNOWN ?
			    "no DANE for this mailer or destination" :
			    h->policy != NULL ?
			    dane_reason_text(h->policy->reason) : "no policy");
	}
}

void
probe_predict_address(const struct probe_host *h, struct probe_addr *a)
{
	char why[PROBE_TEXT];
	enum smdane_mode mode = a->mode;
	int dane = mode == SMDANE_MODE_DANE || mode == SMDANE_MODE_ONLY ||
	    mode == SMDANE_MODE_ENCRYPT;

	a->accepted = 0;
	if (strncmp(a->answer, "OK", 2) != 0) {
		a->level = h->policy != NULL &&
		    h->policy->level == DANE_LEVEL_DEFER ? PROBE_DEFER :
		    PROBE_SKIP;
		probe_answer_reason(a->answer, why, sizeof(why));
		snprintf(a->reason, sizeof(a->reason), "454 4.7.5 %.380s", why);
		return;
	}
	a->accepted = 1;
	if (dane && h->policy != NULL && h->policy->level == DANE_LEVEL_AUTH) {
		a->level = PROBE_AUTHENTICATED;
		snprintf(a->reason, sizeof(a->reason), "not connected: "
		    "authenticated if the server presents a certificate one "
		    "of its usable TLSA records matches");
	} else if (dane && (mode == SMDANE_MODE_ENCRYPT ||
	    (h->policy != NULL && h->policy->level == DANE_LEVEL_ENCRYPT))) {
		a->level = PROBE_ENCRYPTED;
		snprintf(a->reason, sizeof(a->reason), "not connected: TLS "
		    "required; refused if the server offers no STARTTLS");
	} else {
		a->level = PROBE_OPPORTUNISTIC;
		snprintf(a->reason, sizeof(a->reason), "not connected: "
		    "opportunistic TLS");
	}
}

void
probe_decide_destination(struct probe_dest *d)
{
	char last[PROBE_TEXT] = "";
	size_t i, k;

	d->by_host = d->by_addr = -1;
	d->status[0] = d->reason[0] = '\0';
	switch (d->mx) {
	case PROBE_MX_NULL:
		d->verdict = PROBE_V_BOUNCED;
		snprintf(d->status, sizeof(d->status), "Service unavailable");
		snprintf(d->reason, sizeof(d->reason), "null MX (RFC 7505): "
		    "%s accepts no mail; sendmail returns it (dsn=5.1.10)",
		    d->nexthop);
		return;
	case PROBE_MX_NXDOMAIN:
		d->verdict = PROBE_V_BOUNCED;
		snprintf(d->status, sizeof(d->status), "Host unknown (Name "
		    "server: %s: host not found)", d->nexthop);
		snprintf(d->reason, sizeof(d->reason), "%s does not exist "
		    "(NXDOMAIN); sendmail returns the message (dsn=5.1.2)",
		    d->nexthop);
		return;
	case PROBE_MX_TEMP:
		d->verdict = PROBE_V_DEFERRED;
		if (d->canonified)
			snprintf(d->status, sizeof(d->status), "Deferred: Name "
			    "server: %s.: host name lookup failure",
			    d->nexthop);
		else
			snprintf(d->status, sizeof(d->status), "host map: "
			    "lookup (%s): deferred", d->nexthop);
		snprintf(d->reason, sizeof(d->reason), "%s", d->mx_text);
		return;
	default:
		break;
	}
	for (i = 0; i < d->host_count; i++) {
		struct probe_host *h = &d->hosts[i];
		int keep;

		h->reached = 1;
		/* a FallBackSmartHost's failure leaves the status of the
		 * hosts before it in the queue */
		keep = strcmp(h->role, "smarthost") == 0 && last[0] != '\0';
		if (h->addr_count == 0) {
			if (!keep)
				snprintf(last, sizeof(last), "%s",
				    h->addr_error);
			continue;
		}
		for (k = 0; k < h->addr_count; k++) {
			struct probe_addr *a = &h->addrs[k];

			/* sendmail tries the next address only when it
			 * cannot connect; the first that answers decides */
			if (!d->no_connect && !a->main.connected) {
				if (!keep)
					snprintf(last, sizeof(last), "%s",
					    a->reason);
				continue;
			}
			if (!a->accepted) {
				if (!keep)
					snprintf(last, sizeof(last), "%s",
					    a->reason);
				break;
			}
			h->decides = 1;
			d->by_host = (int)i;
			d->by_addr = (int)k;
			d->verdict = a->level == PROBE_AUTHENTICATED ?
			    PROBE_V_AUTHENTICATED : a->level ==
			    PROBE_ENCRYPTED ? PROBE_V_ENCRYPTED :
			    PROBE_V_OPPORTUNISTIC;
			snprintf(d->reason, sizeof(d->reason), "%.150s [%.60s]: %.180s",
			    h->name, a->addr, a->reason);
			return;
		}
	}
	d->verdict = PROBE_V_DEFERRED;
	if (d->host_count == 0)
		snprintf(last, sizeof(last), "no host to deliver to");
	snprintf(d->status, sizeof(d->status), "Deferred: %s", last);
	snprintf(d->reason, sizeof(d->reason), "no host accepted the "
	    "message: it stays queued");
}

void
probe_host_free(struct probe_host *h)
{
	size_t k, j;

	if (h == NULL)
		return;
	for (k = 0; k < h->addr_count; k++) {
		probe_session_clear(&h->addrs[k].main);
		probe_session_clear(&h->addrs[k].dane);
		for (j = 0; j < PROBE_KEYTYPES; j++)
			probe_session_clear(&h->addrs[k].kt[j]);
	}
	free(h->addrs);
	free(h->rrs);
	health_answers_free(&h->answers);
	if (h->tlsa_servers_done)
		consistency_report_free(&h->tlsa_servers);
	dane_policy_free(h->policy);
	dane_facts_free(h->facts);
	memset(h, 0, sizeof(*h));
}

void
probe_dest_free(struct probe_dest *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->host_count; i++)
		probe_host_free(&d->hosts[i]);
	free(d->hosts);
	d->hosts = NULL;
	d->host_count = 0;
	dane_policy_free(d->policy);
	d->policy = NULL;
}
