#pragma once
/// reports/escape.hpp — everything a device sends is untrusted; these make it safe to show.
///
/// Each function accepts arbitrary bytes (invalid UTF-8 included) and returns valid UTF-8 in
/// which the text appears literally: invalid bytes become U+FFFD, control characters a visible
/// `\xNN`, and the markup characters of the target format their escapes.
#include <string>
#include <string_view>

namespace consentrig::reports {

/// Valid UTF-8; invalid sequences → U+FFFD; C0/C1 controls and DEL (except \t, \n when
/// `keep_newlines`) → `\xNN`. Base of the other escapers and safe for a terminal.
[[nodiscard]] std::string printable(std::string_view bytes, bool keep_newlines = false);

/// XML 1.0 text and attribute values (also HTML): printable + `& < > " '` as entities.
[[nodiscard]] std::string xml_escape(std::string_view bytes, bool keep_newlines = true);

/// Markdown (CommonMark / GitHub) inline text, also inside table cells: printable on one line,
/// the ASCII punctuation with a Markdown (or GitHub: `$` math, `:` emoji) meaning backslash-escaped
/// (\\ ` * _ { } [ ] ( ) # + - . ! | ~ : $), and `< > &` as entities, so device text can open no
/// tag, link, code span, emphasis, list, heading or table cell.
[[nodiscard]] std::string markdown_escape(std::string_view bytes);

}  // namespace consentrig::reports
