#pragma once
/// gui/consent_timeline.hpp — the live consent timeline of one board: per recipient × category,
/// when consent held, each message carrying the category (a tick), and each leak — the picture
/// the HTML report draws (reports/html.cpp), built as the capture arrives.
///
/// It decides nothing: whether consent held at an instant is core::Oracle::consented_at /
/// linked_at, asked by a ConsentSampler at every consent, link and interaction record and at
/// every release of the capture; when the answer changed between two such instants, the edge (a
/// window running out, a schedule boundary) is found to the millisecond by bisection over the
/// same queries. Leaks are the oracle's findings.
///
/// Two halves, so the oracle is only ever asked from the thread that feeds it: the sampler sits
/// beside the oracle (the controller's capture worker, gui/capture_judge.hpp) and hands over
/// the edges it found (TimelineSample); the timeline, on the GUI thread, applies them. Which categories a recipient's lane shows follows the report
/// (reports/model.cpp): what its grants list (`all`: what the board reported or sent) and what
/// it was sent.
///
/// Bounded: ticks are capped per band (the oldest leave first) and everything older than
/// kHorizonMs is dropped; the trace on disk keeps it all (`consentrig report` draws the whole).
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/category.hpp"
#include "core/findings.hpp"
#include "core/oracle.hpp"
#include "core/policy.hpp"
#include "core/trace.hpp"
#include "gui/live_state.hpp"

namespace consentrig::gui {

struct TimelineBand {
    std::deque<TimeInterval> consent;  ///< the last may be open (to == kOpenEnd)
    std::deque<core::TimeMs> sends;    ///< messages carrying the category
    std::deque<core::TimeMs> leaks;    ///< findings on the category (send time)
    bool held = false;                 ///< consent holds at the latest sample
};

struct TimelineMark {
    core::TimeMs t = 0;
    std::string text;  ///< "unlinked", "linked", "withdrawn: temperature", "granted: all"
    bool revokes = false;
};

struct TimelineLane {
    std::string recipient;
    core::CategorySet shown;      ///< bands drawn
    core::CategorySet listed;     ///< the policy's grants for this recipient (`all` kept as all)
    core::CategorySet sent;       ///< categories sent to it
    std::array<TimelineBand, core::kCategoryCount> bands{};
    TimelineBand strip;           ///< state-free messages; leaks without a category
    std::deque<TimeInterval> unlinked;
    bool linked = true;
    std::deque<core::TimeMs> interactions;  ///< through this recipient
    std::deque<TimelineMark> marks;
    std::uint64_t messages = 0;
    std::uint64_t leaks = 0;
};

/// The band of a lane that follows its link rather than a category's consent.
inline constexpr std::size_t kLinkBand = core::kCategoryCount;

/// A change the sampler found: from `t` on, consent for band `band` of `recipient`'s lane (a
/// core::Category index), or its link (kLinkBand), holds (`on`) or not.
struct TimelineEdge {
    std::string recipient;
    std::size_t band = 0;
    bool on = false;
    core::TimeMs t = 0;
};

/// One sampling: the edges found since the last one, in time order per band, up to `now`.
struct TimelineSample {
    core::TimeMs now = 0;
    std::vector<TimelineEdge> edges;
};

/// Asks the oracle, beside it, where consent and link changed (see the file comment). Fed the
/// same records and findings as the timeline it samples for, so both know the same lanes.
class ConsentSampler {
public:
    void reset(core::TimeMs start, const core::Policy* policy);
    void set_device(const std::string& device);
    void on_record(const core::Record& r);
    void on_finding(const core::Finding& f);
    /// The oracle has been fed every record up to `now`: whether consent and link held at the
    /// instants recorded since the last sample and at `now`; nullopt for a `now` before the
    /// last sample.
    [[nodiscard]] std::optional<TimelineSample> sample(const core::Oracle& oracle, core::TimeMs now);

private:
    struct Lane {
        std::string recipient;
        std::array<bool, kLinkBand + 1> held{};  ///< per band at the last sample (the link: linked)
        bool sampled = false;                    ///< the oracle was asked about this lane at least once
    };
    Lane& lane_for(const std::string& recipient);

    std::string device_;
    const core::Policy* policy_ = nullptr;
    core::TimeMs start_ = 0;
    core::TimeMs sampled_to_ = 0;
    bool sampled_ = false;
    std::vector<core::TimeMs> points_;  ///< consent/link/interaction instants since the last sample
    std::vector<Lane> lanes_;
};

class ConsentTimeline {
public:
    static constexpr std::size_t kMaxTicks = 50'000;               ///< per band, sends and leaks each
    static constexpr core::DurationMs kHorizonMs = 2 * 3600'000;   ///< older than this is dropped
    static constexpr std::size_t kMaxMarks = 4096;

    /// A new session: capture start, the policy judged against (must outlive the timeline's
    /// use). The board is the first device a record names, or the one set_device() gives.
    void reset(core::TimeMs start, const core::Policy* policy);
    /// The board's device id (from HELLO); no-op once known.
    void set_device(const std::string& device);
    /// Every record released to the trace, in trace order; `cats` = the taxonomy's decode of an
    /// egress body (ignored otherwise).
    void on_record(const core::Record& r, const core::CategorySet& cats);
    void on_finding(const core::Finding& f);
    /// The sampler's answer up to `s.now`: consent bands and unlinked spells follow its edges.
    void apply(const TimelineSample& s);

    [[nodiscard]] const std::string& device() const { return device_; }
    [[nodiscard]] core::TimeMs start() const { return start_; }
    [[nodiscard]] core::TimeMs now() const { return now_; }
    [[nodiscard]] const std::vector<TimelineLane>& lanes() const { return lanes_; }
    /// Physical interactions with the board (keypad, dial): no recipient, drawn across all lanes.
    [[nodiscard]] const std::deque<core::TimeMs>& physical() const { return physical_; }
    [[nodiscard]] const TimelineLane* lane(std::string_view recipient) const;
    [[nodiscard]] std::uint64_t generation() const { return generation_; }  ///< bumps on change

private:
    TimelineLane& lane_for(const std::string& recipient);
    void update_shown(TimelineLane& lane) const;
    void prune(core::TimeMs now);

    std::string device_;
    const core::Policy* policy_ = nullptr;
    core::TimeMs start_ = 0;
    core::TimeMs now_ = 0;
    core::CategorySet device_cats_;     ///< reported in TRUTH or sent (what `all` means here)
    std::vector<TimelineLane> lanes_;
    std::deque<core::TimeMs> physical_;
    std::uint64_t generation_ = 0;
};

}  // namespace consentrig::gui
