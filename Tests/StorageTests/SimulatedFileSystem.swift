#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Storage

/// Thrown by every operation of a `SimulatedFileSystem` once an armed power loss was reached (see
/// `armPowerLoss(afterOperations:)`), until `crash(rng:)` "reboots" the machine.
struct SimulatedPowerLoss: Error, CustomStringConvertible {
    var description: String { "simulated power loss" }
}

/// An in-memory `FileSystem` that models what survives a power loss. Test support only.
///
/// Every file has two versions of its data:
/// * `current`: what the page cache holds, what `readFile` returns;
/// * `durable`: what the disk holds, as of the file's last successful `sync()`.
///
/// `crash(rng:)` keeps every file's bytes up to the first one that differs from `durable`; of the rest (the
/// unsynced bytes, appended or written over durable ones), at random (seeded), one of
/// * a random prefix reaches the disk, and the durable bytes it did not overwrite stay (the write reached the disk
///   only partly),
/// * that prefix followed by zeros up to the unsynced length (the file system extended the file, the data blocks
///   never made it: a zero-filled extension), then the durable bytes past it,
/// * nothing: the durable bytes stay.
/// For appends this is `durable` plus a prefix of the unsynced suffix (and zeros, or nothing).
///
/// Writes go to the handle's position (the file's end at open, moved by writes and truncation), like `pwrite` at
/// `PosixFile`'s end: past zeros written ahead (`writeZeros`, enabled with `writesZeros`), a write overwrites them.
///
/// Simplifications, on purpose:
/// * Directory operations (create, rename, remove, creating a file with `openForAppend`) and truncation are durable
///   as soon as they return, as if the directory and the inode were journaled synchronously. `syncDirectory` is
///   counted but changes nothing. The storage code fsyncs the directory where the format requires it, so this
///   model is kinder than a real disk only about metadata ordering, never about file data.
/// * Unsynced data is lost as a suffix (a prefix of it survives). The only holes in the middle of a file are the
///   pages a failed fsync dropped (below).
///
/// Faults:
/// * `failNextWrites(n, errno:, partialBytes:)`: the next `n` `write()` calls throw `FileSystemError` (default
///   `ENOSPC`), each after appending up to `partialBytes` bytes (a short write followed by an error).
/// * `failNextSyncs(n, errno:, skipping:)`: the next `n` `sync()` calls (after `skipping` that succeed) throw
///   (default `EIO`). With `failedSyncLosesPages`
///   (the default) the unsynced bytes are then *lost for good*, as on Linux after a failed fsync: the kernel marks the
///   dirty pages clean without writing them, so a later fsync that "succeeds" does not bring them to the disk. They
///   read back from the page cache until the machine crashes, then they are zeros. Only rewriting them (truncating
///   below them first) makes them durable again. A writer that retries a failed fsync as if it had worked loses
///   data in this model.
/// * `armPowerLoss(afterOperations:)`: the power fails right before the (n+1)-th mutating operation; that operation
///   and every later one throw `SimulatedPowerLoss` until `crash(rng:)`.
/// * `beforeWrite`: a hook run at the start of every `write()`, to interleave "another thread" deterministically.
///
/// Open handles belong to one "boot": after `crash(rng:)` they throw `EBADF`, like the file descriptors of a process
/// that died.
final class SimulatedFileSystem: FileSystem {
    final class Inode {
        var current: [UInt8] = []
        var durable: [UInt8] = []
        /// Byte ranges whose write-back failed; zeros on the disk whatever happens later (see the class comment).
        var lost: [Range<Int>] = []

        /// `bytes` with the lost ranges zeroed: what the disk holds of them.
        func onDisk(_ bytes: [UInt8]) -> [UInt8] {
            var d = bytes
            for r in lost { for i in r where i < d.count { d[i] = 0 } }
            return d
        }

        /// The first byte not known to be on the disk: where `current` first differs from `durable`, or the end of
        /// the shorter one. Bytes of lost ranges do not count: they differ on purpose (the page cache still has
        /// them, the disk has zeros) and no later fsync changes that.
        var firstUnsynced: Int {
            let n = min(current.count, durable.count)
            return (0..<n).first { i in current[i] != durable[i] && !lost.contains { $0.contains(i) } } ?? n
        }

        func copy() -> Inode {
            let c = Inode()
            c.current = current
            c.durable = durable
            c.lost = lost
            return c
        }
    }

    private(set) var files: [String: Inode] = [:]
    private(set) var directories: Set<String> = ["/"]
    private var boot = 0

    // Fault injection.
    private var writeFaults = 0
    private var writeFaultErrno: Int32 = ENOSPC
    private var writeFaultPartialBytes = 0
    private var syncFaults = 0
    private var syncFaultErrno: Int32 = EIO
    private var syncFaultSkips = 0
    var failedSyncLosesPages = true
    /// Whether handles support `writeZeros` (off by default: most tests model a plain append-only file).
    var writesZeros = false
    private var operationsUntilPowerLoss: Int? = nil
    private(set) var poweredOff = false
    /// Called at the start of every `write()` with the file's path, before anything is written: lets a test run
    /// code "concurrently" at a precise point of an operation (e.g. a second thread entering the same code).
    var beforeWrite: ((String) -> Void)?

    // Counters, for assertions about what the code under test did.
    private(set) var writeCalls = 0
    private(set) var zeroWriteCalls = 0
    private(set) var syncCalls = 0
    private(set) var failedSyncs = 0
    private(set) var failedWrites = 0
    private(set) var truncations = 0
    private(set) var directorySyncs = 0
    private(set) var crashes = 0

    init() {}

    // MARK: Test controls

    func failNextWrites(_ n: Int, errno: Int32 = ENOSPC, partialBytes: Int = 0) {
        writeFaults = n
        writeFaultErrno = errno
        writeFaultPartialBytes = partialBytes
    }

    /// The `n` `sync()` calls after the next `skipping` ones throw.
    func failNextSyncs(_ n: Int, errno: Int32 = EIO, skipping: Int = 0) {
        syncFaults = n
        syncFaultErrno = errno
        syncFaultSkips = skipping
    }

    var pendingWriteFaults: Int { writeFaults }
    var pendingSyncFaults: Int { syncFaults }

    func armPowerLoss(afterOperations n: Int) {
        precondition(n >= 0)
        operationsUntilPowerLoss = n
    }

    /// Cancels pending write/fsync faults (the disk was replaced, or the machine rebooted).
    func clearFaults() {
        writeFaults = 0
        syncFaults = 0
    }

    /// Cancels an armed power loss that has not happened yet.
    func disarmPowerLoss() {
        if !poweredOff { operationsUntilPowerLoss = nil }
    }

    /// True when some file has bytes a failed fsync dropped (they read back until the next crash, then are zeros).
    var hasLostPages: Bool { files.values.contains { !$0.lost.isEmpty } }

    /// What happened to one file's unsynced suffix in a crash.
    enum TailFate: Equatable {
        case kept(Int)
        case zeroFilled(kept: Int, zeros: Int)
        case dropped(Int)
    }

    /// Power loss and reboot: every file keeps its durable bytes plus a random fate of its unsynced suffix. Returns
    /// the fate of every file that had unsynced bytes. Deterministic for a given `rng` state.
    @discardableResult
    func crash<R: RandomNumberGenerator>(rng: inout R) -> [String: TailFate] {
        var fates: [String: TailFate] = [:]
        for path in files.keys.sorted() {
            let f = files[path]!
            let d = f.firstUnsynced
            let unsynced = f.current.count - d
            var result = f.durable
            if unsynced > 0 {
                let choice = rng.next() % 3
                let keep = Int(rng.next() % UInt64(unsynced + 1))
                // The new bytes that reached the disk replace durable ones in place, or extend the file.
                func overlay(_ bytes: ArraySlice<UInt8>) {
                    for (i, b) in zip(d..., bytes) {
                        if i < result.count { result[i] = b } else { result.append(b) }
                    }
                }
                switch choice {
                case 0:
                    overlay(f.current[d..<(d + keep)])
                    fates[path] = .kept(keep)
                case 1:
                    overlay(f.current[d..<(d + keep)] + [UInt8](repeating: 0, count: unsynced - keep))
                    fates[path] = .zeroFilled(kept: keep, zeros: unsynced - keep)
                default:
                    fates[path] = .dropped(unsynced)
                }
            }
            result = f.onDisk(result)
            f.current = result
            f.durable = result
            f.lost = []
        }
        boot += 1
        crashes += 1
        poweredOff = false
        operationsUntilPowerLoss = nil
        return fates
    }

    // MARK: Direct access for tests

    /// Creates or replaces `path` with `bytes`, durable (as if written and synced long ago).
    func install(_ path: String, _ bytes: [UInt8]) {
        createParents(of: path)
        let f = Inode()
        f.current = bytes
        f.durable = bytes
        files[path] = f
    }

    /// The page-cache content of `path` (what a read returns), or nil.
    func cachedContents(_ path: String) -> [UInt8]? { files[path]?.current }

    /// The on-disk content of `path` as of its last successful sync, or nil.
    func durableContents(_ path: String) -> [UInt8]? {
        guard let f = files[path] else { return nil }
        return f.onDisk(f.durable)
    }

    /// Removes a file without counting an operation (test setup).
    func delete(_ path: String) { files[path] = nil }

    /// A deep copy: same files, same durable state, no faults, no open handles.
    func copy() -> SimulatedFileSystem {
        let c = SimulatedFileSystem()
        c.directories = directories
        for (p, f) in files { c.files[p] = f.copy() }
        c.failedSyncLosesPages = failedSyncLosesPages
        return c
    }

    /// Names in `directory`, sorted (files only).
    func fileNames(in directory: String) -> [String] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
            .map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    // MARK: Internals

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let p = String(path[..<slash])
        return p.isEmpty ? "/" : p
    }

    private func createParents(of path: String) {
        var dir = Self.parent(of: path)
        while !directories.contains(dir) && dir != "." {
            directories.insert(dir)
            dir = Self.parent(of: dir)
        }
    }

    /// Counts one mutating operation against an armed power loss.
    private func mutate(_ op: String, _ path: String) throws {
        if poweredOff { throw SimulatedPowerLoss() }
        if let n = operationsUntilPowerLoss {
            if n == 0 {
                poweredOff = true
                throw SimulatedPowerLoss()
            }
            operationsUntilPowerLoss = n - 1
        }
    }

    private func read(_ path: String) throws {
        if poweredOff { throw SimulatedPowerLoss() }
    }

    fileprivate func write(_ handle: SimulatedFile, _ bytes: UnsafeRawBufferPointer) throws {
        try check(handle, "write")
        try mutate("write", handle.path)
        beforeWrite?(handle.path)
        writeCalls += 1
        if writeFaults > 0 {
            writeFaults -= 1
            failedWrites += 1
            let n = min(writeFaultPartialBytes, bytes.count)
            handle.place(ArraySlice(bytes[0..<n]))
            throw FileSystemError("write", handle.path, errno: writeFaultErrno)
        }
        handle.place(ArraySlice(bytes))
    }

    fileprivate func writeZeros(_ handle: SimulatedFile, from: Int, to: Int) throws {
        try check(handle, "write")
        try mutate("write", handle.path)
        writeCalls += 1
        zeroWriteCalls += 1
        let f = handle.inode
        let start = max(from, handle.position)
        if f.current.count < to { f.current += [UInt8](repeating: 0, count: to - f.current.count) }
        if start < to { for i in start..<to { f.current[i] = 0 } }
    }

    fileprivate func sync(_ handle: SimulatedFile) throws {
        try check(handle, "fsync")
        try mutate("fsync", handle.path)
        syncCalls += 1
        let f = handle.inode
        if syncFaults > 0 && syncFaultSkips > 0 {
            syncFaultSkips -= 1
        } else if syncFaults > 0 {
            syncFaults -= 1
            failedSyncs += 1
            let first = f.firstUnsynced
            if failedSyncLosesPages && f.current.count > first {
                f.lost.append(first..<f.current.count)
            }
            throw FileSystemError("fdatasync", handle.path, errno: syncFaultErrno)
        }
        f.durable = f.onDisk(f.current)
    }

    fileprivate func truncate(_ f: Inode, to size: Int) {
        truncations += 1
        if size <= f.current.count {
            f.current.removeSubrange(size...)
        } else {
            f.current += [UInt8](repeating: 0, count: size - f.current.count)
        }
        if size < f.durable.count { f.durable.removeSubrange(size...) }
        f.lost = f.lost.compactMap { r in r.lowerBound >= size ? nil : r.lowerBound..<min(r.upperBound, size) }
    }

    private func check(_ handle: SimulatedFile, _ op: String) throws {
        if poweredOff { throw SimulatedPowerLoss() }
        guard !handle.closed, handle.boot == boot else { throw FileSystemError(op, handle.path, errno: EBADF) }
    }

    // MARK: FileSystem

    func fileExists(_ path: String) -> Bool { files[path] != nil || directories.contains(path) }

    func readFile(_ path: String) throws -> [UInt8] {
        try read(path)
        if directories.contains(path) { throw FileSystemError("read", path, errno: EISDIR) }
        guard let f = files[path] else { throw FileSystemError("open", path, errno: ENOENT) }
        return f.current
    }

    func fileSize(_ path: String) throws -> Int {
        try read(path)
        guard let f = files[path] else { throw FileSystemError("stat", path, errno: ENOENT) }
        return f.current.count
    }

    func createDirectory(_ path: String) throws {
        try mutate("mkdir", path)
        if files[path] != nil { throw FileSystemError("mkdir", path, errno: EEXIST) }
        var dir = path
        while !directories.contains(dir) && dir != "." {
            directories.insert(dir)
            dir = Self.parent(of: dir)
        }
    }

    func listDirectory(_ path: String) throws -> [String] {
        try read(path)
        guard directories.contains(path) else { throw FileSystemError("opendir", path, errno: ENOENT) }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        var names = Set<String>()
        for p in files.keys where p.hasPrefix(prefix) {
            let rest = p.dropFirst(prefix.count)
            if !rest.contains("/") { names.insert(String(rest)) }
        }
        for d in directories where d.hasPrefix(prefix) && d != path {
            let rest = d.dropFirst(prefix.count)
            if !rest.isEmpty && !rest.contains("/") { names.insert(String(rest)) }
        }
        return names.sorted()
    }

    func openForAppend(_ path: String) throws -> WritableFile {
        try mutate("open", path)
        guard directories.contains(Self.parent(of: path)) else { throw FileSystemError("open", path, errno: ENOENT) }
        if directories.contains(path) { throw FileSystemError("open", path, errno: EISDIR) }
        let inode: Inode
        if let f = files[path] {
            inode = f
        } else {
            inode = Inode()
            files[path] = inode
        }
        return SimulatedFile(fs: self, inode: inode, path: path, boot: boot)
    }

    func rename(_ from: String, _ to: String) throws {
        try mutate("rename", from)
        guard let f = files[from] else { throw FileSystemError("rename", from, errno: ENOENT) }
        guard directories.contains(Self.parent(of: to)) else { throw FileSystemError("rename", from, errno: ENOENT) }
        files[from] = nil
        files[to] = f
    }

    func remove(_ path: String) throws {
        try mutate("unlink", path)
        guard files[path] != nil else { throw FileSystemError("unlink", path, errno: ENOENT) }
        files[path] = nil
    }

    func truncateFile(_ path: String, to size: Int) throws {
        try mutate("truncate", path)
        guard let f = files[path] else { throw FileSystemError("truncate", path, errno: ENOENT) }
        truncate(f, to: size)
    }

    func syncDirectory(_ path: String) throws {
        try mutate("fsync", path)
        guard directories.contains(path) else { throw FileSystemError("open", path, errno: ENOENT) }
        directorySyncs += 1
    }
}

/// A handle from `SimulatedFileSystem.openForAppend`: writes to the inode (it follows renames) at `position`, the
/// file's end when opened.
final class SimulatedFile: WritableFile {
    let fs: SimulatedFileSystem
    let inode: SimulatedFileSystem.Inode
    let path: String
    let boot: Int
    var closed = false
    /// Where the next write goes.
    var position: Int

    init(fs: SimulatedFileSystem, inode: SimulatedFileSystem.Inode, path: String, boot: Int) {
        self.fs = fs
        self.inode = inode
        self.path = path
        self.boot = boot
        position = inode.current.count
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try fs.write(self, bytes) }
    func sync() throws { try fs.sync(self) }

    var canWriteZeros: Bool { fs.writesZeros }
    func writeZeros(from: Int, to: Int) throws {
        if fs.writesZeros { try fs.writeZeros(self, from: from, to: to) }
    }

    /// Writes `bytes` at `position` (over what is there, past the end with a gap of zeros if needed).
    fileprivate func place(_ bytes: ArraySlice<UInt8>) {
        if inode.current.count < position { inode.current += [UInt8](repeating: 0, count: position - inode.current.count) }
        if position == inode.current.count {
            inode.current += bytes
            position += bytes.count
            return
        }
        for (i, b) in zip(position..., bytes) {
            if i < inode.current.count { inode.current[i] = b } else { inode.current.append(b) }
        }
        position += bytes.count
    }

    func truncate(to size: Int) throws {
        if fs.poweredOff { throw SimulatedPowerLoss() }
        guard !closed, boot == fs.bootNumber else { throw FileSystemError("ftruncate", path, errno: EBADF) }
        try fs.countMutation("ftruncate", path)
        fs.truncateInode(inode, to: size)
        position = size
    }

    func close() { closed = true }
}

extension SimulatedFileSystem {
    fileprivate var bootNumber: Int { boot }
    fileprivate func countMutation(_ op: String, _ path: String) throws { try mutate(op, path) }
    fileprivate func truncateInode(_ f: Inode, to size: Int) { truncate(f, to: size) }
}
