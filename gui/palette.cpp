#include "gui/palette.hpp"

namespace consentrig::gui {

bool is_dark(const QPalette& p) { return p.color(QPalette::Base).lightness() < 128; }

Colors colors(const QPalette& p) {
    Colors c;
    c.dark = is_dark(p);
    if (!c.dark) {
        c.consent = QColor(0xa5, 0xd6, 0xa7);
        c.unlinked = QColor(0x75, 0x75, 0x75);
        c.send = QColor(0x15, 0x65, 0xc0);
        c.leak = QColor(0xd5, 0x00, 0x00);
        c.leak_row = QColor(255, 205, 205);
        c.interaction = QColor(0x6a, 0x1b, 0x9a);
        c.physical = QColor(0x8d, 0x6e, 0x63);
        c.revoke = QColor(0xef, 0x6c, 0x00);
        c.grant = QColor(0x2e, 0x7d, 0x32);
        c.row = QColor(0xf4, 0xf4, 0xf4);
        c.alt_row = QColor(0xff, 0xff, 0xff);
        c.grid = QColor(0xe3, 0xe3, 0xe3);
        c.temperature = QColor(0x15, 0x65, 0xc0);
        c.setpoint = QColor(0xef, 0x6c, 0x00);
        c.room = QColor(0x2e, 0x7d, 0x32);
        c.outdoor = QColor(0x75, 0x75, 0x75);
        c.heating = QColor(0xff, 0x98, 0x00, 50);
    } else {
        c.consent = QColor(0x2e, 0x6b, 0x34);
        c.unlinked = QColor(0x9e, 0x9e, 0x9e);
        c.send = QColor(0x64, 0xb5, 0xf6);
        c.leak = QColor(0xff, 0x52, 0x52);
        c.leak_row = QColor(120, 28, 28);
        c.interaction = QColor(0xce, 0x93, 0xd8);
        c.physical = QColor(0xbc, 0xaa, 0xa4);
        c.revoke = QColor(0xff, 0xa7, 0x26);
        c.grant = QColor(0x66, 0xbb, 0x6a);
        c.row = p.color(QPalette::Base).lighter(115);
        c.alt_row = p.color(QPalette::Base);
        c.grid = p.color(QPalette::Base).lighter(160);
        c.temperature = QColor(0x64, 0xb5, 0xf6);
        c.setpoint = QColor(0xff, 0xb7, 0x4d);
        c.room = QColor(0x81, 0xc7, 0x84);
        c.outdoor = QColor(0xbd, 0xbd, 0xbd);
        c.heating = QColor(0xff, 0x98, 0x00, 60);
    }
    return c;
}

}  // namespace consentrig::gui
