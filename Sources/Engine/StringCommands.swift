import RESP

/// Strings: SET and friends, counters, ranges.
enum StringCommands {

    /// Expiry options shared by SET and GETEX.
    enum ExpireOption {
        case none, keepTTL, persist
        case at(Int64)  // absolute Unix ms
    }

    /// Parses `EX s | PX ms | EXAT s | PXAT ms` at `i`; returns the absolute time in ms.
    static func parseExpire(_ e: Engine, _ args: Args, _ i: Int, command: String) throws -> Int64 {
        guard i + 1 < args.count else { throw RedisError.syntax }
        let n = try args.int(i + 1)
        let seconds = args.matches(i, "ex") || args.matches(i, "exat")
        let relative = args.matches(i, "ex") || args.matches(i, "px")
        guard n > 0, !seconds || n <= Int.max / 1000 else { throw RedisError.invalidExpireTime(command) }
        var ms = Int64(seconds ? n * 1000 : n)
        if relative {
            let (sum, overflow) = ms.addingReportingOverflow(e.now)
            guard !overflow else { throw RedisError.invalidExpireTime(command) }
            ms = sum
        }
        return ms
    }

    /// 1 EX, 2 PX, 3 EXAT, 4 PXAT, 0 otherwise.
    static func expireKind(_ args: Args, _ i: Int) -> UInt8 {
        if args.matches(i, "ex") { return 1 }
        if args.matches(i, "px") { return 2 }
        if args.matches(i, "exat") { return 3 }
        if args.matches(i, "pxat") { return 4 }
        return 0
    }

    static func set(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var nx = false, xx = false, get = false
        var expire = ExpireOption.none
        // Like Redis, an option may repeat (the last value wins) but must not meet a conflicting one.
        var expireWord: UInt8 = 0  // 1 EX, 2 PX, 3 EXAT, 4 PXAT, 5 KEEPTTL
        var i = 3
        while i < args.count {
            let word = expireKind(args, i)
            if args.matches(i, "nx") && !xx {
                nx = true
            } else if args.matches(i, "xx") && !nx {
                xx = true
            } else if args.matches(i, "get") {
                get = true
            } else if args.matches(i, "keepttl") && (expireWord == 0 || expireWord == 5) {
                expire = .keepTTL
                expireWord = 5
            } else if word != 0 && (expireWord == 0 || expireWord == word) && i + 1 < args.count {
                expire = .at(try parseExpire(e, args, i, command: "set"))
                expireWord = word
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        let db = e.db(c)
        let key = args[1]
        let existing = e.lookup(db, key)
        if get {
            if let idx = existing {
                guard case .string(let old) = db.table[idx].value.value else { throw RedisError.wrongType }
                r.bulk(old)
            } else {
                r.null()
            }
        }
        if (nx && existing != nil) || (xx && existing == nil) {
            if !get { r.null() }
            return
        }
        var keepTTL = false
        if case .keepTTL = expire { keepTTL = true }
        let idx = e.setString(db, key, args[2], keepTTL: keepTTL, existing: existing)
        e.dirty += 1
        if case .at(let when) = expire {
            db.setExpire(at: idx, when)
            // Logged with an absolute time, so replay at any later moment gives the same expiry.
            e.propagateInstead(db: c.db, [Array("SET".utf8), args.bytes(1), args.bytes(2), Array("PXAT".utf8), Array(String(when).utf8)])
        }
        if !get { r.ok() }
    }

    static func get(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard let (_, v) = try e.readString(e.db(c), args[1]) else {
            r.null()
            return
        }
        r.bulk(v)
    }

    static func getdel(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        guard let (idx, v) = try e.readString(db, args[1]) else {
            r.null()
            return
        }
        r.bulk(v)
        db.remove(at: idx)
        e.dirty += 1
        e.propagateInstead(db: c.db, [Array("DEL".utf8), args.bytes(1)])
    }

    static func getex(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var option = ExpireOption.none
        var optionWord: UInt8 = 0  // expireKind, or 6 for PERSIST
        var i = 2
        while i < args.count {
            let word = expireKind(args, i)
            if word != 0 && (optionWord == 0 || optionWord == word) && i + 1 < args.count {
                option = .at(try parseExpire(e, args, i, command: "getex"))
                optionWord = word
                i += 1
            } else if args.matches(i, "persist") && (optionWord == 0 || optionWord == 6) {
                option = .persist
                optionWord = 6
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        let db = e.db(c)
        guard let (idx, v) = try e.readString(db, args[1]) else {
            r.null()
            return
        }
        r.bulk(v)
        switch option {
        case .at(let when) where when <= e.now:
            db.remove(at: idx)
            e.dirty += 1
            e.propagateInstead(db: c.db, [Array("DEL".utf8), args.bytes(1)])
        case .at(let when):
            db.setExpire(at: idx, when)
            e.dirty += 1
            e.propagateInstead(db: c.db, [Array("PEXPIREAT".utf8), args.bytes(1), Array(String(when).utf8)])
        case .persist where db.table[idx].value.expireAt != 0:
            db.setExpire(at: idx, 0)
            e.dirty += 1
            e.propagateInstead(db: c.db, [Array("PERSIST".utf8), args.bytes(1)])
        default:
            break
        }
    }

    static func getset(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        let existing = e.lookup(db, args[1])
        if let idx = existing {
            guard case .string(let v) = db.table[idx].value.value else { throw RedisError.wrongType }
            r.bulk(v)
        } else {
            r.null()
        }
        _ = e.setString(db, args[1], args[2], existing: existing)
        e.dirty += 1
    }

    static func mget(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        r.arrayHeader(args.count - 1)
        for i in 1..<args.count {
            if let idx = e.lookupRead(db, args[i]), case .string(let v) = db.table[idx].value.value {
                r.bulk(v)
            } else {
                r.null()
            }
        }
    }

    static func mset(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard args.count % 2 == 1 else { throw RedisError.wrongArity(args.matches(0, "msetnx") ? "msetnx" : "mset") }
        let db = e.db(c)
        if args.matches(0, "msetnx") {
            var i = 1
            while i < args.count {
                if e.lookup(db, args[i]) != nil {
                    r.integer(0)
                    return
                }
                i += 2
            }
        }
        var i = 1
        while i < args.count {
            _ = e.setString(db, args[i], args[i + 1], existing: e.lookup(db, args[i]))
            e.dirty += 1
            i += 2
        }
        if args.matches(0, "msetnx") { r.integer(1) } else { r.ok() }
    }

    static func setnx(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        if e.lookup(db, args[1]) != nil {
            r.integer(0)
            return
        }
        _ = e.setString(db, args[1], args[2])
        e.dirty += 1
        r.integer(1)
    }

    /// SETEX key seconds value / PSETEX key ms value.
    static func setex(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let millis = args.matches(0, "psetex")
        let name = millis ? "psetex" : "setex"
        let n = try args.int(2)
        guard n > 0, millis || n <= Int.max / 1000 else { throw RedisError.invalidExpireTime(name) }
        let (when, overflow) = Int64(millis ? n : n * 1000).addingReportingOverflow(e.now)
        guard !overflow else { throw RedisError.invalidExpireTime(name) }
        let db = e.db(c)
        let idx = e.setString(db, args[1], args[3], existing: e.lookup(db, args[1]))
        db.setExpire(at: idx, when)
        e.dirty += 1
        e.propagateInstead(db: c.db, [Array("SET".utf8), args.bytes(1), args.bytes(3), Array("PXAT".utf8), Array(String(when).utf8)])
        r.ok()
    }

    static func append(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        if let idx = e.lookup(db, args[1]) {
            guard case .string(var v) = db.table[idx].value.value else { throw RedisError.wrongType }
            guard args[2].count <= e.config.protoMaxBulkLen - v.count else { throw RedisError.stringTooLong }
            db.table[idx].value.value = .string([])
            v.append(contentsOf: args[2])
            db.table[idx].value.value = .string(v)
            db.table[idx].value.encoding = .raw
            r.integer(v.count)
        } else {
            _ = e.setString(db, args[1], args[2])
            r.integer(args[2].count)
        }
        e.dirty += 1
    }

    static func strlen(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.integer(try e.readString(e.db(c), args[1])?.value.count ?? 0)
    }

    static func getrange(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var start = try args.int(2)
        var end = try args.int(3)
        guard let (_, v) = try e.readString(e.db(c), args[1]) else {
            r.bulk([])
            return
        }
        let len = v.count
        if start < 0 && end < 0 && start > end {
            r.bulk([])
            return
        }
        if start < 0 { start = len + start }
        if end < 0 { end = len + end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= len { end = len - 1 }
        if start > end || len == 0 {
            r.bulk([])
            return
        }
        v.withUnsafeBytes { r.bulk(UnsafeRawBufferPointer(rebasing: $0[start...end])) }
    }

    static func setrange(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let offset = try args.int(2)
        guard offset >= 0 else { throw RedisError.offsetOutOfRange }
        let value = args[3]
        let db = e.db(c)
        let existing = e.lookup(db, args[1])
        var current: [UInt8] = []
        if let idx = existing {
            guard case .string(let v) = db.table[idx].value.value else { throw RedisError.wrongType }
            current = v
        }
        if value.count == 0 {
            r.integer(current.count)
            return
        }
        guard value.count <= e.config.protoMaxBulkLen, offset <= e.config.protoMaxBulkLen - value.count else {
            throw RedisError.stringTooLong
        }
        if let idx = existing { db.table[idx].value.value = .string([]) }
        if current.count < offset + value.count {
            current.append(contentsOf: repeatElement(0, count: offset + value.count - current.count))
        }
        current.withUnsafeMutableBytes { dst in
            UnsafeMutableRawBufferPointer(rebasing: dst[offset..<(offset + value.count)]).copyMemory(from: value)
        }
        if let idx = existing {
            db.table[idx].value.value = .string(current)
            db.table[idx].value.encoding = .raw
        } else {
            db.insert(args.bytes(1), value: .string(current))
            db.table[db.table.count - 1].value.encoding = .raw
        }
        e.dirty += 1
        r.integer(current.count)
    }

    /// INCR, DECR, INCRBY, DECRBY.
    static func incr(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var delta = 1
        if args.matches(0, "decr") {
            delta = -1
        } else if args.matches(0, "incrby") {
            delta = try args.int(2)
        } else if args.matches(0, "decrby") {
            let d = try args.int(2)
            guard d != Int.min else { throw RedisError.message("ERR decrement would overflow") }
            delta = -d
        }
        let db = e.db(c)
        let existing = e.lookup(db, args[1])
        var value = 0
        if let idx = existing {
            guard case .string(let v) = db.table[idx].value.value else { throw RedisError.wrongType }
            guard let n = v.withUnsafeBytes({ RESPScan.parseInt($0, 0, $0.count) }) else { throw RedisError.notInteger }
            value = n
        }
        let (sum, overflow) = value.addingReportingOverflow(delta)
        guard !overflow else { throw RedisError.overflow }
        var w = ReplyWriter(capacity: 24)
        w.decimal(sum)
        w.bytes.withUnsafeBytes { _ = e.setString(db, args[1], $0, keepTTL: true, existing: existing) }
        e.dirty += 1
        r.integer(sum)
    }

    static func incrbyfloat(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let db = e.db(c)
        let existing = e.lookup(db, args[1])
        var value: LongDouble = 0
        if let idx = existing {
            guard case .string(let v) = db.table[idx].value.value else { throw RedisError.wrongType }
            guard let d = v.withUnsafeBytes({ LongDouble.parse($0) }) else { throw RedisError.notFloat }
            value = d
        }
        guard let incr = LongDouble.parse(args[2]) else { throw RedisError.notFloat }
        let result = value + incr
        guard result.isFinite else { throw RedisError.incrFloatNaNOrInfinity }
        let text = Array(LongDouble.format(result).utf8)
        let idx = text.withUnsafeBytes { e.setString(db, args[1], $0, keepTTL: true, existing: existing) }
        db.table[idx].value.encoding = .noInt
        e.dirty += 1
        r.bulk(text)
        // Logged as the resulting value, so replay does not depend on float rounding.
        e.propagateInstead(db: c.db, [Array("SET".utf8), args.bytes(1), text, Array("KEEPTTL".utf8)])
    }
}
