import CGodisCRC

/// Constants of the Godis log format. The format is specified in docs/FORMAT.md; change both together.
public enum LogFormat {
    /// Major version this build writes and reads. A newer major version is refused.
    public static let majorVersion = 1
    /// First token of every segment's header line.
    public static let segmentMagic = "#GODIS-AOF"
    /// First token of the manifest's first line.
    public static let manifestMagic = "#GODIS-MANIFEST"
    /// First token of every batch annotation.
    public static let batchTag = "#B"
    /// Longest annotation or header line accepted, CRLF included.
    public static let maxAnnotationLength = 255

    public static func baseName(prefix: String, number: Int) -> String { "\(prefix).\(number).base.aof" }
    public static func incrName(prefix: String, number: Int) -> String { "\(prefix).\(number).incr.aof" }
    public static func manifestName(prefix: String) -> String { "\(prefix).manifest" }
    /// The empty file whose presence says that zeros written ahead of the appends may follow the last batch of
    /// the segment at `segmentPath` (docs/FORMAT.md, "Zeros written ahead").
    public static func reservedMarker(segmentPath: String) -> String { segmentPath + ".reserved" }

    /// True when what follows the last batch (`bytes` from `validLength` on) is zeros written ahead of the appends:
    /// the segment has its marker and nothing but zeros is there. Recovery and repair both decide with this.
    public static func isZerosWrittenAhead(
        _ bytes: UnsafeRawBufferPointer, after validLength: Int, segmentPath: String, fileSystem: FileSystem
    ) -> Bool {
        validLength < bytes.count && fileSystem.fileExists(reservedMarker(segmentPath: segmentPath))
            && bytes[validLength...].allSatisfy { $0 == 0 }
    }
}

/// CRC32C (Castagnoli), hardware-accelerated where the CPU allows.
public enum CRC32C {
    @inline(__always)
    public static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return godis_crc32c_extend(crc, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { extend(0, $0) }
    }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { extend(0, $0) }
    }

    /// The table-driven path, whatever the CPU.
    public static func portable(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { godis_crc32c_extend_portable(0, $0.baseAddress, $0.count) }
    }

    public static var isHardwareAccelerated: Bool { godis_crc32c_hardware() != 0 }

    /// 8 lower-case hex digits, as the format writes checksums.
    public static func hex(_ crc: UInt32) -> String {
        let s = String(crc, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
