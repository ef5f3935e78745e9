/*
 * NAME
 *	access.c - read DANE overrides from a sendmail access map
 *
 * SYNOPSIS
 *	#include "dane.h"
 *
 *	enum dane_result dane_access_new(const char *path,
 *	    struct dane_access **out);
 *	int dane_access_domain(struct dane_access *a, const char *tag,
 *	    const char *name, char *val, size_t vsize, char *key,
 *	    size_t ksize);
 *	int dane_access_addr(...);
 *	void dane_access_free(struct dane_access *a);
 *
 * DESCRIPTION
 *	sendmail's makemap writes the access map as a Berkeley DB hash (or
 *	btree) with lower-cased keys without a trailing NUL.  Debian's
 *	Makefile builds a new file and renames it over the old one; upstream
 *	makemap rewrites it in place under an exclusive flock().  We follow
 *	sendmail's reader protocol: a shared flock() around each lookup, and
 *	a reopen when the file was replaced (inode changed), rewritten
 *	(mtime changed) or the process forked.  The file is opened only at
 *	the first lookup: sendmail closes descriptors 3-255 when it starts.
 *
 * DIAGNOSTICS
 *	Lookups return -1 when the map exists but cannot be read; a missing
 *	map means no overrides (0).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <db.h>

#include "dane.h"
#include "danei.h"

struct dane_access {
	char path[1024];
	DB *db;
	int fd;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

enum dane_result
dane_access_new(const char *path, struct dane_access **out)
{
	struct dane_access *a;

	*out = NULL;
	if (path == NULL || path[0] != '/' ||
	    strlen(path) >= sizeof(a->path))
		return DANE_ERR_INVAL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return DANE_ERR_NOMEM;
	danei_strlcpy(a->path, path, sizeof(a->path));
	a->fd = -1;
	*out = a;
	return DANE_OK;
}

static void
access_close(struct dane_access *a)
{
	/* after fork the handle belongs to the parent: drop it unclosed */
	if (a->db != NULL && a->pid == getpid())
		(void)a->db->close(a->db, 0);
	a->db = NULL;
	a->fd = -1;
}

void
dane_access_free(struct dane_access *a)
{
	if (a == NULL)
		return;
	access_close(a);
	free(a);
}

/* 1 open, 0 no map file, -1 unreadable. */
static int
access_open(struct dane_access *a)
{
	struct stat st;

	if (stat(a->path, &st) != 0) {
		access_close(a);
		return errno == ENOENT ? 0 : -1;
	}
	if (a->db != NULL && a->pid == getpid() && st.st_dev == a->dev &&
	    st.st_ino == a->ino && st.st_mtim.tv_sec == a->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == a->mtime.tv_nsec)
		return 1;
	access_close(a);
	if (db_create(&a->db, NULL, 0) != 0) {
		a->db = NULL;
		return -1;
	}
	if (a->db->open(a->db, NULL, a->path, NULL, DB_UNKNOWN, DB_RDONLY,
	    0) != 0 || a->db->fd(a->db, &a->fd) != 0) {
		(void)a->db->close(a->db, 0);
		a->db = NULL;
		return -1;
	}
	(void)fcntl(a->fd, F_SETFD, FD_CLOEXEC);
	a->pid = getpid();
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->mtime = st.st_mtim;
	return 1;
}

/* One exact lookup of "tag:key" (lower case).  1, 0 or -1. */
static int
access_get(struct dane_access *a, const char *tag, const char *name,
    char *val, size_t vsize, char *key, size_t ksize)
{
	char k[DANE_NAME_MAX + 32];
	DBT dk, dv;
	size_t i, n;
	int r;

	n = (size_t)snprintf(k, sizeof(k), "%s:%s", tag, name);
	if (n >= sizeof(k))
		return 0;
	for (i = 0; i < n; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	memset(&dk, 0, sizeof(dk));
	memset(&dv, 0, sizeof(dv));
	dk.data = k;
	dk.size = (u_int32_t)n;
	if (flock(a->fd, LOCK_SH) != 0)
		return -1;
	r = a->db->get(a->db, NULL, &dk, &dv, 0);
	if (r == DB_NOTFOUND) {
		/* maps built with -N carry the NUL */
		dk.size = (u_int32_t)n + 1;
		r = a->db->get(a->db, NULL, &dk, &dv, 0);
	}
	if (r == 0) {
		n = dv.size;
		if (n > 0 && ((char *)dv.data)[n - 1] == '\0')
			n--;
		if (n >= vsize)
			n = vsize - 1;
		/* an empty value may come with no data pointer at all */
		if (n > 0)
			memcpy(val, dv.data, n);
		val[n] = '\0';
	}
	(void)flock(a->fd, LOCK_UN);
	if (r == DB_NOTFOUND)
		return 0;
	if (r != 0)
		return -1;
	danei_strlcpy(key, k, ksize);
	return 1;
}

int
dane_access_domain(struct dane_access *a, const char *tag, const char *name,
    char *val, size_t vsize, char *key, size_t ksize)
{
	char n[DANE_NAME_MAX], dot[DANE_NAME_MAX + 1];
	const char *p;
	size_t len;
	int r;

	if (a == NULL || name == NULL || vsize == 0)
		return 0;
	if ((r = access_open(a)) <= 0)
		return r;
	if (name[0] == '[')
		name++;
	danei_strlcpy(n, name, sizeof(n));
	len = strlen(n);
	if (len > 0 && n[len - 1] == ']')
		n[--len] = '\0';
	if (len > 0 && n[len - 1] == '.')
		n[--len] = '\0';
	if (len == 0)
		return 0;
	/* host, then .parent and parent for each parent (LookUpDomain) */
	if ((r = access_get(a, tag, n, val, vsize, key, ksize)) != 0)
		return r;
	for (p = strchr(n, '.'); p != NULL; p = strchr(p + 1, '.')) {
		snprintf(dot, sizeof(dot), "%s", p);
		if ((r = access_get(a, tag, dot, val, vsize, key, ksize)) != 0)
			return r;
		if ((r = access_get(a, tag, p + 1, val, vsize, key,
		    ksize)) != 0)
			return r;
	}
	return 0;
}

int
dane_access_addr(struct dane_access *a, const char *tag, const char *addr,
    char *val, size_t vsize, char *key, size_t ksize)
{
	char n[DANE_NAME_MAX];
	char sep;
	char *p;
	int r;

	if (a == NULL || addr == NULL || addr[0] == '\0' || vsize == 0)
		return 0;
	if ((r = access_open(a)) <= 0)
		return r;
	danei_strlcpy(n, addr, sizeof(n));
	sep = strncasecmp(n, "ipv6:", 5) == 0 ? ':' : '.';
	/* 1.2.3.4, 1.2.3, 1.2, 1 (LookUpAddress); IPv6 by ':' parts */
	for (;;) {
		if ((r = access_get(a, tag, n, val, vsize, key, ksize)) != 0)
			return r;
		p = strrchr(n, sep);
		if (p == NULL || (sep == ':' && p <= n + 4))
			return 0;
		*p = '\0';
	}
}
