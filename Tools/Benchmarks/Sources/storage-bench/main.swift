import Foundation
import Storage

// CRC32C throughput (hardware path and table fallback) and segment scan throughput (annotation parsing plus
// CRC checking of a segment full of 100-byte SET batches), best of 5 runs each; then the writer's per-command
// cost (`log append`, below).

func best(_ runs: Int = 5, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return best
}

// `storage-bench append` runs only the last benchmark (for profiling it).
let onlyAppend = CommandLine.arguments.dropFirst().first == "append"
var sink: UInt32 = 0
if !onlyAppend {
    var rng = SystemRandomNumberGenerator()
    let buffer = (0..<(64 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let hw = best { sink ^= CRC32C.checksum(buffer) }
    let table = best { sink ^= CRC32C.portable(buffer) }
    print("crc32c hardware=\(CRC32C.isHardwareAccelerated): \(String(format: "%.2f", 64.0 / 1024 / hw)) GB/s")
    print("crc32c table:   \(String(format: "%.2f", 64.0 / 1024 / table)) GB/s")

    // A segment of 100,000 batches of 10 SETs with 64-byte values, as the writer frames them.
    var segment = SegmentHeader(type: .incr, number: 1, createdAt: 0).encoded()
    var seq: UInt64 = 1
    for b in 0..<100_000 {
        var payload: [UInt8] = []
        for i in 0..<10 {
            let key = Array("key:\(b * 10 + i)".utf8)
            let value = [UInt8](repeating: 120, count: 64)
            payload += Array("*3\r\n$3\r\nSET\r\n$\(key.count)\r\n".utf8) + key + Array("\r\n$64\r\n".utf8) + value + [13, 10]
        }
        segment += payload.withUnsafeBytes { BatchAnnotation.line(firstSeq: seq, count: 10, db: 0, timestamp: 1, payload: $0) }
        segment += payload
        seq += 10
    }
    var batches = 0
    let scan = best { batches = SegmentReader.scan(segment, expectFirstSeq: 1).batches.count }
    print("segment scan: \(batches) batches, \(segment.count >> 20) MiB in \(String(format: "%.1f", scan * 1000)) ms = \(String(format: "%.2f", Double(segment.count) / 1e9 / scan)) GB/s")
    if sink == 42 { print("") }
}

// The command thread's share of logging a SET under `appendfsync everysec`: encode the command, frame the batch
// (CRC32C), write it; batches of 800 commands as a tick brings under `redis-benchmark -P 16 -c 50`. The sync
// thread fsyncs meanwhile, as in the server. Reported per command, best of 3 runs of 1,000,000 commands.
do {
    let dir = NSTemporaryDirectory() + "storage-bench-\(getpid())"
    try? FileManager.default.removeItem(atPath: dir)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (log, _) = try AppendLog.open(directory: dir, policy: .everysec, now: 0)
    log.start()
    let command = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 + 16 + 64, alignment: 8)
    command.copyBytes(from: Array("SETkey:000000000000".utf8) + [UInt8](repeating: 120, count: 64))
    let args = [0..<3, 3..<19, 19..<83]
    let perBatch = 800
    let commands = 1_000_000
    var x: UInt64 = 1
    let seconds = best(3) {
        args.withUnsafeBufferPointer { spans in
            for b in 0..<(commands / perBatch) {
                for _ in 0..<perBatch {
                    x = x &* 6364136223846793005 &+ 1442695040888963407
                    var k = (x >> 33) % 100_000
                    for d in stride(from: 18, through: 13, by: -1) {
                        command[d] = UInt8(48 + k % 10)
                        k /= 10
                    }
                    log.append(db: 0, buffer: UnsafeRawBufferPointer(command), spans: spans)
                }
                log.flush(now: Int64(b))
            }
        }
    }
    _ = log.close(now: 0)
    command.deallocate()
    print("log append (SET, 64-byte value, 800 per batch): \(String(format: "%.1f", seconds * 1e9 / Double(commands))) ns per command")
}
