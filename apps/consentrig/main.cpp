#include <cstdio>
#include <fstream>
#include <iostream>
#include <system_error>

#include "cli.hpp"

namespace consentrig::app {

void print_error(std::string_view command, std::string_view message) {
    std::cerr << "consentrig " << command << ": " << message << "\n";
}

void print_warning(bool tty, std::string_view message) {
    std::cerr << (tty ? "\r\033[K" : "") << "warning: " << message << "\n";
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
