/**
 * Fixed histogram buckets. Azure reports these figures as summaries (quantiles over a sliding
 * window), which need a sample store per series; a histogram is a few array slots, and
 * `histogram_quantile()` gives the quantiles at query time. `_sum` and `_count` mean the same.
 */

/** Operation latencies (twin, methods, sends): 1 ms to 1 min. */
export const LATENCY_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** Time a message waits in the store: milliseconds for a live module, up to the default 2 h TTL and beyond. */
export const QUEUE_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600, 7200, 86400] as const;

/** Message bodies: 64 B to IoT Hub's 256 KiB limit and a step past it. */
export const MESSAGE_BYTES = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576] as const;

/** A store worker's answer to one append batch: 100 µs to 1 s. */
export const WORKER_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** Agent commands (create pulls an image): 10 ms to 10 min. */
export const COMMAND_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600] as const;

/** Time the upstream link stayed down: a second (a parent restart) to a day. */
export const OFFLINE_SECONDS = [1, 5, 15, 60, 300, 900, 3600, 14400, 86400] as const;
