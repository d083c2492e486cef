import Storage

extension AppendLog: CommandLog {
    public func append(db: Int, args: Args) {
        args.spans.withUnsafeBufferPointer { append(db: db, buffer: args.buffer, spans: $0) }
    }
}
