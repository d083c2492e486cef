import Engine
import Logging
import ServiceLifecycle
import Storage

/// The Godis server: the engine and its sessions on one loop thread (a `Transport`), and the log.
///
/// Lifecycle: `start()` loads the log and binds; `run()` (as a swift-service-lifecycle `Service`) serves until a
/// graceful shutdown (SIGTERM/SIGINT or SHUTDOWN), then stops accepting, sends pending replies, closes
/// connections, flushes and fsyncs the log, and returns.
public final class GodisServer: Service, @unchecked Sendable {
    public let engine: Engine
    public let logger: Logger
    public let configuration: GodisConfiguration
    private var transport: Transport!
    private(set) var log: AppendLog?
    private var awaitingEndOfTick: [Session] = []
    /// Clients blocked in WAITAOF.
    private var blocked: [ObjectIdentifier: Session] = [:]
    private var endOfTickScheduled = false
    private var sessions: [ObjectIdentifier: Session] = [:]
    private let shutdownDone = Completion()
    private var stopped = false
    /// `appendfsync always`: fsync at the end of every tick that wrote.
    private var syncEveryTick = false

    /// The address actually bound (useful with port 0).
    public private(set) var boundPorts: [Int] = []

    public init(configuration: GodisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        engine = Engine(config: configuration, logger: logger)
    }

    var durablePosition: UInt64 { log?.acknowledgedSeq ?? .max }

    // MARK: Start

    /// Loads the data, binds the listening sockets and starts the loop thread.
    public func start() throws {
        logger.notice("oO0OoO0OoO0Oo Godis is starting oO0OoO0OoO0Oo")
        logger.notice(
            "Godis version=\(ServerInfo.version), bits=64, pid=\(ServerInfo.pid), just started (Redis \(ServerInfo.redisVersion) compatible)")
        // Before the loop thread exists, so this thread may use the engine.
        try loadData()
        engine.onShutdown = { [unowned self] in self.initiateShutdown() }
        engine.onConfigChange = { [unowned self] old, new in
            if old.appendFsync != new.appendFsync {
                self.log?.fsyncPolicy = new.appendFsync
                self.syncEveryTick = new.appendFsync == .always
            }
        }
        engine.infoProviders["persistence"] = { [unowned self] in self.persistenceInfo() }
        let kind = TransportKind(rawValue: configuration.ioTransport) ?? .platformDefault
        let transport: Transport
        switch kind {
        case .nio: transport = NIOTransport()
        case .epoll:
            #if os(Linux)
            transport = try EpollTransport(logger: logger)
            #else
            transport = NIOTransport()
            #endif
        }
        self.transport = transport
        transport.onFatalError = { [weak self] error in self?.shutdownDone.fail(error) }
        adjustOpenFilesLimit()
        if let log {
            log.onAdvance = { [weak self] in self?.transport.execute { self?.durabilityAdvanced() } }
            log.start()
        }
        do {
            boundPorts = try transport.start(bind: configuration.bind, port: configuration.port) {
                [unowned self] output, remote, local in
                let session = Session(server: self, output: output, remoteAddress: remote, localAddress: local)
                sessions[ObjectIdentifier(session)] = session
                return session
            }
        } catch {
            log?.close(now: Engine.clockMillis())
            throw error
        }
        let hz = Int64(max(1, configuration.hz))
        transport.scheduleRepeated(everyMillis: 1000 / hz) { [unowned self] in
            self.engine.activeExpireCycle(budgetMicros: 25_000 / max(1, hz / 10))
            if !self.blocked.isEmpty { self.resumeBlocked() }  // WAITAOF timeouts
            self.endOfTick()
        }
        logger.notice("Ready to accept connections tcp", metadata: ["port": "\(boundPorts.first ?? 0)", "transport": "\(kind)"])
    }

    /// Like Redis: raise the open-files limit to `maxclients` + 32 if the hard limit allows; otherwise lower
    /// `maxclients` to fit, so that accepting never runs out of descriptors below `maxclients`.
    private func adjustOpenFilesLimit() {
        #if canImport(Glibc)
        let reserved = 32
        let wanted = rlim_t(engine.config.maxClients + reserved)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < wanted else { return }
        let original = limit.rlim_cur
        limit.rlim_cur = min(wanted, limit.rlim_max)
        if limit.rlim_cur > original, setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.notice("Increased maximum number of open files to \(limit.rlim_cur) (it was originally set to \(original)).")
        } else {
            limit.rlim_cur = original
        }
        if limit.rlim_cur < wanted {
            let clients = max(1, Int(limit.rlim_cur) - reserved)
            logger.warning(
                "You requested maxclients of \(engine.config.maxClients) requiring at least \(wanted) max file descriptors.")
            logger.warning(
                "Current maximum open files is \(limit.rlim_cur). maxclients has been reduced to \(clients) to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.")
            engine.config.maxClients = clients
        }
        #endif
    }

    private func loadData() throws {
        guard configuration.appendOnly else { return }
        let dir = configuration.dir + "/" + configuration.appendDirName
        let started = Engine.clockMillis()
        engine.loading = true
        defer { engine.loading = false }
        let (log, loaded) = try AppendLog.open(
            directory: dir, prefix: configuration.appendFilename, policy: configuration.appendFsync,
            allowTruncatedTail: configuration.aofLoadTruncated, logger: logger, now: started)
        engine.beginCommands()
        let client = ClientState(id: 0, address: "aof", localAddress: "", authenticated: true, now: started)
        var replayed = 0
        engine.prepareForLoading(commands: Int(clamping: loaded.lastSeq))
        defer { engine.finishLoading() }
        try loaded.forEachCommand(directory: dir) { db, buffer, spans in
            guard db < engine.databases.count else {
                throw RedisError.message("ERR the batch selects database \(db), but databases is \(engine.databases.count)")
            }
            client.db = db
            try engine.replay(Args(buffer: buffer, spans: spans), client: client)
            replayed += 1
            if replayed % 1_000_000 == 0 { logger.notice("Loading the log: \(replayed) commands replayed") }
        }
        let seconds = Double(Engine.clockMillis() - started) / 1000
        if loaded.lastSeq > 0 {
            logger.notice(
                "DB loaded from append only file: \(seconds) seconds (\(replayed) commands, \(engine.keyCount) keys, \(loaded.totalBytes) bytes)")
        }
        self.log = log
        syncEveryTick = configuration.appendFsync == .always
        engine.log = log
    }

    // MARK: Log writes and held replies

    /// A connection has replies: they leave at the end of this loop tick, after the tick's one log write.
    func flushAtEndOfTick(_ handler: Session) {
        if !handler.awaitingEndOfTick {
            handler.awaitingEndOfTick = true
            awaitingEndOfTick.append(handler)
        }
        scheduleEndOfTick()
    }

    /// Tasks run after the loop iteration's I/O events: one log write and one burst of replies per tick.
    private func scheduleEndOfTick() {
        guard !endOfTickScheduled else { return }
        endOfTickScheduled = true
        transport.execute { [unowned self] in self.endOfTick() }
    }

    /// Writes the log batch of this tick (one `write`), then sends the replies, each held until the log has
    /// acknowledged the writes it answers (written, or under `appendfsync always` synced).
    func endOfTick() {
        endOfTickScheduled = false
        if let log {
            let position = log.flush(now: engine.now)
            // Group commit: one fsync for every write of every connection in this tick. Requests that arrive
            // meanwhile wait in their sockets and share the next tick's fsync.
            if syncEveryTick && position > log.acknowledgedSeq { log.syncInline() }
        }
        let waiting = awaitingEndOfTick
        awaitingEndOfTick.removeAll(keepingCapacity: true)
        for h in waiting { h.endOfTick() }
        if !blocked.isEmpty {
            resumeBlocked()
            if !blocked.isEmpty { log?.requestSync() }
        }
    }

    func clientBlocked(_ handler: Session) {
        blocked[ObjectIdentifier(handler)] = handler
        scheduleEndOfTick()
    }

    /// Unblocks every client whose wait is over (synced, or timed out).
    private func resumeBlocked() {
        for (id, h) in blocked where h.resumeIfUnblocked() { blocked[id] = nil }
    }

    private func durabilityAdvanced() {
        for h in sessions.values where h.hasHeldReplies { h.durabilityAdvanced() }
        if !blocked.isEmpty { resumeBlocked() }
    }

    func connectionClosed(_ handler: Session) {
        sessions[ObjectIdentifier(handler)] = nil
        blocked[ObjectIdentifier(handler)] = nil
    }

    private func persistenceInfo() -> [(String, String)] {
        guard let log else {
            return [("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"), ("aof_rewrite_scheduled", "0"),
                ("aof_last_rewrite_time_sec", "-1"), ("aof_current_rewrite_time_sec", "-1"),
                ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", "0"), ("aof_last_write_status", "ok")]
        }
        let s = log.status
        return [
            ("aof_enabled", "1"), ("aof_rewrite_in_progress", "0"), ("aof_rewrite_scheduled", "0"),
            ("aof_last_rewrite_time_sec", "-1"), ("aof_current_rewrite_time_sec", "-1"),
            ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", "0"),
            ("aof_last_write_status", s.failure == nil ? "ok" : "err"),
            ("aof_last_cow_size", "0"), ("aof_current_size", String(s.writtenSize)),
            ("aof_base_size", "0"), ("aof_pending_rewrite", "0"), ("aof_buffer_length", "0"),
            ("aof_pending_bio_fsync", s.writtenSeq > s.syncedSeq ? "1" : "0"), ("aof_delayed_fsync", String(s.delayedFsyncs)),
            ("godis_aof_fsync_policy", log.fsyncPolicy.rawValue), ("godis_aof_written_seq", String(s.writtenSeq)),
            ("godis_aof_synced_seq", String(s.syncedSeq)), ("godis_aof_fsyncs", String(s.fsyncs)),
            ("godis_aof_segment", log.segmentName),
        ]
    }

    // MARK: Run and stop

    public func run() async throws {
        try start()
        try await serveUntilShutdown()
    }

    /// After `start()`: serves until a graceful shutdown (signal, SHUTDOWN or `initiateShutdown()`) completes.
    public func serveUntilShutdown() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await shutdownDone.wait()
            } onGracefulShutdown: {
                self.initiateShutdown()
            }
        } catch {
            try? await transport.shutdown()
            throw error  // the executable exits non-zero
        }
        try await transport.shutdown()
    }

    enum ShutdownFailure: Error, CustomStringConvertible {
        case logNotSynced
        var description: String { "the final fsync of the log failed" }
    }

    /// Stops accepting, sends pending replies, closes connections, flushes and fsyncs the log.
    public func initiateShutdown() {
        transport.execute { [self] in
            guard !stopped else { return }
            stopped = true
            logger.warning("Received shutdown request, scheduling shutdown...")
            transport.stopListening { [self] in
                endOfTick()
                var synced = true
                if let log {
                    logger.notice("Calling fsync() on the AOF file.")
                    synced = log.close(now: Engine.clockMillis())
                }
                for h in sessions.values { h.durabilityAdvanced() }
                for h in sessions.values { h.close() }
                if synced {
                    logger.warning("Godis is now ready to exit, bye bye...")
                    shutdownDone.succeed()
                } else {
                    logger.critical("The final fsync of the log failed: the last writes may not be on disk.")
                    shutdownDone.fail(ShutdownFailure.logNotSynced)
                }
            }
        }
    }
}

/// Process facts for log lines.
enum ServerInfo {
    static let version = "0.1.0"
    static let redisVersion = "7.0.15"
    static var pid: Int32 { getpid() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
