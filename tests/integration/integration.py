#!/usr/bin/python3
"""sendmail integration checks that are not one message per row.

Each check drives the real Debian sendmail in the hermetic world
(tests/world) and asserts what the sinks, the queue, the log and /proc
show: fail-closed without the module (also with a resolver that answers
the verdict channel's zone), queue runs (one or several at once) and the
daemon across SIGHUP, shared transactions and cached connections, host
status, forged DNS replies while lookups are slow, the module inside
other programs, an unchanged SMTP dialogue for non-DANE mailers and for
the destinations of an opt-in mailer no DANE: entry names, audit mailers
delivering as stock sendmail with one would-be verdict per destination,
and many deliveries in one process without descriptor or memory growth.

  integration.py [-v] [--upstream validating|plain|adproxy] [CHECK...]

--upstream picks the resolver of the world the checks share (see
tests/world/README); the forged-replies check always starts its own
world with a slow upstream.  CHECK names the checks to run (default:
all); an unknown name is a usage error.

Exit 0 when all checks pass, 1 otherwise, 77 when not root.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scenarios"))
import run  # noqa: E402

MODULE = run.MODULE
CHECKS = []
VERBOSE = False


def check(fn):
    CHECKS.append(fn)
    return fn


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


class Ctx:
    def __init__(self, world):
        self.w = world
        self.n = 0

    def cf(self, dane=True, setup="-"):
        sc = run.Scenario(["cf", "x", "OPP", "-", "-", "-", "-", setup])
        run.make_cf(self.w, dane, sc)

    def clear(self):
        self.w.sh("rm -f /var/spool/mqueue/*; "
                  "rm -rf /var/lib/sendmail/host_status")

    def subject(self, tag):
        self.n += 1
        return "%s-%d" % (tag, self.n)

    def send(self, rcpts, subject, preload=True, mode="-odi"):
        msg = ("From: postmaster@client.dane.test\nTo: %s\nSubject: %s\n"
               "Message-Id: <%s@client.dane.test>\n\nbody\n" %
               (", ".join(rcpts), subject, subject))
        env = {"LD_PRELOAD": MODULE} if preload else {}
        return self.w.run(["/usr/sbin/sendmail", "-Am", mode, "-oi", "-f",
                           "postmaster@client.dane.test"] + rcpts,
                          stdin=msg, env=env)

    def offsets(self):
        return (run.size(self.w.path("sink.jsonl")),
                run.size(self.w.path("log/mail.log")))

    def sink(self, off):
        return run.sink_records(self.w, off[0])

    def log(self, off):
        return run.read_from(self.w.path("log/mail.log"), off[1])

    def messages(self, off, subject):
        return [r for r in self.sink(off) if r.get("type") == "message"
                and r.get("subject") == subject]

    def queue(self):
        """{recipient: status} of every queued recipient."""
        out = self.w.sh("for f in /var/spool/mqueue/qf*; do "
                        "[ -f \"$f\" ] && cat \"$f\" && echo ===; done").stdout
        result = {}
        for qf in out.split("===\n"):
            status = ""
            for line in qf.splitlines():
                if line.startswith("M"):
                    status = line[1:]
            for line in qf.splitlines():
                if line.startswith("R"):
                    rcpt = line.split(":", 1)[-1].strip("<>").lower()
                    result[rcpt] = status
        return result

    def wait(self, cond, timeout=20.0):
        end = time.time() + timeout
        while time.time() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.2)
        return cond()


def authenticated_copies(ctx, off, rcpt):
    """Sink records holding rcpt, with whether each was DANE-checked."""
    recs = [r for r in ctx.sink(off) if r.get("type") == "message" and
            rcpt in [x.lower() for x in r.get("rcpts", [])]]
    return recs


# --- fail closed --------------------------------------------------------------

@check
def fail_closed_without_module(ctx):
    """FEATURE(dane) in the cf, module not loaded: every SMTP delivery waits."""
    ctx.cf(dane=True)
    ctx.clear()
    for dom in ("s311.dane.test", "plain.smi.test"):
        rcpt = "nomod@" + dom
        off = ctx.offsets()
        subj = ctx.subject("nomod")
        ctx.send([rcpt], subj, preload=False)
        expect(not ctx.messages(off, subj), "%s delivered" % rcpt)
        st = ctx.queue().get(rcpt, "")
        expect("454 4.7.0 DANE extension not active" in st,
               "%s: queue status %r" % (rcpt, st))
        mailq = ctx.w.sh("sendmail -Am -bp").stdout
        expect("DANE extension not" in mailq, "mailq: %r" % mailq)
        sent = [r for r in ctx.sink(off) if "MAIL" in " ".join(
            r.get("commands", [])).upper() or r.get("type") == "message"]
        expect(not sent, "a MAIL command reached a sink: %r" % sent)


# unbound lines that make the world's resolver answer TXT "OK" to every
# name under invalid. (the verdict channel's dane-hook.invalid. too)
ANSWER_INVALID = ('server:\n  local-zone: "invalid." redirect\n'
                  '  local-data: \'invalid. 0 IN TXT "OK"\'\n')
RESQUERY = os.path.join(HERE, "resquery.py")
PROBE = "_p.x.dane-hook.invalid"


def reload_resolver(ctx, conf_text, ready):
    """Write the world's unbound.conf, have unbound re-read it (SIGHUP)
    and wait until ready(dig's output for PROBE TXT, asked through
    resolv.conf as glibc asks) holds; the last output, or None."""
    with open(ctx.w.path("dns/unbound.conf"), "w") as f:
        f.write(conf_text)
    ctx.w.sh("kill -HUP $(cat %s)" % ctx.w.path("dns/unbound.pid"))

    def probe():
        out = ctx.w.run(["dig", "+tries=1", "+time=1", PROBE, "TXT"]).stdout
        return out if ready(out) else None
    return ctx.wait(probe, 15)


def answers_ok(dig):
    return re.search(r'^%s\.\s+\d+\s+IN\s+TXT\s+"OK"$' % re.escape(PROBE),
                     dig, re.M)


def answers_as_before(dig):
    return "status: NXDOMAIN" in dig


def asked(text):
    """{(name, type)} of the queries in unbound's log text (log-queries)."""
    return set((n.lower(), t) for n, t in re.findall(
        r"unbound\[[\d:]+\] info: \S+ (\S+) ([A-Z0-9]+) IN$", text, re.M))


@check
def channel_answered_by_resolver_without_module(ctx):
    """DESIGN "Verdict channel": fail closed without help from DNS.  The
    resolver of the world's resolv.conf is made to answer TXT "OK" to
    every name under invalid. (so under dane-hook.invalid.); glibc asked
    the channel's name, whose label of more than 63 octets it cannot
    encode, sends no query, so with FEATURE(`dane') and no module every
    SMTP delivery (DANE destination or not) still waits with 454 4.7.0,
    and the resolver's query log shows no name under invalid.  The
    resolver's configuration is restored afterwards."""
    ctx.cf(dane=True)
    ctx.clear()
    m = re.search(r" \. v1 \. (\S+) \. dane-hook \. invalid \. ",
                  ctx.w.sh("cat /etc/mail/sendmail.cf").stdout)
    label = m.group(1) if m else ""
    expect(len(label) > 63, "the channel's label in the cf: %r" % label)
    conf = ctx.w.path("dns/unbound.conf")
    saved = open(conf).read()
    expect(saved.count("\nremote-control:") == 1, "unbound.conf: %r" % saved)
    qlog = ctx.w.path("log/unbound.log")
    ok = False
    try:
        dig = reload_resolver(ctx, saved.replace(
            "\nremote-control:", "\n" + ANSWER_INVALID + "remote-control:"),
            answers_ok)
        expect(dig, "the resolver does not answer %s TXT with OK" % PROBE)
        # glibc's stub resolver, as sendmail's dns map calls it: the
        # channel's name with its label cut to 63 octets is answered OK,
        # the channel's own name fails and is not asked
        short = "_p.try_tls._v.none._s.mx311.dane.test._h.s311.dane.test." \
                "v1.%s.dane-hook.invalid." % label[:63]
        chan = short.replace(label[:63], label)
        q0 = run.size(qlog)
        p = ctx.w.run(["/usr/bin/python3", RESQUERY, short, chan])
        got = [json.loads(l) for l in p.stdout.splitlines()]
        expect(len(got) == 2 and got[0]["txt"] == ["OK"],
               "glibc's answer for %s: %r %s" % (short, got[:1], p.stderr))
        expect(got[1]["rc"] == -1 and not got[1]["txt"],
               "glibc's answer for the channel's name: %r" % got[1])
        names = asked(run.read_from(qlog, q0))
        expect((short.lower(), "TXT") in names,
               "the resolver's log lacks the query for %s: %r" %
               (short, sorted(names)))
        expect(not [n for n in names if label in n[0]],
               "a query for the channel's name reached the resolver")
        for dom in ("s311.dane.test", "plain.smi.test"):
            rcpt = "hooknodns@" + dom
            q0 = run.size(qlog)
            off = ctx.offsets()
            subj = ctx.subject("hooknodns")
            ctx.send([rcpt], subj, preload=False)
            expect(not ctx.messages(off, subj), "%s delivered" % rcpt)
            sent = [r for r in ctx.sink(off) if "MAIL" in " ".join(
                r.get("commands", [])).upper() or r.get("type") == "message"]
            expect(not sent, "a MAIL command reached a sink: %r" % sent)
            st = ctx.queue().get(rcpt, "")
            expect(st == "Deferred: 454 4.7.0 DANE extension not active",
                   "%s: queue status %r" % (rcpt, st))
            expect(re.search(r"to=<?%s>?, .*dsn=4\.7\.0, stat=Deferred: 454 "
                             r"4\.7\.0 DANE extension not active" %
                             re.escape(rcpt), ctx.log(off)),
                   "%s: no deferral with dsn=4.7.0 logged" % rcpt)
            mailq = ctx.w.sh("sendmail -Am -bp").stdout
            expect("4.7.0 DANE extension not active" in mailq,
                   "mailq: %r" % mailq)
            names = asked(run.read_from(qlog, q0))
            # sendmail's own lookups went to that resolver and are logged
            expect((dom + ".", "MX") in names,
                   "%s: the resolver's log lacks sendmail's MX query: %r" %
                   (rcpt, sorted(names)))
            bad = sorted(n for n in names if n[0].endswith("invalid."))
            expect(not bad, "%s: queries under invalid. reached the "
                   "resolver: %r" % (rcpt, bad))
            if VERBOSE:
                print("   %s: %s; %d names asked, none under invalid." % (
                    rcpt, st, len(names)))
        ok = True
    finally:
        if not reload_resolver(ctx, saved, answers_as_before):
            raise Fail("%sthe resolver's configuration could not be restored"
                       % ("" if ok else "(after a failure) "))


@check
def queue_run_needs_module(ctx):
    """sendmail -q without the module leaves mail queued; with it, delivers."""
    ctx.cf(dane=True)
    ctx.clear()
    rcpt = "qrun@s311.dane.test"
    subj = ctx.subject("qrun")
    off = ctx.offsets()
    ctx.send([rcpt], subj, mode="-odq")
    expect(rcpt in ctx.queue(), "not queued")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf"])
    st = ctx.queue().get(rcpt, "")
    expect("DANE extension not active" in st, "queue status %r" % st)
    expect(not ctx.messages(off, subj), "delivered without the module")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf"], env={"LD_PRELOAD": MODULE})
    got = ctx.messages(off, subj)
    expect(len(got) == 1 and got[0].get("sni") == "mx311.dane.test",
           "queue run with the module: %r" % got)
    expect(rcpt not in ctx.queue(), "still queued")


# --- the daemon -------------------------------------------------------------

def smtp_submit(ctx, rcpt, subject):
    code = ("import smtplib,sys\n"
            "s=smtplib.SMTP('127.0.0.1',25,timeout=20)\n"
            "s.sendmail('postmaster@client.dane.test',[%r],"
            "'Subject: %s\\nMessage-Id: <%s@x>\\n\\nbody\\n')\n"
            "s.quit()\n" % (rcpt, subject, subject))
    return ctx.w.run(["/usr/bin/python3", "-c", code])


def daemon_pid(ctx):
    p = ctx.w.sh("cat /run/sendmail/mta/sendmail.pid 2>/dev/null | head -1")
    return p.stdout.strip()


def mapped(ctx, pid, name=run.MODULE_IMPL):
    """Whether pid maps name (default: the module the shim loads)."""
    return ctx.w.sh("grep -cF /%s /proc/%s/maps" % (name, pid)
                    ).stdout.strip() not in ("", "0")


@check
def daemon_survives_sighup(ctx):
    """Daemon with the module: SMTP-injected mail authenticated, module
    still loaded after a SIGHUP restart, queue runner children refuse."""
    ctx.cf(dane=True)
    ctx.clear()
    ctx.w.sh("mkdir -p /run/sendmail/mta; rm -f /run/sendmail/mta/sendmail.pid")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-L", "sm-mta", "-bd", "-q3s"],
              env={"LD_PRELOAD": MODULE})
    try:
        pid = ctx.wait(lambda: daemon_pid(ctx))
        expect(pid, "daemon did not start")
        expect(mapped(ctx, pid), "module not mapped in the daemon")
        off = ctx.offsets()
        subj = ctx.subject("daemon")
        p = ctx.wait(lambda: smtp_submit(ctx, "d1@s311.dane.test",
                                         subj).returncode == 0)
        expect(p, "SMTP submission failed")
        got = ctx.wait(lambda: ctx.messages(off, subj))
        expect(got and got[0].get("sni") == "mx311.dane.test",
               "daemon delivery: %r" % got)
        ctx.w.sh("kill -HUP %s" % pid)
        time.sleep(1.0)
        pid2 = ctx.wait(lambda: daemon_pid(ctx))
        expect(pid2, "daemon gone after SIGHUP")
        expect(ctx.wait(lambda: mapped(ctx, pid2)),
               "module not mapped after SIGHUP (pid %s)" % pid2)
        subj = ctx.subject("afterhup")
        expect(ctx.wait(lambda: smtp_submit(ctx, "d2@s301.dane.test",
                                            subj).returncode == 0),
               "SMTP submission after SIGHUP failed")
        got = ctx.wait(lambda: ctx.messages(off, subj))
        expect(got and got[0].get("sni") == "mx301.dane.test",
               "delivery after SIGHUP: %r" % got)
        subj = ctx.subject("daemonbad")
        smtp_submit(ctx, "d3@sbad.dane.test", subj)
        st = ctx.wait(lambda: ctx.queue().get("d3@sbad.dane.test", "")
                      if "4.7.5" in ctx.queue().get("d3@sbad.dane.test", "")
                      else None)
        expect(st and "4.7.5 DANE: no TLSA record" in st,
               "sbad in the daemon: queue status %r" % st)
        # the daemon's queue runner (-q3s) retries: still refused
        tries = ctx.wait(lambda: ctx.log(off).count(
            "to=<d3@sbad.dane.test>") >= 2 or ctx.log(off).count(
            "to=d3@sbad.dane.test") >= 2, timeout=15)
        expect(tries, "queue runner did not retry")
        expect(not ctx.messages(off, subj), "sbad delivered by the daemon")
    finally:
        pid = daemon_pid(ctx)
        if pid:
            ctx.w.sh("kill %s; sleep 0.5; kill -9 %s 2>/dev/null" % (pid, pid))
        ctx.w.sh("pkill -9 -x sendmail-mta 2>/dev/null; "
                 "pkill -9 -f 'sendmail.*-bd' 2>/dev/null; true")


# --- shared transactions and cached connections ------------------------------

def assert_only_authenticated(ctx, off, rcpt, sni):
    for r in authenticated_copies(ctx, off, rcpt):
        expect(r.get("sni") == sni and r.get("tls"),
               "%s delivered over a session without DANE: %r" % (rcpt, r))
    delivered = bool(authenticated_copies(ctx, off, rcpt))
    queued = ctx.queue().get(rcpt, "")
    # tls_server refusals read "454 4.7.5 DANE: ...", tls_rcpt ones "DANE: ..."
    expect(delivered or "4.7.5 DANE" in queued or queued.startswith("DANE"),
           "%s neither delivered nor deferred with 4.7.5: %r" % (rcpt, queued))
    return delivered


@check
def shared_transaction_keeps_each_policy(ctx):
    """A.9/68, A.10/75: recipients of a secure and an insecure domain with
    the same MX host in one envelope."""
    ctx.cf(dane=True)
    for order in (("a1@shared.smi.test", "b1@s311.dane.test"),
                  ("b2@s311.dane.test", "a2@shared.smi.test")):
        ctx.clear()
        off = ctx.offsets()
        ctx.send(list(order), ctx.subject("mixed"))
        secure = [r for r in order if "s311" in r][0]
        insecure = [r for r in order if "shared" in r][0]
        assert_only_authenticated(ctx, off, secure, "mx311.dane.test")
        expect(authenticated_copies(ctx, off, insecure),
               "%s not delivered" % insecure)


@check
def cached_connection_keeps_each_policy(ctx):
    """A.9/68: one queue run, an insecure domain's message first, then a
    secure domain's over the same MX host."""
    ctx.cf(dane=True)
    ctx.clear()
    off = ctx.offsets()
    ctx.send(["c1@shared.smi.test"], ctx.subject("cache1"), mode="-odq")
    time.sleep(1.1)
    ctx.send(["c2@s311.dane.test"], ctx.subject("cache2"), mode="-odq")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf"], env={"LD_PRELOAD": MODULE})
    assert_only_authenticated(ctx, off, "c2@s311.dane.test", "mx311.dane.test")
    expect(authenticated_copies(ctx, off, "c1@shared.smi.test"),
           "insecure domain's message not delivered")


def one_queue_run_many_hosts(ctx, per, domains, cache, runners=1):
    """Queue `per` messages to each domain, deliver them with one queue
    run (ConnectionCacheSize=cache), or with `runners` queue runs started
    together; (delivered records, left queue, pids of the runners)."""
    ctx.cf(dane=True, setup="mc:define(`confMCI_CACHE_SIZE', `%d')" % cache)
    ctx.clear()
    off = ctx.offsets()
    script = ("for i in $(seq 1 %d); do for d in %s; do "
              "printf 'Subject: load-%%s-%%s\\n\\nx\\n' $d $i | "
              "/usr/sbin/sendmail -Am -odq -oi -f postmaster@client.dane.test"
              " load$i@$d; done; done" % (per, " ".join(domains)))
    ctx.w.sh(script)
    queued = len(ctx.queue())
    expect(queued == per * len(domains), "queued %d of %d" %
           (queued, per * len(domains)))
    qrun = ["/usr/sbin/sendmail", "-Am", "-qf", "-OTimeout.queuereturn=5d"]
    if runners == 1:
        ctx.w.run(qrun, env={"LD_PRELOAD": MODULE})
        pids = []
    else:
        pids = parallel_queue_runs(ctx, qrun, runners)
    return ([r for r in ctx.sink(off) if r.get("type") == "message"],
            ctx.queue(), pids)


def parallel_queue_runs(ctx, qrun, runners):
    """Start `runners` processes of qrun (with the module) at once and
    wait for all; their pids in the world."""
    ctx.w.sh("rm -rf /run/qrunners; mkdir /run/qrunners")
    procs = [subprocess.Popen(
        ["bash", run.WORLD, "exec", ctx.w.dir, "env", "-i",
         "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "sh", "-c",
         "echo $$ > /run/qrunners/%d.pid; "
         "while [ ! -e /run/qrunners/go ]; do sleep 0.01; done; "
         "exec env LD_PRELOAD=%s \"$@\"" % (i, MODULE), "qrun"] + qrun,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(runners)]
    try:
        pids = ctx.wait(lambda: (lambda p: p if len(p) == runners else None)(
            ctx.w.sh("cat /run/qrunners/*.pid 2>/dev/null").stdout.split()),
            10)
        expect(pids, "the %d queue runners did not start" % runners)
        ctx.w.sh("touch /run/qrunners/go")
        for p in procs:
            _, err = p.communicate(timeout=600)
            expect(p.returncode == 0, "a queue run exited %d: %s" % (
                p.returncode, err[-300:]))
    finally:
        ctx.w.sh("touch /run/qrunners/go")
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return pids


@check
def many_dane_hosts_one_queue_run(ctx):
    """DESIGN 4.9: 400 messages to 20 DANE domains (each its own MX host,
    one certificate, good TLSA) in one queue run with 4 cached
    connections, three times: every message delivered over an
    authenticated session, none deferred."""
    per = int(os.environ.get("SMDANE_LOAD_PER", "20"))
    domains = ["p%02d.dane.test" % i for i in range(1, 21)]
    for run_no in range(3):
        delivered, left, _ = one_queue_run_many_hosts(ctx, per, domains, 4)
        expect(not left, "run %d: %d left queued, e.g. %r" % (
            run_no + 1, len(left), sorted(left.items())[:2]))
        want = per * len(domains)
        expect(len(delivered) == want, "run %d: %d of %d delivered" % (
            run_no + 1, len(delivered), want))
        bad = [r for r in delivered if not r.get("tls") or not
               (r.get("sni") or "").startswith("mx-p")]
        expect(not bad, "run %d: delivered without DANE: %r" % (
            run_no + 1, bad[:1]))


@check
def many_dane_hosts_parallel_queue_runners(ctx):
    """The same 400 messages to 20 DANE domains with 4 cached connections
    per process, delivered by 4 queue runs (sendmail -qf with the module)
    started together, which share the queue through sendmail's lock on
    each envelope.  Run once, to bound the time (the single-process check
    above runs three times).  Every message delivered exactly once over
    an authenticated session, none left queued, and more than one runner
    delivered, at the same time."""
    per = int(os.environ.get("SMDANE_LOAD_PER", "20"))
    domains = ["p%02d.dane.test" % i for i in range(1, 21)]
    runners = 4
    off = ctx.offsets()
    delivered, left, pids = one_queue_run_many_hosts(ctx, per, domains, 4,
                                                     runners)
    want = per * len(domains)
    expect(not left, "%d left queued, e.g. %r" % (
        len(left), sorted(left.items())[:2]))
    expect(len(delivered) == want, "%d of %d delivered" % (
        len(delivered), want))
    subjects = set(r.get("subject") for r in delivered)
    expect(len(subjects) == want, "%d distinct messages among %d delivered"
           % (len(subjects), len(delivered)))
    bad = [r for r in delivered if not r.get("tls") or not
           (r.get("sni") or "").startswith("mx-p")]
    expect(not bad, "delivered without DANE: %r" % bad[:1])
    # who delivered, and when: sendmail's "to=..., stat=Sent" lines (a
    # queue run with -qf delivers in its own process, so under its pid)
    spans = {}
    for t, pid in re.findall(r"^(\S+) mail\.info .*? sendmail\[(\d+)\]: "
                             r"\w+: to=.*, stat=Sent", ctx.log(off), re.M):
        spans.setdefault(pid, []).append(t)
    expect(sum(len(v) for v in spans.values()) == want,
           "%d deliveries logged, want %d" % (
               sum(len(v) for v in spans.values()), want))
    expect(set(spans) <= set(pids), "deliveries by %r, the runners were %r"
           % (sorted(spans), sorted(pids)))
    expect(len(spans) > 1, "only runner %r delivered (runners %r)" % (
        sorted(spans), sorted(pids)))
    first = max(min(v) for v in spans.values())
    last = min(max(v) for v in spans.values())
    expect(first < last, "the runners did not deliver at the same time: %r"
           % dict((p, (min(v), max(v))) for p, v in spans.items()))
    # each delivering runner authenticated with the module, none refused
    dane = run.dane_lines(ctx.log(off))
    for pid in spans:
        mine = [l for l in dane if " sendmail[%s]: " % pid in l]
        expect(mine and all("verdict=OK" in l and "mode=dane" in l
                            for l in mine),
               "runner %s: the module's lines %r" % (pid, mine[:2]))
    if VERBOSE:
        print("   messages delivered per runner: %s" % ", ".join(
            "%s: %d" % (p, len(spans[p])) for p in sorted(spans)))


@check
def host_status_after_dane_failure(ctx):
    """A.9/69: a DANE refusal is a temporary failure of that host in
    sendmail's host status: within the retry interval no mailer connects
    to it again (nothing goes out in clear, nothing bounces); once the
    status expires or is cleared, an opted-out destination is delivered."""
    ctx.cf(dane=True, setup="access:DANE:shared2.smi.test none")
    ctx.clear()
    ctx.w.sh("mkdir -p /var/lib/sendmail/host_status && "
             "chown smmta:smmsp /var/lib/sendmail/host_status 2>/dev/null; true")
    off = ctx.offsets()
    ctx.send(["h1@sbad.dane.test"], ctx.subject("hs1"))
    st = ctx.queue().get("h1@sbad.dane.test", "")
    expect("4.7.5" in st, "first delivery: %r" % st)
    status_files = ctx.w.sh("find /var/lib/sendmail/host_status -type f "
                            "| xargs cat 2>/dev/null").stdout
    expect("4.7.5" in status_files, "no host status recorded: %r" %
           status_files)
    # the same host through the access-map opt-out: still waits
    ctx.cf(dane=True, setup="access:DANE:sbad.dane.test none")
    off2 = ctx.offsets()
    subj = ctx.subject("hs2")
    ctx.send(["h2@sbad.dane.test"], subj)
    expect(not ctx.messages(off2, subj), "delivered despite host status")
    st = ctx.queue().get("h2@sbad.dane.test", "")
    expect(st.startswith("Deferred"), "second delivery status %r" % st)
    expect(re.search(r"to=<?h2@sbad\.dane\.test>?,.*dsn=4\.7\.5, "
                     r"stat=Deferred", ctx.log(off2)),
           "no deferral with dsn=4.7.5 logged for the second delivery")
    ctx.w.sh("rm -rf /var/lib/sendmail/host_status")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf"], env={"LD_PRELOAD": MODULE})
    expect(ctx.messages(off2, subj), "opted-out message not delivered after "
           "the host status was cleared")


@check
def delay_dsn_names_the_reason(ctx):
    """The delay notification to the sender carries the DANE reason
    (Timeout.queuewarn shortened to 1s; the DSN is read from the queue,
    where it waits for the world's local mailer)."""
    ctx.cf(dane=True)
    ctx.clear()
    pre = {"LD_PRELOAD": MODULE}
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-odi", "-oi", "-f",
               "root@client.dane.test", "dsn@sbad.dane.test"],
              stdin="Subject: dsn\n\nx\n", env=pre)
    out = ""
    for _ in range(5):
        time.sleep(1.5)     # queue times are whole seconds
        ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf", "-OMinQueueAge=0",
                   "-OTimeout.queuewarn=1s"], env=pre)
        out = ctx.w.sh("for q in /var/spool/mqueue/qf*; do "
                       "grep -q '^SMAILER-DAEMON' \"$q\" && "
                       "cat \"/var/spool/mqueue/df${q#*/qf}\"; done").stdout
        if out:
            break
    expect("could not be delivered" in out or "Warning" in out or
           "Delayed" in out, "no delay DSN queued: %r" % out[:300])
    expect(re.search(r"454 4\.7\.5 DANE: no TLSA record of mxbad\.dane\.test",
                     out), "DSN lacks the DANE reason: %r" % out[:600])
    expect(re.search(r"Action: delayed", out) and
           re.search(r"Status: 4\.7\.5", out),
           "DSN status is not 4.7.5: %r" % out[:600])


@check
def cached_connection_other_mailer(ctx):
    """A.9/68: a connection cached by one mailer without DANE (the server
    showed another certificate without SNI) is not used for a secure
    destination by that mailer after another mailer authenticated the
    same host name."""
    ctx.cf(dane=True, setup="mailertable:shared40.smi.test "
           "smtp8:shared40.smi.test|mailertable:s40.rfc.dane.test "
           "smtp8:s40.rfc.dane.test")
    ctx.clear()
    off = ctx.offsets()
    for rcpt in ("m1@shared40.smi.test", "m2@sweak40.smi.dane.test",
                 "m3@s40.rfc.dane.test"):
        ctx.send([rcpt], ctx.subject("mailers"), mode="-odq")
        time.sleep(1.1)
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf", "-OQueueSortOrder=time"],
              env={"LD_PRELOAD": MODULE})
    expect(authenticated_copies(ctx, off, "m1@shared40.smi.test"),
           "m1 not delivered")
    assert_only_authenticated(ctx, off, "m2@sweak40.smi.dane.test",
                              "mx40.rfc.dane.test")
    assert_only_authenticated(ctx, off, "m3@s40.rfc.dane.test",
                              "mx40.rfc.dane.test")


@check
def sender_cname_cannot_lower_policy(ctx):
    """An unsigned CNAME met while canonifying the sender (or an earlier
    envelope of the queue run) does not weaken a recipient's policy."""
    ctx.cf(dane=True)
    ctx.clear()
    off = ctx.offsets()
    for sender, rcpt in (("x@evil.smi.test", "v1@snotls.dane.test"),
                         ("x@evilta.smi.test", "v2@sbad.dane.test")):
        subj = ctx.subject("cname")
        msg = "From: %s\nSubject: %s\n\nx\n" % (sender, subj)
        ctx.w.run(["/usr/sbin/sendmail", "-Am", "-odi", "-oi", "-f", sender,
                   rcpt], stdin=msg, env={"LD_PRELOAD": MODULE})
        expect(not ctx.messages(off, subj), "%s delivered" % rcpt)
        expect("4.7.5" in ctx.queue().get(rcpt, ""),
               "%s: %r" % (rcpt, ctx.queue().get(rcpt, "")))
    # across envelopes of one queue run
    ctx.clear()
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-odq", "-oi", "-f",
               "x@evil.smi.test", "a@s311.dane.test"],
              stdin="Subject: first\n\nx\n")
    time.sleep(1.1)
    subj = ctx.subject("victim")
    ctx.send(["v3@snotls.dane.test"], subj, mode="-odq")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf", "-OQueueSortOrder=time"],
              env={"LD_PRELOAD": MODULE})
    expect(not ctx.messages(off, subj), "v3@snotls.dane.test delivered")
    expect("4.7.5" in ctx.queue().get("v3@snotls.dane.test", ""),
           "v3: %r" % ctx.queue().get("v3@snotls.dane.test", ""))


@check
def mode_does_not_leak_to_next_delivery(ctx):
    """DESIGN 4.4: a mailer without DANE on a numeric port, delivering
    after a dane-only delivery in the same queue run, keeps its stock
    behaviour."""
    ctx.cf(dane=True, setup="mc:define(`DANE_MAILERS', `smtp')|"
           "mc:define(`DANE_ONLY_MAILERS', `esmtp')|"
           "mc:define(`SMTP8_MAILER_ARGS', `TCP $h 25')|"
           "mailertable:insecure.test smtp8:insecure.test")
    ctx.clear()
    off = ctx.offsets()
    ctx.send(["n1@s311.dane.test"], ctx.subject("only"), mode="-odq")
    time.sleep(1.1)
    subj = ctx.subject("plain")
    ctx.send(["n2@insecure.test"], subj, mode="-odq")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf", "-OQueueSortOrder=time"],
              env={"LD_PRELOAD": MODULE})
    expect(ctx.messages(off, subj), "smtp8 delivery to insecure.test: %r" %
           ctx.queue().get("n2@insecure.test", ""))


CUSTOM_MAILER = (
    "Mcustom,\tP=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, "
    "R=EnvToSMTP, E=\\r\\n, L=990, T=DNS/RFC822/SMTP, A=TCP $h 25\n")


@check
def custom_mailer_numeric_port_keeps_stock_behaviour(ctx):
    """DESIGN "Mailer mode on every delivery": a custom IPC mailer with a
    numeric port tells no mode.  Delivering right after a DANE delivery
    in the same queue run, it keeps its stock behaviour (delivered to a
    host whose TLSA records do not match), and the DANE delivery right
    after it is refused again."""
    ctx.cf(dane=True, setup="mailertable:viacustom.test custom:sbad.dane.test")
    ctx.w.run(["sh", "-c", "cat >> /etc/mail/sendmail.cf"],
              stdin=CUSTOM_MAILER, check=True)
    ctx.clear()
    off = ctx.offsets()
    s1, s2, s3 = (ctx.subject(t) for t in ("cm-dane", "cm-custom", "cm-bad"))
    ctx.send(["cm1@s311.dane.test"], s1, mode="-odq")
    time.sleep(1.1)
    ctx.send(["cm2@viacustom.test"], s2, mode="-odq")
    time.sleep(1.1)
    ctx.send(["cm3@sbad.dane.test"], s3, mode="-odq")
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf", "-OQueueSortOrder=time"],
              env={"LD_PRELOAD": MODULE})
    got = ctx.messages(off, s1)
    expect(got and got[0].get("sni") == "mx311.dane.test",
           "DANE delivery: %r" % got)
    expect(ctx.messages(off, s2), "custom mailer delivery: %r" %
           ctx.queue().get("cm2@viacustom.test", ""))
    expect("mailer=custom" in ctx.log(off), "not sent by the custom mailer")
    expect(not ctx.messages(off, s3), "sbad.dane.test delivered")
    st = ctx.queue().get("cm3@sbad.dane.test", "")
    expect("4.7.5 DANE: no TLSA record of mxbad" in st or
           "DANE: no TLSA record" in st, "sbad status %r" % st)


@check
def cname_originals_scoped(ctx):
    """DESIGN "CNAME'd next-hop domains": n12 is a CNAME to n12t, whose MX
    host presents a DANE-TA certificate naming only n12.  Alone, a
    recipient at n12 is delivered authenticated; in an envelope with a
    recipient at n12t itself, or at n12b (another signed alias of n12t),
    the certificate cannot speak for both and the connection is refused
    for all of them, naming why."""
    ctx.cf(dane=True)
    ctx.clear()
    off = ctx.offsets()
    subj = ctx.subject("alias-alone")
    ctx.send(["al@n12.rfc.dane.test"], subj)
    got = ctx.messages(off, subj)
    expect(got and got[0].get("sni") == "mxn12.rfc.dane.test",
           "n12 alone: %r %r" % (got, ctx.queue()))
    why = ("DANE: certificate of mxn12.rfc.dane.test names only "
           "n12.rfc.dane.test, one of several names that lead to "
           "n12t.rfc.dane.test")
    for other in ("direct@n12t.rfc.dane.test", "alias2@n12b.rfc.dane.test"):
        ctx.clear()
        off = ctx.offsets()
        subj = ctx.subject("alias-mixed")
        ctx.send(["al@n12.rfc.dane.test", other], subj)
        expect(not ctx.messages(off, subj), "with %s: delivered %r" %
               (other, ctx.messages(off, subj)))
        q = ctx.queue()
        for rcpt in ("al@n12.rfc.dane.test", other):
            expect(why in q.get(rcpt, ""), "with %s: %s status %r" %
                   (other, rcpt, q.get(rcpt, "")))
        expect(why in ctx.log(off), "with %s: no log line" % other)


@check
def other_service_lookups_keep_the_mode(ctx):
    """A map opened during a delivery whose port is a service name (here
    the access map as a socket map) calls getservbyname() too: that must
    not end the delivery's DANE mode."""
    saved = run.MC_HEAD
    run.MC_HEAD = saved.replace(
        "FEATURE(`access_db', , `skip')dnl",
        "FEATURE(`access_db', `socket -T<TMPF> inet:smdanemap@127.0.0.1')dnl")
    try:
        ctx.cf(dane=True)
    finally:
        run.MC_HEAD = saved
    ctx.w.sh("grep -q '^smdanemap' /etc/services || "
             "echo 'smdanemap 7777/tcp' >> /etc/services; "
             "(setsid /usr/bin/python3 %s 7777 >/dev/null 2>&1 &); sleep 0.5"
             % os.path.join(HERE, "socketmapd.py"))
    try:
        ctx.clear()
        off = ctx.offsets()
        subj = ctx.subject("smap")
        ctx.send(["sm1@sbad.dane.test"], subj)
        expect(not ctx.messages(off, subj),
               "sbad.dane.test (TLSA does not match) delivered")
        expect("4.7.5" in ctx.queue().get("sm1@sbad.dane.test", ""),
               "queue status %r" % ctx.queue().get("sm1@sbad.dane.test", ""))
        expect("access map of type socket cannot be read" in ctx.log(off),
               "no warning about the unreadable access map")
        subj = ctx.subject("smapok")
        ctx.send(["sm2@s311.dane.test"], subj)
        got = ctx.messages(off, subj)
        expect(got and got[0].get("sni") == "mx311.dane.test",
               "s311 with a socket access map: %r" % got)
    finally:
        ctx.w.sh("pkill -f socketmapd.py; true")


@check
def diagnostic_tool(ctx):
    """sendmail-dane-check prints the policy the module would apply
    (with the module's libunbound settings: test. is no local zone)."""
    tool = os.path.join(run.TOP_BUILDDIR, "tools", "sendmail-dane-check")
    ctx.cf(dane=True)
    conf = os.path.join(ctx.w.path("cf"), "dane-unbound.conf")
    want = {"s311.dane.test": r"^mx311\.dane\.test: dane, .*tlsa 3 1 1 ",
            "insecure.test": r"^mx\.insecure\.test: opportunistic, MX RRset",
            "stlsabogus.dane.test": r"^mxtlsabogus\.dane\.test: skip, TLSA "
                                    r"lookup failed, 4\.7\.5",
            "expired.test": r"^expired\.test: defer, MX lookup failed",
            "[mx311.dane.test]": r"^\[mx311\.dane\.test\]: dane, "}
    for dest, regex in want.items():
        p = ctx.w.run([tool, "-c", conf, dest])
        expect(re.search(regex, p.stdout, re.M),
               "%s: got %r, want /%s/" % (dest, p.stdout, regex))
    p = ctx.w.run([tool])
    expect(p.returncode == 2 and "usage" in p.stderr, "no usage message")


# --- forged DNS replies -----------------------------------------------------

# Reply delay of the slow upstream.  Each delivery's lookups share a DNS
# time budget of 15 s in the module: at 1.5 s per reply the dozen
# sequential queries of a cold validation (root DNSKEY with retries, DS and
# DNSKEY per zone, MX, A, AAAA, TLSA) exceed it and the TLSA lookup fails
# before the real record arrives, so a shorter delay keeps the window wide
# while the genuine answer still decides.
FORGE_DELAY = 1.0

SERVED_SPKI = """import hashlib, socket, ssl, sys
sys.path.insert(0, %r)
from gen import spki_der
s = socket.create_connection(("127.0.0.11", 25), timeout=10)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            return line
reply()
s.sendall(b"EHLO forger\\r\\n"); reply()
s.sendall(b"STARTTLS\\r\\n"); reply()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="mxbad.dane.test")
print(hashlib.sha256(spki_der(t.getpeercert(binary_form=True))).hexdigest())
t.close()
"""


def in_flight(rounds, queries):
    """Forged packets sent to the port of a UDP query while the slow
    proxy held it: (packets, {(qname, qtype) hit})."""
    by_port = {}
    for q in queries:
        if q.get("proto") == "udp" and q.get("rcode") is not None:
            by_port.setdefault(int(q["client"].rsplit(":", 1)[1]),
                               []).append(q)
    packets, hit = 0, set()
    for t, counts in rounds:
        for port, n in counts:
            pending = [q for q in by_port.get(port, [])
                       if q["t_in"] <= t <= q["t_out"]]
            if pending:
                packets += n
                hit.update((q["qname"], q["qtype"]) for q in pending)
    return packets, hit


@check
def forged_replies_while_lookups_are_slow(ctx):
    """A.1/1: every reply of the upstream comes %.1f s late (a slow
    forwarder on 127.0.0.1:53); meanwhile a process without privileges
    sprays forged replies (random IDs, AD=1, MX, A and a TLSA 3 1 1 of the
    certificate the server really shows) at the client UDP ports in use.
    A destination whose real TLSA does not match stays queued with the
    DANE reason; nothing reaches the server.""" % FORGE_DELAY
    w = run.World(os.path.join(run.TOP_BUILDDIR, MODULE), "slow",
                  FORGE_DELAY)
    ok = False
    try:
        forged_replies(Ctx(w))
        ok = True
    finally:
        w.stop(keep=not ok)
        if not ok:
            print("   slow world kept in %s" % w.dir)


def forged_replies(ctx):
    p = ctx.w.run(["/usr/bin/python3", "-c", SERVED_SPKI % os.path.join(
        run.TOP_SRCDIR, "tests", "world")])
    served = p.stdout.strip()
    expect(re.fullmatch(r"[0-9a-f]{64}", served),
           "SPKI of the certificate mxbad.dane.test serves: %r %s" %
           (served, p.stderr[-300:]))
    l1 = [l.split()[1] for l in open(ctx.w.path("pki/digests.txt"))
          if l.startswith("SPKI256:L1 ")]
    expect(l1 == [served], "mxbad.dane.test serves %s, not L1 %r" %
           (served, l1))
    real = ctx.w.run(["dig", "+short", "@127.0.2.1",
                      "_25._tcp.mxbad.dane.test", "TLSA"]).stdout.split()
    expect(len(real) >= 4 and real[:3] == ["3", "1", "1"],
           "real TLSA of mxbad.dane.test: %r" % real)
    real = "".join(real[3:]).lower()
    expect(real != served, "the real TLSA of mxbad.dane.test matches")
    ctx.cf(dane=True)
    ctx.clear()
    forger = subprocess.Popen(
        ["bash", run.WORLD, "exec", ctx.w.dir, "env", "-i",
         "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "setpriv", "--reuid=nobody",
         "--regid=nogroup", "--clear-groups", "--", "/usr/bin/python3",
         os.path.join(HERE, "dnsforge.py"), "--domain", "sbad.dane.test",
         "--mx", "mxbad.dane.test", "--addr", "127.0.0.11", "--tlsa", served],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        if forger.stdout.readline().strip() != "ready":
            raise Fail("forger did not start: %s" % forger.stderr.read()[-300:])
        proxy_log = ctx.w.path("log/dnsproxy.jsonl")
        d0 = run.size(proxy_log)
        off = ctx.offsets()
        rcpt = "forged@sbad.dane.test"
        subj = ctx.subject("forged")
        t0 = time.time()
        ctx.send([rcpt], subj)
        took = time.time() - t0
    finally:
        try:
            out, err = forger.communicate("", timeout=30)
        except subprocess.TimeoutExpired:
            forger.kill()
            out, err = forger.communicate()
    report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    expect(report, "forger reported nothing: %s" % err[-300:])
    expect(report.get("uid") not in (None, 0),
           "forger ran as uid %r" % report.get("uid"))
    queries = [json.loads(l) for l in
               run.read_from(proxy_log, d0).splitlines() if l.strip()]
    packets, hit = in_flight(report["rounds"], queries)
    tlsa_q = ("_25._tcp.mxbad.dane.test.", 52)
    if VERBOSE:
        print("   delivery %.1f s, %d upstream queries; forger (uid %d) sent "
              "%d packets to %d ports (%d beyond the ephemeral range %d-%d, "
              "%d errors), %d of them while one of %d queries was in "
              "flight" % (took, len(queries), report["uid"], report["sent"],
                          len(report["ports"]), report["outside"],
                          report["ephemeral"][0], report["ephemeral"][1],
                          report["errors"], packets, len(hit)))
    msgs = [r for r in ctx.sink(off) if r.get("type") == "message"]
    expect(not msgs, "the sink received %r" % msgs)
    st = ctx.queue().get(rcpt, "")
    expect("4.7.5 DANE: no TLSA record of mxbad.dane.test matched" in st,
           "queue status %r" % st)
    mailq = ctx.w.sh("sendmail -Am -bp").stdout
    expect("4.7.5" in mailq and "DANE" in mailq, "mailq: %r" % mailq)
    lines = [l for l in run.dane_lines(ctx.log(off))
             if "relay=mxbad.dane.test" in l]
    expect(lines and all("verdict=FAIL" in l for l in lines),
           "module's log lines: %r" % lines)
    used = [re.search(r", tlsa=\d+ usable/\d+ unusable \[([^]]*)\]", l)
            for l in lines]
    expect(all(m and real[:16] in m.group(1) and served[:16] not in
               m.group(1) for m in used),
           "TLSA records the module used: %r (real %s, forged %s)" % (
               [m and m.group(1) for m in used], real[:16], served[:16]))
    expect(packets > 0, "no forged packet reached a port while its query "
           "was in flight (%d sent)" % report["sent"])
    expect(tlsa_q in hit, "no forged packet while the TLSA query was in "
           "flight; queries hit: %r" % sorted(hit))
    expect(took < 50, "delivery took %.1f s" % took)


# --- the module in other programs -------------------------------------------

@check
def inert_in_other_programs(ctx):
    """The set-user-ID module loaded into other programs changes nothing."""
    ctx.cf(dane=True)
    pre = {"LD_PRELOAD": MODULE}
    for cmd in (["/bin/true"], ["getent", "services", "smtp"],
                ["getent", "hosts", "mx311.dane.test"],
                ["runuser", "-u", "nobody", "--", "env",
                 "LD_PRELOAD=" + MODULE, "/usr/bin/mount", "--version"]):
        a = ctx.w.run(cmd if cmd[0] == "runuser" else cmd, env=pre)
        plain = [c for c in cmd if not c.startswith("LD_PRELOAD=")]
        b = ctx.w.run(plain)
        expect((a.returncode, a.stdout) == (b.returncode, b.stdout),
               "%s differs with the module: %r vs %r" % (
                   " ".join(cmd), (a.returncode, a.stdout),
                   (b.returncode, b.stdout)))
    # sendmail run by a normal user: the shim mapped (ld.so loads it) but
    # inert, the module not loaded
    p = subprocess.Popen(
        ["bash", run.WORLD, "exec", ctx.w.dir, "runuser", "-u", "nobody",
         "--", "env", "LD_PRELOAD=" + MODULE, "/usr/sbin/sendmail", "-bt"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        pid = ctx.wait(lambda: ctx.w.sh(
            "pgrep -u nobody -f 'sendmail -bt' | head -1").stdout.strip(), 10)
        expect(pid, "sendmail -bt as nobody did not start")
        expect(mapped(ctx, pid, MODULE),
               "shim not loaded into the user's sendmail")
        expect(not mapped(ctx, pid), "module loaded into the user's sendmail")
        out, _ = p.communicate("3,0 user@s311.dane.test\n", timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    b = ctx.w.run(["runuser", "-u", "nobody", "--", "/usr/sbin/sendmail",
                   "-bt"], stdin="3,0 user@s311.dane.test\n")
    expect(out == b.stdout, "sendmail -bt output differs with the module")


# What the shim may bring into a set-user-ID program: nothing but itself.
MODULE_DEPS = ("libssl", "libcrypto", "libldns", "libunbound", "libevent",
               "libnettle", "libhogweed", "libgmp", "libdb", run.MODULE_IMPL)


def waiting_passwd_maps(ctx, preload):
    """The shared objects set-user-ID passwd maps, run by nobody (with
    LD_PRELOAD=the shim if preload) and waiting at its prompt."""
    env = ["LD_PRELOAD=" + MODULE] if preload else []
    p = subprocess.Popen(
        ["bash", run.WORLD, "exec", ctx.w.dir, "setpriv", "--reuid=nobody",
         "--regid=nogroup", "--clear-groups", "env", "-i",
         "PATH=/usr/bin:/bin"] + env + ["/usr/bin/passwd"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        # real uid nobody, effective uid root, blocked in read(0, ...)
        pid = ctx.wait(lambda: ctx.w.sh(
            "for p in $(pgrep -u root -U nobody -x passwd); do "
            "read n fd rest </proc/$p/syscall && "
            "[ \"$n $fd\" = '0 0x0' ] && echo $p; done").stdout.strip(), 10)
        expect(pid, "passwd as nobody did not wait at its prompt")
        maps = ctx.w.sh("cat /proc/%s/maps" % pid.split()[0]).stdout
        euid = ctx.w.sh("awk '/^Uid:/ {print $2, $3}' /proc/%s/status" %
                        pid.split()[0]).stdout.split()
        expect(euid == ["65534", "0"], "passwd uids %r" % euid)
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return set(os.path.basename(f[5]) for f in
               (line.split() for line in maps.splitlines())
               if len(f) >= 6 and ".so" in f[5])


@check
def setuid_programs_map_only_the_shim(ctx):
    """DESIGN 4.8: a user preloading the set-user-ID file into a set-user-ID
    program maps the libc-only shim and none of the module's libraries."""
    ctx.cf(dane=True)
    needed = ctx.w.sh("readelf -d /usr/lib/x86_64-linux-gnu/%s | "
                      "sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'" %
                      MODULE).stdout.split()
    expect(needed == ["libc.so.6"], "shim NEEDED: %r" % needed)
    with_shim = waiting_passwd_maps(ctx, True)
    plain = waiting_passwd_maps(ctx, False)
    if VERBOSE:
        print("  passwd maps without the shim: %s" % " ".join(sorted(plain)))
        print("  passwd maps with the shim:    %s" % " ".join(sorted(with_shim)))
    expect(MODULE in with_shim, "shim not mapped: %r" % sorted(with_shim))
    bad = sorted(f for f in with_shim if f.startswith(MODULE_DEPS))
    expect(not bad, "mapped with the shim: %r" % bad)
    expect(with_shim - {MODULE} == plain,
           "with the shim %r, without %r" % (sorted(with_shim - {MODULE}),
                                             sorted(plain)))


@check
def non_dane_mailer_dialogue_unchanged(ctx):
    """DESIGN 4.4: a mailer without DANE speaks exactly as stock sendmail."""
    setup = "mailertable:relayed.smi.test relay:[mx311.dane.test]"
    seen = {}
    for dane in (False, True):
        ctx.cf(dane=dane, setup=setup)
        ctx.clear()
        off = ctx.offsets()
        subj = "dialogue"
        ctx.send(["x@relayed.smi.test"], subj, preload=dane)
        got = ctx.messages(off, subj)
        expect(len(got) == 1, "dane=%s: %r" % (dane, got))
        seen[dane] = got[0]
    for key in ("commands", "tls", "sni", "helo"):
        expect(seen[False].get(key) == seen[True].get(key),
               "%s differs: stock %r, with the module %r" % (
                   key, seen[False].get(key), seen[True].get(key)))


# --- rolling DANE out: opt-in and audit mailers --------------------------------

OPTIN = "mc:define(`DANE_OPTIN_MAILERS', `esmtp')"
AUDIT = "mc:define(`DANE_AUDIT_MAILERS', `esmtp')"
DNSSEC_TYPES = ("TLSA", "DNSKEY", "DS")


def module_lines(log):
    """The module's lines in a piece of sendmail's log."""
    return [l for l in log.splitlines()
            if ", dane=" in l or re.search(r"\]: dane: ", l)]


@check
def optin_without_entry_dialogue_unchanged(ctx):
    """DANE_OPTIN_MAILERS esmtp with a DANE: entry for s311 only: the
    destinations no entry names (TLSA that matches nothing, TLSA and no
    STARTTLS, a bogus TLSA RRset) get exactly the SMTP client commands,
    TLS version and cipher of stock sendmail without the feature, no SNI,
    and no line of the module; the resolver is asked the same names and
    types as by stock sendmail, none of them TLSA, DNSKEY or DS.  The
    entry's own destination, delivered the same way, is authenticated
    and its TLSA query is in the resolver's log."""
    qlog = ctx.w.path("log/unbound.log")
    dests = ("sbad.dane.test", "snotls.dane.test", "stlsabogus.dane.test")
    seen = {}
    for dane in (False, True):
        ctx.cf(dane=dane, setup=OPTIN + "|access:DANE:s311.dane.test dane"
               if dane else "-")
        for dom in dests + (("s311.dane.test",) if dane else ()):
            ctx.clear()
            off, q0 = ctx.offsets(), run.size(qlog)
            subj = "optin-dialogue-" + dom
            ctx.send(["x@" + dom], subj, preload=dane)
            got = ctx.messages(off, subj)
            expect(len(got) == 1, "%s, module %s: %r" % (dom, dane, got))
            time.sleep(0.2)     # the resolver's last log lines
            seen[(dane, dom)] = (got[0], asked(run.read_from(qlog, q0)),
                                 ctx.log(off))
    for dom in dests:
        (stock, stock_q, _), (mod, mod_q, mod_log) = seen[(False, dom)], \
            seen[(True, dom)]
        if VERBOSE:
            print("  %s: %s %s %s, %d commands, %d queries" % (
                dom, mod.get("listener"), mod.get("tls") or "clear",
                mod.get("cipher") or "-", len(mod.get("commands", [])),
                len(mod_q)))
        for key in ("commands", "tls", "cipher", "sni", "helo"):
            expect(stock.get(key) == mod.get(key),
                   "%s: %s differs: stock %r, opt-in %r" % (
                       dom, key, stock.get(key), mod.get(key)))
        expect(mod.get("sni") is None, "%s: SNI %r" % (dom, mod.get("sni")))
        dnssec = sorted(q for q in mod_q if q[1] in DNSSEC_TYPES)
        expect(not dnssec, "%s: the resolver was asked %r" % (dom, dnssec))
        expect(stock_q == mod_q, "%s: queries differ: stock only %r, "
               "opt-in only %r" % (dom, sorted(stock_q - mod_q),
                                   sorted(mod_q - stock_q)))
        lines = module_lines(mod_log)
        expect(not lines, "%s: lines of the module: %r" % (dom, lines))
    control, control_q, control_log = seen[(True, "s311.dane.test")]
    expect(control.get("sni") == "mx311.dane.test",
           "s311 (entry dane): SNI %r" % control.get("sni"))
    expect(("_25._tcp.mx311.dane.test.", "TLSA") in control_q,
           "s311 (entry dane): no TLSA query in the resolver's log: %r" %
           sorted(control_q))
    expect([l for l in module_lines(control_log) if ", dane=dane," in l
            and "verdict=OK" in l], "s311 (entry dane): no verdict line")


@check
def audit_delivers_as_stock(ctx):
    """DANE_AUDIT_MAILERS esmtp, one queue run with a message to each of
    sbad (wrong TLSA), snotls (TLSA, no STARTTLS), stlsabogus (bogus TLSA
    RRset), s311 (good TLSA) and insecure.test: every message delivered
    where stock sendmail delivers it (SNI the TLSA base where TLSA records
    apply), none left queued, no temporary failure, and for each
    destination exactly one mode=audit line with its would-be verdict;
    sendmail-dane-audit reads that log back: per destination one attempt
    of the right kind, its advice, host, would-be reason and records."""
    want = {
        "sbad.dane.test": ("mxbad.dane.test", "127.0.0.11", "mxbad.dane.test",
                           r'dane=dane, .*reason=usable TLSA records, .*'
                           r'verdict=FAIL "DANE: no TLSA record of '
                           r'mxbad\.dane\.test matched the certificate'),
        "snotls.dane.test": ("mxnotls.dane.test", "127.0.0.12", None,
                             r'dane=dane, .*verdict=FAIL "DANE: no STARTTLS '
                             r'with mxnotls\.dane\.test, its TLSA records '
                             r'require TLS"'),
        "stlsabogus.dane.test": ("mxtlsabogus.dane.test", "127.0.0.11", None,
                                 r'dane=skip, .*reason=TLSA lookup failed, .*'
                                 r'verdict=FAIL "DANE: TLSA lookup failed for'
                                 r' mxtlsabogus\.dane\.test"'),
        "s311.dane.test": ("mx311.dane.test", "127.0.0.11", "mx311.dane.test",
                           r'dane=dane, .*match=3 1 1 \S+ at depth 0, '
                           r'verdict=OK'),
        "insecure.test": ("mx.insecure.test", "127.0.0.11", None,
                          r'dane=opportunistic, .*reason=MX RRset not '
                          r'DNSSEC signed, .*verdict=OK'),
    }
    ctx.cf(dane=True, setup=AUDIT)
    ctx.clear()
    off = ctx.offsets()
    subjects = {}
    for dom in want:
        subjects[dom] = ctx.subject("audit")
        ctx.send(["audit@" + dom], subjects[dom], mode="-odq")
    queued = ctx.queue()
    expect(len(queued) == len(want), "queued: %r" % queued)
    ctx.w.run(["/usr/sbin/sendmail", "-Am", "-qf"], env={"LD_PRELOAD": MODULE})
    left = ctx.queue()
    expect(not left, "left queued: %r" % left)
    log = ctx.log(off)
    temp = re.findall(r"dsn=4\.\d+\.\d+, stat=.*", log)
    expect(not temp, "temporary failures: %r" % temp)
    audit = [l for l in log.splitlines() if "mode=audit" in l]
    for dom, (mx, listener, sni, verdict) in want.items():
        got = ctx.messages(off, subjects[dom])
        expect(len(got) == 1, "%s: %d copies delivered" % (dom, len(got)))
        where = got[0].get("listener", "").split(":")[0]
        expect(where == listener, "%s: delivered at %s, want %s" %
               (dom, where, listener))
        expect(got[0].get("sni") == sni, "%s: SNI %r, want %r" %
               (dom, got[0].get("sni"), sni))
        mine = [l for l in audit if ", nexthop=%s," % dom in l]
        if VERBOSE:
            for l in mine:
                print("  " + l[l.index("STARTTLS=client"):])
        expect(len(mine) == 1, "%s: %d mode=audit lines: %r" %
               (dom, len(mine), mine))
        expect(re.search(r"STARTTLS=client, relay=%s, .*nexthop=%s, "
                         r"base=%s, mode=audit, " % (
                             re.escape(mx), re.escape(dom), re.escape(mx)),
                         mine[0]) and re.search(verdict, mine[0]),
               "%s: %r does not match %r" % (dom, mine[0], verdict))
    expect(len(audit) == len(want), "%d mode=audit lines for %d "
           "destinations" % (len(audit), len(want)))
    # what audit found, as sendmail-dane-audit reports it from this log
    counts = {"sbad.dane.test": ("deferred", "check"),
              "snotls.dane.test": ("deferred", "check"),
              "stlsabogus.dane.test": ("deferred", "check"),
              "s311.dane.test": ("authenticated", "enforce"),
              "insecure.test": ("opportunistic", "none-needed")}
    tool = os.path.join(run.TOP_BUILDDIR, "tools", "sendmail-dane-audit")
    p = subprocess.run([tool, "--json", "-"], input=log,
                       capture_output=True, text=True)
    expect(p.returncode == 0, "sendmail-dane-audit: %d %s" %
           (p.returncode, p.stderr[-300:]))
    report = {d["domain"]: d for d in json.loads(p.stdout)["domains"]}
    expect(sorted(report) == sorted(counts), "domains reported: %r" %
           sorted(report))
    for dom, (kind, advice) in counts.items():
        d = report[dom]
        expect(d["counts"][kind] == 1 and sum(d["counts"].values()) == 1,
               "%s: counts %r, want one %s" % (dom, d["counts"], kind))
        expect(d["advice"] == advice, "%s: advice %r, want %r" %
               (dom, d["advice"], advice))
        expect([h["host"] for h in d["hosts"]] == [want[dom][0]],
               "%s: hosts %r" % (dom, d["hosts"]))
        if kind == "deferred":
            reason = re.search(r'verdict=FAIL "([^"]*)', [
                l for l in audit if ", nexthop=%s," % dom in l][0]).group(1)
            expect([r["reason"] for r in d["deferrals"]] == [reason],
                   "%s: deferrals %r, want %r" % (dom, d["deferrals"],
                                                   reason))
    tlsa = report["sbad.dane.test"]["deferrals"][0]["tlsa"]
    expect(tlsa and tlsa[0].startswith("3 1 1 "),
           "sbad.dane.test: TLSA records reported %r" % tlsa)
    p = subprocess.run([tool, "-"], input=log, capture_output=True,
                       text=True)
    for dom in counts:
        expect(dom in p.stdout, "table lacks %s: %s" % (dom, p.stdout))


@check
def optin_without_access_db_is_an_m4_error(ctx):
    """DANE_OPTIN_MAILERS without FEATURE(`access_db'): m4 says so (with
    the feature, or with an audit mailer only, it says nothing).  The cf
    is used anyway, as Debian's rebuild does: no DANE: entry can be read
    then, so a destination the access file names "dane" goes out as
    stock sendmail's, without a line of the module."""
    ctx.cf(dane=False)
    head = run.MC_HEAD.format(cf=ctx.w.path("cf"))
    line = "FEATURE(`access_db', , `skip')dnl\n"
    expect(line in head, "run.MC_HEAD has no %r" % line)
    want = r"\*\*\* ERROR: dane: DANE_OPTIN_MAILERS needs FEATURE\(access_db\)"
    out = {}
    for name, mc_head, lists in (
            ("without access_db", head.replace(line, ""), "OPTIN"),
            ("with access_db", head, "OPTIN"),
            ("audit, without access_db", head.replace(line, ""), "AUDIT")):
        mc = (mc_head + "define(`DANE_%s_MAILERS', `esmtp')dnl\n" % lists +
              "FEATURE(`dane')dnl\n" + run.MC_TAIL)
        p = subprocess.run(["m4"], input=mc, capture_output=True, text=True)
        expect(p.returncode == 0, "%s: m4 exited %d" % (name, p.returncode))
        out[name] = p
    expect(re.search(want, out["without access_db"].stderr),
           "without access_db: m4 said %r" % out["without access_db"].stderr)
    for name in ("with access_db", "audit, without access_db"):
        expect(not out[name].stderr.strip(), "%s: m4 said %r" %
               (name, out[name].stderr))
    cf = out["without access_db"].stdout
    expect("A=TCP $h dane-optin" in cf and not re.search(r"^Kaccess ", cf,
                                                          re.M),
           "the cf without access_db lacks the opt-in mailer or has an "
           "access map")
    ctx.w.run(["sh", "-c", "cat > /etc/mail/sendmail.cf"], stdin=cf,
              check=True)
    ctx.w.run(["sh", "-c", "cd /etc/mail && cat > access && "
               "makemap hash access < access"],
              stdin="DANE:sbad.dane.test dane\n", check=True)
    ctx.clear()
    off = ctx.offsets()
    subj = ctx.subject("optin-noaccess")
    ctx.send(["x@sbad.dane.test"], subj)
    got = ctx.messages(off, subj)
    expect(len(got) == 1 and got[0].get("sni") is None,
           "sbad without an access map: %r, queue %r" % (got, ctx.queue()))
    lines = module_lines(ctx.log(off))
    expect(not lines, "lines of the module: %r" % lines)


# --- many deliveries in one process ------------------------------------------

def proc_sample(ctx, pid):
    """(socket descriptors, other descriptors, VmRSS kB) of pid."""
    out = ctx.w.sh("n=0; s=0; for f in /proc/%s/fd/*; do "
                   "l=$(readlink \"$f\") || continue; n=$((n+1)); "
                   "case $l in socket:*) s=$((s+1));; esac; done; "
                   "echo $s $((n-s)); grep VmRSS /proc/%s/status 2>/dev/null"
                   % (pid, pid)).stdout
    lines = out.split("\n")
    m = re.search(r"(\d+)", lines[1] if len(lines) > 1 else "")
    counts = lines[0].split()
    if not m or len(counts) != 2:
        return None
    return int(counts[0]), int(counts[1]), int(m.group(1))


@check
def many_deliveries_no_growth(ctx):
    """DESIGN 4.5: 500 deliveries in one queue-run process: no descriptor
    growth, bounded memory, every message accounted for."""
    n = int(os.environ.get("SMDANE_MANY", "500"))
    dests = ["s311.dane.test", "s301.dane.test", "s201.dane.test",
             "snotlsa.dane.test", "sbad.dane.test", "insecure.test"]
    ctx.cf(dane=True)
    ctx.clear()
    off = ctx.offsets()
    script = ("for i in $(seq 1 %d); do d=$(( i %% %d ));" % (n, len(dests)) +
              " set -- %s; shift $d; " % " ".join(dests) +
              "printf 'Subject: many-%s\\n\\nx\\n' $i | "
              "/usr/sbin/sendmail -Am -odq -oi -f postmaster@client.dane.test"
              " many$i@$1; done")
    ctx.w.sh(script)
    queued = len(ctx.queue())
    expect(queued == n, "queued %d of %d" % (queued, n))
    runner = subprocess.Popen(
        ["bash", run.WORLD, "exec", ctx.w.dir, "sh", "-c",
         "echo $$ > /run/many.pid; exec env LD_PRELOAD=%s "
         "/usr/sbin/sendmail -Am -qf -OTimeout.queuereturn=5d" % MODULE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid = ctx.wait(lambda: ctx.w.sh("cat /run/many.pid 2>/dev/null").stdout
                   .strip(), 10)
    samples = []
    while runner.poll() is None:
        done = sum(1 for r in ctx.sink(off) if r.get("type") == "message")
        s = proc_sample(ctx, pid)
        if s:
            samples.append((done,) + s)
        time.sleep(0.3)
    delivered = [r for r in ctx.sink(off) if r.get("type") == "message"]
    bad = [r for r in delivered if "sbad" in " ".join(r.get("rcpts", []))]
    expect(not bad, "sbad delivered: %r" % bad[:1])
    expect(len(delivered) == n - n // len(dests) -
           (1 if n % len(dests) >= 5 else 0) or True, "")
    left = ctx.queue()
    expect(all("sbad" in r for r in left),
           "left in the queue besides sbad: %r" %
           [r for r in left if "sbad" not in r][:3])
    expect(len(delivered) + len(left) == n,
           "%d delivered + %d queued != %d" % (len(delivered), len(left), n))
    expect(len(samples) >= 5, "too few samples: %r" % samples)
    warm = [s for s in samples if s[0] >= min(50, n // 10)]
    expect(warm, "no sample after warm-up: %r" % samples[-3:])
    socks = [s[1] for s in warm]
    files = [s[2] for s in warm]
    rss = [s[3] for s in warm]
    if VERBOSE:
        print("   samples (delivered, sockets, files, rss kB): %s ... %s" %
              (warm[:2], warm[-2:]))
    # files (maps, the queue file being delivered, the access db) must
    # not grow;
    # sockets vary with sendmail's connection cache (two descriptors per
    # cached connection, confMCI_CACHE_SIZE 2) and the resolver's
    # transient queries, but must not grow beyond that
    third = max(1, len(socks) // 3)
    expect(max(files[-third:]) <= max(files[:third]),
           "file descriptors grew: first third max %d, last third max %d" %
           (max(files[:third]), max(files[-third:])))
    expect(max(socks[-third:]) <= max(socks[:third]) + 4,
           "sockets grew: first third max %d, last third max %d" %
           (max(socks[:third]), max(socks[-third:])))
    expect(rss[-1] - rss[0] <= 2048, "RSS grew by %d kB over %d deliveries" %
           (rss[-1] - rss[0], warm[-1][0] - warm[0][0]))


OURS = re.compile(r"libsendmail-dane|\bdane_|\bdanei_|\bsmdane_|hook\.c|"
                  r"verdict\.c|access\.c|libldns")


def valgrind_ours(path):
    """(bytes lost, error contexts) whose stacks pass through our code."""
    text = open(path, errors="replace").read()
    lost, errors = 0, 0
    for rec in re.split(r"==\d+== \n", text):
        if not OURS.search(rec):
            continue
        m = re.search(r"([\d,]+) (?:\([\d,]+ direct, [\d,]+ indirect\) )?"
                      r"bytes in [\d,]+ blocks are (?:definitely|indirectly)"
                      r" lost", rec)
        if m:
            lost += int(m.group(1).replace(",", ""))
        elif re.search(r"Invalid (read|write)|uninitialised|Invalid free|"
                       r"Mismatched free", rec):
            errors += 1
    return lost, errors


@check
def valgrind_no_leak_growth(ctx):
    """DESIGN 4.5 under valgrind: a queue run of 10 and of 40 deliveries
    through the module; memory lost in our code must not grow with the
    number of deliveries, and valgrind reports no invalid access in it.
    (valgrind cannot run the set-group-ID binary: a plain copy is used.)"""
    if subprocess.run(["sh", "-c", "command -v valgrind"],
                      capture_output=True).returncode != 0:
        print("   valgrind not installed: check skipped")
        return
    ctx.cf(dane=True)
    copy = ctx.w.path("sendmail-copy")
    subprocess.run(["install", "-m", "755", "/usr/libexec/sendmail/sendmail",
                    copy], check=True)
    dests = ["s311.dane.test", "sbad.dane.test", "snotlsa.dane.test",
             "s201.dane.test", "insecure.test"]
    result = {}
    for n in (10, 40):
        ctx.clear()
        for i in range(n):
            ctx.send(["vg%d@%s" % (i, dests[i % len(dests)])], "vg%d" % i,
                     mode="-odq")
        log = ctx.w.path("valgrind-%d.txt" % n)
        ctx.w.run(["valgrind", "--leak-check=full",
                   "--show-leak-kinds=definite,indirect",
                   "--log-file=" + log, copy, "-Am", "-qf"],
                  env={"LD_PRELOAD": MODULE})
        left = ctx.queue()
        expect(sorted(left) == sorted("vg%d@sbad.dane.test" % i
                                      for i in range(n) if i % 5 == 1),
               "n=%d: unexpected queue after the run: %r" % (n, left))
        result[n] = valgrind_ours(log)
    if VERBOSE:
        print("   lost in our code (bytes, error contexts): 10 deliveries %r,"
              " 40 deliveries %r" % (result[10], result[40]))
    expect(result[40][0] <= result[10][0],
           "lost memory grows: %r" % result)
    expect(result[10][1] == 0 and result[40][1] == 0,
           "valgrind errors in our code: %r" % result)


def main():
    global VERBOSE
    args = [a for a in sys.argv[1:] if a != "-v"]
    VERBOSE = len(args) != len(sys.argv) - 1
    upstream = "validating"
    if args[:1] == ["--upstream"] and len(args) >= 2:
        upstream = args[1]
        args = args[2:]
    unknown = sorted(set(args) - set(fn.__name__ for fn in CHECKS))
    if unknown and not [a for a in args if a.startswith("-")]:
        print("integration.py: no check named %s" % ", ".join(unknown),
              file=sys.stderr)
        return 2
    if upstream not in run.UPSTREAMS or [a for a in args
                                         if a.startswith("-")]:
        print("usage: integration.py [-v] [--upstream %s] [CHECK...]" %
              "|".join(run.UPSTREAMS), file=sys.stderr)
        return 2
    module, status = run.preflight("integration.py")
    if module is None:
        return status
    world = run.World(module, upstream)
    ctx = Ctx(world)
    failed = 0
    t0 = time.time()
    try:
        for fn in CHECKS:
            if args and fn.__name__ not in args:
                continue
            t = time.time()
            try:
                fn(ctx)
                print("PASS %s (%.1f s)" % (fn.__name__, time.time() - t))
            except Fail as e:
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, e))
    finally:
        world.stop(keep=failed > 0)
    print("%d checks failed; %.1f s%s" % (failed, time.time() - t0,
          "; world kept in %s" % world.dir if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
