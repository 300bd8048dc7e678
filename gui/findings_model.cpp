#include "gui/findings_model.hpp"

#include <algorithm>
#include <set>
#include <string>

namespace consentrig::gui {

namespace {
QString qs(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

QString cell(const core::FindingHead& f, int column) {
    switch (column) {
    case FindingsModel::kTime: return qs(core::format_rfc3339(f.t));
    case FindingsModel::kClass: return qs(core::to_string(f.type));
    case FindingsModel::kDevice: return qs(f.device);
    case FindingsModel::kRecipient: return qs(f.recipient);
    case FindingsModel::kCategory: return f.category ? qs(core::to_string(*f.category)) : QString();
    case FindingsModel::kField: return qs(f.field);
    default: return {};
    }
}

QStringList distinct(const core::FindingList& fs, std::string core::FindingHead::*member) {
    std::set<std::string> names;
    for (const auto& f : fs) names.insert(f.*member);
    QStringList out;
    for (const auto& n : names) out << qs(n);
    return out;
}
}  // namespace

int FindingsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(findings().size());
}

int FindingsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant FindingsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const auto row = static_cast<std::size_t>(index.row());
    const core::FindingHead& f = findings()[row];
    switch (role) {
    case Qt::DisplayRole: return cell(f, index.column());
    case Qt::ToolTipRole: {
        const auto e = findings().evidence(row);
        if (!e) return qs(e.error().message);
        if (const auto r = e->find("reason"); r != e->end() && r->is_string()) return qs(r->get<std::string>());
        return {};
    }
    case kSortRole:
        if (index.column() == kTime) return QVariant::fromValue<qint64>(f.t);
        return cell(f, index.column());
    case kJsonRole: {
        const auto loaded = findings().load(row);
        if (!loaded) return qs(loaded.error().message);
        return qs(core::finding_to_json(std::move(*loaded)).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    case kIndexRole: return index.row();
    default: return {};
    }
}

QVariant FindingsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const char* const kNames[kColumnCount] = {"Time (UTC)", "Class", "Device", "Recipient", "Category", "Field"};
    return section >= 0 && section < kColumnCount ? tr(kNames[section]) : QVariant();
}

const core::FindingList& FindingsModel::findings() const {
    static const core::FindingList kNone;
    return findings_ ? *findings_ : kNone;
}

void FindingsModel::set_findings(std::shared_ptr<const core::FindingList> findings) {
    beginResetModel();
    findings_ = std::move(findings);
    endResetModel();
}

QStringList FindingsModel::devices() const { return distinct(findings(), &core::FindingHead::device); }
QStringList FindingsModel::recipients() const { return distinct(findings(), &core::FindingHead::recipient); }

FindingsFilter::FindingsFilter(QObject* parent) : QSortFilterProxyModel(parent) {
    setSortRole(FindingsModel::kSortRole);
}

void FindingsFilter::set_type(std::optional<core::FindingType> type) {
    type_ = type;
    invalidateFilter();
}
void FindingsFilter::set_device(const QString& device) {
    device_ = device;
    invalidateFilter();
}
void FindingsFilter::set_recipient(const QString& recipient) {
    recipient_ = recipient;
    invalidateFilter();
}
void FindingsFilter::set_text(const QString& text) {
    text_ = text;
    invalidateFilter();
}

bool FindingsFilter::filterAcceptsRow(int source_row, const QModelIndex&) const {
    const auto* m = static_cast<const FindingsModel*>(sourceModel());
    const auto& f = m->findings()[static_cast<std::size_t>(source_row)];
    if (type_ && f.type != *type_) return false;
    if (!device_.isEmpty() && qs(f.device) != device_) return false;
    if (!recipient_.isEmpty() && qs(f.recipient) != recipient_) return false;
    if (text_.isEmpty()) return true;
    for (int c = 0; c < FindingsModel::kColumnCount; ++c) {
        if (cell(f, c).contains(text_, Qt::CaseInsensitive)) return true;
    }
    return false;
}

}  // namespace consentrig::gui
