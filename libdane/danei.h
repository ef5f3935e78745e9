/*
 * NAME
 *	danei.h - libdane internal declarations
 *
 * SYNOPSIS
 *	#include "danei.h"
 *
 * DESCRIPTION
 *	Functions shared between the libdane source files and not part of
 *	the public interface.  Nothing here is for callers of libdane.
 *
 *	danei_strlcpy() copies at most size - 1 bytes and always
 *	terminates; it returns strlen(src) so truncation can be detected.
 *
 *	danei_name_norm() turns a domain name in presentation form into
 *	our canonical form: lower case, no trailing dot.  It fails with
 *	DANE_ERR_INVAL for an empty name, a name longer than 253
 *	characters, an empty or over-long (63) label, or a byte outside
 *	printable ASCII.
 *
 *	danei_sanitize() replaces, in place, every byte that is not
 *	printable ASCII, and every byte of `extra`, by '?'.
 *
 *	danei_hex() writes the hexadecimal form of up to `max` bytes of
 *	data into buf (always terminated) and returns the number of bytes
 *	encoded.
 *
 *	danei_vlog() and danei_log() format one line, sanitise it and hand
 *	it to the sink `fn` (or to syslog(LOG_MAIL) when fn is NULL).
 *	errno is preserved.
 *
 *	danei_ctx_set_replies() makes a context take every reply from `fn`
 *	instead of libunbound: the fuzz targets feed dane_gather() arbitrary
 *	wire data with arbitrary security through it.  fn returns 0 and
 *	fills *out (wire borrowed until the next call), or non-zero for a
 *	lookup that failed.  Nothing else calls it.
 */
#ifndef DANEI_H
#define DANEI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "dane.h"

#define DANEI_TEXT_UNSAFE "\"\\%()"	/* bytes sendmail re-tokenises */

size_t	danei_strlcpy(char *dst, const char *src, size_t size);
enum dane_result danei_name_norm(const char *in, char *out, size_t size);
void	danei_sanitize(char *s, const char *extra);
size_t	danei_hex(const unsigned char *data, size_t len, size_t max,
	    char *buf, size_t size);

void	danei_vlog(dane_log_fn *fn, void *arg, int prio, const char *fmt,
	    va_list ap) __attribute__((format(printf, 4, 0)));
void	danei_log(dane_log_fn *fn, void *arg, int prio, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

struct danei_reply {
	int rcode;
	int secure;
	int bogus;
	const unsigned char *wire;	/* the reply message, or NULL */
	size_t len;
};
typedef int danei_reply_fn(void *arg, const char *name, int type,
    struct danei_reply *out);
void	danei_ctx_set_replies(struct dane_ctx *c, danei_reply_fn *fn,
	    void *arg);

#endif /* DANEI_H */
