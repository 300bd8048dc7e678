#include "reports/model.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <simdjson.h>

#include "core/hash.hpp"
#include "core/trace.hpp"

namespace consentrig::reports {
namespace {

using core::Category;
using core::CategorySet;
using core::FindingType;
using core::Grant;
using core::TimeMs;

constexpr std::size_t kMaxEdgesKept = 200;
constexpr std::size_t kMaxProvisionExamples = 20;
constexpr std::size_t kMaxEventItems = 50;  ///< revocation/restore lines shown one by one
const std::vector<std::size_t> kNoGrants;

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

/// Intervals where `holds(t)` is true, given every instant at which it may change (sorted,
/// unique, within [start, end)).
template <class Holds>
std::vector<Interval> intervals_from(std::vector<TimeMs> points, TimeMs start, TimeMs end, Holds&& holds) {
    points.push_back(start);
    std::erase_if(points, [&](TimeMs t) { return t < start || t >= end; });
    std::sort(points.begin(), points.end());
    points.erase(std::unique(points.begin(), points.end()), points.end());
    std::vector<Interval> out;
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (!holds(points[i])) continue;
        const TimeMs to = i + 1 < points.size() ? points[i + 1] : end;
        if (!out.empty() && out.back().to == points[i]) out.back().to = to;
        else out.push_back({points[i], to});
    }
    return out;
}

/// A consent/link line seen in the trace (for timelines and coverage).
struct TraceEvent {
    TimeMs t = 0;
    std::string device;  ///< or "*"
    std::string recipient;
    bool is_link = false;
    bool value = false;  ///< granted / linked
    CategorySet categories;
    std::uint64_t line = 0;
};

/// A withdrawal or unlink, and which devices it was tested on.
struct Revocation {
    TraceEvent event;
    CategorySet open;  ///< categories still withdrawn (unlink: all)
    bool closed = false;
    std::unordered_set<std::string> excluded;   ///< "*" revocations lifted for one device
    std::unordered_set<std::string> exercised;  ///< devices active while it was in force
    std::uint64_t leaked_messages = 0;          ///< messages to the recipient while in force
};

/// A grant given back (consent granted again, account re-linked): was backfill probed?
struct Restore {
    TraceEvent event;
    TimeMs until = 0;  ///< event.t + tolerance
    std::unordered_set<std::string> exercised;
};

/// Interaction windows of one device under one interaction grant.
struct WindowSet {
    std::vector<TimeMs> ends;
    std::vector<char> hit;
};

struct DeviceCollect {
    struct Egress {
        TimeMs t;
        std::uint32_t recipient;
        CategorySet cats;
        bool strip;  ///< state-free, or carrying an unclassified field / undecodable body
    };
    std::vector<Egress> egress;
    std::vector<std::string> recipients;  ///< local index → name
    std::vector<TraceEvent> events;       ///< consent/link lines (own and "*")
    std::vector<std::pair<TimeMs, std::string>> interactions;  ///< (t, recipient; empty = physical)
    std::vector<Gap> gaps;
    CategorySet truth_cats;
    CategorySet sent_cats;
    bool truncated = false;

    std::uint32_t recipient(std::string_view name) {
        for (std::size_t i = 0; i < recipients.size(); ++i) {
            if (recipients[i] == name) return static_cast<std::uint32_t>(i);
        }
        recipients.emplace_back(name);
        return static_cast<std::uint32_t>(recipients.size() - 1);
    }
};

struct TruthState {
    std::array<std::uint64_t, core::kCategoryCount> hash{};
    CategorySet known;
};

class Builder {
public:
    Builder(const ReportInput& in, const ReportOptions& opt)
        : in_(in), findings_(*in.findings), opt_(opt), policy_(*in.policy) {}

    core::Result<Report> build();

private:
    const ReportInput& in_;
    const core::FindingList& findings_;
    const ReportOptions& opt_;
    const core::Policy& policy_;
    Report r_;
    TimeMs start_ = 0, end_ = 0;

    std::vector<std::string> devices_;
    StringMap<core::FindingCounts> device_counts_;
    StringMap<std::uint64_t> device_messages_;
    StringMap<std::size_t> timeline_of_;  ///< device → index into collect_
    std::vector<DeviceCollect> collect_;
    StringMap<TruthState> truth_;
    StringMap<std::vector<std::size_t>> grants_by_recipient_;
    std::vector<std::vector<CoverageEdge>> grant_edges_;  ///< per grant: schedule + validity edges
    std::vector<std::uint64_t> grant_sends_;              ///< per grant: state messages it could cover
    std::vector<std::uint64_t> grant_changes_;
    StringMap<std::vector<WindowSet>> windows_;  ///< device → per grant (only interaction grants)
    std::vector<Revocation> revocations_;
    StringMap<std::vector<std::size_t>> revocations_by_device_;  ///< device-specific, open or closed
    std::vector<std::size_t> revocations_all_;                   ///< "*" lines
    std::vector<Restore> restores_;
    std::vector<std::size_t> active_restores_;  ///< restores whose tolerance has not run out
    StringMap<CategorySet> sent_to_recipient_;
    std::uint64_t first_record_t_ = 0;
    bool saw_record_ = false;
    simdjson::dom::parser truth_parser_;
    core::MessageSummary summary_;  ///< on_egress's, reused: what a message carries, without its text
    /// (t, line, device, recipient) of listed findings → the finding indices waiting for the body.
    /// Time first: every message is looked up, and integers tell nearly all of them apart
    /// without comparing a device's name.
    std::map<std::tuple<TimeMs, std::uint64_t, std::string_view, std::string_view>, std::vector<std::size_t>> wanted_;

    void rank_and_select();
    core::Status stream();
    void on_egress(const core::Record& rec);
    void on_truth(const core::Record& rec);
    void on_consent(const core::Record& rec);
    void touch_edges(std::size_t gi, TimeMs t, bool send);
    void touch_windows(const std::string& device, std::size_t gi, TimeMs t);
    void touch_revocations(const std::string& device, TimeMs t, const CategorySet* changed);
    void prune_restores(TimeMs t);
    void compute_schedule_edges();
    void build_timelines();
    void build_coverage();
    void build_provisions();
    void pick_listed();
    void build_axis();

    [[nodiscard]] std::vector<std::size_t> grants_for(std::string_view recipient, std::string_view device) const {
        std::vector<std::size_t> out;
        if (auto it = grants_by_recipient_.find(recipient); it != grants_by_recipient_.end()) {
            for (std::size_t gi : it->second) {
                if (policy_.grants()[gi].applies_to_device(device)) out.push_back(gi);
            }
        }
        return out;
    }
};

// ---- ranking --------------------------------------------------------------------------------

void Builder::rank_and_select() {
    devices_ = in_.oracle ? in_.oracle->devices() : std::vector<std::string>{};
    for (const core::FindingHead& f : findings_) {
        ++device_counts_[f.device][static_cast<std::size_t>(f.type)];
    }
    // Devices named only by findings (a merged report without the oracle's view).
    for (const auto& [d, counts] : device_counts_) {
        if (!std::binary_search(devices_.begin(), devices_.end(), d)) devices_.push_back(d);
    }
    std::sort(devices_.begin(), devices_.end());
    auto total = [](const core::FindingCounts& c) {
        std::uint64_t n = 0;
        for (auto v : c) n += v;
        return n;
    };
    std::vector<std::pair<std::uint64_t, const std::string*>> order;
    order.reserve(devices_.size());
    for (const auto& d : devices_) {
        auto it = device_counts_.find(d);
        order.emplace_back(it == device_counts_.end() ? 0 : total(it->second), &d);
    }
    // Worst first: most findings, then device id.
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    Aggregates& ag = r_.aggregates;
    ag.devices = devices_.size();
    for (const auto& [n, d] : order) {
        if (n > 0) ++ag.devices_with_findings;
    }
    for (const auto& [n, d] : order) {
        if (timeline_of_.size() >= opt_.max_timelines) break;
        timeline_of_.emplace(*d, collect_.size());
        collect_.emplace_back();
        DeviceTimeline t;
        t.device = *d;
        t.findings = n;
        if (auto it = device_counts_.find(*d); it != device_counts_.end()) t.counts = it->second;
        if (in_.profile_of) t.profile = in_.profile_of(*d);
        if (in_.kind_of) t.kind = in_.kind_of(*d);
        r_.timelines.push_back(std::move(t));
    }
    for (const auto& [n, d] : order) {
        if (ag.ranked.size() >= opt_.max_ranked || n == 0) break;
        DeviceRank rank;
        rank.device = *d;
        rank.findings = n;
        rank.counts = device_counts_[*d];
        if (in_.profile_of) rank.profile = in_.profile_of(*d);
        if (in_.kind_of) rank.kind = in_.kind_of(*d);
        if (auto it = timeline_of_.find(*d); it != timeline_of_.end()) rank.timeline = it->second;
        ag.ranked.push_back(std::move(rank));
    }
    if (in_.profile_of) {
        for (const auto& d : devices_) {
            ProfileRow& row = ag.by_profile[in_.profile_of(d)];
            ++row.devices;
            if (auto it = device_counts_.find(d); it != device_counts_.end()) {
                const auto n = total(it->second);
                if (n) ++row.with_findings;
                row.findings += n;
                for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) row.counts[i] += it->second[i];
            }
        }
    }
    for (const core::FindingHead& f : findings_) {
        ++ag.by_type[static_cast<std::size_t>(f.type)];
        ++ag.by_recipient[f.recipient][static_cast<std::size_t>(f.type)];
        if (f.category) ++ag.by_category[static_cast<std::size_t>(*f.category)];
    }
}

// ---- coverage helpers -----------------------------------------------------------------------

void Builder::compute_schedule_edges() {
    const auto& grants = policy_.grants();
    grant_edges_.assign(grants.size(), {});
    grant_sends_.assign(grants.size(), 0);
    grant_changes_.assign(grants.size(), 0);
    for (std::size_t gi = 0; gi < grants.size(); ++gi) {
        const Grant& g = grants[gi];
        grants_by_recipient_[g.recipient].push_back(gi);
        auto& edges = grant_edges_[gi];
        if (auto from = g.from.resolve(start_); from && *from > start_ && *from < end_) {
            edges.push_back({*from, "valid from"});
        }
        if (auto until = g.until.resolve(start_); until && *until > start_ && *until < end_) {
            edges.push_back({*until, "valid until"});
        }
        if (g.basis == core::Basis::schedule) {
            // Windows are whole local minutes and UTC offsets whole minutes: every edge lies on
            // a UTC minute boundary, so a scan by minute finds each one exactly.
            TimeMs t = (start_ / core::kMsPerMinute + 1) * core::kMsPerMinute;
            bool prev = policy_.in_schedule(g, start_);
            for (; t < end_; t += core::kMsPerMinute) {
                const bool now = policy_.in_schedule(g, t);
                if (now != prev) edges.push_back({t, now ? "opens" : "closes"});
                prev = now;
            }
        }
        std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) { return a.t < b.t; });
    }
}

void Builder::touch_edges(std::size_t gi, TimeMs t, bool send) {
    auto& edges = grant_edges_[gi];
    auto it = std::lower_bound(edges.begin(), edges.end(), t - opt_.edge_tolerance_ms,
                               [](const CoverageEdge& e, TimeMs v) { return e.t < v; });
    for (; it != edges.end() && it->t <= t + opt_.edge_tolerance_ms; ++it) {
        ++(send ? it->sends : it->changes);
    }
}

void Builder::touch_windows(const std::string& device, std::size_t gi, TimeMs t) {
    const Grant& g = policy_.grants()[gi];
    auto [it, fresh] = windows_.try_emplace(device);
    auto& sets = it->second;
    if (fresh) sets.resize(policy_.grants().size());
    WindowSet& w = sets[gi];
    if (w.ends.empty() && w.hit.empty()) {
        for (TimeMs i : in_.oracle->interactions(device, g.recipient)) w.ends.push_back(i + g.within_ms);
        w.hit.assign(w.ends.size(), 0);
        if (w.ends.empty()) w.hit.push_back(0);  // marks "looked up" (sentinel, ignored)
    }
    const core::DurationMs tol = std::min(g.within_ms, opt_.edge_tolerance_ms);
    auto e = std::lower_bound(w.ends.begin(), w.ends.end(), t - tol);
    for (; e != w.ends.end() && *e <= t + tol; ++e) w.hit[static_cast<std::size_t>(e - w.ends.begin())] = 1;
}

template <class F>
void for_each_revocation(std::vector<Revocation>& all, const std::vector<std::size_t>* own,
                         const std::vector<std::size_t>& wildcard, const std::string& device, F&& f) {
    auto visit = [&](const std::vector<std::size_t>& list) {
        for (std::size_t i : list) {
            Revocation& rv = all[i];
            if (rv.closed || (rv.event.device == "*" && rv.excluded.contains(device))) continue;
            f(rv);
        }
    };
    if (own) visit(*own);
    visit(wildcard);
}

void Builder::touch_revocations(const std::string& device, TimeMs, const CategorySet* changed) {
    auto it = revocations_by_device_.find(device);
    for_each_revocation(revocations_, it == revocations_by_device_.end() ? nullptr : &it->second, revocations_all_,
                        device, [&](Revocation& rv) {
                            if (changed && (*changed & rv.open).none()) return;
                            rv.exercised.insert(device);
                        });
}

void Builder::prune_restores(TimeMs t) {
    std::erase_if(active_restores_, [&](std::size_t i) { return restores_[i].until < t; });
}

// ---- streaming ------------------------------------------------------------------------------

void Builder::on_egress(const core::Record& rec) {
    ++r_.meta.messages;
    if (!wanted_.empty()) {
        // Findings of a live run carry no line (the simulator's records have none): match those
        // by time alone.
        for (std::uint64_t line : {rec.line, std::uint64_t{0}}) {
            auto it = wanted_.find({rec.t, line, rec.device, rec.recipient});
            if (it == wanted_.end()) continue;
            for (std::size_t fi : it->second) r_.message_of[fi] = r_.messages.size();
            r_.messages.push_back(rec.payload);
            wanted_.erase(it);
            break;
        }
    }
    ++device_messages_[rec.device];
    ++r_.aggregates.messages_by_recipient[rec.recipient];
    // Only categories and whether something is unclassified count here: summarize, not decode
    // (building the fields' text was 40 % of this pass on a 20,000-device trace).
    in_.taxonomy->summarize(rec.format, rec.payload, summary_);
    const CategorySet cats = summary_.categories;
    const bool unclassified = !summary_.error.empty() || summary_.unclassified;
    if (cats.any()) {
        ++r_.meta.state_messages;
        for (std::size_t i = 0; i < core::kCategoryCount; ++i) {
            if (cats.test(i) && is_sensitive(static_cast<Category>(i))) {
                ++r_.meta.sensitive_messages;
                break;
            }
        }
        sent_to_recipient_[rec.recipient] |= cats;
    }
    if (auto it = timeline_of_.find(rec.device); it != timeline_of_.end()) {
        DeviceCollect& c = collect_[it->second];
        if (c.egress.size() < opt_.max_ticks_per_device) {
            c.egress.push_back({rec.t, c.recipient(rec.recipient), cats, cats.none() || unclassified});
        } else {
            c.truncated = true;
        }
        c.sent_cats |= cats;
    }
    // Coverage: boundaries near this send, revocations it tested.
    if (cats.any()) {
        auto it = grants_by_recipient_.find(rec.recipient);
        for (std::size_t gi : it == grants_by_recipient_.end() ? kNoGrants : it->second) {
            const Grant& g = policy_.grants()[gi];
            if ((g.categories & cats).none() || !g.applies_to_device(rec.device)) continue;
            ++grant_sends_[gi];
            touch_edges(gi, rec.t, true);
            if (g.basis == core::Basis::interaction) touch_windows(rec.device, gi, rec.t);
        }
    }
    touch_revocations(rec.device, rec.t, nullptr);
    {
        auto it = revocations_by_device_.find(rec.device);
        for_each_revocation(revocations_, it == revocations_by_device_.end() ? nullptr : &it->second,
                            revocations_all_, rec.device, [&](Revocation& rv) {
                                if (rv.event.recipient == rec.recipient && (rv.event.is_link || (cats & rv.open).any())) {
                                    ++rv.leaked_messages;
                                }
                            });
    }
    prune_restores(rec.t);
    for (std::size_t ri : active_restores_) {
        Restore& rs = restores_[ri];
        if (rs.event.recipient != rec.recipient) continue;
        if (rs.event.device != "*" && rs.event.device != rec.device) continue;
        if (cats.any()) rs.exercised.insert(rec.device);
    }
}

void Builder::on_truth(const core::Record& rec) {
    simdjson::dom::element root;
    if (truth_parser_.parse(rec.payload).get(root) != simdjson::SUCCESS) return;
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) return;
    TruthState& st = truth_[rec.device];
    CategorySet changed, seen;
    for (auto field : obj) {
        const auto c = core::category_from_string(field.key);
        if (!c) continue;
        const auto i = static_cast<std::size_t>(*c);
        const std::uint64_t h = core::fnv1a64(simdjson::minify(field.value));
        if (st.known.test(i) && st.hash[i] != h) changed.set(i);
        st.known.set(i);
        seen.set(i);
        st.hash[i] = h;
    }
    if (auto it = timeline_of_.find(rec.device); it != timeline_of_.end()) collect_[it->second].truth_cats |= seen;
    if (changed.none()) return;
    for (const auto& [recipient, list] : grants_by_recipient_) {
        for (std::size_t gi : list) {
            const Grant& g = policy_.grants()[gi];
            if ((g.categories & changed).none() || !g.applies_to_device(rec.device)) continue;
            ++grant_changes_[gi];
            touch_edges(gi, rec.t, false);
            if (g.basis == core::Basis::interaction) touch_windows(rec.device, gi, rec.t);
        }
    }
    touch_revocations(rec.device, rec.t, &changed);
    prune_restores(rec.t);
    for (std::size_t ri : active_restores_) {
        Restore& rs = restores_[ri];
        if (rs.event.device != "*" && rs.event.device != rec.device) continue;
        if ((changed & rs.event.categories).any()) rs.exercised.insert(rec.device);
    }
}

void Builder::on_consent(const core::Record& rec) {
    TraceEvent e;
    e.t = rec.t;
    e.device = rec.device;
    e.recipient = rec.recipient;
    e.is_link = rec.kind == core::RecordKind::link;
    e.value = rec.flag;
    e.categories = e.is_link ? core::all_categories() : rec.categories;
    e.line = rec.line;
    if (rec.device == "*") {
        for (auto& c : collect_) c.events.push_back(e);
    } else if (auto it = timeline_of_.find(rec.device); it != timeline_of_.end()) {
        collect_[it->second].events.push_back(e);
    }
    if (!e.value) {
        Revocation rv;
        rv.event = e;
        rv.open = e.categories;
        (e.device == "*" ? revocations_all_ : revocations_by_device_[e.device]).push_back(revocations_.size());
        revocations_.push_back(std::move(rv));
        return;
    }
    // A grant or link given back: lifts earlier revocations of the same recipient.
    bool lifted = false;
    std::vector<std::size_t> candidates = revocations_all_;
    if (e.device == "*") {
        for (const auto& [d, list] : revocations_by_device_) candidates.insert(candidates.end(), list.begin(), list.end());
    } else if (auto it = revocations_by_device_.find(e.device); it != revocations_by_device_.end()) {
        candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    }
    for (std::size_t ci : candidates) {
        Revocation& rv = revocations_[ci];
        if (rv.closed || rv.event.recipient != e.recipient || rv.event.is_link != e.is_link) continue;
        if (e.device == "*") {
            rv.open &= ~e.categories;
        } else if (rv.event.device == e.device) {
            rv.open &= ~e.categories;
        } else if (rv.event.device == "*") {
            if ((rv.open & e.categories).any()) {
                rv.excluded.insert(e.device);
                lifted = true;
            }
            continue;
        } else {
            continue;
        }
        lifted = true;
        if (rv.open.none()) rv.closed = true;
    }
    if (lifted) {
        Restore rs;
        rs.event = e;
        rs.until = e.t + opt_.edge_tolerance_ms;
        active_restores_.push_back(restores_.size());
        restores_.push_back(std::move(rs));
    }
}

core::Status Builder::stream() {
    if (in_.trace.empty()) return {};
    auto src = core::open_trace(in_.trace);
    if (!src) return src.error();
    core::TraceSource& source = **src;
    core::Record rec;  // refilled record after record
    for (;;) {
        auto more = source.next(rec);
        if (!more) return more.error();
        if (!*more) break;
        ++r_.meta.records;
        switch (rec.kind) {
            case core::RecordKind::egress: on_egress(rec); break;
            case core::RecordKind::truth: on_truth(rec); break;
            case core::RecordKind::consent:
            case core::RecordKind::link: on_consent(rec); break;
            case core::RecordKind::interaction:
                ++r_.meta.interactions;
                if (auto it = timeline_of_.find(rec.device); it != timeline_of_.end()) {
                    collect_[it->second].interactions.emplace_back(rec.t, rec.via == "physical" ? "" : rec.recipient);
                }
                break;
            case core::RecordKind::gap:
                ++r_.meta.gaps;
                if (rec.device == "*") {
                    for (auto& c : collect_) c.gaps.push_back({rec.t, rec.t_end, rec.payload});
                } else if (auto it = timeline_of_.find(rec.device); it != timeline_of_.end()) {
                    collect_[it->second].gaps.push_back({rec.t, rec.t_end, rec.payload});
                }
                break;
            case core::RecordKind::meta: break;
        }
    }
    for (const auto& w : source.warnings()) r_.meta.warnings.push_back(w);
    return {};
}

// ---- timelines ------------------------------------------------------------------------------

void Builder::build_timelines() {
    // Finding lookup per device: (recipient, category or -1, t) → finding index.
    StringMap<std::vector<std::size_t>> findings_of;
    for (std::size_t i = 0; i < findings_.size(); ++i) {
        if (timeline_of_.contains(findings_[i].device)) findings_of[findings_[i].device].push_back(i);
    }
    const auto& grants = policy_.grants();
    for (std::size_t ti = 0; ti < r_.timelines.size(); ++ti) {
        DeviceTimeline& tl = r_.timelines[ti];
        DeviceCollect& c = collect_[ti];
        tl.messages = c.egress.size();
        tl.truncated = c.truncated;
        if (auto it = device_messages_.find(tl.device); it != device_messages_.end()) tl.messages = it->second;
        tl.gaps = c.gaps;
        for (const auto& [t, rec] : c.interactions) {
            if (rec.empty()) tl.physical.push_back(t);
        }
        std::vector<std::string> recipients = in_.oracle ? in_.oracle->recipients(tl.device) : std::vector<std::string>{};
        for (const auto& name : c.recipients) recipients.push_back(name);
        std::sort(recipients.begin(), recipients.end());
        recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());

        // Leaks keyed by (recipient, category index or kCategoryCount for the strip, t).
        std::map<std::tuple<std::string_view, std::size_t, TimeMs>, std::vector<std::size_t>> leaks;
        for (std::size_t fi : findings_of[tl.device]) {
            const core::FindingHead& f = findings_[fi];
            leaks[{f.recipient, f.category ? static_cast<std::size_t>(*f.category) : core::kCategoryCount, f.t}].push_back(fi);
        }
        const CategorySet device_cats = c.sent_cats | c.truth_cats;

        for (const auto& rname : recipients) {
            Lane lane;
            lane.recipient = rname;
            const std::uint32_t rid = c.recipient(rname);
            const auto gis = grants_for(rname, tl.device);
            CategorySet cats;
            std::vector<TimeMs> points;
            for (std::size_t gi : gis) {
                const Grant& g = grants[gi];
                cats |= g.categories.all() ? device_cats : g.categories;
                for (const auto& e : grant_edges_[gi]) points.push_back(e.t);
            }
            for (const auto& e : c.egress) {
                if (e.recipient == rid) {
                    cats |= e.cats;
                    ++lane.messages;
                }
            }
            std::vector<TimeMs> link_points;
            for (const auto& e : c.events) {
                if (e.recipient != rname) continue;
                points.push_back(e.t);
                if (e.is_link) link_points.push_back(e.t);
                ConsentMark m;
                m.t = e.t;
                m.revokes = !e.value;
                m.all_devices = e.device == "*";
                m.line = e.line;
                m.text = e.is_link ? (e.value ? "linked" : "unlinked")
                                   : std::string(e.value ? "granted: " : "withdrawn: ") + core::to_text(e.categories);
                lane.marks.push_back(std::move(m));
            }
            if (in_.oracle) {
                lane.interactions = in_.oracle->interactions(tl.device, rname);
                for (TimeMs i : lane.interactions) {
                    points.push_back(i);
                    for (std::size_t gi : gis) {
                        if (grants[gi].basis == core::Basis::interaction) points.push_back(i + grants[gi].within_ms);
                    }
                }
                const auto linked = intervals_from(link_points, start_, end_,
                                                   [&](TimeMs t) { return !in_.oracle->linked_at(tl.device, rname, t); });
                lane.unlinked = linked;
            }
            lane.strip.category.reset();
            for (std::size_t ci = 0; ci < core::kCategoryCount; ++ci) {
                if (!cats.test(ci)) continue;
                Band band;
                band.category = static_cast<Category>(ci);
                if (in_.oracle) {
                    band.consent = intervals_from(points, start_, end_, [&](TimeMs t) {
                        return in_.oracle->consented_at(tl.device, rname, static_cast<Category>(ci), t);
                    });
                }
                lane.bands.push_back(std::move(band));
            }
            // Ticks.
            for (const auto& e : c.egress) {
                if (e.recipient != rid) continue;
                for (Band& band : lane.bands) {
                    const auto ci = static_cast<std::size_t>(*band.category);
                    if (!e.cats.test(ci)) continue;
                    auto it = leaks.find({rname, ci, e.t});
                    if (it != leaks.end()) {
                        for (std::size_t fi : it->second) band.leaks.emplace_back(e.t, fi);
                        leaks.erase(it);
                    } else {
                        band.sends.push_back(e.t);
                    }
                }
                if (e.strip) {
                    auto it = leaks.find({rname, core::kCategoryCount, e.t});
                    if (it != leaks.end()) {
                        for (std::size_t fi : it->second) lane.strip.leaks.emplace_back(e.t, fi);
                        leaks.erase(it);
                    } else {
                        lane.strip.sends.push_back(e.t);
                    }
                }
            }
            // Findings not matched to a captured message (cause_mismatch on a state message,
            // side_channel, or ticks beyond the cap) still show, on the strip.
            for (auto it = leaks.begin(); it != leaks.end();) {
                if (std::get<0>(it->first) != rname) {
                    ++it;
                    continue;
                }
                const std::size_t ci = std::get<1>(it->first);
                Band* target = &lane.strip;
                for (Band& band : lane.bands) {
                    if (ci < core::kCategoryCount && static_cast<std::size_t>(*band.category) == ci) target = &band;
                }
                for (std::size_t fi : it->second) target->leaks.emplace_back(std::get<2>(it->first), fi);
                it = leaks.erase(it);
            }
            tl.lanes.push_back(std::move(lane));
        }
    }
}

// ---- coverage -------------------------------------------------------------------------------

void Builder::build_coverage() {
    Coverage& cov = r_.coverage;
    cov.tolerance_ms = opt_.edge_tolerance_ms;
    const auto& grants = policy_.grants();
    const std::string tol = core::format_duration(opt_.edge_tolerance_ms);
    std::vector<std::size_t> applicable(grants.size(), 0);  ///< devices each grant applies to
    for (const auto& d : devices_) {
        for (std::size_t gi = 0; gi < grants.size(); ++gi) {
            if (grants[gi].applies_to_device(d)) ++applicable[gi];
        }
    }
    for (std::size_t gi = 0; gi < grants.size(); ++gi) {
        const Grant& g = grants[gi];
        const std::string where = core::to_string(g.where);
        const std::string head = std::string(core::to_string(g.basis)) + " grant for " + core::to_text(g.categories);
        auto& edges = grant_edges_[gi];
        std::vector<CoverageEdge> schedule, validity;
        for (const auto& e : edges) (e.what == "opens" || e.what == "closes" ? schedule : validity).push_back(e);
        auto edge_item = [&](std::string kind, std::string subject, std::vector<CoverageEdge>& list) {
            CoverageItem item;
            item.kind = std::move(kind);
            item.recipient = g.recipient;
            item.where = where;
            item.subject = std::move(subject);
            item.total = list.size();
            for (const auto& e : list) item.exercised += e.exercised() ? 1 : 0;
            item.detail = std::to_string(item.exercised) + " of " + plural(item.total, "edge", "edges") +
                          " had a state message to " + g.recipient + " or a state change within ±" + tol;
            if (list.size() > kMaxEdgesKept) list.resize(kMaxEdgesKept);
            item.edges = std::move(list);
            cov.items.push_back(std::move(item));
        };
        if (g.basis == core::Basis::schedule) {
            std::string windows;
            for (const auto& w : g.windows) windows += (windows.empty() ? "" : ", ") + w.text;
            if (schedule.empty()) {
                CoverageItem item;
                item.kind = "schedule";
                item.recipient = g.recipient;
                item.where = where;
                item.subject = head + " (" + windows + ")";
                item.detail = "no window opened or closed during the run";
                cov.items.push_back(std::move(item));
            } else {
                edge_item("schedule", head + " (" + windows + "): window edges", schedule);
            }
        }
        if (!validity.empty()) edge_item("validity", head + ": from/until", validity);
        if (g.basis == core::Basis::interaction) {
            CoverageItem item;
            item.kind = "interaction";
            item.recipient = g.recipient;
            item.where = where;
            item.subject = head + " within " + core::format_duration(g.within_ms) + ": ends of interaction windows";
            for (const auto& d : devices_) {
                if (!g.applies_to_device(d)) continue;
                auto it = windows_.find(d);
                if (it != windows_.end() && !it->second[gi].ends.empty()) {
                    item.total += it->second[gi].ends.size();
                    for (char h : it->second[gi].hit) item.exercised += h ? 1 : 0;
                } else if (in_.oracle) {
                    item.total += in_.oracle->interactions(d, g.recipient).size();
                }
            }
            const std::string near = core::format_duration(std::min(g.within_ms, opt_.edge_tolerance_ms));
            item.detail = std::to_string(item.exercised) + " of " + plural(item.total, "window", "windows") +
                          " had a state message to " + g.recipient + " or a state change within ±" + near +
                          " of its end";
            cov.items.push_back(std::move(item));
        }
        if (g.basis == core::Basis::always || g.basis == core::Basis::never) {
            CoverageItem item;
            item.kind = std::string(core::to_string(g.basis));
            item.recipient = g.recipient;
            item.where = where;
            item.subject = head;
            item.total = 1;
            if (g.basis == core::Basis::always) {
                item.exercised = grant_sends_[gi] > 0 ? 1 : 0;
                item.detail = plural(grant_sends_[gi], "state message", "state messages") + " it could cover";
            } else {
                item.exercised = grant_sends_[gi] + grant_changes_[gi] > 0 ? 1 : 0;
                item.detail = plural(grant_changes_[gi], "state change", "state changes") + " and " +
                              plural(grant_sends_[gi], "state message", "state messages") + " to " + g.recipient +
                              " (a never grant covers nothing)";
            }
            cov.items.push_back(std::move(item));
        }
        if (applicable[gi] == 0 && !devices_.empty()) {
            cov.untested.push_back("The grant at " + where + " (" + g.recipient + ") applies to no device of the run.");
        }
    }
    // Categories the policy names explicitly but the run never sent.
    std::map<std::string, CategorySet> listed;
    for (const auto& g : grants) {
        if (!g.categories.all() && g.basis != core::Basis::never) listed[g.recipient] |= g.categories;
    }
    for (const auto& [recipient, set] : listed) {
        CoverageItem item;
        item.kind = "categories";
        item.recipient = recipient;
        item.subject = "categories granted to " + recipient + ": " + core::to_text(set);
        const CategorySet sent = sent_to_recipient_.contains(recipient) ? sent_to_recipient_[recipient] : CategorySet{};
        item.total = set.count();
        item.exercised = (set & sent).count();
        const CategorySet never = set & ~sent;
        item.detail = never.none() ? "every granted category was sent" : "never sent: " + core::to_text(never);
        cov.items.push_back(std::move(item));
    }

    // Revocations.
    cov.revocations = revocations_.size();
    auto devices_affected = [&](const TraceEvent& e, std::size_t excluded) -> std::uint64_t {
        if (e.device != "*") return 1;
        return devices_.size() > excluded ? devices_.size() - excluded : 0;
    };
    std::map<std::pair<std::string, std::string>, CoverageItem> merged;
    for (const Revocation& rv : revocations_) {
        const std::string kind = rv.event.is_link ? "unlink" : "withdrawal";
        const std::uint64_t total = devices_affected(rv.event, rv.excluded.size());
        const std::uint64_t ex = std::min<std::uint64_t>(rv.exercised.size(), total);
        if (ex > 0) ++cov.revocations_exercised;
        if (revocations_.size() <= kMaxEventItems) {
            CoverageItem item;
            item.kind = kind;
            item.recipient = rv.event.recipient;
            item.where = rv.event.line ? "trace line " + std::to_string(rv.event.line) : core::format_rfc3339(rv.event.t);
            item.subject = (rv.event.is_link ? "unlink of " + rv.event.recipient
                                             : "withdrawal of " + core::to_text(rv.event.categories) + " from " +
                                                   rv.event.recipient) +
                           " at " + core::format_rfc3339(rv.event.t) +
                           (rv.event.device == "*" ? " (all devices)" : " (" + rv.event.device + ")");
            item.total = total;
            item.exercised = ex;
            item.detail = std::to_string(ex) + " of " + plural(total, "device", "devices") +
                          " sent a message or changed an affected state while it was in force; " +
                          plural(rv.leaked_messages, "message", "messages") + " reached " + rv.event.recipient;
            cov.items.push_back(std::move(item));
        } else {
            CoverageItem& item = merged[{kind, rv.event.recipient}];
            item.kind = kind;
            item.recipient = rv.event.recipient;
            item.where = "trace";
            item.subject = kind + "s of " + rv.event.recipient;
            item.total += total;
            item.exercised += ex;
        }
    }
    for (auto& [key, item] : merged) {
        item.detail = std::to_string(item.exercised) + " of " + std::to_string(item.total) +
                      " (device × line) had a message or an affected state change while in force";
        cov.items.push_back(std::move(item));
    }
    std::map<std::string, CoverageItem> merged_restores;
    for (const Restore& rs : restores_) {
        const std::uint64_t total = devices_affected(rs.event, 0);
        const std::uint64_t ex = std::min<std::uint64_t>(rs.exercised.size(), total);
        if (restores_.size() <= kMaxEventItems) {
            CoverageItem item;
            item.kind = "restore";
            item.recipient = rs.event.recipient;
            item.where = rs.event.line ? "trace line " + std::to_string(rs.event.line) : core::format_rfc3339(rs.event.t);
            item.subject = std::string(rs.event.is_link ? "re-link of " : "consent given back to ") + rs.event.recipient +
                           " at " + core::format_rfc3339(rs.event.t) +
                           (rs.event.device == "*" ? " (all devices)" : " (" + rs.event.device + ")");
            item.total = total;
            item.exercised = ex;
            item.detail = std::to_string(ex) + " of " + plural(total, "device", "devices") +
                          " sent state or changed an affected state within " + tol + " after (backfill probed)";
            cov.items.push_back(std::move(item));
        } else {
            CoverageItem& item = merged_restores[rs.event.recipient];
            item.kind = "restore";
            item.recipient = rs.event.recipient;
            item.where = "trace";
            item.subject = "re-grants and re-links of " + rs.event.recipient;
            item.total += total;
            item.exercised += ex;
        }
    }
    for (auto& [key, item] : merged_restores) {
        item.detail = std::to_string(item.exercised) + " of " + std::to_string(item.total) +
                      " (device × line) sent state or changed state within " + tol + " after";
        cov.items.push_back(std::move(item));
    }

    // What the run never tested, in plain words.
    if (revocations_.empty()) {
        cov.untested.push_back(
            "The run never withdrew consent or unlinked an account: withdrawal of consent (EN 303 645 6-3, "
            "GDPR Art. 7(3)) was not tested.");
    } else if (cov.revocations_exercised == 0) {
        cov.untested.push_back(
            "Consent was withdrawn or an account unlinked, but no device sent anything or changed an affected "
            "state while it was in force: withdrawal was not really tested.");
    }
    if (!revocations_.empty() && restores_.empty()) {
        cov.untested.push_back("No consent was given back and no account re-linked after a revocation: backfill on "
                               "re-link was not tested.");
    }
    for (const auto& item : cov.items) {
        if (item.kind == "withdrawal" || item.kind == "unlink" || item.kind == "restore") continue;
        if (item.total == 0 && item.kind == "interaction") {
            cov.untested.push_back("No interaction happened under the interaction grant at " + item.where + " (" +
                                   item.recipient + "): its windows were never tested.");
        } else if (item.total > 0 && item.exercised < item.total) {
            if (item.kind == "categories") {
                cov.untested.push_back("Categories granted to " + item.recipient + " but never sent, so never judged: " +
                                       item.detail.substr(std::string("never sent: ").size()) + ".");
            } else if (item.kind == "always") {
                cov.untested.push_back("The always grant at " + item.where + " (" + item.recipient +
                                       ") never had a message to cover.");
            } else if (item.kind == "never") {
                cov.untested.push_back("The never grant at " + item.where + " (" + item.recipient +
                                       ") was never tempted: no state change, no message.");
            } else {
                cov.untested.push_back(item.subject + " at " + item.where + " (" + item.recipient + "): " +
                                       std::to_string(item.total - item.exercised) + " of " + std::to_string(item.total) +
                                       " never exercised (no state message or state change within the tolerance).");
            }
        }
    }
    for (const auto& [recipient, list] : grants_by_recipient_) {
        if (!r_.aggregates.messages_by_recipient.contains(recipient)) {
            cov.untested.push_back(recipient + " received no message at all in this run.");
        }
    }
}

// ---- provisions and verdict -----------------------------------------------------------------

void Builder::pick_listed() {
    const auto& f = findings_;
    if (f.size() <= opt_.max_listed_findings) {
        r_.listed.resize(f.size());
        for (std::size_t i = 0; i < f.size(); ++i) r_.listed[i] = i;
        return;
    }
    // One example of each leak class × recipient first, then the findings of the timeline
    // devices, worst first, until the cap.
    std::set<std::size_t> chosen;
    std::set<std::pair<std::size_t, std::string_view>> seen;
    for (std::size_t i = 0; i < f.size() && chosen.size() < opt_.max_listed_findings; ++i) {
        if (seen.insert({static_cast<std::size_t>(f[i].type), f[i].recipient}).second) chosen.insert(i);
    }
    StringMap<std::vector<std::size_t>> by_device;
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (timeline_of_.contains(f[i].device)) by_device[f[i].device].push_back(i);
    }
    for (const auto& tl : r_.timelines) {
        for (std::size_t i : by_device[tl.device]) {
            if (chosen.size() >= opt_.max_listed_findings) break;
            chosen.insert(i);
        }
    }
    r_.listed.assign(chosen.begin(), chosen.end());
}

void Builder::build_provisions() {
    std::vector<char> is_listed(findings_.size(), 0);
    for (std::size_t i : r_.listed) is_listed[i] = 1;
    for (std::size_t p = 0; p < kProvisionCount; ++p) r_.provisions[p].id = static_cast<ProvisionId>(p);
    // Examples: the first listed finding of each leak class first, then others in order.
    std::array<std::array<bool, core::kFindingTypeCount>, kProvisionCount> type_seen{};
    for (int round = 0; round < 2; ++round) {
        for (std::size_t i = 0; i < findings_.size(); ++i) {
            const core::FindingHead& f = findings_[i];
            const ProvisionSet set = provisions_for(f);
            const auto ti = static_cast<std::size_t>(f.type);
            for (std::size_t p = 0; p < kProvisionCount; ++p) {
                if (!set.test(p)) continue;
                ProvisionResult& pr = r_.provisions[p];
                if (round == 0) {
                    ++pr.findings;
                    ++pr.counts[ti];
                }
                if (!is_listed[i] || pr.examples.size() >= kMaxProvisionExamples) continue;
                if (round == 0 && !type_seen[p][ti]) {
                    type_seen[p][ti] = true;
                    pr.examples.push_back(i);
                } else if (round == 1 && std::find(pr.examples.begin(), pr.examples.end(), i) == pr.examples.end()) {
                    pr.examples.push_back(i);
                }
            }
        }
    }
    for (auto& pr : r_.provisions) std::sort(pr.examples.begin(), pr.examples.end());

    const ReportMeta& m = r_.meta;
    auto count_text = [](const ProvisionResult& pr) {
        std::string s;
        for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
            if (!pr.counts[i]) continue;
            s += (s.empty() ? "" : ", ") + std::to_string(pr.counts[i]) + " " + std::string(core::kFindingTypeNames[i]);
        }
        return s;
    };
    for (auto& pr : r_.provisions) {
        if (pr.findings > 0) {
            pr.verdict = Verdict::fail;
            pr.reason = plural(pr.findings, "finding bears", "findings bear") + " on it: " + count_text(pr) + ".";
            if (pr.id == ProvisionId::en_5_8_2) {
                pr.reason = plural(pr.findings, "finding", "findings") +
                            " sent a sensitive category (occupancy, lock_state, door_state) outside consent: " +
                            count_text(pr) + ".";
            }
            continue;
        }
        switch (pr.id) {
            case ProvisionId::en_6_1:
                pr.verdict = m.messages ? Verdict::pass : Verdict::inconclusive;
                pr.reason = m.messages ? "All " + plural(m.messages, "message", "messages") +
                                             " went to disclosed recipients with data the taxonomy names, true causes "
                                             "and no state-tracking keep-alives."
                                       : "No message was captured: nothing to judge.";
                break;
            case ProvisionId::en_6_2:
            case ProvisionId::en_6_4:
                pr.verdict = m.state_messages ? Verdict::pass : Verdict::inconclusive;
                pr.reason = m.state_messages
                                ? "Every one of " + plural(m.state_messages, "state message", "state messages") +
                                      " was covered by consent at its send and sample time."
                                : "No message carried device state: consent was never put to the test.";
                break;
            case ProvisionId::en_6_3:
            case ProvisionId::gdpr_7_3:
                if (r_.coverage.revocations == 0) {
                    pr.verdict = Verdict::inconclusive;
                    pr.reason = "The run never withdrew consent or unlinked an account: withdrawal was not tested.";
                } else if (r_.coverage.revocations_exercised == 0) {
                    pr.verdict = Verdict::inconclusive;
                    pr.reason = plural(r_.coverage.revocations, "revocation", "revocations") +
                                " in the trace, but no device sent or changed state while one was in force.";
                } else {
                    pr.verdict = Verdict::pass;
                    pr.reason = "Nothing reached a recipient after " +
                                plural(r_.coverage.revocations, "revocation", "revocations") + " (" +
                                std::to_string(r_.coverage.revocations_exercised) + " exercised).";
                }
                break;
            case ProvisionId::en_5_8_2:
                pr.verdict = m.sensitive_messages ? Verdict::pass : Verdict::inconclusive;
                pr.reason = m.sensitive_messages
                                ? "All " + plural(m.sensitive_messages, "message", "messages") +
                                      " with sensitive categories were within consent (transport encryption not "
                                      "assessed)."
                                : "No message carried occupancy, lock_state or door_state: not exercised.";
                break;
        }
    }
    const std::size_t total = findings_.size();
    if (total > 0) {
        r_.verdict = Verdict::fail;
        r_.verdict_reason = plural(total, "finding", "findings") + " on " +
                            plural(r_.aggregates.devices_with_findings, "device", "devices") +
                            ": device state left for partner clouds outside the customer's consent.";
    } else {
        std::string open;
        for (const auto& pr : r_.provisions) {
            if (pr.verdict == Verdict::inconclusive) open += (open.empty() ? "" : ", ") + std::string(kProvisions[static_cast<std::size_t>(pr.id)].label);
        }
        r_.verdict = open.empty() ? Verdict::pass : Verdict::inconclusive;
        r_.verdict_reason = open.empty() ? "No findings: every message was covered by consent, and every provision was tested."
                                         : "No findings, but the run did not test " + open + ".";
    }
}

void Builder::build_axis() {
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    const core::DurationMs span = end_ - start_;
    core::DurationMs minor = 3 * core::kMsPerHour;
    if (span > 2 * core::kMsPerDay) minor = 6 * core::kMsPerHour;
    if (span > 10 * core::kMsPerDay) minor = core::kMsPerDay;
    const bool weekly = span > 60 * core::kMsPerDay;
    // Local offsets are whole quarter hours: scanning quarter hours (hours for long runs) finds
    // every local hour boundary.
    const core::DurationMs step = span > 60 * core::kMsPerDay ? core::kMsPerHour : 15 * core::kMsPerMinute;
    for (TimeMs t = (start_ / step) * step; t < end_; t += step) {
        if (t < start_) continue;
        const auto local = policy_.to_local(t);
        if (local.ms_of_day % minor != 0) continue;
        const bool major = local.ms_of_day == 0;
        if (weekly && !(major && local.weekday == 1)) continue;
        core::DurationMs off = ((local.ms_of_day - t % core::kMsPerDay) % core::kMsPerDay + core::kMsPerDay) % core::kMsPerDay;
        if (off > 14 * core::kMsPerHour) off -= core::kMsPerDay;
        const std::string iso = core::format_rfc3339(t + off);
        AxisMark m;
        m.t = t;
        m.major = major;
        m.label = major ? std::string(kDays[static_cast<std::size_t>(local.weekday) % 7]) + " " + iso.substr(5, 5)
                        : iso.substr(11, 5);
        r_.axis.push_back(std::move(m));
    }
}

core::Result<Report> Builder::build() {
    const auto started = std::chrono::steady_clock::now();
    r_.meta.info = in_.info;
    r_.findings = &findings_;
    r_.meta.timezone = policy_.timezone_name();
    // Observation span: the caller's, else the trace's.
    std::optional<TimeMs> start = in_.info.start, end = in_.info.end;
    if ((r_.meta.info.source.empty() || r_.meta.info.scenario.empty()) && !in_.trace.empty()) {
        auto src = core::open_trace(in_.trace);
        if (!src) return src.error();
        if (r_.meta.info.source.empty()) r_.meta.info.source = (*src)->meta().source;
        if (r_.meta.info.scenario.empty()) r_.meta.info.scenario = (*src)->meta().scenario;
    }
    if ((!start || !end) && !in_.trace.empty()) {
        auto src = core::open_trace(in_.trace);
        if (!src) return src.error();
        if (!start && (*src)->meta().start) start = (*src)->meta().start;
        std::optional<TimeMs> first, last;
        for (;;) {
            auto next = (*src)->next();
            if (!next) return next.error();
            if (!next.value()) break;
            const TimeMs t = next.value()->kind == core::RecordKind::gap ? next.value()->t_end : next.value()->t;
            if (!first) first = next.value()->t;
            last = std::max(last.value_or(t), t);
        }
        if (!start) start = first;
        if (!end) end = last ? *last + 1 : std::optional<TimeMs>{};
    }
    start_ = start.value_or(0);
    end_ = std::max(end.value_or(start_ + core::kMsPerMinute), start_ + 1);
    r_.meta.start = start_;
    r_.meta.end = end_;

    rank_and_select();
    compute_schedule_edges();
    pick_listed();
    for (std::size_t fi : r_.listed) {
        const core::FindingHead& f = findings_[fi];
        wanted_[{f.t, f.line, f.device, f.recipient}].push_back(fi);
        auto evidence = findings_.evidence(fi);
        if (!evidence) return evidence.error();
        r_.evidence.emplace(fi, std::move(*evidence));
    }
    if (auto st = stream(); !st) return st.error();
    for (auto& rank : r_.aggregates.ranked) {
        if (auto it = device_messages_.find(rank.device); it != device_messages_.end()) rank.messages = it->second;
    }
    build_timelines();
    build_coverage();
    build_provisions();
    build_axis();
    r_.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(r_);
}

}  // namespace

core::Result<Report> build_report(const ReportInput& input, const ReportOptions& options) {
    if (!input.policy || !input.taxonomy || !input.findings) {
        return core::Error{"build_report: a policy, a taxonomy and the findings are required"};
    }
    Builder b(input, options);
    return b.build();
}

core::Result<JudgedTrace> judge_trace(const core::Policy& policy, const core::Taxonomy& taxonomy,
                                      const std::filesystem::path& trace, const JudgeOptions& options) {
    auto src = core::open_trace(trace);
    if (!src) return src.error();
    JudgedTrace out;
    if (!options.spill_dir.empty()) {
        auto list = core::FindingList::on_disk(options.spill_dir);
        if (!list) return list.error();
        out.findings = std::move(*list);
    }
    out.meta = (*src)->meta();
    out.oracle = std::make_unique<core::Oracle>(policy, taxonomy);
    out.oracle->begin(out.meta);
    out.oracle->set_sink([&](core::Finding&& f) {
        if (options.keep_findings) (void)out.findings.push_back(std::move(f));  // errors: findings.status()
    });
    bool first = true;
    for (;;) {
        auto next = (*src)->next();
        if (!next) return next.error();
        if (!next.value()) break;
        core::Record& rec = **next;
        if (options.without_lines) rec.line = 0;
        if (first) out.first = rec.t;
        first = false;
        out.last = std::max(out.last, rec.kind == core::RecordKind::gap ? rec.t_end : rec.t);
        if (auto st = out.oracle->feed(rec); !st) return st.error();
        if (!out.findings.status()) return out.findings.status().error();
    }
    (void)out.oracle->finish(options.end);  // the sink got them all
    if (!out.findings.status()) return out.findings.status().error();
    out.findings.sort();
    out.warnings = (*src)->warnings();
    out.stats = out.oracle->stats();
    return out;
}

}  // namespace consentrig::reports
