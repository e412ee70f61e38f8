"""Where sweep points run: in this process, or as tasks on a Dask (`distributed`) cluster.

An executor is None or "local" (in-process), a `distributed.Client`, or a scheduler address such as
"tcp://HOST:PORT". Whatever runs the points, results come back to this process, which alone writes them.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from distributed import Client

from replicate.scales import ParameterError

Executor = Union[None, str, "Client"]
EXECUTORS = ("local", "dask")
SCHEMES = ("tcp", "tls")
CONNECT_TIMEOUT_S = 10  # a scheduler that does not answer within this is reported, not waited on for minutes
MAX_HANDSHAKE_BYTES = 2**20  # a scheduler's handshake is a few hundred bytes; "HTTP/1.1" read as a length is 3e18


def check_scheduler(address: str, timeout: float | None = None) -> str:
    """Raise ParameterError (one line) unless `address` is tcp://HOST:PORT (or tls://), accepts a connection and
    (tcp) sends a Dask handshake within `timeout` seconds (default CONNECT_TIMEOUT_S); return it."""
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address)
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except (TypeError, ValueError, AttributeError):
        scheme = host = port = None
    if scheme not in SCHEMES or not host or port is None:
        raise ParameterError(f"scheduler must be an address like tcp://HOST:8786; got {address!r}")
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
        raise ParameterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({reason})") from None
    try:
        head = _first_frame_header(sock) if scheme == "tcp" else None
    except OSError:
        raise ParameterError(f"{address} accepts connections but sent no Dask handshake within {timeout:g} s "
                             f"(not a Dask scheduler, or a hung one)") from None
    finally:
        sock.close()
    if head is not None and not 0 < head <= MAX_HANDSHAKE_BYTES:
        raise ParameterError(f"{address} answers, but not as a Dask scheduler (an HTTP server or another service?)")
    return address


def _first_frame_header(sock: socket.socket) -> int:
    """The length a Dask scheduler announces for its handshake, which it sends first on a new TCP connection
    (`distributed.comm.core.Listener.on_connection`: an 8-byte little-endian length, then the message). Read by
    hand so that a silent listener times out (TimeoutError) and an HTTP server, which waits for a request, is
    refused before `Client` reads its reply as a 3-EiB length."""
    head = b""
    while len(head) < 8:
        chunk = sock.recv(8 - len(head))
        if not chunk:
            return 0
        head += chunk
    return int.from_bytes(head, "little")


def executor_from(name: str | None, scheduler: str | None) -> Executor:
    """The executor for notebook/CLI parameters `executor` and `scheduler`.

    None or "local" → in-process (None); "dask" → a `distributed.Client` connected to `scheduler`
    ("tcp://HOST:PORT"), kept open for every sweep of the notebook. A malformed or unreachable address raises
    ParameterError within `CONNECT_TIMEOUT_S`.
    """
    if name in (None, "local"):
        return None
    if name != "dask":
        raise ParameterError(f"executor must be one of {', '.join(EXECUTORS)}; got {name!r}")
    if not scheduler:
        raise ParameterError("executor 'dask' needs a scheduler address, e.g. tcp://HOST:8786")
    from distributed import Client

    return Client(check_scheduler(scheduler), set_as_default=False, timeout=CONNECT_TIMEOUT_S)


def is_local(executor: Executor) -> bool:
    """True for the in-process executor; checks that anything else names a Dask scheduler."""
    if executor is None or executor == "local":
        return True
    if isinstance(executor, str):
        if "://" not in executor:
            raise ValueError(f"executor must be None, 'local', a distributed.Client or tcp://HOST:PORT; "
                             f"got {executor!r}")
        return False
    from distributed import Client

    if not isinstance(executor, Client):
        raise TypeError(f"executor must be None, 'local', a distributed.Client or an address; got {type(executor)}")
    return False


@contextmanager
def _client(executor: Executor) -> Iterator[Client]:
    """The given Client, or one connected to the given address for the duration of the block."""
    from distributed import Client

    if isinstance(executor, Client):
        yield executor
        return
    client = Client(executor, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


def run_points(fn: Callable[[Mapping[str, Any]], Any], points: Sequence[Mapping[str, Any]], executor: Executor,
               names: Sequence[str]) -> Iterator[tuple[int, Any]]:
    """Yield (index into points, fn(point)) as each point finishes; each point is one task on a Dask executor.

    Dask reruns the tasks of a worker that died; anything still pending when the caller stops iterating (an
    error, Ctrl-C) is cancelled. `names` label the tasks (the scheduler's dashboard shows them).
    """
    if is_local(executor) or not points:
        for i, p in enumerate(points):
            yield i, fn(p)
        return
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    # as_current: as_completed and Future.result look up "the current client"; a Client made with
    # set_as_default=False (executor_from, the CLI's path) is not one unless made so here ("No clients found")
    with _client(executor) as client, client.as_current():
        futures = {client.submit(fn, p, pure=False, key=f"{names[i]}-{run}"): i for i, p in enumerate(points)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            client.cancel(list(futures))
