// PyTorch checkpoints written by torch.save (".pt", ".pth", ".bin"): zip archives and
// the legacy pre-1.6 layout, read through a restricted unpickler that never
// runs code (spec/formats/pytorch.md). Writes zip checkpoints that
// torch.load(weights_only=True) reads.
#pragma once

#include <memory>

#include "owf/format.h"

namespace owf::formats {

// The "pytorch" format adapter. Stateless; safe to share between threads.
std::unique_ptr<owf::Format> make_pytorch_format();

}  // namespace owf::formats
