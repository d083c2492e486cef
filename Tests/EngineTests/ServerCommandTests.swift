import RESP
import Testing

@testable import Engine

struct ServerCommandTests {
    @Test func unknownCommandAndArity() {
        let h = Harness()
        #expect(h.run("FOO", "a", "b") == .err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' "))
        #expect(h.run("GET") == .err("ERR wrong number of arguments for 'get' command"))
        #expect(h.run("CONFIG") == .err("ERR wrong number of arguments for 'config' command"))
        #expect(h.run("CONFIG", "GET") == .err("ERR wrong number of arguments for 'config|get' command"))
        #expect(h.run("CONFIG", "nope") == .err("ERR unknown subcommand 'nope'. Try CONFIG HELP."))
    }

    @Test func writesAreRefusedWhileTheLogFails() {
        let h = Harness()
        h.run("SET", "k", "v")
        h.log.writeError = "write appendonly.aof.1.incr.aof: No space left on device"
        #expect(h.run("SET", "k", "w") == .err(
            "MISCONF Errors writing to the AOF file: write appendonly.aof.1.incr.aof: No space left on device"))
        #expect(h.run("INCR", "n") == .err(
            "MISCONF Errors writing to the AOF file: write appendonly.aof.1.incr.aof: No space left on device"))
        #expect(h.run("GET", "k") == .bulk("v"), "reads keep working")
        h.log.writeError = nil
        #expect(h.run("SET", "k", "w") == .ok)
    }

    @Test func authFlow() {
        var config = GodisConfiguration()
        config.requirePass = "secret"
        let h = Harness(config: config)
        #expect(h.run("GET", "k") == .err("NOAUTH Authentication required."))
        #expect(h.run("AUTH", "wrong") == .err("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(h.run("AUTH", "secret") == .ok)
        #expect(h.run("GET", "k") == .nilBulk)
        let open = Harness()
        #expect(open.run("AUTH", "x") == .err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
    }

    @Test func helloSwitchesProtocol() {
        let h = Harness()
        guard case .map(let fields) = { () -> RESPValue in
            var w = ReplyWriter(protocolVersion: 2)
            Args.with(["HELLO", "3"]) { h.engine.execute($0, client: h.client, reply: &w) }
            return try! RESPDecoder().decodeAll(w.bytes)[0]
        }() else { Issue.record("HELLO 3 must answer a map"); return }
        #expect(fields.contains(RESPPair(.bulk("proto"), .integer(3))))
        #expect(h.run("GET", "missing") == .null)
        #expect(h.run("HELLO", "4") == .err("NOPROTO unsupported protocol version"))
    }

    @Test func configGetSet() {
        let h = Harness()
        #expect(h.run("CONFIG", "GET", "appendfsync") == .array([.bulk("appendfsync"), .bulk("everysec")]))
        #expect(h.run("CONFIG", "SET", "appendfsync", "always") == .ok)
        #expect(h.engine.config.appendFsync == .always)
        #expect(h.run("CONFIG", "SET", "appendfsync", "sometimes") == .err(
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"))
        #expect(h.run("CONFIG", "SET", "port", "1") == .err(
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"))
        #expect(h.run("CONFIG", "SET", "nope", "1") == .err("ERR Unknown option or number of arguments for CONFIG SET - 'nope'"))
        if case .array(let all?) = h.run("CONFIG", "GET", "append*") { #expect(all.count == 8) } else { Issue.record("glob") }
    }

    @Test func commandTableDrivesCommand() {
        let h = Harness()
        #expect(h.run("COMMAND", "COUNT") == .integer(Int64(h.engine.commands.all.count)))
        guard case .array(let infos?) = h.run("COMMAND", "INFO", "get", "nosuch"), infos.count == 2,
            case .array(let get?) = infos[0]
        else { Issue.record("COMMAND INFO"); return }
        #expect(get[0] == .bulk("get"))
        #expect(get[1] == .integer(2))
        #expect(infos[1] == .array(nil))
    }

    @Test func infoHasRedisFieldNames() {
        let h = Harness()
        h.run("SET", "a", "1")
        guard let text = h.run("INFO").text else { Issue.record("INFO"); return }
        for field in ["redis_version:", "connected_clients:", "used_memory:", "aof_enabled:", "total_commands_processed:", "db0:keys=1,expires=0"] {
            #expect(text.contains(field), "INFO lacks \(field)")
        }
    }

    @Test func configurationParserReadsFilesAndFlags() throws {
        let conf = """
            # comment
            port 7000
            appendfsync always
            requirepass "with space"
            """
        let c = try ConfigurationParser.parse(arguments: ["godis.conf", "--port", "7001", "--dir", "/tmp/x"]) { _ in conf }
        #expect(c.port == 7001)
        #expect(c.appendFsync == .always)
        #expect(c.requirePass == "with space")
        #expect(c.dir == "/tmp/x")
        #expect(throws: ConfigurationParser.Failure.self) {
            try ConfigurationParser.parse(arguments: ["--appendfsync", "bad"]) { _ in "" }
        }
    }
}
