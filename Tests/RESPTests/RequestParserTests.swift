import Testing

@testable import RESP

/// Feeds `input` to the parser the way a socket would, `chunk` bytes at a time, keeping unconsumed bytes, and
/// returns every parsed request (as argument lists) plus the error, if any.
func dripFeed(_ input: [UInt8], chunk: Int, limits: RESPLimits = .default) -> (commands: [[[UInt8]]], error: RESPProtocolError?) {
    var parser = RequestParser(limits: limits)
    var buffer: [UInt8] = []
    var commands: [[[UInt8]]] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunk)
        buffer.append(contentsOf: input[offset..<end])
        offset = end
        var consumed = 0
        var failure: RESPProtocolError? = nil
        buffer.withUnsafeBytes { b in
            loop: while consumed < b.count {
                switch parser.parse(b, from: consumed) {
                case .incomplete: break loop
                case .empty(let e): consumed = e
                case .command(let e, let inline):
                    let source = inline ? parser.inlineStorage : Array(b)
                    commands.append(parser.spans.map { Array(source[$0]) })
                    consumed = e
                case .error(let err):
                    failure = err
                    break loop
                }
            }
        }
        if let failure { return (commands, failure) }
        buffer.removeFirst(consumed)
    }
    return (commands, nil)
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func args(_ a: String...) -> [[UInt8]] { a.map(bytes) }

struct RequestParserTests {
    static let chunkSizes = [1, 2, 3, 7, 64, Int.max]

    struct Case: CustomTestStringConvertible, Sendable {
        let input: String
        let expected: [[String]]
        var testDescription: String { input.debugDescription }
    }

    static let validCases: [Case] = [
        Case(input: "*1\r\n$4\r\nPING\r\n", expected: [["PING"]]),
        Case(input: "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", expected: [["SET", "key", "value"]]),
        Case(input: "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", expected: [["GET", ""]]),
        Case(input: "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", expected: [["ECHO", "a\r\nb"]]),
        Case(input: "PING\r\n", expected: [["PING"]]),
        Case(input: "PING\n", expected: [["PING"]]),
        Case(input: "SET a \"hello world\"\r\n", expected: [["SET", "a", "hello world"]]),
        Case(input: "SET a 'it\\'s'\r\n", expected: [["SET", "a", "it's"]]),
        Case(input: "SET a \"\\x41\\n\"\r\n", expected: [["SET", "a", "A\n"]]),
        Case(input: "   GET    k   \r\n", expected: [["GET", "k"]]),
        Case(input: "\r\n*0\r\n*-1\r\nPING\r\n", expected: [["PING"]]),
        Case(
            input: "*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            expected: [["PING"], ["PING"], ["GET", "k"]]),
    ]

    @Test(arguments: validCases, chunkSizes)
    func parsesInEveryChunkSize(_ c: Case, chunk: Int) {
        let result = dripFeed(bytes(c.input), chunk: chunk)
        #expect(result.error == nil)
        #expect(result.commands == c.expected.map { $0.map(bytes) })
    }

    struct ErrorCase: CustomTestStringConvertible, Sendable {
        let input: String
        let message: String
        var testDescription: String { input.debugDescription }
    }

    // Texts checked against redis-server 7.0.15.
    static let errorCases: [ErrorCase] = [
        ErrorCase(input: "*2000000\r\n", message: "Protocol error: invalid multibulk length"),
        ErrorCase(input: "*abc\r\n", message: "Protocol error: invalid multibulk length"),
        ErrorCase(input: "*1\r\n$-5\r\n", message: "Protocol error: invalid bulk length"),
        ErrorCase(input: "*1\r\n$600000000\r\n", message: "Protocol error: invalid bulk length"),
        ErrorCase(input: "*1\r\nfoo\r\n", message: "Protocol error: expected '$', got 'f'"),
        ErrorCase(input: "SET a \"unterminated\r\n", message: "Protocol error: unbalanced quotes in request"),
        ErrorCase(input: "SET a \"x\"y\r\n", message: "Protocol error: unbalanced quotes in request"),
    ]

    @Test(arguments: errorCases, chunkSizes)
    func rejectsMalformedInput(_ c: ErrorCase, chunk: Int) {
        let result = dripFeed(bytes(c.input), chunk: chunk)
        #expect(result.error?.message == c.message)
    }

    @Test func rejectsOversizedInlineWithoutNewline() {
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 70 * 1024)
        #expect(dripFeed(huge, chunk: 4096).error == .tooBigInlineRequest)
        let mbulk = bytes("*") + [UInt8](repeating: UInt8(ascii: "1"), count: 70 * 1024)
        #expect(dripFeed(mbulk, chunk: 4096).error == .tooBigMultibulkCountString)
    }

    @Test func rejectsMissingCRLFAfterBulk() {
        #expect(dripFeed(bytes("*1\r\n$4\r\nPINGxx"), chunk: 64).error == .missingCRLF)
    }

    @Test func honoursConfiguredBulkLimit() {
        let limits = RESPLimits(maxBulkLength: 10)
        #expect(dripFeed(bytes("*1\r\n$11\r\n"), chunk: 64, limits: limits).error == .invalidBulkLength)
        #expect(dripFeed(bytes("*1\r\n$10\r\n0123456789\r\n"), chunk: 64, limits: limits).commands == [args("0123456789")])
    }

    /// A huge request arriving in small reads resumes where the last read stopped (a rescan per read would cost
    /// quadratic time on the event loop: 100,000 arguments in 1 KB reads is ~700 reads of up to 700 KB each).
    @Test func largeRequestResumesAcrossReads() {
        var request = Array("*100000\r\n".utf8)
        for i in 0..<100_000 { request += Array("$\(String(i).count)\r\n\(i)\r\n".utf8) }
        request += Array("*1\r\n$4\r\nPING\r\n".utf8)
        let result = dripFeed(request, chunk: 1024)
        #expect(result.error == nil)
        #expect(result.commands.count == 2)
        #expect(result.commands.first?.count == 100_000)
        #expect(result.commands.first?.last == bytes("99999"))
        #expect(result.commands.last == args("PING"))
    }

    @Test func resumedRequestMayMoveInTheBuffer() {
        var parser = RequestParser()
        let first = bytes("GARBAGE*2\r\n$3\r\nGET\r\n$5\r\nhel")
        first.withUnsafeBytes { #expect(parser.parse($0, from: 7) == .incomplete) }
        let second = bytes("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n")
        second.withUnsafeBytes { b in
            #expect(parser.parse(b, from: 0) == .command(end: b.count, inline: false))
            #expect(parser.spans.map { Array(b[$0]) } == args("GET", "hello"))
        }
    }

    @Test func incompleteBulkDoesNotConsume() {
        var parser = RequestParser()
        let input = bytes("*2\r\n$3\r\nGET\r\n$5\r\nab")
        input.withUnsafeBytes { #expect(parser.parse($0, from: 0) == .incomplete) }
    }

    @Test func strictIntegers() {
        func parse(_ s: String) -> Int? { bytes(s).withUnsafeBytes { RESPScan.parseInt($0, 0, $0.count) } }
        #expect(parse("0") == 0)
        #expect(parse("-1") == -1)
        #expect(parse("9223372036854775807") == Int.max)
        #expect(parse("-9223372036854775808") == Int.min)
        #expect(parse("9223372036854775808") == nil)
        #expect(parse("01") == nil)
        #expect(parse("+1") == nil)
        #expect(parse(" 1") == nil)
        #expect(parse("-0") == nil)
        #expect(parse("") == nil)
    }
}
