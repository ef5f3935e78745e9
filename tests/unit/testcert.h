/*
 * NAME
 *	testcert.h - throwaway keys and certificates for unit tests
 *
 * SYNOPSIS
 *	#include "testcert.h"
 *
 * DESCRIPTION
 *	Everything is generated in memory with OpenSSL: no files, no
 *	network.  tc_key() makes an EC P-256 key.  tc_cert() makes a
 *	certificate for `key`, signed by `ca_key` (self-signed when
 *	ca_key is NULL) with issuer `ca` (or itself), subject CN `cn` and,
 *	when `san` is non-NULL, one DNS subjectAltName.  tc_der_cert() and
 *	tc_der_spki() return malloc'd DER; tc_digest() hashes with SHA-256
 *	(mtype 1) or SHA-512 (mtype 2).  Failures abort the test through
 *	Criterion's cr_assert.
 */
#ifndef TESTCERT_H
#define TESTCERT_H

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline EVP_PKEY *
tc_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	cr_assert_not_null(k, "EC key generation failed");
	return k;
}

static inline void
tc_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	cr_assert_not_null(ext, "extension %d failed", nid);
	cr_assert(X509_add_ext(cert, ext, -1) == 1);
	X509_EXTENSION_free(ext);
}

static inline X509 *
tc_cert(EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca, const char *cn,
    const char *san, int is_ca, long serial)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	char buf[300];

	cr_assert(c != NULL && name != NULL);
	cr_assert(X509_set_version(c, 2) == 1);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
	cr_assert(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) == 1);
	cr_assert(X509_set_subject_name(c, name) == 1);
	cr_assert(X509_set_issuer_name(c, ca != NULL ?
	    X509_get_subject_name(ca) : name) == 1);
	X509_NAME_free(name);
	cr_assert(X509_set_pubkey(c, key) == 1);
	tc_ext(c, ca != NULL ? ca : c, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	tc_ext(c, ca != NULL ? ca : c, NID_subject_key_identifier, "hash");
	if (is_ca)
		tc_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (san != NULL) {
		snprintf(buf, sizeof(buf), "DNS:%s", san);
		tc_ext(c, ca != NULL ? ca : c, NID_subject_alt_name, buf);
	}
	cr_assert(X509_sign(c, ca_key != NULL ? ca_key : key,
	    EVP_sha256()) > 0);
	return c;
}

static inline unsigned char *
tc_der_cert(X509 *c, size_t *len)
{
	unsigned char *der = NULL, *copy;
	int n = i2d_X509(c, &der);

	cr_assert(n > 0);
	copy = malloc((size_t)n);
	cr_assert_not_null(copy);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

static inline unsigned char *
tc_der_spki(X509 *c, size_t *len)
{
	unsigned char *der = NULL, *copy;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);

	cr_assert(n > 0);
	copy = malloc((size_t)n);
	cr_assert_not_null(copy);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

/* Digest of DER data for TLSA mtype 1 or 2; malloc'd. */
static inline unsigned char *
tc_digest(const unsigned char *der, size_t len, int mtype, size_t *outlen)
{
	unsigned char *md = malloc(EVP_MAX_MD_SIZE);
	unsigned int n = 0;

	cr_assert_not_null(md);
	cr_assert(EVP_Digest(der, len, md, &n,
	    mtype == 2 ? EVP_sha512() : EVP_sha256(), NULL) == 1);
	*outlen = n;
	return md;
}

#endif /* TESTCERT_H */
