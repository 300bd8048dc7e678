#include "gui/scenario_runner.hpp"

#include <QMetaObject>

#include <mutex>

namespace consentrig::gui {

ScenarioRunner::~ScenarioRunner() {
    cancel();
    join();
}

void ScenarioRunner::join() {
    if (thread_.joinable()) thread_.join();
}

void ScenarioRunner::cancel() { cancel_.store(true); }

bool ScenarioRunner::start(ScenarioRequest request) {
    if (running_) return false;
    join();  // the previous run's thread has posted its result already
    cancel_.store(false);
    running_ = true;
    progress_ = {};
    emit started();

    // Progress arrives about every 1 % of scenario time; only the latest is kept, and at most one
    // hand-over to the GUI thread is queued at a time.
    struct Mailbox {
        std::mutex m;
        runner::Progress latest;
        bool posted = false;
    };
    auto box = std::make_shared<Mailbox>();
    thread_ = std::thread([this, box, req = std::move(request)]() mutable {
        auto result = std::make_shared<ScenarioResult>();
        result->out = req.out;
        result->on_bench = req.bench.has_value();
        auto taxonomy = runner::load_taxonomy({});
        if (!taxonomy) {
            result->error = QString::fromStdString(taxonomy.error().message);
        } else {
            runner::RunOptions o;
            o.out = req.out;
            o.bench = std::move(req.bench);
            o.cancel = &cancel_;
            o.free_space = std::move(req.free_space);
            o.warn = [this, result](const std::string& w) {
                const QString text = QString::fromStdString(w);
                result->warnings << text;  // the result is this thread's until it is posted
                QMetaObject::invokeMethod(this, [this, text] { emit warned(text); }, Qt::QueuedConnection);
            };
            o.progress = [this, box](const runner::Progress& p) {
                std::lock_guard lock(box->m);
                box->latest = p;
                if (box->posted) return;
                box->posted = true;
                QMetaObject::invokeMethod(
                    this,
                    [this, box] {
                        {
                            std::lock_guard l(box->m);
                            progress_ = box->latest;
                            box->posted = false;
                        }
                        emit progressed();
                    },
                    Qt::QueuedConnection);
            };
            auto run = runner::run_scenario(req.scenario, *taxonomy, o);
            if (run) result->outcome = std::move(*run);
            else result->error = QString::fromStdString(run.error().message);
        }
        QMetaObject::invokeMethod(
            this,
            [this, box, result] {
                std::lock_guard l(box->m);
                if (result->outcome) {
                    progress_.fraction = result->outcome->complete ? 1.0 : progress_.fraction;
                    progress_.now = result->outcome->replayed_to;
                    progress_.devices = result->outcome->device_count;
                    progress_.messages = result->outcome->messages;
                    progress_.findings = result->outcome->findings.size();
                    progress_.writing = {};
                }
                result_ = result;
                running_ = false;
                emit finished();
            },
            Qt::QueuedConnection);
    });
    return true;
}

}  // namespace consentrig::gui
