/// A value as the keyspace stores it. Only strings exist so far; lists, hashes and sets are added as cases.
public enum StoredValue {
    case string([UInt8])

    /// The name TYPE reports.
    public var typeName: String {
        switch self {
        case .string: return "string"
        }
    }
}

struct DBEntry {
    var value: StoredValue
    /// What OBJECT ENCODING reports for strings changed in place (fits in the padding after `value`).
    var encoding: StringEncodingHint = .auto
    /// Absolute expiry in Unix milliseconds; 0 when the key has no TTL.
    var expireAt: Int64

    init(value: StoredValue, expireAt: Int64) {
        self.value = value
        self.expireAt = expireAt
    }
}

/// Redis encodes a string by its content when it is set (`int`, `embstr`, `raw`), but a string changed in place
/// (APPEND, SETRANGE) becomes `raw`, and INCRBYFLOAT's result is never `int`.
enum StringEncodingHint: UInt8 {
    case auto, raw, noInt
}

/// One of the numbered databases (SELECT n): the keys, and an index of the keys that carry a TTL so the
/// active expiry cycle can sample them.
public final class Database {
    public internal(set) var index: Int
    var table = HashTable<DBEntry>()
    var volatile = HashTable<Void>()
    /// Number of keys (expired keys not yet reclaimed included, as in Redis's DBSIZE).
    public var count: Int { table.count }
    public var expiresCount: Int { volatile.count }

    init(index: Int) { self.index = index }

    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer) -> Int? {
        table.find(key, hash: HashTable<DBEntry>.hash(key))
    }

    func insert(_ key: [UInt8], value: StoredValue, expireAt: Int64 = 0) {
        key.withUnsafeBytes { insert($0, value: value, expireAt: expireAt) }
    }

    /// Inserts a whole entry (RENAME, COPY, MOVE keep the value, its TTL and its encoding).
    func insert(_ key: [UInt8], entry: DBEntry) {
        key.withUnsafeBytes { insert($0, value: entry.value, expireAt: entry.expireAt) }
        table[table.count - 1].value.encoding = entry.encoding
    }

    @inline(__always)
    func insert(_ key: UnsafeRawBufferPointer, value: StoredValue, expireAt: Int64 = 0, hash: UInt64? = nil) {
        let h = hash ?? HashTable<DBEntry>.hash(key)
        let stored = KeyStorage(key)
        table.insert(key: stored, hash: h, value: DBEntry(value: value, expireAt: expireAt))
        if expireAt != 0 { volatile.insert(key: stored, hash: h, value: ()) }
    }

    /// Removes entry `idx` (and its TTL) and returns its value.
    @discardableResult
    func remove(at idx: Int) -> DBEntry {
        let e = table.remove(at: idx)
        if e.value.expireAt != 0 {
            let v = e.storedKey.withBytes { volatile.find($0, hash: UInt64(e.hash)) }
            if let v { volatile.remove(at: v) }
        }
        return e.value
    }

    func setExpire(at idx: Int, _ when: Int64) {
        let had = table[idx].value.expireAt != 0
        table[idx].value.expireAt = when
        if !had && when != 0 {
            volatile.insert(key: table[idx].storedKey, hash: UInt64(table[idx].hash), value: ())
        } else if had && when == 0 {
            let h = UInt64(table[idx].hash)
            if let v = table[idx].storedKey.withBytes({ volatile.find($0, hash: h) }) { volatile.remove(at: v) }
        }
    }

    func removeAll() {
        table.removeAll()
        volatile.removeAll()
    }

    /// Replaces the value at `idx` with string bytes, reusing the old buffer when it is big enough.
    @inline(__always)
    func overwriteString(at idx: Int, with bytes: UnsafeRawBufferPointer) {
        table[idx].value.value.replaceString(with: bytes)
        table[idx].value.encoding = .auto
    }
}

extension StoredValue {
    /// Overwrites in place when the stored buffer is unique and large enough; otherwise allocates.
    @inline(__always)
    mutating func replaceString(with bytes: UnsafeRawBufferPointer) {
        if case .string(var old) = self {
            self = .string([])  // drop the enum's reference so `old` is uniquely referenced
            if old.capacity >= bytes.count && old.capacity <= bytes.count * 2 + 32 {
                old.removeAll(keepingCapacity: true)
                old.append(contentsOf: bytes)
                self = .string(old)
                return
            }
        }
        self = .string(Array(bytes))
    }
}
