// validate_metadata: one UTF-8 JSON object, nested at most 64 deep.
#include "owf/metadata.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace owf {

TEST_CASE("metadata must be one JSON object") {
  CHECK(validate_metadata("{}", "m.owf").ok());
  CHECK(validate_metadata(R"({"a":[1,{"b":null}],"é":"🙂"})", "m.owf").ok());
  CHECK(validate_metadata("[]", "m.owf").message() == "m.owf: metadata must be a JSON object, not an array");
  CHECK(validate_metadata("3", "m.owf").message() == "m.owf: metadata must be a JSON object, not a number");
  CHECK(validate_metadata("", "m.owf").message().find("m.owf: metadata is not valid JSON") == 0);
  CHECK(validate_metadata("{} {}", "m.owf").message().find("m.owf: metadata is not valid JSON") == 0);
  CHECK(validate_metadata(R"({"a":1,})", "m.owf").code() == ErrorCode::kCorruption);
}

TEST_CASE("metadata must be valid UTF-8") {
  const Status status = validate_metadata("{\"k\":\"\xC3\x28\"}", "m.owf");
  CHECK(status.message() == "m.owf: metadata is not valid UTF-8 at byte 6");
}

TEST_CASE("nesting is limited to 64 levels and checked before parsing") {
  const auto nested = [](std::size_t depth) {
    return "{\"a\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  CHECK(validate_metadata(nested(64), "m.owf").ok());
  CHECK(validate_metadata(nested(65), "m.owf").message() == "m.owf: metadata nests deeper than 64 levels at byte 68");
  // Brackets inside strings do not count, escaped quotes do not end strings.
  CHECK(validate_metadata(R"({"a":"[[[[\"[[[[", "b":"}}}"})", "m.owf").ok());

  // A megabyte of '[' is refused at once, not parsed recursively.
  const std::string deep = "{\"a\":" + std::string(1 << 20, '[');
  const auto start = std::chrono::steady_clock::now();
  CHECK(validate_metadata(deep, "m.owf").message().find("nests deeper than 64 levels") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("the JSON rules of spec §8.1: BOM, surrogates, unique keys, number ranges") {
  const auto message = [](std::string_view json) { return validate_metadata(json, "m.owf").message(); };
  CHECK(message("\xEF\xBB\xBF{}") == "m.owf: metadata starts with a byte-order mark");
  CHECK(validate_metadata(R"({"a":"\ud83d\ude00","b":"\u0000"})", "m.owf").ok());            // a pair; NUL escaped
  CHECK(message(R"({"a":"\ude00\ud83d"})").find("m.owf: metadata is not valid JSON") == 0);  // reversed
  CHECK(message(R"({"a":"\ud800"})").find("m.owf: metadata is not valid JSON") == 0);
  CHECK(message(R"({"a":1,"b":{"c":[{"d":1,"d":2}]}})") == "m.owf: metadata duplicate key 'd' in /b/c");
  CHECK(message(R"({"a":1,"a":1})") == "m.owf: metadata duplicate key 'a' in /");
  CHECK(validate_metadata(R"({"a":{"k":1},"b":{"k":1}})", "m.owf").ok());  // unique per object
  CHECK(validate_metadata(R"({"a":[18446744073709551615,-9223372036854775808,-0,1e-400,1.5e308]})", "m.owf").ok());
  CHECK(message(R"({"a":{"b":-9223372036854775809}})") ==
        "m.owf: metadata integer -9223372036854775809 at /a/b is outside -2^63..2^64-1");
  CHECK(message(R"({"a":1e400})").find("m.owf: metadata is not valid JSON: number overflow") == 0);
  CHECK(validate_metadata(R"({"a":18446744073709551616.0})", "m.owf").ok());  // not an integer: a double
}

TEST_CASE("library_version is the project version") { CHECK(library_version() == OWF_TEST_PROJECT_VERSION); }

TEST_CASE("SPDX license expressions: syntax of SPDX 2.3 Annex D") {
  for (const char* valid : {"MIT", "Apache-2.0 OR MIT", "GPL-2.0-or-later WITH Classpath-exception-2.0",
                            "(MIT AND BSD-3-Clause) OR Apache-2.0", "LicenseRef-my.license", "GPL-2.0+",
                            "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "mit or apache-2.0", "((MIT))"}) {
    CAPTURE(valid);
    CHECK(check_spdx_expression(valid).ok());
  }
  for (const char* invalid : {"", "Apache 2.0", "MIT OR", "(MIT", "MIT)", "MIT AND OR BSD-3-Clause",
                              "MIT Or BSD-3-Clause", "MIT WITH", "a/b", "LicenseRef-", "x:LicenseRef-y", "+"}) {
    CAPTURE(invalid);
    const Status status = check_spdx_expression(invalid);
    CHECK(status.code() == ErrorCode::kInvalidArgument);
    CHECK(status.message().find("is not an SPDX license expression") != std::string::npos);
  }
  CHECK(check_spdx_expression("Apache 2.0").message() ==
        "'Apache 2.0' is not an SPDX license expression: unexpected '2.0' at character 8");
  CHECK(check_spdx_expression(std::string(100, '(') + "MIT" + std::string(100, ')')).message().find("too deep") !=
        std::string::npos);
}

}  // namespace owf
