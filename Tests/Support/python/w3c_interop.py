#!/usr/bin/env python3
"""W3C Trace Context interop helper for Sightline's tests.

Uses the official OpenTelemetry Python SDK and prints one JSON object on stdout.

  w3c_interop.py inject
      Starts a span with the SDK's tracer, injects its context with
      TraceContextTextMapPropagator (with a tracestate) and prints the carrier plus the
      ids the SDK itself holds.
  w3c_interop.py extract TRACEPARENT [TRACESTATE]
      Extracts a context from the given headers and prints what the SDK sees.
  w3c_interop.py ratio RATIO TRACE_ID_HEX...
      Prints the SDK's TraceIdRatioBased decision for each trace id.
"""

import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceState


def inject():
    provider = TracerProvider()
    tracer = provider.get_tracer("sightline-interop")
    propagator = TraceContextTextMapPropagator()
    with tracer.start_as_current_span("interop") as span:
        context = span.get_span_context()
        state = TraceState([("vendor", "value1"), ("tenant@system", "v2")])
        carrier_context = trace.set_span_in_context(
            trace.NonRecordingSpan(
                trace.SpanContext(
                    trace_id=context.trace_id,
                    span_id=context.span_id,
                    is_remote=False,
                    trace_flags=context.trace_flags,
                    trace_state=state,
                )
            )
        )
        carrier = {}
        propagator.inject(carrier, context=carrier_context)
        return {
            "headers": carrier,
            "trace_id": trace.format_trace_id(context.trace_id),
            "span_id": trace.format_span_id(context.span_id),
            "sampled": context.trace_flags.sampled,
        }


def extract(traceparent, tracestate):
    carrier = {"traceparent": traceparent}
    if tracestate is not None:
        carrier["tracestate"] = tracestate
    context = TraceContextTextMapPropagator().extract(carrier)
    span_context = trace.get_current_span(context).get_span_context()
    return {
        "valid": span_context.is_valid,
        "trace_id": trace.format_trace_id(span_context.trace_id),
        "span_id": trace.format_span_id(span_context.span_id),
        "sampled": span_context.trace_flags.sampled,
        "remote": span_context.is_remote,
        "tracestate": span_context.trace_state.to_header(),
    }


def ratio(value, trace_ids):
    sampler = TraceIdRatioBased(float(value))
    decisions = []
    for hex_id in trace_ids:
        result = sampler.should_sample(None, int(hex_id, 16), "interop")
        decisions.append(result.decision == Decision.RECORD_AND_SAMPLE)
    return {"decisions": decisions}


def main(argv):
    if len(argv) >= 2 and argv[1] == "inject":
        result = inject()
    elif len(argv) in (3, 4) and argv[1] == "extract":
        result = extract(argv[2], argv[3] if len(argv) == 4 else None)
    elif len(argv) >= 3 and argv[1] == "ratio":
        result = ratio(argv[2], argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
