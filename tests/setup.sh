#!/bin/sh
# Install what building and testing sendmail-dane needs on Debian 12 (as
# root; only missing packages, never upgrades), then build the tree.
# Sourced by tests/demo.sh and tests/check.sh.
#
# It refuses to install sendmail-bin where another mail transport agent
# (postfix, exim4, opensmtpd, nullmailer, ...) is installed, since apt-get
# would remove that one: SMDANE_REMOVE_MTA=1 lets it.  No service is started
# while the packages install (a policy-rc.d unless there is one), and the
# nsd, unbound and sendmail services of packages installed here are
# disabled at boot: the test world runs its own copies in private
# namespaces.
set -eu

# building (configure names whatever is missing)
BUILD_PACKAGES="gcc make autoconf automake pkg-config m4 libc6-dev
 libssl-dev libldns-dev libunbound-dev libdb5.3-dev libjson-c-dev zlib1g-dev"
# testing: unit tests (libcriterion-dev), the test world (openssl ldnsutils
# dns-root-data nsd unbound bind9-dnsutils iproute2 util-linux procps
# python3), the MTA under test (sendmail-bin sendmail-cf), valgrind, the
# fuzz targets (clang libclang-rt-14-dev) and the run-time libraries of the
# Postfix and Exim the conformance run unpacks (libidn12 libgnutls-dane0
# libicu72 libsasl2-2), and the Debian package's build and install test
# (debhelper debootstrap lintian)
TEST_PACKAGES="libcriterion-dev openssl ldnsutils dns-root-data
 sendmail-bin sendmail-cf nsd unbound bind9-dnsutils iproute2 util-linux
 procps valgrind python3 clang libclang-rt-14-dev
 libidn12 libgnutls-dane0 libicu72 libsasl2-2
 debhelper debootstrap lintian"
PACKAGES="$BUILD_PACKAGES $TEST_PACKAGES"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed' || missing="$missing $p"
done

# Mail transport agents other than sendmail-bin that are installed (in any
# state but "not installed" or "config files only"): sendmail-bin conflicts
# with mail-transport-agent, so apt-get would remove them.
other_mtas() {
	dpkg-query -W -f='${Package}\t${db:Status-Status}\t${Provides}\n' \
	    2>/dev/null | awk -F '\t' '
		$1 != "sendmail-bin" && $2 != "not-installed" &&
		$2 != "config-files" {
			n = split($3, p, ",")
			for (i = 1; i <= n; i++) {
				sub(/^ +/, "", p[i]); sub(/[ (].*/, "", p[i])
				if (p[i] == "mail-transport-agent") { print $1; break }
			}
		}' | tr '\n' ' ' | sed 's/ $//'
}

case " $missing " in
*" sendmail-bin "*)
	mtas=$(other_mtas)
	if [ -n "$mtas" ] && [ "${SMDANE_REMOVE_MTA:-}" != 1 ]; then
		cat >&2 <<EOF
setup: refusing to install sendmail-bin: the tests need Debian's sendmail,
setup: and installing it makes apt-get REMOVE the mail transport agent
setup: installed here: $mtas
setup: Run the tests on a machine (VM or container) without another MTA, or
setup: set SMDANE_REMOVE_MTA=1 to let apt-get replace it with sendmail:
setup:   SMDANE_REMOVE_MTA=1 sh $0
EOF
		exit 1
	fi
	if [ -n "$mtas" ]; then
		echo "setup: SMDANE_REMOVE_MTA=1: apt-get will remove $mtas"
	fi
	;;
esac

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing Debian packages:$missing" >&2
		echo "setup: run as root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	n=$(echo $missing | wc -w)
	[ "$n" = 1 ] && what="1 Debian package" || what="$n Debian packages"
	echo "setup: installing $what and what they depend on:$missing"
	# no service starts during the installation (invoke-rc.d asks this)
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\n# tests/setup.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
		trap 'rm -f "$policy"; exit 130' INT TERM
	fi
	aptlog=$(mktemp /tmp/smdane-apt.XXXXXX)
	echo "setup: apt-get update"
	apt-get update -q >>"$aptlog" 2>&1 ||
	    echo "setup: apt-get update failed, going on with the package lists there are"
	# progress: one line per tenth of the download and of the
	# installation, from apt-get's status lines (APT::Status-Fd)
	# shellcheck disable=SC2086
	{
		if apt-get install -y -q --no-upgrade --no-install-recommends \
		    -o APT::Status-Fd=3 $missing 3>&1 >>"$aptlog" 2>&1
		then echo 0 >"$aptlog.rc"
		else echo $? >"$aptlog.rc"
		fi
	} | awk -F: '
		function show(what, i,   pct, msg, step) {
			pct = $i + 0; msg = $(i + 1)
			for (i += 2; i <= NF; i++) msg = msg ":" $i
			step = int(pct / 10)
			if (!(what in last) || step > last[what]) {
				last[what] = step
				printf "setup: %s %3d%%  %s\n", what, pct, msg
				fflush()
			}
		}
		$1 == "dlstatus" { show("download", 3) }
		$1 == "pmstatus" && $2 != "dpkg-exec" {
			# pmstatus:PACKAGE[:ARCH]:PERCENT:MESSAGE
			i = ($3 ~ /^[0-9.]+$/) ? 3 : 4
			show("install ", i)
		}'
	rc=$(cat "$aptlog.rc" 2>/dev/null || echo 1)
	rm -f "$aptlog.rc"
	if [ -n "$policy" ]; then
		rm -f "$policy"
		trap - EXIT INT TERM
	fi
	if [ "$rc" != 0 ]; then
		tail -n 30 "$aptlog" >&2
		echo "setup: apt-get install failed (exit $rc); its whole output: $aptlog" >&2
		exit 1
	fi
	grep -E '^[0-9]+ upgraded, ' "$aptlog" | sed 's/^/setup: /' || true
	rm -f "$aptlog"
	# the daemons of packages installed just now stay off at boot
	disabled=
	for ps in nsd:nsd unbound:unbound sendmail-bin:sendmail; do
		case " $missing " in *" ${ps%%:*} "*) ;; *) continue ;; esac
		if update-rc.d "${ps#*:}" disable >/dev/null 2>&1; then
			disabled="$disabled ${ps#*:}"
		fi
	done
	if [ -n "$disabled" ]; then
		echo "setup: not started, and disabled at boot:$disabled" \
		    "(the test world runs its own; 'update-rc.d NAME enable' undoes it)"
	fi
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] ||
    [ Makefile.am -nt Makefile.in ]; then
	echo "setup: autoreconf"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
	echo "setup: configure"
	./configure -q --prefix=/usr --sysconfdir=/etc \
	    --libdir=/usr/lib/x86_64-linux-gnu \
	    --with-sendmail-cf=/usr/share/sendmail/cf
fi
echo "setup: make"
make -s -j2 all
