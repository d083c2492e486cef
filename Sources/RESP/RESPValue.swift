/// A RESP2 or RESP3 value as it travels on the wire.
///
/// This is the wire type only: the keyspace never stores `RESPValue`s (see STYLE.md, "wire type is not stored type").
/// Bulk payloads are bytes, not `String`s, because Redis strings are binary-safe.
public enum RESPValue: Hashable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// A bulk string; `nil` is RESP2's null bulk string (`$-1`).
    case bulkString([UInt8]?)
    /// An array; `nil` is RESP2's null array (`*-1`).
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `,`.
    case double(Double)
    /// RESP3 `#`.
    case boolean(Bool)
    /// RESP3 `(`, kept as its decimal text.
    case bigNumber(String)
    /// RESP3 `!`.
    case blobError(String)
    /// RESP3 `=`: a three-letter format (`txt`, `mkd`) and the text.
    case verbatim(format: String, text: [UInt8])
    /// RESP3 `%`, in wire order.
    case map([RESPPair])
    /// RESP3 `~`.
    case set([RESPValue])
    /// RESP3 `>`.
    case push([RESPValue])

    /// A bulk string from UTF-8 text.
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
}

/// One key/value entry of a RESP3 map.
public struct RESPPair: Hashable, Sendable {
    public var key: RESPValue
    public var value: RESPValue
    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The payload as text, for bulk, simple and verbatim strings; `nil` otherwise.
    public var text: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b?): return String(decoding: b, as: UTF8.self)
        case .verbatim(_, let t): return String(decoding: t, as: UTF8.self)
        default: return nil
        }
    }
}
