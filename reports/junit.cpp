#include "reports/junit.hpp"

#include <cstdio>
#include <map>

#include "reports/escape.hpp"

namespace consentrig::reports {
namespace {

constexpr std::size_t kEvidencePerCase = 5;  ///< findings whose evidence goes into system-out

std::string attr(std::string_view s) { return xml_escape(s, false); }

}  // namespace

core::Result<std::string> junit_xml(const std::vector<JunitSuite>& suites) {
    std::size_t total_tests = 0, total_failures = 0;
    std::string body;
    for (const JunitSuite& suite : suites) {
        // device → type → findings, in deterministic order
        std::map<std::string, std::map<core::FindingType, std::vector<std::size_t>>> by_case;
        for (const auto& d : suite.devices) by_case[d];
        const std::size_t count = suite.findings ? suite.findings->size() : 0;
        for (std::size_t i = 0; i < count; ++i) {
            const core::FindingHead& f = (*suite.findings)[i];
            by_case[f.device][f.type].push_back(i);
        }

        std::string cases;
        std::size_t tests = 0, failures = 0;
        for (const auto& [device, types] : by_case) {
            for (std::size_t ti = 0; ti < core::kFindingTypeCount; ++ti) {
                const auto type = static_cast<core::FindingType>(ti);
                ++tests;
                cases += "    <testcase classname=\"" + attr(suite.name + "." + device) + "\" name=\"" +
                         std::string(core::to_string(type)) + "\" time=\"0\"";
                const auto it = types.find(type);
                if (it == types.end()) {
                    cases += "/>\n";
                    continue;
                }
                ++failures;
                const auto& list = it->second;
                const core::FindingHead& first = (*suite.findings)[list.front()];
                std::string message = std::to_string(list.size()) + " " + std::string(core::to_string(type)) +
                                      " finding(s); first at " + core::format_rfc3339(first.t) + " to " +
                                      first.recipient;
                if (first.category) message += " (" + std::string(core::to_string(*first.category)) + ")";
                std::string out;
                for (std::size_t k = 0; k < list.size() && k < kEvidencePerCase; ++k) {
                    auto f = suite.findings->load(list[k]);
                    if (!f) return f.error();
                    out += core::finding_to_json(std::move(*f)).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
                    out += "\n";
                }
                if (list.size() > kEvidencePerCase) {
                    out += "… and " + std::to_string(list.size() - kEvidencePerCase) + " more\n";
                }
                cases += ">\n      <failure message=\"" + attr(message) + "\" type=\"" +
                         std::string(core::to_string(type)) + "\">" + xml_escape(message) + "</failure>\n" +
                         "      <system-out>" + xml_escape(out) + "</system-out>\n    </testcase>\n";
            }
        }
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.3f", suite.seconds);
        body += "  <testsuite name=\"" + attr(suite.name) + "\" tests=\"" + std::to_string(tests) +
                "\" failures=\"" + std::to_string(failures) + "\" errors=\"0\" skipped=\"0\" time=\"" + seconds +
                "\">\n" + cases + "  </testsuite>\n";
        total_tests += tests;
        total_failures += failures;
    }
    return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"consentrig\" tests=\"" +
           std::to_string(total_tests) + "\" failures=\"" + std::to_string(total_failures) + "\">\n") + body +
           "</testsuites>\n";
}

}  // namespace consentrig::reports
