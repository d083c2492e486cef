/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[abc]`, `[^a-z]`, `\x`, optional case folding.
public enum Glob {
    public static func match(_ pattern: UnsafeRawBufferPointer, _ string: UnsafeRawBufferPointer, nocase: Bool = false)
        -> Bool
    {
        var skipLongerMatches = false
        return match(pattern, 0, string, 0, nocase, &skipLongerMatches, nesting: 0)
    }

    public static func match(_ pattern: [UInt8], _ string: [UInt8], nocase: Bool = false) -> Bool {
        pattern.withUnsafeBytes { p in string.withUnsafeBytes { s in match(p, s, nocase: nocase) } }
    }

    @inline(__always)
    private static func fold(_ c: UInt8, _ nocase: Bool) -> UInt8 {
        nocase && c >= 65 && c <= 90 ? c | 0x20 : c
    }

    private static func match(
        _ p: UnsafeRawBufferPointer, _ pStart: Int, _ s: UnsafeRawBufferPointer, _ sStart: Int, _ nocase: Bool,
        _ skipLonger: inout Bool, nesting: Int
    ) -> Bool {
        // Pathological patterns (many stars) are cut off the way Redis does, to bound the work.
        if nesting > 1000 { return false }
        var pi = pStart, si = sStart
        while pi < p.count && si < s.count {
            switch p[pi] {
            case UInt8(ascii: "*"):
                while pi + 1 < p.count && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
                if pi + 1 == p.count { return true }
                while si < s.count {
                    if match(p, pi + 1, s, si, nocase, &skipLonger, nesting: nesting + 1) { return true }
                    if skipLonger { return false }
                    si += 1
                }
                skipLonger = true
                return false
            case UInt8(ascii: "?"):
                si += 1
            case UInt8(ascii: "["):
                pi += 1
                let not = pi < p.count && p[pi] == UInt8(ascii: "^")
                if not { pi += 1 }
                var matched = false
                while true {
                    if pi < p.count && p[pi] == UInt8(ascii: "\\") && pi + 2 <= p.count - 1 + 1 && pi + 1 < p.count {
                        pi += 1
                        if p[pi] == s[si] { matched = true }
                    } else if pi >= p.count {
                        pi -= 1
                        break
                    } else if p[pi] == UInt8(ascii: "]") {
                        break
                    } else if pi + 2 < p.count && p[pi + 1] == UInt8(ascii: "-") {
                        var start = fold(p[pi], nocase), end = fold(p[pi + 2], nocase)
                        let c = fold(s[si], nocase)
                        if start > end { swap(&start, &end) }
                        pi += 2
                        if c >= start && c <= end { matched = true }
                    } else if fold(p[pi], nocase) == fold(s[si], nocase) {
                        matched = true
                    }
                    pi += 1
                }
                if not { matched.toggle() }
                if !matched { return false }
                si += 1
            case UInt8(ascii: "\\"):
                if pi + 1 < p.count { pi += 1 }
                fallthrough
            default:
                if fold(p[pi], nocase) != fold(s[si], nocase) { return false }
                si += 1
            }
            pi += 1
            if si == s.count {
                while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
                break
            }
        }
        return pi == p.count && si == s.count
    }
}
