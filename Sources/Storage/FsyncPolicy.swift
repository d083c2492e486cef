/// How `appendfsync` trades durability for speed. See docs/FORMAT.md, "Durability".
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// Acknowledge a write only after the fsync that covers it (group commit).
    case always
    /// fsync once a second in the background.
    case everysec
    /// Leave flushing to the operating system.
    case no
}
