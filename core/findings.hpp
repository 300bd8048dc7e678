#pragma once
/// core/findings.hpp — what the oracle reports (PROTOCOL.md §4).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/category.hpp"
#include "core/time.hpp"

namespace consentrig::core {

/// The leak classes of DESIGN.md, in the order reports list them.
enum class FindingType : std::uint8_t {
    after_revocation,
    unconsented_recipient,
    outside_scope,
    stale_sample,
    out_of_window,
    cause_mismatch,
    side_channel,
    unclassified,
};
inline constexpr std::size_t kFindingTypeCount = 8;
inline constexpr std::array<std::string_view, kFindingTypeCount> kFindingTypeNames = {
    "after_revocation", "unconsented_recipient", "outside_scope", "stale_sample",
    "out_of_window",    "cause_mismatch",        "side_channel",  "unclassified",
};
[[nodiscard]] constexpr std::string_view to_string(FindingType t) {
    return kFindingTypeNames[static_cast<std::size_t>(t)];
}
[[nodiscard]] std::optional<FindingType> finding_type_from_string(std::string_view name);

/// What identifies, counts and orders a finding; a FindingList keeps only this in memory.
struct FindingHead {
    FindingType type = FindingType::out_of_window;
    std::string device;
    std::string recipient;
    std::optional<Category> category;
    TimeMs t = 0;              ///< send time
    std::uint64_t line = 0;    ///< trace line of the message (0 if unknown), for ordering/evidence
    std::string field;         ///< unclassified: the field's path; else empty
};

struct Finding : FindingHead {
    nlohmann::json evidence;   ///< object
};

/// Deterministic order: t, device, recipient, type, category, field, line.
[[nodiscard]] bool finding_less(const FindingHead& a, const FindingHead& b);

using FindingCounts = std::array<std::uint64_t, kFindingTypeCount>;

/// By value: pass an rvalue and the evidence is moved, not copied.
[[nodiscard]] nlohmann::json finding_to_json(Finding f);
/// The inverse of finding_to_json (`field` and `line` come back from the evidence), for
/// merging shard results; nullopt when `j` is not a finding.
[[nodiscard]] std::optional<Finding> finding_from_json(const nlohmann::json& j);

}  // namespace consentrig::core
