#pragma once
/// core/yaml_source.hpp — where a YAML node came from and how to name it in an error message,
/// shared by every YAML reader (policy, scenario, the rig's BENCH.yaml), so they all report
/// `file:line:col: what was expected, found what`.
#include <string>
#include <string_view>

#include "core/policy.hpp"

namespace YAML {
class Exception;
}

namespace consentrig::core {

/// `"text"` with quotes, backslashes and control characters escaped, cut after 60 bytes.
[[nodiscard]] std::string quote_text(std::string_view s);
/// What a node is, for "expected X, found Y": `a mapping`, `a list`, `the text "…"`, `no value`.
[[nodiscard]] std::string describe(const YAML::Node& node);
/// The node's `file:line:col` (1-based); `fallback` (or file:1:1) when the node has no mark.
[[nodiscard]] SourceLocation yaml_location(std::string_view file, const YAML::Node& node,
                                           const SourceLocation* fallback = nullptr);
/// As yaml_location, but `parent` for an empty value: its mark points at whatever token
/// follows it, which would mislead.
[[nodiscard]] SourceLocation yaml_location_or(std::string_view file, const YAML::Node& node, const SourceLocation& parent);
/// Where a yaml-cpp parse or conversion error happened (file:1:1 when it has no mark).
[[nodiscard]] SourceLocation yaml_location(std::string_view file, const YAML::Exception& e);

}  // namespace consentrig::core
