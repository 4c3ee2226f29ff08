import Foundation
import Sightline
import SightlineDemo

/// `sightline schema snapshot|check`: the demo service's message contracts as files.
enum SchemaCommand {
    static let usage = """
        usage: sightline schema snapshot --out DIR
               sightline schema check --dir DIR [--mode backward|forward|full]
          snapshot          write one canonical JSON file per registered message type and
                            version (<message type>.v<version>.json) into DIR
          check             compare the registered types with the files in DIR; exit 1 and
                            list every breaking change for the mode, exit 0 otherwise
          --mode M          backward: current consumers read committed messages; forward:
                            committed consumers read current messages; full: both
                            (default full)
        The types are the demo's (SightlineDemo.DemoSchemas); a service wires its own
        SchemaRegistry the same way.
        """

    static func run(_ words: [String]) throws -> Int32 {
        guard let action = words.first else { throw UsageError(message: usage) }
        let arguments = try CommandArguments(
            Array(words.dropFirst()), switchNames: [], valueNames: ["--out", "--dir", "--mode"])
        let registry = try DemoSchemas.registry()

        switch action {
        case "snapshot":
            guard let directory = arguments.string("--out") else {
                throw UsageError(message: "snapshot needs --out DIR")
            }
            let written = try snapshot(registry.schemas, to: directory)
            print("wrote \(written.count) schema file(s) to \(directory)")
            return 0
        case "check":
            guard let directory = arguments.string("--dir") else {
                throw UsageError(message: "check needs --dir DIR")
            }
            let modeName = arguments.string("--mode") ?? "full"
            guard let mode = CompatibilityMode(rawValue: modeName) else {
                throw UsageError(
                    message: "--mode must be backward, forward or full, got '\(modeName)'")
            }
            let (report, passed) = try check(registry.schemas, against: directory, mode: mode)
            print(report)
            return passed ? 0 : 1
        default:
            throw UsageError(message: "unknown schema action '\(action)'\n\(usage)")
        }
    }

    /// Writes each schema's canonical file; returns the file names.
    static func snapshot(_ schemas: [MessageSchema], to directory: String) throws -> [String] {
        let folder = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for schema in schemas {
            try schema.canonicalJSON().write(
                to: folder.appendingPathComponent(schema.fileName), options: .atomic)
        }
        return schemas.map(\.fileName)
    }

    /// Reads every `*.json` file of the directory as a committed schema.
    static func committedSchemas(in directory: String) throws -> [MessageSchema] {
        let folder = URL(fileURLWithPath: directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            do {
                return try MessageSchema(canonicalJSON: data)
            } catch {
                throw UsageError(message: "\(directory)/\(name): \(error)")
            }
        }
    }

    /// The check's report and whether it passed.
    static func check(
        _ current: [MessageSchema], against directory: String, mode: CompatibilityMode
    )
        throws -> (String, Bool)
    {
        let committed = try committedSchemas(in: directory)
        let changes = SchemaCompatibility.changes(committed: committed, current: current)
        let breaking = changes.filter { $0.isBreaking(in: mode) }
        var lines = [
            "schema check (\(mode.rawValue)): \(current.count) type version(s) against "
                + "\(committed.count) committed file(s) in \(directory)"
        ]
        lines += breaking.map { "BREAKING \($0)" }
        lines += changes.filter { !$0.isBreaking(in: mode) }.map { "ok       \($0)" }
        lines.append(
            breaking.isEmpty
                ? "passed: no breaking change"
                : "failed: \(breaking.count) breaking change(s)")
        return (lines.joined(separator: "\n"), breaking.isEmpty)
    }
}
