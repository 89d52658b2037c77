#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A network that blocks the outgoing mail port, as many home and hotel
networks block port 25: the test email waits for a greeting that never
comes, the failure names the port and offers another, and one click on
"Use Port 2525" changes the profile and sends again, through that port.

The ports are the real ones (25 and 2525), so the test runs in a network
namespace of its own (in-own-network.sh): nothing else on the machine can
hold them, and nothing outside sees them."""

import glob
import os

from guitest import (TEST_PASSWORD, add_profile, click, fail, find, find_prefix, get_text, launch, log, make_certs,
                     mnemonic, quit_app, run, screenshot, set_text, start_server, wait_for)

# The client gives up on a greeting after 60 s; the silent server outlives that.
LIFETIME = 200


def main():
    certs = make_certs()
    # Port 25 "blocked": the connection opens, but no greeting ever comes, as
    # behind a firewall that swallows the traffic.
    start_server(certs, "--port", "25", "--delay-greeting", str(LIFETIME), lifetime=LIFETIME)
    _, _, maildir = start_server(certs, "--port", "2525", lifetime=LIFETIME)

    proc, app = launch()
    add_profile(app, 25)
    mnemonic("alt+v")  # opens "Advanced"
    set_text(find(app, "Extra trusted certificate authority (file)", "text"), os.path.join(certs, "ca.pem"))

    click(find(app, "Test Email", "page tab"))
    click(find(app, "Send Test Email", "push button"))
    use_port = find(app, "Use Port 2525", "push button", timeout=120)
    find_prefix(app, "The server localhost did not answer on port 25", "label")
    find_prefix(app, "Your network may block port 25.", "label")
    screenshot("20-port-blocked")
    if glob.glob(os.path.join(maildir, "*.eml")):
        fail("a message arrived before the port was changed")

    click(use_port)
    find(app, "Test email sent", "label", timeout=30)
    transcript = get_text(find(app, "Transcript of the conversation with the server", "text"))
    if TEST_PASSWORD in transcript:
        fail("the transcript shows the password")
    screenshot("21-port-changed-sent")
    if len(glob.glob(os.path.join(maildir, "*.eml"))) != 1:
        fail("the message did not arrive through port 2525")

    # The profile keeps the new port.
    click(find(app, "Settings", "page tab"))
    port = find(app, "Port", "text")
    wait_for("the profile's port to be 2525", lambda: get_text(port) == "2525")
    log("the profile now uses port", get_text(port))
    quit_app(proc, app)


run(main)
