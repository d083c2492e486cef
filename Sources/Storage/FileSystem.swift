import CGodisStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system error with the path and the operation, e.g. `write appendonly.aof.1.incr.aof: No space left on device`.
public struct FileSystemError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let path: String
    public let errno: Int32
    public let reason: String

    public init(_ operation: String, _ path: String, errno: Int32, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.reason = reason ?? String(cString: strerror(errno))
    }

    public var description: String { "\(operation) \(path): \(reason)" }
}

/// A file open for appending.
public protocol WritableFile: AnyObject {
    /// Writes all of `bytes` at the end of the file (retrying short writes).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes `first` then `second` (one `writev` on the real file system).
    func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) throws
    /// Makes every byte written so far durable.
    func sync() throws
    /// Cuts the file to `size` bytes.
    func truncate(to size: Int) throws
    /// Tells the OS that bytes `from..<to`, already synced, will not be read again, so their cached pages can
    /// be released (a hint; no effect on what is stored).
    func dropCache(from: Int, to: Int)
    /// Tells the OS that the file will grow to `to` bytes, so that it reserves the blocks now (a hint; the size
    /// and what is stored do not change).
    func preallocate(from: Int, to: Int)
    /// Whether `writeZeros` does anything.
    var canWriteZeros: Bool { get }
    /// Writes zeros at `from..<to`, past the end of what was written, without moving where the next write goes:
    /// the writes that follow overwrite blocks that are already allocated and initialized, which a later fsync
    /// need not record in the file system's journal.
    func writeZeros(from: Int, to: Int) throws
    func close()
}

extension WritableFile {
    public func dropCache(from: Int, to: Int) {}
    public func preallocate(from: Int, to: Int) {}
    public var canWriteZeros: Bool { false }
    public func writeZeros(from: Int, to: Int) throws {}
}

/// The file operations the storage engine uses. `PosixFileSystem` is the real one; `SimulatedFileSystem` models
/// power loss (unsynced bytes lost, torn or zero-filled) for the crash tests.
public protocol FileSystem: AnyObject {
    func fileExists(_ path: String) -> Bool
    func readFile(_ path: String) throws -> [UInt8]
    func fileSize(_ path: String) throws -> Int
    func createDirectory(_ path: String) throws
    func listDirectory(_ path: String) throws -> [String]
    func openForAppend(_ path: String) throws -> WritableFile
    func rename(_ from: String, _ to: String) throws
    func remove(_ path: String) throws
    func truncateFile(_ path: String, to size: Int) throws
    func syncDirectory(_ path: String) throws
    /// The file's bytes for reading (see `FileBytes`); the default reads it whole.
    func contents(_ path: String) throws -> FileBytes
}

extension WritableFile {
    public func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) throws {
        try write(first)
        try write(second)
    }
}

extension FileSystem {
    /// Writes `bytes` to `path` so that a crash leaves either the old file or the new one: temp file, fsync,
    /// rename, fsync of the directory.
    public func writeAtomically(_ path: String, _ bytes: [UInt8], directory: String) throws {
        let tmp = path + ".tmp"
        if fileExists(tmp) { try remove(tmp) }
        let f = try openForAppend(tmp)
        defer { f.close() }
        try bytes.withUnsafeBytes { try f.write($0) }
        try f.sync()
        try rename(tmp, path)
        try syncDirectory(directory)
    }

    /// Creates `path` with `bytes` and syncs it and its directory.
    public func writeNewFile(_ path: String, _ bytes: [UInt8], directory: String) throws {
        let f = try openForAppend(path)
        defer { f.close() }
        try f.truncate(to: 0)
        try bytes.withUnsafeBytes { try f.write($0) }
        try f.sync()
        try syncDirectory(directory)
    }
}

/// The real file system, through POSIX calls.
public final class PosixFileSystem: FileSystem {
    public init() {}

    public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileSystemError("open", path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError("stat", path, errno: errno) }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("read", path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        if done < out.count { out.removeSubrange(done...) }
        return out
    }

    public func fileSize(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileSystemError("stat", path, errno: errno) }
        return Int(st.st_size)
    }

    public func createDirectory(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            partial += "/" + part
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw FileSystemError("mkdir", partial, errno: errno)
            }
        }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw FileSystemError("opendir", path, errno: errno) }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func openForAppend(_ path: String) throws -> WritableFile {
        // Not O_APPEND: writes go to the file's own end, which zeros written ahead (`writeZeros`) do not move.
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError("open", path, errno: errno) }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            let e = errno
            _ = Glibc.close(fd)
            throw FileSystemError("lseek", path, errno: e)
        }
        return PosixFile(fd: fd, path: path, end: Int(end))
    }

    public func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw FileSystemError("rename", from, errno: errno) }
    }

    public func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw FileSystemError("unlink", path, errno: errno) }
    }

    public func truncateFile(_ path: String, to size: Int) throws {
        guard Glibc.truncate(path, off_t(size)) == 0 else { throw FileSystemError("truncate", path, errno: errno) }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw FileSystemError("open", path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw FileSystemError("fsync", path, errno: errno) }
    }
}

final class PosixFile: WritableFile {
    let fd: Int32
    let path: String
    /// Where the next write goes: the end of what was written, which zeros written ahead lie beyond.
    private var end: Int
    private var closed = false

    init(fd: Int32, path: String, end: Int) {
        self.fd = fd
        self.path = path
        self.end = end
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(end))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path, errno: errno)
            }
            done += n
            end += n
        }
    }

    func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) throws {
        var iov = [
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count),
        ]
        let total = first.count + second.count
        let n = pwritev(fd, &iov, 2, off_t(end))
        if n == total {
            end += n
            return
        }
        if n < 0 && errno != EINTR { throw FileSystemError("write", path, errno: errno) }
        // A short write (or EINTR): finish with plain writes from where it stopped.
        let done = max(0, n)
        end += done
        if done < first.count {
            try write(UnsafeRawBufferPointer(rebasing: first[done...]))
            try write(second)
        } else {
            try write(UnsafeRawBufferPointer(rebasing: second[(done - first.count)...]))
        }
    }

    var canWriteZeros: Bool { true }

    func writeZeros(from: Int, to: Int) throws {
        var offset = max(from, end)  // past the data only
        while offset < to {
            let n = pwrite(fd, PosixFile.zeros, min(PosixFile.zerosSize, to - offset), off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path, errno: errno)
            }
            offset += n
        }
    }

    private static let zerosSize = 1 << 20
    private static let zeros = UnsafeMutableRawPointer.allocate(byteCount: zerosSize, alignment: 4096).initializeMemory(
        as: UInt8.self, repeating: 0, count: zerosSize)

    func sync() throws {
        #if os(Linux)
        guard fdatasync(fd) == 0 else { throw FileSystemError("fdatasync", path, errno: errno) }
        #else
        guard fsync(fd) == 0 else { throw FileSystemError("fsync", path, errno: errno) }
        #endif
    }

    func truncate(to size: Int) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw FileSystemError("ftruncate", path, errno: errno) }
        end = size
    }

    func dropCache(from: Int, to: Int) {
        #if os(Linux)
        guard to > from else { return }
        _ = posix_fadvise(fd, off_t(from), off_t(to - from), POSIX_FADV_DONTNEED)
        #endif
    }

    func preallocate(from: Int, to: Int) {
        guard to > from else { return }
        _ = godis_preallocate(fd, off_t(from), off_t(to - from))
    }

    func close() {
        if !closed {
            closed = true
            _ = Glibc.close(fd)
        }
    }

    deinit { close() }
}
