#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The relay's SMTP server with real clients (swaks, Python smtplib, curl) and
a raw socket: the conversation, tolerance of old devices, SMTP smuggling
probes, sender rewrite, STARTTLS and AUTH.  Every message checked on disk."""
import base64
import importlib.util
import os
import re
import resource
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import warnings

spec = importlib.util.spec_from_file_location(
    "support", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-server-support.py"))
support = importlib.util.module_from_spec(spec)
spec.loader.exec_module(support)
Harness, RawClient, wait_until = support.Harness, support.RawClient, support.wait_until

t = support.Checks()
check = t.check


def new_ids(h, before):
    return sorted(set(h.messages()) - set(before))


def test_swaks_pipelining(h):
    before = h.messages()
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % h.port, "--to", "a@example.test",
                        "--from", "b@example.test", "--pipeline", "--header", "Subject: swaks pipelined",
                        "--timeout", "30"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "swaks with PIPELINING is accepted")
    ids = new_ids(h, before)
    check(len(ids) == 1, "swaks: one message in the spool")
    env, content = h.messages()[ids[0]]
    check(env["Sender"] == "b@example.test" and env["Recipient0"] == "a@example.test",
          "swaks: envelope stored")
    check(content.startswith(b"Received: from "), "a Received: header comes first")
    check(b"Subject: swaks pipelined" in content, "swaks: content stored")
    check(env.get("MessageId", "").startswith("<") and env["MessageId"].encode() in content,
          "the client's Message-ID is kept and recorded")
    check(b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b""),
          "stored content has CRLF line ends only")


def test_smtplib(h):
    before = h.messages()
    msg = ("From: Printer <printer@example.test>\r\nTo: c@example.test\r\n"
           "Subject: no id\r\n\r\nhello from smtplib\r\n")
    with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as s:
        code, caps = s.ehlo("smtplib.test")
        check(code == 250, "EHLO answered 250")
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes"):
            check(s.has_extn(ext), "EHLO offers " + ext.upper())
        check(s.esmtp_features.get("size") == "52428800", "SIZE is 52428800 by default")
        check(not s.has_extn("starttls"), "no STARTTLS without a certificate")
        refused = s.sendmail("printer@example.test", ["c@example.test"], msg)
        check(refused == {}, "smtplib message accepted")
    ids = new_ids(h, before)
    check(len(ids) == 1, "smtplib: one message stored")
    env, content = h.messages()[ids[0]]
    check(b"Message-ID: <" in content and env.get("MessageId", "").endswith("@relay.test>"),
          "a Message-ID is added when the message has none")
    check(content.endswith(b"hello from smtplib\r\n"), "body stored without the final dot")


def test_curl(h):
    before = h.messages()
    with tempfile.NamedTemporaryFile("w", suffix=".eml", delete=False) as f:
        f.write("From: curl@example.test\r\nSubject: curl\r\n\r\n.leading dot line\r\nbye\r\n")
        path = f.name
    try:
        r = subprocess.run(["curl", "-sS", "--max-time", "30", "smtp://127.0.0.1:%d" % h.port,
                            "--mail-from", "curl@example.test", "--mail-rcpt", "d@example.test",
                            "-T", path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    check(r.returncode == 0, "curl upload accepted (%s)" % r.stderr.strip())
    ids = new_ids(h, before)
    check(len(ids) == 1, "curl: one message stored")
    if ids:
        content = h.messages()[ids[0]][1]
        check(b"\r\n.leading dot line\r\n" in content, "dot-stuffing undone exactly once")


def test_old_devices(h):
    before = h.messages()
    c = RawClient(h.port)
    check(c.reply()[0] == 220, "greeting")
    check(c.cmd("helo scanner")[0] == 250, "HELO only (lower case)")
    check(c.cmd("mail from:scanner@local.test")[0] == 250, "lower-case MAIL without <>")
    check(c.cmd("rcpt to: office@example.test")[0] == 250, "RCPT with a space and without <>")
    check(c.cmd("vrfy office@example.test")[0] == 252, "VRFY answered politely with 252")
    check(c.cmd("expn staff")[0] == 502, "EXPN answered 502")
    check(c.cmd("data")[0] == 354, "DATA 354")
    # The last line, the dot and QUIT in one packet (pipelined QUIT).
    c.send("Subject: scan\r\n\r\nscan attached\r\n.\r\nQUIT\r\n")
    code, text = c.reply()
    check(code == 250 and "queued as" in text, "250 after the data")
    check(c.reply()[0] == 221, "pipelined QUIT answered 221")
    check(c.closed(), "connection closed after QUIT")
    c.close()
    check(len(new_ids(h, before)) == 1, "old device: one message stored")
    c = RawClient(h.port)
    c.reply()
    check(c.cmd("HELO")[0] == 250, "a bare HELO without a name is tolerated")
    check(c.cmd("MAIL FROM:<a@example.test>")[0] == 250, "and the transaction goes on")
    c.close()


def test_pipelined_batch(h):
    """A whole transaction in one write gets every reply, in order."""
    before = h.messages()
    c = RawClient(h.port)
    c.reply()
    c.send("EHLO batch\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
           "RCPT TO:<bad address>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n")
    codes = [c.reply()[0] for _ in range(6)]
    check(codes == [250, 250, 250, 501, 250, 354] or codes == [250, 250, 250, 553, 250, 354],
          "pipelined replies in order: %r" % codes)
    c.send("Subject: batch\r\n\r\nx\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 221], "data end, RSET, NOOP, QUIT: %r" % codes)
    c.close()
    ids = new_ids(h, before)
    check(len(ids) == 1 and h.messages()[ids[0]][0]["Recipients"] == "2",
          "the refused recipient is not stored")


def send_raw(h, helo, sender, data):
    """One message over a raw connection, written as given (@data ends with
    the final dot).  Returns its reply code and what the relay stored:
    (envelope, content), or ({}, b"") when nothing was stored."""
    before = h.messages()
    c = RawClient(h.port)
    c.reply()
    c.cmd("HELO " + helo)
    c.cmd("MAIL FROM:<%s>" % sender)
    c.cmd("RCPT TO:<admin@example.test>")
    c.cmd("DATA")
    c.send(data)
    code = c.reply()[0]
    c.close()
    ids = new_ids(h, before)
    return code, (h.messages()[ids[0]] if ids else ({}, b""))


def test_no_headers(h):
    """A script that sends no headers at all: the added headers stay headers."""
    code, (_, content) = send_raw(h, "script", "cron@example.test", "backup finished: ok\r\nsecond line\r\n.\r\n")
    check(code == 250, "a message without headers is accepted")
    head, _, body = content.partition(b"\r\n\r\n")
    check(b"Message-ID: <" in head and body == b"backup finished: ok\r\nsecond line\r\n",
          "headers added above an empty line, the text kept as the body")
    check(re.search(rb"\r\nDate: [A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n",
                    head + b"\r\n") is not None, "a Date: added, as RFC 5322 requires: %r" % head)
    # A device's own Date: is kept, and not doubled.
    code, (_, content) = send_raw(h, "scanner", "scanner@example.test",
                                  "date: Mon, 1 Jan 2024 08:00:00 +0100\r\nSubject: scan\r\n\r\npage\r\n.\r\n")
    check(code == 250, "a message with its own Date: is accepted")
    head = content.partition(b"\r\n\r\n")[0]
    check(head.lower().count(b"\r\ndate: ") == 1 and b"date: Mon, 1 Jan 2024 08:00:00 +0100" in head,
          "the device's Date: kept, no second one: %r" % head)


def test_errors(h):
    c = RawClient(h.port)
    c.reply()
    check(c.cmd("MAIL FROM:<a@example.test>")[0] == 503, "MAIL before HELO refused with 503")
    check(c.cmd("EHLO x")[0] == 250, "EHLO")
    check(c.cmd("RCPT TO:<a@example.test>")[0] == 503, "RCPT before MAIL: 503")
    check(c.cmd("DATA")[0] == 503, "DATA before MAIL: 503")
    check(c.cmd("MAIL FROM:<a@example.test>")[0] == 250, "MAIL")
    check(c.cmd("DATA")[0] == 554, "DATA without recipients: 554")
    check(c.cmd("MAIL FROM:<x@example.test>")[0] == 503, "nested MAIL: 503")
    check(c.cmd("XYZZY")[0] == 500, "unknown command: 500")
    check(c.cmd("BDAT 10 LAST")[0] == 502, "BDAT not offered: 502")
    code, text = c.cmd("NOOP " + "x" * 1200)
    check(code == 500 and "too long" in text.lower(), "command line over 1000 bytes: 500")
    check(c.cmd("NOOP")[0] == 250, "the session goes on after an overlong line")
    check(c.cmd("RCPT TO:<a@example.test> NOTIFY=NEVER")[0] == 555, "unknown RCPT parameter: 555")
    check(c.cmd("MAIL FROM:<a@example.test> SIZE=99999999999")[0] in (503, 552), "a huge SIZE is refused")
    check(c.cmd("RSET")[0] == 250, "RSET")
    code, text = c.cmd("MAIL FROM:<a@example.test> SIZE=60000000")
    check(code == 552, "declared SIZE over the limit refused at MAIL with 552")
    check(c.cmd("AUTH PLAIN AGEAYg==")[0] == 502, "AUTH when not configured: 502")
    check(c.cmd("STARTTLS")[0] == 502, "STARTTLS without a certificate: 502")
    c.cmd("QUIT")
    c.close()


SMUGGLING = {
    "<LF>.<LF>": b"\n.\n",
    "<CR>.<CR>": b"\r.\r",
    "<LF>.<CR><LF>": b"\n.\r\n",
    "<CR><LF>.<LF>": b"\r\n.\n",
    # Not among the classic four, but the same family:
    "<CR><LF>.<CR>X": b"\r\n.\rX",
    "<CR><LF>..<CR><LF> (a stuffed dot)": b"\r\n..\r\n",
    "<CR><LF>.<NUL><CR><LF>": b"\r\n.\0\r\n",
}


def test_smuggling(h):
    for name, probe in SMUGGLING.items():
        before = h.messages()
        c = RawClient(h.port)
        c.reply()
        c.cmd("EHLO attacker")
        c.cmd("MAIL FROM:<attacker@example.test>")
        c.cmd("RCPT TO:<victim@example.test>")
        c.cmd("DATA")
        smuggled = (b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<smuggled@example.test>\r\nDATA\r\n"
                    b"Subject: smuggled\r\n\r\nsmuggled body\r\n")
        c.send(b"Subject: first\r\n\r\nfirst body" + probe + smuggled + b"\r\n.\r\nQUIT\r\n")
        code, text = c.reply()
        replies = [code]
        try:
            while True:
                replies.append(c.reply()[0])
        except (EOFError, OSError):
            pass
        c.close()
        ids = new_ids(h, before)
        check(replies == [250, 221], "%s: one 250 and the QUIT, nothing else: %r" % (name, replies))
        check(len(ids) == 1, "%s: exactly one message stored" % name)
        if ids:
            env, content = h.messages()[ids[0]]
            check(env["Recipients"] == "1" and env["Recipient0"] == "victim@example.test",
                  "%s: no smuggled recipient" % name)
            check(b"smuggled body" in content and b"\r\n" in content,
                  "%s: the smuggled text is content of the first message" % name)
            stripped = content.replace(b"\r\n", b"")
            check(b"\n" not in stripped and b"\r" not in stripped,
                  "%s: bare CR/LF stored as CRLF" % name)


def test_long_text_line(h):
    before = h.messages()
    c = RawClient(h.port)
    c.reply()
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send("Subject: long\r\n\r\n" + "y" * 999 + "\r\nafter\r\n.\r\n")
    code, text = c.reply()
    check(code == 554 and "longer than 998" in text, "a text line of 999 characters: clear 554")
    check(c.cmd("NOOP")[0] == 250, "session continues after the refusal")
    c.cmd("MAIL FROM:<a@example.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send("Subject: ok\r\n\r\n" + "z" * 998 + "\r\n.\r\n")
    check(c.reply()[0] == 250, "a line of exactly 998 characters is fine")
    c.close()
    check(len(new_ids(h, before)) == 1, "only the message within the limit was stored")
    check(not [n for n in h.spool_files() if n.startswith("tmp-")], "no temporary files left")


def test_utf8(h):
    before = h.messages()
    c = RawClient(h.port)
    c.reply()
    c.cmd("EHLO x")
    check(c.cmd("MAIL FROM:<jösé@example.test> SMTPUTF8 BODY=8BITMIME")[0] == 250, "SMTPUTF8 sender accepted")
    check(c.cmd("RCPT TO:<zoë@example.test>")[0] == 250, "UTF-8 recipient accepted")
    c.cmd("DATA")
    c.send("Subject: café\r\n\r\nnaïve\r\n.\r\n".encode())
    check(c.reply()[0] == 250, "8-bit message accepted")
    c.close()
    ids = new_ids(h, before)
    env = h.messages()[ids[0]][0] if ids else {}
    check(env.get("SmtpUtf8") == "true" and env.get("Body") == "8bitmime", "SMTPUTF8 and 8BITMIME recorded")


def test_disconnect_mid_data(h):
    before = h.messages()
    c = RawClient(h.port)
    c.reply()
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.test>")
    c.cmd("RCPT TO:<b@example.test>")
    c.cmd("DATA")
    c.send("Subject: cut\r\n\r\n" + "partial line\r\n" * 20000)
    c.close()
    h.read_until(lambda l: "disconnected in the middle" in l)
    check(new_ids(h, before) == [], "disconnect mid-DATA: no message")
    check(not [n for n in h.spool_files() if n.startswith("tmp-")], "disconnect mid-DATA: no temporary file")


def test_bare_lf_client(h):
    """A script that ends every line with LF alone, its commands and its
    message too: its "<LF>.<LF>" never ends the message, so instead of
    waiting for a reply until the idle time-out it hears why, the connection
    closes, and nothing is kept.  (The three clients wait side by side.)"""
    before = h.messages()
    clients = {}
    for name, data in (("LF.LF", b"Subject: lf\n\nline one\nline two\n.\n"),
                       ("LF.CRLF", b"Subject: lf\n\nline one\nline two\n.\r\n"),
                       ("only the dot", b".\n")):
        c = RawClient(h.port)
        c.reply()
        for command in (b"HELO script\n", b"MAIL FROM:<script@local>\n", b"RCPT TO:<a@example.test>\n",
                        b"DATA\n"):
            c.send(command)
            c.reply()
        c.send(data)
        clients[name] = c
    for name, c in clients.items():
        code, text = c.reply()
        check(code == 554 and "CR LF" in text, "%s: a clear 554 when the client waits: %r" % (name, text))
        check(c.closed(), "%s: then the connection is closed" % name)
        c.close()
    h.read_until(lambda l: "end its lines with CR LF" in l)
    check(new_ids(h, before) == [], "no message kept")
    check(not [n for n in h.spool_files() if n.startswith("tmp-")], "no temporary file")


def test_listen_addresses():
    """IPv6 loopback works like IPv4; a port another program holds is a clear
    error at start, not a relay that silently takes nothing."""
    with Harness(args=["--listen", "[::1]:0"]) as h:
        with smtplib.SMTP("::1", h.port, timeout=30) as s:
            s.sendmail("device@example.test", ["a@example.test"], b"Subject: over IPv6\r\n\r\nhello\r\n")
        stored = list(h.messages().values())
        check(len(stored) == 1 and b"over IPv6" in stored[0][1], "a message over ::1 is stored")
        check(stored[0][0].get("ClientAddress") == "::1", "its client address is ::1 (%r)" % stored[0][0].get("ClientAddress"))
        try:
            with Harness(args=["--listen", "[::1]:%d" % h.port]):
                check(False, "a second relay on the same port must not start")
        except RuntimeError as e:
            check("Another program already takes mail on port %d of ::1" % h.port in str(e),
                  "the port in use is named as the reason, in plain words (%s)" % str(e).strip())


def test_out_of_descriptors():
    """A relay that runs out of file descriptors says so and pauses taking
    connections (rather than trying again at every turn of its loop); the
    connections that waited meanwhile are taken once others end, and nothing
    is lost."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    with Harness(preexec_fn=limit) as h:
        held = []
        try:
            for _ in range(100):
                held.append(socket.create_connection(("127.0.0.1", h.port), timeout=30))
            line = h.read_until(lambda l: "Could not take a new connection" in l)
            check("Too many open files" in line, "running out of descriptors is logged (%s)" % line)
            last = held.pop()
            for c in held:
                c.close()
            held = [last]
            last.settimeout(30)
            check(last.recv(512).startswith(b"220 "), "a connection that waited is taken once others end")
            with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as s:
                s.sendmail("device@example.test", ["a@example.test"], b"Subject: after the pause\r\n\r\nhi\r\n")
            check(any(b"after the pause" in m[1] for m in h.messages().values()), "and mail is stored again")
        finally:
            for c in held:
                c.close()


def test_allowed_ranges():
    with Harness(args=["--allow", "127.0.0.1/32"]) as h:
        c = RawClient(h.port, bind="127.0.0.5")
        code, text = c.reply()
        check(code == 554, "a client from 127.0.0.5 is refused at connect with 554 (%s)" % text)
        check(c.closed(), "and disconnected")
        c.close()
        h.read_until(lambda l: "Refused a connection from 127.0.0.5" in l)
        check(True, "the refusal is logged")
        c = RawClient(h.port, bind="127.0.0.1")
        check(c.reply()[0] == 220, "127.0.0.1 is allowed")
        c.close()
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % h.port, "--local-interface", "127.0.0.9",
                            "--to", "a@example.test", "--from", "b@example.test", "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and "554" in r.stdout, "swaks from 127.0.0.9 refused")
        check(h.messages() == {}, "nothing stored from refused clients")
    # Letting a network in keeps this computer's programs in, and only them.
    with Harness(args=["--allow", "192.168.1.0/24"]) as h:
        c = RawClient(h.port, bind="127.0.0.1")
        check(c.reply()[0] == 220, "with 192.168.1.0/24 allowed, 127.0.0.1 is still allowed")
        c.close()
        c = RawClient(h.port, bind="127.0.0.5")
        check(c.reply()[0] == 554, "with 192.168.1.0/24 allowed, 127.0.0.5 is refused")
        c.close()


def test_open_relay_refused():
    for everything in ("0.0.0.0/0", "::/0"):
        try:
            h = Harness(args=["--allow", everything])
            h.cleanup()
            check(False, "--allow %s is refused" % everything)
        except RuntimeError as e:
            check("anyone" in str(e), "--allow %s is refused: never an open relay" % everything)


def test_connection_cap():
    with Harness(args=["--max-connections", "2"]) as h:
        a, b = RawClient(h.port), RawClient(h.port)
        check(a.reply()[0] == 220 and b.reply()[0] == 220, "two connections within the cap")
        c = RawClient(h.port)
        check(c.reply()[0] == 421, "the third connection gets 421")
        c.close()
        a.cmd("QUIT")
        a.close()
        wait_until(lambda: True)
        # Once one left, a new client is served again.
        def served():
            d = RawClient(h.port)
            ok = d.reply()[0] == 220
            d.close()
            return ok
        wait_until(served, what="a free connection slot")
        check(True, "a slot frees up when a client leaves")
        b.close()


def test_idle_timeout():
    with Harness(args=["--idle-timeout", "2"]) as h:
        c = RawClient(h.port, timeout=30)
        c.reply()
        code, text = c.reply()
        check(code == 421, "an idle client gets 421 (%s)" % text)
        check(c.closed(), "and is disconnected")
        c.close()


def test_sender_rewrite():
    with Harness(args=["--rewrite", "verified@example.com"]) as h:
        c = RawClient(h.port)
        c.reply()
        c.cmd("HELO scanner")
        c.cmd("MAIL FROM:<scanner@local>")
        c.cmd("RCPT TO:<office@example.test>")
        c.cmd("DATA")
        c.send("From: Office Scanner <scanner@local>\r\nSubject: scan\r\n\r\nscan\r\n.\r\n")
        check(c.reply()[0] == 250, "rewrite: accepted")
        # Already the verified sender: left alone.
        c.cmd("MAIL FROM:<verified@example.com>")
        c.cmd("RCPT TO:<office@example.test>")
        c.cmd("DATA")
        c.send("From: Me <verified@example.com>\r\nReply-To: keep@example.test\r\n\r\nx\r\n.\r\n")
        check(c.reply()[0] == 250, "verified sender: accepted")
        c.close()
        msgs = sorted(h.messages().values(), key=lambda m: m[0]["Id"])
        check(len(msgs) == 2, "two messages stored")
        env, content = msgs[0]
        check(env["Sender"] == "verified@example.com", "envelope sender rewritten")
        check(env.get("OriginalSender") == "scanner@local", "original sender kept with the message")
        check(b"\r\nFrom: Office Scanner <verified@example.com>\r\n" in content,
              "From: rewritten, the display name kept")
        check(b"\r\nReply-To: Office Scanner <scanner@local>\r\n" in content, "Reply-To: has the device's From")
        env, content = msgs[1]
        check(env["Sender"] == "verified@example.com" and "OriginalSender" not in env,
              "the verified sender is not rewritten")
        check(b"From: Me <verified@example.com>" in content and content.count(b"Reply-To:") == 1,
              "its headers stay as they were")
        # A device's notice with the null sender (<>): sent as the verified
        # sender too, and the log says what the device gave.
        code, (env, _) = send_raw(h, "printer", "", "From: printer@local\r\nSubject: toner low\r\n\r\nx\r\n.\r\n")
        check(code == 250, "null sender: accepted")
        check(env.get("Sender") == "verified@example.com", "null sender: sent as the verified sender")
        line = h.read_until(lambda l: bool(env) and "Accepted message %s " % env["Id"] in l)
        check("(sender <>, sent as verified@example.com)" in line, "the log shows the null sender as <>: " + line)


def make_cert(tmp):
    key = os.path.join(tmp, "key.pem")
    cert = os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_starttls_auth():
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(tmp)
        with Harness(args=["--tls-cert", cert, "--tls-key", key, "--auth", "device:s3cret-pw",
                           "--auth-required"]) as h:
            c = RawClient(h.port)
            c.reply()
            code, text = c.cmd("EHLO clear")
            check("STARTTLS" in text and "AUTH" not in text, "in clear: STARTTLS offered, AUTH not")
            check(c.cmd("AUTH PLAIN AGRldmljZQBzM2NyZXQtcHc=")[0] == 538, "AUTH in clear: 538")
            check(c.cmd("MAIL FROM:<a@example.test>")[0] == 530, "MAIL without AUTH refused: 530")
            c.close()

            ctx = ssl.create_default_context(cafile=cert)
            with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as s:
                s.starttls(context=ctx)
                s.ehlo("tls")
                check(s.has_extn("auth") and not s.has_extn("starttls"), "inside TLS: AUTH offered")
                check("AUTH=PLAIN LOGIN" in s.ehlo_resp.decode(),
                      "AUTH also in the form old clients look for (AUTH=)")
                try:
                    s.login("device", "wrong")
                    check(False, "a wrong password is refused")
                except smtplib.SMTPAuthenticationError as e:
                    check(e.smtp_code == 535, "a wrong password is refused with 535")
                s.login("device", "s3cret-pw")
                check(s.sendmail("a@example.test", ["b@example.test"], "Subject: tls\r\n\r\nsecure\r\n") == {},
                      "mail after STARTTLS + AUTH accepted")
            r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % h.port, "--tls", "--tls-verify",
                                "--tls-ca-path", cert, "--auth", "LOGIN", "--auth-user", "device",
                                "--auth-password", "s3cret-pw", "--to", "c@example.test",
                                "--from", "a@example.test", "--timeout", "30"],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, "swaks STARTTLS + AUTH LOGIN accepted")
            msgs = h.messages()
            check(len(msgs) == 2, "two messages stored")
            check(all(b"with ESMTPSA" in m[1] for m in msgs.values()), "Received: says ESMTPSA")
            # Command injection after STARTTLS is discarded.
            c = RawClient(h.port)
            c.reply()
            c.cmd("EHLO x")
            c.send("STARTTLS\r\nRSET\r\n")
            check(c.reply()[0] == 220, "STARTTLS 220")
            tls = ctx.wrap_socket(c.sock, server_hostname="localhost")
            tls.sendall(b"NOOP\r\n")
            data = tls.recv(4096)
            check(data.startswith(b"250"), "the plaintext RSET sent with STARTTLS was not run inside TLS")
            tls.close()
            code, stderr = h.stop()
            check("s3cret-pw" not in "\n".join(h.lines) + stderr, "the password never appears in the log")


def test_empty_password_refused():
    """Local credentials with an empty password, set by mistake: nobody signs
    in with it, not even with the right user name and an empty password."""
    with Harness(args=["--auth", "device:", "--auth-plain", "--auth-required"]) as h:
        c = RawClient(h.port)
        c.reply()
        code, text = c.cmd("EHLO clear")
        check("AUTH" in text, "AUTH offered in clear with --auth-plain")
        # AUTH PLAIN of "\0device\0" (an empty password).
        check(c.cmd("AUTH PLAIN AGRldmljZQA=")[0] == 535, "an empty password is refused with 535")
        check(c.cmd("MAIL FROM:<a@example.test>")[0] == 530, "MAIL still refused: 530")
        c.close()


def test_local_certificate():
    """STARTTLS with the certificate the relay makes itself on first use; a
    client that pins its fingerprint connects."""
    with tempfile.TemporaryDirectory() as tmp:
        fingerprints = []
        for round in ("created", "loaded"):
            with Harness(args=["--local-cert", tmp]) as h:
                line = [l for l in h.lines if l.startswith("FINGERPRINT ")]
                if not line:
                    line = [h.read_until(lambda l: l.startswith("FINGERPRINT "))]
                _, fingerprint, how = line[0].split()
                check(how == round, "the relay's certificate is %s" % round)
                fingerprints.append(fingerprint)
                with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as s:
                    s.starttls(context=support.unverified_tls_context())
                    check(support.served_fingerprint(s.sock) == fingerprint, "the certificate served is the one with the shown fingerprint")
                    check(s.sendmail("a@example.test", ["b@example.test"], "Subject: t\r\n\r\nx\r\n") == {},
                          "mail over STARTTLS with the relay's own certificate")
                # An old printer's TLS: version 1.0 and RSA cipher suites only,
                # the plain RSA key exchange among them.
                for suite in ("AES128-SHA", "ECDHE-RSA-AES128-SHA"):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1
                        old = support.unverified_tls_context()
                        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1
                    old.set_ciphers(suite + ":@SECLEVEL=0")
                    with smtplib.SMTP("127.0.0.1", h.port, timeout=30) as s:
                        try:
                            s.starttls(context=old)
                        except (ssl.SSLError, smtplib.SMTPServerDisconnected, OSError) as e:
                            check(False, "an old device (TLS 1.0, %s) secures its connection: %s" % (suite, e))
                            continue
                        check(s.sock.cipher()[0] == suite, "an old device's connection uses %s" % suite)
                        check(s.sendmail("a@example.test", ["b@example.test"], "Subject: t\r\n\r\nx\r\n") == {},
                              "an old device's mail over TLS 1.0 with %s" % suite)
        check(fingerprints[0] == fingerprints[1], "the certificate is kept between runs")
        key = os.path.join(tmp, "relay-key.pem")
        check(os.stat(key).st_mode & 0o777 == 0o600, "its key is readable by the user only")


def test_tls_on_connect():
    """Devices that offer only "SSL" (TLS from the first byte, as on port
    465): Python's smtplib (SMTP_SSL), swaks (--tls-on-connect) and curl
    (smtps://) send with the certificate's fingerprint checked, sign in
    inside TLS, and are told no STARTTLS there; with STARTTLS turned off the
    plain port does not offer it (devices that try it whenever offered and
    fail at it then send in clear).  A client that speaks in clear on the TLS
    port is dropped, and the relay goes on serving.  One from an address that
    is not allowed is closed at once there, never answered in clear."""
    import hashlib
    with tempfile.TemporaryDirectory() as tmp:
        with Harness(args=["--local-cert", tmp, "--listen-tls", "127.0.0.1:0", "--no-starttls",
                           "--auth", "device:s3cret-pw", "--allow", "127.0.0.1/32"]) as h:
            # Printed before the port, which the harness waited for.
            fingerprint = [l for l in h.lines if l.startswith("FINGERPRINT ")][0].split()[1]
            line = [l for l in h.lines if "secured from the start (TLS)" in l][0]
            check(line.startswith("LOG Listening for mail secured from the start (TLS) on 127.0.0.1 port "),
                  "the log says where mail is taken secured from the start: %s" % line)
            tls_port = int(line.rsplit(" ", 1)[1])

            c = RawClient(h.port)
            c.reply()
            code, text = c.cmd("EHLO clear")
            check("STARTTLS" not in text and "AUTH" not in text,
                  "plain port with STARTTLS turned off: neither STARTTLS nor AUTH offered")
            check(c.cmd("STARTTLS")[0] == 502, "STARTTLS refused there: 502")
            c.close()

            ctx = support.unverified_tls_context()
            with smtplib.SMTP_SSL("127.0.0.1", tls_port, timeout=30, context=ctx) as s:
                der = s.sock.getpeercert(binary_form=True)
                check(support.served_fingerprint(s.sock) == fingerprint, "the TLS port serves the certificate with the shown fingerprint")
                s.ehlo("tls")
                check(s.has_extn("auth") and not s.has_extn("starttls"),
                      "inside TLS from the start: AUTH offered, STARTTLS not")
                check(s.docmd("STARTTLS")[0] == 503, "STARTTLS inside TLS: 503")
                s.login("device", "s3cret-pw")
                check(s.sendmail("a@example.test", ["b@example.test"], "Subject: ssl\r\n\r\nsecure\r\n") == {},
                      "smtplib: mail over TLS from the start, signed in")

            # An address that is not allowed: a refusal in clear would reach
            # the device's TLS as garbage ("wrong version number").
            c = RawClient(tls_port, bind="127.0.0.5", timeout=10)
            check(c.sock.recv(4096) == b"", "from an address not allowed, the TLS port closes at once, nothing said")
            c.close()
            h.read_until(lambda l: "Refused a connection from 127.0.0.5" in l)
            try:
                smtplib.SMTP_SSL("127.0.0.1", tls_port, source_address=("127.0.0.5", 0), timeout=10, context=ctx)
                check(False, "SMTP_SSL from an address not allowed is refused")
            except (OSError, smtplib.SMTPException) as e:
                check("WRONG_VERSION_NUMBER" not in str(e),
                      "SMTP_SSL from an address not allowed sees the connection closed, not clear text: %r" % e)

            # A client that speaks in clear to the TLS port.
            c = RawClient(tls_port, timeout=10)
            c.send("EHLO clear\r\n")
            try:
                data = c.sock.recv(4096)
                check(not data.startswith(b"220") and not data.startswith(b"250"),
                      "a client in clear on the TLS port gets no SMTP reply")
            except OSError:
                check(True, "a client in clear on the TLS port gets no SMTP reply")
            c.close()
            line = h.read_until(lambda l: "did not start its connection with TLS" in l)
            check(line.startswith("LOG The device at 127.0.0.1 did not start its connection with TLS (")
                  and line.endswith("). On this port it must use SSL/TLS; for plain mail or STARTTLS, set it to "
                                    "the relay's other port."),
                  "the log says in words why a device in clear on the TLS port failed: %s" % line)

            r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % tls_port, "--tls-on-connect",
                                "--auth", "LOGIN", "--auth-user", "device", "--auth-password", "s3cret-pw",
                                "--to", "c@example.test", "--from", "a@example.test", "--timeout", "30"],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, "swaks --tls-on-connect with AUTH LOGIN accepted: " + r.stdout[-300:])
            body = os.path.join(tmp, "mail.txt")
            with open(body, "w") as f:
                f.write("From: a@example.test\r\nTo: d@example.test\r\nSubject: curl\r\n\r\nvia smtps\r\n")
            pin = "sha256//" + base64.b64encode(hashlib.sha256(_public_key_der(der)).digest()).decode()
            r = subprocess.run(["curl", "-sS", "--insecure", "--pinnedpubkey", pin,
                                "smtps://127.0.0.1:%d" % tls_port, "--user", "device:s3cret-pw",
                                "--mail-from", "a@example.test", "--mail-rcpt", "d@example.test",
                                "--upload-file", body, "--max-time", "30"],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, "curl smtps:// with the relay's key pinned accepted: " + r.stderr)
            msgs = h.messages()
            check(len(msgs) == 3, "three messages stored")
            check(all(b"with ESMTPSA" in m[1] for m in msgs.values()), "Received: says ESMTPSA")
            code, stderr = h.stop()
            check("s3cret-pw" not in "\n".join(h.lines) + stderr, "the password never appears in the log")


def _public_key_der(cert_der):
    """The certificate's SubjectPublicKeyInfo, as curl's --pinnedpubkey hashes it."""
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-pubkey"], input=cert_der,
                       capture_output=True, timeout=30, check=True)
    r = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=r.stdout,
                       capture_output=True, timeout=30, check=True)
    return r.stdout


def main():
    with Harness() as h:
        test_swaks_pipelining(h)
        test_smtplib(h)
        test_curl(h)
        test_old_devices(h)
        test_pipelined_batch(h)
        test_no_headers(h)
        test_errors(h)
        test_smuggling(h)
        test_long_text_line(h)
        test_utf8(h)
        test_disconnect_mid_data(h)
        test_bare_lf_client(h)
    test_allowed_ranges()
    test_out_of_descriptors()
    test_listen_addresses()
    test_open_relay_refused()
    test_connection_cap()
    test_idle_timeout()
    test_sender_rewrite()
    test_starttls_auth()
    test_empty_password_refused()
    test_local_certificate()
    test_tls_on_connect()
    return t.report()


if __name__ == "__main__":
    sys.exit(main())
