/*
 * NAME
 *	result.c - result codes, levels, reasons and default settings
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	const char *dane_strerror(enum dane_result r);
 *	int dane_result_is_temporary(enum dane_result r);
 *	const char *dane_level_name(enum dane_level l);
 *	int dane_level_requires_tls(enum dane_level l);
 *	int dane_level_requires_auth(enum dane_level l);
 *	const char *dane_reason_text(enum dane_reason r);
 *	void dane_settings_default(struct dane_settings *s);
 *
 * DESCRIPTION
 *	String tables for the public enums.  Every string is static and
 *	printable ASCII without the characters sendmail re-tokenises
 *	(" \ % parentheses), so callers may put them into a queue file.
 *	Unknown values give "unknown ..." text, never NULL.
 */
#include <string.h>

#include "danei.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const result_text[] = {
	[DANE_OK] = "success",
	[DANE_ERR_NOMEM] = "out of memory",
	[DANE_ERR_INVAL] = "invalid argument",
	[DANE_ERR_RESOLVER] = "resolver unusable",
	[DANE_ERR_TLS] = "OpenSSL DANE call failed",
	[DANE_ERR_CONFIG] = "bad configuration value",
	[DANE_ERR_INTERNAL] = "internal error",
	[DANE_ERR_ANCHOR] = "trust anchor missing or unreadable",
	[DANE_ERR_UPSTREAM] = "bad upstream resolver setting",
};

const char *
dane_strerror(enum dane_result r)
{
	if ((size_t)r < NELEM(result_text) && result_text[r] != NULL)
		return result_text[r];
	return "unknown result";
}

int
dane_result_is_temporary(enum dane_result r)
{
	return r == DANE_ERR_NOMEM || r == DANE_ERR_RESOLVER ||
	    r == DANE_ERR_ANCHOR || r == DANE_ERR_UPSTREAM;
}

static const char *const level_name[] = {
	[DANE_LEVEL_OPP] = "opportunistic",
	[DANE_LEVEL_ENCRYPT] = "encrypt",
	[DANE_LEVEL_AUTH] = "dane",
	[DANE_LEVEL_SKIP] = "skip",
	[DANE_LEVEL_DEFER] = "defer",
};

const char *
dane_level_name(enum dane_level l)
{
	if ((size_t)l < NELEM(level_name) && level_name[l] != NULL)
		return level_name[l];
	return "unknown level";
}

int
dane_level_requires_tls(enum dane_level l)
{
	return l == DANE_LEVEL_ENCRYPT || l == DANE_LEVEL_AUTH;
}

int
dane_level_requires_auth(enum dane_level l)
{
	return l == DANE_LEVEL_AUTH;
}

static const char *const reason_text[] = {
	[DANE_R_NOT_APPLICABLE] = "DANE not applicable",
	[DANE_R_MX_FAILED] = "MX lookup failed",
	[DANE_R_MX_INSECURE] = "MX RRset not DNSSEC signed",
	[DANE_R_HOST_NOT_MX] = "host not in the secure MX RRset",
	[DANE_R_ADDR_FAILED] = "address lookup failed",
	[DANE_R_ADDR_INSECURE] = "host address not DNSSEC signed",
	[DANE_R_ADDR_NOTFOUND] = "host has no address",
	[DANE_R_TLSA_FAILED] = "TLSA lookup failed",
	[DANE_R_TLSA_INSECURE] = "TLSA RRset not DNSSEC signed",
	[DANE_R_TLSA_NONE] = "no TLSA records",
	[DANE_R_TLSA_UNUSABLE] = "all TLSA records unusable",
	[DANE_R_TLSA_USABLE] = "usable TLSA records",
	[DANE_R_NEXTHOP_FAILED] = "next-hop name lookup failed",
	[DANE_R_CNAME_FAILED] = "host CNAME lookup failed",
	[DANE_R_CNAME_INSECURE] = "host CNAME not DNSSEC signed",
	[DANE_R_DNSSEC_UNAVAILABLE] = "upstream resolver delivers no DNSSEC",
};

const char *
dane_reason_text(enum dane_reason r)
{
	if ((size_t)r < NELEM(reason_text) && reason_text[r] != NULL)
		return reason_text[r];
	return "unknown reason";
}

void
dane_settings_default(struct dane_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->usage01 = DANE_USAGE01_DEFAULT;
	/* RFC 7671 section 9: prefer the stronger digest. */
	s->digest_pref[0] = DANE_MTYPE_SHA2_512;
	s->digest_pref[1] = DANE_MTYPE_SHA2_256;
}
