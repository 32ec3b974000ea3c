// owf: read and write model weights in every format the library knows.
//
//   #include <owf/owf.h>
//   auto model = owf::open("model.safetensors");          // any format, detected by content
//   if (!model.ok()) { report(model.status().message()); return; }
//   const owf::TensorInfo& w = (*model)->tensors()[0];
//   std::vector<std::byte> rows(w.byte_size / w.shape[0] * 2);
//   owf::Status s = owf::read_rows(**model, 0, 0, 2, rows);  // rows 0 and 1 only
//   s = owf::write(**model, (*model)->metadata(), "model.owf", {});
//
// Formats: owf (spec/owf-v1.md), safetensors and Hugging Face shard sets, NumPy .npy/.npz, GGUF,
// PyTorch checkpoints and ONNX models (read only); spec/formats/ documents each mapping.
//
// Errors are values: every call returns a Status or Result whose message names the file, the tensor
// or key and the byte offset where known. Nothing here throws, prints or aborts on bad input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "owf/digest.h"
#include "owf/export.h"
#include "owf/format.h"
#include "owf/metadata.h"
#include "owf/model.h"
#include "owf/output_metadata.h"
#include "owf/status.h"
#include "owf/version.h"
#include "owf/write_options.h"

namespace OWF_EXPORT owf {

// Every format built into this library. Built on first use and never changed afterwards, so it may
// be used from several threads at once; it lives until the program exits.
const FormatRegistry& registry();

// The format of the file (or folder) at `path`, detected by its content: the format most confident
// that the file is its own. Fails with kNotFound for a missing file and kNotSupported for a file no
// format claims; the message names the file and shows its first bytes.
Result<const Format*> detect(const std::filesystem::path& path);

// Opens the model at `path` in whichever format detect() finds. The Model owns what it needs (a
// memory map, file descriptors), holds no reference to `path` or `options`, and may be read from
// several threads at once. open() checks the file's structure before returning, so every tensor is
// addressable; Model::verify() checks the rest (checksums, every byte of every tensor).
Result<std::unique_ptr<Model>> open(const std::filesystem::path& path, const OpenOptions& options = {});

// Writes `model` with `metadata` (one JSON object, owf's metadata model, or a draft completed after
// the tensors: output_metadata.h; each format keeps what it can hold) to `path` in the format
// options.format names, or else the one `path`'s extension selects. The output appears complete or
// not at all. Each tensor is read once, streamed in bounded pieces, so memory use does not grow
// with the model.
Status write(const Model& model, const OutputMetadata& metadata, const std::filesystem::path& path,
             const WriteOptions& options = {});

// The decoded bytes of one row of a tensor's outermost dimension (shape[0]). Fails with
// kInvalidArgument for a scalar, and with kNotSupported when rows do not start on a byte boundary
// (a sub-byte dtype with an odd element count per row).
Result<std::uint64_t> row_size(const TensorInfo& info);

// Copies the decoded rows [begin, end) of the outermost dimension of tensor `index` into `dst`,
// which must be exactly (end - begin) * row_size() bytes. Reads only those rows' bytes; for a
// compressed tensor it decodes only the chunks they overlap (Model::statistics() counts them).
// Fails with kInvalidArgument for an unknown index, begin > end, rows past the tensor or a `dst` of
// the wrong size, naming the tensor.
Status read_rows(const Model& model, std::size_t index, std::uint64_t begin, std::uint64_t end,
                 std::span<std::byte> dst);

}  // namespace owf
