import Foundation
import Events

/// The shape and pace of a simulated fleet. Times are seconds of the run.
public struct FleetConfiguration: Sendable {
    /// Beds, each with one patient at a time. Default 48.
    public var patients = 48
    /// Facilities the beds are spread over (`fac-1` …). Default 2.
    public var facilities = 2
    /// Seed of every random choice. Default 1.
    public var seed: UInt64 = 1
    /// Events per second in total; vitals fill what scheduled events leave. Default 50.
    public var rate = 50.0
    /// Heartbeat interval every device registers and keeps. Default 30 s.
    public var heartbeatInterval = 30.0
    /// Mean time between deterioration onsets across the fleet. Default 60 s.
    public var episodeEvery = 60.0
    /// Time a deterioration takes to reach its target. Default 20 s.
    public var episodeRamp = 20.0
    /// Time a deterioration holds at its target. Default 120 s.
    public var episodeHold = 120.0
    /// Mean length of stay before discharge; 0 keeps every patient. Default 900 s.
    public var meanStay = 900.0
    /// Mean time between technical device alarms across the fleet. Default 45 s.
    public var alarmEvery = 45.0
    /// Mean time between devices going silent across the fleet; 0 never. Default 300 s.
    public var silentEvery = 300.0
    /// How long a silent device stays silent. Default 240 s (past 3 heartbeat intervals).
    public var silentFor = 240.0
    /// Mean time between reassessments of a patient. Default 240 s.
    public var assessmentEvery = 240.0
    /// Prefix of every patient and device id. Default `sim`.
    public var prefix = "sim"
    /// Devices report vitals in this many staggered groups, one group per tick,
    /// so a device sends once every `phases` ticks and the load is spread
    /// evenly rather than every device posting at the same moment. Default 1.
    public var phases = 1

    /// The defaults.
    public init() {}
}

/// A deterministic hospital fleet: beds with patients who are admitted,
/// assessed, deteriorate and recover, and are discharged; multiparameter
/// monitors, pulse oximeters, wearables, infusion pumps and bed sensors that
/// register, are assigned, report vitals around each patient's baseline with
/// noise, raise alarms, drain their batteries, move (spares, by RTLS) and
/// sometimes go silent.
///
/// The run advances in ticks: ``tick(at:elapsed:)`` returns the events due by
/// `elapsed` seconds into the run, stamped with distinct times from `at`. The same
/// seed and the same sequence of `elapsed` values give the same events; event
/// ids carry a per-instance run id so runs never collide on the de-duplication
/// key. ``report`` keeps what was sent, for checking the projections against it.
public struct FleetSimulator: Sendable {
    /// The configuration.
    public let configuration: FleetConfiguration
    /// What has been sent so far.
    public private(set) var report = SimulationReport()

    var random: SeededRandom
    var slots: [Slot] = []
    var devices: [SimulatedDevice] = []
    var started = false
    var patientSerial = 0
    var sequence = 0
    var scheduled = 0
    var vitalsSent = 0
    var vitalsCursor = 0
    var ticks = 0
    var nextEpisode: Double
    var nextAlarm: Double
    var nextSilence: Double
    var clock = EventTime(microseconds: 0)
    let run: String

    /// A fleet for `configuration`.
    public init(_ configuration: FleetConfiguration) {
        self.configuration = configuration
        var random = SeededRandom(state: configuration.seed)
        run = String(UInt64.random(in: 0...UInt64.max, using: &random) ^ UInt64.random(in: 0...UInt64.max), radix: 36)
        nextEpisode = 3
        nextAlarm = Self.exponential(configuration.alarmEvery, using: &random)
        nextSilence = configuration.silentEvery > 0 ? Self.exponential(configuration.silentEvery, using: &random) : .infinity
        self.random = random
        buildFleet()
    }

    /// Facility ids of the fleet.
    public var facilities: [String] { (1...max(1, configuration.facilities)).map { "fac-\($0)" } }

    /// Ids of every device of the fleet.
    public var deviceIDs: [String] { devices.map(\.id) }

    /// Source of care events (the simulated electronic health record).
    public static let careSource = "urn:iomt:simulator:ehr"

    // MARK: - Building

    static func exponential(_ mean: Double, using random: inout SeededRandom) -> Double {
        guard mean > 0 else { return .infinity }
        return -mean * log(1 - Double.random(in: 0..<1, using: &random))
    }

    static func kit(_ slot: Int) -> [SimulatedDeviceKind] {
        switch slot % 5 {
        case 0: [.monitor, .bedSensor]
        case 1: [.monitor, .infusionPump]
        case 2: [.monitor]
        case 3: [.wearable, .pulseOximeter]
        default: [.monitor, .bedSensor, .infusionPump]
        }
    }

    mutating func buildFleet() {
        let facilities = facilities
        for index in 0..<max(1, configuration.patients) {
            let facility = facilities[index % facilities.count]
            let unit = "ward-" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8((index / facilities.count) % 4)))
            // Every tenth bed, a monitored patient on SpO2 scale 2 (hypercapnic respiratory failure).
            let scale2 = index % 10 == 7
            var slot = Slot(facility: facility, unit: unit, bed: String(index + 1), scale2: scale2,
                            baseline: Physiology.baseline(scale2: scale2, using: &random))
            for kind in Self.kit(index) {
                slot.devices.append(devices.count)
                devices.append(makeDevice(kind, facility: facility, slot: index))
            }
            slots.append(slot)
        }
        let spares: [SimulatedDeviceKind] = [.monitor, .infusionPump, .pulseOximeter]
        for index in 0..<max(2, configuration.patients / 8) {
            var device = makeDevice(spares[index % spares.count], facility: facilities[index % facilities.count], slot: nil)
            device.nextMove = Double.random(in: 5...60, using: &random)
            devices.append(device)
        }
        report.devices = devices.count
    }

    mutating func makeDevice(_ kind: SimulatedDeviceKind, facility: String, slot: Int?) -> SimulatedDevice {
        var battery: Double?
        var drain = 0.0
        if kind.battery {
            // One battery device in five starts near the low-battery threshold and drains fast.
            if Int.random(in: 0..<5, using: &random) == 0 {
                battery = Double.random(in: 21...26, using: &random).rounded()
                drain = 1.0 / 60
            } else {
                battery = Double.random(in: 60...100, using: &random).rounded()
                drain = Double.random(in: 0.002...0.01, using: &random)
            }
        }
        let number = String(devices.count).leftPadded(to: 4)
        return SimulatedDevice(
            id: "\(configuration.prefix)-\(kind.idPart)-\(number)", kind: kind, facility: facility, slot: slot,
            battery: battery, drain: drain,
            nextHeartbeat: Double.random(in: 0..<configuration.heartbeatInterval, using: &random)
        )
    }

    // MARK: - Ticks

    /// The events due by `elapsed` seconds into the run, stamped from `time`
    /// (each event a microsecond after the previous one, never earlier than the
    /// last event of the previous tick).
    public mutating func tick(at time: EventTime, elapsed: Double) -> [Event] {
        clock = max(time, clock.adding(.microseconds(1)))
        ticks += 1
        var out: [Event] = []
        if !started {
            started = true
            setUp(at: elapsed, into: &out)
        }
        let before = out.count
        for index in slots.indices { advance(slot: index, at: elapsed, into: &out) }
        startEpisodes(at: elapsed, into: &out)
        raiseAlarms(at: elapsed, into: &out)
        silenceDevices(at: elapsed)
        for index in devices.indices { maintain(device: index, at: elapsed, into: &out) }
        scheduled += out.count - before
        sendVitals(at: elapsed, into: &out)
        return out
    }

    /// An `iomt.alert.acknowledged.v1` event from the simulated clinicians.
    public mutating func acknowledgement(alertId: String, by person: String, at time: EventTime) -> Event {
        clock = max(time, clock.adding(.microseconds(1)))
        report.acknowledgements.append(.init(alertId: alertId, by: person))
        return makeEvent(.alertAcknowledged(AlertAcknowledged(alertId: alertId, by: person)))
    }

    mutating func makeEvent(_ payload: EventPayload) -> Event {
        sequence += 1
        let time = clock
        clock = clock.adding(.microseconds(1))
        report.eventsByType[payload.type.rawValue, default: 0] += 1
        let source = payload.type.isDeviceEvent ? "urn:iomt:device:\(payload.partitionKey)" : Self.careSource
        return Event(id: "\(run)-\(sequence)", source: source, time: time, payload: payload)
    }

    mutating func setUp(at elapsed: Double, into out: inout [Event]) {
        for index in devices.indices {
            let device = devices[index]
            let (manufacturer, model, grade) = device.kind.model
            out.append(makeEvent(.deviceRegistered(DeviceRegistered(
                deviceId: device.id, kind: device.kind.rawValue, model: model, manufacturer: manufacturer,
                serialNumber: "SN-\(configuration.seed % 100_000)-\(100_000 + index)", firmware: "2.4.\(index % 3)",
                facilityId: device.facility, grade: grade, heartbeatIntervalSeconds: Int(configuration.heartbeatInterval)
            ))))
            if device.slot == nil {
                out.append(makeEvent(.deviceStatus(DeviceStatusChanged(deviceId: device.id, status: .available))))
                out.append(makeEvent(.deviceLocation(DeviceLocation(deviceId: device.id, facilityId: device.facility, zone: "equipment-store"))))
            }
            out.append(makeEvent(.deviceHeartbeat(DeviceHeartbeat(deviceId: device.id, batteryPercent: device.battery, signalDbm: signal(device)))))
        }
        for index in slots.indices { admit(slot: index, at: elapsed, into: &out) }
    }

    mutating func signal(_ device: SimulatedDevice) -> Double? {
        device.kind == .wearable || device.kind == .pulseOximeter ? Double(Int.random(in: -80 ... -45, using: &random)) : nil
    }

    mutating func admit(slot index: Int, at elapsed: Double, into out: inout [Event]) {
        patientSerial += 1
        let patient = "\(configuration.prefix)-pat-\(String(patientSerial).leftPadded(to: 5))"
        var slot = slots[index]
        slot.patient = patient
        slot.readmitAt = nil
        slot.baseline = Physiology.baseline(scale2: slot.scale2, using: &random)
        slot.dischargeAt = configuration.meanStay > 0 ? elapsed + max(configuration.meanStay / 4, Self.exponential(configuration.meanStay, using: &random)) : nil
        slot.nextAssessment = elapsed + Self.exponential(configuration.assessmentEvery, using: &random)
        slot.report = report.patients.count
        let scale = slot.scale2 ? 2 : 1
        report.patients.append(.init(
            patientId: patient, facilityId: slot.facility, unit: slot.unit, status: "admitted", latest: [:],
            consciousness: "A", supplementalOxygen: false, spo2Scale: scale, devices: []
        ))
        slots[index] = slot
        out.append(makeEvent(.patientAdmitted(PatientAdmission(patientId: patient, facilityId: slot.facility, unit: slot.unit, bed: slot.bed))))
        out.append(makeEvent(.patientAssessed(PatientAssessed(patientId: patient, consciousness: .alert, supplementalOxygen: false, spo2Scale: scale))))
        for deviceIndex in slot.devices {
            devices[deviceIndex].patient = patient
            let id = devices[deviceIndex].id
            out.append(makeEvent(.deviceLocation(DeviceLocation(deviceId: id, facilityId: slot.facility, unit: slot.unit, room: "room-\(slot.bed)", bed: slot.bed))))
            out.append(makeEvent(.deviceAssigned(DeviceAssignment(deviceId: id, patientId: patient))))
            out.append(makeEvent(.deviceStatus(DeviceStatusChanged(deviceId: id, status: .inUse))))
            report.patients[slot.report!].devices.append(id)
        }
    }

    mutating func discharge(slot index: Int, at elapsed: Double, into out: inout [Event]) {
        guard let patient = slots[index].patient, let reportIndex = slots[index].report else { return }
        for deviceIndex in slots[index].devices {
            let id = devices[deviceIndex].id
            out.append(makeEvent(.deviceUnassigned(DeviceAssignment(deviceId: id, patientId: patient))))
            out.append(makeEvent(.deviceStatus(DeviceStatusChanged(deviceId: id, status: .available, reason: "patient discharged"))))
            devices[deviceIndex].patient = nil
        }
        out.append(makeEvent(.patientDischarged(PatientDischarged(patientId: patient))))
        report.patients[reportIndex].status = "discharged"
        report.patients[reportIndex].devices = []
        slots[index].patient = nil
        slots[index].report = nil
        slots[index].dischargeAt = nil
        // The bed is cleaned and taken by the next patient.
        slots[index].readmitAt = elapsed + 10
    }

    mutating func assess(slot index: Int, oxygen: Bool, into out: inout [Event]) {
        guard let patient = slots[index].patient, let reportIndex = slots[index].report else { return }
        out.append(makeEvent(.patientAssessed(PatientAssessed(patientId: patient, consciousness: .alert, supplementalOxygen: oxygen))))
        report.patients[reportIndex].consciousness = "A"
        report.patients[reportIndex].supplementalOxygen = oxygen
    }

    /// Admissions, discharges, reassessments and the course of an episode.
    mutating func advance(slot index: Int, at elapsed: Double, into out: inout [Event]) {
        if slots[index].patient == nil {
            if let readmit = slots[index].readmitAt, elapsed >= readmit { admit(slot: index, at: elapsed, into: &out) }
            return
        }
        if var episode = slots[index].episode {
            let t = elapsed - episode.start
            if episode.level == .high, !episode.oxygenGiven, t >= episode.ramp {
                // The team responds to the high score: oxygen on, and the monitor alarms.
                episode.oxygenGiven = true
                assess(slot: index, oxygen: true, into: &out)
                if let monitor = slots[index].devices.first(where: { devices[$0].kind == .monitor }) {
                    out.append(makeEvent(.deviceAlarm(DeviceAlarm(
                        deviceId: devices[monitor].id, patientId: slots[index].patient, code: "SPO2-LOW", priority: .high, message: "SpO2 below the alarm limit"
                    ))))
                }
            }
            if episode.fraction(at: elapsed) == nil {
                report.episodes[episode.report].endedAt = clock.rfc3339
                slots[index].episode = nil
                if episode.oxygenGiven { assess(slot: index, oxygen: false, into: &out) }
            } else {
                slots[index].episode = episode
            }
            return
        }
        if let dischargeAt = slots[index].dischargeAt, elapsed >= dischargeAt {
            discharge(slot: index, at: elapsed, into: &out)
            return
        }
        if elapsed >= slots[index].nextAssessment {
            slots[index].nextAssessment = elapsed + Self.exponential(configuration.assessmentEvery, using: &random)
            assess(slot: index, oxygen: false, into: &out)
        }
    }

    /// Starts a deterioration in a monitored patient on scale 1 (their NEWS2 is
    /// complete), alternating medium and high.
    mutating func startEpisodes(at elapsed: Double, into out: inout [Event]) {
        guard configuration.episodeEvery > 0, elapsed >= nextEpisode else { return }
        nextEpisode = elapsed + Self.exponential(configuration.episodeEvery, using: &random)
        let length = configuration.episodeRamp * 2 + configuration.episodeHold
        let candidates = slots.indices.filter { index in
            let slot = slots[index]
            return slot.patient != nil && slot.episode == nil && !slot.scale2
                && slot.devices.contains { devices[$0].kind == .monitor && !devices[$0].isSilent(at: elapsed) }
                && (slot.dischargeAt ?? .infinity) > elapsed + length
        }
        guard let index = candidates.randomElement(using: &random), let patient = slots[index].patient else { return }
        let level: DeteriorationLevel = report.episodes.count % 2 == 0 ? .medium : .high
        slots[index].episode = Episode(
            level: level, start: elapsed, ramp: configuration.episodeRamp, hold: configuration.episodeHold,
            recovery: configuration.episodeRamp, report: report.episodes.count
        )
        report.episodes.append(.init(patientId: patient, level: level, startedAt: clock.rfc3339))
    }

    mutating func raiseAlarms(at elapsed: Double, into out: inout [Event]) {
        guard elapsed >= nextAlarm else { return }
        nextAlarm = elapsed + Self.exponential(configuration.alarmEvery, using: &random)
        let candidates = devices.indices.filter { devices[$0].patient != nil && !devices[$0].isSilent(at: elapsed) }
        guard let index = candidates.randomElement(using: &random) else { return }
        let alarm = devices[index].kind.technicalAlarm
        out.append(makeEvent(.deviceAlarm(DeviceAlarm(
            deviceId: devices[index].id, patientId: devices[index].patient, code: alarm.code, priority: alarm.priority, message: alarm.message
        ))))
    }

    /// Now and then a device stops sending anything for a while (flat battery,
    /// out of Wi-Fi range); monitors of deteriorating patients stay on.
    mutating func silenceDevices(at elapsed: Double) {
        guard elapsed >= nextSilence else { return }
        nextSilence = elapsed + Self.exponential(configuration.silentEvery, using: &random)
        let candidates = devices.indices.filter { index in
            let device = devices[index]
            guard !device.isSilent(at: elapsed) else { return false }
            guard let slot = device.slot else { return true }
            return slots[slot].episode == nil
        }
        guard let index = candidates.randomElement(using: &random) else { return }
        devices[index].silentUntil = elapsed + configuration.silentFor
    }

    /// Heartbeats with battery and signal, recharges, RTLS moves of spares.
    mutating func maintain(device index: Int, at elapsed: Double, into out: inout [Event]) {
        if let until = devices[index].silentUntil {
            if elapsed < until { return }
            devices[index].silentUntil = nil
            devices[index].nextHeartbeat = elapsed
        }
        if elapsed >= devices[index].nextHeartbeat {
            let interval = configuration.heartbeatInterval
            devices[index].nextHeartbeat = max(devices[index].nextHeartbeat + interval, elapsed)
            if let battery = devices[index].battery {
                let drained = battery - devices[index].drain * interval
                // A flat device is swapped for a charged one.
                devices[index].battery = drained < 6 ? 100 : (drained * 10).rounded() / 10
            }
            let device = devices[index]
            out.append(makeEvent(.deviceHeartbeat(DeviceHeartbeat(deviceId: device.id, batteryPercent: device.battery, signalDbm: signal(device)))))
        }
        if let move = devices[index].nextMove, elapsed >= move {
            devices[index].nextMove = elapsed + Double.random(in: 45...120, using: &random)
            let unit = "ward-" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(Int.random(in: 0..<4, using: &random))))
            let zone = ["corridor", "equipment-store", "nurse-station", "room"].randomElement(using: &random)!
            let device = devices[index]
            out.append(makeEvent(.deviceLocation(DeviceLocation(
                deviceId: device.id, facilityId: device.facility, unit: unit, room: zone == "room" ? "room-\(Int.random(in: 1...40, using: &random))" : nil, zone: zone
            ))))
        }
    }

    /// Vitals from the assigned, reporting devices in turn, up to the rate.
    mutating func sendVitals(at elapsed: Double, into out: inout [Event]) {
        let due = Int(configuration.rate * elapsed) - scheduled - vitalsSent
        guard due > 0 else { return }
        let phases = max(1, configuration.phases)
        let reporting = devices.indices.filter { index in
            let device = devices[index]
            return index % phases == ticks % phases && device.patient != nil && !device.kind.measures.isEmpty && !device.isSilent(at: elapsed)
        }
        guard !reporting.isEmpty else { return }
        for _ in 0..<due {
            vitalsCursor = (vitalsCursor + 1) % reporting.count
            out.append(vitals(device: reporting[vitalsCursor], at: elapsed))
        }
        vitalsSent += due
    }

    mutating func vitals(device index: Int, at elapsed: Double) -> Event {
        let device = devices[index]
        let slotIndex = device.slot!
        let slot = slots[slotIndex]
        var physiology = slot.baseline
        var reached = false
        if let episode = slot.episode, let fraction = episode.fraction(at: elapsed) {
            physiology = slot.baseline.blended(towards: Physiology.target(episode.level, from: slot.baseline), fraction: fraction)
            reached = fraction == 1 && device.kind == .monitor && report.episodes[episode.report].reachedAt == nil
        }
        var observations: [Observation] = []
        for sign in device.kind.measures {
            var value = physiology[sign] + Double.random(in: -sign.noise...sign.noise, using: &random)
            value = sign == .spo2 ? min(100, value) : value
            // Wearables report temperature in °F, to one decimal like everything else.
            let fahrenheit = sign == .temperature && device.kind == .wearable
            if fahrenheit { value = value * 9 / 5 + 32 }
            let scale = sign.decimals == 1 ? 10.0 : 1.0
            observations.append(Observation(code: sign.code, value: (value * scale).rounded() / scale, unit: fahrenheit ? "[degF]" : sign.unit))
        }
        let event = makeEvent(.vitalsObserved(VitalsObserved(
            deviceId: device.id, patientId: device.kind == .monitor ? device.patient : nil, observations: observations
        )))
        let time = event.time.rfc3339
        if let reportIndex = slot.report {
            for observation in observations {
                report.patients[reportIndex].latest[observation.code] = .init(value: observation.value, unit: observation.unit, time: time)
            }
        }
        if reached, let episode = slot.episode { report.episodes[episode.report].reachedAt = time }
        return event
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
