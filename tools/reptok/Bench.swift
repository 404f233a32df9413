import ArgumentParser

/// `reptok bench`: performance measurements (not tests). `kernels` measures the SIMD
/// kernels against this machine's ceilings; further groups (e.g. a pipeline bench) go
/// beside it in `subcommands`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance: kernels against this machine's float32 peak and memory bandwidth.",
        subcommands: [BenchKernelsCommand.self, BenchPipelineCommand.self, BenchGenerateOnceCommand.self])
}
