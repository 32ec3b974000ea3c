// What the writers of every format share: progress across a write's files,
// tensors streamed in bounded pieces, and headers completed in place. Internal
// to the library and its adapters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "owf/container.h"
#include "owf/io.h"
#include "owf/model.h"
#include "owf/status.h"
#include "owf/write_options.h"

namespace owf {

// For writers: counts the tensor bytes one write has streamed, across all its
// output files, and reports them through options.progress as (done, total).
// Keeps a reference to `options`, which must outlive it.
class WriteProgress {
 public:
  WriteProgress(const WriteOptions& options, std::uint64_t total) : options_(options), total_(total) {}

  void advance(std::uint64_t bytes);
  std::uint64_t total() const { return total_; }
  const WriteOptions& options() const { return options_; }

 private:
  const WriteOptions& options_;
  std::uint64_t done_ = 0;
  std::uint64_t total_ = 0;
};

// A TensorSource that reads tensor `index` of `model` and reports each piece
// to `progress`; both must outlive it.
TensorSource progress_source(const Model& model, std::size_t index, WriteProgress& progress);

// Appends tensors `indices` of `model` to `out` in that order, read and written in pieces of at
// most kReadPieceBytes so memory stays flat, each reported to `progress`, calling after(i) (when given) once
// tensor indices[i] is written, before the next one (e.g. to pad to an alignment). When the write's
// options allow more than one thread, each piece is read (and converted, by a model that casts) on
// a second thread while the one before it is written. Fails with the first read, write or after()
// error.
Status copy_tensors(const Model& model, std::span<const std::size_t> indices, AtomicFile& out, WriteProgress& progress,
                    const std::function<Status(std::size_t)>& after = nullptr);

// copy_tensors() of one tensor.
Status copy_tensor(const Model& model, std::size_t index, AtomicFile& out, WriteProgress& progress);

// For writers whose header holds the metadata ahead of the tensors: writes `completed` (the
// header encoded from the completed metadata) over `draft` (the header the file was laid out
// with, at `offset`). Fails with kInvalidArgument, naming `where`, when their lengths differ.
Status rewrite_header(AtomicFile& out, std::uint64_t offset, std::span<const std::byte> draft,
                      std::span<const std::byte> completed, std::string_view where);

}  // namespace owf
