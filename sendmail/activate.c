/*
 * NAME
 *	activate.c - whether sendmail-dane belongs in this process
 *
 * DESCRIPTION
 *	The checks the set-user-ID shim makes before it loads the module,
 *	and the module makes again when it starts: sendmail, run by root,
 *	with FEATURE(`dane') in the configuration file it will read.
 *	Linked into both; needs nothing but libc.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "activate.h"

const char *
smdane_cf_path(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strncmp(argv[i], "-C", 2) == 0) {
			if (argv[i][2] != '\0')
				return argv[i] + 2;
			if (i + 1 < argc)
				return argv[i + 1];
		}
		if (strcmp(argv[i], "-Ac") == 0)
			return "/etc/mail/submit.cf";
	}
	return "/etc/mail/sendmail.cf";
}

int
smdane_is_root_sendmail(int argc, char **argv)
{
	const char *base;

	if (getuid() != 0 || argc < 1 || argv == NULL || argv[0] == NULL)
		return 0;
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	return strncmp(base, "sendmail", 8) == 0;
}

/* Read as smdane_config_read() reads it: lines of up to 1023 bytes. */
int
smdane_cf_has_feature(const char *path)
{
	static const char macro[] = "D{smdane_version}";
	char line[1024];
	FILE *fp;
	int found = 0;

	fp = fopen(path, "re");
	if (fp == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strncmp(line, macro, sizeof(macro) - 1) == 0;
	fclose(fp);
	return found;
}
