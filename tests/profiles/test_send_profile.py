#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""`postgate-cli send --profile NAME` and `probe --profile NAME` against a
local aiosmtpd with STARTTLS + AUTH (the shared test server), trusting the
test CA through the profile's CA file, with the password coming from a real
keyring (run through with-keyring.sh); then the headless alternatives
(POSTGATE_PASSWORD, --password-file) and the no-keyring error."""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "cli"))
from profile_helpers import Sandbox, assert_in, assert_not_in, assert_no_secret_in_files  # noqa: E402
from cliutil import PASSWORD, USER, Certs, Server, secret_forms  # noqa: E402

NO_BUS = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/postgate-test-bus"}
SENDER = "sender@example.test"
RECIPIENT = "rcpt@example.test"


def delivered(server):
    """The envelopes the server accepted."""
    result = []
    for path in sorted(glob.glob(os.path.join(server.maildir, "*.json"))):
        with open(path) as f:
            result.append(json.load(f))
    return result


def main():
    box = Sandbox()
    server = None
    try:
        server = Server(args=["--tls-mode", "starttls", "--cert", Certs.path("localhost.pem"),
                              "--key", Certs.path("localhost.key"), "--require-starttls",
                              "--auth", "PLAIN LOGIN", "--auth-require-tls", "--auth-required"])

        box.run("profile", "add", "Test relay", "--server", "localhost", "--port", str(server.port),
                "--security", "starttls", "--user", USER, "--password-stdin", "--from", SENDER,
                "--ca-file", Certs.path("ca.pem"), stdin=PASSWORD + "\n")

        # The password from the keyring.
        r = box.run("send", "--profile", "Test relay", "--to", RECIPIENT, check=False)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out
        for form in secret_forms(PASSWORD):
            assert_not_in(form, out, "send output")
        got = delivered(server)
        assert len(got) == 1, got
        assert got[0]["from"] == SENDER and got[0]["to"] == [RECIPIENT], got
        print("# send --profile with the keyring's password: delivered")

        # What is typed wins over the profile.
        r = box.run("send", "--profile", "Test relay", "--from", "other@example.test", "--to", RECIPIENT,
                    "--quiet", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert delivered(server)[-1]["from"] == "other@example.test"

        # probe with the profile's server and CA.
        r = box.run("probe", "--profile", "Test relay", "--ports", f"{server.port}:starttls", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert_in(str(server.port), r.stdout)
        print("# probe --profile: reached")

        # A wrong password saved: a sign-in failure (exit status 4), nothing sent.
        box.run("profile", "edit", "Test relay", "--password-stdin", stdin="Wrong-Pa55\n")
        n = len(delivered(server))
        r = box.run("send", "--profile", "Test relay", "--to", RECIPIENT, check=False)
        assert r.returncode == 4, r.stdout + r.stderr
        assert len(delivered(server)) == n

        # Headless: POSTGATE_PASSWORD (said on stderr) ...
        r = box.run("send", "--profile", "Test relay", "--to", RECIPIENT, "--quiet",
                    env={**NO_BUS, "POSTGATE_PASSWORD": PASSWORD}, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert_in("POSTGATE_PASSWORD", r.stderr)
        # ... or a private password file, without any keyring.
        pw = os.path.join(box.root, "password")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(pw, 0o600)
        r = box.run("send", "--profile", "Test relay", "--password-file", pw, "--to", RECIPIENT, "--quiet",
                    env=NO_BUS, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(delivered(server)) == n + 2
        print("# headless alternatives: delivered")

        # No keyring and no alternative: a clear error, nothing sent.
        r = box.run("send", "--profile", "Test relay", "--to", RECIPIENT, env=NO_BUS, check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert_in("could not reach the system keyring", r.stderr)
        assert_in("--password-file", r.stderr)
        assert len(delivered(server)) == n + 2

        r = box.run("send", "--profile", "Nobody", "--to", RECIPIENT, check=False)
        assert r.returncode == 1 and "no profile named" in r.stderr, r.stderr

        files = [p for p in box.all_files() if not p.startswith(server.tmp)]
        # The password file is the user's own: every other file is checked.
        assert_no_secret_in_files([p for p in files if p != pw], [PASSWORD, "Wrong-Pa55"])
    finally:
        if server is not None:
            server.stop()
        Certs.cleanup()
        box.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
