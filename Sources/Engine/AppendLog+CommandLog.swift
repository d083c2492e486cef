import Storage

extension AppendLog: CommandLog {
    public func append(db: Int, args: Args) {
        append(db: db, count: args.count) { args[$0] }
    }
}
