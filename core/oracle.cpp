#include "core/oracle.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include <simdjson.h>

#include "core/hash.hpp"

namespace consentrig::core {
namespace {

constexpr std::size_t kNoIndex = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kLagBuckets = 20;  ///< side-channel lag histogram resolution

/// Names (device ids, recipients) to dense ids 0, 1, … in the order first seen. One
/// open-addressing table of (hash, id) slots: a lookup reads one slot and, when the hashes
/// match, the name; a node-based map reads a bucket and a node. (Lookups were a tenth of
/// `check`'s time on a 20,000-device trace with std::unordered_map, about half that now.)
class NameIndex {
public:
    static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

    [[nodiscard]] std::uint32_t find(std::string_view name) const {
        if (slots_.empty()) return kNone;
        const std::uint64_t h = hash(name);
        for (std::size_t i = position(h);; i = (i + 1) & mask()) {
            const Slot& slot = slots_[i];
            if (slot.id == kNone) return kNone;
            if (slot.tag == tag(h) && names_[slot.id] == name) return slot.id;
        }
    }
    std::uint32_t intern(std::string_view name) {
        if (const std::uint32_t id = find(name); id != kNone) return id;
        const auto id = static_cast<std::uint32_t>(names_.size());
        names_.emplace_back(name);
        if (2 * names_.size() > slots_.size()) {
            rebuild(std::max<std::size_t>(16, 2 * slots_.size()));  // at most half full
        } else {
            place(id);
        }
        return id;
    }
    [[nodiscard]] const std::string& operator[](std::uint32_t id) const { return names_[id]; }
    [[nodiscard]] std::size_t size() const { return names_.size(); }
    [[nodiscard]] const std::vector<std::string>& names() const { return names_; }

private:
    struct Slot {
        std::uint32_t tag = 0;  ///< the hash's high half
        std::uint32_t id = kNone;
    };
    [[nodiscard]] static std::uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
    [[nodiscard]] static std::uint32_t tag(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32U); }
    [[nodiscard]] std::size_t mask() const { return slots_.size() - 1; }
    [[nodiscard]] std::size_t position(std::uint64_t h) const { return static_cast<std::size_t>(h) & mask(); }
    void place(std::uint32_t id) {
        const std::uint64_t h = hash(names_[id]);
        std::size_t i = position(h);
        while (slots_[i].id != kNone) i = (i + 1) & mask();
        slots_[i] = Slot{tag(h), id};
    }
    void rebuild(std::size_t slots) {
        slots_.assign(slots, Slot{});
        for (std::uint32_t id = 0; id < names_.size(); ++id) place(id);
    }

    std::vector<Slot> slots_;  ///< a power of two in size
    std::vector<std::string> names_;
};

/// A consent or link line, as it bears on one recipient (device-specific or "*").
struct ConsentEvent {
    TimeMs t = 0;
    std::uint64_t order = 0;  ///< processing order, breaks ties between device and "*" lines
    CategorySet categories;   ///< link events: unused
    bool value = false;       ///< granted / linked
    std::uint64_t line = 0;
};

/// The latest event at or before `when` that touches category `c` (all for links), searching
/// the device's own events and the recipient's "*" events.
const ConsentEvent* latest_event(const std::vector<ConsentEvent>& own, const std::vector<ConsentEvent>* wildcard,
                                 TimeMs when, std::optional<Category> c) {
    const ConsentEvent* best = nullptr;
    auto scan = [&](const std::vector<ConsentEvent>& events) {
        for (auto it = events.rbegin(); it != events.rend(); ++it) {
            if (it->t > when) continue;
            if (c && !contains(it->categories, *c)) continue;
            if (!best || it->order > best->order) best = &*it;
            return;  // events are in time order: the first match from the back is the latest
        }
    };
    scan(own);
    if (wildcard) scan(*wildcard);
    return best;
}

struct Interaction {
    TimeMs t = 0;
    std::string via;
    std::uint32_t recipient = 0;  ///< kNoRecipient for physical
};
constexpr std::uint32_t kNoRecipient = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kFewRecipients = 8;       ///< looked up by comparing before hashing
constexpr std::size_t kRecentInteractions = 3;  ///< cause_mismatch evidence lists this many
constexpr std::size_t kPendingKeepBytes = std::size_t{1} << 20;  ///< a held-back slot keeps no bigger buffer

/// What a side-channel finding reports about its hits. Allocated at the first hit: every pair
/// with keep-alives counts messages, few ever have a hit, and a fleet has millions of pairs.
struct SideChannelHits {
    TimeMs first_hit_t = 0;
    std::uint64_t first_hit_line = 0;
    std::string first_hit_body;
    std::string first_hit_format;
    DurationMs lag_min = std::numeric_limits<DurationMs>::max();
    DurationMs lag_max = 0;
    double lag_sum = 0;
    std::array<std::uint64_t, kLagBuckets> lag_hist{};
};

/// Side-channel statistics of one device × recipient.
struct SideChannelStats {
    std::uint64_t messages = 0;  ///< state-free messages
    std::uint64_t hits = 0;      ///< of those, sent within the lag window after an unconsented change
    std::unique_ptr<SideChannelHits> detail;  ///< set from the first hit on
};

struct PairState {
    std::uint32_t recipient = 0;
    std::vector<std::size_t> grants;  ///< indices of grants naming this recipient for this device
    CategorySet listed;               ///< union of their categories
    std::vector<TimeMs> interactions; ///< via this recipient, in time order
    std::vector<ConsentEvent> consent;
    std::vector<ConsentEvent> links;
    SideChannelStats side;
};

struct DeviceState {
    std::string id;
    std::vector<PairState> pairs;  ///< few per device: linear search
    /// Recent interactions with the device, for cause_mismatch: those within the cause
    /// tolerance of the latest, and at least the last three (evidence). Older ones are dropped.
    /// A vector, not a deque: an empty libstdc++ deque already holds 576 bytes.
    std::vector<Interaction> interactions;
    // Truth: a hash per category of the last value, to see changes.
    std::array<std::uint64_t, kCategoryCount> truth_hash{};
    CategorySet truth_known;
    std::uint64_t state_changes = 0;
    TimeMs last_change_t = 0;
    CategorySet last_change;  ///< categories changed at last_change_t
    // Union of [change, change + lag) for the chance rate.
    DurationMs covered_ms = 0;
    TimeMs covered_until = std::numeric_limits<TimeMs>::min();
    TimeMs first_seen = 0;
};

/// log P(X >= k) for X ~ Binomial(n, p), summed in log space (exact, no approximation).
double binomial_upper_tail(std::uint64_t n, std::uint64_t k, double p) {
    if (k == 0) return 1.0;
    if (p <= 0) return 0.0;
    if (p >= 1) return 1.0;
    const double ln_p = std::log(p);
    const double ln_q = std::log1p(-p);
    const double ln_n_fact = std::lgamma(static_cast<double>(n) + 1);
    double max_term = -std::numeric_limits<double>::infinity();
    std::vector<double> terms;
    for (std::uint64_t i = k; i <= n; ++i) {
        const double di = static_cast<double>(i);
        const double term = ln_n_fact - std::lgamma(di + 1) - std::lgamma(static_cast<double>(n - i) + 1) +
                            di * ln_p + static_cast<double>(n - i) * ln_q;
        terms.push_back(term);
        max_term = std::max(max_term, term);
        // Past the mode the terms fall geometrically; stop once they no longer matter.
        if (term < max_term - 50 && di > static_cast<double>(n) * p) break;
    }
    double sum = 0;
    for (double term : terms) sum += std::exp(term - max_term);
    return std::min(1.0, std::exp(max_term + std::log(sum)));
}

/// " (line N)" for records read from a file; generated records have no line.
std::string line_ref(std::uint64_t line) { return line ? " (line " + std::to_string(line) + ")" : std::string(); }

std::optional<std::string> interaction_channel(const std::string& cause) {
    if (cause == "VOICE_INTERACTION") return "voice";
    if (cause == "APP_INTERACTION") return "app";
    if (cause == "PHYSICAL_INTERACTION") return "physical";
    return std::nullopt;
}

nlohmann::json parse_or_text(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_discarded() ? nlohmann::json(std::string(text)) : j;
}

/// An egress record as the judging path reads it.
struct Egress {
    TimeMs t = 0;
    std::uint64_t line = 0;
    std::string_view device, recipient, format, payload;
};

/// An egress held back until the state lines of its millisecond are in: its strings in one
/// buffer, so that holding a message back is one copy, and a reused slot allocates nothing.
struct PendingEgress {
    TimeMs t = 0;
    std::uint64_t line = 0;
    std::size_t device_len = 0, recipient_len = 0, format_len = 0, length = 0;
    std::string text;  ///< device, recipient, format and payload, end to end: the first `length` bytes

    void assign(const Record& r) {
        t = r.t;
        line = r.line;
        device_len = r.device.size();
        recipient_len = r.recipient.size();
        format_len = r.format.size();
        length = device_len + recipient_len + format_len + r.payload.size();
        if (text.size() < length) text.resize(length);
        char* out = text.data();
        for (const std::string* part : {&r.device, &r.recipient, &r.format, &r.payload}) {
            if (!part->empty()) std::memcpy(out, part->data(), part->size());
            out += part->size();
        }
    }
    [[nodiscard]] Egress view() const {
        const std::string_view all(text.data(), length);
        return Egress{t, line, all.substr(0, device_len), all.substr(device_len, recipient_len),
                      all.substr(device_len + recipient_len, format_len),
                      all.substr(device_len + recipient_len + format_len)};
    }
};

nlohmann::json categories_json(const CategorySet& set) {
    if (set.all()) return nlohmann::json::array({"all"});
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < kCategoryCount; ++i) {
        if (set.test(i)) out.push_back(kCategoryNames[i]);
    }
    return out;
}

}  // namespace

struct Oracle::Impl {
    const Policy& policy;
    const Taxonomy& taxonomy;
    OracleOptions options;
    std::function<void(Finding&&)> sink;
    std::vector<Finding> collected;
    Stats stats;

    std::optional<TimeMs> start;
    TimeMs last_t = std::numeric_limits<TimeMs>::min();
    std::uint64_t last_line = 0;
    std::uint64_t order = 0;

    NameIndex device_names;
    std::vector<DeviceState> devices;
    NameIndex recipient_names;
    /// Per recipient id: events of consent/link lines with device "*".
    std::vector<std::vector<ConsentEvent>> wildcard_consent;
    std::vector<std::vector<ConsentEvent>> wildcard_links;

    /// Egress of the current millisecond, judged after its state lines: the first
    /// `pending_count` slots. Slots are reused (assigned over), so their strings keep their
    /// capacity and a message costs no allocation.
    std::vector<PendingEgress> pending;
    std::size_t pending_count = 0;
    simdjson::dom::parser truth_parser;
    MessageSummary summary;  ///< reused for every message

    /// The last device looked up: traffic comes in runs, and a string compare is cheaper than a
    /// hash lookup.
    std::uint32_t last_device = std::numeric_limits<std::uint32_t>::max();

    /// Per grant, for the judging path: `from`/`until` resolved against the trace start, and the
    /// schedule answer for the last time asked (the categories of a message ask it at one time).
    struct GrantCache {
        bool resolved = false;
        TimeMs origin = 0;  ///< the trace start they were resolved against
        std::optional<TimeMs> from, until;
        TimeMs schedule_t = std::numeric_limits<TimeMs>::min();
        bool schedule_holds = false;
    };
    std::vector<GrantCache> grant_cache;

    Impl(const Policy& p, const Taxonomy& t, OracleOptions o) : policy(p), taxonomy(t), options(o) {}

    void emit(Finding&& f) {
        if (sink) sink(std::move(f));
        else collected.push_back(std::move(f));
    }

    std::uint32_t recipient_id(std::string_view name) {
        // Traces name a handful of recipients, and messages alternate between them: compare
        // with the first few before hashing.
        const std::size_t few = std::min<std::size_t>(recipient_names.size(), kFewRecipients);
        for (std::size_t i = 0; i < few; ++i) {
            if (recipient_names[i] == name) return static_cast<std::uint32_t>(i);
        }
        const auto id = recipient_names.intern(name);
        if (wildcard_consent.size() <= id) {
            wildcard_consent.resize(id + 1);
            wildcard_links.resize(id + 1);
        }
        return id;
    }

    DeviceState& device(std::string_view name, TimeMs t) {
        if (last_device < devices.size() && device_names[last_device] == name) return devices[last_device];
        const auto id = device_names.intern(name);
        last_device = id;
        if (devices.size() <= id) {
            devices.resize(id + 1);
            devices[id].id = std::string(name);
            devices[id].first_seen = start.value_or(t);
        }
        return devices[id];
    }

    PairState& pair(DeviceState& dev, std::uint32_t recipient) {
        for (auto& p : dev.pairs) {
            if (p.recipient == recipient) return p;
        }
        // Grown one at a time: a device has two to four recipients, and doubling would leave a
        // spare PairState in most of a fleet's millions of devices.
        if (dev.pairs.size() == dev.pairs.capacity()) dev.pairs.reserve(dev.pairs.size() + 1);
        PairState& p = dev.pairs.emplace_back();
        p.recipient = recipient;
        collect_grants(p, dev.id, recipient_names[recipient]);
        return p;
    }

    void collect_grants(PairState& p, std::string_view device, std::string_view recipient) const {
        const auto& grants = policy.grants();
        for (std::size_t i = 0; i < grants.size(); ++i) {
            if (grants[i].recipient == recipient && grants[i].applies_to_device(device)) {
                p.grants.push_back(i);
                p.listed |= grants[i].categories;
            }
        }
    }

    // ---- consent state -------------------------------------------------------------------

    [[nodiscard]] const ConsentEvent* unlink_event(const PairState& p, TimeMs when) const {
        const ConsentEvent* e = latest_event(p.links, &wildcard_links[p.recipient], when, std::nullopt);
        return (e && !e->value) ? e : nullptr;
    }

    [[nodiscard]] const ConsentEvent* withdrawal(const PairState& p, Category c, TimeMs when) const {
        const ConsentEvent* e = latest_event(p.consent, &wildcard_consent[p.recipient], when, c);
        return (e && !e->value) ? e : nullptr;
    }

    [[nodiscard]] std::optional<TimeMs> last_interaction(const PairState& p, TimeMs when) const {
        if (p.interactions.empty()) return std::nullopt;
        if (p.interactions.back() <= when) return p.interactions.back();  // judging: the usual case
        auto it = std::upper_bound(p.interactions.begin(), p.interactions.end(), when);
        if (it == p.interactions.begin()) return std::nullopt;
        return *std::prev(it);
    }

    /// Whether the grant's validity and basis hold at `when` (categories and withdrawals aside).
    [[nodiscard]] bool basis_holds(const Grant& g, const PairState& p, TimeMs when) const {
        const TimeMs origin = start.value_or(when);
        if (auto from = g.from.resolve(origin); from && when < *from) return false;
        if (auto until = g.until.resolve(origin); until && when >= *until) return false;
        switch (g.basis) {
            case Basis::always: return true;
            case Basis::never: return false;
            case Basis::schedule: return policy.in_schedule(g, when);
            case Basis::interaction: {
                const auto last = last_interaction(p, when);
                return last && when < *last + g.within_ms;
            }
        }
        return false;
    }

    [[nodiscard]] bool covered(const PairState& p, Category c, TimeMs when) const {
        if (withdrawal(p, c, when)) return false;
        for (std::size_t gi : p.grants) {
            const Grant& g = policy.grants()[gi];
            if (contains(g.categories, c) && basis_holds(g, p, when)) return true;
        }
        return false;
    }

    /// covered(), for judging (the trace start is known): the same answer, with the grants'
    /// bounds resolved once and schedule answers reused within a millisecond.
    [[nodiscard]] bool covered_judging(const PairState& p, Category c, TimeMs when, bool withdrawal_checked = false) {
        if (!withdrawal_checked && withdrawal(p, c, when)) return false;
        if (grant_cache.size() != policy.grants().size()) grant_cache.assign(policy.grants().size(), GrantCache{});
        for (std::size_t gi : p.grants) {
            const Grant& g = policy.grants()[gi];
            if (!contains(g.categories, c)) continue;
            GrantCache& gc = grant_cache[gi];
            if (!gc.resolved || gc.origin != *start) {
                gc.from = g.from.resolve(*start);
                gc.until = g.until.resolve(*start);
                gc.origin = *start;
                gc.resolved = true;
            }
            if (gc.from && when < *gc.from) continue;
            if (gc.until && when >= *gc.until) continue;
            bool holds = false;
            switch (g.basis) {
                case Basis::always: holds = true; break;
                case Basis::never: holds = false; break;
                case Basis::schedule:
                    if (gc.schedule_t != when) {
                        gc.schedule_t = when;
                        gc.schedule_holds = policy.in_schedule(g, when);
                    }
                    holds = gc.schedule_holds;
                    break;
                case Basis::interaction: {
                    const auto last = last_interaction(p, when);
                    holds = last && when < *last + g.within_ms;
                    break;
                }
            }
            if (holds) return true;
        }
        return false;
    }

    /// Why a grant does or does not cover `c` at `when`, in words, for evidence.
    [[nodiscard]] nlohmann::json explain_grant(const Grant& g, const PairState& p, Category c, TimeMs when) const {
        nlohmann::json j;
        j["recipient"] = g.recipient;
        j["where"] = to_string(g.where);
        j["basis"] = to_string(g.basis);
        j["categories"] = categories_json(g.categories);
        if (g.from.kind != TimeBound::Kind::none) j["from"] = g.from.text;
        if (g.until.kind != TimeBound::Kind::none) j["until"] = g.until.text;
        if (g.basis == Basis::interaction) j["within_ms"] = g.within_ms;
        if (g.basis == Basis::schedule) {
            nlohmann::json w = nlohmann::json::array();
            for (const auto& win : g.windows) w.push_back(win.text);
            j["windows"] = std::move(w);
        }
        const TimeMs origin = start.value_or(when);
        std::string why;
        bool holds = false;
        if (!contains(g.categories, c)) {
            why = "does not list " + std::string(to_string(c));
        } else if (auto from = g.from.resolve(origin); from && when < *from) {
            why = "not yet valid: starts " + format_rfc3339(*from);
        } else if (auto until = g.until.resolve(origin); until && when >= *until) {
            why = "ended " + format_rfc3339(*until);
        } else if (g.basis == Basis::never) {
            why = "basis is never";
        } else if (g.basis == Basis::schedule && !policy.in_schedule(g, when)) {
            const auto local = policy.to_local(when);
            static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
            char buf[48];
            std::snprintf(buf, sizeof buf, "%s %02d:%02d:%02d.%03d", kDays[static_cast<std::size_t>(local.weekday) % 7],
                          static_cast<int>(local.ms_of_day / kMsPerHour),
                          static_cast<int>(local.ms_of_day % kMsPerHour / kMsPerMinute),
                          static_cast<int>(local.ms_of_day % kMsPerMinute / kMsPerSecond),
                          static_cast<int>(local.ms_of_day % kMsPerSecond));
            why = "outside its schedule windows (local time " + std::string(buf) + " " + policy.timezone_name() + ")";
        } else if (g.basis == Basis::interaction && !basis_holds(g, p, when)) {
            const auto last = last_interaction(p, when);
            why = last ? "last interaction via " + recipient_names[p.recipient] + " was " + format_rfc3339(*last) +
                             ", window ended " + format_rfc3339(*last + g.within_ms)
                       : "no interaction via " + recipient_names[p.recipient] + " before this time";
        } else {
            holds = true;
            why = "covers";
        }
        j["holds"] = holds;
        j["why"] = why;
        return j;
    }

    [[nodiscard]] nlohmann::json consent_state(const PairState& p, Category c, TimeMs when) const {
        nlohmann::json j;
        const ConsentEvent* unlinked = unlink_event(p, when);
        j["linked"] = unlinked == nullptr;
        if (unlinked) {
            j["unlinked_at"] = format_rfc3339(unlinked->t);
            if (unlinked->line) j["unlinked_line"] = unlinked->line;
        }
        if (const ConsentEvent* w = withdrawal(p, c, when)) {
            j["withdrawn_at"] = format_rfc3339(w->t);
            if (w->line) j["withdrawn_line"] = w->line;
        }
        nlohmann::json grants = nlohmann::json::array();
        for (std::size_t gi : p.grants) grants.push_back(explain_grant(policy.grants()[gi], p, c, when));
        j["grants"] = std::move(grants);
        return j;
    }

    // ---- records -------------------------------------------------------------------------

    void apply_consent(const Record& r, bool is_link) {
        const std::uint32_t rid = recipient_id(r.recipient);
        ConsentEvent e{r.t, ++order, r.categories, r.flag, r.line};
        if (r.device == "*") {
            (is_link ? wildcard_links : wildcard_consent)[rid].push_back(e);
            return;
        }
        PairState& p = pair(device(r.device, r.t), rid);
        (is_link ? p.links : p.consent).push_back(e);
    }

    void apply_interaction(const Record& r) {
        DeviceState& dev = device(r.device, r.t);
        std::uint32_t rid = kNoRecipient;
        if (!r.recipient.empty()) {
            rid = recipient_id(r.recipient);
            pair(dev, rid).interactions.push_back(r.t);
        }
        dev.interactions.push_back(Interaction{r.t, r.via, rid});
        // Records come in time order: later messages never look further back than this.
        auto keep = dev.interactions.begin();
        while (dev.interactions.end() - keep > static_cast<std::ptrdiff_t>(kRecentInteractions) &&
               keep->t < r.t - options.cause_tolerance_ms) {
            ++keep;
        }
        dev.interactions.erase(dev.interactions.begin(), keep);
    }

    void apply_truth(const Record& r) {
        DeviceState& dev = device(r.device, r.t);
        simdjson::dom::element root;
        if (truth_parser.parse(r.payload).get(root) != simdjson::SUCCESS) return;
        simdjson::dom::object obj;
        if (root.get_object().get(obj) != simdjson::SUCCESS) return;
        CategorySet changed;
        for (auto field : obj) {
            const auto c = category_from_string(field.key);
            if (!c) continue;
            const std::uint64_t h = fnv1a64(simdjson::minify(field.value));
            const auto i = static_cast<std::size_t>(*c);
            if (dev.truth_known.test(i) && dev.truth_hash[i] != h) changed.set(i);
            dev.truth_known.set(i);
            dev.truth_hash[i] = h;
        }
        if (changed.none()) return;
        ++dev.state_changes;
        dev.last_change_t = r.t;
        dev.last_change = changed;
        const TimeMs end = r.t + options.side_channel_lag_ms;
        const TimeMs begin = std::max(r.t, dev.covered_until);
        if (end > begin) dev.covered_ms += end - begin;
        dev.covered_until = std::max(dev.covered_until, end);
    }

    void judge_side_channel_message(DeviceState& dev, PairState& p, const Egress& r) {
        SideChannelStats& s = p.side;
        ++s.messages;
        if (dev.state_changes == 0) return;
        const DurationMs lag = r.t - dev.last_change_t;
        if (lag < 0 || lag >= options.side_channel_lag_ms) return;
        // Only changes the recipient may not know about count: some changed category uncovered.
        bool unconsented = false;
        for (std::size_t i = 0; i < kCategoryCount && !unconsented; ++i) {
            if (dev.last_change.test(i) && !covered_judging(p, static_cast<Category>(i), r.t)) unconsented = true;
        }
        if (!unconsented) return;
        if (!s.detail) {
            s.detail = std::make_unique<SideChannelHits>();
            s.detail->first_hit_t = r.t;
            s.detail->first_hit_line = r.line;
            s.detail->first_hit_body = r.payload;
            s.detail->first_hit_format = r.format;
        }
        ++s.hits;
        SideChannelHits& d = *s.detail;
        d.lag_min = std::min(d.lag_min, lag);
        d.lag_max = std::max(d.lag_max, lag);
        d.lag_sum += static_cast<double>(lag);
        const auto bucket = static_cast<std::size_t>(lag * static_cast<DurationMs>(kLagBuckets) / options.side_channel_lag_ms);
        ++d.lag_hist[std::min(bucket, kLagBuckets - 1)];
    }

    Finding base_finding(FindingType type, const DeviceState& dev, const PairState& p, const Egress& r) const {
        Finding f;
        f.type = type;
        f.device = dev.id;
        f.recipient = recipient_names[p.recipient];
        f.t = r.t;
        f.line = r.line;
        return f;
    }

    nlohmann::json message_evidence(const Egress& r, const DecodedMessage& msg) const {
        nlohmann::json j;
        j["message"] = parse_or_text(r.payload);
        j["format"] = std::string(r.format);
        if (r.line) j["line"] = r.line;
        j["sent"] = format_rfc3339(r.t);
        nlohmann::json fields = nlohmann::json::array();
        for (const auto& field : msg.fields) {
            nlohmann::json fj;
            fj["path"] = field.path;
            fj["key"] = field.key;
            fj["category"] = field.category ? nlohmann::json(to_string(*field.category)) : nlohmann::json(nullptr);
            fj["value"] = parse_or_text(field.value_json);
            if (field.sample_time) fj["sample_time"] = format_rfc3339(*field.sample_time);
            fields.push_back(std::move(fj));
        }
        j["fields"] = std::move(fields);
        if (msg.cause) j["cause"] = *msg.cause;
        return j;
    }

    /// The message being judged. The clean path reads only `summary`; a finding asks for the
    /// fields' text (a second decode, once per message).
    struct Message {
        const Impl& oracle;
        const Egress& r;
        const MessageSummary& summary;
        std::optional<DecodedMessage> decoded;

        const DecodedMessage& full() {
            if (!decoded) decoded = oracle.taxonomy.decode(r.format, r.payload);
            return *decoded;
        }
    };

    /// The findings of the message being judged, their evidence holding only what is particular
    /// to each; emitted in order by emit_message_findings.
    std::vector<Finding> message_findings;

    /// Gives each finding of the message the evidence they share (message_evidence, built once)
    /// under its own keys — the last one takes it without a copy — and emits them in order.
    void emit_message_findings(Message& msg) {
        if (message_findings.empty()) return;
        nlohmann::json shared = message_evidence(msg.r, msg.full());
        for (std::size_t i = 0; i < message_findings.size(); ++i) {
            Finding& f = message_findings[i];
            nlohmann::json evidence = i + 1 == message_findings.size() ? std::move(shared) : shared;
            for (auto& [key, value] : f.evidence.items()) evidence[key] = std::move(value);
            f.evidence = std::move(evidence);
            emit(std::move(f));
        }
        message_findings.clear();
    }

    void judge_egress(const Egress& r) {
        ++stats.messages;
        DeviceState& dev = device(r.device, r.t);
        PairState& p = pair(dev, recipient_id(r.recipient));
        taxonomy.summarize(r.format, r.payload, summary);
        const MessageSummary& sum = summary;
        Message msg{*this, r, sum, std::nullopt};

        if (!sum.error.empty()) {
            // A body the format cannot read is reported, not dropped.
            Finding f = base_finding(FindingType::unclassified, dev, p, r);
            f.field = "body";
            f.evidence["field"] = f.field;
            f.evidence["reason"] = "the " + std::string(r.format) + " body could not be decoded: " + sum.error;
            message_findings.push_back(std::move(f));
        }
        if (sum.unclassified) {
            for (const auto& field : msg.full().fields) {
                if (field.category) continue;
                Finding f = base_finding(FindingType::unclassified, dev, p, r);
                f.field = field.path.empty() ? field.key : field.path;
                f.evidence["field"] = f.field;
                f.evidence["key"] = field.key;
                f.evidence["reason"] = "the taxonomy has no category for " + field.key;
                message_findings.push_back(std::move(f));
            }
        }

        if (sum.fields.empty() && sum.error.empty()) judge_side_channel_message(dev, p, r);
        for (std::size_t i = 0; i < kCategoryCount; ++i) {
            if (sum.categories.test(i)) judge_category(dev, p, msg, static_cast<Category>(i));
        }
        if (sum.has_cause) judge_cause(dev, p, msg);
        emit_message_findings(msg);
    }

    void judge_category(const DeviceState& dev, const PairState& p, Message& msg, Category c) {
        const Egress& r = msg.r;
        std::optional<FindingType> type;
        std::optional<TimeMs> stale_ts;
        const ConsentEvent* unlinked = unlink_event(p, r.t);
        const ConsentEvent* withdrawn = unlinked ? nullptr : withdrawal(p, c, r.t);
        if (unlinked || withdrawn) {
            type = FindingType::after_revocation;
        } else if (p.grants.empty()) {
            type = FindingType::unconsented_recipient;
        } else if (!contains(p.listed, c)) {
            type = FindingType::outside_scope;
        } else if (!covered_judging(p, c, r.t, /*withdrawal_checked=*/true)) {
            type = FindingType::out_of_window;
        } else {
            for (const auto& field : msg.summary.fields) {
                if (field.category != c || !field.sample_time) continue;
                if (!covered_judging(p, c, *field.sample_time)) {
                    type = FindingType::stale_sample;
                    stale_ts = field.sample_time;
                    break;
                }
            }
        }
        if (!type) return;
        const std::string cname(to_string(c));
        const std::string& rname = recipient_names[p.recipient];
        std::string reason;
        switch (*type) {
            case FindingType::after_revocation:
                reason = unlinked ? rname + " was unlinked at " + format_rfc3339(unlinked->t) + line_ref(unlinked->line)
                                  : "consent for " + cname + " to " + rname + " was withdrawn at " +
                                        format_rfc3339(withdrawn->t) + line_ref(withdrawn->line) + " and not granted again";
                break;
            case FindingType::unconsented_recipient: reason = "no grant names " + rname + " for device " + dev.id; break;
            case FindingType::outside_scope:
                reason = rname + " has grants for " + dev.id + ", but none lists " + cname;
                break;
            case FindingType::out_of_window:
                reason = "no grant covers " + cname + " to " + rname + " at " + format_rfc3339(r.t);
                break;
            default:
                reason = cname + " sampled at " + format_rfc3339(*stale_ts) +
                         ", when no grant covered it, was sent inside a window at " + format_rfc3339(r.t);
        }
        Finding f = base_finding(*type, dev, p, r);
        f.category = c;
        TimeMs sampled = r.t;
        for (const auto& field : msg.summary.fields) {
            if (field.category == c && field.sample_time) {
                sampled = *field.sample_time;
                break;
            }
        }
        if (stale_ts) sampled = *stale_ts;
        f.evidence["sampled"] = format_rfc3339(sampled);
        f.evidence["consent_at_send"] = consent_state(p, c, r.t);
        if (stale_ts) f.evidence["consent_at_sample"] = consent_state(p, c, *stale_ts);
        f.evidence["reason"] = reason;
        message_findings.push_back(std::move(f));
    }

    void judge_cause(const DeviceState& dev, const PairState& p, Message& msg) {
        const Egress& r = msg.r;
        const std::string& cause = msg.summary.cause;
        const auto channel = interaction_channel(cause);
        if (!channel) return;
        const bool needs_recipient = *channel != "physical";
        const TimeMs earliest = r.t - options.cause_tolerance_ms;
        for (auto it = dev.interactions.rbegin(); it != dev.interactions.rend(); ++it) {
            if (it->t < earliest) break;
            if (it->t > r.t) continue;
            if (it->via != *channel) continue;
            if (needs_recipient && it->recipient != p.recipient) continue;
            return;  // supported
        }
        Finding f = base_finding(FindingType::cause_mismatch, dev, p, r);
        f.evidence["declared_cause"] = cause;
        f.evidence["tolerance_ms"] = options.cause_tolerance_ms;
        nlohmann::json recent = nlohmann::json::array();
        for (auto it = dev.interactions.rbegin(); it != dev.interactions.rend() && recent.size() < kRecentInteractions;
             ++it) {
            if (it->t > r.t) continue;
            nlohmann::json ij;
            ij["t"] = format_rfc3339(it->t);
            ij["via"] = it->via;
            ij["recipient"] = it->recipient == kNoRecipient ? nlohmann::json(nullptr)
                                                             : nlohmann::json(recipient_names[it->recipient]);
            recent.push_back(std::move(ij));
        }
        f.evidence["recent_interactions"] = std::move(recent);
        f.evidence["reason"] = "declares " + cause + " but no " + *channel + " interaction" +
                               (needs_recipient ? " via " + recipient_names[p.recipient] : std::string()) +
                               " with " + dev.id + " in the " + format_duration(options.cause_tolerance_ms) +
                               " before it";
        message_findings.push_back(std::move(f));
    }

    void add_pending(const Record& r) {
        if (pending_count == pending.size()) pending.emplace_back();
        pending[pending_count++].assign(r);
    }

    void flush_pending() {
        for (std::size_t i = 0; i < pending_count; ++i) {
            judge_egress(pending[i].view());
            // A huge message once must not keep its buffer for good.
            if (pending[i].text.size() > kPendingKeepBytes) std::string().swap(pending[i].text);
        }
        pending_count = 0;
    }

    void judge_side_channels(TimeMs end) {
        for (DeviceState& dev : devices) {
            const double span = static_cast<double>(std::max<TimeMs>(end - dev.first_seen, 1));
            const double chance = std::min(1.0, static_cast<double>(dev.covered_ms) / span);
            for (PairState& p : dev.pairs) {
                const SideChannelStats& stats = p.side;
                if (stats.hits == 0 || stats.hits < options.side_channel_min_hits || chance <= 0 || chance >= 1) continue;
                const SideChannelHits& s = *stats.detail;
                const double observed = static_cast<double>(stats.hits) / static_cast<double>(stats.messages);
                const double p_value = binomial_upper_tail(stats.messages, stats.hits, chance);
                if (p_value >= options.side_channel_alpha || observed <= chance) continue;
                Finding f;
                f.type = FindingType::side_channel;
                f.device = dev.id;
                f.recipient = recipient_names[p.recipient];
                f.t = s.first_hit_t;
                f.line = s.first_hit_line;
                nlohmann::json e;
                e["state_free_messages"] = stats.messages;
                e["following_unconsented_change"] = stats.hits;
                e["state_changes"] = dev.state_changes;
                e["lag_window_ms"] = options.side_channel_lag_ms;
                e["observation_ms"] = static_cast<std::int64_t>(span);
                e["chance_rate"] = chance;
                e["observed_rate"] = observed;
                e["lift"] = observed / chance;
                e["test"] = "one-sided exact binomial: P(X >= hits | n = messages, p = chance_rate)";
                e["p_value"] = p_value;
                e["alpha"] = options.side_channel_alpha;
                nlohmann::json lag;
                lag["min_ms"] = s.lag_min;
                lag["mean_ms"] = s.lag_sum / static_cast<double>(stats.hits);
                lag["max_ms"] = s.lag_max;
                nlohmann::json hist = nlohmann::json::array();
                const DurationMs width = options.side_channel_lag_ms / static_cast<DurationMs>(kLagBuckets);
                for (std::size_t b = 0; b < kLagBuckets; ++b) {
                    if (s.lag_hist[b] == 0) continue;
                    hist.push_back({{"from_ms", static_cast<DurationMs>(b) * width},
                                    {"to_ms", static_cast<DurationMs>(b + 1) * width},
                                    {"count", s.lag_hist[b]}});
                }
                lag["histogram"] = std::move(hist);
                e["lag"] = std::move(lag);
                e["first_message"] = parse_or_text(s.first_hit_body);
                e["format"] = s.first_hit_format;
                if (s.first_hit_line) e["line"] = s.first_hit_line;
                e["reason"] = std::to_string(stats.hits) + " of " + std::to_string(stats.messages) +
                              " state-free messages to " + f.recipient + " followed an unconsented state change within " +
                              format_duration(options.side_channel_lag_ms) + "; chance would give " +
                              std::to_string(static_cast<int>(std::lround(chance * 1000))) + "‰";
                f.evidence = std::move(e);
                emit(std::move(f));
            }
        }
    }
};

Oracle::Oracle(const Policy& policy, const Taxonomy& taxonomy, OracleOptions options)
    : impl_(std::make_unique<Impl>(policy, taxonomy, options)) {}
Oracle::~Oracle() = default;

void Oracle::begin(const TraceMeta& meta) {
    if (meta.start) impl_->start = meta.start;
}

void Oracle::set_sink(std::function<void(Finding&&)> sink) { impl_->sink = std::move(sink); }

const Oracle::Stats& Oracle::stats() const { return impl_->stats; }

namespace {
const PairState* find_pair(const std::vector<DeviceState>& devices, const NameIndex& device_names,
                           const NameIndex& recipient_names, std::string_view device, std::string_view recipient) {
    const std::uint32_t d = device_names.find(device);
    const std::uint32_t r = recipient_names.find(recipient);
    if (d == NameIndex::kNone || r == NameIndex::kNone || d >= devices.size()) return nullptr;
    for (const auto& p : devices[d].pairs) {
        if (p.recipient == r) return &p;
    }
    return nullptr;
}
}  // namespace

bool Oracle::consented_at(std::string_view device, std::string_view recipient, Category c, TimeMs t) const {
    if (const PairState* p = find_pair(impl_->devices, impl_->device_names, impl_->recipient_names, device, recipient)) {
        return !impl_->unlink_event(*p, t) && impl_->covered(*p, c, t);
    }
    // Nothing in the trace touched this pair: only the policy and "*" lines bear on it.
    const std::uint32_t r = impl_->recipient_names.find(recipient);
    if (r == NameIndex::kNone) {
        PairState p;
        impl_->collect_grants(p, device, recipient);
        for (std::size_t gi : p.grants) {
            const Grant& g = impl_->policy.grants()[gi];
            if (contains(g.categories, c) && impl_->basis_holds(g, p, t)) return true;
        }
        return false;
    }
    PairState p;
    p.recipient = r;
    impl_->collect_grants(p, device, recipient);
    return !impl_->unlink_event(p, t) && impl_->covered(p, c, t);
}

bool Oracle::linked_at(std::string_view device, std::string_view recipient, TimeMs t) const {
    const PairState* p = find_pair(impl_->devices, impl_->device_names, impl_->recipient_names, device, recipient);
    if (p) return impl_->unlink_event(*p, t) == nullptr;
    const std::uint32_t r = impl_->recipient_names.find(recipient);
    if (r == NameIndex::kNone) return true;
    const ConsentEvent* e = latest_event({}, &impl_->wildcard_links[r], t, std::nullopt);
    return !e || e->value;
}

std::vector<TimeMs> Oracle::interactions(std::string_view device, std::string_view recipient) const {
    const PairState* p = find_pair(impl_->devices, impl_->device_names, impl_->recipient_names, device, recipient);
    return p ? p->interactions : std::vector<TimeMs>{};
}

std::vector<std::string> Oracle::recipients(std::string_view device) const {
    std::vector<std::string> out;
    for (const auto& g : impl_->policy.grants()) {
        if (g.applies_to_device(device)) out.push_back(g.recipient);
    }
    if (const std::uint32_t d = impl_->device_names.find(device); d != NameIndex::kNone && d < impl_->devices.size()) {
        for (const auto& p : impl_->devices[d].pairs) out.push_back(impl_->recipient_names[p.recipient]);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::string> Oracle::devices() const {
    std::vector<std::string> out = impl_->device_names.names();
    std::sort(out.begin(), out.end());
    return out;
}

Status Oracle::feed(const Record& r) {
    Impl& m = *impl_;
    ++m.stats.records;
    if (r.kind == RecordKind::meta) return {};
    if (r.kind == RecordKind::gap) {
        ++m.stats.gaps;
        return {};
    }
    if (r.t < m.last_t) {
        return Error{"line " + std::to_string(r.line) + ": time goes backwards: " + format_rfc3339(r.t) +
                     " after " + format_rfc3339(m.last_t) + " (line " + std::to_string(m.last_line) +
                     "); trace lines must be in time order"};
    }
    if (!m.start) m.start = r.t;
    if (r.t > m.last_t) m.flush_pending();
    m.last_t = r.t;
    m.last_line = r.line;
    switch (r.kind) {
        case RecordKind::egress: m.add_pending(r); break;
        case RecordKind::interaction: m.apply_interaction(r); break;
        case RecordKind::consent: m.apply_consent(r, false); break;
        case RecordKind::link: m.apply_consent(r, true); break;
        case RecordKind::truth: m.apply_truth(r); break;
        case RecordKind::meta:
        case RecordKind::gap: break;
    }
    return {};
}

void Oracle::advance(TimeMs t) {
    Impl& m = *impl_;
    if (!m.start || t <= m.last_t) return;
    m.flush_pending();
    m.last_t = t;
}

std::vector<Finding> Oracle::finish(std::optional<TimeMs> end) {
    Impl& m = *impl_;
    m.flush_pending();
    m.judge_side_channels(end.value_or(m.last_t));
    std::vector<Finding> out = std::move(m.collected);
    m.collected.clear();
    std::stable_sort(out.begin(), out.end(), finding_less);
    return out;
}

Result<CheckResult> check_trace(const Policy& policy, const Taxonomy& taxonomy, TraceSource& source,
                                OracleOptions options, const std::function<void(std::uint64_t)>& progress,
                                FindingList findings) {
    CheckResult result;
    result.findings = std::move(findings);
    result.meta = source.meta();
    Oracle oracle(policy, taxonomy, options);
    oracle.begin(result.meta);
    oracle.set_sink([&](Finding&& f) { (void)result.findings.push_back(std::move(f)); });  // errors: findings.status()
    Record record;  // refilled record after record (nothing allocated per record once grown)
    for (;;) {
        auto more = source.next(record);
        if (!more) return more.error();
        if (!*more) break;
        if (Status s = oracle.feed(record); !s) return s.error();
        if (!result.findings.status()) return result.findings.status().error();
        if (progress && oracle.stats().records % kProgressRecords == 0) progress(oracle.stats().records);
    }
    (void)oracle.finish();  // the sink got them all
    if (!result.findings.status()) return result.findings.status().error();
    result.findings.sort();
    result.warnings = source.warnings();
    result.stats = oracle.stats();
    result.devices = oracle.devices();
    return result;
}

}  // namespace consentrig::core
