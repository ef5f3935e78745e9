#!/usr/bin/python3
"""DNS forwarder for the upstream variants of the test world (standard
library only).

  dnsproxy.py --listen ADDR:PORT --upstream ADDR:PORT [--set-ad]
              [--delay SECONDS] [--log FILE]

Answers DNS over UDP and TCP on --listen by passing every query unchanged
to --upstream (over the same transport) and the reply back, one thread per
query (UDP) or per connection (TCP), so that delayed replies overlap.

  --set-ad      set the AD bit in every reply (a resolver that claims to
                have validated everything; variant "adproxy")
  --delay S     send each reply S seconds after its query arrived
                (variant "slow")
  --log FILE    one JSON object per line and query:
                {"proto": "udp"|"tcp", "client": "127.0.0.1:40000",
                 "id": N, "qname": "mx.example.", "qtype": 15,
                 "t_in": <time.time() at arrival>, "t_out": <at reply>,
                 "rcode": N | null}
                (rcode null: the upstream did not answer; no reply sent)
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time

LOCK = threading.Lock()
LOG = None
ARGS = None


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def question(msg):
    """(qname, qtype) of a DNS message, (None, None) if unreadable."""
    try:
        off, labels = 12, []
        while True:
            n = msg[off]
            if n == 0:
                off += 1
                break
            if n & 0xC0:
                return None, None
            labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
            off += 1 + n
        qtype = struct.unpack("!H", msg[off:off + 2])[0]
        return ".".join(labels) + ".", qtype
    except (IndexError, struct.error):
        return None, None


def log(proto, client, query, t_in, reply):
    if LOG is None:
        return
    qname, qtype = question(query)
    rec = {"proto": proto, "client": "%s:%d" % client,
           "id": struct.unpack("!H", query[:2])[0] if len(query) >= 2 else None,
           "qname": qname, "qtype": qtype, "t_in": t_in, "t_out": time.time(),
           "rcode": reply[3] & 0x0F if reply and len(reply) >= 4 else None}
    with LOCK:
        LOG.write(json.dumps(rec) + "\n")
        LOG.flush()


def doctor(reply, t_in):
    """The reply as the variant passes it on (AD set, delayed)."""
    if ARGS.set_ad and len(reply) >= 4:
        reply = reply[:3] + bytes([reply[3] | 0x20]) + reply[4:]
    wait = t_in + ARGS.delay - time.time()
    if wait > 0:
        time.sleep(wait)
    return reply


def udp_query(sock, query, client, t_in):
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.settimeout(5.0)
    reply = None
    try:
        up.connect(ARGS.upstream)
        up.send(query)
        while True:
            data = up.recv(65535)
            if data[:2] == query[:2]:
                reply = data
                break
    except OSError:
        pass
    finally:
        up.close()
    if reply is not None:
        reply = doctor(reply, t_in)
        try:
            sock.sendto(reply, client)
        except OSError:
            pass
    log("udp", client, query, t_in, reply)


def udp_loop(sock):
    while True:
        query, client = sock.recvfrom(65535)
        t_in = time.time()
        if len(query) < 12:
            continue
        threading.Thread(target=udp_query, args=(sock, query, client, t_in),
                         daemon=True).start()


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        data = conn.recv(n - len(buf))
        if not data:
            return None
        buf += data
    return buf


def read_msg(conn):
    head = read_exact(conn, 2)
    if head is None:
        return None
    return read_exact(conn, struct.unpack("!H", head)[0])


def tcp_conn(conn, client):
    up = None
    try:
        conn.settimeout(30.0)
        while True:
            query = read_msg(conn)
            if query is None:
                return
            t_in = time.time()
            reply = None
            try:
                if up is None:
                    up = socket.create_connection(ARGS.upstream, timeout=5.0)
                up.sendall(struct.pack("!H", len(query)) + query)
                reply = read_msg(up)
            except OSError:
                reply = None
            if reply is None:
                log("tcp", client, query, t_in, None)
                return
            reply = doctor(reply, t_in)
            conn.sendall(struct.pack("!H", len(reply)) + reply)
            log("tcp", client, query, t_in, reply)
    except OSError:
        pass
    finally:
        conn.close()
        if up is not None:
            up.close()


def tcp_loop(sock):
    while True:
        conn, client = sock.accept()
        threading.Thread(target=tcp_conn, args=(conn, client),
                         daemon=True).start()


def main():
    global ARGS, LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=hostport, required=True)
    ap.add_argument("--upstream", type=hostport, required=True)
    ap.add_argument("--set-ad", action="store_true")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--log")
    ARGS = ap.parse_args()
    if ARGS.log:
        LOG = open(ARGS.log, "a")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    u.bind(ARGS.listen)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(ARGS.listen)
    t.listen(64)
    threading.Thread(target=tcp_loop, args=(t,), daemon=True).start()
    try:
        udp_loop(u)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
