#!/usr/bin/env python3
"""The tracing benchmark's workload run with the official OpenTelemetry Python SDK.

One producer; each span is the root of a new trace, of kind PRODUCER, with four messaging
attributes and one link; the SDK's default batch settings (queue 2048, batch 512, 5 s
schedule delay); OTLP/HTTP protobuf to --endpoint. Spans are made flat out for --seconds,
or at --rate spans per second. The provider is shut down (flushing its queue) before the
figures are taken.

Prints one JSON object: {"created", "seconds", "cpu_seconds", "peak_rss_bytes"}.
"""

import argparse
import json
import resource
import sys
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_resident_bytes():
    # VmHWM, not ru_maxrss: getrusage keeps the peak of the process that started us.
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="full URL, path included")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=0, help="spans per second; 0: flat out")
    options = parser.parse_args()

    provider = TracerProvider(
        resource=Resource.create({"service.name": "sightline-bench", "host.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=options.endpoint)))
    tracer = provider.get_tracer("sightline-bench")
    creation = trace.SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7,
        is_remote=True, trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    no_parent = trace.set_span_in_context(trace.INVALID_SPAN)

    cpu_before = cpu_seconds()
    start = time.monotonic()
    created = 0
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= options.seconds:
            break
        due = int(elapsed * options.rate) - created if options.rate > 0 else 256
        for _ in range(due):
            span = tracer.start_span(
                "publish orders", context=no_parent, kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "sightline",
                    "messaging.operation.name": "publish",
                    "messaging.destination.name": "orders",
                    "messaging.message.id": "msg-%d" % created,
                },
                links=[trace.Link(creation, {"sightline.link.reason": "creation"})])
            span.end()
            created += 1
        if options.rate > 0:
            time.sleep(0.001)
    seconds = time.monotonic() - start

    provider.shutdown()
    print(json.dumps({
        "created": created, "seconds": seconds, "cpu_seconds": cpu_seconds() - cpu_before,
        "peak_rss_bytes": peak_resident_bytes(),
    }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
