/*
 * NAME
 *	conns.c - what each completed handshake showed
 *
 * DESCRIPTION
 *	A record is keyed by the server name and the digests of the
 *	certificate the server presented.  The rulesets see the
 *	certificate digest of the connection they are checking (also on a
 *	cached connection), so a result is only ever applied to a session
 *	with that same certificate: the peer proved it holds its key.
 *
 *	A record belongs to its connection's SSL object (ex_data) and is
 *	freed, and taken off the list, when sendmail frees that object:
 *	it lives exactly as long as the connection it describes, however
 *	many connections are cached, and nothing can evict it earlier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "module.h"

struct conn_rec {
	struct conn_rec *prev, *next;
	char server[DANE_NAME_MAX];
	char md5[33], sha1[41], sha256[65], sha512[129]; /* lower-case hex */
	int checked;			/* a DANE check was made */
	struct smdane_conn conn;
};

static struct conn_rec *conns;		/* newest first */
static size_t count;
static int rec_idx = -1;		/* SSL ex_data index of the records */

static int
fp_equal(const char *hex, const char *q)
{
	return hex[0] != '\0' && strcasecmp(hex, q) == 0;
}

static int
rec_matches(const struct conn_rec *c, const char *server, const char *certfp)
{
	return strcmp(c->server, server) == 0 &&
	    (fp_equal(c->md5, certfp) || fp_equal(c->sha1, certfp) ||
	    fp_equal(c->sha256, certfp) || fp_equal(c->sha512, certfp));
}

/*
 * The newest record with a DANE check if there is one (an unchecked
 * session cannot erase what a check of the same certificate proved),
 * else the newest.
 */
struct smdane_conn *
conns_find(const char *server, const char *certfp)
{
	struct conn_rec *c, *any = NULL;

	if (server == NULL || certfp == NULL || certfp[0] == '\0')
		return NULL;
	for (c = conns; c != NULL; c = c->next) {
		if (!rec_matches(c, server, certfp))
			continue;
		if (c->checked)
			return &c->conn;
		if (any == NULL)
			any = c;
	}
	return any != NULL ? &any->conn : NULL;
}

size_t
conns_count(void)
{
	return count;
}

static void
hex_digest(X509 *cert, const EVP_MD *md, char *out, size_t size)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (md == NULL || X509_digest(cert, md, d, &n) != 1 ||
	    2 * (size_t)n + 1 > size)
		return;
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ex_data free callback: the SSL object, and so its session, is gone. */
static void
rec_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct conn_rec *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (conns == c)
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	count--;
	free(c);
}

int
conns_record(SSL *ssl, X509 *peer, const char *server,
    const struct smdane_conn *conn, int checked)
{
	struct conn_rec *c;

	if (ssl == NULL || peer == NULL)
		return -1;
	if (rec_idx < 0)
		rec_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, rec_free);
	if (rec_idx < 0)
		return -1;
	if (SSL_get_ex_data(ssl, rec_idx) != NULL)
		return 0;		/* recorded when it completed */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	snprintf(c->server, sizeof(c->server), "%s", server);
	hex_digest(peer, EVP_md5(), c->md5, sizeof(c->md5));
	hex_digest(peer, EVP_sha1(), c->sha1, sizeof(c->sha1));
	hex_digest(peer, EVP_sha256(), c->sha256, sizeof(c->sha256));
	hex_digest(peer, EVP_sha512(), c->sha512, sizeof(c->sha512));
	c->checked = checked;
	c->conn = *conn;
	if (SSL_set_ex_data(ssl, rec_idx, c) != 1) {
		free(c);
		return -1;
	}
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	count++;
	return 0;
}
