import CGodisHash
@testable import Engine
import TestSupport
import Testing

/// The keyspace hash: SipHash-1-2 in C, checked against a plain Swift transcription of the algorithm, and spread
/// evenly over buckets for the keys a benchmark uses.
@Suite struct HashTests {
    /// SipHash with `c` compression and `d` finalization rounds, written from the paper, bytes read little-endian.
    static func reference(_ bytes: [UInt8], k0: UInt64, k1: UInt64, c: Int = 1, d: Int = 2) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1
        func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }
        func round() {
            v0 = v0 &+ v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 = v2 &+ v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 = v0 &+ v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 = v2 &+ v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        }
        var padded = bytes
        padded.append(contentsOf: [UInt8](repeating: 0, count: 7 - bytes.count % 8))
        padded.append(UInt8(truncatingIfNeeded: bytes.count))
        for block in stride(from: 0, to: padded.count, by: 8) {
            var m: UInt64 = 0
            for i in 0..<8 { m |= UInt64(padded[block + i]) << (8 * UInt64(i)) }
            v3 ^= m
            for _ in 0..<c { round() }
            v0 ^= m
        }
        v2 ^= 0xff
        for _ in 0..<d { round() }
        return v0 ^ v1 ^ v2 ^ v3
    }

    @Test func matchesTheReferenceForEveryLengthUpTo64() {
        var rng = SplitMix64(seed: 7)
        for length in 0...64 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let k0 = rng.next(), k1 = rng.next()
                let c = bytes.withUnsafeBytes { godis_siphash12($0.baseAddress, $0.count, k0, k1) }
                #expect(c == Self.reference(bytes, k0: k0, k1: k1), "length \(length)")
            }
        }
    }

    /// The reference itself, against SipHash-2-4's published vector (the paper's appendix: key 00..0f, message
    /// 00..0e), so that the comparison above is against a correct SipHash.
    @Test func referenceReproducesThePublishedSipHash24Vector() {
        let k0: UInt64 = 0x0706_0504_0302_0100
        let k1: UInt64 = 0x0f0e_0d0c_0b0a_0908
        #expect(Self.reference(Array(0..<15), k0: k0, k1: k1, c: 2, d: 4) == 0xa129_ca61_49be_45e5)
    }

    @Test func keysOfOneShapeSpreadEvenlyOverBuckets() {
        let buckets = 1024
        var counts = [Int](repeating: 0, count: buckets)
        for i in 0..<102_400 {
            let key = Array("key:\(String(repeating: "0", count: 12 - String(i).count))\(i)".utf8)
            let h = key.withUnsafeBytes { godis_hash($0.baseAddress, $0.count) }
            counts[Int(h % UInt64(buckets))] += 1
        }
        // 100 expected per bucket; a uniform hash stays far inside these bounds.
        #expect(counts.min()! > 50 && counts.max()! < 160, "min \(counts.min()!) max \(counts.max()!)")
    }

    @Test func theKeyIsRandomPerProcess() {
        #expect(godis_hash_key.0 != 0 || godis_hash_key.1 != 0)
    }

    /// Room reserved before a load is used without growing, and what stays unused is given back afterwards.
    @Test func reservedRoomIsUsedThenTrimmed() {
        var t = HashTable<Int>()
        t.reserve(100_000)
        let reserved = t.entries.capacity
        #expect(reserved >= 100_000)
        for i in 0..<50_000 {
            let key = Array("k\(i)".utf8)
            t.insert(key: key, hash: key.withUnsafeBytes { HashTable<Int>.hash($0) }, value: i)
        }
        #expect(t.entries.capacity == reserved, "no growth while within the reservation")
        t.trimReserve()
        #expect(t.entries.capacity == reserved, "more than half used: kept")
        var small = HashTable<Int>()
        small.reserve(1_000_000)
        for i in 0..<10 { small.insert(key: [UInt8(i)], hash: [UInt8(i)].withUnsafeBytes { HashTable<Int>.hash($0) }, value: i) }
        small.trimReserve()
        #expect(small.entries.capacity < 2_000)
        for i in 0..<10 {
            let key = [UInt8(i)]
            let found = key.withUnsafeBytes { small.find($0, hash: HashTable<Int>.hash($0)) }
            #expect(found.map { small.entries[$0].value } == i)
        }
    }
}
