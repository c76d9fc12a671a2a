#!/usr/bin/env python3
"""A unix-socket relay in front of a PostgreSQL cluster that, while a
flag file exists, drops the connection carrying the next COMMIT's answer
instead of passing the answer on (and removes the flag): the COMMIT ran
on the server, its client never learns it.

    pgcut.py LISTEN_SOCKET SERVER_SOCKET FLAG_FILE
"""
import asyncio
import os
import sys

LISTEN, SERVER, FLAG = sys.argv[1:4]
# CommandComplete: 'C', length 11 (itself and "COMMIT\0"), "COMMIT\0"
COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"


async def pipe(reader, writer, cut):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if cut is not None and COMMIT_DONE in data and \
                    os.path.exists(FLAG):
                os.unlink(FLAG)
                for w in cut:
                    w.transport.abort()
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    writer.close()


async def relay(creader, cwriter):
    try:
        sreader, swriter = await asyncio.open_unix_connection(SERVER)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, swriter, None),
                         pipe(sreader, cwriter, (cwriter, swriter)))


async def main():
    server = await asyncio.start_unix_server(relay, path=LISTEN)
    os.chmod(LISTEN, 0o777)
    async with server:
        await server.serve_forever()

asyncio.run(main())
