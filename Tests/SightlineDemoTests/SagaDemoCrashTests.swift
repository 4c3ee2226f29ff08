import Foundation
import SightlineDemo
import Testing

/// `sightline demo --store PATH` killed with SIGKILL at chosen points, then started again on
/// the same store: every order ends completed or compensated, none twice and none lost, and
/// the counts equal an uninterrupted run's.
@Suite(.serialized) struct SagaDemoCrashTests {
    static let limit = "200"

    /// The same counts, without what depends on where the run resumed or how long it took.
    struct Counts: Equatable {
        var orders: Int
        var started: Int
        var completed: Int
        var compensated: Int
        var running: Int
        var creditRefused: Int
        var shippingFailed: Int
        var ordersByStatus: [String: Int]
        var creditReservedCents: Int

        init(_ summary: SagaDemoSummary) {
            orders = summary.orders
            started = summary.sagasStarted
            completed = summary.sagasCompleted
            compensated = summary.sagasCompensated
            running = summary.sagasRunning
            creditRefused = summary.creditRefused
            shippingFailed = summary.shippingFailed
            ordersByStatus = summary.ordersByStatus
            creditReservedCents = summary.creditReservedCents
        }
    }

    @Test func uninterruptedRun_endsEverySagaAndIsConsistent() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        let run = try await runDemo(store: directory.appendingPathComponent("s.db").path)
        let summary = try #require(run.summary)
        let again = try await runDemo(store: directory.appendingPathComponent("s.db").path)

        #expect(run.status == 0)
        #expect(summary.isComplete)
        #expect(summary.sagasStarted == 200)
        #expect(summary.sagasCompleted + summary.sagasCompensated == 200)
        #expect(summary.creditRefused + summary.shippingFailed == summary.sagasCompensated)
        #expect(summary.creditRefused > 0)
        #expect(summary.shippingFailed > 0)
        #expect(
            summary.ordersByStatus == [
                "shipped": summary.sagasCompleted, "cancelled": summary.sagasCompensated,
            ])
        // A second run on a finished store places nothing again.
        #expect(again.summary.map(Counts.init) == Counts(summary))
        #expect(again.summary?.resumedAt == 200)
    }

    @Test(
        arguments: [
            "order-placed:1", "order-placed:120", "credit-before-commit:1",
            "credit-before-commit:90", "credit-after-commit:45", "shipping-after-commit:1",
            "shipping-after-commit:70", "compensation-before-commit:1",
            "compensation-before-commit:6", "compensation-after-commit:3",
        ])
    func killedRun_whenRestarted_endsWithTheUninterruptedCounts(killAt: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let baseline = try await runDemo(store: directory.appendingPathComponent("b.db").path)
        let store = directory.appendingPathComponent("k.db").path

        let killed = try await runDemo(store: store, killAt: killAt)
        let resumed = try await runDemo(store: store)

        #expect(killed.signal == SIGKILL)
        #expect(killed.summary == nil)
        #expect(resumed.status == 0)
        #expect(resumed.summary.map(Counts.init) == baseline.summary.map(Counts.init))
    }

    @Test func twoKillsInARow_whenRestarted_endWithTheUninterruptedCounts() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let baseline = try await runDemo(store: directory.appendingPathComponent("b.db").path)
        let store = directory.appendingPathComponent("k.db").path

        let first = try await runDemo(store: store, killAt: "credit-after-commit:30")
        let second = try await runDemo(store: store, killAt: "compensation-before-commit:2")
        let resumed = try await runDemo(store: store)

        #expect(first.signal == SIGKILL)
        #expect(second.signal == SIGKILL)
        #expect(resumed.summary.map(Counts.init) == baseline.summary.map(Counts.init))
    }

    // MARK: Running the demo

    struct DemoRun {
        var status: Int32
        var signal: Int32?
        var summary: SagaDemoSummary?
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-saga-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func runDemo(store: String, killAt: String? = nil) async throws -> DemoRun {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/sightline")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw DemoTestError("build the sightline executable first (swift build)")
        }
        let process = Process()
        let output = Pipe()
        process.executableURL = binary
        process.arguments = [
            "demo", "--orders", try DemoEndToEndTests.cdnowPath(), "--limit", Self.limit,
            "--speedup", "0", "--seed", "7", "--json", "--show-traces", "0", "--store", store,
        ]
        var environment = ["OTEL_SDK_DISABLED": "true"]
        environment["SIGHTLINE_DEMO_KILL_AT"] = killAt
        process.environment = environment
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        // The summary is one short line, so the pipe holds it whole once the process ended.
        let text = String(
            decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try? JSONDecoder().decode(SagaDemoSummary.self, from: Data(line.utf8))
        let killed = process.terminationReason == .uncaughtSignal
        return DemoRun(
            status: process.terminationStatus, signal: killed ? process.terminationStatus : nil,
            summary: summary)
    }
}
