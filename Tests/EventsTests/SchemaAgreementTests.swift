import Events
import Foundation
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct ExampleVerdict: Decodable {
    let file: String
    let valid: Bool
    let error: String?
}

/// Runs `schemas/check.py` (a real JSON Schema 2020-12 validator) and returns its
/// verdict per example file.
func jsonSchemaVerdicts() throws -> [String: ExampleVerdict] {
    let python = ProcessInfo.processInfo.environment["IOMT_PYTHON"] ?? "/usr/bin/python3"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [repositoryRoot.appendingPathComponent("schemas/check.py").path]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
    var verdicts: [String: ExampleVerdict] = [:]
    for line in lines {
        let verdict = try JSONDecoder().decode(ExampleVerdict.self, from: Data(line.utf8))
        verdicts[verdict.file] = verdict
    }
    return verdicts
}

func exampleFiles() throws -> [String] {
    let folder = repositoryRoot.appendingPathComponent("schemas/examples")
    let types = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    return try types.flatMap { type in
        try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(type).path)
            .filter { $0.hasSuffix(".json") }
            .map { "examples/\(type)/\($0)" }
    }.sorted()
}

/// The Swift validator's verdict on one example file.
func swiftVerdict(_ file: String) throws -> Result<Event, any Error> {
    let bytes = try [UInt8](Data(contentsOf: repositoryRoot.appendingPathComponent("schemas").appendingPathComponent(file)))
    let document = JSONDocument()
    return Result { try document.parse(bytes) { root in try EventEnvelope.decode(root) } }
}

@Suite("The Swift validator agrees with the JSON Schemas")
struct SchemaAgreementTests {
    @Test("every example gets the same verdict from the Swift validator and a JSON Schema 2020-12 validator")
    func verdictsAgree() throws {
        let verdicts = try jsonSchemaVerdicts()
        let files = try exampleFiles()
        #expect(files.count >= 14 * 5, "examples for every type")
        #expect(Set(verdicts.keys) == Set(files), "check.py judged every example")
        for file in files {
            let expectedValid = file.split(separator: "/").last!.hasPrefix("valid-")
            let schema = try #require(verdicts[file])
            let swift = try swiftVerdict(file)
            // Each folder's schema is the schema of one type.
            let folderType = file.split(separator: "/")[1]
            let swiftValid = (try? swift.get())?.type.rawValue == String(folderType)
            #expect(schema.valid == expectedValid, "JSON Schema on \(file): \(schema.error ?? "valid")")
            #expect(swiftValid == expectedValid, "Swift on \(file): \(swift)")
        }
    }

    @Test("every valid example survives binary content mode unchanged")
    func binaryRoundTrip() throws {
        let decoder = EventRecordDecoder()
        for file in try exampleFiles() where file.split(separator: "/").last!.hasPrefix("valid-") {
            let event = try swiftVerdict(file).get()
            let headers = EventRecord.headers(for: event, as: TestHeader.self)
            let decoded = try decoder.decode(headers: headers, value: EventRecord.value(for: event))
            #expect(decoded == event, "\(file)")
            #expect(headers.first { $0.name == "ce_type" }?.value == Array(event.type.rawValue.utf8))
        }
    }

    @Test("each event type has a schema, valid and invalid examples")
    func coverage() throws {
        let files = try exampleFiles()
        for type in EventType.allCases {
            #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("schemas/events/\(type.rawValue).schema.json").path))
            #expect(files.contains { $0.hasPrefix("examples/\(type.rawValue)/valid-") })
            #expect(files.filter { $0.hasPrefix("examples/\(type.rawValue)/invalid-") }.count >= 3)
        }
    }
}

struct TestHeader: EventRecordHeader, Equatable {
    var name: String
    var value: [UInt8]?
}
