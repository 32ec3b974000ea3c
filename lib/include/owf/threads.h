// How many threads the library's bulk work (compression, decompression,
// digests, verification) spreads over, and the loop that spreads it. Results
// never depend on the thread count.
#pragma once

#include <cstddef>
#include <functional>

#include "owf/export.h"
#include "owf/status.h"

namespace OWF_EXPORT owf {

// The number of online CPUs, at least 1.
unsigned online_cpus();

// `requested`, or online_cpus() when it is 0 (the default of every option).
unsigned resolve_threads(unsigned requested);

// Runs job(i, worker) for every i in [0, count) on up to `threads` threads
// (the calling one among them; 0 means one per online CPU), handing out
// indices in order as threads free up. `worker` < resolve_threads(threads)
// names the thread, for per-thread scratch. After a failure no further index
// starts; the result is the failure of the lowest failed index, so it does not
// depend on timing. Jobs must touch only their own index's and worker's data.
using ParallelJob = std::function<Status(std::size_t index, unsigned worker)>;
Status parallel_for(std::size_t count, unsigned threads, const ParallelJob& job);

}  // namespace owf
