/*
 * NAME
 *	tlsa.c - TLSA record usability and formatting
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	int dane_tlsa_usable(const struct dane_settings *s,
 *	    const struct dane_tlsa_rr *rr, struct dane_tlsa_rr *out);
 *	void dane_tlsa_format(const struct dane_tlsa_rr *rr, char *buf,
 *	    size_t size);
 *
 * DESCRIPTION
 *	dane_tlsa_usable() classifies one record.  A record is unusable
 *	when a code point is unknown (RFC 6698 section 7), a digest has
 *	the wrong length or full data does not decode (RFC 7671 section 9:
 *	"discard ... malformed records"), or when the usage 0/1 setting
 *	rejects it (RFC 7672 section 3.1.3 and the usage 0/1 rule of
 *	docs/POLICY.md).  A usable record is written to *out with its
 *	effective usage: PKIX-EE (1) becomes DANE-EE (3) and PKIX-TA (0)
 *	becomes DANE-TA (2) where the setting allows it.  out->data
 *	borrows rr->data.
 *
 *	Digest agility (RFC 7671 section 9) is not done here: OpenSSL does
 *	it during verification, with the ordinals dane_ssl_apply() sets.
 *
 *	dane_tlsa_format() writes "u s m hex" with at most 16 hex digits of
 *	the data, followed by "..." when the data is longer.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "danei.h"

#define SHA256_LEN 32
#define SHA512_LEN 64

/* Full data must decode completely, as OpenSSL will require. */
static int
full_data_ok(uint8_t selector, const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509 *cert;
	EVP_PKEY *pkey;
	int ok;

	if (data == NULL || len == 0 || len > 65535)
		return 0;
	if (selector == DANE_SELECTOR_CERT) {
		cert = d2i_X509(NULL, &p, (long)len);
		ok = cert != NULL && p == data + len;
		X509_free(cert);
	} else {
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
		ok = pkey != NULL && p == data + len;
		EVP_PKEY_free(pkey);
	}
	return ok;
}

static int
well_formed(const struct dane_tlsa_rr *rr)
{
	if (rr->usage > DANE_USAGE_DANE_EE ||
	    rr->selector > DANE_SELECTOR_SPKI ||
	    rr->mtype > DANE_MTYPE_SHA2_512)
		return 0;
	switch (rr->mtype) {
	case DANE_MTYPE_SHA2_256:
		return rr->data != NULL && rr->len == SHA256_LEN;
	case DANE_MTYPE_SHA2_512:
		return rr->data != NULL && rr->len == SHA512_LEN;
	default:
		return full_data_ok(rr->selector, rr->data, rr->len);
	}
}

/* Effective usage under the usage 0/1 setting, or -1 if unusable. */
static int
effective_usage(enum dane_usage01 mode, const struct dane_tlsa_rr *rr)
{
	switch (rr->usage) {
	case DANE_USAGE_DANE_TA:
	case DANE_USAGE_DANE_EE:
		return rr->usage;
	case DANE_USAGE_PKIX_EE:
		if (mode == DANE_USAGE01_STRICT)
			return -1;
		return DANE_USAGE_DANE_EE;
	case DANE_USAGE_PKIX_TA:
		if (mode == DANE_USAGE01_STRICT)
			return -1;
		/*
		 * A digest of a trust anchor the server need not send is
		 * fragile; only full data is safe by default.
		 */
		if (mode == DANE_USAGE01_DEFAULT &&
		    rr->mtype != DANE_MTYPE_FULL)
			return -1;
		return DANE_USAGE_DANE_TA;
	default:
		return -1;
	}
}

int
dane_tlsa_usable(const struct dane_settings *s,
    const struct dane_tlsa_rr *rr, struct dane_tlsa_rr *out)
{
	enum dane_usage01 mode;
	int usage;

	if (rr == NULL || !well_formed(rr))
		return 0;
	mode = s != NULL ? s->usage01 : DANE_USAGE01_DEFAULT;
	if ((usage = effective_usage(mode, rr)) < 0)
		return 0;
	if (out != NULL) {
		*out = *rr;
		out->usage = (uint8_t)usage;
	}
	return 1;
}

void
dane_tlsa_format(const struct dane_tlsa_rr *rr, char *buf, size_t size)
{
	char hex[17];
	int n;

	if (buf == NULL || size == 0)
		return;
	if (rr == NULL) {
		buf[0] = '\0';
		return;
	}
	(void)danei_hex(rr->data, rr->len, 8, hex, sizeof(hex));
	n = snprintf(buf, size, "%u %u %u %s%s", (unsigned)rr->usage,
	    (unsigned)rr->selector, (unsigned)rr->mtype, hex,
	    rr->len > 8 ? "..." : "");
	if (n < 0)
		buf[0] = '\0';
}
