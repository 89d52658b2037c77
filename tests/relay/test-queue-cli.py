#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postgate-cli queue list | retry | hold | delete | save, against a spool while the
relay (the server harness) runs on it: every change is seen by the relay,
and the relay's view matches the command's."""
import importlib.util
import os
import smtplib
import subprocess
import sys
import tempfile

spec = importlib.util.spec_from_file_location(
    "support", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-server-support.py"))
support = importlib.util.module_from_spec(spec)
spec.loader.exec_module(support)
Harness = support.Harness

t = support.Checks()
check = t.check


def cli(*args, env=None):
    return subprocess.run([support.CLI, "queue"] + list(args), capture_output=True, text=True,
                          timeout=60, env=env)


def send(port, n):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        for i in range(n):
            # Encoded as a mail program would, and folded over two lines.
            subject = "=?UTF-8?Q?Scan_n=C2=B0%d_?=\r\n =?UTF-8?B?w6AgcmVjZXZvaXI=?=" % i
            s.sendmail("dev@example.test", ["to%d@example.test" % i], "Subject: %s\r\n\r\nbody\r\n" % subject)


def test_while_running():
    with tempfile.TemporaryDirectory() as tmp:
        # The default place: $XDG_DATA_HOME/postgate/spool/default.
        env = dict(os.environ, XDG_DATA_HOME=os.path.join(tmp, "data"))
        spool = os.path.join(tmp, "data", "postgate", "spool", "default")
        r = cli("list", env=env)
        check(r.returncode == 0 and "no relay queue" in r.stdout.lower(), "list with no queue yet says so")
        check(not os.path.exists(spool), "listing does not create the folder")
        missing = os.path.join(tmp, "mistyped")
        for action in (["list"], ["retry", "--all"], ["delete", "abc"]):
            r = cli(*action, "--spool", missing)
            check(r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1
                  and "no relay queue in" in r.stderr.lower() and "does not exist" in r.stderr,
                  "%s with a --spool folder that does not exist is an error, in words" % action[0])
        check(not os.path.exists(missing), "nor does naming a folder that is not there")

        with Harness(spool=spool) as h:
            send(h.port, 3)
            ids = sorted(h.messages())
            check(len(ids) == 3, "three messages accepted")

            r = cli("list", env=env)
            check(r.returncode == 0, "list runs while the relay runs")
            check("3 messages: 3 waiting, 0 being sent, 0 on hold, 0 failed" in r.stdout,
                  "list counts them in words")
            check(all(i in r.stdout for i in ids), "list shows every ID")
            check("to1@example.test, waiting" in r.stdout and "dev@example.test" in r.stdout,
                  "list shows sender and recipients with their state")
            check("the relay is running" in r.stdout, "list says the relay is running")
            check("  Subject:     Scan n°1 à recevoir\n" in r.stdout,
                  "list shows each subject as a person reads it: %r" % r.stdout)

            # A subject of any length takes one line.
            with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as c:
                c.sendmail("dev@example.test", ["long@example.test"],
                           ("Subject: %s\r\n\r\nbody\r\n" % ("é" * 300)).encode())
            [long_id] = sorted(set(h.messages()) - set(ids))
            r = cli("list", env=env)
            check("  Subject:     %s…\n" % ("é" * 200) in r.stdout, "a long subject is cut at 200 characters")
            check(cli("delete", long_id, "--spool", spool).returncode == 0, "and that message deleted")
            h.read_until(lambda l: l == "CHANGED %s removed" % long_id)

            r = cli("hold", ids[0], "--spool", spool)
            check(r.returncode == 0 and "on hold" in r.stdout, "hold ID")
            h.read_until(lambda l: l == "CHANGED %s held" % ids[0])
            check(True, "the running relay notices the hold")
            check(h.dump()[ids[0]] == "held", "the relay's list shows it held")

            r = cli("retry", ids[0], "--spool", spool)
            check(r.returncode == 0 and "sent again" in r.stdout, "retry ID")
            h.read_until(lambda l: l == "CHANGED %s queued" % ids[0])
            check(True, "the running relay notices the retry")

            r = cli("delete", ids[1], "--spool", spool)
            check(r.returncode == 0 and "deleted" in r.stdout, "delete ID")
            h.read_until(lambda l: l == "CHANGED %s removed" % ids[1])
            check(True, "the running relay notices the delete")
            check(set(h.dump()) == {ids[0], ids[2]}, "the relay's list no longer has it")
            check(not [n for n in h.spool_files() if n.startswith(ids[1])], "its files are gone")

            for i in (ids[0], ids[2]):
                cli("hold", i, "--spool", spool)
            r = cli("retry", "--all", env=env)
            check(r.returncode == 0 and "2 messages will be sent again" in r.stdout, "retry --all")
            wanted = {ids[0]: "queued", ids[2]: "queued"}
            support.wait_until(lambda: h.dump() == wanted, what="both queued again")
            check(True, "the relay sees every message queued again")

            r = cli("hold", ids[2][:-2], "--spool", spool)
            check(r.returncode == 0 and ids[2] in r.stdout, "the start of an ID is enough")
            cli("retry", ids[2], "--spool", spool)
            r = cli("hold", ids[2][:3], "--spool", spool)
            check(r.returncode == 1 and "more than one" in r.stderr.lower(), "an ambiguous start is refused")
            r = cli("hold", "0000000000000-00000000", "--spool", spool)
            check(r.returncode == 1 and "no message" in r.stderr.lower(), "an unknown ID is an error, in words")
            r = cli("hold", "--spool", spool)
            check(r.returncode == 2 and "which message" in r.stderr.lower(), "a missing ID is explained")
            r = cli("frobnicate", "--spool", spool)
            check(r.returncode == 2, "an unknown action is refused")
            r = cli("retry", ids[0], "--all", "--spool", spool)
            check(r.returncode == 2, "ID and --all together are refused")
            r = cli("list", "--profile", "no-such-profile", env=env)
            check(r.returncode == 1 and "no-such-profile" in r.stderr, "an unknown profile is an error")
            r = cli("--help")
            check(r.returncode == 0 and "retry" in r.stdout, "--help explains the actions")

            # save: the message as it will be sent, for a mail program; the
            # queue keeps it, the file is private, and none is overwritten.
            with open(os.path.join(spool, ids[2] + ".msg"), "rb") as f:
                stored = f.read()
            saved = os.path.join(tmp, "scan.eml")
            r = cli("save", ids[2][:-1], saved, "--spool", spool)
            check(r.returncode == 0 and "saved to %s" % saved in r.stdout and "stays in the queue" in r.stdout,
                  "save ID FILE says where the message went: " + r.stdout + r.stderr)
            with open(saved, "rb") as f:
                copy = f.read()
            check(copy == stored and b"Subject: =?UTF-8?Q?Scan_n=C2=B0" in copy,
                  "the file holds the message exactly as stored")
            check(os.stat(saved).st_mode & 0o077 == 0, "the saved file is readable by the user only")
            check(ids[2] in h.dump(), "the message stays in the queue")
            r = cli("save", ids[2], saved, "--spool", spool)
            check(r.returncode == 1 and "already a file" in r.stderr, "an existing file is not replaced")
            with open(saved, "rb") as f:
                check(f.read() == stored, "and is left as it was")
            r = subprocess.run([support.CLI, "queue", "save", ids[2], "-", "--spool", spool], capture_output=True,
                               timeout=60)
            check(r.returncode == 0 and r.stdout == stored, "save ID - writes the message to standard output")
            r = cli("save", ids[2], "--spool", spool)
            check(r.returncode == 2 and "file name" in r.stderr, "a missing file name is explained")
            r = cli("save", ids[2], os.path.join(tmp, "no-such-folder", "x.eml"), "--spool", spool)
            check(r.returncode == 1 and "Could not save to" in r.stderr, "an unwritable place is an error, in words")

        # A damaged state file (a failing disk, a hand edit): the message is
        # still listed, and the engine's warning is one plain line on
        # standard error, not GLib's form.  Warnings are not fatal here.
        cli("hold", ids[2], "--spool", spool)
        with open(os.path.join(spool, ids[2] + ".state"), "w") as f:
            f.write("[State\n")
        quiet_env = {k: v for k, v in env.items() if k != "G_DEBUG"}
        r = cli("list", env=quiet_env)
        check(r.returncode == 0 and ids[2] in r.stdout and "2 waiting, 0 being sent, 0 on hold" in r.stdout,
              "a held message whose state file is damaged is listed as waiting: %r" % r.stdout)
        lines = r.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith("warning: ") and ids[2] in lines[0]
              and "cannot be read" in lines[0], "its warning is one plain line: %r" % r.stderr)
        check("WARNING **" not in r.stderr and "gate-spool" not in r.stderr, "not in GLib's form")


def main():
    test_while_running()
    return t.report()


if __name__ == "__main__":
    sys.exit(main())
