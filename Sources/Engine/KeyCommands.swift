import RESP

/// Generic key commands: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, COPY, MOVE, the expiry family, OBJECT.
enum KeyCommands {
    static func del(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        var n = 0
        for i in 1..<args.count {
            if let idx = e.lookup(db, args[i]) {
                db.remove(at: idx)
                n += 1
            }
        }
        e.dirty += n
        r.integer(n)
    }

    static func exists(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        var n = 0
        for i in 1..<args.count where e.lookupRead(db, args[i]) != nil { n += 1 }
        r.integer(n)
    }

    static func type(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        guard let idx = e.lookup(db, args[1]) else {
            r.simple("none")
            return
        }
        r.simple(db.table[idx].value.value.typeName)
    }

    static func keys(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        let pattern = args[1]
        let all = pattern.count == 1 && pattern[0] == UInt8(ascii: "*")
        var out: [[UInt8]] = []
        for entry in db.table.entries {
            if entry.value.expireAt != 0 && entry.value.expireAt <= e.now { continue }
            if all || entry.key.withUnsafeBytes({ Glob.match(pattern, $0) }) { out.append(entry.key) }
        }
        r.arrayHeader(out.count)
        for k in out { r.bulk(k) }
    }

    static func scan(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard let cursor = UInt64(args.string(1)) else { throw RedisError.message("ERR invalid cursor") }
        var count = 10
        var pattern: [UInt8]? = nil
        var typeFilter: String? = nil
        var i = 2
        while i < args.count {
            guard i + 1 < args.count else { throw RedisError.syntax }
            if args.matches(i, "count") {
                count = try args.int(i + 1)
                guard count >= 1 else { throw RedisError.syntax }
            } else if args.matches(i, "match") {
                pattern = args.bytes(i + 1)
            } else if args.matches(i, "type") {
                typeFilter = args.string(i + 1).lowercased()
            } else {
                throw RedisError.syntax
            }
            i += 2
        }
        let db = e.db(c)
        var keys: [[UInt8]] = []
        var next = cursor
        var budget = count > Int.max / 10 ? Int.max : count * 10
        repeat {
            next = db.table.scan(cursor: next) { idx in keys.append(db.table[idx].key) }
            budget -= 1
        } while next != 0 && keys.count < count && budget > 0
        var reply: [[UInt8]] = []
        for k in keys {
            guard let idx = k.withUnsafeBytes({ e.lookup(db, $0) }) else { continue }
            if let pattern, !(pattern.withUnsafeBytes { p in k.withUnsafeBytes { Glob.match(p, $0) } }) { continue }
            if let typeFilter, db.table[idx].value.value.typeName != typeFilter { continue }
            reply.append(k)
        }
        r.arrayHeader(2)
        r.bulk(String(next))
        r.arrayHeader(reply.count)
        for k in reply { r.bulk(k) }
    }

    static func randomkey(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        for _ in 0..<100 {
            guard let idx = db.table.randomIndex() else { break }
            let key = db.table[idx].key
            if key.withUnsafeBytes({ e.lookup(db, $0) }) != nil {
                r.bulk(key)
                return
            }
        }
        // Mostly expired keys: fall back to a full pass.
        for entry in db.table.entries where entry.value.expireAt == 0 || entry.value.expireAt > e.now {
            r.bulk(entry.key)
            return
        }
        r.null()
    }

    /// RENAME and RENAMENX.
    static func rename(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let nx = args.matches(0, "renamenx")
        let db = e.db(c)
        guard let src = e.lookup(db, args[1]) else { throw RedisError.noSuchKey }
        if args[1].elementsEqual(args[2]) {
            if nx { r.integer(0) } else { r.ok() }
            return
        }
        if let dst = e.lookup(db, args[2]) {
            if nx {
                r.integer(0)
                return
            }
            db.remove(at: dst)
        }
        // `remove` may have moved the source entry: look it up again.
        let idx = db.find(args[1]) ?? src
        let entry = db.remove(at: idx)
        db.insert(args.bytes(2), entry: entry)
        e.dirty += 1
        if nx { r.integer(1) } else { r.ok() }
    }

    static func dbIndex(_ e: Engine, _ args: Args, _ i: Int) throws -> Int {
        let n = try args.int32(i)
        guard n >= 0 && n < e.databases.count else { throw RedisError.dbIndexOutOfRange }
        return n
    }

    static func copy(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var target = c.db
        var replace = false
        var i = 3
        while i < args.count {
            if args.matches(i, "replace") {
                replace = true
            } else if args.matches(i, "db") && i + 1 < args.count {
                target = try dbIndex(e, args, i + 1)
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        let src = e.db(c), dst = e.databases[target]
        if target == c.db && args[1].elementsEqual(args[2]) { throw RedisError.sameObject }
        guard let si = e.lookup(src, args[1]) else {
            r.integer(0)
            return
        }
        let entry = src.table[si].value
        if let di = e.lookup(dst, args[2]) {
            guard replace else {
                r.integer(0)
                return
            }
            dst.remove(at: di)
        }
        dst.insert(args.bytes(2), entry: entry)
        e.dirty += 1
        r.integer(1)
    }

    static func move(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let target = try dbIndex(e, args, 2)
        if target == c.db { throw RedisError.sameObject }
        let src = e.db(c), dst = e.databases[target]
        guard let si = e.lookup(src, args[1]), e.lookup(dst, args[1]) == nil else {
            r.integer(0)
            return
        }
        let entry = src.remove(at: si)
        dst.insert(args.bytes(1), entry: entry)
        e.dirty += 1
        r.integer(1)
    }

    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX|XX|GT|LT.
    static func expire(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let name = args.string(0).lowercased()
        let seconds = name == "expire" || name == "expireat"
        let relative = name == "expire" || name == "pexpire"
        var nx = false, xx = false, gt = false, lt = false
        for i in 3..<max(3, args.count) {
            if args.matches(i, "nx") { nx = true }
            else if args.matches(i, "xx") { xx = true }
            else if args.matches(i, "gt") { gt = true }
            else if args.matches(i, "lt") { lt = true }
            else { throw RedisError.message("ERR Unsupported option \(args.string(i))") }
        }
        if nx && (xx || gt || lt) { throw RedisError.gtLtNx }
        if gt && lt { throw RedisError.message("ERR GT and LT options at the same time are not compatible") }
        let n = try args.int(2)
        var when: Int64
        if seconds {
            let (m, o) = Int64(n).multipliedReportingOverflow(by: 1000)
            guard !o else { throw RedisError.invalidExpireTime(name) }
            when = m
        } else {
            when = Int64(n)
        }
        if relative {
            let (s, o) = when.addingReportingOverflow(e.now)
            guard !o else { throw RedisError.invalidExpireTime(name) }
            when = s
        }
        let db = e.db(c)
        guard let idx = e.lookup(db, args[1]) else {
            r.integer(0)
            return
        }
        let current = db.table[idx].value.expireAt
        if nx && current != 0 || xx && current == 0 {
            r.integer(0)
            return
        }
        if gt && (current == 0 || when <= current) || lt && current != 0 && when >= current {
            r.integer(0)
            return
        }
        e.dirty += 1
        if when <= e.now && !e.loading {
            db.remove(at: idx)
            e.propagateInstead(db: c.db, [Array("DEL".utf8), args.bytes(1)])
        } else {
            db.setExpire(at: idx, when)
            e.propagateInstead(db: c.db, [Array("PEXPIREAT".utf8), args.bytes(1), Array(String(when).utf8)])
        }
        r.integer(1)
    }

    /// TTL, PTTL, EXPIRETIME, PEXPIRETIME.
    static func ttl(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        guard let idx = e.lookupRead(db, args[1]) else {
            r.integer(-2)
            return
        }
        let at = db.table[idx].value.expireAt
        if at == 0 {
            r.integer(-1)
            return
        }
        if args.matches(0, "ttl") { r.integer(Int((at - e.now + 500) / 1000)) }
        else if args.matches(0, "pttl") { r.integer(Int(at - e.now)) }
        else if args.matches(0, "expiretime") { r.integer(Int(at / 1000)) }
        else { r.integer(Int(at)) }
    }

    static func persist(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        guard let idx = e.lookup(db, args[1]), db.table[idx].value.expireAt != 0 else {
            r.integer(0)
            return
        }
        db.setExpire(at: idx, 0)
        e.dirty += 1
        r.integer(1)
    }

    static func objectEncoding(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        guard let idx = e.lookup(db, args[2]) else {
            r.null()
            return
        }
        let hint = db.table[idx].value.encoding
        switch db.table[idx].value.value {
        case .string(let v):
            if hint == .raw {
                r.bulk("raw")
            } else if hint == .auto && v.count <= 20 && v.withUnsafeBytes({ RESPScan.parseInt($0, 0, $0.count) }) != nil {
                r.bulk("int")
            } else {
                r.bulk(v.count <= 44 ? "embstr" : "raw")
            }
        }
    }

    static func objectFreq(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard e.lookup(e.db(c), args[2]) != nil else {
            r.null()
            return
        }
        throw RedisError.message(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
        )
    }

    static func objectIdletime(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard e.lookup(e.db(c), args[2]) != nil else {
            r.null()
            return
        }
        r.integer(0)
    }

    static func objectRefcount(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard e.lookup(e.db(c), args[2]) != nil else {
            r.null()
            return
        }
        r.integer(1)
    }
}
