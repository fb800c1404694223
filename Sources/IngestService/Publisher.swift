import Events
import ServiceSupport

/// Who is publishing a request, and what they may publish.
public enum Publisher: Sendable, Equatable {
    /// A device, by its token: device event types about itself only.
    case device(id: String)
    /// A system or person with a verified JWT.
    case system(AccessIdentity)

    /// Why `event` may not be published by this publisher, or nil when it may.
    func refusal(for event: Event) -> String? {
        if event.type == .alertChanged {
            return "\(EventType.alertChanged.rawValue) is produced by the alerts worker, not through ingest"
        }
        switch self {
        case .device(let id):
            guard event.type.isDeviceEvent else {
                return "a device token may publish device events only, not \(event.type.rawValue)"
            }
            guard event.payload.deviceId == id else {
                return "a device token may publish events of its own device only"
            }
            return nil
        case .system(let identity):
            if identity.has(.admin) { return nil }
            guard identity.roles.contains(.clinicalSystem) else {
                return "the token has no role allowed to publish (clinical-system)"
            }
            guard event.type.isCareEvent else {
                return "a clinical system may publish care events only, not \(event.type.rawValue)"
            }
            return nil
        }
    }
}
