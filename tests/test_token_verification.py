"""Every service verifies access tokens itself: forged, expired or foreign tokens are refused."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import grpc
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import descriptor_pool, message_factory

from tests.support import channel_to

pytestmark = pytest.mark.integration


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _bad_tokens(tokens) -> dict[str, str]:
    good = tokens.token(roles=("admin",), permissions=("course:create",))
    header, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    forged_payload = _b64({**claims, "roles": ["super_admin"]})
    stranger = Ed25519PrivateKey.generate()
    kid = jwt.get_unverified_header(good)["kid"]
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}.",
        "HS256 (algorithm confusion)": jwt.encode(
            claims,
            "a-shared-secret-long-enough-for-sha256!",
            algorithm="HS256",
            headers={"kid": kid},
        ),
        "wrong key": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": kid}),
        "unknown kid": jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": "nope"}),
        "wrong audience": tokens.token(audience="someone-else"),
        "expired": tokens.token(ttl=-300),
        "tampered payload": f"{header}.{forged_payload}.{signature}",
        "garbage": "not-a-jwt",
    }


def _methods(service) -> list[tuple[str, Any]]:
    """(path, request class) of every unary RPC the service serves."""
    pool = descriptor_pool.Default()
    found = []
    for full_name in service.runtime.service_full_names:
        for method in pool.FindServiceByName(full_name).methods:
            if not method.client_streaming and not method.server_streaming:
                found.append(
                    (
                        f"/{full_name}/{method.name}",
                        message_factory.GetMessageClass(method.input_type),
                    )
                )
    return found


async def test_bad_tokens_are_refused_by_every_service(services, tokens):
    bad = _bad_tokens(tokens)
    checked = 0
    for name, service in services.items():
        methods = _methods(service)
        if not methods:
            continue  # a service without RPCs yet has nothing to protect
        path, request_class = methods[0]
        async with channel_to(service.runtime.bound_port) as channel:
            call = channel.unary_unary(
                path, request_serializer=request_class.SerializeToString, response_deserializer=None
            )
            for label, token in bad.items():
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await call(
                        request_class(), metadata=[("authorization", f"Bearer {token}")], timeout=5
                    )
                assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED, f"{name}: {label}"
                checked += 1
    assert checked >= len(bad)


async def test_a_valid_token_is_accepted(services, tokens):
    course = services["course"]
    path, request_class = next(m for m in _methods(course) if m[0].endswith("/GetCourse"))
    request = request_class(course_id_or_slug=str(uuid.uuid4()))
    async with channel_to(course.runtime.bound_port) as channel:
        call = channel.unary_unary(
            path, request_serializer=request_class.SerializeToString, response_deserializer=None
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(
                request,
                metadata=[("authorization", f"Bearer {tokens.token(issued_at=time.time())}")],
            )
    assert (
        raised.value.code() == grpc.StatusCode.NOT_FOUND
    )  # authenticated; the course just does not exist
