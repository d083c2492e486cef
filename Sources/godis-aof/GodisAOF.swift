import ArgumentParser
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// godis-aof: inspect and repair a Godis log directory (`<dir>/appendonlydir`).
@main
struct GodisAOF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "godis-aof",
        abstract: "Check and repair Godis log directories.",
        subcommands: [Check.self, Recover.self])
}

struct DirectoryOptions: ParsableArguments {
    @Argument(help: "The log directory (the server's <dir>/<appenddirname>, e.g. ./data/appendonlydir).")
    var directory: String

    @Option(help: "The segment file prefix (appendfilename).")
    var prefix = "appendonly.aof"
}

extension RepairPlan {
    func printReport() {
        for d in dropped {
            print("drop \(d.file) bytes \(d.range.lowerBound)..<\(d.range.upperBound) (\(d.range.count) bytes): \(d.reason)")
        }
        print(summary)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify every checksum and sequence number; exit 0 if the log is intact, 1 if not.")

    @OptionGroup var options: DirectoryOptions

    func run() throws {
        let plan = try LogRepair.plan(directory: options.directory, prefix: options.prefix, mode: .truncate)
        plan.printReport()
        if plan.needsRepair {
            print("Run `godis-aof recover \(options.directory)` to see the repair, `--apply` to perform it.")
            throw ExitCode(1)
        }
    }
}

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show (default) or apply (--apply) a repair. Nothing is deleted: the repaired log is a new segment.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case truncate, salvage
    }

    @OptionGroup var options: DirectoryOptions

    @Option(help: "truncate: keep everything before the first damage; salvage: skip only damaged batches.")
    var mode: Mode = .truncate

    @Option(help: "Point in time: keep only batches formed at or before this Unix time in milliseconds.")
    var until: Int64?

    @Flag(help: "Perform the repair (without it, only report).")
    var apply = false

    func validate() throws {
        if until != nil && mode == .salvage { throw ValidationError("--until works with --mode truncate only") }
    }

    func run() throws {
        let repairMode: RepairMode = until.map { .pointInTime(unixMillis: $0) } ?? (mode == .salvage ? .salvage : .truncate)
        let plan = try LogRepair.plan(directory: options.directory, prefix: options.prefix, mode: repairMode)
        plan.printReport()
        guard apply else {
            if plan.needsRepair || until != nil { print("Dry run: nothing changed. Add --apply to repair.") }
            return
        }
        guard plan.needsRepair || until != nil else { return }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let segment = try LogRepair.apply(plan, now: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
        print("Repaired: the log now continues in \(segment); the old segments were kept, unlisted.")
    }
}
