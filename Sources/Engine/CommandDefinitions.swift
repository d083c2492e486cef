/// The command table: one row per command. Arity checks, COMMAND, COMMAND DOCS and logging all read it.
extension Engine {
    static let commandTable: [Command] = {
        typealias S = StringCommands
        typealias K = KeyCommands
        typealias V = ServerCommands
        let w: CommandFlags = [.write, .denyoom]
        let wf: CommandFlags = [.write, .denyoom, .fast]
        let ro: CommandFlags = [.readonly]
        let rof: CommandFlags = [.readonly, .fast]
        let one = (1, 1, 1)
        let conn: CommandFlags = [.noscript, .loading, .stale, .fast]
        return [
            // Strings
            Command("set", arity: -3, flags: w, keys: one, group: "string", summary: "Set the string value of a key", handler: S.set),
            Command("get", arity: 2, flags: rof, keys: one, group: "string", summary: "Get the value of a key", handler: S.get),
            Command("getdel", arity: 2, flags: [.write, .fast], keys: one, group: "string", since: "6.2.0", summary: "Get the value of a key and delete the key", handler: S.getdel),
            Command("getex", arity: -2, flags: [.write, .fast], keys: one, group: "string", since: "6.2.0", summary: "Get the value of a key and optionally set its expiration", handler: S.getex),
            Command("getset", arity: 3, flags: wf, keys: one, group: "string", summary: "Set the string value of a key and return its old value", handler: S.getset),
            Command("mget", arity: -2, flags: rof, keys: (1, -1, 1), group: "string", summary: "Get the values of all the given keys", handler: S.mget),
            Command("mset", arity: -3, flags: w, keys: (1, -1, 2), group: "string", since: "1.0.1", summary: "Set multiple keys to multiple values", handler: S.mset),
            Command("msetnx", arity: -3, flags: w, keys: (1, -1, 2), group: "string", since: "1.0.1", summary: "Set multiple keys to multiple values, only if none of the keys exist", handler: S.mset),
            Command("setnx", arity: 3, flags: wf, keys: one, group: "string", summary: "Set the value of a key, only if the key does not exist", handler: S.setnx),
            Command("setex", arity: 4, flags: w, keys: one, group: "string", since: "2.0.0", summary: "Set the value and expiration of a key", handler: S.setex),
            Command("psetex", arity: 4, flags: w, keys: one, group: "string", since: "2.6.0", summary: "Set the value and expiration in milliseconds of a key", handler: S.setex),
            Command("append", arity: 3, flags: wf, keys: one, group: "string", since: "2.0.0", summary: "Append a value to a key", handler: S.append),
            Command("strlen", arity: 2, flags: rof, keys: one, group: "string", since: "2.2.0", summary: "Get the length of the value stored in a key", handler: S.strlen),
            Command("getrange", arity: 4, flags: ro, keys: one, group: "string", since: "2.4.0", summary: "Get a substring of the string stored at a key", handler: S.getrange),
            Command("substr", arity: 4, flags: ro, keys: one, group: "string", summary: "Get a substring of the string stored at a key", handler: S.getrange),
            Command("setrange", arity: 4, flags: w, keys: one, group: "string", since: "2.2.0", summary: "Overwrite part of a string at key starting at the specified offset", handler: S.setrange),
            Command("incr", arity: 2, flags: wf, keys: one, group: "string", summary: "Increment the integer value of a key by one", handler: S.incr),
            Command("decr", arity: 2, flags: wf, keys: one, group: "string", summary: "Decrement the integer value of a key by one", handler: S.incr),
            Command("incrby", arity: 3, flags: wf, keys: one, group: "string", summary: "Increment the integer value of a key by the given amount", handler: S.incr),
            Command("decrby", arity: 3, flags: wf, keys: one, group: "string", summary: "Decrement the integer value of a key by the given number", handler: S.incr),
            Command("incrbyfloat", arity: 3, flags: wf, keys: one, group: "string", since: "2.6.0", summary: "Increment the float value of a key by the given amount", handler: S.incrbyfloat),
            // Keys
            Command("del", arity: -2, flags: [.write], keys: (1, -1, 1), group: "generic", summary: "Delete a key", handler: K.del),
            Command("unlink", arity: -2, flags: [.write, .fast], keys: (1, -1, 1), group: "generic", since: "4.0.0", summary: "Delete a key asynchronously in another thread", handler: K.del),
            Command("exists", arity: -2, flags: rof, keys: (1, -1, 1), group: "generic", summary: "Determine if a key exists", handler: K.exists),
            Command("type", arity: 2, flags: rof, keys: one, group: "generic", summary: "Determine the type stored at key", handler: K.type),
            Command("keys", arity: 2, flags: ro, group: "generic", summary: "Find all keys matching the given pattern", handler: K.keys),
            Command("scan", arity: -2, flags: ro, group: "generic", since: "2.8.0", summary: "Incrementally iterate the keys space", handler: K.scan),
            Command("randomkey", arity: 1, flags: ro, group: "generic", summary: "Return a random key from the keyspace", handler: K.randomkey),
            Command("rename", arity: 3, flags: [.write], keys: (1, 2, 1), group: "generic", summary: "Rename a key", handler: K.rename),
            Command("renamenx", arity: 3, flags: [.write, .fast], keys: (1, 2, 1), group: "generic", summary: "Rename a key, only if the new key does not exist", handler: K.rename),
            Command("copy", arity: -3, flags: w, keys: (1, 2, 1), group: "generic", since: "6.2.0", summary: "Copy a key", handler: K.copy),
            Command("move", arity: 3, flags: [.write, .fast], keys: one, group: "generic", summary: "Move a key to another database", handler: K.move),
            Command("expire", arity: -3, flags: [.write, .fast], keys: one, group: "generic", summary: "Set a key's time to live in seconds", handler: K.expire),
            Command("pexpire", arity: -3, flags: [.write, .fast], keys: one, group: "generic", since: "2.6.0", summary: "Set a key's time to live in milliseconds", handler: K.expire),
            Command("expireat", arity: -3, flags: [.write, .fast], keys: one, group: "generic", since: "1.2.0", summary: "Set the expiration for a key as a UNIX timestamp", handler: K.expire),
            Command("pexpireat", arity: -3, flags: [.write, .fast], keys: one, group: "generic", since: "2.6.0", summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds", handler: K.expire),
            Command("ttl", arity: 2, flags: rof, keys: one, group: "generic", summary: "Get the time to live for a key in seconds", handler: K.ttl),
            Command("pttl", arity: 2, flags: rof, keys: one, group: "generic", since: "2.6.0", summary: "Get the time to live for a key in milliseconds", handler: K.ttl),
            Command("expiretime", arity: 2, flags: rof, keys: one, group: "generic", since: "7.0.0", summary: "Get the expiration Unix timestamp for a key", handler: K.ttl),
            Command("pexpiretime", arity: 2, flags: rof, keys: one, group: "generic", since: "7.0.0", summary: "Get the expiration Unix timestamp for a key in milliseconds", handler: K.ttl),
            Command("persist", arity: 2, flags: [.write, .fast], keys: one, group: "generic", since: "2.2.0", summary: "Remove the expiration from a key", handler: K.persist),
            Command("object", arity: -2, flags: [], group: "generic", since: "2.2.3", summary: "A container for object introspection commands", subcommands: [
                Command("object|encoding", arity: 3, flags: ro, keys: (2, 2, 1), group: "generic", summary: "Inspect the internal encoding of a Redis object", handler: K.objectEncoding),
                Command("object|freq", arity: 3, flags: ro, keys: (2, 2, 1), group: "generic", since: "4.0.0", summary: "Get the logarithmic access frequency counter of a Redis object", handler: K.objectFreq),
                Command("object|idletime", arity: 3, flags: ro, keys: (2, 2, 1), group: "generic", summary: "Get the time since a Redis object was last accessed", handler: K.objectIdletime),
                Command("object|refcount", arity: 3, flags: ro, keys: (2, 2, 1), group: "generic", summary: "Get the number of references to the value of the key", handler: K.objectRefcount),
                Command("object|help", arity: 2, flags: [.loading, .stale], group: "generic", since: "6.2.0", summary: "Show helpful text about the different subcommands", handler: V.help([
                    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "ENCODING <key>", "    Return the kind of internal representation used in order to store the value", "    associated with a <key>.",
                    "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is", "    proportional to the logarithm of the recent access frequency of the key.",
                    "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of", "    seconds elapsed since the last access to the key.",
                    "REFCOUNT <key>", "    Return the number of references of the value associated with the specified", "    <key>.",
                    "HELP", "    Print this help.",
                ])),
            ]),
            // Connection
            Command("ping", arity: -1, flags: [.fast, .stale], group: "connection", summary: "Ping the server", handler: V.ping),
            Command("echo", arity: 2, flags: [.fast], group: "connection", summary: "Echo the given string", handler: V.echo),
            Command("quit", arity: -1, flags: conn.union(.noauth), group: "connection", summary: "Close the connection", handler: V.quit),
            Command("hello", arity: -1, flags: conn.union(.noauth), group: "connection", since: "6.0.0", summary: "Handshake with Redis", handler: V.hello),
            Command("auth", arity: -2, flags: conn.union(.noauth), group: "connection", summary: "Authenticate to the server", handler: V.auth),
            Command("select", arity: 2, flags: [.loading, .stale, .fast], group: "connection", summary: "Change the selected database for the current connection", handler: V.select),
            Command("client", arity: -2, flags: [], group: "connection", since: "2.4.0", summary: "A container for client connection commands", subcommands: [
                Command("client|id", arity: 2, flags: conn, group: "connection", since: "5.0.0", summary: "Returns the client ID for the current connection", handler: V.clientID),
                Command("client|setname", arity: 3, flags: conn, group: "connection", since: "2.6.9", summary: "Set the current connection name", handler: V.clientSetname),
                Command("client|getname", arity: 2, flags: conn, group: "connection", since: "2.6.9", summary: "Get the current connection name", handler: V.clientGetname),
                Command("client|list", arity: -2, flags: [.admin, .noscript, .loading, .stale], group: "connection", since: "2.4.0", summary: "Get the list of client connections", handler: V.clientList),
                Command("client|info", arity: 2, flags: conn, group: "connection", since: "6.2.0", summary: "Returns information about the current client connection.", handler: V.clientInfo),
                Command("client|kill", arity: -3, flags: [.admin, .noscript, .loading, .stale], group: "connection", since: "2.4.0", summary: "Kill the connection of a client", handler: V.clientKill),
                Command("client|help", arity: 2, flags: [.loading, .stale], group: "connection", since: "5.0.0", summary: "Show helpful text about the different subcommands", handler: V.help([
                    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GETNAME", "    Return the name of the current connection.",
                    "ID", "    Return the ID of the current connection.",
                    "INFO", "    Return information about the current client connection.",
                    "KILL <ip:port>", "    Kill connection made from <ip:port>.",
                    "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME.",
                    "LIST [options ...]", "    Return information about client connections.",
                    "SETNAME <name>", "    Assign the name <name> to the current connection.",
                    "HELP", "    Print this help.",
                ])),
            ]),
            // Server
            Command("dbsize", arity: 1, flags: rof, group: "server", summary: "Return the number of keys in the selected database", handler: V.dbsize),
            Command("flushdb", arity: -1, flags: [.write], group: "server", summary: "Remove all keys from the current database", handler: V.flushdb),
            Command("flushall", arity: -1, flags: [.write], group: "server", summary: "Remove all keys from all databases", handler: V.flushall),
            Command("swapdb", arity: 3, flags: [.write, .fast], group: "server", since: "4.0.0", summary: "Swaps two Redis databases", handler: V.swapdb),
            Command("time", arity: 1, flags: [.loading, .stale, .fast], group: "server", since: "2.6.0", summary: "Return the current server time", handler: V.time),
            Command("waitaof", arity: 4, flags: [.noscript], group: "generic", since: "7.2.0", summary: "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas", handler: V.waitaof),
            Command("lastsave", arity: 1, flags: [.loading, .stale, .fast], group: "server", summary: "Get the UNIX time stamp of the last successful save to disk", handler: V.lastsave),
            Command("info", arity: -1, flags: [.loading, .stale], group: "server", summary: "Get information and statistics about the server", handler: InfoCommand.info),
            Command("shutdown", arity: -1, flags: [.admin, .noscript, .loading, .stale], group: "server", summary: "Synchronously save the dataset to disk and then shut down the server", handler: V.shutdown),
            Command("debug", arity: -2, flags: [.admin, .noscript, .loading, .stale], group: "server", summary: "A container for debugging commands", subcommands: [
                Command("debug|sleep", arity: 3, flags: [.admin, .noscript, .loading, .stale], group: "server", summary: "Stop the server for the given number of seconds", handler: V.debugSleep),
            ]),
            Command("config", arity: -2, flags: [], group: "server", since: "2.0.0", summary: "A container for server configuration commands", subcommands: [
                Command("config|get", arity: -3, flags: [.admin, .noscript, .loading, .stale], group: "server", since: "2.0.0", summary: "Get the values of configuration parameters", handler: V.configGet),
                Command("config|set", arity: -4, flags: [.admin, .noscript, .loading, .stale], group: "server", since: "2.0.0", summary: "Set configuration parameters to the given values", handler: V.configSet),
                Command("config|resetstat", arity: 2, flags: [.admin, .noscript, .loading, .stale], group: "server", since: "2.0.0", summary: "Reset the stats returned by INFO", handler: V.configResetstat),
                Command("config|rewrite", arity: 2, flags: [.admin, .noscript, .loading, .stale], group: "server", since: "2.8.0", summary: "Rewrite the configuration file with the in memory configuration", handler: V.configRewrite),
                Command("config|help", arity: 2, flags: [.loading, .stale], group: "server", since: "5.0.0", summary: "Show helpful text about the different subcommands", handler: V.help([
                    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                    "RESETSTAT", "    Reset statistics reported by the INFO command.",
                    "REWRITE", "    Rewrite the configuration file.",
                    "HELP", "    Print this help.",
                ])),
            ]),
            Command("command", arity: -1, flags: [.loading, .stale], group: "server", since: "2.8.13", summary: "Get array of Redis command details", subcommands: [
                Command("command|count", arity: 2, flags: [.loading, .stale], group: "server", since: "2.8.13", summary: "Get total number of Redis commands", handler: V.commandCount),
                Command("command|info", arity: -2, flags: [.loading, .stale], group: "server", since: "2.8.13", summary: "Get array of specific Redis command details, or all when no argument is given.", handler: V.commandInfo),
                Command("command|docs", arity: -2, flags: [.loading, .stale], group: "server", since: "7.0.0", summary: "Get array of specific Redis command documentation", handler: V.commandDocs),
                Command("command|list", arity: -2, flags: [.loading, .stale], group: "server", since: "7.0.0", summary: "Get an array of Redis command names", handler: V.commandList),
            ], handler: V.command),
        ]
    }()
}
