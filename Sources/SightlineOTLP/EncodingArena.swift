/// A bump allocator for the C message graph of one request.
///
/// protobuf-c packs from plain C structs that point at each other; building them in one
/// arena means a single release after packing instead of one free per string and message.
/// Memory is uninitialised until the caller initialises it (messages through their generated
/// `…__init` function). Not thread-safe: one encoding call owns an arena.
final class EncodingArena {
    private var blocks: [(start: UnsafeMutableRawPointer, size: Int)] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private let blockSize: Int

    /// - Parameter blockSize: bytes per block; larger requests get a block of their own.
    init(blockSize: Int = 64 * 1024) {
        self.blockSize = blockSize
    }

    deinit {
        for block in blocks { block.start.deallocate() }
    }

    /// Raw memory of `byteCount` bytes aligned to `alignment`, valid until the arena dies.
    func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let size = max(byteCount, 1)

        if let cursor {
            let padding = cursor.alignedUp(toMultipleOf: alignment) - cursor
            if padding + size <= remaining {
                let result = cursor + padding
                self.cursor = result + size
                remaining -= padding + size
                return result
            }
        }

        if size > blockSize / 4 {
            let start = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: alignment)
            blocks.append((start, size))
            return start
        }

        let start = UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 16)
        blocks.append((start, blockSize))
        cursor = start + size
        remaining = blockSize - size
        return start
    }

    /// Uninitialised storage for one `T` (a trivial C struct).
    func make<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: 1)
    }

    /// Storage for `count` pointers, all set to nil.
    func pointers<T>(to type: T.Type, count: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>
    {
        let memory = allocate(
            byteCount: MemoryLayout<UnsafeMutablePointer<T>?>.stride * max(count, 1),
            alignment: MemoryLayout<UnsafeMutablePointer<T>?>.alignment)
        let typed = memory.bindMemory(to: UnsafeMutablePointer<T>?.self, capacity: max(count, 1))
        typed.initialize(repeating: nil, count: max(count, 1))
        return typed
    }

    /// A NUL-terminated copy of `text`.
    func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        var text = text
        return text.withUTF8 { utf8 in
            let memory = allocate(byteCount: utf8.count + 1, alignment: 1)
            if let base = utf8.baseAddress {
                memory.copyMemory(from: base, byteCount: utf8.count)
            }
            memory.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return memory.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// `count` bytes of uninitialised storage for raw byte fields.
    func bytes(count: Int) -> UnsafeMutablePointer<UInt8> {
        allocate(byteCount: count, alignment: 1).bindMemory(to: UInt8.self, capacity: count)
    }
}
