import Foundation
import Sightline
import SightlineSQLite
import Testing

/// The `sightline dlq` command run as a child process on a store the test fills.
@Suite struct DLQCommandTests {
    let directory: TemporaryDirectory
    let path: String

    init() throws {
        directory = try TemporaryDirectory()
        path = directory.path("service.db")
    }

    func fillStore() async throws {
        let store = try await SQLiteStore.open(path: path)
        let letters = SQLiteDeadLetterStore(store: store)
        try await letters.add(SQLiteDeadLetterStoreTests.letter(1))
        try await letters.add(SQLiteDeadLetterStoreTests.letter(2, reason: .invalidMessage))
        try await letters.add(SQLiteDeadLetterStoreTests.letter(3, group: "shipping"))
        await store.close()
    }

    @Test func list_withJSON_printsEveryLetterOldestFirst() async throws {
        try await fillStore()

        let result = try await runCommand(["dlq", "list", "--store", path, "--json"])
        let reports = try JSONSerialization.jsonObject(with: Data(result.output.utf8))
        let ids = (reports as? [[String: Any]])?.compactMap { $0["id"] as? String }

        #expect(result.status == 0)
        #expect(ids == (1...3).map { SQLiteDeadLetterStoreTests.letter($0).id.description })
        directory.remove()
    }

    @Test func list_withReasonFilter_printsATableOfTheMatches() async throws {
        try await fillStore()

        let result = try await runCommand(
            ["dlq", "list", "--store", path, "--reason", "invalid_message"])
        let lines = result.output.split(separator: "\n")

        #expect(result.status == 0)
        #expect(lines.first == "1 dead letter(s)")
        #expect(lines.count == 3)
        #expect(lines.last?.contains(SQLiteDeadLetterStoreTests.letter(2).id.description) == true)
        directory.remove()
    }

    @Test func show_whenLetterExists_printsItsDetails() async throws {
        try await fillStore()
        let id = SQLiteDeadLetterStoreTests.letter(1).id.description

        let result = try await runCommand(["dlq", "show", id, "--store", path])

        #expect(result.status == 0)
        #expect(result.output.contains("id:              \(id)"))
        #expect(result.output.contains("error:           boom 1"))
        #expect(result.output.contains("header tenant: t-1"))
        #expect(result.output.contains("payload (13 bytes): {\"orderID\":1}"))
        directory.remove()
    }

    @Test func redrive_withAllAndGroup_marksOnlyThatGroupsLetters() async throws {
        try await fillStore()

        let result = try await runCommand(
            ["dlq", "redrive", "--all", "--group", "billing", "--store", path])
        let store = try await SQLiteStore.open(path: path)
        let entries = try await SQLiteDeadLetterStore(store: store).entries(matching: .all)
        await store.close()

        #expect(result.status == 0)
        #expect(result.output.hasPrefix("2 dead letter(s) marked for redrive"))
        #expect(entries.map { $0.redriveRequestedAt != nil } == [true, true, false])
        directory.remove()
    }

    @Test func list_whenStoreIsGarbage_failsWithTheCorruptErrorAndPath() async throws {
        let garbage = Data(repeating: 0xA5, count: 2048)
        try garbage.write(to: URL(fileURLWithPath: path))

        let result = try await runCommand(["dlq", "list", "--store", path])

        #expect(result.status == 1)
        #expect(result.error.contains("SQLite store \(path): corrupt"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        directory.remove()
    }

    // MARK: Running the command

    struct CommandResult {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs the built `sightline` executable; fails when it has not been built.
    func runCommand(_ arguments: [String]) async throws -> CommandResult {
        let binary = Self.packageRoot.appendingPathComponent(".build/debug/sightline")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw RawSQLiteError(message: "build the sightline executable first (swift build)")
        }
        let process = Process()
        let output = Pipe()
        let error = Pipe()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = error
        let status = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in
                continuation.resume(returning: process.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        // The outputs are small, so the pipes hold them whole once the process has ended.
        return CommandResult(
            status: status,
            output: String(
                decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            error: String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        )
    }

    /// The package root: two folders above this file.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
