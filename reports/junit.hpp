#pragma once
/// reports/junit.hpp — JUnit XML for CI servers: one testcase per device × leak class.
///
/// Schema: the common `testsuites/testsuite/testcase` form read by Jenkins, GitLab and GitHub
/// annotations: a failing testcase carries `<failure message=… type=<leak class>>` and the
/// evidence of its first findings in `<system-out>`. Device-supplied text is escaped.
#include <iosfwd>
#include <string>
#include <vector>

#include "core/finding_list.hpp"

namespace consentrig::reports {

struct JunitSuite {
    std::string name;                  ///< scenario name, or the trace file for `check`
    std::vector<std::string> devices;  ///< every device, so clean ones show as passing
    const core::FindingList* findings = nullptr;  ///< sorted; none when null
    double seconds = 0;
};

/// Written case by case (a fleet's file runs to hundreds of megabytes). Errors: a finding's
/// evidence cannot be read back, a failed write.
[[nodiscard]] core::Status write_junit_xml(const std::vector<JunitSuite>& suites, std::ostream& out);
/// The same as a string, for small suites and tests.
[[nodiscard]] core::Result<std::string> junit_xml(const std::vector<JunitSuite>& suites);

}  // namespace consentrig::reports
