import ArgumentParser
import Foundation
import Runtime

/// The `reptok` command line. Each subcommand lives in its own file in this folder
/// and is listed here once.
struct Reptok: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reptok",
        abstract: "RepTok image generation on the CPU: one continuous token per image, int8 weights, no BLAS.",
        version: "\(reptokVersion) (kernels: \(ISA.active); this CPU runs \(ISA.cpuSummary))",
        subcommands: [
            // subcommands are registered here, one per line
            GenerateCommand.self,
            ReconstructCommand.self,
            InterpolateCommand.self,
            EncodeCommand.self,
            DecodeCommand.self,
            TraceCommand.self,
            EvalCommand.self,
            ConvertCommand.self,
            InspectCommand.self,
            BenchCommand.self,
        ]
    )
}

/// The version written into converted files and image metadata.
let reptokVersion = "0.1.0"

/// Entry point: every failure becomes one line on stderr and exit status 2;
/// `--help` and `--version` keep ArgumentParser's behaviour (exit 0), except that a bad
/// `REPTOK_ISA` is refused first, also by `--version`, which names the level in use.
@main
enum Main {
    static func main() {
        do {
            var command = try Reptok.parseAsRoot()
            // A bad REPTOK_ISA is refused before any kernel runs (never an illegal instruction).
            _ = try ISA.fromEnvironment()
            try command.run()
        } catch {
            if Reptok.exitCode(for: error) == .success {
                if CommandLine.arguments.dropFirst().contains("--version") {
                    do { _ = try ISA.fromEnvironment() } catch { fail(error) }
                }
                Reptok.exit(withError: error)
            }
            fail(error)
        }
    }

    /// The error's first line on stderr, then exit status 2.
    static func fail(_ error: Error) -> Never {
        var message = Reptok.message(for: error)
            .split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? "\(error)"
        if message.hasPrefix("Error: ") { message.removeFirst(7) }
        FileHandle.standardError.write(Data("reptok: \(message)\n".utf8))
        Foundation.exit(2)
    }
}
