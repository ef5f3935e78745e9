#!/usr/bin/python3
"""Minimal syslog receiver for the test world (standard library only).

  syslogd.py SOCKET LOGFILE

Binds a datagram socket at SOCKET (the world's /dev/log) and appends every
message to LOGFILE, one line each:
  2026-01-31T12:00:00.123Z mail.info sm-mta[123]: ...
(the receive time in UTC, facility.severity decoded from <PRI>, then the
message as sent, without the <PRI> prefix).  Flushed after every line.
"""
import os
import re
import socket
import sys
import time

FAC = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
       "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
       "local0", "local1", "local2", "local3", "local4", "local5", "local6",
       "local7"]
SEV = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]


def main():
    path, logfile = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    out = open(logfile, "a")
    while True:
        data = s.recv(65536)
        msg = data.decode("utf-8", "replace").rstrip("\n\0")
        pri = "-"
        m = re.match(r"<(\d{1,3})>", msg)
        if m:
            p = int(m.group(1))
            f = p >> 3
            pri = "%s.%s" % (FAC[f] if f < len(FAC) else str(f), SEV[p & 7])
            msg = msg[m.end():]
        t = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
            ".%03dZ" % (int(t * 1000) % 1000)
        out.write("%s %s %s\n" % (ts, pri, msg.replace("\n", " ")))
        out.flush()


if __name__ == "__main__":
    main()
