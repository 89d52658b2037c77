#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""`postgate-cli profile …` end to end, against a real keyring (run through
with-keyring.sh): add, show, list, edit, duplicate, remove, export, import, damaged and
newer files, wrong permissions, two writers at once, no keyring, and a scan
that no file ever holds a password or API key."""

import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_helpers import CLI, Sandbox, assert_in, assert_not_in, assert_no_secret_in_files  # noqa: E402

PASSWORD = "Pr0file-Secret-7319"
API_KEY = "api-0123456789ABCDEF0123456789abcdef"
NO_BUS = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/postgate-test-bus"}


def secret_tool(*args):
    return subprocess.run(["secret-tool", *args], capture_output=True, text=True, timeout=30)


def profile_id(box, name):
    out = box.run("profile", "show", name).stdout
    for line in out.splitlines():
        if line.strip().startswith("Id:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no id in:\n{out}")


def let_devices_sign_in(box, profile, secret):
    """Devices' sign-in for the relay on @profile, their password @secret
    given through a private file."""
    path = os.path.join(box.root, "device-password")
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    box.run("profile", "edit", profile, "--relay-starttls", "yes", "--relay-device-user", "scanner",
            "--relay-device-password-file", path)


def test_add_show_list(box):
    r = box.run("profile", "add", "Office", "--preset", "smtp2go", "--region", "eu", "--user", "office",
                "--password-stdin", "--api-key-stdin", "--from", "office@example.com",
                "--from-name", "The Office", stdin=f"{PASSWORD}\n{API_KEY}\n")
    assert_in("Added the profile", r.stdout)
    assert_not_in(PASSWORD, r.stdout + r.stderr)

    st = os.stat(box.profiles)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert stat.S_IMODE(os.stat(box.config).st_mode) == 0o700

    show = box.run("profile", "show", "Office")
    out = show.stdout + show.stderr
    assert_not_in(PASSWORD, out, "show")
    assert_not_in(API_KEY, out, "show")
    assert_in("mail-eu.smtp2go.com", out)
    assert_in("SMTP2GO (Europe)", out)
    assert_in("The Office <office@example.com>", out)
    assert_in("Password: saved in the keyring", out)
    assert_in("API key: saved in the keyring", out)

    # The keyring really holds them, under the profile's id.
    pid = profile_id(box, "Office")
    assert secret_tool("lookup", "profile-id", pid, "kind", "password").stdout == PASSWORD
    assert secret_tool("lookup", "profile-id", pid, "kind", "api-key").stdout == API_KEY

    box.run("profile", "add", "Local", "--server", "localhost", "--port", "2525")
    lines = box.run("profile", "list").stdout.splitlines()
    assert any(l.startswith("Office\tmail-eu.smtp2go.com:587\tstarttls\toffice") for l in lines), lines
    assert any(l.startswith("Local\tlocalhost:2525\tstarttls\t-") for l in lines), lines

    # A name is used once; a bad value is refused in words.
    r = box.run("profile", "add", "Office", "--server", "x.example.com", check=False)
    assert r.returncode == 1 and "already has this name" in r.stderr, r.stderr
    r = box.run("profile", "add", "Bad", "--server", "not a host", check=False)
    assert r.returncode == 1 and "server name" in r.stderr, r.stderr
    r = box.run("profile", "add", "Bad", "--preset", "nope", check=False)
    assert r.returncode == 1 and "smtp2go" in r.stderr, r.stderr
    r = box.run("profile", "add", "Bad", "--preset", "smtp2go", "--region", "mars", check=False)
    assert r.returncode == 1 and "eu" in r.stderr, r.stderr
    r = box.run("profile", "add", "Bad", check=False)
    assert r.returncode == 1 and "--server" in r.stderr, r.stderr
    assert "Bad" not in box.run("profile", "list").stdout


def test_edit(box):
    box.run("profile", "edit", "Office", "--port", "465", "--name", "Main office")
    out = box.run("profile", "show", "Main office").stdout
    assert_in("Port: 465", out)
    assert_in("Security: TLS", out)      # the port's security follows
    r = box.run("profile", "show", "Office", check=False)
    assert r.returncode == 1 and "no profile named" in r.stderr

    box.run("profile", "edit", "Main office", "--region", "au")
    assert_in("mail-au.smtp2go.com", box.run("profile", "show", "Main office").stdout)

    # A new password replaces the old one in the keyring.
    box.run("profile", "edit", "Main office", "--password-stdin", stdin="Second-Pa55\n")
    pid = profile_id(box, "Main office")
    assert secret_tool("lookup", "profile-id", pid, "kind", "password").stdout == "Second-Pa55"
    box.run("profile", "edit", "Main office", "--password-stdin", stdin=PASSWORD + "\n")

    # A password file must be private.
    pw = os.path.join(box.root, "pw.txt")
    with open(pw, "w") as f:
        f.write("From-File-Pa55\n")
    os.chmod(pw, 0o644)
    r = box.run("profile", "edit", "Local", "--user", "me", "--password-file", pw, check=False)
    assert r.returncode == 1 and "chmod 600" in r.stderr, r.stderr
    os.chmod(pw, 0o600)
    box.run("profile", "edit", "Local", "--user", "me", "--password-file", pw)
    assert_in("Password: saved in the keyring", box.run("profile", "show", "Local").stdout)
    box.run("profile", "edit", "Local", "--forget-password")
    assert_in("Password: not saved", box.run("profile", "show", "Local").stdout)

    # Clearing and pinning.
    pin = "AB" * 32
    box.run("profile", "edit", "Local", "--pin-sha256", pin)
    assert_in("AB:AB:AB", box.run("profile", "show", "Local").stdout)
    box.run("profile", "edit", "Local", "--pin-sha256", "")
    assert_in("Pinned certificate (SHA-256): —", box.run("profile", "show", "Local").stdout)
    r = box.run("profile", "edit", "Local", "--pin-sha256", "12", check=False)
    assert r.returncode == 1


def test_export_import(box):
    # Devices' sign-in for the relay: its password in the keyring, never exported.
    let_devices_sign_in(box, "Local", "Device-Secret-42")
    assert_in("Devices’ password: saved in the keyring", box.run("profile", "show", "Local").stdout)
    export = os.path.join(box.root, "export.ini")
    r = box.run("profile", "export", export)
    assert_in("without passwords", r.stdout)
    with open(export) as f:
        text = f.read()
    assert_in("format-version=1", text)
    assert_in("name=Main office", text)
    assert_not_in("has-password", text)

    only = os.path.join(box.root, "only.ini")
    box.run("profile", "export", only, "Local")
    with open(only) as f:
        assert_not_in("Main office", f.read())

    r = box.run("profile", "import", export)
    assert_in("Main office (2)", r.stdout)
    out = box.run("profile", "show", "Main office (2)").stdout
    assert_in("mail-au.smtp2go.com", out)
    assert_in("Password: not saved", out)
    assert profile_id(box, "Main office (2)") != profile_id(box, "Main office")
    assert_in("Nor is the password devices sign in to the relay with", r.stdout)
    out = box.run("profile", "show", "Local (2)").stdout
    assert_in("Devices sign in as: scanner", out)
    assert_in("Devices’ password: not saved", out)
    with open(export) as f:
        assert_not_in("Device-Secret-42", f.read())
    # Sign-in turned off: the password leaves the keyring with it.
    def device_secrets():
        r = subprocess.run(["secret-tool", "search", "--all", "kind", "relay-password"], capture_output=True,
                           text=True, timeout=30, env=box.env)
        return r.stdout + r.stderr

    assert_in("Device-Secret-42", device_secrets())
    box.run("profile", "edit", "Local", "--relay-device-user", "")
    out = box.run("profile", "show", "Local").stdout
    assert_in("Devices sign in as: —", out)
    assert_not_in("Device-Secret-42", device_secrets())

    r = box.run("profile", "export", export, "Nobody", check=False)
    assert r.returncode == 1
    with open(export, "w") as f:
        f.write("[Postgate]\nformat-version=7\n")
    r = box.run("profile", "import", export, check=False)
    assert r.returncode == 1 and "newer version" in r.stderr, r.stderr


def test_damaged_newer_permissions(box):
    def aside():
        return sorted(n for n in os.listdir(box.config) if n.startswith("profiles.ini.damaged-"))

    before = aside()
    with open(box.profiles, "rb") as f:
        good = f.read()

    with open(box.profiles, "wb") as f:
        f.write(b"[Postgate\n\x00garbage")
    r = box.run("profile", "list")
    assert_in("damaged", r.stderr)
    assert_in("No profiles yet", r.stdout)
    assert len(aside()) == len(before) + 1

    with open(box.profiles, "wb") as f:
        f.write(b"[Postgate]\nformat-version=3\n")
    r = box.run("profile", "list")
    assert_in("newer version", r.stderr)
    assert len(aside()) == len(before) + 2
    # Nothing set aside was overwritten.
    with open(os.path.join(box.config, aside()[-1]), "rb") as f:
        assert f.read() in (b"[Postgate]\nformat-version=3\n", b"[Postgate\n\x00garbage")

    with open(box.profiles, "wb") as f:
        f.write(good)
    os.chmod(box.profiles, 0o644)
    r = box.run("profile", "list")
    assert_in("other users", r.stderr)
    assert_in("Main office", r.stdout)
    assert stat.S_IMODE(os.stat(box.profiles).st_mode) == 0o600
    assert box.run("profile", "list").stderr == ""


def test_concurrent_writers(box):
    loops = []
    for w in range(2):
        script = "".join(f'"$CLI" profile add "w{w} p{i}" --server mail{i}.example.com || exit 1\n'
                         for i in range(12))
        loops.append(subprocess.Popen(["sh", "-c", script], env={**box.env, "CLI": CLI},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for p in loops:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    names = {l.split("\t")[0] for l in box.run("profile", "list").stdout.splitlines()}
    missing = [f"w{w} p{i}" for w in range(2) for i in range(12) if f"w{w} p{i}" not in names]
    assert not missing, f"lost profiles: {missing}"


def test_duplicate(box):
    # A copy has the same settings and keyring entries of its own, with the
    # same password, API key and devices' password.
    let_devices_sign_in(box, "Main office", "Device-Secret-77")
    r = box.run("profile", "duplicate", "Main office")
    assert_in("Copied the profile “Main office” to “Main office (copy)”.", r.stdout)
    src, dst = profile_id(box, "Main office"), profile_id(box, "Main office (copy)")
    assert src != dst
    copied = []
    for kind in ("password", "api-key", "relay-password"):
        original = secret_tool("lookup", "profile-id", src, "kind", kind).stdout
        if original:
            assert secret_tool("lookup", "profile-id", dst, "kind", kind).stdout == original, kind
            copied.append(kind)
    assert "password" in copied and "relay-password" in copied, copied
    original_show = box.run("profile", "show", "Main office").stdout
    copy_show = box.run("profile", "show", "Main office (copy)").stdout
    assert_in("Password: saved in the keyring", copy_show)
    assert_in("Devices’ password: saved in the keyring", copy_show)
    differ = {"Name", "Id", "Created"}
    def fields(text):
        return {line.split(":", 1)[0].strip(): line for line in text.splitlines()
                if ":" in line and line.split(":", 1)[0].strip() not in differ}
    assert fields(original_show) == fields(copy_show), (original_show, copy_show)

    # A name of one's own; a taken name and an unknown profile refused.
    r = box.run("profile", "duplicate", "Main office", "Branch")
    assert_in("to “Branch”", r.stdout)
    r = box.run("profile", "duplicate", "Main office", "Branch", check=False)
    assert r.returncode == 1 and "Branch" in r.stderr, r
    r = box.run("profile", "duplicate", "Nobody", check=False)
    assert r.returncode == 1 and "Nobody" in r.stderr, r

    # Removing a copy takes its own entries only.
    box.run("profile", "remove", "Main office (copy)")
    box.run("profile", "remove", "Branch")
    assert secret_tool("lookup", "profile-id", dst, "kind", "password").stdout == ""
    assert secret_tool("lookup", "profile-id", src, "kind", "password").stdout != ""
    box.run("profile", "edit", "Main office", "--relay-device-user", "", "--relay-starttls", "no")


def test_remove(box):
    pid = profile_id(box, "Main office")
    box.run("profile", "remove", "Main office")
    assert "Main office\t" not in box.run("profile", "list").stdout
    assert secret_tool("lookup", "profile-id", pid, "kind", "password").stdout == ""
    assert secret_tool("lookup", "profile-id", pid, "kind", "api-key").stdout == ""
    r = box.run("profile", "remove", "Main office", check=False)
    assert r.returncode == 1


def test_no_keyring(box):
    # Never a silent plain-text fallback: the profile is not added.
    r = box.run("profile", "add", "Headless", "--server", "mail.example.com", "--user", "u",
                "--password-stdin", stdin=PASSWORD + "\n", env=NO_BUS, check=False)
    assert r.returncode == 1, r
    assert_in("could not reach the system keyring", r.stderr)
    assert_in("--password-file", r.stderr)
    assert "Headless" not in box.run("profile", "list").stdout
    # Without a secret to save the keyring is not needed.
    box.run("profile", "add", "Headless", "--server", "mail.example.com", "--user", "u", env=NO_BUS)
    out = box.run("profile", "show", "Headless", env=NO_BUS).stdout
    assert_in("cannot be reached", out)
    # The relay of a profile whose devices sign in, the keyring out of
    # reach: it does not start, and says how to give their sign-in instead.
    let_devices_sign_in(box, "Headless", "device-Secret-7")
    password = os.path.join(box.root, "device-password")
    r = box.run("relay", "--profile", "Headless", "--password-file", password, "--listen", "127.0.0.1:0",
                env=NO_BUS, check=False, timeout=30)
    assert r.returncode == 1, r
    assert_in("The relay could not start: The devices\u2019 password of the profile \u201cHeadless\u201d could "
              "not be read from the keyring: Postgate could not reach the system keyring", r.stderr)
    assert_in("--device-user NAME and --device-password-file FILE", r.stderr)
    assert "device-Secret-7" not in r.stdout + r.stderr


def main():
    box = Sandbox()
    try:
        steps = [test_add_show_list, test_edit, test_export_import, test_damaged_newer_permissions,
                 test_concurrent_writers, test_duplicate, test_remove, test_no_keyring]
        for step in steps:
            print(f"# {step.__name__}", flush=True)
            step(box)
        # The password and API key were given many times: no file holds them.
        n = assert_no_secret_in_files(box.all_files(), [PASSWORD, API_KEY, "Second-Pa55"])
        assert n >= 3, n
        print(f"# scanned {n} files: no secret in any")
    finally:
        box.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
