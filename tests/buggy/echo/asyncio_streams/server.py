"""Echo server with asyncio streams: correct, in a style unlike the reference's threads."""

import asyncio
import os


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()  # waits while the client reads slowly: nothing is dropped
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main() -> None:
    host = os.environ.get("HOST", "0.0.0.0")
    server = await asyncio.start_server(handle, host, int(os.environ.get("PORT", "8000")))
    async with server:
        await server.serve_forever()


asyncio.run(main())
