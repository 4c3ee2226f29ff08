/// A growable FIFO with O(1) append, prepend and removal at both ends.
///
/// The standard library has no deque; queues of the in-memory transport use this one. It is
/// a value type; bounds are enforced by its owners.
struct RingBuffer<Element> {
    private var storage: [Element?] = Array(repeating: nil, count: 16)
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) {
        growIfFull()
        storage[(head + count) & (storage.count - 1)] = element
        count += 1
    }

    mutating func prepend(_ element: Element) {
        growIfFull()
        head = (head - 1 + storage.count) & (storage.count - 1)
        storage[head] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        // Moved out rather than copied and then cleared: no retain and release per element.
        let element = storage[head].take()
        head = (head + 1) & (storage.count - 1)
        count -= 1
        return element
    }

    mutating func removeAll() {
        self = RingBuffer()
    }

    /// The elements from first to last.
    var elements: [Element] {
        (0..<count).map { storage[(head + $0) & (storage.count - 1)]! }
    }

    private mutating func growIfFull() {
        guard count == storage.count else { return }
        var grown = [Element?](repeating: nil, count: storage.count * 2)
        for index in 0..<count {
            grown[index] = storage[(head + index) & (storage.count - 1)]
        }
        storage = grown
        head = 0
    }
}
