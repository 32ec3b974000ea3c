// The owf command-line tool: parses the command line with CLI11, runs the one
// command asked for, and turns its outcome into an exit code. Errors are one
// line on stderr, "owf: <message>", and exit code 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "cli.h"
#include "owf/metadata.h"
#include "owf/owf.h"
#include "owf/source.h"

namespace {

void print_error(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "owf: %s\n", message.c_str());
}

std::string format_names(const owf::FormatRegistry& registry) {
  std::string names;
  for (const auto& format : registry.formats()) {
    if (!names.empty()) names += ", ";
    names += format->name();
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace owf::cli;
  try {
    const owf::FormatRegistry& registry = owf::registry();
    Invocation invocation{registry, std::nullopt};

    CLI::App app("Inspect, convert, compare and verify model weight files.", "owf");
    app.set_version_flag("--version", "owf " + std::string(owf::library_version()));
    app.require_subcommand(1);
    app.fallthrough();  // the options below may also follow the command's name
    app.add_option("--threads", invocation.threads,
                   "Threads for compression, decompression, digests and comparisons, and range requests at once "
                   "for large reads of URLs (default: online CPUs); the output is the same for any count")
        ->check(CLI::Range(1u, 1024u))
        ->type_name("N");
    app.add_flag("--quiet", invocation.quiet, "No progress line (it is shown only on a terminal anyway)");
    add_repeatable_option(app, "--header", invocation.http.headers, "'NAME: VALUE'",
                          "For URLs: a request header, e.g. 'Authorization: Bearer TOKEN' (repeatable; also read, one "
                          "per line, from OWF_HTTP_HEADERS); never printed nor recorded");
    app.add_flag("--insecure", invocation.http.insecure,
                 "For https:// URLs: do not verify the server's certificate and host name");
    app.add_flag("-v,--verbose", invocation.verbose,
                 "After the command, show on stderr the HTTP requests made and the bytes fetched");
    app.footer("Formats (detected by content when reading): " + format_names(registry) +
               "\nRun 'owf COMMAND --help' for a command's options and an example.");
    add_inspect_command(app, invocation);
    add_convert_command(app, invocation);
    add_diff_command(app, invocation);
    add_verify_command(app, invocation);
    add_hash_command(app, invocation);
    add_meta_command(app, invocation);
    add_sign_command(app, invocation);

    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& done) {  // --help, --version
      return app.exit(done);
    } catch (const CLI::ParseError& error) {
      // CLI11 reports a mistyped command as a missing one; name what was typed.
      const auto unparsed = app.remaining();
      if (app.get_subcommands().empty() && !unparsed.empty()) {
        const bool option = unparsed.front().starts_with('-');
        print_error(std::string(option ? "unknown option '" : "unknown command '") + unparsed.front() +
                    "' (run 'owf --help')");
      } else {
        print_error(error.what());
      }
      return kExitError;
    }
    if (invocation.verbose) {
      const owf::HttpStatistics http = owf::http_statistics();
      std::fprintf(stderr, "owf: HTTP: %llu requests (%llu retried), %llu bytes fetched\n",
                   static_cast<unsigned long long>(http.requests), static_cast<unsigned long long>(http.retries),
                   static_cast<unsigned long long>(http.bytes));
    }
    if (!invocation.outcome) {
      print_error("no command ran");
      return kExitError;
    }
    if (!invocation.outcome->ok()) {
      print_error(invocation.outcome->status().message());
      return kExitError;
    }
    return invocation.outcome->value();
  } catch (const std::exception& error) {
    // The library reports errors as values; this catches what std throws
    // (allocation failure) so that even then the user gets one line.
    print_error(std::string("unexpected failure: ") + error.what());
    return kExitError;
  }
}
