#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test email, for real: a profile made in the window, a password through
the keyring, a message through a local STARTTLS + AUTH server, the live
transcript and the result card; a wrong password and its fix button; Cancel
while a slow server has not answered; and the profile still there after a
restart."""

import glob
import os
import time

import pyatspi

from guitest import (TEST_PASSWORD, choose_in_combo, click, fail, find, get_text, is_visible, key, launch, log,
                     make_certs, press_enter_in, quit_app, run, screenshot, set_text, start_server, wait_for)


def main():
    certs = make_certs()
    _, port, maildir = start_server(certs)
    _, slow_port, _ = start_server(certs, "--delay-greeting", "60")

    proc, app = launch()
    screenshot("01-empty")

    # A new profile, set up for the local server.
    click(find(app, "Add profile", "push button"))
    find(app, "New profile", "list item")
    choose_in_combo(find(app, "Provider", "combo box"), "Other SMTP server")
    wait_for("the server field to be editable",
             lambda: find(app, "Outgoing server", "text").getState().contains(pyatspi.STATE_EDITABLE))
    set_text(find(app, "Outgoing server", "text"), "localhost")
    set_text(find(app, "Port", "text"), str(port))
    set_text(find(app, "User name", "text"), "user")
    set_text(find(app, "Sender name", "text"), "Postgate Test")
    set_text(find(app, "Sender address", "text"), "sender@example.test")

    password = find(app, "Password", "text")
    set_text(password, TEST_PASSWORD)
    press_enter_in(password)
    find(app, "A password is saved in the keyring. Type a new one and press Enter to replace it.", "label")

    advanced = find(app, "Advanced", "list item")
    advanced.grabFocus()
    key("Return")
    set_text(find(app, "Extra trusted certificate authority (file)", "text"), os.path.join(certs, "ca.pem"))
    # Validation as you type: a bad address shows a message next to the field.
    set_text(find(app, "Sender address", "text"), "not an address")
    sender_group = find(app, "Sender", "list")
    problem = wait_for("a message next to the sender address",
                       lambda: [n for n in sender_group.findChildren(lambda n: n.roleName == "label")
                                if is_visible(n) and n.name and n.name not in ("Sender name", "Sender address")])
    log("validation message:", problem[0].name)
    screenshot("02-validation")
    set_text(find(app, "Sender address", "text"), "sender@example.test")
    time.sleep(0.5)
    screenshot("03-profile")

    # Send the test email.
    click(find(app, "Test Email", "page tab"))
    recipient = find(app, "Recipient", "text")
    wait_for("the recipient to default to the sender", lambda: get_text(recipient) == "sender@example.test")
    click(find(app, "Send Test Email", "push button"))
    find(app, "Test email sent", "label", timeout=30)
    transcript = find(app, "Transcript of the conversation with the server", "text")
    text = get_text(transcript)
    log("transcript:\n" + text)
    for expected in ("STARTTLS", "~> AUTH", "<~ 235", "~> MAIL FROM:<sender@example.test>", "<~ 250"):
        if expected not in text:
            fail(f"the transcript lacks {expected!r}")
    if TEST_PASSWORD in text:
        fail("the transcript shows the password")
    screenshot("04-send-success")

    messages = glob.glob(os.path.join(maildir, "*.eml"))
    if len(messages) != 1:
        fail(f"the server received {len(messages)} messages, not 1")
    body = open(messages[0], "rb").read().decode("ascii", "replace")
    if "Subject: Postgate test email [PG-" not in body:
        fail("the received message lacks the subject with its token")

    # A wrong password: the failure in words, and the button that fixes it.
    click(find(app, "Settings", "page tab"))
    password = find(app, "Password", "text")
    set_text(password, "wrong-password")
    press_enter_in(password)
    time.sleep(1.0)
    click(find(app, "Test Email", "page tab"))
    click(find(app, "Send Test Email", "push button"))
    edit = find(app, "Edit Password", "push button", timeout=30)
    screenshot("05-send-wrong-password")
    text = get_text(find(app, "Transcript of the conversation with the server", "text"))
    if "wrong-password" in text or TEST_PASSWORD in text:
        fail("the transcript shows a password")
    if "<~ 535" not in text:
        fail("the transcript lacks the server's refusal")
    click(edit)
    password = find(app, "Password", "text")
    wait_for("the password field to have the focus", lambda: password.focused)
    set_text(password, TEST_PASSWORD)
    press_enter_in(password)
    time.sleep(1.0)

    # A server that does not answer: Cancel stops at once.
    set_text(find(app, "Port", "text"), str(slow_port))
    time.sleep(0.6)
    click(find(app, "Test Email", "page tab"))
    click(find(app, "Send Test Email", "push button"))
    # Connected, waiting for a greeting that does not come.
    time.sleep(1.5)
    cancel = find(app, "Cancel", "push button")
    if not cancel.sensitive:
        fail("Cancel is not available while sending")
    started = time.monotonic()
    click(cancel)
    find(app, "Sending cancelled", "label", timeout=10)
    log(f"cancelled after {time.monotonic() - started:.1f} s")
    send = find(app, "Send Test Email", "push button")
    wait_for("Send to be available again", lambda: send.sensitive)
    screenshot("06-send-cancelled")

    # Back to the working port, then quit and start again.
    click(find(app, "Settings", "page tab"))
    set_text(find(app, "Port", "text"), str(port))
    time.sleep(0.8)
    quit_app(proc, app)

    proc, app = launch()
    find(app, "New profile", "list item")
    host = find(app, "Outgoing server", "text")
    wait_for("the saved server name", lambda: get_text(host) == "localhost")
    wait_for("the saved port", lambda: get_text(find(app, "Port", "text")) == str(port))
    find(app, "A password is saved in the keyring. Type a new one and press Enter to replace it.", "label")
    if get_text(find(app, "Password", "text")) != "":
        fail("the password field shows a saved password")
    screenshot("07-restarted")

    # And it still sends, with the password from the keyring.
    click(find(app, "Test Email", "page tab"))
    click(find(app, "Send Test Email", "push button"))
    find(app, "Test email sent", "label", timeout=30)
    quit_app(proc, app)


run(main)
