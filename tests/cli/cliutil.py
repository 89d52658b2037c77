# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the postgate-cli tests: the shared test servers, throwaway
certificates, a private password file, running the CLI, and the check that no
secret ever shows in its output."""

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

CLI = os.environ.get("POSTGATE_CLI", "postgate-cli")
TESTS_DIR = os.environ.get("POSTGATE_TESTS_DIR",
                           os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVERS = os.path.join(TESTS_DIR, "servers")
PYTHON = "/usr/bin/python3"

USER = "user"
PASSWORD = "s3cret-Pa55"          # the shared test server's default password
TOKEN = "ya29.test-token"         # and its default XOAUTH2 token
SERVER_LIFETIME = 60              # seconds; every server also stops by itself
CLI_TIMEOUT = 60


def secret_forms(*secrets):
    """The secrets and every encoding an SMTP client could leak them in."""
    forms = set()
    for s in secrets:
        forms.add(s)
        forms.add(base64.b64encode(s.encode()).decode())
    for s in secrets:
        for authz in ("", USER):
            plain = f"{authz}\0{USER}\0{s}".encode()
            forms.add(base64.b64encode(plain).decode())
        oauth = f"user={USER}\x01auth=Bearer {s}\x01\x01".encode()
        forms.add(base64.b64encode(oauth).decode())
    return forms


def free_port():
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Certs:
    """make-certs.sh output in a temporary folder, made once per process."""
    _dir = None

    @classmethod
    def dir(cls):
        if cls._dir is None:
            cls._dir = tempfile.mkdtemp(prefix="postgate-cli-certs-")
            subprocess.run(["sh", os.path.join(SERVERS, "make-certs.sh"), cls._dir],
                           check=True, timeout=60)
        return cls._dir

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir(), name)

    @classmethod
    def fingerprint(cls, name):
        out = subprocess.run(["openssl", "x509", "-in", cls.path(name), "-noout",
                              "-fingerprint", "-sha256"],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        return out.strip().split("=", 1)[1]

    @classmethod
    def cleanup(cls):
        if cls._dir is not None:
            shutil.rmtree(cls._dir, ignore_errors=True)
            cls._dir = None


class Server:
    """One of the shared test servers, on a port the system picks."""

    def __init__(self, script="smtp-test-server.py", args=(), tmp=None, log=True):
        self.tmp = tmp or tempfile.mkdtemp(prefix="postgate-cli-server-")
        self.maildir = os.path.join(self.tmp, "maildir")
        self.log_path = os.path.join(self.tmp, "server.log")
        os.makedirs(self.maildir, exist_ok=True)
        cmd = [PYTHON, os.path.join(SERVERS, script), "--max-lifetime", str(SERVER_LIFETIME)]
        if log:
            cmd += ["--log", self.log_path]
        if script == "smtp-test-server.py":
            cmd += ["--maildir", self.maildir]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read()
            self.proc.wait(timeout=10)
            raise RuntimeError(f"test server did not start: {err}")
        self.port = json.loads(line)["port"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def messages(self):
        """The accepted messages, oldest first: (bytes, envelope dict)."""
        result = []
        names = sorted((n for n in os.listdir(self.maildir) if n.endswith(".eml")),
                       key=lambda n: int(n.split(".")[0]))
        for name in names:
            base = os.path.join(self.maildir, name[:-4])
            with open(base + ".eml", "rb") as f:
                data = f.read()
            with open(base + ".json", encoding="utf-8") as f:
                envelope = json.load(f)
            result.append((data, envelope))
        return result


class CliTestCase(unittest.TestCase):
    secrets = (PASSWORD, TOKEN)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postgate-cli-test-")
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, *args, script="smtp-test-server.py"):
        server = Server(script=script, args=args, tmp=tempfile.mkdtemp(dir=self.tmp))
        self.servers.append(server)
        return server

    def secret_file(self, content, mode=0o600, name="password"):
        path = os.path.join(self.tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def run_cli(self, *args, input=None):
        result = subprocess.run([CLI] + [str(a) for a in args], input=input,
                                capture_output=True, text=True, timeout=CLI_TIMEOUT)
        self.assertNoSecrets(result.stdout + result.stderr)
        self.assertNoSanitizerReport(result.stderr)
        return result

    def assertNoSanitizerReport(self, stderr):
        # UndefinedBehaviorSanitizer reports and carries on: look for it.
        for marker in ("runtime error:", "AddressSanitizer", "LeakSanitizer"):
            self.assertNotIn(marker, stderr, "sanitizer report:\n" + stderr)

    def assertNoSecrets(self, text):
        for form in secret_forms(*self.secrets):
            self.assertNotIn(form, text, "a secret appeared in the output")

    def assertStatus(self, result, status):
        self.assertEqual(result.returncode, status,
                         f"exit status {result.returncode}, expected {status}\n"
                         f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
