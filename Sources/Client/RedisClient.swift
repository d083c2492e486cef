import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking RESP client over TCP, for the CLI and the tests. One request at a time, or pipelines.
public final class RedisClient {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private let decoder = RESPDecoder()

    /// Connects to `host:port` (IPv4 dotted quad, e.g. 127.0.0.1).
    public init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            Glibc.close(fd)
            throw Failure(description: "bad address \(host)")
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = String(cString: strerror(errno))
            Glibc.close(fd)
            throw Failure(description: "connect \(host):\(port): \(e)")
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends raw bytes.
    public func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// Reads the next reply; throws if the connection closes first.
    public func readReply() throws -> RESPValue {
        while true {
            if !buffer.isEmpty, let (value, end) = try buffer.withUnsafeBytes({ try decoder.decode($0, from: 0) }) {
                buffer.removeFirst(end)
                return value
            }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "recv: \(String(cString: strerror(errno)))") }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// True if the server closed the connection (reads until EOF or timeout).
    public func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }  // a reset is a close too
        }
    }

    /// Sends one command and returns its reply.
    @discardableResult
    public func command(_ args: String...) throws -> RESPValue {
        try command(args)
    }

    @discardableResult
    public func command(_ args: [String]) throws -> RESPValue {
        try send(RESPEncoder.command(args))
        return try readReply()
    }

    /// Sends all commands in one write, then reads one reply each.
    public func pipeline(_ commands: [[String]]) throws -> [RESPValue] {
        var out: [UInt8] = []
        for c in commands { RESPEncoder.appendCommand(c.map { Array($0.utf8) }, to: &out) }
        try send(out)
        return try commands.map { _ in try readReply() }
    }
}
