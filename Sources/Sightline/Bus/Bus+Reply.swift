import Foundation

/// A request waiting for its reply, and the timer that ends the wait.
struct PendingReply {
    var continuation: CheckedContinuation<Envelope, any Error>
    var timer: Task<Void, Never>?
}

extension Bus {
    /// Registers a wait for the reply to `requestID`, runs `start`, and returns the reply, or
    /// throws `requestTimedOut` after `timeout`, or whatever `start` threw.
    func awaitReply(
        to requestID: MessageID, timeout: Duration,
        start: @escaping @Sendable () async throws -> Void
    ) async throws -> Envelope {
        try await withCheckedThrowingContinuation { continuation in
            pendingReplies.withLock {
                $0[requestID] = PendingReply(continuation: continuation, timer: nil)
            }

            let timer = Task { [clock] in
                do {
                    try await clock.sleep(for: timeout)
                } catch {
                    return
                }
                self.failPendingReply(
                    requestID,
                    BusError(.requestTimedOut, "no reply to \(requestID) within \(timeout)"))
            }
            let stillPending = pendingReplies.withLock { pending -> Bool in
                guard pending[requestID] != nil else { return false }
                pending[requestID]?.timer = timer
                return true
            }
            if !stillPending { timer.cancel() }

            Task {
                do {
                    try await start()
                } catch {
                    self.failPendingReply(requestID, error)
                }
            }
        }
    }

    func failPendingReply(_ requestID: MessageID, _ error: any Error) {
        let pending = pendingReplies.withLock { $0.removeValue(forKey: requestID) }
        pending?.timer?.cancel()
        pending?.continuation.resume(throwing: error)
    }

    /// Sends the reply for a handled request to its reply address.
    func sendReply(to request: Envelope, payload: Data, isError: Bool) {
        guard let replyTo = request.replyTo else { return }
        let reply = Envelope(
            messageType: request.messageType + ".reply", schemaVersion: request.schemaVersion,
            channel: replyTo, priority: request.priority, createdAt: clock.wallTime(),
            correlationID: request.correlationID, causationID: request.id.description,
            traceParent: request.traceParent, traceState: request.traceState,
            baggage: request.baggage,
            contentType: isError ? ReplyError.contentType : "application/json",
            payload: payload)

        guard replyTo == replyAddress else {
            if transport.sendReply(reply, to: replyTo) { return }
            // The in-memory transport routes no reply addresses between processes.
            logger.warning(
                "reply address belongs to no requester in this process; reply dropped",
                [LogKey.messageID: request.id.description, LogKey.channel: replyTo])
            return
        }
        completeReply(reply)
    }

    func completeReply(_ reply: Envelope) {
        guard let causation = reply.causationID, let requestID = MessageID(causation) else {
            return
        }
        let pending = pendingReplies.withLock { $0.removeValue(forKey: requestID) }
        guard let pending else {
            logger.debug(
                "late reply dropped; the request already ended",
                [LogKey.messageID: causation])
            return
        }
        pending.timer?.cancel()
        pending.continuation.resume(returning: reply)
    }
}
