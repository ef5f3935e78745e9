/*
 * Unit tests of delivery.c: the delivery in progress, its mode bound to
 * its next hop, its policies and the names canonified to its next hop.
 * DNS work goes through the gather seam (modtest.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "modtest.h"

static struct smdane_config cfg;

static void
setup(void)
{
	smdane_config_init(&cfg);
	cfg.present = 1;
	cfg.version = 2;
	dlv_setup(&cfg);
	dlv_set_gather(mt_gather);
	seen_set_clock(mt_clock);
	seen_forget();
	mt_ndests = mt_ncalls = mt_nlog = 0;
}

TestSuite(delivery, .init = setup);

Test(delivery, mode_unknown_before_any_delivery)
{
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_UNKNOWN);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_UNKNOWN);
	/* nothing was bound by those */
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_eq(dlv_mode("b.example"), SMDANE_MODE_DANE);
}

Test(delivery, first_query_binds_the_next_hop)
{
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_eq(dlv_port(), 25);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_DANE);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_DANE);
	cr_assert_eq(dlv_mode("b.example"), SMDANE_MODE_UNKNOWN,
	    "another next hop: a delivery that told no mode");
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_DANE);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_DANE);
}

Test(delivery, null_next_hop_does_not_bind)
{
	dlv_begin(SMDANE_MODE_ONLY, 25);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_ONLY);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_ONLY);
	cr_assert_eq(dlv_mode("b.example"), SMDANE_MODE_ONLY);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_UNKNOWN);
}

Test(delivery, every_mode_is_kept)
{
	static const enum smdane_mode modes[] = { SMDANE_MODE_NONE,
		SMDANE_MODE_DANE, SMDANE_MODE_ONLY, SMDANE_MODE_ENCRYPT,
		SMDANE_MODE_UNSERVED };
	size_t i;

	for (i = 0; i < MT_N(modes); i++) {
		dlv_begin(modes[i], (uint16_t)(2525 + i));
		cr_assert_eq(dlv_mode("x.example"), modes[i], "mode %d",
		    modes[i]);
		cr_assert_eq(dlv_port(), 2525 + i);
	}
}

Test(delivery, begin_resets_binding_and_policies)
{
	mt_dest("a.example", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_DANE);
	cr_assert_not_null(dlv_policy("mx1.example", "a.example")->policy);
	cr_assert_not_null(dlv_policy("mx2.example", "a.example")->policy);
	cr_assert_eq(dlv_policy_count(), 2);
	dlv_begin(SMDANE_MODE_ONLY, 587);
	cr_assert_eq(dlv_policy_count(), 0, "got %zu policies after a new "
	    "delivery, want 0", dlv_policy_count());
	cr_assert_eq(dlv_port(), 587);
	cr_assert_eq(dlv_mode("b.example"), SMDANE_MODE_ONLY);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_UNKNOWN);
	/* gathered again in the new delivery, for its port */
	dlv_policy("mx1.example", "a.example");
	cr_assert_eq(mt_calls_for("a.example", "mx1.example"), 2);
	cr_assert_eq(mt_calls[mt_ncalls - 1].port, 587);
}

Test(delivery, port_mismatch_makes_the_mode_unknown)
{
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_DANE);
	dlv_port_mismatch();
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_UNKNOWN);
	cr_assert_eq(dlv_mode(NULL), SMDANE_MODE_UNKNOWN);
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert_eq(dlv_mode("a.example"), SMDANE_MODE_DANE);
}

Test(delivery, policy_gathered_once_per_pair)
{
	struct dlv_policy *p1, *p2, *p3;

	mt_dest("a.example", "", MT_AUTH, 3);
	mt_dest("b.example", "", MT_OPP, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	p1 = dlv_policy("mx1.example", "a.example");
	cr_assert_eq(dlv_policy("mx1.example", "a.example"), p1);
	cr_assert_eq(dlv_policy("mx1.example", "a.example"), p1);
	cr_assert_eq(mt_calls_for("a.example", "mx1.example"), 1,
	    "got %zu lookups of the pair, want 1",
	    mt_calls_for("a.example", "mx1.example"));
	cr_assert_eq(mt_calls[0].port, 25);
	p2 = dlv_policy("mx2.example", "a.example");
	p3 = dlv_policy("mx1.example", "b.example");
	cr_assert(p2 != p1 && p3 != p1 && p3 != p2);
	cr_assert_eq(dlv_policy("mx2.example", "a.example"), p2);
	cr_assert_eq(dlv_policy("mx1.example", "b.example"), p3);
	cr_assert_eq(mt_ncalls, 3, "got %zu lookups, want 3", mt_ncalls);
	cr_assert_eq(dlv_policy_count(), 3);
	cr_assert_str_eq(p1->server, "mx1.example");
	cr_assert_str_eq(p1->nexthop, "a.example");
	cr_assert_eq(p1->error, DANE_OK);
	cr_assert_eq(p1->policy->level, DANE_LEVEL_AUTH);
	cr_assert_str_eq(p1->policy->base_domain, "mx1.example");
	cr_assert_str_eq(p2->policy->base_domain, "mx2.example");
	cr_assert_eq(p3->policy->level, DANE_LEVEL_OPP);
	cr_assert_eq(p1->identities, 1);
	cr_assert_eq(p1->own_refnames, p1->policy->refname_count);
	cr_assert_str_eq(p1->original, "");
}

Test(delivery, gather_error_gives_no_policy)
{
	struct dlv_policy *p;

	mt_dest_error("a.example", DANE_ERR_RESOLVER);
	dlv_begin(SMDANE_MODE_DANE, 25);
	p = dlv_policy("mx1.example", "a.example");
	cr_assert_not_null(p);
	cr_assert_null(p->policy);
	cr_assert_eq(p->error, DANE_ERR_RESOLVER, "got error %d, want %d",
	    p->error, DANE_ERR_RESOLVER);
	/* the failure holds for the delivery, as a policy would */
	cr_assert_eq(dlv_policy("mx1.example", "a.example"), p);
	cr_assert_eq(mt_calls_for("a.example", "mx1.example"), 1);
	/* a destination the fake does not know fails too */
	p = dlv_policy("mx1.example", "unknown.example");
	cr_assert_null(p->policy);
	cr_assert_eq(p->error, DANE_ERR_INTERNAL);
}

Test(delivery, pending_connection)
{
	static const struct {
		enum smdane_mode mode;
		const char *server;
		int want;
	} t[] = {
		{ SMDANE_MODE_NONE, "mx.example", 0 },
		{ SMDANE_MODE_UNKNOWN, "mx.example", 0 },
		{ SMDANE_MODE_DANE, "", 0 },
		{ SMDANE_MODE_DANE, "mx.example", 1 },
		{ SMDANE_MODE_ONLY, "mx.example", 1 },
		{ SMDANE_MODE_ENCRYPT, "mx.example", 1 },
	};
	const char *server = NULL, *nexthop = NULL;
	size_t i;

	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert(!dlv_pending_get(&server, &nexthop), "none before try_tls");
	for (i = 0; i < MT_N(t); i++) {
		dlv_pending(t[i].server, "a.example", t[i].mode);
		cr_assert_eq(dlv_pending_get(&server, &nexthop), t[i].want,
		    "mode %d, server \"%s\": got %d, want %d", t[i].mode,
		    t[i].server, !t[i].want, t[i].want);
		cr_assert_str_eq(server, t[i].server);
		cr_assert_str_eq(nexthop, "a.example");
	}
	dlv_begin(SMDANE_MODE_DANE, 25);
	cr_assert(!dlv_pending_get(&server, &nexthop), "a new delivery has "
	    "no connection yet");
}

/* ---- names canonified to the next hop -------------------------------- */

static int
has_refname(const struct dane_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->refname_count; i++)
		if (strcmp(p->refnames[i], name) == 0)
			return 1;
	return 0;
}

Test(delivery, secure_alias_is_added)
{
	struct dlv_policy *ps;
	const struct dane_policy *p;

	mt_alias_reply("alias.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, 2);
	mt_dest("alias.example", "t.example", MT_AUTH, 2);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	p = ps->policy;
	cr_assert_not_null(p);
	cr_assert_eq(p->level, DANE_LEVEL_AUTH);
	cr_assert_eq(ps->own_refnames, 2, "got %zu own names, want 2 "
	    "(mx.example t.example)", ps->own_refnames);
	cr_assert_eq(p->refname_count, 3, "got %zu names, want 3",
	    p->refname_count);
	cr_assert_str_eq(p->refnames[0], "mx.example");
	cr_assert_str_eq(p->refnames[1], "t.example");
	cr_assert_str_eq(p->refnames[2], "alias.example");
	cr_assert_eq(ps->identities, 1, "got %zu identities, want 1",
	    ps->identities);
	cr_assert_str_eq(ps->original, "alias.example");
	cr_assert_eq(mt_calls_for("alias.example", "mx.example"), 1);
	/* the level, base domain and records are the next hop's */
	cr_assert_str_eq(p->base_domain, "mx.example");
	cr_assert_eq(p->usable_count, 1);
}

Test(delivery, alias_and_self_are_two_identities)
{
	struct dlv_policy *ps;

	/* an address at t.example itself, then one at the alias */
	mt_self_reply("t.example");
	mt_alias_reply("alias.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, 2);
	mt_dest("alias.example", "t.example", MT_AUTH, 2);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	cr_assert_eq(ps->identities, 2, "got %zu identities, want 2",
	    ps->identities);
	cr_assert(has_refname(ps->policy, "alias.example"));
	cr_assert_eq(ps->own_refnames, 2);
}

Test(delivery, self_alone_is_one_identity)
{
	struct dlv_policy *ps;

	mt_self_reply("t.example");
	mt_dest("t.example", "", MT_AUTH, 2);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	cr_assert_eq(ps->identities, 1);
	cr_assert_eq(ps->policy->refname_count, ps->own_refnames);
	cr_assert_str_eq(ps->original, "");
}

Test(delivery, insecure_alias_is_not_added)
{
	struct dlv_policy *ps;

	mt_alias_reply("opp.example", "t.example");
	mt_alias_reply("elsewhere.example", "t.example");
	mt_alias_reply("failed.example", "t.example");
	mt_alias_reply("encrypt.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, 2);
	mt_dest("opp.example", "t.example", MT_OPP, 2);
	/* secure, but its own lookup does not end at the next hop */
	mt_dest("elsewhere.example", "other.example", MT_AUTH, 2);
	mt_dest_error("failed.example", DANE_ERR_RESOLVER);
	mt_dest("encrypt.example", "t.example", MT_ENCRYPT, 2);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	cr_assert_eq(ps->policy->refname_count, 2, "got %zu names, want 2",
	    ps->policy->refname_count);
	cr_assert_eq(ps->identities, 1, "got %zu identities, want 1",
	    ps->identities);
	cr_assert_str_eq(ps->original, "");
	cr_assert_eq(mt_calls_for("opp.example", "mx.example"), 1);
	cr_assert_eq(mt_calls_for("elsewhere.example", "mx.example"), 1);
	cr_assert_eq(mt_calls_for("failed.example", "mx.example"), 1);
	cr_assert_eq(mt_calls_for("encrypt.example", "mx.example"), 1);
}

Test(delivery, insecure_alias_does_not_count_with_self)
{
	struct dlv_policy *ps;

	mt_self_reply("t.example");
	mt_alias_reply("opp.example", "t.example");
	mt_alias_reply("alias.example", "t.example");
	mt_dest("t.example", "", MT_AUTH, 2);
	mt_dest("opp.example", "t.example", MT_OPP, 2);
	mt_dest("alias.example", "t.example", MT_AUTH, 2);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	cr_assert_eq(ps->identities, 2, "self and alias.example: got %zu, "
	    "want 2", ps->identities);
	cr_assert(has_refname(ps->policy, "alias.example"));
	cr_assert(!has_refname(ps->policy, "opp.example"));
	cr_assert_str_eq(ps->original, "alias.example");
}

/* Only an authenticated next hop gains names. */
Test(delivery, originals_only_for_dane_next_hops)
{
	struct dlv_policy *ps;

	mt_alias_reply("alias.example", "t.example");
	mt_dest("t.example", "", MT_OPP, 2);
	mt_dest("alias.example", "t.example", MT_AUTH, 2);
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	cr_assert_eq(ps->policy->level, DANE_LEVEL_OPP);
	cr_assert(!has_refname(ps->policy, "alias.example"));
	cr_assert_eq(ps->identities, 1);
	cr_assert_eq(mt_calls_for("alias.example", "mx.example"), 0);
}

Test(delivery, more_aliases_than_room)
{
	enum { NALIAS = 10 };
	struct dlv_policy *ps;
	const struct dane_policy *p;
	char name[32];
	size_t i, k;

	mt_dest("t.example", "", MT_AUTH, 2);
	for (i = 0; i < NALIAS; i++) {
		snprintf(name, sizeof(name), "a%zu.example", i);
		mt_alias_reply(name, "t.example");
		mt_dest(name, "t.example", MT_AUTH, 2);
	}
	dlv_begin(SMDANE_MODE_DANE, 25);
	ps = dlv_policy("mx.example", "t.example");
	p = ps->policy;
	cr_assert_eq(p->refname_count, DANE_REFNAMES_MAX, "got %zu names, "
	    "want %d", p->refname_count, DANE_REFNAMES_MAX);
	cr_assert_eq(ps->identities, NALIAS, "got %zu identities, want %d",
	    ps->identities, NALIAS);
	cr_assert_str_eq(p->refnames[0], "mx.example");
	cr_assert_str_eq(p->refnames[1], "t.example");
	for (i = 2; i < p->refname_count; i++) {
		cr_assert(sscanf(p->refnames[i], "a%zu.example", &k) == 1 &&
		    k < NALIAS, "name %zu: got %s", i, p->refnames[i]);
		for (k = 2; k < i; k++)
			cr_assert_str_neq(p->refnames[k], p->refnames[i]);
	}
	cr_assert_eq(mt_logged("too many names lead to it"),
	    NALIAS - (DANE_REFNAMES_MAX - 2), "got %zu warnings, want %d",
	    mt_logged("too many names lead to it"),
	    NALIAS - (DANE_REFNAMES_MAX - 2));
	cr_assert_neq(ps->original[0], '\0');
}

/* ---- the connection ----------------------------------------------------- */

static int next_calls, next_result;

static int
fake_connect(void *ssl)
{
	(void)ssl;
	next_calls++;
	return next_result;
}

Test(delivery, connect_without_dane_passes_through)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);

	mt_dest("a.example", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	next_result = 1;
	/* no try_tls: nothing pending */
	cr_assert_eq(dlv_connect(ssl, fake_connect), 1);
	cr_assert_eq(next_calls, 1);
	dlv_pending("mx.example", "a.example", SMDANE_MODE_NONE);
	next_result = -1;
	cr_assert_eq(dlv_connect(ssl, fake_connect), -1);
	cr_assert_eq(next_calls, 2);
	cr_assert_eq(mt_ncalls, 0, "no policy was wanted");
	cr_assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

Test(delivery, connect_applies_the_policy_once)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	const char *sni;

	mt_dest("a.example", "", MT_AUTH, 3);
	dlv_begin(SMDANE_MODE_DANE, 25);
	dlv_pending("mx.example", "a.example", SMDANE_MODE_DANE);
	next_result = -1;
	cr_assert_eq(dlv_connect(ssl, fake_connect), -1);
	cr_assert_eq(dlv_connect(ssl, fake_connect), -1);
	cr_assert_eq(next_calls, 2);
	cr_assert_eq(mt_calls_for("a.example", "mx.example"), 1);
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	cr_assert_not_null(sni, "no SNI set");
	cr_assert_str_eq(sni, "mx.example");
	/* a "completed" handshake without a peer certificate cannot be
	 * recorded: it counts as unchecked, and says so */
	next_result = 1;
	cr_assert_eq(dlv_connect(ssl, fake_connect), 1);
	cr_assert_eq(conns_count(), 0);
	cr_assert_eq(mt_logged("cannot record the session"), 1);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}
