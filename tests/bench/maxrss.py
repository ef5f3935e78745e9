#!/usr/bin/python3
"""Run a command and record the peak resident set size of its processes.

  maxrss.py OUTFILE CMD [ARG...]

Runs CMD as a child, waits for it and appends one line to OUTFILE: the
largest peak RSS (kB) of CMD and every descendant it waited for
(getrusage(RUSAGE_CHILDREN).ru_maxrss).  Exit status and standard I/O
are CMD's.  Used by tests/bench/queries.py inside the test world.
"""
import os
import resource
import sys


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    with open(out, "a") as f:
        f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
