/*
 * Unit tests of seen.c: the CNAMEs sendmail's own lookups met, and how
 * long they are kept.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "modtest.h"

static void
setup(void)
{
	mt_now = 1700000000;
	seen_set_clock(mt_clock);
	seen_forget();
}

TestSuite(seen, .init = setup);

/* The originals of target, joined by blanks ("" if none). */
static const char *
originals(const char *target, char *buf, size_t size)
{
	const char *list[16];
	size_t n, i, off = 0;

	n = seen_originals(target, list, MT_N(list));
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
		    i > 0 ? " " : "", list[i]);
	return buf;
}

/* "alias CNAME target, target A 192.0.2.1" as an A query's reply. */
static void
alias_reply(struct mt_pkt *p, const char *alias, const char *target,
    unsigned long ttl1, unsigned long ttl2)
{
	mt_reply(p, alias, ns_t_a);
	mt_rr_cname(p, NULL, target, ttl1);
	mt_rr_a(p, target, ttl2, "192.0.2.1");
}

Test(seen, cname_chain_records_owner_to_final_target)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "a.example", ns_t_a);
	mt_rr_cname(&p, NULL, "b.example", 300);
	mt_rr_cname(&p, "b.example", "c.example", 300);
	mt_rr_a(&p, "c.example", 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 0);
	cr_assert_eq(seen_count(), 1, "got %zu records, want 1", seen_count());
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "a.example");
	/* the intermediate name is no target of a canonification */
	cr_assert_str_eq(originals("b.example", buf, sizeof(buf)), "");
	cr_assert(!seen_self("c.example"));
	cr_assert(!seen_self("a.example"));
}

Test(seen, names_are_lower_case_without_final_dot)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "Alias.EXAMPLE.", ns_t_a);
	mt_rr_cname(&p, "ALIAS.example", "T.Example.", 300);
	mt_rr_a(&p, "t.EXAMPLE", 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)),
	    "alias.example");
}

Test(seen, canonification_without_cname_is_self)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "t.example", ns_t_a);
	mt_rr_a(&p, NULL, 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 0);
	cr_assert_eq(seen_count(), 0, "res_search reply: got %zu records, "
	    "want 0", seen_count());
	cr_assert(!seen_self("t.example"));
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 1, "res_querydomain reply: got %zu "
	    "records, want 1", seen_count());
	cr_assert(seen_self("t.example"));
	cr_assert(!seen_self("other.example"));
	/* a self record is no original */
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)), "");
}

Test(seen, reply_without_answer_is_not_self)
{
	struct mt_pkt p;

	mt_reply(&p, "t.example", ns_t_a);
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 0);
	cr_assert(!seen_self("t.example"));
}

Test(seen, same_again_does_not_grow)
{
	struct mt_pkt p, s;
	int i;

	alias_reply(&p, "alias.example", "t.example", 300, 300);
	mt_reply(&s, "u.example", ns_t_a);
	mt_rr_a(&s, NULL, 300, "192.0.2.1");
	for (i = 0; i < 5; i++) {
		seen_reply(p.buf, p.len, 1);
		seen_reply(p.buf, p.len, 0);
		seen_reply(s.buf, s.len, 1);
	}
	cr_assert_eq(seen_count(), 2, "got %zu records, want 2", seen_count());
}

Test(seen, seeing_again_renews)
{
	struct mt_pkt p;
	char buf[512];

	alias_reply(&p, "alias.example", "t.example", 30, 30);
	seen_reply(p.buf, p.len, 0);
	mt_now += 500;
	seen_reply(p.buf, p.len, 0);
	mt_now += 500;
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)),
	    "alias.example", "renewed at 500 s: gone at 1000 s");
	mt_now += 101;
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)), "");
}

/*
 * Two canonifications of their own, a -> b and later b -> c: an
 * address at a went to b, not to c (sendmail's cache of it says b), so
 * a is no original of c; b is.
 */
Test(seen, aliases_of_aliases_are_not_chained)
{
	struct mt_pkt p, s;
	char buf[512];

	alias_reply(&p, "a.example", "b.example", 300, 300);
	seen_reply(p.buf, p.len, 1);
	mt_reply(&s, "u.example", ns_t_a);
	mt_rr_a(&s, NULL, 300, "192.0.2.9");
	seen_reply(s.buf, s.len, 1);
	alias_reply(&p, "b.example", "c.example", 300, 300);
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 3, "got %zu records, want 3", seen_count());
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "b.example");
	cr_assert_str_eq(originals("b.example", buf, sizeof(buf)),
	    "a.example");
	cr_assert_str_eq(originals("a.example", buf, sizeof(buf)), "");
	/* replies to res_search() add aliases only, never links */
	seen_forget();
	mt_reply(&p, "a.example", ns_t_mx);
	mt_rr_cname(&p, NULL, "b.example", 300);
	seen_reply(p.buf, p.len, 0);
	alias_reply(&p, "b.example", "c.example", 300, 300);
	seen_reply(p.buf, p.len, 0);
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "b.example");
	cr_assert_str_eq(originals("b.example", buf, sizeof(buf)),
	    "a.example");
}

/*
 * Transitive originals: a -> b in one reply, then sendmail's own lookup
 * of b, b -> c, following it.  a is an original of c; b, a name met on
 * the way, is none.
 */
Test(seen, transitive_originals)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "a.example", ns_t_a);
	mt_rr_cname(&p, NULL, "b.example", 300);
	seen_reply(p.buf, p.len, 1);
	alias_reply(&p, "b.example", "c.example", 300, 300);
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 2, "got %zu records, want 2", seen_count());
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "a.example");
	/* the longer chain, link by link */
	mt_reply(&p, "c.example", ns_t_a);
	mt_rr_cname(&p, NULL, "d.example", 300);
	seen_reply(p.buf, p.len, 1);
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "a.example");
	cr_assert_str_eq(originals("d.example", buf, sizeof(buf)),
	    "a.example");
}

/*
 * sendmail follows a CNAME by looking its target up again: that lookup
 * is a link of the chain, neither an alias nor an address at its name.
 */
Test(seen, followed_chain_is_a_link)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "a.example", ns_t_a);
	mt_rr_cname(&p, NULL, "b.example", 300);
	seen_reply(p.buf, p.len, 1);
	alias_reply(&p, "b.example", "c.example", 300, 300);
	seen_reply(p.buf, p.len, 1);
	mt_reply(&p, "c.example", ns_t_a);
	mt_rr_a(&p, NULL, 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "a.example", "b.example was only followed");
	cr_assert_str_eq(originals("b.example", buf, sizeof(buf)),
	    "a.example");
	cr_assert(!seen_self("c.example"), "c.example was only followed");
	cr_assert(!seen_self("b.example"));
	/* the next canonification of c.example is an address at it */
	seen_reply(p.buf, p.len, 1);
	cr_assert(seen_self("c.example"));
}

Test(seen, other_canonification_ends_the_chain)
{
	struct mt_pkt p, s;

	alias_reply(&p, "alias.example", "t.example", 300, 300);
	seen_reply(p.buf, p.len, 1);
	mt_reply(&s, "u.example", ns_t_a);
	mt_rr_a(&s, NULL, 300, "192.0.2.9");
	seen_reply(s.buf, s.len, 1);
	mt_reply(&s, "t.example", ns_t_a);
	mt_rr_a(&s, NULL, 300, "192.0.2.1");
	seen_reply(s.buf, s.len, 1);
	cr_assert(seen_self("u.example"));
	cr_assert(seen_self("t.example"), "t.example after u.example: an "
	    "address at it");
}

Test(seen, originals_stop_at_max_and_skip_loops)
{
	struct mt_pkt p;
	const char *list[1];
	char buf[512];

	mt_reply(&p, "a.example", ns_t_a);
	mt_rr_cname(&p, NULL, "b.example", 300);
	seen_reply(p.buf, p.len, 0);
	mt_reply(&p, "b.example", ns_t_a);
	mt_rr_cname(&p, NULL, "a.example", 300);
	seen_reply(p.buf, p.len, 0);
	cr_assert_str_eq(originals("a.example", buf, sizeof(buf)),
	    "b.example");
	cr_assert_str_eq(originals("b.example", buf, sizeof(buf)),
	    "a.example");
	alias_reply(&p, "x.example", "b.example", 300, 300);
	seen_reply(p.buf, p.len, 0);
	cr_assert_eq(seen_originals("b.example", list, 1), 1);
	cr_assert_eq(seen_originals("b.example", list, 0), 0);
}

Test(seen, other_chains_are_ignored)
{
	struct mt_pkt p;
	char buf[512];

	/* records whose owner is not on the question's chain */
	mt_reply(&p, "q.example", ns_t_a);
	mt_rr_cname(&p, "x.example", "y.example", 300);
	mt_rr_a(&p, "y.example", 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 0, "got %zu records, want 0", seen_count());
	cr_assert_str_eq(originals("y.example", buf, sizeof(buf)), "");
	cr_assert(!seen_self("q.example"));
	cr_assert(!seen_self("y.example"));
	/* the chain, with a stray record in it */
	mt_reply(&p, "q.example", ns_t_a);
	mt_rr_cname(&p, NULL, "r.example", 300);
	mt_rr_cname(&p, "x.example", "evil.example", 300);
	mt_rr_a(&p, "r.example", 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
	cr_assert_str_eq(originals("r.example", buf, sizeof(buf)),
	    "q.example");
	cr_assert_str_eq(originals("evil.example", buf, sizeof(buf)), "");
	cr_assert_str_eq(originals("y.example", buf, sizeof(buf)), "");
}

Test(seen, error_replies_are_ignored)
{
	static const unsigned rcodes[] = { 1, 2, 3, 4, 5 };
	struct mt_pkt p;
	size_t i;

	for (i = 0; i < MT_N(rcodes); i++) {
		alias_reply(&p, "alias.example", "t.example", 300, 300);
		mt_rcode(&p, rcodes[i]);
		seen_reply(p.buf, p.len, 1);
		mt_reply(&p, "t.example", ns_t_a);
		mt_rr_a(&p, NULL, 300, "192.0.2.1");
		mt_rcode(&p, rcodes[i]);
		seen_reply(p.buf, p.len, 1);
		cr_assert_eq(seen_count(), 0, "rcode %u: got %zu records, "
		    "want 0", rcodes[i], seen_count());
	}
}

Test(seen, two_questions_are_ignored)
{
	struct mt_pkt p;

	alias_reply(&p, "alias.example", "t.example", 300, 300);
	p.buf[5] = 2;
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 0);
}

/*
 * Every truncation of a reply (hook.c shows seen the part of a reply
 * that fitted sendmail's buffer, and sendmail acts on that part): no
 * crash, nothing recorded before the first answer record is whole, and
 * never more than what the reply's first records say.
 */
Test(seen, truncated_replies)
{
	struct mt_pkt p, s;
	char buf[512];
	int len, first, canon;

	mt_reply(&p, "a.example", ns_t_a);
	mt_rr_cname(&p, NULL, "b.example", 300);
	first = p.len;
	mt_rr_cname(&p, "b.example", "c.example", 300);
	mt_rr_a(&p, "c.example", 300, "192.0.2.1");
	mt_rr_a(&p, "c.example", 300, "192.0.2.2");
	for (canon = 0; canon <= 1; canon++)
		for (len = 0; len < p.len; len++) {
			seen_forget();
			seen_reply(p.buf, len, canon);
			if (len < first) {
				cr_assert_eq(seen_count(), 0, "alias reply cut "
				    "at %d of %d octets: got %zu records, want "
				    "0", len, p.len, seen_count());
				continue;
			}
			cr_assert_eq(seen_count(), 1, "alias reply cut at %d "
			    "of %d octets: got %zu records, want 1", len,
			    p.len, seen_count());
			originals("b.example", buf, sizeof(buf));
			if (buf[0] == '\0')
				originals("c.example", buf, sizeof(buf));
			cr_assert_str_eq(buf, "a.example", "cut at %d", len);
			cr_assert(!seen_self("a.example") &&
			    !seen_self("b.example") && !seen_self("c.example"),
			    "cut at %d: a self record", len);
		}
	mt_reply(&s, "t.example", ns_t_a);
	first = s.len;
	mt_rr_a(&s, NULL, 300, "192.0.2.1");
	first = s.len;
	mt_rr_a(&s, NULL, 300, "192.0.2.2");
	for (len = 0; len < s.len; len++) {
		seen_forget();
		seen_reply(s.buf, len, 1);
		cr_assert_eq(seen_count(), len < first ? 0 : 1, "self reply "
		    "cut at %d of %d octets: got %zu records", len, s.len,
		    seen_count());
		cr_assert_eq(seen_self("t.example"), len >= first,
		    "self reply cut at %d", len);
	}
	seen_forget();
	seen_reply(NULL, 0, 1);
	seen_reply(p.buf, -1, 1);
	seen_reply(p.buf, 11, 1);
	cr_assert_eq(seen_count(), 0);
	seen_reply(p.buf, p.len, 1);
	cr_assert_str_eq(originals("c.example", buf, sizeof(buf)),
	    "a.example", "the whole reply");
	cr_assert_str_eq(originals("b.example", buf, sizeof(buf)), "");
}

/* Garbage: every octet of a reply changed, and random packets. */
Test(seen, garbage_never_crashes)
{
	struct mt_pkt p, g;
	unsigned long x = 12345;
	int i, j, v;

	mt_reply(&p, "a.example", ns_t_a);
	mt_rr_cname(&p, NULL, "b.example", 300);
	mt_rr_cname(&p, "b.example", "c.example", 300);
	mt_rr_a(&p, "c.example", 300, "192.0.2.1");
	for (i = 12; i < p.len; i++)
		for (v = 0; v < 256; v += 7) {
			g = p;
			g.buf[i] = (unsigned char)v;
			seen_reply(g.buf, g.len, 1);
			seen_reply(g.buf, i + 1, 1);
		}
	for (i = 0; i < 20000; i++) {
		int len = 12 + (int)(x % 200);

		for (j = 0; j < len; j++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			g.buf[j] = (unsigned char)(x >> 33);
		}
		g.buf[3] &= 0xf0;	/* NOERROR */
		g.buf[4] = 0;
		g.buf[5] = 1;
		g.buf[6] = 0;
		seen_reply(g.buf, len, (int)(x & 1));
	}
	seen_forget();
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 1, "after the garbage: got %zu, want 1",
	    seen_count());
}

/* A record lives max(min TTL of the chain, 600 s), at most 3600 s. */
static void
check_lifetime(unsigned long ttl_cname, unsigned long ttl_a, long want)
{
	struct mt_pkt p;
	char buf[512];
	time_t t0;

	seen_forget();
	t0 = mt_now;
	alias_reply(&p, "alias.example", "t.example", ttl_cname, ttl_a);
	seen_reply(p.buf, p.len, 0);
	mt_now = t0 + want - 1;
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)),
	    "alias.example", "TTLs %lu/%lu: gone at %ld s, want kept until "
	    "%ld s", ttl_cname, ttl_a, want - 1, want);
	cr_assert_eq(seen_count(), 1);
	mt_now = t0 + want + 1;
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)), "",
	    "TTLs %lu/%lu: kept at %ld s, want gone after %ld s", ttl_cname,
	    ttl_a, want + 1, want);
	cr_assert_eq(seen_count(), 0);
	mt_now = t0;
}

Test(seen, lifetime_follows_ttl)
{
	check_lifetime(30, 30, 600);
	check_lifetime(7200, 7200, 3600);
	check_lifetime(0, 0, 3600);
	check_lifetime(900, 1200, 900);
	check_lifetime(1200, 900, 900);
	check_lifetime(3000, 100000, 3000);
	check_lifetime(100, 2000, 600);
}

Test(seen, self_lifetime_follows_ttl)
{
	struct mt_pkt p;

	mt_reply(&p, "t.example", ns_t_a);
	mt_rr_a(&p, NULL, 1000, "192.0.2.1");
	mt_rr_a(&p, NULL, 1500, "192.0.2.2");
	seen_reply(p.buf, p.len, 1);
	mt_now += 999;
	cr_assert(seen_self("t.example"));
	mt_now += 2;
	cr_assert(!seen_self("t.example"));
	cr_assert_eq(seen_count(), 0);
}

/* Records off the chain do not shorten its life. */
Test(seen, lifetime_ignores_other_records)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "alias.example", ns_t_a);
	mt_rr_cname(&p, NULL, "t.example", 1000);
	mt_rr_a(&p, "other.example", 1, "192.0.2.9");
	mt_rr_a(&p, "t.example", 2000, "192.0.2.1");
	seen_reply(p.buf, p.len, 0);
	mt_now += 999;
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)),
	    "alias.example");
	mt_now += 2;
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)), "");
}

Test(seen, forget_empties)
{
	struct mt_pkt p;
	char buf[512];

	mt_reply(&p, "t.example", ns_t_a);
	mt_rr_a(&p, NULL, 300, "192.0.2.1");
	seen_reply(p.buf, p.len, 1);
	alias_reply(&p, "alias.example", "t.example", 300, 300);
	seen_reply(p.buf, p.len, 1);
	cr_assert_eq(seen_count(), 2);
	seen_forget();
	cr_assert_eq(seen_count(), 0);
	cr_assert_str_eq(originals("t.example", buf, sizeof(buf)), "");
	cr_assert(!seen_self("t.example"));
}

Test(seen, many_names_then_all_expire)
{
	struct mt_pkt p;
	const char *list[16];
	char alias[64], target[64], buf[512];
	int i, k;

	for (i = 0; i < 10000; i++) {
		snprintf(alias, sizeof(alias), "a%d.example", i);
		snprintf(target, sizeof(target), "t%d.example", i % 100);
		alias_reply(&p, alias, target, 300, 300);
		seen_reply(p.buf, p.len, 0);
	}
	cr_assert_eq(seen_count(), 10000, "got %zu records, want 10000",
	    seen_count());
	cr_assert_eq(seen_originals("t7.example", list, MT_N(list)), 16);
	mt_now += 599;
	cr_assert_eq(seen_originals("t1.example", list, MT_N(list)), 16);
	for (i = 0; i < 16; i++)
		cr_assert(sscanf(list[i], "a%d.example", &k) == 1 && k % 100 == 1,
		    "original %d of t1.example: got %s", i, list[i]);
	cr_assert_eq(seen_count(), 10000);
	mt_now += 2;
	cr_assert_str_eq(originals("t1.example", buf, sizeof(buf)), "");
	cr_assert_eq(seen_count(), 0, "got %zu records, want 0", seen_count());
}
