/// `sightline bench outbox`: messages staged and relayed per second through the SQLite
/// outbox, against publishing directly.
enum OutboxBenchmark {
    static let usage = """
        usage: sightline bench outbox
        """

    static func run(_ words: [String]) async throws -> Int32 {
        // Not yet: the benchmark itself.
        print(usage)
        return 1
    }
}
