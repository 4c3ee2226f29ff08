/// A command-line flag that is missing its value or has one of the wrong form.
struct UsageError: Error, CustomStringConvertible {
    var message: String

    var description: String { message }
}

/// The flags and positional words after a subcommand, read one at a time.
///
/// Each flag takes at most one value (`--limit 100`); `--json` style switches take none.
struct CommandArguments {
    private var words: [String]
    private var switches: Set<String>
    private var values: [String: String]
    private(set) var positional: [String]

    /// Splits `words` into switches (named in `switchNames`), flags with values and
    /// positional words. Throws when a flag that needs a value has none or is unknown.
    init(_ words: [String], switchNames: Set<String>, valueNames: Set<String>) throws {
        self.words = words
        self.switches = []
        self.values = [:]
        self.positional = []

        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--") else {
                positional.append(word)
                continue
            }
            guard !switches.contains(word), values[word] == nil else {
                throw UsageError(message: "\(word) is given twice")
            }
            if switchNames.contains(word) {
                switches.insert(word)
            } else if valueNames.contains(word) {
                guard index < words.count else {
                    throw UsageError(message: "\(word) needs a value")
                }
                values[word] = words[index]
                index += 1
            } else {
                let known = (switchNames.union(valueNames)).sorted().joined(separator: ", ")
                throw UsageError(message: "unknown flag \(word); known flags: \(known)")
            }
        }
    }

    /// Throws when words other than flags were given to a command that takes none.
    func requireNoPositional() throws {
        if let word = positional.first {
            throw UsageError(message: "unexpected argument '\(word)'")
        }
    }

    func has(_ name: String) -> Bool { switches.contains(name) }

    func string(_ name: String) -> String? { values[name] }

    func int(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(
                message: "\(name) must be a whole number from \(range.lowerBound) to "
                    + "\(range.upperBound), got '\(text)'")
        }
        return value
    }

    func double(_ name: String, range: ClosedRange<Double>) throws -> Double? {
        guard let text = values[name] else { return nil }
        // Decimal notation only: `Double` would also read "0x10" as sixteen.
        let decimal = text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }
        guard decimal, let value = Double(text), value.isFinite, range.contains(value) else {
            throw UsageError(
                message: "\(name) must be a number from \(range.lowerBound) to "
                    + "\(range.upperBound), got '\(text)'")
        }
        return value
    }
}
