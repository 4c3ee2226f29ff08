import Synchronization

/// Keeps dead letters for inspection and redrive.
///
/// One message may be dead-lettered by several subscriber groups; a letter is identified by
/// the message id together with the group.
public protocol DeadLetterStore: Sendable {
    /// Stores a letter. A letter with the same id and group replaces the older one.
    func add(_ letter: DeadLetter) async throws

    /// The letters matching `filter`, oldest first.
    func list(_ filter: DeadLetterFilter) async throws -> [DeadLetter]

    /// Removes and returns the letter, or nil when there is none.
    func remove(id: MessageID, group: String) async throws -> DeadLetter?

    /// How many letters are stored.
    func count() async throws -> Int
}

/// A bounded in-memory dead-letter store.
///
/// When full, adding a letter evicts the oldest one and logs a warning that names it, so
/// memory stays bounded and the loss is visible. A durable store keeps them all.
public final class InMemoryDeadLetterStore: DeadLetterStore {
    private struct Key: Hashable {
        var id: MessageID
        var group: String
    }

    private struct State {
        var letters: [Key: DeadLetter] = [:]
        var order: [Key] = []
        var evicted = 0
    }

    private let state = Mutex(State())
    public let capacity: Int
    private let logger: Logger

    public init(capacity: Int = 100_000, logger: Logger = .standardError) {
        self.capacity = max(1, capacity)
        self.logger = logger
    }

    /// How many letters were evicted because the store was full.
    public var evictedCount: Int { state.withLock { $0.evicted } }

    public func add(_ letter: DeadLetter) async throws {
        let key = Key(id: letter.id, group: letter.group)
        let evicted = state.withLock { state -> DeadLetter? in
            if state.letters.updateValue(letter, forKey: key) != nil { return nil }
            state.order.append(key)
            guard state.order.count > capacity else { return nil }
            let oldest = state.order.removeFirst()
            state.evicted += 1
            return state.letters.removeValue(forKey: oldest)
        }
        if let evicted {
            logger.warning(
                "dead-letter store full; evicted the oldest letter",
                [
                    LogKey.messageID: evicted.id.description, LogKey.group: evicted.group,
                    LogKey.count: String(capacity),
                ])
        }
    }

    public func list(_ filter: DeadLetterFilter) async throws -> [DeadLetter] {
        state.withLock { state in
            var result: [DeadLetter] = []
            for key in state.order {
                guard let letter = state.letters[key], filter.matches(letter) else { continue }
                result.append(letter)
                if let limit = filter.limit, result.count >= limit { break }
            }
            return result
        }
    }

    public func remove(id: MessageID, group: String) async throws -> DeadLetter? {
        state.withLock { state in
            let key = Key(id: id, group: group)
            guard let letter = state.letters.removeValue(forKey: key) else { return nil }
            state.order.removeAll { $0 == key }
            return letter
        }
    }

    public func count() async throws -> Int {
        state.withLock { $0.letters.count }
    }
}
