import ArgumentParser

/// The `iomt` command: development stack, dev broker, simulator, benchmarks and
/// administration.
@main
struct IoMT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iomt",
        abstract: "IoMT backbone: dev stack, fleet simulator, dev broker, benchmarks and administration.",
        subcommands: [DevCommand.self, SimulateCommand.self, BrokerCommand.self, BenchCommand.self, AdminCommand.self]
    )
}
