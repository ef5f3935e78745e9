#!/usr/bin/python3
"""Ask glibc's stub resolver for TXT records the way sendmail's dns map
does (res_query(3), class IN, type TXT, resolv.conf's nameservers).

  resquery.py NAME...

Prints one JSON object per NAME: {"name": NAME, "rc": the reply's length
or -1 when res_query() failed, "txt": [the TXT strings of the answer]}.
"""
import ctypes
import json
import struct
import sys

C_IN, T_TXT = 1, 16


def skip_name(msg, i):
    while True:
        n = msg[i]
        if n >= 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += 1 + n


def txt_strings(msg):
    qd, an = struct.unpack("!HH", msg[4:8])
    i = 12
    for _ in range(qd):
        i = skip_name(msg, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        if rtype == T_TXT:
            j = i
            while j < i + rdlen:
                out.append(msg[j + 1:j + 1 + msg[j]].decode(errors="replace"))
                j += 1 + msg[j]
        i += rdlen
    return out


def main():
    lib = ctypes.CDLL("libresolv.so.2")
    buf = ctypes.create_string_buffer(65535)
    for name in sys.argv[1:]:
        n = lib.res_query(name.encode(), C_IN, T_TXT, buf, len(buf))
        txt = txt_strings(buf.raw[:n]) if n > 0 else []
        print(json.dumps({"name": name, "rc": n, "txt": txt}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
