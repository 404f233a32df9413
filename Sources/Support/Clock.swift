// The one monotonic clock of the project.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time (CLOCK_MONOTONIC): for measuring durations, never for dates.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point.
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds since an arbitrary fixed point.
    public static func seconds() -> Double { Double(nanoseconds()) * 1e-9 }

    /// Runs `body` and returns its result and the seconds it took.
    public static func measure<T>(_ body: () throws -> T) rethrows -> (value: T, seconds: Double) {
        let start = nanoseconds()
        let value = try body()
        return (value, Double(nanoseconds() - start) * 1e-9)
    }
}
