#!/bin/sh
# The main job: build, start the hermetic world, send one message per
# destination through the stock sendmail without and with sendmail-dane,
# and print what happened to each.
#
#   sh tests/demo.sh [--wide]
#
# Cells too long for the table are cut and end in "[N]"; note N under the
# table has the whole text.  --wide prints every cell whole instead.
set -eu
wide=
for a in "$@"; do
	case "$a" in
	--wide) wide=1 ;;
	*) echo "usage: sh tests/demo.sh [--wide]" >&2; exit 2 ;;
	esac
done
set --
. "$(cd "$(dirname "$0")" && pwd)/setup.sh"
# setup.sh leaves us at the top of the tree, built
echo "demo: starting the test world and sending $(cat tests/scenarios/slice.tsv \
    tests/scenarios/rfc.tsv | grep -cv '^\(#\|[[:space:]]*$\)') messages twice" \
    "(stock, then with sendmail-dane): about a minute"
top_srcdir=$(pwd) top_builddir=$(pwd) SMDANE_DEMO_WIDE=$wide \
    exec /usr/bin/python3 -c '
import os
import sys
import textwrap

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "scenarios"))
import run  # noqa: E402  (tests/scenarios/run.py: the scenario runner)

WIDE = bool(os.environ.get("SMDANE_DEMO_WIDE"))
LEGEND = """\
What happened to one message per destination, sent through Debian'"'"'s sendmail
8.17 as shipped ("stock") and with FEATURE(`dane'"'"') and libsendmail-dane.so
loaded ("sendmail-dane"), in the hermetic DNSSEC test world (tests/world/README).

  scenario     a row of tests/scenarios/slice.tsv or rfc.tsv (its description
               is there)
  destination  the domain of the recipient
  expected     what RFC 7672 asks for:
                 AUTH    delivered over TLS to a DANE-authenticated server
                 ENC     delivered over TLS, required but not authenticated
                         (TLSA records exist, none is usable)
                 OPP     delivered with opportunistic TLS, as without DANE
                         (in clear text where the server offers no STARTTLS)
                 DEFER   not delivered: stays queued, to be tried again later
                 BOUNCE  not delivered: returned to the sender (permanent
                         failure, 5.x.x)
  stock sendmail 8.17, sendmail + sendmail-dane
               what each did: ADDRESS TLS-VERSION|clear [SNI=NAME] for the
               test server that received the message, with "authenticated"
               or "encrypted" where sendmail-dane logged that level;
               "deferred: ..." with the status in the queue; "bounced: ..."
  ok           sendmail-dane did what "expected" says: "yes" when its outcome
               is the expected one and every check of the row passed (which
               server got the message, SNI, log lines, queue status, DNS
               queries it must not make); "FAIL" otherwise (details on
               standard error)
"""


def demo_table(rows, phases):
    """run.print_table with the legend above it and the whole text of every
    cut cell in numbered notes below (none cut with --wide)."""
    print(LEGEND)
    notes = []

    def cell(sc, column, text, width):
        if WIDE or len(text) <= width:
            return text
        notes.append("%s, %s: %s" % (sc.name, column, text))
        mark = " [%d]" % len(notes)
        return text[:width - len(mark) - 3].rstrip() + "..." + mark

    head = ["scenario", "destination", "expected"]
    if "stock" in phases:
        head.append("stock sendmail 8.17")
    if "dane" in phases:
        head += ["sendmail + sendmail-dane", "ok"]
    table = [head]
    for sc, stock, dane, errs in rows:
        row = [sc.name, sc.domain, sc.expect]
        if "stock" in phases:
            row.append(cell(sc, "stock", run.describe(stock), 48))
        if "dane" in phases:
            row += [cell(sc, "sendmail-dane", run.describe(dane), 72),
                    "FAIL" if errs else "yes"]
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if notes:
        print("\nThe cells cut above, whole (sh tests/demo.sh --wide prints "
              "the table uncut):")
        for i, text in enumerate(notes, 1):
            tag = "[%d] " % i
            print(textwrap.fill(text, 100, initial_indent=tag,
                                subsequent_indent=" " * len(tag),
                                break_on_hyphens=False))
    if "stock" in phases:
        right = sum(1 for sc, stock, dane, errs in rows
                    if stock and run.outcome(stock) == sc.expect)
        leaked = sum(1 for sc, stock, dane, errs in rows
                     if stock and sc.expect == "DEFER" and stock["messages"])
        print("\nstock sendmail did what RFC 7672 expects in %d of %d "
              "scenarios; it delivered %d\nmessages that should have stayed "
              "queued." % (right, len(rows), leaked))


run.print_table = demo_table
top = os.environ["top_srcdir"]
sys.argv = ["run.py"] + [os.path.join(top, "tests", "scenarios", t)
                         for t in ("slice.tsv", "rfc.tsv")]
sys.exit(run.main())
'
