import CNATS
import Foundation
import Synchronization

/// Asynchronous JetStream publishes whose acknowledgements complete their callers, with at
/// most `capacity` awaiting acknowledgement at once.
///
/// A publish hands its message to the client (`js_PublishMsgAsync`, which only writes into
/// the connection's buffer) and suspends; the client's acknowledgement callback resumes it,
/// with an error when JetStream refused the message, when no acknowledgement came within
/// the publish timeout, or when the connection closed for good. So many publishes share one
/// round trip instead of paying one each, and a publish that returns was stored.
///
/// When the window is full, a publish waits for a free place. That wait ends: every
/// publish in the window ends by its acknowledgement, its timeout or the connection's close.
final class NATSPublishWindow: Sendable {
    // Unsafe continuations rather than checked ones (each costs an allocation per
    // publish): every one is resumed exactly once, by whoever removes it from `State` under
    // the lock.
    private struct State {
        var inFlight = 0
        /// Publishes waiting for a place, oldest first from `waitingHead`; resumed with
        /// false when the window closed.
        var waiting: [UnsafeContinuation<Bool, Never>] = []
        var waitingHead = 0
        /// Publishes handed to the client, by the address of their message.
        var pending: [UInt: UnsafeContinuation<Void, any Error>] = [:]
        var closed = false
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Publishes `message` (which this call takes over and destroys) through `context`,
    /// and returns once JetStream acknowledged it.
    ///
    /// The caller's thread only writes into the connection's buffer; the client's own
    /// threads do the network I/O.
    ///
    /// - Throws: ``NATSError`` `publishFailed` with the JetStream error code when the
    ///   server refused it or no acknowledgement came within `timeout`,
    ///   `connectionFailed` once the connection is closed.
    func publish(
        _ message: OpaquePointer, through context: OpaquePointer, messageID: String,
        stream: String, timeout: Duration
    ) async throws {
        guard await enter() else {
            natsMsg_Destroy(message)
            throw NATSError(.connectionFailed, "the connection is closed")
        }

        let key = UInt(bitPattern: message)
        try await withUnsafeThrowingContinuation { continuation in
            // Registered before the message leaves: its acknowledgement may arrive before
            // js_PublishMsgAsync returns.
            let registered = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.pending[key] = continuation
                return true
            }
            guard registered else {
                natsMsg_Destroy(message)
                leave()
                continuation.resume(
                    throwing: NATSError(.connectionFailed, "the connection is closed"))
                return
            }

            var handed: OpaquePointer? = message
            let status = messageID.withCString { idPointer in
                stream.withCString { streamPointer in
                    var options = jsPubOptions()
                    jsPubOptions_Init(&options)
                    options.MsgId = idPointer
                    options.ExpectStream = streamPointer
                    options.MaxWait = timeout.wholeMilliseconds
                    return js_PublishMsgAsync(context, &handed, &options)
                }
            }
            if status != NATS_OK {
                // The client kept nothing and will not call back for this message.
                let subject = NATSMessage.subject(of: message)
                natsMsg_Destroy(handed)
                complete(
                    key,
                    with: NATSError.failure(.publishFailed, "publish to \(subject) failed", status)
                )
            }
        }
    }

    /// The client's acknowledgement callback: resumes the publish of `message` (its
    /// address is the key), with `error` when it failed. Runs on a client thread.
    func complete(_ key: UInt, with error: NATSError?) {
        let (publisher, next) = state.withLock {
            state -> (UnsafeContinuation<Void, any Error>?, UnsafeContinuation<Bool, Never>?) in
            guard let publisher = state.pending.removeValue(forKey: key) else { return (nil, nil) }
            return (publisher, Self.releasePlace(&state))
        }
        next?.resume(returning: true)
        if let error {
            publisher?.resume(throwing: error)
        } else {
            publisher?.resume()
        }
    }

    /// Fails every publish awaiting acknowledgement or a place: the connection closed for
    /// good, so no acknowledgement will come. Later publishes fail at once.
    func close() {
        let (pending, waiting) = state.withLock {
            state -> ([UnsafeContinuation<Void, any Error>], [UnsafeContinuation<Bool, Never>])
            in
            state.closed = true
            let pending = Array(state.pending.values)
            let waiting = Array(state.waiting[state.waitingHead...])
            state.pending = [:]
            state.waiting = []
            state.waitingHead = 0
            state.inFlight = 0
            return (pending, waiting)
        }
        for publisher in pending {
            publisher.resume(
                throwing: NATSError(
                    .connectionFailed, "the connection closed before JetStream acknowledged"))
        }
        for waiter in waiting { waiter.resume(returning: false) }
    }

    /// Takes a place in the window, waiting for one when it is full; false once closed.
    private func enter() async -> Bool {
        let entered = state.withLock { state -> Bool? in
            if state.closed { return false }
            guard state.inFlight < capacity else { return nil }
            state.inFlight += 1
            return true
        }
        if let entered { return entered }

        return await withUnsafeContinuation { continuation in
            let entered = state.withLock { state -> Bool? in
                if state.closed { return false }
                if state.inFlight < capacity {
                    state.inFlight += 1
                    return true
                }
                state.waiting.append(continuation)
                return nil
            }
            if let entered { continuation.resume(returning: entered) }
        }
    }

    /// Gives back a place taken by `enter` whose publish never reached the client.
    private func leave() {
        let next = state.withLock { Self.releasePlace(&$0) }
        next?.resume(returning: true)
    }

    /// Hands the place of a finished publish to the oldest waiting one, or frees it.
    private static func releasePlace(_ state: inout State) -> UnsafeContinuation<Bool, Never>? {
        guard state.waitingHead < state.waiting.count else {
            state.inFlight = max(0, state.inFlight - 1)
            return nil
        }
        let next = state.waiting[state.waitingHead]
        state.waitingHead += 1
        if state.waitingHead == state.waiting.count {
            state.waiting.removeAll(keepingCapacity: true)
            state.waitingHead = 0
        }
        return next
    }
}
