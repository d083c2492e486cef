import Foundation

/// The I/O layer under the server: one loop thread that runs every connection's I/O, the engine's commands and
/// the server's tasks. Per loop iteration: read events (each connection's requests run as they arrive), then the
/// queued tasks (the server's end-of-tick log write and reply burst), then due timers.
///
/// Two implementations behind this seam: `EpollTransport` (Linux; the default there: a plain level-triggered
/// epoll loop, ~1 µs less CPU per request than SwiftNIO's machinery at one request per read) and `NIOTransport`
/// (SwiftNIO, every platform; `--io-transport nio`). The engine and the sessions never see either.
protocol Transport: AnyObject {
    /// Runs `task` on the loop thread after the I/O events being handled. Any thread may call it.
    func execute(_ task: @escaping () -> Void)
    /// Runs `task` on the loop thread every `millis` milliseconds until `stopListening`.
    func scheduleRepeated(everyMillis: Int64, _ task: @escaping () -> Void)
    /// Listens on every address, then runs the loop. `accept` makes the session of each new connection (on the
    /// loop thread) from its output and its remote and local addresses. Returns the bound ports.
    func start(bind: [String], port: Int, accept: @escaping (SessionOutput, String, String) -> Session) throws -> [Int]
    /// On the loop thread: stops accepting and the timers, then calls `done` on the loop thread.
    func stopListening(then done: @escaping () -> Void)
    /// Closes what is left (letting queued replies leave for a moment) and stops the loop thread; call after
    /// `stopListening` completed.
    func shutdown() async throws
    /// Called if the loop itself fails and stops (it then serves nothing more).
    var onFatalError: ((Error) -> Void)? { get set }
}

/// How long a graceful shutdown lets queued replies keep leaving before it cuts the connections (both transports).
let shutdownDrainMillis: Int64 = 2000

/// Which transport a server uses (`io-transport`).
public enum TransportKind: String, Sendable, CaseIterable {
    case epoll, nio

    /// The default: epoll where it exists.
    public static var platformDefault: TransportKind {
        #if os(Linux)
        return .epoll
        #else
        return .nio
        #endif
    }
}

/// A one-shot result that async code can wait for (the end of a graceful shutdown).
final class Completion: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Void, Error>?
    private var waiter: CheckedContinuation<Void, Error>?

    func succeed() { complete(.success(())) }
    func fail(_ error: Error) { complete(.failure(error)) }

    private func complete(_ r: Result<Void, Error>) {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return
        }
        result = r
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(with: r)
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            lock.lock()
            if let r = result {
                lock.unlock()
                c.resume(with: r)
            } else {
                waiter = c
                lock.unlock()
            }
        }
    }
}
