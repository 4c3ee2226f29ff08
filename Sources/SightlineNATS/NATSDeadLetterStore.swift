import CNATS
import Foundation
import Sightline
import Synchronization

/// Dead letters kept in a JetStream stream, durable and shared by every process of a
/// service, so that any of them (or `sightline dlq`) can list, show and redrive them.
///
/// Each letter is one message on `sightline.dlq.<group>.<id>` (the group escaped as in
/// ``NATSNames``); the stream keeps one message per subject, so a letter with the same id
/// and group replaces the older one. The letter's headers are the envelope's header form
/// (trace context included) plus `sightline-dead-letter-*` fields; the body is the payload.
/// See docs/wire-format.md.
public final class NATSDeadLetterStore: DeadLetterStore {
    /// The default stream name.
    public static let defaultStream = "SIGHTLINE_DEAD_LETTERS"

    enum Field {
        static let group = "sightline-dead-letter-group"
        static let reason = "sightline-dead-letter-reason"
        static let error = "sightline-dead-letter-error"
        static let attempts = "sightline-dead-letter-attempts"
        static let firstFailure = "sightline-dead-letter-first-failure-unix-nanos"
        static let lastFailure = "sightline-dead-letter-last-failure-unix-nanos"
        static let traceParent = "sightline-dead-letter-traceparent"
    }

    /// The longest error text kept, in bytes.
    static let maximumErrorBytes = 4096

    private let connection: NATSConnection
    private let stream: String
    private let workers: BlockingWorkers
    private let logger: Logger
    private let ready = Mutex(false)
    /// Letters just added whose original message the transport terminates (AckTerm).
    private let terminations = Mutex<Set<Termination>>([])

    /// A message just dead-lettered for a group, whose delivery the transport terminates.
    private struct Termination: Hashable {
        var id: MessageID
        var group: String
    }

    /// - Parameters:
    ///   - stream: the stream's name; created on first use (file storage, `replicas`
    ///     copies, no age limit).
    public init(
        connection: NATSConnection, stream: String = NATSDeadLetterStore.defaultStream,
        replicas: Int = 1
    ) {
        self.connection = connection
        self.stream = stream
        self.replicas = max(1, min(5, replicas))
        self.workers = BlockingWorkers(name: "sightline-nats-dlq", threads: 1, capacity: 4096)
        self.logger = connection.logger
    }

    private let replicas: Int

    deinit {
        workers.stop()
    }

    // MARK: DeadLetterStore

    public func add(_ letter: DeadLetter) async throws {
        try await workers.run { [self] in try addNow(letter) }
    }

    public func list(_ filter: DeadLetterFilter) async throws -> [DeadLetter] {
        try await workers.run { [self] in try listNow(filter).map(\.letter) }
    }

    public func remove(id: MessageID, group: String) async throws -> DeadLetter? {
        try await workers.run { [self] in try removeNow(id: id, group: group) }
    }

    public func count() async throws -> Int {
        try await workers.run { [self] in
            try ensureStream()
            return Int(try withStreamInfo { $0.State.Msgs })
        }
    }

    // MARK: Blocking forms, for the store's and the transport's own threads

    func addNow(_ letter: DeadLetter) throws {
        try ensureStream()

        var headers = try letter.envelope.headerFields()
        headers[Field.group] = letter.group
        headers[Field.reason] = letter.reason.rawValue
        headers[Field.error] = Self.headerSafe(letter.errorDescription)
        headers[Field.attempts] = String(letter.attempts)
        headers[Field.firstFailure] = String(Self.unixNanos(letter.firstFailureAt))
        headers[Field.lastFailure] = String(Self.unixNanos(letter.lastFailureAt))
        headers[Field.traceParent] = letter.deadLetterTraceParent
        let subject = Self.subject(group: letter.group, id: letter.id)
        let message = try NATSMessage.make(
            subject: subject, headers: headers, payload: letter.envelope.payload)
        defer { natsMsg_Destroy(message) }

        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        var ack: UnsafeMutablePointer<jsPubAck>?
        var jsCode = jsErrCode(0)
        let status = js_PublishMsg(&ack, connection.jetStream, message, &options, &jsCode)
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else {
            throw NATSError.failure(
                .publishFailed, "dead letter \(letter.id) not stored in \(stream)", status, jsCode)
        }
        _ = terminations.withLock { $0.insert(Termination(id: letter.id, group: letter.group)) }
    }

    /// True (once) when `id` was just dead-lettered for `group` by this store.
    ///
    /// Runs for every acknowledgement, so the common case (nothing was dead-lettered) costs
    /// one check of an empty set.
    func takeTermination(id: MessageID, group: String) -> Bool {
        terminations.withLock { pending in
            !pending.isEmpty && pending.remove(Termination(id: id, group: group)) != nil
        }
    }

    func listNow(_ filter: DeadLetterFilter) throws -> [(letter: DeadLetter, sequence: UInt64)] {
        try ensureStream()
        let (first, last) = try withStreamInfo { ($0.State.FirstSeq, $0.State.LastSeq) }
        guard first > 0, last >= first else { return [] }

        var letters: [(DeadLetter, UInt64)] = []
        // Not yet: listing reads the stream one message at a time (one API call each); a
        // store with many thousands of letters lists slowly.
        for sequence in first...last {
            var message: OpaquePointer?
            var jsCode = jsErrCode(0)
            let status = js_GetMsg(&message, connection.jetStream, stream, sequence, nil, &jsCode)
            guard status == NATS_OK, let message else { continue }
            defer { natsMsg_Destroy(message) }
            guard let letter = decode(message) else { continue }
            if filter.matches(letter) {
                letters.append((letter, sequence))
                if let limit = filter.limit, letters.count >= limit { break }
            }
        }
        return letters
    }

    func removeNow(id: MessageID, group: String) throws -> DeadLetter? {
        try ensureStream()
        var message: OpaquePointer?
        var jsCode = jsErrCode(0)
        let subject = Self.subject(group: group, id: id)
        let status = js_GetLastMsg(&message, connection.jetStream, stream, subject, nil, &jsCode)
        guard status == NATS_OK, let message else {
            if status == NATS_NOT_FOUND || jsCode == JSNoMessageFoundErr { return nil }
            throw NATSError.failure(.requestFailed, "cannot read \(subject)", status, jsCode)
        }
        defer { natsMsg_Destroy(message) }
        let letter = decode(message)
        let sequence = natsMsg_GetSequence(message)
        let deleted = js_DeleteMsg(connection.jetStream, stream, sequence, nil, &jsCode)
        guard deleted == NATS_OK else {
            throw NATSError.failure(
                .requestFailed, "cannot delete \(subject) (sequence \(sequence))", deleted, jsCode)
        }
        return letter
    }

    // MARK: Helpers

    private func decode(_ message: OpaquePointer) -> DeadLetter? {
        guard case .success(let headers) = NATSMessage.headers(of: message) else { return nil }
        var fields: [String: String] = [:]
        var letterFields: [String: String] = [:]
        for (name, values) in headers {
            guard let value = values.first else { continue }
            let lowered = name.lowercased()
            if lowered.hasPrefix("sightline-dead-letter-") {
                letterFields[lowered] = value
            } else if !lowered.hasPrefix("nats-") {
                fields[name] = value
            }
        }
        do {
            let envelope = try Envelope(
                headerFields: fields, payload: NATSMessage.payload(of: message))
            guard let group = letterFields[Field.group] else { return nil }
            return DeadLetter(
                envelope: envelope, group: group,
                reason: DeadLetterReason(rawValue: letterFields[Field.reason] ?? "unknown"),
                errorDescription: letterFields[Field.error] ?? "",
                attempts: Int(letterFields[Field.attempts] ?? "") ?? 0,
                firstFailureAt: Self.date(letterFields[Field.firstFailure]),
                lastFailureAt: Self.date(letterFields[Field.lastFailure]),
                deadLetterTraceParent: letterFields[Field.traceParent])
        } catch {
            logger.warning(
                "dead letter in the stream does not decode; skipped",
                [LogKey.error: "\(error)", LogKey.value: stream])
            return nil
        }
    }

    private func ensureStream() throws {
        if ready.withLock({ $0 }) { return }
        let subjects = ["sightline.dlq.>"]
        try withCStrings(subjects) { pointers in
            var subjectPointers = pointers
            var config = jsStreamConfig()
            jsStreamConfig_Init(&config)
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var jsCode = jsErrCode(0)
            let status = stream.withCString { name in
                subjectPointers.withUnsafeMutableBufferPointer { buffer in
                    config.Name = name
                    config.Subjects = buffer.baseAddress
                    config.SubjectsLen = Int32(buffer.count)
                    config.Storage = js_FileStorage
                    config.Retention = js_LimitsPolicy
                    config.MaxMsgsPerSubject = 1
                    config.Replicas = Int64(replicas)
                    return js_AddStream(&info, connection.jetStream, &config, nil, &jsCode)
                }
            }
            if let info { jsStreamInfo_Destroy(info) }
            // An existing stream with another configuration is used as it is.
            guard status == NATS_OK || jsCode == JSStreamNameExistErr else {
                throw NATSError.failure(
                    .setupFailed, "cannot create the dead-letter stream \(stream)", status, jsCode)
            }
        }
        ready.withLock { $0 = true }
    }

    private func withStreamInfo<T>(_ body: (jsStreamInfo) -> T) throws -> T {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jsCode = jsErrCode(0)
        let status = js_GetStreamInfo(&info, connection.jetStream, stream, nil, &jsCode)
        guard status == NATS_OK, let info else {
            throw NATSError.failure(.requestFailed, "cannot read stream \(stream)", status, jsCode)
        }
        defer { jsStreamInfo_Destroy(info) }
        return body(info.pointee)
    }

    static func subject(group: String, id: MessageID) -> String {
        "sightline.dlq.\(NATSNames.escaped(group)).\(id)"
    }

    /// The text with line breaks replaced by spaces, cut to ``maximumErrorBytes``.
    static func headerSafe(_ text: String) -> String {
        var result = String(text.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
        while result.utf8.count > maximumErrorBytes { result.removeLast() }
        return result
    }

    /// Nanoseconds since the Unix epoch, as the `…-unix-nanos` headers hold them.
    public static func unixNanos(_ date: Date) -> Int64 {
        Envelope.unixNanos(date)
    }

    private static func date(_ text: String?) -> Date {
        Date(timeIntervalSince1970: Double(Int64(text ?? "") ?? 0) / 1e9)
    }
}
