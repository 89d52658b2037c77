#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postgate-cli send against real SMTP servers on loopback: each security mode
with STARTTLS/TLS and AUTH, passwords from a file and from stdin (never in the
output), the swaks-style transcript, attachments that arrive intact, a ready
message sent as it is, partly refused recipients, --quiet."""

import email
import email.policy
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import (Certs, CliTestCase, PASSWORD, TOKEN, USER)  # noqa: E402

FROM = "sender@example.test"
TO = "rcpt@example.test"


def tls_server_args(mode, auth="PLAIN LOGIN CRAM-MD5"):
    args = ["--tls-mode", mode, "--cert", Certs.path("localhost.pem"),
            "--key", Certs.path("localhost.key"), "--auth", auth,
            "--auth-required"]
    if mode == "starttls":
        args += ["--require-starttls", "--auth-require-tls"]
    return args


class SendTest(CliTestCase):

    @classmethod
    def tearDownClass(cls):
        Certs.cleanup()

    def send(self, server, *extra, security="starttls", input=None, password_file=True,
             trust=True):
        args = ["send", "--server", "127.0.0.1", "--port", server.port,
                "--security", security, "--from", FROM, "--to", TO]
        if trust:
            args += ["--ca-file", Certs.path("ca.pem")]
        if password_file is True:
            args += ["--user", USER, "--password-file", self.secret_file(PASSWORD + "\n")]
        args += list(extra)
        return self.run_cli(*args, input=input)

    def token_of(self, result):
        match = re.search(r"\bPG-[A-Z0-9]+\b", result.stdout)
        self.assertIsNotNone(match, "no token in the result:\n" + result.stdout)
        return match.group(0)

    def test_starttls_auth_password_file(self):
        server = self.server(*tls_server_args("starttls"))
        result = self.send(server)
        self.assertStatus(result, 0)
        out = result.stdout
        # swaks-style prefixes: clear text before STARTTLS, ~> / <~ inside TLS.
        self.assertRegex(out, r"(?m)^<- 220 ")
        self.assertRegex(out, r"(?m)^-> EHLO ")
        self.assertRegex(out, r"(?m)^-> STARTTLS")
        self.assertRegex(out, r"(?m)^~> EHLO ")
        self.assertRegex(out, r"(?m)^~> AUTH ")
        self.assertRegex(out, r"(?m)^~> MAIL FROM:<sender@example.test>")
        self.assertRegex(out, r"(?m)^<~ 250")
        self.assertRegex(out, r"(?m)^=== ")
        self.assertIn("TLS", out)
        # Nothing of the mail or the sign-in went in clear.
        self.assertNotRegex(out, r"(?m)^-> (AUTH|MAIL|RCPT|DATA)")
        token = self.token_of(result)
        messages = server.messages()
        self.assertEqual(len(messages), 1)
        msg = email.message_from_bytes(messages[0][0], policy=email.policy.default)
        self.assertIn(token, msg["Subject"])
        self.assertIn("Test email from Postgate", msg["Subject"])
        self.assertIn(token, msg.get_body(("plain",)).get_content())
        self.assertEqual(messages[0][1]["from"], FROM)
        self.assertEqual(messages[0][1]["to"], [TO])
        log = server.log()
        self.assertNotRegex(log, r"(?m)^C: (AUTH|MAIL|RCPT)")

    def test_implicit_tls_password_stdin(self):
        server = self.server(*tls_server_args("implicit"))
        result = self.send(server, "--user", USER, "--password-stdin", security="tls",
                           input=PASSWORD + "\n", password_file=False)
        self.assertStatus(result, 0)
        self.assertRegex(result.stdout, r"(?m)^<~ 220 ")
        self.assertRegex(result.stdout, r"(?m)^~> AUTH ")
        self.assertNotRegex(result.stdout, r"(?m)^(->|<-) ")
        self.assertEqual(len(server.messages()), 1)

    def test_no_encryption_needs_allow_plain_auth(self):
        server = self.server("--auth", "PLAIN LOGIN")
        refused = self.send(server, security="none")
        self.assertStatus(refused, 4)
        self.assertEqual(server.messages(), [])
        self.assertNotIn("C: AUTH", server.log())
        allowed = self.send(server, "--allow-plain-auth", security="none")
        self.assertStatus(allowed, 0)
        self.assertRegex(allowed.stdout, r"(?m)^-> AUTH ")
        self.assertEqual(len(server.messages()), 1)

    def test_each_auth_mechanism(self):
        server = self.server(*tls_server_args("starttls", "PLAIN LOGIN CRAM-MD5 XOAUTH2"))
        for mech in ("plain", "login", "cram-md5"):
            with self.subTest(mech=mech):
                result = self.send(server, "--auth", mech)
                self.assertStatus(result, 0)
                self.assertRegex(result.stdout, r"(?m)^~> AUTH " + mech.upper())
        token_file = self.secret_file(TOKEN + "\n", name="token")
        result = self.send(server, "--user", USER, "--auth", "xoauth2", "--oauth-token-file", token_file,
                           password_file=False)
        self.assertStatus(result, 0)
        self.assertRegex(result.stdout, r"(?m)^~> AUTH XOAUTH2")
        self.assertEqual(len(server.messages()), 4)

    def test_attachments_arrive_intact(self):
        server = self.server(*tls_server_args("starttls"))
        binary = os.urandom(300 * 1024)
        bin_path = os.path.join(self.tmp, "data.bin")
        with open(bin_path, "wb") as f:
            f.write(binary)
        text = "Grüße\nline two\n.\n..leading dots\n" * 100
        txt_path = os.path.join(self.tmp, "notes.txt")
        with open(txt_path, "w", encoding="utf-8") as f:
            f.write(text)
        result = self.send(server, "--attach", bin_path, "--attach", txt_path,
                           "--subject", "Attachments ✓", "--body", "See the files.",
                           "--html", "<p>See the <b>files</b>.</p>")
        self.assertStatus(result, 0)
        messages = server.messages()
        self.assertEqual(len(messages), 1)
        msg = email.message_from_bytes(messages[0][0], policy=email.policy.default)
        self.assertIn("Attachments ✓", msg["Subject"])
        self.assertEqual(msg.get_body(("plain",)).get_content().strip(), "See the files.")
        self.assertIn("<b>files</b>", msg.get_body(("html",)).get_content())
        attachments = {part.get_filename(): part for part in msg.iter_attachments()}
        self.assertEqual(set(attachments), {"data.bin", "notes.txt"})
        self.assertEqual(attachments["data.bin"].get_content(), binary)
        got = attachments["notes.txt"].get_payload(decode=True)
        self.assertEqual(got.replace(b"\r\n", b"\n"), text.encode("utf-8"))

    def test_message_file_sent_as_is(self):
        server = self.server(*tls_server_args("starttls"))
        raw = (b"From: <sender@example.test>\r\nTo: <rcpt@example.test>\r\n"
               b"Subject: ready made\r\nMessage-ID: <ready.1@example.test>\r\n\r\n"
               b"first line\r\n.a line with a leading dot\r\n.\r\nlast line\r\n")
        path = os.path.join(self.tmp, "message.eml")
        with open(path, "wb") as f:
            f.write(raw)
        result = self.send(server, "--message-file", path)
        self.assertStatus(result, 0)
        messages = server.messages()
        self.assertEqual(len(messages), 1)
        self.assertEqual(messages[0][0].replace(b"\r\n", b"\n"), raw.replace(b"\r\n", b"\n"))

    def test_some_recipients_refused(self):
        server = self.server(*tls_server_args("starttls"), "--reply-rcpt", "nobody@example.test=550")
        result = self.send(server, "--to", "nobody@example.test", "--to", "third@example.test")
        self.assertStatus(result, 0)
        self.assertIn("nobody@example.test", result.stdout)
        self.assertRegex(result.stdout, r"nobody@example\.test\s+\(550")
        messages = server.messages()
        self.assertEqual(len(messages), 1)
        self.assertEqual(sorted(messages[0][1]["to"]), [TO, "third@example.test"])

    def test_quiet_prints_only_the_result(self):
        server = self.server(*tls_server_args("starttls"))
        result = self.send(server, "--quiet")
        self.assertStatus(result, 0)
        self.assertNotRegex(result.stdout, r"(?m)^(->|<-|~>|<~|===) ")
        self.assertRegex(result.stdout, r"(?m)^Sent")
        self.token_of(result)


if __name__ == "__main__":
    unittest.main(verbosity=2)
