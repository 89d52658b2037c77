#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test email, for real: a profile made in the window, a password through
the keyring, a message through a local STARTTLS + AUTH server, the live
transcript and the result card; a wrong password and its fix button; Cancel
while a slow server has not answered; and the profile still there after a
restart; an attachment; the connection check and its one-click switch; a
self-signed server trusted only after its fingerprint was shown."""

import glob
import os
import subprocess
import time

from guitest import (TEST_PASSWORD, add_profile, click, fail, find, find_prefix, get_text, is_visible, key,
                     keyring_password, launch, log, make_certs, mnemonic, quit_app, run, screenshot, set_text,
                     start_server, type_text, wait_for)


def main():
    certs = make_certs()
    _, port, maildir = start_server(certs)
    _, slow_port, _ = start_server(certs, "--delay-greeting", "60")

    proc, app = launch()
    screenshot("01-empty")

    # A new profile, set up for the local server, the password typed.
    add_profile(app, port)
    find(app, "A password is saved in the keyring. Type a new one and press Enter to replace it.", "label")

    mnemonic("alt+v")  # opens "Advanced"
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
    # An attachment, chosen in the file chooser by typing its path.
    attachment = os.path.join(os.environ.get("POSTGATE_GUI_TMP", "/tmp"), "report-2026.txt")
    with open(attachment, "w") as f:
        f.write("Quarterly numbers\n")
    click(find(app, "Attach File…", "push button"))
    find(app, "Attach", "push button", timeout=15)  # the file chooser is open
    time.sleep(0.5)
    key("ctrl+l")
    time.sleep(0.3)
    type_text(attachment)
    key("Return")
    find(app, "report-2026.txt", "label", timeout=15)

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

    # The connection check: the port in use works, the usual others do not.
    click(find(app, "Settings", "page tab"))
    click(find(app, "Check Connection", "push button"))
    best = find_prefix(app, f"Best choice: Port {port}", "label", timeout=30)
    log(best.name)
    screenshot("04b-check-connection")
    click(find(app, f"Use Port {port}", "push button"))
    click(find(app, "Test Email", "page tab"))

    messages = glob.glob(os.path.join(maildir, "*.eml"))
    if len(messages) != 1:
        fail(f"the server received {len(messages)} messages, not 1")
    body = open(messages[0], "rb").read().decode("ascii", "replace")
    if "Subject: Postgate test email [PG-" not in body:
        fail("the received message lacks the subject with its token")
    if 'filename="report-2026.txt"' not in body and "filename=report-2026.txt" not in body:
        fail("the received message lacks the attachment")

    # A wrong password: the failure in words, and the button that fixes it.
    click(find(app, "Settings", "page tab"))
    mnemonic("alt+w")
    type_text("wrong-password")
    key("Return")
    wait_for("the new password in the keyring", lambda: keyring_password() == "wrong-password")
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
    screenshot("06-edit-password")
    type_text(TEST_PASSWORD)
    key("Return")
    wait_for("the right password in the keyring again", lambda: keyring_password() == TEST_PASSWORD)

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
    screenshot("07-send-cancelled")

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
    screenshot("08-restarted")

    # And it still sends, with the password from the keyring.
    click(find(app, "Test Email", "page tab"))
    click(find(app, "Send Test Email", "push button"))
    find(app, "Test email sent", "label", timeout=30)

    # A self-signed server: refused until its certificate, shown first, is
    # trusted with one click.
    _, self_signed_port, self_signed_maildir = start_server(certs, cert="selfsigned")
    click(find(app, "Settings", "page tab"))
    set_text(find(app, "Extra trusted certificate authority (file)", "text"), "")
    set_text(find(app, "Port", "text"), str(self_signed_port))
    time.sleep(0.6)
    click(find(app, "Test Email", "page tab"))
    click(find(app, "Send Test Email", "push button"))
    trust = find(app, "Trust This Certificate…", "push button", timeout=30)
    if glob.glob(os.path.join(self_signed_maildir, "*.eml")):
        fail("a message went to a server whose certificate was not trusted")
    click(trust)
    fingerprint = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                                  os.path.join(certs, "selfsigned.pem")],
                                 capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
    find(app, fingerprint, "label")
    screenshot("09-trust-certificate")
    click(find(app, "Trust and Send Again", "push button"))
    find(app, "Test email sent", "label", timeout=30)
    if len(glob.glob(os.path.join(self_signed_maildir, "*.eml"))) != 1:
        fail("the message did not arrive once the certificate was trusted")
    quit_app(proc, app)


run(main)
