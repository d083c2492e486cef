/// Hard limits enforced by every decoder before it allocates (Redis's defaults).
public struct RESPLimits: Sendable, Equatable {
    /// `proto-max-bulk-len`: the largest bulk string accepted (512 MB).
    public var maxBulkLength: Int
    /// The largest multibulk (array) count accepted in a request.
    public var maxMultibulkLength: Int
    /// The longest inline request or header line without a newline (64 KB, `PROTO_INLINE_MAX_SIZE`).
    public var maxInlineLength: Int
    /// Nesting depth for replies (requests are flat).
    public var maxDepth: Int

    public init(
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxMultibulkLength: Int = 1024 * 1024,
        maxInlineLength: Int = 64 * 1024,
        maxDepth: Int = 64
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxMultibulkLength = maxMultibulkLength
        self.maxInlineLength = maxInlineLength
        self.maxDepth = maxDepth
    }

    public static let `default` = RESPLimits()
}

/// Why a byte stream is not valid RESP. `message` is Redis's exact text (without the `ERR ` prefix).
public enum RESPProtocolError: Error, Equatable, Sendable {
    case invalidMultibulkLength
    case invalidBulkLength
    case expectedDollar(UInt8)
    case tooBigInlineRequest
    case tooBigMultibulkCountString
    case tooBigBulkCountString
    case unbalancedQuotes
    case missingCRLF
    case unexpectedByte(UInt8)
    case tooDeep

    public var message: String {
        switch self {
        case .invalidMultibulkLength: return "Protocol error: invalid multibulk length"
        case .invalidBulkLength: return "Protocol error: invalid bulk length"
        case .expectedDollar(let b): return "Protocol error: expected '$', got '\(Character(Unicode.Scalar(b)))'"
        case .tooBigInlineRequest: return "Protocol error: too big inline request"
        case .tooBigMultibulkCountString: return "Protocol error: too big mbulk count string"
        case .tooBigBulkCountString: return "Protocol error: too big bulk count string"
        case .unbalancedQuotes: return "Protocol error: unbalanced quotes in request"
        case .missingCRLF: return "Protocol error: expected CRLF after bulk data"
        case .unexpectedByte(let b): return "Protocol error: unexpected type byte 0x\(String(b, radix: 16))"
        case .tooDeep: return "Protocol error: nesting too deep"
        }
    }
}
