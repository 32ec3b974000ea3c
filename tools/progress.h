// The progress line of long commands: on stderr, only when it is a terminal
// and --quiet was not given, and only once the work has run for a second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace owf::cli {

// "hashing 1.2 GiB of 3.0 GiB (40%), 812 MiB/s, 0:02 left", redrawn at most
// ten times a second; the line is ended when the object goes.
class ProgressLine {
 public:
  // `total`: the bytes the work will process (0 when unknown: no percentage,
  // no time left). `quiet`: never draw (--quiet).
  ProgressLine(bool quiet, std::string verb, std::uint64_t total);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();

  // Counts `bytes` more done. Thread-safe.
  void add(std::uint64_t bytes);
  // For callbacks that report a running total (WriteOptions::progress). Thread-safe.
  void set(std::uint64_t done);
  bool enabled() const { return enabled_; }

 private:
  void maybe_draw(std::uint64_t done);

  using Clock = std::chrono::steady_clock;
  std::string verb_;
  std::uint64_t total_;
  bool enabled_;
  Clock::time_point start_ = Clock::now();
  std::atomic<std::uint64_t> done_ = 0;
  std::mutex draw_mutex_;
  Clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace owf::cli
