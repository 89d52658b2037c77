#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end tests of the relay with real parts: clients (swaks, Python's
smtplib, curl, Postfix's smtp-source) → `postgate-cli relay` → an aiosmtpd
outgoing server behind STARTTLS and AUTH (test-relay-upstream.py).

  test-relay-scenarios.py SCENARIO

Every process started here has a time limit and is killed by PID at the end.
"""

import importlib.util
import json
import random
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("POSTGATE_TESTS_DIR", os.path.dirname(HERE))
CLI = os.environ.get("POSTGATE_CLI", "postgate-cli")
PYTHON = "/usr/bin/python3"
USER = "relay-user"
PASSWORD = "upstream-Secret-42"
SANITIZED = os.environ.get("POSTGATE_SANITIZED") == "1"
SLOW = 3 if SANITIZED else 1

_spec = importlib.util.spec_from_file_location("support", os.path.join(HERE, "test-server-support.py"))
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)


def log(*args):
    print(*args, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="postgate-relay-test-")
        self.procs = []
        self.certs = os.path.join(self.dir, "certs")
        subprocess.run(["sh", os.path.join(TESTS, "servers", "make-certs.sh"), self.certs],
                       check=True, stdout=subprocess.DEVNULL)
        self.password_file = os.path.join(self.dir, "password")
        with open(self.password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(self.password_file, 0o600)
        self.spool = os.path.join(self.dir, "spool")
        self.upstream_log = os.path.join(self.dir, "upstream.jsonl")
        self.upstream = None
        self.upstream_port = None
        self.relay = None
        self.relay_port = None
        self.relay_out = os.path.join(self.dir, "relay.log")

    # ---- the outgoing server
    def start_upstream(self, *extra, port=0):
        port_file = os.path.join(self.dir, "upstream.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [PYTHON, os.path.join(HERE, "test-relay-upstream.py"), "--port", str(port),
                "--port-file", port_file, "--log", self.upstream_log,
                "--tls-cert", os.path.join(self.certs, "localhost.pem"),
                "--tls-key", os.path.join(self.certs, "localhost.key"),
                "--auth", USER + ":" + PASSWORD, "--time-limit", str(120 * SLOW)] + list(extra)
        self.upstream = subprocess.Popen(args)
        self.procs.append(self.upstream)
        wait_for("the outgoing server", lambda: os.path.exists(port_file), 15)
        with open(port_file) as f:
            self.upstream_port = int(f.read())

    def stop_upstream(self):
        if self.upstream and self.upstream.poll() is None:
            self.upstream.kill()
            self.upstream.wait()

    def upstream_events(self, kind=None):
        if not os.path.exists(self.upstream_log):
            return []
        # A line read while the server writes it is read again: in a
        # rare run one came back torn.  One that stays unreadable
        # is a failure.
        for attempt in range(5):
            with open(self.upstream_log, newline="\n") as f:
                lines = [line for line in f if line.endswith("\n")]
            try:
                events = [json.loads(line) for line in lines]
                return [e for e in events if kind is None or e["event"] == kind]
            except json.JSONDecodeError:
                time.sleep(0.2)
        bad = [line for line in lines if not line.lstrip().startswith("{")]
        raise AssertionError("the outgoing server's log has a line that is not an event: %r" % bad[:1])

    # ---- the relay
    def start_relay(self, *extra, retry_base=1, retry_max=2, upstream_port=None, server_args=None, env=None,
                    listen=("127.0.0.1:0",)):
        self.relay_port = None
        if server_args is None:
            server_args = ["--spool", self.spool,
                           "--server", "localhost", "--port", str(upstream_port or self.upstream_port),
                           "--security", "starttls", "--user", USER, "--password-file", self.password_file,
                           "--ca-file", os.path.join(self.certs, "ca.pem")]
        args = ([CLI, "relay"] + [arg for address in listen for arg in ("--listen", address)] + server_args
                + ["--retry-base", str(retry_base), "--retry-max", str(retry_max)] + list(extra))
        if os.path.exists(self.relay_out):
            os.rename(self.relay_out, self.relay_out + ".%d" % time.monotonic_ns())
        out = open(self.relay_out, "a")
        self.relay = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.procs.append(self.relay)
        wait_for("the relay to listen", self.relay_listening, 20)

    def relay_listening(self):
        if self.relay.poll() is not None:
            raise AssertionError("the relay exited with %d:\n%s" % (self.relay.returncode, self.relay_log()))
        ports = re.findall(r"Listening for mail on 127\.0\.0\.1 port (\d+)", self.relay_log())
        if not ports:
            return False
        self.relay_port = int(ports[-1])
        try:
            with socket.create_connection(("127.0.0.1", self.relay_port), timeout=1) as s:
                s.recv(100)
            return True
        except OSError:
            return False

    def relay_log(self):
        with open(self.relay_out, errors="replace") as f:
            return f.read()

    def stop_relay(self, sig=signal.SIGTERM, timeout=20):
        self.relay.send_signal(sig)
        try:
            return self.relay.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.relay.kill()
            raise AssertionError("the relay did not stop on signal %d" % sig)

    def queue_list(self):
        result = subprocess.run([CLI, "queue", "list", "--spool", self.spool], capture_output=True,
                                text=True, timeout=30)
        return result.returncode, result.stdout + result.stderr

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def message(mid, to, body="Hello from a test.\r\n"):
    return ("From: device@example.test\r\nTo: %s\r\nSubject: relay test\r\nMessage-ID: %s\r\n\r\n%s"
            % (", ".join(to), mid, body))


def new_id():
    return "<%s@relay.test>" % uuid.uuid4().hex


def smtplib_send(env, count, to=("someone@example.test",), session=None):
    ids = []
    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        for _ in range(count):
            mid = new_id()
            s.sendmail("device@example.test", list(to), message(mid, to))
            ids.append(mid)
    return ids


def recipient_for(mid):
    return "to-%s@example.test" % mid.strip("<>").split("@")[0]


def send_until_gone(env, n, accepted, lock, large_every=0):
    """Sends up to n messages over one connection, each to an address of its
    own (recipient_for), one in large_every over 64 KB; adds the ID of each
    the relay accepted to accepted.  Stops quietly when the relay is gone."""
    try:
        with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30 * SLOW) as s:
            for i in range(n):
                mid = new_id()
                to = [recipient_for(mid)]
                large = large_every and i % large_every == 0
                body = ("x" * 998 + "\r\n") * 100 if large else "Hello from a test.\r\n"
                s.sendmail("device@example.test", to, message(mid, to, body))
                with lock:
                    accepted.append(mid)
    except (smtplib.SMTPException, OSError):
        pass  # the relay was killed, or lost its power, under us


def delivered_ids(env):
    return [e["message_id"] for e in env.upstream_events("message")]


def check_no_secret(env):
    text = env.relay_log()
    assert PASSWORD not in text, "the password appears in the relay's output"


# ---- scenarios ---------------------------------------------------------------

def scenario_clients(env):
    """swaks, smtplib and curl through the relay to a STARTTLS + AUTH server;
    the pool reuses its connections."""
    env.start_upstream()
    env.start_relay()
    ids = []
    mid = new_id()
    subprocess.run(["swaks", "--server", "127.0.0.1:%d" % env.relay_port, "--from", "swaks@example.test",
                    "--to", "a@example.test", "--header", "Message-Id: " + mid, "--timeout", "20"],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)
    ids.append(mid)
    mid = new_id()
    mail = os.path.join(env.dir, "curl.eml")
    with open(mail, "w") as f:
        f.write(message(mid, ["b@example.test"]).replace("\r\n", "\n"))
    subprocess.run(["curl", "-sS", "--max-time", "30", "smtp://127.0.0.1:%d" % env.relay_port,
                    "--mail-from", "curl@example.test", "--mail-rcpt", "b@example.test", "-T", mail],
                   check=True, timeout=60)
    ids.append(mid)
    ids += smtplib_send(env, 40)
    wait_for("every message upstream", lambda: set(ids) <= set(delivered_ids(env)))
    events = env.upstream_events("message")
    assert all(e["tls"] and e["authenticated"] for e in events), "a message went upstream without TLS or AUTH"
    connects = len(env.upstream_events("connect"))
    log("upstream connections: %d for %d messages" % (connects, len(ids)))
    assert connects < len(ids), "the relay did not reuse its upstream connections"
    assert env.stop_relay() == 0
    code, listing = env.queue_list()
    assert code == 0, listing
    assert "example.test" not in listing, "delivered messages remain in the queue:\n" + listing
    check_no_secret(env)
    assert re.search(r"Forwarded message", env.relay_log()), env.relay_log()


def scenario_load(env):
    """1,000 messages from smtp-source over 10 sessions all arrive."""
    env.start_upstream()
    env.start_relay()
    subprocess.run(["smtp-source", "-c", "-m", "1000", "-s", "10", "-l", "2000", "-f", "load@example.test",
                    "-t", "sink@example.test", "127.0.0.1:%d" % env.relay_port],
                   check=True, stdout=subprocess.DEVNULL, timeout=120 * SLOW)
    wait_for("1,000 messages upstream", lambda: len(env.upstream_events("message")) >= 1000, 60)
    time.sleep(0.5)
    assert len(env.upstream_events("message")) == 1000, len(env.upstream_events("message"))
    assert env.stop_relay() == 0
    check_no_secret(env)


def scenario_kill(env):
    """kill -9 in the middle of 1,000 messages, then a restart: every message
    that got a 250 is delivered (duplicates are allowed: at least once)."""
    env.start_upstream()
    env.start_relay()
    accepted = []
    lock = threading.Lock()

    def sender(n):
        send_until_gone(env, n, accepted, lock)

    threads = [threading.Thread(target=sender, args=(250,)) for _ in range(4)]
    for t in threads:
        t.start()
    wait_for("400 messages accepted", lambda: len(accepted) >= 400, 60)
    env.relay.send_signal(signal.SIGKILL)
    env.relay.wait()
    for t in threads:
        t.join(60)
    before = len(accepted)
    log("accepted before the kill: %d" % before)
    env.start_relay()
    remaining = 1000 - before
    threads = [threading.Thread(target=sender, args=(remaining // 4 + (1 if i < remaining % 4 else 0),))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(accepted) == 1000, len(accepted)
    wait_for("every accepted message upstream", lambda: set(accepted) <= set(delivered_ids(env)), 60)
    got = delivered_ids(env)
    duplicates = len(got) - len(set(got))
    extra = len(set(got) - set(accepted))
    log("INFO: %d delivered, %d duplicates, %d delivered without a 250 reaching the client"
        % (len(got), duplicates, extra))
    assert env.stop_relay() == 0


def deferred_count(log):
    """How many messages the relay's log says it put back in the queue: one
    line each, or one line for many put back together."""
    alone = len(re.findall(r"Could not forward message \S+ yet; trying again in \d+ s: ", log))
    together = sum(int(n) for n in re.findall(r"Could not forward (\d+) messages yet; trying again in ", log))
    return alone + together


def scenario_down_then_up(env):
    """The outgoing server is down for a while, then up: the queue drains.
    Messages put back together are told in one line, not one each."""
    port = free_port()
    env.start_relay(upstream_port=port, retry_base=600, retry_max=600)
    ids = smtplib_send(env, 5)
    wait_for("five deferrals", lambda: deferred_count(env.relay_log()) >= 5, 30)
    assert env.stop_relay() == 0
    # All five due at once when the relay starts with the server still down:
    # one try, one line for the five.
    result = subprocess.run([CLI, "queue", "retry", "--all", "--spool", env.spool], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    env.start_relay(upstream_port=port)
    wait_for("the five put back together", lambda: deferred_count(env.relay_log()) >= 5, 30)
    log_text = env.relay_log()
    assert re.search(r"Could not forward 5 messages yet; trying again in \d+( to \d+)? s: The server localhost "
                     r"refused the connection on port %d\." % port, log_text), log_text
    assert "Could not forward message " not in log_text, log_text
    code, listing = env.queue_list()
    assert code == 0, listing
    assert listing.count("relay.test") >= 5 or listing.count("device@example.test") >= 5 or len(
        [l for l in listing.splitlines() if "queued" in l.lower() or "waiting" in l.lower()]) >= 5, listing
    # The queue says why they all wait, above them.
    assert ("\nCannot reach the outgoing server: The server localhost refused the connection on port %d. "
            "Messages wait in the queue until it can be reached.\n" % port) in listing, listing
    # A message due now waits for the server too: not "as soon as possible".
    assert "as soon as possible" not in listing, listing
    env.start_upstream(port=port)
    wait_for("the queue to drain", lambda: set(ids) <= set(delivered_ids(env)), 40)
    code, listing = env.queue_list()
    assert code == 0 and "Cannot reach" not in listing, listing
    assert env.stop_relay() == 0
    check_no_secret(env)


def scenario_retry_now(env):
    """A message waiting for a distant retry goes at once when the user asks
    from the command line (`queue retry --all`) while the relay runs."""
    port = free_port()
    env.start_relay(upstream_port=port, retry_base=600, retry_max=600)
    ids = smtplib_send(env, 2)
    wait_for("two deferrals", lambda: deferred_count(env.relay_log()) >= 2, 30)
    # One more, due at once, while the relay waits a few seconds before it
    # tries the server again: the list says it waits for that, not that it
    # goes "as soon as possible".
    ids += smtplib_send(env, 1)
    code, listing = env.queue_list()
    assert code == 0, listing
    assert "as soon as possible" not in listing, listing
    assert ("Next try:    as soon as the relay can send again (see above)" in listing
            or listing.count("Next try:    in 10 minutes") == 3), listing
    env.start_upstream(port=port)
    time.sleep(1)
    assert not delivered_ids(env), "sent before the retry time without being asked"
    result = subprocess.run([CLI, "queue", "retry", "--all", "--spool", env.spool], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for("delivery after retry-now", lambda: set(ids) <= set(delivered_ids(env)), 30)
    assert env.stop_relay() == 0


def scenario_password_changed(env):
    """The outgoing server refuses the relay: first its certificate is not
    trusted, then the password is wrong.  The queue says which, and what to
    do (not "Cannot reach", which sends the user to check the network), the
    log marks it as a warning-worthy line, and once the password file holds
    the right password the relay takes it by itself and sends what waited,
    without a restart and without waiting out the retry delay."""
    wrong = "wrong-Pa55word-7"
    password_file = os.path.join(env.dir, "changing-password")

    def write_password(password):
        # As an editor saves: a new file renamed over the old one.
        with open(password_file + ".new", "w") as f:
            f.write(password + "\n")
        os.chmod(password_file + ".new", 0o600)
        os.rename(password_file + ".new", password_file)

    def waiting_note():
        code, listing = env.queue_list()
        assert code == 0, listing
        return listing.splitlines()[1] if len(listing.splitlines()) > 1 else ""

    write_password(wrong)
    env.start_upstream()
    server_args = ["--spool", env.spool, "--server", "localhost", "--port", str(env.upstream_port),
                   "--security", "starttls", "--user", USER, "--password-file", password_file]

    env.start_relay(server_args=server_args, retry_base=600, retry_max=600)
    ids = smtplib_send(env, 2)
    wait_for("the certificate refused", lambda: "Cannot make a secure connection" in waiting_note(), 30)
    note = waiting_note()
    assert note.startswith("Cannot make a secure connection to the outgoing server: "), note
    assert note.endswith(" Messages wait in the queue; the relay tries again by itself."), note
    assert "Cannot reach" not in note, note
    assert env.stop_relay() == 0

    env.start_relay(server_args=server_args + ["--ca-file", os.path.join(env.certs, "ca.pem")],
                    retry_base=600, retry_max=600)
    smtplib_send(env, 1)
    wait_for("the sign-in refused", lambda: "did not let Postgate sign in" in waiting_note(), 30)
    note = waiting_note()
    assert note.startswith("The outgoing server did not let Postgate sign in: The username or password is "
                           "wrong. (the server said: 535 "), note
    assert note.endswith(" Check the username and password your mail provider gives for sending mail (SMTP). "
                         "Messages wait in the queue; the relay tries again by itself, and at once when the "
                         "password is corrected."), note
    time.sleep(1)
    assert not delivered_ids(env), "sent with a refused password"

    write_password(PASSWORD)
    wait_for("the waiting messages sent with the corrected password",
             lambda: len(set(delivered_ids(env))) == 3 and set(ids) <= set(delivered_ids(env)), 30)
    text = env.relay_log()
    assert "The password for the outgoing server has changed; trying it now" in text, text
    assert "did not let Postgate sign in" not in waiting_note(), waiting_note()
    assert env.stop_relay() == 0
    assert wrong not in text, "the wrong password appears in the relay's output"
    check_no_secret(env)


def scenario_upstream_check(env):
    """With nothing to send, the relay checks the outgoing server when it
    starts: a refused password shows at once (not at a device's first
    message), a working one as "Connected", on a connection the first
    message then takes; a server out of reach at start (a relay started
    before the network) is tried again until it answers."""
    wrong = os.path.join(env.dir, "wrong-password")
    with open(wrong, "w") as f:
        f.write("not-the-Password-1\n")
    os.chmod(wrong, 0o600)
    env.start_upstream()

    def server_args(password_file, port=None):
        return ["--spool", env.spool, "--server", "localhost", "--port", str(port or env.upstream_port),
                "--security", "starttls", "--user", USER, "--password-file", password_file,
                "--ca-file", os.path.join(env.certs, "ca.pem")]

    env.start_relay(server_args=server_args(wrong))
    wait_for("the refused sign-in at start", lambda: "did not let Postgate sign in" in env.relay_log(), 30)
    code, listing = env.queue_list()
    assert "\nThe outgoing server did not let Postgate sign in: " in listing, listing
    assert env.stop_relay() == 0

    env.start_relay(server_args=server_args(env.password_file))
    wait_for("the check at start", lambda: "Connected to the outgoing server localhost" in env.relay_log(), 30)
    assert not env.upstream_events("message")
    connects = len(env.upstream_events("connect"))
    ids = smtplib_send(env, 1)
    wait_for("the message upstream", lambda: set(ids) <= set(delivered_ids(env)), 30)
    assert len(env.upstream_events("connect")) == connects, "the checked connection was not used"
    assert env.stop_relay() == 0

    # The server out of reach at start, then up: found without any message.
    port = free_port()
    env.start_relay(server_args=server_args(env.password_file, port))
    wait_for("the server out of reach at start", lambda: "Cannot reach the outgoing server" in env.relay_log(), 30)
    env.stop_upstream()
    env.start_upstream(port=port)
    wait_for("the server found once up", lambda: "Connected to the outgoing server" in env.relay_log(), 30)
    assert env.stop_relay() == 0
    check_no_secret(env)


def scenario_profile(env):
    """--profile: the outgoing server, the default queue folder and the
    sender rewrite come from a stored profile."""
    env.start_upstream()
    home = dict(os.environ, XDG_CONFIG_HOME=os.path.join(env.dir, "config"),
                XDG_DATA_HOME=os.path.join(env.dir, "data"))
    home.pop("DBUS_SESSION_BUS_ADDRESS", None)
    result = subprocess.run([CLI, "profile", "add", "Office", "--server", "localhost",
                             "--port", str(env.upstream_port), "--security", "starttls", "--user", USER,
                             "--ca-file", os.path.join(env.certs, "ca.pem"), "--from", "office@example.test",
                             "--rewrite-sender=yes"],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 0, result.stdout + result.stderr
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file], env=home)
    [mid] = smtplib_send(env, 1)
    wait_for("the message upstream", lambda: mid in delivered_ids(env))
    [event] = [e for e in env.upstream_events("message") if e["message_id"] == mid]
    assert event["sender"] == "office@example.test", event
    spools = os.listdir(os.path.join(env.dir, "data", "postgate", "spool"))
    assert len(spools) == 1, spools
    assert env.stop_relay() == 0
    check_no_secret(env)

    # Devices signing in, with the profile's password beside theirs: each
    # keeps its own (an empty password must not let a device in).
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file, "--starttls",
                                 "--device-user", "scanner", "--device-password-file", device_password_file(env),
                                 "--require-sign-in"], env=home)
    for wrong in ("", PASSWORD):
        with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
            s.starttls()
            try:
                s.login("scanner", wrong)
                raise AssertionError("the password %r let a device sign in" % wrong)
            except smtplib.SMTPAuthenticationError as e:
                assert e.smtp_code == 535, e
    mid = new_id()
    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        s.starttls()
        s.login("scanner", DEVICE_PASSWORD)
        s.sendmail("device@example.test", ["a@example.test"], message(mid, ["a@example.test"]))
    wait_for("the signed-in device's message upstream", lambda: mid in delivered_ids(env))
    assert env.stop_relay() == 0
    check_no_secret(env)

    # Where the relay listens and which devices it lets in, kept in the
    # profile: a device at 127.0.0.7 gets in, one at 127.0.0.5 does not,
    # and this computer (127.0.0.1) still does.
    def profile_cli(*args):
        return subprocess.run([CLI, "profile"] + list(args), capture_output=True, text=True, timeout=30, env=home)

    for bad, words in ((["--relay-listen", "localhost:2525"], "not an address and port to listen on"),
                       (["--relay-allow", "0.0.0.0/0"], "would let anyone send mail"),
                       (["--relay-allow", "192.168.1.0/33"], "not an address range"),
                       (["--relay-starttls", "maybe"], "Give --relay-starttls yes or --relay-starttls no."),
                       (["--relay-device-user", "scanner"], "Devices sign in with both --relay-device-user"),
                       (["--relay-require-sign-in", "yes"], "need --relay-device-user"),
                       (["--relay-device-user", "scanner", "--relay-device-password-file", device_password_file(env)],
                        "Devices can sign in only over a secured connection: add --relay-starttls yes"),
                       (["--relay-connections", "41"], "--relay-connections takes a number from 1 to 40."),
                       (["--relay-rate", "-5"], "--relay-rate takes a number of messages an hour")):
        result = profile_cli("edit", "Office", *bad)
        assert result.returncode != 0 and words in result.stderr, (bad, result.stdout + result.stderr)
    port = free_port()
    result = profile_cli("edit", "Office", "--relay-listen", "127.0.0.1:%d" % port,
                         "--relay-allow", "127.0.0.7/32", "--relay-allow", "127.0.0.7/32",
                         "--relay-connections", "2", "--relay-rate", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = profile_cli("show", "Office").stdout
    assert "Relay takes mail on: 127.0.0.1:%d\n" % port in shown, shown
    assert "Relay takes mail from: this computer and 127.0.0.7/32\n" in shown, shown
    assert "Relay’s connections to the outgoing server at most: 2\n" in shown, shown
    assert "Relay’s messages an hour at most: 120\n" in shown, shown
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file], env=home, listen=())
    assert env.relay_port == port, env.relay_log()
    assert "Devices in 127.0.0.7/32 may send mail through the relay too" in env.relay_log(), env.relay_log()
    mids = []
    for source in ("127.0.0.7", "127.0.0.1"):
        mids.append(new_id())
        with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0)) as s:
            s.sendmail("device@example.test", ["a@example.test"], message(mids[-1], ["a@example.test"]))
    try:
        smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=("127.0.0.5", 0)).quit()
        raise AssertionError("a device at 127.0.0.5 was let in")
    except smtplib.SMTPConnectError as e:
        assert e.smtp_code == 554, e
    wait_for("the devices' messages upstream", lambda: set(mids) <= set(delivered_ids(env)))
    assert "Refused a connection from 127.0.0.5" in env.relay_log(), env.relay_log()
    # The profile's hourly limit: 120 an hour lets 2 go at once, holds the rest back.
    held = smtplib_send(env, 4)
    wait_for("the relay to say it holds mail back",
             lambda: "Holding mail back to keep to the limit of 120 messages an hour" in env.relay_log(), 30)
    assert not set(held) <= set(delivered_ids(env)), "the profile's hourly limit held nothing back"
    assert env.stop_relay() == 0
    # What is given on the command line wins over the profile.
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file,
                                 "--allow", "127.0.0.9/32"], env=home)
    assert env.relay_port != port, env.relay_log()
    try:
        smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30, source_address=("127.0.0.7", 0)).quit()
        raise AssertionError("--allow did not replace the profile's ranges")
    except smtplib.SMTPConnectError as e:
        assert e.smtp_code == 554, e
    assert env.stop_relay() == 0
    # A certificate of the user's own for devices, kept in the profile and
    # checked when given: the relay offers it with STARTTLS.
    cert, key = os.path.join(env.certs, "localhost.pem"), os.path.join(env.certs, "localhost.key")
    for bad, words in ((["--relay-tls-key", key], "--relay-tls-key goes with --relay-tls-cert."),
                       (["--relay-tls-cert", key], "The certificate “%s” cannot be used" % key),
                       (["--relay-tls-cert", cert, "--relay-tls-key", os.path.join(env.certs, "ca.key")],
                        "does not belong to the certificate"),
                       (["--relay-tls-cert", cert, "--relay-starttls", "no"],
                        "With --relay-starttls no, a certificate serves only the addresses secured from the "
                        "start: add --relay-listen-tls, or leave out one of the two.")):
        result = profile_cli("edit", "Office", *bad)
        assert result.returncode != 0 and words in result.stderr, (bad, result.stdout + result.stderr)
    result = profile_cli("edit", "Office", "--relay-tls-cert", cert, "--relay-tls-key", key)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = profile_cli("show", "Office").stdout
    assert "Devices may secure their connection (STARTTLS): yes\n" in shown, shown
    assert "Certificate offered to devices: %s\n" % cert in shown and "Its private key: %s\n" % key in shown, shown
    # (--rate 0: the messages held back above must not hold this one.)
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file, "--rate", "0"],
                    env=home, listen=())
    fingerprint = openssl_fingerprint(cert)
    assert "SHA-256 fingerprint " + fingerprint in env.relay_log(), env.relay_log()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.starttls(context=support.unverified_tls_context())
        assert support.served_fingerprint(s.sock) == fingerprint, "the relay offered another certificate"
        mid = new_id()
        s.sendmail("device@example.test", ["a@example.test"], message(mid, ["a@example.test"]))
    wait_for("the message sent over the profile's certificate upstream", lambda: mid in delivered_ids(env))
    assert env.stop_relay() == 0
    # Its key moved away since: the relay names the profile and stops.
    moved_key = os.path.join(env.dir, "relay.key")
    shutil.copy(key, moved_key)
    assert profile_cli("edit", "Office", "--relay-tls-key", moved_key).returncode == 0
    os.unlink(moved_key)
    result = subprocess.run([CLI, "relay", "--profile", "Office", "--password-file", env.password_file],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("The profile “Office” has a relay setting that cannot be used: The certificate “%s” cannot be used"
            % cert) in result.stderr, result.stdout + result.stderr
    # "" goes back to the certificate Postgate makes; --relay-starttls no
    # turns STARTTLS off, and the files with it.
    result = profile_cli("edit", "Office", "--relay-tls-cert", "")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = profile_cli("show", "Office").stdout
    assert "Certificate offered to devices: one Postgate makes\n" in shown and "Its private key" not in shown, shown
    result = profile_cli("edit", "Office", "--relay-tls-cert", cert, "--relay-tls-key", key)
    assert result.returncode == 0, result.stdout + result.stderr
    result = profile_cli("edit", "Office", "--relay-starttls", "no")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = profile_cli("show", "Office").stdout
    assert "Devices may secure their connection (STARTTLS): no\n" in shown, shown
    assert "Certificate offered to devices" not in shown, shown
    with open(os.path.join(env.dir, "config", "postgate", "profiles.ini")) as f:
        assert "relay-tls" not in f.read(), "the certificate's files stayed in the profile"
    # Cleared, the profile says what the relay then does.
    result = profile_cli("edit", "Office", "--relay-listen", "", "--relay-allow", "", "--relay-connections", "",
                         "--relay-rate", "")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = profile_cli("show", "Office").stdout
    assert "Relay’s connections to the outgoing server at most: 4 (the default)\n" in shown, shown
    assert "Relay’s messages an hour at most: 200000 (the default)\n" in shown, shown
    assert "Relay takes mail on: 127.0.0.1:2525 (the default: this computer only)\n" in shown, shown
    assert "Relay takes mail from: this computer only\n" in shown, shown
    # A profiles file edited by hand: the relay names the profile and stops.
    profiles = os.path.join(env.dir, "config", "postgate", "profiles.ini")
    with open(profiles, "a") as f:
        f.write("relay-listen=localhost:2525\n")
    result = subprocess.run([CLI, "relay", "--profile", "Office", "--password-file", env.password_file],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("The profile “Office” has a relay setting that cannot be used: “localhost:2525” is not an address "
            "and port to listen on") in result.stderr, result.stdout + result.stderr


def scenario_stop_in_flight(env):
    """SIGTERM while a message is being forwarded: the relay stops taking
    mail at once, lets the delivery finish, and exits cleanly."""
    env.start_upstream("--data-delay", "2")
    env.start_relay()
    [mid] = smtplib_send(env, 1)
    wait_for("the delivery to start", lambda: "Connected" in env.relay_log(), 20)
    time.sleep(0.3)
    env.relay.send_signal(signal.SIGTERM)
    assert env.relay.wait(30 * SLOW) == 0, env.relay_log()
    assert delivered_ids(env) == [mid], env.upstream_events()
    text = env.relay_log()
    assert "Stopping" in text and "Forwarded message" in text, text
    assert text.index("Stopping") < text.index("Forwarded message"), "the delivery ended before the signal:\n" + text
    code, listing = env.queue_list()
    assert code == 0 and "device@example.test" not in listing, listing


def scenario_tempfail(env):
    """4xx at the end of DATA, then 250: delivered after a retry."""
    env.start_upstream("--tempfail-first", "1")
    env.start_relay()
    ids = smtplib_send(env, 3)
    wait_for("delivery after a retry", lambda: set(ids) <= set(delivered_ids(env)), 40)
    assert len(env.upstream_events("tempfail")) >= 3
    assert "trying again in" in env.relay_log(), env.relay_log()
    assert env.stop_relay() == 0


def scenario_rate(env):
    """More mail than the hourly cap lets out at once: the rest waits, goes out
    at the cap's pace, nothing is lost, and the log says why mail waits."""
    env.start_upstream()
    # 3,600 an hour: a minute's worth (60) at once, then one a second.
    env.start_relay("--rate", "3600")
    ids = smtplib_send(env, 70)
    wait_for("the relay to say it holds mail back", lambda: "Holding mail back" in env.relay_log(), 30)
    text = env.relay_log()
    assert "limit of 3600 messages an hour" in text and "about 60 a minute" in text, text
    code, listing = env.queue_list()
    assert code == 0 and " 0 failed" in listing, listing
    # The listing, another process, tells why they wait.
    assert "Holding mail back to keep to the limit of 3600 messages an hour" in listing, listing
    wait_for("every message", lambda: set(ids) <= set(delivered_ids(env)), 60 * SLOW)
    wait_for("the relay to say the cap holds nothing back",
             lambda: "holds no mail back any more" in env.relay_log(), 20 * SLOW)
    text = env.relay_log()
    assert text.count("Holding mail back") == 1 and text.count("holds no mail back") == 1, text
    code, listing = env.queue_list()
    assert code == 0 and "Holding mail back" not in listing, listing
    # The cap itself: in no stretch of time did more go out than the bucket
    # held plus what it gained meanwhile (one a second); one message of slack
    # at each end for the time between taking a token and the server's reply.
    times = sorted(e["time"] for e in env.upstream_events("message") if e["message_id"] in ids)
    assert len(times) == len(ids), times
    for i in range(len(times)):
        for j in range(i, len(times)):
            allowed = 60 + (times[j] - times[i]) * 1.0 + 2
            assert j - i + 1 <= allowed, "%d messages in %.2f s" % (j - i + 1, times[j] - times[i])
    assert times[-1] - times[0] >= 5, "the last %d messages were not held back" % (len(ids) - 60)
    assert env.stop_relay() == 0


def scenario_listen_errors(env):
    """A port another program holds, an address this computer does not have,
    a port below 1024 without the right to it: the relay does not start, and
    says what to do in plain words."""
    def relay(listen, user=None, spool=env.spool):
        args = [CLI, "relay", "--listen", listen, "--spool", spool, "--server", "127.0.0.1", "--port", "9",
                "--security", "none"]
        if user is not None:
            args = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + args
        result = subprocess.run(args, capture_output=True, text=True, timeout=30 * SLOW)
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
        return result.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = relay("127.0.0.1:%d" % port)
        assert "Another program already takes mail on port %d of 127.0.0.1" % port in text, text
    # TEST-NET-1: never an address of this computer.
    text = relay("192.0.2.7:%d" % free_port())
    assert "This computer has no address 192.0.2.7" in text, text
    # As root, the same as an ordinary user (nobody), with a queue folder of its own.
    # (Where the system lets everyone use low ports, the case cannot arise.)
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 25:
            return
    if os.geteuid() == 0:
        shared = tempfile.mkdtemp(prefix="postgate-nobody-")
        try:
            os.chmod(shared, 0o777)
            text = relay("127.0.0.1:25", user=65534, spool=os.path.join(shared, "spool"))
        finally:
            shutil.rmtree(shared, ignore_errors=True)
    else:
        text = relay("127.0.0.1:25")
    assert "Only the administrator may use ports below 1024, such as 25" in text, text


def scenario_listen_network(env):
    """Listening on every address with no range allowed: the relay says at
    start that only this computer may send, and a device's address range
    given with --allow silences it.  Run in a network namespace of its own
    (tests/servers/in-own-network.sh): 0.0.0.0 there is loopback alone."""
    assert os.environ.get("POSTGATE_IN_OWN_NETWORK") == "1", "run this under tests/servers/in-own-network.sh"
    hint = "Only this computer may send through the relay for now"
    env.start_upstream()
    # Two addresses on the network (the second one of TEST-NET-1, given to
    # this namespace's loopback device): said once.
    subprocess.run(["ip", "address", "add", "192.0.2.1/32", "dev", "lo"], check=True, timeout=30)
    env.start_relay("--listen", "0.0.0.0:0", "--listen", "192.0.2.1:0")
    assert "Listening for mail on 0.0.0.0 port" in env.relay_log(), env.relay_log()
    assert "Listening for mail on 192.0.2.1 port" in env.relay_log(), env.relay_log()
    assert env.relay_log().count(hint) == 1, env.relay_log()
    assert env.stop_relay() == 0
    env.start_relay("--listen", "0.0.0.0:0", "--allow", "192.168.1.0/24")
    assert "Listening for mail on 0.0.0.0 port" in env.relay_log(), env.relay_log()
    assert hint not in env.relay_log(), env.relay_log()
    assert env.stop_relay() == 0
    # Loopback alone, as by default: nothing to say.
    env.start_relay()
    assert hint not in env.relay_log(), env.relay_log()
    assert env.stop_relay() == 0


def queue_cli(env, *args):
    result = subprocess.run([CLI, "queue"] + list(args) + ["--spool", env.spool], capture_output=True, text=True,
                            timeout=30)
    return result.returncode, result.stdout + result.stderr


def scenario_permanent(env):
    """5xx: the message fails with the server's reply, visible in the queue.
    Once the problem is solved, `queue retry --failed` sends every message
    that failed (and only those); `queue delete --failed` clears them."""
    env.start_upstream("--reject-data")
    env.start_relay()
    failed = smtplib_send(env, 3)
    wait_for("the failures", lambda: env.relay_log().count("stays in the queue as failed") == 3, 30)
    assert "554" in env.relay_log(), env.relay_log()
    assert env.stop_relay() == 0
    code, listing = env.queue_list()
    assert code == 0, listing
    assert "554" in listing, "the queue does not show the server's reply:\n" + listing
    assert len(env.upstream_events("rejected")) == 3, "a permanent failure was retried"
    # The next start says they are still there, and does not send them again.
    env.start_relay()
    wait_for("the start to mention the failed messages",
             lambda: "3 messages could not be sent and are kept in the queue" in env.relay_log(), 10)
    assert env.stop_relay() == 0
    assert len(env.upstream_events("rejected")) == 3, "a permanent failure was retried after a restart"

    # One more that only waits (its server out of reach for now).
    env.start_relay(upstream_port=free_port(), retry_base=600, retry_max=600)
    [waiting] = smtplib_send(env, 1)
    wait_for("the deferral", lambda: deferred_count(env.relay_log()) == 1, 30)
    assert env.stop_relay() == 0

    code, listing = queue_cli(env, "list", "--failed")
    assert code == 0 and "4 messages: 1 waiting, 0 being sent, 0 on hold, 3 failed" in listing, listing
    assert all("Message-ID:  %s" % mid in listing for mid in failed), listing
    assert waiting not in listing and listing.count("Reason:") == 3, listing
    for wrong in (["retry", "--all", "--failed"], ["hold", "--failed"], ["delete", "--all"],
                  ["delete", "0000", "--failed"]):
        code, output = queue_cli(env, *wrong)
        assert code == 2 and output.count("\n") == 1, (wrong, output)

    # The sender's domain verified, say: every failed message goes again.
    code, output = queue_cli(env, "retry", "--failed")
    assert code == 0 and "3 messages will be sent again now." in output, output
    code, listing = queue_cli(env, "list", "--failed")
    assert "4 messages: 4 waiting, 0 being sent, 0 on hold, 0 failed" in listing, listing
    assert "No message has failed." in listing and "Message-ID:" not in listing, listing
    env.stop_upstream()
    env.start_upstream(port=env.upstream_port)
    env.start_relay()
    wait_for("the three sent", lambda: set(failed) <= set(delivered_ids(env)), 30)
    assert waiting not in delivered_ids(env), "the one waiting for its time went early"

    # Refused for good again, and cleared from the queue without sending.
    env.stop_upstream()
    env.start_upstream("--reject-data", port=env.upstream_port)
    refused = smtplib_send(env, 2)
    wait_for("the new failures", lambda: env.relay_log().count("stays in the queue as failed") == 2, 30)
    code, output = queue_cli(env, "delete", "--failed")
    assert code == 0 and "2 messages that failed were deleted; they will not be sent." in output, output
    code, listing = env.queue_list()
    assert "1 message: 1 waiting, 0 being sent, 0 on hold, 0 failed" in listing, listing
    assert waiting in listing and not any(mid in listing for mid in refused), listing
    assert env.stop_relay() == 0


def scenario_recipients(env):
    """One recipient refused of three: the others are delivered once, the
    refused one fails with its reply; a recipient answered 4xx is retried
    alone."""
    env.start_upstream("--reject-rcpt", "bad@example.test", "--tempfail-rcpt-once", "busy@example.test")
    env.start_relay()
    [mid] = smtplib_send(env, 1, to=("a@example.test", "bad@example.test", "c@example.test"))
    [mid2] = smtplib_send(env, 1, to=("d@example.test", "busy@example.test"))
    wait_for("the refused recipient reported",
             lambda: ", recipient bad@example.test: The outgoing server refused" in env.relay_log(), 30)
    wait_for("the message failed for that recipient alone",
             lambda: re.search(r"stays in the queue as failed: The outgoing server refused some recipients, "
                               r"bad@example\.test \(550 [^)]*\); the others got the message", env.relay_log()), 30)
    wait_for("the busy recipient retried", lambda: [e for e in env.upstream_events("message")
                                                   if "busy@example.test" in e["rcpts"]], 30)
    events = env.upstream_events("message")
    first = [e for e in events if e["message_id"] == mid]
    assert len(first) == 1 and sorted(first[0]["rcpts"]) == ["a@example.test", "c@example.test"], first
    second = [e["rcpts"] for e in events if e["message_id"] == mid2]
    assert second == [["d@example.test"], ["busy@example.test"]], second
    assert env.stop_relay() == 0
    code, listing = env.queue_list()
    assert code == 0, listing
    assert "bad@example.test" in listing and "550" in listing, listing
    assert "the others got the message" in listing, listing
    assert "busy@example.test" not in listing, listing


def scenario_max_age(env):
    """Nothing reachable for longer than the maximum age: the message fails
    with a reason, and the relay keeps running."""
    port = free_port()
    env.start_relay("--max-age", "2", upstream_port=port)
    smtplib_send(env, 1)
    wait_for("the failure", lambda: "stays in the queue as failed" in env.relay_log(), 30)
    code, listing = env.queue_list()
    assert code == 0 and ("too long" in listing or "failed" in listing.lower()), listing
    assert env.relay.poll() is None
    assert env.stop_relay() == 0


def scenario_power_loss(env, at_next_overwrite=True):
    """A power cut in the middle of 300 messages (one in ten over 64 KB, which
    the relay writes as they come rather than in its batches), on a file
    system that keeps only what was synced (tests/servers/crashfs.py): after a
    restart on what the disk held, every message whose 250 reached its client
    before the cut is delivered, to its own recipient, a message put on hold
    stays on hold, and nothing is left in the queue that cannot be read.  The
    cut comes just after data is written over a kept file."""
    disk = os.path.join(env.dir, "disk")
    mount = os.path.join(env.dir, "mnt")
    after = os.path.join(env.dir, "after-power-cut")
    os.mkdir(disk)
    os.mkdir(mount)
    cut_done = os.path.join(env.dir, ".power-cut-done")
    # The file system unmounts itself before meson's time limit for the test
    # (120 s) would leave it behind.
    fs = subprocess.Popen([PYTHON, os.path.join(TESTS, "servers", "crashfs.py"), "--backing", disk,
                           "--after", after, "--time-limit", "110", mount]
                          + (["--at-next-overwrite"] if at_next_overwrite else []))
    env.procs.append(fs)
    try:
        wait_for("the crash-test file system", lambda: fs.poll() is None and os.path.ismount(mount), 15)
        # Folders the relay makes itself: their names must be synced too.
        env.spool = os.path.join(mount, "data", "spool")
        # While the outgoing server is down, one message is put on hold from
        # the command line: a user's decision must survive the cut as well.
        port = free_port()
        env.start_relay(upstream_port=port)
        held = smtplib_send(env, 1)[0]
        wait_for("a deferral", lambda: "trying again in" in env.relay_log(), 30)
        held_id = re.search(r"Accepted message (\S+)", env.relay_log()).group(1)
        result = subprocess.run([CLI, "queue", "hold", held_id, "--spool", env.spool], capture_output=True,
                                text=True, timeout=30 * SLOW)
        assert result.returncode == 0, result.stdout + result.stderr
        # A slow outgoing server: at the cut some messages are delivered
        # (and being removed), most still wait in the queue.
        env.start_upstream("--data-delay", "0.1", port=port)
        first = smtplib_send(env, 1)
        wait_for("the outgoing server back in use", lambda: set(first) <= set(delivered_ids(env)), 30)
        accepted = []
        lock = threading.Lock()

        def sender(n):
            send_until_gone(env, n, accepted, lock, large_every=10)

        threads = [threading.Thread(target=sender, args=(75,)) for _ in range(4)]
        for t in threads:
            t.start()
        # The property holds at any instant: the cut comes at a different one each run.
        cut_after = random.randint(40, 160)
        wait_for("%d messages accepted" % cut_after, lambda: len(accepted) >= cut_after, 90)
        with lock:
            must_survive = list(accepted)
        # At the next overwrite, the cut comes just after the next sync of
        # data written over a file's earlier data (the relay writes new
        # messages over the files of delivered ones), between a batch's data
        # and its names; otherwise at once.
        os.mkdir(os.path.join(mount, ".power-cut"))
        wait_for("the power cut", lambda: os.path.isdir(cut_done), 30)
        env.relay.send_signal(signal.SIGKILL)
        env.relay.wait()
        for t in threads:
            t.join(60)
    finally:
        if fs.poll() is None:
            fs.send_signal(signal.SIGINT)
            fs.wait(30)
    assert not os.path.ismount(mount), "the crash-test file system is still mounted"
    delivered_before = len(set(delivered_ids(env)))
    log("accepted before the power cut: %d; delivered by then: %d; kept by the disk: %s"
        % (len(must_survive), delivered_before, sorted(os.listdir(after)) if os.path.isdir(after) else "nothing"))

    env.spool = os.path.join(after, "data", "spool")
    assert os.path.isdir(env.spool), "the queue folder itself did not survive the power cut"
    env.start_relay()
    wait_for("every message accepted before the power cut upstream",
             lambda: set(must_survive) <= set(delivered_ids(env)), 60)
    got = delivered_ids(env)
    log("INFO: %d delivered in all, %d of them twice" % (len(got), len(got) - len(set(got))))
    # Each message went to an address of its own: one of them with another's
    # content would mean the queue mixed two messages up.
    for event in env.upstream_events("message"):
        if event["message_id"] != held and event["message_id"] not in first:
            assert event["rcpts"] == [recipient_for(event["message_id"])], \
                "message %s went to %s" % (event["message_id"], event["rcpts"])

    def drained():
        unreadable = [line for line in env.relay_log().splitlines() if "unreadable" in line]
        assert not unreadable, "after the power cut the queue holds a message it cannot read: " + unreadable[0]
        return {n for n in os.listdir(env.spool) if n.endswith(".env")} <= {held_id + ".env"}

    wait_for("the queue to drain but for the message on hold", drained, 30)
    assert held not in delivered_ids(env), "the message put on hold before the power cut was sent"
    assert env.stop_relay() == 0
    text = env.relay_log()
    assert "will not be sent" not in text and "unreadable" not in text, text
    code, listing = env.queue_list()
    assert code == 0, listing
    assert "1 message: 0 waiting, 0 being sent, 1 on hold, 0 failed" in listing, listing


def scenario_power_loss_anytime(env):
    """The same, with the power cut at whatever instant it is asked for."""
    scenario_power_loss(env, at_next_overwrite=False)


DEVICE_PASSWORD = "Device-Pa55-word"


def device_password_file(env):
    path = os.path.join(env.dir, "device-password")
    with open(path, "w") as f:
        f.write(DEVICE_PASSWORD + "\n")
    os.chmod(path, 0o600)
    return path


def printed_fingerprint(text):
    """The certificate fingerprint the relay's start printed."""
    return re.search(r"SHA-256 fingerprint ([0-9A-F:]+)", text).group(1)


def openssl_fingerprint(cert):
    """The SHA-256 fingerprint of a PEM certificate, by OpenSSL (AB:CD:…)."""
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def curl_send(env, mid, *tls_args):
    """curl over STARTTLS (required) with AUTH, checking the relay's
    certificate for the name localhost as curl does."""
    mail = os.path.join(env.dir, "curl-%s.eml" % uuid.uuid4().hex)
    with open(mail, "w") as f:
        f.write(message(mid, ["b@example.test"]))
    return subprocess.run(["curl", "-sS", "--max-time", "30", "smtp://localhost:%d" % env.relay_port, "--ssl-reqd",
                           "--user", "scanner:" + DEVICE_PASSWORD, "--mail-from", "curl@example.test",
                           "--mail-rcpt", "b@example.test", "-T", mail] + list(tls_args),
                          capture_output=True, text=True, timeout=60)


def scenario_device_sign_in(env):
    """--starttls with the certificate Postgate makes, and devices that must
    sign in: sign-in is offered only after STARTTLS; a device that does not
    sign in, or with a wrong password, is refused; swaks and curl (checking
    the certificate for localhost) get through; the fingerprint printed is
    the stored certificate's, the next start uses the same one, and one that
    has expired is made anew."""
    env.start_upstream()
    data = os.path.join(env.dir, "data")
    home = dict(os.environ, XDG_DATA_HOME=data)
    extra = ["--starttls", "--device-user", "scanner", "--device-password-file", device_password_file(env),
             "--require-sign-in"]
    env.start_relay(*extra, env=home)
    text = env.relay_log()
    cert = os.path.join(data, "postgate", "relay-cert.pem")
    assert "Made the relay's certificate for secure connections: " + cert in text, text
    assert os.stat(os.path.join(data, "postgate", "relay-key.pem")).st_mode & 0o077 == 0, "the key is not private"
    printed = printed_fingerprint(text)
    assert printed == openssl_fingerprint(cert), (printed, openssl_fingerprint(cert))
    assert "Devices must sign in as “scanner” to send mail" in text, text

    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        s.ehlo()
        assert s.has_extn("starttls") and not s.has_extn("auth"), s.esmtp_features
        code, reply = s.mail("device@example.test")
        assert code == 530, (code, reply)
        s.starttls()
        s.ehlo()
        assert s.has_extn("auth"), s.esmtp_features
        try:
            s.login("scanner", "not-the-password")
            raise AssertionError("a wrong password was taken")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535, e

    mid = new_id()
    result = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % env.relay_port, "--tls", "--auth", "LOGIN",
                             "--auth-user", "scanner", "--auth-password", DEVICE_PASSWORD,
                             "--from", "swaks@example.test", "--to", "a@example.test",
                             "--header", "Message-Id: " + mid, "--timeout", "20"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    mid2 = new_id()
    result = curl_send(env, mid2, "--cacert", cert)
    assert result.returncode == 0, "curl: " + result.stderr
    wait_for("both messages upstream", lambda: {mid, mid2} <= set(delivered_ids(env)))
    assert env.stop_relay() == 0
    assert DEVICE_PASSWORD not in env.relay_log(), "the devices' password appears in the relay's output"

    # The next start loads the same certificate.
    env.start_relay(*extra, env=home)
    text = env.relay_log()
    assert "Made the relay's certificate" not in text, text
    assert printed_fingerprint(text) == printed, text
    assert env.stop_relay() == 0

    # An expired one is of no use to any device: the start makes a new one.
    shutil.copy(os.path.join(env.certs, "expired.pem"), cert)
    shutil.copy(os.path.join(env.certs, "expired.key"), os.path.join(data, "postgate", "relay-key.pem"))
    env.start_relay(*extra, env=home)
    text = env.relay_log()
    assert "Made the relay's certificate for secure connections: " + cert in text, text
    renewed = printed_fingerprint(text)
    assert renewed == openssl_fingerprint(cert) and renewed != printed, (renewed, openssl_fingerprint(cert))
    mid3 = new_id()
    result = curl_send(env, mid3, "--cacert", cert)
    assert result.returncode == 0, "curl with the new certificate: " + result.stderr
    wait_for("the message upstream", lambda: mid3 in delivered_ids(env))
    assert env.stop_relay() == 0


def scenario_device_tls_on_connect(env):
    """Devices that offer only "SSL" (TLS from the first byte): the profile
    keeps where the relay takes such mail (--relay-listen-tls), with the
    certificate Postgate makes; smtplib's SMTP_SSL and curl's smtps:// sign
    in inside TLS, checking the fingerprint the start printed, and their mail
    goes upstream; the plain address keeps working without STARTTLS, also
    with a certificate of the user's own kept for the TLS address alone; the
    setting shows in `profile show` and "" clears it."""
    env.start_upstream()
    home = dict(os.environ, XDG_CONFIG_HOME=os.path.join(env.dir, "config"),
                XDG_DATA_HOME=os.path.join(env.dir, "data"))
    home.pop("DBUS_SESSION_BUS_ADDRESS", None)
    tls_port = free_port()
    result = subprocess.run([CLI, "profile", "add", "Office", "--server", "localhost",
                             "--port", str(env.upstream_port), "--security", "starttls", "--user", USER,
                             "--ca-file", os.path.join(env.certs, "ca.pem"),
                             "--relay-listen-tls", "127.0.0.1:%d" % tls_port],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 0, "exit %d\n%s%s" % (result.returncode, result.stdout, result.stderr)
    result = subprocess.run([CLI, "profile", "show", "Office"], capture_output=True, text=True, timeout=30, env=home)
    shown = "exit %d\n%s%s" % (result.returncode, result.stdout, result.stderr)
    for line in ("Relay takes mail secured from the start (TLS) on: 127.0.0.1:%d" % tls_port,
                 "Devices may secure their connection (STARTTLS): no",
                 "Certificate offered to devices: one Postgate makes"):
        assert "  %s\n" % line in shown, shown

    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file,
                                 "--device-user", "scanner", "--device-password-file", device_password_file(env),
                                 "--require-sign-in"], env=home)
    text = env.relay_log()
    assert "Listening for mail secured from the start (TLS) on 127.0.0.1 port %d" % tls_port in text, text
    assert "Devices connect secured from the start (TLS)" in text, text
    fingerprint = printed_fingerprint(text)

    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        s.ehlo()
        assert not s.has_extn("starttls") and not s.has_extn("auth"), s.esmtp_features
        assert s.mail("device@example.test")[0] == 530, "a device that did not sign in could send"

    mid = new_id()
    with smtplib.SMTP_SSL("127.0.0.1", tls_port, timeout=30, context=support.unverified_tls_context()) as s:
        seen = support.served_fingerprint(s.sock)
        assert seen == fingerprint, (seen, fingerprint)
        s.login("scanner", DEVICE_PASSWORD)
        s.sendmail("ssl@example.test", ["a@example.test"], message(mid, ["a@example.test"]))
    mid2 = new_id()
    mail = os.path.join(env.dir, "curl-ssl.eml")
    with open(mail, "w") as f:
        f.write(message(mid2, ["b@example.test"]))
    cert = os.path.join(env.dir, "data", "postgate", "relay-cert.pem")
    result = subprocess.run(["curl", "-sS", "--max-time", "30", "smtps://localhost:%d" % tls_port,
                             "--cacert", cert, "--user", "scanner:" + DEVICE_PASSWORD,
                             "--mail-from", "curl@example.test", "--mail-rcpt", "b@example.test", "-T", mail],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, "curl smtps://: " + result.stderr
    wait_for("both messages upstream", lambda: {mid, mid2} <= set(delivered_ids(env)))
    code = env.stop_relay()
    assert code == 0, "the relay ended with %s:\n%s" % (code, env.relay_log())
    assert DEVICE_PASSWORD not in env.relay_log(), "the devices' password appears in the relay's output"

    # A certificate of the user's own for the TLS address alone: STARTTLS
    # stays off on the plain one (a device that tries it whenever offered,
    # and fails, keeps sending there in clear).
    cert, key = os.path.join(env.certs, "localhost.pem"), os.path.join(env.certs, "localhost.key")
    result = subprocess.run([CLI, "profile", "edit", "Office", "--relay-tls-cert", cert, "--relay-tls-key", key,
                             "--relay-starttls", "no"], capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 0, "exit %d\n%s%s" % (result.returncode, result.stdout, result.stderr)
    result = subprocess.run([CLI, "profile", "show", "Office"], capture_output=True, text=True, timeout=30, env=home)
    for line in ("Devices may secure their connection (STARTTLS): no", "Certificate offered to devices: " + cert):
        assert "  %s\n" % line in result.stdout, result.stdout
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file], env=home)
    text = env.relay_log()
    assert "Devices connect secured from the start (TLS)" in text and "(STARTTLS)" not in text, text
    assert printed_fingerprint(text) == openssl_fingerprint(cert), text
    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        s.ehlo()
        assert not s.has_extn("starttls"), s.esmtp_features
    mid3 = new_id()
    with smtplib.SMTP_SSL("127.0.0.1", tls_port, timeout=30, context=support.unverified_tls_context()) as s:
        assert support.served_fingerprint(s.sock) == openssl_fingerprint(cert), "not the profile's certificate"
        s.sendmail("own-cert@example.test", ["c@example.test"], message(mid3, ["c@example.test"]))
    wait_for("the message over the user's certificate upstream", lambda: mid3 in delivered_ids(env))
    assert env.stop_relay() == 0
    # The relay's own options say the same with --no-starttls, which needs
    # a certificate to keep and an address secured from the start.
    for options, words in ((["--tls-cert", cert, "--tls-key", key, "--no-starttls", "--starttls"],
                            "Give either --starttls or --no-starttls, not both."),
                           (["--no-starttls"], "--no-starttls goes with --tls-cert and --listen-tls")):
        result = subprocess.run([CLI, "relay", "--profile", "Office", "--password-file", env.password_file,
                                 "--listen", "127.0.0.1:0"] + options, capture_output=True, text=True, timeout=30,
                                env=home)
        assert result.returncode == 2 and words in result.stderr, (options, result.stdout + result.stderr)
    env.start_relay(server_args=["--profile", "Office", "--password-file", env.password_file, "--tls-cert", cert,
                                 "--tls-key", key, "--no-starttls"], env=home)
    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        s.ehlo()
        assert not s.has_extn("starttls"), s.esmtp_features
    with smtplib.SMTP_SSL("127.0.0.1", tls_port, timeout=30, context=support.unverified_tls_context()) as s:
        assert support.served_fingerprint(s.sock) == openssl_fingerprint(cert), "not the given certificate"
    assert env.stop_relay() == 0

    result = subprocess.run([CLI, "profile", "edit", "Office", "--relay-listen-tls", ""],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 0, "exit %d\n%s%s" % (result.returncode, result.stdout, result.stderr)
    result = subprocess.run([CLI, "profile", "show", "Office"], capture_output=True, text=True, timeout=30, env=home)
    shown = "exit %d\n%s%s" % (result.returncode, result.stdout, result.stderr)
    assert "  Relay takes mail secured from the start (TLS) on: \u2014\n" in shown, shown
    # Sign-in would now never be offered: refused before anything listens.
    result = subprocess.run([CLI, "relay", "--profile", "Office", "--password-file", env.password_file,
                             "--listen", "127.0.0.1:0", "--device-user", "scanner",
                             "--device-password-file", device_password_file(env)],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 2 and "--listen-tls" in result.stderr, "exit %d\n%s%s" % (
        result.returncode, result.stdout, result.stderr)


def scenario_device_options(env):
    """A certificate of the user's own (--tls-cert/--tls-key), sign-in
    allowed without TLS for old devices, and the options that do not go
    together, each refused with a sentence saying what to add; a key that is
    not the certificate's, or an expired certificate, refused at the start."""
    env.start_upstream()
    pw = device_password_file(env)
    for args, expected in [
        (["--device-user", "scanner"], "both --device-user NAME and --device-password-file FILE"),
        (["--require-sign-in"], "--require-sign-in and --allow-plain-sign-in need --device-user"),
        (["--tls-key", os.path.join(env.certs, "localhost.key")], "--tls-key goes with --tls-cert"),
        (["--device-user", "scanner", "--device-password-file", pw],
         "Devices can sign in only over a secured connection: add --starttls"),
    ]:
        result = subprocess.run([CLI, "relay", "--listen", "127.0.0.1:0", "--spool", env.spool,
                                 "--server", "localhost", "--port", str(env.upstream_port)] + args,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and expected in result.stderr, (args, result.returncode, result.stderr)
    # Certificates that every device would refuse are refused at the start.
    for name, key, expected in [("localhost", "ca", "does not belong to the certificate"),
                                ("expired", "expired", "expired on ")]:
        result = subprocess.run([CLI, "relay", "--listen", "127.0.0.1:0", "--spool", env.spool,
                                 "--server", "localhost", "--port", str(env.upstream_port),
                                 "--tls-cert", os.path.join(env.certs, name + ".pem"),
                                 "--tls-key", os.path.join(env.certs, key + ".key")],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 1 and expected in result.stderr, (name, result.returncode, result.stderr)

    env.start_relay("--tls-cert", os.path.join(env.certs, "localhost.pem"),
                    "--tls-key", os.path.join(env.certs, "localhost.key"),
                    "--device-user", "scanner", "--device-password-file", pw, "--allow-plain-sign-in")
    text = env.relay_log()
    assert "Made the relay's certificate" not in text, text
    assert "SHA-256 fingerprint " + openssl_fingerprint(os.path.join(env.certs, "localhost.pem")) in text, text
    assert "Devices may sign in as “scanner”" in text and "without securing the connection" in text, text

    # An old device: sign-in offered, and taken, without TLS; not required.
    with smtplib.SMTP("127.0.0.1", env.relay_port, timeout=30) as s:
        s.ehlo()
        assert s.has_extn("auth") and s.has_extn("starttls"), s.esmtp_features
        s.login("scanner", DEVICE_PASSWORD)
        mid = new_id()
        s.sendmail("device@example.test", ["a@example.test"], message(mid, ["a@example.test"]))
    [mid2] = smtplib_send(env, 1)
    mid3 = new_id()
    result = curl_send(env, mid3, "--cacert", os.path.join(env.certs, "ca.pem"))
    assert result.returncode == 0, "curl: " + result.stderr
    wait_for("the three messages upstream", lambda: {mid, mid2, mid3} <= set(delivered_ids(env)))
    assert env.stop_relay() == 0
    assert DEVICE_PASSWORD not in env.relay_log(), "the devices' password appears in the relay's output"


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print("usage: %s {%s}" % (sys.argv[0], ",".join(sorted(SCENARIOS))), file=sys.stderr)
        return 2
    if sys.argv[1].startswith("power_loss") and os.geteuid() != 0 and not os.environ.get("POSTGATE_IN_USERNS"):
        # Mounting a FUSE file system takes root: that of a user namespace
        # of our own does.
        os.environ["POSTGATE_IN_USERNS"] = "1"
        os.execvp("unshare", ["unshare", "--user", "--map-root-user", "--mount", PYTHON] + sys.argv)
    env = Env()
    try:
        SCENARIOS[sys.argv[1]](env)
        log("PASS " + sys.argv[1])
        return 0
    except AssertionError as e:
        log("FAIL %s: %s" % (sys.argv[1], e))
        if env.relay is not None:
            log("---- relay output\n" + env.relay_log())
        return 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
