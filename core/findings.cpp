#include "core/findings.hpp"

#include <tuple>

namespace consentrig::core {

std::optional<FindingType> finding_type_from_string(std::string_view name) {
    for (std::size_t i = 0; i < kFindingTypeCount; ++i) {
        if (kFindingTypeNames[i] == name) return static_cast<FindingType>(i);
    }
    return std::nullopt;
}

bool finding_less(const FindingHead& a, const FindingHead& b) {
    // nullopt category sorts first; categories compare by their enum value.
    const int ca = a.category ? static_cast<int>(*a.category) : -1;
    const int cb = b.category ? static_cast<int>(*b.category) : -1;
    return std::tie(a.t, a.device, a.recipient, a.type, ca, a.field, a.line) <
           std::tie(b.t, b.device, b.recipient, b.type, cb, b.field, b.line);
}

nlohmann::json finding_to_json(Finding f) {
    nlohmann::json j = nlohmann::json::object();
    j["type"] = to_string(f.type);
    j["device"] = f.device;
    j["recipient"] = f.recipient;
    j["category"] = f.category ? nlohmann::json(to_string(*f.category)) : nlohmann::json(nullptr);
    j["t"] = format_rfc3339(f.t);
    j["evidence"] = f.evidence.is_object() ? std::move(f.evidence) : nlohmann::json::object();
    return j;
}

std::optional<Finding> finding_from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return std::nullopt;
    const auto type = finding_type_from_string(j["type"].get<std::string>());
    const auto t = j.contains("t") && j["t"].is_string() ? parse_rfc3339(j["t"].get<std::string>()) : std::nullopt;
    if (!type || !t) return std::nullopt;
    Finding f;
    f.type = *type;
    f.t = *t;
    f.device = j.value("device", "");
    f.recipient = j.value("recipient", "");
    if (j.contains("category") && j["category"].is_string()) {
        f.category = category_from_string(j["category"].get<std::string>());
        if (!f.category) return std::nullopt;
    }
    f.evidence = j.value("evidence", nlohmann::json::object());
    if (f.evidence.contains("field") && f.evidence["field"].is_string()) f.field = f.evidence["field"].get<std::string>();
    if (f.evidence.contains("line") && f.evidence["line"].is_number_unsigned()) f.line = f.evidence["line"].get<std::uint64_t>();
    return f;
}

}  // namespace consentrig::core
