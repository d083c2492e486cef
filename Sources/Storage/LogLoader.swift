import Logging
import RESP

/// How loading the log ended. See docs/FORMAT.md, "Recovery".
public enum LoadOutcome: Equatable, Sendable {
    case clean
    /// The last segment ended in an interrupted write; it was cut at `validUpTo` (the cut bytes were saved).
    case truncatedTail(file: String, validUpTo: Int, droppedBytes: Int, reason: String)
    /// Damage that a crash cannot explain. Nothing was changed; the server must not start.
    case corrupt(file: String, offset: Int, reason: String)
}

/// Loading refused: one message naming the file, the offset, the reason and the command that repairs it.
public struct LogLoadError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let offset: Int
    public let reason: String
    public let directory: String

    public init(file: String, offset: Int, reason: String, directory: String) {
        self.file = file
        self.offset = offset
        self.reason = reason
        self.directory = directory
    }

    public var description: String {
        "Bad log file \(file) at byte \(offset): \(reason). Nothing was changed. "
            + "Run `godis-aof recover \(directory)` to see what a repair would drop, "
            + "then `godis-aof recover --apply \(directory)`."
    }
}

/// A segment read at startup.
public struct LoadedSegment: Sendable {
    public var entry: ManifestEntry
    /// The file's contents (possibly mapped); only `0..<scan.validLength` is log.
    public var data: FileBytes
    public var scan: SegmentScan

    public init(entry: ManifestEntry, data: FileBytes, scan: SegmentScan) {
        self.entry = entry
        self.data = data
        self.scan = scan
    }

    /// The valid bytes, copied.
    public var bytes: [UInt8] { data[0..<scan.validLength] }
}

/// Everything recovery found: the segments to replay, in order, and how loading ended.
public struct LoadedLog: Sendable {
    public var manifest: Manifest
    public var segments: [LoadedSegment]
    public var outcome: LoadOutcome
    /// Sequence number of the last valid record (0 for an empty log).
    public var lastSeq: UInt64
    public var totalBytes: Int { segments.reduce(0) { $0 + $1.scan.validLength } }

    /// Calls `body` with every logged command, in order: the database of its batch, the payload bytes and the
    /// argument ranges. Throws `LogLoadError` if a checksummed payload does not parse (a writer bug).
    public func forEachCommand(
        directory: String, _ body: (_ db: Int, _ buffer: UnsafeRawBufferPointer, _ spans: [Range<Int>]) throws -> Void
    ) throws {
        var reader = PayloadReader()
        for segment in segments {
            try segment.data.withUnsafeBytes { all in
                var released = 0
                for batch in segment.scan.batches {
                    if batch.offset - released >= 8 << 20 {
                        // Replayed pages are not needed again: keep peak memory to the keyspace.
                        segment.data.release(upTo: batch.offset)
                        released = batch.offset
                    }
                    let payload = UnsafeRawBufferPointer(rebasing: all[batch.payload])
                    var db = batch.annotation.db
                    let (records, unparsedAt) = try reader.forEachCommand(payload) { spans, offset in
                        do {
                            try body(db, payload, spans)
                        } catch {
                            throw LogLoadError(
                                file: segment.entry.name, offset: batch.payload.lowerBound + offset,
                                reason: "batch \(batch.annotation.firstSeq) holds a command that fails on replay (\(error))",
                                directory: directory)
                        }
                        if let n = PayloadReader.selectedDB(payload, spans) { db = n }
                    }
                    if let offset = unparsedAt {
                        throw LogLoadError(
                            file: segment.entry.name, offset: batch.payload.lowerBound + offset,
                            reason: "batch \(batch.annotation.firstSeq) holds a payload that is not RESP commands",
                            directory: directory)
                    }
                    if records != batch.annotation.count {
                        throw LogLoadError(
                            file: segment.entry.name, offset: batch.offset,
                            reason: "batch \(batch.annotation.firstSeq) declares \(batch.annotation.count) records and holds \(records)",
                            directory: directory)
                    }
                }
            }
        }
    }
}

/// Reads a log directory at startup: manifest, base, incremental segments; checks every checksum and sequence
/// number; cuts a torn tail of the last segment when allowed (saving the cut bytes); refuses anything else.
public enum LogLoader {
    /// Loads `directory`. A missing or empty directory is a fresh log (and is created).
    public static func load(
        directory: String, prefix: String, fileSystem fs: FileSystem, allowTruncatedTail: Bool, logger: Logger,
        now: Int64
    ) throws -> LoadedLog {
        let manifestPath = directory + "/" + LogFormat.manifestName(prefix: prefix)
        if !fs.fileExists(manifestPath) {
            // No manifest: a fresh log, or one whose creation was cut short (segments are written before the
            // manifest). Segments that hold batches mean data without a manifest: refuse rather than guess.
            let existing = ((try? fs.listDirectory(directory)) ?? []).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".aof") }
            for name in existing {
                let scan = try fs.contents(directory + "/" + name).withUnsafeBytes { SegmentReader.scan($0) }
                if !scan.batches.isEmpty || scan.damage.map({ $0.offset > 0 }) == true {
                    throw LogLoadError(
                        file: LogFormat.manifestName(prefix: prefix), offset: 0,
                        reason: "the manifest is missing but segment \(name) holds data", directory: directory)
                }
            }
            return try create(directory: directory, prefix: prefix, fileSystem: fs, now: now)
        }
        let manifestBytes: [UInt8]
        do { manifestBytes = try fs.readFile(manifestPath) } catch {
            throw LogLoadError(file: LogFormat.manifestName(prefix: prefix), offset: 0, reason: "\(error)", directory: directory)
        }
        let manifest: Manifest
        do { manifest = try Manifest.parse(manifestBytes) } catch {
            throw LogLoadError(file: LogFormat.manifestName(prefix: prefix), offset: 0, reason: "\(error)", directory: directory)
        }
        guard let lastIncr = manifest.incrementals.last else {
            throw LogLoadError(
                file: LogFormat.manifestName(prefix: prefix), offset: 0, reason: "the manifest lists no incremental segment",
                directory: directory)
        }
        var segments: [LoadedSegment] = []
        var outcome = LoadOutcome.clean
        var expected: UInt64 = manifest.entries.first?.startSeq ?? 1
        for entry in manifest.entries {
            let path = directory + "/" + entry.name
            let isLast = entry == lastIncr
            func refuse(_ offset: Int, _ reason: String) -> LogLoadError {
                LogLoadError(file: entry.name, offset: offset, reason: reason, directory: directory)
            }
            guard fs.fileExists(path) else { throw refuse(0, "segment listed in the manifest is missing") }
            let data = try fs.contents(path)
            if entry.startSeq != expected {
                throw refuse(0, "segment starts at record \(entry.startSeq), expected \(expected)")
            }
            var scan = data.withUnsafeBytes { SegmentReader.scan($0, expectFirstSeq: entry.startSeq) }
            if let h = scan.header, h.type != entry.type || h.number != entry.number {
                throw refuse(0, "header says segment \(h.number) type \(h.type.rawValue), the manifest says \(entry.number) type \(entry.type.rawValue)")
            }
            if isLast, case .tornTail? = scan.damage, scan.header != nil,
                data.withUnsafeBytes({ LogFormat.isZerosWrittenAhead($0, after: scan.validLength, segmentPath: path, fileSystem: fs) })
            {
                // Zeros the writer wrote ahead of its appends (`appendfsync always`, see AppendLog.writeZerosAhead):
                // reserved space after the last batch, not a torn tail. Nothing is in them, so no side file.
                try fs.truncateFile(path, to: scan.validLength)
                try fs.remove(LogFormat.reservedMarker(segmentPath: path))
                try fs.syncDirectory(directory)
                logger.notice(
                    "\(entry.name): \(data.count - scan.validLength) bytes of zeros written ahead of the appends removed after byte \(scan.validLength)")
                scan.damage = nil
            }
            if let damage = scan.damage {
                switch damage {
                case .tornTail(let offset, let reason) where isLast:
                    guard allowTruncatedTail else {
                        throw refuse(offset, "\(reason) (aof-load-truncated is off)")
                    }
                    let dropped = data.count - scan.validLength
                    var side = path + ".torn-\(scan.validLength)"
                    var n = 1
                    while fs.fileExists(side) {  // never overwrite bytes an earlier cut saved
                        side = path + ".torn-\(scan.validLength).\(n)"
                        n += 1
                    }
                    try fs.writeNewFile(side, data[scan.validLength..<data.count], directory: directory)
                    if scan.header == nil {
                        // Cut inside its header: the segment holds nothing yet; give it its header back.
                        let header = SegmentHeader(type: entry.type, number: entry.number, createdAt: now).encoded()
                        try fs.writeAtomically(path, header, directory: directory)
                        scan = SegmentReader.scan(header)
                    } else {
                        try fs.truncateFile(path, to: scan.validLength)
                    }
                    try fs.syncDirectory(directory)
                    logger.warning(
                        "Log tail cut: \(entry.name) truncated at byte \(scan.validLength), \(dropped) bytes dropped (\(reason)); the cut bytes are in \(side)"
                    )
                    outcome = .truncatedTail(file: entry.name, validUpTo: scan.validLength, droppedBytes: dropped, reason: reason)
                    scan.damage = nil
                case .tornTail(let offset, let reason):
                    throw refuse(offset, "\(reason) in a segment that is not the last one")
                case .corrupt(let offset, let reason):
                    throw refuse(offset, reason)
                }
            }
            let lastSeq = scan.batches.last.map { $0.annotation.lastSeq } ?? (entry.startSeq - 1)
            if entry.isClosed {
                if let size = entry.size, size != data.count {
                    throw refuse(
                        min(size, data.count),
                        "segment is \(data.count) bytes, the manifest recorded \(size) (lost or extra bytes)")
                }
                if let end = entry.endSeq, end != lastSeq {
                    throw refuse(data.count, "segment ends at record \(lastSeq), the manifest recorded \(end)")
                }
            }
            expected = lastSeq + 1
            segments.append(LoadedSegment(entry: entry, data: data, scan: scan))
        }
        return LoadedLog(manifest: manifest, segments: segments, outcome: outcome, lastSeq: expected - 1)
    }

    /// Creates a fresh log: an empty base, the first incremental segment, the manifest.
    static func create(directory: String, prefix: String, fileSystem fs: FileSystem, now: Int64) throws -> LoadedLog {
        try fs.createDirectory(directory)
        let baseName = LogFormat.baseName(prefix: prefix, number: 1)
        let incrName = LogFormat.incrName(prefix: prefix, number: 1)
        let baseBytes = SegmentHeader(type: .base, number: 1, createdAt: now).encoded()
        let incrBytes = SegmentHeader(type: .incr, number: 1, createdAt: now).encoded()
        try fs.writeNewFile(directory + "/" + baseName, baseBytes, directory: directory)
        try fs.writeNewFile(directory + "/" + incrName, incrBytes, directory: directory)
        let manifest = Manifest(entries: [
            ManifestEntry(name: baseName, number: 1, type: .base, startSeq: 1, endSeq: 0, size: baseBytes.count),
            ManifestEntry(name: incrName, number: 1, type: .incr, startSeq: 1),
        ])
        try fs.writeAtomically(
            directory + "/" + LogFormat.manifestName(prefix: prefix), manifest.encoded(), directory: directory)
        let segments = manifest.entries.map { e in
            let bytes = e.type == .base ? baseBytes : incrBytes
            return LoadedSegment(entry: e, data: FileBytes(bytes), scan: SegmentReader.scan(bytes))
        }
        return LoadedLog(manifest: manifest, segments: segments, outcome: .clean, lastSeq: 0)
    }
}
