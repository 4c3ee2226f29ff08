import Sightline
import Synchronization

struct SagaOrder: Codable, Sendable, Equatable {
    var orderID: Int
}

struct DoA: Command {
    static let messageType = "test.DoA"
    var orderID: Int
}

struct DoB: Command {
    static let messageType = "test.DoB"
    var orderID: Int
}

struct DoC: Command {
    static let messageType = "test.DoC"
    var orderID: Int
}

struct UndoA: Command {
    static let messageType = "test.UndoA"
    var orderID: Int
}

struct UndoB: Command {
    static let messageType = "test.UndoB"
    var orderID: Int
}

struct ADone: Event {
    static let messageType = "test.ADone"
    var orderID: Int
}

struct BDone: Event {
    static let messageType = "test.BDone"
    var orderID: Int
}

struct CDone: Event {
    static let messageType = "test.CDone"
    var orderID: Int
}

struct CFailed: Event {
    static let messageType = "test.CFailed"
    var orderID: Int
}

/// The message types participants received, in order.
final class CommandLog: Sendable {
    private let entries = Mutex<[String]>([])

    func append(_ type: String) {
        entries.withLock { $0.append(type) }
    }

    var types: [String] { entries.withLock { $0 } }
}
