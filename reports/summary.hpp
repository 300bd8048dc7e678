#pragma once
/// reports/summary.hpp — the readable summary printed at the end of check/run.
#include <cstddef>
#include <string>
#include <vector>

#include "core/finding_list.hpp"

namespace consentrig::reports {

/// Counts per leak class, then the first findings — up to `max_listed` lines, one per message
/// and leak class with its categories — (device, recipient, time, line, reason) and the verdict. Device-supplied text is made printable (no terminal escapes).
[[nodiscard]] std::string text_summary(const core::FindingList& findings, std::size_t devices,
                                       std::size_t messages, std::size_t max_listed = 10);

}  // namespace consentrig::reports
