/// A key's bytes as the hash table stores them: up to 23 bytes inline in the entry, longer keys in an array.
///
/// Most keys are short (`user:1000`, `key:000000012345`): storing them inline saves an allocation per key and,
/// on every lookup, the cache miss of following a pointer to compare bytes.
struct KeyStorage {
    static let inlineCapacity = 23
    private var w0: UInt64 = 0
    private var w1: UInt64 = 0
    /// Bytes 16..<23, and the length in the top byte (0xFF = stored in `heap`).
    private var w2: UInt64 = 0
    private var heap: [UInt8]? = nil

    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count <= Self.inlineCapacity {
            var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &words) { dst in
                if bytes.count > 0 { dst.copyMemory(from: bytes) }
                dst[23] = UInt8(bytes.count)
            }
            (w0, w1, w2) = words
        } else {
            w2 = 0xFF << 56
            heap = Array(bytes)
        }
    }

    @inline(__always)
    var count: Int {
        let tag = Int(w2 >> 56)
        return tag == 0xFF ? heap!.count : tag
    }

    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let heap { return try heap.withUnsafeBytes(body) }
        var words = (w0, w1, w2)
        let n = Int(w2 >> 56)
        return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    /// Compares with borrowed bytes, word by word for inline keys.
    @inline(__always)
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        if let heap {
            return heap.withUnsafeBytes { $0.count == other.count && memcmp($0.baseAddress!, other.baseAddress!, $0.count) == 0 }
        }
        guard Int(w2 >> 56) == other.count else { return false }
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &words) { dst in
            if other.count > 0 { dst.copyMemory(from: other) }
            dst[23] = UInt8(other.count)
        }
        return words.0 == w0 && words.1 == w1 && words.2 == w2
    }

    var bytes: [UInt8] { withBytes { Array($0) } }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
