"""Where the endpoint listens: reading addresses, the loopback rule, Unix socket files.

The endpoint listens on loopback unless told otherwise: ``"8123"`` or ``":8123"`` means
127.0.0.1:8123 (not every interface, as Python's ``""`` would). A path (``"/run/asl.sock"``,
``"unix:asl.sock"``) is a Unix socket, created with mode 0600 so only its owner can connect; a
socket file left by a process that died is replaced, anything else at that path is refused, and
``close()`` removes the file only if it is still the one this server made. A non-loopback
address (``0.0.0.0:8123``, a LAN address, a host name that resolves elsewhere) is refused with
``UnsafeBindError`` unless a ``token`` is given (``sqlbridge.endpoint.auth``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import stat
from typing import Any

__all__ = ["UnsafeBindError", "parse_address", "tcp_bind_address", "unix_socket_path",
           "bind_owner_only", "remove_socket_file"]


class UnsafeBindError(ValueError):
    """``serve()`` was asked to listen beyond this machine without a token."""


def parse_address(address: Any) -> tuple[str, Any]:
    """``("unix", path)`` or ``("tcp", (host, port))``; an empty host means loopback."""
    if isinstance(address, os.PathLike):
        return "unix", os.fspath(address)
    if isinstance(address, int):
        return "tcp", ("", address)
    if isinstance(address, tuple) and len(address) == 2:
        return "tcp", (str(address[0] or ""), int(address[1]))
    if not isinstance(address, str):
        raise TypeError(f"address must be 'host:port', a port, (host, port) or a socket path, "
                        f"not {address!r}")
    text = address.strip()
    if text.startswith("unix:"):
        return "unix", text[len("unix:"):]
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            text = text[len(scheme):].rstrip("/")
    if "/" in text:
        return "unix", text
    if text.isdigit():
        return "tcp", ("", int(text))
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"cannot read the address {address!r}: use HOST:PORT (127.0.0.1:8123, "
                         "[::1]:8123, :8123), a port number, or a Unix socket path "
                         "(/run/asl.sock, unix:asl.sock)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return "tcp", (host, int(port))


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, str, bool]:
    """(family, address to bind, whether every address ``host`` names is loopback)."""
    if not host:
        return socket.AF_INET, "127.0.0.1", True
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ValueError(f"cannot resolve the host {host!r} to listen on: {e.strerror}") from None
    loopback = all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                   for info in infos)
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0]), loopback


def tcp_bind_address(host: str, port: int,
                     token: str | None) -> tuple[socket.AddressFamily, str]:
    """(family, address to bind) for ``host``; ``UnsafeBindError`` if it is not loopback and
    there is no token."""
    family, bind_host, loopback = _resolve(host, port)
    if not loopback and token is None:
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise UnsafeBindError(
            f"Refusing to serve on {shown} without a token: anyone who can reach that "
            "address could read every job's name, state and error. Pass token=... (clients "
            "send it as 'Authorization: Bearer <token>' or 'X-ClickHouse-Key'; asl --connect "
            "reads ASL_TOKEN), or listen on loopback (127.0.0.1:PORT) or a Unix socket path")
    return family, bind_host


def unix_socket_path(where: str) -> str:
    """The absolute path to listen on, cleared of a stale socket file."""
    path = os.path.abspath(os.path.expanduser(where))
    _clear_stale_socket(path)
    return path


def bind_owner_only(httpd: Any) -> None:
    """Bind a Unix socket server so that its socket file is born 0600: no window for others."""
    old_umask = os.umask(0o177)
    try:
        httpd.server_bind()
    finally:
        os.umask(old_umask)


def remove_socket_file(path: str, inode: int | None) -> None:
    """Remove the socket file at ``path`` if it is still the one bound (``inode``)."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == inode:
            os.unlink(path)


def _clear_stale_socket(path: str) -> None:
    """Remove a socket file left by a process that died; refuse to touch anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket; choose another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)  # nobody listens: a leftover
        return
    except OSError:
        return
    finally:
        probe.close()
    raise OSError(f"{path}: another server is listening on this socket")
