divert(-1)
dnl
dnl  sendmail-dane: opportunistic DANE TLS (RFC 7672) for the SMTP client
dnl  of the stock sendmail binary, with the libsendmail-dane.so module.
dnl
dnl  Use it before the MAILER lines:
dnl
dnl	define(`DANE_MAILERS', `esmtp smtp smtp8 dsmtp')dnl   opportunistic DANE
dnl	define(`DANE_ONLY_MAILERS', `')dnl                  mandatory DANE
dnl	define(`DANE_OPTIN_MAILERS', `')dnl     DANE where DANE: entries say
dnl	define(`DANE_AUDIT_MAILERS', `')dnl     verdicts logged, not applied
dnl	FEATURE(`dane')dnl
dnl
dnl  The smtp family mailers named in the lists get the third A= argument
dnl  dane, dane-only, dane-optin or dane-audit (dane-587 and so on when their arguments
dnl  were set to another port), which the module answers with the port and
dnl  takes as the mode of the delivery; the others of that family get
dnl  smdane-none (or smdane-none-2525 for a port set before the feature),
dnl  so that every delivery tells the module its mode.  The try_tls, tls_server and tls_rcpt
dnl  rulesets ask the module for a verdict through a TXT map lookup of a
dnl  reserved .invalid name; without the module every SMTP delivery is
dnl  deferred with 4.7.0 DANE extension not active.
dnl
dnl  Settings, all optional, given with define before the feature line:
dnl	confSMDANE_USAGE01	default, ta-digests or strict
dnl	confSMDANE_DIGESTS	digest preference, default sha512 sha256
dnl	confSMDANE_UPSTREAM	where DNS queries go: empty (the nameservers
dnl				of confSMDANE_RESOLV_CONF), recurse, or
dnl				addresses (addr or addr@port)
dnl	confSMDANE_RESOLV_CONF	resolver file, default /etc/resolv.conf
dnl	confSMDANE_TRUST_ANCHOR	DNSSEC trust anchor, default
dnl				/usr/share/dns/root.key (dns-root-data)
dnl	confSMDANE_NO_DNSSEC	defer (default) or opportunistic: what an
dnl				upstream that delivers no DNSSEC means
dnl	confSMDANE_DNS_TIMEOUT	DNS time per delivery in seconds, default 15
dnl	confSMDANE_UNBOUND_CONF	further libunbound settings (unbound.conf
dnl				syntax), default none
dnl	confSMDANE_LOGLEVEL	0 to 3, default 1
dnl
divert(0)dnl
VERSIONID(`sendmail-dane 0.1.0')
divert(-1)

ifdef(`DANE_ONLY_MAILERS', , `define(`DANE_ONLY_MAILERS', `')')
ifdef(`DANE_OPTIN_MAILERS', , `define(`DANE_OPTIN_MAILERS', `')')
ifdef(`DANE_AUDIT_MAILERS', , `define(`DANE_AUDIT_MAILERS', `')')

dnl _SMDANE_IN_(word, list): 1 if word is in the blank or comma separated list
define(`_SMDANE_IN_', `ifelse(index(` 'translit(`$2', `,	', `  ')` ', ` $1 '), `-1', `0', `1')')

dnl by default DANE_MAILERS holds the smtp family mailers but relay that no
dnl other list names
define(`_SMDANE_DEFAULT_', `ifelse(_SMDANE_IN_(`$1', DANE_ONLY_MAILERS DANE_OPTIN_MAILERS DANE_AUDIT_MAILERS), `1', `', `$1 ')')
ifdef(`DANE_MAILERS', , `define(`DANE_MAILERS', _SMDANE_DEFAULT_(`esmtp')_SMDANE_DEFAULT_(`smtp')_SMDANE_DEFAULT_(`smtp8')_SMDANE_DEFAULT_(`dsmtp'))')

dnl _SMDANE_LISTS_(mailer): how many of the four lists name it
define(`_SMDANE_LISTS_', `eval(_SMDANE_IN_(`$1', DANE_MAILERS) + _SMDANE_IN_(`$1', DANE_ONLY_MAILERS) + _SMDANE_IN_(`$1', DANE_OPTIN_MAILERS) + _SMDANE_IN_(`$1', DANE_AUDIT_MAILERS))')
dnl _SMDANE_WHICH_(mailer): the names of the lists that name it
define(`_SMDANE_WHICH_', `ifelse(_SMDANE_IN_(`$1', DANE_MAILERS), `1', ` DANE`'_MAILERS')`'ifelse(_SMDANE_IN_(`$1', DANE_ONLY_MAILERS), `1', ` DANE`'_ONLY_MAILERS')`'ifelse(_SMDANE_IN_(`$1', DANE_OPTIN_MAILERS), `1', ` DANE`'_OPTIN_MAILERS')`'ifelse(_SMDANE_IN_(`$1', DANE_AUDIT_MAILERS), `1', ` DANE`'_AUDIT_MAILERS')')

dnl _SMDANE_PORT_(macro): -NNN when the mailer arguments already name a port
define(`_SMDANE_PORT_', `ifdef(`$1', `regexp(defn(`$1'), `^TCP \$h \([0-9]+\)$', `-\1')')')
dnl _SMDANE_SERVABLE_(macro): 0 when the arguments are set to anything but
dnl TCP $h or TCP $h <port>: the module could not tell host and port apart
define(`_SMDANE_SERVABLE_', `ifdef(`$1', `ifelse(defn(`$1'), `TCP $'`h', `1',
	regexp(defn(`$1'), `^TCP \$h [0-9]+$'), `0', `1', `0')', `1')')
dnl _SMDANE_UNSERVED_(macro, mailer): refuse loudly; the module defers
dnl every delivery through the mailer until the arguments are fixed
define(`_SMDANE_UNSERVED_', `errprint(`*** ERROR: dane: mailer $2: $1 is 'defn(`$1')`; FEATURE(dane) serves only TCP $'`h or TCP $'`h <port>: name the host with SMART_HOST or the mailertable (e.g. $2:[10.0.0.1]) and keep the port in $1 (TCP $'`h 26), or take $2 out of DANE_MAILERS and DANE_ONLY_MAILERS; until then every delivery through $2 is deferred
')define(`$1', `TCP $'`h dane-unserved')')
dnl _SMDANE_CONTRADICTS_(macro, mailer): a mailer in two lists has no mode
define(`_SMDANE_CONTRADICTS_', `errprint(`*** ERROR: dane: mailer $2 is named in more than one list:'_SMDANE_WHICH_(`$2')`; name it in one only; until then every delivery through $2 is deferred
')define(`$1', `TCP $'`h dane-unserved')')
dnl _SMDANE_SET_(macro, mailer): the A= arguments of one smtp family mailer
define(`_SMDANE_SET_', `ifelse(eval(_SMDANE_LISTS_(`$2') > 1), `1', `_SMDANE_CONTRADICTS_(`$1', `$2')',
	_SMDANE_IN_(`$2', DANE_ONLY_MAILERS DANE_MAILERS DANE_OPTIN_MAILERS DANE_AUDIT_MAILERS)_SMDANE_SERVABLE_(`$1'), `10', `_SMDANE_UNSERVED_(`$1', `$2')',
	_SMDANE_IN_(`$2', DANE_ONLY_MAILERS), `1', `define(`$1', `TCP $'`h dane-only'_SMDANE_PORT_(`$1'))',
	_SMDANE_IN_(`$2', DANE_OPTIN_MAILERS), `1', `define(`$1', `TCP $'`h dane-optin'_SMDANE_PORT_(`$1'))',
	_SMDANE_IN_(`$2', DANE_AUDIT_MAILERS), `1', `define(`$1', `TCP $'`h dane-audit'_SMDANE_PORT_(`$1'))',
	_SMDANE_IN_(`$2', DANE_MAILERS), `1', `define(`$1', `TCP $'`h dane'_SMDANE_PORT_(`$1'))',
	`ifdef(`$1', `ifelse(_SMDANE_PORT_(`$1'), `', `ifelse(defn(`$1'), `TCP $'`h',
		`define(`$1', `TCP $'`h smdane-none')')',
		`define(`$1', `TCP $'`h smdane-none'_SMDANE_PORT_(`$1'))')',
		`define(`$1', `TCP $'`h smdane-none')')')')

dnl every listed mailer must be one this feature can serve
define(`_SMDANE_CHECK_', `ifelse(`$1', `', `',
	_SMDANE_IN_(`$1', `smtp esmtp smtp8 dsmtp relay'), `1', `',
	`errprint(`*** ERROR: dane: unsupported mailer $1')')')
define(`_SMDANE_CHECK_ALL_', `ifelse(`$#', `0', `', `$#', `1', `_SMDANE_CHECK_(`$1')', `_SMDANE_CHECK_(`$1')_SMDANE_CHECK_ALL_(shift($@))')')
_SMDANE_CHECK_ALL_(translit(DANE_MAILERS DANE_ONLY_MAILERS DANE_OPTIN_MAILERS DANE_AUDIT_MAILERS, `	 ', `,,'))

_SMDANE_SET_(`SMTP_MAILER_ARGS', `smtp')
_SMDANE_SET_(`ESMTP_MAILER_ARGS', `esmtp')
_SMDANE_SET_(`SMTP8_MAILER_ARGS', `smtp8')
_SMDANE_SET_(`DSMTP_MAILER_ARGS', `dsmtp')
_SMDANE_SET_(`RELAY_MAILER_ARGS', `relay')

dnl Arguments set again after the feature would carry no marker, and the
dnl module could not tell such a delivery's mode: at the end of the input
dnl (before cf.m4 writes the cf) check that each is still the feature's,
dnl else say so and write D{smdane_fatal}, with which the module refuses
dnl every SMTP delivery until the configuration is fixed.
define(`_SMDANE_KEEP_', `define(`_SMDANE_WAS_$1', defn(`$1'))')
_SMDANE_KEEP_(`SMTP_MAILER_ARGS')_SMDANE_KEEP_(`ESMTP_MAILER_ARGS')dnl
_SMDANE_KEEP_(`SMTP8_MAILER_ARGS')_SMDANE_KEEP_(`DSMTP_MAILER_ARGS')dnl
_SMDANE_KEEP_(`RELAY_MAILER_ARGS')
define(`_SMDANE_LATE_', `ifelse(defn(`$1'), defn(`_SMDANE_WAS_$1'), `',
	`errprint(`*** ERROR: dane: $1 was set after FEATURE(dane): set mailer arguments before the feature; until then every SMTP delivery is deferred
')divert(6)`D{smdane_fatal}$1 was set after the dane feature'
divert(-1)')')
dnl opt-in mailers do DANE where a DANE: access entry says so: without
dnl FEATURE(`access_db') they would never do it
m4wrap(`ifelse(translit(DANE_OPTIN_MAILERS, `	 ,', `'), `', `', `ifdef(`_ACCESS_TABLE_', `',
	`errprint(`*** ERROR: dane: DANE_OPTIN_MAILERS needs FEATURE(access_db): opt-in mailers do DANE only for destinations a DANE: entry of the access map names
')')')')
m4wrap(`_SMDANE_LATE_(`SMTP_MAILER_ARGS')_SMDANE_LATE_(`ESMTP_MAILER_ARGS')_SMDANE_LATE_(`SMTP8_MAILER_ARGS')_SMDANE_LATE_(`DSMTP_MAILER_ARGS')_SMDANE_LATE_(`RELAY_MAILER_ARGS')')

define(`_LOCAL_TRY_TLS_', `1')
define(`_LOCAL_TLS_SERVER_', `1')
define(`_LOCAL_TLS_RCPT_', `1')

LOCAL_CONFIG
D{smdane_version}2
D{smdane_mailers}DANE_MAILERS
D{smdane_only_mailers}DANE_ONLY_MAILERS
D{smdane_optin_mailers}DANE_OPTIN_MAILERS
D{smdane_audit_mailers}DANE_AUDIT_MAILERS
D{smdane_usage01}ifdef(`confSMDANE_USAGE01', `confSMDANE_USAGE01', `default')
D{smdane_digests}ifdef(`confSMDANE_DIGESTS', `confSMDANE_DIGESTS', `sha512 sha256')
ifdef(`confSMDANE_RESOLVERS', `errprint(`*** ERROR: dane: confSMDANE_RESOLVERS is obsolete: DNSSEC is validated in-process, see confSMDANE_UPSTREAM
')')dnl
D{smdane_upstream}ifdef(`confSMDANE_UPSTREAM', `confSMDANE_UPSTREAM', `')
D{smdane_resolv_conf}ifdef(`confSMDANE_RESOLV_CONF', `confSMDANE_RESOLV_CONF', `')
D{smdane_trust_anchor}ifdef(`confSMDANE_TRUST_ANCHOR', `confSMDANE_TRUST_ANCHOR', `')
D{smdane_no_dnssec}ifdef(`confSMDANE_NO_DNSSEC', `confSMDANE_NO_DNSSEC', `defer')
D{smdane_dns_timeout}ifdef(`confSMDANE_DNS_TIMEOUT', `confSMDANE_DNS_TIMEOUT', `15')
D{smdane_unbound_conf}ifdef(`confSMDANE_UNBOUND_CONF', `confSMDANE_UNBOUND_CONF', `')
D{smdane_loglevel}ifdef(`confSMDANE_LOGLEVEL', `confSMDANE_LOGLEVEL', `1')
Ksmdane dns -R TXT -t -T<TEMP> -d2s -r1

divert(9)
SLocal_try_tls
R$*	$: $1 $| $>SMDANE_Ask <try_tls> $| $&{verify} $| $&{server_name} $| $&{server_addr} $| $&h $| $| $&{cert_md5} $&{cert_fp}
R$* $| $#$*	$# $2
R$* $| $*	$: $1

SLocal_tls_server
R$*	$: $1 $| $>SMDANE_Ask <tls_server> $| $&{verify} $| $&{server_name} $| $&{server_addr} $| $&h $| $| $&{cert_md5} $&{cert_fp}
R$* $| $#$*	$# $2
R$* $| $*	$: $1

SLocal_tls_rcpt
R$*	$: $1 $| $>SMDANE_Domain $1
R$* $| $*	$: $1 $| $>SMDANE_Ask <tls_rcpt> $| $&{verify} $| $&{server_name} $| $&{server_addr} $| $&h $| $2 $| $&{cert_md5} $&{cert_fp}
R$* $| $#$*	$# $2
R$* $| $*	$: $1

SSMDANE_Domain
R$* < $* > $*	$2
R$* @ $+	$@ $2
R$*	$@

SSMDANE_Ask
R$* $| $| $*	$1 $| none $| $2
R$* $|	$1 $| none
R<$-> $| $+ $| $+ $| $+ $| $+ . $| $+ $| $+	<$1> $| $2 $| $3 $| $4 $| $5 $| $6 $| $7
R<$-> $| $+ $| $+ $| $+ $| $+ $| $+ . $| $+	<$1> $| $2 $| $3 $| $4 $| $5 $| $6 $| $7
R<$-> $| $+ $| $+ $| $+ $| $+ $| $+ $| $+	$: $(smdane _p . $1 . _v . $2 . _s . $3 . _a . $4 . _h . $5 . _r . $6 . _c . $7 . v1 . no-resolver-can-answer-this-name-its-label-exceeds-sixty-three-bytes . dane-hook . invalid . $: <NOHOOK> $)
R$* <TEMP>	$#error $@ 4.7.0 $: "454 4.7.0 DANE extension lookup failed"
R<NOHOOK>	$#error $@ 4.7.0 $: "454 4.7.0 DANE extension not active"
ROK $*	$@ OK
RFAIL $*	$#error $@ 4.7.5 $: "454 4.7.5 " $1
R$*	$#error $@ 4.7.0 $: "454 4.7.0 DANE extension gave no verdict"
divert(-1)
