#!/usr/bin/python3
"""DNS queries and time per delivery, with and without sendmail-dane.

A benchmark, not a test: it prints figures and asserts nothing.

  queries.py [--runs N] [--copies N] [--verbose] [DOMAIN...]

Run as root after `make` (the world needs namespaces), from the top of
the tree or through the Makefile target:

  make bench

which is, in Makefile.am:

  bench: all
  	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
  	  /usr/bin/python3 $(top_srcdir)/tests/bench/queries.py

The figures and what they mean are in docs/PERFORMANCE.md.

In one hermetic world (tests/world/) one message per destination is
delivered with `sendmail -Am -odi` (tests/scenarios/run.py's make_cf()
and deliver(), imported unchanged) through three configurations:

  stock     Debian's sendmail as shipped: no FEATURE(`dane'), no module;
  dane      FEATURE(`dane') and the preloaded libsendmail-dane.so;
  nomodule  FEATURE(`dane') without the module (one run per destination,
            a control: the delivery is deferred by design, and its
            verdict-channel names cannot reach the resolver either, since
            glibc cannot encode their 68-octet label).

For each delivery it counts the queries the world's resolver received
while sendmail ran: client query lines of unbound's log
(DIR/log/unbound.log, "info: 127.0.0.1 <name>. <TYPE> IN"; the reply
lines carry an rcode after "IN" and are not counted), by type.  unbound
answers repeated questions from its cache, but every query a client sends
is logged, so the figure is what sendmail and the extension ask, not
what unbound had to fetch.  The DNS names under dane-hook.invalid (the
verdict channel, answered inside the process by the module) are counted
separately.

A packet listener in the world (tests/bench/dnssniff.py) records the same
queries with their EDNS DO bit: libdane sets it on every query and
glibc, which sendmail uses, never does, so the DO queries are exactly the
extension's own.  Their count is checked against the difference of the
log counts.

Time is the wall time of the sendmail command (including the nsenter
into the world, the same in every configuration), the median of --runs
deliveries after one unmeasured warm-up delivery per destination and
configuration, so that unbound's cache is warm (the resolver is local
and its upstreams are on the loopback: the times show the CPU cost, not
network latency).

Peak RSS is that of the delivering sendmail process and its waited-for
children (tests/bench/maxrss.py around the command, getrusage()).  The
-odi deliveries are each a new process, so libunbound starts with an
empty cache and fetches the DNSKEY/DS chain every time ("cold").  A
queue run then delivers --copies messages per destination with one
`sendmail -qf` process, where libunbound's cache is warm after the
first delivery of a zone; it prints queries per delivery, the DNSKEY
and DS queries of the whole run, peak RSS, wall time and the ratio of
the wall times.

Default destinations: the DOMAIN arguments replace them.
"""
import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "scenarios"))
import run  # noqa: E402  (tests/scenarios/run.py)

DESTINATIONS = [
    ("s311.dane.test", "secure MX, usable TLSA 3 1 1"),
    ("snotlsa.dane.test", "secure MX and host, no TLSA (NXDOMAIN)"),
    ("insecure.test", "unsigned zone: insecure MX RRset"),
    ("stwomx.dane.test", "two MX, the first's TLSA does not match"),
    ("c21.rfc.dane.test", "MX host is a secure CNAME"),
    ("sbad.dane.test", "single MX, TLSA does not match"),
]
TYPES = ["MX", "A", "AAAA", "TLSA", "CNAME", "NS", "DNSKEY", "DS"]
VALIDATION = ("DNSKEY", "DS")
QUERY_RE = re.compile(r"info: (\S+) (\S+) (\S+) IN$")
HOOK_SUFFIX = ".dane-hook.invalid."


class BenchWorld(run.World):
    """run.World that notes the log sizes when a delivery's sendmail ends.

    run.deliver() also runs `sendmail -bp` (mailq) afterwards, whose own
    start-up queries must not be counted.
    """

    def __init__(self, preload):
        super().__init__(preload)
        self.ends = None
        self.last = None
        self.sniff_log = self.path("bench-dns.txt")
        self.sniffer = subprocess.Popen(
            ["bash", run.WORLD, "exec", self.dir, "/usr/bin/python3",
             os.path.join(HERE, "dnssniff.py"), self.sniff_log],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.sniffer.stdout.readline().strip() != "ready":
            raise RuntimeError("dnssniff.py did not start")

    def stop(self):
        if self.sniffer.poll() is None:
            self.sniffer.stdin.close()
            try:
                self.sniffer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.sniffer.kill()
                self.sniffer.wait()
        super().stop()

    def offsets(self):
        return (run.size(self.path("log/unbound.log")),
                run.size(self.sniff_log))

    def run(self, cmd, stdin=None, env=None, check=False):
        measured = cmd[:1] == ["/usr/sbin/sendmail"] and (
            "-odi" in cmd or "-qf" in cmd)
        if measured:
            cmd = ["/usr/bin/python3", os.path.join(HERE, "maxrss.py"),
                   self.path("bench-rss.txt")] + cmd
        p = super().run(cmd, stdin=stdin, env=env, check=check)
        if measured:
            time.sleep(0.1)		# let the last log lines land
            self.ends = self.offsets()
            self.last = p
        return p

    def last_rss(self):
        """Peak RSS (kB) of the last measured sendmail command."""
        try:
            with open(self.path("bench-rss.txt")) as f:
                return int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            raise RuntimeError("no peak RSS recorded: %s" % (
                self.last.stderr if self.last else "nothing measured"))


def client_queries(text):
    """(name, type) of every client query line of unbound's log."""
    out = []
    for line in text.splitlines():
        m = QUERY_RE.search(line)
        if m:
            out.append((m.group(2).lower(), m.group(3)))
    return out


def sniffed(text):
    """(name, type, do, seconds to the reply or None, reply AD) of every
    query."""
    queries, replies = [], {}
    for line in text.splitlines():
        f = line.split()
        if len(f) != 6:
            continue
        key = (f[4], f[2].lower(), f[3])
        if f[0] == "reply":
            replies.setdefault(key, (float(f[5]), f[1] == "AD"))
        else:
            queries.append((key, f[1] == "DO", float(f[5])))
    out = []
    for key, do, t in queries:
        r = replies.get(key)
        out.append((key[1], key[2], do, r[0] - t if r else None,
                    bool(r and r[1])))
    return out


def dns_ms(queries):
    """Total resolver response time of these sniffed queries, in ms."""
    return sum(q[3] or 0 for q in queries) * 1000


def by_type(queries):
    c = collections.Counter()
    for _, qtype in queries:
        c[qtype if qtype in TYPES else "other"] += 1
    return c


def one(world, dest, phase, tag):
    sc = run.Scenario([tag, dest, "-"])
    time.sleep(0.1)		# the previous `sendmail -bp` may still log
    d0, s0 = world.offsets()
    world.ends = None
    obs = run.deliver(world, sc, phase)
    d1, s1 = world.ends or world.offsets()
    log = run.read_from(world.path("log/unbound.log"), d0)[:d1 - d0]
    snf = run.read_from(world.sniff_log, s0)[:s1 - s0]
    queries = client_queries(log)
    hook = [q for q in queries if q[0].endswith(HOOK_SUFFIX)]
    return {
        "outcome": run.outcome(obs),
        "describe": run.describe(obs),
        "seconds": obs["seconds"],
        "rss": world.last_rss(),
        "queries": [q for q in queries if not q[0].endswith(HOOK_SUFFIX)],
        "hook": hook,
        "sniffed": [q for q in sniffed(snf)
                    if not q[0].endswith(HOOK_SUFFIX)],
    }


def measure(world, dests, runs):
    res = collections.defaultdict(list)
    for phase, with_dane in (("stock", False), ("dane", True),
                             ("nomodule", True)):
        run.make_cf(world, with_dane, None)
        for i, (dest, _) in enumerate(dests):
            n = 1 if phase == "nomodule" else runs + 1
            for r in range(n):
                obs = one(world, dest, phase, "b%d-%d" % (i, r))
                if phase != "nomodule" and r == 0:
                    continue		# warm-up
                res[(dest, phase)].append(obs)
    return res


def queue_run(world, dests, copies):
    """Queue `copies` messages per destination, deliver them with one
    `sendmail -qf` (one process in the foreground: libunbound's cache is
    warm after the first delivery of a zone), per configuration."""
    out = {}
    for phase, with_dane in (("stock", False), ("dane", True)):
        run.make_cf(world, with_dane, None)
        world.sh("rm -f /var/spool/mqueue/*")
        env = {"LD_PRELOAD": run.MODULE} if with_dane else {}
        n = 0
        for c in range(copies):
            for i, (dest, _) in enumerate(dests):
                rcpt = "q%d-%d-%s@%s" % (c, i, phase, dest)
                world.run(["/usr/sbin/sendmail", "-Am", "-odq", "-oi", "-f",
                           "postmaster@client.dane.test", rcpt],
                          stdin=run.MESSAGE.format(rcpt=rcpt,
                                                   subject=rcpt),
                          check=True)
                n += 1
        time.sleep(0.2)
        d0, s0 = world.offsets()
        k0 = run.size(world.path("sink.jsonl"))
        t0 = time.time()
        world.run(["/usr/sbin/sendmail", "-Am", "-qf"], env=env)
        seconds = time.time() - t0
        delivered = sum(1 for r in run.sink_records(world, k0)
                        if r.get("type") == "message")
        left = len(world.sh("ls /var/spool/mqueue | grep '^qf'").stdout
                   .split())
        d1, _ = world.ends or world.offsets()
        log = run.read_from(world.path("log/unbound.log"), d0)[:d1 - d0]
        queries = [q for q in client_queries(log)
                   if not q[0].endswith(HOOK_SUFFIX)]
        out[phase] = {"messages": n, "queries": queries,
                      "delivered": delivered, "left": left,
                      "seconds": seconds, "rss": world.last_rss()}
    return out


def report_queue(q):
    print("\nOne queue run (`sendmail -qf`, one process) delivering %d "
          "messages: queries per\ndelivery, validation queries (DNSKEY, "
          "DS) in the whole run, peak RSS, wall time\n"
          % q["stock"]["messages"])
    rows = []
    for phase in ("stock", "dane"):
        o = q[phase]
        c = by_type(o["queries"])
        val = sum(c.get(t, 0) for t in VALIDATION)
        rows.append([phase, "%.2f" % (len(o["queries"]) / o["messages"]),
                     "%.2f" % ((len(o["queries"]) - val) / o["messages"]),
                     str(val), str(o["rss"]), "%.2f" % o["seconds"],
                     str(o["delivered"]), str(o["left"])])
    print(table(rows, ["config", "queries/delivery", "without DNSKEY/DS",
                       "DNSKEY+DS", "peak RSS kB", "s", "delivered",
                       "queued"], left=(0,)))
    print("\n  wall ratio dane/stock %.3f, RSS %+d kB" % (
        q["dane"]["seconds"] / q["stock"]["seconds"],
        q["dane"]["rss"] - q["stock"]["rss"]))


def fmt_counts(c):
    return [str(c.get(t, 0)) for t in TYPES + ["other"]]


def table(rows, head, left=(0, 1)):
    widths = [max(len(str(r[i])) for r in [head] + rows)
              for i in range(len(head))]

    def line(r):
        return "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] +
                     [line(r) for r in rows])


def stable(obs_list, key):
    """The value of the first run, and whether every run had it."""
    vals = [key(o) for o in obs_list]
    return vals[0], all(v == vals[0] for v in vals)


def report(res, dests, runs, verbose):
    notes = []
    rows = []
    for dest, _ in dests:
        base = None
        for phase in ("stock", "dane"):
            obs = res[(dest, phase)]
            counts, same = stable(obs, lambda o: by_type(o["queries"]))
            total = sum(counts.values())
            if base is None:
                base = counts
            ms = statistics.median(o["seconds"] for o in obs) * 1000
            outc, _ = stable(obs, lambda o: o["outcome"])
            rows.append([dest if phase == "stock" else "",
                         phase, outc] + fmt_counts(counts) +
                        [str(total) + ("" if same else "*"), "%.0f" % ms])
            if not same:
                notes.append("* %s %s: counts differ between runs: %s" % (
                    dest, phase, ", ".join(
                        str(sum(by_type(o["queries"]).values()))
                        for o in obs)))
        added = collections.Counter(counts)
        added.subtract(base)
        rows.append(["", "added", ""] +
                    ["%+d" % added.get(t, 0) for t in TYPES + ["other"]] +
                    ["%+d" % sum(added.values()), "%+.0f" % (
                        statistics.median(o["seconds"]
                                          for o in res[(dest, "dane")]) * 1000
                        - statistics.median(o["seconds"]
                                            for o in res[(dest, "stock")])
                        * 1000)])
    print("Queries received by the resolver per delivery (unbound's query "
          "log), and wall time\n(median of %d runs, warm cache)\n" % runs)
    print(table(rows, ["destination", "config", "outcome"] + TYPES +
                ["other", "total", "ms"]))
    for n in notes:
        print(n)

    print("\nPer delivery process (-odi: a cold libunbound cache each "
          "time): peak RSS and wall time\n(medians)\n")
    rows = []
    for dest, _ in dests:
        st, da = res[(dest, "stock")], res[(dest, "dane")]
        rs = statistics.median(o["rss"] for o in st)
        rd = statistics.median(o["rss"] for o in da)
        ts = statistics.median(o["seconds"] for o in st)
        td = statistics.median(o["seconds"] for o in da)
        val = sum(by_type(da[0]["queries"]).get(t, 0) for t in VALIDATION)
        rows.append([dest, "%d" % rs, "%d" % rd, "%+d" % (rd - rs),
                     str(val), "%.3f" % (td / ts)])
    print(table(rows, ["destination", "RSS stock kB", "RSS dane kB",
                       "added kB", "DNSKEY+DS", "wall ratio"], left=(0,)))

    print("\nWho asked (EDNS DO bit seen on the wire: set by libdane, "
          "never by glibc), resolver\nresponse time of the extension's "
          "queries (median over the runs), and the verdict channel\n")
    rows, lists = [], []
    for dest, _ in dests:
        dane = res[(dest, "dane")]
        stock = res[(dest, "stock")][0]
        mine = [q for q in dane[0]["sniffed"] if q[2]]
        nomod = res[(dest, "nomodule")][0]
        rows.append([
            dest,
            str(sum(1 for q in stock["sniffed"] if not q[2])),
            str(sum(1 for q in dane[0]["sniffed"] if not q[2])),
            str(len(mine)),
            "%.2f" % statistics.median(
                dns_ms([q for q in o["sniffed"] if q[2]]) for o in dane),
            str(len(dane[0]["hook"])), str(len(nomod["hook"]))])
        lists.append("  %s: %s" % (dest, ", ".join(
            "%s %s" % (q[1], q[0]) for q in mine)))
        for phase, o in (("stock", stock), ("dane", dane[0])):
            if len(o["sniffed"]) != len(o["queries"]):
                print("note: %s %s: the packet listener saw %d queries, "
                      "unbound logged %d" % (dest, phase, len(o["sniffed"]),
                                             len(o["queries"])))
    print(table(rows, ["destination", "sendmail (stock)", "sendmail (ext)",
                       "extension", "ext. DNS ms", "hook names (ext)",
                       "hook names (no module)"], left=(0,)))
    print("\n  sendmail (stock) / (ext): queries without DO, i.e. sendmail's "
          "own through glibc;\n"
          "  hook names: names under dane-hook.invalid that reached the "
          "resolver with the module loaded,\n"
          "  and, as a control, with FEATURE(`dane') but no module "
          "(delivery deferred by design;\n"
          "  glibc cannot send these names, so no resolver sees them "
          "either way).\n"
          "\nThe extension's queries, in order:")
    print("\n".join(lists))
    if verbose:
        for dest, _ in dests:
            for phase in ("stock", "dane", "nomodule"):
                o = res[(dest, phase)][0]
                print("\n== %s %s: %s" % (dest, phase, o["describe"]))
                for n, t, do, rtt, ad in o["sniffed"]:
                    print("   %-3s %-5s %-40s %s" % (
                        "DO" if do else "", t, n,
                        "%.2f ms%s" % (rtt * 1000, " AD" if ad else "")
                        if rtt is not None else "no reply seen"))
                for n, t in o["hook"]:
                    print("   (log) %-5s %s" % (t, n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("domains", nargs="*")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--copies", type=int, default=10,
                    help="messages per destination in the queue run")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    module, status = run.preflight("queries.py")
    if module is None:
        return status
    dests = [(d, "") for d in args.domains] or DESTINATIONS
    t0 = time.time()
    world = BenchWorld(module)
    try:
        res = measure(world, dests, max(1, args.runs))
        q = queue_run(world, dests, max(1, args.copies))
    finally:
        world.stop()
    report(res, dests, max(1, args.runs), args.verbose)
    report_queue(q)
    print("\n%d destinations, %.1f s" % (len(dests), time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
