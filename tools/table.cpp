#include "table.h"

#include <algorithm>

namespace owf::cli {
namespace {

// Columns a terminal gives the text: one per UTF-8 character (not per byte).
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

Table::Table(std::vector<std::string> header, std::set<std::size_t> left_aligned_columns)
    : left_aligned_(std::move(left_aligned_columns)) {
  rows_.push_back(std::move(header));
}

void Table::add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::render() const {
  const std::size_t columns = rows_.front().size();
  std::vector<std::size_t> widths(columns, 0);
  for (const auto& row : rows_) {
    const std::size_t sized = row.size() < columns ? row.size() - 1 : row.size();
    for (std::size_t c = 0; c < sized; ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::string out;
  const auto append_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const bool last = c + 1 == row.size();
      const std::size_t width = c < columns ? widths[c] : 0;
      const std::size_t pad = width > display_width(row[c]) ? width - display_width(row[c]) : 0;
      if (c > 0) line += "  ";
      if (left_aligned_.count(c) != 0 || (row.size() < columns && last)) {
        line += row[c];
        if (!last) line += std::string(pad, ' ');
      } else {
        line += std::string(pad, ' ') + row[c];
      }
    }
    out += line + "\n";
  };
  append_row(rows_.front());
  std::size_t rule = 0;
  for (const std::size_t width : widths) rule += width;
  out += std::string(rule + 2 * (columns - 1), '-') + "\n";
  std::for_each(rows_.begin() + 1, rows_.end(), append_row);
  return out;
}

}  // namespace owf::cli
