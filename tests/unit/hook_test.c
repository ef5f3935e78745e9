/*
 * Unit tests of hook.c: the interposers, reached as the shim reaches
 * them (smdane_module_init() with the "real" functions, here fakes),
 * with the real parts behind them and DNS work through the gather seam
 * (modtest.h).  The module wants root: getuid() below answers for the
 * executable, so the tests need none.
 */
#include <sys/types.h>

#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "modtest.h"

/* ---- root, as far as activate.c asks ------------------------------------ */

static uid_t fake_uid;

uid_t
getuid(void)
{
	return fake_uid;
}

/* ---- the "real" functions ------------------------------------------------ */

static struct {
	int getservbyname, res_search, res_query, res_querydomain,
	    ssl_connect;
	char name[512];			/* of the last call */
} called;

static struct servent real_ent;
static struct mt_pkt real_reply;	/* what the real resolver answers */

static struct servent *
real_getservbyname(const char *name, const char *proto)
{
	static char *no_aliases[] = { NULL };

	called.getservbyname++;
	snprintf(called.name, sizeof(called.name), "%s/%s",
	    name != NULL ? name : "(null)", proto != NULL ? proto : "(null)");
	real_ent.s_name = (char *)"real";
	real_ent.s_aliases = no_aliases;
	real_ent.s_port = htons(4242);
	real_ent.s_proto = (char *)"tcp";
	return &real_ent;
}

static int
real_answer(const char *name, unsigned char *answer, int anslen)
{
	snprintf(called.name, sizeof(called.name), "%s", name);
	if (real_reply.len == 0) {
		h_errno = HOST_NOT_FOUND;
		return -1;
	}
	memcpy(answer, real_reply.buf, (size_t)(real_reply.len < anslen ?
	    real_reply.len : anslen));
	return real_reply.len;
}

static int
real_res_search(const char *name, int class, int type, unsigned char *answer,
    int anslen)
{
	(void)class;
	(void)type;
	called.res_search++;
	return real_answer(name, answer, anslen);
}

static int
real_res_query(const char *name, int class, int type, unsigned char *answer,
    int anslen)
{
	(void)class;
	(void)type;
	called.res_query++;
	return real_answer(name, answer, anslen);
}

static int
real_res_querydomain(const char *name, const char *domain, int class,
    int type, unsigned char *answer, int anslen)
{
	char full[512];

	(void)class;
	(void)type;
	called.res_querydomain++;
	snprintf(full, sizeof(full), "%s.%s", name, domain);
	return real_answer(full, answer, anslen);
}

static int
real_ssl_connect(void *ssl)
{
	(void)ssl;
	called.ssl_connect++;
	return 1;
}

static const struct smdane_fns real = {
	.getservbyname = real_getservbyname,
	.res_search = real_res_search,
	.res_query = real_res_query,
	.res_querydomain = real_res_querydomain,
	.SSL_connect = real_ssl_connect,
};

static struct smdane_fns hooks;

/* ---- set-up ---------------------------------------------------------- */

static char cf[64];

static void
setup(void)
{
	fake_uid = 0;
	memset(&called, 0, sizeof(called));
	memset(&hooks, 0, sizeof(hooks));
	memset(&real_reply, 0, sizeof(real_reply));
	mt_ndests = mt_ncalls = mt_nlog = 0;
	seen_set_clock(mt_clock);
	dlv_set_gather(mt_gather);
	cf[0] = '\0';
}

static void
teardown(void)
{
	if (cf[0] != '\0')
		unlink(cf);
}

TestSuite(hook, .init = setup, .fini = teardown);

static void
write_cf(const char *text)
{
	FILE *fp;
	int fd;

	snprintf(cf, sizeof(cf), "/tmp/smdane-hook-test-XXXXXX");
	fd = mkstemp(cf);
	cr_assert_geq(fd, 0, "mkstemp");
	fp = fdopen(fd, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

#define CF_V2 "# sendmail.cf\nDSmailhub.example\nD{smdane_version}2\n" \
	"D{smdane_mailers}esmtp smtp\nD{smdane_usage01}default\n" \
	"D{smdane_digests}sha512 sha256\nD{smdane_loglevel}1\n"
#define CF_V1 "D{smdane_version}1\nD{smdane_loglevel}1\n"

/* smdane_module_init() as the shim's constructor calls it. */
static int
init_as(const char *argv0, const char *cf_text)
{
	char *argv[] = { (char *)argv0, (char *)"-bd", (char *)"-C", cf,
		NULL };

	write_cf(cf_text);
	return smdane_module_init(4, argv, &real, &hooks);
}

static void
init(const char *cf_text)
{
	cr_assert_eq(init_as("/usr/sbin/sendmail-mta", cf_text), 0,
	    "the module did not start");
	cr_assert(hooks.getservbyname != NULL && hooks.res_search != NULL &&
	    hooks.res_query != NULL && hooks.res_querydomain != NULL &&
	    hooks.SSL_connect != NULL, "not every hook was set");
}

static int
no_hooks(void)
{
	return hooks.getservbyname == NULL && hooks.res_search == NULL &&
	    hooks.res_query == NULL && hooks.res_querydomain == NULL &&
	    hooks.SSL_connect == NULL;
}

/* ---- smdane_module_init() ---------------------------------------------- */

Test(hook, init_wants_the_feature)
{
	cr_assert_eq(init_as("sendmail", "DSmailhub.example\n"
	    "D{smdane_loglevel}1\nD{smdane_mailers}esmtp\n"), -1);
	cr_assert(no_hooks());
}

Test(hook, init_wants_a_readable_cf)
{
	char *argv[] = { (char *)"sendmail", (char *)"-C",
		(char *)"/nonexistent/smdane/sendmail.cf", NULL };

	cr_assert_eq(smdane_module_init(3, argv, &real, &hooks), -1);
	cr_assert(no_hooks());
}

Test(hook, init_wants_sendmail)
{
	static const char *const others[] = { "postfix", "/usr/sbin/exim4",
		"/usr/lib/sm.bin/mailq", "smtpd", "" };
	size_t i;

	for (i = 0; i < MT_N(others); i++) {
		cr_assert_eq(init_as(others[i], CF_V2), -1, "%s: got 0, "
		    "want -1", others[i]);
		cr_assert(no_hooks(), "%s", others[i]);
		unlink(cf);
	}
}

Test(hook, init_wants_root)
{
	fake_uid = 1000;
	cr_assert_eq(init_as("sendmail", CF_V2), -1);
	cr_assert(no_hooks());
}

Test(hook, init_once)
{
	struct smdane_fns again;
	char *argv[] = { (char *)"sendmail", (char *)"-C", cf, NULL };

	cr_assert_eq(smdane_module_init(1, argv, NULL, &hooks), -1);
	cr_assert_eq(smdane_module_init(1, argv, &real, NULL), -1);
	init(CF_V2);
	memset(&again, 0, sizeof(again));
	cr_assert_eq(smdane_module_init(3, argv, &real, &again), -1);
	cr_assert_null(again.getservbyname);
}

/* ---- getservbyname() -------------------------------------------------- */

Test(hook, dane_service_begins_a_delivery)
{
	struct servent *se;

	init(CF_V2);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_UNKNOWN);
	se = hooks.getservbyname("dane", "tcp");
	cr_assert_not_null(se);
	cr_assert_eq(ntohs((uint16_t)se->s_port), 25, "got port %u, want 25",
	    ntohs((uint16_t)se->s_port));
	cr_assert_str_eq(se->s_name, "dane");
	cr_assert_str_eq(se->s_proto, "tcp");
	cr_assert_not_null(se->s_aliases);
	cr_assert_null(se->s_aliases[0]);
	cr_assert_eq(called.getservbyname, 0);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_DANE);
	cr_assert_eq(dlv_port(), 25);
}

Test(hook, dane_only_port_service)
{
	struct servent *se;

	init(CF_V2);
	se = hooks.getservbyname("dane-only-587", "tcp");
	cr_assert_not_null(se);
	cr_assert_eq(ntohs((uint16_t)se->s_port), 587, "got port %u, want "
	    "587", ntohs((uint16_t)se->s_port));
	cr_assert_eq(called.getservbyname, 0);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_ONLY);
	cr_assert_eq(dlv_port(), 587);
	se = hooks.getservbyname("smdane-none-2525", "tcp");
	cr_assert_eq(ntohs((uint16_t)se->s_port), 2525);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_NONE);
}

Test(hook, stock_smtp_passes_with_current_cf)
{
	struct servent *se;

	init(CF_V2);
	hooks.getservbyname("dane", "tcp");
	se = hooks.getservbyname("smtp", "tcp");
	cr_assert_eq(se, &real_ent, "smtp was answered by the module");
	cr_assert_eq(called.getservbyname, 1);
	cr_assert_str_eq(called.name, "smtp/tcp");
	se = hooks.getservbyname("smtp-2525", "tcp");
	cr_assert_eq(se, &real_ent);
	cr_assert_eq(called.getservbyname, 2);
	/* and they changed nothing */
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_DANE);
}

Test(hook, stock_smtp_is_a_marker_in_earlier_cf)
{
	struct servent *se;

	init(CF_V1);
	hooks.getservbyname("dane", "tcp");
	se = hooks.getservbyname("smtp", "tcp");
	cr_assert_not_null(se);
	cr_assert_neq(se, &real_ent);
	cr_assert_eq(ntohs((uint16_t)se->s_port), 25);
	cr_assert_eq(called.getservbyname, 0);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_NONE);
}

Test(hook, other_services_pass)
{
	static const struct {
		const char *name, *proto, *want;
	} t[] = {
		{ "submission", "tcp", "submission/tcp" },
		{ "dane", "udp", "dane/udp" },
		{ "danger", "tcp", "danger/tcp" },
		{ "dane-0", "tcp", "dane-0/tcp" },
		{ "dane", NULL, "dane/(null)" },
		{ NULL, "tcp", "(null)/tcp" },
	};
	size_t i;

	init(CF_V2);
	for (i = 0; i < MT_N(t); i++) {
		cr_assert_eq(hooks.getservbyname(t[i].name, t[i].proto),
		    &real_ent, "%s: not passed through", t[i].want);
		cr_assert_eq(called.getservbyname, (int)i + 1);
		cr_assert_str_eq(called.name, t[i].want);
	}
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_UNKNOWN, "a delivery began");
}

/* ---- res_search() of the channel --------------------------------------- */

/* The TXT string of a reply the channel gave. */
static const char *
txt_of(const unsigned char *buf, int len, char *out, size_t size)
{
	ns_msg msg;
	ns_rr rr;
	const unsigned char *rd;

	cr_assert_gt(len, 0);
	cr_assert_eq(ns_initparse(buf, len, &msg), 0, "reply does not parse");
	cr_assert_eq(ns_msg_getflag(msg, ns_f_rcode), ns_r_noerror);
	cr_assert_eq(ns_msg_count(msg, ns_s_an), 1);
	cr_assert_eq(ns_parserr(&msg, ns_s_an, 0, &rr), 0);
	cr_assert_eq(ns_rr_type(rr), ns_t_txt);
	cr_assert_eq(ns_rr_class(rr), ns_c_in);
	rd = ns_rr_rdata(rr);
	cr_assert_eq((size_t)rd[0] + 1, (size_t)ns_rr_rdlen(rr));
	cr_assert_lt((size_t)rd[0], size);
	memcpy(out, rd + 1, rd[0]);
	out[rd[0]] = '\0';
	return out;
}

static const char *
channel(const char *phase, const char *verify, const char *nexthop,
    char *out, size_t size)
{
	unsigned char buf[1024];
	char name[1024];
	int n;

	mt_query(name, sizeof(name), phase, verify, "mx.example",
	    "192.0.2.25", nexthop, NULL, NULL);
	h_errno = -1;
	n = hooks.res_search(name, ns_c_in, ns_t_txt, buf, sizeof(buf));
	cr_assert_gt(n, 0, "%s: got %d, h_errno %d", name, n, h_errno);
	cr_assert_eq(h_errno, NETDB_SUCCESS);
	return txt_of(buf, n, out, size);
}

Test(hook, channel_answers_from_the_module)
{
	char text[256];

	init(CF_V2);
	mt_dest("example.com", "", MT_AUTH, 3);
	cr_assert_str_eq(channel("tls_server", "none", "example.com", text,
	    sizeof(text)), "OK", "no delivery told its mode: got %s", text);
	hooks.getservbyname("dane", "tcp");
	cr_assert_str_eq(channel("try_tls", "none", "example.com", text,
	    sizeof(text)), "OK");
	cr_assert_str_eq(channel("tls_server", "none", "example.com", text,
	    sizeof(text)), "FAIL \"DANE: no STARTTLS with mx.example, its "
	    "TLSA records require TLS\"");
	/* the next delivery, of a mailer without DANE */
	hooks.getservbyname("smdane-none", "tcp");
	cr_assert_str_eq(channel("tls_server", "none", "example.com", text,
	    sizeof(text)), "OK");
	cr_assert_eq(called.res_search, 0, "the channel reached the resolver");
	cr_assert_eq(mt_calls_for("example.com", "mx.example"), 1);
}

Test(hook, channel_name_without_final_dot)
{
	unsigned char buf[512];
	char name[1024], text[256];
	int n;

	init(CF_V2);
	mt_dest("example.com", "", MT_AUTH, 3);
	hooks.getservbyname("dane-only", "tcp");
	mt_query(name, sizeof(name), "tls_server", "none", "mx.example",
	    NULL, "example.com", NULL, NULL);
	name[strlen(name) - 1] = '\0';
	n = hooks.res_search(name, ns_c_in, ns_t_txt, buf, sizeof(buf));
	cr_assert_str_eq(txt_of(buf, n, text, sizeof(text)), "FAIL \"DANE: "
	    "no STARTTLS with mx.example, its TLSA records require TLS\"");
	cr_assert_eq(called.res_search, 0);
}

Test(hook, channel_wants_in_txt)
{
	static const struct {
		int class, type;
	} t[] = {
		{ ns_c_in, ns_t_a }, { ns_c_in, ns_t_any },
		{ ns_c_chaos, ns_t_txt }, { ns_c_any, ns_t_txt },
	};
	unsigned char buf[512];
	char name[1024];
	size_t i;

	init(CF_V2);
	hooks.getservbyname("dane", "tcp");
	mt_query(name, sizeof(name), "try_tls", "none", "mx.example", NULL,
	    "example.com", NULL, NULL);
	for (i = 0; i < MT_N(t); i++) {
		h_errno = 0;
		cr_assert_eq(hooks.res_search(name, t[i].class, t[i].type, buf,
		    sizeof(buf)), -1, "class %d type %d", t[i].class,
		    t[i].type);
		cr_assert_eq(h_errno, NO_DATA, "class %d type %d: got h_errno "
		    "%d, want NO_DATA", t[i].class, t[i].type, h_errno);
	}
	cr_assert_eq(called.res_search, 0);
	cr_assert_eq(mt_ncalls, 0);
}

Test(hook, channel_answer_too_big_for_the_buffer)
{
	unsigned char buf[64];
	char name[1024], text[256];
	int n;

	init(CF_V2);
	mt_dest("example.com", "", MT_AUTH, 3);
	hooks.getservbyname("dane", "tcp");
	mt_query(name, sizeof(name), "tls_server", "none", "mx.example", NULL,
	    "example.com", NULL, NULL);
	h_errno = 0;
	cr_assert_eq(hooks.res_search(name, ns_c_in, ns_t_txt, buf,
	    sizeof(buf)), -1);
	cr_assert_eq(h_errno, TRY_AGAIN, "got h_errno %d, want TRY_AGAIN",
	    h_errno);
	h_errno = 0;
	cr_assert_eq(hooks.res_search(name, ns_c_in, ns_t_txt, buf, 0), -1);
	cr_assert_eq(h_errno, TRY_AGAIN);
	cr_assert_eq(called.res_search, 0);
	/* "OK" fits where the refusal did not */
	hooks.getservbyname("smdane-none", "tcp");
	n = hooks.res_search(name, ns_c_in, ns_t_txt, buf, sizeof(buf));
	cr_assert_str_eq(txt_of(buf, n, text, sizeof(text)), "OK");
}

/* ---- other lookups: passed through, their replies shown to seen.c ----- */

static void
alias_reply(const char *alias, const char *target)
{
	mt_reply(&real_reply, alias, ns_t_a);
	mt_rr_cname(&real_reply, NULL, target, 300);
	mt_rr_a(&real_reply, target, 300, "192.0.2.1");
}

static void
self_reply(const char *name)
{
	mt_reply(&real_reply, name, ns_t_a);
	mt_rr_a(&real_reply, NULL, 300, "192.0.2.1");
}

static int
has_original(const char *target, const char *name)
{
	const char *list[16];
	size_t n = seen_originals(target, list, MT_N(list)), i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

Test(hook, other_lookups_pass_and_are_seen)
{
	unsigned char buf[1024];
	int n;

	init(CF_V2);
	alias_reply("alias.example", "t.example");
	n = hooks.res_querydomain("alias", "example", ns_c_in, ns_t_a, buf,
	    sizeof(buf));
	cr_assert_eq(n, real_reply.len);
	cr_assert_eq(memcmp(buf, real_reply.buf, (size_t)n), 0);
	cr_assert_eq(called.res_querydomain, 1);
	cr_assert_str_eq(called.name, "alias.example");
	cr_assert_eq(seen_count(), 1, "got %zu records, want 1", seen_count());
	cr_assert(has_original("t.example", "alias.example"));

	alias_reply("other.example", "u.example");
	n = hooks.res_search("other.example", ns_c_in, ns_t_mx, buf,
	    sizeof(buf));
	cr_assert_eq(n, real_reply.len);
	cr_assert_eq(called.res_search, 1);
	cr_assert(has_original("u.example", "other.example"));

	alias_reply("third.example", "v.example");
	n = hooks.res_query("third.example", ns_c_in, ns_t_a, buf,
	    sizeof(buf));
	cr_assert_eq(n, real_reply.len);
	cr_assert_eq(called.res_query, 1);
	cr_assert(has_original("v.example", "third.example"));
	cr_assert_eq(seen_count(), 3);
}

/* Only sendmail's canonification ($[ $], res_querydomain) says that a
 * name is no alias. */
Test(hook, self_only_from_res_querydomain)
{
	unsigned char buf[1024];

	init(CF_V2);
	self_reply("t.example");
	cr_assert_gt(hooks.res_search("t.example", ns_c_in, ns_t_a, buf,
	    sizeof(buf)), 0);
	cr_assert_gt(hooks.res_query("t.example", ns_c_in, ns_t_a, buf,
	    sizeof(buf)), 0);
	cr_assert(!seen_self("t.example"));
	cr_assert_eq(seen_count(), 0);
	cr_assert_gt(hooks.res_querydomain("t", "example", ns_c_in, ns_t_a,
	    buf, sizeof(buf)), 0);
	cr_assert(seen_self("t.example"));
	cr_assert_eq(seen_count(), 1);
}

Test(hook, failed_lookups_pass)
{
	unsigned char buf[1024];

	init(CF_V2);
	h_errno = 0;
	cr_assert_eq(hooks.res_search("nx.example", ns_c_in, ns_t_mx, buf,
	    sizeof(buf)), -1);
	cr_assert_eq(h_errno, HOST_NOT_FOUND);
	cr_assert_eq(hooks.res_querydomain("nx", "example", ns_c_in, ns_t_a,
	    buf, sizeof(buf)), -1);
	cr_assert_eq(called.res_search, 1);
	cr_assert_eq(called.res_querydomain, 1);
	cr_assert_eq(seen_count(), 0);
}

/* A reply longer than sendmail's buffer: seen.c gets what fitted. */
Test(hook, reply_longer_than_the_buffer)
{
	unsigned char *buf;
	int n, i, first;

	init(CF_V2);
	mt_reply(&real_reply, "alias.example", ns_t_a);
	mt_rr_cname(&real_reply, NULL, "t.example", 300);
	first = real_reply.len;
	for (i = 0; i < 100; i++)
		mt_rr_a(&real_reply, "t.example", 300, "192.0.2.1");
	buf = malloc((size_t)first);
	cr_assert_not_null(buf);
	n = hooks.res_querydomain("alias", "example", ns_c_in, ns_t_a, buf,
	    first);
	cr_assert_gt(n, first);
	cr_assert(has_original("t.example", "alias.example"));
	free(buf);
}

/* libdane's own work, while a hook runs, goes straight to the real
 * functions and says nothing of sendmail's lookups or deliveries. */
static enum dane_result
gather_looking_up(const char *nexthop, const char *server, uint16_t port,
    struct dane_facts **out)
{
	unsigned char buf[1024];

	alias_reply("inner.example", "t.example");
	cr_assert_gt(hooks.res_search("inner.example", ns_c_in, ns_t_a, buf,
	    sizeof(buf)), 0);
	cr_assert_gt(hooks.res_querydomain("inner", "example", ns_c_in,
	    ns_t_a, buf, sizeof(buf)), 0);
	cr_assert_eq(hooks.getservbyname("smdane-none", "tcp"), &real_ent);
	return mt_gather(nexthop, server, port, out);
}

Test(hook, lookups_inside_a_hook_go_to_the_real_functions)
{
	char text[256];

	init(CF_V2);
	dlv_set_gather(gather_looking_up);
	mt_dest("example.com", "", MT_AUTH, 3);
	hooks.getservbyname("dane", "tcp");
	cr_assert_str_eq(channel("tls_server", "none", "example.com", text,
	    sizeof(text)), "FAIL \"DANE: no STARTTLS with mx.example, its "
	    "TLSA records require TLS\"");
	cr_assert_eq(called.res_search, 1);
	cr_assert_eq(called.res_querydomain, 1);
	cr_assert_eq(called.getservbyname, 1);
	cr_assert_eq(seen_count(), 0, "libdane's lookup was taken for "
	    "sendmail's");
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_DANE);
}

/* ---- SSL_connect() --------------------------------------------------- */

Test(hook, ssl_connect_without_dane_passes)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	char text[256];

	init(CF_V2);
	cr_assert_eq(hooks.SSL_connect(ssl), 1);
	cr_assert_eq(called.ssl_connect, 1);
	hooks.getservbyname("smdane-none", "tcp");
	cr_assert_str_eq(channel("try_tls", "none", "example.com", text,
	    sizeof(text)), "OK");
	cr_assert_eq(hooks.SSL_connect(ssl), 1);
	cr_assert_eq(called.ssl_connect, 2);
	cr_assert_eq(mt_ncalls, 0);
	cr_assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

Test(hook, ssl_connect_applies_the_policy)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	const char *sni;
	char text[256];

	init(CF_V2);
	mt_dest("example.com", "", MT_AUTH, 3);
	hooks.getservbyname("dane", "tcp");
	cr_assert_str_eq(channel("try_tls", "none", "example.com", text,
	    sizeof(text)), "OK");
	cr_assert_eq(hooks.SSL_connect(ssl), 1);
	cr_assert_eq(called.ssl_connect, 1);
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	cr_assert_not_null(sni);
	cr_assert_str_eq(sni, "mx.example");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}
