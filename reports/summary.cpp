#include "reports/summary.hpp"

#include <algorithm>

#include "reports/escape.hpp"

namespace consentrig::reports {

std::string text_summary(const std::vector<core::Finding>& findings, std::size_t devices, std::size_t messages,
                         std::size_t max_listed) {
    std::string out;
    const core::FindingCounts counts = core::count_by_type(findings);
    out += std::to_string(messages) + " messages from " + std::to_string(devices) + " devices judged\n";
    if (findings.empty()) {
        out += "PASS: every message was covered by consent (0 findings)\n";
        return out;
    }
    out += "FAIL: " + std::to_string(findings.size()) + " finding(s)\n";
    std::size_t width = 0;
    for (auto name : core::kFindingTypeNames) width = std::max(width, name.size());
    for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
        if (counts[i] == 0) continue;
        std::string name(core::kFindingTypeNames[i]);
        name.resize(width, ' ');
        out += "  " + name + "  " + std::to_string(counts[i]) + "\n";
    }
    const std::size_t listed = std::min(max_listed, findings.size());
    out += "first " + std::to_string(listed) + ":\n";
    for (std::size_t k = 0; k < listed; ++k) {
        const core::Finding& f = findings[k];
        out += "  " + core::format_rfc3339(f.t) + "  " + std::string(core::to_string(f.type)) + "  " +
               printable(f.device) + " -> " + printable(f.recipient);
        if (f.category) out += "  " + std::string(core::to_string(*f.category));
        if (!f.field.empty()) out += "  field " + printable(f.field);
        if (f.line) out += "  (line " + std::to_string(f.line) + ")";
        out += "\n";
        if (f.evidence.contains("reason") && f.evidence["reason"].is_string()) {
            out += "      " + printable(f.evidence["reason"].get<std::string>()) + "\n";
        }
    }
    if (findings.size() > listed) out += "  … " + std::to_string(findings.size() - listed) + " more in the JSON report\n";
    return out;
}

}  // namespace consentrig::reports
