/// What the engine may do to a connection it does not own: push bytes to it (pub/sub, blocked clients) or close
/// it (CLIENT KILL, QUIT). The transport implements this; the engine never sees a channel.
public protocol ClientConnection: AnyObject {
    /// Sends `bytes` to the peer outside the request/reply cycle.
    func push(_ bytes: [UInt8])
    /// Closes the connection after the replies already queued.
    func close()
}

/// Per-connection state the commands read and change.
public final class ClientState {
    public let id: Int
    public var name: String = ""
    public var db: Int = 0
    public var protocolVersion: Int = 2
    public var authenticated: Bool
    public let address: String
    public let localAddress: String
    public let createdAt: Int64
    public var lastInteraction: Int64
    /// The last command run (commands live for the whole process, so no reference counting is needed).
    public unowned(unsafe) var lastCommand: Command? = nil
    /// Set by QUIT and CLIENT KILL: the transport closes the connection once the pending replies are sent.
    public var closeAfterReply = false
    /// The transport's handle. Not `weak`: a weak reference would move the handler's reference counts to a side
    /// table and slow every retain of it on the hot path. The transport clears it when the connection closes.
    public unowned(unsafe) var connection: ClientConnection?
    /// Log sequence number of this client's last write (WAITAOF waits for it).
    public var lastWriteSeq: UInt64 = 0
    /// Set by a command that must wait; the transport sends nothing more and runs none of the client's further
    /// commands until it resolves the wait and calls `Engine.unblock`.
    public var blocked: BlockedOn?

    public init(id: Int, address: String, localAddress: String, authenticated: Bool, now: Int64) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.authenticated = authenticated
        self.createdAt = now
        self.lastInteraction = now
    }
}

/// What a blocked client waits for.
public enum BlockedOn: Equatable, Sendable {
    /// WAITAOF: the log must have synced `seq` (when `numlocal` > 0); `deadline` in Unix ms, 0 for none.
    case logSync(seq: UInt64, numlocal: Int, numreplicas: Int, deadline: Int64)
}
