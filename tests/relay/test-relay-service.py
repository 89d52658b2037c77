#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The relay as the systemd user service Postgate installs
(data/postgate-relay@.service.in), run as systemd would run it.

  test-relay-service.py UNIT_FILE

The unit file is checked with `systemd-analyze verify`, then its ExecStart=
is run as it stands, for the profile "Front Office" (an instance name with
an escaped space), with its password in a real keyring (run this under
tests/profiles/with-keyring.sh) and standard output a stream the relay is
told is the journal (JOURNAL_STREAM, as systemd sets it).  It must listen
on its default 127.0.0.1:2525 (hence tests/servers/in-own-network.sh: a
network namespace of the test's own), forward mail through the profile
(and, once the profile says so, take mail only from devices signed in with
their password from the keyring), print lines without its own time stamps, mark a refused recipient and the
failed message as warnings ("<4>"), and stop cleanly on the unit's KillSignal.
A password the outgoing server refuses is a warning too, and the password
corrected in the keyring is taken without a restart.
An instance for a profile that does not exist must end at once, its error
marked as one ("<3>"); so must one whose password is no longer in the
keyring, with that said first as a warning.
"""

import importlib.util
import os
import re
import shlex
import signal
import smtplib
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("scenarios", os.path.join(HERE, "test-relay-scenarios.py"))
scenarios = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scenarios)

CLI = scenarios.CLI
PROFILE = "Front Office"
INSTANCE = r"Front\x20Office"  # systemd-escape "Front Office"
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


def read_unit(path):
    """The [Service] settings of the unit, as a dict of lists."""
    settings = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            settings.setdefault((section, key), []).append(value)
    return settings


def verify_unit(unit_path, workdir):
    """systemd-analyze verify, on a copy named as an instance and pointing at
    the postgate-cli of this build (verify checks the program exists)."""
    with open(unit_path) as f:
        text = f.read()
    exec_start = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
    assert exec_start.endswith("/postgate-cli"), exec_start
    copy = os.path.join(workdir, "postgate-relay@%s.service" % INSTANCE)
    with open(copy, "w") as f:
        f.write(text.replace(exec_start, CLI))
    result = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and copy not in output and "postgate-relay@" not in output, \
        "systemd-analyze verify:\n" + output


class Lines(threading.Thread):
    """Collects what the relay writes to its "journal" stream."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.file = os.fdopen(fd, "r", errors="replace")
        self.lines = []
        self.lock = threading.Lock()

    def run(self):
        for line in self.file:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def text(self):
        with self.lock:
            return "\n".join(self.lines)


def start_as_service(argv, instance, env, stdout):
    """As systemd starts the unit: %I the instance name, unescaped; standard
    output and error one stream, and JOURNAL_STREAM that stream's device and
    inode (for a pipe, read back from the child's end)."""
    if stdout == subprocess.PIPE:
        read_fd, write_fd = os.pipe()
    else:
        read_fd, write_fd = None, stdout
    st = os.fstat(write_fd)
    service_env = dict(env, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    args = [CLI] + [instance if a == "%I" else a for a in argv[1:]]
    proc = subprocess.Popen(args, stdout=write_fd, stderr=write_fd, env=service_env)
    os.close(write_fd)
    if read_fd is not None:
        proc.stdout = os.fdopen(read_fd, "rb")
    return proc


def start_listening(env, argv, home):
    """The service's relay, once it listens on its default 127.0.0.1:2525,
    and what it writes."""
    read_fd, write_fd = os.pipe()
    relay = start_as_service(argv, PROFILE, home, write_fd)
    env.procs.append(relay)
    lines = Lines(read_fd)
    lines.start()
    scenarios.wait_for("the relay to listen on 127.0.0.1:2525",
                       lambda: relay.poll() is not None or "Listening for mail on 127.0.0.1 port 2525" in lines.text(),
                       20)
    assert relay.poll() is None, "the service's relay exited:\n" + lines.text()
    return relay, lines


def stop(relay, lines, kill_signal, stop_timeout):
    try:
        relay.send_signal(kill_signal)
        assert relay.wait(stop_timeout) == 0, "the relay did not stop cleanly:\n" + lines.text()
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()
        lines.join(10)


def devices_sign_in(env, argv, home, kill_signal, stop_timeout):
    """How devices sign in, kept in the profile (their password in the
    keyring): the service offers STARTTLS and takes mail only from a device
    signed in with that password."""
    result = subprocess.run([CLI, "profile", "edit", PROFILE, "--relay-starttls", "yes",
                             "--relay-device-user", "scanner",
                             "--relay-device-password-file", scenarios.device_password_file(env),
                             "--relay-require-sign-in", "yes"],
                            capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = subprocess.run([CLI, "profile", "show", PROFILE], capture_output=True, text=True, timeout=30,
                           env=home).stdout
    for line in ("Devices may secure their connection (STARTTLS): yes", "Devices sign in as: scanner",
                 "Devices\u2019 password: saved in the keyring", "Devices must sign in: yes"):
        assert "  %s\n" % line in shown, shown
    assert scenarios.DEVICE_PASSWORD not in shown, shown

    relay, lines = start_listening(env, argv, home)
    try:
        mid = scenarios.new_id()
        with smtplib.SMTP("127.0.0.1", 2525, timeout=30) as s:
            s.starttls()
            try:
                s.sendmail("device@example.test", ["a@example.test"], scenarios.message(mid, ["a@example.test"]))
                raise AssertionError("a device that did not sign in could send")
            except smtplib.SMTPSenderRefused as e:
                assert e.smtp_code == 530, e
            s.login("scanner", scenarios.DEVICE_PASSWORD)
            s.sendmail("device@example.test", ["a@example.test"], scenarios.message(mid, ["a@example.test"]))
        scenarios.wait_for("the signed-in device's message upstream", lambda: mid in scenarios.delivered_ids(env))
        text = lines.text()
        assert "<4>" not in text and "<3>" not in text, text
        assert "Devices must sign in as \u201cscanner\u201d to send mail" in text, text
    finally:
        stop(relay, lines, kill_signal, stop_timeout)
    assert scenarios.DEVICE_PASSWORD not in lines.text(), "the devices' password appears in the relay's output"

    # The devices' password gone from the keyring, then never saved (a
    # profile imported or edited by hand): the instance ends at once and
    # says how to add it.
    cleared = subprocess.run(["secret-tool", "clear", "kind", "relay-password"], capture_output=True, text=True,
                             timeout=30)
    assert cleared.returncode == 0, cleared.stderr
    profiles = os.path.join(home["XDG_CONFIG_HOME"], "postgate", "profiles.ini")
    for words in ("The devices\u2019 password of the profile \u201c%s\u201d is no longer in the keyring" % PROFILE,
                  "The profile \u201c%s\u201d lets devices sign in, but their password is not saved" % PROFILE):
        output = start_as_service(argv, PROFILE, home, subprocess.PIPE)
        text = output.communicate(timeout=30)[0].decode()
        assert output.returncode == 1, text
        assert text.startswith("<3>The relay could not start: " + words), text
        assert "--relay-device-password-file FILE" in text, text
        with open(profiles) as f:
            settings = f.read()
        with open(profiles, "w") as f:
            f.write(settings.replace("has-relay-password=true", "has-relay-password=false"))


def edit_profile(home, *args, secret=None):
    result = subprocess.run([CLI, "profile", "edit", PROFILE] + list(args), capture_output=True, text=True,
                            timeout=30, env=home, input=None if secret is None else secret + "\n")
    assert result.returncode == 0, result.stdout + result.stderr


def sign_in_corrected(env, argv, home, kill_signal, stop_timeout, what, save_wrong, save_right):
    """The service started with a sign-in the outgoing server refuses: it says
    so as a warning, and once `profile edit` saves the right @what, the running
    service reads it again and sends what waited, without a restart and long
    before the message's own next try (a minute away)."""
    save_wrong()
    relay, lines = start_listening(env, argv, home)
    try:
        env.relay_port = 2525
        [mid] = scenarios.smtplib_send(env, 1)
        scenarios.wait_for("the refused sign-in in the output",
                           lambda: "<4>The outgoing server did not let Postgate sign in" in lines.text())
        assert mid not in scenarios.delivered_ids(env), "sent with a refused " + what
        save_right()
        scenarios.wait_for("the message sent with the corrected " + what,
                           lambda: mid in scenarios.delivered_ids(env), 30)
        announced = "The %s for the outgoing server has changed; trying it now" % what
        assert announced in lines.text(), lines.text()
    finally:
        stop(relay, lines, kill_signal, stop_timeout)
    return lines.text()


def password_corrected(env, argv, home, kill_signal, stop_timeout):
    """The password in the keyring changed at the provider: saved again with
    `profile edit --password-stdin`."""
    wrong = "changed-At-Provider-3"
    text = sign_in_corrected(env, argv, home, kill_signal, stop_timeout, "password",
                             lambda: edit_profile(home, "--password-stdin", secret=wrong),
                             lambda: edit_profile(home, "--password-stdin", secret=scenarios.PASSWORD))
    assert wrong not in text and scenarios.PASSWORD not in text, "a password appears in the relay's output"


def user_corrected(env, argv, home, kill_signal, stop_timeout):
    """A new SMTP user made at the provider: saved with `profile edit --user`;
    the service reads the profile again with the password."""
    text = sign_in_corrected(env, argv, home, kill_signal, stop_timeout, "user name",
                             lambda: edit_profile(home, "--user", "old-smtp-user"),
                             lambda: edit_profile(home, "--user", scenarios.USER))
    assert scenarios.PASSWORD not in text, "the password appears in the relay's output"


def run(env, unit_path):
    unit = read_unit(unit_path)
    verify_unit(unit_path, env.dir)

    [exec_start] = unit[("Service", "ExecStart")]
    argv = shlex.split(exec_start)
    assert argv[1:] == ["relay", "--profile", "%I"], argv
    kill_signal = SIGNALS[unit.get(("Service", "KillSignal"), ["SIGTERM"])[0]]
    stop_timeout = int(unit[("Service", "TimeoutStopSec")][0].rstrip("s"))

    env.start_upstream("--reject-rcpt", "bad@example.test")
    home = dict(os.environ, XDG_CONFIG_HOME=os.path.join(env.dir, "config"))
    result = subprocess.run([CLI, "profile", "add", PROFILE, "--server", "localhost",
                             "--port", str(env.upstream_port), "--security", "starttls", "--user", scenarios.USER,
                             "--ca-file", os.path.join(env.certs, "ca.pem"), "--from", "office@example.test",
                             "--rewrite-sender=yes", "--password-stdin"],
                            input=scenarios.PASSWORD + "\n", capture_output=True, text=True, timeout=30, env=home)
    assert result.returncode == 0, result.stdout + result.stderr

    # An instance for a profile that does not exist: the relay ends at once
    # with an error the journal files as one.
    output = start_as_service(argv, "Nobody", home, subprocess.PIPE)
    text = output.communicate(timeout=30)[0].decode()
    assert output.returncode != 0, text
    lines_out = text.splitlines()
    assert lines_out and all(line.startswith("<3>") for line in lines_out), text
    assert "Nobody" in text, text

    relay, lines = start_listening(env, argv, home)
    try:
        env.relay_port = 2525
        [mid] = scenarios.smtplib_send(env, 1)
        scenarios.wait_for("the message upstream", lambda: mid in scenarios.delivered_ids(env))
        [event] = [e for e in env.upstream_events("message") if e["message_id"] == mid]
        assert event["sender"] == "office@example.test", event
        scenarios.wait_for("the delivery in the output", lambda: "Forwarded message" in lines.text())

        with smtplib.SMTP("127.0.0.1", 2525, timeout=30) as s:
            s.sendmail("device@example.test", ["bad@example.test", "good@example.test"],
                       scenarios.message(scenarios.new_id(), ["bad@example.test", "good@example.test"]))
        scenarios.wait_for("the refused recipient in the output",
                           lambda: "stays in the queue as failed" in lines.text())

    finally:
        stop(relay, lines, kill_signal, stop_timeout)

    text = lines.text()
    stamped = [line for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line)]
    assert not stamped, "lines with the relay's own time stamp in the journal:\n" + "\n".join(stamped)
    [refused] = [line for line in text.splitlines() if "recipient bad@example.test" in line]
    assert re.match(r"<4>Message \S+, recipient bad@example.test: The outgoing server refused this recipient: 550 ",
                    refused), refused
    [failed] = [line for line in text.splitlines() if "stays in the queue as failed" in line]
    assert failed.startswith("<4>Message ") and failed.endswith("; the others got the message"), failed
    forwarded = [line for line in text.splitlines() if line.startswith("Forwarded message")]
    assert len(forwarded) == 1, text
    assert text.splitlines()[-1] == "Stopped", text
    assert scenarios.PASSWORD not in text, "the password appears in the relay's output"
    scenarios.log(text)

    password_corrected(env, argv, home, kill_signal, stop_timeout)
    user_corrected(env, argv, home, kill_signal, stop_timeout)
    devices_sign_in(env, argv, home, kill_signal, stop_timeout)

    # The password gone from the keyring (the user cleared it): the instance
    # ends at once, saying so as a warning, then why it cannot go on as an
    # error.
    cleared = subprocess.run(["secret-tool", "clear", "xdg:schema", "io.github.postgate.Postgate.Secret"],
                             capture_output=True, text=True, timeout=30)
    assert cleared.returncode == 0, cleared.stderr
    output = start_as_service(argv, PROFILE, home, subprocess.PIPE)
    text = output.communicate(timeout=30)[0].decode()
    assert output.returncode != 0, text
    lines_out = text.splitlines()
    assert len(lines_out) == 2, text
    assert lines_out[0] == "<4>The password of the profile \u201c%s\u201d is no longer in the keyring." % PROFILE, text
    assert lines_out[1].startswith("<3>A password is needed"), text


def main():
    if len(sys.argv) != 2:
        print("usage: %s UNIT_FILE" % sys.argv[0], file=sys.stderr)
        return 2
    env = scenarios.Env()
    try:
        run(env, sys.argv[1])
        scenarios.log("PASS relay-service")
        return 0
    except AssertionError as e:
        scenarios.log("FAIL relay-service: %s" % e)
        return 1
    finally:
        env.cleanup()


if __name__ == "__main__":
    sys.exit(main())
