import Foundation
@_exported import enum Storage.FsyncPolicy
/// Every setting of a Godis server, with Redis's names and defaults.
///
/// Read from a redis.conf-style file and `--name value` flags (`ConfigurationParser`), shown and changed at run
/// time by CONFIG GET/SET through `ConfigurationTable`.
public struct GodisConfiguration: Sendable, Equatable {
    /// `bind`: addresses to listen on.
    public var bind: [String] = ["127.0.0.1"]
    /// `port`: TCP port.
    public var port: Int = 6379
    /// `dir`: the data directory; the log lives in `dir/appenddirname`.
    public var dir: String = "./data"
    /// `requirepass`: when set, clients must AUTH first.
    public var requirePass: String = ""
    /// `databases`: how many numbered databases SELECT reaches.
    public var databases: Int = 16
    /// `appendonly`: log every write. On by default: the log is the product.
    public var appendOnly: Bool = true
    /// `appendfsync`.
    public var appendFsync: FsyncPolicy = .everysec
    /// `appenddirname`.
    public var appendDirName: String = "appendonlydir"
    /// `appendfilename`: the prefix of the log's files.
    public var appendFilename: String = "appendonly.aof"
    /// `aof-load-truncated`: cut a torn tail of the last segment at startup instead of refusing to start.
    public var aofLoadTruncated: Bool = true
    /// `proto-max-bulk-len`.
    public var protoMaxBulkLen: Int = 512 * 1024 * 1024
    /// `client-query-buffer-limit`.
    public var clientQueryBufferLimit: Int = 1024 * 1024 * 1024
    /// `hz`: frequency of the active expiry cycle (read at startup).
    public var hz: Int = 10
    /// `maxclients`.
    public var maxClients: Int = 10000
    /// `timeout`: close idle clients after this many seconds (0 = never).
    public var timeout: Int = 0
    /// `loglevel`: debug, verbose, notice, warning.
    public var logLevel: String = "notice"
    /// `save`: accepted for compatibility (snapshots come with a later issue).
    public var save: String = ""
    /// `maxmemory`: accepted and reported; eviction comes later.
    public var maxMemory: Int = 0
    /// `io-transport` (Godis only): `epoll` (Linux's default, the lean loop) or `nio` (SwiftNIO). Empty: the
    /// platform's default.
    public var ioTransport: String = ""

    public init() {}
}

/// Parameter descriptions: the one table behind the config file, flags and CONFIG GET/SET.
public struct ConfigParameter: Sendable {
    public let name: String
    /// Settable with CONFIG SET while running.
    public let mutable: Bool
    public let get: @Sendable (GodisConfiguration) -> String
    public let set: @Sendable (inout GodisConfiguration, [String]) throws -> Void
}

public enum ConfigurationTable {
    struct Invalid: Error { let reason: String }

    static func yesNo(_ s: String) throws -> Bool {
        switch s.lowercased() {
        case "yes": return true
        case "no": return false
        default: throw Invalid(reason: "argument must be 'yes' or 'no'")
        }
    }

    /// Parses Redis's memory units (`1gb`, `512mb`, `100k`).
    static func memory(_ s: String) throws -> Int {
        let l = s.lowercased()
        let units: [(String, Int)] = [
            ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000),
            ("b", 1),
        ]
        for (suffix, mul) in units where l.hasSuffix(suffix) {
            guard let n = Int(l.dropLast(suffix.count)), n >= 0 else { break }
            let (v, overflow) = n.multipliedReportingOverflow(by: mul)
            guard !overflow else { throw Invalid(reason: "argument must be a memory value") }
            return v
        }
        guard let n = Int(l), n >= 0 else { throw Invalid(reason: "argument must be a memory value") }
        return n
    }

    static func int(_ s: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let n = Int(s) else { throw Invalid(reason: "argument couldn't be parsed into an integer") }
        guard range.contains(n) else {
            throw Invalid(reason: "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
        }
        return n
    }

    static func one(_ v: [String]) throws -> String {
        guard v.count == 1 else { throw Invalid(reason: "wrong number of arguments") }
        return v[0]
    }

    public static let parameters: [ConfigParameter] = [
        ConfigParameter(name: "bind", mutable: false, get: { $0.bind.joined(separator: " ") }, set: { c, v in
            c.bind = v.flatMap { $0.split(separator: " ").map(String.init) }
        }),
        ConfigParameter(name: "port", mutable: false, get: { String($0.port) }, set: { c, v in
            c.port = try int(one(v), 0...65535)
        }),
        ConfigParameter(name: "dir", mutable: false, get: { $0.dir }, set: { c, v in c.dir = try one(v) }),
        ConfigParameter(name: "requirepass", mutable: true, get: { $0.requirePass }, set: { c, v in
            c.requirePass = try one(v)
        }),
        ConfigParameter(name: "databases", mutable: false, get: { String($0.databases) }, set: { c, v in
            c.databases = try int(one(v), 1...Int(Int32.max))
        }),
        ConfigParameter(name: "appendonly", mutable: false, get: { $0.appendOnly ? "yes" : "no" }, set: { c, v in
            c.appendOnly = try yesNo(one(v))
        }),
        ConfigParameter(name: "appendfsync", mutable: true, get: { $0.appendFsync.rawValue }, set: { c, v in
            guard let p = FsyncPolicy(rawValue: try one(v).lowercased()) else {
                throw Invalid(reason: "argument(s) must be one of the following: always, everysec, no")
            }
            c.appendFsync = p
        }),
        ConfigParameter(name: "appenddirname", mutable: false, get: { $0.appendDirName }, set: { c, v in
            c.appendDirName = try one(v)
        }),
        ConfigParameter(name: "appendfilename", mutable: false, get: { $0.appendFilename }, set: { c, v in
            c.appendFilename = try one(v)
        }),
        ConfigParameter(name: "aof-load-truncated", mutable: true, get: { $0.aofLoadTruncated ? "yes" : "no" }, set: {
            c, v in c.aofLoadTruncated = try yesNo(one(v))
        }),
        ConfigParameter(name: "proto-max-bulk-len", mutable: true, get: { String($0.protoMaxBulkLen) }, set: { c, v in
            let n = try memory(one(v))
            guard n >= 1024 * 1024 else { throw Invalid(reason: "argument must be a memory value") }
            c.protoMaxBulkLen = n
        }),
        ConfigParameter(name: "client-query-buffer-limit", mutable: true, get: { String($0.clientQueryBufferLimit) },
            set: { c, v in
                let n = try memory(one(v))
                guard n >= 1024 * 1024 else { throw Invalid(reason: "argument must be a memory value") }
                c.clientQueryBufferLimit = n
            }),
        ConfigParameter(name: "hz", mutable: true, get: { String($0.hz) }, set: { c, v in
            c.hz = min(500, max(1, try int(one(v), 0...Int(Int32.max))))
        }),
        ConfigParameter(name: "maxclients", mutable: true, get: { String($0.maxClients) }, set: { c, v in
            c.maxClients = try int(one(v), 1...Int(Int32.max))
        }),
        ConfigParameter(name: "timeout", mutable: true, get: { String($0.timeout) }, set: { c, v in
            c.timeout = try int(one(v), 0...Int(Int32.max))
        }),
        ConfigParameter(name: "loglevel", mutable: true, get: { $0.logLevel }, set: { c, v in
            let l = try one(v).lowercased()
            guard ["debug", "verbose", "notice", "warning", "nothing"].contains(l) else {
                throw Invalid(reason: "argument(s) must be one of the following: debug, verbose, notice, warning, nothing")
            }
            c.logLevel = l
        }),
        ConfigParameter(name: "save", mutable: true, get: { $0.save }, set: { c, v in c.save = v.joined(separator: " ") }),
        ConfigParameter(name: "maxmemory", mutable: true, get: { String($0.maxMemory) }, set: { c, v in
            c.maxMemory = try memory(one(v))
        }),
        ConfigParameter(name: "io-transport", mutable: false, get: { $0.ioTransport }, set: { c, v in
            let t = try one(v).lowercased()
            guard ["epoll", "nio"].contains(t) else {
                throw Invalid(reason: "argument(s) must be one of the following: epoll, nio")
            }
            c.ioTransport = t
        }),
    ]

    public static func parameter(named name: String) -> ConfigParameter? {
        let l = name.lowercased()
        return parameters.first { $0.name == l }
    }

    /// Applies one `name value...` setting as read from a config file or flags.
    public static func apply(_ name: String, _ values: [String], to config: inout GodisConfiguration) throws {
        guard let p = parameter(named: name) else { throw Invalid(reason: "Bad directive or wrong number of arguments") }
        try p.set(&config, values)
    }

    /// The message of a validation failure.
    public static func reason(_ error: Error) -> String {
        (error as? Invalid)?.reason ?? "\(error)"
    }
}

/// Reads redis.conf syntax (`name value ...`, `#` comments, quoted arguments) and `--name value` flags,
/// the way redis-server takes them: a config file first, then flags override it.
public enum ConfigurationParser {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public static func parse(arguments: [String], readFile: (String) throws -> String) throws -> GodisConfiguration {
        var config = GodisConfiguration()
        var args = arguments[...]
        if let first = args.first, !first.hasPrefix("--") {
            let text = try readFile(first)
            try apply(text: text, source: first, to: &config)
            args = args.dropFirst()
        }
        var i = args.startIndex
        var lines: [String] = []
        while i < args.endIndex {
            let a = args[i]
            guard a.hasPrefix("--") else {
                throw Failure(description: "Invalid argument '\(a)': options start with --, e.g. --port 6380")
            }
            var values: [String] = []
            var j = i + 1
            while j < args.endIndex && !args[j].hasPrefix("--") {
                values.append(args[j])
                j += 1
            }
            lines.append(([String(a.dropFirst(2))] + values.map(quote)).joined(separator: " "))
            i = j
        }
        try apply(text: lines.joined(separator: "\n"), source: "command line", to: &config)
        return config
    }

    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    public static func apply(text: String, source: String, to config: inout GodisConfiguration) throws {
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmed()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let words = splitArgs(line), let name = words.first else {
                throw Failure(description: "\(source):\(n + 1): unbalanced quotes in '\(line)'")
            }
            do {
                try ConfigurationTable.apply(name, Array(words.dropFirst()), to: &config)
            } catch {
                throw Failure(
                    description:
                        "\(source):\(n + 1): '\(line)': \(ConfigurationTable.reason(error))")
            }
        }
    }

    /// Splits like Redis's `sdssplitargs` (shared with inline requests).
    static func splitArgs(_ line: String) -> [String]? {
        var parser = RequestParserProxy()
        return parser.split(line)
    }
}

import RESP

struct RequestParserProxy {
    mutating func split(_ line: String) -> [String]? {
        var p = RequestParser()
        let bytes = Array(line.utf8) + [10]
        return bytes.withUnsafeBytes { b -> [String]? in
            switch p.parse(b, from: 0) {
            case .command(_, inline: true):
                return p.spans.map { String(decoding: p.inlineStorage[$0], as: UTF8.self) }
            case .command(_, inline: false):
                return nil
            case .empty: return []
            case .error, .incomplete: return nil
            }
        }
    }
}

extension String {
    func trimmed() -> String {
        let chars: Set<Character> = [" ", "\t", "\r"]
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
