@testable import Storage
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

/// A log directory with an empty base and the given segments.
enum LogDirectory {
    static let dir = "/d"
    static let baseBytes = SegmentHeader(type: .base, number: 1, createdAt: WorkedExample.created).encoded()
    static var incr1Path: String { dir + "/" + Names.incr(1) }

    static func baseEntry() -> ManifestEntry {
        ManifestEntry(name: Names.base1, number: 1, type: .base, startSeq: 1, endSeq: 0, size: baseBytes.count)
    }

    /// base + one open incr segment.
    static func install(_ fs: SimulatedFileSystem, incr: [UInt8]) {
        fs.install(dir + "/" + Names.base1, baseBytes)
        fs.install(incr1Path, incr)
        fs.install(
            dir + "/" + Names.manifest,
            Manifest(entries: [baseEntry(), ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1)])
                .encoded())
    }

    /// base + incr 1 (closed, with the given endseq/size) + incr 2 (open).
    static func installTwo(
        _ fs: SimulatedFileSystem, incr1: [UInt8], endSeq: UInt64, size: Int, incr2: [UInt8], incr2Start: UInt64
    ) {
        fs.install(dir + "/" + Names.base1, baseBytes)
        fs.install(dir + "/" + Names.incr(1), incr1)
        fs.install(dir + "/" + Names.incr(2), incr2)
        fs.install(
            dir + "/" + Names.manifest,
            Manifest(entries: [
                baseEntry(),
                ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1, endSeq: endSeq, size: size),
                ManifestEntry(name: Names.incr(2), number: 2, type: .incr, startSeq: incr2Start),
            ]).encoded())
    }
}

@Suite struct RecoveryTests {
    static func threeBatchesAndTorn() -> (full: [UInt8], validUpTo: Int, segment: SegmentBuilder) {
        let s = SegmentDamageTests.threeBatches()
        let next = Build.batch(firstSeq: 7, db: 3, [["SET", "torn", "value-that-was-being-written"]])
        return (s.bytes + next.dropLast(10), s.bytes.count, s)
    }

    static let expectedThree: [(db: Int, args: [String])] = [
        (0, ["SET", "a", "1"]), (0, ["SET", "b", "2"]), (0, ["INCR", "a"]), (0, ["SELECT", "3"]),
        (3, ["APPEND", "b", "xyz"]), (3, ["DEL", "a"]),
    ]

    // MARK: Fresh directory

    @Test func freshDirectoryIsTheWorkedExamplesEmptyLog() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, now: WorkedExample.created)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 0)
        #expect(log.segmentName == Names.incr(1))
        #expect(fs.fileNames(in: "/d") == [Names.base1, Names.incr(1), Names.manifest])
        // Every file is durable before the log is used.
        #expect(fs.durableContents("/d/" + Names.manifest) == WorkedExample.manifestFile)
        #expect(fs.durableContents("/d/" + Names.base1) == WorkedExample.baseFile)
        #expect(fs.durableContents("/d/" + Names.incr(1)) == WorkedExample.incrHeader)
        #expect(log.acknowledgedSeq == 0)
    }

    @Test func missingManifestWithSegmentsIsRefused() {
        let fs = SimulatedFileSystem()
        fs.install("/d/" + Names.incr(1), WorkedExample.incrFile)
        let e = loadError { _ = try load(fs) }
        #expect(
            e == LogLoadError(
                file: Names.manifest, offset: 0,
                reason: "the manifest is missing but segment \(Names.incr(1)) holds data", directory: "/d"))
        #expect(fs.fileNames(in: "/d") == [Names.incr(1)], "nothing created")
    }

    @Test func damagedManifestIsRefused() {
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: WorkedExample.incrFile)
        fs.install("/d/" + Names.manifest, WorkedExample.manifestFile.flippingByte(at: 40))
        let e = loadError { _ = try load(fs) }
        #expect(
            e == LogLoadError(file: Names.manifest, offset: 0, reason: "line 1: manifest checksum mismatch", directory: "/d"))
    }

    // MARK: Missing and short segments

    @Test func missingSegment() {
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: WorkedExample.incrFile)
        fs.delete(LogDirectory.incr1Path)
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(1), offset: 0, reason: "segment listed in the manifest is missing", directory: "/d"))
        let fs2 = SimulatedFileSystem()
        LogDirectory.install(fs2, incr: WorkedExample.incrFile)
        fs2.delete("/d/" + Names.base1)
        #expect(
            loadError { _ = try load(fs2) }
                == LogLoadError(
                    file: Names.base1, offset: 0, reason: "segment listed in the manifest is missing", directory: "/d"))
    }

    static func twoSegments() -> (SegmentBuilder, SegmentBuilder) {
        var one = SegmentBuilder(number: 1)
        one.add([["SET", "a", "1"]])
        one.add([["SELECT", "2"], ["SET", "b", "2"]])
        one.add([["SET", "c", "3"]], db: 2)
        var two = SegmentBuilder(number: 2, startSeq: one.nextSeq)
        two.add([["SET", "d", "4"]])
        return (one, two)
    }

    @Test func closedSegmentsLoadAndTheDbResetsPerSegment() throws {
        let (one, two) = Self.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(
            fs, incr1: one.bytes, endSeq: one.nextSeq - 1, size: one.bytes.count, incr2: two.bytes, incr2Start: one.nextSeq)
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean)
        #expect(loaded.lastSeq == 5)
        #expect(
            sameCommands(
                try replayedCommands(loaded),
                [(0, ["SET", "a", "1"]), (0, ["SELECT", "2"]), (2, ["SET", "b", "2"]), (2, ["SET", "c", "3"]),
                    (0, ["SET", "d", "4"])]))
        // The writer continues the last segment, after its last record.
        let (log, _) = try openLog(fs)
        #expect(log.segmentName == Names.incr(2))
        appendCommand(log, db: 0, ["SET", "e", "5"])
        #expect(log.flush(now: 1) >= 6)
    }

    /// A non-last segment that lost its last batch exactly on a batch boundary scans clean; only the manifest's
    /// `size` catches it.
    @Test func shortNonLastSegment() {
        let (one, two) = Self.twoSegments()
        let fs = SimulatedFileSystem()
        let short = Array(one.bytes[..<one.batchEnds[1]])
        LogDirectory.installTwo(
            fs, incr1: short, endSeq: one.nextSeq - 1, size: one.bytes.count, incr2: two.bytes, incr2Start: one.nextSeq)
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(1), offset: short.count,
                    reason: "segment is \(short.count) bytes, the manifest recorded \(one.bytes.count) (lost or extra bytes)",
                    directory: "/d"))
        // Extra bytes in a closed segment.
        let fs2 = SimulatedFileSystem()
        let long = one.bytes + Build.batch(firstSeq: one.nextSeq, [["SET", "x", "y"]])
        LogDirectory.installTwo(
            fs2, incr1: long, endSeq: one.nextSeq - 1, size: one.bytes.count, incr2: two.bytes, incr2Start: one.nextSeq)
        #expect(
            loadError { _ = try load(fs2) }
                == LogLoadError(
                    file: Names.incr(1), offset: one.bytes.count,
                    reason: "segment is \(long.count) bytes, the manifest recorded \(one.bytes.count) (lost or extra bytes)",
                    directory: "/d"))
    }

    @Test func closedSegmentWithWrongEndSeq() {
        let (one, two) = Self.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 9, size: one.bytes.count, incr2: two.bytes, incr2Start: 10)
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(1), offset: one.bytes.count,
                    reason: "segment ends at record 4, the manifest recorded 9", directory: "/d"))
    }

    @Test func segmentStartingAtTheWrongRecord() {
        let (one, two) = Self.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 6)
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(2), offset: 0, reason: "segment starts at record 6, expected 5", directory: "/d"))
    }

    @Test func tornTailInANonLastSegmentIsRefused() {
        let (one, two) = Self.twoSegments()
        let fs = SimulatedFileSystem()
        let torn = one.bytes + Array(Build.batch(firstSeq: 5, [["SET", "x", "y"]]).prefix(20))
        LogDirectory.installTwo(fs, incr1: torn, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(1), offset: one.bytes.count,
                    reason: "incomplete batch annotation in a segment that is not the last one", directory: "/d"))
        #expect(fs.cachedContents("/d/" + Names.incr(1)) == torn, "nothing changed")
    }

    // MARK: Torn tail

    @Test func tornTailIsCutIntoASideFile() throws {
        let (full, valid, _) = Self.threeBatchesAndTorn()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: full)
        let loaded = try load(fs)
        let payloadLength = Build.payload([["SET", "torn", "value-that-was-being-written"]]).count
        #expect(
            loaded.outcome
                == .truncatedTail(
                    file: Names.incr(1), validUpTo: valid, droppedBytes: full.count - valid,
                    reason: "batch 7 needs \(payloadLength) payload bytes, \(payloadLength - 10) present"))
        #expect(loaded.lastSeq == 6)
        #expect(sameCommands(try replayedCommands(loaded), Self.expectedThree))
        let side = LogDirectory.incr1Path + ".torn-\(valid)"
        #expect(fs.cachedContents(side) == Array(full[valid...]))
        #expect(fs.durableContents(side) == Array(full[valid...]), "the cut bytes are fsynced")
        #expect(fs.cachedContents(LogDirectory.incr1Path) == Array(full[..<valid]))
        #expect(fs.durableContents(LogDirectory.incr1Path) == Array(full[..<valid]))
        // The next load is clean and the side file is never read back.
        let again = try load(fs)
        #expect(again.outcome == .clean && again.lastSeq == 6)
        #expect(fs.cachedContents(side) == Array(full[valid...]))
    }

    @Test func tornTailOnTheRealFileSystem() throws {
        let root = makeTempDirectory()
        defer { removeTree(root) }
        let dir = root + "/appendonlydir"
        let (full, valid, _) = Self.threeBatchesAndTorn()
        let fs = PosixFileSystem()
        try fs.createDirectory(dir)
        try writeRealFile(dir + "/" + Names.base1, LogDirectory.baseBytes)
        try writeRealFile(dir + "/" + Names.incr(1), full)
        try writeRealFile(
            dir + "/" + Names.manifest,
            Manifest(entries: [
                LogDirectory.baseEntry(), ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1),
            ]).encoded())
        // aof-load-truncated no: refused, nothing touched.
        let refused = loadError { _ = try load(fs, directory: dir, allowTruncatedTail: false) }
        #expect(refused?.file == Names.incr(1))
        #expect(refused?.offset == valid)
        #expect(refused?.reason.hasSuffix("(aof-load-truncated is off)") == true)
        #expect(try fs.readFile(dir + "/" + Names.incr(1)) == full)
        #expect(try fs.listDirectory(dir) == [Names.base1, Names.incr(1), Names.manifest])

        let (log, loaded) = try openLog(fs, directory: dir, policy: .always)
        #expect(loaded.lastSeq == 6)
        #expect(try fs.fileSize(dir + "/" + Names.incr(1)) == valid)
        #expect(try fs.readFile(dir + "/" + Names.incr(1) + ".torn-\(valid)") == Array(full[valid...]))
        appendCommand(log, db: 0, ["SET", "after", "cut"])
        #expect(log.flush(now: 5) == 8)  // a SELECT record (7) then the SET (8)
        #expect(log.syncNow())
        log.close(now: 6)
        let reloaded = try load(fs, directory: dir)
        #expect(reloaded.outcome == .clean)
        #expect(
            sameCommands(withoutSelects(try replayedCommands(reloaded, directory: dir)),
                withoutSelects(Self.expectedThree) + [(0, ["SET", "after", "cut"])]))
    }

    /// On the real file system the writer reserves blocks past the end of the segment as it syncs (size unchanged),
    /// and `close` gives them back.
    @Test func preallocatedBlocksAreGivenBackOnClose() throws {
        let root = makeTempDirectory()
        defer { removeTree(root) }
        let fs = PosixFileSystem()
        let (log, _) = try openLog(fs, directory: root, policy: .everysec)
        let path = root + "/" + Names.incr(1)
        appendCommand(log, db: 0, ["SET", "k", String(repeating: "v", count: 10_000)])
        log.flush(now: 1)
        #expect(log.syncNow())
        let size = try fs.fileSize(path)
        #expect(size == log.status.writtenSize)
        // Where the file system reserves blocks (ext4, xfs), well past the data; elsewhere the hint does nothing.
        let reserved = allocatedBytes(path)
        #expect(reserved <= size + 4096 || reserved >= size + (8 << 20))
        log.close(now: 2)
        #expect(try fs.fileSize(path) == size)
        #expect(allocatedBytes(path) <= (size + 4095) / 4096 * 4096 + 4096)
        #expect(try load(fs, directory: root).outcome == .clean)
    }

    /// Under `appendfsync always` the writer writes zeros past the data (and a marker file), so that appends
    /// overwrite initialized blocks. After a crash (no `close`) the zeros follow the last batch: loading removes
    /// them as reserved space, even with `aof-load-truncated no`, keeps no side file, and replays every command;
    /// appends made after the zeros were written overwrote them in place.
    @Test func zerosWrittenAheadAreRemovedAfterACrash() throws {
        let root = makeTempDirectory()
        defer { removeTree(root) }
        let fs = PosixFileSystem()
        let path = root + "/" + Names.incr(1)
        var expected: [[String]] = []
        do {
            let (log, _) = try openLog(fs, directory: root, policy: .always)
            for i in 0..<200 {
                let command = ["SET", "key:\(i)", String(repeating: "v", count: i)]
                appendCommand(log, db: 0, command)
                expected.append(command)
                if i % 50 == 49 {
                    log.flush(now: Int64(i))
                    #expect(log.syncInline())
                }
            }
            let written = log.status.writtenSize
            #expect(try fs.fileSize(path) >= written + log.zerosLowWater, "zeros past the data")
            #expect(fs.fileExists(LogFormat.reservedMarker(segmentPath: path)))
            // The process dies here: no close, so the zeros stay.
        }
        let loaded = try load(fs, directory: root, allowTruncatedTail: false)
        #expect(loaded.outcome == .clean)
        #expect(withoutSelects(try replayedCommands(loaded, directory: root)).map(\.args) == expected)
        #expect(try fs.fileSize(path) == loaded.segments.last!.scan.validLength)
        #expect(try fs.listDirectory(root) == [Names.base1, Names.incr(1), Names.manifest].sorted())
    }

    /// A torn batch among the zeros is still a torn tail (cut with a side file when allowed, refused when not):
    /// only a tail of zeros alone is reserved space. A clean close cuts the zeros and removes the marker.
    @Test func tornBatchAmongTheZerosIsStillATornTail() throws {
        let root = makeTempDirectory()
        defer { removeTree(root) }
        let fs = PosixFileSystem()
        let path = root + "/" + Names.incr(1)
        var valid = 0
        do {
            let (log, _) = try openLog(fs, directory: root, policy: .always)
            appendCommand(log, db: 0, ["SET", "a", "1"])
            log.flush(now: 1)
            #expect(log.syncInline())
            valid = log.status.writtenSize
        }
        // A crash in the middle of the next batch's write: its first bytes landed on the zeros.
        let torn = Array("#B 2 1 0 1 ".utf8)
        let f = try fs.openForAppend(path)
        try f.truncate(to: valid)  // the data's end, as the writer had it...
        try torn.withUnsafeBytes { try f.write($0) }
        try f.writeZeros(from: valid + torn.count, to: valid + torn.count + 4096)  // ...and zeros after it
        f.close()
        #expect(fs.fileExists(LogFormat.reservedMarker(segmentPath: path)))
        #expect(throws: LogLoadError.self) { try load(fs, directory: root, allowTruncatedTail: false) }
        let loaded = try load(fs, directory: root)
        guard case .truncatedTail(_, let validUpTo, let dropped, _) = loaded.outcome else {
            Issue.record("\(loaded.outcome)")
            return
        }
        #expect(validUpTo == valid && dropped == torn.count + 4096)
        #expect(fs.fileExists(path + ".torn-\(valid)"))

        let (log, _) = try openLog(fs, directory: root, policy: .always, now: 3)
        appendCommand(log, db: 0, ["SET", "b", "2"])
        log.flush(now: 3)
        #expect(log.syncInline())
        #expect(try fs.fileSize(path) > log.status.writtenSize)
        log.close(now: 4)
        #expect(try fs.fileSize(path) == log.status.writtenSize)
        #expect(!fs.fileExists(LogFormat.reservedMarker(segmentPath: path)))
        #expect(
            withoutSelects(try replayedCommands(try load(fs, directory: root), directory: root)).map(\.args)
                == [["SET", "a", "1"], ["SET", "b", "2"]])
    }

    private func allocatedBytes(_ path: String) -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { return -1 }
        return Int(st.st_blocks) * 512
    }

    @Test func aofLoadTruncatedOffRefuses() {
        let (full, valid, _) = Self.threeBatchesAndTorn()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: full)
        let payloadLength = Build.payload([["SET", "torn", "value-that-was-being-written"]]).count
        #expect(
            loadError { _ = try load(fs, allowTruncatedTail: false) }
                == LogLoadError(
                    file: Names.incr(1), offset: valid,
                    reason:
                        "batch 7 needs \(payloadLength) payload bytes, \(payloadLength - 10) present (aof-load-truncated is off)",
                    directory: "/d"))
        #expect(fs.cachedContents(LogDirectory.incr1Path) == full)
        #expect(fs.fileNames(in: "/d") == [Names.base1, Names.incr(1), Names.manifest])
    }

    /// The docs' example: a CRC mismatch followed by more data, at offset 108 of the worked example.
    @Test func corruptionMessageNamesFileOffsetReasonAndFix() {
        let fs = SimulatedFileSystem()
        let incr = WorkedExample.incrFile.flippingByte(at: 150) + Build.batch(firstSeq: 4, db: 1, [["SET", "x", "y"]])
        LogDirectory.install(fs, incr: incr)
        guard let e = loadError({ _ = try load(fs) }) else {
            Issue.record("loaded")
            return
        }
        #expect(e.file == Names.incr(1))
        #expect(e.offset == 108)
        #expect(e.reason.hasPrefix("checksum mismatch in batch 2 (stored 98813aa2, computed "))
        let text = e.description
        #expect(text.contains(Names.incr(1)))
        #expect(text.contains("108"))
        #expect(text.contains("checksum mismatch in batch 2"))
        #expect(text.contains("godis-aof recover /d"))
        #expect(text.contains("godis-aof recover --apply /d"))
        #expect(fs.cachedContents(LogDirectory.incr1Path) == incr, "nothing was changed")
        #expect(fs.fileNames(in: "/d").count == 3)
    }

    // MARK: Truncation and bit flips at every offset

    struct WrittenLog {
        var fs: SimulatedFileSystem
        var headerEnd: Int
        /// Per batch: its end offset, its last sequence number and the commands appended (without SELECTs).
        var batches: [(end: Int, lastSeq: UInt64, cmds: [(db: Int, args: [String])])]
        var bytes: [UInt8]
        func start(_ i: Int) -> Int { i == 0 ? headerEnd : batches[i - 1].end }
    }

    /// A log written through AppendLog (append + flush per batch) across three dbs.
    static func writeLog(batches n: Int, seed: UInt64) throws -> WrittenLog {
        let fs = SimulatedFileSystem()
        let (log, _) = try openLog(fs, policy: .always)
        var rng = SplitMix64(seed: seed)
        let headerEnd = fs.cachedContents(LogDirectory.incr1Path)!.count
        var batches: [(end: Int, lastSeq: UInt64, cmds: [(db: Int, args: [String])])] = []
        for i in 0..<n {
            var cmds: [(db: Int, args: [String])] = []
            for _ in 0..<(1 + rng.below(3)) {
                let db = rng.below(3)
                let key = "k\(rng.below(6))"
                let args: [String]
                switch rng.below(3) {
                case 0: args = ["SET", key, "v\(rng.below(1000))"]
                case 1: args = ["INCR", key]
                default: args = ["DEL", key]
                }
                appendCommand(log, db: db, args)
                cmds.append((db, args))
            }
            let last = log.flush(now: 1_764_079_273_700 + Int64(i))
            batches.append((log.status.writtenSize, last, cmds))
        }
        #expect(log.syncNow())
        let bytes = fs.cachedContents(LogDirectory.incr1Path)!
        #expect(bytes.count == batches.last!.end)
        return WrittenLog(fs: fs, headerEnd: headerEnd, batches: batches, bytes: bytes)
    }

    /// For every length L of the incr segment (and L followed by zeros up to the original length): loading never
    /// crashes, replays exactly the batches that fit within L, reports the cut precisely and saves the cut bytes.
    @Test func truncateAtEveryOffset() throws {
        let w = try Self.writeLog(batches: 30, seed: 42)
        #expect(w.bytes.count > 1000)
        var checked = 0
        for length in 0...w.bytes.count {
            for zeroFill in [false, true] where !(zeroFill && length == w.bytes.count) {
                let fs = w.fs.copy()
                var bytes = Array(w.bytes[..<length])
                if zeroFill { bytes += [UInt8](repeating: 0, count: w.bytes.count - length) }
                fs.install(LogDirectory.incr1Path, bytes)
                let context = "length \(length)\(zeroFill ? " + zeros" : "")"
                if length < w.headerEnd {
                    // Cut inside the header (which is synced before the manifest names the segment, so this is not
                    // a crash artifact; see segmentCutInsideItsHeader). Whatever happens, no command is replayed.
                    if let loaded = try? load(fs) {
                        #expect(try replayedCommands(loaded).isEmpty, "\(context)")
                    }
                    continue
                }
                let k = w.batches.prefix { $0.end <= length }.count
                let boundary = w.start(k)
                let loaded = try load(fs)
                let expected = w.batches[..<k].flatMap(\.cmds)
                #expect(sameCommands(withoutSelects(try replayedCommands(loaded)), expected), "\(context)")
                #expect(loaded.lastSeq == (k == 0 ? 0 : w.batches[k - 1].lastSeq), "\(context)")
                if bytes.count == boundary {
                    #expect(loaded.outcome == .clean, "\(context)")
                } else {
                    guard case .truncatedTail(let file, let validUpTo, let dropped, _) = loaded.outcome else {
                        Issue.record("\(context): \(loaded.outcome)")
                        continue
                    }
                    #expect(file == Names.incr(1) && validUpTo == boundary && dropped == bytes.count - boundary, "\(context)")
                    #expect(fs.cachedContents(LogDirectory.incr1Path + ".torn-\(boundary)") == Array(bytes[boundary...]), "\(context)")
                    #expect(fs.cachedContents(LogDirectory.incr1Path)?.count == boundary, "\(context)")
                }
                checked += 1
            }
        }
        #expect(checked == 2 * (w.bytes.count - w.headerEnd) + 1)
    }

    /// Every single-bit flip in the incr segment is detected: the load refuses at the damaged batch, or (last batch)
    /// cuts it as a torn tail. It never replays a changed command or a batch after the damage. (Mask 0x20, the ASCII
    /// case bit, is left to `checksumTokensAreLowercase`.)
    @Test func everyBitFlipIsDetected() throws {
        let w = try Self.writeLog(batches: 8, seed: 7)
        for offset in 0..<w.bytes.count {
            for mask: UInt8 in [0x01, 0x02, 0x10, 0x80] {
                let fs = w.fs.copy()
                fs.install(LogDirectory.incr1Path, w.bytes.flippingByte(at: offset, mask: mask))
                let i = w.batches.firstIndex { offset < $0.end }!
                let damagedAt = offset < w.headerEnd ? 0 : w.start(i)
                let context = "flip \(mask) at \(offset) (batch \(i))"
                do {
                    let loaded = try load(fs)
                    guard case .truncatedTail(_, let validUpTo, _, _) = loaded.outcome else {
                        Issue.record("\(context): undetected, \(loaded.outcome)")
                        continue
                    }
                    #expect(offset >= w.headerEnd, "\(context): a damaged header is cut as a torn tail")
                    #expect(validUpTo == damagedAt, "\(context)")
                    #expect(sameCommands(withoutSelects(try replayedCommands(loaded)), w.batches[..<i].flatMap(\.cmds)))
                } catch let e as LogLoadError {
                    #expect(e.file == Names.incr(1) && e.offset == damagedAt, "\(context): \(e)")
                    #expect(fs.cachedContents(LogDirectory.incr1Path) == w.bytes.flippingByte(at: offset, mask: mask))
                }
            }
        }
    }

    // MARK: Spec rules the loader enforces

    /// docs/FORMAT.md, Conventions: checksums are "exactly 8 lowercase hex digits". Flipping the case bit of a hex
    /// letter in a checksum token must not go unnoticed (`UInt32(_, radix: 16)` alone would accept uppercase).
    @Test func checksumTokensAreLowercase() {
        // Batch 1's checksum is fa4ccb26: make its "fa" uppercase (a single bit flip, 0x20, of each letter).
        let fs = SimulatedFileSystem()
        var incr = WorkedExample.incrFile + Build.batch(firstSeq: 4, db: 1, [["SET", "x", "y"]])
        incr.flipByte(at: 41 + 27, mask: 0x20)
        #expect((UInt8(ascii: "A")...UInt8(ascii: "F")).contains(incr[41 + 27]), "the flip made an uppercase hex letter")
        LogDirectory.install(fs, incr: incr)
        let e = loadError { _ = try load(fs) }
        #expect(e?.file == Names.incr(1) && e?.offset == 41, "an uppercase checksum token was accepted")
        // The same in the header's checksum (f56d257c).
        let fs2 = SimulatedFileSystem()
        var incr2 = WorkedExample.incrFile
        incr2.flipByte(at: 31, mask: 0x20)
        LogDirectory.install(fs2, incr: incr2)
        let e2 = loadError { _ = try load(fs2) }
        #expect(e2?.file == Names.incr(1) && e2?.offset == 0, "an uppercase header checksum was accepted")
    }

    /// After a kill (page cache kept) the restarted writer reports every loaded record as synced (syncedSeq =
    /// lastSeq, and under `always` acknowledgedSeq too) and serves it to readers, so it must fsync the segment on
    /// open: otherwise a power loss before the next write's fsync loses records the writer calls durable (and a
    /// torn-tail truncation would not reach the disk either).
    @Test func restartedWriterSyncsWhatItReportsSynced() throws {
        let fs = SimulatedFileSystem()
        let (log, _) = try openLog(fs, policy: .always)
        appendCommand(log, db: 0, ["SET", "a", "1"])
        let p = log.flush(now: 1)  // written; the process is killed before the end-of-tick fsync
        #expect(log.acknowledgedSeq == 0)
        let (restarted, loaded) = try openLog(fs, policy: .always)
        #expect(loaded.lastSeq == p)
        #expect(restarted.status.syncedSeq == p)
        #expect(
            fs.durableContents(LogDirectory.incr1Path) == fs.cachedContents(LogDirectory.incr1Path),
            "record \(p) is reported synced and replayed, but is not on the disk")
    }

    /// docs/FORMAT.md, Recovery: "its type and number must match the file name".
    @Test(arguments: [("b", 1), ("i", 2)])
    func headerMustMatchTheFileName(type: String, number: Int) {
        let fs = SimulatedFileSystem()
        let header = Build.header(version: 1, type: type, number: number, createdAt: WorkedExample.created)
        LogDirectory.install(fs, incr: header + Build.batch(firstSeq: 1, [["SET", "a", "1"]]))
        let e = loadError { _ = try load(fs) }
        #expect(e?.file == Names.incr(1), "a segment whose header says \(type) \(number) loads as \(Names.incr(1))")
        #expect(e?.offset == 0)
    }

    /// docs/FORMAT.md, Recovery: "Every batch must ... parse as exactly `count` commands in `length` bytes."
    /// The checksums are valid (a writer bug, not media damage), so only that check can catch it.
    @Test(arguments: [(2, [["SET", "a", "1"]]), (1, [["SET", "a", "1"], ["SET", "b", "2"]])])
    func batchCountMustMatchItsPayload(count: Int, commands: [[String]]) {
        let fs = SimulatedFileSystem()
        let lying = Build.batch(firstSeq: 1, db: 0, timestamp: 5, payload: Build.payload(commands), count: count)
        let next = Build.batch(firstSeq: UInt64(1 + count), [["SET", "z", "9"]])
        LogDirectory.install(fs, incr: WorkedExample.incrHeader + lying + next)
        var replayed = 0
        let e = loadError {
            let loaded = try load(fs)
            try loaded.forEachCommand(directory: "/d") { _, _, _ in replayed += 1 }
        }
        #expect(e?.file == Names.incr(1), "a batch of count \(count) holding \(commands.count) commands was accepted")
        #expect(e?.offset == 41)
    }

    /// A segment cut inside its header loads as "torn at 0" and is truncated to 0 bytes; the writer then appends
    /// batches to a file with no header, and the next start refuses the log. Either refuse at once, or keep (rewrite)
    /// the header so that the log stays loadable.
    @Test func segmentCutInsideItsHeader() throws {
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: Array(WorkedExample.incrFile[..<20]))
        let log: AppendLog
        do {
            (log, _) = try openLog(fs)
        } catch let e as LogLoadError {
            #expect(e.file == Names.incr(1) && e.offset == 0)
            return
        }
        appendCommand(log, db: 0, ["SET", "x", "1"])
        log.flush(now: 5)
        #expect(log.syncNow())
        do {
            let reloaded = try load(fs)
            #expect(sameCommands(withoutSelects(try replayedCommands(reloaded)), [(0, ["SET", "x", "1"])]))
        } catch {
            Issue.record("after a header cut and one write the log no longer loads: \(error)")
        }
    }

    /// docs/FORMAT.md: the cut bytes go to a side file "so nothing is destroyed". A second torn tail at the same
    /// offset must not overwrite the first side file.
    @Test func secondTornTailAtTheSameOffsetKeepsTheFirstSideFile() throws {
        let fs = SimulatedFileSystem()
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        let firstTorn = Array(Build.batch(firstSeq: 2, [["SET", "first", "torn-write"]]).dropLast(4))
        LogDirectory.install(fs, incr: s.bytes + firstTorn)
        let (log, loaded) = try openLog(fs, policy: .no)
        #expect(loaded.lastSeq == 1)
        let side = LogDirectory.incr1Path + ".torn-\(s.bytes.count)"
        #expect(fs.cachedContents(side) == firstTorn)
        // The next write is torn at the same offset by a second power loss.
        appendCommand(log, db: 0, ["SET", "second", "torn-write-too"])
        log.flush(now: 9)
        var bytes = fs.cachedContents(LogDirectory.incr1Path)!
        bytes.truncate(by: 3)
        let secondTorn = Array(bytes[s.bytes.count...])
        fs.install(LogDirectory.incr1Path, bytes)
        _ = try openLog(fs, policy: .no)
        let kept = fs.fileNames(in: "/d").compactMap { fs.cachedContents("/d/" + $0) }
        #expect(kept.contains(secondTorn))
        #expect(kept.contains(firstTorn), "the bytes cut by the first recovery were overwritten")
    }

    /// A power loss while a fresh log is being created (before its manifest exists) leaves header-only segment
    /// files and no manifest. The next start must still come up (those files hold no record), not refuse forever.
    @Test func powerLossWhileCreatingAFreshLog() throws {
        var failures: [Int] = []
        for n in 0..<20 {
            let fs = SimulatedFileSystem()
            fs.armPowerLoss(afterOperations: n)
            _ = try? openLog(fs)
            var rng = SplitMix64(seed: UInt64(n))
            fs.crash(rng: &rng)
            do {
                let (log, loaded) = try openLog(fs)
                #expect(loaded.lastSeq == 0)
                appendCommand(log, db: 0, ["SET", "k", "v"])
                log.flush(now: 1)
                #expect(log.syncNow())
                #expect(sameCommands(withoutSelects(try replayedCommands(try load(fs))), [(0, ["SET", "k", "v"])]))
            } catch {
                failures.append(n)
            }
        }
        #expect(failures.isEmpty, "power loss after these numbers of file operations leaves a log that never loads: \(failures)")
    }

    // MARK: What AppendLog writes

    /// The worked example of docs/FORMAT.md, written by AppendLog from the same commands and timestamps.
    @Test func appendLogWritesTheWorkedExample() throws {
        let fs = SimulatedFileSystem()
        let (log, _) = try openLog(fs, policy: .always, now: WorkedExample.created)
        appendCommand(log, db: 0, ["SET", "foo", "bar"])
        #expect(log.flush(now: WorkedExample.ts1) == 1)
        appendCommand(log, db: 1, ["INCR", "n"])
        #expect(log.flush(now: WorkedExample.ts2) == 3)
        #expect(log.syncNow())
        #expect(fs.cachedContents(LogDirectory.incr1Path) == WorkedExample.incrFile)
        #expect(fs.cachedContents("/d/" + Names.manifest) == WorkedExample.manifestFile)
        #expect(fs.cachedContents("/d/" + Names.base1) == WorkedExample.baseFile)
    }

    /// The writer's encoder against the RESP encoder: argument lengths at every decimal width, empty arguments,
    /// a batch past the reused buffer's size (grown, then replaced), and small batches after it.
    @Test func encodedBatchesMatchTheRESPEncoder() throws {
        let fs = SimulatedFileSystem()
        let (log, _) = try openLog(fs, policy: .always)
        var rng = SplitMix64(seed: 7)
        let sizes = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65_535, 65_536, 1 << 20, (1 << 20) + 3]
        typealias Command = [[UInt8]]
        var batches: [[Command]] = []
        for size in sizes {
            let set: Command = [Array("SET".utf8), rng.bytes(size % 17), rng.bytes(size)]
            let del: Command = [Array("DEL".utf8), []]
            batches.append([set, del])
        }
        batches.append((0..<3000).map { [Array("INCR".utf8), Array("counter:\($0)".utf8)] })
        for (i, batch) in batches.enumerated() {
            for command in batch { appendCommand(log, db: 0, command) }
            log.flush(now: Int64(i))
        }
        #expect(log.syncNow())
        let bytes = fs.cachedContents(LogDirectory.incr1Path)!
        let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.batches.count == batches.count)
        for (found, batch) in zip(scan.batches, batches) {
            #expect(Array(bytes[found.payload]) == batch.flatMap { Build.command($0) })
        }
    }

    /// A new segment starts in db 0: its first batch has `db 0`, with a SELECT only for another db.
    @Test func newSegmentStartsInDbZero() throws {
        let fs = SimulatedFileSystem()
        let (log, _) = try openLog(fs, policy: .always)
        appendCommand(log, db: 2, ["SET", "a", "1"])
        log.flush(now: 1)
        appendCommand(log, db: 2, ["SET", "b", "1"])
        appendCommand(log, db: 0, ["SET", "c", "1"])
        log.flush(now: 2)
        appendCommand(log, db: 0, ["SET", "d", "1"])
        log.flush(now: 3)
        let bytes = fs.cachedContents(LogDirectory.incr1Path)!
        let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.batches.map(\.annotation.db) == [0, 2, 0])
        #expect(scan.batches.map(\.annotation.count) == [2, 3, 1])
        #expect(Array(bytes[scan.batches[0].payload]) == Build.payload([["SELECT", "2"], ["SET", "a", "1"]]))
        #expect(
            Array(bytes[scan.batches[1].payload]) == Build.payload([["SET", "b", "1"], ["SELECT", "0"], ["SET", "c", "1"]]))
        #expect(Array(bytes[scan.batches[2].payload]) == Build.payload([["SET", "d", "1"]]))
    }

    /// docs/FORMAT.md: a segment reopened after a restart does not know its selected db, so its first new batch
    /// begins with a SELECT and its `db` field is that SELECT's target.
    @Test func reopenedSegmentStartsWithASelect() throws {
        let fs = SimulatedFileSystem()
        var (log, _) = try openLog(fs, policy: .always)
        appendCommand(log, db: 3, ["SET", "a", "1"])
        log.flush(now: 1)
        log.close(now: 2)
        (log, _) = try openLog(fs, policy: .always)
        appendCommand(log, db: 0, ["SET", "b", "2"])
        appendCommand(log, db: 0, ["SET", "c", "3"])
        #expect(log.flush(now: 3) == 5)
        let bytes = fs.cachedContents(LogDirectory.incr1Path)!
        let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.batches.count == 2)
        #expect(scan.batches[1].annotation.db == 0)
        #expect(
            Array(bytes[scan.batches[1].payload])
                == Build.payload([["SELECT", "0"], ["SET", "b", "2"], ["SET", "c", "3"]]))
        #expect(
            sameCommands(
                try replayedCommands(try load(fs)),
                [(0, ["SELECT", "3"]), (3, ["SET", "a", "1"]), (0, ["SELECT", "0"]), (0, ["SET", "b", "2"]),
                    (0, ["SET", "c", "3"])]))
    }

    // MARK: Reopening

    @Test func reopenContinuesTheSequence() throws {
        let fs = SimulatedFileSystem()
        var (log, _) = try openLog(fs, policy: .always)
        appendCommand(log, db: 0, ["SET", "a", "1"])
        appendCommand(log, db: 1, ["SET", "b", "2"])
        log.flush(now: 1)
        #expect(log.syncNow())
        let firstLast = log.acknowledgedSeq
        log.close(now: 2)
        var loaded: LoadedLog
        (log, loaded) = try openLog(fs, policy: .always)
        #expect(loaded.lastSeq == firstLast)
        appendCommand(log, db: 1, ["SET", "c", "3"])
        let last = log.flush(now: 3)
        #expect(last > firstLast)
        #expect(log.syncNow())
        #expect(log.acknowledgedSeq == last)
        let reloaded = try load(fs)
        #expect(reloaded.outcome == .clean && reloaded.lastSeq == last)
        #expect(
            sameCommands(
                withoutSelects(try replayedCommands(reloaded)),
                [(0, ["SET", "a", "1"]), (1, ["SET", "b", "2"]), (1, ["SET", "c", "3"])]))
    }
}
