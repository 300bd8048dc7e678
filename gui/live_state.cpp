#include "gui/live_state.hpp"

namespace consentrig::gui {

namespace {
constexpr std::size_t kHeatingCap = 4096;  ///< heating spells kept (a few a minute at most)
}

void TrendSeries::add(core::TimeMs t, double value) {
    if (!points_.empty() && points_.back().value == value) return;  // a step series: changes only
    points_.push_back({t, value});
    while (points_.size() > cap_) points_.pop_front();
}

core::CategorySet LiveState::apply_truth(const core::Record& r) {
    core::CategorySet named;
    const auto j = nlohmann::json::parse(r.payload, nullptr, false);
    if (!j.is_object()) return named;
    ++truth_records_;
    truth_t_ = r.t;
    for (const auto& [key, v] : j.items()) {
        const auto c = core::category_from_string(key);
        if (!c) {
            extras_[key] = v;
            continue;
        }
        values_[static_cast<std::size_t>(*c)] = v;
        core::insert(named, *c);
        switch (*c) {
            case core::Category::temperature:
                if (v.is_number()) temperature_.add(r.t, v.get<double>());
                break;
            case core::Category::setpoint:
                if (v.is_number()) setpoint_.add(r.t, v.get<double>());
                break;
            case core::Category::hvac_state: {
                const bool on = v.is_string() && v.get<std::string>() == "heating";
                const bool open = !heating_.empty() && heating_.back().to == kOpenEnd;
                if (on && !open) heating_.push_back({r.t, kOpenEnd});
                if (!on && open) heating_.back().to = r.t;
                while (heating_.size() > kHeatingCap) heating_.pop_front();
                break;
            }
            default: break;
        }
    }
    return named;
}

void LiveState::apply_plant(core::TimeMs t, const plant::PlantSnapshot& s) {
    plant_ = s;
    room_.add(t, s.room_c);
    outdoor_.add(t, s.outdoor_c);
}

void LiveState::note_outdoor(core::TimeMs t, double celsius) { outdoor_.add(t, celsius); }

void LiveState::clear() { *this = LiveState{}; }

}  // namespace consentrig::gui
