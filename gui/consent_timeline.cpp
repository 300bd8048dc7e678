#include "gui/consent_timeline.hpp"

#include <algorithm>

namespace consentrig::gui {

namespace {
template <class T>
void push_capped(std::deque<T>& q, T v, std::size_t cap) {
    q.push_back(std::move(v));
    while (q.size() > cap) q.pop_front();
}

/// First instant in (lo, hi] at which `holds` answers `want`, given it answered !want at lo
/// and want at hi (one change in between).
template <class Holds>
core::TimeMs edge(core::TimeMs lo, core::TimeMs hi, bool want, Holds&& holds) {
    while (hi - lo > 1) {
        const core::TimeMs mid = lo + (hi - lo) / 2;
        if (holds(mid) == want) hi = mid;
        else lo = mid;
    }
    return hi;
}

/// Opens or closes the interval list at `t` (consent / unlinked spells).
void toggle(std::deque<TimeInterval>& spells, bool on, core::TimeMs t) {
    if (on) spells.push_back({t, kOpenEnd});
    else if (!spells.empty() && spells.back().to == kOpenEnd) spells.back().to = t;
}

// One rule for the timeline and its sampler, so both know the same lanes.

/// The grants that give the board `device` a lane (what its band list starts from).
template <class Fn>
void for_listed_grants(const core::Policy* policy, const std::string& device, Fn&& fn) {
    if (!policy) return;
    for (const auto& g : policy->grants()) {
        if (g.applies_to_device(device) && g.basis != core::Basis::never) fn(g);
    }
}

/// The recipient whose lane a record of the board `device` belongs to, or null.
const std::string* record_lane(const core::Record& r, const std::string& device) {
    const bool ours = r.device == device || r.device == "*";
    switch (r.kind) {
        case core::RecordKind::egress: return r.device == device ? &r.recipient : nullptr;
        case core::RecordKind::consent:
        case core::RecordKind::link: return ours ? &r.recipient : nullptr;
        case core::RecordKind::interaction: return ours && !r.recipient.empty() ? &r.recipient : nullptr;
        default: return nullptr;
    }
}

/// A consent, link or interaction record of the board: an instant where consent may change.
bool consent_point(const core::Record& r, const std::string& device) {
    const bool ours = r.device == device || r.device == "*";
    return ours && (r.kind == core::RecordKind::consent || r.kind == core::RecordKind::link ||
                    r.kind == core::RecordKind::interaction);
}

/// The board's device id is the HELLO's, or the first an egress or TRUTH record names.
bool names_device(const core::Record& r) { return r.kind == core::RecordKind::egress || r.kind == core::RecordKind::truth; }
bool usable_device(const std::string& known, const std::string& device) {
    return known.empty() && !device.empty() && device != "*";
}
}  // namespace

// ---- ConsentSampler ---------------------------------------------------------------------------

void ConsentSampler::reset(core::TimeMs start, const core::Policy* policy) {
    device_.clear();
    policy_ = policy;
    start_ = sampled_to_ = start;
    sampled_ = false;
    points_.clear();
    lanes_.clear();
}

void ConsentSampler::set_device(const std::string& device) {
    if (!usable_device(device_, device)) return;
    device_ = device;
    for_listed_grants(policy_, device_, [&](const core::Grant& g) { lane_for(g.recipient); });
}

ConsentSampler::Lane& ConsentSampler::lane_for(const std::string& recipient) {
    for (auto& l : lanes_) {
        if (l.recipient == recipient) return l;
    }
    Lane& l = lanes_.emplace_back();
    l.recipient = recipient;
    l.held[kLinkBand] = true;  // linked until the oracle says otherwise
    return l;
}

void ConsentSampler::on_record(const core::Record& r) {
    if (names_device(r)) set_device(r.device);
    if (const std::string* lane = record_lane(r, device_)) lane_for(*lane);
    if (consent_point(r, device_)) points_.push_back(r.t);
}

void ConsentSampler::on_finding(const core::Finding& f) {
    if (f.device == device_) lane_for(f.recipient);
}

std::optional<TimelineSample> ConsentSampler::sample(const core::Oracle& oracle, core::TimeMs now) {
    if (now < sampled_to_) return std::nullopt;
    std::vector<core::TimeMs> at;
    at.reserve(points_.size() + 1);
    for (core::TimeMs p : points_) {
        if (p > sampled_to_ && p <= now) at.push_back(p);
    }
    at.push_back(now);
    std::sort(at.begin(), at.end());
    at.erase(std::unique(at.begin(), at.end()), at.end());
    points_.clear();

    TimelineSample out;
    out.now = now;
    for (auto& lane : lanes_) {
        const std::string& r = lane.recipient;
        // One state (consent for a category, or the link) followed across the sample instants.
        auto follow = [&](std::size_t band, auto&& holds) {
            bool& held = lane.held[band];
            auto note = [&](bool v, core::TimeMs t) {
                if (v != held) out.edges.push_back({r, band, v, t});
                held = v;
            };
            core::TimeMs prev = sampled_ ? sampled_to_ : start_;
            if (!lane.sampled) note(holds(prev), prev);  // first look at this lane: its state at the last sample (or the start)
            for (core::TimeMs p : at) {
                if (p <= prev) continue;
                const bool v = holds(p);
                note(v, v != held ? edge(prev, p, v, holds) : p);
                prev = p;
            }
        };
        for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
            const auto cat = static_cast<core::Category>(c);
            follow(c, [&](core::TimeMs t) { return oracle.consented_at(device_, r, cat, t); });
        }
        follow(kLinkBand, [&](core::TimeMs t) { return oracle.linked_at(device_, r, t); });
        lane.sampled = true;
    }
    sampled_ = true;
    sampled_to_ = now;
    return out;
}

// ---- ConsentTimeline --------------------------------------------------------------------------

void ConsentTimeline::reset(core::TimeMs start, const core::Policy* policy) {
    device_.clear();
    policy_ = policy;
    start_ = now_ = start;
    device_cats_.reset();
    lanes_.clear();
    physical_.clear();
    ++generation_;
}

void ConsentTimeline::set_device(const std::string& device) {
    if (!usable_device(device_, device)) return;
    device_ = device;
    for_listed_grants(policy_, device_, [&](const core::Grant& g) { lane_for(g.recipient).listed |= g.categories; });
    for (auto& l : lanes_) update_shown(l);
    ++generation_;
}

TimelineLane& ConsentTimeline::lane_for(const std::string& recipient) {
    for (auto& l : lanes_) {
        if (l.recipient == recipient) return l;
    }
    TimelineLane& l = lanes_.emplace_back();
    l.recipient = recipient;
    std::sort(lanes_.begin(), lanes_.end(), [](const TimelineLane& a, const TimelineLane& b) { return a.recipient < b.recipient; });
    for (auto& x : lanes_) {
        if (x.recipient == recipient) return x;
    }
    return lanes_.back();  // unreachable
}

const TimelineLane* ConsentTimeline::lane(std::string_view recipient) const {
    for (const auto& l : lanes_) {
        if (l.recipient == recipient) return &l;
    }
    return nullptr;
}

void ConsentTimeline::update_shown(TimelineLane& lane) const {
    lane.shown = (lane.listed.all() ? device_cats_ : lane.listed) | lane.sent;
}

void ConsentTimeline::on_record(const core::Record& r, const core::CategorySet& cats) {
    if (names_device(r)) set_device(r.device);
    const std::string* recipient = record_lane(r, device_);
    switch (r.kind) {
        case core::RecordKind::egress: {
            if (!recipient) return;
            TimelineLane& lane = lane_for(*recipient);
            ++lane.messages;
            if (cats.none()) push_capped(lane.strip.sends, r.t, kMaxTicks);
            for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
                if (cats.test(c)) push_capped(lane.bands[c].sends, r.t, kMaxTicks);
            }
            lane.sent |= cats;
            device_cats_ |= cats;
            for (auto& l : lanes_) update_shown(l);
            break;
        }
        case core::RecordKind::truth:
            if (r.device != device_ || (device_cats_ | cats) == device_cats_) return;
            device_cats_ |= cats;
            for (auto& l : lanes_) update_shown(l);
            break;
        case core::RecordKind::consent:
        case core::RecordKind::link: {
            if (!recipient) return;
            TimelineMark m;
            m.t = r.t;
            m.revokes = !r.flag;
            m.text = r.kind == core::RecordKind::link ? (r.flag ? "linked" : "unlinked")
                                                      : std::string(r.flag ? "granted: " : "withdrawn: ") + core::to_text(r.categories);
            push_capped(lane_for(*recipient).marks, std::move(m), kMaxMarks);
            break;
        }
        case core::RecordKind::interaction:
            if (!consent_point(r, device_)) return;
            if (recipient) push_capped(lane_for(*recipient).interactions, r.t, kMaxMarks);
            else push_capped(physical_, r.t, kMaxMarks);
            break;
        default: break;
    }
    ++generation_;
}

void ConsentTimeline::on_finding(const core::Finding& f) {
    if (f.device != device_) return;
    TimelineLane& lane = lane_for(f.recipient);
    ++lane.leaks;
    if (f.category) {
        const auto c = static_cast<std::size_t>(*f.category);
        push_capped(lane.bands[c].leaks, f.t, kMaxTicks);
        lane.sent.set(c);
        update_shown(lane);
    } else {
        push_capped(lane.strip.leaks, f.t, kMaxTicks);
    }
    ++generation_;
}

void ConsentTimeline::apply(const TimelineSample& s) {
    for (const TimelineEdge& e : s.edges) {
        TimelineLane& lane = lane_for(e.recipient);
        if (e.band == kLinkBand) {
            toggle(lane.unlinked, !e.on, e.t);
            lane.linked = e.on;
        } else if (e.band < core::kCategoryCount) {
            toggle(lane.bands[e.band].consent, e.on, e.t);
            lane.bands[e.band].held = e.on;
        }
    }
    now_ = std::max(now_, s.now);
    prune(now_);
    ++generation_;
}

void ConsentTimeline::prune(core::TimeMs now) {
    const core::TimeMs cut = now - kHorizonMs;
    auto ticks = [cut](std::deque<core::TimeMs>& q) {
        while (!q.empty() && q.front() < cut) q.pop_front();
    };
    auto spells = [cut](std::deque<TimeInterval>& q) {
        while (!q.empty() && q.front().to < cut) q.pop_front();
    };
    for (auto& lane : lanes_) {
        for (auto& b : lane.bands) {
            ticks(b.sends);
            ticks(b.leaks);
            spells(b.consent);
        }
        ticks(lane.strip.sends);
        ticks(lane.strip.leaks);
        ticks(lane.interactions);
        spells(lane.unlinked);
        while (!lane.marks.empty() && lane.marks.front().t < cut) lane.marks.pop_front();
    }
    ticks(physical_);
}

}  // namespace consentrig::gui
