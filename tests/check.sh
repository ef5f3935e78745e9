#!/bin/sh
# The whole test suite: unit tests and the scenarios through the real
# sendmail in the hermetic world (make check).
set -eu
. "$(cd "$(dirname "$0")" && pwd)/setup.sh"
if ! make -s check; then
	cat test-suite.log 2>/dev/null | tail -200
	exit 1
fi
