#pragma once
/// plant/plant.hpp — one board's physical plant, as the rig serves it over Modbus.
///
/// DESIGN.md idea 2, "the rig simulates the plant": a board reads its sensors and drives its
/// actuators over Modbus RTU; the rig answers as the house the board sits in. A `Plant` is one
/// house: its room air (the RC thermal model of sim/thermal.hpp, advanced in wall-clock time,
/// optionally time-scaled), the outdoor air, humidity, occupancy, the front door and its lock
/// (sim/lock.hpp: bolt motor, battery), the HVAC relays, and a temperature sensor with noise and
/// injectable faults (sim/sensor.hpp). No second model lives here: between relay changes the room
/// temperature is read from the closed form (`temperature_at`), the state is advanced only when
/// the heating changes.
///
/// The register map (what `serve` answers) is documented in docs/plant-modbus.md and fixed by
/// the constants below. A Plant is thread-safe: the Modbus server thread serves it while the rig
/// (scenario replay, tests) changes stimuli, injects faults and reads snapshots.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "sim/lock.hpp"
#include "sim/rng.hpp"
#include "sim/sensor.hpp"
#include "sim/thermal.hpp"

struct _modbus;            // libmodbus context (modbus_t)
struct _modbus_mapping_t;  // libmodbus register tables (modbus_mapping_t)

namespace consentrig::plant {

using core::DurationMs;
using core::TimeMs;

// ------------------------------------------------------------------------------------------
// Register map v1 (docs/plant-modbus.md). Protocol addresses, 0-based.
// ------------------------------------------------------------------------------------------

inline constexpr std::uint16_t kRegisterMapVersion = 1;
inline constexpr std::uint8_t kDefaultUnitId = 1;

/// Input registers (FC 04); the same values are readable as holding registers (FC 03).
enum InputRegister : std::uint16_t {
    kRegRoomTemperature = 0,     ///< int16, 0.01 °C: the temperature SENSOR's reading (noise, faults)
    kRegOutdoorTemperature = 1,  ///< int16, 0.01 °C
    kRegHumidity = 2,            ///< uint16, 0.01 % relative humidity
    kRegOccupancy = 3,           ///< 1 someone is home, 0 not
    kRegDoor = 4,                ///< door contact: 1 closed, 0 open
    kRegBolt = 5,                ///< 0 unlocked, 1 locked, 2 locking, 3 unlocking (sim::Bolt)
    kRegBattery = 6,             ///< uint16, 0.01 % (lock battery)
    kRegHvacOutput = 7,          ///< bit 0 heat relay closed, bit 1 cool relay closed
    kRegMapVersion = 8,          ///< kRegisterMapVersion
    kRegisterCount = 9
};

/// Coils (FC 01 read, FC 05 / FC 15 write).
enum CoilAddress : std::uint16_t {
    kCoilHeat = 0,         ///< heat relay (1 = heating)
    kCoilCool = 1,         ///< cool relay (1 = cooling)
    kCoilMotorLock = 2,    ///< lock motor, towards locked: a write of 1 starts a bolt movement
    kCoilMotorUnlock = 3,  ///< lock motor, towards unlocked
    kCoilCount = 4
};

/// Discrete inputs (FC 02).
enum DiscreteInputAddress : std::uint16_t {
    kInOccupied = 0,      ///< as kRegOccupancy
    kInDoorClosed = 1,    ///< as kRegDoor
    kInBoltLocked = 2,    ///< bolt fully locked
    kInMotorRunning = 3,  ///< bolt moving
    kDiscreteInputCount = 4
};

// ------------------------------------------------------------------------------------------
// Configuration and views
// ------------------------------------------------------------------------------------------

inline constexpr double kDefaultHumidityPct = 45.0;  ///< a winter living room (assumption)

struct PlantConfig {
    /// Seeds the sensor noise together with `seed` (sim::Rng(seed, device_id, "plant-sensor")).
    std::string device_id = "plant";
    std::uint64_t seed = 1;
    sim::HouseParams house{};  ///< τ, heat rate, outdoor sinusoid (sim/thermal.hpp defaults)
    /// What the cool relay removes, °C per hour before losses (the heat relay adds
    /// house.heat_rate_c_per_h). The same closed form with a negative rate: cooling is the RC
    /// model with −H, no second model.
    double cool_rate_c_per_h = sim::kDefaultHeatRateCPerH;
    double initial_temperature_c = sim::kDefaultIndoorC;
    sim::SensorParams sensor{};  ///< reading noise σ (0.1 °C by default; 0 for exact tests)
    double humidity_pct = kDefaultHumidityPct;
    bool occupied = true;
    bool door_closed = true;
    bool bolt_locked = true;
    double battery_pct = sim::kFullBatteryPct;
    sim::LockParams lock{};  ///< bolt travel time, battery drain per actuation
};

/// Ranges: the house and lock params (sim validate), humidity 0…100, battery 0…100, cool rate
/// ≥ 0, initial temperature −50…100 °C, everything finite.
[[nodiscard]] core::Status validate(const PlantConfig& config);

/// Counters of what the plant answered (the server keeps link-level counters).
struct PlantCounters {
    std::uint64_t requests = 0;    ///< requests addressed to this plant
    std::uint64_t replies = 0;     ///< answered, exceptions included
    std::uint64_t exceptions = 0;  ///< answered with a Modbus exception
    std::uint64_t dropped = 0;     ///< not answered: the "timeout" fault was active
    std::uint64_t coil_writes = 0; ///< coils changed by writes (FC 05/15)
};

/// The plant's truth at one instant (what the rig logs and tests check).
struct PlantSnapshot {
    TimeMs t = 0;                ///< plant time (epoch ms)
    double room_c = 0;           ///< true room air temperature
    double sensor_c = 0;         ///< the sensor's noiseless reading (truth + drift, or frozen)
    double outdoor_c = 0;
    double humidity_pct = 0;
    bool occupied = false;
    bool door_closed = true;
    sim::Bolt bolt = sim::Bolt::locked;
    double battery_pct = 0;
    bool heat = false;           ///< heat relay closed
    bool cool = false;           ///< cool relay closed
    bool motor_lock_coil = false;
    bool motor_unlock_coil = false;
    sim::SensorFault sensor_fault = sim::SensorFault::none;
    bool answering = true;       ///< false while the timeout fault is active
    PlantCounters counters;
};

/// Something the board did to the plant (a coil it changed), for the rig's log.
struct PlantEvent {
    TimeMs t = 0;          ///< plant time
    std::uint16_t coil = 0;
    bool value = false;
};

/// What `serve` did with one request.
enum class Served : std::uint8_t { replied, exception, dropped, failed };

// ------------------------------------------------------------------------------------------
// The plant
// ------------------------------------------------------------------------------------------

class Plant {
public:
    /// The plant starts at plant time `start_ms` (epoch ms — e.g. the scenario start) and runs in
    /// real time (wall clock × time scale 1) from now. `config` must pass validate().
    Plant(PlantConfig config, TimeMs start_ms);
    ~Plant();
    Plant(const Plant&) = delete;
    Plant& operator=(const Plant&) = delete;

    // ---- time ------------------------------------------------------------------------------
    /// Plant time now: start + wall time elapsed × scale (or the manual time).
    [[nodiscard]] TimeMs now() const;
    /// From now on plant time runs `factor` × faster than wall time (factor > 0, finite); the
    /// plant clock is continuous across the change. Match the board's `time_scale` with it.
    core::Status set_time_scale(double factor);
    [[nodiscard]] double time_scale() const;
    /// Tests: freeze the clock at its current value; from then on it moves only by `advance`.
    void use_manual_time();
    /// Manual time only: plant time += d (d ≥ 0). Ignored in real-time mode.
    void advance(DurationMs d);
    /// Back to the wall clock (at the current time scale), continuing from the manual time.
    void use_real_time();

    // ---- stimuli (scenario events, tests) ---------------------------------------------------
    void set_occupied(bool occupied);
    void set_door_closed(bool closed);
    void set_humidity_pct(double pct);       ///< clamped to 0…100
    void set_room_temperature_c(double c);   ///< resets the room air now (a test fixture)
    void set_battery_pct(double pct);        ///< clamped to 0…100 (new batteries: 100)
    /// Outdoors is `c` from now on, constant (a scenario `env outdoor_c`, as the simulator does).
    void set_outdoor_c(double c);

    // ---- faults (docs/plant-modbus.md §Faults) ----------------------------------------------
    /// The temperature sensor freezes at its current reading.
    void inject_sensor_stuck();
    /// The temperature sensor's readings drift away from the truth at rate °C per hour.
    void inject_sensor_drift(double rate_c_per_h = sim::kDefaultSensorDriftRateCPerH);
    void clear_sensor_fault();
    /// The plant stops answering Modbus requests (the board sees timeouts) for `d` of plant
    /// time; d < 0: until resume_answering().
    void stop_answering(DurationMs d = -1);
    void resume_answering();

    // ---- views -----------------------------------------------------------------------------
    [[nodiscard]] PlantSnapshot snapshot() const;
    /// Called (from the server thread, outside the plant's lock) for every coil a board changes.
    void set_observer(std::function<void(const PlantEvent&)> observer);

    // ---- Modbus (called by plant::Server) ---------------------------------------------------
    /// Answers one request (a complete ADU as received, CRC or MBAP header included; `req_len`
    /// bytes) on `ctx`, which must be connected to the requester. Reads see the plant at now();
    /// coil writes act on it at now().
    Served serve(_modbus* ctx, const std::uint8_t* req, int req_len);

private:
    void rebase_clock_locked(TimeMs plant_now);
    [[nodiscard]] TimeMs now_locked() const;
    [[nodiscard]] double room_at_locked(TimeMs t) const;
    [[nodiscard]] double sensor_reading_locked(TimeMs t, bool draw_noise);
    void update_hvac_locked(TimeMs t);
    void fill_tables_locked(TimeMs t, bool reads_temperature);

    mutable std::mutex m_;
    PlantConfig cfg_;
    sim::HouseParams house_params_;  ///< cfg_.house with heat_rate = net rate of the relays
    sim::HouseState house_{};
    sim::SensorState sensor_{};
    sim::Rng sensor_rng_;
    sim::LockState lock_{};
    double humidity_pct_ = kDefaultHumidityPct;
    bool occupied_ = true;
    double last_reading_c_ = 0;
    TimeMs answering_from_ = 0;        ///< plant time from which requests are answered again
    bool silent_forever_ = false;
    // clock: plant = anchor_plant_ + (steady - anchor_steady_ns_) × scale_ (or manual_ms_)
    TimeMs anchor_plant_ = 0;
    std::int64_t anchor_steady_ns_ = 0;
    double scale_ = 1.0;
    bool manual_ = false;
    TimeMs manual_ms_ = 0;
    PlantCounters counters_;
    _modbus_mapping_t* map_ = nullptr;
    std::vector<std::uint8_t> coils_before_;
    std::function<void(const PlantEvent&)> observer_;
};

}  // namespace consentrig::plant
