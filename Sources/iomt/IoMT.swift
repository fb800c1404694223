import ArgumentParser

/// The `iomt` command: development stack, dev broker, simulator, benchmarks and
/// administration.
@main
struct IoMT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iomt",
        abstract: "IoMT backbone: dev broker, dev stack, benchmarks and administration.",
        subcommands: [DevCommand.self, BrokerCommand.self, BenchCommand.self, AdminCommand.self]
    )
}
