#pragma once
/// rig/bench_config.hpp — BENCH.yaml: which board runs each scenario device (a host stub, a
/// QEMU Cortex-M3 board, or a serial port with an optional Modbus plant link) and the rig-wide
/// settings (time scale, pacing, QEMU program and image, rig faults). docs/bench.md has the
/// reference; every error names `file:line:col`.
///
///     auto cfg = rig::load_bench_config("BENCH.yaml", scenario);
///     rig::BenchOptions o;  rig::apply(*cfg, o);
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/scenario.hpp"
#include "rig/bench.hpp"

namespace consentrig::rig {

struct BenchConfig {
    std::string file;
    std::optional<double> time_scale;   ///< 1…1000
    std::optional<bool> pace;
    BoardType default_board = BoardType::stub;  ///< devices not under `boards:`
    std::string qemu_program;           ///< empty: default_qemu_program()
    std::filesystem::path m3_image;     ///< empty: default_m3_image(); relative to the file
    std::vector<BoardSpec> boards;
    std::vector<BoardKill> kills;
    std::vector<PlantTimeout> plant_timeouts;
};

/// Parses BENCH.yaml text. Device names are checked against `scenario` (named devices only);
/// relative paths (`qemu.image`) are taken relative to `base_dir`.
[[nodiscard]] core::Result<BenchConfig> parse_bench_config(std::string_view yaml_text, std::string_view file_name,
                                                           const core::Scenario& scenario,
                                                           const std::filesystem::path& base_dir = {});
[[nodiscard]] core::Result<BenchConfig> load_bench_config(const std::filesystem::path& path,
                                                          const core::Scenario& scenario);

/// Copies the configuration into bench options (settings the file leaves out stay as they are).
void apply(const BenchConfig& config, BenchOptions& options);

}  // namespace consentrig::rig
