# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the relay server tests: starts relay-server-harness (the SMTP
server and spool, no forwarding) on a free loopback port with a hard time
limit, and a raw SMTP client for hostile input.  Loaded with importlib (the
file name follows the tests' naming)."""
import hashlib
import os
import queue
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

BUILD_DIR = os.environ.get("POSTGATE_BUILD_DIR", "")
HARNESS = os.environ.get("RELAY_SERVER_HARNESS") or os.path.join(
    BUILD_DIR, "tests", "relay", "relay-server-harness")
CLI = os.environ.get("POSTGATE_CLI", "")


class Harness:
    def __init__(self, spool=None, args=(), time_limit=120, preexec_fn=None, prefix=()):
        self.tmp = None
        if spool is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="relay-spool-")
            spool = os.path.join(self.tmp.name, "spool")
        self.spool = spool
        # @prefix runs the harness under another program (strace).
        cmd = list(prefix) + [HARNESS, "--spool", spool, "--time-limit", str(time_limit)] + list(args)
        # stderr to a file: a pipe nobody reads could fill up and stall the relay.
        self.stderr_file = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr_file,
                                     text=True, preexec_fn=preexec_fn)
        self.lines = []
        self.queue = queue.Queue()
        self.reader = threading.Thread(target=self._read_stdout, daemon=True)
        self.reader.start()
        self.port = None
        try:
            line = self.read_until(lambda l: l.startswith("PORT "), timeout=20)
            self.port = int(line.split()[1])
        except AssertionError:
            code, err = self.stop()
            if self.tmp:
                self.tmp.cleanup()
            raise RuntimeError("harness did not start: " + err)

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def read_until(self, predicate, timeout=20):
        """Reads the harness's stdout until a line satisfies predicate."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self.queue.put(None)
                break
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError("harness never printed the expected line; got: %r" % self.lines[-20:])

    def dump(self):
        """Asks the running harness for its view of the spool."""
        self.proc.send_signal(signal.SIGUSR1)
        entries = {}
        while True:
            line = self.read_until(lambda l: l.startswith("ENTRY ") or l == "END")
            if line == "END":
                return entries
            _, ident, status = line.split()
            entries[ident] = status

    def stop(self):
        if getattr(self, "stopped", None) is not None:
            return self.stopped
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr_file.seek(0)
        stderr = self.stderr_file.read()
        self.stderr_file.close()
        if self.reader.is_alive():
            self.reader.join(timeout=5)
        while True:
            try:
                line = self.queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        self.stopped = (self.proc.returncode, stderr)
        return self.stopped

    def cleanup(self):
        code, stderr = self.stop()
        if self.tmp:
            self.tmp.cleanup()
        # A relay that crashed, or that a sanitizer complained about, fails the test.
        if "AddressSanitizer" in stderr or "runtime error:" in stderr or "CRITICAL" in stderr:
            raise AssertionError("the relay reported a problem:\n" + stderr)
        if code != 0 and not getattr(self, "killed", False):
            raise AssertionError("the relay exited with %r:\n%s" % (code, stderr))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # --- the spool on disk ---
    def spool_files(self):
        if not os.path.isdir(self.spool):
            return []
        return sorted(n for n in os.listdir(self.spool)
                      if n not in (".owner.lock", ".control") and not n.startswith("free-"))

    def messages(self):
        """{id: (envelope dict, content bytes)} of complete messages."""
        result = {}
        for name in self.spool_files():
            if name.endswith(".env") and not name.startswith("tmp-"):
                ident = name[:-4]
                env = read_keyfile(os.path.join(self.spool, name))
                with open(os.path.join(self.spool, ident + ".msg"), "rb") as f:
                    result[ident] = (env, f.read())
        return result


def read_keyfile(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line and not line.startswith("["):
                k, v = line.split("=", 1)
                values[k] = v
    return values


class RawClient:
    """A plain socket speaking SMTP byte by byte, for what real clients never send."""

    def __init__(self, port, bind=None, timeout=30):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if bind:
            self.sock.bind((bind, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply: (code, text)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % (self.buf,))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.sock.close()


def unverified_tls_context():
    """A client context that takes any certificate: the tests compare the one
    served with the fingerprint the relay printed, as a user would."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def served_fingerprint(sock):
    """The SHA-256 fingerprint of the certificate a TLS socket was served, as
    the relay prints it (AA:BB:…)."""
    return ":".join("%02X" % b for b in hashlib.sha256(sock.getpeercert(binary_form=True)).digest())


def wait_until(predicate, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Checks:
    """Counts checks and failures; each test file ends with report()."""

    def __init__(self):
        self.failures = 0
        self.count = 0

    def check(self, cond, message):
        self.count += 1
        if cond:
            print("ok -", message)
        else:
            self.failures += 1
            print("FAIL -", message)

    def report(self):
        print("%d checks, %d failed" % (self.count, self.failures))
        return 1 if self.failures else 0
