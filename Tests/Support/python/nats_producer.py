#!/usr/bin/env python3
"""A producer written with the official NATS Python client (nats-py) and instrumented with
the OpenTelemetry Python SDK, publishing per docs/wire-format.md ("NATS JetStream mapping").

Used by the Swift interop tests. Prints one JSON object on stdout: the trace and span ids of
the producer span and the ids of the messages published.

    nats_producer.py --url nats://127.0.0.1:4222 --channel test.payments \
        --type test.PaymentTaken --count 5 [--partitions 4] [--hostile]
        [--schema-version 1 --body '{"orderIndex": 7, ...}']

With --body, every message carries that JSON document as its payload and is keyed by its
"customerID" field; --schema-version sets the sightline-schema-version header.
"""

import argparse
import asyncio
import json
import time
import uuid

import nats
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind


def partition(key: str, partitions: int) -> int:
    """FNV-1a (64 bit) of the key's UTF-8 bytes, modulo the partition count."""
    value = 0xCBF29CE484222325
    for byte in key.encode("utf-8"):
        value ^= byte
        value = (value * 0x100000001B3) % (1 << 64)
    return value % partitions


def envelope_headers(message_id: str, message_type: str, channel: str, key: str) -> dict:
    return {
        "sightline-id": message_id,
        "sightline-type": message_type,
        "sightline-channel": channel,
        "sightline-partition-key": key,
        "sightline-created-unix-nanos": str(time.time_ns()),
        "content-type": "application/json",
    }


def hostile_cases(message_type: str, channel: str) -> list:
    """Header sets that do not form an envelope, each with the field at fault."""
    def base():
        return envelope_headers(str(uuid.uuid4()), message_type, channel, "hostile")

    missing = base()
    del missing["sightline-type"]
    oversized = base()
    oversized["x-padding"] = "a" * 9000
    wrong_attempt = base()
    wrong_attempt["sightline-attempt"] = "three"
    wrong_priority = base()
    wrong_priority["sightline-priority"] = "urgent"
    wrong_version = base()
    wrong_version["sightline-schema-version"] = "1.5"
    return [missing, oversized, wrong_attempt, wrong_priority, wrong_version]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--type", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--hostile", action="store_true")
    parser.add_argument("--schema-version", type=int)
    parser.add_argument("--body")
    arguments = parser.parse_args()

    trace.set_tracer_provider(TracerProvider())
    tracer = trace.get_tracer("sightline-interop-producer")
    connection = await nats.connect(arguments.url)
    jetstream = connection.jetstream()
    published = []

    with tracer.start_as_current_span("publish orders", kind=SpanKind.PRODUCER) as span:
        if arguments.hostile:
            batches = hostile_cases(arguments.type, arguments.channel)
        else:
            batches = []
            for sequence in range(1, arguments.count + 1):
                key = f"py-{sequence % 3}"
                if arguments.body:
                    key = json.loads(arguments.body)["customerID"]
                headers = envelope_headers(
                    str(uuid.uuid4()), arguments.type, arguments.channel, key)
                if arguments.schema_version is not None:
                    headers["sightline-schema-version"] = str(arguments.schema_version)
                batches.append(headers)
        for sequence, headers in enumerate(batches, start=1):
            inject(headers)  # W3C traceparent (and baggage) from the current span
            key = headers.get("sightline-partition-key", "hostile")
            subject = f"sightline.{arguments.channel}.{partition(key, arguments.partitions)}"
            if arguments.body:
                body = arguments.body.encode("utf-8")
            else:
                body = json.dumps({"account": key, "sequence": sequence}).encode("utf-8")
            await jetstream.publish(
                subject, body, headers={**headers, "Nats-Msg-Id": headers["sightline-id"]})
            published.append(headers["sightline-id"])
        context = span.get_span_context()

    await connection.close()
    print(json.dumps({
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "ids": published,
    }))


if __name__ == "__main__":
    asyncio.run(main())
