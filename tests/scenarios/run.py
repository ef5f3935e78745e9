#!/usr/bin/python3
"""Run delivery scenarios through the real sendmail in the hermetic world.

For every scenario (a row of a .tsv file) one message is injected with
`sendmail -Am -odi` inside the world, once with the stock configuration
and no extension, and once with FEATURE(`dane') and the preloaded
module.  What happened is read from the places it shows: the SMTP sinks'
records (which listener got the message, TLS version, SNI), the queue
(qf status and `mailq`), and the syslog lines sendmail wrote.

  run.py [--demo] [--phase stock|dane|both]
         [--upstream validating|plain|adproxy] FILE.tsv...

--upstream picks the world's resolver (tests/world/README): the
expected outcomes are the same with every upstream, since the module
validates DNSSEC itself and trusts no resolver's AD bit.

Exit status: 0 when every scenario's outcome with the extension is the
expected one, 1 otherwise, 77 when not run as root (the world needs
namespaces).
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
WORLD = os.path.join(TOP_SRCDIR, "tests", "world", "world.sh")
MODULE = "libsendmail-dane.so"          # the set-user-ID shim LD_PRELOAD names
MODULE_IMPL = "libsendmail-dane-module.so"  # the module it loads
# where the shim loads the module from (the build's $(pkglibdir))
MODULE_PATH = os.environ.get("smdane_module_path") or \
    "/usr/lib/x86_64-linux-gnu/sendmail-dane/" + MODULE_IMPL
UPSTREAMS = ("validating", "plain", "adproxy")

MC_HEAD = """divert(-1)dnl
include(`{cf}/m4/cf.m4')dnl
VERSIONID(`sendmail-dane test')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confTO_QUIT', `10s')dnl
define(`confTO_CONNECT', `10s')dnl
define(`confLOG_LEVEL', `9')dnl
define(`confSMDANE_UNBOUND_CONF', `{cf}/dane-unbound.conf')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA, Port=smtp, Addr=127.0.0.1')dnl
FEATURE(`access_db', , `skip')dnl
FEATURE(`mailertable')dnl
"""
MC_TAIL = """MAILER(`local')dnl
MAILER(`smtp')dnl
"""


class Scenario:
    """One row: name, domain, expect, listener, sni, status_re, desc, setup.

    setup ("-" for none) is a "|"-separated list of items:
      mc:LINE            an m4 line placed before FEATURE(`dane')
      mcafter:LINE       an m4 line placed after it (before the MAILERs)
      access:KEY VALUE   an entry of /etc/mail/access
      mailertable:KEY VALUE  an entry of /etc/mail/mailertable
      noquery:NAME TYPE  the resolver must not be asked NAME/TYPE (checked
                         in unbound's query log during the delivery)
      noconnect:ADDR     no connection may reach the sink at ADDR
      file:PATH TEXT     write TEXT ("\\n" for newlines) to PATH in the world
      log:REGEX          sendmail's log must match REGEX during the delivery
      nolog:REGEX        sendmail's log must not match REGEX during the
                         delivery (e.g. no line of the module for it)
      m4error:REGEX      m4 must print an error matching REGEX for this
                         row's configuration (and the cf is used anyway,
                         as Debian's rebuild does)
    noquery, noconnect, log and nolog items written
    KIND@UPSTREAM[,UPSTREAM]:VALUE apply with those upstream variants only
    (see --upstream), and
      status@UPSTREAM[,UPSTREAM]:REGEX  replaces the queue-status column
                         with them (without validation upstream, sendmail's
                         own lookups of bogus data succeed, and what defers
                         is the module's refusal, with its own text)
    """

    def __init__(self, fields):
        (self.name, self.domain, self.expect, self.listener, self.sni,
         self.status_re, self.desc, self.setup) = (fields + ["-"] * 8)[:8]
        self.mc, self.access, self.mailertable = [], [], []
        self.noquery, self.noconnect, self.file, self.log = [], [], [], []
        self.nolog = []
        self.m4error, self.mcafter = [], []
        self.scoped = []    # (kind, upstream variants, value)
        for item in ([] if self.setup == "-" else self.setup.split("|")):
            kind, _, value = item.strip().partition(":")
            kind, _, ups = kind.partition("@")
            if ups:
                ups = ups.split(",")
                if kind not in ("noquery", "noconnect", "log", "nolog",
                                "status") or \
                        not value or [u for u in ups if u not in UPSTREAMS]:
                    raise ValueError("%s: bad setup item %r" %
                                     (self.name, item))
                self.scoped.append((kind, ups, value))
                continue
            if kind not in ("mc", "access", "mailertable", "noquery",
                            "noconnect", "file", "log", "nolog", "m4error",
                            "mcafter") or \
                    not value:
                raise ValueError("%s: bad setup item %r" % (self.name, item))
            getattr(self, kind).append(value)

    def items(self, kind, upstream):
        """The noquery, noconnect, log or nolog items with that upstream
        variant."""
        return getattr(self, kind) + [v for k, ups, v in self.scoped
                                      if k == kind and upstream in ups]

    def status_for(self, upstream):
        """The queue-status regex with that upstream variant."""
        for kind, ups, value in self.scoped:
            if kind == "status" and upstream in ups:
                return value
        return self.status_re

    def config_key(self):
        return (tuple(self.mc), tuple(self.mcafter), tuple(self.access),
                tuple(self.mailertable), tuple(self.file))


def load(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                rows.append(Scenario(line.split("\t")))
    return rows


class World:
    def __init__(self, preload, upstream="validating", delay=None,
                 module=None):
        """preload: the built shim; module: the built module (default: the
        one next to the shim), placed at MODULE_PATH in the world."""
        self.dir = tempfile.mkdtemp(prefix="smdane-world.")
        self.upstream = upstream
        if module is None:
            module = os.path.join(os.path.dirname(preload), MODULE_IMPL)
        cmd = ["bash", WORLD, "start", self.dir, "--preload", preload,
               "--module", module + ":" + MODULE_PATH,
               "--upstream", upstream]
        if delay is not None:
            cmd += ["--delay", str(delay)]
        subprocess.run(cmd, check=True)
        # as `make install` does on a real system
        self.run(["sh", os.path.join(TOP_SRCDIR, "cf", "dane-services"),
                  "add", "/etc/services"], check=True)

    def stop(self, keep=True):
        """Stop the world; remove its directory unless keep."""
        subprocess.run(["bash", WORLD, "stop", self.dir], check=False)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, cmd, stdin=None, env=None, check=False):
        envs = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        envs += ["%s=%s" % kv for kv in (env or {}).items()]
        p = subprocess.run(["bash", WORLD, "exec", self.dir] + envs + cmd,
                           input=stdin, capture_output=True, text=True,
                           errors="replace")
        if check and p.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr))
        return p

    def sh(self, script, **kw):
        return self.run(["sh", "-c", script], **kw)

    def path(self, name):
        return os.path.join(self.dir, name)


def preflight(prog):
    """(shim path, None) when the world can run, else (None, exit status):
    77 (skip) when not root, 1 when the shim or the module is not built."""
    if os.geteuid() != 0:
        print("%s: the test world needs root (namespaces, mounts); "
              "skipping" % prog)
        return None, 77
    module = os.path.join(TOP_BUILDDIR, MODULE)
    for built in (module, os.path.join(TOP_BUILDDIR, MODULE_IMPL)):
        if not os.path.exists(built):
            print("%s: %s not built (run make first)" % (prog, built))
            return None, 1
    return module, None


def read_from(path, offset):
    try:
        with open(path, errors="replace") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return ""


def sink_records(world, offset):
    """The sinks' records (tests/world/smtpsink.py) from offset on."""
    records = []
    for line in read_from(world.path("sink.jsonl"), offset).splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            pass
    return records


def size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def make_cf(world, with_dane, sc=None):
    """Install sendmail.cf, access and mailertable for a phase and row."""
    cfdir = world.path("cf")
    if not os.path.isdir(cfdir):
        shutil.copytree("/usr/share/sendmail/cf", cfdir)
        shutil.copy(os.path.join(TOP_SRCDIR, "cf", "feature", "dane.m4"),
                    os.path.join(cfdir, "feature", "dane.m4"))
    # the world's TLD is test., which libunbound answers itself
    # (RFC 6761) unless told otherwise
    with open(os.path.join(cfdir, "dane-unbound.conf"), "w") as f:
        f.write('server:\n  local-zone: "test." nodefault\n')
    mc = MC_HEAD.format(cf=cfdir)
    if sc is not None:
        mc += "".join(line + "dnl\n" for line in sc.mc)
    if with_dane:
        mc += "FEATURE(`dane')dnl\n"
    if sc is not None:
        mc += "".join(line + "dnl\n" for line in sc.mcafter)
    mc += MC_TAIL
    p = subprocess.run(["m4"], input=mc, capture_output=True, text=True)
    want = sc.m4error if sc is not None and with_dane else []
    if p.returncode != 0 or (p.stderr.strip() and not want):
        raise RuntimeError("m4 failed: " + p.stderr)
    for regex in want:
        if not re.search(regex, p.stderr):
            raise RuntimeError("m4: got %r, want an error matching %r" %
                               (p.stderr, regex))
    world.run(["sh", "-c", "cat > /etc/mail/sendmail.cf"], stdin=p.stdout,
              check=True)
    for item in (sc.file if sc else []):
        path, _, text = item.partition(" ")
        world.run(["sh", "-c", 'cat > "$0"', path],
                  stdin=text.replace("\\n", "\n") + "\n", check=True)
    for name, entries in (("access", sc.access if sc else []),
                          ("mailertable", sc.mailertable if sc else [])):
        world.run(["sh", "-c", "cd /etc/mail && cat > %s && "
                   "makemap hash %s < %s" % (name, name, name)],
                  stdin="".join(e + "\n" for e in entries), check=True)


MESSAGE = """From: postmaster@client.dane.test
To: {rcpt}
Subject: {subject}
Message-Id: <{subject}@client.dane.test>

Scenario {subject}.
"""


def qf_status(world, rcpt):
    """Status lines of the queue files that hold rcpt."""
    out = world.sh(
        "for f in /var/spool/mqueue/qf*; do [ -f \"$f\" ] || continue; "
        "grep -qiF %s \"$f\" && grep -E '^M' \"$f\"; done" % rcpt).stdout
    return [line[1:] for line in out.splitlines() if line.startswith("M")]


def deliver(world, sc, phase):
    rcpt = "%s-%s@%s" % (sc.name, phase, sc.domain)
    subject = "%s-%s" % (sc.name, phase)
    world.sh("rm -f /var/spool/mqueue/* ; rm -rf /var/lib/sendmail/host_status/*")
    sink_log, mail_log = world.path("sink.jsonl"), world.path("log/mail.log")
    dns_log = world.path("log/unbound.log")
    s0, m0, d0 = size(sink_log), size(mail_log), size(dns_log)
    env = {"LD_PRELOAD": MODULE} if phase == "dane" else {}
    t0 = time.time()
    p = world.run(["/usr/sbin/sendmail", "-Am", "-odi", "-oi", "-f",
                   "postmaster@client.dane.test", rcpt],
                  stdin=MESSAGE.format(rcpt=rcpt, subject=subject), env=env)
    elapsed = time.time() - t0
    time.sleep(0.05)
    records = sink_records(world, s0)
    # by Subject: sendmail may rewrite the recipient's domain (CNAME)
    got = [r for r in records if r.get("type") == "message"
           and r.get("subject") == subject]
    obs = {
        "rcpt": rcpt, "rc": p.returncode, "stderr": p.stderr.strip(),
        "messages": got, "connections": [r for r in records
                                         if r.get("type") == "connection"],
        "queue": qf_status(world, rcpt),
        "mailq": world.sh("sendmail -Am -bp").stdout,
        "log": read_from(mail_log, m0), "seconds": elapsed,
        "dns": read_from(dns_log, d0), "records": records,
    }
    return obs


PROBE_VERDICT = {"AUTH": "authenticated", "ENC": "encrypted",
                 "OPP": "opportunistic", "DEFER": "deferred",
                 "BOUNCE": "bounced"}


def probe(world, sc):
    """What sendmail-dane-check --json says sendmail would do with a
    message to the row's destination, with the cf and access map the row
    was delivered with: (verdict, the whole report or an error text)."""
    tool = os.path.join(TOP_BUILDDIR, "tools", "sendmail-dane-check")
    # the stock cf names no unbound.conf: the world's (test. is no
    # local zone) is given to both phases alike
    p = world.run([tool, "--json", "--cf", "/etc/mail/sendmail.cf", "-c",
                   world.path("cf/dane-unbound.conf"), sc.domain])
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        return None, "rc=%d, not JSON: %s %s" % (p.returncode,
                                                 p.stdout[-200:],
                                                 p.stderr[-200:])
    dest = doc[0] if isinstance(doc, list) and doc else doc
    if not isinstance(dest, dict) or "verdict" not in dest:
        return None, "no verdict in %s" % p.stdout[-300:]
    want_rc = 0 if dest["verdict"] in ("authenticated", "encrypted",
                                       "opportunistic") else 1
    if p.returncode != want_rc:
        return dest["verdict"], "exit status %d for verdict %s" % (
            p.returncode, dest["verdict"])
    return dest["verdict"], dest


def probe_errors(obs):
    """The probe's verdict against what sendmail did ([] when equal)."""
    if "probe" not in obs:
        return []
    verdict, report = obs["probe"]
    did = outcome(obs)
    if isinstance(report, str):
        return ["probe: %s" % report]
    if verdict != PROBE_VERDICT.get(did):
        hosts = ", ".join("%s %s %s" % (h.get("name"), h.get("address"),
                                        h.get("level"))
                          for h in report.get("hosts", []))
        return ["probe said %s, sendmail %s (hosts: %s)" % (
            verdict, PROBE_VERDICT.get(did, did), hosts)]
    return []


def dane_lines(log):
    """The module's lines about one connection (not its process-wide
    errors, e.g. an unusable resolver, which name no relay)."""
    return [l for l in log.splitlines() if "STARTTLS=client, relay=" in l
            and ", dane=" in l]


def describe(obs):
    """One cell of the table: what happened to the message."""
    if obs["messages"]:
        m = obs["messages"][0]
        cell = "%s %s" % (m.get("listener", "?").split(":")[0],
                          m.get("tls") or "clear")
        if m.get("sni"):
            cell += " SNI=%s" % m["sni"]
        lines = dane_lines(obs["log"])
        ok = [l for l in lines if "verdict=OK" in l]
        if ok:
            level = re.search(r", dane=([a-z]+)", ok[-1]).group(1)
            cell += {"dane": " authenticated", "encrypt": " encrypted"
                     }.get(level, "")
        if len(obs["messages"]) > 1:
            cell += " (x%d)" % len(obs["messages"])
        return cell
    if obs["queue"]:
        return "deferred: " + obs["queue"][0].replace("Deferred: ", "")
    if outcome(obs) == "BOUNCE":
        m = re.search(r"to=<?%s>?,.*stat=(.*)" % re.escape(obs["rcpt"]),
                      obs["log"], re.I)
        return "bounced: " + (m.group(1) if m else "?")
    return "LOST (not delivered, not queued) rc=%d %s" % (obs["rc"],
                                                          obs["stderr"])


def outcome(obs):
    if obs["messages"]:
        lines = [l for l in dane_lines(obs["log"]) if "verdict=OK" in l]
        if lines and ", dane=dane," in lines[-1]:
            return "AUTH"
        if lines and ", dane=encrypt," in lines[-1]:
            return "ENC"
        return "OPP"
    if obs["queue"]:
        return "DEFER"
    if re.search(r"to=<?%s>?,.*dsn=5\.\d+\.\d+, stat=" % re.escape(
            obs["rcpt"]), obs["log"], re.I):
        return "BOUNCE"
    return "LOST"


def check(sc, obs, upstream="validating"):
    """Problems with the outcome under the extension ([] when right)."""
    errs = []
    status_re = sc.status_for(upstream)
    got = outcome(obs)
    if got != sc.expect:
        errs.append("outcome %s, want %s" % (got, sc.expect))
    if sc.expect in ("AUTH", "ENC", "OPP") and obs["messages"]:
        m = obs["messages"][0]
        where = m.get("listener", "").split(":")[0]
        if where != sc.listener:
            errs.append("delivered at %s, want %s" % (where, sc.listener))
        if len(obs["messages"]) != 1:
            errs.append("%d copies delivered" % len(obs["messages"]))
        want_sni = None if sc.sni == "-" else sc.sni
        if m.get("sni") != want_sni:
            errs.append("SNI %s, want %s" % (m.get("sni"), want_sni))
        if sc.expect in ("AUTH", "ENC") and not m.get("tls"):
            errs.append("delivered without TLS")
        if sc.expect == "AUTH":
            ok = [l for l in dane_lines(obs["log"]) if "verdict=OK" in l]
            if not ok or "match=-" in ok[-1]:
                errs.append("no log line with the matched TLSA record")
    for item in sc.items("noquery", upstream):
        name, _, qtype = item.partition(" ")
        pat = re.compile(r"info: \S+ %s\. %s IN" % (
            re.escape(name.rstrip(".")), re.escape(qtype or "A")), re.I)
        if pat.search(obs.get("dns", "")):
            errs.append("resolver was asked %s" % item)
    lines = dane_lines(obs["log"])
    conns = [r for r in obs.get("records", []) if r.get("type") in
             ("message", "connection")]
    if lines and len(lines) != len(conns):
        errs.append("%d DANE log lines for %d connections" %
                    (len(lines), len(conns)))
    for regex in sc.items("log", upstream):
        if not re.search(regex, obs["log"]):
            errs.append("log does not match %r" % regex)
    for regex in sc.items("nolog", upstream):
        hit = re.search(regex, obs["log"])
        if hit:
            errs.append("log matches %r: %r" % (regex, hit.group(0)))
    for addr in sc.items("noconnect", upstream):
        hits = [r for r in obs.get("records", [])
                if r.get("listener", "").split(":")[0] == addr]
        if hits:
            errs.append("%d connection(s) reached %s" % (len(hits), addr))
    if sc.expect == "DEFER":
        if not obs["queue"]:
            errs.append("not in the queue")
        elif status_re != "-" and not re.search(status_re, obs["queue"][0]):
            errs.append("queue status %r does not match %r" %
                        (obs["queue"][0], status_re))
        qid_lines = [l for l in obs["mailq"].splitlines()
                     if "Deferred" in l or obs["rcpt"] in l]
        if not qid_lines:
            errs.append("mailq does not list the message")
        if "4.7.5" in status_re:
            fails = [l for l in dane_lines(obs["log"]) if "verdict=FAIL" in l]
            if not fails:
                errs.append("no syslog line with the DANE verdict")
            if "4.7.5" not in obs["mailq"]:
                errs.append("mailq does not show the 4.7.5 reason")
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tables", nargs="+")
    ap.add_argument("--phase", choices=["stock", "dane", "both"],
                    default="both")
    ap.add_argument("--upstream", choices=UPSTREAMS, default="validating")
    ap.add_argument("--demo", action="store_true",
                    help="a legend above the table, cut cells in notes")
    ap.add_argument("--wide", action="store_true",
                    help="no cell of the table cut")
    ap.add_argument("--probe", action="store_true",
                    help="also ask sendmail-dane-check what sendmail would "
                    "do, and compare")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    module, status = preflight("run.py")
    if module is None:
        return status
    scenarios = load(args.tables)
    phases = ["stock", "dane"] if args.phase == "both" else [args.phase]
    t0 = time.time()
    world = World(module, args.upstream)
    results = {}
    try:
        for phase in phases:
            current = None
            for sc in scenarios:
                if sc.config_key() != current:
                    make_cf(world, phase == "dane", sc)
                    current = sc.config_key()
                results[(sc.name, phase)] = deliver(world, sc, phase)
                if args.probe:
                    results[(sc.name, phase)]["probe"] = probe(world, sc)
    except BaseException:
        world.stop()
        print("world kept in %s" % world.dir, file=sys.stderr)
        raise
    failures = 0
    rows = []
    for sc in scenarios:
        stock = results.get((sc.name, "stock"))
        dane = results.get((sc.name, "dane"))
        errs = check(sc, dane, args.upstream) if dane else []
        if args.probe:
            errs += ["dane: " + e for e in probe_errors(dane or {})]
            errs += ["stock: " + e for e in probe_errors(stock or {})]
        failures += bool(errs)
        rows.append((sc, stock, dane, errs))
        if errs or args.verbose:
            print("== %s (%s): %s" % (sc.name, sc.desc, "; ".join(errs)
                                      or "ok"), file=sys.stderr)
            if dane:
                for l in dane_lines(dane["log"]):
                    print("   log: " + l[-300:], file=sys.stderr)
                for q in dane["queue"]:
                    print("   queue: " + q, file=sys.stderr)
    notes = [] if args.demo else None
    if args.demo:
        print(DEMO_LEGEND)
    print_table(rows, phases, notes, args.wide)
    if notes:
        print("\nThe cells cut above, whole (sh tests/demo.sh --wide prints "
              "the table uncut):")
        for i, text in enumerate(notes, 1):
            tag = "[%d] " % i
            print(textwrap.fill(text, 100, initial_indent=tag,
                                subsequent_indent=" " * len(tag),
                                break_on_hyphens=False))
    if args.demo and "stock" in phases:
        right = sum(1 for sc, stock, dane, errs in rows
                    if stock and outcome(stock) == sc.expect)
        print("\nstock sendmail did what RFC 7672 expects in %d of %d "
              "scenarios; it delivered %d\nmessages that should have "
              "stayed queued." % (right, len(rows), sum(
                  1 for sc, stock, dane, errs in rows if stock and
                  sc.expect == "DEFER" and stock["messages"])))
    world.stop(keep=bool(failures))
    print("\n%d scenarios, %d as expected, %d wrong; upstream %s; %.1f s%s" %
          (len(scenarios), len(scenarios) - failures, failures,
           args.upstream, time.time() - t0, "; world kept in %s" % world.dir
           if failures else ""))
    return 1 if failures else 0


DEMO_LEGEND = """\
What happened to one message per destination, sent through Debian's sendmail
8.17 as shipped ("stock") and with FEATURE(`dane') and libsendmail-dane.so
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


def cut(s, n, notes=None, label=""):
    """s cut to n characters; with a list of notes, the whole text goes
    there and the cut cell ends in its number "[N]"."""
    if len(s) <= n:
        return s
    if notes is None:
        return s[:n - 3] + "..."
    notes.append("%s: %s" % (label, s))
    mark = " [%d]" % len(notes)
    return s[:n - len(mark) - 3].rstrip() + "..." + mark


def print_table(rows, phases, notes=None, wide=False):
    """The table of outcomes; cells too long are cut (into notes, if a
    list is given), or none with wide."""
    width = (lambda n: 10 ** 6) if wide else (lambda n: n)
    head = ["scenario", "destination", "expected"]
    if "stock" in phases:
        head.append("stock sendmail 8.17")
    if "dane" in phases:
        head += ["sendmail + sendmail-dane", "ok"]
    table = [head]
    for sc, stock, dane, errs in rows:
        row = [sc.name, sc.domain, sc.expect]
        if "stock" in phases:
            row.append(cut(describe(stock), width(48), notes,
                           sc.name + ", stock"))
        if "dane" in phases:
            row += [cut(describe(dane), width(72), notes,
                        sc.name + ", sendmail-dane"),
                    "FAIL" if errs else "yes"]
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
