// The lower-layer types a user of Runtime has to name, re-exported on purpose.
//
// Swift can re-export a whole module (`@_exported import`) but not single types of it, and a
// whole-module re-export would hand every Kernels, ModelFile and Formats symbol to Runtime's users.
// So each type that Runtime's own API takes or returns gets a public typealias here, and only
// those: the command line and the tests then import Runtime alone for running a model. The aliases
// name the very same types (no wrapper, no conversion), so code that also imports the lower module
// sees no ambiguity.
import Kernels
import ModelFile

/// Matrix mode of int8 and int4 weights (`PipelineOptions.mode`): `.w8a32` float activations,
/// `.w8a8` activations quantized per row. Defined in Kernels.
public typealias MatrixMode = Kernels.MatrixMode

/// A kernel instruction level (`PipelineOptions.isa`; `ISA.active`, `ISA.cpuSummary` for version
/// lines). Defined in Kernels.
public typealias ISA = Kernels.ISA

/// One of the five parts of a model file (`.encoder`, `.adapter`, `.decoder`, `.vae`,
/// `.generator`), as the progress callback names them. Defined in ModelFile.
public typealias Component = ModelFile.Component

/// The sizes and sampling defaults a model file records (`Pipeline.config`). Defined in ModelFile.
public typealias ModelConfig = ModelFile.ModelConfig

/// Why a model file's metadata was refused (`RuntimeError.config`). Defined in ModelFile.
public typealias ModelConfigError = ModelFile.ModelConfigError
