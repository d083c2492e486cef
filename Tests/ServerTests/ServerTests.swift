import Client
import Engine
import Logging
import RESP
import Server
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starts a server in-process on 127.0.0.1 and an ephemeral port, over the given transport; stops it at the end.
/// Every server test runs over both transports.
final class RunningServer {
    let server: GodisServer
    let port: Int
    let task: Task<Void, Error>

    init(_ transport: TransportKind, _ configure: (inout GodisConfiguration) -> Void = { _ in }) throws {
        var config = GodisConfiguration()
        config.ioTransport = transport.rawValue
        config.port = 0
        config.bind = ["127.0.0.1"]
        config.appendOnly = false
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = GodisServer(configuration: config, logger: logger)
        try server.start()
        self.server = server
        port = server.boundPorts[0]
        task = Task { try await server.serveUntilShutdown() }
    }

    /// A server that logs to `dir` with `policy`.
    convenience init(_ transport: TransportKind, logging policy: FsyncPolicy, in dir: String) throws {
        try self.init(transport) {
            $0.appendOnly = true
            $0.dir = dir
            $0.appendFsync = policy
        }
    }

    func client() throws -> RedisClient { try RedisClient(port: port) }

    func stop() async throws {
        server.initiateShutdown()
        try await task.value
    }
}

func tempDirectory() -> String {
    var template = Array("/tmp/godis-test-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

@Suite(.serialized)
struct ServerTests {
    @Test(arguments: TransportKind.allCases) func pingSetGetOverLoopback(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        #expect(try c.command("PING") == .simpleString("PONG"))
        #expect(try c.command("SET", "k", "v") == .simpleString("OK"))
        #expect(try c.command("GET", "k") == .bulk("v"))
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func pipelineRepliesInOrder(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        var commands: [[String]] = []
        for i in 0..<5000 {
            commands.append(["SET", "key:\(i)", "value:\(i)"])
            commands.append(["GET", "key:\(i)"])
        }
        let replies = try c.pipeline(commands)
        for i in 0..<5000 {
            #expect(replies[2 * i] == .simpleString("OK"))
            #expect(replies[2 * i + 1] == .bulk("value:\(i)"))
        }
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func requestSplitIntoSingleBytes(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        for byte in RESPEncoder.command(["ECHO", "drip"]) {
            try c.send([byte])
            usleep(200)
        }
        #expect(try c.readReply() == .bulk("drip"))
        try await s.stop()
    }

    /// A reply larger than the socket buffers, to a client that reads late: the transport queues what the socket
    /// does not take and sends it as the socket drains, in order, and a QUIT behind it closes only after it.
    @Test(arguments: TransportKind.allCases) func largeReplyReachesALateReader(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        let value = (0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try c.send(RESPEncoder.command([Array("SET".utf8), Array("big".utf8), value]))
        #expect(try c.readReply() == .simpleString("OK"))
        try c.send([["GET", "big"], ["GET", "big"], ["PING"], ["QUIT"]].flatMap(RESPEncoder.command))
        usleep(300_000)  // the server has filled the socket buffers and queued the rest
        #expect(try c.readReply() == .bulkString(value))
        #expect(try c.readReply() == .bulkString(value))
        #expect(try c.readReply() == .simpleString("PONG"))
        #expect(try c.readReply() == .simpleString("OK"))
        #expect(c.isClosedByPeer())
        #expect(try s.client().command("STRLEN", "big") == .integer(12 << 20))
        try await s.stop()
    }

    /// A graceful shutdown lets a reply larger than the socket buffers finish leaving before the connection
    /// closes.
    @Test(arguments: TransportKind.allCases) func shutdownLetsQueuedRepliesLeave(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        let value = [UInt8](repeating: 120, count: 12 << 20)
        try c.send(RESPEncoder.command([Array("SET".utf8), Array("big".utf8), value]))
        #expect(try c.readReply() == .simpleString("OK"))
        try c.send(RESPEncoder.command(["GET", "big"]))
        usleep(200_000)  // the reply fills the socket buffers; the rest waits in the server
        let reader = Task.detached { [c] in try c.readReply() }
        try await s.stop()
        #expect(try await reader.value == .bulkString(value))
        #expect(c.isClosedByPeer())
    }

    /// Connections come and go while others stay: every reply reaches the connection that asked, also when a
    /// closed connection's slot (and descriptor number) is reused, and a peer that vanishes mid-request or with
    /// unread replies leaves the server serving.
    @Test(arguments: TransportKind.allCases) func connectionsComeAndGo(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        var open: [(RedisClient, Int)] = []
        for round in 0..<6 {
            for i in 0..<40 {
                let c = try s.client()
                let n = round * 40 + i
                #expect(try c.command("SET", "conn:\(n)", "\(n)") == .simpleString("OK"))
                open.append((c, n))
            }
            // Drop every other connection, some with a request half sent, some with replies never read.
            var kept: [(RedisClient, Int)] = []
            for (j, entry) in open.enumerated() {
                if j % 2 == 0 {
                    if j % 4 == 0 { try? entry.0.send(Array("*2\r\n$3\r\nGET\r\n$5\r\nco".utf8)) }
                    if j % 4 == 2 { try? entry.0.send(RESPEncoder.command(["GET", "conn:\(entry.1)"])) }
                    // Closed when the last reference goes, at `open = kept` below.
                } else {
                    kept.append(entry)
                }
            }
            open = kept
            for (c, n) in open { #expect(try c.command("GET", "conn:\(n)") == .bulk("\(n)")) }
        }
        #expect(try s.client().command("DBSIZE") == .integer(240))
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func protocolErrorRepliesAndCloses(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        try c.send(Array("*1\r\nfoo\r\n".utf8))
        #expect(try c.readReply() == .error("ERR Protocol error: expected '$', got 'f'"))
        #expect(c.isClosedByPeer())
        let again = try s.client()
        #expect(try again.command("PING") == .simpleString("PONG"))
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func quitClosesAfterReply(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let c = try s.client()
        #expect(try c.command("QUIT") == .simpleString("OK"))
        #expect(c.isClosedByPeer())
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func clientKillClosesTheOtherConnection(transport: TransportKind) async throws {
        let s = try RunningServer(transport)
        let a = try s.client()
        let b = try s.client()
        guard case .integer(let idB) = try b.command("CLIENT", "ID") else { Issue.record("id"); return }
        #expect(try a.command("CLIENT", "KILL", "ID", String(idB)) == .integer(1))
        #expect(b.isClosedByPeer())
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func queryBufferLimitClosesTheConnection(transport: TransportKind) async throws {
        let s = try RunningServer(transport) { $0.clientQueryBufferLimit = 1024 * 1024 }
        let c = try s.client()
        // A bulk length under proto-max-bulk-len, but more unparsed bytes than the query buffer may hold.
        try c.send(Array("*2\r\n$3\r\nGET\r\n$4000000\r\n".utf8))
        let chunk = [UInt8](repeating: 97, count: 256 * 1024)
        var sent = 0
        do {
            while sent < 3_000_000 {
                try c.send(chunk)
                sent += chunk.count
            }
        } catch {}
        #expect(c.isClosedByPeer())
        #expect(try s.client().command("PING") == .simpleString("PONG"))
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func maxclientsRefusesTheExtraConnection(transport: TransportKind) async throws {
        let s = try RunningServer(transport) { $0.maxClients = 2 }
        let a = try s.client()
        let b = try s.client()
        #expect(try a.command("PING") == .simpleString("PONG"))
        #expect(try b.command("PING") == .simpleString("PONG"))
        let c = try s.client()
        #expect(try c.readReply() == .error("ERR max number of clients reached"))
        #expect(c.isClosedByPeer())
        try await s.stop()
    }

    @Test(arguments: TransportKind.allCases) func writesSurviveARestartInEveryMode(transport: TransportKind) async throws {
        for policy in FsyncPolicy.allCases {
            let dir = tempDirectory()
            let s = try RunningServer(transport, logging: policy, in: dir)
            let c = try s.client()
            for i in 0..<200 { #expect(try c.command("SET", "k\(i)", "v\(i)") == .simpleString("OK")) }
            #expect(try c.command("SELECT", "3") == .simpleString("OK"))
            #expect(try c.command("INCRBY", "n", "7") == .integer(7))
            try await s.stop()

            let r = try RunningServer(transport, logging: policy, in: dir)
            let c2 = try r.client()
            #expect(try c2.command("DBSIZE") == .integer(200), "policy \(policy)")
            #expect(try c2.command("GET", "k199") == .bulk("v199"))
            #expect(try c2.command("SELECT", "3") == .simpleString("OK"))
            #expect(try c2.command("GET", "n") == .bulk("7"))
            try await r.stop()
        }
    }

    @Test(arguments: TransportKind.allCases) func waitaofBlocksUntilTheWriteIsSynced(transport: TransportKind) async throws {
        let dir = tempDirectory()
        // `no`: nothing would ever fsync unless WAITAOF asks.
        let s = try RunningServer(transport, logging: .no, in: dir)
        let c = try s.client()
        try c.send([["SET", "k", "v"], ["WAITAOF", "1", "0", "0"], ["GET", "k"]].flatMap(RESPEncoder.command))
        #expect(try c.readReply() == .simpleString("OK"))
        #expect(try c.readReply() == .array([.integer(1), .integer(0)]))
        #expect(try c.readReply() == .bulk("v"), "the command after WAITAOF runs after it, in order")
        let info = try c.command("INFO", "persistence").text ?? ""
        #expect(info.contains("godis_aof_fsyncs:1"))
        // Asking for a replica that does not exist times out with the local count.
        #expect(try c.command("WAITAOF", "1", "1", "50") == .array([.integer(1), .integer(0)]))
        try await s.stop()

        let off = try RunningServer(transport)
        #expect(try off.client().command("WAITAOF", "1", "0", "0") == .error(
            "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."))
        try await off.stop()
    }

    @Test(arguments: TransportKind.allCases) func alwaysModeGroupsConcurrentClients(transport: TransportKind) async throws {
        let dir = tempDirectory()
        let s = try RunningServer(transport, logging: .always, in: dir)
        // 20 clients each pipelining 50 writes: acknowledged only after fsync, and far fewer fsyncs than writes.
        let clients = try (0..<20).map { _ in try s.client() }
        for (n, c) in clients.enumerated() {
            var out: [UInt8] = []
            for i in 0..<50 { RESPEncoder.appendCommand([Array("SET".utf8), Array("c\(n):\(i)".utf8), Array("x".utf8)], to: &out) }
            try c.send(out)
        }
        for c in clients { for _ in 0..<50 { #expect(try c.readReply() == .simpleString("OK")) } }
        let info = try clients[0].command("INFO", "persistence").text ?? ""
        let fsyncs = info.split(separator: "\r\n").first { $0.hasPrefix("godis_aof_fsyncs:") }.flatMap { Int($0.split(separator: ":")[1]) } ?? -1
        #expect(fsyncs > 0 && fsyncs < 1000, "1000 writes took \(fsyncs) fsyncs")
        try await s.stop()
    }
}

extension RESPValue {
    static func bulk(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }
}
