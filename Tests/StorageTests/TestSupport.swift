import Logging
import RESP
import Storage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Logging off in tests (the loader warns on every torn tail).
let quietLogger: Logger = {
    var l = Logger(label: "godis.storage.tests", factory: { _ in SwiftLogNoOpLogHandler() })
    l.logLevel = .critical
    return l
}()

enum Paths {
    /// The repository root, found from this file's path (Tests/StorageTests/TestSupport.swift).
    static let repoRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static var fixtures: String { repoRoot + "/Fixtures" }
    static var formatDoc: String { repoRoot + "/docs/FORMAT.md" }
}

/// The names the default configuration uses.
enum Names {
    static let prefix = "appendonly.aof"
    static let manifest = "appendonly.aof.manifest"
    static let base1 = "appendonly.aof.1.base.aof"
    static func incr(_ n: Int) -> String { "appendonly.aof.\(n).incr.aof" }
}

// MARK: Building segments by hand (independently of AppendLog)

enum Build {
    static func command(_ args: [String]) -> [UInt8] { RESPEncoder.command(args) }
    static func command(_ args: [[UInt8]]) -> [UInt8] { RESPEncoder.command(args) }

    static func payload(_ commands: [[String]]) -> [UInt8] { commands.flatMap { command($0) } }

    /// A complete batch (annotation + payload) through the public `BatchAnnotation.prefix`. `extraTokens` are
    /// inserted between the fixed fields and the checksum (optional `key=value` tokens). `count` defaults to the
    /// number of records in the payload; pass another value to build a lying annotation.
    static func batch(
        firstSeq: UInt64, db: Int, timestamp: Int64, payload: [UInt8], count: Int, extraTokens: [String] = []
    ) -> [UInt8] {
        var line = BatchAnnotation.prefix(
            firstSeq: firstSeq, count: count, length: payload.count, db: db, timestamp: timestamp)
        for t in extraTokens { line += Array(t.utf8) + [32] }
        let crc = CRC32C.checksum(line + payload)
        return line + Array(CRC32C.hex(crc).utf8) + [13, 10] + payload
    }

    static func batch(firstSeq: UInt64, db: Int = 0, timestamp: Int64 = 1_764_079_273_700, _ commands: [[String]],
        extraTokens: [String] = []) -> [UInt8]
    {
        batch(firstSeq: firstSeq, db: db, timestamp: timestamp, payload: payload(commands), count: commands.count,
            extraTokens: extraTokens)
    }

    /// A header line with an arbitrary version (SegmentHeader always writes the current one).
    static func header(version: Int, type: String, number: Int, createdAt: Int64, options: [String] = []) -> [UInt8] {
        var line = "#GODIS-AOF \(version) \(type) \(number) \(createdAt) "
        for o in options { line += o + " " }
        var bytes = Array(line.utf8)
        bytes += Array(CRC32C.hex(CRC32C.checksum(bytes)).utf8) + [13, 10]
        return bytes
    }

    /// A manifest from body lines, with a correct checksum line.
    static func manifest(lines: [String], version: Int = 1) -> [UInt8] {
        let body = Array(lines.map { $0 + "\n" }.joined().utf8)
        return Array("#GODIS-MANIFEST \(version) \(CRC32C.hex(CRC32C.checksum(body)))\n".utf8) + body
    }
}

/// A segment built batch by batch, remembering where every batch starts and ends.
struct SegmentBuilder {
    var bytes: [UInt8]
    var batchStarts: [Int] = []
    var batchEnds: [Int] = []
    var commands: [[[String]]] = []
    var nextSeq: UInt64

    init(type: SegmentType = .incr, number: Int = 1, createdAt: Int64 = 1_764_079_273_619, startSeq: UInt64 = 1) {
        bytes = SegmentHeader(type: type, number: number, createdAt: createdAt).encoded()
        nextSeq = startSeq
    }

    var headerLength: Int { batchStarts.first ?? bytes.count }

    mutating func add(_ cmds: [[String]], db: Int = 0, timestamp: Int64 = 1_764_079_273_700, extraTokens: [String] = [])
    {
        batchStarts.append(bytes.count)
        bytes += Build.batch(firstSeq: nextSeq, db: db, timestamp: timestamp, cmds, extraTokens: extraTokens)
        batchEnds.append(bytes.count)
        commands.append(cmds)
        nextSeq += UInt64(cmds.count)
    }
}

// MARK: Byte surgery

extension Array where Element == UInt8 {
    /// XORs the byte at `offset` with `mask` (one bit by default).
    mutating func flipByte(at offset: Int, mask: UInt8 = 0x01) { self[offset] ^= mask }

    func flippingByte(at offset: Int, mask: UInt8 = 0x01) -> [UInt8] {
        var c = self
        c.flipByte(at: offset, mask: mask)
        return c
    }

    /// Drops the last `n` bytes.
    mutating func truncate(by n: Int) { removeLast(n) }

    func truncated(by n: Int) -> [UInt8] { Array(dropLast(n)) }

    /// Recomputes the checksum of the header or annotation line that starts at `offset`, after a deliberate edit
    /// that the test wants the checksum not to catch. For a `#B` annotation the checksum continues over the payload
    /// (`length` bytes, or what is left of the file). The line must keep its 8-digit checksum token.
    mutating func fixChecksum(lineAt offset: Int) {
        var end = offset
        while !(self[end] == 13 && self[end + 1] == 10) { end += 1 }
        let crcStart = end - 8
        let line = Array(self[offset..<crcStart])
        var crc = CRC32C.checksum(line)
        let tokens = String(decoding: line, as: UTF8.self).split(separator: " ")
        if tokens.first == "#B", tokens.count >= 4, let length = Int(tokens[3]) {
            let payloadStart = end + 2
            let payloadEnd = Swift.min(count, payloadStart + length)
            crc = self[payloadStart..<payloadEnd].withUnsafeBytes { CRC32C.extend(crc, $0) }
        }
        replaceSubrange(crcStart..<end, with: Array(CRC32C.hex(crc).utf8))
    }

    /// Replaces the bytes at `offset` with `text` (same length).
    mutating func overwrite(at offset: Int, with text: String) {
        let t = Array(text.utf8)
        replaceSubrange(offset..<(offset + t.count), with: t)
    }

    func range(of needle: String, from start: Int = 0) -> Range<Int>? {
        let n = Array(needle.utf8)
        guard n.count <= count else { return nil }
        var i = start
        while i + n.count <= count {
            if self[i..<(i + n.count)].elementsEqual(n) { return i..<(i + n.count) }
            i += 1
        }
        return nil
    }

    var text: String { String(decoding: self, as: UTF8.self) }
}

// MARK: Loading

/// The commands a loaded log replays, as (db, arguments).
func replayedCommands(_ log: LoadedLog, directory: String = "/d") throws -> [(db: Int, args: [String])] {
    var out: [(db: Int, args: [String])] = []
    try log.forEachCommand(directory: directory) { db, buffer, spans in
        out.append((db, spans.map { String(decoding: UnsafeRawBufferPointer(rebasing: buffer[$0]), as: UTF8.self) }))
    }
    return out
}

/// Tracks the db a replayed stream of commands selects, like a fresh Redis client replaying the file would
/// (SELECT records change it), and returns every command with the db it runs in.
func flattenWithDB(_ batches: [(db: Int, commands: [[String]])]) -> [(db: Int, args: [String])] {
    var out: [(db: Int, args: [String])] = []
    for b in batches {
        var db = b.db
        for c in b.commands {
            out.append((db, c))
            if c.count == 2, c[0].uppercased() == "SELECT", let n = Int(c[1]) { db = n }
        }
    }
    return out
}

func sameCommands(_ a: [(db: Int, args: [String])], _ b: [(db: Int, args: [String])]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.db == $1.db && $0.args == $1.args }
}

func load(_ fs: FileSystem, directory: String = "/d", allowTruncatedTail: Bool = true, now: Int64 = 1_764_079_273_619)
    throws -> LoadedLog
{
    try LogLoader.load(
        directory: directory, prefix: Names.prefix, fileSystem: fs, allowTruncatedTail: allowTruncatedTail,
        logger: quietLogger, now: now)
}

/// Runs `body` and returns the `LogLoadError` it throws (nil, and an issue recorded by the caller, otherwise).
func loadError(_ body: () throws -> Void) -> LogLoadError? {
    do {
        try body()
        return nil
    } catch let e as LogLoadError {
        return e
    } catch {
        return LogLoadError(file: "<not a LogLoadError>", offset: -1, reason: "\(error)", directory: "")
    }
}

/// A fresh temporary directory on the real file system (removed by `removeTree`).
func makeTempDirectory() -> String {
    var template = Array("/tmp/godis-storage-tests-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(p != nil, "mkdtemp failed")
    return String(cString: p!)
}

func removeTree(_ path: String) {
    guard path.hasPrefix("/tmp/godis-storage-tests-") else { return }
    let fs = PosixFileSystem()
    func rm(_ p: String) {
        if let names = try? fs.listDirectory(p) {
            for n in names { rm(p + "/" + n) }
            _ = Glibc.rmdir(p)
        } else {
            _ = Glibc.unlink(p)
        }
    }
    rm(path)
}

/// Writes `bytes` to a real file (test setup).
func writeRealFile(_ path: String, _ bytes: [UInt8]) throws {
    try PosixFileSystem().writeNewFile(path, bytes, directory: SimulatedFileSystem.parent(of: path))
}

// MARK: Driving AppendLog directly

/// Appends one command to `log`'s pending batch (what the engine does through `CommandLog`).
func appendCommand(_ log: AppendLog, db: Int, _ args: [String]) {
    appendCommand(log, db: db, args.map { Array($0.utf8) })
}

func appendCommand(_ log: AppendLog, db: Int, _ args: [[UInt8]]) {
    var flat: [UInt8] = []
    var spans: [Range<Int>] = []
    for a in args {
        spans.append(flat.count..<(flat.count + a.count))
        flat += a
    }
    flat.withUnsafeBytes { buf in
        log.append(db: db, count: spans.count) { UnsafeRawBufferPointer(rebasing: buf[spans[$0]]) }
    }
}

func openLog(_ fs: FileSystem, directory: String = "/d", policy: FsyncPolicy = .always, allowTruncatedTail: Bool = true,
    now: Int64 = 1_764_079_273_619) throws -> (AppendLog, LoadedLog)
{
    try AppendLog.open(
        directory: directory, prefix: Names.prefix, policy: policy, allowTruncatedTail: allowTruncatedTail,
        fileSystem: fs, logger: quietLogger, now: now)
}

/// The replayed commands without the SELECT records the writer adds (they are an encoding detail; the db each
/// command runs in is what matters).
func withoutSelects(_ cmds: [(db: Int, args: [String])]) -> [(db: Int, args: [String])] {
    cmds.filter { $0.args.first?.uppercased() != "SELECT" }
}
