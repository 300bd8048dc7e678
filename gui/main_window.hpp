#pragma once
/// gui/main_window.hpp — the bench-control window: connect, live egress with the oracle's
/// verdicts, controls (docs/gui.md).
#include <QMainWindow>

#include <string>
#include <vector>

#include "gui/controller.hpp"
#include "gui/egress_model.hpp"

class QCheckBox;
class QDockWidget;
class QScrollBar;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QMenu;
class QPlainTextEdit;
class QPushButton;
class QTableView;
class QTableWidget;

namespace consentrig::gui {

class TimelineView;
class TrendChart;

struct WindowOptions {
    std::filesystem::path out_dir = "out/gui";
    std::vector<std::string> stub_args;  ///< extra host-stub arguments
    std::string stub_program;
    std::size_t capacity = EgressModel::kDefaultCapacity;
    bool restore_state = true;           ///< QSettings geometry / splitters (tests: off)
};

class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(WindowOptions options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    [[nodiscard]] BenchController& controller() { return *controller_; }
    [[nodiscard]] EgressModel& model() { return *model_; }

    /// Same as the buttons.
    void connect_port(const QString& path);
    void start_emulated(const QString& kind, const QString& profile, Emulator emulator = Emulator::host_stub);
    /// Whether QEMU and the board image were found (the "QEMU" choice is offered).
    [[nodiscard]] static bool qemu_available();
    void disconnect_board();

    /// Dock slots: the live views are docks ("Live state", "Consent timeline"); later panels
    /// (scenarios) add theirs here, tabified with the timeline, and get a View menu entry.
    void add_panel(QDockWidget* dock, Qt::DockWidgetArea area);

protected:
    void closeEvent(QCloseEvent* e) override;
    void changeEvent(QEvent* e) override;

private:
    QWidget* build_connect_panel();
    QWidget* build_egress_panel();
    QWidget* build_controls_panel();
    QWidget* build_env_panel();
    QDockWidget* build_state_dock();
    QDockWidget* build_timeline_dock();
    void refresh_live();
    void apply_palette();
    void refresh_ports();
    void refresh_health();
    void rebuild_consent_table();
    void show_detail();
    void set_connected_ui(bool on);
    void send_interaction();
    [[nodiscard]] std::string selected_recipient(QComboBox* box) const;
    [[nodiscard]] Emulator selected_emulator() const;

    WindowOptions options_;
    EgressModel* model_;
    EgressFilter* filter_;
    BenchController* controller_;

    QComboBox* ports_ = nullptr;
    QLineEdit* path_ = nullptr;
    QComboBox* emulator_ = nullptr;
    QComboBox* kind_ = nullptr;
    QComboBox* profile_ = nullptr;
    QPushButton* connect_btn_ = nullptr;
    QPushButton* emulate_btn_ = nullptr;
    QPushButton* disconnect_btn_ = nullptr;
    QLabel* identity_ = nullptr;
    QLabel* health_ = nullptr;

    QLineEdit* filter_edit_ = nullptr;
    QCheckBox* leaks_only_ = nullptr;
    QCheckBox* follow_ = nullptr;
    QPushButton* pause_ = nullptr;
    QTableView* table_ = nullptr;
    QPlainTextEdit* json_ = nullptr;
    QPlainTextEdit* hex_ = nullptr;
    QPlainTextEdit* reasons_ = nullptr;
    QPlainTextEdit* log_ = nullptr;

    QWidget* controls_ = nullptr;
    QComboBox* via_ = nullptr;
    QComboBox* ia_recipient_ = nullptr;
    QComboBox* action_ = nullptr;
    QDoubleSpinBox* value_ = nullptr;
    QComboBox* mode_ = nullptr;
    QComboBox* link_recipient_ = nullptr;
    QComboBox* live_profile_ = nullptr;
    QTableWidget* consent_ = nullptr;
    bool consent_updating_ = false;

    QDoubleSpinBox* outdoor_ = nullptr;
    QComboBox* occupied_ = nullptr;
    QComboBox* door_ = nullptr;

    QMenu* view_menu_ = nullptr;
    QDockWidget* timeline_dock_ = nullptr;
    TrendChart* chart_ = nullptr;
    QLabel* plant_ = nullptr;
    QLabel* truth_time_ = nullptr;
    std::vector<std::pair<core::Category, QLabel*>> truth_labels_;
    TimelineView* timeline_ = nullptr;
    QScrollBar* timeline_scroll_ = nullptr;
    QCheckBox* timeline_follow_ = nullptr;
    std::uint64_t timeline_gen_ = 0;
};

}  // namespace consentrig::gui
