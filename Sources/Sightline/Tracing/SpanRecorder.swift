import Synchronization

/// The mutable half of a recording span.
final class SpanRecorder: Sendable {
    private struct State {
        var attributes: SpanAttributes
        var events: [SpanEvent] = []
        var links: [SpanLinkData]
        var status: SpanStatus = .unset
        var isOpen = true
    }

    /// Where the span goes when it ends (the only kind of sink; a concrete type lets the
    /// compiler inline the hand-over).
    let sink: BatchSpanProcessor
    private let clock: any BusClock
    private let limits: SpanLimits
    private let startWallNanos: UInt64
    private let startMonotonic: Duration
    private let state: Mutex<State>

    init(
        sink: BatchSpanProcessor, clock: any BusClock, limits: SpanLimits,
        attributes: SpanAttributes, links: [SpanLinkData]
    ) {
        self.sink = sink
        self.clock = clock
        self.limits = limits
        self.startWallNanos = clock.unixNanos()
        self.startMonotonic = clock.now()

        // Not yet: which start attributes survive a limit smaller than their count is
        // arbitrary (dictionary order).
        var kept = attributes
        if kept.count > limits.attributes {
            kept = SpanAttributes(uniqueKeysWithValues: kept.prefix(limits.attributes).map { $0 })
        }
        self.state = Mutex(State(attributes: kept, links: Array(links.prefix(limits.links))))
    }

    var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Wall time now, derived from the start's wall time plus monotonic elapsed time, so that
    /// a wall clock step during the span never makes durations negative.
    private func currentUnixNanos() -> UInt64 {
        let elapsed = max(0, (clock.now() - startMonotonic).nanoseconds)
        return startWallNanos &+ UInt64(elapsed)
    }

    func setAttribute(_ key: String, _ value: AttributeValue) {
        state.withLock { state in
            guard state.isOpen else { return }
            if state.attributes[key] == nil, state.attributes.count >= limits.attributes {
                return
            }
            state.attributes[key] = value
        }
    }

    func addEvent(_ name: String, attributes: SpanAttributes) {
        let time = currentUnixNanos()
        state.withLock { state in
            guard state.isOpen, state.events.count < limits.events else { return }
            state.events.append(SpanEvent(name: name, timeUnixNano: time, attributes: attributes))
        }
    }

    func addLink(_ link: SpanLinkData) {
        state.withLock { state in
            guard state.isOpen, state.links.count < limits.links else { return }
            state.links.append(link)
        }
    }

    func setStatus(_ status: SpanStatus) {
        state.withLock { state in
            guard state.isOpen, status != .unset, state.status != .ok else { return }
            state.status = status
        }
    }

    /// Closes the recorder and returns the finished span; nil when it was already closed.
    func finish(span: Span) -> SpanData? {
        let end = currentUnixNanos()
        let closed = state.withLock { state -> State? in
            guard state.isOpen else { return nil }
            var closed = State(attributes: [:], links: [])
            closed.isOpen = false
            swap(&state, &closed)
            return closed
        }
        guard let closed else { return nil }

        return SpanData(
            context: span.context, parentSpanID: span.parentSpanID, name: span.name,
            kind: span.kind, startTimeUnixNano: startWallNanos, endTimeUnixNano: end,
            attributes: closed.attributes, events: closed.events, links: closed.links,
            status: closed.status)
    }
}

/// Per-span bounds on attributes, events and links.
struct SpanLimits: Sendable {
    var attributes: Int
    var events: Int
    var links: Int
}
