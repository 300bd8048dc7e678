#include "gui/timeline_view.hpp"

#include <QDateTime>
#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>

#include "gui/palette.hpp"

namespace consentrig::gui {

namespace {
QString cat_name(core::Category c) {
    const auto n = core::to_string(c);
    return QString::fromUtf8(n.data(), static_cast<qsizetype>(n.size()));
}

/// Calls f(x) for each tick in [t0, t1], at most once per pixel column.
template <class F>
void each_tick(const std::deque<core::TimeMs>& ticks, core::TimeMs t0, core::TimeMs t1, F&& x_of, auto&& f) {
    auto it = std::lower_bound(ticks.begin(), ticks.end(), t0);
    int last = -1;
    for (; it != ticks.end() && *it <= t1; ++it) {
        const int x = static_cast<int>(x_of(*it));
        if (x == last) continue;
        last = x;
        f(x);
    }
}

bool inside(const std::deque<TimeInterval>& spells, core::TimeMs t) {
    for (const auto& s : spells) {
        if (t >= s.from && t < s.to) return true;
    }
    return false;
}
}  // namespace

TimelineView::TimelineView(const ConsentTimeline* timeline, QWidget* parent) : QWidget(parent), timeline_(timeline) {
    setObjectName("timelineView");
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMouseTracking(true);
    relayout();
}

void TimelineView::set_span_ms(core::DurationMs span) {
    span_ms_ = std::max<core::DurationMs>(1000, span);
    update();
}

void TimelineView::set_end(core::TimeMs end) {
    end_ = end;
    update();
}

int TimelineView::label_width() const { return fontMetrics().horizontalAdvance(QStringLiteral("M")) * 17; }
int TimelineView::row_height() const { return fontMetrics().height() + 4; }
int TimelineView::axis_height() const { return fontMetrics().height() + 6; }

void TimelineView::relayout() {
    std::vector<Row> rows;
    const auto& lanes = timeline_->lanes();
    for (std::size_t l = 0; l < lanes.size(); ++l) {
        rows.push_back({l, std::nullopt});
        for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
            if (lanes[l].shown.test(c)) rows.push_back({l, static_cast<core::Category>(c)});
        }
    }
    const bool changed = rows.size() != rows_.size() ||
                         !std::equal(rows.begin(), rows.end(), rows_.begin(), [](const Row& a, const Row& b) {
                             return a.lane == b.lane && a.category == b.category;
                         });
    rows_ = std::move(rows);
    if (changed) {
        setMinimumHeight(sizeHint().height());
        updateGeometry();
    }
    update();
}

QSize TimelineView::sizeHint() const {
    return {800, axis_height() + std::max<int>(1, static_cast<int>(rows_.size())) * row_height() + 4};
}

QPoint TimelineView::point_at(std::size_t row, core::TimeMs t) const {
    const int lw = label_width(), pw = std::max(10, width() - lw - 6);
    const double x = lw + static_cast<double>(std::clamp(t, end_ - span_ms_, end_) - (end_ - span_ms_)) * pw / static_cast<double>(span_ms_);
    return {static_cast<int>(x), axis_height() + static_cast<int>(row) * row_height() + row_height() / 2};
}

std::size_t TimelineView::visible_leaks() const {
    const core::TimeMs t0 = end_ - span_ms_;
    std::size_t n = 0;
    auto count = [&](const std::deque<core::TimeMs>& q) {
        n += static_cast<std::size_t>(std::upper_bound(q.begin(), q.end(), end_) - std::lower_bound(q.begin(), q.end(), t0));
    };
    for (const Row& r : rows_) {
        if (r.lane >= timeline_->lanes().size()) continue;
        const TimelineLane& lane = timeline_->lanes()[r.lane];
        count(r.category ? lane.bands[static_cast<std::size_t>(*r.category)].leaks : lane.strip.leaks);
    }
    return n;
}

void TimelineView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const Colors col = colors(palette());
    const QColor text = palette().color(QPalette::Text);
    p.fillRect(rect(), palette().color(QPalette::Base));
    const int lw = label_width(), rh = row_height(), ah = axis_height();
    const int pw = std::max(10, width() - lw - 6);
    const core::TimeMs t1 = end_;
    const core::TimeMs t0 = t1 - span_ms_;
    auto x_of = [&](core::TimeMs t) {
        return lw + static_cast<double>(std::clamp(t, t0, t1) - t0) * pw / static_cast<double>(span_ms_);
    };
    const auto& lanes = timeline_->lanes();
    const core::TimeMs known = std::min(t1, timeline_->now());  // open spells end at `now`
    const int plot_bottom = ah + static_cast<int>(rows_.size()) * rh;

    // time axis
    static constexpr core::DurationMs kSteps[] = {1'000, 5'000, 10'000, 30'000, 60'000, 300'000, 600'000, 1'800'000, 3'600'000};
    core::DurationMs step = kSteps[std::size(kSteps) - 1];
    for (auto s : kSteps) {
        if (span_ms_ / s <= std::max(2, pw / 90)) {
            step = s;
            break;
        }
    }
    for (core::TimeMs t = (t0 / step + 1) * step; t <= t1; t += step) {
        const int x = static_cast<int>(x_of(t));
        p.setPen(col.grid);
        p.drawLine(x, ah - 3, x, plot_bottom);
        p.setPen(text);
        p.drawText(x + 3, ah - 5, QDateTime::fromMSecsSinceEpoch(t).toString(step < 60'000 ? "HH:mm:ss" : "HH:mm"));
    }
    if (rows_.empty()) {
        p.setPen(text);
        p.drawText(rect().adjusted(lw, ah, 0, 0), Qt::AlignLeft | Qt::AlignTop,
                   tr("no recipients yet: connect a board (the policy's partners appear here)"));
        return;
    }

    QFont bold = font();
    bold.setBold(true);
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        const Row& r = rows_[i];
        if (r.lane >= lanes.size()) continue;
        const TimelineLane& lane = lanes[r.lane];
        const int y = point_at(i, t0).y() - rh / 2;
        p.fillRect(QRect(lw, y, pw, rh), (i % 2) ? col.alt_row : col.row);
        p.setFont(r.category ? font() : bold);
        p.setPen(text);
        const QString label = r.category ? QStringLiteral("   ") + cat_name(*r.category) : QString::fromStdString(lane.recipient);
        p.drawText(QRect(4, y, lw - 8, rh), Qt::AlignVCenter | Qt::AlignLeft,
                   fontMetrics().elidedText(label, Qt::ElideRight, lw - 8));
        const TimelineBand& band = r.category ? lane.bands[static_cast<std::size_t>(*r.category)] : lane.strip;
        if (r.category) {
            for (const auto& s : band.consent) {
                if (s.to < t0 || s.from > known) continue;
                const double a = x_of(s.from), b = x_of(std::min(s.to, known));
                p.fillRect(QRectF(a, y + 2, std::max(1.0, b - a), rh - 4), col.consent);
            }
        } else {
            for (const auto& s : lane.unlinked) {
                if (s.to < t0 || s.from > known) continue;
                const double a = x_of(s.from), b = x_of(std::min(s.to, known));
                p.fillRect(QRectF(a, y + 2, std::max(1.0, b - a), rh - 4), col.unlinked);
            }
        }
        p.setPen(QPen(col.send, 1));
        each_tick(band.sends, t0, t1, x_of, [&](int x) { p.drawLine(x, y + 4, x, y + rh - 4); });
        p.setPen(Qt::NoPen);
        each_tick(band.leaks, t0, t1, x_of, [&](int x) { p.fillRect(QRect(x - 1, y, 3, rh), col.leak); });
    }
    // per lane: interactions and consent/link changes across its rows
    for (std::size_t l = 0; l < lanes.size(); ++l) {
        int first = -1, last = -1;
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            if (rows_[i].lane != l) continue;
            if (first < 0) first = static_cast<int>(i);
            last = static_cast<int>(i);
        }
        if (first < 0) continue;
        const int ya = ah + first * rh, yb = ah + (last + 1) * rh;
        p.setPen(QPen(col.interaction, 1.5, Qt::DashLine));
        for (core::TimeMs t : lanes[l].interactions) {
            if (t >= t0 && t <= t1) p.drawLine(QPointF(x_of(t), ya), QPointF(x_of(t), yb));
        }
        for (const auto& m : lanes[l].marks) {
            if (m.t < t0 || m.t > t1) continue;
            p.setPen(QPen(m.revokes ? col.revoke : col.grant, 3));
            p.drawLine(QPointF(x_of(m.t), ya), QPointF(x_of(m.t), yb));
        }
        p.setPen(QPen(palette().color(QPalette::Mid), 1));
        p.drawLine(0, yb, width(), yb);
    }
    // physical interactions (no recipient): across every lane
    p.setPen(QPen(col.physical, 1, Qt::DotLine));
    for (core::TimeMs t : timeline_->physical()) {
        if (t >= t0 && t <= t1) p.drawLine(QPointF(x_of(t), ah), QPointF(x_of(t), plot_bottom));
    }
    // now
    if (timeline_->now() >= t0 && timeline_->now() <= t1) {
        p.setPen(QPen(text, 1, Qt::DotLine));
        const int x = static_cast<int>(x_of(timeline_->now()));
        p.drawLine(x, ah - 3, x, plot_bottom);
    }
}

bool TimelineView::hit(const QPoint& pos, std::size_t& row, core::TimeMs& t, core::DurationMs& slack) const {
    const int lw = label_width(), rh = row_height(), ah = axis_height();
    const int pw = std::max(10, width() - lw - 6);
    if (pos.y() < ah || pos.x() < lw) return false;
    row = static_cast<std::size_t>((pos.y() - ah) / rh);
    if (row >= rows_.size() || rows_[row].lane >= timeline_->lanes().size()) return false;
    t = end_ - span_ms_ + static_cast<core::TimeMs>(static_cast<double>(pos.x() - lw) * span_ms_ / pw);
    slack = std::max<core::DurationMs>(1, 3 * span_ms_ / pw);
    return true;
}

void TimelineView::mousePressEvent(QMouseEvent* e) {
    std::size_t i = 0;
    core::TimeMs t = 0;
    core::DurationMs slack = 0;
    if (e->button() == Qt::LeftButton && hit(e->position().toPoint(), i, t, slack)) {
        emit picked(QString::fromStdString(timeline_->lanes()[rows_[i].lane].recipient), t, slack);
    }
    QWidget::mousePressEvent(e);
}

bool TimelineView::event(QEvent* e) {
    if (e->type() != QEvent::ToolTip) return QWidget::event(e);
    auto* he = static_cast<QHelpEvent*>(e);
    std::size_t i = 0;
    core::TimeMs t = 0;
    core::DurationMs slack = 0;
    if (!hit(he->pos(), i, t, slack)) {
        QToolTip::hideText();
        e->ignore();
        return true;
    }
    const Row& r = rows_[i];
    const TimelineLane& lane = timeline_->lanes()[r.lane];
    QStringList lines;
    lines << QString::fromStdString(lane.recipient) + (r.category ? QStringLiteral(" · ") + cat_name(*r.category) : QString());
    lines << QDateTime::fromMSecsSinceEpoch(t).toString(QStringLiteral("HH:mm:ss.zzz"));
    if (r.category) {
        const TimelineBand& b = lane.bands[static_cast<std::size_t>(*r.category)];
        lines << (inside(b.consent, t) ? tr("consent held") : tr("no consent"));
        const auto near = [&](const std::deque<core::TimeMs>& q) {
            auto it = std::lower_bound(q.begin(), q.end(), t - slack);
            return it != q.end() && *it <= t + slack;
        };
        if (near(b.leaks)) lines << tr("LEAK (see the egress table, Leaks only)");
        else if (near(b.sends)) lines << tr("message");
    } else {
        lines << (inside(lane.unlinked, t) ? tr("unlinked") : tr("linked"));
    }
    for (const auto& m : lane.marks) {
        if (m.t >= t - slack && m.t <= t + slack) lines << QString::fromStdString(m.text);
    }
    QToolTip::showText(he->globalPos(), lines.join('\n'), this);
    return true;
}

}  // namespace consentrig::gui
