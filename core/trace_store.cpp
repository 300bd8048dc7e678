// core/trace_store.cpp — the SQLite trace store, and JSONL import/export (see docs/trace.md).
//
// Schema (user_version 1, application_id 0x43524731 "CRG1"):
//   meta(key TEXT PRIMARY KEY, value TEXT)     key 'line' = the meta JSONL line verbatim, plus
//                                              'version', 'scenario', 'source', 'start',
//                                              'timezone' for SQL convenience
//   records(seq INTEGER PRIMARY KEY, kind TEXT, t INTEGER, device TEXT, line TEXT NOT NULL)
//   index records_device_t ON records(device, t) — only by create_index(); not by import, where
//                                              it would cost a quarter of the time
#include "core/trace.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace consentrig::core {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE records(seq INTEGER PRIMARY KEY, kind TEXT, t INTEGER, device TEXT, line TEXT NOT NULL);";
constexpr const char* kIndex = "CREATE INDEX IF NOT EXISTS records_device_t ON records(device, t)";
constexpr const char* kInsert = "INSERT INTO records(seq, kind, t, device, line) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kInsertMeta = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)";
/// Pages in use (in the file and its write-ahead log) times their size.
constexpr const char* kLogicalBytes = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

std::string prefixed(const std::filesystem::path& path, std::string_view message) {
    std::string s = path.string();
    s += ": ";
    s += message;
    return s;
}

std::string sqlite_message(sqlite3* db, int rc) {
    const int last_errno = errno;  // before anything else can set it
    const int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT) return "database disk image is malformed — the file may be truncated";
    if (primary == SQLITE_NOTADB) return "file is not a database (or its header is damaged)";
    if (db == nullptr) return sqlite3_errstr(rc);
    std::string message = sqlite3_errmsg(db);
    // "disk I/O error" alone does not say that the disk is full or the file too large. SQLite
    // keeps the OS error only for some failures; a failed write leaves it in errno.
    int os_errno = sqlite3_system_errno(db);
    if (os_errno == 0 && (sqlite3_extended_errcode(db) == SQLITE_IOERR_WRITE || primary == SQLITE_FULL)) os_errno = last_errno;
    if ((primary == SQLITE_IOERR || primary == SQLITE_FULL) && os_errno != 0) {
        message += " (" + std::error_code(os_errno, std::generic_category()).message() + ")";
    }
    return message;
}

/// Refuses to overwrite: a trace file is evidence. An existing empty file is fine (mktemp).
Status check_new_file(const std::filesystem::path& path, bool& existed) {
    std::error_code ec;
    existed = false;
    const auto st = std::filesystem::status(path, ec);
    if (!ec && std::filesystem::exists(st)) {
        if (std::filesystem::is_directory(st)) return Error{prefixed(path, "is a directory")};
        const auto size = std::filesystem::file_size(path, ec);
        if (ec || size > 0) return Error{prefixed(path, "already exists and is not empty; refusing to overwrite it")};
        existed = true;
    }
    auto wal = path;
    wal += "-wal";
    if (std::filesystem::exists(wal, ec) && std::filesystem::file_size(wal, ec) > 0) {
        return Error{prefixed(path, "a write-ahead log (" + wal.filename().string() +
                                        ") from an earlier database is next to it; refusing to overwrite it")};
    }
    return {};
}

void remove_db_files(const std::filesystem::path& path, bool existed) {
    std::error_code ec;
    if (existed) {
        std::filesystem::resize_file(path, 0, ec);
    } else {
        std::filesystem::remove(path, ec);
    }
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        auto p = path;
        p += suffix;
        std::filesystem::remove(p, ec);
    }
}

/// An open SQLite connection with the statements the writers use.
struct Connection {
    std::filesystem::path path;
    sqlite3* db = nullptr;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* insert_meta = nullptr;
    sqlite3_stmt* logical_bytes_query = nullptr;
    std::uint64_t wal_limit_bytes = 0;  ///< TraceStore::wal_limit_bytes; 0 without a write-ahead log

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { close(); }

    void close() {
        sqlite3_finalize(insert);
        sqlite3_finalize(insert_meta);
        sqlite3_finalize(logical_bytes_query);
        insert = insert_meta = logical_bytes_query = nullptr;
        if (db != nullptr) sqlite3_close_v2(db);
        db = nullptr;
    }

    Error fail(int rc) const { return Error{prefixed(path, sqlite_message(db, rc))}; }

    Status exec(const char* sql) const {
        const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        return {};
    }

    /// Creates the file and the schema. `bulk`: no journal, no syncs (import; the source file
    /// still exists if we die) — switched to WAL by finish_bulk().
    Status create(bool bulk) {
        int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        sqlite3_busy_timeout(db, 5000);
        // page_size before cache_size: a cache size in KiB is turned into pages at the page size
        // in force, so the other order made the cache 16 times larger (1 GiB of 64 KiB pages).
        const char* pragmas = bulk ? "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=65536; PRAGMA cache_size=-65536;"
                                   : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        if (auto s = exec(pragmas); !s) return s;
        if (auto s = exec("PRAGMA application_id=1129465649; PRAGMA user_version=1;"); !s) return s;
        if (auto s = exec("BEGIN"); !s) return s;
        if (auto s = exec(kSchema); !s) return s;
        if (auto s = exec("COMMIT"); !s) return s;
        if (!bulk) {
            // WAL must really be on: it is what makes committed batches survive a crash cheaply.
            sqlite3_stmt* st = nullptr;
            std::string mode;
            if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW) {
                mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            }
            sqlite3_finalize(st);
            if (mode != "wal") return Error{prefixed(path, "cannot switch the database to WAL mode")};
            // How far the write-ahead log grows before SQLite folds it into the file (wal_autocheckpoint
            // is not among the pragmas a query can read as a table).
            wal_limit_bytes = pragma_value("PRAGMA wal_autocheckpoint") * pragma_value("PRAGMA page_size");
        }
        rc = sqlite3_prepare_v3(db, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        rc = sqlite3_prepare_v3(db, kInsertMeta, -1, SQLITE_PREPARE_PERSISTENT, &insert_meta, nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        rc = sqlite3_prepare_v3(db, kLogicalBytes, -1, SQLITE_PREPARE_PERSISTENT, &logical_bytes_query, nullptr);
        if (rc != SQLITE_OK) return fail(rc);
        return {};
    }

    /// A pragma's integer value (0 if it has none).
    [[nodiscard]] std::uint64_t pragma_value(const char* sql) const {
        sqlite3_stmt* st = nullptr;
        std::uint64_t value = 0;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
            value = static_cast<std::uint64_t>(std::max<sqlite3_int64>(sqlite3_column_int64(st, 0), 0));
        }
        sqlite3_finalize(st);
        return value;
    }

    /// The database's size as this connection sees it: what the file will measure once the
    /// write-ahead log is checkpointed into it (0 if SQLite cannot say).
    [[nodiscard]] std::uint64_t logical_bytes() const {
        std::uint64_t bytes = 0;
        if (sqlite3_step(logical_bytes_query) == SQLITE_ROW) {
            bytes = static_cast<std::uint64_t>(std::max<sqlite3_int64>(sqlite3_column_int64(logical_bytes_query, 0), 0));
        }
        sqlite3_reset(logical_bytes_query);
        return bytes;
    }

    Status finish_bulk() {
        if (auto s = exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s) return s;
        return {};
    }

    Status put_meta(std::string_view key, std::string_view value) {
        sqlite3_bind_text(insert_meta, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        sqlite3_bind_text(insert_meta, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(insert_meta);
        sqlite3_reset(insert_meta);
        if (rc != SQLITE_DONE) return fail(rc);
        return {};
    }

    /// The meta line verbatim under 'line', its fields under their names.
    Status write_meta(const TraceMeta& meta, std::string_view line) {
        if (auto s = put_meta("line", line); !s) return s;
        if (auto s = put_meta("version", std::to_string(meta.version)); !s) return s;
        if (auto s = put_meta("scenario", meta.scenario); !s) return s;
        if (auto s = put_meta("source", meta.source); !s) return s;
        if (auto s = put_meta("start", meta.start ? format_rfc3339(*meta.start) : std::string{}); !s) return s;
        return put_meta("timezone", meta.timezone);
    }
};

/// A prepared statement, finalized with its owner.
struct Statement {
    sqlite3_stmt* st = nullptr;
    Statement() = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() { sqlite3_finalize(st); }
};

/// Rows on their way into `records`, their strings in one buffer (a record's own strings do
/// not outlive the next one). `kind`, `t` and `device` may be absent (unknown kinds in an import).
class RowBuffer {
public:
    void add(std::uint64_t seq, std::string_view kind, std::optional<TimeMs> t, const std::string* device,
             std::string_view line) {
        Row& row = rows_.emplace_back();
        row.seq = seq;
        row.t = t;
        row.has_kind = !kind.empty();
        row.kind = append(kind);
        row.has_device = device != nullptr;
        if (device) row.device = append(*device);
        row.line = append(line);
    }
    [[nodiscard]] std::size_t size() const { return rows_.size(); }
    [[nodiscard]] bool empty() const { return rows_.empty(); }
    void clear() {
        rows_.clear();
        text_.clear();
    }

    /// Inserts the rows in order, kMultiRows at a time by one multi-row INSERT (`multi`, prepared
    /// on first use): one statement run per chunk instead of per row, and SQLite keeps its
    /// cursor at the end of the table between the rows of a chunk (rows come in seq order), so
    /// an insert needs no seek from the root. The rest go one by one. On error the rows before
    /// the failing chunk are in.
    Status insert(Connection& conn, Statement& multi) const {
        std::size_t i = 0;
        for (; i + kMultiRows <= rows_.size(); i += kMultiRows) {
            if (multi.st == nullptr) {
                std::string sql = "INSERT INTO records(seq, kind, t, device, line) VALUES ";
                for (std::size_t r = 0; r < kMultiRows; ++r) sql += r == 0 ? "(?,?,?,?,?)" : ",(?,?,?,?,?)";
                const int rc = sqlite3_prepare_v3(conn.db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &multi.st, nullptr);
                if (rc != SQLITE_OK) return conn.fail(rc);
            }
            for (std::size_t r = 0; r < kMultiRows; ++r) bind(multi.st, static_cast<int>(5 * r), rows_[i + r]);
            const int rc = sqlite3_step(multi.st);
            sqlite3_reset(multi.st);
            sqlite3_clear_bindings(multi.st);
            if (rc != SQLITE_DONE) return conn.fail(rc);
        }
        for (; i < rows_.size(); ++i) {
            bind(conn.insert, 0, rows_[i]);
            const int rc = sqlite3_step(conn.insert);
            sqlite3_reset(conn.insert);
            if (rc != SQLITE_DONE) return conn.fail(rc);
        }
        return {};
    }

    static constexpr std::size_t kMultiRows = 64;

private:
    struct Span {
        std::size_t offset = 0, size = 0;
    };
    struct Row {
        std::uint64_t seq = 0;
        std::optional<TimeMs> t;
        bool has_kind = false, has_device = false;
        Span kind, device, line;
    };

    Span append(std::string_view s) {
        const Span span{text_.size(), s.size()};
        text_ += s;
        return span;
    }

    /// Binds one row at parameter offset `base` (columns seq, kind, t, device, line).
    void bind(sqlite3_stmt* st, int base, const Row& row) const {
        sqlite3_bind_int64(st, base + 1, static_cast<sqlite3_int64>(row.seq));
        const auto text = [&](int i, Span span) {
            sqlite3_bind_text(st, base + i, text_.data() + span.offset, static_cast<int>(span.size), SQLITE_STATIC);
        };
        if (row.has_kind) {
            text(2, row.kind);
        } else {
            sqlite3_bind_null(st, base + 2);
        }
        if (row.t) {
            sqlite3_bind_int64(st, base + 3, *row.t);
        } else {
            sqlite3_bind_null(st, base + 3);
        }
        if (row.has_device) {
            text(4, row.device);
        } else {
            sqlite3_bind_null(st, base + 4);
        }
        text(5, row.line);
    }

    std::vector<Row> rows_;
    std::string text_;  ///< the rows' strings; bound at insert, when it no longer grows
};

/// The store's SQLite work on its own thread: append() serialises a record and hands full
/// batches over, so that the simulator and the oracle run while SQLite writes (on a 100,000-
/// device day SQLite is more than half of the capture's CPU). One batch is written while the
/// next fills; a producer faster than SQLite waits for the batch before. Each batch is one
/// transaction, as before the thread. The connection is used by one thread at a time: the
/// writer, or the owner once drain() has returned.
class Writer {
public:
    explicit Writer(Connection& conn) : conn_(conn), committed_bytes_(conn.logical_bytes()), thread_([this] { loop(); }) {}
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }

    /// Hands `batch` over (it comes back empty, with the spare buffer's capacity). The first
    /// write error, once there is one: every later batch is dropped, as a gap in the trace
    /// would be worse than its end.
    Status submit(RowBuffer& batch) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !queued_; });
        if (!error_) return error_;
        std::swap(next_, batch);
        queued_ = true;
        lock.unlock();
        changed_.notify_all();
        return {};
    }

    /// The database's size after the last batch written (any thread).
    [[nodiscard]] std::uint64_t committed_bytes() const { return committed_bytes_.load(std::memory_order_relaxed); }

    /// Waits until every batch handed over is written; the first write error, if any.
    Status drain() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !queued_ && !busy_; });
        return error_;
    }

private:
    void loop() {
        RowBuffer writing;
        std::unique_lock lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return queued_ || stop_; });
            if (!queued_) return;
            writing.clear();
            std::swap(writing, next_);
            queued_ = false;
            busy_ = true;
            const bool failed = !error_;
            lock.unlock();
            changed_.notify_all();
            Status s = failed ? Status{} : write(writing);
            lock.lock();
            busy_ = false;
            if (!s && error_) error_ = std::move(s);
            changed_.notify_all();
        }
    }

    Status write(const RowBuffer& batch) {
        try {
            if (auto s = conn_.exec("BEGIN"); !s) return s;
            if (auto s = batch.insert(conn_, multi_); !s) {
                // Keep the rows that did go in, if SQLite still can.
                if (!conn_.exec("COMMIT")) (void)conn_.exec("ROLLBACK");
                return s;
            }
            if (auto s = conn_.exec("COMMIT"); !s) return s;
            committed_bytes_.store(conn_.logical_bytes(), std::memory_order_relaxed);
            return {};
        } catch (const std::exception& e) {
            return Error{prefixed(conn_.path, e.what())};
        }
    }

    Connection& conn_;
    Statement multi_;  ///< used by the writer thread only
    std::mutex mutex_;
    std::condition_variable changed_;
    RowBuffer next_;       ///< the batch handed over, while queued_
    bool queued_ = false;
    bool busy_ = false;    ///< the writer is writing a batch
    bool stop_ = false;
    Status error_;         ///< the first write error
    std::atomic<std::uint64_t> committed_bytes_;
    std::thread thread_;   ///< last: starts once the rest is built
};

}  // namespace

// ───────────────────────────── TraceStore ─────────────────────────────

struct TraceStore::Impl {
    Connection conn;
    std::optional<Writer> writer;  ///< set once the schema is in
    RowBuffer filling;
    std::uint64_t next_seq = 1;
    bool appended = false;

    ~Impl() {
        if (writer) (void)commit();
        writer.reset();  // joins the thread before the connection closes
    }

    /// Hands over what is filling and waits until everything is written.
    Status commit() {
        if (!filling.empty()) {
            if (auto s = writer->submit(filling); !s) return s;
        }
        return writer->drain();
    }
};

TraceStore::TraceStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TraceStore::TraceStore(TraceStore&&) noexcept = default;
TraceStore& TraceStore::operator=(TraceStore&&) noexcept = default;
TraceStore::~TraceStore() = default;

Result<TraceStore> TraceStore::create(const std::filesystem::path& path) {
    try {
        bool existed = false;
        if (auto s = check_new_file(path, existed); !s) return s.error();
        auto impl = std::make_unique<Impl>();
        impl->conn.path = path;
        if (auto s = impl->conn.create(false); !s) {
            impl.reset();
            remove_db_files(path, existed);
            return s.error();
        }
        impl->writer.emplace(impl->conn);
        return TraceStore(std::move(impl));
    } catch (const std::exception& e) {
        return Error{prefixed(path, e.what())};
    }
}

Status TraceStore::write_meta(const TraceMeta& meta) {
    try {
        if (!impl_) return Error{"trace store: used after move"};
        if (auto s = impl_->writer->drain(); !s) return s;
        if (auto s = impl_->conn.write_meta(meta, to_jsonl(meta)); !s) return s;
        // Records are numbered as lines of this trace's export: the meta line is line 1.
        if (!impl_->appended) impl_->next_seq = 2;
        return {};
    } catch (const std::exception& e) {
        return Error{prefixed(impl_->conn.path, e.what())};
    }
}

Status TraceStore::append(const Record& record, std::string_view line) {
    try {
        if (!impl_) return Error{"trace store: used after move"};
        Impl& im = *impl_;
        std::string own;
        if (line.empty()) {
            own = to_jsonl(record);
            line = own;
        }
        im.filling.add(im.next_seq, to_string(record.kind), record.t, &record.device, line);
        ++im.next_seq;
        im.appended = true;
        if (im.filling.size() >= std::max<std::size_t>(batch_, 1)) return im.writer->submit(im.filling);
        return {};
    } catch (const std::exception& e) {
        return Error{prefixed(impl_->conn.path, e.what())};
    }
}

std::uint64_t TraceStore::committed_bytes() const { return impl_ ? impl_->writer->committed_bytes() : 0; }

std::uint64_t TraceStore::wal_limit_bytes() const { return impl_ ? impl_->conn.wal_limit_bytes : 0; }

Status TraceStore::put_meta(std::string_view key, std::string_view value) {
    if (!impl_) return Error{"trace store: used after move"};
    // The writer must be idle before this thread uses the connection.
    if (auto s = impl_->writer->drain(); !s) return s;
    return impl_->conn.put_meta(key, value);
}

Result<std::optional<std::string>> read_meta_value(const std::filesystem::path& db, std::string_view key) {
    Connection conn;
    conn.path = db;
    int rc = sqlite3_open_v2(db.c_str(), &conn.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return conn.fail(rc);
    sqlite3_busy_timeout(conn.db, 5000);
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(conn.db, "SELECT value FROM meta WHERE key = ?1", -1, &st, nullptr);
    if (rc != SQLITE_OK) return conn.fail(rc);
    sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    rc = sqlite3_step(st);
    std::optional<std::string> out;
    if (rc == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        out = std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return conn.fail(rc);
    return out;
}

Status TraceStore::commit() {
    if (!impl_) return Error{"trace store: used after move"};
    return impl_->commit();
}

Status TraceStore::create_index() {
    if (!impl_) return Error{"trace store: used after move"};
    if (auto s = impl_->commit(); !s) return s;
    return impl_->conn.exec(kIndex);
}

// ───────────────────────────── import / export ─────────────────────────────

namespace {

Result<std::uint64_t> import_impl(const std::filesystem::path& jsonl, Connection& conn) {
    auto reader = JsonlLineReader::open(jsonl);
    if (!reader) return reader.error();
    const auto in_error = [&](std::string_view message) { return Error{prefixed(jsonl, message)}; };

    if (auto s = conn.create(true); !s) return s.error();
    if (auto s = conn.exec("BEGIN"); !s) return s.error();
    RowBuffer batch;
    Statement multi;
    const auto flush = [&]() -> Status {
        Status s = batch.insert(conn, multi);
        batch.clear();
        return s;
    };
    // A failure is reported only after the rows before it are in, as when inserting one by one.
    const auto fail = [&](Error e) -> Error {
        if (auto s = flush(); !s) return s.error();
        return e;
    };
    std::uint64_t count = 0;
    bool first = true;
    for (;;) {
        auto line = reader->next();
        if (!line) return fail(line.error());
        if (!*line) break;
        const std::string_view text = **line;
        if (is_blank_line(text)) continue;
        const std::uint64_t no = reader->line_no();
        auto info = detail::inspect_line(text, no);  // the same checks as parse_record
        if (!info) return fail(in_error(info.error().message));
        if (info->kind == RecordKind::meta && first) {
            auto meta = parse_meta(text, no);
            if (!meta) return in_error(meta.error().message);
            if (auto s = conn.write_meta(*meta, text); !s) return s.error();
            first = false;
            continue;
        }
        // Unknown kinds, and a meta line that is not first, are kept verbatim in place so that
        // export gives the file back; readers skip them with a warning.
        batch.add(no, info->kind_name, info->t, info->device ? &*info->device : nullptr, text);
        if (batch.size() == RowBuffer::kMultiRows) {
            if (auto s = flush(); !s) return s.error();
        }
        first = false;
        ++count;
    }
    if (auto s = flush(); !s) return s.error();
    if (auto s = conn.exec("COMMIT"); !s) return s.error();
    if (auto s = conn.finish_bulk(); !s) return s.error();
    return count;
}

}  // namespace

Result<std::uint64_t> import_jsonl(const std::filesystem::path& jsonl, const std::filesystem::path& db) {
    bool existed = false;
    try {
        if (auto s = check_new_file(db, existed); !s) return s.error();
        Result<std::uint64_t> r = Error{};
        {
            Connection conn;
            conn.path = db;
            r = import_impl(jsonl, conn);
        }
        if (!r) remove_db_files(db, existed);
        return r;
    } catch (const std::exception& e) {
        remove_db_files(db, existed);
        return Error{prefixed(jsonl, std::string("import failed: ") + e.what())};
    }
}

namespace {

struct File {
    std::FILE* f = nullptr;
    File() = default;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File() {
        if (f != nullptr) std::fclose(f);
    }
};

Result<std::uint64_t> export_impl(const std::filesystem::path& db_path, const std::filesystem::path& tmp) {
    Connection conn;
    conn.path = db_path;
    int rc = sqlite3_open_v2(db_path.c_str(), &conn.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return conn.fail(rc);
    sqlite3_busy_timeout(conn.db, 5000);

    File out;
    out.f = std::fopen(tmp.c_str(), "wb");
    if (out.f == nullptr) return Error{prefixed(tmp, std::string("cannot create: ") + std::strerror(errno))};
    std::setvbuf(out.f, nullptr, _IOFBF, std::size_t{1} << 20);
    const auto write_line = [&](const void* data, std::size_t size) -> Status {
        if ((size > 0 && std::fwrite(data, 1, size, out.f) != size) || std::fputc('\n', out.f) == EOF) {
            return Error{prefixed(tmp, std::string("write error: ") + std::strerror(errno))};
        }
        return {};
    };

    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(conn.db, "SELECT value FROM meta WHERE key = 'line'", -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        Status s;
        if (rc == SQLITE_ROW) {
            s = write_line(sqlite3_column_text(st, 0), static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
        } else if (rc != SQLITE_DONE) {
            s = conn.fail(rc);
        }
        sqlite3_finalize(st);
        if (!s) return s.error();
    } else if (std::string_view(sqlite3_errmsg(conn.db)).rfind("no such table", 0) != 0) {
        return conn.fail(rc);
    }

    rc = sqlite3_prepare_v2(conn.db, "SELECT line FROM records ORDER BY seq", -1, &st, nullptr);
    if (rc != SQLITE_OK) {
        if (std::string_view(sqlite3_errmsg(conn.db)).rfind("no such table", 0) == 0) {
            return Error{prefixed(db_path, "not a consentrig trace (it has no \"records\" table)")};
        }
        return conn.fail(rc);
    }
    std::uint64_t count = 0;
    Status s;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s = write_line(sqlite3_column_text(st, 0), static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
        if (!s) break;
        ++count;
    }
    if (s && rc != SQLITE_DONE) s = conn.fail(rc);
    sqlite3_finalize(st);
    if (!s) return s.error();
    std::FILE* f = std::exchange(out.f, nullptr);
    if (std::fflush(f) != 0 || std::fclose(f) != 0) {
        return Error{prefixed(tmp, std::string("write error: ") + std::strerror(errno))};
    }
    return count;
}

}  // namespace

Result<std::uint64_t> export_jsonl(const std::filesystem::path& db, const std::filesystem::path& jsonl) {
    // Written beside the target and renamed at the end: a failed export leaves no partial file.
    auto tmp = jsonl;
    tmp += ".part";
    std::error_code ec;
    try {
        auto r = export_impl(db, tmp);
        if (!r) {
            std::filesystem::remove(tmp, ec);
            return r;
        }
        std::filesystem::rename(tmp, jsonl, ec);
        if (ec) {
            std::filesystem::remove(tmp, ec);
            return Error{prefixed(jsonl, "cannot write: " + ec.message())};
        }
        return r;
    } catch (const std::exception& e) {
        std::filesystem::remove(tmp, ec);
        return Error{prefixed(db, std::string("export failed: ") + e.what())};
    }
}

}  // namespace consentrig::core
