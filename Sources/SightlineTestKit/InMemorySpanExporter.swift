import Sightline
import Synchronization

/// A span exporter that keeps what it receives in memory, for tests.
///
/// Keeps at most `capacity` spans (the oldest go first). Each export succeeds unless the
/// exporter has been shut down, after which exports fail, as the protocol requires.
public final class InMemorySpanExporter: SpanExporter {
    private struct State {
        var spans: [SpanData] = []
        var exportCalls = 0
        var resources: [TracingResource] = []
        var isShutdown = false
        var flushCalls = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// Every span kept so far, in export order.
    public var spans: [SpanData] { state.withLock { $0.spans } }

    /// How many times `export` was called.
    public var exportCalls: Int { state.withLock { $0.exportCalls } }

    /// The resource passed with the latest export, if any.
    public var lastResource: TracingResource? { state.withLock { $0.resources.last } }

    /// True once `shutdown` has been called.
    public var isShutdown: Bool { state.withLock { $0.isShutdown } }

    /// The kept spans with the given name.
    public func spans(named name: String) -> [SpanData] {
        spans.filter { $0.name == name }
    }

    /// Forgets every kept span.
    public func reset() {
        state.withLock { $0.spans.removeAll() }
    }

    public func export(_ spans: [SpanData], resource: TracingResource) async -> SpanExportResult {
        state.withLock { state in
            guard !state.isShutdown else {
                return .failure(reason: "in-memory exporter is shut down")
            }
            state.exportCalls += 1
            state.resources = [resource]
            state.spans.append(contentsOf: spans)
            if state.spans.count > capacity {
                state.spans.removeFirst(state.spans.count - capacity)
            }
            return .success(rejected: 0)
        }
    }

    public func forceFlush(deadline: ContinuousClock.Instant) async {
        state.withLock { $0.flushCalls += 1 }
    }

    public func shutdown(deadline: ContinuousClock.Instant) async {
        state.withLock { $0.isShutdown = true }
    }
}
