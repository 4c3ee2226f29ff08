import CNATS
import Foundation
import Sightline
import Synchronization

/// Replies over core NATS: each requesting bus listens on its reply address (an inbox-like
/// subject `sightline.reply.<uuid>`); a handler in any process publishes the reply there.
///
/// Replies are not stored: a requester that is gone when its reply arrives loses it, and
/// its request times out as the core API says.
final class NATSReplyRouter: Sendable {
    private let connection: NATSConnection
    private let logger: Logger
    // Subscriptions are created and destroyed under the lock; cnats calls the callback on
    // its own thread with the retained route as closure.
    private let routes = Mutex<[String: SubscriptionBox]>([:])

    init(connection: NATSConnection) {
        self.connection = connection
        self.logger = connection.logger
    }

    /// Subscribes to `address` unless already subscribed. Blocks for the subscribe.
    func route(to address: String, deliver: @escaping @Sendable (Envelope) -> Void) throws {
        try routes.withLock { routes in
            guard routes[address] == nil else { return }
            let route = ReplyRoute(deliver: deliver, logger: logger)
            let context = Unmanaged.passRetained(route).toOpaque()
            var subscription: OpaquePointer?
            let status = natsConnection_Subscribe(
                &subscription, connection.handle, address,
                { _, _, message, closure in
                    guard let message else { return }
                    defer { natsMsg_Destroy(message) }
                    guard let closure else { return }
                    Unmanaged<ReplyRoute>.fromOpaque(closure).takeUnretainedValue()
                        .received(message)
                }, context)
            guard status == NATS_OK, let subscription else {
                Unmanaged<ReplyRoute>.fromOpaque(context).release()
                throw NATSError.failure(
                    .setupFailed, "cannot subscribe to reply address \(address)", status)
            }
            routes[address] = SubscriptionBox(subscription: subscription, context: context)
        }
        try connection.flush(timeout: connection.options.requestTimeout)
    }

    func isRouted(_ address: String) -> Bool {
        routes.withLock { $0[address] != nil }
    }

    /// Publishes a reply on core NATS (buffered; does not wait for the network).
    func send(_ reply: Envelope, to address: String) -> Bool {
        do {
            let message = try NATSMessage.make(
                subject: address, headers: try reply.headerFields(), payload: reply.payload)
            defer { natsMsg_Destroy(message) }
            let status = natsConnection_PublishMsg(connection.handle, message)
            guard status == NATS_OK else {
                throw NATSError.failure(.publishFailed, "reply to \(address)", status)
            }
            return true
        } catch {
            logger.warning(
                "reply not sent",
                [LogKey.messageID: reply.causationID ?? "?", LogKey.error: "\(error)"])
            // The reply is lost either way; saying it was handled avoids a second warning.
            return true
        }
    }

    /// Unsubscribes every route.
    func close() {
        let boxes = routes.withLock { routes in
            defer { routes = [:] }
            return Array(routes.values)
        }
        for box in boxes {
            natsSubscription_Unsubscribe(box.subscription)
            natsSubscription_Destroy(box.subscription)
            // The client calls no callback after destroy.
            Unmanaged<ReplyRoute>.fromOpaque(box.context).release()
        }
    }
}

/// A subscription handle and its retained callback context.
private struct SubscriptionBox: @unchecked Sendable {
    // Only touched under the router's lock, and destroyed once in close().
    let subscription: OpaquePointer
    let context: UnsafeMutableRawPointer
}

/// Turns reply messages into envelopes for the bus.
private final class ReplyRoute: Sendable {
    let deliver: @Sendable (Envelope) -> Void
    let logger: Logger

    init(deliver: @escaping @Sendable (Envelope) -> Void, logger: Logger) {
        self.deliver = deliver
        self.logger = logger
    }

    func received(_ message: OpaquePointer) {
        do {
            let headers = try NATSMessage.headers(of: message).get()
            let envelope = try Envelope(
                headerFields: try NATSMessage.envelopeFields(headers),
                payload: NATSMessage.payload(of: message))
            deliver(envelope)
        } catch {
            logger.warning("malformed reply dropped", [LogKey.error: "\(error)"])
        }
    }
}
