import Engine
import Logging
import Server
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

// godis-server [config-file] [--name value ...]: the redis-server command line.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--version" || arguments.first == "-v" {
    print("Godis server v=0.1.0 (Redis 7.0.15 compatible)")
    exit(0)
}
if arguments.first == "--help" || arguments.first == "-h" {
    print("""
        Usage: godis-server [/path/to/godis.conf] [options]
        Options are redis.conf directives as flags, e.g.:
          godis-server --port 6380 --bind 127.0.0.1 --dir ./data --appendfsync always
          godis-server /etc/godis.conf --requirepass secret
        """)
    exit(0)
}

let configuration: GodisConfiguration
do {
    configuration = try ConfigurationParser.parse(arguments: arguments) { path in
        guard let f = fopen(path, "r") else { throw ConfigurationParser.Failure(description: "Fatal error, can't open config file '\(path)'") }
        defer { fclose(f) }
        var text = ""
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, 4096, f) != nil { text += String(cString: buf) }
        return text
    }
} catch {
    fputs("*** FATAL CONFIG FILE ERROR ***\n\(error)\n", stderr)
    exit(1)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    switch configuration.logLevel {
    case "debug": handler.logLevel = .debug
    case "verbose": handler.logLevel = .info
    case "warning": handler.logLevel = .warning
    default: handler.logLevel = .notice
    }
    return handler
}
let logger = Logger(label: "godis")
let server = GodisServer(configuration: configuration, logger: logger)
let group = ServiceGroup(
    configuration: .init(
        services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
do {
    try await group.run()
} catch {
    logger.critical("\(error)")
    exit(1)
}
