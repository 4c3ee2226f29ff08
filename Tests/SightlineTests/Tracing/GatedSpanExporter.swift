import Sightline
import Synchronization

/// An exporter that holds every export until the test opens its gate.
final class GatedSpanExporter: SpanExporter {
    private struct State {
        var isOpen = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        var batches: [[SpanData]] = []
        var rejectPerBatch = 0
        var isShutdown = false
    }

    private let state = Mutex(State())

    var batchSizes: [Int] { state.withLock { $0.batches.map(\.count) } }

    var exportedNames: [String] { state.withLock { $0.batches.flatMap { $0.map(\.name) } } }

    var isShutdown: Bool { state.withLock { $0.isShutdown } }

    /// Lets every held and future export through.
    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Holds later exports again.
    func close() {
        state.withLock { $0.isOpen = false }
    }

    func rejectPerBatch(_ count: Int) {
        state.withLock { $0.rejectPerBatch = count }
    }

    /// Yields until `count` export calls have begun; false if that never happens.
    func waitForExportCalls(_ count: Int) async -> Bool {
        for _ in 0..<1_000_000 {
            if state.withLock({ $0.batches.count }) >= count { return true }
            await Task.yield()
        }
        return false
    }

    func export(_ spans: [SpanData], resource: TracingResource) async -> SpanExportResult {
        await withCheckedContinuation { continuation in
            let passNow = state.withLock { state -> Bool in
                state.batches.append(spans)
                if state.isOpen { return true }
                state.waiting.append(continuation)
                return false
            }
            if passNow { continuation.resume() }
        }
        return .success(rejected: state.withLock { $0.rejectPerBatch })
    }

    func forceFlush(deadline: ContinuousClock.Instant) async {}

    func shutdown(deadline: ContinuousClock.Instant) async {
        state.withLock { $0.isShutdown = true }
    }
}
