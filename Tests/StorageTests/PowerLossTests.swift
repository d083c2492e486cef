import Engine
import Foundation
import RESP
@testable import Storage
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A running server as far as the log is concerned: an Engine whose writes go to an AppendLog, rebuilt from the
/// log the way GodisServer.loadData() does it (forEachCommand + engine.replay with client.db = db).
final class LoggedEngine {
    let engine: Engine
    let log: AppendLog
    let client: ClientState
    private let inspector: ClientState
    let directory: String

    init(log: AppendLog, loaded: LoadedLog, directory: String = "/d") throws {
        self.log = log
        self.directory = directory
        let engine = Engine(config: GodisConfiguration(), logger: quietLogger)
        self.engine = engine
        engine.loading = true
        engine.beginCommands()
        let replayer = ClientState(id: 0, address: "aof", localAddress: "", authenticated: true, now: 0)
        try loaded.forEachCommand(directory: directory) { db, buffer, spans in
            replayer.db = db
            try engine.replay(Args(buffer: buffer, spans: spans), client: replayer)
        }
        engine.loading = false
        engine.log = log
        client = engine.registerClient(address: "127.0.0.1:1", localAddress: "127.0.0.1:6379")
        inspector = engine.registerClient(address: "127.0.0.1:2", localAddress: "127.0.0.1:6379")
    }

    @discardableResult
    func run(_ args: [[UInt8]], as c: ClientState? = nil) -> RESPValue {
        var w = ReplyWriter(protocolVersion: 2)
        engine.beginCommands()
        Args.with(args) { engine.execute($0, client: c ?? client, reply: &w) }
        let values = try! RESPDecoder().decodeAll(w.bytes)
        precondition(values.count == 1, "one reply expected")
        return values[0]
    }

    @discardableResult
    func run(_ args: String...) -> RESPValue { run(args.map { Array($0.utf8) }) }

    static let databases = 4

    /// The keyspace, read through commands: one line per key with its db, key, value and absolute expiry.
    func snapshot() -> [String] {
        var out: [String] = []
        func hex(_ b: [UInt8]) -> String { b.map { CRC32C.hex(UInt32($0)).suffix(2) }.joined() }
        for db in 0..<Self.databases {
            run([Array("SELECT".utf8), Array(String(db).utf8)], as: inspector)
            guard case .array(let keys?) = run([Array("KEYS".utf8), Array("*".utf8)], as: inspector) else {
                preconditionFailure("KEYS")
            }
            let names = keys.compactMap { v -> [UInt8]? in
                if case .bulkString(let b?) = v { return b }
                return nil
            }.sorted { $0.lexicographicallyPrecedes($1) }
            for k in names {
                let value = run([Array("GET".utf8), k], as: inspector)
                let expiry = run([Array("PEXPIRETIME".utf8), k], as: inspector)
                guard case .bulkString(let v?) = value, case .integer(let at) = expiry else {
                    preconditionFailure("GET/PEXPIRETIME")
                }
                out.append("db\(db) \(hex(k)) = \(hex(v)) expireat \(at)")
            }
        }
        return out
    }
}

/// Random commands over few keys and dbs, so that they interact: SET (text, numbers, binary), DEL, INCR, APPEND,
/// EXPIRE far in the future (logged as PEXPIREAT), SELECT, and reads.
func randomCommand(_ rng: inout SplitMix64) -> [[UInt8]] {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    let key = b("k\(rng.below(6))")
    switch rng.below(14) {
    case 0, 1:
        return [b("SET"), key, b(String(rng.below(1000)))]
    case 2:
        return [b("SET"), key, rng.bytes(rng.below(24))]  // binary: CR, LF, zeros, "#B"...
    case 3:
        return [b("SET"), key, b("v" + String(repeating: "x", count: rng.below(300)))]
    case 4:
        return rng.chance(1, in: 2) ? [b("DEL"), key] : [b("DEL"), key, b("k\(rng.below(6))")]
    case 5, 6:
        return [b("INCR"), key]
    case 7, 8:
        return [b("APPEND"), key, rng.bytes(1 + rng.below(8))]
    case 9:
        return [b("EXPIRE"), key, b(String(1_000_000 + rng.below(1_000_000)))]
    case 10, 11:
        return [b("SELECT"), b(String(rng.below(LoggedEngine.databases)))]
    default:
        return [b("GET"), key]
    }
}

/// What the crash tests saw, to check that they exercised what they claim to.
struct CrashStats {
    var crashPoints = 0
    var kills = 0
    var tornTails = 0
    var lostUnsynced = 0
    var recoveredEverything = 0
    var crashesDuringRecovery = 0
    var faults = 0
    var repairs = 0
    /// Calls that wrote zeros ahead of the appends.
    var zeroSteps = 0

    mutating func add(_ o: CrashStats) {
        repairs += o.repairs
        zeroSteps += o.zeroSteps
        crashPoints += o.crashPoints
        kills += o.kills
        tornTails += o.tornTails
        lostUnsynced += o.lostUnsynced
        recoveredEverything += o.recoveredEverything
        crashesDuringRecovery += o.crashesDuringRecovery
        faults += o.faults
    }
}

/// The model test: a real Engine writes through an AppendLog to a SimulatedFileSystem; ticks of 1–8 commands
/// each end with one flush (one batch); the machine loses power (or the process is killed) at seeded random points;
/// the log is recovered into a fresh Engine the way the server does it. Checked at every crash point:
/// * the recovered keyspace is exactly the keyspace after some tick (batches are atomic), found by the recovered
///   log's last sequence number;
/// * nothing the test saw become durable is lost: everything covered by a successful fsync (and everything that
///   survived an earlier power loss);
/// * under `always`, nothing acknowledged (`seq <= acknowledgedSeq`) is lost;
/// * after a kill (the page cache survives), nothing written is lost, under every policy (so nothing acknowledged
///   under `everysec`/`no` either: there acknowledged = written).
enum CrashModel {
    static let directory = "/d"

    /// One run; returns what it saw. `faults` injects write/fsync errors and power losses inside the writer.
    /// With `zeros`, the file system supports `writeZeros` and the writer writes zeros ahead in small steps (under
    /// `always`), so crashes fall before, during and after zero steps, and appends overwrite zeros.
    static func run(policy: FsyncPolicy, seed: UInt64, crashes: Int, faults: Bool = false, kills: Bool = true,
        syncFaults: Bool = true, zeros: Bool = false, trace: ((String) -> Void)? = nil) throws -> CrashStats
    {
        var stats = CrashStats()
        var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(faults ? 7 : 0))
        let fs = SimulatedFileSystem()
        fs.writesZeros = zeros
        var clock: Int64 = 1_764_000_000_000
        func openLog(_ fs: SimulatedFileSystem, directory: String, policy: FsyncPolicy, now: Int64) throws
            -> (AppendLog, LoadedLog)
        {
            let (log, loaded) = try StorageTests.openLog(fs, directory: directory, policy: policy, now: now)
            log.zerosStep = 600
            log.zerosLowWater = 300
            return (log, loaded)
        }
        var (log, loaded) = try openLog(fs, directory: directory, policy: policy, now: clock)
        var server = try LoggedEngine(log: log, loaded: loaded, directory: directory)
        // The keyspace after each tick, keyed by the last sequence number of the log at that point.
        var states: [(seq: UInt64, snapshot: [String])] = [(loaded.lastSeq, server.snapshot())]
        // Records the test saw reach the disk: a successful fsync, or surviving a power loss.
        var durable: UInt64 = 0

        /// `syncInline()` is the command thread's end-of-tick fsync under `always` (it never repairs);
        /// `syncNow()` is the sync thread (once-a-second fsync, and the retries after a failure).
        func sync(syncThread: Bool) {
            let syncs = fs.syncCalls, failed = fs.failedSyncs
            let ok = syncThread ? log.syncNow() : log.syncInline()
            trace?("  sync(syncThread: \(syncThread)) -> \(ok) error=\(log.writeError ?? "-") size=\(fs.cachedContents(directory + "/" + Names.incr(1))?.count ?? -1) durable=\(fs.durableContents(directory + "/" + Names.incr(1))?.count ?? -1) status=\(log.status)")
            if ok && fs.syncCalls > syncs && fs.failedSyncs == failed && !fs.poweredOff {
                durable = max(durable, log.status.syncedSeq)
            }
        }

        for crash in 0..<crashes {
            let epochStart = loaded.lastSeq
            let ticks = 1 + rng.below(10)
            for t in 0..<ticks {
                if faults {
                    if rng.chance(1, in: 8) {
                        fs.failNextWrites(
                            1 + rng.below(2), errno: rng.chance(1, in: 2) ? ENOSPC : EIO, partialBytes: rng.below(60))
                        trace?("arm write faults \(fs.pendingWriteFaults)")
                        stats.faults += 1
                    }
                    if rng.chance(1, in: 8) && syncFaults {
                        // With zeros, sometimes the fsync after a successful one fails: the one a zero step makes.
                        fs.failNextSyncs(1 + rng.below(2), skipping: zeros ? rng.below(2) : 0)
                        trace?("arm sync faults \(fs.pendingSyncFaults)")
                        stats.faults += 1
                    }
                }
                for _ in 0..<(1 + rng.below(8)) { server.run(randomCommand(&rng)) }
                if t == ticks - 1 && rng.chance(1, in: 4) { break }  // crash with commands not flushed yet
                if faults && t == ticks - 1 && rng.chance(1, in: 3) {
                    // The power fails inside this tick's write, fsync or repair.
                    fs.armPowerLoss(afterOperations: rng.below(5))
                    trace?("arm power loss")
                }
                clock += Int64(1 + rng.below(40))
                let sizeBefore = fs.cachedContents(directory + "/" + Names.incr(1))?.count ?? -1
                let position = log.flush(now: clock)
                trace?("tick \(t): flush -> \(position) error=\(log.writeError ?? "-") size \(sizeBefore)->\(fs.cachedContents(directory + "/" + Names.incr(1))?.count ?? -1) status=\(log.status)")
                if !faults { #expect(log.writeError == nil) }
                states.append((position, server.snapshot()))
                if fs.poweredOff { break }
                switch policy {
                case .always:
                    // The end-of-tick fsync; sometimes the power fails before it runs.
                    if rng.chance(3, in: 4) { sync(syncThread: false) }
                case .everysec:
                    if rng.chance(1, in: 4) { sync(syncThread: true) }  // the once-a-second fsync
                case .no:
                    break
                }
                if log.writeError != nil && rng.chance(1, in: 2) {
                    sync(syncThread: true)  // the sync thread's retry
                    stats.repairs += log.writeError == nil ? 1 : 0
                }
                if fs.poweredOff { break }
            }
            let acknowledged = log.acknowledgedSeq
            let written = log.status.writtenSeq
            // A kill after a failed fsync is left out: the restarted process would read back pages the kernel
            // already dropped (Linux keeps them in the page cache marked clean); no writer can defend against that.
            let kill = !fs.poweredOff && rng.chance(1, in: 4) && !fs.hasLostPages && kills
            fs.clearFaults()
            if kill {
                // SIGKILL: the process dies, the page cache survives. (The old AppendLog is dropped unclosed.)
                fs.disarmPowerLoss()
                stats.kills += 1
            } else {
                let fates = fs.crash(rng: &rng)
                trace?("CRASH \(fates)")
                if rng.chance(1, in: 4) {
                    // Power fails again while the log is being recovered.
                    fs.armPowerLoss(afterOperations: rng.below(6))
                    _ = try? openLog(fs, directory: directory, policy: policy, now: clock)
                    fs.crash(rng: &rng)
                    stats.crashesDuringRecovery += 1
                }
            }
            stats.crashPoints += 1
            let context = "policy \(policy) seed \(seed) crash \(crash)\(kill ? " (kill)" : "")"
            do {
                (log, loaded) = try openLog(fs, directory: directory, policy: policy, now: clock)
                server = try LoggedEngine(log: log, loaded: loaded, directory: directory)
            } catch {
                trace?("RECOVERY FAILED \(error)")
                Issue.record("\(context): recovery failed: \(error)")
                return stats
            }
            let recovered = loaded.lastSeq
            trace?("RECOVERED \(recovered) \(loaded.outcome) (written \(written), acknowledged \(acknowledged), durable \(durable))")
            if case .truncatedTail = loaded.outcome { stats.tornTails += 1 }
            if recovered < written { stats.lostUnsynced += 1 } else { stats.recoveredEverything += 1 }
            #expect(recovered >= durable, "\(context): lost records that were fsynced (\(durable))")
            if policy == .always && acknowledged > epochStart {
                #expect(recovered >= acknowledged, "\(context): lost acknowledged records")
            }
            if kill {
                // The page cache survives a kill: nothing acknowledged may be lost (under everysec and no,
                // acknowledged = written). Without faults nothing truncates the file, so nothing written is lost.
                #expect(recovered >= acknowledged, "\(context): a kill lost acknowledged records")
                if !faults { #expect(recovered >= written, "\(context): a kill lost written records") }
            }
            guard let match = states.last(where: { $0.seq == recovered }) else {
                Issue.record("\(context): recovered up to record \(recovered), which no tick ended at \(states.map(\.seq))")
                return stats
            }
            let now = server.snapshot()
            #expect(now == match.snapshot, "\(context): recovered keyspace differs from the state after record \(recovered)")
            if now != match.snapshot { return stats }
            if !kill { durable = recovered }  // what survived a power loss is on the disk
            // Sequence numbers after `recovered` will be reused by new batches.
            states = states.filter { $0.seq < recovered && $0.seq >= durable } + [(recovered, now)]
        }
        stats.zeroSteps = fs.zeroWriteCalls
        return stats
    }
}

@Suite struct PowerLossTests {
    /// 400 crash points under always, 300 under everysec, 300 under no.
    @Test(arguments: [(FsyncPolicy.always, 100), (.everysec, 75), (.no, 75)])
    func crashModel(policy: FsyncPolicy, runs: Int) throws {
        var stats = CrashStats()
        for seed in 0..<UInt64(runs) {
            stats.add(try CrashModel.run(policy: policy, seed: seed, crashes: 4))
        }
        #expect(stats.crashPoints == runs * 4)
        // The runs exercised torn tails, lost unsynced data, full recoveries, kills and crashes during recovery.
        #expect(stats.tornTails > 0)
        #expect(stats.lostUnsynced > 0)
        #expect(stats.recoveredEverything > 0)
        #expect(stats.kills > 0)
        #expect(stats.crashesDuringRecovery > 0)
    }

    /// The model under `always` with zeros written ahead of the appends (small steps): the same guarantees, with
    /// crashes before, inside and after zero steps, and appends overwriting zeros; with and without faults.
    @Test(arguments: [false, true])
    func crashModelWithZerosWrittenAhead(faults: Bool) throws {
        var stats = CrashStats()
        for seed in 0..<UInt64(faults ? 40 : 100) {
            stats.add(try CrashModel.run(policy: .always, seed: seed, crashes: 4, faults: faults, kills: !faults, zeros: true))
        }
        #expect(stats.crashPoints == (faults ? 160 : 400))
        #expect(stats.zeroSteps > stats.crashPoints)
        #expect(stats.tornTails > 0)
        #expect(stats.lostUnsynced > 0)
        #expect(stats.recoveredEverything > 0)
        if faults { #expect(stats.repairs > 0) } else { #expect(stats.kills > 0) }
    }

    /// The same model with write and fsync errors (the repair path) and power losses inside writes and repairs,
    /// with power losses only (no kills).
    @Test(arguments: FsyncPolicy.allCases)
    func crashModelWithFaults(policy: FsyncPolicy) throws {
        var stats = CrashStats()
        for seed in 0..<UInt64(40) {
            stats.add(try CrashModel.run(policy: policy, seed: seed, crashes: 4, faults: true, kills: false))
        }
        #expect(stats.crashPoints == 160)
        #expect(stats.faults > 0)
        #expect(stats.repairs > 0, "the repair path ran")
    }

    /// Write errors (no fsync errors) with kills and power losses: a kill after a failed retry must not lose
    /// acknowledged writes.
    @Test(arguments: FsyncPolicy.allCases)
    func crashModelWithWriteFaultsAndKills(policy: FsyncPolicy) throws {
        var stats = CrashStats()
        for seed in 0..<UInt64(100) {
            stats.add(try CrashModel.run(policy: policy, seed: seed, crashes: 4, faults: true, syncFaults: false))
        }
        #expect(stats.crashPoints == 400)
        #expect(stats.kills > 0)
        #expect(stats.repairs > 0, "the repair path ran")
    }

    // MARK: Write and fsync failures

    static var segment: String { "/d/" + Names.incr(1) }

    static func isMisconf(_ v: RESPValue) -> Bool {
        if case .error(let m) = v { return m.hasPrefix("MISCONF Errors writing to the AOF file: ") }
        return false
    }

    /// A failed write: MISCONF for writes, reads go on, nothing more is acknowledged; once the disk works again,
    /// one sync step rewrites what was not durable and everything is back, also after a power loss.
    @Test(arguments: FsyncPolicy.allCases)
    func failedWriteIsRepaired(policy: FsyncPolicy) throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: policy)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        server.run("SET", "b", "2")
        let p1 = log.flush(now: 1)
        if policy != .no { #expect(log.syncNow()) }
        server.run("SET", "c", "3")
        let p2 = log.flush(now: 2)
        #expect(p2 > p1)
        let acknowledgedBefore = log.acknowledgedSeq
        #expect(acknowledgedBefore == (policy == .always ? p1 : p2))

        fs.failNextWrites(2, errno: ENOSPC, partialBytes: 7)
        server.run("SET", "d", "4")
        let p3 = log.flush(now: 3)
        #expect(p3 > p2)
        #expect(log.writeError?.contains("No space left on device") == true)
        #expect(log.acknowledgedSeq == acknowledgedBefore, "a failed write is not acknowledged")
        #expect(Self.isMisconf(server.run("SET", "e", "5")), "writes are refused")
        #expect(server.run("GET", "a") == .bulkString(Array("1".utf8)), "reads go on")
        #expect(!log.hasPending)

        // The first retry hits the second fault: still failing, still nothing acknowledged.
        #expect(!log.syncNow())
        #expect(log.writeError != nil)
        #expect(log.acknowledgedSeq == acknowledgedBefore)

        // The disk works again.
        #expect(log.syncNow())
        #expect(log.writeError == nil)
        #expect(log.acknowledgedSeq == p3)
        #expect(log.status.syncedSeq == p3)
        let bytes = fs.cachedContents(Self.segment)!
        #expect(fs.durableContents(Self.segment) == bytes, "everything is durable after the repair")
        let scan = SegmentReader.scan(bytes, expectFirstSeq: 1)
        #expect(scan.damage == nil, "\(String(describing: scan.damage))")
        #expect(scan.batches.last?.annotation.lastSeq == p3)

        var rng = SplitMix64(seed: 3)
        fs.crash(rng: &rng)
        let (log2, reloaded) = try openLog(fs, policy: policy)
        #expect(reloaded.outcome == .clean)
        #expect(reloaded.lastSeq == p3)
        let recovered = try LoggedEngine(log: log2, loaded: reloaded)
        #expect(recovered.snapshot() == server.snapshot())
        #expect(recovered.run("GET", "d") == .bulkString(Array("4".utf8)))
        #expect(recovered.run("GET", "e") == .bulkString(nil))
    }

    /// A failed fsync is never taken for a success: the batches it covered are rewritten before anything is
    /// acknowledged. (In the simulated file system a failed fsync drops the dirty pages, as Linux does, so merely
    /// fsyncing again would leave zeros on the disk.)
    @Test(arguments: [FsyncPolicy.always, .everysec])
    func failedFsyncIsNeverTreatedAsSuccess(policy: FsyncPolicy) throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: policy)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        server.run("INCR", "a")
        let p1 = log.flush(now: 1)
        fs.failNextSyncs(1)
        #expect(!log.syncNow())
        #expect(log.writeError != nil)
        #expect(log.status.syncedSeq == 0)
        #expect(log.acknowledgedSeq == (policy == .always ? 0 : p1))
        #expect(Self.isMisconf(server.run("SET", "b", "2")))
        #expect(fs.durableContents(Self.segment) == WorkedExample.incrHeader)

        let truncations = fs.truncations, writes = fs.writeCalls
        #expect(log.syncNow())
        #expect(fs.truncations > truncations && fs.writeCalls > writes, "the batch was rewritten, not just fsynced again")
        #expect(log.writeError == nil)
        #expect(log.status.syncedSeq == p1)
        #expect(log.acknowledgedSeq == p1)
        #expect(fs.durableContents(Self.segment) == fs.cachedContents(Self.segment))

        var rng = SplitMix64(seed: 11)
        fs.crash(rng: &rng)
        let (log2, reloaded) = try openLog(fs, policy: policy)
        #expect(reloaded.outcome == .clean && reloaded.lastSeq == p1)
        #expect(try LoggedEngine(log: log2, loaded: reloaded).run("GET", "a") == .bulkString(Array("2".utf8)))
    }

    /// A power loss right after a failed fsync (before any repair) keeps everything acknowledged.
    @Test(arguments: 0..<20)
    func powerLossAfterAFailedFsync(seed: UInt64) throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .always)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        let p1 = log.flush(now: 1)
        #expect(log.syncNow())
        server.run("SET", "b", "2")
        log.flush(now: 2)
        fs.failNextSyncs(1)
        #expect(!log.syncNow())
        #expect(log.acknowledgedSeq == p1)
        var rng = SplitMix64(seed: seed)
        fs.crash(rng: &rng)
        let (log2, reloaded) = try openLog(fs, policy: .always)
        #expect(reloaded.lastSeq == p1, "the batch whose fsync failed is lost (zeros), the acknowledged one is not")
        let recovered = try LoggedEngine(log: log2, loaded: reloaded)
        #expect(recovered.run("GET", "a") == .bulkString(Array("1".utf8)))
        #expect(recovered.run("GET", "b") == .bulkString(nil))
    }

    /// `appendfsync no`: an fsync failure during close (shutdown) must not destroy what was written. The retry
    /// cuts the file back to the last synced length, but under `no` the written batches are not kept for the rewrite.
    @Test func fsyncFailureAtCloseUnderNoKeepsTheData() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .no)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        server.run("SET", "b", "2")
        let p = log.flush(now: 1)
        fs.failNextSyncs(1)
        log.close(now: 2)
        let reloaded = try load(fs)
        #expect(reloaded.lastSeq == p, "records written before the shutdown were dropped")
    }

    /// `everysec`, disk full for a while: the first retry after a failed write fails too. A retry whose *write*
    /// failed must not be treated like a failed fsync: cutting back to the last synced length would remove batches
    /// that were written and acknowledged, and a kill or restart would then lose them with no power loss at all.
    @Test func failedRetryWriteDoesNotDropAcknowledgedWrites() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .everysec)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        log.flush(now: 1)
        #expect(log.syncNow())
        server.run("SET", "b", "2")
        let pb = log.flush(now: 2)
        #expect(log.acknowledgedSeq == pb, "under everysec a written batch is acknowledged")
        fs.failNextWrites(3)  // ENOSPC for a while
        server.run("SET", "c", "3")
        log.flush(now: 3)
        #expect(log.writeError != nil)
        #expect(!log.syncNow())  // the sync thread's retries fail too
        #expect(!log.syncNow())
        #expect(log.acknowledgedSeq == pb)
        // The process is killed or restarted; the page cache survives.
        let (log2, reloaded) = try openLog(fs, policy: .everysec)
        #expect(reloaded.lastSeq >= pb, "acknowledged record \(pb) is gone from the file")
        let restarted = try LoggedEngine(log: log2, loaded: reloaded)
        #expect(restarted.run("GET", "b") == .bulkString(Array("2".utf8)))
    }

    /// `appendfsync no` with an fsync (WAITAOF's `requestSync`, or a retry) that fails: the retry must rewrite the
    /// unsynced batches rather than trust the next fsync (docs/FORMAT.md: "a second fsync could falsely succeed"),
    /// and must never move writtenSeq/syncedSeq back below a position flush() already returned (the server would
    /// then hold every reply until some later write).
    @Test func failedFsyncUnderNoIsNotTrustedOnRetry() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .no)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        log.flush(now: 1)
        server.run("SET", "b", "2")
        let pb = log.flush(now: 2)
        #expect(log.acknowledgedSeq == pb)
        fs.failNextSyncs(1)
        #expect(!log.syncNow(), "the fsync WAITAOF asked for fails")
        #expect(log.writeError != nil)
        #expect(log.syncNow(), "the sync thread's retry")
        #expect(log.writeError == nil)
        #expect(log.status.writtenSeq == pb, "writtenSeq went back to \(log.status.writtenSeq)")
        #expect(log.acknowledgedSeq >= log.flush(now: 3), "replies held on position \(pb) wait for a future write")
        #expect(log.syncedSequence == pb)
        var rng = SplitMix64(seed: 2)
        fs.crash(rng: &rng)
        let (_, reloaded) = try openLog(fs, policy: .no)
        #expect(reloaded.lastSeq == pb, "records the retry reported synced are zeros on the disk")
    }

    /// The same after a failed write whose retry's fsync fails: the next retry must rewrite everything unsynced,
    /// not only the failed batch, or the pages the kernel dropped become a hole of zeros in the middle of the file
    /// and after a power loss the log refuses to load although the writer reported everything synced.
    @Test func failedFsyncInARetryUnderNoLeavesNoHole() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .no)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        log.flush(now: 1)
        server.run("SET", "b", "2")
        log.flush(now: 2)
        fs.failNextWrites(1)
        server.run("SET", "c", "3")
        let pc = log.flush(now: 3)
        fs.failNextSyncs(1)
        #expect(!log.syncNow(), "the retry's fsync fails")
        #expect(log.syncNow(), "the next retry succeeds")
        #expect(log.status.syncedSeq == pc)
        var rng = SplitMix64(seed: 5)
        fs.crash(rng: &rng)
        do {
            let (_, reloaded) = try openLog(fs, policy: .no)
            #expect(reloaded.lastSeq == pc, "the writer reported record \(pc) synced")
        } catch {
            Issue.record("after a power loss the log does not load: \(error)")
        }
    }

    /// Companion of `restartedWriterSyncsWhatItReportsSynced` (RecoveryTests): after a kill and restart, the loaded
    /// bytes count as synced only because the writer fsyncs them on open. Otherwise a failing next fsync would drop
    /// those pages too while the repair rewrites from the "synced" length: a hole of zeros, and a log that refuses
    /// to load.
    @Test func fsyncFailureAfterARestartLeavesNoHole() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .always)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        log.flush(now: 1)  // killed before the end-of-tick fsync
        let (log2, reloaded) = try openLog(fs, policy: .always)
        let restarted = try LoggedEngine(log: log2, loaded: reloaded)
        restarted.run("SET", "b", "2")
        let pb = log2.flush(now: 2)
        fs.failNextSyncs(1)
        #expect(!log2.syncInline())
        #expect(log2.syncNow(), "the sync thread's repair")
        #expect(log2.acknowledgedSeq == pb)
        var rng = SplitMix64(seed: 1)
        fs.crash(rng: &rng)
        do {
            let (_, after) = try openLog(fs, policy: .always)
            #expect(after.lastSeq == pb, "acknowledged record \(pb) lost")
        } catch {
            Issue.record("after a power loss the log does not load: \(error)")
        }
    }

    /// Two sync steps running at once (the command thread calls syncNow() at the end of every tick
    /// under `always`, while the sync thread calls it once a second after a failure) must not rewrite the unsynced
    /// batches twice. The second caller is simulated by entering syncNow() from inside the first one's write.
    @Test func concurrentRepairsDoNotDuplicateBatches() throws {
        let fs = SimulatedFileSystem()
        let (log, loaded) = try openLog(fs, policy: .always)
        let server = try LoggedEngine(log: log, loaded: loaded)
        server.run("SET", "a", "1")
        log.flush(now: 1)
        server.run("SET", "b", "2")
        let p2 = log.flush(now: 2)
        fs.failNextSyncs(1)
        #expect(!log.syncNow())
        var entered = false
        let otherDone = DispatchSemaphore(value: 0)
        fs.beforeWrite = { _ in
            if !entered {
                entered = true
                // The command thread's sync step starts while the repair is mid-way; it must wait for it.
                Thread { _ = log.syncInline(); otherDone.signal() }.start()
                usleep(20_000)
            }
        }
        _ = log.syncNow()
        fs.beforeWrite = nil
        #expect(entered)
        #expect(otherDone.wait(timeout: .now() + 10) == .success, "the second sync step never finished")
        let scan = SegmentReader.scan(fs.cachedContents(Self.segment)!, expectFirstSeq: 1)
        #expect(scan.damage == nil, "\(String(describing: scan.damage))")
        #expect(scan.batches.last?.annotation.lastSeq == p2)
        #expect(fs.cachedContents(Self.segment)!.count == log.status.writtenSize)
    }
}
