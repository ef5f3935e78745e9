/*
 * NAME
 *	log.c - logging sink and text helpers
 *
 * SYNOPSIS
 *	#include "danei.h"
 *
 *	void danei_log(dane_log_fn *fn, void *arg, int prio,
 *	    const char *fmt, ...);
 *	void danei_sanitize(char *s, const char *extra);
 *	size_t danei_strlcpy(char *dst, const char *src, size_t size);
 *	size_t danei_hex(const unsigned char *data, size_t len, size_t max,
 *	    char *buf, size_t size);
 *
 * DESCRIPTION
 *	The default sink is syslog(LOG_MAIL | prio, "%s", line).  Every
 *	line is sanitised first: DNS-derived text may hold any byte, and
 *	logs must stay printable ASCII.  errno is preserved across a log
 *	call so callers can log and then report errno.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "danei.h"

size_t
danei_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len;

	len = strlen(src);
	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

void
danei_sanitize(char *s, const char *extra)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e ||
		    (extra != NULL && strchr(extra, *p) != NULL))
			*p = '?';
	}
}

size_t
danei_hex(const unsigned char *data, size_t len, size_t max, char *buf,
    size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (size == 0)
		return 0;
	for (i = 0; i < len && i < max && 2 * i + 2 < size; i++) {
		buf[2 * i] = digits[data[i] >> 4];
		buf[2 * i + 1] = digits[data[i] & 0x0f];
	}
	buf[2 * i] = '\0';
	return i;
}

void
danei_vlog(dane_log_fn *fn, void *arg, int prio, const char *fmt,
    va_list ap)
{
	char line[1024];
	int saved = errno;

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	danei_sanitize(line, NULL);
	if (fn != NULL)
		fn(arg, prio, line);
	else
		syslog(LOG_MAIL | prio, "%s", line);
	errno = saved;
}

void
danei_log(dane_log_fn *fn, void *arg, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	danei_vlog(fn, arg, prio, fmt, ap);
	va_end(ap);
}
