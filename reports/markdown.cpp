#include "reports/markdown.hpp"

#include "reports/escape.hpp"

namespace consentrig::reports {
namespace {

std::string md(std::string_view s) { return markdown_escape(s); }

std::string mark(Verdict v) {
    switch (v) {
        case Verdict::pass: return "✅ PASS";
        case Verdict::fail: return "❌ FAIL";
        case Verdict::inconclusive: return "⚠️ INCONCLUSIVE";
    }
    return "";
}

}  // namespace

std::string render_markdown(const Report& r, const MarkdownOptions& o) {
    const ReportMeta& m = r.meta;
    const RunInfo& i = m.info;
    std::string out;
    out += "## consentrig: " + md(i.scenario.empty() ? "trace" : i.scenario) + " — " + std::string(to_string(r.verdict)) + "\n\n";
    out += "**" + mark(r.verdict) + "** — " + md(r.verdict_reason) + "\n\n";
    out += std::to_string(r.aggregates.devices) + " devices · " + std::to_string(m.messages) + " messages · " +
           std::to_string(r.findings->size()) + " findings · " + md(core::format_rfc3339(m.start)) + " – " +
           md(core::format_rfc3339(m.end));
    if (!i.source.empty()) out += " · source " + md(i.source);
    if (i.seed) out += " · seed " + std::to_string(*i.seed);
    if (!i.scenario_sha256.empty()) out += " · scenario sha256 " + md(i.scenario_sha256.substr(0, 12)) + "…";
    if (!i.version.empty()) out += " · consentrig " + md(i.version);
    out += "\n\n";
    if (i.incomplete_to) out += "**INCOMPLETE — replayed up to " + md(core::format_rfc3339(*i.incomplete_to)) + "**\n\n";
    if (i.expectations.checked) {
        out += "Scenario expectations: **" + std::string(i.expectations.met ? "met" : "NOT met") + "**\n";
        for (std::size_t k = 0; k < i.expectations.problems.size() && k < 5; ++k) out += "- " + md(i.expectations.problems[k]) + "\n";
        out += "\n";
    }
    out += "| provision | verdict | findings |\n|---|---|---:|\n";
    for (const auto& pr : r.provisions) {
        const Provision& p = provision(pr.id);
        out += "| " + md(p.label) + " — " + md(p.title) + " | " + mark(pr.verdict) + " | " + std::to_string(pr.findings) + " |\n";
    }
    out += "\n";
    if (!r.findings->empty()) {
        out += "| leak class | findings |\n|---|---:|\n";
        for (std::size_t t = 0; t < core::kFindingTypeCount; ++t) {
            if (r.aggregates.by_type[t]) {
                out += "| " + md(core::kFindingTypeNames[t]) + " | " + std::to_string(r.aggregates.by_type[t]) + " |\n";
            }
        }
        out += "\n";
        const auto& ranked = r.aggregates.ranked;
        out += "**Worst devices** (" + std::to_string(r.aggregates.devices_with_findings) + " with findings)\n\n";
        out += "| device | findings | leak classes |\n|---|---:|---|\n";
        for (std::size_t k = 0; k < ranked.size() && k < o.devices; ++k) {
            std::string classes;
            for (std::size_t t = 0; t < core::kFindingTypeCount; ++t) {
                if (ranked[k].counts[t]) classes += (classes.empty() ? "" : ", ") + std::to_string(ranked[k].counts[t]) + " " + md(core::kFindingTypeNames[t]);
            }
            out += "| " + md(ranked[k].device) + " | " + std::to_string(ranked[k].findings) + " | " + classes + " |\n";
        }
        out += "\n";
    }
    if (!r.coverage.untested.empty()) {
        out += "**Not tested by this run**\n\n";
        for (std::size_t k = 0; k < r.coverage.untested.size() && k < o.untested; ++k) out += "- " + md(r.coverage.untested[k]) + "\n";
        if (r.coverage.untested.size() > o.untested) {
            out += "- … " + std::to_string(r.coverage.untested.size() - o.untested) + " more in report.html\n";
        }
        out += "\n";
    }
    out += "Reports: report.html (timelines, evidence), report.json, junit.xml, findings.json\n";
    return out;
}

}  // namespace consentrig::reports
