#pragma once
/// reports/render_util.hpp — small helpers shared by the renderers (not a public API).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace consentrig::reports {

/// JSON text, invalid UTF-8 replaced by U+FFFD (never throws); `indent` < 0: compact.
[[nodiscard]] std::string dump_json(const nlohmann::json& j, int indent);

/// A captured body pretty-printed with its keys in the order they were captured; the text
/// itself when it is not JSON.
[[nodiscard]] std::string pretty_verbatim(std::string_view body);

}  // namespace consentrig::reports
