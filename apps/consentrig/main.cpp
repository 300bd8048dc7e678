#include <cstdio>
#include <fstream>
#include <iostream>
#include <system_error>

#include "cli.hpp"

namespace consentrig::app {

void print_error(std::string_view command, std::string_view message) {
    std::cerr << "consentrig " << command << ": " << message << "\n";
}

bool write_file(const std::filesystem::path& path, std::string_view content, std::string& error) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    const std::filesystem::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            error = path.string() + ": cannot write: " + std::error_code(errno, std::generic_category()).message();
            return false;
        }
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out.flush()) {
            error = path.string() + ": write failed";
            return false;
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        error = path.string() + ": cannot write: " + ec.message();
        return false;
    }
    return true;
}

}  // namespace consentrig::app

int main(int argc, char** argv) {
    using namespace consentrig::app;
    CLI::App app{"consentrig — proves whether device state leaves a device outside the customer's consent.\n"
                 "Exit status: 0 no findings, 1 findings, 2 bad input or a failed run."};
    app.set_version_flag("--version", std::string("consentrig ") + CONSENTRIG_VERSION);
    app.require_subcommand(1);
    int exit_code = kExitClean;
    add_run(app, exit_code);
    add_suite(app, exit_code);
    add_merge(app, exit_code);
    add_report(app, exit_code);
    add_bench(app, exit_code);
    add_check(app, exit_code);
    add_trace(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? kExitClean : kExitError;
    }
    return exit_code;
}
