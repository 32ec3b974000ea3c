// owf diff: compares two models of any formats: which tensors exist on one
// side only or were renamed, shape and dtype changes, value differences within
// tolerance (streamed in bounded runs) and metadata differences by JSON path.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cli.h"
#include "json_util.h"
#include "owf/digest.h"
#include "owf/numeric.h"
#include "owf/text.h"
#include "owf/threads.h"
#include "progress.h"
#include "values.h"

namespace owf::cli {
namespace {

struct DiffOptions {
  std::string a;
  std::string b;
  std::string key;
  std::optional<double> atol;
  std::optional<double> rtol;
  bool strict_dtype = false;
  bool nan_unequal = false;
  bool quiet = false;
  bool json = false;
  bool ignore_metadata = false;
  std::uint64_t show = 0;  // -n: differing elements to list per tensor
};

struct Tolerance {
  double rtol = 0;
  double atol = 0;
  // Same dtype and no --atol/--rtol: every change of an element's bits counts,
  // except that NaN equals NaN (unless --nan-unequal).
  bool exact = false;
};

// torch.testing.assert_close's defaults; integers and everything else exact.
Tolerance default_tolerance(DType dtype) {
  switch (dtype) {
    case DType::kF16: return {1e-3, 1e-5};
    case DType::kBF16: return {1.6e-2, 1e-5};
    case DType::kF32: return {1.3e-6, 1e-5};
    case DType::kF64: return {1e-7, 1e-7};
    default: return {0, 0};
  }
}

// Exact for equal dtypes; for a dtype change the looser default of the pair
// (the less precise dtype's). --atol and --rtol override either.
Tolerance tolerance_for(DType a, DType b, const DiffOptions& options) {
  if (a == b && !options.atol && !options.rtol) return {0, 0, true};
  const Tolerance ta = a == b ? Tolerance{} : default_tolerance(a);
  const Tolerance tb = a == b ? Tolerance{} : default_tolerance(b);
  return {options.rtol.value_or(std::max(ta.rtol, tb.rtol)), options.atol.value_or(std::max(ta.atol, tb.atol)), false};
}

// Values are compared when both dtypes decode to real numbers; complex tensors
// (whose decoding keeps only the real part) and undecodable ones are compared
// byte for byte when their dtypes are equal.
bool values_comparable(DType dtype) { return can_decode(dtype) && dtype_info(dtype).kind != DTypeKind::kComplex; }

struct ElementDifference {
  std::uint64_t index = 0;
  double a = 0;
  double b = 0;
};

// The comparison of one tensor present (by name) in both models.
struct TensorComparison {
  std::size_t index_a = 0;
  std::size_t index_b = 0;
  bool shape_changed = false;
  bool dtype_changed = false;
  bool values_compared = false;  // element by element, within tolerance
  bool bytes_compared = false;   // byte for byte (see values_comparable)
  std::string not_compared;      // why neither was possible
  Tolerance tolerance;
  std::uint64_t elements = 0;
  std::uint64_t mismatched = 0;  // elements (or, for bytes_compared, 1 if any byte differs)
  double max_abs = 0;
  std::uint64_t max_abs_index = 0;
  double max_rel = 0;
  std::uint64_t max_rel_index = 0;
  std::uint64_t finite_pairs = 0;
  double squared_error = 0;
  double dot = 0;
  double norm_a = 0;
  double norm_b = 0;
  std::optional<ElementDifference> first_difference;  // like cmp's "differ: byte N"
  std::vector<ElementDifference> listed;

  double mismatched_percent() const {
    return elements == 0 ? 0.0 : 100.0 * static_cast<double>(mismatched) / static_cast<double>(elements);
  }
  double rmse() const { return finite_pairs == 0 ? 0.0 : std::sqrt(squared_error / static_cast<double>(finite_pairs)); }
  double cosine() const {
    if (norm_a == 0 && norm_b == 0) return 1.0;
    if (norm_a == 0 || norm_b == 0) return 0.0;
    return dot / std::sqrt(norm_a * norm_b);
  }
  bool differs(bool strict_dtype) const {
    return shape_changed || (dtype_changed && strict_dtype) || mismatched > 0 || !not_compared.empty();
  }

  // `same_bits`: whether the two elements are stored alike, for exact comparison.
  void add(std::uint64_t index, double a, double b, bool same_bits, const DiffOptions& options) {
    const bool a_nan = std::isnan(a);
    const bool b_nan = std::isnan(b);
    bool equal;
    if (a_nan || b_nan) {
      equal = a_nan && b_nan && !options.nan_unequal;
    } else {
      const double abs_diff = a == b ? 0.0 : std::fabs(a - b);  // a == b also for equal infinities
      const double rel_diff = abs_diff == 0 ? 0.0 : abs_diff / std::fabs(b);
      equal = tolerance.exact ? same_bits : abs_diff <= tolerance.atol + tolerance.rtol * std::fabs(b);
      if (abs_diff > max_abs) {
        max_abs = abs_diff;
        max_abs_index = index;
      }
      if (rel_diff > max_rel) {
        max_rel = rel_diff;
        max_rel_index = index;
      }
      if (std::isfinite(a) && std::isfinite(b)) {
        ++finite_pairs;
        squared_error += abs_diff * abs_diff;
        dot += a * b;
        norm_a += a * a;
        norm_b += b * b;
      }
    }
    if (!equal) {
      if (mismatched++ == 0) first_difference = ElementDifference{index, a, b};
      if (listed.size() < options.show) listed.push_back({index, a, b});
    }
  }
};

struct MetadataDifference {
  std::string path;       // JSON pointer
  std::optional<Json> a;  // absent: only in B
  std::optional<Json> b;  // absent: only in A

  // The user's keys count. Provenance (how the file was made: every
  // conversion changes it), the sections owf keeps for the formats it converts
  // from and the "format" entry the safetensors writer adds for transformers
  // are listed but do not make two models differ.
  bool counts() const {
    static constexpr std::string_view kCarried[] = {"/provenance", "/gguf", "/safetensors", "/pytorch",
                                                    "/onnx",       "/hf",   "/format"};
    return std::none_of(std::begin(kCarried), std::end(kCarried), [this](std::string_view root) {
      return path == root || (path.starts_with(root) && path[root.size()] == '/');
    });
  }
};

struct DiffReport {
  std::vector<std::size_t> only_in_a;
  std::vector<std::size_t> only_in_b;
  std::vector<std::pair<std::size_t, std::size_t>> renamed;  // (index in A, index in B)
  std::vector<TensorComparison> common;
  std::vector<MetadataDifference> metadata;

  bool differs(bool strict_dtype) const {
    return !only_in_a.empty() || !only_in_b.empty() || !renamed.empty() ||
           std::any_of(metadata.begin(), metadata.end(), [](const MetadataDifference& m) { return m.counts(); }) ||
           std::any_of(common.begin(), common.end(),
                       [strict_dtype](const TensorComparison& c) { return c.differs(strict_dtype); });
  }
};

// A digest of a tensor's dtype, shape and bytes but not its name, to find
// tensors that were only renamed.
Result<Digest> data_digest(const Model& model, std::size_t index) {
  TensorInfo anonymous = model.tensors()[index];
  anonymous.name = "-";
  TensorDigester digester(anonymous);
  OWF_RETURN_IF_ERROR(for_each_piece(model, index, [&digester](std::uint64_t, std::span<const std::byte> bytes) {
    digester.update(bytes);
    return Status();
  }));
  return digester.finish();
}

// Counts the bytes of A compared so far; called from several threads.
using DiffProgress = std::function<void(std::uint64_t bytes)>;

// Whether tensors of the same dtype and shape hold the same bytes: the cheap
// test that settles most comparisons (equal bytes are equal values). Sets
// `compared` to the bytes it got through, all of them when they are equal.
Result<bool> same_bytes(const Model& a, std::size_t index_a, const Model& b, std::size_t index_b,
                        const DiffProgress& progress, std::uint64_t& compared) {
  bool same = true;
  OWF_RETURN_IF_ERROR(
      for_each_piece_pair(a, index_a, b, index_b, [&](std::uint64_t offset, auto piece_a, auto piece_b) {
        same = std::memcmp(piece_a.data(), piece_b.data(), piece_a.size()) == 0;
        compared = offset + piece_a.size();
        progress(piece_a.size());
        return same;
      }));
  return same;
}

// Compares element values with statistics; `counted` bytes of A were already
// counted as progress (by same_bytes).
Status compare_values(const Model& a, const Model& b, const DiffOptions& options, const DiffProgress& progress,
                      std::uint64_t counted, TensorComparison& comparison) {
  const TensorInfo& info_a = a.tensors()[comparison.index_a];
  const TensorInfo& info_b = b.tensors()[comparison.index_b];
  // Plain dtypes compare stored elements bit for bit; packed and block ones
  // (whose bytes are not one per element) compare their decoded values' bits.
  const std::uint32_t width = info_a.dtype == info_b.dtype ? dtype_info(info_a.dtype).element_bytes() : 0;
  std::vector<std::byte> bytes_a, bytes_b;
  std::vector<double> values_a, values_b;
  comparison.values_compared = true;
  const auto fetch = [](const Model& model, std::size_t index, std::uint64_t first, std::uint64_t count,
                        std::vector<std::byte>& bytes, std::vector<double>& values) -> Status {
    const TensorInfo& info = model.tensors()[index];
    const ByteRange range = element_bytes(info, first, count);
    bytes.resize(range.end - range.begin);
    values.resize(count);
    OWF_RETURN_IF_ERROR(model.read(index, range.begin, bytes));
    return decode_to_f64(info.dtype, bytes, values).with_context("tensor " + quote(info.name));
  };
  return for_each_run(0, comparison.elements, common_block(info_a.dtype, info_b.dtype),
                      [&](std::uint64_t first, std::uint64_t count) -> Status {
                        OWF_RETURN_IF_ERROR(fetch(a, comparison.index_a, first, count, bytes_a, values_a));
                        OWF_RETURN_IF_ERROR(fetch(b, comparison.index_b, first, count, bytes_b, values_b));
                        const std::uint64_t end = element_bytes(info_a, first, count).end;
                        if (end > counted) progress(end - std::exchange(counted, end));
                        for (std::uint64_t k = 0; k < count; ++k) {
                          const bool same_bits = width != 0
                                                     ? std::memcmp(&bytes_a[k * width], &bytes_b[k * width], width) == 0
                                                     : std::memcmp(&values_a[k], &values_b[k], sizeof(double)) == 0;
                          comparison.add(first + k, values_a[k], values_b[k], same_bits, options);
                        }
                        return {};
                      });
}

Result<TensorComparison> compare_tensor(const Model& a, std::size_t index_a, const Model& b, std::size_t index_b,
                                        const DiffOptions& options, const DiffProgress& progress) {
  const TensorInfo& info_a = a.tensors()[index_a];
  const TensorInfo& info_b = b.tensors()[index_b];
  TensorComparison comparison;
  comparison.index_a = index_a;
  comparison.index_b = index_b;
  comparison.shape_changed = info_a.shape != info_b.shape;
  comparison.dtype_changed = info_a.dtype != info_b.dtype;
  comparison.tolerance = tolerance_for(info_a.dtype, info_b.dtype, options);
  comparison.elements = element_count_of(info_a);
  if (comparison.shape_changed) return comparison;  // values of different shapes do not correspond
  const bool values = values_comparable(info_a.dtype) && values_comparable(info_b.dtype);
  std::uint64_t counted = 0;
  // Equal bytes settle it, unless equal NaNs are to count as different.
  if (!comparison.dtype_changed && !(values && options.nan_unequal)) {
    OWF_ASSIGN_OR_RETURN(const bool same, same_bytes(a, index_a, b, index_b, progress, counted));
    comparison.values_compared = values && same;
    comparison.bytes_compared = !values;
    comparison.mismatched = same ? 0 : 1;
    if (same || !values) return comparison;
    comparison.mismatched = 0;
  }
  if (values) {
    OWF_RETURN_IF_ERROR(compare_values(a, b, options, progress, counted, comparison));
  } else {
    comparison.not_compared = "values of " + std::string(dtype_info(info_a.dtype).name) + " and " +
                              std::string(dtype_info(info_b.dtype).name) + " cannot be compared";
  }
  return comparison;
}

// RFC 6901: "~" and "/" in a key are escaped.
std::string pointer_token(const std::string& key) {
  std::string token;
  for (const char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return token;
}

// Differences between two JSON values, by JSON pointer. Metadata was checked
// to be at most 64 levels deep when it was parsed, which bounds the recursion.
void diff_json(const Json& a, const Json& b, const std::string& path, std::vector<MetadataDifference>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      const std::string child = path + "/" + pointer_token(key);
      if (b.contains(key)) {
        diff_json(value, b[key], child, out);
      } else {
        out.push_back({child, value, std::nullopt});
      }
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) out.push_back({path + "/" + pointer_token(key), std::nullopt, value});
    }
  } else if (a.is_array() && b.is_array()) {
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      const std::string child = path + "/" + std::to_string(i);
      if (i >= b.size()) {
        out.push_back({child, a[i], std::nullopt});
      } else if (i >= a.size()) {
        out.push_back({child, std::nullopt, b[i]});
      } else {
        diff_json(a[i], b[i], child, out);
      }
    }
  } else if (a != b) {
    out.push_back({path.empty() ? "/" : path, a, b});
  }
}

// Name -> index, so that matching tensors by name stays linear in their count.
std::unordered_map<std::string_view, std::size_t> index_by_name(const Model& model) {
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(model.tensors().size());
  for (std::size_t i = 0; i < model.tensors().size(); ++i) index.emplace(model.tensors()[i].name, i);
  return index;
}

Result<DiffReport> build_report(const Invocation& invocation, const Model& a, const Model& b,
                                const DiffOptions& options) {
  DiffReport report;
  const auto in_a = index_by_name(a), in_b = index_by_name(b);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t i = 0; i < a.tensors().size(); ++i) {
    if (const auto j = in_b.find(a.tensors()[i].name); j != in_b.end()) {
      pairs.emplace_back(i, j->second);
    } else {
      report.only_in_a.push_back(i);
    }
  }
  for (std::size_t j = 0; j < b.tensors().size(); ++j) {
    if (!in_a.contains(b.tensors()[j].name)) report.only_in_b.push_back(j);
  }
  // Tensors are compared on several threads, each into its own slot.
  std::uint64_t total = 0;
  for (const auto& pair : pairs) total += a.tensors()[pair.first].byte_size;
  ProgressLine progress(invocation.quiet || options.quiet, "comparing", total);
  const DiffProgress count = [&progress](std::uint64_t bytes) { progress.add(bytes); };
  report.common.resize(pairs.size());
  OWF_RETURN_IF_ERROR(parallel_for(pairs.size(), invocation.threads, [&](std::size_t k, unsigned) -> Status {
    OWF_ASSIGN_OR_RETURN(report.common[k], compare_tensor(a, pairs[k].first, b, pairs[k].second, options, count));
    return {};
  }));
  // A tensor on each side with the same data is a rename.
  std::multimap<Digest, std::size_t> b_by_data;
  for (const std::size_t j : report.only_in_b) {
    OWF_ASSIGN_OR_RETURN(const Digest digest, data_digest(b, j));
    b_by_data.emplace(digest, j);
  }
  std::vector<std::size_t> unmatched_a;
  std::unordered_set<std::size_t> renamed_b;
  for (const std::size_t i : report.only_in_a) {
    OWF_ASSIGN_OR_RETURN(const Digest digest, data_digest(a, i));
    if (const auto match = b_by_data.find(digest); match != b_by_data.end()) {
      report.renamed.emplace_back(i, match->second);
      renamed_b.insert(match->second);
      b_by_data.erase(match);
    } else {
      unmatched_a.push_back(i);
    }
  }
  report.only_in_a = std::move(unmatched_a);
  std::erase_if(report.only_in_b, [&renamed_b](std::size_t j) { return renamed_b.contains(j); });
  if (!options.ignore_metadata) {
    OWF_ASSIGN_OR_RETURN(const Json metadata_a, parse_metadata(a.metadata(), options.a));
    OWF_ASSIGN_OR_RETURN(const Json metadata_b, parse_metadata(b.metadata(), options.b));
    diff_json(metadata_a, metadata_b, "", report.metadata);
  }
  return report;
}

// Enough digits to tell float32 values apart.
std::string number(double value) { return format_number(value, 9); }

std::string describe(const TensorInfo& info) {
  return quote(info.name) + " " + std::string(dtype_info(info.dtype).name) + " " + format_dims(info.shape);
}

std::string at_index(std::uint64_t flat, const TensorInfo& info) {
  return "at " + std::to_string(flat) + " " + format_dims(unflatten_index(flat, info.shape));
}

std::string render_text(const Model& a, const Model& b, const DiffReport& report, const DiffOptions& options) {
  std::string out;
  for (const std::size_t i : report.only_in_a) out += "only in A: " + describe(a.tensors()[i]) + "\n";
  for (const std::size_t j : report.only_in_b) out += "only in B: " + describe(b.tensors()[j]) + "\n";
  for (const auto& [i, j] : report.renamed) {
    out += "renamed: " + quote(a.tensors()[i].name) + " -> " + quote(b.tensors()[j].name) + " (same data)\n";
  }
  std::size_t differing = 0;
  for (const auto& c : report.common) {
    const TensorInfo& info_a = a.tensors()[c.index_a];
    const TensorInfo& info_b = b.tensors()[c.index_b];
    const std::string name = quote(info_a.name);
    if (c.differs(options.strict_dtype)) ++differing;
    if (c.shape_changed)
      out += "shape: " + name + " " + format_dims(info_a.shape) + " -> " + format_dims(info_b.shape) + "\n";
    if (c.dtype_changed) {
      out += "dtype: " + name + " " + std::string(dtype_info(info_a.dtype).name) + " -> " +
             std::string(dtype_info(info_b.dtype).name) + "\n";
    }
    if (!c.not_compared.empty()) out += "tensor " + name + ": " + c.not_compared + "\n";
    if (c.bytes_compared && c.mismatched > 0) out += "tensor " + name + ": bytes differ\n";
    if (!c.values_compared || (c.mismatched == 0 && !c.dtype_changed)) continue;
    const std::string tolerance = c.tolerance.exact
                                      ? std::string("exact")
                                      : "rtol " + number(c.tolerance.rtol) + ", atol " + number(c.tolerance.atol);
    const std::string first = c.first_difference
                                  ? "first at " + std::to_string(c.first_difference->index) + " " +
                                        format_dims(unflatten_index(c.first_difference->index, info_a.shape)) + " (" +
                                        number(c.first_difference->a) + " vs " + number(c.first_difference->b) + "); "
                                  : std::string();
    out += "tensor " + name + ": " + std::to_string(c.mismatched) + " of " + std::to_string(c.elements) +
           " elements differ (" + format_number(c.mismatched_percent(), 4) + "%, " + tolerance + "); " + first +
           "max abs diff " + number(c.max_abs) + " " + at_index(c.max_abs_index, info_a) + "; max rel diff " +
           number(c.max_rel) + " " + at_index(c.max_rel_index, info_a) + "; rmse " + number(c.rmse()) + "; cosine " +
           number(c.cosine()) + "\n";
    for (const auto& d : c.listed) {
      out += "  " + at_index(d.index, info_a) + ": " + number(d.a) + " vs " + number(d.b) + "\n";
    }
  }
  for (const auto& m : report.metadata) {
    const std::string note = m.counts()                          ? ""
                             : m.path.starts_with("/provenance") ? " (provenance: not counted)"
                                                                 : " (carried from a source format: not counted)";
    if (!m.b) {
      out += "metadata " + printable(m.path) + note + ": only in A: " + dump_json_for_terminal(*m.a, -1) + "\n";
    } else if (!m.a) {
      out += "metadata " + printable(m.path) + note + ": only in B: " + dump_json_for_terminal(*m.b, -1) + "\n";
    } else {
      out += "metadata " + printable(m.path) + note + ": " + dump_json_for_terminal(*m.a, -1) + " -> " +
             dump_json_for_terminal(*m.b, -1) + "\n";
    }
  }
  const bool differs = report.differs(options.strict_dtype);
  out += std::string(differs ? "different" : "equal") + ": " + std::to_string(report.common.size()) +
         " common tensors, " + std::to_string(differing) + " differ; " + std::to_string(report.only_in_a.size()) +
         " only in A, " + std::to_string(report.only_in_b.size()) + " only in B, " +
         std::to_string(report.renamed.size()) + " renamed; " +
         (options.ignore_metadata ? std::string("metadata ignored")
                                  : std::to_string(report.metadata.size()) + " metadata differences") +
         "\n";
  return out;
}

Json index_json(std::uint64_t flat, const TensorInfo& info) {
  return {{"flat", flat}, {"index", unflatten_index(flat, info.shape)}};
}

Json comparison_json(const Model& a, const Model& b, const TensorComparison& c, const DiffOptions& options) {
  const TensorInfo& info_a = a.tensors()[c.index_a];
  const TensorInfo& info_b = b.tensors()[c.index_b];
  Json entry = {{"name", info_a.name},
                {"dtype_a", dtype_info(info_a.dtype).name},
                {"dtype_b", dtype_info(info_b.dtype).name},
                {"shape_a", info_a.shape},
                {"shape_b", info_b.shape},
                {"equal", !c.differs(options.strict_dtype)},
                {"values_compared", c.values_compared},
                {"bytes_compared", c.bytes_compared}};
  if (!c.not_compared.empty()) entry["not_compared"] = c.not_compared;
  if (c.bytes_compared) entry["bytes_equal"] = c.mismatched == 0;
  if (!c.values_compared) return entry;
  Json listed = Json::array();
  for (const auto& d : c.listed) {
    Json element = index_json(d.index, info_a);
    element["a"] = d.a;
    element["b"] = d.b;
    listed.push_back(std::move(element));
  }
  if (c.first_difference) {
    Json first = index_json(c.first_difference->index, info_a);
    first["a"] = c.first_difference->a;
    first["b"] = c.first_difference->b;
    entry["first_difference"] = std::move(first);
  }
  entry.update({{"exact", c.tolerance.exact},
                {"rtol", c.tolerance.rtol},
                {"atol", c.tolerance.atol},
                {"elements", c.elements},
                {"mismatched", c.mismatched},
                {"mismatched_percent", c.mismatched_percent()},
                {"max_abs_diff", c.max_abs},
                {"max_abs_diff_at", index_json(c.max_abs_index, info_a)},
                {"max_rel_diff", c.max_rel},
                {"max_rel_diff_at", index_json(c.max_rel_index, info_a)},
                {"rmse", c.rmse()},
                {"cosine", c.cosine()},
                {"differences", listed}});
  return entry;
}

std::string render_json(const Model& a, const Model& b, const DiffReport& report, const DiffOptions& options) {
  const auto names = [](const Model& model, const std::vector<std::size_t>& indices) {
    Json list = Json::array();
    for (const std::size_t i : indices) list.push_back(model.tensors()[i].name);
    return list;
  };
  Json renamed = Json::array();
  for (const auto& [i, j] : report.renamed) renamed.push_back({{"a", a.tensors()[i].name}, {"b", b.tensors()[j].name}});
  Json tensors = Json::array();
  for (const auto& c : report.common) tensors.push_back(comparison_json(a, b, c, options));
  Json metadata = Json::array();
  for (const auto& m : report.metadata) {
    Json entry = {{"path", m.path}, {"counted", m.counts()}};
    if (m.a) entry["a"] = *m.a;
    if (m.b) entry["b"] = *m.b;
    metadata.push_back(std::move(entry));
  }
  const Json document = {{"a", options.a},
                         {"b", options.b},
                         {"equal", !report.differs(options.strict_dtype)},
                         {"only_in_a", names(a, report.only_in_a)},
                         {"only_in_b", names(b, report.only_in_b)},
                         {"renamed", renamed},
                         {"tensors", tensors},
                         {"metadata_ignored", options.ignore_metadata},
                         {"metadata", metadata}};
  return dump_json_for_terminal(document, 2) + "\n";
}

Outcome run_diff(const Invocation& invocation, const DiffOptions& options) {
  OWF_ASSIGN_OR_RETURN(const OpenedModel a,
                       open_model(invocation, options.a, options.key));
  OWF_ASSIGN_OR_RETURN(const OpenedModel b,
                       open_model(invocation, options.b, options.key));
  OWF_ASSIGN_OR_RETURN(const DiffReport report, build_report(invocation, *a.model, *b.model, options));
  if (!options.quiet) {
    const std::string text = options.json ? render_json(*a.model, *b.model, report, options)
                                          : render_text(*a.model, *b.model, report, options);
    std::fputs(text.c_str(), stdout);
  }
  return report.differs(options.strict_dtype) ? kExitDifferent : kExitOk;
}

}  // namespace

void add_diff_command(CLI::App& app, Invocation& invocation) {
  auto options = std::make_shared<DiffOptions>();
  CLI::App* command = app.add_subcommand(
      "diff",
      "Compare the tensors and metadata of two models (any formats); exit 0 equal, 1 different, 2 error. "
      "Tensors of the same dtype compare exactly (NaN equals NaN); a dtype change compares within "
      "torch.testing.assert_close's tolerances. Differences in provenance, in the sections carried from other "
      "formats (gguf, safetensors, pytorch, onnx, hf) and in 'format' are listed but not counted.");
  command->add_option("A", options->a, "First model file")->required();
  command->add_option("B", options->b, "Second model file")->required();
  command->add_option("--atol", options->atol,
                      "Absolute tolerance: equal when |a-b| <= atol + rtol*|b|. Default: exact when the dtypes are "
                      "equal; else per dtype as torch.testing.assert_close, from the less precise dtype");
  command->add_option("--rtol", options->rtol, "Relative tolerance (default: see --atol)");
  command->add_flag("--strict-dtype", options->strict_dtype, "Count a dtype change as a difference");
  command->add_flag("--nan-unequal", options->nan_unequal, "NaN differs from NaN (by default they are equal)");
  command->add_option("-n", options->show, "List the first N differing elements of each tensor")->type_name("N");
  command->add_flag("-q,--quiet", options->quiet, "Print nothing; only the exit code tells");
  command->add_flag("--json", options->json, "Print one JSON document");
  command->add_flag("--ignore-metadata", options->ignore_metadata, "Compare tensors only");
  add_key_option(*command, options->key);
  command->footer(
      "Example:\n"
      "  owf diff model.safetensors model-f16.owf --ignore-metadata -n 5");
  command->callback([&invocation, options] { invocation.outcome = run_diff(invocation, *options); });
}

}  // namespace owf::cli
