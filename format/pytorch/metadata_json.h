// The adapter's section of owf metadata, "pytorch" (spec/formats/pytorch.md):
//
//   {"pytorch": {"values": {"epoch": 3, "optimizer.param_groups": [...]},
//                "tied":   {"output.weight": "tok_embeddings.weight"}}}
//
// The only file of the adapter that includes the JSON library.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "owf/status.h"
#include "pytorch/checkpoint.h"

namespace owf::formats::pytorch {

// The metadata JSON object for a flattened checkpoint; "{}" when it has no
// plain values and no ties. Values that JSON cannot hold are written as
// documented (bytes as {"$bytes": hex}, NaN as "nan", dtypes as "torch.float32").
std::string checkpoint_metadata(const Flattened& checkpoint);

// The (tied name, first name) pairs recorded under pytorch.tied in `metadata_json`;
// none when the key is absent or the text empty. Fails when the text is not a JSON object or
// pytorch.tied is malformed.
Result<std::vector<std::pair<std::string, std::string>>> tied_names(std::string_view metadata_json);

}  // namespace owf::formats::pytorch
