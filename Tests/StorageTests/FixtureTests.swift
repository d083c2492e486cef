import Engine
import RESP
@testable import Storage
import Testing

/// Fixtures/: a golden v1 log directory and damaged variants of it, written by Tools/make-fixtures.py (see
/// Fixtures/README.md). These tests rebuild the same bytes with the Storage encoders and with a real Engine
/// writing through AppendLog, so that a change of the on-disk format is never accidental, and they pin what loading
/// each damaged variant must report.
enum Golden {
    static let created: Int64 = 1_764_079_273_619
    static let timestamps: [Int64] = [1_764_079_273_700, 1_764_079_273_800, 1_764_079_273_900, 1_764_079_274_000]
    static let binary: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0x23, 0x42, 0x20]

    static func s(_ t: String) -> [UInt8] { Array(t.utf8) }

    /// What the client runs, tick by tick, and in which db the tick starts.
    static let ticks: [[[[UInt8]]]] = [
        [[s("SET"), s("greeting"), s("hello")], [s("SET"), s("counter"), s("10")]],
        [[s("INCR"), s("counter")], [s("APPEND"), s("greeting"), s(" world")], [s("SELECT"), s("1")], [s("SET"), s("k1"), s("v1")]],
        [[s("PEXPIREAT"), s("k1"), s("4102444800000")], [s("SET"), s("bin"), binary], [s("DEL"), s("nosuchkey")]],
        [[s("SELECT"), s("0")], [s("DEL"), s("greeting")], [s("SET"), s("counter"), s("99")]],
    ]

    /// What the log holds: one batch per tick (first seq, db, records).
    static let batches: [(firstSeq: UInt64, db: Int, records: [[[UInt8]]])] = [
        (1, 0, [[s("SET"), s("greeting"), s("hello")], [s("SET"), s("counter"), s("10")]]),
        (3, 0, [[s("INCR"), s("counter")], [s("APPEND"), s("greeting"), s(" world")], [s("SELECT"), s("1")], [s("SET"), s("k1"), s("v1")]]),
        (7, 1, [[s("PEXPIREAT"), s("k1"), s("4102444800000")], [s("SET"), s("bin"), binary]]),
        (9, 1, [[s("SELECT"), s("0")], [s("DEL"), s("greeting")], [s("SET"), s("counter"), s("99")]]),
    ]

    static var baseBytes: [UInt8] { SegmentHeader(type: .base, number: 1, createdAt: created).encoded() }

    static func batchBytes(_ i: Int) -> [UInt8] {
        let b = batches[i]
        let payload = b.records.flatMap { RESPEncoder.command($0) }
        return Build.batch(firstSeq: b.firstSeq, db: b.db, timestamp: timestamps[i], payload: payload, count: b.records.count)
    }

    static var incrBytes: [UInt8] {
        SegmentHeader(type: .incr, number: 1, createdAt: created).encoded() + (0..<batches.count).flatMap { batchBytes($0) }
    }

    static var batchStarts: [Int] {
        var starts: [Int] = []
        var pos = SegmentHeader(type: .incr, number: 1, createdAt: created).encoded().count
        for i in 0..<batches.count {
            starts.append(pos)
            pos += batchBytes(i).count
        }
        return starts
    }

    static var manifestBytes: [UInt8] {
        Manifest(entries: [
            ManifestEntry(name: Names.base1, number: 1, type: .base, startSeq: 1, endSeq: 0, size: baseBytes.count),
            ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1),
        ]).encoded()
    }

    static var files: [String: [UInt8]] {
        [Names.manifest: manifestBytes, Names.base1: baseBytes, Names.incr(1): incrBytes]
    }

    /// The damaged variants, rebuilt from the golden bytes as Fixtures/README.md describes them.
    static var variants: [String: [String: [UInt8]]] {
        var out: [String: [String: [UInt8]]] = ["golden-v1": files]
        var torn = files
        torn[Names.incr(1)] = incrBytes + tornFifthBatch
        out["torn-tail"] = torn
        var zero = files
        zero[Names.incr(1)] = incrBytes + [UInt8](repeating: 0, count: 512)
        out["zero-tail"] = zero
        var flip = files
        flip[Names.incr(1)] = incrBytes.flippingByte(at: flippedOffset)
        out["bitflip-mid"] = flip
        out["missing-segment"] = [Names.manifest: manifestBytes, Names.base1: baseBytes]
        var future = files
        future[Names.incr(1)] =
            Build.header(version: 2, type: "i", number: 1, createdAt: created) + (0..<batches.count).flatMap { batchBytes($0) }
        out["future-version"] = future
        return out
    }

    static let fifthPayload = RESPEncoder.command(["SET", "torn", "yes"])
    static var tornFifthBatch: [UInt8] {
        Array(Build.batch(firstSeq: 12, db: 0, timestamp: 1_764_079_274_100, payload: fifthPayload, count: 1).dropLast(5))
    }
    /// The "w" of " world", in batch 2's payload.
    static var flippedOffset: Int { incrBytes.range(of: " world")!.lowerBound + 1 }

    /// The keyspace after the golden log, as LoggedEngine.snapshot() prints it.
    static let expectedSnapshot = [
        "db0 636f756e746572 = 3939 expireat -1",
        "db1 62696e = 00ff0d0a234220 expireat -1",
        "db1 6b31 = 7631 expireat 4102444800000",
    ]

    static func directory(_ name: String) -> String { Paths.fixtures + "/" + name + "/appendonlydir" }

    /// Reads a fixture directory from the repository into a simulated file system at /d (never loading the
    /// checked-in files in place: a load may cut a torn tail).
    static func install(_ name: String) throws -> SimulatedFileSystem {
        let real = PosixFileSystem()
        let fs = SimulatedFileSystem()
        for file in try real.listDirectory(directory(name)) {
            fs.install("/d/" + file, try real.readFile(directory(name) + "/" + file))
        }
        return fs
    }
}

@Suite struct FixtureTests {
    /// The checked-in directories equal what the Storage encoders produce today, file by file, byte by byte.
    @Test(arguments: ["golden-v1", "torn-tail", "zero-tail", "bitflip-mid", "missing-segment", "future-version"])
    func fixtureIsByteForByte(name: String) throws {
        let expected = try #require(Golden.variants[name])
        let real = PosixFileSystem()
        let dir = Golden.directory(name)
        #expect(try real.listDirectory(dir) == expected.keys.sorted())
        for (file, bytes) in expected {
            let onDisk = try real.readFile(dir + "/" + file)
            #expect(onDisk == bytes, "\(name)/\(file) differs from the encoders' output: the format changed")
        }
    }

    @Test func goldenLayout() {
        #expect(Golden.ticks.count == 4)
        #expect(Golden.incrBytes.count == 545)
        #expect(Golden.batchStarts == [41, 149, 307, 425])
        #expect(Golden.flippedOffset == 248)
        #expect(Golden.manifestBytes == WorkedExample.manifestFile)
        #expect(Golden.baseBytes == WorkedExample.baseFile)
    }

    /// A real Engine, writing through AppendLog with the same timestamps, produces the golden directory.
    @Test func engineWritesTheGoldenLog() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .always, now: Golden.created)
        let server = try LoggedEngine(log: log, loaded: loaded)
        for (i, tick) in Golden.ticks.enumerated() {
            for command in tick {
                let reply = server.run(command)
                if case .error(let e) = reply { Issue.record("\(command): \(e)") }
            }
            log.flush(now: Golden.timestamps[i])
            #expect(log.syncInline())
        }
        for (file, bytes) in Golden.files {
            #expect(fs.cachedContents("/d/" + file) == bytes, "\(file)")
        }
        #expect(server.snapshot() == Golden.expectedSnapshot)
    }

    @Test func goldenLoadsCleanAndReplays() throws {
        let fs = try Golden.install("golden-v1")
        let (log, loaded) = try openLog(fs, policy: .always)
        #expect(loaded.outcome == .clean)
        #expect(loaded.lastSeq == 11)
        #expect(loaded.segments.map(\.entry.name) == [Names.base1, Names.incr(1)])
        let server = try LoggedEngine(log: log, loaded: loaded)
        #expect(server.snapshot() == Golden.expectedSnapshot)
        #expect(fs.fileNames(in: "/d") == [Names.base1, Names.incr(1), Names.manifest], "nothing created or cut")
    }

    @Test func tornTailFixture() throws {
        let fs = try Golden.install("torn-tail")
        #expect(Golden.tornFifthBatch.count == 64 && Golden.fifthPayload.count == 32)
        #expect(
            loadError { _ = try load(fs, allowTruncatedTail: false) }
                == LogLoadError(
                    file: Names.incr(1), offset: 545,
                    reason: "batch 12 needs 32 payload bytes, 27 present (aof-load-truncated is off)",
                    directory: "/d"))
        let loaded = try load(fs)
        #expect(
            loaded.outcome
                == .truncatedTail(
                    file: Names.incr(1), validUpTo: 545, droppedBytes: 64,
                    reason: "batch 12 needs 32 payload bytes, 27 present"))
        #expect(loaded.lastSeq == 11)
        #expect(fs.cachedContents("/d/" + Names.incr(1)) == Golden.incrBytes)
        #expect(fs.cachedContents("/d/" + Names.incr(1) + ".torn-545") == Golden.tornFifthBatch)
    }

    @Test func tornTailFixtureOnTheRealFileSystem() throws {
        let root = makeTempDirectory()
        defer { removeTree(root) }
        let real = PosixFileSystem()
        let dir = root + "/appendonlydir"
        try real.createDirectory(dir)
        for file in try real.listDirectory(Golden.directory("torn-tail")) {
            try writeRealFile(dir + "/" + file, try real.readFile(Golden.directory("torn-tail") + "/" + file))
        }
        let (log, loaded) = try openLog(real, directory: dir, policy: .always)
        log.close(now: 1)
        #expect(loaded.lastSeq == 11)
        #expect(try real.fileSize(dir + "/" + Names.incr(1)) == 545)
        #expect(try real.readFile(dir + "/" + Names.incr(1) + ".torn-545") == Golden.tornFifthBatch)
        #expect(try load(real, directory: dir).outcome == .clean)
    }

    @Test func zeroTailFixture() throws {
        let fs = try Golden.install("zero-tail")
        let loaded = try load(fs)
        #expect(
            loaded.outcome
                == .truncatedTail(file: Names.incr(1), validUpTo: 545, droppedBytes: 512, reason: "zero-filled tail of 512 bytes"))
        #expect(loaded.lastSeq == 11)
        #expect(fs.cachedContents("/d/" + Names.incr(1)) == Golden.incrBytes)
        #expect(fs.cachedContents("/d/" + Names.incr(1) + ".torn-545") == [UInt8](repeating: 0, count: 512))
        #expect(
            loadError { _ = try load(try Golden.install("zero-tail"), allowTruncatedTail: false) }
                == LogLoadError(
                    file: Names.incr(1), offset: 545, reason: "zero-filled tail of 512 bytes (aof-load-truncated is off)",
                    directory: "/d"))
    }

    @Test func bitflipMidFixture() throws {
        let fs = try Golden.install("bitflip-mid")
        let e = loadError { _ = try load(fs) }
        #expect(
            e == LogLoadError(
                file: Names.incr(1), offset: 149,
                reason: "checksum mismatch in batch 3 (stored 6ce08817, computed 58a105a3)", directory: "/d"))
        #expect(e?.description.contains("godis-aof recover /d") == true)
        // Refused whatever aof-load-truncated says, and nothing changed.
        #expect(loadError { _ = try load(fs, allowTruncatedTail: false) } == e)
        #expect(fs.fileNames(in: "/d") == [Names.base1, Names.incr(1), Names.manifest])
        #expect(fs.cachedContents("/d/" + Names.incr(1)) == Golden.incrBytes.flippingByte(at: Golden.flippedOffset))
    }

    @Test func missingSegmentFixture() throws {
        let fs = try Golden.install("missing-segment")
        #expect(
            loadError { _ = try load(fs) }
                == LogLoadError(
                    file: Names.incr(1), offset: 0, reason: "segment listed in the manifest is missing", directory: "/d"))
        #expect(fs.fileNames(in: "/d") == [Names.base1, Names.manifest], "not recreated")
    }

    @Test func futureVersionFixture() throws {
        let fs = try Golden.install("future-version")
        let e = loadError { _ = try load(fs) }
        #expect(e?.file == Names.incr(1))
        #expect(e?.offset == 0)
        #expect(e?.reason.contains("written by format 2, this build reads format 1") == true, "\(String(describing: e))")
        #expect(loadError { _ = try load(fs, allowTruncatedTail: false) } == e)
    }
}
