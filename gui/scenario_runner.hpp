#pragma once
/// gui/scenario_runner.hpp — one scenario run from the window, off the GUI thread.
///
/// A thin shell over runner::run_scenario (the pipeline of `consentrig run` and `bench`, so a
/// run from the window writes the same files as one from the command line): the run goes on a
/// worker thread; its progress and its outcome come back to the GUI thread as queued calls and
/// are announced there by signals. cancel() sets the runner's atomic flag: the run stops at the
/// next record, and what was captured is kept, judged and reported as incomplete.
#include <QObject>
#include <QStringList>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "core/scenario.hpp"
#include "runner/run.hpp"

namespace consentrig::gui {

struct ScenarioRequest {
    core::Scenario scenario;
    std::filesystem::path out;                ///< the run's folder (runner::RunOptions::out)
    std::optional<rig::BenchOptions> bench;   ///< set: on boards, else simulated
    runner::FreeSpace free_space = runner::os_free_space;  ///< for the disk-space warning (tests: a fake)
};

struct ScenarioResult {
    std::optional<runner::RunOutcome> outcome;  ///< empty: the run failed (error)
    QString error;
    QStringList warnings;  ///< the run's warnings (runner::RunOptions::warn), also sent by warned()
    std::filesystem::path out;
    bool on_bench = false;
};

class ScenarioRunner final : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    /// Cancels a run still going and waits for its thread.
    ~ScenarioRunner() override;

    /// Starts a run; false (and nothing happens) while one is running.
    bool start(ScenarioRequest request);
    /// Asks the running run to stop (any thread; idempotent).
    void cancel();
    [[nodiscard]] bool running() const { return running_; }
    [[nodiscard]] bool cancel_requested() const { return cancel_.load(); }
    /// The latest progress of the running (or last) run (GUI thread).
    [[nodiscard]] const runner::Progress& progress() const { return progress_; }
    /// The last finished run; null before the first one (GUI thread).
    [[nodiscard]] std::shared_ptr<const ScenarioResult> result() const { return result_; }

signals:
    void started();
    void progressed();
    /// A warning while the run goes on (the trace may not fit on its disk).
    void warned(const QString& warning);
    /// The run ended (completed, cancelled or failed): see result().
    void finished();

private:
    void join();

    std::thread thread_;
    std::atomic<bool> cancel_{false};
    bool running_ = false;
    runner::Progress progress_;
    std::shared_ptr<const ScenarioResult> result_;
};

}  // namespace consentrig::gui
