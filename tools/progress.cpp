#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include "cli.h"

namespace owf::cli {
namespace {

constexpr auto kQuietStart = std::chrono::seconds(1);
constexpr auto kRedraw = std::chrono::milliseconds(100);

std::string minutes_seconds(double seconds) {
  const auto whole = static_cast<long long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld", whole / 60, whole % 60);
  return text;
}

}  // namespace

ProgressLine::ProgressLine(bool quiet, std::string verb, std::uint64_t total)
    : verb_(std::move(verb)), total_(total), enabled_(!quiet && isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::fputs("\r\033[K", stderr);  // clear it: what follows starts on a clean line
}

void ProgressLine::add(std::uint64_t bytes) {
  if (enabled_) maybe_draw(done_ += bytes);
}

void ProgressLine::set(std::uint64_t done) {
  if (!enabled_) return;
  done_ = done;
  maybe_draw(done);
}

void ProgressLine::maybe_draw(std::uint64_t done) {
  const auto now = Clock::now();
  if (now - start_ < kQuietStart) return;
  std::unique_lock lock(draw_mutex_, std::try_to_lock);  // a thread that is drawing is enough
  if (!lock.owns_lock() || now - last_draw_ < kRedraw) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = static_cast<double>(done) / seconds;
  std::string line = verb_ + " " + human_bytes(done);
  if (total_ != 0) {
    line += " of " + human_bytes(total_) + " (" + std::to_string(std::min(done, total_) * 100 / total_) + "%)";
  }
  line += ", " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
  if (total_ != 0 && rate > 0 && done <= total_) {
    line += ", " + minutes_seconds(static_cast<double>(total_ - done) / rate) + " left";
  }
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace owf::cli
