/// Appends replies to a reusable byte buffer, in RESP2 or RESP3 as the connection negotiated.
///
/// The server keeps one writer per connection and flushes its bytes once per read, so every reply of a pipeline
/// goes out in one write. Methods never allocate beyond growing `bytes`.
public struct ReplyWriter {
    public var bytes: [UInt8]
    /// 2 or 3 (`HELLO 3`).
    public var protocolVersion: Int

    public init(protocolVersion: Int = 2, capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.protocolVersion = protocolVersion
    }

    public var isResp3: Bool { protocolVersion >= 3 }

    @inline(__always)
    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    public mutating func ok() { raw("+OK\r\n") }

    public mutating func simple(_ s: String) {
        bytes.append(UInt8(ascii: "+"))
        bytes.append(contentsOf: s.utf8)
        crlf()
    }

    /// An error reply; `message` carries its own code (`ERR ...`, `WRONGTYPE ...`).
    public mutating func error(_ message: String) {
        bytes.append(UInt8(ascii: "-"))
        for c in message.utf8 { bytes.append(c == 13 || c == 10 ? 32 : c) }
        crlf()
    }

    @inline(__always)
    public mutating func integer(_ v: Int) {
        bytes.append(UInt8(ascii: ":"))
        decimal(v)
        crlf()
    }

    @inline(__always)
    public mutating func bulk(_ payload: UnsafeRawBufferPointer) {
        header(UInt8(ascii: "$"), payload.count)
        bytes.append(contentsOf: payload)
        raw("\r\n")
    }

    @inline(__always)
    public mutating func bulk(_ payload: [UInt8]) {
        payload.withUnsafeBytes { bulk($0) }
    }

    public mutating func bulk(_ text: String) {
        var t = text
        t.withUTF8 { bulk(UnsafeRawBufferPointer($0)) }
    }

    /// A bulk string holding the decimal text of `v`.
    public mutating func bulkDecimal(_ v: Int) {
        var tmp = ReplyWriter(capacity: 24)
        tmp.decimal(v)
        bulk(tmp.bytes)
    }

    /// RESP2 `$-1`, RESP3 `_`.
    @inline(__always)
    public mutating func null() {
        if isResp3 { raw("_\r\n") } else { raw("$-1\r\n") }
    }

    /// RESP2 `*-1`, RESP3 `_`.
    public mutating func nullArray() {
        if isResp3 { raw("_\r\n") } else { raw("*-1\r\n") }
    }

    public mutating func arrayHeader(_ count: Int) { header(UInt8(ascii: "*"), count) }

    /// RESP3 `%n`; RESP2 a flat array of 2n elements.
    public mutating func mapHeader(_ count: Int) {
        if isResp3 { header(UInt8(ascii: "%"), count) } else { header(UInt8(ascii: "*"), count * 2) }
    }

    /// RESP3 `~n`; RESP2 an array.
    public mutating func setHeader(_ count: Int) {
        header(UInt8(ascii: isResp3 ? "~" : "*"), count)
    }

    /// RESP3 `>n`; RESP2 an array.
    public mutating func pushHeader(_ count: Int) {
        header(UInt8(ascii: isResp3 ? ">" : "*"), count)
    }

    /// RESP3 `,`; RESP2 a bulk string, with Redis's formatting (`inf`, `-inf`, shortest round-trip digits).
    public mutating func double(_ v: Double) {
        let text = RESPNumber.formatDouble(v)
        if isResp3 {
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: text.utf8)
            crlf()
        } else {
            bulk(text)
        }
    }

    /// RESP3 `#t`/`#f`; RESP2 `:1`/`:0`.
    public mutating func boolean(_ v: Bool) {
        if isResp3 { raw(v ? "#t\r\n" : "#f\r\n") } else { integer(v ? 1 : 0) }
    }

    /// RESP3 verbatim `=` (`txt:`); RESP2 a bulk string.
    public mutating func verbatim(_ text: String) {
        verbatim(Array(text.utf8))
    }

    public mutating func verbatim(_ text: [UInt8], format: String = "txt") {
        if isResp3 {
            bytes.append(UInt8(ascii: "="))
            decimal(text.count + 4)
            crlf()
            bytes.append(contentsOf: format.utf8.prefix(3))
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: text)
            crlf()
        } else {
            bulk(text)
        }
    }

    /// Writes any wire value, converting RESP3-only types for a RESP2 connection.
    public mutating func value(_ v: RESPValue) {
        switch v {
        case .simpleString(let s): simple(s)
        case .error(let e), .blobError(let e): error(e)
        case .integer(let i): integer(Int(i))
        case .bulkString(let b?): bulk(b)
        case .bulkString(nil): null()
        case .array(let a?):
            arrayHeader(a.count)
            for e in a { value(e) }
        case .array(nil): nullArray()
        case .null: null()
        case .double(let d): double(d)
        case .boolean(let b): boolean(b)
        case .bigNumber(let s):
            if isResp3 {
                bytes.append(UInt8(ascii: "("))
                bytes.append(contentsOf: s.utf8)
                crlf()
            } else {
                bulk(s)
            }
        case .verbatim(let f, let t): verbatim(t, format: f)
        case .map(let pairs):
            mapHeader(pairs.count)
            for p in pairs {
                value(p.key)
                value(p.value)
            }
        case .set(let s):
            setHeader(s.count)
            for e in s { value(e) }
        case .push(let p):
            pushHeader(p.count)
            for e in p { value(e) }
        }
    }

    /// `<tag><count>\r\n`, built on the stack and appended at once (one capacity check instead of one per byte).
    @inline(__always)
    mutating func header(_ tag: UInt8, _ count: Int) {
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { s in
            var i = 29
            s[30] = 13
            s[31] = 10
            var magnitude = count.magnitude
            repeat {
                s[i] = UInt8(truncatingIfNeeded: magnitude % 10) + 48
                magnitude /= 10
                i -= 1
            } while magnitude > 0
            if count < 0 {
                s[i] = UInt8(ascii: "-")
                i -= 1
            }
            s[i] = tag
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[i...]))
        }
    }

    @inline(__always)
    public mutating func crlf() {
        bytes.append(13)
        bytes.append(10)
    }

    /// Appends the decimal digits of `v` with no allocation.
    @inline(__always)
    public mutating func decimal(_ v: Int) {
        if v >= 0 && v < 10 {
            bytes.append(UInt8(truncatingIfNeeded: v) + 48)
            return
        }
        var magnitude = v.magnitude
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        var n = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while magnitude > 0 {
                scratch[23 - n] = UInt8(truncatingIfNeeded: magnitude % 10) + 48
                magnitude /= 10
                n += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[(24 - n)...]))
        }
    }
}
