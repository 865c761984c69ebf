"""The endpoint's token: checking it when ``serve()`` is called, and on every request.

With a token, every request (``/ping`` too) must carry it as ``Authorization: Bearer <token>``,
ClickHouse's ``X-ClickHouse-Key: <token>``, or the password of ``Authorization: Basic`` (so
``curl -u :TOKEN`` and ClickHouse drivers work); it is compared in constant time
(``hmac.compare_digest``). No token at all is 401 with ``WWW-Authenticate`` (REQUIRED_PASSWORD,
194), a wrong one 403 (AUTHENTICATION_FAILED, 516), as ClickHouse's table says
(``sqlbridge.endpoint.statuses``). A token in the URL is not accepted (URLs end up in logs).
Without a token, the endpoint may only listen on loopback or a Unix socket
(``sqlbridge.endpoint.address``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from sqlbridge.errors import QueryError

__all__ = ["RequiredPassword", "AuthenticationFailed", "CHALLENGE", "check_token",
           "authenticate"]

#: The ``WWW-Authenticate`` header of a 401 answer.
CHALLENGE = 'Bearer realm="asl", Basic realm="asl"'


class RequiredPassword(QueryError):
    code, name = 194, "REQUIRED_PASSWORD"


class AuthenticationFailed(QueryError):
    code, name = 516, "AUTHENTICATION_FAILED"


def check_token(token: str | None) -> None:
    """Refuse, as ``serve()`` is called, a token that cannot travel in an HTTP header."""
    if token is None:
        return
    if not isinstance(token, str) or not token or any(c.isspace() or not c.isprintable()
                                                      for c in token):
        raise ValueError("token must be a non-empty string of printable characters without "
                         "spaces (it travels in an HTTP header); for example "
                         "secrets.token_urlsafe(32)")


def authenticate(headers: Any, token: bytes | None) -> None:
    """Raise unless ``headers`` carry ``token`` (any headers pass when there is no token)."""
    if token is None:
        return
    offered = []
    auth = headers.get("Authorization")
    if auth:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer":
            offered.append(value.strip())
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise AuthenticationFailed("Invalid authentication: the Basic credentials "
                                           "are not valid base64 of user:password") from None
            offered.append(decoded.partition(":")[2])
        else:
            raise AuthenticationFailed(f"Invalid authentication: '{scheme}' HTTP "
                                       "Authorization scheme is not supported; use Bearer")
    key = headers.get("X-ClickHouse-Key")
    if key is not None:
        offered.append(key.strip())
    if not offered:
        raise RequiredPassword("Authentication required: this asl endpoint needs its token, "
                               "sent as 'Authorization: Bearer <token>' or "
                               "'X-ClickHouse-Key: <token>' (asl --connect reads ASL_TOKEN "
                               "or --token); a token in the URL is not accepted")
    # Every offered credential is compared, so timing tells nothing about which one failed.
    verdicts = [hmac.compare_digest(o.encode(), token) for o in offered]
    if not all(verdicts):
        raise AuthenticationFailed("Authentication failed: the token is incorrect")
