#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>

#include "cli.h"
#include "owf/source.h"
#include "owf/text.h"
#include "owf/threads.h"

namespace owf::cli {

Result<OpenedModel> open_model(const Invocation& invocation, const std::filesystem::path& path,
                               const std::string& key) {
  OpenOptions options;
  options.key = key;
  options.threads = invocation.threads;
  options.http = invocation.http;
  options.http.connections = resolve_threads(invocation.threads);
  return invocation.registry.open_detected(path, options);
}

Result<std::string> read_small_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return Status::io_error(path.string() + ": " + error.message());
  if (size > max_bytes) {
    return Status::invalid_argument(path.string() + ": " + std::to_string(size) + " bytes, more than the " +
                                    std::to_string(max_bytes) + " expected of this file");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size)))
    return Status::io_error(path.string() + ": cannot read");
  return text;
}

CLI::Option* add_repeatable_option(CLI::App& command, const std::string& name, std::vector<std::string>& values,
                                   const std::string& value_name, const std::string& description) {
  return command.add_option(name, values, description)
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name(value_name);
}

void add_key_option(CLI::App& command, std::string& key) {
  command
      .add_option("--key", key,
                  "For nested checkpoints (PyTorch): the dotted key of the subtree to read, e.g. state_dict")
      ->type_name("KEY");
}

Result<std::regex> compile_regex(const std::string& pattern, std::string_view option) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    return Status::invalid_argument(std::string(option) + " '" + pattern + "': invalid regular expression (" +
                                    error.what() + ")");
  }
}

Result<std::vector<std::regex>> compile_regexes(const std::vector<std::string>& patterns, std::string_view option) {
  std::vector<std::regex> compiled;
  for (const auto& pattern : patterns) {
    OWF_ASSIGN_OR_RETURN(auto regex, compile_regex(pattern, option));
    compiled.push_back(std::move(regex));
  }
  return compiled;
}

Status check_regex_subject(const std::string& name) {
  if (name.size() <= kMaxRegexSubject) return {};
  return Status::not_supported("tensor " + quote(name.substr(0, 32)) + "...: a name of " + std::to_string(name.size()) +
                               " bytes is too long to match regular expressions against (at most " +
                               std::to_string(kMaxRegexSubject) + ")");
}

Result<bool> regex_found(const std::regex& pattern, const std::string& name) {
  OWF_RETURN_IF_ERROR(check_regex_subject(name));
  return std::regex_search(name, pattern);
}

Result<bool> matches_any(const std::vector<std::regex>& patterns, const std::string& name) {
  for (const auto& pattern : patterns) {
    OWF_ASSIGN_OR_RETURN(const bool found, regex_found(pattern, name));
    if (found) return true;
  }
  return false;
}

Result<std::uint64_t> parse_size(std::string_view text, std::string_view option) {
  const auto refuse = [&] {
    return Status::invalid_argument(std::string(option) + " '" + std::string(text) +
                                    "': expected a size such as 4096, 500MiB or 2GB");
  };
  std::uint64_t number = 0;
  const auto [rest, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || rest == text.data()) return refuse();
  std::string unit(rest, text.data() + text.size());
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  struct Unit {
    std::string_view name;
    std::uint64_t factor;
  };
  static constexpr std::array<Unit, 10> kUnits = {{{"", 1},
                                                   {"b", 1},
                                                   {"kb", 1000},
                                                   {"mb", 1000ull * 1000},
                                                   {"gb", 1000ull * 1000 * 1000},
                                                   {"tb", 1000ull * 1000 * 1000 * 1000},
                                                   {"kib", 1ull << 10},
                                                   {"mib", 1ull << 20},
                                                   {"gib", 1ull << 30},
                                                   {"tib", 1ull << 40}}};
  const auto found = std::find_if(kUnits.begin(), kUnits.end(), [&unit](const Unit& u) { return u.name == unit; });
  if (found == kUnits.end()) return refuse();
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(number, found->factor, &bytes)) {
    return Status::invalid_argument(std::string(option) + " '" + std::string(text) + "': too large");
  }
  return bytes;
}

std::string format_number(double value, int significant) {
  char text[40];
  std::snprintf(text, sizeof text, "%.*g", significant, value);
  return text;
}

std::string human_bytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

std::uint64_t element_count_of(const TensorInfo& info) {
  std::uint64_t count = 1;
  for (const auto dim : info.shape) count *= dim;
  return count;
}

std::string format_dims(const std::vector<std::uint64_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

std::vector<std::uint64_t> unflatten_index(std::uint64_t flat, const std::vector<std::uint64_t>& shape) {
  std::vector<std::uint64_t> index(shape.size(), 0);
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 0) continue;
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return index;
}

std::string base_name(const std::filesystem::path& path) {
  return is_url(path.native()) ? display_url(path.native()) : path.filename().string();
}

}  // namespace owf::cli
