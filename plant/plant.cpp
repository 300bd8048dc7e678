#include "plant/plant.hpp"

#include <modbus.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace consentrig::plant {

namespace {

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

constexpr double kCentiPerUnit = 100.0;
constexpr double kNsPerMs = 1e6;

/// °C (or %) → the register's 0.01 unit, rounded and clamped to int16 (two's complement).
std::uint16_t centi_i16(double v) {
    const double c = std::round(v * kCentiPerUnit);
    const double lo = std::numeric_limits<std::int16_t>::min();
    const double hi = std::numeric_limits<std::int16_t>::max();
    const auto s = static_cast<std::int16_t>(std::clamp(std::isfinite(c) ? c : 0.0, lo, hi));
    return static_cast<std::uint16_t>(s);
}
std::uint16_t centi_u16(double v) {
    const double c = std::round(v * kCentiPerUnit);
    return static_cast<std::uint16_t>(std::clamp(std::isfinite(c) ? c : 0.0, 0.0, 65535.0));
}

/// The function codes the plant answers; every other one (register writes included: every
/// register is a measurement) gets ILLEGAL FUNCTION.
bool served(int fc) {
    switch (fc) {
        case MODBUS_FC_READ_COILS:
        case MODBUS_FC_READ_DISCRETE_INPUTS:
        case MODBUS_FC_READ_HOLDING_REGISTERS:
        case MODBUS_FC_READ_INPUT_REGISTERS:
        case MODBUS_FC_WRITE_SINGLE_COIL:
        case MODBUS_FC_WRITE_MULTIPLE_COILS:
        case MODBUS_FC_REPORT_SLAVE_ID: return true;
        default: return false;
    }
}

}  // namespace

core::Status validate(const PlantConfig& c) {
    if (auto st = sim::validate(c.house); !st) return st;
    if (auto st = sim::validate(c.lock); !st) return st;
    if (auto st = sim::validate(c.sensor); !st) return st;
    if (!std::isfinite(c.cool_rate_c_per_h) || c.cool_rate_c_per_h < 0)
        return core::Error{"plant: cool_rate_c_per_h must be finite and >= 0"};
    if (!std::isfinite(c.initial_temperature_c) || c.initial_temperature_c < -50 || c.initial_temperature_c > 100)
        return core::Error{"plant: initial_temperature_c must be within -50...100"};
    if (!std::isfinite(c.humidity_pct) || c.humidity_pct < 0 || c.humidity_pct > 100)
        return core::Error{"plant: humidity_pct must be within 0...100"};
    if (!std::isfinite(c.battery_pct) || c.battery_pct < 0 || c.battery_pct > sim::kFullBatteryPct)
        return core::Error{"plant: battery_pct must be within 0...100"};
    return {};
}

Plant::Plant(PlantConfig config, TimeMs start_ms)
    : cfg_(std::move(config)),
      house_params_(cfg_.house),
      sensor_rng_(cfg_.seed, cfg_.device_id, "plant-sensor") {
    house_.updated_ms = start_ms;
    house_.temperature_c = static_cast<float>(cfg_.initial_temperature_c);
    house_.heating = false;
    lock_.bolt = cfg_.bolt_locked ? sim::Bolt::locked : sim::Bolt::unlocked;
    lock_.door = cfg_.door_closed ? sim::Door::closed : sim::Door::open;
    lock_.battery_pct = static_cast<float>(cfg_.battery_pct);
    humidity_pct_ = cfg_.humidity_pct;
    occupied_ = cfg_.occupied;
    last_reading_c_ = cfg_.initial_temperature_c;
    anchor_plant_ = start_ms;
    anchor_steady_ns_ = steady_ns();
    answering_from_ = std::numeric_limits<TimeMs>::min();
    map_ = modbus_mapping_new(kCoilCount, kDiscreteInputCount, kRegisterCount, kRegisterCount);
    coils_before_.assign(kCoilCount, 0);
}

Plant::~Plant() { modbus_mapping_free(map_); }

// ---- time ----------------------------------------------------------------------------------

TimeMs Plant::now_locked() const {
    if (manual_) return manual_ms_;
    const double elapsed_ms = static_cast<double>(steady_ns() - anchor_steady_ns_) / kNsPerMs;
    return anchor_plant_ + static_cast<TimeMs>(std::floor(elapsed_ms * scale_));
}

void Plant::rebase_clock_locked(TimeMs plant_now) {
    anchor_plant_ = plant_now;
    anchor_steady_ns_ = steady_ns();
}

TimeMs Plant::now() const {
    std::lock_guard lock(m_);
    return now_locked();
}

core::Status Plant::set_time_scale(double factor) {
    if (!std::isfinite(factor) || factor <= 0) return core::Error{"plant: time scale must be finite and > 0"};
    std::lock_guard lock(m_);
    rebase_clock_locked(now_locked());
    scale_ = factor;
    return {};
}

double Plant::time_scale() const {
    std::lock_guard lock(m_);
    return scale_;
}

void Plant::use_manual_time() {
    std::lock_guard lock(m_);
    if (manual_) return;
    manual_ms_ = now_locked();
    manual_ = true;
}

void Plant::use_real_time() {
    std::lock_guard lock(m_);
    if (!manual_) return;
    manual_ = false;
    rebase_clock_locked(manual_ms_);
}

void Plant::advance(DurationMs d) {
    std::lock_guard lock(m_);
    if (manual_ && d > 0) manual_ms_ += d;
}

// ---- model ---------------------------------------------------------------------------------

double Plant::room_at_locked(TimeMs t) const { return sim::temperature_at(house_, house_params_, t); }

double Plant::sensor_reading_locked(TimeMs t, bool draw_noise) {
    const double truth = room_at_locked(t);
    if (!draw_noise) return sim::noiseless_reading(sensor_, truth, t);
    last_reading_c_ = static_cast<double>(sim::read_sensor(sensor_rng_, cfg_.sensor, sensor_, truth, t));
    return last_reading_c_;
}

void Plant::update_hvac_locked(TimeMs t) {
    // Close the state at t under the old relays, then continue with the new net rate.
    sim::advance(house_, house_params_, t);
    const bool heat = coils_before_[kCoilHeat] != 0;
    const bool cool = coils_before_[kCoilCool] != 0;
    const double rate = (heat ? cfg_.house.heat_rate_c_per_h : 0.0) - (cool ? cfg_.cool_rate_c_per_h : 0.0);
    house_params_.heat_rate_c_per_h = rate;
    house_.heating = rate != 0.0;
}

void Plant::fill_tables_locked(TimeMs t, bool reads_temperature) {
    sim::settle(lock_, t);
    const sim::Bolt bolt = sim::bolt_at(lock_, t);
    const bool door_closed = lock_.door == sim::Door::closed;
    const double reading = reads_temperature ? sensor_reading_locked(t, true) : last_reading_c_;
    std::uint16_t* ir = map_->tab_input_registers;
    ir[kRegRoomTemperature] = centi_i16(reading);
    ir[kRegOutdoorTemperature] = centi_i16(sim::outdoor_temperature_c(cfg_.house, t));
    ir[kRegHumidity] = centi_u16(humidity_pct_);
    ir[kRegOccupancy] = occupied_ ? 1 : 0;
    ir[kRegDoor] = door_closed ? 1 : 0;
    ir[kRegBolt] = static_cast<std::uint16_t>(bolt);
    ir[kRegBattery] = centi_u16(static_cast<double>(lock_.battery_pct));
    ir[kRegHvacOutput] = static_cast<std::uint16_t>((coils_before_[kCoilHeat] ? 1U : 0U) |
                                                    (coils_before_[kCoilCool] ? 2U : 0U));
    ir[kRegMapVersion] = kRegisterMapVersion;
    std::copy_n(ir, kRegisterCount, map_->tab_registers);
    std::uint8_t* in = map_->tab_input_bits;
    in[kInOccupied] = occupied_ ? 1 : 0;
    in[kInDoorClosed] = door_closed ? 1 : 0;
    in[kInBoltLocked] = bolt == sim::Bolt::locked ? 1 : 0;
    in[kInMotorRunning] = (bolt == sim::Bolt::locking || bolt == sim::Bolt::unlocking) ? 1 : 0;
    std::copy(coils_before_.begin(), coils_before_.end(), map_->tab_bits);
}

Served Plant::serve(_modbus* ctx, const std::uint8_t* req, int req_len) {
    std::vector<PlantEvent> events;
    std::function<void(const PlantEvent&)> observer;
    Served result = Served::replied;
    {
        std::lock_guard lock(m_);
        ++counters_.requests;
        const TimeMs t = now_locked();
        if (silent_forever_ || t < answering_from_) {
            ++counters_.dropped;
            return Served::dropped;
        }
        const int hl = modbus_get_header_length(ctx);
        if (req_len < hl + 1) return Served::failed;
        const int fc = req[hl];
        if (!served(fc)) {
            ++counters_.replies;
            ++counters_.exceptions;
            return modbus_reply_exception(ctx, req, MODBUS_EXCEPTION_ILLEGAL_FUNCTION) < 0 ? Served::failed
                                                                                          : Served::exception;
        }
        // A read of register 0 (FC 03/04 from address 0) takes a fresh, noisy sensor reading.
        const bool reads_temperature =
            (fc == MODBUS_FC_READ_INPUT_REGISTERS || fc == MODBUS_FC_READ_HOLDING_REGISTERS) && req_len >= hl + 3 &&
            req[hl + 1] == 0 && req[hl + 2] == 0;
        fill_tables_locked(t, reads_temperature);
        const int rc = modbus_reply(ctx, req, req_len, map_);
        if (rc < 0) return Served::failed;
        ++counters_.replies;
        // An exception reply is the function code with bit 7 set — 9 bytes (TCP) / 5 (RTU).
        const bool exception = rc == hl + 2 + (hl == 1 ? 2 : 0);
        if (exception) {
            ++counters_.exceptions;
            result = Served::exception;
        }
        if (fc == MODBUS_FC_WRITE_SINGLE_COIL || fc == MODBUS_FC_WRITE_MULTIPLE_COILS) {
            const std::uint8_t* now_bits = map_->tab_bits;
            bool hvac_changed = false;
            const bool lock_up = now_bits[kCoilMotorLock] && !coils_before_[kCoilMotorLock];
            const bool unlock_up = now_bits[kCoilMotorUnlock] && !coils_before_[kCoilMotorUnlock];
            for (std::uint16_t c = 0; c < kCoilCount; ++c) {
                if ((now_bits[c] != 0) == (coils_before_[c] != 0)) continue;
                coils_before_[c] = now_bits[c] ? 1 : 0;
                ++counters_.coil_writes;
                events.push_back(PlantEvent{t, c, coils_before_[c] != 0});
                if (c == kCoilHeat || c == kCoilCool) hvac_changed = true;
            }
            if (hvac_changed) update_hvac_locked(t);
            // Both directions raised at once: the motor driver refuses (nothing moves).
            if (lock_up != unlock_up) (void)sim::actuate(lock_, cfg_.lock, t, lock_up);
            if (!events.empty()) observer = observer_;
        }
    }
    if (observer) {
        for (const PlantEvent& e : events) observer(e);
    }
    return result;
}

// ---- stimuli and faults --------------------------------------------------------------------

void Plant::set_occupied(bool occupied) {
    std::lock_guard lock(m_);
    occupied_ = occupied;
}

void Plant::set_door_closed(bool closed) {
    std::lock_guard lock(m_);
    if (closed) {
        sim::close_door(lock_);
    } else {
        sim::open_door(lock_);
    }
}

void Plant::set_humidity_pct(double pct) {
    std::lock_guard lock(m_);
    humidity_pct_ = std::clamp(std::isfinite(pct) ? pct : kDefaultHumidityPct, 0.0, 100.0);
}

void Plant::set_room_temperature_c(double c) {
    std::lock_guard lock(m_);
    const TimeMs t = now_locked();
    sim::advance(house_, house_params_, t);
    house_.updated_ms = t;
    house_.temperature_c = static_cast<float>(c);
}

void Plant::set_outdoor_c(double c) {
    if (!std::isfinite(c)) return;
    std::lock_guard lock(m_);
    const TimeMs t = now_locked();
    sim::advance(house_, house_params_, t);  // the room so far under the old outdoors
    house_.updated_ms = t;
    cfg_.house.outdoor_mean_c = house_params_.outdoor_mean_c = c;
    cfg_.house.outdoor_amplitude_c = house_params_.outdoor_amplitude_c = 0;
}

void Plant::set_battery_pct(double pct) {
    std::lock_guard lock(m_);
    lock_.battery_pct = static_cast<float>(std::clamp(std::isfinite(pct) ? pct : 0.0, 0.0, sim::kFullBatteryPct));
}

void Plant::inject_sensor_stuck() {
    std::lock_guard lock(m_);
    const TimeMs t = now_locked();
    sim::inject_stuck(sensor_, t, static_cast<float>(last_reading_c_));
}

void Plant::inject_sensor_drift(double rate_c_per_h) {
    std::lock_guard lock(m_);
    sim::inject_drift(sensor_, now_locked(), rate_c_per_h);
}

void Plant::clear_sensor_fault() {
    std::lock_guard lock(m_);
    sim::clear_fault(sensor_);
}

void Plant::stop_answering(DurationMs d) {
    std::lock_guard lock(m_);
    if (d < 0) {
        silent_forever_ = true;
    } else {
        answering_from_ = now_locked() + d;
    }
}

void Plant::resume_answering() {
    std::lock_guard lock(m_);
    silent_forever_ = false;
    answering_from_ = std::numeric_limits<TimeMs>::min();
}

void Plant::set_observer(std::function<void(const PlantEvent&)> observer) {
    std::lock_guard lock(m_);
    observer_ = std::move(observer);
}

PlantSnapshot Plant::snapshot() const {
    std::lock_guard lock(m_);
    PlantSnapshot s;
    s.t = now_locked();
    s.room_c = room_at_locked(s.t);
    s.sensor_c = sim::noiseless_reading(sensor_, s.room_c, s.t);
    s.outdoor_c = sim::outdoor_temperature_c(cfg_.house, s.t);
    s.humidity_pct = humidity_pct_;
    s.occupied = occupied_;
    s.door_closed = lock_.door == sim::Door::closed;
    s.bolt = sim::bolt_at(lock_, s.t);
    s.battery_pct = static_cast<double>(lock_.battery_pct);
    s.heat = coils_before_[kCoilHeat] != 0;
    s.cool = coils_before_[kCoilCool] != 0;
    s.motor_lock_coil = coils_before_[kCoilMotorLock] != 0;
    s.motor_unlock_coil = coils_before_[kCoilMotorUnlock] != 0;
    s.sensor_fault = sensor_.fault;
    s.answering = !silent_forever_ && s.t >= answering_from_;
    s.counters = counters_;
    return s;
}

}  // namespace consentrig::plant
