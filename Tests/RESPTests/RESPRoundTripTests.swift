@testable import RESP
import TestSupport
import Testing

func randomValue(_ rng: inout SplitMix64, depth: Int = 0) -> RESPValue {
    let kind = Int.random(in: 0..<(depth > 2 ? 8 : 13), using: &rng)
    func text() -> String { String((0..<Int.random(in: 0..<12, using: &rng)).map { _ in "abcxyz019 _:".randomElement(using: &rng)! }) }
    func blob() -> [UInt8] { (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } }
    switch kind {
    case 0: return .simpleString(text())
    case 1: return .error("ERR " + text())
    case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &rng))
    case 3: return .bulkString(blob())
    case 4: return .null  // RESP3 has one null; `$-1` is RESP2 only
    case 5: return .null
    case 6: return .boolean(Bool.random(using: &rng))
    case 7: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 64)
    case 8: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
    case 9: return .set((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
    case 10: return .push((0..<Int.random(in: 1..<4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
    case 11:
        return .map((0..<Int.random(in: 0..<3, using: &rng)).map { _ in
            RESPPair(randomValue(&rng, depth: depth + 1), randomValue(&rng, depth: depth + 1))
        })
    default: return .verbatim(format: "txt", text: blob())
    }
}

struct RESPRoundTripTests {
    @Test func decodeOfEncodeIsIdentity() throws {
        var rng = SplitMix64(seed: 20261125)
        let decoder = RESPDecoder()
        for _ in 0..<2000 {
            let v = randomValue(&rng)
            let bytes = RESPEncoder.encode(v, protocolVersion: 3)
            let decoded = try decoder.decodeAll(bytes)
            #expect(decoded == [v])
        }
    }

    @Test func decoderWaitsForMoreBytesAtEveryCut() throws {
        var rng = SplitMix64(seed: 7)
        let decoder = RESPDecoder()
        for _ in 0..<200 {
            let v = randomValue(&rng)
            let bytes = RESPEncoder.encode(v, protocolVersion: 3)
            for cut in 0..<bytes.count {
                let prefix = Array(bytes[0..<cut])
                let r = try prefix.withUnsafeBytes { try decoder.decode($0, from: 0) }
                #expect(r == nil, "a prefix of \(cut) bytes must not decode")
            }
        }
    }

    @Test func resp2DowngradesResp3Types() throws {
        var w = ReplyWriter(protocolVersion: 2)
        w.null()
        w.boolean(true)
        w.mapHeader(1)
        w.double(1.5)
        #expect(String(decoding: w.bytes, as: UTF8.self) == "$-1\r\n:1\r\n*2\r\n$3\r\n1.5\r\n")
        var w3 = ReplyWriter(protocolVersion: 3)
        w3.null()
        w3.boolean(true)
        w3.mapHeader(1)
        w3.double(1.5)
        #expect(String(decoding: w3.bytes, as: UTF8.self) == "_\r\n#t\r\n%1\r\n,1.5\r\n")
    }

    @Test(arguments: [0, 1, 9, 10, 99, 100, -1, -10, Int.max, Int.min, 1234567890])
    func decimalFormatting(_ v: Int) {
        var w = ReplyWriter()
        w.integer(v)
        #expect(String(decoding: w.bytes, as: UTF8.self) == ":\(v)\r\n")
    }

    @Test func doubleFormattingMatchesRedis() {
        #expect(RESPNumber.formatDouble(.infinity) == "inf")
        #expect(RESPNumber.formatDouble(-.infinity) == "-inf")
        #expect(RESPNumber.formatDouble(1.5) == "1.5")
        #expect(RESPNumber.formatDouble(0.1) == "0.10000000000000001")
    }
}
