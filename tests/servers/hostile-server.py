#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An SMTP server that misbehaves on purpose, for the client's defences.

It binds 127.0.0.1 (or ::1 with --ipv6) on a port the system picks, prints one
JSON line {"port": N} on stdout, and serves until killed or until
--max-lifetime seconds (default 60) have passed.

  /usr/bin/python3 hostile-server.py --behaviour NAME [--log FILE]
                                     [--delay SECONDS] [--max-lifetime SECONDS]

Behaviours (the rest of the conversation is a minimal but correct SMTP server
that offers PIPELINING and AUTH PLAIN LOGIN, accepts any password, and
answers 250 to everything):
  garbage              greets with bytes that are not SMTP
  overlong-line        greets with "220 " followed by 1 MiB without a line end
  close-mid-reply      sends half of its EHLO reply, then closes
  starttls-inject      offers STARTTLS and answers it with
                       "220 go\\r\\n250 injected\\r\\n" in one write (a
                       client must not carry the extra line into TLS)
  never-answer         accepts the connection and never sends anything
  no-starttls-offered  a server without STARTTLS (offers AUTH in clear)
  slow                 waits --delay seconds (default 2) before each reply
  refuse-rcpt-then-354 refuses every RCPT (550) yet answers DATA with 354
  trickle              sends every reply one byte at a time
  normal               none of the above
--log FILE records every line received ("C: line"), and "=== connect" per
connection, so a test can check what reached the server.
"""

import argparse
import asyncio
import json
import os
import signal
import sys


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--behaviour", "--behavior", required=True,
                   choices=["garbage", "overlong-line", "close-mid-reply", "starttls-inject",
                            "never-answer", "no-starttls-offered", "slow", "refuse-rcpt-then-354",
                            "trickle", "normal"])
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("--delay", type=float, default=2.0)
    p.add_argument("--max-lifetime", type=float, default=60)
    p.add_argument("--log")
    return p.parse_args()


ARGS = None
LOG = None


def log(text):
    if LOG:
        LOG.write(text + "\n")
        LOG.flush()


async def reply(writer, text):
    if ARGS.behaviour == "slow":
        await asyncio.sleep(ARGS.delay)
    if ARGS.behaviour == "trickle":
        data = text.encode() if isinstance(text, str) else text
        for i in range(len(data)):
            writer.write(data[i:i + 1])
            await writer.drain()
            # Every other byte at once, the rest after a pause: the client
            # sees both bytes waiting and bytes still to come.
            if i % 2:
                await asyncio.sleep(0.001)
        return
    writer.write(text.encode() if isinstance(text, str) else text)
    await writer.drain()


async def session(reader, writer):
    peer = writer.get_extra_info("peername")
    log("=== connect %s %s" % (peer[0], peer[1]))
    behaviour = ARGS.behaviour
    try:
        if behaviour == "never-answer":
            while await reader.read(65536):
                pass
            return
        if behaviour == "garbage":
            writer.write(b"\x16\x03\x01\x00\xa5 this is not SMTP \xff\xfe\r\n")
            await writer.drain()
        elif behaviour == "overlong-line":
            writer.write(b"220 " + b"x" * (1024 * 1024))
            await writer.drain()
            writer.write(b"\r\n")
            await writer.drain()
        else:
            await reply(writer, "220 hostile.localhost ESMTP ready\r\n")

        in_data = False
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                return
            text = line.decode("latin-1").rstrip("\r\n")
            log("C: " + text)
            if in_data:
                if text == ".":
                    in_data = False
                    await reply(writer, "250 2.0.0 OK\r\n")
                continue
            verb = text.split(" ", 1)[0].upper()
            if verb == "EHLO":
                if behaviour == "close-mid-reply":
                    writer.write(b"250-hostile.localhost\r\n250-PIPEL")
                    await writer.drain()
                    writer.close()
                    return
                caps = ["250-hostile.localhost", "250-PIPELINING", "250-8BITMIME"]
                if behaviour == "starttls-inject":
                    caps.append("250-STARTTLS")
                caps.append("250 AUTH PLAIN LOGIN")
                await reply(writer, "\r\n".join(caps) + "\r\n")
            elif verb == "HELO":
                await reply(writer, "250 hostile.localhost\r\n")
            elif verb == "STARTTLS":
                if behaviour == "starttls-inject":
                    writer.write(b"220 go\r\n250 injected\r\n")
                    await writer.drain()
                    # Whatever follows would be a TLS handshake: wait for
                    # the client to give up.
                    while await reader.read(65536):
                        pass
                    return
                await reply(writer, "454 4.7.0 TLS not available\r\n")
            elif verb == "AUTH":
                parts = text.split()
                if len(parts) == 2 and parts[1].upper() == "LOGIN":
                    await reply(writer, "334 VXNlcm5hbWU6\r\n")
                    log("C: " + (await reader.readline()).decode("latin-1").rstrip("\r\n"))
                    await reply(writer, "334 UGFzc3dvcmQ6\r\n")
                    log("C: " + (await reader.readline()).decode("latin-1").rstrip("\r\n"))
                await reply(writer, "235 2.7.0 OK\r\n")
            elif verb == "RCPT" and behaviour == "refuse-rcpt-then-354":
                await reply(writer, "550 5.1.1 No such user\r\n")
            elif verb == "DATA":
                in_data = True
                await reply(writer, "354 go ahead\r\n")
            elif verb == "QUIT":
                await reply(writer, "221 2.0.0 bye\r\n")
                writer.close()
                return
            else:
                await reply(writer, "250 2.0.0 OK\r\n")
    finally:
        try:
            writer.close()
        except Exception:
            pass


def main():
    global ARGS, LOG
    ARGS = parse_args()
    LOG = open(ARGS.log, "a", encoding="utf-8", errors="backslashreplace") if ARGS.log else None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    host = "::1" if ARGS.ipv6 else "127.0.0.1"
    server = loop.run_until_complete(asyncio.start_server(session, host, 0, limit=1 << 20))
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop.call_later(ARGS.max_lifetime, loop.stop)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.run_forever()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
