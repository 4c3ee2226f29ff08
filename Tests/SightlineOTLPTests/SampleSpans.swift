import Sightline

/// Literal spans shared by the exporter and encoder tests.
enum SampleSpans {
    static let traceID = TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!
    static let producerID = SpanID(hex: "00f067aa0ba902b7")!
    static let consumerID = SpanID(hex: "b7ad6b7169203331")!

    /// A sampled producer root span and its unsampled consumer child, which fails and links
    /// to a remote creation context and to a local one.
    static let parentAndChild: [SpanData] = [
        SpanData(
            context: SpanContext(
                traceID: traceID, spanID: producerID, flags: .sampled, traceState: "vendor=a1"),
            parentSpanID: nil, name: "orders publish", kind: .producer,
            startTimeUnixNano: 1_700_000_000_000_000_000,
            endTimeUnixNano: 1_700_000_000_002_000_000,
            attributes: [
                "messaging.system": .string("sightline"),
                "messaging.destination.name": .string("orders"),
                "messaging.batch.message_count": .int(3),
                "sightline.priority": .double(0.5),
                "sightline.redelivered": .bool(false),
                "sightline.tags": .stringArray(["eu", "vip"]),
            ],
            status: .ok),
        SpanData(
            context: SpanContext(traceID: traceID, spanID: consumerID, flags: []),
            parentSpanID: producerID, name: "orders process", kind: .consumer,
            startTimeUnixNano: 1_700_000_000_001_000_000,
            endTimeUnixNano: 1_700_000_000_003_000_000,
            events: [
                SpanEvent(
                    name: "sightline.retry.scheduled", timeUnixNano: 1_700_000_000_001_500_000,
                    attributes: ["sightline.attempt": .int(2), "sightline.delay": .double(0.25)])
            ],
            links: [
                SpanLinkData(
                    context: SpanContext(
                        traceID: TraceID(hex: "0af7651916cd43dd8448eb211c80319c")!,
                        spanID: SpanID(hex: "b9c7c989f97918e1")!, flags: .sampled,
                        traceState: "other=x", isRemote: true),
                    attributes: ["sightline.link.reason": .string("creation")]),
                SpanLinkData(
                    context: SpanContext(
                        traceID: TraceID(hex: "0af7651916cd43dd8448eb211c80319d")!,
                        spanID: SpanID(hex: "b9c7c989f97918e2")!, flags: [])),
            ],
            status: .error(description: "handler threw")),
    ]
}
