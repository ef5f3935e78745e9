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
top_srcdir=$(pwd) top_builddir=$(pwd) exec /usr/bin/python3 \
    tests/scenarios/run.py --demo ${wide:+--wide} \
    tests/scenarios/slice.tsv tests/scenarios/rfc.tsv
