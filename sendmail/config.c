/*
 * NAME
 *	config.c - read the hook's settings from sendmail.cf
 *
 * DESCRIPTION
 *	FEATURE(`dane') writes its settings as D{smdane_*} macro lines into
 *	sendmail.cf: the stock binary accepts unknown long macro names, so
 *	the configuration stays in sendmail.mc where administrators expect
 *	it.  The module reads them when the shim starts it, in the shim's
 *	constructor, before sendmail empties the environment and closes
 *	descriptors.
 *
 *	An unknown smdane_ macro or a bad value marks the configuration as
 *	broken; the hook then defers every DANE delivery with a reason
 *	naming the setting, instead of guessing.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smdane.h"

void
smdane_config_init(struct smdane_config *c)
{
	memset(c, 0, sizeof(*c));
	dane_settings_default(&c->settings);
	c->loglevel = 1;
}

static void
config_fail(struct smdane_config *c, const char *key, const char *val)
{
	char clean[64];

	if (c->error)
		return;
	c->error = 1;
	smdane_sanitize(clean, sizeof(clean), val);
	snprintf(c->error_text, sizeof(c->error_text),
	    "bad value for %s: %s", key, clean);
}

/*
 * confSMDANE_UPSTREAM: empty (resolv.conf), "recurse", or addresses to
 * forward to, "addr" or "addr@port", blank or comma separated.
 */
static int
upstream_ok(const char *val)
{
	char buf[256], *p, *tok, *at, *end;
	unsigned char bin[16];
	size_t n = 0;

	if (val[0] == '\0' || strcmp(val, "recurse") == 0)
		return 0;
	if (strlen(val) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", val);
	for (p = buf; (tok = strsep(&p, " \t,")) != NULL;) {
		if (*tok == '\0')
			continue;
		if ((at = strchr(tok, '@')) != NULL) {
			unsigned long port;

			*at++ = '\0';
			port = strtoul(at, &end, 10);
			if (*at == '\0' || *end != '\0' || port == 0 ||
			    port > 65535)
				return -1;
		}
		if (inet_pton(AF_INET, tok, bin) != 1 &&
		    inet_pton(AF_INET6, tok, bin) != 1)
			return -1;
		n++;
	}
	return n > 0 ? 0 : -1;
}

static int
parse_digests(const char *val, uint8_t pref[4])
{
	char word[16];
	size_t n = 0, i;
	const char *p = val;

	memset(pref, 0, 4);
	while (*p != '\0') {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		for (i = 0; *p != '\0' && *p != ' ' && *p != ',' &&
		    *p != '\t'; p++)
			if (i + 1 < sizeof(word))
				word[i++] = (char)tolower((unsigned char)*p);
		word[i] = '\0';
		if (n >= 3)
			return -1;
		if (strcmp(word, "sha512") == 0)
			pref[n++] = DANE_MTYPE_SHA2_512;
		else if (strcmp(word, "sha256") == 0)
			pref[n++] = DANE_MTYPE_SHA2_256;
		else
			return -1;
	}
	if (n == 0 || (n == 2 && pref[0] == pref[1]))
		return -1;
	return 0;
}

/*
 * Parse one cf line.  Returns 1 if it was one of ours, 0 otherwise.
 */
int
smdane_config_parse_line(struct smdane_config *c, const char *line)
{
	static const char prefix[] = "D{smdane_";
	char key[32], val[256];
	const char *end;
	size_t klen, vlen;

	if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	line += 2;
	end = strchr(line, '}');
	if (end == NULL || (size_t)(end - line) >= sizeof(key)) {
		config_fail(c, "macro", line);
		return 1;
	}
	klen = (size_t)(end - line);
	memcpy(key, line, klen);
	key[klen] = '\0';
	vlen = strcspn(end + 1, "\r\n");
	if (vlen >= sizeof(val)) {
		config_fail(c, key, "value too long");
		return 1;
	}
	memcpy(val, end + 1, vlen);
	val[vlen] = '\0';

	if (strcmp(key, "smdane_version") == 0) {
		/* 1: a cf of the earlier feature, whose mailers without DANE
		 * carry "smtp"; 2: they carry "smdane-none" */
		if (strcmp(val, "1") != 0 && strcmp(val, "2") != 0)
			config_fail(c, key, val);
		else
			c->version = val[0] - '0';
		c->present = 1;
	} else if (strcmp(key, "smdane_usage01") == 0) {
		if (strcmp(val, "default") == 0 || val[0] == '\0')
			c->settings.usage01 = DANE_USAGE01_DEFAULT;
		else if (strcmp(val, "ta-digests") == 0)
			c->settings.usage01 = DANE_USAGE01_TA_DIGESTS;
		else if (strcmp(val, "strict") == 0)
			c->settings.usage01 = DANE_USAGE01_STRICT;
		else
			config_fail(c, key, val);
	} else if (strcmp(key, "smdane_digests") == 0) {
		if (val[0] != '\0' &&
		    parse_digests(val, c->settings.digest_pref) != 0)
			config_fail(c, key, val);
	} else if (strcmp(key, "smdane_resolvers") == 0) {
		/* trusted AD-setting resolvers: no longer a thing */
		if (val[0] != '\0')
			config_fail(c, key, "obsolete, see confSMDANE_UPSTREAM");
	} else if (strcmp(key, "smdane_upstream") == 0) {
		if (upstream_ok(val) != 0)
			config_fail(c, key, val);
		else
			snprintf(c->upstream, sizeof(c->upstream), "%s", val);
	} else if (strcmp(key, "smdane_resolv_conf") == 0 ||
	    strcmp(key, "smdane_trust_anchor") == 0 ||
	    strcmp(key, "smdane_unbound_conf") == 0) {
		char *dst = strcmp(key, "smdane_resolv_conf") == 0 ?
		    c->resolv_conf : strcmp(key, "smdane_trust_anchor") == 0 ?
		    c->trust_anchor : c->unbound_conf;

		if (val[0] != '\0' && val[0] != '/')
			config_fail(c, key, val);
		else
			snprintf(dst, sizeof(c->resolv_conf), "%s", val);
	} else if (strcmp(key, "smdane_no_dnssec") == 0) {
		if (strcmp(val, "defer") == 0 || val[0] == '\0')
			c->settings.no_dnssec = DANE_NO_DNSSEC_DEFER;
		else if (strcmp(val, "opportunistic") == 0)
			c->settings.no_dnssec = DANE_NO_DNSSEC_OPPORTUNISTIC;
		else
			config_fail(c, key, val);
	} else if (strcmp(key, "smdane_dns_timeout") == 0) {
		char *e;
		unsigned long sec = strtoul(val, &e, 10);

		if (val[0] == '\0')
			c->dns_timeout_ms = 0;
		else if (*e != '\0' || sec == 0 || sec > 600 || val[0] == '-')
			config_fail(c, key, val);
		else
			c->dns_timeout_ms = (unsigned)sec * 1000;
	} else if (strcmp(key, "smdane_loglevel") == 0) {
		if (strlen(val) != 1 || val[0] < '0' || val[0] > '3')
			config_fail(c, key, val);
		else
			c->loglevel = val[0] - '0';
	} else if (strcmp(key, "smdane_fatal") == 0) {
		if (!c->fatal)
			smdane_sanitize(c->fatal_text, sizeof(c->fatal_text),
			    val[0] != '\0' ? val : "unservable configuration");
		c->fatal = 1;
	} else if (strcmp(key, "smdane_mailers") == 0 ||
	    strcmp(key, "smdane_only_mailers") == 0 ||
	    strcmp(key, "smdane_optin_mailers") == 0 ||
	    strcmp(key, "smdane_audit_mailers") == 0) {
		/* informational: the mailers carry the mode in A= */
	} else {
		config_fail(c, key, "unknown setting");
	}
	return 1;
}

/*
 * "Kaccess hash -T<TMPF> /etc/mail/access": the DANE: overrides live in
 * the same map; only the Berkeley DB types can be read.
 */
static void
access_line(struct smdane_config *c, const char *rest)
{
	char type[16] = "", last[1000] = "", word[1000];
	int n = 0, off = 0, used;

	while (sscanf(rest + off, "%999s%n", word, &used) == 1) {
		if (n++ == 0)
			snprintf(type, sizeof(type), "%.15s", word);
		else if (word[0] != '-')
			snprintf(last, sizeof(last), "%s", word);
		off += used;
	}
	if ((strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0) &&
	    last[0] == '/')
		snprintf(c->access_db, sizeof(c->access_db), "%s.db", last);
	else
		snprintf(c->access_unreadable, sizeof(c->access_unreadable),
		    "%s", type);
}

int
smdane_mode_parse(const char *value, enum smdane_mode *mode)
{
	if (strcasecmp(value, "none") == 0 || strcasecmp(value, "may") == 0)
		*mode = SMDANE_MODE_NONE;
	else if (strcasecmp(value, "encrypt") == 0)
		*mode = SMDANE_MODE_ENCRYPT;
	else if (strcasecmp(value, "dane") == 0)
		*mode = SMDANE_MODE_DANE;
	else if (strcasecmp(value, "dane-only") == 0)
		*mode = SMDANE_MODE_ONLY;
	else if (strcasecmp(value, "audit") == 0)
		*mode = SMDANE_MODE_AUDIT;
	else
		return -1;
	return 0;
}

enum smdane_mode
smdane_mode_resolve(enum smdane_mode mailer, int found, enum smdane_mode entry)
{
	switch (mailer) {
	case SMDANE_MODE_DANE:
	case SMDANE_MODE_ONLY:
	case SMDANE_MODE_ENCRYPT:
	case SMDANE_MODE_AUDIT:
		return found ? entry : mailer;
	case SMDANE_MODE_OPTIN:
		return found ? entry : SMDANE_MODE_NONE;
	default:
		/* no mailer of the feature: entries do not apply */
		return mailer;
	}
}

const char *
smdane_mode_name(enum smdane_mode mode)
{
	switch (mode) {
	case SMDANE_MODE_NONE:
		return "none";
	case SMDANE_MODE_DANE:
		return "dane";
	case SMDANE_MODE_ONLY:
		return "dane-only";
	case SMDANE_MODE_ENCRYPT:
		return "encrypt";
	case SMDANE_MODE_UNSERVED:
		return "unserved";
	case SMDANE_MODE_UNKNOWN:
		return "unknown";
	case SMDANE_MODE_OPTIN:
		return "optin";
	case SMDANE_MODE_AUDIT:
		return "audit";
	}
	return "?";
}

int
smdane_service_parse(const char *name, enum smdane_mode *mode,
    uint16_t *port)
{
	const char *p;
	unsigned long v;
	char *end;

	if (strcmp(name, "dane-unserved") == 0) {
		*mode = SMDANE_MODE_UNSERVED;
		*port = 25;
		return 0;
	}
	if (strcmp(name, "smtp") == 0 || strcmp(name, "smdane-none") == 0) {
		*mode = SMDANE_MODE_NONE;
		*port = 25;
		return 0;
	}
	if ((strncmp(name, "smtp-", 5) == 0 && isdigit((unsigned char)name[5]))
	    || (strncmp(name, "smdane-none-", 12) == 0 &&
	    isdigit((unsigned char)name[12]))) {
		/* a mailer without DANE on another port */
		p = name + (name[2] == 't' ? strlen("smtp") :
		    strlen("smdane-none"));
		*mode = SMDANE_MODE_NONE;
	} else if (strncmp(name, "dane", 4) == 0) {
		p = name + 4;
		*mode = SMDANE_MODE_DANE;
	} else
		return -1;
	if (*mode == SMDANE_MODE_DANE && strncmp(p, "-only", 5) == 0) {
		*mode = SMDANE_MODE_ONLY;
		p += 5;
	} else if (*mode == SMDANE_MODE_DANE && strncmp(p, "-optin", 6) == 0) {
		*mode = SMDANE_MODE_OPTIN;
		p += 6;
	} else if (*mode == SMDANE_MODE_DANE && strncmp(p, "-audit", 6) == 0) {
		*mode = SMDANE_MODE_AUDIT;
		p += 6;
	}
	*port = 25;
	if (*p == '\0')
		return 0;
	if (*p != '-' || !isdigit((unsigned char)p[1]))
		return -1;
	errno = 0;
	v = strtoul(p + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Returns 0 if the file was read, -1 if it could not be opened. */
int
smdane_config_read(struct smdane_config *c, const char *path)
{
	char line[1024];
	FILE *fp;

	fp = fopen(path, "re");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == 'D')
			(void)smdane_config_parse_line(c, line);
		else if (strncmp(line, "Kaccess", 7) == 0 &&
		    (line[7] == ' ' || line[7] == '\t'))
			access_line(c, line + 7);
	}
	fclose(fp);
	return 0;
}
