import PatientState
import ProjectionKit

/// `iomt-patient-state`: the patient-state projection worker (`run` or `rebuild`).
@main
enum PatientStateMain {
    static func main() async {
        await ProjectionWorker.main(PatientStateProjection())
    }
}
