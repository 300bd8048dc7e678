#include "gui/egress_model.hpp"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "rig/frame.hpp"

namespace consentrig::gui {

EgressModel::EgressModel(QObject* parent, std::size_t capacity)
    : QAbstractTableModel(parent), capacity_(std::max<std::size_t>(1, capacity)) {}

int EgressModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int EgressModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QString EgressModel::verdict(const EgressRow& r) const {
    if (r.leaks != 0) {
        QStringList names;
        for (std::size_t i = 0; i < core::kFindingTypeCount; ++i) {
            if (r.leaks & (1u << i)) names << QString::fromUtf8(core::kFindingTypeNames[i].data(),
                                                               static_cast<qsizetype>(core::kFindingTypeNames[i].size()));
        }
        return names.join(QStringLiteral(", "));
    }
    if (r.t >= judged_before_) return QStringLiteral("pending");
    return r.categories.empty() ? QStringLiteral("state-free") : QStringLiteral("consented");
}

QVariant EgressModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() < 0 || static_cast<std::size_t>(index.row()) >= rows_.size()) return {};
    const EgressRow& r = rows_[static_cast<std::size_t>(index.row())];
    switch (role) {
        case Qt::DisplayRole:
            switch (index.column()) {
                case kTime:
                    return QDateTime::fromMSecsSinceEpoch(r.t).toString(QStringLiteral("HH:mm:ss.zzz"));
                case kDevice: return QString::fromStdString(r.device);
                case kRecipient: return QString::fromStdString(r.recipient);
                case kFormat: return QString::fromStdString(r.format);
                case kCategories: return QString::fromStdString(r.categories);
                case kVerdict: return verdict(r);
                default: return {};
            }
        case Qt::ToolTipRole:
            if (index.column() == kVerdict && !r.reasons.empty()) return QString::fromStdString(r.reasons);
            if (index.column() == kTime) return QDateTime::fromMSecsSinceEpoch(r.t).toString(Qt::ISODateWithMs);
            return {};
        case Qt::BackgroundRole:
            if (r.leaks != 0) return QBrush(leak_row_);
            return {};
        case Qt::FontRole:
            if (r.leaks != 0 && index.column() == kVerdict) {
                QFont f;
                f.setBold(true);
                return f;
            }
            return {};
        case kLeakRole: return static_cast<unsigned>(r.leaks);
        case kBodyRole: {
            const auto j = nlohmann::json::parse(r.body, nullptr, false);
            if (j.is_discarded()) return QString::fromStdString(r.body);
            return QString::fromStdString(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        }
        case kRawHexRole: return frame_hex(static_cast<std::uint8_t>(rig::FrameType::uplink), r.frame_seq, r.frame_payload);
        case kReasonsRole: return QString::fromStdString(r.reasons);
        case kLineRole: return static_cast<qulonglong>(r.line);
        case kSearchRole:
            return QString::fromStdString(r.device + '\n' + r.recipient + '\n' + r.format + '\n' + r.categories + '\n' +
                                          r.body) +
                   '\n' + verdict(r);
        default: return {};
    }
}

QVariant EgressModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
        case kTime: return tr("Time");
        case kDevice: return tr("Device");
        case kRecipient: return tr("Recipient");
        case kFormat: return tr("Format");
        case kCategories: return tr("Categories");
        case kVerdict: return tr("Verdict");
        default: return {};
    }
}

void EgressModel::append(std::vector<EgressRow>&& rows) {
    if (rows.empty()) return;
    total_ += rows.size();
    if (paused_) {
        for (auto& r : rows) held_.push_back(std::move(r));
        while (held_.size() > capacity_) held_.pop_front();
        return;
    }
    insert_shown(std::move(rows));
}

void EgressModel::insert_shown(std::vector<EgressRow>&& rows) {
    if (rows.size() > capacity_) rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(rows.size() - capacity_));
    const std::size_t over = rows_.size() + rows.size() > capacity_ ? rows_.size() + rows.size() - capacity_ : 0;
    if (over > 0) {
        if (changed_from_ != std::numeric_limits<int>::max()) changed_from_ = std::max(0, changed_from_ - static_cast<int>(over));
        beginRemoveRows({}, 0, static_cast<int>(over) - 1);
        rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(over));
        endRemoveRows();
    }
    const int first = static_cast<int>(rows_.size());
    beginInsertRows({}, first, first + static_cast<int>(rows.size()) - 1);
    for (auto& r : rows) rows_.push_back(std::move(r));
    endInsertRows();
}

EgressRow* EgressModel::find(std::uint64_t line) {
    for (auto* q : {&rows_, &held_}) {
        auto it = std::lower_bound(q->begin(), q->end(), line, [](const EgressRow& r, std::uint64_t l) { return r.line < l; });
        if (it != q->end() && it->line == line) return &*it;
    }
    return nullptr;
}

void EgressModel::add_finding(std::uint64_t line, core::FindingType type, const std::string& reason) {
    EgressRow* r = find(line);
    if (r == nullptr) return;
    r->leaks = static_cast<std::uint8_t>(r->leaks | (1u << static_cast<unsigned>(type)));
    if (!reason.empty()) {
        if (!r->reasons.empty()) r->reasons += '\n';
        r->reasons += std::string(core::to_string(type)) + ": " + reason;
    }
    auto it = std::lower_bound(rows_.begin(), rows_.end(), line, [](const EgressRow& x, std::uint64_t l) { return x.line < l; });
    if (it != rows_.end() && it->line == line) {
        // one notification per batch (set_judged_before / flush_changes), not one per finding
        const int row = static_cast<int>(it - rows_.begin());
        changed_from_ = std::min(changed_from_, row);
    }
}

void EgressModel::flush_changes() {
    if (changed_from_ >= static_cast<int>(rows_.size())) {
        changed_from_ = std::numeric_limits<int>::max();
        return;
    }
    const int first = changed_from_;
    changed_from_ = std::numeric_limits<int>::max();
    emit dataChanged(index(first, 0), index(static_cast<int>(rows_.size()) - 1, kColumnCount - 1));
}

void EgressModel::set_judged_before(core::TimeMs t) {
    if (t > judged_before_ && !rows_.empty()) {
        // rows are in time order: only the tail can change from pending
        auto it = std::lower_bound(rows_.begin(), rows_.end(), judged_before_,
                                   [](const EgressRow& r, core::TimeMs v) { return r.t < v; });
        changed_from_ = std::min(changed_from_, static_cast<int>(it - rows_.begin()));
    }
    judged_before_ = std::max(judged_before_, t);
    flush_changes();
}

int EgressModel::nearest(const std::string& recipient, core::TimeMs t, core::DurationMs slack_ms) const {
    auto it = std::lower_bound(rows_.begin(), rows_.end(), t - slack_ms, [](const EgressRow& r, core::TimeMs v) { return r.t < v; });
    int best = -1;
    core::DurationMs best_d = 0;
    bool best_leak = false;
    for (; it != rows_.end() && it->t <= t + slack_ms; ++it) {
        if (it->recipient != recipient) continue;
        const core::DurationMs d = it->t > t ? it->t - t : t - it->t;
        const bool leak = it->leaks != 0;
        if (best < 0 || (leak && !best_leak) || (leak == best_leak && d < best_d)) {
            best = static_cast<int>(it - rows_.begin());
            best_d = d;
            best_leak = leak;
        }
    }
    return best;
}

void EgressModel::set_paused(bool paused) {
    if (paused == paused_) return;
    paused_ = paused;
    if (!paused_ && !held_.empty()) {
        std::vector<EgressRow> rows(std::make_move_iterator(held_.begin()), std::make_move_iterator(held_.end()));
        held_.clear();
        insert_shown(std::move(rows));
    }
}

void EgressModel::clear() {
    beginResetModel();
    changed_from_ = std::numeric_limits<int>::max();
    rows_.clear();
    held_.clear();
    total_ = 0;
    judged_before_ = 0;
    endResetModel();
}

void EgressFilter::set_text(const QString& text) {
    text_ = text;
    invalidateFilter();
}

void EgressFilter::set_leaks_only(bool on) {
    leaks_only_ = on;
    invalidateFilter();
}

bool EgressFilter::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
    const QModelIndex i = sourceModel()->index(source_row, 0, source_parent);
    if (leaks_only_ && i.data(EgressModel::kLeakRole).toUInt() == 0) return false;
    if (text_.isEmpty()) return true;
    return i.data(EgressModel::kSearchRole).toString().contains(text_, Qt::CaseInsensitive);
}

QString frame_hex(std::uint8_t type, std::uint16_t seq, const std::string& payload) {
    const auto wire = rig::encode_frame(type, seq, payload);
    QString out;
    out.reserve(static_cast<qsizetype>(wire.size() * 3 + wire.size() / 16));
    for (std::size_t i = 0; i < wire.size(); ++i) {
        out += QStringLiteral("%1").arg(wire[i], 2, 16, QLatin1Char('0'));
        out += (i % 16 == 15) ? QLatin1Char('\n') : QLatin1Char(' ');
    }
    return out.trimmed();
}

}  // namespace consentrig::gui
