#include "gui/trend_chart.hpp"

#include <QDateTime>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <limits>

#include "gui/palette.hpp"

namespace consentrig::gui {

TrendChart::TrendChart(const LiveState* state, QWidget* parent) : QWidget(parent), state_(state) {
    setObjectName("trendChart");
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void TrendChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const Colors col = colors(palette());
    p.fillRect(rect(), palette().color(QPalette::Base));
    const QFontMetrics fm = p.fontMetrics();
    const int left = fm.horizontalAdvance(QStringLiteral("-00.0 °C")) + 8;
    // legend items, wrapped onto as many lines as the width needs
    struct Item {
        QColor c;
        QString text;
        Qt::PenStyle style;
    };
    std::vector<Item> items{{col.temperature, tr("TRUTH"), Qt::SolidLine}, {col.setpoint, tr("setpoint"), Qt::DashLine}};
    if (!state_->room().points().empty()) items.push_back({col.room, tr("room (plant)"), Qt::SolidLine});
    if (const auto& o = state_->outdoor().points(); !o.empty()) {
        items.push_back({col.outdoor, tr("outdoor %1 °C").arg(o.back().value, 0, 'f', 1), Qt::DotLine});
    }
    items.push_back({col.heating, tr("heating"), Qt::NoPen});
    std::vector<QPoint> at;  // each item's top-left
    {
        int x = left, line = 0;
        for (const auto& it : items) {
            const int w = 20 + fm.horizontalAdvance(it.text) + 12;
            if (x > left && x + w > width()) {
                x = left;
                ++line;
            }
            at.emplace_back(x, 3 + line * fm.height());
            x += w;
        }
    }
    const int top = (at.empty() ? 1 : at.back().y() / fm.height() + 1) * fm.height() + 8;
    const int bottom = fm.height() + 6;
    const QRect plot(left, top, std::max(10, width() - left - 8), std::max(10, height() - top - bottom));
    const core::TimeMs t1 = now_;
    const core::TimeMs t0 = t1 - span_ms_;
    auto x_of = [&](core::TimeMs t) {
        return plot.left() + static_cast<double>(t - t0) * plot.width() / static_cast<double>(span_ms_);
    };

    // y range over what is visible (the step before the window counts: it holds into it)
    double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
    // the room's curves set the scale; the outdoor line is drawn where it fits and named in
    // the legend with its value (a winter outdoor temperature would flatten the room's curve)
    const TrendSeries* series[] = {&state_->temperature(), &state_->setpoint(), &state_->room()};
    for (const TrendSeries* s : series) {
        const auto& pts = s->points();
        auto it = std::lower_bound(pts.begin(), pts.end(), t0, [](const TrendPoint& a, core::TimeMs t) { return a.t < t; });
        if (it != pts.begin()) --it;
        for (; it != pts.end() && it->t <= t1; ++it) {
            lo = std::min(lo, it->value);
            hi = std::max(hi, it->value);
        }
    }
    if (lo > hi) {
        lo = 18;
        hi = 24;
    }
    const double mid = (lo + hi) / 2;
    const double half = std::max(1.0, (hi - lo) / 2 + 0.5);
    lo = std::floor(mid - half);
    hi = std::ceil(mid + half);
    auto y_of = [&](double v) { return plot.bottom() - (v - lo) * plot.height() / (hi - lo); };

    // heating spells
    for (const auto& h : state_->heating()) {
        if (h.to < t0 || h.from > t1) continue;
        const double a = x_of(std::max(h.from, t0));
        const double b = x_of(std::min(h.to, t1));
        p.fillRect(QRectF(a, plot.top(), std::max(1.0, b - a), plot.height()), col.heating);
    }
    // grid and axes
    p.setPen(col.grid);
    const double step = (hi - lo) > 12 ? 5 : (hi - lo) > 5 ? 2 : (hi - lo) > 2.5 ? 1 : 0.5;
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
        const double y = y_of(v);
        p.setPen(col.grid);
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QRectF(0, y - fm.height() / 2.0, left - 4, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                   QStringLiteral("%1 °C").arg(v, 0, 'f', step < 1 ? 1 : 0));
    }
    static constexpr core::DurationMs kSteps[] = {15'000, 30'000, 60'000, 120'000, 300'000, 600'000, 1'800'000, 3'600'000, 7'200'000};
    core::DurationMs xstep = kSteps[std::size(kSteps) - 1];
    for (auto st : kSteps) {
        if (static_cast<double>(st) * plot.width() / static_cast<double>(span_ms_) >= fm.horizontalAdvance("00:00:00") + 16) {
            xstep = st;
            break;
        }
    }
    for (core::TimeMs t = (t0 / xstep + 1) * xstep; t <= t1; t += xstep) {
        const double x = x_of(t);
        p.setPen(col.grid);
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QRectF(x - 40, plot.bottom() + 2, 80, fm.height()), Qt::AlignHCenter,
                   QDateTime::fromMSecsSinceEpoch(t).toString(xstep < 60'000 ? "HH:mm:ss" : "HH:mm"));
    }
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(plot);

    // step series
    p.setRenderHint(QPainter::Antialiasing);
    p.setClipRect(plot);
    auto draw = [&](const TrendSeries& s, const QPen& pen) {
        const auto& pts = s.points();
        if (pts.empty()) return;
        auto it = std::lower_bound(pts.begin(), pts.end(), t0, [](const TrendPoint& a, core::TimeMs t) { return a.t < t; });
        if (it != pts.begin()) --it;
        QPainterPath path;
        bool first = true;
        double last_y = 0;
        for (; it != pts.end() && it->t <= t1; ++it) {
            const double x = x_of(std::max(it->t, t0));
            const double y = y_of(it->value);
            if (first) path.moveTo(x, y);
            else {
                path.lineTo(x, last_y);
                path.lineTo(x, y);
            }
            first = false;
            last_y = y;
        }
        if (!first) path.lineTo(x_of(t1), last_y);
        p.strokePath(path, pen);
    };
    draw(state_->outdoor(), QPen(col.outdoor, 1.5, Qt::DotLine));
    draw(state_->room(), QPen(col.room, 1.5));
    draw(state_->setpoint(), QPen(col.setpoint, 1.5, Qt::DashLine));
    draw(state_->temperature(), QPen(col.temperature, 2));
    p.setClipping(false);

    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& it = items[i];
        const int x = at[i].x(), y = at[i].y() + fm.height() / 2;
        if (it.style == Qt::NoPen) p.fillRect(QRect(x, y - 5, 16, 10), it.c);
        else {
            p.setPen(QPen(it.c, 2, it.style));
            p.drawLine(x, y, x + 16, y);
        }
        p.setPen(palette().color(QPalette::Text));
        p.drawText(x + 20, at[i].y() + fm.ascent(), it.text);
    }
}

}  // namespace consentrig::gui
