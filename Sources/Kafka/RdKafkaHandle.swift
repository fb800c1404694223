import CRdKafka
import Logging

/// Callbacks shared by producer and consumer handles. An instance is the handle's
/// librdkafka opaque: it is retained for as long as the `rd_kafka_t` lives and
/// released by ``RdKafkaHandle/destroy()``.
class RdKafkaCallbacks: @unchecked Sendable {
    // @unchecked: `logger` is immutable; subclasses document their own state.
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Called on a librdkafka thread for every `error_cb`.
    func handleError(code: rd_kafka_resp_err_t, reason: String) {
        let error = KafkaError(kind: .delivery, rdError: code, detail: reason)
        // Transport errors are routine while a broker restarts; librdkafka retries.
        let level: Logger.Level = code == RD_KAFKA_RESP_ERR__FATAL ? .error : .warning
        logger.log(level: level, "librdkafka error", metadata: ["kafka.error": "\(error.name)", "kafka.reason": "\(reason)"])
    }

    func handleLog(level: Int32, facility: String, message: String) {
        let mapped: Logger.Level
        switch level {
        case ...3: mapped = .error
        case 4: mapped = .warning
        case 5, 6: mapped = .info
        default: mapped = .debug
        }
        logger.log(level: mapped, "\(message)", metadata: ["kafka.facility": "\(facility)"])
    }
}

/// Owns one `rd_kafka_t`. Exactly one owner calls ``destroy()``; after that the
/// handle must not be used.
struct RdKafkaHandle: @unchecked Sendable {
    // @unchecked: librdkafka handles are thread-safe for the calls this module makes
    // from several threads (produce, poll, commit, pause, watermarks).
    let pointer: OpaquePointer
    private let callbacks: Unmanaged<RdKafkaCallbacks>

    /// Creates a client of the given type with the given properties.
    init(
        type: rd_kafka_type_t,
        properties: [(String, String)],
        callbacks: RdKafkaCallbacks,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = try Self.makeConf(properties)
        let retained = Unmanaged.passRetained(callbacks)
        rd_kafka_conf_set_opaque(conf, retained.toOpaque())
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<RdKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.handleError(code: rd_kafka_resp_err_t(err), reason: reason.map { String(cString: $0) } ?? "")
        }
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let callbacks = Unmanaged<RdKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.handleLog(
                level: level,
                facility: facility.map { String(cString: $0) } ?? "",
                message: message.map { String(cString: $0) } ?? ""
            )
        }
        configure(conf)
        var errorText = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            retained.release()
            throw KafkaError(kind: .clientCreation, name: "CLIENT_CREATION", detail: String(cBuffer: errorText))
        }
        self.pointer = rk
        self.callbacks = retained
    }

    /// Destroys the handle and releases its callbacks. Blocks until librdkafka's
    /// threads have stopped: call it from a thread of ours, never the Swift pool.
    func destroy() {
        rd_kafka_destroy(pointer)
        callbacks.release()
    }

    static func makeConf(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            if rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(kind: .configuration, name: "INVALID_CONFIG", detail: "\(name): \(String(cBuffer: errorText))")
            }
        }
        return conf
    }
}

extension String {
    /// Decodes a NUL-terminated C buffer filled by librdkafka.
    init(cBuffer: [CChar]) {
        let bytes = cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
