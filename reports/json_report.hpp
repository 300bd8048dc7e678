#pragma once
/// reports/json_report.hpp — report.json: PROTOCOL.md §4 (findings with evidence, a summary of
/// counts per type) plus everything the HTML shows — verdicts, provisions, aggregates,
/// timelines, coverage, metadata. Schema `consentrig-report`, version kReportSchemaVersion,
/// documented in docs/reports.md. Deterministic for a given report (no wall-clock times except
/// the run's own `metadata.seconds`).
#include <ostream>
#include <string>

#include "reports/model.hpp"

namespace consentrig::reports {

/// Streams the findings one per line, read back from their list one at a time, so a million
/// findings need no copy in memory. Errors: a finding's evidence cannot be read back.
[[nodiscard]] core::Status write_report_json(const Report& report, std::ostream& out);
[[nodiscard]] core::Result<std::string> report_json(const Report& report);

}  // namespace consentrig::reports
