/*
 * NAME
 *	fuzz_seen - libFuzzer target: the module's reader of the replies
 *	sendmail receives for its own lookups (sendmail/seen.c)
 *
 * DESCRIPTION
 *	Input: a flags byte (bit 0: the reply came through
 *	res_querydomain(), sendmail's canonification) followed by replies,
 *	each a 16-bit length and wire data, as any DNS server or forger
 *	could send them to sendmail.  Each is read as the module reads it;
 *	then the names recorded are asked for their originals.  Nothing
 *	may crash, read out of bounds or leak; every record must be one a
 *	reply named, and forgetting them must leave none.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *list[16];
	size_t off = 1, n, i, replies = 0;
	int canon;

	if (size < 1)
		return 0;
	canon = data[0] & 1;
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		unsigned char *pkt;

		off += 2;
		if (len > size - off)
			len = size - off;
		/* a copy of its own, so reads past it are caught */
		if ((pkt = malloc(len > 0 ? len : 1)) == NULL)
			break;
		memcpy(pkt, data + off, len);
		seen_reply(pkt, (int)len, canon);
		free(pkt);
		off += len;
		replies++;
		canon = !canon;
	}
	if (seen_count() > replies)
		abort();		/* a record no reply named */
	n = seen_originals("example.com", list, 16);
	for (i = 0; i < n; i++)
		if (list[i] == NULL || strlen(list[i]) >= DANE_NAME_MAX)
			abort();
	(void)seen_self("example.com");
	seen_forget();
	if (seen_count() != 0)
		abort();
	return 0;
}
