#!/usr/bin/python3
"""reaper.py CMD [ARG...]: run CMD as a child subreaper and reap orphans.

world.sh start leaves a detached host-side process (unshare, the parent of
the world's PID 1).  After world.sh stop it exits and must be reaped by the
nearest subreaper or by the host's PID 1.  Where PID 1 does not reap (e.g. a
sandbox init), each stopped world would leave one "<defunct>" entry.  Run the
test suite under this wrapper to avoid that.  Exits with CMD's status; any
world still running when CMD ends is left to the host's PID 1.
"""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: reaper.py CMD [ARG...]\n")
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("reaper.py: prctl failed, running without it\n")
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    status = 1
    while True:
        try:
            p, st = os.wait()
        except ChildProcessError:
            break
        if p == pid:
            status = os.waitstatus_to_exitcode(st)
            break
    while True:                 # reap what is already dead, leave the living
        try:
            p, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if p == 0:
            break
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
