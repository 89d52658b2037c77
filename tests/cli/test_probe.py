#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postgate-cli probe against two real servers on loopback (one STARTTLS with
AUTH, one implicit TLS without AUTH) and a closed port, all tried at once: the
table, the best choice and why, and the exit status."""

import os
import re
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import CLI, CLI_TIMEOUT, Certs, CliTestCase, free_port  # noqa: E402


def row(stdout, port):
    """The table row of @port."""
    match = re.search(rf"(?m)^{port} .*$", stdout)
    return match.group(0) if match else None


class ProbeTest(CliTestCase):

    @classmethod
    def tearDownClass(cls):
        Certs.cleanup()

    def test_table_and_best_choice(self):
        starttls = self.server("--tls-mode", "starttls", "--cert", Certs.path("localhost.pem"),
                               "--key", Certs.path("localhost.key"), "--auth", "PLAIN LOGIN",
                               "--auth-require-tls")
        implicit = self.server("--tls-mode", "implicit", "--cert", Certs.path("localhost.pem"),
                               "--key", Certs.path("localhost.key"))
        closed = free_port()
        ports = f"{starttls.port}:starttls,{implicit.port}:tls,{closed}:starttls,{implicit.port}:starttls"
        result = self.run_cli("probe", "127.0.0.1", "--ports", ports, "--ca-file", Certs.path("ca.pem"),
                              "--timeout", "8")
        self.assertStatus(result, 0)
        out = result.stdout

        first = row(out, starttls.port)
        self.assertIsNotNone(first, out)
        self.assertIn("STARTTLS", first)
        self.assertIn("reached", first)
        self.assertNotIn("not reached", first)
        self.assertRegex(first, r"TLS ?1\.[23]")
        self.assertIn("PLAIN", first)
        self.assertIn("LOGIN", first)
        self.assertRegex(first, r"\d+ ms")

        rows = re.findall(rf"(?m)^{implicit.port} .*$", out)
        self.assertEqual(len(rows), 2, out)
        tls_row = [r for r in rows if "TLS (SSL)" in r or "STARTTLS" not in r][0]
        self.assertIn("reached", tls_row)
        self.assertNotIn("not reached", tls_row)
        # Implicit TLS spoken to with STARTTLS: the handshake never starts.
        starttls_row = [r for r in rows if r is not tls_row][0]
        self.assertIn("not reached", starttls_row)

        closed_row = row(out, closed)
        self.assertIsNotNone(closed_row, out)
        self.assertIn("not reached", closed_row)

        # Both encrypted, only the STARTTLS one offers sign-in: it wins.
        self.assertIn(f"Best choice: port {starttls.port} with STARTTLS", out)
        self.assertIn("encrypted", out)
        self.assertIn("sign-in", out)
        # Nothing was sent: the probe ends with QUIT.
        self.assertIn("T: QUIT", starttls.log())
        self.assertIn("T: QUIT", implicit.log())
        self.assertNotRegex(starttls.log(), r"(?m)^[CT]: (AUTH|MAIL)")

    def test_encrypted_preferred(self):
        # One server, sign-in offered with and without TLS: only the
        # encryption differs between the two candidates.
        server = self.server("--tls-mode", "starttls", "--cert", Certs.path("localhost.pem"),
                             "--key", Certs.path("localhost.key"), "--auth", "PLAIN LOGIN")
        result = self.run_cli("probe", "127.0.0.1", "--ports", f"{server.port}:none,{server.port}:starttls",
                              "--ca-file", Certs.path("ca.pem"), "--timeout", "20")
        self.assertStatus(result, 0)
        rows = re.findall(rf"(?m)^{server.port} .*$", result.stdout)
        self.assertEqual(len(rows), 2, result.stdout)
        for r in rows:
            self.assertIn("reached", r)
            self.assertNotIn("not reached", r)
            self.assertIn("PLAIN", r)
        self.assertIn(f"Best choice: port {server.port} with STARTTLS", result.stdout)

    def test_untrusted_certificate_then_pinned(self):
        server = self.server("--tls-mode", "implicit", "--cert", Certs.path("selfsigned.pem"),
                             "--key", Certs.path("selfsigned.key"))
        result = self.run_cli("probe", "127.0.0.1", "--ports", f"{server.port}:tls")
        self.assertStatus(result, 2)
        self.assertIn("not reached", row(result.stdout, server.port))
        self.assertIn("certificate", result.stdout)

        pinned = self.run_cli("probe", "127.0.0.1", "--ports", f"{server.port}:tls",
                              "--pin-sha256", Certs.fingerprint("selfsigned.pem"))
        self.assertStatus(pinned, 0)
        self.assertIn(f"Best choice: port {server.port}", pinned.stdout)

    def test_nothing_reached(self):
        ports = f"{free_port()}:starttls,{free_port()}:tls"
        result = self.run_cli("probe", "127.0.0.1", "--ports", ports, "--timeout", "20")
        self.assertStatus(result, 2)
        self.assertEqual(len(re.findall(r"not reached", result.stdout)), 2, result.stdout)
        self.assertNotIn("Best choice", result.stdout)

    def test_time_limit(self):
        server = self.server("--behaviour", "never-answer", script="hostile-server.py")
        result = self.run_cli("probe", "127.0.0.1", "--ports", f"{server.port}:starttls", "--timeout", "1")
        self.assertStatus(result, 2)
        self.assertIn("not reached", row(result.stdout, server.port))

    def test_ctrl_c_cancels(self):
        server = self.server("--behaviour", "never-answer", script="hostile-server.py")
        proc = subprocess.Popen([CLI, "probe", "127.0.0.1", "--ports", f"{server.port}:starttls",
                                 "--timeout", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(server.wait_for_log("=== connect"), "the probe never connected")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=CLI_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertNoSanitizerReport(err)
        self.assertEqual(proc.returncode, 9, f"stdout:\n{out}\nstderr:\n{err}")
        self.assertTrue(err.strip())

    def test_usage_errors(self):
        for args in (["probe"],
                     ["probe", "127.0.0.1", "--ports", "587:bogus"],
                     ["probe", "127.0.0.1", "--ports", "99999"],
                     ["probe", "127.0.0.1", "--timeout", "0"],
                     ["probe", "127.0.0.1", "--pin-sha256", "zz"],
                     ["probe", "a", "b"]):
            with self.subTest(args=args):
                result = self.run_cli(*args)
                self.assertStatus(result, 1)
                self.assertTrue(result.stderr.strip())


if __name__ == "__main__":
    unittest.main(verbosity=2)
