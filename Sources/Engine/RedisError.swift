/// Every error a command can reply with, mapped to Redis's exact text in one place.
public enum RedisError: Error, Equatable {
    case wrongType
    case syntax
    case notInteger
    case notFloat
    case overflow
    case incrFloatNaNOrInfinity
    case noSuchKey
    case wrongArity(String)
    case unknownCommand(String, args: String)
    case unknownSubcommand(String, command: String)
    case invalidExpireTime(String)
    case dbIndexOutOfRange
    case sameObject
    case noAuth
    case wrongPass
    case authNotConfigured
    case offsetOutOfRange
    case stringTooLong
    case gtLtNx
    case noProto
    case misconf(String)
    /// A message that already carries its code, e.g. `ERR value is out of range, must be positive`.
    case message(String)

    /// The reply text, code included, without the leading `-`.
    public var reply: String {
        switch self {
        case .wrongType: return "WRONGTYPE Operation against a key holding the wrong kind of value"
        case .syntax: return "ERR syntax error"
        case .notInteger: return "ERR value is not an integer or out of range"
        case .notFloat: return "ERR value is not a valid float"
        case .overflow: return "ERR increment or decrement would overflow"
        case .incrFloatNaNOrInfinity: return "ERR increment would produce NaN or Infinity"
        case .noSuchKey: return "ERR no such key"
        case .wrongArity(let name): return "ERR wrong number of arguments for '\(name)' command"
        case .unknownCommand(let name, let args):
            return "ERR unknown command '\(name)', with args beginning with: \(args)"
        case .unknownSubcommand(let sub, let command):
            return "ERR unknown subcommand '\(sub)'. Try \(command) HELP."
        case .invalidExpireTime(let name): return "ERR invalid expire time in '\(name)' command"
        case .dbIndexOutOfRange: return "ERR DB index is out of range"
        case .sameObject: return "ERR source and destination objects are the same"
        case .noAuth: return "NOAUTH Authentication required."
        case .wrongPass: return "WRONGPASS invalid username-password pair or user is disabled."
        case .authNotConfigured:
            return "ERR AUTH <password> called without any password configured for the default user. "
                + "Are you sure your configuration is correct?"
        case .offsetOutOfRange: return "ERR offset is out of range"
        case .stringTooLong: return "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        case .gtLtNx: return "ERR NX and XX, GT or LT options at the same time are not compatible"
        case .noProto: return "NOPROTO unsupported protocol version"
        case .misconf(let reason): return "MISCONF Errors writing to the AOF file: \(reason)"
        case .message(let m): return m
        }
    }
}

extension RedisError: CustomStringConvertible {
    public var description: String { reply }
}
