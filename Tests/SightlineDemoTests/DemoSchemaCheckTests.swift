import Foundation
import Sightline
import SightlineDemo
import Testing

/// The demo's message types against the snapshot committed under `schemas/`: the
/// consumer-driven contract check a service runs in CI.
@Suite struct DemoSchemaCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let schemas = root.appendingPathComponent("schemas").path

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try DemoEndToEndTests.sightlineBinary()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func committedSnapshot_matchesTheDemoTypesInFullMode() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.schemas).sorted()
        let committed = try names.map { name in
            try MessageSchema(
                canonicalJSON: Data(
                    contentsOf: URL(fileURLWithPath: Self.schemas).appendingPathComponent(name)))
        }

        let changes = SchemaCompatibility.changes(
            committed: committed, current: try DemoSchemas.registry().schemas)

        #expect(
            names == [
                "demo.OrderPlaced.v1.json", "demo.OrderPlaced.v2.json",
                "demo.ReserveCredit.v1.json",
            ])
        #expect(changes.isEmpty)
    }

    @Test func command_checkAgainstCommittedSnapshot_exitsZero() throws {
        let (status, output) = try run(["schema", "check", "--dir", Self.schemas, "--mode", "full"])

        #expect(status == 0)
        #expect(output.hasSuffix("passed: no breaking change\n"))
    }

    @Test func command_checkAfterABreakingEdit_exitsOneListingTheChange() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("schema-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try run(["schema", "snapshot", "--out", directory.path]).status == 0)
        // The committed v1 once had a field the current type no longer declares.
        let file = directory.appendingPathComponent("demo.OrderPlaced.v1.json")
        var document = try JSONValue(parsing: Data(contentsOf: file))
        document["payload"]?["properties"]?["storeID"] = ["type": "string"]
        var required = document["payload"]?["required"]?.arrayValue ?? []
        required.append("storeID")
        document["payload"]?["required"] = .array(required)
        try document.encoded(pretty: true).write(to: file)

        let backward = try run(["schema", "check", "--dir", directory.path, "--mode", "backward"])
        let forward = try run(["schema", "check", "--dir", directory.path, "--mode", "forward"])

        #expect(backward.status == 0)
        #expect(forward.status == 1)
        #expect(
            forward.output.contains(
                "BREAKING demo.OrderPlaced v1 $.storeID: field_removed: required field string "
                    + "removed (breaks forward)"))
    }
}
