import Testing
@testable import ServiceSupport

@Suite("DATABASE_URL parsing")
struct DatabaseSettingsTests {
    @Test("a full URL is split into its parts")
    func parsesAllParts() throws {
        let settings = try DatabaseSettings(url: "postgres://iomt:s%40cret@db.example:6543/iomt?sslmode=verify-full&sslrootcert=/ca.pem")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6543)
        #expect(settings.username == "iomt")
        #expect(settings.password == "s@cret")
        #expect(settings.database == "iomt")
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.sslRootCertificate == "/ca.pem")
    }

    @Test("sslmode defaults to prefer and the port to 5432")
    func defaults() throws {
        let settings = try DatabaseSettings(url: "postgresql://u@localhost/db")
        #expect(settings.sslMode == .prefer)
        #expect(settings.port == 5432)
        #expect(settings.password == nil)
    }

    @Test("errors name the setting and never echo the password", arguments: [
        "mysql://u:pw@h/db", "postgres://u:pw@/db", "postgres://:pw@h/db", "postgres://u:pw@h/", "postgres://u:pw@h/db?sslmode=maybe",
    ])
    func rejects(url: String) {
        do {
            _ = try DatabaseSettings(url: url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.setting == "DATABASE_URL")
            #expect(!error.description.contains("pw"))
        }
    }
}
