import Foundation
import Synchronization

/// A type-erased handler: decodes the payload, validates it and runs the user's closure.
/// Returns the encoded reply for requests, nil otherwise.
typealias ErasedHandler = @Sendable (Envelope, MessageContext) async throws -> Data?

/// The decoded form of a failure inside ``ErasedHandler`` that is not the handler's own.
struct PayloadDecodingError: Error, CustomStringConvertible {
    var messageType: String
    var underlying: any Error

    var description: String { "payload does not decode as \(messageType): \(underlying)" }
}

/// One subscriber group as the bus sees it: its options and its handlers by message type.
final class Subscription: Sendable {
    let key: GroupKey
    let options: SubscriptionOptions
    let metrics: GroupMetrics?
    /// The name and start attributes of the group's CONSUMER spans.
    let processSpan: SpanTemplate
    private let handlers = Mutex<[String: ErasedHandler]>([:])
    /// When each message now being retried first failed, for its dead letter.
    private let firstFailures = Mutex<[MessageID: Date]>([:])

    init(
        key: GroupKey, options: SubscriptionOptions, metrics: GroupMetrics?,
        processSpan: SpanTemplate
    ) {
        self.key = key
        self.options = options
        self.metrics = metrics
        self.processSpan = processSpan
    }

    func add(messageType: String, handler: @escaping ErasedHandler) throws {
        try handlers.withLock { handlers in
            guard handlers[messageType] == nil else {
                throw BusError(
                    .duplicateSubscription,
                    "group \(key) already handles \(messageType)")
            }
            handlers[messageType] = handler
        }
    }

    func handler(for messageType: String) -> ErasedHandler? {
        handlers.withLock { $0[messageType] }
    }

    /// Records a failure and returns when the message first failed.
    func recordFailure(of id: MessageID, at time: Date) -> Date {
        firstFailures.withLock { failures in
            if let first = failures[id] { return first }
            failures[id] = time
            return time
        }
    }

    func forgetFailures(of id: MessageID) {
        firstFailures.withLock { failures in
            // Runs for every handled message; most never failed, and hashing the id costs.
            guard !failures.isEmpty else { return }
            failures.removeValue(forKey: id)
        }
    }
}

/// The routing table: which subscriptions receive which message type on which channel.
struct Routes {
    var subscriptions: [GroupKey: Subscription] = [:]
    /// channel → message type → groups, in subscription order.
    var byType: [String: [String: [Subscription]]] = [:]
    /// Message types of commands and requests that have their one handler.
    var singleHandlerTypes: Set<String> = []

    func targets(channel: String, messageType: String) -> [Subscription] {
        byType[channel]?[messageType] ?? []
    }
}

extension JSONEncoder {
    /// The encoder for payloads: sorted keys, so that equal messages give equal bytes.
    static func sightlinePayload() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static func sightlinePayload() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
