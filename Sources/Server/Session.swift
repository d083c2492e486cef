import Engine
import RESP

/// What a session needs from the transport that carries its connection.
protocol SessionOutput: AnyObject {
    /// Sends `bytes` (copied or written before returning).
    func send(_ bytes: UnsafeRawBufferPointer)
    /// Closes the connection once what was sent has left.
    func close()
}

/// One client connection's protocol logic, independent of the transport: bytes in, replies out. Parses requests
/// in place from the transport's read buffer, runs them on the engine, and sends the replies at the end of the
/// loop tick, after the tick's log write (`GodisServer.endOfTick`), all replies of the tick in one `send`.
///
/// Everything runs on the server's one loop thread, so a session needs no locks.
final class Session: ClientConnection {
    // Not `unowned`: the server has weak references (so a side table), which makes every strong load of an
    // `unowned` reference take the runtime's slow path; both outlive every session.
    private unowned(unsafe) let server: GodisServer
    private unowned(unsafe) let engine: Engine
    /// The transport owns its output and calls `closed()` before releasing it.
    private unowned(unsafe) var output: SessionOutput?
    private var parser: RequestParser
    private var reply = ReplyWriter()
    /// Bytes of an incomplete request carried over to the next read (and, while blocked, every later request).
    private var pending: [UInt8] = []
    let client: ClientState
    /// Replies held until the log has written (and, under `appendfsync always`, synced) the writes they answer.
    private var held: [UInt8] = []
    private var heldUntil: UInt64 = 0
    private var closing = false
    /// True while this session waits in the server's end-of-tick list.
    var awaitingEndOfTick = false

    /// Most reply bytes held for one connection while the log cannot acknowledge its writes; past it the
    /// connection is closed (its writes stay unacknowledged), as Redis does past client-output-buffer-limit.
    static let heldLimit = 64 << 20

    init(server: GodisServer, output: SessionOutput, remoteAddress: String, localAddress: String) {
        self.server = server
        self.output = output
        engine = server.engine
        parser = RequestParser(limits: RESPLimits(maxBulkLength: engine.config.protoMaxBulkLen))
        client = engine.registerClient(address: remoteAddress, localAddress: localAddress)
        client.connection = self
        if engine.clientCount > engine.config.maxClients {
            engine.stats.rejectedConnections += 1
            reply.error("ERR max number of clients reached")
            closing = true
            flushReplies()
        }
    }

    /// The transport closed the connection: nothing more is sent.
    func closed() {
        output = nil
        client.connection = nil
        engine.unregisterClient(client)
        server.connectionClosed(self)
    }

    // MARK: Input

    /// Runs every complete request in `input`; keeps an incomplete tail for the next read.
    func received(_ input: UnsafeRawBufferPointer) {
        if closing { return }
        engine.stats.totalNetInput += input.count
        if client.blocked != nil || !pending.isEmpty {
            // A blocked client's further commands wait, in order, until the block resolves.
            pending.append(contentsOf: input)
            if client.blocked == nil { processPending() }
        } else {
            let consumed = process(input)
            if consumed < input.count { pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[consumed...])) }
        }
        if pending.count > engine.config.clientQueryBufferLimit {
            server.logger.warning(
                "Closing client that reached max query buffer length", metadata: ["addr": "\(client.address)"])
            closing = true
            pending = []
            flushReplies()
        }
    }

    /// The transport has delivered everything it read in this loop iteration.
    func readComplete() {
        // Replies leave at the end of the loop tick, after the tick's log write (see GodisServer.endOfTick): writes
        // reach the log before their replies, and the clients' wake-ups come in one burst, as in Redis's beforeSleep.
        if !reply.bytes.isEmpty || closing { server.flushAtEndOfTick(self) }
        if client.blocked != nil { server.clientBlocked(self) }
    }

    private func processPending() {
        let consumed = pending.withUnsafeBytes { process($0) }
        pending.removeFirst(consumed)
    }

    /// Executes every complete request in `bytes`; returns how many bytes were consumed.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        engine.beginCommands()
        var pos = 0
        parsing: while pos < bytes.count && !closing {
            switch parser.parse(bytes, from: pos) {
            case .incomplete:
                break parsing
            case .empty(let end):
                pos = end
            case .command(let end, let inline):
                if inline {
                    parser.inlineStorage.withUnsafeBytes { storage in
                        engine.execute(Args(buffer: storage, spans: parser.spans), client: client, reply: &reply)
                    }
                } else {
                    engine.execute(Args(buffer: bytes, spans: parser.spans), client: client, reply: &reply)
                }
                pos = end
                if client.closeAfterReply { closing = true }
                if client.blocked != nil { break parsing }
            case .error(let error):
                reply.error("ERR " + error.message)
                server.logger.debug(
                    "Protocol error from client", metadata: ["addr": "\(client.address)", "error": "\(error.message)"])
                closing = true
                pos = bytes.count
            }
        }
        if reply.protocolVersion != client.protocolVersion { reply.protocolVersion = client.protocolVersion }
        client.lastInteraction = engine.now
        return pos
    }

    /// Called by the server when something a blocked client may wait for changed. Returns true once unblocked:
    /// the reply is queued and the commands that arrived meanwhile run.
    func resumeIfUnblocked() -> Bool {
        guard output != nil else { return true }
        guard engine.resolveBlock(client, reply: &reply, now: Engine.clockMillis()) else { return false }
        if !pending.isEmpty { processPending() }
        server.flushAtEndOfTick(self)
        if client.blocked != nil {
            server.clientBlocked(self)
            return false
        }
        return true
    }

    // MARK: Output

    /// Sends what is queued, unless it answers writes the log has not acknowledged yet (this client's last write:
    /// a client that only reads is never held back by another client's writes or by a failing log).
    func flushReplies() {
        guard let output else { return }
        heldUntil = max(heldUntil, client.lastWriteSeq)
        let mustWait = heldUntil > server.durablePosition
        if !reply.bytes.isEmpty {
            engine.stats.totalNetOutput += reply.bytes.count
            // Behind held replies, or itself waiting: queue it, so that replies leave in order and in one send.
            if mustWait || !held.isEmpty {
                held.append(contentsOf: reply.bytes)
            } else {
                reply.bytes.withUnsafeBytes { output.send($0) }
            }
            reply.bytes.removeAll(keepingCapacity: true)
        }
        if mustWait {
            if held.count > Self.heldLimit {
                server.logger.warning("Closing a client whose replies wait for the log past \(Self.heldLimit) bytes")
                held = []
                closing = true
                output.close()
            }
            return
        }
        if !held.isEmpty {
            held.withUnsafeBytes { output.send($0) }
            held = []
        }
        if closing { output.close() }
    }

    /// Called by the server when the durable position advanced.
    func durabilityAdvanced() {
        guard !held.isEmpty || closing else { return }
        flushReplies()
    }

    func endOfTick() {
        awaitingEndOfTick = false
        flushReplies()
    }

    /// Replies are held back until the log acknowledges `heldUntil`.
    var hasHeldReplies: Bool { !held.isEmpty }

    // MARK: ClientConnection

    func push(_ bytes: [UInt8]) {
        guard let output else { return }
        bytes.withUnsafeBytes { output.send($0) }
    }

    func close() {
        closing = true
        if held.isEmpty { output?.close() }
    }
}
