// swift-tools-version: 6.0
//
// reptok: RepTok image generation on small Linux machines.
//
// Dependencies point one way: Kernels <- Runtime <- CLI (tools/reptok); Formats <- ModelFile <- Runtime;
// ModelFile <- Quant <- CLI (conversion); CHash (SHA instructions) <- Formats; CKernels <- Quant (the
// converter's int8 quantization).
// ImageIO (libpng/libjpeg) is used only by the CLI. Support (atomic files, clock, resource usage,
// child processes, splitmix64) depends on nothing of ours and may be used by any target.
// docs/architecture.md draws the graph.
//
// Build flags
// -----------
// The SIMD kernels need the compiler to know the target CPU: without `-target-cpu`,
// `SIMD16<Float>.addProduct` lowers to scalar `fmaf` calls (about 100x slower).
// On x86-64 we build by default for the machine doing the build (`native`). For a portable
// binary set REPTOK_TARGET_CPU before building, e.g.
//     REPTOK_TARGET_CPU=haswell   swift build -c release     (AVX2 machines)
//     REPTOK_TARGET_CPU=none      swift build -c release     (compiler default, slow)
// On aarch64 the default is `none`: the baseline (armv8-a) already has NEON, which is all the
// Swift SIMD code needs, and `native` is not reliable there (under qemu-user the compiler sees
// the emulator's CPU description). Name the board's core to tune for it:
//     REPTOK_TARGET_CPU=cortex-a72  swift build -c release   (Raspberry Pi 4)
//     REPTOK_TARGET_CPU=cortex-a76  swift build -c release   (Raspberry Pi 5; adds dot product)
// This default follows the machine that evaluates this manifest, so a cross build from x86-64
// must set REPTOK_TARGET_CPU (tools/check-arm64.sh does).
import Foundation
import PackageDescription

#if arch(arm64)
let defaultTargetCPU = "none"
#else
let defaultTargetCPU = "native"
#endif
let targetCPU = ProcessInfo.processInfo.environment["REPTOK_TARGET_CPU"] ?? defaultTargetCPU
// Swift 6.0 hands `-target-cpu` to its C importer as `-mcpu=`, which clang refuses for x86-64
// ("unsupported option '-mcpu='"), so with 6.0 (Debian 13's `swiftlang`) no x86-64 build
// could name a CPU. The importer's CPU is also the one Swift's own code generation uses, so
// there `-Xcc -march=` does what `-target-cpu` does (checked: `addProduct` becomes zmm FMAs).
// Which flag is decided on the machine that reads this manifest, as the default CPU is: with
// Swift 6.0 on x86-64, an ARM core name (a cross build, tools/check-arm64.sh) keeps `-target-cpu`.
#if compiler(>=6.1) || !arch(x86_64)
let cpuThroughImporter = false
#else
let cpuThroughImporter = !["cortex-", "neoverse-", "apple-"].contains { targetCPU.hasPrefix($0) }
#endif
// CPUs without FMA (x86-64 before Haswell and Piledriver; Atom, and the Celeron and Pentium
// lines built without AVX until about 2020): there a fused multiply-add in the Swift kernels
// becomes a call of libm's fmaf per lane, about a hundred times slower than the vector code.
// Such a build defines REPTOK_NO_FMA, and the kernels multiply and add instead (two
// roundings; docs/kernels.md, "CPUs without FMA"). Decided from the CPU the build targets:
// the build machine's /proc/cpuinfo for `native`, the x86-64 baseline for `none`, a list of
// CPU names otherwise; REPTOK_FMA=0 or 1 overrides.
let noFMACPUs: Set<String> = [
    "x86-64", "nocona", "prescott", "core2", "penryn", "nehalem", "corei7", "westmere",
    "sandybridge", "corei7-avx", "ivybridge", "core-avx-i", "bonnell", "atom", "silvermont", "slm",
    "goldmont", "goldmont-plus", "tremont", "k8", "k8-sse3", "athlon64", "athlon64-sse3", "opteron",
    "opteron-sse3", "amdfam10", "barcelona", "btver1", "btver2", "bdver1",
]
let buildHasNoFMA: Bool = {
    if let forced = ProcessInfo.processInfo.environment["REPTOK_FMA"] { return forced == "0" }
    #if arch(x86_64)
    switch targetCPU {
    case "native":
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        return !flags.split(separator: " ").contains("fma")
    case "none": return true
    default: return noFMACPUs.contains(targetCPU)
    }
    #else
    return false
    #endif
}()
let cpuFlags: [SwiftSetting] = (targetCPU == "none" ? []
    : cpuThroughImporter ? [.unsafeFlags(["-Xcc", "-march=\(targetCPU)"])]
    : [.unsafeFlags(["-target-cpu", targetCPU])]) + (buildHasNoFMA ? [.define("REPTOK_NO_FMA")] : [])
// The kernels and the runtime also drop the run-time exclusivity checks of their hot loops (no
// fast-math: floating-point semantics stay IEEE, which the bit-identity of the levels relies on).
let cpuFlagsNoExclusivityChecks: [SwiftSetting] = cpuFlags + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "reptok",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "reptok", targets: ["reptok"]),
        .library(name: "Runtime", targets: ["Runtime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        // System libraries for image files (apt: libpng-dev, libjpeg-dev).
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),

        // Operating-system plumbing shared by every layer. No model knowledge.
        .target(name: "Support", path: "Sources/Support"),
        // File formats, each read bounds-checked from a memory map: GGUF (reader and streaming
        // writer), safetensors, zip, the restricted unpickler, PyTorch checkpoints, config trees,
        // SHA-256 (with CHash). No model knowledge.
        .target(name: "Formats", dependencies: ["Support", "CHash"], path: "Sources/Formats"),
        // SHA-256 blocks on the CPU's SHA instructions (x86-64 SHA extensions, AArch64 SHA2), chosen
        // at run time; Formats' SHA256 keeps the portable loop and the padding.
        .target(name: "CHash", path: "Sources/CHash"),
        // What a reptok model file holds: the metadata schema and `ModelConfig`, the components,
        // the tensor names, `inspect`'s summary. No quantization, no model math.
        .target(name: "ModelFile", dependencies: ["Formats", "Support"], path: "Sources/ModelFile"),
        // Quantization (int8, int4, f16) and conversion (checkpoint or f32 GGUF -> model file),
        // and the synthetic random-weight models.
        .target(name: "Quant", dependencies: ["ModelFile", "Formats", "Support", "CKernels"], path: "Sources/Quant"),
        // The per-level C kernels of every instruction level (AMX and its scalar tile model, AVX-512
        // and AVX-512 VNNI, AVX2 and AVX-VNNI, NEON and NEON dot product), each function with its own
        // target attribute so one binary holds them all whatever -target-cpu; CPU detection; and the
        // converter's int8 quantization in portable vector C.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: buildHasNoFMA ? [.define("RTK_NO_FMA")] : []),
        // SIMD kernels on raw buffers, the level table that picks the C kernels, the AMX driver
        // glue and the scalar references. No model knowledge.
        .target(name: "Kernels", dependencies: ["CKernels"], path: "Sources/Kernels",
                swiftSettings: cpuFlagsNoExclusivityChecks),
        // Model graphs, samplers, pipeline.
        .target(name: "Runtime", dependencies: ["Kernels", "ModelFile", "Formats", "Support"], path: "Sources/Runtime",
                swiftSettings: cpuFlagsNoExclusivityChecks),
        // setjmp-guarded C wrappers: libpng/libjpeg report errors by longjmp, which must not cross Swift frames.
        .target(name: "CImageShim", dependencies: ["CPNG", "CJPEG"], path: "Sources/CImageShim"),
        // PNG / JPEG / .npy reading and writing.
        .target(name: "ImageIO", dependencies: ["CImageShim", "Support"], path: "Sources/ImageIO"),

        .executableTarget(
            name: "reptok",
            dependencies: ["Runtime", "Quant", "ModelFile", "Formats", "Kernels", "ImageIO", "Support",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/reptok",
            swiftSettings: cpuFlags),

        // Helpers every test target shares: repository paths, temporary folders, processes, test data.
        .target(name: "TestSupport", dependencies: ["Support"], path: "Tests/TestSupport"),
        .testTarget(name: "SupportTests", dependencies: ["Support", "TestSupport"], path: "Tests/SupportTests"),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "TestSupport"], path: "Tests/FormatsTests"),
        .testTarget(name: "ModelFileTests", dependencies: ["ModelFile", "Formats", "TestSupport"], path: "Tests/ModelFileTests"),
        .testTarget(name: "QuantTests", dependencies: ["Quant", "ModelFile", "Formats", "CKernels", "TestSupport"], path: "Tests/QuantTests"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "TestSupport"],
                    path: "Tests/KernelsTests", swiftSettings: cpuFlags),
        // Quant and Formats make the tests' inputs, not their subject: the converter turns the official
        // tiny checkpoint into the model file whose outputs are checked against that checkpoint's
        // goldens (a safetensors file, read with Formats).
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Quant", "Formats", "Support", "TestSupport"],
                    path: "Tests/RuntimeTests", swiftSettings: cpuFlags),
        // Support: ImageFile.write goes through AtomicFile, whose refusals the write tests check beside it.
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Support", "TestSupport"], path: "Tests/ImageIOTests"),
        // Depends on the `reptok` executable so `swift test` builds the binary that the end-to-end tests run.
        .testTarget(name: "CLITests", dependencies: ["ImageIO", "Quant", "Formats", "Runtime", "TestSupport", "reptok"],
                    path: "Tests/CLITests"),
    ],
    swiftLanguageModes: [.v5]
)
