/// Parses client requests (multibulk arrays of bulk strings, or inline commands) in place.
///
/// The parser never copies a multibulk argument: it records each argument as a byte range into the caller's
/// buffer (`spans`). Inline commands may contain escapes, so their arguments are unescaped into
/// `inlineStorage` and `spans` then index that array. Both arrays are reused from command to command, so a
/// steady stream of requests allocates nothing.
///
/// The same parser reads commands from the log at replay, so sockets, recovery and tools share one set of
/// limits and one set of error texts.
public struct RequestParser {
    public enum Result: Equatable {
        /// The buffer ends before the request does; call again with more bytes from the same offset.
        case incomplete
        /// A request ends at `end`; `spans` holds its arguments, relative to `inlineStorage` when `inline`.
        case command(end: Int, inline: Bool)
        /// A request with no arguments (`*0`, `*-1` or a blank inline line): skip to `end`, reply nothing.
        case empty(end: Int)
        /// The stream is not RESP. The connection must be answered with `ERR <message>` and closed.
        case error(RESPProtocolError)
    }

    public var limits: RESPLimits
    /// Argument ranges of the last parsed request.
    public private(set) var spans: [Range<Int>] = []
    /// Unescaped argument bytes of the last inline request.
    public private(set) var inlineStorage: [UInt8] = []

    /// A multibulk request cut by the end of the buffer: its argument count, where the next argument starts and
    /// the arguments so far, all relative to the request's first byte. The next call (with more bytes, the request
    /// starting at any offset) resumes there, so a request that arrives in many small reads is scanned once.
    private var partial: (count: Int, offset: Int)? = nil
    private var partialSpans: [Range<Int>] = []

    public init(limits: RESPLimits = .default) {
        self.limits = limits
        spans.reserveCapacity(16)
        partialSpans.reserveCapacity(16)
    }

    /// Parses one request starting at `start`. After `.incomplete`, call again with the same request (and more
    /// bytes) at any offset, or `reset()` first.
    public mutating func parse(_ buffer: UnsafeRawBufferPointer, from start: Int) -> Result {
        spans.removeAll(keepingCapacity: true)
        guard start < buffer.count else { return .incomplete }
        if partial != nil || buffer[start] == UInt8(ascii: "*") {
            return parseMultibulk(buffer, from: start)
        }
        return parseInline(buffer, from: start)
    }

    /// Forgets a request cut by the end of a buffer.
    public mutating func reset() {
        partial = nil
        partialSpans.removeAll(keepingCapacity: true)
    }

    private mutating func parseMultibulk(_ buffer: UnsafeRawBufferPointer, from start: Int) -> Result {
        let end = buffer.count
        let count: Int
        var pos: Int
        // A request that arrives whole (the common case) records absolute ranges in `spans` directly; one that is
        // resumed records relative ranges in `partialSpans`, converted once at the end.
        let resuming = partial != nil
        if let p = partial {
            count = p.count
            pos = start + p.offset
        } else {
            guard let lineEnd = RESPScan.findCR(buffer, from: start + 1, limit: limits.maxInlineLength) else {
                return end - start > limits.maxInlineLength ? .error(.tooBigMultibulkCountString) : .incomplete
            }
            if lineEnd + 1 >= end { return .incomplete }
            guard let n = RESPScan.parseInt(buffer, start + 1, lineEnd), n <= limits.maxMultibulkLength else {
                return .error(.invalidMultibulkLength)
            }
            pos = lineEnd + 2
            if n <= 0 { return .empty(end: pos) }
            count = n
        }
        while (resuming ? partialSpans.count : spans.count) < count {
            guard pos < end else { return suspend(count, pos, start, resuming) }
            let tag = buffer[pos]
            guard tag == UInt8(ascii: "$") else { return fail(.expectedDollar(tag)) }
            guard let cr = RESPScan.findCR(buffer, from: pos + 1, limit: limits.maxInlineLength) else {
                return end - pos > limits.maxInlineLength
                    ? fail(.tooBigBulkCountString) : suspend(count, pos, start, resuming)
            }
            if cr + 1 >= end { return suspend(count, pos, start, resuming) }
            guard let length = RESPScan.parseInt(buffer, pos + 1, cr), length >= 0, length <= limits.maxBulkLength
            else { return fail(.invalidBulkLength) }
            let dataStart = cr + 2
            guard length <= end - dataStart - 2 else { return suspend(count, pos, start, resuming) }  // no overflow
            let dataEnd = dataStart + length
            guard buffer[dataEnd] == 13, buffer[dataEnd + 1] == 10 else { return fail(.missingCRLF) }
            if resuming {
                partialSpans.append((dataStart - start)..<(dataEnd - start))
            } else {
                spans.append(dataStart..<dataEnd)
            }
            pos = dataEnd + 2
        }
        if resuming {
            partial = nil
            for r in partialSpans { spans.append((r.lowerBound + start)..<(r.upperBound + start)) }
        }
        return .command(end: pos, inline: false)
    }

    private mutating func suspend(_ count: Int, _ pos: Int, _ start: Int, _ resuming: Bool) -> Result {
        if !resuming {
            partialSpans.removeAll(keepingCapacity: true)
            for r in spans { partialSpans.append((r.lowerBound - start)..<(r.upperBound - start)) }
        }
        partial = (count, pos - start)
        return .incomplete
    }

    private mutating func fail(_ error: RESPProtocolError) -> Result {
        reset()
        return .error(error)
    }

    private mutating func parseInline(_ buffer: UnsafeRawBufferPointer, from start: Int) -> Result {
        let end = buffer.count
        var newline = start
        let limit = min(end, start + limits.maxInlineLength + 2)
        while newline < limit && buffer[newline] != 10 { newline += 1 }
        guard newline < limit, buffer[newline] == 10 else {
            return end - start > limits.maxInlineLength ? .error(.tooBigInlineRequest) : .incomplete
        }
        var lineEnd = newline
        if lineEnd > start && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
        guard splitInline(buffer, start, lineEnd) else { return .error(.unbalancedQuotes) }
        return spans.isEmpty ? .empty(end: newline + 1) : .command(end: newline + 1, inline: true)
    }

    /// Splits an inline line like Redis's `sdssplitargs`: whitespace separates, "double quotes" take
    /// `\n \r \t \b \a \xHH` escapes, 'single quotes' take `\'`, and a closing quote must end the argument.
    private mutating func splitInline(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        inlineStorage.removeAll(keepingCapacity: true)
        var p = start
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 10 || c == 13 || c == 9 || c == 11 || c == 12 }
        while true {
            while p < end && isSpace(b[p]) { p += 1 }
            if p >= end { return true }
            let argStart = inlineStorage.count
            var inDouble = false, inSingle = false, done = false
            while !done {
                if inDouble {
                    guard p < end else { return false }
                    let c = b[p]
                    if c == UInt8(ascii: "\\") && p + 3 < end && b[p + 1] == UInt8(ascii: "x"),
                        let hi = RESPScan.hexValue(b[p + 2]), let lo = RESPScan.hexValue(b[p + 3])
                    {
                        inlineStorage.append(hi << 4 | lo)
                        p += 3
                    } else if c == UInt8(ascii: "\\") && p + 1 < end {
                        p += 1
                        switch b[p] {
                        case UInt8(ascii: "n"): inlineStorage.append(10)
                        case UInt8(ascii: "r"): inlineStorage.append(13)
                        case UInt8(ascii: "t"): inlineStorage.append(9)
                        case UInt8(ascii: "b"): inlineStorage.append(8)
                        case UInt8(ascii: "a"): inlineStorage.append(7)
                        default: inlineStorage.append(b[p])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        if p + 1 < end && !isSpace(b[p + 1]) { return false }
                        done = true
                    } else {
                        inlineStorage.append(c)
                    }
                } else if inSingle {
                    guard p < end else { return false }
                    let c = b[p]
                    if c == UInt8(ascii: "\\") && p + 1 < end && b[p + 1] == UInt8(ascii: "'") {
                        inlineStorage.append(UInt8(ascii: "'"))
                        p += 1
                    } else if c == UInt8(ascii: "'") {
                        if p + 1 < end && !isSpace(b[p + 1]) { return false }
                        done = true
                    } else {
                        inlineStorage.append(c)
                    }
                } else {
                    if p >= end { break }
                    let c = b[p]
                    if isSpace(c) {
                        done = true
                    } else if c == UInt8(ascii: "\"") {
                        inDouble = true
                    } else if c == UInt8(ascii: "'") {
                        inSingle = true
                    } else {
                        inlineStorage.append(c)
                    }
                }
                if p < end { p += 1 }
            }
            spans.append(argStart..<inlineStorage.count)
        }
    }
}

/// Byte-scanning helpers shared by the decoders.
public enum RESPScan {
    /// Index of the first `\r` at or after `from`, looking at most `limit + 2` bytes; `nil` if none yet.
    @inline(__always)
    public static func findCR(_ b: UnsafeRawBufferPointer, from: Int, limit: Int) -> Int? {
        let stop = min(b.count, from + limit + 2)
        guard from < stop, let base = b.baseAddress else { return nil }
        guard let hit = memchr(base + from, 13, stop - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Strict decimal integer in `b[start..<end]` like Redis's `string2ll`: optional `-`, no `+`, no spaces,
    /// no leading zeros, no overflow.
    @inline(__always)
    public static func parseInt(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        guard start < end, end - start <= 20 else { return nil }
        var i = start
        var negative = false
        if b[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
            guard i < end else { return nil }
        }
        if b[i] == UInt8(ascii: "0") { return (end - i == 1 && !negative) ? 0 : nil }
        var value: UInt64 = 0
        while i < end {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return value == UInt64(Int64.max) + 1 ? Int.min : -Int(value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int(value)
    }

    @inline(__always)
    public static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
