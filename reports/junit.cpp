#include "reports/junit.hpp"

#include <cstdio>
#include <map>
#include <ostream>
#include <sstream>

#include "reports/escape.hpp"

namespace consentrig::reports {
namespace {

constexpr std::size_t kEvidencePerCase = 5;  ///< findings whose evidence goes into system-out

std::string attr(std::string_view s) { return xml_escape(s, false); }

/// device → leak class → finding indices, in deterministic order; every device has a case.
using Cases = std::map<std::string, std::map<core::FindingType, std::vector<std::size_t>>>;

Cases cases_of(const JunitSuite& suite) {
    Cases by_case;
    for (const auto& d : suite.devices) by_case[d];
    const std::size_t count = suite.findings ? suite.findings->size() : 0;
    for (std::size_t i = 0; i < count; ++i) {
        const core::FindingHead& f = (*suite.findings)[i];
        by_case[f.device][f.type].push_back(i);
    }
    return by_case;
}

std::size_t failures_of(const Cases& cases) {
    std::size_t n = 0;
    for (const auto& [device, types] : cases) n += types.size();
    return n;
}

}  // namespace

core::Status write_junit_xml(const std::vector<JunitSuite>& suites, std::ostream& out) {
    // The counts head the document, so they are computed first; the cases are then written one
    // at a time (a fleet's junit.xml runs to hundreds of megabytes).
    std::vector<Cases> all;
    std::size_t total_tests = 0, total_failures = 0;
    for (const JunitSuite& suite : suites) {
        all.push_back(cases_of(suite));
        total_tests += all.back().size() * core::kFindingTypeCount;
        total_failures += failures_of(all.back());
    }
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"consentrig\" tests=\"" << total_tests
        << "\" failures=\"" << total_failures << "\">\n";
    for (std::size_t si = 0; si < suites.size(); ++si) {
        const JunitSuite& suite = suites[si];
        const Cases& by_case = all[si];
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.3f", suite.seconds);
        out << "  <testsuite name=\"" << attr(suite.name) << "\" tests=\"" << by_case.size() * core::kFindingTypeCount
            << "\" failures=\"" << failures_of(by_case) << "\" errors=\"0\" skipped=\"0\" time=\"" << seconds << "\">\n";
        for (const auto& [device, types] : by_case) {
            for (std::size_t ti = 0; ti < core::kFindingTypeCount; ++ti) {
                const auto type = static_cast<core::FindingType>(ti);
                out << "    <testcase classname=\"" << attr(suite.name + "." + device) << "\" name=\""
                    << core::to_string(type) << "\" time=\"0\"";
                const auto it = types.find(type);
                if (it == types.end()) {
                    out << "/>\n";
                    continue;
                }
                const auto& list = it->second;
                const core::FindingHead& first = (*suite.findings)[list.front()];
                std::string message = std::to_string(list.size()) + " " + std::string(core::to_string(type)) +
                                      " finding(s); first at " + core::format_rfc3339(first.t) + " to " +
                                      first.recipient;
                if (first.category) message += " (" + std::string(core::to_string(*first.category)) + ")";
                std::string evidence;
                for (std::size_t k = 0; k < list.size() && k < kEvidencePerCase; ++k) {
                    auto f = suite.findings->load(list[k]);
                    if (!f) return f.error();
                    evidence += core::finding_to_json(std::move(*f)).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
                    evidence += "\n";
                }
                if (list.size() > kEvidencePerCase) {
                    evidence += "… and " + std::to_string(list.size() - kEvidencePerCase) + " more\n";
                }
                out << ">\n      <failure message=\"" << attr(message) << "\" type=\"" << core::to_string(type) << "\">"
                    << xml_escape(message) << "</failure>\n      <system-out>" << xml_escape(evidence)
                    << "</system-out>\n    </testcase>\n";
            }
        }
        out << "  </testsuite>\n";
    }
    out << "</testsuites>\n";
    if (!out) return core::Error{"cannot write the JUnit XML"};
    return {};
}

core::Result<std::string> junit_xml(const std::vector<JunitSuite>& suites) {
    std::ostringstream out;
    if (auto st = write_junit_xml(suites, out); !st) return st.error();
    return out.str();
}

}  // namespace consentrig::reports
