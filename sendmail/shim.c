/*
 * NAME
 *	shim.c - the set-user-ID loader of sendmail-dane
 *
 * SYNOPSIS
 *	LD_PRELOAD=libsendmail-dane.so sendmail-mta -bd -q10m
 *
 * DESCRIPTION
 *	ld.so preloads a library into the set-group-ID sendmail started by
 *	root only by bare name, from the system directories, and only when
 *	the file is set-user-ID; any user can therefore preload this file
 *	into any set-user-ID program.  It depends on libc alone and does
 *	nothing but pass the five functions it defines (getservbyname,
 *	res_search, res_query, res_querydomain, SSL_connect) to the next
 *	definition, unless the process is sendmail, run by root, with
 *	FEATURE(`dane') in the configuration file it will read.
 *
 *	Then its constructor loads the module (SMDANE_MODULE_PATH, with
 *	libdane, OpenSSL, libunbound, ldns and libdb), provided the file
 *	and every directory above it are owned by root and writable by no
 *	one else, hands it the real functions and calls its hooks from then
 *	on.  A module that cannot be loaded is one LOG_ERR line; the calls
 *	pass through and FEATURE(`dane')'s rules defer every SMTP delivery.
 *
 *	In secure mode ld.so removes LD_PRELOAD from the environment; for
 *	sendmail with FEATURE(`dane') the constructor puts this file's bare
 *	name back, so the SIGHUP re-exec (with the saved environment) loads
 *	it again.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "activate.h"

#ifndef SMDANE_MODULE_PATH
#error "SMDANE_MODULE_PATH (the module's absolute path) is not defined"
#endif

#define EXPORT __attribute__((visibility("default")))

static struct smdane_fns R;		/* the next definitions */
static struct smdane_fns H;		/* the module's, when it is loaded */

static void *
next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void
resolve(void)
{
	if (R.getservbyname == NULL)
		R.getservbyname = (struct servent *(*)(const char *,
		    const char *))next("getservbyname");
	if (R.res_search == NULL)
		R.res_search = (int (*)(const char *, int, int,
		    unsigned char *, int))next("res_search");
	if (R.res_query == NULL)
		R.res_query = (int (*)(const char *, int, int,
		    unsigned char *, int))next("res_query");
	if (R.res_querydomain == NULL)
		R.res_querydomain = (int (*)(const char *, const char *, int,
		    int, unsigned char *, int))next("res_querydomain");
	if (R.SSL_connect == NULL)
		R.SSL_connect = (int (*)(void *))next("SSL_connect");
}

/* One line: the module is not loaded (the rules then defer). */
static void
fail(const char *path, const char *reason)
{
	int saved = errno;

	syslog(LOG_MAIL | LOG_ERR, "sendmail-dane: module %s not loaded: %s",
	    path, reason);
	closelog();
	errno = saved;
}

static int
unsafe(const struct stat *st)
{
	return st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/*
 * 0 if path is a regular file owned by root and writable by no one
 * else, in directories of which the same holds up to /; else -1 with
 * the reason in why.
 */
static int
module_safe(const char *path, int fd, char *why, size_t size)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || unsafe(&st)) {
		snprintf(why, size, "not a regular file owned by root and "
		    "writable only by root");
		return -1;
	}
	if (path[0] != '/' || strlen(path) >= sizeof(dir)) {
		snprintf(why, size, "not an absolute path");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
		    unsafe(&st)) {
			snprintf(why, size, "%.150s is not a directory owned "
			    "by root and writable only by root", dir);
			return -1;
		}
		if (slash == dir)
			break;
	}
	return 0;
}

static void
keep_preload(void)
{
	Dl_info info;
	const char *base;

	if (getauxval(AT_SECURE) == 0 || getenv("LD_PRELOAD") != NULL)
		return;
	if (dladdr((void *)keep_preload, &info) == 0 || info.dli_fname == NULL)
		return;
	base = strrchr(info.dli_fname, '/');
	(void)setenv("LD_PRELOAD", base != NULL ? base + 1 : info.dli_fname, 1);
}

static void
load_module(int argc, char **argv)
{
	static const char path[] = SMDANE_MODULE_PATH;
	struct smdane_fns hooks;
	smdane_module_init_fn *init;
	char why[256];
	void *h;
	int fd;

	resolve();
	if (R.getservbyname == NULL || R.res_search == NULL ||
	    R.res_query == NULL || R.res_querydomain == NULL ||
	    R.SSL_connect == NULL) {
		fail(path, "a hooked function is missing from the process");
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fail(path, strerror(errno));
		return;
	}
	if (module_safe(path, fd, why, sizeof(why)) != 0) {
		close(fd);
		fail(path, why);
		return;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	close(fd);
	if (h == NULL) {
		const char *e = dlerror();

		fail(path, e != NULL ? e : "dlopen failed");
		return;
	}
	init = (smdane_module_init_fn *)dlsym(h, SMDANE_MODULE_INIT);
	if (init == NULL) {
		fail(path, "no " SMDANE_MODULE_INIT "()");
		dlclose(h);
		return;
	}
	memset(&hooks, 0, sizeof(hooks));
	if (init(argc, argv, &R, &hooks) != 0)
		return;			/* inactive: stays mapped */
	H = hooks;
}

__attribute__((constructor)) static void
shim_init(int argc, char **argv, char **envp)
{
	(void)envp;
	if (!smdane_is_root_sendmail(argc, argv) ||
	    !smdane_cf_has_feature(smdane_cf_path(argc, argv)))
		return;
	keep_preload();
	load_module(argc, argv);
}

/* ---- the interposers ------------------------------------------------ */

EXPORT struct servent *
getservbyname(const char *name, const char *proto)
{
	if (H.getservbyname != NULL)
		return H.getservbyname(name, proto);
	if (R.getservbyname == NULL)
		resolve();
	return R.getservbyname(name, proto);
}

EXPORT int
res_search(const char *dname, int class, int type, unsigned char *answer,
    int anslen)
{
	if (H.res_search != NULL)
		return H.res_search(dname, class, type, answer, anslen);
	if (R.res_search == NULL)
		resolve();
	return R.res_search(dname, class, type, answer, anslen);
}

EXPORT int
res_query(const char *dname, int class, int type, unsigned char *answer,
    int anslen)
{
	if (H.res_query != NULL)
		return H.res_query(dname, class, type, answer, anslen);
	if (R.res_query == NULL)
		resolve();
	return R.res_query(dname, class, type, answer, anslen);
}

EXPORT int
res_querydomain(const char *name, const char *domain, int class, int type,
    unsigned char *answer, int anslen)
{
	if (H.res_querydomain != NULL)
		return H.res_querydomain(name, domain, class, type, answer,
		    anslen);
	if (R.res_querydomain == NULL)
		resolve();
	return R.res_querydomain(name, domain, class, type, answer, anslen);
}

struct ssl_st;

EXPORT int
SSL_connect(struct ssl_st *ssl)
{
	if (H.SSL_connect != NULL)
		return H.SSL_connect(ssl);
	if (R.SSL_connect == NULL)
		resolve();
	return R.SSL_connect(ssl);
}
