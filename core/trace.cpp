// core/trace.cpp — trace JSONL v1 (PROTOCOL.md §2): parse, serialise, and the two readers.
//
// Parsing uses simdjson On-Demand. One pass over the object's fields does everything: typed
// fields are read as the record's kind requires, everything else (payload objects, unknown
// keys) is walked so the whole line is validated as JSON, and the payload's source text is
// taken verbatim (minified only when it contains whitespace). See docs/trace.md.
#include "core/trace.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace consentrig::core {
namespace od = simdjson::ondemand;

static_assert(JsonlLineReader::kLinePadding >= simdjson::SIMDJSON_PADDING,
              "line views must be followed by simdjson's padding");

// ───────────────────────────── kinds ─────────────────────────────

namespace {
constexpr std::array<std::string_view, 7> kKindNames = {"meta", "egress", "interaction", "consent",
                                                        "link", "truth",  "gap"};
}  // namespace

std::string_view to_string(RecordKind k) {
    const auto i = static_cast<std::size_t>(k);
    return i < kKindNames.size() ? kKindNames[i] : std::string_view{"?"};
}

std::optional<RecordKind> record_kind_from_string(std::string_view name) {
    for (std::size_t i = 0; i < kKindNames.size(); ++i) {
        if (kKindNames[i] == name) return static_cast<RecordKind>(i);
    }
    return std::nullopt;
}

bool is_blank_line(std::string_view line) {
    for (const char c : line) {
        if (c != ' ' && c != '\t' && c != '\r') return false;
    }
    return true;
}

namespace {

// ───────────────────────────── JSON text output ─────────────────────────────

/// Length of the valid UTF-8 sequence starting at p (RFC 3629: no overlongs, no surrogates,
/// nothing above U+10FFFF), or 0 when the bytes there are not one.
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n) {
    const unsigned char c = p[0];
    auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
        return i < n && p[i] >= lo && p[i] <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

/// Appends `s` as a JSON string. Quotes, backslashes and control characters are escaped;
/// valid UTF-8 passes through; an invalid byte becomes U+FFFD so the output is always valid.
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            ++i;
            continue;
        }
        out.append(s.data() + run, i - run);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default:
                    out += "\\u00";
                    out.push_back(kHex[c >> 4]);
                    out.push_back(kHex[c & 0xF]);
            }
            ++i;
        } else if (const std::size_t len = utf8_sequence_length(p + i, n - i); len != 0) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
        run = i;
    }
    out.append(s.data() + run, n - run);
    out.push_back('"');
}

/// A value quoted for an error message: JSON-escaped, cut after 60 bytes.
std::string quote_value(std::string_view s) {
    constexpr std::size_t kMax = 60;
    std::string out;
    if (s.size() <= kMax) {
        append_json_string(out, s);
        return out;
    }
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    append_json_string(out, s.substr(0, cut));
    out.insert(out.size() - 1, "…");
    return out;
}

void append_key(std::string& out, std::string_view key) {
    out.push_back(',');
    out.push_back('"');
    out.append(key);
    out += "\":";
}

void append_string_field(std::string& out, std::string_view key, std::string_view value) {
    append_key(out, key);
    append_json_string(out, value);
}

void append_time_field(std::string& out, std::string_view key, TimeMs t) {
    append_key(out, key);
    out.push_back('"');
    out += format_rfc3339(t);
    out.push_back('"');
}

void append_object_field(std::string& out, std::string_view key, std::string_view json) {
    append_key(out, key);
    out.append(json.empty() ? std::string_view{"{}"} : json);
}

// ───────────────────────────── parsing ─────────────────────────────

enum Key : std::uint8_t {
    K_kind, K_t, K_device, K_to, K_format, K_body, K_via, K_recipient, K_action, K_categories,
    K_granted, K_linked, K_state, K_from, K_reason, K_version, K_scenario, K_source, K_start,
    K_timezone, K_count
};
constexpr std::array<std::string_view, K_count> kKeyNames = {
    "kind",    "t",      "device", "to",    "format", "body",      "via",
    "recipient", "action", "categories", "granted", "linked", "state", "from",
    "reason",  "version", "scenario", "source", "start", "timezone"};

constexpr std::uint32_t bit(Key k) { return std::uint32_t{1} << k; }

Key key_id(std::string_view key) {
    // Called for every key of every line: compare only against names of the same length
    // and first letter.
    if (key.empty()) return K_count;
    for (std::size_t i = 0; i < kKeyNames.size(); ++i) {
        const std::string_view name = kKeyNames[i];
        if (name.size() == key.size() && name[0] == key[0] && std::memcmp(name.data(), key.data(), key.size()) == 0) {
            return static_cast<Key>(i);
        }
    }
    return K_count;
}

constexpr int kUnknownKind = 100;
constexpr int kKindUndetermined = -1;

/// The keys each kind reads (indexed by RecordKind); any other key is validated and ignored.
constexpr std::array<std::uint32_t, 7> kAllowed = {
    bit(K_version) | bit(K_scenario) | bit(K_source) | bit(K_start) | bit(K_timezone),  // meta
    bit(K_t) | bit(K_device) | bit(K_to) | bit(K_format) | bit(K_body),                 // egress
    bit(K_t) | bit(K_device) | bit(K_via) | bit(K_recipient) | bit(K_action),           // interaction
    bit(K_t) | bit(K_device) | bit(K_recipient) | bit(K_categories) | bit(K_granted),   // consent
    bit(K_t) | bit(K_device) | bit(K_recipient) | bit(K_linked),                        // link
    bit(K_t) | bit(K_device) | bit(K_state),                                            // truth
    bit(K_from) | bit(K_to) | bit(K_device) | bit(K_reason),                            // gap
};

/// What one pass over a line's object collects. String views point into the parser's string
/// buffer or the line itself and are valid until the parser parses again.
struct Fields {
    int kind = kKindUndetermined;
    std::string unknown_kind;
    std::uint32_t seen = 0;
    std::array<std::string_view, K_count> str{};
    TimeMs t = 0;
    TimeMs from = 0;
    TimeMs to = 0;
    TimeMs start = 0;
    bool flag = false;
    CategorySet categories;
    std::string_view payload;  ///< raw source text of body/state (may hold whitespace)
    std::int64_t version = 1;
};

Error line_error(std::uint64_t line_no, std::string_view message) {
    std::string m = "line ";
    m += std::to_string(line_no);
    m += ": ";
    m += message;
    return Error{std::move(m)};
}

Error json_error(std::uint64_t line_no, simdjson::error_code e) {
    if (e == simdjson::UTF8_ERROR) return line_error(line_no, "invalid UTF-8");
    std::string m = "invalid JSON: ";
    if (e == simdjson::INCORRECT_TYPE) {
        m += "unexpected token where a value should be";
    } else {
        m += simdjson::error_message(e);
    }
    return line_error(line_no, m);
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// JSON number grammar (RFC 8259 §6), on a token that may carry trailing whitespace.
bool valid_json_number(std::string_view s) {
    std::size_t n = s.size();
    while (n > 0 && is_json_space(s[n - 1])) --n;
    std::size_t i = 0;
    auto digit = [&](std::size_t at) { return at < n && s[at] >= '0' && s[at] <= '9'; };
    if (i < n && s[i] == '-') ++i;
    if (!digit(i)) return false;
    if (s[i] == '0') {
        ++i;
    } else {
        while (digit(i)) ++i;
    }
    if (i < n && s[i] == '.') {
        ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        if (!digit(i)) return false;
        while (digit(i)) ++i;
    }
    return i == n;
}

/// Reads a value completely so that all of it is validated (On-Demand checks only what it
/// touches). Depth is bounded by the parser's max depth.
simdjson::error_code walk(od::value value) {
    od::json_type type{};
    if (auto e = value.type().get(type)) return e;
    switch (type) {
        case od::json_type::object: {
            od::object obj;
            if (auto e = value.get_object().get(obj)) return e;
            for (auto field : obj) {
                std::string_view key;
                if (auto e = field.unescaped_key().get(key)) return e;
                od::value child;
                if (auto e = field.value().get(child)) return e;
                if (auto e = walk(child)) return e;
            }
            return simdjson::SUCCESS;
        }
        case od::json_type::array: {
            od::array arr;
            if (auto e = value.get_array().get(arr)) return e;
            for (auto element : arr) {
                od::value child;
                if (auto e = element.get(child)) return e;
                if (auto e = walk(child)) return e;
            }
            return simdjson::SUCCESS;
        }
        case od::json_type::string: {
            std::string_view s;
            return value.get_string().get(s);
        }
        case od::json_type::number:
            return valid_json_number(value.raw_json_token()) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
        case od::json_type::boolean: {
            bool b = false;
            const auto e = value.get_bool().get(b);
            return e == simdjson::INCORRECT_TYPE ? simdjson::T_ATOM_ERROR : e;
        }
        case od::json_type::null: {
            bool is_null = false;
            if (auto e = value.is_null().get(is_null)) return e;
            return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
        }
    }
    return simdjson::INCORRECT_TYPE;
}

std::string kind_prefix(int kind) {
    if (kind < 0 || kind >= static_cast<int>(kKindNames.size())) return {};
    std::string p{kKindNames[static_cast<std::size_t>(kind)]};
    p += ": ";
    return p;
}

std::string key_quoted(Key k) {
    std::string s = "\"";
    s += kKeyNames[k];
    s += '"';
    return s;
}

/// One pass over the line. When the object does not start with "kind", the pass validates
/// everything, finds the kind, and asks for a second pass (`again`) that reads typed fields.
Status parse_pass(od::parser& parser, const char* data, std::size_t len, std::size_t capacity,
                  std::uint64_t line_no, Fields& f, bool& again) {
    again = false;
    od::document doc;
    if (auto e = parser.iterate(data, len, capacity).get(doc)) return json_error(line_no, e);
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
        if (e == simdjson::INCORRECT_TYPE) return line_error(line_no, "not a JSON object");
        return json_error(line_no, e);
    }
    const bool kind_forced = f.kind != kKindUndetermined;
    for (auto field : obj) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return json_error(line_no, e);
        od::value value;
        if (auto e = field.value().get(value)) return json_error(line_no, e);
        const Key k = key_id(key);

        if (k == K_kind) {
            if (f.seen & bit(K_kind)) return line_error(line_no, "duplicate \"kind\"");
            f.seen |= bit(K_kind);
            od::json_type type{};
            if (auto e = value.type().get(type)) return json_error(line_no, e);
            if (type != od::json_type::string) return line_error(line_no, "\"kind\" must be a string");
            std::string_view name;
            if (auto e = value.get_string().get(name)) return json_error(line_no, e);
            if (!kind_forced) {
                if (auto rk = record_kind_from_string(name)) {
                    f.kind = static_cast<int>(*rk);
                } else {
                    f.kind = kUnknownKind;
                    f.unknown_kind.assign(name);
                }
            }
            continue;
        }
        if (f.kind == kKindUndetermined) {  // a field before "kind": validate now, read later
            again = true;
            if (auto e = walk(value)) return json_error(line_no, e);
            continue;
        }
        if (f.kind == kUnknownKind && !again && (k == K_t || k == K_device)) {
            // Best effort for import's columns; never an error for a kind we do not know.
            od::json_type type{};
            if (auto e = value.type().get(type)) return json_error(line_no, e);
            if (type == od::json_type::string) {
                std::string_view s;
                if (auto e = value.get_string().get(s)) return json_error(line_no, e);
                if (k == K_t) {
                    if (auto t = parse_rfc3339(s)) {
                        f.t = *t;
                        f.seen |= bit(K_t);
                    }
                } else {
                    f.str[K_device] = s;
                    f.seen |= bit(K_device);
                }
            } else if (auto e = walk(value)) {
                return json_error(line_no, e);
            }
            continue;
        }
        if (again || f.kind == kUnknownKind || (kAllowed[static_cast<std::size_t>(f.kind)] & bit(k)) == 0) {
            if (auto e = walk(value)) return json_error(line_no, e);
            continue;
        }
        if (f.seen & bit(k)) return line_error(line_no, "duplicate " + key_quoted(k));
        f.seen |= bit(k);

        od::json_type type{};
        if (auto e = value.type().get(type)) return json_error(line_no, e);
        const auto type_error = [&](std::string_view what) {
            return line_error(line_no, kind_prefix(f.kind) + key_quoted(k) + " must be " + std::string(what));
        };
        const bool is_time = k == K_t || k == K_from || k == K_start || (k == K_to && f.kind == static_cast<int>(RecordKind::gap));
        switch (k) {
            case K_body:
            case K_state: {
                if (type != od::json_type::object) return type_error("an object");
                const char* begin = value.raw_json_token().data();
                if (auto e = walk(value)) return json_error(line_no, e);
                const char* end = nullptr;
                if (auto e = doc.current_location().get(end)) return json_error(line_no, e);
                f.payload = std::string_view(begin, static_cast<std::size_t>(end - begin));
                break;
            }
            case K_categories: {
                if (type != od::json_type::array) return type_error("a list of category names");
                od::array arr;
                if (auto e = value.get_array().get(arr)) return json_error(line_no, e);
                for (auto element : arr) {
                    od::value item;
                    if (auto e = element.get(item)) return json_error(line_no, e);
                    od::json_type item_type{};
                    if (auto e = item.type().get(item_type)) return json_error(line_no, e);
                    if (item_type != od::json_type::string) {
                        if (auto e = walk(item)) return json_error(line_no, e);
                        return type_error("a list of category names");
                    }
                    std::string_view name;
                    if (auto e = item.get_string().get(name)) return json_error(line_no, e);
                    if (name == "all") {
                        f.categories.set();
                    } else if (auto c = category_from_string(name)) {
                        insert(f.categories, *c);
                    } else {
                        return line_error(line_no, kind_prefix(f.kind) + "unknown category " + quote_value(name));
                    }
                }
                break;
            }
            case K_granted:
            case K_linked: {
                if (type != od::json_type::boolean) return type_error("true or false");
                if (auto e = value.get_bool().get(f.flag)) {
                    return json_error(line_no, e == simdjson::INCORRECT_TYPE ? simdjson::T_ATOM_ERROR : e);
                }
                break;
            }
            case K_version: {
                if (type != od::json_type::number) return type_error("an integer");
                if (value.get_int64().get(f.version) != simdjson::SUCCESS) return type_error("an integer");
                break;
            }
            default: {
                if (type != od::json_type::string) return type_error("a string");
                std::string_view s;
                if (auto e = value.get_string().get(s)) return json_error(line_no, e);
                if (is_time) {
                    const auto t = parse_rfc3339(s);
                    if (!t) return line_error(line_no, key_quoted(k) + " is not an RFC 3339 time: " + quote_value(s));
                    (k == K_t ? f.t : k == K_from ? f.from : k == K_to ? f.to : f.start) = *t;
                }
                f.str[k] = s;
            }
        }
    }
    // Anything after the object (`{…}{…}`) makes the line invalid.
    const char* rest = nullptr;
    if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
        return line_error(line_no, "invalid JSON: more content after the object");
    }
    if (f.kind == kKindUndetermined) return line_error(line_no, "missing \"kind\"");
    return {};
}

/// Parses a line whose buffer has at least simdjson::SIMDJSON_PADDING readable bytes after `len`.
Status parse_fields(od::parser& parser, const char* data, std::size_t len, std::size_t capacity,
                    std::uint64_t line_no, Fields& f) {
    // RFC 8259 §8.1 lets a parser ignore a byte order mark; editors on Windows add one.
    if (len >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
        capacity -= 3;
    }
    bool again = false;
    if (auto s = parse_pass(parser, data, len, capacity, line_no, f, again); !s) return s;
    if (again) {
        const int kind = f.kind;
        std::string unknown = std::move(f.unknown_kind);
        f = Fields{};
        f.kind = kind;
        f.unknown_kind = std::move(unknown);
        if (auto s = parse_pass(parser, data, len, capacity, line_no, f, again); !s) return s;
    }
    return {};
}

/// A huge line leaves the parser with huge buffers; let them go (only once nothing points
/// into them any more).
void release_if_huge(od::parser& parser) {
    if (parser.capacity() > (std::size_t{4} << 20)) parser = od::parser{};
}

/// True when `s` holds a byte <= 0x20. In validated JSON such a byte can only be whitespace
/// (control characters inside strings must be escaped), so false means "already minified".
bool has_control_or_space(std::string_view s) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, s.data() + i, 8);
        // Some byte < 0x21 (bytes >= 0x80 are masked out by ~w).
        if (((w - kOnes * 0x21) & ~w & kHigh) != 0) return true;
    }
    for (; i < s.size(); ++i) {
        if (static_cast<unsigned char>(s[i]) <= 0x20) return true;
    }
    return false;
}

/// The payload's text without whitespace outside strings.
Status minified(std::string_view raw, std::string& out, std::uint64_t line_no) {
    if (!has_control_or_space(raw)) {
        out.assign(raw);
        return {};
    }
    out.resize(raw.size() + simdjson::SIMDJSON_PADDING);
    std::size_t out_len = 0;
    if (auto e = simdjson::minify(raw.data(), raw.size(), out.data(), out_len)) {
        return json_error(line_no, e);
    }
    out.resize(out_len);
    return {};
}

/// The per-kind rules of PROTOCOL.md §2 (required fields, allowed values). Not for meta or
/// unknown kinds.
Status validate_fields(const Fields& f, std::uint64_t line_no) {
    const auto kind = static_cast<RecordKind>(f.kind);
    const std::string prefix = kind_prefix(f.kind);
    auto missing = [&](Key k) { return line_error(line_no, prefix + "missing " + key_quoted(k)); };
    auto require = [&](std::initializer_list<Key> keys) -> Status {
        for (const Key k : keys) {
            if ((f.seen & bit(k)) == 0) return missing(k);
        }
        return {};
    };
    auto non_empty = [&](Key k) -> Status {
        if (f.str[k].empty()) return line_error(line_no, prefix + key_quoted(k) + " is empty");
        return {};
    };
    Status s;
    switch (kind) {
        case RecordKind::egress:
            s = require({K_t, K_device, K_to, K_format, K_body});
            if (s) s = non_empty(K_to);
            if (s) s = non_empty(K_format);
            break;
        case RecordKind::interaction:
            s = require({K_t, K_device, K_via});
            if (s && f.str[K_via] != "voice" && f.str[K_via] != "app" && f.str[K_via] != "physical") {
                s = line_error(line_no, prefix + "\"via\" must be \"voice\", \"app\" or \"physical\", not " +
                                            quote_value(f.str[K_via]));
            }
            if (s && f.str[K_via] != "physical") {
                s = require({K_recipient});
                if (s) s = non_empty(K_recipient);
            }
            break;
        case RecordKind::consent:
            s = require({K_t, K_device, K_recipient, K_categories, K_granted});
            if (s) s = non_empty(K_recipient);
            if (s && f.categories.none()) {
                s = line_error(line_no, prefix + "\"categories\" must name at least one category");
            }
            break;
        case RecordKind::link:
            s = require({K_t, K_device, K_recipient, K_linked});
            if (s) s = non_empty(K_recipient);
            break;
        case RecordKind::truth:
            s = require({K_t, K_device, K_state});
            break;
        case RecordKind::gap:
            s = require({K_from, K_to, K_device});
            if (s && f.to < f.from) s = line_error(line_no, prefix + "\"to\" is before \"from\"");
            break;
        case RecordKind::meta:
            break;
    }
    if (!s) return s.error();
    if (auto d = non_empty(K_device); !d) return d.error();
    if (f.str[K_device] == "*" && kind != RecordKind::consent && kind != RecordKind::link &&
        kind != RecordKind::gap) {
        return line_error(line_no, prefix + "\"device\" may be \"*\" only in consent, link and gap lines");
    }
    return {};
}

/// Fills `r` from a parsed line, every field (what the line does not set is reset), reusing the
/// storage of r's strings: a reader fills one Record over and over.
Status fill_record(Fields& f, std::uint64_t line_no, Record& r) {
    if (f.kind == kUnknownKind) return Error{"unknown kind " + quote_value(f.unknown_kind)};
    const auto kind = static_cast<RecordKind>(f.kind);
    r.kind = kind;
    r.line = line_no;
    r.t = 0;
    r.t_end = 0;
    r.device.clear();
    r.recipient.clear();
    r.format.clear();
    r.via.clear();
    r.action.clear();
    r.categories = CategorySet{};
    r.flag = false;
    r.payload.clear();
    if (kind == RecordKind::meta) return {};
    if (auto s = validate_fields(f, line_no); !s) return s.error();

    r.device.assign(f.str[K_device]);
    r.t = kind == RecordKind::gap ? f.from : f.t;
    switch (kind) {
        case RecordKind::egress:
            r.recipient.assign(f.str[K_to]);
            r.format.assign(f.str[K_format]);
            if (auto m = minified(f.payload, r.payload, line_no); !m) return m.error();
            break;
        case RecordKind::interaction:
            r.via.assign(f.str[K_via]);
            r.recipient.assign(f.str[K_recipient]);
            r.action.assign(f.str[K_action]);
            break;
        case RecordKind::consent:
            r.recipient.assign(f.str[K_recipient]);
            r.categories = f.categories;
            r.flag = f.flag;
            break;
        case RecordKind::link:
            r.recipient.assign(f.str[K_recipient]);
            r.flag = f.flag;
            break;
        case RecordKind::truth:
            if (auto m = minified(f.payload, r.payload, line_no); !m) return m.error();
            break;
        case RecordKind::gap:
            r.t_end = f.to;
            r.payload.assign(f.str[K_reason]);
            break;
        case RecordKind::meta:
            break;
    }
    return {};
}

Result<Record> record_from_fields(Fields& f, std::uint64_t line_no) {
    Record r;
    if (auto s = fill_record(f, line_no, r); !s) return s.error();
    return r;
}

/// Parses a line (padded for simdjson) into `into`.
Status parse_record_into(od::parser& parser, const char* data, std::size_t len, std::size_t capacity,
                         std::uint64_t line_no, Record& into) {
    Fields f;
    auto s = parse_fields(parser, data, len, capacity, line_no, f);
    if (s) s = fill_record(f, line_no, into);
    release_if_huge(parser);
    return s;
}

Result<TraceMeta> meta_from_fields(const Fields& f, std::uint64_t line_no) {
    if (f.kind != static_cast<int>(RecordKind::meta)) {
        return line_error(line_no, "not a meta line (kind " +
                                       quote_value(f.kind == kUnknownKind ? std::string_view{f.unknown_kind}
                                                                     : to_string(static_cast<RecordKind>(f.kind))) +
                                       ")");
    }
    if (f.version != 1) {
        return line_error(line_no, "meta: trace version " + std::to_string(f.version) +
                                       " is not supported (this build reads version 1)");
    }
    TraceMeta m;
    m.version = 1;
    m.scenario.assign(f.str[K_scenario]);
    m.source.assign(f.str[K_source]);
    m.timezone.assign(f.str[K_timezone]);
    if (f.seen & bit(K_start)) m.start = f.start;
    return m;
}

/// A line copied into a padded buffer (for callers whose text has no padding after it).
class PaddedCopy {
public:
    const char* copy(std::string_view line) {
        const std::size_t need = line.size() + simdjson::SIMDJSON_PADDING;
        if (buf_.size() < need) buf_.resize(need);
        if (!line.empty()) std::memcpy(buf_.data(), line.data(), line.size());
        std::memset(buf_.data() + line.size(), 0, simdjson::SIMDJSON_PADDING);
        return buf_.data();
    }
    [[nodiscard]] std::size_t capacity() const { return buf_.size(); }
    void shrink() {
        if (buf_.size() > (std::size_t{4} << 20)) std::string{}.swap(buf_);
    }

private:
    std::string buf_;
};

struct ThreadParser {
    od::parser parser;
    PaddedCopy buffer;
};
ThreadParser& thread_parser() {
    thread_local ThreadParser tp;
    return tp;
}

}  // namespace

// ───────────────────────────── public: parse / serialise ─────────────────────────────

Result<Record> parse_record(std::string_view line, std::uint64_t line_no) {
    try {
        auto& tp = thread_parser();
        const char* data = tp.buffer.copy(line);
        Record r;
        auto s = parse_record_into(tp.parser, data, line.size(), tp.buffer.capacity(), line_no, r);
        tp.buffer.shrink();
        if (!s) return s.error();
        return r;
    } catch (const std::exception& e) {
        return line_error(line_no, std::string("cannot parse: ") + e.what());
    }
}

Result<TraceMeta> parse_meta(std::string_view line, std::uint64_t line_no) {
    try {
        auto& tp = thread_parser();
        const char* data = tp.buffer.copy(line);
        Fields f;
        auto s = parse_fields(tp.parser, data, line.size(), tp.buffer.capacity(), line_no, f);
        auto m = s ? meta_from_fields(f, line_no) : Result<TraceMeta>(s.error());
        release_if_huge(tp.parser);
        tp.buffer.shrink();
        return m;
    } catch (const std::exception& e) {
        return line_error(line_no, std::string("cannot parse: ") + e.what());
    }
}

namespace detail {

Result<LineInfo> inspect_line(std::string_view padded_line, std::uint64_t line_no) {
    try {
        auto& tp = thread_parser();
        Fields f;
        auto s = parse_fields(tp.parser, padded_line.data(), padded_line.size(),
                              padded_line.size() + JsonlLineReader::kLinePadding, line_no, f);
        if (s && f.kind != kUnknownKind && f.kind != static_cast<int>(RecordKind::meta)) {
            s = validate_fields(f, line_no);
        }
        Result<LineInfo> out = Error{};
        if (s) {
            LineInfo info;
            if (f.kind == kUnknownKind) {
                info.kind_name = std::move(f.unknown_kind);
            } else {
                info.kind = static_cast<RecordKind>(f.kind);
                info.kind_name = to_string(*info.kind);
            }
            if (f.seen & bit(K_t)) info.t = f.t;
            if (f.seen & bit(K_from)) info.t = f.from;
            if (f.seen & bit(K_device)) info.device.emplace(f.str[K_device]);
            out = std::move(info);
        } else {
            out = s.error();
        }
        release_if_huge(tp.parser);
        return out;
    } catch (const std::exception& e) {
        return line_error(line_no, std::string("cannot parse: ") + e.what());
    }
}

}  // namespace detail

std::string to_jsonl(const Record& r) {
    std::string out;
    out.reserve(96 + r.device.size() + r.recipient.size() + r.payload.size());
    out += "{\"kind\":\"";
    out += to_string(r.kind);
    out.push_back('"');
    if (r.kind != RecordKind::meta && r.kind != RecordKind::gap) {  // every event opens with t, device
        append_time_field(out, "t", r.t);
        append_string_field(out, "device", r.device);
    }
    switch (r.kind) {
        case RecordKind::meta:
            break;
        case RecordKind::egress:
            append_string_field(out, "to", r.recipient);
            append_string_field(out, "format", r.format);
            append_object_field(out, "body", r.payload);
            break;
        case RecordKind::interaction:
            append_string_field(out, "via", r.via);
            if (!r.recipient.empty()) append_string_field(out, "recipient", r.recipient);
            if (!r.action.empty()) append_string_field(out, "action", r.action);
            break;
        case RecordKind::consent: {
            append_string_field(out, "recipient", r.recipient);
            append_key(out, "categories");
            out.push_back('[');
            if (r.categories.all()) {
                out += "\"all\"";
            } else {
                bool first = true;
                for (std::size_t i = 0; i < kCategoryCount; ++i) {
                    if (!r.categories.test(i)) continue;
                    if (!first) out.push_back(',');
                    first = false;
                    out.push_back('"');
                    out += kCategoryNames[i];
                    out.push_back('"');
                }
            }
            out.push_back(']');
            append_key(out, "granted");
            out += r.flag ? "true" : "false";
            break;
        }
        case RecordKind::link:
            append_string_field(out, "recipient", r.recipient);
            append_key(out, "linked");
            out += r.flag ? "true" : "false";
            break;
        case RecordKind::truth:
            append_object_field(out, "state", r.payload);
            break;
        case RecordKind::gap:
            append_time_field(out, "from", r.t);
            append_time_field(out, "to", r.t_end);
            append_string_field(out, "device", r.device);
            if (!r.payload.empty()) append_string_field(out, "reason", r.payload);
            break;
    }
    out.push_back('}');
    return out;
}

std::string to_jsonl(const TraceMeta& m) {
    std::string out = "{\"kind\":\"meta\",\"version\":";
    out += std::to_string(m.version);
    if (!m.scenario.empty()) append_string_field(out, "scenario", m.scenario);
    if (!m.source.empty()) append_string_field(out, "source", m.source);
    if (m.start) append_time_field(out, "start", *m.start);
    if (!m.timezone.empty()) append_string_field(out, "timezone", m.timezone);
    out.push_back('}');
    return out;
}

// ───────────────────────────── JsonlLineReader ─────────────────────────────

struct JsonlLineReader::Impl {
    static constexpr std::size_t kChunk = std::size_t{1} << 20;
    static constexpr std::size_t kMaxData = kMaxTraceLineBytes + 1 + kChunk;

    std::string name;
    int fd = -1;
    std::unique_ptr<char[]> buf;
    std::size_t data_cap = 0;  ///< bytes usable for data; kLinePadding more are allocated
    std::size_t begin = 0;     ///< start of the unreturned data
    std::size_t end = 0;       ///< end of the data read so far
    std::size_t scanned = 0;   ///< [begin, scanned) holds no newline
    bool eof = false;
    std::uint64_t line_no = 0;

    ~Impl() {
        if (fd >= 0) ::close(fd);
    }

    Error error(std::string_view what) const { return Error{name + ": " + std::string(what)}; }

    void grow(std::size_t new_cap) {
        auto fresh = std::make_unique<char[]>(new_cap + kLinePadding);  // zeroed: padding is defined
        std::memcpy(fresh.get(), buf.get() + begin, end - begin);
        end -= begin;
        scanned -= begin;
        begin = 0;
        buf = std::move(fresh);
        data_cap = new_cap;
    }

    Result<std::optional<std::string_view>> next() {
        for (;;) {
            if (scanned < end) {
                const void* nl = std::memchr(buf.get() + scanned, '\n', end - scanned);
                if (nl != nullptr) {
                    const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.get());
                    ++line_no;
                    if (at - begin > kMaxTraceLineBytes) return too_long();
                    std::string_view line(buf.get() + begin, at - begin);
                    begin = scanned = at + 1;
                    return std::optional<std::string_view>{line};
                }
                scanned = end;
            }
            if (end - begin > kMaxTraceLineBytes) {
                ++line_no;
                return too_long();
            }
            if (eof) {
                if (begin == end) return std::optional<std::string_view>{};
                ++line_no;
                std::string_view line(buf.get() + begin, end - begin);
                begin = scanned = end;
                return std::optional<std::string_view>{line};
            }
            // Make room: slide the partial line to the front, grow when it fills the buffer.
            if (begin > 0 && (begin == end || data_cap - end < kChunk)) {
                std::memmove(buf.get(), buf.get() + begin, end - begin);
                end -= begin;
                scanned -= begin;
                begin = 0;
            }
            if (data_cap - end < kChunk / 4) {
                grow(std::min(kMaxData, data_cap * 2));
            }
            const ssize_t n = ::read(fd, buf.get() + end, data_cap - end);
            if (n < 0) {
                if (errno == EINTR) continue;
                return error(std::string("read error: ") + std::strerror(errno));
            }
            if (n == 0) {
                eof = true;
            } else {
                end += static_cast<std::size_t>(n);
            }
        }
    }

    Error too_long() {
        eof = true;
        begin = scanned = end = 0;
        return error("line " + std::to_string(line_no) + " is longer than 16 MiB");
    }
};

JsonlLineReader::JsonlLineReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonlLineReader::JsonlLineReader(JsonlLineReader&&) noexcept = default;
JsonlLineReader& JsonlLineReader::operator=(JsonlLineReader&&) noexcept = default;
JsonlLineReader::~JsonlLineReader() = default;

Result<JsonlLineReader> JsonlLineReader::open(const std::filesystem::path& path) {
    try {
        auto impl = std::make_unique<Impl>();
        impl->name = path.string();
        impl->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (impl->fd < 0) return impl->error(std::string("cannot open: ") + std::strerror(errno));
        struct stat st {};
        if (::fstat(impl->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            return impl->error(std::string("cannot open: ") + std::strerror(EISDIR));
        }
        impl->data_cap = Impl::kChunk;
        impl->buf = std::make_unique<char[]>(impl->data_cap + kLinePadding);
        return JsonlLineReader(std::move(impl));
    } catch (const std::exception& e) {
        return Error{path.string() + ": cannot open: " + e.what()};
    }
}

Result<std::optional<std::string_view>> JsonlLineReader::next() {
    try {
        return impl_->next();
    } catch (const std::exception& e) {
        return impl_->error(std::string("read error: ") + e.what());
    }
}

std::uint64_t JsonlLineReader::line_no() const { return impl_->line_no; }
const std::string& JsonlLineReader::name() const { return impl_->name; }

// ───────────────────────────── sources ─────────────────────────────

namespace {

std::string prefixed(const std::string& name, std::string_view message) {
    std::string s = name;
    s += ": ";
    s += message;
    return s;
}

bool starts_with_unknown_kind(const Error& e) { return e.message.rfind("unknown kind", 0) == 0; }

/// What the JSONL and the SQLite reader share: the name errors and warnings carry, the meta,
/// the warnings, the end after an error, and what a parsed line becomes.
class RecordSource : public TraceSource {
public:
    using TraceSource::next;
    Result<bool> next(Record& into) final {
        try {
            return next_impl(into);
        } catch (const std::exception& e) {
            done_ = true;
            return Error{prefixed(name_, std::string("read error: ") + e.what())};
        }
    }
    const TraceMeta& meta() const final { return meta_; }
    const std::vector<std::string>& warnings() const final { return warnings_; }

protected:
    explicit RecordSource(std::string name) : name_(std::move(name)) {}
    virtual Result<bool> next_impl(Record& into) = 0;

    /// A line parsed into `into`: true (the record next() returns), or the error that ends the
    /// source, or nothing when the line is skipped (an unknown kind, a late meta line: a warning
    /// says so).
    std::optional<Result<bool>> take(const Status& parsed, const Record& into, std::uint64_t line_no) {
        if (!parsed) {
            if (!starts_with_unknown_kind(parsed.error())) {
                done_ = true;
                return Result<bool>{Error{prefixed(name_, parsed.error().message)}};
            }
            warnings_.push_back(prefixed(name_, "line " + std::to_string(line_no) + ": " +
                                                    parsed.error().message + " skipped"));
            return std::nullopt;
        }
        if (into.kind == RecordKind::meta) {
            warnings_.push_back(prefixed(name_, "line " + std::to_string(line_no) +
                                                    ": meta line is not the first line; ignored"));
            return std::nullopt;
        }
        return Result<bool>{true};
    }

    std::string name_;
    TraceMeta meta_;
    std::vector<std::string> warnings_;
    bool done_ = false;
};

class JsonlSource final : public RecordSource {
public:
    explicit JsonlSource(JsonlLineReader reader) : RecordSource(reader.name()), reader_(std::move(reader)) {}

    /// Reads up to the first non-blank line: the meta line, or the first record kept for next().
    Status start() {
        for (;;) {
            auto line = reader_.next();
            if (!line) return line.error();
            if (!*line) return {};
            if (is_blank_line(**line)) continue;
            const std::uint64_t no = reader_.line_no();
            Fields f;
            auto s = parse_fields(parser_, (*line)->data(), (*line)->size(),
                                  (*line)->size() + JsonlLineReader::kLinePadding, no, f);
            if (s && f.kind == static_cast<int>(RecordKind::meta)) {
                auto m = meta_from_fields(f, no);
                release_if_huge(parser_);
                if (!m) return Error{prefixed(name_, m.error().message)};
                meta_ = std::move(*m);
                return {};
            }
            pending_.emplace(s ? record_from_fields(f, no) : Result<Record>(s.error()));
            release_if_huge(parser_);
            return {};
        }
    }


private:
    Result<bool> next_impl(Record& into) override {
        if (done_) return false;
        for (;;) {
            Status parsed;
            std::uint64_t no = 0;
            if (pending_) {
                no = reader_.line_no();
                if (*pending_) {
                    into = std::move(pending_->value());
                } else {
                    parsed = pending_->error();
                }
                pending_.reset();
            } else {
                auto line = reader_.next();
                if (!line) {
                    done_ = true;
                    return line.error();
                }
                if (!*line) {
                    done_ = true;
                    return false;
                }
                if (is_blank_line(**line)) continue;
                no = reader_.line_no();
                parsed = parse_record_into(parser_, (*line)->data(), (*line)->size(),
                                           (*line)->size() + JsonlLineReader::kLinePadding, no, into);
            }
            if (auto out = take(parsed, into, no)) return std::move(*out);
        }
    }

    JsonlLineReader reader_;
    od::parser parser_;
    std::optional<Result<Record>> pending_;
};

/// SQLite's message for `rc`, in words for the failures people actually meet.
std::string sqlite_message(sqlite3* db, int rc) {
    const int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT) return "database disk image is malformed — the file may be truncated";
    if (primary == SQLITE_NOTADB) return "file is not a database (or its header is damaged)";
    return db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

class SqliteSource final : public RecordSource {
public:
    explicit SqliteSource(std::string name) : RecordSource(std::move(name)) {}
    ~SqliteSource() override {
        sqlite3_finalize(records_);
        sqlite3_close_v2(db_);
    }
    SqliteSource(const SqliteSource&) = delete;
    SqliteSource& operator=(const SqliteSource&) = delete;

    Status open(const std::filesystem::path& path) {
        const auto pages = header_pages(path);
        int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        sqlite3_busy_timeout(db_, 5000);
        truncated_ = pages && pages->in_file < pages->in_header;
        if (truncated_) {
            // SQLite refuses a file shorter than its header says outright. With writable_schema
            // (harmless: the connection is read-only) it reads what is there and reports
            // "malformed" at the first missing page, so every readable record still comes out.
            warnings_.push_back(prefixed(name_, "the file is shorter than its header says (" +
                                                    std::to_string(pages->in_file) + " of " +
                                                    std::to_string(pages->in_header) +
                                                    " pages) — it may be truncated"));
            rc = sqlite3_exec(db_, "PRAGMA writable_schema=ON", nullptr, nullptr, nullptr);
            if (rc != SQLITE_OK) return fail(rc);
        }
        // The meta line, if any.
        sqlite3_stmt* meta = nullptr;
        rc = sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = 'line'", -1, &meta, nullptr);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(meta);
            if (rc == SQLITE_ROW) {
                const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(meta, 0));
                const std::string line = text != nullptr ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(meta, 0))) : std::string{};
                sqlite3_finalize(meta);
                auto m = parse_meta(line, 1);
                if (!m) return Error{prefixed(name_, "meta: " + m.error().message)};
                meta_ = std::move(*m);
            } else {
                sqlite3_finalize(meta);
                if (rc != SQLITE_DONE) return fail(rc);
            }
        } else if (std::string_view(sqlite3_errmsg(db_)).rfind("no such table", 0) != 0) {
            return fail(rc);
        }
        rc = sqlite3_prepare_v2(db_, "SELECT seq, line FROM records ORDER BY seq", -1, &records_, nullptr);
        if (rc != SQLITE_OK) {
            if (std::string_view(sqlite3_errmsg(db_)).rfind("no such table", 0) == 0) {
                if (truncated_) return fail(SQLITE_CORRUPT);  // the schema itself was cut off
                return Error{prefixed(name_, "not a consentrig trace (it has no \"records\" table)")};
            }
            return fail(rc);
        }
        return {};
    }


private:
    Error fail(int rc) const { return Error{prefixed(name_, sqlite_message(db_, rc))}; }

    struct Pages {
        std::uint64_t in_header = 0;
        std::uint64_t in_file = 0;
    };
    /// Page counts from the database header (when it is valid) and from the file size.
    static std::optional<Pages> header_pages(const std::filesystem::path& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return std::nullopt;
        unsigned char h[100] = {};
        std::size_t got = 0;
        while (got < sizeof h) {
            const ssize_t n = ::read(fd, h + got, sizeof h - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        struct stat st {};
        const bool stat_ok = ::fstat(fd, &st) == 0;
        ::close(fd);
        if (got < sizeof h || !stat_ok) return std::nullopt;
        auto be32 = [&](std::size_t at) {
            return (std::uint32_t{h[at]} << 24) | (std::uint32_t{h[at + 1]} << 16) | (std::uint32_t{h[at + 2]} << 8) |
                   std::uint32_t{h[at + 3]};
        };
        std::uint32_t page_size = (std::uint32_t{h[16]} << 8) | h[17];
        if (page_size == 1) page_size = 65536;
        if (page_size < 512 || (page_size & (page_size - 1)) != 0) return std::nullopt;
        // The in-header size counts only when "version-valid-for" matches the change counter.
        if (be32(92) != be32(24) || be32(28) == 0) return std::nullopt;
        return Pages{be32(28), static_cast<std::uint64_t>(st.st_size) / page_size};
    }

    Result<bool> next_impl(Record& into) override {
        while (!done_) {
            const int rc = sqlite3_step(records_);
            if (rc == SQLITE_DONE) {
                done_ = true;
                break;
            }
            if (rc != SQLITE_ROW) {
                done_ = true;
                return fail(rc);
            }
            const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(records_, 0));
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(records_, 1));
            if (text == nullptr) {
                done_ = true;
                return Error{prefixed(name_, "line " + std::to_string(seq) + ": no line text stored")};
            }
            const std::string_view line(text, static_cast<std::size_t>(sqlite3_column_bytes(records_, 1)));
            const char* data = buffer_.copy(line);
            const Status parsed = parse_record_into(parser_, data, line.size(), buffer_.capacity(), seq, into);
            buffer_.shrink();
            if (auto out = take(parsed, into, seq)) return std::move(*out);
        }
        return false;
    }

    sqlite3* db_ = nullptr;
    sqlite3_stmt* records_ = nullptr;
    od::parser parser_;
    PaddedCopy buffer_;
    bool truncated_ = false;
};

constexpr char kSqliteHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                    'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

}  // namespace

Result<std::optional<Record>> TraceSource::next() {
    Record r;
    auto more = next(r);
    if (!more) return more.error();
    if (!*more) return std::optional<Record>{};
    return std::optional<Record>{std::move(r)};
}

Result<std::unique_ptr<TraceSource>> open_trace(const std::filesystem::path& path) {
    try {
        auto reader = JsonlLineReader::open(path);
        if (!reader) return reader.error();
        // Sniff the header through a separate descriptor; the reader has not read anything yet.
        // Only regular files: a pipe (/dev/stdin) would lose what the sniff reads, and SQLite
        // cannot read a pipe anyway.
        bool is_sqlite = false;
        struct stat st {};
        const bool regular = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
        if (const int fd = regular ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1; fd >= 0) {
            char head[16] = {};
            std::size_t got = 0;
            while (got < sizeof head) {
                const ssize_t n = ::read(fd, head + got, sizeof head - got);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                got += static_cast<std::size_t>(n);
            }
            ::close(fd);
            is_sqlite = got == sizeof head && std::memcmp(head, kSqliteHeader, sizeof head) == 0;
        }
        if (is_sqlite) {
            auto src = std::make_unique<SqliteSource>(path.string());
            if (auto s = src->open(path); !s) return s.error();
            return std::unique_ptr<TraceSource>(std::move(src));
        }
        auto src = std::make_unique<JsonlSource>(std::move(*reader));
        if (auto s = src->start(); !s) return s.error();
        return std::unique_ptr<TraceSource>(std::move(src));
    } catch (const std::exception& e) {
        return Error{path.string() + ": " + e.what()};
    }
}

}  // namespace consentrig::core
