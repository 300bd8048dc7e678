#pragma once
/// reports/pdf.hpp — report.pdf, printed from the report's print HTML by headless Chromium.
///
/// The process launch sits behind `PdfRenderer` so that callers (and tests) can replace it, and
/// so a machine without Chromium skips the PDF with a clear message instead of failing the run.
/// Chromium is looked up as $CONSENTRIG_CHROMIUM, else `chromium`, `chromium-browser`,
/// `google-chrome` on PATH (scripts/bootstrap installs Debian's `chromium`). It runs with
/// `--headless --no-sandbox --disable-gpu`, no network services, a throw-away profile, in its
/// own process group, and is killed (group and all) after `timeout_s`.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace consentrig::reports {

struct PdfResult {
    enum class Status { ok, skipped, failed };
    Status status = Status::failed;
    std::string message;  ///< why it was skipped or failed
};

class PdfRenderer {
public:
    virtual ~PdfRenderer() = default;
    /// Prints `html` (a file) to `pdf`.
    [[nodiscard]] virtual PdfResult render(const std::filesystem::path& html, const std::filesystem::path& pdf) = 0;
};

/// The Chromium executable to use, or nullopt when none is installed.
[[nodiscard]] std::optional<std::string> find_chromium();

/// The arguments (after the program) consentrig passes to Chromium, for tests and the docs.
[[nodiscard]] std::vector<std::string> chromium_args(const std::filesystem::path& user_data_dir);

class ChromiumPdf final : public PdfRenderer {
public:
    /// `program` empty: find_chromium().
    explicit ChromiumPdf(std::string program = {}, int timeout_s = 180);
    [[nodiscard]] PdfResult render(const std::filesystem::path& html, const std::filesystem::path& pdf) override;

private:
    std::string program_;
    int timeout_s_;
};

/// Runs `argv` (argv[0] is looked up on PATH when it has no slash) without a shell, stdout to
/// `log` (or /dev/null when empty) and stderr to `err_log` (empty: with stdout), in a new process
/// group; kills the group when the program ends (its helpers) or after `timeout_s`. Returns the
/// exit status, or -1 (with `error`) when it could not run, was killed or timed out.
int run_process(const std::vector<std::string>& argv, const std::filesystem::path& log, int timeout_s, std::string& error,
                const std::filesystem::path& err_log = {});

}  // namespace consentrig::reports
