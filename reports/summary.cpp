#include "reports/summary.hpp"

#include <algorithm>

#include "reports/escape.hpp"

namespace consentrig::reports {

std::string text_summary(const core::FindingList& findings, std::size_t devices, std::size_t messages,
                         std::size_t max_listed) {
    std::string out;
    const core::FindingCounts& counts = findings.counts();
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
    // One line per message and leak class: the categories of one message are listed together.
    std::size_t lines = 0, k = 0;
    std::string body;
    while (k < findings.size() && lines < max_listed) {
        const core::FindingHead& f = findings[k];
        std::string categories;
        std::size_t next = k;
        while (next < findings.size() && findings[next].t == f.t && findings[next].type == f.type &&
               findings[next].device == f.device && findings[next].recipient == f.recipient &&
               findings[next].line == f.line && findings[next].field == f.field) {
            if (findings[next].category) {
                categories += (categories.empty() ? "" : ", ") + std::string(core::to_string(*findings[next].category));
            }
            ++next;
        }
        body += "  " + core::format_rfc3339(f.t) + "  " + std::string(core::to_string(f.type)) + "  " +
                printable(f.device) + " -> " + printable(f.recipient);
        if (!categories.empty()) body += "  " + categories;
        if (!f.field.empty()) body += "  field " + printable(f.field);
        if (f.line) body += "  (line " + std::to_string(f.line) + ")";
        body += "\n";
        // The summary is printed after the reports are written: an unreadable evidence only
        // loses the reason line here.
        if (auto e = findings.evidence(k); e && e->contains("reason") && (*e)["reason"].is_string()) {
            body += "      " + printable((*e)["reason"].get<std::string>()) + "\n";
        }
        ++lines;
        k = next;
    }
    // One line per message: a message leaking 6 categories is 6 findings on one line.
    out += k == lines ? "first " + std::to_string(k) + " of " + std::to_string(findings.size()) + ":\n"
                      : "first " + std::to_string(k) + " of " + std::to_string(findings.size()) + " findings, " +
                            std::to_string(lines) + " messages:\n";
    out += body;
    if (findings.size() > k) out += "  … " + std::to_string(findings.size() - k) + " more in the JSON report\n";
    return out;
}

}  // namespace consentrig::reports
