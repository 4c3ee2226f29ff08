#!/usr/bin/env python3
"""A scriptable OTLP/HTTP trace receiver for Sightline's tests and benchmarks.

It listens on 127.0.0.1, prints its port as the first line on stdout, and decodes every
POST /v1/traces body with the official ExportTraceServiceRequest from the
`opentelemetry-proto` package (gunzipping it first when Content-Encoding is gzip).

Answers are scripted with flags:
  --script 503:2,200   two answers 503 (with Retry-After), then 200 for ever; the last step
                       repeats once the script is used up
  --status 400         the same status for every request (same as --script 400)
  --retry-after 1      the Retry-After seconds sent with 429/502/503/504 (0: no header)
  --partial-rejected N 2xx answers carry partial_success.rejected_spans = N
  --delay SECONDS      wait this long before answering (to test deadlines and shutdown)

GET /stats answers {"requests": n, "spans": k}: the requests answered 2xx and the spans they
carried, counted after decoding (benchmarks read delivered spans from it).

With --out FILE, one JSON object per line is appended and flushed before each answer:
  {"type": "request", "request": n, "status": s, "gzip": bool, "spanCount": k, ...}
  {"type": "span", "request": n, "gzip": bool, "traceId": hex, "spanId": hex, ...,
   "spanStatus": {"code": "STATUS_CODE_ERROR", "message": "..."}}
Span lines are written only for requests answered with 2xx (those are "delivered").
Attribute values are rendered as typed strings: "string:x", "int:42", "double:1.5",
"bool:true", "bytes:<hex>", "array:[string:a,int:1]", "kvlist:{k=int:1}", "empty:".
"""

import argparse
import gzip
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

RETRIABLE = {429, 502, 503, 504}


def parse_script(text):
    steps = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        code, _, count = item.partition(":")
        steps.append((int(code), int(count) if count else 1))
    if not steps:
        raise argparse.ArgumentTypeError("empty script")
    return steps


def render_value(value):
    which = value.WhichOneof("value")
    if which == "string_value":
        return "string:" + value.string_value
    if which == "bool_value":
        return "bool:" + ("true" if value.bool_value else "false")
    if which == "int_value":
        return "int:%d" % value.int_value
    if which == "double_value":
        return "double:" + repr(value.double_value)
    if which == "bytes_value":
        return "bytes:" + value.bytes_value.hex()
    if which == "array_value":
        return "array:[" + ",".join(render_value(v) for v in value.array_value.values) + "]"
    if which == "kvlist_value":
        pairs = ("%s=%s" % (kv.key, render_value(kv.value)) for kv in value.kvlist_value.values)
        return "kvlist:{" + ",".join(pairs) + "}"
    return "empty:"


def render_attributes(pairs):
    return {kv.key: render_value(kv.value) for kv in pairs}


def render_span(span, resource_attributes, scope, request_number, was_gzip):
    kind_names = trace_pb2.Span.SpanKind.Name
    status_names = trace_pb2.Status.StatusCode.Name
    return {
        "type": "span",
        "request": request_number,
        "gzip": was_gzip,
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "parentSpanId": span.parent_span_id.hex(),
        "traceState": span.trace_state,
        "flags": span.flags,
        "name": span.name,
        "kind": kind_names(span.kind),
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "attributes": render_attributes(span.attributes),
        "events": [
            {
                "name": event.name,
                "timeUnixNano": event.time_unix_nano,
                "attributes": render_attributes(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "traceId": link.trace_id.hex(),
                "spanId": link.span_id.hex(),
                "traceState": link.trace_state,
                "flags": link.flags,
                "attributes": render_attributes(link.attributes),
            }
            for link in span.links
        ],
        "spanStatus": {"code": status_names(span.status.code), "message": span.status.message},
        "resourceAttributes": resource_attributes,
        "scopeName": scope.name,
        "scopeVersion": scope.version,
    }


class Receiver:
    def __init__(self, options):
        self.options = options
        self.script = options.script
        self.lock = threading.Lock()
        self.requests = 0
        self.delivered_requests = 0
        self.delivered_spans = 0
        self.out = open(options.out, "a", encoding="utf-8") if options.out else None

    def next_status(self):
        with self.lock:
            self.requests += 1
            number = self.requests
        seen = 0
        for code, count in self.script:
            seen += count
            if number <= seen:
                return number, code
        return number, self.script[-1][0]

    def count_delivered(self, spans):
        with self.lock:
            self.delivered_requests += 1
            self.delivered_spans += spans

    def stats(self):
        with self.lock:
            return {"requests": self.delivered_requests, "spans": self.delivered_spans}

    def record(self, lines):
        if self.out is None:
            return
        with self.lock:
            for line in lines:
                self.out.write(json.dumps(line, sort_keys=True) + "\n")
            self.out.flush()


def make_handler(receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

        def log_message(self, format, *args):  # quiet: stdout carries only the port
            pass

        def answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/stats":
                self.answer(404)
                return
            self.answer(200, json.dumps(receiver.stats()).encode(),
                        [("Content-Type", "application/json")])

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/v1/traces":
                self.answer(404)
                return

            was_gzip = self.headers.get("Content-Encoding", "").lower() == "gzip"
            number, status = receiver.next_status()
            try:
                body = gzip.decompress(raw) if was_gzip else raw
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
            except Exception as error:  # a malformed body is the client's fault
                receiver.record([{"type": "request", "request": number, "status": 400,
                                  "gzip": was_gzip, "error": str(error)}])
                self.answer(400, str(error).encode())
                return

            spans = []
            if 200 <= status < 300 and receiver.out is not None:
                for resource_spans in request.resource_spans:
                    resource = render_attributes(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            spans.append(render_span(
                                span, resource, scope_spans.scope, number, was_gzip))
            count = sum(len(s.spans) for rs in request.resource_spans for s in rs.scope_spans)
            receiver.record([{
                "type": "request", "request": number, "status": status, "gzip": was_gzip,
                "spanCount": count, "contentType": self.headers.get("Content-Type", ""),
                "bodyBytes": len(raw), "clientPort": self.client_address[1],
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }] + spans)

            if receiver.options.delay > 0:
                time.sleep(receiver.options.delay)
            if 200 <= status < 300:
                receiver.count_delivered(count)
                response = trace_service_pb2.ExportTraceServiceResponse()
                if receiver.options.partial_rejected > 0:
                    response.partial_success.rejected_spans = receiver.options.partial_rejected
                    response.partial_success.error_message = "rejected by the test script"
                self.answer(status, response.SerializeToString(),
                            [("Content-Type", "application/x-protobuf")])
            elif status in RETRIABLE and receiver.options.retry_after > 0:
                self.answer(status, b"", [("Retry-After", str(receiver.options.retry_after))])
            else:
                self.answer(status)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--out", help="append decoded requests and spans here (JSON lines)")
    parser.add_argument("--script", type=parse_script, help="e.g. 503:2,200")
    parser.add_argument("--status", type=int, help="answer every request with this status")
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--partial-rejected", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0)
    options = parser.parse_args()

    # A parent that starts us from a thread with signals blocked (Swift's Foundation.Process
    # from a pool thread does) passes that mask on; unblock so that SIGTERM stops us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
    if options.script is None:
        options.script = [(options.status or 200, 1)]

    receiver = Receiver(options)
    server = ThreadingHTTPServer(("127.0.0.1", options.port), make_handler(receiver))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
