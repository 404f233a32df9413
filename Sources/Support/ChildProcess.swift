// Running a child process to completion with its output captured and its own resource usage.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a child process could not be run.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// A finished child process: exit status, output, and what it used (from `wait4`).
public struct ChildProcess: Sendable {
    /// Exit code; 128 + signal number when a signal ended it.
    public var exitStatus: Int32
    public var stdout: String
    public var stderr: String
    /// `ru_maxrss` of this child alone (wait4 reports the waited child's usage).
    public var maxRSSBytes: Int
    /// User + system CPU seconds of the child.
    public var cpuSeconds: Double
    /// Wall seconds from spawn to exit.
    public var wallSeconds: Double

    /// Runs `executable arguments…` (no PATH lookup) with standard input from /dev/null and both
    /// outputs captured, in `directory` (default: this process's) and with `environment` (default:
    /// this process's), and waits for it.
    public static func run(_ executable: String, _ arguments: [String], directory: String? = nil,
                           environment: [String: String]? = nil) throws -> ChildProcess {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw ChildProcessError("pipe: \(errnoMessage())") }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw ChildProcessError("pipe: \(errnoMessage())")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        if let directory {
            guard let addchdir = addChdirAction else { throw ChildProcessError("cannot start \(executable) in \(directory): no posix_spawn_file_actions_addchdir_np") }
            guard addchdir(&actions, directory) == 0 else { throw ChildProcessError("cannot start \(executable) in \(directory): \(errnoMessage())") }
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { env in env.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for p in envp ?? [] { free(p) } }
        var pid = pid_t()
        let started = MonotonicClock.nanoseconds()
        let rc = envp.map { e in posix_spawn(&pid, executable, &actions, nil, argv, e) }
            ?? posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        // stderr is drained on a thread so neither pipe can fill and block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let errDone = DispatchSemaphore(value: 0)
        let errFD = errPipe[0]
        Thread.detachNewThread {
            errBox.data = FileHandle(fileDescriptor: errFD, closeOnDealloc: true).readDataToEndOfFile()
            errDone.signal()
        }
        let outData = FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true).readDataToEndOfFile()
        errDone.wait()
        var status: Int32 = 0
        var ru = rusage()
        while wait4(pid, &status, 0, &ru) < 0 {
            guard errno == EINTR else { throw ChildProcessError("wait4: \(errnoMessage())") }
        }
        // Exited normally: low 7 bits 0, exit code in bits 8–15; killed by a signal: 128 + signal.
        let exit = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ChildProcess(exitStatus: exit, stdout: String(decoding: outData, as: UTF8.self),
                            stderr: String(decoding: errBox.data, as: UTF8.self),
                            maxRSSBytes: ResourceUsage.maxRSSBytes(ru), cpuSeconds: ResourceUsage.seconds(ru),
                            wallSeconds: Double(MonotonicClock.nanoseconds() - started) * 1e-9)
    }
}

/// `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29, macOS ≥ 10.15), looked up at run time:
/// the C library module does not declare it.
private let addChdirAction: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32)? = {
    #if os(Linux)
    let everyLibrary: UnsafeMutableRawPointer? = nil            // RTLD_DEFAULT in glibc
    #else
    let everyLibrary = UnsafeMutableRawPointer(bitPattern: -2)  // RTLD_DEFAULT in Darwin
    #endif
    guard let symbol = dlsym(everyLibrary, "posix_spawn_file_actions_addchdir_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32).self)
}()
