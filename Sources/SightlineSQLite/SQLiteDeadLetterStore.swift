import Foundation
import Sightline

/// A dead-letter store on a ``SQLiteStore``: the durable twin of `InMemoryDeadLetterStore`,
/// with the same semantics (a letter is identified by message id and group; adding one that
/// exists replaces it in place; lists are oldest first) and no capacity limit.
///
/// The envelope is kept in its binary form (`Envelope.encoded()`), headers and trace
/// context included.
///
/// Redrive needs the subscriber group's handler, which lives in the service's bus, so a
/// process without that bus (the `sightline dlq` command) cannot redrive by itself. It
/// *requests* a redrive instead (``requestRedrive(matching:)``); a service whose bus uses
/// this store carries requested redrives out with ``redriveRequested(using:)``, at start
/// or periodically.
public final class SQLiteDeadLetterStore: DeadLetterStore {
    public let store: SQLiteStore

    public init(store: SQLiteStore) {
        self.store = store
    }

    // MARK: DeadLetterStore

    public func add(_ letter: DeadLetter) async throws {
        let bytes = try letter.envelope.encoded()
        try await store.perform { connection in
            try connection.transaction {
                try connection.query(
                    """
                    INSERT INTO dead_letters (message_id, grp, channel, message_type, reason,
                        error, attempts, first_failure_at, last_failure_at,
                        dead_letter_traceparent, envelope, redrive_requested_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                    ON CONFLICT (message_id, grp) DO UPDATE SET
                        channel = excluded.channel, message_type = excluded.message_type,
                        reason = excluded.reason, error = excluded.error,
                        attempts = excluded.attempts,
                        first_failure_at = excluded.first_failure_at,
                        last_failure_at = excluded.last_failure_at,
                        dead_letter_traceparent = excluded.dead_letter_traceparent,
                        envelope = excluded.envelope, redrive_requested_at = NULL
                    """,
                    [
                        .text(letter.id.description), .text(letter.group),
                        .text(letter.envelope.channel), .text(letter.envelope.messageType),
                        .text(letter.reason.rawValue), .text(letter.errorDescription),
                        .integer(Int64(letter.attempts)),
                        .real(letter.firstFailureAt.timeIntervalSince1970),
                        .real(letter.lastFailureAt.timeIntervalSince1970),
                        letter.deadLetterTraceParent.map { .text($0) } ?? .null, .blob(bytes),
                    ])
            }
        }
    }

    public func list(_ filter: DeadLetterFilter) async throws -> [DeadLetter] {
        try await entries(matching: filter).map(\.letter)
    }

    public func remove(id: MessageID, group: String) async throws -> DeadLetter? {
        try await store.perform { connection in
            try connection.transaction { () throws -> DeadLetter? in
                let rows = try connection.query(
                    "SELECT \(Self.columns) FROM dead_letters WHERE message_id = ? AND grp = ?",
                    [.text(id.description), .text(group)])
                guard let row = rows.first else { return nil }
                let entry = try Self.entry(from: row, path: connection.path)
                try connection.query(
                    "DELETE FROM dead_letters WHERE message_id = ? AND grp = ?",
                    [.text(id.description), .text(group)])
                return entry.letter
            }
        }
    }

    public func count() async throws -> Int {
        try await store.perform { connection in
            Int(try connection.query("SELECT count(*) FROM dead_letters").first?[0].integer ?? 0)
        }
    }

    // MARK: Inspection

    /// The letters matching `filter` with their redrive requests, oldest first.
    public func entries(matching filter: DeadLetterFilter) async throws -> [DeadLetterEntry] {
        let parameters: [SQLiteValue] = [
            filter.channel.map { .text($0) } ?? .null,
            filter.group.map { .text($0) } ?? .null,
            filter.reason.map { .text($0.rawValue) } ?? .null,
            filter.messageType.map { .text($0) } ?? .null,
            .integer(Int64(filter.limit ?? -1)),
        ]
        return try await store.perform { connection in
            let rows = try connection.query(
                """
                SELECT \(Self.columns) FROM dead_letters
                WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR grp = ?2)
                    AND (?3 IS NULL OR reason = ?3) AND (?4 IS NULL OR message_type = ?4)
                ORDER BY seq LIMIT ?5
                """, parameters)
            return try rows.map { try Self.entry(from: $0, path: connection.path) }
        }
    }

    /// Every letter of message `id`, one per group that dead-lettered it.
    public func entries(id: MessageID) async throws -> [DeadLetterEntry] {
        try await store.perform { connection in
            let rows = try connection.query(
                "SELECT \(Self.columns) FROM dead_letters WHERE message_id = ? ORDER BY seq",
                [.text(id.description)])
            return try rows.map { try Self.entry(from: $0, path: connection.path) }
        }
    }

    // MARK: Redrive

    /// Marks the letters matching `filter` for redrive by a bus that uses this store (see
    /// ``redriveRequested(using:)``); returns how many were marked. Marking twice keeps the
    /// first request's time. The letters stay in the store until they are redriven.
    @discardableResult
    public func requestRedrive(matching filter: DeadLetterFilter) async throws -> Int {
        let now = store.configuration.clock.wallTime().timeIntervalSince1970
        let parameters: [SQLiteValue] = [
            .real(now),
            filter.channel.map { .text($0) } ?? .null,
            filter.group.map { .text($0) } ?? .null,
            filter.reason.map { .text($0.rawValue) } ?? .null,
            filter.messageType.map { .text($0) } ?? .null,
            .integer(Int64(filter.limit ?? -1)),
        ]
        return try await store.perform { connection in
            try connection.transaction {
                try connection.query(
                    """
                    UPDATE dead_letters SET redrive_requested_at = ?1
                    WHERE seq IN (
                        SELECT seq FROM dead_letters
                        WHERE redrive_requested_at IS NULL
                            AND (?2 IS NULL OR channel = ?2) AND (?3 IS NULL OR grp = ?3)
                            AND (?4 IS NULL OR reason = ?4) AND (?5 IS NULL OR message_type = ?5)
                        ORDER BY seq LIMIT ?6)
                    """, parameters)
                return connection.changes
            }
        }
    }

    /// Marks the letters of message `id` for redrive (only `group`'s, when given); returns
    /// how many were marked.
    @discardableResult
    public func requestRedrive(id: MessageID, group: String? = nil) async throws -> Int {
        let now = store.configuration.clock.wallTime().timeIntervalSince1970
        return try await store.perform { connection in
            try connection.transaction {
                try connection.query(
                    """
                    UPDATE dead_letters SET redrive_requested_at = ?
                    WHERE message_id = ? AND (?3 IS NULL OR grp = ?3)
                        AND redrive_requested_at IS NULL
                    """,
                    [.real(now), .text(id.description), group.map { .text($0) } ?? .null])
                return connection.changes
            }
        }
    }

    /// Redrives, through `bus`, every letter marked by ``requestRedrive(matching:)``,
    /// oldest first. `bus` must use this store as its dead-letter store.
    ///
    /// A letter that cannot be redriven (its group no longer handles the type, say) keeps
    /// its mark and its error is returned, so one bad letter does not hold back the others.
    public func redriveRequested(using bus: Bus) async throws -> RedriveOutcome {
        let marked = try await store.perform { connection in
            try connection.query(
                """
                SELECT message_id, grp FROM dead_letters
                WHERE redrive_requested_at IS NOT NULL ORDER BY seq
                """)
        }
        var outcome = RedriveOutcome()
        for row in marked {
            guard let text = row[0].text, let id = MessageID(text), let group = row[1].text
            else { continue }
            do {
                try await bus.redrive(id: id, group: group)
                outcome.redriven += 1
            } catch {
                outcome.failures.append(
                    RedriveOutcome.Failure(id: id, group: group, error: "\(error)"))
            }
        }
        return outcome
    }

    // MARK: Rows

    private static let columns = """
        message_id, grp, reason, error, attempts, first_failure_at, last_failure_at,
        dead_letter_traceparent, envelope, redrive_requested_at
        """

    private static func entry(from row: SQLiteRow, path: String) throws -> DeadLetterEntry {
        guard let bytes = row[8].blob, let group = row[1].text, let reason = row[2].text,
            let attempts = row[4].integer, let first = row[5].real, let last = row[6].real
        else {
            throw SQLiteStoreError(
                .badRow, path: path, "dead letter \(row[0].text ?? "?") has missing columns")
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(decoding: bytes)
        } catch {
            throw SQLiteStoreError(
                .badRow, path: path,
                "dead letter \(row[0].text ?? "?") holds an envelope that does not decode: "
                    + "\(error)")
        }
        let letter = DeadLetter(
            envelope: envelope, group: group, reason: DeadLetterReason(rawValue: reason),
            errorDescription: row[3].text ?? "", attempts: Int(attempts),
            firstFailureAt: Date(timeIntervalSince1970: first),
            lastFailureAt: Date(timeIntervalSince1970: last),
            deadLetterTraceParent: row[7].text)
        return DeadLetterEntry(
            letter: letter, redriveRequestedAt: row[9].real.map(Date.init(timeIntervalSince1970:)))
    }
}

/// A stored dead letter and whether a redrive was requested for it.
public struct DeadLetterEntry: Hashable, Sendable {
    public var letter: DeadLetter
    /// When `sightline dlq redrive` (or ``SQLiteDeadLetterStore/requestRedrive(matching:)``)
    /// asked for the letter to be redriven; nil when nobody asked.
    public var redriveRequestedAt: Date?
}

/// What ``SQLiteDeadLetterStore/redriveRequested(using:)`` did.
public struct RedriveOutcome: Hashable, Sendable {
    public struct Failure: Hashable, Sendable {
        public var id: MessageID
        public var group: String
        public var error: String

        public init(id: MessageID, group: String, error: String) {
            self.id = id
            self.group = group
            self.error = error
        }
    }

    /// Letters sent back to their group (and removed from the store).
    public var redriven = 0
    /// Letters that stay marked, with why.
    public var failures: [Failure] = []

    public init(redriven: Int = 0, failures: [Failure] = []) {
        self.redriven = redriven
        self.failures = failures
    }
}
