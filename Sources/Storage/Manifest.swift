/// One line of the manifest: a segment file and what is known about it.
public struct ManifestEntry: Equatable, Sendable {
    public var name: String
    public var number: Int
    public var type: SegmentType
    /// Sequence number of the segment's first record.
    public var startSeq: UInt64
    /// For closed segments: the last sequence number and the exact synced size.
    public var endSeq: UInt64?
    public var size: Int?

    public init(name: String, number: Int, type: SegmentType, startSeq: UInt64, endSeq: UInt64? = nil, size: Int? = nil) {
        self.name = name
        self.number = number
        self.type = type
        self.startSeq = startSeq
        self.endSeq = endSeq
        self.size = size
    }

    public var isClosed: Bool { endSeq != nil }
}

/// The list of segments, in Redis 7's manifest syntax plus a checksummed first line (docs/FORMAT.md, "Manifest").
public struct Manifest: Equatable, Sendable {
    public var entries: [ManifestEntry]

    public init(entries: [ManifestEntry]) { self.entries = entries }

    public var base: ManifestEntry? { entries.first { $0.type == .base } }
    public var incrementals: [ManifestEntry] { entries.filter { $0.type == .incr } }

    public func encoded() -> [UInt8] {
        var body = ""
        for e in entries {
            body += "file \(e.name) seq \(e.number) type \(e.type.rawValue) startseq \(e.startSeq)"
            if let end = e.endSeq { body += " endseq \(end)" }
            if let size = e.size { body += " size \(size)" }
            body += "\n"
        }
        let bodyBytes = Array(body.utf8)
        let first = "\(LogFormat.manifestMagic) \(LogFormat.majorVersion) \(CRC32C.hex(CRC32C.checksum(bodyBytes)))\n"
        return Array(first.utf8) + bodyBytes
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func parse(_ bytes: [UInt8]) throws -> Manifest {
        guard let nl = bytes.firstIndex(of: 10) else { throw ParseError(line: 1, reason: "no header line") }
        let first = String(decoding: bytes[..<nl], as: UTF8.self).split(separator: " ")
        guard first.count == 3, first[0] == Substring(LogFormat.manifestMagic) else {
            throw ParseError(line: 1, reason: "not a Godis manifest (no \(LogFormat.manifestMagic) line)")
        }
        guard let version = Int(first[1]) else { throw ParseError(line: 1, reason: "bad version") }
        guard version <= LogFormat.majorVersion else {
            throw ParseError(line: 1, reason: "written by format \(version), this build reads format \(LogFormat.majorVersion)")
        }
        let body = bytes[(nl + 1)...]
        guard let stored = UInt32(first[2], radix: 16), stored == CRC32C.checksum(body) else {
            throw ParseError(line: 1, reason: "manifest checksum mismatch")
        }
        var entries: [ManifestEntry] = []
        for (i, raw) in String(decoding: body, as: UTF8.self).split(separator: "\n").enumerated() {
            if raw.hasPrefix("#") || raw.isEmpty { continue }
            let t = raw.split(separator: " ")
            guard t.count % 2 == 0 else { throw ParseError(line: i + 2, reason: "odd number of tokens") }
            var kv: [String: String] = [:]
            var j = 0
            while j < t.count {
                kv[String(t[j])] = String(t[j + 1])
                j += 2
            }
            guard let name = kv["file"], let seq = kv["seq"].flatMap(Int.init),
                let type = kv["type"].flatMap(SegmentType.init(rawValue:))
            else { throw ParseError(line: i + 2, reason: "missing file, seq or type") }
            guard !name.contains("/") else { throw ParseError(line: i + 2, reason: "file name with a path") }
            guard let start = kv["startseq"].flatMap(UInt64.init), start >= 1 else {
                throw ParseError(line: i + 2, reason: "missing or invalid startseq")
            }
            entries.append(
                ManifestEntry(
                    name: name, number: seq, type: type, startSeq: start,
                    endSeq: kv["endseq"].flatMap(UInt64.init), size: kv["size"].flatMap(Int.init)))
        }
        return Manifest(entries: entries)
    }
}
