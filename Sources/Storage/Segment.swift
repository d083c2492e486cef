/// Kind of a segment: the base (snapshot or rewrite output) or an incremental segment.
public enum SegmentType: String, Sendable {
    case base = "b"
    case incr = "i"
}

/// The first line of every segment: `#GODIS-AOF <major> <type> <number> <created-ms> [k=v ...] <crc>\r\n`.
public struct SegmentHeader: Equatable, Sendable {
    public var version: Int
    public var type: SegmentType
    public var number: Int
    public var createdAt: Int64
    /// Optional `key=value` tokens (unknown ones are kept, and skipped).
    public var options: [String: String]

    public init(type: SegmentType, number: Int, createdAt: Int64, options: [String: String] = [:]) {
        version = LogFormat.majorVersion
        self.type = type
        self.number = number
        self.createdAt = createdAt
        self.options = options
    }

    public func encoded() -> [UInt8] {
        var line = "\(LogFormat.segmentMagic) \(version) \(type.rawValue) \(number) \(createdAt) "
        for k in options.keys.sorted() { line += "\(k)=\(options[k]!) " }
        var bytes = Array(line.utf8)
        bytes += Array(CRC32C.hex(CRC32C.checksum(bytes)).utf8)
        bytes += [13, 10]
        return bytes
    }
}

/// The line before each batch: `#B <first-seq> <count> <length> <db> <timestamp-ms> [k=v ...] <crc>\r\n`.
public struct BatchAnnotation: Equatable, Sendable {
    public var firstSeq: UInt64
    public var count: Int
    public var length: Int
    public var db: Int
    public var timestamp: Int64
    public var crc: UInt32

    public var lastSeq: UInt64 { firstSeq + UInt64(count) - 1 }

    /// The annotation's bytes up to and including the space before the checksum (the part the CRC covers).
    public static func prefix(firstSeq: UInt64, count: Int, length: Int, db: Int, timestamp: Int64) -> [UInt8] {
        var w: [UInt8] = []
        w.reserveCapacity(80)
        w.append(UInt8(ascii: "#"))
        w.append(UInt8(ascii: "B"))
        w.append(32)
        appendDecimal(&w, firstSeq); w.append(32)
        appendDecimal(&w, UInt64(count)); w.append(32)
        appendDecimal(&w, UInt64(length)); w.append(32)
        appendDecimal(&w, UInt64(db)); w.append(32)
        appendDecimal(&w, UInt64(max(0, timestamp))); w.append(32)
        return w
    }

    /// The whole annotation line for `payload`: fields, the CRC32C over them and the payload, CRLF.
    public static func line(
        firstSeq: UInt64, count: Int, db: Int, timestamp: Int64, payload: UnsafeRawBufferPointer
    ) -> [UInt8] {
        var line = prefix(firstSeq: firstSeq, count: count, length: payload.count, db: db, timestamp: timestamp)
        let crc = CRC32C.extend(line.withUnsafeBytes { CRC32C.extend(0, $0) }, payload)
        appendChecksum(&line, crc)
        return line
    }

    /// Completes an annotation: the checksum as 8 lower-case hex digits, then CRLF.
    public static func appendChecksum(_ w: inout [UInt8], _ crc: UInt32) {
        for shift in stride(from: 28, through: 0, by: -4) {
            let nibble = UInt8((crc >> UInt32(shift)) & 0xF)
            w.append(nibble < 10 ? 48 + nibble : 87 + nibble)
        }
        w.append(13)
        w.append(10)
    }

    /// Canonical decimal digits, without allocating.
    static func appendDecimal(_ w: inout [UInt8], _ v: UInt64) {
        var divisor: UInt64 = 1
        while divisor <= v / 10 { divisor *= 10 }
        var rest = v
        while true {
            w.append(UInt8(rest / divisor) + 48)
            rest %= divisor
            if divisor == 1 { break }
            divisor /= 10
        }
    }
}

/// Why a segment stopped being readable at some offset.
public enum SegmentDamage: Equatable, Sendable {
    /// The bytes from `offset` look like an interrupted write at the end of the file.
    case tornTail(offset: Int, reason: String)
    /// The bytes at `offset` are damaged and followed by more data: corruption, not a crash.
    case corrupt(offset: Int, reason: String)

    public var offset: Int {
        switch self {
        case .tornTail(let o, _), .corrupt(let o, _): return o
        }
    }

    public var reason: String {
        switch self {
        case .tornTail(_, let r), .corrupt(_, let r): return r
        }
    }
}

/// One batch found in a segment: its annotation and where its payload lies in the file.
public struct BatchLocation: Equatable, Sendable {
    public var annotation: BatchAnnotation
    /// Offset of the annotation's `#`.
    public var offset: Int
    public var payload: Range<Int>
    public var end: Int { payload.upperBound }
}

/// The result of scanning one segment file's bytes.
public struct SegmentScan: Sendable {
    public var header: SegmentHeader?
    public var batches: [BatchLocation] = []
    /// End of the last valid batch (or of the header): the length of the valid prefix.
    public var validLength = 0
    public var damage: SegmentDamage?
}

/// Parses segment bytes. Pure: no I/O, so the recovery code, the tools and the tests share it.
public enum SegmentReader {
    public static func scan(_ bytes: [UInt8], expectFirstSeq: UInt64? = nil) -> SegmentScan {
        bytes.withUnsafeBytes { scan($0, expectFirstSeq: expectFirstSeq) }
    }

    static func line(_ b: UnsafeRawBufferPointer, from: Int) -> Range<Int>? {
        let stop = min(b.count, from + LogFormat.maxAnnotationLength)
        var i = from
        while i + 1 < stop {
            if b[i] == 13 && b[i + 1] == 10 { return from..<i }
            i += 1
        }
        return nil
    }

    static func allZero(_ b: UnsafeRawBufferPointer, from: Int) -> Bool {
        for i in from..<b.count where b[i] != 0 { return false }
        return true
    }

    static func tokens(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> [Substring] {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self).split(
            separator: " ", omittingEmptySubsequences: false)
    }

    /// Validates a line's trailing checksum token: CRC32C of everything before it.
    static func lineChecksumOK(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, crcToken: Substring) -> Bool {
        guard let stored = checksumToken(crcToken) else { return false }
        let covered = r.lowerBound..<(r.upperBound - 8)
        return CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: b[covered])) == stored
    }

    /// Exactly 8 lower-case hex digits (so that no bit flip in a checksum token goes unnoticed).
    static func checksumToken(_ t: Substring) -> UInt32? {
        guard t.utf8.count == 8, t.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        return UInt32(t, radix: 16)
    }

    /// A canonical unsigned decimal: digits only, no sign, no leading zeros, at most 19 digits.
    static func number(_ t: Substring) -> UInt64? {
        let u = t.utf8
        guard !u.isEmpty, u.count <= 19, u.allSatisfy({ $0 >= 48 && $0 <= 57 }), u.first != 48 || u.count == 1,
            let v = UInt64(t), v <= UInt64(Int64.max)
        else { return nil }
        return v
    }

    public enum HeaderError: Error, Equatable {
        case notGodis
        case newerVersion(Int)
        case malformed(String)
    }

    static func parseHeader(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Result<SegmentHeader, HeaderError> {
        let t = tokens(b, r)
        guard t.first == Substring(LogFormat.segmentMagic) else { return .failure(.notGodis) }
        // The version comes first: a newer major version may have another layout (and checksum) altogether.
        guard t.count >= 2, let version = number(t[1]) else { return .failure(.malformed("header has no version")) }
        guard version <= LogFormat.majorVersion else { return .failure(.newerVersion(Int(version))) }
        guard t.count >= 6 else { return .failure(.malformed("header has too few fields")) }
        guard lineChecksumOK(b, r, crcToken: t[t.count - 1]) else { return .failure(.malformed("header checksum mismatch")) }
        guard let type = SegmentType(rawValue: String(t[2])), let n = number(t[3]), let created = number(t[4]) else {
            return .failure(.malformed("header fields do not parse"))
        }
        var h = SegmentHeader(type: type, number: Int(n), createdAt: Int64(created))
        h.version = Int(version)
        for token in t[5..<(t.count - 1)] {
            let kv = token.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { h.options[String(kv[0])] = String(kv[1]) }
        }
        // Unknown options are skipped, except an encoding: this build decodes plain RESP payloads only.
        if let encoding = h.options["encoding"] {
            return .failure(.malformed("unsupported payload encoding '\(encoding)' (this build reads plain RESP only)"))
        }
        return .success(h)
    }

    /// Parses the annotation line at `r`; `nil` if it is not a well-formed annotation.
    static func parseAnnotation(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> BatchAnnotation? {
        let t = tokens(b, r)
        guard t.count >= 7, t[0] == "#B", let seq = number(t[1]), let count = number(t[2]), let length = number(t[3]),
            let db = number(t[4]), let ts = number(t[5]), let crc = checksumToken(t[t.count - 1]), count > 0,
            seq <= UInt64(Int64.max), ts <= UInt64(Int64.max)
        else { return nil }
        return BatchAnnotation(
            firstSeq: seq, count: Int(count), length: Int(length), db: Int(db), timestamp: Int64(ts), crc: crc)
    }

    /// The CRC32C of a batch: the annotation up to its checksum token, continued over the payload.
    static func batchChecksum(_ b: UnsafeRawBufferPointer, _ line: Range<Int>, _ payload: Range<Int>) -> UInt32 {
        let crc = CRC32C.extend(0, UnsafeRawBufferPointer(rebasing: b[line.lowerBound..<(line.upperBound - 8)]))
        return CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: b[payload]))
    }

    /// A batch that runs to the end of the file looks torn, unless a valid batch follows it: then its length field
    /// was damaged (a bit flip), and cutting there would drop good batches, so it is corruption.
    static func tornUnlessFollowed(_ b: UnsafeRawBufferPointer, at pos: Int, _ reason: String) -> SegmentDamage {
        if let next = nextValidBatch(b, after: pos) {
            return .corrupt(offset: pos, reason: "\(reason), yet a valid batch follows at byte \(next)")
        }
        return .tornTail(offset: pos, reason: reason)
    }

    /// Parses the header line into `result`; returns the offset after it, or `nil` with `result.damage` set.
    static func scanHeader(_ b: UnsafeRawBufferPointer, into result: inout SegmentScan) -> Int? {
        guard b.count > 0 else {
            result.damage = .tornTail(offset: 0, reason: "empty file (no header)")
            return nil
        }
        guard let headerLine = line(b, from: 0) else {
            result.damage =
                allZero(b, from: 0) || b.count < LogFormat.maxAnnotationLength
                ? .tornTail(offset: 0, reason: "incomplete header line")
                : .corrupt(offset: 0, reason: "no header line")
            return nil
        }
        switch parseHeader(b, headerLine) {
        case .success(let h):
            result.header = h
            return headerLine.upperBound + 2
        case .failure(.notGodis):
            result.damage = .corrupt(offset: 0, reason: "not a Godis segment (no \(LogFormat.segmentMagic) header)")
        case .failure(.newerVersion(let v)):
            result.damage = .corrupt(
                offset: 0, reason: "written by format \(v), this build reads format \(LogFormat.majorVersion)")
        case .failure(.malformed(let why)):
            result.damage = .corrupt(offset: 0, reason: why)
        }
        return nil
    }

    /// Scans a segment: its header, then batches until the end or the first damage. `resumingAt` skips the
    /// header and starts at a batch boundary found by a repair's resync (no sequence check then).
    public static func scan(
        _ b: UnsafeRawBufferPointer, expectFirstSeq: UInt64? = nil, resumingAt resume: Int? = nil
    ) -> SegmentScan {
        var result = SegmentScan()
        var pos: Int
        if let resume {
            pos = resume
        } else {
            guard let afterHeader = scanHeader(b, into: &result) else { return result }
            pos = afterHeader
        }
        result.validLength = pos
        var nextSeq = resume == nil ? expectFirstSeq : nil
        // A valid segment always ends with "\n": trailing zeros are what a file system leaves when it extended the
        // file but lost the data (power loss), so the torn-tail rules below measure against the last non-zero byte.
        var end = b.count
        while end > pos && b[end - 1] == 0 { end -= 1 }
        while pos < b.count {
            if pos >= end {
                result.damage = .tornTail(offset: pos, reason: "zero-filled tail of \(b.count - pos) bytes")
                return result
            }
            guard let annLine = line(b, from: pos), annLine.upperBound + 2 <= end else {
                let incomplete = end - pos < LogFormat.maxAnnotationLength
                result.damage =
                    incomplete
                    ? .tornTail(offset: pos, reason: "incomplete batch annotation")
                    : .corrupt(offset: pos, reason: "expected a batch annotation")
                return result
            }
            guard let ann = parseAnnotation(b, annLine) else {
                result.damage = .corrupt(offset: pos, reason: "malformed batch annotation")
                return result
            }
            let payloadStart = annLine.upperBound + 2
            if ann.length > end - payloadStart {
                let reason = "batch \(ann.firstSeq) needs \(ann.length) payload bytes, \(max(0, end - payloadStart)) present"
                result.damage = tornUnlessFollowed(b, at: pos, reason)
                return result
            }
            let payloadEnd = payloadStart + ann.length
            let crc = batchChecksum(b, annLine, payloadStart..<payloadEnd)
            if crc != ann.crc {
                let reason = "checksum mismatch in batch \(ann.firstSeq) (stored \(CRC32C.hex(ann.crc)), computed \(CRC32C.hex(crc)))"
                result.damage = payloadEnd >= end ? tornUnlessFollowed(b, at: pos, reason) : .corrupt(offset: pos, reason: reason)
                return result
            }
            if let expected = nextSeq, ann.firstSeq != expected {
                result.damage = .corrupt(offset: pos, reason: "sequence gap: expected batch \(expected), found \(ann.firstSeq)")
                return result
            }
            nextSeq = ann.firstSeq + UInt64(ann.count)
            result.batches.append(BatchLocation(annotation: ann, offset: pos, payload: payloadStart..<payloadEnd))
            pos = payloadEnd
            result.validLength = pos
        }
        return result
    }
}

extension SegmentReader {
    /// The offset of the next `#B ` annotation after `offset` whose batch checksum validates: the resync point of
    /// salvage, and the evidence that a batch running to EOF is damaged rather than torn.
    static func nextValidBatch(_ bytes: [UInt8], after offset: Int) -> Int? {
        bytes.withUnsafeBytes { nextValidBatch($0, after: offset) }
    }

    static func nextValidBatch(_ b: UnsafeRawBufferPointer, after offset: Int) -> Int? {
        var i = offset + 1
        while i + 3 < b.count {
            // Any `#B ` counts, not only at a line start: the damage may have hit the LF before it, and the
            // batch checksum is what rejects a look-alike inside a value.
            if b[i] == UInt8(ascii: "#") && b[i + 1] == UInt8(ascii: "B") && b[i + 2] == 32,
                let r = line(b, from: i), let ann = parseAnnotation(b, r)
            {
                let start = r.upperBound + 2
                if ann.length <= b.count - start && batchChecksum(b, r, start..<(start + ann.length)) == ann.crc { return i }
            }
            i += 1
        }
        return nil
    }
}
