#include "pytorch/pickle.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <optional>
#include <unordered_map>

#include "owf/internal/bytes.h"
#include "owf/text.h"
#include "pytorch/torch_types.h"

namespace owf::formats::pytorch {
namespace {

// Opcode bytes, as Lib/pickletools.py documents them.
// clang-format off
enum Op : std::uint8_t {
  kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2',
  kFloat = 'F', kInt = 'I', kBinInt = 'J', kBinInt1 = 'K', kLong = 'L', kBinInt2 = 'M', kNone = 'N',
  kPersId = 'P', kBinPersId = 'Q', kReduce = 'R', kString = 'S', kBinString = 'T', kShortBinString = 'U',
  kUnicode = 'V', kBinUnicode = 'X', kAppend = 'a', kBuild = 'b', kGlobal = 'c', kDict = 'd',
  kEmptyDict = '}', kAppends = 'e', kGet = 'g', kBinGet = 'h', kInst = 'i', kLongBinGet = 'j',
  kList = 'l', kEmptyList = ']', kObj = 'o', kPut = 'p', kBinPut = 'q', kLongBinPut = 'r',
  kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u', kBinFloat = 'G',
  kBinBytes = 'B', kShortBinBytes = 'C',
  kProto = 0x80, kNewObj = 0x81, kExt1 = 0x82, kExt2 = 0x83, kExt4 = 0x84, kTuple1 = 0x85,
  kTuple2 = 0x86, kTuple3 = 0x87, kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a, kLong4 = 0x8b,
  kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d, kBinBytes8 = 0x8e, kEmptySet = 0x8f, kAddItems = 0x90,
  kFrozenSet = 0x91, kNewObjEx = 0x92, kStackGlobal = 0x93, kMemoize = 0x94, kFrame = 0x95,
  kByteArray8 = 0x96, kNextBuffer = 0x97, kReadonlyBuffer = 0x98,
};
// clang-format on

constexpr std::uint8_t kHighestProtocol = 5;

// Opcodes that construct arbitrary classes or need out-of-band data: never run.
std::optional<std::string_view> forbidden_opcode_name(std::uint8_t op) {
  switch (op) {
    case kInst: return "INST";
    case kObj: return "OBJ";
    case kNewObj: return "NEWOBJ";
    case kNewObjEx: return "NEWOBJ_EX";
    case kExt1: return "EXT1";
    case kExt2: return "EXT2";
    case kExt4: return "EXT4";
    case kNextBuffer: return "NEXT_BUFFER";
    case kReadonlyBuffer: return "READONLY_BUFFER";
    default: return std::nullopt;
  }
}

// Decodes the UTF-8 sequence at text[*at]; nullopt when it is not well formed.
std::optional<char32_t> next_code_point(std::string_view text, std::size_t* at) {
  const std::size_t length = utf8_sequence_length(text, *at);
  if (length == 0) return std::nullopt;
  constexpr std::array<std::uint8_t, 5> kLeadBits{0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t point = static_cast<std::uint8_t>(text[*at]) & kLeadBits[length];
  for (std::size_t i = 1; i < length; ++i) point = (point << 6) | (static_cast<std::uint8_t>(text[*at + i]) & 0x3F);
  *at += length;
  return point;
}

void append_utf8(std::string& out, char32_t point) {
  if (point < 0x80) {
    out += static_cast<char>(point);
  } else if (point < 0x800) {
    out += static_cast<char>(0xC0 | (point >> 6));
    out += static_cast<char>(0x80 | (point & 0x3F));
  } else if (point < 0x10000) {
    out += static_cast<char>(0xE0 | (point >> 12));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (point >> 18));
    out += static_cast<char>(0x80 | ((point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (point & 0x3F));
  }
}

std::optional<unsigned> hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

std::optional<std::uint32_t> parse_hex(std::string_view digits) {
  std::uint32_t value = 0;
  for (const char c : digits) {
    const auto digit = hex_digit(c);
    if (!digit) return std::nullopt;
    value = value * 16 + *digit;
  }
  return value;
}

class Machine {
 public:
  Machine(std::span<const std::byte> data, std::uint64_t base_offset, ValueArena& arena)
      : data_(data), cursor_(data, base_offset), arena_(arena) {}

  Result<Unpickled> run() {
    while (true) {
      op_offset_ = cursor_.offset();
      OWF_ASSIGN_OR_RETURN(const std::uint8_t op, cursor_.u8("pickle opcode"));
      if (op == kStop) {
        OWF_ASSIGN_OR_RETURN(Value * root, pop());
        return Unpickled{root, cursor_.position()};
      }
      OWF_RETURN_IF_ERROR(step(op));
    }
  }

 private:
  Status step(std::uint8_t op);

  Status corrupt(const std::string& message) const {
    return Status::corruption("offset " + std::to_string(op_offset_) + ": " + message);
  }
  Status refuse(const std::string& message) const {
    return Status::not_supported("offset " + std::to_string(op_offset_) + ": " + message);
  }

  // --- stack -------------------------------------------------------------
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }

  Status push(Value* value) {
    if (stack_.size() >= arena_.limits().max_stack) {
      return refuse("pickle stack exceeds " + std::to_string(arena_.limits().max_stack) + " entries");
    }
    stack_.push_back(value);
    return {};
  }
  Result<Value*> top() const {
    if (stack_.size() <= floor()) return corrupt("stack underflow");
    return stack_.back();
  }
  Result<Value*> pop() {
    OWF_ASSIGN_OR_RETURN(Value * value, top());
    stack_.pop_back();
    return value;
  }
  // The items pushed since the last MARK, which is removed.
  Result<std::vector<Value*>> pop_mark() {
    if (marks_.empty()) return corrupt("no MARK to close");
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Result<Value*> make(ValueKind kind) {
    auto value = arena_.make(kind);
    if (!value.ok()) return refuse(value.status().message());
    return value;
  }
  Status push_new(ValueKind kind, std::vector<Value*> items = {}) {
    OWF_ASSIGN_OR_RETURN(Value * value, make(kind));
    value->items = std::move(items);
    return push(value);
  }
  Status push_int(std::int64_t integer, ValueKind kind = ValueKind::kInt) {
    OWF_ASSIGN_OR_RETURN(Value * value, make(kind));
    value->integer = integer;
    return push(value);
  }
  Status push_text(ValueKind kind, std::string text) {
    if (kind == ValueKind::kString && !is_valid_utf8(text)) return corrupt("string is not valid UTF-8");
    OWF_ASSIGN_OR_RETURN(Value * value, make(kind));
    value->text = std::move(text);
    return push(value);
  }

  // --- operands ----------------------------------------------------------
  Result<std::string_view> line(std::string_view what) {
    const auto rest = data_.subspan(cursor_.position());
    const auto newline = std::find(rest.begin(), rest.end(), std::byte{'\n'});
    if (newline == rest.end()) return corrupt(std::string(what) + " is not terminated by a newline");
    OWF_ASSIGN_OR_RETURN(auto bytes, cursor_.bytes(static_cast<std::uint64_t>(newline - rest.begin()), what));
    OWF_RETURN_IF_ERROR(cursor_.skip(1, what));
    return as_chars(bytes);
  }
  Result<std::string> counted(std::uint64_t length, std::string_view what) {
    OWF_ASSIGN_OR_RETURN(auto bytes, cursor_.bytes(length, what));
    return std::string(as_chars(bytes));
  }
  Result<std::int64_t> decimal(std::string_view text, std::string_view what) const {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, value);
    if (error == std::errc::result_out_of_range) {
      return refuse(std::string(what) + " " + quote(text) + " does not fit 64 bits");
    }
    if (error != std::errc() || ptr != end) {
      return corrupt(std::string(what) + " " + quote(text) + " is not a decimal integer");
    }
    return value;
  }
  // LONG1 / LONG4: little-endian two's complement of `length` bytes.
  Result<std::int64_t> long_bytes(std::uint64_t length) {
    if (length > 8) return refuse("integer of " + std::to_string(length) + " bytes does not fit 64 bits");
    OWF_ASSIGN_OR_RETURN(auto bytes, cursor_.bytes(length, "LONG bytes"));
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      value |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[i])} << (8 * i);
    }
    if (length > 0 && length < 8 && (std::to_integer<std::uint8_t>(bytes.back()) & 0x80)) {
      value -= std::uint64_t{1} << (8 * length);
    }
    return static_cast<std::int64_t>(value);
  }
  // STRING's operand: a Python repr, quoted, with backslash escapes.
  Result<std::string> quoted(std::string_view text) const;
  // UNICODE's operand: raw-unicode-escape (\uXXXX, \UXXXXXXXX; other bytes are Latin-1).
  Result<std::string> raw_unicode(std::string_view text) const;
  // Strings of the protocol 0/1 opcodes are Python 2 byte strings: text when valid UTF-8.
  Status push_byte_string(std::string text) {
    const ValueKind kind = is_valid_utf8(text) ? ValueKind::kString : ValueKind::kBytes;
    return push_text(kind, std::move(text));
  }

  // --- memo --------------------------------------------------------------
  Status memo_put(std::uint64_t key) {
    OWF_ASSIGN_OR_RETURN(Value * value, top());
    if (!memo_.contains(key) && memo_.size() >= arena_.limits().max_memo) {
      return refuse("pickle memo exceeds " + std::to_string(arena_.limits().max_memo) + " entries");
    }
    memo_[key] = value;
    return {};
  }
  Status memo_get(std::uint64_t key) {
    const auto found = memo_.find(key);
    if (found == memo_.end()) return corrupt("memo key " + std::to_string(key) + " was never stored");
    return push(found->second);
  }

  // --- containers --------------------------------------------------------
  Result<Value*> top_of_kind(ValueKind kind, std::string_view opcode) {
    OWF_ASSIGN_OR_RETURN(Value * target, top());
    if (target->kind != kind) {
      return corrupt(std::string(opcode) + " needs a " + std::string(kind_name(kind)) + " below, found " +
                     std::string(kind_name(target->kind)));
    }
    return target;
  }
  Status set_items(Value* dict, const std::vector<Value*>& flat) {
    if (flat.size() % 2 != 0) return corrupt("dictionary items come in key/value pairs, found an odd count");
    for (std::size_t i = 0; i < flat.size(); i += 2) set_item(dict, flat[i], flat[i + 1]);
    return {};
  }
  // Python dicts keep one entry per key: a later SETITEM replaces the value.
  // Scalar keys are indexed per dict, so building a dict stays linear.
  static std::optional<std::string> index_key(const Value& key) {
    switch (key.kind) {
      case ValueKind::kString: return "s" + key.text;
      case ValueKind::kBytes: return "b" + key.text;
      case ValueKind::kInt:
      case ValueKind::kBool: return "i" + std::to_string(key.integer);  // True == 1, as in Python
      case ValueKind::kNone: return "n";
      default: return std::nullopt;  // compared by identity: never merged
    }
  }
  void set_item(Value* dict, Value* key, Value* value) {
    if (const auto indexed = index_key(*key)) {
      const auto [found, inserted] = dict_indexes_[dict].emplace(*indexed, dict->entries.size());
      if (!inserted) {
        dict->entries[found->second].second = value;
        return;
      }
    }
    dict->entries.emplace_back(key, value);
  }

  // --- globals and calls -------------------------------------------------
  Status push_global(std::string_view module, std::string_view name);
  Status reduce(const Value& callable, const Value& args);
  Status build_tensor(const std::vector<Value*>& args, std::string_view function, std::optional<DType> dtype);
  Status persistent_load(const Value& pid);

  Result<std::uint64_t> non_negative(const Value* value, std::string_view what) const {
    if (value->kind != ValueKind::kInt && value->kind != ValueKind::kBool) {
      return corrupt(std::string(what) + " must be an int, found " + std::string(kind_name(value->kind)));
    }
    if (value->integer < 0) return corrupt(std::string(what) + " is negative (" + std::to_string(value->integer) + ")");
    return static_cast<std::uint64_t>(value->integer);
  }
  Result<std::vector<std::uint64_t>> int_tuple(const Value* value, std::string_view what) const {
    if (value->kind != ValueKind::kTuple && value->kind != ValueKind::kList) {
      return corrupt(std::string(what) + " must be a tuple, found " + std::string(kind_name(value->kind)));
    }
    std::vector<std::uint64_t> numbers;
    for (const Value* item : value->items) {
      OWF_ASSIGN_OR_RETURN(const std::uint64_t number, non_negative(item, what));
      numbers.push_back(number);
    }
    return numbers;
  }
  Status expect_args(const Value& args, std::size_t min, std::size_t max, std::string_view function) const {
    if (args.items.size() >= min && args.items.size() <= max) return {};
    return corrupt(std::string(function) + " takes " + std::to_string(min) +
                   (max == min ? "" : ".." + std::to_string(max)) + " arguments, got " +
                   std::to_string(args.items.size()));
  }
  static std::optional<std::string_view> text_of(const Value* value) {
    if (value->kind == ValueKind::kString || value->kind == ValueKind::kBytes) return value->text;
    return std::nullopt;
  }

  std::span<const std::byte> data_;
  ByteCursor cursor_;
  ValueArena& arena_;
  std::uint64_t op_offset_ = 0;
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value*> memo_;
  std::unordered_map<const Value*, std::unordered_map<std::string, std::size_t>> dict_indexes_;
};

Result<std::string> Machine::quoted(std::string_view text) const {
  if (text.size() < 2 || (text.front() != '\'' && text.front() != '"') || text.back() != text.front()) {
    return corrupt("STRING operand is not quoted");
  }
  text = text.substr(1, text.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) return corrupt("STRING operand ends in a backslash");
    switch (text[i]) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case '\\':
      case '\'':
      case '"': out += text[i]; break;
      case 'x': {
        const auto code = i + 2 < text.size() ? parse_hex(text.substr(i + 1, 2)) : std::nullopt;
        if (!code) return corrupt("STRING operand has a malformed \\x escape");
        out += static_cast<char>(*code);
        i += 2;
        break;
      }
      default: return corrupt(std::string("STRING operand has an unknown escape \\") + text[i]);
    }
  }
  return out;
}

Result<std::string> Machine::raw_unicode(std::string_view text) const {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    // \u takes 4 hex digits, \U 8; any other byte stands for itself.
    std::size_t digits = 0;
    if (text[i] == '\\' && i + 1 < text.size()) digits = text[i + 1] == 'u' ? 4 : text[i + 1] == 'U' ? 8 : 0;
    if (digits == 0) {
      append_utf8(out, static_cast<std::uint8_t>(text[i]));
      continue;
    }
    const auto point = i + 2 + digits <= text.size() ? parse_hex(text.substr(i + 2, digits)) : std::nullopt;
    if (!point || *point > 0x10FFFF || (*point >= 0xD800 && *point <= 0xDFFF)) {
      return corrupt("UNICODE operand has a malformed \\u escape");
    }
    append_utf8(out, *point);
    i += 1 + digits;
  }
  return out;
}

Status Machine::push_global(std::string_view module, std::string_view name) {
  const auto callable = [&](Callable which, DType storage_dtype = DType::kU8) -> Status {
    OWF_ASSIGN_OR_RETURN(Value * value, make(ValueKind::kCallable));
    value->callable = which;
    value->storage_dtype = storage_dtype;
    value->text = std::string(module) + "." + std::string(name);
    return push(value);
  };
  if (module == "collections" && name == "OrderedDict") return callable(Callable::kOrderedDict);
  if (module == "torch._utils") {
    if (name == "_rebuild_tensor") return callable(Callable::kRebuildTensor);
    if (name == "_rebuild_tensor_v2") return callable(Callable::kRebuildTensorV2);
    if (name == "_rebuild_tensor_v3") return callable(Callable::kRebuildTensorV3);
    if (name == "_rebuild_parameter") return callable(Callable::kRebuildParameter);
    if (name == "_rebuild_parameter_with_state") return callable(Callable::kRebuildParameterWithState);
  }
  if (module == "torch._tensor" && name == "_rebuild_from_type_v2") return callable(Callable::kRebuildFromTypeV2);
  if (module == "torch.nn.parameter" && name == "Parameter") return callable(Callable::kParameterClass);
  if ((module == "torch" || module == "torch.storage") && name == "UntypedStorage") {
    return callable(Callable::kStorageClass, DType::kU8);
  }
  if (module == "torch") {
    if (name == "Tensor") return callable(Callable::kTensorClass);
    if (name == "Size") return callable(Callable::kSize);
    if (name == "device") return callable(Callable::kDevice);
    if (const TorchType* storage = find_torch_storage(name)) return callable(Callable::kStorageClass, *storage->dtype);
    if (find_torch_dtype(name)) return push_text(ValueKind::kDType, "torch." + std::string(name));
  }
  if (module == "_codecs" && name == "encode") return callable(Callable::kCodecsEncode);
  if ((module == "builtins" || module == "__builtin__") && (name == "set" || name == "frozenset")) {
    return callable(Callable::kSet);
  }
  return refuse("global " + quote(std::string(module) + "." + std::string(name)) +
                " is not allowed (a checkpoint may hold only tensors and plain values; no code runs)");
}

Status Machine::persistent_load(const Value& pid) {
  if (pid.kind != ValueKind::kTuple || pid.items.empty() || !text_of(pid.items[0])) {
    return refuse("persistent id of type " + std::string(kind_name(pid.kind)) + " is not a torch storage reference");
  }
  const std::string_view type = *text_of(pid.items[0]);
  if (type != "storage") return refuse("persistent id " + quote(type) + " is not a torch storage reference");
  const auto& fields = pid.items;
  if (fields.size() != 5 && fields.size() != 6) {
    return corrupt("storage persistent id has " + std::to_string(fields.size()) + " fields, expected 5 or 6");
  }
  if (fields[1]->kind != ValueKind::kCallable || fields[1]->callable != Callable::kStorageClass) {
    return corrupt("storage persistent id names no storage class");
  }
  const auto key = text_of(fields[2]);
  const auto location = text_of(fields[3]);
  if (!key || !location) return corrupt("storage persistent id has no key or location string");
  OWF_ASSIGN_OR_RETURN(const std::uint64_t numel, non_negative(fields[4], "storage size"));
  // Legacy files carry view metadata: storage views were dropped from torch long ago.
  if (fields.size() == 6 && fields[5]->kind != ValueKind::kNone) {
    return refuse("storage " + quote(*key) + " is a storage view (torch before 1.0), not supported");
  }
  OWF_ASSIGN_OR_RETURN(Value * storage, make(ValueKind::kStorage));
  storage->storage = std::make_unique<StorageRef>(
      StorageRef{std::string(*key), fields[1]->storage_dtype, numel, std::string(*location)});
  return push(storage);
}

Status Machine::build_tensor(const std::vector<Value*>& args, std::string_view function, std::optional<DType> dtype) {
  if (args[0]->kind != ValueKind::kStorage) {
    return corrupt(std::string(function) + ": first argument must be a storage, found " +
                   std::string(kind_name(args[0]->kind)));
  }
  OWF_ASSIGN_OR_RETURN(const std::uint64_t offset, non_negative(args[1], "storage offset"));
  OWF_ASSIGN_OR_RETURN(auto shape, int_tuple(args[2], "tensor size"));
  OWF_ASSIGN_OR_RETURN(auto strides, int_tuple(args[3], "tensor stride"));
  if (shape.size() != strides.size()) {
    return corrupt(std::string(function) + ": size has " + std::to_string(shape.size()) +
                   " dimensions but stride has " + std::to_string(strides.size()));
  }
  OWF_ASSIGN_OR_RETURN(Value * tensor, make(ValueKind::kTensor));
  tensor->tensor = std::make_unique<TensorRef>(
      TensorRef{args[0], dtype.value_or(args[0]->storage->dtype), offset, std::move(shape), std::move(strides)});
  return push(tensor);
}

Status Machine::reduce(const Value& callable, const Value& args) {
  const std::string& function = callable.text;
  const auto& items = args.items;
  switch (callable.callable) {
    case Callable::kOrderedDict:
      OWF_RETURN_IF_ERROR(expect_args(args, 0, 0, function));
      return push_new(ValueKind::kDict);
    case Callable::kRebuildTensor:
      OWF_RETURN_IF_ERROR(expect_args(args, 4, 4, function));
      return build_tensor(items, function, std::nullopt);
    case Callable::kRebuildTensorV2:
      OWF_RETURN_IF_ERROR(expect_args(args, 6, 7, function));
      return build_tensor(items, function, std::nullopt);
    case Callable::kRebuildTensorV3: {
      OWF_RETURN_IF_ERROR(expect_args(args, 7, 8, function));
      const TorchType* type =
          items[6]->kind == ValueKind::kDType ? find_torch_dtype(std::string_view(items[6]->text).substr(6)) : nullptr;
      if (!type) return corrupt(function + ": argument 7 must be a torch dtype");
      if (!type->dtype) return refuse("tensor dtype " + items[6]->text + " has no owf equivalent");
      return build_tensor(items, function, type->dtype);
    }
    case Callable::kRebuildParameter:
    case Callable::kRebuildParameterWithState: {
      const std::size_t count = callable.callable == Callable::kRebuildParameter ? 3 : 4;
      OWF_RETURN_IF_ERROR(expect_args(args, count, count, function));
      if (items[0]->kind != ValueKind::kTensor) return corrupt(function + ": first argument must be a tensor");
      return push(items[0]);
    }
    case Callable::kRebuildFromTypeV2: {
      OWF_RETURN_IF_ERROR(expect_args(args, 4, 4, function));
      const Value& rebuild = *items[0];
      const Value& type = *items[1];
      const bool plain_type = type.kind == ValueKind::kCallable &&
                              (type.callable == Callable::kTensorClass || type.callable == Callable::kParameterClass);
      if (!plain_type) {
        return refuse(function + ": only plain torch.Tensor and Parameter are supported, not subclasses");
      }
      const bool rebuilds_tensor =
          rebuild.kind == ValueKind::kCallable &&
          (rebuild.callable == Callable::kRebuildTensor || rebuild.callable == Callable::kRebuildTensorV2 ||
           rebuild.callable == Callable::kRebuildTensorV3 || rebuild.callable == Callable::kRebuildParameter);
      if (!rebuilds_tensor) return refuse(function + ": first argument must be a tensor rebuild function");
      if (items[2]->kind != ValueKind::kTuple) return corrupt(function + ": third argument must be a tuple");
      const bool stateless =
          items[3]->kind == ValueKind::kNone || (items[3]->kind == ValueKind::kDict && items[3]->entries.empty());
      if (!stateless) return refuse(function + ": tensors with Python attributes are not supported");
      return reduce(rebuild, *items[2]);
    }
    case Callable::kSize: {
      OWF_RETURN_IF_ERROR(expect_args(args, 0, 1, function));
      if (items.empty()) return push_new(ValueKind::kTuple);
      OWF_RETURN_IF_ERROR(int_tuple(items[0], "torch.Size element").status());
      return push_new(ValueKind::kTuple, items[0]->items);
    }
    case Callable::kDevice: {
      OWF_RETURN_IF_ERROR(expect_args(args, 1, 2, function));
      const auto type = text_of(items[0]);
      if (!type) return corrupt("torch.device: first argument must be a string");
      std::string device(*type);
      if (items.size() == 2 && items[1]->kind != ValueKind::kNone) {
        OWF_ASSIGN_OR_RETURN(const std::uint64_t index, non_negative(items[1], "device index"));
        device += ":" + std::to_string(index);
      }
      return push_text(ValueKind::kString, std::move(device));
    }
    case Callable::kCodecsEncode: {
      OWF_RETURN_IF_ERROR(expect_args(args, 2, 2, function));
      const auto encoding = text_of(items[1]);
      if (items[0]->kind != ValueKind::kString || !encoding || (*encoding != "latin1" && *encoding != "latin-1")) {
        return refuse("_codecs.encode is supported only as (str, 'latin1'), the protocol 2 form of bytes");
      }
      std::string bytes;
      const std::string& text = items[0]->text;
      for (std::size_t at = 0; at < text.size();) {
        const auto point = next_code_point(text, &at);
        if (!point || *point > 0xFF) return corrupt("_codecs.encode: text is not Latin-1");
        bytes += static_cast<char>(*point);
      }
      return push_text(ValueKind::kBytes, std::move(bytes));
    }
    case Callable::kSet: {
      OWF_RETURN_IF_ERROR(expect_args(args, 0, 1, function));
      if (items.empty()) return push_new(ValueKind::kSet);
      const ValueKind kind = items[0]->kind;
      if (kind != ValueKind::kList && kind != ValueKind::kTuple && kind != ValueKind::kSet) {
        return corrupt(function + ": argument must be a list");
      }
      return push_new(ValueKind::kSet, items[0]->items);
    }
    case Callable::kTensorClass:
    case Callable::kParameterClass:
    case Callable::kStorageClass: break;
  }
  return refuse("calling " + function + " is not supported");
}

Status Machine::step(std::uint8_t op) {
  if (const auto name = forbidden_opcode_name(op)) {
    return refuse("opcode " + std::string(*name) + " is not allowed (it constructs arbitrary objects)");
  }
  switch (op) {
    case kProto: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t version, cursor_.u8("PROTO version"));
      if (version > kHighestProtocol) return refuse("pickle protocol " + std::to_string(version) + " is newer than 5");
      return {};
    }
    case kFrame: {  // only a hint for buffering readers; the opcodes inside follow as usual
      OWF_ASSIGN_OR_RETURN(const std::uint64_t length, cursor_.u64("FRAME length"));
      return cursor_.require(length, "FRAME");
    }
    case kMark:
      if (marks_.size() >= arena_.limits().max_stack) return refuse("too many nested MARKs");
      marks_.push_back(stack_.size());
      return {};
    case kPop:
      if (stack_.size() > floor()) {
        stack_.pop_back();
        return {};
      }
      return pop_mark().status();
    case kPopMark: return pop_mark().status();
    case kDup: {
      OWF_ASSIGN_OR_RETURN(Value * value, top());
      return push(value);
    }
    case kNone: return push_new(ValueKind::kNone);
    case kNewTrue: return push_int(1, ValueKind::kBool);
    case kNewFalse: return push_int(0, ValueKind::kBool);
    case kInt: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("INT operand"));
      if (text == "00" || text == "01") return push_int(text == "01", ValueKind::kBool);
      OWF_ASSIGN_OR_RETURN(const std::int64_t value, decimal(text, "INT operand"));
      return push_int(value);
    }
    case kLong: {
      OWF_ASSIGN_OR_RETURN(std::string_view text, line("LONG operand"));
      if (!text.empty() && text.back() == 'L') text.remove_suffix(1);
      OWF_ASSIGN_OR_RETURN(const std::int64_t value, decimal(text, "LONG operand"));
      return push_int(value);
    }
    case kBinInt: {
      OWF_ASSIGN_OR_RETURN(const std::uint32_t bits, cursor_.u32("BININT operand"));
      return push_int(static_cast<std::int32_t>(bits));
    }
    case kBinInt1: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t value, cursor_.u8("BININT1 operand"));
      return push_int(value);
    }
    case kBinInt2: {
      OWF_ASSIGN_OR_RETURN(const std::uint16_t value, cursor_.u16("BININT2 operand"));
      return push_int(value);
    }
    case kLong1: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t length, cursor_.u8("LONG1 length"));
      OWF_ASSIGN_OR_RETURN(const std::int64_t value, long_bytes(length));
      return push_int(value);
    }
    case kLong4: {
      OWF_ASSIGN_OR_RETURN(const std::uint32_t length, cursor_.u32("LONG4 length"));
      OWF_ASSIGN_OR_RETURN(const std::int64_t value, long_bytes(length));
      return push_int(value);
    }
    case kFloat: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("FLOAT operand"));
      double number = 0;
      const auto [ptr, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (error != std::errc() || ptr != text.data() + text.size()) {
        return corrupt("FLOAT operand " + quote(text) + " is not a number");
      }
      OWF_ASSIGN_OR_RETURN(Value * value, make(ValueKind::kFloat));
      value->number = number;
      return push(value);
    }
    case kBinFloat: {
      // The one big-endian field of the pickle format.
      OWF_ASSIGN_OR_RETURN(const auto bytes, cursor_.bytes(8, "BINFLOAT operand"));
      std::array<std::byte, 8> little{};
      std::reverse_copy(bytes.begin(), bytes.end(), little.begin());
      OWF_ASSIGN_OR_RETURN(Value * value, make(ValueKind::kFloat));
      value->number = std::bit_cast<double>(load_le<std::uint64_t>(little.data()));
      return push(value);
    }
    case kString: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("STRING operand"));
      OWF_ASSIGN_OR_RETURN(std::string decoded, quoted(text));
      return push_byte_string(std::move(decoded));
    }
    case kBinString: {
      OWF_ASSIGN_OR_RETURN(const std::uint32_t length, cursor_.u32("BINSTRING length"));
      if (length > 0x7FFFFFFFu) return corrupt("BINSTRING length is negative");
      OWF_ASSIGN_OR_RETURN(std::string text, counted(length, "BINSTRING"));
      return push_byte_string(std::move(text));
    }
    case kShortBinString: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t length, cursor_.u8("SHORT_BINSTRING length"));
      OWF_ASSIGN_OR_RETURN(std::string text, counted(length, "SHORT_BINSTRING"));
      return push_byte_string(std::move(text));
    }
    case kUnicode: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("UNICODE operand"));
      OWF_ASSIGN_OR_RETURN(std::string decoded, raw_unicode(text));
      return push_text(ValueKind::kString, std::move(decoded));
    }
    case kShortBinUnicode:
    case kBinUnicode:
    case kBinUnicode8: {
      std::uint64_t length = 0;
      if (op == kShortBinUnicode) {
        OWF_ASSIGN_OR_RETURN(length, cursor_.u8("SHORT_BINUNICODE length"));
      } else if (op == kBinUnicode) {
        OWF_ASSIGN_OR_RETURN(length, cursor_.u32("BINUNICODE length"));
      } else {
        OWF_ASSIGN_OR_RETURN(length, cursor_.u64("BINUNICODE8 length"));
      }
      OWF_ASSIGN_OR_RETURN(std::string text, counted(length, "BINUNICODE text"));
      return push_text(ValueKind::kString, std::move(text));
    }
    case kShortBinBytes:
    case kBinBytes:
    case kBinBytes8:
    case kByteArray8: {
      std::uint64_t length = 0;
      if (op == kShortBinBytes) {
        OWF_ASSIGN_OR_RETURN(length, cursor_.u8("SHORT_BINBYTES length"));
      } else if (op == kBinBytes) {
        OWF_ASSIGN_OR_RETURN(length, cursor_.u32("BINBYTES length"));
      } else {
        OWF_ASSIGN_OR_RETURN(length, cursor_.u64("BINBYTES8 length"));
      }
      OWF_ASSIGN_OR_RETURN(std::string bytes, counted(length, "BINBYTES data"));
      return push_text(ValueKind::kBytes, std::move(bytes));
    }
    case kEmptyTuple: return push_new(ValueKind::kTuple);
    case kTuple1:
    case kTuple2:
    case kTuple3: {
      std::vector<Value*> items(op - kTuple1 + 1);
      for (auto item = items.rbegin(); item != items.rend(); ++item) {
        OWF_ASSIGN_OR_RETURN(*item, pop());
      }
      return push_new(ValueKind::kTuple, std::move(items));
    }
    case kTuple:
    case kList:
    case kFrozenSet: {
      OWF_ASSIGN_OR_RETURN(auto items, pop_mark());
      const ValueKind kind = op == kTuple ? ValueKind::kTuple : op == kList ? ValueKind::kList : ValueKind::kSet;
      return push_new(kind, std::move(items));
    }
    case kEmptyList: return push_new(ValueKind::kList);
    case kEmptySet: return push_new(ValueKind::kSet);
    case kEmptyDict: return push_new(ValueKind::kDict);
    case kAppend: {
      OWF_ASSIGN_OR_RETURN(Value * item, pop());
      OWF_ASSIGN_OR_RETURN(Value * list, top_of_kind(ValueKind::kList, "APPEND"));
      list->items.push_back(item);
      return {};
    }
    case kAppends:
    case kAddItems: {
      OWF_ASSIGN_OR_RETURN(auto items, pop_mark());
      const bool appends = op == kAppends;
      OWF_ASSIGN_OR_RETURN(Value * target,
                           top_of_kind(appends ? ValueKind::kList : ValueKind::kSet, appends ? "APPENDS" : "ADDITEMS"));
      target->items.insert(target->items.end(), items.begin(), items.end());
      return {};
    }
    case kDict: {
      OWF_ASSIGN_OR_RETURN(auto flat, pop_mark());
      OWF_ASSIGN_OR_RETURN(Value * dict, make(ValueKind::kDict));
      OWF_RETURN_IF_ERROR(set_items(dict, flat));
      return push(dict);
    }
    case kSetItem: {
      OWF_ASSIGN_OR_RETURN(Value * value, pop());
      OWF_ASSIGN_OR_RETURN(Value * key, pop());
      OWF_ASSIGN_OR_RETURN(Value * dict, top_of_kind(ValueKind::kDict, "SETITEM"));
      set_item(dict, key, value);
      return {};
    }
    case kSetItems: {
      OWF_ASSIGN_OR_RETURN(auto flat, pop_mark());
      OWF_ASSIGN_OR_RETURN(Value * dict, top_of_kind(ValueKind::kDict, "SETITEMS"));
      return set_items(dict, flat);
    }
    case kGet: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("GET operand"));
      OWF_ASSIGN_OR_RETURN(const std::int64_t key, decimal(text, "GET operand"));
      return memo_get(static_cast<std::uint64_t>(key));
    }
    case kBinGet: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t key, cursor_.u8("BINGET operand"));
      return memo_get(key);
    }
    case kLongBinGet: {
      OWF_ASSIGN_OR_RETURN(const std::uint32_t key, cursor_.u32("LONG_BINGET operand"));
      return memo_get(key);
    }
    case kPut: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("PUT operand"));
      OWF_ASSIGN_OR_RETURN(const std::int64_t key, decimal(text, "PUT operand"));
      if (key < 0) return corrupt("PUT operand is negative");
      return memo_put(static_cast<std::uint64_t>(key));
    }
    case kBinPut: {
      OWF_ASSIGN_OR_RETURN(const std::uint8_t key, cursor_.u8("BINPUT operand"));
      return memo_put(key);
    }
    case kLongBinPut: {
      OWF_ASSIGN_OR_RETURN(const std::uint32_t key, cursor_.u32("LONG_BINPUT operand"));
      return memo_put(key);
    }
    case kMemoize: return memo_put(memo_.size());
    case kGlobal: {
      OWF_ASSIGN_OR_RETURN(const std::string_view module, line("GLOBAL module"));
      OWF_ASSIGN_OR_RETURN(const std::string_view name, line("GLOBAL name"));
      return push_global(module, name);
    }
    case kStackGlobal: {
      OWF_ASSIGN_OR_RETURN(const Value* name, pop());
      OWF_ASSIGN_OR_RETURN(const Value* module, pop());
      if (name->kind != ValueKind::kString || module->kind != ValueKind::kString) {
        return corrupt("STACK_GLOBAL needs two strings");
      }
      return push_global(module->text, name->text);
    }
    case kReduce: {
      OWF_ASSIGN_OR_RETURN(const Value* args, pop());
      OWF_ASSIGN_OR_RETURN(const Value* callable, pop());
      if (callable->kind != ValueKind::kCallable) {
        return corrupt("REDUCE of a " + std::string(kind_name(callable->kind)) + ", which is not callable");
      }
      if (args->kind != ValueKind::kTuple) return corrupt("REDUCE arguments must be a tuple");
      return reduce(*callable, *args);
    }
    case kBuild: {
      // OrderedDicts carry their _metadata attribute as state; it is not data.
      OWF_ASSIGN_OR_RETURN(const Value* state, pop());
      OWF_ASSIGN_OR_RETURN(const Value* target, top());
      const bool empty_state =
          state->kind == ValueKind::kNone || (state->kind == ValueKind::kDict && state->entries.empty());
      if (target->kind == ValueKind::kDict || (target->kind == ValueKind::kTensor && empty_state)) return {};
      return refuse("BUILD of a " + std::string(kind_name(target->kind)) + " is not supported");
    }
    case kBinPersId: {
      OWF_ASSIGN_OR_RETURN(const Value* pid, pop());
      return persistent_load(*pid);
    }
    case kPersId: {
      OWF_ASSIGN_OR_RETURN(const std::string_view text, line("PERSID operand"));
      return refuse("persistent id " + quote(text) + " is not a torch storage reference");
    }
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      return corrupt(std::string("unknown opcode 0x") + kHex[op >> 4] + kHex[op & 15]);
    }
  }
}

}  // namespace

Result<Value*> ValueArena::make(ValueKind kind) {
  if (values_.size() >= limits_.max_values) {
    return Status::not_supported("pickle creates more than " + std::to_string(limits_.max_values) + " objects");
  }
  values_.push_back(std::make_unique<Value>());
  values_.back()->kind = kind;
  return values_.back().get();
}

std::vector<const StorageRef*> ValueArena::storages() const {
  std::vector<const StorageRef*> found;
  for (const auto& value : values_) {
    if (value->kind == ValueKind::kStorage) found.push_back(value->storage.get());
  }
  return found;
}

Result<Unpickled> unpickle(std::span<const std::byte> data, std::uint64_t base_offset, std::string_view where,
                           ValueArena& arena) {
  Machine machine(data, base_offset, arena);
  auto result = machine.run();
  if (!result.ok()) return result.status().with_context(where);
  return result;
}

std::string_view kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNone: return "None";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kString: return "str";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kTuple: return "tuple";
    case ValueKind::kList: return "list";
    case ValueKind::kSet: return "set";
    case ValueKind::kDict: return "dict";
    case ValueKind::kDType: return "dtype";
    case ValueKind::kCallable: return "global";
    case ValueKind::kStorage: return "storage";
    case ValueKind::kTensor: return "tensor";
  }
  return "value";
}

}  // namespace owf::formats::pytorch
