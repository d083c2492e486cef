@testable import Storage
import Testing

/// `LogRepair.plan` and `LogRepair.apply` (docs/FORMAT.md, "Repair"), on the in-memory file system.
///
/// The logs are built with the shared helpers: `SegmentDamageTests.threeBatches()` is
///
/// | batch | seqs | db | timestamp | commands |
/// |---|---|---|---|---|
/// | 0 | 1–2 | 0 | …700 | `SET a 1`, `SET b 2` |
/// | 1 | 3–5 | 0 | …800 | `INCR a`, `SELECT 3`, `APPEND b xyz` |
/// | 2 | 6 | 3 | …900 | `DEL a` |
///
/// and `RecoveryTests.twoSegments()` is a closed incr 1 (seqs 1–4, leaving db 2 selected) and an open incr 2 (seq 5,
/// db 0).
@Suite struct RepairTests {
    static let dir = LogDirectory.dir
    static let now: Int64 = 1_764_080_000_000
    static let ts = (one: Int64(1_764_079_273_700), two: Int64(1_764_079_273_800), three: Int64(1_764_079_273_900))

    static func path(_ name: String) -> String { dir + "/" + name }
    static func baseName(_ n: Int) -> String { "appendonly.aof.\(n).base.aof" }

    /// The annotations and payloads a scan of undamaged `bytes` finds: what a plan must keep, batch for batch.
    static func batches(_ bytes: [UInt8]) -> [(annotation: BatchAnnotation, payload: [UInt8])] {
        let scan = SegmentReader.scan(bytes)
        #expect(scan.damage == nil, "helper misuse: batches() reads an undamaged segment")
        return scan.batches.map { ($0.annotation, Array(bytes[$0.payload])) }
    }

    static func expectKept(
        _ plan: RepairPlan, _ expected: [(file: String, annotation: BatchAnnotation, payload: [UInt8])],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(plan.kept.map { $0.file } == expected.map { $0.file }, sourceLocation: sourceLocation)
        #expect(plan.kept.map { $0.annotation } == expected.map { $0.annotation }, sourceLocation: sourceLocation)
        #expect(plan.kept.map { $0.payload } == expected.map { $0.payload }, sourceLocation: sourceLocation)
    }

    /// Every file of the directory: (page cache, durable) contents.
    static func snapshot(_ fs: SimulatedFileSystem) -> [String: [[UInt8]]] {
        var out: [String: [[UInt8]]] = [:]
        for name in fs.fileNames(in: dir) {
            out[name] = [fs.cachedContents(path(name))!, fs.durableContents(path(name))!]
        }
        return out
    }

    /// `crc32c(annotation prefix + payload)` of the batch at `start` of `bytes` (whatever its stored checksum says).
    static func computedChecksum(_ bytes: [UInt8], batchAt start: Int, payloadEnd: Int) -> String {
        var lineEnd = start
        while !(bytes[lineEnd] == 13 && bytes[lineEnd + 1] == 10) { lineEnd += 1 }
        return CRC32C.hex(CRC32C.checksum(Array(bytes[start..<(lineEnd - 8)]) + bytes[(lineEnd + 2)..<payloadEnd]))
    }

    /// The three-batch log with one bit flipped in the payload of batch 1 (seqs 3–5), and the reason the scan gives.
    /// `fromEnd` is how far before the batch's end the flipped byte lies.
    static func flippedMiddleBatch(fromEnd: Int = 5) -> (s: SegmentBuilder, bytes: [UInt8], reason: String) {
        let s = SegmentDamageTests.threeBatches()
        let bytes = s.bytes.flippingByte(at: s.batchEnds[1] - fromEnd)
        let stored = CRC32C.hex(batches(s.bytes)[1].annotation.crc)
        let computed = computedChecksum(bytes, batchAt: s.batchStarts[1], payloadEnd: s.batchEnds[1])
        #expect(stored != computed)
        return (s, bytes, "checksum mismatch in batch 3 (stored \(stored), computed \(computed))")
    }

    // MARK: Clean logs

    @Test(arguments: [RepairMode.truncate, .salvage, .pointInTime(unixMillis: 1_764_079_273_900)])
    func cleanLogKeepsEverything(mode: RepairMode) throws {
        let s = SegmentDamageTests.threeBatches()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        let before = Self.snapshot(fs)
        let plan = try LogRepair.plan(directory: Self.dir, mode: mode, fileSystem: fs)
        Self.expectKept(plan, Self.batches(s.bytes).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(plan.kept.map { $0.annotation.firstSeq } == [1, 3, 6])
        #expect(plan.dropped == [])
        #expect(plan.droppedBytes == 0)
        #expect(plan.keptRecords == 6)
        #expect(plan.needsRepair == false)
        #expect(plan.summary == "OK: 3 batches, 6 records, nothing to repair")
        #expect(plan.summary.hasPrefix("OK:"))
        #expect(plan.manifest == Manifest(entries: [
            LogDirectory.baseEntry(), ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1),
        ]))
        #expect(plan.directory == Self.dir && plan.prefix == Names.prefix && plan.mode == mode)
        #expect(Self.snapshot(fs) == before, "a plan is a dry run")
    }

    @Test func workedExampleIsClean() throws {
        let fs = SimulatedFileSystem()
        fs.install(Self.path(Names.base1), WorkedExample.baseFile)
        fs.install(Self.path(Names.incr(1)), WorkedExample.incrFile)
        fs.install(Self.path(Names.manifest), WorkedExample.manifestFile)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        Self.expectKept(plan, [
            (Names.incr(1), Self.batches(WorkedExample.incrFile)[0].annotation, WorkedExample.payload1),
            (Names.incr(1), Self.batches(WorkedExample.incrFile)[1].annotation, WorkedExample.payload2),
        ])
        #expect(plan.manifest == WorkedExample.manifest)
        #expect(plan.summary == "OK: 2 batches, 3 records, nothing to repair")
    }

    @Test func cleanTwoSegmentLogKeepsBothSegments() throws {
        let (one, two) = RecoveryTests.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        Self.expectKept(
            plan,
            Self.batches(one.bytes).map { (Names.incr(1), $0.annotation, $0.payload) }
                + Self.batches(two.bytes).map { (Names.incr(2), $0.annotation, $0.payload) })
        #expect(plan.summary == "OK: 4 batches, 5 records, nothing to repair")
    }

    /// Zeros after the last batch are damage (a zero-filled tail) unless the segment's marker says the writer wrote
    /// them ahead of its appends (`appendfsync always`): then there is nothing to repair, as at startup.
    @Test func zerosWrittenAheadAreNotDamage() throws {
        let s = SegmentDamageTests.threeBatches()
        let bytes = s.bytes + [UInt8](repeating: 0, count: 3000)
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let damaged = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        #expect(damaged.dropped.map(\.range) == [s.bytes.count..<bytes.count])
        fs.install(LogFormat.reservedMarker(segmentPath: Self.path(Names.incr(1))), [])
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        Self.expectKept(plan, Self.batches(s.bytes).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(!plan.needsRepair)
        // A byte other than zero among them: damage again, marker or not.
        var torn = bytes
        torn[s.bytes.count + 1500] = 1
        LogDirectory.install(fs, incr: torn)
        #expect(try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs).needsRepair)
    }

    // MARK: Damage in the middle of a segment

    @Test func truncateKeepsOnlyTheBatchesBeforeABitFlip() throws {
        let (s, bytes, reason) = Self.flippedMiddleBatch()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let before = Self.snapshot(fs)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        Self.expectKept(plan, [(Names.incr(1), Self.batches(s.bytes)[0].annotation, Self.batches(s.bytes)[0].payload)])
        #expect(plan.dropped == [RepairPlan.Dropped(file: Names.incr(1), range: s.batchStarts[1]..<bytes.count, reason: reason)])
        #expect(plan.droppedBytes == bytes.count - s.batchStarts[1])
        #expect(plan.keptRecords == 2)
        #expect(plan.needsRepair)
        #expect(plan.summary == "REPAIR (truncate): keeps 1 batches (2 records), drops \(bytes.count - s.batchStarts[1]) bytes in 1 range(s)")
        #expect(Self.snapshot(fs) == before, "a plan is a dry run")
    }

    @Test func salvageKeepsTheBatchesOnBothSidesOfABitFlip() throws {
        let (s, bytes, reason) = Self.flippedMiddleBatch()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        let good = Self.batches(s.bytes)
        Self.expectKept(plan, [
            (Names.incr(1), good[0].annotation, good[0].payload), (Names.incr(1), good[2].annotation, good[2].payload),
        ])
        #expect(plan.kept.map { $0.annotation.firstSeq } == [1, 6], "kept as found: apply renumbers")
        #expect(plan.dropped == [RepairPlan.Dropped(file: Names.incr(1), range: s.batchStarts[1]..<s.batchEnds[1], reason: reason)])
        #expect(s.batchEnds[1] == s.batchStarts[2])
        #expect(plan.droppedBytes == s.batchEnds[1] - s.batchStarts[1])
        #expect(plan.keptRecords == 3)
        #expect(plan.summary == "REPAIR (salvage): keeps 2 batches (3 records), drops \(s.batchEnds[1] - s.batchStarts[1]) bytes in 1 range(s)")
    }

    /// Any single flipped bit in the middle batch (annotation, CRLF, checksum token or payload): truncate drops from
    /// that batch to EOF, salvage drops exactly that batch's bytes. The batch's last byte (the LF before the next
    /// `#B`) is left to `salvageResyncsWhenTheFlipHitsTheLastByteOfTheDamagedBatch`.
    @Test func everyBitFlipInTheMiddleBatch() throws {
        let s = SegmentDamageTests.threeBatches()
        let good = Self.batches(s.bytes)
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        var checked = 0
        for offset in s.batchStarts[1]..<(s.batchEnds[1] - 1) {
            for mask: UInt8 in [0x01, 0x10, 0x80] {
                fs.install(LogDirectory.incr1Path, s.bytes.flippingByte(at: offset, mask: mask))
                let truncate = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
                #expect(truncate.kept.map { $0.annotation } == [good[0].annotation], "flip \(mask) at \(offset)")
                #expect(truncate.dropped.map { $0.range } == [s.batchStarts[1]..<s.bytes.count], "flip \(mask) at \(offset)")
                let salvage = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
                #expect(salvage.kept.map { $0.annotation } == [good[0].annotation, good[2].annotation], "flip \(mask) at \(offset)")
                #expect(salvage.kept.map { $0.payload } == [good[0].payload, good[2].payload], "flip \(mask) at \(offset)")
                #expect(salvage.dropped.map { $0.range } == [s.batchStarts[1]..<s.batchEnds[1]], "flip \(mask) at \(offset)")
                #expect(Set(truncate.dropped.map { $0.reason }) == Set(salvage.dropped.map { $0.reason }))
                checked += 1
            }
        }
        #expect(checked == (s.batchEnds[1] - 1 - s.batchStarts[1]) * 3)
    }

    /// Two damaged batches: salvage reports two ranges and keeps what lies between and after them.
    @Test func salvageReportsEverySkippedRange() throws {
        var s = SegmentDamageTests.threeBatches()
        s.add([["SET", "d", "4"]], db: 3, timestamp: 1_764_079_274_000)
        s.add([["SET", "e", "5"]], db: 3, timestamp: 1_764_079_274_100)
        let good = Self.batches(s.bytes)
        var bytes = s.bytes
        bytes.flipByte(at: s.batchEnds[0] - 3)  // batch 0's payload
        bytes.flipByte(at: s.batchStarts[3] + 5)  // batch 3's annotation
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        Self.expectKept(plan, [1, 2, 4].map { (Names.incr(1), good[$0].annotation, good[$0].payload) })
        #expect(plan.dropped.map { $0.file } == [Names.incr(1), Names.incr(1)])
        #expect(plan.dropped.map { $0.range } == [s.batchStarts[0]..<s.batchEnds[0], s.batchStarts[3]..<s.batchEnds[3]])
        #expect(plan.dropped[0].reason.hasPrefix("checksum mismatch in batch 1 "))
        #expect(plan.droppedBytes == (s.batchEnds[0] - s.batchStarts[0]) + (s.batchEnds[3] - s.batchStarts[3]))
        #expect(plan.summary == "REPAIR (salvage): keeps 3 batches (5 records), drops \(plan.droppedBytes) bytes in 2 range(s)")
    }

    // MARK: Point in time

    @Test(arguments: [
        (Int64(1_764_079_273_699), 0), (1_764_079_273_700, 1), (1_764_079_273_799, 1), (1_764_079_273_800, 2),
        (1_764_079_273_899, 2), (1_764_079_273_900, 3), (Int64.max, 3),
    ])
    func pointInTimeKeepsBatchesUpToTheTime(until: Int64, keep: Int) throws {
        let s = SegmentDamageTests.threeBatches()
        let good = Self.batches(s.bytes)
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .pointInTime(unixMillis: until), fileSystem: fs)
        Self.expectKept(plan, good.prefix(keep).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(plan.kept.allSatisfy { $0.annotation.timestamp <= until })
        if keep == 3 {
            #expect(plan.dropped == [])
            #expect(plan.summary == "OK: 3 batches, 6 records, nothing to repair")
        } else {
            let records = [0, 2, 5][keep]
            #expect(plan.dropped == [RepairPlan.Dropped(file: Names.incr(1), range: s.batchStarts[keep]..<s.bytes.count, reason: "after the point in time")])
            #expect(plan.keptRecords == records)
            #expect(plan.summary == "REPAIR (pointInTime(unixMillis: \(until))): keeps \(keep) batches (\(records) records), drops \(s.bytes.count - s.batchStarts[keep]) bytes in 1 range(s)")
        }
    }

    @Test func pointInTimeDropsLaterSegmentsWhole() throws {
        let (one, _) = RecoveryTests.twoSegments()  // every batch at …700
        var later = SegmentBuilder(number: 2, startSeq: 5)
        later.add([["SET", "d", "4"]], timestamp: 1_764_079_275_000)
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 4, size: one.bytes.count, incr2: later.bytes, incr2Start: 5)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .pointInTime(unixMillis: 1_764_079_274_999), fileSystem: fs)
        Self.expectKept(plan, Self.batches(one.bytes).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(plan.dropped == [
            RepairPlan.Dropped(file: Names.incr(2), range: later.batchStarts[0]..<later.bytes.count, reason: "after the point in time")
        ])
        // Cut inside incr 1: incr 2 goes whole.
        let early = try LogRepair.plan(directory: Self.dir, mode: .pointInTime(unixMillis: 1_764_079_273_699), fileSystem: fs)
        #expect(early.kept.isEmpty)
        #expect(early.dropped == [
            RepairPlan.Dropped(file: Names.incr(1), range: one.batchStarts[0]..<one.bytes.count, reason: "after the point in time"),
            RepairPlan.Dropped(file: Names.incr(2), range: 0..<later.bytes.count, reason: "after the repair point"),
        ])
    }

    @Test func pointInTimeStopsAtDamageLikeTruncate() throws {
        let (s, bytes, reason) = Self.flippedMiddleBatch()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .pointInTime(unixMillis: Int64.max), fileSystem: fs)
        Self.expectKept(plan, [(Names.incr(1), Self.batches(s.bytes)[0].annotation, Self.batches(s.bytes)[0].payload)])
        #expect(plan.dropped == [RepairPlan.Dropped(file: Names.incr(1), range: s.batchStarts[1]..<bytes.count, reason: reason)])
    }

    /// A batch whose first-seq jumps ahead (records 2–4 lost in between) inside one segment.
    static func sequenceGap() -> SegmentBuilder {
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        s.nextSeq = 5
        s.add([["SET", "b", "2"]])
        return s
    }

    @Test func truncateStopsAtASequenceGap() throws {
        let s = Self.sequenceGap()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(1), offset: s.batchStarts[1], reason: "sequence gap: expected batch 2, found 5",
                    directory: "/d"))
        let scan = SegmentReader.scan(Array(s.bytes[..<s.batchEnds[0]]))
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        Self.expectKept(plan, [(Names.incr(1), scan.batches[0].annotation, Build.payload([["SET", "a", "1"]]))])
        #expect(plan.dropped == [
            RepairPlan.Dropped(file: Names.incr(1), range: s.batchStarts[1]..<s.bytes.count, reason: "sequence gap: expected batch 2, found 5")
        ])
    }

    // MARK: Damage across segments

    @Test func truncateDropsEveryLaterSegment() throws {
        let (one, two) = RecoveryTests.twoSegments()
        let damaged = one.bytes.flippingByte(at: one.batchEnds[1] - 3)  // incr 1's second batch (seqs 2–3)
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: damaged, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        let good = Self.batches(one.bytes)
        Self.expectKept(plan, [(Names.incr(1), good[0].annotation, good[0].payload)])
        #expect(plan.dropped.map { $0.file } == [Names.incr(1), Names.incr(2)])
        #expect(plan.dropped.map { $0.range } == [one.batchStarts[1]..<one.bytes.count, 0..<two.bytes.count])
        #expect(plan.dropped[0].reason.hasPrefix("checksum mismatch in batch 2 "))
        #expect(plan.dropped[1].reason == "after the repair point")
        #expect(plan.droppedBytes == one.bytes.count - one.batchStarts[1] + two.bytes.count)
    }

    @Test func missingSegment() throws {
        let (one, two) = RecoveryTests.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        fs.delete(LogDirectory.incr1Path)
        let truncate = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        #expect(truncate.kept.isEmpty)
        #expect(truncate.dropped == [
            RepairPlan.Dropped(file: Names.incr(1), range: 0..<0, reason: "segment missing"),
            RepairPlan.Dropped(file: Names.incr(2), range: 0..<two.bytes.count, reason: "after the repair point"),
        ])
        let salvage = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        Self.expectKept(salvage, Self.batches(two.bytes).map { (Names.incr(2), $0.annotation, $0.payload) })
        #expect(salvage.dropped == [RepairPlan.Dropped(file: Names.incr(1), range: 0..<0, reason: "segment missing")])
    }

    // MARK: Torn tail

    @Test(arguments: [RepairMode.truncate, .salvage])
    func tornTailDropsOnlyTheTail(mode: RepairMode) throws {
        let (full, validUpTo, s) = RecoveryTests.threeBatchesAndTorn()
        let length = Build.payload([["SET", "torn", "value-that-was-being-written"]]).count
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: full)
        let plan = try LogRepair.plan(directory: Self.dir, mode: mode, fileSystem: fs)
        Self.expectKept(plan, Self.batches(s.bytes).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(plan.dropped == [
            RepairPlan.Dropped(
                file: Names.incr(1), range: validUpTo..<full.count,
                reason: "batch 7 needs \(length) payload bytes, \(length - 10) present")
        ])
        #expect(validUpTo == s.bytes.count)
        #expect(plan.summary == "REPAIR (\(mode)): keeps 3 batches (6 records), drops \(full.count - validUpTo) bytes in 1 range(s)")
    }

    @Test func zeroFilledTailDropsOnlyTheZeros() throws {
        let s = SegmentDamageTests.threeBatches()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes + [UInt8](repeating: 0, count: 100))
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        #expect(plan.kept.count == 3)
        #expect(plan.dropped == [
            RepairPlan.Dropped(file: Names.incr(1), range: s.bytes.count..<(s.bytes.count + 100), reason: "zero-filled tail of 100 bytes")
        ])
    }

    // MARK: Missing or damaged manifest

    /// Segments numbered 9 and 10 (a lexicographic sort would replay 10 first), plus files that are not segments.
    static func installWithoutManifest(_ fs: SimulatedFileSystem) -> (SegmentBuilder, SegmentBuilder) {
        var nine = SegmentBuilder(number: 9)
        nine.add([["SET", "a", "1"]])
        nine.add([["SELECT", "2"], ["SET", "b", "2"]])
        var ten = SegmentBuilder(number: 10, startSeq: nine.nextSeq)
        ten.add([["SET", "c", "3"]])
        ten.add([["DEL", "a"]], timestamp: 1_764_079_273_800)
        fs.install(path(Names.base1), LogDirectory.baseBytes)
        fs.install(path(Names.incr(9)), nine.bytes)
        fs.install(path(Names.incr(10)), ten.bytes)
        fs.install(path(Names.incr(10) + ".torn-41"), Array("#B 9 1 20 0 1 ".utf8))
        fs.install(path(Names.manifest + ".tmp"), Array("#GODIS-MANIFEST 1 00000000\n".utf8))
        return (nine, ten)
    }

    @Test func missingManifestIsRebuiltFromTheSegmentsOnDisk() throws {
        let fs = SimulatedFileSystem()
        let (nine, ten) = Self.installWithoutManifest(fs)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        #expect(plan.manifest == nil)
        Self.expectKept(
            plan,
            Self.batches(nine.bytes).map { (Names.incr(9), $0.annotation, $0.payload) }
                + Self.batches(ten.bytes).map { (Names.incr(10), $0.annotation, $0.payload) })
        #expect(plan.dropped == [
            RepairPlan.Dropped(file: Names.manifest, range: 0..<0, reason: "manifest missing or damaged; rebuilt from the segments on disk")
        ])
        #expect(plan.needsRepair)
        #expect(plan.droppedBytes == 0)
        #expect(plan.summary == "REPAIR (truncate): keeps 4 batches (5 records), drops 0 bytes in 1 range(s)")

        // Applied: numbered above segment 10, and the replay is in segment-number order.
        let name = try LogRepair.apply(plan, fileSystem: fs, now: Self.now)
        #expect(name == Names.incr(11))
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 6)
        #expect(loaded.manifest.entries.map(\.name) == [Self.baseName(11), Names.incr(11)])
        #expect(
            sameCommands(
                try replayedCommands(loaded),
                [(0, ["SET", "a", "1"]), (0, ["SELECT", "2"]), (2, ["SET", "b", "2"]), (0, ["SELECT", "0"]),
                    (0, ["SET", "c", "3"]), (0, ["DEL", "a"])]))
    }

    @Test func damagedManifestIsRebuiltFromTheSegmentsOnDisk() throws {
        let s = SegmentDamageTests.threeBatches()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        fs.install(Self.path(Names.manifest), fs.cachedContents(Self.path(Names.manifest))!.flippingByte(at: 40))
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        #expect(plan.manifest == nil)
        Self.expectKept(plan, Self.batches(s.bytes).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(plan.dropped == [
            RepairPlan.Dropped(file: Names.manifest, range: 0..<0, reason: "manifest missing or damaged; rebuilt from the segments on disk")
        ])
    }

    // MARK: Apply

    /// The salvage of the flipped middle batch skips the `SELECT 3` it held: the kept batch with db 3 gets a
    /// `SELECT 3` prepended, and the records are renumbered 1…4.
    @Test func applySalvageWritesANewRenumberedPairAndKeepsTheOldFiles() throws {
        let (_, bytes, _) = Self.flippedMiddleBatch()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let before = Self.snapshot(fs)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        let name = try LogRepair.apply(plan, fileSystem: fs, now: Self.now)
        #expect(name == Names.incr(2))

        // The old files: never deleted, never modified (page cache and disk); only the manifest was replaced.
        #expect(fs.fileNames(in: Self.dir) == [Names.base1, Names.incr(1), Self.baseName(2), Names.incr(2), Names.manifest])
        for (old, contents) in before where old != Names.manifest {
            #expect([fs.cachedContents(Self.path(old))!, fs.durableContents(Self.path(old))!] == contents, "\(old)")
        }

        // The new files, byte for byte, built independently of the writer; all of them durable.
        let base = Build.header(version: 1, type: "b", number: 2, createdAt: Self.now)
        let incr =
            Build.header(version: 1, type: "i", number: 2, createdAt: Self.now, options: ["repaired=1"])
            + Build.batch(firstSeq: 1, db: 0, timestamp: Self.ts.one, [["SET", "a", "1"], ["SET", "b", "2"]])
            + Build.batch(firstSeq: 3, db: 3, timestamp: Self.ts.three, [["SELECT", "3"], ["DEL", "a"]])
        let manifest = Build.manifest(lines: [
            "file \(Self.baseName(2)) seq 2 type b startseq 1 endseq 0 size \(base.count)",
            "file \(Names.incr(2)) seq 2 type i startseq 1",
        ])
        for (file, expected) in [(Self.baseName(2), base), (Names.incr(2), incr), (Names.manifest, manifest)] {
            #expect(fs.cachedContents(Self.path(file)) == expected, "\(file)")
            #expect(fs.durableContents(Self.path(file)) == expected, "\(file) is durable")
        }

        // The repaired log loads with the strict reader and replays exactly the kept commands.
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean)
        #expect(loaded.lastSeq == 4)
        #expect(loaded.segments.map(\.entry.name) == [Self.baseName(2), Names.incr(2)])
        let ann = loaded.segments[1].scan.batches.map(\.annotation)
        #expect(ann.map(\.firstSeq) == [1, 3])
        #expect(ann.map(\.count) == [2, 2])
        #expect(ann.map(\.db) == [0, 3])
        #expect(ann.map(\.timestamp) == [Self.ts.one, Self.ts.three])
        #expect(loaded.segments[1].scan.header?.options == ["repaired": "1"])
        #expect(
            sameCommands(
                try replayedCommands(loaded),
                [(0, ["SET", "a", "1"]), (0, ["SET", "b", "2"]), (3, ["SELECT", "3"]), (3, ["DEL", "a"])]))
        #expect(fs.fileNames(in: Self.dir).count == 5, "loading changed nothing")
    }

    @Test func applyTruncateThenTheLogReopensForAppends() throws {
        let (_, bytes, _) = Self.flippedMiddleBatch()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        try LogRepair.apply(plan, fileSystem: fs, now: Self.now)
        #expect(
            fs.cachedContents(Self.path(Names.incr(2)))
                == Build.header(version: 1, type: "i", number: 2, createdAt: Self.now, options: ["repaired=1"])
                + Build.batch(firstSeq: 1, db: 0, timestamp: Self.ts.one, [["SET", "a", "1"], ["SET", "b", "2"]]))
        let (log, loaded) = try openLog(fs)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 2)
        #expect(log.segmentName == Names.incr(2))
        #expect(sameCommands(try replayedCommands(loaded), [(0, ["SET", "a", "1"]), (0, ["SET", "b", "2"])]))
        appendCommand(log, db: 0, ["SET", "c", "3"])
        #expect(log.flush(now: Self.now + 1) == 4, "a reopened segment's first batch starts with SELECT 0 (seq 3)")
        log.close(now: Self.now + 2)
        let reloaded = try load(fs)
        #expect(reloaded.outcome == .clean && reloaded.lastSeq == 4)
        #expect(
            sameCommands(
                withoutSelects(try replayedCommands(reloaded)),
                [(0, ["SET", "a", "1"]), (0, ["SET", "b", "2"]), (0, ["SET", "c", "3"])]))
    }

    /// Kept batches from several segments are merged into one: the db each segment starts with (0) is restored with a
    /// SELECT, since the merged stream no longer starts a fresh client there.
    @Test func applyAcrossSegmentsRestoresTheDbOfEachSegmentStart() throws {
        let (one, two) = RecoveryTests.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        #expect(plan.needsRepair == false)
        try LogRepair.apply(plan, fileSystem: fs, now: Self.now)
        #expect(
            fs.cachedContents(Self.path(Names.incr(3)))
                == Build.header(version: 1, type: "i", number: 3, createdAt: Self.now, options: ["repaired=1"])
                + Build.batch(firstSeq: 1, db: 0, timestamp: Self.ts.one, [["SET", "a", "1"]])
                + Build.batch(firstSeq: 2, db: 0, timestamp: Self.ts.one, [["SELECT", "2"], ["SET", "b", "2"]])
                + Build.batch(firstSeq: 4, db: 2, timestamp: Self.ts.one, [["SET", "c", "3"]])
                + Build.batch(firstSeq: 5, db: 0, timestamp: Self.ts.one, [["SELECT", "0"], ["SET", "d", "4"]]))
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 6)
        #expect(
            sameCommands(
                try replayedCommands(loaded),
                [(0, ["SET", "a", "1"]), (0, ["SELECT", "2"]), (2, ["SET", "b", "2"]), (2, ["SET", "c", "3"]),
                    (0, ["SELECT", "0"]), (0, ["SET", "d", "4"])]))
    }

    /// The new pair is numbered one above the highest segment on disk, listed or not; side files do not count.
    @Test func applyNumbersAboveTheHighestSegmentOnDisk() throws {
        let (one, two) = RecoveryTests.twoSegments()
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: one.bytes, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        let stray = SegmentBuilder(number: 5).bytes
        fs.install(Self.path(Names.incr(5)), stray)  // unlisted, e.g. left by an earlier repair
        fs.install(Self.path(Names.incr(2) + ".torn-99"), [1, 2, 3])
        fs.install(Self.path("other.aof.77.incr.aof"), [1, 2, 3])
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        #expect(plan.kept.count == 4, "the unlisted segment is not read")
        let before = Self.snapshot(fs)
        #expect(try LogRepair.apply(plan, fileSystem: fs, now: Self.now) == Names.incr(6))
        #expect(
            fs.fileNames(in: Self.dir).sorted()
                == (Array(before.keys) + [Self.baseName(6), Names.incr(6)]).sorted())
        for (old, contents) in before where old != Names.manifest {
            #expect([fs.cachedContents(Self.path(old))!, fs.durableContents(Self.path(old))!] == contents, "\(old)")
        }
        let loaded = try load(fs)
        #expect(loaded.manifest.entries.map(\.name) == [Self.baseName(6), Names.incr(6)])
        #expect(loaded.lastSeq == 6)
    }

    @Test func applyingAPlanThatKeepsNothingGivesAnEmptyLog() throws {
        let s = SegmentDamageTests.threeBatches()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .pointInTime(unixMillis: 1), fileSystem: fs)
        #expect(plan.kept.isEmpty)
        try LogRepair.apply(plan, fileSystem: fs, now: Self.now)
        #expect(
            fs.cachedContents(Self.path(Names.incr(2)))
                == Build.header(version: 1, type: "i", number: 2, createdAt: Self.now, options: ["repaired=1"]))
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 0)
        #expect(try replayedCommands(loaded).isEmpty)
        #expect(fs.cachedContents(LogDirectory.incr1Path) == s.bytes)
    }

    @Test func torntailRepairLeavesTheTornSegmentUntouched() throws {
        let (full, _, _) = RecoveryTests.threeBatchesAndTorn()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: full)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        try LogRepair.apply(plan, fileSystem: fs, now: Self.now)
        #expect(fs.cachedContents(LogDirectory.incr1Path) == full)
        #expect(fs.fileNames(in: Self.dir) == [Names.base1, Names.incr(1), Self.baseName(2), Names.incr(2), Names.manifest])
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 6)
        #expect(sameCommands(try replayedCommands(loaded), RecoveryTests.expectedThree))
    }

    /// The real file system (the default `fileSystem`), end to end.
    @Test func planAndApplyOnDisk() throws {
        let (_, bytes, _) = Self.flippedMiddleBatch()
        let root = makeTempDirectory()
        defer { removeTree(root) }
        let dir = root + "/appendonlydir"
        let posix = PosixFileSystem()
        try posix.createDirectory(dir)
        try writeRealFile(dir + "/" + Names.base1, LogDirectory.baseBytes)
        try writeRealFile(dir + "/" + Names.incr(1), bytes)
        try writeRealFile(
            dir + "/" + Names.manifest,
            Manifest(entries: [
                LogDirectory.baseEntry(), ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1),
            ]).encoded())
        let plan = try LogRepair.plan(directory: dir, mode: .salvage)
        #expect(plan.kept.count == 2 && plan.dropped.count == 1)
        #expect(try LogRepair.apply(plan, now: Self.now) == Names.incr(2))
        #expect(try posix.listDirectory(dir) == [Names.base1, Names.incr(1), Self.baseName(2), Names.incr(2), Names.manifest])
        #expect(try posix.readFile(dir + "/" + Names.incr(1)) == bytes)
        let loaded = try load(posix, directory: dir)
        #expect(loaded.outcome == .clean && loaded.lastSeq == 4)
        #expect(
            sameCommands(
                try replayedCommands(loaded, directory: dir),
                [(0, ["SET", "a", "1"]), (0, ["SET", "b", "2"]), (3, ["SELECT", "3"]), (3, ["DEL", "a"])]))
    }

    // MARK: Regressions (each of these once failed)

    /// A closed segment that lost its last batch exactly on a batch boundary scans clean; only its manifest
    /// `size`/`endseq` show the loss. `plan` must see it as the loader does (otherwise `check` says OK and
    /// `recover --apply` does nothing while the server refuses to start): truncate keeps the batches up to the
    /// loss and drops the later segment.
    @Test func shortClosedSegmentNeedsRepair() throws {
        let (one, two) = RecoveryTests.twoSegments()
        let short = Array(one.bytes[..<one.batchEnds[1]])  // lost seq 4 (`SET c 3`)
        let fs = SimulatedFileSystem()
        LogDirectory.installTwo(fs, incr1: short, endSeq: 4, size: one.bytes.count, incr2: two.bytes, incr2Start: 5)
        #expect(loadError { _ = try load(fs) } != nil, "the strict reader refuses this log")
        let plan = try LogRepair.plan(directory: Self.dir, mode: .truncate, fileSystem: fs)
        #expect(plan.needsRepair)
        #expect(!plan.summary.hasPrefix("OK:"))
        Self.expectKept(plan, Self.batches(short).map { (Names.incr(1), $0.annotation, $0.payload) })
        #expect(plan.dropped.map { $0.file } == [Names.incr(1), Names.incr(2)])
        #expect(plan.dropped.last == RepairPlan.Dropped(file: Names.incr(2), range: 0..<two.bytes.count, reason: "after the repair point"))
    }

    /// After a repair the old segments stay on disk, unlisted. If the manifest is then lost, a rebuild from every
    /// segment on disk would mix generations (truncate would stop at the old damage; salvage would replay every
    /// command twice): it must start at the newest base.
    @Test func manifestLostAfterARepairRebuildsFromTheRepairedSegments() throws {
        let (_, bytes, _) = Self.flippedMiddleBatch()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        try LogRepair.apply(try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs), fileSystem: fs, now: Self.now)
        let repaired = fs.cachedContents(Self.path(Names.incr(2)))!
        fs.delete(Self.path(Names.manifest))
        for mode in [RepairMode.truncate, .salvage] {
            let plan = try LogRepair.plan(directory: Self.dir, mode: mode, fileSystem: fs)
            Self.expectKept(plan, Self.batches(repaired).map { (Names.incr(2), $0.annotation, $0.payload) })
        }
    }

    /// The flipped bit is the damaged batch's last byte, the LF that ends its payload. Salvage must still resync at
    /// the intact batch that follows (seq 6, `DEL a`), although its `#B ` no longer starts a line: the dropped
    /// range ends at the damaged batch's end.
    @Test func salvageResyncsWhenTheFlipHitsTheLastByteOfTheDamagedBatch() throws {
        let (s, bytes, reason) = Self.flippedMiddleBatch(fromEnd: 1)
        #expect(s.bytes[s.batchEnds[1] - 1] == 10 && bytes[s.batchEnds[1] - 1] == 11)
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        let good = Self.batches(s.bytes)
        Self.expectKept(plan, [
            (Names.incr(1), good[0].annotation, good[0].payload), (Names.incr(1), good[2].annotation, good[2].payload),
        ])
        #expect(plan.dropped == [RepairPlan.Dropped(file: Names.incr(1), range: s.batchStarts[1]..<s.batchEnds[1], reason: reason)])
    }

    /// A sequence gap is reported as damage at the offset of the batch after it, but that batch (`SET b 2`, good
    /// checksum) is intact: salvage, which renumbers anyway, must keep it, so a gap costs no bytes.
    @Test func salvageKeepsTheIntactBatchAfterASequenceGap() throws {
        let s = Self.sequenceGap()
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: s.bytes)
        let plan = try LogRepair.plan(directory: Self.dir, mode: .salvage, fileSystem: fs)
        #expect(plan.kept.map { $0.payload } == [Build.payload([["SET", "a", "1"]]), Build.payload([["SET", "b", "2"]])])
        #expect(plan.kept.map { $0.annotation.firstSeq } == [1, 5])
        #expect(plan.droppedBytes == 0)
        #expect(plan.needsRepair, "the log as it is does not load")
    }
}
