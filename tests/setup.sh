#!/bin/sh
# Install what building and testing sendmail-dane needs on Debian 12 (as
# root; only missing packages, never upgrades), then build the tree.
# Sourced by tests/demo.sh and tests/check.sh.
set -eu

PACKAGES="gcc make autoconf automake pkg-config m4 libc6-dev
 libssl-dev openssl libldns-dev ldnsutils libunbound-dev dns-root-data libdb5.3-dev libcriterion-dev
 sendmail-bin sendmail-cf nsd unbound bind9-dnsutils iproute2 util-linux
 procps valgrind python3 clang libclang-rt-14-dev libidn12 libgnutls-dane0 libicu72 libsasl2-2
 debhelper debootstrap lintian"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing Debian packages:$missing" >&2
		echo "setup: run as root to install them" >&2
		exit 1
	fi
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || true
	# shellcheck disable=SC2086
	apt-get install -y -q --no-upgrade --no-install-recommends $missing \
	    >/dev/null
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] ||
    [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	./configure -q --prefix=/usr --sysconfdir=/etc \
	    --libdir=/usr/lib/x86_64-linux-gnu \
	    --with-sendmail-cf=/usr/share/sendmail/cf
fi
make -s -j2 all
