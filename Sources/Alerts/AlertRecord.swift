import Crypto
import Events
import Foundation

/// One alert: the snapshot published on `iomt.alerts.v1` after every change, and
/// the subject it is about.
public struct AlertRecord: Sendable, Equatable {
    /// The snapshot (``AlertChanged``).
    public var snapshot: AlertChanged
    /// The subject (`patient:<id>` or `device:<id>`).
    public var subjectKey: String

    /// Creates a record.
    public init(snapshot: AlertChanged, subjectKey: String) {
        self.snapshot = snapshot
        self.subjectKey = subjectKey
    }

    /// The alert id.
    public var id: String { snapshot.alertId }
    /// True until resolved.
    public var isActive: Bool { snapshot.status != .resolved }

    /// A deterministic id: the same rule, subject, opening time and count of
    /// earlier alerts give the same id, so a rebuild reproduces the ids people
    /// acknowledged.
    public static func id(rule: AlertRule, subjectKey: String, openedAt: EventTime, sequence: Int) -> String {
        let digest = SHA256.hash(data: Data("\(rule.rawValue)|\(subjectKey)|\(openedAt.microseconds)|\(sequence)".utf8))
        var text = Array("alrt-".utf8)
        text.reserveCapacity(29)
        for byte in digest.prefix(12) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
