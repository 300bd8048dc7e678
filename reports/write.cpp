#include "reports/write.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "reports/json_report.hpp"
#include "reports/markdown.hpp"

namespace consentrig::reports {
namespace {

namespace fs = std::filesystem;

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool pdf_disabled_by_env() {
    const char* v = std::getenv("CONSENTRIG_PDF");
    if (!v) return false;
    const std::string s(v);
    return s == "0" || s == "off" || s == "no" || s == "false";
}

}  // namespace

core::Status write_text_file(const fs::path& path, std::string_view content) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return core::Error{path.string() + ": cannot write: " + std::strerror(errno)};
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out.flush()) return core::Error{path.string() + ": write failed"};
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) return core::Error{path.string() + ": cannot write: " + ec.message()};
    return {};
}

core::Result<WriteResult> write_reports(const Report& report, const fs::path& dir, const WriteOptions& options) {
    WriteResult result;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return core::Error{dir.string() + ": cannot create: " + ec.message()};
    if (options.html) {
        const auto t0 = std::chrono::steady_clock::now();
        if (auto st = write_text_file(dir / "report.html", render_html(report, options.html_options)); !st) return st.error();
        result.written.push_back("report.html");
        result.html_seconds = since(t0);
    }
    if (options.json) {
        const auto t0 = std::chrono::steady_clock::now();
        const fs::path path = dir / "report.json", tmp = path.string() + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            if (!out) return core::Error{path.string() + ": cannot write: " + std::strerror(errno)};
            if (auto st = write_report_json(report, out); !st) return core::Error{path.string() + ": " + st.error().message};
            if (!out.flush()) return core::Error{path.string() + ": write failed"};
        }
        fs::rename(tmp, path, ec);
        if (ec) return core::Error{path.string() + ": cannot write: " + ec.message()};
        result.written.push_back("report.json");
        result.json_seconds = since(t0);
    }
    if (options.markdown) {
        if (auto st = write_text_file(dir / "summary.md", render_markdown(report)); !st) return st.error();
        result.written.push_back("summary.md");
    }
    if (options.pdf && pdf_disabled_by_env()) {
        result.pdf_note = "no PDF: CONSENTRIG_PDF is off";
    } else if (options.pdf) {
        const auto t0 = std::chrono::steady_clock::now();
        HtmlOptions print = options.html_options;
        print.print = true;
        const fs::path print_html = dir / ".report-print.html";
        if (auto st = write_text_file(print_html, render_html(report, print)); !st) return st.error();
        ChromiumPdf chromium;
        PdfRenderer& renderer = options.renderer ? *options.renderer : chromium;
        const PdfResult pdf = renderer.render(print_html, dir / "report.pdf");
        fs::remove(print_html, ec);
        if (pdf.status == PdfResult::Status::ok) result.written.push_back("report.pdf");
        else result.pdf_note = pdf.message;
        result.pdf_seconds = since(t0);
    }
    return result;
}

}  // namespace consentrig::reports
