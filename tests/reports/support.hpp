#pragma once
/// tests/reports/support.hpp — builds reports from small policies and traces written on the fly.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/finding_list.hpp"
#include "core/policy.hpp"
#include "core/taxonomy.hpp"
#include "reports/model.hpp"

namespace consentrig::reports::testing {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, named after the running test; removed by the caller.
[[nodiscard]] fs::path test_dir(const std::string& tag = {});
void write_text(const fs::path& path, const std::string& text);
[[nodiscard]] std::string read_text(const fs::path& path);

/// Everything a Report points into, kept alive together.
struct Built {
    fs::path dir;
    core::Policy policy;
    core::Taxonomy taxonomy;
    JudgedTrace judged;
    core::FindingList findings;  ///< judged findings plus any extra ones, sorted
    Report report;
};

/// Writes `policy_yaml` and `trace_jsonl` into `dir`, judges the trace, adds `extra` findings
/// (e.g. with invalid UTF-8, which no trace can carry) and builds the report.
[[nodiscard]] std::unique_ptr<Built> build(const fs::path& dir, const std::string& policy_yaml,
                                           const std::string& trace_jsonl, std::vector<core::Finding> extra = {},
                                           ReportOptions options = {});

/// The fixture used by most tests: one thermostat, two recipients, one of each common leak.
extern const char* const kPolicy;
extern const char* const kTrace;
/// A clean run: every message within consent, nothing withdrawn.
extern const char* const kCleanTrace;

/// Hostile strings: markup, quotes, a javascript: URL, control characters.
extern const char* const kHostileDevice;     ///< `<script>…document.title='pwned'…</script>`
extern const char* const kHostileRecipient;  ///< `</svg><script>…</script>`
extern const char* const kHostilePolicy;
extern const char* const kHostileTrace;
/// Extra findings carrying invalid UTF-8 and raw control bytes in device, recipient and evidence.
[[nodiscard]] std::vector<core::Finding> invalid_utf8_findings();

}  // namespace consentrig::reports::testing
