import RESP

/// Reads the commands of one batch payload. The one place replay, `check` and repair parse payloads, so they agree
/// on what a well-formed batch is.
struct PayloadReader {
    /// Payloads are checksummed and bounded by their batch's length, so any bulk size a writer may have used is
    /// accepted (proto-max-bulk-len can be raised at run time).
    static let limits = RESPLimits(maxBulkLength: Int(Int32.max) * 4, maxMultibulkLength: Int(Int32.max))

    private var parser = RequestParser(limits: PayloadReader.limits)

    /// Calls `body` with each command's argument ranges and offset in `payload`. Returns how many commands there
    /// were, and the offset where the bytes stop being whole commands (`nil` when they all are).
    mutating func forEachCommand(
        _ payload: UnsafeRawBufferPointer, _ body: (_ spans: [Range<Int>], _ offset: Int) throws -> Void
    ) rethrows -> (count: Int, unparsedAt: Int?) {
        parser.reset()
        var pos = 0
        var count = 0
        while pos < payload.count {
            switch parser.parse(payload, from: pos) {
            case .command(let end, false):
                count += 1
                try body(parser.spans, pos)
                pos = end
            case .empty(let end):
                pos = end
            default:
                return (count, pos)
            }
        }
        return (count, nil)
    }

    /// The database a `SELECT n` command selects; `nil` for any other command.
    static func selectedDB(_ payload: UnsafeRawBufferPointer, _ spans: [Range<Int>]) -> Int? {
        guard spans.count == 2, spans[0].count == 6 else { return nil }
        let word: [UInt8] = Array("select".utf8)
        for i in 0..<6 where payload[spans[0].lowerBound + i] | 0x20 != word[i] { return nil }
        return RESPScan.parseInt(payload, spans[1].lowerBound, spans[1].upperBound)
    }
}
