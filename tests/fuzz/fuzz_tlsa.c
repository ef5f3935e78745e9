/*
 * NAME
 *	fuzz_tlsa - libFuzzer target: TLSA records from DNS into OpenSSL
 *
 * DESCRIPTION
 *	The input is a list of TLSA records as a zone would publish them
 *	(usage, selector, matching type, a 16-bit length, data) and a
 *	settings byte.  Each record goes through dane_tlsa_usable() under
 *	the usage 0/1 setting, the usable ones into a policy, and the
 *	policy through dane_ssl_apply_level() onto a fresh client SSL
 *	object, where OpenSSL parses full certificates and public keys
 *	(matching type 0) and checks digest lengths.  Nothing may crash,
 *	leak or read out of bounds, whatever the records hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "dane.h"

#define RECORDS_MAX 16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static SSL_CTX *ctx;
	struct dane_tlsa_rr rr, eff;
	struct dane_settings s;
	struct dane_policy *p;
	enum dane_level applied;
	char buf[128];
	size_t n;
	SSL *ssl;

	if (ctx == NULL && (ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		abort();
	if (size < 1)
		return 0;
	dane_settings_default(&s);
	s.usage01 = (enum dane_usage01)(data[0] % 3);
	if (data[0] & 0x80)
		s.digest_pref[0] = DANE_MTYPE_SHA2_256, s.digest_pref[1] = 0;
	data++;
	size--;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->usable = calloc(RECORDS_MAX, sizeof(*p->usable))) == NULL)
		abort();
	p->level = DANE_LEVEL_AUTH;
	p->reason = DANE_R_TLSA_USABLE;
	snprintf(p->base_domain, sizeof(p->base_domain), "mx.example.com");
	snprintf(p->refnames[0], sizeof(p->refnames[0]), "mx.example.com");
	snprintf(p->refnames[1], sizeof(p->refnames[1]), "example.com");
	p->refname_count = 2;
	while (size >= 5 && p->usable_count < RECORDS_MAX) {
		rr.usage = data[0];
		rr.selector = data[1];
		rr.mtype = data[2];
		n = (size_t)data[3] << 8 | data[4];
		data += 5;
		size -= 5;
		if (n > size)
			n = size;
		rr.len = n;
		rr.data = (unsigned char *)data;
		data += n;
		size -= n;
		dane_tlsa_format(&rr, buf, sizeof(buf));
		if (!dane_tlsa_usable(&s, &rr, &eff))
			continue;
		p->usable[p->usable_count] = eff;
		if ((p->usable[p->usable_count].data = malloc(eff.len + 1)) ==
		    NULL)
			abort();
		memcpy(p->usable[p->usable_count].data, eff.data, eff.len);
		p->usable_count++;
	}
	if ((ssl = SSL_new(ctx)) == NULL)
		abort();
	(void)dane_ssl_apply_level(&s, p, ssl, &applied);
	SSL_free(ssl);
	dane_policy_free(p);
	return 0;
}
