#if canImport(Glibc)
import Glibc
#endif

/// glibc allocator settings for the projection workers and the query service.
///
/// glibc's defaults suit short programs, not a worker that turns over batches of
/// thousands of small objects on several threads: it opens up to eight arenas per
/// core, and after a large block is freed it raises its mmap threshold, so later
/// batch buffers come from the arenas and their pages stay resident after the
/// batch is gone. Measured with `iomt bench projection --projection patient-state`
/// (10,000-event batches), these settings lowered the worker's peak RSS from about
/// 160 MB to 130 MB and made it faster (fewer page faults):
///
/// - at most 4 arenas (`M_ARENA_MAX`). It was 2 until the batches grew to
///   50,000 events: then the decoding task, the batch loop and librdkafka's
///   threads waited on each other's arena locks. With 50,000-event batches,
///   before batches stopped copying their records, patient state made
///   173,000–175,000 events/s at about 2.0 s of worker CPU with 2 arenas
///   (4 runs), 174,000–243,000 at 1.6–2.2 s with 4 (3 runs) and
///   202,000–242,000 with 8 (4 runs); peak RSS rose from about 110 MB to
///   120–132 MB;
/// - blocks of 128 KiB or more are mapped and unmapped on their own, with the
///   threshold fixed (`M_MMAP_THRESHOLD`);
/// - free memory above 1 MiB at the top of the heap goes back to the system
///   (`M_TRIM_THRESHOLD`).
///
/// Not for the ingest service: its request threads allocate heavily at once, and
/// with two arenas they waited on each other's locks (`iomt bench ingest` fell from
/// about 200,000 to 131,000 events/s).
///
/// Each setting given in the environment (`MALLOC_ARENA_MAX`,
/// `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, read by glibc itself) wins
/// over ours. Call once, first thing in `main`.
public enum AllocatorTuning {
    /// Applies the settings (no effect on platforms without glibc).
    public static func apply(environment: ServiceEnvironment = .process) {
        #if canImport(Glibc)
        // `mallopt` and its constants live in <malloc.h>, which the Glibc module
        // does not import: look the function up, and use glibc's values
        // (M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3, M_ARENA_MAX -8).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let settings: [(variable: String, parameter: Int32, value: Int32)] = [
            ("MALLOC_ARENA_MAX", -8, 4),
            ("MALLOC_MMAP_THRESHOLD_", -3, 128 * 1024),
            ("MALLOC_TRIM_THRESHOLD_", -1, 1024 * 1024),
        ]
        for setting in settings where environment[setting.variable] == nil {
            _ = mallopt(setting.parameter, setting.value)
        }
        #endif
    }

    /// Returns the allocator's free memory to the system (glibc's `malloc_trim`,
    /// every arena, not only the top of the heap): a worker calls it after
    /// freeing a batch. It locks each arena in turn while it walks it, so other
    /// threads' allocations can wait; measured on the alerts worker only (see
    /// `Projection.releasesFreedMemory`). Nothing without glibc.
    public static func releaseFreeMemory() {
        #if canImport(Glibc)
        typealias MallocTrim = @convention(c) (UInt) -> Int32
        guard let symbol = trimSymbol else { return }
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }

    #if canImport(Glibc)
    nonisolated(unsafe) private static let trimSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim")
    #endif
}
