#pragma once
/// gui/scenario_panel.hpp — the window's "Scenarios" dock: open a scenario file, run it on the
/// simulator or on the bench (host stubs, or the board connected in the window), follow the
/// progress, cancel, see whether the scenario's expectations were met, browse the findings with
/// their evidence, and hand the run over (HTML report, trace, report files). docs/gui.md.
///
/// It holds no logic of its own: the run is runner::run_scenario (gui/scenario_runner.hpp), the
/// same pipeline and files as `consentrig run` / `consentrig bench`.
#include <QDockWidget>
#include <QString>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "core/scenario.hpp"
#include "runner/run.hpp"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QTableView;

namespace consentrig::gui {

class BenchController;
class FindingsFilter;
class FindingsModel;
class ScenarioRunner;

struct ScenarioPanelOptions {
    /// Where each run gets its own folder `<scenario>-<yyyyMMdd-HHmmss>[-bench]`; empty: the
    /// application's data folder + `/runs` (QStandardPaths::AppLocalDataLocation).
    std::filesystem::path runs_dir;
    bool use_settings = true;  ///< QSettings: last folder, recent files, mode (tests: off)
    /// Reconnects the window to a serial port after a bench run borrowed its board.
    std::function<void(const QString& port)> reconnect;
    /// Free space of a run's folder, for the warning that its trace may not fit (tests: a fake).
    runner::FreeSpace free_space = runner::os_free_space;
};

class ScenarioPanel final : public QDockWidget {
    Q_OBJECT
public:
    enum class Mode { simulator, bench };

    ScenarioPanel(BenchController* controller, ScenarioPanelOptions options, QWidget* parent = nullptr);
    ~ScenarioPanel() override;

    /// Loads a scenario file (errors shown in the panel, file:line:col); true when it loaded.
    bool open_scenario(const QString& path);
    /// Same as the Run button: starts a run in `mode` (bench: with the panel's bench settings).
    void run(Mode mode);
    void run_selected_mode();
    void cancel();
    [[nodiscard]] bool running() const;
    /// Copies the last run's trace.db / report files (the dialogs' second half).
    bool save_trace_to(const QString& file);
    bool export_reports_to(const QString& dir);
    /// The serial port the window's board was connected on (set by the window when it connects;
    /// empty for an emulated board or none).
    void set_board_port(const QString& port);
    /// A BENCH.yaml (rig/bench_config.hpp) for bench runs: which board runs each device and the
    /// rig settings; empty: none. Checked against the open scenario (errors shown, file:line:col);
    /// its time scale, when it sets one, goes into the time-scale box. True when it is usable.
    bool set_bench_config(const QString& path);
    /// Where the next runs get their folders (see ScenarioPanelOptions::runs_dir).
    void set_runs_dir(std::filesystem::path dir) { options_.runs_dir = std::move(dir); }
    /// How the next runs learn the free space of their folder (see ScenarioPanelOptions::free_space).
    void set_free_space(runner::FreeSpace free_space) { options_.free_space = std::move(free_space); }

    [[nodiscard]] ScenarioRunner& runner() { return *runner_; }
    [[nodiscard]] FindingsModel& findings() { return *model_; }
    [[nodiscard]] std::filesystem::path last_run_dir() const { return last_out_; }

signals:
    /// A run ended and its findings are in the list (or it failed: see the verdict line).
    void run_finished();

private:
    QWidget* build();
    void open_dialog();
    void save_trace_dialog();
    void export_dialog();
    void open_report();
    void add_recent(const QString& path);
    void rebuild_recent_menu();
    void refresh_board_choice();
    void refresh_progress();
    void on_finished();
    void start_run(Mode mode, const QString& board_port, const QString& board_device);
    /// A bench run that cannot start: says why and gives a lent board back.
    void refuse_start(const QString& what, const QString& detail);
    void show_problem(const QString& what, const QString& detail);
    void set_running_ui(bool on);
    void show_detail();
    void refresh_filter_choices();
    [[nodiscard]] std::filesystem::path runs_dir() const;

    BenchController* controller_;
    ScenarioPanelOptions options_;
    ScenarioRunner* runner_;
    FindingsModel* model_;
    FindingsFilter* filter_;

    std::optional<core::Scenario> scenario_;
    QString scenario_path_;
    QString board_port_;
    QString bench_config_;
    QString borrowed_port_;  ///< released for the running bench run; reconnected after it
    std::filesystem::path last_out_;
    bool last_on_bench_ = false;

    QLabel* file_ = nullptr;
    QLabel* about_ = nullptr;
    QMenu* recent_ = nullptr;
    QRadioButton* sim_ = nullptr;
    QRadioButton* bench_ = nullptr;
    QWidget* bench_box_ = nullptr;
    QDoubleSpinBox* time_scale_ = nullptr;
    QLineEdit* duration_ = nullptr;
    QComboBox* boards_ = nullptr;
    QComboBox* emulator_ = nullptr;
    QPushButton* bench_config_btn_ = nullptr;
    QLabel* board_note_ = nullptr;
    QPushButton* run_btn_ = nullptr;
    QPushButton* cancel_btn_ = nullptr;
    QProgressBar* bar_ = nullptr;
    QLabel* progress_ = nullptr;
    QLabel* verdict_ = nullptr;
    QPlainTextEdit* problems_ = nullptr;
    QLabel* out_label_ = nullptr;
    QPushButton* report_btn_ = nullptr;
    QPushButton* trace_btn_ = nullptr;
    QPushButton* export_btn_ = nullptr;
    QComboBox* class_ = nullptr;
    QComboBox* device_ = nullptr;
    QComboBox* recipient_ = nullptr;
    QLineEdit* text_ = nullptr;
    QTableView* table_ = nullptr;
    QPlainTextEdit* detail_ = nullptr;
    QLabel* count_ = nullptr;
};

}  // namespace consentrig::gui
