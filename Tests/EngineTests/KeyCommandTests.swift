import RESP
import Testing

@testable import Engine

struct KeyCommandTests {
    @Test func delExistsType() {
        let h = Harness()
        h.run("MSET", "a", "1", "b", "2")
        #expect(h.run("EXISTS", "a", "a", "b", "c") == .integer(3))
        #expect(h.run("TYPE", "a") == .simpleString("string"))
        #expect(h.run("TYPE", "zz") == .simpleString("none"))
        #expect(h.run("DEL", "a", "b", "c") == .integer(2))
        #expect(h.run("DBSIZE") == .integer(0))
    }

    @Test func expiryIsLazyAndActive() {
        let h = Harness()
        h.run("SET", "k", "v", "PX", "1")
        h.run("SET", "keep", "v")
        usleep(5_000)
        #expect(h.run("GET", "k") == .nilBulk)
        #expect(h.logged.last! == ["DEL", "k"])
        for i in 0..<100 { h.run("SET", "e\(i)", "v", "PX", "1") }
        usleep(5_000)
        h.engine.activeExpireCycle()
        #expect(h.run("DBSIZE") == .integer(1))
        #expect(h.engine.stats.expiredKeys == 101)
    }

    @Test func expireOptions() {
        let h = Harness()
        h.run("SET", "k", "v")
        #expect(h.run("EXPIRE", "k", "100", "XX") == .integer(0))
        #expect(h.run("EXPIRE", "k", "100", "NX") == .integer(1))
        #expect(h.run("EXPIRE", "k", "200", "NX") == .integer(0))
        #expect(h.run("EXPIRE", "k", "50", "GT") == .integer(0))
        #expect(h.run("EXPIRE", "k", "500", "GT") == .integer(1))
        #expect(h.run("EXPIRE", "k", "10", "LT") == .integer(1))
        #expect(h.run("EXPIRE", "k", "10", "NX", "XX") == .err("ERR NX and XX, GT or LT options at the same time are not compatible"))
        #expect(h.run("EXPIRE", "k", "10", "GT", "LT") == .err("ERR GT and LT options at the same time are not compatible"))
        #expect(h.run("PERSIST", "k") == .integer(1))
        #expect(h.run("TTL", "k") == .integer(-1))
        #expect(h.run("TTL", "nokey") == .integer(-2))
        #expect(h.run("EXPIRETIME", "k") == .integer(-1))
        #expect(h.run("EXPIRE", "k", "-1") == .integer(1))
        #expect(h.run("EXISTS", "k") == .integer(0))
        #expect(h.logged.last! == ["DEL", "k"])
    }

    @Test func renameCopyMove() {
        let h = Harness()
        h.run("SET", "a", "1", "EX", "100")
        #expect(h.run("RENAME", "nokey", "b") == .err("ERR no such key"))
        #expect(h.run("RENAME", "a", "b") == .ok)
        #expect(h.run("GET", "b") == .bulk("1"))
        if case .integer(let t) = h.run("TTL", "b") { #expect(t > 90) } else { Issue.record("ttl") }
        h.run("SET", "c", "3")
        #expect(h.run("RENAMENX", "b", "c") == .integer(0))
        #expect(h.run("COPY", "c", "d") == .integer(1))
        #expect(h.run("COPY", "c", "d") == .integer(0))
        #expect(h.run("COPY", "c", "d", "REPLACE") == .integer(1))
        #expect(h.run("COPY", "c", "c") == .err("ERR source and destination objects are the same"))
        #expect(h.run("COPY", "c", "c", "DB", "1") == .integer(1))
        #expect(h.run("MOVE", "c", "0") == .err("ERR source and destination objects are the same"))
        #expect(h.run("MOVE", "c", "99") == .err("ERR DB index is out of range"))
        #expect(h.run("MOVE", "c", "1") == .integer(0))
        #expect(h.run("MOVE", "d", "2") == .integer(1))
        #expect(h.run("SELECT", "2") == .ok)
        #expect(h.run("GET", "d") == .bulk("3"))
    }

    @Test func keysAndScanSeeEveryKey() {
        let h = Harness()
        for i in 0..<1000 { h.run("SET", "key:\(i)", "v") }
        if case .array(let keys?) = h.run("KEYS", "key:1??") { #expect(keys.count == 100) } else { Issue.record("keys") }
        // A scan that runs while the table grows still returns every key that existed at the start.
        var seen = Set<String>()
        var cursor = "0"
        var rounds = 0
        repeat {
            guard case .array(let parts?) = h.run("SCAN", cursor, "COUNT", "50"), case .bulkString(let c?) = parts[0],
                case .array(let keys?) = parts[1]
            else { Issue.record("scan reply"); return }
            for case .bulkString(let k?) in keys { seen.insert(String(decoding: k, as: UTF8.self)) }
            cursor = String(decoding: c, as: UTF8.self)
            if rounds == 3 { for i in 1000..<5000 { h.run("SET", "key:\(i)", "v") } }
            rounds += 1
        } while cursor != "0" && rounds < 10_000
        for i in 0..<1000 { #expect(seen.contains("key:\(i)")) }
    }

    @Test func globMatchesLikeRedis() {
        func m(_ p: String, _ s: String, nocase: Bool = false) -> Bool { Glob.match(Array(p.utf8), Array(s.utf8), nocase: nocase) }
        #expect(m("*", "anything"))
        #expect(m("h?llo", "hello"))
        #expect(!m("h?llo", "hllo"))
        #expect(m("h[ae]llo", "hallo"))
        #expect(!m("h[^e]llo", "hello"))
        #expect(m("h[a-b]llo", "hbllo"))
        #expect(m("h\\*llo", "h*llo"))
        #expect(!m("h\\*llo", "hello"))
        #expect(m("*o*o*", "foobar"))
        #expect(m("HELLO", "hello", nocase: true))
    }

    @Test func databasesAndSwap() {
        let h = Harness()
        h.run("SET", "k", "0")
        #expect(h.run("SELECT", "16") == .err("ERR DB index is out of range"))
        #expect(h.run("SELECT", "x") == .err("ERR value is not an integer or out of range"))
        h.run("SELECT", "1")
        h.run("SET", "k", "1")
        #expect(h.run("SWAPDB", "0", "1") == .ok)
        #expect(h.run("GET", "k") == .bulk("0"))
        #expect(h.run("SWAPDB", "0", "x") == .err("ERR invalid second DB index"))
        h.run("FLUSHALL")
        #expect(h.run("DBSIZE") == .integer(0))
        #expect(h.logged.contains { $0 == ["SELECT", "1"] } == false, "SELECT itself is not a write")
        #expect(h.log.commands.last!.db == 1)
    }
}

#if canImport(Glibc)
import Glibc
#endif
