#pragma once
/// reports/html.hpp — the report as one self-contained HTML file.
///
/// No network: CSS, SVG and a little JavaScript are inline, and a Content-Security-Policy
/// forbids every other source (`default-src 'none'`) and every script but the page's own (by
/// its SHA-256). Device-supplied text only ever reaches the page escaped, as text or attribute
/// values (never as markup, a URL or script); links are the page's own `#f-N` anchors.
///
/// Interactive (`print = false`): zoomable timelines, a findings table filtered by type,
/// device, recipient and category whose rows open their evidence. Print (`print = true`): the
/// input of the PDF — no script, evidence shown for the first findings, fewer timelines.
#include <cstddef>
#include <string>

#include "reports/model.hpp"

namespace consentrig::reports {

struct HtmlOptions {
    bool print = false;
    std::size_t print_timelines = 10;  ///< print: timelines of the worst devices
    std::size_t print_findings = 100;  ///< print: rows of the findings table
    std::size_t print_evidence = 8;    ///< print: rows whose evidence is shown (first of each type × device × recipient)
    std::size_t print_ranked = 25;     ///< print: rows of the device ranking
    std::size_t max_links_per_device = 400;  ///< leak ticks that link to their finding
};

[[nodiscard]] std::string render_html(const Report& report, const HtmlOptions& options = {});

}  // namespace consentrig::reports
