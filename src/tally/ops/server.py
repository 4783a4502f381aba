"""uvicorn, run as `uvicorn.run` runs it, so that a banner (`tally serve --demo`'s
credentials) is the last thing on the console at startup: printed once the server listens,
after the application's startup and uvicorn's "running on" line."""

import contextlib
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

STARTUP_FAILURE = 3  # uvicorn's exit status when the server could not start


class ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, banner: str | None) -> None:
        super().__init__(config)
        self.banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.banner:
            print(self.banner, flush=True)


def run(config: uvicorn.Config, banner: str | None = None) -> None:
    """Serve. With several workers the banner comes first: each worker starts on its own,
    and none of them is the one that makes the server ready."""
    if config.workers > 1:
        if banner:
            print(banner, flush=True)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = ReadyServer(config, banner)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
