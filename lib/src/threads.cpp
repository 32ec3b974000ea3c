#include "owf/threads.h"

#include <unistd.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace owf {

unsigned online_cpus() {
  const long count = ::sysconf(_SC_NPROCESSORS_ONLN);
  return count > 0 ? static_cast<unsigned>(count) : 1;
}

unsigned resolve_threads(unsigned requested) { return requested != 0 ? requested : online_cpus(); }

Status parallel_for(std::size_t count, unsigned threads, const ParallelJob& job) {
  std::atomic<std::size_t> next = 0;
  std::atomic<bool> failed = false;
  std::mutex mutex;  // guards first_failure
  std::optional<std::pair<std::size_t, Status>> first_failure;
  const auto work = [&](unsigned worker) {
    for (std::size_t i; !failed && (i = next++) < count;) {
      Status status;
      try {
        status = job(i, worker);
      } catch (const std::exception& error) {  // a worker thread must not let it escape
        status = Status::io_error(std::string("unexpected failure: ") + error.what());
      }
      if (status.ok()) continue;
      failed = true;
      std::lock_guard lock(mutex);
      if (!first_failure || i < first_failure->first) first_failure.emplace(i, std::move(status));
    }
  };
  const std::size_t helpers = std::min<std::size_t>(resolve_threads(threads), count) - (count != 0);
  std::vector<std::thread> pool;
  pool.reserve(helpers);
  for (std::size_t t = 0; t < helpers; ++t) {
    try {
      pool.emplace_back(work, static_cast<unsigned>(t + 1));
    } catch (const std::system_error&) {
      break;  // fewer threads than asked for: the ones running share the work
    }
  }
  work(0);
  for (std::thread& thread : pool) thread.join();
  return first_failure ? std::move(first_failure->second) : Status();
}

}  // namespace owf
