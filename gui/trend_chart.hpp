#pragma once
/// gui/trend_chart.hpp — the room temperature curve: the board's TRUTH temperature and
/// setpoint, the plant's true room air and the outdoor temperature, heating spells shaded.
/// Painted by hand (no chart library): a few step series over a scrolling time window.
#include <QWidget>

#include "core/time.hpp"
#include "gui/live_state.hpp"

namespace consentrig::gui {

class TrendChart final : public QWidget {
    Q_OBJECT
public:
    explicit TrendChart(const LiveState* state, QWidget* parent = nullptr);
    /// Width of the time window, ms (default 10 min); the right edge is `now`.
    void set_span_ms(core::DurationMs span) { span_ms_ = span; update(); }
    [[nodiscard]] core::DurationMs span_ms() const { return span_ms_; }
    void set_now(core::TimeMs now) { now_ = now; update(); }
    QSize sizeHint() const override { return {420, 220}; }
    QSize minimumSizeHint() const override { return {240, 140}; }

protected:
    void paintEvent(QPaintEvent* e) override;

private:
    const LiveState* state_;
    core::DurationMs span_ms_ = 10 * 60'000;
    core::TimeMs now_ = 0;
};

}  // namespace consentrig::gui
