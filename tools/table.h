// Text tables aligned for people: the widest cell sets each column's width.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace owf::cli {

class Table {
 public:
  // Columns not listed in `left_aligned_columns` (numbers) are right-aligned.
  Table(std::vector<std::string> header, std::set<std::size_t> left_aligned_columns);

  // A row may have fewer cells than the header: its last cell then runs on
  // freely (a note such as "(cannot decode q2_k)") and sets no width.
  void add_row(std::vector<std::string> row);

  // The header, a rule and the rows, each line ending in '\n', without
  // trailing spaces.
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // the header first
  std::set<std::size_t> left_aligned_;
};

}  // namespace owf::cli
