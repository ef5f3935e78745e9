/*
 * NAME
 *	view.c - sendmail's view of a destination (see view.h)
 *
 * DESCRIPTION
 *	Everything here reads what sendmail reads: sendmail.cf (through
 *	the module's own parser for the D{smdane_*} settings), the access
 *	map (through libdane, as the module reads it) and the answer of
 *	`sendmail -bv`, which resolves an address with the live rule sets
 *	and mailertable exactly as a delivery would.  The decisions copy
 *	glue.c: the same order of checks, the same texts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "view.h"

void
view_init(struct view *v)
{
	memset(v, 0, sizeof(*v));
	smdane_config_init(&v->cfg);
	v->mailer_mode = SMDANE_MODE_NONE;
	v->port = 25;
}

void
view_free(struct view *v)
{
	free(v->mailers);
	dane_access_free(v->access);
	v->mailers = NULL;
	v->access = NULL;
}

static void
trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

int
view_parse_mailer(const char *line, struct view_mailer *m)
{
	char buf[2048], *p, *field, *save = NULL;
	const char *comma;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (line[0] != 'M' || (comma = strchr(line, ',')) == NULL)
		return -1;
	n = (size_t)(comma - line - 1);
	if (n == 0 || n >= sizeof(m->name))
		return -1;
	memcpy(m->name, line + 1, n);
	m->name[n] = '\0';
	snprintf(buf, sizeof(buf), "%s", comma + 1);
	for (p = buf; (field = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		trim(field);
		if (strncmp(field, "P=", 2) == 0)
			snprintf(m->path, sizeof(m->path), "%s", field + 2);
		else if (strncmp(field, "A=", 2) == 0)
			snprintf(m->args, sizeof(m->args), "%s", field + 2);
	}
	/* A=TCP $h <service>: the third word */
	{
		char a[256], *w, *s2 = NULL;
		int i = 0;

		snprintf(a, sizeof(a), "%s", m->args);
		for (w = strtok_r(a, " \t", &s2); w != NULL;
		    w = strtok_r(NULL, " \t", &s2))
			if (++i == 3)
				snprintf(m->service, sizeof(m->service), "%s", w);
	}
	m->mode = SMDANE_MODE_UNKNOWN;
	m->port = 25;
	return 0;
}

static int
option_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncmp(line, "O ", 2) != 0 || strncasecmp(line + 2, name, n) != 0)
		return 0;
	line += 2 + n;
	if (*line == '=')
		*value = line + 1;
	else if (*line == '\0' || isspace((unsigned char)*line))
		*value = "";
	else
		return 0;
	return 1;
}

static void
logical_line(struct view *v, char *line)
{
	const char *val;
	struct view_mailer m, *nm;

	trim(line);
	if (line[0] == 'M' && view_parse_mailer(line, &m) == 0) {
		nm = realloc(v->mailers, (v->mailer_count + 1) * sizeof(*nm));
		if (nm == NULL)
			return;
		v->mailers = nm;
		v->mailers[v->mailer_count++] = m;
	} else if (option_is(line, "FallbackMXhost", &val))
		snprintf(v->fallback_mx, sizeof(v->fallback_mx), "%s", val);
	else if (option_is(line, "FallBackSmartHost", &val))
		snprintf(v->fallback_smarthost, sizeof(v->fallback_smarthost),
		    "%s", val);
	else if (option_is(line, "TLSFallbacktoClear", &val))
		v->tls_fallback_clear = val[0] == '\0' ||
		    strchr("tTyY1", val[0]) != NULL;
}

int
view_read_cf(struct view *v, const char *path)
{
	char line[4096], logical[8192] = "";
	FILE *fp;

	snprintf(v->cf, sizeof(v->cf), "%s", path);
	if (smdane_config_read(&v->cfg, path) != 0 ||
	    (fp = fopen(path, "re")) == NULL) {
		snprintf(v->cf_error, sizeof(v->cf_error), "%s: %s", path,
		    strerror(errno));
		v->cf_read = 0;
		return -1;
	}
	v->cf_read = 1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((line[0] == ' ' || line[0] == '\t') && logical[0] != '\0') {
			size_t n = strlen(logical);

			snprintf(logical + n, sizeof(logical) - n, " %s", line);
			continue;
		}
		if (logical[0] != '\0')
			logical_line(v, logical);
		snprintf(logical, sizeof(logical), "%s", line);
	}
	if (logical[0] != '\0')
		logical_line(v, logical);
	fclose(fp);
	if (v->cfg.access_db[0] != '\0') {
		snprintf(v->access_path, sizeof(v->access_path), "%s",
		    v->cfg.access_db);
		snprintf(v->access_from, sizeof(v->access_from),
		    "the Kaccess line");
	}
	return 0;
}

int
view_parse_bv(const char *text, char *mailer, size_t msize, char *host,
    size_t hsize, char *err, size_t esize)
{
	const char *p = text, *eol, *d, *q;
	char line[1024];

	mailer[0] = host[0] = err[0] = '\0';
	for (; *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
		size_t n;

		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		n = (size_t)(eol - p);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		if ((d = strstr(line, "... deliverable: mailer ")) == NULL) {
			/* "address... User unknown" and the like */
			if ((q = strstr(line, "... ")) != NULL && err[0] == '\0')
				snprintf(err, esize, "%s", q + 4);
			continue;
		}
		d += strlen("... deliverable: mailer ");
		n = strcspn(d, ", ");
		if (n == 0 || n >= msize)
			return -1;
		memcpy(mailer, d, n);
		mailer[n] = '\0';
		if ((q = strstr(d, ", host ")) != NULL) {
			q += strlen(", host ");
			n = strcspn(q, ", ");
			if (n >= hsize)
				return -1;
			memcpy(host, q, n);
			host[n] = '\0';
		}
		err[0] = '\0';
		return 0;
	}
	if (err[0] == '\0') {
		/* sendmail's last line says why, e.g. "Program mode
		 * requires special privileges" */
		const char *last = NULL;

		for (p = text; *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
			eol = strchr(p, '\n');
			if (eol == NULL)
				eol = p + strlen(p);
			if (eol > p && strncmp(p, "Warning:", 8) != 0)
				last = p;
		}
		if (last != NULL)
			snprintf(err, esize, "%.*s", (int)strcspn(last, "\n"),
			    last);
		else
			snprintf(err, esize, "no \"deliverable\" line");
	}
	return -1;
}

/* sendmail -C cf -bv address, in a clean environment, bounded in time. */
static int
run_bv(const char *sendmail, const char *cf, const char *address,
    unsigned timeout_s, char *out, size_t size, char *err, size_t esize)
{
	struct timespec t0, t;
	size_t len = 0;
	int pfd[2], status = 0, killed = 0;
	pid_t pid;

	out[0] = '\0';
	if (access(sendmail, X_OK) != 0) {
		snprintf(err, esize, "%s: %s", sendmail, strerror(errno));
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, esize, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, esize, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		char *const argv[] = { "sendmail", "-C", (char *)cf, "-bv",
			(char *)address, NULL };
		char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			NULL };
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			(void)dup2(nul, 0);
		(void)dup2(pfd[1], 1);
		(void)dup2(pfd[1], 2);
		execve(sendmail, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long ms;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (long)timeout_s * 1000 - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (ms <= 0) {
			(void)kill(pid, SIGKILL);	/* our own child */
			killed = 1;
			break;
		}
		if (poll(&p, 1, (int)ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(pfd[0], out + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
		if (len + 1 >= size)
			break;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (killed) {
		snprintf(err, esize, "%s -bv took more than %u s", sendmail,
		    timeout_s);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(err, esize, "%s could not be run", sendmail);
		return -1;
	}
	return 0;
}

static struct view_mailer *
find_mailer(struct view *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->mailer_count; i++)
		if (strcmp(v->mailers[i].name, name) == 0)
			return &v->mailers[i];
	return NULL;
}

static void
mailer_mode(const struct view *v, struct view_mailer *m)
{
	char *end;
	unsigned long n;

	m->mode = SMDANE_MODE_UNKNOWN;
	m->port = 25;
	if (m->service[0] != '\0' && isdigit((unsigned char)m->service[0])) {
		n = strtoul(m->service, &end, 10);
		if (*end == '\0' && n > 0 && n < 65536)
			m->port = (uint16_t)n;
	}
	if (!v->cfg.present) {
		/* no FEATURE(`dane'): the shim never loads the module */
		m->mode = SMDANE_MODE_NONE;
		return;
	}
	if (m->service[0] != '\0' &&
	    smdane_service_parse(m->service, &m->mode, &m->port) != 0)
		m->mode = SMDANE_MODE_UNKNOWN;
}

int
view_route(struct view *v, const char *sendmail, const char *dest,
    const char *mailer, unsigned timeout_s)
{
	static struct view_mailer assumed;
	char out[16384], err[PROBE_TEXT], bvmailer[32], bvhost[DANE_NAME_MAX];
	const char *at = strrchr(dest, '@');
	const char *domain = at != NULL ? at + 1 : dest;
	struct view_mailer *m;

	if (at != NULL)
		snprintf(v->address, sizeof(v->address), "%s", dest);
	else
		snprintf(v->address, sizeof(v->address), "postmaster@%s", dest);
	snprintf(v->host, sizeof(v->host), "%s", domain);
	if (mailer != NULL) {
		snprintf(v->mailer, sizeof(v->mailer), "%s", mailer);
		snprintf(v->route_from, sizeof(v->route_from), "--mailer %s "
		    "(sendmail -bv not asked)", mailer);
	} else if (!v->cf_read) {
		snprintf(v->mailer, sizeof(v->mailer), "esmtp");
		snprintf(v->route_from, sizeof(v->route_from), "no sendmail.cf "
		    "read: mailer esmtp assumed");
	} else if (run_bv(sendmail, v->cf, v->address, timeout_s, out,
	    sizeof(out), err, sizeof(err)) != 0 ||
	    view_parse_bv(out, bvmailer, sizeof(bvmailer), bvhost,
	    sizeof(bvhost), err, sizeof(err)) != 0) {
		v->bv_failed = 1;
		snprintf(v->bv_line, sizeof(v->bv_line), "%s", err);
		snprintf(v->mailer, sizeof(v->mailer), "esmtp");
		snprintf(v->route_from, sizeof(v->route_from), "sendmail -bv "
		    "%.100s failed (%.200s): the cf's esmtp mailer assumed",
		    v->address, err);
	} else {
		snprintf(v->mailer, sizeof(v->mailer), "%s", bvmailer);
		if (bvhost[0] != '\0')
			snprintf(v->host, sizeof(v->host), "%s", bvhost);
		snprintf(v->bv_line, sizeof(v->bv_line), "mailer %s, host %s",
		    bvmailer, bvhost[0] != '\0' ? bvhost : "-");
		snprintf(v->route_from, sizeof(v->route_from), "sendmail -bv "
		    "%s", v->address);
		if (bvhost[0] == '\0') {
			snprintf(v->route_error, sizeof(v->route_error), "%s is "
			    "delivered by mailer %s, which has no host: not "
			    "an SMTP destination", v->address, bvmailer);
			return -1;
		}
	}
	if ((m = find_mailer(v, v->mailer)) == NULL) {
		if (v->cf_read) {
			snprintf(v->route_error, sizeof(v->route_error), "%.200s "
			    "defines no mailer %s", v->cf, v->mailer);
			return -1;
		}
		memset(&assumed, 0, sizeof(assumed));
		snprintf(assumed.name, sizeof(assumed.name), "%s", v->mailer);
		snprintf(assumed.path, sizeof(assumed.path), "[IPC]");
		snprintf(assumed.args, sizeof(assumed.args), "TCP $h dane");
		snprintf(assumed.service, sizeof(assumed.service), "dane");
		assumed.mode = SMDANE_MODE_DANE;
		assumed.port = 25;
		v->m = &assumed;
		v->mailer_mode = assumed.mode;
		v->port = assumed.port;
		return 0;
	}
	if (strcmp(m->path, "[IPC]") != 0 ||
	    strncmp(m->args, "TCP", 3) != 0) {
		snprintf(v->route_error, sizeof(v->route_error), "mailer %s "
		    "(P=%s, A=%s) is no SMTP mailer over TCP", m->name,
		    m->path, m->args);
		return -1;
	}
	mailer_mode(v, m);
	v->m = m;
	v->mailer_mode = m->mode;
	v->port = m->port;
	return 0;
}

static void
key_add(struct probe_keys *k, const char *tag, const char *name)
{
	if (k->n >= PROBE_KEYS_MAX)
		return;
	snprintf(k->key[k->n++], sizeof(k->key[0]), "%s:%s", tag, name);
}

size_t
view_keys_domain(const char *tag, const char *name, struct probe_keys *k)
{
	char n[DANE_NAME_MAX];
	const char *p;
	size_t len, before = k->n, i;

	if (name == NULL)
		return 0;
	if (name[0] == '[')
		name++;
	snprintf(n, sizeof(n), "%s", name);
	len = strlen(n);
	if (len > 0 && n[len - 1] == ']')
		n[--len] = '\0';
	if (len > 0 && n[len - 1] == '.')
		n[--len] = '\0';
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		n[i] = (char)tolower((unsigned char)n[i]);
	key_add(k, tag, n);
	for (p = strchr(n, '.'); p != NULL; p = strchr(p + 1, '.')) {
		key_add(k, tag, p);
		key_add(k, tag, p + 1);
	}
	return k->n - before;
}

size_t
view_keys_addr(const char *tag, const char *addr, struct probe_keys *k)
{
	char n[DANE_NAME_MAX];
	char sep, *p;
	size_t before = k->n;

	if (addr == NULL || addr[0] == '\0')
		return 0;
	snprintf(n, sizeof(n), "%s", addr);
	sep = strncasecmp(n, "ipv6:", 5) == 0 ? ':' : '.';
	for (;;) {
		key_add(k, tag, n);
		p = strrchr(n, sep);
		if (p == NULL || (sep == ':' && p <= n + 4))
			break;
		*p = '\0';
	}
	return k->n - before;
}

void
view_server_addr(const struct sockaddr *sa, char *out, size_t size)
{
	char buf[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
	    buf, sizeof(buf)) != NULL)
		snprintf(out, size, "%s", buf);
	else if (sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
	    buf, sizeof(buf)) != NULL)
		snprintf(out, size, "IPv6:%s", buf);
}

int
view_gate(const struct view *v, char *answer, char *would, size_t size)
{
	char clean[160];

	would[0] = '\0';
	if (v->cfg.present && v->cfg.fatal) {
		snprintf(answer, size, "FAIL \"DANE configuration error: %s\"",
		    v->cfg.fatal_text);
		return 1;
	}
	switch (v->mailer_mode) {
	case SMDANE_MODE_UNKNOWN:
		if (v->cfg.version >= 2)
			snprintf(answer, size, "OK");
		else
			snprintf(answer, size, "FAIL \"DANE configuration "
			    "error: the delivery named no DANE mode, rebuild "
			    "sendmail.cf with the current FEATURE dane\"");
		return 1;
	case SMDANE_MODE_NONE:
		snprintf(answer, size, "OK");
		return 1;
	case SMDANE_MODE_UNSERVED:
		snprintf(answer, size, "FAIL \"DANE configuration error: "
		    "mailer arguments FEATURE dane cannot serve, see the m4 "
		    "errors of sendmail.cf\"");
		return 1;
	default:
		break;
	}
	if (v->cfg.error) {
		smdane_sanitize(clean, sizeof(clean), v->cfg.error_text);
		snprintf(answer, size, "FAIL \"DANE configuration error: %s\"",
		    clean);
		if (v->mailer_mode == SMDANE_MODE_AUDIT) {
			snprintf(would, size, "%s", answer);
			snprintf(answer, size, "OK");
		}
		return 1;
	}
	return 0;
}

/* One walk of the map: its keys are appended, the match marked. */
static int
walk(struct view *v, const char *tag, const char *name, int is_addr,
    struct probe_keys *k)
{
	char val[128], key[DANE_NAME_MAX + 32];
	size_t first = k->n, i;
	int r;

	if (is_addr)
		view_keys_addr(tag, name, k);
	else
		view_keys_domain(tag, name, k);
	r = is_addr ? dane_access_addr(v->access, tag, name, val, sizeof(val),
	    key, sizeof(key)) : dane_access_domain(v->access, tag, name, val,
	    sizeof(val), key, sizeof(key));
	if (r < 0)
		k->error = 1;
	if (r <= 0)
		return r;
	snprintf(k->value, sizeof(k->value), "%s", val);
	for (i = first; i < k->n; i++)
		if (strcasecmp(k->key[i], key) == 0) {
			k->matched = (int)i;
			break;
		}
	if (k->matched < 0)		/* cannot be: say what matched */
		k->matched = (int)first;
	return 1;
}

static int
map_ready(struct view *v)
{
	if (v->access_path[0] == '\0')
		return 0;
	if (v->access == NULL &&
	    dane_access_new(v->access_path, &v->access) != DANE_OK)
		return -1;
	return 1;
}

void
view_mode_for(struct view *v, const char *nexthop, const char *server,
    struct probe_addr *a)
{
	enum smdane_mode entry = SMDANE_MODE_NONE, mailer = v->mailer_mode;
	struct probe_keys *k = &a->access;
	char val[128], clean[64], ckey[96];
	int r, ready;

	memset(&a->access, 0, sizeof(a->access));
	memset(&a->trytls, 0, sizeof(a->trytls));
	a->access.matched = a->trytls.matched = -1;
	a->mode_error[0] = '\0';
	a->mode = smdane_mode_resolve(mailer, 0, entry);
	ready = map_ready(v);
	/* sendmail's own rules: Try_TLS: (try_tls), TLS_Clt_Features: */
	a->fallback_clear = v->tls_fallback_clear;
	if (ready > 0) {
		struct probe_keys f;

		if ((r = walk(v, "Try_TLS", server, 0, &a->trytls)) == 0)
			r = walk(v, "Try_TLS", a->server_addr, 1, &a->trytls);
		a->trytls_no = r > 0 && strncasecmp(a->trytls.value, "NO", 2) ==
		    0;
		memset(&f, 0, sizeof(f));
		f.matched = -1;
		if ((r = walk(v, "TLS_Clt_Features", server, 0, &f)) == 0)
			r = walk(v, "TLS_Clt_Features", a->server_addr, 1, &f);
		if (r > 0) {
			/* "Options=... Flags=C..." (tls_session_features) */
			const char *fl = strcasestr(f.value, "Flags=");
			size_t n = fl != NULL ? strcspn(fl + 6, " \t;") : 0;

			if (fl != NULL && memchr(fl + 6, 'C', n) != NULL)
				a->fallback_clear = 1;
		}
	}
	/* glue.c mode_for(): only the mailers of the feature */
	if (mailer != SMDANE_MODE_DANE && mailer != SMDANE_MODE_ONLY &&
	    mailer != SMDANE_MODE_ENCRYPT && mailer != SMDANE_MODE_AUDIT &&
	    mailer != SMDANE_MODE_OPTIN)
		return;
	if (ready == 0)
		return;
	if (ready < 0) {
		snprintf(a->mode_error, sizeof(a->mode_error), "DANE: access "
		    "map path unusable");
		return;
	}
	r = walk(v, "DANE", nexthop, 0, k);
	if (r == 0 && server[0] != '\0')
		r = walk(v, "DANE", server, 0, k);
	if (r == 0 && a->server_addr[0] != '\0')
		r = walk(v, "DANE", a->server_addr, 1, k);
	if (r < 0) {
		snprintf(a->mode_error, sizeof(a->mode_error), "DANE: access "
		    "map %.150s unreadable", v->access_path);
		return;
	}
	if (r == 0)
		return;
	snprintf(val, sizeof(val), "%s", k->value);
	val[strcspn(val, " \t")] = '\0';
	if (smdane_mode_parse(val, &entry) != 0) {
		char lower[DANE_NAME_MAX + 16];
		size_t i;

		/* the key as the module names it: as looked up, lower case */
		for (i = 0; k->key[k->matched][i] != '\0' &&
		    i + 1 < sizeof(lower); i++)
			lower[i] = (char)tolower(
			    (unsigned char)k->key[k->matched][i]);
		lower[i] = '\0';
		smdane_sanitize(clean, sizeof(clean), val);
		smdane_sanitize(ckey, sizeof(ckey), lower);
		snprintf(a->mode_error, sizeof(a->mode_error), "DANE: bad "
		    "access map entry %s %s", ckey, clean);
		return;
	}
	a->mode = smdane_mode_resolve(mailer, 1, entry);
}

enum probe_mx
view_mx(const char *domain, struct view_mx *mx, size_t max, size_t *n,
    char *err, size_t esize)
{
	struct __res_state rs;
	unsigned char ans[65535];
	char q[DANE_NAME_MAX + 2];
	ns_msg msg;
	ns_rr rr;
	size_t i, j, nul = 0;
	int len, k, count;

	*n = 0;
	err[0] = '\0';
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0) {
		snprintf(err, esize, "resolver: cannot read resolv.conf");
		return PROBE_MX_TEMP;
	}
	/* a fully qualified name: no search list, as sendmail's $h. */
	snprintf(q, sizeof(q), "%s.", domain);
	len = res_nquery(&rs, q, ns_c_in, ns_t_mx, ans, sizeof(ans));
	if (len < 0) {
		int h = rs.res_h_errno;

		res_nclose(&rs);
		if (h == HOST_NOT_FOUND)
			return PROBE_MX_NXDOMAIN;
		if (h == NO_DATA)
			return PROBE_MX_NODATA;
		snprintf(err, esize, "MX lookup of %s: %s", domain,
		    h == TRY_AGAIN ? "temporary failure (SERVFAIL or no "
		    "answer)" : hstrerror(h));
		return PROBE_MX_TEMP;
	}
	res_nclose(&rs);
	if (ns_initparse(ans, len, &msg) != 0) {
		snprintf(err, esize, "MX lookup of %s: malformed reply", domain);
		return PROBE_MX_TEMP;
	}
	count = ns_msg_count(msg, ns_s_an);
	for (k = 0; k < count; k++) {
		char name[NS_MAXDNAME];
		const unsigned char *rd;

		if (ns_parserr(&msg, ns_s_an, k, &rr) != 0)
			break;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		rd = ns_rr_rdata(rr);
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
		    rd + 2, name, sizeof(name)) < 0)
			continue;
		if (name[0] == '\0' || strcmp(name, ".") == 0) {
			nul++;		/* RFC 7505 */
			continue;
		}
		if (*n >= max)
			continue;
		snprintf(mx[*n].name, sizeof(mx[0].name), "%.255s", name);
		len = (int)strlen(mx[*n].name);
		if (len > 0 && mx[*n].name[len - 1] == '.')
			mx[*n].name[len - 1] = '\0';
		for (j = 0; mx[*n].name[j] != '\0'; j++)
			mx[*n].name[j] = (char)tolower(
			    (unsigned char)mx[*n].name[j]);
		mx[*n].pref = (int)ns_get16(rd);
		(*n)++;
	}
	if (nul > 0 && *n == 0)
		return PROBE_MX_NULL;
	if (*n == 0)
		return PROBE_MX_NODATA;
	/* by preference; equal ones keep the order of the reply */
	for (i = 1; i < *n; i++) {
		struct view_mx t = mx[i];

		for (j = i; j > 0 && mx[j - 1].pref > t.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = t;
	}
	return PROBE_MX_FOUND;
}
