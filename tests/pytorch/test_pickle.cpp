// The restricted unpickler on hand-built pickles: what it reads, and every
// opcode, global, persistent id and bound it refuses.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "owf/internal/bytes.h"
#include "pytorch/checkpoint.h"
#include "pytorch/pickle.h"
#include "pytorch/pickle_writer.h"

using namespace owf;
using namespace owf::formats::pytorch;

namespace {

// Unpickles `text` (bytes written as a C++ string literal) into `arena`.
Result<Unpickled> run(std::string_view text, ValueArena& arena) {
  return unpickle(as_bytes(text), 0, "test.pkl", arena);
}

// The error of unpickling `text`, which must fail.
Status failure(std::string_view text, PickleLimits limits = {}) {
  ValueArena arena(limits);
  const auto result = run(text, arena);
  REQUIRE_FALSE(result.ok());
  return result.status();
}

std::string with_proto(std::string_view body) { return std::string("\x80\x02", 2) + std::string(body); }

// Pickle bytes with embedded NULs: "X\x01\0\0\0a"_pkl keeps all six bytes.
std::string operator""_pkl(const char* text, std::size_t size) { return {text, size}; }

}  // namespace

TEST_CASE("a state dict written by PickleWriter reads back as one tensor") {
  PickleWriter writer;
  writer.global("collections", "OrderedDict");
  writer.empty_tuple();
  writer.reduce();
  writer.mark();
  writer.text("w");
  writer.global("torch._utils", "_rebuild_tensor_v2");
  writer.mark();
  writer.mark();
  writer.text("storage");
  writer.global("torch", "HalfStorage");
  writer.text("0");
  writer.text("cpu");
  writer.integer(6);
  writer.tuple();
  writer.persistent_id();
  writer.integer(0);
  writer.mark();
  writer.integer(2);
  writer.integer(3);
  writer.tuple();
  writer.mark();
  writer.integer(3);
  writer.integer(1);
  writer.tuple();
  writer.boolean(false);
  writer.global("collections", "OrderedDict");
  writer.empty_tuple();
  writer.reduce();
  writer.tuple();
  writer.reduce();
  writer.set_items();
  writer.stop();

  ValueArena arena;
  const auto result = unpickle(writer.bytes(), 0, "test.pkl", arena);
  REQUIRE(result.ok());
  CHECK(result->end == writer.bytes().size());
  const Value& root = *result->root;
  REQUIRE(root.kind == ValueKind::kDict);
  REQUIRE(root.entries.size() == 1);
  CHECK(root.entries[0].first->text == "w");
  const Value& tensor = *root.entries[0].second;
  REQUIRE(tensor.kind == ValueKind::kTensor);
  CHECK(tensor.tensor->dtype == DType::kF16);
  CHECK(tensor.tensor->shape == std::vector<std::uint64_t>{2, 3});
  CHECK(tensor.tensor->strides == std::vector<std::uint64_t>{3, 1});
  CHECK(tensor.tensor->storage->storage->key == "0");
  CHECK(tensor.tensor->storage->storage->numel == 6);
}

TEST_CASE("integers are written in the smallest form and read back, LONG1 included") {
  for (const std::uint64_t value :
       {0ull, 255ull, 256ull, 65535ull, 65536ull, 2147483647ull, 2147483648ull, 1ull << 40, 9223372036854775807ull}) {
    PickleWriter writer;
    writer.integer(value);
    writer.stop();
    ValueArena arena;
    const auto result = unpickle(writer.bytes(), 0, "int.pkl", arena);
    REQUIRE(result.ok());
    CHECK(result->root->kind == ValueKind::kInt);
    CHECK(static_cast<std::uint64_t>(result->root->integer) == value);
  }
}

TEST_CASE("protocol 0 text opcodes build a dict") {
  // {'a': 3, 'é': 1.5, 'b': True, 'L': 12} the way Python's protocol 0 writes it.
  const std::string text = "(dp0\nS'a'\np1\nI3\nsV\\u00e9\np2\nF1.5\nsS'b'\nI01\nsS'L'\nL12L\ns.";
  ValueArena arena;
  const auto result = run(text, arena);
  REQUIRE(result.ok());
  const Value& dict = *result->root;
  REQUIRE(dict.entries.size() == 4);
  CHECK(dict.entries[0].first->text == "a");
  CHECK(dict.entries[0].second->integer == 3);
  CHECK(dict.entries[1].first->text == "\xc3\xa9");
  CHECK(dict.entries[1].second->number == 1.5);
  CHECK(dict.entries[2].second->kind == ValueKind::kBool);
  CHECK(dict.entries[3].second->integer == 12);
}

TEST_CASE("BINFLOAT is big-endian; LONG1 is signed") {
  ValueArena arena;
  const auto one = run(with_proto("G\x3f\xf0\0\0\0\0\0\0."_pkl), arena);
  REQUIRE(one.ok());
  CHECK(one->root->number == 1.0);
  const auto minus = run(with_proto(std::string("\x8a\x01\xff.", 4)), arena);
  REQUIRE(minus.ok());
  CHECK(minus->root->integer == -1);
}

TEST_CASE("protocol 2 bytes (_codecs.encode), sets and torch.Size become plain values") {
  ValueArena arena;
  const auto bytes = run(with_proto("c_codecs\nencode\nX\x02\0\0\0\xc3\xbfX\x06\0\0\0latin1\x86R."_pkl), arena);
  REQUIRE(bytes.ok());
  CHECK(bytes->root->kind == ValueKind::kBytes);
  CHECK(bytes->root->text == "\xff");
  const auto set = run(with_proto("c__builtin__\nset\n(K\x01K\x02l\x85R."), arena);
  REQUIRE(set.ok());
  CHECK(set->root->kind == ValueKind::kSet);
  CHECK(set->root->items.size() == 2);
  const auto size = run(with_proto("ctorch\nSize\nK\x04K\x05\x86\x85R."), arena);
  REQUIRE(size.ok());
  CHECK(size->root->kind == ValueKind::kTuple);
  CHECK(size->root->items[1]->integer == 5);
}

TEST_CASE("memo: PUT/GET share one object, MEMOIZE numbers from zero") {
  ValueArena arena;
  const auto shared = run(with_proto("]q\x01h\x01\x86."), arena);
  REQUIRE(shared.ok());
  CHECK(shared->root->items[0] == shared->root->items[1]);
  const auto memoized = run("\x80\x04]\x94h\0\x86."_pkl, arena);
  REQUIRE(memoized.ok());
  CHECK(memoized->root->items[0] == memoized->root->items[1]);
}

TEST_CASE("opcodes that construct arbitrary objects are refused by name and offset") {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"i", "INST"},    {"o", "OBJ"},     {"\x81", "NEWOBJ"},      {"\x92", "NEWOBJ_EX"},       {"\x82", "EXT1"},
      {"\x83", "EXT2"}, {"\x84", "EXT4"}, {"\x97", "NEXT_BUFFER"}, {"\x98", "READONLY_BUFFER"},
  };
  for (const auto& [opcode, name] : cases) {
    const Status status = failure(with_proto(opcode));
    CHECK(status.code() == ErrorCode::kNotSupported);
    CHECK(status.message().find(std::string("opcode ") + std::string(name) + " ") != std::string::npos);
    CHECK(status.message().find("test.pkl: offset 2:") == 0);
  }
}

TEST_CASE("globals outside the allowlist are refused, whatever the spelling") {
  const std::pair<std::string, std::string_view> cases[] = {
      {with_proto("cposix\nsystem\n"), "'posix.system'"},
      {with_proto("cbuiltins\neval\n"), "'builtins.eval'"},
      {with_proto("X\x02\0\0\0osX\x06\0\0\0system\x93"_pkl), "'os.system'"},
      {with_proto("ctorch._utils\n_rebuild_qtensor\n"), "'torch._utils._rebuild_qtensor'"},
      {with_proto("ctorch\nQInt8Storage\n"), "'torch.QInt8Storage'"},
      {with_proto("ctorch\nload\n"), "'torch.load'"},
      {with_proto("ccollections\nOrderedDict.__init__\n"), "'collections.OrderedDict.__init__'"},
  };
  for (const auto& [text, name] : cases) {
    const Status status = failure(text);
    CHECK(status.code() == ErrorCode::kNotSupported);
    CHECK(status.message().find("global " + std::string(name) + " is not allowed") != std::string::npos);
  }
}

TEST_CASE("allowlisted globals can only be called as their contract says") {
  // Calling a class, a dtype, or a rebuild function with wrong arguments.
  CHECK(failure(with_proto("ctorch\nTensor\n)R.")).message().find("calling torch.Tensor is not supported") !=
        std::string::npos);
  CHECK(failure(with_proto("ctorch\nfloat32\n)R.")).message().find("REDUCE of a dtype") != std::string::npos);
  CHECK(failure(with_proto("ctorch._utils\n_rebuild_tensor_v2\nK\x01\x85R.")).message().find("takes 6..7 arguments") !=
        std::string::npos);
  CHECK(failure(with_proto("ctorch._utils\n_rebuild_tensor\n(K\x01K\0))tR."_pkl))
            .message()
            .find("first argument must be a storage") != std::string::npos);
  // _rebuild_from_type_v2 with a subclass type.
  CHECK(failure(with_proto("ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\n"
                           "ccollections\nOrderedDict\n)}tR."))
            .message()
            .find("only plain torch.Tensor") != std::string::npos);
  CHECK(failure(with_proto("c_codecs\nencode\nX\x01\0\0\0aX\x05\0\0\0utf-8\x86R."_pkl)).code() ==
        ErrorCode::kNotSupported);
  CHECK(failure(with_proto("]]bN.")).message().find("BUILD of a list") != std::string::npos);
}

TEST_CASE("persistent ids other than torch storages are refused") {
  CHECK(failure(with_proto("Pfoo\n.")).message().find("persistent id 'foo'") != std::string::npos);
  const Status module = failure(with_proto("(X\x06\0\0\0moduleNNNtQ."_pkl));
  CHECK(module.message().find("persistent id 'module'") != std::string::npos);
  const Status fields = failure(with_proto("(X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0\x30tQ."_pkl));
  CHECK(fields.message().find("3 fields") != std::string::npos);
  const Status view =
      failure(with_proto("(X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0\x30X\x03\0\0\0cpuK\x04K\x01tQ."_pkl));
  CHECK(view.message().find("storage view") != std::string::npos);
}

TEST_CASE("lengths are checked against the remaining bytes") {
  const Status unicode = failure(with_proto("X\xff\xff\0\0abc"_pkl));
  CHECK(unicode.code() == ErrorCode::kCorruption);
  CHECK(unicode.message().find("needs 65535 bytes, only 3 remain") != std::string::npos);
  CHECK(failure(with_proto(std::string("\x8e\xff\xff\xff\xff\xff\xff\xff\xff", 9))).message().find("needs") !=
        std::string::npos);
  CHECK(failure(with_proto("\x95\xff\0\0\0\0\0\0\0N."_pkl)).message().find("FRAME") != std::string::npos);
  CHECK(failure(with_proto("K")).message().find("BININT1 operand") != std::string::npos);
  CHECK(failure(with_proto("N")).message().find("pickle opcode") != std::string::npos);  // no STOP
  CHECK(failure(with_proto("cos\n")).message().find("not terminated by a newline") != std::string::npos);
  CHECK(failure(with_proto("\x8a\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01.")).message().find("does not fit 64 bits") !=
        std::string::npos);
  CHECK(failure(with_proto("X\x02\0\0\0\xc3(."_pkl)).message().find("not valid UTF-8") != std::string::npos);
  CHECK(failure(std::string("\x80\x06N.", 4)).message().find("protocol 6") != std::string::npos);
  CHECK(failure(with_proto("\xfe")).message().find("unknown opcode 0xfe") != std::string::npos);
}

TEST_CASE("memo and stack misuse is refused, never undefined") {
  CHECK(failure(with_proto("h\x05.")).message().find("memo key 5 was never stored") != std::string::npos);
  CHECK(failure(with_proto("q\x01.")).message().find("stack underflow") != std::string::npos);
  CHECK(failure(with_proto(".")).message().find("stack underflow") != std::string::npos);
  CHECK(failure(with_proto("(R.")).message().find("stack underflow") != std::string::npos);  // MARK hides the stack
  CHECK(failure(with_proto("Nt.")).message().find("no MARK") != std::string::npos);
  CHECK(failure(with_proto("N(K\x01u.")).message().find("SETITEMS needs a dict below") != std::string::npos);
  CHECK(failure(with_proto("}(K\x01u.")).message().find("odd count") != std::string::npos);
  CHECK(failure(with_proto("NNa.")).message().find("APPEND needs a list below") != std::string::npos);
}

TEST_CASE("limits on objects, stack and memo are enforced") {
  PickleLimits small;
  small.max_values = 4;
  CHECK(failure(with_proto("NNNNN."), small).message().find("more than 4 objects") != std::string::npos);
  small = {};
  small.max_stack = 3;
  CHECK(failure(with_proto("N222."), small).message().find("stack exceeds 3") != std::string::npos);
  small = {};
  small.max_memo = 2;
  CHECK(failure(with_proto("Nq\x01q\x02q\x03."), small).message().find("memo exceeds 2") != std::string::npos);
}

TEST_CASE("a list that contains itself unpickles, and flattening refuses the cycle") {
  // l = []; l.append(l); {'a': l, 'w': <no tensor>}
  ValueArena arena;
  const auto cyclic = run(with_proto("}X\x01\0\0\0a]q\0h\0as."_pkl), arena);
  REQUIRE(cyclic.ok());
  const auto flat = flatten_checkpoint(*cyclic->root, "", "cycle.pt");
  REQUIRE_FALSE(flat.ok());
  CHECK(flat.status().message().find("deeper than") != std::string::npos);
}

TEST_CASE("flattening: nested dicts become dotted names, plain values are kept, keys select subtrees") {
  // {'state_dict': {'fc.w': T}, 'epoch': 3, 'opt': [{'lr': 0.5}]}
  const std::string storage = "(X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0\x30X\x03\0\0\0cpuK\x04tQ"_pkl;
  const std::string tensor = "ctorch._utils\n_rebuild_tensor\n(" + storage + "K\0(K\x04t(K\x01ttR"_pkl;
  const std::string text =
      with_proto("}(X\x0a\0\0\0state_dict}X\x04\0\0\0fc.w"_pkl + tensor + "s" +
                 "X\x05\0\0\0epochK\x03X\x03\0\0\0opt](X\x02\0\0\0lrG\x3f\xe0\0\0\0\0\0\0dau."_pkl);
  ValueArena arena;
  const auto root = run(text, arena);
  REQUIRE(root.ok());
  const auto all = flatten_checkpoint(*root->root, "", "ckpt.pt");
  REQUIRE(all.ok());
  REQUIRE(all->tensors.size() == 1);
  CHECK(all->tensors[0].name == "state_dict.fc.w");
  REQUIRE(all->values.size() == 2);
  CHECK(all->values[0].first == "epoch");
  CHECK(all->values[1].first == "opt");
  const auto sub = flatten_checkpoint(*root->root, "state_dict", "ckpt.pt");
  REQUIRE(sub.ok());
  CHECK(sub->tensors[0].name == "fc.w");
  const auto leaf = flatten_checkpoint(*root->root, "state_dict.fc.w", "ckpt.pt");
  REQUIRE(leaf.ok());
  CHECK(leaf->tensors[0].name == "state_dict.fc.w");
  const auto missing = flatten_checkpoint(*root->root, "model", "ckpt.pt");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().find("top-level keys: state_dict epoch opt") != std::string::npos);
}

TEST_CASE("flattening records ties and refuses colliding names") {
  const std::string storage = "(X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0\x30X\x03\0\0\0cpuK\x04tQ"_pkl;
  const std::string tensor = "ctorch._utils\n_rebuild_tensor\n(" + storage + "K\0(K\x04t(K\x01ttR"_pkl;
  ValueArena arena;
  const auto tied = run(with_proto("}(X\x01\0\0\0a"_pkl + tensor + "X\x01\0\0\0b"_pkl + tensor + "u."), arena);
  REQUIRE(tied.ok());
  const auto flat = flatten_checkpoint(*tied->root, "", "tied.pt");
  REQUIRE(flat.ok());
  REQUIRE(flat->tied.size() == 1);
  CHECK(flat->tied[0] == std::pair<std::string, std::string>{"b", "a"});

  const auto collide =
      run(with_proto("}(X\x03\0\0\0a.b"_pkl + tensor + "X\x01\0\0\0a}X\x01\0\0\0b"_pkl + tensor + "su."), arena);
  REQUIRE(collide.ok());
  const auto refused = flatten_checkpoint(*collide->root, "", "collide.pt");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("'a.b' occurs twice") != std::string::npos);
}

TEST_CASE("dict keys: a repeated key keeps one entry with the last value; large dicts build in linear time") {
  ValueArena arena;
  // {'a': 1, 'b': 2, 'a': 3, 1: 4, True: 5} -> {'a': 3, 'b': 2, 1: 5}
  const auto repeated =
      run(with_proto("}(X\x01\0\0\0aK\x01X\x01\0\0\0bK\x02X\x01\0\0\0aK\x03K\x01K\x04\x88K\x05u."_pkl), arena);
  REQUIRE(repeated.ok());
  const auto& entries = repeated->root->entries;
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].second->integer == 3);
  CHECK(entries[1].second->integer == 2);
  CHECK(entries[2].second->integer == 5);

  PickleWriter writer;
  writer.global("collections", "OrderedDict");
  writer.empty_tuple();
  writer.reduce();
  writer.mark();
  constexpr std::uint64_t kKeys = 100000;
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    writer.text("layer." + std::to_string(i));
    writer.integer(i);
  }
  writer.set_items();
  writer.stop();
  const auto large = unpickle(writer.bytes(), 0, "large.pkl", arena);
  REQUIRE(large.ok());
  CHECK(large->root->entries.size() == kKeys);
}
