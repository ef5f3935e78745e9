/*
 * NAME
 *	fuzz_gather - libFuzzer target: dane_gather() and dane_decide() on
 *	arbitrary DNS replies
 *
 * DESCRIPTION
 *	Every reply libdane asks for is taken from the input, in order,
 *	through danei_ctx_set_replies(): one chunk per lookup,
 *
 *	    flags (1 byte)  bits 0-3 RCODE, bit 4 secure, bit 5 bogus,
 *	                    bit 7 the lookup fails without a reply
 *	    length (2 bytes, big endian), then that many bytes of wire data
 *
 *	so the probe, the MX, A, AAAA, CNAME and TLSA lookups and CNAME
 *	chains all see attacker-shaped messages with any security.  The
 *	first input byte picks the destination shape (MX domain, relay,
 *	address literal, port).  The facts are then decided, the policy
 *	formatted: nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dane.h"
#include "danei.h"

struct feed {
	const uint8_t *p;
	size_t left;
};

static int
next_reply(void *arg, const char *name, int type, struct danei_reply *out)
{
	struct feed *f = arg;
	size_t len;
	uint8_t flags;

	(void)name;
	(void)type;
	if (f->left < 3)
		return -1;
	flags = f->p[0];
	len = (size_t)f->p[1] << 8 | f->p[2];
	f->p += 3;
	f->left -= 3;
	if (len > f->left)
		len = f->left;
	out->rcode = flags & 0x0f;
	out->secure = (flags & 0x10) != 0;
	out->bogus = (flags & 0x20) != 0;
	out->wire = len > 0 ? f->p : NULL;
	out->len = len;
	f->p += len;
	f->left -= len;
	return (flags & 0x80) != 0 ? -1 : 0;
}

static void
quiet(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	(void)line;
}

static const char *anchor_path(void)
{
	static char path[64];
	FILE *fp;

	if (path[0] != '\0')
		return path;
	snprintf(path, sizeof(path), "/tmp/fuzz-gather-anchor.%ld",
	    (long)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fputs(". IN DS 20326 8 2 "
	    "e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d\n",
	    fp);
	fclose(fp);
	return path;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const shapes[][2] = {
		{ "example.com", "mx.example.com" },
		{ "example.com.", "example.com" },
		{ "[relay.example.net]", "" },
		{ "[192.0.2.1]", "" },
		{ "a.example", "mx.a.example" },
		{ "example.com", "192.0.2.7" },
	};
	struct dane_resolver_config rc;
	struct dane_settings s;
	struct dane_policy *p = NULL;
	struct dane_facts *facts = NULL;
	struct dane_ctx *c = NULL;
	struct feed f;
	char buf[128];
	size_t i, k;

	if (size < 1)
		return 0;
	memset(&rc, 0, sizeof(rc));
	rc.upstream = "127.0.0.1@9";
	rc.trust_anchor = anchor_path();
	rc.log_fn = quiet;
	if (dane_ctx_new(&rc, &c) != DANE_OK)
		abort();
	f.p = data + 1;
	f.left = size - 1;
	danei_ctx_set_replies(c, next_reply, &f);
	k = data[0] % (sizeof(shapes) / sizeof(shapes[0]));
	dane_settings_default(&s);
	s.usage01 = (enum dane_usage01)((data[0] >> 4) % 3);
	s.no_dnssec = (enum dane_no_dnssec)((data[0] >> 6) & 1);
	if (dane_gather(c, shapes[k][0], shapes[k][1],
	    (data[0] & 0x80) != 0 ? 587 : 25, &facts) == DANE_OK &&
	    dane_decide(&s, facts, &p) == DANE_OK) {
		for (i = 0; i < p->usable_count; i++)
			dane_tlsa_format(&p->usable[i], buf, sizeof(buf));
		(void)dane_reason_text(p->reason);
		(void)dane_level_name(p->level);
	}
	dane_policy_free(p);
	dane_facts_free(facts);
	dane_ctx_free(c);
	return 0;
}
