/*
 * NAME
 *	fuzz_verdict - libFuzzer target: the hook's parsers of sendmail
 *	input
 *
 * DESCRIPTION
 *	The verdict-channel name (built by sendmail from ${server_name},
 *	$&h, ${verify} and certificate digests, so partly from DNS and the
 *	peer), the TXT reply built for it, the service names of A= and the
 *	D{smdane_*} lines of sendmail.cf.  Input: one line; nothing may
 *	crash or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smdane.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smdane_config cfg;
	struct smdane_query q;
	enum smdane_mode mode;
	unsigned char wire[512];
	char *s, clean[64];
	uint16_t port;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (smdane_is_channel_name(s))
		(void)smdane_query_parse(s, &q);
	(void)smdane_query_parse(s, &q);
	(void)smdane_txt_response(s, s, wire, (int)sizeof(wire));
	(void)smdane_service_parse(s, &mode, &port);
	(void)smdane_mode_parse(s, &mode);
	smdane_sanitize(clean, sizeof(clean), s);
	smdane_config_init(&cfg);
	(void)smdane_config_parse_line(&cfg, s);
	free(s);
	return 0;
}
