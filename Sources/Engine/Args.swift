import RESP

/// The arguments of one command, borrowed from the buffer they were parsed in (no copies).
///
/// Valid only during the command's execution: handlers that keep an argument copy it with `bytes(_:)`.
public struct Args {
    public let buffer: UnsafeRawBufferPointer
    public let spans: [Range<Int>]

    public init(buffer: UnsafeRawBufferPointer, spans: [Range<Int>]) {
        self.buffer = buffer
        self.spans = spans
    }

    @inline(__always) public var count: Int { spans.count }

    @inline(__always)
    public subscript(i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[spans[i]])
    }

    public func bytes(_ i: Int) -> [UInt8] { Array(self[i]) }
    public func string(_ i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    /// Case-insensitive comparison of argument `i` with an ASCII word (`"ex"`, `"nx"`...), allocation-free.
    @inline(__always)
    public func matches(_ i: Int, _ word: StaticString) -> Bool {
        let a = self[i]
        guard a.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for j in 0..<a.count where a[j] | 0x20 != w[j] | 0x20 { return false }
        return true
    }

    /// Case-insensitive comparison with lower-case ASCII bytes.
    public func matches(_ i: Int, lowercased word: [UInt8]) -> Bool {
        let a = self[i]
        guard a.count == word.count else { return false }
        for j in 0..<a.count where a[j] | 0x20 != word[j] | 0x20 { return false }
        return true
    }

    /// Argument `i` as a 64-bit integer, with Redis's strict parsing.
    public func int(_ i: Int) throws -> Int {
        let a = self[i]
        guard let v = RESPScan.parseInt(a, 0, a.count) else { throw RedisError.notInteger }
        return v
    }

    /// Argument `i` as a 32-bit integer, with Redis's `getIntFromObjectOrReply` errors.
    public func int32(_ i: Int) throws -> Int {
        let n = try int(i)
        guard n >= Int(Int32.min) && n <= Int(Int32.max) else {
            throw RedisError.message("ERR value is out of range, value must between -2147483648 and 2147483647")
        }
        return n
    }

    public func double(_ i: Int) throws -> Double {
        guard let v = RESPNumber.parseDouble(self[i]) else { throw RedisError.notFloat }
        return v
    }

    /// Runs `body` with `Args` over owned arguments (tests, replay of synthesized commands).
    public static func with<R>(_ args: [[UInt8]], _ body: (Args) throws -> R) rethrows -> R {
        var flat: [UInt8] = []
        var spans: [Range<Int>] = []
        for a in args {
            spans.append(flat.count..<(flat.count + a.count))
            flat.append(contentsOf: a)
        }
        return try flat.withUnsafeBytes { try body(Args(buffer: $0, spans: spans)) }
    }

    public static func with<R>(_ args: [String], _ body: (Args) throws -> R) rethrows -> R {
        try with(args.map { Array($0.utf8) }, body)
    }
}
