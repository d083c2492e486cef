import RESP
@testable import Storage
import TestSupport
import Testing

/// The worked example of docs/FORMAT.md, as the spec states it (strings, not produced by the code under test).
enum WorkedExample {
    static let created: Int64 = 1_764_079_273_619
    static let ts1: Int64 = 1_764_079_273_700
    static let ts2: Int64 = 1_764_079_274_105

    static let baseFile = Array("#GODIS-AOF 1 b 1 1764079273619 9f9e3259\r\n".utf8)
    static let incrHeader = Array("#GODIS-AOF 1 i 1 1764079273619 f56d257c\r\n".utf8)
    static let annotation1 = Array("#B 1 1 31 0 1764079273700 fa4ccb26\r\n".utf8)
    static let payload1 = Array("*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n".utf8)
    static let annotation2 = Array("#B 2 2 44 0 1764079274105 98813aa2\r\n".utf8)
    static let payload2 = Array("*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n".utf8)
    static var incrFile: [UInt8] { incrHeader + annotation1 + payload1 + annotation2 + payload2 }
    static let manifestFile = Array(
        ("#GODIS-MANIFEST 1 e0ab81b2\n"
            + "file appendonly.aof.1.base.aof seq 1 type b startseq 1 endseq 0 size 41\n"
            + "file appendonly.aof.1.incr.aof seq 1 type i startseq 1\n").utf8)

    static let manifest = Manifest(entries: [
        ManifestEntry(name: Names.base1, number: 1, type: .base, startSeq: 1, endSeq: 0, size: 41),
        ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1),
    ])

    /// The three hex dumps of docs/FORMAT.md (base, incr, manifest), parsed back to bytes.
    static func hexDumpsFromSpec() throws -> [[UInt8]] {
        let text = try PosixFileSystem().readFile(Paths.formatDoc).text
        var dumps: [[UInt8]] = []
        var current: [UInt8]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let isDump =
                line.count > 10 && line.prefix(8).allSatisfy { $0.isHexDigit } && line.dropFirst(8).hasPrefix("  ")
            if isDump {
                let offset = Int(line.prefix(8), radix: 16)!
                if current == nil { current = [] }
                #expect(offset == current!.count, "hex dump offsets must be contiguous")
                let hexPart = line.dropFirst(10).prefix { $0 != "|" }
                for pair in hexPart.split(separator: " ") { current!.append(UInt8(pair, radix: 16)!) }
            } else if let c = current {
                dumps.append(c)
                current = nil
            }
        }
        if let c = current { dumps.append(c) }
        return dumps
    }
}

/// Bitwise CRC32C, transcribed from the reference in docs/FORMAT.md: an implementation independent of CGodisCRC.
func referenceCRC32C(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in data {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
}

@Suite struct CRC32CTests {
    @Test func knownVector() {
        let v = Array("123456789".utf8)
        #expect(CRC32C.checksum(v) == 0xE306_9283)
        #expect(CRC32C.portable(v) == 0xE306_9283)
        #expect(referenceCRC32C(v) == 0xE306_9283)
        #expect(CRC32C.hex(CRC32C.checksum(v)) == "e3069283")
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.portable([]) == 0)
    }

    @Test func hexIsEightLowercaseDigits() {
        #expect(CRC32C.hex(0) == "00000000")
        #expect(CRC32C.hex(0xA) == "0000000a")
        #expect(CRC32C.hex(0xDEAD_BEEF) == "deadbeef")
        #expect(CRC32C.hex(0xFFFF_FFFF) == "ffffffff")
    }

    /// Hardware and table paths agree with each other and with the bitwise reference on every length 0...300 (all
    /// alignments of the 8-byte loops and their tails), and `extend` composes.
    @Test func pathsAgreeOnRandomBuffers() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        for length in 0...300 {
            let buffer = rng.bytes(length)
            let hw = CRC32C.checksum(buffer)
            #expect(hw == CRC32C.portable(buffer), "length \(length)")
            #expect(hw == referenceCRC32C(buffer), "length \(length)")
            // Unaligned start: a slice one byte in.
            if length > 1 {
                #expect(CRC32C.checksum(buffer[1...]) == referenceCRC32C(Array(buffer[1...])), "length \(length)")
            }
            let split = length == 0 ? 0 : rng.below(length + 1)
            let a = Array(buffer[..<split]), b = Array(buffer[split...])
            let chained = b.withUnsafeBytes { bb in a.withUnsafeBytes { CRC32C.extend(CRC32C.extend(0, $0), bb) } }
            #expect(chained == hw, "length \(length) split \(split)")
        }
    }

    /// The three-stream hardware path (inputs of 768 bytes and more, blocks of 256 and 8192 bytes) against the
    /// table path and the bitwise reference, around every block boundary and at an unaligned start.
    @Test func longInputsAgree() {
        var rng = SplitMix64(seed: 0x5EED)
        let buffer = rng.bytes(2 * 3 * 8192 + 3 * 256 + 100)
        let lengths = [
            767, 768, 769, 775, 1000, 3 * 256 * 2 + 5, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 3 * 256 + 7,
            buffer.count - 1,
        ]
        for length in lengths {
            for start in 0..<2 {
                // A slice of `buffer`, not a copy: at start 1 the input is really unaligned.
                let slice = buffer[start..<(start + length)]
                let hw = CRC32C.checksum(slice)
                #expect(hw == CRC32C.portable(Array(slice)), "length \(length) start \(start)")
                #expect(hw == referenceCRC32C(Array(slice)), "length \(length) start \(start)")
            }
        }
    }

    @Test func workedExampleChecksums() {
        #expect(CRC32C.checksum(Array("#GODIS-AOF 1 b 1 1764079273619 ".utf8)) == 0x9f9e_3259)
        #expect(CRC32C.checksum(Array("#GODIS-AOF 1 i 1 1764079273619 ".utf8)) == 0xf56d_257c)
        #expect(CRC32C.checksum(Array("#B 1 1 31 0 1764079273700 ".utf8) + WorkedExample.payload1) == 0xfa4c_cb26)
        #expect(CRC32C.checksum(Array("#B 2 2 44 0 1764079274105 ".utf8) + WorkedExample.payload2) == 0x9881_3aa2)
        #expect(CRC32C.checksum(Array(WorkedExample.manifestFile[27...])) == 0xe0ab_81b2)
    }
}

@Suite struct WorkedExampleTests {
    @Test func specHexDumpsMatchTheSpecText() throws {
        let dumps = try WorkedExample.hexDumpsFromSpec()
        try #require(dumps.count == 3, "docs/FORMAT.md has three hex dumps: base, incr, manifest")
        #expect(dumps[0] == WorkedExample.baseFile)
        #expect(dumps[1] == WorkedExample.incrFile)
        #expect(dumps[2] == WorkedExample.manifestFile)
        #expect(dumps[0].count == 41 && dumps[1].count == 188 && dumps[2].count == 154)
    }

    @Test func headersEncodeByteForByte() {
        #expect(SegmentHeader(type: .base, number: 1, createdAt: WorkedExample.created).encoded() == WorkedExample.baseFile)
        #expect(
            SegmentHeader(type: .incr, number: 1, createdAt: WorkedExample.created).encoded() == WorkedExample.incrHeader)
    }

    @Test func batchesEncodeByteForByte() {
        let p1 = Build.payload([["SET", "foo", "bar"]])
        let p2 = Build.payload([["SELECT", "1"], ["INCR", "n"]])
        #expect(p1 == WorkedExample.payload1)
        #expect(p2 == WorkedExample.payload2)
        #expect(
            BatchAnnotation.prefix(firstSeq: 1, count: 1, length: 31, db: 0, timestamp: WorkedExample.ts1)
                == Array("#B 1 1 31 0 1764079273700 ".utf8))
        let b1 = Build.batch(firstSeq: 1, db: 0, timestamp: WorkedExample.ts1, payload: p1, count: 1)
        let b2 = Build.batch(firstSeq: 2, db: 0, timestamp: WorkedExample.ts2, payload: p2, count: 2)
        #expect(b1 == WorkedExample.annotation1 + WorkedExample.payload1)
        #expect(b2 == WorkedExample.annotation2 + WorkedExample.payload2)
        let incr = SegmentHeader(type: .incr, number: 1, createdAt: WorkedExample.created).encoded() + b1 + b2
        #expect(incr == WorkedExample.incrFile)
        #expect(incr.count == 188)
    }

    @Test func manifestEncodesByteForByte() throws {
        #expect(WorkedExample.manifest.encoded() == WorkedExample.manifestFile)
        #expect(try Manifest.parse(WorkedExample.manifestFile) == WorkedExample.manifest)
    }

    @Test func incrSegmentScans() throws {
        let scan = SegmentReader.scan(WorkedExample.incrFile, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.validLength == 188)
        #expect(scan.header == SegmentHeader(type: .incr, number: 1, createdAt: WorkedExample.created))
        try #require(scan.batches.count == 2)
        #expect(scan.batches[0].offset == 41)
        #expect(scan.batches[0].payload == 77..<108)
        #expect(
            scan.batches[0].annotation
                == BatchAnnotation(firstSeq: 1, count: 1, length: 31, db: 0, timestamp: WorkedExample.ts1, crc: 0xfa4c_cb26))
        #expect(scan.batches[1].offset == 108)
        #expect(scan.batches[1].payload == 144..<188)
        #expect(
            scan.batches[1].annotation
                == BatchAnnotation(firstSeq: 2, count: 2, length: 44, db: 0, timestamp: WorkedExample.ts2, crc: 0x9881_3aa2))
        #expect(scan.batches[1].annotation.lastSeq == 3)
        let base = SegmentReader.scan(WorkedExample.baseFile)
        #expect(base.damage == nil && base.batches.isEmpty && base.validLength == 41)
        #expect(base.header?.type == .base)
    }

    @Test func workedExampleDirectoryLoadsAndReplays() throws {
        let fs = SimulatedFileSystem()
        fs.install("/d/" + Names.manifest, WorkedExample.manifestFile)
        fs.install("/d/" + Names.base1, WorkedExample.baseFile)
        fs.install("/d/" + Names.incr(1), WorkedExample.incrFile)
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean)
        #expect(loaded.lastSeq == 3)
        #expect(loaded.totalBytes == 41 + 188)
        let cmds = try replayedCommands(loaded)
        #expect(
            sameCommands(cmds, [(0, ["SET", "foo", "bar"]), (0, ["SELECT", "1"]), (1, ["INCR", "n"])]),
            "\(cmds)")
    }
}

@Suite struct SegmentRoundTripTests {
    @Test func headerWithOptionsRoundTrips() {
        let h = SegmentHeader(type: .base, number: 7, createdAt: 42, options: ["zeta": "1", "alpha": "x-y"])
        let bytes = h.encoded()
        #expect(bytes.text.hasPrefix("#GODIS-AOF 1 b 7 42 alpha=x-y zeta=1 "))
        #expect(bytes.text.hasSuffix("\r\n"))
        #expect(bytes.count == "#GODIS-AOF 1 b 7 42 alpha=x-y zeta=1 ".utf8.count + 10)
        let scan = SegmentReader.scan(bytes)
        #expect(scan.damage == nil)
        #expect(scan.header == h)
        #expect(scan.validLength == bytes.count)
    }

    static func randomArgument(_ rng: inout SplitMix64) -> [UInt8] {
        switch rng.below(4) {
        case 0: return []
        case 1: return Array("k\(rng.below(100))".utf8)
        case 2: return rng.bytes(rng.below(40))  // binary, may hold \r\n, #B, zeros
        default: return Array("\r\n#B 1 1 1 0 0 00000000\r\n".utf8)  // an annotation look-alike inside a value
        }
    }

    /// Random batches (binary values, annotation look-alikes, SELECTs): every annotation, payload range and command
    /// comes back from `scan` + `forEachCommand`.
    @Test(arguments: 1...20)
    func randomSegmentsRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var bytes = SegmentHeader(type: .incr, number: 1, createdAt: 5).encoded()
        var expected: [BatchLocation] = []
        var expectedCommands: [(db: Int, args: [[UInt8]])] = []
        var seq: UInt64 = 1
        for _ in 0..<(1 + rng.below(12)) {
            let db = rng.below(16)
            var currentDB = db
            var payload: [UInt8] = []
            let count = 1 + rng.below(5)
            for _ in 0..<count {
                var args: [[UInt8]]
                if rng.chance(1, in: 5) {
                    let target = rng.below(16)
                    args = [Array("SELECT".utf8), Array(String(target).utf8)]
                    expectedCommands.append((currentDB, args))
                    currentDB = target
                } else {
                    args = [Array("SET".utf8)] + (0..<(1 + rng.below(3))).map { _ in Self.randomArgument(&rng) }
                    expectedCommands.append((currentDB, args))
                }
                payload += Build.command(args)
            }
            let ts = Int64(rng.below(1 << 40))
            let start = bytes.count
            let batch = Build.batch(firstSeq: seq, db: db, timestamp: ts, payload: payload, count: count)
            bytes += batch
            let payloadStart = bytes.count - payload.count
            let crc = CRC32C.checksum(Array(batch[..<(batch.count - payload.count - 2 - 8)]) + payload)
            expected.append(
                BatchLocation(
                    annotation: BatchAnnotation(
                        firstSeq: seq, count: count, length: payload.count, db: db, timestamp: ts, crc: crc),
                    offset: start, payload: payloadStart..<bytes.count))
            seq += UInt64(count)
        }
        let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.validLength == bytes.count)
        #expect(scan.batches == expected)

        let fs = SimulatedFileSystem()
        let base = SegmentHeader(type: .base, number: 1, createdAt: 5).encoded()
        fs.install("/d/" + Names.base1, base)
        fs.install("/d/" + Names.incr(1), bytes)
        fs.install(
            "/d/" + Names.manifest,
            Manifest(entries: [
                ManifestEntry(name: Names.base1, number: 1, type: .base, startSeq: 1, endSeq: 0, size: base.count),
                ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1),
            ]).encoded())
        let loaded = try load(fs)
        #expect(loaded.outcome == .clean)
        #expect(loaded.lastSeq == seq - 1)
        var got: [(db: Int, args: [[UInt8]])] = []
        try loaded.forEachCommand(directory: "/d") { db, buffer, spans in
            got.append((db, spans.map { Array(UnsafeRawBufferPointer(rebasing: buffer[$0])) }))
        }
        #expect(got.count == expectedCommands.count)
        #expect(zip(got, expectedCommands).allSatisfy { $0.db == $1.db && $0.args == $1.args })
    }
}

/// One test per way a segment can be damaged. `seg` has a header and three batches.
@Suite struct SegmentDamageTests {
    static func threeBatches() -> SegmentBuilder {
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"], ["SET", "b", "2"]])
        s.add([["INCR", "a"], ["SELECT", "3"], ["APPEND", "b", "xyz"]], timestamp: 1_764_079_273_800)
        s.add([["DEL", "a"]], db: 3, timestamp: 1_764_079_273_900)
        return s
    }

    static func annotationLength(_ s: SegmentBuilder, _ i: Int) -> Int {
        var j = s.batchStarts[i]
        while !(s.bytes[j] == 13 && s.bytes[j + 1] == 10) { j += 1 }
        return j + 2 - s.batchStarts[i]
    }

    @Test func cleanSegment() {
        let s = Self.threeBatches()
        let scan = SegmentReader.scan(s.bytes, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.batches.count == 3)
        #expect(scan.validLength == s.bytes.count)
        #expect(scan.batches.map(\.offset) == s.batchStarts)
        #expect(scan.batches.map(\.end) == s.batchEnds)
        #expect(scan.batches.map(\.annotation.firstSeq) == [1, 3, 6])
    }

    @Test func emptyFileIsTornAtZero() {
        let scan = SegmentReader.scan([])
        #expect(scan.damage == .tornTail(offset: 0, reason: "empty file (no header)"))
        #expect(scan.validLength == 0)
    }

    @Test func tornTailInsideAnnotation() {
        let s = Self.threeBatches()
        let start = s.batchStarts[2]
        let annLen = Self.annotationLength(s, 2)
        for keep in 1..<annLen {  // every cut inside the last annotation, CR kept but LF lost included
            let cut = Array(s.bytes[..<(start + keep)])
            let scan = SegmentReader.scan(cut, expectFirstSeq: 1)
            #expect(scan.damage == .tornTail(offset: start, reason: "incomplete batch annotation"), "keep \(keep)")
            #expect(scan.validLength == start)
            #expect(scan.batches.count == 2)
        }
    }

    @Test func tornTailInsidePayload() {
        let s = Self.threeBatches()
        let start = s.batchStarts[2]
        let payloadStart = start + Self.annotationLength(s, 2)
        let length = s.batchEnds[2] - payloadStart
        for cutAt in payloadStart..<s.batchEnds[2] {
            let scan = SegmentReader.scan(Array(s.bytes[..<cutAt]), expectFirstSeq: 1)
            #expect(
                scan.damage
                    == .tornTail(offset: start, reason: "batch 6 needs \(length) payload bytes, \(cutAt - payloadStart) present"),
                "cut at \(cutAt)")
            #expect(scan.validLength == start)
            #expect(scan.batches.count == 2)
        }
    }

    @Test func zeroFilledTail() {
        let s = Self.threeBatches()
        for zeros in [1, 2, 100, 4096] {
            let scan = SegmentReader.scan(s.bytes + [UInt8](repeating: 0, count: zeros), expectFirstSeq: 1)
            #expect(scan.damage == .tornTail(offset: s.bytes.count, reason: "zero-filled tail of \(zeros) bytes"))
            #expect(scan.validLength == s.bytes.count)
            #expect(scan.batches.count == 3)
        }
        // A segment that is only a header and zeros.
        let header = SegmentHeader(type: .incr, number: 1, createdAt: 1).encoded()
        let scan = SegmentReader.scan(header + [0, 0, 0])
        #expect(scan.damage == .tornTail(offset: header.count, reason: "zero-filled tail of 3 bytes"))
    }

    /// The file system extended the file for the last write but kept only part of it: a partial batch, then zeros
    /// up to the batch's full length (or beyond).
    @Test func partialBatchFollowedByZeros() {
        let s = Self.threeBatches()
        let start = s.batchStarts[2]
        let annLen = Self.annotationLength(s, 2)
        let payloadStart = start + annLen
        let length = s.batchEnds[2] - payloadStart
        for keep in 1..<(s.batchEnds[2] - start) {
            var bytes = Array(s.bytes[..<(start + keep)])
            bytes += [UInt8](repeating: 0, count: s.batchEnds[2] - start - keep + (keep % 3) * 50)
            let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
            #expect(scan.validLength == start, "keep \(keep)")
            #expect(scan.batches.count == 2)
            if keep < annLen {
                #expect(scan.damage == .tornTail(offset: start, reason: "incomplete batch annotation"), "keep \(keep)")
            } else {
                // Trailing zeros of a kept payload prefix do not count as present (the payload ends with "\n").
                var present = keep - annLen
                while present > 0 && s.bytes[payloadStart + present - 1] == 0 { present -= 1 }
                #expect(
                    scan.damage
                        == .tornTail(offset: start, reason: "batch 6 needs \(length) payload bytes, \(present) present"),
                    "keep \(keep)")
            }
        }
    }

    /// A flipped bit anywhere in a batch that is followed by more data is corruption at that batch's offset.
    @Test func bitFlipMidFileIsCorruptAtThatBatch() {
        let s = Self.threeBatches()
        let start = s.batchStarts[1]
        var checked = 0
        for offset in start..<s.batchEnds[1] {
            for mask: UInt8 in [0x01, 0x10, 0x80] {
                let bytes = s.bytes.flippingByte(at: offset, mask: mask)
                let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
                #expect(scan.validLength == start, "flip \(mask) at \(offset)")
                #expect(scan.batches.count == 1)
                guard case .corrupt(let at, _)? = scan.damage else {
                    Issue.record("flip \(mask) at \(offset): \(String(describing: scan.damage))")
                    continue
                }
                #expect(at == start)
                checked += 1
            }
        }
        #expect(checked == (s.batchEnds[1] - start) * 3)
        // The reason of a flip in the payload names the batch and both checksums.
        let flipped = s.bytes.flippingByte(at: s.batchEnds[1] - 5)
        let scan = SegmentReader.scan(flipped, expectFirstSeq: 1)
        let stored = CRC32C.hex(SegmentReader.scan(s.bytes).batches[1].annotation.crc)
        guard case .corrupt(let at, let reason)? = scan.damage else {
            Issue.record("\(String(describing: scan.damage))")
            return
        }
        #expect(at == start)
        #expect(reason.hasPrefix("checksum mismatch in batch 3 (stored \(stored), computed "))
    }

    /// The last batch ends exactly at EOF but its checksum is wrong: the last write was only partly persisted.
    @Test func checksumMismatchOnLastBatchAtEOFIsTorn() {
        let s = Self.threeBatches()
        let start = s.batchStarts[2]
        let bytes = s.bytes.flippingByte(at: s.bytes.count - 3)
        let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
        guard case .tornTail(let at, let reason)? = scan.damage else {
            Issue.record("\(String(describing: scan.damage))")
            return
        }
        #expect(at == start)
        #expect(reason.hasPrefix("checksum mismatch in batch 6"))
        #expect(scan.validLength == start)
        // Same batch followed by one more byte of data: corruption, not a torn tail.
        let more = SegmentReader.scan(bytes + [0x2A], expectFirstSeq: 1)
        #expect(more.damage?.offset == start)
        if case .corrupt? = more.damage {} else { Issue.record("expected corrupt, got \(String(describing: more.damage))") }
    }

    @Test func sequenceGapIsCorrupt() {
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        s.nextSeq = 5
        s.add([["SET", "b", "2"]])
        s.add([["SET", "c", "3"]])
        let scan = SegmentReader.scan(s.bytes, expectFirstSeq: 1)
        #expect(scan.damage == .corrupt(offset: s.batchStarts[1], reason: "sequence gap: expected batch 2, found 5"))
        #expect(scan.validLength == s.batchStarts[1])
        // A gap in the last batch is corruption too (its checksum is good: not a torn write).
        var t = SegmentBuilder()
        t.add([["SET", "a", "1"]])
        t.nextSeq = 3
        t.add([["SET", "b", "2"]])
        #expect(
            SegmentReader.scan(t.bytes, expectFirstSeq: 1).damage
                == .corrupt(offset: t.batchStarts[1], reason: "sequence gap: expected batch 2, found 3"))
        // The first batch must start at the segment's expected first record.
        #expect(
            SegmentReader.scan(t.bytes, expectFirstSeq: 7).damage
                == .corrupt(offset: t.batchStarts[0], reason: "sequence gap: expected batch 7, found 1"))
    }

    /// Annotations that do not parse, with a checksum made valid (so only the parse can catch them), followed by
    /// more data.
    @Test(arguments: [
        ("#B 2 x 1 0 5 ", "count not a number"),
        ("#B 2 0 0 0 5 ", "count zero"),
        ("#B 2 1 0 0 ", "too few fields"),
        ("#C 2 1 0 0 5 ", "wrong tag"),
        ("#B 2 1 0 -1 5 ", "negative db"),
        ("#B 2 1 -4 0 5 ", "negative length"),
        ("#B  2 1 0 0 5 ", "two spaces"),
    ])
    func malformedAnnotationIsCorrupt(prefix: String, why: String) {
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        let at = s.bytes.count
        var bad = Array(prefix.utf8)
        bad += Array(CRC32C.hex(CRC32C.checksum(bad)).utf8) + [13, 10]
        let after = Build.batch(firstSeq: 2, [["SET", "b", "2"]])
        let scan = SegmentReader.scan(s.bytes + bad + after, expectFirstSeq: 1)
        #expect(scan.damage == .corrupt(offset: at, reason: "malformed batch annotation"), "\(why)")
        #expect(scan.validLength == at)
    }

    /// Edits in place with a recomputed checksum (`fixChecksum`), so that only the check under test can catch them.
    @Test func byteSurgeryWithFixedChecksums() throws {
        let s = Self.threeBatches()
        // Sequence gap: batch 2's first-seq 3 -> 4.
        var gap = s.bytes
        #expect(gap[s.batchStarts[1] + 3] == UInt8(ascii: "3"))
        gap.overwrite(at: s.batchStarts[1] + 3, with: "4")
        #expect(SegmentReader.scan(gap, expectFirstSeq: 1).damage?.reason.hasPrefix("checksum mismatch") == true)
        gap.fixChecksum(lineAt: s.batchStarts[1])
        #expect(
            SegmentReader.scan(gap, expectFirstSeq: 1).damage
                == .corrupt(offset: s.batchStarts[1], reason: "sequence gap: expected batch 3, found 4"))
        // Malformed: batch 2's count 3 -> x.
        var malformed = s.bytes
        malformed.overwrite(at: s.batchStarts[1] + 5, with: "x")
        malformed.fixChecksum(lineAt: s.batchStarts[1])
        #expect(
            SegmentReader.scan(malformed, expectFirstSeq: 1).damage
                == .corrupt(offset: s.batchStarts[1], reason: "malformed batch annotation"))
        // Newer major version in the header, checksum fixed.
        var newer = s.bytes
        newer.overwrite(at: 11, with: "2")
        newer.fixChecksum(lineAt: 0)
        #expect(SegmentReader.scan(newer).damage?.offset == 0)
        #expect(SegmentReader.scan(newer).damage?.reason.contains("format 2") == true)
        // A last batch that declares 2 records and holds 1: the segment scans clean (the scan does not parse
        // payloads), the loader's replay refuses it.
        var lying = s.bytes
        #expect(lying[s.batchStarts[2] + 5] == UInt8(ascii: "1"))
        lying.overwrite(at: s.batchStarts[2] + 5, with: "2")
        lying.fixChecksum(lineAt: s.batchStarts[2])
        #expect(SegmentReader.scan(lying, expectFirstSeq: 1).damage == nil)
        let fs = SimulatedFileSystem()
        LogDirectory.install(fs, incr: lying)
        #expect(
            loadError { try load(fs).forEachCommand(directory: "/d") { _, _, _ in } }
                == LogLoadError(
                    file: Names.incr(1), offset: s.batchStarts[2], reason: "batch 6 declares 2 records and holds 1",
                    directory: "/d"))
        // Torn: the last 3 bytes cut.
        #expect(SegmentReader.scan(s.bytes.truncated(by: 3), expectFirstSeq: 1).damage?.offset == s.batchStarts[2])
    }

    /// Unannotated commands (what a stock Redis appends) are corruption, not a torn tail.
    @Test func redisAppendedCommandIsCorrupt() {
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        let at = s.bytes.count
        let raw = Build.command(["SET", "b", "2"])
        let scan = SegmentReader.scan(s.bytes + raw + raw, expectFirstSeq: 1)
        #expect(scan.damage == .corrupt(offset: at, reason: "malformed batch annotation"))
    }

    /// A line of 255 bytes (CRLF included) is an annotation; 256 bytes followed by data is corruption.
    @Test func annotationLineLengthLimit() {
        func batchWithLineLength(_ target: Int) -> [UInt8] {
            let payload = Build.payload([["SET", "b", "2"]])
            let fixed = BatchAnnotation.prefix(
                firstSeq: 2, count: 1, length: payload.count, db: 0, timestamp: 1_764_079_273_700).count
            let padding = target - fixed - 10 - 1  // "k=" + value + space
            let option = "k=" + String(repeating: "v", count: padding - 2)
            return Build.batch(
                firstSeq: 2, db: 0, timestamp: 1_764_079_273_700, payload: payload, count: 1, extraTokens: [option])
        }
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        let ok = batchWithLineLength(255)
        #expect(ok.firstIndex(of: 10)! + 1 == 255)
        let third = Build.batch(firstSeq: 3, [["SET", "c", "3"]])
        let good = SegmentReader.scan(s.bytes + ok + third, expectFirstSeq: 1)
        #expect(good.damage == nil)
        #expect(good.batches.count == 3)
        let long = batchWithLineLength(256)
        #expect(long.firstIndex(of: 10)! + 1 == 256)
        let bad = SegmentReader.scan(s.bytes + long + third, expectFirstSeq: 1)
        #expect(bad.damage == .corrupt(offset: s.bytes.count, reason: "expected a batch annotation"))
    }

    @Test func unknownOptionalTokensAreSkipped() throws {
        let header = Build.header(
            version: 1, type: "i", number: 1, createdAt: 9, options: ["x-future=1", "zz_top=a=b"])
        let payload = Build.payload([["SET", "a", "1"]])
        let batch = Build.batch(
            firstSeq: 1, db: 2, timestamp: 77, payload: payload, count: 1, extraTokens: ["ttl-hint=5", "foo_bar=x"])
        let scan = SegmentReader.scan(header + batch, expectFirstSeq: 1)
        #expect(scan.damage == nil)
        #expect(scan.header?.options == ["x-future": "1", "zz_top": "a=b"])
        try #require(scan.batches.count == 1)
        let a = scan.batches[0].annotation
        #expect(a.firstSeq == 1 && a.count == 1 && a.length == payload.count && a.db == 2 && a.timestamp == 77)
        #expect(scan.batches[0].payload == (scan.batches[0].end - payload.count)..<(header.count + batch.count))
    }

    @Test func headerDamage() {
        let good = SegmentHeader(type: .incr, number: 1, createdAt: 9).encoded()
        #expect(SegmentReader.scan(good.flippingByte(at: 17)).damage == .corrupt(offset: 0, reason: "header checksum mismatch"))
        #expect(
            SegmentReader.scan(Build.command(["SELECT", "0"])).damage
                == .corrupt(offset: 0, reason: "not a Godis segment (no #GODIS-AOF header)"))
        #expect(SegmentReader.scan(Array(good[..<20])).damage == .tornTail(offset: 0, reason: "incomplete header line"))
        let fieldsBad = Build.header(version: 1, type: "x", number: 1, createdAt: 9)
        #expect(SegmentReader.scan(fieldsBad).damage == .corrupt(offset: 0, reason: "header fields do not parse"))
        #expect(
            SegmentReader.scan(Array("#GODIS-AOF 1 i 1 0000000a\r\n".utf8)).damage
                == .corrupt(offset: 0, reason: "header has too few fields"))
        // 300 bytes without CRLF: not an interrupted header write.
        #expect(
            SegmentReader.scan([UInt8](repeating: 0x41, count: 300)).damage
                == .corrupt(offset: 0, reason: "no header line"))
    }

    /// docs/FORMAT.md: a newer major version is refused with `written by format N, this build reads format 1`.
    @Test func newerMajorVersionInHeader() {
        let v2 = Build.header(version: 2, type: "i", number: 1, createdAt: 9)
        let scan = SegmentReader.scan(v2 + Build.batch(firstSeq: 1, [["SET", "a", "1"]]))
        guard case .corrupt(let at, let reason)? = scan.damage else {
            Issue.record("\(String(describing: scan.damage))")
            return
        }
        #expect(at == 0)
        #expect(reason.contains("format 2") && reason.contains("format 1"), "names both versions: \(reason)")
        // The exact wording the spec gives (twice) and Manifest.parse uses.
        #expect(reason.contains("written by format 2, this build reads format 1"), "spec wording: \(reason)")
        #expect(scan.batches.isEmpty && scan.validLength == 0)
    }

    /// A major version bump may change the header's layout or checksum; the reader must still say which format
    /// wrote the file rather than "header checksum mismatch" (Manifest.parse checks the version first, too).
    @Test func newerMajorVersionWithDifferentLayoutNamesTheVersion() {
        let v2 = Array("#GODIS-AOF 2 i 1 9 sha256=0123456789abcdef\r\n".utf8)
        let scan = SegmentReader.scan(v2)
        #expect(scan.damage?.offset == 0)
        #expect(
            scan.damage?.reason.contains("format 2") == true,
            "a v2 header is reported as: \(String(describing: scan.damage))")
    }

    /// docs/FORMAT.md, Snapshots: readers skip unknown options but must refuse any `encoding` they cannot decode.
    @Test(arguments: ["encoding=zlib", "encoding=lz4"])
    func unknownEncodingIsRefused(option: String) {
        let header = Build.header(version: 1, type: "b", number: 1, createdAt: 9, options: [option])
        let scan = SegmentReader.scan(header + Build.batch(firstSeq: 1, [["SET", "a", "1"]]))
        guard case .corrupt(let at, let reason)? = scan.damage else {
            Issue.record("a base with \(option) is accepted: \(String(describing: scan.damage))")
            return
        }
        #expect(at == 0)
        #expect(reason.contains("encoding"))
    }

    /// docs/FORMAT.md, Conventions: numbers have no sign and no leading zeros. These annotations carry a valid
    /// checksum, so only the parser can reject them.
    @Test(arguments: ["#B 02 1 LEN 0 5 ", "#B +2 1 LEN 0 5 ", "#B 2 1 LEN 00 5 ", "#B 2 1 LEN 0 -5 "])
    func nonCanonicalNumbersAreMalformed(template: String) {
        var s = SegmentBuilder()
        s.add([["SET", "a", "1"]])
        let at = s.bytes.count
        let payload = Build.payload([["SET", "b", "2"]])
        var line = Array(template.replacing("LEN", with: String(payload.count)).utf8)
        line += Array(CRC32C.hex(CRC32C.checksum(line + payload)).utf8) + [13, 10]
        let after = Build.batch(firstSeq: 3, [["SET", "c", "3"]])
        let scan = SegmentReader.scan(s.bytes + line + payload + after, expectFirstSeq: 1)
        #expect(scan.damage == .corrupt(offset: at, reason: "malformed batch annotation"), "\(template)")
    }

    /// An annotation whose `length` is near Int.max must be reported, not crash the process (integer overflow in
    /// `payloadStart + ann.length`, Segment.swift). Runs in a child process.
    @Test func hugeLengthDoesNotCrash() async {
        await #expect(processExitsWith: .success) {
            var bytes = SegmentHeader(type: .incr, number: 1, createdAt: 1).encoded()
            var line = Array("#B 1 1 9223372036854775807 0 5 ".utf8)
            line += Array(CRC32C.hex(CRC32C.checksum(line)).utf8) + [13, 10]
            bytes += line + Array("*1\r\n$4\r\nPING\r\n".utf8)
            let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
            precondition(scan.damage != nil)
        }
    }
}
