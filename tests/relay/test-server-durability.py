#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every message is on disk before its 250, checked on the relay's own system
calls: the relay runs under strace while real clients send, and for each
"250 ... queued as ID" the trace must show, before it, the message's two
files written (under a temporary name, or that of a kept file written over
and cut to length), their data synced (each file, or the whole file system
once they were written), each renamed to its final name, the content before
the envelope, and the queue folder synced after the envelope's rename.  And
a delivered message's file is written over for a new one only once a folder
sync has made its new name durable."""
import importlib.util
import os
import re
import shutil
import smtplib
import sys
import tempfile
import threading

spec = importlib.util.spec_from_file_location(
    "support", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-server-support.py"))
support = importlib.util.module_from_spec(spec)
spec.loader.exec_module(support)
Harness = support.Harness

t = support.Checks()
check = t.check

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")


def parse_trace(path):
    """[(start, end, name, text)] of every system call in the trace."""
    pending, events = {}, []
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, when, rest = m.group(1), float(m.group(2)), m.group(3)
            r = RESUMED.match(rest)
            if r:
                if pid in pending:
                    start, name, text = pending.pop(pid)
                    events.append((start, when, name, text + r.group(2)))
            elif rest.endswith("<unfinished ...>"):
                pending[pid] = (when, rest.split("(", 1)[0], rest)
            elif "(" in rest:
                events.append((when, when, rest.split("(", 1)[0], rest))
    events.sort()
    return events


def fd_path(text):
    """The path strace -y shows for a call's first argument."""
    m = re.match(r"\w+\(\d+<([^>]*)>", text)
    return m.group(1) if m else None


RENAME = re.compile(r'^rename\("([^"]*)", "([^"]*)"')


def verify(events, spool, ident):
    replies = [e for e in events if e[2] == "sendto" and ("queued as %s" % ident) in e[3]]
    if not replies:
        return "no 250 for it in the trace"
    t250 = replies[0][0]
    renamed = {}  # final name → (where it was written, start, end of the rename)
    for e in events:
        m = RENAME.match(e[3]) if e[2] == "rename" and e[1] <= t250 else None
        if m and os.path.basename(m.group(2)) in ("%s.msg" % ident, "%s.env" % ident):
            renamed[os.path.basename(m.group(2))] = (m.group(1), e[0], e[1])
    if "%s.env" % ident not in renamed:
        return "its envelope was not renamed before the 250"
    if "%s.msg" % ident not in renamed:
        return "its content was not renamed before the 250"
    env_start, env_end = renamed["%s.env" % ident][1:]
    if renamed["%s.msg" % ident][2] > env_start:
        return "its envelope got its final name before its content"
    if not any(e[2] == "fsync" and fd_path(e[3]) == spool and e[0] >= env_end and e[1] <= t250 for e in events):
        return "the queue folder was not synced between the rename and the 250"
    for final, (path, r_start, _) in renamed.items():
        writes = [e for e in events
                  if e[2] in ("write", "pwrite64", "writev", "ftruncate") and fd_path(e[3]) == path and e[1] <= r_start]
        if not writes:
            return "no write to %s before it became %s" % (os.path.basename(path), final)
        last = max(e[1] for e in writes)
        synced = any(e[0] >= last and e[1] <= r_start
                     and ((e[2] in ("fdatasync", "fsync") and fd_path(e[3]) == path) or e[2] == "syncfs")
                     for e in events)
        if not synced:
            return "%s was not synced after its last write and before the rename" % os.path.basename(path)
    return None


def kept_file_written_too_early(events, spool):
    """The kept files first written before a folder sync that began after
    they were renamed aside: until then a power cut could leave the delivered
    message's name on the new message's data."""
    early = []
    for e in events:
        m = RENAME.match(e[3]) if e[2] == "rename" else None
        if not m or not re.search(r"/free-\d+$", m.group(2)) or re.search(r"/free-\d+$", m.group(1)):
            continue
        kept, set_aside = m.group(2), e[1]
        writes = [w for w in events if w[0] > set_aside and w[2] in ("write", "pwrite64", "writev", "ftruncate")
                  and fd_path(w[3]) == kept]
        if not writes:
            continue
        first = min(w[0] for w in writes)
        if not any(f[2] == "fsync" and fd_path(f[3]) == spool and f[0] >= set_aside and f[1] <= first
                   for f in events):
            early.append(os.path.basename(kept))
    return early


def send_some(port, n, tag, ids, lock):
    for i in range(n):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo()
            s.mail("device@example.test")
            s.rcpt("a@example.test")
            code, text = s.data(("Subject: %s %d\r\n\r\n" % (tag, i) + "line\r\n" * (50 + i)).encode())
            m = re.search(r"queued as (\S+)", text.decode(errors="replace"))
            with lock:
                ids.append((code, m.group(1) if m else None))


def run(mode):
    tmp = tempfile.mkdtemp(prefix="relay-durability-")
    trace = os.path.join(tmp, "trace")
    spool = os.path.join(tmp, "spool")
    env_before = os.environ.get("GATE_SPOOL_SYNC")
    if mode:
        os.environ["GATE_SPOOL_SYNC"] = mode
    # Under the sanitizers: the leak check cannot run in a traced process.
    if os.environ.get("ASAN_OPTIONS") and ":detect_leaks=0" not in os.environ["ASAN_OPTIONS"]:
        os.environ["ASAN_OPTIONS"] += ":detect_leaks=0"
    try:
        # -D: strace runs beside the relay, not as its parent, so that the
        # harness's own stop (SIGTERM) reaches the relay.
        prefix = ["strace", "-D", "-f", "-ttt", "-y", "-s", "80", "-o", trace,
                  "-e", "trace=write,pwrite64,writev,ftruncate,fsync,fdatasync,syncfs,rename,renameat,renameat2,sendto"]
        ids, lock = [], threading.Lock()
        # --deliver: messages leave the queue at once, and their files are
        # written over for the messages after them.
        with Harness(spool=spool, prefix=prefix, args=["--deliver"], time_limit=200) as h:
            # Several clients at once, so that commits share batches.
            threads = [threading.Thread(target=send_some, args=(h.port, 15, "c%d" % k, ids, lock))
                       for k in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(180)
        # strace writes the end of the trace once the relay is gone.
        support.wait_until(lambda: "+++ exited" in open(trace, errors="replace").read(), 30,
                           "the end of the trace")
        label = mode or "default"
        check(len(ids) == 60 and all(code == 250 and ident for code, ident in ids),
              "%s: 60 messages accepted (%d)" % (label, len(ids)))
        events = parse_trace(trace)
        problems = {}
        for _, ident in ids:
            why = verify(events, os.path.realpath(spool), ident)
            if why:
                problems[ident] = why
        check(not problems, "%s: every 250 came after the message's files were synced, renamed and the folder "
                            "synced%s" % (label, "" if not problems else ": %r" % list(problems.items())[:3]))
        reused = [e for e in events if e[2] == "rename" and re.match(r'rename\("[^"]*/free-\d+", ', e[3])]
        check(len(reused) > 0, "%s: files of delivered messages were written over for new ones (%d)"
              % (label, len(reused)))
        early = kept_file_written_too_early(events, os.path.realpath(spool))
        check(not early, "%s: a delivered message's file is written over only after a folder sync made its "
                         "new name durable%s" % (label, "" if not early else ": %r" % early[:3]))
        if mode is None:
            check(any(e[2] == "syncfs" for e in events), "default: batches were synced with syncfs")
        else:
            check(not any(e[2] == "syncfs" for e in events), "files: no syncfs")
    finally:
        if env_before is None:
            os.environ.pop("GATE_SPOOL_SYNC", None)
        else:
            os.environ["GATE_SPOOL_SYNC"] = env_before
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if shutil.which("strace") is None:
        print("FAIL - strace is needed (build-aux/test installs it)")
        return 1
    run(None)
    run("files")
    return t.report()


if __name__ == "__main__":
    sys.exit(main())
