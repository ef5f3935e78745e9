#!/usr/bin/python3
"""Record the DNS queries sent to the resolver at 127.0.0.1:53.

  dnssniff.py OUTFILE

Runs inside the hermetic test world (tests/world/), started by
tests/bench/queries.py.  Listens on the loopback interface with an
AF_PACKET socket and appends one line per client query to OUTFILE:

  <proto> <DO|-> <qname> <qtype> <port>/<id> <time>     a query
  reply <AD|-> <qname> <qtype> <port>/<id> <time>         its reply

DO is the EDNS "DNSSEC OK" bit: libdane (libunbound) sets it on every query,
glibc's stub resolver, which sendmail itself uses, never does.  That is
how queries.py tells the extension's queries from sendmail's own.
AD is the "authentic data" bit of a reply.
<port> is the client's port, <time> the packet's arrival (seconds,
monotonic clock), so a query and its reply give the resolver's response
time.  Prints "ready" once listening and exits when its standard input closes.
Standard library only; needs CAP_NET_RAW (root in the world).
"""
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 3
PACKET_OUTGOING = 4
RESOLVER = socket.inet_aton("127.0.0.1")
TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX",
         16: "TXT", 28: "AAAA", 33: "SRV", 43: "DS", 48: "DNSKEY",
         52: "TLSA", 255: "ANY"}


def name_at(msg, off):
    labels = []
    while off < len(msg):
        n = msg[off]
        if n == 0:
            return ".".join(labels) + ".", off + 1
        if n & 0xC0:			# compression: not expected in a query
            return None, None
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return None, None


def parse_message(msg):
    """(qname, qtype, do, is_reply, id, ad) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", msg[:12])
    if qd != 1:
        return None
    if flags & 0x8000:
        an = ns = ar = 0		# a reply: the question is enough
    qname, off = name_at(msg, 12)
    if qname is None or off + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[off:off + 2])[0]
    off += 4
    do = False
    for _ in range(an + ns + ar):	# an, ns are 0 in queries
        _, off = name_at(msg, off)
        if off is None or off + 10 > len(msg):
            break
        rtype, _, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        if rtype == 41:			# OPT: DO is the top bit of the flags
            do = bool(ttl & 0x8000)
        off += 10 + rdlen
    return (qname, TYPES.get(qtype, "TYPE%d" % qtype), do,
            bool(flags & 0x8000), qid, bool(flags & 0x0020))


def dns_payload(ip):
    """(kind, sport, dport, DNS message) of a UDP or TCP packet."""
    ihl = (ip[0] & 15) * 4
    proto = ip[9]
    if proto not in (6, 17):
        return None
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    if proto == 17:
        return "udp", sport, dport, ip[ihl + 8:]
    data = ip[ihl + (ip[ihl + 12] >> 4) * 4:]
    if len(data) > 2 and struct.unpack("!H", data[:2])[0] == len(data) - 2:
        return "tcp", sport, dport, data[2:]
    return "tcp", sport, dport, data	# length prefix sent separately


def main():
    out = open(sys.argv[1], "a", buffering=1)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind(("lo", 0))
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([s, 0], [], [])
        if 0 in ready and os.read(0, 4096) == b"":
            return 0
        if s not in ready:
            continue
        frame, addr = s.recvfrom(65535)
        now = time.monotonic()
        if addr[2] == PACKET_OUTGOING:	# lo shows each packet twice
            continue
        if frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        p = dns_payload(ip)
        if p is None:
            continue
        kind, sport, dport, msg = p
        if ip[16:20] == RESOLVER and dport == 53:
            port, want_reply = sport, False
        elif ip[12:16] == RESOLVER and sport == 53 and \
                ip[16:20][:1] == b"\x7f":
            port, want_reply = dport, True	# unbound to a local client
        else:
            continue
        q = parse_message(msg)
        if q is None or q[3] != want_reply:
            continue
        out.write("%s %s %s %s %d/%d %.6f\n" % (
            "reply" if want_reply else kind,
            ("AD" if q[5] else "-") if want_reply else
            ("DO" if q[2] else "-"),
            q[0], q[1], port, q[4], now))


if __name__ == "__main__":
    sys.exit(main())
