#pragma once
/// gui/live_state.hpp — what the board says its state is (TRUTH) and what the plant behind it
/// says, with a bounded history for the room temperature curve.
///
/// TRUTH is read the way the oracle and the reports read it: the `state` object's keys are
/// category names (core::category_from_string); a TRUTH carries only the keys that changed, so
/// the latest value of each category is kept. The plant is a plant::Plant the window serves
/// over Modbus (QEMU boards); a host stub's built-in room model is seen only through its TRUTH.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/category.hpp"
#include "core/time.hpp"
#include "core/trace.hpp"
#include "plant/plant.hpp"

namespace consentrig::gui {

struct TrendPoint {
    core::TimeMs t = 0;
    double value = 0;
};

/// A step series (each point holds until the next), capped: the oldest points leave first.
class TrendSeries {
public:
    explicit TrendSeries(std::size_t cap) : cap_(cap) {}
    void add(core::TimeMs t, double value);
    void clear() { points_.clear(); }
    [[nodiscard]] const std::deque<TrendPoint>& points() const { return points_; }

private:
    std::deque<TrendPoint> points_;
    std::size_t cap_;
};

struct TimeInterval {
    core::TimeMs from = 0;
    core::TimeMs to = 0;  ///< exclusive; kOpenEnd while it lasts
};
inline constexpr core::TimeMs kOpenEnd = INT64_MAX;

class LiveState {
public:
    /// Points kept per series: 8 h of one change a second (a thermostat's TRUTH changes every
    /// few seconds at most; the plant is sampled once a second).
    static constexpr std::size_t kSeriesCap = 8 * 3600;

    /// A TRUTH record (core::RecordKind::truth): updates the categories it names and the
    /// temperature / setpoint / heating history. Unknown keys are kept as extras. Returns the
    /// categories it named.
    core::CategorySet apply_truth(const core::Record& r);
    /// A plant sample at rig wall-clock time `t`.
    void apply_plant(core::TimeMs t, const plant::PlantSnapshot& s);
    void clear();

    [[nodiscard]] const std::optional<nlohmann::json>& value(core::Category c) const {
        return values_[static_cast<std::size_t>(c)];
    }
    [[nodiscard]] const nlohmann::json& extras() const { return extras_; }
    [[nodiscard]] core::TimeMs truth_t() const { return truth_t_; }
    [[nodiscard]] std::uint64_t truth_records() const { return truth_records_; }
    [[nodiscard]] const std::optional<plant::PlantSnapshot>& plant() const { return plant_; }

    [[nodiscard]] const TrendSeries& temperature() const { return temperature_; }  ///< TRUTH (sensor reading)
    [[nodiscard]] const TrendSeries& setpoint() const { return setpoint_; }
    [[nodiscard]] const TrendSeries& room() const { return room_; }        ///< plant: true room air
    [[nodiscard]] const TrendSeries& outdoor() const { return outdoor_; }  ///< plant, or the env value sent
    /// When the board said it was heating (TRUTH hvac_state "heating").
    [[nodiscard]] const std::deque<TimeInterval>& heating() const { return heating_; }
    /// The outdoor temperature given by an env command (a host stub's room model has no plant
    /// to ask).
    void note_outdoor(core::TimeMs t, double celsius);

private:
    std::array<std::optional<nlohmann::json>, core::kCategoryCount> values_{};
    nlohmann::json extras_ = nlohmann::json::object();
    core::TimeMs truth_t_ = 0;
    std::uint64_t truth_records_ = 0;
    std::optional<plant::PlantSnapshot> plant_;
    TrendSeries temperature_{kSeriesCap};
    TrendSeries setpoint_{kSeriesCap};
    TrendSeries room_{kSeriesCap};
    TrendSeries outdoor_{kSeriesCap};
    std::deque<TimeInterval> heating_;
};

}  // namespace consentrig::gui
