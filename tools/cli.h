// Shared plumbing of the owf command-line tool. Each command lives in its own
// file and registers a CLI11 subcommand; commands report failure as owf::Status
// values, which main() prints as the one line "owf: <message>" with exit code 2.
// tools/ is the only code in owf that prints.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitDifferent = 1;  // diff: the inputs differ; verify: the file is invalid
inline constexpr int kExitError = 2;      // any error, reported as one line on stderr

// The name of the owf container's Format in the registry: convert streams .owf
// output itself (for the content digest) and meta edits only .owf files.
inline constexpr std::string_view kOwfFormatName = "owf";

// What a command returns: its exit code (kExitOk or kExitDifferent), or the
// error that main() reports with kExitError.
using Outcome = Result<int>;

// State shared by the commands of one invocation. The registry outlives it.
struct Invocation {
  const FormatRegistry& registry;
  std::optional<Outcome> outcome;  // set by the command that ran
  unsigned threads = 0;            // --threads: for the library's bulk work; 0 = online CPUs
  bool quiet = false;              // --quiet: no progress line
  bool verbose = false;            // -v: HTTP requests and bytes fetched, on stderr at the end
  HttpOptions http = {};           // --header, --insecure: how URLs are read
};

// Each adds its subcommand (options, help, example) to `app`. When CLI11
// parses that subcommand, its callback runs the command and stores the result
// in invocation.outcome; `invocation` must outlive app.parse().
void add_inspect_command(CLI::App& app, Invocation& invocation);
void add_convert_command(CLI::App& app, Invocation& invocation);
void add_diff_command(CLI::App& app, Invocation& invocation);
void add_verify_command(CLI::App& app, Invocation& invocation);
void add_hash_command(CLI::App& app, Invocation& invocation);
void add_meta_command(CLI::App& app, Invocation& invocation);
void add_sign_command(CLI::App& app, Invocation& invocation);

// Reads the metadata of the .owf file `file`, lets `edit` change it and writes
// it back (in place when the new header fits the slack; `verbose` says which on
// stderr). Other formats are refused: their metadata cannot be edited.
Outcome edit_owf_metadata(const FormatRegistry& registry, const std::string& file, bool verbose,
                          const std::function<Status(nlohmann::ordered_json&)>& edit);

// The whole of a small text file (a key, a signature), at most `max_bytes`.
Result<std::string> read_small_file(const std::filesystem::path& path, std::uintmax_t max_bytes);

// Detects the format of `path` (a file, a folder or a URL) by its content and
// opens it with the invocation's threads and HTTP options and `key`. Errors name the file.
Result<OpenedModel> open_model(const Invocation& invocation, const std::filesystem::path& path,
                               const std::string& key);

// Adds an option that may be repeated, taking one value each time it appears
// (so it never swallows the positional arguments after it).
CLI::Option* add_repeatable_option(CLI::App& command, const std::string& name, std::vector<std::string>& values,
                                   const std::string& value_name, const std::string& description);

// Adds the --key option every read command accepts.
void add_key_option(CLI::App& command, std::string& key);

// Compiles an ECMAScript regular expression given to `option`; a syntax error
// becomes a Status naming the option and the pattern.
Result<std::regex> compile_regex(const std::string& pattern, std::string_view option);
Result<std::vector<std::regex>> compile_regexes(const std::vector<std::string>& patterns, std::string_view option);

// std::regex matches by recursion, a stack frame or more per character, so a
// long name (tensor names come from untrusted files) would overflow the stack.
// Names longer than this are refused before any regex sees them.
inline constexpr std::size_t kMaxRegexSubject = 1024;

// Fails for a name longer than kMaxRegexSubject, naming it.
Status check_regex_subject(const std::string& name);

// std::regex_search of a tensor name, refusing names that are too long.
Result<bool> regex_found(const std::regex& pattern, const std::string& name);
Result<bool> matches_any(const std::vector<std::regex>& patterns, const std::string& name);

// Parses a byte count such as "4096", "500MiB" or "2GB" (KB/MB/GB/TB are powers
// of 1000, KiB/MiB/GiB/TiB powers of 1024; case-insensitive).
Result<std::uint64_t> parse_size(std::string_view text, std::string_view option);

// A number for people: `significant` digits (printf's %g).
std::string format_number(double value, int significant);

// "1.5 GiB"-style rendering of a byte count, for people.
std::string human_bytes(std::uint64_t bytes);

// Elements of a tensor (1 for a scalar). Infos come from opened models, whose
// shapes were checked against overflow when they were read.
std::uint64_t element_count_of(const TensorInfo& info);

// "[2, 3]" for a shape or a multi-dimensional index.
std::string format_dims(const std::vector<std::uint64_t>& dims);

// The multi-dimensional index of flat element `flat` in a C-order `shape`.
std::vector<std::uint64_t> unflatten_index(std::uint64_t flat, const std::vector<std::uint64_t>& shape);

// As provenance records an input: a file's name without its directory; a URL
// without credentials, query and fragment.
std::string base_name(const std::filesystem::path& path);

}  // namespace owf::cli
