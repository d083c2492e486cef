import CGodisHash

/// The keyspace's hash table: entries stored densely, chained through 32-bit bucket heads.
///
/// Why not `Dictionary`: SCAN needs Redis's bucket cursor (reverse-binary increments, which survive growth and
/// shrinking between calls), RANDOMKEY and the expiry cycle need O(1) random sampling, and lookups must run on a
/// borrowed byte range (the request buffer) without building a key. Entries keep their hash, so growing only
/// re-links chains and never rehashes a key.
struct HashTable<Value> {
    struct Entry {
        var storedKey: KeyStorage
        var value: Value
        /// The key's hash (32 bits: enough for bucket indexes, and an entry fits in 64 bytes).
        var hash: UInt32
        var next: Int32

        /// The key as an array (allocates; for replies and slow paths).
        var key: [UInt8] { storedKey.bytes }
    }

    private(set) var entries: ContiguousArray<Entry> = []
    private var buckets: [Int32] = Array(repeating: -1, count: 4)
    private var mask: Int = 3

    var count: Int { entries.count }
    var bucketCount: Int { buckets.count }

    /// SipHash-1-2 under a per-process random key, as Redis's dictionaries: clients cannot pick colliding keys.
    /// (Swift's `Hasher`, SipHash-1-3 behind three calls, was 12 % of the CPU of a log replay.)
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: godis_hash(key.baseAddress, key.count)))
    }

    /// `mutating` only so that a call on a table stored in a class borrows it in place: a non-mutating call
    /// copies the struct first, retaining and releasing its arrays on every lookup (3 + 3 calls, ~15 % of a
    /// replay's CPU in `perf`).
    @inline(__always)
    mutating func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        var i = buckets.withUnsafeBufferPointer { $0[Int(truncatingIfNeeded: hash) & mask] }
        guard i >= 0 else { return nil }
        return entries.withUnsafeBufferPointer { e -> Int? in
            while i >= 0 {
                let idx = Int(i)
                if e[idx].hash == UInt32(truncatingIfNeeded: hash) && e[idx].storedKey.equals(key) { return idx }
                i = e[idx].next
            }
            return nil
        }
    }

    /// Room for `n` entries without growing: the array is reserved, not touched, so unused room costs address
    /// space, not memory. Growing by doubling copies every entry at each step (measured: replaying 1,000,000 SETs
    /// took 0.54–0.60 s growing, 0.49–0.51 s reserved).
    mutating func reserve(_ n: Int) {
        entries.reserveCapacity(n)
    }

    /// Gives back reserved room that stayed unused (more than half).
    mutating func trimReserve() {
        guard entries.capacity > 2 * entries.count + 1024 else { return }
        var trimmed = ContiguousArray<Entry>()
        trimmed.reserveCapacity(entries.count)
        trimmed.append(contentsOf: entries)
        entries = trimmed
    }

    /// Adds a key that is not present; returns its entry index.
    @discardableResult
    mutating func insert(key: [UInt8], hash: UInt64, value: Value) -> Int {
        key.withUnsafeBytes { insert(key: KeyStorage($0), hash: hash, value: value) }
    }

    @discardableResult
    mutating func insert(key: KeyStorage, hash: UInt64, value: Value) -> Int {
        if entries.count >= buckets.count { resize(to: buckets.count * 2) }
        let b = Int(truncatingIfNeeded: hash) & mask
        let idx = entries.count
        entries.append(Entry(storedKey: key, value: value, hash: UInt32(truncatingIfNeeded: hash), next: buckets[b]))
        buckets[b] = Int32(idx)
        return idx
    }

    /// Removes entry `idx` and returns it. The last entry moves into its place.
    @discardableResult
    mutating func remove(at idx: Int) -> Entry {
        unlink(idx)
        let last = entries.count - 1
        if idx != last {
            // Point whatever referenced `last` at `idx`.
            let b = Int(truncatingIfNeeded: entries[last].hash) & mask
            if buckets[b] == Int32(last) {
                buckets[b] = Int32(idx)
            } else {
                var i = Int(buckets[b])
                while entries[i].next != Int32(last) { i = Int(entries[i].next) }
                entries[i].next = Int32(idx)
            }
            entries.swapAt(idx, last)
        }
        let removed = entries.removeLast()
        if entries.count > 16 && entries.count * 8 < buckets.count { resize(to: buckets.count / 2) }
        return removed
    }

    private mutating func unlink(_ idx: Int) {
        let b = Int(truncatingIfNeeded: entries[idx].hash) & mask
        if buckets[b] == Int32(idx) {
            buckets[b] = entries[idx].next
            return
        }
        var i = Int(buckets[b])
        while entries[i].next != Int32(idx) { i = Int(entries[i].next) }
        entries[i].next = entries[idx].next
    }

    mutating func removeAll() {
        entries = []
        buckets = Array(repeating: -1, count: 4)
        mask = 3
    }

    private mutating func resize(to newCount: Int) {
        buckets = Array(repeating: -1, count: newCount)
        mask = newCount - 1
        for i in entries.indices {
            let b = Int(truncatingIfNeeded: entries[i].hash) & mask
            entries[i].next = buckets[b]
            buckets[b] = Int32(i)
        }
    }

    /// Borrowed, not copied: reading one field (`table[i].value.expireAt`) must not retain the entry's key and
    /// value buffers.
    subscript(idx: Int) -> Entry {
        _read { yield entries[idx] }
        _modify { yield &entries[idx] }
    }

    /// Visits the entries of the bucket at `cursor` and returns the next cursor (0 when done), with Redis's
    /// reverse-binary increment so that a key present for the whole scan is returned at least once even if the
    /// table grows or shrinks between calls.
    func scan(cursor: UInt64, _ visit: (Int) -> Void) -> UInt64 {
        let m = UInt64(mask)
        var i = buckets[Int(cursor & m)]
        while i >= 0 {
            visit(Int(i))
            i = entries[Int(i)].next
        }
        var v = cursor | ~m
        v = v.bitReversed
        v &+= 1
        v = v.bitReversed
        return v
    }

    func randomIndex() -> Int? {
        entries.isEmpty ? nil : Int.random(in: 0..<entries.count)
    }
}

extension UInt64 {
    var bitReversed: UInt64 {
        var v = self
        v = ((v >> 1) & 0x5555_5555_5555_5555) | ((v & 0x5555_5555_5555_5555) << 1)
        v = ((v >> 2) & 0x3333_3333_3333_3333) | ((v & 0x3333_3333_3333_3333) << 2)
        v = ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((v & 0x0F0F_0F0F_0F0F_0F0F) << 4)
        return v.byteSwapped
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
