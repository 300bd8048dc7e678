#pragma once
/// reports/write.hpp — writes every report of a run into a folder.
///
///   report.html   interactive, self-contained (reports/html.hpp)
///   report.json   the complete data (reports/json_report.hpp)
///   summary.md    for a CI job summary (reports/markdown.hpp)
///   report.pdf    printed from the print HTML by headless Chromium (reports/pdf.hpp), when
///                 Chromium is installed and $CONSENTRIG_PDF is not `0`/`off`/`no`
///
/// Files are written through a temporary and renamed, so a reader never sees half a report.
/// findings.json and junit.xml stay with the commands (findings.json must remain byte-identical
/// across shard merges).
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "reports/html.hpp"
#include "reports/model.hpp"
#include "reports/pdf.hpp"

namespace consentrig::reports {

struct WriteOptions {
    bool html = true;
    bool json = true;
    bool markdown = true;
    bool pdf = true;                    ///< also subject to $CONSENTRIG_PDF
    PdfRenderer* renderer = nullptr;    ///< nullptr: ChromiumPdf
    HtmlOptions html_options;
};

struct WriteResult {
    std::vector<std::string> written;  ///< file names, in the order written
    std::string pdf_note;              ///< why report.pdf is missing, when it is
    double html_seconds = 0, json_seconds = 0, pdf_seconds = 0;
};

[[nodiscard]] core::Result<WriteResult> write_reports(const Report& report, const std::filesystem::path& dir,
                                                      const WriteOptions& options = {});

/// Writes `content` to `path` via `path.tmp` and a rename.
[[nodiscard]] core::Status write_text_file(const std::filesystem::path& path, std::string_view content);

}  // namespace consentrig::reports
