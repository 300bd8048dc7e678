#pragma once
/// core/trace.hpp — the trace of PROTOCOL.md §2: JSONL text and a SQLite store.
///
/// A trace is a time-ordered sequence of records (egress, interaction, consent, link, truth,
/// gap) preceded by an optional `meta` line. Readers stream: memory does not grow with trace
/// length. Payload objects (`body`, `state`) are kept as their original JSON text so that
/// evidence shows the message exactly as captured and JSONL ⇄ SQLite round-trips losslessly.
///
///   auto src = open_trace("capture.db");   // or .jsonl; chosen by content, not extension
///   Record rec;
///   for (auto more = src.value()->next(rec); more && *more; more = src.value()->next(rec)) { … }
#include <cstddef>
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

    friend bool operator==(const Record&, const Record&) = default;
};

/// The `meta` line, when present.
struct TraceMeta {
    int version = 1;
    std::string scenario;
    std::string source;    ///< "sim", "bench", …
    std::optional<TimeMs> start;
    std::string timezone;

    friend bool operator==(const TraceMeta&, const TraceMeta&) = default;
};

/// One JSONL line for a record (no trailing newline). Compact, keys in PROTOCOL.md order.
[[nodiscard]] std::string to_jsonl(const Record& record);
[[nodiscard]] std::string to_jsonl(const TraceMeta& meta);

/// Parses one line. `line_no` is used in the error (`line 17: "t" is not an RFC 3339 time`).
/// A `meta` line yields kind meta (use parse_meta for its fields). An unknown kind is an error
/// whose message starts with "unknown kind" so readers can downgrade it to a warning.
[[nodiscard]] Result<Record> parse_record(std::string_view line, std::uint64_t line_no);
[[nodiscard]] Result<TraceMeta> parse_meta(std::string_view line, std::uint64_t line_no);

/// Longest line a trace reader accepts, in bytes without the newline. A longer line is an error
/// (`trace.jsonl: line 7 is longer than 16 MiB`) found without reading the line into memory.
inline constexpr std::size_t kMaxTraceLineBytes = std::size_t{16} << 20;

/// Reads a JSONL file line by line with bounded memory (about kMaxTraceLineBytes + 1 MiB at
/// most, whatever the file). What the JSONL TraceSource and import_jsonl read through; usable by
/// anything that needs lines verbatim. Returns every line, empty ones included.
class JsonlLineReader {
public:
    /// `<path>: cannot open: No such file or directory` and the like.
    [[nodiscard]] static Result<JsonlLineReader> open(const std::filesystem::path& path);
    JsonlLineReader(JsonlLineReader&&) noexcept;
    JsonlLineReader& operator=(JsonlLineReader&&) noexcept;
    ~JsonlLineReader();

    /// The next line without its "\n" (a "\r" before it is kept), nullopt at the end of the
    /// file, or an error naming the file and line. The view stays valid until the next call, and
    /// at least kLinePadding readable bytes follow it in memory (for SIMD parsers).
    [[nodiscard]] Result<std::optional<std::string_view>> next();
    /// 1-based number of the line last returned (0 before the first).
    [[nodiscard]] std::uint64_t line_no() const;
    /// The path as given to open(), used to prefix messages.
    [[nodiscard]] const std::string& name() const;

    static constexpr std::size_t kLinePadding = 64;

private:
    struct Impl;
    explicit JsonlLineReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// True for a line with nothing but spaces, tabs and carriage returns (skipped by readers).
[[nodiscard]] bool is_blank_line(std::string_view line);

/// A stream of records from a JSONL file or a SQLite trace.
class TraceSource {
public:
    virtual ~TraceSource() = default;
    /// Fills `into` with the next record and returns true; false at the end; or an error naming
    /// where (file and line). After an error the source is finished and `into` holds nothing
    /// useful. `meta` lines are consumed into meta(), not returned. `into`'s strings keep their
    /// storage from record to record: a reader of millions of records allocates nothing per
    /// record once they have grown (docs/trace.md).
    [[nodiscard]] virtual Result<bool> next(Record& into) = 0;
    /// The next record as a value, nullopt at the end (for callers that read a few records).
    [[nodiscard]] Result<std::optional<Record>> next();
    [[nodiscard]] virtual const TraceMeta& meta() const = 0;
    /// Non-fatal problems seen so far (unknown kinds skipped, …), each naming where.
    [[nodiscard]] virtual const std::vector<std::string>& warnings() const = 0;
};

/// Opens a trace: SQLite when the file starts with the SQLite header, JSONL otherwise.
/// The meta line (if first) is read at open time so meta() is valid before next().
[[nodiscard]] Result<std::unique_ptr<TraceSource>> open_trace(const std::filesystem::path& path);

/// SQLite trace store (WAL). Tables: `meta(key TEXT PRIMARY KEY, value TEXT)` and
/// `records(seq INTEGER PRIMARY KEY, kind TEXT, t INTEGER, device TEXT, line TEXT)` where
/// `line` is the exact JSONL text. Writes go in transactions of `batch` records, made by the
/// store's own writer thread while the caller goes on (docs/trace.md); a capture cut off
/// mid-write keeps every record of every committed batch. One thread at a time uses a store.
class TraceStore {
public:
    [[nodiscard]] static Result<TraceStore> create(const std::filesystem::path& path);
    TraceStore(TraceStore&&) noexcept;
    TraceStore& operator=(TraceStore&&) noexcept;
    ~TraceStore();  ///< commits what is pending

    [[nodiscard]] Status write_meta(const TraceMeta& meta);
    /// A fact about the capture under its own key in the meta table (docs/trace.md: `complete`,
    /// `replayed_to`); not part of the JSONL export. Committed with the next commit().
    [[nodiscard]] Status put_meta(std::string_view key, std::string_view value);
    /// `line` is the record's JSONL text; empty means "serialise `record` with to_jsonl".
    /// Errors: a write error of an earlier batch (the store writes nothing after one).
    [[nodiscard]] Status append(const Record& record, std::string_view line = {});
    [[nodiscard]] Status commit();  ///< makes everything appended so far durable (waits for it)
    /// The trace's size as of the last batch the writer thread committed: SQLite's pages in
    /// use, in the file and its write-ahead log — what the file measures once closed. A run
    /// projects its final size from it (a WAL file holds pages rewritten commit after commit,
    /// so its size says little). Any thread may ask.
    [[nodiscard]] std::uint64_t committed_bytes() const;
    /// How large the write-ahead log (`-wal` file) grows before SQLite folds it into the trace
    /// and starts it again (SQLite's wal_autocheckpoint, 1,000 pages of 4 KiB; a transaction may
    /// take it a little past that). On disk while the store is open, gone once it is closed.
    [[nodiscard]] std::uint64_t wal_limit_bytes() const;
    void set_batch(std::size_t records) { batch_ = records; }
    /// Builds the `records(device, t)` index (idempotent; commits what is pending first). No
    /// trace has it unless asked for: it is for ad-hoc queries by device, the readers stream
    /// by seq and do not need it, and it would cost inserts (import: about a quarter more time).
    [[nodiscard]] Status create_index();

private:
    struct Impl;
    explicit TraceStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::size_t batch_ = 1024;
};

namespace detail {
/// Internal to core/trace*.cpp (import_jsonl's fast path); not an API. A line checked exactly
/// as parse_record checks it, without building a Record. Unknown kinds are not an error here:
/// `kind` is empty and `kind_name` holds the name. `padded_line` must be followed in memory by
/// JsonlLineReader::kLinePadding readable bytes (lines from JsonlLineReader are).
struct LineInfo {
    std::optional<RecordKind> kind;
    std::string kind_name;
    std::optional<TimeMs> t;  ///< `t`, or `from` for gap
    std::optional<std::string> device;
};
[[nodiscard]] Result<LineInfo> inspect_line(std::string_view padded_line, std::uint64_t line_no);
}  // namespace detail

/// A meta-table value of a SQLite trace (nullopt: no such key). Error: not readable as a trace.
[[nodiscard]] Result<std::optional<std::string>> read_meta_value(const std::filesystem::path& db, std::string_view key);

/// `consentrig trace import`: JSONL → SQLite, keeping every line byte for byte.
[[nodiscard]] Result<std::uint64_t> import_jsonl(const std::filesystem::path& jsonl,
                                                 const std::filesystem::path& db);
/// `consentrig trace export`: SQLite → JSONL (meta line first), identical to what was imported.
[[nodiscard]] Result<std::uint64_t> export_jsonl(const std::filesystem::path& db,
                                                 const std::filesystem::path& jsonl);

}  // namespace consentrig::core
