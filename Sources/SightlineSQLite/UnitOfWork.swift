import Foundation
import Sightline

/// One SQLite transaction in progress, handed to the body of ``SQLiteStore/unitOfWork(_:)``.
///
/// Everything done through it (the caller's own statements, staged messages, ids recorded
/// as processed) commits together when the body returns, or not at all when it throws.
/// It is valid only inside that body and only on the store's thread; any use afterwards
/// throws ``SQLiteStoreError`` `misuse`.
public final class UnitOfWork {
    private let connection: SQLiteConnection
    private let stagingContext: SpanContext?
    /// The wall-clock time the unit of work started.
    public let now: Date
    private var isOpen = true
    private(set) var stagedCount = 0

    init(connection: SQLiteConnection, stagingContext: SpanContext?, now: Date) {
        self.connection = connection
        self.stagingContext = stagingContext
        self.now = now
    }

    func close() {
        isOpen = false
    }

    // MARK: The caller's own statements

    /// Runs a statement with `parameters` bound to its `?` placeholders in order and
    /// returns the rows changed. Statements are prepared once per store and cached.
    ///
    /// - Throws: ``SQLiteStoreError`` `statementFailed` (a constraint, bad SQL), `full`,
    ///   and the others SQLite can report; the whole unit of work then rolls back.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> Int {
        try checkOpen()
        try connection.query(sql, parameters)
        return connection.changes
    }

    /// Runs a query and returns its rows, seeing this unit of work's own uncommitted writes.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [SQLiteRow] {
        try checkOpen()
        return try connection.query(sql, parameters)
    }

    // MARK: Outbox

    /// Stages `envelope` for publication after commit, in staging order.
    ///
    /// The envelope keeps its id, so a consumer's inbox recognises a message the relay
    /// publishes twice (after a crash between publishing and marking it sent). An envelope
    /// without a `traceparent` gets the trace context the unit of work started in.
    ///
    /// - Throws: ``SQLiteStoreError`` `statementFailed` when the same message id was
    ///   already staged; an ``EnvelopeError`` when the envelope does not encode.
    public func stage(_ envelope: Envelope) throws {
        try checkOpen()
        var envelope = envelope
        if envelope.traceParent == nil, let context = stagingContext, context.isValid {
            envelope.traceParent = TraceParent(context).headerValue
            envelope.traceState = context.traceState.isEmpty ? nil : context.traceState
        }
        let bytes = try envelope.encoded()
        try connection.query(
            """
            INSERT INTO outbox (message_id, channel, message_type, staged_at, envelope)
            VALUES (?, ?, ?, ?, ?)
            """,
            [
                .text(envelope.id.description), .text(envelope.channel),
                .text(envelope.messageType), .real(now.timeIntervalSince1970), .blob(bytes),
            ])
        stagedCount += 1
    }

    // MARK: Inbox

    /// True when `group` recorded `id` as processed and the record has not expired.
    public func isProcessed(id: MessageID, group: String) throws -> Bool {
        try checkOpen()
        let rows = try connection.query(
            "SELECT 1 FROM inbox WHERE grp = ? AND message_id = ?",
            [.text(group), .text(id.description)])
        return !rows.isEmpty
    }

    /// Records that `group` processed `id`, committing with the rest of the unit of work.
    /// Recording an id twice keeps the later time.
    public func recordProcessed(id: MessageID, group: String) throws {
        try checkOpen()
        try connection.query(
            """
            INSERT INTO inbox (grp, message_id, processed_at) VALUES (?, ?, ?)
            ON CONFLICT (grp, message_id) DO UPDATE SET processed_at = excluded.processed_at
            """,
            [.text(group), .text(id.description), .real(now.timeIntervalSince1970)])
    }

    private func checkOpen() throws(SQLiteStoreError) {
        guard isOpen else {
            throw SQLiteStoreError(
                .misuse, path: connection.path, "a unit of work was used after it ended")
        }
    }
}
