#include "reports/escape.hpp"

#include <cstdint>
#include <cstdio>

namespace consentrig::reports {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

/// Length of the valid UTF-8 sequence at `s[i]`, or 0 when it is not one (RFC 3629: no
/// overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    if (b0 < 0x80) return 1;
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; }
    else return 0;
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<std::uint8_t>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    // C1 controls (U+0080–U+009F) are as dangerous on a terminal as C0.
    if (cp >= 0x80 && cp <= 0x9F) return 0;
    return len;
}

template <class OnChar>
std::string sanitise(std::string_view s, bool keep_newlines, OnChar&& on_ascii) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<std::uint8_t>(s[i]);
        if (b < 0x80) {
            const bool control = b < 0x20 || b == 0x7F;
            if (control && !(b == '\t' || (keep_newlines && b == '\n'))) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02X", b);
                out += buf;
            } else {
                on_ascii(out, static_cast<char>(b));
            }
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence(s, i);
        if (len == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(s.substr(i, len));
            i += len;
        }
    }
    return out;
}

}  // namespace

std::string printable(std::string_view bytes, bool keep_newlines) {
    return sanitise(bytes, keep_newlines, [](std::string& out, char c) { out += c; });
}

std::string xml_escape(std::string_view bytes, bool keep_newlines) {
    return sanitise(bytes, keep_newlines, [](std::string& out, char c) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    });
}

std::string markdown_escape(std::string_view bytes) {
    return sanitise(bytes, false, [](std::string& out, char c) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\\': case '`': case '*': case '_': case '{': case '}': case '[': case ']': case '(': case ')':
            case '#': case '+': case '-': case '.': case '!': case '|': case '~': case ':': case '$':
                out += '\\';
                out += c;
                break;
            default: out += c;
        }
    });
}

}  // namespace consentrig::reports
