import CGodisStorage
import Foundation
import Logging

/// The log writer: batches the commands of one event-loop tick, writes them with one `write`, and makes them
/// durable according to `appendfsync`. See docs/FORMAT.md, "Durability".
///
/// Threads: `append`, `flush` and `hasPending` belong to the one thread that runs commands. A sync thread does
/// the fsyncs and the retries after a failure; `acknowledgedSeq` and `writeError` may be read from any thread.
public final class AppendLog {
    public let directory: String
    public let fileSystem: FileSystem
    public private(set) var segmentName: String
    private let logger: Logger
    private var file: WritableFile

    // Owned by the command thread.
    /// The batch being formed, and the encoder's cursor over it (its `count` is current; `payload.count` is set
    /// when the batch is flushed).
    private var payload = LogBuffer(capacity: AppendLog.bufferCapacity)
    private var encoder: CommandEncoder
    private var pendingCount = 0
    private var pendingFirstSeq: UInt64
    private var batchDB = 0
    private var selectedDB = -1
    private var nextSeq: UInt64

    // Shared with the sync thread, under `lock`.
    private let lock = NSCondition()
    /// Serializes use of `file` between the command thread's writes and the repair, which reopens and cuts it.
    private let fileLock = NSLock()
    /// Serializes sync steps (fsync or repair) between the command thread (`always`) and the sync thread. Taken
    /// before `fileLock` when both are needed.
    private let syncLock = NSLock()
    /// Set by `close`: later batches are not written.
    private var closed = false
    private var policy: FsyncPolicy
    private var writtenSeq: UInt64
    private var writtenSize: Int
    private var syncedSeq: UInt64
    private var syncedSize: Int
    /// Batches written but not yet known to be durable, kept to rewrite them after a failure.
    private var unsynced: [Batch] = []
    /// Batches formed while the file is failing; written by the retry.
    private var retryQueue: [Batch] = []
    /// Kept copies of synced batches, reused for later copies so that steady writing allocates nothing.
    private var spareBuffers: [LogBuffer] = []
    private var failure: String?
    /// The failure was an fsync: the page cache may have dropped unsynced pages, so repair cuts back to the
    /// last synced length and rewrites every unsynced batch. After a write failure it cuts back to the end of the
    /// last complete write only.
    private var failedSync = false
    private var lastFsync: Int64 = 0
    private var stopping = false
    private var syncRequested = false
    private var unsyncedBytes = 0
    /// Most bytes of unsynced batches kept in memory before the sync thread fsyncs ahead of its second.
    ///
    /// 1 MiB rather than more: besides bounding memory, it keeps the page cache recycling a few hot pages (see
    /// `releaseSyncedPages`). Measured under a SET load at pipeline 16 (`appendfsync everysec`, server pinned to
    /// one core): 1.12–1.21 µs of server CPU per SET at 1 MiB, 1.14–1.28 at 256 KiB, 1.16–1.37 at 4 MiB.
    static let unsyncedLimit = 1 << 20
    /// Bytes below this offset were synced and their cached pages released (under `syncLock`).
    private var releasedSize = 0
    /// Disk blocks are reserved up to this offset (under `syncLock`; see `preallocateAhead`).
    private var preallocatedSize = 0
    /// Zeros are written up to this offset, past the data (under `syncLock`; see `writeZerosAhead`), or 0.
    private var zeroedSize = 0
    /// Writing zeros failed once: this writer appends without them from then on (under `syncLock`).
    private var zerosFailed = false
    /// Set by the command thread under `appendfsync always` when the zeros ahead run short; the sync thread
    /// writes more (under `lock`).
    private var zerosRequested = false
    private var syncThread: Thread?
    private var syncThreadDone = false

    /// Called on the sync thread whenever `acknowledgedSeq` advances or a failure clears.
    public var onAdvance: (@Sendable () -> Void)?

    // Counters for INFO (read through `status`).
    private var fsyncCount = 0
    private var delayedFsyncs = 0

    init(directory: String, segment: LoadedSegment, lastSeq: UInt64, policy: FsyncPolicy, fileSystem: FileSystem,
        logger: Logger) throws
    {
        self.directory = directory
        self.fileSystem = fileSystem
        self.logger = logger
        self.policy = policy
        encoder = payload.encoder
        segmentName = segment.entry.name
        file = try fileSystem.openForAppend(directory + "/" + segment.entry.name)
        // What was loaded may have been read from the page cache of a process that died before its fsync: make
        // it durable before calling it synced (this also persists a torn-tail cut).
        try file.sync()
        nextSeq = lastSeq + 1
        pendingFirstSeq = nextSeq
        // Redis replays each file with a fresh client, so a new segment starts in db 0. In a segment reopened
        // after a restart the selected db is not known: the first batch starts with a SELECT.
        selectedDB = segment.scan.batches.isEmpty ? 0 : -1
        writtenSeq = lastSeq
        syncedSeq = lastSeq
        writtenSize = segment.scan.validLength
        syncedSize = segment.scan.validLength
    }

    /// Loads the log in `directory` (creating it if new) and opens its last segment for appending.
    public static func open(
        directory: String, prefix: String = "appendonly.aof", policy: FsyncPolicy, allowTruncatedTail: Bool = true,
        fileSystem: FileSystem = PosixFileSystem(), logger: Logger = Logger(label: "godis.storage"),
        now: Int64
    ) throws -> (AppendLog, LoadedLog) {
        let loaded = try LogLoader.load(
            directory: directory, prefix: prefix, fileSystem: fileSystem, allowTruncatedTail: allowTruncatedTail,
            logger: logger, now: now)
        let last = loaded.segments.last { $0.entry.type == .incr }!
        let log = try AppendLog(
            directory: directory, segment: last, lastSeq: loaded.lastSeq, policy: policy, fileSystem: fileSystem,
            logger: logger)
        return (log, loaded)
    }

    /// Starts the sync thread (not needed by tests that drive `syncNow()` themselves).
    public func start() {
        let t = Thread { [self] in self.syncLoop() }
        t.name = "godis-fsync"
        syncThread = t
        t.start()
    }

    // MARK: Command thread

    /// Appends one command (in effect form) for database `db` to the current batch.
    @inline(__always)
    public func append(db: Int, count: Int, argument: (Int) -> UnsafeRawBufferPointer) {
        if pendingCount == 0 { batchDB = selectedDB < 0 ? db : selectedDB }
        if db != selectedDB { appendSelect(db) }
        let size = CommandEncoder.maxSize(count: count, argument: argument)
        if encoder.count &+ size > encoder.capacity { growPayload(to: encoder.count &+ size) }
        encoder.appendCommand(count: count, argument: argument)
        pendingCount += 1
    }

    /// Appends one command whose arguments are `spans` of `buffer` (the request as parsed).
    @inline(__always)
    public func append(db: Int, buffer: UnsafeRawBufferPointer, spans: UnsafeBufferPointer<Range<Int>>) {
        append(db: db, count: spans.count) { UnsafeRawBufferPointer(rebasing: buffer[spans[$0]]) }
    }

    @inline(never)
    private func appendSelect(_ db: Int) {
        let select = Array("SELECT".utf8)
        let number = Array(String(db).utf8)
        select.withUnsafeBytes { s in
            number.withUnsafeBytes { n in
                let argument = { (i: Int) in i == 0 ? s : n }
                growPayload(to: encoder.count + CommandEncoder.maxSize(count: 2, argument: argument))
                encoder.appendCommand(count: 2, argument: argument)
            }
        }
        pendingCount += 1
        selectedDB = db
    }

    @inline(never)
    private func growPayload(to size: Int) {
        guard size > encoder.capacity else { return }
        payload.count = encoder.count
        payload.grow(to: size)
        encoder = payload.encoder
    }

    public var hasPending: Bool { pendingCount > 0 }

    /// Writes the pending batch with one `write`. Returns the sequence number a reply to these commands must wait
    /// for (`acknowledgedSeq >= it`). Never blocks on fsync.
    ///
    /// The batch is written from `payload`, which the next batch reuses, so that it stays in this core's cache.
    /// What is kept until an fsync covers it is a copy made with non-temporal stores, which bypass the cache: kept
    /// batches add up to a megabyte between fsyncs, and encoding each batch into fresh memory (~100 MB/s under a
    /// pipelined SET load) evicts the keyspace. Measured at pipeline 16 (4 interleaved rounds, `everysec`): ~5 %
    /// less event-loop CPU per SET than encoding into a new buffer per batch and keeping that.
    @discardableResult
    public func flush(now: Int64) -> UInt64 {
        guard pendingCount > 0 else { return nextSeq - 1 }
        payload.count = encoder.count
        let first = pendingFirstSeq
        let last = first + UInt64(pendingCount) - 1
        let annotation = BatchAnnotation.line(
            firstSeq: first, count: pendingCount, db: batchDB, timestamp: now, payload: payload.bytes)
        let batch = Batch(lastSeq: last, annotation: annotation, payload: keptCopy(of: payload))
        nextSeq = last + 1
        pendingFirstSeq = nextSeq
        pendingCount = 0
        write(batch, from: payload)
        if payload.capacity > Self.maxBufferCapacity { payload = LogBuffer(capacity: Self.bufferCapacity) }
        payload.count = 0
        encoder = payload.encoder
        return last
    }

    /// A copy of `buffer`'s bytes made with non-temporal stores, in a spare buffer that fits or a new one of the
    /// next power of two (a tick's batch is kilobytes at pipeline 1, ~100 KB at pipeline 16).
    private func keptCopy(of buffer: LogBuffer) -> LogBuffer {
        lock.lock()
        let spare = spareBuffers.last.map { $0.capacity >= buffer.count } == true ? spareBuffers.popLast() : nil
        lock.unlock()
        let copy = spare ?? LogBuffer(capacity: max(4096, 1 << (Int.bitWidth - (buffer.count - 1).leadingZeroBitCount)))
        godis_copy_nontemporal(copy.base, buffer.base, buffer.count)
        copy.count = buffer.count
        return copy
    }

    /// Initial capacity of a batch's buffer: a tick of 50 clients pipelining 16 SETs of 64 bytes is ~85 KB.
    static let bufferCapacity = 128 << 10
    /// A buffer grown past this (by a large batch) is not reused.
    static let maxBufferCapacity = 1 << 20

    /// Writes one batch (its bytes from `source`, which holds the same bytes as its payload) and records it as
    /// written; after a failure, queues it for the repair.
    private func write(_ batch: Batch, from source: LogBuffer) {
        // Under `fileLock` from the failure check to the bookkeeping, so that a repair (which reopens and cuts the
        // file) runs entirely before or entirely after this write.
        fileLock.lock()
        defer { fileLock.unlock() }
        lock.lock()
        if failure != nil || closed {
            retryQueue.append(batch)
            lock.unlock()
            return
        }
        lock.unlock()
        do {
            try batch.write(to: file, from: source)
        } catch {
            lock.lock()
            failure = "\(error)"
            retryQueue.append(batch)
            lock.signal()
            lock.unlock()
            logger.warning("Error writing to the log: \(error). Writes are refused until it can be written again.")
            return
        }
        lock.lock()
        writtenSeq = batch.lastSeq
        writtenSize += batch.size
        // Kept in every policy: after an fsync error these are rewritten (under `no` too, since WAITAOF and the
        // memory bound below make that policy fsync sometimes).
        unsynced.append(batch)
        unsyncedBytes += batch.size
        // The copies kept for a rewrite after an fsync error are bounded: past the limit, fsync early.
        if unsyncedBytes > Self.unsyncedLimit && !syncRequested {
            syncRequested = true
            lock.signal()
        }
        lock.unlock()
    }

    /// Sequence number of the last command appended (written or still pending).
    public var lastAppendedSeq: UInt64 { nextSeq - 1 + UInt64(pendingCount) }

    // MARK: Any thread

    /// Asks the sync thread to fsync now rather than at the next second (WAITAOF), in any policy.
    public func requestSync() {
        lock.lock()
        syncRequested = true
        lock.signal()
        lock.unlock()
    }

    /// The last sequence number known to be on disk.
    public var syncedSequence: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return syncedSeq
    }

    /// The last sequence number whose reply may be sent: synced under `always`, written otherwise.
    public var acknowledgedSeq: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return policy == .always ? syncedSeq : writtenSeq
    }

    /// Why writes are refused, or `nil`.
    public var writeError: String? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    public var fsyncPolicy: FsyncPolicy {
        get {
            lock.lock()
            defer { lock.unlock() }
            return policy
        }
        set {
            lock.lock()
            policy = newValue
            lock.signal()
            lock.unlock()
        }
    }

    public struct Status: Sendable {
        public var writtenSeq: UInt64
        public var syncedSeq: UInt64
        public var writtenSize: Int
        public var syncedSize: Int
        public var failure: String?
        public var lastFsync: Int64
        public var fsyncs: Int
        public var delayedFsyncs: Int
    }

    public var status: Status {
        lock.lock()
        defer { lock.unlock() }
        return Status(
            writtenSeq: writtenSeq, syncedSeq: syncedSeq, writtenSize: writtenSize, syncedSize: syncedSize,
            failure: failure, lastFsync: lastFsync, fsyncs: fsyncCount, delayedFsyncs: delayedFsyncs)
    }

    // MARK: Sync thread

    private func syncLoop() {
        lock.lock()
        while !stopping {
            if failure == nil && !syncRequested && !zerosRequested { _ = lock.wait(until: Date(timeIntervalSinceNow: 1)) }
            if stopping { break }
            // `always` is synced by the command thread at the end of each tick (`syncInline()`); this thread does
            // the once-a-second fsync of `everysec`, the fsyncs WAITAOF asks for, and the retries after a failure.
            let due =
                failure != nil || (syncRequested && writtenSeq > syncedSeq)
                || (policy == .everysec && writtenSeq > syncedSeq && Self.clock() - lastFsync >= 1000)
            syncRequested = false
            let zeros = zerosRequested && failure == nil
            zerosRequested = false
            if !due && !zeros { continue }
            lock.unlock()
            if due { syncNow() }
            if zeros { writeZerosAhead() }
            lock.lock()
            if failure != nil && !stopping { _ = lock.wait(until: Date(timeIntervalSinceNow: 1)) }
        }
        syncThreadDone = true
        lock.broadcast()
        lock.unlock()
    }

    static func clock() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The sync thread's step: fsync what was written, or, after a failure, rewrite every unsynced batch and
    /// fsync; then call `onAdvance`. Returns true when everything written so far is durable.
    @discardableResult
    public func syncNow() -> Bool { sync(onSyncThread: true) }

    /// The command thread's step under `appendfsync always`, at the end of every tick after `flush`: one fsync
    /// covers every batch of every connection written in the tick (group commit), and the replies wait for it.
    /// It never repairs (the sync thread does) and calls no callback (the caller releases the replies).
    @discardableResult
    public func syncInline() -> Bool { sync(onSyncThread: false) }

    private func sync(onSyncThread: Bool) -> Bool {
        // One sync step at a time, whichever thread: two concurrent fsyncs could split one writeback error between
        // them (the kernel reports it once), and a slower one could move `syncedSeq` back.
        syncLock.lock()
        defer { syncLock.unlock() }
        lock.lock()
        if failure != nil {
            lock.unlock()
            // Repair (reopen, rewrite, fsync) belongs to the sync thread; the command thread never blocks on it.
            return onSyncThread ? repair() : false
        }
        let target = writtenSeq
        let targetSize = writtenSize
        let needed = target > syncedSeq
        let always = policy == .always
        lock.unlock()
        guard needed else { return true }
        let started = Self.clock()
        do {
            try file.sync()
        } catch {
            fsyncFailed(error)
            return false
        }
        let took = Self.clock() - started
        if took > 2000 {
            logger.warning(
                "Asynchronous AOF fsync is taking too long (disk is busy?). fsync took \(took) ms.")
        }
        releaseSyncedPages(upTo: targetSize)
        let zeros = always && !zerosFailed && file.canWriteZeros
        let zerosShort = zeros && zeroedSize - targetSize < zerosLowWater
        if !zeros { preallocateAhead(of: targetSize) }
        lock.lock()
        if zerosShort && syncThread != nil { zerosRequested = true; lock.signal() }
        syncedSeq = max(syncedSeq, target)
        syncedSize = max(syncedSize, targetSize)
        lastFsync = Self.clock()
        fsyncCount += 1
        if took > 2000 { delayedFsyncs += 1 }
        let done = unsynced.prefix { $0.lastSeq <= target }.count
        recycle(unsynced[..<done])
        unsynced.removeFirst(done)
        unsyncedBytes = unsynced.reduce(0) { $0 + $1.size }
        let callback = onAdvance
        lock.unlock()
        if zerosShort && syncThread == nil { writeZerosAhead(holdingSyncLock: true) }
        if onSyncThread { callback?() }
        return true
    }

    /// The log is not read while the server runs, so synced pages are released from the page cache. Without this
    /// the log streams through the CPU caches at the write rate (~100 MB/s under a pipelined SET load) and evicts
    /// the keyspace: measured at pipeline 16, server CPU per SET under `everysec` fell from 1.34 to 1.12 µs and
    /// GET's extra cost against persistence off disappeared (`compare.sh`, 5 rounds each). Released in steps of
    /// 256 KiB or more, so that `always` does not pay an extra call per fsync.
    private func releaseSyncedPages(upTo size: Int) {
        // Whole pages only: the page the next write starts in stays cached, or, where zeros lie past the data,
        // that write would first read it back from the disk.
        let size = size & ~4095
        guard size - releasedSize >= 256 << 10 else { return }
        file.dropCache(from: releasedSize, to: size)
        releasedSize = size
    }

    /// Keeps disk blocks reserved (`fallocate`, size unchanged) 8 to 16 MiB past what is written, so that the
    /// command thread's `write` fills reserved blocks instead of allocating them page by page: appending through
    /// the page cache costs 0.11 instead of 0.17 ns/byte here (`Tools/pagecache-bench.c`, modes 1 and 0). `close`
    /// gives back what is left.
    private func preallocateAhead(of size: Int) {
        guard preallocatedSize - size < Self.preallocationStep / 2 else { return }
        let end = size + Self.preallocationStep
        file.preallocate(from: max(size, preallocatedSize), to: end)
        preallocatedSize = end
    }

    static let preallocationStep = 16 << 20

    /// Under `appendfsync always`, zeros are written 4 to 12 MiB past the data and synced, so that appends
    /// overwrite initialized blocks inside the file's size: then an fsync writes the data and flushes the device,
    /// with nothing for the file system's journal to commit. A 5 KB write + `fdatasync` takes 85 µs here that way,
    /// against 139–141 µs appending, appending into blocks reserved with `fallocate`, or into a file extended with
    /// `fallocate` (`Tools/fsync-bench.c`); SET at pipeline 1 under `always` went from 0.98–1.00× to 1.31–1.37× Redis's
    /// rate (`compare.sh`, 3–5 rounds each, same day). A crash leaves the zeros after the last batch; the marker file
    /// (`LogFormat.reservedMarker`) tells recovery they are reserved space, not a torn tail. Written by the sync thread, off
    /// the event loop; the first fsync after each step also commits the new size.
    private func writeZerosAhead(holdingSyncLock: Bool = false) {
        if !holdingSyncLock { syncLock.lock() }
        defer { if !holdingSyncLock { syncLock.unlock() } }
        fileLock.lock()
        defer { fileLock.unlock() }
        lock.lock()
        let size = writtenSize
        let failing = failure != nil
        lock.unlock()
        guard !failing, !zerosFailed, zeroedSize - size < zerosLowWater, file.canWriteZeros else { return }
        do {
            if zeroedSize == 0 {
                // Before the first zeros of this file: recovery must know they may be there.
                let marker = LogFormat.reservedMarker(segmentPath: directory + "/" + segmentName)
                if !fileSystem.fileExists(marker) { try fileSystem.writeNewFile(marker, [], directory: directory) }
            }
            let from = max(zeroedSize, size)
            try file.writeZeros(from: from, to: from + zerosStep)
            zeroedSize = from + zerosStep
        } catch {
            // Not a write failure: the zeros are an optimization, and appends extend the file as before. Whatever
            // part of them was written stays past the data (the marker covers it) until the segment is closed.
            zerosFailed = true
            logger.warning("Writing zeros ahead of the log failed: \(error). Appending without them.")
        }
        do {
            try file.sync()
        } catch {
            // This fsync covered written batches too, and the kernel reports a writeback error once: it is the log's
            // fsync failure, repaired like any other.
            fsyncFailed(error)
        }
    }

    /// An fsync of the log failed: writes are refused until `repair` has rewritten every unsynced batch (the
    /// kernel may have dropped their pages, so a later fsync proves nothing about them).
    private func fsyncFailed(_ error: Error) {
        lock.lock()
        failure = "\(error)"
        failedSync = true
        lock.unlock()
        logger.warning("fsync of the log failed: \(error). Writes are refused; the unsynced batches will be rewritten.")
    }

    /// Bytes of zeros one step writes, and the fewest left past the data before the next step (under `syncLock`;
    /// instance values so that tests can make the steps small).
    var zerosStep = 8 << 20
    var zerosLowWater = 4 << 20

    /// After a write or fsync error: reopen, cut back to the last synced length, rewrite every batch not known to
    /// be durable, fsync. A failed fsync is never trusted on retry: the page cache may have dropped the pages.
    /// Runs on the sync thread only (under `syncLock`), and calls `onAdvance` when done.
    private func repair() -> Bool {
        let path = directory + "/" + segmentName
        fileLock.lock()
        defer { fileLock.unlock() }
        // Batches formed while this runs join the retry queue; loop until it is empty.
        while true {
            lock.lock()
            let rewriteUnsynced = failedSync
            let base = rewriteUnsynced ? syncedSize : writtenSize
            let batches = (rewriteUnsynced ? unsynced : []) + retryQueue
            let taken = retryQueue.count
            lock.unlock()
            var syncing = false
            do {
                file.close()
                file = try fileSystem.openForAppend(path)
                try file.truncate(to: base)
                zeroedSize = 0  // cut with the rest; written again once the log is healthy
                var size = base
                for b in batches {
                    try b.write(to: file)
                    size += b.size
                }
                syncing = true
                try file.sync()
                lock.lock()
                let last = batches.last.map { max($0.lastSeq, writtenSeq) } ?? max(writtenSeq, syncedSeq)
                syncedSeq = last
                writtenSeq = last
                syncedSize = size
                writtenSize = size
                recycle(unsynced[...])
                unsynced.removeAll()
                unsyncedBytes = 0
                retryQueue.removeFirst(taken)
                let more = !retryQueue.isEmpty
                if !more {
                    failure = nil
                    failedSync = false
                }
                fsyncCount += 1
                lastFsync = Self.clock()
                let callback = onAdvance
                lock.unlock()
                if more { continue }
                logger.notice("The log is writable again; writes are accepted.")
                callback?()
                return true
            } catch {
                lock.lock()
                failure = "\(error)"
                // After a failed fsync the unsynced pages may be gone: start again from the synced length. After a
                // failed write, what was written before stays (cutting it could lose acknowledged writes).
                if syncing { failedSync = true }
                lock.unlock()
                logger.warning("Retrying the log write failed: \(error)")
                return false
            }
        }
    }

    /// Keeps the payload buffers of synced batches for reuse, enough for the batches `unsyncedLimit` lets
    /// accumulate, so that steady writing allocates nothing (called under `lock`).
    private func recycle(_ batches: ArraySlice<Batch>) {
        for b in batches where spareBuffers.count < 16 && b.payload.capacity <= Self.maxBufferCapacity {
            spareBuffers.append(b.payload)
        }
    }

    /// A batch as written: its annotation line and the kept copy of its payload (written as one `writev`).
    struct Batch {
        var lastSeq: UInt64
        var annotation: [UInt8]
        var payload: LogBuffer
        var size: Int { annotation.count + payload.count }

        /// Writes the annotation and then the payload's bytes, taken from `source` when given (a buffer holding
        /// the same bytes, still in the cache).
        func write(to file: WritableFile, from source: LogBuffer? = nil) throws {
            try annotation.withUnsafeBytes { a in try file.write(a, (source ?? payload).bytes) }
        }
    }

    /// Flushes what is pending, fsyncs, stops the sync thread and closes the file.
    @discardableResult
    public func close(now: Int64) -> Bool {
        flush(now: now)
        lock.lock()
        closed = true
        stopping = true
        lock.broadcast()
        while syncThread != nil && !syncThreadDone { lock.wait() }
        lock.unlock()
        var attempts = 0
        var synced = syncNow()
        while !synced && attempts < 3 {
            attempts += 1
            synced = syncNow()
        }
        fileLock.lock()
        let zeros = zeroedSize > 0 || zerosFailed
        if synced && (preallocatedSize > 0 || zeros) {
            // Cutting a file to its own size gives back the blocks reserved past its end, and the zeros.
            lock.lock()
            let size = writtenSize
            lock.unlock()
            if (try? file.truncate(to: size)) != nil, zeros, (try? file.sync()) != nil {
                try? fileSystem.remove(LogFormat.reservedMarker(segmentPath: directory + "/" + segmentName))
            }
        }
        file.close()
        fileLock.unlock()
        return synced
    }
}
