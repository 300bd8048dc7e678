#include "sim/fleet.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <deque>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <limits>
#include <map>
#include <new>
#include <queue>
#include <string>
#include <vector>

#include <date/tz.h>

#include "fw/fw.h"
#include "fw/band.h"
#include "sim/event_queue.hpp"
#include "sim/huge_pages.hpp"
#include "sim/interaction.hpp"
#include "sim/lock.hpp"
#include "sim/network.hpp"
#include "sim/occupancy.hpp"
#include "sim/rng.hpp"
#include "sim/sensor.hpp"
#include "sim/thermal.hpp"

namespace consentrig::sim {
namespace {

using core::DeviceKind;
using core::Error;
using core::Param;
using core::ParamTable;
using core::ParamUnit;
using core::Record;
using core::RecordKind;
using core::Result;
using core::Scenario;
using core::Status;

constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();
constexpr double kCentiPerUnit = 100.0;
/// A customer at the door: keypad unlock, the door opens once the bolt is back, then closes.
constexpr DurationMs kKeypadToDoorMs = 3 * kMsPerSecond;
constexpr int kProgressSteps = 100;
/// How many wake-ups ahead the runner loads a device's state (a few events' time covers a
/// memory access).
constexpr std::size_t kPrefetchAhead = 4;

// ---- parameters ------------------------------------------------------------------------------

/// Where a parameter goes: the shared firmware config of the device's group, or the device's
/// own plant (drawn per device).
enum class Target : std::uint8_t {
    setpoint, hysteresis, min_off, min_on, report_delta, report_min_interval, report_max_silence,
    heartbeat_interval, motor, auto_relock, battery_drain, keepalive_min_delay, keepalive_max_delay,
    sensor_noise, sensor_period,
    // per device plant
    time_constant, heat_rate, initial_temperature, outdoor_mean, outdoor_amplitude, door_opens, door_open,
};

struct ParamDef {
    std::string_view name;
    bool thermostat;
    bool lock;
    ParamUnit unit;
    Target target;
};

constexpr ParamDef kParams[] = {
    {"setpoint_c", true, false, ParamUnit::number, Target::setpoint},
    {"hysteresis_c", true, false, ParamUnit::number, Target::hysteresis},
    {"min_off", true, false, ParamUnit::duration_ms, Target::min_off},
    {"min_on", true, false, ParamUnit::duration_ms, Target::min_on},
    {"report_delta_c", true, false, ParamUnit::number, Target::report_delta},
    {"report_min_interval", true, false, ParamUnit::duration_ms, Target::report_min_interval},
    {"report_max_silence", true, false, ParamUnit::duration_ms, Target::report_max_silence},
    {"heartbeat_interval", true, true, ParamUnit::duration_ms, Target::heartbeat_interval},
    {"motor", false, true, ParamUnit::duration_ms, Target::motor},
    {"auto_relock", false, true, ParamUnit::duration_ms, Target::auto_relock},
    {"battery_drain_pct", false, true, ParamUnit::number, Target::battery_drain},
    {"keepalive_min_delay", true, true, ParamUnit::duration_ms, Target::keepalive_min_delay},
    {"keepalive_max_delay", true, true, ParamUnit::duration_ms, Target::keepalive_max_delay},
    {"time_constant", true, false, ParamUnit::duration_ms, Target::time_constant},
    {"heat_rate_c_per_h", true, false, ParamUnit::number, Target::heat_rate},
    {"initial_c", true, false, ParamUnit::number, Target::initial_temperature},
    {"outdoor_mean_c", true, false, ParamUnit::number, Target::outdoor_mean},
    {"outdoor_amplitude_c", true, false, ParamUnit::number, Target::outdoor_amplitude},
    {"door_opens_per_h", false, true, ParamUnit::number, Target::door_opens},
    {"door_open", false, true, ParamUnit::duration_ms, Target::door_open},
    {"sensor_noise_c", true, false, ParamUnit::number, Target::sensor_noise},
    {"sensor_period", true, false, ParamUnit::duration_ms, Target::sensor_period},
};

/// Drawn for each device by add_device, not shared by a group.
constexpr bool per_device(Target t) {
    return t == Target::time_constant || t == Target::heat_rate || t == Target::initial_temperature;
}

const ParamDef* find_param(std::string_view name) {
    for (const auto& d : kParams) {
        if (d.name == name) return &d;
    }
    return nullptr;
}

std::string known_params(DeviceKind kind) {
    std::string out;
    for (const auto& d : kParams) {
        if ((kind == DeviceKind::thermostat ? d.thermostat : d.lock)) out += (out.empty() ? "" : ", ") + std::string(d.name);
    }
    return out;
}

Status check_params(const ParamTable& table, DeviceKind kind) {
    for (const auto& [name, param] : table) {
        const ParamDef* def = find_param(name);
        if (!def || !(kind == DeviceKind::thermostat ? def->thermostat : def->lock)) {
            return Error{core::to_string(param.where) + ": unknown " + std::string(core::to_string(kind)) +
                         " parameter \"" + name + "\" (known: " + known_params(kind) + ")"};
        }
        if (def->unit != param.unit) {
            return Error{core::to_string(param.where) + ": " + name +
                         (def->unit == ParamUnit::duration_ms ? " is a duration: write it with a unit, e.g. 300s"
                                                              : " is a plain number (its unit is in its name)")};
        }
    }
    return {};
}

double draw(const core::Distribution& d, Rng& rng) {
    switch (d.kind) {
        case core::Distribution::Kind::constant: return d.a;
        case core::Distribution::Kind::uniform: return rng.uniform(d.a, d.b);
        case core::Distribution::Kind::normal: return rng.normal(d.a, d.b);
    }
    return d.a;
}

template <class T>
T clamp_cast(double v) {
    const double lo = static_cast<double>(std::numeric_limits<T>::min());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    return static_cast<T>(std::llround(std::clamp(v, lo, hi)));
}

fw_format to_fw(core::WireFormat f) {
    switch (f) {
        case core::WireFormat::alexa: return FW_FMT_ALEXA;
        case core::WireFormat::google: return FW_FMT_GOOGLE;
        case core::WireFormat::matter: return FW_FMT_MATTER;
        case core::WireFormat::json: return FW_FMT_JSON;
    }
    return FW_FMT_JSON;
}

Record make_record(RecordKind kind, TimeMs t, std::string device, std::string recipient) {
    Record r;
    r.kind = kind;
    r.t = t;
    r.device = std::move(device);
    r.recipient = std::move(recipient);
    return r;
}

/// "00" "01" … "99": the decimal digits of 0…99, two at a time.
constexpr std::array<char, 200> kDigitPairs = [] {
    std::array<char, 200> pairs{};
    for (std::size_t k = 0; k < 100; ++k) {
        pairs[2 * k] = static_cast<char>('0' + k / 10);
        pairs[2 * k + 1] = static_cast<char>('0' + k % 10);
    }
    return pairs;
}();

/// `s = text[0, n)` for the reused records' bodies: in place when the text is no longer than
/// what `s` holds (mostly, as the firmware's bodies and TRUTH objects vary by a few digits),
/// where std::string::assign's general path costs more than the copy. `text` is the firmware's
/// buffer, never `s`'s own.
void overwrite(std::string& s, const char* text, std::size_t n) {
    if (n <= s.size()) {
        std::memcpy(s.data(), text, n);
        s.resize(n);
    } else {
        s.assign(text, n);
    }
}

std::uint16_t to_mask(const core::CategorySet& set) { return static_cast<std::uint16_t>(set.to_ulong()); }

// ---- per-device state -------------------------------------------------------------------------

/// What scenario events give only a few devices (a capture disconnect, a sensor fault, an
/// outdoor override): kept in a side table, so that the per-device state of a million devices
/// carries none of it.
struct RareState {
    TimeMs capture_off_from = kNever;  ///< disconnect fault: capture lost from … until
    TimeMs capture_off_until = kNever;
    SensorState sensor{};              ///< thermostat: stuck / drift fault
    float outdoor_override_c = std::numeric_limits<float>::quiet_NaN();  ///< env outdoor_c
};

/// An instant of the run as a device keeps it: ms since the scenario's start, 32 bits (a
/// million devices' times in half the memory; a run lasts at most kMaxRunMs). kNeverTick is
/// "not planned", and so is every instant from the end of the run on.
using Tick = std::uint32_t;
constexpr Tick kNeverTick = std::numeric_limits<Tick>::max();
constexpr DurationMs kMaxRunMs = 49 * kMsPerDay;
/// Devices of one scenario, all shards together: a device's fleet-wide index is 32-bit.
constexpr std::uint64_t kMaxDevices = std::numeric_limits<std::uint32_t>::max();
static_assert(kMaxRunMs < kNeverTick, "every instant of a run must fit a Tick");

/// What the simulator keeps per device besides the firmware's own state. Its fleet-wide index
/// is not kept: it follows from its place in the shard (Runner::global_of).
struct Device {
    Tick due = kNeverTick;         ///< next wake-up (min of the below and the firmware's)
    Tick next_plant = kNeverTick;  ///< thermostat: temperature crossing; lock: door step
    Tick next_occupancy = kNeverTick;
    Tick next_customer = kNeverTick;
    Rng rng{0};
    OccupancySchedule occupancy{};
    /// Thermostat: the house (thermal.hpp's HouseState, its time as a Tick; Runner::house_of).
    Tick house_at = 0;
    float house_c = kDefaultIndoorC;
    float time_constant_h = 0;     ///< thermostat: drawn per device
    float heat_rate_c_per_h = 0;
    std::uint32_t group = 0;
    /// Thermostat: when the firmware last got a reading, whole seconds after the start rounded
    /// up (with noise, the next one comes a sensor period later at the earliest).
    std::uint32_t last_reading_s = 0;
    /// The band and heating state next_plant was planned for: while both hold, the planned
    /// crossing stays exact and need not be solved again.
    std::int16_t planned_lo = 0;
    std::int16_t planned_hi = 0;
    /// Thermostat: the sensor's noise in the readings until the next one the firmware gets
    /// (m°C; sample and hold, docs/sim-models.md §2.5).
    std::int16_t noise_milli_c = 0;
    std::uint8_t customer_spec = 0;  ///< which customer spec fires at next_customer
    std::uint8_t door_phase : 2 = 0;  ///< lock: 0 idle, 1 unlocking, 2 open
    bool planned_heating : 1 = false;
    bool plan_valid : 1 = false;
    bool occupied : 1 = true;
    bool rare : 1 = false;           ///< has an entry in Runner::rare_
    bool heating : 1 = false;        ///< thermostat: the house's heating (HouseState::heating)
    /// The firmware's state, last: its per-recipient entries (a flexible array) run on past
    /// sizeof(Device), as many as the scenario has recipients (DeviceArray's stride).
    fw_device fw;
};
static_assert(offsetof(Device, fw) <= 64, "Device is per device: keep the runner's part at 64 bytes");
static_assert(std::is_trivially_destructible_v<Device>, "DeviceArray never destroys a Device");

static_assert(std::is_standard_layout_v<Device>, "the HAL gets &Device::fw and recovers the Device from it");

/// The devices back to back, each `stride` bytes: its Device and its firmware's per-recipient
/// entries. On huge pages (sim/huge_pages.hpp); never reallocated (reserve once, up front).
class DeviceArray {
public:
    DeviceArray() = default;
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    ~DeviceArray() {
        if (data_ != nullptr) HugePageAllocator<std::byte>().deallocate(data_, capacity_ * stride_);
    }

    /// Room for n devices whose firmware has `recipients` recipients.
    void reserve(std::size_t n, std::uint8_t recipients) {
        stride_ = (offsetof(Device, fw) + fw_device_size(recipients) + alignof(Device) - 1) / alignof(Device) * alignof(Device);
        capacity_ = n;
        data_ = HugePageAllocator<std::byte>().allocate(n * stride_);
    }
    Device& emplace_back() {
        std::byte* slot = data_ + size_++ * stride_;
        std::memset(slot, 0, stride_);
        return *new (slot) Device;
    }
    [[nodiscard]] Device& operator[](std::size_t i) { return *std::launder(reinterpret_cast<Device*>(data_ + i * stride_)); }
    [[nodiscard]] const Device& operator[](std::size_t i) const {
        return *std::launder(reinterpret_cast<const Device*>(data_ + i * stride_));
    }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t stride() const { return stride_; }
    [[nodiscard]] std::size_t index_of(const Device& d) const {
        return static_cast<std::size_t>(reinterpret_cast<const std::byte*>(&d) - data_) / stride_;
    }

private:
    std::byte* data_ = nullptr;
    std::size_t stride_ = sizeof(Device);
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

/// Devices sharing one firmware config: a named device, or one profile of a fleet.
struct Group {
    fw_config cfg{};
    DeviceKind kind = DeviceKind::thermostat;
    HouseParams house;   ///< thermostat; τ and heat rate are replaced per device
    SensorParams sensor;  ///< thermostat
    LockParams lock;
    const ParamTable* params = nullptr;
    std::string representative;  ///< a member: the group shares its interaction grants
};

struct GlobalEvent {
    TimeMs at = 0;
    std::uint64_t order = 0;
    enum class Kind : std::uint8_t { timeline, fault_clear, network, basis } kind = Kind::timeline;
    std::size_t index = 0;  ///< timeline event / outage index
    bool up = false;        ///< network
    friend bool operator>(const GlobalEvent& a, const GlobalEvent& b) {
        return std::tie(a.at, a.order) > std::tie(b.at, b.order);
    }
};

/// A message the device sends again after a lost attempt (PROTOCOL.md §2: the capture is at
/// the device's egress, so every transmission is a record; the trace has no arrival time).
struct Retransmission {
    TimeMs at = 0;
    std::uint32_t global_index = 0;  ///< orders ties by device, as every shard sees them
    std::uint64_t order = 0;
    std::uint32_t device = 0;        ///< index into devices_
    int retry = 0;                   ///< 1 = the first retransmission
    Rng rng{0};                      ///< the message's own stream, continued
    std::string recipient;
    std::string format;
    std::string payload;
    friend bool operator>(const Retransmission& a, const Retransmission& b) {
        return std::tie(a.at, a.global_index, a.order) > std::tie(b.at, b.global_index, b.order);
    }
};

class Runner {
public:
    Runner(const Scenario& s, RecordSink& sink, const FleetOptions& o)
        : s_(s), sink_(sink), options_(o), seed_(o.seed.value_or(s.seed)) {}

    Result<FleetStats> run();

    // HAL callbacks
    static void hal_uplink(void* ctx, const fw_device* dev, uint64_t t_ms, const char* recipient, const char* format,
                           const char* body, size_t len);
    static void hal_truth(void* ctx, const fw_device* dev, uint64_t t_ms, const char* state, size_t len);
    static void hal_actuate(void* ctx, const fw_device* dev, uint64_t t_ms, fw_actuator a, int32_t value);
    static size_t hal_device_id(void* ctx, const fw_device* dev, char* buf, size_t cap);
    static fw_saf_ring* hal_saf_ring(void* ctx, const fw_device* dev);

private:
    Status build();
    /// Into `values` (cleared first): a fleet's loop reuses one vector for all its members.
    void draw_group_params(const ParamTable& params, const std::string& device, std::vector<double>& values) const;
    Status build_group(const std::string& key, DeviceKind kind, core::Profile profile, const ParamTable& params,
                       const std::vector<double>& values, const std::vector<std::string>& linked,
                       const std::string& representative);
    Status add_device(std::uint32_t global_index, std::uint32_t group, const ParamTable& params);
    void boot(std::size_t i);
    void configure_interaction(Group& g, TimeMs now);

    [[nodiscard]] std::string device_id(std::uint32_t global_index) const;
    /// The device's id, formatted once per run of its records (valid until another device's).
    [[nodiscard]] const std::string& cached_id(std::uint32_t global_index) const;
    /// The fleet (index in s_.fleets) a device is a member of; kNamed for a named device.
    [[nodiscard]] std::size_t fleet_of(std::uint32_t global_index) const;
    /// Turns `id`, the id of a member of `fleet`, into that of the member at `global_index`.
    void set_member(std::string& id, std::size_t fleet, std::uint32_t global_index) const;
    static constexpr std::uint32_t kNoDevice = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::size_t kNamed = std::numeric_limits<std::size_t>::max();
    /// A record of one kind, reused: its strings keep their storage and whatever the previous
    /// record of that kind left in them (the hot path makes no allocations and rewrites only
    /// what differs). Only the fields its kind has are ever set.
    struct Scratch {
        explicit Scratch(RecordKind kind) { record.kind = kind; }
        Record record;
        std::uint32_t device = kNoDevice;  ///< whose id record.device holds
        const char* recipient = nullptr;   ///< the name text record.recipient holds (egress)
        const char* format = nullptr;      ///< the name text record.format holds (egress)
    };
    /// `s`'s record for the device at `global_index` at `t` (its other fields as last set).
    Record& scratch(Scratch& s, TimeMs t, std::uint32_t global_index);
    [[nodiscard]] Device& dev_of(const fw_device* fw) {
        return *reinterpret_cast<Device*>(reinterpret_cast<char*>(const_cast<fw_device*>(fw)) - offsetof(Device, fw));
    }
    [[nodiscard]] std::uint64_t host(TimeMs t) const { return static_cast<std::uint64_t>(t - s_.start); }
    [[nodiscard]] DurationMs utc_offset(TimeMs t) const;
    [[nodiscard]] HouseParams house_params(const Device& d) const;
    [[nodiscard]] Tick to_tick(TimeMs t) const { return t >= s_.end() ? kNeverTick : static_cast<Tick>(t - s_.start); }
    [[nodiscard]] TimeMs from_tick(Tick t) const { return t == kNeverTick ? kNever : s_.start + t; }
    /// The device's index in devices_ (the last answer is kept: the HAL asks for the same
    /// device record after record, and the answer takes a division).
    [[nodiscard]] std::uint32_t index_of(const Device& d) const {
        if (&d != index_cache_device_) {
            index_cache_device_ = &d;
            index_cache_ = static_cast<std::uint32_t>(devices_.index_of(d));
        }
        return index_cache_;
    }
    /// The device's index in the whole fleet: the shard holds every count-th device from index.
    [[nodiscard]] std::uint32_t global_of(std::size_t i) const {
        return static_cast<std::uint32_t>(i * options_.shard.count + options_.shard.index);
    }
    [[nodiscard]] std::uint32_t global_of(const Device& d) const { return global_of(index_of(d)); }
    [[nodiscard]] HouseState house_of(const Device& d) const { return HouseState{from_tick(d.house_at), d.house_c, d.heating}; }
    void set_house(Device& d, const HouseState& h) const {
        d.house_at = to_tick(h.updated_ms);
        d.house_c = h.temperature_c;
        d.heating = h.heating;
    }
    void advance_house(Device& d, const HouseParams& hp, TimeMs now) const {
        HouseState h = house_of(d);
        advance(h, hp, now);
        set_house(d, h);
    }
    [[nodiscard]] const SensorState& sensor_of(const Device& d) const;
    [[nodiscard]] bool capture_off(const Device& d, TimeMs t) const {
        const RareState& r = rare_.at(index_of(d));
        return t >= r.capture_off_from && t < r.capture_off_until;
    }
    RareState& rare_of(std::size_t i);

    void write(const Record& r);
    void prefetch_device(std::uint32_t i) const {
        constexpr std::uintptr_t kLineBytes = 64;
        const auto from = reinterpret_cast<std::uintptr_t>(&devices_[i]);
        for (std::uintptr_t line = from & ~(kLineBytes - 1); line < from + devices_.stride(); line += kLineBytes) {
            __builtin_prefetch(reinterpret_cast<const void*>(line));
        }
    }
    void reschedule(std::size_t i, TimeMs now);
    /// After a call into the firmware or a change to the plant outside a wake-up (a command, a
    /// basis, a fault): re-plans the thermostat's next reading (its band may have moved) and
    /// reschedules the device.
    void replan(std::size_t i, TimeMs now);
    void plan_temperature(std::size_t i, TimeMs now);
    [[nodiscard]] double noise_of(const Device& d, const SensorState& sensor) const;
    void draw_noise(Device& d, TimeMs now);
    void plan_customer(std::size_t i, TimeMs now);
    void plan_occupancy(std::size_t i, TimeMs now);
    void plan_door(std::size_t i, TimeMs now);
    void wake(std::size_t i, TimeMs now);
    void command(std::size_t i, TimeMs now, const fw_command& cmd);
    void customer_interaction(std::size_t i, TimeMs now, const core::Interaction& ia);
    void apply_timeline(const core::TimelineEvent& e, TimeMs now);
    void apply_basis(TimeMs now);
    /// A standing-basis grant (always, schedule) that holds at some instant, with its categories.
    struct HoldingGrant {
        const core::Grant* grant = nullptr;
        std::uint16_t categories = 0;
    };
    /// The standing-basis grants that hold at t, per recipient (index in recipients_): whether a
    /// grant holds does not depend on the device, only whether it applies to it.
    [[nodiscard]] std::vector<std::vector<HoldingGrant>> holding_grants(TimeMs t) const;
    void collect_basis_boundaries();
    // network model
    void build_network();
    [[nodiscard]] Rng message_rng(std::uint32_t i, TimeMs t, std::size_t recipient, std::size_t payload_size);
    [[nodiscard]] bool link_drops(std::uint32_t i, TimeMs from, TimeMs to) const;
    void after_transmission(std::uint32_t i, TimeMs sent, Rng rng, int retry, const Record& r);
    void schedule_retry(std::uint32_t i, TimeMs sent, Rng rng, int retry, std::string recipient, std::string format,
                        std::string payload);
    void retransmit(Retransmission x);
    [[nodiscard]] bool selected(const core::DeviceSelector& sel, std::size_t i) const;

    const Scenario& s_;
    RecordSink& sink_;
    const FleetOptions& options_;
    std::uint64_t seed_;
    const date::time_zone* zone_ = nullptr;
    /// The zone's offset and the span it holds for, from the last lookup (a lookup in the zone's
    /// rules costs as much as planning a door; the offset changes twice a year).
    mutable date::sys_info offset_{};
    std::deque<Group> groups_;  ///< deque: devices and configs point into it
    DeviceArray devices_;
    mutable const Device* index_cache_device_ = nullptr;
    mutable std::uint32_t index_cache_ = 0;
    std::unordered_map<std::uint32_t, RareState> rare_;  ///< by index into devices_
    /// store_and_forward buffers of the devices that have buffered (by index into devices_).
    std::unordered_map<std::uint32_t, fw_saf_ring> saf_rings_;
    std::vector<ParamTable> params_store_;  ///< per named device, then per fleet
    EventQueue wakes_;
    std::priority_queue<GlobalEvent, std::vector<GlobalEvent>, std::greater<>> globals_;
    std::uint64_t order_ = 0;
    std::optional<NetworkModel> network_;  ///< set when the scenario's network can lose an attempt
    std::vector<std::pair<TimeMs, const core::DeviceSelector*>> link_down_;  ///< sorted: when links go down
    std::priority_queue<Retransmission, std::vector<Retransmission>, std::greater<>> retransmissions_;
    /// The device and millisecond of the last message, and how many it sent in a row then.
    std::uint32_t uplink_device_ = std::numeric_limits<std::uint32_t>::max();
    TimeMs uplink_ms_ = kNever;
    std::uint32_t uplink_run_ = 0;
    std::vector<std::string> recipients_;  ///< scenario recipients, in fw index order (fixed once built)
    FleetStats stats_;
    Status failure_;  ///< first sink error; stops the run
    /// A recipient or format name the firmware passes, with its length and, for a recipient, its
    /// index in recipients_ (recipients_.size() if none). The firmware passes the same few
    /// pointers every time (the groups' recipient names, the format name table): looked up once.
    struct Name {
        const char* text = nullptr;
        std::size_t len = 0;
        std::size_t recipient = 0;
        [[nodiscard]] std::string_view view() const { return {text, len}; }
    };
    [[nodiscard]] const Name& name_of(const char* text) {
        Name& slot = names_[(reinterpret_cast<std::uintptr_t>(text) >> 3) % names_.size()];
        if (slot.text != text) {
            slot = Name{text, std::strlen(text), recipients_.size()};
            for (std::size_t k = 0; k < recipients_.size(); ++k) {
                if (recipients_[k] == slot.view()) slot.recipient = k;
            }
        }
        return slot;  // until the next lookup
    }
    std::array<Name, 64> names_{};
    /// One per recipient (and one for a name that is none): a device's reports alternate
    /// between its partners, and each record keeps its recipient and format.
    std::array<Scratch, FW_MAX_RECIPIENTS + 1> egress_{Scratch{RecordKind::egress}, Scratch{RecordKind::egress},
                                                     Scratch{RecordKind::egress}, Scratch{RecordKind::egress},
                                                     Scratch{RecordKind::egress}};
    Scratch retry_{RecordKind::egress};  ///< retransmissions: their names come with them
    static_assert(FW_MAX_RECIPIENTS == 4, "egress_ lists a Scratch per recipient and one more");
    Scratch truth_{RecordKind::truth};
    /// A fleet's ids differ only in the member's zero-padded digits: one id per fleet, its digits
    /// rewritten in place (a device's records come in runs; the fleets' devices interleave).
    struct FleetIds {
        std::uint32_t first = 0;    ///< global index of member 1
        std::uint32_t current = 0;  ///< whose id `id` holds
        std::size_t width = 0;      ///< the member's digits
        std::string id;
    };
    mutable std::vector<FleetIds> fleet_ids_;
    /// The last id cached_id returned, and whose: a fleet's id changes only through cached_id,
    /// which then moves these along (fleet_ids_ is not resized once built).
    mutable std::uint32_t last_id_device_ = kNoDevice;
    mutable const std::string* last_id_ = nullptr;
};

// ---- construction ------------------------------------------------------------------------------

std::string Runner::device_id(std::uint32_t global_index) const { return cached_id(global_index); }

std::size_t Runner::fleet_of(std::uint32_t global_index) const {
    if (global_index < s_.devices.size()) return kNamed;
    std::size_t fleet = 0;  // build() has made every fleet's ids, and every other index is a member
    while (fleet + 1 < fleet_ids_.size() && global_index >= fleet_ids_[fleet + 1].first) ++fleet;
    return fleet;
}

void Runner::set_member(std::string& id, std::size_t fleet, std::uint32_t global_index) const {
    const FleetIds& ids = fleet_ids_[fleet];
    std::uint32_t member = global_index - ids.first + 1;
    char* const number = id.data() + id.size() - ids.width;  // zero-padded to the fleet's width
    char* p = number + ids.width;
    for (; p - number >= 2; member /= 100) {  // two digits a step: this runs for nearly every event
        p -= 2;
        std::memcpy(p, &kDigitPairs[2 * (member % 100)], 2);
    }
    if (p != number) *--p = static_cast<char>('0' + member % 10);
}

const std::string& Runner::cached_id(std::uint32_t global_index) const {
    if (global_index == last_id_device_) return *last_id_;  // the HAL asks two or three times per event
    const std::size_t fleet = fleet_of(global_index);
    const std::string* id = nullptr;
    if (fleet == kNamed) {
        id = &s_.devices[global_index].id;
    } else {
        FleetIds& ids = fleet_ids_[fleet];
        if (global_index != ids.current) {
            set_member(ids.id, fleet, global_index);
            ids.current = global_index;
        }
        id = &ids.id;
    }
    last_id_device_ = global_index;
    last_id_ = id;
    return *id;
}

Record& Runner::scratch(Scratch& s, TimeMs t, std::uint32_t global_index) {
    s.record.t = t;
    if (global_index != s.device) {
        const std::string& id = cached_id(global_index);  // the firmware has mostly just asked for it
        if (id.size() == s.record.device.size()) {
            std::memcpy(s.record.device.data(), id.data(), id.size());  // a member of the same fleet
        } else {
            s.record.device.assign(id);
        }
        s.device = global_index;
    }
    return s.record;
}

DurationMs Runner::utc_offset(TimeMs t) const {
    if (!zone_) return 0;
    const auto second =
        date::floor<std::chrono::seconds>(date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{t}});
    if (second < offset_.begin || second >= offset_.end) offset_ = zone_->get_info(second);
    return std::chrono::duration_cast<std::chrono::milliseconds>(offset_.offset).count();
}

void Runner::draw_group_params(const ParamTable& params, const std::string& device, std::vector<double>& values) const {
    // Drawn per device, then quantised (0.01 of a unit, whole seconds) so that members drawing
    // the same firmware settings share one config instead of one config each.
    Rng rng(seed_, device, "fw");
    values.clear();
    for (const auto& [name, param] : params) {
        const ParamDef* def = find_param(name);
        double v = draw(param.value, rng);
        v = def->unit == ParamUnit::duration_ms ? std::round(v / kMsPerSecond) * kMsPerSecond
                                                : std::round(v * kCentiPerUnit) / kCentiPerUnit;
        // Per-device plant parameters are drawn again in add_device: they must not split the
        // group (a τ drawn per device made nearly every device a group of its own, ~450 bytes
        // each). Still drawn here, so the values after them stay what they were.
        if (per_device(def->target)) v = 0;
        values.push_back(v);
    }
}

Status Runner::build_group(const std::string& key, DeviceKind kind, core::Profile profile, const ParamTable& params,
                           const std::vector<double>& values, const std::vector<std::string>& linked,
                           const std::string& representative) {
    if (auto st = check_params(params, kind); !st) return st;
    Group& g = groups_.emplace_back();
    g.kind = kind;
    g.params = &params;
    fw_config& c = g.cfg;
    fw_config_defaults(&c, kind == DeviceKind::thermostat ? FW_KIND_THERMOSTAT : FW_KIND_LOCK);
    c.hal = fw_hal{this, &Runner::hal_uplink, &Runner::hal_truth, nullptr, &Runner::hal_actuate,
                   &Runner::hal_device_id, &Runner::hal_saf_ring};
    c.profile_at_boot = static_cast<fw_profile>(profile);
    c.boot_epoch_ms = static_cast<std::uint64_t>(s_.start);
    g.house.utc_offset_ms = utc_offset(s_.start);

    // Firmware and group-level plant parameters were drawn for the group's first device
    // (draw_group_params); house τ, heat rate and start temperature are per device (add_device).
    std::size_t k = 0;
    for (const auto& [name, param] : params) {
        const double v = values[k++];
        switch (find_param(name)->target) {
            case Target::setpoint: c.setpoint_at_boot_centi_c = clamp_cast<std::int16_t>(v * kCentiPerUnit); break;
            case Target::hysteresis: c.hysteresis_centi_c = clamp_cast<std::int16_t>(v * kCentiPerUnit); break;
            case Target::min_off: c.min_off_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::min_on: c.min_on_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::report_delta: c.report_delta_centi_c = clamp_cast<std::int16_t>(v * kCentiPerUnit); break;
            case Target::report_min_interval: c.report_min_interval_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::report_max_silence: c.report_max_silence_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::heartbeat_interval: c.heartbeat_interval_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::motor: c.motor_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::auto_relock: c.auto_relock_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::battery_drain: c.battery_drain_centi_pct = clamp_cast<std::uint16_t>(v * kCentiPerUnit); break;
            case Target::keepalive_min_delay: c.keepalive_min_delay_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::keepalive_max_delay: c.keepalive_max_delay_ms = clamp_cast<std::uint32_t>(v); break;
            case Target::outdoor_mean: g.house.outdoor_mean_c = v; break;
            case Target::outdoor_amplitude: g.house.outdoor_amplitude_c = v; break;
            case Target::door_opens: g.lock.door_opens_per_h_occupied = v; break;
            case Target::door_open: g.lock.door_open_ms = static_cast<DurationMs>(v); break;
            case Target::sensor_noise: g.sensor.noise_sigma_c = v; break;
            case Target::sensor_period: g.sensor.sample_period_ms = static_cast<DurationMs>(v); break;
            case Target::time_constant:
            case Target::heat_rate:
            case Target::initial_temperature: break;  // per device
        }
    }

    // Partners: the scenario's recipients; the policy tells the firmware its interaction grants.
    if (recipients_.size() > FW_MAX_RECIPIENTS) {
        return Error{s_.file + ": at most " + std::to_string(FW_MAX_RECIPIENTS) + " recipients are supported, " +
                     std::to_string(recipients_.size()) + " given"};
    }
    c.recipient_count = static_cast<std::uint8_t>(recipients_.size());
    for (std::size_t r = 0; r < recipients_.size(); ++r) {
        fw_recipient& fr = c.recipients[r];
        fr.name = recipients_[r].c_str();  // every group's: the uplink callback sees the same few pointers
        fr.format = to_fw(s_.recipients.find(recipients_[r])->second);
        fr.linked_at_boot = std::find(linked.begin(), linked.end(), recipients_[r]) != linked.end();
        fr.heartbeat = fr.format == FW_FMT_JSON;
    }
    g.representative = representative;
    configure_interaction(g, s_.start);
    if (auto st = validate(g.sensor); !st) {
        const std::string where = params.empty() ? s_.file : core::to_string(params.begin()->second.where);
        return Error{where + ": parameters of " + key + " are out of range: " + st.error().message};
    }
    if (const char* why = fw_config_check(&c)) {
        const std::string where = params.empty() ? s_.file : core::to_string(params.begin()->second.where);
        return Error{where + ": parameters of " + key + " are out of range: " + why};
    }
    return {};
}

Status Runner::add_device(std::uint32_t global_index, std::uint32_t group, const ParamTable& params) {
    Device& d = devices_.emplace_back();
    if (global_of(devices_.size() - 1) != global_index) return Error{"internal: devices out of shard order"};
    d.group = group;
    const std::string& id = cached_id(global_index);
    d.rng = Rng(seed_, id);
    Rng prng(seed_, id, "params");
    d.time_constant_h = static_cast<float>(static_cast<double>(kDefaultTimeConstantMs) / kMsPerHour);
    d.heat_rate_c_per_h = static_cast<float>(kDefaultHeatRateCPerH);
    d.house_c = kDefaultIndoorC;
    for (const auto& [name, param] : params) {
        const ParamDef* def = find_param(name);
        if (def->target == Target::time_constant) {
            d.time_constant_h = static_cast<float>(std::max(1.0, draw(param.value, prng)) / kMsPerHour);
        } else if (def->target == Target::heat_rate) {
            d.heat_rate_c_per_h = static_cast<float>(std::max(0.0, draw(param.value, prng)));
        } else if (def->target == Target::initial_temperature) {
            d.house_c = static_cast<float>(draw(param.value, prng));
        }
    }
    OccupancyParams occ;
    d.occupancy = make_occupancy(occ, prng);
    return {};
}

HouseParams Runner::house_params(const Device& d) const {
    HouseParams p = groups_[d.group].house;
    p.time_constant_ms = static_cast<DurationMs>(static_cast<double>(d.time_constant_h) * kMsPerHour);
    p.heat_rate_c_per_h = d.heat_rate_c_per_h;
    if (d.rare) {
        const float outdoor_c = rare_.at(index_of(d)).outdoor_override_c;
        if (!std::isnan(outdoor_c)) {
            p.outdoor_mean_c = outdoor_c;
            p.outdoor_amplitude_c = 0;
        }
    }
    return p;
}

const SensorState& Runner::sensor_of(const Device& d) const {
    static const SensorState kHealthy{};
    return d.rare ? rare_.at(index_of(d)).sensor : kHealthy;
}

RareState& Runner::rare_of(std::size_t i) {
    devices_[i].rare = true;
    return rare_[static_cast<std::uint32_t>(i)];
}

Status Runner::build() {
    try {
        zone_ = date::locate_zone(s_.timezone);
    } catch (const std::exception&) {
        zone_ = nullptr;  // the policy loader has already accepted it; UTC is the fallback
    }
    for (const auto& [name, format] : s_.recipients) recipients_.push_back(name);
    std::uint64_t first = s_.devices.size();
    for (const auto& fleet : s_.fleets) {
        FleetIds ids;
        ids.first = ids.current = static_cast<std::uint32_t>(first);
        ids.id = fleet.device_id(1);
        ids.width = ids.id.size() - fleet.prefix.size() - 1;
        fleet_ids_.push_back(std::move(ids));
        first += fleet.count;
    }

    const Shard shard = options_.shard;
    // Groups point at their ParamTables: keep them alive, unmoved, for the run.
    params_store_.clear();
    params_store_.reserve(s_.devices.size() + s_.fleets.size());
    // Reserved up front: growing by doubling would hold the old and the new array at once, up
    // to three times the fleet's state at the peak.
    std::uint64_t total = s_.devices.size();
    for (const auto& fleet : s_.fleets) total += fleet.count;
    devices_.reserve(total > shard.index ? (total - shard.index + shard.count - 1) / shard.count : 0,
                     static_cast<std::uint8_t>(std::min<std::size_t>(recipients_.size(), FW_MAX_RECIPIENTS)));
    std::uint32_t global = 0;
    for (const auto& spec : s_.devices) {
        params_store_.push_back(s_.params_for(spec));
        if (auto st = check_params(params_store_.back(), spec.kind); !st) return st;
        const bool mine = global % shard.count == shard.index;
        if (mine) {
            const auto gi = static_cast<std::uint32_t>(groups_.size());
            std::vector<double> values;
            draw_group_params(params_store_.back(), spec.id, values);
            if (auto st = build_group(spec.id, spec.kind, spec.profile, params_store_.back(), values, spec.linked, spec.id);
                !st)
                return st;
            if (auto st = add_device(global, gi, params_store_.back()); !st) return st;
        }
        ++global;
    }
    for (const auto& fleet : s_.fleets) {
        params_store_.push_back(s_.params_for(fleet));
        const ParamTable& params = params_store_.back();
        if (auto st = check_params(params, fleet.kind); !st) return st;
        // Members sharing a profile, the same interaction grants and the same drawn settings share
        // a firmware config;
        // each member picks its profile with a per-device draw.
        using GroupKey = std::tuple<core::Profile, std::vector<bool>, std::vector<double>>;
        std::map<GroupKey, std::uint32_t> group_of;
        GroupKey key;  // one for all members, filled in place: a million members allocate nothing
        auto& [profile, signature, values] = key;
        for (std::uint64_t m = 1; m <= fleet.count; ++m, ++global) {
            if (global % shard.count != shard.index) continue;
            const std::string& id = cached_id(global);  // fleet_ids_ are made above
            Rng pick(seed_, id, "profile");
            profile = fleet.pick_profile(pick.uniform());
            signature.clear();
            for (const auto& g : s_.policy.grants()) {
                if (g.basis == core::Basis::interaction) signature.push_back(g.applies_to_device(id));
            }
            draw_group_params(params, id, values);
            auto it = group_of.find(key);
            if (it == group_of.end()) {
                it = group_of.emplace(key, static_cast<std::uint32_t>(groups_.size())).first;
                if (auto st = build_group(fleet.prefix + "/" + std::string(core::to_string(profile)), fleet.kind, profile,
                                          params, values, fleet.linked, id);
                    !st)
                    return st;
            }
            if (auto st = add_device(global, it->second, params); !st) return st;
        }
    }
    return {};
}

// ---- HAL -----------------------------------------------------------------------------------------

void Runner::hal_uplink(void* ctx, const fw_device* dev, uint64_t t_ms, const char* recipient, const char* format,
                        const char* body, size_t len) {
    auto* self = static_cast<Runner*>(ctx);
    Device& d = self->dev_of(dev);
    const TimeMs t = self->s_.start + static_cast<TimeMs>(t_ms);
    const bool captured = !(d.rare && self->capture_off(d, t));  // if not, the message still goes out
    if (!captured && !self->network_) return;
    const Name to = self->name_of(recipient);  // a copy: the format's lookup may take its slot
    Scratch& s = self->egress_[to.recipient];
    Record& r = self->scratch(s, t, self->global_of(d));
    if (s.recipient != to.text) {
        r.recipient.assign(to.view());
        s.recipient = to.text;
    }
    if (s.format != format) {
        r.format.assign(self->name_of(format).view());
        s.format = format;
    }
    overwrite(r.payload, body, len);
    if (captured) {
        ++self->stats_.messages;
        self->write(r);
    }
    if (self->network_) {
        const auto i = self->index_of(d);
        self->after_transmission(i, t, self->message_rng(i, t, to.recipient, len), 0, r);
    }
}

void Runner::hal_truth(void* ctx, const fw_device* dev, uint64_t t_ms, const char* state, size_t len) {
    auto* self = static_cast<Runner*>(ctx);
    Device& d = self->dev_of(dev);
    const TimeMs t = self->s_.start + static_cast<TimeMs>(t_ms);
    if (d.rare && self->capture_off(d, t)) return;
    Record& r = self->scratch(self->truth_, t, self->global_of(d));
    overwrite(r.payload, state, len);
    self->write(r);
}

void Runner::hal_actuate(void* ctx, const fw_device* dev, uint64_t t_ms, fw_actuator a, int32_t value) {
    auto* self = static_cast<Runner*>(ctx);
    if (a != FW_ACT_HVAC_RELAY) return;  // the lock motor is timed by the firmware itself
    Device& d = self->dev_of(dev);
    // Heating only: the house model has no cooling (docs/sim-models.md).
    HouseState house = self->house_of(d);
    set_heating(house, self->house_params(d), self->s_.start + static_cast<TimeMs>(t_ms), value == FW_RELAY_HEAT);
    self->set_house(d, house);
}

size_t Runner::hal_device_id(void* ctx, const fw_device* dev, char* buf, size_t cap) {
    auto* self = static_cast<Runner*>(ctx);
    const std::string& id = self->cached_id(self->global_of(self->dev_of(dev)));
    const size_t n = std::min(cap, id.size());
    std::memcpy(buf, id.data(), n);
    return n;
}

fw_saf_ring* Runner::hal_saf_ring(void* ctx, const fw_device* dev) {
    auto* self = static_cast<Runner*>(ctx);
    return &self->saf_rings_[self->index_of(self->dev_of(dev))];
}

void Runner::write(const Record& r) {
    if (!failure_.ok()) return;
    ++stats_.records;
    if (auto st = sink_.write(r); !st) failure_ = st;
}

// ---- scheduling ---------------------------------------------------------------------------------

void Runner::reschedule(std::size_t i, TimeMs now) {
    Device& d = devices_[i];
    const std::uint64_t fw_next = fw_next_wakeup(&d.fw);
    TimeMs due = fw_next == FW_NO_WAKEUP ? kNever : s_.start + static_cast<TimeMs>(fw_next);
    due = std::max(due, now);  // firmware may report a deadline that is already due
    due = std::min({due, from_tick(d.next_plant), from_tick(d.next_occupancy), from_tick(d.next_customer)});
    if (to_tick(due) != d.due) {
        d.due = to_tick(due);
        if (d.due != kNeverTick) wakes_.push(due, static_cast<std::uint32_t>(i));
    }
}

void Runner::replan(std::size_t i, TimeMs now) {
    if (groups_[devices_[i].group].kind == DeviceKind::thermostat) plan_temperature(i, now);
    reschedule(i, now);
}

void Runner::plan_temperature(std::size_t i, TimeMs now) {
    Device& d = devices_[i];
    std::int16_t lo = 0, hi = 0;
    fw_temperature_band(&d.fw, &lo, &hi);
    if (d.plan_valid && lo == d.planned_lo && hi == d.planned_hi && d.heating == d.planned_heating &&
        from_tick(d.next_plant) > now) {
        return;
    }
    const HouseParams hp = house_params(d);
    advance_house(d, hp, now);
    d.planned_lo = lo;
    d.planned_hi = hi;
    d.planned_heating = d.heating;
    d.plan_valid = true;
    // A new setpoint or mode can move the band past the room: then the reading is due at once
    // (next millisecond, so a reading the firmware ignores cannot loop).
    const SensorState& sensor = sensor_of(d);
    const double noise_c = noise_of(d, sensor);
    const double reading = (noiseless_reading(sensor, d.house_c, now) + noise_c) * kCentiPerUnit;
    // With noise the firmware samples no faster than its sensor period: a fresh noise value
    // may put the next reading outside the band at once, and noise would chatter otherwise.
    const SensorParams& sp = groups_[d.group].sensor;
    const TimeMs earliest =
        sp.noise_sigma_c > 0 ? std::max(now + 1, s_.start + d.last_reading_s * kMsPerSecond + sp.sample_period_ms) : now + 1;
    if ((lo != INT16_MIN && reading <= lo) || (hi != INT16_MAX && reading >= hi)) {
        d.next_plant = to_tick(earliest);
        return;
    }
    const auto target_c = [&](std::int16_t edge) {  // an open side of the band is never reached
        return edge == INT16_MIN || edge == INT16_MAX ? std::numeric_limits<double>::infinity()
                                                      : edge / kCentiPerUnit - noise_c;
    };
    const auto next = time_to_reading_either(house_of(d), hp, sensor, now + 1, target_c(lo), target_c(hi), s_.end() - now);
    d.next_plant = to_tick(next ? std::max(*next, earliest) : kNever);
}

/// The noise the device's readings carry now, °C (none while the sensor is stuck: its
/// register no longer updates).
double Runner::noise_of(const Device& d, const SensorState& sensor) const {
    return sensor.fault == SensorFault::stuck ? 0.0 : static_cast<double>(d.noise_milli_c) / 1000.0;
}

/// After a reading at `now`: a fresh N(0, σ) for the readings that follow, from the device's own
/// stream for that instant (stateless: nothing per device but the value itself).
void Runner::draw_noise(Device& d, TimeMs now) {
    const double sigma = groups_[d.group].sensor.noise_sigma_c;
    d.plan_valid = false;
    d.last_reading_s = static_cast<std::uint32_t>((now - s_.start + kMsPerSecond - 1) / kMsPerSecond);
    if (sigma <= 0) {
        d.noise_milli_c = 0;
        return;
    }
    Rng rng(mix64(mix64(seed_ ^ 0x73656e736f720000ULL /* "sensor" */ ^ mix64(global_of(d))) ^
                  static_cast<std::uint64_t>(now)));
    d.noise_milli_c = clamp_cast<std::int16_t>(rng.normal(0.0, sigma) * 1000.0);
}

void Runner::plan_customer(std::size_t i, TimeMs now) {
    Device& d = devices_[i];
    TimeMs next_customer = kNever;
    const auto kind = groups_[d.group].kind;
    for (std::size_t c = 0; c < s_.customers.size(); ++c) {
        const auto& spec = s_.customers[c];
        if (!core::action_applies(spec.interaction.action, kind) || !selected(spec.devices, i)) continue;
        const auto t = next_interaction_where(d.rng, spec.rate_per_day, now, s_.end() - now,
                                              [&](TimeMs at) { return spec.in_hours(s_.policy, at); });
        if (t && *t < next_customer) {
            next_customer = *t;
            d.customer_spec = static_cast<std::uint8_t>(c);
        }
    }
    d.next_customer = to_tick(next_customer);
}

void Runner::plan_occupancy(std::size_t i, TimeMs now) {
    Device& d = devices_[i];
    const DurationMs offset = utc_offset(now);
    const auto next_local = next_change(d.occupancy, OccupancyParams{}, now + offset);
    d.next_occupancy = to_tick(next_local ? *next_local - offset : kNever);
}

void Runner::plan_door(std::size_t i, TimeMs now) {
    Device& d = devices_[i];
    const Group& g = groups_[d.group];
    const auto offset = [this](TimeMs t) { return utc_offset(t); };
    const auto t = next_door_open(d.rng, g.lock, d.occupancy, OccupancyParams{}, now, OffsetRef(offset), s_.end() - now);
    d.next_plant = to_tick(t ? *t : kNever);
    d.door_phase = 0;
}

/// What the vendor cloud tells the group's firmware about its interaction grants at `now`:
/// window and categories of the grants valid then (from/until), per partner. Members of a
/// group share the same interaction grants, so the shared config is the right place.
void Runner::configure_interaction(Group& g, TimeMs now) {
    for (std::size_t r = 0; r < recipients_.size(); ++r) {
        fw_recipient& fr = g.cfg.recipients[r];
        fr.interaction_window_ms = 0;
        fr.interaction_categories = 0;
        for (const auto& grant : s_.policy.grants()) {
            if (grant.recipient != recipients_[r] || grant.basis != core::Basis::interaction ||
                !grant.applies_to_device(g.representative)) {
                continue;
            }
            if (auto from = grant.from.resolve(s_.start); from && now < *from) continue;
            if (auto until = grant.until.resolve(s_.start); until && now >= *until) continue;
            // The firmware keeps one window per partner: with several interaction grants it
            // uses the shortest for all their categories (never longer than any grant allows).
            const auto within = clamp_cast<std::uint32_t>(static_cast<double>(grant.within_ms));
            fr.interaction_window_ms = fr.interaction_window_ms == 0 ? within : std::min(fr.interaction_window_ms, within);
            fr.interaction_categories |= to_mask(grant.categories);
        }
    }
}

void Runner::boot(std::size_t i) {
    Device& d = devices_[i];
    const Group& g = groups_[d.group];
    const TimeMs now = s_.start;
    const std::uint32_t seed32 = static_cast<std::uint32_t>(mix64(seed_ ^ fnv1a64(cached_id(global_of(d)))));
    d.house_at = to_tick(now);  // before fw_init: booting may already switch the relay
    static_cast<void>(fw_init(&d.fw, &g.cfg, global_of(d), seed32, 0));
    if (g.kind == DeviceKind::thermostat) {
        d.occupied = occupied_at(d.occupancy, OccupancyParams{}, now + utc_offset(now));
        static_cast<void>(fw_on_sensor(&d.fw, 0, FW_SENSOR_OCCUPANCY, d.occupied ? 1 : 0));
        draw_noise(d, now);
        static_cast<void>(fw_on_sensor(
            &d.fw, 0, FW_SENSOR_TEMPERATURE,
            clamp_cast<std::int32_t>((d.house_c + noise_of(d, SensorState{})) * kCentiPerUnit)));
        draw_noise(d, now + 1);
        plan_temperature(i, now);
        plan_occupancy(i, now);  // the thermostat's occupancy sensor follows the schedule
    } else {
        plan_door(i, now);  // reads the schedule itself: a change of occupancy needs no wake-up
    }
    plan_customer(i, now);
    reschedule(i, now);
}

void Runner::wake(std::size_t i, TimeMs now) {
    Device& d = devices_[i];
    index_cache_device_ = &d;  // the HAL's callbacks will ask: known here without a division
    index_cache_ = static_cast<std::uint32_t>(i);
    const Group& g = groups_[d.group];
    const std::uint64_t h = host(now);
    fw_on_timer(&d.fw, h);
    if (from_tick(d.next_occupancy) <= now) {
        d.occupied = !d.occupied;
        if (g.kind == DeviceKind::thermostat) {
            static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_OCCUPANCY, d.occupied ? 1 : 0));
        }
        plan_occupancy(i, now);
    }
    if (from_tick(d.next_customer) <= now) {
        customer_interaction(i, now, s_.customers[d.customer_spec].interaction);
        plan_customer(i, now);
    }
    if (from_tick(d.next_plant) <= now) {
        if (g.kind == DeviceKind::thermostat) {
            const HouseParams hp = house_params(d);
            advance_house(d, hp, now);
            std::int16_t lo = 0, hi = 0;
            fw_temperature_band(&d.fw, &lo, &hi);
            const SensorState& sensor = sensor_of(d);
            const double raw = (noiseless_reading(sensor, d.house_c, now) + noise_of(d, sensor)) * kCentiPerUnit;
            auto centi = clamp_cast<std::int32_t>(raw);
            // Rounding must not leave the reading inside the band it has just crossed. (A reading
            // held back by the sensor period may be back inside the band: that one is as read.)
            if (centi > lo && centi < hi && (raw <= lo || raw >= hi || raw - lo < 1 || hi - raw < 1)) {
                centi = (centi - lo < hi - centi) ? lo : hi;
            }
            static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_TEMPERATURE, centi));
            draw_noise(d, now);
        } else if (d.door_phase == 0) {  // someone at the door: keypad unlock, a physical interaction
            Record r = make_record(RecordKind::interaction, now, device_id(global_of(d)), "");
            r.via = std::string(core::to_string(core::Via::physical));
            r.action = std::string(core::to_string(core::Action::unlock));
            write(r);
            static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_KEYPAD, 0));
            d.door_phase = 1;
            d.next_plant = to_tick(now + kKeypadToDoorMs);
        } else if (d.door_phase == 1) {
            static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_DOOR, 0));
            d.door_phase = 2;
            d.next_plant = to_tick(now + g.lock.door_open_ms);
        } else {
            static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_DOOR, 1));
            plan_door(i, now);
        }
    }
    if (g.kind == DeviceKind::thermostat) plan_temperature(i, now);
}

void Runner::command(std::size_t i, TimeMs now, const fw_command& cmd) {
    static_cast<void>(fw_on_command(&devices_[i].fw, host(now), &cmd));
}

void Runner::customer_interaction(std::size_t i, TimeMs now, const core::Interaction& ia) {
    Device& d = devices_[i];
    fw_command cmd{};
    cmd.op = FW_OP_INTERACT;
    cmd.via = static_cast<fw_via>(ia.via);
    cmd.action = static_cast<fw_action>(ia.action);
    std::snprintf(cmd.recipient, sizeof cmd.recipient, "%s", ia.recipient.c_str());
    if (ia.action == core::Action::set_setpoint && ia.setpoint_c) {
        cmd.has_value = true;
        cmd.value = clamp_cast<std::int32_t>(draw(*ia.setpoint_c, d.rng) * kCentiPerUnit);
    } else if (ia.action == core::Action::set_mode) {
        static constexpr std::array<std::string_view, FW_MODE_COUNT> kModes = {"off", "heat", "cool", "auto", "eco"};
        const auto it = std::find(kModes.begin(), kModes.end(), ia.mode);
        cmd.has_value = true;
        cmd.value = static_cast<std::int32_t>(it - kModes.begin());
    }
    Record r;
    r.kind = RecordKind::interaction;
    r.t = now;
    r.device = device_id(global_of(d));
    r.via = std::string(core::to_string(ia.via));
    r.recipient = ia.recipient;
    r.action = std::string(core::to_string(ia.action));
    write(r);
    command(i, now, cmd);
}

bool Runner::selected(const core::DeviceSelector& sel, std::size_t i) const {
    if (sel.all()) return true;
    return s_.selects(sel, cached_id(global_of(i)));
}

// ---- global events ------------------------------------------------------------------------------

void Runner::apply_timeline(const core::TimelineEvent& e, TimeMs now) {
    const bool everyone = e.devices.all();
    // Consent and link lines for "*" are written once, as the trace format allows.
    if (const auto* c = std::get_if<core::ConsentEvent>(&e.action); c && everyone) {
        Record r = make_record(RecordKind::consent, now, "*", c->recipient);
        r.categories = c->all_categories ? core::all_categories() : c->categories;
        r.flag = c->granted;
        write(r);
    }
    if (const auto* l = std::get_if<core::LinkEvent>(&e.action); l && everyone) {
        Record r = make_record(RecordKind::link, now, "*", l->recipient);
        r.flag = l->linked;
        write(r);
    }
    for (std::size_t i = 0; i < devices_.size(); ++i) {
        if (!selected(e.devices, i)) continue;
        Device& d = devices_[i];
        const std::uint64_t h = host(now);
        fw_command cmd{};
        std::visit(
            [&](const auto& a) {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, core::InteractEvent>) {
                    if (core::action_applies(a.interaction.action, groups_[d.group].kind)) {
                        customer_interaction(i, now, a.interaction);
                    }
                } else if constexpr (std::is_same_v<T, core::ConsentEvent>) {
                    if (!everyone) {
                        Record r = make_record(RecordKind::consent, now, device_id(global_of(d)), a.recipient);
                        r.categories = a.all_categories ? core::all_categories() : a.categories;
                        r.flag = a.granted;
                        write(r);
                    }
                    cmd.op = FW_OP_CONSENT;
                    std::snprintf(cmd.recipient, sizeof cmd.recipient, "%s", a.recipient.c_str());
                    cmd.categories = a.all_categories ? FW_CATS_ALL : to_mask(a.categories);
                    cmd.granted = a.granted;
                    command(i, now, cmd);
                } else if constexpr (std::is_same_v<T, core::LinkEvent>) {
                    if (!everyone) {
                        Record r = make_record(RecordKind::link, now, device_id(global_of(d)), a.recipient);
                        r.flag = a.linked;
                        write(r);
                    }
                    cmd.op = FW_OP_LINK;
                    std::snprintf(cmd.recipient, sizeof cmd.recipient, "%s", a.recipient.c_str());
                    cmd.linked = a.linked;
                    command(i, now, cmd);
                } else if constexpr (std::is_same_v<T, core::NetworkEvent>) {
                    cmd.op = FW_OP_NETWORK;
                    cmd.up = a.up;
                    command(i, now, cmd);
                } else if constexpr (std::is_same_v<T, core::EnvEvent>) {
                    if (a.outdoor_c) {
                        advance_house(d, house_params(d), now);
                        rare_of(i).outdoor_override_c = static_cast<float>(*a.outdoor_c);
                        d.plan_valid = false;
                    }
                    if (a.occupied) {
                        d.occupied = *a.occupied;
                        static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_OCCUPANCY, d.occupied ? 1 : 0));
                    }
                    if (a.door) {
                        static_cast<void>(fw_on_sensor(&d.fw, h, FW_SENSOR_DOOR, *a.door == core::DoorPosition::closed ? 1 : 0));
                    }
                } else if constexpr (std::is_same_v<T, core::FaultEvent>) {
                    const TimeMs until = a.duration_ms ? now + *a.duration_ms : s_.end();
                    if (a.kind == core::FaultKind::disconnect) {
                        rare_of(i).capture_off_from = now;
                        rare_of(i).capture_off_until = until;
                        Record r = make_record(RecordKind::gap, now, device_id(global_of(d)), "");
                        r.t_end = std::min(until, s_.end());
                        r.payload = "simulated disconnect (scenario fault)";
                        write(r);
                    } else if (groups_[d.group].kind == DeviceKind::thermostat) {
                        const double reading = noiseless_reading(sensor_of(d), temperature_at(house_of(d), house_params(d), now), now);
                        SensorState& sensor = rare_of(i).sensor;
                        // a sensor bus that stops answering leaves the firmware its last reading,
                        // as a stuck sensor does (the M3 board keeps its last Modbus readings)
                        if (a.kind == core::FaultKind::drift) inject_drift(sensor, now, a.rate_c_per_h);
                        else inject_stuck(sensor, now, static_cast<float>(reading));
                        d.plan_valid = false;
                    }
                } else if constexpr (std::is_same_v<T, core::ProfileEvent>) {
                    cmd.op = FW_OP_PROFILE;
                    cmd.profile = static_cast<fw_profile>(a.profile);
                    command(i, now, cmd);
                }
            },
            e.action);
        replan(i, now);
    }
}

std::vector<std::vector<Runner::HoldingGrant>> Runner::holding_grants(TimeMs t) const {
    std::vector<std::vector<HoldingGrant>> holding(recipients_.size());
    for (const auto& g : s_.policy.grants()) {
        if (g.basis != core::Basis::always && g.basis != core::Basis::schedule) continue;
        if (auto from = g.from.resolve(s_.start); from && t < *from) continue;
        if (auto until = g.until.resolve(s_.start); until && t >= *until) continue;
        if (g.basis == core::Basis::schedule && !s_.policy.in_schedule(g, t)) continue;
        for (std::size_t r = 0; r < recipients_.size(); ++r) {
            if (g.recipient == recipients_[r]) holding[r].push_back(HoldingGrant{&g, to_mask(g.categories)});
        }
    }
    return holding;
}

void Runner::apply_basis(TimeMs now) {
    for (Group& g : groups_) configure_interaction(g, now);
    const auto holding = holding_grants(now);  // the same for every device: once, not per device
    // Every device is rescheduled below, and many wake earlier than planned (timers that were
    // idle may now reach someone): one fresh entry each instead of a stale one left behind per
    // device (at a million devices, most of a window edge's agenda).
    wakes_.clear();
    for (std::size_t i = 0; i < devices_.size(); ++i) {
        Device& d = devices_[i];
        d.due = kNeverTick;
        const std::string& id = cached_id(global_of(d));  // only this device's id is asked below
        for (std::size_t r = 0; r < recipients_.size(); ++r) {
            std::uint16_t mask = 0;
            for (const HoldingGrant& h : holding[r]) {
                if (h.grant->applies_to_device(id)) mask |= h.categories;
            }
            static_cast<void>(fw_set_basis_allowed(&d.fw, host(now), static_cast<unsigned>(r), mask));
        }
        replan(i, now);
    }
}

/// Instants at which a standing basis may start or stop holding: grant validity bounds and
/// schedule window edges. Windows are minute-granular in local time and zone offsets are whole
/// minutes, so scanning UTC minutes finds every edge.
void Runner::collect_basis_boundaries() {
    std::vector<TimeMs> at;
    bool any_schedule = false;
    for (const auto& g : s_.policy.grants()) {
        if (auto from = g.from.resolve(s_.start)) at.push_back(*from);
        if (auto until = g.until.resolve(s_.start)) at.push_back(*until);
        any_schedule |= g.basis == core::Basis::schedule;
    }
    if (any_schedule) {
        const TimeMs first = s_.start - (s_.start % kMsPerMinute + kMsPerMinute) % kMsPerMinute;
        std::vector<bool> last;
        for (TimeMs t = first; t < s_.end(); t += kMsPerMinute) {
            std::vector<bool> now;
            for (const auto& g : s_.policy.grants()) now.push_back(g.basis == core::Basis::schedule && s_.policy.in_schedule(g, t));
            if (!last.empty() && now != last) at.push_back(t);
            last = std::move(now);
        }
    }
    for (TimeMs t : at) {
        if (t > s_.start && t < s_.end()) globals_.push(GlobalEvent{t, order_++, GlobalEvent::Kind::basis, 0, false});
    }
}

// ---- the network ---------------------------------------------------------------------------------

/// The scenario's `network` as sim/network.hpp models it. Only a loss probability or a link
/// that goes down (an outage, a timeline `network` event) can lose an attempt; without either
/// every message arrives and nothing is drawn, so such runs are unchanged by the model.
void Runner::build_network() {
    for (const auto& o : s_.network.outages) link_down_.emplace_back(s_.start + o.at_ms, &o.devices);
    for (const auto& e : s_.timeline) {
        if (const auto* n = std::get_if<core::NetworkEvent>(&e.action); n && !n->up) {
            link_down_.emplace_back(s_.start + e.at_ms, &e.devices);
        }
    }
    std::stable_sort(link_down_.begin(), link_down_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    if (s_.network.loss <= 0 && link_down_.empty()) return;
    NetworkParams p;
    p.latency_median_ms = static_cast<double>(s_.network.latency.median_ms);
    p.latency_sigma_log = s_.network.latency.sigma();
    p.loss_probability = s_.network.loss;
    p.max_retries = static_cast<int>(s_.network.retries);
    p.backoff_base_ms = s_.network.backoff_ms;
    p.backoff_max_ms = kMsPerDay;  // the scenario's doubling has no cap; a day keeps it finite
    p.backoff_jitter = BackoffJitter::none;
    network_.emplace(std::move(p));
}

/// A message's own random stream, from the seed, the device's fleet-wide index, the send time,
/// the recipient, the body's length and the messages the device sent just before in the same
/// millisecond — independent of every other device, of the shard and of all other draws.
Rng Runner::message_rng(std::uint32_t i, TimeMs t, std::size_t recipient, std::size_t payload_size) {
    const std::uint32_t g = global_of(i);
    if (g != uplink_device_ || t != uplink_ms_) {
        uplink_device_ = g;
        uplink_ms_ = t;
        uplink_run_ = 0;
    }
    std::uint64_t key = mix64(seed_ ^ 0x6e6574776f726b00ULL /* "network" */) ^ mix64(g);
    key = mix64(key ^ static_cast<std::uint64_t>(t));
    key = mix64(key ^ (static_cast<std::uint64_t>(recipient) << 56U) ^
                (static_cast<std::uint64_t>(uplink_run_++) << 40U) ^ payload_size);
    return Rng(key);
}

/// Whether the device's link goes down while an attempt is in flight, (from, to].
bool Runner::link_drops(std::uint32_t i, TimeMs from, TimeMs to) const {
    auto it = std::upper_bound(link_down_.begin(), link_down_.end(), from,
                               [](TimeMs t, const auto& e) { return t < e.first; });
    for (; it != link_down_.end() && it->first <= to; ++it) {
        if (selected(*it->second, i)) return true;
    }
    return false;
}

void Runner::after_transmission(std::uint32_t i, TimeMs sent, Rng rng, int retry, const Record& r) {
    // The latency matters only when a link goes down in flight: drawn only when one can.
    if (!network_->lost(rng) && (link_down_.empty() || !link_drops(i, sent, sent + network_->latency_ms(rng)))) return;
    schedule_retry(i, sent, rng, retry, r.recipient, r.format, r.payload);
}

void Runner::schedule_retry(std::uint32_t i, TimeMs sent, Rng rng, int retry, std::string recipient,
                            std::string format, std::string payload) {
    ++stats_.attempts_lost;
    if (retry >= network_->params().max_retries) {
        ++stats_.messages_dropped;
        return;
    }
    const TimeMs at = sent + network_->retry_wait(rng, retry);
    if (at >= s_.end()) return;  // the run ends first
    retransmissions_.push(Retransmission{at, global_of(i), order_++, i, retry + 1, rng,
                                         std::move(recipient), std::move(format), std::move(payload)});
}

/// A retry falls due: sent again, byte for byte, if the device's link is up (else this attempt
/// is lost without leaving the device, and the backoff goes on).
void Runner::retransmit(Retransmission x) {
    Device& d = devices_[x.device];
    if (!fw_network_up(&d.fw)) {
        schedule_retry(x.device, x.at, x.rng, x.retry, std::move(x.recipient), std::move(x.format), std::move(x.payload));
        return;
    }
    ++stats_.retransmissions;
    Record& r = scratch(retry_, x.at, global_of(d));
    r.recipient = std::move(x.recipient);
    r.format = std::move(x.format);
    r.payload = std::move(x.payload);
    if (!(d.rare && capture_off(d, x.at))) {
        ++stats_.messages;
        write(r);
    }
    after_transmission(x.device, x.at, x.rng, x.retry, r);
}

// ---- the run ------------------------------------------------------------------------------------

Result<FleetStats> Runner::run() {
    if (options_.shard.count == 0 || options_.shard.index >= options_.shard.count) {
        return Error{"shard " + std::to_string(options_.shard.index) + "/" + std::to_string(options_.shard.count) +
                     " is not valid (want i/N with 0 ≤ i < N)"};
    }
    if (s_.duration_ms > kMaxRunMs) {
        char days[32];
        std::snprintf(days, sizeof days, "%.1f", static_cast<double>(s_.duration_ms) / kMsPerDay);
        return Error{core::to_string(s_.duration_where) + ": a `duration` of " + days +
                     " days is longer than the fleet simulator's limit of " + std::to_string(kMaxRunMs / kMsPerDay) +
                     " days (device times are kept in 32 bits so that a million devices fit in memory); split the run "
                     "into scenarios of at most that length"};
    }
    std::uint64_t total = s_.devices.size();
    for (const auto& fleet : s_.fleets) {
        total += fleet.count;
        if (total > kMaxDevices) {  // a shard could hold its part; the fleet-wide index could not
            return Error{core::to_string(fleet.where) + ": the scenario has more than " + std::to_string(kMaxDevices) +
                         " devices in total, the fleet simulator's limit (fleet-wide device indexes are 32-bit, "
                         "also when sharded); split the fleet over several scenarios"};
        }
    }
    if (auto st = build(); !st) return st.error();
    stats_.devices = devices_.size();
    stats_.bytes_per_device = devices_.stride() + EventQueue::kEntryBytes;

    for (std::size_t k = 0; k < s_.timeline.size(); ++k) {
        const auto& e = s_.timeline[k];
        globals_.push(GlobalEvent{s_.start + e.at_ms, order_++, GlobalEvent::Kind::timeline, k, false});
        if (const auto* f = std::get_if<core::FaultEvent>(&e.action); f && f->duration_ms && f->kind != core::FaultKind::disconnect) {
            globals_.push(GlobalEvent{s_.start + e.at_ms + *f->duration_ms, order_++, GlobalEvent::Kind::fault_clear, k, false});
        }
    }
    for (std::size_t k = 0; k < s_.network.outages.size(); ++k) {
        const auto& o = s_.network.outages[k];
        globals_.push(GlobalEvent{s_.start + o.at_ms, order_++, GlobalEvent::Kind::network, k, false});
        globals_.push(GlobalEvent{s_.start + o.at_ms + o.duration_ms, order_++, GlobalEvent::Kind::network, k, true});
    }
    collect_basis_boundaries();
    build_network();

    wakes_.reserve(devices_.size() * 2);
    for (std::size_t i = 0; i < devices_.size(); ++i) boot(i);
    apply_basis(s_.start);

    const DurationMs step = std::max<DurationMs>(1, s_.duration_ms / kProgressSteps);
    TimeMs next_progress = s_.start + step;
    auto report = [&](TimeMs now) {
        if (!options_.progress) return;
        options_.progress(FleetProgress{now, static_cast<double>(now - s_.start) / static_cast<double>(s_.duration_ms),
                                        stats_.devices, stats_.events, stats_.messages});
    };
    report(s_.start);  // the fleet is built and booted: a million devices take a few seconds
    while (failure_.ok()) {
        const TimeMs g = globals_.empty() ? kNever : globals_.top().at;
        Wake wake_next{kNever, 0};
        while (!wakes_.empty()) {
            wake_next = wakes_.top();
            if (wake_next.at == from_tick(devices_[wake_next.id].due)) break;
            wakes_.pop();  // stale
            wake_next.at = kNever;
        }
        const TimeMs w = wake_next.at;
        const TimeMs x = retransmissions_.empty() ? kNever : retransmissions_.top().at;
        const TimeMs now = std::min({g, w, x});
        if (now >= s_.end()) break;
        while (now >= next_progress) {
            report(next_progress);
            next_progress += step;
        }
        ++stats_.events;
        if (g > now && x == now) {  // timeline first, then retransmissions, then devices' wake-ups
            Retransmission r = retransmissions_.top();
            retransmissions_.pop();
            retransmit(std::move(r));
            continue;
        }
        if (g <= w) {
            const GlobalEvent e = globals_.top();
            globals_.pop();
            switch (e.kind) {
                case GlobalEvent::Kind::timeline: apply_timeline(s_.timeline[e.index], now); break;
                case GlobalEvent::Kind::fault_clear:
                    for (std::size_t i = 0; i < devices_.size(); ++i) {
                        if (!selected(s_.timeline[e.index].devices, i)) continue;
                        advance_house(devices_[i], house_params(devices_[i]), now);
                        if (devices_[i].rare) clear_fault(rare_of(i).sensor);
                        devices_[i].plan_valid = false;
                        replan(i, now);
                    }
                    break;
                case GlobalEvent::Kind::network: {
                    fw_command cmd{};
                    cmd.op = FW_OP_NETWORK;
                    cmd.up = e.up;
                    for (std::size_t i = 0; i < devices_.size(); ++i) {
                        if (!selected(s_.network.outages[e.index].devices, i)) continue;
                        command(i, now, cmd);
                        replan(i, now);  // the re-sync after an outage may move the report band
                    }
                    break;
                }
                case GlobalEvent::Kind::basis: apply_basis(now); break;
            }
            continue;
        }
        const std::uint32_t i = wake_next.id;
        wakes_.pop();
        // The devices that wake next are known: start loading their state a few events ahead
        // (at a million devices an event is mostly waiting for memory).
        if (const std::uint32_t next = wakes_.upcoming(kPrefetchAhead); next != EventQueue::kNoId) prefetch_device(next);
        devices_[i].due = kNeverTick;
        wake(i, now);
        reschedule(i, now);
    }
    if (!failure_.ok()) return failure_.error();
    report(s_.end());
    return stats_;
}

}  // namespace

core::TraceMeta fleet_meta(const core::Scenario& scenario) {
    core::TraceMeta meta;
    meta.scenario = scenario.name;
    meta.source = "sim";
    meta.start = scenario.start;
    meta.timezone = scenario.timezone;
    return meta;
}

core::Result<FleetStats> run_fleet(const core::Scenario& scenario, RecordSink& sink, const FleetOptions& options) {
    Runner runner(scenario, sink, options);
    return runner.run();
}

}  // namespace consentrig::sim
