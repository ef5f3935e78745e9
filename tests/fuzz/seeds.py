#!/usr/bin/python3
"""Write seed inputs for fuzz_gather, fuzz_tlsa and fuzz_seen (standard
library only).

  seeds.py GATHER-DIR [TLSA-DIR [SEEN-DIR]]

Each seed is a shape byte followed by replies in the format of
fuzz_gather.c (flags, 16-bit length, wire message): the root DNSKEY
probe, then MX, A, AAAA and TLSA answers for the default shape, with
CNAME chains, denials and bogus variants, so that libFuzzer starts from
messages that reach every step of the gathering.
"""
import os
import struct
import sys

SECURE, BOGUS, FAIL = 0x10, 0x20, 0x80
TYPES = {"A": 1, "CNAME": 5, "SOA": 6, "MX": 15, "AAAA": 28, "TLSA": 52,
         "DNSKEY": 48}


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, rdata, ttl=300):
    return name(owner) + struct.pack("!HHIH", TYPES[rtype], 1, ttl,
                                     len(rdata)) + rdata


def msg(qname, qtype, answers=(), authority=(), rcode=0):
    head = struct.pack("!HHHHHH", 0x1234, 0x8180 | rcode, 1, len(answers),
                       len(authority), 0)
    body = name(qname) + struct.pack("!HH", TYPES[qtype], 1)
    return head + body + b"".join(answers) + b"".join(authority)


def reply(flags, wire=b""):
    return bytes([flags]) + struct.pack("!H", len(wire)) + wire


def dnskey():
    return msg(".", "DNSKEY", [rr(".", "DNSKEY", b"\x01\x01\x03\x08" +
                                  b"\x03\x01\x00\x01" + b"k" * 64)])


def soa(zone):
    return rr(zone, "SOA", name("ns." + zone) + name("h." + zone) +
              struct.pack("!IIIII", 1, 3600, 600, 86400, 300))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    probe = reply(SECURE, dnskey())
    mx = reply(SECURE, msg("example.com", "MX", [
        rr("example.com", "MX", b"\x00\x0a" + name("mx.example.com"))]))
    a = reply(SECURE, msg("mx.example.com", "A", [
        rr("mx.example.com", "A", bytes([192, 0, 2, 25]))]))
    aaaa = reply(SECURE, msg("mx.example.com", "AAAA", [],
                             [soa("example.com")]))
    tlsa = reply(SECURE, msg("_25._tcp.mx.example.com", "TLSA", [
        rr("_25._tcp.mx.example.com", "TLSA", b"\x03\x01\x01" + b"\xab" * 32),
        rr("_25._tcp.mx.example.com", "TLSA", b"\x02\x00\x01" + b"\xcd" * 32),
        rr("_25._tcp.mx.example.com", "TLSA", b"\x03"),
    ]))
    cname_a = reply(SECURE, msg("mx.example.com", "A", [
        rr("mx.example.com", "CNAME", name("t.example.net")),
        rr("t.example.net", "A", bytes([192, 0, 2, 26]))]))
    seeds = {
        "auth": b"\x00" + probe + mx + a + aaaa + tlsa,
        "cname": b"\x00" + probe + mx + cname_a + aaaa + tlsa + tlsa,
        "bogus-tlsa": b"\x00" + probe + mx + a + aaaa + reply(BOGUS | 2),
        "nodnssec": b"\x00" + reply(BOGUS | 2),
        "insecure-addr": b"\x00" + probe + mx + reply(0, a[3:]) + aaaa +
                         reply(SECURE, msg("mx.example.com", "CNAME", [])),
        "nxdomain": b"\x00" + probe + reply(SECURE | 3, msg(
            "example.com", "MX", [], [soa("com")], rcode=3)),
        "timeout": b"\x00" + probe + mx + a + aaaa + reply(FAIL),
        "relay": b"\x02" + probe + a + aaaa + tlsa,
        "port587": b"\x80" + probe + mx + a + aaaa + tlsa,
    }
    for k, v in seeds.items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)
    if len(sys.argv) > 2:
        write_tlsa(sys.argv[2])
    if len(sys.argv) > 3:
        write_seen(sys.argv[3])
    return 0


def write_seen(out):
    """Replies as sendmail's canonification meets them: a flags byte
    (bit 0: through res_querydomain), then 16-bit length and wire data."""
    os.makedirs(out, exist_ok=True)

    def wire(m):
        return struct.pack("!H", len(m)) + m
    alias = msg("alias.example.org", "A", [
        rr("alias.example.org", "CNAME", name("mid.example.net"), 60),
        rr("mid.example.net", "CNAME", name("example.com"), 120),
        rr("example.com", "A", bytes([192, 0, 2, 1]))])
    again = msg("example.com", "A", [
        rr("example.com", "A", bytes([192, 0, 2, 1]))])
    link = msg("mid.example.net", "A", [
        rr("mid.example.net", "CNAME", name("example.com"), 0)])
    other = msg("x.example.org", "A", [
        rr("y.example.org", "CNAME", name("example.com"))])
    seeds = {
        "chain": b"\x01" + wire(alias) + wire(again) + wire(again),
        "link": b"\x01" + wire(alias) + wire(link) + wire(again),
        "unrelated": b"\x00" + wire(other) + wire(alias),
        "nxdomain": b"\x01" + wire(msg("alias.example.org", "A", [],
                                         [soa("example.org")], rcode=3)),
    }
    for k, v in seeds.items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)


def tlsa_rec(usage, selector, mtype, data):
    return bytes([usage, selector, mtype]) + struct.pack("!H", len(data)) + data


def write_tlsa(out):
    """fuzz_tlsa seeds: a settings byte, then records (a certificate as
    DER for the full-data cases)."""
    os.makedirs(out, exist_ok=True)
    der = certificate_der()
    seeds = {
        "digests": b"\x00" + tlsa_rec(3, 1, 1, b"\xab" * 32) +
                   tlsa_rec(2, 0, 2, b"\xcd" * 64) +
                   tlsa_rec(1, 1, 1, b"\x01" * 32),
        "short": b"\x01" + tlsa_rec(3, 1, 1, b"\xab" * 31) +
                 tlsa_rec(0, 0, 1, b"\x02" * 32),
        "strict": b"\x82" + tlsa_rec(0, 1, 2, b"\x03" * 64) +
                  tlsa_rec(3, 0, 1, b"\x04" * 32),
    }
    if der:
        seeds["fullcert"] = b"\x00" + tlsa_rec(3, 0, 0, der) + \
            tlsa_rec(2, 0, 0, der)
    for k, v in seeds.items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)


def certificate_der():
    """A fresh self-signed P-256 certificate as DER (openssl), or b''."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        key, crt = os.path.join(d, "k"), os.path.join(d, "c")
        p = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
             "-outform", "DER", "-subj", "/CN=mx.example.com", "-days", "2"],
            capture_output=True)
        if p.returncode != 0:
            return b""
        with open(crt, "rb") as f:
            return f.read()
