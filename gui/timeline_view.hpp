#pragma once
/// gui/timeline_view.hpp — paints the live consent timeline (gui/consent_timeline.hpp): one
/// lane per recipient — its strip (state-free messages, unlinked spells) and a band per
/// category with consent in green, message ticks in blue, leaks in red, interactions and
/// consent/link changes as vertical marks — the HTML report's picture, scrolling with `now`.
/// Painting walks only the visible ticks and draws at most one per pixel column and row, so a
/// board at 1,000 messages/s costs the same as a quiet one.
#include <QWidget>

#include "core/time.hpp"
#include "gui/consent_timeline.hpp"

namespace consentrig::gui {

class TimelineView final : public QWidget {
    Q_OBJECT
public:
    explicit TimelineView(const ConsentTimeline* timeline, QWidget* parent = nullptr);
    void set_span_ms(core::DurationMs span);
    [[nodiscard]] core::DurationMs span_ms() const { return span_ms_; }
    /// Right edge of the window; the timeline's `now` while following.
    void set_end(core::TimeMs end);
    [[nodiscard]] core::TimeMs end() const { return end_; }
    /// Rows (lane strips and bands) as now laid out; the height follows them.
    void relayout();
    QSize sizeHint() const override;

    /// What a row shows, for tests and tooltips: recipient and category (nullopt: the strip).
    struct Row {
        std::size_t lane = 0;
        std::optional<core::Category> category;
    };
    [[nodiscard]] const std::vector<Row>& rows() const { return rows_; }
    /// Where row `row` shows instant `t` (the middle of the row), in widget coordinates.
    [[nodiscard]] QPoint point_at(std::size_t row, core::TimeMs t) const;
    /// Leak ticks inside the window, over all rows (what is painted red).
    [[nodiscard]] std::size_t visible_leaks() const;

signals:
    /// A click on a band or strip: its recipient and the time under the pointer, with the
    /// tolerance of three pixels (the window selects the nearest message there).
    void picked(const QString& recipient, core::TimeMs t, core::DurationMs slack_ms);

protected:
    void paintEvent(QPaintEvent* e) override;
    bool event(QEvent* e) override;
    void mousePressEvent(QMouseEvent* e) override;

private:
    /// The row and time under a point (false: outside the plot).
    bool hit(const QPoint& pos, std::size_t& row, core::TimeMs& t, core::DurationMs& slack) const;
    [[nodiscard]] int label_width() const;
    [[nodiscard]] int row_height() const;
    [[nodiscard]] int axis_height() const;

    const ConsentTimeline* timeline_;
    core::DurationMs span_ms_ = 5 * 60'000;
    core::TimeMs end_ = 0;
    std::vector<Row> rows_;
};

}  // namespace consentrig::gui
