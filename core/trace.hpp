#pragma once
/// core/trace.hpp — the trace of PROTOCOL.md §2: JSONL text and a SQLite store.
///
/// A trace is a time-ordered sequence of records (egress, interaction, consent, link, truth,
/// gap) preceded by an optional `meta` line. Readers stream: memory does not grow with trace
/// length. Payload objects (`body`, `state`) are kept as their original JSON text so that
/// evidence shows the message exactly as captured and JSONL ⇄ SQLite round-trips losslessly.
///
///   auto src = open_trace("capture.db");   // or .jsonl; chosen by content, not extension
///   while (auto rec = src.value()->next()) { … }   // see TraceSource::next
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/category.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace consentrig::core {

enum class RecordKind : std::uint8_t { meta, egress, interaction, consent, link, truth, gap };
[[nodiscard]] std::string_view to_string(RecordKind k);
[[nodiscard]] std::optional<RecordKind> record_kind_from_string(std::string_view name);

/// One trace line. Which members are meaningful depends on `kind` (see PROTOCOL.md §2).
struct Record {
    RecordKind kind = RecordKind::egress;
    TimeMs t = 0;              ///< for `gap`: `from`
    TimeMs t_end = 0;          ///< `gap` only: `to`
    std::string device;        ///< may be "*" in consent and link
    std::string recipient;     ///< egress `to`; interaction/consent/link `recipient`
    std::string format;        ///< egress
    std::string via;           ///< interaction
    std::string action;        ///< interaction
    CategorySet categories;    ///< consent (`["all"]` sets every bit)
    bool flag = false;         ///< consent `granted`, link `linked`
    std::string payload;       ///< egress `body` / truth `state` as compact JSON text; gap `reason`
    std::uint64_t line = 0;    ///< 1-based line number in the source (0 when not from a file)
};

/// The `meta` line, when present.
struct TraceMeta {
    int version = 1;
    std::string scenario;
    std::string source;    ///< "sim", "bench", …
    std::optional<TimeMs> start;
    std::string timezone;
};

/// One JSONL line for a record (no trailing newline). Compact, keys in PROTOCOL.md order.
[[nodiscard]] std::string to_jsonl(const Record& record);
[[nodiscard]] std::string to_jsonl(const TraceMeta& meta);

/// Parses one line. `line_no` is used in the error (`line 17: "t" is not an RFC 3339 time`).
/// A `meta` line yields kind meta (use parse_meta for its fields). An unknown kind is an error
/// whose message starts with "unknown kind" so readers can downgrade it to a warning.
[[nodiscard]] Result<Record> parse_record(std::string_view line, std::uint64_t line_no);
[[nodiscard]] Result<TraceMeta> parse_meta(std::string_view line, std::uint64_t line_no);

/// A stream of records from a JSONL file or a SQLite trace.
class TraceSource {
public:
    virtual ~TraceSource() = default;
    /// The next record, nullopt at the end, or an error naming where (file and line). After an
    /// error the source is finished. `meta` lines are consumed into meta(), not returned.
    [[nodiscard]] virtual Result<std::optional<Record>> next() = 0;
    [[nodiscard]] virtual const TraceMeta& meta() const = 0;
    /// Non-fatal problems seen so far (unknown kinds skipped, …), each naming where.
    [[nodiscard]] virtual const std::vector<std::string>& warnings() const = 0;
};

/// Opens a trace: SQLite when the file starts with the SQLite header, JSONL otherwise.
/// The meta line (if first) is read at open time so meta() is valid before next().
[[nodiscard]] Result<std::unique_ptr<TraceSource>> open_trace(const std::filesystem::path& path);

/// SQLite trace store (WAL). Tables: `meta(key TEXT PRIMARY KEY, value TEXT)` and
/// `records(seq INTEGER PRIMARY KEY, kind TEXT, t INTEGER, device TEXT, line TEXT)` where
/// `line` is the exact JSONL text. Writes go in transactions of `batch` records; a capture cut
/// off mid-write keeps every record of every committed batch.
class TraceStore {
public:
    [[nodiscard]] static Result<TraceStore> create(const std::filesystem::path& path);
    TraceStore(TraceStore&&) noexcept;
    TraceStore& operator=(TraceStore&&) noexcept;
    ~TraceStore();  ///< commits what is pending

    [[nodiscard]] Status write_meta(const TraceMeta& meta);
    /// `line` is the record's JSONL text; empty means "serialise `record` with to_jsonl".
    [[nodiscard]] Status append(const Record& record, std::string_view line = {});
    [[nodiscard]] Status commit();  ///< makes everything appended so far durable
    void set_batch(std::size_t records) { batch_ = records; }

private:
    struct Impl;
    explicit TraceStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::size_t batch_ = 1024;
};

/// `consentrig trace import`: JSONL → SQLite, keeping every line byte for byte.
[[nodiscard]] Result<std::uint64_t> import_jsonl(const std::filesystem::path& jsonl,
                                                 const std::filesystem::path& db);
/// `consentrig trace export`: SQLite → JSONL (meta line first), identical to what was imported.
[[nodiscard]] Result<std::uint64_t> export_jsonl(const std::filesystem::path& db,
                                                 const std::filesystem::path& jsonl);

}  // namespace consentrig::core
