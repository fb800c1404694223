import ArgumentParser

/// `iomt bench`: performance benchmarks, each printing a baseline measured in the
/// same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks. Each prints its own baseline from the same run, so ratios hold on a noisy machine.",
        subcommands: [KafkaBenchCommand.self, IngestBenchCommand.self, ProjectionBenchCommand.self, QueryBenchCommand.self, EndToEndBenchCommand.self]
    )
}
