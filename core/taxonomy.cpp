#include "core/taxonomy.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <utility>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

namespace consentrig::core {

namespace detail {
extern const char* const kDefaultTaxonomyYaml;  // generated from taxonomy/default.yaml
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// ------------------------------------------------------------------------------------------------
// Compact JSON text of a parsed value (value_json). Written by hand rather than with
// simdjson::to_string so that one std::string is the only allocation per field.

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the current run of characters that need no escaping
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 0xf]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

template <class T>
void append_number(std::string& out, T v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_double(std::string& out, double v) {
    // Fast path for what devices send (20.5, 21.0, -3.25), several times cheaper than the
    // shortest round-trip search below: the fewest decimals k <= 4 such that m / 10^k reads back
    // as exactly v. Only for magnitudes where the shortest form is never scientific, so the text
    // is the same as below (checked against std::to_chars on millions of values).
    static constexpr double kPow10[] = {1, 10, 100, 1000, 10000};
    const double magnitude = std::fabs(v);
    const bool negative_zero = v == 0.0 && std::signbit(v);
    if (!negative_zero && magnitude < 1e5 && (magnitude >= 1e-3 || v == 0.0)) {
        for (int k = 0; k <= 4; ++k) {
            const double scaled = v * kPow10[k];
            auto m = static_cast<std::int64_t>(scaled);
            if (static_cast<double>(m) != scaled || static_cast<double>(m) / kPow10[k] != v) continue;
            while (k > 0 && m % 10 == 0) {  // 1310.660 -> 1310.66: same number, fewer digits
                m /= 10;
                --k;
            }
            const std::uint64_t mag = m < 0 ? static_cast<std::uint64_t>(-m) : static_cast<std::uint64_t>(m);
            char digits[24];
            const auto r = std::to_chars(digits, digits + sizeof digits, mag);
            const auto n = static_cast<std::size_t>(r.ptr - digits);
            if (m < 0) out.push_back('-');
            if (k == 0) {
                out.append(digits, n);
                out += ".0";
                return;
            }
            const auto kk = static_cast<std::size_t>(k);
            if (n <= kk) {  // 0.05 -> "0" "." "05"
                out += "0.";
                out.append(kk - n, '0');
                out.append(digits, n);
            } else {
                out.append(digits, n - kk);
                out.push_back('.');
                out.append(digits + (n - kk), kk);
            }
            return;
        }
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    out += text;
    // Keep a JSON double recognisable as one (21.0, not 21), like the trace writer does.
    if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void append_json(std::string& out, element e) {
    switch (e.type()) {
        case element_type::OBJECT: {
            out.push_back('{');
            bool first = true;
            const simdjson::dom::object obj = e.get_object().value_unsafe();
            for (const auto field : obj) {
                if (!first) out.push_back(',');
                first = false;
                append_json_string(out, field.key);
                out.push_back(':');
                append_json(out, field.value);
            }
            out.push_back('}');
            break;
        }
        case element_type::ARRAY: {
            out.push_back('[');
            bool first = true;
            const simdjson::dom::array arr = e.get_array().value_unsafe();
            for (const element child : arr) {
                if (!first) out.push_back(',');
                first = false;
                append_json(out, child);
            }
            out.push_back(']');
            break;
        }
        case element_type::STRING: append_json_string(out, e.get_string().value_unsafe()); break;
        case element_type::INT64: append_number(out, e.get_int64().value_unsafe()); break;
        case element_type::UINT64: append_number(out, e.get_uint64().value_unsafe()); break;
        case element_type::DOUBLE: append_double(out, e.get_double().value_unsafe()); break;
        case element_type::BOOL: out += e.get_bool().value_unsafe() ? "true" : "false"; break;
        case element_type::NULL_VALUE: out += "null"; break;
    }
}

bool is_container(element e) {
    const auto t = e.type();
    return t == element_type::OBJECT || t == element_type::ARRAY;
}

std::string to_json(element e) {
    std::string out;
    if (is_container(e)) out.reserve(64);  // one allocation for typical values, not a few regrowths
    append_json(out, e);
    return out;
}

/// Member `key` of object `e`, if `e` is an object and has it.
std::optional<element> member(element e, std::string_view key) {
    simdjson::dom::object obj;
    if (e.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
    element out;
    if (obj.at_key(key).get(out) != simdjson::SUCCESS) return std::nullopt;
    return out;
}

/// member() for a literal key: the first member named `key` (as at_key), compared with a
/// fixed-length memcmp the compiler inlines — this runs several times per message.
template <std::size_t N>
std::optional<element> member(element e, const char (&key)[N]) {
    constexpr std::size_t kLen = N - 1;
    simdjson::dom::object obj;
    if (e.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
    for (auto it = obj.begin(), end = obj.end(); it != end; ++it) {
        if (it.key_length() == kLen && std::memcmp(it.key_c_str(), key, kLen) == 0) return it.value();
    }
    return std::nullopt;
}

template <std::size_t N>
std::optional<std::string_view> string_member(element e, const char (&key)[N]) {
    const auto m = member(e, key);
    if (!m) return std::nullopt;
    std::string_view s;
    if (m->get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
    return s;
}

void append_index(std::string& path, std::size_t i) {
    path.push_back('[');
    append_number(path, i);
    path.push_back(']');
}

template <class Out>
void set_error(Out& msg, std::string text) {
    if (msg.error.empty()) msg.error = std::move(text);  // the first problem is the telling one
}

/// One reusable parser and padded input buffer per thread: decode() runs per message.
struct ParseScratch {
    simdjson::dom::parser parser;
    std::vector<char> buffer;
    std::string key, path;  // walk buffers (json key paths, alexa keys), kept for their capacity
};

ParseScratch& scratch() {
    thread_local ParseScratch s;
    return s;
}

// ------------------------------------------------------------------------------------------------
// YAML helpers

std::string where(std::string_view file, const YAML::Mark& mark) {
    std::string out(file);
    if (!mark.is_null()) {
        out += ':' + std::to_string(mark.line + 1) + ':' + std::to_string(mark.column + 1);
    }
    return out;
}

Error yaml_error(std::string_view file, const YAML::Node& node, std::string_view message) {
    return Error{where(file, node.Mark()) + ": " + std::string(message)};
}

std::string in_quotes(std::string_view s) { return '"' + std::string(s) + '"'; }

std::string category_list() {
    std::string out;
    for (const auto name : kCategoryNames) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

std::string join(std::initializer_list<std::string_view> names) {
    std::string out;
    for (const auto name : names) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

/// Parses a decimal or 0x-hex ID up to 32 bits.
std::optional<std::uint32_t> parse_id(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v > 0xffffffffULL) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

}  // namespace

// ================================================================================================

struct Taxonomy::Impl {
    enum class Format { alexa, google, matter, json };

    // ---- loading ------------------------------------------------------------------------------

    /// Checks a key of a `map:` or `ignore:` entry and returns it in the table's spelling.
    static Result<std::string> normalize_key(Format format, const YAML::Node& node,
                                             std::string_view file) {
        if (!node.IsScalar()) return yaml_error(file, node, "a key must be a plain string");
        const std::string& key = node.Scalar();
        if (key.empty()) return yaml_error(file, node, "empty key");
        switch (format) {
            case Format::alexa: {
                const auto dot = key.rfind('.');
                if (dot == std::string::npos || dot == 0 || dot + 1 == key.size()) {
                    return yaml_error(file, node,
                                      "alexa key " + in_quotes(key) +
                                          " must be \"Namespace.name\" or "
                                          "\"Namespace:instance.name\"");
                }
                return key;
            }
            case Format::google: return key;
            case Format::matter: {
                const auto slash = key.find('/');
                const std::string_view cluster = std::string_view(key).substr(0, slash);
                const std::string_view attribute =
                    slash == std::string::npos ? std::string_view{}
                                               : std::string_view(key).substr(slash + 1);
                const auto a = parse_id(attribute);
                const auto c = cluster == "*" ? std::optional<std::uint32_t>(0) : parse_id(cluster);
                if (slash == std::string::npos || !a || !c) {
                    return yaml_error(file, node,
                                      "matter key " + in_quotes(key) +
                                          " must be \"cluster/attribute\" (decimal or 0x hex; "
                                          "cluster may be *)");
                }
                return (cluster == "*" ? std::string("*") : std::to_string(*c)) + '/' +
                       std::to_string(*a);
            }
            case Format::json: {
                std::size_t start = 0;
                while (true) {
                    const auto dot = key.find('.', start);
                    const auto end = dot == std::string::npos ? key.size() : dot;
                    if (end == start) {
                        return yaml_error(file, node,
                                          "json key path " + in_quotes(key) + " has an empty segment");
                    }
                    if (dot == std::string::npos) break;
                    start = dot + 1;
                }
                if (key.find_first_of("[]") != std::string::npos) {
                    return yaml_error(file, node,
                                      "json key path " + in_quotes(key) +
                                          " must not contain array indices (write a.b, not a[0].b)");
                }
                return key;
            }
        }
        return key;  // unreachable
    }

    static Status load_section(Taxonomy& t, Format format, std::string_view section,
                               const YAML::Node& node, std::string_view file) {
        if (node.IsNull()) return {};
        if (!node.IsMap()) {
            return yaml_error(file, node,
                              "section " + in_quotes(section) + " must be a mapping with map: and ignore:");
        }
        Table& table = format == Format::alexa    ? t.alexa_
                       : format == Format::google ? t.google_
                       : format == Format::matter ? t.matter_
                                                  : t.json_;
        std::set<std::string> seen;  // keys this file sets in this section
        for (const auto& entry : node) {
            const YAML::Node& name_node = entry.first;
            const YAML::Node& value = entry.second;
            const std::string name = name_node.IsScalar() ? name_node.Scalar() : std::string{};
            if (name == "map") {
                if (value.IsNull()) continue;
                if (!value.IsMap()) {
                    return yaml_error(file, value, in_quotes(section) + " map must be a mapping key: category");
                }
                for (const auto& m : value) {
                    auto key = normalize_key(format, m.first, file);
                    if (!key.ok()) return key.error();
                    if (!seen.insert(*key).second) {
                        return yaml_error(file, m.first, "duplicate key " + in_quotes(*key));
                    }
                    if (!m.second.IsScalar()) {
                        return yaml_error(file, m.second,
                                          "the category of " + in_quotes(*key) + " must be a name (one of " +
                                              category_list() + ")");
                    }
                    const auto category = category_from_string(m.second.Scalar());
                    if (!category) {
                        return yaml_error(file, m.second,
                                          "unknown category " + in_quotes(m.second.Scalar()) +
                                              " (expected one of " + category_list() + ")");
                    }
                    table.insert_or_assign(std::move(*key), category);
                }
            } else if (name == "ignore") {
                if (value.IsNull()) continue;
                if (!value.IsSequence()) {
                    return yaml_error(file, value, in_quotes(section) + " ignore must be a list of keys");
                }
                for (const auto& k : value) {
                    auto key = normalize_key(format, k, file);
                    if (!key.ok()) return key.error();
                    if (!seen.insert(*key).second) {
                        return yaml_error(file, k,
                                          in_quotes(*key) + " is listed twice (map and ignore, or ignore twice)");
                    }
                    table.insert_or_assign(std::move(*key), std::nullopt);
                }
            } else if (format == Format::json && (name == "cause" || name == "sample_time")) {
                if (!value.IsScalar()) {
                    return yaml_error(file, value, in_quotes(name) + " must be a key path");
                }
                const auto path = normalize_key(Format::json, value, file);
                if (!path.ok()) return path.error();
                (name == "cause" ? t.json_cause_path_ : t.json_sample_time_path_) = *path;
            } else {
                return yaml_error(file, name_node,
                                  "unknown key " + in_quotes(name) + " in section " + in_quotes(section) +
                                      " (expected one of " +
                                      (format == Format::json ? join({"map", "ignore", "cause", "sample_time"})
                                                              : join({"map", "ignore"})) +
                                      ")");
            }
        }
        return {};
    }

    static Status load(Taxonomy& t, const YAML::Node& root, std::string_view file) {
        if (!root || root.IsNull()) return {};  // an empty file adds nothing
        if (!root.IsMap()) {
            return yaml_error(file, root,
                              "a taxonomy must be a mapping with sections alexa, google, matter, json");
        }
        for (const auto& entry : root) {
            const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : std::string{};
            Status s;
            if (name == "version") {
                if (!entry.second.IsScalar() || entry.second.Scalar() != "1") {
                    return yaml_error(file, entry.second, "unsupported taxonomy version (expected 1)");
                }
            } else if (name == "alexa") {
                s = load_section(t, Format::alexa, name, entry.second, file);
            } else if (name == "google") {
                s = load_section(t, Format::google, name, entry.second, file);
            } else if (name == "matter") {
                s = load_section(t, Format::matter, name, entry.second, file);
            } else if (name == "json") {
                s = load_section(t, Format::json, name, entry.second, file);
            } else {
                return yaml_error(file, entry.first,
                                  "unknown section " + in_quotes(name) + " (expected one of " +
                                      join({"version", "alexa", "google", "matter", "json"}) + ")");
            }
            if (!s.ok()) return s;
        }
        return {};
    }

    // ---- decoding -----------------------------------------------------------------------------
    //
    // One walker per format, instantiated twice: into a DecodedMessage (every field with its path,
    // key and value text) and into a MessageSummary (categories and sample times only, nothing
    // allocated). The walkers ask for a field's text through callables that only the first
    // instantiation calls, so both see exactly the same fields, errors and causes.

    /// Looks `key` up; returns false when it is ignored (no field), else sets `category`
    /// (nullopt = unclassified).
    static bool classify(const Table& table, std::string_view key, std::optional<Category>& category) {
        const auto it = table.find(key);
        if (it == table.end()) {
            category.reset();
            return true;
        }
        category = it->second;
        return it->second.has_value();
    }

    template <class Out>
    static constexpr bool kText = std::is_same_v<Out, DecodedMessage>;

    /// A field: `path()`, `key()` and `value()` give its text (called for DecodedMessage only).
    template <class PathFn, class KeyFn, class ValueFn>
    static void add_field(DecodedMessage& msg, PathFn&& path, KeyFn&& key, std::optional<Category> category,
                          std::optional<TimeMs> sample_time, ValueFn&& value) {
        msg.fields.push_back(DecodedField{path(), key(), category, sample_time, value()});
    }
    template <class PathFn, class KeyFn, class ValueFn>
    static void add_field(MessageSummary& sum, PathFn&&, KeyFn&&, std::optional<Category> category,
                          std::optional<TimeMs> sample_time, ValueFn&&) {
        sum.fields.push_back(FieldSummary{category, sample_time});
        if (category) {
            insert(sum.categories, *category);
        } else {
            sum.unclassified = true;
        }
    }

    static bool has_cause(const DecodedMessage& msg) { return msg.cause.has_value(); }
    static bool has_cause(const MessageSummary& sum) { return sum.has_cause; }
    static void set_cause(DecodedMessage& msg, std::string_view cause) { msg.cause = std::string(cause); }
    static void set_cause(MessageSummary& sum, std::string_view cause) {
        sum.has_cause = true;
        sum.cause.assign(cause);
    }

    /// An entry that is not an object is a shape error (the oracle reports the body as
    /// undecodable); it is not also a field, which would report it twice.
    template <class Out>
    static void malformed_entry(Out& msg, std::string_view format, const std::string& path,
                                std::string_view expected) {
        set_error(msg, std::string(format) + ": " + path + " is not " + std::string(expected));
    }

    static std::string indexed(std::string_view where, std::size_t i) {
        std::string path;
        path.reserve(where.size() + 8);
        path += where;
        append_index(path, i);
        return path;
    }

    // alexa -----------------------------------------------------------------------------------

    /// The property at `where[i]`.
    template <class Out>
    static void alexa_property(const Taxonomy& t, Out& msg, element p, std::string_view where, std::size_t i) {
        const auto path = [&] { return indexed(where, i); };
        simdjson::dom::object obj;
        if (p.get_object().get(obj) != simdjson::SUCCESS) {
            malformed_entry(msg, "alexa", path(), "a property object");
            return;
        }
        // One pass over the members (this runs for every property of every message).
        std::string_view ns, name, instance, time_of_sample;
        bool has_ns = false, has_name = false, has_instance = false, has_time = false;
        bool well_formed = true;
        std::optional<element> value;
        for (const auto kv : obj) {
            const std::string_view k = kv.key;
            if (k == "namespace") {
                has_ns = kv.value.get_string().get(ns) == simdjson::SUCCESS;
                well_formed = well_formed && has_ns;
            } else if (k == "name") {
                has_name = kv.value.get_string().get(name) == simdjson::SUCCESS;
                well_formed = well_formed && has_name;
            } else if (k == "instance") {
                has_instance = kv.value.get_string().get(instance) == simdjson::SUCCESS;
                well_formed = well_formed && has_instance;
            } else if (k == "value") {
                value = kv.value;
            } else if (k == "timeOfSample") {
                has_time = kv.value.get_string().get(time_of_sample) == simdjson::SUCCESS;
            }
        }
        if (!well_formed || !has_ns || !has_name) {
            // Still reported: the oracle turns it into an `unclassified` finding.
            add_field(msg, path, path, std::nullopt, std::nullopt, [&] { return to_json(p); });
            return;
        }
        std::string& key = scratch().key;  // kept capacity: no allocation per property
        key.clear();
        key += ns;
        if (has_instance) {
            key += ':';
            key += instance;
        }
        key += '.';
        key += name;
        std::optional<Category> category;
        if (!classify(t.alexa_, key, category)) return;
        std::optional<TimeMs> sample_time;
        if (has_time) sample_time = parse_rfc3339(time_of_sample);
        add_field(msg, path, [&] { return key; }, category, sample_time,
                  [&] { return value ? to_json(*value) : std::string("null"); });
    }

    template <class Out>
    static void alexa_properties(const Taxonomy& t, Out& msg, element list, std::string_view where) {
        simdjson::dom::array arr;
        if (list.get_array().get(arr) != simdjson::SUCCESS) {
            set_error(msg, "alexa: " + std::string(where) + " is not an array");
            return;
        }
        if constexpr (kText<Out>) msg.fields.reserve(msg.fields.size() + arr.size());
        std::size_t i = 0;
        for (const element p : arr) alexa_property(t, msg, p, where, i++);
    }

    template <class Out>
    static void decode_alexa(const Taxonomy& t, Out& msg, element root) {
        const auto event = member(root, "event");
        if (!event || event->type() != element_type::OBJECT) {
            set_error(msg, "alexa: body has no \"event\" object");
            return;
        }
        if constexpr (kText<Out>) msg.fields.reserve(8);
        if (const auto payload = member(*event, "payload")) {
            if (payload->type() != element_type::OBJECT) {
                set_error(msg, "alexa: event.payload is not an object");
            } else if (const auto change = member(*payload, "change")) {
                if (change->type() != element_type::OBJECT) {
                    set_error(msg, "alexa: event.payload.change is not an object");
                } else {
                    if (const auto cause = member(*change, "cause")) {
                        if (const auto type = string_member(*cause, "type")) set_cause(msg, *type);
                    }
                    if (const auto props = member(*change, "properties")) {
                        alexa_properties(t, msg, *props, "event.payload.change.properties");
                    } else {
                        set_error(msg, "alexa: event.payload.change has no \"properties\"");
                    }
                }
            }
        }
        if (const auto context = member(root, "context")) {
            if (context->type() != element_type::OBJECT) {
                set_error(msg, "alexa: context is not an object");
            } else if (const auto props = member(*context, "properties")) {
                alexa_properties(t, msg, *props, "context.properties");
            }
        }
    }

    // google ----------------------------------------------------------------------------------

    template <class Out>
    static void google_devices(const Taxonomy& t, Out& msg, element devices, std::string_view group) {
        const auto section = member(devices, group);
        if (!section) return;
        const auto prefix = [&] {
            std::string out = "payload.devices.";
            out += group;
            return out;
        };
        simdjson::dom::object per_device;
        if (section->get_object().get(per_device) != simdjson::SUCCESS) {
            set_error(msg, "google: " + prefix() + " is not an object");
            return;
        }
        for (const auto device : per_device) {
            const auto device_path = [&] {
                std::string out = prefix();
                out.reserve(out.size() + 1 + device.key.size());
                out += '.';
                out += device.key;
                return out;
            };
            simdjson::dom::object state;
            if (device.value.get_object().get(state) != simdjson::SUCCESS) {
                malformed_entry(msg, "google", device_path(), "an object");
                continue;
            }
            if constexpr (kText<Out>) msg.fields.reserve(msg.fields.size() + state.size());
            for (const auto kv : state) {
                std::optional<Category> category;
                if (!classify(t.google_, kv.key, category)) continue;
                add_field(
                    msg,
                    [&] {
                        std::string path = device_path();
                        path.reserve(path.size() + 1 + kv.key.size());
                        path += '.';
                        path += kv.key;
                        return path;
                    },
                    [&] { return std::string(kv.key); }, category, std::nullopt, [&] { return to_json(kv.value); });
            }
        }
    }

    template <class Out>
    static void decode_google(const Taxonomy& t, Out& msg, element root) {
        const auto payload = member(root, "payload");
        const auto devices = payload ? member(*payload, "devices") : std::nullopt;
        if (!devices || devices->type() != element_type::OBJECT) {
            set_error(msg, "google: body has no \"payload.devices\" object");
            return;
        }
        google_devices(t, msg, *devices, "states");
        google_devices(t, msg, *devices, "notifications");
    }

    // matter ----------------------------------------------------------------------------------

    /// A non-negative integer that fits 32 bits (Matter cluster and attribute IDs).
    static bool read_id(element e, std::uint32_t& out) {
        std::uint64_t v = 0;
        if (e.get_uint64().get(v) != simdjson::SUCCESS || v > 0xffffffffULL) return false;
        out = static_cast<std::uint32_t>(v);
        return true;
    }

    template <class Out>
    static void decode_matter(const Taxonomy& t, Out& msg, element root) {
        const auto reports = member(root, "reports");
        simdjson::dom::array arr;
        if (!reports || reports->get_array().get(arr) != simdjson::SUCCESS) {
            set_error(msg, "matter: body has no \"reports\" array");
            return;
        }
        if constexpr (kText<Out>) msg.fields.reserve(arr.size());
        std::size_t i = 0;
        for (const element r : arr) {
            const std::size_t index = i++;
            const auto path = [&] {
                std::string out = "reports";  // fits the small-string buffer
                append_index(out, index);
                return out;
            };
            simdjson::dom::object obj;
            if (r.get_object().get(obj) != simdjson::SUCCESS) {
                malformed_entry(msg, "matter", path(), "a report object");
                continue;
            }
            std::uint32_t cluster = 0, attribute = 0;
            bool has_cluster = false, has_attribute = false;
            std::optional<element> value;
            for (const auto kv : obj) {
                const std::string_view k = kv.key;
                if (k == "cluster") {
                    has_cluster = read_id(kv.value, cluster);
                } else if (k == "attribute") {
                    has_attribute = read_id(kv.value, attribute);
                } else if (k == "value") {
                    value = kv.value;
                }
            }
            if (!has_cluster || !has_attribute) {
                add_field(msg, path, path, std::nullopt, std::nullopt, [&] { return to_json(r); });
                continue;
            }
            std::string key;  // "4294967295/4294967295" fits 21 chars; usually the SSO buffer
            append_number(key, cluster);
            key += '/';
            append_number(key, attribute);
            std::optional<Category> category;
            auto it = t.matter_.find(key);
            if (it == t.matter_.end()) {
                std::string any = "*/";
                append_number(any, attribute);
                it = t.matter_.find(any);
            }
            if (it != t.matter_.end()) {
                if (!it->second) continue;  // ignored
                category = it->second;
            }
            add_field(msg, path, [&] { return std::move(key); }, category, std::nullopt,
                      [&] { return value ? to_json(*value) : std::string("null"); });
        }
    }

    // json ------------------------------------------------------------------------------------

    template <class Out>
    struct JsonWalk {
        const Taxonomy& t;
        Out& msg;
        std::string& key;   // key path, no indices
        std::string& path;  // path with indices (kept for DecodedMessage only)
        std::optional<TimeMs> sample_time;
        bool sample_time_seen = false;
    };

    static bool covers(std::string_view entry, std::string_view key) {
        return key.size() >= entry.size() && key.compare(0, entry.size(), entry) == 0 &&
               (key.size() == entry.size() || key[entry.size()] == '.');
    }

    template <class Out>
    static void json_leaf(JsonWalk<Out>& w, element e) {
        const Taxonomy& t = w.t;
        if (covers(t.json_cause_path_, w.key)) {
            std::string_view cause;
            if (!has_cause(w.msg) && w.key.size() == t.json_cause_path_.size() &&
                e.get_string().get(cause) == simdjson::SUCCESS) {
                set_cause(w.msg, cause);
            }
            return;
        }
        if (covers(t.json_sample_time_path_, w.key)) {
            std::string_view text;
            if (!w.sample_time_seen && w.key.size() == t.json_sample_time_path_.size() &&
                e.get_string().get(text) == simdjson::SUCCESS) {
                w.sample_time_seen = true;
                w.sample_time = parse_rfc3339(text);
            }
            return;
        }
        // Longest entry that covers the key path: the path itself, then each shorter prefix.
        std::optional<Category> category;
        std::string_view probe = w.key;
        while (true) {
            const auto it = t.json_.find(probe);
            if (it != t.json_.end()) {
                if (!it->second) return;  // ignored
                category = it->second;
                break;
            }
            const auto dot = probe.rfind('.');
            if (dot == std::string_view::npos) break;
            probe = probe.substr(0, dot);
        }
        if constexpr (kText<Out>) {
            if (w.msg.fields.capacity() == 0) w.msg.fields.reserve(8);
        }
        add_field(w.msg, [&] { return w.path; }, [&] { return w.key; }, category, std::nullopt,
                  [&] { return to_json(e); });
    }

    template <class Out>
    static void json_walk(JsonWalk<Out>& w, element e) {
        if (e.type() == element_type::OBJECT) {
            const simdjson::dom::object obj = e.get_object().value_unsafe();
            for (const auto kv : obj) {
                const auto key_len = w.key.size();
                const auto path_len = w.path.size();
                if (key_len != 0) w.key += '.';
                w.key += kv.key;
                if constexpr (kText<Out>) {
                    if (path_len != 0) w.path += '.';
                    w.path += kv.key;
                }
                json_walk(w, kv.value);
                w.key.resize(key_len);
                if constexpr (kText<Out>) w.path.resize(path_len);
            }
            return;
        }
        if (e.type() == element_type::ARRAY) {
            const simdjson::dom::array arr = e.get_array().value_unsafe();
            bool scalars_only = true;
            for (const element child : arr) {
                if (is_container(child)) {
                    scalars_only = false;
                    break;
                }
            }
            if (scalars_only) {  // an array of scalars is one value
                json_leaf(w, e);
                return;
            }
            std::size_t i = 0;
            for (const element child : arr) {
                const auto path_len = w.path.size();
                if constexpr (kText<Out>) append_index(w.path, i++);
                json_walk(w, child);
                if constexpr (kText<Out>) w.path.resize(path_len);
            }
            return;
        }
        json_leaf(w, e);
    }

    template <class Out>
    static void decode_json(const Taxonomy& t, Out& msg, element root) {
        ParseScratch& s = scratch();
        s.key.clear();
        s.path.clear();
        JsonWalk<Out> w{t, msg, s.key, s.path, std::nullopt, false};
        json_walk(w, root);
        if (w.sample_time) {
            for (auto& f : msg.fields) f.sample_time = w.sample_time;
        }
    }

    // the body --------------------------------------------------------------------------------

    template <class Out>
    static void decode(const Taxonomy& t, std::string_view format, std::string_view body_json, Out& msg) {
        try {
            ParseScratch& s = scratch();
            const std::size_t needed = body_json.size() + simdjson::SIMDJSON_PADDING;
            if (s.buffer.size() < needed) s.buffer.resize(needed);
            if (!body_json.empty()) std::memcpy(s.buffer.data(), body_json.data(), body_json.size());
            std::memset(s.buffer.data() + body_json.size(), 0, simdjson::SIMDJSON_PADDING);

            element root;
            if (const auto err = s.parser.parse(s.buffer.data(), body_json.size(), false).get(root);
                err != simdjson::SUCCESS) {
                msg.error = std::string("body is not valid JSON: ") + simdjson::error_message(err);
                return;
            }
            if (root.type() != element_type::OBJECT) {
                msg.error = "body is not a JSON object";
                return;
            }
            if (format == "alexa") {
                decode_alexa(t, msg, root);
            } else if (format == "google") {
                decode_google(t, msg, root);
            } else if (format == "matter") {
                decode_matter(t, msg, root);
            } else if (format == "json") {
                decode_json(t, msg, root);
            } else {
                add_field(
                    msg, [] { return std::string(); }, [&] { return "format:" + std::string(format); }, std::nullopt,
                    std::nullopt, [&] { return to_json(root); });
            }
        } catch (const std::exception& e) {
            set_error(msg, std::string("cannot decode body: ") + e.what());
        } catch (...) {
            set_error(msg, "cannot decode body");
        }
    }
};

// ================================================================================================

CategorySet DecodedMessage::categories() const {
    CategorySet set;
    for (const auto& f : fields) {
        if (f.category) insert(set, *f.category);
    }
    return set;
}

Result<Taxonomy> Taxonomy::builtin() {
    // Parsed once per process; callers get their own copy to extend.
    static const Result<Taxonomy> parsed = []() -> Result<Taxonomy> {
        Taxonomy t;
        const Status s = t.merge_text(detail::kDefaultTaxonomyYaml, "taxonomy/default.yaml");
        if (!s.ok()) return Error{s.error().message + " (in the built-in taxonomy: a build defect)"};
        return t;
    }();
    return parsed;
}

Status Taxonomy::merge_file(const std::filesystem::path& path) {
    std::string text;
    try {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            return Error{path.string() + ": cannot open taxonomy file: " +
                         std::generic_category().message(errno)};
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) return Error{path.string() + ": cannot read taxonomy file"};
        text = std::move(ss).str();
    } catch (const std::exception& e) {
        return Error{path.string() + ": cannot read taxonomy file: " + e.what()};
    }
    return merge_text(text, path.string());
}

Status Taxonomy::merge_text(std::string_view yaml_text, std::string_view file_name) {
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        Taxonomy staged = *this;  // all or nothing: a bad file leaves the taxonomy unchanged
        if (Status s = Impl::load(staged, root, file_name); !s.ok()) return s;
        *this = std::move(staged);
        return {};
    } catch (const YAML::Exception& e) {
        return Error{where(file_name, e.mark) + ": " + e.msg};
    } catch (const std::exception& e) {
        return Error{std::string(file_name) + ": " + e.what()};
    }
}

DecodedMessage Taxonomy::decode(std::string_view format, std::string_view body_json) const {
    DecodedMessage msg;
    Impl::decode(*this, format, body_json, msg);
    return msg;
}

void Taxonomy::summarize(std::string_view format, std::string_view body_json, MessageSummary& out) const {
    out.clear();
    Impl::decode(*this, format, body_json, out);
}

}  // namespace consentrig::core
