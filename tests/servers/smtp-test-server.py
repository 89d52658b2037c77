#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scriptable SMTP server for tests, built on aiosmtpd (a real SMTP server).

It binds 127.0.0.1 (or ::1 with --ipv6) on a port the system picks (or --port), then prints
one JSON line on stdout, {"port": N}, and serves until killed, or until
--max-lifetime seconds have passed (then it exits by itself, status 0).

  /usr/bin/python3 smtp-test-server.py [options]

Options
  --ipv6                   listen on ::1 instead of 127.0.0.1
  --port N                 listen on port N (only in a network namespace of
                           the test's own: a fixed port may be taken otherwise)
  --tls-mode MODE          none (default) | starttls | implicit
  --cert FILE --key FILE   server certificate and key (PEM) for starttls/implicit
                           (tests/servers/make-certs.sh makes them)
  --require-starttls       refuse every command but EHLO/HELO/NOOP/QUIT/STARTTLS
                           before TLS (530)
  --auth "MECHS"           offer AUTH with these mechanisms, space separated,
                           from PLAIN LOGIN CRAM-MD5 XOAUTH2 (e.g. "PLAIN LOGIN")
  --user NAME              the accepted user name (default: "user")
  --password-file FILE     the accepted password, first line of FILE
                           (default: the fixed test password "s3cret-Pa55")
  --token TOKEN            the accepted XOAUTH2 token (default: "ya29.test-token");
                           a wrong token gets a 334 with a base64 JSON error,
                           then 535 after the client's empty line
  --auth-require-tls       offer AUTH only inside TLS (538 in clear)
  --auth-required          refuse MAIL before AUTH (530)
  --size N                 advertise and enforce SIZE N (default 0: no SIZE)
  --no-pipelining          do not advertise PIPELINING (it is by default)
  --smtputf8               advertise SMTPUTF8
  --no-ehlo                answer EHLO with 502, so clients must use HELO
  --reply-rcpt ADDR=CODE   answer RCPT TO:<ADDR> with CODE (4xx or 5xx);
                           repeatable
  --reply-mail CODE TEXT   answer every MAIL with "CODE TEXT"
  --reply-data CODE TEXT   answer the end of every DATA with "CODE TEXT"
  --delay-greeting SECONDS wait before the 220 greeting
  --max-lifetime SECONDS   hard exit after this long (default 60)
  --maildir DIR            store each accepted message as DIR/N.eml (the bytes
                           after the final dot is removed and dots unstuffed)
                           and DIR/N.json ({"from", "to", "options"})
  --log FILE               record everything received, line by line:
                             "=== connect HOST PORT"     a new connection
                             "--- read N tls|clear"      one read of N bytes
                             "C: line" / "T: line"       a line received in
                                                         clear / inside TLS
                           (a line split across two reads shows as two)
Exit status is 0 unless it could not start.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd warns about its own deprecated attributes and about AUTH without
# TLS, which the tests do on purpose.
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)

DEFAULT_PASSWORD = "s3cret-Pa55"
DEFAULT_TOKEN = "ya29.test-token"


def parse_args():
    p = argparse.ArgumentParser(description="SMTP test server")
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-mode", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth", default="")
    p.add_argument("--user", default="user")
    p.add_argument("--password-file")
    p.add_argument("--token", default=DEFAULT_TOKEN)
    p.add_argument("--auth-require-tls", action="store_true")
    p.add_argument("--auth-required", action="store_true")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--no-ehlo", action="store_true")
    p.add_argument("--reply-rcpt", action="append", default=[])
    p.add_argument("--reply-mail", nargs=2, metavar=("CODE", "TEXT"))
    p.add_argument("--reply-data", nargs=2, metavar=("CODE", "TEXT"))
    p.add_argument("--delay-greeting", type=float, default=0)
    p.add_argument("--max-lifetime", type=float, default=60)
    p.add_argument("--maildir")
    p.add_argument("--log")
    return p.parse_args()


class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8", errors="backslashreplace") if path else None

    def write(self, text):
        if self.file:
            self.file.write(text + "\n")
            self.file.flush()

    def data(self, data, in_tls):
        if not self.file:
            return
        self.write("--- read %d %s" % (len(data), "tls" if in_tls else "clear"))
        prefix = "T: " if in_tls else "C: "
        text = data.decode("latin-1")
        for line in text.split("\n"):
            if line == "":
                continue
            self.write(prefix + line.rstrip("\r"))


class Handler:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.count = 0
        self.rcpt_replies = {}
        for item in args.reply_rcpt:
            addr, _, code = item.rpartition("=")
            self.rcpt_replies[addr.lower()] = int(code)
        if args.password_file:
            with open(args.password_file, encoding="utf-8") as f:
                self.password = f.readline().rstrip("\r\n")
        else:
            self.password = DEFAULT_PASSWORD
        self.mechanisms = [m.upper() for m in args.auth.split()]

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        last = responses.pop()  # "250 HELP"
        if not self.args.no_pipelining:
            responses.append("250-PIPELINING")
        responses.append("250-ENHANCEDSTATUSCODES")
        responses.append(last)
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.args.reply_mail:
            return "%s %s" % tuple(self.args.reply_mail)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        code = self.rcpt_replies.get(address.lower())
        if code:
            klass = "5" if code >= 500 else "4"
            return "%d %s.1.1 <%s>: Recipient address rejected" % (code, klass, address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.reply_data:
            return "%s %s" % tuple(self.args.reply_data)
        self.count += 1
        if self.args.maildir:
            base = os.path.join(self.args.maildir, str(self.count))
            with open(base + ".tmp", "wb") as f:
                f.write(envelope.original_content)
            os.rename(base + ".tmp", base + ".eml")
            meta = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                    "options": envelope.mail_options}
            with open(base + ".json.tmp", "w", encoding="utf-8") as f:
                json.dump(meta, f)
            os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK queued as test-%d" % self.count

    # Mechanisms aiosmtpd does not have: handler methods auth_<NAME>, "__"
    # standing for "-".
    async def auth_CRAM__MD5(self, server, args):
        challenge = "<%s.%d@postgate-test.localhost>" % (secrets.token_hex(8), int(time.time()))
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=True)
        user, _, digest = answer.decode("utf-8", "replace").partition(" ")
        expected = hmac.new(self.password.encode(), challenge.encode(), hashlib.md5).hexdigest()
        ok = user == self.args.user and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user.encode(), b""))

    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            blob = args[1]
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            blob = base64.b64encode(answer).decode()
        try:
            text = base64.b64decode(blob, validate=True).decode("utf-8")
        except Exception:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode")
        fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
        ok = (fields.get("user") == self.args.user
              and fields.get("auth") == "Bearer " + self.args.token)
        if ok:
            return AuthResult(success=True, auth_data=LoginPassword(self.args.user.encode(), b""))
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.example.test/"})
        # The client answers the error challenge with an empty line.
        await server.challenge_auth(error.encode())
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not accepted")


def make_authenticator(handler):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (auth_data.login.decode("utf-8", "replace") == handler.args.user
              and hmac.compare_digest(auth_data.password, handler.password.encode()))
        return AuthResult(success=ok, handled=False)
    return authenticator


class TestSMTP(SMTP):
    """aiosmtpd's server, with a log of what it receives, a slow greeting and
    a HELO-only mode."""

    options = None
    logger = None
    implicit_tls = False

    def connection_made(self, transport):
        if self._original_transport is None and self.transport is None:
            peer = transport.get_extra_info("peername")
            self.logger.write("=== connect %s %s" % (peer[0], peer[1]))
        super().connection_made(transport)

    def data_received(self, data):
        self.logger.data(data, self.implicit_tls or self._tls_protocol is not None)
        super().data_received(data)

    async def _handle_client(self):
        if self.options.delay_greeting:
            await asyncio.sleep(self.options.delay_greeting)
        await super()._handle_client()

    async def smtp_EHLO(self, hostname):
        if self.options.no_ehlo:
            await self.push("502 5.5.2 Error: command not recognized")
            return
        await super().smtp_EHLO(hostname)


def main():
    args = parse_args()
    log = Log(args.log)
    handler = Handler(args, log)

    tls_context = None
    if args.tls_mode != "none":
        if not (args.cert and args.key):
            print("--cert and --key are needed for TLS", file=sys.stderr)
            return 2
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    exclude = [m for m in ("PLAIN", "LOGIN") if m not in handler.mechanisms]
    if not handler.mechanisms:
        exclude = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]
    else:
        exclude += [m for m in ("CRAM-MD5", "XOAUTH2") if m not in handler.mechanisms]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    class Server(TestSMTP):
        options = args
        logger = log
        implicit_tls = args.tls_mode == "implicit"

    def factory():
        return Server(
            handler,
            hostname="postgate-test.localhost",
            ident="Postgate test server",
            data_size_limit=args.size or None,
            enable_SMTPUTF8=args.smtputf8,
            tls_context=tls_context if args.tls_mode == "starttls" else None,
            require_starttls=args.require_starttls,
            auth_required=args.auth_required,
            auth_require_tls=args.auth_require_tls,
            auth_exclude_mechanism=exclude,
            authenticator=make_authenticator(handler),
            timeout=args.max_lifetime,
            loop=loop,
        )

    host = "::1" if args.ipv6 else "127.0.0.1"
    server = loop.run_until_complete(loop.create_server(
        factory, host=host, port=args.port,
        ssl=tls_context if args.tls_mode == "implicit" else None))
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)

    loop.call_later(args.max_lifetime, loop.stop)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.run_forever()
    # Hard exit: open connections and their tasks are not worth a clean
    # shutdown in a test.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
