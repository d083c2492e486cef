import Foundation
import Storage

// CRC32C throughput (hardware path and table fallback) and segment scan throughput (annotation parsing plus
// CRC checking of a segment full of 100-byte SET batches), best of 5 runs each.

func best(_ runs: Int = 5, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return best
}

var rng = SystemRandomNumberGenerator()
let buffer = (0..<(64 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
var sink: UInt32 = 0
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
