import Logging
import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the engine sends the effect form of every write (the storage log, or a test's recorder).
public protocol CommandLog: AnyObject {
    /// Appends a command executed against database `db`.
    func append(db: Int, args: Args)
    /// `nil` while writes are accepted; otherwise the reason they are refused (a write or fsync error).
    var writeError: String? { get }
    /// Sequence number of the last command appended, and of the last one known to be on disk (WAITAOF).
    var lastAppendedSeq: UInt64 { get }
    var syncedSequence: UInt64 { get }
}

extension CommandLog {
    public var lastAppendedSeq: UInt64 { 0 }
    public var syncedSequence: UInt64 { 0 }

    public func append(db: Int, _ args: [[UInt8]]) {
        Args.with(args) { append(db: db, args: $0) }
    }
}

/// Counters INFO reports.
public struct EngineStats {
    public var totalCommands = 0
    public var totalConnections = 0
    public var rejectedConnections = 0
    public var keyspaceHits = 0
    public var keyspaceMisses = 0
    public var expiredKeys = 0
    public var expiredStalePercent = 0.0
    public var totalNetInput = 0
    public var totalNetOutput = 0
    public var totalErrorReplies = 0
    public init() {}
}

/// The keyspace and the command dispatcher. Not thread-safe by design: one event loop drives it, so commands
/// form one ordered stream, which is what makes the log replayable.
public final class Engine {
    public var config: GodisConfiguration
    public internal(set) var databases: [Database]
    public let commands: CommandTable
    public var logger: Logger
    /// The log every write goes to; `nil` when `appendonly no`.
    public var log: CommandLog?
    /// True while the log is replayed: commands run without expiring keys or logging.
    public var loading = false
    public var stats = EngineStats()
    /// Current time in Unix ms, refreshed before every command (Redis's cached `mstime`).
    public internal(set) var now: Int64 = 0
    public let startTime: Int64
    public let runID: String
    var clientsByID: [Int: ClientState] = [:]
    var nextClientID = 1
    /// Count of changes since start (Redis's `dirty`); a write command that changes nothing is not logged.
    public internal(set) var dirty = 0
    /// Set by a handler that logged its own effect form (e.g. SET EX → SET PXAT).
    var propagated = false
    /// The log's write error as of `beginCommands()`: writes get MISCONF while it is set.
    private var logWriteError: String?
    /// Called by SHUTDOWN; the server owns the process lifecycle.
    public var onShutdown: (() -> Void)?
    /// Called after CONFIG SET changed the configuration (old, new), so the server can apply it.
    public var onConfigChange: ((GodisConfiguration, GodisConfiguration) -> Void)?
    /// Extra INFO sections from the server and storage layers (`persistence`, ...).
    public var infoProviders: [String: () -> [(String, String)]] = [:]

    public init(config: GodisConfiguration = GodisConfiguration(), logger: Logger = Logger(label: "godis.engine")) {
        self.config = config
        self.logger = logger
        databases = (0..<config.databases).map { Database(index: $0) }
        commands = CommandTable(Engine.commandTable)
        startTime = Engine.clockMillis()
        now = startTime
        runID = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    }

    public static func clockMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Clients

    public func registerClient(address: String, localAddress: String) -> ClientState {
        let c = ClientState(
            id: nextClientID, address: address, localAddress: localAddress,
            authenticated: config.requirePass.isEmpty, now: Engine.clockMillis())
        nextClientID += 1
        clientsByID[c.id] = c
        stats.totalConnections += 1
        return c
    }

    public func unregisterClient(_ c: ClientState) {
        clientsByID[c.id] = nil
    }

    public var clients: [ClientState] { clientsByID.values.sorted { $0.id < $1.id } }
    public var clientCount: Int { clientsByID.count }

    // MARK: Dispatch

    /// Executes one command and appends exactly one reply (or none, for SHUTDOWN) to `reply`.
    public func execute(_ args: Args, client: ClientState, reply: inout ReplyWriter) {
        guard let found = commands.lookup(args[0]) else {
            reply.error(RedisError.unknownCommand(Engine.prefix(args[0], 128), args: Engine.argsPreview(args)).reply)
            stats.totalErrorReplies += 1
            return
        }
        var command = found
        if !command.subcommands.isEmpty && !(args.count == 1 && command.handler != nil) {
            guard args.count >= 2 else {
                fail(.wrongArity(command.name), &reply)
                return
            }
            guard let sub = command.subcommands.first(where: { args.matches(1, lowercased: $0.shortName) }) else {
                fail(.unknownSubcommand(args.string(1), command: command.name.uppercased()), &reply)
                return
            }
            command = sub
        }
        guard command.arityMatches(args.count) else {
            fail(.wrongArity(command.name), &reply)
            return
        }
        if !client.authenticated && !command.flags.contains(.noauth) {
            fail(.noAuth, &reply)
            return
        }
        if command.isWrite, let error = logWriteError {
            fail(.misconf(error), &reply)
            return
        }
        stats.totalCommands += 1
        client.lastCommand = command
        let dirtyBefore = dirty
        propagated = false
        do {
            try command.handler!(self, client, args, &reply)
        } catch let e as RedisError {
            fail(e, &reply)
        } catch {
            fail(.message("ERR \(error)"), &reply)
        }
        if command.isWrite && dirty != dirtyBefore, let log {
            if !propagated && !loading { log.append(db: client.db, args: args) }
            client.lastWriteSeq = log.lastAppendedSeq
        }
    }

    @inline(__always)
    func fail(_ e: RedisError, _ reply: inout ReplyWriter) {
        stats.totalErrorReplies += 1
        reply.error(e.reply)
    }

    /// Refreshes what the commands of one read share: the cached clock (commands of one pipeline see one time, as
    /// Redis's cached `mstime` does) and whether the log refuses writes (one lock per read, not per command). The
    /// transport calls it once per read, before executing that read's commands.
    @inline(__always)
    public func beginCommands() {
        now = Engine.clockMillis()
        logWriteError = log?.writeError
    }

    /// Replays one command from the log: no auth, no reply kept, no logging, no expiry on access. Throws the
    /// command's error reply.
    public func replay(_ args: Args, client: ClientState) throws {
        replaySink.bytes.removeAll(keepingCapacity: true)
        execute(args, client: client, reply: &replaySink)
        if replaySink.bytes.first == UInt8(ascii: "-") {
            let text = String(decoding: replaySink.bytes.dropFirst().dropLast(2), as: UTF8.self)
            throw RedisError.message(text)
        }
    }

    /// Replies of replayed commands, discarded (one buffer for the whole load).
    private var replaySink = ReplyWriter(capacity: 4096)

    /// Redis's preview of the arguments of an unknown command: each quoted, the whole cut near 128 bytes.
    static func argsPreview(_ args: Args) -> String {
        var s: [UInt8] = []
        var i = 1
        while i < args.count && s.count < 128 {
            s.append(UInt8(ascii: "'"))
            s.append(contentsOf: args[i].prefix(128 - (s.count - 1)))
            s.append(contentsOf: "' ".utf8)
            i += 1
        }
        return String(decoding: s, as: UTF8.self)
    }

    static func prefix(_ bytes: UnsafeRawBufferPointer, _ n: Int) -> String {
        String(decoding: bytes.prefix(n), as: UTF8.self)
    }

    // MARK: Blocked clients

    /// If `client` waits and its wait is over (or timed out), writes the reply, clears the block and returns true.
    public func resolveBlock(_ client: ClientState, reply: inout ReplyWriter, now: Int64) -> Bool {
        guard case .logSync(let seq, let numlocal, let numreplicas, let deadline)? = client.blocked else { return false }
        let synced = (log?.syncedSequence ?? 0) >= seq
        let done = (numlocal == 0 || synced) && numreplicas == 0
        guard done || (deadline != 0 && now >= deadline) else { return false }
        client.blocked = nil
        ServerCommands.writeWaitAOFReply(local: synced, &reply)
        return true
    }

    // MARK: Keyspace access

    @inline(__always)
    func db(_ c: ClientState) -> Database { databases[c.db] }

    /// Finds a live key (expiring it lazily), for commands that read.
    @inline(__always)
    func lookupRead(_ db: Database, _ key: UnsafeRawBufferPointer) -> Int? {
        let idx = lookup(db, key)
        if idx == nil { stats.keyspaceMisses += 1 } else { stats.keyspaceHits += 1 }
        return idx
    }

    /// Finds a live string key for reading: `nil` if missing, WRONGTYPE for another type.
    @inline(__always)
    func readString(_ db: Database, _ key: UnsafeRawBufferPointer) throws -> (index: Int, value: [UInt8])? {
        guard let idx = lookupRead(db, key) else { return nil }
        guard case .string(let v) = db.table[idx].value.value else { throw RedisError.wrongType }
        return (idx, v)
    }

    /// Finds a live key, expiring it lazily if its TTL passed.
    @inline(__always)
    func lookup(_ db: Database, _ key: UnsafeRawBufferPointer) -> Int? {
        guard let idx = db.find(key) else { return nil }
        let at = db.table[idx].value.expireAt
        if at != 0 && at <= now && !loading {
            expire(db, idx)
            return nil
        }
        return idx
    }

    func expire(_ db: Database, _ idx: Int) {
        let key = db.table[idx].key
        db.remove(at: idx)
        stats.expiredKeys += 1
        propagateSynthesized(db: db.index, [Array("DEL".utf8), key])
    }

    /// Logs a command in the exact form the handler chose (its effect form).
    func propagateSynthesized(db: Int, _ args: [[UInt8]]) {
        guard !loading, let log else { return }
        Args.with(args) { log.append(db: db, args: $0) }
    }

    /// Records that the handler logged its own effect form.
    func propagateInstead(db: Int, _ args: [[UInt8]]) {
        propagated = true
        propagateSynthesized(db: db, args)
    }

    /// Sets `key` to a string value, keeping or dropping its TTL.
    @inline(__always)
    func setString(_ db: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, keepTTL: Bool = false,
        existing: Int? = nil) -> Int
    {
        if let idx = existing ?? db.find(key) {
            db.overwriteString(at: idx, with: value)
            if !keepTTL && db.table[idx].value.expireAt != 0 { db.setExpire(at: idx, 0) }
            return idx
        }
        db.insert(key, value: .string(Array(value)))
        return db.table.count - 1
    }

    // MARK: Active expiry

    /// Redis's active expiry cycle: sample keys with a TTL, delete the expired ones, repeat while more than a
    /// quarter of a sample was expired, within `budgetMicros`.
    public func activeExpireCycle(budgetMicros: Int64 = 25_000) {
        guard !loading else { return }
        now = Engine.clockMillis()
        let start = Engine.clockMicros()
        var sampled = 0, expired = 0
        for db in databases where db.expiresCount > 0 {
            var iterations = 0
            while db.expiresCount > 0 {
                iterations += 1
                var found = 0
                let samples = min(20, db.expiresCount)
                for _ in 0..<samples {
                    guard let v = db.volatile.randomIndex() else { break }
                    guard let idx = db.volatile[v].storedKey.withBytes({ db.find($0) }) else { continue }
                    sampled += 1
                    if db.table[idx].value.expireAt <= now {
                        expire(db, idx)
                        found += 1
                    }
                }
                expired += found
                if found * 4 < samples { break }
                if iterations % 16 == 0 && Engine.clockMicros() - start > budgetMicros { return }
            }
        }
        if sampled > 0 {
            stats.expiredStalePercent = Double(expired) / Double(sampled) * 100
        }
    }

    static func clockMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    public var keyCount: Int { databases.reduce(0) { $0 + $1.count } }

    /// Before a replay of `commands` logged commands: reserves database 0's table for as many keys (capped at
    /// 16M), so that loading does not copy the table each time it doubles. `finishLoading()` gives back what
    /// stayed unused (a log of updates to few keys, or keys in other databases).
    public func prepareForLoading(commands: Int) {
        databases[0].table.reserve(min(commands, 1 << 24))
    }

    public func finishLoading() {
        for db in databases { db.table.trimReserve() }
    }
}

