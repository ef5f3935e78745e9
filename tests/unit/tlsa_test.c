/*
 * NAME
 *	tlsa_test - unit tests for dane_tlsa_usable() and dane_tlsa_format()
 *
 * DESCRIPTION
 *	Table-driven: each row is a record (code points plus a kind of
 *	data) and the expected usability and effective usage under one
 *	usage 0/1 setting.  Certificates and keys are generated in memory.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dane.h"
#include "testcert.h"

enum data_kind {
	D_BYTES,	/* `len` bytes of 0xab */
	D_CERT,		/* DER certificate */
	D_SPKI,		/* DER SubjectPublicKeyInfo */
	D_CERT_TRAIL,	/* DER certificate plus one trailing byte */
	D_NONE		/* NULL data, len 0 */
};

struct row {
	const char *name;
	enum dane_usage01 mode;
	uint8_t usage, selector, mtype;
	enum data_kind kind;
	size_t len;
	int want_usable;
	int want_usage;		/* effective usage when usable */
};

static unsigned char *cert_der, *spki_der;
static size_t cert_len, spki_len;

static void
setup(void)
{
	EVP_PKEY *k = tc_key();
	X509 *c = tc_cert(k, NULL, NULL, "tlsa.test", "tlsa.test", 0, 1);

	cert_der = tc_der_cert(c, &cert_len);
	spki_der = tc_der_spki(c, &spki_len);
	X509_free(c);
	EVP_PKEY_free(k);
}

static void
teardown(void)
{
	free(cert_der);
	free(spki_der);
}

TestSuite(tlsa, .init = setup, .fini = teardown);

static void
run(const struct row *rows, size_t n)
{
	unsigned char buf[128], *trail;
	struct dane_settings s;
	struct dane_tlsa_rr rr, out;
	size_t i;
	int got;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		dane_settings_default(&s);
		s.usage01 = r->mode;
		memset(&rr, 0, sizeof(rr));
		rr.usage = r->usage;
		rr.selector = r->selector;
		rr.mtype = r->mtype;
		trail = NULL;
		switch (r->kind) {
		case D_BYTES:
			cr_assert(r->len <= sizeof(buf));
			memset(buf, 0xab, r->len);
			rr.data = buf;
			rr.len = r->len;
			break;
		case D_CERT:
			rr.data = cert_der;
			rr.len = cert_len;
			break;
		case D_SPKI:
			rr.data = spki_der;
			rr.len = spki_len;
			break;
		case D_CERT_TRAIL:
			trail = malloc(cert_len + 1);
			cr_assert_not_null(trail);
			memcpy(trail, cert_der, cert_len);
			trail[cert_len] = 0;
			rr.data = trail;
			rr.len = cert_len + 1;
			break;
		case D_NONE:
			break;
		}
		memset(&out, 0, sizeof(out));
		got = dane_tlsa_usable(&s, &rr, &out);
		cr_expect_eq(got, r->want_usable,
		    "%s: usable got %d, want %d", r->name, got,
		    r->want_usable);
		if (got && r->want_usable) {
			cr_expect_eq(out.usage, r->want_usage,
			    "%s: usage got %u, want %d", r->name,
			    (unsigned)out.usage, r->want_usage);
			cr_expect(out.selector == rr.selector &&
			    out.mtype == rr.mtype && out.len == rr.len &&
			    out.data == rr.data,
			    "%s: got a changed record, want only the usage "
			    "mapped", r->name);
		}
		free(trail);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DEF DANE_USAGE01_DEFAULT
#define TAD DANE_USAGE01_TA_DIGESTS
#define STR DANE_USAGE01_STRICT

Test(tlsa, digest_length_must_match_mtype)
{
	static const struct row rows[] = {
		{ "3 1 1 31 bytes", DEF, 3, 1, 1, D_BYTES, 31, 0, 0 },
		{ "3 1 1 32 bytes", DEF, 3, 1, 1, D_BYTES, 32, 1, 3 },
		{ "3 1 1 33 bytes", DEF, 3, 1, 1, D_BYTES, 33, 0, 0 },
		{ "3 1 2 63 bytes", DEF, 3, 1, 2, D_BYTES, 63, 0, 0 },
		{ "3 1 2 64 bytes", DEF, 3, 1, 2, D_BYTES, 64, 1, 3 },
		{ "3 1 2 32 bytes", DEF, 3, 1, 2, D_BYTES, 32, 0, 0 },
		{ "2 0 1 32 bytes", DEF, 2, 0, 1, D_BYTES, 32, 1, 2 },
		{ "2 0 2 64 bytes", DEF, 2, 0, 2, D_BYTES, 64, 1, 2 },
		{ "3 1 1 no data", DEF, 3, 1, 1, D_NONE, 0, 0, 0 },
	};

	run(rows, N(rows));
}

Test(tlsa, unknown_code_points_are_unusable)
{
	static const struct row rows[] = {
		{ "usage 4", DEF, 4, 1, 1, D_BYTES, 32, 0, 0 },
		{ "usage 255", DEF, 255, 1, 1, D_BYTES, 32, 0, 0 },
		{ "selector 2", DEF, 3, 2, 1, D_BYTES, 32, 0, 0 },
		{ "mtype 3", DEF, 3, 1, 3, D_BYTES, 32, 0, 0 },
		{ "mtype 255", DEF, 3, 1, 255, D_BYTES, 32, 0, 0 },
	};

	run(rows, N(rows));
}

Test(tlsa, full_data_must_decode)
{
	static const struct row rows[] = {
		{ "3 0 0 real cert", DEF, 3, 0, 0, D_CERT, 0, 1, 3 },
		{ "3 0 0 garbage", DEF, 3, 0, 0, D_BYTES, 40, 0, 0 },
		{ "3 0 0 trailing byte", DEF, 3, 0, 0, D_CERT_TRAIL, 0, 0, 0 },
		{ "3 0 0 spki as cert", DEF, 3, 0, 0, D_SPKI, 0, 0, 0 },
		{ "3 1 0 real spki", DEF, 3, 1, 0, D_SPKI, 0, 1, 3 },
		{ "3 1 0 garbage", DEF, 3, 1, 0, D_BYTES, 40, 0, 0 },
		{ "2 1 0 cert as spki", DEF, 2, 1, 0, D_CERT, 0, 0, 0 },
		{ "2 0 0 no data", DEF, 2, 0, 0, D_NONE, 0, 0, 0 },
	};

	run(rows, N(rows));
}

Test(tlsa, usage01_default_maps_ee_and_full_ta_only)
{
	static const struct row rows[] = {
		{ "1 0 1 -> 3 0 1", DEF, 1, 0, 1, D_BYTES, 32, 1, 3 },
		{ "1 1 2 -> 3 1 2", DEF, 1, 1, 2, D_BYTES, 64, 1, 3 },
		{ "1 0 0 -> 3 0 0", DEF, 1, 0, 0, D_CERT, 0, 1, 3 },
		{ "0 0 0 -> 2 0 0", DEF, 0, 0, 0, D_CERT, 0, 1, 2 },
		{ "0 1 0 -> 2 1 0", DEF, 0, 1, 0, D_SPKI, 0, 1, 2 },
		{ "0 0 1 unusable", DEF, 0, 0, 1, D_BYTES, 32, 0, 0 },
		{ "0 1 1 unusable", DEF, 0, 1, 1, D_BYTES, 32, 0, 0 },
		{ "0 0 2 unusable", DEF, 0, 0, 2, D_BYTES, 64, 0, 0 },
		{ "0 1 2 unusable", DEF, 0, 1, 2, D_BYTES, 64, 0, 0 },
		{ "1 0 1 31 bytes", DEF, 1, 0, 1, D_BYTES, 31, 0, 0 },
	};

	run(rows, N(rows));
}

Test(tlsa, usage01_ta_digests_maps_every_usage0)
{
	static const struct row rows[] = {
		{ "0 0 1 -> 2 0 1", TAD, 0, 0, 1, D_BYTES, 32, 1, 2 },
		{ "0 1 2 -> 2 1 2", TAD, 0, 1, 2, D_BYTES, 64, 1, 2 },
		{ "0 0 0 -> 2 0 0", TAD, 0, 0, 0, D_CERT, 0, 1, 2 },
		{ "1 1 1 -> 3 1 1", TAD, 1, 1, 1, D_BYTES, 32, 1, 3 },
		{ "0 0 1 33 bytes", TAD, 0, 0, 1, D_BYTES, 33, 0, 0 },
	};

	run(rows, N(rows));
}

Test(tlsa, usage01_strict_rejects_pkix_usages)
{
	static const struct row rows[] = {
		{ "0 0 0 strict", STR, 0, 0, 0, D_CERT, 0, 0, 0 },
		{ "0 0 1 strict", STR, 0, 0, 1, D_BYTES, 32, 0, 0 },
		{ "1 0 1 strict", STR, 1, 0, 1, D_BYTES, 32, 0, 0 },
		{ "1 1 0 strict", STR, 1, 1, 0, D_SPKI, 0, 0, 0 },
		{ "3 1 1 strict", STR, 3, 1, 1, D_BYTES, 32, 1, 3 },
		{ "2 0 1 strict", STR, 2, 0, 1, D_BYTES, 32, 1, 2 },
	};

	run(rows, N(rows));
}

Test(tlsa, null_settings_mean_default)
{
	unsigned char d[32] = { 0 };
	struct dane_tlsa_rr rr = { 0, 0, 1, sizeof(d), d }, out;

	cr_expect_eq(dane_tlsa_usable(NULL, &rr, &out), 0,
	    "0 0 1 with NULL settings: got usable, want unusable");
	rr.usage = 1;
	cr_expect_eq(dane_tlsa_usable(NULL, &rr, &out), 1,
	    "1 0 1 with NULL settings: got unusable, want usable");
	cr_expect_eq(dane_tlsa_usable(NULL, NULL, &out), 0,
	    "NULL record: got usable, want unusable");
}

Test(tlsa, format_shows_16_hex_digits_then_ellipsis)
{
	static const unsigned char d[] = {
		0xab, 0x12, 0xcd, 0x34, 0x00, 0xff, 0x10, 0x01, 0x99
	};
	static const struct {
		size_t len;
		size_t bufsize;
		const char *want;
	} rows[] = {
		{ 9, 64, "3 1 1 ab12cd3400ff1001..." },
		{ 8, 64, "3 1 1 ab12cd3400ff1001" },
		{ 2, 64, "3 1 1 ab12" },
		{ 0, 64, "3 1 1 " },
		{ 9, 8, "3 1 1 a" },
	};
	struct dane_tlsa_rr rr = { 3, 1, 1, 0, (unsigned char *)d };
	char buf[64];
	size_t i;

	for (i = 0; i < N(rows); i++) {
		rr.len = rows[i].len;
		memset(buf, 'x', sizeof(buf));
		dane_tlsa_format(&rr, buf, rows[i].bufsize);
		cr_expect_str_eq(buf, rows[i].want, "len %zu: got \"%s\", "
		    "want \"%s\"", rows[i].len, buf, rows[i].want);
	}
}
