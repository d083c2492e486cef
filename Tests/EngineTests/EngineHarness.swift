import RESP

@testable import Engine

/// Records what the engine logs, as argument lists.
final class RecordingLog: CommandLog {
    var commands: [(db: Int, args: [String])] = []
    var writeError: String? = nil
    func append(db: Int, args: Args) {
        commands.append((db, (0..<args.count).map { args.string($0) }))
    }
}

/// An engine with one client, driven by argument lists, answering decoded replies.
final class Harness {
    let engine: Engine
    let client: ClientState
    let log = RecordingLog()
    var protocolVersion = 2

    init(config: GodisConfiguration = GodisConfiguration()) {
        engine = Engine(config: config)
        engine.log = log
        client = engine.registerClient(address: "127.0.0.1:1", localAddress: "127.0.0.1:6379")
    }

    @discardableResult
    func run(_ args: String...) -> RESPValue { run(args) }

    @discardableResult
    func run(_ args: [String]) -> RESPValue {
        var w = ReplyWriter(protocolVersion: client.protocolVersion)
        engine.beginCommands()
        Args.with(args) { engine.execute($0, client: client, reply: &w) }
        let values = try! RESPDecoder().decodeAll(w.bytes)
        precondition(values.count == 1, "expected one reply to \(args), got \(values)")
        return values[0]
    }

    var logged: [[String]] { log.commands.map { $0.args } }
}

extension RESPValue {
    static func bulk(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }
    static let ok = RESPValue.simpleString("OK")
    static let nilBulk = RESPValue.bulkString(nil)
    static func err(_ s: String) -> RESPValue { .error(s) }
}
