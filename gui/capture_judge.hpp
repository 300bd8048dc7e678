#pragma once
/// gui/capture_judge.hpp — the live capture's worker: the reorder window, the trace store, the
/// oracle and the consent timeline's sampler, on a thread of their own, so the GUI thread only
/// applies finished batches (rows with verdicts, findings, timeline edges) and stays responsive
/// at 1,000 frames/s (docs/gui.md, "Throughput and memory").
///
/// Records go in from any thread (submit) — each one first to the session's crash journal
/// (core/trace_journal.hpp), in the submitting thread, so a crash loses nothing that arrived —
/// and every kReleaseMs the worker releases those older than
/// the bench's reorder window in time order (clamping a late one to the last time released, as
/// the bench does), writes them to trace.db, feeds the oracle, lets it judge the millisecond it
/// holds, samples consent, and queues a JudgedBatch; on_ready tells the GUI thread to take()
/// them. flush() and finish() release everything and return once it is on disk. The store, the
/// oracle and the sampler are touched by the worker only (they are handed over under the lock
/// in begin()), so the oracle is never asked from two threads.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/oracle.hpp"
#include "core/taxonomy.hpp"
#include "core/trace.hpp"
#include "core/trace_journal.hpp"
#include "gui/consent_timeline.hpp"
#include "gui/egress_model.hpp"

namespace consentrig::gui {

/// A record as captured (or as a control stamped it), waiting for the reorder window.
struct Captured {
    core::Record record;
    bool egress = false;
    std::string frame_payload;  ///< UPLINK: the frame payload verbatim
    std::uint16_t frame_seq = 0;
};

/// A finding for the GUI: the oracle's, its evidence left behind, with the reason shown.
struct JudgedFinding {
    core::Finding finding;  ///< evidence cleared
    std::string reason;     ///< "category: the oracle's reason"
};

/// One release of the capture.
struct JudgedBatch {
    /// Released records in trace order with the categories an egress body decodes to (egress
    /// bodies are in `rows`; TRUTH keeps its payload for the live state).
    std::vector<std::pair<core::Record, core::CategorySet>> records;
    std::vector<EgressRow> rows;
    std::vector<JudgedFinding> findings;  ///< after `rows` and the sample
    std::optional<TimelineSample> sample;
    core::TimeMs judged_before = 0;       ///< every message before this is judged
    std::vector<std::string> errors;      ///< store or oracle errors
};

class CaptureJudge {
public:
    static constexpr core::DurationMs kReorderMs = 100;  ///< the bench's reorder window (docs/bench.md)
    static constexpr core::DurationMs kReleaseMs = 50;   ///< how often the capture is released

    /// `on_ready` is called on the worker when a batch is queued and the last one was taken.
    explicit CaptureJudge(std::function<void()> on_ready);
    /// Finishes an open session (everything written) and stops the worker.
    ~CaptureJudge();
    CaptureJudge(const CaptureJudge&) = delete;
    CaptureJudge& operator=(const CaptureJudge&) = delete;

    /// A new session (none open): the store and oracle become the worker's; the sampler starts
    /// at `start` against `policy`; egress bodies are decoded with `taxonomy` (both must outlive
    /// the session, as the oracle's).
    /// The journal is discarded when finish() has everything in the store (kept if the last
    /// commit failed: it is then the only complete copy).
    void begin(core::TraceStore store, core::TraceJournal journal, std::unique_ptr<core::Oracle> oracle,
               core::TimeMs start, const core::Policy& policy, const core::Taxonomy& taxonomy);
    /// The board's device id from HELLO (the sampler's lanes).
    void set_device(std::string device);
    /// Any thread. Dropped when no session is open.
    void submit(Captured c);
    /// Releases everything held, commits; returns once it is on disk.
    void flush();
    /// flush(), then the oracle's side-channel judgement; closes the store. Returns once done.
    void finish();
    /// The batches queued since the last take (GUI thread).
    [[nodiscard]] std::vector<JudgedBatch> take();

    [[nodiscard]] std::uint64_t records() const { return records_; }  ///< written to the trace
    [[nodiscard]] std::uint64_t findings() const { return findings_; }

private:
    enum class Sync : std::uint8_t { none, flush, finish };
    struct Session {
        core::TraceStore store;
        std::unique_ptr<core::Oracle> oracle;
        core::TimeMs start = 0;
        const core::Policy* policy = nullptr;
        const core::Taxonomy* taxonomy = nullptr;
    };
    void run();
    void request(Sync what);
    [[nodiscard]] JudgedBatch release(bool all);
    void take_findings(JudgedBatch& b);
    /// Side channels, the last commit; false when that commit failed.
    [[nodiscard]] bool end_session(JudgedBatch& b);

    std::function<void()> on_ready_;

    // shared, under m_
    std::mutex m_;
    std::condition_variable cv_;       ///< wakes the worker
    std::condition_variable done_cv_;  ///< wakes a flush()/finish() caller
    std::optional<Session> next_;      ///< begin(): taken by the worker
    std::optional<std::string> device_;
    std::vector<Captured> incoming_;
    std::optional<core::TraceJournal> journal_;
    std::optional<std::string> journal_error_;  ///< the first failed append, for the next batch
    bool open_ = false;                ///< a session is open (begun, not finished)
    Sync sync_ = Sync::none;
    std::uint64_t sync_asked_ = 0, sync_done_ = 0;
    std::vector<JudgedBatch> ready_;
    bool told_ = false;                ///< on_ready called, batches not yet taken
    bool stop_ = false;

    // the worker's own
    std::optional<core::TraceStore> store_;
    std::unique_ptr<core::Oracle> oracle_;
    const core::Taxonomy* taxonomy_ = nullptr;
    ConsentSampler sampler_;
    std::vector<Captured> reorder_;
    std::vector<core::Finding> found_;  ///< the oracle's sink
    core::TimeMs last_t_ = 0;
    std::uint64_t lines_ = 0;
    std::chrono::steady_clock::time_point last_commit_{};
    std::chrono::steady_clock::time_point last_trim_ = std::chrono::steady_clock::now();
    std::atomic<std::uint64_t> records_{0};
    std::atomic<std::uint64_t> findings_{0};

    std::thread thread_;  ///< last: starts after everything above exists
};

}  // namespace consentrig::gui
