#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The window itself: profiles added, renamed, duplicated, deleted and
brought back with the undo toast; the layout at 360 pixels wide; dark mode."""

import os
import subprocess
import time

import pyatspi

from guitest import (TEST_PASSWORD, click, fail, find, is_visible, key, keyring_password, launch, log, lookup,
                     mnemonic, quit_app, run, screenshot, type_text, wait_for)


def saved_profile_names():
    """The names in the profiles file the window keeps (GKeyFile escapes
    none of the characters the tests use)."""
    path = os.path.join(os.environ["XDG_CONFIG_HOME"], "postgate", "profiles.ini")
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip()[len("name="):] for line in f if line.startswith("name=")]
    except FileNotFoundError:
        return []


def profile_names(app):
    lists = [n for n in app.findChildren(lambda n: n.roleName == "list" and n.name == "Profiles")]
    if not lists:
        return []
    return [n.name for n in lists[0].children if n.roleName == "list item"]


CONTROLS = {"push button", "toggle button", "check box", "text", "combo box", "page tab", "radio button",
            "menu item", "list item", "slider", "spin button", "link"}


def unnamed_controls(app):
    """Every visible control a user can reach that has no accessible name (or
    only a widget class name).  The current-value cell inside a combo row
    belongs to the row, which has the name."""
    found = []

    def walk(node, in_combo):
        for child in node.children:
            role = child.roleName
            if role in CONTROLS and not in_combo and is_visible(child):
                reachable = child.getState().contains(pyatspi.STATE_FOCUSABLE) or "click" in child.actions
                name = child.name.strip()
                if reachable and (not name or name.startswith(("Gtk", "Adw"))):
                    found.append(f"{role} under {node.roleName} '{node.name}'")
            walk(child, in_combo or role == "combo box")

    walk(app, False)
    return found


def keyring_passwords():
    """{profile id: password} for every Postgate password in the keyring;
    never printed."""
    r = subprocess.run(["secret-tool", "search", "--all", "xdg:schema", "io.github.postgate.Postgate.Secret",
                        "kind", "password"], capture_output=True, text=True, timeout=10)
    found, secret = {}, None
    for line in r.stdout.splitlines() + r.stderr.splitlines():
        if line.startswith("secret = "):
            secret = line[len("secret = "):]
        elif line.startswith("attribute.profile-id = "):
            found[line[len("attribute.profile-id = "):]] = secret
    return found


def window_id():
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Postgate$"],
                         capture_output=True, text=True, timeout=10).stdout.split()
    if not out:
        fail("no Postgate window on the X screen")
    return out[0]


def main():
    proc, app = launch()

    click(find(app, "Add profile", "push button"))
    wait_for("one profile", lambda: profile_names(app) == ["New profile"])

    # An accessible name on every control, on both pages.
    for page in ("Settings", "Test Email"):
        click(find(app, page, "page tab"))
        time.sleep(0.5)
        missing = unnamed_controls(app)
        if missing:
            fail(f"controls without an accessible name on the {page} page: {missing}")

    # Rename with F2, the dialog's field has the focus.
    key("shift")
    key("F2")
    find(app, "Rename Profile", "label")
    key("ctrl+a")
    type_text("Office")
    key("Return")
    wait_for("the renamed profile", lambda: profile_names(app) == ["Office"])

    # A password for it, then Duplicate from the profile menu: the copy has
    # the same password, in a keyring entry of its own.
    click(find(app, "Settings", "page tab"))
    mnemonic("alt+w")
    type_text(TEST_PASSWORD)
    key("Return")
    wait_for("the password in the keyring", lambda: keyring_password() == TEST_PASSWORD)
    click(find(app, "Profile menu", "push button"))
    click(wait_for("the Duplicate item", lambda: [n for n in app.findChildren(
        lambda n: n.name.replace("_", "") == "Duplicate" and "click" in n.actions) if is_visible(n)])[0])
    wait_for("the copy", lambda: profile_names(app) == ["Office", "Office (copy)"])
    wait_for("the copy's own password in the keyring",
             lambda: list(keyring_passwords().values()) == [TEST_PASSWORD, TEST_PASSWORD])
    find(app, "A password is saved in the keyring. Type a new one and press Enter to replace it.", "label")

    # Ctrl+N adds another, with a name of its own.
    key("ctrl+n")
    wait_for("a third profile", lambda: len(profile_names(app)) == 3)
    screenshot("10-three-profiles")

    # Delete the copy, then Undo from the toast.
    names_before = profile_names(app)
    click(find(app, "Profile menu", "push button"))
    click(wait_for("the Delete item", lambda: [n for n in app.findChildren(
        lambda n: n.name.replace("_", "") == "Delete" and "click" in n.actions) if is_visible(n)])[0])
    # Undo at once: the toast is there for ten seconds, and on a loaded
    # machine each look through the window's whole accessibility tree can
    # take seconds (a screenshot taken first could outlast the toast too, or
    # its button be rebuilt meanwhile, the node found before then dead:
    # looked up again).  That the profile went is read meanwhile from the
    # profiles file, which the window writes at once; the list is checked
    # after the Undo.
    wait_for("one profile less in the saved profiles", lambda: len(saved_profile_names()) == 2, timeout=5)
    deleted = [n for n in names_before if n not in saved_profile_names()]
    log("deleted", deleted)

    def press_undo():
        node = lookup(app, "Undo", "push button")
        if node is not None:
            click(node)
        return node is not None

    wait_for("the Undo button pressed", press_undo, timeout=8)
    wait_for("the profile back", lambda: sorted(profile_names(app)) == sorted(names_before))
    wait_for("the profile saved again", lambda: sorted(saved_profile_names()) == sorted(names_before), timeout=5)
    screenshot("11-undone")

    # 360 pixels wide: the sidebar folds away and the page still fits.
    wid = window_id()
    subprocess.run(["xdotool", "windowsize", wid, "360", "640"], check=True, timeout=10)
    back = find(app, "Back to profiles", "push button", timeout=10)
    screenshot("12-narrow")
    click(back)
    time.sleep(0.5)
    screenshot("13-narrow-profiles")
    subprocess.run(["xdotool", "windowsize", wid, "1000", "720"], check=True, timeout=10)
    quit_app(proc, app)

    # Dark mode follows the system; libadwaita's debug switch stands in for
    # the desktop's setting here.
    os.environ["ADW_DEBUG_COLOR_SCHEME"] = "prefer-dark"
    proc, app = launch()
    wait_for("the saved profiles", lambda: len(profile_names(app)) == 3)
    click(find(app, "Test Email", "page tab"))
    time.sleep(0.5)
    screenshot("14-dark")
    quit_app(proc, app)


run(main)
