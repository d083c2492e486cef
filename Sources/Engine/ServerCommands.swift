import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Connection and server commands: PING, HELLO, AUTH, SELECT, INFO, CONFIG, CLIENT, COMMAND, SHUTDOWN...
enum ServerCommands {
    static let redisVersion = "7.0.15"
    public static let godisVersion = "0.1.0"

    static func ping(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard args.count <= 2 else { throw RedisError.wrongArity("ping") }
        if args.count == 2 { r.bulk(args[1]) } else { r.raw("+PONG\r\n") }
    }

    static func echo(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.bulk(args[1])
    }

    static func quit(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        c.closeAfterReply = true
        r.ok()
    }

    static func checkPassword(_ e: Engine, user: String?, password: String) throws {
        if let user, user != "default" { throw RedisError.wrongPass }
        if e.config.requirePass.isEmpty {
            if user == nil { throw RedisError.authNotConfigured }
            return  // `AUTH default <anything>` succeeds for the passwordless default user
        }
        guard password == e.config.requirePass else { throw RedisError.wrongPass }
    }

    static func auth(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard args.count == 2 || args.count == 3 else { throw RedisError.syntax }
        try checkPassword(e, user: args.count == 3 ? args.string(1) : nil, password: args.string(args.count - 1))
        c.authenticated = true
        r.ok()
    }

    static func hello(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var version = c.protocolVersion
        var i = 1
        if args.count >= 2 {
            guard let v = try? args.int(1) else {
                throw RedisError.message("ERR Protocol version is not an integer or out of range")
            }
            guard v == 2 || v == 3 else { throw RedisError.noProto }
            version = v
            i = 2
        }
        var name: String? = nil
        var authenticatedNow = false
        while i < args.count {
            if args.matches(i, "auth") && i + 2 < args.count {
                try checkPassword(e, user: args.string(i + 1), password: args.string(i + 2))
                authenticatedNow = true
                i += 3
            } else if args.matches(i, "setname") && i + 1 < args.count {
                name = args.string(i + 1)
                i += 2
            } else {
                throw RedisError.message("ERR Syntax error in HELLO option '\(args.string(i))'")
            }
        }
        if authenticatedNow { c.authenticated = true }
        guard c.authenticated else {
            throw RedisError.message(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
            )
        }
        if let name {
            guard validClientName(name) else { throw RedisError.message("ERR Client names cannot contain spaces, newlines or special characters.") }
            c.name = name
        }
        c.protocolVersion = version
        r.protocolVersion = version
        r.mapHeader(7)
        r.bulk("server"); r.bulk("redis")
        r.bulk("version"); r.bulk(redisVersion)
        r.bulk("proto"); r.integer(version)
        r.bulk("id"); r.integer(c.id)
        r.bulk("mode"); r.bulk("standalone")
        r.bulk("role"); r.bulk("master")
        r.bulk("modules"); r.arrayHeader(0)
    }

    static func select(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let n = try args.int32(1)
        guard n >= 0 && n < e.databases.count else { throw RedisError.dbIndexOutOfRange }
        c.db = n
        r.ok()
    }

    static func dbsize(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.integer(e.db(c).count)
    }

    static func flushOption(_ args: Args) throws {
        if args.count == 2 && !(args.matches(1, "async") || args.matches(1, "sync")) { throw RedisError.syntax }
        if args.count > 2 { throw RedisError.syntax }
    }

    static func flushdb(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        try flushOption(args)
        e.dirty += e.db(c).count + 1
        e.db(c).removeAll()
        r.ok()
    }

    static func flushall(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        try flushOption(args)
        for db in e.databases {
            e.dirty += db.count
            db.removeAll()
        }
        e.dirty += 1
        r.ok()
    }

    static func swapdb(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard let a = try? args.int32(1) else { throw RedisError.message("ERR invalid first DB index") }
        guard let b = try? args.int32(2) else { throw RedisError.message("ERR invalid second DB index") }
        guard a >= 0, b >= 0, a < e.databases.count, b < e.databases.count else { throw RedisError.dbIndexOutOfRange }
        if a != b {
            e.databases.swapAt(a, b)
            e.databases[a].index = a
            e.databases[b].index = b
        }
        e.dirty += 1
        r.ok()
    }

    static func time(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        r.arrayHeader(2)
        r.bulk(String(ts.tv_sec))
        r.bulk(String(ts.tv_nsec / 1000))
    }

    static func lastsave(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.integer(Int(e.startTime / 1000))
    }

    static func shutdown(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        for i in 1..<max(1, args.count) {
            guard args.matches(i, "nosave") || args.matches(i, "save") || args.matches(i, "now")
                || args.matches(i, "force")
            else {
                if args.matches(i, "abort") { throw RedisError.message("ERR No shutdown in progress.") }
                throw RedisError.syntax
            }
        }
        e.logger.warning("User requested shutdown...")
        c.closeAfterReply = true
        e.onShutdown?()
    }

    /// WAITAOF numlocal numreplicas timeout (Redis 7.2): wait until this client's writes are fsynced.
    static func waitaof(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let numlocal = try args.int(1)
        let numreplicas = try args.int(2)
        let timeout = try args.int(3)
        guard numlocal >= 0, numreplicas >= 0 else { throw RedisError.message("ERR value is out of range, must be positive") }
        guard timeout >= 0 else { throw RedisError.message("ERR timeout is negative") }
        guard e.log != nil || numlocal == 0 else {
            throw RedisError.message("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.")
        }
        let synced = e.log.map { $0.syncedSequence >= c.lastWriteSeq } ?? false
        if (numlocal == 0 || synced) && numreplicas == 0 {
            writeWaitAOFReply(local: synced, &r)
            return
        }
        let (deadline, overflow) = e.now.addingReportingOverflow(Int64(timeout))
        guard !overflow else { throw RedisError.message("ERR timeout is out of range") }
        c.blocked = .logSync(
            seq: c.lastWriteSeq, numlocal: numlocal, numreplicas: numreplicas, deadline: timeout == 0 ? 0 : deadline)
    }

    static func writeWaitAOFReply(local: Bool, _ r: inout ReplyWriter) {
        r.arrayHeader(2)
        r.integer(local ? 1 : 0)
        r.integer(0)  // no replicas
    }

    static func debugSleep(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let seconds = try args.double(2)
        if seconds > 0 { usleep(UInt32(min(seconds, 3600) * 1_000_000)) }
        r.ok()
    }

    // MARK: CLIENT

    static func validClientName(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }

    static func clientID(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.integer(c.id)
    }

    static func clientSetname(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        let name = args.string(2)
        guard validClientName(name) || name.isEmpty else {
            throw RedisError.message("ERR Client names cannot contain spaces, newlines or special characters.")
        }
        c.name = name
        r.ok()
    }

    static func clientGetname(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        if c.name.isEmpty { r.null() } else { r.bulk(c.name) }
    }

    static func describe(_ e: Engine, _ x: ClientState) -> String {
        let now = Engine.clockMillis()
        return "id=\(x.id) addr=\(x.address) laddr=\(x.localAddress) fd=8 name=\(x.name) "
            + "age=\((now - x.createdAt) / 1000) idle=\((now - x.lastInteraction) / 1000) flags=N db=\(x.db) "
            + "sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 "
            + "omem=0 tot-mem=0 events=r cmd=\(x.lastCommand?.name ?? "NULL") user=default redir=-1 resp=\(x.protocolVersion)\n"
    }

    static func clientList(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var ids: Set<Int>? = nil
        if args.count > 2 {
            if args.matches(2, "type") && args.count == 4 {
                let t = args.string(3).lowercased()
                guard ["normal", "master", "replica", "pubsub", "slave"].contains(t) else {
                    throw RedisError.message("ERR Unknown client type '\(args.string(3))'")
                }
                if t != "normal" { ids = [] }
            } else if args.matches(2, "id") && args.count > 3 {
                var s = Set<Int>()
                for i in 3..<args.count {
                    guard let n = try? args.int(i), n > 0 else { throw RedisError.message("ERR Invalid client ID") }
                    s.insert(n)
                }
                ids = s
            } else {
                throw RedisError.syntax
            }
        }
        var text = ""
        for x in e.clients where ids == nil || ids!.contains(x.id) { text += describe(e, x) }
        r.verbatim(text)
    }

    static func clientInfo(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.verbatim(describe(e, c))
    }

    static func clientKill(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        if args.count == 3 {
            let addr = args.string(2)
            guard let victim = e.clients.first(where: { $0.address == addr }) else {
                throw RedisError.message("ERR No such client")
            }
            kill(victim, by: c)
            r.ok()
            return
        }
        var id: Int? = nil, addr: String? = nil, laddr: String? = nil, skipMe = true
        var i = 2
        while i < args.count {
            guard i + 1 < args.count else { throw RedisError.syntax }
            let v = args.string(i + 1)
            if args.matches(i, "id") {
                guard let n = Int(v), n > 0 else { throw RedisError.message("ERR client-id should be greater than 0") }
                id = n
            } else if args.matches(i, "addr") {
                addr = v
            } else if args.matches(i, "laddr") {
                laddr = v
            } else if args.matches(i, "skipme") {
                switch v.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: throw RedisError.syntax
                }
            } else if args.matches(i, "type") || args.matches(i, "user") || args.matches(i, "maxage") {
                // Accepted; every Godis client is a normal client of the default user.
            } else {
                throw RedisError.syntax
            }
            i += 2
        }
        var killed = 0
        for x in e.clients {
            if let id, x.id != id { continue }
            if let addr, x.address != addr { continue }
            if let laddr, x.localAddress != laddr { continue }
            if skipMe && x === c { continue }
            kill(x, by: c)
            killed += 1
        }
        r.integer(killed)
    }

    static func kill(_ victim: ClientState, by c: ClientState) {
        victim.closeAfterReply = true
        if victim !== c { victim.connection?.close() }
    }

    // MARK: CONFIG

    static func configGet(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var found: [(String, String)] = []
        for i in 2..<args.count {
            let pattern = args.bytes(i)
            for p in ConfigurationTable.parameters where !found.contains(where: { $0.0 == p.name }) {
                if Glob.match(pattern, Array(p.name.utf8), nocase: true) { found.append((p.name, p.get(e.config))) }
            }
        }
        r.mapHeader(found.count)
        for (k, v) in found {
            r.bulk(k)
            r.bulk(v)
        }
    }

    static func configSet(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        guard args.count % 2 == 0 else { throw RedisError.wrongArity("config|set") }
        var updated = e.config
        var i = 2
        while i < args.count {
            let name = args.string(i)
            guard let p = ConfigurationTable.parameter(named: name) else {
                throw RedisError.message("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'")
            }
            guard p.mutable else {
                throw RedisError.message(
                    "ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
            }
            do {
                try p.set(&updated, [args.string(i + 1)])
            } catch {
                throw RedisError.message(
                    "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(ConfigurationTable.reason(error))")
            }
            i += 2
        }
        let old = e.config
        e.config = updated
        e.onConfigChange?(old, updated)
        r.ok()
    }

    static func configResetstat(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        e.stats = EngineStats()
        r.ok()
    }

    static func configRewrite(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        throw RedisError.message("ERR The server is running without a config file")
    }

    static func help(_ lines: [String]) -> CommandHandler {
        { _, _, _, r in
            r.arrayHeader(lines.count)
            for l in lines { r.simple(l) }
        }
    }

    // MARK: COMMAND

    static func info(_ e: Engine, _ cmd: Command, _ r: inout ReplyWriter) {
        r.arrayHeader(10)
        r.bulk(cmd.name)
        r.integer(cmd.arity)
        let flags = CommandFlags.names.filter { cmd.flags.contains($0.0) }
        r.setHeader(flags.count)
        for f in flags { r.simple(f.1) }
        r.integer(cmd.firstKey)
        r.integer(cmd.lastKey)
        r.integer(cmd.step)
        let categories = ["@" + (cmd.group == "generic" ? "keyspace" : cmd.group)]
            + (cmd.isWrite ? ["@write"] : ["@read"]) + (cmd.flags.contains(.fast) ? ["@fast"] : ["@slow"])
        r.setHeader(categories.count)
        for cat in categories { r.simple(cat) }
        r.arrayHeader(0)
        if cmd.firstKey > 0 {
            r.arrayHeader(1)
            r.mapHeader(4)
            r.bulk("flags")
            r.setHeader(1)
            r.simple(cmd.isWrite ? "RW" : "RO")
            r.bulk("begin_search")
            r.mapHeader(2)
            r.bulk("type"); r.bulk("index")
            r.bulk("spec"); r.mapHeader(1); r.bulk("index"); r.integer(cmd.firstKey)
            r.bulk("find_keys")
            r.mapHeader(2)
            r.bulk("type"); r.bulk("range")
            r.bulk("spec"); r.mapHeader(3)
            r.bulk("lastkey"); r.integer(cmd.lastKey >= 0 ? cmd.lastKey - cmd.firstKey : cmd.lastKey)
            r.bulk("keystep"); r.integer(cmd.step)
            r.bulk("limit"); r.integer(0)
            r.bulk("notes"); r.bulk("")
        } else {
            r.arrayHeader(0)
        }
        r.arrayHeader(cmd.subcommands.count)
        for s in cmd.subcommands { info(e, s, &r) }
    }

    static func command(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        if args.count == 1 {
            r.arrayHeader(e.commands.all.count)
            for cmd in e.commands.all { info(e, cmd, &r) }
            return
        }
        throw RedisError.message("ERR unknown subcommand '\(args.string(1))'. Try COMMAND HELP.")
    }

    static func commandCount(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.integer(e.commands.all.count)
    }

    static func commandList(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        r.arrayHeader(e.commands.all.count)
        for cmd in e.commands.all { r.bulk(cmd.name) }
    }

    static func commandInfo(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        if args.count == 2 {
            r.arrayHeader(e.commands.all.count)
            for cmd in e.commands.all { info(e, cmd, &r) }
            return
        }
        r.arrayHeader(args.count - 2)
        for i in 2..<args.count {
            if let cmd = e.commands.lookup(args[i]) { info(e, cmd, &r) } else { r.nullArray() }
        }
    }

    static func docs(_ cmd: Command, _ r: inout ReplyWriter) {
        r.mapHeader(cmd.subcommands.isEmpty ? 4 : 5)
        r.bulk("summary"); r.bulk(cmd.summary)
        r.bulk("since"); r.bulk(cmd.since)
        r.bulk("group"); r.bulk(cmd.group)
        r.bulk("complexity"); r.bulk(cmd.flags.contains(.fast) ? "O(1)" : "O(N)")
        if !cmd.subcommands.isEmpty {
            r.bulk("subcommands")
            r.mapHeader(cmd.subcommands.count)
            for s in cmd.subcommands {
                r.bulk(s.name)
                docs(s, &r)
            }
        }
    }

    static func commandDocs(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var list: [Command] = []
        if args.count == 2 {
            list = e.commands.all
        } else {
            for i in 2..<args.count { if let cmd = e.commands.lookup(args[i]) { list.append(cmd) } }
        }
        r.mapHeader(list.count)
        for cmd in list {
            r.bulk(cmd.name)
            docs(cmd, &r)
        }
    }
}
