#pragma once
/// core/taxonomy.hpp — what a partner message says, in the categories of DESIGN.md.
///
/// A taxonomy is data (YAML, `taxonomy/default.yaml`, compiled into the binary and extendable by
/// users with `--taxonomy FILE`): for each partner format it maps message fields to categories.
/// `decode(format, body)` walks a message body of PROTOCOL.md §2 ("Partner formats inside body")
/// and returns every state-bearing field with its category, or with no category when the
/// taxonomy cannot place it (the oracle turns those into `unclassified` findings — never
/// silence). It also extracts each field's sample time (Alexa `timeOfSample`) and the message's
/// declared cause (Alexa `event.payload.change.cause.type`).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/category.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace consentrig::core {

/// One field of a message that carries (or might carry) device state.
struct DecodedField {
    /// Where it is in the body, readable and stable, e.g.
    /// `context.properties[0]` (Alexa.TemperatureSensor.temperature),
    /// `payload.devices.states.thermo-1.thermostatTemperatureAmbient`,
    /// `reports[0]` (cluster 513 attribute 0), `state.temp` (json).
    std::string path;
    /// What the taxonomy calls it: `Alexa.TemperatureSensor.temperature`,
    /// `thermostatTemperatureAmbient`, `513/0` (cluster/attribute, decimal), `state.temp`.
    std::string key;
    std::optional<Category> category;  ///< nullopt = unclassified
    std::optional<TimeMs> sample_time; ///< when the value was sampled, if the message says
    std::string value_json;            ///< the field's value, compact JSON
};

struct DecodedMessage {
    std::vector<DecodedField> fields;
    std::optional<std::string> cause;  ///< e.g. "VOICE_INTERACTION"
    /// Non-empty when the body does not have the shape its format requires (e.g. an `alexa`
    /// body without `event`); fields decoded before the problem are still returned.
    std::string error;

    [[nodiscard]] CategorySet categories() const;  ///< union of classified fields
    [[nodiscard]] bool state_free() const { return fields.empty(); }
};

/// What decode() finds of one field, without its text: all the oracle needs on its clean path.
struct FieldSummary {
    std::optional<Category> category;   ///< nullopt = unclassified
    std::optional<TimeMs> sample_time;
};

/// decode() without the fields' text (path, key, value): same fields in the same order, same
/// cause and error. Reused from message to message, it allocates nothing once warm.
struct MessageSummary {
    std::vector<FieldSummary> fields;
    CategorySet categories;     ///< union of classified fields
    bool unclassified = false;  ///< some field has no category
    bool has_cause = false;
    std::string cause;          ///< the declared cause when has_cause
    std::string error;          ///< as DecodedMessage::error

    [[nodiscard]] bool state_free() const { return fields.empty(); }
    void clear() {
        fields.clear();
        categories.reset();
        unclassified = false;
        has_cause = false;
        cause.clear();
        error.clear();
    }
};

class Taxonomy {
public:
    /// The shipped taxonomy (taxonomy/default.yaml, embedded at build time).
    [[nodiscard]] static Result<Taxonomy> builtin();

    /// Adds or overrides mappings from a user file with the same schema as the shipped one.
    /// Errors name file:line:col.
    [[nodiscard]] Status merge_file(const std::filesystem::path& path);
    [[nodiscard]] Status merge_text(std::string_view yaml_text, std::string_view file_name);

    /// `format` is one of alexa, google, matter, json. An unknown format yields one field with
    /// no category, key `format:<name>`, so it is reported rather than dropped. A body that is
    /// not valid JSON yields `error` set and no fields.
    [[nodiscard]] DecodedMessage decode(std::string_view format, std::string_view body_json) const;
    /// decode() into `out` (cleared first) without the fields' text: several times cheaper, for
    /// callers that need the text only now and then (the oracle decodes again for evidence).
    void summarize(std::string_view format, std::string_view body_json, MessageSummary& out) const;

private:
    /// Orders keys by length, then bytes: most lookups are settled by the length alone.
    struct ShortLex {
        using is_transparent = void;
        bool operator()(std::string_view a, std::string_view b) const noexcept {
            return a.size() != b.size() ? a.size() < b.size() : a < b;
        }
    };
    /// Mapping tables, filled from YAML. A key mapped to nullopt is listed under `ignore`: it is
    /// known to carry no device state and produces no field.
    using Table = std::map<std::string, std::optional<Category>, ShortLex>;
    Table alexa_;   ///< "Namespace.name" or "Namespace:instance.name"
    Table google_;  ///< Report State key (or notification name)
    Table matter_;  ///< "cluster/attribute" in decimal; "*/attribute" matches any cluster
    Table json_;    ///< key path "a.b.c"; an entry also covers every key path below it
    std::string json_cause_path_ = "cause";             ///< key path of a declared cause
    std::string json_sample_time_path_ = "sampled_at";  ///< key path of an RFC 3339 sample time

    struct Impl;  ///< loading and decoding helpers (taxonomy.cpp); a member, so it sees the tables
};

}  // namespace consentrig::core
