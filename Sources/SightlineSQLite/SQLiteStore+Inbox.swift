import Sightline

extension SQLiteStore {
    /// Runs `body` as a unit of work for the message being handled, once: when the
    /// handler's group already recorded the message's id in the inbox, `body` does not run
    /// and the result is nil; otherwise the id is recorded in the same transaction as
    /// `body`'s writes and staged messages, so they commit together or not at all.
    ///
    /// Use inside a handler of an effectively-once subscription whose bus uses a
    /// ``SQLiteIdempotencyStore`` on this store; a duplicate, a redelivery after a crash,
    /// or a redriven message that already took effect then changes nothing.
    ///
    /// - Throws: what `body` threw (nothing is recorded then), or ``SQLiteStoreError``.
    @discardableResult
    public func unitOfWork<T: Sendable>(
        handling context: MessageContext, _ body: @escaping @Sendable (UnitOfWork) throws -> T
    ) async throws -> T? {
        let id = context.messageID
        let group = context.group
        return try await unitOfWork { uow -> T? in
            if try uow.isProcessed(id: id, group: group) { return nil }
            let result = try body(uow)
            try uow.recordProcessed(id: id, group: group)
            return result
        }
    }
}
