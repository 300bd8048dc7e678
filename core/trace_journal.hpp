#pragma once
/// core/trace_journal.hpp — a crash log for a live capture.
///
/// A live capture (the GUI's session) writes its SQLite trace in batches, so a process that dies
/// between two commits would lose the records of the last batch. A TraceJournal is written
/// beside it: every record goes out as one trace JSONL line (PROTOCOL.md §2) in one write(2)
/// the moment it is handed over, so it is in the kernel's hands whatever happens to the process
/// afterwards (not a power cut: nothing is fsync'ed). A session that ends cleanly discards the
/// journal; one that finds a journal at start recovers it into a trace of its own.
///
///   auto j = TraceJournal::create(dir / "trace.journal.jsonl", meta);
///   j->append(record);        // as each record arrives
///   j->discard();             // clean end: the store has everything
///   // next start, if the file is still there:
///   auto r = recover_journal(dir / "trace.journal.jsonl", dir / "trace-recovered.db");
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/result.hpp"
#include "core/trace.hpp"

namespace consentrig::core {

class TraceJournal {
public:
    /// Creates (or truncates) `path` and writes the meta line.
    [[nodiscard]] static Result<TraceJournal> create(const std::filesystem::path& path, const TraceMeta& meta);
    TraceJournal(TraceJournal&& other) noexcept;
    TraceJournal& operator=(TraceJournal&& other) noexcept;
    TraceJournal(const TraceJournal&) = delete;
    TraceJournal& operator=(const TraceJournal&) = delete;
    ~TraceJournal();  ///< closes; the file stays (a crash log is kept unless discarded)

    /// One line in one write(2). Not synchronised: callers serialise their appends.
    [[nodiscard]] Status append(const Record& record);
    /// Closes and deletes the file (everything it holds is in the store).
    void discard();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    TraceJournal(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
    [[nodiscard]] Status write_line(std::string& line);
    std::filesystem::path path_;
    int fd_ = -1;
};

struct JournalRecovery {
    std::uint64_t records = 0;        ///< imported into the new trace
    bool dropped_partial_line = false;  ///< the last line was cut short (and left out)
};

/// Imports the journal a crashed session left into a new SQLite trace `db` (must not exist).
/// A last line without its newline — a write the crash cut short — is cut off the journal and
/// reported; any other bad line is an error naming it (file and line), and `db` is not left
/// behind. The caller deletes the journal once it has the trace.
[[nodiscard]] Result<JournalRecovery> recover_journal(const std::filesystem::path& journal,
                                                      const std::filesystem::path& db);

}  // namespace consentrig::core
