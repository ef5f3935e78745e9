#!/bin/bash
# Hermetic DANE test world: private namespaces with our own signed DNS tree,
# a resolver (validating, or one of the other upstream variants), TLS SMTP
# sinks and a syslog receiver.  See README.
#
#   world.sh start DIR [--preload FILE] [--module FILE[:PATH]]
#                      [--upstream VARIANT] [--delay S] [--keep]
#                                         build state in DIR, start, wait ready
#                                         (on failure: the first error, and
#                                         DIR cleaned up unless --keep)
#   world.sh exec DIR CMD [ARG...]        run CMD inside the world
#   world.sh stop DIR                     kill the world (idempotent)
set -eu

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

die() { echo "world.sh: $*" >&2; exit 1; }

usage() {
    echo "usage: world.sh start DIR [--preload FILE] [--module FILE[:PATH]] [--upstream validating|plain|adproxy|slow] [--delay S] [--keep] | exec DIR CMD [ARG...] | stop DIR" >&2
    exit 2
}

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "world.sh: must run as root (needs namespaces and mounts); skipping" >&2
        exit 77
    fi
}

absdir() {
    case "$1" in /*) ;; *) die "DIR must be an absolute path: $1" ;; esac
    printf '%s\n' "${1%/}"
}

# is PID the init of the world in DIR?
is_world_init() {
    local pid=$1 dir=$2 cmd
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    case "$cmd" in *" __init $dir "*|*" __init $dir") return 0 ;; esac
    return 1
}

# process exists and is not a zombie
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# mkdir + owner/mode like the host's directory (or the given defaults)
mkmirror() {
    local host=$1 dst=$2 own=$3 mode=$4
    if [ -d "$host" ]; then
        own=$(stat -c '%U:%G' "$host")
        mode=$(stat -c '%a' "$host")
    fi
    mkdir -p "$dst"
    chown "$own" "$dst"
    chmod "$mode" "$dst"
}

# What start wrote to DIR (removed again when the world fails to start).
STATE_FILES="fs dns pki log sink sink.jsonl sinks.conf state pid unshare.pid upstream"

# EXIT trap of start: when it fails after it began writing to DIR, stop
# what runs and remove what it wrote (DIR too if that leaves it empty),
# unless --keep.
START_DIR= START_KEEP=
start_exit() {
    local rc=$? f
    [ "$rc" != 0 ] && [ -n "$START_DIR" ] || return 0
    cmd_stop "$START_DIR" >/dev/null 2>&1 || return 0
    if [ -n "$START_KEEP" ]; then
        echo "world.sh: --keep: $START_DIR kept (logs in $START_DIR/log)" >&2
        return 0
    fi
    for f in $STATE_FILES; do rm -rf "${START_DIR:?}/$f"; done
    rmdir "$START_DIR" 2>/dev/null || true
}

# The world did not come up: say why (the first line of the init's error
# output: unshare's own error, or the failing command's; else WHY), show
# the end of that output and exit 1 (start_exit cleans up).
start_failed() {
    local D=$1 why=$2 first
    first=$(grep -m 1 -v '^[[:space:]]*$' "$D/log/init.log" 2>/dev/null) || first=
    echo "world.sh: world in $D failed to start: ${first:-$why}" >&2
    if [ -n "$first" ]; then
        [ "$first" = "$why" ] || echo "world.sh: ($why)" >&2
        if [ "$(wc -l <"$D/log/init.log")" -gt 1 ]; then
            echo "world.sh: the world's error output ($D/log/init.log):" >&2
            tail -n 20 "$D/log/init.log" | sed 's/^/  /' >&2
        fi
    fi
    [ -n "$START_KEEP" ] || echo "world.sh: (start with --keep to keep $D and its logs)" >&2
    exit 1
}

cmd_start() {
    [ $# -ge 1 ] || usage
    need_root
    local D preload= module= modpath= upstream=validating delay=1.5
    local L=/usr/lib/x86_64-linux-gnu
    D=$(absdir "$1"); shift
    while [ $# -gt 0 ]; do
        case "$1" in
            --keep) START_KEEP=1; shift ;;
            --preload) [ $# -ge 2 ] || usage; preload=$2; shift 2 ;;
            --module) [ $# -ge 2 ] || usage; module=$2; shift 2 ;;
            --upstream) [ $# -ge 2 ] || usage; upstream=$2; shift 2 ;;
            --delay) [ $# -ge 2 ] || usage; delay=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    if [ -n "$preload" ]; then
        [ -f "$preload" ] || die "--preload: no such file: $preload"
    fi
    if [ -n "$module" ]; then
        case "$module" in
            *:*) modpath=${module#*:}; module=${module%%:*} ;;
            *) modpath=$L/sendmail-dane/$(basename "$module") ;;
        esac
        [ -f "$module" ] || die "--module: no such file: $module"
        case "$modpath" in
            "$L"/*/*) ;;
            *) die "--module: $modpath is not in a directory under $L" ;;
        esac
        case "$modpath" in
            */../*|*/./*|*//*) die "--module: not a plain path: $modpath" ;;
        esac
    fi
    case "$upstream" in
        validating|plain|adproxy|slow) ;;
        *) die "--upstream: unknown variant: $upstream" ;;
    esac
    case "$delay" in
        ''|*[!0-9.]*) die "--delay: not a number of seconds: $delay" ;;
    esac
    # the world's /usr/share/dns/root.key is a tmpfs mounted over the
    # host's directory (dns-root-data), which must exist to be covered
    [ -d /usr/share/dns ] ||
        die "/usr/share/dns missing: install dns-root-data (tests/setup.sh)"
    mkdir -p "$D"
    if [ -f "$D/pid" ] && is_world_init "$(cat "$D/pid")" "$D"; then
        die "a world is already running in $D (pid $(cat "$D/pid"))"
    fi
    START_DIR=$D
    trap start_exit EXIT
    # fresh state (only what we create; other files in DIR are left alone)
    local f
    for f in $STATE_FILES; do rm -rf "${D:?}/$f"; done
    mkdir -p "$D/log" "$D/fs" "$D/sink"
    : >"$D/sink.jsonl"
    chmod 755 "$D/log"

    python3 "$SRC/gen.py" "$D" --upstream "$upstream"
    echo "$delay" >"$D/dns/delay"

    local F=$D/fs
    mkdir -p "$F/etc.upper" "$F/etc.work" "$F/olddev"
    mkdir -p "$F/spool"
    chmod 755 "$F/spool"
    mkmirror /var/spool/mqueue "$F/spool/mqueue" smmta:smmsp 2750
    mkmirror /var/spool/mqueue-client "$F/spool/mqueue-client" smmsp:smmsp 2770
    mkdir -p "$F/run"
    chmod 755 "$F/run"
    mkdir -p "$F/run/lock"
    chmod 1777 "$F/run/lock"
    mkmirror /run/sendmail "$F/run/sendmail" root:smmta 2755
    mkmirror /run/sendmail/mta "$F/run/sendmail/mta" smmta:smmsp 2755
    mkmirror /run/sendmail/msp "$F/run/sendmail/msp" smmsp:smmsp 2775
    mkmirror /run/sendmail/stampdir "$F/run/sendmail/stampdir" root:smmsp 2775
    mkmirror /var/mail "$F/mail" root:mail 2775
    mkmirror /var/lib/sendmail "$F/lib-sendmail" smmta:smmsp 2751
    if [ -n "$preload" ]; then
        mkdir -p "$F/usrlib.upper" "$F/usrlib.work"
        cp "$preload" "$F/usrlib.upper/$(basename "$preload")"
        chown root:root "$F/usrlib.upper/$(basename "$preload")"
        chmod 4755 "$F/usrlib.upper/$(basename "$preload")"
    fi
    if [ -n "$module" ]; then
        # the module the shim loads, root-owned at its compiled-in path
        local rel=${modpath#"$L"/} d
        mkdir -p "$F/usrlib.upper" "$F/usrlib.work"
        d=$F/usrlib.upper
        chown root:root "$d"; chmod 755 "$d"
        while [ "${rel%%/*}" != "$rel" ]; do
            d=$d/${rel%%/*}; rel=${rel#*/}
            mkdir -p "$d"; chown root:root "$d"; chmod 755 "$d"
        done
        cp "$module" "$d/$rel"
        chown root:root "$d/$rel"
        chmod 644 "$d/$rel"
    fi

    # unshare's and the init's error output go to log/init.log, the init's
    # trace to log/init.trace
    setsid unshare --net --mount --uts --ipc --pid --fork --mount-proc \
        --propagation private /bin/bash "$SRC/world.sh" __init "$D" \
        </dev/null >>"$D/log/init.log" 2>&1 &
    local upid=$! pid= st
    echo "$upid" >"$D/unshare.pid"
    # the init is unshare's child; unshare exits at once when it cannot
    # create the namespaces (then it is a zombie until we wait for it)
    SECONDS=0
    while [ "$SECONDS" -lt 5 ]; do
        pid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}') || true
        [ -n "$pid" ] && break
        alive "$upid" || break
        sleep 0.02
    done
    if [ -z "$pid" ]; then
        if alive "$upid"; then
            start_failed "$D" "unshare started no world init within 5 s"
        fi
        wait "$upid" 2>/dev/null && st=0 || st=$?
        case "$(cat "$D/state" 2>/dev/null)" in
            failed*) start_failed "$D" "init: $(sed 's/^failed: //' "$D/state")" ;;
        esac
        start_failed "$D" "unshare exited (status $st), no world init is running"
    fi
    echo "$pid" >"$D/pid"
    # the init says "ready" or "failed: ..." in DIR/state within 15 s of
    # its start, or exits
    SECONDS=0
    while :; do
        st=$(cat "$D/state" 2>/dev/null) || st=
        case "$st" in
            ready) START_DIR=; trap - EXIT; return 0 ;;
            failed*) start_failed "$D" "init: ${st#failed: }" ;;
        esac
        if ! alive "$pid"; then
            start_failed "$D" "the world init exited without saying why (trace: $D/log/init.trace)"
        fi
        if [ "$SECONDS" -ge 30 ]; then
            start_failed "$D" "timeout: the world init reported neither ready nor failed within 30 s; its last step: $(tail -n 1 "$D/log/init.trace" 2>/dev/null | cut -c1-200)"
        fi
        sleep 0.05
    done
}

# PID 1 of the world: runs inside the new namespaces.
cmd_init() {
    local D=$1 F=$1/fs
    # nothing in the world keeps the caller's working directory, which
    # may lie outside the world's root
    cd /
    exec 9>>"$D/log/init.trace"
    BASH_XTRACEFD=9
    set -x
    fail() { echo "failed: $*" >"$D/state"; echo "init: $*" >&2; exit 1; }
    trap 'fail "line $LINENO: $BASH_COMMAND (exit status $?)"' ERR
    trap 'exit 0' TERM INT

    # /etc: writable overlay with the world's own resolver config and names
    mount -t overlay overlay \
        -o "lowerdir=/etc,upperdir=$F/etc.upper,workdir=$F/etc.work" /etc
    rm -f /etc/resolv.conf /etc/hosts /etc/hostname /etc/mailname
    printf 'nameserver 127.0.0.1\noptions edns0 trust-ad\n' >/etc/resolv.conf
    printf '127.0.0.1 localhost\n127.0.0.1 client.dane.test client\n' >/etc/hosts
    echo client.dane.test >/etc/hostname
    echo client.dane.test >/etc/mailname
    hostname client.dane.test

    # network: loopback only, one 127.0.0.x / 127.0.1.x address per host
    ip link set lo up
    local a
    local upstream resolver
    read -r upstream resolver <"$D/upstream"
    for a in 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14 127.0.0.15 \
             127.0.0.16 127.0.0.19 $(cat "$D/dns/nsd-servers"); do
        ip addr add "$a/32" dev lo
    done
    for a in $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/:[0-9]*[[:space:]].*//' -e 's/:[0-9]*$//' "$D/sinks.conf") "$resolver"; do
        ip addr add "$a/32" dev lo 2>/dev/null || true
    done

    # private state directories
    mount --bind "$F/spool" /var/spool
    mount --bind "$F/run" /run
    mount --bind "$D/log" /var/log
    mount --bind "$F/mail" /var/mail
    mount --bind "$F/lib-sendmail" /var/lib/sendmail

    # private /dev with a few device nodes and our own /dev/log
    mount --bind /dev "$F/olddev"
    mount -t tmpfs -o mode=755,size=4m,nosuid tmpfs /dev
    local n
    for n in null zero urandom random tty full; do
        if [ -e "$F/olddev/$n" ]; then
            touch "/dev/$n"
            mount --bind "$F/olddev/$n" "/dev/$n"
        fi
    done
    umount "$F/olddev"
    ln -s /proc/self/fd /dev/fd
    ln -s /proc/self/fd/0 /dev/stdin
    ln -s /proc/self/fd/1 /dev/stdout
    ln -s /proc/self/fd/2 /dev/stderr
    mkdir /dev/shm /dev/pts
    chmod 1777 /dev/shm
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts || true
    ln -s pts/ptmx /dev/ptmx

    # the world's own root trust anchor (and hints) where Debian's
    # dns-root-data puts them, on a tmpfs over the host's directory
    mount -t tmpfs -o mode=755,size=1m,nosuid,nodev tmpfs /usr/share/dns
    install -m 644 "$D/dns/root.anchor" /usr/share/dns/root.key
    install -m 644 "$D/dns/root.anchor" /usr/share/dns/root.ds
    install -m 644 "$D/dns/root.hints" /usr/share/dns/root.hints

    # the preloaded extension, as a set-user-ID file in the standard
    # directory, and the module it loads
    if [ -d "$F/usrlib.upper" ]; then
        mount -t overlay overlay -o "lowerdir=/usr/lib/x86_64-linux-gnu,upperdir=$F/usrlib.upper,workdir=$F/usrlib.work" \
            /usr/lib/x86_64-linux-gnu
    fi

    # services
    python3 "$SRC/syslogd.py" /dev/log /var/log/mail.log &
    for a in $(cat "$D/dns/nsd-servers"); do
        nsd -d -c "$D/dns/nsd-$a/nsd.conf" &
    done
    unbound -d -c "$D/dns/unbound.conf" &
    case "$upstream" in
        adproxy)
            python3 "$SRC/dnsproxy.py" --listen 127.0.0.1:53 \
                --upstream "$resolver:53" --set-ad \
                --log "$D/log/dnsproxy.jsonl" 2>>"$D/log/dnsproxy.log" & ;;
        slow)
            python3 "$SRC/dnsproxy.py" --listen 127.0.0.1:53 \
                --upstream "$resolver:53" --delay "$(cat "$D/dns/delay")" \
                --log "$D/log/dnsproxy.jsonl" 2>>"$D/log/dnsproxy.log" & ;;
    esac
    python3 "$SRC/smtpsink.py" --config "$D/sinks.conf" --log "$D/sink.jsonl" \
        --spool "$D/sink" 2>>"$D/log/smtpsink.log" &

    # readiness: /dev/log, sinks listening, a signed answer from unbound
    # (validated unless the variant does not validate), the proxy if any
    # listening on 127.0.0.1:53
    local ok= why
    local want dnsready
    want=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/[[:space:]].*//' "$D/sinks.conf" | sort)
    if [ "$resolver" != 127.0.0.1 ]; then
        want=$(printf '%s\n127.0.0.1:53\n' "$want" | sort)
    fi
    case "$upstream" in
        validating|slow) dnsready='^;; flags:.* ad[ ;]' ;;
        *) dnsready='^dane\.test\..*[[:space:]]RRSIG[[:space:]]SOA[[:space:]]' ;;
    esac
    SECONDS=0
    while [ "$SECONDS" -lt 15 ]; do
        if [ ! -S /dev/log ]; then
            why="no /dev/log (syslogd.py: $D/log/init.log)"
        elif [ "$(ss -Hltn | awk '{print $4}' | sort | grep -Fxf <(echo "$want") | wc -l)" != "$(echo "$want" | wc -l)" ]; then
            why="not listening: $(ss -Hltn | awk '{print $4}' | sort | grep -Fvxf - <(echo "$want") | tr '\n' ' ')(sinks: $D/log/smtpsink.log)"
        elif ! dig +dnssec +tries=1 +time=1 @"$resolver" dane.test SOA 2>/dev/null | grep -q "$dnsready"; then
            why="no ${upstream} answer for dane.test SOA from $resolver (unbound: $D/log/unbound.log)"
        else
            ok=1
            break
        fi
        sleep 0.05
    done
    [ -n "$ok" ] || fail "not ready after 15 s: $why"
    set +x
    trap - ERR
    echo ready >"$D/state"

    # reap orphans until killed
    while :; do
        sleep 3600 &
        wait || true
    done
}

cmd_exec() {
    [ $# -ge 2 ] || usage
    need_root
    local D pid
    D=$(absdir "$1"); shift
    pid=$(cat "$D/pid" 2>/dev/null) || die "no world running in $D"
    is_world_init "$pid" "$D" || die "no world running in $D"
    # working directory: the world's / (--wdns is resolved inside it; the
    # caller's may not exist there)
    exec nsenter -t "$pid" -m -u -n -i -p -r --wdns=/ -- "$@"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    need_root
    local D pid upid i
    D=$(absdir "$1")
    pid=$(cat "$D/pid" 2>/dev/null) || pid=
    upid=$(cat "$D/unshare.pid" 2>/dev/null) || upid=
    if [ -n "$pid" ] && is_world_init "$pid" "$D"; then
        kill -KILL "$pid" 2>/dev/null || true
        for i in $(seq 1 400); do
            alive "$pid" || break
            sleep 0.025
        done
        if alive "$pid"; then die "world init $pid did not die"; fi
    fi
    # the host-side unshare process exits when its child (the init) is gone
    if [ -n "$upid" ] && [ -r "/proc/$upid/cmdline" ] &&
       tr '\0' ' ' <"/proc/$upid/cmdline" | grep -q "unshare .* __init $D"; then
        for i in $(seq 1 200); do
            alive "$upid" || break
            sleep 0.025
        done
        if alive "$upid"; then kill -KILL "$upid" 2>/dev/null || true; fi
    fi
    rm -f "$D/pid" "$D/unshare.pid"
    if [ -f "$D/state" ]; then echo stopped >"$D/state"; fi
    return 0
}

[ $# -ge 1 ] || usage
sub=$1; shift
case "$sub" in
    start) cmd_start "$@" ;;
    exec) cmd_exec "$@" ;;
    stop) cmd_stop "$@" ;;
    __init) cmd_init "$@" ;;
    *) usage ;;
esac
