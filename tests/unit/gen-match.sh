#!/bin/sh
# NAME
#	gen-match.sh - generate tests/unit/match.in, the TLSA matching cases
#
# SYNOPSIS
#	tests/unit/gen-match.sh > tests/unit/match.in
#
# DESCRIPTION
#	Makes a small PKI with the openssl command (EC P-256 keys): a root
#	CA, an intermediate CA, an expired intermediate, leaves with various
#	names (base, next hop, unrelated, wildcard, partial wildcard, CN
#	only, CN next to a SAN, mixed case), an expired and a not-yet-valid
#	leaf, a self-signed leaf and a renewal of a leaf with the same key.
#	Certificates that are meant to be valid run from 2020 to 2120, so
#	the committed data does not expire; the expired ones ended in 2001.
#	Then it writes the cases, in the spirit of OpenSSL's test/danetest.in:
#	the chain the server presents, the TLSA records (as DNS would carry
#	them), the TLSA base domain, the next-hop names, settings and the
#	expected outcome.  Expectations are written here by hand from the
#	RFCs, never computed from OpenSSL's answer.  match_test.c reads the
#	file and runs every case through dane_decide(), dane_ssl_apply() and
#	X509_verify_cert().  Output is deterministic only up to the keys and
#	signatures, which are fresh on each run; commit the result.
#
#	Record format of the output, one keyword per line:
#	  cert NAME + PEM lines	a certificate used by chains below
#	  case NAME		starts a case; "end" ends it
#	  item N[,N]		CONFORMANCE.md items the case proves
#	  base NAME		TLSA base domain (SNI, first reference id)
#	  nexthop NAME		next-hop domain ("-": none, relay-like)
#	  nexthop-cname NAME	CNAME expansion of the next hop
#	  usage01 MODE		default | ta-digests | strict
#	  digests A B		digest preference, mtype numbers, strongest first
#	  chain NAME...		certificates the server sends, leaf first
#	  tlsa U S M HEX	one TLSA record (HEX "-" for empty data)
#	  expect auth DEPTH U S M	authenticated by this effective record
#	  expect fail CODE NAME	X509_verify_cert error (X509_V_ERR_*)
#	  expect encrypt	no usable record: TLS required, no DANE
set -eu

umask 077
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

OK_FROM=20200101000000Z
OK_TO=21200101000000Z
OLD_FROM=20000101000000Z
OLD_TO=20010101000000Z
NEW_FROM=20900101000000Z
NEW_TO=21000101000000Z

cat > ca.cnf <<'CNF'
[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = optional
organizationName = optional
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN
[leaf_nosan_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[self_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = $ENV::SAN
CNF
: > index.txt
echo 1000 > serial
SAN=DNS:unused
export SAN

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$1.key" 2>/dev/null
}

# sign NAME KEY SUBJECT ISSUER EXT FROM TO [SAN]
sign() {
	SAN=${8:-DNS:unused}
	openssl req -new -config ca.cnf -key "$2.key" -subj "$3" \
	    -out "$1.csr" 2>/dev/null
	if [ "$4" = self ]; then
		set -- "$1" "$2" "$3" "$4" "$5" "$6" "$7" -selfsign \
		    -keyfile "$2.key"
	else
		set -- "$1" "$2" "$3" "$4" "$5" "$6" "$7" -cert "$4.pem" \
		    -keyfile "$4.key"
	fi
	n=$1 e=$5 f=$6 t=$7
	shift 7
	openssl ca -batch -config ca.cnf -notext -extensions "$e" \
	    -startdate "$f" -enddate "$t" -in "$n.csr" -out "$n.pem" \
	    "$@" 2>/dev/null
}

key root; key int; key intx; key leaf; key other; key self
sign root root "/CN=Match Root CA" self ca_ext $OK_FROM $OK_TO
sign int int "/CN=Match Intermediate CA" root ca_ext $OK_FROM $OK_TO
sign intx intx "/CN=Match Expired Intermediate CA" root ca_ext \
    $OLD_FROM $OLD_TO
sign leaf leaf "/CN=mx.example.com" int leaf_ext $OK_FROM $OK_TO \
    DNS:mx.example.com
sign renewed leaf "/CN=mx.example.com" int leaf_ext $OK_FROM $OK_TO \
    DNS:mx.example.com
sign nexthop other "/CN=example.com" int leaf_ext $OK_FROM $OK_TO \
    DNS:example.com
sign unrelated other "/CN=other.example.net" int leaf_ext $OK_FROM \
    $OK_TO DNS:other.example.net
sign wild other "/CN=wildcard" int leaf_ext $OK_FROM $OK_TO \
    DNS:*.example.com
sign partial other "/CN=partial wildcard" int leaf_ext $OK_FROM $OK_TO \
    DNS:mx*.example.com
sign cnonly other "/CN=mx.example.com" int leaf_nosan_ext $OK_FROM \
    $OK_TO
sign cnsan other "/CN=mx.example.com" int leaf_ext $OK_FROM $OK_TO \
    DNS:foo.example.net
sign upper other "/CN=upper" int leaf_ext $OK_FROM $OK_TO \
    DNS:MX.Example.COM
sign expired leaf "/CN=mx.example.com" int leaf_ext $OLD_FROM $OLD_TO \
    DNS:mx.example.com
sign future leaf "/CN=mx.example.com" int leaf_ext $NEW_FROM $NEW_TO \
    DNS:mx.example.com
sign underx other "/CN=mx.example.com" intx leaf_ext $OK_FROM $OK_TO \
    DNS:mx.example.com
sign self self "/CN=self.example.org" self self_ext $OK_FROM $OK_TO \
    DNS:self.example.org

hex() { od -An -v -tx1 | tr -d ' \n'; }
der() { openssl x509 -in "$1.pem" -outform DER; }
spki() { openssl x509 -in "$1.pem" -noout -pubkey | \
    openssl pkey -pubin -outform DER; }

# data U S M CERT [bad]: TLSA data for a certificate; "bad" flips it.
data() {
	if [ "$2" = 0 ]; then get=der; else get=spki; fi
	case $3 in
	0) d=$($get "$4" | hex) ;;
	1) d=$($get "$4" | openssl dgst -sha256 -binary | hex) ;;
	2) d=$($get "$4" | openssl dgst -sha512 -binary | hex) ;;
	esac
	if [ "${5:-}" = bad ]; then
		# Flip the last byte: same length, no match.
		last=${d#"${d%??}"}
		d=${d%??}$(printf '%02x' $(( 0x$last ^ 0xff )))
	fi
	printf '%s' "$d"
}
tlsa() { printf 'tlsa %s %s %s %s\n' "$1" "$2" "$3" "$(data "$@")"; }

for c in root int intx leaf renewed nexthop unrelated wild partial \
    cnonly cnsan upper expired future underx self; do
	printf 'cert %s\n' "$c"
	cat "$c.pem"
done
printf '\n'

# case NAME ITEMS BASE NEXTHOP CHAIN...
case_() {
	printf '\ncase %s\nitem %s\nbase %s\nnexthop %s\n' "$1" "$2" "$3" "$4"
	shift 4
	printf 'chain %s\n' "$*"
}
G=$(data 3 1 1 leaf)
H=$(data 3 1 1 leaf bad)

echo '# DANE-EE(3): names and dates ignored, leaf only (RFC 7672 3.1.1, 3.2.1)'
case_ ee_ignores_unrelated_name 44 mx.example.com example.com unrelated int
tlsa 3 1 1 unrelated; echo 'expect auth 0 3 1 1'; echo end
case_ ee_ignores_expired_leaf 44 mx.example.com example.com expired int
tlsa 3 1 1 expired; echo 'expect auth 0 3 1 1'; echo end
case_ ee_ignores_not_yet_valid_leaf 44 mx.example.com example.com future int
tlsa 3 0 1 future; echo 'expect auth 0 3 0 1'; echo end
case_ ee_accepts_self_signed_leaf 44 mx.example.com example.com self
tlsa 3 1 1 self; echo 'expect auth 0 3 1 1'; echo end
case_ ee_needs_no_intermediate 44 mx.example.com example.com leaf
tlsa 3 1 2 leaf; echo 'expect auth 0 3 1 2'; echo end
case_ ee_full_certificate 44,45 mx.example.com example.com leaf int
tlsa 3 0 0 leaf; echo 'expect auth 0 3 0 0'; echo end
case_ ee_full_spki 44,45 mx.example.com example.com leaf int
tlsa 3 1 0 leaf; echo 'expect auth 0 3 1 0'; echo end
case_ ee_spki_digest_survives_renewal 45 mx.example.com example.com \
    renewed int
tlsa 3 1 1 leaf; echo 'expect auth 0 3 1 1'; echo end
case_ ee_cert_digest_fails_after_renewal 45 mx.example.com example.com \
    renewed int
tlsa 3 0 1 leaf; echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end
case_ ee_does_not_match_intermediate 46 mx.example.com example.com leaf int
tlsa 3 1 1 int; echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end

echo '# DANE-TA(2): anchor in the chain or in DNS (RFC 7672 3.1.2, RFC 7671 5.2)'
case_ ta_intermediate_cert_digest 47 mx.example.com example.com \
    leaf int root
tlsa 2 0 1 int; echo 'expect auth 1 2 0 1'; echo end
case_ ta_intermediate_spki_digest 47 mx.example.com example.com leaf int
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end
case_ ta_root_cert_sha512_root_sent 47 mx.example.com example.com \
    leaf int root
tlsa 2 0 2 root; echo 'expect auth 2 2 0 2'; echo end
case_ ta_root_spki_sha512_root_sent 47 mx.example.com example.com \
    leaf int root
tlsa 2 1 2 root; echo 'expect auth 2 2 1 2'; echo end
case_ ta_root_digest_root_not_sent 47 mx.example.com example.com leaf int
tlsa 2 0 1 root; echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end
case_ ta_full_root_cert_from_dns 47 mx.example.com example.com leaf int
tlsa 2 0 0 root; echo 'expect auth 2 2 0 0'; echo end
# A bare key is not a certificate in the chain: OpenSSL reports the
# depth of the certificate the key signed (SSL_get0_dane_authority(3)).
case_ ta_full_root_key_from_dns 47 mx.example.com example.com leaf int
tlsa 2 1 0 root; echo 'expect auth 1 2 1 0'; echo end
case_ ta_does_not_match_leaf 48 mx.example.com example.com leaf int
tlsa 2 0 1 leaf; tlsa 2 1 1 leaf
echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end
case_ ta_full_key_of_self_signed_leaf 48 self.example.org - self
tlsa 2 1 0 self; echo 'expect auth 0 2 1 0'; echo end
case_ ta_expired_leaf_fails 49 mx.example.com example.com expired int
tlsa 2 0 1 int; echo 'expect fail 10 X509_V_ERR_CERT_HAS_EXPIRED'; echo end
case_ ta_expired_intermediate_fails 49 mx.example.com example.com \
    underx intx root
tlsa 2 0 1 root; echo 'expect fail 10 X509_V_ERR_CERT_HAS_EXPIRED'; echo end

echo '# DANE-TA names (RFC 7672 3.2.2, 3.2.3; RFC 7671 7)'
case_ ta_name_is_base 53 mx.example.com example.com leaf int
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end
case_ ta_name_is_nexthop 53 mx.example.com example.com nexthop int
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end
case_ ta_nexthop_not_a_refname_for_relay 53,28 mx.example.com - nexthop int
tlsa 2 1 1 int; echo 'expect fail 62 X509_V_ERR_HOSTNAME_MISMATCH'; echo end
case_ ta_unrelated_name_fails 53 mx.example.com example.com unrelated int
tlsa 2 1 1 int; echo 'expect fail 62 X509_V_ERR_HOSTNAME_MISMATCH'; echo end
printf '\ncase ta_name_is_expanded_nexthop\nitem 12,54\nbase mx.example.com\n'
printf 'nexthop exchange.example.org\nnexthop-cname other.example.net\n'
printf 'chain unrelated int\n'
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end
case_ ta_wildcard_matches_one_label 59 mx.example.com - wild int
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end
case_ ta_wildcard_not_the_parent 59 example.com - wild int
tlsa 2 1 1 int; echo 'expect fail 62 X509_V_ERR_HOSTNAME_MISMATCH'; echo end
case_ ta_wildcard_not_two_labels 59 a.mx.example.com - wild int
tlsa 2 1 1 int; echo 'expect fail 62 X509_V_ERR_HOSTNAME_MISMATCH'; echo end
case_ ta_partial_wildcard_refused 59 mx1.example.com - partial int
tlsa 2 1 1 int; echo 'expect fail 62 X509_V_ERR_HOSTNAME_MISMATCH'; echo end
case_ ta_san_hides_cn 58 mx.example.com - cnsan int
tlsa 2 1 1 int; echo 'expect fail 62 X509_V_ERR_HOSTNAME_MISMATCH'; echo end
case_ ta_cn_used_without_san 58 mx.example.com - cnonly int
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end
case_ ta_names_compare_case_insensitive 60 mx.example.com - upper int
tlsa 2 1 1 int; echo 'expect auth 1 2 1 1'; echo end

echo '# Any one match suffices; none is a failure (RFC 7672 3.2, 9.1)'
case_ any_one_of_five 50 mx.example.com example.com leaf int
tlsa 3 1 1 unrelated; tlsa 3 1 1 self; tlsa 2 1 1 self; tlsa 3 0 1 int
tlsa 2 0 1 int; echo 'expect auth 1 2 0 1'; echo end
case_ ee_beats_ta 50 mx.example.com example.com leaf int
tlsa 2 0 1 int; tlsa 3 1 1 leaf; echo 'expect auth 0 3 1 1'; echo end
case_ ta_depth_1_beats_depth_2 50 mx.example.com example.com leaf int root
tlsa 2 0 1 root; tlsa 2 0 1 int; echo 'expect auth 1 2 0 1'; echo end
case_ none_match 51 mx.example.com example.com leaf int
tlsa 3 1 1 unrelated; tlsa 2 0 1 self
echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end

echo '# Digest algorithm agility (RFC 7671 9; RFC 7672 5)'
case_ agility_sha512_good_sha256_bad 52 mx.example.com example.com leaf int
tlsa 3 1 2 leaf; printf 'tlsa 3 1 1 %s\n' "$H"
echo 'expect auth 0 3 1 2'; echo end
case_ agility_sha512_bad_hides_sha256_good 52 mx.example.com example.com \
    leaf int
tlsa 3 1 2 leaf bad; printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end
case_ agility_malformed_sha512_discarded_first 52,33 mx.example.com \
    example.com leaf int
printf 'tlsa 3 1 2 %s\n' "$G"; printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect auth 0 3 1 1'; echo end
case_ agility_full_value_plays_no_role 52 mx.example.com example.com leaf int
tlsa 3 1 0 leaf; tlsa 3 1 2 leaf bad; echo 'expect auth 0 3 1 0'; echo end
case_ agility_per_selector 52 mx.example.com example.com leaf int
tlsa 3 0 2 leaf bad; printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect auth 0 3 1 1'; echo end
case_ agility_per_usage 52 mx.example.com example.com leaf int
tlsa 2 0 2 int bad; printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect auth 0 3 1 1'; echo end
case_ agility_ta_sha512_bad_hides_sha256_good 52 mx.example.com \
    example.com leaf int
tlsa 2 0 2 int bad; tlsa 2 0 1 int
echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end
case_ agility_preference_sha256_first 52 mx.example.com example.com leaf int
echo 'digests 1 2'
tlsa 3 1 2 leaf bad; printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect auth 0 3 1 1'; echo end
case_ agility_preference_sha256_first_hides_sha512 52 mx.example.com \
    example.com leaf int
echo 'digests 1 2'
tlsa 3 1 2 leaf; printf 'tlsa 3 1 1 %s\n' "$H"
echo 'expect fail 65 X509_V_ERR_DANE_NO_MATCH'; echo end

echo '# Malformed, unusable and many records (RFC 6698 4.1; RFC 7671 9)'
case_ malformed_next_to_good 33 mx.example.com example.com leaf int
printf 'tlsa 3 1 1 %s\n' "${G%??}"
printf 'tlsa 3 1 1 %s00\n' "$G"
printf 'tlsa 4 1 1 %s\n' "$H"
printf 'tlsa 3 2 1 %s\n' "$H"
printf 'tlsa 3 1 3 %s\n' "$H"
printf 'tlsa 3 1 255 %s\n' "$H"
printf 'tlsa 3 0 0 %s\n' "308201"
printf 'tlsa 3 1 0 %s\n' "$H"
printf 'tlsa 3 1 1 -\n'
printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect auth 0 3 1 1'; echo end
case_ only_malformed_means_encrypt 33,34 mx.example.com example.com leaf int
printf 'tlsa 3 1 1 %s\n' "${G%??}"
printf 'tlsa 3 1 2 %s\n' "$G"
printf 'tlsa 2 0 0 %s\n' "$H"
echo 'expect encrypt'; echo end
case_ many_records_last_matches 36 mx.example.com example.com leaf int
i=0
while [ $i -lt 24 ]; do
	printf 'tlsa 3 1 1 %s%02x\n' "${G%??}" $(( i ^ 0x5a ))
	i=$((i + 1))
done
printf 'tlsa 3 1 1 %s\n' "$G"
echo 'expect auth 0 3 1 1'; echo end

echo '# Usage 0/1 settings (docs/POLICY.md usage 0/1 rule; RFC 7672 3.1.3)'
case_ usage1_as_usage3_by_default 35 mx.example.com example.com \
    unrelated int
tlsa 1 1 1 unrelated; echo 'expect auth 0 3 1 1'; echo end
case_ usage0_full_cert_as_usage2_by_default 35 mx.example.com \
    example.com leaf int
tlsa 0 0 0 int; echo 'expect auth 1 2 0 0'; echo end
case_ usage0_digest_unusable_by_default 34 mx.example.com example.com \
    leaf int
tlsa 0 0 1 int; echo 'expect encrypt'; echo end
case_ usage0_digest_as_usage2_with_ta_digests 35 mx.example.com \
    example.com leaf int
echo 'usage01 ta-digests'
tlsa 0 0 1 int; echo 'expect auth 1 2 0 1'; echo end
case_ usage1_unusable_when_strict 34 mx.example.com example.com leaf int
echo 'usage01 strict'
tlsa 1 1 1 leaf; tlsa 0 0 0 int; echo 'expect encrypt'; echo end
case_ strict_keeps_usage3 35 mx.example.com example.com leaf int
echo 'usage01 strict'
tlsa 1 1 1 leaf; tlsa 3 1 1 leaf bad; tlsa 3 1 2 leaf
echo 'expect auth 0 3 1 2'; echo end
