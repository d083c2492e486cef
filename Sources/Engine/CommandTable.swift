import RESP

/// Command flags as COMMAND reports them.
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let fast = CommandFlags(rawValue: 1 << 2)
    public static let admin = CommandFlags(rawValue: 1 << 3)
    public static let noauth = CommandFlags(rawValue: 1 << 4)
    public static let loading = CommandFlags(rawValue: 1 << 5)
    public static let stale = CommandFlags(rawValue: 1 << 6)
    public static let denyoom = CommandFlags(rawValue: 1 << 7)
    public static let noscript = CommandFlags(rawValue: 1 << 8)

    static let names: [(CommandFlags, String)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyoom, "denyoom"), (.admin, "admin"), (.noscript, "noscript"),
        (.loading, "loading"), (.stale, "stale"), (.fast, "fast"), (.noauth, "no_auth"),
    ]
}

/// A command handler: reads `args`, changes the keyspace through `engine`, writes one reply to `reply`, or throws
/// a `RedisError` that the dispatcher turns into Redis's text.
public typealias CommandHandler = (Engine, ClientState, Args, inout ReplyWriter) throws -> Void

/// One row of the command table: everything the dispatcher, COMMAND and the log need to know about a command.
public final class Command {
    /// Lower-case name; `parent|sub` for subcommands.
    public let name: String
    /// Redis's arity: exact argument count including the name, or at least `-arity` when negative.
    public let arity: Int
    public let flags: CommandFlags
    public let firstKey: Int
    public let lastKey: Int
    public let step: Int
    public let group: String
    public let summary: String
    public let since: String
    public let handler: CommandHandler?
    public let subcommands: [Command]
    /// The lower-case name after `|` (the whole name for top-level commands).
    let shortName: [UInt8]

    public init(
        _ name: String, arity: Int, flags: CommandFlags, keys: (Int, Int, Int) = (0, 0, 0), group: String,
        since: String = "1.0.0", summary: String, subcommands: [Command] = [], handler: CommandHandler? = nil
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        (firstKey, lastKey, step) = keys
        self.group = group
        self.since = since
        self.summary = summary
        self.handler = handler
        self.subcommands = subcommands
        shortName = Array((name.split(separator: "|").last ?? Substring(name)).utf8)
    }

    public var isWrite: Bool { flags.contains(.write) }

    @inline(__always)
    func arityMatches(_ argc: Int) -> Bool {
        arity >= 0 ? argc == arity : argc >= -arity
    }
}

/// Command lookup by case-insensitive name without building a `String` per request. A class, so that a lookup
/// borrows the table in place rather than copying (and retaining) it per command.
public final class CommandTable {
    private var table = HashTable<Command>()
    public private(set) var all: [Command] = []

    public init(_ commands: [Command]) {
        for c in commands { add(c) }
    }

    func add(_ c: Command) {
        let key = Array(c.name.utf8)
        let h = key.withUnsafeBytes { HashTable<Command>.hash($0) }
        table.insert(key: key, hash: h, value: c)
        all.append(c)
    }

    /// Finds a command by a name in any case. Names longer than 64 bytes are never commands.
    @inline(__always)
    public func lookup(_ name: UnsafeRawBufferPointer) -> Command? {
        guard name.count <= 64 else { return nil }
        var scratch: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { s -> Command? in
            for i in 0..<name.count {
                let c = name[i]
                s[i] = (c >= 65 && c <= 90) ? c | 0x20 : c
            }
            let lowered = UnsafeRawBufferPointer(rebasing: s[0..<name.count])
            guard let idx = table.find(lowered, hash: HashTable<Command>.hash(lowered)) else { return nil }
            return table[idx].value
        }
    }

    public func lookup(_ name: String) -> Command? {
        var n = name
        return n.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }
    }
}
