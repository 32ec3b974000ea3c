// A restricted unpickler for torch.save checkpoints.
//
// Python's pickle format is a program for a small stack machine: one opcode
// byte, then its operands (lengths and integers little-endian, BINFLOAT
// big-endian), ending at STOP. Opcodes build values on a stack, MARK/TUPLE/
// SETITEMS group them, PUT/GET share them through a memo, GLOBAL names a
// Python object by module and name, and REDUCE calls it with an argument
// tuple. A general unpickler therefore runs arbitrary code. This one never
// resolves a name: GLOBAL is looked up in a fixed allowlist equivalent to
// torch.load(weights_only=True) (collections.OrderedDict, the torch._utils
// tensor rebuild functions, torch storage classes and dtypes, torch.Size,
// torch.device, _codecs.encode for protocol-2 bytes, builtins.set), and
// REDUCE only evaluates those entries, into plain values. Every other global,
// opcode or persistent id is refused with its name and pickle offset.
//
// Values live in an arena owned by the caller; they point at each other with
// raw pointers, so a pickle that builds a cycle through the memo cannot leak.
// Walkers over the value graph must bound their depth (kMaxNesting).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "owf/dtype.h"
#include "owf/status.h"

namespace owf::formats::pytorch {

enum class ValueKind : std::uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,    // text: UTF-8
  kBytes,     // text: raw bytes
  kTuple,     // items
  kList,      // items
  kSet,       // items
  kDict,      // entries, in insertion order (OrderedDict and dict alike)
  kDType,     // a torch dtype used as a value, e.g. torch.float32; text: "torch.float32"
  kCallable,  // an allowlisted global that REDUCE may call; callable says which
  kStorage,   // a storage reference from a persistent id; storage
  kTensor,    // a tensor rebuilt from a storage; tensor
};

// The allowlisted globals that REDUCE can call (or that are arguments of calls).
enum class Callable : std::uint8_t {
  kOrderedDict,                // collections.OrderedDict
  kRebuildTensor,              // torch._utils._rebuild_tensor
  kRebuildTensorV2,            // torch._utils._rebuild_tensor_v2
  kRebuildTensorV3,            // torch._utils._rebuild_tensor_v3
  kRebuildParameter,           // torch._utils._rebuild_parameter
  kRebuildParameterWithState,  // torch._utils._rebuild_parameter_with_state
  kRebuildFromTypeV2,          // torch._tensor._rebuild_from_type_v2
  kTensorClass,                // torch.Tensor (only as _rebuild_from_type_v2's type)
  kParameterClass,             // torch.nn.parameter.Parameter (likewise)
  kStorageClass,               // torch.FloatStorage, torch.UntypedStorage...: storage_dtype
  kSize,                       // torch.Size
  kDevice,                     // torch.device
  kCodecsEncode,               // _codecs.encode (protocol 2 spelling of bytes)
  kSet,                        // builtins.set / builtins.frozenset
};

struct Value;

// A storage named by a persistent id ('storage', type, key, location, numel).
struct StorageRef {
  std::string key;           // record name below data/ (zip) or key in the storage list (legacy)
  DType dtype = DType::kU8;  // element type of the storage class (UntypedStorage: u8)
  std::uint64_t numel = 0;   // elements of dtype
  std::string location;      // "cpu", "cuda:0"... (informational)
};

// A tensor: a strided view of a storage, in elements of dtype.
struct TensorRef {
  const Value* storage = nullptr;  // kind kStorage
  DType dtype = DType::kF32;       // the storage's dtype, or _rebuild_tensor_v3's
  std::uint64_t storage_offset = 0;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> strides;
};

struct Value {
  ValueKind kind = ValueKind::kNone;
  std::int64_t integer = 0;                        // kBool (0/1), kInt
  double number = 0;                               // kFloat
  std::string text;                                // kString, kBytes, kDType; the dotted name of a kCallable
  std::vector<Value*> items;                       // kTuple, kList, kSet
  std::vector<std::pair<Value*, Value*>> entries;  // kDict
  Callable callable = Callable::kOrderedDict;      // kCallable
  DType storage_dtype = DType::kU8;                // kCallable kStorageClass
  std::unique_ptr<StorageRef> storage;             // kStorage
  std::unique_ptr<TensorRef> tensor;               // kTensor
};

// Walkers of the value graph refuse deeper nesting (a cycle looks infinitely deep).
inline constexpr std::size_t kMaxNesting = 200;

// Bounds on what one pickle may build; exceeding any is a refusal, not a crash.
struct PickleLimits {
  std::size_t max_values = std::size_t{1} << 21;  // objects created
  std::size_t max_stack = std::size_t{1} << 20;   // stack and mark-stack entries
  std::size_t max_memo = std::size_t{1} << 20;    // memo entries
};

// Owns every Value one or more pickles create. Not thread-safe; values stay
// valid until the arena is destroyed.
class ValueArena {
 public:
  explicit ValueArena(PickleLimits limits = {}) : limits_(limits) {}

  // A new value of `kind`, or an error once max_values have been created.
  Result<Value*> make(ValueKind kind);
  const PickleLimits& limits() const { return limits_; }
  // Every storage reference created so far, in creation order.
  std::vector<const StorageRef*> storages() const;

 private:
  PickleLimits limits_;
  std::vector<std::unique_ptr<Value>> values_;
};

// One unpickled object and where its pickle ended.
struct Unpickled {
  Value* root = nullptr;
  std::uint64_t end = 0;  // position just after STOP, relative to the input span
};

// Runs one pickle from the start of `data` to its STOP (bytes after it are
// ignored, so legacy checkpoints can read several pickles in a row).
// `base_offset` is the absolute offset of data[0] in its file and `where`
// names the file and record; both go into every error message, e.g.
// "model.pt: archive/data.pkl: offset 27: global 'os.system' is not allowed
// (a checkpoint holds only tensors and plain values; no code runs)".
Result<Unpickled> unpickle(std::span<const std::byte> data, std::uint64_t base_offset, std::string_view where,
                           ValueArena& arena);

// A short description of a value's type for messages: "int", "tuple", "tensor".
std::string_view kind_name(ValueKind kind);

}  // namespace owf::formats::pytorch
