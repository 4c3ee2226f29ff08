import Foundation
import SightlineDemo
import Testing

/// Runs the demo on a slice of the real CDNOW purchase log and checks its summary against an
/// independent reading of the same lines.
@Suite struct DemoEndToEndTests {
    static let sliceSize = 6000

    /// The CDNOW log as scripts/fetch-cdnow leaves it; scripts/test exports its path.
    static func cdnowPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SIGHTLINE_CDNOW"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".cache/cdnow/CDNOW_master.txt").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DemoTestError(
                "the CDNOW log is missing: run scripts/fetch-cdnow (scripts/test does)")
        }
        return path
    }

    /// Zero-value purchases among the first `count` data lines, read without Sightline.
    static func zeroValueCount(path: String, count: Int) throws -> Int {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(whereSeparator: \.isNewline).dropFirst().prefix(count)
        return lines.filter { line in
            let value = line.split(separator: " ").last.flatMap { Double($0) }
            return value == 0
        }.count
    }

    @Test func demo_onCDNOWSlice_deliversEveryValidOrderOnceAndDeadLettersZeroValues()
        async throws
    {
        let path = try Self.cdnowPath()
        var configuration = DemoConfiguration(ordersPath: path)
        configuration.limit = Self.sliceSize
        configuration.speedup = 0
        configuration.failureRate = 0.05
        configuration.seed = 42

        let summary = try await DemoRunner(configuration: configuration, logger: .disabled).run()

        let zeros = try Self.zeroValueCount(path: path, count: Self.sliceSize)
        #expect(zeros == 10)
        #expect(summary.orders == Self.sliceSize)
        #expect(summary.invalidOrders == zeros)
        for group in ["billing", "shipping", "analytics", "credit"] {
            #expect(summary.delivered[group] == Self.sliceSize - zeros, "group \(group)")
        }
        #expect(summary.deadLettered.byReason == ["invalid_message": zeros * 3])
        #expect(
            summary.deadLettered.byGroup == [
                "billing": zeros, "shipping": zeros, "analytics": zeros,
            ])
        #expect(summary.retries > 0)
        #expect(summary.duplicates == 0)
        #expect(summary.orderViolations == 0)
        #expect(summary.unfinished == 0)
        #expect(summary.published == Self.sliceSize * 2 - zeros)
        #expect(summary.isComplete)
        #expect(summary.isConsistent)
    }

    @Test func command_withJSON_printsTheSummaryAsItsLastLine() throws {
        let path = try Self.cdnowPath()
        let binary = try Self.sightlineBinary()
        let process = Process()
        process.executableURL = binary
        process.arguments = [
            "demo", "--orders", path, "--limit", "2000", "--speedup", "0", "--json",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice

        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        #expect(process.terminationStatus == 0)
        let lastLine = try #require(
            String(decoding: data, as: UTF8.self).split(separator: "\n").last)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        for key in [
            "orders", "published", "delivered", "retries", "dead_lettered", "duration_seconds",
            "messages_per_second",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["orders"] as? Int == 2000)
        #expect(object["complete"] as? Bool == true)
        #expect(object["consistent"] as? Bool == true)
        let deadLettered = try #require(object["dead_lettered"] as? [String: Any])
        #expect(
            deadLettered["count"] as? Int == 3 * (try Self.zeroValueCount(path: path, count: 2000)))
    }

    @Test func command_withBadFlagValue_exitsWithUsageError() throws {
        let process = Process()
        process.executableURL = try Self.sightlineBinary()
        process.arguments = ["demo", "--limit", "many"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice

        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        #expect(process.terminationStatus == 2)
        #expect(String(decoding: data, as: UTF8.self).contains("--limit must be a whole number"))
    }

    @Test func purchaseLog_withMalformedLine_namesFileAndLine() {
        let text =
            " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n"
            + " 00002 1997-01-12  1   12.00\n"

        let error = #expect(throws: PurchaseLogError.self) {
            _ = try PurchaseLog.parse(text, path: "orders.txt")
        }

        #expect(error?.description == "orders.txt:3: date '1997-01-12' is not a yyyymmdd date")
    }

    /// The `sightline` executable that `swift build` put beside the test bundle.
    static func sightlineBinary() throws -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sightline")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let fallback = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/sightline")
        guard FileManager.default.isExecutableFile(atPath: fallback.path) else {
            throw DemoTestError("the sightline executable is not built: run swift build first")
        }
        return fallback
    }
}

struct DemoTestError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

@Suite struct DemoPolicyReloadTests {
    // The reload comes from SIGHUP or from the once-a-second check, whichever is first.
    @Test func brokenPolicyWhileRunning_isRefusedAndTheRunCompletes() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let policy = directory.appendingPathComponent("policy.yaml")
        try "version: 1\ndefault_lag_target: 1h\nchannels:\n  insights:\n    lag_target: 100ms\n"
            .write(to: policy, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = try DemoEndToEndTests.sightlineBinary()
        process.arguments = [
            "demo", "--orders", try DemoEndToEndTests.cdnowPath(), "--limit", "3000",
            "--speedup", "8000000", "--policy", policy.path, "--show-traces", "0", "--json",
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()

        // Replace the file with a broken one while the run goes on, and ask for a reload.
        try await Task.sleep(for: .seconds(1))
        try "version: 1\nchannels:\n  insights:\n    lag_target: soon\n"
            .write(to: policy, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        let errorText = String(
            decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let summary = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        #expect(process.terminationStatus == 0, "\(errorText)")
        #expect(errorText.contains("policy.yaml:4"), "\(errorText)")
        #expect(errorText.contains("lag_target"), "\(errorText)")
        let lastLine = try #require(
            String(decoding: summary, as: UTF8.self).split(separator: "\n").last)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(object["complete"] as? Bool == true)
    }
}
