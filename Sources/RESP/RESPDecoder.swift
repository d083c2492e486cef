/// Decodes any RESP2/RESP3 value (replies, pushes), with the same limits as `RequestParser`.
///
/// Stateless: `decode` either returns a value and the offset after it, `nil` when more bytes are needed, or
/// throws on malformed input. Used by the client library and the tests.
public struct RESPDecoder {
    public var limits: RESPLimits

    public init(limits: RESPLimits = .default) { self.limits = limits }

    public func decode(_ b: UnsafeRawBufferPointer, from start: Int) throws -> (RESPValue, Int)? {
        try decode(b, start, depth: 0)
    }

    /// Convenience for tests: decodes every value in `bytes`; throws if bytes are left over.
    public func decodeAll(_ bytes: [UInt8]) throws -> [RESPValue] {
        try bytes.withUnsafeBytes { b in
            var out: [RESPValue] = []
            var pos = 0
            while pos < b.count {
                guard let (v, next) = try decode(b, from: pos) else { throw RESPProtocolError.missingCRLF }
                out.append(v)
                pos = next
            }
            return out
        }
    }

    private func line(_ b: UnsafeRawBufferPointer, _ start: Int) throws -> (Range<Int>, Int)? {
        guard let cr = RESPScan.findCR(b, from: start, limit: limits.maxInlineLength) else {
            if b.count - start > limits.maxInlineLength { throw RESPProtocolError.tooBigInlineRequest }
            return nil
        }
        guard cr + 1 < b.count else { return nil }
        guard b[cr + 1] == 10 else { throw RESPProtocolError.missingCRLF }
        return (start..<cr, cr + 2)
    }

    private func text(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self)
    }

    private func decode(_ b: UnsafeRawBufferPointer, _ start: Int, depth: Int) throws -> (RESPValue, Int)? {
        guard start < b.count else { return nil }
        guard depth <= limits.maxDepth else { throw RESPProtocolError.tooDeep }
        let tag = b[start]
        guard let (r, next) = try line(b, start + 1) else { return nil }
        switch tag {
        case UInt8(ascii: "+"): return (.simpleString(text(b, r)), next)
        case UInt8(ascii: "-"): return (.error(text(b, r)), next)
        case UInt8(ascii: ":"):
            guard let v = RESPScan.parseInt(b, r.lowerBound, r.upperBound) else { throw RESPProtocolError.invalidBulkLength }
            return (.integer(Int64(v)), next)
        case UInt8(ascii: "("): return (.bigNumber(text(b, r)), next)
        case UInt8(ascii: ","):
            let t = text(b, r)
            let v: Double
            switch t {
            case "inf": v = .infinity
            case "-inf": v = -.infinity
            case "nan": v = .nan
            default:
                guard let d = Double(t) else { throw RESPProtocolError.invalidBulkLength }
                v = d
            }
            return (.double(v), next)
        case UInt8(ascii: "#"):
            guard r.count == 1, b[r.lowerBound] == UInt8(ascii: "t") || b[r.lowerBound] == UInt8(ascii: "f") else {
                throw RESPProtocolError.unexpectedByte(tag)
            }
            return (.boolean(b[r.lowerBound] == UInt8(ascii: "t")), next)
        case UInt8(ascii: "_"): return (.null, next)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let n = RESPScan.parseInt(b, r.lowerBound, r.upperBound), n >= -1, n <= limits.maxBulkLength else {
                throw RESPProtocolError.invalidBulkLength
            }
            if n == -1 { return (.bulkString(nil), next) }
            guard next + n + 2 <= b.count else { return nil }
            guard b[next + n] == 13, b[next + n + 1] == 10 else { throw RESPProtocolError.missingCRLF }
            let payload = Array(UnsafeRawBufferPointer(rebasing: b[next..<(next + n)]))
            switch tag {
            case UInt8(ascii: "$"): return (.bulkString(payload), next + n + 2)
            case UInt8(ascii: "!"): return (.blobError(String(decoding: payload, as: UTF8.self)), next + n + 2)
            default:
                guard payload.count >= 4 else { throw RESPProtocolError.invalidBulkLength }
                return (
                    .verbatim(format: String(decoding: payload[0..<3], as: UTF8.self), text: Array(payload[4...])),
                    next + n + 2
                )
            }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            guard let n = RESPScan.parseInt(b, r.lowerBound, r.upperBound), n >= -1, n <= limits.maxMultibulkLength else {
                throw RESPProtocolError.invalidMultibulkLength
            }
            if n == -1 { return (.array(nil), next) }
            let elements = tag == UInt8(ascii: "%") ? n * 2 : n
            var items: [RESPValue] = []
            items.reserveCapacity(min(elements, 1024))
            var pos = next
            for _ in 0..<elements {
                guard let (v, after) = try decode(b, pos, depth: depth + 1) else { return nil }
                items.append(v)
                pos = after
            }
            switch tag {
            case UInt8(ascii: "*"): return (.array(items), pos)
            case UInt8(ascii: "~"): return (.set(items), pos)
            case UInt8(ascii: ">"): return (.push(items), pos)
            default:
                var pairs: [RESPPair] = []
                pairs.reserveCapacity(n)
                var i = 0
                while i < items.count {
                    pairs.append(RESPPair(items[i], items[i + 1]))
                    i += 2
                }
                return (.map(pairs), pos)
            }
        default:
            throw RESPProtocolError.unexpectedByte(tag)
        }
    }
}

/// Encodes requests and values to bytes.
public enum RESPEncoder {
    /// A request as a multibulk array of bulk strings.
    public static func command(_ args: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        appendCommand(args, to: &out)
        return out
    }

    public static func command(_ args: [String]) -> [UInt8] { command(args.map { Array($0.utf8) }) }

    public static func appendCommand(_ args: [[UInt8]], to out: inout [UInt8]) {
        var w = ReplyWriter(capacity: 0)
        swap(&w.bytes, &out)
        w.arrayHeader(args.count)
        for a in args { w.bulk(a) }
        swap(&w.bytes, &out)
    }

    /// Any value, as a RESP3 peer would send it (RESP2 for `protocolVersion` 2).
    public static func encode(_ value: RESPValue, protocolVersion: Int = 3) -> [UInt8] {
        var w = ReplyWriter(protocolVersion: protocolVersion, capacity: 64)
        w.value(value)
        return w.bytes
    }
}
