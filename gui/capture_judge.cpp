#include "gui/capture_judge.hpp"

#include <algorithm>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "rig/session.hpp"

namespace consentrig::gui {

namespace {
constexpr auto kCommitEvery = std::chrono::milliseconds(200);
constexpr auto kTrimEvery = std::chrono::seconds(60);

/// Hands the heap's free pages back to the system. Records are allocated here and freed on the
/// GUI thread when their rows leave the ring; glibc keeps such freed pages in this thread's
/// arena, so the resident size crept up over a long session while the heap in use stayed flat
/// (docs/gui.md, "Throughput and memory").
void trim_heap() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}
}  // namespace

CaptureJudge::CaptureJudge(std::function<void()> on_ready) : on_ready_(std::move(on_ready)), thread_([this] { run(); }) {}

CaptureJudge::~CaptureJudge() {
    {
        std::lock_guard lock(m_);
        stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void CaptureJudge::begin(core::TraceStore store, core::TraceJournal journal, std::unique_ptr<core::Oracle> oracle,
                         core::TimeMs start, const core::Policy& policy, const core::Taxonomy& taxonomy) {
    {
        std::lock_guard lock(m_);
        next_.emplace(Session{std::move(store), std::move(oracle), start, &policy, &taxonomy});
        journal_.emplace(std::move(journal));
        journal_error_.reset();
        device_.reset();
        incoming_.clear();
        open_ = true;
        records_ = 0;
        findings_ = 0;
    }
    cv_.notify_one();
}

void CaptureJudge::set_device(std::string device) {
    std::lock_guard lock(m_);
    device_ = std::move(device);
}

void CaptureJudge::submit(Captured c) {
    std::lock_guard lock(m_);
    if (!open_) return;
    if (journal_ && !journal_error_) {
        if (auto st = journal_->append(c.record); !st) journal_error_ = st.error().message;
    }
    incoming_.push_back(std::move(c));
}

void CaptureJudge::flush() { request(Sync::flush); }

void CaptureJudge::finish() { request(Sync::finish); }

void CaptureJudge::request(Sync what) {
    std::unique_lock lock(m_);
    if (!open_) return;
    if (what == Sync::finish || sync_ == Sync::none) sync_ = what;
    const std::uint64_t ticket = ++sync_asked_;
    cv_.notify_one();
    done_cv_.wait(lock, [&] { return sync_done_ >= ticket; });
}

std::vector<JudgedBatch> CaptureJudge::take() {
    std::lock_guard lock(m_);
    told_ = false;
    return std::exchange(ready_, {});
}

void CaptureJudge::run() {
    std::unique_lock lock(m_);
    for (;;) {
        const auto wake = [&] { return stop_ || sync_asked_ > sync_done_ || next_.has_value(); };
        // a session releases its capture every kReleaseMs; without one there is nothing to time
        if (store_) cv_.wait_for(lock, std::chrono::milliseconds(kReleaseMs), wake);
        else cv_.wait(lock, wake);
        if (next_) {
            store_.emplace(std::move(next_->store));
            oracle_ = std::move(next_->oracle);
            taxonomy_ = next_->taxonomy;
            oracle_->set_sink([this](core::Finding&& f) { found_.push_back(std::move(f)); });
            sampler_.reset(next_->start, next_->policy);
            last_t_ = next_->start;
            lines_ = 0;
            reorder_.clear();
            found_.clear();
            next_.reset();
        }
        if (device_) sampler_.set_device(*std::exchange(device_, std::nullopt));
        for (auto& c : incoming_) reorder_.push_back(std::move(c));
        incoming_.clear();
        const Sync sync = stop_ && store_ ? Sync::finish : std::exchange(sync_, Sync::none);
        const std::uint64_t asked = sync_asked_;
        lock.unlock();

        std::optional<JudgedBatch> batch;
        bool stored = false;
        if (store_) {
            batch = release(sync != Sync::none);
            if (sync == Sync::finish) stored = end_session(*batch);
        } else {
            reorder_.clear();  // submitted after the session ended
        }

        lock.lock();
        if (batch && journal_error_ && journal_) {  // said once; trace.db still gets every record
            batch->errors.push_back(*journal_error_ + " (journal given up: a crash now would lose what is not yet committed)");
            journal_->discard();  // incomplete: recovering it later would only mislead
            journal_.reset();
        }
        if (sync == Sync::finish) {
            open_ = false;
            if (journal_ && stored) journal_->discard();  // trace.db has everything
            journal_.reset();
        }
        if (batch) ready_.push_back(std::move(*batch));
        sync_done_ = asked;
        done_cv_.notify_all();
        if (stop_ && !store_) return;
        if (!ready_.empty() && !told_) {
            told_ = true;
            lock.unlock();
            on_ready_();
            lock.lock();
        }
    }
}

JudgedBatch CaptureJudge::release(bool all) {
    JudgedBatch b;
    std::stable_sort(reorder_.begin(), reorder_.end(),
                     [](const Captured& x, const Captured& y) { return x.record.t < y.record.t; });
    const core::TimeMs cutoff = all ? std::numeric_limits<core::TimeMs>::max() : rig::wall_now_ms() - kReorderMs;
    std::size_t n = 0;
    while (n < reorder_.size() && reorder_[n].record.t <= cutoff) ++n;
    b.records.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        Captured& p = reorder_[i];
        core::Record& r = p.record;
        if (r.kind != core::RecordKind::gap) {  // a gap carries its start; the oracle ignores its order
            last_t_ = r.t = std::max(r.t, last_t_);
        }
        r.line = ++lines_;
        if (auto st = store_->append(r); !st) b.errors.push_back(st.error().message);
        if (auto st = oracle_->feed(r); !st) b.errors.push_back(st.error().message);
        ++records_;
        sampler_.on_record(r);
        core::CategorySet cats;
        if (p.egress) {
            cats = taxonomy_->decode(r.format, r.payload).categories();
            EgressRow row;
            row.line = r.line;
            row.t = r.t;
            row.device = r.device;
            row.recipient = r.recipient;
            row.format = r.format;
            row.categories = core::to_text(cats);
            row.body = std::move(r.payload);
            row.frame_payload = std::move(p.frame_payload);
            row.frame_seq = p.frame_seq;
            b.rows.push_back(std::move(row));
        }
        b.records.emplace_back(std::move(r), cats);
    }
    reorder_.erase(reorder_.begin(), reorder_.begin() + static_cast<std::ptrdiff_t>(n));
    // Nothing earlier than the cutoff can come any more (later records are clamped to it): let
    // the oracle judge the messages it holds for their millisecond without waiting for the next
    // record — a quiet board's last message would stay "pending" otherwise.
    if (!all && cutoff > last_t_) {
        last_t_ = cutoff;
        oracle_->advance(cutoff);
    }
    b.sample = sampler_.sample(*oracle_, last_t_);
    take_findings(b);
    b.judged_before = last_t_;
    const auto now = std::chrono::steady_clock::now();
    if (all || now - last_commit_ >= kCommitEvery) {
        if (auto st = store_->commit(); !st) b.errors.push_back(st.error().message);
        last_commit_ = now;
    }
    if (now - last_trim_ >= kTrimEvery) {
        trim_heap();
        last_trim_ = now;
    }
    return b;
}

void CaptureJudge::take_findings(JudgedBatch& b) {
    for (auto& f : found_) {
        sampler_.on_finding(f);
        ++findings_;
        std::string reason;
        if (f.evidence.is_object() && f.evidence.contains("reason") && f.evidence["reason"].is_string()) {
            reason = f.evidence["reason"].get<std::string>();
        }
        if (f.category) reason = std::string(core::to_string(*f.category)) + ": " + reason;
        f.evidence = nullptr;  // built and dropped here, off the GUI thread
        b.findings.push_back({std::move(f), std::move(reason)});
    }
    found_.clear();
}

bool CaptureJudge::end_session(JudgedBatch& b) {
    for (auto& f : oracle_->finish(last_t_)) found_.push_back(std::move(f));  // side channels
    take_findings(b);
    b.judged_before = std::numeric_limits<core::TimeMs>::max();
    bool stored = true;
    if (auto st = store_->commit(); !st) {
        stored = false;
        b.errors.push_back(st.error().message);
    }
    store_.reset();
    oracle_.reset();
    return stored;
}

}  // namespace consentrig::gui
