#include "pytorch/checkpoint.h"

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

#include "owf/internal/checked.h"
#include "owf/model.h"
#include "owf/text.h"

namespace owf::formats::pytorch {
namespace {

// Guards against pickles whose memo sharing makes the flattened tree
// exponentially larger than the pickle.
constexpr std::size_t kMaxVisits = std::size_t{1} << 22;

bool is_container(const Value& value) {
  return value.kind == ValueKind::kDict || value.kind == ValueKind::kList || value.kind == ValueKind::kTuple;
}

// The path segment of a dict key; only str and int keys can name tensors.
std::optional<std::string> key_segment(const Value& key) {
  if (key.kind == ValueKind::kString) return key.text;
  if (key.kind == ValueKind::kInt) return std::to_string(key.integer);
  return std::nullopt;
}

std::string join(const std::string& path, std::string_view segment) {
  return path.empty() ? std::string(segment) : path + "." + std::string(segment);
}

// Everything that makes two tensors the same view of the same bytes.
std::string view_identity(const TensorRef& tensor) {
  std::string identity = tensor.storage->storage->key;
  identity += '|' + std::to_string(static_cast<unsigned>(tensor.dtype)) + '|' + std::to_string(tensor.storage_offset);
  for (const auto dim : tensor.shape) identity += ',' + std::to_string(dim);
  identity += '|';
  for (const auto stride : tensor.strides) identity += ',' + std::to_string(stride);
  return identity;
}

class Flattener {
 public:
  explicit Flattener(std::string_view where) : where_(where) {}

  Status flatten(const Value& value, const std::string& path, std::size_t depth, bool expand) {
    OWF_RETURN_IF_ERROR(visit(depth, path));
    if (value.kind == ValueKind::kTensor) return add_tensor(*value.tensor, path.empty() ? "tensor" : path);
    OWF_ASSIGN_OR_RETURN(const bool has_tensor, contains_tensor(value, depth));
    if (!is_container(value) || (!has_tensor && !expand)) {
      out_.values.emplace_back(path, &value);
      return {};
    }
    if (value.kind == ValueKind::kDict) {
      for (const auto& [key, item] : value.entries) {
        const auto segment = key_segment(*key);
        if (!segment) {
          return Status::not_supported(std::string(where_) + ": a dict key of type " +
                                       std::string(kind_name(key->kind)) + " under " + quote(path) +
                                       " cannot name a tensor (only str and int keys can)");
        }
        OWF_RETURN_IF_ERROR(flatten(*item, join(path, *segment), depth + 1, false));
      }
      return {};
    }
    for (std::size_t i = 0; i < value.items.size(); ++i) {
      OWF_RETURN_IF_ERROR(flatten(*value.items[i], join(path, std::to_string(i)), depth + 1, false));
    }
    return {};
  }

  // The subtree at dotted `key`: dict keys may themselves contain dots, so the
  // longest key that matches a prefix of what remains wins.
  Result<const Value*> select(const Value& root, std::string_view key) const {
    const Value* node = &root;
    std::string_view rest = key;
    for (std::size_t depth = 0; !rest.empty(); ++depth) {
      if (depth > kMaxNesting) break;
      const Value* next = nullptr;
      std::size_t consumed = 0;
      const auto consider = [&](std::string_view segment, const Value* child) {
        const bool matches = rest == segment ||
                             (rest.size() > segment.size() && rest.starts_with(segment) && rest[segment.size()] == '.');
        if (matches && segment.size() >= consumed) next = child, consumed = segment.size();
      };
      if (node->kind == ValueKind::kDict) {
        for (const auto& [child_key, child] : node->entries) {
          if (const auto segment = key_segment(*child_key)) consider(*segment, child);
        }
      } else if (node->kind == ValueKind::kList || node->kind == ValueKind::kTuple) {
        for (std::size_t i = 0; i < node->items.size(); ++i) consider(std::to_string(i), node->items[i]);
      }
      if (!next) break;
      node = next;
      rest.remove_prefix(std::min(rest.size(), consumed + 1));
    }
    if (rest.empty()) return node;
    std::string message = std::string(where_) + ": key " + quote(key) + " not found";
    if (root.kind == ValueKind::kDict) {
      message += "; top-level keys:";
      for (const auto& entry : root.entries) message += " " + key_segment(*entry.first).value_or("?");
    }
    return Status::not_found(message);
  }

  Flattened take() { return std::move(out_); }

 private:
  Status visit(std::size_t depth, const std::string& path) {
    if (depth > kMaxNesting) {
      return Status::not_supported(std::string(where_) + ": checkpoint nests deeper than " +
                                   std::to_string(kMaxNesting) + " levels at " + quote(path) +
                                   " (or contains a cycle)");
    }
    if (++visits_ > kMaxVisits) {
      return Status::not_supported(std::string(where_) + ": checkpoint expands to more than " +
                                   std::to_string(kMaxVisits) + " values");
    }
    return {};
  }

  Result<bool> contains_tensor(const Value& value, std::size_t depth) {
    if (value.kind == ValueKind::kTensor) return true;
    if (!is_container(value)) return false;
    if (const auto known = has_tensor_.find(&value); known != has_tensor_.end()) return known->second;
    OWF_RETURN_IF_ERROR(visit(depth, "?"));
    bool found = false;
    for (const Value* item : value.items) {
      OWF_ASSIGN_OR_RETURN(found, contains_tensor(*item, depth + 1));
      if (found) break;
    }
    for (std::size_t i = 0; !found && i < value.entries.size(); ++i) {
      OWF_ASSIGN_OR_RETURN(found, contains_tensor(*value.entries[i].second, depth + 1));
    }
    has_tensor_[&value] = found;
    return found;
  }

  Status add_tensor(const TensorRef& tensor, const std::string& name) {
    OWF_RETURN_IF_ERROR(check_tensor_count(out_.tensors.size() + 1, where_));
    if (!names_.insert(name).second) {
      return Status::corruption(std::string(where_) + ": tensor name " + quote(name) +
                                " occurs twice after flattening");
    }
    const auto [first, inserted] = first_view_.emplace(view_identity(tensor), name);
    if (!inserted) out_.tied.emplace_back(name, first->second);
    out_.tensors.push_back({name, &tensor});
    return {};
  }

  std::string_view where_;
  Flattened out_;
  std::size_t visits_ = 0;
  std::set<std::string> names_;
  std::unordered_map<std::string, std::string> first_view_;
  std::unordered_map<const Value*, bool> has_tensor_;
};

}  // namespace

Result<Flattened> flatten_checkpoint(const Value& root, std::string_view key, std::string_view where) {
  Flattener flattener(where);
  OWF_ASSIGN_OR_RETURN(const Value* subtree, flattener.select(root, key));
  // A checkpoint is a mapping of names to tensors (and other values) or one tensor; anything else
  // (None, a number, a list) is not weights, even when it unpickles.
  if (subtree->kind != ValueKind::kDict && subtree->kind != ValueKind::kTensor) {
    return Status::not_supported(std::string(where) + ": " + (key.empty() ? "the checkpoint" : "key " + quote(key)) +
                                 " holds " + std::string(kind_name(subtree->kind)) +
                                 ", not a mapping of tensors or a tensor");
  }
  const std::string prefix = subtree->kind == ValueKind::kTensor ? std::string(key) : std::string();
  OWF_RETURN_IF_ERROR(flattener.flatten(*subtree, prefix, 0, true));
  return flattener.take();
}

}  // namespace owf::formats::pytorch
