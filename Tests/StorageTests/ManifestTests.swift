@testable import Storage
import Testing

@Suite struct ManifestTests {
    static let sample = Manifest(entries: [
        ManifestEntry(name: Names.base1, number: 1, type: .base, startSeq: 1, endSeq: 0, size: 41),
        ManifestEntry(name: Names.incr(1), number: 1, type: .incr, startSeq: 1, endSeq: 120, size: 9000),
        ManifestEntry(name: Names.incr(2), number: 2, type: .incr, startSeq: 121, endSeq: 120, size: 41),
        ManifestEntry(name: Names.incr(3), number: 3, type: .incr, startSeq: 121),
    ])

    @Test func roundTrip() throws {
        let bytes = Self.sample.encoded()
        #expect(try Manifest.parse(bytes) == Self.sample)
        let lines = bytes.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6 && lines.last == "")
        #expect(lines[3] == "file appendonly.aof.2.incr.aof seq 2 type i startseq 121 endseq 120 size 41")
        #expect(lines[4] == "file appendonly.aof.3.incr.aof seq 3 type i startseq 121")
        #expect(lines.allSatisfy { $0.utf8.count < 1024 })
        let parsed = try Manifest.parse(bytes)
        #expect(parsed.base?.name == Names.base1)
        #expect(parsed.incrementals.map(\.number) == [1, 2, 3])
        #expect(parsed.incrementals.map(\.isClosed) == [true, true, false])
    }

    @Test func checksumLineCoversEverythingAfterIt() {
        let bytes = Self.sample.encoded()
        let nl = bytes.firstIndex(of: 10)!
        #expect(Array(bytes[..<nl]).text == "#GODIS-MANIFEST 1 \(CRC32C.hex(CRC32C.checksum(Array(bytes[(nl + 1)...]))))")
    }

    /// Any single flipped bit after the first line is caught by the checksum.
    @Test func checksumMismatch() {
        let bytes = WorkedExample.manifestFile
        for offset in 27..<bytes.count {
            let bad = bytes.flippingByte(at: offset, mask: 0x04)
            #expect(throws: Manifest.ParseError(line: 1, reason: "manifest checksum mismatch"), "offset \(offset)") {
                try Manifest.parse(bad)
            }
        }
        // A wrong checksum digit, and a truncated manifest.
        var badCRC = bytes
        badCRC.overwrite(at: 18, with: "f")
        #expect(throws: Manifest.ParseError(line: 1, reason: "manifest checksum mismatch")) { try Manifest.parse(badCRC) }
        #expect(throws: Manifest.ParseError(line: 1, reason: "manifest checksum mismatch")) {
            try Manifest.parse(bytes.truncated(by: 1))
        }
        #expect(throws: Manifest.ParseError(line: 1, reason: "manifest checksum mismatch")) {
            try Manifest.parse(bytes + Array("file x seq 9 type i\n".utf8))
        }
    }

    @Test func parseErrors() {
        #expect(throws: Manifest.ParseError(line: 1, reason: "no header line")) { try Manifest.parse([]) }
        #expect(throws: Manifest.ParseError(line: 1, reason: "no header line")) {
            try Manifest.parse(Array("#GODIS-MANIFEST 1 00000000".utf8))
        }
        // A stock Redis manifest (no checksum line).
        #expect(throws: Manifest.ParseError(line: 1, reason: "not a Godis manifest (no #GODIS-MANIFEST line)")) {
            try Manifest.parse(Array("file appendonly.aof.1.base.rdb seq 1 type b\n".utf8))
        }
        #expect(throws: Manifest.ParseError(line: 1, reason: "bad version")) {
            try Manifest.parse(Array("#GODIS-MANIFEST one 00000000\n".utf8))
        }
        #expect(throws: Manifest.ParseError(line: 3, reason: "odd number of tokens")) {
            try Manifest.parse(Build.manifest(lines: [
                "file appendonly.aof.1.base.aof seq 1 type b startseq 1 endseq 0 size 41",
                "file appendonly.aof.1.incr.aof seq 1 type i startseq",
            ]))
        }
        #expect(throws: Manifest.ParseError(line: 2, reason: "missing file, seq or type")) {
            try Manifest.parse(Build.manifest(lines: ["file appendonly.aof.1.incr.aof seq 1 startseq 1"]))
        }
        #expect(throws: Manifest.ParseError(line: 2, reason: "missing file, seq or type")) {
            try Manifest.parse(Build.manifest(lines: ["file appendonly.aof.1.incr.aof seq one type i startseq 1"]))
        }
        #expect(throws: Manifest.ParseError(line: 2, reason: "missing file, seq or type")) {
            try Manifest.parse(Build.manifest(lines: ["file appendonly.aof.1.incr.aof seq 1 type x startseq 1"]))
        }
        #expect(throws: Manifest.ParseError(line: 2, reason: "file name with a path")) {
            try Manifest.parse(Build.manifest(lines: ["file ../etc/passwd seq 1 type i startseq 1"]))
        }
        #expect(Manifest.ParseError(line: 3, reason: "odd number of tokens").description == "line 3: odd number of tokens")
    }

    @Test func newerVersionIsRefusedWithTheSpecMessage() {
        #expect(throws: Manifest.ParseError(line: 1, reason: "written by format 2, this build reads format 1")) {
            try Manifest.parse(Build.manifest(lines: ["file appendonly.aof.1.incr.aof seq 1 type i startseq 1"], version: 2))
        }
    }

    /// Redis syntax: unknown key/value pairs are skipped, `#` lines are comments.
    @Test func unknownPairsAndCommentsAreSkipped() throws {
        let m = try Manifest.parse(Build.manifest(lines: [
            "# written by a future Godis",
            "file appendonly.aof.1.base.aof seq 1 type b startseq 1 endseq 0 size 41 zstd-level 3",
            "future-key future-value file appendonly.aof.1.incr.aof seq 1 type i startseq 1",
        ]))
        #expect(m == WorkedExample.manifest)
    }
}
