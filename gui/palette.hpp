#pragma once
/// gui/palette.hpp — the colours of the live views, for a light or a dark system palette. The
/// light set is the HTML report's (reports/html.cpp) so the window and the report read alike;
/// the dark set keeps the same meaning with enough contrast on a dark base.
#include <QColor>
#include <QPalette>

namespace consentrig::gui {

struct Colors {
    bool dark = false;
    QColor consent;      ///< consent held
    QColor unlinked;
    QColor send;         ///< a message tick
    QColor leak;         ///< a leak tick (and the egress table's leak rows: leak_row)
    QColor leak_row;
    QColor interaction;  ///< interaction via the recipient
    QColor physical;     ///< physical interaction (keypad, dial)
    QColor revoke;       ///< withdrawal / unlink mark
    QColor grant;        ///< consent given back / linked mark
    QColor row, alt_row, grid;
    QColor temperature, setpoint, room, outdoor, heating;
};

/// Dark when the palette's base colour is dark (the system's dark mode).
[[nodiscard]] bool is_dark(const QPalette& p);
[[nodiscard]] Colors colors(const QPalette& p);

}  // namespace consentrig::gui
