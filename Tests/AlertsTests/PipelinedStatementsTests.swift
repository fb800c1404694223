@testable import Alerts
import Events
import Foundation
import Logging
import PostgresNIO
@testable import ProjectionKit
import Testing
import WorkerTestSupport

/// `ProjectionContext.pipelined` and `execute`, which the workers write and lock
/// their batches with, against PostgreSQL.
@Suite("Pipelined statements in a batch's transaction", .timeLimit(.minutes(2)))
struct PipelinedStatementsTests {
    let logger = Logger(label: "test.pipelined")

    @Test("statements run in the order they are handed over, inside the transaction")
    func order() async throws {
        let database = try await TestDatabase.create()
        let logger = logger
        let order = try await database.withClient { client in
            try await client.query("CREATE TABLE written (seq bigserial PRIMARY KEY, statement int NOT NULL, n int NOT NULL)")
            try await client.withTransaction(logger: logger) { connection in
                let context = ProjectionContext(connection: connection, logger: logger, now: EventTime(Date()))
                try await context.pipelined { send in
                    for statement in 0..<12 {
                        let values = Array(0..<(statement % 3 == 0 ? 5_000 : 10))
                        try await send("INSERT INTO written (statement, n) SELECT \(statement), v FROM unnest(\(values)::int4[]) AS v")
                    }
                }
            }
            var order: [Int] = []
            for try await statement in try await client.query("SELECT statement FROM written GROUP BY statement ORDER BY min(seq)").decode(Int.self) {
                order.append(statement)
            }
            return order
        }
        #expect(order == Array(0..<12))
        await database.drop()
    }

    /// Runs `statements` through `pipelined` in one transaction on a fresh table
    /// `written (n int)`; returns the error the write threw (unwrapped from the
    /// transaction's) and how many rows the table holds afterwards.
    func pipelinedWrite(_ statements: [PostgresQuery]) async throws -> (error: (any Error)?, rows: Int) {
        let database = try await TestDatabase.create()
        let logger = logger
        let result = try await database.withClient { client in
            try await client.query("CREATE TABLE written (n int NOT NULL)")
            var thrown: (any Error)?
            do {
                try await client.withTransaction(logger: logger) { connection in
                    let context = ProjectionContext(connection: connection, logger: logger, now: EventTime(Date()))
                    try await context.pipelined { send in
                        for statement in statements { try await send(statement) }
                    }
                }
            } catch let error as PostgresTransactionError {
                thrown = error.closureError ?? error
            } catch {
                thrown = error
            }
            var rows = -1
            for try await count in try await client.query("SELECT count(*)::int FROM written").decode(Int.self) { rows = count }
            return (error: thrown, rows: rows)
        }
        await database.drop()
        return result
    }

    @Test("a failing statement fails the whole write: the error is thrown and nothing commits")
    func failure() async throws {
        let (error, rows) = try await pipelinedWrite([
            "INSERT INTO written VALUES (1)", "INSERT INTO written VALUES (1 / 0)", "INSERT INTO written VALUES (3)", "INSERT INTO written VALUES (4)",
        ])
        #expect(error != nil)
        #expect(rows == 0)
    }

    @Test("a statement returning rows that fails last is thrown too, and nothing commits")
    func failureReturningRows() async throws {
        let (error, rows) = try await pipelinedWrite([
            "INSERT INTO written VALUES (1)",
            // As the alerts' change statements do: the rows come back, and the
            // failure with them.
            "WITH w AS (INSERT INTO written VALUES (2) RETURNING n) SELECT 1 / (n - 2) FROM w",
        ])
        #expect((error as? PSQLError)?.serverInfo?[.sqlState] == "22012", "division by zero thrown")
        #expect(rows == 0)
    }

    @Test("a subject lock that cannot be taken fails the lock statement itself, with PostgreSQL's error")
    func lockFailure() async throws {
        let database = try await TestDatabase.create()
        let configuration = try database.settings.connectionConfiguration()
        let holder = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        let waiter = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        let now = EventTime(Date())
        try await holder.query("BEGIN", logger: logger)
        try await AlertsStore.lock(["patient:pat-1"], context: ProjectionContext(connection: holder, logger: logger, now: now))
        try await waiter.query("SET lock_timeout = '200ms'", logger: logger)
        try await waiter.query("BEGIN", logger: logger)
        // Before, the lock statement's rows went unread and its failure with them:
        // the batch failed only at its next statement, as "current transaction is
        // aborted", hiding the cause (such as a lock table too small).
        let context = ProjectionContext(connection: waiter, logger: logger, now: now)
        let refused = await #expect(throws: PSQLError.self) { try await AlertsStore.lock(["patient:pat-1", "device:dev-1"], context: context) }
        #expect(refused?.serverInfo?[.sqlState] == "55P03", "lock_not_available")
        try await waiter.query("ROLLBACK", logger: logger)
        try await holder.query("ROLLBACK", logger: logger)
        try await holder.close()
        try await waiter.close()
        await database.drop()
    }
}
