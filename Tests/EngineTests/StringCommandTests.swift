import RESP
import Testing

@testable import Engine

struct StringCommandTests {
    @Test func setAndGet() {
        let h = Harness()
        #expect(h.run("SET", "k", "v") == .ok)
        #expect(h.run("GET", "k") == .bulk("v"))
        #expect(h.run("GET", "missing") == .nilBulk)
        #expect(h.run("set", "k", "v2") == .ok)
        #expect(h.run("get", "k") == .bulk("v2"))
    }

    @Test func setOptions() {
        let h = Harness()
        #expect(h.run("SET", "k", "1", "NX") == .ok)
        #expect(h.run("SET", "k", "2", "NX") == .nilBulk)
        #expect(h.run("SET", "x", "2", "XX") == .nilBulk)
        #expect(h.run("SET", "k", "3", "XX", "GET") == .bulk("1"))
        #expect(h.run("SET", "k", "4", "NX", "XX") == .err("ERR syntax error"))
        #expect(h.run("SET", "k", "4", "EX", "10", "PX", "100") == .err("ERR syntax error"))
        #expect(h.run("SET", "k", "4", "EX", "0") == .err("ERR invalid expire time in 'set' command"))
        #expect(h.run("SET", "k", "4", "EX", "-1") == .err("ERR invalid expire time in 'set' command"))
        #expect(h.run("SET", "k", "4", "EX", "x") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("SET", "k", "4", "KEEPTTL", "EX", "1") == .err("ERR syntax error"))
        #expect(h.run("SET", "k", "5", "EX", "100") == .ok)
        if case .integer(let ttl) = h.run("TTL", "k") { #expect(ttl > 95 && ttl <= 100) } else { Issue.record("TTL") }
        #expect(h.run("SET", "k", "6", "KEEPTTL") == .ok)
        if case .integer(let ttl) = h.run("TTL", "k") { #expect(ttl > 95) } else { Issue.record("TTL") }
        #expect(h.run("SET", "k", "7") == .ok)
        #expect(h.run("TTL", "k") == .integer(-1))
    }

    @Test func relativeExpiryIsLoggedAsAbsolute() {
        let h = Harness()
        h.run("SET", "k", "v", "EX", "100")
        let logged = h.logged.last!
        #expect(logged[0] == "SET" && logged[3] == "PXAT")
        let at = Int64(logged[4])!
        #expect(abs(at - (Engine.clockMillis() + 100_000)) < 5_000)
        h.run("EXPIRE", "k", "50")
        #expect(h.logged.last![0] == "PEXPIREAT")
        h.run("SETEX", "s", "10", "v")
        #expect(h.logged.last![0] == "SET" && h.logged.last![3] == "PXAT")
        h.run("INCRBYFLOAT", "f", "1.5")
        #expect(h.logged.last! == ["SET", "f", "1.5", "KEEPTTL"])
        h.run("GETDEL", "f")
        #expect(h.logged.last! == ["DEL", "f"])
    }

    @Test func unchangedWritesAreNotLogged() {
        let h = Harness()
        h.run("SET", "k", "v")
        let n = h.logged.count
        h.run("SET", "k", "x", "NX")
        h.run("DEL", "nothing")
        h.run("EXPIRE", "missing", "10")
        h.run("GET", "k")
        #expect(h.logged.count == n)
    }

    @Test func counters() {
        let h = Harness()
        #expect(h.run("INCR", "n") == .integer(1))
        #expect(h.run("INCRBY", "n", "10") == .integer(11))
        #expect(h.run("DECR", "n") == .integer(10))
        #expect(h.run("DECRBY", "n", "20") == .integer(-10))
        h.run("SET", "big", "9223372036854775807")
        #expect(h.run("INCR", "big") == .err("ERR increment or decrement would overflow"))
        h.run("SET", "s", "abc")
        #expect(h.run("INCR", "s") == .err("ERR value is not an integer or out of range"))
        h.run("SET", "sp", " 1")
        #expect(h.run("INCR", "sp") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("DECRBY", "n", "-9223372036854775808") == .err("ERR decrement would overflow"))
        h.run("SET", "f", "10.5")
        #expect(h.run("INCRBYFLOAT", "f", "0.1") == .bulk("10.6"))
        #expect(h.run("INCRBYFLOAT", "f", "abc") == .err("ERR value is not a valid float"))
        #expect(h.run("INCRBYFLOAT", "nf", "5.0e3") == .bulk("5000"))
    }

    @Test func ranges() {
        let h = Harness()
        h.run("SET", "k", "Hello World")
        #expect(h.run("GETRANGE", "k", "0", "4") == .bulk("Hello"))
        #expect(h.run("GETRANGE", "k", "-5", "-1") == .bulk("World"))
        #expect(h.run("GETRANGE", "k", "5", "1") == .bulk(""))
        #expect(h.run("GETRANGE", "k", "-1", "-5") == .bulk(""))
        #expect(h.run("GETRANGE", "k", "0", "100") == .bulk("Hello World"))
        #expect(h.run("SETRANGE", "k", "6", "Redis") == .integer(11))
        #expect(h.run("GET", "k") == .bulk("Hello Redis"))
        #expect(h.run("SETRANGE", "pad", "3", "x") == .integer(4))
        #expect(h.run("GET", "pad") == .bulkString([0, 0, 0, UInt8(ascii: "x")]))
        #expect(h.run("SETRANGE", "k", "-1", "x") == .err("ERR offset is out of range"))
        #expect(h.run("SETRANGE", "empty", "5", "") == .integer(0))
        #expect(h.run("EXISTS", "empty") == .integer(0))
        #expect(h.run("APPEND", "k", "!") == .integer(12))
        #expect(h.run("STRLEN", "k") == .integer(12))
    }

    @Test func multiKey() {
        let h = Harness()
        #expect(h.run("MSET", "a", "1", "b", "2") == .ok)
        #expect(h.run("MGET", "a", "b", "c") == .array([.bulk("1"), .bulk("2"), .nilBulk]))
        #expect(h.run("MSET", "a", "1", "b") == .err("ERR wrong number of arguments for 'mset' command"))
        #expect(h.run("MSETNX", "a", "9", "z", "9") == .integer(0))
        #expect(h.run("GET", "z") == .nilBulk)
        #expect(h.run("MSETNX", "y", "9", "z", "9") == .integer(1))
        #expect(h.run("GETSET", "a", "new") == .bulk("1"))
        #expect(h.run("SETNX", "a", "x") == .integer(0))
    }

    @Test func getex() {
        let h = Harness()
        h.run("SET", "k", "v")
        #expect(h.run("GETEX", "k", "EX", "100") == .bulk("v"))
        if case .integer(let t) = h.run("TTL", "k") { #expect(t > 90) } else { Issue.record("ttl") }
        #expect(h.run("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(h.run("TTL", "k") == .integer(-1))
        #expect(h.run("GETEX", "k", "EX", "0") == .err("ERR invalid expire time in 'getex' command"))
        #expect(h.run("GETEX", "k", "FOO") == .err("ERR syntax error"))
    }
}
