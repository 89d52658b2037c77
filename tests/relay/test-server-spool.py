#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The relay's limits and its spool's promises, with real clients: 401
recipients, a 51 MB message, a full disk, start-up recovery, and kill -9 of
the relay under load (every message that got a 250 survives)."""
import importlib.util
import os
import resource
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading

spec = importlib.util.spec_from_file_location(
    "support", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-server-support.py"))
support = importlib.util.module_from_spec(spec)
spec.loader.exec_module(support)
Harness, RawClient, wait_until = support.Harness, support.RawClient, support.wait_until

t = support.Checks()
check = t.check


def no_tmp(h):
    return not [n for n in h.spool_files() if n.startswith("tmp-")]


def test_recipients(h):
    before = set(h.messages())
    c = RawClient(h.port)
    c.reply()
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.test>")
    # All 401 in one pipelined write.
    c.send("".join("RCPT TO:<r%d@example.test>\r\n" % i for i in range(401)))
    codes = [c.reply()[0] for _ in range(401)]
    check(codes[:400] == [250] * 400, "400 recipients accepted")
    check(codes[400] == 452, "the 401st recipient gets 452 (%d)" % codes[400])
    c.cmd("DATA")
    c.send("Subject: many\r\n\r\nhi\r\n.\r\n")
    check(c.reply()[0] == 250, "the message goes to the 400 accepted")
    c.close()
    new = set(h.messages()) - before
    env = h.messages()[new.pop()][0] if new else {}
    check(env.get("Recipients") == "400", "400 recipients stored")


def send_big(port, size, chunk=1 << 20):
    """Streams a message of @size bytes of body; returns the final reply."""
    c = RawClient(port, timeout=120)
    c.reply()
    c.cmd("EHLO big")
    c.cmd("MAIL FROM:<a@example.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send("Subject: big\r\n\r\n")
    line = b"x" * 76 + b"\r\n"
    block = line * max(1, min(chunk, size) // len(line))
    sent = 0
    while sent < size:
        c.send(block)
        sent += len(block)
    c.send(b".\r\n")
    result = c.reply()
    c.cmd("QUIT")
    c.close()
    return result


def test_too_big(h):
    before = set(h.messages())
    code, text = send_big(h.port, 51 * 1024 * 1024)
    check(code == 552, "a 51 MB message is refused with 552 (%s)" % text)
    check(set(h.messages()) == before and no_tmp(h), "nothing of it is stored")
    # Declared size too large: refused before any data.
    c = RawClient(h.port)
    c.reply()
    c.cmd("EHLO x")
    check(c.cmd("MAIL FROM:<a@example.test> SIZE=53477376")[0] == 552, "SIZE=51 MB refused at MAIL")
    c.close()


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_large_message_memory(h):
    """A message just under the limit streams to disk: the relay's memory
    hardly grows."""
    before = set(h.messages())
    rss_before = peak_rss_kb(h.proc.pid)
    code, text = send_big(h.port, 49 * 1024 * 1024)
    check(code == 250, "a 49 MB message is accepted (%s)" % text)
    growth = peak_rss_kb(h.proc.pid) - rss_before
    check(growth < 16 * 1024, "peak memory grew by %d KB (< 16 MB) while it passed" % growth)
    new = set(h.messages()) - before
    check(len(new) == 1, "it is stored")
    for ident in new:
        os.unlink(os.path.join(h.spool, ident + ".env"))
        os.unlink(os.path.join(h.spool, ident + ".msg"))


def mount_small_fs(path):
    """A 2 MB filesystem at @path: tmpfs, else a loop-mounted image.  Returns
    a function that unmounts it, or None when neither can be mounted."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", path],
                       capture_output=True, timeout=30)
    if r.returncode == 0:
        return lambda: subprocess.run(["umount", path], timeout=30)
    image = path + ".img"
    try:
        with open(image, "wb") as f:
            f.truncate(4 * 1024 * 1024)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True, capture_output=True, timeout=60)
        subprocess.run(["mount", "-o", "loop", image, path], check=True, capture_output=True, timeout=30)
        return lambda: subprocess.run(["umount", path], timeout=30)
    except (OSError, subprocess.CalledProcessError):
        return None


def full_disk_checks(h, how):
    code, _ = send_big(h.port, 10 * 1024)
    check(code == 250, "%s: a small message fits" % how)
    first = h.messages()
    code, text = send_big(h.port, 3 * 1024 * 1024)
    check(code == 452, "%s: a message that does not fit gets 452 (%s)" % (how, text))
    check(h.messages() == first, "%s: the message accepted before is intact, nothing else stored" % how)
    check(no_tmp(h), "%s: nothing half-stored remains" % how)
    code, _ = send_big(h.port, 10 * 1024)
    check(code == 250, "%s: the relay takes mail again once there is room" % how)


def test_full_disk():
    with tempfile.TemporaryDirectory() as tmp:
        mnt = os.path.join(tmp, "small")
        unmount = mount_small_fs(mnt)
        if unmount:
            try:
                with Harness(spool=os.path.join(mnt, "spool")) as h:
                    full_disk_checks(h, "full disk")
            finally:
                unmount()
        else:
            print("# cannot mount a small filesystem here; using a file size limit instead")

        # A file size limit gives EFBIG, which the spool treats like a full disk.
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))
        with Harness(spool=os.path.join(tmp, "limited"), preexec_fn=limit) as h:
            full_disk_checks(h, "file size limit")


def test_recovery():
    with tempfile.TemporaryDirectory() as tmp:
        spool = os.path.join(tmp, "spool")
        with Harness(spool=spool) as h:
            with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as s:
                s.sendmail("a@example.test", ["b@example.test"], "Subject: one\r\n\r\n1\r\n")
                s.sendmail("a@example.test", ["b@example.test"], "Subject: two\r\n\r\n2\r\n")
            ids = sorted(h.messages())
        check(len(ids) == 2, "two messages stored before the restart")
        # The first was being sent when the relay died; debris of a crash around it.
        with open(os.path.join(spool, ids[0] + ".state"), "w") as f:
            f.write("[State]\nStatus=in-flight\nAttempts=1\n")
        for name, content in (("tmp-0000000000001-00000001.msg", "half"),
                              ("tmp-0000000000001-00000001.env", "[Env"),
                              ("0000000000002-00000002.msg", "content without envelope"),
                              ("0000000000003-00000003.state", "[State]\nStatus=held\n")):
            with open(os.path.join(spool, name), "w") as f:
                f.write(content)
        with Harness(spool=spool) as h:
            entries = h.dump()
            check(entries == {ids[0]: "queued", ids[1]: "queued"},
                  "after restart: the in-flight message is queued again (%r)" % entries)
            files = h.spool_files()
            check(sorted(files) == sorted([ids[0] + ".env", ids[0] + ".msg", ids[0] + ".state",
                                           ids[1] + ".env", ids[1] + ".msg"]),
                  "half-written and orphaned files removed (%r)" % files)
            r = subprocess.run([support.CLI, "queue", "list", "--spool", spool],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0 and r.stdout.count("Waiting") == 2 and "the relay is running" in r.stdout,
                  "the queue command lists both as waiting while the relay runs")


def test_kill9():
    """Clients send in parallel; the relay is killed with SIGKILL; after a
    restart every message that got 250 is there, complete."""
    with tempfile.TemporaryDirectory() as tmp:
        spool = os.path.join(tmp, "spool")
        acked = []
        lock = threading.Lock()
        stop = threading.Event()
        h = Harness(spool=spool)

        def client(n):
            try:
                s = smtplib.SMTP("127.0.0.1", h.port, timeout=30)
                s.ehlo("load%d" % n)
                i = 0
                while not stop.is_set():
                    i += 1
                    s.mail("a@example.test")
                    s.rcpt("b@example.test")
                    code, text = s.data(("Subject: %d-%d\r\n\r\n" % (n, i) + "body\r\n" * 50 + "END\r\n").encode())
                    if code == 250:
                        with lock:
                            acked.append(text.decode().split()[-1])
            except (OSError, smtplib.SMTPException):
                pass

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        wait_until(lambda: len(acked) >= 150, timeout=120, what="150 accepted messages")
        h.killed = True
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait()
        stop.set()
        for th in threads:
            th.join(timeout=30)
        h.stop()
        with Harness(spool=spool) as h2:
            msgs = h2.messages()
            missing = [i for i in acked if i not in msgs]
            check(not missing, "kill -9: all %d acknowledged messages survive (missing %r)" % (len(acked), missing))
            incomplete = [i for i, (env, content) in msgs.items()
                          if not content.endswith(b"END\r\n") or len(content) != int(env["Size"])]
            check(not incomplete, "kill -9: every stored message is complete (%d stored)" % len(msgs))
            check(no_tmp(h2), "kill -9: no temporary files after recovery")
            check(len(h2.dump()) == len(msgs), "the restarted relay lists every stored message")


def test_load():
    """Postfix's load generator, many sessions at once, a new connection per
    message: every message is accepted and stored once."""
    with Harness() as h:
        r = subprocess.run(["smtp-source", "-m", "1000", "-s", "25", "-l", "3000",
                            "-f", "load@example.test", "-t", "sink@example.test",
                            "127.0.0.1:%d" % h.port], capture_output=True, text=True, timeout=240)
        check(r.returncode == 0, "smtp-source: 1000 messages over 25 sessions (%s)" % r.stderr.strip())
        msgs = h.messages()
        check(len(msgs) == 1000, "all 1000 stored (%d)" % len(msgs))
        check(no_tmp(h), "no temporary files after the load")


def main():
    test_load()
    with Harness() as h:
        test_recipients(h)
        test_too_big(h)
        test_large_message_memory(h)
    test_full_disk()
    test_recovery()
    test_kill9()
    return t.report()


if __name__ == "__main__":
    sys.exit(main())
