#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postgate-cli send: one exit status per stage that failed, with the reason in
plain words and nothing secret in the output."""

import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import (CLI, CLI_TIMEOUT, Certs, CliTestCase, PASSWORD, USER,  # noqa: E402
                     free_port)

FROM = "sender@example.test"
TO = "rcpt@example.test"
WRONG_PASSWORD = "not-the-Pa55word"


def starttls_args(cert="localhost"):
    return ["--tls-mode", "starttls", "--cert", Certs.path(cert + ".pem"),
            "--key", Certs.path(cert + ".key"), "--require-starttls",
            "--auth", "PLAIN LOGIN", "--auth-require-tls", "--auth-required"]


class SendErrorTest(CliTestCase):
    secrets = (PASSWORD, WRONG_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        Certs.cleanup()

    def send(self, port, *extra, password=PASSWORD, ca=True):
        args = ["send", "--server", "127.0.0.1", "--port", port, "--security", "starttls",
                "--from", FROM, "--to", TO, "--user", USER,
                "--password-file", self.secret_file(password + "\n")]
        if ca:
            args += ["--ca-file", Certs.path("ca.pem")]
        return self.run_cli(*(args + list(extra)))

    def test_usage_errors(self):
        for args in (["send", "--to", TO, "--server", "127.0.0.1"],             # no --from
                     ["send", "--from", FROM, "--server", "127.0.0.1"],         # no --to
                     ["send", "--from", FROM, "--to", TO],                      # no --server
                     ["send", "--from", FROM, "--to", TO, "--server", "h", "--security", "ssl3"],
                     ["send", "--from", FROM, "--to", TO, "--server", "h", "--port", "70000"],
                     ["send", "--from", FROM, "--to", "not an address", "--server", "h"],
                     ["send", "--from", FROM, "--to", TO, "--server", "h", "--pin-sha256", "abc"],
                     ["send", "--from", FROM, "--to", TO, "--server", "h", "--timeout", "-5"],
                     ["send", "--from", FROM, "--to", TO, "--server", "h", "--no-such-option"]):
            with self.subTest(args=args):
                result = self.run_cli(*args, input="")
                self.assertStatus(result, 1)
                self.assertTrue(result.stderr.strip())

    def test_password_file_readable_by_others_is_refused(self):
        server = self.server(*starttls_args())
        path = self.secret_file(PASSWORD + "\n", mode=0o644)
        result = self.run_cli("send", "--server", "127.0.0.1", "--port", server.port, "--from", FROM,
                              "--to", TO, "--user", USER, "--password-file", path,
                              "--ca-file", Certs.path("ca.pem"))
        self.assertStatus(result, 1)
        self.assertIn("chmod 600", result.stderr)
        self.assertNotIn("=== connect", server.log())

    def test_no_password_without_terminal(self):
        result = self.run_cli("send", "--server", "127.0.0.1", "--from", FROM, "--to", TO,
                              "--user", USER, input="")
        self.assertStatus(result, 1)
        self.assertIn("--password-file", result.stderr)

    def test_password_never_as_argument(self):
        result = self.run_cli("send", "--server", "127.0.0.1", "--from", FROM, "--to", TO,
                              "--user", USER, "--password", "x", input="")
        self.assertStatus(result, 1)

    def test_wrong_password(self):
        server = self.server(*starttls_args())
        result = self.send(server.port, password=WRONG_PASSWORD)
        self.assertStatus(result, 4)
        self.assertRegex(result.stdout, r"(?m)^<~ 535")
        self.assertIn("535", result.stderr)
        self.assertEqual(server.messages(), [])

    def test_connection_refused(self):
        result = self.send(free_port())
        self.assertStatus(result, 2)
        self.assertTrue(result.stderr.strip())

    def test_starttls_not_offered(self):
        server = self.server("--auth", "PLAIN LOGIN")  # no TLS at all
        result = self.send(server.port)
        self.assertStatus(result, 3)
        log = server.log()
        self.assertIn("C: EHLO", log)
        # Stopped before any credentials or mail were sent in clear.
        self.assertNotRegex(log, r"(?m)^C: (AUTH|MAIL|RCPT|DATA)")
        self.assertNotIn("STARTTLS", "\n".join(l for l in log.splitlines() if l.startswith("C:")))

    def test_untrusted_certificate_then_pinned(self):
        server = self.server(*starttls_args("selfsigned"))
        result = self.send(server.port, ca=False)
        self.assertStatus(result, 3)
        fingerprint = Certs.fingerprint("selfsigned.pem")
        self.assertIn(fingerprint, result.stdout + result.stderr)
        self.assertNotRegex(server.log(), r"(?m)^T: (AUTH|MAIL)")
        self.assertEqual(server.messages(), [])

        pinned = self.send(server.port, "--pin-sha256", fingerprint, ca=False)
        self.assertStatus(pinned, 0)
        self.assertEqual(len(server.messages()), 1)

        # The same fingerprint written as plain lower-case hex.
        plain = fingerprint.replace(":", "").lower()
        pinned = self.send(server.port, "--pin-sha256", plain, ca=False)
        self.assertStatus(pinned, 0)

    def test_wrong_host_certificate(self):
        server = self.server(*starttls_args("wronghost"))
        result = self.send(server.port)
        self.assertStatus(result, 3)
        self.assertEqual(server.messages(), [])

    def test_sender_refused(self):
        server = self.server(*starttls_args(), "--reply-mail", "550", "5.7.1 From header sender domain not verified")
        result = self.send(server.port)
        self.assertStatus(result, 5)
        self.assertIn("sender domain not verified", result.stderr)

    def test_every_recipient_refused(self):
        server = self.server(*starttls_args(), "--reply-rcpt", TO + "=550")
        result = self.send(server.port)
        self.assertStatus(result, 6)

    def test_message_refused(self):
        server = self.server(*starttls_args(), "--reply-data", "554", "5.6.0 message refused on cue")
        result = self.send(server.port)
        self.assertStatus(result, 7)
        self.assertIn("refused on cue", result.stderr)

    def test_message_too_large(self):
        server = self.server(*starttls_args(), "--size", "2000")
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(10000))
        result = self.send(server.port, "--attach", big)
        self.assertStatus(result, 7)
        self.assertNotRegex(server.log(), r"(?m)^T: DATA")

    def test_protocol_violation(self):
        server = self.server("--behaviour", "garbage", script="hostile-server.py")
        result = self.send(server.port)
        self.assertStatus(result, 8)

    def test_no_greeting_times_out(self):
        # A server that accepts the connection and never speaks: with
        # --timeout the wait ends, as a connection problem (2), in words.
        server = self.server("--behaviour", "never-answer", script="hostile-server.py")
        result = self.run_cli("send", "--server", "127.0.0.1", "--port", str(server.port),
                              "--security", "none", "--from", FROM, "--to", TO, "--timeout", "2")
        self.assertStatus(result, 2)
        self.assertIn("did not answer", result.stderr.lower() + result.stdout.lower())

    def test_ctrl_c_cancels(self):
        server = self.server("--behaviour", "never-answer", script="hostile-server.py")
        proc = subprocess.Popen([CLI, "send", "--server", "127.0.0.1", "--port", str(server.port),
                                 "--from", FROM, "--to", TO, "--user", USER, "--password-file",
                                 self.secret_file(PASSWORD)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(server.wait_for_log("=== connect"), "the client never connected")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=CLI_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertNoSecrets(out + err)
        self.assertNoSanitizerReport(err)
        self.assertEqual(proc.returncode, 9, f"stdout:\n{out}\nstderr:\n{err}")
        # The transcript so far was printed, then what happened.
        self.assertRegex(out, r"(?m)^=== ")
        self.assertTrue(err.strip())


if __name__ == "__main__":
    unittest.main(verbosity=2)
