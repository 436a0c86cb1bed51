"""`tidings serve` with several workers shares one listening socket; connections on it must have Nagle switched off,
or every response written in two parts waits for the client's delayed ACK."""

import asyncio
import socket

from tidings.core.management.commands.serve import TcpConfig

from ..support.event_loop import run_in_own_loop


def _nodelay_of_a_connection(config_class) -> int:
    """Bind the socket the workers would share, accept one connection on it with asyncio (as each worker does) and
    return the TCP_NODELAY flag of the server side of that connection."""
    config = config_class("tidings.asgi:application", host="127.0.0.1", port=0, workers=2)
    listener = config.bind_socket()
    listener.listen()
    port = listener.getsockname()[1]
    seen = []

    class Recorder(asyncio.Protocol):
        def connection_made(self, transport):
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one():
        server = await asyncio.get_running_loop().create_server(Recorder, sock=listener)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    run_in_own_loop(accept_one())
    return seen[0]


def test_connections_to_the_shared_socket_have_nagle_switched_off():
    assert _nodelay_of_a_connection(TcpConfig) != 0


def test_the_shared_socket_stays_inheritable_for_the_worker_processes():
    listener = TcpConfig("tidings.asgi:application", host="127.0.0.1", port=0, workers=2).bind_socket()
    try:
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.get_inheritable()
    finally:
        listener.close()
