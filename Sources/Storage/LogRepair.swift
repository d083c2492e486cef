import RESP

/// What a repair keeps. See docs/FORMAT.md, "Repair".
public enum RepairMode: Equatable, Sendable {
    /// Keep every batch up to the first damaged one.
    case truncate
    /// Skip only damaged bytes: resync at the next annotation whose checksum validates.
    case salvage
    /// Keep batches up to the first one formed after `unixMillis` (and before any damage).
    case pointInTime(unixMillis: Int64)
}

/// A dry-run description of a repair, and what `apply` will do.
public struct RepairPlan: Sendable {
    public struct Dropped: Sendable, Equatable {
        public var file: String
        public var range: Range<Int>
        public var reason: String
    }

    public var directory: String
    public var prefix: String
    public var mode: RepairMode
    /// Batches kept, in order, as (file, annotation, payload bytes).
    public var kept: [(file: String, annotation: BatchAnnotation, payload: [UInt8])]
    public var dropped: [Dropped]
    public var manifest: Manifest?
    public var keptRecords: Int { kept.reduce(0) { $0 + $1.annotation.count } }
    public var droppedBytes: Int { dropped.reduce(0) { $0 + $1.range.count } }
    public var needsRepair: Bool { !dropped.isEmpty || manifest == nil }

    /// One line for scripts: `ok` or what the repair drops.
    public var summary: String {
        if !needsRepair { return "OK: \(kept.count) batches, \(keptRecords) records, nothing to repair" }
        return "REPAIR (\(mode)): keeps \(kept.count) batches (\(keptRecords) records), drops \(droppedBytes) bytes in \(dropped.count) range(s)"
    }
}

/// Repairs a damaged log: plan (a dry run that changes nothing), then apply. Applying never deletes anything: the
/// repaired log is written as a new segment and a new manifest; the old segments stay on disk, unlisted.
public enum LogRepair {
    public static func plan(
        directory: String, prefix: String = "appendonly.aof", mode: RepairMode, fileSystem fs: FileSystem = PosixFileSystem()
    ) throws -> RepairPlan {
        var plan = RepairPlan(directory: directory, prefix: prefix, mode: mode, kept: [], dropped: [], manifest: nil)
        let manifestPath = directory + "/" + LogFormat.manifestName(prefix: prefix)
        var names: [String]
        var parsed: Manifest? = nil
        if let bytes = try? fs.readFile(manifestPath) {
            do {
                parsed = try Manifest.parse(bytes)
            } catch let e as Manifest.ParseError where e.reason.hasPrefix("written by format") {
                throw RepairError.newerFormat(file: LogFormat.manifestName(prefix: prefix), reason: e.reason)
            } catch {}
        }
        if let m = parsed {
            plan.manifest = m
            names = m.entries.map { $0.name }
        } else {
            // No usable manifest: take the newest base and the incremental segments numbered from it on (an older
            // generation, e.g. what an earlier repair left unlisted, is not part of the log), in number order.
            let files = try fs.listDirectory(directory).filter { $0.hasPrefix(prefix + ".") && $0.hasSuffix(".aof") }
            func number(_ n: String) -> Int { Int(n.split(separator: ".").dropLast(2).last ?? "") ?? 0 }
            let base = files.filter { $0.hasSuffix(".base.aof") }.max { number($0) < number($1) }
            let first = base.map(number) ?? 0
            names = (base.map { [$0] } ?? [])
                + files.filter { $0.hasSuffix(".incr.aof") && number($0) >= first }.sorted { number($0) < number($1) }
            plan.dropped.append(RepairPlan.Dropped(file: LogFormat.manifestName(prefix: prefix), range: 0..<0, reason: "manifest missing or damaged; rebuilt from the segments on disk"))
        }
        var stop = false
        var reader = PayloadReader()
        var expected = plan.manifest?.entries.first?.startSeq
        for name in names where !stop {
            let path = directory + "/" + name
            guard fs.fileExists(path) else {
                plan.dropped.append(RepairPlan.Dropped(file: name, range: 0..<0, reason: "segment missing"))
                if mode != .salvage { stop = true }
                expected = nil  // already reported: no second complaint about the gap it leaves
                continue
            }
            let bytes = try fs.readFile(path)
            let entry = plan.manifest?.entries.first { $0.name == name }
            if let entry, let e = expected, entry.startSeq != e {
                plan.dropped.append(RepairPlan.Dropped(
                    file: name, range: 0..<0, reason: "segment starts at record \(entry.startSeq), expected \(e)"))
                if mode != .salvage { stop = true; break }
            }
            var pos = 0
            var first = true
            var lastSeq = entry.map { $0.startSeq - 1 }
            while pos < bytes.count && !stop {
                var scan = bytes.withUnsafeBytes {
                    SegmentReader.scan($0, expectFirstSeq: entry?.startSeq, resumingAt: first ? nil : pos)
                }
                if first, case .corrupt(0, let reason)? = scan.damage, reason.hasPrefix("written by format") {
                    throw RepairError.newerFormat(file: name, reason: reason)
                }
                if first, let h = scan.header, let entry, h.type != entry.type || h.number != entry.number {
                    scan.batches = []
                    scan.damage = .corrupt(offset: 0, reason: "header says segment \(h.number) type \(h.type.rawValue), the manifest says \(entry.number) type \(entry.type.rawValue)")
                }
                // What the loader checks beyond checksums: each payload holds exactly `count` commands.
                if let bad = scan.batches.firstIndex(where: { !Self.payloadHoldsCommands(bytes, $0, &reader) }) {
                    let b = scan.batches[bad]
                    scan.damage = .corrupt(offset: b.offset, reason: "batch \(b.annotation.firstSeq) holds a payload that is not \(b.annotation.count) RESP commands")
                    scan.batches.removeSubrange(bad...)
                }
                first = false
                if let last = scan.batches.last { lastSeq = last.annotation.lastSeq }
                for b in scan.batches {
                    if case .pointInTime(let until) = mode, b.annotation.timestamp > until {
                        plan.dropped.append(RepairPlan.Dropped(file: name, range: b.offset..<bytes.count, reason: "after the point in time"))
                        stop = true
                        break
                    }
                    plan.kept.append((name, b.annotation, Array(bytes[b.payload])))
                }
                if stop { break }
                guard let damage = scan.damage else { break }
                // Zeros written ahead of the appends after the last batch (its marker says so) are not damage:
                // the server removes them at startup (LogLoader).
                if case .tornTail = damage, name == names.last,
                    bytes.withUnsafeBytes({ LogFormat.isZerosWrittenAhead($0, after: scan.validLength, segmentPath: path, fileSystem: fs) })
                {
                    break
                }
                switch mode {
                case .salvage:
                    // From the damage itself: a batch reported only for a sequence gap is intact and is kept.
                    let resync = SegmentReader.nextValidBatch(bytes, after: damage.offset - 1) ?? bytes.count
                    plan.dropped.append(RepairPlan.Dropped(file: name, range: damage.offset..<resync, reason: damage.reason))
                    pos = resync
                default:
                    plan.dropped.append(RepairPlan.Dropped(file: name, range: damage.offset..<bytes.count, reason: damage.reason))
                    stop = true
                }
            }
            // A closed segment must end where the manifest says: one that lost whole batches looks clean.
            if !stop, let entry, entry.isClosed {
                if let size = entry.size, size != bytes.count {
                    plan.dropped.append(RepairPlan.Dropped(
                        file: name, range: min(size, bytes.count)..<bytes.count,
                        reason: "segment is \(bytes.count) bytes, the manifest recorded \(size)"))
                    if mode != .salvage { stop = true }
                } else if let end = entry.endSeq, end != lastSeq {
                    plan.dropped.append(RepairPlan.Dropped(
                        file: name, range: bytes.count..<bytes.count,
                        reason: "segment ends at record \(lastSeq ?? 0), the manifest recorded \(end)"))
                    if mode != .salvage { stop = true }
                }
            }
            expected = lastSeq.map { $0 + 1 }
        }
        if stop, mode != .salvage, let i = names.firstIndex(of: plan.dropped.last?.file ?? "") {
            for later in names[(i + 1)...] {
                plan.dropped.append(RepairPlan.Dropped(file: later, range: 0..<((try? fs.fileSize(directory + "/" + later)) ?? 0), reason: "after the repair point"))
            }
        }
        return plan
    }

    /// Writes the kept batches, renumbered from 1, into a new incremental segment (with a fresh empty base) and
    /// swaps the manifest atomically. Returns the new segment's name.
    @discardableResult
    public static func apply(_ plan: RepairPlan, fileSystem fs: FileSystem = PosixFileSystem(), now: Int64) throws -> String {
        let existing = (try? fs.listDirectory(plan.directory)) ?? []
        let highest = existing.compactMap { n -> Int? in
            guard n.hasPrefix(plan.prefix + "."), n.hasSuffix(".aof") else { return nil }
            return Int(n.split(separator: ".").dropLast(2).last ?? "")
        }.max() ?? 0
        let number = highest + 1
        let baseName = LogFormat.baseName(prefix: plan.prefix, number: number)
        let incrName = LogFormat.incrName(prefix: plan.prefix, number: number)
        let base = SegmentHeader(type: .base, number: number, createdAt: now).encoded()
        var incr = SegmentHeader(type: .incr, number: number, createdAt: now, options: ["repaired": "1"]).encoded()
        var seq: UInt64 = 1
        var selected = 0
        var reader = PayloadReader()
        for k in plan.kept {
            var payload = k.payload
            var count = k.annotation.count
            if k.annotation.db != selected {
                var w = ReplyWriter(capacity: 32)
                w.arrayHeader(2)
                w.bulk("SELECT")
                w.bulkDecimal(k.annotation.db)
                payload = w.bytes + payload
                count += 1
                selected = k.annotation.db
            }
            payload.withUnsafeBytes { b in
                _ = reader.forEachCommand(b) { spans, _ in selected = PayloadReader.selectedDB(b, spans) ?? selected }
            }
            let line = payload.withUnsafeBytes {
                BatchAnnotation.line(firstSeq: seq, count: count, db: k.annotation.db, timestamp: k.annotation.timestamp, payload: $0)
            }
            incr += line + payload
            seq += UInt64(count)
        }
        try fs.writeNewFile(plan.directory + "/" + baseName, base, directory: plan.directory)
        try fs.writeNewFile(plan.directory + "/" + incrName, incr, directory: plan.directory)
        let manifest = Manifest(entries: [
            ManifestEntry(name: baseName, number: number, type: .base, startSeq: 1, endSeq: 0, size: base.count),
            ManifestEntry(name: incrName, number: number, type: .incr, startSeq: 1),
        ])
        try fs.writeAtomically(plan.directory + "/" + LogFormat.manifestName(prefix: plan.prefix), manifest.encoded(), directory: plan.directory)
        return incrName
    }

    /// A newer major version is not damage: repairing it with this build would throw the log away.
    public enum RepairError: Error, CustomStringConvertible {
        case newerFormat(file: String, reason: String)
        public var description: String {
            switch self {
            case .newerFormat(let file, let reason): return "\(file): \(reason); use the Godis that wrote it"
            }
        }
    }

    static func payloadHoldsCommands(_ bytes: [UInt8], _ batch: BatchLocation, _ reader: inout PayloadReader) -> Bool {
        bytes.withUnsafeBytes { all in
            let (count, unparsedAt) = reader.forEachCommand(UnsafeRawBufferPointer(rebasing: all[batch.payload])) { _, _ in }
            return unparsedAt == nil && count == batch.annotation.count
        }
    }
}
