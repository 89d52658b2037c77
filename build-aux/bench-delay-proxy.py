#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TCP proxy that holds every chunk for a fixed delay in each direction, so
that round trips dominate a benchmark where the kernel lacks netem.

  bench-delay-proxy.py --target-port N [--target-host H] --delay-ms MS
                       [--stats FILE] [--max-lifetime SECONDS] [--trace]

Listens on 127.0.0.1, on a port the system picks, and prints {"port": N} on
stdout.  Each connection is forwarded to the target; bytes keep their order,
and each chunk is released DELAY ms after it arrived.

With --stats, one JSON line per finished connection is appended to FILE:
  client_chunks / server_chunks   reads seen from each side
  client_bytes / server_bytes
  turns   how often the direction of traffic changed from the client to the
          server's answer: each such change is one round trip the client
          waited for (the greeting counts as the first)
"""

import argparse
import asyncio
import json
import os
import signal
import sys


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--target-host", default="127.0.0.1")
    p.add_argument("--target-port", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=25)
    p.add_argument("--stats")
    p.add_argument("--max-lifetime", type=float, default=600)
    p.add_argument("--trace", action="store_true",
                   help="print each chunk (time, side, size) on stderr")
    return p.parse_args()


class Stats:
    def __init__(self, trace=False):
        self.trace = trace
        self.start = None
        self.client_chunks = 0
        self.server_chunks = 0
        self.client_bytes = 0
        self.server_bytes = 0
        self.turns = 0
        self.last = None  # "client" or "server"

    def seen(self, side, n):
        if self.trace:
            now = asyncio.get_running_loop().time()
            if self.start is None:
                self.start = now
            arrow = "C>" if side == "client" else "<S"
            print(f"{(now - self.start) * 1000:8.1f} ms {arrow} {n}", file=sys.stderr, flush=True)
        if side == "client":
            self.client_chunks += 1
            self.client_bytes += n
        else:
            self.server_chunks += 1
            self.server_bytes += n
            if self.last != "server":
                self.turns += 1
        self.last = side

    def as_dict(self):
        return {k: v for k, v in vars(self).items() if k not in ("last", "trace", "start")}


async def pump(reader, writer, side, stats, delay):
    """Reads from one side and releases each chunk to the other after @delay."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def release():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            writer.write(data)
            await writer.drain()

    releaser = asyncio.ensure_future(release())
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            stats.seen(side, len(data))
            queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + delay, None))
    try:
        await releaser
    except (ConnectionError, OSError):
        pass


async def handle(args, client_reader, client_writer):
    stats = Stats(args.trace)
    delay = args.delay_ms / 1000.0
    try:
        server_reader, server_writer = await asyncio.open_connection(args.target_host, args.target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, server_writer, "client", stats, delay),
                         pump(server_reader, client_writer, "server", stats, delay))
    for w in (client_writer, server_writer):
        try:
            w.close()
        except OSError:
            pass
    if args.stats:
        with open(args.stats, "a", encoding="utf-8") as f:
            f.write(json.dumps(stats.as_dict()) + "\n")


def main():
    args = parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(asyncio.start_server(
        lambda r, w: handle(args, r, w), host="127.0.0.1", port=0))
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop.call_later(args.max_lifetime, loop.stop)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.run_forever()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
