#!/usr/bin/env python3
"""Run a command; print "seconds peak_rss_kib peak_anon_kib peak_file_kib".

Peaks are sampled from /proc/PID/status every 20 ms (VmHWM gives the exact
peak of the total). RssAnon is the process's private memory (heap, the
filter, records in flight); RssFile the pages of memory-mapped files it has
touched (the index's table and texts), which are the kernel's page cache
and can be dropped under pressure. The command's output goes to /dev/null;
its stderr to the file named by PEAK_MEM_STDERR (default: inherited).
"""
import os
import subprocess
import sys
import time


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def main():
    err = os.environ.get("PEAK_MEM_STDERR")
    stderr = open(err, "w") if err else None
    start = time.monotonic()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=stderr)
    peak = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    while proc.poll() is None:
        for k, v in status(proc.pid).items():
            peak[k] = max(peak[k], v)
        time.sleep(0.02)
    seconds = time.monotonic() - start
    if proc.returncode not in (0,):
        sys.exit(f"command failed with exit code {proc.returncode}: {' '.join(sys.argv[1:])}")
    print(f"{seconds:.2f} {peak['VmHWM']} {peak['RssAnon']} {peak['RssFile']}")


if __name__ == "__main__":
    main()
