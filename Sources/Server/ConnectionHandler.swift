import Engine
import NIOCore
import RESP

/// One client connection: bytes in, replies out. Parses requests in place from the read buffer, runs them on the
/// engine, and sends the replies at the end of the loop tick, after the tick's log write (`GodisServer.endOfTick`),
/// all replies of the tick with one write and one flush.
///
/// Everything runs on the single event loop that owns the engine, so the handler needs no locks.
final class ConnectionHandler: ChannelInboundHandler, ClientConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: GodisServer
    private var parser: RequestParser
    private var reply = ReplyWriter()
    /// Bytes of an incomplete request carried over to the next read.
    private var pending: ByteBuffer?
    private var client: ClientState!
    private var context: ChannelHandlerContext?
    /// Replies held until the log has written (and, under `appendfsync always`, synced) the writes they answer.
    private var held: ByteBuffer?
    /// The buffer of the last flush, kept for reuse.
    private var outbound: ByteBuffer?
    private var heldUntil: UInt64 = 0
    private var closing = false
    /// True while this connection waits in the server's end-of-tick list.
    var awaitingEndOfTick = false

    init(server: GodisServer) {
        self.server = server
        parser = RequestParser(limits: RESPLimits(maxBulkLength: server.engine.config.protoMaxBulkLen))
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let remote = context.channel.remoteAddress.map(Self.describe) ?? "?"
        let local = context.channel.localAddress.map(Self.describe) ?? "?"
        client = server.engine.registerClient(address: remote, localAddress: local)
        client.connection = self
        context.fireChannelActive()
        if server.engine.clientCount > server.engine.config.maxClients {
            server.engine.stats.rejectedConnections += 1
            reply.error("ERR max number of clients reached")
            closing = true
            flushReplies(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client {
            client.connection = nil
            server.engine.unregisterClient(client)
        }
        server.connectionClosed(self)
        self.context = nil
        context.fireChannelInactive()
    }

    static func describe(_ a: SocketAddress) -> String {
        "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if closing { return }
        server.engine.stats.totalNetInput += input.readableBytes
        if client.blocked != nil {
            // A blocked client's further commands wait, in order, until the block resolves.
            if pending == nil { pending = input } else { pending!.writeBuffer(&input) }
        } else if var carried = pending {
            pending = nil
            carried.writeBuffer(&input)
            process(&carried)
            if carried.readableBytes > 0 { pending = carried }
        } else {
            process(&input)
            if input.readableBytes > 0 { pending = input }
        }
        if let p = pending, p.readableBytes > server.engine.config.clientQueryBufferLimit {
            server.logger.warning("Closing client that reached max query buffer length", metadata: ["addr": "\(client.address)"])
            closing = true
            pending = nil
            flushReplies(context: context)
        }
    }

    /// Executes every complete request in `buffer` and consumes its bytes.
    private func process(_ buffer: inout ByteBuffer) {
        let engine = server.engine
        engine.refreshClock()
        let consumed = buffer.withUnsafeReadableBytes { bytes -> Int in
            var pos = 0
            while pos < bytes.count && !closing {
                switch parser.parse(bytes, from: pos) {
                case .incomplete:
                    return pos
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
                    if client.blocked != nil { return pos }
                case .error(let error):
                    reply.error("ERR " + error.message)
                    server.logger.debug("Protocol error from client", metadata: ["addr": "\(client.address)", "error": "\(error.message)"])
                    closing = true
                    return bytes.count
                }
            }
            return pos
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        if reply.protocolVersion != client.protocolVersion { reply.protocolVersion = client.protocolVersion }
        client.lastInteraction = engine.now
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Replies leave at the end of the loop tick, after the tick's log write (see GodisServer.endOfTick): writes
        // reach the log before their replies, and the clients' wake-ups come in one burst, as in Redis's beforeSleep.
        if !reply.bytes.isEmpty || closing { server.flushAtEndOfTick(self) }
        if client.blocked != nil { server.clientBlocked(self) }
    }

    /// Called by the server when something a blocked client may wait for changed. Returns true once unblocked:
    /// the reply is queued and the commands that arrived meanwhile run.
    func resumeIfUnblocked() -> Bool {
        guard let client, context != nil else { return true }
        guard server.engine.resolveBlock(client, reply: &reply, now: Engine.clockMillis()) else { return false }
        if var carried = pending {
            pending = nil
            process(&carried)
            if carried.readableBytes > 0 { pending = carried }
        }
        server.flushAtEndOfTick(self)
        if client.blocked != nil {
            server.clientBlocked(self)
            return false
        }
        return true
    }

    /// Most reply bytes held for one connection while the log cannot acknowledge its writes; past it the
    /// connection is closed (its writes stay unacknowledged), as Redis does past client-output-buffer-limit.
    static let heldLimit = 64 << 20

    /// Sends what is queued, unless it answers writes the log has not acknowledged yet (this client's last write:
    /// a client that only reads is never held back by another client's writes or by a failing log).
    func flushReplies(context: ChannelHandlerContext) {
        if !reply.bytes.isEmpty {
            var out: ByteBuffer
            if let h = held {
                out = h
            } else {
                // Reuse one buffer: by now the channel has written (and released) the previous reply, so
                // clearing it keeps its storage instead of allocating.
                out = outbound ?? context.channel.allocator.buffer(capacity: max(reply.bytes.count, 1024))
                outbound = nil
                out.clear()
            }
            out.writeBytes(reply.bytes)
            server.engine.stats.totalNetOutput += reply.bytes.count
            reply.bytes.removeAll(keepingCapacity: true)
            held = out
        }
        heldUntil = max(heldUntil, client?.lastWriteSeq ?? 0)
        if heldUntil > server.durablePosition {
            if let h = held, h.readableBytes > Self.heldLimit {
                server.logger.warning("Closing a client whose replies wait for the log past \(Self.heldLimit) bytes")
                held = nil
                closing = true
                context.close(promise: nil)
            }
            return
        }
        if let out = held {
            held = nil
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            if out.capacity <= 64 * 1024 { outbound = out }
        }
        if closing { context.close(promise: nil) }
    }

    /// Called by the server when the durable position advanced.
    func durabilityAdvanced() {
        guard let context, held != nil || closing else { return }
        flushReplies(context: context)
    }

    func endOfTick() {
        awaitingEndOfTick = false
        guard let context else { return }
        flushReplies(context: context)
    }

    /// Replies are held back until the log acknowledges `heldUntil`.
    var hasHeldReplies: Bool { held != nil }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("Connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: ClientConnection

    func push(_ bytes: [UInt8]) {
        guard let context else { return }
        var out = context.channel.allocator.buffer(capacity: bytes.count)
        out.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func close() {
        closing = true
        guard let context else { return }
        if held == nil { context.close(promise: nil) }
    }
}
