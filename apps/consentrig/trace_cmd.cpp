#include <iostream>
#include <memory>

#include "cli.hpp"
#include "core/trace.hpp"

namespace consentrig::app {

void add_trace(CLI::App& app, int& exit_code) {
    CLI::App* cmd = app.add_subcommand("trace", "Convert traces between JSONL and SQLite (lossless both ways).");
    cmd->require_subcommand(1);

    struct Paths {
        std::string in, out;
    };
    auto imp = std::make_shared<Paths>();
    CLI::App* import = cmd->add_subcommand("import", "JSONL → SQLite trace (every line kept byte for byte)");
    import->add_option("jsonl", imp->in, "Trace JSONL to read")->required()->check(CLI::ExistingFile);
    import->add_option("db", imp->out, "SQLite trace to create (must not exist)")->required();
    import->callback([imp, &exit_code] {
        auto n = core::import_jsonl(imp->in, imp->out);
        if (!n) {
            print_error("trace import", n.error().message);
            exit_code = kExitError;
            return;
        }
        std::cout << "imported " << *n << " records into " << imp->out << "\n";
    });

    auto exp = std::make_shared<Paths>();
    CLI::App* exporter = cmd->add_subcommand("export", "SQLite trace → JSONL");
    exporter->add_option("db", exp->in, "SQLite trace to read")->required()->check(CLI::ExistingFile);
    exporter->add_option("jsonl", exp->out, "JSONL file to write")->required();
    exporter->callback([exp, &exit_code] {
        auto n = core::export_jsonl(exp->in, exp->out);
        if (!n) {
            print_error("trace export", n.error().message);
            exit_code = kExitError;
            return;
        }
        std::cout << "exported " << *n << " records to " << exp->out << "\n";
    });
}

}  // namespace consentrig::app
