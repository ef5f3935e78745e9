/*
 * NAME
 *	log.c - the module's syslog lines
 *
 * DESCRIPTION
 *	confSMDANE_LOGLEVEL: 0 errors, warnings and refusals; 1 (default)
 *	also the line of every connection that passed.  libdane's lines:
 *	at 0 its errors and warnings, at 1 also validation failures and a
 *	used up DNS budget, at 2 everything but libunbound's own messages,
 *	at 3 those too.  Every line goes to LOG_MAIL, as sendmail's own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "module.h"

static int level = 1;

void
smdane_log_level(int l)
{
	level = l < 0 ? 0 : l > 3 ? 3 : l;
}

int
smdane_log_wanted(int prio)
{
	return prio <= (level >= 1 ? LOG_INFO : LOG_NOTICE);
}

void
smdane_log(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved = errno;

	if (!smdane_log_wanted(prio))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(LOG_MAIL | prio, "%s", line);
	errno = saved;
}

void
smdane_log_dane(void *arg, int prio, const char *line)
{
	static const int limit[] = { LOG_WARNING, LOG_NOTICE, LOG_INFO,
		LOG_DEBUG };
	int saved = errno;

	(void)arg;
	if (prio <= limit[level])
		syslog(LOG_MAIL | prio, "%s", line);
	errno = saved;
}
