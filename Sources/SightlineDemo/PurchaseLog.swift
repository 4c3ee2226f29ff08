import Foundation

/// One purchase from the CDNOW log: who bought, when, how many CDs, for how much.
public struct Purchase: Hashable, Sendable {
    /// The purchase's position in the log, from 0; unique, so it identifies the order.
    public var index: Int
    public var customerID: String
    /// The purchase day as `yyyymmdd`.
    public var day: Int
    public var compactDiscs: Int
    public var dollars: Double
}

/// A line of the purchase log that could not be read.
public struct PurchaseLogError: Error, Hashable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String

    public var description: String {
        line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)"
    }
}

/// Reads the CDNOW purchase log: whitespace-separated columns customer id, date
/// (`yyyymmdd`), number of CDs and dollar value, with an optional header line.
public enum PurchaseLog {
    public static func read(path: String, limit: Int? = nil) throws -> [Purchase] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PurchaseLogError(
                path: path, line: 0,
                message: "no such file; run scripts/fetch-cdnow or pass --orders FILE")
        }
        guard !isDirectory.boolValue else {
            throw PurchaseLogError(path: path, line: 0, message: "is a directory, not a file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PurchaseLogError(path: path, line: 0, message: "cannot be read (permissions?)")
        }

        let purchases = try parse(String(decoding: data, as: UTF8.self), path: path, limit: limit)
        guard !purchases.isEmpty else {
            throw PurchaseLogError(path: path, line: 0, message: "holds no purchases")
        }
        return purchases
    }

    public static func parse(_ text: String, path: String, limit: Int? = nil) throws
        -> [Purchase]
    {
        var purchases: [Purchase] = []
        var lineNumber = 0
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            if let limit, purchases.count >= limit { break }
            let columns = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if columns.isEmpty { continue }
            if lineNumber == 1 && columns.first == "customer_id" { continue }
            purchases.append(
                try parsePurchase(columns, index: purchases.count, path: path, line: lineNumber))
        }
        return purchases
    }

    private static func parsePurchase(
        _ columns: [Substring], index: Int, path: String, line: Int
    ) throws -> Purchase {
        func fail(_ message: String) -> PurchaseLogError {
            PurchaseLogError(path: path, line: line, message: message)
        }

        guard columns.count == 4 else {
            throw fail(
                "expected 4 columns (customer id, date, CDs, dollars), found \(columns.count)")
        }
        guard let day = Int(columns[1]), (1900_01_01...2100_12_31).contains(day),
            (1...12).contains(day / 100 % 100), (1...31).contains(day % 100)
        else {
            throw fail("date '\(columns[1])' is not a yyyymmdd date")
        }
        guard let compactDiscs = Int(columns[2]), compactDiscs >= 0 else {
            throw fail("number of CDs '\(columns[2])' is not a whole number of zero or more")
        }
        guard let dollars = Double(columns[3]), dollars.isFinite, dollars >= 0 else {
            throw fail("dollar value '\(columns[3])' is not a number of zero or more")
        }
        return Purchase(
            index: index, customerID: String(columns[0]), day: day, compactDiscs: compactDiscs,
            dollars: dollars)
    }
}
