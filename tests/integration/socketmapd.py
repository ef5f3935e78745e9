#!/usr/bin/python3
"""A socketmap server (sendmail's netstring protocol) that finds nothing.

  socketmapd.py PORT

Used to give sendmail an access map of type socket, which it opens lazily
during a delivery, with a port given as a service name.
"""
import socket
import sys


def netstring(data):
    return b"%d:%s," % (len(data), data)


def serve(conn):
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b":" in buf:
            size, rest = buf.split(b":", 1)
            if len(rest) < int(size) + 1:
                break
            buf = rest[int(size) + 1:]
            conn.sendall(netstring(b"NOTFOUND "))


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn)
        except (OSError, ValueError):
            pass
        conn.close()


if __name__ == "__main__":
    main()
