/*
 * NAME
 *	activate.h - what the set-user-ID shim and the module share
 *
 * DESCRIPTION
 *	libsendmail-dane.so, the file installed set-user-ID so that ld.so
 *	preloads it into the set-group-ID sendmail, is a loader that
 *	depends on libc only.  It interposes the five functions below and
 *	passes them straight through, unless the process is sendmail run
 *	by root with FEATURE(`dane') in its configuration file: only then
 *	does it dlopen() the module (libsendmail-dane-module.so, with
 *	libdane and its libraries) and hand the calls to it.
 *
 *	Nothing here may need more than libc.
 */
#ifndef SMDANE_ACTIVATE_H
#define SMDANE_ACTIVATE_H

struct servent;

/* The functions the shim interposes: the real ones, or the module's. */
struct smdane_fns {
	struct servent *(*getservbyname)(const char *, const char *);
	int (*res_search)(const char *, int, int, unsigned char *, int);
	int (*res_query)(const char *, int, int, unsigned char *, int);
	int (*res_querydomain)(const char *, const char *, int, int,
	    unsigned char *, int);
	int (*SSL_connect)(void *);	/* SSL * */
};

/*
 * The module's one entry point, called from the shim's constructor
 * (before sendmail empties its environment and closes descriptors).
 * Reads the configuration; returns 0 and sets *hooks when the module is
 * active, -1 when it stays out of the way.
 */
#define SMDANE_MODULE_INIT "smdane_module_init"
typedef int smdane_module_init_fn(int argc, char **argv,
    const struct smdane_fns *real, struct smdane_fns *hooks);
int smdane_module_init(int argc, char **argv,
    const struct smdane_fns *real, struct smdane_fns *hooks);

/*
 * The configuration file sendmail will read: -C<file> or -C <file>,
 * submit.cf for -Ac, else sendmail.cf.
 */
const char *smdane_cf_path(int argc, char **argv);

/* 1 if the process is sendmail (argv[0] sendmail*) with real uid 0. */
int smdane_is_root_sendmail(int argc, char **argv);

/* 1 if the file has a D{smdane_version} line (FEATURE(`dane')). */
int smdane_cf_has_feature(const char *path);

#endif /* SMDANE_ACTIVATE_H */
