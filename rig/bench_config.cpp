#include "rig/bench_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <yaml-cpp/yaml.h>

#include "core/text_file.hpp"
#include "core/yaml_source.hpp"

namespace consentrig::rig {

using core::Error;
using core::Result;
using core::SourceLocation;
using core::Status;

namespace {

constexpr std::array<std::string_view, 6> kTopKeys = {"time_scale", "pace", "default", "qemu", "boards", "faults"};
constexpr std::array<std::string_view, 2> kQemuKeys = {"program", "image"};
constexpr std::array<std::string_view, 3> kSerialKeys = {"serial", "baud", "plant"};
constexpr std::array<std::string_view, 4> kPlantKeys = {"rtu", "tcp", "baud", "unit"};
constexpr std::array<std::string_view, 4> kFaultKeys = {"device", "at", "kill", "modbus_timeout"};
/// The rates termios and libserialport both set on Linux.
constexpr std::array<std::uint32_t, 16> kBauds = {1200,   2400,   4800,   9600,   19200,  38400,   57600,   115200,
                                                  230400, 460800, 500000, 576000, 921600, 1000000, 2000000, 3000000};
constexpr double kMaxTimeScale = 1000;  ///< the firmware's limit

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& names) {
    std::string out;
    for (const auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
    return out;
}

class Reader {
public:
    Reader(std::string_view file, const core::Scenario& s, std::filesystem::path base)
        : file_(file), s_(s), base_(std::move(base)) {}

    Result<BenchConfig> read(const YAML::Node& root);

private:
    [[nodiscard]] SourceLocation at(const YAML::Node& n) const { return core::yaml_location(file_, n); }
    [[nodiscard]] Error fail(const YAML::Node& n, std::string_view what) const {
        return Error{core::to_string(at(n)) + ": " + std::string(what)};
    }
    /// A mapping whose keys are all in `allowed`.
    template <std::size_t N>
    Status mapping(const YAML::Node& n, std::string_view what, const std::array<std::string_view, N>& allowed) const {
        if (!n.IsMap()) return fail(n, std::string(what) + " must be a mapping with keys " + join(allowed) + ", found " + core::describe(n));
        for (auto it = n.begin(); it != n.end(); ++it) {
            const YAML::Node key = it->first;
            if (!key.IsScalar() || std::find(allowed.begin(), allowed.end(), key.Scalar()) == allowed.end()) {
                return fail(key, "unknown key " + (key.IsScalar() ? core::quote_text(key.Scalar()) : core::describe(key)) +
                                     " in " + std::string(what) + " (allowed: " + join(allowed) + ")");
            }
        }
        return {};
    }
    Result<std::string> text(const YAML::Node& n, std::string_view name) const {
        if (!n.IsScalar() || n.Scalar().empty()) return fail(n, "`" + std::string(name) + "` must be text, found " + core::describe(n));
        return n.Scalar();
    }
    Result<std::uint64_t> whole(const YAML::Node& n, std::string_view name) const {
        std::uint64_t v = 0;
        if (n.IsScalar()) {
            const std::string& t = n.Scalar();
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (ec == std::errc{} && end == t.data() + t.size() && !t.empty()) return v;
        }
        return fail(n, "`" + std::string(name) + "` must be a whole number, found " + core::describe(n));
    }
    Result<std::uint32_t> baud(const YAML::Node& n) const {
        auto v = whole(n, "baud");
        if (!v) return v.error();
        if (std::find(kBauds.begin(), kBauds.end(), *v) == kBauds.end()) {
            std::string list;
            for (const auto b : kBauds) list += (list.empty() ? "" : ", ") + std::to_string(b);
            return fail(n, "baud " + std::to_string(*v) + " is not a standard rate (expected one of " + list + ")");
        }
        return static_cast<std::uint32_t>(*v);
    }
    Result<core::DurationMs> duration(const YAML::Node& n, std::string_view name) const {
        if (n.IsScalar()) {
            if (auto d = core::parse_scenario_duration(n.Scalar())) return *d;
        }
        return fail(n, "`" + std::string(name) + "` must be a duration such as 90s, 10m or 2h, found " + core::describe(n));
    }
    Result<std::string> device(const YAML::Node& n) const {
        if (!n.IsScalar()) return fail(n, "a device must be a scenario device id, found " + core::describe(n));
        const std::string& id = n.Scalar();
        const bool known = std::any_of(s_.devices.begin(), s_.devices.end(), [&](const core::DeviceSpec& d) { return d.id == id; });
        if (!known) {
            std::string list;
            for (const auto& d : s_.devices) list += (list.empty() ? "" : ", ") + d.id;
            return fail(n, "unknown device " + core::quote_text(id) + " (" + s_.file + " has " + (list.empty() ? "no named devices" : list) + ")");
        }
        return id;
    }
    Result<PlantLink> plant(const YAML::Node& n) const;
    Result<BoardSpec> board(const std::string& id, const YAML::Node& n) const;
    Status faults(const YAML::Node& n, BenchConfig& out) const;

    std::string file_;
    const core::Scenario& s_;
    std::filesystem::path base_;
};

Result<PlantLink> Reader::plant(const YAML::Node& n) const {
    if (auto st = mapping(n, "`plant`", kPlantKeys); !st) return st.error();
    PlantLink p;
    const bool rtu = n["rtu"].IsDefined();
    const bool tcp = n["tcp"].IsDefined();
    if (rtu == tcp) return fail(n, "`plant` needs exactly one of `rtu: /dev/ttyUSB1` or `tcp: 127.0.0.1:1502`");
    if (rtu) {
        auto path = text(n["rtu"], "rtu");
        if (!path) return path.error();
        p.kind = PlantLink::Kind::rtu;
        p.path = *path;
        if (n["baud"]) {
            auto b = baud(n["baud"]);
            if (!b) return b.error();
            p.baud = *b;
        }
    } else {
        if (n["baud"]) return fail(n["baud"], "`baud` is for `rtu` plants; a `tcp` plant has none");
        auto where = text(n["tcp"], "tcp");
        if (!where) return where.error();
        const auto colon = where->rfind(':');
        std::uint64_t port = 0;
        const char* first = where->data() + (colon == std::string::npos ? 0 : colon + 1);
        const char* last = where->data() + where->size();
        const auto [end, ec] = std::from_chars(first, last, port);
        if (colon == std::string::npos || colon == 0 || ec != std::errc{} || end != last || first == last || port > 65535) {
            return fail(n["tcp"], "`tcp` must be ADDRESS:PORT such as 127.0.0.1:1502 (port 0: any free port), found " +
                                      core::quote_text(*where));
        }
        p.kind = PlantLink::Kind::tcp;
        p.address = where->substr(0, colon);
        p.port = static_cast<int>(port);
    }
    if (n["unit"]) {
        auto u = whole(n["unit"], "unit");
        if (!u) return u.error();
        if (*u < 1 || *u > 247) return fail(n["unit"], "`unit` must be a Modbus unit id 1…247, found " + std::to_string(*u));
        p.unit = static_cast<std::uint8_t>(*u);
    }
    return p;
}

Result<BoardSpec> Reader::board(const std::string& id, const YAML::Node& n) const {
    BoardSpec b;
    b.device = id;
    if (n.IsScalar()) {
        if (n.Scalar() == "stub") return b;
        if (n.Scalar() == "qemu") {
            b.type = BoardType::qemu;
            return b;
        }
        return fail(n, "board for " + id + " must be `stub`, `qemu` or a mapping with `serial: PORT`, found " + core::describe(n));
    }
    if (auto st = mapping(n, "the board of " + id, kSerialKeys); !st) return st.error();
    if (!n["serial"]) return fail(n, "the board of " + id + " has no `serial:` port (or write `stub` or `qemu` instead of a mapping)");
    auto port = text(n["serial"], "serial");
    if (!port) return port.error();
    b.type = BoardType::serial;
    b.port = *port;
    if (n["baud"]) {
        auto r = baud(n["baud"]);
        if (!r) return r.error();
        b.baud = *r;
    }
    if (n["plant"]) {
        auto p = plant(n["plant"]);
        if (!p) return p.error();
        b.plant = *p;
    }
    return b;
}

Status Reader::faults(const YAML::Node& n, BenchConfig& out) const {
    if (!n.IsSequence()) return fail(n, "`faults` must be a list such as - {device: thermo-1, at: 20m, kill: 5m}, found " + core::describe(n));
    for (const YAML::Node& item : n) {
        if (auto st = mapping(item, "a fault", kFaultKeys); !st) return st;
        if (!item["device"]) return fail(item, "a fault needs `device:`");
        if (!item["at"]) return fail(item, "a fault needs `at:` (an offset from the scenario start such as 20m)");
        auto dev = device(item["device"]);
        if (!dev) return dev.error();
        auto at_ms = duration(item["at"], "at");
        if (!at_ms) return at_ms.error();
        const bool kill = item["kill"].IsDefined();
        const bool timeout = item["modbus_timeout"].IsDefined();
        if (kill == timeout) return fail(item, "a fault needs exactly one of `kill: DURATION|end` or `modbus_timeout: DURATION|end`");
        const YAML::Node& d = kill ? item["kill"] : item["modbus_timeout"];
        std::optional<core::DurationMs> down;
        if (!(d.IsScalar() && d.Scalar() == "end")) {
            auto r = duration(d, kill ? "kill" : "modbus_timeout");
            if (!r) return r.error();
            down = *r;
        }
        const auto spec = std::find_if(out.boards.begin(), out.boards.end(), [&](const BoardSpec& b) { return b.device == *dev; });
        const BoardType type = spec != out.boards.end() ? spec->type : out.default_board;
        if (kill && type == BoardType::serial) {
            return fail(item["kill"], "`kill` needs a board the rig starts (stub or qemu); " + *dev + " is on a serial port — unplug it by hand");
        }
        const bool has_plant = type == BoardType::qemu || (type == BoardType::serial && spec->plant.kind != PlantLink::Kind::none);
        if (timeout && !has_plant) {
            return fail(item["modbus_timeout"], "`modbus_timeout` needs a board with a Modbus plant (qemu, or serial with `plant:`); " + *dev +
                                                    " is a " + std::string(to_string(type)) + " board without one");
        }
        if (kill) out.kills.push_back(BoardKill{*dev, *at_ms, down});
        else out.plant_timeouts.push_back(PlantTimeout{*dev, *at_ms, down});
    }
    return {};
}

Result<BenchConfig> Reader::read(const YAML::Node& root) {
    BenchConfig c;
    c.file = file_;
    if (!root.IsDefined() || root.IsNull()) return c;  // an empty file: every default
    if (auto st = mapping(root, "a bench file", kTopKeys); !st) return st.error();
    if (const YAML::Node n = root["time_scale"]) {
        double v = 0;
        if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v) || v < 1 || v > kMaxTimeScale) {
            return fail(n, "`time_scale` must be a number from 1 to 1000 (scenario seconds per wall second), found " + core::describe(n));
        }
        c.time_scale = v;
    }
    if (const YAML::Node n = root["pace"]) {
        bool v = false;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) return fail(n, "`pace` must be true or false, found " + core::describe(n));
        c.pace = v;
    }
    if (const YAML::Node n = root["default"]) {
        if (n.IsScalar() && n.Scalar() == "stub") c.default_board = BoardType::stub;
        else if (n.IsScalar() && n.Scalar() == "qemu") c.default_board = BoardType::qemu;
        else return fail(n, "`default` must be `stub` or `qemu` (the board of devices not under `boards:`), found " + core::describe(n));
    }
    if (const YAML::Node n = root["qemu"]) {
        if (auto st = mapping(n, "`qemu`", kQemuKeys); !st) return st.error();
        if (n["program"]) {
            auto p = text(n["program"], "program");
            if (!p) return p.error();
            c.qemu_program = *p;
        }
        if (n["image"]) {
            auto p = text(n["image"], "image");
            if (!p) return p.error();
            const std::filesystem::path image(*p);
            c.m3_image = image.is_absolute() || base_.empty() ? image : base_ / image;
        }
    }
    if (const YAML::Node n = root["boards"]) {
        if (!n.IsMap()) return fail(n, "`boards` must be a mapping DEVICE: stub | qemu | {serial: PORT, …}, found " + core::describe(n));
        for (auto it = n.begin(); it != n.end(); ++it) {
            auto id = device(it->first);
            if (!id) return id.error();
            if (std::any_of(c.boards.begin(), c.boards.end(), [&](const BoardSpec& b) { return b.device == *id; })) {
                return fail(it->first, "device " + *id + " is listed twice");
            }
            auto b = board(*id, it->second);
            if (!b) return b.error();
            c.boards.push_back(std::move(*b));
        }
    }
    if (const YAML::Node n = root["faults"]) {
        if (auto st = faults(n, c); !st) return st.error();
    }
    return c;
}

}  // namespace

std::string_view to_string(BoardType t) {
    switch (t) {
        case BoardType::stub: return "stub";
        case BoardType::qemu: return "qemu";
        case BoardType::serial: return "serial";
    }
    return "unknown";
}

Result<BenchConfig> parse_bench_config(std::string_view yaml_text, std::string_view file_name, const core::Scenario& scenario,
                                       const std::filesystem::path& base_dir) {
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        return Reader(file_name, scenario, base_dir).read(root);
    } catch (const YAML::Exception& e) {
        return Error{core::to_string(core::yaml_location(file_name, e)) + ": malformed YAML: " + e.msg};
    }
}

Result<BenchConfig> load_bench_config(const std::filesystem::path& path, const core::Scenario& scenario) {
    auto text = core::read_text_file(path);
    if (!text) return text.error();
    return parse_bench_config(*text, path.string(), scenario, path.parent_path());
}

void apply(const BenchConfig& c, BenchOptions& o) {
    if (c.time_scale) o.time_scale = *c.time_scale;
    if (c.pace) o.pace = *c.pace;
    o.default_board = c.default_board;
    if (!c.qemu_program.empty()) o.qemu_program = c.qemu_program;
    if (!c.m3_image.empty()) o.m3_image = c.m3_image;
    o.boards.insert(o.boards.end(), c.boards.begin(), c.boards.end());
    o.kills.insert(o.kills.end(), c.kills.begin(), c.kills.end());
    o.plant_timeouts.insert(o.plant_timeouts.end(), c.plant_timeouts.begin(), c.plant_timeouts.end());
}

}  // namespace consentrig::rig
