#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An outgoing server for the relay's tests: aiosmtpd, optionally behind
STARTTLS with AUTH, that writes one JSON line per event to a log file (every
connection, every message taken with its Message-ID and recipients) and can
answer badly on cue.

  test-relay-upstream.py --port-file F --log F [--port N] [--tls-cert C --tls-key K]
      [--auth USER:PASSWORD] [--tempfail-first N] [--reject-data]
      [--reject-rcpt ADDR]… [--tempfail-rcpt-once ADDR]… [--data-delay S] [--time-limit S]

--data-delay S waits S seconds before answering the end of DATA.
--tempfail-first N answers 451 to the end of DATA for the first N tries of
every Message-ID; --reject-data answers 554 to every message.
"""

import argparse
import logging
import asyncio
import json
import time
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd warns about its own use of a deprecated attribute at every AUTH.
logging.getLogger("mail.log").setLevel(logging.ERROR)

MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class Log:
    def __init__(self, path):
        self.file = open(path, "a", buffering=1)

    def write(self, **event):
        event["time"] = time.time()
        self.file.write(json.dumps(event) + "\n")


class Handler:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.tries = {}
        self.rcpt_tries = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.reject_rcpt:
            return "550 5.1.1 No such user here"
        if address in self.args.tempfail_rcpt_once:
            seen = self.rcpt_tries.get(address, 0)
            self.rcpt_tries[address] = seen + 1
            if seen == 0:
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or b""
        head = content.split(b"\r\n\r\n", 1)[0]
        match = MESSAGE_ID.search(head)
        message_id = match.group(1).decode("utf-8", "replace") if match else None
        if self.args.data_delay:
            await asyncio.sleep(self.args.data_delay)
        if self.args.reject_data:
            self.log.write(event="rejected", message_id=message_id)
            return "554 5.7.1 Message refused by policy"
        key = message_id or str(len(content))
        tries = self.tries.get(key, 0)
        self.tries[key] = tries + 1
        if tries < self.args.tempfail_first:
            self.log.write(event="tempfail", message_id=message_id)
            return "451 4.3.0 Temporary local problem, try again"
        self.log.write(event="message", message_id=message_id, sender=envelope.mail_from,
                       rcpts=list(envelope.rcpt_tos), size=len(content),
                       authenticated=bool(getattr(session, "authenticated", False)),
                       tls=session.ssl is not None)
        return "250 2.0.0 OK queued"


def authenticator(expected_user, expected_password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == expected_user
              and auth_data.password.decode() == expected_password)
        # handled=False: aiosmtpd then answers a refusal with 535 itself (by
        # default it takes the authenticator to have answered, and says nothing).
        return AuthResult(success=ok, handled=False)
    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--auth")
    parser.add_argument("--tempfail-first", type=int, default=0)
    parser.add_argument("--reject-data", action="store_true")
    parser.add_argument("--data-delay", type=float, default=0)
    parser.add_argument("--reject-rcpt", action="append", default=[])
    parser.add_argument("--tempfail-rcpt-once", action="append", default=[])
    parser.add_argument("--time-limit", type=float, default=120)
    args = parser.parse_args()

    log = Log(args.log)
    handler = Handler(args, log)
    kwargs = {"data_size_limit": 60 * 1024 * 1024, "enable_SMTPUTF8": True,
              "ident": "test-upstream"}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs.update(authenticator=authenticator(user, password), auth_required=True,
                      auth_require_tls=bool(args.tls_cert))

    def factory():
        log.write(event="connect")
        return SMTP(handler, **kwargs)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", args.port, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, args.port_file)

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    try:
        await asyncio.wait_for(stop, args.time_limit)
    except asyncio.TimeoutError:
        print("upstream: time limit reached", file=sys.stderr)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
