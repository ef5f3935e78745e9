#!/usr/bin/python3
"""The scenarios side by side: Postfix, Exim, stock sendmail, sendmail-dane.

  conformance.py [--out FILE.md] [--justify FILE.tsv] [--check] [TABLE.tsv...]

Every scenario of the tables (default: tests/scenarios/*.tsv but
sendmail.tsv and rollout.tsv, which are about sendmail's own configuration) is sent
inside the hermetic test world (tests/world/) by four MTAs:

  * Debian's sendmail 8.17 as shipped, and with FEATURE(`dane') and the
    preloaded libsendmail-dane.so: exactly as tests/scenarios/run.py does it
    (its functions are imported and used unchanged);
  * Postfix 3.7 and Exim 4.96 from Debian 12's packages, unpacked (never
    installed: they conflict with sendmail-bin) into a cache directory and
    put at /usr inside a second world only, by an overlay mount.

The sendmail world and the Postfix/Exim world run at the same time.  For each
MTA the outcome is read from the sinks' records (which listener got the
message, TLS version, SNI), the MTA's queue, and the MTA's log for whether
the TLS connection was authenticated; see classify_postfix/classify_exim and
docs/CONFORMANCE.md for exactly how.

Writes the table (Markdown) to --out ("-": standard output), and with
--results every cell's outcome as JSON.  With --check the exit status is 1
when sendmail-dane's outcome differs from the expected one in any row, when
it differs from Postfix's in a row that has no justification in --justify
(name<TAB>text lines), when any MTA's outcome is LOST in any row, or, with
the default tables, when a column collapsed: fewer RFC-expected outcomes
from an MTA than MIN_RFC, or fewer agreements of sendmail-dane with Postfix
or Exim than MIN_AGREE; 77 when not root or when the Postfix/Exim packages
cannot be fetched; 0 otherwise.

Per-row setup items of run.py (mc:, access:, mailertable:): mc and access
are sendmail settings and apply to the two sendmail columns only; the
mailertable entries of all rows are translated into one Postfix transport
map and Exim manualroute routers (see mailertable()).  The one mc setting
that is translated is a mailer's port: a row's define(`X_MAILER_ARGS',
`TCP $h PORT') applies to its mailertable entries that name mailer x, which
become smtp:[host]:PORT for Postfix and, for Exim, a manualroute router of
their own with an smtp transport that has port = PORT (and the same DANE
settings).  noquery: and noconnect: are checks of the sendmail-dane run.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "scenarios"))
import run  # noqa: E402  (tests/scenarios/run.py)

CACHE = os.environ.get("SMDANE_MTA_CACHE", "/var/cache/sendmail-dane/mtas")
MTA_PACKAGES = {"postfix": ["postfix"],
                "exim": ["exim4-base", "exim4-daemon-light"]}
SENDER = "postmaster@client.dane.test"
OUTCOMES = ("AUTH", "ENC", "OPP", "DEFER")
COLUMNS = {"postfix": "Postfix", "exim": "Exim", "stock": "stock sendmail",
           "dane": "sendmail-dane"}
# No column may collapse.  With the default tables (tests/scenarios/*.tsv
# but sendmail.tsv), --check fails when fewer scenarios than these get the
# outcome RFC 7672 expects from an MTA (MIN_RFC), or when sendmail-dane
# agrees with Postfix or Exim in fewer (MIN_AGREE).  The numbers are those
# of docs/CONFORMANCE.md (67 scenarios: Postfix 63 right, Exim 57, stock
# sendmail 14; sendmail-dane right in all 67, which every row asserts, and
# agreeing with Postfix in 63 and with Exim in 57).  A reference MTA that
# cannot run in the world (it fails to start, to read its configuration or
# its working directory, to resolve) drops far below them.  Raise them when
# the table gets better; lower them only with the reason in the commit.
# Independently of the tables, any LOST outcome (neither delivered, nor
# queued, nor bounced) in any column fails.
MIN_RFC = {"postfix": 63, "exim": 57, "stock": 14}
MIN_AGREE = {"postfix": 63, "exim": 57}


class Skip(Exception):
    pass


def log(msg):
    print("conformance: " + msg, file=sys.stderr, flush=True)


# --- the Postfix and Exim packages, unpacked ------------------------------

def sh_ok(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def installed(pkg):
    p = sh_ok(["dpkg-query", "-W", "-f=${Status}", pkg])
    return p.returncode == 0 and p.stdout.endswith("installed") \
        and "not-installed" not in p.stdout


def download(pkgs, debdir):
    """apt-get download into debdir; one apt-get update and retry on failure."""
    os.makedirs(debdir, exist_ok=True)
    for attempt in (1, 2):
        p = sh_ok(["apt-get", "download", "-q"] + pkgs, cwd=debdir)
        if p.returncode == 0:
            break
        if attempt == 1:
            sh_ok(["apt-get", "update", "-q"])
    else:
        raise Skip("apt-get download %s failed: %s" %
                   (" ".join(pkgs), p.stderr.strip()[-300:]))
    debs = []
    for pkg in pkgs:
        found = sorted(glob.glob(os.path.join(debdir, pkg + "_*.deb")),
                       key=os.path.getmtime)
        if not found:
            raise Skip("apt-get download left no %s_*.deb" % pkg)
        debs.append(found[-1])
    return debs


def lib_depends(deb):
    """Names of lib* packages a .deb depends on (first alternative)."""
    out = sh_ok(["dpkg-deb", "-f", deb, "Depends"]).stdout
    names = []
    for item in out.split(","):
        name = item.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name.startswith("lib"):
            names.append(name)
    return names


def ensure_mtas():
    """Unpack postfix and exim4 into CACHE/{postfix,exim}; runtime library
    packages the host lacks go to CACHE/libs (and are reported: they belong
    in tests/setup.sh).  Returns the list of /usr trees for the overlay."""
    stamp = os.path.join(CACHE, "unpacked")
    trees = [os.path.join(CACHE, t, "usr") for t in ("postfix", "exim")]
    libs = os.path.join(CACHE, "libs")
    if os.path.exists(stamp):
        with open(stamp) as f:
            missing = f.read().split()
        if missing:
            log("runtime libraries not installed on the host, unpacked into "
                "the world only (add them to tests/setup.sh): " +
                " ".join(missing))
            trees.append(os.path.join(libs, "usr"))
        return trees
    log("fetching and unpacking postfix and exim4 into " + CACHE)
    debdir = os.path.join(CACHE, "debs")
    needed = set()
    for tree, pkgs in MTA_PACKAGES.items():
        dest = os.path.join(CACHE, tree)
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        for deb in download(pkgs, debdir):
            subprocess.run(["dpkg-deb", "-x", deb, dest], check=True)
            needed.update(lib_depends(deb))
    # runtime libraries missing on the host (and their missing lib deps)
    missing, todo, seen = [], sorted(needed), set()
    shutil.rmtree(libs, ignore_errors=True)
    while todo:
        pkg = todo.pop(0)
        if pkg in seen or installed(pkg):
            continue
        seen.add(pkg)
        missing.append(pkg)
        os.makedirs(libs, exist_ok=True)
        for deb in download([pkg], debdir):
            subprocess.run(["dpkg-deb", "-x", deb, libs], check=True)
            todo.extend(lib_depends(deb))
    with open(stamp, "w") as f:
        f.write(" ".join(missing) + "\n")
    return ensure_mtas()


# --- worlds ---------------------------------------------------------------

WORLDS = []
WORLDS_LOCK = threading.Lock()


class MtaWorld(run.World):
    """A world without the preloaded module, with Postfix and Exim at /usr."""

    def __init__(self, trees):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="smdane-conf.")
        with WORLDS_LOCK:
            WORLDS.append(self)
        subprocess.run(["bash", run.WORLD, "start", self.dir], check=True)
        lower = ":".join(trees + ["/usr"])
        self.run(["mount", "-t", "overlay", "overlay", "-o",
                  "lowerdir=" + lower, "/usr"], check=True)
        p = self.sh("ldd /usr/sbin/exim4 /usr/sbin/postfix /usr/sbin/postdrop "
                    "/usr/lib/postfix/sbin/smtp /usr/lib/postfix/sbin/master "
                    "| grep 'not found'")
        if p.stdout.strip():
            raise RuntimeError("shared libraries missing in the world:\n" +
                               p.stdout)
        self.add_users()

    def add_users(self):
        """postfix, postdrop, Debian-exim in the world's /etc (an overlay)."""
        used_u = self.sh("cut -d: -f3 /etc/passwd").stdout.split()
        used_g = self.sh("cut -d: -f3 /etc/group").stdout.split()
        used = set(int(x) for x in used_u + used_g if x.isdigit())
        free = (i for i in range(64100, 65000) if i not in used)
        pf, pd, ex = next(free), next(free), next(free)
        self.sh("""set -e
grep -q '^postfix:' /etc/passwd || {
  echo 'postfix:x:%(pf)d:%(pf)d:Postfix:/var/spool/postfix:/usr/sbin/nologin' >>/etc/passwd
  echo 'postfix:x:%(pf)d:' >>/etc/group
  echo 'postdrop:x:%(pd)d:' >>/etc/group
}
grep -q '^Debian-exim:' /etc/passwd || {
  echo 'Debian-exim:x:%(ex)d:%(ex)d:Exim:/var/spool/exim4:/usr/sbin/nologin' >>/etc/passwd
  echo 'Debian-exim:x:%(ex)d:' >>/etc/group
}""" % {"pf": pf, "pd": pd, "ex": ex}, check=True)


def stop_all():
    with WORLDS_LOCK:
        worlds = list(WORLDS)
    for w in worlds:
        w.stop()


sink_records = run.sink_records


def delivered(records, rcpt):
    return [r for r in records if r.get("type") == "message" and rcpt.lower()
            in [x.lower().strip("<>") for x in r.get("rcpts", [])]]


def where(msg):
    cell = "%s %s" % (msg.get("listener", "?").split(":")[0],
                      msg.get("tls") or "clear")
    if msg.get("sni"):
        cell += " SNI=%s" % msg["sni"]
    return cell


# --- sendmail: run.py's own functions -------------------------------------

def run_sendmail(scenarios, module, results):
    world = run.World(module)
    with WORLDS_LOCK:
        WORLDS.append(world)
    for phase in ("stock", "dane"):
        current = None
        for sc in scenarios:
            key = getattr(sc, "config_key", lambda: None)()
            if current is None or key != current[0]:
                if key is None:
                    run.make_cf(world, phase == "dane")
                else:
                    run.make_cf(world, phase == "dane", sc)
                current = (key,)
            obs = run.deliver(world, sc, phase)
            results[(sc.name, phase)] = {
                "outcome": run.outcome(obs), "cell": run.describe(obs),
                "listener": (obs["messages"][0].get("listener", "").split(":")[0]
                             if obs["messages"] else None),
                "errors": run.check(sc, obs) if phase == "dane" else [],
                "copies": len(obs["messages"])}
    return world


# --- per-row routing (mailertable items) -----------------------------------

SMTP_MAILERS = ("smtp", "esmtp", "smtp8", "dsmtp", "relay")
# define(`ESMTP_MAILER_ARGS', `TCP $h 587') and the like: the port a mailer of
# sendmail's MAILER(`smtp') connects to (mailer/smtp.m4: A=<NAME>_MAILER_ARGS)
MAILER_ARGS_PORT = re.compile(
    r"define\(\s*`(SMTP|ESMTP|SMTP8|DSMTP|RELAY)_MAILER_ARGS'\s*,\s*"
    r"`TCP \$h\s+(\d+)'\s*\)")


def mailer_ports(sc):
    """{mailer: port} of a row's mc items that set a *_MAILER_ARGS port."""
    ports = {}
    for line in getattr(sc, "mc", []):
        m = MAILER_ARGS_PORT.search(line)
        if m:
            ports[m.group(1).lower()] = int(m.group(2))
    return ports


def mailertable(scenarios):
    """{key: (value, port)} of all rows' mailertable items; one key, one
    value.  port is None, or the TCP port the row's mc items give the mailer
    named in the value (define(`RELAY_MAILER_ARGS', `TCP $h 587'))."""
    table = {}
    for sc in scenarios:
        ports = mailer_ports(sc)
        for entry in getattr(sc, "mailertable", []):
            key, _, value = entry.strip().partition(" ")
            value = value.strip()
            item = (value, ports.get(value.partition(":")[0]))
            if table.get(key.lower(), item) != item:
                raise RuntimeError("mailertable key %s has different values in "
                                   "different rows; Postfix and Exim run all "
                                   "rows with one map" % key)
            table[key.lower()] = item
    return table


def postfix_transport(table):
    """sendmail mailertable -> Postfix transport(5) lines."""
    lines = []
    for key, (value, port) in sorted(table.items()):
        mailer, _, host = value.partition(":")
        if mailer in SMTP_MAILERS:
            if port and not host:
                log("mailertable %s %s: port %d without a host, no Postfix "
                    "equivalent, ignored" % (key, value, port))
                continue
            lines.append("%s smtp:%s%s" % (key, host,
                                           ":%d" % port if port else ""))
        elif mailer == "error":
            lines.append("%s error:%s" % (key, host))
        else:
            log("mailertable %s %s: no Postfix equivalent, ignored" %
                (key, value))
    return lines


def exim_routes(table):
    """sendmail mailertable -> Exim manualroute route_list rules, by port:
    {port or None: [rule, ...]} (one router and smtp transport per port)."""
    rules = {}
    for key, (value, port) in sorted(table.items()):
        mailer, _, host = value.partition(":")
        if mailer not in SMTP_MAILERS or not host:
            log("mailertable %s %s: no Exim equivalent, ignored" % (key, value))
            continue
        pattern = "*" + key if key.startswith(".") else key
        if host.startswith("["):
            target = host.strip("[]")      # the host itself, no MX lookup
        else:
            target = host + "/MX"          # MX lookup, as sendmail does
        rules.setdefault(port, []).append("%s %s bydns" % (pattern, target))
    return rules


# --- Postfix --------------------------------------------------------------

POSTFIX_MAIN = """compatibility_level = 3.6
myhostname = client.dane.test
mydomain = dane.test
myorigin = client.dane.test
mydestination =
# only 127.0.0.1 is "myself": the sinks on 127.0.0.1x are other hosts
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
data_directory = /var/spool/postfix-data
maillog_file = /var/log/postfix.log
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_tls_loglevel = 1
"""
# max_use=1 for smtp(8): one delivery per process.  An smtp process caches
# the TLSA RRsets it looked up and logs "unsupported TLSA certificate usage"
# only when it looks one up, so a second row to the same host (rfc35u0 and
# rfc35u0t) handled by the same process would lack the warning that
# classify_postfix() needs for ENC, and show as OPP.
POSTFIX_MASTER = """pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp -o max_use=1
relay     unix  -       -       n       -       -       smtp -o max_use=1
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
PF_STATUS = re.compile(r"postfix/smtp\[(\d+)\]: (\w+): to=<([^>]*)>, "
                       r"relay=([^,]*), .*status=(sent|deferred|bounced) ?(.*)")
PF_TLS = re.compile(r"postfix/smtp\[(\d+)\]: (Verified|Trusted|Untrusted|"
                    r"Anonymous) TLS connection established to (\S+?)(?::\d+)?: ")
PF_LINE = re.compile(r"postfix/smtp\[(\d+)\]: (.*)")
PF_UNUSABLE = re.compile(r"unsupported TLSA|TLSA .*unusable|no usable TLSA",
                         re.I)


def run_postfix(world, scenarios, results):
    main_cf = POSTFIX_MAIN
    transport = postfix_transport(mailertable(scenarios))
    if transport:
        main_cf += "transport_maps = texthash:/etc/postfix/transport\n"
        world.run(["sh", "-c", "mkdir -p /etc/postfix && "
                   "cat > /etc/postfix/transport"],
                  stdin="".join(l + "\n" for l in transport), check=True)
    world.run(["sh", "-c", "mkdir -p /etc/postfix && cat > /etc/postfix/main.cf"],
              stdin=main_cf, check=True)
    world.run(["sh", "-c", "cat > /etc/postfix/master.cf"],
              stdin=POSTFIX_MASTER, check=True)
    pf = os.path.join(CACHE, "postfix")
    world.sh("""set -e
cp -r %(pf)s/etc/postfix/. /etc/postfix/
cp %(pf)s/usr/share/postfix/dynamicmaps.cf %(pf)s/usr/share/postfix/makedefs.out /etc/postfix/
mkdir -p /var/spool/postfix /var/spool/postfix-data
chown postfix /var/spool/postfix-data
postfix start >/dev/null 2>&1 || { postfix check; postfix start; }
""" % {"pf": pf}, check=True)
    version = world.sh("postconf -h mail_version").stdout.strip()
    s0 = run.size(world.path("sink.jsonl"))
    rcpts = {}
    for sc in scenarios:
        rcpt = "%s-postfix@%s" % (sc.name, sc.domain)
        rcpts[sc.name] = rcpt
        world.run(["/usr/sbin/sendmail", "-i", "-f", SENDER, rcpt],
                  stdin=run.MESSAGE.format(rcpt=rcpt, subject=sc.name + "-postfix"),
                  check=True)
    # every message either at a sink, or back in the deferred queue, or
    # bounced/failed according to the log
    deadline = time.time() + 180
    while True:
        time.sleep(0.3)
        recs = sink_records(world, s0)
        queue = postfix_queue(world)
        logtext = run.read_from(world.path("log/postfix.log"), 0)
        final = {m.group(3).lower() for m in PF_STATUS.finditer(logtext)
                 if m.group(5) != "deferred"}
        pending = [r for r in rcpts.values()
                   if not delivered(recs, r) and r.lower() not in final
                   and queue.get(r.lower(), {}).get("queue") != "deferred"]
        if not pending or time.time() > deadline:
            break
    # a last look after the active queue has drained
    recs = sink_records(world, s0)
    queue = postfix_queue(world)
    logtext = run.read_from(world.path("log/postfix.log"), 0)
    for sc in scenarios:
        results[(sc.name, "postfix")] = classify_postfix(
            rcpts[sc.name], recs, queue, logtext)
    world.sh("postfix stop >/dev/null 2>&1")
    return version


def postfix_queue(world):
    out = world.sh("postqueue -j").stdout
    q = {}
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        for r in msg.get("recipients", []):
            q[r["address"].lower()] = {"queue": msg.get("queue_name"),
                                       "reason": r.get("delay_reason", "")}
    return q


def classify_postfix(rcpt, recs, queue, logtext):
    """Outcome of one Postfix delivery.

    DEFER: the message is in Postfix's deferred queue (postqueue -j) and no
    sink got it.  Delivered: the sink record gives listener, TLS, SNI; the
    smtp(8) process that logged "to=<rcpt> ... status=sent" also logged, for
    that relay, "<Level> TLS connection established": Verified (or Trusted)
    = AUTH.  Otherwise ENC if that same delivery attempt logged a TLSA RRset
    without usable records ("unsupported TLSA certificate usage": Postfix's
    dane level then requires TLS without authentication), else OPP.
    """
    msgs = delivered(recs, rcpt)
    lines = logtext.splitlines()
    # the log lines of the smtp(8) process that handled this recipient,
    # since its previous final status line
    status_i, pid = None, None
    for i, line in enumerate(lines):
        m = PF_STATUS.search(line)
        if m and m.group(3).lower() == rcpt.lower():
            status_i, pid = i, m.group(1)
    seg = []
    if status_i is not None:
        for line in reversed(lines[:status_i]):
            m = PF_LINE.search(line)
            if not m or m.group(1) != pid:
                continue
            if PF_STATUS.search(line):
                break
            seg.append(line)
        seg.reverse()
        seg.append(lines[status_i])
    res = {"log": seg, "copies": len(msgs)}
    last = PF_STATUS.search(lines[status_i]) if status_i is not None else None
    if msgs:
        msg = msgs[0]
        relay = last.group(4).rsplit(":", 1)[0] if last else ""
        level = None
        for line in seg:
            m = PF_TLS.search(line)
            if m and (not relay or m.group(3).startswith(relay)):
                level = m.group(2)
        res["listener"] = msg.get("listener", "").split(":")[0]
        cell = where(msg)
        if level in ("Verified", "Trusted") and msg.get("tls"):
            res["outcome"] = "AUTH"
            cell += " " + level.lower()
        elif msg.get("tls") and any(PF_UNUSABLE.search(l) for l in seg):
            res["outcome"] = "ENC"
            cell += " untrusted, TLSA unusable"
        else:
            res["outcome"] = "OPP"
            if level:
                cell += " " + level.lower()
        res["cell"] = cell + (" (x%d)" % len(msgs) if len(msgs) > 1 else "")
        return res
    q = queue.get(rcpt.lower())
    if q and q["queue"] == "deferred":
        res["outcome"] = "DEFER"
        dsn = re.search(r"dsn=([\d.]+)", lines[status_i]) if last else None
        res["cell"] = "deferred: %s%s" % (dsn.group(1) + " " if dsn else "",
                                          q["reason"])
        return res
    if last and last.group(5) == "bounced":
        res["outcome"] = "BOUNCE"
        res["cell"] = "bounced: " + last.group(6)
        return res
    res["outcome"] = "LOST"
    res["cell"] = "not delivered, not queued" + (
        " (queue: %s)" % q["queue"] if q else "")
    return res


# --- Exim -----------------------------------------------------------------

EXIM_CONF = """# Exim 4.96 for the conformance table: DANE where the DNS allows it,
# otherwise opportunistic TLS without certificate verification.
primary_hostname = client.dane.test
qualify_domain = client.dane.test
# only 127.0.0.1 is this host: the sinks on 127.0.0.1x are other hosts
local_interfaces = <; 127.0.0.1
domainlist local_domains =
spool_directory = /var/spool/exim4
log_file_path = /var/log/exim4/%slog
log_selector = +tls_sni +tls_certificate_verified +tls_peerdn +dnssec \\
  +outgoing_port +delivery_size
keep_environment =

begin routers
{routes}dnslookup:
  driver = dnslookup
  transport = remote_smtp
  dnssec_request_domains = *
  no_more

begin transports
remote_smtp:
  driver = smtp
  hosts_try_dane = *
  tls_verify_certificates =
{transports}
begin retry
*  *  F,1d,1h
"""
EX_TLSA_Q = re.compile(r"DNS lookup of _\d+\._tcp\.(\S+) \(TLSA\) (\S+)")
EX_TLSA_R = re.compile(r"TLSA lookup ret (\S+) ?(\S*)")


def run_exim(world, scenarios, results):
    routes, transports = "", ""
    for port, rules in sorted(exim_routes(mailertable(scenarios)).items(),
                              key=lambda kv: kv[0] or 0):
        name = "mailertable%s" % (port or "")
        transport = "remote_smtp%s" % ("_%d" % port if port else "")
        routes += ("%s:\n  driver = manualroute\n"
                   "  transport = %s\n  dnssec_request_domains = *\n"
                   "  route_list = " % (name, transport) +
                   " ; \\\n    ".join(rules) + "\n\n")
        if port:
            # the mailer's port (define(`*_MAILER_ARGS', `TCP $h PORT')):
            # same DANE settings, TLSA at _PORT._tcp
            transports += ("%s:\n  driver = smtp\n  port = %d\n"
                           "  hosts_try_dane = *\n"
                           "  tls_verify_certificates =\n" % (transport, port))
    world.run(["sh", "-c", "mkdir -p /etc/exim4 && cat > /etc/exim4/exim4.conf"],
              stdin=EXIM_CONF.replace("{routes}", routes).replace(
                  "{transports}", transports), check=True)
    world.sh("mkdir -p /var/spool/exim4 /var/log/exim4 && "
             "chown Debian-exim:Debian-exim /var/spool/exim4 /var/log/exim4",
             check=True)
    version = world.sh("exim4 -bV | sed -n 's/^Exim version \\([^ ]*\\).*/\\1/p'"
                       ).stdout.strip()
    os.makedirs(world.path("exim-debug"), exist_ok=True)
    mainlog = world.path("log/exim4/mainlog")
    for sc in scenarios:
        rcpt = "%s-exim@%s" % (sc.name, sc.domain)
        world.sh("rm -rf /var/spool/exim4/db")   # no retry hints between rows
        s0, m0 = run.size(world.path("sink.jsonl")), run.size(mainlog)
        # -d with the transport and dns selectors only: the trace says whether
        # the transport found a DNSSEC-validated TLSA RRset for the host
        p = world.run(["/usr/sbin/exim4", "-d-all+transport+dns", "-odi", "-oi",
                       "-f", SENDER, rcpt],
                      stdin=run.MESSAGE.format(rcpt=rcpt, subject=sc.name + "-exim"))
        with open(world.path("exim-debug/%s.txt" % sc.name), "w") as f:
            f.write(p.stderr)
        time.sleep(0.05)
        recs = sink_records(world, s0)
        log_lines = [l for l in run.read_from(mainlog, m0).splitlines()]
        queue = world.sh("exim4 -bp").stdout
        res = classify_exim(rcpt, recs, log_lines, queue, p.stderr)
        if res["outcome"] == "LOST" and p.returncode != 0:
            # its last words, not the debug trace's closing line
            last = [l for l in p.stderr.splitlines()
                    if l.strip() and not l.startswith(">>>")][-1:]
            res["cell"] += "; exim4 exited %d: %s" % (
                p.returncode, last[0].strip()[-200:] if last else "")
        results[(sc.name, "exim")] = res
    return version


def classify_exim(rcpt, recs, log_lines, queue, debug):
    """Outcome of one Exim delivery.

    DEFER: "exim -bp" still lists the recipient and no sink got it.
    Delivered: the sink record gives listener, TLS, SNI; the mainlog "=>"
    line's CV=dane = AUTH.  Otherwise ENC if the debug trace shows that the
    transport's TLSA lookup for the delivering host succeeded with DNSSEC
    ("TLSA lookup ret DNS_SUCCEED DNSSEC": Exim's smtp transport then
    requires TLS, as the "a TLS session is required" deferral for a DANE host
    without STARTTLS shows), else OPP.
    """
    msgs = delivered(recs, rcpt)
    res = {"log": [l for l in log_lines if " <= " not in l],
           "copies": len(msgs)}
    tlsa_secure, host = set(), None
    for line in debug.splitlines():
        m = EX_TLSA_Q.search(line)
        if m:
            host = m.group(1).lower()
            continue
        m = EX_TLSA_R.search(line)
        if m and host:
            if m.group(1) == "DNS_SUCCEED" and m.group(2) == "DNSSEC":
                tlsa_secure.add(host)
            host = None
    arrow = [l for l in log_lines if " => " in l and rcpt.lower() in l.lower()]
    if msgs:
        msg = msgs[0]
        res["listener"] = msg.get("listener", "").split(":")[0]
        cell = where(msg)
        line = arrow[-1] if arrow else ""
        cv = re.search(r" CV=(\S+)", line)
        h = re.search(r" H=(\S+)", line)
        if cv and cv.group(1) == "dane" and msg.get("tls"):
            res["outcome"] = "AUTH"
            cell += " CV=dane"
        elif msg.get("tls") and h and h.group(1).lower() in tlsa_secure:
            res["outcome"] = "ENC"
            cell += " CV=%s, TLSA found" % (cv.group(1) if cv else "?")
        else:
            res["outcome"] = "OPP"
            if cv:
                cell += " CV=" + cv.group(1)
        res["cell"] = cell + (" (x%d)" % len(msgs) if len(msgs) > 1 else "")
        return res
    if rcpt.lower() in queue.lower():
        res["outcome"] = "DEFER"
        reason = [l for l in log_lines if " == " in l and rcpt.lower() in l.lower()]
        why = reason[-1].split(" defer ", 1)[-1] if reason else "?"
        why = re.sub(r"^\(-?\d+\)\s*:?\s*", "", why).strip()
        why = re.sub(r"H=(\S+)(?: DS)? \[[^\]]*\](?::\d+)?: ", r"\1: ", why)
        frozen = " (frozen)" if "frozen" in queue else ""
        res["cell"] = "deferred%s: %s" % (frozen, why)
        return res
    failed = [l for l in log_lines if " ** " in l and rcpt.lower() in l.lower()]
    if failed:
        res["outcome"] = "BOUNCE"
        res["cell"] = "bounced: " + failed[-1].split(" ** ", 1)[1]
        return res
    res["outcome"] = "LOST"
    res["cell"] = "not delivered, not queued"
    return res


def run_mtas(scenarios, trees, results, versions):
    world = MtaWorld(trees)
    versions["postfix"] = run_postfix(world, scenarios, results)
    versions["exim"] = run_exim(world, scenarios, results)
    return world


# --- the table ------------------------------------------------------------

def load_justify(path):
    just = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                name, _, text = line.partition("\t")
                just[name.strip()] = text.strip()
    return just


def same(a, b):
    """Two MTAs agree: same outcome class and, when delivered, same listener."""
    if a["outcome"] != b["outcome"]:
        return False
    if a["outcome"] in ("AUTH", "ENC", "OPP"):
        return a.get("listener") == b.get("listener")
    return True


def md(s):
    return s.replace("|", "\\|").replace("\n", " ")


def cell(r, n=90):
    detail = r["cell"]
    for prefix in ("deferred: ", "deferred"):
        if detail.startswith(prefix):
            detail = detail[len(prefix):]
            break
    return md(run.cut("%s: %s" % (r["outcome"], detail.strip()), n))


HEADER = """# Conformance: the same scenarios through Postfix, Exim and sendmail

Generated by `make conformance` (tests/conformance/conformance.py) on {date};
do not edit.  Every scenario of {tables} is sent once by each MTA inside the
hermetic test world (tests/world/README): Postfix {pfv}
(`smtp_tls_security_level = dane`, `smtp_dns_support_level = dnssec`) and
Exim {exv} (`hosts_try_dane = *`, `dnssec_request_domains = *`, no other
certificate verification), both from Debian 12's packages, unpacked and
mounted at /usr inside the world only; Debian's sendmail 8.17 as shipped
("stock"), and with FEATURE(`dane') and libsendmail-dane.so ("sendmail-dane"),
exactly as tests/scenarios/run.py runs it.  Messages are injected with each
MTA's own command (Postfix's sendmail with its master running, `exim -odi`,
`sendmail -Am -odi`).  A row's own sendmail settings (mc: and access: items)
apply to the sendmail columns only, except a mailer's port
(`define(`RELAY_MAILER_ARGS', `TCP $h 587')`); its mailertable: entries are
given to Postfix as a transport map (`smtp:[host]:587` where the mailer has a
port) and to Exim as manualroute routers (one per port, with an smtp
transport that has that `port`).

How each cell is derived.  Where a message arrived, with which TLS version
and SNI, comes from the sinks' records (sink.jsonl); DEFER means the message
is still in that MTA's queue (`postqueue -j`, `exim -bp`, sendmail's qf file)
and no sink got it.  For a delivered message the level comes from the
MTA's own account of that connection: AUTH = Postfix logged "Verified" (or
"Trusted") TLS connection, Exim logged CV=dane, sendmail-dane logged dane=dane
with verdict=OK; ENC = TLS without authentication where the MTA had found a
validated TLSA RRset and so required TLS (Postfix: the delivering smtp process
logged "unsupported TLSA certificate usage", its dane level then falls back
to mandatory unauthenticated TLS; Exim: its debug trace shows
"TLSA lookup ret DNS_SUCCEED DNSSEC" for the delivering host, after which its
transport requires TLS; sendmail-dane: dane=encrypt); OPP = anything else
delivered.  ENC and OPP differ only in whether clear text would have been
accepted, which a server offering STARTTLS cannot show, so that distinction
rests on the log/trace evidence just described.  (Both MTAs were checked
once with an extra probe, a host publishing only a PKIX-TA record and offering
no STARTTLS: Postfix and Exim both deferred, "TLS is required".)  "Agrees" compares the outcome
class and, for delivered mail, the receiving listener.

{summary}

| scenario | destination | RFC 7672 expects | Postfix {pfv} | Exim {exv} | stock sendmail | sendmail-dane |
|---|---|---|---|---|---|---|
"""


POLICY_ITEMS = """
## Policy, logging and reporting (checklist A.8, items 61-66)

Not scenarios of the table above: how sendmail-dane meets the policy
items of the client checklist, and where each is tested.

| item | status | how | tested by |
|---|---|---|---|
| 61 mandatory DANE per destination | implemented | `DANE:<domain> dane-only` access entries, DANE_ONLY_MAILERS; no usable TLSA, insecure MX or host: deferred 4.7.5, never bounced | tests/scenarios/sendmail.tsv (acc-* rows with dane-only), rollout.tsv; glue_test |
| 62 opt-out per destination or server | implemented | `DANE:<domain or server or address> none` (cf/README, lookup order) | sendmail.tsv (acc-none-*); glue_test |
| 63 audit-only mode | implemented | DANE_AUDIT_MAILERS and `DANE:<domain> audit`: facts gathered and sessions authenticated as with `dane`, the would-be verdict logged with `mode=audit`, delivery as without DANE; sendmail-dane-audit(8) summarises the log | tests/scenarios/rollout.tsv (audit-*), integration audit_delivers_as_stock, glue_test audit_* |
| 64 honest logging | implemented | `dane=` is the level actually reached: dane only for a DANE-authenticated session through a secure MX RRset and TLSA RRset | the scenario tables' log checks |
| 65 diagnostic detail | implemented | one line per connection: base domain, usable/unusable TLSA records, the matched record and depth, or the peer key digest on failure | the scenario tables' log checks |
| 66 TLSRPT | not yet | | |
"""


def write_table(path, scenarios, tables, results, versions, just):
    n = len(scenarios)
    agree_pf = sum(same(results[(s.name, "dane")], results[(s.name, "postfix")])
                   for s in scenarios)
    agree_ex = sum(same(results[(s.name, "dane")], results[(s.name, "exim")])
                   for s in scenarios)
    rfc = sum(results[(s.name, "dane")]["outcome"] == s.expect and
              not results[(s.name, "dane")]["errors"] for s in scenarios)
    pf_rfc = sum(results[(s.name, "postfix")]["outcome"] == s.expect
                 for s in scenarios)
    ex_rfc = sum(results[(s.name, "exim")]["outcome"] == s.expect
                 for s in scenarios)
    st_rfc = sum(results[(s.name, "stock")]["outcome"] == s.expect
                 for s in scenarios)
    summary = ("**Summary:** %d scenarios; sendmail-dane agrees with Postfix in "
               "%d/%d, with Exim in %d/%d, with the RFC-expected outcome in "
               "%d/%d (Postfix %d/%d, Exim %d/%d, stock sendmail %d/%d)." %
               (n, agree_pf, n, agree_ex, n, rfc, n, pf_rfc, n, ex_rfc, n,
                st_rfc, n))
    out = HEADER.format(
        date=time.strftime("%Y-%m-%d"), pfv=versions.get("postfix", "3.7"),
        exv=versions.get("exim", "4.96"), summary=summary,
        tables=", ".join("tests/scenarios/" + os.path.basename(t)
                         for t in tables))
    notes = []
    for s in scenarios:
        r = {k: results[(s.name, k)] for k in ("postfix", "exim", "stock",
                                                "dane")}
        mark = ""
        if not same(r["dane"], r["postfix"]) or not same(r["dane"], r["exim"]):
            if s.name in just:
                notes.append((s.name, just[s.name]))
                mark = " [note](#%s)" % s.name
        out += "| %s | %s | %s | %s | %s | %s | %s%s |\n" % (
            md(s.name), md(s.domain), s.expect, cell(r["postfix"]),
            cell(r["exim"]), cell(r["stock"], 60), cell(r["dane"]), mark)
    out += "\nScenario descriptions: " + "; ".join(
        "%s: %s" % (s.name, s.desc) for s in scenarios) + ".\n"
    if notes:
        out += "\n## Why the outcomes differ (tests/conformance/justify.tsv)\n\n"
        for name, text in notes:
            out += '<a id="%s"></a>**%s**: %s\n\n' % (name, name, md(text))
    out += POLICY_ITEMS
    if path == "-":
        sys.stdout.write(out + "\n")
    else:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(out)
        os.replace(tmp, path)
    return summary


def collapsed(scenarios, results, min_rfc=None, min_agree=None):
    """Failure messages for columns that fell below MIN_RFC / MIN_AGREE
    (or the given minimums) and for every LOST outcome."""
    min_rfc = MIN_RFC if min_rfc is None else min_rfc
    min_agree = MIN_AGREE if min_agree is None else min_agree
    failures = []
    n = len(scenarios)
    for mta, want in sorted(min_rfc.items()):
        got = sum(results[(s.name, mta)]["outcome"] == s.expect
                  for s in scenarios)
        if got < want:
            failures.append(
                "%s: the RFC-expected outcome in %d of %d scenarios, at least "
                "%d expected (MIN_RFC): its column collapsed" %
                (COLUMNS[mta], got, n, want))
    for mta, want in sorted(min_agree.items()):
        got = sum(same(results[(s.name, "dane")], results[(s.name, mta)])
                  for s in scenarios)
        if got < want:
            failures.append(
                "sendmail-dane agrees with %s in %d of %d scenarios, at least "
                "%d expected (MIN_AGREE)" % (COLUMNS[mta], got, n, want))
    for mta in ("postfix", "exim", "stock", "dane"):
        lost = [s.name for s in scenarios
                if results[(s.name, mta)]["outcome"] == "LOST"]
        if lost:
            first = results[(lost[0], mta)]["cell"]
            names = " ".join(lost[:8]) + (" ..." if len(lost) > 8 else "")
            failures.append(
                "%s: LOST (neither delivered, nor queued, nor bounced) in %d "
                "scenario(s): %s; %s: %s" %
                (COLUMNS[mta], len(lost), names, lost[0], first))
    return failures


def verdicts(scenarios, results, just, minimums=True):
    """The test's assertions: a list of failure messages ([] when passed).
    minimums: also apply MIN_RFC and MIN_AGREE (with the default tables)."""
    failures = collapsed(scenarios, results,
                         None if minimums else {}, None if minimums else {})
    for s in scenarios:
        r = {k: results[(s.name, k)] for k in ("postfix", "exim", "stock",
                                                "dane")}
        if r["dane"]["outcome"] != s.expect and not r["dane"]["errors"]:
            r["dane"]["errors"] = ["outcome %s, want %s" %
                                   (r["dane"]["outcome"], s.expect)]
        for e in r["dane"]["errors"]:
            failures.append("%s: sendmail-dane: %s" % (s.name, e))
        if not same(r["dane"], r["postfix"]) and s.name not in just:
            failures.append(
                "%s: sendmail-dane %s (%s) differs from Postfix %s (%s) and "
                "tests/conformance/justify.tsv has no justification" %
                (s.name, r["dane"]["outcome"], r["dane"]["cell"],
                 r["postfix"]["outcome"], r["postfix"]["cell"]))
        for mta in ("postfix", "exim"):
            if r[mta]["outcome"] != s.expect:
                log("%s: %s gives %s, RFC expects %s: %s" % (
                    s.name, mta, r[mta]["outcome"], s.expect, r[mta]["cell"]))
        if same(r["dane"], r["postfix"]) and same(r["dane"], r["exim"]) \
                and s.name in just:
            log("%s: justify.tsv has a note but all three agree" % s.name)
    return failures


# --- main -----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tables", nargs="*")
    ap.add_argument("--out", default=os.path.join(TOP_SRCDIR, "docs",
                                                  "CONFORMANCE.md"))
    ap.add_argument("--justify", default=os.path.join(HERE, "justify.tsv"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the world directories")
    ap.add_argument("--results", metavar="FILE.json",
                    help="also write every cell's outcome there (JSON)")
    args = ap.parse_args()
    module, status = run.preflight("conformance")
    if module is None:
        return status
    # RFC 7672 behaviour only: sendmail.tsv and rollout.tsv exercise
    # sendmail's own configuration (access map, mailer modes, audit),
    # which has no counterpart in the other MTAs.
    tables = args.tables or sorted(
        t for t in glob.glob(os.path.join(TOP_SRCDIR, "tests", "scenarios",
                                          "*.tsv"))
        if os.path.basename(t) not in ("sendmail.tsv", "rollout.tsv"))
    try:
        trees = ensure_mtas()
    except Skip as e:
        print("conformance: cannot get the Postfix/Exim packages: %s; "
              "skipping" % e)
        return 77
    scenarios = run.load(tables)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        print("conformance: duplicate scenario names across the tables")
        return 1

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    t0 = time.time()
    results, versions, errors, done = {}, {}, [], []

    def job(fn, *a):
        try:
            done.append(fn(*a))
        except BaseException as e:  # noqa: B902 - reported below
            errors.append("%s: %s" % (fn.__name__, e))

    threads = [threading.Thread(target=job, args=(run_sendmail, scenarios,
                                                  module, results)),
               threading.Thread(target=job, args=(run_mtas, scenarios, trees,
                                                  results, versions))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    finally:
        stop_all()
        for t in threads:
            t.join(30)
    elapsed = time.time() - t0
    if errors:
        for e in errors:
            print("conformance: " + e)
        kept = [w.dir for w in WORLDS if os.path.isdir(w.dir)]
        if kept:
            print("conformance: worlds kept in " + " ".join(kept))
        return 1

    just = load_justify(args.justify)
    summary = write_table(args.out, scenarios, tables, results, versions, just)
    if args.results:
        with open(args.results, "w") as f:
            json.dump({"%s\t%s" % k: {"outcome": v["outcome"],
                                        "cell": v["cell"],
                                        "listener": v.get("listener"),
                                        "errors": v.get("errors", [])}
                       for k, v in results.items()}, f, indent=1)
    # the minimums are those of the default tables
    failures = verdicts(scenarios, results, just, minimums=not args.tables)
    print(summary.replace("**", ""))
    print("table: %s; %.1f s" % (args.out, elapsed))
    for f in failures:
        print("FAIL " + f)
    if not args.keep and not failures:
        for w in WORLDS:
            shutil.rmtree(w.dir, ignore_errors=True)
    else:
        print("worlds kept in " + " ".join(w.dir for w in WORLDS))
    return 1 if (failures and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
