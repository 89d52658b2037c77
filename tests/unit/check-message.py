#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reads a message written by Postgate's message builder with Python's own
MIME parser and checks it against what was asked for.

Usage: check-message.py MESSAGE EXPECTATIONS.json

The expectations file holds: from_name, from_addr, to ([name, addr] pairs),
subject (as it must decode, token included), message_id, date (seconds since
the epoch, or null), text, html (or null), attachments (list of
{filename, content_type, path}).  Exit status 0 when everything matches.
"""

import email
import email.policy
import email.utils
import json
import sys


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def normalise(text):
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def check_wire(raw):
    check(raw.endswith(b"\r\n"), "message does not end with CRLF")
    stripped = raw.replace(b"\r\n", b"")
    check(b"\r" not in stripped, "bare CR in message")
    check(b"\n" not in stripped, "bare LF in message")
    for number, line in enumerate(raw.split(b"\r\n"), 1):
        check(len(line) <= 998, f"line {number} is {len(line)} bytes long")
        check(all(b < 128 for b in line), f"line {number} is not 7-bit: {line[:80]!r}")
        check(b"\0" not in line, f"NUL byte on line {number}")
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    for number, line in enumerate(header_block.split(b"\r\n"), 1):
        # Folded: the tests use no unbreakable word that would need more.
        check(len(line) <= 78, f"header line {number} is over 78 characters: {line!r}")
        if b"=?" in line:
            check(len(line) <= 76, f"header line {number} with encoded-words is over 76: {line!r}")
            for word in line.split():
                if word.startswith(b"=?"):
                    check(len(word) <= 75, f"encoded-word over 75 characters: {word!r}")


def main():
    if len(sys.argv) != 3:
        fail("usage: check-message.py MESSAGE EXPECTATIONS.json")
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    with open(sys.argv[2], encoding="utf-8") as f:
        want = json.load(f)

    check_wire(raw)

    msg = email.message_from_bytes(raw, policy=email.policy.default)

    # Headers decode back to what was given.
    for name in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version"):
        check(len(msg.get_all(name, [])) == 1, f"header {name} must appear once")
    check(str(msg["MIME-Version"]) == "1.0", "MIME-Version is not 1.0")
    check(str(msg["Subject"]) == want["subject"], f"Subject is {str(msg['Subject'])!r}, want {want['subject']!r}")
    sender = msg["From"].addresses
    check(len(sender) == 1, "From must hold one address")
    check(sender[0].display_name == (want["from_name"] or ""),
          f"From name is {sender[0].display_name!r}, want {want['from_name']!r}")
    check(sender[0].addr_spec == want["from_addr"], f"From address is {sender[0].addr_spec!r}")
    recipients = [(a.display_name, a.addr_spec) for a in msg["To"].addresses]
    wanted = [(n or "", a) for n, a in want["to"]]
    check(recipients == wanted, f"To is {recipients!r}, want {wanted!r}")
    check(str(msg["Message-ID"]).strip() == want["message_id"],
          f"Message-ID is {str(msg['Message-ID'])!r}, want {want['message_id']!r}")
    date = msg["Date"].datetime
    check(date is not None and date.tzinfo is not None, "Date does not parse")
    if want.get("date") is not None:
        check(int(date.timestamp()) == want["date"], f"Date is {date}, want {want['date']}")

    # No part of the message made the parser stumble.
    for part in msg.walk():
        check(not part.defects, f"parser found defects in {part.get_content_type()}: {part.defects}")
        cte = part.get("Content-Transfer-Encoding", "7bit").lower()
        check(cte in ("7bit", "quoted-printable", "base64"), f"transfer encoding {cte}")
        if part.get_content_maintype() == "multipart":
            boundary = part.get_boundary()
            check(boundary is not None, "multipart without boundary")

    # Structure.
    attachments = want["attachments"]
    text, html = want["text"], want["html"]
    if attachments:
        check(msg.get_content_type() == "multipart/mixed", f"top is {msg.get_content_type()}")
    elif text is not None and html is not None:
        check(msg.get_content_type() == "multipart/alternative", f"top is {msg.get_content_type()}")
    elif html is not None:
        check(msg.get_content_type() == "text/html", f"top is {msg.get_content_type()}")
    else:
        check(msg.get_content_type() == "text/plain", f"top is {msg.get_content_type()}")

    if text is not None:
        body = msg.get_body(preferencelist=("plain",))
        check(body is not None, "no text/plain part")
        check(body.get_content_charset() == "utf-8", "text part is not UTF-8")
        check(normalise(body.get_content()) == normalise(text),
              f"text differs: {body.get_content()[:200]!r} vs {text[:200]!r}")
    if html is not None:
        body = msg.get_body(preferencelist=("html",))
        check(body is not None, "no text/html part")
        check(normalise(body.get_content()) == normalise(html), "HTML differs")
    if text is not None and html is not None:
        alternative = msg if not attachments else msg.get_payload()[0]
        check(alternative.get_content_type() == "multipart/alternative", "text and HTML are not alternatives")
        kinds = [p.get_content_type() for p in alternative.iter_parts()]
        check(kinds == ["text/plain", "text/html"], f"alternative parts are {kinds}")

    got = list(msg.iter_attachments())
    check(len(got) == len(attachments), f"{len(got)} attachments, want {len(attachments)}")
    for part, expected in zip(got, attachments):
        check(part.get_filename() == expected["filename"],
              f"attachment name {part.get_filename()!r}, want {expected['filename']!r}")
        check(part.get_content_type() == expected["content_type"],
              f"attachment type {part.get_content_type()}, want {expected['content_type']}")
        check(part.get_content_disposition() == "attachment", "attachment is not marked as one")
        with open(expected["path"], "rb") as f:
            original = f.read()
        check(part.get_payload(decode=True) == original, f"bytes of {expected['filename']} differ")
        for line in part.get_payload().splitlines():
            check(len(line) <= 76, "base64 line over 76 characters")

    print("ok")


if __name__ == "__main__":
    main()
