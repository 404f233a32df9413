// The process's own CPU time and memory, and its executable.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time and peak memory of this process.
public enum ResourceUsage {
    /// User + system CPU seconds so far, every thread.
    public static func cpuSeconds() -> Double {
        var ru = rusage()
        getrusage(RUSAGE_SELF_WHO, &ru)
        return seconds(ru)
    }

    /// Resets the peak resident set (VmHWM) to the current RSS (Linux ≥ 4.0: `5` into
    /// /proc/self/clear_refs). Without it, the peak is the process's lifetime peak.
    public static func resetPeakMemory() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }

    /// Peak resident set in bytes since the last reset: VmHWM from /proc/self/status, else
    /// `getrusage(RUSAGE_SELF).ru_maxrss`.
    public static func peakMemoryBytes() -> Int {
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
            return kb * 1024
        }
        var ru = rusage()
        getrusage(RUSAGE_SELF_WHO, &ru)
        return maxRSSBytes(ru)
    }

    /// User + system seconds of a `rusage`.
    static func seconds(_ ru: rusage) -> Double {
        Double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + Double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6
    }

    /// `ru_maxrss` in bytes (Linux reports kilobytes).
    static func maxRSSBytes(_ ru: rusage) -> Int { Int(ru.ru_maxrss) * 1024 }

    /// The running executable's real path (/proc/self/exe), or nil where there is none.
    public static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        buffer[n] = 0
        return String(cString: buffer)
    }
}

#if canImport(Glibc)
private let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif
