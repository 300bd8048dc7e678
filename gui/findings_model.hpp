#pragma once
/// gui/findings_model.hpp — the findings of a finished scenario run as a table (model/view):
/// one row per finding, in the run's deterministic order (core::finding_less), sortable,
/// and filterable by leak class, device, recipient and free text. The detail is the finding as
/// findings.json writes it (core::finding_to_json), evidence included, read back from the run's
/// list when a row asks for it.
#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include <memory>
#include <optional>

#include "core/finding_list.hpp"

namespace consentrig::gui {

class FindingsModel final : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { kTime, kClass, kDevice, kRecipient, kCategory, kField, kColumnCount };
    enum Role {
        kSortRole = Qt::UserRole + 1,  ///< time as a number, the rest as text
        kJsonRole,                     ///< the finding as findings.json writes it, pretty
        kIndexRole,                    ///< position in the run's order
    };

    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    /// Replaces the rows (one reset notification); null: none.
    void set_findings(std::shared_ptr<const core::FindingList> findings);
    [[nodiscard]] const core::FindingList& findings() const;
    /// Distinct devices / recipients, sorted (the filter combos).
    [[nodiscard]] QStringList devices() const;
    [[nodiscard]] QStringList recipients() const;

private:
    std::shared_ptr<const core::FindingList> findings_;
};

/// Exact-match filters (empty: any) and a free text over every column.
class FindingsFilter final : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit FindingsFilter(QObject* parent = nullptr);
    void set_type(std::optional<core::FindingType> type);
    void set_device(const QString& device);
    void set_recipient(const QString& recipient);
    void set_text(const QString& text);

protected:
    bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

private:
    std::optional<core::FindingType> type_;
    QString device_;
    QString recipient_;
    QString text_;
};

}  // namespace consentrig::gui
