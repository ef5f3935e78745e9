#!/usr/bin/python3
"""Build the state of a test world in DIR (run by world.sh start, on the host,
before the namespaces exist; writes nothing outside DIR).

  gen.py DIR [--upstream validating|plain|adproxy|slow]

Creates DIR/pki (certificates from pki.conf, digests.txt), DIR/dns (keys,
zones from zones/*.zone assembled and signed, nsd and unbound configs,
root hints, trust anchor), DIR/sinks.conf (from sinks.conf) and
DIR/upstream (the variant and the address of unbound).
See README for the template syntax and the upstream variants.
"""
import base64
import glob
import hashlib
import os
import re
import secrets
import shlex
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.abspath(__file__))
DAY = 86400

# upstream variant -> (unbound's address, unbound validates)
UPSTREAMS = {
    "validating": ("127.0.0.1", True),
    "plain": ("127.0.0.1", False),
    "adproxy": ("127.0.2.1", False),
    "slow": ("127.0.2.1", True),
}


def die(msg):
    sys.stderr.write("gen.py: %s\n" % msg)
    sys.exit(1)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, **kw)
    if p.returncode != 0:
        die("command failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# ---------------------------------------------------------------- PKI

def tlv(buf, off):
    """DER: return (tag, content start, end) of the element at off."""
    tag = buf[off]
    ln = buf[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7F
        ln = int.from_bytes(buf[off:off + n], "big")
        off += n
    return tag, off, off + ln


def spki_der(cert):
    """SubjectPublicKeyInfo (DER) of a DER certificate."""
    _, c, _ = tlv(cert, 0)          # Certificate
    _, p, _ = tlv(cert, c)          # tbsCertificate
    tag, _, e = tlv(cert, p)
    if tag == 0xA0:                 # [0] version
        p = e
    for _ in range(5):              # serial sigalg issuer validity subject
        _, _, p = tlv(cert, p)
    _, _, e = tlv(cert, p)
    return cert[p:e]


def pem_to_der(path):
    text = open(path).read()
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----",
                  text, re.S)
    return base64.b64decode("".join(m.group(1).split()))


def build_pki(pkidir):
    os.makedirs(pkidir, exist_ok=True)
    certs = []      # (name, issuer, cn, sans)
    for ln, line in enumerate(open(os.path.join(SRC, "pki.conf")), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        f = shlex.split(line)
        if len(f) < 3:
            die("pki.conf:%d: need NAME ISSUER CN [SAN...]" % ln)
        certs.append((f[0], f[1], f[2], f[3:]))
    stem = {}
    for name, issuer, _, _ in certs:
        stem[name] = name.lower() if issuer == "ca" else name
    info = {}
    pending = list(certs)
    while pending:              # issue in dependency order, in parallel
        ready = [c for c in pending
                 if c[1] in ("ca", "self") or c[1] in info]
        if not ready:
            die("pki.conf: unknown issuer in %s" % [c[0] for c in pending])
        procs = []
        for name, issuer, cn, sans in ready:
            s = os.path.join(pkidir, stem[name])
            if issuer == "ca":
                ext = ("basicConstraints = critical,CA:TRUE\n"
                       "keyUsage = critical,keyCertSign,cRLSign\n"
                       "subjectKeyIdentifier = hash\n")
            else:
                ext = ("basicConstraints = critical,CA:FALSE\n"
                       "keyUsage = critical,digitalSignature\n"
                       "extendedKeyUsage = serverAuth\n"
                       "subjectKeyIdentifier = hash\n"
                       "authorityKeyIdentifier = keyid\n")
            if sans:
                ext += "subjectAltName = %s\n" % ",".join("DNS:" + x for x in sans)
            write(s + ".cnf", "[req]\ndistinguished_name = dn\nprompt = no\n"
                  "x509_extensions = ext\n[dn]\nCN = %s\n[ext]\n%s" % (cn, ext))
            cmd = ["openssl", "req", "-x509", "-new", "-config", s + ".cnf",
                   "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-nodes", "-keyout", s + ".key", "-out", s + ".pem",
                   "-days", "3650" if issuer == "ca" else "825"]
            if issuer not in ("ca", "self"):
                ip = os.path.join(pkidir, stem[issuer])
                cmd += ["-CA", ip + ".pem", "-CAkey", ip + ".key"]
            procs.append((name, cmd, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        for name, cmd, p in procs:
            out = p.communicate()[0]
            if p.returncode:
                die("openssl failed for %s: %s\n%s" % (name, " ".join(cmd), out))
        for name, issuer, cn, sans in ready:
            s = os.path.join(pkidir, stem[name])
            os.chmod(s + ".key", 0o644)     # test keys: readable by anyone
            chain = open(s + ".pem").read()
            if issuer not in ("ca", "self"):
                chain += open(os.path.join(pkidir, stem[issuer]) + ".pem").read()
            write(s + ".chain.pem", chain)
            der = pem_to_der(s + ".pem")
            spki = spki_der(der)
            info[name] = {
                "CERT256": hashlib.sha256(der).hexdigest(),
                "CERT512": hashlib.sha512(der).hexdigest(),
                "SPKI256": hashlib.sha256(spki).hexdigest(),
                "SPKI512": hashlib.sha512(spki).hexdigest(),
                "CERT": der.hex(),      # full data, for x y 0 records
                "SPKI": spki.hex(),
            }
            pending.remove((name, issuer, cn, sans))
    return info


# ---------------------------------------------------------------- zones

PH = re.compile(r"\{\{([A-Z0-9]+)(?::([A-Za-z0-9_.-]+))?\}\}")


class Zone:
    pass


def load_zones():
    zones = {}
    for path in sorted(glob.glob(os.path.join(SRC, "zones", "*.zone"))):
        z = Zone()
        stem = os.path.basename(path)[:-5]
        z.name = "." if stem == "root" else stem.rstrip(".").lower() + "."
        z.path = path
        z.depth = 0 if z.name == "." else z.name.count(".")
        z.server = None
        z.mode = "signed"
        z.corrupt = []
        z.body = open(path).read()
        for ln, line in enumerate(z.body.splitlines(), 1):
            if not line.startswith(";@"):
                continue
            f = line[2:].split()
            where = "%s:%d" % (path, ln)
            if f[:1] == ["server"] and len(f) == 2:
                z.server = f[1]
            elif f[:1] == ["mode"] and len(f) == 2 and f[1] in (
                    "signed", "unsigned", "expired", "bad-ds"):
                z.mode = f[1]
            elif f[:1] == ["corrupt-rrsig"] and len(f) == 3:
                z.corrupt.append((f[1], f[2].upper(), where))
            else:
                die("%s: bad directive %r" % (where, line))
        if z.server is None:
            z.server = "127.0.1.%d" % min(z.depth + 1, 3)
        z.ns = "ns.root." if z.name == "." else "ns." + z.name
        zones[z.name] = z
    if "." not in zones:
        die("no zones/root.zone")
    for z in zones.values():
        z.parent = None
        if z.name == ".":
            continue
        cands = [p for p in zones if p == "." or z.name.endswith("." + p)]
        z.parent = max(cands, key=lambda p: 0 if p == "." else len(p))
    return zones


def fqdn(owner, origin):
    if owner.endswith("."):
        return owner.lower()
    if owner == "@":
        return origin
    return (owner + "." + (origin if origin != "." else "")).lower()


def main():
    args = sys.argv[1:]
    upstream = "validating"
    if len(args) == 3 and args[1] == "--upstream":
        upstream = args.pop()
        args.pop()
    if len(args) != 1 or not os.path.isabs(args[0]) or \
            upstream not in UPSTREAMS:
        die("usage: gen.py ABSOLUTE-DIR [--upstream %s]" %
            "|".join(UPSTREAMS))
    D = args[0]
    resolver, validate = UPSTREAMS[upstream]
    now = int(time.time())
    pkidir = os.path.join(D, "pki")
    dnsdir = os.path.join(D, "dns")
    keydir = os.path.join(dnsdir, "keys")
    zonedir = os.path.join(dnsdir, "zones")
    for d in (keydir, zonedir):
        os.makedirs(d, exist_ok=True)

    info = build_pki(pkidir)
    digests = []
    for n in info:
        for k in ("SPKI256", "SPKI512", "CERT256", "CERT512"):
            digests.append("%s:%s %s" % (k, n, info[n][k]))

    zones = load_zones()

    def subst(z):
        out = []
        for ln, line in enumerate(z.body.splitlines(), 1):
            if line.startswith(";@"):
                continue

            def rep(m):
                kind, arg = m.group(1), m.group(2)
                if kind == "RANDOM256":
                    v = secrets.token_hex(32)
                    digests.append("RANDOM256 %s %s:%d" % (
                        v, os.path.basename(z.path), ln))
                    return v
                if arg is None or arg not in info or kind not in info[arg]:
                    die("%s:%d: unknown placeholder %s" % (z.path, ln, m.group(0)))
                return info[arg][kind]
            out.append(PH.sub(rep, line))
        return "\n".join(out) + "\n"

    # children first, so that their DS is known when the parent is built
    for z in sorted(zones.values(), key=lambda z: -z.depth):
        rname = "hostmaster." + (z.name if z.name != "." else "root.")
        text = ("$ORIGIN %s\n$TTL 300\n"
                "@ IN SOA %s %s %d 3600 600 86400 300\n"
                "@ IN NS %s\n%s IN A %s\n" % (
                    z.name, z.ns, rname, now, z.ns, z.ns, z.server))
        text += subst(z)
        for c in sorted((c for c in zones.values() if c.parent == z.name),
                        key=lambda c: c.name):
            text += "; delegation to %s (mode %s)\n" % (c.name, c.mode)
            text += "%s IN NS %s\n%s IN A %s\n" % (c.name, c.ns, c.ns, c.server)
            if c.mode in ("signed", "expired"):
                text += c.ds + "\n"
            elif c.mode == "bad-ds":
                f = c.ds.split()
                text += " ".join(f[:-1] + [secrets.token_hex(32)]) + \
                    " ; matches no key\n"
        fname = "root" if z.name == "." else z.name.rstrip(".")
        zfile = os.path.join(zonedir, fname + ".zone")
        write(zfile, text)
        z.file = zfile
        if z.mode == "unsigned":
            continue
        keys = []
        for ksk in (True, False):
            base = run(["ldns-keygen", "-a", "ECDSAP256SHA256"] +
                       (["-k"] if ksk else []) + [z.name], cwd=keydir).strip()
            keys.append(os.path.join(keydir, base))
        ds = open(keys[0] + ".ds").read().split(";")[0].split()
        z.ds = "%s 300 IN DS %s" % (ds[0], " ".join(ds[3:]))
        if z.mode == "expired":
            inc, exp = now - 40 * DAY, now - 10 * DAY
        else:
            inc, exp = now - DAY, now + 30 * DAY
        fmt = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
        run(["ldns-signzone", "-i", fmt(inc), "-e", fmt(exp), "-o", z.name,
             "-f", zfile + ".signed", zfile] + keys)
        z.file = zfile + ".signed"
        if z.corrupt:
            lines = open(z.file).read().splitlines()
            for owner, rtype, where in z.corrupt:
                want = fqdn(owner, z.name)
                hit = 0
                for i, line in enumerate(lines):
                    f = line.split()
                    if (len(f) > 12 and f[3] == "RRSIG" and f[0].lower() == want
                            and f[4].upper() == rtype):
                        sig = bytearray(base64.b64decode("".join(f[12:])))
                        sig[len(sig) // 2] ^= 0xFF
                        lines[i] = "\t".join(
                            f[:12] + [base64.b64encode(bytes(sig)).decode()])
                        hit += 1
                if not hit:
                    die("%s: no RRSIG for %s %s" % (where, want, rtype))
            write(z.file, "\n".join(lines) + "\n")
        if z.name == ".":
            write(os.path.join(dnsdir, "root.anchor"), z.ds + "\n")

    root = zones["."]
    write(os.path.join(dnsdir, "root.hints"),
          ". 3600000 IN NS %s\n%s 3600000 IN A %s\n" % (root.ns, root.ns, root.server))

    # one nsd per server address
    servers = sorted({z.server for z in zones.values()})
    for addr in servers:
        d = os.path.join(dnsdir, "nsd-" + addr)
        os.makedirs(d, exist_ok=True)
        conf = ("server:\n  ip-address: %s\n  port: 53\n  do-ip6: no\n"
                "  username: \"\"\n  chroot: \"\"\n  database: \"\"\n"
                "  zonelistfile: \"%s/zone.list\"\n  xfrdfile: \"%s/xfrd.state\"\n"
                "  xfrdir: \"%s\"\n  pidfile: \"%s/nsd.pid\"\n"
                "  logfile: \"%s/log/nsd-%s.log\"\n  server-count: 1\n"
                "  verbosity: 2\n  hide-version: yes\n  refuse-any: no\n"
                "remote-control:\n  control-enable: no\n" % (
                    addr, d, d, d, d, D, addr))
        for z in sorted(zones.values(), key=lambda z: z.name):
            if z.server == addr:
                conf += "zone:\n  name: \"%s\"\n  zonefile: \"%s\"\n" % (z.name, z.file)
        write(os.path.join(d, "nsd.conf"), conf)
    write(os.path.join(dnsdir, "nsd-servers"), "\n".join(servers) + "\n")

    # validating: the validator module and our trust anchor; otherwise
    # the iterator alone (it still asks with DO and returns RRSIGs)
    if validate:
        modules = ('  module-config: "validator iterator"\n'
                   '  trust-anchor-file: "%s/root.anchor"\n' % dnsdir)
    else:
        modules = '  module-config: "iterator"\n'
    write(os.path.join(dnsdir, "unbound.conf"), """server:
  verbosity: 1
  interface: {resolver}
  port: 53
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  interface-automatic: no
  so-reuseport: no
  num-threads: 1
  username: ""
  chroot: ""
  directory: "{dns}"
  pidfile: "{dns}/unbound.pid"
  use-syslog: no
  logfile: "{D}/log/unbound.log"
  log-time-ascii: yes
  log-queries: yes
  log-replies: yes
  log-servfail: yes
  val-log-level: 2
  access-control: 127.0.0.0/8 allow
{modules}  root-hints: "{dns}/root.hints"
  local-zone: "test." nodefault
  do-not-query-localhost: no
  harden-dnssec-stripped: yes
  qname-minimisation: no
  aggressive-nsec: no
  prefetch: no
  cache-max-ttl: 300
  cache-max-negative-ttl: 60
  val-bogus-ttl: 5
  infra-host-ttl: 60
  edns-buffer-size: 1232
remote-control:
  control-enable: no
""".format(D=D, dns=dnsdir, resolver=resolver, modules=modules))
    write(os.path.join(D, "upstream"), "%s %s\n" % (upstream, resolver))

    write(os.path.join(pkidir, "digests.txt"), "\n".join(digests) + "\n")
    sinks = open(os.path.join(SRC, "sinks.conf")).read().replace("{{PKI}}", pkidir)
    write(os.path.join(D, "sinks.conf"), sinks)


if __name__ == "__main__":
    main()
