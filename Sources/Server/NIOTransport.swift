import NIOCore
import NIOPosix

/// The SwiftNIO transport: one event loop; each connection a channel whose handler hands bytes to its `Session`.
final class NIOTransport: Transport, @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: EventLoop
    private var listeners: [Channel] = []
    private var timers: [RepeatedTask] = []
    /// NIO reports its own failures through the channels; nothing calls this.
    var onFatalError: ((Error) -> Void)?

    init() {
        loop = group.next()
    }

    func execute(_ task: @escaping () -> Void) {
        loop.execute(task)
    }

    func scheduleRepeated(everyMillis: Int64, _ task: @escaping () -> Void) {
        let interval = TimeAmount.milliseconds(everyMillis)
        loop.execute { [self] in
            timers.append(loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in task() })
        }
    }

    func start(bind: [String], port: Int, accept: @escaping (SessionOutput, String, String) -> Session) throws -> [Int] {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 511)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 1024 * 1024)
            )
            .childChannelInitializer { [self] channel in
                openConnections += 1
                channel.closeFuture.whenComplete { [self] _ in openConnections -= 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOConnection(accept: accept))
                }
            }
        var ports: [Int] = []
        for address in bind {
            // IPv6 listeners accept IPv6 only, as Redis's (and the epoll transport's): `bind 0.0.0.0 ::` works.
            let b = address.contains(":") ? bootstrap.serverChannelOption(ipv6Only, value: 1) : bootstrap
            let channel = try b.bind(host: address, port: port).wait()
            listeners.append(channel)
            ports.append(channel.localAddress?.port ?? port)
        }
        return ports
    }

    private var ipv6Only: ChannelOptions.Types.SocketOption {
        ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only)
    }

    func stopListening(then done: @escaping () -> Void) {
        loop.execute { [self] in
            for t in timers { t.cancel() }
            timers = []
            let closed = listeners.map { $0.close() }
            EventLoopFuture.andAllComplete(closed, on: loop).whenComplete { _ in done() }
        }
    }

    /// Lets connections with queued replies finish sending (they close once sent) for up to
    /// `shutdownDrainMillis`, then closes everything.
    func shutdown() async throws {
        for _ in 0..<(shutdownDrainMillis / 10) {
            guard try await loop.submit({ self.openConnections }).get() > 0 else { break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        try await group.shutdownGracefully()
    }

    /// Connections not yet closed (loop thread only).
    private var openConnections = 0
}

/// One connection's channel handler: bytes to the session, the session's replies to the channel.
final class NIOConnection: ChannelInboundHandler, SessionOutput {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let accept: (SessionOutput, String, String) -> Session
    private var session: Session?
    private var context: ChannelHandlerContext?
    /// The buffer of the last send, kept for reuse.
    private var outbound: ByteBuffer?

    init(accept: @escaping (SessionOutput, String, String) -> Session) {
        self.accept = accept
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let remote = context.channel.remoteAddress.map(Self.describe) ?? "?"
        let local = context.channel.localAddress.map(Self.describe) ?? "?"
        let session = accept(self, remote, local)
        if self.context == nil {
            // The session closed the channel while starting (maxclients), and the close completed at once.
            session.closed()
        } else {
            self.session = session
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        session?.closed()
        session = nil
        self.context = nil
        context.fireChannelInactive()
    }

    static func describe(_ a: SocketAddress) -> String {
        "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let input = unwrapInboundIn(data)
        guard let session else { return }
        input.withUnsafeReadableBytes { session.received($0) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session?.readComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: SessionOutput

    func send(_ bytes: UnsafeRawBufferPointer) {
        guard let context else { return }
        // By the next send the channel has usually written (and released) the previous buffer, so clearing it keeps
        // its storage instead of allocating.
        var out = outbound ?? context.channel.allocator.buffer(capacity: max(bytes.count, 1024))
        outbound = nil
        out.clear()
        out.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        if out.capacity <= 64 * 1024 { outbound = out }
    }

    func close() {
        guard let context else { return }
        // A channel's close drops the writes still pending; an empty write completes after every earlier one.
        let empty = context.channel.allocator.buffer(capacity: 0)
        context.writeAndFlush(wrapOutboundOut(empty)).whenComplete { _ in context.close(promise: nil) }
    }
}
