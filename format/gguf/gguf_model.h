// Reading and writing whole GGUF files; the Format in gguf.cpp dispatches here.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "gguf/gguf_metadata.h"
#include "owf/container.h"
#include "owf/format.h"
#include "owf/model.h"
#include "owf/status.h"

namespace owf::formats::gguf {

// Whether `head` (the first bytes of a file) starts with the GGUF magic.
bool has_gguf_magic(std::span<const std::byte> head);

// For a pre-GGUF ggml-family file ('lmgg', 'fmgg', 'tjgg', 'algg', 'nsgg', 'qsgg' magics), the
// message refusing it, e.g. "legacy ggml file ('lmgg' magic, pre-GGUF): not supported; ...".
std::optional<std::string> legacy_ggml_refusal(std::span<const std::byte> head);

// Opens a GGUF v2/v3 file or URL (through source_of), checking every structural rule
// (spec/formats/gguf.md §2) before returning. Messages start with the file name and give byte
// offsets. The model keeps the source; it is immutable and safe to read from several threads.
Result<std::unique_ptr<Model>> open_gguf(const std::filesystem::path& path, const OpenOptions& options);

// The checks of open_gguf on the bytes of a whole file, without the file name in messages;
// returns what the file holds besides its tensors. For the fuzz target.
Result<FileLayout> check_gguf(std::span<const std::byte> bytes);

// Writes `model` as GGUF v3 to `path` through an AtomicFile: key-values from `metadata`
// (spec/formats/gguf.md §5), tensors in model order streamed through Model::read in
// bounded pieces. Refuses, naming the tensor, dtypes GGUF lacks, rank above 4 and names over 63
// bytes. Deterministic: the same model and metadata give the same bytes.
Status write_gguf(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
                  const WriteOptions& options);

}  // namespace owf::formats::gguf
