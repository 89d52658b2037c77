# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared parts of the GUI tests: Postgate under dogtail (AT-SPI), the SMTP
test server, screenshots.  Runs inside run-gui-test.sh (Xvfb, D-Bus,
keyring, AT-SPI)."""

import json
import os
import signal
import subprocess
import sys
import time
import traceback

import dogtail.utils
import pyatspi

# No GNOME session here: dogtail's check for the accessibility setting would
# try to turn it on through GSettings and fail.
dogtail.utils.checkForA11y = lambda: None

from dogtail import tree  # noqa: E402
from dogtail.config import config  # noqa: E402

config.searchCutoffCount = 10
config.searchBackoffDuration = 0.3
config.actionDelay = 0.2
config.defaultDelay = 0.2
config.logDebugToFile = False
config.logDebugToStdOut = False

SOURCE_DIR = os.environ["POSTGATE_SOURCE_DIR"]
GUI = os.environ["POSTGATE_GUI"]
SERVERS = os.path.join(SOURCE_DIR, "tests", "servers")
ARTIFACTS = os.path.join(SOURCE_DIR, "tests", "artifacts", "gui")
TMP = os.environ.get("POSTGATE_GUI_TMP") or "/tmp"
TEST_PASSWORD = "s3cret-Pa55"  # the test server's fixed test password

_children = []


def log(*args):
    print("#", *args, flush=True)


def fail(message):
    log("FAIL:", message)
    screenshot("failure")
    raise SystemExit(1)


def wait_for(what, condition, timeout=20.0, interval=0.2):
    """Polls @condition until it returns something true; fails after @timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # the tree changes under us while we look
            last_error = e
        time.sleep(interval)
    fail(f"timed out waiting for {what}" + (f" ({last_error})" if last_error else ""))


def screenshot(name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    subprocess.run(["import", "-window", "root", path], check=False, timeout=30)
    log("screenshot", path)
    return path


def make_certs():
    certs = os.path.join(TMP, "certs")
    subprocess.run(["sh", os.path.join(SERVERS, "make-certs.sh"), certs], check=True, timeout=60)
    return certs


def start_server(certs, *extra, lifetime=170, cert="localhost"):
    """The aiosmtpd test server with STARTTLS and AUTH required; returns
    (process, port, maildir)."""
    maildir = os.path.join(TMP, f"maildir-{len(_children)}")
    os.makedirs(maildir, exist_ok=True)
    args = ["/usr/bin/python3", os.path.join(SERVERS, "smtp-test-server.py"),
            "--tls-mode", "starttls", "--require-starttls",
            "--cert", os.path.join(certs, cert + ".pem"),
            "--key", os.path.join(certs, cert + ".key"),
            "--auth", "PLAIN LOGIN", "--auth-require-tls", "--auth-required",
            "--maildir", maildir, "--max-lifetime", str(lifetime), *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    _children.append(proc)
    line = proc.stdout.readline()
    port = json.loads(line)["port"]
    log("server on port", port, " ".join(extra))
    return proc, port, maildir


def launch():
    """Starts Postgate; returns (process, dogtail application node)."""
    env = dict(os.environ)
    if os.environ.get("POSTGATE_APP_G_DEBUG"):
        env["G_DEBUG"] = os.environ["POSTGATE_APP_G_DEBUG"]
    proc = subprocess.Popen([GUI], env=env)
    _children.append(proc)

    def find():
        if proc.poll() is not None:
            fail(f"postgate exited with status {proc.returncode}")
        for app in tree.root.applications():
            if app.name == "postgate":
                for child in app.children:
                    if child.roleName == "frame":
                        return app
        return None

    app = wait_for("the Postgate window", find, timeout=30)
    return proc, app


def quit_app(proc, app):
    """Closes the window the way a user does (Ctrl+Q) and waits for the exit."""
    key("ctrl+q")
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        fail("postgate did not quit")
    if proc.returncode != 0:
        fail(f"postgate exited with status {proc.returncode}")


def cleanup():
    for proc in _children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def key(*keys):
    subprocess.run(["xdotool", "key", "--clearmodifiers", *keys], check=True, timeout=10)


def _named(node, name):
    # GTK 4.8 names a button with a label "_Send Send": its label property,
    # then its child's text.  Match the text a user sees.
    return node.name == name or node.name.endswith(" " + name)


def is_visible(node):
    return node.getState().contains(pyatspi.STATE_VISIBLE)


def lookup(parent, name, role):
    """A visible node by accessible name and role, or None."""
    for node in parent.findChildren(lambda n: n.roleName == role and _named(n, name)):
        if is_visible(node):
            return node
    return None


def find(parent, name, role, timeout=15):
    """A visible node by accessible name and role, waiting for it to appear."""
    return wait_for(f"{role} '{name}'", lambda: lookup(parent, name, role), timeout=timeout)


def find_prefix(parent, prefix, role, timeout=15):
    def look():
        for node in parent.findChildren(lambda n: n.roleName == role and n.name.startswith(prefix)):
            if is_visible(node):
                return node
        return None

    return wait_for(f"{role} starting with '{prefix}'", look, timeout=timeout)


def click(node):
    # A GtkMenuButton shows as a button holding the button that clicks.
    if "click" not in node.actions:
        inner = node.findChildren(lambda n: "click" in n.actions)
        if inner:
            node = inner[0]
    node.doActionNamed("click")


def set_text(node, text):
    node.queryEditableText().setTextContents(text)


def get_text(node):
    t = node.queryText()
    return t.getText(0, t.characterCount)


def mnemonic(keys):
    """A mnemonic (e.g. "alt+w"), then a moment for the focus to move.  A
    lone Shift goes first: after a page was switched through AT-SPI the
    first key event only wakes the window up."""
    key("shift")
    time.sleep(0.2)
    key(keys)
    time.sleep(0.6)


def keyring_password():
    """The password the keyring holds for Postgate's (only) profile; never
    printed."""
    r = subprocess.run(["secret-tool", "lookup", "xdg:schema", "io.github.postgate.Postgate.Secret",
                        "kind", "password"], capture_output=True, text=True, timeout=10)
    return r.stdout if r.returncode == 0 else None


def type_text(text):
    subprocess.run(["xdotool", "type", "--delay", "20", text], check=True, timeout=30)


def choose_in_combo(mnemonic, item_name):
    """Opens an AdwComboRow's list with its mnemonic (e.g. "alt+p") and picks
    @item_name with the arrow keys."""
    key(mnemonic)

    def item():
        for n in tree.root.findChildren(lambda n: n.roleName == "label" and n.name == item_name):
            if is_visible(n):
                return n
        return None

    wait_for(f"the list with '{item_name}'", item, timeout=10)
    # The list opens on the selected item; walk down to the wanted one.
    for _ in range(10):
        focused = [n for n in tree.root.findChildren(
            lambda n: n.roleName == "list item" and n.focused)]
        if focused and any(c.name == item_name for c in focused[0].findChildren(lambda c: c.roleName == "label")):
            break
        key("Down")
        time.sleep(0.2)
    key("Return")


def add_profile(app, port):
    """A new profile for the local test server on @port ("Other SMTP server",
    localhost, user "user", sender sender@example.test), its password typed
    as a user would (the field's mnemonic, then Enter) and in the keyring."""
    click(find(app, "Add profile", "push button"))
    find(app, "New profile", "list item")
    choose_in_combo("alt+p", "Other SMTP server")
    wait_for("the server field to be editable",
             lambda: find(app, "Outgoing server", "text").getState().contains(pyatspi.STATE_EDITABLE))
    set_text(find(app, "Outgoing server", "text"), "localhost")
    set_text(find(app, "Port", "text"), str(port))
    set_text(find(app, "User name", "text"), "user")
    set_text(find(app, "Sender name", "text"), "Postgate Test")
    set_text(find(app, "Sender address", "text"), "sender@example.test")
    mnemonic("alt+w")
    type_text(TEST_PASSWORD)
    key("Return")
    wait_for("the password in the keyring", lambda: keyring_password() == TEST_PASSWORD)


def run(main):
    status = 0
    try:
        main()
        log("PASS")
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    except Exception as e:
        traceback.print_exc()
        log("FAIL: exception", repr(e))
        screenshot("failure")
        status = 1
    finally:
        cleanup()
    sys.exit(status)
