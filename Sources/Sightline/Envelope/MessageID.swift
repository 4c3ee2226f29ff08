import Foundation
import Synchronization

/// A unique, time-ordered message id: a UUID version 7 (RFC 9562 §5.7).
///
/// The first 48 bits are the Unix time in milliseconds, so ids sort by creation time; within
/// one millisecond a process-wide counter in the random bits keeps ids from one process
/// increasing (RFC 9562 §6.2, method 1). The text form is the usual lowercase UUID string.
public struct MessageID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static func < (lhs: MessageID, rhs: MessageID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// The Unix time in milliseconds at which the id was made.
    public var unixMilliseconds: UInt64 { high >> 16 }

    public var description: String {
        // Written straight into the 36 bytes of the text form: this runs for every envelope.
        String(unsafeUninitializedCapacity: 36) { buffer in
            let digits = MessageID.hexDigits
            var position = 0
            for (word, shift) in [(high, 0), (low, 16)] {
                for nibble in 0..<16 {
                    let index = shift + nibble
                    if index == 8 || index == 12 || index == 16 || index == 20 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    let value = Int((word >> UInt64(60 - 4 * nibble)) & 0xF)
                    buffer[position] = digits[value]
                    position += 1
                }
            }
            return position
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Parses the 36-character UUID text form (lowercase or uppercase hex).
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36, utf8[8] == 45, utf8[13] == 45, utf8[18] == 45, utf8[23] == 45
        else { return nil }
        let digits = utf8.filter { $0 != 45 }.map { byte -> UInt8 in
            (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) ? byte + 32 : byte
        }
        guard digits.count == 32, let high = HexEncoding.parse(digits[0..<16]),
            let low = HexEncoding.parse(digits[16..<32])
        else { return nil }
        self.init(high: high, low: low)
    }

    /// The 16 bytes of the id, most significant first.
    public var bytes: [UInt8] { HexEncoding.bytes(high) + HexEncoding.bytes(low) }

    /// Makes a new id for the given wall-clock time.
    public static func make(at date: Date = Date()) -> MessageID {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let sequence = MessageIDSequence.shared.next(milliseconds: milliseconds)
        // The random bits come from the tracer's ChaCha20 keystream, keyed from the system's
        // random source: `SystemRandomNumberGenerator` costs one `getrandom` system call per
        // id, which showed in profiles of the in-process bus.
        let random = RandomIDGenerator.shared.makeSpanID().value
        // 48 bits of time, version 7, then 12 bits of sequence.
        let high = (sequence.milliseconds << 16) | 0x7000 | (sequence.counter & 0x0FFF)
        // Variant 0b10, then 62 random bits.
        let low = random & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return MessageID(high: high, low: low)
    }
}

/// Keeps ids made in one process strictly increasing, even within one millisecond and when
/// the wall clock steps back.
final class MessageIDSequence: Sendable {
    static let shared = MessageIDSequence()

    private let state = Mutex<(milliseconds: UInt64, counter: UInt64)>((0, 0))

    func next(milliseconds: UInt64) -> (milliseconds: UInt64, counter: UInt64) {
        state.withLock { state in
            if milliseconds > state.milliseconds {
                state = (milliseconds, 0)
            } else if state.counter < 0x0FFF {
                state.counter += 1
            } else {
                // 4096 ids in one millisecond: borrow the next millisecond.
                state = (state.milliseconds + 1, 0)
            }
            return state
        }
    }
}
