#include "core/yaml_source.hpp"

#include <array>
#include <cstdio>

#include <yaml-cpp/yaml.h>

namespace consentrig::core {
namespace {
constexpr std::size_t kMaxQuotedChars = 60;       ///< longer values are cut in error messages
constexpr unsigned char kFirstPrintable = 0x20;  ///< ASCII space; below it are control characters
}  // namespace

std::string quote_text(std::string_view s) {
    std::string out = "\"";
    const bool cut = s.size() > kMaxQuotedChars;
    if (cut) s = s.substr(0, kMaxQuotedChars);
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < kFirstPrintable) {
                    constexpr std::size_t kEscapeBuffer = 8;
                    std::array<char, kEscapeBuffer> buf{};
                    std::snprintf(buf.data(), buf.size(), "\\x%02x", static_cast<unsigned>(c));
                    out += buf.data();
                } else {
                    out += c;
                }
        }
    }
    out += cut ? "…\"" : "\"";
    return out;
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return "the text " + quote_text(node.Scalar());
        case YAML::NodeType::Null: return "no value";
        case YAML::NodeType::Undefined: return "no value";
    }
    return "something else";
}

SourceLocation yaml_location(std::string_view file, const YAML::Node& node, const SourceLocation* fallback) {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.line < 0 || mark.column < 0) {
        return fallback != nullptr ? *fallback : SourceLocation{std::string(file), 1, 1};
    }
    return SourceLocation{std::string(file), mark.line + 1, mark.column + 1};
}

SourceLocation yaml_location_or(std::string_view file, const YAML::Node& node, const SourceLocation& parent) {
    if (!node.IsDefined() || node.IsNull()) return parent;
    return yaml_location(file, node, &parent);
}

SourceLocation yaml_location(std::string_view file, const YAML::Exception& e) {
    if (e.mark.is_null()) return SourceLocation{std::string(file), 1, 1};
    return SourceLocation{std::string(file), e.mark.line + 1, e.mark.column + 1};
}

}  // namespace consentrig::core
