import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// INFO, with Redis's section and field names.
enum InfoCommand {
    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"]

    static func residentBytes() -> Int {
        #if os(Linux)
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0, resident = 0
        _ = withUnsafeMutablePointer(to: &size) { s in
            withUnsafeMutablePointer(to: &resident) { r in
                withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) }
            }
        }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }

    static func humanBytes(_ n: Int) -> String {
        let d = Double(n)
        if n < 1024 { return "\(n)B" }
        if n < 1 << 20 { return RESPNumber.cFormat("%.2fK", d / 1024) }
        if n < 1 << 30 { return RESPNumber.cFormat("%.2fM", d / 1048576) }
        return RESPNumber.cFormat("%.2fG", d / 1073741824)
    }

    static func section(_ e: Engine, _ name: String) -> [(String, String)] {
        let now = Engine.clockMillis()
        switch name {
        case "server":
            let uptime = (now - e.startTime) / 1000
            var fields: [(String, String)] = [
                ("redis_version", ServerCommands.redisVersion), ("godis_version", ServerCommands.godisVersion),
                ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"), ("redis_mode", "standalone"),
                ("os", "Linux"), ("arch_bits", "64"), ("multiplexing_api", "epoll"),
                ("process_id", String(getpid())), ("run_id", e.runID), ("tcp_port", String(e.config.port)),
                ("server_time_usec", String(now * 1000)), ("uptime_in_seconds", String(uptime)),
                ("uptime_in_days", String(uptime / 86400)), ("hz", String(e.config.hz)),
                ("configured_hz", String(e.config.hz)), ("executable", CommandLine.arguments.first ?? ""),
                ("config_file", ""),
            ]
            fields += e.infoProviders["server"]?() ?? []
            return fields
        case "clients":
            return [
                ("connected_clients", String(e.clientsByID.count)), ("cluster_connections", "0"),
                ("maxclients", String(e.config.maxClients)), ("client_recent_max_input_buffer", "0"),
                ("client_recent_max_output_buffer", "0"), ("blocked_clients", "0"), ("tracking_clients", "0"),
                ("clients_in_timeout_table", "0"),
            ]
        case "memory":
            let rss = residentBytes()
            return [
                ("used_memory", String(rss)), ("used_memory_human", humanBytes(rss)), ("used_memory_rss", String(rss)),
                ("used_memory_rss_human", humanBytes(rss)), ("used_memory_peak", String(rss)),
                ("maxmemory", String(e.config.maxMemory)), ("maxmemory_human", humanBytes(e.config.maxMemory)),
                ("maxmemory_policy", "noeviction"), ("mem_allocator", "libc"),
            ]
        case "persistence":
            var fields: [(String, String)] = [("loading", e.loading ? "1" : "0"), ("async_loading", "0")]
            if let extra = e.infoProviders["persistence"] {
                fields += extra()
            } else {
                fields += [("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"), ("aof_last_write_status", "ok")]
            }
            return fields
        case "stats":
            return [
                ("total_connections_received", String(e.stats.totalConnections)),
                ("total_commands_processed", String(e.stats.totalCommands)),
                ("instantaneous_ops_per_sec", "0"),
                ("total_net_input_bytes", String(e.stats.totalNetInput)),
                ("total_net_output_bytes", String(e.stats.totalNetOutput)),
                ("rejected_connections", String(e.stats.rejectedConnections)),
                ("expired_keys", String(e.stats.expiredKeys)),
                ("expired_stale_perc", RESPNumber.cFormat("%.2f", e.stats.expiredStalePercent)),
                ("evicted_keys", "0"),
                ("keyspace_hits", String(e.stats.keyspaceHits)),
                ("keyspace_misses", String(e.stats.keyspaceMisses)),
                ("total_error_replies", String(e.stats.totalErrorReplies)),
            ]
        case "replication":
            return [("role", "master"), ("connected_slaves", "0"), ("master_repl_offset", "0")]
        case "cpu":
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            func secs(_ t: timeval) -> String { RESPNumber.cFormat("%.6f", Double(t.tv_sec) + Double(t.tv_usec) / 1e6) }
            return [("used_cpu_sys", secs(usage.ru_stime)), ("used_cpu_user", secs(usage.ru_utime))]
        case "keyspace":
            return e.databases.filter { $0.count > 0 }.map { db in
                ("db\(db.index)", "keys=\(db.count),expires=\(db.expiresCount),avg_ttl=0")
            }
        default:
            return []
        }
    }

    static func info(_ e: Engine, _ c: ClientState, _ args: Args, _ r: inout ReplyWriter) throws {
        var sections: [String] = []
        if args.count == 1 {
            sections = defaultSections
        } else {
            for i in 1..<args.count {
                let s = args.string(i).lowercased()
                switch s {
                case "all", "everything": sections += defaultSections
                case "default": sections += defaultSections
                default: sections.append(s)
                }
            }
        }
        var text = ""
        var seen = Set<String>()
        for s in sections where !seen.contains(s) {
            seen.insert(s)
            guard defaultSections.contains(s) else { continue }
            if !text.isEmpty { text += "\r\n" }
            text += "# \(s == "cpu" ? "CPU" : s.prefix(1).uppercased() + s.dropFirst())\r\n"
            for (k, v) in section(e, s) { text += "\(k):\(v)\r\n" }
        }
        r.verbatim(text)
    }
}
