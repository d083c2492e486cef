#if os(Linux)
import CGodisNet
import Foundation
import Logging

/// The epoll transport: one thread, a level-triggered epoll set, one `read` per readable connection per iteration
/// into one shared buffer (requests are parsed in place from it), and one `write` per connection per reply burst.
/// Other threads reach the loop through a locked task queue and an eventfd.
///
/// Closing is deferred to the end of the iteration, so an event or a call for a connection closed earlier in the same
/// iteration finds it marked closed rather than a reused descriptor.
final class EpollTransport: Transport {
    private let logger: Logger
    private let epoll: Int32
    private let wakeFD: Int32

    // Loop thread only (set up before the thread starts).
    private var listeners: [Int32] = []
    private var slots: [EpollConnection?] = []
    private var generations: [UInt32] = []
    private var freeSlots: [Int] = []
    private var tasks: [() -> Void] = []
    /// The tasks being run; swapped with `tasks` so that neither list reallocates.
    private var runningTasks: [() -> Void] = []
    private var timers: [(interval: Int64, next: Int64, task: () -> Void)] = []
    private var closing: [EpollConnection] = []
    private var running = true
    private var lastAcceptWarning: Int64 = 0
    /// Set while the listeners are paused for lack of descriptors.
    private var acceptResumesAt: Int64?
    /// Set by `shutdown`: the loop ends once every queued reply is sent, or at this time.
    private var drainDeadline: Int64?
    private var accept: ((SessionOutput, String, String) -> Session)?
    private let readBuffer: UnsafeMutableRawBufferPointer

    // Shared, under `lock`.
    private var loopThread: pthread_t?
    private let lock = NSLock()
    private var remoteTasks: [() -> Void] = []
    private var wakePending = false
    private let finished = Completion()
    var onFatalError: ((Error) -> Void)?

    static let readSize = 64 * 1024
    // Connection tokens are `generation << 32 | slot` with 30-bit generations, so they never set these bits.
    private static let wakeToken: UInt64 = 1 << 63
    private static let listenerToken: UInt64 = 1 << 62
    static let generationMask: UInt32 = 0x3fff_ffff
    /// How long accepting pauses when the process is out of descriptors.
    private static let acceptPauseMillis: Int64 = 100

    init(logger: Logger) throws {
        self.logger = logger
        epoll = godis_epoll_create()
        guard epoll >= 0 else { throw TransportError.system("epoll_create1", -epoll) }
        wakeFD = godis_eventfd()
        guard wakeFD >= 0 else {
            _ = godis_close(epoll)
            throw TransportError.system("eventfd", -wakeFD)
        }
        let rc = godis_epoll_ctl(epoll, 0, wakeFD, UInt32(GODIS_EV_IN), Self.wakeToken)
        guard rc == 0 else {
            _ = godis_close(wakeFD)
            _ = godis_close(epoll)
            throw TransportError.system("epoll_ctl", -rc)
        }
        readBuffer = .allocate(byteCount: Self.readSize, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
        _ = godis_close(wakeFD)
        _ = godis_close(epoll)
    }

    // MARK: Transport

    func execute(_ task: @escaping () -> Void) {
        lock.lock()
        if let loopThread, pthread_equal(loopThread, pthread_self()) != 0 {
            lock.unlock()
            tasks.append(task)
            return
        }
        remoteTasks.append(task)
        let wake = !wakePending
        wakePending = true
        lock.unlock()
        if wake { _ = godis_eventfd_signal(wakeFD) }
    }

    func scheduleRepeated(everyMillis: Int64, _ task: @escaping () -> Void) {
        execute { [self] in timers.append((everyMillis, Self.monotonicMillis() + everyMillis, task)) }
    }

    func start(bind: [String], port: Int, accept: @escaping (SessionOutput, String, String) -> Session) throws -> [Int] {
        self.accept = accept
        var ports: [Int] = []
        for (i, address) in bind.enumerated() {
            var bound: Int32 = 0
            let fd = godis_listen(address, Int32(port), 511, &bound)
            guard fd >= 0 else {
                for l in listeners { _ = godis_close(l) }
                throw TransportError.listen(address: address, port: port, errno: -fd)
            }
            listeners.append(fd)
            ports.append(Int(bound))
            _ = godis_epoll_ctl(epoll, 0, fd, UInt32(GODIS_EV_IN), Self.listenerToken | UInt64(i))
        }
        let thread = Thread { [self] in
            lock.lock()
            loopThread = pthread_self()
            lock.unlock()
            run()
            finished.succeed()
        }
        thread.name = "godis-loop"
        thread.start()
        return ports
    }

    func stopListening(then done: @escaping () -> Void) {
        execute { [self] in
            timers = []
            for fd in listeners { _ = godis_close(fd) }
            listeners = []
            done()
        }
    }

    /// Closes the idle connections at once; the ones with queued replies close as their bytes leave, and those
    /// still sending after `shutdownDrainMillis` are cut.
    func shutdown() async throws {
        execute { [self] in
            drainDeadline = Self.monotonicMillis() + shutdownDrainMillis
            for case let c? in slots { c.close() }
        }
        try await finished.wait()
    }

    /// During a shutdown: true once every connection is closed, or the drain time is over (then it cuts the rest).
    private func drainFinished() -> Bool {
        guard let deadline = drainDeadline else { return false }
        if Self.monotonicMillis() >= deadline {
            for case let c? in slots { scheduleClose(c) }
            return true
        }
        return !slots.contains { $0 != nil }
    }

    // MARK: The loop

    private func run() {
        var events = [godis_event](repeating: godis_event(), count: 256)
        while running {
            let n = events.withUnsafeMutableBufferPointer {
                godis_epoll_wait(epoll, $0.baseAddress, Int32($0.count), waitTimeout())
            }
            if n < 0 {
                let error = TransportError.system("epoll_wait", -n)
                logger.critical("\(error)")
                onFatalError?(error)
                break
            }
            for i in 0..<Int(n) { handle(events[i]) }
            runTasks()
            runTimers()
            finishClosing()
            if drainFinished() { running = false }
        }
        finishClosing()
    }

    private func waitTimeout() -> Int32 {
        if !tasks.isEmpty || !closing.isEmpty { return 0 }
        var next = Int64.max
        if let resume = acceptResumesAt { next = resume }
        if let deadline = drainDeadline, deadline < next { next = deadline }
        for t in timers where t.next < next { next = t.next }
        if next == Int64.max { return -1 }
        return Int32(clamping: max(0, next - Self.monotonicMillis()))
    }

    private func handle(_ event: godis_event) {
        let token = event.token
        if token == Self.wakeToken {
            godis_eventfd_drain(wakeFD)
            lock.lock()
            let remote = remoteTasks
            remoteTasks.removeAll()
            wakePending = false
            lock.unlock()
            tasks.append(contentsOf: remote)
            return
        }
        if token & Self.listenerToken != 0 {
            let index = Int(token & 0xffff)
            if index < listeners.count { acceptAll(listeners[index], index: index) }
            return
        }
        let slot = Int(token & 0xffff_ffff)
        guard slot < slots.count, let c = slots[slot], c.generation == UInt32(token >> 32), !c.isClosed else { return }
        if event.events & UInt32(GODIS_EV_OUT) != 0 { c.writable() }
        if event.events & UInt32(GODIS_EV_IN | GODIS_EV_ERR | GODIS_EV_HUP) != 0,
            !c.isClosed
        {
            let n = godis_read(c.fd, readBuffer.baseAddress, readBuffer.count)
            if n > 0 {
                c.session?.received(UnsafeRawBufferPointer(rebasing: readBuffer[..<Int(n)]))
                c.session?.readComplete()
            } else if n == 0 || n != -Int(EAGAIN) {
                scheduleClose(c)
            }
        }
    }

    private func acceptAll(_ listener: Int32, index: Int) {
        guard let accept else { return }
        // Bounded, so that a connection storm cannot starve the connected clients.
        for _ in 0..<64 {
            let fd = godis_accept(listener)
            if fd < 0 {
                if fd == -EMFILE || fd == -ENFILE {
                    // The pending connection keeps the listener readable: stop watching it for a moment rather
                    // than spin, and warn at most once a second.
                    let now = Self.monotonicMillis()
                    _ = godis_epoll_ctl(epoll, 1, listener, 0, Self.listenerToken | UInt64(index))
                    acceptResumesAt = now + Self.acceptPauseMillis
                    if now - lastAcceptWarning >= 1000 {
                        lastAcceptWarning = now
                        logger.warning("Accepting client connection: \(String(cString: strerror(-fd)))")
                    }
                } else if fd != -EAGAIN && fd != -ECONNABORTED {
                    logger.warning("Accepting client connection: \(String(cString: strerror(-fd)))")
                }
                return
            }
            let slot = freeSlots.popLast() ?? {
                slots.append(nil)
                generations.append(0)
                return slots.count - 1
            }()
            let c = EpollConnection(transport: self, fd: fd, slot: slot, generation: generations[slot])
            slots[slot] = c
            guard godis_epoll_ctl(epoll, 0, fd, c.interest, c.token) == 0 else {
                slots[slot] = nil
                freeSlots.append(slot)
                _ = godis_close(fd)
                continue
            }
            c.session = accept(c, Self.address(fd, peer: true), Self.address(fd, peer: false))
        }
    }

    private func runTasks() {
        guard !tasks.isEmpty else { return }
        swap(&tasks, &runningTasks)
        for t in runningTasks { t() }
        runningTasks.removeAll(keepingCapacity: true)
    }

    private func runTimers() {
        if let resume = acceptResumesAt, Self.monotonicMillis() >= resume {
            acceptResumesAt = nil
            for (i, fd) in listeners.enumerated() {
                _ = godis_epoll_ctl(epoll, 1, fd, UInt32(GODIS_EV_IN), Self.listenerToken | UInt64(i))
            }
        }
        guard !timers.isEmpty else { return }
        let now = Self.monotonicMillis()
        for i in timers.indices where i < timers.count && timers[i].next <= now {
            timers[i].next = now + timers[i].interval
            timers[i].task()
        }
    }

    // MARK: Connections

    func scheduleClose(_ c: EpollConnection) {
        guard !c.isClosed else { return }
        c.isClosed = true
        closing.append(c)
    }

    func updateInterest(_ c: EpollConnection) {
        _ = godis_epoll_ctl(epoll, 1, c.fd, c.interest, c.token)
    }

    private func finishClosing() {
        while !closing.isEmpty {
            let batch = closing
            closing.removeAll()
            for c in batch {
                _ = godis_close(c.fd)
                slots[c.slot] = nil
                generations[c.slot] = (generations[c.slot] &+ 1) & Self.generationMask
                freeSlots.append(c.slot)
                let session = c.session
                c.session = nil
                session?.closed()
            }
        }
    }

    static func address(_ fd: Int32, peer: Bool) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard godis_address(fd, peer ? 1 : 0, &buffer, buffer.count) == 0 else { return "?" }
        return String(cString: buffer)
    }

    static func monotonicMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// One connection of the epoll transport: its descriptor, its session, and the bytes a `write` could not take yet.
final class EpollConnection: SessionOutput {
    private unowned let transport: EpollTransport
    let fd: Int32
    let slot: Int
    let generation: UInt32
    var session: Session?
    var isClosed = false
    /// Bytes not yet accepted by the socket, from `unsentOffset` on; while non-empty, EPOLLOUT is watched.
    private var unsent: [UInt8] = []
    private var unsentOffset = 0
    private var closeWhenSent = false

    init(transport: EpollTransport, fd: Int32, slot: Int, generation: UInt32) {
        self.transport = transport
        self.fd = fd
        self.slot = slot
        self.generation = generation
    }

    var token: UInt64 { UInt64(generation) << 32 | UInt64(slot) }
    var interest: UInt32 {
        UInt32(GODIS_EV_IN) | (unsent.isEmpty ? 0 : UInt32(GODIS_EV_OUT))
    }

    func send(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed, bytes.count > 0 else { return }
        if !unsent.isEmpty {
            unsent.append(contentsOf: bytes)
            return
        }
        let n = godis_write(fd, bytes.baseAddress, bytes.count)
        if n == bytes.count { return }
        if n < 0 && n != -Int(EAGAIN) {
            transport.scheduleClose(self)
            return
        }
        unsent.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[max(0, n)...]))
        unsentOffset = 0
        transport.updateInterest(self)
    }

    /// The socket can take more: send what is queued.
    func writable() {
        guard !unsent.isEmpty else { return }
        let n = unsent.withUnsafeBytes { godis_write(fd, $0.baseAddress! + unsentOffset, $0.count - unsentOffset) }
        if n < 0 {
            if n != -Int(EAGAIN) { transport.scheduleClose(self) }
            return
        }
        unsentOffset += n
        if unsentOffset == unsent.count {
            unsent = []
            unsentOffset = 0
            transport.updateInterest(self)
            if closeWhenSent { transport.scheduleClose(self) }
        } else if unsentOffset >= 1 << 20 && unsentOffset * 2 >= unsent.count {
            // A reader that never quite catches up must not keep every byte sent since the queue last emptied.
            unsent.removeFirst(unsentOffset)
            unsentOffset = 0
        }
    }

    func close() {
        if unsent.isEmpty {
            transport.scheduleClose(self)
        } else {
            closeWhenSent = true
        }
    }
}

enum TransportError: Error, CustomStringConvertible {
    case system(String, Int32)
    case listen(address: String, port: Int, errno: Int32)

    var description: String {
        switch self {
        case .system(let call, let e): return "\(call) failed: \(String(cString: strerror(e)))"
        case .listen(let address, let port, let e):
            return "Could not create server TCP listening socket \(address):\(port): \(String(cString: strerror(e)))"
        }
    }
}
#endif
