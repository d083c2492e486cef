#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Number formatting and parsing with Redis's exact rules.
public enum RESPNumber {
    /// Redis's `%.17g`-style reply formatting of doubles (used by RESP3 doubles and ZSCORE-like replies).
    public static func formatDouble(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return cFormat("%.17g", v)
    }

    public static func cFormat(_ format: String, _ v: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBufferPointer { p in
            withVaList([v]) { vsnprintf(p.baseAddress, 512, format, $0) }
        }
        return String(decoding: buffer[0..<Int(max(0, min(n, 511)))].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Parses a double like Redis's `string2ld`/`strtold` checks: no spaces, no trailing garbage, not NaN.
    public static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard bytes.count > 0, bytes.count < 256 else { return nil }
        let first = bytes[0]
        if first == 32 || first == 9 || first == 10 || first == 13 { return nil }
        var buf = [CChar](repeating: 0, count: bytes.count + 1)
        for i in 0..<bytes.count { buf[i] = CChar(bitPattern: bytes[i]) }
        var endPtr: UnsafeMutablePointer<CChar>? = nil
        let value = buf.withUnsafeMutableBufferPointer { p -> Double in
            errno = 0
            let v = strtod(p.baseAddress!, &endPtr)
            let consumed = p.baseAddress!.distance(to: endPtr!)
            if consumed != bytes.count { endPtr = nil }
            return v
        }
        guard endPtr != nil, !value.isNaN else { return nil }
        return value
    }
}
