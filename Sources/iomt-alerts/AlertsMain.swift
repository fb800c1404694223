import Alerts
import Foundation
import ProjectionKit

/// `iomt-alerts`: the alerts projection worker (`run` or `rebuild`). Rules come
/// from `ALERT_RULES_FILE` when set (see ``AlertRules``), else the defaults.
@main
enum AlertsMain {
    static func main() async {
        let rules: AlertRules
        if let path = ProcessInfo.processInfo.environment["ALERT_RULES_FILE"], !path.isEmpty {
            do {
                rules = try AlertRules(file: URL(fileURLWithPath: path))
            } catch {
                FileHandle.standardError.write(Data("iomt-alerts: ALERT_RULES_FILE: \(error)\n".utf8))
                exit(1)
            }
        } else {
            rules = AlertRules()
        }
        await ProjectionWorker.main(AlertsProjection(rules: rules))
    }
}
