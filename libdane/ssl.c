/*
 * NAME
 *	ssl.c - apply a DANE policy to an OpenSSL connection
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	enum dane_result dane_ssl_apply(const struct dane_settings *s,
 *	    const struct dane_policy *p, SSL *ssl);
 *	enum dane_result dane_ssl_apply_level(const struct dane_settings *s,
 *	    const struct dane_policy *p, SSL *ssl, enum dane_level *applied);
 *	void dane_ssl_check(const struct dane_policy *p, SSL *ssl,
 *	    struct dane_auth *a);
 *
 * DESCRIPTION
 *	dane_ssl_apply_level() prepares `ssl` before its first handshake.
 *	AUTH: DANE is enabled on the SSL_CTX (idempotent) and the SSL, the
 *	SNI and primary reference identifier are the base domain (RFC 7672
 *	section 8.1), the further reference identifiers are added (3.2.2),
 *	DANE-EE name checks are off (3.2.1), partial wildcards are refused
 *	(3.2.3) and the usable records are added.  Digest agility (RFC 7671
 *	section 9) is OpenSSL's: the first digest of settings->digest_pref
 *	gets the highest ordinal.  If OpenSSL accepts none of the records,
 *	the connection is prepared as ENCRYPT instead and *applied says so.
 *	AUTH and ENCRYPT: SNI is set, and anonymous cipher suites are
 *	removed (RFC 7672 section 8.2).  Other levels: nothing is done.
 *	dane_ssl_apply() is dane_ssl_apply_level() without *applied.
 *
 *	dane_ssl_check() reads the outcome of a completed handshake.  The
 *	peer is authenticated when the policy level is AUTH, the verify
 *	result is X509_V_OK and a TLSA record matched.  a->matched then
 *	borrows the matching record from p->usable (valid while p lives)
 *	and a->detail reads "3 1 1 0123abcd... at depth 0".  Otherwise
 *	a->detail gives the verification error and the SHA-256 prefix of
 *	the peer's SubjectPublicKeyInfo.  a->detail is printable ASCII
 *	without " \ % or parentheses.
 *
 * DIAGNOSTICS
 *	DANE_ERR_INVAL for NULL arguments or an empty base domain;
 *	DANE_ERR_TLS when OpenSSL refuses a call or reports an internal
 *	error; DANE_ERR_NOMEM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "danei.h"

/* Map digest_pref onto OpenSSL's mtype ordinals; higher is stronger. */
static enum dane_result
set_digest_order(const struct dane_settings *s, SSL_CTX *ctx)
{
	static const struct dane_settings fallback = {
		.usage01 = DANE_USAGE01_DEFAULT,
		.digest_pref = { DANE_MTYPE_SHA2_512, DANE_MTYPE_SHA2_256 },
	};
	const uint8_t *pref = s->digest_pref;
	uint8_t ord[DANE_MTYPE_SHA2_512 + 1] = { 0 };
	size_t i, n;

	if (pref[0] == 0)
		pref = fallback.digest_pref;
	for (n = 0; n < sizeof(s->digest_pref) && pref[n] != 0; n++)
		;
	/*
	 * Listed digests get n..1 in order; an unlisted one keeps ordinal 0
	 * so that it is still usable but never outranks a listed one.
	 */
	for (i = 0; i < n; i++) {
		if (pref[i] > DANE_MTYPE_SHA2_512)
			return DANE_ERR_CONFIG;
		if (ord[pref[i]] == 0)
			ord[pref[i]] = (uint8_t)(n - i);
	}
	if (SSL_CTX_dane_mtype_set(ctx, EVP_sha256(), DANE_MTYPE_SHA2_256,
	    ord[DANE_MTYPE_SHA2_256]) <= 0 ||
	    SSL_CTX_dane_mtype_set(ctx, EVP_sha512(), DANE_MTYPE_SHA2_512,
	    ord[DANE_MTYPE_SHA2_512]) <= 0)
		return DANE_ERR_TLS;
	return DANE_OK;
}

/* RFC 7672 section 8.2: no anonymous suites once TLS is required. */
static enum dane_result
drop_anon_ciphers(SSL *ssl)
{
	STACK_OF(SSL_CIPHER) *sk;
	const SSL_CIPHER *c;
	char *list;
	size_t len = 1, used = 0;
	int i, n, anon = 0, rc;

	if ((sk = SSL_get_ciphers(ssl)) == NULL)
		return DANE_OK;
	n = sk_SSL_CIPHER_num(sk);
	for (i = 0; i < n; i++) {
		c = sk_SSL_CIPHER_value(sk, i);
		if (SSL_CIPHER_get_auth_nid(c) == NID_auth_null)
			anon = 1;
		len += strlen(SSL_CIPHER_get_name(c)) + 1;
	}
	if (!anon)
		return DANE_OK;
	if ((list = malloc(len)) == NULL)
		return DANE_ERR_NOMEM;
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *name;
		size_t nl;

		c = sk_SSL_CIPHER_value(sk, i);
		/* TLS 1.3 suites are set by SSL_set_ciphersuites(). */
		if (SSL_CIPHER_get_auth_nid(c) == NID_auth_null ||
		    SSL_CIPHER_get_auth_nid(c) == NID_auth_any)
			continue;
		name = SSL_CIPHER_get_name(c);
		nl = strlen(name);
		if (used > 0)
			list[used++] = ':';
		memcpy(list + used, name, nl);
		used += nl;
		list[used] = '\0';
	}
	/* Only anonymous TLS 1.2 suites: allow TLS 1.3 alone. */
	if (used == 0)
		rc = SSL_set_min_proto_version(ssl, TLS1_3_VERSION);
	else
		rc = SSL_set_cipher_list(ssl, list);
	free(list);
	return rc > 0 ? DANE_OK : DANE_ERR_TLS;
}

/* Add the usable records; *added counts what OpenSSL accepted. */
static enum dane_result
add_records(const struct dane_policy *p, SSL *ssl, size_t *added)
{
	const struct dane_tlsa_rr *rr;
	size_t i;
	int ret;

	*added = 0;
	for (i = 0; i < p->usable_count; i++) {
		rr = &p->usable[i];
		ret = SSL_dane_tlsa_add(ssl, rr->usage, rr->selector,
		    rr->mtype, rr->data, rr->len);
		/* 1 usable, 0 unusable (skip it), <0 internal error. */
		if (ret < 0)
			return DANE_ERR_TLS;
		if (ret > 0)
			(*added)++;
	}
	return DANE_OK;
}

static enum dane_result
apply_auth(const struct dane_settings *s, const struct dane_policy *p,
    SSL *ssl, size_t *added)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
	enum dane_result r;
	size_t i;

	if (ctx == NULL || SSL_CTX_dane_enable(ctx) <= 0)
		return DANE_ERR_TLS;
	if ((r = set_digest_order(s, ctx)) != DANE_OK)
		return r;
	/* SNI first: SSL_dane_enable() keeps an SNI set earlier. */
	if (SSL_set_tlsext_host_name(ssl, p->base_domain) != 1 ||
	    SSL_dane_enable(ssl, p->base_domain) <= 0)
		return DANE_ERR_TLS;
	(void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (i = 1; i < p->refname_count && i < DANE_REFNAMES_MAX; i++)
		if (SSL_add1_host(ssl, p->refnames[i]) != 1)
			return DANE_ERR_TLS;
	return add_records(p, ssl, added);
}

enum dane_result
dane_ssl_apply_level(const struct dane_settings *s,
    const struct dane_policy *p, SSL *ssl, enum dane_level *applied)
{
	struct dane_settings defaults;
	enum dane_result r;
	size_t added = 0;

	if (p == NULL || ssl == NULL)
		return DANE_ERR_INVAL;
	if (applied != NULL)
		*applied = p->level;
	if (p->level != DANE_LEVEL_AUTH && p->level != DANE_LEVEL_ENCRYPT)
		return DANE_OK;
	if (p->base_domain[0] == '\0' ||
	    memchr(p->base_domain, '\0', sizeof(p->base_domain)) == NULL)
		return DANE_ERR_INVAL;
	if (s == NULL) {
		dane_settings_default(&defaults);
		s = &defaults;
	}
	if ((r = drop_anon_ciphers(ssl)) != DANE_OK)
		return r;
	if (p->level == DANE_LEVEL_AUTH) {
		if ((r = apply_auth(s, p, ssl, &added)) != DANE_OK)
			return r;
		if (added > 0)
			return DANE_OK;
		/* RFC 7672 section 2.2: nothing usable, TLS still required. */
		if (applied != NULL)
			*applied = DANE_LEVEL_ENCRYPT;
		return DANE_OK;
	}
	if (SSL_set_tlsext_host_name(ssl, p->base_domain) != 1)
		return DANE_ERR_TLS;
	return DANE_OK;
}

enum dane_result
dane_ssl_apply(const struct dane_settings *s, const struct dane_policy *p,
    SSL *ssl)
{
	return dane_ssl_apply_level(s, p, ssl, NULL);
}

/* Find OpenSSL's matched record in the policy, so a borrows from p. */
static int
find_match(const struct dane_policy *p, SSL *ssl, struct dane_auth *a)
{
	const unsigned char *data = NULL;
	uint8_t u = 0, sel = 0, mt = 0;
	size_t dlen = 0, i;

	if (SSL_get0_dane_tlsa(ssl, &u, &sel, &mt, &data, &dlen) < 0)
		return 0;
	for (i = 0; i < p->usable_count; i++) {
		const struct dane_tlsa_rr *rr = &p->usable[i];

		if (rr->usage == u && rr->selector == sel &&
		    rr->mtype == mt && rr->len == dlen &&
		    (dlen == 0 || memcmp(rr->data, data, dlen) == 0)) {
			a->matched = *rr;
			return 1;
		}
	}
	return 0;
}

static void
peer_spki_prefix(SSL *ssl, char *buf, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	X509 *leaf;
	int len;

	buf[0] = '\0';
	if ((leaf = SSL_get0_peer_certificate(ssl)) == NULL) {
		danei_strlcpy(buf, "no peer certificate", size);
		return;
	}
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
	if (len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen,
	    EVP_sha256(), NULL) == 1) {
		char hex[17];

		(void)danei_hex(md, mdlen, 8, hex, sizeof(hex));
		(void)snprintf(buf, size, "peer spki sha256 %s...", hex);
	}
	OPENSSL_free(der);
}

void
dane_ssl_check(const struct dane_policy *p, SSL *ssl, struct dane_auth *a)
{
	char rr[64], spki[64];
	long vr;
	int depth;

	if (a == NULL)
		return;
	memset(a, 0, sizeof(*a));
	a->depth = -1;
	if (p == NULL || ssl == NULL) {
		danei_strlcpy(a->detail, "no policy or connection",
		    sizeof(a->detail));
		return;
	}
	if (p->level != DANE_LEVEL_AUTH) {
		(void)snprintf(a->detail, sizeof(a->detail),
		    "no DANE authentication at level %s",
		    dane_level_name(p->level));
		return;
	}
	vr = SSL_get_verify_result(ssl);
	depth = SSL_get0_dane_authority(ssl, NULL, NULL);
	if (vr == X509_V_OK && depth >= 0) {
		if (find_match(p, ssl, a)) {
			a->authenticated = 1;
			a->depth = depth;
			dane_tlsa_format(&a->matched, rr, sizeof(rr));
			(void)snprintf(a->detail, sizeof(a->detail),
			    "%s at depth %d", rr, depth);
			danei_sanitize(a->detail, DANEI_TEXT_UNSAFE);
			return;
		}
	}
	peer_spki_prefix(ssl, spki, sizeof(spki));
	(void)snprintf(a->detail, sizeof(a->detail), "%s, %s",
	    vr == X509_V_OK ? "no TLSA record matched" :
	    X509_verify_cert_error_string(vr), spki);
	danei_sanitize(a->detail, DANEI_TEXT_UNSAFE);
}
