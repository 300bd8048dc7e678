#pragma once
/// reports/markdown.hpp — summary.md: a short summary for a CI job summary or a pull-request
/// comment (verdict, provision verdicts, findings per leak class, the worst devices, what the
/// run did not test). Device text is escaped with markdown_escape.
#include <cstddef>
#include <string>

#include "reports/model.hpp"

namespace consentrig::reports {

struct MarkdownOptions {
    std::size_t devices = 5;  ///< worst devices listed
    std::size_t untested = 8; ///< "not tested" sentences listed
};

[[nodiscard]] std::string render_markdown(const Report& report, const MarkdownOptions& options = {});

}  // namespace consentrig::reports
