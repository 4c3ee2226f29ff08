import Foundation
import Sightline
import Synchronization

/// The inbox: a durable ``IdempotencyStore`` on a ``SQLiteStore``, for effectively-once
/// subscriptions that survive restarts.
///
/// Ids are kept with the wall-clock time they were processed (from the store's clock): the
/// bus's monotonic `now` does not survive a restart, so it is not what is stored. An id is
/// forgotten once it is older than ``retention``, which should be at least the longest
/// `effectivelyOnce(window:)` of the subscriptions that use the store. Expiry runs every
/// ``expiryInterval`` records, and on demand with ``expire()``.
///
/// A handler that writes to the same store records its message in the same transaction as
/// its own rows with ``SQLiteStore/unitOfWork(handling:_:)``: then a crash after the commit
/// but before the bus's own record still finds the id on redelivery.
public final class SQLiteIdempotencyStore: IdempotencyStore {
    public let store: SQLiteStore
    /// How long an id is remembered. Default: 7 days.
    public let retention: Duration
    /// Records between two expiry passes. Default: 1000.
    public let expiryInterval: Int
    private let recordsSinceExpiry = Mutex(0)

    public init(
        store: SQLiteStore, retention: Duration = .seconds(7 * 24 * 3600),
        expiryInterval: Int = 1000
    ) {
        self.store = store
        self.retention = max(.zero, retention)
        self.expiryInterval = max(1, expiryInterval)
    }

    /// True when `group` recorded `id` within `window` of the store clock's wall time.
    /// `now` (the bus's monotonic time) is not used.
    public func contains(id: MessageID, group: String, window: Duration, now: Duration)
        async throws -> Bool
    {
        let threshold = store.configuration.clock.wallTime().timeIntervalSince1970 - window.seconds
        return try await store.perform { connection in
            let rows = try connection.query(
                "SELECT processed_at FROM inbox WHERE grp = ? AND message_id = ?",
                [.text(group), .text(id.description)])
            guard let processedAt = rows.first?[0].real else { return false }
            return processedAt >= threshold
        }
    }

    /// Records that `group` processed `id`, at the store clock's wall time.
    public func record(id: MessageID, group: String, now: Duration) async throws {
        let processedAt = store.configuration.clock.wallTime().timeIntervalSince1970
        try await store.perform { connection in
            try connection.query(
                """
                INSERT INTO inbox (grp, message_id, processed_at) VALUES (?, ?, ?)
                ON CONFLICT (grp, message_id) DO UPDATE SET processed_at = excluded.processed_at
                """,
                [.text(group), .text(id.description), .real(processedAt)])
        }
        let due = recordsSinceExpiry.withLock { count -> Bool in
            count += 1
            guard count >= expiryInterval else { return false }
            count = 0
            return true
        }
        if due { _ = try await expire() }
    }

    /// Forgets ids recorded more than ``retention`` ago; returns how many were forgotten.
    @discardableResult
    public func expire() async throws -> Int {
        let threshold =
            store.configuration.clock.wallTime().timeIntervalSince1970 - retention.seconds
        return try await store.perform { connection in
            try connection.query("DELETE FROM inbox WHERE processed_at < ?", [.real(threshold)])
            return connection.changes
        }
    }

    /// How many ids are remembered.
    public func count() async throws -> Int {
        try await store.perform { connection in
            Int(try connection.query("SELECT count(*) FROM inbox").first?[0].integer ?? 0)
        }
    }
}
