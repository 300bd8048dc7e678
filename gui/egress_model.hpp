#pragma once
/// gui/egress_model.hpp — the live egress table: every UPLINK the board sent, with the oracle's
/// verdict, in a bounded ring (model/view, no widget per row).
///
/// Rows arrive in batches from the controller (GUI thread) and leave from the front when the
/// ring is full; the trace on disk keeps everything. A row's verdict is "pending" until the
/// oracle has seen a later record (it judges a millisecond once it is complete), then either the
/// leak classes it found or "consented".
#include <QAbstractTableModel>
#include <QColor>
#include <QSortFilterProxyModel>

#include <climits>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/findings.hpp"
#include "core/time.hpp"

namespace consentrig::gui {

struct EgressRow {
    std::uint64_t line = 0;       ///< record number in this session's trace (oracle's `line`)
    core::TimeMs t = 0;           ///< arrival, rig wall clock
    std::string device;
    std::string recipient;
    std::string format;
    std::string categories;       ///< decoded, comma-separated ("" = state-free)
    std::string body;             ///< compact JSON as captured
    std::string frame_payload;    ///< the frame payload verbatim (raw bytes are re-encoded from it)
    std::uint16_t frame_seq = 0;
    std::uint8_t leaks = 0;       ///< bit i = core::FindingType(i) found for this message
    std::string reasons;          ///< the findings' reasons, one per line
};

class EgressModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { kTime, kDevice, kRecipient, kFormat, kCategories, kVerdict, kColumnCount };
    enum Role { kLeakRole = Qt::UserRole + 1, kBodyRole, kRawHexRole, kReasonsRole, kLineRole, kSearchRole };
    static constexpr std::size_t kDefaultCapacity = 50'000;

    explicit EgressModel(QObject* parent = nullptr, std::size_t capacity = kDefaultCapacity);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    /// Appends a batch (one insert notification); drops the oldest rows beyond the capacity.
    /// While paused the batch is held back (still bounded) and shown on resume.
    void append(std::vector<EgressRow>&& rows);
    /// A finding for the message with trace line `line` (no-op when it left the ring). The
    /// views hear of it at the next set_judged_before() or flush_changes().
    void add_finding(std::uint64_t line, core::FindingType type, const std::string& reason);
    /// The oracle has judged every message before `t`; one notification for every row changed
    /// since the last one.
    void set_judged_before(core::TimeMs t);
    void flush_changes();
    [[nodiscard]] core::TimeMs judged_before() const { return judged_before_; }
    void set_paused(bool paused);
    [[nodiscard]] bool paused() const { return paused_; }
    void clear();

    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    [[nodiscard]] const EgressRow& row(int i) const { return rows_[static_cast<std::size_t>(i)]; }
    [[nodiscard]] std::size_t held() const { return held_.size(); }
    /// Total rows ever appended (shown + dropped + held).
    [[nodiscard]] std::uint64_t total() const { return total_; }
    /// The shown row to `recipient` sent nearest `t` within ±slack_ms (a leak preferred), or -1.
    [[nodiscard]] int nearest(const std::string& recipient, core::TimeMs t, core::DurationMs slack_ms) const;
    /// Verdict text of a row: "pending", "consented", "state-free" or the leak classes.
    [[nodiscard]] QString verdict(const EgressRow& r) const;
    /// Background of leak rows (gui/palette.hpp, light or dark with the system palette).
    void set_leak_row(const QColor& c) { leak_row_ = c; }

private:
    EgressRow* find(std::uint64_t line);
    void insert_shown(std::vector<EgressRow>&& rows);

    std::deque<EgressRow> rows_;
    std::deque<EgressRow> held_;
    std::size_t capacity_;
    std::uint64_t total_ = 0;
    core::TimeMs judged_before_ = 0;
    bool paused_ = false;
    QColor leak_row_{255, 205, 205};
    int changed_from_ = INT_MAX;  ///< first row changed since the last notification
};

/// Filter: free text over recipient, format, categories, verdict and body; "leaks only".
class EgressFilter final : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void set_text(const QString& text);
    void set_leaks_only(bool on);

protected:
    bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

private:
    QString text_;
    bool leaks_only_ = false;
};

/// "00 1a 2b …" of the wire frame (COBS body + 0x00) that carried `payload`.
[[nodiscard]] QString frame_hex(std::uint8_t type, std::uint16_t seq, const std::string& payload);

}  // namespace consentrig::gui
