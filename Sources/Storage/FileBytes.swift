#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's contents for reading: an array, or a read-only memory mapping for large files.
///
/// Loading maps segments instead of reading them into fresh memory: no page zeroing, no copy, and the pages
/// already replayed can be handed back (`release(upTo:)`) so that peak memory is the keyspace, not the log.
public final class FileBytes: @unchecked Sendable {
    private let array: [UInt8]
    private let mapping: UnsafeMutableRawPointer?
    public let count: Int

    public init(_ array: [UInt8]) {
        self.array = array
        mapping = nil
        count = array.count
    }

    /// Maps `fd`'s first `count` bytes; `nil` if the mapping fails (the caller reads instead).
    init?(mapping fd: Int32, count: Int) {
        guard count > 0 else { return nil }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { return nil }
        _ = madvise(p, count, MADV_SEQUENTIAL)
        array = []
        mapping = p
        self.count = count
    }

    deinit {
        if let mapping { munmap(mapping, count) }
    }

    @inline(__always)
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let mapping { return try body(UnsafeRawBufferPointer(start: mapping, count: count)) }
        return try array.withUnsafeBytes(body)
    }

    /// The bytes in `range`, copied.
    public subscript(range: Range<Int>) -> [UInt8] {
        withUnsafeBytes { Array($0[range]) }
    }

    /// Drops the resident pages before `offset` from this process (mapped files; the page cache keeps them).
    public func release(upTo offset: Int) {
        guard let mapping else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = min(offset, count) / page * page
        if end > 0 { _ = madvise(mapping, end, MADV_DONTNEED) }
    }
}

extension FileSystem {
    /// Default: read the whole file.
    public func contents(_ path: String) throws -> FileBytes { FileBytes(try readFile(path)) }
}

extension PosixFileSystem {
    /// Maps files of 1 MiB and more, reads smaller ones.
    public func contents(_ path: String) throws -> FileBytes {
        let size = try fileSize(path)
        guard size >= 1 << 20 else { return FileBytes(try readFile(path)) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError("open", path, errno: errno) }
        defer { _ = close(fd) }
        if let mapped = FileBytes(mapping: fd, count: size) { return mapped }
        return FileBytes(try readFile(path))
    }
}
