import ArgumentParser
import Foundation
import Runtime
import ModelFile

/// `reptok inspect FILE`: dispatches on the file's magic bytes — a GGUF model file gets its
/// components, sizes, types, metadata and quantization-error summary; PNG/JPEG images their reptok
/// metadata (`inspectImage`, in ImageInspect.swift).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a converted model (.gguf) or the reptok metadata of a generated image.")

    @Argument(help: "A .gguf model file, or a PNG/JPEG written by reptok.")
    var file: String

    @Flag(name: .long, help: "Also list every tensor (GGUF files).")
    var tensors = false

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir) else { throw CLIError("\(file): no such file") }
        if isDir.boolValue { throw CLIError("\(file) is a directory, expected a file") }
        let head = FileHandle(forReadingAtPath: file).flatMap { try? $0.read(upToCount: 4) } ?? Data()
        if head == Data("GGUF".utf8) {
            print(try describeGGUF(path: file, tensors: tensors))
            print("kernels on this machine: \(ISA.active) (this CPU runs \(ISA.cpuSummary))")
        } else if isImageFile(path: file) {
            print(try inspectImage(path: file))
        } else {
            throw CLIError("\(file): not a GGUF model file or a PNG/JPEG image")
        }
    }
}
