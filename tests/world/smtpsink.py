#!/usr/bin/python3
"""SMTP sink for the test world (standard library only).

  smtpsink.py --config sinks.conf --log sink.jsonl [--spool DIR]

Serves every listener of the config (format: see sinks.conf), one thread per
connection.  Appends one JSON object per line to the log, flushed at once:

  {"type": "message", "listener", "peer", "helo", "tls", "cipher", "sni",
   "mail_from", "rcpts", "size", "subject", "id", "time"}
      for every message accepted after DATA ("250 2.0.0 Ok: queued as <id>");
  {"type": "connection", "listener", "peer", "helo", "tls", "cipher", "sni",
   "last", "time"}
      for every connection that ended without a delivered message; "last" says
      what happened last, e.g. "quit after EHLO", "disconnect after STARTTLS",
      "TLS handshake failed: ...".

tls is the negotiated version ("TLSv1.3") or null; sni is the server name the
client sent in its ClientHello, or null.  With --spool, every message is also
stored as DIR/<id>.eml.
"""
import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time

LOCK = threading.Lock()
COUNTER = [0]
LOG = None
SPOOL = None


def log(rec):
    t = time.time()
    rec["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03dZ" % (int(t * 1000) % 1000)
    line = json.dumps(rec, sort_keys=False) + "\n"
    with LOCK:
        LOG.write(line)
        LOG.flush()


def next_id():
    with LOCK:
        COUNTER[0] += 1
        return "SINK%04d" % COUNTER[0]


class Listener:
    def __init__(self, spec):
        f = spec.split()
        host, port = f[0].rsplit(":", 1)
        self.addr = (host, int(port))
        self.label = f[0]
        self.name = "sink-" + host
        self.cert = self.key = None
        self.sni = {}
        self.starttls = None
        self.greeting = 220
        for opt in f[1:]:
            k, _, v = opt.partition("=")
            if k == "name":
                self.name = v
            elif k == "cert":
                self.cert = v
            elif k == "key":
                self.key = v
            elif k == "sni":
                n, c, kk = v.split(",")
                self.sni[n.lower()] = (c, kk)
            elif k == "starttls":
                if v not in ("offer", "none", "454", "broken"):
                    raise ValueError("bad starttls=%s" % v)
                self.starttls = v
            elif k == "greeting":
                self.greeting = int(v)
            else:
                raise ValueError("unknown option %r in %r" % (opt, spec))
        if self.starttls is None:
            self.starttls = "offer" if self.cert else "none"
        if self.starttls == "offer" and not self.cert:
            raise ValueError("starttls=offer needs cert= and key=: %r" % spec)
        self.ctx = None
        if self.cert:
            self.ctx = self.make_ctx(self.cert, self.key)
            self.sni_ctx = {n: self.make_ctx(c, k) for n, (c, k) in self.sni.items()}
            self.ctx.sni_callback = self.on_sni

    @staticmethod
    def make_ctx(cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def on_sni(self, sslsock, server_name, ctx):
        sslsock.sink_sni = server_name
        if server_name and server_name.lower() in self.sni_ctx:
            sslsock.context = self.sni_ctx[server_name.lower()]
        return None

    def serve(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(self.addr)
        s.listen(64)
        self.sock = s
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, peer = self.sock.accept()
            except OSError:
                time.sleep(0.05)
                continue
            threading.Thread(target=Conn(self, c, peer).run, daemon=True).start()


class Closed(Exception):
    pass


class Conn:
    def __init__(self, lst, sock, peer):
        self.lst = lst
        self.sock = sock
        self.peer = "%s:%d" % peer
        self.buf = b""
        self.tls = self.cipher = self.sni = self.helo = None
        self.last = "connect"
        self.delivered = 0
        self.commands = []      # client command lines of this session
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            try:
                data = self.sock.recv(65536)
            except ssl.SSLError as e:
                raise Closed("TLS error after %s: %s" % (self.last, e.reason or e))
            except OSError as e:
                raise Closed("socket error after %s: %s" % (self.last, e))
            if not data:
                raise Closed("disconnect after %s" % self.last)
            self.buf += data
            if len(self.buf) > 1 << 20 and b"\n" not in self.buf:
                raise Closed("line too long after %s" % self.last)
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def base(self):
        return {"listener": self.lst.label, "peer": self.peer, "helo": self.helo,
                "tls": self.tls, "cipher": self.cipher, "sni": self.sni}

    def run(self):
        self.sock.settimeout(300)
        try:
            self.session()
        except Closed as e:
            self.last = str(e)
        except Exception as e:          # never let a client kill the sink
            self.last = "error after %s: %r" % (self.last, e)
        finally:
            try:
                self.sock.close()
            except Exception:
                pass
            if not self.delivered:
                rec = {"type": "connection"}
                rec.update(self.base())
                rec["last"] = self.last
                log(rec)

    def session(self):
        lst = self.lst
        if lst.greeting != 220:
            self.send("%d 5.3.2 %s refusing service" % (lst.greeting, lst.name))
            self.last = "refused with %d" % lst.greeting
            return
        self.send("220 %s ESMTP sink" % lst.name)
        while True:
            line = self.readline()
            self.commands.append(line)
            cmd = line.split(" ", 1)[0].upper()
            arg = line[len(cmd):].strip()
            if cmd == "EHLO":
                self.helo = arg
                self.reset()
                ext = ["8BITMIME"]
                if lst.starttls in ("offer", "454", "broken") and \
                        self.tls is None:
                    ext.append("STARTTLS")
                ext.append("HELP")
                lines = [lst.name] + ext
                for l in lines[:-1]:
                    self.send("250-" + l)
                self.send("250 " + lines[-1])
            elif cmd == "HELO":
                self.helo = arg
                self.reset()
                self.send("250 " + lst.name)
            elif cmd == "STARTTLS":
                if self.tls is not None:
                    self.send("503 5.5.1 TLS already active")
                elif lst.starttls == "none":
                    self.send("502 5.5.1 STARTTLS not supported")
                elif lst.starttls == "454":
                    self.send("454 4.7.0 TLS not available due to temporary reason")
                elif lst.starttls == "broken":
                    # agree, then answer the ClientHello with garbage
                    self.send("220 2.0.0 Ready to start TLS")
                    self.sock.sendall(b"this is not TLS\r\n")
                    raise Closed("TLS handshake broken on purpose")
                else:
                    self.send("220 2.0.0 Ready to start TLS")
                    self.buf = b""
                    self.last = "STARTTLS"
                    s = lst.ctx.wrap_socket(self.sock, server_side=True,
                                            do_handshake_on_connect=False)
                    self.sock = s
                    try:
                        s.do_handshake()
                    except (ssl.SSLError, OSError) as e:
                        self.sni = getattr(s, "sink_sni", None)
                        raise Closed("TLS handshake failed: %s" % (
                            getattr(e, "reason", None) or e))
                    self.sni = getattr(s, "sink_sni", None)
                    self.tls = s.version()
                    self.cipher = s.cipher()[0]
                    self.helo = None
                    self.reset()
                    self.last = "TLS"
                    continue
            elif cmd == "MAIL":
                if not arg.upper().startswith("FROM:"):
                    self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
                else:
                    a = arg[5:].strip()
                    self.mail_from = a[1:a.index(">")] if a.startswith("<") and ">" in a else a.split(" ")[0]
                    self.rcpts = []
                    self.send("250 2.1.0 Ok")
            elif cmd == "RCPT":
                if self.mail_from is None:
                    self.send("503 5.5.1 Need MAIL first")
                elif not arg.upper().startswith("TO:"):
                    self.send("501 5.5.4 Syntax: RCPT TO:<address>")
                else:
                    a = arg[3:].strip()
                    self.rcpts.append(a[1:a.index(">")] if a.startswith("<") and ">" in a else a.split(" ")[0])
                    self.send("250 2.1.5 Ok")
            elif cmd == "DATA":
                if not self.rcpts:
                    self.send("503 5.5.1 Need RCPT first")
                else:
                    self.send("354 End data with <CR><LF>.<CR><LF>")
                    self.last = "DATA"
                    body = []
                    while True:
                        l = self.readline()
                        if l == ".":
                            break
                        if l.startswith("."):
                            l = l[1:]
                        body.append(l)
                    self.deliver(body)
                    self.reset()
                    self.last = "message"
                    continue
            elif cmd == "RSET":
                self.reset()
                self.send("250 2.0.0 Ok")
            elif cmd == "NOOP":
                self.send("250 2.0.0 Ok")
            elif cmd == "VRFY":
                self.send("252 2.0.0 Cannot VRFY")
            elif cmd == "QUIT":
                self.send("221 2.0.0 Bye")
                self.last = "quit after %s" % self.last
                return
            else:
                self.send("502 5.5.2 Command not recognized")
            self.last = cmd or "empty line"
            if cmd == "STARTTLS":
                self.last = "STARTTLS refused (%s)" % (
                    "454" if lst.starttls == "454" else "502")

    def deliver(self, body):
        mid = next_id()
        text = "\r\n".join(body) + "\r\n"
        subject = None
        cur = None
        for l in body:                      # unfold headers, find Subject
            if l == "":
                break
            if l[:1] in (" ", "\t") and cur is not None:
                if cur[0] == "subject" and subject is not None:
                    subject += " " + l.strip()
                continue
            k, _, v = l.partition(":")
            cur = (k.strip().lower(),)
            if cur[0] == "subject" and subject is None:
                subject = v.strip()
        if SPOOL:
            with open(os.path.join(SPOOL, mid + ".eml"), "w") as f:
                f.write(text)
        rec = {"type": "message"}
        rec.update(self.base())
        rec.update({"mail_from": self.mail_from, "rcpts": self.rcpts,
                    "size": len(text.encode()), "subject": subject, "id": mid,
                    "commands": list(self.commands)})
        log(rec)
        self.delivered += 1
        self.send("250 2.0.0 Ok: queued as %s" % mid)


def main():
    global LOG, SPOOL
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--spool")
    a = ap.parse_args()
    LOG = open(a.log, "a")
    SPOOL = a.spool
    if SPOOL:
        os.makedirs(SPOOL, exist_ok=True)
    listeners = []
    for line in open(a.config):
        line = line.split("#", 1)[0].strip()
        if line:
            listeners.append(Listener(line))
    for l in listeners:
        l.serve()
    sys.stderr.write("smtpsink: listening on %s\n" %
                     " ".join(l.label for l in listeners))
    sys.stderr.flush()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
