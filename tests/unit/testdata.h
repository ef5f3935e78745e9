/*
 * Data files of the unit tests, found under $top_srcdir (set by make
 * check) or the current directory.
 */
#ifndef TESTDATA_H
#define TESTDATA_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static inline FILE *
open_src(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", top != NULL ? top : ".", rel);
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "open %s: got NULL, want the file "
	    "(run from the top of the tree or set top_srcdir)", path);
	return fp;
}

#endif /* TESTDATA_H */
