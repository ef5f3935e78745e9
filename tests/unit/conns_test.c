/*
 * Unit tests of conns.c: what each completed handshake showed, kept
 * with its SSL object.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "modtest.h"
#include "testcert.h"

static SSL_CTX *ctx;
static EVP_PKEY *key1, *key2;
static X509 *cert1, *cert2;

static void
setup(void)
{
	ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(ctx);
	key1 = tc_key();
	key2 = tc_key();
	cert1 = tc_cert(key1, NULL, NULL, "mx1.example", "mx1.example", 0, 1);
	cert2 = tc_cert(key2, NULL, NULL, "mx2.example", "mx2.example", 0, 2);
}

static void
teardown(void)
{
	X509_free(cert1);
	X509_free(cert2);
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	SSL_CTX_free(ctx);
}

TestSuite(conns, .init = setup, .fini = teardown);

static SSL *
new_ssl(void)
{
	SSL *ssl = SSL_new(ctx);

	cr_assert_not_null(ssl);
	return ssl;
}

/* A record whose nexthop field tells which one conns_find() gave. */
static struct smdane_conn
conn_named(const char *tag, enum dane_level level, int authenticated)
{
	struct smdane_conn c;

	memset(&c, 0, sizeof(c));
	c.tls = 1;
	c.level = level;
	c.auth.authenticated = authenticated;
	snprintf(c.nexthop, sizeof(c.nexthop), "%s", tag);
	return c;
}

static const char *
found(const char *server, const char *fp)
{
	struct smdane_conn *c = conns_find(server, fp);

	return c != NULL ? c->nexthop : "(none)";
}

Test(conns, found_by_every_digest_in_either_case)
{
	static const struct {
		const char *name;
		const EVP_MD *(*md)(void);
	} mds[] = {
		{ "MD5", EVP_md5 }, { "SHA-1", EVP_sha1 },
		{ "SHA-256", EVP_sha256 }, { "SHA-512", EVP_sha512 },
	};
	struct smdane_conn c = conn_named("one", DANE_LEVEL_AUTH, 1);
	SSL *ssl = new_ssl();
	char hex[200];
	size_t i;
	int upper;

	cr_assert_eq(conns_record(ssl, cert1, "mx1.example", &c, 1), 0);
	cr_assert_eq(conns_count(), 1);
	for (i = 0; i < MT_N(mds); i++)
		for (upper = 0; upper <= 1; upper++) {
			mt_cert_hex(cert1, mds[i].md(), upper, hex,
			    sizeof(hex));
			cr_expect_str_eq(found("mx1.example", hex), "one",
			    "%s %s: got %s, want the record", mds[i].name,
			    upper ? "upper case" : "lower case",
			    found("mx1.example", hex));
		}
	SSL_free(ssl);
}

Test(conns, other_server_or_digest_is_not_found)
{
	struct smdane_conn c = conn_named("one", DANE_LEVEL_AUTH, 1);
	SSL *ssl = new_ssl();
	char hex[200], hex2[200];

	mt_cert_hex(cert1, EVP_sha256(), 0, hex, sizeof(hex));
	mt_cert_hex(cert2, EVP_sha256(), 0, hex2, sizeof(hex2));
	cr_assert_eq(conns_record(ssl, cert1, "mx1.example", &c, 1), 0);
	cr_assert_null(conns_find("mx2.example", hex), "another server");
	cr_assert_null(conns_find("mx1.example.", hex), "another name");
	cr_assert_null(conns_find("mx1.example", hex2), "another certificate");
	cr_assert_null(conns_find("mx1.example", ""), "an empty digest");
	cr_assert_null(conns_find("mx1.example", NULL));
	cr_assert_null(conns_find(NULL, hex));
	/* a prefix of the digest is another digest */
	hex[40] = '\0';
	mt_cert_hex(cert1, EVP_sha1(), 0, hex2, sizeof(hex2));
	cr_assert(strcmp(hex, hex2) != 0);
	cr_assert_null(conns_find("mx1.example", hex), "a prefix");
	cr_assert_null(conns_find("mx1.example", "d41d8cd98f00b204e9800998ecf8"
	    "427e"), "the MD5 of nothing");
	cr_assert_str_eq(found("mx1.example", hex2), "one");
	SSL_free(ssl);
}

Test(conns, unrecordable)
{
	struct smdane_conn c = conn_named("one", DANE_LEVEL_AUTH, 1);
	SSL *ssl = new_ssl();

	cr_assert_neq(conns_record(NULL, cert1, "mx1.example", &c, 1), 0);
	cr_assert_neq(conns_record(ssl, NULL, "mx1.example", &c, 1), 0);
	cr_assert_eq(conns_count(), 0);
	SSL_free(ssl);
}

/* An unchecked session cannot hide what a check of the same
 * certificate proved; among equals the newest counts. */
Test(conns, checked_record_is_preferred)
{
	struct smdane_conn c1 = conn_named("unchecked", DANE_LEVEL_OPP, 0);
	struct smdane_conn c2 = conn_named("newer unchecked", DANE_LEVEL_OPP,
	    0);
	struct smdane_conn c3 = conn_named("checked", DANE_LEVEL_AUTH, 1);
	struct smdane_conn c4 = conn_named("newest unchecked", DANE_LEVEL_OPP,
	    0);
	SSL *s1 = new_ssl(), *s2 = new_ssl(), *s3 = new_ssl(),
	    *s4 = new_ssl();
	char hex[200];

	mt_cert_hex(cert1, EVP_sha256(), 0, hex, sizeof(hex));
	cr_assert_eq(conns_record(s1, cert1, "mx1.example", &c1, 0), 0);
	cr_assert_str_eq(found("mx1.example", hex), "unchecked");
	cr_assert_eq(conns_record(s2, cert1, "mx1.example", &c2, 0), 0);
	cr_assert_str_eq(found("mx1.example", hex), "newer unchecked");
	cr_assert_eq(conns_record(s3, cert1, "mx1.example", &c3, 1), 0);
	cr_assert_str_eq(found("mx1.example", hex), "checked");
	cr_assert_eq(conns_record(s4, cert1, "mx1.example", &c4, 0), 0);
	cr_assert_str_eq(found("mx1.example", hex), "checked",
	    "a newer unchecked session hid the checked one");
	SSL_free(s3);
	cr_assert_str_eq(found("mx1.example", hex), "newest unchecked",
	    "after the checked one is gone: the newest");
	SSL_free(s4);
	cr_assert_str_eq(found("mx1.example", hex), "newer unchecked");
	SSL_free(s2);
	cr_assert_str_eq(found("mx1.example", hex), "unchecked");
	SSL_free(s1);
	cr_assert_null(conns_find("mx1.example", hex));
}

Test(conns, newest_checked_is_preferred)
{
	struct smdane_conn c1 = conn_named("older", DANE_LEVEL_AUTH, 1);
	struct smdane_conn c2 = conn_named("newer", DANE_LEVEL_AUTH, 0);
	SSL *s1 = new_ssl(), *s2 = new_ssl();
	char hex[200];

	mt_cert_hex(cert1, EVP_sha512(), 1, hex, sizeof(hex));
	cr_assert_eq(conns_record(s1, cert1, "mx1.example", &c1, 1), 0);
	cr_assert_eq(conns_record(s2, cert1, "mx1.example", &c2, 1), 0);
	cr_assert_str_eq(found("mx1.example", hex), "newer");
	SSL_free(s2);
	cr_assert_str_eq(found("mx1.example", hex), "older");
	SSL_free(s1);
}

Test(conns, second_record_of_a_session_changes_nothing)
{
	struct smdane_conn c1 = conn_named("first", DANE_LEVEL_AUTH, 1);
	struct smdane_conn c2 = conn_named("second", DANE_LEVEL_OPP, 0);
	SSL *ssl = new_ssl();
	char hex1[200], hex2[200];

	mt_cert_hex(cert1, EVP_sha256(), 0, hex1, sizeof(hex1));
	mt_cert_hex(cert2, EVP_sha256(), 0, hex2, sizeof(hex2));
	cr_assert_eq(conns_record(ssl, cert1, "mx1.example", &c1, 1), 0);
	cr_assert_eq(conns_record(ssl, cert2, "mx2.example", &c2, 0), 0);
	cr_assert_eq(conns_record(ssl, cert1, "mx1.example", &c2, 0), 0);
	cr_assert_eq(conns_count(), 1, "got %zu records, want 1",
	    conns_count());
	cr_assert_str_eq(found("mx1.example", hex1), "first");
	cr_assert(conns_find("mx1.example", hex1)->auth.authenticated);
	cr_assert_null(conns_find("mx2.example", hex2));
	SSL_free(ssl);
	cr_assert_eq(conns_count(), 0);
}

/* The record is a copy: what the caller does with its own later
 * changes nothing. */
Test(conns, record_is_a_copy)
{
	struct smdane_conn c = conn_named("copy", DANE_LEVEL_AUTH, 1);
	SSL *ssl = new_ssl();
	char hex[200];

	mt_cert_hex(cert1, EVP_sha1(), 0, hex, sizeof(hex));
	c.checked_against = 0x1234;
	snprintf(c.peername, sizeof(c.peername), "alias.example");
	cr_assert_eq(conns_record(ssl, cert1, "mx1.example", &c, 1), 0);
	memset(&c, 0, sizeof(c));
	cr_assert_str_eq(found("mx1.example", hex), "copy");
	cr_assert_eq(conns_find("mx1.example", hex)->checked_against, 0x1234);
	cr_assert_str_eq(conns_find("mx1.example", hex)->peername,
	    "alias.example");
	SSL_free(ssl);
}

Test(conns, ssl_free_removes_exactly_its_record)
{
	static const char *const tags[] = { "a", "b", "c", "d", "e" };
	/* the middle, the newest, the oldest, ... */
	static const size_t order[] = { 2, 4, 0, 1, 3 };
	SSL *ssl[5];
	char hex1[200], hex2[200], server[32];
	size_t i, k;

	mt_cert_hex(cert1, EVP_sha256(), 0, hex1, sizeof(hex1));
	mt_cert_hex(cert2, EVP_sha256(), 0, hex2, sizeof(hex2));
	for (i = 0; i < 5; i++) {
		struct smdane_conn c = conn_named(tags[i], DANE_LEVEL_AUTH, 1);

		ssl[i] = new_ssl();
		snprintf(server, sizeof(server), "mx%zu.example", i);
		cr_assert_eq(conns_record(ssl[i], i % 2 ? cert2 : cert1, server,
		    &c, 1), 0);
	}
	/* an SSL object without a record goes without a trace */
	SSL_free(new_ssl());
	cr_assert_eq(conns_count(), 5);
	for (k = 0; k < MT_N(order); k++) {
		SSL_free(ssl[order[k]]);
		ssl[order[k]] = NULL;
		cr_assert_eq(conns_count(), 4 - k, "after %zu frees: got %zu "
		    "records, want %zu", k + 1, conns_count(), 4 - k);
		for (i = 0; i < 5; i++) {
			snprintf(server, sizeof(server), "mx%zu.example", i);
			if (ssl[i] == NULL)
				cr_assert_null(conns_find(server, i % 2 ? hex2 :
				    hex1), "record %zu freed, still found", i);
			else
				cr_assert_str_eq(found(server, i % 2 ? hex2 :
				    hex1), tags[i], "record %zu after %zu "
				    "frees", i, k + 1);
		}
	}
}

Test(conns, thousand_live_records)
{
	enum { N = 1000 };
	static SSL *ssl[N];
	char hex[2][200], server[32];
	size_t i;

	mt_cert_hex(cert1, EVP_md5(), 0, hex[0], sizeof(hex[0]));
	mt_cert_hex(cert2, EVP_md5(), 0, hex[1], sizeof(hex[1]));
	for (i = 0; i < N; i++) {
		struct smdane_conn c;

		snprintf(server, sizeof(server), "mx%zu.example", i);
		c = conn_named(server, DANE_LEVEL_AUTH, 1);
		ssl[i] = new_ssl();
		cr_assert_eq(conns_record(ssl[i], i % 2 ? cert2 : cert1, server,
		    &c, (int)(i % 3 == 0)), 0);
	}
	cr_assert_eq(conns_count(), N, "got %zu records, want %d",
	    conns_count(), N);
	for (i = 0; i < N; i++) {
		snprintf(server, sizeof(server), "mx%zu.example", i);
		cr_assert_str_eq(found(server, hex[i % 2]), server,
		    "record %zu of %d", i, N);
		cr_assert_null(conns_find(server, hex[(i + 1) % 2]));
	}
	for (i = 0; i < N; i++)
		SSL_free(ssl[i]);
	cr_assert_eq(conns_count(), 0, "got %zu records, want 0",
	    conns_count());
	cr_assert_null(conns_find("mx0.example", hex[0]));
}
