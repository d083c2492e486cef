#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// INCRBYFLOAT's arithmetic: Redis computes in C `long double` (80-bit on x86-64) and prints with `%.17Lf`,
/// trimming trailing zeros, so `0.1 + 0.2` is `0.3`. `Float80` is the same type where it exists.
#if arch(x86_64) && !os(Windows)
typealias LongDouble = Float80
#else
typealias LongDouble = Double
#endif

extension LongDouble {
    /// Parses like Redis's `string2ld`: the whole string, no spaces, no NaN, no overflow to infinity.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> LongDouble? {
        guard bytes.count > 0, bytes.count < 5120 else { return nil }
        let first = bytes[0]
        if first == 32 || first == 9 || first == 10 || first == 13 || first == 11 || first == 12 { return nil }
        var buf = [CChar](repeating: 0, count: bytes.count + 1)
        for i in 0..<bytes.count { buf[i] = CChar(bitPattern: bytes[i]) }
        return buf.withUnsafeMutableBufferPointer { p -> LongDouble? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            #if arch(x86_64) && !os(Windows)
            let v = strtold(p.baseAddress!, &end)
            #else
            let v = strtod(p.baseAddress!, &end)
            #endif
            guard p.baseAddress!.distance(to: end!) == bytes.count, !v.isNaN else { return nil }
            if errno == ERANGE && v.isInfinite { return nil }
            return v
        }
    }

    /// `%.17Lf` with trailing zeros (and a trailing dot) removed, as Redis's `ld2string(..., LD_STR_HUMAN)`.
    static func format(_ v: LongDouble) -> String {
        var buffer = [CChar](repeating: 0, count: 5200)
        let n = buffer.withUnsafeMutableBufferPointer { p in
            withVaList([v]) { vsnprintf(p.baseAddress, 5200, LongDouble.self == Double.self ? "%.17f" : "%.17Lf", $0) }
        }
        var s = String(decoding: buffer[0..<Int(max(0, min(n, 5199)))].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        if s == "-0" { s = "0" }
        return s
    }
}
