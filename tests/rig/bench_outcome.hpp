#pragma once
// What a `consentrig bench` / `consentrig run --bench` left in <dir>/out, for the bench e2e tests.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../e2e/process.hpp"

namespace consentrig::testing {

struct BenchOutcome {
    int exit_code = -1;
    std::string out, err;
    nlohmann::json findings, run;       ///< findings.json and run.json (discarded when missing)
    std::multiset<std::string> types;   ///< one entry per finding
    std::filesystem::path dir;
};

/// Runs `argv` (which writes to dir/out) and reads what it wrote.
inline BenchOutcome run_bench_and_read(const std::filesystem::path& dir, const std::vector<std::string>& argv,
                                       const std::vector<std::string>& env = {}) {
    BenchOutcome o;
    o.dir = dir;
    const auto r = run_process(argv, {}, env);
    o.exit_code = r.exit_code;
    o.out = r.out;
    o.err = r.err;
    std::ifstream f(dir / "out" / "findings.json");
    o.findings = nlohmann::json::parse(f, nullptr, false);
    std::ifstream g(dir / "out" / "run.json");
    o.run = nlohmann::json::parse(g, nullptr, false);
    if (o.findings.is_object()) {
        for (const auto& x : o.findings["findings"]) o.types.insert(x["type"].get<std::string>());
    }
    return o;
}

inline std::string describe(const BenchOutcome& o) { return o.out + "\n" + o.err; }

}  // namespace consentrig::testing
