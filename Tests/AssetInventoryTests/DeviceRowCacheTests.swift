import AssetInventory
import Events
import PostgresNIO
import ProjectionKit
import Testing
import WorkerTestSupport

@Suite("Asset-inventory rows cached by version", .timeLimit(.minutes(2)))
struct DeviceRowCacheTests {
    static func location(_ id: String, _ seconds: Int64, unit: String) -> ProjectedEvent {
        ProjectedEvent(standalone: event(id, seconds, .deviceLocation(DeviceLocation(deviceId: "d1", facilityId: "f1", unit: unit))))
    }

    static func heartbeat(_ id: String, _ seconds: Int64, battery: Double) -> ProjectedEvent {
        ProjectedEvent(standalone: event(id, seconds, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1", batteryPercent: battery))))
    }

    static func state(_ client: PostgresClient) async throws -> String {
        var state = ""
        for try await value in try await client.query("SELECT state FROM asset_inventory.devices WHERE device_id = 'd1'").decode(String.self) {
            state = value
        }
        return state
    }

    /// A fresh database where `projection` wrote device d1 (unit "ward"); `body`
    /// goes on from there.
    static func afterFirstWrite(
        by projection: AssetInventoryProjection, _ body: @Sendable (PostgresClient) async throws -> Void
    ) async throws {
        let database = try await TestDatabase.create()
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await projection.migrate(client: client, logger: quietLogger())
            try await projection.applyStandalone([Self.location("l1", 10, unit: "ward")], client: client, logger: quietLogger(), now: at(10))
            try await body(client)
        }
        await database.drop()
    }

    /// Moves d1 from "ward" to "elsewhere" in its stored document only, as a
    /// writer other than this worker would.
    static func changeBehindTheWorkersBack(_ client: PostgresClient) async throws {
        try await client.query("""
            UPDATE asset_inventory.devices SET state = replace(state, '"ward"', '"elsewhere"') WHERE device_id = 'd1'
            """)
    }

    static func stored(_ client: PostgresClient) async throws -> (unit: String?, battery: Double?, applied: Int64) {
        for try await row in try await client.query(
            "SELECT unit, battery_percent, events_applied FROM asset_inventory.devices WHERE device_id = 'd1'"
        ).decode((String?, Double?, Int64).self) {
            return row
        }
        Issue.record("device d1 has no row")
        return (nil, nil, 0)
    }

    @Test("a device another worker wrote since is read from its row, not from this worker's cache")
    func anotherWritersRowWins() async throws {
        let first = AssetInventoryProjection()
        try await Self.afterFirstWrite(by: first) { client in
            let second = AssetInventoryProjection()
            // The partition moved to another worker, which wrote the device...
            try await second.applyStandalone([Self.location("l2", 20, unit: "icu")], client: client, logger: quietLogger(), now: at(20))
            // ...and came back: the first worker's cached device is stale.
            try await first.applyStandalone([Self.heartbeat("h1", 30, battery: 55)], client: client, logger: quietLogger(), now: at(30))
            let row = try await Self.stored(client)
            #expect(row.unit == "icu", "the other worker's location is kept")
            #expect(row.battery == 55)
            #expect(row.applied == 3)
        }
    }

    @Test("a device this worker wrote last is taken from its cache: its stored document is not parsed again")
    func ownRowComesFromTheCache() async throws {
        let projection = AssetInventoryProjection()
        try await Self.afterFirstWrite(by: projection) { client in
            // A document changed behind the worker's back with the version guard
            // off, so the row keeps the version the worker wrote, is not read:
            // only another version makes the worker parse.
            try await client.query("ALTER TABLE asset_inventory.devices DISABLE TRIGGER devices_version_reset")
            try await Self.changeBehindTheWorkersBack(client)
            try await client.query("ALTER TABLE asset_inventory.devices ENABLE TRIGGER devices_version_reset")
            try await projection.applyStandalone([Self.heartbeat("h1", 30, battery: 55)], client: client, logger: quietLogger(), now: at(30))
            let state = try await Self.state(client)
            #expect(state.contains("\"ward\""), "written from the cached device")
            #expect(!state.contains("elsewhere"))
            #expect(try await Self.stored(client).applied == 2)
        }
    }

    @Test("a write that leaves the row version as it was (a worker from before row versions, a manual fix) resets it, and the next batch reads the row")
    func otherWritersResetTheVersion() async throws {
        let projection = AssetInventoryProjection()
        try await Self.afterFirstWrite(by: projection) { client in
            // Written as a worker from before migration 3 writes: without a version.
            try await Self.changeBehindTheWorkersBack(client)
            var version: Int64 = -1
            for try await value in try await client.query("SELECT version FROM asset_inventory.devices WHERE device_id = 'd1'").decode(Int64.self) {
                version = value
            }
            #expect(version == 0)
            try await projection.applyStandalone([Self.heartbeat("h1", 30, battery: 55)], client: client, logger: quietLogger(), now: at(30))
            let state = try await Self.state(client)
            #expect(state.contains("\"elsewhere\""), "the other writer's change is kept")
            #expect(try await Self.stored(client).applied == 2)
        }
    }
}
