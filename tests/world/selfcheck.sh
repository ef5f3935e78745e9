#!/bin/bash
# Self-check of a started world:  selfcheck.sh DIR
# Asserts the DNS expectations (AD / no AD / SERVFAIL / NXDOMAIN, TLSA data
# equal to DIR/pki/digests.txt) as the world's upstream variant answers them
# on 127.0.0.1 (slow: unbound itself, behind the delaying proxy), that each
# sink serves the expected chain and records the SNI, that 127.0.0.12 offers
# no STARTTLS, that nothing listens on 127.0.0.19, and that /dev/log reaches
# /var/log/mail.log.
# Exits 0 when all is well, 1 with a message per failure otherwise.
set -eu
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "${1:-}" != --inside ]; then
    [ $# -eq 1 ] || { echo "usage: selfcheck.sh DIR" >&2; exit 2; }
    exec "$SRC/world.sh" exec "$1" /bin/bash "$SRC/selfcheck.sh" --inside "${1%/}"
fi
D=$2
FAILS=0
NCHECK=0
bad() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
read -r UPSTREAM RESOLVER <"$D/upstream"
[ "$UPSTREAM" = slow ] || RESOLVER=127.0.0.1

digest() {   # digest PLACEHOLDER -> hex value from digests.txt
    awk -v k="$1" '$1 == k { print $2 }' "$D/pki/digests.txt"
}
norm() { tr -d ' \t' | tr 'A-F' 'a-f'; }

# dnscheck EXPECT NAME TYPE [RDATA...]
#   EXPECT: secure (NOERROR+AD), nxsecure (NXDOMAIN+AD),
#           insecure (NOERROR, no AD), servfail
#   as a validating resolver answers; without validation (plain) there is
#   no AD and bogus data comes back as NOERROR, signed answers still carry
#   their RRSIGs; the adproxy variant sets AD on everything.
#   RDATA: expected answers; "{{X:Y}}" is replaced from digests.txt
dnscheck() {
    local want=$1 name=$2 type=$3 out status ad answers exp= r
    shift 3
    NCHECK=$((NCHECK + 1))
    out=$(dig +dnssec +tries=2 +time=2 @"$RESOLVER" "$name" "$type" 2>&1) || true
    case "$UPSTREAM/$want" in
        plain/secure|adproxy/secure)
            [ $# -eq 0 ] || echo "$out" | grep -q "[[:space:]]RRSIG[[:space:]]$type[[:space:]]" ||
                { bad "$name $type: no RRSIG $type in the answer"; return; } ;;
    esac
    case "$UPSTREAM/$want" in
        plain/secure|plain/servfail) want=insecure ;;
        plain/nxsecure) want=nxinsecure ;;
        adproxy/servfail|adproxy/insecure) want=secure ;;
    esac
    status=$(echo "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
    if echo "$out" | grep -q '^;; flags:.* ad[ ;]'; then ad=ad; else ad=noad; fi
    case "$want" in
        secure)   [ "$status/$ad" = NOERROR/ad ] || { bad "$name $type: want NOERROR+AD, got $status/$ad"; return; } ;;
        nxsecure) [ "$status/$ad" = NXDOMAIN/ad ] || { bad "$name $type: want NXDOMAIN+AD, got $status/$ad"; return; } ;;
        insecure) [ "$status/$ad" = NOERROR/noad ] || { bad "$name $type: want NOERROR without AD, got $status/$ad"; return; } ;;
        nxinsecure) [ "$status/$ad" = NXDOMAIN/noad ] || { bad "$name $type: want NXDOMAIN without AD, got $status/$ad"; return; } ;;
        servfail) [ "$status" = SERVFAIL ] || { bad "$name $type: want SERVFAIL, got $status/$ad"; return; } ;;
    esac
    [ $# -gt 0 ] || return 0
    answers=$(dig +short @"$RESOLVER" "$name" "$type" | while read -r l; do echo "$l" | norm; done | sort)
    for r in "$@"; do
        while [[ $r =~ \{\{([A-Z0-9]+:[A-Za-z0-9_.-]+)\}\} ]]; do
            r=${r/"${BASH_REMATCH[0]}"/$(digest "${BASH_REMATCH[1]}")}
        done
        exp+="$(echo "$r" | norm)"$'\n'
    done
    exp=$(printf '%s' "$exp" | sort)
    [ "$answers" = "$exp" ] || bad "$name $type: answers [$answers] want [$exp]"
}

Z=dane.test
dnscheck secure client.$Z A 127.0.0.1
# scenario MX + A + TLSA
for s in 311 301 201 211 bad notls notlsa tlsabogus unusable names tanames self noca; do
    dnscheck secure s$s.$Z MX "10 mx$s.$Z."
done
dnscheck secure mx311.$Z A 127.0.0.11
dnscheck secure _25._tcp.mx311.$Z TLSA "3 1 1 {{SPKI256:L1}}"
dnscheck secure _25._tcp.mx301.$Z TLSA "3 0 1 {{CERT256:L1}}"
dnscheck secure _25._tcp.mx201.$Z TLSA "2 0 1 {{CERT256:CA}}"
dnscheck secure _25._tcp.mx211.$Z TLSA "2 1 1 {{SPKI256:CA}}"
dnscheck secure mxbad.$Z A 127.0.0.11
dnscheck secure _25._tcp.mxbad.$Z TLSA
dnscheck secure mxnotls.$Z A 127.0.0.12
dnscheck secure _25._tcp.mxnotls.$Z TLSA "3 1 1 {{SPKI256:L1}}"
dnscheck secure mxnotlsa.$Z A 127.0.0.11
dnscheck nxsecure _25._tcp.mxnotlsa.$Z TLSA
dnscheck secure mxtlsabogus.$Z A 127.0.0.11
dnscheck servfail _25._tcp.mxtlsabogus.$Z TLSA
dnscheck secure mxunusable.$Z A 127.0.0.11
dnscheck secure _25._tcp.mxunusable.$Z TLSA "0 0 1 {{CERT256:CA}}"
dnscheck secure mxnames.$Z A 127.0.0.13
dnscheck secure _25._tcp.mxnames.$Z TLSA "3 1 1 {{SPKI256:L3}}"
dnscheck secure mxtanames.$Z A 127.0.0.13
dnscheck secure _25._tcp.mxtanames.$Z TLSA "2 0 1 {{CERT256:CA}}"
dnscheck secure mxself.$Z A 127.0.0.14
dnscheck secure _25._tcp.mxself.$Z TLSA "3 1 1 {{SPKI256:L4}}"
dnscheck secure mxnoca.$Z A 127.0.0.15
dnscheck secure _25._tcp.mxnoca.$Z TLSA "2 0 1 {{CERT256:CA}}"
dnscheck secure stwomx.$Z MX "10 mxtwo1.$Z." "20 mxtwo2.$Z."
dnscheck secure mxtwo1.$Z A 127.0.0.11
dnscheck secure _25._tcp.mxtwo1.$Z TLSA
dnscheck secure mxtwo2.$Z A 127.0.0.16
dnscheck secure _25._tcp.mxtwo2.$Z TLSA "3 1 1 {{SPKI256:L6}}"
dnscheck secure ssecinsec.$Z MX "10 mxsi.insecure.test."
dnscheck secure sgood2.$Z MX "10 mxg1.$Z." "20 mxg2.$Z."
dnscheck secure mxg1.$Z A 127.0.0.16
dnscheck secure _25._tcp.mxg1.$Z TLSA "3 1 1 {{SPKI256:L6}}"
dnscheck secure mxg2.$Z A 127.0.0.11
dnscheck secure _25._tcp.mxg2.$Z TLSA "3 1 1 {{SPKI256:L1}}"
dnscheck secure srefuse.$Z MX "10 mxrefuse.$Z." "20 mxr2.$Z."
dnscheck secure mxrefuse.$Z A 127.0.0.19
dnscheck secure _25._tcp.mxrefuse.$Z TLSA "3 1 1 {{SPKI256:L1}}"
dnscheck secure mxr2.$Z A 127.0.0.16
dnscheck secure _25._tcp.mxr2.$Z TLSA "3 1 1 {{SPKI256:L6}}"
for n in s311 mx311 _25._tcp.mx311; do
    dnscheck secure $n.$Z AAAA          # NOERROR/NODATA, proven
done
# insecure.test: unsigned delegation
dnscheck insecure insecure.test MX "10 mx.insecure.test."
dnscheck insecure mx.insecure.test A 127.0.0.11
dnscheck insecure _25._tcp.mx.insecure.test TLSA "3 1 1 {{SPKI256:L1}}"
dnscheck insecure mxsi.insecure.test A 127.0.0.11
dnscheck insecure _25._tcp.mxsi.insecure.test TLSA
# bogus zones
dnscheck servfail expired.test MX
dnscheck servfail mx.expired.test A
dnscheck servfail _25._tcp.mx.expired.test TLSA
dnscheck servfail dsbad.test MX
dnscheck servfail mx.dsbad.test A
dnscheck servfail _25._tcp.mx.dsbad.test TLSA
# the chain from our own trust anchor, as drill sees it
NCHECK=$((NCHECK + 1))
drill -D -k "$D/dns/root.anchor" -S mx311.dane.test A @"$RESOLVER" >/tmp/selfcheck.drill.$$ 2>&1 &&
    grep -q '^;; Chase successful' /tmp/selfcheck.drill.$$ ||
    bad "drill -S mx311.dane.test A: chain not secure ($(tr '\n' ' ' </tmp/selfcheck.drill.$$ | cut -c1-300))"
rm -f /tmp/selfcheck.drill.$$

# TLS sinks: tlscheck ADDR SNI PEMNAME NCERTS
tlscheck() {
    local addr=$1 sni=$2 pem=$3 ncerts=$4 out got want n
    NCHECK=$((NCHECK + 1))
    out=$(openssl s_client -starttls smtp -connect "$addr:25" -servername "$sni" \
          -showcerts </dev/null 2>&1) || { bad "$addr: STARTTLS handshake failed: $(echo "$out" | tail -3 | tr '\n' ' ')"; return; }
    n=$(echo "$out" | grep -c -- '-----BEGIN CERTIFICATE-----' || true)
    [ "$n" = "$ncerts" ] || bad "$addr: server sent $n certificates, want $ncerts"
    got=$(echo "$out" | openssl x509 -noout -fingerprint -sha256 2>/dev/null)
    want=$(openssl x509 -in "$D/pki/$pem.pem" -noout -fingerprint -sha256)
    [ "$got" = "$want" ] || bad "$addr: leaf is not $pem ($got)"
    sleep 0.1
    tail -n 50 "$D/sink.jsonl" | grep "\"listener\": \"$addr:25\"" | tail -1 |
        grep -q "\"sni\": \"$sni\"" || bad "$addr: sink did not record SNI $sni"
}
tlscheck 127.0.0.11 mx311.dane.test L1 2
tlscheck 127.0.0.13 mxnames.dane.test L3 2
tlscheck 127.0.0.14 mxself.dane.test L4 1
tlscheck 127.0.0.15 mxnoca.dane.test L5 1
tlscheck 127.0.0.16 mxg1.dane.test L6 2

# 127.0.0.12: ESMTP without STARTTLS
NCHECK=$((NCHECK + 1))
if exec 3<>/dev/tcp/127.0.0.12/25; then
    ehlo=
    read -r -t 5 greet <&3 || true
    printf 'EHLO selfcheck\r\n' >&3
    while read -r -t 5 l <&3; do ehlo+="$l"$'\n'; case "$l" in 250\ *) break ;; esac; done
    printf 'STARTTLS\r\n' >&3
    read -r -t 5 st <&3 || st=
    printf 'QUIT\r\n' >&3
    read -r -t 5 q <&3 || true
    exec 3<&-
    case "$greet" in 220*) ;; *) bad "127.0.0.12: greeting [$greet]" ;; esac
    echo "$ehlo" | grep -q '^250[ -]' || bad "127.0.0.12: no EHLO reply"
    echo "$ehlo" | grep -qi starttls && bad "127.0.0.12 advertises STARTTLS"
    case "$st" in 5*) ;; *) bad "127.0.0.12: STARTTLS answered [$st]" ;; esac
else
    bad "127.0.0.12:25 does not accept connections"
fi
# 127.0.0.19: nothing listens
NCHECK=$((NCHECK + 1))
if (exec 3<>/dev/tcp/127.0.0.19/25) 2>/dev/null; then bad "127.0.0.19:25 accepts connections"; fi

# syslog
NCHECK=$((NCHECK + 1))
tag="selfcheck-$$-$RANDOM"
logger -p mail.info -t selfcheck "$tag"
sleep 0.2
grep -q "$tag" /var/log/mail.log || bad "/dev/log message did not reach /var/log/mail.log"

if [ "$FAILS" -ne 0 ]; then
    echo "selfcheck: $FAILS of $NCHECK checks FAILED" >&2
    exit 1
fi
echo "selfcheck: all $NCHECK checks passed"
