"""List and replay dead letters: `python -m kernel.dead_letters list|replay ...`.

A dead letter is the original event message, published to `unpuzzle.dlq.<consumer>` after the
consumer's last failed attempt, with headers naming the original subject, the consumer and the
error. Replaying publishes it again on its original subject (under a new message id, so JetStream
does not drop it as a duplicate) and removes it from the dead-letter stream. Consumers that had
already handled the event ignore it thanks to their inbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from kernel.consumers import (
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    HEADER_CONSUMER,
    HEADER_DELIVERIES,
    HEADER_ERROR,
    HEADER_ORIGINAL_SUBJECT,
    dlq_stream_config,
)
from kernel.messaging import ensure_stream
from unpuzzle.common.v1 import events_pb2

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class DeadLetter:
    """One message in the dead-letter stream."""

    sequence: int
    consumer: str
    original_subject: str
    event_id: str
    event_type: str
    error: str
    deliveries: int
    data: bytes
    headers: dict[str, str]


async def list_dead_letters(js: JetStreamContext, consumer: str | None = None) -> list[DeadLetter]:
    """Every dead letter, oldest first, optionally of one consumer only."""
    await ensure_stream(js, dlq_stream_config())
    info = await js.stream_info(DLQ_STREAM)
    letters = []
    first, last = info.state.first_seq, info.state.last_seq
    for sequence in range(first, last + 1) if info.state.messages else ():
        try:
            raw = await js.get_msg(DLQ_STREAM, sequence)
        except NotFoundError:
            continue  # deleted after a replay
        headers = dict(raw.headers or {})
        name = headers.get(
            HEADER_CONSUMER, (raw.subject or "").removeprefix(f"{DLQ_SUBJECT_PREFIX}.")
        )
        if consumer is not None and name != consumer:
            continue
        envelope = events_pb2.EventEnvelope.FromString(raw.data or b"")
        letters.append(
            DeadLetter(
                sequence=sequence,
                consumer=name,
                original_subject=headers.get(HEADER_ORIGINAL_SUBJECT, ""),
                event_id=envelope.id,
                event_type=envelope.type,
                error=headers.get(HEADER_ERROR, ""),
                deliveries=int(headers.get(HEADER_DELIVERIES, "0") or 0),
                data=raw.data or b"",
                headers=headers,
            )
        )
    return letters


async def replay(js: JetStreamContext, letters: list[DeadLetter]) -> int:
    """Re-publish dead letters on their original subjects and delete them; returns the count."""
    replayed = 0
    for letter in letters:
        headers = {
            key: value
            for key, value in letter.headers.items()
            if not key.startswith("Unpuzzle-") and key != "Nats-Msg-Id"
        }
        headers["Nats-Msg-Id"] = f"{letter.event_id}:replay:{letter.sequence}"
        await js.publish(letter.original_subject, letter.data, headers=headers)
        await js.delete_msg(DLQ_STREAM, letter.sequence)
        replayed += 1
    return replayed


async def _main(args: argparse.Namespace) -> None:
    connection = await nats.connect(args.nats_url)
    try:
        js = connection.jetstream()
        letters = await list_dead_letters(js, args.consumer)
        if args.command == "list":
            for letter in letters:
                print(
                    f"#{letter.sequence} consumer={letter.consumer} type={letter.event_type} "
                    f"event={letter.event_id} deliveries={letter.deliveries} "
                    f"subject={letter.original_subject}\n    error: {letter.error}"
                )
            print(f"{len(letters)} dead letter(s)")
            return
        if args.sequence:
            letters = [letter for letter in letters if letter.sequence in set(args.sequence)]
        print(f"replayed {await replay(js, letters)} dead letter(s)")
    finally:
        await connection.close()


def _default_nats_url() -> str:
    """NATS_URL, else the embedded server `make run` recorded in .run/launcher.json."""
    configured = os.environ.get("NATS_URL")
    if configured:
        return configured
    state = Path(os.environ.get("UNPUZZLE_RUN_DIR", ".run")) / "launcher.json"
    if state.exists():
        return str(json.loads(state.read_text()).get("natsUrl") or DEFAULT_NATS_URL)
    return DEFAULT_NATS_URL


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m kernel.dead_letters")
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--consumer", help="only this consumer's dead letters")
    parser.add_argument("--sequence", type=int, action="append", help="replay only these")
    parser.add_argument(
        "--nats-url", default=_default_nats_url(), help="default: NATS_URL or make run's"
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
