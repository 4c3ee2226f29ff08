import Synchronization

/// Remembers which message ids a subscriber group has processed, for effectively-once
/// delivery.
public protocol IdempotencyStore: Sendable {
    /// True when `id` was recorded for `group` within `window` of `now`.
    func contains(id: MessageID, group: String, window: Duration, now: Duration) async throws
        -> Bool

    /// Records that `group` processed `id` at `now`.
    func record(id: MessageID, group: String, now: Duration) async throws
}

/// A bounded in-memory idempotency store.
///
/// Ids older than the window are forgotten as new ones arrive. When the store is full before
/// ids expire, the oldest id is evicted early; that weakens the guarantee for that id, so
/// the store logs a warning (at most once per thousand evictions) and counts it.
public final class InMemoryIdempotencyStore: IdempotencyStore {
    private struct Key: Hashable {
        var id: MessageID
        var group: String
    }

    private struct State {
        var recordedAt: [Key: Duration] = [:]
        var order = RingBuffer<(key: Key, at: Duration)>()
        var earlyEvictions = 0
        /// The longest window any group has asked about: ids older than it are no longer
        /// needed by anyone and are forgotten as new ones arrive.
        var longestWindow: Duration = .zero
    }

    private let state = Mutex(State())
    public let capacity: Int
    private let logger: Logger

    public init(capacity: Int = 1_000_000, logger: Logger = .standardError) {
        self.capacity = max(1, capacity)
        self.logger = logger
    }

    /// How many ids were evicted before their window ended.
    public var earlyEvictionCount: Int { state.withLock { $0.earlyEvictions } }

    public func contains(id: MessageID, group: String, window: Duration, now: Duration)
        async throws -> Bool
    {
        state.withLock { state in
            state.longestWindow = max(state.longestWindow, window)
            guard let at = state.recordedAt[Key(id: id, group: group)] else { return false }
            return now - at <= window
        }
    }

    public func record(id: MessageID, group: String, now: Duration) async throws {
        let evictedEarly = state.withLock { state -> Int? in
            let key = Key(id: id, group: group)
            // A re-recorded id gets a fresh place in the order; its old place is skipped.
            state.recordedAt[key] = now
            state.order.append((key, now))
            if state.longestWindow > .zero {
                Self.forget(olderThan: state.longestWindow, now: now, in: &state)
            }

            guard state.order.count > capacity, let oldest = state.order.popFirst() else {
                return nil
            }
            if state.recordedAt[oldest.key] == oldest.at {
                state.recordedAt[oldest.key] = nil
            }
            state.earlyEvictions += 1
            return state.earlyEvictions
        }
        if let evictedEarly, evictedEarly % 1000 == 1 {
            logger.warning(
                "idempotency store full; evicting ids before their window ends, so a late "
                    + "duplicate of an evicted id would be handled again",
                [LogKey.count: String(evictedEarly), LogKey.group: group])
        }
    }

    /// Forgets ids recorded more than `window` before `now`.
    public func expire(olderThan window: Duration, now: Duration) {
        state.withLock { Self.forget(olderThan: window, now: now, in: &$0) }
    }

    private static func forget(olderThan window: Duration, now: Duration, in state: inout State) {
        while let first = state.order.first, now - first.at > window {
            _ = state.order.popFirst()
            if state.recordedAt[first.key] == first.at {
                state.recordedAt[first.key] = nil
            }
        }
    }
}
